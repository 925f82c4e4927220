"""Standard augmentation on a batch: random crop with zero padding, horizontal flip.

Done on the batch tensor with a ``torch.Generator`` the trainer owns, so a
resumed run draws exactly what an uninterrupted one would.  Padding is zero in
normalised units: the data's mean colour, where torchvision pads with black.

Example:
    >>> import torch
    >>> x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    >>> out = augment(x, torch.Generator().manual_seed(0), crop_padding=1, hflip=True)
    >>> tuple(out.shape), bool((augment(x, torch.Generator(), 0, False) == x).all())
    ((2, 1, 4, 4), True)
"""

from __future__ import annotations

from typing import Any


def augment(x: Any, generator: Any, crop_padding: int, hflip: bool) -> Any:
    """A random crop of the batch padded by ``crop_padding`` on each side, then flips with p = 0.5."""
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    if crop_padding > 0:
        p = crop_padding
        padded = F.pad(x, (p, p, p, p))
        dev = x.device   # draws come from the (CPU) generator, indexing runs where the batch is
        dy = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(dev)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(dev)
        rows = (dy[:, None] + torch.arange(h, device=dev))[:, None, :, None]          # N x 1 x H x 1
        cols = (dx[:, None] + torch.arange(w, device=dev))[:, None, None, :]          # N x 1 x 1 x W
        batch = torch.arange(n, device=dev)[:, None, None, None]
        chans = torch.arange(x.shape[1], device=dev)[None, :, None, None]
        x = padded[batch, chans, rows, cols]
    if hflip:
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


def default_padding(height: int) -> int:
    """The crop padding ``augment: true`` uses: an eighth of the side (4 for 32x32, 2 for 16x16)."""
    return max(1, height // 8)


__all__ = ["augment", "default_padding"]

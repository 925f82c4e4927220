"""The preprocessing a network was trained with, as a record: what a deployed model must be fed.

``fgir train`` prepares every image the same way (:func:`fgir.data.sources.load_images`
calls :meth:`Preprocess.__call__`): pixels scaled to [0, 1] (``uint8`` divided by
255), resized (bilinear, antialiased when shrinking) to the network's ``H x W``,
grey replicated to its channels, then normalised per channel, ``(x - mean) / std``.
The record is stored in the checkpoint (``fgir.load_model(path).preprocess``) and
in an ONNX file's ``metadata_props`` (key ``fgir.preprocess``, JSON), so a model
carries what it expects: a user feeds images in [0, 1] (or ``uint8``) and gets the
training's accuracy, not the accuracy of an un-normalised input.

Images given to it are ``N x C x H x W`` (a single ``C x H x W`` image too): a
torch tensor or a NumPy array, ``uint8`` (0..255) or floating point in [0, 1].
The result is float32, of the same kind (tensor in, tensor out).
``channel_order`` says what the channels are (``RGB``, or ``L`` for grey): fgir
reads image files as RGB and takes ``.npz`` channels as they are stored.

Example:
    >>> import numpy as np
    >>> pre = Preprocess.of(mean=0.5, std=0.25, input=(3, 4, 4))
    >>> out = pre(np.full((2, 1, 8, 8), 255, np.uint8))      # grey, uint8, twice the size
    >>> out.shape, out.dtype.name, float(out.max())
    ((2, 3, 4, 4), 'float32', 2.0)
    >>> Preprocess.from_dict(pre.to_dict()) == pre
    True
    >>> pre.describe()
    'RGB 3x4x4 in [0, 1] (uint8 / 255), resized bilinear, (x - [0.5, 0.5, 0.5]) / [0.25, 0.25, 0.25]'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Sequence

FORMAT = "fgir-preprocess-1"
METADATA_KEY = "fgir.preprocess"          # an ONNX file's metadata_props: the record, as JSON
BAKED_KEY = "fgir.preprocess.baked"       # "true": the normalisation is the graph's first op
MAX_PIXEL = 255
DEFAULT_MEAN = 0.5            # fgir train's normalisation: [0, 1] becomes [-2, 2]
DEFAULT_STD = 0.25
DEFAULT_VAL_FRACTION = 0.2    # fgir train's validation split, and the digits' held-out fifth
RESIZE = "bilinear"
VALUE_RANGE = "[0, 1]"


def per_channel(value: float | Sequence[float], channels: int, what: str) -> list[float]:
    """A mean or std for each channel: one number for all, or one per channel (ValueError otherwise).

    >>> per_channel(0.5, 3, "mean")
    [0.5, 0.5, 0.5]
    """
    values = [float(value)] * channels if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) != channels:
        raise ValueError(f"{what} has {len(values)} values for {channels} channels")
    if what == "std" and any(v <= 0 for v in values):
        raise ValueError("std values must be positive")
    return values


@dataclass(frozen=True)
class Preprocess:
    """Scale to [0, 1], resize, replicate grey, normalise: see the module docstring."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    input: tuple[int, int, int]               # the network's C x H x W
    channel_order: str = "RGB"                # "RGB", or "L" (grey) for one channel
    resize: str = RESIZE
    value_range: str = VALUE_RANGE            # what float inputs are; uint8 ones are divided by 255

    @classmethod
    def of(cls, mean: float | Sequence[float], std: float | Sequence[float],
           input: Sequence[int]) -> "Preprocess":
        """The record for a network taking ``input`` (C, H, W); one mean/std for all channels or one each."""
        channels, height, width = (int(d) for d in input)
        return cls(tuple(per_channel(mean, channels, "mean")), tuple(per_channel(std, channels, "std")),
                   (channels, height, width), "L" if channels == 1 else "RGB")

    @property
    def channels(self) -> int:
        return self.input[0]

    def to_dict(self) -> dict[str, Any]:
        """Plain values (what a checkpoint stores, read back with ``weights_only=True``)."""
        out = asdict(self)
        out.update(format=FORMAT, mean=list(self.mean), std=list(self.std), input=list(self.input))
        return out

    @classmethod
    def from_dict(cls, record: Any) -> "Preprocess":
        """The record back; ValueError saying what is wrong with a damaged or foreign one."""
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise ValueError(f"not an fgir preprocessing record (format {FORMAT})")
        try:
            input = tuple(int(d) for d in record["input"])
            if len(input) != 3 or min(input) < 1:
                raise ValueError(f"input {list(input)} is not C x H x W")
            made = cls.of(record["mean"], record["std"], input)
            return cls(made.mean, made.std, made.input, str(record["channel_order"]), str(record["resize"]),
                       str(record["value_range"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a damaged preprocessing record ({type(exc).__name__}: {exc})") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Preprocess":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ValueError(f"a damaged preprocessing record (not JSON: {exc})") from None

    def describe(self) -> str:
        size = "x".join(map(str, self.input))
        return (f"{self.channel_order} {size} in {self.value_range} (uint8 / {MAX_PIXEL}), resized {self.resize}, "
                f"(x - {list(self.mean)}) / {list(self.std)}")

    def __call__(self, images: Any, normalize: bool = True) -> Any:
        """``images`` prepared for the network (see the module docstring); ``normalize=False`` stops
        before ``(x - mean) / std`` (for an ONNX file with the normalisation baked in)."""
        import numpy as np
        import torch

        was_numpy = not isinstance(images, torch.Tensor)
        x = torch.from_numpy(np.asarray(images)) if was_numpy else images
        if x.dim() == 3:
            x = x.unsqueeze(0)
        if x.dim() != 4:
            raise ValueError(f"images are N x C x H x W (or one C x H x W), got shape {tuple(x.shape)}")
        out = self.prepare(self.scaled(x), normalize)
        return out.numpy() if was_numpy else out

    @staticmethod
    def scaled(x: Any) -> Any:
        """Pixels as float32 in [0, 1]: integers (uint8) divided by 255, floats as they are."""
        import torch

        if x.dtype == torch.bool:
            return x.float()
        if not x.is_floating_point():
            return x.float() / MAX_PIXEL
        return x.float()

    def prepare(self, x: Any, normalize: bool = True) -> Any:
        """Float32 N x C x H x W pixels in [0, 1] resized, replicated and normalised: what training does."""
        import torch
        import torch.nn.functional as F

        channels, height, width = self.input
        if x.shape[1] not in (1, channels):
            raise ValueError(f"the images have {x.shape[1]} channels; the network takes {channels} "
                             f"(its input is {'x'.join(map(str, self.input))})")
        if tuple(x.shape[2:]) != (height, width):
            shrink = height < x.shape[2] or width < x.shape[3]
            x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=shrink)
        if x.shape[1] != channels:
            x = x.expand(-1, channels, -1, -1)
        if normalize:
            x = (x - torch.tensor(self.mean).view(1, -1, 1, 1)) / torch.tensor(self.std).view(1, -1, 1, 1)
        return x.contiguous()


def record_of(value: Any) -> dict[str, Any] | None:
    """A Preprocess or its dict (or None) as the plain dict a file stores; ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, Preprocess):
        return value.to_dict()
    return Preprocess.from_dict(value).to_dict()


__all__ = ["BAKED_KEY", "DEFAULT_MEAN", "DEFAULT_STD", "DEFAULT_VAL_FRACTION", "METADATA_KEY", "Preprocess",
           "per_channel", "record_of"]

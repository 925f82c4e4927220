"""Weights for tests and benchmarks (torch imported only when called)."""

from __future__ import annotations

from typing import Any


def randomize_batch_norm(module: Any, seed: int = 0) -> Any:
    """Non-trivial BatchNorm statistics and affine parameters (so folding and slicing show)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
    return module.eval()

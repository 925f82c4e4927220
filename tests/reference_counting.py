"""Counting a reference torch model's cost the way torchvision's model docs do (GFLOPS = MACs)."""

from __future__ import annotations

import torch


def reference_macs(model: torch.nn.Module, size: int = 224) -> int:
    """Multiply-accumulates of every Conv2d and Linear on one ``3 x size x size`` image, counted by
    forward hooks on a real forward pass (independent of fgir's cost model).

    >>> reference_macs(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1, groups=1)), 8)
    6912
    """
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            total += output[0].numel() * (module.in_channels // module.groups) * kh * kw
        else:
            total += module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, size, size))
    finally:
        for hook in hooks:
            hook.remove()
    return total

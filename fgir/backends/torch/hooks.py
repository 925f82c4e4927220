"""One forward pass with forward hooks on chosen modules, removed after however the pass ends.

What reads or corrects a network's inner outputs (bias correction, the NASWOT proxy) runs this way.

Example:
    >>> import torch
    >>> seen = []
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    >>> _ = run_hooked(net, [(net[0], lambda m, i, out: seen.append(out.shape[1]))], torch.zeros(1, 2))
    >>> seen, len(net[0]._forward_hooks)
    ([3], 0)
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch
from torch import nn

Hook = Callable[[nn.Module, Any, Any], Any]


@torch.no_grad()
def run_hooked(model: nn.Module, hooks: Iterable[tuple[nn.Module, Hook]], *inputs: Any) -> Any:
    """``model``, in eval mode, run once on ``inputs`` with each hook on its module; what it returns."""
    handles = [module.register_forward_hook(hook) for module, hook in hooks]
    try:
        return model.eval()(*inputs)
    finally:
        for handle in handles:
            handle.remove()


__all__ = ["Hook", "run_hooked"]

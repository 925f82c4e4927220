"""Where the ONNX backend's weights come from: the API edge, where torch tensors become numpy arrays.

The emitter (:mod:`fgir.backends.onnx`) takes a dict name → ``np.ndarray``;
this module makes one from whatever the user has: an fgir checkpoint file
(``fgir compile -o model.pt``), a torch module (``fgir.to_torch`` builds fresh
ones), a ``state_dict``, or numpy arrays already.  torch is imported only when
a checkpoint is read.

Example:
    >>> import fgir
    >>> arrays, where = resolve_weights(fgir.to_torch("examples/resnet20_cifar.yaml", seed=0))
    >>> arrays["conv1.weight"].shape, str(where)
    ((16, 3, 3, 3), '<FgirModule state_dict>')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from fgir.diagnostics import Diagnostic, FgirError, Loc

WeightSource = str | Path | Mapping[str, Any] | Any   # Any: an nn.Module


def to_numpy(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A ``state_dict``'s tensors as numpy arrays: floating ones as float32 (shared, when they are)."""
    out: dict[str, np.ndarray] = {}
    for name, value in state.items():
        if hasattr(value, "detach"):        # a torch tensor; bfloat16 has no numpy dtype
            value = value.detach().cpu()
            out[name] = (value.float() if value.is_floating_point() else value).numpy()
        else:
            out[name] = np.asarray(value)
    return out


def resolve_weights(source: WeightSource) -> tuple[dict[str, np.ndarray], Loc]:
    """The weights ``source`` holds, as numpy arrays, and where they came from (for diagnostics)."""
    if isinstance(source, (str, Path)):
        return _checkpoint_weights(Path(source))
    if hasattr(source, "state_dict"):
        return to_numpy(source.state_dict()), Loc(f"<{type(source).__name__} state_dict>")
    if isinstance(source, Mapping):
        return to_numpy(source), Loc("<weights>")
    raise TypeError(f"weights must be a checkpoint path, a module, or a mapping of name to array, "
                    f"not {type(source).__name__}")


def _checkpoint_weights(path: Path) -> tuple[dict[str, np.ndarray], Loc]:
    from fgir.backends.torch import read_checkpoint

    state = read_checkpoint(path).get("state_dict")
    if not isinstance(state, Mapping):
        raise FgirError(Diagnostic(Loc(str(path)), "state_dict", "missing or not a mapping of "
                                                                 "tensor names to tensors"))
    return to_numpy(state), Loc(str(path))

"""fgir checkpoints: weights with the resolved spec they belong to, written atomically, read weights-only.

Example:
    >>> import fgir, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.pt"
    >>> save_checkpoint(fgir.to_torch("examples/resnet20_cifar.yaml", seed=0), path)
    >>> sorted(read_checkpoint(path))
    ['format', 'input', 'spec_file', 'spec_text', 'state_dict']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from fgir.diagnostics import Diagnostic, FgirError, Loc, SpecIOError

CHECKPOINT_FORMAT = "fgir-checkpoint-1"


def save_checkpoint(module: nn.Module, path: Path) -> None:
    """Write weights and the resolved spec atomically (temporary file, then rename)."""
    spec = getattr(module, "fgir_spec", None)
    if not spec:
        raise ValueError("only modules built by fgir.to_torch carry their spec")
    payload = {"format": CHECKPOINT_FORMAT, "spec_text": spec["text"], "spec_file": spec["file"],
               "input": list(getattr(module, "fgir_input", [])), "state_dict": module.state_dict()}
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        torch.save(payload, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load an fgir checkpoint with ``weights_only=True`` (never runs pickled code)."""
    where = Loc(str(path))
    if not path.is_file():
        raise SpecIOError(Diagnostic(where, "", "no such file"))
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad or unsafe file
        raise SpecIOError(Diagnostic(where, "", f"not a loadable weights-only checkpoint "
                                                f"({type(exc).__name__}: {str(exc).splitlines()[0]})"))
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise FgirError(Diagnostic(where, "", "not an fgir checkpoint (written by 'fgir compile -o "
                                              "model.pt'); a bare state_dict has no spec to rebuild from"))
    return payload

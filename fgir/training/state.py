"""Training state on disk: one checkpoint a run, written atomically, that a killed run resumes from.

It holds what the next step depends on: the weights (BatchNorm statistics
too), the optimiser's and the schedule's state, every random generator's
state (torch's global one, CUDA's, the shuffling and augmentation
generators), the epoch's data order and the position in it, the epoch's
running totals, and how many rows ``metrics.jsonl`` had.  So a run killed
anywhere (``kill -9`` included) and resumed ends with the same weights as one
never interrupted (same seed, on the CPU).  It is written to a temporary file,
flushed to disk, then renamed over the old one: a kill mid-write leaves the
previous checkpoint whole.  Loaded with ``weights_only=True``.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "checkpoint.pt"
    >>> write_state(path, {"epoch": 1, "fingerprint": {"lr": 0.1}})
    >>> read_state(path)["epoch"]
    1
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fgir.diagnostics import Diagnostic, Loc, SpecIOError

STATE_FORMAT = "fgir-train-state-1"
CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.jsonl"


def write_state(path: Path, state: dict[str, Any]) -> None:
    import torch

    from fgir.atomic import write_atomic

    write_atomic(path, lambda tmp: torch.save({"format": STATE_FORMAT, **state}, tmp))


def read_state(path: Path) -> dict[str, Any]:
    import torch

    from fgir.backends.torch.checkpoint import check_records

    check_records(path, "training checkpoint")   # a regular file whose records fit it: no FIFO, no zip bomb
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # torch raises many types for a damaged file
        first = next((line for line in str(exc).splitlines() if line.strip()), "")
        raise SpecIOError(Diagnostic(Loc(str(path)), "", f"not a readable training checkpoint "
                                                         f"({type(exc).__name__}: {first})")) from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise SpecIOError(Diagnostic(Loc(str(path)), "", "not an fgir training checkpoint"))
    return state


def differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The settings in which two fingerprints differ, as ``name (was A, now B)``."""
    keys = sorted(set(saved) | set(current))
    return [f"{k} (was {saved.get(k)!r}, now {current.get(k)!r})" for k in keys if saved.get(k) != current.get(k)]


def truncate_lines(path: Path, count: int) -> None:
    """Keep the first ``count`` lines of a log (rows a killed run wrote after its checkpoint go)."""
    from fgir.atomic import write_atomic
    from fgir.limits import MAX_RESULTS_BYTES, read_bounded

    if not path.exists():
        return
    lines = read_bounded(path, MAX_RESULTS_BYTES, "metrics log").decode("utf-8", "replace").splitlines(keepends=True)
    if len(lines) > count:
        write_atomic(path, lambda tmp: tmp.write_text("".join(lines[:count]), encoding="utf-8"))


def resume_run(trainer: Any, metrics: Any, folder: Path, state: dict[str, Any] | None) -> int | None:
    """Continue ``trainer`` from a run folder's saved ``state`` (None: a fresh run): its weights, optimiser
    and step, and the metrics log cut back to the rows written by then; the step it resumes at."""
    if state is None:
        return None
    trainer.restore(state)
    truncate_lines(folder / METRICS_NAME, state["metrics_rows"])
    metrics.rows = state["metrics_rows"]
    return trainer.step


__all__ = ["CHECKPOINT_NAME", "METRICS_NAME", "STATE_FORMAT", "differences", "read_state", "resume_run",
           "truncate_lines", "write_state"]

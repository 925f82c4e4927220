"""The ``supernet`` evaluator of ``fgir search``: a candidate scored with the weights it inherits from a
trained supernet (``fgir train SPACE --supernet``), its BatchNorm statistics recalibrated first.

How it reaches ``fgir search`` without an upward import: fgir.supernet stands *above* fgir.search
(it builds on ``fgir.search.space``), so fgir.search may not import it, not even by an importlib
string.  fgir.search keeps a registry of evaluators (:func:`fgir.search.evaluators.register_evaluator`)
and this module fills it when ``fgir.supernet`` is imported; the ``fgir search`` command imports
``fgir.supernet``, and so must a Python caller of ``fgir.search.run`` (an unknown evaluator is a
located error that says so).  A registry, rather than packaging entry points, keeps the set of
evaluators a plain import away, with no install step for a change to show.

Scoring a candidate: the supernet (a checkpoint path, so that it reaches Ray workers as a file, see
:meth:`SupernetEvaluator.files`) is loaded once per process; the candidate is read from the frozen
spec its compiled graph carries; its BatchNorm statistics are recalibrated on ``batches`` training
batches; ``accuracy`` and ``loss`` are those of the supernet's validation split.  The data is the one
the supernet was trained on, as its checkpoint records it (the source, its validation source or
held-out fraction, and the normalisation), prepared and split as ``fgir train --supernet`` prepared
and split it, so no image scored was trained on; ``data``/``val`` score on other data instead (with
the recorded normalisation).  Every step is deterministic, so a candidate scores the same in any
order, on any worker.

Example:
    >>> from fgir.search.evaluators import EVALUATORS
    >>> EVALUATORS["supernet"] is SupernetEvaluator, SupernetEvaluator("super.pt", batches=4).options()["batches"]
    (True, 4)
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

from fgir.diagnostics import Diagnostic, FgirError, Loc
from fgir.search.evaluators import register_evaluator

METRICS = ("accuracy", "loss")


@functools.lru_cache(maxsize=2)
def _loaded(path: str, stamp: tuple[int, int]) -> Any:
    """The supernet at ``path`` (``stamp``: its mtime and size, so a rewritten file is read again)."""
    from fgir.supernet.checkpoint import load_supernet

    return load_supernet(path).eval()


class SupernetEvaluator:
    """Inherited weights, BN recalibrated on ``batches`` batches; reports held-out ``accuracy`` and ``loss``."""

    name = "supernet"
    metrics = METRICS
    uses_gpu = True

    def __init__(self, checkpoint: str = "super.pt", batches: int = 4, batch_size: int = 128,
                 threads: int = 1, limit: int | None = None, data: str | None = None,
                 val: str | None = None) -> None:
        self.checkpoint, self.batches, self.batch_size = str(checkpoint), batches, batch_size
        self.threads, self.limit, self.data, self.val = threads, limit, data, val

    def options(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "batches": self.batches, "batch_size": self.batch_size,
                "threads": self.threads, "limit": self.limit, "data": self.data, "val": self.val}

    def files(self) -> list[str]:
        """The supernet checkpoint and the data it scores on: they travel to Ray workers."""
        return [self.checkpoint, *self._data_paths()]

    def _data_paths(self) -> list[str]:
        """The files or folders of the data it scores on (none for the bundled digits)."""
        from fgir.data.sources import DIGITS   # here, not at import: fgir search imports this module

        return [p for p in self.sources()[:2] if p not in (None, DIGITS)]

    def relocated(self, moved: dict[str, str]) -> "SupernetEvaluator":
        """This evaluator reading the checkpoint and data where a worker has them (``moved``: driver path →
        path here)."""
        out = copy.copy(self)
        data, val, _ = self.sources()
        out.checkpoint = moved.get(self.checkpoint, self.checkpoint)
        out.data, out.val = (moved.get(p, p) if p else p for p in (data, val))
        return out

    def ready(self, where: str) -> None:
        """Refuse, before the first candidate, a checkpoint that cannot be read or data that is not there."""
        for source in self._data_paths():
            if not Path(source).exists():
                given = source in (self.data, self.val)
                raise FgirError(Diagnostic(Loc(where if given else self.checkpoint), "--data" if given else "",
                                           f"{'' if given else 'was trained on '}{source}: no such file or folder",
                                           hint=None if given else "pass where that data is now: --data PATH"))

    def sources(self) -> tuple[str, str | None, float]:
        """(training source, validation source or None, held-out fraction): ``data``/``val`` where given,
        else what the checkpoint records; a located error where it records nothing."""
        from fgir.data.preprocess import DEFAULT_VAL_FRACTION

        record = self.supernet().fgir_data
        if self.data is not None:
            fraction = record["val_fraction"] if record else DEFAULT_VAL_FRACTION
            return self.data, self.val, fraction
        if not record:
            raise FgirError(Diagnostic(Loc(self.checkpoint), "", "records no training data (an older fgir wrote "
                                       "it), so the supernet evaluator cannot tell which images it may score on",
                                       hint="pass the data it was trained on: fgir search --data PATH"))
        val = self.val if self.val is not None else record["val"]
        return record["data"], val, record["val_fraction"]

    def supernet(self) -> Any:
        """The supernet, loaded once per process."""
        path = os.path.abspath(self.checkpoint)
        info = os.stat(path) if os.path.exists(path) else None
        return _loaded(path, (info.st_mtime_ns, info.st_size) if info else (0, 0))

    def __call__(self, graph: Any, seed: int = 0) -> dict[str, float]:
        import torch

        from fgir.spec.yaml_loader import load_yaml_text
        from fgir.training.run import class_count
        from fgir.supernet.checkpoint import frozen_candidate, trained_normalisation

        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if device.type == "cpu":
            torch.set_num_threads(self.threads)
        net = self.supernet().to(device)
        spec = graph.meta["spec"]
        net.set_candidate(frozen_candidate(load_yaml_text(spec["text"], spec["file"]), net.ir.space), graph)
        x_train, x_val, y_val = _sets(*self.sources(), trained_normalisation(net), tuple(graph.meta["input"]),
                                      class_count(graph), self.limit)
        size = self.batch_size
        net.recalibrate(x_train[i:i + size].to(device) for i in range(0, min(len(x_train), self.batches * size), size))
        return score(net, x_val.to(device), y_val.to(device), size)


@functools.lru_cache(maxsize=4)
def _sets(data: str, val: str | None, fraction: float, normalisation: tuple[tuple[float, ...], tuple[float, ...]],
          dims: tuple[int, ...], classes: int, limit: int | None) -> tuple[Any, Any, Any]:
    """(training images, validation images, their labels), split as ``fgir train --supernet`` split them; loaded
    once per process."""
    from fgir.data.sources import load_images, split

    mean, std = normalisation
    images = load_images(data, dims, num_classes=classes, mean=mean, std=std)
    train, held = split(images, fraction) if val is None else (
        images, load_images(val, dims, num_classes=classes, mean=mean, std=std))
    x_train = train.x[:limit] if limit else train.x
    return x_train.contiguous(), held.x, held.y


def score(net: Any, x: Any, y: Any, batch_size: int) -> dict[str, float]:
    """Held-out ``accuracy`` and mean cross-entropy ``loss`` of ``net`` (eval mode), computed and rounded as the
    train evaluator computes and rounds them (:func:`fgir.training.loop.evaluate`).

    >>> import torch
    >>> net = torch.nn.Linear(2, 2)
    >>> score(net, torch.zeros(4, 2), net(torch.zeros(4, 2)).argmax(1), 2)["accuracy"]
    1.0
    """
    from fgir.training.loop import evaluate

    loss, accuracy = evaluate(net, x, y, batch_size)
    return {"accuracy": round(accuracy, 6), "loss": round(loss, 6)}


register_evaluator("supernet", SupernetEvaluator)

__all__ = ["METRICS", "SupernetEvaluator", "score"]

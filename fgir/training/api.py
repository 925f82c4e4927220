"""``fgir.train``: the public entry point of training, its arguments checked (fgir.arguments).

Training is a tool over the compiler's API, so it lives here rather than in :mod:`fgir.api`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fgir import arguments as check
from fgir.ir.graph import Graph

SpecSource = str | Path | Graph


def train(spec: SpecSource, output: str | Path | None = None, **options: Any) -> Any:
    """Train a spec (or best.yaml, or a compiled graph) on the user's data; write ``output``, an fgir checkpoint.

    ``options``: ``data=`` (an image folder, an ``.npz`` with x and y, or ``"digits"``), ``val=``,
    ``epochs=``, ``lr=``, ``resume=`` ... (:func:`fgir.training.run.train`); returns a ``TrainResult``.

    >>> result = train("examples/resnet20_cifar.yaml", "r20.pt", data="digits", input="3x8x8", epochs=1,
    ...                progress=None)
    >>> result.output.name, len(result.history)
    ('r20.pt', 1)
    """
    from fgir.training.run import train as run

    spec = check.spec_source(spec, "fgir.train")
    if output is not None:
        output = check.path(output, "fgir.train", "output")
    progress = options.get("progress", "auto")
    if not (isinstance(progress, str) and progress == "auto"):
        check.stream(progress, "fgir.train", "progress")
    return run(spec, output, **options)

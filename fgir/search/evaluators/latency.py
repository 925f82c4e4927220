"""A candidate's inference latency on this machine: measured in ONNX Runtime, or predicted.

For hardware-aware search: ``latency_ms`` is measured by :mod:`fgir.latency.measure`
(the median of ``repeats`` runs of fgir's ONNX emission with synthetic weights), after
the exact static metrics passed the constraints and before any training, and
``max_latency_ms`` works like every other constraint.  Being a measurement, it is the
one figure of a row that differs between runs (the timing field).  With a predictor
file (``Latency(model=...)``, ``fgir search --latency-model machine.json``) it is
predicted instead (:mod:`fgir.latency.predictor`): the same for every run, and
thousands of times faster.  :func:`calibrate` fits such a file to candidates of a space.

Example:
    >>> import fgir
    >>> ms = measure_latency(fgir.compile("examples/resnet20_cifar.yaml"), Latency(repeats=3))
    >>> 0 < ms < 10_000
    True
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from fgir.diagnostics import ArgumentError, Diagnostic, FgirError, Loc
from fgir.ir.graph import Graph
from fgir.latency import measure
from fgir.latency.default_space import DEFAULT_SPACE, DEFAULT_SPACE_FILE, MAX_CANDIDATES
from fgir.latency.measure import LATENCY_METRICS, Latency, check_latency_ready, synthetic_weights
from fgir.latency.predictor import Predictor, PredictorFileError, fit_predictor, load_predictor
from fgir.search.space import Space

CALIBRATION_CANDIDATES = MAX_CANDIDATES
DRAWN_PER_CANDIDATE = 3   # candidates are picked evenly by MACs from this many times as many samples
PREDICTED_SAMPLES = 500   # fgir space --latency-model: samples compiled to be predicted (about 5 s)


@lru_cache(maxsize=8)
def _predictor(path: str, mtime: float, batch: int, threads: int) -> Predictor:
    return load_predictor(path, Latency(batch=batch, threads=threads))


def latency_predictor(settings: Latency) -> Predictor:
    """The predictor ``settings.model`` names (read once per process); PredictorFileError when it does
    not hold here."""
    path = str(settings.model)
    mtime = Path(path).stat().st_mtime if Path(path).is_file() else 0.0
    return _predictor(path, mtime, settings.batch, settings.threads)


def predicted_by(settings: Latency, path: str | Path, report: Any) -> Latency:
    """``settings`` predicting with the predictor file ``path`` (``--latency-model``); a file that does
    not hold here (another machine, ONNX Runtime, batch or thread count) is reported to ``report``."""
    chosen = replace(settings, model=str(Path(path).resolve()))
    try:
        latency_predictor(chosen)
    except PredictorFileError as exc:
        report.arg("--latency-model", f"{path}: {exc.message}", exc.diagnostics[0].hint)
    return chosen


def measure_latency(graph: Graph, settings: Latency) -> float:
    """The milliseconds of one inference of ``graph`` (compiled): predicted with ``settings.model``,
    else measured."""
    if settings.model is not None:
        return latency_predictor(settings).predict(graph)
    return measure.measure_latency(graph, settings)


def predict_samples(space: Space, samples: list[dict[str, Any]], path: str | Path,
                    input: str | None = None) -> list[float]:
    """The predicted milliseconds of each sample of ``space`` (``fgir space --latency-model``), by the
    predictor file ``path`` (PredictorFileError when it does not hold here)."""
    import fgir

    predictor = load_predictor(path)
    return [predictor.predict(fgir.compile(space.freeze(sample), input=input)) for sample in samples]


def calibration_candidates(space: Space, count: int = CALIBRATION_CANDIDATES, input: str | None = None,
                           seed: int = 0) -> list[Graph]:
    """``count`` distinct candidates of ``space``, compiled, spread evenly over its range of MACs.

    >>> graphs = calibration_candidates(Space.from_spec("examples/backbone_nas.yaml"), 3)
    >>> len(graphs), graphs[0].meta["macs"] < graphs[-1].meta["macs"]
    (3, True)
    """
    import fgir

    rng = random.Random(seed)
    seen: dict[str, Graph] = {}
    for _ in range(count * DRAWN_PER_CANDIDATE):
        sample = space.sample(rng)
        key = space.key(sample)
        if key not in seen:
            try:
                seen[key] = fgir.compile(space.freeze(sample), input=input)
            except FgirError:    # an invalid candidate: nothing to measure
                continue
    ordered = sorted(seen.values(), key=lambda g: g.meta["macs"])
    if len(ordered) <= count:
        return ordered
    step = (len(ordered) - 1) / max(1, count - 1)
    return [ordered[round(i * step)] for i in range(count)]


def calibrate(space: str | Path | Space | None = None, *, candidates: int = CALIBRATION_CANDIDATES,
              input: str | None = None, seed: int = 0, settings: Latency = Latency(), rounds: int = 3) -> Predictor:
    """A predictor fitted to ``candidates`` candidates of ``space`` (default: :mod:`fgir.latency.default_space`),
    measured on this machine."""
    if isinstance(candidates, bool) or not isinstance(candidates, int) or not 2 <= candidates <= MAX_CANDIDATES:
        raise ArgumentError.of("calibrate", "candidates", f"measure from 2 to {MAX_CANDIDATES} candidates, "
                                                          f"got {candidates!r}")
    if space is None:
        space = Space.from_text(DEFAULT_SPACE, DEFAULT_SPACE_FILE)
    space = space if isinstance(space, Space) else Space.from_spec(space)
    graphs = calibration_candidates(space, candidates, input, seed)
    if len(graphs) < 2:   # a fit needs candidates that differ
        drawn = candidates * DRAWN_PER_CANDIDATE
        raise FgirError(Diagnostic(Loc(space.file), "", f"{len(graphs)} valid distinct candidates in {drawn} "
                                                        "samples: calibrating needs 2 or more"))
    about: dict[str, Any] = {"space": space.file, "input": "x".join(map(str, graphs[0].meta["input"]))}
    return fit_predictor(graphs, settings, rounds, about)


__all__ = ["CALIBRATION_CANDIDATES", "LATENCY_METRICS", "MAX_CANDIDATES", "PREDICTED_SAMPLES", "Latency", "calibrate", "calibration_candidates",
           "check_latency_ready", "latency_predictor", "measure_latency", "predict_samples", "predicted_by",
           "synthetic_weights"]

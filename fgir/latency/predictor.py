"""A latency predictor: a linear model over a graph's features, fitted to latencies measured on this machine.

The prediction is ``Σ coefficient · feature`` over :data:`~fgir.latency.features.FEATURES`: per kind of
node (convolution, grouped convolution, dense, other), milliseconds per node, per MAC and per output
element, and a constant (the session's own overhead).  Summed over a graph's nodes, a per-node linear
model is this one over the graph's sums, so it is fitted to whole candidates, measured in ONNX Runtime
(:func:`fit_predictor`), by non-negative least squares (no kind of work makes a network faster) of the
relative errors, with a light ridge penalty (a fit from 20 candidates must not chase their noise), on
columns scaled to 1.

A predictor file (JSON) records the machine (CPU model, cores), ONNX Runtime's version, and the batch
and threads it was measured with; :func:`load_predictor` refuses it anywhere else, saying why.

Example:
    >>> import fgir
    >>> graphs = [fgir.compile("examples/resnet20_cifar.yaml", input=f"3x{s}x{s}") for s in (8, 16, 24)]
    >>> model = fit_predictor(graphs, Latency(repeats=3), rounds=1)
    >>> model.save("machine.json") and load_predictor("machine.json").predict(graphs[1]) > 0
    True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from fgir.diagnostics import Diagnostic, Loc, SpecIOError
from fgir.ir.graph import Graph
from fgir.latency.features import FEATURES, graph_features
from fgir.latency.machine import mismatch, this_machine
from fgir.latency.measure import Latency, measure_interleaved

FORMAT = "fgir-latency-predictor"
VERSION = 1
RIDGE = 1e-3      # the penalty per candidate on scaled coefficients: a nudge, beside relative errors of a few percent


class PredictorFileError(SpecIOError):
    """A predictor file that cannot be used here: unreadable, not a predictor, or of another machine,
    ONNX Runtime version, batch or thread count (exit 2 in the CLI)."""

    @classmethod
    def of(cls, path: str | Path, message: str) -> "PredictorFileError":
        return cls(Diagnostic(Loc(str(path)), "", message,
                              hint=f"calibrate one here: fgir latency calibrate -o {Path(path).name}"))


@dataclass
class Predictor:
    """Coefficients (milliseconds per unit of each feature) and where they hold."""

    coefficients: list[float]
    machine: dict[str, Any]
    batch: int = 1
    threads: int = 1
    calibration: dict[str, Any] = field(default_factory=dict)   # what it was fitted on, and how well

    def predict_features(self, features: Sequence[float]) -> float:
        """Predicted milliseconds for a feature vector (:func:`~fgir.latency.features.graph_features`)."""
        return round(sum(c * f for c, f in zip(self.coefficients, features)), 4)

    def predict(self, graph: Graph) -> float:
        """Predicted milliseconds of one inference of ``graph`` (compiled)."""
        return self.predict_features(graph_features(graph))

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "features": list(FEATURES), **asdict(self)}

    def save(self, path: str | Path) -> Path:
        """Write the predictor file; returns its path."""
        from fgir.atomic import write_atomic

        path = Path(path)
        text = json.dumps(self.to_json(), indent=1) + "\n"
        write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return path


def fit(features: Sequence[Sequence[float]], measured: Sequence[float]) -> list[float]:
    """Non-negative, lightly ridged least squares of relative errors: coefficients with ``features · c ≈ measured``.

    >>> [round(c, 1) for c in fit([[1, 1], [2, 1], [3, 1]], [3.0, 5.0, 7.0])]
    [2.0, 1.0]
    """
    import numpy as np

    x, y = np.asarray(features, float), np.asarray(measured, float)
    # relative errors (each row divided by its measurement): a 10% miss counts the same on a small
    # candidate as on a large one; columns scaled to 1, so a coefficient is the most of a candidate's
    # time its feature explains, and the penalty means the same whatever the units
    relative = x / y[:, None]
    scale = np.abs(relative).max(axis=0)
    scale[scale == 0] = 1.0
    rows = np.vstack([relative / scale, np.sqrt(RIDGE * len(y)) * np.eye(x.shape[1])])
    coefficients, _ = nnls(rows, np.concatenate([np.ones_like(y), np.zeros(x.shape[1])]))
    return [float(c) for c in coefficients / scale]


def fit_predictor(graphs: Sequence[Graph], settings: Latency = Latency(), rounds: int = 3,
                  about: dict[str, Any] | None = None, measured: Sequence[float] | None = None) -> Predictor:
    """Measure ``graphs`` here (interleaved, one session at a time) and fit a predictor to them;
    ``about`` goes into the file's ``calibration`` record (the space, the input...).  ``measured``:
    their milliseconds, measured already by ``settings`` (a benchmark's, interleaved with others)."""
    measured = list(measured) if measured is not None else measure_interleaved(graphs, settings, rounds)
    features = [graph_features(g) for g in graphs]
    model = Predictor(fit(features, measured), this_machine(), settings.batch, settings.threads)
    predicted = [model.predict_features(f) for f in features]
    errors = [abs(p - m) / m for p, m in zip(predicted, measured)]
    model.calibration = {**(about or {}), "candidates": len(graphs), "repeats": settings.repeats,
                         "rounds": rounds, "measured_ms": measured, "predicted_ms": predicted,
                         "max_error": round(max(errors), 4)}
    return model


def nnls(a, b, tolerance: float = 1e-12):
    """Lawson and Hanson's active-set non-negative least squares, ``argmin |a·x - b|, x >= 0``: a dozen
    columns, so numpy's lstsq on the active set is all it takes (no scipy in the base install).

    >>> import numpy as np
    >>> [round(float(v), 6) for v in nnls(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([2.0, -1.0]))[0]]
    [2.0, 0.0]
    """
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    x = np.zeros(a.shape[1])
    passive = np.zeros(a.shape[1], bool)
    for _ in range(3 * a.shape[1]):
        gradient = a.T @ (b - a @ x)
        if passive.all() or gradient[~passive].max() <= tolerance:
            break
        passive[np.argmax(np.where(passive, -np.inf, gradient))] = True
        while True:
            trial = np.zeros_like(x)
            trial[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if trial[passive].min() > 0:
                x = trial
                break
            # step back to the boundary: the variable that hits zero first leaves the passive set
            falling = passive & (trial <= 0)
            step = np.min(x[falling] / (x[falling] - trial[falling]))
            x = x + step * (trial - x)
            passive &= x > tolerance
            x[~passive] = 0.0
    return x, float(np.linalg.norm(a @ x - b))


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PredictorFileError.of(path, f"cannot read the predictor file: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PredictorFileError.of(path, "not an fgir latency predictor (fgir latency calibrate writes one)")
    if data.get("version") != VERSION or data.get("features") != list(FEATURES):
        raise PredictorFileError.of(path, f"a predictor of another fgir (format version {data.get('version')}, "
                                          f"this fgir reads {VERSION})")
    return data


def load_predictor(path: str | Path, settings: Latency | None = None) -> Predictor:
    """The predictor in ``path``, when it holds on this machine (and for ``settings``' batch and threads);
    else :class:`PredictorFileError` saying why."""
    path = Path(path)
    data = _read(path)
    why = mismatch(data.get("machine") or {}, this_machine())
    if why is None and settings is not None:
        for key in ("batch", "threads"):
            if data.get(key) != getattr(settings, key):
                why = f"calibrated for {key} {data.get(key)}, not {getattr(settings, key)}"
                break
    if why is not None:
        raise PredictorFileError.of(path, why)
    return Predictor(data["coefficients"], data["machine"], data["batch"], data["threads"],
                     data.get("calibration") or {})


__all__ = ["FORMAT", "Predictor", "PredictorFileError", "fit", "fit_predictor", "load_predictor"]

"""Evaluating one candidate: compile its frozen spec, measure it statically, check constraints, run.

This is what runs in a worker.  A candidate that fails to compile (channel
mismatch, spatial collapse...) or exceeds a constraint (``max_macs``...) is
found statically, before any training, and comes back ``invalid`` with the
reason; then its latency is measured when the job asks for it (and checked
against ``max_latency_ms``), still before any training; an evaluator that
raises gives ``error``.  Nothing here raises.  A job with ``epochs`` trains to
that epoch, continuing from ``resume`` (a training state) when given, and its
row carries the state it reached under ``state`` (bytes, for the driver to
keep: :mod:`fgir.search.budget`).

Example:
    >>> from fgir.search.space import Space
    >>> import random
    >>> space = Space.from_spec("examples/backbone_nas.yaml")
    >>> job = Job(space.freeze(space.sample(random.Random(0))), constraints=(("max_macs", 1),))
    >>> row = evaluate_job(job)
    >>> row["status"], row["message"].startswith("over budget: macs")
    ('invalid', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from fgir.diagnostics import FgirError

Evaluator = Callable[..., dict[str, Any]]
MAX_REASONS = 3


@dataclass(frozen=True)
class Job:
    """A candidate to evaluate (picklable: it travels to worker processes)."""

    spec_text: str
    input: str | None = None
    constraints: tuple[tuple[str, float], ...] = ()
    evaluator: Evaluator | None = None        # None: the static metrics alone
    seed: int = 0
    latency: Any = None                       # a Latency: measure latency_ms (ONNX Runtime) after the statics
    epochs: int | None = None                 # train to this epoch (an early-stopping search's rung)
    resume: bytes | None = None               # ... from this training state


def describe_error(exc: FgirError) -> str:
    """The errors of a candidate as ``path: message``; line numbers refer to no file the user has."""
    errors = exc.errors or exc.diagnostics
    text = "; ".join(f"{d.path}: {d.message}" if d.path else d.message for d in errors[:MAX_REASONS])
    more = len(errors) - MAX_REASONS
    return text + (f" (and {more} more)" if more > 0 else "")


def violations(metrics: dict[str, Any], constraints: tuple[tuple[str, float], ...]) -> list[str]:
    out = []
    for name, limit in constraints:
        kind, metric = name.split("_", 1)
        value = metrics.get(metric)
        if value is None:
            continue
        if (kind == "max" and value > limit) or (kind == "min" and value < limit):
            sign = ">" if kind == "max" else "<"
            out.append(f"{metric} {value:,} {sign} {name} {limit:,}")
    return out


def _call(evaluator: Evaluator, graph: Any, seed: int) -> Any:
    import inspect

    try:
        params = inspect.signature(evaluator).parameters
    except (TypeError, ValueError):
        params = {}
    takes_seed = "seed" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
    return evaluator(graph, seed=seed) if takes_seed else evaluator(graph)


def evaluate_job(job: Job) -> dict[str, Any]:
    """{status, params, macs, metrics, message} for one candidate."""
    import fgir
    from fgir.search.evaluators.static import QuantMismatch, static_metrics

    row: dict[str, Any] = {"status": "ok", "params": None, "macs": None, "metrics": {}, "message": None}
    try:
        # from the text: compile then owns the graph it loads (a Graph given would be copied first)
        graph = fgir.compile(job.spec_text, input=job.input)
        metrics = static_metrics(graph)
    except FgirError as exc:
        return {**row, "status": "invalid", "message": describe_error(exc)}
    except QuantMismatch as exc:
        return {**row, "status": "invalid", "message": str(exc)}
    row["params"], row["macs"] = metrics.pop("params"), metrics.pop("macs")
    row["metrics"] = metrics
    static = {**metrics, "params": row["params"], "macs": row["macs"]}
    over = violations(static, job.constraints)
    if not over and job.latency is not None:
        from fgir.search.evaluators.latency import measure_latency

        try:
            row["metrics"]["latency_ms"] = measure_latency(graph, job.latency)
        except Exception as exc:   # ONNX Runtime refusing the model is this candidate's result
            return {**row, "status": "error", "message": f"measuring latency: {type(exc).__name__}: {exc}"}
        over = violations(row["metrics"], job.constraints)
    if over:
        return {**row, "status": "invalid", "message": "over budget: " + "; ".join(over)}
    if job.evaluator is None:
        return row
    try:
        if job.epochs is not None:
            extra, row["state"] = job.evaluator.train_to(graph, job.seed, job.epochs, job.resume)
        else:
            extra = _call(job.evaluator, graph, job.seed)
        if not isinstance(extra, dict):
            raise TypeError(f"an evaluator returns a dict of metrics, got {type(extra).__name__}")
    except Exception as exc:   # the evaluator's failure is this candidate's result, not the search's
        return {**row, "status": "error", "message": f"{type(exc).__name__}: {exc}"}
    row["metrics"] = {**metrics, **extra}
    over = violations(extra, job.constraints)
    if over:
        return {**row, "status": "invalid", "message": "misses a constraint: " + "; ".join(over)}
    return row


__all__ = ["Job", "describe_error", "evaluate_job", "violations"]

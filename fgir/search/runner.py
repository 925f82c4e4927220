"""The search loop: ask the algorithm, freeze and evaluate in parallel, record in order, tell.

Determinism: an algorithm's batches depend only on its seed and on the rows it
was told, and rows are recorded in the order the batch was asked whatever order
the workers finish in, so the same seed gives the same results file with any
``workers`` and either executor (``local``: processes on this machine;
``ray``: Ray tasks, :mod:`fgir.search.executors`).  Resuming replays the
recorded rows through the algorithm (checking each one's hash) and carries on up
to the budget: a run cut short and resumed writes the same file as one that was
never interrupted, and a candidate that finished before the cut is taken from
the journal (:mod:`fgir.search.store`) instead of being evaluated again.  With
a scheduler, candidates are trained by rungs of epochs instead
(:mod:`fgir.search.budget.loop`).

Example:
    >>> result = run_search("examples/backbone_nas.yaml", budget=4, seed=0)
    >>> len(result.rows), {r["status"] for r in result.rows}
    (4, {'ok'})
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from fgir.diagnostics import Diagnostic, FgirError, Loc
from fgir.search.algorithms import Proposal, SearchAlgorithm
from fgir.search.best import best_spec_text, candidate_seed, test_metrics
from fgir.search.config import SearchConfig, SearchUsageError, make_config
from fgir.search.cost import CostModel, static_constraints
from fgir.search.evaluators import Job, make_evaluator
from fgir.search.evaluators.candidate import describe_error
from fgir.search.executors import make_executor
from fgir.search.pareto import best as best_row, pareto_front, scores
from fgir.search.space import Space
from fgir.search.store import ResultStore, row_line

Row = dict[str, Any]
Progress = Callable[[int, int, Row, "Row | None"], None]


@dataclass
class SearchResult:
    rows: list[Row]
    front: list[Row]
    best: Row | None
    config: SearchConfig
    space: Space
    outdir: Path | None
    exhausted: bool           # the algorithm ran out of new candidates before the budget
    evaluated: int            # rows evaluated by this run (the others were replayed)
    test: dict[str, Any] | None = None   # the best candidate on the test split (train evaluator with data)


class Recorder:
    """Where finished candidates go: the store (journal first, then in order) or nowhere (no outdir)."""

    def __init__(self, store: ResultStore | None) -> None:
        self.store = store

    def recall(self, key: str) -> Row | None:
        return self.store.recall(key) if self.store is not None else None

    def remember(self, key: str, result: Row) -> None:
        if self.store is not None:
            self.store.remember(key, result)

    def append(self, rows: list[Row]) -> None:
        if self.store is not None:
            self.store.append(rows)


def evaluate_all(jobs: list[tuple[str, Job]], executor: Any, recorder: Recorder,
                 finished: Callable[[str, Row], Row] | None = None) -> list[Row]:
    """The results of ``(key, job)`` pairs in order: a killed run's from the journal, the others evaluated,
    each journaled as it finishes (after ``finished`` made it what is kept: a training state set aside)."""
    results: list[Row | None] = [recorder.recall(key) for key, _ in jobs]
    todo = [i for i, r in enumerate(results) if r is None]

    def done(position: int, result: Row) -> None:
        i = todo[position]
        kept = finished(jobs[i][0], result) if finished is not None else result
        results[i] = kept
        recorder.remember(jobs[i][0], kept)

    executor.run([jobs[i][1] for i in todo], done)
    return results  # type: ignore[return-value]


def new_row(index: int, key: str, origin: str, values: dict) -> Row:
    return {"index": index, "hash": key, "origin": origin, "status": "ok", "values": values}


def frozen_or_invalid(space: Space, row: Row) -> str | None:
    """The candidate's spec text; None (the row marked invalid) when a derived value fails."""
    try:
        return space.freeze(row["values"])
    except FgirError as exc:
        row.update(status="invalid", params=None, macs=None, metrics={}, message=describe_error(exc))
        return None


def as_recorded(rows: list[Row]) -> list[Row]:
    """Rows as a resumed run reads them back from disk, so replayed and fresh rows are alike."""
    return [json.loads(row_line(row)) for row in rows]


def evaluate_rows(rows: list[Row], space: Space, job_for: Callable[[int, Row, str], tuple[str, Job]],
                  executor: Any, recorder: Recorder, finished: Callable[[str, Row], Row] | None = None
                  ) -> list[Row]:
    """Evaluate a batch of new rows (a candidate whose spec cannot be frozen is recorded invalid):
    ``job_for(i, row, spec_text)`` is the i-th row's (key, job); the rows as recorded are returned."""
    jobs: list[tuple[str, Job]] = []
    pending: list[Row] = []
    for i, row in enumerate(rows):
        text = frozen_or_invalid(space, row)
        if text is not None:
            jobs.append(job_for(i, row, text))
            pending.append(row)
    for row, result in zip(pending, evaluate_all(jobs, executor, recorder, finished)):
        row.update(result)
    recorded = as_recorded(rows)
    recorder.append(recorded)
    return recorded


def _rows_for(batch: list[Proposal], start: int, space: Space, config: SearchConfig, evaluator: Any,
              executor: Any, recorder: Recorder) -> list[Row]:
    rows = [new_row(start + offset, space.key(p.values), p.origin, p.values) for offset, p in enumerate(batch)]
    constraints = tuple(config.constraints.items())

    def job_for(_: int, row: Row, text: str) -> tuple[str, Job]:
        return row["hash"], Job(text, config.input, constraints, evaluator, candidate_seed(config.seed, row["hash"]),
                                latency=config.latency)

    return evaluate_rows(rows, space, job_for, executor, recorder)


def check_replay(store: ResultStore, row: Row, expected: str, index: int, epochs: int | None = None) -> None:
    """A recorded row must be what the search proposes there again (and, by rungs, at the same epochs)."""
    if row.get("hash") != expected or row.get("index") != index or row.get("epochs") != epochs:
        def at(value: Any) -> str:
            return f" at {value} epochs" if value is not None else ""

        raise SearchUsageError(Diagnostic(
            Loc(str(store.results_path), index + 1, 1), "",
            f"row {index} does not match this search (hash {row.get('hash')}{at(row.get('epochs'))}, the search "
            f"proposes {expected}{at(epochs)})", hint="the file was edited or written by another fgir; "
            "choose another output directory"))


def _search(algo: SearchAlgorithm, space: Space, config: SearchConfig, scorer: Any, executor: Any,
            store: ResultStore | None, progress: Progress | None) -> tuple[list[Row], bool, int]:
    recorded = store.rows if store is not None else []
    recorder = Recorder(store)
    target = max(config.budget, len(recorded))
    rows: list[Row] = []
    best: Row | None = None
    exhausted, evaluated = False, 0
    while len(rows) < target:
        batch = algo.ask()[: target - len(rows)]
        if not batch:
            exhausted = True
            break
        start = len(rows)
        replayed = recorded[start:start + len(batch)]
        for i, (row, proposal) in enumerate(zip(replayed, batch)):
            check_replay(store, row, space.key(proposal.values), start + i)
        fresh = _rows_for(batch[len(replayed):], start + len(replayed), space, config, scorer, executor,
                          recorder)
        evaluated += len(fresh)
        for row in (*replayed, *fresh):
            rows.append(row)
            best = _better(best, row, config)
            if progress is not None:
                progress(len(rows), target, row, best)
        algo.tell([*replayed, *fresh])
    return rows, exhausted, evaluated


def run_search(spec: str | Path | Space, outdir: str | Path | None = None, *,
               algorithm: str | None = None, evaluator: str | Callable[..., dict] | None = None,
               budget: int | None = None, workers: int | None = None, seed: int | None = None,
               input: str | None = None, objectives: list[str] | None = None,
               constraints: dict[str, float] | None = None,
               evaluator_options: dict[str, Any] | None = None,
               scheduler: str | None = None, scheduler_options: dict[str, Any] | None = None,
               epoch_budget: int | None = None, latency: bool | dict[str, Any] | None = None,
               executor: str = "local", executor_options: dict[str, Any] | None = None,
               plugins: list[str] | None = None, in_budget: bool = True,
               progress: Progress | None = None, where: str = "<options>") -> SearchResult:
    """Search a spec's hyper_parameters; see the module docstring and :mod:`fgir.search.config`.

    With ``outdir``, rows go to ``outdir/results.jsonl`` as they come, the best
    candidate to ``outdir/best.yaml``, and an existing outdir of the same search
    is resumed (a search running there already is refused).  ``executor``:
    ``local`` (``workers`` processes, default 1) or ``ray`` (``executor_options``:
    ``address``, ``cpus_per_trial``, ``gpus_per_trial``, ``timeout``, ``retries``;
    ``workers``: trials at once, default as many as the cluster has room for).
    ``plugins``: what workers load (default: the plugin files this process loaded).

    Before anything is evaluated, a static constraint (``max_macs``, ``max_params``...) that no
    candidate can meet is an error at the place it was written (:mod:`fgir.search.feasibility`).
    With such constraints the algorithm proposes only candidates within them (``in_budget``; False
    proposes blind, and those over a limit are recorded invalid).
    """
    import fgir

    space = spec if isinstance(spec, Space) else Space.from_spec(spec)
    fgir.loads(space.text, space.file)   # the spec as written must load: its errors are the user's
    config = make_config(space.doc, algorithm=algorithm, evaluator=evaluator, budget=budget, seed=seed,
                         input=input, objectives=objectives, constraints=constraints,
                         evaluator_options=evaluator_options, scheduler=scheduler,
                         scheduler_options=scheduler_options, epoch_budget=epoch_budget, latency=latency,
                         where=where)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SearchUsageError(Diagnostic(Loc(where), "--workers",
                                          f"workers must be a positive integer, got {workers}"))
    algo: SearchAlgorithm = config.build_algorithm(space, where)
    if static_constraints(config.constraints):
        from fgir.search.feasibility import check_feasible

        model = CostModel(space, config.input)
        check_feasible(model, config.constraints, config.constraint_origins, where)
        if in_budget:
            algo.limit_to(model, config.constraints)
    schedule = config.build_scheduler(where) if config.scheduler is not None else None
    scorer = make_evaluator(config.evaluator, config.evaluator_options)
    check_ready(config, scorer, where)
    runner = make_executor(executor, space, scorer, workers=workers, options=executor_options, plugins=plugins,
                           where=where)
    store = ResultStore(outdir, config.fingerprint(space)) if outdir is not None else None
    try:
        with runner as running:
            if schedule is not None:
                from fgir.search.budget.loop import search_by_rungs, outcome

                rows, exhausted, evaluated = search_by_rungs(algo, schedule, space, config, scorer, running,
                                                             store, progress)
                front, top = outcome(rows, config.objectives)
            else:
                rows, exhausted, evaluated = _search(algo, space, config, scorer, running, store, progress)
                front, top = pareto_front(rows, config.objectives), best_row(rows, config.objectives)
        test = test_metrics(space, top, config, scorer) if top is not None else None
        if store is not None and top is not None:
            store.write_best(best_spec_text(space, top, config, store.outdir, test))
    finally:
        if store is not None:
            store.close()
    return SearchResult(rows, front, top, config, space, store.outdir if store is not None else None,
                        exhausted, evaluated, test)


def check_ready(config: SearchConfig, scorer: Any, where: str) -> None:
    """Refuse, before the first candidate, a search whose evaluator cannot run here (a missing package, or
    what the evaluator's own ``ready(where)`` refuses)."""
    from fgir.search.evaluators.latency import check_latency_ready
    from fgir.search.evaluators.train import missing_packages

    missing: list[tuple[str, str]] = []
    if config.evaluator == "train":
        missing += [(name, "the train evaluator") for name in missing_packages(scorer.data)]
    unready = check_latency_ready() if config.latency is not None else None
    if unready is not None:
        missing.append((unready, "measuring latency_ms"))
    if not missing and callable(getattr(scorer, "ready", None)):
        scorer.ready(where)    # an evaluator's own checks (the supernet's: its checkpoint and data)
    if missing:
        names = {"sklearn": "scikit-learn"}
        listed = ", ".join(f"'{names.get(n, n)}'" for n, _ in missing)
        raise SearchUsageError(Diagnostic(Loc(where), "--evaluator" if config.evaluator == "train" else "--latency",
                                          f"{missing[0][1]} needs the Python package{'s' * (len(missing) > 1)} "
                                          f"{listed}, not installed", hint="pip install scikit-learn optuna (fgir's search extra)"))


def _better(current: Row | None, row: Row, config: SearchConfig) -> Row | None:
    new = scores(row, config.objectives) if row.get("status") == "ok" else None
    if new is None:
        return current
    if current is None or new > scores(current, config.objectives):
        return row
    return current


__all__ = ["Recorder", "SearchResult", "best_spec_text", "candidate_seed", "check_replay", "evaluate_all",
           "run_search"]

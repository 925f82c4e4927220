"""The search loop: ask the algorithm, freeze and evaluate in parallel, record in order, tell.

Determinism: an algorithm's batches depend only on its seed and on the rows it
was told, and rows are recorded in the order the batch was asked whatever order
the workers finish in, so the same seed gives the same results file with any
``workers``.  Resuming replays the recorded rows through the algorithm (checking
each one's hash) and carries on up to the budget: a run cut short and resumed
writes the same file as one that was never interrupted.

Example:
    >>> result = run_search("examples/backbone_nas.yaml", budget=4, seed=0)
    >>> len(result.rows), {r["status"] for r in result.rows}
    (4, {'ok'})
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import pickle
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from fgir.diagnostics import Diagnostic, FgirError, Loc
from fgir.search.algorithms import Proposal, SearchAlgorithm
from fgir.search.config import SearchConfig, SearchUsageError, make_config
from fgir.search.evaluators import Job, evaluate_job, make_evaluator
from fgir.search.evaluators.candidate import describe_error
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


def candidate_seed(seed: int, key: str) -> int:
    """A candidate's own seed (weights, data order): the same wherever and whenever it is evaluated."""
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16)


class _Evaluations:
    """Runs jobs in this process or in a pool of worker processes, results in job order."""

    def __init__(self, workers: int, where: str) -> None:
        self.workers, self.where = workers, where
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "_Evaluations":
        if self.workers > 1:
            # fork shares registered user blocks and is fast; after torch is loaded it can deadlock
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() and \
                "torch" not in sys.modules else "spawn"
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(method))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def run(self, jobs: list[Job]) -> list[Row]:
        if self.pool is None or len(jobs) < 2:
            return [evaluate_job(job) for job in jobs]
        try:
            return list(self.pool.map(evaluate_job, jobs))
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            if "pickle" not in str(exc).lower():
                raise
            raise SearchUsageError(Diagnostic(Loc(self.where), "--workers", "evaluating in worker "
                                   f"processes needs a picklable evaluator ({exc})",
                                   hint="use a module-level function, or --workers 1")) from None


def _rows_for(batch: list[Proposal], start: int, space: Space, config: SearchConfig,
              evaluator: Any, evaluations: _Evaluations) -> list[Row]:
    rows: list[Row] = []
    jobs: list[Job] = []
    pending: list[Row] = []
    constraints = tuple(config.constraints.items())
    for offset, proposal in enumerate(batch):
        key = space.key(proposal.values)
        row: Row = {"index": start + offset, "hash": key, "origin": proposal.origin, "status": "ok",
                    "values": proposal.values}
        rows.append(row)
        try:
            text = space.freeze(proposal.values)
        except FgirError as exc:
            row.update(status="invalid", params=None, macs=None, metrics={}, message=describe_error(exc))
            continue
        jobs.append(Job(text, config.input, constraints, evaluator, candidate_seed(config.seed, key)))
        pending.append(row)
    for row, result in zip(pending, evaluations.run(jobs)):
        row.update(result)
    # what a resumed run reads back from disk, so replayed and fresh rows are alike
    return [json.loads(row_line(row)) for row in rows]


def _check_replay(store: ResultStore, recorded: list[Row], batch: list[Proposal], start: int,
                  space: Space) -> None:
    for i, (row, proposal) in enumerate(zip(recorded, batch)):
        expected = space.key(proposal.values)
        if row.get("hash") != expected or row.get("index") != start + i:
            raise SearchUsageError(Diagnostic(
                Loc(str(store.results_path), start + i + 1, 1), "",
                f"row {start + i} does not match this search (hash {row.get('hash')}, the search "
                f"proposes {expected})", hint="the file was edited or written by another fgir; "
                "choose another output directory"))


def run_search(spec: str | Path | Space, outdir: str | Path | None = None, *,
               algorithm: str | None = None, evaluator: str | Callable[..., dict] | None = None,
               budget: int | None = None, workers: int = 1, seed: int | None = None,
               input: str | None = None, objectives: list[str] | None = None,
               constraints: dict[str, float] | None = None,
               evaluator_options: dict[str, Any] | None = None,
               progress: Progress | None = None, where: str = "<options>") -> SearchResult:
    """Search a spec's hyper_parameters; see the module docstring and :mod:`fgir.search.config`.

    With ``outdir``, rows go to ``outdir/results.jsonl`` as they come, the best
    candidate to ``outdir/best.yaml``, and an existing outdir of the same search
    is resumed.
    """
    import fgir

    space = spec if isinstance(spec, Space) else Space.from_spec(spec)
    fgir.loads(space.text, space.file)   # the spec as written must load: its errors are the user's
    config = make_config(space.doc, algorithm=algorithm, evaluator=evaluator, budget=budget, seed=seed,
                         input=input, objectives=objectives, constraints=constraints,
                         evaluator_options=evaluator_options, where=where)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SearchUsageError(Diagnostic(Loc(where), "--workers",
                                          f"workers must be a positive integer, got {workers}"))
    algo: SearchAlgorithm = config.build_algorithm(space, where)
    store = ResultStore(outdir, config.fingerprint(space)) if outdir is not None else None
    recorded = store.rows if store is not None else []
    scorer = make_evaluator(config.evaluator, config.evaluator_options)
    target = max(config.budget, len(recorded))
    rows: list[Row] = []
    best: Row | None = None
    exhausted, evaluated = False, 0
    with _Evaluations(workers, where) as evaluations:
        while len(rows) < target:
            batch = algo.ask()[: target - len(rows)]
            if not batch:
                exhausted = True
                break
            start = len(rows)
            replayed = recorded[start:start + len(batch)]
            if store is not None:
                _check_replay(store, replayed, batch, start, space)
            fresh = _rows_for(batch[len(replayed):], start + len(replayed), space, config, scorer,
                              evaluations)
            if store is not None:
                store.append(fresh)
            evaluated += len(fresh)
            for row in (*replayed, *fresh):
                rows.append(row)
                best = _better(best, row, config)
                if progress is not None:
                    progress(len(rows), target, row, best)
            algo.tell([*replayed, *fresh])
    top = best_row(rows, config.objectives)
    test = _test_metrics(space, top, config, scorer) if top is not None else None
    if store is not None and top is not None:
        store.write_best(best_spec_text(space, top, config, store.outdir, test))
    return SearchResult(rows, pareto_front(rows, config.objectives), top, config, space,
                        store.outdir if store is not None else None, exhausted, evaluated, test)


def _test_metrics(space: Space, row: Row, config: SearchConfig, scorer: Any) -> dict[str, Any] | None:
    """The best candidate on the evaluator's test split, which no candidate was selected by."""
    import fgir

    measure = getattr(scorer, "test_metrics", None)
    if measure is None:
        return None
    graph = fgir.compile(fgir.loads(space.freeze(row["values"]), space.file), input=config.input)
    return measure(graph, seed=candidate_seed(config.seed, row["hash"]))


def _better(current: Row | None, row: Row, config: SearchConfig) -> Row | None:
    new = scores(row, config.objectives) if row.get("status") == "ok" else None
    if new is None:
        return current
    if current is None or new > scores(current, config.objectives):
        return row
    return current


def best_spec_text(space: Space, row: Row, config: SearchConfig, outdir: Path | None = None,
                   test: dict[str, Any] | None = None) -> str:
    """best.yaml: the best candidate as a complete spec, with a header saying where it came from.

    It records what the search compiled and trained on, so that ``fgir compile`` and ``fgir train`` of
    best.yaml see the same: ``input:`` (the search's ``--input``) and, with the train evaluator,
    ``dataset:`` (``data``, ``val``, ``test``; paths relative to best.yaml's folder, or ``digits``).
    """
    objectives = ", ".join(str(o) for o in config.objectives)
    header = [f"# The best candidate of `fgir search {space.file}` by {objectives}:",
              f"# #{row['index']} (hash {row['hash']}), params {row.get('params')}, "
              f"MACs {row.get('macs')}, metrics {json.dumps(row.get('metrics', {}))}",
              *(f"#   {key}: {json.dumps(value)}" for key, value in _values(space, row)),
              *([f"# on the test split (never used to select): {json.dumps(test)}"] if test else []),
              "# hyper_parameters and search_algorithm are left out: this spec is one network."]
    return "\n".join(header) + "\n" + _with_records(space.freeze(row["values"]), config, outdir)


def _with_records(text: str, config: SearchConfig, outdir: Path | None) -> str:
    """The frozen spec with ``input:`` and ``dataset:`` as the search used them (unchanged when neither)."""
    import os

    import yaml

    from fgir.search.frozen import dump_spec

    data = {}
    if config.evaluator == "train":
        given = {k: config.evaluator_options.get(k) for k in ("data", "val", "test")}
        given["data"] = given["data"] or "digits"
        where = Path(outdir or ".").resolve()
        data = {k: v if v == "digits" else os.path.relpath(Path(v).resolve(), where)
                for k, v in given.items() if v is not None}
    if config.input is None and not data:
        return text
    tree = yaml.safe_load(text)
    if "search_space" not in tree:
        tree = {"search_space": tree}
    if config.input is not None:
        tree = {"input": str(config.input), **{k: v for k, v in tree.items() if k != "input"}}
    if data:
        section = tree.get("dataset") if isinstance(tree.get("dataset"), dict) else {}
        tree["dataset"] = {**{k: v for k, v in section.items() if k not in ("data", "data_path")}, **data}
    return dump_spec(tree)


def _values(space: Space, row: Row) -> Iterable[tuple[str, Any]]:
    return space.resolve(row["values"]).items()


__all__ = ["SearchResult", "candidate_seed", "run_search"]

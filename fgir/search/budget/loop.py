"""The search loop of an early-stopping search: rounds of trials a scheduler plans, recorded in order.

Each row of ``results.jsonl`` is one trial: a new candidate at its first rung,
or a promotion (``origin: promotion of #i``, the same ``hash``) that trained on
from the state its candidate reached.  ``rung`` and ``epochs`` say where; the
metrics are those at ``epochs``.  The algorithm is told each candidate's first
row, a batch at a time in the order it asked.  Training states are kept by the
driver (``checkpoints/`` in the output folder, else in memory) and sent with
promotions; without one a promotion trains from the start, to the same result
(the training is deterministic, its rate constant), only slower.

The best candidate is the best of those trained the most epochs (the top rung
reached): a candidate stopped early is never compared with one trained in full.

Example:
    >>> rows = [{"hash": "a", "status": "ok", "epochs": 1, "metrics": {"accuracy": 0.5}},
    ...         {"hash": "b", "status": "ok", "epochs": 1, "metrics": {"accuracy": 0.7}},
    ...         {"hash": "b", "status": "ok", "epochs": 3, "metrics": {"accuracy": 0.6}}]
    >>> from fgir.search.pareto import parse_objectives
    >>> front, best = outcome(rows, parse_objectives(["accuracy:max"]))
    >>> best["epochs"], best["metrics"]["accuracy"]
    (3, 0.6)
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Sequence

from fgir.search.algorithms import Proposal, SearchAlgorithm
from fgir.search.best import candidate_seed
from fgir.search.budget.schedulers import Scheduler, Trial
from fgir.search.config import SearchConfig
from fgir.search.evaluators import Job
from fgir.search.pareto import Objective, best as best_row, final_rows, pareto_front
from fgir.search.runner import Recorder, check_replay, evaluate_rows, new_row
from fgir.search.space import Space
from fgir.search.store import ResultStore

Row = dict[str, Any]
Progress = Callable[[int, int, Row, "Row | None"], None]


def _trained_most(rows: Sequence[Row]) -> list[Row]:
    """The valid candidates trained the most epochs (each at its last row)."""
    finals = [r for r in final_rows(rows) if r.get("status") == "ok" and r.get("epochs") is not None]
    if not finals:
        return []
    top = max(r["epochs"] for r in finals)
    return [r for r in finals if r["epochs"] == top]


def outcome(rows: Sequence[Row], objectives: Sequence[Objective]) -> tuple[list[Row], Row | None]:
    """(Pareto front, best) among the candidates trained the most epochs."""
    at_top = _trained_most(rows)
    if not at_top:
        return [], None
    return pareto_front(at_top, objectives), best_row(at_top, objectives)


class _Proposals:
    """New candidates from the algorithm, one at a time; it is told each batch once every row is in."""

    def __init__(self, algo: SearchAlgorithm, budget: int) -> None:
        self.algo, self.budget = algo, budget
        self.queue: deque[Proposal] = deque()
        self.batch: list[Proposal] = []
        self.told: dict[int, Row] = {}          # id(proposal) → its first row
        self.taken = 0
        self.exhausted = False

    def __call__(self) -> Proposal | None:
        if self.taken >= self.budget or self.exhausted:
            return None
        if not self.queue:
            if len(self.told) < len(self.batch):
                return None                      # the last batch is still out: ask after telling it
            self.batch, self.told = self.algo.ask(), {}
            if not self.batch:
                self.exhausted = True
                return None
            self.queue.extend(self.batch)
        self.taken += 1
        return self.queue.popleft()

    def first_row(self, proposal: Proposal, row: Row) -> None:
        self.told[id(proposal)] = row
        if len(self.told) == len(self.batch):
            self.algo.tell([self.told[id(p)] for p in self.batch])


class _States:
    """Training states by ``hash-eN``: in the store's checkpoints when there is one, else in memory."""

    def __init__(self, store: ResultStore | None) -> None:
        self.store, self.memory = store, {}

    def put(self, key: str, data: bytes) -> None:
        if self.store is not None:
            self.store.save_checkpoint(key, data)
        else:
            self.memory[key] = data

    def get(self, key: str) -> bytes | None:
        return self.store.load_checkpoint(key) if self.store is not None else self.memory.get(key)

    def drop(self, key: str) -> None:
        if self.store is not None:
            self.store.checkpoint_path(key).unlink(missing_ok=True)
        self.memory.pop(key, None)


def _key(row_or_hash: Any, epochs: int) -> str:
    return f"{row_or_hash['hash'] if isinstance(row_or_hash, dict) else row_or_hash}-e{epochs}"


def _run_round(trials: list[Trial], start: int, space: Space, config: SearchConfig, scorer: Any,
               executor: Any, recorder: Recorder, states: _States) -> list[Row]:
    rows = []
    constraints = tuple(config.constraints.items())
    for offset, trial in enumerate(trials):
        if trial.parent is not None:
            parent = trial.parent
            row = new_row(start + offset, parent["hash"], f"promotion of #{parent['index']}", parent["values"])
        else:
            row = new_row(start + offset, space.key(trial.proposal.values), trial.proposal.origin,
                          trial.proposal.values)
        row.update(rung=trial.rung, epochs=trial.epochs)
        rows.append(row)

    def job_for(i: int, row: Row, text: str) -> tuple[str, Job]:
        trial = trials[i]
        resume = states.get(_key(trial.parent, trial.parent["epochs"])) if trial.parent is not None else None
        return _key(row, trial.epochs), Job(text, config.input, constraints, scorer,
                                            candidate_seed(config.seed, row["hash"]), latency=config.latency,
                                            epochs=trial.epochs, resume=resume)

    def keep_state(key: str, result: Row) -> Row:
        state = result.pop("state", None)
        if state is not None:
            states.put(key, state)
        return result

    return evaluate_rows(rows, space, job_for, executor, recorder, keep_state)


def search_by_rungs(algo: SearchAlgorithm, scheduler: Scheduler, space: Space, config: SearchConfig,
                    scorer: Any, executor: Any, store: ResultStore | None,
                    progress: Progress | None) -> tuple[list[Row], bool, int]:
    """Rounds of trials until the budgets (candidates, epochs) are spent; (rows, exhausted, evaluated)."""
    recorded = store.rows if store is not None else []
    recorder, states = Recorder(store), _States(store)
    proposals = _Proposals(algo, config.budget)
    rows: list[Row] = []
    spent, evaluated = 0, 0
    limit = config.epoch_budget

    def room(cost: int) -> bool:
        return limit is None or spent + cost <= limit

    while True:
        trials = scheduler.plan(proposals, room)
        if not trials:
            break
        start = len(rows)
        replayed = recorded[start:start + len(trials)]
        for i, (row, trial) in enumerate(zip(replayed, trials)):
            expected = trial.parent["hash"] if trial.parent is not None else space.key(trial.proposal.values)
            check_replay(store, row, expected, start + i, trial.epochs)
        fresh = _run_round(trials[len(replayed):], start + len(replayed), space, config, scorer, executor,
                           recorder, states)
        evaluated += len(fresh)
        for trial, row in zip(trials, (*replayed, *fresh)):
            rows.append(row)
            scheduler.record(trial, row)
            if row["status"] != "invalid":
                spent += trial.cost
            if trial.proposal is not None:
                proposals.first_row(trial.proposal, row)
            else:
                states.drop(_key(trial.parent, trial.parent["epochs"]))
            if progress is not None:
                done, total = (spent, limit) if limit is not None else (proposals.taken, config.budget)
                # the best so far, without the Pareto front outcome() also builds
                progress(done, total, row, best_row(_trained_most(rows), config.objectives))
    return rows, proposals.exhausted, evaluated


__all__ = ["final_rows", "outcome", "search_by_rungs"]

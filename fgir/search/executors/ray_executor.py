"""The Ray executor: each candidate a Ray task, on a local Ray or an existing cluster.

``address`` names a running cluster (``ray://host:10001`` or ``auto``); without
it a local Ray is started (and stopped at the end), unless this process already
has one.  Each task reserves ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs
(Ray pins the GPUs: ``CUDA_VISIBLE_DEVICES``), and at most as many tasks run at
once as the cluster has room for (or ``workers``).  The workers get the
driver's plugins and the files the spec and the evaluator read
(:mod:`.worker`), through Ray's object store.

A task that runs longer than ``timeout`` seconds is cancelled (its worker
killed), and one whose worker dies (killed, out of memory, a lost node) is
tried again, up to ``retries`` more times; the reasons are recorded in the
row's ``retries`` (a row that never needed one has no such key, so results are
those of the local executor), and a candidate that fails every try is an
``error`` row saying why.  Only the driver writes results: resuming works as
with the local executor.

Example (``with RayExecutor(setup, cpus_per_trial=1, timeout=600) as ex: rows = ex.run(jobs)``; the suite
runs searches on a local Ray of 2 CPUs in tests/test_search_ray.py):
    >>> from ray import exceptions
    >>> sorted(e.__name__ for e in _worker_died(exceptions))[:2]   # a lost worker: tried again
    ['ActorDiedError', 'LocalRayletDiedError']
"""

from __future__ import annotations

import pickle
import time
from collections import deque
from typing import Any, Callable, Sequence

from fgir.diagnostics import Diagnostic, Loc
from fgir.search.config import SearchUsageError
from fgir.search.evaluators import Job
from fgir.search.executors.worker import WorkerSetup, WorkerSetupError, run_payload

Row = dict[str, Any]
Done = Callable[[int, Row], None]
POLL_S = 0.5


def _task(setup: WorkerSetup, payload: bytes) -> Row:
    return run_payload(setup, payload)


def _import_ray(where: str) -> Any:
    try:
        import ray
    except ImportError:
        raise SearchUsageError(Diagnostic(Loc(where), "--executor", "the ray executor needs the Python "
                                          "package 'ray', which is not installed",
                                          hint="pip install ray (fgir's ray extra)")) from None
    return ray


def _worker_died(rx: Any) -> tuple[type, ...]:
    """Ray's errors for a task whose worker, or node, went away (the names vary across Ray versions)."""
    names = ("WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OutOfMemoryError", "RaySystemError",
             "LocalRayletDiedError", "ActorDiedError")
    return tuple(getattr(rx, n) for n in names if hasattr(rx, n))


def _quiet_ray(local: bool) -> None:
    """Keep Ray's banners off the user's terminal, changing none of its behaviour.

    A local Ray started with ``RAY_AUTH_MODE`` unset turns token authentication on and logs a warning
    saying so; naming that same mode explicitly is what Ray reads as "the user chose", and it stays
    silent (a cluster's own mode, ``--ray-address``, is left to the cluster); it is named only before Ray
    is imported.  Usage statistics are off, as ``ray start --disable-usage-stats`` makes them.  A user's
    own setting of either wins.

        >>> import os
        >>> import sys
        >>> saved = {k: os.environ.pop(k, None) for k in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED")}
        >>> _quiet_ray(local=True); os.environ.get("RAY_AUTH_MODE") == (None if "ray" in sys.modules else "token")
        True
        >>> os.environ["RAY_USAGE_STATS_ENABLED"]
        '0'
        >>> for k, v in saved.items():
        ...     _ = os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    """
    import logging
    import os
    import sys

    # Ray caches its settings when imported: naming the mode after that would start a cluster that wants
    # a token the driver does not send (so then Ray's own default, and its warning, stand)
    if local and "ray" not in sys.modules:
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if logging.getLogger("ray").level == logging.NOTSET:   # Ray's info lines ("Started a local Ray ...")
        logging.getLogger("ray").setLevel(logging.WARNING)


class RayExecutor:
    """Candidates as Ray tasks; see the module docstring."""

    name = "ray"

    def __init__(self, setup: WorkerSetup, *, address: str | None = None, cpus_per_trial: float = 1,
                 gpus_per_trial: float = 0, timeout: float | None = None, retries: int = 2,
                 workers: int | None = None, where: str = "<options>") -> None:
        self.setup, self.address, self.where = setup, address, where
        self.cpus, self.gpus, self.timeout, self.retries = cpus_per_trial, gpus_per_trial, timeout, retries
        self.workers = workers
        self.ray: Any = None
        self.started = False

    def __enter__(self) -> "RayExecutor":
        _quiet_ray(local=self.address is None)   # before Ray is imported: it reads these settings then
        ray = self.ray = _import_ray(self.where)
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except Exception as exc:   # no cluster at that address, or Ray cannot start here
                raise SearchUsageError(Diagnostic(Loc(self.where), "--ray-address", f"cannot start or reach "
                                                  f"Ray: {type(exc).__name__}: {exc}")) from None
            self.started = True
        self.remote = ray.remote(_task).options(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=0)
        self.setup_ref = ray.put(self.setup)
        self.slots = self.workers or self._room()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.started:
            self.ray.shutdown()

    def _room(self) -> int:
        resources = self.ray.cluster_resources()
        room = int(resources.get("CPU", 1) // self.cpus) if self.cpus else 1
        if self.gpus:
            room = min(room, int(resources.get("GPU", 0) // self.gpus))
        if room < 1:
            raise SearchUsageError(Diagnostic(Loc(self.where), "--gpus-per-trial" if self.gpus else "--cpus-per-trial",
                                              f"the Ray cluster has no room for one trial ({resources.get('CPU', 0):g} "
                                              f"CPUs, {resources.get('GPU', 0):g} GPUs)"))
        return room

    def run(self, jobs: Sequence[Job], done: Done | None = None) -> list[Row]:
        """The rows of ``jobs`` in their order; ``done(i, row)`` is called as each one finishes."""
        ray = self.ray
        from ray import exceptions as rx

        payloads = [pickle.dumps(job) for job in jobs]
        rows: list[Row | None] = [None] * len(jobs)
        reasons: list[list[str]] = [[] for _ in jobs]
        queue = deque(range(len(jobs)))
        running: dict[Any, tuple[int, float]] = {}

        def finish(i: int, row: Row) -> None:
            if reasons[i]:
                row = {**row, "retries": list(reasons[i])}
            rows[i] = row
            if done is not None:
                done(i, row)

        def failed(i: int, reason: str) -> None:
            reasons[i].append(reason)
            if len(reasons[i]) > self.retries:
                tries = len(reasons[i])
                finish(i, {"status": "error", "params": None, "macs": None, "metrics": {},
                           "message": f"{reason}; gave up after {tries} tr{'y' if tries == 1 else 'ies'}"})
            else:
                queue.appendleft(i)

        try:
            while queue or running:
                while queue and len(running) < self.slots:
                    i = queue.popleft()
                    running[self.remote.remote(self.setup_ref, payloads[i])] = (i, time.monotonic())
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    i, _ = running.pop(ref)
                    try:
                        finish(i, ray.get(ref))
                    except rx.TaskCancelledError:
                        failed(i, f"timed out after {self.timeout:g} s")
                    except rx.RayTaskError as exc:
                        cause = getattr(exc, "cause", None)
                        if isinstance(cause, WorkerSetupError):
                            raise SearchUsageError(Diagnostic(Loc(self.where), "--executor", str(cause))) from None
                        failed(i, f"the task failed: {type(cause or exc).__name__}: {cause or exc}")
                    except _worker_died(rx) as exc:
                        failed(i, f"the worker died ({type(exc).__name__})")
                if self.timeout is not None:
                    now = time.monotonic()
                    for ref, (i, started) in list(running.items()):
                        if now - started > self.timeout:
                            ray.cancel(ref, force=True)   # kills its worker; ray.get says TaskCancelledError
                            running[ref] = (i, float("inf"))
        except BaseException:        # an error or an interrupt: nothing of this search goes on running
            for ref in running:
                ray.cancel(ref, force=True)
            raise
        return rows  # type: ignore[return-value]


__all__ = ["RayExecutor"]

"""The local executor: candidates evaluated in this process, or in a pool of worker processes.

Each worker is set up once (:func:`~fgir.search.executors.worker.prepare_worker`:
the driver's plugins, its GPU) and exits when the driver does, even when the
driver is killed (a worker watches its parent).  With several CUDA devices and a
training evaluator, worker *k* is pinned to device *k* mod their number.  Jobs
are pickled in the driver, so an evaluator that cannot travel to a worker is
an error at once, never a hung pool.  A worker that dies takes the search down
with a clear message; what finished is kept (the journal) and the next run
resumes.

Example:
    >>> from fgir.search.evaluators import Job
    >>> from fgir.search.executors.worker import WorkerSetup
    >>> text = open("examples/resnet20_cifar.yaml").read()
    >>> with LocalExecutor(1, WorkerSetup()) as ex:
    ...     [row["params"] for row in ex.run([Job(text), Job(text)])]
    [272474, 272474]
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Sequence

from fgir.diagnostics import Diagnostic, Loc
from fgir.search.config import SearchUsageError
from fgir.search.evaluators import Job, evaluate_job
from fgir.search.executors.worker import WorkerSetup, WorkerSetupError, prepare_worker, run_payload

Row = dict[str, Any]
Done = Callable[[int, Row], None]


def cuda_devices(wanted: bool) -> list[str]:
    """The CUDA devices workers may be pinned to: ``CUDA_VISIBLE_DEVICES``'s, else torch's count (asked only
    when the evaluator trains: a static search never imports torch)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip()]
    if not wanted:
        return []
    try:
        import torch
    except ImportError:
        return []
    return [str(i) for i in range(torch.cuda.device_count())]


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)      # the driver is gone (killed): no orphan keeps training
        time.sleep(1.0)


def _start_worker(setup: WorkerSetup, devices: Sequence[str], counter: Any, parent: int) -> None:
    with counter.get_lock():
        number = counter.value
        counter.value += 1
    gpu = devices[number % len(devices)] if len(devices) > 1 else None
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    prepare_worker(setup, gpu)


def _run_in_worker(setup: WorkerSetup, payload: bytes) -> Row:
    return run_payload(setup, payload)


class LocalExecutor:
    """``workers`` processes (1: this one); see the module docstring."""

    name = "local"

    def __init__(self, workers: int, setup: WorkerSetup, *, devices: Sequence[str] | None = None,
                 where: str = "<options>") -> None:
        self.workers, self.setup, self.where = workers, setup, where
        self.devices = list(devices) if devices is not None else []
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "LocalExecutor":
        if self.workers > 1:
            # fork shares what this process loaded and is fast; after torch is loaded it can deadlock
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() and \
                "torch" not in sys.modules else "spawn"
            context = multiprocessing.get_context(method)
            counter = context.Value("i", 0)
            self.pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker,
                                            initargs=(self.setup, self.devices, counter, os.getpid()))
        return self

    def __exit__(self, kind: Any, *exc: Any) -> None:
        if self.pool is None:
            return
        if kind is None:
            self.pool.shutdown(wait=True)
            return
        # an error or an interrupt: stop now, leaving no worker behind
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)

    def _payload(self, job: Job) -> bytes:
        try:
            return pickle.dumps(job)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise SearchUsageError(Diagnostic(Loc(self.where), "--workers", "evaluating in worker "
                                   f"processes needs a picklable evaluator ({exc})",
                                   hint="use a module-level function or class (a plugin's will do), "
                                        "or --workers 1")) from None

    def run(self, jobs: Sequence[Job], done: Done | None = None) -> list[Row]:
        """The rows of ``jobs`` in their order; ``done(i, row)`` is called as each one finishes."""
        rows: list[Row | None] = [None] * len(jobs)

        def finished(i: int, row: Row) -> None:
            rows[i] = row
            if done is not None:
                done(i, row)

        if self.pool is None or len(jobs) < 2:
            for i, job in enumerate(jobs):
                finished(i, evaluate_job(job))
            return rows  # type: ignore[return-value]
        payloads = [self._payload(job) for job in jobs]
        futures: dict[Future, int] = {self.pool.submit(_run_in_worker, self.setup, p): i
                                      for i, p in enumerate(payloads)}
        try:
            pending = set(futures)
            while pending:
                ready, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(ready, key=futures.get):
                    finished(futures[future], future.result())
        except BrokenProcessPool:
            raise SearchUsageError(Diagnostic(Loc(self.where), "--workers", "a worker process died (killed, or "
                                   "out of memory) while evaluating a candidate; the candidates that "
                                   "finished are kept", hint="run the same command again to resume")) from None
        except WorkerSetupError as exc:
            raise SearchUsageError(Diagnostic(Loc(self.where), "--workers", str(exc),
                                              hint="or --workers 1")) from None
        return rows  # type: ignore[return-value]


__all__ = ["LocalExecutor", "cuda_devices"]

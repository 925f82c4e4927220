"""Timing shared by the benchmarks: medians of repeated runs (machines are noisy); ONNX Runtime
sessions timed one at a time (two sessions' spinning threads slow each other)."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """The median wall time of ``repeat`` calls of ``fn``, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ort_session(path: str, threads: int):
    """A CPU session with ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def one_at_a_time(paths: dict[str, str], x, threads: int, rounds: int, runs: int) -> dict[str, float]:
    """Median seconds per run of each model: in each of ``rounds``, each model in a rotating order
    gets a fresh session (the only one alive), 3 warm-up runs, then ``runs`` timed ones."""
    times: dict[str, list[float]] = {kind: [] for kind in paths}
    kinds = list(paths)
    for r in range(rounds):
        for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
            sess = ort_session(paths[kind], threads)
            for _ in range(3):
                sess.run(None, {"input": x})
            start = time.perf_counter()
            for _ in range(runs):
                sess.run(None, {"input": x})
            times[kind].append((time.perf_counter() - start) / runs)
            del sess
    return {kind: statistics.median(t) for kind, t in times.items()}

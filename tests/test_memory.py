"""Compiling in one process leaves nothing behind: a long search, a notebook or a service stays flat.

The first wave leaked ~4.4 KB a compile (PyYAML's shared constructor remembered every scalar node)
and ~6.6 KB a torch module (torch.fx's cache of generated source); 60,000 fuzzed compiles reached
930 MB and multi-second garbage collections.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest

import fgir
from conftest import EXAMPLES

RESNET20 = (EXAMPLES / "resnet20_cifar.yaml").read_text()


def retained_bytes(work, warmup: int, count: int) -> int:
    """Bytes still allocated after ``count`` more runs of ``work`` than after ``warmup`` runs."""
    for _ in range(warmup):
        work()
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(warmup):
            work()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(count):
            work()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_compiles_leave_nothing_behind():
    grown = retained_bytes(lambda: fgir.compile(fgir.loads(RESNET20)), warmup=50, count=500)
    assert grown < 50_000, f"{grown} bytes retained over 500 compiles"


def test_failed_compiles_leave_nothing_behind():
    text = RESNET20.replace("depth: 20", "depth: 20\n    out_plane: 60")   # the last block ends with 64

    def failing():
        with pytest.raises(fgir.FgirError, match="ends with 64 channels, but out_plane is 60"):
            fgir.compile(fgir.loads(text))

    grown = retained_bytes(failing, warmup=30, count=300)
    assert grown < 50_000, f"{grown} bytes retained over 300 failed compiles"


def test_torch_modules_leave_nothing_behind():
    graph = fgir.compile(RESNET20)
    grown = retained_bytes(lambda: fgir.to_torch(graph), warmup=10, count=100)
    assert grown < 100_000, f"{grown} bytes retained over 100 modules"


def unreachable_nodes(work) -> int:
    """Nodes of the IR that ``work`` left for the cycle collector to find (not freed when dropped)."""
    from fgir.ir.node import Node

    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        work()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        return sum(isinstance(o, Node) for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


def test_a_dropped_graph_is_freed_at_once_not_by_the_cycle_collector():
    """A node links back to its graph, its users and the nodes around it weakly, so a dropped graph has no
    reference cycle: nothing of it waits for the collector (which took a fifth of a ResNet-50's analysis)."""
    from fgir.search.evaluators import Job, evaluate_job

    assert unreachable_nodes(lambda: fgir.compile(RESNET20)) == 0
    assert unreachable_nodes(lambda: fgir.loads(RESNET20)) == 0      # before lowering: block nodes, sub-graphs
    assert unreachable_nodes(lambda: fgir.compile(EXAMPLES / "unet.yaml")) == 0   # skips across the net
    row = {}
    assert unreachable_nodes(lambda: row.update(evaluate_job(Job(RESNET20)))) == 0   # a static search's candidate
    assert row["status"] == "ok" and row["params"] == 272474

"""Compile time is linear in the network's size (issue F4: lowering copied the whole flat graph once per block,
and the cycle collector rescanned the growing IR, so 16 stages of 1,024 blocks took 39 s where 1 took 0.59 s).

Measured in CPU time, in a fresh interpreter (as `fgir compile` runs: the suite's own heap would charge the
collector's sweeps of everything earlier tests left to whichever compile triggers one); the quadratic term
shows only on large graphs, hence 14,338 nodes.
"""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

MEASURE = """
import time
import fgir
from fgir.testing.deep import deep_spec

def cpu_seconds(stages):
    text = deep_spec(stages, 256)
    start = time.process_time()
    graph = fgir.compile(fgir.loads(text, "deep.yaml"), input="3x8x8")
    seconds = time.process_time() - start
    assert len(graph) > 3000
    return seconds

cpu_seconds(2)   # imports and caches warm
print(cpu_seconds(8) / cpu_seconds(2))
"""


def test_four_times_the_layers_costs_at_most_five_times_the_time():
    # both compiles build every block: with the block memo on, the warm 2-stage compile would replay its
    # 512 kept builds while the 8-stage one (2,048 blocks, past the memo's 1,024) builds them all
    env = {**os.environ, "FGIR_NO_CACHE": "1"}
    result = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True, cwd=ROOT, timeout=600,
                            env=env)
    assert result.returncode == 0, result.stderr
    ratio = float(result.stdout.strip().splitlines()[-1])
    assert ratio <= 5.0, f"8 stages took {ratio:.1f}x the time of 2"

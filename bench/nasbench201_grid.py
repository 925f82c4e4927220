"""Every NAS-Bench-201 cell compiled: all 15,625 at channels 16, cells 5, each spec through fgir.compile (the
static path: no torch), its params compared with the reference's table (tests/data/nasbench201_params.json,
counted once by tests/reference_nasbench201_net.py).  The suite (tests/test_space_nasbench201.py) compiles a
stratified sample of 2,000; this compiles the whole grid and prints the time it took.

Run: python bench/nasbench201_grid.py [--step N]   (N > 1: every N-th cell, for a quick look)
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import fgir  # noqa: E402
from fgir.blocks.nasbench201 import OPS  # noqa: E402

SPEC = "search_space:\n  modules: [net]\n  net: {{type: NASBench201, edges: [{}], channels: 16, cells: 5}}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=1)
    args = parser.parse_args()
    table = json.loads((ROOT / "tests" / "data" / "nasbench201_params.json").read_text())["params"]
    grid = list(itertools.product(OPS, repeat=6))
    wall, cpu = time.perf_counter(), time.process_time()
    wrong, failed, done = [], [], 0
    for i in range(0, len(grid), args.step):
        try:
            params = fgir.compile(SPEC.format(", ".join(grid[i]))).meta["params"]
        except fgir.FgirError as exc:
            failed.append((grid[i], str(exc)))
            continue
        done += 1
        if params != table[i]:
            wrong.append((grid[i], params, table[i]))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{done:,} of {len(range(0, len(grid), args.step)):,} cells compiled in {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"({1000 * cpu / max(done, 1):.1f} ms CPU each); {len(failed)} failed, {len(wrong)} params differ from "
          f"the reference's table ({len(set(table)):,} distinct counts, {min(table):,} to {max(table):,})")
    for item in (failed + wrong)[:10]:
        print("  ", item)
    return 1 if failed or wrong else 0


if __name__ == "__main__":
    sys.exit(main())

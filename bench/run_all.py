"""Run every benchmark in bench/, one after another, each in its own process.

Run: python bench/run_all.py [--quick]   (--quick: fewer repetitions, a short fuzz run)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = [["bench_core.py"] + (["--repeat", "10"] if args.quick else []),
            ["bench_onnx.py"], ["bench_quant.py"] + (["--rounds", "3", "--epochs", "1"] if args.quick else []),
            ["bench_train.py"], ["bench_prune.py"], ["compare_torch_pruning.py"], ["bench_search.py"],
            ["fuzz.py", "--inputs", "2000" if args.quick else "100000"]]
    failed = []
    for run in runs:
        print(f"\n=== {' '.join(run)}", flush=True)
        if subprocess.run([sys.executable, str(BENCH / run[0]), *run[1:]]).returncode != 0:
            failed.append(run[0])
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()

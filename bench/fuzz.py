"""Fuzz the loader and the passes with mutated specs (static path: no torch).

Every input must end in fgir diagnostics with a location (or in success): never an
internal error, never a Python exception, and each within a time bound.

Run: python bench/fuzz.py [--inputs 100000] [--seconds N] [--seed S] [--out failures/]
Prints inputs tried, failures by class, and the slowest input.
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DIAGNOSTIC = re.compile(r"^(\S.*?):(\d+:\d+: )?(error|warning|note): ")


def check_one(text: str) -> str | None:
    """None when the input was handled as fgir promises; else a failure class."""
    import fgir
    from fgir.diagnostics import FgirError

    try:
        fgir.compile(fgir.loads(text, "fuzz.yaml"))
    except FgirError as exc:
        for d in exc.diagnostics:
            if not str(d).startswith("fuzz.yaml"):
                return f"diagnostic without the spec's location: {str(d)[:80]}"
        return None
    except RecursionError:
        return "RecursionError"
    except Exception as exc:  # the failures this harness is for
        return f"{type(exc).__name__} in {traceback.extract_tb(exc.__traceback__)[-1].name}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow", type=float, default=2.0, help="seconds one input may take")
    parser.add_argument("--out", type=Path, help="write failing inputs here")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from fgir.testing.mutate import mutate

    seeds = [p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml"))
             if "user_block" not in p.name]
    rng = random.Random(args.seed)
    failures: collections.Counter[str] = collections.Counter()
    by_mutator: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    slowest = (0.0, "")
    start = time.perf_counter()
    tried = 0
    while tried < args.inputs and (args.seconds is None or time.perf_counter() - start < args.seconds):
        text, used = mutate(rng.choice(seeds), rng, rounds=rng.randint(1, 3))
        t0 = time.perf_counter()
        failure = check_one(text)
        took = time.perf_counter() - t0
        tried += 1
        if took > slowest[0]:
            slowest = (took, "+".join(used))
        if failure is None and took > args.slow:
            failure = f"slower than {args.slow} s"
        if failure is not None:
            failures[failure] += 1
            by_mutator.update(used)
            examples.setdefault(failure, text)
        if tried % 10_000 == 0:
            print(f"... {tried} inputs, {sum(failures.values())} failures, "
                  f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    elapsed = time.perf_counter() - start
    print(f"inputs tried: {tried} in {elapsed:.0f} s ({tried / elapsed:.0f}/s)")
    print(f"failures: {sum(failures.values())}")
    for failure, count in failures.most_common():
        print(f"  {count:6}  {failure}")
    if by_mutator:
        print("mutators in failing inputs:", dict(by_mutator.most_common()))
    print(f"slowest input: {slowest[0] * 1e3:.0f} ms ({slowest[1]})")
    if args.out and examples:
        args.out.mkdir(parents=True, exist_ok=True)
        for i, (failure, text) in enumerate(examples.items()):
            (args.out / f"failure_{i}.yaml").write_text(f"# {failure}\n{text}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

"""Fuzz fgir: mutated specs (the loader and the passes: no torch), the Python API, the plugin loader.

``--target spec`` (default): every mutated spec must end in fgir diagnostics with a
location (or in success): never an internal error, never a Python exception, and each
within a time bound.  ``--target api``: wrong arguments into every public function; only
an FgirError or a documented exception may come out.  ``--target plugins``: broken user
plugins; only an FgirError located in the plugin or the spec.  (bench/fuzz_api.py.)
``--target paths``: writers pointed at symlinks, FIFOs, devices, a full tmpfs; nothing but the
output is touched.  ``--target inputs``: endless files, FIFOs, zip bombs, control characters;
refused at once, printed safely.  (bench/fuzz_files.py.)

Run: python bench/fuzz.py [--target spec|api|plugins|paths|inputs] [--inputs 100000] [--seconds N] [--seed S]
                          [--out failures/]
Prints inputs tried, failures by class, and the slowest input; --out keeps up to 5 inputs a class.
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import resource
import signal
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_KEPT = 5   # failing inputs written to --out for each failure class
TARGETS = ("spec", "api", "plugins", "paths", "inputs")

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


class SpecTarget:
    """Mutated example specs through fgir.loads and fgir.compile."""

    name = "spec"

    def __init__(self) -> None:
        from fgir.testing.mutate import mutate

        self.mutate = mutate
        self.seeds = [p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml"))
                      if "user_block" not in p.name]

    def make(self, rng: random.Random) -> tuple[str, list[str]]:
        return self.mutate(rng.choice(self.seeds), rng, rounds=rng.randint(1, 3))

    @staticmethod
    def check(case: tuple[str, list[str]]) -> str | None:
        return check_one(case[0])

    @staticmethod
    def describe(case: tuple[str, list[str]]) -> str:
        return case[0]


class InputTimeout(BaseException):
    """An input ran past the bound: stopped (a BaseException, so no ``except Exception`` of fgir's swallows it)."""


def _stop(signum, frame):
    raise InputTimeout()


def timed_check(target, case, stop_after: float) -> tuple[str | None, float]:
    """The target's verdict on ``case`` and the seconds it took; an input still running after
    ``stop_after`` seconds is stopped and is a failure."""
    signal.signal(signal.SIGALRM, _stop)
    signal.setitimer(signal.ITIMER_REAL, stop_after)
    t0 = time.perf_counter()
    try:
        failure = target.check(case)
    except InputTimeout:
        failure = f"still running after {stop_after:.0f} s (stopped)"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return failure, time.perf_counter() - t0


def make_target(name: str):
    if name == "spec":
        return SpecTarget()
    sys.path.insert(0, str(ROOT / "bench"))
    if name in ("paths", "inputs"):
        from fuzz_files import InputsTarget, PathsTarget

        return PathsTarget() if name == "paths" else InputsTarget()
    from fuzz_api import ApiTarget, PluginTarget

    return ApiTarget() if name == "api" else PluginTarget()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", choices=TARGETS, default="spec")
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow", type=float, default=None,
                        help="seconds one input may take (default 2; 10 for the api target, which trains)")
    parser.add_argument("--out", type=Path, help="write failing inputs here")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    target = make_target(args.target)
    slow = args.slow if args.slow is not None else (10.0 if args.target == "api" else 2.0)
    rng = random.Random(args.seed)
    failures: collections.Counter[str] = collections.Counter()
    by_mutator: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    slowest = (0.0, "")
    start = time.perf_counter()
    tried = 0
    while tried < args.inputs and (args.seconds is None or time.perf_counter() - start < args.seconds):
        case = target.make(rng)
        used = case[-1]
        failure, took = timed_check(target, case, stop_after=max(10.0, 3 * slow))
        tried += 1
        if took > slowest[0]:
            slowest = (took, "+".join(used))
        if failure is None and took > slow:
            failure = f"slower than {slow} s"
        if failure is not None:
            failures[failure] += 1
            by_mutator.update(used)
            if len(examples[failure]) < EXAMPLES_KEPT:
                examples[failure].append(target.describe(case))
        if tried % 10_000 == 0:
            print(f"... {tried} inputs, {sum(failures.values())} failures, "
                  f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    elapsed = time.perf_counter() - start
    if hasattr(target, "close"):
        target.close()
    print(f"target {target.name}: inputs tried: {tried} in {elapsed:.0f} s ({tried / elapsed:.0f}/s)")
    for kind, why in getattr(target, "skipped", {}).items():
        print(f"  skipped {kind}: {why}")
    print(f"failures: {sum(failures.values())}")
    for failure, count in failures.most_common():
        print(f"  {count:6}  {failure}")
    if by_mutator:
        print("mutators in failing inputs:", dict(by_mutator.most_common()))
    print(f"slowest input: {slowest[0] * 1e3:.0f} ms ({slowest[1]})")
    print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.out and examples:
        args.out.mkdir(parents=True, exist_ok=True)
        for i, (failure, texts) in enumerate(examples.items()):
            for j, text in enumerate(texts):
                (args.out / f"failure_{i}_{j}.txt").write_text(f"# {failure}\n{text}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

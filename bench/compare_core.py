"""Front-end and to_torch speed against a baseline revision, in one run, A/B interleaved: ResNet-18 and ResNet-50
analyses/s, frozen backbone_nas.yaml candidates compiled per second, ResNet-20 to_torch builds per second.

A change to the IR (types, graph edits, op traits) must not slow ``fgir.compile`` down.  This
checks the baseline revision out into a temporary git worktree, then alternates rounds of the
same measurement in fresh processes of each tree (so machine noise falls on both alike), and
prints the medians and the ratio.

Run: python bench/compare_core.py [--baseline REV] [--rounds N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ("resnet18", "resnet50")

MEASURE = """
import importlib.abc, importlib.util, json, sys, time, statistics
sys.path.insert(0, {root!r})

class Tree(importlib.abc.MetaPathFinder):   # fgir.passes and fgir.grammar live beside fgir/, as installed
    def find_spec(self, name, path, target=None):
        folder = {{"fgir.passes": "passes", "fgir.grammar": "grammar"}}.get(name)
        if folder:
            where = {root!r} + "/" + folder
            return importlib.util.spec_from_file_location(name, where + "/__init__.py",
                                                          submodule_search_locations=[where])

sys.meta_path.insert(0, Tree())
import fgir
texts = {{n: open({root!r} + f"/examples/{{n}}.yaml").read() for n in {specs!r}}}
out = {{}}

def timed(name, fn, items):
    for item in items[:3]:
        fn(item)
    times = []
    for _ in range({repeat}):
        start = time.perf_counter()
        for item in items:
            fn(item)
        times.append((time.perf_counter() - start) / len(items))
    out[name] = statistics.median(times)

for name, text in texts.items():
    timed(name, lambda t: fgir.compile(fgir.loads(t, name + ".yaml")), [text])
import random
from fgir.search.space import Space
space = Space.from_spec({root!r} + "/examples/backbone_nas.yaml")
rng = random.Random(0)
timed("backbone_nas candidate", fgir.compile, [space.freeze(space.sample(rng)) for _ in range(20)])
import torch
torch.set_num_threads(1)
graph = fgir.compile({root!r} + "/examples/resnet20_cifar.yaml")
timed("to_torch resnet20_cifar", lambda g: fgir.to_torch(g), [graph])
print(json.dumps(out))
"""


def measure(tree: Path, repeat: int) -> dict[str, float]:
    code = MEASURE.format(root=str(tree), specs=SPECS, repeat=repeat)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=tempfile.gettempdir(), env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="HEAD", help="the revision to compare the working tree with")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.baseline], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            trees = {"baseline": base, "working tree": ROOT}
            seconds: dict[str, dict[str, list[float]]] = {k: {} for k in trees}
            for r in range(args.rounds):
                order = list(trees) if r % 2 == 0 else list(trees)[::-1]
                for kind in order:
                    for what, value in measure(trees[kind], args.repeat).items():
                        seconds[kind].setdefault(what, []).append(value)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, capture_output=True)
    print(f"baseline {args.baseline} vs the working tree: median of {args.rounds} interleaved rounds, "
          f"each the median of {args.repeat} timings, one process per round")
    print(f"{'what':24} {'baseline /s':>12} {'now /s':>8} {'now/baseline':>13}")
    for what in seconds["baseline"]:
        before = statistics.median(seconds["baseline"][what])
        now = statistics.median(seconds["working tree"][what])
        print(f"{what:24} {1 / before:12.0f} {1 / now:8.0f} {before / now:12.2f}x")


if __name__ == "__main__":
    main()

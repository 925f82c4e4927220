"""Front-end and to_torch speed, each against a baseline measured in the same run (issue 24, items 1 and 6).

Prints, in one run (one process, one thread; A/B rounds interleaved, medians):
  * the fast static path (fgir.blocks.memo: pure blocks built once, then copied) against the slow one
    (the memo off, as FGIR_NO_CACHE=1 turns it off):
      - ResNet-18: analyses per second (spec text → checked, costed IR; target 1,000/s);
      - ResNet-50: ms per analysis (target 2 ms);
      - examples/backbone_nas.yaml: a static BackboneNas search, candidates per second (target 1,000/s), and
        the evaluation of one frozen candidate alone (fgir.compile + static metrics);
    the fast figures are warm: the memo holds the blocks of earlier compiles, as in a search or a notebook;
  * to_torch against the hand-written module (tests/reference_resnet.py) on ResNet-20 and ResNet-50, bare and
    with torchvision's init loop (what its builder runs, and fgir's ResNet family too)
    (target 1.2x), and to_torch with its generated-forward cache emptied before each build;
  * without --quick: the other families' analysis and to_torch times (no target), a 16 x 1,024-block spec
    against 1 x 1,024 (linear growth), and `fgir check` as a fresh process.
A missed target is printed as MISSED with the figure.

Run: python bench/bench_core.py [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from timing import median_seconds  # noqa: E402  (bench/ is the script folder)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
GUIDE = ROOT / "examples" / "backbone_nas.yaml"


def interleaved(fns: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """The median over ``rounds`` of what each ``fn`` returns (seconds per item), in alternating order."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            out[name].append(fns[name]())
    return {name: statistics.median(values) for name, values in out.items()}


def per_item(fn: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) / count


class slow_path:
    """The memo off (FGIR_NO_CACHE=1, which fgir.blocks.memo reads on every build)."""

    def __enter__(self) -> None:
        self.before = os.environ.get("FGIR_NO_CACHE")
        os.environ["FGIR_NO_CACHE"] = "1"

    def __exit__(self, *exc: object) -> None:
        if self.before is None:
            del os.environ["FGIR_NO_CACHE"]
        else:
            os.environ["FGIR_NO_CACHE"] = self.before


def fast_and_slow(fn: Callable[[], float]) -> dict[str, Callable[[], float]]:
    def slow() -> float:
        with slow_path():
            return fn()
    return {"fast": fn, "slow": slow}


def verdict(value: float, target: float, higher_is_better: bool) -> str:
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "MISSED"


def bench_analysis(rounds: int) -> None:
    import fgir

    texts = {name: (ROOT / "examples" / f"{name}.yaml").read_text() for name in ("resnet18", "resnet50")}
    print(f"== the static path: fast (memo warm) against slow (FGIR_NO_CACHE=1), median of {rounds} interleaved "
          "rounds")
    for name, count, target, unit in (("resnet18", 60, 1000, "analyses/s"), ("resnet50", 20, 2.0, "ms")):
        def analyse(text: str = texts[name], n: int = count) -> float:
            return per_item(lambda: fgir.compile(fgir.loads(text, f"{name}.yaml")), n)

        analyse()   # warm the memo (and the imports)
        t = interleaved(fast_and_slow(analyse), rounds)
        if unit == "analyses/s":
            fast, slow = 1 / t["fast"], 1 / t["slow"]
            print(f"{name}: {fast:.0f} analyses/s fast, {slow:.0f}/s slow ({fast / slow:.2f}x); "
                  f"target {target:,}/s: {verdict(fast, target, True)}")
        else:
            fast, slow = t["fast"] * 1e3, t["slow"] * 1e3
            print(f"{name}: {fast:.2f} ms fast, {slow:.2f} ms slow ({slow / fast:.2f}x); target {target} ms: "
                  f"{verdict(fast, target, False)}")


def bench_static_search(rounds: int, budget: int) -> None:
    import random

    from fgir.search import Space, run_search
    from fgir.search.evaluators import Job, evaluate_job

    def search() -> float:
        start = time.perf_counter()
        run_search(GUIDE, algorithm="BackboneNasSearch", budget=budget, seed=0)
        return (time.perf_counter() - start) / budget

    space = Space.from_spec(GUIDE)
    rng = random.Random(0)
    texts = [space.freeze(space.sample(rng)) for _ in range(100)]

    def evaluate() -> float:
        start = time.perf_counter()
        for text in texts:
            evaluate_job(Job(text))
        return (time.perf_counter() - start) / len(texts)

    search(), evaluate()
    t = interleaved(fast_and_slow(search), rounds)
    fast, slow = 1 / t["fast"], 1 / t["slow"]
    print(f"static BackboneNas search of {budget} on {GUIDE.name}: {fast:.0f} candidates/s fast, {slow:.0f}/s slow "
          f"({fast / slow:.2f}x); target 1,000/s: {verdict(fast, 1000, True)}")
    t = interleaved(fast_and_slow(evaluate), rounds)
    print(f"  one frozen candidate's evaluation (compile + static metrics), 100 candidates: "
          f"{t['fast'] * 1e3:.2f} ms fast, {t['slow'] * 1e3:.2f} ms slow ({t['slow'] / t['fast']:.2f}x)")


def bench_to_torch(rounds: int) -> None:
    import fgir
    import reference_resnet
    from fgir.backends.torch import codegen

    print(f"\n== to_torch against the hand-written module (tests/reference_resnet.py), median of {rounds} rounds")
    for name, hand, count in (("resnet20_cifar", reference_resnet.resnet20_cifar, 10),
                              ("resnet50", reference_resnet.resnet50, 2)):
        graph = fgir.compile(ROOT / "examples" / f"{name}.yaml")

        def uncached() -> None:
            codegen.forget_all()
            fgir.to_torch(graph)

        fns = {"to_torch": lambda: per_item(lambda: fgir.to_torch(graph), count),
               "to_torch, codegen not cached": lambda: per_item(uncached, count),
               "hand-written": lambda: per_item(hand, count),
               "hand-written, torchvision's init": lambda: per_item(lambda: torchvision_init(hand()), count)}
        for fn in fns.values():
            fn()
        t = interleaved(fns, rounds)
        print(f"{name}: to_torch {t['to_torch'] * 1e3:.1f} ms (uncached codegen "
              f"{t['to_torch, codegen not cached'] * 1e3:.1f} ms)")
        for baseline in ("hand-written", "hand-written, torchvision's init"):
            ratio = t["to_torch"] / t[baseline]
            print(f"  against {baseline} {t[baseline] * 1e3:.1f} ms: {ratio:.2f}x; target 1.2x: "
                  f"{verdict(ratio, 1.2, False)}")


def torchvision_init(model):
    """What torchvision's ResNet builder does after building its layers, and fgir's ResNet family does too:
    Kaiming-normal (fan-out) convolutions, BatchNorm at 1 and 0 (the test reference skips it)."""
    import torch.nn as nn

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    return model


def bench_families(repeat: int) -> None:
    import fgir
    import reference_convnext
    import reference_densenet
    import reference_efficientnet
    import reference_mobilenet
    import reference_vit

    print(f"\n== other families (memo warm), median of {repeat}")
    print(f"{'spec':24} {'analyse ms':>11} {'analyses/s':>11} {'to_torch ms':>12} {'hand torch ms':>14}")
    for name, reference in (("resnet50_fine_grained", None),
                            ("mobilenet_v2", reference_mobilenet.mobilenet_v2),
                            ("efficientnet_b0", reference_efficientnet.efficientnet),
                            ("densenet121", reference_densenet.densenet),
                            ("vit_b_16", lambda: reference_vit.vit("b_16")),
                            ("convnext_tiny", reference_convnext.convnext_tiny)):
        text = (ROOT / "examples" / f"{name}.yaml").read_text()
        t_fgir = median_seconds(lambda: fgir.compile(fgir.loads(text, f"{name}.yaml")), repeat, warmup=2)
        graph = fgir.compile(fgir.loads(text, f"{name}.yaml"))
        t_torch = median_seconds(lambda: fgir.to_torch(graph), max(3, repeat // 5), warmup=1)
        t_hand = median_seconds(reference, max(3, repeat // 5), warmup=1) if reference else float("nan")
        print(f"{name:24} {t_fgir * 1e3:11.2f} {1 / t_fgir:11.0f} {t_torch * 1e3:12.1f} {t_hand * 1e3:14.1f}")


def bench_deep_and_cli() -> None:
    import fgir
    from fgir.testing.deep import deep_spec

    deep = {}
    for stages in (1, 16):   # the largest spec inside the documented bounds: 16 stages of 1,024 blocks
        text = deep_spec(stages, 1024)
        deep[stages] = median_seconds(lambda: fgir.compile(fgir.loads(text, "deep.yaml"), input="3x8x8"), 3,
                                      warmup=0)
    print(f"\n{'stages x blocks':16} {'compile s':>10}\n{'1 x 1,024':16} {deep[1]:10.2f}\n{'16 x 1,024':16} "
          f"{deep[16]:10.2f}\nper stage, 16 against 1: {deep[16] / 16 / deep[1]:.2f}x (linear: 1.00x)")
    cli = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fgir", "check", "examples/resnet50.yaml"], cwd=ROOT,
                       check=True, capture_output=True)
        cli.append(time.perf_counter() - start)
    print(f"`fgir check examples/resnet50.yaml` as a fresh process: {statistics.median(cli) * 1e3:.0f} ms "
          "(median of 5, interpreter start-up included)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7, help="interleaved A/B rounds")
    parser.add_argument("--budget", type=int, default=200, help="candidates of the static search")
    parser.add_argument("--repeat", type=int, default=20, help="repetitions for the other families")
    parser.add_argument("--quick", action="store_true", help="the targets only")
    args = parser.parse_args()

    import torch

    import fgir

    torch.set_num_threads(1)
    print(f"fgir {fgir.__version__}, torch {torch.__version__}, 1 thread")
    bench_analysis(args.rounds)
    bench_static_search(args.rounds, args.budget)
    bench_to_torch(args.rounds)
    if not args.quick:
        bench_families(args.repeat)
        bench_deep_and_cli()


if __name__ == "__main__":
    main()

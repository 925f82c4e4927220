"""Training speed: a compiled network's training step next to the same network written by hand in torch.

Prints, in one run, on the CPU, one thread (medians of interleaved repetitions):
  * images/s of an SGD training step (forward, cross-entropy, backward, step) of the module
    ``fgir.to_torch`` builds and of the hand-written one (tests/reference_resnet.py,
    tests/reference_mobilenet.py) holding the same weights, and their ratio (target >= 0.95x);
    the same network inside fgir's training loop (``fgir.training.Trainer``: data indexing, the
    schedule, metrics) as a third column;
  * the time ``fgir.to_torch`` takes to build each network against building the hand-written one,
    and what dominates it (cProfile, by cumulative time).

Run: python bench/bench_train.py [--repeat 7] [--steps 6]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

from timing import median_seconds  # noqa: E402  (bench/ is the script folder)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

# (name, spec, input, batch, hand-written builder)
NETWORKS = [("ResNet-20", "resnet20_cifar.yaml", "3x32x32", 64, ("reference_resnet", "resnet20_cifar", {})),
            ("MobileNetV2", "mobilenet_v2.yaml", "3x64x64", 32, ("reference_mobilenet", "mobilenet_v2", {}))]


def hand_builder(ref: tuple[str, str, dict]) -> Callable[[], Any]:
    import importlib

    module, name, kwargs = ref
    return lambda: getattr(importlib.import_module(module), name)(**kwargs)


def stepper(model: Any, x: Any, y: Any) -> Callable[[int], None]:
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()

    def steps(count: int) -> None:
        for _ in range(count):
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    return steps


def loop_runner(model: Any, x: Any, y: Any, steps: int) -> Callable[[], None]:
    import torch

    from fgir.data.sources import ImageSet
    from fgir.training import Recipe, Trainer

    data = ImageSet(x.repeat(steps, 1, 1, 1), y.repeat(steps), "<bench>")
    recipe = Recipe(epochs=1, batch_size=len(y), lr=0.01, schedule="constant")
    return lambda: Trainer(model, data, None, recipe, torch.device("cpu")).run()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--steps", type=int, default=6, help="training steps a timed repetition")
    args = parser.parse_args()

    import torch

    import fgir

    torch.set_num_threads(1)
    print(f"fgir {fgir.__version__}, torch {torch.__version__}, CPU, 1 thread, median of {args.repeat} "
          f"interleaved repetitions of {args.steps} steps")
    print(f"{'network':12} {'input':>8} {'batch':>5} {'fgir img/s':>11} {'hand img/s':>11} {'fgir/hand':>10} "
          f"{'in loop img/s':>14} {'loop/hand':>10}")
    builds = []
    for name, spec, size, batch, ref in NETWORKS:
        graph = fgir.compile(ROOT / "examples" / spec, input=size)
        compiled = fgir.to_torch(graph, seed=0)
        hand = hand_builder(ref)()
        hand.load_state_dict(compiled.state_dict())          # the same network, the same weights
        c, h, w = graph.meta["input"]
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(batch, c, h, w, generator=gen)
        y = torch.randint(0, compiled(x[:2]).shape[1], (batch,), generator=gen)
        runs = {"fgir": stepper(compiled, x, y), "hand": stepper(hand, x, y)}
        looped = loop_runner(fgir.to_torch(graph, seed=0), x, y, args.steps)
        times: dict[str, list[float]] = {"fgir": [], "hand": [], "loop": []}
        for run in runs.values():
            run(2)                                            # warm-up: allocator, kernels
        looped()
        for _ in range(args.repeat):                          # interleaved: drift hits all alike
            for key, run in runs.items():
                start = time.perf_counter()
                run(args.steps)
                times[key].append(time.perf_counter() - start)
            start = time.perf_counter()
            looped()
            times["loop"].append(time.perf_counter() - start)
        rate = {k: args.steps * batch / statistics.median(v) for k, v in times.items()}
        print(f"{name:12} {size:>8} {batch:5d} {rate['fgir']:11.1f} {rate['hand']:11.1f} "
              f"{rate['fgir'] / rate['hand']:9.3f}x {rate['loop']:14.1f} {rate['loop'] / rate['hand']:9.3f}x"
              f"  (target fgir/hand >= 0.95: {'met' if rate['fgir'] / rate['hand'] >= 0.95 else 'MISSED'})")
        t_fgir = median_seconds(lambda: fgir.to_torch(graph), args.repeat, warmup=1)
        t_hand = median_seconds(hand_builder(ref), args.repeat, warmup=1)
        builds.append((name, graph, t_fgir, t_hand))

    print(f"\n{'network':12} {'to_torch ms':>12} {'hand ms':>8} {'ratio':>6}   (building the module, "
          f"weights initialised; median of {args.repeat})")
    for name, _, t_fgir, t_hand in builds:
        print(f"{name:12} {t_fgir * 1e3:12.1f} {t_hand * 1e3:8.1f} {t_fgir / t_hand:5.2f}x")
    for name, graph, _, _ in builds:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(3):
            fgir.to_torch(graph)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(12)
        lines = [line for line in out.getvalue().splitlines() if line.strip()][-12:]
        print(f"\nwhat fgir.to_torch spends its time on, {name} (cProfile, 3 builds, cumulative):")
        print("\n".join(lines))


if __name__ == "__main__":
    main()

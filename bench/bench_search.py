"""Search speed and search quality.

1. Static evaluations per second on the guide's BackboneNas space (examples/backbone_nas.yaml;
   target 500/s on one core), with where the time goes (freeze, load, compile), next to
   building a torch model per candidate (compile + fgir.to_torch), and the ratio.
2. On digits with the train evaluator: BackboneNasSearch vs RandomSearch at the same budget,
   several seeds: the best held-out accuracy among candidates under a MACs limit.  The space is
   the guide's (two 8-position codes with four 1s each) at a quarter of its widths (8 → 128) and a
   digits-sized input (3x8x8 by default), so it runs in a few minutes on 2 CPU cores.

Run: python bench/bench_search.py [--static-budget N] [--budget N] [--seeds N] [--workers K]
Prints figures only; nothing is asserted.  Whatever the numbers show is the result.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import fgir  # noqa: E402
from fgir.search import Space, run_search  # noqa: E402

GUIDE = ROOT / "examples" / "backbone_nas.yaml"

SMALL = """
    search_algorithm: {type: BackboneNasSearch, num_random: 4, batch: 4}
    search_space:
      type: FineGrainedSpace
      hyper_parameters:
        layer.doublechannel: [0, 1, 1, 0, 1, 0, 0, 1]
        layer.downsample: [1, 1, 0, 1, 0, 0, 0, 1]
      modules: [init, layer, head]
      init: {type: SmallInputInitialBlock, init_plane: 8}
      layer:
        type: VariantLayer
        block: {type: BasicBlock}
        in_plane: 8
        out_plane: 128
        doublechannel: [0, 1, 1, 0, 1, 0, 0, 1]
        downsample: [1, 1, 0, 1, 0, 0, 0, 1]
        expansion: 1
      head: {type: LinearClassificationHead, base_channel: 128, num_class: 10}
    """


def median_ms(fn, items) -> float:
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bench_static(budget: int, torch_models: int) -> None:
    print(f"== static evaluation, {GUIDE.name} (4,900 points), one process")
    start = time.perf_counter()
    result = run_search(GUIDE, algorithm="BackboneNasSearch", budget=budget, seed=0)
    seconds = time.perf_counter() - start
    rate = budget / seconds
    print(f"search of {budget} candidates (BackboneNas, static): {seconds:.2f} s = {rate:.0f} evaluations/s"
          f"  (target 500/s)")

    space = Space.from_spec(GUIDE)
    samples = [row["values"] for row in result.rows[:50]]
    texts = [space.freeze(s) for s in samples]
    graphs = [fgir.loads(t) for t in texts]
    freeze = median_ms(space.freeze, samples)
    load = median_ms(fgir.loads, texts)
    compile_ = median_ms(lambda g: fgir.compile(g), graphs)
    per_eval = 1000 / rate
    print(f"  per candidate: freeze {freeze:.2f} ms, fgir.loads {load:.2f} ms, fgir.compile "
          f"{compile_:.2f} ms; whole evaluation {per_eval:.2f} ms")

    import torch  # noqa: F401  imported before timing, so its import time is not counted

    def build(text: str) -> None:
        fgir.to_torch(fgir.compile(fgir.loads(text)), seed=0)

    build(texts[0])
    torch_ms = median_ms(build, texts[:torch_models])
    print(f"building a torch model per candidate (loads + compile + to_torch, {torch_models} "
          f"candidates, median): {torch_ms:.1f} ms = {1000 / torch_ms:.1f} models/s")
    print(f"ratio: a static evaluation is {torch_ms / per_eval:.1f}x faster than building the model")


def bench_train(budget: int, seeds: int, workers: int, input_size: str, max_macs: int,
                epochs: int) -> None:
    print(f"\n== digits, train evaluator ({epochs} epoch, input {input_size}), budget {budget} per "
          f"search, max_macs {max_macs:,}, {workers} workers")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "space.yaml"
        spec.write_text(textwrap.dedent(SMALL).lstrip())
        table: dict[str, list[float]] = {"BackboneNasSearch": [], "RandomSearch": []}
        valid: dict[str, list[int]] = {name: [] for name in table}
        start = time.perf_counter()
        for seed in range(seeds):
            for name in table:
                result = run_search(spec, algorithm=name, evaluator="train", budget=budget, seed=seed,
                                    workers=workers, input=input_size, constraints={"max_macs": max_macs},
                                    evaluator_options={"epochs": epochs})
                ok = [r for r in result.rows if r["status"] == "ok"]
                best = max((r["metrics"]["accuracy"] for r in ok), default=float("nan"))
                table[name].append(best)
                valid[name].append(len(ok))
                print(f"  seed {seed} {name:18s} best accuracy {best:.4f}  ({len(ok)} of "
                      f"{len(result.rows)} candidates under the MACs limit, trained)")
        print(f"  ({time.perf_counter() - start:.0f} s)")
        for name, accs in table.items():
            print(f"{name:18s} mean best accuracy {statistics.mean(accs):.4f}  "
                  f"(per seed {', '.join(f'{a:.4f}' for a in accs)}; trained {sum(valid[name])})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--static-budget", type=int, default=400)
    parser.add_argument("--torch-models", type=int, default=10)
    parser.add_argument("--budget", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--input", default="3x8x8")
    parser.add_argument("--max-macs", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()
    random.seed(0)
    bench_static(args.static_budget, args.torch_models)
    if not args.skip_train:
        bench_train(args.budget, args.seeds, args.workers, args.input, args.max_macs, args.epochs)


if __name__ == "__main__":
    main()

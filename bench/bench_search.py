"""Search speed and search quality.

1. static: evaluations per second on one core on the guide's BackboneNas space
   (examples/backbone_nas.yaml; target 1,000/s), with where the time goes (freeze, load, each
   compiler pass, the static metrics), next to building a torch model per candidate.
2. quality: on digits with the train evaluator, equal budgets, several seeds, interleaved:
   BackboneNasSearch, RegularizedEvolution and TPESearch against RandomSearch: the mean best
   held-out accuracy under a MACs limit (objective accuracy:max).  The space is the guide's (two
   8-position codes with four 1s each) at a quarter of its widths and a digits-sized input.
3. asha: RandomSearch training every candidate --asha-epochs epochs against ASHA (the same
   algorithm, eta 3, from 1 epoch) given the epochs that run trained: candidates evaluated (ratio)
   and the best accuracy (at the full epochs).
4. nsga2: fgir's NSGA2Search against Optuna's NSGA-II on the Quant space (static, exact):
   hypervolume of the (mean_bits:max, weight_bytes:min) front, one reference point per seed.

5. space: static candidates/s (fgir.compile of a frozen candidate), the time of ``fgir space`` for
   --space-samples samples (10,000 by the issue, the CLI's default), and, per sampler under
   --budget-macs, the share of proposals over the limit proposing blind (before) and in budget (after).
6. symbolic and 7. proxies: see bench/bench_search_cost.py (symbolic vs compiled candidates/s, every
   example space's formula checked on --check candidates; proxies' Spearman with trained accuracy).
   quality with --blind also runs each algorithm proposing blind and prints the over-budget shares.

Run: python bench/bench_search.py [--part static|quality|asha|nsga2|space|symbolic|proxies|all] ...
Full figures of issue 24: --part symbolic (--check 10000), --part proxies (--proxy-candidates 50),
--part quality --blind --seeds 5 --budget 32.
Prints figures and ratios measured in the same run; nothing is asserted.  The machine may be shared:
repetitions are interleaved and medians quoted.
"""

from __future__ import annotations

import argparse
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
from bench_search_cost import bench_proxies, bench_symbolic  # noqa: E402

GUIDE = ROOT / "examples" / "backbone_nas.yaml"
QUANT = ROOT / "examples" / "search" / "quant_resnet20.yaml"

SMALL = """
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


def median_ms(fn, items, rounds: int = 3) -> float:
    """Median milliseconds of ``fn`` over ``items``, ``rounds`` passes over them."""
    times = []
    for _ in range(rounds):
        for item in items:
            start = time.perf_counter()
            fn(item)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def pass_times(texts: list[str]) -> dict[str, float]:
    """Median milliseconds of each default pass (run as the PassManager runs them, without its checks)."""
    from fgir.passes import PassContext, default_passes

    times: dict[str, list[float]] = {}
    for text in texts:
        graph, ctx = fgir.loads(text), PassContext()
        for p in default_passes():
            start = time.perf_counter()
            p.run(graph, ctx)
            times.setdefault(p.name, []).append(time.perf_counter() - start)
            graph.properties |= p.provides
            graph.properties -= p.invalidates
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def bench_static(budget: int, repeats: int, torch_models: int) -> None:
    from fgir.search.evaluators import Job, evaluate_job
    from fgir.search.evaluators.static import static_metrics

    print(f"== static evaluation, {GUIDE.name} (4,900 points), one process, one core")
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run_search(GUIDE, algorithm="BackboneNasSearch", budget=budget, seed=0)
        rates.append(budget / (time.perf_counter() - start))
    rate = statistics.median(rates)
    print(f"search of {budget} candidates (BackboneNas, static), median of {repeats}: {rate:.0f} candidates/s "
          f"= {1000 / rate:.2f} ms each  (target 1,000/s: {'met' if rate >= 1000 else 'missed'})")
    space = Space.from_spec(GUIDE)
    samples = [row["values"] for row in result.rows[:60]]
    texts = [space.freeze(s) for s in samples]
    graphs = [fgir.compile(t) for t in texts]
    evaluate = median_ms(lambda t: evaluate_job(Job(t)), texts)
    parts = {"freeze (sample -> spec text)": median_ms(space.freeze, samples),
             "fgir.loads (YAML -> IR of blocks)": median_ms(fgir.loads, texts),
             **{f"pass {k}": v for k, v in pass_times(texts).items()},
             "static_metrics": median_ms(static_metrics, graphs)}
    for name, ms in parts.items():
        print(f"  {name:38s} {ms:6.3f} ms  ({ms / evaluate:5.1%} of evaluate_job's median {evaluate:.3f} ms)")
    inside = evaluate - sum(v for k, v in parts.items() if not k.startswith("freeze"))
    print(f"  the rest of evaluate_job (compile's argument and postcondition checks, the pass manager): "
          f"{max(0.0, inside):.3f} ms")
    print(f"  the search loop around it (freeze, hashing, rows, the algorithm) and a shared machine's noise: "
          f"{max(0.0, 1000 / rate - evaluate):.3f} ms")

    import torch  # noqa: F401  imported before timing, so its import time is not counted

    def build(text: str) -> None:
        fgir.to_torch(fgir.compile(text), seed=0)

    build(texts[0])
    torch_ms = median_ms(build, texts[:torch_models], rounds=1)
    print(f"building a torch model per candidate (loads + compile + to_torch, median of {torch_models}): "
          f"{torch_ms:.1f} ms; a static evaluation is {torch_ms / evaluate:.1f}x faster")


def best_accuracy(rows) -> float:
    ok = [r["metrics"]["accuracy"] for r in rows if r["status"] == "ok" and "accuracy" in r["metrics"]]
    return max(ok, default=float("nan"))


def bench_quality(spec: Path, args) -> None:
    names = ["RandomSearch", "BackboneNasSearch", "RegularizedEvolution", "TPESearch"]
    options = {"RandomSearch": {}, "BackboneNasSearch": {"num_random": 8, "batch": 4},
               "RegularizedEvolution": {"population": 8, "sample": 3, "batch": 4},
               "TPESearch": {"startup": 8, "batch": 4}}
    print(f"\n== quality: digits, train evaluator ({args.epochs} epoch, input {args.input}), budget {args.budget} "
          f"per search, max_macs {args.max_macs:,}, objective accuracy:max, {args.seeds} seeds, "
          f"{args.workers} workers")
    runs = [(n, True) for n in names] + ([(n, False) for n in names] if args.blind else [])
    table: dict[str, list[float]] = {label(n, b): [] for n, b in runs}
    over: dict[str, list[float]] = {label(n, b): [] for n, b in runs}
    start = time.perf_counter()
    for seed in range(args.seeds):
        for k in range(len(runs)):                  # interleaved, the order rotating with the seed
            name, in_budget = runs[(k + seed) % len(runs)]
            text = spec.read_text().replace("search_space:", f"search_algorithm: {{type: {name}"
                                            + "".join(f", {o}: {v}" for o, v in options[name].items())
                                            + "}\nsearch_space:", 1)
            space = Space.from_text(text, str(spec))
            result = run_search(space, evaluator="train", budget=args.budget, seed=seed, workers=args.workers,
                                input=args.input, objectives=["accuracy:max"], in_budget=in_budget,
                                constraints={"max_macs": args.max_macs}, evaluator_options={"epochs": args.epochs})
            key = label(name, in_budget)
            table[key].append(best_accuracy(result.rows))
            over[key].append(sum(r["status"] == "invalid" for r in result.rows) / len(result.rows))
            print(f"  seed {seed} {key:29s} best accuracy {table[key][-1]:.4f}  "
                  f"({sum(r['status'] == 'ok' for r in result.rows)} of {len(result.rows)} trained, "
                  f"{over[key][-1]:.0%} over budget)", flush=True)
    print(f"  ({time.perf_counter() - start:.0f} s)")
    random_mean = statistics.mean(table["RandomSearch"])
    for name, accs in table.items():
        verdict = "" if name.startswith("RandomSearch") else \
            f"  {'beats' if statistics.mean(accs) > random_mean else 'does NOT beat'} RandomSearch " \
            f"({statistics.mean(accs) - random_mean:+.4f}; wins {sum(a > b for a, b in zip(accs, table['RandomSearch']))}" \
            f" of {len(accs)} seeds)"
        print(f"{name:29s} mean best {statistics.mean(accs):.4f}  median {statistics.median(accs):.4f}  "
              f"over budget {statistics.mean(over[name]):.1%}{verdict}")


def label(name: str, in_budget: bool) -> str:
    return name if in_budget else f"{name} (blind)"


def bench_asha(spec: Path, args) -> None:
    full_epochs = args.asha_epochs
    print(f"\n== asha: RandomSearch, {args.asha_budget} candidates x {full_epochs} epochs, against ASHA (eta 3, "
          f"from 1 epoch; the same algorithm and seed) given the epochs the full run trained (its candidates over "
          f"the MACs limit cost none); digits, input {args.input}, objective accuracy:max, {args.seeds} seeds")
    counts: dict[str, list[int]] = {"full": [], "asha": []}
    bests: dict[str, list[float]] = {"full": [], "asha": []}
    for seed in range(args.seeds):
        common = dict(algorithm="RandomSearch", evaluator="train", seed=seed, workers=args.workers,
                      input=args.input, objectives=["accuracy:max"], constraints={"max_macs": args.max_macs},
                      evaluator_options={"epochs": full_epochs})
        full = run_search(spec, budget=args.asha_budget, **common)
        spent = full_epochs * sum(r["status"] == "ok" for r in full.rows)
        stopped = run_search(spec, budget=100_000, scheduler="ASHA", epoch_budget=spent, **common)
        for kind, result in (("full", full), ("asha", stopped)):
            counts[kind].append(len({r["hash"] for r in result.rows if r["status"] == "ok"}))
            bests[kind].append(result.best["metrics"]["accuracy"] if result.best else float("nan"))
        print(f"  seed {seed}: {spent} epochs; full training {counts['full'][-1]} candidates, best "
              f"{bests['full'][-1]:.4f}; ASHA {counts['asha'][-1]} candidates ({len(stopped.rows)} rows), "
              f"best {bests['asha'][-1]:.4f} at {stopped.best['epochs'] if stopped.best else '-'} epochs", flush=True)
    ratio = statistics.median(a / f for a, f in zip(counts["asha"], counts["full"]))
    print(f"ASHA evaluates {ratio:.1f}x the candidates (median; target >= 3x: {'met' if ratio >= 3 else 'missed'}); "
          f"mean best {statistics.mean(bests['asha']):.4f} against {statistics.mean(bests['full']):.4f} "
          f"({'at least as good' if statistics.mean(bests['asha']) >= statistics.mean(bests['full']) else 'WORSE'}; "
          f"ASHA wins or ties {sum(a >= f for a, f in zip(bests['asha'], bests['full']))} of {args.seeds} seeds)")


def hypervolume(points: list[tuple[float, float]], reference: tuple[float, float]) -> float:
    """The area ``points`` dominate (both coordinates minimized) up to ``reference``."""
    front = sorted(p for p in points if p[0] < reference[0] and p[1] < reference[1])
    area, best_y = 0.0, reference[1]
    for x, y in front:
        if y < best_y:
            area += (reference[0] - x) * (best_y - y)
            best_y = y
    return area


def bench_nsga2(args) -> None:
    objectives = ["mean_bits:max", "weight_bytes:min"]
    print(f"\n== nsga2: {QUANT.name} (40 bit widths), static, objectives {', '.join(objectives)}, budget "
          f"{args.nsga_budget}, population 16, {args.seeds} seeds: hypervolume of each front (as minimization: "
          "-mean_bits, weight_bytes), the reference point per seed just past the worst of both runs' fronts")
    ratios, wins = [], 0
    for seed in range(args.seeds):
        fronts = {}
        for name in (("NSGA2Search", "OptunaNSGA2Search") if seed % 2 == 0 else ("OptunaNSGA2Search", "NSGA2Search")):
            result = run_search(QUANT, algorithm=name, budget=args.nsga_budget, seed=seed, objectives=objectives)
            fronts[name] = [(-r["metrics"]["mean_bits"], r["metrics"]["weight_bytes"]) for r in result.front]
        every = fronts["NSGA2Search"] + fronts["OptunaNSGA2Search"]
        low = (min(p[0] for p in every), min(p[1] for p in every))
        high = (max(p[0] for p in every), max(p[1] for p in every))
        reference = tuple(h + 0.1 * (h - lo) for h, lo in zip(high, low))
        hv = {name: hypervolume(points, reference) for name, points in fronts.items()}
        ratios.append(hv["NSGA2Search"] / hv["OptunaNSGA2Search"])
        wins += hv["NSGA2Search"] >= hv["OptunaNSGA2Search"]
        print(f"  seed {seed}: fgir {hv['NSGA2Search']:.4g} ({len(fronts['NSGA2Search'])} on the front), Optuna "
              f"{hv['OptunaNSGA2Search']:.4g} ({len(fronts['OptunaNSGA2Search'])}); ratio {ratios[-1]:.3f}", flush=True)
    print(f"fgir NSGA-II / Optuna NSGA-II hypervolume: median {statistics.median(ratios):.3f}; fgir >= Optuna on "
          f"{wins} of {args.seeds} seeds (target: fgir >= Optuna)")


def bench_space(args) -> None:
    import random

    from fgir.search import space_report

    space = Space.from_spec(GUIDE)
    rng = random.Random(0)
    texts = [space.freeze(space.sample(rng)) for _ in range(100)]
    start = time.perf_counter()
    for text in texts:
        fgir.compile(text)
    rate = len(texts) / (time.perf_counter() - start)
    print(f"\n== space: {GUIDE.name}; the static path (fgir.compile of a frozen candidate) {rate:.0f} candidates/s "
          f"on one core (10,000 samples would take {10_000 / rate:.0f} s)")
    start = time.perf_counter()
    report = space_report(GUIDE, samples=args.space_samples, constraints={"max_macs": args.budget_macs})
    print(f"fgir space, {args.space_samples:,} samples: {time.perf_counter() - start:.1f} s (target for 10,000: 5 s: "
          f"{'met' if time.perf_counter() - start <= 5 * args.space_samples / 10_000 else 'missed'}); "
          f"{report.constraints[0]['within']:.1%} of the samples within max_macs {args.budget_macs:,}")
    names = ["RandomSearch", "RegularizedEvolution", "BackboneNasSearch", "NSGA2Search", "TPESearch"]
    print(f"over-budget proposals, budget {args.budget} each, max_macs {args.budget_macs:,}, {args.seeds} seeds "
          "(before: proposing blind; after: rejected by their cost, the symbolic formula, before proposing):")
    for name in names:
        shares = {}
        for in_budget in (False, True):
            over = total = 0
            start = time.perf_counter()
            for seed in range(args.seeds):
                result = run_search(GUIDE, algorithm=name, budget=args.budget, seed=seed, in_budget=in_budget,
                                    constraints={"max_macs": args.budget_macs})
                over += sum(r["status"] == "invalid" for r in result.rows)
                total += len(result.rows)
            shares[in_budget] = (over / total, time.perf_counter() - start)
        print(f"  {name:21s} before {shares[False][0]:6.1%} ({shares[False][1]:.1f} s)   after {shares[True][0]:6.1%} "
              f"({shares[True][1]:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("static", "quality", "asha", "nsga2", "space", "symbolic", "proxies", "all"),
                        default="all")
    parser.add_argument("--blind", action="store_true", help="quality: also each algorithm proposing blind")
    parser.add_argument("--check", type=int, default=10_000, help="symbolic: candidates compiled per space")
    parser.add_argument("--spaces", nargs="*", metavar="PART", help="symbolic: only the example spaces whose "
                                                                     "path holds one of these (default: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--symbolic-batch", type=int, default=100_000)
    parser.add_argument("--compiled-n", type=int, default=100)
    parser.add_argument("--proxy-candidates", type=int, default=50)
    parser.add_argument("--space-samples", type=int, default=10_000)
    parser.add_argument("--budget-macs", type=int, default=100_000_000)
    parser.add_argument("--static-budget", type=int, default=400)
    parser.add_argument("--static-repeats", type=int, default=3)
    parser.add_argument("--torch-models", type=int, default=10)
    parser.add_argument("--budget", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--input", default="3x8x8")
    parser.add_argument("--max-macs", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--asha-epochs", type=int, default=9)
    parser.add_argument("--asha-budget", type=int, default=8)
    parser.add_argument("--nsga-budget", type=int, default=320)
    args = parser.parse_args()
    parts = ("static", "quality", "asha", "nsga2", "space", "symbolic", "proxies") if args.part == "all" \
        else (args.part,)
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "space.yaml"
        spec.write_text(textwrap.dedent(SMALL).lstrip())
        if "static" in parts:
            bench_static(args.static_budget, args.static_repeats, args.torch_models)
        if "nsga2" in parts:
            bench_nsga2(args)
        if "quality" in parts:
            bench_quality(spec, args)
        if "asha" in parts:
            bench_asha(spec, args)
        if "space" in parts:
            bench_space(args)
        if "symbolic" in parts:
            bench_symbolic(args)
        if "proxies" in parts:
            bench_proxies(spec, args)


if __name__ == "__main__":
    main()

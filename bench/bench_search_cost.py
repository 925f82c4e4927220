"""bench_search.py's parts on costing candidates before training (imported by it; not run alone).

symbolic: per example space with dimensions, symbolic candidates/s (SymbolicCost.costs, batched) against
  compiled candidates/s (the static path, CostModel without the formula), interleaved in one run, the
  targets (100,000/s on BackboneNas and the OFA-style MobileNet space), the time of ``fgir space`` for
  10,000 samples in a fresh process (target 5 s), and --check random candidates of every space compiled
  and compared with the formula, every metric: the mismatches are printed, then asserted 0.
proxies: Spearman rank correlation with trained accuracy (the train evaluator on digits) of synflow,
  naswot, grad_norm, params and MACs over --proxy-candidates distinct candidates of a small space.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from fgir.search import Space
from fgir.search.cost import CostModel
from fgir.search.symbolic import SymbolicCost

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"backbone_nas.yaml": 100_000, "supernet_mobilenet.yaml": 100_000}


def example_spaces() -> list[Space]:
    from fgir.diagnostics import FgirError
    from fgir.plugins import load_plugin

    load_plugin(ROOT / "examples" / "user_blocks" / "searchable_stage.py")
    out = []
    for path in sorted([*(ROOT / "examples").glob("*.yaml"), *(ROOT / "examples" / "search").glob("*.yaml")]):
        try:
            space = Space.from_spec(path)
        except FgirError:
            continue
        if space.dimensions:
            out.append(space)
    return out


def _rates(space: Space, symbolic: SymbolicCost, rounds: int, batch: int,
           compiled_n: int) -> tuple[float, float, float]:
    """(symbolic, compiled, symbolic by CPU time) candidates/s: medians over interleaved rounds, fresh
    samples each round (the CPU-time figure tells what a busy machine's wall clock hides)."""
    rng = random.Random(7)
    sym, comp, cpu = [], [], []
    for _ in range(rounds):
        samples = [space.sample(rng) for _ in range(batch)]
        start, start_cpu = time.perf_counter(), time.process_time()
        symbolic.costs(samples)
        sym.append(batch / (time.perf_counter() - start))
        cpu.append(batch / max(time.process_time() - start_cpu, 1e-9))
        model = CostModel(space, symbolic=False)
        start = time.perf_counter()
        for s in samples[:compiled_n]:
            model.cost(s)
        comp.append(compiled_n / (time.perf_counter() - start))
    return statistics.median(sym), statistics.median(comp), statistics.median(cpu)


def _space_seconds(path: Path) -> float:
    """Wall seconds of ``fgir space PATH --samples 10000`` in a fresh process (imports and the formula)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fgir", "space", str(path), "--samples", "10000"], check=True,
                   capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def bench_symbolic(args) -> None:
    print(f"\n== symbolic cost: candidates/s by the formula (batches of {args.symbolic_batch:,}) and compiled "
          f"({args.compiled_n} per round), {args.rounds} interleaved rounds, medians; then {args.check:,} random "
          "candidates of each space compiled and compared")
    mismatches = 0
    for space in example_spaces():
        name = Path(space.file).name
        if args.spaces and not any(part in space.file for part in args.spaces):
            continue
        symbolic = SymbolicCost(space)
        if not symbolic.exact:
            print(f"  {name:28s} {symbolic.line()}")
            continue
        sym, comp, cpu = _rates(space, symbolic, args.rounds, args.symbolic_batch, args.compiled_n)
        target = TARGETS.get(name)
        verdict = f"  target {target:,}/s {'met' if sym >= target else 'MISSED'}" if target else ""
        rng = random.Random(10_000)
        samples = [space.sample(rng) for _ in range(args.check)]
        model, start = CostModel(space, symbolic=False), time.perf_counter()
        bad = sum(a != model.cost(s) for s, a in zip(samples, symbolic.costs(samples)))
        mismatches += bad
        print(f"  {name:28s} symbolic {sym:10,.0f}/s (CPU time {cpu:,.0f}/s)  compiled {comp:6,.0f}/s  "
              f"x{sym / comp:,.0f}{verdict}  "
              f"(formula found in {symbolic.seconds:.1f} s, {symbolic.stats['compiles']} compiles)  "
              f"{args.check:,} compared in {time.perf_counter() - start:.0f} s: {bad} mismatches", flush=True)
    for name in ("backbone_nas.yaml", "search/supernet_mobilenet.yaml"):
        seconds = _space_seconds(ROOT / "examples" / name)
        print(f"  fgir space examples/{name} --samples 10000: {seconds:.1f} s in a fresh process "
              f"(target 5 s: {'met' if seconds <= 5 else 'MISSED'})")
    print(f"  mismatches in all: {mismatches}")
    assert mismatches == 0, f"{mismatches} candidates where the formula and the compiler differ"


def spearman(xs: list[float], ys: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(xs, ys).statistic)


def bench_proxies(spec: Path, args) -> None:
    from fgir.search.evaluators.proxy import PROXIES, ProxyEvaluator
    from fgir.search.evaluators.train import TrainEvaluator
    import fgir

    space = Space.from_text(spec.read_text(), str(spec))
    rng = random.Random(0)
    chosen: dict[str, dict] = {}
    while len(chosen) < args.proxy_candidates:
        sample = space.sample(rng)
        chosen.setdefault(space.key(sample), sample)
    train = TrainEvaluator(epochs=args.epochs)
    proxies = {p: ProxyEvaluator(p) for p in PROXIES}
    columns: dict[str, list[float]] = {k: [] for k in ("accuracy", *PROXIES, "params", "macs")}
    print(f"\n== proxies: {len(chosen)} candidates of the quality space (input {args.input}), trained "
          f"{args.epochs} epoch(s) on digits (seed 0); Spearman of each score with the held-out accuracy")
    start = time.perf_counter()
    for sample in chosen.values():
        graph = fgir.compile(fgir.loads(space.freeze(sample)), input=args.input)
        columns["accuracy"].append(train(graph, seed=0)["accuracy"])
        for p, evaluator in proxies.items():
            columns[p].append(evaluator(graph, seed=0)[p])
        columns["params"].append(graph.meta["params"])
        columns["macs"].append(graph.meta["macs"])
    print(f"  ({time.perf_counter() - start:.0f} s; accuracy from {min(columns['accuracy']):.3f} to "
          f"{max(columns['accuracy']):.3f})")
    rho = {k: spearman(v, columns["accuracy"]) for k, v in columns.items() if k != "accuracy"}
    for k, r in rho.items():
        print(f"  {k:10s} Spearman {r:+.3f}")
    best_static = max(rho["params"], rho["macs"])
    for p in PROXIES:
        print(f"  {p}: {'beats' if rho[p] > best_static else 'does NOT beat'} params and MACs "
              f"({rho[p]:+.3f} vs {best_static:+.3f}): {'a default candidate' if rho[p] > best_static else 'no default'}")


__all__ = ["bench_proxies", "bench_symbolic", "example_spaces", "spearman"]

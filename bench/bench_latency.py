"""The latency predictor against measurements, on held-out candidates of the OFA-style MobileNet space.

1. ``fgir latency calibrate``'s path: ``--candidates`` (default 20) candidates of the space, spread over
   its MACs, measured in ONNX Runtime (1 thread, batch 1, interleaved rounds, one session at a time), and
   the predictor fitted to them (per-kind linear model, non-negative least squares; fgir/latency/).
2. ``--held-out`` (default 100) other distinct candidates (another seed; none of the calibration's
   networks), measured in the same interleaved rounds as the calibration's (so a busy machine's drift
   between the two is not counted against the predictor), and predicted.
3. Printed, for the predictor and for MACs as a latency proxy (MACs times a constant fitted by least
   squares on the same calibration candidates): Spearman's rank correlation of predicted against measured
   (target >= 0.95) and the share of candidates predicted within +-10% (target >= 90%).  And the
   held-out candidates measured a second time: the same two figures for a measurement against itself,
   the floor any predictor is judged against on this machine (a busy machine's is low).
4. Predictions per second (target >= 10,000) from a compiled graph, and, for scale, compiles per second.

Run: python bench/bench_latency.py [--space SPEC] [--input CxHxW] [--candidates N] [--held-out N]
                                   [--repeats N] [--rounds N]
About a minute on a quiet 2-core machine (3x32x32: candidates run in 0.2 to 0.8 ms).
Prints figures only; nothing is asserted.  Whatever the numbers show is the result.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import fgir  # noqa: E402
from fgir.latency import Latency, fit_predictor, measure_interleaved  # noqa: E402
from fgir.search.cost import network_hash  # noqa: E402
from fgir.search.evaluators.latency import calibration_candidates  # noqa: E402
from fgir.search.space import Space  # noqa: E402

SPACE = ROOT / "examples" / "search" / "ofa_mobilenet.yaml"


def figures(predicted: list[float], measured: list[float]) -> tuple[float, float]:
    """Spearman's rho, and the share within +-10% of the measurement."""
    from scipy.stats import spearmanr

    rho = float(spearmanr(predicted, measured).statistic)
    within = sum(abs(p - m) <= 0.1 * m for p, m in zip(predicted, measured)) / len(measured)
    return rho, within


def held_out(space: Space, count: int, taken: set[str], input: str, seed: int) -> list:
    """``count`` compiled candidates whose networks are distinct and none of ``taken``."""
    rng, graphs = random.Random(seed), []
    seen = set(taken)
    while len(graphs) < count:
        graph = fgir.compile(space.freeze(space.sample(rng)), input=input)
        key = network_hash(graph)
        if key not in seen:
            seen.add(key)
            graphs.append(graph)
    return graphs


def row(name: str, rho: float, within: float) -> None:
    print(f"  {name:34s} Spearman {rho:6.3f} (target >= 0.95: {'met' if rho >= 0.95 else 'MISSED'})   "
          f"within +-10% {within:6.1%} (target >= 90%: {'met' if within >= 0.9 else 'MISSED'})")


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default=str(SPACE))
    parser.add_argument("--input", default="3x32x32")
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--held-out", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, a fresh session each")
    args = parser.parse_args()
    space = Space.from_spec(args.space)
    settings = Latency(repeats=args.repeats)
    print(f"space {args.space}, input {args.input}, batch 1, 1 thread, {args.repeats} runs x {args.rounds} rounds")

    calibration = calibration_candidates(space, args.candidates, args.input, seed=0)
    graphs = held_out(space, args.held_out, {network_hash(g) for g in calibration}, args.input, seed=1)
    calibration_macs = np.array([g.meta["macs"] for g in calibration], float)
    # the calibration and the held-out candidates measured in the same interleaved rounds: a busy
    # machine's drift between the two is no error of the predictor's
    start = time.perf_counter()
    everything = measure_interleaved(calibration + graphs, settings, args.rounds)
    measured = everything[len(calibration):]
    print(f"measured {len(calibration)} calibration and {len(graphs)} held-out candidates in "
          f"{time.perf_counter() - start:.1f} s: {min(everything):.3f} to {max(everything):.3f} ms")
    model = fit_predictor(calibration, settings, args.rounds, measured=everything[:len(calibration)])
    print(f"fitted (what calibrate does, on the first {len(calibration)}): in-sample max error "
          f"{model.calibration['max_error']:.1%}")
    predicted = [model.predict(g) for g in graphs]
    y = np.array(model.calibration["measured_ms"])
    per_mac = float(calibration_macs @ y / (calibration_macs @ calibration_macs))
    proxy = [g.meta["macs"] * per_mac for g in graphs]
    print("held-out candidates, predicted against measured:")
    row("predictor (fgir latency calibrate)", *figures(predicted, measured))
    row("MACs x fitted constant", *figures(proxy, measured))
    again = measure_interleaved(graphs, settings, args.rounds)
    row("a second measurement (noise floor)", *figures(again, measured))

    reps = max(1, 20_000 // len(graphs))
    start = time.perf_counter()
    for _ in range(reps):
        for g in graphs:
            model.predict(g)
    rate = reps * len(graphs) / (time.perf_counter() - start)
    print(f"predictions/s from a compiled graph: {rate:,.0f} (target >= 10,000: {'met' if rate >= 1e4 else 'MISSED'})")
    start = time.perf_counter()
    rng = random.Random(2)
    for _ in range(20):
        fgir.compile(space.freeze(space.sample(rng)), input=args.input)
    print(f"for scale, compiles/s of a candidate: {20 / (time.perf_counter() - start):,.0f}")


if __name__ == "__main__":
    main()

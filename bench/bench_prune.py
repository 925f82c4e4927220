"""Pruning: accuracy recovered on digits, selection time on ResNet-50, budgets met.

1. Digits, from the command line, as a user runs it: ``fgir train`` a dense ResNet-20 (the bundled
   digits, resized to --input), ``fgir prune --ratio 0.5`` (L1, local), ``fgir train`` the pruned spec
   for 2 epochs (it fine-tunes from the sliced weights; SGD, lr 0.01, batches of 8).  Printed: the
   held-out accuracy of each (the same fixed split), and the pruned model's distance to the dense one
   (target: within 2 points).
   With --slimming, network slimming too: the dense network trained with ``--bn-sparsity``, pruned
   ``--criterion bn_scale --global``.
2. Choosing the channels of ResNet-50 (10 classes, L1, ratio 0.5): ``fgir.prune`` (spec compiled,
   checkpoint read, channels scored and chosen; target under 1 s) beside Torch-Pruning's selection on
   the same weights (dependency graph traced, channels scored and ranked), medians of interleaved
   repetitions, when torch-pruning is installed.
3. Budgets: ``target_macs`` for ResNet-20 and ResNet-50 (local and global): the MACs reached, and what
   one channel fewer pruned would cost (over the target).
4. Measured speed-ups (``fgir prune --verify-speed``'s measurement): ResNet-50 and MobileNetV2 (examples/),
   random weights, pruned to 50% of their MACs (``target_macs``, L1, local) with ``round_to`` 1, 8 and 16;
   the dense and the three pruned ONNX models measured in ONNX Runtime (batch 1, one thread, --speed-input,
   default 3x224x224: about a minute on 2 cores), interleaved rounds, one session at a time, medians.
   Printed: each one's MACs ratio and measured speed-up, and the share of the MACs reduction realised.

Run: python bench/bench_prune.py [--epochs N] [--input CxHxW] [--repeat N] [--slimming] [--skip-train]
                                 [--speed-input CxHxW] [--speed-rounds N] [--only-speed]
Prints figures only; nothing is asserted.  Whatever the numbers show is the result.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402

import fgir  # noqa: E402
from fgir.testing.weights import randomize_batch_norm  # noqa: E402

R20 = ROOT / "examples" / "resnet20_cifar.yaml"
R50 = ROOT / "examples" / "resnet50.yaml"
MOBILENET_V2 = ROOT / "examples" / "mobilenet_v2.yaml"
ROUND_TO = (1, 8, 16)


def fgir_cli(*args: str, cwd: Path) -> str:
    """Run the real command line; its standard output (exit on failure, showing why)."""
    shown = "fgir " + " ".join(args)
    print(f"  $ {shown}", flush=True)
    result = subprocess.run([sys.executable, "-m", "fgir", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout + result.stderr)
        sys.exit(f"{shown} failed")
    return result.stdout


def val_accuracy(stdout: str) -> float:
    """The held-out accuracy ``fgir train`` reports on its last line."""
    found = re.search(r"val accuracy ([0-9.]+)", stdout)
    if found is None:
        sys.exit(f"no val accuracy in fgir train's output:\n{stdout}")
    return float(found.group(1))


def digits(args: argparse.Namespace, folder: Path) -> None:
    print(f"1. digits at {args.input}: ResNet-20 dense ({args.epochs} epochs), pruned by half, fine-tuned "
          f"{args.finetune_epochs} epochs", flush=True)
    data = ["--data", "digits", "--input", args.input]
    runs = [("L1, local", [], ["--criterion", "l1"])]
    if args.slimming:
        runs.append((f"slimming (bn-sparsity {args.bn_sparsity:g}), bn_scale, global",
                     ["--bn-sparsity", str(args.bn_sparsity)], ["--criterion", "bn_scale", "--global"]))
    for n, (title, train_extra, prune_extra) in enumerate(runs):
        start = time.perf_counter()
        dense = val_accuracy(fgir_cli("train", str(R20), *data, "--epochs", str(args.epochs), *train_extra,
                                      "-o", f"dense{n}.pt", cwd=folder))
        trained = time.perf_counter() - start
        start = time.perf_counter()
        fgir_cli("prune", str(R20), "--weights", f"dense{n}.pt", "--ratio", "0.5", *prune_extra,
                 "-o", f"pruned{n}.yaml", cwd=folder)
        pruned_in = time.perf_counter() - start
        start = time.perf_counter()
        tuned = val_accuracy(fgir_cli("train", f"pruned{n}.yaml", *data, "--epochs", str(args.finetune_epochs),
                                      "--lr", str(args.finetune_lr), "--batch-size", str(args.finetune_batch),
                                      "-o", f"tuned{n}.pt", cwd=folder))
        tuning = time.perf_counter() - start
        params = fgir.compile(folder / f"pruned{n}.yaml", input=args.input).meta["params"]
        gap = (dense - tuned) * 100
        print(f"   {title}: dense {dense:.4f} ({trained:.0f} s), pruned to {params:,} of 272,474 parameters "
              f"({pruned_in:.1f} s) and fine-tuned {tuned:.4f} ({tuning:.0f} s): {abs(gap):.2f} points "
              f"{'below' if gap > 0 else 'above'} dense ({'within' if gap <= 2 else 'NOT within'} 2)", flush=True)


def selection_time(args: argparse.Namespace, folder: Path) -> None:
    graph = fgir.compile(R50)
    dense = randomize_batch_norm(fgir.to_torch(graph, seed=0), 1)
    weights = folder / "r50.pt"
    torch.save(dense.state_dict(), weights)
    try:
        import torch_pruning as tp
        from compare_torch_pruning import torch_pruning_choice
    except ImportError:
        tp = None
    ours, theirs = [], []
    fgir.prune(R50, weights, ratio=0.5)         # warm-up: imports, caches
    for _ in range(args.repeat):
        start = time.perf_counter()
        fgir.prune(R50, weights, ratio=0.5)
        ours.append(time.perf_counter() - start)
        if tp is not None:
            model = fgir.to_torch(graph)
            model.load_state_dict(dense.state_dict())
            start = time.perf_counter()
            torch_pruning_choice(tp, model.eval(), graph, tp.importance.MagnitudeImportance(p=1), False)
            theirs.append(time.perf_counter() - start)
    t_ours = statistics.median(ours)
    line = f"2. ResNet-50 channel selection (L1, ratio 0.5): fgir {t_ours * 1000:.0f} ms"
    if theirs:
        t_theirs = statistics.median(theirs)
        line += f", Torch-Pruning {t_theirs * 1000:.0f} ms: fgir {t_theirs / t_ours:.1f}x as fast"
    else:
        line += " (torch-pruning not installed: no baseline)"
    print(line + f"; medians of {args.repeat}", flush=True)


def budgets(folder: Path) -> None:
    print("3. budgets (target_macs): reached, and one channel fewer pruned", flush=True)
    for spec, targets in ((R20, (20_000_000, 10_000_000)), (R50, (2_000_000_000, 1_000_000_000))):
        dense = fgir.to_torch(spec, seed=0)
        for target in targets:
            for scope in (False, True):
                result = fgir.prune(spec, dense, target_macs=target, global_pruning=scope)
                compiled = result.compile().meta["macs"]
                print(f"   {spec.stem:<15} {'global' if scope else 'local':<6} target {target:>13,}: "
                      f"{compiled:>13,} MACs compiled (slack {target - compiled:,}); one channel fewer pruned: "
                      f"{result.one_channel_more[1]:,}", flush=True)


def speedups(args: argparse.Namespace) -> None:
    from fgir.latency import Latency, measure_interleaved

    settings = Latency(repeats=args.speed_runs)
    print(f"4. measured speed-ups at half the MACs (ONNX Runtime, batch 1, 1 thread, {args.speed_input}; medians "
          f"of {args.speed_rounds} interleaved rounds of {args.speed_runs} runs)", flush=True)
    for spec in (R50, MOBILENET_V2):
        graph = fgir.compile(spec, input=args.speed_input)
        dense = fgir.to_torch(graph, seed=0)
        results = [fgir.prune(spec, dense, target_macs=graph.meta["macs"] // 2, round_to=r, input=args.speed_input)
                   for r in ROUND_TO]
        graphs = [results[0].subject.dense] + [r.compile() for r in results]
        dense_ms, *pruned_ms = measure_interleaved(graphs, settings, args.speed_rounds)
        print(f"   {spec.stem:<13} dense {dense_ms:8.2f} ms, {results[0].dense_macs:,} MACs", flush=True)
        for r, result, ms in zip(ROUND_TO, results, pruned_ms):
            macs_ratio, speedup = result.macs / result.dense_macs, dense_ms / ms
            print(f"   {'':<13} round_to {r:>2}: {ms:8.2f} ms, MACs {macs_ratio:.3f} ({1 / macs_ratio:.2f}x fewer): "
                  f"{speedup:.2f}x faster ({(speedup - 1) / (1 / macs_ratio - 1):.0%} of the MACs reduction)",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10, help="dense training epochs (10)")
    parser.add_argument("--finetune-epochs", type=int, default=2)
    parser.add_argument("--finetune-lr", type=float, default=0.01)
    parser.add_argument("--finetune-batch", type=int, default=8, help="fine-tuning batch size (8: more steps)")
    parser.add_argument("--input", default="3x32x32")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--slimming", action="store_true")
    parser.add_argument("--bn-sparsity", type=float, default=1e-4)
    parser.add_argument("--skip-train", action="store_true", help="only the timings and budgets")
    parser.add_argument("--speed-input", default="3x224x224", help="the input of the speed-up measurements")
    parser.add_argument("--speed-rounds", type=int, default=5)
    parser.add_argument("--speed-runs", type=int, default=10, help="timed runs per round")
    parser.add_argument("--only-speed", action="store_true", help="only the measured speed-ups (part 4)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if args.only_speed:
            return speedups(args)
        if not args.skip_train:
            digits(args, folder)
        selection_time(args, folder)
        budgets(folder)
        speedups(args)


if __name__ == "__main__":
    main()

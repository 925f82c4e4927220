"""One-shot NAS on digits (issue 23's "Must show"): is the supernet's ranking right, and is it cheaper?

On examples/search/supernet_mobilenet.yaml (input 3x8x8), CPU, one thread:

1. quality: the supernet trained ``--epochs`` epochs (``fgir train --supernet``: sandwich rule, in-place
   distillation mixed with the labels; and again with pure distillation, ``--distill 1``, for comparison);
   ``--candidates`` random candidates scored with inherited weights (the ``supernet`` evaluator: BN
   recalibrated on ``--calibrate`` batches, held-out fifth) and trained standalone for the same epochs with the same recipe (``fgir train``'s, which the supernet's training uses: SGD, cosine
   schedule), on the same split, twice (seeds 0 and 1); Kendall's tau between the rankings (target
   >= 0.5) and the share within 1.0 point of standalone (target >= 90%), against seed 0 and against the
   mean of both seeds; and the noise floor, seed 0 against seed 1: what a second standalone run reaches.
2. cost: candidates scored per second, supernet evaluator against the train evaluator at ``--trial-epochs``
   (target >= 50x); the best under ``--max-macs`` found by the supernet evaluator (``--budget``
   candidates, RegularizedEvolution), extracted and fine-tuned ``--finetune`` epochs, against the best
   found by multi-trial search with the train evaluator (the same algorithm) given the same wall-clock
   time as the supernet's training + search + fine-tune, its best then trained for ``--trial-epochs`` +
   ``--finetune`` epochs (target: equal or better, within 0.5 points).

Run: python bench/bench_supernet.py            (the full run: about 10-15 min on 2 quiet cores)
     python bench/bench_supernet.py --quick    (a smoke run, about a minute: figures mean nothing)
Prints figures measured in this run, each target met or MISSED with the figure; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPACE = ROOT / "examples/search/supernet_mobilenet.yaml"
FULL = dict(epochs=10, candidates=20, calibrate=4, budget=100, finetune=2, trial_epochs=3, max_macs=400_000)
QUICK = dict(epochs=1, candidates=4, calibrate=2, budget=6, finetune=1, trial_epochs=1, max_macs=400_000)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def standalone(text: str, epochs: int, seed: int, folder: Path) -> float:
    """The candidate (frozen spec ``text``) trained alone as ``fgir train --data digits`` trains it: its
    validation accuracy (the supernet evaluator's held-out fifth)."""
    from fgir.training import train

    spec = folder / "candidate.yaml"
    spec.write_text(text)
    return train(spec, None, data="digits", epochs=epochs, seed=seed, progress=None).history[-1]["val_accuracy"]


def agreement(predicted: list[float], reference: list[float]) -> tuple[float, float]:
    """(Kendall's tau, share within 1.0 point) of ``predicted`` against ``reference`` accuracies."""
    from scipy.stats import kendalltau

    within = sum(abs(p - r) * 100 <= 1.0 for p, r in zip(predicted, reference)) / len(reference)
    return kendalltau(predicted, reference).statistic, within


def quality(a: argparse.Namespace, checkpoint: Path, folder: Path, pure: Path) -> dict:
    """``pure``: the supernet trained with BigNAS's pure distillation (``--distill 1``), scored alike."""
    import fgir
    from fgir.search.space import Space
    from fgir.supernet.evaluator import SupernetEvaluator

    space, rng = Space.from_spec(SPACE), random.Random(0)
    inherit = SupernetEvaluator(str(checkpoint), batches=a.calibrate)
    inherit_pure = SupernetEvaluator(str(pure), batches=a.calibrate)
    rows, pure_rows = [], []
    for i in range(a.candidates):
        text = space.freeze(space.sample(rng))
        shared, t_shared = timed(inherit, fgir.compile(text))
        pure_rows.append(inherit_pure(fgir.compile(text))["accuracy"])
        trained, t_trained = timed(standalone, text, a.epochs, 0, folder)
        again = standalone(text, a.epochs, 1, folder)
        rows.append((shared["accuracy"], trained, t_shared, t_trained, again))
        print(f"  candidate {i:2d}: inherited {shared['accuracy']:.4f}  standalone {trained:.4f} "
              f"(seed 1: {again:.4f})  ({t_shared:.2f} s / {t_trained:.1f} s)", flush=True)
    inherited, seed0, seed1 = ([r[k] for r in rows] for k in (0, 1, 4))
    tau, within = agreement(inherited, seed0)
    print(f"quality: Kendall's tau {tau:.3f} (target >= 0.5: {verdict(tau >= 0.5)}); within 1.0 point of "
          f"standalone {within:.0%} (target >= 90%: {verdict(within >= 0.9)}); mean inherited "
          f"{statistics.mean(inherited):.4f}, standalone {statistics.mean(seed0):.4f}")
    mean = [(x + y) / 2 for x, y in zip(seed0, seed1)]
    tau_mean, within_mean = agreement(inherited, mean)
    print(f"  against the mean of the two standalone seeds (a steadier reference): tau {tau_mean:.3f}, within "
          f"1.0 point {within_mean:.0%}")
    pure_tau, pure_within = agreement(pure_rows, seed0)
    print(f"  trained with pure distillation (--distill 1): tau {pure_tau:.3f}, within 1.0 point {pure_within:.0%}, "
          f"mean inherited {statistics.mean(pure_rows):.4f}")
    floor_tau, floor_within = agreement(seed1, seed0)
    print(f"noise floor: standalone seed 1 against seed 0, the same candidates, epochs and recipe: Kendall's tau "
          f"{floor_tau:.3f}, within 1.0 point {floor_within:.0%} (what a second standalone run reaches; standalone "
          f"accuracies span {min(seed0):.4f}-{max(seed0):.4f})")
    return {"inherit_s": statistics.median(r[2] for r in rows),
            "train_epoch_s": statistics.median(r[3] for r in rows) / a.epochs}


def one_shot(a: argparse.Namespace, checkpoint: Path, folder: Path, train_s: float) -> tuple[float, float, float]:
    """The supernet's best under the MACs limit, extracted and fine-tuned: (accuracy, wall seconds, per cand.)"""
    import fgir.supernet  # noqa: F401  (registers the supernet evaluator)
    from fgir.data.digits import digits_tensors
    from fgir.search import run_search
    from fgir.supernet import extract
    from fgir.training import train

    result, search_s = timed(run_search, SPACE, folder / "oneshot", algorithm="RegularizedEvolution",
                             evaluator="supernet", budget=a.budget, seed=0, constraints={"max_macs": a.max_macs},
                             objectives=["accuracy:max"],
                             evaluator_options={"checkpoint": str(checkpoint), "batches": a.calibrate})
    x_train = digits_tensors(3, 8, 8)[0]
    start = time.perf_counter()
    extract(checkpoint, result.best["values"], folder / "best.pt",
            calibrate=[x_train[i:i + 128] for i in range(0, 128 * a.calibrate, 128)])
    tuned = train(folder / "best.yaml", folder / "tuned.pt", weights=folder / "best.pt", data="digits",
                  epochs=a.finetune, progress=None)
    tune_s = time.perf_counter() - start
    accuracy = tuned.history[-1]["val_accuracy"]
    print(f"one-shot: supernet trained in {train_s:.0f} s, {a.budget} candidates searched in {search_s:.0f} s, "
          f"best #{result.best['index']} ({result.best['macs']:,} MACs) inherited "
          f"{result.best['metrics']['accuracy']:.4f} -> {accuracy:.4f} after {a.finetune} epochs of fine-tune "
          f"({tune_s:.0f} s)")
    return accuracy, train_s + search_s + tune_s, search_s / a.budget


def multi_trial(a: argparse.Namespace, folder: Path, wall_s: float, train_epoch_s: float) -> tuple[float, float]:
    """The train evaluator's search given ``wall_s``: its best trained trial + fine-tune epochs; per cand."""
    import fgir
    from fgir.search import run_search
    from fgir.search.evaluators import TrainEvaluator

    budget = max(1, int(wall_s / (train_epoch_s * a.trial_epochs)))
    result, search_s = timed(run_search, SPACE, folder / "multi", algorithm="RegularizedEvolution",
                             evaluator="train", budget=budget, seed=0, constraints={"max_macs": a.max_macs},
                             objectives=["accuracy:max"], evaluator_options={"epochs": a.trial_epochs})
    best = result.best
    final = TrainEvaluator(epochs=a.trial_epochs + a.finetune)(fgir.compile((folder / "multi/best.yaml")),
                                                               seed=0)["accuracy"]
    print(f"multi-trial: {budget} candidates x {a.trial_epochs} epochs in {search_s:.0f} s (budget "
          f"{wall_s:.0f} s), best #{best['index']} ({best['macs']:,} MACs) {best['metrics']['accuracy']:.4f} "
          f"-> {final:.4f} trained {a.trial_epochs + a.finetune} epochs")
    return final, search_s / budget


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a smoke run with tiny settings")
    for key, value in FULL.items():
        p.add_argument(f"--{key.replace('_', '-')}", type=int, default=None, help=f"default {value}")
    a = p.parse_args()
    for key, value in (QUICK if a.quick else FULL).items():
        if getattr(a, key) is None:
            setattr(a, key, value)
    import torch

    torch.set_num_threads(1)
    from fgir.supernet import train_supernet

    print(f"bench_supernet on {SPACE.name}: " + ", ".join(f"{k}={getattr(a, k)}" for k in FULL), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _, train_s = timed(train_supernet, SPACE, folder / "super.pt", data="digits", epochs=a.epochs,
                           progress=None)
        train_supernet(SPACE, folder / "pure.pt", data="digits", epochs=a.epochs, progress=None, distill=1.0)
        figures = quality(a, folder / "super.pt", folder, folder / "pure.pt")
        oneshot, wall_s, per_shared = one_shot(a, folder / "super.pt", folder, train_s)
        multi, per_trial = multi_trial(a, folder, wall_s, figures["train_epoch_s"])
    gap = (oneshot - multi) * 100
    print(f"cost: one-shot {oneshot:.4f} vs multi-trial {multi:.4f} at the same wall clock ({gap:+.2f} points; "
          f"target >= -0.5: {verdict(gap >= -0.5)})")
    speedup = per_trial / per_shared
    print(f"cost: {1 / per_shared:.2f} candidates/s with the supernet evaluator, {1 / per_trial:.3f}/s with the "
          f"train evaluator at {a.trial_epochs} epochs: x{speedup:.0f} (target >= 50x: {verdict(speedup >= 50)})")
    alone_s = figures["train_epoch_s"] * a.epochs
    print(f"  against a candidate trained standalone as long as the supernet ({a.epochs} epochs, {alone_s:.1f} s): "
          f"x{alone_s / per_shared:.0f}")
    from fgir.data.digits import digits_tensors

    train_images, _, val_images, _ = (len(t) for t in digits_tensors(3, 8, 8))
    scoring = a.calibrate * 128 + val_images    # forward passes: BN recalibration, then the held-out fifth
    training = a.trial_epochs * (3 * train_images + val_images)   # a backward pass costs about two forwards
    print(f"  bound: a supernet score runs {scoring:,} images forward, a {a.trial_epochs}-epoch trial about "
          f"{training:,} forward-equivalents: x{training / scoring:.0f} is about the most this protocol gives")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

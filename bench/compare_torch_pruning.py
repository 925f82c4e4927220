"""fgir prune against Torch-Pruning on the same weights: the channels each keeps, and each one's time.

For each network (ResNet-20 and ResNet-50, 10 classes; MobileNetV2 with --extra) and each mode (L1,
local and global, ratio 0.5, the classifier kept), the same random weights (BN statistics and scales
randomized too) go to ``fgir.prune`` and to Torch-Pruning's ``MetaPruner`` with
``MagnitudeImportance(p=1)`` (``BNScaleImportance`` and ``p=2`` with --extra).  Printed: the groups whose
kept channels agree, the channels that agree, the parameters after pruning (Torch-Pruning's pruned
module, fgir's static count), and the median times of interleaved repetitions: fgir's whole call (spec
compiled, checkpoint read, channels scored and chosen) beside Torch-Pruning's selection (tracing its
dependency graph, scoring, ranking; the channels it would prune, without pruning).

Needs torch-pruning (pip install -c constraints.txt torch-pruning; the bench extra).
Run: python bench/compare_torch_pruning.py [--repeat N] [--extra]
Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import fgir  # noqa: E402
from fgir.ir.channel_groups import channel_groups  # noqa: E402
from fgir.testing.weights import randomize_batch_norm  # noqa: E402

NETWORKS = {"ResNet-20": ("resnet20_cifar.yaml", None), "ResNet-50": ("resnet50.yaml", None)}
EXTRA_NETWORKS = {"MobileNetV2": ("mobilenet_v2.yaml", "3x64x64")}


def torch_pruning_choice(tp, model, graph, importance, global_pruning: bool) -> dict[str, list[int]]:
    """The dense channels Torch-Pruning keeps in each group (named as fgir names groups)."""
    groups = channel_groups(graph)
    owner = {name: g.name for g in groups.groups for name in (*g.producers, *g.tensors)}
    width = {g.name: g.dense_width for g in groups.groups}
    output = [model.get_submodule(p) for g in groups.locked if "output" in (g.locked or "") for p in g.producers]
    x = torch.randn(1, *graph.meta["input"])
    pruner = tp.pruner.MetaPruner(model, x, importance=importance, pruning_ratio=0.5,
                                  global_pruning=global_pruning, ignored_layers=output)
    names = {module: name for name, module in model.named_modules()}
    kept = {name: list(range(w)) for name, w in width.items()}
    for group in pruner.step(interactive=True):   # every group scored before the first is yielded
        dep, idxs = group[0]
        name = owner[names[dep.target.module]]
        kept[name] = sorted(set(range(width[name])) - {int(i) for i in idxs})
    return kept


def torch_pruning_params(tp, model, graph, importance, global_pruning: bool) -> int:
    groups = channel_groups(graph)
    output = [model.get_submodule(p) for g in groups.locked if "output" in (g.locked or "") for p in g.producers]
    pruner = tp.pruner.MetaPruner(model, torch.randn(1, *graph.meta["input"]), importance=importance,
                                  pruning_ratio=0.5, global_pruning=global_pruning, ignored_layers=output)
    pruner.step()
    return sum(p.numel() for p in model.parameters())


def compare(tp, title: str, spec: Path, input: str | None, criterion: str, global_pruning: bool,
            repeat: int, folder: Path) -> None:
    graph = fgir.compile(spec, input=input)
    dense = randomize_batch_norm(fgir.to_torch(graph, seed=0), 1)
    weights = folder / f"{spec.stem}.pt"
    torch.save(dense.state_dict(), weights)
    importance = {"l1": lambda: tp.importance.MagnitudeImportance(p=1),
                  "l2": lambda: tp.importance.MagnitudeImportance(p=2),
                  "bn_scale": lambda: tp.importance.BNScaleImportance()}[criterion]

    def fresh():
        model = fgir.to_torch(graph)
        model.load_state_dict(dense.state_dict())
        return model.eval()

    ours, theirs = [], []
    result = choice = None
    for _ in range(repeat):   # interleaved, so both see the same machine
        start = time.perf_counter()
        result = fgir.prune(spec, weights, ratio=0.5, criterion=criterion, global_pruning=global_pruning,
                            input=input)
        ours.append(time.perf_counter() - start)
        model = fresh()
        start = time.perf_counter()
        choice = torch_pruning_choice(tp, model, graph, importance(), global_pruning)
        theirs.append(time.perf_counter() - start)
    tp_params = torch_pruning_params(tp, fresh(), graph, importance(), global_pruning)
    same = sum(result.kept[g] == choice[g] for g in choice)
    channels = sum(len(set(result.kept[g]) & set(choice[g])) for g in choice)
    total = sum(len(choice[g]) for g in choice)
    mode = "global" if global_pruning else "local"
    t_ours, t_theirs = statistics.median(ours), statistics.median(theirs)
    print(f"{title:<12} {criterion:<8} {mode:<6}  groups {same}/{len(choice)}  channels kept alike "
          f"{channels}/{total} ({channels / total:.1%})  params fgir {result.params:,} / Torch-Pruning "
          f"{tp_params:,}  time fgir {t_ours * 1000:.0f} ms, Torch-Pruning {t_theirs * 1000:.0f} ms "
          f"({t_theirs / t_ours:.1f}x)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--extra", action="store_true", help="also MobileNetV2, and the l2 and bn_scale criteria")
    args = parser.parse_args()
    try:
        import torch_pruning as tp
        from importlib.metadata import version
    except ImportError:
        print("needs torch-pruning: pip install -c constraints.txt torch-pruning")
        sys.exit(1)
    torch.set_num_threads(1)
    print(f"fgir {fgir.__version__} vs Torch-Pruning {version('torch-pruning')}, torch {torch.__version__}; "
          f"ratio 0.5, the classifier kept; medians of {args.repeat} interleaved runs, one thread")
    networks = {**NETWORKS, **(EXTRA_NETWORKS if args.extra else {})}
    criteria = ["l1", "l2", "bn_scale"] if args.extra else ["l1"]
    with tempfile.TemporaryDirectory() as folder:
        for title, (name, input) in networks.items():
            for criterion in criteria:
                for global_pruning in (False, True):
                    compare(tp, title, ROOT / "examples" / name, input, criterion, global_pruning, args.repeat,
                            Path(folder))


if __name__ == "__main__":
    main()

"""fgir prune against Torch-Pruning on the same weights: the channels each keeps, and each one's time.

For each network (ResNet-20 and ResNet-50, 10 classes; MobileNetV2 with --extra) and each mode (L1,
local and global, ratio 0.5, the classifier kept), the same random weights (BN statistics and scales
randomized too) go to ``fgir.prune`` and to Torch-Pruning's ``MetaPruner`` with
``MagnitudeImportance(p=1)`` (``BNScaleImportance`` and ``p=2`` with --extra).  Printed: the groups whose
kept channels agree, the channels that agree, the parameters after pruning (Torch-Pruning's pruned
module, fgir's static count), and the median times of interleaved repetitions: fgir's whole call (spec
compiled, checkpoint read, channels scored and chosen) beside Torch-Pruning's selection (tracing its
dependency graph, scoring, ranking; the channels it would prune, without pruning).

Then the issue-22 families (--families, on by default), on torchvision's layouts restated in
tests/reference_convnext.py and tests/reference_vit.py loaded with fgir's weights: ConvNeXt-Tiny's
inverted-bottleneck channels (L1, local, ratio 0.5; Torch-Pruning told to leave the stage widths, which
fgir locks through LayerNorm, by ignoring every layer but each block's first Linear) and ViT-B/16's
attention heads (L1, half of each layer's heads; Torch-Pruning's head pruning, ``prune_num_heads``, on
the same attention with its q, k and v projections as three Linears, as it needs them).  For the heads:
the heads fgir.prune keeps, and those the attention's own L1 head scores
(``fgir.ir.ops.attention.HEADS.scores``) keep.

Needs torch-pruning (pip install -c constraints.txt torch-pruning; the bench extra).
Run: python bench/compare_torch_pruning.py [--repeat N] [--extra] [--families | --no-families]
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

sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

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


class SplitAttention(nn.Module):
    """``nn.MultiheadAttention``'s self-attention with q, k, v and the output projection as four Linears (what
    Torch-Pruning's head pruning follows), computing the same."""

    def __init__(self, mha: nn.MultiheadAttention) -> None:
        super().__init__()
        e, self.num_heads = mha.embed_dim, mha.num_heads
        self.q, self.k, self.v = (nn.Linear(e, e) for _ in range(3))
        with torch.no_grad():
            for i, layer in enumerate((self.q, self.k, self.v)):
                layer.weight.copy_(mha.in_proj_weight[i * e:(i + 1) * e])
                layer.bias.copy_(mha.in_proj_bias[i * e:(i + 1) * e])
        self.proj = mha.out_proj

    def forward(self, x, *_, need_weights=False):
        n, length, _ = x.shape
        q, k, v = (layer(x).reshape(n, length, self.num_heads, -1).transpose(1, 2)
                   for layer in (self.q, self.k, self.v))
        scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, length, -1)
        return self.proj(out), None


def dense_and_fgir_choice(name: str, folder: Path):
    """The example's fresh dense state_dict, and fgir.prune's L1 choice at ratio 0.5 from it."""
    graph = fgir.compile(ROOT / "examples" / name)
    dense = fgir.to_torch(graph, seed=0).state_dict()
    torch.save(dense, folder / "dense.pt")
    return graph, dense, fgir.prune(ROOT / "examples" / name, folder / "dense.pt", ratio=0.5)


def l1_pruner(tp, model, **options):
    return tp.pruner.MetaPruner(model, torch.randn(1, 3, 224, 224),
                                importance=tp.importance.MagnitudeImportance(p=1), pruning_ratio=0.5, **options)


def compare_convnext(tp, folder: Path) -> None:
    """ConvNeXt-Tiny's inverted-bottleneck channels (Torch-Pruning leaves every other layer's width)."""
    import reference_convnext

    _, dense, ours = dense_and_fgir_choice("convnext_tiny.yaml", folder)
    model = reference_convnext.convnext_tiny().eval()
    model.load_state_dict(dense)
    ignored = [m for name, m in model.named_modules()
               if isinstance(m, (nn.Conv2d, nn.Linear)) and name not in ours.masks]
    scales = [(m.layer_scale, 0) for m in model.modules() if isinstance(m, reference_convnext.CNBlock)]
    pruner = l1_pruner(tp, model, ignored_layers=ignored, unwrapped_parameters=scales)
    names = {module: name for name, module in model.named_modules()}
    theirs = {}
    for group in pruner.step(interactive=True):
        dep, idxs = group[0]
        theirs[names[dep.target.module]] = sorted(set(range(dep.target.module.out_features)) - {int(i) for i in idxs})
    same = sum(ours.kept.get(g) == theirs[g] for g in theirs)
    print(f"{'ConvNeXt-T':<12} l1       local   block groups {same}/{len(theirs)} kept alike (of fgir's "
          f"{len(ours.masks)} groups)", flush=True)


def compare_vit_heads(tp, folder: Path) -> None:
    """ViT-B/16's heads, half of each layer's (Torch-Pruning's head pruning; every layer's width left)."""
    import reference_vit
    from fgir.ir.ops.attention import HEADS
    from fgir.ir.pruning import kept_count
    from fgir.prune.select import most_important

    graph, dense, ours = dense_and_fgir_choice("vit_b_16.yaml", folder)
    model = reference_vit.vit("b_16").eval()
    model.load_state_dict(dense)
    blocks = {name: block for name, block in model.named_modules() if isinstance(block, reference_vit.EncoderBlock)}
    for block in blocks.values():
        block.self_attention = SplitAttention(block.self_attention)
    qkv = {layer: block.self_attention.num_heads for block in blocks.values()
           for layer in (block.self_attention.q, block.self_attention.k, block.self_attention.v)}
    others = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m not in qkv]
    pruner = l1_pruner(tp, model, num_heads=dict(qkv), prune_num_heads=True, prune_head_dims=False,
                       head_pruning_ratio=0.5, ignored_layers=others)
    owner = {block.self_attention.q: f"{name}.self_attention" for name, block in blocks.items()}
    theirs = {}
    for group in pruner.step(interactive=True):
        for dep, idxs in group:
            if dep.target.module in owner and pruner.DG.is_out_channel_pruning_fn(dep.handler):
                head_dim = dep.target.module.out_features // qkv[dep.target.module]
                removed = {int(i) // head_dim for i in idxs}
                theirs[owner[dep.target.module]] = sorted(set(range(qkv[dep.target.module])) - removed)
    node = {n.name: n for n in graph}
    by_rule = {}
    for name in theirs:
        scores = HEADS.scores(node[name], lambda w: dense[f"{name}.{w.name}"].abs().numpy())
        by_rule[name] = sorted(most_important(scores, list(range(len(scores))), kept_count(len(scores), 0.5)))
    same = sum(ours.kept.get(g) == theirs[g] for g in theirs)
    rule = sum(by_rule[g] == theirs[g] for g in theirs)
    print(f"{'ViT-B/16':<12} l1       local   head groups {same}/{len(theirs)} kept alike by fgir.prune, "
          f"{rule}/{len(theirs)} by the attention's L1 head scores", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--extra", action="store_true", help="also MobileNetV2, and the l2 and bn_scale criteria")
    parser.add_argument("--families", action=argparse.BooleanOptionalAction, default=True,
                        help="ConvNeXt-Tiny's block channels and ViT-B/16's heads (default: on)")
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
        if args.families:
            compare_convnext(tp, Path(folder))
            compare_vit_heads(tp, Path(folder))


if __name__ == "__main__":
    main()

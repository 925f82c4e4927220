"""``fgir.prune``: choose the channels to prune from trained weights, by ratio or to a budget.

Example:
    >>> import fgir, torch
    >>> dense = fgir.to_torch("examples/resnet20_cifar.yaml", seed=0)
    >>> result = fgir.prune("examples/resnet20_cifar.yaml", dense, ratio=0.5, criterion="l1")
    >>> result.params, result.dense_params, result.widths["layer3.0.conv2"]
    (68786, 272474, (32, 64))
    >>> [str(p) for p in result.write("pruned.yaml", weights_out="pruned.pt")]
    ['pruned.yaml', 'pruned.init.pt', 'pruned.pt']
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from typing import TYPE_CHECKING

from fgir.atomic import write_atomic
from fgir.diagnostics import did_you_mean
from fgir.ir.graph import Graph
from fgir.ir.pruning import CRITERIA, ratio_problem
from fgir.weights_files import spec_relative

if TYPE_CHECKING:   # the rest is imported when pruning runs: `import fgir` stays light (no NumPy)
    from fgir.prune.subject import Subject
    from fgir.prune.weights import Weights

Kept = dict[str, list[int]]
INIT_SUFFIX = ".init.pt"   # the dense layout of weights that were not in it, written beside the spec


class PruneOptionError(ValueError):
    """A bad option (a ratio outside [0, 1), an unknown criterion or group, a target out of reach);
    ``option`` names it as the keyword argument, ``hint`` may say more."""

    def __init__(self, option: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{option}: {message}" + (f" ({hint})" if hint else ""))
        self.option, self.message, self.hint = option, message, hint


@dataclass
class PruneResult:
    """The channels chosen, what they cost, and the spec (and checkpoints) that say so."""

    subject: "Subject"
    kept: Kept                   # group → the dense channels it keeps
    weights: "Weights"
    params: int
    macs: int
    description: str             # how they were chosen, for the spec's header
    # with a budget: (params, MACs) had one channel fewer gone, over the target (None: nothing had to go)
    one_channel_more: tuple[int, int] | None = None
    speed: Any = None            # a fgir.prune.speed.SpeedCheck, once verify_speed() measured it

    def verify_speed(self, **options: Any) -> Any:
        """Measure the dense and the pruned model here (:func:`fgir.prune.speed.verify_speed`); also ``speed``."""
        from fgir.prune.speed import verify_speed

        return verify_speed(self, **options)

    @property
    def dense_params(self) -> int:
        return self.subject.dense.meta["params"]

    @property
    def dense_macs(self) -> int:
        return self.subject.dense.meta["macs"]

    @property
    def masks(self) -> dict[str, list[int]]:
        """0/1 masks (dense length) of the groups that lose channels: the Prune process's ``masks``."""
        from fgir.prune.output import masks_of

        return masks_of(self.subject, self.kept)

    @property
    def widths(self) -> dict[str, tuple[int, int]]:
        """Every prunable group's (kept, dense) width."""
        return {g.name: (len(self.kept[g.name]), g.dense_width) for g in self.subject.groups.groups}

    def spec_text(self, init_model_file: str | None = None, folder: str | Path | None = None) -> str:
        """The pruned spec: the dense network with a Prune process of these masks (its relative paths
        rewritten for ``folder``, where it is to be written)."""
        from fgir.prune.output import pruned_text

        return pruned_text(self.subject, self.kept, init_model_file, folder=folder, comments=[
            f"pruned by fgir from {self.subject.file}: {self.description}",
            f"{self.params:,} of {self.dense_params:,} parameters ({self.params / self.dense_params:.3f}), "
            f"{self.macs:,} of {self.dense_macs:,} MACs ({self.macs / self.dense_macs:.3f})"])

    def compile(self, path: str | Path | None = None, init_model_file: str | None = None) -> Graph:
        """The pruned spec compiled (as if written at ``path``, which relative files are read against)."""
        from fgir.api import compile, loads

        text = self.spec_text(init_model_file, Path(path).parent if path is not None else None)
        return compile(loads(text, str(path) if path is not None else "<pruned>"),
                       input="x".join(map(str, self.subject.dense.meta["input"])))

    def write(self, path: str | Path, weights_out: str | Path | None = None) -> list[Path]:
        """Write the pruned spec to ``path`` (its ``init_model_file`` the weights' file, relative to it,
        or, for weights given otherwise or not in the dense layout, ``<stem>.init.pt`` written beside
        it) and, with ``weights_out``, the pruned model's fgir checkpoint.  Returns the files written."""
        from fgir.prune.weights import save_arrays

        path = Path(path)
        written = [path]
        if self.weights.path is not None:
            init = os.path.relpath(self.weights.path.resolve(), path.parent.resolve())
        else:
            init_path = path.with_name(path.stem + INIT_SUFFIX)
            save_arrays(self.weights.arrays, init_path)
            init = init_path.name
            written.append(init_path)
        text = self.spec_text(init, path.parent)
        write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        if weights_out is not None:
            from fgir.api import save_model, to_torch

            save_model(to_torch(self.compile(path, init)), Path(weights_out))
            written.append(Path(weights_out))
        return written


def _check_options(ratio: float | None, criterion: str, max_ratio: float, round_to: int | None,
                   target_macs: int | None, target_params: int | None) -> None:
    if criterion not in CRITERIA:
        raise PruneOptionError("criterion", f"unknown criterion '{criterion}'",
                               did_you_mean(criterion, CRITERIA) or f"the criteria are {', '.join(CRITERIA)}")
    if ratio is not None and ratio_problem(ratio):
        raise PruneOptionError("ratio", ratio_problem(ratio))
    if max_ratio != 1.0 and ratio_problem(max_ratio):
        raise PruneOptionError("max_ratio", ratio_problem(max_ratio))
    if round_to is not None and (isinstance(round_to, bool) or not isinstance(round_to, int) or round_to < 1):
        raise PruneOptionError("round_to", f"a number of channels of 1 or more, got {round_to!r}")
    targets = [(name, value) for name, value in (("target_macs", target_macs), ("target_params", target_params))
               if value is not None]
    if len(targets) > 1 or (targets and ratio is not None):
        raise PruneOptionError(targets[-1][0], "give a ratio or one target, not both")
    for name, value in targets:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PruneOptionError(name, f"a target is a whole number of 1 or more, got {value!r}")


def _groups_to_prune(subject: "Subject", keep: Iterable[str]) -> list[str]:
    every = subject.groups.any_by_name()
    for name in keep:
        if name not in every:
            raise PruneOptionError("keep", f"no channel group '{name}'", did_you_mean(name, every)
                                   or "the groups are listed by 'fgir summary --groups'")
    kept_whole = set(keep)
    return [g.name for g in subject.groups.groups if g.name not in kept_whole]


def prune(spec: str | Path, weights: Any = None, *, ratio: float | None = None, criterion: str | None = None,
          global_pruning: bool = False, max_ratio: float = 1.0, round_to: int | None = None,
          keep: Iterable[str] = (), target_macs: int | None = None, target_params: int | None = None,
          input: str | None = None, seed: int = 0, file: str | None = None) -> PruneResult:
    """Choose the channels to prune from ``weights`` (a checkpoint path, a state_dict or a module;
    default: the spec's Prune ``init_model_file``).

    ``ratio``: the fraction of each group's channels removed (of its kept ones, for a spec pruned
    before), rounded as Torch-Pruning rounds; with ``global_pruning`` the fraction of all channels,
    ranked across groups by mean-normalized score, no group losing more than ``max_ratio``.  Or a
    budget, ``target_macs`` / ``target_params``: the fewest channels removed (least important first,
    group by group, or across groups with ``global_pruning``) that fit it.  Without either, the
    spec's own Prune ``ratios``.  ``criterion``: l1 (default), l2, bn_scale, random (seeded by
    ``seed``).  ``round_to``: kept widths are multiples of it.  ``keep``: groups left whole (the
    network's output, and groups a grouped convolution locks, always are); a grouped convolution as wide
    as its input is pruned by whole conv groups.  ``file``: read ``spec``
    as spec text of this file.
    """
    from fgir.arguments import names as check_names
    from fgir.prune.budget import BudgetError, CostModel, fit
    from fgir.prune.importance import importance, normalized
    from fgir.prune.select import (by_global_ratio, by_ratio, caps, global_order, local_order, most_important,
                                   steps, unit_scores)
    from fgir.prune.subject import load_subject
    from fgir.prune.weights import read_weights

    keep = check_names(keep, "fgir.prune", "keep")   # a wrong type is an ArgumentError, not a TypeError later
    subject = load_subject(spec, input=input, file=file)
    spec_ratios = subject.prune_args.get("ratios") or {}
    if ratio is None and target_macs is None and target_params is None and not spec_ratios:
        raise PruneOptionError("ratio", "say how much to prune: a ratio, a MACs target or a params target")
    use_spec = ratio is None and target_macs is None and target_params is None
    criterion = criterion or (subject.prune_args.get("criterion") if use_spec else None) or "l1"
    if use_spec and round_to is None:
        round_to = subject.prune_args.get("round_to")
    _check_options(ratio, criterion, max_ratio, round_to, target_macs, target_params)
    names = _groups_to_prune(subject, keep)
    if use_spec:
        names = [n for n in names if n in spec_ratios]
    found = read_weights(weights if weights is not None else _spec_weights(subject), subject)
    units = {g.name: g.unit for g in subject.groups.groups}   # a grouped conv's groups go whole
    scores = unit_scores(importance(subject, found.scored, criterion, seed, scored=set(names)), units)
    kept, multiple = subject.kept, steps(round_to, units)
    model = CostModel(subject.dense, subject.groups)
    scope = "global" if global_pruning else "local"
    above = None
    if use_spec:
        chosen = by_ratio(scores, kept, {n: spec_ratios[n] for n in names}, multiple)
        how = f"criterion {criterion}, the spec's ratios"
    elif ratio is not None and global_pruning:
        chosen = by_global_ratio(normalized(scores, kept), kept, ratio, max_ratio, multiple, names)
        how = f"criterion {criterion}, ratio {ratio:g} (global, max_ratio {max_ratio:g})"
    elif ratio is not None:
        chosen = by_ratio(scores, kept, {n: min(ratio, max_ratio) for n in names}, multiple)
        how = f"criterion {criterion}, ratio {ratio:g} (local)"
    else:
        metric, option, target = (("macs", "target_macs", target_macs) if target_macs is not None
                                  else ("params", "target_params", target_params))
        norm = normalized(scores, kept)
        order = global_order(norm, names) if global_pruning else local_order(norm, names)
        try:
            widths, before = fit(order, kept, caps(kept, names, max_ratio), multiple, model.cost, metric, target)
        except BudgetError as exc:
            raise PruneOptionError(option, str(exc)) from None
        above = model.cost(before) if before is not None else None
        chosen = {n: most_important(scores[n], kept[n], widths[n]) for n in kept}
        how = f"criterion {criterion}, {metric} within {target:,} ({scope})"
    if round_to and not use_spec:
        how += f", round_to {round_to}"
    if set(keep):
        how += f", kept whole: {', '.join(sorted(set(keep)))}"
    params, macs = model.cost({n: len(c) for n, c in chosen.items()})
    return PruneResult(subject, chosen, found, params, macs, how,
                       above if target_macs is not None or target_params is not None else None)


def _spec_weights(subject: "Subject") -> Path:
    init = subject.prune_args.get("init_model_file")
    if not init:
        raise PruneOptionError("weights", "give the trained weights to score the channels by (the spec's "
                                          "Prune process names no init_model_file)")
    return spec_relative(subject.file, init)


def choose_channels(graph: Graph, dense: Any = None) -> Graph:
    """A compiled graph whose Prune process gives ``ratios``, recompiled with the channels its criterion
    chooses from its ``init_model_file`` (what loading its weights needs; :func:`fgir.to_torch` calls it;
    ``dense``: that file's state_dict, when the caller has read it already)."""
    from fgir.backends.torch.prune import read_init_model

    info, spec = graph.meta["prune"], graph.meta["spec"]
    state = dense if dense is not None else read_init_model(graph)
    result = prune(spec["text"], state, input="x".join(map(str, graph.meta["input"])), file=spec["file"])
    return result.compile(spec["file"], info["init_model_file"])


__all__ = ["PruneOptionError", "PruneResult", "choose_channels", "prune"]

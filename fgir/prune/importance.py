"""Importance criteria: a score for every dense channel of every prunable channel group.

A group's channel is scored over every weight slice it owns, as Torch-Pruning's
``MagnitudeImportance`` does: each producer's output slice (a conv filter, a
Linear row), each consumer's input slice (at the group's offset of its input
channels; after a flatten, all of the channel's positions) and each batch
norm's scale; an attention head, over its q, k and v rows and its out-projection
columns (its channel rule's ``scores``); a grouped convolution pruned by whole
conv groups, over each output channel's filter.  Depthwise convolutions pass a group through and count for
nothing, as in Torch-Pruning.  Criteria:

* ``l1``, ``l2``: the sum of ``|w|`` (of ``w²``) over those slices;
* ``bn_scale``: ``|γ|`` of the group's batch norms alone (network slimming); a
  group with none is an error;
* ``random``: a random ranking (seeded).

Scores rank channels within a group; :func:`normalized` divides them by their
mean over the channels still kept, so that groups can be ranked together
(global pruning, Torch-Pruning's ``normalizer="mean"``).

Example:
    >>> import numpy as np
    >>> from fgir.prune.subject import load_subject
    >>> subject = load_subject("examples/resnet20_cifar.yaml")
    >>> rng = np.random.default_rng(0)
    >>> from fgir.prune.weights import expected_shapes
    >>> state = {k: rng.standard_normal(s) for k, s in expected_shapes(subject.dense, dense=False).items()}
    >>> scores = importance(subject, state, "l1")
    >>> len(scores), scores["layer1.0.conv1"].shape
    (12, (16,))
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from fgir.diagnostics import Diagnostic, FgirError
from fgir.ir.ops import OPS, Trait, weight_key
from fgir.ir.ops.channel_rules import GROUPED, PASS, PRODUCE
from fgir.ir.pruning import CRITERIA

Scores = dict[str, np.ndarray]


def _segments(layout: list[tuple[str, int]], vector: np.ndarray, add: Callable[[str, np.ndarray], None]) -> None:
    """Hand each group its part of a per-channel vector laid out as ``layout``."""
    offset = 0
    for group, width in layout:
        add(group, vector[offset:offset + width])
        offset += width


def _per_channel(values: np.ndarray, axis: int, channels: int) -> np.ndarray:
    """``values`` summed over every axis but ``axis``, then over each channel's positions along it."""
    other = tuple(a for a in range(values.ndim) if a != axis)
    summed = values.sum(axis=other) if other else values
    return summed.reshape(channels, -1).sum(axis=1)


def importance(subject, state: dict[str, np.ndarray], criterion: str, seed: int = 0,
               scored: set[str] | None = None) -> Scores:
    """Scores (dense length) of every prunable group of ``subject`` by ``criterion``, from ``state``.

    ``scored``: the groups that are to be pruned (default: all); bn_scale needs batch norms in those.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion '{criterion}'; the criteria are {', '.join(CRITERIA)}")
    groups = subject.groups.groups
    if criterion == "random":
        rng = np.random.default_rng(seed)
        return {g.name: rng.permutation(g.dense_width).astype(np.float64) + 1.0 for g in groups}
    scores: Scores = {g.name: np.zeros(g.dense_width) for g in groups}
    counted: dict[str, int] = {g.name: 0 for g in groups}
    power = 2 if criterion == "l2" else 1

    def add(group: str, part: np.ndarray) -> None:
        if group in scores:
            scores[group] += part
            counted[group] += 1

    def magnitude(node, weight) -> np.ndarray:
        return np.abs(np.asarray(state[weight_key(node.name, weight)], dtype=np.float64)) ** power

    layout = subject.groups.layout
    for node in subject.dense:
        schema = OPS[node.op]
        rule = schema.channel_rule(node.attrs)
        if rule.inner:   # attention's heads: a group of the op's own, scored by the slices each head owns
            if criterion != "bn_scale":
                add(node.name, rule.scores(node, lambda weight: magnitude(node, weight)))
            continue
        weights = schema.weights(node.attrs)
        primary = weights[0] if weights and not (weights[0].buffer or weights[0].aux) else None
        if primary is None or rule not in (PRODUCE, PASS, GROUPED):
            continue
        if criterion == "bn_scale" and not schema.has(Trait.FOLDS_INTO_CONV):
            continue
        values = magnitude(node, primary)
        per_channel = _per_channel(values, primary.out_axis, values.shape[primary.out_axis])
        _segments(layout[node.name], per_channel, add)
        if rule is not PRODUCE:   # a batch norm's scale (a layer scale's), a grouped conv's filters: by channel
            continue
        source = layout[node.inputs[0].name]
        channels = sum(width for _, width in source)
        if primary.in_axis is not None and channels:
            _segments(source, _per_channel(values, primary.in_axis, channels), add)
    if criterion == "bn_scale":
        _require_batch_norms(subject, counted, scored)
    return scores


def _require_batch_norms(subject, counted: dict[str, int], scored: set[str] | None) -> None:
    for group in subject.groups.groups:
        if counted[group.name] == 0 and (scored is None or group.name in scored):
            raise FgirError(Diagnostic.at(subject.origin(group.producers[0]), (
                f"criterion bn_scale scores a channel group by its batch norms' scales, but group "
                f"'{group.name}' has no batch norm"),
                hint=f"choose l1 or l2, or keep the group whole (--keep {group.name})"))


def normalized(scores: Scores, kept: dict[str, list[int]]) -> Scores:
    """Each group's scores over its kept channels, divided by their mean (zero scores stay zero)."""
    out: Scores = {}
    for name, values in scores.items():
        part = values[kept[name]]
        mean = part.mean() if len(part) else 0.0
        out[name] = part / mean if mean > 0 else part
    return out


__all__ = ["Scores", "importance", "normalized"]

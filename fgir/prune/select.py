"""Choosing channels by ratio: per group (local), or ranked across groups (global), as Torch-Pruning does.

*Local*: each group keeps :func:`~fgir.ir.pruning.kept_count` of its kept
channels, its most important ones.  *Global*: the network's kept channels are
ranked together by normalized score, and the least important
``total - int(total * (1 - ratio))`` go, no group losing more than
``max_ratio`` of its channels (nor its last one); then each group's count is
rounded down to a multiple of ``round_to`` (up, where down would cross ``max_ratio``), its most
important channels kept.

A group a grouped convolution ties (``unit`` > 1: fgir.ir.channel_groups) keeps or
drops each conv group's channels as one: :func:`unit_scores` gives them one
score, and its counts are multiples of the unit (``round_to`` may name a
multiple per group: :func:`steps`).

Example:
    >>> import numpy as np
    >>> scores = {"a": np.array([4.0, 1.0, 3.0, 2.0]), "b": np.array([1.0, 9.0])}
    >>> kept = {"a": [0, 1, 2, 3], "b": [0, 1]}
    >>> by_ratio(scores, kept, {"a": 0.5, "b": 0.5})
    {'a': [0, 2], 'b': [1]}
    >>> by_global_ratio({"a": scores["a"], "b": np.array([0.1, 0.2])}, kept, 0.5)   # b's last one stays
    {'a': [0, 2], 'b': [1]}
    >>> wide = {"c": np.arange(8.0)}     # at most a quarter may go; rounding to 4 keeps 8, not 4
    >>> by_global_ratio(wide, {"c": list(range(8))}, 0.5, max_ratio=0.25, round_to=4)["c"]
    [0, 1, 2, 3, 4, 5, 6, 7]
"""

from __future__ import annotations

import numpy as np

from fgir.ir.pruning import kept_count, round_kept, unit_step

Kept = dict[str, list[int]]
RoundTo = int | dict[str, int | None] | None   # one multiple for every group's kept width, or one a group


def step(round_to: RoundTo, name: str) -> int | None:
    """The multiple group ``name``'s kept width must be of."""
    return round_to.get(name) if isinstance(round_to, dict) else round_to


def steps(round_to: int | None, units: dict[str, int]) -> dict[str, int | None]:
    """Each group's multiple: of ``round_to`` and of its unit.

    >>> steps(None, {"a": 1, "b": 4}), steps(8, {"a": 1, "b": 4})
    ({'a': None, 'b': 4}, {'a': 8, 'b': 8})
    """
    return {name: unit_step(round_to, unit) for name, unit in units.items()}


def unit_scores(scores: dict[str, np.ndarray], units: dict[str, int]) -> dict[str, np.ndarray]:
    """Each channel scored as its unit (a run of ``units[g]`` channels pruned together): their sum.

    >>> unit_scores({"a": np.array([1.0, 2.0, 5.0, 0.0])}, {"a": 2})["a"].tolist()
    [3.0, 3.0, 5.0, 5.0]
    """
    out = dict(scores)
    for name, unit in units.items():
        if unit > 1:
            out[name] = np.repeat(scores[name].reshape(-1, unit).sum(axis=1), unit)
    return out


def most_important(scores: np.ndarray, candidates: list[int], count: int) -> list[int]:
    """The ``count`` highest-scoring of ``candidates`` (dense channel indices), in channel order."""
    order = np.argsort(scores[candidates], kind="stable")   # ascending: the least important first
    dropped = {candidates[i] for i in order[:len(candidates) - count]}
    return [c for c in candidates if c not in dropped]


def by_ratio(scores: dict[str, np.ndarray], kept: Kept, ratios: dict[str, float],
             round_to: RoundTo = None) -> Kept:
    """Each group of ``ratios`` keeps ``kept_count`` of its kept channels, the most important."""
    out = {name: list(channels) for name, channels in kept.items()}
    for name, ratio in ratios.items():
        out[name] = most_important(scores[name], kept[name], kept_count(len(kept[name]), ratio, step(round_to, name)))
    return out


def by_global_ratio(normalized: dict[str, np.ndarray], kept: Kept, ratio: float, max_ratio: float = 1.0,
                    round_to: RoundTo = None, groups: list[str] | None = None) -> Kept:
    """``ratio`` of all the kept channels of ``groups`` (default: all) go, ranked by normalized score.

    ``normalized[g]`` scores ``kept[g]``'s channels in order (:func:`fgir.prune.importance.normalized`).
    """
    names = list(groups if groups is not None else normalized)
    total = sum(len(kept[n]) for n in names)
    to_remove = total - int(total * (1 - ratio))
    limits = caps(kept, names, max_ratio)
    removed = remove_in_order(global_order(normalized, names), kept, to_remove, limits)
    out = {name: list(channels) for name, channels in kept.items()}
    for name in names:
        width, multiple = len(kept[name]), step(round_to, name)
        count = round_kept(width - removed[name], width, multiple)
        if multiple and count < width - limits[name]:   # rounding down must not cross max_ratio: round up
            count = min(width, -(-(width - limits[name]) // multiple) * multiple)
        out[name] = most_important(normalized[name], list(range(len(kept[name]))), count)
        out[name] = [kept[name][i] for i in out[name]]
    return out


def caps(kept: Kept, names: list[str], max_ratio: float) -> dict[str, int]:
    """How many channels each group may lose: ``max_ratio`` of them, and never its last one."""
    return {n: len(kept[n]) - kept_count(len(kept[n]), max_ratio) for n in names}


def global_order(normalized: dict[str, np.ndarray], names: list[str]) -> list[str]:
    """The groups' channels from the least to the most important by normalized score, as group names
    (a group's k-th appearance is its k-th least important channel); ties go in group order."""
    owner = np.concatenate([np.full(len(normalized[n]), i) for i, n in enumerate(names)]) if names else \
        np.zeros(0, dtype=int)
    values = np.concatenate([normalized[n] for n in names]) if names else np.zeros(0)
    return [names[i] for i in owner[np.argsort(values, kind="stable")]]


def local_order(normalized: dict[str, np.ndarray], names: list[str]) -> list[str]:
    """The groups' channels in the order that prunes every group by the same fraction as it goes: a
    group's k-th least important channel of n comes at (k + 1) / n (ties in group order)."""
    keys = [((k + 1) / len(normalized[n]), i) for i, n in enumerate(names) for k in range(len(normalized[n]))]
    return [names[i] for _, i in sorted(keys)]


def remove_in_order(order: list[str], kept: Kept, count: int, limit: dict[str, int]) -> dict[str, int]:
    """How many channels each group loses when the first ``count`` channels of ``order`` go, a group
    at its limit passing its turn on."""
    removed = {name: 0 for name in kept}
    done = 0
    for name in order:
        if done >= count:
            break
        if removed[name] < limit.get(name, 0):
            removed[name] += 1
            done += 1
    return removed


__all__ = ["Kept", "RoundTo", "by_global_ratio", "by_ratio", "caps", "global_order", "local_order", "most_important",
           "remove_in_order", "step", "steps", "unit_scores"]

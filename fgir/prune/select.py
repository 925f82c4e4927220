"""Choosing channels by ratio: per group (local), or ranked across groups (global), as Torch-Pruning does.

*Local*: each group keeps :func:`~fgir.ir.pruning.kept_count` of its kept
channels, its most important ones.  *Global*: the network's kept channels are
ranked together by normalized score, and the least important
``total - int(total * (1 - ratio))`` go, no group losing more than
``max_ratio`` of its channels (nor its last one); then each group's count is
rounded down to a multiple of ``round_to``, its most important channels kept.

Example:
    >>> import numpy as np
    >>> scores = {"a": np.array([4.0, 1.0, 3.0, 2.0]), "b": np.array([1.0, 9.0])}
    >>> kept = {"a": [0, 1, 2, 3], "b": [0, 1]}
    >>> by_ratio(scores, kept, {"a": 0.5, "b": 0.5})
    {'a': [0, 2], 'b': [1]}
    >>> by_global_ratio({"a": scores["a"], "b": np.array([0.1, 0.2])}, kept, 0.5)   # b's last one stays
    {'a': [0, 2], 'b': [1]}
"""

from __future__ import annotations

import numpy as np

from fgir.ir.pruning import kept_count, round_kept

Kept = dict[str, list[int]]


def most_important(scores: np.ndarray, candidates: list[int], count: int) -> list[int]:
    """The ``count`` highest-scoring of ``candidates`` (dense channel indices), in channel order."""
    order = np.argsort(scores[candidates], kind="stable")   # ascending: the least important first
    dropped = {candidates[i] for i in order[:len(candidates) - count]}
    return [c for c in candidates if c not in dropped]


def by_ratio(scores: dict[str, np.ndarray], kept: Kept, ratios: dict[str, float],
             round_to: int | None = None) -> Kept:
    """Each group of ``ratios`` keeps ``kept_count`` of its kept channels, the most important."""
    out = {name: list(channels) for name, channels in kept.items()}
    for name, ratio in ratios.items():
        out[name] = most_important(scores[name], kept[name], kept_count(len(kept[name]), ratio, round_to))
    return out


def by_global_ratio(normalized: dict[str, np.ndarray], kept: Kept, ratio: float, max_ratio: float = 1.0,
                    round_to: int | None = None, groups: list[str] | None = None) -> Kept:
    """``ratio`` of all the kept channels of ``groups`` (default: all) go, ranked by normalized score.

    ``normalized[g]`` scores ``kept[g]``'s channels in order (:func:`fgir.prune.importance.normalized`).
    """
    names = list(groups if groups is not None else normalized)
    total = sum(len(kept[n]) for n in names)
    to_remove = total - int(total * (1 - ratio))
    removed = remove_in_order(global_order(normalized, names), kept, to_remove, caps(kept, names, max_ratio))
    out = {name: list(channels) for name, channels in kept.items()}
    for name in names:
        count = round_kept(len(kept[name]) - removed[name], len(kept[name]), round_to)
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


__all__ = ["Kept", "by_global_ratio", "by_ratio", "caps", "global_order", "local_order", "most_important",
           "remove_in_order"]

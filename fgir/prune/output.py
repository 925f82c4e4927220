"""The pruned spec: the dense network as written, with a Prune process of group masks and its checkpoint.

The spec's own Prune process (masks, rows or ratios) is replaced; without one,
a module ``prune`` is added after the others.  Masks are dense-length and name
only the groups that lose channels.

Example:
    >>> from fgir.prune.subject import load_subject
    >>> subject = load_subject("examples/resnet20_cifar.yaml")
    >>> kept = {g.name: list(range(g.dense_width)) for g in subject.groups.groups}
    >>> kept["conv1"] = list(range(8))
    >>> print(pruned_text(subject, kept, "dense.pt", ["a comment"]).strip())
    # a comment
    search_space:
      type: FineGrainedSpace
      modules: [resnet, prune]
      resnet: {type: ResNet, depth: 20, num_class: 10}
      prune:
        type: Prune
        masks:
          conv1: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        init_model_file: dense.pt
"""

from __future__ import annotations

from typing import Any

from fgir.search.frozen import copy_tree

MODULE = "prune"


def masks_of(subject: Any, kept: dict[str, list[int]]) -> dict[str, list[int]]:
    """0/1 masks (dense length) of the groups that keep fewer than all their channels."""
    out = {}
    for group in subject.groups.groups:
        channels = set(kept[group.name])
        if len(channels) < group.dense_width:
            out[group.name] = [int(c in channels) for c in range(group.dense_width)]
    return out


def pruned_space(subject: Any, kept: dict[str, list[int]], init_model_file: str | None) -> dict[str, Any]:
    space = copy_tree(subject.space)
    process: dict[str, Any] = {"type": "Prune", "masks": masks_of(subject, kept)}
    if init_model_file is not None:
        process["init_model_file"] = init_model_file
    name = subject.process
    if name is None:
        name, n = MODULE, 1
        while name in space:
            n += 1
            name = f"{MODULE}_{n}"
        space["modules"] = [*space["modules"], name]
    space[name] = process
    return space


def pruned_text(subject: Any, kept: dict[str, list[int]], init_model_file: str | None,
                comments: list[str]) -> str:
    """The pruned spec as YAML text, ``comments`` first."""
    header = "".join(f"# {line}\n" for line in comments)
    return header + subject.with_space(pruned_space(subject, kept, init_model_file))


__all__ = ["masks_of", "pruned_space", "pruned_text"]

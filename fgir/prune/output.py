"""The pruned spec: the dense network as written, with a Prune process of group masks and its checkpoint.

The spec's own Prune process (masks, rows or ratios) is replaced; without one,
a module ``prune`` is added after the others.  Masks are dense-length and name
only the groups that lose channels.  Written to another folder (``folder``), the
files the spec names relative to its own folder (``dataset: {data, val}``,
Vega's ``dataset.common.data_path``, other processes' files) are rewritten
relative to the new one, so the pruned spec trains as it is.

:class:`SpecTree` (a document as plain data: its paths relocated, its space replaced, written as
YAML), :func:`with_process` and :func:`without_module` are shared with ``fgir quantize``
(:mod:`fgir.deploy`), which writes its Quant process the same way.

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

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fgir.spec.tree import copy_tree, dump_spec, get_in, plain_tree, set_in
from fgir.weights_files import spec_relative

MODULE = "prune"
DIGITS = "digits"   # the bundled data set: a name, not a path
DATASET_PATHS = (("dataset", "data"), ("dataset", "val"), ("dataset", "common", "data_path"))


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
    return with_process(space, process, subject.process, MODULE)


def with_process(space: dict[str, Any], process: dict[str, Any], name: str | None, base: str) -> dict[str, Any]:
    """``space`` with ``process`` as its module ``name`` (replacing it), or, for ``name`` None, as a new
    module after the others, named ``base`` (``base_2`` ... where that is taken).

    >>> with_process({"modules": ["net"], "net": {}}, {"type": "Quant"}, None, "quant")["modules"]
    ['net', 'quant']
    """
    if name is None:
        name, n = base, 1
        while name in space:
            n += 1
            name = f"{base}_{n}"
        space["modules"] = [*space["modules"], name]
    space[name] = process
    return space


def without_module(space: dict[str, Any], name: str | None) -> dict[str, Any]:
    """A copy of ``space`` without its module ``name`` (a process; ``None``: an unchanged copy).

    >>> without_module({"modules": ["net", "q"], "net": {}, "q": {"type": "Quant"}}, "q")
    {'modules': ['net'], 'net': {}}
    """
    out = copy_tree(space)
    if name is not None:
        out["modules"] = [m for m in out["modules"] if m != name]
        del out[name]
    return out


def relocated(value: Any, spec_file: str, folder: str | Path) -> Any:
    """A path a spec at ``spec_file`` names, as a spec in ``folder`` names the same file; anything else
    (an absolute path, ``digits``, not a string) as it is.

    >>> relocated("data/train.npz", "specs/net.yaml", "out"), relocated("digits", "specs/net.yaml", "out")
    ('../specs/data/train.npz', 'digits')
    """
    if not isinstance(value, str) or not value or value == DIGITS or Path(value).is_absolute():
        return value
    return os.path.relpath(spec_relative(spec_file, value).resolve(), Path(folder).resolve())


@dataclass(frozen=True)
class SpecTree:
    """A spec document as plain data, to write a changed copy of: its file, its tree, and where its search
    space sits in it (``()`` for a bare space).

    >>> doc = SpecTree.read("search_space:\\n  modules: [net]\\n  net: {type: ResNet, depth: 20}\\n", "s.yaml")
    >>> print(doc.text({**doc.space, "modules": ["net"]}, ["a comment"]).strip())
    # a comment
    search_space:
      modules: [net]
      net: {type: ResNet, depth: 20}
    """

    file: str
    tree: dict[str, Any]
    space_at: tuple[str, ...]

    @classmethod
    def read(cls, text: str, file: str) -> "SpecTree":
        """The document of spec ``text`` read from ``file`` (already checked: fgir.compile it first)."""
        from fgir.spec.document import parse_document
        from fgir.spec.yaml_loader import load_yaml_text

        root = load_yaml_text(text, file)
        doc = parse_document(root)
        return cls(file, plain_tree(root), ("search_space",) if doc.space is not doc.root else ())

    @property
    def space(self) -> dict[str, Any]:
        return get_in(self.tree, self.space_at, self.tree) if self.space_at else self.tree

    def relocated(self, folder: str | Path) -> "SpecTree":
        """The document's spec-relative paths rewritten for ``folder``: its dataset's and its processes'."""
        from fgir.blocks import PROCESSES

        tree = copy_tree(self.tree)
        for segments in DATASET_PATHS if self.space_at else ():
            value = get_in(tree, segments, None)
            if value is not None:
                set_in(tree, segments, relocated(value, self.file, folder))
        space = get_in(tree, self.space_at, {}) if self.space_at else tree
        for name in space.get("modules", []):
            args = space.get(name)
            kind = PROCESSES.get(args["type"]) if isinstance(args, dict) and isinstance(args.get("type"), str) \
                else None
            for arg in getattr(kind, "file_args", ()):
                if arg in args:
                    args[arg] = relocated(args[arg], self.file, folder)
        return replace(self, tree=tree)

    def text(self, space: dict[str, Any], comments: list[str] | tuple[str, ...] = ()) -> str:
        """The document with ``space`` as its search space, as YAML text, ``comments`` first."""
        tree = copy_tree(self.tree)
        if self.space_at:
            tree[self.space_at[0]] = space
        else:
            tree = space
        return "".join(f"# {line}\n" for line in comments) + dump_spec(tree)


def pruned_text(subject: Any, kept: dict[str, list[int]], init_model_file: str | None,
                comments: list[str], folder: str | Path | None = None) -> str:
    """The pruned spec as YAML text, ``comments`` first; to be written in ``folder`` (None: the spec's own).

    ``init_model_file`` is written as given (the caller names it for ``folder``)."""
    doc = SpecTree(subject.file, subject.tree, subject.space_at)
    if folder is not None:
        doc = doc.relocated(folder)
        subject = replace(subject, tree=doc.tree)
    return doc.text(pruned_space(subject, kept, init_model_file), comments)


__all__ = ["SpecTree", "masks_of", "pruned_space", "pruned_text", "relocated", "with_process", "without_module"]

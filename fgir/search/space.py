"""The search space of a spec: typed dimensions that sample, mutate, cross over and freeze.

A *sample* is a dict from dimension key (the concrete path, e.g.
``layer.doublechannel`` or ``process.nbit_w_list[3]``) to a plain value.
:meth:`Space.freeze` writes a sample into the spec, computes the derived
values (``${...}``) and returns a complete spec (YAML text; see
:mod:`fgir.spec.tree` for what it keeps).  :meth:`Space.key` is the
canonical hash that identifies a sample: duplicates are skipped by it.

Example:
    >>> import random
    >>> space = Space.from_spec("examples/backbone_nas.yaml")
    >>> sample = space.sample(random.Random(0))
    >>> sorted(sample) == ["layer.doublechannel", "layer.downsample"], len(space.key(sample))
    (True, 16)
    >>> import fgir
    >>> fgir.compile(fgir.loads(space.freeze(sample))).meta["params"] > 0
    True
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from pathlib import Path
from typing import Any, Iterator

from fgir.diagnostics import Diagnostic, FgirError
from fgir.spec.tree import copy_tree, dump_spec, get_in, plain_tree, set_in
from fgir.search.hyper import Derived, Dimension, read_hyper_parameters
from fgir.search.targets import MISSING, BlockTypeName
from fgir.spec.document import SpecDocument, parse_document
from fgir.spec.expressions import evaluate
from fgir.spec.yaml_loader import load_yaml_file, load_yaml_text

Sample = dict[str, Any]


class Space:
    """Dimensions and derived values over one spec; see the module docstring."""

    def __init__(self, doc: SpecDocument, text: str, file: str, dimensions: list[Dimension],
                 derived: list[Derived]) -> None:
        self.doc, self.text, self.file = doc, text, file
        self.dimensions = dimensions
        self.derived = derived
        self.sha256 = hashlib.sha256(text.encode()).hexdigest()
        root = plain_tree(doc.root)
        nested = doc.space is not doc.root
        self._space_at: tuple[str, ...] = ("search_space",) if nested else ()
        root.pop("search_algorithm", None)
        space = root["search_space"] if nested else root
        space.pop("hyper_parameters", None)
        _anchor_files(space, doc, file)
        self._base = root

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, source: str | Path) -> "Space":
        """The space of a spec file (a path), or of spec text (a string holding a newline)."""
        if isinstance(source, str) and "\n" in source:
            return cls.from_text(source)
        path = Path(source)
        root = load_yaml_file(path)
        return cls._build(root, path.read_text(encoding="utf-8"), str(path))

    @classmethod
    def from_text(cls, text: str, file: str = "<string>") -> "Space":
        return cls._build(load_yaml_text(text, file), text, file)

    @classmethod
    def _build(cls, root: Any, text: str, file: str) -> "Space":
        doc = parse_document(root)
        dims, derived = read_hyper_parameters(doc, text)
        space = cls(doc, text, file, dims, derived)
        space._check_block_choices()
        return space

    def _check_block_choices(self) -> None:
        """Each block a choice offers must build where it stands, with its own signature and what the
        enclosing block gives it (the other dimensions at their initial values)."""
        from fgir.api import compile, loads

        base = self.initial(random.Random(0))
        problems = []
        for dim in self.dimensions:
            if not isinstance(dim.target.type, BlockTypeName):
                continue
            for value in dim.domain.grid():
                if value == dim.target.current:
                    continue   # the spec's own block: checked when the spec itself compiles
                try:
                    compile(loads(self.freeze({**base, dim.key: value}), self.file))
                except FgirError as exc:
                    problems.append(Diagnostic(dim.loc, f"hyper_parameters.{dim.key}",
                                               f"choice candidate {value!r} does not build here: "
                                               f"{exc.diagnostics[0].path}: {exc.diagnostics[0].message}"))
        if problems:
            raise FgirError(problems)

    # -- sampling -----------------------------------------------------------------------------
    @property
    def keys(self) -> list[str]:
        return [d.key for d in self.dimensions]

    def sample(self, rng: random.Random) -> Sample:
        """A uniformly random sample (each dimension independently)."""
        return {d.key: d.domain.sample(rng) for d in self.dimensions}

    def initial(self, rng: random.Random) -> Sample:
        """The values the spec holds, sampled where they are not in the domain."""
        return {d.key: d.initial if d.initial is not None else d.domain.sample(rng)
                for d in self.dimensions}

    def mutate(self, sample: Sample, rng: random.Random, rate: float | None = None) -> tuple[Sample, str]:
        """A neighbour: one random dimension changed (or each with probability ``rate``).

        Returns the new sample and the moves made, e.g. ``"layer.downsample:swap"``.
        """
        out = dict(sample)
        movable = [d for d in self.dimensions if (d.domain.size() or 2) > 1]
        if not movable:
            return out, "none"
        chosen = [d for d in movable if rng.random() < rate] if rate is not None else []
        if not chosen:
            chosen = [movable[rng.randrange(len(movable))]]
        moves = []
        for dim in chosen:
            out[dim.key], move = dim.domain.mutate(sample[dim.key], rng)
            moves.append(f"{dim.key}:{move}")
        return out, ",".join(moves)

    def crossover(self, a: Sample, b: Sample, rng: random.Random) -> Sample:
        """Each dimension from either parent (a code's count of ones is kept)."""
        return {d.key: d.domain.crossover(a[d.key], b[d.key], rng) for d in self.dimensions}

    def size(self) -> int | None:
        """The number of samples, or None when a dimension is continuous."""
        sizes = [d.domain.size() for d in self.dimensions]
        return None if None in sizes else math.prod(sizes)

    def grid(self) -> Iterator[Sample]:
        """Every sample, the last dimension varying fastest."""
        for values in itertools.product(*(list(d.domain.grid()) for d in self.dimensions)):
            yield dict(zip(self.keys, values))

    def contains(self, sample: Any) -> bool:
        return isinstance(sample, dict) and set(sample) == set(self.keys) and all(
            d.domain.contains(sample[d.key]) for d in self.dimensions)

    # -- identity and freezing ----------------------------------------------------------------
    def key(self, sample: Sample) -> str:
        """The canonical hash of a sample: equal values, equal key, whatever the dict order."""
        canonical = json.dumps([[k, sample[k]] for k in sorted(self.keys)], separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def resolve(self, sample: Sample) -> dict[str, Any]:
        """The sample's values and the derived values it implies, by path."""
        tree = self._substituted(sample)
        space = get_in(tree, self._space_at, None)
        return {**sample, **{d.key: get_in(space, d.target.segments, None) for d in self.derived}}

    def freeze(self, sample: Sample) -> str:
        """The complete spec (YAML text) of one sample; FgirError if a derived value fails."""
        return dump_spec(self._substituted(sample))

    def _substituted(self, sample: Sample) -> Any:
        tree = copy_tree(self._base)
        space = get_in(tree, self._space_at, None)
        for dim in self.dimensions:
            set_in(space, dim.target.segments, sample[dim.key])
        for d in self.derived:
            set_in(space, d.target.segments, self._evaluate(d, space))
        return tree

    def _evaluate(self, d: Derived, space: Any) -> Any:
        refs = {ref.path: target for ref, target in d.refs}

        def lookup(path: Any) -> Any:
            value = get_in(space, path.segments, refs[path].current)
            if value is MISSING:
                raise ValueError(f"${{{path}}} has no value: the spec does not write it")
            return value

        try:
            return evaluate(d.expr, lookup)
        except ValueError as exc:
            raise FgirError(Diagnostic(d.loc, f"hyper_parameters.{d.key}",
                                       f"cannot evaluate {d.text!r}: {exc}")) from None

    def describe(self) -> list[str]:
        """One line per dimension and derived value, for reports."""
        lines = [f"{d.key}: {d.domain!r}" for d in self.dimensions]
        lines += [f"{d.key} = {d.text}" for d in self.derived]
        return lines


def _anchor_files(space: dict[str, Any], doc: SpecDocument, file: str) -> None:
    """Make the files processes read (Prune's ``init_model_file``) absolute, relative to the spec's
    folder as compiling the spec itself takes them: a frozen candidate is compiled from text, with no
    folder of its own, and best.yaml lands in the output folder."""
    from fgir.blocks import PROCESSES

    folder = Path(file).parent if file and not file.startswith("<") else None
    if folder is None:
        return
    for module in doc.modules:
        cls = PROCESSES.get(module.type_name) if isinstance(module.type_name, str) else None
        args = space.get(module.name)
        for arg in getattr(cls, "file_args", ()):
            value = args.get(arg) if isinstance(args, dict) else None
            if isinstance(value, str) and value and not Path(value).is_absolute():
                args[arg] = str((folder / value).absolute())


__all__ = ["Sample", "Space"]

"""Reading ``hyper_parameters``: each entry becomes typed dimensions or a derived value.

What a value means follows the target's declared type (docs/semantics.md):

* a list on a **list-typed** argument of 0/1 items (a code such as
  ``doublechannel``) is the *initial code* of a binary-code search of that
  length; its count of ones is kept (widths derive from it);
* a list on a **scalar** argument is the set of candidates;
* a string is an expression (``grammar/expressions.lark``): a domain
  ``choice(...)``, ``range(low, high[, step=s])`` (both ends inclusive),
  ``code(n, ones=k)`` (``n`` defaults to the target's current length; without
  ``ones`` the count is free), ``uniform(low, high)``; or a value computed from
  others, ``${init.init_plane} * 16``, re-evaluated for every candidate;
* a plain value fixes the target.

``path[*]`` applies the value to every element of the list at ``path``.
Every problem is reported at its YAML line and column, all at once.

Example:
    >>> from fgir.spec.document import parse_document
    >>> from fgir.spec.yaml_loader import load_yaml_text
    >>> text = open("examples/backbone_nas.yaml").read()
    >>> dims, derived = read_hyper_parameters(parse_document(load_yaml_text(text)), text)
    >>> [(d.key, d.domain) for d in dims]
    [('layer.doublechannel', code(8, ones=4)), ('layer.downsample', code(8, ones=4))]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fgir.diagnostics import Diagnostic, Diagnostics, FgirError, Loc, Origin
from fgir.search.calls import BUILDERS, call_domain, unique
from fgir.search.domains import Choice, Code, Domain
from fgir.search.targets import PathError, Target, resolve
from fgir.spec.document import SpecDocument
from fgir.spec.expressions import (BinOp, Call, Expr, Lit, Neg, Ref, Source, evaluate,
                                   parse_expression, parse_path, references)
from fgir.spec.yaml_loader import SList

DOMAINS = tuple(BUILDERS)


@dataclass(frozen=True)
class Dimension:
    """A searched place: its key in samples (the concrete path), target, domain and spec value."""

    key: str
    target: Target
    domain: Domain
    initial: Any          # the spec's value there when the domain holds it, else None
    loc: Loc              # where the hyper_parameters value was written


@dataclass(frozen=True)
class Derived:
    """A place computed from other values (``${...}`` arithmetic) for every candidate."""

    key: str
    target: Target
    expr: Expr
    refs: tuple[tuple[Ref, Target], ...]
    loc: Loc
    text: str
    source: Source


class _Entry:
    """One hyper_parameters entry while it is read: where it is, and how to report about it."""

    def __init__(self, key: str, key_loc: Loc, value: Any, value_loc: Loc, text: str | None,
                 diags: Diagnostics) -> None:
        self.key, self.value, self.diags = key, value, diags
        self.key_source = Source(key_loc, text)
        self.value_source = Source(value_loc, text)
        self.path = f"hyper_parameters.{key}"

    def fail(self, loc: Loc, message: str, hint: str | None = None) -> None:
        self.diags.error(Origin(loc, self.path), message, hint=hint)

    def at(self, offset: int) -> Loc:
        return self.value_source.at(self.value, offset) if isinstance(self.value, str) else \
            self.value_source.loc


def read_hyper_parameters(doc: SpecDocument, text: str | None) -> tuple[list[Dimension], list[Derived]]:
    """The dimensions and derived values of a spec; raises FgirError with every problem found."""
    diags = Diagnostics()
    dims: list[Dimension] = []
    derived: list[Derived] = []
    hyper = doc.hyper_parameters
    if not hyper:
        where = hyper.loc if hyper is not None else doc.space.loc
        raise FgirError(Diagnostic(where, "", "the spec has no hyper_parameters: "
                                   "nothing to search", hint="add e.g. 'layer.doublechannel: "
                                   "[0, 1, 1, 0]' under search_space.hyper_parameters"))
    for key, value in hyper.items():
        entry = _Entry(str(key), hyper.key_loc(key), value, hyper.value_loc(key), text, diags)
        targets = _targets(doc, entry)
        for target in targets:
            before = len(diags.items)
            made = _read(doc, entry, target)
            if isinstance(made, Derived):
                derived.append(made)
            elif made is not None:
                initial = target.current if made.contains(target.current) else None
                dims.append(Dimension(target.path, target, made, initial, entry.value_source.loc))
            if len(diags.items) > before:
                break     # one report per entry, not one per element of a [*] path
    _check_overlaps(dims, derived, diags)
    if not diags.has_errors:
        derived = _ordered(derived, diags)
    diags.raise_if_errors()
    return dims, derived


def _targets(doc: SpecDocument, entry: _Entry) -> list[Target]:
    try:
        path = parse_path(entry.key, entry.key_source, entry.path)
    except FgirError as exc:
        entry.diags.extend(exc.diagnostics)
        return []
    try:
        return resolve(doc, path.segments)
    except PathError as exc:
        entry.fail(entry.key_source.at(entry.key, path.segment_offset(exc.segment)), exc.message, exc.hint)
        return []


def _read(doc: SpecDocument, entry: _Entry, target: Target) -> Domain | Derived | None:
    value = entry.value
    if isinstance(value, str):
        try:
            expr = parse_expression(value, entry.value_source, entry.path)
        except FgirError as exc:
            entry.diags.extend(exc.diagnostics)
            return None
        if isinstance(expr, Call):
            return call_domain(entry, expr, target)
        if isinstance(expr, Lit) and isinstance(expr.value, list):
            return _list_domain(entry, expr.value, target, lambda i: entry.at(expr.offset))
        if references(expr):
            return _derived(doc, entry, expr, target)
        try:
            value = evaluate(expr, lambda p: None)
        except ValueError as exc:
            entry.fail(entry.at(expr.offset), f"cannot evaluate: {exc}")
            return None
        return _fixed(entry, value, target, entry.at(0))
    if isinstance(value, list):
        item_loc = value.item_loc if isinstance(value, SList) else (lambda i: entry.value_source.loc)
        return _list_domain(entry, value, target, item_loc)
    if isinstance(value, dict):
        entry.fail(entry.value_source.loc, "a hyper_parameters value is a list, a value or an "
                   "expression such as choice(16, 32)")
        return None
    return _fixed(entry, value, target, entry.value_source.loc)


def _fixed(entry: _Entry, value: Any, target: Target, loc: Loc) -> Domain | None:
    problem = target.check(value)
    if problem:
        entry.fail(loc, f"{value!r} does not fit {target.path}: {problem}")
        return None
    return Choice([value])


def _list_domain(entry: _Entry, value: list, target: Target, item_loc: Any) -> Domain | None:
    if target.is_list:
        return _initial_code(entry, list(value), target)
    if not value:
        entry.fail(entry.value_source.loc, f"empty domain: no candidates for {target.path}")
        return None
    for i, item in enumerate(value):
        problem = target.check(item)
        if problem:
            entry.fail(item_loc(i), f"candidate {item!r} does not fit {target.path}: {problem}")
            return None
    return Choice(unique(value))


def _initial_code(entry: _Entry, value: list, target: Target) -> Domain | None:
    loc = entry.value_source.loc
    current = target.current
    if not target.is_binary_list or any(v not in (0, 1) or isinstance(v, bool) for v in value):
        entry.fail(loc, f"{target.path} takes {target.type.description}; a list here is the initial "
                        f"code of a 0/1 search, but {value} is not a 0/1 code",
                   hint=f"write choice([...], [...]) for candidate lists, or search one element: "
                        f"'{target.path}[i]: [...]'")
        return None
    if isinstance(current, list) and len(current) != len(value):
        entry.fail(loc, f"an initial code of {len(value)} values for {target.path}, which holds "
                        f"{len(current)}",
                   hint="an initial code has the target's length; write code(n, ones=k) to search "
                        "another length")
        return None
    if not value:
        entry.fail(loc, f"empty domain: an empty code for {target.path}")
        return None
    return Code(len(value), ones=sum(value))


def _derived(doc: SpecDocument, entry: _Entry, expr: Expr, target: Target) -> Derived | None:
    refs = []
    for ref in references(expr):
        offset = ref.path.offset   # offsets are within the whole value string
        try:
            found = resolve(doc, ref.path.segments)
        except PathError as exc:
            entry.fail(entry.at(offset + ref.path.segment_offset(exc.segment)), exc.message, exc.hint)
            return None
        if len(found) != 1:
            entry.fail(entry.at(offset), f"${{{ref.path}}} names several values; a reference names one")
            return None
        refs.append((ref, found[0]))
    if isinstance(expr, (BinOp, Neg)) and target.is_list:
        entry.fail(entry.at(expr.offset), f"arithmetic gives a number, but {target.path} takes "
                                          f"{target.type.description}")
        return None
    return Derived(target.path, target, expr, tuple(refs), entry.value_source.loc, entry.value,
                   entry.value_source)


def _overlap(a: tuple, b: tuple) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _check_overlaps(dims: list[Dimension], derived: list[Derived], diags: Diagnostics) -> None:
    seen: list[tuple[tuple, str, Loc]] = []
    for item in [*dims, *derived]:
        segments = item.target.segments
        for other, key, loc in seen:
            if _overlap(segments, other):
                diags.error(Origin(item.loc, f"hyper_parameters.{item.key}"),
                            f"{item.key} is set twice (also by '{key}')", hint=f"that one is at {loc}")
                break
        else:
            seen.append((segments, item.key, item.loc))


def _ordered(derived: list[Derived], diags: Diagnostics) -> list[Derived]:
    """Derived values in an order where each is computed after those it references."""
    deps = {d.key: [o.key for o in derived if o is not d and any(
        _overlap(t.segments, o.target.segments) for _, t in d.refs)] for d in derived}
    by_key = {d.key: d for d in derived}
    out: list[Derived] = []
    state: dict[str, int] = {}

    def visit(key: str, trail: list[str]) -> bool:
        if state.get(key) == 2:
            return True
        if state.get(key) == 1:
            cycle = trail[trail.index(key):] + [key]
            d = by_key[key]
            diags.error(Origin(d.loc, f"hyper_parameters.{key}"),
                        "references form a cycle: " + " → ".join(cycle))
            return False
        state[key] = 1
        ok = all(visit(dep, trail + [key]) for dep in deps[key])
        state[key] = 2
        out.append(by_key[key])
        return ok

    for d in derived:
        if not visit(d.key, []):
            break
    return out


__all__ = ["DOMAINS", "Derived", "Dimension", "read_hyper_parameters"]

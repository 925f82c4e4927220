"""Domains written as calls: ``choice(...)``, ``range(...)``, ``uniform(...)``, ``code(...)``.

Each checks its arguments and that the domain fits the target's type, and
reports at the offending argument's line and column (through the entry's
``fail`` and ``at``, see :mod:`fgir.search.hyper`).

Example:
    >>> from fgir.search.hyper import read_hyper_parameters   # where these are called from
    >>> sorted(BUILDERS)
    ['choice', 'code', 'range', 'uniform']
"""

from __future__ import annotations

from typing import Any, Protocol

from fgir.diagnostics import Loc, did_you_mean
from fgir.search.domains import Choice, Code, Domain, IntRange, Uniform
from fgir.search.targets import Target
from fgir.spec.expressions import Call, Lit, Num


class Entry(Protocol):
    """The hyper_parameters entry being read: how to report about it."""

    def fail(self, loc: Loc, message: str, hint: str | None = None) -> None: ...

    def at(self, offset: int) -> Loc: ...


def unique(values: list) -> list:
    out: list = []
    for v in values:
        if not any(v == o and type(v) is type(o) for o in out):
            out.append(v)
    return out


def _plain_args(entry: Entry, call: Call) -> list[Any] | None:
    out = []
    for arg in call.args:
        if not isinstance(arg, (Num, Lit)):
            entry.fail(entry.at(arg.offset), f"{call.name}() takes plain values, not references or "
                                             "arithmetic")
            return None
        out.append(arg.value)
    return out


def call_domain(entry: Entry, call: Call, target: Target) -> Domain | None:
    """The domain a call writes, or None after reporting why it is not one that fits."""
    if call.name not in BUILDERS:
        entry.fail(entry.at(call.offset), f"unknown domain '{call.name}'",
                   did_you_mean(call.name, BUILDERS) or f"domains: {', '.join(BUILDERS)}")
        return None
    allowed = {"choice": (), "range": ("step",), "uniform": (), "code": ("ones",)}[call.name]
    for name, arg in call.kwargs:
        if name not in allowed:
            entry.fail(entry.at(arg.offset), f"{call.name}() takes no argument '{name}'",
                       did_you_mean(name, allowed) if allowed else None)
            return None
    args = _plain_args(entry, call)
    if args is None:
        return None
    return BUILDERS[call.name](entry, call, args, target)


def _choice(entry: Entry, call: Call, args: list, target: Target) -> Domain | None:
    if not args:
        entry.fail(entry.at(call.offset), f"empty domain: choice() has no candidates for {target.path}")
        return None
    for arg, value in zip(call.args, args):
        problem = target.check(value)
        if problem:
            entry.fail(entry.at(arg.offset), f"choice candidate {value!r} does not fit "
                                             f"{target.path}: {problem}")
            return None
    return Choice(unique(args))


def _ints(entry: Entry, call: Call, values: list[Any], exprs: tuple) -> bool:
    for value, expr in zip(values, exprs):
        if isinstance(value, bool) or not isinstance(value, int):
            entry.fail(entry.at(expr.offset), f"{call.name}() takes integers, got {value!r}")
            return False
    return True


def _range(entry: Entry, call: Call, args: list, target: Target) -> Domain | None:
    if len(args) != 2:
        entry.fail(entry.at(call.offset), f"range() takes a low and a high end, got {len(args)} "
                                          "values", hint="range(1, 8) is 1, 2, ..., 8")
        return None
    step_expr = call.kwarg("step")
    step = step_expr.value if isinstance(step_expr, Num) else 1
    exprs = (*call.args, *([step_expr] if step_expr is not None else []))
    if not _ints(entry, call, [*args, step], exprs):
        return None
    low, high = args
    if step < 1:
        entry.fail(entry.at(step_expr.offset), f"range() step must be positive, got {step}")
        return None
    if high < low:
        entry.fail(entry.at(call.offset), f"empty domain: range({low}, {high}) holds no integers "
                                          "(both ends are inclusive)")
        return None
    return _fits_scalar(entry, call, target, [(low, call.args[0]), (high, call.args[1])],
                        IntRange(low, high, step))


def _uniform(entry: Entry, call: Call, args: list, target: Target) -> Domain | None:
    if len(args) != 2:
        entry.fail(entry.at(call.offset), f"uniform() takes a low and a high end, got {len(args)} "
                                          "values")
        return None
    for value, expr in zip(args, call.args):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            entry.fail(entry.at(expr.offset), f"uniform() takes numbers, got {value!r}")
            return None
    low, high = float(args[0]), float(args[1])
    if not low < high:
        entry.fail(entry.at(call.offset), f"empty domain: uniform({args[0]}, {args[1]}) holds no "
                                          "numbers (low must be below high)")
        return None
    return _fits_scalar(entry, call, target, [(low, call.args[0]), (high, call.args[1])],
                        Uniform(low, high))


def _fits_scalar(entry: Entry, call: Call, target: Target, ends: list, domain: Domain) -> Domain | None:
    if target.is_list:
        entry.fail(entry.at(call.offset), f"{domain!r} does not fit {target.path}, which takes "
                                          f"{target.type.description}")
        return None
    for value, expr in ends:   # every checker is a bound or a kind: the two ends decide it
        problem = target.check(value)
        if problem:
            entry.fail(entry.at(expr.offset), f"{domain!r} does not fit {target.path}: {problem}")
            return None
    return domain


def _code(entry: Entry, call: Call, args: list, target: Target) -> Domain | None:
    ones_expr = call.kwarg("ones")
    if len(args) > 1:
        entry.fail(entry.at(call.args[1].offset), "code() takes a length and ones=k")
        return None
    ones = ones_expr.value if isinstance(ones_expr, Num) else None
    if ones_expr is not None and not isinstance(ones_expr, Num):
        entry.fail(entry.at(ones_expr.offset), "code() takes ones=<integer>")
        return None
    if args:
        length = args[0]
    elif isinstance(target.current, list):
        length = len(target.current)
    else:
        entry.fail(entry.at(call.offset), f"code() needs a length: {target.path} holds no list to "
                                          "take it from")
        return None
    given = [length] + ([ones] if ones is not None else [])
    exprs = (*(call.args or [call]), *([ones_expr] if ones_expr is not None else []))
    if not _ints(entry, call, given, exprs):
        return None
    if length < 1 or (ones is not None and not 0 <= ones <= length):
        entry.fail(entry.at(call.offset), f"empty domain: a code of length {length} cannot hold "
                                          f"{ones} ones" if length >= 1 else
                   "empty domain: a code needs a length of at least 1")
        return None
    domain = Code(length, ones)
    if not (target.is_list and target.is_binary_list):
        entry.fail(entry.at(call.offset), f"{domain!r} does not fit {target.path}, which takes "
                                          f"{target.type.description}")
        return None
    return domain


BUILDERS = {"choice": _choice, "range": _range, "uniform": _uniform, "code": _code}

__all__ = ["BUILDERS", "Entry", "call_domain", "unique"]

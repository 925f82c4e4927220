"""Expressions in spec values: paths, search domains, references and integer arithmetic.

The grammar is ``grammar/expressions.lark`` (packaged as ``fgir.grammar``).  Parsing
gives a small AST of frozen dataclasses; each node knows its offset in the string,
so errors land on the exact YAML line and column: the value's :class:`Loc` plus
the offset inside the string (:class:`Source` does that mapping).

Example:
    >>> parse_path("resnet.items.stride[3]").segments
    ('resnet', 'items', 'stride', 3)
    >>> p = parse_path('process.ratios["layer1.0.conv1"]')
    >>> p.segments, str(p)
    (('process', 'ratios', 'layer1.0.conv1'), 'process.ratios["layer1.0.conv1"]')
    >>> e = parse_expression("${init.init_plane} * 16")
    >>> evaluate(e, lambda path: 32)
    512
    >>> parse_expression("code(8, ones=4)")
    Call(name='code', args=(Num(value=8, offset=5),), kwargs=(('ones', Num(value=4, offset=13)),), offset=0)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from fgir.diagnostics import Diagnostic, FgirError, Loc

EACH = "*"   # the ``[*]`` segment: every element of a list

# -- the AST -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Path:
    """A dotted, indexed path: ``resnet.items.stride[3]`` → ('resnet', 'items', 'stride', 3).

    A key that is no plain name is quoted: ``process.masks["layer1.0.conv1"]``.  ``offsets`` gives
    where each segment's name, index or key starts, relative to the path's start (when parsed).
    """

    segments: tuple[Union[str, int], ...]
    offset: int = 0
    offsets: tuple[int, ...] = field(default=(), compare=False)   # where it was written, not what

    def __str__(self) -> str:
        return format_path(self.segments)

    def segment_offset(self, index: int) -> int:
        """Where segment ``index`` starts in the path's text (as written, else as formatted)."""
        if index < len(self.offsets):
            return self.offsets[index]
        offset = len(format_path(self.segments[:index]))
        segment = self.segments[index] if index < len(self.segments) else None
        return offset + 1 if index > 0 and isinstance(segment, str) and segment != EACH else offset


@dataclass(frozen=True)
class Num:
    value: int | float
    offset: int = 0


@dataclass(frozen=True)
class Lit:
    """A string, boolean, null or list literal (lists hold plain values only)."""

    value: Any
    offset: int = 0


@dataclass(frozen=True)
class Ref:
    """``${path}``: the value another part of the spec holds (after substitution)."""

    path: Path
    offset: int = 0


@dataclass(frozen=True)
class BinOp:
    op: str
    left: "Expr"
    right: "Expr"
    offset: int = 0


@dataclass(frozen=True)
class Neg:
    operand: "Expr"
    offset: int = 0


@dataclass(frozen=True)
class Call:
    """``name(args, key=value)``: a search domain; the name is checked by whoever builds it."""

    name: str
    args: tuple["Expr", ...]
    kwargs: tuple[tuple[str, "Expr"], ...]
    offset: int = 0

    def kwarg(self, name: str) -> "Expr | None":
        return next((v for k, v in self.kwargs if k == name), None)


Expr = Union[Num, Lit, Ref, BinOp, Neg, Call]


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def format_path(segments: tuple[Union[str, int], ...]) -> str:
    """('resnet', 'items', 'stride', 3) → ``resnet.items.stride[3]``; a key that is no plain name is
    quoted: ('process', 'masks', 'layer1.0.conv1') → ``process.masks["layer1.0.conv1"]``."""
    out = ""
    for seg in segments:
        if isinstance(seg, int) or seg == EACH:
            out += f"[{seg}]"
        elif out and not _PLAIN_NAME.fullmatch(seg):
            out += f"[{chr(39) if chr(34) in seg else chr(34)}{seg}{chr(39) if chr(34) in seg else chr(34)}]"
        else:
            out += f".{seg}" if out else seg
    return out


def references(expr: Expr) -> list[Ref]:
    """Every ``${...}`` in an expression, in order."""
    if isinstance(expr, Ref):
        return [expr]
    if isinstance(expr, BinOp):
        return references(expr.left) + references(expr.right)
    if isinstance(expr, Neg):
        return references(expr.operand)
    if isinstance(expr, Call):
        return [r for a in (*expr.args, *(v for _, v in expr.kwargs)) for r in references(a)]
    return []


# -- where the string sits in the YAML file --------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Maps an offset in an expression string onto the YAML file.

    ``loc`` is where YAML says the scalar starts; ``text`` is the whole spec text,
    used to see whether the scalar was quoted (the string then starts one column
    later).  When the string cannot be found verbatim at ``loc`` (escapes, folded
    lines, block scalars) offsets fall back to ``loc`` itself.
    """

    loc: Loc
    text: str | None = None

    def at(self, string: str, offset: int) -> Loc:
        if self.loc.line <= 0 or self.text is None:
            return self.loc
        lines = self.text.splitlines()
        if self.loc.line > len(lines):
            return self.loc
        line = lines[self.loc.line - 1]
        col = self.loc.col - 1
        if line[col:col + 1] in ("'", '"'):
            col += 1
        if "\n" in string or line[col:col + len(string)] != string:
            return self.loc
        return Loc(self.loc.file, self.loc.line, col + 1 + offset)


class ExpressionError(FgirError):
    """A value that is not a valid expression; positioned at the offending character."""


# -- parsing ---------------------------------------------------------------------------------------

_TERMINAL_NAMES = {
    "INT": "a number", "FLOAT": "a number", "NAME": "a name", "STRING": "a string",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "DOT": "'.'",
    "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "EQUAL": "'='",
    "RBRACE": "'}'", "DOLLAR_LBRACE": "'${'", "__ANON_0": "'//'", "__ANON_1": "'${'",
    "TRUE": "true", "FALSE": "false", "NULL": "null", "$END": "the end",
}


@functools.lru_cache(maxsize=None)
def _grammar_text() -> str:
    try:
        from importlib.resources import files

        return files("fgir.grammar").joinpath("expressions.lark").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        # an editable install made before fgir.grammar was mapped: read it from the source tree
        from pathlib import Path as _P

        return (_P(__file__).resolve().parents[2] / "grammar" / "expressions.lark").read_text(
            encoding="utf-8")


@functools.lru_cache(maxsize=None)
def _parser():
    from lark import Lark

    return Lark(_grammar_text(), parser="lalr", start=["value", "path"], propagate_positions=True,
                maybe_placeholders=False)


_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "__ANON_0"}


def _expected(expected: Any) -> str:
    expected = set(expected)
    if {"INT", "NAME", "LSQB"} <= expected:   # the start of a value: say what a value is
        return "; expected a number, a reference ${...}, a list or a call such as choice(...)"
    names = sorted({_TERMINAL_NAMES.get(t, t.lower()) for t in expected - _OPERATORS})
    if expected & _OPERATORS:
        names.append("an operator")
    if not names:
        return ""
    return "; expected " + (", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0])


def _parse(text: str, start: str, source: Source | None, path: str) -> Any:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    what = "expression" if start == "value" else "path"

    try:
        return _parser().parse(text, start=start)
    except UnexpectedCharacters as exc:
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        hint = "integer division is '//'" if char == "/" else None
        raise _error(source, text, exc.pos_in_stream, path,
                     f"unexpected character {char!r} in {what} {text!r}", hint) from None
    except UnexpectedEOF as exc:
        raise _error(source, text, len(text), path,
                     f"{what} {text!r} ends too early{_expected(exc.expected)}") from None
    except UnexpectedToken as exc:
        token = exc.token
        accepts = getattr(exc, "accepts", None) or exc.expected   # exact where LALR merged states
        if token.type == "$END":
            raise _error(source, text, len(text), path,
                         f"{what} {text!r} ends too early{_expected(accepts)}") from None
        raise _error(source, text, token.start_pos, path,
                     f"unexpected {str(token)!r} in {what} {text!r}{_expected(accepts)}",
                     _quote_hint(text, token.start_pos) if start == "path" else None) from None
    except UnexpectedInput as exc:  # any other kind lark may add
        raise _error(source, text, getattr(exc, "pos_in_stream", 0) or 0, path,
                     f"cannot parse {what} {text!r}") from None


def _quote_hint(text: str, offset: int) -> str | None:
    """For ``process.masks.layer3.1.conv1``: the key holds dots, so it is quoted."""
    dot = text.rfind(".", 0, max(offset - 1, 0))
    if offset < 1 or text[offset - 1] != "." or dot < 0:
        return None
    end = text.find("[", offset)
    key = text[dot + 1:end if end >= 0 else len(text)]
    rest = text[end:] if end >= 0 else ""
    return f'a key that holds dots (a channel group) is quoted: {text[:dot]}["{key}"]{rest}'


def _error(source: Source | None, text: str, offset: int, path: str, message: str,
           hint: str | None = None) -> ExpressionError:
    loc = source.at(text, offset) if source else Loc("<expression>", 1, offset + 1)
    return ExpressionError(Diagnostic(loc, path, message, hint=hint))


def parse_expression(text: str, source: Source | None = None, path: str = "") -> Expr:
    """Parse a value expression; errors point at ``source``'s file, line and column.

    >>> parse_expression("choice(16, 32)").args
    (Num(value=16, offset=7), Num(value=32, offset=11))
    """
    tree = _parse(text, "value", source, path)
    return _Builder(text, source, path).build(tree.children[0])


def parse_path(text: str, source: Source | None = None, path: str = "") -> Path:
    """Parse a dotted path such as ``layer.doublechannel`` or ``resnet.items.stride[3]``.

    >>> str(parse_path("process.nbit_w_list[*]"))
    'process.nbit_w_list[*]'
    """
    tree = _parse(text.strip(), "path", source, path or text)
    return _Builder(text, source, path).path(tree)


def _number(token: Any) -> int | float:
    text = str(token).replace("_", "")
    return int(text) if token.type == "INT" else float(text)


class _Builder:
    """Lark tree → AST, with offsets; refuses '/' here so the message can say why."""

    def __init__(self, text: str, source: Source | None, path: str) -> None:
        self.text, self.source, self.where = text, source, path

    @staticmethod
    def _offset(tree: Any) -> int:
        meta = getattr(tree, "meta", None)
        if meta is not None and not meta.empty:
            return meta.start_pos
        return getattr(tree, "start_pos", 0) or 0

    def path(self, tree: Any) -> Path:
        start = self._offset(tree)
        segments: list[Union[str, int]] = [str(tree.children[0])]
        offsets = [tree.children[0].start_pos - start]
        for seg in tree.children[1:]:
            token = seg.children[0] if seg.children else None
            # a name or key at itself; an index at its '['
            at = token.start_pos - (seg.data == "index") if token is not None else self._offset(seg)
            offsets.append(at - start)
            if seg.data == "field":
                segments.append(str(token))
            elif seg.data == "index":
                segments.append(int(str(token).replace("_", "")))
            elif seg.data == "key":
                segments.append(str(token)[1:-1])
            else:
                segments.append(EACH)
        return Path(tuple(segments), start, tuple(offsets))

    def build(self, tree: Any) -> Expr:
        from lark import Token

        if isinstance(tree, Token):  # a bare terminal (only numbers reach here)
            return Num(_number(tree), tree.start_pos)
        kind, kids, offset = tree.data, tree.children, self._offset(tree)
        if kind in ("int", "float"):
            return Num(_number(kids[0]), offset)
        if kind == "string":
            return Lit(str(kids[0])[1:-1], offset)
        if kind == "word":
            return Lit(str(kids[0]), offset)
        if kind in ("true", "false", "null"):
            return Lit({"true": True, "false": False, "null": None}[kind], offset)
        if kind == "list":
            items = [self.build(k) for k in kids]
            return Lit([self._literal(i) for i in items], offset)
        if kind == "ref":
            return Ref(self.path(kids[0]), offset)
        if kind == "neg":
            inner = self.build(kids[0])
            return Num(-inner.value, offset) if isinstance(inner, Num) else Neg(inner, offset)
        if kind == "truediv":
            slash = kids[1]
            raise _error(self.source, self.text, slash.start_pos, self.where,
                         "'/' is not integer arithmetic", "write '//' to divide integers")
        if kind in ("add", "sub", "mul", "floordiv"):
            op = {"add": "+", "sub": "-", "mul": "*", "floordiv": "//"}[kind]
            return BinOp(op, self.build(kids[0]), self.build(kids[-1]), offset)
        if kind == "call":
            name, args, kwargs = str(kids[0]), [], []
            for arg in kids[1:]:
                if getattr(arg, "data", None) == "keyword":
                    kwargs.append((str(arg.children[0]), self.build(arg.children[1])))
                else:
                    if kwargs:
                        raise _error(self.source, self.text, self._offset(arg), self.where,
                                     "a positional argument after a keyword argument")
                    args.append(self.build(arg))
            return Call(name, tuple(args), tuple(kwargs), offset)
        raise AssertionError(f"unhandled expression node {kind}")  # grammar and builder disagree

    def _literal(self, item: Expr) -> Any:
        if isinstance(item, (Num, Lit)):
            return item.value
        raise _error(self.source, self.text, item.offset, self.where,
                     "a list literal holds plain values only, not references or calls")


# -- evaluation ------------------------------------------------------------------------------------


class EvaluationError(ValueError):
    """An expression could not be evaluated (division by zero, a non-number operand)."""


def evaluate(expr: Expr, lookup: Callable[[Path], Any]) -> Any:
    """The value of a reference/arithmetic expression; ``lookup`` resolves ``${path}``.

    Arithmetic is exact on integers; ``//`` floors.  Calls (domains) are not values.

    >>> evaluate(parse_expression("(${a} + 2) // 3"), lambda p: 7)
    3
    """
    if isinstance(expr, (Num, Lit)):
        return expr.value
    if isinstance(expr, Ref):
        return lookup(expr.path)
    if isinstance(expr, Neg):
        return -_operand(evaluate(expr.operand, lookup), "-")
    if isinstance(expr, BinOp):
        left = _operand(evaluate(expr.left, lookup), expr.op)
        right = _operand(evaluate(expr.right, lookup), expr.op)
        if expr.op == "+":
            return left + right
        if expr.op == "-":
            return left - right
        if expr.op == "*":
            return left * right
        if isinstance(left, float) or isinstance(right, float):
            raise EvaluationError("'//' takes integers")
        if right == 0:
            raise EvaluationError("division by zero")
        return left // right
    raise EvaluationError(f"{expr.name}(...) is a search domain, not a value")


def _operand(value: Any, op: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvaluationError(f"'{op}' needs numbers, got {value!r}")
    return value


__all__ = ["BinOp", "Call", "EACH", "EvaluationError", "Expr", "ExpressionError", "Lit", "Neg", "Num",
           "Path", "Ref", "Source", "evaluate", "format_path", "parse_expression", "parse_path",
           "references"]

"""Diagnostics: every user-facing error fgir reports.

A :class:`Diagnostic` carries where (file, line, column), what (the spec path
such as ``layer.items.stride[3]``) and why (the message).  Errors travel
together in one :class:`FgirError`, so a run reports every problem it found at
once, formatted the way compilers do::

    spec.yaml:12:9: error: layer.items.stride: 8 values for num_reps 9

A diagnostic may carry notes at other places (the spec line that used a
user block whose Python code failed), and has a JSON form for editors and CI
(``fgir check --format json``).

Example:
    >>> loc = Loc("spec.yaml", 12, 9)
    >>> str(Diagnostic(loc, "layer.items.stride", "8 values for num_reps 9"))
    'spec.yaml:12:9: error: layer.items.stride: 8 values for num_reps 9'
    >>> d = Diagnostic(Loc("stage.py", 7, 9), "", "KeyError: 'x'", notes=(Note(loc, "net: used here"),))
    >>> print(d)
    stage.py:7:9: error: KeyError: 'x'
    spec.yaml:12:9: note: net: used here
    >>> d.to_json()["notes"]
    [{'file': 'spec.yaml', 'line': 12, 'col': 9, 'message': 'net: used here'}]
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Sequence


# characters a terminal or a line-by-line reader acts on: C0 and C1 controls (a tab is kept), DEL, and
# the bidirectional overrides, embeddings and isolates that reorder what is shown (and line separators)
_UNSAFE = {c for c in range(0x20) if c != 0x09} | set(range(0x7F, 0xA0)) | {
    0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
_ESCAPES = {ord("\n"): "\\n", ord("\r"): "\\r"}


def printable(text: str) -> str:
    r"""``text`` with the characters a terminal would act on escaped: safe to print on one line.

    >>> printable("ok\x1b[2J\r\nfake.yaml:1:1: error: injected \u202e")
    'ok\\x1b[2J\\r\\nfake.yaml:1:1: error: injected \\u202e'
    """
    if not any(ord(c) in _UNSAFE for c in text):
        return text
    return "".join(_ESCAPES.get(ord(c)) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
                   if ord(c) in _UNSAFE else c for c in text)


@dataclass(frozen=True, slots=True)
class Loc:
    """A position in a source file; line and column count from 1."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"

    def to_json(self) -> list:
        return [self.file, self.line, self.col]

    @classmethod
    def from_json(cls, data: Sequence) -> "Loc":
        return cls(str(data[0]), int(data[1]), int(data[2]))


UNKNOWN_LOC = Loc("<unknown>")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value or node comes from: a source location and a spec path."""

    loc: Loc
    path: str

    def child(self, key: str | int, loc: Loc | None = None) -> "Origin":
        """The origin of a member: ``items`` → ``items.stride``, ``stride`` → ``stride[3]``."""
        if isinstance(key, int):
            path = f"{self.path}[{key}]"
        else:
            path = f"{self.path}.{key}" if self.path else key
        return Origin(loc or self.loc, path)

    def to_json(self) -> list:
        return [*self.loc.to_json(), self.path]

    @classmethod
    def from_json(cls, data: Sequence) -> "Origin":
        return cls(Loc.from_json(data[:3]), str(data[3]))


@dataclass(frozen=True, slots=True)
class Note:
    """Another place a diagnostic is about: where a failing user block is used in the spec."""

    loc: Loc
    message: str

    def to_json(self) -> dict:
        return {"file": self.loc.file, "line": self.loc.line, "col": self.loc.col, "message": self.message}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One message about the user's input."""

    loc: Loc
    path: str
    message: str
    severity: str = "error"
    hint: str | None = None
    subject: str | None = None   # the IR node or block scope it is about, when there is one
    notes: tuple[Note, ...] = ()

    @classmethod
    def at(cls, origin: Origin, message: str, *, hint: str | None = None,
           severity: str = "error", subject: str | None = None) -> "Diagnostic":
        return cls(origin.loc, origin.path, message, severity, hint, subject)

    def __str__(self) -> str:
        # one line each, in compiler form: what the spec or a file name brings (an escape sequence, a
        # newline, a right-to-left override) is shown escaped, never acted on by a terminal or a parser
        loc = printable(str(self.loc))
        where = f"{printable(self.path)}: " if self.path else ""
        text = f"{loc}: {self.severity}: {where}{printable(self.message)}"
        if self.hint:
            text += f"\n{loc}: note: {printable(self.hint)}"
        for note in self.notes:
            text += f"\n{printable(str(note.loc))}: note: {printable(note.message)}"
        return text

    def to_json(self) -> dict:
        """The fields as a JSON object (``fgir check --format json``): file, line, col (0 when the
        diagnostic is about a whole file), path, severity, message, hints, notes."""
        return {"file": self.loc.file, "line": self.loc.line, "col": self.loc.col, "path": self.path,
                "severity": self.severity, "message": self.message, "hints": [self.hint] if self.hint else [],
                "notes": [note.to_json() for note in self.notes]}


class FgirError(Exception):
    """Base of every error fgir reports about its input; holds one or more diagnostics.

    The first diagnostic's fields are exposed as ``file``, ``line``, ``column``,
    ``spec_path`` and ``message``; ``pass_name`` names the compiler pass that
    found the problem, when one did.
    """

    def __init__(self, diagnostics: Diagnostic | Iterable[Diagnostic], pass_name: str | None = None):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        if not self.diagnostics:
            raise ValueError("FgirError needs at least one diagnostic")
        self.pass_name = pass_name
        super().__init__(self.render())

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def file(self) -> str:
        return self.diagnostics[0].loc.file

    @property
    def line(self) -> int:
        return self.diagnostics[0].loc.line

    @property
    def column(self) -> int:
        return self.diagnostics[0].loc.col

    @property
    def spec_path(self) -> str:
        return self.diagnostics[0].path

    @property
    def message(self) -> str:
        return self.diagnostics[0].message

    def render(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics)


class SpecIOError(FgirError):
    """The spec (or another input file) could not be read: exit status 2 in the CLI."""


class ArgumentError(FgirError, TypeError, ValueError):
    """A wrong argument to a public function (not a problem in a spec): the diagnostic names the
    function and the argument, ``fgir.compile: error: input: expected CxHxW ...``.

    Also a TypeError and a ValueError, so code that catches those (as for any Python
    function) keeps working.

    >>> raise ArgumentError.of("fgir.compile", "input", "expected CxHxW such as 3x32x32, got '64x64'")
    Traceback (most recent call last):
    fgir.diagnostics.ArgumentError: fgir.compile: error: input: expected CxHxW such as 3x32x32, got '64x64'
    """

    @classmethod
    def of(cls, function: str, argument: str, message: str, hint: str | None = None) -> "ArgumentError":
        return cls(Diagnostic(Loc(function), argument, message, hint=hint))


class Diagnostics:
    """A collector: passes and the front end report here, then :meth:`raise_if_errors`."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, origin: Origin, message: str, *, hint: str | None = None,
              subject: str | None = None) -> None:
        self.items.append(Diagnostic.at(origin, message, hint=hint, subject=subject))

    def warning(self, origin: Origin, message: str, *, hint: str | None = None) -> None:
        self.items.append(Diagnostic.at(origin, message, hint=hint, severity="warning"))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def raise_if_errors(self, pass_name: str | None = None) -> None:
        if self.has_errors:
            ordered = sorted(self.items, key=lambda d: (d.severity != "error", d.loc.file,
                                                        d.loc.line, d.loc.col))
            raise FgirError(ordered, pass_name=pass_name)


def closest(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate ``name`` is most likely a misspelling of, or None when nothing is close."""
    close = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A "did you mean" hint for a misspelt name, or None when nothing is close.

    >>> did_you_mean("BasicBlok", ["BasicBlock", "BottleneckBlock"])
    "did you mean 'BasicBlock'?"
    """
    close = closest(name, candidates)
    return f"did you mean '{close}'?" if close else None

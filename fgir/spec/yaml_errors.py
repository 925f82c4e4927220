"""PyYAML's (libyaml's) parse errors in the user's words: what is wrong, and where.

libyaml reports the state its parser was in ("mapping values are not allowed in
this context"); a spec's author wants to know which mistake that was: a tab in the
indentation, a second ``key:`` on one line, a list never closed, a quote never
closed.  :func:`explain` turns one into a message, a hint and the place to point at.

Example:
    >>> import yaml
    >>> text = "search_space:\\n\\tmodules: [net]\\n"
    >>> try:
    ...     yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    ... except yaml.MarkedYAMLError as exc:
    ...     print(explain(exc, text))
    ('a tab in the indentation: YAML indents with spaces only', None, (2, 1))
"""

from __future__ import annotations

from typing import Any

Explained = tuple[str, "str | None", "tuple[int, int] | None"]   # message, hint, (line, column) from 1


def _mark(mark: Any) -> tuple[int, int] | None:
    return (mark.line + 1, mark.column + 1) if mark is not None else None


def _tab_in_indentation(lines: list[str], line: int) -> tuple[int, int] | None:
    """The first tab in the leading whitespace of ``line`` (or the line before it), as (line, column)."""
    for number in (line, line - 1):
        if 1 <= number <= len(lines):
            text = lines[number - 1]
            lead = text[: len(text) - len(text.lstrip(" \t"))]
            if "\t" in lead:
                return number, lead.index("\t") + 1
    return None


def explain(exc: Any, text: str) -> Explained:
    """The message, hint and position (None: keep libyaml's) for a ``yaml.MarkedYAMLError`` of ``text``."""
    problem, context = exc.problem or "", exc.context or ""
    at, opened = _mark(exc.problem_mark), _mark(exc.context_mark)
    lines = text.splitlines()
    tab = _tab_in_indentation(lines, at[0]) if at else None
    if tab is not None and ("tab" in problem or "cannot start any token" in problem or "indentation" in problem
                            or "expected key" in problem or "mapping values" in problem):
        return "a tab in the indentation: YAML indents with spaces only", None, tab
    line = lines[at[0] - 1] if at and at[0] <= len(lines) else ""
    char = line[at[1] - 1] if at and 0 < at[1] <= len(line) else ""
    at_open = f" at {opened[0]}:{opened[1]}" if opened else ""
    if "mapping values are not allowed" in problem:
        if ": " in line[: max(at[1] - 1, 0)] or line[: max(at[1] - 1, 0)].rstrip().endswith(":"):
            return ("a second 'key:' on one line: a value cannot itself be 'key: value'",
                    "put the inner mapping on the next lines, indented, or in braces ({type: ResNet}); "
                    "quote a value that holds ': '", at)
        return ("this line does not start a key: it continues the value of the line above",
                "check its indentation, and that the line above has its ':'", at)
    if "did not find expected key" in problem:
        return ("this line is not a key of the mapping it is indented into",
                f"the keys of one mapping start in the same column (this one starts{at_open}); check the "
                "indentation", at)
    if "expected '-' indicator" in problem:
        return ("a 'key: value' line inside a list whose items start with '- '",
                f"indent it under an item, or make it an item (the list starts{at_open})", at)
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        kind, close = ("list", "]") if "]" in problem else ("mapping", "}")
        opener = "[" if close == "]" else "{"
        return f"the '{opener}' {kind} opened{at_open} is not closed: expected ',' or '{close}'", None, at
    if "end of stream" in problem and "quoted scalar" in context:
        return f"the quoted string opened{at_open} is never closed", None, opened or at
    if "undefined alias" in problem:
        name = line[at[1]:].split()[0].rstrip(",]}") if at else ""
        return f"'*{name}' refers to no anchor: define it first with '&{name}'", None, at
    if "could not find expected ':'" in problem:
        return ("a line that is neither 'key: value' nor a list item: a ':' is missing", None, opened or at)
    if "cannot start any token" in problem and char:
        return (f"'{char}' cannot start a plain value in YAML", f"quote the value: '{line[at[1] - 1:].strip()}'", at)
    if "unknown escape character" in problem:
        return ("an unknown escape in a double-quoted string",
                "write backslashes in single quotes ('a\\b'), or double them (\"a\\\\b\")", at)
    if "another document" in problem:
        return "a second YAML document ('---'): a spec is one document", None, at
    if "expected node content" in problem:
        return (f"'{char}' cannot start a value here" if char else "a value is missing here",
                "quote a value that starts with one of YAML's reserved characters", at)
    return problem or context or "malformed YAML", None, None


__all__ = ["explain"]

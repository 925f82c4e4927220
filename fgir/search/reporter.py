"""How search settings report their problems: the spec's at their line and column (exit 1), command-line
and API arguments' as :class:`SearchUsageError` (exit 2), all of them at once.

Example:
    >>> report = Reporter(None, "fgir search")
    >>> report.arg("--budget", "the budget must be a positive integer, got 0")
    >>> try:
    ...     report.raise_if_errors()
    ... except SearchUsageError as exc:
    ...     print(exc.render())
    fgir search: error: --budget: the budget must be a positive integer, got 0
"""

from __future__ import annotations

from typing import Any

from fgir.diagnostics import Diagnostic, Diagnostics, FgirError, Loc, Origin
from fgir.spec.yaml_loader import SMap


class SearchUsageError(FgirError):
    """A bad search setting given on the command line or to the API (exit status 2)."""


class Reporter:
    """Collects problems: spec ones at their location, argument ones as usage errors."""

    def __init__(self, section: SMap | None, where: str) -> None:
        self.section, self.where = section, where
        self.spec = Diagnostics()
        self.usage: list[Diagnostic] = []

    def arg(self, flag: str, message: str, hint: str | None = None) -> None:
        self.usage.append(Diagnostic(Loc(self.where), flag, message, hint=hint))

    def key(self, key: str, message: str, hint: str | None = None, loc: Loc | None = None) -> None:
        loc = loc or (self.section.value_loc(key) if self.section is not None else Loc(self.where))
        self.spec.error(Origin(loc, f"search_algorithm.{key}"), message, hint=hint)

    def raise_if_errors(self) -> None:
        if self.usage:
            raise SearchUsageError(self.usage)
        self.spec.raise_if_errors()


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_positive_int(value: Any) -> bool:
    return is_integer(value) and value > 0


def report_either(report: Reporter, override: Any, flag: str, key: str, message: str, hint: str | None,
            loc: Loc | None) -> None:
    if override is not None:
        report.arg(flag, message, hint)
    else:
        report.key(key, message, hint, loc=loc)


__all__ = ["Reporter", "SearchUsageError", "is_integer", "is_positive_int", "report_either"]

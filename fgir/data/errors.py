"""Bad data is the user's error: one diagnostic naming the file (exit status 2 in the CLI).

Example:
    >>> str(data_error("train.npz", "x holds 10 images but y holds 9 labels").diagnostics[0])
    'train.npz: error: x holds 10 images but y holds 9 labels'
"""

from __future__ import annotations

from pathlib import Path

from fgir.diagnostics import Diagnostic, Loc, SpecIOError


class DataError(SpecIOError):
    """A data set that cannot be used as given: missing, unreadable, or inconsistent."""


def data_error(path: str | Path, message: str, hint: str | None = None) -> DataError:
    return DataError(Diagnostic(Loc(str(path)), "", message, hint=hint))


__all__ = ["DataError", "data_error"]

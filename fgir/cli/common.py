"""What every sub-command shares: exit codes, the usage error, argument types, common options."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class UsageError(Exception):
    """A bad command line (exit 2)."""


def input_arg(text: str) -> str:
    """An argparse type for ``--input CxHxW``."""
    from fgir.api import parse_input

    try:
        parse_input(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def positive_int(what: str) -> Callable[[str], int]:
    """An argparse type: a whole number of 1 or more, else a message naming ``what``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"expected {what} of 1 or more, got '{text}'")
        return value
    return parse


def number_in(accepts: Callable[[float], bool], what: str) -> Callable[[str], float]:
    """An argparse type: a number that ``accepts`` takes, else "``what``, got '...'".

    >>> number_in(lambda v: v > 0, "a size is above 0")("2.5")
    2.5
    """
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")   # accepted by no range
        if not accepts(value):
            raise argparse.ArgumentTypeError(f"{what}, got '{text}'")
        return value
    return parse


def add_common(p: argparse.ArgumentParser, several: bool = False, stdin: bool = False) -> None:
    """The spec (several, for ``fgir check``; ``-`` for stdin where the command reads it) and the options
    every compiling command takes."""
    if several:
        p.add_argument("spec", nargs="+", help="the spec files (YAML); - reads one from stdin")
    else:
        p.add_argument("spec", help="the spec file (YAML)" + ("; - reads it from stdin" if stdin else ""))
    p.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                   help="import a Python file or module that registers user blocks (repeatable)")
    p.add_argument("--input", type=input_arg, metavar="CxHxW",
                   help="input size, e.g. 3x32x32 (default: what the network's stem expects)")
    p.add_argument("--verify", action="store_true",
                   help="check the IR's invariants after every compiler pass (for debugging fgir)")


def print_warnings(graph) -> None:
    for text in graph.meta.get("warnings", []):
        print(text, file=sys.stderr)


# what to install for a package a command needs: fgir's own dependencies, or the extra that brings it (fgir is
# installed from its checkout or a wheel, not from an index: an extra is named on that path, '.[viz]')
INSTALL = {"torch": "fgir", "onnx": "fgir", "onnxruntime": "fgir", "graphviz": "graphviz (fgir's viz extra)",
           "sklearn": "scikit-learn optuna (fgir's search extra)", "optuna": "scikit-learn optuna (fgir's search extra)",
           "ray": "ray (fgir's ray extra)"}


def missing_package_message(package: str) -> str:
    """``fgir: error: ...`` for a Python package a command needs that is not installed (exit 2)."""
    what = INSTALL.get(package)
    how = (f"pip install {package} (one of fgir's own dependencies)" if what == "fgir"
           else f"pip install {what or package}")
    return f"this needs the Python package '{package}', which is not installed: {how}"


def refuse_overwriting_spec(output: str, spec: str) -> None:
    from pathlib import Path

    out = Path(output)
    if out.exists() and spec != "-" and out.resolve() == Path(spec).resolve():
        raise UsageError(f"-o {out} would overwrite the input spec")

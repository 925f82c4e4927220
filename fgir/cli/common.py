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


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="the spec file (YAML)")
    p.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                   help="import a Python file or module that registers user blocks (repeatable)")
    p.add_argument("--input", type=input_arg, metavar="CxHxW",
                   help="input size, e.g. 3x32x32 (default: what the network's stem expects)")
    p.add_argument("--verify", action="store_true",
                   help="check the IR's invariants after every compiler pass (for debugging fgir)")


def print_warnings(graph) -> None:
    for text in graph.meta.get("warnings", []):
        print(text, file=sys.stderr)


def refuse_overwriting_spec(output: str, spec: str) -> None:
    from pathlib import Path

    out = Path(output)
    if out.exists() and out.resolve() == Path(spec).resolve():
        raise UsageError(f"-o {out} would overwrite the input spec")

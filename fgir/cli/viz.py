"""``fgir viz``: the IR as a picture (.svg, .png, .dot, .html), errors drawn in red."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fgir.cli.common import (EXIT_OK, EXIT_SPEC, UsageError, add_common, positive_int, print_warnings,
                             refuse_overwriting_spec)


def cmd_viz(args: argparse.Namespace) -> int:
    """Draw the IR (after ``--after``, default every pass); spec errors are drawn, then exit 1."""
    from fgir.api import load
    from fgir.viz import FORMATS, check_renderer, pass_names, run_until, write

    out = Path(args.output)
    refuse_overwriting_spec(args.output, args.spec)
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"-o {out}: unknown picture format '{out.suffix}'; "
                         f"use one of {', '.join(FORMATS)}")
    if args.after is not None and args.after not in pass_names():
        raise UsageError(f"--after {args.after}: not a pass of the default pipeline "
                         f"({', '.join(pass_names())})")
    check_renderer(out.suffix)   # before compiling: a missing 'dot' is exit 2, not a wasted run
    stage = run_until(load(args.spec), args.after, input=args.input, verify=args.verify or None)
    print_warnings(stage.graph)
    caption = f"IR after {stage.after}" if args.after or stage.failed else None
    if stage.failed:
        caption = f"IR after {stage.after}, which found errors"
    write(stage.graph, out, args.depth, diagnostics=stage.errors, caption=caption)
    for diag in stage.diagnostics:
        print(diag, file=sys.stderr)
    if stage.errors:
        count = len(stage.errors)
        print(f"fgir: {count} error{'s' if count != 1 else ''} (found by pass {stage.failed}), "
              f"drawn in red in {out}", file=sys.stderr)
        return EXIT_SPEC
    print(f"wrote {out}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("viz", help="draw the IR as a picture (.svg, .png, .dot, .html), errors in red")
    add_common(p)
    p.add_argument("-o", "--output", required=True,
                   help="output file; its suffix picks the format: .svg, .png, .dot or .html")
    p.add_argument("--depth", type=positive_int("a depth"), default=None, metavar="N",
                   help="draw blocks nested deeper than N as one node each (default: all expanded)")
    p.add_argument("--after", metavar="PASS", default=None,
                   help="draw the IR after this pass of the default pipeline (default: all passes)")
    p.set_defaults(func=cmd_viz)

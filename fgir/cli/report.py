"""``fgir report``: the page of a search's results (the Pareto front, every candidate, the best so far)."""

from __future__ import annotations

import argparse
import sys

from fgir.cli.common import EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report of the search in OUTDIR to -o (.html, .svg or .png)."""
    from fgir.search.page import write_report

    path = write_report(args.folder, args.output, x=args.x, y=args.y)
    print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="a page of a search's results: the Pareto front, every candidate, the best")
    p.add_argument("folder", metavar="OUTDIR", help="the output folder of an fgir search run")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="report.html (one self-contained page), report.svg or report.png")
    p.add_argument("--x", metavar="METRIC", help="the front's horizontal metric (default: the second objective)")
    p.add_argument("--y", metavar="METRIC", help="the front's vertical metric (default: the first objective)")
    p.set_defaults(func=cmd_report)

"""``fgir space``: what a search space holds before anything is trained (counts, costs, limits, duplicates)."""

from __future__ import annotations

import argparse
import json
import sys

from fgir.cli.common import EXIT_OK, EXIT_USAGE, add_common, positive_int


def cmd_space(args: argparse.Namespace) -> int:
    """Print the space report (text or JSON); with --html also write the page of histograms."""
    from fgir.search import SearchUsageError
    from fgir.search.page import write_space_page
    from fgir.search.space_report import space_report

    limits = {name: getattr(args, name) for name in ("max_macs", "max_params")
              if getattr(args, name) is not None}
    try:
        report = space_report(args.spec, samples=args.samples, constraints=limits or None, seed=args.seed,
                              input=args.input, where="fgir space", latency_model=args.latency_model)
    except SearchUsageError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(report.to_json(), indent=1) if args.format == "json" else report.text())
    if args.html:
        print(f"wrote {write_space_page(report, args.html)}", file=sys.stderr)
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from fgir.search.space_report import DEFAULT_SAMPLES, FALLBACK_SAMPLES

    p = sub.add_parser("space", help="the search space before any training: its size, the params and MACs of "
                                     "samples, the share within limits, the smallest and largest, duplicates")
    add_common(p)
    p.add_argument("--samples", type=positive_int("a number of samples"), default=None, metavar="N",
                   help=f"candidates to cost (default {DEFAULT_SAMPLES:,} by the space's symbolic formula, a few "
                        f"seconds; {FALLBACK_SAMPLES} compiled, about 5 s, where it has none); a space of at most N "
                        "candidates is costed whole, exactly")
    p.add_argument("--seed", type=int, default=0, help="the samples' seed (default 0)")
    p.add_argument("--max-macs", type=int, metavar="N", help="the share of candidates within N MACs, and "
                                                             "what pushes them over")
    p.add_argument("--max-params", type=int, metavar="N", help="the same for N parameters")
    p.add_argument("--latency-model", metavar="MACHINE.json",
                   help="also the distribution of latency_ms, predicted by this file (fgir latency calibrate)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="the printed form (default text)")
    p.add_argument("--html", metavar="OUT.html", help="also write a page with the histograms")
    p.set_defaults(func=cmd_space)

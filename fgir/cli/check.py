"""``fgir check`` and ``fgir summary``: compile a spec and report on it (no torch imported)."""

from __future__ import annotations

import argparse
import json
import sys

from fgir.cli.common import EXIT_OK, add_common, print_warnings


def cmd_check(args: argparse.Namespace) -> int:
    from fgir.api import compile

    graph = compile(args.spec, input=args.input, dump_after=args.dump_after, dump_to=sys.stdout,
                    verify=args.verify or None)
    space = None
    if graph.meta.get("hyper_parameters"):
        from fgir.search import Space  # the static path: no torch

        space = Space.from_spec(args.spec)
    print_warnings(graph)
    print(f"{args.spec}: ok: {len(graph) - 1} layers, {graph.meta['params']:,} parameters, "
          f"{graph.meta['macs']:,} MACs for input {'x'.join(map(str, graph.meta['input']))}")
    if space is not None:
        print(f"{args.spec}: ok: {len(space.dimensions)} searchable hyper-parameters "
              f"({', '.join(space.keys)})")
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    from fgir.api import compile
    from fgir.report import format_groups, format_table, summarize, summarize_groups

    graph = compile(args.spec, input=args.input, verify=args.verify or None)
    print_warnings(graph)
    if args.groups:
        groups = summarize_groups(graph)
        print(json.dumps(groups, indent=2) if args.format == "json" else format_groups(groups))
        return EXIT_OK
    summary = summarize(graph)
    print(json.dumps(summary, indent=2) if args.format == "json" else format_table(summary))
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check a spec: types, Repeat lists, channels, shapes")
    add_common(p)
    p.add_argument("--dump-after", action="append", metavar="PASS",
                   help="print the IR after this pass (repeatable; 'all' for every pass)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("summary", help="a row per block with output shape, params and MACs")
    add_common(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--groups", action="store_true",
                   help="list the channel groups (what Prune masks: {group: [...]} name) instead")
    p.set_defaults(func=cmd_summary)

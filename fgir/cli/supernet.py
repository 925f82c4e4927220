"""``fgir supernet info``: what a space's weight-sharing supernet is made of (no training, no torch)."""

from __future__ import annotations

import argparse
import json

from fgir.cli.common import EXIT_OK, input_arg


def cmd_info(args: argparse.Namespace) -> int:
    from fgir.supernet.info import info_text, supernet_info
    from fgir.supernet.ir import build_supernet

    info = supernet_info(build_supernet(args.spec, args.input))
    print(json.dumps(info, indent=1) if args.format == "json" else info_text(info))
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("supernet", help="a search space's weight-sharing supernet (fgir supernet info SPACE)")
    groups = p.add_subparsers(dest="supernet_command", required=True, metavar="SUBCOMMAND")
    info = groups.add_parser("info", help="each dimension, its elastic kind, whether it shares weights, and the "
                                          "supernet's params against the largest candidate's")
    info.add_argument("spec", metavar="SPACE.yaml", help="the search-space spec (what fgir search takes)")
    info.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                      help="import a Python file or module that registers user blocks (repeatable)")
    info.add_argument("--input", type=input_arg, metavar="CxHxW", help="input size (default: the spec's input)")
    info.add_argument("--format", choices=("text", "json"), default="text", help="the printed form (default text)")
    info.set_defaults(func=cmd_info)

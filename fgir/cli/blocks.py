"""``fgir blocks [NAME]``: the block, layer and process types a spec may name, with their typed arguments.

``--plugin FILE.py`` first registers the user's blocks, which are listed with the file they come from.
"""

from __future__ import annotations

import argparse
import json

from fgir.cli.common import EXIT_OK


def _signature(entry: dict) -> str:
    return ", ".join(arg["name"] if arg["required"] else f"{arg['name']}={arg['default']}"
                     for arg in entry["arguments"])


def _detail(entry: dict) -> list[str]:
    family = f", {entry['family']} family" if entry["family"] else ""
    lines = [f"{entry['name']}: a {entry['kind']}{family}, from {entry['from']}"]
    if entry["doc"]:
        lines.append(f"  {entry['doc']}")
    width = max((len(arg["name"]) for arg in entry["arguments"]), default=0)
    for arg in entry["arguments"]:
        given = "required" if arg["required"] else f"default {arg['default']}"
        lines.append(f"  {arg['name']:<{width}}  {arg['type']}; {given}")
    if not entry["arguments"]:
        lines.append("  (no arguments)")
    return lines


def cmd_blocks(args: argparse.Namespace) -> int:
    from fgir.api import block_types

    entries = block_types(args.name)
    if args.format == "json":
        print(json.dumps(entries if args.name is None else entries[0], indent=2))
    elif args.name is not None:
        print("\n".join(_detail(entries[0])))
    else:
        width = max(len(e["name"]) for e in entries)
        for entry in entries:
            source = "" if entry["from"] == "fgir" else f"  [{entry['from']}]"
            print(f"{entry['name']:<{width}}  {entry['kind']:<7}  ({_signature(entry)}){source}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("blocks", help="list the block types a spec may name (plugins' too), with their arguments")
    p.add_argument("name", nargs="?", help="show this type's arguments in detail")
    p.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                   help="import a Python file or module that registers user blocks first (repeatable)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_blocks)

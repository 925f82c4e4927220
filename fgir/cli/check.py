"""``fgir check`` and ``fgir summary``: compile a spec and report on it (no torch imported).

``fgir check`` takes several specs (``-`` reads one from stdin) and reports on each;
its exit status is the worst of theirs (0 ok, 1 errors, 2 an unreadable file).
``--format json`` prints one JSON document for editors and CI::

    {"files": [{"file": "a.yaml", "ok": true, "layers": 21, "params": 272474, "macs": 40813184,
                "input": [3, 32, 32]}],
     "diagnostics": [{"file": "b.yaml", "line": 3, "col": 15, "path": "net.type", "severity": "error",
                      "message": "unknown block type 'ResNt'", "hints": ["did you mean 'ResNet'?"],
                      "notes": []}]}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fgir.cli.common import EXIT_OK, EXIT_SPEC, EXIT_USAGE, UsageError, add_common, print_warnings

STDIN = "-"


def _load(spec: str):
    """What to compile: a file's path (compile loads it: no copy of a loaded graph), or for ``-`` the
    graph of stdin's text, named <stdin>."""
    from fgir.api import loads

    if spec == STDIN:
        return loads(sys.stdin.read(), "<stdin>")
    return Path(spec)


def _shown(spec: str) -> str:
    return "<stdin>" if spec == STDIN else spec


def _check_one(spec: str, args: argparse.Namespace) -> tuple[dict, Any]:
    """Compile one spec: its summary row and its diagnostics (warnings included); raises FgirError."""
    from fgir.api import check_files, compile

    dump_to = None if args.format == "json" else sys.stdout
    graph = compile(_load(spec), input=args.input, dump_after=args.dump_after, dump_to=dump_to,
                    verify=args.verify or None)
    check_files(graph)
    row = {"file": _shown(spec), "ok": True, "layers": len(graph) - 1, "params": graph.meta["params"],
           "macs": graph.meta["macs"], "input": list(graph.meta["input"])}
    keys = search_space_keys(graph)
    if keys is not None:
        row["hyper_parameters"] = keys
    return row, graph


def search_space_keys(graph) -> list[str] | None:
    """The spec's searchable hyper-parameters (None: it has none); an FgirError when they are wrong.
    ``fgir check`` and ``fgir compile`` both ask, so they agree on a spec (exit 1 for both)."""
    if not graph.meta.get("hyper_parameters"):
        return None
    from fgir.search import Space  # the static path: no torch

    return list(Space.from_text(graph.meta["spec"]["text"], graph.meta["spec"]["file"]).keys)


def cmd_check(args: argparse.Namespace) -> int:
    from fgir.diagnostics import FgirError, SpecIOError

    if args.dump_after and args.dump_after != "all":
        from fgir.viz import pass_names

        known = pass_names()
        unknown = [name for name in args.dump_after if name not in known]
        if unknown:
            raise UsageError(f"--dump-after {', '.join(unknown)}: not a pass of the default pipeline "
                             f"({', '.join(known)})")
    if args.spec.count(STDIN) > 1:
        raise UsageError("'-' (stdin) can be given once")
    rows, diagnostics, status = [], [], EXIT_OK
    failures = []   # the final count line sums every file's errors: the count equals the errors printed
    for spec in args.spec:
        try:
            row, graph = _check_one(spec, args)
        except FgirError as exc:
            failed = EXIT_USAGE if isinstance(exc, SpecIOError) else EXIT_SPEC
            status = max(status, failed)
            rows.append({"file": _shown(spec), "ok": False})
            diagnostics += exc.diagnostics
            if args.format != "json":
                print(exc.render(), file=sys.stderr)
                failures.append((exc, failed))
            continue
        rows.append(row)
        if args.format == "json":
            diagnostics += graph.meta.get("warning_diagnostics", [])
            continue
        print_warnings(graph)
        spec = row["file"]
        print(f"{spec}: ok: {row['layers']} layers, {row['params']:,} parameters, {row['macs']:,} MACs "
              f"for input {'x'.join(map(str, row['input']))}")
        if "hyper_parameters" in row:
            keys = row["hyper_parameters"]
            print(f"{spec}: ok: {len(keys)} searchable hyper-parameters ({', '.join(keys)})")
    if args.format == "json":
        print(json.dumps({"files": rows, "diagnostics": [_as_json(d) for d in diagnostics]}, indent=2))
    _print_count(failures)
    return status


def _as_json(diagnostic) -> dict:
    """A Diagnostic's JSON form; a warning kept by the compiled graph is in that form already."""
    return diagnostic if isinstance(diagnostic, dict) else diagnostic.to_json()


def _print_count(failures: list) -> None:
    """``fgir: N errors`` after the diagnostics of every file, N counting all of them (a lone unreadable
    file, exit 2, gets no count: its one line says it all)."""
    if not failures or (len(failures) == 1 and failures[0][1] != EXIT_SPEC):
        return
    count = sum(len(exc.errors) for exc, _ in failures)
    passes = {exc.pass_name for exc, _ in failures}
    where = f" (found by pass {passes.pop()})" if len(failures) == 1 and None not in passes else ""
    print(f"fgir: {count} error{'s' if count != 1 else ''}{where}", file=sys.stderr)


def cmd_summary(args: argparse.Namespace) -> int:
    from fgir.api import compile
    from fgir.report import format_groups, format_table, summarize, summarize_groups

    graph = compile(_load(args.spec), input=args.input, verify=args.verify or None)
    print_warnings(graph)
    if args.groups:
        groups = summarize_groups(graph)
        print(json.dumps(groups, indent=2) if args.format == "json" else format_groups(groups))
        return EXIT_OK
    summary = summarize(graph)
    print(json.dumps(summary, indent=2) if args.format == "json" else format_table(summary))
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check specs: types, Repeat lists, channels, shapes, files")
    add_common(p, several=True)
    p.add_argument("--dump-after", action="append", metavar="PASS",
                   help="print the IR after this pass (repeatable; 'all' for every pass)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="json: one JSON document with each file's result and every diagnostic")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("summary", help="a row per block with output shape, params and MACs")
    add_common(p, stdin=True)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--groups", action="store_true",
                   help="list the channel groups (what Prune masks: {group: [...]} name) instead")
    p.set_defaults(func=cmd_summary)

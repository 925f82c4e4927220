"""The ``fgir`` command line: sub-commands over the public API, no logic of their own.

Exit status: 0 success, 1 errors in the spec, 2 usage or I/O errors,
3 an internal compiler error (a bug in fgir; set FGIR_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Sequence

from fgir.diagnostics import Diagnostic, FgirError, Loc, SpecIOError

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class UsageError(Exception):
    """A bad command line (exit 2)."""


def _input_arg(text: str) -> str:
    from fgir.ir.types import TensorType

    try:
        TensorType.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="the spec file (YAML)")
    p.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                   help="import a Python file or module that registers user blocks (repeatable)")
    p.add_argument("--input", type=_input_arg, metavar="CxHxW",
                   help="input size, e.g. 3x32x32 (default: what the network's stem expects)")


def _print_warnings(graph) -> None:
    for text in graph.meta.get("warnings", []):
        print(text, file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from fgir.api import compile

    graph = compile(args.spec, input=args.input, dump_after=args.dump_after, dump_to=sys.stdout)
    _print_warnings(graph)
    print(f"{args.spec}: ok: {len(graph) - 1} layers, {graph.meta['params']:,} parameters, "
          f"{graph.meta['macs']:,} MACs for input {'x'.join(map(str, graph.meta['input']))}")
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    from fgir.api import compile
    from fgir.report import format_table, summarize

    graph = compile(args.spec, input=args.input)
    _print_warnings(graph)
    summary = summarize(graph)
    print(json.dumps(summary, indent=2) if args.format == "json" else format_table(summary))
    return EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    from fgir.api import compile

    out = Path(args.output)
    if out.exists() and out.resolve() == Path(args.spec).resolve():
        raise UsageError(f"-o {out} would overwrite the input spec")
    writer = WRITERS.get(out.suffix.lower())
    if writer is None:
        raise UsageError(f"-o {out}: unknown output kind '{out.suffix}'; "
                         f"use one of {', '.join(sorted(WRITERS))}")
    graph = compile(args.spec, input=args.input)
    _print_warnings(graph)
    writer(graph, out, args)
    print(f"wrote {out}")
    return EXIT_OK


def _write_torch(graph, out: Path, args: argparse.Namespace) -> None:
    from fgir.api import save_model, to_torch

    save_model(to_torch(graph, seed=args.seed), out)


# the suffix of -o picks the backend
WRITERS: dict[str, Callable[..., None]] = {".pt": _write_torch, ".pth": _write_torch}


def load_plugin(name: str) -> None:
    """Import user code that registers blocks: a ``.py`` file, or an importable module name."""
    import importlib
    import importlib.util

    if name.endswith(".py"):
        path = Path(name)
        if not path.is_file():
            raise SpecIOError(Diagnostic(Loc(name), "", "no such plugin file"))
        spec = importlib.util.spec_from_file_location(f"fgir_plugin_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            raise UsageError(f"--plugin {name}: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    from fgir import __version__

    parser = argparse.ArgumentParser(prog="fgir", description="Compile fine-grained search-space specs.")
    parser.add_argument("--version", action="version", version=f"fgir {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="check a spec: types, Repeat lists, channels, shapes")
    _add_common(p)
    p.add_argument("--dump-after", action="append", metavar="PASS",
                   help="print the IR after this pass (repeatable; 'all' for every pass)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("summary", help="a row per block with output shape, params and MACs")
    _add_common(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("compile", help="compile a spec to a model file (.pt)")
    _add_common(p)
    p.add_argument("-o", "--output", required=True, help="output file; its suffix picks the backend")
    p.add_argument("--seed", type=int, default=None, help="seed for the initial weights")
    p.set_defaults(func=cmd_compile)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "dump_after", None) and "all" in args.dump_after:
        args.dump_after = "all"
    try:
        for plugin in getattr(args, "plugin", []):
            load_plugin(plugin)
        return args.func(args)
    except SpecIOError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    except FgirError as exc:
        print(exc.render(), file=sys.stderr)
        count = len(exc.errors)
        where = f" (found by pass {exc.pass_name})" if exc.pass_name else ""
        print(f"fgir: {count} error{'s' if count != 1 else ''}{where}", file=sys.stderr)
        return EXIT_SPEC
    except UsageError as exc:
        print(f"fgir: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in fgir, not in the spec: say so plainly
        print(f"fgir: internal compiler error: {exc}", file=sys.stderr)
        if os.environ.get("FGIR_DEBUG"):
            traceback.print_exc()
        else:
            print("fgir: this is a bug in fgir; rerun with FGIR_DEBUG=1 for the traceback and "
                  "report it", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())

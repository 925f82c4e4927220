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
from fgir.limits import DEFAULT_MAX_PARAMS

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
    space = None
    if graph.meta.get("hyper_parameters"):
        from fgir.search import Space  # the static path: no torch

        space = Space.from_spec(args.spec)
    _print_warnings(graph)
    print(f"{args.spec}: ok: {len(graph) - 1} layers, {graph.meta['params']:,} parameters, "
          f"{graph.meta['macs']:,} MACs for input {'x'.join(map(str, graph.meta['input']))}")
    if space is not None:
        print(f"{args.spec}: ok: {len(space.dimensions)} searchable hyper-parameters "
              f"({', '.join(space.keys)})")
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    from fgir.api import compile
    from fgir.report import format_groups, format_table, summarize, summarize_groups

    graph = compile(args.spec, input=args.input)
    _print_warnings(graph)
    if args.groups:
        groups = summarize_groups(graph)
        print(json.dumps(groups, indent=2) if args.format == "json" else format_groups(groups))
        return EXIT_OK
    summary = summarize(graph)
    print(json.dumps(summary, indent=2) if args.format == "json" else format_table(summary))
    return EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    from fgir.api import compile

    out = Path(args.output)
    if out.exists() and out.resolve() == Path(args.spec).resolve():
        raise UsageError(f"-o {out} would overwrite the input spec")
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: folder {out.parent} does not exist")
    writer = WRITERS.get(out.suffix.lower())
    if writer is None:
        raise UsageError(f"-o {out}: unknown output kind '{out.suffix}'; "
                         f"use one of {', '.join(sorted(WRITERS))}")
    graph = compile(args.spec, input=args.input)
    _print_warnings(graph)
    writer(graph, out, args)
    print(f"wrote {out}")
    return EXIT_OK


ONNX_ONLY = {"weights": "--weights", "opset": "--opset", "keep_bn": "--keep-bn", "calibrate": "--calibrate"}


def _write_torch(graph, out: Path, args: argparse.Namespace) -> None:
    from fgir.api import save_model, to_torch

    given = [flag for attr, flag in ONNX_ONLY.items() if getattr(args, attr, None) not in (None, False)]
    if given:
        raise UsageError(f"{', '.join(given)} appl{'y' if len(given) > 1 else 'ies'} to .onnx output, "
                         f"not to {out.suffix}")
    save_model(to_torch(graph, seed=args.seed, max_params=args.max_params), out)


def _write_onnx(graph, out: Path, args: argparse.Namespace) -> None:
    if args.weights is not None and args.seed is not None:
        raise UsageError("--seed sets fresh weights; it cannot be combined with --weights")
    try:
        from fgir.api import check_size, to_onnx
        from fgir.backends.onnx import DEFAULT_OPSET, check_opset
    except ImportError as exc:
        raise UsageError(f"-o {out}: ONNX output needs the onnx package ({exc}); "
                         f"pip install 'fgir[onnx]'") from None
    try:
        check_opset(args.opset or DEFAULT_OPSET)
    except ValueError as exc:
        raise UsageError(f"--opset {args.opset}: {exc}") from None
    check_size(graph, args.max_params)
    batches = _calibration_batches(graph, args.calibrate) if args.calibrate else None
    to_onnx(graph, out, weights=args.weights, seed=args.seed, opset=args.opset or DEFAULT_OPSET,
            keep_bn=args.keep_bn, calibrate=batches)


def _calibration_batches(graph, count: int) -> list | None:
    """--calibrate N: N batches of the bundled digits data (fgir downloads nothing; README, Quantization)."""
    if not any(node.meta.get("a_bits", 32) < 32 for node in graph):
        print(f"fgir: warning: --calibrate {count}: the network quantizes no activations; "
              f"there is nothing to calibrate", file=sys.stderr)
        return None
    try:
        from fgir.backends.torch.quant import digits_batches

        return digits_batches(graph.meta["input"], count)
    except ImportError as exc:
        raise UsageError(f"--calibrate calibrates on scikit-learn's bundled digits data ({exc}); "
                         f"pip install 'fgir[search]'") from None
    except ValueError as exc:
        raise UsageError(f"--calibrate: {exc}") from None


# the suffix of -o picks the backend
WRITERS: dict[str, Callable[..., None]] = {".pt": _write_torch, ".pth": _write_torch,
                                           ".onnx": _write_onnx}


def _positive_int(what: str) -> Callable[[str], int]:
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


_count_arg = _positive_int("a number of batches")
_depth_arg = _positive_int("a depth")


def cmd_viz(args: argparse.Namespace) -> int:
    """Draw the IR (after ``--after``, default every pass); spec errors are drawn, then exit 1."""
    from fgir.api import load
    from fgir.viz import FORMATS, check_renderer, pass_names, run_until, write

    out = Path(args.output)
    if out.exists() and out.resolve() == Path(args.spec).resolve():
        raise UsageError(f"-o {out} would overwrite the input spec")
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"-o {out}: unknown picture format '{out.suffix}'; "
                         f"use one of {', '.join(FORMATS)}")
    if args.after is not None and args.after not in pass_names():
        raise UsageError(f"--after {args.after}: not a pass of the default pipeline "
                         f"({', '.join(pass_names())})")
    check_renderer(out.suffix)   # before compiling: a missing 'dot' is exit 2, not a wasted run
    stage = run_until(load(args.spec), args.after, input=args.input)
    _print_warnings(stage.graph)
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


def cmd_search(args: argparse.Namespace) -> int:
    """Search the spec's hyper_parameters; rows to OUTDIR/results.jsonl, the best to OUTDIR/best.yaml."""
    from fgir.search import SearchUsageError, run_search
    from fgir.search.report import ProgressBar, summary_text

    limits = {"max_macs": args.max_macs, "max_params": args.max_params}
    for written in ("best.yaml", "results.jsonl", "search.json"):
        if Path(args.output, written).resolve() == Path(args.spec).resolve():
            raise UsageError(f"-o {args.output} would overwrite the input spec with {written}")
    try:
        with ProgressBar(sys.stderr) as bar:
            result = run_search(
                args.spec, args.output, algorithm=args.algorithm, evaluator=args.evaluator,
                budget=args.budget, workers=args.workers, seed=args.seed, input=args.input,
                constraints={k: v for k, v in limits.items() if v is not None} or None,
                evaluator_options={"epochs": args.epochs} if args.epochs is not None else None,
                progress=bar.update, where="fgir search")
    except SearchUsageError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    print(summary_text(result))
    return EXIT_OK


_LOADED_PLUGINS: set[Path] = set()


def load_plugin(name: str) -> None:
    """Import user code that registers blocks: a ``.py`` file, or an importable module name.

    A file is run once per process, however often it is named.
    """
    import importlib
    import importlib.util

    if name.endswith(".py"):
        path = Path(name)
        if not path.is_file():
            raise SpecIOError(Diagnostic(Loc(name), "", "no such plugin file"))
        if path.resolve() in _LOADED_PLUGINS:
            return
        spec = importlib.util.spec_from_file_location(f"fgir_plugin_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _LOADED_PLUGINS.add(path.resolve())
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
    p.add_argument("--groups", action="store_true",
                   help="list the channel groups (what Prune masks: {group: [...]} name) instead")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("compile", help="compile a spec to a model file (.pt, .onnx)")
    _add_common(p)
    p.add_argument("-o", "--output", required=True, help="output file; its suffix picks the backend")
    p.add_argument("--seed", type=int, default=None, help="seed for the initial weights")
    p.add_argument("--weights", metavar="MODEL.pt", default=None,
                   help="ONNX: take the weights from this fgir checkpoint instead of fresh ones")
    p.add_argument("--opset", type=int, default=None, metavar="N",
                   help="ONNX: the opset to emit (17 to the newest the installed onnx knows; default 21)")
    p.add_argument("--keep-bn", action="store_true",
                   help="ONNX: keep BatchNormalization nodes instead of folding them into convolutions")
    p.add_argument("--calibrate", type=_count_arg, default=None, metavar="N",
                   help="ONNX: set quantized activations' clip ranges from N batches of 32 images of "
                        "scikit-learn's bundled digits, resized to the input (default: the weights' own)")
    p.add_argument("--max-params", type=int, default=DEFAULT_MAX_PARAMS, metavar="N",
                   help=f"refuse networks of more parameters (default {DEFAULT_MAX_PARAMS:,})")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("viz", help="draw the IR as a picture (.svg, .png, .dot, .html), errors in red")
    _add_common(p)
    p.add_argument("-o", "--output", required=True,
                   help="output file; its suffix picks the format: .svg, .png, .dot or .html")
    p.add_argument("--depth", type=_depth_arg, default=None, metavar="N",
                   help="draw blocks nested deeper than N as one node each (default: all expanded)")
    p.add_argument("--after", metavar="PASS", default=None,
                   help="draw the IR after this pass of the default pipeline (default: all passes)")
    p.set_defaults(func=cmd_viz)

    p = sub.add_parser("search", help="search the spec's hyper_parameters; results to an output folder")
    _add_common(p)
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="folder for results.jsonl and best.yaml; an earlier run of the same search "
                        "there is resumed")
    p.add_argument("--algorithm", metavar="NAME",
                   help="RandomSearch, GridSearch, BackboneNasSearch, NSGA2Search "
                        "(default: the spec's search_algorithm type, else RandomSearch)")
    p.add_argument("--evaluator", metavar="NAME", help="static (default) or train")
    p.add_argument("--budget", type=int, metavar="N", help="candidates to evaluate (default 100)")
    p.add_argument("--workers", type=int, default=1, metavar="K",
                   help="evaluate K candidates at once (results are the same for any K)")
    p.add_argument("--seed", type=int, default=None, help="the search's seed (default 0)")
    p.add_argument("--max-macs", type=int, metavar="N", help="candidates above N MACs are invalid")
    p.add_argument("--max-params", type=int, metavar="N", help="candidates above N parameters are invalid")
    p.add_argument("--epochs", type=int, metavar="N", help="train evaluator: epochs per candidate")
    p.set_defaults(func=cmd_search)
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
    except OSError as exc:  # writing an output: a missing folder, a full disk, no permission
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"fgir: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `fgir summary | head`: the reader left; not an error of ours
        sys.stderr = sys.stdout = open(os.devnull, "w")
        return EXIT_OK
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

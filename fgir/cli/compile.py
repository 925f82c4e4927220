"""``fgir compile``: a spec to a model file, its suffix picking the backend (.pt, .onnx)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from fgir.cli.common import EXIT_OK, UsageError, add_common, positive_int, print_warnings, refuse_overwriting_spec
from fgir.cli.check import search_space_keys
from fgir.limits import DEFAULT_MAX_PARAMS, DEFAULT_MEMORY_FRACTION, check_memory, parse_bytes
from fgir.api import CALIBRATION_METHODS, ONNX_FORMS

ONNX_ONLY = {"opset": "--opset", "keep_bn": "--keep-bn", "calibrate": "--calibrate",
             "calibrate_data": "--calibrate-data", "quant_form": "--quant-form", "calibration": "--calibration",
             "bake_preprocess": "--bake-preprocess"}


def cmd_compile(args: argparse.Namespace) -> int:
    from fgir.api import compile

    out = Path(args.output)
    refuse_overwriting_spec(args.output, args.spec)
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: folder {out.parent} does not exist")
    writer = WRITERS.get(out.suffix.lower())
    if writer is None:
        raise UsageError(f"-o {out}: unknown output kind '{out.suffix}'; "
                         f"use one of {', '.join(sorted(WRITERS))}")
    graph = compile(args.spec, input=_input(args), verify=args.verify or None)
    print_warnings(graph)
    search_space_keys(graph)   # what fgir check reports of the spec, compile reports too (same exit status)
    # the weights are held about three times over (the module; for ONNX, the arrays and the file's encoding)
    check_memory(graph, args.max_memory, copies=3 if writer is _write_onnx else 2)
    writer(graph, out, args)
    print(f"wrote {out}")
    return EXIT_OK


def _input(args: argparse.Namespace) -> str | None:
    """The input to compile for: with --weights, the size a checkpoint records (what it was trained at);
    an --input of another size is refused, naming both."""
    from fgir.api import parse_input
    from fgir.training.predict import recorded_input

    recorded = recorded_input(args.weights) if args.weights is not None and Path(args.weights).is_file() else None
    if recorded is None:
        return args.input
    size = "x".join(map(str, recorded))
    if args.input is not None and list(parse_input(args.input).dims) != recorded:
        raise UsageError(f"--input {args.input} conflicts with --weights {args.weights}, which records input {size} "
                         f"(the size it was trained at); drop --input to compile for {size}")
    return size


def _write_torch(graph, out: Path, args: argparse.Namespace) -> None:
    from fgir.api import save_model, to_torch

    given = [flag for attr, flag in ONNX_ONLY.items() if getattr(args, attr, None) not in (None, False)]
    if given:
        raise UsageError(f"{', '.join(given)} appl{'y' if len(given) > 1 else 'ies'} to .onnx output, "
                         f"not to {out.suffix}")
    if args.weights is not None and args.seed is not None:
        raise UsageError("--seed sets fresh weights; it cannot be combined with --weights")
    save_model(to_torch(graph, seed=args.seed, max_params=args.max_params, weights=args.weights), out)


def _write_onnx(graph, out: Path, args: argparse.Namespace) -> None:
    from fgir.api import check_opset, check_size, to_onnx

    if args.weights is not None and args.seed is not None:
        raise UsageError("--seed sets fresh weights; it cannot be combined with --weights")
    try:
        if args.opset is not None:
            check_opset(args.opset)
    except ImportError as exc:
        raise UsageError(f"-o {out}: ONNX output needs the onnx package ({exc}); "
                         f"pip install onnx onnxruntime (fgir's own dependencies)") from None
    except ValueError as exc:   # an ArgumentError: its message, without the API function's name
        raise UsageError(f"--opset {args.opset}: {getattr(exc, 'message', exc)}") from None
    check_size(graph, args.max_params)
    if args.calibrate_data and not args.calibrate:
        raise UsageError("--calibrate-data says what to calibrate on; --calibrate N says how many batches")
    batches = _calibration_batches(graph, args.calibrate, args.calibrate_data) if args.calibrate else None
    to_onnx(graph, out, weights=args.weights, seed=args.seed, opset=args.opset, keep_bn=args.keep_bn,
            calibrate=batches, calibration=args.calibration or "percentile", form=args.quant_form or "integer",
            bake_preprocess=args.bake_preprocess)


def _calibration_batches(graph, count: int, data: str | None) -> list | None:
    """--calibrate N [--calibrate-data PATH]: N batches of 32 images, the bundled digits by default."""
    from fgir.api import calibration_batches, quantizes_activations

    if not quantizes_activations(graph):
        print(f"fgir: warning: --calibrate {count}: the network is not quantized; "
              f"there is nothing to calibrate", file=sys.stderr)
        return None
    try:
        return calibration_batches(graph, count, data or "digits")
    except ImportError as exc:
        raise UsageError(f"--calibrate calibrates on scikit-learn's bundled digits data ({exc}); "
                         f"pip install scikit-learn optuna (fgir's search extra)") from None
    except ValueError as exc:
        raise UsageError(f"--calibrate: {getattr(exc, 'message', exc)}") from None


# the suffix of -o picks the backend
WRITERS: dict[str, Callable[..., None]] = {".pt": _write_torch, ".pth": _write_torch, ".onnx": _write_onnx}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile a spec to a model file (.pt, .onnx)")
    add_common(p)
    p.add_argument("-o", "--output", required=True, help="output file; its suffix picks the backend")
    p.add_argument("--seed", type=int, default=None, help="seed for the initial weights")
    p.add_argument("--weights", metavar="MODEL.pt", default=None,
                   help="take the weights from this file (an fgir checkpoint, or torch.save(model.state_dict())) "
                        "instead of fresh ones")
    p.add_argument("--opset", type=int, default=None, metavar="N",
                   help="ONNX: the opset to emit (17 to the newest the installed onnx knows; default 21)")
    p.add_argument("--keep-bn", action="store_true",
                   help="ONNX: keep BatchNormalization nodes instead of folding them into convolutions")
    p.add_argument("--calibrate", type=positive_int("a number of batches"), default=None, metavar="N",
                   help="ONNX: set the quantization ranges from N batches of 32 images of "
                        "--calibrate-data (post-training quantization of float weights; default: the "
                        "weights' own, from QAT)")
    p.add_argument("--calibrate-data", metavar="PATH", default=None,
                   help="ONNX: what --calibrate calibrates on: an image folder, an .npz with x and y, or "
                        "'digits' (the default), prepared as fgir train prepares them")
    p.add_argument("--calibration", choices=CALIBRATION_METHODS, default=None,
                   help="ONNX: how --calibrate sets each range (default percentile: 99.99th, robust to outliers)")
    p.add_argument("--bake-preprocess", action="store_true",
                   help="ONNX: put the input normalisation the weights were trained with into the graph (its "
                        "first op), so the file takes images in [0, 1]; it is recorded in the metadata either way")
    p.add_argument("--quant-form", choices=ONNX_FORMS, default=None,
                   help="ONNX: quantized layers as integer kernels (default; fast) or with 4-bit weights "
                        "packed two a byte and run in float (smallest file)")
    p.add_argument("--max-params", type=int, default=DEFAULT_MAX_PARAMS, metavar="N",
                   help=f"refuse networks of more parameters (default {DEFAULT_MAX_PARAMS:,})")
    p.add_argument("--max-memory", type=memory_size, default=None, metavar="BYTES",
                   help="refuse, before allocating anything, networks whose weights and activations would take "
                        f"more memory (e.g. 8G; default {DEFAULT_MEMORY_FRACTION:.0%} of this machine's)")
    p.set_defaults(func=cmd_compile)


def memory_size(text: str) -> int:
    """An argparse type for ``--max-memory``: bytes, or with K, M, G, T."""
    try:
        return parse_bytes(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size such as 8G or 512M, got '{text}'") from None

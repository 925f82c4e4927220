"""``fgir latency``: fit a latency predictor to measurements on this machine, and measure (or predict) a spec."""

from __future__ import annotations

import argparse
from pathlib import Path

from fgir.cli.common import EXIT_OK, UsageError, add_common, input_arg, positive_int
from fgir.latency.default_space import MAX_CANDIDATES

def candidates_arg(text: str) -> int:
    """An argparse type: how many candidates to measure, 2 to 20."""
    value = int(text) if text.strip().isdigit() else 0
    if not 2 <= value <= MAX_CANDIDATES:
        raise argparse.ArgumentTypeError(f"measure from 2 to {MAX_CANDIDATES} candidates, got '{text}'")
    return value


def _settings(args: argparse.Namespace):
    from fgir.latency import Latency

    return Latency(batch=args.batch, threads=args.threads, repeats=args.repeats)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from fgir.search.evaluators.latency import calibrate

    out = Path(args.output)
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: folder {out.parent} does not exist")
    model = calibrate(args.space, candidates=args.candidates, input=args.input, seed=args.seed,
                      settings=_settings(args))
    about, machine = model.calibration, model.machine
    print(f"measured {about['candidates']} candidates of {about['space']} ({about['input']}): "
          f"{min(about['measured_ms']):.3f} to {max(about['measured_ms']):.3f} ms; "
          f"the fit's largest error {about['max_error']:.1%}")
    print(f"wrote {model.save(out)} (for {machine['cpu']}, {machine['cores']} cores, ONNX Runtime "
          f"{machine['onnxruntime']}; batch {model.batch}, {model.threads} thread{'s' if model.threads > 1 else ''})")
    return EXIT_OK


def cmd_measure(args: argparse.Namespace) -> int:
    import fgir
    from fgir.latency import load_predictor, measure_latency

    settings = _settings(args)
    predictor = load_predictor(args.model, settings) if args.model else None   # refused before measuring
    graph = fgir.compile(args.spec, input=args.input, verify=args.verify or None)
    measured = measure_latency(graph, settings)
    print(f"{args.spec}: measured {measured:.3f} ms (median of {settings.repeats} runs, batch {settings.batch}, "
          f"{settings.threads} thread{'s' if settings.threads > 1 else ''})")
    if predictor is not None:
        predicted = predictor.predict(graph)
        print(f"  predicted {predicted:.3f} ms by {args.model} ({(predicted - measured) / measured:+.1%})")
    return EXIT_OK


def _measuring(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch", type=positive_int("a batch size"), default=1, metavar="N",
                   help="images per inference (default 1)")
    p.add_argument("--threads", type=positive_int("a number of threads"), default=1, metavar="N",
                   help="ONNX Runtime's intra-op threads (default 1)")
    p.add_argument("--repeats", type=positive_int("a number of runs"), default=20, metavar="N",
                   help="timed runs per measurement (default 20; the median counts)")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("latency", help="latency on this machine: fit a predictor (calibrate), measure a spec",
                       description="Latency in ONNX Runtime on this machine: fit a predictor that search and "
                                   "'fgir space' use instead of measuring, or measure one spec.")
    commands = p.add_subparsers(dest="latency_command", required=True, metavar="COMMAND")
    cal = commands.add_parser("calibrate", help="measure candidates of a space and fit a predictor to them",
                              description="Measure up to 20 candidates of SPACE (spread over its MACs) in ONNX "
                                          "Runtime and fit a per-kind linear model of each node's MACs and "
                                          "outputs; the file is for this machine and ONNX Runtime only.")
    cal.add_argument("space", nargs="?", metavar="SPACE.yaml",
                     help="the search space to calibrate on (default: a MobileNet-style space at 3x32x32)")
    cal.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                     help="import a Python file or module that registers user blocks (repeatable)")
    cal.add_argument("--input", type=input_arg, metavar="CxHxW", help="input size (default: the space's)")
    cal.add_argument("-o", "--output", required=True, metavar="MACHINE.json", help="the predictor file to write")
    cal.add_argument("--candidates", type=candidates_arg, default=MAX_CANDIDATES, metavar="N",
                     help=f"candidates to measure, 2 to {MAX_CANDIDATES} (default {MAX_CANDIDATES})")
    cal.add_argument("--seed", type=int, default=0, help="the candidates' seed (default 0)")
    _measuring(cal)
    cal.set_defaults(func=cmd_calibrate)
    mea = commands.add_parser("measure", help="measure a spec's latency here (and predict it, with --model)")
    add_common(mea)
    mea.add_argument("--model", metavar="MACHINE.json", help="also predict it with this predictor file")
    _measuring(mea)
    mea.set_defaults(func=cmd_measure)

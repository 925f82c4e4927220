"""``fgir extract``: one candidate of a trained supernet as a plain spec and fgir checkpoint."""

from __future__ import annotations

import argparse
import json

from fgir.cli.common import EXIT_OK


def cmd_extract(args: argparse.Namespace) -> int:
    from fgir.supernet import extract
    from fgir.supernet.checkpoint import parse_assignment

    candidate = args.candidate
    if args.index is not None:
        from fgir.supernet.checkpoint import result_candidate

        candidate = result_candidate(candidate, args.index)
    elif candidate.lstrip().startswith("{"):
        candidate = parse_assignment(candidate)
    calibrate = None
    if args.calibrate:
        from fgir.supernet.checkpoint import calibration_images, load_supernet

        net = load_supernet(args.supernet, args.space)
        calibrate = calibration_images(net, args.calibrate, args.calibrate_data)
        text, _ = extract(net, candidate, args.output, calibrate=calibrate, quant=args.quant)
    else:
        text, _ = extract(args.supernet, candidate, args.output, space=args.space, quant=args.quant)
    stem = args.output.rsplit('.', 1)[0]
    print(f"wrote {args.output} and its spec {stem}.yaml ({json.dumps(len(text.splitlines()))} lines)"
          + (f", and {stem}.int{args.quant}.yaml (with a Quant process)" if args.quant else ""))
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="one candidate of a supernet (fgir train --supernet) as a plain spec "
                                       "and fgir checkpoint")
    p.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                   help="import a Python file or module that registers user blocks (repeatable)")
    p.add_argument("supernet", metavar="SUPER.pt", help="a supernet checkpoint (fgir train SPACE --supernet)")
    p.add_argument("--candidate", required=True, metavar="FILE|JSON",
                   help="a YAML/JSON mapping by dotted path, a frozen spec of the space (best.yaml), inline JSON, "
                        "or with --index a search's output folder (or its results.jsonl)")
    p.add_argument("--index", type=int, metavar="N", help="candidate N of the search results --candidate names")
    p.add_argument("-o", "--output", required=True, metavar="SUB.pt", help="the fgir checkpoint (spec beside it)")
    p.add_argument("--space", metavar="SPACE.yaml", help="refuse a supernet trained on another space")
    p.add_argument("--calibrate", type=int, default=0, metavar="N",
                   help="recalibrate the candidate's BatchNorm statistics on N batches first")
    p.add_argument("--calibrate-data", metavar="PATH", help="data to recalibrate on (default: the data the "
                                                              "supernet was trained on)")
    p.add_argument("--quant", type=int, choices=(2, 4, 8), metavar="BITS",
                   help="also write SUB.intBITS.yaml, the spec with a Quant process of BITS on every layer "
                        "(fgir compile it --weights SUB.pt --calibrate N for an integer ONNX model)")
    p.set_defaults(func=cmd_extract)

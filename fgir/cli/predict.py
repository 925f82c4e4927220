"""``fgir predict``: a model file (.pt or .onnx) on images, prepared as its training prepared them; its accuracy.

Prints one CSV row a image (``image,predicted[,label]``; to a file with ``-o``),
then a summary line: the accuracy when the data has labels, and the
preprocessing applied (what the file records: :mod:`fgir.training.predict`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fgir.atomic import write_atomic
from fgir.cli.common import EXIT_OK, UsageError, positive_int


def cmd_predict(args: argparse.Namespace) -> int:
    from fgir.training.predict import predict

    if args.output is not None and not Path(args.output).parent.is_dir():
        raise UsageError(f"-o {args.output}: folder {Path(args.output).parent} does not exist")
    result = predict(args.model, args.data, threads=args.threads, batch_size=args.batch_size)
    for text in result.warnings:
        print(text, file=sys.stderr)
    labelled = result.labels is not None
    rows = ["image,predicted" + (",label" if labelled else "")]
    rows += [f"{i},{p}" + (f",{result.labels[i]}" if labelled else "") for i, p in enumerate(result.predictions)]
    text = "\n".join(rows) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_atomic(Path(args.output), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    count = len(result.predictions)
    if labelled:
        right = int((result.predictions == result.labels).sum())
        figure = f"accuracy {result.accuracy:.4f} ({right} of {count} images)"
    else:
        figure = f"{count} images, no labels to score"
    if result.preprocess is None:
        how = "none recorded (images fed in [0, 1])"
    else:
        how = result.preprocess.describe() + (" (the normalisation baked into the graph)" if result.baked else "")
    print(f"{result.model} on {result.data}: {figure}; preprocessing: {how}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="run a model file (.pt, .onnx) on images, prepared as its training "
                                       "prepared them; print the predictions and the accuracy")
    p.add_argument("model", metavar="MODEL", help="an fgir checkpoint (.pt, fgir train -o) or an ONNX file "
                                                  "(fgir compile -o)")
    p.add_argument("--data", required=True, metavar="PATH",
                   help="an image folder (one subfolder per class), an .npz with x (and y for the accuracy), "
                        "or 'digits'; pixels uint8 or in [0, 1]")
    p.add_argument("-o", "--output", metavar="FILE.csv", default=None,
                   help="write the predictions here instead of printing them")
    p.add_argument("--threads", type=positive_int("a number of threads"), default=None, metavar="N",
                   help="ONNX Runtime's threads (default: its own choice)")
    p.add_argument("--batch-size", type=positive_int("a batch size"), default=256, metavar="N",
                   help="images a batch (256)")
    p.set_defaults(func=cmd_predict)

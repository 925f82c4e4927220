"""``fgir quantize``: a trained float checkpoint to int8 (or mixed precision), written as a spec and a model."""

from __future__ import annotations

import argparse
from pathlib import Path

from fgir.cli.common import EXIT_OK, UsageError, number_in, positive_int, refuse_overwriting_spec

QUANT_BITS = range(1, 9)
COMMAND = "quantize"


def bits_arg(text: str) -> int:
    """An argparse type: a bit width from 1 to 8."""
    if not text.isdigit() or int(text) not in QUANT_BITS:
        raise argparse.ArgumentTypeError(f"a bit width is 1 to 8, got '{text}'")
    return int(text)


points_arg = number_in(lambda v: 0 <= v <= 100, "a drop is a number of percentage points from 0 to 100")
kilobytes_arg = number_in(lambda v: v > 0, "a size is a number of KB above 0")


def cmd_quantize(args: argparse.Namespace) -> int:
    from fgir.deploy import quantize

    if args.mixed != (args.max_size_kb is not None):
        raise UsageError("--mixed and --max-size-kb go together: mixed precision under a size budget")
    outputs = [Path(p) for p in args.output]
    spec_out = Path(args.spec_out) if args.spec_out else outputs[0].with_suffix(".yaml")
    for path, flag in [(p, "-o") for p in outputs] + [(spec_out, "--spec-out")]:
        if not path.parent.is_dir():
            raise UsageError(f"{flag} {path}: folder {path.parent} does not exist")
        if flag == "-o" and path.suffix.lower() not in (".onnx", ".pt", ".pth"):
            raise UsageError(f"-o {path}: the quantized model is an ONNX file (.onnx) or an fgir checkpoint (.pt)")
    refuse_overwriting_spec(str(spec_out), args.spec)
    result = quantize(args.spec, args.weights, bits=args.bits, bits_w=args.bits_w,
                      bits_a=args.bits_a, calibrate_data=args.calibrate_data, eval_data=args.eval_data,
                      calibrate=args.calibrate, calibration=args.calibration,
                      bias_correction=args.bias_correction, max_drop=args.max_drop, mixed=args.mixed,
                      max_size_kb=args.max_size_kb, form=args.quant_form)
    written = result.write(outputs, spec_out)
    print(f"{args.spec}: {result.describe()}")
    for step in result.steps:
        how = "float" if min(step.bits) >= 32 else f"{step.bits[0]}/{step.bits[1]} bits"
        print(f"  {step.layer} → {how}: drop {step.drop:.2f} points")
    print(f"  layers left float: {', '.join(result.float_layers) or 'none'}; weights "
          f"{result.size_bytes / 1024:.1f} KB at these bits ({result.float_size_bytes / 1024:.1f} KB float)")
    print(f"wrote {', '.join(map(str, written))}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="quantize a trained float model (post-training, bias corrected); write "
                                        "the spec with its Quant process and the model",
                       description="Calibrate a float checkpoint's quantized network on images prepared as its "
                                   "training prepared them, correct each quantized layer's bias, measure the "
                                   "accuracy drop on held-out images, and write the spec with a Quant process "
                                   "(the record of the bits) and the model.")
    p.add_argument("spec", help="the spec file (YAML) the weights were trained for")
    p.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                   help="import a Python file or module that registers user blocks (repeatable)")
    p.add_argument("--weights", required=True, metavar="FLOAT.pt", help="the float checkpoint (fgir train -o)")
    p.add_argument("-o", "--output", required=True, action="append", metavar="Q.onnx|Q.pt",
                   help="the quantized model: ONNX (integer kernels) or an fgir checkpoint (repeatable)")
    p.add_argument("-s", "--spec-out", metavar="Q.yaml",
                   help="the spec to write, with the Quant process (default: the first output's name, .yaml)")
    p.add_argument("--calibrate-data", required=True, metavar="PATH",
                   help="an image folder, an .npz with x and y, or 'digits': calibrates on all but a held-out "
                        "fifth (fgir train's validation split), which scores")
    p.add_argument("--eval-data", metavar="PATH", help="score on these images instead (and calibrate on all)")
    p.add_argument("--bits", type=bits_arg, default=8, metavar="N", help="weight and activation bits (8)")
    p.add_argument("--bits-w", type=bits_arg, metavar="N", help="weight bits (default: --bits)")
    p.add_argument("--bits-a", type=bits_arg, metavar="N", help="activation bits (default: --bits)")
    p.add_argument("--calibrate", type=positive_int("a number of batches"), default=8, metavar="N",
                   help="batches of 32 calibration images (8)")
    p.add_argument("--calibration", default="percentile", choices=("minmax", "percentile", "mse"),
                   help="how ranges are set from the calibration images (percentile)")
    p.add_argument("--no-bias-correction", dest="bias_correction", action="store_false",
                   help="leave the biases as trained (by default each quantized layer's mean output shift "
                        "is folded into its bias)")
    p.add_argument("--max-drop", type=points_arg, metavar="POINTS",
                   help="raise bits, then leave layers float, most sensitive first, until the accuracy drops "
                        "by at most this many percentage points")
    p.add_argument("--mixed", action="store_true",
                   help="mixed precision: weights to 4 bits, least sensitive first, until --max-size-kb holds")
    p.add_argument("--max-size-kb", type=kilobytes_arg, metavar="KB",
                   help="the weights' size budget for --mixed (at their bit widths; other weights at 32)")
    p.add_argument("--quant-form", default="integer", choices=("integer", "storage"),
                   help="ONNX: integer kernels (default) or 4-bit weights packed for size")
    p.set_defaults(func=cmd_quantize)

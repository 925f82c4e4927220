"""``fgir prune``: choose the channels to prune from trained weights; write the pruned spec (and model)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fgir.cli.common import (EXIT_OK, UsageError, add_common, number_in, positive_int, print_warnings,
                             refuse_overwriting_spec)


def ratio_arg(text: str) -> float:
    """An argparse type: a pruning ratio from 0 up to (not including) 1."""
    from fgir.prune import ratio_problem

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a pruning ratio is a number from 0 up to 1, got '{text}'") from None
    problem = ratio_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


max_ratio_arg = number_in(lambda v: 0 < v <= 1, "a maximum ratio is a number above 0 and up to 1")


def _flag(option: str) -> str:
    return "--global" if option == "global_pruning" else "--" + option.replace("_", "-")


def cmd_prune(args: argparse.Namespace) -> int:
    from fgir.prune import PruneOptionError, prune

    out = Path(args.output)
    refuse_overwriting_spec(args.output, args.spec)
    for path, flag in ((out, "-o"), (Path(args.weights_out) if args.weights_out else None, "--weights-out")):
        if path is not None and not path.parent.is_dir():
            raise UsageError(f"{flag} {path}: folder {path.parent} does not exist")
    if args.weights_out and Path(args.weights_out).suffix.lower() not in (".pt", ".pth"):
        raise UsageError(f"--weights-out {args.weights_out}: the pruned model is an fgir checkpoint (.pt)")
    try:
        result = prune(args.spec, args.weights, ratio=args.ratio, criterion=args.criterion,
                       global_pruning=args.global_pruning, max_ratio=args.max_ratio, round_to=args.round_to,
                       keep=args.keep, target_macs=args.target_macs, target_params=args.target_params,
                       input=args.input, seed=args.seed)
    except PruneOptionError as exc:
        raise UsageError(f"{_flag(exc.option)}: {exc.message}" + (f"; {exc.hint}" if exc.hint else "")) from None
    written = result.write(out, weights_out=args.weights_out)
    print_warnings(result.subject.graph)
    pruned = sum(1 for kept, dense in result.widths.values() if kept < dense)
    print(f"{result.subject.file}: {result.description}")
    print(f"  parameters {result.dense_params:,} → {result.params:,} ({result.params / result.dense_params:.3f}), "
          f"MACs {result.dense_macs:,} → {result.macs:,} ({result.macs / result.dense_macs:.3f}); "
          f"{pruned} of {len(result.widths)} channel groups pruned")
    if args.verify_speed:
        check = result.verify_speed()
        print(f"  {check.text()}")
        if check.warning():
            print(f"fgir prune: warning: {check.warning()}", file=sys.stderr)
    print(f"wrote {', '.join(map(str, written))}")
    print(f"(each group before and after: fgir summary {out} --groups)")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prune", help="choose channels to prune from trained weights; write the pruned spec",
                       description="Score every channel of every channel group by a criterion over the "
                                   "trained weights, keep the most important ones, and write the dense "
                                   "network with a Prune process of masks (and its checkpoint).")
    add_common(p)
    p.add_argument("-o", "--output", required=True, metavar="PRUNED.yaml", help="the pruned spec to write")
    p.add_argument("--weights", metavar="DENSE.pt",
                   help="the trained weights (a state_dict or an fgir checkpoint) of the dense network, or "
                        "of the pruned one for a spec pruned before (default: the spec's init_model_file)")
    p.add_argument("--weights-out", metavar="PRUNED.pt",
                   help="also write the pruned model (weights sliced) as an fgir checkpoint")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--ratio", type=ratio_arg, metavar="R",
                     help="the fraction of each group's channels removed (of all channels with --global)")
    how.add_argument("--target-macs", type=positive_int("a number of MACs"), metavar="N",
                     help="remove the fewest channels that bring the MACs to N or below")
    how.add_argument("--target-params", type=positive_int("a number of parameters"), metavar="N",
                     help="remove the fewest channels that bring the parameters to N or below")
    p.add_argument("--criterion", default=None, metavar="NAME",
                   help="l1 (default), l2, bn_scale (network slimming) or random")
    p.add_argument("--global", dest="global_pruning", action="store_true",
                   help="rank channels across groups by mean-normalized importance")
    p.add_argument("--max-ratio", type=max_ratio_arg, default=1.0, metavar="R",
                   help="no group loses more than this fraction of its channels (default 1: all but one)")
    p.add_argument("--round-to", type=positive_int("a number of channels"), metavar="N",
                   help="kept widths are multiples of N")
    p.add_argument("--keep", nargs="+", default=[], metavar="GROUP",
                   help="channel groups to leave whole ('fgir summary --groups' lists them)")
    p.add_argument("--seed", type=int, default=0, help="the seed of --criterion random (default 0)")
    p.add_argument("--verify-speed", action="store_true",
                   help="measure the dense and the pruned model in ONNX Runtime (batch 1, 1 thread) and print "
                        "the speed-up beside the MACs reduction; warn when the pruned one is not faster")
    p.set_defaults(func=cmd_prune)

"""``fgir search``: search a spec's hyper_parameters; rows to OUTDIR/results.jsonl, the best to best.yaml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fgir.cli.common import EXIT_OK, EXIT_USAGE, UsageError, add_common


def cmd_search(args: argparse.Namespace) -> int:
    """Search the spec's hyper_parameters; rows to OUTDIR/results.jsonl, the best to OUTDIR/best.yaml."""
    from fgir.search import SearchUsageError, run_search
    from fgir.search.report import ProgressBar, summary_text

    limits = {"max_macs": args.max_macs, "max_params": args.max_params}
    options = {k: v for k, v in (("epochs", args.epochs), ("data", args.data), ("val", args.val),
                                 ("test", args.test)) if v is not None}
    evaluator = args.evaluator if args.evaluator is not None or args.data is None else "train"
    for written in ("best.yaml", "results.jsonl", "search.json"):
        if Path(args.output, written).resolve() == Path(args.spec).resolve():
            raise UsageError(f"-o {args.output} would overwrite the input spec with {written}")
    try:
        with ProgressBar(sys.stderr) as bar:
            result = run_search(
                args.spec, args.output, algorithm=args.algorithm, evaluator=evaluator,
                budget=args.budget, workers=args.workers, seed=args.seed, input=args.input,
                constraints={k: v for k, v in limits.items() if v is not None} or None,
                evaluator_options=options or None,
                progress=bar.update, where="fgir search")
    except SearchUsageError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    print(summary_text(result))
    if result.test is not None:
        figures = ", ".join(f"{k} {v:.4f}" for k, v in result.test.items())
        print(f"best #{result.best['index']} on the test split (never used to select): {figures}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search the spec's hyper_parameters; results to an output folder")
    add_common(p)
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
    p.add_argument("--data", metavar="PATH",
                   help="train evaluator (implied): an image folder, an .npz with x and y, or 'digits' "
                        "(default: the bundled digits, 75/25)")
    p.add_argument("--val", metavar="PATH", help="train evaluator: the validation data that selects "
                                                 "(default: a fixed fifth of --data)")
    p.add_argument("--test", metavar="PATH", help="train evaluator: test data, scored for the best only "
                                                  "(default: a fixed fifth of --data)")
    p.set_defaults(func=cmd_search)

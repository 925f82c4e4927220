"""``fgir search``: search a spec's hyper_parameters; rows to OUTDIR/results.jsonl, the best to best.yaml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fgir.cli.common import EXIT_OK, EXIT_SPEC, EXIT_USAGE, UsageError, add_common, positive_int


RAY_FLAGS = ("ray_address", "cpus_per_trial", "gpus_per_trial", "timeout", "retries")


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict:
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def cmd_search(args: argparse.Namespace) -> int:
    """Search the spec's hyper_parameters; rows to OUTDIR/results.jsonl, the best to OUTDIR/best.yaml."""
    from fgir.search import SearchUsageError, run_search
    from fgir.search.report import ProgressBar, no_valid_text, summary_text

    limits = _given(args, ("max_macs", "max_params", "max_latency_ms"))
    import fgir.supernet  # noqa: F401  (registers the supernet evaluator: fgir.search may not import it)

    options = _given(args, ("epochs", "data", "val", "test"))
    evaluator = args.evaluator if args.evaluator is not None or args.data is None else "train"
    if args.supernet is not None:
        if not Path(args.supernet).is_file():
            raise UsageError(f"--supernet {args.supernet}: no such file (fgir train SPACE --supernet writes it)")
        options["checkpoint"], evaluator = args.supernet, args.evaluator or "supernet"
    latency = {k.removeprefix("latency_"): v
               for k, v in _given(args, ("latency_batch", "latency_threads", "latency_model")).items()}
    executor_options = {k.removeprefix("ray_"): v for k, v in _given(args, RAY_FLAGS).items()}
    for written in ("best.yaml", "results.jsonl", "search.json"):
        if Path(args.output, written).resolve() == Path(args.spec).resolve():
            raise UsageError(f"-o {args.output} would overwrite the input spec with {written}")
    try:
        with ProgressBar(sys.stderr) as bar:
            result = run_search(
                args.spec, args.output, algorithm=args.algorithm, evaluator=evaluator,
                budget=args.budget, workers=args.workers, seed=args.seed, input=args.input,
                objectives=args.objective or None, constraints=limits or None,
                evaluator_options=options or None, scheduler=args.scheduler,
                scheduler_options=_given(args, ("min_epochs", "eta")) or None, epoch_budget=args.epoch_budget,
                latency=latency or (True if args.latency else None), executor=args.executor,
                executor_options=executor_options or None, plugins=args.plugin, progress=bar.update, where="fgir search")
    except SearchUsageError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    print(summary_text(result))
    if result.best is None:
        print(no_valid_text(result), file=sys.stderr)
        return EXIT_SPEC
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
                   help="RandomSearch, GridSearch, BackboneNasSearch, NSGA2Search, RegularizedEvolution, "
                        "TPESearch, OptunaNSGA2Search (default: the spec's search_algorithm type, else RandomSearch)")
    p.add_argument("--evaluator", metavar="NAME", help="static (default), train or supernet")
    p.add_argument("--supernet", metavar="SUPER.pt", help="score candidates with weights inherited from this "
                                                          "supernet (fgir train SPACE --supernet; implies "
                                                          "--evaluator supernet)")
    p.add_argument("--objective", action="append", metavar="METRIC:max|min",
                   help="an objective (repeatable), e.g. --objective accuracy:max --objective latency_ms:min "
                        "(default: the spec's)")
    p.add_argument("--budget", type=int, metavar="N", help="candidates to evaluate (default 100)")
    p.add_argument("--workers", type=positive_int("a number of workers"), metavar="K",
                   help="evaluate K candidates at once (results are the same for any K; default 1, with "
                        "--executor ray as many as the cluster has room for)")
    p.add_argument("--seed", type=int, default=None, help="the search's seed (default 0)")
    p.add_argument("--max-macs", type=int, metavar="N", help="candidates above N MACs are invalid")
    p.add_argument("--max-params", type=int, metavar="N", help="candidates above N parameters are invalid")
    p.add_argument("--max-latency-ms", type=float, metavar="MS",
                   help="candidates slower than MS milliseconds (ONNX Runtime, this machine) are invalid")
    p.add_argument("--latency", action="store_true",
                   help="measure each candidate's latency_ms in ONNX Runtime (implied by --max-latency-ms or a "
                        "latency_ms objective)")
    p.add_argument("--latency-batch", type=positive_int("a batch size"), metavar="N",
                   help="latency: images per inference (default 1)")
    p.add_argument("--latency-threads", type=positive_int("a number of threads"), metavar="N",
                   help="latency: ONNX Runtime's intra-op threads (default 1)")
    p.add_argument("--latency-model", metavar="MACHINE.json",
                   help="predict latency_ms with this predictor file (fgir latency calibrate) instead of measuring")
    p.add_argument("--epochs", type=int, metavar="N", help="train evaluator: epochs per candidate (with a "
                                                           "scheduler: the most any candidate trains)")
    p.add_argument("--data", metavar="PATH",
                   help="train evaluator (implied): an image folder, an .npz with x and y, or 'digits' "
                        "(default: the bundled digits, 75/25); with --supernet: the data to recalibrate and "
                        "score on (default: the data the supernet was trained on)")
    p.add_argument("--val", metavar="PATH", help="train and supernet evaluators: the validation data that selects "
                                                 "(default: a fixed fifth of --data)")
    p.add_argument("--test", metavar="PATH", help="train evaluator: test data, scored for the best only "
                                                  "(default: a fixed fifth of --data)")
    stopping = p.add_argument_group("early stopping (train evaluator)")
    stopping.add_argument("--scheduler", metavar="NAME",
                          help="ASHA, SuccessiveHalving or Hyperband: train by rungs of epochs, promoting the "
                               "best 1/eta of each rung")
    stopping.add_argument("--min-epochs", type=positive_int("a number of epochs"), metavar="N",
                          help="the first rung's epochs (default 1)")
    stopping.add_argument("--eta", type=positive_int("a reduction factor"), metavar="N",
                          help="each rung trains eta times longer and keeps 1/eta (default 3)")
    stopping.add_argument("--epoch-budget", type=positive_int("a number of epochs"), metavar="N",
                          help="stop when N training epochs are spent, in all")
    where = p.add_argument_group("where candidates run")
    where.add_argument("--executor", default="local", choices=("local", "ray"),
                       help="local processes (default) or Ray tasks (pip install ray (fgir's ray extra))")
    where.add_argument("--ray-address", metavar="ADDRESS",
                       help="an existing Ray cluster (ray://host:10001, auto); default: start a local Ray")
    where.add_argument("--cpus-per-trial", type=float, metavar="N", help="ray: CPUs per candidate (default 1)")
    where.add_argument("--gpus-per-trial", type=float, metavar="N", help="ray: GPUs per candidate (default 0)")
    where.add_argument("--timeout", type=float, metavar="S",
                       help="ray: a candidate running longer than S seconds is stopped (and retried)")
    where.add_argument("--retries", type=int, metavar="N",
                       help="ray: tries after a timeout or a lost worker (default 2)")
    p.set_defaults(func=cmd_search)

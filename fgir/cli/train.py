"""``fgir train``: train a spec (or a search's best.yaml) on your data; the model to an fgir checkpoint."""

from __future__ import annotations

import argparse
import sys

from fgir.cli.common import EXIT_OK, EXIT_USAGE, add_common, refuse_overwriting_spec

# flags whose value is a Recipe setting of the same name (None: not given, the spec's or the default holds)
SETTINGS = ("data", "val", "epochs", "batch_size", "lr", "optimizer", "momentum", "schedule", "warmup",
            "step_size", "gamma", "weight_decay", "label_smoothing", "bn_sparsity", "seed", "device", "workers",
            "save_every", "log_every", "val_fraction", "crop_padding")
SWITCHES = ("amp", "augment")


def cmd_train(args: argparse.Namespace) -> int:
    from fgir.training.api import train
    from fgir.training import TrainUsageError

    refuse_overwriting_spec(args.output, args.spec)
    settings = {name: getattr(args, name) for name in SETTINGS}
    settings.update({name: True for name in SWITCHES if getattr(args, name)})
    if args.supernet:
        return _train_supernet(args, settings)
    if args.distill is not None:
        print("fgir train: error: --distill: weighs a supernet's in-place distillation; it needs --supernet",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        result = train(args.spec, args.output, run_dir=args.run_dir, resume=args.resume, weights=args.weights,
                       input=args.input, **settings)
    except TrainUsageError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    for text in result.warnings:
        print(text, file=sys.stderr)
    last = result.history[-1] if result.history else {}
    figures = f"val accuracy {last['val_accuracy']:.4f}" if "val_accuracy" in last else "no validation"
    resumed = f", resumed at step {result.resumed_at}" if result.resumed_at is not None else ""
    epochs = len(result.history)
    print(f"wrote {result.output}: {figures} after {epochs} epoch{'s' if epochs != 1 else ''}{resumed} "
          f"(metrics in {result.run_dir}/metrics.jsonl)")
    return EXIT_OK


def _train_supernet(args: argparse.Namespace, settings: dict) -> int:
    """``--supernet``: the space's weight-sharing supernet, by the sandwich rule (fgir.supernet.train)."""
    from fgir.supernet import train_supernet
    from fgir.training import TrainUsageError

    try:
        extra = {"distill": args.distill} if args.distill is not None else {}
        result = train_supernet(args.spec, args.output, run_dir=args.run_dir, resume=args.resume,
                                input=args.input, **extra, **settings)
    except TrainUsageError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    last = result.history[-1] if result.history else {}
    figures = f"largest candidate's val accuracy {last['val_accuracy']:.4f}" if "val_accuracy" in last else ""
    print(f"wrote {result.output}: a supernet, {figures} (fgir extract takes a candidate out of it)")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a spec on your data (image folder, .npz, digits); "
                                     "write an fgir checkpoint")
    add_common(p)
    p.add_argument("-o", "--output", required=True, metavar="MODEL.pt",
                   help="the trained model, an fgir checkpoint (fgir compile --weights reads it)")
    p.add_argument("--supernet", action="store_true", help="SPEC is a search space: train its weight-sharing "
                   "supernet (sandwich rule, in-place distillation); -o gets a supernet for fgir extract")
    p.add_argument("--distill", type=float, metavar="W", help="--supernet: the weight of in-place distillation "
                   "from the largest candidate in the others' loss, the labels getting 1 - W (0.5; 1 is BigNAS's)")
    data = p.add_argument_group("data (default: the spec's dataset: section)")
    data.add_argument("--data", metavar="PATH",
                      help="an image folder (one subfolder per class), an .npz with x and y, or 'digits'")
    data.add_argument("--val", metavar="PATH", help="validation data (default: a fixed, stratified share of --data)")
    data.add_argument("--val-fraction", type=float, metavar="F", help="the share held out without --val (0.2)")
    data.add_argument("--augment", action="store_true", help="random crop with padding and horizontal flip")
    data.add_argument("--crop-padding", type=int, metavar="N", help="--augment's padding (an eighth of the side)")
    data.add_argument("--workers", type=int, metavar="K", help="processes decoding an image folder (1)")
    run = p.add_argument_group("recipe (default: the spec's trainer: section, else the value shown)")
    run.add_argument("--epochs", type=int, metavar="N", help="epochs (10)")
    run.add_argument("--batch-size", type=int, metavar="N", help="images a step (64)")
    run.add_argument("--lr", type=float, metavar="LR", help="base learning rate (sgd 0.05, adamw 0.001)")
    run.add_argument("--optimizer", metavar="NAME", help="sgd (momentum 0.9) or adamw")
    run.add_argument("--momentum", type=float, metavar="M", help="SGD momentum (0.9)")
    run.add_argument("--weight-decay", type=float, metavar="WD", help="weight decay (sgd 5e-4, adamw 0.01)")
    run.add_argument("--schedule", metavar="NAME", help="cosine, step or constant (cosine)")
    run.add_argument("--warmup", type=float, metavar="EPOCHS", help="linear warm-up, in epochs (0)")
    run.add_argument("--step-size", type=int, metavar="EPOCHS", help="schedule step: epochs between decays")
    run.add_argument("--gamma", type=float, metavar="G", help="schedule step: the decay factor (0.1)")
    run.add_argument("--label-smoothing", type=float, metavar="E", help="label smoothing (0)")
    run.add_argument("--bn-sparsity", type=float, metavar="LAMBDA",
                     help="network slimming: an L1 penalty LAMBDA * sum |gamma| on every BatchNorm (0)")
    run.add_argument("--seed", type=int, help="seed of the weights, the data order and augmentation (0)")
    run.add_argument("--weights", metavar="INIT.pt", help="fine-tune from these weights (an fgir checkpoint "
                                                          "or a state_dict)")
    run.add_argument("--device", metavar="DEV", help="cpu, cuda, cuda:1 or auto (auto: CUDA when present)")
    run.add_argument("--amp", action="store_true", help="bfloat16 mixed precision (CUDA only)")
    ckpt = p.add_argument_group("checkpoints and logs")
    ckpt.add_argument("--run-dir", metavar="DIR",
                      help="checkpoint.pt, metrics.jsonl, recipe.json (default: MODEL.train/ beside -o)")
    ckpt.add_argument("--resume", action="store_true", help="continue the run in the run folder")
    ckpt.add_argument("--save-every", type=int, metavar="STEPS",
                      help="also checkpoint every STEPS steps (default: at each epoch's end)")
    ckpt.add_argument("--log-every", type=int, metavar="STEPS",
                      help="a progress line and a metrics.jsonl row every STEPS steps")
    p.set_defaults(func=cmd_train)

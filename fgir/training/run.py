"""``fgir.train``: a spec (or best.yaml, or a compiled graph) trained on the user's data, end to end.

Compiles the spec (its ``input:`` or ``input=``), builds the module with
``fgir.to_torch`` (Quant specs train with fake quantization: that is QAT;
Prune specs start from the weights sliced out of ``init_model_file``), takes
``weights=`` (an fgir checkpoint or a state_dict) to fine-tune from, loads the
data (:mod:`fgir.data.sources`; without ``val`` a stratified ``val_fraction``
of the data is held out, the same every time), trains (:mod:`.loop`) and
writes ``output``, an fgir checkpoint that ``fgir compile --weights`` and
``fgir.load_model`` read; it records the input and its preprocessing
(:mod:`fgir.data.preprocess`), which ``fgir.load_model(output).preprocess``
applies.  The run folder (``run_dir``; by default ``output`` with the suffix
``.train``: ``best.pt`` → ``best.train/``) holds ``checkpoint.pt`` (every
epoch, and every ``save_every`` steps), ``metrics.jsonl`` and ``recipe.json``;
``resume=True`` continues from its checkpoint, refusing one of a different run.

Example:
    >>> import fgir
    >>> result = fgir.train("examples/resnet20_cifar.yaml", data="digits", input="3x8x8", epochs=1,
    ...                     progress=None)          # no output, no run folder: nothing written
    >>> [row["step"] for row in result.history], result.val_accuracy > 0.5
    ([23], True)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from fgir.atomic import WriteError, open_append, write_atomic, write_error
from fgir.data.sources import ImageSet, load_images, split
from fgir.diagnostics import Diagnostic, FgirError, Loc, Note, Origin
from fgir.spec.document import parse_document
from fgir.spec.yaml_loader import load_yaml_text
from fgir.training.loop import OnEpoch, Trainer
from fgir.training.progress import MetricsLog, Progress
from fgir.training.recipe import Recipe, TrainUsageError
from fgir.training.sections import make_recipe
from fgir.training.state import (CHECKPOINT_NAME, METRICS_NAME, differences, read_state, resume_run,
                                 write_state)

AUTO = "auto"


@dataclass
class TrainResult:
    """What a run gives back: the trained module (on the CPU), the epoch rows, where things went."""

    model: Any
    recipe: Recipe
    history: list[dict[str, Any]]
    output: Path | None
    run_dir: Path | None
    warnings: list[str] = field(default_factory=list)
    resumed_at: int | None = None        # the step a resumed run continued from

    @property
    def val_accuracy(self) -> float | None:
        return next((row["val_accuracy"] for row in reversed(self.history) if "val_accuracy" in row), None)


def _usage(flag: str, message: str, hint: str | None = None, where: str = "fgir train") -> TrainUsageError:
    return TrainUsageError(Diagnostic(Loc(where), flag, message, hint=hint))


def _graph(spec: Any, input: str | None) -> Any:
    from fgir.api import compile
    from fgir.ir.graph import Graph

    if isinstance(spec, Graph):
        return spec if spec.is_lowered and input is None else compile(spec, input=input)
    return compile(spec, input=input)


def _document(graph: Any) -> Any:
    spec = graph.meta.get("spec") or {}
    if not spec.get("text"):
        return None
    return parse_document(load_yaml_text(spec["text"], spec["file"]), file=spec["file"])


def class_count(graph: Any) -> int:
    """The number of classes a compiled network scores (its flat output); FgirError if it is no classifier.

    A network of several outputs (``outputs: [logits, aux]``) is refused, at its ``outputs:``: which
    output is scored, and how an auxiliary head's loss is weighted, is a training recipe fgir does not
    guess; train a spec with the one output to score (its weights load into the other by name)."""
    if len(graph.outputs) > 1:
        document = _document(graph)
        origins = document.output_origins if document is not None else []
        where = origins[0] if origins else Origin(Loc(graph.meta.get("spec", {}).get("file", "<spec>")), "")
        raise FgirError(Diagnostic.at(where, f"the network has {len(graph.outputs)} outputs "
                                             f"({', '.join(graph.output_names)}); fgir train trains a "
                                             "classifier of one output",
                                      hint="list the one output to train in 'outputs'"))
    out = graph.output.type
    if out is None or not out.is_flat:
        spec = graph.meta.get("spec", {}).get("file", "<spec>")
        raise FgirError(Diagnostic(Loc(spec), "", f"the network's output is {out}, not class scores; "
                                                  "fgir train trains classifiers (end the network with a "
                                                  "Linear layer or a classification head)"))
    return out.channels


def resolve_device(recipe: Recipe, where: str = "fgir train") -> Any:
    """The torch device to run on: ``auto`` is CUDA when there is one; ``--amp`` needs CUDA."""
    import torch

    name = recipe.device
    if name == AUTO:
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise _usage("--device", f"unknown device '{recipe.device}'", "cpu, cuda, cuda:1 or auto", where) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise _usage("--device", f"'{recipe.device}': this machine has no CUDA device", "use --device cpu", where)
    if recipe.amp and device.type != "cuda":
        raise _usage("--amp", f"mixed precision (bfloat16 autocast) needs a CUDA device; this run is on the "
                              f"{device.type}", "drop --amp to train in float32", where)
    return device


CALIBRATION_IMAGES = 256   # QAT from float weights starts from ranges calibrated on this many training images


def _data(recipe: Recipe, input_dims: list[int], classes: int, where: str) -> tuple[ImageSet, ImageSet]:
    if recipe.data is None:
        raise _usage("--data", "no data to train on", "pass --data PATH (an image folder, an .npz with x and y, "
                     "or 'digits'), or give dataset: {data: PATH} in the spec", where)
    options = {"num_classes": classes, "mean": recipe.mean, "std": recipe.std, "workers": recipe.workers}
    try:
        data = load_images(recipe.data, input_dims, **options)
        if recipe.val is not None:
            return data, load_images(recipe.val, input_dims, **options)
    except ValueError as exc:   # a mean or std of the wrong length
        raise _usage("dataset", str(exc), where=where) from None
    return split(data, recipe.val_fraction)


def _identity(data: ImageSet) -> str:
    """A short hash of a data set's labels and a sample of its images: resuming on other data is refused."""
    digest = hashlib.sha256(data.y.numpy().tobytes())
    digest.update(data.x[:: max(1, len(data) // 256)].numpy().tobytes())
    return digest.hexdigest()[:16]


def _fingerprint(recipe: Recipe, graph: Any, train: ImageSet, val: ImageSet, weights: Any) -> dict[str, Any]:
    return {**recipe.fingerprint(), "spec_sha256": graph.meta.get("spec", {}).get("sha256"),
            "input": list(graph.meta["input"]), "train_data": _identity(train), "val_data": _identity(val),
            "weights": str(weights) if weights is not None else None}


def _stream(progress: Any) -> TextIO | None:
    return sys.stderr if progress == AUTO else progress


def train(spec: Any, output: str | Path | None = None, *, run_dir: str | Path | None = None,
          resume: bool = False, weights: str | Path | None = None, input: str | None = None,
          progress: TextIO | str | None = AUTO, on_epoch: OnEpoch | None = None, where: str = "fgir train",
          **settings: Any) -> TrainResult:
    """Train a spec on the user's data; see the module docstring and :class:`~fgir.training.recipe.Recipe`.

    ``settings`` are the Recipe's fields (``epochs=``, ``lr=``, ``data=`` ...), overriding the spec's
    ``trainer:`` and ``dataset:`` sections.  ``progress``: a stream (default stderr) or None.
    ``on_epoch(epoch, row)`` is called after each epoch; returning true stops the run.
    """
    import torch

    from fgir import arguments as check
    from fgir.api import save_model, to_torch
    from fgir.backends.torch.checkpoint import attach_preprocess, load_weights
    from fgir.data.preprocess import Preprocess

    # the arguments first: a wrong one is an ArgumentError naming it, before anything is compiled or written
    run_dir = check.optional_path(run_dir, "fgir.train", "run_dir")
    weights = check.optional_path(weights, "fgir.train", "weights")
    check.flag(resume, "fgir.train", "resume")
    for name in ("data", "val"):
        if isinstance(settings.get(name), (str, os.PathLike)):
            check.path(settings[name], "fgir.train", name)
    graph = _graph(spec, input)
    recipe, warnings = make_recipe(_document(graph), settings, where)
    warnings = [*graph.meta.get("warnings", []), *warnings]
    device = resolve_device(recipe, where)
    train_set, val_set = _data(recipe, list(graph.meta["input"]), class_count(graph), where)
    model = to_torch(graph, seed=recipe.seed)
    # fine-tuning: a float network's weights lack a quantized one's ranges, calibrated then (QAT from float)
    if weights is not None and load_weights(model, Path(weights)):
        from fgir.backends.torch.calibrate import calibrate

        calibrate(model, [train_set.x[i:i + 64] for i in range(0, min(len(train_set), CALIBRATION_IMAGES), 64)])
    # the checkpoint records how the inputs were prepared: a deployed model is fed as it was trained
    attach_preprocess(model, Preprocess.of(recipe.mean, recipe.std, graph.meta["input"]))
    model.to(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    folder = Path(run_dir) if run_dir is not None else (Path(output).with_suffix(".train") if output else None)
    fingerprint = _fingerprint(recipe, graph, train_set, val_set, weights)
    state = _prepare_folder(folder, resume, fingerprint, where, warnings)
    metrics = MetricsLog(folder / METRICS_NAME if folder else None)
    trainer = Trainer(model, train_set, val_set, recipe, device, on_epoch=on_epoch,
                      progress=Progress(_stream(progress), recipe.epochs, recipe.log_every), metrics=metrics,
                      save=_Saver(folder / CHECKPOINT_NAME, fingerprint, state) if folder else None)
    resumed_at = resume_run(trainer, metrics, folder, state)
    trainer.run()
    model.to("cpu")
    if output is not None:
        try:
            save_model(model, output)
        except WriteError as exc:
            if folder is None:
                raise
            raise _kept(exc, folder / CHECKPOINT_NAME, f"the trained state is kept in this checkpoint (step "
                                                       f"{trainer.step}): free some space and run again with "
                                                       "--resume to write the model") from None
    return TrainResult(model, recipe, trainer.history, Path(output) if output else None, folder, warnings,
                       resumed_at)


class _Saver:
    """Writes the run's checkpoint; a write that fails says which checkpoint is kept (the last good one)."""

    def __init__(self, path: Path, fingerprint: dict[str, Any], resumed: dict[str, Any] | None) -> None:
        self.path, self.fingerprint = path, fingerprint
        self.last = (resumed["epoch"], resumed["step"]) if resumed else None

    def __call__(self, trainer: Trainer) -> None:
        try:
            write_state(self.path, {"fingerprint": self.fingerprint, **trainer.state()})
        except WriteError as exc:
            if self.last is None:
                raise _kept(exc, self.path, "no checkpoint was written before this one: the run cannot be "
                                            "resumed") from None
            epoch, step = self.last
            raise _kept(exc, self.path, f"the last good checkpoint (epoch {epoch}, step {step}) is kept: "
                                        "--resume continues from it") from None
        self.last = (trainer.epoch, trainer.step)


def _kept(exc: WriteError, path: Path, what: str) -> WriteError:
    """``exc`` with a note saying what the failed write left in place."""
    first, *rest = exc.diagnostics
    return WriteError([replace(first, notes=(*first.notes, Note(Loc(str(path)), what))), *rest])


def _fresh_folder(folder: Path, fingerprint: dict[str, Any]) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from None
    (folder / METRICS_NAME).unlink(missing_ok=True)   # a link there goes, never followed
    text = json.dumps(fingerprint, indent=2) + "\n"
    write_atomic(folder / "recipe.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _prepare_folder(folder: Path | None, resume: bool, fingerprint: dict[str, Any],
                    where: str, warnings: list[str] | None = None) -> dict[str, Any] | None:
    """The checkpoint to resume from (None: a fresh run); refuses to mix runs.  A run killed before its
    first checkpoint is started over when resumed, with a note in ``warnings``."""
    if folder is None:
        if resume:
            raise _usage("--resume", "there is no run folder to resume from", "give -o or --run-dir", where)
        return None
    checkpoint = folder / CHECKPOINT_NAME
    if not resume:
        if os.path.lexists(checkpoint):
            raise TrainUsageError(Diagnostic(Loc(str(checkpoint)), "", "holds the checkpoint of an earlier run",
                                             hint="--resume continues it; remove the folder to start over"))
        _fresh_folder(folder, fingerprint)
        return None
    if not os.path.lexists(checkpoint):
        if not folder.is_dir():
            raise _usage("--resume", f"nothing to resume: {checkpoint} does not exist", where=where)
        _fresh_folder(folder, fingerprint)
        if warnings is not None:
            warnings.append(str(Diagnostic(Loc(str(folder)), "", "holds no checkpoint (the run stopped before its "
                                                                 "first): starting over", severity="note")))
        return None
    state = read_state(checkpoint)
    changed = differences(state["fingerprint"], fingerprint)
    if changed:
        raise TrainUsageError(Diagnostic(Loc(str(checkpoint)), "", "is the checkpoint of another run: it differs "
                                         "in " + ", ".join(changed),
                                         hint="resume with the same spec, data and settings, or remove the "
                                              "folder to start over"))
    os.close(open_append(folder / METRICS_NAME))   # the log resumed is a regular file, not a link or a FIFO
    return state


__all__ = ["TrainResult", "class_count", "resolve_device", "train"]

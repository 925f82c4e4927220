"""``fgir.train``: a spec (or best.yaml, or a compiled graph) trained on the user's data, end to end.

Compiles the spec (its ``input:`` or ``input=``), builds the module with
``fgir.to_torch`` (Quant specs train with fake quantization: that is QAT;
Prune specs start from the weights sliced out of ``init_model_file``), takes
``weights=`` (an fgir checkpoint or a state_dict) to fine-tune from, loads the
data (:mod:`fgir.data.sources`; without ``val`` a stratified ``val_fraction``
of the data is held out, the same every time), trains (:mod:`.loop`) and
writes ``output``, an fgir checkpoint that ``fgir compile --weights`` and
``fgir.load_model`` read.  The run folder (``run_dir``; by default
``output`` with the suffix ``.train``: ``best.pt`` → ``best.train/``) holds
``checkpoint.pt`` (every epoch, and every ``save_every`` steps),
``metrics.jsonl`` and ``recipe.json``; ``resume=True`` continues from its
checkpoint, refusing one of a different run.

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
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from fgir.data.sources import ImageSet, load_images, split
from fgir.diagnostics import Diagnostic, FgirError, Loc
from fgir.spec.document import parse_document
from fgir.spec.yaml_loader import load_yaml_text
from fgir.training.loop import OnEpoch, Trainer
from fgir.training.progress import MetricsLog, Progress
from fgir.training.recipe import Recipe, TrainUsageError
from fgir.training.sections import make_recipe
from fgir.training.state import CHECKPOINT_NAME, METRICS_NAME, differences, read_state, truncate_lines, write_state

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
    import fgir

    if isinstance(spec, fgir.Graph):
        return spec if spec.is_lowered and input is None else fgir.compile(spec, input=input)
    return fgir.compile(spec, input=input)


def _document(graph: Any) -> Any:
    spec = graph.meta.get("spec") or {}
    if not spec.get("text"):
        return None
    return parse_document(load_yaml_text(spec["text"], spec["file"]), file=spec["file"])


def class_count(graph: Any) -> int:
    """The number of classes a compiled network scores (its flat output); FgirError if it is no classifier."""
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

    import fgir
    from fgir.backends.torch.checkpoint import load_weights

    graph = _graph(spec, input)
    recipe, warnings = make_recipe(_document(graph), settings, where)
    warnings = [*graph.meta.get("warnings", []), *warnings]
    device = resolve_device(recipe, where)
    train_set, val_set = _data(recipe, list(graph.meta["input"]), class_count(graph), where)
    model = fgir.to_torch(graph, seed=recipe.seed)
    # fine-tuning: a float network's weights lack a quantized one's ranges, calibrated then (QAT from float)
    if weights is not None and load_weights(model, Path(weights)):
        from fgir.backends.torch.calibrate import calibrate

        calibrate(model, [train_set.x[i:i + 64] for i in range(0, min(len(train_set), CALIBRATION_IMAGES), 64)])
    model.to(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    folder = Path(run_dir) if run_dir is not None else (Path(output).with_suffix(".train") if output else None)
    fingerprint = _fingerprint(recipe, graph, train_set, val_set, weights)
    state = _prepare_folder(folder, resume, fingerprint, where)
    metrics = MetricsLog(folder / METRICS_NAME if folder else None)
    trainer = Trainer(model, train_set, val_set, recipe, device, on_epoch=on_epoch,
                      progress=Progress(_stream(progress), recipe.epochs, recipe.log_every), metrics=metrics,
                      save=(lambda t: write_state(folder / CHECKPOINT_NAME, {"fingerprint": fingerprint,
                                                                             **t.state()})) if folder else None)
    resumed_at = None
    if state is not None:
        trainer.restore(state)
        truncate_lines(folder / METRICS_NAME, state["metrics_rows"])
        metrics.rows = state["metrics_rows"]
        resumed_at = trainer.step
    trainer.run()
    model.to("cpu")
    if output is not None:
        fgir.save_model(model, output)
    return TrainResult(model, recipe, trainer.history, Path(output) if output else None, folder, warnings,
                       resumed_at)


def _prepare_folder(folder: Path | None, resume: bool, fingerprint: dict[str, Any],
                    where: str) -> dict[str, Any] | None:
    """The checkpoint to resume from (None: a fresh run); refuses to mix runs."""
    if folder is None:
        if resume:
            raise _usage("--resume", "there is no run folder to resume from", "give -o or --run-dir", where)
        return None
    checkpoint = folder / CHECKPOINT_NAME
    if not resume:
        if checkpoint.exists():
            raise TrainUsageError(Diagnostic(Loc(str(checkpoint)), "", "holds the checkpoint of an earlier run",
                                             hint="--resume continues it; remove the folder to start over"))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / METRICS_NAME).unlink(missing_ok=True)
        (folder / "recipe.json").write_text(json.dumps(fingerprint, indent=2) + "\n", encoding="utf-8")
        return None
    if not checkpoint.exists():
        raise _usage("--resume", f"nothing to resume: {checkpoint} does not exist", where=where)
    state = read_state(checkpoint)
    changed = differences(state["fingerprint"], fingerprint)
    if changed:
        raise TrainUsageError(Diagnostic(Loc(str(checkpoint)), "", "is the checkpoint of another run: it differs "
                                         "in " + ", ".join(changed),
                                         hint="resume with the same spec, data and settings, or remove the "
                                              "folder to start over"))
    return state


__all__ = ["TrainResult", "class_count", "resolve_device", "train"]

"""``fgir predict``: run a deployed model file on images, as its training prepared them; score it.

A model file says what it expects: an fgir checkpoint (``.pt``) records its input
and the preprocessing its training used (:mod:`fgir.data.preprocess`), an ONNX
file the same in its ``metadata_props`` (``fgir.preprocess``; with
``fgir.preprocess.baked`` true the normalisation is in the graph and only the
scaling to [0, 1] and the resizing are left to do).  :func:`predict` reads the
images raw (an image folder, an ``.npz`` with ``x`` and, optionally, ``y``, or
``digits``: :func:`fgir.data.sources.read_pixels`), prepares them as the file
says, runs the model (torch for ``.pt``, ONNX Runtime for ``.onnx``) and counts
the predictions that match the labels.  A file that records no preprocessing
(written before fgir recorded it, or from fresh weights) gets the images in
[0, 1], resized, and a warning saying so.  :func:`recorded_input` is what
``fgir compile --weights`` reads: the input a checkpoint was trained at.

Example:
    >>> import fgir, numpy as np, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> result = fgir.train("examples/resnet20_cifar.yaml", folder / "m.pt", data="digits", input="3x8x8",
    ...                     epochs=1, progress=None)
    >>> run = predict(folder / "m.pt", "digits")
    >>> len(run.predictions), run.accuracy > 0.5, run.preprocess.input
    (1797, True, (3, 8, 8))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fgir.data.preprocess import BAKED_KEY, METADATA_KEY, Preprocess
from fgir.diagnostics import Diagnostic, FgirError, Loc, SpecIOError

BATCH = 256
SUFFIXES = (".pt", ".pth", ".onnx")


@dataclass
class Prediction:
    """The classes a model predicts for each image, the labels when the data has them, and how it ran."""

    model: Path
    data: str
    predictions: Any                    # int64 array, one class a image
    labels: Any | None                  # int64 array, or None for images without labels
    preprocess: Preprocess | None       # what the model records (None: nothing)
    baked: bool = False                 # an ONNX file whose graph normalises its input itself
    classes: list[str] | None = None    # an image folder's class names
    warnings: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float | None:
        if self.labels is None:
            return None
        return float((self.predictions == self.labels).mean())


def _problem(path: Path, message: str, hint: str | None = None) -> SpecIOError:
    return SpecIOError(Diagnostic(Loc(str(path)), "", message, hint=hint))


def recorded_input(path: str | Path) -> list[int] | None:
    """The input (``[C, H, W]``) an fgir checkpoint records; None for a bare state_dict."""
    from fgir.backends.torch.checkpoint import read_record

    found = read_record(Path(path)).get("input")
    return list(found) if found else None


def _checked_record(path: Path, record: Any) -> Preprocess | None:
    if record is None:
        return None
    try:
        return Preprocess.from_dict(record) if isinstance(record, dict) else Preprocess.from_json(record)
    except ValueError as exc:
        raise _problem(path, f"its preprocessing record is unreadable: {exc}") from None


def _torch_runner(path: Path) -> tuple[Any, list[int], Preprocess | None, bool]:
    import torch

    from fgir.api import load_model

    model = load_model(path).eval()

    def run(x: Any) -> Any:
        with torch.no_grad():
            return model(torch.from_numpy(x)).argmax(1).numpy()
    return run, list(model.fgir_input), getattr(model, "fgir_preprocess", None), False


def _onnx_runner(path: Path, threads: int | None) -> tuple[Any, list[int], Preprocess | None, bool]:
    import onnx
    import onnxruntime as ort

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:   # protobuf's many errors for a file that is no ONNX model
        raise _problem(path, f"not a readable ONNX model ({type(exc).__name__})") from None
    props = {p.key: p.value for p in model.metadata_props}
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    if len(dims) != 3 or min(dims) < 1:
        raise _problem(path, f"its input is not a batch of C x H x W images ({dims})")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x: Any) -> Any:
        return session.run(None, {name: x})[0].argmax(1)
    return run, dims, _checked_record(path, props.get(METADATA_KEY)), props.get(BAKED_KEY) == "true"


def predict(model: str | Path, data: str | Path, *, threads: int | None = None,
            batch_size: int = BATCH) -> Prediction:
    """Run ``model`` (an fgir checkpoint ``.pt`` or an ``.onnx`` fgir wrote) on ``data``; see the module
    docstring.  ``threads``: ONNX Runtime's intra-op threads (default: its own choice).  A missing or
    unreadable file, or data of the wrong shape, is a SpecIOError (a DataError for the data) naming it."""
    import numpy as np

    from fgir.data.sources import read_pixels

    path = Path(model)
    if path.suffix.lower() not in SUFFIXES:
        raise _problem(path, f"unknown kind of model file '{path.suffix}'",
                       hint="an fgir checkpoint (.pt, fgir train -o) or an ONNX file (fgir compile -o)")
    if not path.is_file():
        raise _problem(path, "no such file")
    if path.suffix.lower() == ".onnx":
        run, dims, preprocess, baked = _onnx_runner(path, threads)
    else:
        run, dims, preprocess, baked = _torch_runner(path)
    x, y, classes = read_pixels(data, dims, labels=False)
    warnings = []
    prepare = preprocess
    if prepare is None:
        warnings.append(str(Diagnostic(Loc(str(path)), "", "records no input preprocessing (it was not written "
                                       "by fgir train, or by an older fgir): the images are fed in [0, 1], "
                                       "not normalised", severity="warning")))
        prepare = Preprocess.of(0.0, 1.0, dims)
    elif list(prepare.input) != list(dims):
        raise FgirError(Diagnostic(Loc(str(path)), "", f"records preprocessing for input "
                                   f"{'x'.join(map(str, prepare.input))}, but takes {'x'.join(map(str, dims))}"))
    try:
        out = [run(prepare(x[i:i + batch_size], normalize=not baked)) for i in range(0, len(x), batch_size)]
    except ValueError as exc:   # images of a channel count the network does not take
        raise _problem(Path(str(data)), str(exc)) from None
    predictions = np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)
    return Prediction(path, str(data), predictions, y, preprocess, baked, classes, warnings)


__all__ = ["Prediction", "predict", "recorded_input"]

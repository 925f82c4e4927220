"""``fgir.deploy.quantize`` (this module's :func:`quantize`): a float model to int8 or mixed precision,
the Quant process written into a new spec.

Post-training quantization of a trained checkpoint: the spec gets a Quant process
(:mod:`.plan`), the float weights are calibrated (``calibration``: ``minmax``,
``percentile`` or ``mse``) and each quantized layer's bias corrected
(:mod:`.bias`, on by default) on the calibration images, prepared as the
checkpoint records its training prepared them (:mod:`.data`).  The float and the
quantized accuracy are measured on held-out images; ``max_drop`` (points) raises
bits and leaves layers float until the drop is within it, and ``mixed`` with
``max_size_kb`` lowers weights to 4 bits, least sensitive first, until they fit
(:mod:`.budget`).  :meth:`QuantizeResult.write` writes the spec (the record of
what was deployed: its relative paths rewritten for its folder) and the model,
an ONNX file of integer kernels and/or an fgir checkpoint.

Example:
    >>> import fgir, tempfile, pathlib
    >>> from fgir.data import Preprocess
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> spec = folder / "net.yaml"
    >>> _ = spec.write_text("search_space:\\n  modules: [stem, relu, conv, pool, flat, fc]\\n"
    ...     "  stem: {type: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1}\\n"
    ...     "  relu: {type: ReLU}\\n  conv: {type: Conv2d, in_channels: 8, out_channels: 8, kernel_size: 3}\\n"
    ...     "  pool: {type: AdaptiveAvgPool2d, output_size: 1}\\n  flat: {type: Flatten}\\n"
    ...     "  fc: {type: Linear, in_features: 8, out_features: 10}\\ninput: 3x8x8\\n")
    >>> model = fgir.to_torch(spec, seed=0)
    >>> model.fgir_preprocess = Preprocess.of(0.5, 0.25, (3, 8, 8))      # what fgir train records
    >>> fgir.save_model(model, folder / "f.pt")
    >>> result = quantize(spec, folder / "f.pt", folder / "q.onnx", calibrate_data="digits", calibrate=1)
    >>> [p.name for p in result.paths], result.float_layers, sorted(result.built.shifts.corrected)
    (['q.yaml', 'q.onnx'], [], ['conv', 'stem'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from fgir.deploy.budget import DropSearch, Step, layer_params, meet_max_drop, mixed_precision, weight_bytes
from fgir.deploy.measure import Bench, Built, accuracy
from fgir.deploy.plan import BitPlan, quant_space
from fgir.diagnostics import ArgumentError, Diagnostic, Loc, SpecIOError

WHERE = "fgir.deploy.quantize"
IMAGES_PER_BATCH = 32
MODEL_SUFFIXES = (".onnx", ".pt", ".pth")


@dataclass
class QuantizeResult:
    """The chosen plan, its network, and what was measured; :meth:`write` writes the spec and the model."""

    bench: Bench
    built: Built
    accuracy: float                 # on the held-out images, 0..1
    search: DropSearch
    size_bytes: float               # the weights at the plan's bits (float layers and the rest at 32)
    float_size_bytes: float
    form: str = "integer"
    paths: list[Path] = field(default_factory=list)

    @property
    def plan(self) -> BitPlan:
        return self.built.plan

    @property
    def float_accuracy(self) -> float:
        return self.bench.float_accuracy

    @property
    def drop(self) -> float:
        """Float accuracy minus quantized, in percentage points."""
        return (self.float_accuracy - self.accuracy) * 100

    @property
    def float_layers(self) -> list[str]:
        return self.plan.float_layers()

    @property
    def steps(self) -> list[Step]:
        return self.search.steps

    def describe(self) -> str:
        """One line: the bits, the accuracies and the drop."""
        quantized = self.plan.quantized_layers()
        bits = sorted({b for name in quantized for b in self.plan.bits(name)})
        return (f"{len(quantized)} of {len(self.plan.names)} layers quantized ({'/'.join(map(str, bits))} bits), "
                f"accuracy {self.float_accuracy * 100:.2f}% float, {self.accuracy * 100:.2f}% quantized "
                f"(drop {self.drop:.2f} points, on {len(self.bench.data.eval_y)} images of "
                f"{self.bench.data.eval_source})")

    def spec_text(self, folder: str | Path | None = None) -> str:
        """The spec with the plan as its Quant process (relative paths rewritten for ``folder``)."""
        doc = self.bench.doc if folder is None else self.bench.doc.relocated(folder)
        float_note = ", ".join(self.float_layers) or "none"
        return doc.text(quant_space(doc.space, self.plan), [
            f"quantized by fgir from {self.bench.doc.file}: {self.describe()}",
            f"layers left float: {float_note}; bias correction "
            f"{'on' if self.bench.bias_correction else 'off'}, calibration {self.bench.calibration}"])

    def write(self, outputs: str | Path | Iterable[str | Path], spec_out: str | Path | None = None) -> list[Path]:
        """Write the model to each of ``outputs`` (``.onnx``: integer kernels; ``.pt``: an fgir checkpoint)
        and the spec to ``spec_out`` (default: the first output's name with ``.yaml``).  Returns the paths."""
        from fgir.api import save_model, to_onnx
        from fgir.atomic import write_atomic

        targets = _checked_outputs(outputs)
        spec_path = Path(spec_out) if spec_out is not None else targets[0].with_suffix(".yaml")
        text = self.spec_text(spec_path.parent)
        write_atomic(spec_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        written = [spec_path]
        for target in targets:
            if target.suffix.lower() == ".onnx":
                to_onnx(self.built.graph, target, weights=self.built.model, form=self.form)
            else:
                save_model(self.built.model, target)
            written.append(target)
        self.paths = written
        return written


def _checked_outputs(outputs: Any) -> list[Path]:
    targets = [outputs] if isinstance(outputs, (str, Path)) else list(outputs)
    for target in targets:
        if Path(target).suffix.lower() not in MODEL_SUFFIXES:
            raise ArgumentError.of(WHERE, "output", f"'{target}': the quantized model is an ONNX file (.onnx) or "
                                                    "an fgir checkpoint (.pt)")
    return [Path(t) for t in targets]


def _float_weights(weights: str | Path) -> Any:
    from fgir.backends.torch.checkpoint import read_weights

    found = read_weights(weights)
    if found.preprocess is None:
        raise SpecIOError(Diagnostic(Loc(str(weights)), "", "records no input preprocessing: quantization "
                                     "calibrates on images prepared as training prepared them",
                                     hint="quantize a checkpoint fgir train wrote (it records its preprocessing)"))
    return found


def quantize(spec: str | Path, weights: str | Path, output: Any = None, *, spec_out: str | Path | None = None,
             bits: int = 8, bits_w: int | None = None, bits_a: int | None = None,
             calibrate_data: str | Path = "digits", eval_data: str | Path | None = None, calibrate: int = 8,
             calibration: str = "percentile", bias_correction: bool = True, max_drop: float | None = None,
             mixed: bool = False, max_size_kb: float | None = None, form: str = "integer") -> QuantizeResult:
    """Quantize the float checkpoint ``weights`` of ``spec``; see the module docstring.

    ``bits`` sets weights and activations, ``bits_w``/``bits_a`` one of them; ``calibrate``: batches of
    32 images (from the part of ``calibrate_data`` not held out); ``output`` (a path or a list: ``.onnx``,
    ``.pt``) and ``spec_out`` are written when given.  Bad data is a DataError naming it and the network's
    input or outputs; an unreachable ``max_drop`` a MaxDropError; a ``max_size_kb`` below the weights at
    4 bits a SizeBudgetError.
    """
    from fgir.api import compile
    from fgir.data.preprocess import Preprocess
    from fgir.deploy.data import quantization_data
    from fgir.prune.output import SpecTree
    from fgir.quant.scheme import CALIBRATION_METHODS, ONNX_FORMS
    from fgir.training.run import class_count

    _check_options(calibration, CALIBRATION_METHODS, "calibration")
    _check_options(form, ONNX_FORMS, "form")
    if mixed != (max_size_kb is not None):
        raise ArgumentError.of(WHERE, "max_size_kb", "mixed precision (mixed=True) and its size budget "
                                                     "(max_size_kb) go together")
    targets = _checked_outputs(output) if output is not None else []
    found = _float_weights(weights)
    preprocess = Preprocess.from_dict(found.preprocess)
    input = "x".join(map(str, preprocess.input))
    graph = compile(spec, input=input)       # the spec's own errors first, where the user wrote them
    doc = SpecTree.read(graph.meta["spec"]["text"], graph.meta["spec"]["file"])
    data = quantization_data(preprocess, class_count(graph), calibrate_data, eval_data,
                             images=calibrate * IMAGES_PER_BATCH)
    bench = Bench(doc, input, dict(found.state_dict), preprocess, data, calibration, bias_correction)
    plan = bench.plan(bits_w or bits, bits_a or bits)
    if mixed:
        plan = mixed_precision(bench, plan, max_size_kb * 1024, doc.file)
    search = meet_max_drop(bench, plan, max_drop, doc.file) if max_drop is not None else DropSearch(plan, 0.0)
    built = bench.build(search.plan)
    params, other = layer_params(search.plan, bench.state)
    result = QuantizeResult(bench, built, accuracy(built.model, data.eval_x, data.eval_y), search,
                            weight_bytes(search.plan, params, other),
                            weight_bytes(search.plan.all_float(), params, other), form)
    if targets:
        result.write(targets, spec_out)
    return result


def _check_options(value: str, allowed: tuple[str, ...], argument: str) -> None:
    if value not in allowed:
        raise ArgumentError.of(WHERE, argument, f"'{value}': expected one of {', '.join(allowed)}")


__all__ = ["QuantizeResult", "quantize"]

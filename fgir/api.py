"""The public Python API: load a spec, compile it, lower it to PyTorch, save and reload models."""

from __future__ import annotations

import contextlib
import gc
import hashlib
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from fgir import arguments as check
from fgir.blocks import memo
from fgir.diagnostics import ArgumentError, Diagnostic, Diagnostics, FgirError, Loc, SpecIOError
from fgir.frontend import build_ir
from fgir.ir.graph import Graph
from fgir.ir.types import TensorType
from fgir.limits import DEFAULT_MAX_PARAMS
from fgir.quant.scheme import CALIBRATION_METHODS, ONNX_FORMS
from fgir.spec.document import parse_document
from fgir.spec.yaml_loader import load_yaml_text, read_spec_text

SpecSource = str | Path | Graph


def parse_input(text: str) -> TensorType:
    """An input size written ``CxHxW`` (``3x32x32``); ValueError saying what is expected otherwise.

    >>> str(parse_input("3x64x64"))
    '3x64x64'
    """
    return TensorType.parse(text)


def check_opset(opset: int) -> int:
    """``opset`` if fgir can emit it, else an ArgumentError (a ValueError too) saying which it can
    (needs the onnx package: ImportError without it)."""
    from fgir.backends.onnx import check_opset as check_emitted

    check.whole(opset, "fgir.to_onnx", "opset", optional=False)
    try:
        return check_emitted(opset)
    except ValueError as exc:
        raise ArgumentError.of("fgir.to_onnx", "opset", str(exc)) from None


def calibration_batches(graph: Graph, count: int, data: str | Path = "digits") -> list:
    """``count`` batches of 32 images from ``data`` (an image folder, an ``.npz``, or the bundled
    ``digits``), prepared for ``graph``'s input exactly as ``fgir train`` prepares them.

    What ``fgir compile --calibrate N [--calibrate-data PATH]`` calibrates on (fgir downloads
    nothing).  A DataError (an FgirError) names bad data; ImportError without scikit-learn for
    the digits; ValueError for a count below 1.
    """
    from fgir.data import calibration_batches as batches

    where = "fgir.api.calibration_batches"
    if not isinstance(graph, Graph) or not graph.is_lowered:
        raise ArgumentError.of(where, "graph", f"expected a compiled Graph (fgir.compile), got {type(graph).__name__}")
    check.whole(count, where, "count", minimum=1, optional=False)
    check.path(data, where, "data")   # "digits" too is a valid path; a NUL or an overlong name is not
    return batches(data, graph.meta["input"], count)


def quantizes_activations(graph: Graph) -> bool:
    """Whether a compiled graph has quantization points (so calibration has ranges to set)."""
    return bool(graph.meta.get("quant", {}).get("points"))


def loads(text: str, file: str = "<string>") -> Graph:
    """Parse spec text into the IR of blocks (not yet expanded or checked).

    >>> g = loads("search_space:\\n  modules: [net]\\n  net: {type: ResNet, depth: 20}\\n")
    >>> [n.op for n in g]
    ['input', 'block:ResNet']
    """
    check.text(text, "fgir.loads", "text")
    check.text(file, "fgir.loads", "file")
    return _build(text, file)


def load(source: str | Path) -> Graph:
    """Parse a spec file (a path) or spec text (a string holding a newline, or one line of YAML such
    as ``search_space: {...}``) into the IR of blocks."""
    source = check.spec_source(source, "fgir.load")
    if isinstance(source, Graph):
        raise ArgumentError.of("fgir.load", "source", "expected a spec file's path or spec text, got a Graph "
                                                      "(fgir.compile takes a Graph)")
    if isinstance(source, str) and check.is_spec_text(source):
        return loads(source)
    path = check.path(source, "fgir.load", "source")
    text = read_spec_text(path)   # once, bounded: a FIFO or a device is refused before any read
    return _build(text, str(path))


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Build and compile with CPython's cycle collector paused.

    The IR is a large web of objects that refer to each other (nodes, users, graphs), and each
    full collection rescans all of them: compile time grew faster than the network (4x the layers
    of a 16 x 1,024-block spec took 6.4x the time; 3.9x with collection paused).  Nothing the
    passes make needs collecting before they finish; collection resumes after, as it was.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(text: str, file: str) -> Graph:
    with _without_cycle_collection():
        return _build_ir(load_yaml_text(text, file), text, file)


def _build_ir(root: Any, text: str, file: str) -> Graph:
    diags = Diagnostics()
    doc = parse_document(root, diags, file)
    diags.raise_if_errors()
    graph = build_ir(doc, diags)
    diags.raise_if_errors()
    graph.meta["spec"] = {"file": file, "text": text,
                          "sha256": hashlib.sha256(text.encode()).hexdigest()}
    _keep_warnings(graph, diags)
    graph.meta["hyper_parameters"] = [str(k) for k in doc.hyper_parameters or {}]
    return graph


def compile(spec: SpecSource, passes: Iterable[Any] | None = None, *,
            input: str | TensorType | None = None, dump_after: Iterable[str] | str | None = None,
            dump_to: Any = None, verify: bool | None = None) -> Graph:
    """Load (if needed) and run the pass pipeline: a lowered, checked, costed graph.

    A :class:`Graph` given is not changed: the passes run on a copy, which is returned.
    ``passes`` replaces the default pipeline; ``input`` (``"3x32x32"``) overrides
    the input size the network's stem implies; ``verify`` checks the IR's invariants
    after every pass (default: when ``FGIR_VERIFY=1`` is set); ``dump_after`` names passes whose
    IR goes to ``dump_to``: a text stream (stderr by default) or a function ``fn(pass_name, graph)``
    (what it raises is its own, and reaches the caller as it is).  Raises :class:`FgirError` with
    every problem found, naming the pass that found them.

    >>> compile("examples/resnet20_cifar.yaml").meta["params"]
    272474
    """
    from fgir.passes import PassContext, PassManager, default_passes

    spec = check.spec_source(spec, "fgir.compile")
    input = check.input_size(input, "fgir.compile")
    dump_after = check.pass_names(dump_after, "fgir.compile")
    pipeline = check.passes(passes, "fgir.compile")
    default_pipeline = pipeline is None
    pipeline = pipeline if pipeline is not None else default_passes()
    if callable(dump_to):
        check.callback(dump_to, ("pass_name", "graph"), "fgir.compile", "dump_to")
    elif dump_to is not None:
        check.stream(dump_to, "fgir.compile", "dump_to")
    if verify is not None:
        check.flag(verify, "fgir.compile", "verify")
    ctx = PassContext({"input": input} if input is not None else {})
    with _without_cycle_collection():     # loading too: one collection after, not one per stage
        # the caller's graph stays as it is; the default passes, handing the graph to no callback, change no
        # block's sub-graph but a Repeat's, so the sub-graphs of others are shared (fgir.blocks.memo); a pass
        # or a callback of the caller's may edit them: its graph is built afresh, sharing nothing kept
        fast = default_pipeline and not callable(dump_to) and memo.enabled()
        with contextlib.nullcontext() if fast else memo.disabled():   # expand_repeat builds blocks too
            graph = (memo.front_end_copy(spec) if fast else spec.copy()) if isinstance(spec, Graph) else load(spec)
            PassManager(pipeline, dump_after=dump_after, dump_to=dump_to, verify=verify).run(graph, ctx)
    _keep_warnings(graph, ctx.diagnostics)
    return graph


def _keep_warnings(graph: Graph, diagnostics: Diagnostics) -> None:
    """Add the warnings to the graph: as text (``meta["warnings"]``, what the CLI prints) and as
    JSON objects (``meta["warning_diagnostics"]``, what ``fgir check --format json`` gives)."""
    warnings = [d for d in diagnostics.items if d.severity == "warning"]
    graph.meta.setdefault("warnings", []).extend(str(d) for d in warnings)
    graph.meta.setdefault("warning_diagnostics", []).extend(d.to_json() for d in warnings)


def check_files(graph: Graph) -> None:
    """Refuse a spec whose processes name a missing file, or one that is no torch checkpoint (Prune's
    ``init_model_file``; ``fgir check`` does this without torch).  Raises SpecIOError with every one."""
    from fgir.frontend import input_file_problems

    problems = input_file_problems(graph)
    if problems:
        raise SpecIOError(problems)


def block_types(name: str | None = None) -> list[dict[str, Any]]:
    """The registered block, layer and process types (plugins' included), each with its typed arguments:
    what ``fgir blocks [NAME]`` lists.  An unknown ``name`` is an ArgumentError with "did you mean".

    >>> [a["name"] for a in block_types("BasicBlock")[0]["arguments"]][:3]
    ['inchannel', 'outchannel', 'stride']
    """
    from fgir.blocks.registry import catalog

    if name is not None:
        check.text(name, "fgir.api.block_types", "name")
    try:
        return catalog(name)
    except ValueError as exc:
        raise ArgumentError.of("fgir blocks", "", str(exc)) from None


def check_size(graph: Graph, max_params: int = DEFAULT_MAX_PARAMS) -> None:
    """Refuse, before allocating anything, a network with more than ``max_params`` parameters."""
    params = graph.meta.get("params")
    if params is not None and params > max_params:
        spec = graph.meta.get("spec", {}).get("file", "<spec>")
        raise FgirError(Diagnostic(Loc(spec), "", f"the network has {params:,} parameters, more than "
                                                  f"the limit of {max_params:,}",
                                   hint="raise the limit with --max-params (max_params=) if you mean it"))


def _compiled(graph: Any, input: Any, function: str) -> Graph:
    """A lowered graph for ``input`` (compiling a spec or an uncompiled graph; a compiled one as it is)."""
    graph = check.spec_source(graph, function)
    size = check.input_size(input, function)
    if isinstance(graph, Graph) and graph.is_lowered:
        if size is not None and list(size.dims) != list(graph.meta.get("input", [])):
            raise ArgumentError.of(function, "input", f"the graph is compiled for input "
                                   f"{'x'.join(map(str, graph.meta.get('input', [])))}, not {size}",
                                   hint="pass the spec (or fgir.compile(spec, input=...)) for another input")
        return graph
    return compile(graph, input=size)


# How a Prune process's ratios choose their channels from the dense weights: fgir.prune's criteria, a tool
# built over this API, hand it in when imported (``import fgir`` imports it), so this module imports no tool.
_CHANNEL_CHOOSER: list[Callable[[Graph, Any], Graph]] = []


def set_channel_chooser(choose: Callable[[Graph, Any], Graph]) -> None:
    """Install ``choose(graph, dense_state) -> graph``, what :func:`to_torch` calls for Prune ratios."""
    _CHANNEL_CHOOSER[:] = [choose]


def _choose_channels(graph: Graph, dense: Any) -> Graph:
    if not _CHANNEL_CHOOSER:   # importing fgir (this module's package) imports fgir.prune, which installs it
        raise RuntimeError("no channel chooser is installed: import fgir, not fgir.api alone")
    return _CHANNEL_CHOOSER[0](graph, dense)


def to_torch(graph: SpecSource, *, input: str | TensorType | tuple[int, int, int] | None = None,
             seed: int | None = None, max_params: int = DEFAULT_MAX_PARAMS, weights: Any = None,
             outputs: str = "tuple"):
    """Lower a graph (compiling it first if needed, for ``input`` when given) to a trainable
    ``torch.nn.Module``.  A network of several outputs (``outputs: [logits, aux]``) returns a tuple
    of them in that order, or with ``outputs="dict"`` a dict by name.

    Refuses a network of more than ``max_params`` parameters before allocating it.  ``weights``:
    an fgir checkpoint or a ``torch.save(model.state_dict())`` file (or a state_dict) to load
    instead of fresh ones; every tensor must fit (a quantized network's ranges may be missing:
    calibrate them).
    """
    from fgir.backends.torch import build_module

    check.seed(seed, "fgir.to_torch")
    check.whole(max_params, "fgir.to_torch", "max_params", minimum=1, optional=False)
    check.choice(outputs, ("tuple", "dict"), "fgir.to_torch", "outputs")
    graph = _compiled(graph, input, "fgir.to_torch")
    dense = None   # the Prune process's init_model_file, read once for choosing channels and for loading
    if graph.meta.get("prune", {}).get("select") and graph.meta["prune"].get("init_model_file"):
        from fgir.backends.torch.prune import read_init_model

        dense = read_init_model(graph)
        graph = _choose_channels(graph, dense)   # Prune ratios: the criterion picks the channels from the weights
    check_size(graph, max_params)
    module = build_module(graph, seed=seed, outputs=outputs)
    if weights is not None:
        from fgir.backends.torch.checkpoint import load_weights

        load_weights(module, weights, graph)
    elif graph.meta.get("prune", {}).get("init_model_file"):
        from fgir.backends.torch.prune import load_pruned_weights

        load_pruned_weights(module, graph, dense)
    return module


def to_onnx(graph: SpecSource, path: str | Path | None = None, *, weights: Any = None,
            seed: int | None = None, opset: int | None = None, keep_bn: bool = False,
            calibrate: Iterable[Any] | None = None, calibration: str = "percentile",
            form: str = "integer", input: str | TensorType | tuple[int, int, int] | None = None,
            bake_preprocess: bool = False, preprocess: Any = None) -> "onnx.ModelProto":
    """Lower a graph (compiling it first if needed) to an ONNX model for inference; write it to ``path``.

    ``weights``: ``None`` for fresh weights (those ``to_torch(graph, seed=seed)``
    initialises), an fgir checkpoint path (``fgir compile -o model.pt``), a torch
    module or ``state_dict``, or a dict of numpy arrays.  ``opset``: 17 to the newest
    the installed onnx knows (default 21).  BatchNorm is folded into
    convolutions unless ``keep_bn`` (quantized convs always fold theirs).  A quantized
    network's layers are integer kernels (``form="integer"``) or, for the smallest file,
    4-bit weights stored packed (``form="storage"``; see fgir.backends.onnx.quant).
    ``calibrate``: batches (tensors or arrays, N x C x H x W) that set every
    quantization point's range before export (post-training quantization: the
    weights may be a float network's), by ``calibration`` (``minmax``, ``percentile``
    or ``mse``; :mod:`fgir.backends.torch.calibrate`), on a copy: a module passed as
    ``weights`` is not changed.  Without it the weights' own ranges (learned by QAT)
    are used; calibrating a network without quantized activations is an error.  ``input``: the
    input size to compile a spec for.  The input preprocessing the weights were trained with (a
    checkpoint's or a module's record; ``preprocess``, a :class:`fgir.data.Preprocess`, overrides it)
    is written to ``metadata_props`` (``fgir.preprocess``, JSON); ``bake_preprocess`` also puts its
    normalisation into the graph, as its first op (Sub, Div on the input), so the file takes images
    in [0, 1].  The file is written atomically; the ``onnx.ModelProto`` is
    returned either way.  A wrong argument is an ArgumentError (an FgirError).

    >>> model = to_onnx("examples/resnet20_cifar.yaml", "model.onnx", seed=0)
    >>> import torch
    >>> float_weights = to_torch("examples/resnet20_cifar.yaml", seed=0)          # PTQ of a float network
    >>> model = to_onnx("examples/quant_resnet20.yaml", weights=float_weights,
    ...                 calibrate=[torch.rand(32, 3, 32, 32)])
    >>> sum(node.op_type == "QuantizeLinear" for node in model.graph.node)   # one per quantized tensor
    33
    """
    from fgir.backends.onnx import DEFAULT_OPSET, build_model, save_atomic
    from fgir.backends.onnx.source import calibrated, resolve_weights

    where = "fgir.to_onnx"
    if path is not None:
        path = check.path(path, where, "path")
    check.seed(seed, where)
    check.flag(keep_bn, where, "keep_bn")
    check.flag(bake_preprocess, where, "bake_preprocess")
    check.choice(calibration, CALIBRATION_METHODS, where, "calibration")
    check.choice(form, ONNX_FORMS, where, "form")
    opset = check_opset(DEFAULT_OPSET if opset is None else opset)
    graph = _compiled(graph, input, where)
    if weights is None:
        weights = to_torch(graph, seed=seed)   # fresh: what `fgir compile -o model.pt` would hold
    elif seed is not None:
        raise ArgumentError.of(where, "seed", "seed only applies to fresh weights; it cannot change given weights")
    record = _preprocess_record(weights, preprocess, bake_preprocess, where)
    arrays, source = resolve_weights(weights, graph)
    if calibrate is not None:
        if not quantizes_activations(graph):
            raise ArgumentError.of(where, "calibrate", "the network quantizes no activations: there is no range "
                                                       "to calibrate", hint="calibrate= applies to a spec with a "
                                                                            "Quant process")
        batches = check.checked_batches(calibrate, tuple(graph.meta["input"]), where)
        arrays = calibrated(graph, arrays, batches, source, method=calibration)
    model = build_model(graph, arrays, opset=opset, keep_bn=keep_bn, form=form, source=source,
                        preprocess=record, bake_preprocess=bake_preprocess)
    if path is not None:
        save_atomic(model, path)
    return model


def _preprocess_record(weights: Any, given: Any, bake: bool, where: str) -> dict | None:
    """The preprocessing an ONNX file records: ``given``, else the weights' (a checkpoint's, a module's)."""
    from fgir.backends.torch.checkpoint import recorded_preprocess
    from fgir.data.preprocess import record_of

    try:
        record = record_of(given if given is not None else recorded_preprocess(weights))
    except ValueError as exc:
        raise ArgumentError.of(where, "preprocess", str(exc)) from None
    if bake and record is None:
        raise ArgumentError.of(where, "bake_preprocess", "the weights record no preprocessing to bake in",
                               hint="a checkpoint fgir train wrote records it; or pass preprocess=")
    return record


def save_model(module: Any, path: str | Path) -> None:
    """Save a compiled module's weights with its resolved spec (what ``fgir compile -o x.pt`` writes)."""
    from fgir.backends.torch import save_checkpoint

    save_checkpoint(module, check.path(path, "fgir.save_model", "path"))


def load_model(path: str | Path):
    """Rebuild the module saved by ``fgir compile -o model.pt``, weights loaded (weights_only).

    ``.fgir_input`` is the input it was compiled for (``[C, H, W]``).  A model ``fgir train`` wrote
    carries the preprocessing its training used as ``.preprocess`` (also ``.fgir_preprocess``): a
    callable taking images ``N x C x H x W`` (or one ``C x H x W``), ``uint8`` or float in [0, 1],
    tensor or array, and giving what the network takes (:mod:`fgir.data.preprocess`); a checkpoint
    that records none (written by ``fgir compile`` from fresh weights) gives a module without it.

    >>> save_model(to_torch("examples/resnet20_cifar.yaml", seed=0), "model.pt")
    >>> sum(p.numel() for p in load_model("model.pt").parameters())
    272474
    """
    from fgir.backends.torch import build_module, read_checkpoint
    from fgir.backends.torch.checkpoint import WeightsFile, fit_weights

    path = check.path(path, "fgir.load_model", "path")
    payload = read_checkpoint(path)
    graph = compile(loads(payload["spec_text"], payload["spec_file"]),
                    input="x".join(str(d) for d in payload["input"]) or None)
    module = build_module(graph)
    # a tensor of another shape is an FgirError naming it and both shapes, not torch's RuntimeError
    fit_weights(module, WeightsFile(path, payload["state_dict"], payload["spec_file"], payload["spec_text"],
                                    payload["input"], payload["preprocess"]), graph)
    return module

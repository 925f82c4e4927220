"""fgir checkpoints and weights files: written atomically, read weights-only, fitted to a network.

An fgir checkpoint holds the weights with the resolved spec they belong to
(``fgir compile -o model.pt``, ``fgir train``, ``fgir.save_model``); a bare
``torch.save(model.state_dict())`` holds the weights alone.  Both are read with
``weights_only=True`` (never running pickled code) by :func:`read_weights`, and
both fit a network built from the spec at hand (:func:`load_weights`); only a
checkpoint can rebuild its network on its own (:func:`read_checkpoint`,
``fgir.load_model``).  A trained model's checkpoint also records the input
preprocessing its training used (:mod:`fgir.data.preprocess`): a module that
loads it carries it as ``fgir_preprocess`` (and ``preprocess``), and saving
that module keeps it.  A file written is complete or absent: a temporary file in
the same folder, flushed to disk, then renamed over the target (``kill -9``
mid-write leaves the previous file whole).

Example:
    >>> import fgir, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.pt"
    >>> save_checkpoint(fgir.to_torch("examples/resnet20_cifar.yaml", seed=0), path)
    >>> sorted(read_checkpoint(path))
    ['format', 'input', 'preprocess', 'spec_file', 'spec_text', 'state_dict']
    >>> read_weights(path).spec_file
    'examples/resnet20_cifar.yaml'
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from fgir.atomic import write_atomic
from fgir.data.preprocess import Preprocess, record_of
from fgir.diagnostics import ArgumentError, Diagnostic, FgirError, Loc, Note, SpecIOError
from fgir.ir.graph import Graph
from fgir.limits import MAX_INFLATION, MAX_WEIGHTS_BYTES, human_bytes, regular_size
from fgir.weights_files import CHECKPOINT_HINT, weights_file_problem

CHECKPOINT_FORMAT = "fgir-checkpoint-1"
FEW_PROBLEMS = 3   # more tensors than this not fitting: the weights are of another network, said in one line


def save_checkpoint(module: nn.Module, path: Path) -> None:
    """Write weights and the resolved spec atomically (:func:`fgir.atomic.write_atomic`)."""
    spec = getattr(module, "fgir_spec", None)
    if not isinstance(module, nn.Module) or not spec:
        raise ArgumentError.of("fgir.save_model", "module", "only modules built by fgir.to_torch carry their spec",
                               hint="for any other module: torch.save(module.state_dict(), path)")
    payload = {"format": CHECKPOINT_FORMAT, "spec_text": spec["text"], "spec_file": spec["file"],
               "input": list(getattr(module, "fgir_input", [])), "state_dict": module.state_dict(),
               "preprocess": record_of(getattr(module, "fgir_preprocess", None))}
    write_atomic(Path(path), lambda tmp: torch.save(payload, tmp))


@dataclass
class WeightsFile:
    """The tensors of a weights file, and the spec they were compiled from when it is an fgir checkpoint."""

    path: Path
    state_dict: dict[str, torch.Tensor]
    spec_file: str | None = None
    spec_text: str | None = None
    input: list[int] | None = None
    preprocess: dict[str, Any] | None = None     # the training's input preprocessing (fgir.data.preprocess)


def attach_preprocess(module: nn.Module, record: Any, where: str | Path = "<weights>") -> None:
    """Give ``module`` the preprocessing ``record`` (a Preprocess or its dict) as ``fgir_preprocess`` and,
    unless the network has a layer of that name, ``preprocess``; an FgirError naming ``where`` for a
    damaged record."""
    try:
        value = record if isinstance(record, Preprocess) else Preprocess.from_dict(record)
    except ValueError as exc:
        raise FgirError(Diagnostic(Loc(str(where)), "", f"its preprocessing record is unreadable: {exc}",
                                   hint=CHECKPOINT_HINT)) from None
    own = tuple(getattr(module, "fgir_input", ()) or ())
    if len(own) == 3 and own != value.input and own[0] == value.channels:
        value = replace(value, input=own)   # weights trained at another size: the training's normalisation, this size
    module.fgir_preprocess = value
    if "preprocess" not in module._modules:
        module.preprocess = value


def read_record(path: str | Path) -> dict[str, Any]:
    """What an fgir checkpoint records besides its tensors (``input``, ``preprocess``, ``spec_file``),
    its tensors memory-mapped, not read; an empty dict for a bare state_dict."""
    path = Path(path)
    check_records(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:   # torch's many types for a file it cannot map: reading its weights says why
        payload = load_weights_only(path)
    if not (isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT):
        return {}
    return {key: payload.get(key) for key in ("input", "preprocess", "spec_file")}


def recorded_preprocess(weights: Any) -> Any:
    """The preprocessing record of weights: a checkpoint's (a path), a module's (``fgir_preprocess``), or None."""
    if isinstance(weights, (str, Path)):
        return read_record(weights).get("preprocess")
    return getattr(weights, "fgir_preprocess", None) if isinstance(weights, nn.Module) else None


def _unloadable(path: Path, exc: Exception) -> SpecIOError:
    """What torch could not load, in fgir's words (torch's advice to load unsafely never reaches the user)."""
    where = Loc(str(path))
    problem = weights_file_problem(path)   # torch says "weights only load failed" of any file it cannot read
    if problem is not None and "ONNX" in problem:
        return SpecIOError(Diagnostic(where, "", problem, hint=CHECKPOINT_HINT))
    if problem is not None:
        return SpecIOError(Diagnostic(where, "", f"not a loadable weights-only checkpoint: it {problem}",
                                      hint=CHECKPOINT_HINT))
    if isinstance(exc, pickle.UnpicklingError):
        return SpecIOError(Diagnostic(where, "", "not a loadable weights-only checkpoint: it holds Python objects "
                                      "besides tensors (a whole module saved with torch.save(model)?); fgir reads "
                                      "weights only, never running pickled code",
                                      hint="save the weights alone: torch.save(model.state_dict(), path)"))
    first = next((line for line in str(exc).splitlines() if line.strip()), "")
    detail = "" if not first or "weights_only" in first else f": {first}"
    return SpecIOError(Diagnostic(where, "", f"not a loadable weights-only checkpoint ({type(exc).__name__}{detail})"))


def check_records(path: Path, what: str = "checkpoint") -> None:
    """Refuse a checkpoint that is no regular file, is over ``MAX_WEIGHTS_BYTES``, or whose zip records
    declare more bytes than :data:`~fgir.limits.MAX_INFLATION` times the file's size (a zip bomb: torch
    would inflate every record into memory before any check of its own), from the zip's central
    directory, before torch reads a record."""
    size = regular_size(path, MAX_WEIGHTS_BYTES, what)
    if weights_file_problem(path) is not None:
        return   # not a zip: torch's own refusal, in fgir's words, is what the user sees (_unloadable)
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    declared = sum(record.file_size for record in records)
    largest = max(records, key=lambda record: record.file_size)
    if declared > MAX_INFLATION * max(size, 1 << 16):
        raise SpecIOError(Diagnostic(Loc(str(path)), "", f"its records declare {declared:,} bytes "
                                     f"({largest.filename}: {largest.file_size:,}), more than a {size:,}-byte "
                                     f"{what} can hold (a zip bomb?); refused before inflating any",
                                     hint=CHECKPOINT_HINT))


def load_weights_only(path: Path, what: str = "checkpoint") -> Any:
    """What ``torch.load(path, weights_only=True)`` reads (never running pickled code); a file torch
    cannot load is a SpecIOError in fgir's words, whoever reads it (--weights, fgir prune, Prune's
    init_model_file).  Only a regular file of bounded size whose records fit it is read
    (:func:`check_records`)."""
    check_records(path, what)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise SpecIOError(Diagnostic(Loc(str(path)), "", f"ran out of memory loading it "
                                                         f"({human_bytes(path.stat().st_size)} on disk)")) from None
    except Exception as exc:  # torch raises many types for a bad or unsafe file
        raise _unloadable(path, exc) from None


def _tensors(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                           for k, v in value.items())


def read_weights(path: str | Path) -> WeightsFile:
    """The tensors of an fgir checkpoint or of a bare ``state_dict`` file, loaded weights-only."""
    path = Path(path)
    payload = load_weights_only(path)
    if isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT:
        if not _tensors(payload.get("state_dict")):
            raise FgirError(Diagnostic(Loc(str(path)), "", "a damaged fgir checkpoint: its state_dict is not a "
                                                           "mapping of names to tensors", hint=CHECKPOINT_HINT))
        return WeightsFile(path, payload.get("state_dict"), payload.get("spec_file"), payload.get("spec_text"),
                           payload.get("input"), payload.get("preprocess"))
    if payload and _tensors(payload):
        return WeightsFile(path, payload)
    raise FgirError(Diagnostic(Loc(str(path)), "", "holds no weights: neither an fgir checkpoint nor a state_dict "
                                                   "of tensors", hint=CHECKPOINT_HINT))


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load an fgir checkpoint with ``weights_only=True`` (never runs pickled code)."""
    weights = read_weights(path)
    if weights.spec_text is None:
        raise FgirError(Diagnostic(Loc(str(path)), "", "not an fgir checkpoint: a bare state_dict holds no spec to "
                                                       "rebuild the network from",
                                   hint="with the spec at hand: fgir.to_torch(spec, weights=path), or "
                                        "fgir compile spec.yaml -o model.onnx --weights path"))
    return {"format": CHECKPOINT_FORMAT, "spec_text": weights.spec_text, "spec_file": weights.spec_file,
            "input": list(weights.input or []), "state_dict": weights.state_dict, "preprocess": weights.preprocess}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _compiled_from(weights: WeightsFile, graph: Graph | None) -> str | None:
    """``compiled from other.yaml (input 3x32x32)`` when ``weights`` is a checkpoint of another spec than
    ``graph``'s; None when it holds no spec, or the same one."""
    spec = (graph.meta.get("spec") or {}) if graph is not None else {}
    if weights.spec_text is None or spec.get("sha256") in (None, _sha(weights.spec_text)):
        return None
    size = "x".join(map(str, weights.input or []))
    return f"compiled from {weights.spec_file}" + (f" (input {size})" if size else "")


def _another_network(weights: WeightsFile, graph: Graph, compiled_from: str, count: int) -> FgirError:
    """One line for the weights of another network: the spec they were compiled from."""
    this = (graph.meta.get("spec") or {}).get("file", "this spec")
    return FgirError(Diagnostic(Loc(str(weights.path)), "", f"holds the weights of another network: {compiled_from}, "
                                                            f"not from {this}; {count} of its tensors do not fit",
                                hint=f"compile {weights.spec_file} with these weights, or give weights of this "
                                     "network"))


def about_other_network(weights: WeightsFile, graph: Graph | None, problems: list[Diagnostic]) -> FgirError:
    """The error for weights that do not fit ``graph`` (``problems``: one a tensor, named by its path).

    A few problems are reported each; more are one line: naming the spec a checkpoint was
    compiled from when it is another one (the weights of another network), else counting them.
    """
    compiled_from = _compiled_from(weights, graph)
    where = Loc(str(weights.path))
    if len(problems) <= FEW_PROBLEMS:
        if compiled_from is None:
            return FgirError(problems)
        first = problems[0]
        return FgirError([replace(first, notes=(*first.notes, Note(where, f"the checkpoint was {compiled_from}"))),
                          *problems[1:]])
    if compiled_from is not None:
        return _another_network(weights, graph, compiled_from, len(problems))
    examples = "; ".join(f"{d.path} {d.message}" for d in problems[:2])
    return FgirError(Diagnostic(where, "", f"does not fit this network: {len(problems)} tensors do not fit "
                                           f"({examples}; ...)", hint="are they the weights of another network? "
                                                                      "'fgir summary' lists this one's layers"))


def _shape(tensor: torch.Tensor) -> str:
    return "x".join(map(str, getattr(tensor, "shape", ()))) or "scalar"


def quantizer_ranges(module: nn.Module) -> set[str]:
    """The state_dict names of a module's quantization points' ranges."""
    from fgir.backends.torch.quant import FakeQuantize

    return {f"{name}.{p}" for name, m in module.named_modules() if isinstance(m, FakeQuantize)
            for p, _ in m.named_parameters()}


def load_weights(module: nn.Module, source: str | Path | Mapping[str, Any], graph: Graph | None = None) -> bool:
    """Load ``source`` (an fgir checkpoint or a state_dict file, or a state_dict) into ``module``.

    Every tensor must fit exactly, but for a quantized network's ranges, which a float
    network's weights lack (QAT or PTQ from float weights).  Returns whether those ranges
    are still to be set (by calibration).  Weights of another network (a checkpoint
    compiled from another spec than ``graph``'s) are said in one line.
    """
    if isinstance(source, (str, Path)):
        weights = read_weights(source)
    elif isinstance(source, Mapping):
        weights = WeightsFile(Path("<state_dict>"), dict(source))
    else:
        raise ArgumentError.of("fgir.to_torch", "weights", f"expected a checkpoint path or a state_dict, got "
                                                           f"{type(source).__name__}")
    return fit_weights(module, weights, graph)


def fit_weights(module: nn.Module, weights: WeightsFile, graph: Graph | None = None) -> bool:
    """Load ``weights`` into ``module`` when every tensor fits (see :func:`load_weights`); an FgirError
    naming each tensor that does not (its shape there and here) otherwise."""
    state, own = weights.state_dict, module.state_dict()
    ranges = quantizer_ranges(module)
    from_float = bool(ranges) and not any(k in state for k in ranges)
    kinds = (("lacks", [k for k in own if k not in state and not (from_float and k in ranges)]),
             ("has unexpected", [k for k in state if k not in own]),
             ("has other shapes for", [f"{k} ({_shape(state[k])} there, {_shape(v)} here)" for k, v in own.items()
                                       if k in state and getattr(state[k], "shape", None) != v.shape]))
    count = sum(len(keys) for _, keys in kinds)
    if count:
        compiled_from = _compiled_from(weights, graph)
        if compiled_from is not None and count > FEW_PROBLEMS:
            raise _another_network(weights, graph, compiled_from, count)
        summary = "; ".join(f"{what} {len(keys)} tensor{'s' if len(keys) > 1 else ''} ({', '.join(keys[:2])}"
                            f"{', ...' if len(keys) > 2 else ''})" for what, keys in kinds if keys)
        raise FgirError(Diagnostic(Loc(str(weights.path)), "", f"does not fit this network: it {summary}"))
    module.load_state_dict(state, strict=not from_float)
    if weights.preprocess is not None:   # the weights were trained on inputs prepared so
        attach_preprocess(module, weights.preprocess, weights.path)
    return from_float


__all__ = ["CHECKPOINT_FORMAT", "WeightsFile", "about_other_network", "attach_preprocess", "check_records",
           "fit_weights", "load_weights", "load_weights_only",
           "quantizer_ranges",
           "read_checkpoint", "read_record", "read_weights", "recorded_preprocess", "save_checkpoint"]

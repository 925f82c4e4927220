"""Supernet checkpoints (``super.pt``), candidates read from files, and extraction of one candidate.

A supernet checkpoint holds the space's text (so it rebuilds the same supernet), its sha256, the
input size, the shared weights, a choice's own weights and the training's preprocessing record.  A
candidate is read from a YAML/JSON mapping by dotted path (``stage2.depth: 3``; an optional
``space_sha256`` is checked), or from a frozen spec of the space such as a search's best.yaml (each
dimension read at its path).

Example:
    >>> from fgir.supernet.ir import build_supernet
    >>> from fgir.supernet.torch_module import SupernetModule
    >>> net = SupernetModule(build_supernet("examples/search/supernet_mobilenet.yaml"))
    >>> save_supernet(net, "super.pt")
    >>> spec, state = extract("super.pt", net.ir.smallest, "sub.pt")
    >>> import fgir; sum(p.numel() for p in fgir.load_model("sub.pt").parameters()) > 0
    True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fgir.diagnostics import Diagnostic, FgirError, Loc, SpecIOError

FORMAT = "fgir-supernet-1"


def save_supernet(net: Any, path: str | Path, preprocess: Any = None) -> None:
    """Write ``net`` (a SupernetModule) atomically: space text and hash, input, shared weights, and the data
    set it was trained on (``net.fgir_data``, :func:`data_record`), which the ``supernet`` evaluator scores on."""
    import torch

    from fgir.atomic import write_atomic

    ir = net.ir
    payload = {"format": FORMAT, "space_text": ir.space.text, "space_file": ir.space.file,
               "space_sha256": ir.space_sha256, "input": ir.input, "state_dict": net.shared.state_dict(),
               "alternatives": net.alternatives.state_dict(),
               "preprocess": preprocess if preprocess is not None else _record(net),
               "data": getattr(net, "fgir_data", None)}
    write_atomic(Path(path), lambda tmp: torch.save(payload, tmp))


def data_record(data: str, val: str | None, val_fraction: float) -> dict[str, Any]:
    """What a checkpoint says of the data its supernet trained on: the training source and the validation
    source (None: ``val_fraction`` of the training source held out), as absolute paths (``digits`` stays).

    >>> data_record("digits", None, 0.2)
    {'data': 'digits', 'val': None, 'val_fraction': 0.2}
    """
    from fgir.data.sources import DIGITS

    def absolute(source: str | None) -> str | None:
        return source if source in (None, DIGITS) else str(Path(source).resolve())

    return {"data": absolute(data), "val": absolute(val), "val_fraction": val_fraction}


def _record(net: Any) -> Any:
    from fgir.data.preprocess import Preprocess

    value = getattr(net, "fgir_preprocess", None)
    return value.to_dict() if isinstance(value, Preprocess) else value


def load_supernet(path: str | Path, space: str | Path | None = None) -> Any:
    """The SupernetModule saved at ``path``; with ``space`` (a spec file), refuse a checkpoint of another
    space, naming both hashes."""
    import torch

    from fgir.search.space import Space
    from fgir.supernet.ir import build_supernet
    from fgir.supernet.torch_module import SupernetModule

    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise SpecIOError(Diagnostic(Loc(str(path)), "", "no such file")) from None
    except Exception as exc:
        raise SpecIOError(Diagnostic(Loc(str(path)), "", f"is not a readable torch file: {exc}")) from None
    if not (isinstance(payload, dict) and payload.get("format") == FORMAT):
        raise FgirError(Diagnostic(Loc(str(path)), "", "is not a supernet checkpoint (fgir train --supernet "
                                                       "writes them)", hint="fgir compile --weights takes a "
                                                                            "plain fgir checkpoint"))
    saved = Space.from_text(payload["space_text"], payload["space_file"])
    if space is not None:
        given = Space.from_spec(space)
        if given.sha256 != payload["space_sha256"]:
            raise FgirError(Diagnostic(Loc(str(path)), "", f"is the supernet of another space: it was trained on "
                                       f"{payload['space_file']} (sha256 {payload['space_sha256'][:16]}), not "
                                       f"{given.file} (sha256 {given.sha256[:16]})",
                                       hint="extract with the space the supernet was trained on"))
    net = SupernetModule(build_supernet(saved, payload["input"]), seed=0)
    net.shared.load_state_dict(payload["state_dict"])
    net.alternatives.load_state_dict(payload.get("alternatives", {}))
    net.fgir_preprocess = payload.get("preprocess")
    net.fgir_data = payload.get("data")
    return net


def calibration_images(net: Any, count: int, data: str | None = None) -> list[Any]:
    """``count`` batches of images to recalibrate a candidate's BatchNorm on: from ``data``, else from the data
    the supernet was trained on (its checkpoint's record), normalised as it was trained."""
    from fgir.data.sources import calibration_batches

    record = getattr(net, "fgir_data", None)
    if data is None and not record:
        raise FgirError(Diagnostic(Loc("--calibrate"), "", "the supernet records no training data to calibrate "
                                   "on (an older fgir wrote it)", hint="name it: --calibrate-data PATH"))
    mean, std = trained_normalisation(net)
    return calibration_batches(data or record["data"], net.ir.graph.meta["input"], count, mean=mean, std=std)


def trained_normalisation(net: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The mean and std the supernet was trained with (its preprocessing record; the defaults without one)."""
    from fgir.data.preprocess import DEFAULT_MEAN, DEFAULT_STD

    record = getattr(net, "fgir_preprocess", None)
    if isinstance(record, dict) and "mean" in record and "std" in record:
        return tuple(record["mean"]), tuple(record["std"])
    return (DEFAULT_MEAN,), (DEFAULT_STD,)


def read_candidate(path: str | Path, space: Any) -> dict[str, Any]:
    """A candidate from a file: a mapping by dotted path, or a frozen spec of ``space`` (best.yaml); a search's
    results by index: :func:`result_candidate`."""
    from fgir.spec.yaml_loader import SMap, load_yaml_file

    path = Path(path)
    root = load_yaml_file(path)   # JSON is YAML
    if not isinstance(root, dict):
        raise FgirError(Diagnostic(Loc(str(path)), "", "a candidate file holds a mapping (dotted path: value) "
                                                       "or a frozen spec of the space"))
    recorded = root.get("space_sha256")
    if recorded is not None and recorded != space.sha256 and not space.sha256.startswith(str(recorded)):
        raise FgirError(Diagnostic(root.value_loc("space_sha256") if isinstance(root, SMap) else Loc(str(path)),
                                   "space_sha256", f"the candidate is of another space (sha256 {recorded}); "
                                   f"the supernet's space {space.file} has sha256 {space.sha256[:16]}"))
    if "modules" in root or "search_space" in root:   # a frozen spec: each dimension at its path
        return frozen_candidate(root, space)
    return root


def result_candidate(path: str | Path, index: int) -> dict[str, Any]:
    """Candidate ``index`` of a search's results (``results.jsonl``, or the search's output folder): the
    values it was evaluated at, by dotted path.

    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "results.jsonl").write_text(json.dumps({"index": 3, "values": {"a.b": 2}}) + "\\n")
    >>> result_candidate(folder, 3)
    {'a.b': 2}
    """
    from fgir.search.store import RESULTS

    path = Path(path)
    results = path / RESULTS if path.is_dir() else path
    try:
        lines = results.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SpecIOError(Diagnostic(Loc(str(results)), "", f"cannot read search results: {exc.strerror or exc}"))
    indices = []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except ValueError:
            raise FgirError(Diagnostic(Loc(str(results), number, 1), "",
                                       "not a JSON row; the results file is damaged")) from None
        if isinstance(row, dict) and row.get("index") == index and isinstance(row.get("values"), dict):
            return row["values"]
        indices.append(row.get("index") if isinstance(row, dict) else None)
    known = [i for i in indices if isinstance(i, int)]
    span = f"its candidates are {min(known)} to {max(known)}" if known else "it holds no candidate"
    raise SpecIOError(Diagnostic(Loc(str(results)), "", f"no candidate {index} in these search results: {span}"))


def frozen_candidate(root: Any, space: Any) -> dict[str, Any]:
    """The candidate a frozen spec of ``space`` is (a YAML tree; each dimension read at its path, located).

    >>> from fgir.search.space import Space
    >>> from fgir.spec.yaml_loader import load_yaml_text
    >>> space = Space.from_spec("examples/search/supernet_nasbench201.yaml")
    >>> frozen_candidate(load_yaml_text(space.freeze(space.initial(None))), space)["net.edges[3]"]
    'skip_connect'
    """
    from fgir.spec.tree import get_in
    from fgir.spec.yaml_loader import SMap

    tree = root.get("search_space", root)
    out = SMap(root.loc) if isinstance(root, SMap) else {}
    for dim in space.dimensions:
        parent = get_in(tree, dim.target.segments[:-1], None)
        last = dim.target.segments[-1]
        if isinstance(parent, list) and isinstance(last, int) and last < len(parent):
            out[dim.key] = parent[last]
        elif isinstance(parent, dict) and last in parent:
            out[dim.key] = parent[last]
            if isinstance(parent, SMap) and isinstance(out, SMap):
                out.key_locs[dim.key] = parent.key_loc(last)
                out.value_locs[dim.key] = parent.value_loc(last)
    return out


def quantized(text: str, bits: int) -> str:
    """A plain spec (YAML text) with a ``Quant`` process of ``bits`` on every layer added.

    >>> print(quantized("search_space:\\n  modules: [a]\\n  a: {type: ReLU}\\n", 8), end="")
    search_space:
      modules: [a, quant]
      a: {type: ReLU}
      quant: {type: Quant, nbit_w_list: 8, nbit_a_list: 8}
    """
    from fgir.spec.tree import dump_spec, plain_tree
    from fgir.spec.yaml_loader import load_yaml_text

    tree = plain_tree(load_yaml_text(text))
    net = tree["search_space"]
    name = next(n for n in ("quant", "quant_process", "int_quant") if n not in net)
    net["modules"] = [*net["modules"], name]
    net[name] = {"type": "Quant", "nbit_w_list": bits, "nbit_a_list": bits}
    return dump_spec(tree)


def parse_assignment(text: str) -> dict[str, Any]:
    """A candidate given inline as JSON (``{"stage1.depth": 2, ...}``)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FgirError(Diagnostic(Loc("<candidate>"), "", f"not JSON: {exc}")) from None
    return value


def extract(supernet: Any, assignment: Any, output: str | Path | None = None, *, space: str | Path | None = None,
            calibrate: Any = None, quant: int | None = None) -> tuple[str, dict[str, Any]]:
    """One candidate of a supernet (a SupernetModule or a checkpoint path) as (spec text, state_dict).

    ``assignment``: a dict by dotted path, or a candidate file (:func:`read_candidate`).  ``calibrate``:
    batches to recalibrate the candidate's BatchNorm statistics on first.  With ``output``, writes a plain
    fgir checkpoint there (``fgir.save_model`` of ``fgir.to_torch`` of the spec, these weights) and the
    spec beside it (``.yaml``); with ``quant`` (a bit width) also the spec with a ``Quant`` process of that
    width on every layer (``.int8.yaml`` for 8), which ``fgir compile --weights --calibrate`` turns into
    an integer ONNX model (post-training quantization) and ``fgir train --weights`` fine-tunes (QAT).
    """
    from fgir.api import loads, save_model, to_torch

    net = supernet if not isinstance(supernet, (str, Path)) else load_supernet(supernet, space)
    where = "<candidate>"
    if isinstance(assignment, (str, Path)):
        where = str(assignment)
        assignment = read_candidate(assignment, net.ir.space)
    net.set_candidate(net.check_candidate(assignment, where))
    if calibrate is not None:
        net.recalibrate(calibrate)
    text, state = net.extract()
    if output is not None:
        module = to_torch(loads(text, str(Path(output).with_suffix(".yaml"))))
        module.load_state_dict(state)
        record = getattr(net, "fgir_preprocess", None)
        if record is not None:
            from fgir.backends.torch.checkpoint import attach_preprocess

            attach_preprocess(module, record)
        save_model(module, output)
        Path(output).with_suffix(".yaml").write_text(text, encoding="utf-8")
        if quant is not None:
            Path(output).with_suffix(f".int{quant}.yaml").write_text(quantized(text, quant), encoding="utf-8")
    return text, state


__all__ = ["FORMAT", "calibration_images", "data_record", "extract", "frozen_candidate", "load_supernet",
           "parse_assignment", "quantized", "read_candidate", "save_supernet", "trained_normalisation"]

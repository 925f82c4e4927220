"""Torch and ONNX Runtime side by side on a quantized network: each quantization point's integer codes.

ONNX Runtime fuses a point's QuantizeLinear into the integer kernel before it; that
kernel's output *is* the point's codes, so asking for the codes tensor as a model output
reads them without changing what runs.
"""

from __future__ import annotations

import collections

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper

from fgir.backends.torch.quant import FakeQuantize


def session(model: onnx.ModelProto, optimized_to=None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if optimized_to is not None:
        options.optimized_model_filepath = str(optimized_to)
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def optimized_ops(model: onnx.ModelProto, tmp_path) -> collections.Counter:
    """The op types ONNX Runtime really runs: its optimized graph, dumped."""
    session(model, tmp_path / "optimized.onnx")
    return collections.Counter(n.op_type for n in onnx.load(str(tmp_path / "optimized.onnx")).graph.node)


def torch_codes(module: torch.nn.Module, x: torch.Tensor) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The output, and each quantization point's integer codes, on one run."""
    codes: dict[str, np.ndarray] = {}
    hooks = [m.register_forward_pre_hook(lambda m, args, n=name: codes.__setitem__(n, m.codes(args[0]).numpy()))
             for name, m in module.named_modules() if isinstance(m, FakeQuantize)]
    try:
        with torch.no_grad():
            out = module(x).numpy()
    finally:
        for hook in hooks:
            hook.remove()
    return out, codes


def onnx_codes(model: onnx.ModelProto, x: np.ndarray, points: list[str]) -> tuple[np.ndarray, dict]:
    """The output and each point's codes as ONNX Runtime computes them."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    produced = {out for n in model.graph.node for out in n.output}
    names = [f"{p}/clipped" if f"{p}/clipped" in produced else f"{p}/codes" for p in points]
    model.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.UINT8, None) for n in names)
    out = session(model).run(None, {model.graph.input[0].name: x})
    return out[0], dict(zip(points, out[1:]))


def code_agreement(graph, module: torch.nn.Module, model: onnx.ModelProto,
                   x: np.ndarray) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Per point (tied ones restate another's), the fraction of codes the two backends agree on;
    and both outputs (torch's, ONNX Runtime's)."""
    points = [p for p in graph.meta["quant"]["points"] if graph[p].attrs["tie"] is None]
    want, mine = torch_codes(module, torch.from_numpy(x))
    got, theirs = onnx_codes(model, x, points)
    agreement = {p: float((theirs[p].astype(np.int64) == mine[p].astype(np.int64)).mean()) for p in points}
    return agreement, want, got


def layerwise_code_agreement(graph, module: torch.nn.Module, model: onnx.ModelProto, x: np.ndarray,
                             limit: int | None = None) -> dict[str, float]:
    """Per point, the share of codes ONNX Runtime computes *from torch's codes of the points before it*
    (the integer op between them alone: no flipped tie upstream carries over).  ``limit`` checks that
    many points, spread over the network."""
    _, mine = torch_codes(module, torch.from_numpy(x))
    points = [p for p in graph.meta["quant"]["points"] if graph[p].attrs["tie"] is None]
    if limit is not None and len(points) > limit:
        points = [points[round(i * (len(points) - 1) / (limit - 1))] for i in range(limit)]
    produced = {out: node for node in model.graph.node for out in node.output}
    constants = {t.name for t in model.graph.initializer}
    codes_of = {p: f"{p}/clipped" if f"{p}/clipped" in produced else f"{p}/codes"
                for p in graph.meta["quant"]["points"] if graph[p].attrs["tie"] is None}
    point_of = {tensor: p for p, tensor in codes_of.items()}
    network_input = model.graph.input[0].name
    extractor = onnx.utils.Extractor(model)
    out: dict[str, float] = {}
    for point in points:
        inputs, stack, seen = set(), [codes_of[point]], set()
        while stack:
            for name in produced[stack.pop()].input:
                if not name or name in constants or name in seen:
                    continue
                seen.add(name)
                if name == network_input or point_of.get(name, point) != point:
                    inputs.add(name)
                else:
                    stack.append(name)
        sub = extractor.extract_model(sorted(inputs), [codes_of[point]])
        feeds = {name: x if name == network_input else mine[point_of[name]].astype(np.uint8) for name in inputs}
        got = session(sub).run(None, feeds)[0]
        out[point] = float((got.astype(np.int64) == mine[point].astype(np.int64)).mean())
    return out

"""The primitive op set: for each op, its output type, its consistency rules, params and MACs.

These rules are the IR's own semantics; passes (``infer_shapes``,
``check_channels``, ``count_cost``) apply them and backends implement them.
MACs count the multiply-accumulates of convolutions and linear layers only,
the convention of torchvision's model documentation.

Example:
    >>> conv = {"in_channels": 3, "out_channels": 64, "kernel_size": [7, 7], "stride": [2, 2],
    ...         "padding": [3, 3], "dilation": [1, 1], "groups": 1, "bias": False}
    >>> str(OPS["conv2d"].infer(conv, [TensorType(3, 224, 224)]))
    '64x112x112'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from fgir.ir.types import TensorType

Attrs = dict[str, Any]
Problem = tuple[str, str]   # (attribute the problem is about, message)


def _window(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _spatial(attrs: Attrs, t: TensorType, channels: int) -> TensorType:
    kh, kw = attrs["kernel_size"]
    sh, sw = attrs["stride"]
    ph, pw = attrs["padding"]
    dh, dw = attrs.get("dilation", [1, 1])
    return TensorType(channels, _window(t.height, kh, sh, ph, dh), _window(t.width, kw, sw, pw, dw))


def _needs_spatial(attrs: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    if t.is_flat:
        return [("", f"needs a CxHxW input but gets a flattened {t}")]
    return []


# -- conv2d -----------------------------------------------------------------
def _conv_infer(attrs: Attrs, ins: list[TensorType]) -> TensorType:
    return _spatial(attrs, ins[0], attrs["out_channels"])


def _conv_check(attrs: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    problems = _needs_spatial(attrs, ins)
    if attrs["in_channels"] != t.channels:
        problems.append(("in_channels", f"expects {attrs['in_channels']} input channels "
                                        f"but receives {t.channels}"))
    groups = attrs["groups"]
    for key in ("in_channels", "out_channels"):
        if attrs[key] % groups:
            problems.append((key, f"has {key} {attrs[key]}, not divisible by groups {groups}"))
    return problems


def _conv_params(attrs: Attrs) -> int:
    kh, kw = attrs["kernel_size"]
    n = attrs["out_channels"] * (attrs["in_channels"] // attrs["groups"]) * kh * kw
    return n + (attrs["out_channels"] if attrs["bias"] else 0)


def _conv_macs(attrs: Attrs, ins: list[TensorType], out: TensorType) -> int:
    kh, kw = attrs["kernel_size"]
    per_output = (attrs["in_channels"] // attrs["groups"]) * kh * kw
    return out.channels * out.height * out.width * per_output


# -- others -------------------------------------------------------------------
def _bn_check(attrs: Attrs, ins: list[TensorType]) -> list[Problem]:
    problems = _needs_spatial(attrs, ins)
    if attrs["num_features"] != ins[0].channels:
        problems.append(("num_features", f"expects {attrs['num_features']} channels "
                                         f"but receives {ins[0].channels}"))
    return problems


def _linear_check(attrs: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    if not t.is_flat:
        return [("", f"needs a flattened input but gets {t}; add a View or Flatten before it")]
    if attrs["in_features"] != t.channels:
        return [("in_features", f"expects {attrs['in_features']} input features "
                                f"but receives {t.channels}")]
    return []


def _add_check(attrs: Attrs, ins: list[TensorType]) -> list[Problem]:
    if len(set(ins)) > 1:
        shapes = " + ".join(str(t) for t in ins)
        return [("", f"adds tensors of different shapes: {shapes}")]
    return []


def _pool_check(attrs: Attrs, ins: list[TensorType]) -> list[Problem]:
    problems = _needs_spatial(attrs, ins)
    for k, p in zip(attrs["kernel_size"], attrs["padding"]):
        if p > k // 2:  # torch and ONNX Runtime refuse such a pool
            problems.append(("padding", f"pads by {p}, more than half its kernel {k}"))
            break
    return problems


def _pool_infer(attrs: Attrs, ins: list[TensorType]) -> TensorType:
    return _spatial(attrs, ins[0], ins[0].channels)


def _adaptive_infer(attrs: Attrs, ins: list[TensorType]) -> TensorType:
    oh, ow = attrs["output_size"]
    return TensorType(ins[0].channels, oh, ow)


def _flatten_infer(attrs: Attrs, ins: list[TensorType]) -> TensorType:
    return TensorType(ins[0].numel)


def _same(attrs: Attrs, ins: list[TensorType]) -> TensorType:
    return ins[0]


def _no_problems(attrs: Attrs, ins: list[TensorType]) -> list[Problem]:
    return []


def _zero(*_: Any) -> int:
    return 0


@dataclass(frozen=True)
class OpDef:
    """What one primitive op means to the passes."""

    name: str
    arity: int
    infer: Callable[[Attrs, list[TensorType]], TensorType]
    check: Callable[[Attrs, list[TensorType]], list[Problem]] = _no_problems
    params: Callable[[Attrs], int] = _zero
    macs: Callable[[Attrs, list[TensorType], TensorType], int] = _zero
    # the attribute that may be left out and is then read off the input's channels
    inferred_width: str | None = None
    # needs a CxHxW input (check reports a flattened one; infer passes it through)
    spatial: bool = False


OPS: dict[str, OpDef] = {op.name: op for op in [
    OpDef("conv2d", 1, _conv_infer, _conv_check, _conv_params, _conv_macs, "in_channels", True),
    OpDef("batch_norm", 1, _same, _bn_check,
          lambda a: 2 * a["num_features"] if a["affine"] else 0, inferred_width="num_features",
          spatial=True),
    OpDef("relu", 1, _same),
    OpDef("max_pool2d", 1, _pool_infer, _pool_check, spatial=True),
    OpDef("avg_pool2d", 1, _pool_infer, _pool_check, spatial=True),
    OpDef("adaptive_avg_pool2d", 1, _adaptive_infer, _needs_spatial, spatial=True),
    OpDef("flatten", 1, _flatten_infer),
    OpDef("linear", 1, lambda a, ins: TensorType(a["out_features"]), _linear_check,
          lambda a: a["in_features"] * a["out_features"] + (a["out_features"] if a["bias"] else 0),
          lambda a, ins, out: a["in_features"] * a["out_features"], "in_features"),
    OpDef("dropout", 1, _same),
    OpDef("identity", 1, _same),
    OpDef("add", 2, _same, _add_check),
]}

"""Shape ops: they move values, never compute with them (reshape, permute, transpose, slice,
channel_shuffle).

Dims in ``permute``, ``transpose`` and ``slice`` are torch's, counting the batch
as dim 0 (which must stay where it is); ``reshape``'s shape is the sample's, the
batch left out.  A reshape or a permute moves channels where the channel rules
do not follow them (:data:`OPAQUE`); a slice keeps channels when it cuts along
another axis (a class token ``x[:, 0:1]``) and is opaque when it cuts channels
(ShuffleNet's split); a channel shuffle permutes them (opaque too).

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> seq = TensorType(10, 16)
    >>> OPS["permute"].infer({"dims": [0, 2, 1]}, [seq]).describe()
    'a 16x10 tensor (DxL)'
    >>> str(OPS["reshape"].infer({"shape": [4, -1], "layout": None}, [seq]))
    '4x40'
    >>> str(OPS["slice"].infer({"dim": 1, "start": 0, "end": 1, "step": 1}, [seq]))
    '1x16'
"""

from __future__ import annotations

import math
from typing import Any

from fgir.ir.ops.channel_rules import OPAQUE, RULES, ChannelRule
from fgir.ir.ops.schema import ATTR_KINDS, Attr, Attrs, OpSchema, Problem, Sign, Trait
from fgir.ir.types import DEFAULT_LAYOUTS, TensorType


def _ints(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)


# the attribute kinds these ops need (registered here, next to the only ops that read them)
ATTR_KINDS.update({
    "shape": ("a list of positive sizes, one of them -1 at most",
              lambda v: _ints(v) and bool(v) and all(x >= 1 or x == -1 for x in v) and v.count(-1) <= 1),
    "dims": ("a list of dims (integers)", lambda v: _ints(v) and bool(v)),
    "optional_int": ("an integer or null", lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool))),
    "optional_layout": ("a layout such as 'CHW' or 'LD', or null",
                        lambda v: v is None or (isinstance(v, str) and v.isalpha() and v.isupper())),
})


def _dim(d: int, rank: int) -> int:
    """A torch dim (batch = 0, negatives from the end) of a rank-``rank`` sample, as a sample axis
    (-1 for the batch, None when out of range)."""
    full = d + rank + 1 if d < 0 else d
    return full - 1 if 0 <= full <= rank else None


def _dim_problem(attr: str, d: int, t: TensorType) -> list[Problem]:
    axis = _dim(d, t.rank)
    if axis is None:
        return [(attr, f"has dim {d}, out of range for {t.describe()} (dims 0 to {t.rank}, the batch being 0)")]
    if axis == -1:
        return [(attr, f"has dim {d}: the batch dim 0 must stay in place ({t.describe()})")]
    return []


# -- reshape -------------------------------------------------------------------------------
def _reshape_dims(a: Attrs, t: TensorType) -> list[int] | None:
    shape = list(a["shape"])
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if t.numel % known:
            return None
        shape[shape.index(-1)] = t.numel // known
    return shape if math.prod(shape) == t.numel else None


def _reshape_layout(a: Attrs, rank: int) -> str | None:
    return a["layout"] or DEFAULT_LAYOUTS.get(rank)


def _reshape_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t, shape = ins[0], a["shape"]
    if _reshape_dims(a, t) is None:
        return [("shape", f"cannot reshape {t.describe()} ({t.numel} values) to {'x'.join(map(str, shape))}")]
    layout = _reshape_layout(a, len(shape))
    if layout is None or len(layout) != len(shape) or len(set(layout)) != len(layout):
        return [("layout", f"needs a layout of {len(shape)} distinct axis letters for its rank-{len(shape)} "
                           f"result, not {a['layout']!r}")]
    return []


def _reshape_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    if _reshape_check(a, ins):
        return ins[0]   # check_channels reports it
    return TensorType(*_reshape_dims(a, ins[0]), layout=_reshape_layout(a, len(a["shape"])))


# -- permute and transpose --------------------------------------------------------------------
def _permute_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t, dims = ins[0], a["dims"]
    full = [d + t.rank + 1 if d < 0 else d for d in dims]
    if sorted(full) != list(range(t.rank + 1)):
        return [("dims", f"needs a permutation of dims 0 to {t.rank} for {t.describe()}, not {dims}")]
    if full[0] != 0:
        return [("dims", f"moves the batch dim: dims must start with 0 (the batch), not {dims}")]
    return []


def _permuted(t: TensorType, axes: list[int]) -> TensorType:
    return TensorType(*(t.dims[i] for i in axes), layout="".join(t.layout[i] for i in axes))


def _permute_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    t = ins[0]
    if _permute_check(a, ins):
        return t
    return _permuted(t, [_dim(d, t.rank) for d in a["dims"][1:]])


def _transpose_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    return _dim_problem("dim0", a["dim0"], ins[0]) + _dim_problem("dim1", a["dim1"], ins[0])


def transpose_axes(a: Attrs, rank: int) -> list[int]:
    """The sample axes in their new order (what ONNX's Transpose perm says, less the batch)."""
    axes = list(range(rank))
    i, j = _dim(a["dim0"], rank), _dim(a["dim1"], rank)
    axes[i], axes[j] = axes[j], axes[i]
    return axes


def _transpose_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    t = ins[0]
    return t if _transpose_check(a, ins) else _permuted(t, transpose_axes(a, t.rank))


# -- slice ---------------------------------------------------------------------------------
def slice_range(a: Attrs, t: TensorType) -> tuple[int, range]:
    """The sample axis a slice cuts and the indices it keeps there (Python's slice rules)."""
    axis = _dim(a["dim"], t.rank)
    return axis, range(t.dims[axis])[slice(a["start"], a["end"], a["step"])]


def _slice_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    problems = _dim_problem("dim", a["dim"], t)
    if not problems and not slice_range(a, t)[1]:
        end = "the end" if a["end"] is None else a["end"]
        problems.append(("start", f"keeps nothing of {t.describe()}: {a['start']} to {end} along dim {a['dim']}"))
    return problems


def _slice_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    t = ins[0]
    if _slice_check(a, ins):
        return t
    axis, kept = slice_range(a, t)
    dims = list(t.dims)
    dims[axis] = len(kept)
    return TensorType(*dims, layout=t.layout)


class _SliceRule(ChannelRule):
    """A slice keeps channel i as channel i when it cuts another axis; cutting channels is opaque."""

    value = "slice"

    def _cuts_channels(self, node) -> bool:
        t = node.inputs[0].type
        return t is None or _dim(node.attrs["dim"], t.rank) == t.channel_axis

    def groups(self, node, ins, net):
        return OPAQUE.groups(node, ins, net) if self._cuts_channels(node) else ins[0]

    def prune(self, node, flow, has_weights):
        return OPAQUE.prune(node, flow, has_weights) if self._cuts_channels(node) else \
            super().prune(node, flow, has_weights)


SLICE_RULE = RULES.setdefault("slice", _SliceRule())   # by value, as pickles name rules


def _label_slice(a: Attrs) -> str:
    end = "" if a.get("end") is None else a["end"]
    step = "" if a.get("step") in (1, None) else f":{a['step']}"
    return f"slice dim {a.get('dim')} [{a.get('start')}:{end}{step}]"


# -- channel_shuffle -------------------------------------------------------------------------
def _shuffle_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    if not t.is_image:
        return [("", f"needs a CxHxW input but gets {t.describe()}")]
    if t.channels % a["groups"]:
        return [("groups", f"has groups {a['groups']}, which does not divide the {t.channels} channels of "
                           f"{t.describe()}")]
    return []


def _shape_op(name: str, label, attrs: tuple[Attr, ...], infer, check, channels: Any = OPAQUE) -> OpSchema:
    return OpSchema(name, {Trait.SHAPE_ONLY}, label, attrs=attrs, infer=infer, check=check, channels=channels,
                    sign=Sign.OF_INPUTS, quant_role="on_grid")


RESHAPE = _shape_op("reshape", lambda a: f"reshape {'x'.join(map(str, a.get('shape') or [])) or '?'}",
                    (Attr("shape", "shape"), Attr("layout", "optional_layout", None)), _reshape_infer,
                    _reshape_check)
PERMUTE = _shape_op("permute", lambda a: f"permute {a.get('dims')}", (Attr("dims", "dims"),), _permute_infer,
                    _permute_check)
TRANSPOSE = _shape_op("transpose", lambda a: f"transpose {a.get('dim0')},{a.get('dim1')}",
                      (Attr("dim0", "int"), Attr("dim1", "int")), _transpose_infer, _transpose_check)
SLICE = _shape_op("slice", _label_slice, (Attr("dim", "int"), Attr("start", "int", 0),
                                          Attr("end", "optional_int", None), Attr("step", "positive", 1)),
                  _slice_infer, _slice_check, SLICE_RULE)
CHANNEL_SHUFFLE = _shape_op("channel_shuffle", lambda a: f"channel shuffle g{a.get('groups')}",
                            (Attr("groups", "positive"),), lambda a, ins: ins[0], _shuffle_check)

SCHEMAS = [RESHAPE, PERMUTE, TRANSPOSE, SLICE, CHANNEL_SHUFFLE]

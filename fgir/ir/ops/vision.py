"""Vision ops besides resampling: layer and group norm, GELU, softmax, the zero op, and constant padding.

``layer_norm`` normalizes over the channel axis: ``D`` of a token sequence or a
vector (``torch.nn.LayerNorm(D)``, over the last dim), ``C`` of an image
(torchvision's ``LayerNorm2d``, ConvNeXt's: channels-last, LayerNorm, back).
``channels_first`` says which of the two layers wrote it, so that a
``LayerNorm`` on an image, which torch would apply over the width, is refused
rather than silently meaning something else.

Normalizations and a softmax over channels *couple* the channels (each output
channel depends on all of them): their channel groups are locked for pruning.
A softmax is locked too, whichever axis it runs over (see ``SOFTMAX``).

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> ln = OPS["layer_norm"].complete({"normalized_shape": 16, "channels_first": False})
    >>> OPS["layer_norm"].check(ln, [TensorType(10, 32)])
    [('normalized_shape', 'normalizes 16 features but receives a token sequence 10x32 (LxD) of 32')]
    >>> OPS["layer_norm"].params(ln), OPS["layer_norm"].label(ln)
    (32, 'layernorm 16')
"""

from __future__ import annotations

from fgir.ir.ops.channel_rules import COUPLED
from fgir.ir.ops.schema import (Attr, Attrs, Identity, OpSchema, Problem, Sign, Trait, Weight, needs_spatial,
                                width_text)
from fgir.ir.types import TensorType


# -- layer norm and group norm -----------------------------------------------------------------
def _affine(c: int, bias: bool = True) -> list[Weight]:
    out = [Weight("weight", (c,), out_axis=0, in_axis=0, identity=Identity.ONES)]
    if bias:
        out.append(Weight("bias", (c,), out_axis=0, in_axis=0))
    return out


def _layer_norm_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    if a["channels_first"] and not t.is_image:
        return [("", f"normalizes the channels of a CxHxW image (LayerNorm2d) but gets {t.describe()}; "
                     "use LayerNorm to normalize its last dim")]
    if not a["channels_first"] and t.is_image:
        return [("", f"normalizes the last dim (LayerNorm), the width of {t.describe()}; "
                     "use LayerNorm2d to normalize an image's channels")]
    if a["normalized_shape"] != t.channels:
        what = "channels" if t.is_image else "features"
        return [("normalized_shape", f"normalizes {a['normalized_shape']} {what} but receives {t.describe()} "
                                     f"of {t.channels}")]
    return []


def _layer_norm_weights(a: Attrs) -> list[Weight]:
    return _affine(a["normalized_shape"], a["bias"]) if a["elementwise_affine"] else []


def _one_width(key: str):
    """``with_widths`` of a norm: its one width follows the channels, whichever side is given."""
    return lambda a, i, o: {**a, key: next((w for w in (i, o) if w is not None), a[key])}


LAYER_NORM = OpSchema(
    "layer_norm", {Trait.NORMALIZATION, Trait.COUPLES_CHANNELS, Trait.HAS_WEIGHTS},
    lambda a: f"layernorm {width_text(a.get('normalized_shape'))}",
    attrs=(Attr("normalized_shape", "width", None), Attr("eps", "float", 1e-5),
           Attr("elementwise_affine", "bool", True), Attr("bias", "bool", True),
           Attr("channels_first", "bool", True)),
    check=_layer_norm_check, weights=_layer_norm_weights, channels=COUPLED,
    with_widths=_one_width("normalized_shape"), inferred_width="normalized_shape")


def _group_norm_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    problems = needs_spatial(a, ins)
    c = ins[0].channels
    if a["num_channels"] != c:
        problems.append(("num_channels", f"expects {a['num_channels']} channels but receives {ins[0].describe()}"))
    elif c % a["num_groups"]:
        problems.append(("num_groups", f"splits {c} channels into {a['num_groups']} groups: "
                                       f"{c} is not divisible by {a['num_groups']}"))
    return problems


GROUP_NORM = OpSchema(
    "group_norm", {Trait.NORMALIZATION, Trait.COUPLES_CHANNELS, Trait.HAS_WEIGHTS},
    lambda a: f"groupnorm {width_text(a.get('num_channels'))}/{width_text(a.get('num_groups'))}",
    attrs=(Attr("num_groups", "positive"), Attr("num_channels", "width", None), Attr("eps", "float", 1e-5),
           Attr("affine", "bool", True)),
    check=_group_norm_check, weights=lambda a: _affine(a["num_channels"]) if a["affine"] else [],
    channels=COUPLED, with_widths=_one_width("num_channels"), inferred_width="num_channels", spatial=True)


# -- GELU ---------------------------------------------------------------------------------------
# no ``layer``: the argument-less activation layers are made from schemas that name one; GELU has an
# argument (``approximate``), so fgir.blocks.layers_vision writes its layer
GELU = OpSchema(
    "gelu", {Trait.ACTIVATION, Trait.ELEMENTWISE},
    lambda a: "gelu" if a.get("approximate") in ("none", None) else f"gelu {a['approximate']}",
    attrs=(Attr("approximate", "gelu_approximate", "none"),))


# -- softmax ------------------------------------------------------------------------------------
def softmax_axis(dim: int, t: TensorType) -> int | None:
    """The axis of ``t`` (no batch dim) that torch's ``dim`` (counting the batch dim) names; None for the
    batch dim or a dim out of range.

    >>> softmax_axis(1, TensorType(16, 8, 8)), softmax_axis(-1, TensorType(10, 16)), softmax_axis(0, TensorType(4))
    (0, 1, None)
    """
    rank = t.rank + 1
    if not -rank <= dim < rank:
        return None
    d = dim % rank
    return None if d == 0 else d - 1


def _softmax_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t, dim = ins[0], a["dim"]
    rank = t.rank + 1
    if not -rank <= dim < rank:
        return [("dim", f"takes dim {dim}, out of range for {t.describe()} with its batch dim "
                        f"(rank {rank}: {-rank} to {rank - 1})")]
    if softmax_axis(dim, t) is None:
        return [("dim", f"takes dim {dim}, the batch dim: a softmax over the samples of a batch mixes them; "
                        f"give a dim of {t.describe()}, counting the batch dim as 0")]
    return []


# COUPLED (locked for pruning) whatever the dim: a softmax over another axis than the channels' would
# keep channel i from channel i (PASS), but which axis ``dim`` names depends on the input's rank, and an
# op's traits and channel rule are the op's, read off its attributes alone: locking is the safe answer
SOFTMAX = OpSchema(
    "softmax", {Trait.COUPLES_CHANNELS}, lambda a: f"softmax dim {a.get('dim')}",
    attrs=(Attr("dim", "int"),), check=_softmax_check, channels=COUPLED, sign=Sign.NON_NEGATIVE)


# -- zero (NAS-Bench-201's and DARTS's "none" edge) ------------------------------------------------
def _strided(size: int, stride: int) -> int:
    return -(-size // stride)     # x[:, :, ::s, ::s] keeps ceil(size / s)


def _zero_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    t, s = ins[0], a["stride"]
    if s == 1 or not t.is_image:   # a stride on another type: check says so
        return t
    return TensorType(t.channels, _strided(t.height, s), _strided(t.width, s))


def _zero_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    if a["stride"] != 1 and not ins[0].is_image:
        return [("stride", f"strides a CxHxW image but gets {ins[0].describe()}")]
    return []


ZERO = OpSchema(
    "zero", {Trait.ELEMENTWISE}, lambda a: "zero" + ("" if a.get("stride") in (1, None) else f" /{a['stride']}"),
    attrs=(Attr("stride", "positive", 1),), infer=_zero_infer, check=_zero_check, sign=Sign.NON_NEGATIVE)


# -- constant padding ------------------------------------------------------------------------------
def _pad_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    left, right, top, bottom = a["padding"]
    t = ins[0]
    return TensorType(t.channels, t.height + top + bottom, t.width + left + right)


def _pad_label(a: Attrs) -> str:
    value = a.get("value")
    return f"pad {a.get('padding')}" + ("" if value in (0, 0.0, None) else f" = {value}")


# Sign.ANY: the padding value may be negative; zero padding of a non-negative input stays non-negative,
# but the sign is the op's, whatever its value
PAD = OpSchema(
    "pad", {Trait.SHAPE_ONLY}, _pad_label,
    attrs=(Attr("padding", "pads", [0, 0, 0, 0]), Attr("value", "float", 0.0)),
    infer=_pad_infer, check=needs_spatial, spatial=True)

SCHEMAS = [LAYER_NORM, GROUP_NORM, GELU, SOFTMAX, ZERO, PAD]

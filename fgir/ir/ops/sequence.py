"""Sequence ops, what vision transformers need: matmul, and the learned tensors a network adds to its
activations (a class token, a position embedding, a layer scale).

``matmul`` is torch.matmul on sample shapes of equal rank (``LxD @ DxM = LxM``; a
leading axis such as heads is matched, not broadcast) and counts its products as
MACs (``L*D*M``), as linear does: it is arithmetic like linear's, only with two
activations.  Its output has its first input's layout.

The learned tensors have torchvision's shapes, batch axis included, so that a
checkpoint's tensors load once renamed: ``class_token`` ``(1, 1, D)``,
``pos_embedding`` ``(1, L, D)``, ConvNeXt's ``layer_scale`` ``(C, 1, 1)`` (on a sequence
too: the backends flatten it there).  Each is the node's own tensor, its weight
named ``""`` (:func:`~fgir.ir.ops.schema.weight_key`): its ``state_dict`` key is the
node's path, as torchvision names them (``class_token``, ``encoder.pos_embedding``,
``features.1.0.layer_scale``).  Each keeps channel i as channel i (:data:`PASS`),
its weight's channel axis following the channels.

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> seq = TensorType(196, 768)
    >>> str(OPS["class_token"].infer({"embed_dim": 768}, [seq])), OPS["class_token"].params({"embed_dim": 768})
    ('197x768', 768)
    >>> mm = OPS["matmul"]; out = mm.infer({}, [seq, TensorType(768, 10)])
    >>> str(out), mm.macs({}, [seq, TensorType(768, 10)], out)
    ('196x10', 1505280)
"""

from __future__ import annotations

from fgir.ir.ops.channel_rules import OPAQUE, PASS
from fgir.ir.ops.schema import Attr, Attrs, Identity, OpSchema, Problem, Trait, Weight, width_text
from fgir.ir.types import TensorType


# -- matmul ------------------------------------------------------------------------------------
def _matmul_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    x, y = ins
    if x.rank < 2 or x.rank != y.rank or x.dims[:-2] != y.dims[:-2] or x.dims[-1] != y.dims[-2]:
        return [("", f"cannot multiply {x.describe()} by {y.describe()}: needs ...xNxK @ ...xKxM "
                     "with the same leading dims")]
    return []


def _matmul_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    x, y = ins
    if _matmul_check(a, ins):
        return x   # check_channels reports it
    return TensorType(*x.dims[:-1], y.dims[-1], layout=x.layout)


def _matmul_macs(a: Attrs, ins: list[TensorType], out: TensorType) -> int:
    return out.numel * ins[0].dims[-1] if ins[0].rank >= 2 else 0


MATMUL = OpSchema("matmul", {Trait.JOIN}, lambda a: "matmul", arity=2, infer=_matmul_infer, check=_matmul_check,
                  macs=_matmul_macs, channels=OPAQUE, layer="MatMul",
                  quant_role="integer_inputs")   # in a quantized network: QLinearMatMul, its inputs quantized


# -- learned tensors ------------------------------------------------------------------------------
def _needs_sequence(attr: str, size: str, expected: int, t: TensorType) -> list[Problem]:
    if not t.is_sequence:
        return [("", f"needs a token sequence (LxD) but gets {t.describe()}")]
    if expected != t.channels:
        return [(attr, f"expects {size} {expected} but receives {t.describe()}")]
    return []


def _token_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    return _needs_sequence("embed_dim", "embed_dim", a["embed_dim"], ins[0])


def _token_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    t = ins[0]
    return TensorType(t.dims[0] + 1, t.dims[1]) if t.is_sequence else t


def _position_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    problems = _needs_sequence("embed_dim", "embed_dim", a["embed_dim"], t)
    if not problems and a["seq_length"] != t.dims[0]:
        problems.append(("seq_length", f"expects seq_length {a['seq_length']} but receives {t.describe()}"))
    return problems


def _scale_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    if not (t.is_image or t.is_sequence or t.is_flat):
        return [("", f"needs an image, a token sequence or a flattened input but gets {t.describe()}")]
    if a["dim"] != t.channels:
        return [("dim", f"expects dim {a['dim']} but receives {t.describe()}")]
    return []


def _scale_weights(a: Attrs) -> list[Weight]:
    # ConvNeXt's (C, 1, 1), whatever it scales: the backends flatten it for tokens or features
    return [Weight("", (a["dim"], 1, 1), out_axis=0, in_axis=0, identity=Identity.ONES)]


def _width(attr: str):
    def with_widths(a: Attrs, i: int | None, o: int | None) -> Attrs:
        return {**a, attr: next((w for w in (i, o) if w is not None), a[attr])}
    return with_widths


def _learned(name: str, label, attrs: tuple[Attr, ...], infer, check, weights, width: str) -> OpSchema:
    return OpSchema(name, {Trait.HAS_WEIGHTS}, label, attrs=attrs, infer=infer, check=check, weights=weights,
                    channels=PASS, with_widths=_width(width), inferred_width=width)


CLASS_TOKEN = _learned(
    "class_token", lambda a: f"class token {width_text(a.get('embed_dim'))}", (Attr("embed_dim", "width", None),),
    _token_infer, _token_check, lambda a: [Weight("", (1, 1, a["embed_dim"]), out_axis=2, in_axis=2)],
    "embed_dim")
POSITION_EMBEDDING = _learned(
    "position_embedding", lambda a: f"position embedding {width_text(a.get('seq_length'))}x"
                                    f"{width_text(a.get('embed_dim'))}",
    (Attr("seq_length", "positive"), Attr("embed_dim", "width", None)), lambda a, ins: ins[0], _position_check,
    lambda a: [Weight("", (1, a["seq_length"], a["embed_dim"]), out_axis=2, in_axis=2)], "embed_dim")
LAYER_SCALE = _learned(
    "layer_scale", lambda a: f"layer scale {width_text(a.get('dim'))}",
    (Attr("dim", "width", None), Attr("init", "float", 1e-6)),
    lambda a, ins: ins[0], _scale_check, _scale_weights, "dim")

SCHEMAS = [MATMUL, CLASS_TOKEN, POSITION_EMBEDDING, LAYER_SCALE]

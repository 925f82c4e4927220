"""quantize: a quantization point, where a tensor is held as ``bits``-bit integer codes.

The value it passes on is the dequantized one, ``scale * (code - zero)``, with codes
``clamp(round_half_even(x / scale) + zero, 0, 2^bits - 1)``.  A tensor that is never
negative (``zero_point: false``) is held unsigned with zero 0 and a clip range
``[0, alpha]``; one that can be negative gets a zero point and a range ``[low, high]``.
Both backends read the same tensors: ``alpha``, or ``low`` and ``high`` (learned in QAT,
set by calibration).  A point that only restates another one after an op that keeps
values on their grid (a max pool) is *tied* to it (``tie``): it has no range of its
own, and exists so that ONNX Runtime sees each integer op between a DequantizeLinear
and a QuantizeLinear.  Where the points go is the quantization scheme's business
(:mod:`fgir.quant.points`).

Example:
    >>> from fgir.ir.ops import OPS
    >>> q = OPS["quantize"].complete({"bits": 4, "zero_point": True})
    >>> [w.name for w in OPS["quantize"].weights(q)], OPS["quantize"].params(q), OPS["quantize"].label(q)
    (['low', 'high'], 0, 'quant 4-bit ±')
"""

from __future__ import annotations

from fgir.ir.ops.schema import Attr, Attrs, OpSchema, Sign, Trait, Weight


def _weights(a: Attrs) -> list[Weight]:
    if a["tie"] is not None:
        return []
    names = ("low", "high") if a["zero_point"] else ("alpha",)
    return [Weight(name, (), aux=True) for name in names]


def _label(a: Attrs) -> str:
    text = f"quant {a.get('bits')}-bit" + (" ±" if a.get("zero_point") else "")
    return text + (" (tied)" if a.get("tie") else "")


QUANTIZE = OpSchema(
    "quantize", {Trait.QUANT_POINT, Trait.ELEMENTWISE}, _label,
    attrs=(Attr("bits", "bits"), Attr("zero_point", "bool", False), Attr("tie", "optional_name", None)),
    weights=_weights, sign=Sign.OF_INPUTS)

SCHEMAS = [QUANTIZE]

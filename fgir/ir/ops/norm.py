"""batch_norm: per-channel normalisation with running statistics (BatchNorm2d).

Example:
    >>> from fgir.ir.ops import OPS
    >>> bn = OPS["batch_norm"].complete({"num_features": 64})
    >>> OPS["batch_norm"].params(bn), [w.name for w in OPS["batch_norm"].weights(bn)]
    (128, ['weight', 'bias', 'running_mean', 'running_var'])
"""

from __future__ import annotations

from fgir.ir.ops.schema import (Attr, Attrs, Identity, OpSchema, Problem, Trait, Weight, needs_spatial,
                                width_text)
from fgir.ir.types import TensorType


def _check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    problems = needs_spatial(a, ins)
    if a["num_features"] != ins[0].channels:
        problems.append(("num_features", f"expects {a['num_features']} channels but receives {ins[0].channels}"))
    return problems


def _weights(a: Attrs) -> list[Weight]:
    c = (a["num_features"],)
    stats = [Weight("running_mean", c, out_axis=0, in_axis=0, buffer=True),
             Weight("running_var", c, out_axis=0, in_axis=0, buffer=True, identity=Identity.ONES_MINUS_EPS)]
    if not a["affine"]:
        return stats
    return [Weight("weight", c, out_axis=0, in_axis=0, identity=Identity.ONES),
            Weight("bias", c, out_axis=0, in_axis=0), *stats]


BATCH_NORM = OpSchema(
    "batch_norm", {Trait.NORMALIZATION, Trait.FOLDS_INTO_CONV, Trait.HAS_WEIGHTS}, lambda a: f"bn {width_text(a.get('num_features'))}",
    attrs=(Attr("num_features", "width", None), Attr("eps", "float", 1e-5), Attr("momentum", "float", 0.1),
           Attr("affine", "bool", True)),
    check=_check, weights=_weights, with_widths=lambda a, i, o: {**a, "num_features": next((w for w in (i, o) if w is not None),
                                                         a["num_features"])},
    inferred_width="num_features", spatial=True)

SCHEMAS = [BATCH_NORM]

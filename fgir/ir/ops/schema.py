"""What an op schema holds: the one definition of a primitive op that every pass and backend reads.

An :class:`OpSchema` says everything fgir knows about an op, independent of
any backend: its typed attributes and their defaults, its arity, how it types
its output and what it checks about its inputs, its parameter tensors (shapes,
and which axis follows the input or the output channels: what pruning
slices), its MACs, its *channel rule* (how it relates its inputs' channels to
its output's, which is what channel groups are made of), whether it can be
quantized, and its one-line label in pictures.  Backends key their lowering
rules by the schema's name; ``tests/test_op_schema.py`` fails when an op lacks
one.

Example:
    >>> from fgir.ir.ops import OPS
    >>> fc = OPS["linear"].complete({"in_features": 512, "out_features": 10})
    >>> fc["bias"], OPS["linear"].params(fc)
    (True, 5130)
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from fgir.ir.ops.channel_rules import PASS, ChannelRule
from fgir.ir.types import TensorType

Attrs = dict[str, Any]
Problem = tuple[str, str]   # (attribute the problem is about, message)


class Trait(enum.Enum):
    """What passes ask of an op (``schema.has(Trait.FOLDS_INTO_CONV)``), never inferred from its name."""

    INPUT = "input"                     # the network input
    CONVOLUTION = "convolution"         # a sliding-window weighted sum (conv2d, conv_transpose2d)
    DENSE = "dense"                     # a fully connected layer (linear)
    FOLDS_INTO_CONV = "folds_into_conv"  # per-channel affine at inference: folds into the conv before it
    TAKES_FOLDED_NORM = "takes_folded_norm"  # a FOLDS_INTO_CONV op right after it folds into its weights
    NORMALIZATION = "normalization"     # normalizes its input (batch, layer, group norm)
    COUPLES_CHANNELS = "couples_channels"  # each output channel depends on all of them (LayerNorm, softmax)
    ELEMENTWISE = "elementwise"         # output element i from input element i alone (activations, add)
    ACTIVATION = "activation"           # a pointwise nonlinearity, written as a torch.nn layer of its own
    POOLING = "pooling"                 # windowed or adaptive pooling
    SHAPE_ONLY = "shape_only"           # moves values, no arithmetic (reshape, transpose, slice, pad)
    JOIN = "join"                       # combines several inputs (add, mul, concat, matmul)
    REGULARIZER = "regularizer"         # the identity at inference (dropout, stochastic depth)
    HAS_WEIGHTS = "has_weights"         # has parameter tensors (see ``weights``)
    QUANT_POINT = "quant_point"         # a quantization point
    PARAMETER = "parameter"             # a learned tensor with no input (a class token)
    # quantized, its integer kernel writes float (ONNX Runtime's QGemm, MatMulIntegerToFloat; attention's
    # softmax and output projection stay float): its output gets no quantization point of its own
    WRITES_FLOAT = "writes_float"


# the first of an op's traits in this list names its role (OpSchema.role)
ROLES = ((Trait.INPUT, "input"), (Trait.CONVOLUTION, "conv"), (Trait.NORMALIZATION, "norm"),
         (Trait.DENSE, "dense"), (Trait.ACTIVATION, "activation"), (Trait.POOLING, "pool"), (Trait.JOIN, "join"))


class Sign(enum.Enum):
    """What an op's output sign is: what quantization needs to hold it in unsigned codes or not."""

    ANY = "any"                  # may be negative (conv, BN, linear, the input, SiLU, hard-swish)
    NON_NEGATIVE = "non_negative"  # never negative (ReLU, ReLU6, the sigmoids)
    OF_INPUTS = "of_inputs"      # non-negative when all its inputs are (pooling, add, mul, concat, dropout)


class Identity(enum.Enum):
    """The value a parameter takes when its op must compute the identity (pruning's selections)."""

    ONE_HOT = "one_hot"               # a conv weight: 1 where output and input are the same channel
    ONES = "ones"
    ZEROS = "zeros"
    ONES_MINUS_EPS = "ones_minus_eps"  # BN's running variance: var + eps = 1


class Weight(NamedTuple):
    """One parameter or buffer tensor of an op, named as in a torch ``state_dict`` (``weight``, ``bias``).

    The name ``""`` means the node's own path is the tensor (torchvision's ViT ``class_token`` and
    ``encoder.pos_embedding``: a parameter of the parent module, no ``.weight`` after it); the key of
    a node's tensor is :func:`weight_key`'s, the one place that joins them.  A named tuple, immutable:
    costing a network builds every op's weights, and a tuple is built in a third of a frozen dataclass's time.
    """

    name: str
    shape: tuple[int, ...]
    out_axis: int | None = None   # the axis indexed by the op's output channels
    in_axis: int | None = None    # the axis indexed by the op's input channels
    buffer: bool = False          # running statistics: state, not trained, not counted as parameters
    identity: Identity = Identity.ZEROS
    aux: bool = False             # a quantizer's range: trained with the network, not one of its parameters
    heads_axis: int | None = None  # the axis indexed by attention's heads (each a run of head-dim entries)
    runs: int = 1                 # along heads_axis, that many runs of the heads (q, k, v)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def weight_key(node: str, weight: "Weight | str") -> str:
    """The ``state_dict`` key of ``node``'s tensor ``weight`` (a Weight or its name).

    >>> weight_key("layer1.0.conv1", "weight"), weight_key("encoder.pos_embedding", "")
    ('layer1.0.conv1.weight', 'encoder.pos_embedding')
    """
    name = weight if isinstance(weight, str) else weight.name
    return f"{node}.{name}" if name else node


# -- typed attributes ------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_pair(v: Any, low: int) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(_is_int(x) and x >= low for x in v)


ATTR_KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "int": ("an integer", _is_int),
    "positive": ("a positive integer", lambda v: _is_int(v) and v >= 1),
    "width": ("a positive integer, or null until shapes are inferred",
              lambda v: v is None or (_is_int(v) and v >= 1)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "float": ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "probability": ("a number from 0 to 1",
                    lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1),
    "pair": ("[height, width] of integers ≥ 0", lambda v: _is_pair(v, 0)),
    "positive_pair": ("[height, width] of integers ≥ 1", lambda v: _is_pair(v, 1)),
    "stochastic_mode": ("'row' or 'batch'", lambda v: v in ("row", "batch")),
    "bits": ("a bit width from 1 to 8", lambda v: _is_int(v) and 1 <= v <= 8),
    "optional_name": ("a node name or null", lambda v: v is None or isinstance(v, str)),
    # the vision ops (fgir.ir.ops.vision, .resample)
    "optional_bool": ("true, false or null", lambda v: v is None or isinstance(v, bool)),
    "optional_size": ("null or [height, width] of integers ≥ 1", lambda v: v is None or _is_pair(v, 1)),
    "optional_scale": ("null or [height, width] of positive numbers", lambda v: v is None or (
        isinstance(v, list) and len(v) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in v))),
    "resize_mode": ("'nearest' or 'bilinear'", lambda v: v in ("nearest", "bilinear")),
    "gelu_approximate": ("'none' or 'tanh'", lambda v: v in ("none", "tanh")),
    "pads": ("[left, right, top, bottom] of integers ≥ 0", lambda v: isinstance(v, list) and len(v) == 4
             and all(_is_int(x) and x >= 0 for x in v)),
}

REQUIRED = object()


@dataclass(frozen=True, slots=True)
class Attr:
    """A typed attribute; ``kind`` is a key of :data:`ATTR_KINDS`."""

    name: str
    kind: str
    default: Any = REQUIRED

    def problem(self, value: Any) -> str | None:
        description, valid = ATTR_KINDS[self.kind]
        return None if valid(value) else f"attribute '{self.name}' must be {description}, not {value!r}"


# -- rules shared by many ops ----------------------------------------------------------------
def same_type(attrs: Attrs, ins: list[TensorType]) -> TensorType:
    return ins[0]


def no_problems(attrs: Attrs, ins: list[TensorType]) -> list[Problem]:
    return []


def no_macs(attrs: Attrs, ins: list[TensorType], out: TensorType) -> int:
    return 0


def no_weights(attrs: Attrs) -> list[Weight]:
    return []


def keep_widths(attrs: Attrs, in_channels: int | None, out_channels: int | None) -> Attrs:
    return attrs


@dataclass(frozen=True)
class OpSchema:
    """The definition of one primitive op; see the module docstring."""

    name: str
    traits: frozenset[Trait]
    label: Callable[[Attrs], str]
    attrs: tuple[Attr, ...] = ()
    arity: int | None = 1  # None: variadic (one input or more)
    infer: Callable[[Attrs, list[TensorType]], TensorType] = same_type
    check: Callable[[Attrs, list[TensorType]], list[Problem]] = no_problems
    macs: Callable[[Attrs, list[TensorType], TensorType], int] = no_macs
    weights: Callable[[Attrs], list[Weight]] = no_weights
    channels: ChannelRule | Callable[[Attrs], ChannelRule] = PASS
    # the attributes at other widths (pruning): in and out channels, None leaving a side as it is
    with_widths: Callable[[Attrs, int | None, int | None], Attrs] = keep_widths
    inferred_width: str | None = None   # the attribute read off the input's channels when left out
    spatial: bool = False               # needs a CxHxW input
    quantizable: bool = False           # has integer kernels: a Quant process may quantize it
    # the weights a quantized op stores as integer codes (the rest, biases included, stay float)
    quantized_weights: tuple[str, ...] = ("weight",)
    # the torch.nn-style layer specs write for it, where that layer is the op itself (``ReLU``)
    layer: str | None = None
    sign: Sign = Sign.ANY
    # in a quantized network: "clamp" (a quantized output absorbs it: ReLU, ReLU6), "integer" (has an
    # integer kernel between quantized inputs and output: add, pooling, concat), "on_grid" (keeps its
    # input's values, so their quantization: max pool, dropout, reshapes), "integer_inputs" (has an integer
    # kernel and quantizes its inputs itself, at 8 bits, in any quantized network: matmul); None: float
    quant_role: str | None = None
    attr_names: frozenset[str] = field(init=False)
    attr_order: tuple[str, ...] = field(init=False, repr=False)   # the names, in the order complete() gives
    # the op's broad role, read off its traits, for what is keyed by it in words: a family's initialisation
    # (``"conv.weight"``) and a picture's colours.  Passes ask traits instead.
    role: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attr_names", frozenset(a.name for a in self.attrs))
        object.__setattr__(self, "attr_order", tuple(a.name for a in self.attrs))
        object.__setattr__(self, "traits", frozenset(self.traits))
        object.__setattr__(self, "role", next((role for trait, role in ROLES if trait in self.traits), ""))

    def has(self, trait: Trait) -> bool:
        """Whether the op has ``trait``: what passes ask instead of its name."""
        return trait in self.traits

    def channel_rule(self, attrs: Attrs) -> ChannelRule:
        return self.channels(attrs) if callable(self.channels) else self.channels

    def params(self, attrs: Attrs) -> int:
        """Trainable parameters: every weight tensor that is not a buffer."""
        return sum(w.numel for w in self.weights(attrs) if not (w.buffer or w.aux))

    def is_complete(self, attrs: Attrs) -> bool:
        """Whether ``attrs`` already is what :meth:`complete` makes of it: every attribute, in order."""
        return len(attrs) == len(self.attr_order) and tuple(attrs) == self.attr_order

    def complete(self, attrs: Attrs | None) -> Attrs:
        """``attrs`` with every default filled in; ValueError for an unknown or missing attribute."""
        given = dict(attrs or {})
        unknown = sorted(set(given) - self.attr_names)
        if unknown:
            raise ValueError(f"op '{self.name}' has no attribute {', '.join(map(repr, unknown))}")
        out: Attrs = {}
        for attr in self.attrs:
            if attr.name in given:
                out[attr.name] = given[attr.name]
            elif attr.default is REQUIRED:
                raise ValueError(f"op '{self.name}' needs attribute '{attr.name}'")
            else:
                out[attr.name] = list(attr.default) if isinstance(attr.default, list) else attr.default
        return out

    def attr_problems(self, attrs: Attrs) -> list[str]:
        """What is wrong with ``attrs`` for this op (an unknown, missing or ill-typed attribute)."""
        problems = [f"unknown attribute '{k}'" for k in attrs if k not in self.attr_names]
        for attr in self.attrs:
            if attr.name not in attrs:
                problems.append(f"attribute '{attr.name}' is missing")
            else:
                problem = attr.problem(attrs[attr.name])
                if problem:
                    problems.append(problem)
        return problems


# -- helpers for spatial ops and labels ---------------------------------------------------------
def window(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output length of a sliding window (torch's and ONNX's formula, floor mode)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def spatial_out(attrs: Attrs, t: TensorType, channels: int) -> TensorType:
    kh, kw = attrs["kernel_size"]
    sh, sw = attrs["stride"]
    ph, pw = attrs["padding"]
    dh, dw = attrs.get("dilation", [1, 1])
    return TensorType(channels, window(t.height, kh, sh, ph, dh), window(t.width, kw, sw, pw, dw))


def needs_spatial(attrs: Attrs, ins: list[TensorType]) -> list[Problem]:
    if not ins[0].is_image:
        return [("", f"needs a CxHxW input but gets {ins[0].describe()}")]
    return []


def pair_text(value: Any) -> str:
    """``3x3`` for ``[3, 3]`` (or ``3``), ``?`` for a value not yet known."""
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and value[0] == value[1]:
            return f"{value[0]}x{value[0]}"
        return "x".join(str(v) for v in value)
    return "?" if value is None else f"{value}x{value}"


def stride_text(value: Any) -> str:
    """`` /2`` for a stride of 2, nothing for 1."""
    if isinstance(value, (list, tuple)):
        if all(v == 1 for v in value):
            return ""
        return f" /{value[0]}" if len(set(value)) == 1 else " /" + "x".join(map(str, value))
    return "" if value in (1, None) else f" /{value}"


def width_text(value: Any) -> str:
    return "?" if value is None else str(value)

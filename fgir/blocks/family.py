"""Network families: the conventions a family of blocks follows, which generic passes ask for.

A family (ResNet, MobileNet, ...) fixes how its networks are initialised, which
layers a ``Quant`` process's bit lists map onto and in what order, and, where
the family has one, a row layout for ``Prune`` masks (the guide's
``chn_node_mask``/``chn_mask`` for ResNets).  Its blocks name it
(``family = RESNET``); ``lower_blocks`` records each inlined block's family and
the network's own, so passes and backends read conventions off the IR and
never know a block's name.  A network whose blocks belong to no family, or to
several, follows :data:`GENERIC`.

Example:
    >>> from fgir.blocks import BLOCKS
    >>> BLOCKS["BasicBlock"].family.name, FAMILIES["generic"].init
    ('resnet', {})
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from fgir.ir.ops import OPS, Trait

if TYPE_CHECKING:
    from fgir.ir.graph import Graph, Node
    from fgir.ir.pruning import RowPlanner


@dataclass(frozen=True)
class Init:
    """How a fresh tensor is drawn: a method the torch backend implements, and its parameters.

    Methods: ``kaiming_normal`` (``mode``, ``nonlinearity``), ``normal`` (``std``),
    ``uniform_fan_out`` (±1/sqrt(out features)), ``ones``, ``zeros``.  A tensor with no
    Init keeps torch's default initialisation of its layer.
    """

    method: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> list:
        return [self.method, dict(self.params)]


def quantizable_convs(graph: "Graph") -> list["Node"]:
    """The graph's quantizable convolutions (by their schema), in graph order."""
    return [n for n in graph if n.op in OPS and OPS[n.op].quantizable and OPS[n.op].has(Trait.CONVOLUTION)]


def all_but_the_first_conv(graph: "Graph") -> list["Node"]:
    """The format's own rule (docs/semantics.md, Quant): every convolution but the first, in graph order."""
    return quantizable_convs(graph)[1:]


@dataclass(frozen=True)
class Family:
    """One family's conventions; see the module docstring.

    ``init`` maps ``"<op role>.<weight>"`` (``"conv.weight"``, ``"norm.bias"``) to its
    :class:`Init`; ``quant_layers`` lists, in order, the layers a ``Quant`` process's bit
    lists map onto; ``prune_rows`` reads a row-layout ``Prune`` process, where the family has one.
    """

    name: str
    init: Mapping[str, Init] = field(default_factory=dict)
    quant_layers: Callable[["Graph"], list["Node"]] = all_but_the_first_conv
    quant_rule: str = "the stem is not quantized"   # quant_layers's rule, in words for diagnostics
    prune_rows: "RowPlanner | None" = None

    def init_json(self) -> dict[str, list]:
        return {key: init.to_json() for key, init in self.init.items()}


GENERIC = Family("generic")
FAMILIES: dict[str, Family] = {GENERIC.name: GENERIC}


def register_family(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


def family_of_network(graph: "Graph") -> Family:
    """The family a lowered graph's network follows (recorded by ``lower_blocks``)."""
    return FAMILIES.get(graph.meta.get("family") or GENERIC.name, GENERIC)

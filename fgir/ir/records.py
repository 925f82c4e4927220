"""Typed records the graph keeps besides its nodes: inlined blocks, width expectations, processes.

Example:
    >>> from fgir.diagnostics import Loc, Origin
    >>> expect = WidthExpectation(512, "out_plane is 512", None, Origin(Loc("s.yaml", 9, 20), "layer.out_plane"))
    >>> WidthExpectation.from_json(expect.to_json()) == expect
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from fgir.diagnostics import Origin


@dataclass(frozen=True, slots=True)
class WidthExpectation:
    """A final width a block promised (VariantLayer's and ResNet's ``out_plane``), checked by ``check_channels``.

    A mismatch reads "``subject`` ends with N channels, but ``reason``" and is
    reported at ``origin``, the spec value the promise came from.
    """

    channels: int
    reason: str
    subject: str | None
    origin: Origin

    def restated(self, channels: int, why: str) -> "WidthExpectation":
        return replace(self, channels=channels, reason=f"{self.reason} ({channels} {why})")

    def to_json(self) -> dict[str, Any]:
        return {"channels": self.channels, "reason": self.reason, "subject": self.subject,
                "origin": self.origin.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "WidthExpectation":
        return cls(int(data["channels"]), data["reason"], data.get("subject"), Origin.from_json(data["origin"]))


@dataclass(slots=True)
class BlockInfo:
    """A block that ``lower_blocks`` inlined: where it was, and which nodes (by name) it became."""

    scope: str
    type: str
    origin: Origin
    input: str
    output: str
    nodes: list[str] = field(default_factory=list)
    is_leaf: bool = True
    expect: WidthExpectation | None = None
    family: str | None = None     # the network family whose conventions the block follows

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "type": self.type, "origin": self.origin.to_json(), "input": self.input,
                "output": self.output, "nodes": self.nodes, "is_leaf": self.is_leaf,
                "expect": self.expect.to_json() if self.expect else None, "family": self.family}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "BlockInfo":
        expect = data.get("expect")
        return cls(data["scope"], data["type"], Origin.from_json(data["origin"]), data["input"], data["output"],
                   list(data["nodes"]), data["is_leaf"], WidthExpectation.from_json(expect) if expect else None,
                   data.get("family"))


@dataclass(slots=True)
class ProcessRecord:
    """A process module of the spec (``Quant``, ``Prune``): its validated arguments and their origins."""

    type: str
    name: str
    args: dict[str, Any]
    origin: Origin
    arg_origins: dict[str, Origin] = field(default_factory=dict)

    def origin_of(self, arg: str) -> Origin:
        """Where argument ``arg`` (a dotted path such as ``masks.conv1``) was written."""
        return self.arg_origins.get(arg) or self.origin

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "args": self.args, "origin": self.origin.to_json(),
                "arg_origins": {k: v.to_json() for k, v in self.arg_origins.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ProcessRecord":
        return cls(data["type"], data["name"], data["args"], Origin.from_json(data["origin"]),
                   {k: Origin.from_json(v) for k, v in data["arg_origins"].items()})

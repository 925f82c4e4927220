"""Run the default pipeline up to a pass, keeping the graph and the errors instead of raising.

``fgir.compile`` stops at the first pass that finds errors; a picture wants
the graph as it stood then, with the errors drawn on it.

Example:
    >>> import fgir
    >>> stage = run_until(fgir.load("examples/resnet20_cifar.yaml"), "lower_blocks")
    >>> stage.after, stage.graph.is_lowered, stage.errors
    ('lower_blocks', True, [])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fgir.diagnostics import Diagnostic, FgirError
from fgir.ir.graph import Graph
from fgir.ir.types import TensorType


@dataclass
class Stage:
    """A graph after some passes, the last pass run, and what the passes reported."""

    graph: Graph
    after: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    failed: str | None = None   # the pass that reported errors, if one did

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def pass_names() -> list[str]:
    """The default pipeline's passes, in order."""
    from fgir.passes import default_passes

    return [p.name for p in default_passes()]


def run_until(graph: Graph, after: str | None = None, *,
              input: str | TensorType | None = None, verify: bool | None = None) -> Stage:
    """Run the default passes on ``graph`` in place, up to and including ``after`` (all if None).

    A pass that reports errors stops the run there; the errors come back in
    :attr:`Stage.diagnostics` rather than as an exception.  Bugs in a pass
    (``InternalError``) still raise.
    """
    from fgir.passes import PassContext, PassManager, default_passes

    pipeline = default_passes()
    names = [p.name for p in pipeline]
    if after is not None and after not in names:
        raise ValueError(f"'{after}' is not a pass of the default pipeline ({', '.join(names)})")
    prefix = pipeline[:names.index(after) + 1] if after is not None else pipeline
    options: dict[str, Any] = {"input": input} if input is not None else {}
    ctx = PassContext(options)
    stage = Stage(graph, prefix[-1].name if prefix else None)
    try:
        PassManager(prefix, verify=verify).run(graph, ctx)
    except FgirError as exc:
        stage.failed = exc.pass_name
        stage.after = exc.pass_name or stage.after
        known = set(ctx.diagnostics.items)
        ctx.diagnostics.extend(d for d in exc.diagnostics if d not in known)
    stage.diagnostics = sorted(ctx.diagnostics.items, key=lambda d: (
        d.severity != "error", d.loc.file, d.loc.line, d.loc.col))
    return stage

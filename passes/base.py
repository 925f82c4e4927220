"""Pass, PassContext and PassManager: how fgir runs its compiler passes.

A pass transforms or annotates a :class:`~fgir.ir.graph.Graph` **in place**
(``PassManager.run`` changes the graph it is given; ``fgir.compile`` runs the
passes on a copy of a graph it is handed, so the caller's stays as it was).
It declares the graph properties it ``requires`` (the manager refuses to run it
without them) and those it ``provides`` (added once it succeeded, after the
manager checked that each holds: ``fgir.passes.properties``) or
``invalidates``.  Problems in the user's spec go to ``ctx.error``; the manager
raises them together, naming the pass, once the pass is done.  With
``verify=True`` (or ``FGIR_VERIFY=1``, as in the test suite; ``--verify`` on
the command line) it also checks the IR's invariants after every pass.

A user pass in a few lines::

    @graph_pass("count_relus", requires={"lowered"})
    def count_relus(graph, ctx):
        graph.meta["relus"] = sum(node.op == "relu" for node in graph)

    fgir.compile("spec.yaml", passes=default_passes() + [count_relus])
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, ClassVar, Iterable, TextIO

from fgir.diagnostics import Diagnostic, Diagnostics, FgirError, Loc, Origin
from fgir.ir.graph import Graph
from fgir.ir.verify import IRError
from .properties import POSTCONDITIONS

VERIFY_ENV = "FGIR_VERIFY"   # set to 1: verify the IR after every pass (the test suite does)

PIPELINE_LOC = Loc("<pipeline>")


class PassContext:
    """What a pass may use besides the graph: options, and where diagnostics go."""

    def __init__(self, options: dict[str, Any] | None = None,
                 diagnostics: Diagnostics | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})
        self.diagnostics = diagnostics or Diagnostics()

    def error(self, origin: Origin, message: str, *, hint: str | None = None,
              subject: str | None = None) -> None:
        """Report a problem in the spec; ``subject`` names the IR node or block scope it is about."""
        self.diagnostics.error(origin, message, hint=hint, subject=subject)

    def warning(self, origin: Origin, message: str, *, hint: str | None = None) -> None:
        self.diagnostics.warning(origin, message, hint=hint)


class Pass:
    """Base class of passes; subclasses set ``name``, ``requires``, ``provides`` and ``run``."""

    name: ClassVar[str] = ""
    requires: ClassVar[frozenset[str]] = frozenset()
    provides: ClassVar[frozenset[str]] = frozenset()
    invalidates: ClassVar[frozenset[str]] = frozenset()

    def run(self, graph: Graph, ctx: PassContext) -> bool | None:
        """Transform or annotate ``graph``; return whether it changed it (None: not said, taken as yes)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<pass {self.name}>"


class FunctionPass(Pass):
    def __init__(self, fn: Callable[[Graph, PassContext], None], name: str,
                 requires: Iterable[str], provides: Iterable[str], invalidates: Iterable[str]) -> None:
        self.fn = fn
        self.name = name  # type: ignore[misc]
        self.requires = frozenset(requires)  # type: ignore[misc]
        self.provides = frozenset(provides)  # type: ignore[misc]
        self.invalidates = frozenset(invalidates)  # type: ignore[misc]

    def run(self, graph: Graph, ctx: PassContext) -> bool | None:
        return self.fn(graph, ctx)


def graph_pass(name: str, *, requires: Iterable[str] = (), provides: Iterable[str] = (),
               invalidates: Iterable[str] = ()) -> Callable[[Callable[[Graph, PassContext], None]], Pass]:
    """Decorator: turn ``fn(graph, ctx)`` into a pass."""
    return lambda fn: FunctionPass(fn, name, requires, provides, invalidates)


class PassOrderError(FgirError):
    """A pipeline runs a pass before the passes it depends on."""


class InternalError(Exception):
    """A bug in a pass (not in the user's spec); names the pass."""

    def __init__(self, pass_name: str, cause: BaseException) -> None:
        self.pass_name = pass_name
        self.cause = cause
        super().__init__(f"internal error in pass '{pass_name}': {type(cause).__name__}: {cause}")


class PostconditionError(Exception):
    """A pass did not leave true what it says it provides."""


class PassManager:
    """Runs passes in order, checking each one's requirements, and dumps the IR where asked.

    ``dump_after`` is a set of pass names (or ``"all"``); each dump goes to
    ``dump_to`` (stderr by default) as the IR's text form.
    """

    def __init__(self, passes: Iterable[Pass], dump_after: Iterable[str] | str | None = None,
                 dump_to: TextIO | Callable[[str, Graph], None] | None = None,
                 verify: bool | None = None) -> None:
        self.passes = list(passes)
        self.verify = os.environ.get(VERIFY_ENV, "") not in ("", "0") if verify is None else verify
        self.dump_after = dump_after if dump_after == "all" else set(dump_after or ())
        self.dump_to = dump_to
        self.changed: dict[str, bool] = {}   # pass name → whether its last run changed the graph
        known = {p.name for p in self.passes}
        if self.dump_after != "all":
            unknown = sorted(set(self.dump_after) - known)
            if unknown:
                raise PassOrderError(Diagnostic(PIPELINE_LOC, "", f"--dump-after names no pass "
                                     f"of this pipeline: {', '.join(unknown)} (passes: "
                                     f"{', '.join(sorted(known))})"))

    def run(self, graph: Graph, ctx: PassContext | None = None) -> Graph:
        ctx = ctx or PassContext()
        for p in self.passes:
            missing = sorted(p.requires - graph.properties)
            if missing:
                raise PassOrderError(Diagnostic(PIPELINE_LOC, "", f"pass '{p.name}' requires "
                                     f"{', '.join(missing)}, which no earlier pass provided"),
                                     pass_name=p.name)
            try:
                changed = p.run(graph, ctx)
            except FgirError as exc:
                ctx.diagnostics.extend(exc.diagnostics)
            except Exception as exc:  # a bug in the pass: name it, never blame the spec
                raise InternalError(p.name, exc) from exc
            ctx.diagnostics.raise_if_errors(pass_name=p.name)
            graph.properties |= p.provides
            graph.properties -= p.invalidates
            self.changed[p.name] = changed is not False
            self._check(p, graph, verify=self.changed[p.name])
            if self.dump_after == "all" or p.name in self.dump_after:
                self._dump(p.name, graph)
        return graph

    def _check(self, p: Pass, graph: Graph, verify: bool = True) -> None:
        """What ``p`` provides holds, and (when verifying, after a pass that changed the graph) the IR's
        invariants too."""
        for prop in sorted(p.provides):
            check = POSTCONDITIONS.get(prop)
            problems = check(graph) if check else []
            if problems:
                raise InternalError(p.name, PostconditionError(
                    f"does not provide '{prop}': {problems[0]}" + (f" (and {len(problems) - 1} more)"
                                                                   if len(problems) > 1 else "")))
        if self.verify and verify:
            try:
                graph.verify()
            except IRError as exc:
                raise InternalError(p.name, exc) from exc

    def _dump(self, name: str, graph: Graph) -> None:
        if callable(self.dump_to):
            self.dump_to(name, graph)
            return
        out = self.dump_to or sys.stderr
        out.write(f"// IR after {name}\n{graph.format()}\n\n")

"""Spec document → IR of blocks: one block node per network module, in order; processes aside.

Wiring: a module reads the previous module's output unless it names what it reads
(``inputs: [stem, enc2]``: earlier modules only, so the network has no cycle; ``input`` is the
network's input; ``name.1`` is output 1 of a module with several).  The network's results are
``outputs: [head, aux]`` (default: the last module).  A module that no one reads and that is no
output is a warning.

The graph this returns still holds block nodes (and unexpanded Repeats): the
passes in ``fgir.passes`` expand, lower and check it.  :func:`input_file_problems`
checks the files a spec names (``fgir check`` reports them).
"""

from __future__ import annotations

from typing import Any

from fgir.blocks import BLOCKS, PROCESSES, lookup_block
from fgir.blocks.located import collect_origins, locate, plain, without
from fgir.blocks.module import ElaborationAborted, count_text, elaboration, instantiate_outputs
from fgir.diagnostics import Diagnostic, Diagnostics, Loc, Origin, did_you_mean
from fgir.ir.graph import Graph, Node, ProcessRecord
from fgir.ir.node import ITEM
from fgir.spec.document import INPUTS_KEY, SpecDocument
from fgir.weights_files import CHECKPOINT_HINT, spec_relative, weights_file_problem

DEFAULT_INPUT_SIZE = 224


def _module_args(entry: Any) -> tuple[dict[str, Any], dict[str, Origin]]:
    located = locate(entry.args, entry.origin)
    return without(located, "type", INPUTS_KEY), located.key_origins


def build_ir(doc: SpecDocument, diags: Diagnostics | None = None) -> Graph:
    """Elaborate every module of ``doc``; report problems to ``diags`` (raised if none is given)."""
    own = diags is None
    diags = diags or Diagnostics()
    graph = Graph()
    current = graph.add_input()
    wiring = _Wiring(doc, current)
    network: list[Node] = []
    attempted = False   # a network module was given, built or not (one that failed is reported already)
    seen_processes: dict[str, Origin] = {}
    with elaboration(diags, Origin(Loc(doc.file), ""), graph):
        for position, entry in enumerate(doc.modules):
            type_name = entry.type_name
            if isinstance(type_name, str) and type_name in PROCESSES:
                _add_process(graph, entry, diags, network, seen_processes, attempted)
                continue
            attempted = True
            if seen_processes and isinstance(type_name, str) and type_name in BLOCKS:
                diags.error(entry.type_origin, f"layer module '{entry.name}' comes after a process; "
                                               "processes transform the network built before them")
            cls = lookup_block(type_name, entry.type_origin, diags)
            inputs = [current] if entry.inputs is None else wiring.inputs_of(entry, position, diags)
            if cls is None or inputs is None or not _takes(cls, entry, len(inputs), diags):
                continue
            args, key_origins = _module_args(entry)
            outputs = instantiate_outputs(cls, entry.name, args, entry.origin, graph, inputs, key_origins)
            if outputs is not None:
                current = outputs[0]
                network.append(current)
                wiring.built(entry.name, outputs)
    if len(network) == 1 and network[0].is_block:
        network[0].inline_scope = True   # a one-module network is that module (torchvision keys)
    if doc.outputs is None:
        graph.set_output(current)
    else:
        outputs = wiring.outputs(diags)
        if outputs is not None:
            graph.set_outputs(*outputs)
        else:
            graph.set_output(current)   # reported; a graph has an output all the same
    wiring.warn_unused(graph, network, diags)
    size = _default_input_size(graph)
    graph.meta["input"] = list(doc.input) if doc.input else [3, size, size]   # the document's input: wins
    graph.meta["spec_file"] = doc.file
    if own:
        diags.raise_if_errors()
    return graph


def _takes(cls: Any, entry: Any, count: int, diags: Diagnostics) -> bool:
    """Whether module ``entry`` of type ``cls`` takes ``count`` inputs (a layer: its op's arity)."""
    low, high = cls.input_counts()
    if low <= count and (high is None or count <= high):
        return True
    if entry.inputs is None:
        diags.error(entry.type_origin, f"{cls.type_name()} takes {count_text(low, high)}, but '{entry.name}' "
                                       "reads 1 (the previous module's output)",
                    hint=f"name what it reads: {INPUTS_KEY}: [a, b]")
    else:
        diags.error(entry.inputs_origin, f"{cls.type_name()} takes {count_text(low, high)}, but "
                                         f"'{entry.name}' names {count}")
    return False


class _Wiring:
    """Which node each module name stands for, and the checks on ``inputs:`` and ``outputs:``."""

    def __init__(self, doc: SpecDocument, source: Node) -> None:
        self.doc = doc
        self.position = {e.name: i for i, e in enumerate(doc.modules)}
        self.processes = {e.name: e.type_name for e in doc.modules
                          if isinstance(e.type_name, str) and e.type_name in PROCESSES}
        self.nodes: dict[str, list[Node]] = {}
        self.source = source

    def built(self, name: str, outputs: list[Node]) -> None:
        self.nodes[name] = outputs

    def inputs_of(self, entry: Any, position: int, diags: Diagnostics) -> list[Node] | None:
        """The nodes ``entry``'s ``inputs`` name (None after reporting a wrong one, or if one failed)."""
        found: list[Node] | None = []
        for name, origin in zip(entry.inputs, entry.input_origins):
            node = self._lookup(name, origin, diags, reader=entry.name, before=position)
            found = None if node is None or found is None else [*found, node]
        return found

    def outputs(self, diags: Diagnostics) -> tuple[list[Node], list[str]] | None:
        found: list[Node] | None = []
        seen: set[str] = set()
        for name, origin in zip(self.doc.outputs, self.doc.output_origins):
            if name in seen:
                diags.error(origin, f"'{name}' is listed twice in outputs")
                found = None
                continue
            seen.add(name)
            node = self._lookup(name, origin, diags, reader=None, before=len(self.doc.modules))
            found = None if node is None or found is None else [*found, node]
        return (found, list(self.doc.outputs)) if found is not None else None

    def _lookup(self, name: str, origin: Origin, diags: Diagnostics, reader: str | None,
                before: int) -> Node | None:
        if reader is not None and name == "input":
            return self.source
        module, _, index = name.rpartition(".") if "." in name else (name, "", "")
        if index and not (index.isdigit() and module in self.position):
            module, index = name, ""
        where = f"'{reader}'" if reader else "'outputs'"
        if module == reader:
            diags.error(origin, f"'{reader}' names itself: a module reads only modules listed before it, "
                                "so the network has no cycles")
            return None
        if module in self.processes:
            diags.error(origin, f"{where} names '{module}', a {self.processes[module]} process, not a network "
                                "module", hint="a process transforms the whole network; it has no output")
            return None
        if module not in self.position:
            known = [n for n, i in self.position.items() if i < before and n not in self.processes]
            diags.error(origin, f"{where} names '{name}', which is no module",
                        hint=did_you_mean(name, known + (["input"] if reader else [])))
            return None
        if self.position[module] > before:
            diags.error(origin, f"'{reader}' names '{module}', which comes after it",
                        hint="a module reads only modules listed before it in 'modules' (so the network "
                             "has no cycles)")
            return None
        outputs = self.nodes.get(module)
        if outputs is None:
            return None   # it failed to build: reported there
        at = int(index) if index else 0
        if at >= len(outputs):
            diags.error(origin, f"'{module}' has {len(outputs)} output{'s' if len(outputs) != 1 else ''}, "
                                f"so '{name}' names none",
                        hint=f"its outputs are {', '.join([module] + [f'{module}.{i}' for i in range(1, len(outputs))])}")
            return None
        return outputs[at]

    def warn_unused(self, graph: Graph, network: list[Node], diags: Diagnostics) -> None:
        """A module whose output no module reads and that is no output: built for nothing."""
        if self.doc.outputs is None and all(e.inputs is None for e in self.doc.modules):
            return   # a chain: each module feeds the next, the last is the output
        by_node = {outputs[0].name: name for name, outputs in self.nodes.items()}
        entries = {e.name: e for e in self.doc.modules}
        for node in network:
            outputs = self.nodes[by_node[node.name]]
            if not any(graph.is_output(n) or any(u.op != ITEM for u in n.users) for n in outputs):
                entry = entries[by_node[node.name]]
                diags.warning(entry.origin, f"module '{entry.name}' is not used: no module names it in "
                                            f"'{INPUTS_KEY}' and it is not one of the outputs",
                              hint="list it in 'outputs', or remove it")


def _default_input_size(graph: Graph) -> int:
    for _, node in graph.walk():
        if "input_size" in node.meta:
            return int(node.meta["input_size"])
    return DEFAULT_INPUT_SIZE


def _add_process(graph: Graph, entry: Any, diags: Diagnostics, network: list[Node],
                 seen: dict[str, Origin], attempted: bool) -> None:
    cls = PROCESSES[entry.type_name]
    if entry.type_name in seen:
        diags.error(entry.type_origin, f"{entry.type_name} is given twice",
                    hint=f"first given at {seen[entry.type_name].loc}")
        return
    seen[entry.type_name] = entry.type_origin
    if not attempted:
        diags.error(entry.type_origin, f"{entry.type_name} has no network before it to apply to")
        return
    args, key_origins = _module_args(entry)   # checked even when the network failed: all its errors at once
    try:
        checked = cls(_origin=entry.origin, _key_origins=key_origins,
                      _value_origins=args.value_origins, **args).args
    except ElaborationAborted:
        return
    origins: dict[str, Origin] = {}
    for key, value in checked.items():
        collect_origins(value, key, origins)
    graph.processes.append(ProcessRecord(entry.type_name, entry.name, plain(checked), entry.origin, origins))


def input_file_problems(graph: Graph) -> list[Diagnostic]:
    """The files a spec's processes read (Prune's ``init_model_file``) that are missing or are no torch
    checkpoint, each at the spec value naming it; relative names are taken from the spec's folder.
    Reads a file's first bytes only (no torch): what ``fgir check`` reports."""
    spec_file = graph.meta.get("spec", {}).get("file")
    problems = []
    for record in graph.processes:
        for arg in getattr(PROCESSES.get(record.type), "file_args", ()):
            value = record.args.get(arg)
            if not isinstance(value, str) or not value:
                continue
            path = spec_relative(spec_file, value)
            problem = weights_file_problem(path)
            if problem is not None:
                shown = value if str(path) == value else f"{value} ({path})"
                hint = None if problem == "no such file" else CHECKPOINT_HINT
                problems.append(Diagnostic.at(record.origin_of(arg), f"{shown}: {problem}", hint=hint))
    return problems

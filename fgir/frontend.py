"""Spec document → IR of blocks: one block node per network module, in order; processes aside.

The graph this returns still holds block nodes (and unexpanded Repeats): the
passes in ``fgir.passes`` expand, lower and check it.  :func:`input_file_problems`
checks the files a spec names (``fgir check`` reports them).
"""

from __future__ import annotations

from typing import Any

from fgir.blocks import BLOCKS, PROCESSES, lookup_block
from fgir.blocks.located import collect_origins, locate, plain, without
from fgir.blocks.module import ElaborationAborted, elaboration, instantiate
from fgir.diagnostics import Diagnostic, Diagnostics, Loc, Origin
from fgir.ir.graph import Graph, Node, ProcessRecord
from fgir.spec.document import SpecDocument
from fgir.weights_files import CHECKPOINT_HINT, spec_relative, weights_file_problem

DEFAULT_INPUT_SIZE = 224


def _module_args(entry: Any) -> tuple[dict[str, Any], dict[str, Origin]]:
    located = locate(entry.args, entry.origin)
    return without(located, "type"), located.key_origins


def build_ir(doc: SpecDocument, diags: Diagnostics | None = None) -> Graph:
    """Elaborate every module of ``doc``; report problems to ``diags`` (raised if none is given)."""
    own = diags is None
    diags = diags or Diagnostics()
    graph = Graph()
    current = graph.add_input()
    network: list[Node] = []
    attempted = False   # a network module was given, built or not (one that failed is reported already)
    seen_processes: dict[str, Origin] = {}
    with elaboration(diags, Origin(Loc(doc.file), ""), graph):
        for entry in doc.modules:
            type_name = entry.type_name
            if isinstance(type_name, str) and type_name in PROCESSES:
                _add_process(graph, entry, diags, network, seen_processes, attempted)
                continue
            attempted = True
            if seen_processes and isinstance(type_name, str) and type_name in BLOCKS:
                diags.error(entry.type_origin, f"layer module '{entry.name}' comes after a process; "
                                               "processes transform the network built before them")
            cls = lookup_block(type_name, entry.type_origin, diags)
            if cls is None:
                continue
            args, key_origins = _module_args(entry)
            node = instantiate(cls, entry.name, args, entry.origin, graph, [current], key_origins)
            if node is not None:
                current = node
                network.append(node)
    if len(network) == 1 and network[0].is_block:
        network[0].inline_scope = True   # a one-module network is that module (torchvision keys)
    graph.set_output(current)
    size = _default_input_size(graph)
    graph.meta["input"] = list(doc.input) if doc.input else [3, size, size]   # the document's input: wins
    graph.meta["spec_file"] = doc.file
    if own:
        diags.raise_if_errors()
    return graph


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

"""The spec document: which modules make the network, in what order, and what else it holds.

Accepted forms (docs/semantics.md): a file with ``search_space:`` (plus optionally
``search_algorithm:`` and other sections), or a file that is the search space
alone (``type: FineGrainedSpace`` at the top).

Beside ``search_space:`` a document may hold (the bare form has none of these):

- ``input: 3x16x16`` (or ``[3, 16, 16]``): the input size ``fgir.compile`` uses
  when none is passed (``--input`` and ``input=`` still override it); without it
  the network's stem decides.  ``fgir search`` writes it into best.yaml, so a
  network searched at 3x16x16 recompiles at 3x16x16.
- ``trainer:`` and ``dataset:``: the training recipe ``fgir train`` reads (Vega
  configs carry both); their keys are checked there (:mod:`fgir.training.recipe`).

Inside ``search_space:``, ``outputs: [head, aux]`` names the network's results (default: the
last module's output), and a module's ``inputs: [stem, enc2]`` names the earlier modules it reads
(``input``: the network's input; default: the previous module's output).  Names are resolved by the
front end (:mod:`fgir.frontend`), which knows which modules are processes.

Example:
    >>> from fgir.spec.yaml_loader import load_yaml_text
    >>> doc = parse_document(load_yaml_text("type: FineGrainedSpace\\nmodules: [m]\\nm: {type: ReLU}\\n"))
    >>> [m.name for m in doc.modules]
    ['m']
    >>> doc = parse_document(load_yaml_text("input: 3x16x16\\nsearch_space: {modules: [m], m: {type: ReLU}}\\n"))
    >>> doc.input
    (3, 16, 16)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fgir.diagnostics import Diagnostics, Loc, Origin, closest, did_you_mean
from fgir.ir.types import TensorType
from fgir.spec.yaml_loader import SList, SMap

SPACE_TYPE = "FineGrainedSpace"
SPACE_KEYS = ("type", "modules", "hyper_parameters", "outputs")
INPUTS_KEY = "inputs"      # a module's wiring: reserved, never a block argument
RECIPE_SECTIONS = ("trainer", "dataset")


@dataclass
class ModuleEntry:
    """One entry of ``modules``: its name, type name, arguments and where it was written."""

    name: str
    type_name: Any
    args: SMap
    origin: Origin          # the module's mapping; path = the module name
    type_origin: Origin     # where ``type:`` was written
    inputs: list[str] | None = None      # ``inputs: [stem, enc2]``; None: the previous module's output
    inputs_origin: Origin | None = None  # the ``inputs`` value
    input_origins: list[Origin] = field(default_factory=list)   # each name in it


@dataclass
class SpecDocument:
    file: str
    root: SMap
    space: SMap
    modules: list[ModuleEntry] = field(default_factory=list)
    hyper_parameters: SMap | None = None
    search_algorithm: SMap | None = None
    input: tuple[int, ...] | None = None     # the document's ``input:`` (C, H, W), when given
    input_origin: Origin | None = None
    trainer: SMap | None = None              # the recipe sections, when given (checked by fgir train)
    dataset: SMap | None = None
    outputs: list[str] | None = None         # ``outputs: [head, aux]``; None: the last module's output
    output_origins: list[Origin] = field(default_factory=list)


def _close_key(wanted: str, mapping: SMap) -> str | None:
    """The key of ``mapping`` that looks like a misspelt ``wanted``, if one does."""
    return closest(wanted, [k for k in mapping if isinstance(k, str)], cutoff=0.75)


def _names(mapping: SMap, key: str, owner: str, diags: Diagnostics) -> tuple[list[str], list[Origin]] | None:
    """``inputs:``/``outputs:``: a module name or a non-empty list of them, each with where it was written."""
    path = f"{owner}.{key}" if owner else key
    value = mapping[key]
    if isinstance(value, str):
        return [value], [Origin(mapping.value_loc(key), path)]
    if not isinstance(value, SList) or not value or not all(isinstance(v, str) for v in value):
        _fail(diags, mapping.value_loc(key), path, f"'{key}' must be a module name or a non-empty list of "
                                                  "module names")
        return None
    return list(value), [Origin(value.item_loc(i), f"{path}[{i}]") for i in range(len(value))]


def _fail(diags: Diagnostics, loc: Loc, path: str, message: str, hint: str | None = None) -> None:
    diags.error(Origin(loc, path), message, hint=hint)


def _document_sections(root: SMap, doc: SpecDocument, diags: Diagnostics) -> None:
    """``input:``, ``trainer:`` and ``dataset:`` beside ``search_space:``."""
    if "input" in root:
        value, origin = root["input"], Origin(root.value_loc("input"), "input")
        text = "x".join(str(v) for v in value) if isinstance(value, list) else str(value)
        try:
            if isinstance(value, bool) or not isinstance(value, (str, int, list)):
                raise ValueError(f"expected CxHxW such as 3x32x32, got {value!r}")
            doc.input, doc.input_origin = TensorType.parse(text).dims, origin
        except ValueError as exc:
            diags.error(origin, str(exc))
    for name in RECIPE_SECTIONS:
        section = root.get(name)
        if section is None:
            continue
        if isinstance(section, SMap):
            setattr(doc, name, section)
        else:
            _fail(diags, root.value_loc(name), name, "must be a mapping")


def parse_document(root: Any, diags: Diagnostics | None = None, file: str | None = None) -> SpecDocument:
    """Check the document's structure; report problems to ``diags`` (raised if none is given)."""
    own = diags is None
    diags = diags or Diagnostics()
    doc = _parse(root, diags, file)
    if own:
        diags.raise_if_errors()
    return doc


def _parse(root: Any, diags: Diagnostics, file: str | None) -> SpecDocument:
    file = file or (root.loc.file if isinstance(root, (SMap, SList)) else "<string>")
    empty = SMap(Loc(file, 1, 1))
    if not isinstance(root, SMap):
        _fail(diags, getattr(root, "loc", Loc(file, 1, 1)), "",
              "a spec is a mapping with a 'search_space' section")
        return SpecDocument(file, empty, empty)
    if "search_space" in root:
        space = root["search_space"]
        if not isinstance(space, SMap):
            _fail(diags, root.value_loc("search_space"), "search_space", "must be a mapping")
            return SpecDocument(file, root, empty)
    elif root.get("type") == SPACE_TYPE:
        space = root
    else:
        misspelt = _close_key("search_space", root)
        if misspelt is not None:   # point at the misspelt key, and say what it should be
            _fail(diags, root.key_loc(misspelt), misspelt, "the spec has no 'search_space' section",
                  hint="did you mean 'search_space'?")
        else:
            _fail(diags, root.loc, "", "the spec has no 'search_space' section",
                  hint="a spec is 'search_space:' with 'modules:' and the modules it lists, or a bare "
                       "space with 'type: FineGrainedSpace' at the top")
        return SpecDocument(file, root, empty)
    doc = SpecDocument(file, root, space)
    algorithm = root.get("search_algorithm") if space is not root else None
    if algorithm is not None:
        if isinstance(algorithm, SMap):
            doc.search_algorithm = algorithm
        else:
            _fail(diags, root.value_loc("search_algorithm"), "search_algorithm", "must be a mapping")
    if space is not root:
        _document_sections(root, doc, diags)

    space_type = space.get("type", SPACE_TYPE)
    if space_type != SPACE_TYPE:
        _fail(diags, space.value_loc("type"), "type",
              f"search space type must be '{SPACE_TYPE}', got '{space_type}'")
    hyper = space.get("hyper_parameters")
    if hyper is not None:
        if isinstance(hyper, SMap):
            doc.hyper_parameters = hyper
        else:
            _fail(diags, space.value_loc("hyper_parameters"), "hyper_parameters", "must be a mapping")

    if "modules" not in space:
        _fail(diags, space.loc, "modules", "the search space has no 'modules' list")
        return doc
    names = space["modules"]
    if not isinstance(names, SList) or not names:
        _fail(diags, space.value_loc("modules"), "modules", "must be a non-empty list of module names")
        return doc
    defined = [k for k in space if k not in SPACE_KEYS]
    seen: set[str] = set()
    for i, name in enumerate(names):
        loc = names.item_loc(i)
        if not isinstance(name, str):
            _fail(diags, loc, f"modules[{i}]", f"a module name must be a string, got {name!r}")
            continue
        if name in seen:
            _fail(diags, loc, f"modules[{i}]", f"module '{name}' is listed twice")
            continue
        seen.add(name)
        if name in SPACE_KEYS or name not in space:
            _fail(diags, loc, f"modules[{i}]", f"module '{name}' is listed but not defined",
                  hint=did_you_mean(name, defined))
            continue
        body = space[name]
        if not isinstance(body, SMap):
            _fail(diags, space.value_loc(name), name, "a module is a mapping with a 'type'")
            continue
        if "type" not in body:
            _fail(diags, body.loc, name, f"module '{name}' has no 'type'")
            continue
        entry = ModuleEntry(name, body["type"], body, Origin(body.loc, name),
                            Origin(body.value_loc("type"), f"{name}.type"))
        if INPUTS_KEY in body:
            names_of = _names(body, INPUTS_KEY, name, diags)
            if names_of is None:
                continue
            entry.inputs, entry.input_origins = names_of
            entry.inputs_origin = Origin(body.value_loc(INPUTS_KEY), f"{name}.{INPUTS_KEY}")
        doc.modules.append(entry)
    if "outputs" in space:
        outputs = _names(space, "outputs", "", diags)
        if outputs is not None:
            doc.outputs, doc.output_origins = outputs
    for key in defined:
        if key not in seen and isinstance(space[key], SMap) and "type" in space[key]:
            diags.warning(Origin(space.key_loc(key), str(key)),
                          f"module '{key}' is defined but not listed in 'modules'")
    return doc

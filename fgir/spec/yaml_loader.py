"""A safe YAML loader that remembers where every key and value came from.

Values come back as plain Python data, except that mappings are :class:`SMap`
and sequences :class:`SList`: ordinary ``dict``/``list`` subclasses that also
know the :class:`~fgir.diagnostics.Loc` of themselves, of each key and of each
member.  Only YAML's core schema is constructed; ``!!python/tuple`` is accepted
(as a list: a tuple means the same in a spec) and every other tag is refused,
never executed.  Duplicate keys, alias bombs and runaway nesting are refused too.

Example:
    >>> doc = load_yaml_text("a:\\n  b: [1, 2]\\n", "spec.yaml")
    >>> doc["a"].value_loc("b"), doc["a"]["b"].item_loc(1)
    (Loc(file='spec.yaml', line=2, col=6), Loc(file='spec.yaml', line=2, col=10))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fgir.diagnostics import Diagnostic, FgirError, Loc, SpecIOError
from fgir.limits import MAX_SPEC_BYTES, read_bounded
from fgir.spec.yaml_errors import explain

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TUPLE_TAG = "tag:yaml.org,2002:python/tuple"
PYTHON_TAG_PREFIX = "tag:yaml.org,2002:python/"
_CORE_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}

MAX_DEPTH = 64
MAX_NODES = 100_000
MAX_BYTES = MAX_SPEC_BYTES


class SMap(dict):
    """A mapping that knows where it, its keys and its values stand in the source."""

    __slots__ = ("loc", "key_locs", "value_locs")

    def __init__(self, loc: Loc) -> None:
        super().__init__()
        self.loc = loc
        self.key_locs: dict[Any, Loc] = {}
        self.value_locs: dict[Any, Loc] = {}

    def key_loc(self, key: Any) -> Loc:
        return self.key_locs.get(key, self.loc)

    def value_loc(self, key: Any) -> Loc:
        return self.value_locs.get(key, self.loc)


class SList(list):
    """A sequence that knows where it and each of its items stand in the source."""

    __slots__ = ("loc", "item_locs", "is_tuple")

    def __init__(self, loc: Loc, is_tuple: bool = False) -> None:
        super().__init__()
        self.loc = loc
        self.item_locs: list[Loc] = []
        self.is_tuple = is_tuple

    def item_loc(self, index: int) -> Loc:
        return self.item_locs[index] if 0 <= index < len(self.item_locs) else self.loc


def loc_of(value: Any, default: Loc) -> Loc:
    """The location of a loaded container, or ``default`` for a scalar."""
    return getattr(value, "loc", default)


def _mark_loc(file: str, mark: Any) -> Loc:
    return Loc(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0
        # one per load: PyYAML's construct_object remembers every node it is given (constructed_objects,
        # and recursive_objects when it raises) until construct_document, which a scalar-by-scalar
        # builder never calls; a shared constructor kept every spec's nodes alive for good
        self.scalars = yaml.constructor.SafeConstructor()

    def check_size(self, root: yaml.Node) -> None:
        """Refuse alias bombs and cycles before building anything: count what aliases expand to."""
        self._size(root, 0, {}, set())

    def _size(self, node: yaml.Node, depth: int, sizes: dict[int, int], on_path: set[int]) -> int:
        # a method, not a nested function: a recursive closure is a reference cycle, which kept every
        # loaded spec's YAML nodes for the cycle collector
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path or depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels")
        total = 1
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            on_path.add(key)
            children = node.value if isinstance(node, yaml.SequenceNode) else \
                [part for pair in node.value for part in pair]
            for child in children:
                total += self._size(child, depth + 1, sizes, on_path)
                if total > MAX_NODES:
                    raise self.fail(node, f"the document expands to more than {MAX_NODES} "
                                          "values (an alias bomb?)")
            on_path.discard(key)
        sizes[key] = total
        return total

    def fail(self, node: yaml.Node, message: str, hint: str | None = None) -> FgirError:
        return FgirError(Diagnostic(_mark_loc(self.file, node.start_mark), "", message, hint=hint))

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(node, f"the document expands to more than {MAX_NODES} values "
                                  "(an alias bomb?)")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels")
        tag = node.tag or ""
        loc = _mark_loc(self.file, node.start_mark)
        if tag.startswith(PYTHON_TAG_PREFIX) and tag != TUPLE_TAG:
            short = "!!python/" + tag[len(PYTHON_TAG_PREFIX):]
            raise self.fail(node, f"unsafe YAML tag '{short}' is not allowed",
                            hint="only '!!python/tuple' is accepted; specs never run Python code")
        if isinstance(node, yaml.SequenceNode):
            if tag not in (TUPLE_TAG, "tag:yaml.org,2002:seq"):
                raise self.fail(node, f"unknown YAML tag '{tag}' on a sequence")
            out = SList(loc, is_tuple=tag == TUPLE_TAG)
            for item in node.value:
                out.append(self.build(item, depth + 1))
                out.item_locs.append(_mark_loc(self.file, item.start_mark))
            return out
        if isinstance(node, yaml.MappingNode):
            if tag == TUPLE_TAG or tag != "tag:yaml.org,2002:map":
                raise self.fail(node, f"YAML tag '{tag}' cannot tag a mapping")
            return self._mapping(node, loc, depth)
        if tag not in _CORE_TAGS:
            raise self.fail(node, f"unknown YAML tag '{tag}'")
        try:
            return self.scalars.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            # e.g. `!!float x`: an explicit tag on a value it cannot describe
            raise self.fail(node, f"bad {tag.rsplit(':', 1)[-1]} value '{node.value}': "
                                  f"{getattr(exc, 'problem', None) or exc}") from None

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> SMap:
        out = SMap(loc)
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise self.fail(source, "a merge key '<<' takes a mapping")
                    merged.extend(source.value)
                continue
            self._put(out, key_node, value_node, depth, explicit=True)
        for key_node, value_node in merged:
            self._put(out, key_node, value_node, depth, explicit=False)
        return out

    def _put(self, out: SMap, key_node: yaml.Node, value_node: yaml.Node, depth: int,
             explicit: bool) -> None:
        if not isinstance(key_node, yaml.ScalarNode):
            raise self.fail(key_node, "mapping keys must be plain scalars")
        key = self.build(key_node, depth + 1)
        if key in out:
            if explicit:
                raise self.fail(key_node, f"duplicate key '{key}'",
                                hint=f"first given at {out.key_loc(key)}")
            return  # a key given explicitly wins over one merged in
        out[key] = self.build(value_node, depth + 1)
        out.key_locs[key] = _mark_loc(self.file, key_node.start_mark)
        out.value_locs[key] = _mark_loc(self.file, value_node.start_mark)


def _position_loc(file: str, text: str, position: int) -> Loc:
    """The line and column of a character offset into ``text``."""
    line = text.count("\n", 0, position) + 1
    return Loc(file, line, position - (text.rfind("\n", 0, position) + 1) + 1)


_CHARACTER_NAMES = {0: "a NUL byte", 0x1B: "an escape character", 0x7F: "a DEL character", 0xFEFF: "a byte-order mark"}


def _bad_character(exc: yaml.reader.ReaderError) -> str:
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    name = _CHARACTER_NAMES.get(code, "a control character")
    return f"malformed YAML: {name} (U+{code:04X}) is not allowed in YAML text"


def load_yaml_text(text: str, file: str = "<string>") -> Any:
    """Parse one YAML document into located Python data; raise FgirError on any problem."""
    if len(text) > MAX_BYTES:
        raise FgirError(Diagnostic(Loc(file, 1, 1), "", f"spec is larger than {MAX_BYTES} bytes"))
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _mark_loc(file, mark) if mark is not None else Loc(file, 1, 1)
        problem, hint, at = explain(exc, text)
        loc = Loc(file, *at) if at is not None else loc
        raise FgirError(Diagnostic(loc, "", f"malformed YAML: {problem}", hint=hint)) from None
    except yaml.reader.ReaderError as exc:   # a character YAML does not allow: located where it is
        raise FgirError(Diagnostic(_position_loc(file, text, exc.position), "", _bad_character(exc))) from None
    except yaml.YAMLError as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise FgirError(Diagnostic(Loc(file, 1, 1), "", f"malformed YAML: {first}")) from None
    except RecursionError:
        raise FgirError(Diagnostic(Loc(file, 1, 1), "",
                                   f"nesting deeper than {MAX_DEPTH} levels")) from None
    if node is None:
        raise FgirError(Diagnostic(Loc(file, 1, 1), "", "the spec is empty"))
    builder = _Builder(file)
    builder.check_size(node)
    return builder.build(node)


def read_spec_text(path: str | Path) -> str:
    """The text of a spec file: a regular file (a FIFO or a device is refused from ``stat``, before any
    read) of at most ``MAX_BYTES``, in UTF-8; a SpecIOError otherwise."""
    path = Path(path)
    data = read_bounded(path, MAX_BYTES, "spec")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecIOError(Diagnostic(Loc(str(path), line, col), "", f"not UTF-8 text ({exc.reason})")) from None


def load_yaml_file(path: str | Path) -> Any:
    """Read and parse a spec file; a missing or unreadable file is a SpecIOError."""
    return load_yaml_text(read_spec_text(path), str(path))

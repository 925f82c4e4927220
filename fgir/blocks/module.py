"""How blocks are written: a typed ``constructor`` that assigns children, and a symbolic ``forward``.

A block is written the way the fine-grained guide writes VariantLayer: its
constructor's arguments are its (searchable) parameters, and it assigns child
blocks, layers or a :class:`Repeat` as attributes.  By default the children
run in the order they were assigned; a block with a residual path overrides
``forward`` the way an ``nn.Module`` would, except that ``x`` is a symbolic
:class:`Value` and the result is IR, not tensors.  Nothing here imports torch.

Example (a user block; ``register_block`` makes it usable as ``type: TwoConvs``)::

    @register_block
    class TwoConvs(Block):
        def constructor(self, in_plane: Width, out_plane: Width):
            self.conv1 = Conv2d(in_plane, out_plane, 3, padding=1, bias=False)
            self.relu = ReLU()
            self.conv2 = Conv2d(out_plane, out_plane, 3, padding=1, bias=False)
"""

from __future__ import annotations

import contextvars
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional

from fgir.blocks.argtypes import BlockSpec, Param, signature_of, validate_args
from fgir.blocks.located import collect_origins, origin_of, plain
from fgir.blocks.user_code import (defined_at, is_users, not_a_value, refuse_foreign_child, source_of,
                                   user_code_error, user_frame)
from fgir.diagnostics import Diagnostics, Note, Origin
from fgir.ir.graph import BLOCK_PREFIX, Graph, Node, WidthExpectation

if TYPE_CHECKING:
    from fgir.blocks.family import Family


class ElaborationAborted(Exception):
    """A block's arguments were wrong; the diagnostics are already reported."""


class _Frame:
    __slots__ = ("diags", "origin", "graph")

    def __init__(self, diags: Diagnostics, origin: Origin, graph: Graph | None = None) -> None:
        self.diags = diags
        self.origin = origin
        self.graph = graph


_FRAME: contextvars.ContextVar[_Frame | None] = contextvars.ContextVar("fgir_frame", default=None)


def _frame() -> _Frame:
    frame = _FRAME.get()
    if frame is None:
        raise RuntimeError("blocks are built by fgir (fgir.load / fgir.compile), not called directly")
    return frame


class Value:
    """A symbolic tensor inside ``forward``: the node that produces it."""

    __slots__ = ("node",)

    def __init__(self, node: Node) -> None:
        self.node = node

    def __add__(self, other: "Value") -> "Value":
        return add(self, other)

    def __mul__(self, scale: "Value") -> "Value":
        return mul(self, scale)


def _join(op: str, values: list[Value], name: str) -> Value:
    graph = _frame().graph
    return Value(graph.add(graph.unique_name(name), op, [v.node for v in values], {}, _frame().origin))


def add(a: Value, b: Value, name: str = "add") -> Value:
    """A residual add of two values of the same shape."""
    return _join("add", [a, b], name)


def mul(x: Value, scale: Value, name: str = "mul") -> Value:
    """``x`` scaled channel by channel by ``scale`` (Cx1x1, squeeze-excitation's; or x's own shape)."""
    return _join("mul", [x, scale], name)


def concat(*values: Value, name: str = "cat") -> Value:
    """The values side by side along channels (DenseNet's torch.cat(..., 1))."""
    return _join("concat", list(values), name)


class Module:
    """Common base of blocks, layers and Repeat: typed arguments and named children."""

    name: ClassVar[str | None] = None  # the spec's type name; the class name when None
    family: ClassVar["Family | None"] = None  # whose conventions it follows (fgir.blocks.family)
    _signature: ClassVar[dict[str, Param] | None] = None

    def __init__(self, *positional: Any, _origin: Origin | None = None,
                 _key_origins: dict[str, Origin] | None = None,
                 _value_origins: dict[str, Origin] | None = None, **kwargs: Any) -> None:
        frame = _frame()
        origin = _origin or frame.origin
        names = list(type(self).signature())
        if len(positional) > len(names):
            raise TypeError(f"{self.type_name()} takes {len(names)} arguments, got {len(positional)}")
        for key, value in zip(names, positional):
            if key in kwargs:
                raise TypeError(f"{self.type_name()} got '{key}' twice")
            kwargs[key] = value
        args = validate_args(type(self), kwargs, origin, frame.diags, key_origins=_key_origins,
                             value_origins=_value_origins)
        if args is None:
            raise ElaborationAborted()
        object.__setattr__(self, "_args", args)
        object.__setattr__(self, "_origin", origin)
        object.__setattr__(self, "_children", {})
        object.__setattr__(self, "_name", None)
        object.__setattr__(self, "_expect", None)
        object.__setattr__(self, "_calls", 0)

    def constructor(self) -> None:  # overridden by every block and layer
        pass

    @classmethod
    def type_name(cls) -> str:
        return cls.name or cls.__name__

    @classmethod
    def signature(cls) -> dict[str, Param]:
        if cls.__dict__.get("_signature") is None:
            cls._signature = signature_of(cls.constructor)
        return cls._signature

    @property
    def args(self) -> dict[str, Any]:
        return self._args

    def __setattr__(self, key: str, value: Any) -> None:
        refuse_foreign_child(self, key, value)
        if isinstance(value, Module):
            object.__setattr__(value, "_name", key)
            self._children[key] = value
        object.__setattr__(self, key, value)

    def fail(self, message: str, source: Any = None, arg: str | None = None) -> None:
        """Report a problem with this block's arguments (at ``source``'s spec origin) and stop."""
        fallback = self._origin.child(arg) if arg else self._origin
        _frame().diags.error(origin_of(source, fallback), message)
        raise ElaborationAborted()

    def expect_channels(self, channels: int, source: Any, arg: str, reason: str,
                        subject: str | None = None) -> None:
        """Ask ``check_channels`` to verify this module ends with ``channels`` channels.

        ``source`` is the spec value the expectation comes from (its origin is
        where a mismatch is reported); ``reason`` ends the message
        ("…ends with 8192 channels, but out_plane is 512"); ``subject`` starts it
        (default: the block's type and scope).
        """
        origin = origin_of(source, self._origin.child(arg))
        object.__setattr__(self, "_expect", WidthExpectation(int(channels), reason, subject, origin))

    def __call__(self, *inputs: Value) -> Value:
        graph = _frame().graph
        if graph is None:
            raise RuntimeError("call children inside forward(), not in constructor()")
        if self._name is None:
            raise RuntimeError(f"{self.type_name()} must be assigned to an attribute of its block "
                               "in constructor() before it is called")
        object.__setattr__(self, "_calls", self._calls + 1)
        node = self._to_node(graph.unique_name(self._name), [v.node for v in inputs])
        if self._expect is not None:
            node.meta["expect"] = self._expect.to_json()
        return Value(graph.add_node(node))

    def _to_node(self, name: str, inputs: list[Node]) -> Node:
        raise NotImplementedError

    def _arg_origins(self, values: dict[str, Any]) -> dict[str, Origin]:
        origins: dict[str, Origin] = {}
        for key, value in values.items():
            collect_origins(value, key, origins)
        return origins


class Layer(Module):
    """A primitive layer: one IR op.  Subclasses set ``op`` and map their args in ``ir_attrs``."""

    op: ClassVar[str]
    has_params: ClassVar[bool] = False

    def ir_attrs(self) -> dict[str, Any]:
        return dict(self._args)

    def _to_node(self, name: str, inputs: list[Node]) -> Node:
        if self._calls > 1 and self.has_params:
            raise RuntimeError(f"layer '{self._name}' has weights and is called twice; "
                               "create one layer per use")
        attrs = self.ir_attrs()
        return Node(name, self.op, plain(attrs), inputs, self._origin, self._arg_origins(attrs))


class Block(Module):
    """A composite block; see the module docstring."""

    input_size: ClassVar[int | None] = None  # the image size a network starting here expects

    def __init__(self, *positional: Any, _origin: Origin | None = None,
                 _key_origins: dict[str, Origin] | None = None,
                 _value_origins: dict[str, Origin] | None = None, **kwargs: Any) -> None:
        super().__init__(*positional, _origin=_origin, _key_origins=_key_origins,
                         _value_origins=_value_origins, **kwargs)
        frame = _frame()
        token = _FRAME.set(_Frame(frame.diags, self._origin))
        try:
            self._run_users_code("constructor", lambda: self.constructor(**self._args))
        finally:
            _FRAME.reset(token)

    def _run_users_code(self, method: str, run: Callable[[], Any]) -> Any:
        """Run a block's constructor or forward; an exception from a user block's code is the user's
        error, reported at their line and at the spec line using the block (then elaboration stops)."""
        cls = type(self)
        if not is_users(cls):
            return run()
        diags = _frame().diags
        reported = len(diags.items)
        try:
            return run()
        except ElaborationAborted as exc:   # a layer it made got wrong arguments: say where the code made it
            made_at = user_frame(exc, prefer=source_of(cls))
            if made_at is not None:
                diags.items[reported:] = [replace(d, notes=(*d.notes, Note(made_at, "made here"))) if not d.notes
                                          else d for d in diags.items[reported:]]
            raise
        except Exception as exc:
            diags.items.append(user_code_error(exc, f"{cls.type_name()}.{method}", source_of(cls),
                                               used_at=self._origin, fallback=defined_at(cls, method)))
            raise ElaborationAborted() from None

    def forward(self, x: Value) -> Value:
        for child in self._children.values():
            x = child(x)
        return x

    def build_graph(self) -> Graph:
        """Run ``forward`` symbolically: the block's sub-graph."""
        frame = _frame()
        graph = Graph()
        token = _FRAME.set(_Frame(frame.diags, self._origin, graph))
        try:
            source = graph.add_input()
            out = self._run_users_code("forward", lambda: self.forward(Value(source)))
            if not isinstance(out, Value):
                self._run_users_code("forward", lambda: not_a_value(self, out))
            graph.set_output(out.node)
        finally:
            _FRAME.reset(token)
        if graph.output is source:
            frame.diags.warning(self._origin, f"{self.type_name()} builds nothing: it passes its input on "
                                              "unchanged", hint="its constructor assigns no layers or blocks "
                                                                "(self.conv = Conv2d(...)), or its forward "
                                                                "returns its input")
        return graph

    def _to_node(self, name: str, inputs: list[Node]) -> Node:
        node = Node(name, BLOCK_PREFIX + self.type_name(), plain(self._args), inputs, self._origin,
                    self._arg_origins(self._args), self.build_graph(),
                    inline_scope=getattr(self, "inline_scope", False))
        size = getattr(self, "input_size", None)
        if size:
            node.meta["input_size"] = size
        if self.family is not None:
            node.meta["family"] = self.family.name
        return node


class Sequential(Block):
    """Children run in order, named ``0``, ``1``, … (torch's ``nn.Sequential`` naming)."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()  # takes no spec arguments: the children are the content
        for i, module in enumerate(modules):
            setattr(self, str(i), module)


RepNaming = Callable[[list[dict[str, Any]]], list[str]]
REP_NAMINGS: dict[str, RepNaming] = {}


def register_rep_naming(name: str) -> Callable[[RepNaming], RepNaming]:
    """Decorator: a family's way of naming a Repeat's reps from their arguments (``Repeat(naming=name)``)."""
    def register(fn: RepNaming) -> RepNaming:
        REP_NAMINGS[name] = fn
        return fn
    return register


class Repeat(Module):
    """``num_reps`` copies of ``ref``; rep i sets each item to ``value[i]`` (lists) or ``value``.

    Expanded by the ``expand_repeat`` pass, which checks that every list has
    ``num_reps`` values.  Reps are named ``0``, ``1``, ... unless ``naming`` names a
    family's rule (:func:`register_rep_naming`; the ResNet family's
    ``torchvision_stages`` gives ``layer1.0``, ``layer1.1``, ``layer2.0``, ...);
    ``inline_scope=True`` leaves the Repeat out of the scope path.
    """

    def constructor(self, num_reps: int, items: dict, ref: BlockSpec,
                    naming: Optional[str] = None, inline_scope: bool = False) -> None:
        pass

    def _to_node(self, name: str, inputs: list[Node]) -> Node:
        attrs = {k: v for k, v in self._args.items() if k != "inline_scope"}
        return Node(name, BLOCK_PREFIX + "Repeat", plain(attrs), inputs, self._origin,
                    self._arg_origins(attrs), None, inline_scope=self._args["inline_scope"])



class elaboration:
    """Context in which blocks are built: where their diagnostics go, and the graph being built."""

    def __init__(self, diags: Diagnostics, origin: Origin, graph: Graph | None = None) -> None:
        self._frame = _Frame(diags, origin, graph)
        self._token: contextvars.Token | None = None

    def __enter__(self) -> "elaboration":
        self._token = _FRAME.set(self._frame)
        return self

    def __exit__(self, *exc: Any) -> None:
        _FRAME.reset(self._token)


def instantiate(cls: type[Module], name: str, args: dict[str, Any], origin: Origin,
                graph: Graph, inputs: list[Node],
                key_origins: dict[str, Origin] | None = None) -> Node | None:
    """Build block ``cls`` from spec args as node ``name`` of ``graph`` (inside an elaboration).

    Returns the new node, or None when its arguments were wrong (already reported).
    """
    try:
        module = cls(_origin=origin, _key_origins=key_origins,
                     _value_origins=getattr(args, "value_origins", None), **args)
        object.__setattr__(module, "_name", name)
        return module(*[Value(i) for i in inputs]).node
    except ElaborationAborted:   # its arguments were wrong, or a user block's code failed: reported
        return None

"""How blocks are written: a typed ``constructor`` that assigns children, and a symbolic ``forward``.

A block is written the way the fine-grained guide writes VariantLayer: its
constructor's arguments are its (searchable) parameters, and it assigns child
blocks, layers or a :class:`Repeat` as attributes.  By default the children
run in the order they were assigned; a block with a residual path overrides
``forward`` the way an ``nn.Module`` would, except that ``x`` is a symbolic
:class:`Value` and the result is IR, not tensors.  Nothing here imports torch.

A ``forward`` may take several values (``forward(self, x, skip)``: a spec module gives them with
``inputs: [a, b]``) and return several (a tuple of Values: ``a, b = self.split(x)`` unpacks them).

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
import inspect
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional

from fgir.blocks import memo
from fgir.blocks.argtypes import BlockSpec, Param, signature_of, validate_args
from fgir.blocks.values import _FRAME, ElaborationAborted, Value, _Frame, _frame, add, concat, mul
from fgir.blocks.located import collect_origins, origin_of, plain
from fgir.blocks.user_code import (defined_at, is_users, not_a_value, refuse_foreign_child, source_of,
                                   user_code_error, user_frame)
from fgir.diagnostics import Diagnostics, Note, Origin
from fgir.ir.graph import BLOCK_PREFIX, Graph, Node, WidthExpectation
from fgir.ir.node import ITEM
from fgir.ir.ops import OPS

if TYPE_CHECKING:
    from fgir.blocks.family import Family


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
        memo.note_module(type(self))
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

    def fail(self, message: str, source: Any = None, arg: str | None = None, hint: str | None = None) -> None:
        """Report a problem with this block's arguments (at ``source``'s spec origin, or at an
        :class:`Origin` given as ``source``) and stop."""
        fallback = self._origin.child(arg) if arg else self._origin
        where = source if isinstance(source, Origin) else origin_of(source, fallback)
        _frame().diags.error(where, message, hint=hint)
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

    def __call__(self, *inputs: Value) -> "Value | tuple[Value, ...]":
        """The module applied to ``inputs``: its Value, or a tuple of Values when it has several outputs
        (node i > 0 is an ``item`` node selecting output i of the block node; ``lower_blocks`` removes it)."""
        graph = _frame().graph
        if graph is None:
            raise RuntimeError("call children inside forward(), not in constructor()")
        if self._name is None:
            raise RuntimeError(f"{self.type_name()} must be assigned to an attribute of its block "
                               "in constructor() before it is called")
        low, high = type(self).input_counts()
        if not (low <= len(inputs) and (high is None or len(inputs) <= high)):
            raise TypeError(f"{self.type_name()} '{self._name}' takes {count_text(low, high)}, "
                            f"got {len(inputs)}")
        object.__setattr__(self, "_calls", self._calls + 1)
        node = self._to_node(graph.unique_name(self._name), [v.node for v in inputs])
        if self._expect is not None:
            node.meta["expect"] = self._expect.to_json()
        graph.add_node(node)
        outputs = len(node.subgraph.outputs) if node.subgraph is not None else 1
        if outputs == 1:
            return Value(node)
        return (Value(node), *(Value(graph.add(graph.unique_name(f"{node.name}.{i}"), ITEM, [node], {"index": i},
                                               node.origin)) for i in range(1, outputs)))

    @classmethod
    def input_counts(cls) -> tuple[int, int | None]:
        """How many inputs it takes: (at least, at most; None: any number)."""
        counts = cls.__dict__.get("_input_counts")
        if counts is None:
            counts = cls._count_inputs()
            cls._input_counts = counts
        return counts

    @classmethod
    def _count_inputs(cls) -> tuple[int, int | None]:
        return 1, 1

    def _to_node(self, name: str, inputs: list[Node]) -> Node:
        raise NotImplementedError

    def _arg_origins(self, values: dict[str, Any]) -> dict[str, Origin]:
        origins: dict[str, Origin] = {}
        for key, value in values.items():
            collect_origins(value, key, origins)
        return origins


def count_text(low: int, high: int | None) -> str:
    """``1 input``, ``2 inputs``, ``2 or more inputs``, ``1 to 3 inputs``."""
    if high == low:
        return f"{low} input{'s' if low != 1 else ''}"
    if high is None:
        return f"{low} or more inputs"
    return f"{low} to {high} inputs"


class Layer(Module):
    """A primitive layer: one IR op.  Subclasses set ``op`` and map their args in ``ir_attrs``."""

    op: ClassVar[str]
    has_params: ClassVar[bool] = False
    min_inputs: ClassVar[int] = 1   # for an op of any arity (concat): the fewest it takes

    @classmethod
    def _count_inputs(cls) -> tuple[int, int | None]:
        schema = OPS.get(cls.op)
        arity = schema.arity if schema is not None else 1
        return (cls.min_inputs, None) if arity is None else (arity, arity)

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

    @classmethod
    def _count_inputs(cls) -> tuple[int, int | None]:
        """From ``forward``'s positional parameters (``forward(self, x, skip)`` takes 2)."""
        params = list(inspect.signature(cls.forward).parameters.values())[1:]
        if any(p.kind is p.VAR_POSITIONAL for p in params):
            return sum(1 for p in params if p.kind in _POSITIONAL and p.default is p.empty), None
        positional = [p for p in params if p.kind in _POSITIONAL]
        return sum(1 for p in positional if p.default is p.empty), len(positional)

    def build_graph(self, inputs: int = 1) -> Graph:
        """Run ``forward`` symbolically on ``inputs`` values (input nodes ``input``, ``input_1``, ...): the
        block's sub-graph; a forward returning a tuple of Values gives a sub-graph of several outputs."""
        frame = _frame()
        graph = Graph()
        token = _FRAME.set(_Frame(frame.diags, self._origin, graph))
        try:
            sources = [graph.add_input("input" if i == 0 else f"input_{i}") for i in range(inputs)]
            out = self._run_users_code("forward", lambda: self.forward(*map(Value, sources)))
            outs = list(out) if isinstance(out, (tuple, list)) and out else [out]
            if not all(isinstance(o, Value) for o in outs):
                bad = next(o for o in outs if not isinstance(o, Value))
                self._run_users_code("forward", lambda: not_a_value(self, bad))
            if len(outs) == 1:
                graph.set_output(outs[0].node)
            else:   # named by position: a forward may return one value twice
                graph.set_outputs([o.node for o in outs], [str(i) for i in range(len(outs))])
        finally:
            _FRAME.reset(token)
        source = sources[0]
        if len(graph.outputs) == 1 and graph.output is source:
            frame.diags.warning(self._origin, f"{self.type_name()} builds nothing: it passes its input on "
                                              "unchanged", hint="its constructor assigns no layers or blocks "
                                                                "(self.conv = Conv2d(...)), or its forward "
                                                                "returns its input")
        return graph

    def _to_node(self, name: str, inputs: list[Node]) -> Node:
        node = Node(name, BLOCK_PREFIX + self.type_name(), plain(self._args), inputs, self._origin,
                    self._arg_origins(self._args), self.build_graph(len(inputs)),
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


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)

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
    outputs = instantiate_outputs(cls, name, args, origin, graph, inputs, key_origins)
    return outputs[0] if outputs else None


def instantiate_outputs(cls: type[Module], name: str, args: dict[str, Any], origin: Origin,
                        graph: Graph, inputs: list[Node],
                        key_origins: dict[str, Origin] | None = None) -> list[Node] | None:
    """:func:`instantiate`, giving the node of each of its outputs (the block node, then its items).

    A pure block built before with the same arguments is copied, not built again (:mod:`fgir.blocks.memo`)."""
    def build() -> list[Node] | None:
        try:
            module = cls(_origin=origin, _key_origins=key_origins,
                         _value_origins=getattr(args, "value_origins", None), **args)
            object.__setattr__(module, "_name", name)
            out = module(*[Value(i) for i in inputs])
            return [v.node for v in out] if isinstance(out, tuple) else [out.node]
        except ElaborationAborted:   # its arguments were wrong, or a user block's code failed: reported
            return None

    if not _adds_one_block_node(cls):
        return build()
    return memo.built(cls, name, args, origin, key_origins, graph, inputs, build, _frame().diags)


def _adds_one_block_node(cls: type[Module]) -> bool:
    """Whether building ``cls`` adds one block node holding its sub-graph, as :mod:`fgir.blocks.memo` copies
    (a layer adds its op's node, or several: ``Add`` of three inputs; a Repeat is expanded later)."""
    return (isinstance(cls, type) and issubclass(cls, Block) and cls._to_node is Block._to_node
            and cls.__call__ is Module.__call__)

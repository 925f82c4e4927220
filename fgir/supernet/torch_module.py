"""The torch supernet: the largest candidate's weights, shared by every candidate through slices.

``set_candidate(assignment)`` picks a candidate; ``forward`` then runs exactly that candidate's
network: the candidate's own compiled module (``fgir.to_torch`` of its frozen spec, cached) called
with :func:`torch.func.functional_call` on *views* of the shared tensors, so gradients and BatchNorm
statistics land in the shared weights.  A tensor of a candidate is the largest's tensor of the same
name (node names are scope paths) cut to its shape: the first k channels on every channel axis
(OFA-style widths and expand ratios), a centre crop on a conv's kernel axes; a block beyond a
candidate's depth is not in its graph, so it is skipped.  The extracted standalone model
(:func:`extract`) is that same module with copies of those slices: equal outputs by construction.

BatchNorm: the running statistics are shared and sliced like the weights (what the sandwich rule
trains).  :meth:`SupernetModule.recalibrate` re-estimates them for the active candidate on N
batches (exact averages, as Once-for-All does) before it is scored or extracted; without it a
candidate uses the shared statistics, and its extracted model still equals the supernet's output.

Example:
    >>> import torch
    >>> from fgir.supernet.ir import build_supernet
    >>> net = SupernetModule(build_supernet("examples/search/supernet_mobilenet.yaml"), seed=0).eval()
    >>> net.set_candidate(net.ir.smallest)
    >>> spec, state = net.extract()
    >>> import fgir
    >>> alone = fgir.to_torch(fgir.loads(spec), input="3x8x8"); _ = alone.load_state_dict(state)
    >>> x = torch.randn(2, 3, 8, 8)
    >>> float((alone.eval()(x) - net(x)).detach().abs().max()) <= 1e-5
    True
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable

import torch
from torch import nn

from fgir.diagnostics import Diagnostic, FgirError, Loc
from fgir.search.space import Sample
from fgir.supernet.choices import tensor_node
from fgir.supernet.ir import Supernet, compile_candidate

CACHE = 64   # candidate modules kept (a compile and a build each, ~30 ms); a sandwich step uses 2 + k


class SupernetModule(nn.Module):
    """Weight-sharing supernet over a :class:`~fgir.supernet.ir.Supernet`; see the module docstring."""

    def __init__(self, ir: Supernet, seed: int | None = 0) -> None:
        from fgir.api import to_torch

        super().__init__()
        self.ir = ir
        self.shared = to_torch(ir.graph, seed=seed)     # the largest candidate: its tensors are the weights
        self.alternatives = nn.Module()                 # a choice's other values: their branches' own tensors
        self._alternative: dict[tuple[str, Any, str], str] = {}   # (dimension, value, tensor) → attribute
        self._places: dict[str, tuple[nn.Module, str]] | None = None
        self._branch = {node: key for key, point in ir.points.items() if point.kind == "choice"
                        for node in point.nodes}
        for key, graphs in ir.alternatives.items():
            for value, graph in graphs.items():
                self._own(key, value, to_torch(graph, seed=seed))
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self.candidate: Sample = dict(ir.largest)
        self._active_key: str | None = None   # a key of the cache: a module attribute would be registered

    def _own(self, key: str, value: Any, module: nn.Module) -> None:
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if self._branch.get(tensor_node(name)) != key:
                continue
            attr = f"t{len(self._alternative)}"
            if isinstance(tensor, nn.Parameter):
                self.alternatives.register_parameter(attr, nn.Parameter(tensor.detach().clone()))
            else:
                self.alternatives.register_buffer(attr, tensor.detach().clone())
            self._alternative[(key, value, name)] = attr

    def source(self, name: str, sample: Sample | None = None) -> torch.Tensor:
        """The stored tensor a candidate's tensor ``name`` is cut from: the shared one, or the own one of
        the value its choice takes in ``sample`` (default: the active candidate)."""
        sample = self.candidate if sample is None else sample
        key = self._branch.get(tensor_node(name))
        if key is not None and sample[key] != self.ir.largest[key]:
            return getattr(self.alternatives, self._alternative[(key, sample[key], name)])
        if self._places is None:   # where each shared tensor lives (the tensors change on .to(device))
            self._places = {f"{prefix}.{leaf}" if prefix else leaf: (module, leaf)
                            for prefix, module in self.shared.named_modules()
                            for leaf, _ in [*module.named_parameters(recurse=False),
                                            *module.named_buffers(recurse=False)]}
        if name not in self._places:   # a node that only a combination of values makes: not analysed
            raise ValueError(f"tensor '{name}' of candidate {sample} is in no graph the supernet was built from")
        module, leaf = self._places[name]
        return getattr(module, leaf)

    # -- candidates ---------------------------------------------------------------------------
    def check_candidate(self, assignment: Any, where: str = "<candidate>") -> Sample:
        """``assignment`` if it is a candidate of the space, else an FgirError at the dotted path of each
        value the space does not offer (and for keys missing or unknown)."""
        return check_candidate(self.ir, assignment, where)

    def set_candidate(self, assignment: Sample, graph: Any = None) -> None:
        """Make ``forward`` compute this candidate's network (``graph``: its compiled graph, if at hand)."""
        sample = self.check_candidate(assignment)
        key = self.ir.space.key(sample)
        module = self._cache.pop(key, None)
        if module is None:
            from fgir.backends.torch import build_module

            graph = graph if graph is not None else compile_candidate(self.ir.space, sample, self.ir.input)
            # its own tensors are never read (forward passes the shared ones' slices): left uninitialised
            module = build_module(graph, seed=0, initialise_weights=False)   # seeded: the global RNG is left as it was
            if len(self._cache) >= CACHE:
                self._cache.popitem(last=False)
        self._cache[key] = module
        self.candidate, self._active_key = sample, key

    def _module(self) -> Any:
        if self._active_key not in self._cache:
            self.set_candidate(self.candidate)
        return self._cache[self._active_key]

    def sliced(self) -> dict[str, torch.Tensor]:
        """The active candidate's tensors: views into the shared ones (first channels, centre-cropped kernels)."""
        own = self._module()
        return {name: cut(self.source(name), tuple(tensor.shape), name)
                for name, tensor in [*own.named_parameters(), *own.named_buffers()]}

    def forward(self, x: torch.Tensor) -> Any:
        module = self._module()
        module.train(self.training)
        return torch.func.functional_call(module, self.sliced(), (x,), strict=True)

    # -- BatchNorm ----------------------------------------------------------------------------
    @torch.no_grad()
    def recalibrate(self, batches: Iterable[torch.Tensor]) -> int:
        """Re-estimate the active candidate's BatchNorm statistics (exact averages over ``batches``);
        the number of images seen."""
        module = self._module()
        norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        tensors = self.sliced()
        names = {id(m): n for n, m in module.named_modules()}
        for norm in norms:
            name = names[id(norm)]
            tensors[f"{name}.running_mean"].zero_()
            tensors[f"{name}.running_var"].fill_(1.0)
            tensors[f"{name}.num_batches_tracked"].zero_()
        momenta = [norm.momentum for norm in norms]
        for norm in norms:
            norm.momentum = None   # a cumulative average: every batch counts the same
        was, seen = self.training, 0
        try:
            self.train()
            for x in batches:
                self(x)
                seen += len(x)
        finally:
            for norm, momentum in zip(norms, momenta):
                norm.momentum = momentum
            self.train(was)
        return seen

    # -- extraction ---------------------------------------------------------------------------
    def extract(self) -> tuple[str, dict[str, torch.Tensor]]:
        """The active candidate as a plain spec (YAML text) and its weights (copies of the slices)."""
        text = self.ir.space.freeze(self.candidate)
        if self.ir.input is not None and "\ninput:" not in "\n" + text:
            text = f"input: {self.ir.input}\n" + text
        return text, {k: v.detach().clone().contiguous() for k, v in self.sliced().items()}


def cut(tensor: torch.Tensor, shape: tuple[int, ...], name: str = "") -> torch.Tensor:
    """``tensor`` cut to ``shape``: the first entries of each axis, a centred window on a conv's kernel axes.

    >>> cut(torch.arange(25.).reshape(1, 1, 5, 5), (1, 1, 3, 3))[0, 0, 0].tolist()
    [6.0, 7.0, 8.0]
    """
    if tuple(tensor.shape) == shape:
        return tensor
    if len(shape) != tensor.dim() or any(s > t for s, t in zip(shape, tensor.shape)):
        raise ValueError(f"{name}: a {list(shape)} tensor is not a part of the shared {list(tensor.shape)}")
    index = []
    for axis, (s, t) in enumerate(zip(shape, tensor.shape)):
        start = (t - s) // 2 if tensor.dim() >= 3 and axis >= 2 else 0   # kernel axes: the centre
        index.append(slice(start, start + s))
    return tensor[tuple(index)]


def check_candidate(ir: Supernet, assignment: Any, where: str = "<candidate>") -> Sample:
    """``assignment`` (a dict by dotted path) if the space holds it; else one located error per problem."""
    from fgir.spec.yaml_loader import SMap

    space = ir.space
    if not isinstance(assignment, dict):
        raise FgirError(Diagnostic(Loc(where), "", f"a candidate is a mapping from dotted path to value, "
                                                   f"not {type(assignment).__name__}"))

    def loc(key: str) -> Loc:
        return assignment.value_loc(key) if isinstance(assignment, SMap) and key in assignment else Loc(where)

    problems = []
    dims = {d.key: d for d in space.dimensions}
    for key in assignment:
        if key not in dims and key != "space_sha256":
            problems.append(Diagnostic(loc(key), str(key), "is not a dimension of the space",
                                       hint="its dimensions: " + ", ".join(dims)))
    for key, dim in dims.items():
        if key not in assignment:
            problems.append(Diagnostic(Loc(where), key, "the candidate gives no value for this dimension",
                                       hint=f"one of {dim.domain!r}"))
        elif not dim.domain.contains(assignment[key]):
            problems.append(Diagnostic(loc(key), key, f"{assignment[key]!r} is not offered by the space: "
                                                      f"{dim.domain!r}",
                                       hint=f"the space writes it at {dim.loc.file}:{dim.loc.line}"))
    if problems:
        raise FgirError(problems)
    return {key: assignment[key] for key in dims}


__all__ = ["CACHE", "SupernetModule", "check_candidate", "cut"]

"""to_torch's generated forward is made once per graph structure (fgir.backends.torch.codegen) and changes nothing.

Modules built from the cache are the modules built without it: same weights for a seed, same outputs,
same code, the same fx graph once read (built then, from the module's recipe); a structure of its own
gets code of its own; editing one module's fx graph changes that one only; copying and pickling work
whether or not the graph was read; the cache stays bounded and releases the sources it drops.
"""

from __future__ import annotations

import copy
import linecache

import pytest
import torch

import fgir
from conftest import EXAMPLES
from fgir.backends.torch import codegen

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def resnet20():
    return fgir.compile(EXAMPLES / "resnet20_cifar.yaml", input="3x16x16")


def test_modules_of_one_structure_share_their_forward_and_equal_fresh_ones(resnet20):
    codegen.forget_all()
    fresh = fgir.to_torch(resnet20, seed=3)          # generated, then kept
    kept = fgir.to_torch(resnet20, seed=3)           # from the cache
    assert type(kept).forward is type(fresh).forward and kept.code == fresh.code
    assert type(kept).__name__ == "FgirModule" and isinstance(kept, torch.fx.GraphModule)
    assert kept.graph is not fresh.graph and len(kept.graph.nodes) == len(fresh.graph.nodes)
    state, fresh_state = kept.state_dict(), fresh.state_dict()
    assert list(state) == list(fresh_state) and all(torch.equal(state[k], fresh_state[k]) for k in state)
    x = torch.rand(2, 3, 16, 16)
    assert torch.equal(kept.eval()(x), fresh.eval()(x))


def test_another_structure_gets_its_own_code(resnet20):
    resnet18 = fgir.compile(EXAMPLES / "resnet18.yaml", input="3x16x16")
    a, b = fgir.to_torch(resnet20), fgir.to_torch(resnet18)
    assert type(a).forward is not type(b).forward and a.code != b.code
    two = fgir.compile(EXAMPLES / "two_outputs.yaml")
    as_tuple, as_dict = fgir.to_torch(two, seed=0), fgir.to_torch(two, seed=0, outputs="dict")
    x = torch.rand(1, *two.meta["input"])
    out_tuple, out_dict = as_tuple.eval()(x), as_dict.eval()(x)
    assert isinstance(out_tuple, tuple) and isinstance(out_dict, dict)
    assert all(torch.equal(t, d) for t, d in zip(out_tuple, out_dict.values()))


def test_editing_one_modules_graph_recompiles_that_one_only(resnet20):
    a, b = fgir.to_torch(resnet20, seed=0), fgir.to_torch(resnet20, seed=0)
    shared = type(b).forward
    relu = next(n for n in a.graph.nodes if n.op == "call_module" and n.target == "relu")
    relu.replace_all_uses_with(relu.args[0])           # drop the stem's ReLU in a alone
    a.graph.erase_node(relu)
    a.recompile()
    assert type(a).forward is not shared and type(b).forward is shared
    assert "self.relu(" not in a.code and "self.relu(" in b.code
    assert fgir.to_torch(resnet20).code == b.code      # the kept code is the unedited one


def test_a_copied_module_computes_the_same(resnet20):
    module = fgir.to_torch(resnet20, seed=0).eval()
    twin = copy.deepcopy(module)
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(twin(x), module(x)) and twin.code == module.code


def test_the_cache_is_bounded_and_releases_what_it_drops(monkeypatch, resnet20):
    codegen.forget_all()
    monkeypatch.setattr(codegen, "MAX_KEPT", 1)
    first = fgir.to_torch(resnet20)
    source = type(first).forward.__code__.co_filename
    assert source in linecache.cache
    fgir.to_torch(fgir.compile(EXAMPLES / "resnet18.yaml", input="3x16x16"))
    assert len(codegen._KEPT) == 1 and source not in linecache.cache
    x = torch.rand(1, 3, 16, 16)
    assert first.eval()(x).shape == (1, 10)          # a module whose code was dropped still runs


def test_a_modules_fx_graph_is_built_when_read_and_equals_the_generated_ones(resnet20):
    codegen.forget_all()
    first = fgir.to_torch(resnet20)     # its code generated from a graph it does not keep
    kept = fgir.to_torch(resnet20)
    assert "_graph" not in first.__dict__ and "_graph" not in kept.__dict__     # nothing built for them yet
    assert str(kept.graph) == str(first.graph) and kept.graph.owning_module is kept
    assert kept.graph is kept.graph and "_fgir_recipe" not in kept.__dict__  # built once, its own
    assert kept.graph.python_code("self").src == kept.code


def test_a_dropped_module_is_freed_at_once_weights_and_all(resnet20):
    import gc
    import weakref

    codegen.forget_all()
    gc.collect()
    gc.disable()
    try:
        for _ in range(2):       # the first generates the structure's code, the second takes it
            module = fgir.to_torch(resnet20)
            weight = weakref.ref(module.conv1.weight)
            del module
            assert weight() is None     # not left for the cycle collector: no module-graph cycle
    finally:
        gc.enable()


@pytest.mark.parametrize("read_first", [False, True])
def test_a_kept_module_copies_and_pickles_whole(resnet20, tmp_path, read_first):
    import pickle

    fgir.to_torch(resnet20)
    module = fgir.to_torch(resnet20, seed=1).eval()
    if read_first:
        module.graph
    x = torch.rand(2, 3, 16, 16)
    torch.save(module, tmp_path / "whole.pt")
    for twin in (copy.deepcopy(module), copy.copy(module), pickle.loads(pickle.dumps(module)),
                 torch.load(tmp_path / "whole.pt", weights_only=False)):
        assert torch.equal(twin.eval()(x), module(x)) and twin.code == module.code
        assert len(twin.graph.nodes) == len(module.graph.nodes)


def test_a_module_registration_hook_sees_every_layer(resnet20):
    from torch.nn.modules.module import register_module_module_registration_hook

    seen = []
    handle = register_module_module_registration_hook(lambda parent, name, module: seen.append(name))
    try:
        module = fgir.to_torch(resnet20)
    finally:
        handle.remove()
    leaves = [name.rsplit(".", 1)[-1] for name, _ in module.named_modules() if name]
    assert sorted(seen) == sorted(leaves) and "conv1" in seen

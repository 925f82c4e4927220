"""Checks the issue-22 family tests share (RegNet, ShuffleNetV2, LR-ASPP): a reference checkpoint loads
strictly both ways and computes the same; ONNX Runtime agrees; a pruned network equals its masked dense one."""

from __future__ import annotations

import copy
import random
import re
import textwrap
from pathlib import Path

import numpy as np
import torch

import fgir
from fgir.ir.channel_groups import channel_groups
from fgir.testing.weights import randomize_batch_norm
from prune_oracle import zero_pruned_inputs


def sample(seed: int = 1, size: tuple[int, ...] = (3, 32, 32)) -> torch.Tensor:
    """Two random images, the same for a seed."""
    return torch.randn(2, *size, generator=torch.Generator().manual_seed(seed))


def every_tensor_counts(model: torch.nn.Module, std: float = 0.2) -> torch.nn.Module:
    """``model`` with every parameter drawn from normal(0, std): a reference's zero or tiny initial tensors (a
    class token, a head, a layer scale of 1e-6) would hide a wrong one."""
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(std=std)
    return model


def first_output(out):
    return out["out"] if isinstance(out, dict) else out   # torchvision's segmentation models return a dict


def load_both_ways(graph, ref: torch.nn.Module, x: torch.Tensor) -> float:
    """The reference's state_dict loads strictly into fgir's module (same keys, same order) and fgir's into a
    fresh copy of the reference; the largest output difference of the two loaded pairs."""
    model = fgir.to_torch(graph, seed=5)
    assert list(model.state_dict()) == list(ref.state_dict())
    model.load_state_dict(ref.state_dict(), strict=True)
    other = randomize_batch_norm(fgir.to_torch(graph, seed=7), seed=4)
    back = copy.deepcopy(ref)
    back.load_state_dict(other.state_dict(), strict=True)
    with torch.no_grad():
        ours = model.eval()(x)
        theirs = first_output(ref.eval()(x))
        assert ours.shape == theirs.shape
        return max((ours - theirs).abs().max().item(),
                   (other.eval()(x) - first_output(back.eval()(x))).abs().max().item())


def ort_diff(graph, seed: int, x: np.ndarray, module: torch.nn.Module | None = None) -> tuple[tuple, float]:
    """ONNX Runtime's output shape, and its largest difference from torch, on ``x``: with ``module``'s weights,
    or fresh ones of ``seed`` (BatchNorm statistics randomized too)."""
    import onnxruntime as ort

    if module is None:
        module = randomize_batch_norm(fgir.to_torch(graph, seed=seed), seed=seed)
    module.eval()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(fgir.to_onnx(graph, weights=module).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    assert got.shape == want.shape
    return got.shape, float(np.abs(got - want).max())


def pruned_against_dense(tmp_path: Path, spec: Path, group_names: list[str], seed: int, size: str = "3x64x64"):
    """Outputs on one random input: pruned (random masks on ``group_names``), dense with the pruned
    channels' input weights zeroed, and dense as it was; and the pruned graph."""
    network = spec.read_text()
    dense_graph = fgir.compile(network, input=size)
    groups = channel_groups(dense_graph)
    dense = randomize_batch_norm(fgir.to_torch(dense_graph, seed=seed), seed)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    rng = random.Random(seed)
    masks = {}
    for name in group_names:
        mask = [rng.randint(0, 1) for _ in range(groups.any_by_name()[name].width)]
        mask[0] = 1
        masks[name] = mask
    match = re.search(r"modules: \['(\w+)'\]", network)
    pruned_spec = (network[:match.end() - 1] + ", 'prune']" + network[match.end():] +
                   textwrap.indent(f"prune: {{type: Prune, masks: {masks}, init_model_file: dense.pt}}\n", " " * 8))
    (tmp_path / "pruned.yaml").write_text(pruned_spec)
    pruned_graph = fgir.compile(tmp_path / "pruned.yaml", input=size)
    assert pruned_graph.meta["params"] < dense_graph.meta["params"]
    pruned = fgir.to_torch(pruned_graph).eval()
    c, h, w = map(int, size.split("x"))
    x = torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        unpruned = dense(x)
        zero_pruned_inputs(dense, groups, masks, dense_graph)
        return pruned(x), dense(x), unpruned



def pruned_by_ratio(tmp_path: Path, spec: Path, ratio: float, size: str = "3x64x64") -> tuple[float, float, tuple]:
    """``fgir.prune`` by ``ratio`` (L1) on fresh weights: the params kept (a fraction), the largest difference
    between the pruned network (its weights sliced by fgir) and the dense one with the removed channels'
    readers zeroed, and the pruned output's shape."""
    dense_graph = fgir.compile(spec, input=size)
    dense = randomize_batch_norm(fgir.to_torch(dense_graph, seed=1), 1)
    result = fgir.prune(spec, dense, ratio=ratio, input=size)
    result.write(tmp_path / "pruned.yaml")
    pruned = fgir.to_torch(fgir.compile(tmp_path / "pruned.yaml", input=size)).eval()
    c, h, w = map(int, size.split("x"))
    x = torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        zero_pruned_inputs(dense, channel_groups(dense_graph), result.masks, dense_graph)
        got, want = pruned(x), dense(x)
    return result.params / result.dense_params, (got - want).abs().max().item(), tuple(got.shape)


def compile_error(path, input=None) -> fgir.FgirError:
    """The error compiling ``path`` raises, which must hold exactly one diagnostic."""
    import pytest

    with pytest.raises(fgir.FgirError) as info:
        fgir.compile(path, input=input)
    assert len(info.value.errors) == 1
    return info.value


def only_error(path, input=None) -> str:
    """The one error compiling ``path`` gives, in compiler form."""
    return str(compile_error(path, input).errors[0])


def assert_pruned_is_masked_dense(dense: torch.nn.Module, pruned: torch.nn.Module, dense_graph, masks: dict,
                                  x: torch.Tensor) -> None:
    """The pruned network computes what the dense one does with the pruned channels' inputs zeroed
    (``dense`` is changed), and the masks did change what the dense one computes."""
    with torch.no_grad():
        unpruned = dense(x)
        zero_pruned_inputs(dense, channel_groups(dense_graph), masks, dense_graph)
        got, want = pruned(x), dense(x)
    assert (got - want).abs().max().item() <= 1e-5
    assert (got - unpruned).abs().max().item() > 1e-3

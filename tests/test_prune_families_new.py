"""Prune on the issue-22 families: attention heads and MLP hidden channels of a ViT, ConvNeXt's inverted
bottlenecks, and `fgir prune --ratio` on each family (RegNet, ShuffleNetV2 and LR-ASPP by ratio are in their
family tests).

A head is one channel of its attention's head group: pruning it removes its q, k and v rows of
``in_proj_weight`` and its columns of ``out_proj.weight``.  The masked dense network (the oracle) is written
from that definition: the pruned heads' columns of the dense ``out_proj.weight`` zeroed (a head's output only
reaches the network through them), and for the other groups tests/prune_oracle.py's zeroed consumer inputs.
"""

from __future__ import annotations

import random

import numpy as np
import torch

import fgir
from conftest import EXAMPLES, run_fgir
from family_parity import assert_pruned_is_masked_dense, compile_error, sample
from fgir.ir.channel_groups import channel_groups

VIT = ("search_space:\n  modules: [vit]\n  vit: {type: VisionTransformer, variant: b_16, num_class: 10, "
       "image_size: 32, patch_size: 8, num_layers: 2, num_heads: 4, hidden_dim: 32, mlp_dim: 48}\n")
CONVNEXT = ("search_space:\n  modules: [net]\n  net: {type: ConvNeXt, variant: tiny, num_class: 10, "
            "dims: [16, 32], depths: [1, 2]}\n")


def half(width: int, rng: random.Random) -> list[int]:
    keep = rng.sample(range(width), width // 2)
    return [int(i in keep) for i in range(width)]


def zero_pruned_heads(dense: torch.nn.Module, graph, masks: dict[str, list[int]]) -> None:
    """The oracle for heads: each pruned head's columns of its attention's out_proj.weight zeroed."""
    with torch.no_grad():
        for name, mask in masks.items():
            if graph[name].op != "multihead_attention":
                continue
            weight = dense.get_submodule(name).out_proj.weight
            width = weight.shape[1] // len(mask)
            for head, keep in enumerate(mask):
                if not keep:
                    weight[:, head * width:(head + 1) * width] = 0


def with_prune(text: str, masks: dict) -> str:
    module = "vit" if "vit:" in text else "net"
    return text.replace(f"modules: [{module}]", f"modules: [{module}, prune]") + \
        f"  prune: {{type: Prune, masks: {masks}, init_model_file: dense.pt}}\n"


def dense_network(tmp_path, text: str):
    graph = fgir.compile(text)
    dense = fgir.to_torch(graph, seed=4).eval()
    with torch.no_grad():   # torchvision starts biases and the class token at zero: give every tensor values
        for tensor in dense.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(torch.randn(tensor.shape, generator=torch.Generator().manual_seed(tensor.numel())) * .1)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    return graph, dense


def test_pruned_heads_and_mlp_channels_equal_the_masked_dense_vit_in_torch_and_onnx_runtime(tmp_path):
    import onnxruntime as ort

    dense_graph, dense = dense_network(tmp_path, VIT)
    groups = channel_groups(dense_graph)
    rng = random.Random(2)
    masks = {g.name: half(g.width, rng) for g in groups.groups}
    heads = [name for name in masks if dense_graph[name].op == "multihead_attention"]
    assert len(heads) == 2
    (tmp_path / "pruned.yaml").write_text(with_prune(VIT, masks))
    pruned_graph = fgir.compile(tmp_path / "pruned.yaml")
    attention = pruned_graph[heads[0]]
    assert (attention.attrs["num_heads"], attention.attrs["head_dim"], attention.attrs["embed_dim"]) == (2, 8, 32)
    # two of four heads (8 wide) go in each layer: 3·8·32 + 3·8 + 32·8 parameters each, and half the MLP
    removed_heads = 2 * 2 * (3 * 8 * 32 + 3 * 8 + 32 * 8)
    removed_mlp = 2 * 24 * (32 + 1 + 32)
    assert dense_graph.meta["params"] - pruned_graph.meta["params"] == removed_heads + removed_mlp
    pruned = fgir.to_torch(pruned_graph).eval()
    x = sample(7)
    zero_pruned_heads(dense, dense_graph, masks)
    assert_pruned_is_masked_dense(dense, pruned, dense_graph, masks, x)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(fgir.to_onnx(pruned_graph, weights=pruned).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    with torch.no_grad():
        assert np.abs(session.run(None, {"input": x.numpy()})[0] - pruned(x).numpy()).max() <= 1e-4


def test_a_heads_mask_of_the_wrong_length_is_located(tmp_path):
    dense_network(tmp_path, VIT)
    name = "encoder.layers.encoder_layer_1.self_attention"
    (tmp_path / "pruned.yaml").write_text(with_prune(VIT, {name: [1, 0, 1]}))
    error = compile_error(tmp_path / "pruned.yaml")
    assert (error.line, error.message) == (4, f"mask '{name}' keeps 2 of 3 heads, but '{name}' has 4: the spec's "
                                              "num_heads must be the dense one or the pruned one")


def test_fgir_prune_by_ratio_on_a_vit_prunes_heads_and_mlp_exactly(tmp_path):
    dense_graph, dense = dense_network(tmp_path, VIT)
    result = fgir.prune(VIT, dense, ratio=0.5)
    assert sorted(result.masks) == sorted(g.name for g in channel_groups(dense_graph).groups)
    assert all(sum(mask) == len(mask) // 2 for mask in result.masks.values())
    result.write(tmp_path / "pruned.yaml")
    pruned = fgir.to_torch(fgir.compile(tmp_path / "pruned.yaml")).eval()
    zero_pruned_heads(dense, dense_graph, result.masks)
    assert_pruned_is_masked_dense(dense, pruned, dense_graph, result.masks, sample(3))


def test_fgir_prune_by_ratio_on_a_convnext_prunes_the_inverted_bottlenecks_exactly(tmp_path):
    dense_graph, dense = dense_network(tmp_path, CONVNEXT)
    result = fgir.prune(CONVNEXT, dense, ratio=0.25)
    assert {name: sum(mask) for name, mask in result.masks.items()} == {
        "features.1.0.block.3": 48, "features.3.0.block.3": 96, "features.3.1.block.3": 96}
    result.write(tmp_path / "pruned.yaml")
    pruned = fgir.to_torch(fgir.compile(tmp_path / "pruned.yaml")).eval()
    assert_pruned_is_masked_dense(dense, pruned, dense_graph, result.masks, sample(4))


def test_the_cli_prunes_a_vit_by_ratio(tmp_path):
    """`fgir prune --ratio` on a ViT (RegNet, ShuffleNetV2 and LR-ASPP: their family tests, through the same
    fgir.prune): every head and MLP group pruned, written as a spec that compiles."""
    (tmp_path / "vit.yaml").write_text(VIT)
    dense_graph, _ = dense_network(tmp_path, VIT)
    result = run_fgir("prune", "vit.yaml", "--weights", "dense.pt", "--ratio", "0.5", "-o", "pruned.yaml",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].endswith("4 of 4 channel groups pruned")
    pruned = fgir.compile(tmp_path / "pruned.yaml")
    assert [pruned[f"encoder.layers.encoder_layer_{i}.self_attention"].attrs["num_heads"] for i in range(2)] == [2, 2]
    assert pruned.meta["params"] < 0.8 * dense_graph.meta["params"]


def test_a_vit_with_pruned_heads_quantizes_with_torchs_codes_in_onnx_runtime(tmp_path):
    """The kept heads' q, k and v projections run as integer kernels (MatMulIntegerToFloat), computing the
    codes torch's fake-quant does, point by point."""
    from fgir.backends.torch.calibrate import calibrate
    from quant_parity import layerwise_code_agreement, optimized_ops

    dense_network(tmp_path, VIT)
    masks = {"encoder.layers.encoder_layer_0.self_attention": [1, 0, 1, 1],
             "encoder.layers.encoder_layer_1.self_attention": [0, 1, 0, 0]}
    text = with_prune(VIT, masks).replace("[vit, prune]", "[vit, prune, quant]")
    (tmp_path / "pruned.yaml").write_text(text + "  quant: {type: Quant, nbit_w_list: 8, nbit_a_list: 8}\n")
    graph = fgir.compile(tmp_path / "pruned.yaml")
    module = fgir.to_torch(graph).eval()
    x = sample(0)
    calibrate(module, [x])
    model = fgir.to_onnx(graph, weights=module)
    assert optimized_ops(model, tmp_path)["MatMulIntegerToFloat"] == 2 * 3 + 2 * 2   # q, k, v; the MLP's two
    agreement = layerwise_code_agreement(graph, module, model, x.numpy())
    assert len(agreement) == len(graph.meta["quant"]["points"]) and min(agreement.values()) >= 0.999, agreement

"""Quant on ViT and ConvNeXt: convs, linear layers and attention's q, k, v projections run as integer
kernels in ONNX Runtime, computing torch's codes; LayerNorm, GELU, softmax and the rest stay float.

Which layers quantize is read off the op schemas (``quantizable``; ``Trait.WRITES_FLOAT`` for a linear
or attention, whose integer kernel writes float: QGemm / MatMulIntegerToFloat), and the bit lists'
order is the families' conventions (every quantizable layer but the stem and the classifier).  Small
nets of the families' own builders are trained on the digits in the test (a few epochs, ~35 s on one
thread), quantized after training on 8 calibration batches.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch

import fgir
from fgir.backends.torch.calibrate import calibrate
from fgir.blocks import Block, register_block
from fgir.blocks.argtypes import Width
from fgir.blocks.layers import Linear
from fgir.blocks.layers_sequence import MatMul, Transpose
from fgir.data import calibration_batches, load_images, split
from fgir.diagnostics import FgirError
from fgir.ir.ops import OPS
from quant_parity import code_agreement, layerwise_code_agreement, optimized_ops

DIMS = [3, 16, 16]
QUANT = "  quant: {type: Quant, nbit_w_list: 8, nbit_a_list: 8}\n"
NETS = {
    # 2 encoder layers, 2 heads, 17 tokens of 32 (16 patches of 4x4 and the class token), MLP 64
    "vit": "  net: {type: VisionTransformer, image_size: 16, patch_size: 4, num_layers: 2, num_heads: 2, "
           "hidden_dim: 32, mlp_dim: 64, num_class: 10}\n",
    # two stages of one block each (16 and 32 channels), torchvision's layout; a layer scale that trains fast
    "convnext": "  net: {type: ConvNeXt, dims: [16, 32], depths: [1, 1], num_class: 10, layer_scale: 0.1, "
                "stochastic_depth_prob: 0.0}\n",
}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def spec(family: str, quant: str | None = QUANT) -> str:
    modules = "[net, quant]" if quant else "[net]"
    return f"search_space:\n  modules: {modules}\n{NETS[family]}{quant or ''}"


def compiled(text: str, input: str = "3x16x16"):
    return fgir.compile(fgir.loads(text, "s.yaml"), input=input)


def kinds(graph, names) -> collections.Counter:
    return collections.Counter(graph[name].op for name in names)


@pytest.mark.parametrize("family, layers, stem", [
    # per encoder layer: attention (its q, k, v projections) and the MLP's two linears
    ("vit", {"multihead_attention": 2, "linear": 4}, ["conv_proj"]),
    # per block: the depthwise conv and two linears; the downsampling conv
    ("convnext", {"conv2d": 3, "linear": 4}, ["features.0.0"]),
])
def test_convs_linears_and_attention_projections_run_as_integer_kernels_with_torchs_codes(family, layers, stem,
                                                                                          tmp_path):
    graph = compiled(spec(family))
    quant = graph.meta["quant"]
    assert kinds(graph, quant["layers"]) == layers and quant["stem"] == stem
    # the lists are every quantizable layer (by schema) but the stem and the classifier: the rest is float
    quantizable = [n.name for n in graph if OPS[n.op].quantizable]
    assert quantizable[1:-1] == quant["layers"] and graph[quantizable[-1]].meta.get("w_bits") is None
    module = fgir.to_torch(graph, seed=0).eval()
    x = torch.randn(8, *DIMS, generator=torch.Generator().manual_seed(0))
    calibrate(module, [x])
    model = fgir.to_onnx(graph, weights=module)
    ops = optimized_ops(model, tmp_path)
    convs = sum(n.op == "conv2d" for n in graph)
    attention = layers.get("multihead_attention", 0)
    assert (ops["QLinearConv"], ops["Conv"], ops["FusedConv"]) == (convs, 0, 0)
    # each quantized linear and each q, k, v projection: an int8 x uint8 product with float output
    assert ops["MatMulIntegerToFloat"] == layers["linear"] + 3 * attention
    # float: attention's output projection (its input is inside the fused attention op) and the head
    assert (ops["MatMul"], ops["Gemm"]) == (attention, 1)
    assert ops["LayerNormalization"] + ops["SkipLayerNormalization"] == sum(n.op == "layer_norm" for n in graph)
    agreement = layerwise_code_agreement(graph, module, model, x.numpy())
    assert len(agreement) == len(quant["points"]) and min(agreement.values()) >= 0.999, agreement


def _trained(family: str, epochs: int) -> dict[str, torch.Tensor]:
    """The float net trained on the digits' training split (AdamW, batches of 32): its state_dict."""
    graph = compiled(spec(family, quant=None))
    module = fgir.to_torch(graph, seed=0)
    train = split(load_images("digits", DIMS), 0.2)[0]
    optimizer = torch.optim.AdamW(module.parameters(), lr=3e-3)
    order = torch.Generator().manual_seed(0)
    module.train()
    for _ in range(epochs):
        perm = torch.randperm(len(train.x), generator=order)
        for i in range(0, len(perm), 32):
            batch = perm[i:i + 32]
            loss = torch.nn.functional.cross_entropy(module(train.x[batch]), train.y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return module.state_dict()


@pytest.mark.parametrize("family, epochs", [("vit", 8), ("convnext", 6)])
def test_a_trained_quantized_family_net_picks_the_same_class_in_torch_and_onnx_runtime(family, epochs):
    weights = _trained(family, epochs)
    graph = compiled(spec(family))
    module = fgir.to_torch(graph, seed=0)
    missing, unexpected = module.load_state_dict(weights, strict=False)
    assert unexpected == [] and all(key.endswith((".alpha", ".low", ".high")) for key in missing)
    calibrate(module, calibration_batches("digits", DIMS, 8))
    module.eval()
    held = split(load_images("digits", DIMS), 0.2)[1]
    model = fgir.to_onnx(graph, weights=module)
    agreement, want, got = code_agreement(graph, module, model, held.x.numpy())
    assert len(held.x) == 359
    assert (want.argmax(1) == held.y.numpy()).mean() >= 0.85     # it learned the digits, and kept them quantized
    assert min(agreement.values()) >= 0.999, agreement            # end to end: every point's codes
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.99


@register_block(replace=True)
class _QuantScores(Block):
    """q(x) @ k(x)ᵀ: a matmul of two activations, written out."""

    def constructor(self, dim: Width):
        self.q = Linear(dim, dim)
        self.k = Linear(dim, dim)
        self.t = Transpose(1, 2)
        self.mm = MatMul()

    def forward(self, x):
        return self.mm(self.q(x), self.t(self.k(x)))


def test_a_matmul_of_two_activations_quantizes_its_inputs_and_runs_as_qlinearmatmul(tmp_path):
    graph = compiled(f"search_space:\n  modules: [scores, quant]\n  scores: {{type: _QuantScores, dim: 16}}\n{QUANT}",
                     "10x16")
    # a matmul's inputs and output are points (its schema's quant role); the generic family lists no layers
    assert graph.meta["quant"]["points"] == ["q.quant", "t.quant", "mm.quant"]
    module = fgir.to_torch(graph, seed=0).eval()
    x = torch.randn(8, 10, 16, generator=torch.Generator().manual_seed(0))
    calibrate(module, [x])
    model = fgir.to_onnx(graph, weights=module)
    assert optimized_ops(model, tmp_path)["QLinearMatMul"] == 1
    agreement, want, got = code_agreement(graph, module, model, x.numpy())
    assert min(agreement.values()) >= 0.999 and np.abs(want - got).max() <= 1e-5


def test_a_bit_list_of_the_wrong_length_names_the_layers():
    text = spec("vit", "  quant: {type: Quant, nbit_w_list: [8, 8], nbit_a_list: 8}\n")
    with pytest.raises(FgirError) as info:
        compiled(text)
    [problem] = info.value.diagnostics
    assert str(problem).splitlines()[0] == ("s.yaml:4:37: error: quant.nbit_w_list: 2 bit widths for 6 quantizable "
                                            "layers")
    assert problem.message == "2 bit widths for 6 quantizable layers"
    assert "(the patch projection and the head are not in the lists)" in problem.hint


# -- RegNet, ShuffleNetV2, LR-ASPP: every conv an integer kernel, every point torch's codes --------------------
# (BN statistics randomized: fresh ones make degenerate ranges.  A squeeze-excitation point holds only N x C
# values, so one code flipped by float rounding at a .5 tie is 0.5% of it: at 3x32x32 with these seeds,
# RegNet's block4-0 SE gives 207 of 208; at 3x64x64 every point agrees >= 99.9%.)
CNN_NETS = {
    "regnet": "  net: {type: RegNet, variant: y_400mf, num_class: 10}\n",
    "shufflenet": "  net: {type: ShuffleNetV2, width: 0.5, num_class: 10}\n",   # real split, shuffle, concat
    "lraspp": "  net: {type: LRASPP, backbone: mobilenet_v3_large, num_class: 4}\n",   # two taps, upsampling
}


@pytest.mark.parametrize("family, integer_ops", [
    ("regnet", {"QLinearAdd": 16, "QLinearGlobalAveragePool": 17}),   # residual adds; SE squeezes and the head's
    ("shufflenet", {"QLinearConcat": 16}),                             # each unit's two halves joined
    ("lraspp", {"QLinearAdd": 11}),
])
def test_every_conv_of_regnet_shufflenet_and_lraspp_runs_as_an_integer_kernel_with_torchs_codes(
        family, integer_ops, tmp_path):
    from fgir.testing.weights import randomize_batch_norm

    graph = compiled(f"search_space:\n  modules: [net, quant]\n{CNN_NETS[family]}{QUANT}", "3x64x64")
    module = randomize_batch_norm(fgir.to_torch(graph, seed=0), 1).eval()
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    calibrate(module, [x])
    model = fgir.to_onnx(graph, weights=module)
    ops = optimized_ops(model, tmp_path)
    convs = sum(n.op == "conv2d" for n in graph)
    assert (ops["QLinearConv"], ops["Conv"], ops["FusedConv"]) == (convs, 0, 0)
    assert {op: ops[op] for op in integer_ops} == integer_ops
    agreement = layerwise_code_agreement(graph, module, model, x.numpy())
    untied = [p for p in graph.meta["quant"]["points"] if graph[p].attrs["tie"] is None]
    assert len(agreement) == len(untied) and min(agreement.values()) >= 0.999, agreement

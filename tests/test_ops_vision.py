"""The vision ops: each layer compiles from a spec, equals its torch.nn module with the same weights, and
ONNX Runtime equals torch; mistakes are located diagnostics naming the types.

Tolerance 1e-5 everywhere (float32 ops that sum over at most a few hundred values).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

import fgir
from fgir.diagnostics import FgirError
from fgir.ir.ops import OPS
from fgir.ir.ops.channel_rules import COUPLED, GROUPED_LOCKED, PASS, PRODUCE
from fgir.ir.types import TensorType

TOL = 1e-5


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def spec(layer: str) -> str:
    return f"search_space:\n  modules: [a]\n  a: {layer}\n"


def compiled(layer: str, input: str) -> fgir.Graph:
    return fgir.compile(fgir.loads(spec(layer), "spec.yaml"), input=input)


def errors(layer: str, input: str) -> list[str]:
    with pytest.raises(FgirError) as info:
        compiled(layer, input)
    return [str(d) for d in info.value.diagnostics]


def run_ort(model, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


class LayerNorm2dReference(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d, verbatim (torchvision is not a dependency)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ZeroReference(nn.Module):
    """DARTS's Zero (operations.py)."""

    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride == 1:
            return x.mul(0.)
        return x[:, :, ::self.stride, ::self.stride].mul(0.)


# (layer in the spec, input, the torch module it must equal)
CASES = [
    ("{type: LayerNorm, normalized_shape: 16}", "10x16", lambda: nn.LayerNorm(16)),
    ("{type: LayerNorm, bias: false, eps: 0.001}", "10x16", lambda: nn.LayerNorm(16, eps=1e-3, bias=False)),
    ("{type: LayerNorm, elementwise_affine: false}", "16", lambda: nn.LayerNorm(16, elementwise_affine=False)),
    ("{type: LayerNorm2d, num_channels: 16}", "16x8x8", lambda: LayerNorm2dReference(16, eps=1e-6)),
    ("{type: GroupNorm, num_groups: 4, num_channels: 16}", "16x8x8", lambda: nn.GroupNorm(4, 16)),
    ("{type: GroupNorm, num_groups: 2, affine: false}", "16x5x3", lambda: nn.GroupNorm(2, 16, affine=False)),
    ("{type: GELU}", "16x8x8", lambda: nn.GELU()),
    ("{type: GELU, approximate: tanh}", "10x16", lambda: nn.GELU(approximate="tanh")),
    ("{type: Softmax, dim: 1}", "16x8x8", lambda: nn.Softmax(1)),
    ("{type: Softmax, dim: -1}", "10x16", lambda: nn.Softmax(-1)),
    ("{type: Softmax, dim: 1}", "10x16", lambda: nn.Softmax(1)),
    ("{type: Upsample, scale_factor: 2}", "16x8x8", lambda: nn.Upsample(scale_factor=2)),
    ("{type: Upsample, scale_factor: [1.5, 2]}", "16x7x7", lambda: nn.Upsample(scale_factor=(1.5, 2.0))),
    ("{type: Upsample, size: [13, 5]}", "16x7x7", lambda: nn.Upsample(size=(13, 5))),
    ("{type: Upsample, scale_factor: 2, mode: bilinear, align_corners: false}", "16x7x7",
     lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)),
    # LRASPP's upsampling: bilinear to an explicit size
    ("{type: Interpolate, size: [13, 9], mode: bilinear}", "16x7x7",
     lambda: nn.Upsample(size=(13, 9), mode="bilinear")),
    ("{type: Upsample, size: 1, mode: bilinear}", "16x7x7", lambda: nn.Upsample(size=1, mode="bilinear")),
    ("{type: Upsample, size: [13, 9], mode: bilinear, align_corners: true}", "16x7x7",
     lambda: nn.Upsample(size=(13, 9), mode="bilinear", align_corners=True)),
    ("{type: ConvTranspose2d, in_channels: 16, out_channels: 8, kernel_size: 3, stride: 2, padding: 1, "
     "output_padding: 1}", "16x7x7", lambda: nn.ConvTranspose2d(16, 8, 3, 2, 1, 1)),
    ("{type: ConvTranspose2d, out_channels: 8, kernel_size: [2, 3], stride: 2, groups: 4, bias: false, "
     "dilation: 2}", "16x5x5", lambda: nn.ConvTranspose2d(16, 8, (2, 3), 2, groups=4, bias=False, dilation=2)),
    ("{type: ZeroPad2d, padding: [1, 2, 3, 0]}", "16x7x7", lambda: nn.ZeroPad2d((1, 2, 3, 0))),
    ("{type: ConstantPad2d, padding: 1, value: -2.5}", "16x7x7", lambda: nn.ConstantPad2d(1, -2.5)),
    ("{type: Zero}", "16x7x7", lambda: ZeroReference(1)),
    ("{type: Zero, stride: 2}", "16x7x7", lambda: ZeroReference(2)),
    ("{type: AvgPool2d, kernel_size: 3, stride: 2, padding: 1, count_include_pad: false}", "16x7x7",
     lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
    ("{type: AvgPool2d, kernel_size: 3, stride: 2, padding: 1}", "16x7x7", lambda: nn.AvgPool2d(3, 2, 1)),
    # a dilated convolution (DARTS's dil_conv_3x3): the receptive field of a 5x5 at a 3x3's weights
    ("{type: Conv2d, out_channels: 8, kernel_size: 3, padding: 2, dilation: 2}", "16x8x8",
     lambda: nn.Conv2d(16, 8, 3, padding=2, dilation=2)),
]


@pytest.mark.parametrize("layer,input,reference", CASES, ids=[f"{c[0]}@{c[1]}" for c in CASES])
def test_layer_equals_torch_module_and_onnx_runtime(layer, input, reference):
    graph = compiled(layer, input)
    module = fgir.to_torch(graph, seed=0).eval()
    ref = reference().eval()
    # the same tensors under the same names (fgir's are the node's scope: 'a.weight')
    state = {k.removeprefix("a."): v for k, v in module.state_dict().items()}
    ref.load_state_dict(state, strict=True)
    assert sum(p.numel() for p in module.parameters()) == sum(p.numel() for p in ref.parameters())
    assert graph["a"].meta["params"] == sum(p.numel() for p in ref.parameters())
    x = torch.randn(3, *graph.meta["input"], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = ref(x), module(x)
    assert tuple(got.shape[1:]) == graph["a"].type.dims == tuple(want.shape[1:])
    assert (got - want).abs().max().item() <= TOL
    for opset in (17, 21):   # the decompositions (GroupNorm, GELU, Resize sizes) and the single nodes
        onnx_out = run_ort(fgir.to_onnx(graph, weights=module, opset=opset), x.numpy())
        assert onnx_out.shape == want.shape and np.abs(onnx_out - want.numpy()).max() <= TOL, opset


def test_onnx_uses_one_node_where_the_opset_has_it():
    def op_types(layer, input, opset):
        graph = compiled(layer, input)
        model = fgir.to_onnx(graph, weights=fgir.to_torch(graph, seed=0), opset=opset)
        return [n.op_type for n in model.graph.node]

    assert op_types("{type: GroupNorm, num_groups: 4}", "16x4x4", 21) == ["GroupNormalization"]
    assert op_types("{type: GroupNorm, num_groups: 4}", "16x4x4", 17) == [
        "Reshape", "InstanceNormalization", "Reshape", "Mul", "Add"]
    assert op_types("{type: GELU}", "16x4x4", 21) == ["Gelu"]
    assert "Erf" in op_types("{type: GELU}", "16x4x4", 17)
    assert op_types("{type: LayerNorm2d}", "16x4x4", 17) == ["Transpose", "LayerNormalization", "Transpose"]
    assert op_types("{type: LayerNorm}", "10x16", 17) == ["LayerNormalization"]


def test_schema_facts_weights_macs_and_channel_rules():
    graph = compiled("{type: ConvTranspose2d, out_channels: 8, kernel_size: 3, stride: 2, padding: 1}", "16x7x7")
    node = graph["a"]
    weight = OPS["conv_transpose2d"].weights(node.attrs)[0]
    assert (weight.shape, weight.out_axis, weight.in_axis) == ((16, 8, 3, 3), 1, 0)
    assert str(node.type) == "8x13x13" and node.meta["macs"] == 16 * 8 * 3 * 3 * 7 * 7
    assert OPS["conv_transpose2d"].channel_rule(node.attrs) is PRODUCE
    assert OPS["conv_transpose2d"].channel_rule({**node.attrs, "groups": 2}) is GROUPED_LOCKED
    for op in ("layer_norm", "group_norm", "softmax"):
        assert OPS[op].channel_rule({}) is COUPLED
    for op in ("gelu", "zero", "pad", "upsample"):
        assert OPS[op].channel_rule({}) is PASS
    for layer, input in [("{type: LayerNorm2d}", "16x8x8"), ("{type: GELU}", "16x8x8"), ("{type: Zero}", "16x8x8"),
                         ("{type: Upsample, scale_factor: 2}", "16x8x8")]:
        assert compiled(layer, input)["a"].meta["macs"] == 0   # the house counts conv and linear MACs only


def test_layer_norm_prunes_nothing_it_couples():
    from fgir.ir.channel_groups import channel_groups

    spec_text = ("search_space:\n  modules: [conv, norm, conv2]\n"
                 "  conv: {type: Conv2d, out_channels: 8, kernel_size: 1}\n  norm: {type: LayerNorm2d}\n"
                 "  conv2: {type: Conv2d, out_channels: 4, kernel_size: 1}\n")
    groups = channel_groups(fgir.compile(fgir.loads(spec_text), input="3x4x4")).any_by_name()
    conv = groups[next(name for name, g in groups.items() if "conv" in g.producers)]
    assert conv.locked == "'norm' (layer_norm) couples its channels: pruning them would change the values of " \
                          "those kept"


def test_errors_are_located_and_name_both_types():
    assert errors("{type: LayerNorm, normalized_shape: 32}", "10x16") == [
        "spec.yaml:3:42: error: a.normalized_shape: layer_norm 'a' normalizes 32 features but receives a token "
        "sequence 10x16 (LxD) of 16"]
    assert errors("{type: Upsample, scale_factor: 2}", "16") == [
        "spec.yaml:3:6: error: a: upsample 'a' needs a CxHxW input but gets a flattened 16"]
    assert errors("{type: LayerNorm}", "16x4x4") == [
        "spec.yaml:3:6: error: a: layer_norm 'a' normalizes the last dim (LayerNorm), the width of an image "
        "16x4x4 (CxHxW); use LayerNorm2d to normalize an image's channels"]
    assert errors("{type: LayerNorm2d}", "10x16") == [
        "spec.yaml:3:6: error: a: layer_norm 'a' normalizes the channels of a CxHxW image (LayerNorm2d) but gets "
        "a token sequence 10x16 (LxD); use LayerNorm to normalize its last dim"]
    assert errors("{type: Softmax, dim: 0}", "16x4x4") == [
        "spec.yaml:3:27: error: a.dim: softmax 'a' takes dim 0, the batch dim: a softmax over the samples of a "
        "batch mixes them; give a dim of an image 16x4x4 (CxHxW), counting the batch dim as 0"]
    assert errors("{type: Softmax, dim: 3}", "10x16") == [
        "spec.yaml:3:27: error: a.dim: softmax 'a' takes dim 3, out of range for a token sequence 10x16 (LxD) "
        "with its batch dim (rank 3: -3 to 2)"]
    assert errors("{type: GroupNorm, num_groups: 3}", "16x4x4") == [
        "spec.yaml:3:36: error: a.num_groups: group_norm 'a' splits 16 channels into 3 groups: 16 is not "
        "divisible by 3"]
    assert errors("{type: GroupNorm, num_groups: 2, num_channels: 8}", "16x4x4") == [
        "spec.yaml:3:53: error: a.num_channels: group_norm 'a' expects 8 channels but receives an image 16x4x4 "
        "(CxHxW)"]
    assert errors("{type: Upsample, size: 4, scale_factor: 2}", "16x4x4") == [
        "spec.yaml:3:29: error: a.size: upsample 'a' needs either size or scale_factor (one of the two), as "
        "torch's Upsample"]
    assert errors("{type: Upsample}", "16x4x4") == [
        "spec.yaml:3:6: error: a: upsample 'a' needs either size or scale_factor (one of the two), as torch's "
        "Upsample"]
    assert errors("{type: Upsample, scale_factor: 2, align_corners: true}", "16x4x4") == [
        # a boolean carries no location of its own: the layer's line
        "spec.yaml:3:6: error: a: upsample 'a' align_corners applies to mode 'bilinear' only; "
        "leave it out for 'nearest'"]
    assert errors("{type: ZeroPad2d, padding: [1, 2]}", "16x4x4") == [
        "spec.yaml:3:33: error: a.padding: expected an integer ≥ 0 or [left, right, top, bottom] of them, "
        "got 2 values"]
    assert errors("{type: Upsample, scale_factor: -2}", "16x4x4") == [
        "spec.yaml:3:37: error: a.scale_factor: expected a positive number or [height, width] of them, or null, "
        "got -2"]
    assert errors("{type: ConvTranspose2d, out_channels: 4, kernel_size: 3, stride: 2, output_padding: 2}",
                  "16x4x4") == [
        "spec.yaml:3:90: error: a.output_padding: conv_transpose2d 'a' output_padding 2 must be smaller than "
        "the stride 2 or the dilation 1"]
    assert errors("{type: Zero, stride: 2}", "10x16") == [
        "spec.yaml:3:27: error: a.stride: zero 'a' strides a CxHxW image but gets a token sequence 10x16 (LxD)"]


def test_avg_pool_count_include_pad_is_an_attribute_with_torchs_default():
    assert compiled("{type: AvgPool2d, kernel_size: 2}", "4x4x4")["a"].attrs["count_include_pad"] is True
    assert OPS["avg_pool2d"].complete({"kernel_size": [2, 2], "stride": [2, 2]})["count_include_pad"] is True


def test_labels():
    label = OPS["upsample"].label({"size": None, "scale_factor": [2.0, 2.0], "mode": "bilinear"})
    assert label == "upsample bilinear *2"
    assert OPS["gelu"].label({"approximate": "tanh"}) == "gelu tanh"
    assert OPS["zero"].label({"stride": 2}) == "zero /2"
    assert OPS["layer_norm"].check(OPS["layer_norm"].complete({"normalized_shape": 8}), [TensorType(8, 2, 2)]) == []

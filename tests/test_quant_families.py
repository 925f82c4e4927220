"""Quant on every family: ONNX Runtime runs each conv as an integer kernel, computing torch's codes.

The families' examples with an 8-bit Quant process appended; parity is per quantization point,
fed torch's codes of the points before it (an end-to-end comparison on a deep random network
only measures how far one rounding tie cascades).  A small MobileNetV2-style network trained on the digits
shows the end-to-end figure that matters: torch and ONNX Runtime pick the same class.
"""

from __future__ import annotations

import re

import pytest
import torch

import fgir
from conftest import EXAMPLES
from fgir.backends.torch.calibrate import calibrate
from fgir.data import calibration_batches, load_images, split
from fgir.testing.weights import randomize_batch_norm
from fgir.backends.torch.checkpoint import load_weights
from quant_parity import layerwise_code_agreement, optimized_ops, session

FAMILIES = ["mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "densenet121", "resnext50_32x4d"]


def with_quant(text: str, bits: int = 8) -> str:
    """A one-network spec's text with a Quant process after its network."""
    modules = re.search(r"^( *)modules: \[(.*)\]$", text, re.M)
    indent, names = modules.groups()
    return (text.replace(modules.group(0), f"{indent}modules: [{names}, quant]")
            + f"\n{indent}quant: {{type: Quant, nbit_w_list: {bits}, nbit_a_list: {bits}}}\n")


@pytest.mark.parametrize("family", FAMILIES)
def test_every_conv_of_a_quantized_family_runs_as_an_integer_kernel_with_torchs_codes(family, tmp_path):
    graph = fgir.compile(fgir.loads(with_quant((EXAMPLES / f"{family}.yaml").read_text())), input="3x32x32")
    module = randomize_batch_norm(fgir.to_torch(graph, seed=0), 1).eval()
    x = torch.randn(4, 3, 32, 32)
    calibrate(module, [x])
    model = fgir.to_onnx(graph, weights=module)
    ops = optimized_ops(model, tmp_path)
    convs = sum(graph[name].op == "conv2d" for name in graph.nodes)
    assert (ops["QLinearConv"], ops["Conv"], ops["FusedConv"]) == (convs, 0, 0)
    if family == "densenet121":     # each dense layer's input is a concatenation of codes
        assert ops["QLinearConcat"] == 58
    agreement = layerwise_code_agreement(graph, module, model, x.numpy(), limit=8)
    assert len(agreement) == 8 and min(agreement.values()) >= 0.999, agreement


TINY_MOBILENET = """\
search_space:
  modules: [stem, stage1, stage2, stage3, last, pooling, view, linear]
  stem: {type: ConvBNActivation, in_channels: 3, out_channels: 16, stride: 1, activation: ReLU6}
  stage1: {type: InvertedResidualStage, in_channels: 16, out_channels: 16, depth: 1, stride: 1, expand_ratio: 1}
  stage2: {type: InvertedResidualStage, in_channels: 16, out_channels: 24, depth: 2, stride: 2, expand_ratio: 4}
  stage3: {type: InvertedResidualStage, in_channels: 24, out_channels: 32, depth: 2, stride: 2, expand_ratio: 4}
  last: {type: ConvBNActivation, in_channels: 32, out_channels: 64, kernel_size: 1, activation: ReLU6}
  pooling: {type: AdaptiveAvgPool2d, output_size: 1}
  view: {type: View}
  linear: {type: Linear, out_features: 10}
"""


def test_a_trained_quantized_mobilenet_picks_the_same_class_in_torch_and_onnx_runtime(tmp_path):
    """A MobileNetV2-style network (depthwise convs, linear bottlenecks, ReLU6; 29,706 parameters)
    trained 3 epochs on the digits, quantized after training on 8 calibration batches."""
    dims = [3, 16, 16]
    fgir.train(fgir.compile(fgir.loads(TINY_MOBILENET), input="3x16x16"), tmp_path / "float.pt", data="digits",
               epochs=3, lr=0.05, batch_size=32, seed=0, progress=None)
    graph = fgir.compile(fgir.loads(with_quant(TINY_MOBILENET)), input="3x16x16")
    module = fgir.to_torch(graph, seed=0)
    assert load_weights(module, tmp_path / "float.pt")     # float weights in: the ranges are to calibrate
    calibrate(module, calibration_batches("digits", dims, 8))
    module.eval()
    images = split(load_images("digits", dims), 0.2)[1]    # fgir train's held-out images
    with torch.no_grad():
        want = module(images.x).argmax(1).numpy()
    got = session(fgir.to_onnx(graph, weights=module)).run(None, {"input": images.x.numpy()})[0].argmax(1)
    assert len(images.x) == 359
    assert (want == images.y.numpy()).mean() >= 0.9        # it learned the digits, and kept them quantized
    assert (got == want).mean() >= 0.99

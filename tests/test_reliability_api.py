"""The Python API's arguments: a wrong one is an FgirError naming the function and the argument.

Each was an InternalError from a pass, a ValueError, a TypeError from deep inside, or (for
``dump_after="infer_shapes"``) the pass name split into letters.
"""

from __future__ import annotations

import io

import pytest
import torch

import fgir
from conftest import EXAMPLES

R20 = EXAMPLES / "resnet20_cifar.yaml"
QUANT = EXAMPLES / "quant_resnet20.yaml"


def refusal(call) -> str:
    with pytest.raises(fgir.FgirError) as info:
        call()
    assert type(info.value).__name__ == "ArgumentError"   # fgir.diagnostics.ArgumentError: exit 2 in the CLI
    return str(info.value)


def test_an_input_of_two_dimensions_is_a_sequence_and_a_conv_net_refuses_it_at_its_line():
    with pytest.raises(fgir.FgirError) as info:
        fgir.compile(R20, input="64x64")
    assert str(info.value) == (f"{R20}:6:5: error: resnet: conv2d 'conv1' needs a CxHxW input but gets a token "
                               "sequence 64x64 (LxD)")
    assert refusal(lambda: fgir.compile(R20, input="3x0x32")) == \
        "fgir.compile: error: input: expected positive CxHxW such as 3x32x32, got '3x0x32'"


def test_an_input_tuple_is_accepted():
    assert fgir.compile(R20, input=(3, 64, 64)).meta["input"] == [3, 64, 64]
    assert refusal(lambda: fgir.compile(R20, input=(3, 0))) == \
        ("fgir.compile: error: input: expected CxHxW such as 3x32x32, LxD such as 197x768 (or a tuple (3, 32, 32)), "
         "got (3, 0)")


def test_an_opset_fgir_cannot_emit_is_an_fgir_error_and_still_a_value_error():
    with pytest.raises(ValueError):
        fgir.to_onnx(R20, None, seed=0, opset=16)
    assert refusal(lambda: fgir.to_onnx(R20, None, seed=0, opset=16)).startswith(
        "fgir.to_onnx: error: opset: opset 16 is not supported: fgir emits opsets 17 to ")


def test_dump_after_one_pass_name_is_that_pass():
    out = io.StringIO()
    fgir.compile(R20, dump_after="infer_shapes", dump_to=out)
    assert out.getvalue().startswith("// IR after infer_shapes\n%input = input() : 3x32x32")
    assert out.getvalue().count("// IR after") == 1


def test_to_torch_and_to_onnx_take_input():
    model = fgir.to_torch(R20, input="3x64x64", seed=0)
    assert model.fgir_input == [3, 64, 64]
    proto = fgir.to_onnx(R20, None, input=(3, 48, 48), seed=0)
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim[1:]]
    assert dims == [3, 48, 48]
    compiled = fgir.compile(R20)
    assert refusal(lambda: fgir.to_torch(compiled, input="3x64x64")) == (
        "fgir.to_torch: error: input: the graph is compiled for input 3x32x32, not 3x64x64\n"
        "fgir.to_torch: note: pass the spec (or fgir.compile(spec, input=...)) for another input")


def test_yaml_text_on_one_line_is_text_not_a_file_name():
    graph = fgir.compile("search_space: {modules: [net], net: {type: ResNet, depth: 20}}")
    assert graph.meta["params"] == 272_474
    assert graph.meta["spec"]["file"] == "<string>"


def test_calibration_batches_of_the_wrong_shape_are_an_fgir_error():
    weights = fgir.to_torch(R20, seed=0)
    assert refusal(lambda: fgir.to_onnx(QUANT, None, weights=weights, calibrate=[torch.rand(2, 1, 32, 32)])) == \
        "fgir.to_onnx: error: calibrate[0]: a batch of shape 2x1x32x32; the network takes Nx3x32x32"
    assert refusal(lambda: fgir.to_onnx(QUANT, None, weights=weights,
                                        calibrate=[torch.rand(2, 3, 32, 32), torch.rand(2, 3, 16, 17)])) == \
        "fgir.to_onnx: error: calibrate[1]: a batch of shape 2x3x16x17; the network takes Nx3x32x32"


def test_calibrating_a_network_without_quant_is_an_error():
    assert refusal(lambda: fgir.to_onnx(R20, None, seed=0, calibrate=[torch.rand(2, 3, 32, 32)])) == (
        "fgir.to_onnx: error: calibrate: the network quantizes no activations: there is no range to calibrate\n"
        "fgir.to_onnx: note: calibrate= applies to a spec with a Quant process")


@pytest.mark.parametrize("call,message", [
    (lambda: fgir.compile(5), "fgir.compile: error: spec: expected a spec file's path, spec text or a Graph, got int"),
    (lambda: fgir.loads(b"search_space: {}"), "fgir.loads: error: text: expected a string, got bytes"),
    (lambda: fgir.compile(R20, passes=[print]),
     "fgir.compile: error: passes: expected a list of passes (fgir.passes.Pass, @graph_pass functions), got list"),
    (lambda: fgir.compile(R20, dump_after="infer_shapes", dump_to=5),
     "fgir.compile: error: dump_to: expected a text stream (sys.stderr, a file) or None, got int"),
    (lambda: fgir.to_torch(R20, seed=10 ** 30),
     "fgir.to_torch: error: seed: expected a whole number from 0 to 2**63 - 1, got "
     "1000000000000000000000000000000"),
    (lambda: fgir.to_onnx(R20, None, seed=0, form="tiny"),
     "fgir.to_onnx: error: form: expected one of integer, storage, got 'tiny'"),
    (lambda: fgir.to_onnx(R20, None, weights=3.5), "fgir.to_onnx: error: weights: expected a checkpoint path, a "
                                                   "module, or a mapping of name to array, got float"),
    (lambda: fgir.save_model(torch.nn.Linear(2, 2), "m.pt"),
     "fgir.save_model: error: module: only modules built by fgir.to_torch carry their spec\n"
     "fgir.save_model: note: for any other module: torch.save(module.state_dict(), path)"),
    (lambda: fgir.load_model(None), "fgir.load_model: error: path: expected a file path, got NoneType"),
    (lambda: fgir.register_block(42), "fgir.register_block: error: 42 is not a block: a block subclasses "
                                      "fgir.blocks.Block (or fgir.blocks.Layer for one op)"),
    (lambda: fgir.train(R20, progress=5),
     "fgir.train: error: progress: expected a text stream (sys.stderr, a file) or None, got int"),
    # found by bench/fuzz.py --target api: an empty calibration set, and a run that would never end
    (lambda: fgir.to_onnx(QUANT, None, seed=0, calibrate=[]),
     "fgir.to_onnx: error: calibrate: no batches: give at least one (Nx3x32x32)"),
    (lambda: fgir.prune(R20, 3.5, ratio=0.5),
     "fgir.prune: error: weights: expected a checkpoint path, a state_dict or a module, got float"),
])
def test_wrong_types_are_argument_errors(call, message):
    assert refusal(call) == message


def test_a_training_that_would_never_end_is_refused():   # found by bench/fuzz.py --target api
    with pytest.raises(fgir.FgirError) as exc:
        fgir.train(R20, None, data="digits", epochs=10 ** 30)
    assert str(exc.value) == ("fgir train: error: --epochs: expected at most 1,048,576, "
                              "got 1,000,000,000,000,000,000,000,000,000,000")


def test_an_argument_error_is_still_a_type_error_and_a_value_error():
    with pytest.raises(TypeError):
        fgir.compile(5)
    with pytest.raises(ValueError, match="already registered"):
        @fgir.register_block(name="BasicBlock")
        class Mine(fgir.Block):
            def constructor(self):
                pass


def test_a_dump_to_function_is_called_with_the_pass_and_the_graph():
    seen = []
    fgir.compile(R20, dump_after="infer_shapes", dump_to=lambda name, graph: seen.append((name, len(graph))))
    assert seen == [("infer_shapes", 74)]   # 73 layers and the input
    assert refusal(lambda: fgir.compile(R20, dump_after="infer_shapes", dump_to=lambda: None)) == (
        "fgir.compile: error: dump_to: expected a function taking (pass_name, graph), got function ()")

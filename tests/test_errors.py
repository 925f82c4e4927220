"""Bad input: one clear diagnostic each, with file:line:column, spec path and message."""

import pytest

import fgir
from fgir.diagnostics import FgirError


def errors_of(path, **kwargs) -> list[str]:
    with pytest.raises(FgirError) as info:
        fgir.compile(path, **kwargs)
    return [str(d) for d in info.value.diagnostics]


RESNET20_ITEMS = """
    search_space:
      modules: [resnet]
      resnet:
        type: ResNet
        depth: 20
        num_reps: 9
        items:
          inchannel: {inchannel}
          outchannel: [16, 16, 16, 32, 32, 32, 64, 64, 64]
          stride: {stride}
    """
GOOD_IN = "[16, 16, 16, 16, 32, 32, 32, 64, 64]"
GOOD_STRIDE = "[1, 1, 1, 2, 1, 1, 2, 1, 1]"


def test_list_of_wrong_length_points_at_the_list(write_spec):
    spec = write_spec(RESNET20_ITEMS.format(inchannel=GOOD_IN, stride="[1, 1, 1, 2, 1, 1, 2, 1]"))
    assert errors_of(spec) == [f"{spec}:10:15: error: resnet.items.stride: 8 values for num_reps 9"]


def test_error_names_the_pass(write_spec):
    spec = write_spec(RESNET20_ITEMS.format(inchannel=GOOD_IN, stride="[1, 1]"))
    with pytest.raises(FgirError) as info:
        fgir.compile(spec)
    assert info.value.pass_name == "expand_repeat"
    assert (info.value.file, info.value.line, info.value.column) == (str(spec), 10, 15)
    assert info.value.spec_path == "resnet.items.stride"


def test_channel_mismatches_are_all_reported_at_the_wrong_value(write_spec):
    spec = write_spec(RESNET20_ITEMS.format(inchannel="[16, 16, 16, 16, 30, 32, 32, 64, 48]",
                                            stride=GOOD_STRIDE))
    assert errors_of(spec) == [
        f"{spec}:8:35: error: resnet.items.inchannel[4]: conv2d 'layer2.1.conv1' expects 30 input "
        "channels but receives 32",
        f"{spec}:8:35: error: resnet.items.inchannel[4]: conv2d 'layer2.1.downsample.0' expects 30 "
        "input channels but receives 32",
        f"{spec}:8:51: error: resnet.items.inchannel[8]: conv2d 'layer3.2.conv1' expects 48 input "
        "channels but receives 64",
        f"{spec}:8:51: error: resnet.items.inchannel[8]: conv2d 'layer3.2.downsample.0' expects 48 "
        "input channels but receives 64",
    ]


def test_channel_diagnostics_name_the_ir_node_they_are_about(write_spec):
    spec = write_spec(RESNET20_ITEMS.format(inchannel="[16, 16, 16, 16, 30, 32, 32, 64, 64]",
                                            stride=GOOD_STRIDE))
    with pytest.raises(FgirError) as info:
        fgir.compile(spec)
    assert [d.subject for d in info.value.diagnostics] == ["layer2.1.conv1", "layer2.1.downsample.0"]


def test_residual_add_width_mismatch(write_spec):
    spec = write_spec("""
        search_space:
          modules: [stem, block]
          stem: {type: SmallInputInitialBlock, init_plane: 16}
          block:
            type: Residual
        """)

    from fgir.blocks import BatchNorm2d, Block, Conv2d, register_block

    @register_block(name="Residual", replace=True)
    class Residual(Block):
        def constructor(self):
            self.conv = Conv2d(16, 32, 3, padding=1, bias=False)
            self.bn = BatchNorm2d(32)

        def forward(self, x):
            return self.bn(self.conv(x)) + x

    assert errors_of(spec) == [
        f"{spec}:5:5: error: block: add 'block.add' adds tensors of different shapes: "
        "32x32x32 + 16x32x32"]


def test_unknown_block_type_with_did_you_mean(write_spec):
    spec = write_spec("""
        search_space:
          modules: [net]
          net: {type: ResNt, depth: 18}
        """)
    assert errors_of(spec) == [f"{spec}:3:15: error: net.type: unknown block type 'ResNt'\n"
                               f"{spec}:3:15: note: did you mean 'ResNet'?"]


def test_unknown_and_missing_arguments_and_wrong_types_at_once(write_spec):
    spec = write_spec("""
        search_space:
          modules: [init, layer, head]
          init: {type: SmallInputInitialBlock, init_plane: 32}
          layer:
            type: VariantLayer
            block: {type: BasicBlock}
            in_plane: 32
            out_plne: 512
            doublechannel: [0, 1, 1, 0, 1, 0, 0, 1]
            downsample: [1, 1, 0, 1, 0, 0, 0, x]
          head: {type: LinearClassificationHead, base_channel: 0}
        """)
    assert errors_of(spec) == [
        f"{spec}:5:5: error: layer: VariantLayer needs argument 'out_plane'",
        f"{spec}:8:5: error: layer.out_plne: unknown argument 'out_plne' for VariantLayer\n"
        f"{spec}:8:5: note: did you mean 'out_plane'?",
        f"{spec}:10:39: error: layer.downsample[7]: expected 0 or 1, got 'x'",
        f"{spec}:11:56: error: head.base_channel: expected a positive integer, got 0",
    ]


@pytest.mark.parametrize("value,message", [
    ("-16", "expected a positive integer, got -16"),
    ("0", "expected a positive integer, got 0"),
    ("16.5", "expected a positive integer, got 16.5"),
    ("true", "expected a positive integer, got True"),
    ("'wide'", "expected a positive integer, got 'wide'"),
])
def test_non_positive_or_wrong_type_widths(write_spec, value, message):
    spec = write_spec(f"""
        search_space:
          modules: [init]
          init:
            type: InitialBlock
            init_plane: {value}
        """)
    assert errors_of(spec) == [f"{spec}:5:17: error: init.init_plane: {message}"]


def test_item_key_the_block_does_not_take(write_spec):
    spec = write_spec("""
        search_space:
          modules: [resnet]
          resnet:
            type: ResNet
            depth: 20
            items:
              inchanel: [16, 16, 16, 16, 32, 32, 32, 64, 64]
        """)
    assert errors_of(spec) == [f"{spec}:7:17: error: resnet.items.inchanel: BasicBlock takes no "
                               f"argument 'inchanel'\n{spec}:7:17: note: did you mean 'inchannel'?"]


def test_variant_layer_final_width_must_match_out_plane(write_spec):
    spec = write_spec("""
        search_space:
          modules: [init, layer, head]
          init: {type: SmallInputInitialBlock, init_plane: 32}
          layer:
            type: VariantLayer
            block: {type: BasicBlock}
            in_plane: 32
            out_plane: 256
            doublechannel: [0, 1, 1, 0, 1, 0, 0, 1]
            downsample: [1, 1, 0, 1, 0, 0, 0, 1]
          head: {type: LinearClassificationHead}
        """)
    assert errors_of(spec) == [f"{spec}:8:16: error: layer.out_plane: VariantLayer 'layer' ends "
                               "with 512 channels, but out_plane is 256"]


def test_variant_codes_of_unequal_length(write_spec):
    spec = write_spec("""
        search_space:
          modules: [layer]
          layer:
            type: VariantLayer
            block: {type: BasicBlock}
            in_plane: 32
            out_plane: 64
            doublechannel: [0, 1, 0]
            downsample: [1, 1]
        """)
    assert errors_of(spec) == [f"{spec}:9:17: error: layer.downsample: doublechannel has 3 values "
                               "but downsample has 2; the codes must have equal length"]


def test_head_width_is_checked(write_spec):
    spec = write_spec("""
        search_space:
          modules: [init, layer, head]
          init: {type: SmallInputInitialBlock, init_plane: 32}
          layer:
            type: VariantLayer
            block: {type: BasicBlock}
            in_plane: 32
            out_plane: 64
            doublechannel: [0, 1]
            downsample: [1, 1]
          head: {type: LinearClassificationHead, base_channel: 512}
        """)
    assert errors_of(spec) == [f"{spec}:11:56: error: head.base_channel: linear 'head.linear' "
                               "expects 512 input features but receives 64"]


def test_spatial_collapse_is_reported_where_it_happens(write_spec):
    spec = write_spec("""
        search_space:
          modules: [stem, layer, pool]
          stem: {type: SmallInputInitialBlock}
          layer:
            type: VariantLayer
            block: {type: BasicBlock}
            in_plane: 16
            out_plane: 16
            doublechannel: [0, 0, 0]
            downsample: [1, 1, 1]
          pool: {type: AvgPool2d, kernel_size: 4}
        """)
    assert errors_of(spec, input="3x16x16") == [
        f"{spec}:11:9: error: pool: avg_pool2d 'pool' shrinks its 2x2 input to 0x0: the input is "
        f"too small for this network\n{spec}:11:9: note: give a larger input (--input CxHxW) or "
        "fewer downsampling layers"]


def test_spatial_op_after_flatten(write_spec):
    spec = write_spec("""
        search_space:
          modules: [net, pool]
          net: {type: ResNet, depth: 20}
          pool: {type: AvgPool2d, kernel_size: 8}
        """)
    assert errors_of(spec) == [f"{spec}:4:9: error: pool: avg_pool2d 'pool' needs a CxHxW input "
                               "but gets a flattened 10"]


def test_resnet_out_plane_is_checked(write_spec):
    spec = write_spec("""
        search_space:
          modules: [resnet]
          resnet: {type: ResNet, depth: 20, out_plane: 128}
        """)
    assert errors_of(spec) == [f"{spec}:3:48: error: resnet.out_plane: the last block ends with 64 "
                               "channels, but out_plane is 128"]


def test_bad_resnet_depth(write_spec):
    spec = write_spec("""
        search_space:
          modules: [resnet]
          resnet: {type: ResNet, depth: 19}
        """)
    assert errors_of(spec) == [f"{spec}:3:33: error: resnet.depth: depth 19 is not a ResNet depth: "
                               "expected 18, 34, 50, 101, 152, or 6n+2 for CIFAR (20, 32, 44, 56, 110)"]


def test_module_listed_but_not_defined(write_spec):
    spec = write_spec("""
        search_space:
          modules: [init, haed]
          init: {type: InitialBlock}
          head: {type: LinearClassificationHead}
        """)
    assert errors_of(spec) == [f"{spec}:2:19: error: modules[1]: module 'haed' is listed but not "
                               f"defined\n{spec}:2:19: note: did you mean 'head'?",
                               f"{spec}:4:3: warning: head: module 'head' is defined but not listed "
                               "in 'modules'"]


@pytest.mark.parametrize("process,message", [
    ("{type: Quant, nbit_w_list: 9, nbit_a_list: 8}",
     "process.nbit_w_list: bit width must be 1 to 8, or 32 for float; got 9"),
    ("{type: Prune, chn_node_mask: [[1, 2]], chn_mask: [[1]]}",
     "process.chn_node_mask[0][1]: expected 0 or 1, got 2"),
])
def test_process_arguments_are_validated(write_spec, process, message):
    spec = write_spec(f"""
        search_space:
          modules: [resnet, process]
          resnet: {{type: ResNet, depth: 20}}
          process: {process}
        """)
    errors = errors_of(spec)
    assert len(errors) == 1 and errors[0].endswith(f"error: {message}")


def test_process_with_nothing_before_it(write_spec):
    spec = write_spec("""
        search_space:
          modules: [process, resnet]
          process: {type: Quant, nbit_w_list: 8, nbit_a_list: 8}
          resnet: {type: ResNet, depth: 20}
        """)
    assert errors_of(spec) == [
        f"{spec}:3:19: error: process.type: Quant has no network before it to apply to",
        f"{spec}:4:18: error: resnet.type: layer module 'resnet' comes after a process; processes "
        "transform the network built before them"]


def test_linear_needs_a_flat_input(write_spec):
    spec = write_spec("""
        search_space:
          modules: [stem, fc]
          stem: {type: SmallInputInitialBlock}
          fc: {type: Linear, out_features: 10}
        """)
    assert errors_of(spec) == [f"{spec}:4:7: error: fc: linear 'fc' needs a flattened input but gets "
                               "16x32x32; add a View or Flatten before it"]


def test_pool_padding_above_half_the_kernel(write_spec):
    spec = write_spec("""
        search_space:
          modules: [stem, pool]
          stem: {type: SmallInputInitialBlock}
          pool: {type: MaxPool2d, kernel_size: 3, padding: 2}
        """)
    assert errors_of(spec) == [f"{spec}:4:52: error: pool.padding: max_pool2d 'pool' pads by 2, more "
                               "than half its kernel 3"]

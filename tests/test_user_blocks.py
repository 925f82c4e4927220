"""User blocks written the guide's way, and the guide's VariantLayer snippet's bug."""

import pytest

import fgir
from fgir.blocks import BinaryCode, Block, BlockSpec, Repeat, Width, register_block
from fgir.diagnostics import FgirError

GUIDE_SPEC = """\
search_space:
        type: FineGrainedSpace
        modules: ['init', 'layer', 'head']
        init:
            type: SmallInputInitialBlock
            init_plane: 32
        layer:
            type: GuideVariantLayer
            block:
                type: BasicBlock
            in_plane: 32
            out_plane: 512
            doublechannel: [0, 1, 1, 0, 1, 0, 0, 1]
            downsample : [1, 1, 0, 1, 0, 0, 0, 1]
            expansion: 1
        head:
            type: LinearClassificationHead
            base_channel: 512
            num_class: 10
"""


@register_block(replace=True)
class GuideVariantLayer(Block):
    """The guide's section 3.1 snippet, verbatim but for the type hints and the width check."""

    def constructor(self, in_plane: Width, out_plane: Width, doublechannel: BinaryCode,
                    downsample: BinaryCode, expansion: Width, block: BlockSpec, groups: Width = 1,
                    base_width: Width = 64):
        target = out_plane
        items = {}
        inchannel = []
        outchannel = []
        stride = []
        num_reps = len(doublechannel)
        for i in range(num_reps):
            inchannel.append(in_plane)
            out_plane = out_plane if doublechannel[i] == 0 else out_plane * 2
            outchannel.append(out_plane)
            in_plane = out_plane * expansion
            if downsample[i] == 0:
                stride.append(1)
            else:
                stride.append(2)
        items['inchannel'] = inchannel
        items['outchannel'] = outchannel
        items['stride'] = stride
        items['groups'] = [groups] * num_reps
        items['base_width'] = [base_width] * num_reps
        self.repeat = Repeat(num_reps=num_reps, items=items, ref=block)
        self.expect_channels(target, target, "out_plane", f"out_plane is {target}")


def test_guide_snippet_grows_512_to_8192_and_is_rejected():
    with pytest.raises(FgirError) as info:
        fgir.compile(fgir.loads(GUIDE_SPEC, "guide.yaml"))
    assert [str(d) for d in info.value.diagnostics] == [
        "guide.yaml:12:24: error: layer.out_plane: GuideVariantLayer 'layer' ends with 8192 channels, "
        "but out_plane is 512",
        "guide.yaml:18:27: error: head.base_channel: linear 'head.linear' expects 512 input features "
        "but receives 8192",
    ]


def test_the_builtin_variant_layer_builds_the_same_spec_correctly():
    graph = fgir.compile(fgir.loads(GUIDE_SPEC.replace("GuideVariantLayer", "VariantLayer")))
    assert graph["head.linear"].attrs["in_features"] == 512


def test_user_block_signature_comes_from_its_constructor():
    sig = GuideVariantLayer.signature()
    assert list(sig) == ["in_plane", "out_plane", "doublechannel", "downsample", "expansion", "block",
                         "groups", "base_width"]
    assert sig["groups"].default == 1 and sig["in_plane"].required


def test_registering_a_taken_name_needs_replace():
    with pytest.raises(ValueError, match="already registered"):
        @register_block(name="BasicBlock")
        class Mine(Block):
            def constructor(self):
                pass

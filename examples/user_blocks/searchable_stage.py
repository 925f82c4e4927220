"""A user block written the way the guide's section 3.1 writes VariantLayer.

The constructor's arguments are what a search algorithm may change; the block
builds itself from Repeat.  Register it, then use ``type: SearchableStage`` in a
spec; from the command line, load it with ``--plugin``:

    fgir summary --plugin examples/user_blocks/searchable_stage.py examples/user_block.yaml
"""

from fgir.blocks import BinaryCode, Block, BlockSpec, Repeat, Width, register_block


@register_block
class SearchableStage(Block):
    """Blocks that double their width where ``doublechannel`` is 1 and downsample where ``downsample`` is 1."""

    def constructor(self, in_plane: Width, out_plane: Width, doublechannel: BinaryCode,
                    downsample: BinaryCode, expansion: Width, block: BlockSpec,
                    groups: Width = 1, base_width: Width = 64):
        items = {}
        inchannel = []
        outchannel = []
        stride = []
        num_reps = len(doublechannel)
        width = in_plane                       # the guide's snippet starts from out_plane: a bug
        for i in range(num_reps):
            inchannel.append(in_plane)
            width = width if doublechannel[i] == 0 else width * 2
            outchannel.append(width)
            in_plane = width * expansion
            stride.append(1 if downsample[i] == 0 else 2)
        items['inchannel'] = inchannel
        items['outchannel'] = outchannel
        items['stride'] = stride
        self.repeat = Repeat(num_reps=num_reps, items=items, ref=block)
        self.expect_channels(out_plane * expansion, out_plane, "out_plane", f"out_plane is {out_plane}")

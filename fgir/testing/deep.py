"""The deep specs that measure how compile time grows: ``stages`` BasicLayers of ``depth`` blocks each.

16 stages of 1,024 blocks is the largest network the documented bounds allow (114,692 nodes).

Example:
    >>> import fgir
    >>> len(fgir.compile(fgir.loads(deep_spec(2, 4), "deep.yaml"), input="3x8x8"))
    60
"""

from __future__ import annotations


def deep_spec(stages: int, depth: int) -> str:
    """Spec text: a 64-channel stem, then ``stages`` BasicLayers of ``depth`` BasicBlocks each."""
    layers = "".join(f"  l{i}: {{type: BasicLayer, in_plane: 64, expansion: 1, block: {{type: BasicBlock}}, "
                     f"layer_reps: [{depth}]}}\n" for i in range(stages))
    names = ", ".join(f"l{i}" for i in range(stages))
    return (f"search_space:\n  modules: [init, {names}]\n  init: {{type: SmallInputInitialBlock, init_plane: 64}}\n"
            + layers)

"""fgir.prune on attention heads: the L1 choice of heads, exact printed costs, and pruning a pruned ViT again.

The small ViT, its dense weights and the heads oracle (the pruned heads' out-projection columns zeroed) are
tests/test_prune_families_new.py's.
"""

from __future__ import annotations

import torch

import fgir
from family_parity import assert_pruned_is_masked_dense
from test_prune_families_new import VIT, dense_network, sample, zero_pruned_heads

ATTENTION = "encoder.layers.encoder_layer_{}.self_attention"
# each head's weights scaled by these factors: the L1 choice of two heads of four is then plain to see
PLANTED = {0: [1.0, 6.0, 0.1, 4.0], 1: [5.0, 0.2, 3.0, 0.3]}


def plant_head_norms(dense: torch.nn.Module) -> None:
    """Scale head h's q, k and v rows and its out-projection columns by ``PLANTED[layer][h]``."""
    with torch.no_grad():
        for layer, factors in PLANTED.items():
            attention = dense.get_submodule(ATTENTION.format(layer))
            width = attention.out_proj.weight.shape[1] // len(factors)
            inner = width * len(factors)   # q, k and v: three runs of the heads along in_proj's rows
            for head, factor in enumerate(factors):
                for start in (0, inner, 2 * inner):
                    attention.in_proj_weight[start + head * width:start + (head + 1) * width] *= factor
                attention.out_proj.weight[:, head * width:(head + 1) * width] *= factor


def test_fgir_prune_keeps_the_heads_of_largest_l1_norm(tmp_path):
    _, dense = dense_network(tmp_path, VIT)
    plant_head_norms(dense)
    masks = fgir.prune(VIT, dense, ratio=0.5, criterion="l1").masks
    assert [masks[ATTENTION.format(layer)] for layer in PLANTED] == [[0, 1, 0, 1], [1, 0, 1, 0]]


def test_the_printed_cost_of_a_pruned_vit_is_its_compiled_cost(tmp_path):
    dense_graph, dense = dense_network(tmp_path, VIT)
    by_ratio = fgir.prune(VIT, dense, ratio=0.5)
    target = int(0.7 * dense_graph.meta["macs"])
    by_target = fgir.prune(VIT, dense, target_macs=target)
    for result in (by_ratio, by_target):
        compiled = result.compile()
        assert (result.params, result.macs) == (compiled.meta["params"], compiled.meta["macs"])
        assert f"{result.params:,} of {dense_graph.meta['params']:,} parameters" in result.spec_text()
    assert any(by_target.masks[ATTENTION.format(layer)].count(0) for layer in PLANTED)
    assert by_target.macs <= target < by_target.one_channel_more[1]


def test_a_vit_whose_heads_were_pruned_prunes_again_exactly(tmp_path):
    dense_graph, dense = dense_network(tmp_path, VIT)
    first = fgir.prune(VIT, dense, ratio=0.5)
    first.write(tmp_path / "once.yaml")
    once = fgir.to_torch(fgir.compile(tmp_path / "once.yaml"))   # as if fine-tuned: the pruned model's weights
    second = fgir.prune(tmp_path / "once.yaml", once, ratio=0.5)
    for layer in PLANTED:
        before, after = first.masks[ATTENTION.format(layer)], second.masks[ATTENTION.format(layer)]
        assert (sum(before), sum(after)) == (2, 1)
        assert all(a <= b for a, b in zip(after, before))   # a head pruned before stays pruned
    second.write(tmp_path / "twice.yaml")
    pruned = fgir.to_torch(fgir.compile(tmp_path / "twice.yaml")).eval()
    assert [pruned.get_submodule(ATTENTION.format(layer)).num_heads for layer in PLANTED] == [1, 1]
    zero_pruned_heads(dense, dense_graph, second.masks)
    assert_pruned_is_masked_dense(dense, pruned, dense_graph, second.masks, sample(5))

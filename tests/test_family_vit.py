"""The ViT family: torchvision's vit_b_16 / b_32 / l_16 figures, checkpoints, ONNX, pruning and diagnostics.

Ground truth is tests/reference_vit.py (torchvision's VisionTransformer restated).  Full-size models
are checked statically (params and MACs from fgir.compile); numerics run on a small ViT built by the
same builder (image 32, patch 8, 2 layers, dim 64, 4 heads).
"""

from __future__ import annotations

import random

import pytest
import torch

import fgir
import reference_vit as reference
from conftest import EXAMPLES
from fgir.ir.channel_groups import channel_groups
from family_parity import assert_pruned_is_masked_dense, every_tensor_counts, only_error, ort_diff, sample


# variant, params and GFLOPS (MACs) of torchvision's weights metadata
FULL = [("b_16", 86_567_656, 17.564), ("b_32", 88_224_232, 4.409), ("l_16", 304_326_632, 61.555)]
# image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, num_class
SMALL = (32, 8, 2, 4, 64, 128, 10)


def coarse_spec(image=32, patch=8, layers=2, heads=4, dim=64, mlp=128, classes=10) -> str:
    return ("search_space:\n  modules: [vit]\n  vit: {type: VisionTransformer, variant: b_16, "
            f"num_class: {classes}, image_size: {image}, patch_size: {patch}, num_layers: {layers}, "
            f"num_heads: {heads}, hidden_dim: {dim}, mlp_dim: {mlp}}}\n")


def fine_spec(image=32, patch=8, layers=2, heads=4, dim=64, mlp=128, classes=10) -> str:
    """examples/vit_fine_grained.yaml at other numbers."""
    text = (EXAMPLES / "vit_fine_grained.yaml").read_text()
    for old, new in [("patch_size: 16", f"patch_size: {patch}"), ("768", str(dim)), ("num_layers: 12", f"num_layers: "
                     f"{layers}"), ("num_heads: 12", f"num_heads: {heads}"), ("mlp_dim: 3072", f"mlp_dim: {mlp}"),
                     ("seq_length: 197", f"seq_length: {(image // patch) ** 2 + 1}"),
                     ("out_features: 1000", f"out_features: {classes}")]:
        assert old in text
        text = text.replace(old, new)
    return text


# fine-grained module names → the coarse network's (the example's header says so)
KEY_MAP = [("patches.conv_proj.", "conv_proj."), ("pos_embedding", "encoder.pos_embedding"),
           ("layers.", "encoder.layers."), ("ln.", "encoder.ln."), ("head.", "heads.head.")]


def coarse_key(key: str) -> str:
    return next((new + key[len(old):] for old, new in KEY_MAP if key.startswith(old)), key)


def random_reference(seed: int) -> reference.VisionTransformer:
    torch.manual_seed(seed)
    model = reference.VisionTransformer(*SMALL[:6], num_classes=SMALL[6]).eval()
    return every_tensor_counts(model)


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


# -- full size, statically ---------------------------------------------------------------
@pytest.mark.parametrize("variant,params,gmacs", FULL)
def test_params_and_macs_are_torchvisions(variant, params, gmacs):
    graph = fgir.compile(f"search_space:\n  modules: [vit]\n  vit: {{type: VisionTransformer, variant: {variant}}}\n")
    assert graph.meta["input"] == [3, 224, 224]
    assert graph.meta["params"] == params
    assert graph.meta["macs"] == reference.vit_macs(*reference.VARIANTS[variant])
    assert abs(graph.meta["macs"] / 1e9 - gmacs) / gmacs < 0.01


def test_the_example_is_vit_b_16_and_its_sequence_shapes():
    graph = fgir.compile(EXAMPLES / "vit_b_16.yaml")
    assert graph.meta["params"] == 86_567_656 and round(graph.meta["macs"] / 1e9, 3) == 17.564
    assert str(graph["conv_proj"].type) == "768x14x14" and str(graph["class_token"].type) == "197x768"
    assert str(graph["encoder.layers.encoder_layer_11.mlp.0"].type) == "197x3072"
    assert str(graph.output.type) == "1000"


def test_the_fine_grained_b_16_is_the_coarse_one_statically():
    fine, coarse = fgir.compile(EXAMPLES / "vit_fine_grained.yaml"), fgir.compile(EXAMPLES / "vit_b_16.yaml")
    assert fine.meta["params"] == coarse.meta["params"] == 86_567_656
    assert fine.meta["macs"] == coarse.meta["macs"]


# -- numerics on the small ViT ------------------------------------------------------------
def test_a_reference_checkpoint_loads_strictly_both_ways_and_computes_the_same():
    ref = random_reference(0)
    model = fgir.to_torch(fgir.compile(coarse_spec()), seed=5).eval()
    assert list(model.state_dict()) == list(ref.state_dict())
    assert list(model.state_dict())[:4] == ["class_token", "conv_proj.weight", "conv_proj.bias",
                                            "encoder.pos_embedding"]
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in ref.parameters())
    model.load_state_dict(ref.state_dict(), strict=True)
    torch.manual_seed(9)
    back = reference.VisionTransformer(*SMALL[:6], num_classes=SMALL[6]).eval()
    back.load_state_dict(model.state_dict(), strict=True)
    x = sample()
    with torch.no_grad():
        want = ref(x)
        assert want.shape == (2, 10)
        assert (model(x) - want).abs().max().item() <= 1e-5
        assert (back(x) - want).abs().max().item() <= 1e-5


def test_onnx_runtime_matches_torch():
    graph = fgir.compile(coarse_spec())
    model = fgir.to_torch(graph).eval()
    model.load_state_dict(random_reference(2).state_dict())
    shape, diff = ort_diff(graph, 2, sample(3).numpy(), model)
    assert shape == (2, 10) and diff <= 1e-4


def test_the_fine_grained_vit_computes_the_coarse_one():
    fine = fgir.to_torch(fgir.compile(fine_spec(), input="3x32x32")).eval()
    coarse = fgir.to_torch(fgir.compile(coarse_spec())).eval()
    coarse.load_state_dict(random_reference(4).state_dict())
    ours, theirs = fine.state_dict(), coarse.state_dict()
    assert sorted(coarse_key(k) for k in ours) == sorted(theirs)
    fine.load_state_dict({k: theirs[coarse_key(k)] for k in ours}, strict=True)
    x = sample(5)
    with torch.no_grad():
        assert (fine(x) - coarse(x)).abs().max().item() <= 1e-5


# -- pruning -------------------------------------------------------------------------------
def test_heads_and_mlp_hidden_channels_are_groups_and_the_embedding_is_locked():
    groups = channel_groups(fgir.compile(coarse_spec()))
    assert [g.name for g in groups.groups] == [f"encoder.layers.encoder_layer_{i}.{group}" for i in range(2)
                                               for group in ("self_attention", "mlp.0")]
    heads = groups.by_name()["encoder.layers.encoder_layer_0.self_attention"]   # one channel a head
    assert (heads.width, heads.dense_width, heads.producers, heads.consumers) == \
        (4, 4, ["encoder.layers.encoder_layer_0.self_attention"], [])
    mlp = groups.by_name()["encoder.layers.encoder_layer_0.mlp.0"]
    assert mlp.width == 128 and [c.layer for c in mlp.consumers] == ["encoder.layers.encoder_layer_0.mlp.3"]
    # the embedding dim: one group from the patches through every residual add, LayerNorm and attention to
    # the class token's slice, locked (the patch permute locks it first; LayerNorm would lock it too)
    embedding = next(g for g in groups.locked if "encoder.ln" in g.tensors)
    assert {"class_token", "encoder.pos_embedding", "encoder.layers.encoder_layer_1.ln_2"} <= set(embedding.tensors)
    assert "encoder.layers.encoder_layer_0.self_attention.out_proj" not in embedding.producers
    assert embedding.locked == "'to_tokens' (permute) mixes or moves channels in a way pruning does not follow"


def test_pruning_mlp_channels_equals_the_masked_dense_network(tmp_path):
    text = coarse_spec()
    dense_graph = fgir.compile(text)
    groups = channel_groups(dense_graph)
    dense = fgir.to_torch(dense_graph).eval()
    dense.load_state_dict(random_reference(6).state_dict())
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    rng = random.Random(0)
    masks = {g.name: [rng.randint(0, 1) for _ in range(g.width)] for g in groups.groups if g.name.endswith("mlp.0")}
    for mask in masks.values():
        mask[0] = 1
    pruned_text = text.replace("modules: [vit]", "modules: [vit, prune]") + \
        f"  prune: {{type: Prune, masks: {masks}, init_model_file: dense.pt}}\n"
    (tmp_path / "pruned.yaml").write_text(pruned_text)
    pruned_graph = fgir.compile(tmp_path / "pruned.yaml")
    kept = sum(masks["encoder.layers.encoder_layer_0.mlp.0"])
    assert pruned_graph["encoder.layers.encoder_layer_0.mlp.0"].attrs["out_features"] == kept
    assert pruned_graph.meta["params"] < dense_graph.meta["params"]
    assert_pruned_is_masked_dense(dense, fgir.to_torch(pruned_graph).eval(), dense_graph, masks, sample(7))


# -- diagnostics ---------------------------------------------------------------------------
def test_heads_that_do_not_divide_the_embedding_are_located(write_spec):
    assert only_error(write_spec("""
        search_space:
          modules: [vit]
          vit:
            type: VisionTransformer
            hidden_dim: 100
        """)).endswith("spec.yaml:5:17: error: vit.hidden_dim: num_heads 12 does not divide embed_dim 100: "
                       "attention splits the embedding into equal heads")
    assert only_error(write_spec("""
        search_space:
          modules: [layer]
          layer: {type: TransformerEncoderBlock, embed_dim: 64, num_heads: 5, mlp_dim: 128}
        """), input="10x64").endswith(
        "spec.yaml:3:68: error: layer.num_heads: num_heads 5 does not divide embed_dim 64: attention splits the "
        "embedding into equal heads")


def test_a_patch_size_that_does_not_divide_the_image_is_located(write_spec):
    assert only_error(write_spec("""
        search_space:
          modules: [vit]
          vit:
            type: VisionTransformer
            patch_size: 15
        """)).endswith("spec.yaml:5:17: error: vit.patch_size: patch_size 15 does not divide image_size 224: "
                       "the image must split into whole patches")


def test_an_input_the_patches_do_not_tile_is_located(write_spec):
    """An input other than the network's image size (200 / 32 patches: 6x6 of them, floored) gives
    another sequence length than the position embedding has rows for."""
    assert only_error(write_spec("""
        search_space:
          modules: [vit]
          vit: {type: VisionTransformer, variant: b_32}
        """), input="3x200x200").endswith(
        "spec.yaml:3:8: error: vit: position_embedding 'encoder.pos_embedding' expects seq_length 50 but "
        "receives a token sequence 37x768 (LxD)")


# -- the AutoFormer-style space ----------------------------------------------------------------
def autoformer_counts(embed: int, depth: int, ratios: list[float], patch=2, image=8, classes=10) -> tuple[int, int]:
    """Params and MACs of a candidate, counted by hand as reference.vit_macs counts (a layer's MLP its own)."""
    patches, e = (image // patch) ** 2, embed
    tokens, mlps = patches + 1, [round(r * e) for r in ratios[:depth]]
    params = 3 * patch * patch * e + e + e + tokens * e + 2 * e + e * classes + classes + sum(
        4 * e + 4 * e * e + 4 * e + 2 * e * m + m + e for m in mlps)
    macs = patches * e * 3 * patch ** 2 + e * classes + sum(
        4 * tokens * e * e + 2 * tokens * tokens * e + 2 * tokens * e * m for m in mlps)
    return params, macs


def test_the_autoformer_space_s_candidates_count_as_by_hand_and_run():
    from fgir.search.space import Space

    space = Space.from_spec(EXAMPLES / "search" / "autoformer_vit.yaml")
    assert space.size() == 3 * 3 * 2 ** 4 * 3 ** 4 and len(space.keys) == 10
    rng = random.Random(5)
    for _ in range(6):
        sample = space.sample(rng)
        graph = fgir.compile(fgir.loads(space.freeze(sample)))
        depth = sample["layers.num_layers"]
        ratios = [sample[f"layers.mlp_ratio[{i}]"] for i in range(4)]
        assert (graph.meta["params"], graph.meta["macs"]) == autoformer_counts(sample["patches.embed_dim"], depth,
                                                                               ratios)
        assert [graph[f"layers.encoder_layer_{i}.self_attention"].attrs["num_heads"] for i in range(depth)] == \
            [sample[f"layers.num_heads[{i}]"] for i in range(depth)]
    with torch.no_grad():
        assert tuple(fgir.to_torch(graph).eval()(torch.randn(2, 3, 8, 8)).shape) == (2, 10)


def test_an_elastic_stack_with_too_few_per_layer_values_is_located(write_spec):
    assert only_error(write_spec("""
        search_space:
          modules: [layers]
          layers: {type: ElasticEncoderStack, num_layers: 3, embed_dim: 32, num_heads: [2, 4], mlp_ratio: [2, 2, 2]}
        """), input="9x32").endswith(
        "spec.yaml:3:80: error: layers.num_heads: num_heads has 2 values for num_layers 3: one a layer, at least")

"""Prune: masks → pruned widths, channel groups, weights sliced from a dense checkpoint, exactly."""

import pickle
import random
import textwrap

import pytest
import torch

import fgir
from conftest import EXAMPLES, run_fgir
from fgir.diagnostics import FgirError, SpecIOError
from fgir.ir.channel_groups import channel_groups

NODE_WIDTHS = [16, 16, 32, 64]
INNER_WIDTHS = [16, 16, 16, 32, 32, 32, 64, 64, 64]
STAGE = [1, 1, 1, 2, 2, 2, 3, 3, 3]
BLOCKS = [f"layer{s}.{i}" for s in (1, 2, 3) for i in range(3)]


def random_row(width, rng):
    row = [rng.randint(0, 1) for _ in range(width)]
    row[rng.randrange(width)] = 1  # never empty
    return row


def random_masks(seed):
    rng = random.Random(seed)
    return ([random_row(w, rng) for w in NODE_WIDTHS], [random_row(w, rng) for w in INNER_WIDTHS])


def dense_checkpoint(path, seed=0):
    """A ResNet-20 with random weights and BN statistics, saved as a bare state_dict."""
    model = fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml", seed=seed).eval()
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.rand(module.num_features, generator=gen) - 0.5)
            module.running_var.copy_(torch.rand(module.num_features, generator=gen) + 0.5)
            module.weight.data.copy_(torch.rand(module.num_features, generator=gen) + 0.5)
            module.bias.data.copy_(torch.rand(module.num_features, generator=gen) - 0.5)
    torch.save(model.state_dict(), path)
    return model


def prune_spec(tmp_path, node, inner, network="resnet: {type: ResNet, depth: 20}",
               checkpoint="dense.pt"):
    text = textwrap.dedent(f"""\
        search_space:
          modules: [resnet, process]
          {network}
          process:
            type: Prune
            chn_node_mask: {node}
            chn_mask: {inner}
            init_model_file: {checkpoint}
        """)
    path = tmp_path / "prune.yaml"
    path.write_text(text)
    return path


def masked_dense(model, node, inner):
    """The dense model with every mask applied as a channel multiplier to the tensor it governs."""
    def multiply(mask):
        factor = torch.tensor(mask, dtype=torch.float32).view(1, -1, 1, 1)
        return lambda module, args, out: out * factor

    model.get_submodule("relu").register_forward_hook(multiply(node[0]))
    for b, block in enumerate(BLOCKS):
        model.get_submodule(f"{block}.relu").register_forward_hook(multiply(inner[b]))      # conv1 output
        model.get_submodule(f"{block}.relu_1").register_forward_hook(multiply(node[STAGE[b]]))  # block output
    return model


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pruned_model_equals_masked_dense_model(tmp_path, seed):
    dense = dense_checkpoint(tmp_path / "dense.pt", seed)
    node, inner = random_masks(seed)
    graph = fgir.compile(prune_spec(tmp_path, node, inner))
    pruned = fgir.to_torch(graph).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        want = masked_dense(dense, node, inner)(x)
        got = pruned(x)
    assert (got - want).abs().max().item() <= 1e-5
    assert graph["layer1.0.conv1"].attrs["out_channels"] == sum(inner[0])
    assert graph["layer3.2.conv2"].attrs["out_channels"] == sum(node[3])


def test_pruned_model_equals_masked_dense_model_in_onnx_runtime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    dense = dense_checkpoint(tmp_path / "dense.pt", 4)
    node, inner = random_masks(4)
    graph = fgir.compile(prune_spec(tmp_path, node, inner))
    fgir.to_onnx(graph, tmp_path / "pruned.onnx")
    session = ort.InferenceSession(str(tmp_path / "pruned.onnx"), providers=["CPUExecutionProvider"])
    x = torch.randn(4, 3, 32, 32)
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        want = masked_dense(dense, node, inner)(x).numpy()
    assert abs(got - want).max() <= 1e-5


def test_identity_becomes_a_selection_projection_when_rows_differ(tmp_path):
    dense_checkpoint(tmp_path / "dense.pt")
    node = [[1] * 16, [0] + [1] * 15, [1] * 32, [1] * 64]
    graph = fgir.compile(prune_spec(tmp_path, node, [[1] * w for w in INNER_WIDTHS]))
    conv = graph["layer1.0.downsample.0"]
    assert conv.meta["selection"] and (conv.attrs["in_channels"], conv.attrs["out_channels"]) == (16, 15)
    assert "layer1.1.downsample.0" not in graph  # same row in and out: identity stays
    weight = fgir.to_torch(graph).state_dict()["layer1.0.downsample.0.weight"][:, :, 0, 0]
    assert torch.equal(weight, torch.eye(16)[1:])


def test_guide_widths_and_consistent_masks_param_count():
    graph = fgir.compile(EXAMPLES / "prune_resnet20.yaml")
    # counted by hand from the widths the masks imply
    node, inner = [16, 15, 29, 60], [14, 16, 16, 29, 30, 30, 62, 60, 62]
    inputs = [node[0]] + [node[s] for s in STAGE[:-1]]
    strides = [1, 1, 1, 2, 1, 1, 2, 1, 1]
    params = 3 * 16 * 9 + 2 * 16 + 60 * 10 + 10
    for b in range(9):
        c_in, mid, out = inputs[b], inner[b], node[STAGE[b]]
        params += c_in * mid * 9 + 2 * mid + mid * out * 9 + 2 * out
        if c_in != out or strides[b] != 1 or b == 0:  # block 0: the stem row differs from stage 1's
            params += c_in * out + 2 * out
    assert graph.meta["params"] == params == 241_731
    assert graph.meta["dense_params"] == 272_474


def test_summary_shows_before_and_after():
    result = run_fgir("summary", "examples/prune_resnet20.yaml")
    assert result.stdout.splitlines()[-1] == ("pruned from 272,474 parameters and 40,813,184 MACs: "
                                              "0.887 of the parameters, 0.890 of the MACs")


def test_guide_masks_are_rejected_naming_the_shapes():
    with pytest.raises(FgirError) as info:
        fgir.compile(EXAMPLES / "prune_resnet20_guide.yaml")
    assert info.value.pass_name == "apply_prune"
    assert [(d.loc.line, d.loc.col, d.path, d.message) for d in info.value.diagnostics] == [
        (22, 26, "process.chn_node_mask", "chn_node_mask has 5 rows; this network needs 4: the stem "
                                          "output, then one per stage (3 stages)"),
        (27, 21, "process.chn_mask", "chn_mask has 12 rows; this network needs 9: one per block, for "
                                     "its conv1 output")]
    assert info.value.diagnostics[0].hint.startswith("the widths as written: stem and stages [16, 15, "
                                                     "29, 60], block inner [14, 16, 16, 29, 30, 30, 62, "
                                                     "60, 62]")


def test_row_of_zeros_is_an_error(tmp_path):
    node, inner = random_masks(0)
    inner[4] = [0] * 32
    with pytest.raises(FgirError) as info:
        fgir.compile(prune_spec(tmp_path, node, inner))
    assert info.value.message == "chn_mask[4] keeps no channels: a layer cannot have zero channels"
    assert info.value.spec_path == "process.chn_mask[4]"


def test_items_disagreeing_with_masks(tmp_path):
    node, inner = random_masks(0)
    items = ("resnet: {type: ResNet, depth: 20, items: {inner_plane: "
             f"[{sum(inner[0]) + 1}, 16, 16, 32, 32, 32, 64, 64, 64]}}}}")
    with pytest.raises(FgirError) as info:
        fgir.compile(prune_spec(tmp_path, node, inner, network=items))
    assert info.value.message == (f"chn_mask[0] keeps {sum(inner[0])} of 16 channels, but "
                                  f"'layer1.0.conv1' has {sum(inner[0]) + 1}: the spec's widths must "
                                  "be the dense ones or the pruned ones")


def test_checkpoint_missing(tmp_path):
    node, inner = random_masks(0)
    graph = fgir.compile(prune_spec(tmp_path, node, inner, checkpoint="nowhere.pt"))
    with pytest.raises(SpecIOError) as info:
        fgir.to_torch(graph)
    assert info.value.message == f"init_model_file {tmp_path / 'nowhere.pt'}: no such file"
    assert info.value.spec_path == "process.init_model_file"


def test_checkpoint_that_is_not_one(tmp_path):
    (tmp_path / "dense.pt").write_text("not a checkpoint")
    node, inner = random_masks(0)
    with pytest.raises(SpecIOError) as info:
        fgir.to_torch(fgir.compile(prune_spec(tmp_path, node, inner)))
    assert info.value.message == (f"init_model_file {tmp_path / 'dense.pt'}: not a loadable weights-only "
                                  "checkpoint: it is not a torch checkpoint (a file torch.save writes)")
    assert info.value.spec_path == "process.init_model_file"


def test_malicious_pickle_never_runs(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with open(tmp_path / "dense.pt", "wb") as f:
        pickle.dump({"conv1.weight": Evil()}, f, protocol=2)
    node, inner = random_masks(0)
    with pytest.raises(SpecIOError):
        fgir.to_torch(fgir.compile(prune_spec(tmp_path, node, inner)))
    assert not marker.exists()


def test_checkpoint_shape_mismatch_names_the_tensor(tmp_path):
    state = fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml").state_dict()
    state["layer2.1.conv1.weight"] = torch.zeros(32, 16, 3, 3)
    torch.save(state, tmp_path / "dense.pt")
    node, inner = random_masks(0)
    with pytest.raises(FgirError) as info:
        fgir.to_torch(fgir.compile(prune_spec(tmp_path, node, inner)))
    assert info.value.message == (f"init_model_file {tmp_path / 'dense.pt'}: 'layer2.1.conv1.weight' "
                                  "has shape (32, 16, 3, 3), but the dense network needs (32, 32, 3, 3)")


def test_channel_groups_tie_residual_adds():
    groups = channel_groups(fgir.compile(EXAMPLES / "resnet50.yaml")).by_name()
    assert groups["layer1.0.conv3"].producers == ["layer1.0.conv3", "layer1.0.downsample.0",
                                                  "layer1.1.conv3", "layer1.2.conv3"]
    assert groups["layer1.0.conv3"].width == 256
    assert len(groups) == 1 + 16 * 2 + 4  # stem, two inner groups per block, one per stage


@pytest.mark.parametrize("spec,group", [
    ("resnet50.yaml", "layer2.0.conv3"),           # BottleneckBlock stage
    ("variant_layer.yaml", "layer.repeat.3.conv2"),  # VariantLayer
])
def test_masks_by_group_for_any_network(tmp_path, spec, group):
    dense_graph = fgir.compile(EXAMPLES / spec, input="3x32x32")
    groups = channel_groups(dense_graph).by_name()
    width = groups[group].width
    rng = random.Random(7)
    mask = random_row(width, rng)
    inner_name = next(g for g in groups if g.endswith(".conv1") and g != "conv1" and g.startswith(group.split(".")[0]))
    inner = random_row(groups[inner_name].width, rng)
    torch.save(fgir.to_torch(dense_graph, seed=3).state_dict(), tmp_path / "dense.pt")
    source = (EXAMPLES / spec).read_text()
    text = source + textwrap.indent(textwrap.dedent(f"""\
        prune:
          type: Prune
          masks: {{{group}: {mask}, {inner_name}: {inner}}}
          init_model_file: dense.pt
        """), "        ")
    text = text.replace("modules: ['resnet']", "modules: ['resnet', 'prune']").replace(
        "modules: ['init', 'layer', 'head']", "modules: ['init', 'layer', 'head', 'prune']")
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    graph = fgir.compile(path, input="3x32x32")
    for conv in groups[group].producers:
        assert graph[conv].attrs["out_channels"] == sum(mask)
    pruned = fgir.to_torch(graph).eval()
    dense = fgir.to_torch(dense_graph, seed=3).eval()
    factors = {group: mask, inner_name: inner}
    for name, values in factors.items():
        factor = torch.tensor(values, dtype=torch.float32).view(1, -1, 1, 1)
        for tensor in groups[name].tensors:
            if dense_graph[tensor].op == "relu" or tensor == name and dense_graph[tensor].op == "relu":
                dense.get_submodule(tensor).register_forward_hook(
                    lambda m, a, out, f=factor: out * f)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (pruned(x) - dense(x)).abs().max().item() <= 1e-5


def test_unknown_group_name(tmp_path):
    (tmp_path / "s.yaml").write_text("search_space:\n  modules: [net, p]\n  net: {type: ResNet, depth: 20}\n"
                                     "  p: {type: Prune, masks: {layer1.0.conv: [1, 0]}}\n")
    with pytest.raises(FgirError) as info:
        fgir.compile(tmp_path / "s.yaml")
    assert info.value.message == "no channel group 'layer1.0.conv'"
    assert info.value.diagnostics[0].hint == "did you mean 'layer1.0.conv1'?"


def test_groups_listing_in_the_cli():
    result = run_fgir("summary", "examples/resnet20_cifar.yaml", "--groups")
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["conv1", "16", "16", "conv1,", "layer1.0.conv2,", "layer1.1.conv2,",
                                "layer1.2.conv2"]
    assert len(lines) == 1 + 12

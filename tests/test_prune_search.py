"""Masks and ratios as search dimensions: quoted group paths, Prune ratios (static widths, criterion-chosen
channels once weights load), and an NSGA-II search over per-group ratios."""

from __future__ import annotations

import textwrap

import pytest
import torch

import fgir
from conftest import EXAMPLES
from fgir.diagnostics import FgirError
from fgir.ir.channel_groups import channel_groups
from fgir.prune import kept_count
from fgir.search import Space, run_search
from fgir.spec.expressions import ExpressionError, parse_path
from fgir.testing.weights import randomize_batch_norm
from prune_oracle import zero_pruned_inputs

R20 = EXAMPLES / "resnet20_cifar.yaml"


def _spec(tmp_path, hyper: str, process: str = "{type: Prune, ratios: {}, init_model_file: dense.pt}") -> str:
    text = ("search_algorithm: {type: NSGA2Search, objectives: [params:min, macs:min]}\n"
            "search_space:\n  modules: [resnet, process]\n  hyper_parameters:\n"
            + textwrap.indent(hyper, "    ") + "\n"
            f"  resnet: {{type: ResNet, depth: 20}}\n  process: {process}\n")
    path = tmp_path / "search.yaml"
    path.write_text(text)
    return path


def test_quoted_keys_in_paths():
    path = parse_path('process.ratios["layer1.0.conv1"]')
    assert path.segments == ("process", "ratios", "layer1.0.conv1")
    assert str(path) == 'process.ratios["layer1.0.conv1"]'
    assert parse_path("process.masks['layer3.1.conv1'][*]").segments == ("process", "masks", "layer3.1.conv1", "*")
    assert str(parse_path('process.ratios["conv1"]')) == "process.ratios.conv1"
    with pytest.raises(ExpressionError) as info:
        parse_path("process.masks.layer3.1.conv1")
    assert info.value.message == "unexpected '1.' in path 'process.masks.layer3.1.conv1'; expected a name"
    assert info.value.diagnostics[0].hint == ('a key that holds dots (a channel group) is quoted: '
                                              'process.masks["layer3.1.conv1"]')


def test_a_group_name_is_checked_with_a_did_you_mean(tmp_path):
    path = _spec(tmp_path, 'process.ratios["layer1.0.conv"]: choice(0, 0.5)\nprocess.masks.fc: [1, 1]',
                 "{type: Prune, ratios: {}, masks: {}}")
    with pytest.raises(FgirError) as info:
        Space.from_spec(path)
    assert [(d.loc.line, d.loc.col, d.message, d.hint) for d in info.value.diagnostics] == [
        (5, 20, "no channel group 'layer1.0.conv'", "did you mean 'layer1.0.conv1'?"),
        (6, 19, "channel group 'fc' cannot be pruned: 'fc' is the network's output", None)]


def test_a_mask_of_a_dotted_group_is_a_code_dimension(tmp_path):
    torch.save(fgir.to_torch(R20, seed=0).state_dict(), tmp_path / "dense.pt")
    path = _spec(tmp_path, 'process.masks["layer2.1.conv1"]: code(32, ones=12)',
                 "{type: Prune, masks: {}, init_model_file: dense.pt}")
    result = run_search(path, budget=3)
    assert [row["status"] for row in result.rows] == ["ok"] * 3
    for row in result.rows:
        mask = row["values"]['process.masks["layer2.1.conv1"]']
        assert len(mask) == 32 and sum(mask) == 12
        assert row["params"] == 272_474 - (32 - 12) * (32 * 9 * 2 + 2)


def test_ratios_give_widths_params_and_macs_statically():
    spec = ("search_space:\n  modules: [net, p]\n  net: {type: ResNet, depth: 20}\n"
            "  p: {type: Prune, ratios: {layer1.0.conv1: 0.3, layer3.0.conv2: 0.5}, round_to: 4}\n")
    graph = fgir.compile(spec)
    assert graph["layer1.0.conv1"].attrs["out_channels"] == kept_count(16, 0.3, 4) == 8
    assert graph["layer3.2.conv2"].attrs["out_channels"] == 32
    assert graph.meta["prune"]["select"] == {"ratios": {"layer1.0.conv1": 0.3, "layer3.0.conv2": 0.5},
                                             "criterion": "l1", "round_to": 4}
    masks = {"layer1.0.conv1": [1] * 8 + [0] * 8, "layer3.0.conv2": [1] * 32 + [0] * 32}
    same = fgir.compile(spec.replace("ratios: {layer1.0.conv1: 0.3, layer3.0.conv2: 0.5}, round_to: 4",
                                     f"masks: {masks}"))
    assert (graph.meta["params"], graph.meta["macs"]) == (same.meta["params"], same.meta["macs"])


def test_a_ratio_outside_zero_to_one_in_the_spec():
    spec = ("search_space:\n  modules: [net, p]\n  net: {type: ResNet, depth: 20}\n"
            "  p: {type: Prune, ratios: {conv1: 1.5}}\n")
    with pytest.raises(FgirError) as info:
        fgir.compile(spec)
    assert [(d.loc.line, d.loc.col, d.path, d.message) for d in info.value.diagnostics] == [
        (4, 36, "p.ratios.conv1", "a pruning ratio is the fraction of channels removed, from 0 up to (not "
                                  "including) 1; got 1.5")]


def test_loading_weights_keeps_the_channels_the_criterion_chooses(tmp_path):
    dense = randomize_batch_norm(fgir.to_torch(R20, seed=3), 3)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    ratios = {"conv1": 0.5, "layer2.0.conv1": 0.25, "layer3.0.conv2": 0.75}
    (tmp_path / "r.yaml").write_text(
        "search_space:\n  modules: [resnet, p]\n  resnet: {type: ResNet, depth: 20}\n"
        f"  p: {{type: Prune, ratios: {ratios}, criterion: l2, init_model_file: dense.pt}}\n")
    model = fgir.to_torch(tmp_path / "r.yaml").eval()
    chosen = fgir.prune(tmp_path / "r.yaml", tmp_path / "dense.pt")          # the spec's ratios and criterion
    assert chosen.widths["layer3.0.conv2"] == (16, 64) and "criterion l2" in chosen.description
    direct = [fgir.prune(R20, tmp_path / "dense.pt", ratio=r, criterion="l2", keep=[g for g in ratios if g != name])
              for name, r in ratios.items()]
    assert all(chosen.kept[name] == d.kept[name] for name, d in zip(ratios, direct))
    zero_pruned_inputs(dense, channel_groups(chosen.subject.dense), chosen.masks, chosen.subject.dense)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (model(x) - dense(x)).abs().max().item() <= 1e-5


def test_ratios_beside_masks_prune_among_the_kept_channels(tmp_path):
    torch.save(fgir.to_torch(R20, seed=0).state_dict(), tmp_path / "dense.pt")
    mask = [0, 1] * 8
    (tmp_path / "r.yaml").write_text(
        "search_space:\n  modules: [resnet, p]\n  resnet: {type: ResNet, depth: 20}\n"
        f"  p: {{type: Prune, masks: {{conv1: {mask}}}, ratios: {{conv1: 0.5}}, init_model_file: dense.pt}}\n")
    assert fgir.compile(tmp_path / "r.yaml")["conv1"].attrs["out_channels"] == 4
    chosen = fgir.prune(tmp_path / "r.yaml")
    assert len(chosen.kept["conv1"]) == 4 and set(chosen.kept["conv1"]) <= {1, 3, 5, 7, 9, 11, 13, 15}


def test_nsga2_over_per_group_ratios(tmp_path, monkeypatch):
    torch.save(fgir.to_torch(R20, seed=0).state_dict(), tmp_path / "dense.pt")
    path = _spec(tmp_path, "process.ratios[*]: choice(0, 0.25, 0.5, 0.75)")
    space = Space.from_spec(path)
    assert len(space.keys) == 12 and space.keys[1] == 'process.ratios["layer1.0.conv1"]'
    monkeypatch.chdir(EXAMPLES)          # anywhere: init_model_file is the spec folder's
    result = run_search(path, tmp_path / "out", budget=12, seed=1)
    assert {row["status"] for row in result.rows} == {"ok"}
    assert len({row["params"] for row in result.rows}) > 6
    for row in result.rows[:3]:
        widths = {key.split('"')[1] if '"' in key else key.rsplit(".", 1)[1]: ratio
                  for key, ratio in row["values"].items()}
        masks = {g: [1] * kept_count(w, widths[g]) + [0] * (w - kept_count(w, widths[g]))
                 for g, w in ((g.name, g.dense_width) for g in channel_groups(fgir.compile(R20)).groups)}
        spec = ("search_space:\n  modules: [resnet, p]\n  resnet: {type: ResNet, depth: 20}\n"
                f"  p: {{type: Prune, masks: {masks}}}\n")
        assert row["params"] == fgir.compile(spec).meta["params"]
    best = fgir.to_torch(tmp_path / "out" / "best.yaml")       # its channels chosen from dense.pt by l1
    assert sum(p.numel() for p in best.parameters()) == result.best["params"]

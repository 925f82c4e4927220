"""docs/semantics.md's figures, exactly, through the API and through `fgir summary --format json`."""

import json

import pytest

import fgir
from conftest import EXAMPLES, run_fgir

FIGURES = {
    "resnet18.yaml": 11_181_642,
    "resnet50.yaml": 23_528_522,
    "resnet50_fine_grained.yaml": 23_528_522,
    "resnet20_cifar.yaml": 272_474,
    "quant_resnet20.yaml": 272_474,
}


@pytest.mark.parametrize("name,params", FIGURES.items())
def test_params_through_api(name, params):
    assert fgir.compile(EXAMPLES / name).meta["params"] == params


@pytest.mark.parametrize("name,params", [("resnet18.yaml", 11_181_642), ("resnet50_fine_grained.yaml",
                                                                         23_528_522),
                                         ("resnet20_cifar.yaml", 272_474)])
def test_params_through_summary_json(name, params):
    result = run_fgir("summary", f"examples/{name}", "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["params"] == params
    assert sum(row["params"] for row in summary["layers"]) == params
    assert {"params", "macs", "input", "layers"} <= set(summary)


def test_macs_follow_torchvision_convention():
    # torchvision's model docs: resnet18 1.81 GFLOPS, resnet50 4.09 (multiply-accumulates)
    assert round(fgir.compile(EXAMPLES / "resnet18.yaml").meta["macs"] / 1e9, 2) == 1.81
    assert round(fgir.compile(EXAMPLES / "resnet50.yaml").meta["macs"] / 1e9, 2) == 4.09


def test_macs_scale_with_input_size():
    big = fgir.compile(EXAMPLES / "resnet18.yaml", input="3x448x448").meta
    assert big["input"] == [3, 448, 448]
    # every conv output has four times the positions; the Linear layer is unchanged
    fc = 512 * 10
    full = fgir.compile(EXAMPLES / "resnet18.yaml").meta["macs"]
    assert big["macs"] - fc == 4 * (full - fc)


def test_fine_grained_and_coarse_resnet50_are_the_same_network():
    coarse = fgir.compile(EXAMPLES / "resnet50.yaml")
    fine = fgir.compile(EXAMPLES / "resnet50_fine_grained.yaml")
    assert [n.op for n in coarse] == [n.op for n in fine]
    assert [n.attrs for n in coarse] == [n.attrs for n in fine]


def test_variant_layer_widths_follow_codes_from_in_plane():
    graph = fgir.compile(EXAMPLES / "variant_layer.yaml")
    outs = [graph[f"layer.repeat.{i}.conv2"].attrs["out_channels"] for i in range(8)]
    assert outs == [32, 64, 128, 128, 256, 256, 256, 512]
    strides = [graph[f"layer.repeat.{i}.conv1"].attrs["stride"][0] for i in range(8)]
    assert strides == [2, 2, 1, 2, 1, 1, 1, 2]
    assert graph["head.linear"].attrs["in_features"] == 512

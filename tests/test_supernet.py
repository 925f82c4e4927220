"""One-shot NAS: a space compiled into a weight-sharing supernet, candidates extracted exactly."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import fgir  # noqa: E402
from fgir.diagnostics import FgirError  # noqa: E402
from fgir.supernet import SupernetModule, build_supernet, extract, save_supernet  # noqa: E402

SPACE = Path(__file__).resolve().parent.parent / "examples/search/supernet_mobilenet.yaml"


@pytest.fixture(scope="module")
def net():
    torch.set_num_threads(1)
    module = SupernetModule(build_supernet(SPACE), seed=0)
    with torch.no_grad():   # statistics that matter: an identity BN would hide a wrong slice
        for name, buffer in module.shared.named_buffers():
            if name.endswith("running_mean"):
                buffer.normal_(0, 0.5)
            elif name.endswith("running_var"):
                buffer.uniform_(0.5, 2.0)
    return module.eval()


def test_every_dimension_is_an_elastic_point_of_its_kind(net):
    kinds = {key: point.kind for key, point in net.ir.points.items()}
    assert {kinds[f"stage{i}.{d}"] for i in (1, 2, 3) for d in ("depth",)} == {"depth"}
    assert {kinds[f"stage{i}.kernel_size"] for i in (1, 2, 3)} == {"kernel"}
    assert {kinds[f"stage{i}.{d}"] for i in (1, 2, 3) for d in ("expand_ratio", "out_channels")} == {"width"}
    assert kinds["stage3.activation"] == "op"
    assert net.ir.points["stage2.depth"].nodes == ["stage2.1", "stage2.2"]
    assert net.ir.largest["stage2.out_channels"] == 24 and net.ir.smallest["stage2.out_channels"] == 16


def test_extracted_checkpoint_compiles_to_onnx_that_agrees_with_onnxruntime(net, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    save_supernet(net, tmp_path / "super.pt")
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    for sample in (net.ir.smallest, net.ir.space.sample(random.Random(5))):
        spec, _ = extract(tmp_path / "super.pt", sample, tmp_path / "sub.pt")
        model = fgir.load_model(tmp_path / "sub.pt").eval()
        net.set_candidate(sample)
        with torch.no_grad():
            assert float((model(x) - net(x)).abs().max()) <= 1e-5
        fgir.to_onnx(fgir.loads(spec), tmp_path / "sub.onnx", weights=tmp_path / "sub.pt")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(tmp_path / "sub.onnx"), options, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        assert abs(got - model(x).detach().numpy()).max() <= 1e-4


def test_a_value_the_space_does_not_offer_is_located_at_its_dotted_path(net, tmp_path):
    candidate = tmp_path / "cand.yaml"
    values = dict(net.ir.largest, **{"stage2.depth": 7})
    candidate.write_text("".join(f"{k}: {v}\n" for k, v in values.items()))
    line = list(values).index("stage2.depth") + 1
    with pytest.raises(FgirError) as info:
        extract(net, candidate)
    assert info.value.render().splitlines()[0] == (
        f"{candidate}:{line}:15: error: stage2.depth: 7 is not offered by the space: choice(1, 2, 3)")


def test_a_checkpoint_of_another_space_is_refused_with_both_hashes(net, tmp_path):
    save_supernet(net, tmp_path / "super.pt")
    other = tmp_path / "other.yaml"
    other.write_text(SPACE.read_text().replace("choice(8, 12)", "choice(8, 16)"))
    with pytest.raises(FgirError) as info:
        extract(tmp_path / "super.pt", net.ir.smallest, space=other)
    text = info.value.render()
    assert f"sha256 {net.ir.space_sha256[:16]}" in text and "is the supernet of another space" in text
    from fgir.search.space import Space
    assert f"sha256 {Space.from_spec(other).sha256[:16]}" in text


def test_a_block_type_choice_is_named_as_not_elastic_with_the_reason(tmp_path):
    spec = tmp_path / "blocks.yaml"
    spec.write_text(SPACE.read_text().replace(
        "    stage3.activation: choice(ReLU6, Hardswish)\n", "    stage1.expand_ratio: choice(1, 4)\n").replace(
        "    stage1.expand_ratio: choice(2, 4)\n", ""))
    with pytest.raises(FgirError) as info:
        build_supernet(spec)
    first = info.value.render().splitlines()[0]
    assert first.startswith(f"{spec}:") and "error: hyper_parameters.stage1.expand_ratio: dimension " \
        "'stage1.expand_ratio' cannot be made elastic at 1:" in first
    assert "is not in the largest candidate" in first or "is a " in first


def test_a_short_sandwich_training_lowers_the_loss(tmp_path):
    from fgir.supernet.train import train_supernet

    torch.set_num_threads(1)
    result = train_supernet(SPACE, tmp_path / "super.pt", data="digits", epochs=2, batch_size=128,
                            lr=0.1, progress=None)
    first, last = result.history[0], result.history[-1]
    assert last["loss"] < first["loss"] and last["val_accuracy"] > 0.3
    spec, state = extract(tmp_path / "super.pt", result.model.ir.smallest, tmp_path / "sub.pt")
    assert fgir.load_model(tmp_path / "sub.pt").preprocess is not None
    print("loss", first["loss"], "->", last["loss"], "val", last["val_accuracy"], "s/epoch", first["seconds"])


def test_the_students_loss_mixes_distillation_and_labels_by_the_distill_weight(tmp_path):
    """One sandwich step (one batch holds the whole training split): plain SGD moves each weight by the
    summed gradients, which are affine in the weight, so distill 0.5 lands halfway between 0 and 1."""
    from fgir.supernet.train import train_supernet

    torch.set_num_threads(1)
    after = {w: train_supernet(SPACE, None, data="digits", epochs=1, batch_size=2048, lr=0.1, momentum=0.0,
                               weight_decay=0.0, progress=None, distill=w).model.shared.state_dict()
             for w in (0.0, 0.5, 1.0)}
    weights = [k for k, v in after[0.5].items() if v.is_floating_point() and "running" not in k]
    assert any(not torch.equal(after[0.0][k], after[1.0][k]) for k in weights)
    for k in weights:
        torch.testing.assert_close(after[0.5][k], (after[0.0][k] + after[1.0][k]) / 2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["--supernet", "--distill", "1.5"], "fgir train --supernet: error: --distill: is a weight from 0 to 1, not 1.5"),
    (["--distill", "0.5"], "fgir train: error: --distill: weighs a supernet's in-place distillation; it needs "
                           "--supernet"),
])
def test_a_bad_distill_weight_is_a_usage_error(tmp_path, capsys, argv, message):
    from fgir.cli import main

    assert main(["train", str(SPACE), "-o", str(tmp_path / "s.pt"), "--data", "digits", *argv]) == 2
    assert capsys.readouterr().err.splitlines()[0] == message


def test_supernet_info_says_which_dimensions_share_and_the_params(capsys):
    from fgir.cli import main

    space = SPACE.parent / "supernet_nasbench201.yaml"
    assert main(["supernet", "info", str(space)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["net.edges[0]", "choice", "own", "weights", "5", "values,", "12", "nodes"]
    assert lines[7].split() == ["net.channels", "width", "shares", "3", "values,", "44", "nodes"]
    supernet = SupernetModule(build_supernet(space))
    largest = fgir.compile(fgir.loads(supernet.ir.space.freeze(supernet.ir.largest))).meta["params"]
    total = sum(p.numel() for p in supernet.parameters())
    assert lines[8] == f"params: {total} (the largest candidate: {largest}, x{total / largest:.2f})"
    assert main(["supernet", "info", str(SPACE), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [d["kind"] for d in info["dimensions"]][:4] == ["depth", "width", "kernel", "width"]
    assert all(d["shares"] for d in info["dimensions"]) and info["params"] == info["largest_params"]


def test_supernet_info_refuses_a_stride_dimension_at_its_line(tmp_path, capsys):
    from fgir.cli import main

    spec = tmp_path / "stride.yaml"
    spec.write_text(SPACE.read_text().replace("    stage3.activation: choice(ReLU6, Hardswish)\n",
                                              "    stage1.stride: choice(1, 2)\n"))
    line = spec.read_text().splitlines().index("    stage1.stride: choice(1, 2)") + 1
    assert main(["supernet", "info", str(spec)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{spec}:{line}:20: error: hyper_parameters.stage1.stride: dimension 'stage1.stride' cannot be made "
        "elastic at 1: it changes 'stride' of node 'stage1.0.conv.1.0' ([2, 2] in the largest, [1, 1] here)")

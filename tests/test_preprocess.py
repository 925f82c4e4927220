"""The model carries its preprocessing: the checkpoint, fgir.load_model, ONNX metadata and baking, one digits set.

A ResNet-20 trained on digits in [0, 1] (:mod:`preprocess_helpers`) is fed raw images
the way a user would, through ``.preprocess`` and through ONNX Runtime, and must score
what its training reported: exactly on the trainer's own validation images, within a
point on images the trainer never saw.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")
ort = pytest.importorskip("onnxruntime")

import fgir  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from fgir.cli import main  # noqa: E402
from fgir.data import Preprocess  # noqa: E402
from preprocess_helpers import SIZE, trained  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
R20 = str(EXAMPLES / "resnet20_cifar.yaml")


def torch_accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(model.preprocess(torch.from_numpy(x))).argmax(1).numpy() == y).mean())


def session(model, optimized=None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if optimized is not None:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = str(optimized)
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def onnx_accuracy(model, x, y) -> float:
    props = {p.key: p.value for p in model.metadata_props}
    pre = Preprocess.from_json(props["fgir.preprocess"])
    feed = pre(x, normalize=props["fgir.preprocess.baked"] != "true")
    return float((session(model).run(None, {"input": feed})[0].argmax(1) == y).mean())


def test_the_checkpoint_records_the_input_and_its_preprocessing():
    run = trained()
    model = fgir.load_model(run.model)
    assert model.fgir_input == [3, SIZE, SIZE]
    assert model.preprocess is model.fgir_preprocess
    assert model.preprocess.to_dict() == {"format": "fgir-preprocess-1", "mean": [0.5] * 3, "std": [0.25] * 3,
                                          "input": [3, SIZE, SIZE], "channel_order": "RGB", "resize": "bilinear",
                                          "value_range": "[0, 1]"}
    # saving the loaded model keeps it; compiling with --weights keeps it too
    fgir.save_model(model, run.folder / "again.pt")
    assert fgir.load_model(run.folder / "again.pt").preprocess == model.preprocess
    assert fgir.to_torch(R20, input="3x8x8", weights=run.model).preprocess == model.preprocess
    assert not hasattr(fgir.to_torch(R20, seed=0), "preprocess")      # fresh weights record nothing


def test_load_model_and_preprocess_give_the_trainings_accuracy():
    run = trained()
    model = fgir.load_model(run.model).eval()
    assert run.val_accuracy > 0.97
    # the trainer's own validation images, raw: the very same figure
    assert torch_accuracy(model, run.x_val, run.y_val) == pytest.approx(run.val_accuracy, abs=1e-9)
    # images it never saw: within a point
    held_out = torch_accuracy(model, run.x_test, run.y_test)
    assert abs(held_out - run.val_accuracy) <= 0.01, (held_out, run.val_accuracy)
    # uint8 images are divided by 255: the same predictions as the floats they round to
    as_uint8 = np.round(run.x_test * 255).astype(np.uint8)
    assert torch_accuracy(model, as_uint8, run.y_test) == pytest.approx(
        torch_accuracy(model, as_uint8.astype(np.float32) / 255, run.y_test), abs=1e-9)
    # what the issue saw: fed without it, the model is near chance
    with torch.no_grad():
        raw = float((model(torch.from_numpy(run.x_test)).argmax(1).numpy() == run.y_test).mean())
    assert raw < 0.5


def test_onnx_records_the_preprocessing_and_bakes_it_on_request(tmp_path):
    run = trained()
    plain = fgir.to_onnx(R20, tmp_path / "m.onnx", weights=run.model, input="3x8x8")
    baked = fgir.to_onnx(R20, tmp_path / "b.onnx", weights=run.model, input="3x8x8", bake_preprocess=True)
    props = {p.key: p.value for p in plain.metadata_props}
    assert json.loads(props["fgir.preprocess"])["mean"] == [0.5] * 3 and props["fgir.preprocess.baked"] == "false"
    assert {p.key: p.value for p in baked.metadata_props}["fgir.preprocess.baked"] == "true"
    assert [n.op_type for n in plain.graph.node[:1]] == ["Conv"]
    assert [(n.op_type, n.input[0]) for n in baked.graph.node[:3]] == [
        ("Sub", "input"), ("Div", "input/centred"), ("Conv", "input/normalised")]
    for model in (plain, baked):
        assert onnx_accuracy(model, run.x_val, run.y_val) == pytest.approx(run.val_accuracy, abs=1e-9)
        assert abs(onnx_accuracy(model, run.x_test, run.y_test) - run.val_accuracy) <= 0.01
    # the baked file takes images in [0, 1] and computes what the plain one does on normalised ones
    pre = fgir.load_model(run.model).preprocess
    x = run.x_test[:64]
    np.testing.assert_allclose(session(baked).run(None, {"input": pre(x, normalize=False)})[0],
                               session(plain).run(None, {"input": pre(x)})[0], atol=1e-5)


def test_what_onnx_runtime_leaves_of_the_baked_normalisation(tmp_path):
    """ORT (ORT_ENABLE_ALL) folds no op on a conv's input into the conv: the Sub and the Div stay, two
    elementwise ops before the first Conv, and nothing else is added (an exact fold would have to pad
    the raw input with the mean, which a conv's zero padding is not)."""
    import onnx

    run = trained()
    counts = {}
    for bake in (False, True):
        model = fgir.to_onnx(R20, weights=run.model, input="3x8x8", bake_preprocess=bake)
        session(model, tmp_path / f"opt{bake}.onnx")
        optimized = onnx.load(str(tmp_path / f"opt{bake}.onnx"))
        counts[bake] = Counter(n.op_type for n in optimized.graph.node)
        if bake:
            assert [n.op_type for n in optimized.graph.node[:2]] == ["Sub", "Div"]
    assert counts[True] - counts[False] == Counter({"Sub": 1, "Div": 1})
    assert counts[True]["Conv"] == counts[False]["Conv"] == 21


def test_baking_needs_a_record():
    with pytest.raises(fgir.FgirError) as exc:
        fgir.to_onnx(R20, seed=0, bake_preprocess=True)
    assert str(exc.value).startswith("fgir.to_onnx: error: bake_preprocess: the weights record no preprocessing")


def test_compile_takes_the_input_from_the_checkpoint(tmp_path, capsys):
    run = trained()
    assert main(["compile", R20, "--weights", str(run.model), "-o", str(tmp_path / "m.onnx")]) == 0
    import onnx

    dims = [d.dim_value for d in onnx.load(str(tmp_path / "m.onnx")).graph.input[0].type.tensor_type.shape.dim[1:]]
    assert dims == [3, SIZE, SIZE]                 # the spec alone says 3x32x32
    capsys.readouterr()
    assert main(["compile", R20, "--weights", str(run.model), "--input", "3x32x32", "-o",
                 str(tmp_path / "x.onnx")]) == 2
    assert capsys.readouterr().err == (
        f"fgir: error: --input 3x32x32 conflicts with --weights {run.model}, which records input 3x8x8 (the "
        f"size it was trained at); drop --input to compile for 3x8x8\n")
    assert not (tmp_path / "x.onnx").exists()
    assert main(["compile", R20, "--weights", str(run.model), "--input", "3x8x8", "-o", str(tmp_path / "y.pt"),
                 "--bake-preprocess"]) == 2
    assert capsys.readouterr().err == "fgir: error: --bake-preprocess applies to .onnx output, not to .pt\n"


def test_the_search_and_fgir_train_share_one_digits_set():
    from fgir.data import load_images, split
    from fgir.data.digits import digits_tensors

    x_train, y_train, x_held, y_held = digits_tensors(3, SIZE, SIZE)
    train, val = split(load_images("digits", (3, SIZE, SIZE), num_classes=10), 0.2)   # fgir train's
    assert torch.equal(x_held, val.x) and torch.equal(y_held, val.y)
    assert torch.equal(x_train, train.x) and torch.equal(y_train, train.y)
    assert float(val.x.min()) == -2.0                                                  # (0 - 0.5) / 0.25


def test_a_pruned_spec_with_a_relative_dataset_trains_as_it_is(tmp_path, capsys):
    x, y = trained().x_test, trained().y_test
    source, out = tmp_path / "specs", tmp_path / "out"
    (source / "data").mkdir(parents=True)
    out.mkdir()
    np.savez(source / "data" / "set.npz", x=x, y=y)
    (source / "net.yaml").write_text(
        "input: 3x8x8\ndataset: {data: data/set.npz}\ntrainer: {epochs: 1}\n"
        "search_space:\n  modules: [resnet]\n  resnet: {type: ResNet, depth: 20}\n")
    fgir.save_model(fgir.to_torch(source / "net.yaml", seed=0), source / "dense.pt")
    assert main(["prune", str(source / "net.yaml"), "--weights", str(source / "dense.pt"), "--ratio", "0.5",
                 "-o", str(out / "pruned.yaml")]) == 0
    text = (out / "pruned.yaml").read_text()
    assert "dataset: {data: ../specs/data/set.npz}" in text and "init_model_file: ../specs/dense.pt" in text
    result = fgir.train(out / "pruned.yaml", progress=None)
    assert len(result.history) == 1 and result.val_accuracy is not None

"""The recipe and the pipeline around training: spec sections and their diagnostics, flags, the input a
spec carries, best.yaml's records, per-epoch reports from the train evaluator, search → train → ONNX."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fgir
from conftest import EXAMPLES, run_fgir
from fgir.search import TrainEvaluator, run_search
from search_helpers import TINY
from test_train import train_cli

NET = "search_space:\n  modules: [net]\n  net: {type: ResNet, depth: 20}\n"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- input: in the document ---------------------------------------------------------------------------

def test_a_spec_carries_its_input_size(write_spec):
    spec = write_spec("input: 3x16x16\n" + NET)
    assert fgir.compile(spec).meta["input"] == [3, 16, 16]
    assert fgir.compile(spec, input="3x32x32").meta["input"] == [3, 32, 32]     # an argument still wins
    assert fgir.compile(write_spec("input: [1, 28, 28]\n" + NET, "list.yaml")).meta["input"] == [1, 28, 28]
    bad = run_fgir("check", str(write_spec("input: 3x0x16\n" + NET, "bad.yaml")))
    assert (bad.returncode, bad.stderr) == (1, f"{bad.args[-1]}:1:8: error: input: expected positive CxHxW such "
                                               f"as 3x32x32, got '3x0x16'\nfgir: 1 error\n")


def test_best_yaml_records_the_input_it_was_searched_at(write_spec, tmp_path):
    spec = write_spec(TINY)
    run_search(spec, tmp_path / "plain", budget=2, seed=0)
    assert not (tmp_path / "plain" / "best.yaml").read_text().splitlines()[5].startswith("input")
    result = run_search(spec, tmp_path / "small", budget=2, seed=0, input="3x16x16")
    best = tmp_path / "small" / "best.yaml"
    assert "\ninput: 3x16x16\nsearch_space:\n  type: FineGrainedSpace\n" in best.read_text()
    graph = fgir.compile(best)                       # compiling it again uses the size it was searched at
    assert graph.meta["input"] == [3, 16, 16] and graph.meta["macs"] == result.best["macs"]


# -- the recipe: the spec's sections, flags, located diagnostics ----------------------------------------

def test_bad_recipe_values_in_the_spec_are_located(write_spec, tmp_path):
    spec = write_spec("""
        trainer:
          lr: -1
          epoch: 3
          loss: {type: CrossEntropyLoss}
          lr_scheduler: {type: MultiStepLR, params: {milestones: [1]}}
        dataset: {augment: yes please}
        search_space:
          modules: [net]
          net: {type: ResNet, depth: 20}
        """)
    result = run_fgir("train", str(spec), "-o", str(tmp_path / "m.pt"), "--data", "digits")
    assert (result.returncode, result.stderr) == (1, (
        f"{spec}:2:7: error: trainer.lr: expected a positive number, got -1\n"
        f"{spec}:3:3: error: trainer.epoch: fgir train has no setting 'epoch'\n"
        f"{spec}:3:3: note: did you mean 'epochs'?\n"
        f"{spec}:5:24: error: trainer.lr_scheduler.type: fgir trains with cosine, step or constant schedules, "
        f"not 'MultiStepLR'\n"
        f"{spec}:5:24: note: CosineAnnealingLR, StepLR (params step_size, gamma) or constant\n"
        f"{spec}:6:20: error: dataset.augment: expected true or false, got 'yes please'\n"
        f"{spec}:4:3: warning: trainer.loss: fgir train ignores 'loss'\n"
        f"{spec}:5:46: warning: trainer.lr_scheduler.params.milestones: fgir train ignores 'milestones'\n"
        f"fgir: 4 errors\n"))


def test_vega_sections_are_read_and_foreign_keys_are_a_warning(write_spec, tmp_path):
    spec = write_spec("""
        trainer:
          type: Trainer
          epochs: 1
          optimizer: {type: SGD, params: {lr: 0.02, momentum: 0.8, weight_decay: 0.0001}}
          lr_scheduler: {type: StepLR, params: {step_size: 1, gamma: 0.5}}
          loss: {type: CrossEntropyLoss}
        dataset: {type: Cifar10, common: {data_path: digits, batch_size: 128}}
        input: 3x8x8
        search_space:
          modules: [net]
          net: {type: ResNet, depth: 20}
        """)
    result = fgir.train(spec, progress=None)
    recipe = result.recipe
    assert (recipe.epochs, recipe.learning_rate, recipe.momentum, recipe.decay, recipe.schedule, recipe.step_size,
            recipe.gamma, recipe.batch_size, recipe.data) == (1, 0.02, 0.8, 0.0001, "step", 1, 0.5, 128, "digits")
    assert result.warnings == [f"{spec}:6:3: warning: trainer.loss: fgir train ignores 'loss'"]
    assert result.history[0]["step"] == 12                 # 1,438 images, 128 a batch


@pytest.mark.parametrize("flags, stderr", [
    (["--lr", "-0.1"], "fgir train: error: --lr: expected a positive number, got -0.1\n"),
    (["--optimizer", "adam"], "fgir train: error: --optimizer: expected one of sgd, adamw, got 'adam'\n"),
    (["--batch-size", "1"], "fgir train: error: --batch-size: expected a positive integer, got 1\n"),
    (["--amp"], "fgir train: error: --amp: mixed precision (bfloat16 autocast) needs a CUDA device; this run is "
                "on the cpu\nfgir train: note: drop --amp to train in float32\n"),
    ([], "fgir train: error: --data: no data to train on\nfgir train: note: pass --data PATH (an image folder, "
         "an .npz with x and y, or 'digits'), or give dataset: {data: PATH} in the spec\n"),
])
def test_bad_flags_exit_2(tmp_path, flags, stderr):
    data = [] if not flags else ["--data", "digits"]
    result = run_fgir("train", str(EXAMPLES / "resnet20_cifar.yaml"), "-o", str(tmp_path / "m.pt"), "--device",
                      "cpu", *data, *flags)
    assert (result.returncode, result.stderr) == (2, stderr)


def test_fine_tuning_starts_from_the_given_weights(tmp_path):
    first = fgir.train(EXAMPLES / "resnet20_cifar.yaml", tmp_path / "a.pt", data="digits", input="3x8x8",
                       epochs=1, progress=None)
    again = fgir.train(EXAMPLES / "resnet20_cifar.yaml", tmp_path / "b.pt", data="digits", input="3x8x8",
                       epochs=1, lr=1e-9, weights=tmp_path / "a.pt", progress=None)
    assert again.history[0]["accuracy"] > 0.8 > first.history[0]["accuracy"] - 0.3   # no fresh start
    other = tmp_path / "other.pt"
    fgir.save_model(fgir.to_torch(EXAMPLES / "resnet18.yaml"), other)
    with pytest.raises(fgir.FgirError) as exc:
        fgir.train(EXAMPLES / "resnet20_cifar.yaml", data="digits", input="3x8x8", weights=other, progress=None)
    assert str(exc.value) == (
        f"{other}: error: does not fit this network: it lacks 36 tensors (layer1.2.conv1.weight, layer1.2.bn1.weight, "
        f"...); has unexpected 30 tensors (layer4.0.conv1.weight, layer4.0.bn1.weight, ...); has other shapes for "
        f"76 tensors (conv1.weight (64x3x7x7 there, 16x3x3x3 here), bn1.weight (64 there, 16 here), ...)")


def test_a_quant_spec_trains_with_qat(tmp_path):
    result = fgir.train(EXAMPLES / "quant_resnet20.yaml", tmp_path / "q.pt", data="digits", input="3x8x8",
                        epochs=1, progress=None)
    assert result.val_accuracy > 0.5
    assert fgir.load_model(tmp_path / "q.pt").state_dict().keys() == result.model.state_dict().keys()


# -- the train evaluator: per-epoch reports, user data, a test split for the best only ------------------

def test_the_train_evaluator_reports_every_epoch_and_can_stop_early():
    seen = []

    def report(epoch, row):
        seen.append((epoch, sorted(row)))
        return epoch == 2                       # stop after the second of five epochs

    graph = fgir.compile(EXAMPLES / "resnet20_cifar.yaml", input="3x8x8")
    metrics = TrainEvaluator(epochs=5, limit=256, on_epoch=report)(graph, seed=0)
    keys = ["accuracy", "epoch", "images_per_s", "kind", "loss", "lr", "seconds", "step", "val_accuracy",
            "val_loss"]
    assert seen == [(1, keys), (2, keys)]
    assert sorted(metrics) == ["accuracy", "loss"]


def test_search_train_compile_onnx_on_digits(write_spec, tmp_path):
    """The README's pipeline: search on an .npz, train best.yaml as it is, export, ONNX Runtime agrees."""
    import onnxruntime as ort
    from sklearn.datasets import load_digits

    digits = load_digits()
    data = tmp_path / "digits.npz"
    np.savez(data, x=(digits.images * 255 / 16).round().astype(np.uint8), y=digits.target)
    out = tmp_path / "out"
    search = run_fgir("search", str(write_spec(TINY)), "-o", str(out), "--budget", "2", "--epochs", "1",
                      "--input", "3x8x8", "--data", str(data))
    assert search.returncode == 0, search.stderr
    assert "on the test split (never used to select): test_accuracy 0." in search.stdout
    best = (out / "best.yaml").read_text()
    assert "\ninput: 3x8x8\n" in best and best.endswith("dataset: {data: ../digits.npz}\n")
    trained = train_cli(str(out / "best.yaml"), "-o", str(tmp_path / "best.pt"), "--epochs", "2")
    assert trained.returncode == 0, trained.stderr
    onnx = run_fgir("compile", str(out / "best.yaml"), "--weights", str(tmp_path / "best.pt"), "-o",
                    str(tmp_path / "best.onnx"))
    assert onnx.returncode == 0, onnx.stderr
    val = fgir.data.split(fgir.data.load_images(data, (3, 8, 8)), 0.2)[1]
    session = ort.InferenceSession(str(tmp_path / "best.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: val.x.numpy()})[0].argmax(1)
    with torch.no_grad():
        want = fgir.load_model(tmp_path / "best.pt").eval()(val.x).argmax(1).numpy()
    accuracy = float((got == val.y.numpy()).mean())
    assert (got == want).all() and f"val accuracy {accuracy:.4f} after 2 epochs" in trained.stdout

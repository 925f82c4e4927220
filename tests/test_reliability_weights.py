"""Weights files as users have them: another network's checkpoint, a bare state_dict, a whole pickled
module, an ONNX file; ``--weights`` for .pt output; a Prune spec's ``init_model_file`` checked by
``fgir check`` (which imports no torch)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import fgir
from conftest import EXAMPLES, ROOT
from fgir.cli import main

R20 = str(EXAMPLES / "resnet20_cifar.yaml")
R18 = str(EXAMPLES / "resnet18.yaml")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    model = fgir.to_torch(R20, seed=3)
    fgir.save_model(model, folder / "r20.pt")
    fgir.save_model(fgir.to_torch(R18, seed=0), folder / "r18.pt")
    torch.save(model.state_dict(), folder / "bare.pt")
    torch.save(model, folder / "whole.pt")
    fgir.to_onnx(R20, folder / "r20.onnx", seed=0)
    return folder


def run(capsys, *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".onnx", ".pt"])
def test_another_networks_checkpoint_is_one_line_naming_its_spec(files, tmp_path, capsys, suffix):
    status, err = run(capsys, "compile", R20, "-o", str(tmp_path / f"m{suffix}"), "--weights", str(files / "r18.pt"))
    count = 131 if suffix == ".onnx" else 142   # ONNX needs no BatchNorm update counters
    assert (status, err) == (1, f"{files / 'r18.pt'}: error: holds the weights of another network: compiled from "
                                f"{R18} (input 3x224x224), not from {R20}; {count} of its tensors do not fit\n"
                                f"{files / 'r18.pt'}: note: compile {R18} with these weights, or give weights of "
                                "this network\nfgir: 1 error\n")
    assert not (tmp_path / f"m{suffix}").exists()


def test_a_few_tensors_that_do_not_fit_are_each_named_with_the_spec_noted(files, tmp_path, capsys, write_spec):
    other = write_spec((EXAMPLES / "resnet20_cifar.yaml").read_text().replace("num_class: 10", "num_class: 100"),
                       "other.yaml")
    assert main(["compile", str(other), "-o", str(tmp_path / "other.pt"), "--seed", "0"]) == 0
    capsys.readouterr()
    status, err = run(capsys, "compile", R20, "-o", str(tmp_path / "m.onnx"), "--weights", str(tmp_path / "other.pt"))
    pt = tmp_path / "other.pt"
    assert status == 1
    assert err.splitlines()[:4] == [
        f"{pt}: error: fc.weight: has shape 100x64, but the spec needs 10x64",
        f"{pt}: note: the spec's linear 'fc' comes from {R20}:6:5 (resnet)",
        f"{pt}: note: the checkpoint was compiled from {other} (input 3x32x32)",
        f"{pt}: error: fc.bias: has shape 100, but the spec needs 10"]


@pytest.mark.parametrize("suffix", [".onnx", ".pt"])
def test_a_bare_state_dict_is_accepted_with_the_spec_on_the_command_line(files, tmp_path, capsys, suffix):
    out = tmp_path / f"m{suffix}"
    assert run(capsys, "compile", R20, "-o", str(out), "--weights", str(files / "bare.pt")) == (0, "")
    want = torch.load(files / "bare.pt", weights_only=True)
    if suffix == ".pt":
        got = fgir.load_model(out).state_dict()
        assert all(torch.equal(got[k], want[k]) for k in want)
    else:
        import onnx.numpy_helper

        conv = {t.name: t for t in __import__("onnx").load(out).graph.initializer}["conv1.weight"]
        assert onnx.numpy_helper.to_array(conv).shape == (16, 3, 3, 3)


def test_weights_for_pt_output_are_the_checkpoints(files, tmp_path, capsys):
    out = tmp_path / "copy.pt"
    assert run(capsys, "compile", R20, "-o", str(out), "--weights", str(files / "r20.pt")) == (0, "")
    want, got = fgir.load_model(files / "r20.pt").state_dict(), fgir.load_model(out).state_dict()
    assert all(torch.equal(got[k], want[k]) for k in want)
    assert run(capsys, "compile", R20, "-o", str(out), "--weights", str(files / "r20.pt"), "--seed", "1") == (
        2, "fgir: error: --seed sets fresh weights; it cannot be combined with --weights\n")


def test_torchs_advice_to_load_unsafely_never_reaches_the_user(files, tmp_path, capsys):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    whole = run(capsys, "compile", R20, "-o", str(tmp_path / "m.onnx"), "--weights", str(files / "whole.pt"))
    junk = run(capsys, "compile", R20, "-o", str(tmp_path / "m.onnx"), "--weights", str(tmp_path / "junk.pt"))
    assert whole == (2, f"{files / 'whole.pt'}: error: not a loadable weights-only checkpoint: it holds Python "
                        "objects besides tensors (a whole module saved with torch.save(model)?); fgir reads weights "
                        f"only, never running pickled code\n{files / 'whole.pt'}: note: save the weights alone: "
                        "torch.save(model.state_dict(), path)\n")
    assert junk[0] == 2 and junk[1].startswith(f"{tmp_path / 'junk.pt'}: error: not a loadable weights-only "
                                               "checkpoint: it is not a torch checkpoint (a file torch.save writes)\n")
    for _, err in (whole, junk):
        assert "weights_only" not in err and "Re-running" not in err


def test_an_onnx_file_given_as_weights_is_named_as_such(files, tmp_path, capsys):
    status, err = run(capsys, "compile", R20, "-o", str(tmp_path / "m.pt"), "--weights", str(files / "r20.onnx"))
    assert (status, err.splitlines()[0]) == (2, f"{files / 'r20.onnx'}: error: is an ONNX model, not a weights "
                                                "checkpoint")


def test_load_model_still_needs_a_checkpoint_with_its_spec(files):
    with pytest.raises(fgir.FgirError) as info:
        fgir.load_model(files / "bare.pt")
    assert info.value.message == "not an fgir checkpoint: a bare state_dict holds no spec to rebuild the network from"


def _prune_spec(folder, init_model_file: str):
    text = (EXAMPLES / "prune_resnet20.yaml").read_text().replace("init_model_file: resnet20_dense.pt",
                                                                  f"init_model_file: {init_model_file}")
    (folder / "p.yaml").write_text(text)
    return folder / "p.yaml"


def test_check_reports_a_missing_or_wrong_init_model_file(files, tmp_path, capsys):
    assert run(capsys, "check", str(_prune_spec(tmp_path, "nowhere.pt"))) == (
        2, f"{tmp_path / 'p.yaml'}:40:28: error: process.init_model_file: nowhere.pt ({tmp_path / 'nowhere.pt'}): "
           "no such file\n")
    status, err = run(capsys, "check", str(_prune_spec(tmp_path, str(files / "r20.onnx"))))
    assert (status, err.splitlines()[0]) == (2, f"{tmp_path / 'p.yaml'}:40:28: error: process.init_model_file: "
                                                f"{files / 'r20.onnx'}: is an ONNX model, not a weights checkpoint")


def test_check_accepts_a_checkpoint_as_init_model_file_without_importing_torch(files, tmp_path):
    spec = _prune_spec(tmp_path, str(files / "bare.pt"))
    code = ("import sys; from fgir.cli import main; rc = main(['check', %r]);"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc)" % str(spec))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.splitlines() == [f"{spec}: ok: 75 layers, 241,731 parameters, 36,327,384 MACs for input "
                                          "3x32x32", "NO-TORCH 0"], result.stderr

"""The command line as a user runs it: exit codes, messages, no tracebacks, no torch for check."""

import json

import pytest

from conftest import EXAMPLES, ROOT, run_fgir

LEN_ERROR = """\
search_space:
  modules: [resnet]
  resnet:
    type: ResNet
    depth: 20
    num_reps: 9
    items:
      inchannel: [16, 16, 16, 16, 32, 32, 32, 64, 64]
      outchannel: [16, 16, 16, 32, 32, 32, 64, 64, 64]
      stride: [1, 1, 1, 2, 1, 1, 2, 1]
"""


def test_check_ok():
    result = run_fgir("check", "examples/resnet50_fine_grained.yaml")
    assert result.returncode == 0
    assert result.stdout == ("examples/resnet50_fine_grained.yaml: ok: 175 layers, 23,528,522 "
                             "parameters, 4,087,156,736 MACs for input 3x224x224\n")


def test_check_reports_errors_in_compiler_form(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(LEN_ERROR)
    result = run_fgir("check", "spec.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ("spec.yaml:10:15: error: resnet.items.stride: 8 values for num_reps 9\n"
                             "fgir: 1 error (found by pass expand_repeat)\n")


def test_check_imports_no_torch():
    code = ("import sys; from fgir.cli import main; rc = main(['check', 'examples/variant_layer.yaml']);"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc)")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip().endswith("NO-TORCH 0")


@pytest.mark.parametrize("args,message", [
    (["check", "missing.yaml"], "missing.yaml: error: no such file\n"),
    (["check", "examples"], "examples: error: is a directory, not a regular file: a spec is read only from a regular file\n"),
    (["compile", "examples/resnet20_cifar.yaml", "-o", "model.xyz"],
     "fgir: error: -o model.xyz: unknown output kind '.xyz'; use one of "),
    (["compile", "examples/resnet20_cifar.yaml", "-o", "examples/resnet20_cifar.yaml"],
     "fgir: error: -o examples/resnet20_cifar.yaml would overwrite the input spec\n"),
    (["summary", "examples/resnet20_cifar.yaml", "--input", "3x0x32"],
     "error: argument --input: expected positive CxHxW such as 3x32x32, got '3x0x32'\n"),
    (["check", "examples/user_block.yaml", "--plugin", "nowhere.py"],
     "nowhere.py: error: no such plugin file\n"),
])
def test_usage_and_io_errors_exit_2(args, message):
    result = run_fgir(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_yaml_and_unsafe_tags_exit_1(tmp_path):
    (tmp_path / "a.yaml").write_text("search_space: [\n")
    (tmp_path / "b.yaml").write_text("search_space: !!python/object/apply:os.system ['true']\n")
    a = run_fgir("check", "a.yaml", cwd=tmp_path)
    b = run_fgir("check", "b.yaml", cwd=tmp_path)
    assert (a.returncode, b.returncode) == (1, 1)
    assert a.stderr.startswith("a.yaml:2:1: error: malformed YAML: ")
    assert b.stderr.startswith("b.yaml:1:15: error: unsafe YAML tag '!!python/object/apply:os.system'")


def test_summary_table():
    result = run_fgir("summary", "examples/resnet20_cifar.yaml")
    lines = result.stdout.splitlines()
    assert lines[0] == "examples/resnet20_cifar.yaml: input 3x32x32"
    assert lines[1].split() == ["Layer", "Type", "Output", "Params", "MACs"]
    assert lines[7].split() == ["layer1.1", "BasicBlock", "16x32x32", "4,672", "4,718,592"]
    assert lines[-2].split() == ["Total", "272,474", "40,813,184"]


def test_summary_json_with_input():
    result = run_fgir("summary", "examples/resnet18.yaml", "--format", "json", "--input", "3x32x32")
    summary = json.loads(result.stdout)
    assert summary["input"] == [3, 32, 32]
    assert summary["params"] == 11_181_642
    assert [row["name"] for row in summary["layers"]][:5] == ["conv1", "bn1", "relu", "maxpool",
                                                             "layer1.0"]
    assert summary["layers"][4] == {"name": "layer1.0", "type": "BasicBlock", "output": [64, 8, 8],
                                    "params": 73_984, "macs": 4_718_592, "weight_bytes": 4 * 73_984,
                                    "loc": "examples/resnet18.yaml:6:13"}


def test_compile_to_pt_and_load_model(tmp_path):
    out = tmp_path / "m.pt"
    result = run_fgir("compile", "examples/resnet20_cifar.yaml", "-o", str(out), "--seed", "7")
    assert result.returncode == 0 and result.stdout == f"wrote {out}\n"
    import fgir
    import torch

    model = fgir.load_model(out)
    assert torch.equal(model.state_dict()["conv1.weight"],
                       fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml", seed=7).state_dict()["conv1.weight"])


def test_failed_compile_writes_nothing(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(LEN_ERROR)
    result = run_fgir("compile", str(spec), "-o", str(tmp_path / "m.pt"))
    assert result.returncode == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_dump_after_prints_the_ir():
    result = run_fgir("check", "examples/resnet20_cifar.yaml", "--dump-after", "lower_blocks")
    assert result.returncode == 0
    assert result.stdout.startswith("// IR after lower_blocks\n%input = input()\n%conv1 = conv2d(%input)")


def test_plugin_blocks_and_warnings():
    result = run_fgir("summary", "--plugin", "examples/user_blocks/searchable_stage.py",
                      "examples/user_block.yaml")
    assert result.returncode == 0
    assert "stage.repeat.5  BasicBlock" in result.stdout


def test_unlisted_module_is_a_warning(tmp_path):
    (tmp_path / "s.yaml").write_text("search_space:\n  modules: [net]\n  net: {type: ResNet, depth: 20}\n"
                                     "  extra: {type: ReLU}\n")
    result = run_fgir("check", "s.yaml", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == "s.yaml:4:3: warning: extra: module 'extra' is defined but not listed in 'modules'\n"


def test_a_bug_is_reported_as_internal_error_without_traceback(tmp_path, monkeypatch, capsys):
    import fgir.api
    from fgir.cli import main

    def buggy(*args, **kwargs):
        return 1 / 0   # a bug in fgir itself (a bug in a plugin is the user's: tests/test_reliability_plugins.py)

    monkeypatch.setattr(fgir.api, "compile", buggy)
    assert main(["check", "examples/resnet20_cifar.yaml"]) == 3
    err = capsys.readouterr().err
    assert err == ("fgir: internal compiler error: division by zero\n"
                   "fgir: this is a bug in fgir; rerun with FGIR_DEBUG=1 for the traceback and report it\n")


def test_a_bug_in_a_plugin_is_the_users_error(tmp_path):
    plugin = tmp_path / "buggy.py"
    plugin.write_text("from fgir.blocks import Block, register_block\n\n"
                      "@register_block\nclass Buggy(Block):\n    def constructor(self):\n"
                      "        1 / 0\n")
    (tmp_path / "s.yaml").write_text("search_space:\n  modules: [b]\n  b: {type: Buggy}\n")
    result = run_fgir("check", "--plugin", "buggy.py", "s.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ("buggy.py:6:9: error: Buggy.constructor raised ZeroDivisionError: division by zero\n"
                             "s.yaml:3:6: note: b: used here\nfgir: 1 error\n")


def test_python_dash_m_and_version():
    result = run_fgir("--version")
    assert result.returncode == 0 and result.stdout.startswith("fgir ")


def test_onnx_only_options_are_refused_for_pt(tmp_path):
    result = run_fgir("compile", "examples/resnet20_cifar.yaml", "-o", str(tmp_path / "m.pt"),
                      "--opset", "17", "--keep-bn")
    assert result.returncode == 2
    assert result.stderr == "fgir: error: --opset, --keep-bn apply to .onnx output, not to .pt\n"
    assert list(tmp_path.iterdir()) == []


def test_max_params_refuses_before_allocating(tmp_path):
    result = run_fgir("compile", "examples/resnet18.yaml", "-o", str(tmp_path / "m.pt"),
                      "--max-params", "1000000")
    assert result.returncode == 1
    assert result.stderr.startswith("examples/resnet18.yaml: error: the network has 11,181,642 "
                                    "parameters, more than the limit of 1,000,000\n")


def test_a_single_layer_spec_compiles(tmp_path):
    (tmp_path / "s.yaml").write_text("search_space:\n  modules: [m]\n  m: {type: Identity}\n")
    result = run_fgir("compile", "s.yaml", "-o", "m.pt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_check_validates_hyper_parameters(tmp_path):
    ok = run_fgir("check", "examples/backbone_nas.yaml")
    assert ok.stdout.splitlines()[1] == ("examples/backbone_nas.yaml: ok: 2 searchable "
                                         "hyper-parameters (layer.doublechannel, layer.downsample)")
    text = (ROOT / "examples" / "backbone_nas.yaml").read_text().replace(
        "layer.downsample : [", "layer.downsampel : [")
    (tmp_path / "s.yaml").write_text(text)
    bad = run_fgir("check", "s.yaml", cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr.startswith("s.yaml:10:19: error: hyper_parameters.layer.downsampel: VariantLayer "
                                 "'layer' has no argument 'downsampel'\ns.yaml:10:19: note: did you "
                                 "mean 'downsample'?\n")


def test_writing_into_a_missing_folder_is_an_io_error(tmp_path):
    result = run_fgir("compile", "examples/resnet20_cifar.yaml", "-o", str(tmp_path / "no" / "m.pt"))
    assert result.returncode == 2
    assert result.stderr == f"fgir: error: -o {tmp_path / 'no' / 'm.pt'}: folder {tmp_path / 'no'} does not exist\n"


def test_search_never_overwrites_its_spec(tmp_path):
    spec = tmp_path / "best.yaml"
    spec.write_text((ROOT / "examples" / "backbone_nas.yaml").read_text())
    before = spec.read_text()
    result = run_fgir("search", str(spec), "-o", str(tmp_path), "--budget", "2")
    assert result.returncode == 2
    assert result.stderr == f"fgir: error: -o {tmp_path} would overwrite the input spec with best.yaml\n"
    assert spec.read_text() == before

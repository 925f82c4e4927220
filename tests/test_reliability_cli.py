"""The command line's rough edges a new user hit: pipes, YAML's wording, several files, JSON, ``fgir blocks``,
``--dump-after``, and cascades of errors that hid the one that mattered."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest

from conftest import EXAMPLES, ROOT
from fgir.cli import main

GOOD = "search_space:\n  modules: [net]\n  net: {type: ResNet, depth: 20}\n"


def fgir_check(tmp_path, monkeypatch, capsys, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    monkeypatch.chdir(tmp_path)
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = main(["check", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_a_closed_pipe_exits_quietly():
    """``fgir check ... | head -1``: the reader leaves after one line; fgir says nothing and exits 0."""
    proc = subprocess.Popen([sys.executable, "-m", "fgir", "check", "examples/resnet50.yaml", "--dump-after", "all"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"// IR after expand_repeat\n"
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    assert proc.stderr.read() == b""


def test_a_tab_in_the_indentation_is_named(tmp_path, monkeypatch, capsys):
    (tmp_path / "s.yaml").write_text("search_space:\n  modules: [net]\n\tnet: {type: ResNet, depth: 20}\n")
    assert fgir_check(tmp_path, monkeypatch, capsys, "s.yaml") == (
        1, "", "s.yaml:3:1: error: malformed YAML: a tab in the indentation: YAML indents with spaces only\n"
               "fgir: 1 error\n")


def test_a_misspelt_search_space_gets_the_right_suggestion(tmp_path, monkeypatch, capsys):
    (tmp_path / "s.yaml").write_text(GOOD.replace("search_space", "serach_space"))
    assert fgir_check(tmp_path, monkeypatch, capsys, "s.yaml") == (
        1, "", "s.yaml:1:1: error: serach_space: the spec has no 'search_space' section\n"
               "s.yaml:1:1: note: did you mean 'search_space'?\nfgir: 1 error\n")


def test_pyyamls_wording_becomes_what_is_wrong_and_where(tmp_path, monkeypatch, capsys):
    (tmp_path / "s.yaml").write_text("search_space:\n  modules: [net]\n  net: type: ResNet\n")
    assert fgir_check(tmp_path, monkeypatch, capsys, "s.yaml") == (
        1, "", "s.yaml:3:12: error: malformed YAML: a second 'key:' on one line: a value cannot itself be "
               "'key: value'\ns.yaml:3:12: note: put the inner mapping on the next lines, indented, or in braces "
               "({type: ResNet}); quote a value that holds ': '\nfgir: 1 error\n")


@pytest.mark.parametrize("text,message", [
    ("a: [1, 2\nb: 3\n", "2:2: error: malformed YAML: the '[' list opened at 1:4 is not closed: expected ',' or ']'"),
    ("a: 'abc\nb: 2\n", "1:4: error: malformed YAML: the quoted string opened at 1:4 is never closed"),
    ("a: *x\n", "1:4: error: malformed YAML: '*x' refers to no anchor: define it first with '&x'"),
    ("a:\n  - 1\n  b: 2\n", "3:3: error: malformed YAML: a 'key: value' line inside a list whose items start "
                            "with '- '"),
    ("a: 1\n---\nb: 2\n", "2:1: error: malformed YAML: a second YAML document ('---'): a spec is one document"),
])
def test_other_yaml_mistakes_are_explained(text, message):
    import fgir

    with pytest.raises(fgir.FgirError) as info:
        fgir.loads(text, "s.yaml")
    assert str(info.value.diagnostics[0]).splitlines()[0] == f"s.yaml:{message}"


def test_check_takes_several_files_and_stdin(tmp_path, monkeypatch, capsys):
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad.yaml").write_text(GOOD.replace("ResNet", "ResNt"))
    status, out, err = fgir_check(tmp_path, monkeypatch, capsys, "good.yaml", "-", "bad.yaml", stdin=GOOD)
    assert status == 1
    assert out == ("good.yaml: ok: 73 layers, 272,474 parameters, 40,813,184 MACs for input 3x32x32\n"
                   "<stdin>: ok: 73 layers, 272,474 parameters, 40,813,184 MACs for input 3x32x32\n")
    assert err == ("bad.yaml:3:15: error: net.type: unknown block type 'ResNt'\n"
                   "bad.yaml:3:15: note: did you mean 'ResNet'?\nfgir: 1 error\n")
    assert fgir_check(tmp_path, monkeypatch, capsys, "good.yaml", "missing.yaml", "bad.yaml")[0] == 2   # the worst


def test_check_format_json_prints_every_diagnostic(tmp_path, monkeypatch, capsys):
    (tmp_path / "good.yaml").write_text(GOOD + "  extra: {type: ReLU}\n")
    (tmp_path / "bad.yaml").write_text(GOOD.replace("ResNet", "ResNt"))
    status, out, err = fgir_check(tmp_path, monkeypatch, capsys, "good.yaml", "bad.yaml", "--format", "json")
    assert (status, err) == (1, "")
    assert json.loads(out) == {
        "files": [{"file": "good.yaml", "ok": True, "layers": 73, "params": 272474, "macs": 40813184,
                   "input": [3, 32, 32]},
                  {"file": "bad.yaml", "ok": False}],
        "diagnostics": [
            {"file": "good.yaml", "line": 4, "col": 3, "path": "extra", "severity": "warning",
             "message": "module 'extra' is defined but not listed in 'modules'", "hints": [], "notes": []},
            {"file": "bad.yaml", "line": 3, "col": 15, "path": "net.type", "severity": "error",
             "message": "unknown block type 'ResNt'", "hints": ["did you mean 'ResNet'?"], "notes": []}]}


def test_blocks_lists_every_type_with_its_typed_arguments(capsys):
    assert main(["blocks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert next(line for line in lines if line.startswith("BasicBlock ")).split(None, 2) == ["BasicBlock", "block",
                                      "(inchannel, outchannel, stride=1, inner_plane=null, groups=1, base_width=64)"]
    assert [line.split()[0] for line in lines if line.split()[1] == "process"] == ["Prune", "Quant"]
    assert main(["blocks", "Conv2d"]) == 0
    assert capsys.readouterr().out.splitlines()[:4] == [
        "Conv2d: a layer, from fgir", "  in_channels   a positive integer or null; default null",
        "  out_channels  a positive integer; required", "  kernel_size   a positive integer or a pair of them; required"]


def test_blocks_lists_a_plugins_blocks_and_suggests_for_a_typo(capsys):
    plugin = str(EXAMPLES / "user_blocks" / "searchable_stage.py")
    assert main(["blocks", "--plugin", plugin, "SearchableStage", "--format", "json"]) == 0
    entry = json.loads(capsys.readouterr().out)
    assert (entry["kind"], entry["from"], entry["arguments"][0]) == (
        "block", plugin, {"name": "in_plane", "type": "a positive integer", "required": True})
    assert main(["blocks", "BasicBlok"]) == 2
    assert capsys.readouterr().err == ("fgir blocks: error: no block type 'BasicBlok'; did you mean 'BasicBlock'? "
                                       "('fgir blocks' lists them)\n")


def test_a_dump_after_that_names_no_pass_is_a_usage_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "s.yaml").write_text(GOOD)
    status, out, err = fgir_check(tmp_path, monkeypatch, capsys, "s.yaml", "--dump-after", "infer_shape")
    assert (status, out) == (2, "")
    assert err == ("fgir: error: --dump-after infer_shape: not a pass of the default pipeline (expand_repeat, "
                   "lower_blocks, apply_prune, infer_shapes, check_channels, apply_quant, count_cost)\n")


def test_a_linear_before_a_resnet_is_one_error_not_86(tmp_path, monkeypatch, capsys):
    (tmp_path / "s.yaml").write_text("search_space:\n  modules: [fc, net]\n  fc: {type: Linear, out_features: 10}\n"
                                     "  net: {type: ResNet, depth: 20}\n")
    assert fgir_check(tmp_path, monkeypatch, capsys, "s.yaml") == (
        1, "", "s.yaml:3:7: error: fc: linear 'fc' needs a flattened input but gets 3x32x32; add a View or Flatten "
               "before it\nfgir: 1 error (found by pass check_channels)\n")


def test_a_block_type_typo_adds_no_spurious_process_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "s.yaml").write_text("search_space:\n  modules: [net, q]\n  net: {type: ResNt, depth: 20}\n"
                                     "  q: {type: Quant, nbit_w_list: 8, nbit_a_list: 8}\n")
    assert fgir_check(tmp_path, monkeypatch, capsys, "s.yaml") == (
        1, "", "s.yaml:3:15: error: net.type: unknown block type 'ResNt'\n"
               "s.yaml:3:15: note: did you mean 'ResNet'?\nfgir: 1 error\n")


def _prune_spec(edit) -> str:
    lines = (EXAMPLES / "prune_resnet20.yaml").read_text().split("\n")
    first = next(i for i, line in enumerate(lines) if "chn_mask:" in line)
    edit(lines, first)
    return "\n".join(lines)


def test_every_mask_error_is_reported_when_some_keep_no_channels(tmp_path, monkeypatch, capsys):
    def edit(lines, first):
        for i in (first, first + 1):     # chn_mask[0] and [1] keep nothing
            lines[i] = re.sub(r"\b1\b", "0", lines[i])
        lines[first + 3] = lines[first + 3].replace("[1, 1, 1,", "[1, 1,", 1)   # chn_mask[3] one too short

    (tmp_path / "s.yaml").write_text(_prune_spec(edit))
    status, _, err = fgir_check(tmp_path, monkeypatch, capsys, "s.yaml")
    assert status == 1
    assert [line.split(": error: ")[1][:60] for line in err.splitlines() if ": error: " in line] == [
        "process.chn_mask[0]: chn_mask[0] keeps no channels: a layer ",
        "process.chn_mask[1]: chn_mask[1] keeps no channels: a layer ",
        "process.chn_mask[3]: chn_mask[3] keeps 28 of 31 channels, bu"]
    assert err.endswith("fgir: 3 errors (found by pass apply_prune)\n")


def test_a_process_is_checked_when_the_network_before_it_has_errors(tmp_path, monkeypatch, capsys):
    def edit(lines, first):
        lines[first] = lines[first].replace("[[1, 0,", "[[1, 2,", 1)
        lines[first + 7] = lines[first + 7].replace("[0, 1,", "[0, 3,", 1)
        lines.insert(next(i for i, line in enumerate(lines) if "depth: 20" in line) + 1, "          bogus: 1")

    (tmp_path / "s.yaml").write_text(_prune_spec(edit))
    status, _, err = fgir_check(tmp_path, monkeypatch, capsys, "s.yaml")
    assert status == 1
    assert [line.split(": error: ")[1] for line in err.splitlines() if ": error: " in line] == [
        "resnet.bogus: unknown argument 'bogus' for ResNet",
        "process.chn_mask[0][1]: expected 0 or 1, got 2",
        "process.chn_mask[7][1]: expected 0 or 1, got 3"]

"""Input files and API calls as hostile users give them (issue 27): endless files and FIFOs refused before
a read (F5), zip bombs refused before inflating (F6), control characters never reach the terminal (F7),
memory bounded before allocation (F8), misshapen checkpoints, wrong arguments and misplaced NUL bytes
(F9-F11), a resumed run that never checkpointed (F12), and ``check`` and ``compile`` agreeing (F13)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile

import pytest
import torch

import fgir
from conftest import ROOT
from fgir.cli import main

TINY = ("input: 3x8x8\nsearch_space:\n  modules: [init, head]\n  init: {type: SmallInputInitialBlock, init_plane: 4}\n"
        "  head: {type: LinearClassificationHead, num_class: 10}\n")
COMPILER_FORM = re.compile(r"^(\S.*?)(:\d+:\d+)?: (error|warning|note): |^fgir: (\d+ errors?|error|note)")


def run(capsys, *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().err


def fgir_process(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """fgir in a child process: an input read without bound, or a FIFO blocking, fails the test by its timeout
    instead of hanging the suite."""
    return subprocess.run([sys.executable, "-m", "fgir", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


# -- F5: endless inputs are refused from stat, before a read -------------------------------------
def test_check_refuses_dev_zero_at_once():
    result = fgir_process("check", "/dev/zero", timeout=30)
    assert (result.returncode, result.stderr) == (
        2, "/dev/zero: error: is a character device, not a regular file: a spec is read only from a regular file\n")


def test_check_and_the_api_refuse_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    result = fgir_process("check", str(fifo), timeout=30)
    assert (result.returncode, result.stderr) == (
        2, f"{fifo}: error: is a FIFO (named pipe), not a regular file: a spec is read only from a regular file\n")
    code = f"import fgir\ntry:\n    fgir.load({str(fifo)!r})\nexcept fgir.FgirError as e:\n    print(type(e).__name__)"
    api = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert api.stdout == "SpecIOError\n", api.stderr
    weights = fgir_process("compile", str(ROOT / "examples/resnet20_cifar.yaml"), "-o", str(tmp_path / "m.onnx"),
                           "--weights", str(fifo), timeout=120)
    assert weights.returncode == 2 and "FIFO" in weights.stderr


def test_a_spec_over_the_bound_is_refused_unread(tmp_path, capsys):
    from fgir.limits import MAX_SPEC_BYTES

    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(MAX_SPEC_BYTES + 1)   # sparse: nothing is written, nothing needs be read
    assert run(capsys, "check", str(big)) == (2, f"{big}: error: is 8.0 MiB, larger than a spec may be (8.0 MiB)\n")


# -- F6: a zip bomb is refused from its central directory ------------------------------------------
def test_a_checkpoint_whose_record_inflates_far_beyond_its_file_is_refused(tmp_path):
    real = tmp_path / "real.pt"
    fgir.save_model(fgir.to_torch(TINY, seed=0), real)
    bomb = tmp_path / "bomb.pt"
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(real) as source, zipfile.ZipFile(bomb, "w") as out:
        for record in source.infolist():
            if record.filename.endswith("/data/0"):   # the first tensor: 256 MiB of zeros, deflated to ~256 KiB
                deflated = zipfile.ZipInfo(record.filename)
                deflated.compress_type = zipfile.ZIP_DEFLATED
                with out.open(deflated, "w", force_zip64=True) as f:
                    for _ in range(256):
                        f.write(zeros)
                continue
            out.writestr(record, source.read(record.filename))
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(fgir.FgirError) as info:
        fgir.load_model(bomb)
    message = str(info.value)
    assert message.startswith(f"{bomb}: error: its records declare 268,")
    assert "/data/0: 268,435,456), more than a " in message and "(a zip bomb?); refused before inflating any" in message


# -- F7: control and bidi characters in echoed spec text are escaped --------------------------------
def test_control_characters_in_a_spec_never_reach_the_terminal(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(TINY.replace("SmallInputInitialBlock",
                                 '"\\e[2J\\e]0;title\\a\\r\\nfake.yaml:1:1: error: injected \\u202e"'))
    status, err = run(capsys, "check", str(spec))
    assert status == 1
    escaped = "'\\x1b[2J\\x1b]0;title\\x07\\r\\nfake.yaml:1:1: error: injected \\u202e'"
    assert err.splitlines()[0] == f"{spec}:4:16: error: init.type: unknown block type {escaped}"
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", err)
    assert all(line.startswith(str(spec)) or line.startswith("fgir: ") for line in err.splitlines())
    assert all(COMPILER_FORM.match(line) for line in err.splitlines())


# -- F11: a NUL byte is located where it is ---------------------------------------------------------
def test_a_nul_byte_is_located_at_its_line_and_column(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_bytes(TINY.replace("num_class: 10", "num_class: 1\x000").encode())
    assert run(capsys, "check", str(spec)) == (
        1, f"{spec}:5:54: error: malformed YAML: a NUL byte (U+0000) is not allowed in YAML text\nfgir: 1 error\n")


# -- F8: memory is bounded before anything is allocated --------------------------------------------
BIG = ("input: 3x32x32\nsearch_space:\n  modules: [init, head]\n  init: {type: SmallInputInitialBlock, init_plane: 600}\n"
       "  head: {type: LinearClassificationHead, num_class: 1000000}\n")   # 601 million parameters


def test_max_memory_refuses_a_network_before_allocating_it(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "big.yaml"
    spec.write_text(BIG)
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status, err = run(capsys, "compile", str(spec), "-o", str(tmp_path / "m.pt"), "--max-memory", "2G")
    assert status == 2
    assert err.splitlines()[0] == (f"{spec}: error: building the network takes about 4.5 GiB (601,017,400 "
                                   "parameters), more than the memory limit of 2.0 GiB")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000   # KiB: nothing was allocated
    monkeypatch.setattr("fgir.limits.machine_memory", lambda: 1 << 30)   # the default: a share of the machine
    status, err = run(capsys, "compile", str(spec), "-o", str(tmp_path / "m.onnx"))
    assert status == 2 and "more than the memory limit of 768.0 MiB" in err


def test_running_out_of_memory_anyway_is_exit_2_with_the_figure(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)

    def exhausted(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 3600000000 bytes.")

    monkeypatch.setattr("fgir.api.to_torch", exhausted)
    status, err = run(capsys, "compile", str(spec), "-o", str(tmp_path / "m.pt"))
    assert status == 2
    assert re.match(r"fgir: error: ran out of memory \(this process had reached \d+\.\d \w+; it may use ", err)
    monkeypatch.setattr("fgir.api.to_torch", lambda *a, **k: (_ for _ in ()).throw(MemoryError()))
    assert run(capsys, "compile", str(spec), "-o", str(tmp_path / "m.pt"))[0] == 2


# -- F9: a misshapen checkpoint names the tensor and both shapes ---------------------------------
def test_load_model_names_a_misshapen_tensor(tmp_path):
    fgir.save_model(fgir.to_torch(TINY, seed=0), tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["state_dict"]["head.linear.weight"] = payload["state_dict"]["head.linear.weight"][:, :2].clone()
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(fgir.FgirError) as info:
        fgir.load_model(tmp_path / "bad.pt")
    assert str(info.value) == (f"{tmp_path / 'bad.pt'}: error: does not fit this network: it has other shapes for "
                               "1 tensor (head.linear.weight (10x2 there, 10x4 here))")


# -- F10: API misuses are ArgumentErrors -------------------------------------------------------------
@pytest.mark.parametrize("call,message", [
    (lambda t: fgir.train(TINY, data="digits", epochs=1, progress=None, run_dir=3.5),
     "fgir.train: error: run_dir: expected a file path, got float"),
    (lambda t: fgir.train(TINY, data="digits", epochs=1, progress=None, weights=torch.tensor(True)),
     "fgir.train: error: weights: expected a file path, got Tensor"),
    (lambda t: fgir.train(TINY, data="digits", epochs=1, progress=None, resume=torch.zeros(2)),
     "fgir.train: error: resume: expected True or False, got Tensor"),
    (lambda t: fgir.prune(TINY, fgir.to_torch(TINY, seed=0), ratio=0.5, keep=4),
     "fgir.prune: error: keep: expected a list of names, got int"),
    (lambda t: fgir.load_model("m\x00.pt"), "fgir.load_model: error: path: a path cannot hold a NUL byte, got "
                                            "'m\\x00.pt'"),
    (lambda t: fgir.save_model(fgir.to_torch(TINY, seed=0), t / ("x" * 300 + ".pt")),
     "fgir.save_model: error: path: a file name of 303 bytes; file systems take 255 at most"),
    (lambda t: fgir.compile(TINY, dump_after=torch.tensor(3)),
     "fgir.compile: error: dump_after: expected a pass name or a list of them, got Tensor"),
])
def test_api_misuses_are_argument_errors(tmp_path, call, message):
    with pytest.raises(fgir.FgirError) as info:
        call(tmp_path)
    assert type(info.value).__name__ == "ArgumentError"
    assert str(info.value).splitlines()[0] == message


def test_a_run_folder_that_is_a_file_is_a_write_error(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(fgir.FgirError) as info:
        fgir.train(TINY, data="digits", epochs=1, progress=None, run_dir=tmp_path / "a_file")
    assert str(info.value).startswith(f"{tmp_path / 'a_file'}: error: cannot write: ")


# -- F12: --resume of a run killed before its first checkpoint starts over ---------------------------
def test_resume_before_the_first_checkpoint_starts_over_with_a_note(tmp_path):
    out = tmp_path / "m.pt"
    run_dir = tmp_path / "m.train"
    run_dir.mkdir()
    (run_dir / "recipe.json").write_text("{}\n")   # what a run killed (kill -9) in its first epoch leaves
    result = fgir.train(TINY, out, data="digits", epochs=1, progress=None, resume=True)
    assert result.resumed_at is None and len(result.history) == 1 and out.exists()
    assert f"{run_dir}: note: holds no checkpoint (the run stopped before its first): starting over" in result.warnings


# -- F13: check and compile agree -----------------------------------------------------------------
def test_check_and_compile_agree_on_a_wrong_search_space(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    text = (ROOT / "examples" / "backbone_nas.yaml").read_text() if (ROOT / "examples" / "backbone_nas.yaml").exists() \
        else None
    if text is None:
        pytest.skip("examples/backbone_nas.yaml is gone")
    spec.write_text(re.sub(r"layer\.doublechannel: \[[^\]]*\]", "layer.doublechannel: [0, 1, 7, 0, 1, 0, 0, 1]",
                           text, count=1))
    check_status, check_err = run(capsys, "check", str(spec))
    compile_status, compile_err = run(capsys, "compile", str(spec), "-o", str(tmp_path / "m.pt"))
    assert check_status == compile_status == 1
    assert check_err == compile_err
    assert not (tmp_path / "m.pt").exists()

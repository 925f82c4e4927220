"""Output paths fgir was never asked to write stay untouched (issue 27): a symlinked search lock (F1), a
device or a FIFO where a model goes (F2), a full disk under torch.save and under ``fgir train`` (F3), the
ONNX external data file replaced in place from any working directory, with ordinary permissions (F8)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest
import torch

import fgir
from conftest import EXAMPLES, ROOT
from fgir.cli import main

R20 = str(EXAMPLES / "resnet20_cifar.yaml")
TINY = ("input: 3x8x8\nsearch_space:\n  modules: [init, head]\n  init: {type: SmallInputInitialBlock, init_plane: 4}\n"
        "  head: {type: LinearClassificationHead, num_class: 10}\n")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="making a device node (mknod) needs root")


def run(capsys, *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().err


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


# -- F1: the search lock never follows a link -----------------------------------------------------
def test_a_symlinked_search_lock_leaves_its_target_alone(tmp_path):
    from fgir.search.store import ResultStore

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").symlink_to(victim)
    with pytest.raises(fgir.FgirError) as info:
        ResultStore(out, {"seed": 0})
    assert str(info.value).splitlines()[0] == (f"{out / '.lock'}: error: is a symbolic link: fgir never follows "
                                               "one at its lock")
    assert victim.read_text() == "precious\n"
    assert (out / ".lock").is_symlink()


def test_a_fifo_at_the_lock_or_the_results_is_refused_without_blocking(tmp_path):
    from fgir.search.store import ResultStore

    out = tmp_path / "out"
    ResultStore(out, {"seed": 0}).close()   # a search's folder, its results file a FIFO
    os.mkfifo(out / "results.jsonl")
    with pytest.raises(fgir.FgirError) as info:   # reading it would block for ever
        ResultStore(out, {"seed": 0})
    assert "is a FIFO (named pipe), not a regular file" in str(info.value)
    assert stat.S_ISFIFO(os.lstat(out / "results.jsonl").st_mode)


# -- F2: a device or a FIFO at the output is never replaced -------------------------------------
def test_a_fifo_where_the_model_goes_is_refused_with_exit_2(tmp_path, tiny, capsys):
    out = tmp_path / "m.onnx"
    os.mkfifo(out)
    status, err = run(capsys, "compile", str(tiny), "-o", str(out))
    assert (status, err) == (2, f"{out}: error: is a FIFO (named pipe), not a regular file: fgir replaces only "
                                f"regular files\n{out}: note: choose another output path\n")
    assert stat.S_ISFIFO(os.lstat(out).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "tiny.yaml"]


@ROOT_ONLY
@pytest.mark.parametrize("suffix", [".pt", ".onnx"])
def test_a_device_where_the_model_goes_stays_a_device(tmp_path, tiny, capsys, suffix):
    out = tmp_path / f"null{suffix}"
    os.mknod(out, 0o666 | stat.S_IFCHR, os.makedev(1, 3))   # what /dev/null is
    status, err = run(capsys, "compile", str(tiny), "-o", str(out))
    assert (status, err.splitlines()[0]) == (2, f"{out}: error: is a character device, not a regular file: fgir "
                                                "replaces only regular files")
    assert stat.S_ISCHR(os.lstat(out).st_mode)


@ROOT_ONLY
def test_save_model_never_replaces_a_device(tmp_path):
    out = tmp_path / "zero"
    os.mknod(out, 0o666 | stat.S_IFCHR, os.makedev(1, 5))   # what /dev/zero is
    with pytest.raises(fgir.FgirError, match="is a character device, not a regular file"):
        fgir.save_model(fgir.to_torch(TINY, seed=0), out)
    assert stat.S_ISCHR(os.lstat(out).st_mode)


def test_a_symlinked_output_is_replaced_and_its_target_kept(tmp_path, tiny):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "m.pt").symlink_to(victim)
    fgir.save_model(fgir.to_torch(tiny, seed=0), tmp_path / "m.pt")
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "m.pt").is_symlink() and fgir.load_model(tmp_path / "m.pt") is not None


# -- F3: a write that fails is exit 2 naming the file and why --------------------------------------
# a child that writes under a file-size limit: torch's zip writer fails as on a full disk (RuntimeError)
LIMITED = textwrap.dedent("""
    import resource, signal, sys
    from fgir.cli import main
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
    sys.exit(main(sys.argv[2:]))
""")


def limited(limit: int, *args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LIMITED, str(limit), *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.mark.parametrize("suffix", [".pt", ".onnx"])
def test_a_write_that_fails_midway_is_exit_2_naming_the_file(tmp_path, suffix):
    out = tmp_path / f"m{suffix}"
    result = limited(64 * 1024, "compile", R20, "-o", str(out))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"{out}: error: cannot write: "), result.stderr
    assert "internal" not in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []   # no partial file, no temporary left


def test_torchs_zip_writer_failing_is_a_write_error(tmp_path, monkeypatch):
    def full_disk(obj, f, *args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 512 vs 448")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(fgir.FgirError) as info:
        fgir.save_model(fgir.to_torch(TINY, seed=0), tmp_path / "m.pt")
    assert type(info.value).__name__ == "WriteError" and isinstance(info.value, OSError)
    assert str(info.value).startswith(f"{tmp_path / 'm.pt'}: error: cannot write: ")
    assert list(tmp_path.iterdir()) == []


def test_train_keeps_the_last_good_checkpoint_when_a_later_write_fails(tmp_path, monkeypatch):
    from fgir.training import state

    real = torch.save
    calls = []

    def second_fails(obj, f, *args, **kwargs):
        calls.append(f)
        if len(calls) == 2:
            raise RuntimeError("[enforce fail at inline_container.cc:603] . PytorchStreamWriter failed writing "
                               "file data/3: file write failed")
        return real(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", second_fails)
    out = tmp_path / "m.pt"
    with pytest.raises(fgir.FgirError) as info:
        fgir.train(TINY, out, data="digits", input="3x8x8", epochs=3, progress=None)
    checkpoint = tmp_path / "m.train" / "checkpoint.pt"
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{checkpoint}: error: cannot write: ")
    assert lines[1] == (f"{checkpoint}: note: the last good checkpoint (epoch 1, step 23) is kept: --resume "
                        "continues from it")
    monkeypatch.setattr(torch, "save", real)
    assert state.read_state(checkpoint)["epoch"] == 1
    result = fgir.train(TINY, out, data="digits", input="3x8x8", epochs=3, progress=None, resume=True)
    assert result.resumed_at == 23 and len(result.history) == 3


def test_a_full_tmpfs_is_exit_2(tmp_path, tiny):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "full"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"this machine cannot mount a tmpfs ({made.stderr.decode().strip()})")
    try:
        out = mount / "m.pt"
        result = subprocess.run([sys.executable, "-m", "fgir", "compile", R20, "-o", str(out)], capture_output=True,
                                text=True, cwd=ROOT, timeout=300)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"{out}: error: cannot write: No space left on device"), result.stderr
        assert list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mount)], check=False)


# -- F8: external data beside the model, in any working directory, ordinary permissions ----------------
def test_external_data_is_replaced_in_place_from_the_models_folder(tmp_path, monkeypatch):
    import onnx
    import numpy as np

    monkeypatch.setattr("fgir.backends.onnx.io.EXTERNAL_THRESHOLD", 1024)
    monkeypatch.chdir(tmp_path)
    umask = os.umask(0o022)
    try:
        fgir.to_onnx(R20, "m.onnx", seed=0)
        first = (tmp_path / "m.onnx.data").read_bytes()
        fgir.to_onnx(R20, "m.onnx", seed=1)   # over its own data file, in the working directory
        (tmp_path / "sub").mkdir()
        monkeypatch.chdir(tmp_path / "sub")
        fgir.to_onnx(R20, tmp_path / "m.onnx", seed=2)   # and from elsewhere
    finally:
        os.umask(umask)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["m.onnx", "m.onnx.data", "sub"]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir() if p.is_file()}
    assert modes == {"m.onnx": 0o644, "m.onnx.data": 0o644}
    assert (tmp_path / "m.onnx.data").read_bytes() != first
    model = onnx.load(tmp_path / "m.onnx")
    want = fgir.to_torch(R20, seed=2).state_dict()["fc.weight"].numpy()
    got = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}["fc.weight"]
    assert np.array_equal(got, want)


def test_a_failed_external_data_write_leaves_nothing(tmp_path, monkeypatch):
    from fgir.backends.onnx import io

    def half(model):
        yield b"\x08\x08"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io, "model_chunks", half)
    with pytest.raises(fgir.FgirError) as info:
        io.save_atomic(fgir.to_onnx(R20, seed=0), tmp_path / "m.onnx", external_threshold=1024)
    assert str(info.value) == f"{tmp_path / 'm.onnx'}: error: cannot write: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_metrics_appended_never_through_a_link(tmp_path):
    from fgir.atomic import append_text

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "metrics.jsonl").symlink_to(victim)
    with pytest.raises(fgir.FgirError, match="is a symbolic link"):
        append_text(tmp_path / "metrics.jsonl", "{}\n")
    assert victim.read_text() == "precious\n"

"""Model files and training checkpoints are written whole or not at all: ``kill -9`` mid-write leaves the
previous file as it was (and the next write removes the killed writer's temporary file), and two
writers of one file never mix their bytes."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

import fgir
from conftest import EXAMPLES, ROOT

R20 = str(EXAMPLES / "resnet20_cifar.yaml")

# a child process that starts writing ``target``, stops halfway (after flushing what it wrote), says
# HALF, and waits to be killed
HALFWAY = textwrap.dedent("""
    import io, sys, time
    import torch
    import fgir
    kind, target = sys.argv[1], sys.argv[2]

    def stop_halfway(write_rest_of):
        print("HALF", flush=True)
        time.sleep(120)

    real_save = torch.save
    def half_save(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer)
        data = buffer.getvalue()
        out = open(f, "wb") if isinstance(f, (str, bytes)) or hasattr(f, "__fspath__") else f
        out.write(data[: len(data) // 2])
        out.flush()
        stop_halfway(out)
    torch.save = half_save

    if kind == "pt":
        fgir.save_model(fgir.to_torch(%(spec)r, seed=1), target)
    elif kind == "train":
        from fgir.training.state import write_state
        write_state(__import__("pathlib").Path(target), {"epoch": 2, "fingerprint": {}})
    else:
        import fgir.backends.onnx.io as onnx_io
        real_chunks = onnx_io.model_chunks
        def half_chunks(model):
            chunks = list(real_chunks(model))
            yield from chunks[: len(chunks) // 2]
            stop_halfway(None)
        onnx_io.model_chunks = half_chunks
        fgir.to_onnx(%(spec)r, target, seed=1)
""") % {"spec": R20}


def write_whole(kind: str, target) -> None:
    if kind == "pt":
        fgir.save_model(fgir.to_torch(R20, seed=0), target)
    elif kind == "train":
        from fgir.training.state import write_state

        write_state(target, {"epoch": 1, "fingerprint": {}})
    else:
        fgir.to_onnx(R20, target, seed=0)


def read_back(kind: str, target):
    if kind == "pt":
        return fgir.load_model(target).state_dict()["conv1.weight"]
    if kind == "train":
        from fgir.training.state import read_state

        return read_state(target)["epoch"]
    import onnx

    return onnx.load(target).graph.initializer[0].raw_data


@pytest.mark.parametrize("kind,name", [("pt", "m.pt"), ("onnx", "m.onnx"), ("train", "checkpoint.pt")])
def test_kill_9_mid_write_leaves_the_previous_file_and_the_next_write_tidies(tmp_path, kind, name):
    target = tmp_path / name
    write_whole(kind, target)
    before = read_back(kind, target)
    child = subprocess.Popen([sys.executable, "-c", HALFWAY, kind, str(target)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "HALF\n", child.stderr.read()
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        child.kill()
    after = read_back(kind, target)
    assert torch.equal(after, before) if kind == "pt" else after == before
    assert len(list(tmp_path.iterdir())) == 2          # the target, and what the killed writer left
    write_whole(kind, target)                          # the next write removes it
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_two_writers_of_one_checkpoint_never_mix_their_bytes(tmp_path, monkeypatch):
    """A second save of the same file starts while the first is halfway (two processes, or a
    callback): each writes its own temporary file; the file is one whole checkpoint."""
    target = tmp_path / "m.pt"
    first, second = fgir.to_torch(R20, seed=1), fgir.to_torch(R20, seed=2)
    real_save = torch.save
    calls = []

    def interleaved(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer)
        data = buffer.getvalue()
        out = open(f, "wb") if not hasattr(f, "write") else f
        out.write(data[: len(data) // 2])
        out.flush()
        if not calls:
            calls.append(1)
            fgir.save_model(second, target)            # the other writer, start to end
        out.write(data[len(data) // 2:])
        out.flush()
        if out is not f:
            out.close()

    monkeypatch.setattr(torch, "save", interleaved)
    fgir.save_model(first, target)
    monkeypatch.setattr(torch, "save", real_save)
    assert torch.equal(fgir.load_model(target).state_dict()["conv1.weight"], first.state_dict()["conv1.weight"])
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_files_written_whole_get_ordinary_permissions(tmp_path):
    # mkstemp makes its files private to the owner: a model written through it must not stay so
    import os
    import stat

    umask = os.umask(0o022)
    try:
        fgir.to_onnx(EXAMPLES / "resnet20_cifar.yaml", tmp_path / "m.onnx", seed=0)
        fgir.save_model(fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml", seed=0), tmp_path / "m.pt")
    finally:
        os.umask(umask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"m.onnx": 0o644, "m.pt": 0o644}

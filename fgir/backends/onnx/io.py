"""Writing ONNX models: all or nothing, with external data for models protobuf cannot hold.

The model is written into a fresh temporary folder beside ``path`` and moved into
place with ``os.replace``, so a failure at any point leaves no partial file (and
an older file at ``path`` untouched).  A model whose weights would push the
protobuf past 2 GiB keeps them in ``<name>.data`` beside it (ONNX external data),
staged and replaced the same way, in whatever the working directory is, with the
ordinary permissions of any file fgir writes.

Example:
    >>> import fgir
    >>> model = fgir.to_onnx("examples/resnet20_cifar.yaml", seed=0)
    >>> save_atomic(model, "model.onnx")
    [PosixPath('model.onnx')]
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import onnx
from google.protobuf.message import Message
from onnx import helper

from fgir.atomic import create_new, refuse_special, sweep_stale, temp_prefix, write_error

PROTOBUF_LIMIT = 2 ** 31            # protobuf refuses to serialise a message of 2 GiB or more
GRAPH_ALLOWANCE = 64 << 20          # room for everything that is not a weight (nodes, names, types)
EXTERNAL_THRESHOLD = PROTOBUF_LIMIT - GRAPH_ALLOWANCE
EXTERNAL_MIN_TENSOR = 1024        # smaller tensors stay in the model (what onnx.save_model does)


def weight_bytes(model: onnx.ModelProto) -> int:
    """The bytes the model's initializers take in the protobuf (they dominate its size)."""
    return sum(-(-_tensor_bits(t.data_type) * math.prod(t.dims) // 8) for t in model.graph.initializer)


def _tensor_bits(data_type: int) -> int:
    if data_type in (onnx.TensorProto.INT4, onnx.TensorProto.UINT4):
        return 4        # packed two a byte; numpy's stand-in dtype takes a whole byte
    return helper.tensor_dtype_to_np_dtype(data_type).itemsize * 8


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _key(field: int) -> bytes:
    return _varint(field << 3 | 2)      # wire type 2: length-delimited


def _without(message: Message, field: str) -> Message:
    """A copy of ``message`` lacking one field, made without copying that field."""
    shell = type(message)()
    for fd, value in message.ListFields():
        if fd.name == field:
            continue
        if fd.is_repeated:
            getattr(shell, fd.name).extend(value)
        elif fd.message_type is not None:
            getattr(shell, fd.name).CopyFrom(value)
        else:
            setattr(shell, fd.name, value)
    return shell


def model_chunks(model: onnx.ModelProto) -> Iterator[bytes]:
    """The model's protobuf encoding in pieces: the graph's initializers one by one.

    The bytes parse to the same model as ``model.SerializeToString()`` (fields
    may come in another order); serialising a large model whole is several
    times slower than serialising its tensors one at a time.
    """
    graph = model.graph
    head = _without(graph, "initializer").SerializeToString()
    tensors = [t.SerializeToString() for t in graph.initializer]
    keys = [_key(5) + _varint(len(t)) for t in tensors]            # GraphProto.initializer = 5
    yield _without(model, "graph").SerializeToString()
    yield _key(7) + _varint(len(head) + sum(map(len, keys)) + sum(map(len, tensors)))  # .graph = 7
    yield head
    for key, tensor in zip(keys, tensors):
        yield key
        yield tensor


def _externalise(model: onnx.ModelProto, data: Path, data_name: str) -> None:
    """Move the initializers' bytes into ``data`` (one file, each tensor at its offset) and point the
    tensors at ``data_name``, relative to the model's folder.

    Written here rather than by ``onnx.save_model``, which looks for an existing data file in the
    working directory (whatever folder the model goes to) and makes it private (mode 0600).
    """
    from onnx.external_data_helper import set_external_data

    with open(create_new(data), "wb") as out:
        offset = 0
        for tensor in model.graph.initializer:
            if not tensor.HasField("raw_data") or len(tensor.raw_data) < EXTERNAL_MIN_TENSOR:
                continue
            out.write(tensor.raw_data)
            set_external_data(tensor, data_name, offset=offset, length=len(tensor.raw_data))
            offset += len(tensor.raw_data)
            tensor.ClearField("raw_data")
        out.flush()
        os.fsync(out.fileno())


def save_atomic(model: onnx.ModelProto, path: str | Path, *,
                external_threshold: int | None = None) -> list[Path]:
    """Write ``model`` to ``path`` atomically; returns the files written (the model last).

    Weights go to external data (``<name>.data`` beside the model) when they exceed
    ``external_threshold`` bytes (default :data:`EXTERNAL_THRESHOLD`); the model then refers to its
    data file by name, and the in-memory tensors moved out are emptied.  Both files are staged in a
    fresh folder beside ``path`` and renamed into place; a device, FIFO or folder at either is refused.
    A write failure is a :class:`~fgir.atomic.WriteError` (a SpecIOError) naming the file.
    """
    path = Path(path)
    threshold = EXTERNAL_THRESHOLD if external_threshold is None else external_threshold
    external = weight_bytes(model) > threshold
    data_name = f"{path.name}.data"
    refuse_special(path)
    if external:
        refuse_special(path.with_name(data_name))
    sweep_stale(path)   # what a writer killed mid-write left
    try:
        staging = Path(tempfile.mkdtemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        staged = staging / path.name
        written = []
        if external:
            _externalise(model, staging / data_name, data_name)
        with open(create_new(staged), "wb") as f:
            for chunk in model_chunks(model):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())   # on disk before the rename: a crash leaves the old file, not an empty one
        if external:
            os.replace(staging / data_name, path.with_name(data_name))
            written.append(path.with_name(data_name))
        os.replace(staged, path)
        written.append(path)
        return written
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)

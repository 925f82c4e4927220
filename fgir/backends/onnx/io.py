"""Writing ONNX models: all or nothing, with external data for models protobuf cannot hold.

The model is written into a fresh temporary folder beside ``path`` and moved into
place with ``os.replace``, so a failure at any point leaves no partial file (and
an older file at ``path`` untouched).  A model whose weights would push the
protobuf past 2 GiB keeps them in ``<name>.data`` beside it (ONNX external data).

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

from fgir.atomic import sweep_stale, temp_prefix
from fgir.diagnostics import Diagnostic, Loc, SpecIOError

PROTOBUF_LIMIT = 2 ** 31            # protobuf refuses to serialise a message of 2 GiB or more
GRAPH_ALLOWANCE = 64 << 20          # room for everything that is not a weight (nodes, names, types)
EXTERNAL_THRESHOLD = PROTOBUF_LIMIT - GRAPH_ALLOWANCE


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


def _write_error(path: Path, exc: OSError) -> SpecIOError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return SpecIOError(Diagnostic(Loc(str(path)), "", f"cannot write the model: {reason}"))


def save_atomic(model: onnx.ModelProto, path: str | Path, *,
                external_threshold: int = EXTERNAL_THRESHOLD) -> list[Path]:
    """Write ``model`` to ``path`` atomically; returns the files written (the model last).

    Weights go to external data when they exceed ``external_threshold`` bytes;
    the model then refers to its data file by name, and onnx empties the
    in-memory tensors it moved out.  An ``OSError`` becomes a :class:`SpecIOError`.
    """
    path = Path(path)
    external = weight_bytes(model) > external_threshold
    data_name = f"{path.name}.data"
    sweep_stale(path)   # what a writer killed mid-write left
    try:
        staging = Path(tempfile.mkdtemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        staged = staging / path.name
        written = []
        if external:
            onnx.save_model(model, staged, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=data_name)
            os.replace(staging / data_name, path.with_name(data_name))
            written.append(path.with_name(data_name))
        else:
            with open(staged, "wb") as f:
                for chunk in model_chunks(model):
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())   # on disk before the rename: a crash leaves the old file, not an empty one
        os.replace(staged, path)
        written.append(path)
        return written
    except OSError as exc:
        raise _write_error(path, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)

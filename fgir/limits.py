"""Resource bounds: what fgir refuses to build or read, so that no spec or file can exhaust the machine.

Every bound is checked statically, before anything is allocated or read; each
refusal is an ordinary diagnostic.

Input files (specs, weights, training checkpoints, search results) are read
only when they are regular files (a FIFO would block forever, ``/dev/zero`` never
ends: both are refused from ``stat`` before a byte is read), and only up to
their bound, which a file is checked against before it is read:

=====================  ===============================================================
``MAX_SPEC_BYTES``     a spec (8 MiB: the largest example is under 10 KiB)
``MAX_WEIGHTS_BYTES``  a checkpoint: float64 weights of ``DEFAULT_MAX_PARAMS``, and room
``MAX_INFLATION``      a checkpoint's records may declare this many times the file's
                       size, no more (torch stores tensors uncompressed: a record
                       declaring more is a zip bomb, refused before it is inflated)
``MAX_RESULTS_BYTES``  a search's results, settings and journal
=====================  ===============================================================

Memory: ``--max-memory`` (default ``DEFAULT_MEMORY_FRACTION`` of the machine's
memory) bounds the static estimate of what building a network takes
(:func:`memory_estimate`: its weights, each kept ``copies`` times, and one
image's activations), checked before anything is allocated.

Example:
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> os.mkfifo(os.path.join(folder, "fifo.yaml"))
    >>> read_bounded(os.path.join(folder, "fifo.yaml"), MAX_SPEC_BYTES, "spec")
    Traceback (most recent call last):
    fgir.diagnostics.SpecIOError: .../fifo.yaml: error: is a FIFO (named pipe), not a regular file: a spec is read only from a regular file
    >>> human_bytes(3 * 2 ** 30)
    '3.0 GiB'
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fgir.diagnostics import Diagnostic, Loc, SpecIOError

MAX_VALUE = 1 << 20          # any number a spec gives a block (a width, a depth, a ratio): beyond it, lists explode
MAX_REPS = 1024              # repetitions of one Repeat (ResNet-1202 has 200 blocks a stage, DenseNet-264 64)
MAX_TOTAL_REPS = 16384       # repetitions in a whole network
DEFAULT_MAX_PARAMS = 2_000_000_000  # parameters a backend will allocate (--max-params)

MAX_SPEC_BYTES = 8 << 20                                  # a spec file
MAX_WEIGHTS_BYTES = DEFAULT_MAX_PARAMS * 8 + (256 << 20)  # a checkpoint or a state_dict file
MAX_INFLATION = 4                                         # records' declared bytes / the checkpoint's bytes
MAX_RESULTS_BYTES = 1 << 30                               # search.json, results.jsonl, journal.jsonl

DEFAULT_MEMORY_FRACTION = 0.75   # --max-memory's default: this share of the machine's memory
BYTES_PER_VALUE = 4              # float32 weights and activations

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def human_bytes(count: float) -> str:
    """``3.0 GiB``: a byte count for a person."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def _refuse(path: str | Path, message: str, hint: str | None = None) -> SpecIOError:
    return SpecIOError(Diagnostic(Loc(str(path)), "", message, hint=hint))


def regular_size(path: str | Path, limit: int, what: str) -> int:
    """The size of ``path`` when it is a regular file (a link to one included) of at most ``limit``
    bytes; a SpecIOError naming what it is otherwise.  Asks ``stat`` only: nothing is opened."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _refuse(path, "no such file") from None
    except ValueError:   # the system's "embedded null byte"
        raise _refuse(repr(str(path)), "a path cannot hold a NUL byte") from None
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
        raise _refuse(path, f"is {kind}, not a regular file: a {what} is read only from a regular file")
    if info.st_size > limit:
        raise _refuse(path, f"is {human_bytes(info.st_size)}, larger than a {what} may be ({human_bytes(limit)})")
    return info.st_size


def read_bounded(path: str | Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`regular_size`): opened without
    blocking (a FIFO swapped in after the check is still refused) and read no further than ``limit``."""
    regular_size(path, limit, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _refuse(path, f"is not a regular file: a {what} is read only from a regular file")
        with open(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _refuse(path, f"grew past the {human_bytes(limit)} a {what} may be while it was read")
    return data


def machine_memory() -> int | None:
    """The memory this process may use, in bytes: the machine's physical memory, or less where an address
    space limit (``ulimit -v``) or a container's cgroup says less (None where the system does not say)."""
    sizes = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            sizes.append(soft)
    except (ImportError, ValueError, OSError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as cgroup:
            text = cgroup.read().strip()
        if text.isdigit():
            sizes.append(int(text))
    except OSError:
        pass
    return min(sizes) if sizes else None


def default_max_memory() -> int | None:
    """``--max-memory``'s default: ``DEFAULT_MEMORY_FRACTION`` of the machine's memory (None: no bound)."""
    total = machine_memory()
    return int(total * DEFAULT_MEMORY_FRACTION) if total else None


def memory_estimate(params: int, activations: int, copies: int = 1) -> int:
    """Bytes a network takes to build: its weights ``copies`` times (a module, the arrays an ONNX
    export copies them into, the file's encoding) and one image's activations, all float32."""
    return BYTES_PER_VALUE * (params * copies + activations)


class MemoryLimitError(SpecIOError):
    """A network whose static memory estimate exceeds ``--max-memory``: exit 2 (the machine's limit,
    not a mistake in the spec)."""


def activation_count(graph) -> int:
    """The values one image's activations take: every node's output (a static upper bound on what is
    alive at once)."""
    return sum(getattr(node.type, "numel", 0) or 0 for node in graph)


def check_memory(graph, max_memory: int | None, copies: int = 1) -> int:
    """The estimate of what building ``graph`` takes (:func:`memory_estimate`); a MemoryLimitError, before
    anything is allocated, when it exceeds ``max_memory`` (None: ``default_max_memory()``)."""
    limit = default_max_memory() if max_memory is None else max_memory
    params = int(graph.meta.get("params") or 0)
    need = memory_estimate(params, activation_count(graph), copies)
    if limit is not None and need > limit:
        spec = graph.meta.get("spec", {}).get("file", "<spec>")
        raise MemoryLimitError(Diagnostic(Loc(spec), "", f"building the network takes about {human_bytes(need)} "
                                                         f"({params:,} parameters), more than the memory limit of "
                                                         f"{human_bytes(limit)}",
                                          hint="raise the limit with --max-memory (default "
                                               f"{DEFAULT_MEMORY_FRACTION:.0%} of this machine's memory) if it "
                                               "fits"))
    return need


def parse_bytes(text: str) -> int:
    """``--max-memory``'s value: bytes, or a number with K, M, G or T (powers of 1024).

    >>> parse_bytes("3G"), parse_bytes("512M"), parse_bytes("1000")
    (3221225472, 536870912, 1000)
    """
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = 1
    if text and text[-1] in "KMGT":
        scale = 1024 ** ("KMGT".index(text[-1]) + 1)
        text = text[:-1]
    value = float(text)   # ValueError for anything else
    if not value > 0 or value * scale > 2 ** 62:
        raise ValueError(f"expected a positive size, got {text!r}")
    return int(value * scale)


__all__ = ["DEFAULT_MAX_PARAMS", "DEFAULT_MEMORY_FRACTION", "MAX_INFLATION", "MemoryLimitError",
           "activation_count", "check_memory", "MAX_REPS", "MAX_RESULTS_BYTES",
           "MAX_SPEC_BYTES", "MAX_TOTAL_REPS", "MAX_VALUE", "MAX_WEIGHTS_BYTES", "default_max_memory",
           "human_bytes", "machine_memory", "memory_estimate", "parse_bytes", "read_bounded", "regular_size"]

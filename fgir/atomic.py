"""The one writer of every file fgir creates: written whole or not at all, and nothing but the target touched.

A temporary file beside the target is created fresh (``O_CREAT | O_EXCL |
O_NOFOLLOW``: never an existing file, never through a symbolic link), filled,
flushed to disk and renamed over the target, so a reader (or a process killed
with ``kill -9`` mid-write, or a full disk) never sees a partial file.
Temporary names carry the writer's process id (``.model.pt.<pid>.<random>.tmp``),
so two writers never share one, and a later write to the same target removes
those a killed writer left behind.

What is replaced is checked first: only a regular file (or a symbolic link,
which is replaced, never followed) is; a device, a FIFO, a socket or a folder at
the target is refused (:class:`WriteError`, exit 2 in the CLI), so
``fgir compile spec.yaml -o /dev/null.onnx`` never turns a device into a file.
Files get the permissions ``open()`` gives (``0o666`` less the umask), and every
write failure (a full disk, a read-only file system, no permission, torch's zip
writer failing) is a WriteError naming the file and the cause.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.bin"
    >>> write_atomic(path, lambda tmp: tmp.write_bytes(b"all of it"))
    >>> path.read_bytes(), [p.name for p in path.parent.iterdir()]
    (b'all of it', ['out.bin'])
    >>> write_atomic(path.parent, lambda tmp: tmp.write_bytes(b"x"))
    Traceback (most recent call last):
    fgir.atomic.WriteError: ...: error: is a directory, not a regular file: fgir replaces only regular files
    ...: note: choose another output path
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
import stat
from pathlib import Path
from typing import Any, Callable

from fgir.diagnostics import Diagnostic, Loc, SpecIOError

# a temporary name keeps the target's name only while it stays short: the target's own name may be
# as long as the file system allows (255 bytes), and ".<name>.<pid>.<random>.tmp" must fit too
_STEM_BYTES = 160
_OPEN_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


class WriteError(SpecIOError, OSError):
    """A file could not be written (a full disk, no permission, a device in its place): an FgirError
    (exit 2) and an OSError."""


def file_mode() -> int:
    """The permissions ``open()`` gives a new file now: ``0o666`` less the process's umask."""
    try:   # Linux says the umask without changing it (changing it to read it races other threads)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def kind_of(mode: int) -> str | None:
    """What a file of ``mode`` is when it is not a regular file or a link ("a FIFO (named pipe)"), else None."""
    return next((name for test, name in _KINDS if test(mode)), None)


def refuse_special(path: Path) -> None:
    """A WriteError when something other than a regular file or a symbolic link is at ``path``."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise write_error(path, exc) from None
    kind = kind_of(mode)
    if kind is not None:
        raise WriteError(Diagnostic(Loc(str(path)), "", f"is {kind}, not a regular file: fgir replaces only "
                                                        "regular files", hint="choose another output path"))


def _stem(path: Path) -> str:
    name = path.name
    if len(name.encode("utf-8", "surrogateescape")) <= _STEM_BYTES:
        return name
    return name[:40] + "~" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True   # someone else's process: leave its file alone
    return True


def temp_prefix(path: Path) -> str:
    return f".{_stem(path)}.{os.getpid()}."


def temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path`` (not yet created)."""
    return path.with_name(f"{temp_prefix(path)}{secrets.token_hex(4)}.tmp")


def sweep_stale(path: Path) -> None:
    """Remove temporary files (or folders) for ``path`` whose writer is no longer running."""
    stem = _stem(path)
    try:
        entries = list(path.parent.glob(f".{stem}.*.tmp"))
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(stem) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _writer_alive(int(pid)):
            try:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()   # a link is removed, never followed
            except OSError:
                pass


def _cause(exc: BaseException, folder: Path) -> str:
    """Why a write failed, in words: the system's, or for torch's zip writer (which gives no errno) what
    the file system says of itself."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    first = first.split("] ", 1)[-1].strip() or first   # "[enforce fail at inline_container.cc:...] . X"
    try:
        free = os.statvfs(folder)
    except OSError:
        return f"torch could not write it ({first})"
    if free.f_flag & getattr(os, "ST_RDONLY", 1):
        return os.strerror(errno.EROFS)
    if free.f_bavail * free.f_frsize < (1 << 20):
        return f"{os.strerror(errno.ENOSPC)} (torch: {first})"
    return f"torch could not write it ({first})"


def write_error(path: Path, exc: BaseException) -> WriteError:
    return WriteError(Diagnostic(Loc(str(path)), "", f"cannot write: {_cause(exc, Path(path).parent)}"))


_TORCH_WRITE_FAILURES = ("PytorchStreamWriter", "file write failed", "inline_container", "unexpected pos",
                         "iostream error")


def is_write_failure(exc: BaseException, folder: Path | None = None) -> bool:
    """Whether ``exc`` is a failure to write a file: an OSError, or torch's writer's RuntimeError
    (``torch.save`` raises no OSError for a full disk), told by its words or, in ``folder``, by a file
    system that is full or read-only."""
    if isinstance(exc, OSError):
        return True
    if not isinstance(exc, RuntimeError):
        return False
    if any(mark in str(exc) for mark in _TORCH_WRITE_FAILURES):
        return True
    try:
        info = os.statvfs(folder) if folder is not None else None
    except OSError:
        return False
    return info is not None and (bool(info.f_flag & getattr(os, "ST_RDONLY", 1)) or
                                 info.f_bavail * info.f_frsize < (1 << 20))


def create_new(path: Path) -> int:
    """Create ``path`` (which must not exist, not even as a link) with ordinary permissions; its descriptor."""
    return os.open(path, _OPEN_NEW, 0o666)   # the umask applies, as for open()


def write_atomic(path: str | Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(temporary_path)`` for a fresh file beside ``path``, flush it to disk, rename it over ``path``.

    A failure removes the temporary file and leaves ``path`` as it was; a write failure (an OSError, or
    torch's writer failing) becomes a :class:`WriteError` naming ``path``, as does a device, FIFO, socket
    or folder at ``path``.
    """
    path = Path(path)
    refuse_special(path)
    sweep_stale(path)
    tmp = temp_path(path)
    try:
        os.close(create_new(tmp))
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "the temporary file was replaced while it was written")
            os.fsync(fd)   # on disk before the rename: a crash leaves the old file, not an empty one
        finally:
            os.close(fd)
        refuse_special(path)   # nothing special slipped in while it was written
        os.replace(tmp, path)
    except WriteError:
        raise
    except Exception as exc:
        if not is_write_failure(exc, path.parent):
            raise
        raise write_error(path, exc) from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def open_append(path: Path) -> int:
    """A descriptor appending to ``path`` (created if missing), never through a link nor into a device
    or FIFO: for logs and journals that grow a line at a time."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WriteError(Diagnostic(Loc(str(path)), "", "is a symbolic link: fgir does not write through one "
                                                            "here", hint="remove the link")) from None
        raise write_error(path, exc) from None
    kind = kind_of(os.fstat(fd).st_mode)
    if kind is not None:
        os.close(fd)
        raise WriteError(Diagnostic(Loc(str(path)), "", f"is {kind}, not a regular file"))
    os.set_blocking(fd, True)
    return fd


def append_text(path: Path, text: str, sync: bool = False) -> None:
    """Append ``text`` to ``path`` (see :func:`open_append`); a failure is a WriteError."""
    fd = open_append(path)
    try:
        with open(fd, "a", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            if sync:
                os.fsync(out.fileno())
    except OSError as exc:
        raise write_error(path, exc) from None


__all__ = ["WriteError", "append_text", "create_new", "file_mode", "is_write_failure", "kind_of",
           "open_append", "refuse_special", "sweep_stale", "temp_path", "temp_prefix", "write_atomic", "write_error"]

"""Files written whole or not at all: a temporary file beside the target, flushed to disk, renamed over it.

A reader (or a process killed with ``kill -9`` mid-write, or a full disk) never
sees a partial file: the target is the previous version until ``os.replace``
swaps in the new one.  Temporary names carry the writer's process id
(``.model.pt.<pid>.<random>.tmp``), so two writers never share one, and a
later write to the same target removes those a killed writer left behind.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.bin"
    >>> write_atomic(path, lambda tmp: tmp.write_bytes(b"all of it"))
    >>> path.read_bytes(), [p.name for p in path.parent.iterdir()]
    (b'all of it', ['out.bin'])
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from fgir.diagnostics import Diagnostic, Loc, SpecIOError


def _file_mode() -> int:
    """The permissions ``open()`` would give a new file (mkstemp's are private to the owner)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True   # someone else's process: leave its file alone
    return True


def temp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def sweep_stale(path: Path) -> None:
    """Remove temporary files (or folders) for ``path`` whose writer is no longer running."""
    try:
        entries = list(path.parent.glob(f".{path.name}.*.tmp"))
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(path.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _writer_alive(int(pid)):
            try:
                if entry.is_dir():
                    import shutil

                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()
            except OSError:
                pass


class WriteError(SpecIOError, OSError):
    """A file could not be written (a full disk, no permission): an FgirError (exit 2) and an OSError."""


def write_error(path: Path, exc: OSError) -> WriteError:
    return WriteError(Diagnostic(Loc(str(path)), "", f"cannot write: {exc.strerror or exc}"))


def write_atomic(path: str | Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(temporary_path)`` for a fresh file beside ``path``, flush it to disk, rename it over ``path``.

    A failure removes the temporary file and leaves ``path`` as it was; an OSError becomes a
    :class:`WriteError` naming ``path``.
    """
    path = Path(path)
    sweep_stale(path)
    try:
        handle, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
        os.close(handle)
        os.chmod(tmp, FILE_MODE)   # the finished file is an ordinary one: a model or a picture is for sharing
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())   # on disk before the rename: a crash leaves the old file, not an empty one
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


__all__ = ["WriteError", "sweep_stale", "temp_prefix", "write_atomic", "write_error"]

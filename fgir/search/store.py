"""A search's output directory: ``search.json``, ``results.jsonl``, ``best.yaml``, and what a resume needs.

``search.json`` records what decides the results (spec hash, algorithm and its
options, objectives, constraints, evaluator, seed, input).  Opening a directory
that holds another search's results is an error; the same search resumes: its
rows are replayed and the search continues up to the budget.  Rows are written
one JSON object a line, in a fixed key order, with nothing time-dependent in
them (but a latency the evaluator measured), so the same seed gives a
byte-identical file.

One search at a time writes a directory: the store holds a lock (``.lock``, an
``flock`` the system releases when the process ends, however it ends), and a
second search there is refused.  Rows are recorded in the order they were asked,
a batch at a time; a candidate that finishes earlier goes to ``journal.jsonl``
at once, so a run killed mid-batch loses only the candidates in flight: the next
run takes the others from the journal instead of evaluating them again.
``checkpoints/`` holds the training states an early-stopping search continues
from (:mod:`fgir.search.budget`).

Example:
    >>> import tempfile
    >>> with ResultStore(tempfile.mkdtemp(), {"seed": 0}) as store:
    ...     store.append([{"index": 0, "hash": "ab"}])
    >>> with ResultStore(store.outdir, {"seed": 0}) as again:
    ...     again.rows
    [{'index': 0, 'hash': 'ab'}]
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

from fgir.diagnostics import Diagnostic, Loc
from fgir.atomic import append_text, kind_of, write_atomic, write_error
from fgir.limits import MAX_RESULTS_BYTES, MAX_WEIGHTS_BYTES, read_bounded
from fgir.search.config import SearchUsageError

SETTINGS = "search.json"
RESULTS = "results.jsonl"
BEST = "best.yaml"
JOURNAL = "journal.jsonl"
LOCK = ".lock"
CHECKPOINTS = "checkpoints"
ROW_KEYS = ("index", "hash", "origin", "status", "values", "params", "macs", "metrics", "message")


def _fail(path: Path, message: str, hint: str | None = None) -> SearchUsageError:
    return SearchUsageError(Diagnostic(Loc(str(path)), "", message, hint=hint))


def _read(path: Path) -> str:
    """A file of the directory: a regular file, of bounded size (a FIFO or a device there is refused)."""
    try:
        return read_bounded(path, MAX_RESULTS_BYTES, "search file").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not UTF-8 text ({exc.reason}); the file is damaged") from None


def row_line(row: dict[str, Any]) -> str:
    ordered = {k: row[k] for k in ROW_KEYS if k in row}
    ordered.update({k: v for k, v in row.items() if k not in ordered})
    return json.dumps(ordered, separators=(", ", ": ")) + "\n"


def _open_lock(path: Path) -> int:
    """The lock file's descriptor: created with ordinary permissions, never through a symbolic link
    (``O_NOFOLLOW``: a link at ``.lock`` would have the search's process id written into its target),
    and only ever a regular file."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _fail(path, "is a symbolic link: fgir never follows one at its lock",
                        hint="remove the link, or choose another output directory") from None
        raise write_error(path, exc) from None
    kind = kind_of(os.fstat(fd).st_mode)
    if kind is not None:
        os.close(fd)
        raise _fail(path, f"is {kind}, not a lock file", hint="remove it, or choose another output directory")
    return fd


def _locked(outdir: Path) -> int:
    """An open descriptor holding ``outdir``'s lock; a search holding it already is an error."""
    path = outdir / LOCK
    try:
        import fcntl
    except ImportError:   # not POSIX: no lock (one search at a time is then the user's care)
        return _open_lock(path)
    while True:
        fd = _open_lock(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip()
            os.close(fd)
            raise _fail(outdir, "another fgir search is writing to this directory" +
                        (f" (process {holder})" if holder.isdigit() else ""),
                        hint="wait for it to finish, or choose another output directory") from None
        # the search that held it may have removed the file between our open and our lock: lock the new one
        try:
            same = os.lstat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
    except OSError as exc:   # a full disk: no lock file left behind, no descriptor kept
        os.unlink(path)
        os.close(fd)
        raise write_error(path, exc) from None
    return fd


class ResultStore:
    """Opens (or creates) an output directory for a search with this fingerprint; holds it until closed."""

    def __init__(self, outdir: str | Path, fingerprint: dict[str, Any]) -> None:
        self.outdir = Path(outdir)
        self.fingerprint = json.loads(json.dumps(fingerprint))   # as it reads back from disk
        if self.outdir.exists() and not self.outdir.is_dir():
            raise _fail(self.outdir, "is a file, not an output directory")
        try:
            self.outdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(self.outdir, exc) from None
        self._lock: int | None = _locked(self.outdir)
        try:
            self.rows = self._open()
            self.journal = self._read_journal()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release the directory (the lock); the system does it too when the process ends."""
        if self._lock is not None:
            (self.outdir / LOCK).unlink(missing_ok=True)   # still held: no other search can be using it
            os.close(self._lock)
            self._lock = None

    @property
    def results_path(self) -> Path:
        return self.outdir / RESULTS

    def _open(self) -> list[dict[str, Any]]:
        settings, results = self.outdir / SETTINGS, self.results_path
        if settings.exists():
            try:
                recorded = json.loads(_read(settings))
            except (ValueError, OSError) as exc:
                raise _fail(settings, f"unreadable search settings ({exc})") from None
            differs = [k for k in sorted(set(recorded) | set(self.fingerprint))
                       if recorded.get(k) != self.fingerprint.get(k)]
            if differs:
                raise _fail(settings, "holds the results of another search (it differs in "
                            f"{', '.join(differs)})", hint="choose another output directory, or "
                            "remove this one to start over")
        elif results.exists():
            raise _fail(results, "holds search results without their settings (search.json)",
                        hint="choose another output directory")
        settings_text = json.dumps(self.fingerprint, indent=2, sort_keys=True) + "\n"
        write_atomic(settings, lambda tmp: tmp.write_text(settings_text, encoding="utf-8"))
        return self._read_rows()

    def _read_rows(self) -> list[dict[str, Any]]:
        path = self.results_path
        if not path.exists():
            return []
        text = _read(path)
        complete = text[: text.rfind("\n") + 1]
        if complete != text:   # a line cut short by an interrupted run: drop it, it is re-evaluated
            write_atomic(path, lambda tmp: tmp.write_text(complete, encoding="utf-8"))
        rows = []
        for number, line in enumerate(complete.splitlines(), 1):
            try:
                rows.append(json.loads(line))
            except ValueError:
                raise SearchUsageError(Diagnostic(Loc(str(path), number, 1), "",
                                                  "not a JSON row; the results file is damaged")) from None
        return rows

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Record ``rows`` (a batch, in order); the journal's entries are theirs, so it starts over."""
        if rows:
            append_text(self.results_path, "".join(row_line(row) for row in rows), sync=True)
        if self.journal:
            (self.outdir / JOURNAL).unlink(missing_ok=True)
            self.journal = {}

    # -- results that finished before their batch: kept through a kill ------------------------
    def _read_journal(self) -> dict[str, dict[str, Any]]:
        path = self.outdir / JOURNAL
        if not path.exists():
            return {}
        out = {}
        for line in _read(path).splitlines():
            try:
                entry = json.loads(line)
                out[entry["key"]] = entry["result"]
            except (ValueError, KeyError, TypeError):   # a line cut short by a kill: evaluated again
                continue
        return out

    def remember(self, key: str, result: dict[str, Any]) -> None:
        """Keep a finished candidate's result until its batch is recorded."""
        self.journal[key] = result
        append_text(self.outdir / JOURNAL, json.dumps({"key": key, "result": result}, separators=(", ", ": ")) + "\n")

    def recall(self, key: str) -> dict[str, Any] | None:
        """The result a killed run had for ``key`` (None: evaluate it)."""
        return self.journal.get(key)

    # -- training states an early-stopping search continues from -------------------------------
    def checkpoint_path(self, key: str) -> Path:
        return self.outdir / CHECKPOINTS / f"{key}.pt"

    def save_checkpoint(self, key: str, data: bytes) -> None:
        path = self.checkpoint_path(key)
        path.parent.mkdir(exist_ok=True)
        write_atomic(path, lambda tmp: tmp.write_bytes(data))   # whole or absent, whenever the run is killed

    def load_checkpoint(self, key: str) -> bytes | None:
        path = self.checkpoint_path(key)
        return read_bounded(path, MAX_WEIGHTS_BYTES, "training state") if os.path.lexists(path) else None

    def write_best(self, text: str) -> Path:
        path = self.outdir / BEST
        write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return path


__all__ = ["BEST", "CHECKPOINTS", "JOURNAL", "LOCK", "RESULTS", "ROW_KEYS", "ResultStore", "SETTINGS", "row_line"]

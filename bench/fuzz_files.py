"""Fuzz targets for the files around fgir (issue 27): hostile output paths and hostile input files.

``paths``: a writer (save_model, to_onnx with and without external data, a training checkpoint, a search
folder) is pointed at a symbolic link to a victim file, a FIFO, a folder, a device node (root only), a
symlinked lock, results file or metrics log, or a full tmpfs (root only, where mounting works).  Only
success or an FgirError may come out; the victim keeps its bytes, a FIFO or a device stays one, and a
failed write leaves no file behind.

``inputs``: specs, checkpoints, training states and search results that never end (``/dev/zero``, a
FIFO, a device node), are too large (sparse), are zip bombs, or carry control, bidi and NUL characters.
Only an FgirError may come out, each line of it in compiler form with nothing a terminal acts on, and a
NUL is located at its line and column.

Each ``check`` returns None when the case was handled as fgir promises, else a failure class.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

TINY = ("input: 3x8x8\nsearch_space:\n  modules: [init, head]\n  init: {type: SmallInputInitialBlock, init_plane: 4}\n"
        "  head: {type: LinearClassificationHead, num_class: 10}\n")
ROOT_USER = os.geteuid() == 0
UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
FORM = re.compile(r"^(\S.*?)(:\d+:\d+)?: (error|warning|note): ")


def _mount_full_tmpfs(folder: Path) -> str | None:
    """Mount a 64 KiB tmpfs at ``folder``; None when done, else why not."""
    if not ROOT_USER:
        return "not root"
    folder.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if made.returncode != 0:
        return made.stderr.decode(errors="replace").strip() or "mount failed"
    try:   # full: not a block left for any write
        with open(folder / FILLER, "wb") as f:
            while True:
                f.write(bytes(4096))
                f.flush()
    except OSError:
        pass
    return None


FILLER = ".filler"


class PathsTarget:
    name = "paths"
    KINDS = ["symlink", "fifo", "folder", "device", "symlink_lock", "symlink_results", "fifo_lock",
             "symlink_metrics", "full"]
    WRITERS = ["pt", "onnx", "onnx_external", "state", "search"]

    def __init__(self) -> None:
        import fgir

        self.root = Path(tempfile.mkdtemp(prefix="fgir-fuzz-paths-"))
        self.module = fgir.to_torch(TINY, seed=0)
        self.full = self.root / "full"
        self.no_full = _mount_full_tmpfs(self.full)
        self.skipped: dict[str, str] = {}
        if self.no_full:
            self.skipped["full"] = f"no full tmpfs: {self.no_full}"
        if not ROOT_USER:
            self.skipped["device"] = "making a device node needs root"
        self.count = 0

    def close(self) -> None:
        if self.no_full is None:
            subprocess.run(["umount", str(self.full)], check=False)

    def make(self, rng: random.Random) -> tuple[str, str, list[str]]:
        kinds = [k for k in self.KINDS if k not in self.skipped]
        kind, writer = rng.choice(kinds), rng.choice(self.WRITERS)
        return kind, writer, [f"{kind}+{writer}"]

    def _target(self, kind: str, writer: str, folder: Path) -> tuple[Path, Path]:
        """The path the writer is given, and the victim file that must keep its bytes."""
        victim = self.root / f"victim{self.count}.txt"
        victim.write_text("precious\n")
        suffix = {"pt": ".pt", "onnx": ".onnx", "onnx_external": ".onnx", "state": ".pt", "search": ""}[writer]
        out = (self.full if kind == "full" else folder) / f"out{suffix}"
        if writer == "search":
            out.mkdir(exist_ok=True)
            inner = {"symlink_lock": ".lock", "fifo_lock": ".lock", "symlink_results": "results.jsonl"}.get(kind)
            if inner and kind.startswith("fifo"):
                os.mkfifo(out / inner)
            elif inner:
                (out / inner).symlink_to(victim)
            elif kind in ("symlink", "fifo", "folder", "device"):
                self._place(kind, out / "best.yaml", victim)
            return out, victim
        if kind == "symlink_metrics":
            folder.joinpath("metrics.jsonl").symlink_to(victim)
        elif kind not in ("full", "symlink_lock", "symlink_results", "fifo_lock"):
            self._place(kind, out, victim)
        if writer == "onnx_external" and kind in ("symlink", "fifo", "device"):
            self._place(kind, out.with_name(out.name + ".data"), victim)
        return out, victim

    @staticmethod
    def _place(kind: str, path: Path, victim: Path) -> None:
        if kind == "symlink":
            path.symlink_to(victim)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "folder":
            path.mkdir()
        elif kind == "device":
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))

    def _write(self, writer: str, out: Path) -> None:
        import fgir

        if writer == "pt":
            fgir.save_model(self.module, out)
        elif writer in ("onnx", "onnx_external"):
            from fgir.backends.onnx.io import save_atomic

            save_atomic(fgir.to_onnx(TINY, seed=0), out, external_threshold=16 if writer == "onnx_external" else None)
        elif writer == "state":
            from fgir.training.state import write_state

            write_state(out, {"epoch": 1, "fingerprint": {}})
        else:
            from fgir.search.store import ResultStore

            with ResultStore(out, {"seed": 0}) as store:
                store.append([{"index": 0, "hash": "ab"}])
                store.write_best(TINY)

    def check(self, case: tuple[str, str, list[str]]) -> str | None:
        from fgir.diagnostics import FgirError

        kind, writer, _ = case
        self.count += 1
        folder = self.root / f"case{self.count}"
        folder.mkdir()
        out, victim = self._target(kind, writer, folder)
        before = {p: os.lstat(p).st_mode for p in [*folder.rglob("*"), *self.full.glob("*")]}
        try:
            self._write(writer, out)
            if kind == "full":
                return "a write to a full file system succeeded"
        except FgirError:
            pass
        except Exception as exc:  # the failures this target is for
            return f"{kind}+{writer}: {type(exc).__name__}: {str(exc)[:60]}"
        if victim.read_text() != "precious\n":
            return f"{kind}+{writer}: the victim file was written"
        for path, mode in before.items():   # a link at the output is replaced (never followed): others stay
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)) and (
                    not os.path.lexists(path) or stat.S_IFMT(os.lstat(path).st_mode) != stat.S_IFMT(mode)):
                return f"{kind}+{writer}: a {stat.filemode(mode)[0]} file was replaced"
        if kind == "full":
            left = [p for p in self.full.rglob("*") if p.name != FILLER and not p.is_dir()]
            for entry in self.full.iterdir():
                if entry.name != FILLER:
                    subprocess.run(["rm", "-rf", str(entry)], check=False)
            if left:
                return f"full+{writer}: a failed write left {left[0].name}"
        return None

    @staticmethod
    def describe(case: Any) -> str:
        return f"{case[0]} at the output of the {case[1]} writer\n"


class InputsTarget:
    name = "inputs"
    KINDS = ["dev_zero", "fifo", "device", "sparse", "zip_bomb", "control", "nul"]
    READERS = ["load", "check", "load_model", "weights", "state"]

    def __init__(self) -> None:
        import fgir

        self.root = Path(tempfile.mkdtemp(prefix="fgir-fuzz-inputs-"))
        real = self.root / "real.pt"
        fgir.save_model(fgir.to_torch(TINY, seed=0), real)
        self.bomb = self.root / "bomb.pt"
        zeros = bytes(1 << 20)
        with zipfile.ZipFile(real) as source, zipfile.ZipFile(self.bomb, "w") as out:
            for record in source.infolist():
                if record.filename.endswith("/data/0"):
                    info = zipfile.ZipInfo(record.filename)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with out.open(info, "w", force_zip64=True) as f:
                        for _ in range(512):   # 512 MiB declared, some 500 KiB on disk
                            f.write(zeros)
                else:
                    out.writestr(record, source.read(record.filename))
        self.skipped = {} if ROOT_USER else {"device": "making a device node needs root"}
        self.count = 0

    def make(self, rng: random.Random) -> tuple[Any, ...]:
        kind = rng.choice([k for k in self.KINDS if k not in self.skipped])
        readers = ["load", "check"] if kind in ("control", "nul") else self.READERS
        reader = rng.choice(readers)
        text = TINY
        where = None
        if kind == "control":
            chars = "".join(rng.choice(["\\e", "\\a", "\\r", "\\n", "\\x9b", "\\u202e", "\\u2066", "\\0", "\\x7f",
                                        "fake.yaml:1:1: error: injected", "]0;title"]) for _ in range(4))
            text = TINY.replace("SmallInputInitialBlock", f'"{chars}"')
        elif kind == "nul":
            at = rng.randrange(len(TINY) + 1)
            text = TINY[:at] + "\0" + TINY[at:]
            line = TINY.count("\n", 0, at) + 1
            where = (line, at - (TINY.rfind("\n", 0, at) + 1) + 1)
        return kind, reader, text, where, [f"{kind}+{reader}"]

    def _path(self, kind: str, text: str) -> Path:
        self.count += 1
        path = self.root / f"input{self.count}.yaml"
        if kind == "dev_zero":
            return Path("/dev/zero")
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "device":
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 5))
        elif kind == "sparse":
            with open(path, "wb") as f:
                f.truncate(64 << 30)   # 64 GiB, none of it on disk
        elif kind == "zip_bomb":
            return self.bomb
        else:
            path.write_bytes(text.encode("utf-8"))
        return path

    def check(self, case: tuple[Any, ...]) -> str | None:
        import fgir
        from fgir.cli import main
        from fgir.diagnostics import FgirError

        kind, reader, text, where, _ = case
        path = self._path(kind, text)
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                if reader == "load":
                    fgir.load(path)
                elif reader == "check":
                    status = main(["check", str(path)])
                    if status not in (1, 2):
                        return f"{kind}+check: exit {status}"
                elif reader == "load_model":
                    fgir.load_model(path)
                elif reader == "weights":
                    fgir.to_torch(TINY, weights=path)
                else:
                    from fgir.training.state import read_state

                    read_state(path)
        except FgirError as exc:
            return self._judge(kind, str(exc), exc, where)
        except Exception as exc:  # the failures this target is for
            return f"{kind}+{reader}: {type(exc).__name__}: {str(exc)[:60]}"
        finally:
            if path.parent == self.root and path != self.bomb:
                path.unlink(missing_ok=True)
        if reader == "check":
            return self._judge(kind, err.getvalue(), None, where)
        return None if kind in ("control",) else f"{kind}+{reader}: accepted"

    @staticmethod
    def _judge(kind: str, rendered: str, exc: Any, where: tuple[int, int] | None) -> str | None:
        for line in rendered.splitlines():
            if UNSAFE.search(line):
                return f"{kind}: a character a terminal acts on, printed raw"
            if not (FORM.match(line) or line.startswith("fgir: ")):
                return f"{kind}: a line not in compiler form: {line[:60]!r}"
        if kind == "nul" and exc is not None and "NUL" in exc.message and (exc.line, exc.column) != where:
            return f"nul: located at {exc.line}:{exc.column}, not {where[0]}:{where[1]}"
        return None

    @staticmethod
    def describe(case: Any) -> str:
        return f"{case[0]} read by {case[1]}\n{case[2]}"


__all__ = ["InputsTarget", "PathsTarget"]

"""What runs in a worker process: its set-up (plugins, shipped files, its GPU), then one candidate.

The driver pickles each :class:`~fgir.search.evaluators.Job` itself (so a job that
cannot travel fails at once, in the driver, with a clear message, instead of
hanging a pool) and the worker runs :func:`run_payload`.  Before the first job a
worker is set up by :func:`prepare_worker`: the plugins the driver loaded are
loaded again, so user blocks and plugin evaluators exist there too (from their
files where the worker sees them, else from the source text shipped with the
set-up: a Ray worker on another machine); the files a spec reads
(``init_model_file``) and the train evaluator's data travel the same way and
are written to a cache folder keyed by their content, the job's paths pointing
there.  A local worker may be pinned to one CUDA device (``CUDA_VISIBLE_DEVICES``,
set before torch starts CUDA).

Example:
    >>> import pickle
    >>> from fgir.search.evaluators import Job
    >>> text = open("examples/resnet20_cifar.yaml").read()
    >>> row = run_payload(WorkerSetup(), pickle.dumps(Job(text)))
    >>> row["status"], row["params"]
    ('ok', 272474)
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

Row = dict[str, Any]
CACHE = Path(tempfile.gettempdir()) / "fgir-shipped"


class WorkerSetupError(RuntimeError):
    """A worker could not be set up or could not read a job: the search cannot go on there."""


@dataclass(frozen=True)
class Shipped:
    """A file or a folder the driver has, with its content (relative path → bytes) for a worker that has not."""

    path: str
    files: tuple[tuple[str, bytes], ...]
    sha256: str

    @classmethod
    def of(cls, path: str | Path) -> "Shipped":
        root = Path(path)
        if root.is_dir():
            members = sorted(p for p in root.rglob("*") if p.is_file())
            files = tuple((str(p.relative_to(root)), p.read_bytes()) for p in members)
        else:
            files = (("", root.read_bytes()),)
        digest = hashlib.sha256()
        for name, data in files:
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return cls(str(path), files, digest.hexdigest()[:16])

    def here(self) -> str:
        """A path to this content on this machine: the original where it is there, else a cached copy."""
        if Path(self.path).exists() and Shipped.of(self.path).sha256 == self.sha256:
            return self.path
        target = CACHE / self.sha256 / Path(self.path).name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            holder = Path(tempfile.mkdtemp(dir=target.parent))
            staging = holder / target.name
            for name, data in self.files:
                out = staging / name if name else staging
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
            try:
                os.replace(staging, target)   # whole or not at all, whoever of this machine's workers is first
            except OSError:
                pass
            shutil.rmtree(holder, ignore_errors=True)
        return str(target)


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a worker needs besides its jobs; built once by the driver (:func:`worker_setup`)."""

    plugins: tuple[Shipped, ...] = ()       # plugin files, in the order the driver loaded them
    modules: tuple[str, ...] = ()           # plugin modules named by import path
    files: tuple[Shipped, ...] = ()         # files the spec or the evaluator reads
    key: str = field(default="", compare=False)


def worker_setup(plugins: list[str], files: list[str]) -> WorkerSetup:
    """The set-up for ``plugins`` (``.py`` files or module names) and ``files`` (paths that exist)."""
    shipped = tuple(Shipped.of(p) for p in plugins if p.endswith(".py"))
    modules = tuple(p for p in plugins if not p.endswith(".py"))
    data = tuple(Shipped.of(f) for f in dict.fromkeys(files) if Path(f).exists())
    key = hashlib.sha256(repr(([s.sha256 for s in shipped], modules, [d.sha256 for d in data])).encode())
    return WorkerSetup(shipped, modules, data, key.hexdigest()[:16])


_PREPARED: dict[str, dict[str, str]] = {}   # set-up key → {driver path: path here}


def prepare_worker(setup: WorkerSetup, gpu: str | None = None) -> dict[str, str]:
    """Set this process up for ``setup`` (once per process and set-up), pinned to CUDA device ``gpu`` when
    given; the paths its shipped files have here."""
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    if setup.key in _PREPARED:
        return _PREPARED[setup.key]
    from fgir.plugins import load_plugin

    try:
        for plugin in setup.plugins:
            load_plugin(plugin.here())   # a cached copy keeps the file's name, which names its module
        for module in setup.modules:
            load_plugin(module)
    except Exception as exc:
        raise WorkerSetupError(f"a worker could not load the plugins: {exc}") from None
    moved = {f.path: f.here() for f in setup.files}
    _PREPARED[setup.key] = {k: v for k, v in moved.items() if k != v}
    return _PREPARED[setup.key]


def relocate(job: Any, moved: dict[str, str]) -> Any:
    """``job`` with the paths of shipped files pointing at their copies on this machine."""
    if not moved:
        return job
    text = job.spec_text
    for old, new in moved.items():
        text = text.replace(old, new)
    evaluator = job.evaluator
    if hasattr(evaluator, "relocated"):
        evaluator = evaluator.relocated(moved)
    return replace(job, spec_text=text, evaluator=evaluator)


def run_payload(setup: WorkerSetup, payload: bytes) -> Row:
    """Set up (once), read the job and evaluate it; WorkerSetupError when the job cannot be read here."""
    from fgir.search.evaluators.candidate import evaluate_job

    moved = prepare_worker(setup)
    try:
        job = pickle.loads(payload)
    except Exception as exc:
        raise WorkerSetupError(f"a worker could not read the candidate ({type(exc).__name__}: {exc})") from None
    return evaluate_job(relocate(job, moved))


__all__ = ["Shipped", "WorkerSetup", "WorkerSetupError", "prepare_worker", "relocate", "run_payload",
           "worker_setup"]

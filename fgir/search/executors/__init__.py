"""Executors: where candidates are evaluated.  ``local`` (this machine's processes) or ``ray`` (Ray tasks).

Both take a batch of jobs and give its rows back in the batch's order, calling
``done(i, row)`` as each finishes (the runner journals it); neither writes
results (the driver alone does).  :func:`make_executor` builds one with the
worker set-up the search needs: the plugins this process loaded and the files
the spec and the evaluator read.

Example:
    >>> from fgir.search import Space
    >>> with make_executor("local", Space.from_spec("examples/backbone_nas.yaml"), None) as ex:
    ...     ex.name, ex.workers
    ('local', 1)
"""

from __future__ import annotations

import random
from typing import Any

from fgir.diagnostics import Diagnostic, Loc, did_you_mean
from fgir.search.config import SearchUsageError
from fgir.search.executors.local import LocalExecutor, cuda_devices
from fgir.search.executors.worker import WorkerSetup, worker_setup

EXECUTORS = ("local", "ray")
RAY_OPTIONS = {"address": (str, type(None)), "cpus_per_trial": (int, float), "gpus_per_trial": (int, float),
               "timeout": (int, float, type(None)), "retries": (int,)}
LOCAL_OPTIONS = {"devices": (list, tuple, type(None))}


def spec_files(space: Any) -> list[str]:
    """The files the processes of a space's spec read (Prune's ``init_model_file``), as its candidates
    name them (absolute: :class:`~fgir.search.space.Space` anchors them at the spec's folder)."""
    import yaml

    from fgir.blocks import PROCESSES

    tree = yaml.safe_load(space.freeze(space.initial(random.Random(0))))
    section = tree.get("search_space", tree) if isinstance(tree, dict) else {}
    out = []
    for name in section.get("modules", []) if isinstance(section, dict) else []:
        args = section.get(name)
        cls = PROCESSES.get(args.get("type")) if isinstance(args, dict) else None
        out += [args[a] for a in getattr(cls, "file_args", ()) if isinstance(args.get(a), str)]
    return out


def _checked(options: dict[str, Any], allowed: dict[str, tuple], kind: str, where: str) -> dict[str, Any]:
    for key, value in options.items():
        if key not in allowed:
            raise SearchUsageError(Diagnostic(Loc(where), f"--{key.replace('_', '-')}",
                                              f"the {kind} executor takes no option '{key}'",
                                              hint="it is the ray executor's: add --executor ray"
                                              if kind == "local" and key in RAY_OPTIONS else
                                              did_you_mean(key, allowed) or f"it takes {', '.join(allowed)}"))
        if isinstance(value, bool) or not isinstance(value, allowed[key]) or \
                (isinstance(value, (int, float)) and value < 0):
            raise SearchUsageError(Diagnostic(Loc(where), f"--{key.replace('_', '-')}",
                                              f"{key} takes a non-negative number, got {value!r}"
                                              if key != "address" else f"address takes a string, got {value!r}"))
    return dict(options)


def make_executor(kind: str, space: Any, evaluator: Any, *, workers: int | None = None,
                  options: dict[str, Any] | None = None, plugins: list[str] | None = None,
                  where: str = "<options>") -> Any:
    """The executor ``kind`` for a search of ``space`` scored by ``evaluator`` (a context manager)."""
    from fgir.plugins import loaded_plugins

    options = dict(options or {})
    if kind not in EXECUTORS:
        raise SearchUsageError(Diagnostic(Loc(where), "--executor", f"unknown executor '{kind}'",
                                          hint=did_you_mean(str(kind), EXECUTORS) or "executors: local, ray"))
    # local workers read the files where they are; Ray workers may be on other machines: they travel
    shipped = [*spec_files(space), *(evaluator.files() if hasattr(evaluator, "files") else [])] \
        if kind == "ray" else []
    setup = worker_setup([str(p) for p in (plugins if plugins is not None else loaded_plugins())], shipped)
    if kind == "ray":
        from fgir.search.executors.ray_executor import RayExecutor

        return RayExecutor(setup, workers=workers, where=where, **_checked(options, RAY_OPTIONS, kind, where))
    options = _checked(options, LOCAL_OPTIONS, kind, where)
    devices = options.get("devices")
    if devices is None:
        devices = cuda_devices(bool(getattr(evaluator, "uses_gpu", False)) and (workers or 1) > 1)
    return LocalExecutor(workers or 1, setup, devices=devices, where=where)


__all__ = ["EXECUTORS", "LocalExecutor", "WorkerSetup", "make_executor", "spec_files"]

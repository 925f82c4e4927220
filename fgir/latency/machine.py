"""The machine a latency figure belongs to: its CPU model and cores, and ONNX Runtime's version.

A predictor fitted on one machine says nothing about another, so a predictor file records these
(:func:`this_machine`) and is refused elsewhere (:func:`mismatch` says why).

Example:
    >>> here = this_machine()
    >>> sorted(here), mismatch(here, here)
    (['cores', 'cpu', 'onnxruntime'], None)
    >>> mismatch({**here, "cores": 96}, here).startswith("calibrated on another machine (96 cores) than this one")
    True
"""

from __future__ import annotations

import os
import platform
from typing import Any


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo; elsewhere what the platform module says)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith(("model name", "hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def this_machine() -> dict[str, Any]:
    """This machine's CPU model, number of cores, and ONNX Runtime's version."""
    import onnxruntime

    return {"cpu": cpu_model(), "cores": os.cpu_count() or 1, "onnxruntime": onnxruntime.__version__}


def _describe(machine: dict[str, Any], keys: tuple[str, ...]) -> str:
    return ", ".join(f"{machine[k]} cores" if k == "cores" else str(machine[k]) for k in keys)


def mismatch(recorded: dict[str, Any], here: dict[str, Any]) -> str | None:
    """Why figures recorded on ``recorded`` do not hold ``here``, or None when they do."""
    differ = tuple(k for k in ("cpu", "cores") if recorded.get(k) != here[k])
    if differ:
        return f"calibrated on another machine ({_describe(recorded, differ)}) than this one " \
               f"({_describe(here, differ)})"
    if recorded.get("onnxruntime") != here["onnxruntime"]:
        return f"calibrated with ONNX Runtime {recorded.get('onnxruntime')}; this is ONNX Runtime " \
               f"{here['onnxruntime']}"
    return None


__all__ = ["cpu_model", "mismatch", "this_machine"]

"""What the search tests share: a small space, and a plugin of evaluators that sleep, log, crash or hang."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TINY = textwrap.dedent("""
    search_space:
      type: FineGrainedSpace
      hyper_parameters:
        layer.doublechannel: [0, 1, 0, 1]
        layer.downsample: [1, 0, 1, 0]
      modules: [init, layer, head]
      init: {type: SmallInputInitialBlock, init_plane: 8}
      layer:
        type: VariantLayer
        block: {type: BasicBlock}
        in_plane: 8
        out_plane: 32
        doublechannel: [0, 1, 0, 1]
        downsample: [1, 0, 1, 0]
        expansion: 1
      head: {type: LinearClassificationHead, num_class: 10}
    """).lstrip()

PLUGIN = textwrap.dedent('''
    """Evaluators for the search tests (loaded with --plugin, or fgir.plugins.load_plugin)."""
    import json
    import os
    import signal
    import time
    from pathlib import Path

    from fgir.search import EVALUATORS


    class Slow:
        """Sleeps, then logs the candidate's hash to ``log`` (one line a call) and scores it."""
        metrics = ("score",)

        def __init__(self, delay: float = 0.0, log: str = ""):
            self.delay, self.log = delay, log

        def __call__(self, graph, seed=0):
            time.sleep(self.delay)
            if self.log:
                with open(self.log, "a") as out:
                    out.write(f"{graph.meta['params']}\\n")
            return {"score": graph.meta["params"] % 1000}


    class CrashOnce(Slow):
        """The first call anywhere (a marker file says) kills its own process, as the OOM killer would."""

        def __init__(self, marker: str = ""):
            super().__init__()
            self.marker = marker

        def __call__(self, graph, seed=0):
            try:   # created exclusively: of two workers starting at once, only one dies
                fd = os.open(self.marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                return super().__call__(graph, seed)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)
            return super().__call__(graph, seed)


    class Where(Slow):
        """Reports the process and the CUDA device it runs on."""
        metrics = ("score", "pid", "gpu")

        def __call__(self, graph, seed=0):
            time.sleep(0.05)
            return {"pid": os.getpid(), "gpu": int(os.environ.get("CUDA_VISIBLE_DEVICES", "-1"))}


    class Curve:
        """A fake training evaluator for the schedulers: accuracy rises with epochs at a pace set by the
        candidate's parameter count; the state is the epochs reached, ``from_epochs`` where it resumed."""
        metrics = ("accuracy", "from_epochs")

        def __init__(self, epochs: int = 1):
            self.epochs = epochs

        def __call__(self, graph, seed=0):
            return self.train_to(graph, seed, self.epochs)[0]

        def train_to(self, graph, seed, epochs, state=None):
            start = json.loads(state)["epochs"] if state else 0
            pace = (graph.meta["params"] % 997) / 997
            return ({"accuracy": round(1 - (1 - pace) / (1 + epochs), 6), "from_epochs": start},
                    json.dumps({"epochs": epochs}).encode())


    EVALUATORS.update(slow=Slow, crash_once=CrashOnce, where=Where, curve=Curve)
''').lstrip()


def write_plugin(folder: Path) -> Path:
    path = folder / "test_evaluators.py"
    path.write_text(PLUGIN)
    return path


def load_test_plugin(folder: Path) -> Path:
    """Write the plugin to ``folder`` and load it here (its evaluators: slow, crash_once, where, curve)."""
    from fgir.plugins import load_plugin

    path = write_plugin(folder)
    load_plugin(str(path))
    return path


def rows_of(outdir: Path) -> list[dict]:
    return [json.loads(line) for line in (outdir / "results.jsonl").read_text().splitlines()]


def run_bounded(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """``python args...`` from the repository root in a process group of its own; one that runs past
    ``timeout`` is killed with all its children (a hung pool's workers too) and the test fails, saying so."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("FGIR_DEBUG", None)
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"python {' '.join(args)} hung for {timeout} s (killed, with its children)")
    return subprocess.CompletedProcess(args, process.returncode, out, err)


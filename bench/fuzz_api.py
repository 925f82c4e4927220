"""Fuzz targets beyond spec text: the Python API given wrong arguments, and the plugin loader given broken plugins.

``api``: every public function is called with one or two of its arguments replaced by a
value of the wrong type or out of range (None, NaN, bytes, a directory, a Graph where a
path goes, a tensor of the wrong shape, ...).  Only an FgirError, or an exception the
function documents (``DOCUMENTED``), may come out.

``plugins``: the example plugin (examples/user_blocks/searchable_stage.py) is mutated the
way users break theirs (Vega's ClassFactory, a torch.nn layer assigned, a syntax error, a
raise in the constructor, a missing import, bad bytes), loaded with ``load_plugin`` and its
spec compiled.  Only an FgirError may come out, located in the plugin file or the spec.

Each ``check_*`` returns None when the input was handled as fgir promises, else a failure class.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import random
import re
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
TINY = ("input: 3x8x8\nsearch_space:\n  modules: [init, head]\n  init: {type: SmallInputInitialBlock, init_plane: 4}\n"
        "  head: {type: LinearClassificationHead, num_class: 10}\n")
QUANT = ("input: 3x8x8\nsearch_space:\n  modules: [net, q]\n  net: {type: ResNet, depth: 8}\n"
         "  q: {type: Quant, nbit_w_list: 8, nbit_a_list: 8}\n")


class Fixtures:
    """What the calls need, made once: a folder, specs, a compiled graph, a module, weights files."""

    def __init__(self) -> None:
        import fgir
        import numpy as np
        import torch

        self.folder = Path(tempfile.mkdtemp(prefix="fgir-fuzz-"))
        self.spec = self.folder / "tiny.yaml"
        self.spec.write_text(TINY)
        self.graph = fgir.loads(TINY, "tiny.yaml")
        self.lowered = fgir.compile(self.graph)
        self.module = fgir.to_torch(self.lowered, seed=0)
        self.weights = self.folder / "tiny.pt"
        fgir.save_model(self.module, self.weights)
        self.onnx = self.folder / "tiny.onnx"
        fgir.to_onnx(self.lowered, self.onnx, seed=0)
        self.batch = torch.zeros(2, 3, 8, 8)
        # a small data set, so that fgir.train's own defaults (10 epochs) stay within the time bound
        self.data = self.folder / "tiny.npz"
        rng = np.random.default_rng(0)
        np.savez(self.data, x=rng.random((40, 3, 8, 8), dtype=np.float32), y=np.arange(40) % 10)
        self.count = 0
        # hostile paths (issue 27): a FIFO (reading it would block), a name too long, a file where a folder goes
        self.fifo = self.folder / "fifo.yaml"
        os.mkfifo(self.fifo)
        self.a_file = self.folder / "a_file"
        self.a_file.write_text("not a folder")

    def out(self, suffix: str) -> Path:
        self.count += 1
        return self.folder / f"out{self.count}{suffix}"

    def odd_values(self) -> list[Any]:
        """Wrong types and values: what a caller gets wrong."""
        import numpy as np
        import torch

        return [None, 0, -1, 3, 1.5, math.nan, math.inf, True, "", "garbage", "64x64", "3x0x3", "all", b"bytes",
                [], [1, 2], (3, 64), (3, 8, 8), {}, {"a": 1}, object(), self.graph, self.lowered,
                Path("/nonexistent/x.pt"), self.folder, 10 ** 30, lambda: None, self.module, np.zeros((2, 3)),
                torch.zeros(2, 1, 8, 8), [torch.zeros(3, 8, 8)], "search_space: {}", str(self.spec),
                self.weights, self.onnx, self.batch, "infer_shapes", ["no_such_pass"], -(10 ** 30),
                "nul\x00in.pt", Path("nul\x00in.yaml"), "x" * 300 + ".pt", "long/" * 900 + "x.pt", self.fifo,
                str(self.fifo), Path("/dev/zero"), self.a_file / "below.pt", str(self.a_file), np.bool_(True),
                torch.tensor(True), np.array([1.0, 2.0]), torch.tensor(3), np.int64(4), ["a", 3], {"x": None}]


def _calls(fx: Fixtures) -> dict[str, tuple[Callable[..., Any], dict[str, Any]]]:
    """Each public function, and a valid set of arguments to spoil."""
    import fgir
    import fgir.api
    import fgir.plugins

    return {
        "fgir.compile": (fgir.compile, {"spec": TINY, "passes": None, "input": None, "dump_after": None,
                                        "dump_to": None, "verify": None}),
        "fgir.load": (fgir.load, {"source": str(fx.spec)}),
        "fgir.loads": (fgir.loads, {"text": TINY, "file": "fuzz.yaml"}),
        "fgir.to_torch": (fgir.to_torch, {"graph": fx.lowered, "input": None, "seed": 0, "max_params": 10 ** 6,
                                          "weights": None}),
        "fgir.to_onnx": (fgir.to_onnx, {"graph": fx.lowered, "path": None, "weights": None, "seed": 0,
                                        "opset": None, "keep_bn": False, "calibrate": None,
                                        "calibration": "percentile", "form": "integer", "input": None}),
        "fgir.to_onnx(quant)": (fgir.to_onnx, {"graph": QUANT, "path": None, "seed": 0, "calibrate": [fx.batch]}),
        "fgir.save_model": (fgir.save_model, {"module": fx.module, "path": fx.out(".pt")}),
        "fgir.load_model": (fgir.load_model, {"path": fx.weights}),
        "fgir.train": (fgir.train, {"spec": fx.lowered, "output": None, "data": str(fx.data), "epochs": 1,
                                    "progress": None, "weights": None, "run_dir": None, "resume": False}),
        "fgir.prune": (fgir.prune, {"spec": TINY, "weights": fx.module, "ratio": 0.5, "keep": ()}),
        "fgir.register_block": (fgir.register_block, {"cls": None}),
        "fgir.plugins.load_plugin": (fgir.plugins.load_plugin, {"name": str(ROOT / "examples/user_blocks/"
                                                                              "searchable_stage.py")}),
        "fgir.api.block_types": (fgir.api.block_types, {"name": "BasicBlock"}),
        "fgir.api.check_opset": (fgir.api.check_opset, {"opset": 17}),
        "fgir.api.calibration_batches": (fgir.api.calibration_batches, {"graph": fx.lowered, "count": 1,
                                                                        "data": "digits"}),
    }


def _documented() -> dict[str, tuple[type, ...]]:
    """The exceptions besides FgirError each function's docstring promises."""
    from fgir.prune.api import PruneOptionError

    return {"fgir.prune": (PruneOptionError,), "fgir.api.calibration_batches": (ImportError,)}


def _raised_by_callback(exc: BaseException) -> bool:
    """Whether ``exc`` came out of a function the caller gave (``dump_to``), called by the pass manager."""
    frames = traceback.extract_tb(exc.__traceback__)
    calls = [i for i, f in enumerate(frames) if f.name == "_dump" and f.filename.endswith("base.py")]
    return bool(calls) and calls[-1] < len(frames) - 1


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{type(exc).__name__} in {frames[-1].name}" if frames else type(exc).__name__


class ApiTarget:
    name = "api"

    def __init__(self) -> None:
        self.fx = Fixtures()
        self.calls = _calls(self.fx)
        self.documented = _documented()

    def make(self, rng: random.Random) -> tuple[str, dict[str, Any], list[str]]:
        name = rng.choice(sorted(self.calls))
        _, base = self.calls[name]
        kwargs = dict(base)
        if "path" in kwargs and name == "fgir.save_model":
            kwargs["path"] = self.fx.out(".pt")
        spoiled = rng.sample(sorted(kwargs), k=min(len(kwargs), rng.choice((1, 1, 2))))
        odd = self.fx.odd_values()
        for key in spoiled:
            kwargs[key] = rng.choice(odd)
        return name, kwargs, [f"{name}({', '.join(spoiled)})"]

    def check(self, case: tuple[str, dict[str, Any], list[str]]) -> str | None:
        from fgir.diagnostics import FgirError

        name, kwargs, _ = case
        fn, _ = self.calls[name]
        try:
            # relative paths among the odd values ("garbage", "64x64") are written in the fixtures' folder
            with contextlib.chdir(self.fx.folder), contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                fn(**kwargs)   # (an IR dump, a progress bar: not the harness's output)
        except FgirError:
            return None
        except self.documented.get(name, ()):
            return None
        except RecursionError:
            return f"{name}: RecursionError"
        except Exception as exc:  # the failures this target is for
            if _raised_by_callback(exc):
                return None   # a dump_to function's own error reaches its caller as it is (documented)
            return f"{name}: {_where(exc)}"
        finally:
            _forget_plugins()
        return None

    def describe(self, case: Any) -> str:
        name, kwargs, _ = case
        base = self.calls[name][1]
        return f"# {name}\n" + "\n".join(f"{k} = {v!r}"[:200] for k, v in kwargs.items()
                                          if k not in base or base[k] is not v) + "\n"


# -- plugins ------------------------------------------------------------------------------------------
PLUGIN = (ROOT / "examples" / "user_blocks" / "searchable_stage.py").read_text()
PLUGIN_SPEC = (ROOT / "examples" / "user_block.yaml").read_text()
_CODE_LINES = [
    "raise ValueError('the user broke it')", "1 / 0", "self.conv = torch.nn.Conv2d(16, 16, 3)",
    "self.layers = [Conv2d(16, 16, 3), ReLU()]", "undefined_name.attribute", "return None",
    "self.repeat = Repeat(num_reps=num_reps, items=items)", "x = items['missing']",
    "self.relu = ReLU(5, 6)", "self.conv = Conv2d(16, -3, 3)", "import nonexistent_package_xyz",
]
_TOP_LINES = [
    "from vega.search_space import FineGrainedSpace", "@ClassFactory.register(ClassType.NETWORK)",
    "import torch", "from fgir.blocks import Conv2d, ReLU", "register_block(42)",
    "@register_block\ndef not_a_class():\n    pass", "class Plain:\n    pass\nregister_block(Plain)",
]


def _mutate_plugin(text: str, rng: random.Random) -> tuple[str, str]:
    lines = text.splitlines()
    body = [i for i, line in enumerate(lines) if line.startswith("        ") and line.strip()]
    kind = rng.choice(["delete", "duplicate", "insert_code", "insert_top", "vega_base", "rename", "indent",
                       "truncate", "bad_bytes", "forward_none", "no_register"])
    if kind == "delete" and lines:
        del lines[rng.randrange(len(lines))]
    elif kind == "duplicate" and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif kind == "insert_code" and body:
        i = rng.choice(body)
        indent = re.match(r"\s*", lines[i]).group(0)
        lines.insert(i, indent + rng.choice(_CODE_LINES))
    elif kind == "insert_top":
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(_TOP_LINES))
    elif kind == "vega_base":
        text = "\n".join(lines).replace("(Block)", "(FineGrainedSpace)")
        return text, kind
    elif kind == "rename":
        names = sorted(set(re.findall(r"\b[a-z_]{4,}\b", "\n".join(lines))))
        if names:
            old = rng.choice(names)
            return re.sub(rf"\b{old}\b", old[:-1] + "q", "\n".join(lines), count=rng.randint(1, 3)), kind
    elif kind == "indent" and body:
        i = rng.choice(body)
        lines[i] = lines[i][rng.choice((1, 3))] + lines[i]
    elif kind == "truncate":
        return "\n".join(lines)[: rng.randrange(max(1, len(text)))], kind
    elif kind == "bad_bytes":
        return "\n".join(lines) + "\n# \udcff\n", kind
    elif kind == "forward_none":
        lines += ["", "    def forward(self, x):", "        x = self.repeat(x)"]
    elif kind == "no_register":
        lines = [line for line in lines if "@register_block" not in line]
    return "\n".join(lines) + "\n", kind


def _forget_plugins() -> None:
    """Every input starts from fgir's own blocks."""
    from fgir.plugins import forget_plugins

    forget_plugins()


class PluginTarget:
    name = "plugins"

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="fgir-fuzz-plugins-"))
        self.count = 0

    def make(self, rng: random.Random) -> tuple[Path, str, list[str]]:
        text, used = PLUGIN, []
        for _ in range(rng.randint(1, 2)):
            text, kind = _mutate_plugin(text, rng)
            used.append(kind)
        self.count += 1
        path = self.folder / f"plugin_{self.count}.py"
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        return path, text, used

    def check(self, case: tuple[Path, str, list[str]]) -> str | None:
        import fgir
        from fgir.diagnostics import FgirError
        from fgir.plugins import load_plugin

        path = case[0]
        try:
            load_plugin(str(path))
            fgir.compile(fgir.loads(PLUGIN_SPEC, "fuzz.yaml"))
        except FgirError as exc:
            for d in exc.diagnostics:
                if not (d.loc.file == "fuzz.yaml" or d.loc.file.endswith(path.name)):
                    return f"diagnostic neither in the plugin nor in the spec: {str(d)[:80]}"
                if d.loc.file.endswith(path.name) and d.loc.line <= 0 and "cannot be read" not in d.message:
                    return f"plugin diagnostic without a line: {str(d)[:80]}"
            return None
        except RecursionError:
            return "RecursionError"
        except Exception as exc:  # the failures this target is for
            return _where(exc)
        finally:
            _forget_plugins()
            path.unlink(missing_ok=True)
        return None

    @staticmethod
    def describe(case: Any) -> str:
        return case[1]


__all__ = ["ApiTarget", "PluginTarget"]

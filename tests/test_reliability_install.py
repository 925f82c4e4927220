"""The default install does the main job: torch, onnx and onnxruntime are dependencies; extras are for the
rest; and where a package is missing all the same, the message names it (exit 2), never "a bug in fgir"."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib

from conftest import EXAMPLES, ROOT


def test_the_main_jobs_packages_are_dependencies_and_the_extras_are_named():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip() for d in project["dependencies"]}
    assert {"torch", "onnx", "onnxruntime", "pyyaml", "numpy"} <= names
    assert all(">=" in d and "==" not in d for d in project["dependencies"])   # open ranges: constraints.txt pins
    assert sorted(project["optional-dependencies"]) == ["bench", "ray", "search", "test", "viz"]


def _site_without_torch(tmp_path):
    """This interpreter's packages, but torch (a folder of links to all the others)."""
    site = tmp_path / "site-without-torch"
    site.mkdir()
    for entry in __import__("pathlib").Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("torch", "functorch", "__editable__", "fgir")) and entry.suffix != ".pth":
            (site / entry.name).symlink_to(entry)
    return site


def test_a_missing_torch_is_named_with_exit_2_and_check_needs_none(installed_copy, tmp_path):
    env = {"PYTHONPATH": f"{installed_copy}:{_site_without_torch(tmp_path)}", "PATH": "/usr/bin:/bin"}
    spec = str(EXAMPLES / "resnet20_cifar.yaml")

    def fgir_run(*args):
        return subprocess.run([sys.executable, "-S", "-m", "fgir", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=120)

    for output in ("m.pt", "m.onnx"):
        result = fgir_run("compile", spec, "-o", output)
        assert (result.returncode, result.stderr) == (2, "fgir: error: this needs the Python package 'torch', which "
                                                         "is not installed: pip install torch (one of fgir's own dependencies)\n")
    assert fgir_run("check", spec).returncode == 0

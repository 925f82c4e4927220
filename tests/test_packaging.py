"""A non-editable install ships the whole compiler: passes/ as fgir.passes, grammar data included."""

import subprocess
import sys

from conftest import ROOT, installed_env


def test_non_editable_install_works(installed_copy, tmp_path):
    code = ("import fgir, fgir.passes; "
            "print(fgir.__file__.startswith(%r), fgir.passes.__file__.startswith(%r)); "
            "print(fgir.compile(%r).meta['params'])" % (str(installed_copy), str(installed_copy),
                                                        str(ROOT / "examples" / "resnet18.yaml")))
    run = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=installed_env(installed_copy), timeout=120)
    assert run.stdout.split() == ["True", "True", "11181642"], run.stderr

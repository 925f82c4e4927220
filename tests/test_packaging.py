"""A non-editable install ships the whole compiler: passes/ as fgir.passes, grammar data included."""

import subprocess
import sys
import sysconfig

from conftest import ROOT


def test_non_editable_install_works(tmp_path):
    target = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                            "--no-build-isolation", "--no-index", "--target", str(target), str(ROOT)],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert build.returncode == 0, build.stderr
    # -S: no .pth files, so the development checkout's editable finder cannot stand in
    env = {"PYTHONPATH": f"{target}:{sysconfig.get_paths()['purelib']}", "PATH": "/usr/bin:/bin"}
    code = ("import fgir, fgir.passes; "
            "print(fgir.__file__.startswith(%r), fgir.passes.__file__.startswith(%r)); "
            "print(fgir.compile(%r).meta['params'])" % (str(target), str(target),
                                                        str(ROOT / "examples" / "resnet18.yaml")))
    run = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=120)
    assert run.stdout.split() == ["True", "True", "11181642"], run.stderr

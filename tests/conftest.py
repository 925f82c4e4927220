from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(Path(__file__).resolve().parent))

# the guide's examples that docs/semantics.md says are wrong: kept verbatim, rejected with a clear error
GUIDE_ERRORS = {"quant_resnet18_guide.yaml", "prune_resnet20_guide.yaml"}
# examples whose weights come from a checkpoint made by a workflow step (README)
NEEDS_CHECKPOINT = {"prune_resnet20.yaml"}
# examples that need a plugin file loaded (their first comment lines name it)
NEEDS_PLUGIN = {"user_block.yaml", "mish_net.yaml"}
# examples that are no one-output classifier (an image-to-image U-Net, two outputs): tests/test_wiring.py;
# a segmentation network (N x classes x H x W): tests/test_family_lraspp.py
WIRING_EXAMPLES = {"unet.yaml", "two_outputs.yaml", "lraspp_mobilenet_v3_large.yaml"}
# examples whose input size their weights fix (a ViT's position embedding has one row a patch): the numeric
# example tests run each example at a small input, so tests/test_family_vit.py runs these, at a small
# configuration of the same builder
FIXED_INPUT = {"vit_b_16.yaml", "vit_fine_grained.yaml"}
# every example classifier spec that compiles on its own
NETWORK_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.yaml")
                          if p.name not in NEEDS_PLUGIN | GUIDE_ERRORS | WIRING_EXAMPLES)


@pytest.fixture(scope="session")
def installed_copy(tmp_path_factory) -> Path:
    """fgir installed the way users get it (not editable) from a clean copy of the sources: passes/ is
    fgir.passes there.  Returns the site folder; run it with :func:`installed_env`."""
    import shutil

    base = tmp_path_factory.mktemp("installed")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"))
    target = base / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                            "--no-index", "--target", str(target), str(source)],
                           capture_output=True, text=True, cwd=base, timeout=300)
    assert build.returncode == 0, build.stderr
    return target


def installed_env(site: Path) -> dict[str, str]:
    """The environment for ``python -S`` (no .pth files: the checkout's editable finder cannot stand in)
    that imports fgir from ``site`` and its dependencies from this interpreter's site-packages."""
    import sysconfig

    return {"PYTHONPATH": f"{site}:{sysconfig.get_paths()['purelib']}", "PATH": "/usr/bin:/bin"}


def run_fgir(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real command line in a fresh interpreter."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("FGIR_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "fgir", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=120)


def train_steps(model, x, y, steps: int, lr: float = 0.05) -> list[float]:
    """Run ``steps`` SGD steps of cross-entropy on one batch; the losses, in order."""
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.fixture
def one_torch_thread():
    """Torch on one thread for the test (training tests: steady on a shared machine), then as before."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def write_spec(tmp_path):
    """Write spec text to tmp/spec.yaml (dedented) and return its path."""
    import textwrap

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write

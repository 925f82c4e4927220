from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(Path(__file__).resolve().parent))

# the guide's examples that SEMANTICS.md says are wrong: kept verbatim, rejected with a clear error
GUIDE_ERRORS = {"quant_resnet18_guide.yaml", "prune_resnet20_guide.yaml"}
# examples whose weights come from a checkpoint made by a workflow step (README)
NEEDS_CHECKPOINT = {"prune_resnet20.yaml"}
# every example network spec that compiles (user_block.yaml needs its plugin)
NETWORK_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.yaml")
                          if p.name != "user_block.yaml" and p.name not in GUIDE_ERRORS)


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
def write_spec(tmp_path):
    """Write spec text to tmp/spec.yaml (dedented) and return its path."""
    import textwrap

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write

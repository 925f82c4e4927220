"""For the whole suite: the IR is verified after every pass; doctests run in a folder of their own
that shows the repository's examples/ (their example paths), so the files they write go there."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
# every pass manager of the suite (and of the CLI runs it starts) verifies the IR after every pass
os.environ.setdefault("FGIR_VERIFY", "1")


@pytest.fixture(autouse=True)
def _doctests_run_beside_the_examples(request, monkeypatch, tmp_path):
    if isinstance(request.node, pytest.DoctestItem):
        (tmp_path / "examples").symlink_to(ROOT / "examples")
        monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _each_test_draws_the_same_random_numbers():
    """A test's unseeded ``torch.randn`` draws the same values whichever tests ran before it (run
    alone or in the suite, with ``-k`` or ``-x``): a failure reproduces."""
    import numpy
    import torch

    torch.manual_seed(0)
    numpy.random.seed(0)

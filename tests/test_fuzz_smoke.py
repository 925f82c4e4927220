"""A short run of each fuzz target (bench/fuzz.py runs them 100,000 inputs long): mutated specs, wrong
arguments into every public function, broken plugins.  Every input ends in an FgirError, a documented
exception, or success."""

from __future__ import annotations

import random
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))


def failures(target, inputs: int, seed: int = 0, skip: tuple[str, ...] = ()) -> dict[str, int]:
    rng = random.Random(seed)
    found: dict[str, int] = {}
    for _ in range(inputs):
        case = target.make(rng)
        if skip and case[0] in skip:
            continue
        failure = target.check(case)
        if failure is not None:
            found[failure] = found.get(failure, 0) + 1
    return found


def test_mutated_specs():
    from fuzz import SpecTarget

    assert failures(SpecTarget(), 300) == {}


def test_broken_plugins():
    from fuzz_api import PluginTarget

    assert failures(PluginTarget(), 200) == {}


@pytest.fixture(scope="module")
def api():
    from fuzz_api import ApiTarget

    return ApiTarget()


def test_wrong_arguments_into_the_public_functions(api):
    assert failures(api, 200, skip=("fgir.prune", "fgir.train")) == {}


def test_wrong_arguments_into_train(api):
    import copy

    train = copy.copy(api)
    train.calls = {"fgir.train": api.calls["fgir.train"]}
    assert failures(train, 12, seed=1) == {}


def test_wrong_arguments_into_prune():
    from fuzz_api import ApiTarget

    target = ApiTarget()
    target.calls = {"fgir.prune": target.calls["fgir.prune"]}
    assert failures(target, 60) == {}


def test_hostile_output_paths():
    """Symlinks, FIFOs, folders, devices (root) and a full tmpfs (root, where mounting works) at the outputs:
    nothing but the output is touched, every failure an FgirError (bench/fuzz_files.py)."""
    from fuzz_files import PathsTarget

    target = PathsTarget()
    try:
        assert failures(target, 60) == {}
    finally:
        target.close()


def test_hostile_input_files():
    """/dev/zero, FIFOs, sparse giants, a zip bomb, control characters and NUL bytes: refused at once and
    printed safely (bench/fuzz_files.py)."""
    from fuzz_files import InputsTarget

    assert failures(InputsTarget(), 80) == {}

"""Symbolic cost (fgir.search.symbolic): exact against the compiler on every example space, the fallback said
out loud where a space has no closed form, and in-budget samplers that cost proposals by the formula.

The issue asks for exact equality on 10,000 random candidates of every example space.  Here each space's
formula costs 10,000 random candidates (every one must be known to it, none left to compile), and COMPARED of
them are compared with the full compile, every metric: compiling 10,000 of each of the thirteen spaces takes
minutes.  ``bench/bench_search.py --part symbolic`` compiles all 10,000 of each and prints the mismatches
(0 asserted).
"""

import json
import random

import pytest

from conftest import EXAMPLES, run_fgir
from fgir.plugins import load_plugin
from fgir.search import Space, run_search
from fgir.search.cost import CostModel
from fgir.search.symbolic import SymbolicCost

DRAWN = 10_000
COMPARED = 25
BACKBONE = EXAMPLES / "backbone_nas.yaml"
LIMIT = {"max_macs": 60_000_000}          # 9.2% of the 4,900 BackboneNas candidates are within it
SAMPLERS = ["RandomSearch", "RegularizedEvolution", "BackboneNasSearch", "TPESearch", "NSGA2Search"]


# every example that is a search space (the ones with dimensions); the test asserts each has some
SPACES = sorted(p for p in [*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("search/*.yaml")]
                if "hyper_parameters:" in p.read_text())
# the reasons a space is costed by compiling: small enough to compile whole, or too many dimensions to probe
FALLBACKS = {"user_block.yaml": "the space has 20 candidates: compiling them is cheaper than finding a formula",
             "darts.yaml": "its 34 dimensions take 267 compiles to find what depends on what, more than 256"}


@pytest.mark.parametrize("path", SPACES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_the_formula_equals_the_compiler_on_random_candidates(path):
    load_plugin(EXAMPLES / "user_blocks" / "searchable_stage.py")    # user_block.yaml's block
    space, name = Space.from_spec(path), path.name
    assert space.dimensions
    symbolic = SymbolicCost.of(space)
    rng = random.Random(24)
    samples = [space.sample(rng) for _ in range(DRAWN)]
    if name in FALLBACKS:
        assert (symbolic.exact, symbolic.reason) == (False, FALLBACKS[name])
        assert symbolic.line() == f"costs: compiled, no closed form: {FALLBACKS[name]}"
        samples = samples[:3]
    else:
        assert symbolic.exact, symbolic.reason
        costs = symbolic.costs(samples)
        assert sum(c is None for c in costs) == 0            # every key was tabled before it was needed
        assert costs[:50] == [symbolic.cost(s) for s in samples[:50]]   # the one-by-one path agrees
        samples = samples[:COMPARED]
    compiled = CostModel(space, symbolic=False)
    model = CostModel(space)
    assert model.costs(samples) == [compiled.cost(s) for s in samples]
    assert compiled.compiles == len({space.key(s) for s in samples}) and model.compiles == (
        len(samples) if name in FALLBACKS else 0)


def test_a_space_whose_cost_follows_a_continuous_dimension_says_it_is_compiled(tmp_path):
    text = (EXAMPLES / "search" / "prune_ratios_resnet20.yaml").read_text()
    text = text.replace("process.ratios[*]: choice(0, 0.25, 0.5, 0.75)",
                        'process.ratios.conv1: uniform(0, 0.5)\n            process.ratios["layer1.0.conv1"]: '
                        "choice(0, 0.25, 0.5, 0.75)\n            process.ratios[\"layer2.0.conv1\"]: "
                        "choice(0, 0.25, 0.5, 0.75)\n            process.ratios[\"layer3.0.conv1\"]: "
                        "choice(0, 0.25, 0.5)")
    text = text.replace("init_model_file: ../resnet20_dense.pt", "criterion: l1\n").replace(
        "            criterion: l1\n            criterion: l1", "            criterion: l1")
    spec = tmp_path / "continuous.yaml"
    spec.write_text(text)
    symbolic = SymbolicCost.of(Space.from_spec(spec))
    assert not symbolic.exact and symbolic.reason == (
        "node 'conv1' depends on process.ratios.conv1, which has too many values to table")
    done = run_fgir("space", "examples/user_block.yaml", "--plugin", "examples/user_blocks/searchable_stage.py",
                    "--format", "json", cwd=EXAMPLES.parent)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["samples"]["costing"] == f"costs: compiled, no closed form: {FALLBACKS['user_block.yaml']}"
    assert data["samples"]["exact"] and data["samples"]["distinct"] == 20         # compiled whole


@pytest.fixture(scope="module")
def backbone():
    return Space.from_spec(BACKBONE)


def test_a_blind_sampler_proposes_candidates_over_the_limit(backbone):
    blind = run_search(backbone, algorithm="RandomSearch", budget=6, seed=3, constraints=LIMIT, in_budget=False)
    over = [r for r in blind.rows if r["status"] == "invalid"]
    assert len(over) >= 4 and all(r["message"].startswith("over budget: macs") for r in over)


@pytest.mark.parametrize("name", SAMPLERS)
def test_in_budget_samplers_cost_proposals_by_the_formula_and_propose_none_over(name, backbone, monkeypatch):
    models = []
    made = CostModel.__init__

    def spy(self, *args, **kwargs):
        made(self, *args, **kwargs)
        models.append(self)

    monkeypatch.setattr(CostModel, "__init__", spy)
    result = run_search(backbone, algorithm=name, budget=6, seed=3, constraints=LIMIT)
    assert [r["status"] for r in result.rows] == ["ok"] * 6
    assert all(r["macs"] <= LIMIT["max_macs"] for r in result.rows)
    [model] = models
    assert model.symbolic.exact and model.compiles == 0          # every refusal was costed by the formula


def test_a_value_outside_its_domain_is_compiled_and_leaves_the_formula_alone():
    space = Space.from_spec(EXAMPLES / "search" / "supernet_mobilenet.yaml")
    model = CostModel(space)
    sample = {**space.initial(None), "stage1.depth": 3}           # the domain is choice(1, 2)
    assert model.cost(sample) == CostModel(space, symbolic=False).cost(sample) and model.compiles == 1
    assert model.symbolic.exact and model.costs([space.initial(None)]) == [model.symbolic.cost(space.initial(None))]


def test_every_search_space_of_the_examples_is_covered():
    assert len(SPACES) >= 12 and EXAMPLES / "backbone_nas.yaml" in SPACES
    assert EXAMPLES / "search" / "supernet_mobilenet.yaml" in SPACES

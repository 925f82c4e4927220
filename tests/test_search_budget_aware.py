"""Samplers that stay in budget: under a static constraint every algorithm proposes only candidates that fit
(rejection by the compiled cost, before proposing), so no evaluation goes to one the constraint refuses."""

import pytest

from fgir.search import Space, run_search
from search_helpers import TINY

LIMIT = {"max_macs": 4_000_000}     # about half of TINY's 36 candidates are over it
SAMPLERS = ["RandomSearch", "RegularizedEvolution", "BackboneNasSearch", "NSGA2Search", "TPESearch",
            "OptunaNSGA2Search"]
OPTIONS = {"RegularizedEvolution": {"population": 4, "sample": 2, "batch": 2}, "BackboneNasSearch": {"num_random": 4,
           "batch": 2}, "NSGA2Search": {"population": 4}, "TPESearch": {"startup": 4, "batch": 2},
           "OptunaNSGA2Search": {"population": 4}, "RandomSearch": {"batch": 4}}


def searched(name, in_budget):
    options = ", ".join(f"{k}: {v}" for k, v in OPTIONS[name].items())
    space = Space.from_text(f"search_algorithm: {{type: {name}, {options}}}\n" + TINY, "tiny.yaml")
    return run_search(space, budget=12, seed=1, constraints=LIMIT, in_budget=in_budget)


@pytest.mark.parametrize("name", SAMPLERS)
def test_each_sampler_proposes_only_candidates_within_the_limit(name):
    blind = searched(name, in_budget=False)
    over = [r for r in blind.rows if r["status"] == "invalid"]
    assert over and all(r["message"].startswith("over budget: macs") for r in over)   # what it cost before
    result = searched(name, in_budget=True)
    assert len(result.rows) == 12 and len({r["hash"] for r in result.rows}) == 12
    assert [r for r in result.rows if r["status"] != "ok"] == []
    assert all(r["macs"] <= LIMIT["max_macs"] for r in result.rows)


def test_a_resumed_in_budget_search_replays_the_same_candidates(tmp_path):
    whole = run_search(Space.from_text(TINY), tmp_path / "whole", algorithm="RegularizedEvolution", budget=10,
                       seed=2, constraints=LIMIT)
    run_search(Space.from_text(TINY), tmp_path / "part", algorithm="RegularizedEvolution", budget=4, seed=2,
               constraints=LIMIT)
    again = run_search(Space.from_text(TINY), tmp_path / "part", algorithm="RegularizedEvolution", budget=10,
                       seed=2, constraints=LIMIT)
    assert again.evaluated == 6 and [r["hash"] for r in again.rows] == [r["hash"] for r in whole.rows]

"""RegularizedEvolution, Optuna's TPE and NSGA-II through ask/tell, the Optuna mapping, the latency objective."""

import random
import textwrap

import pytest

import fgir
from conftest import EXAMPLES
from fgir.search import Space, run_search
from fgir.search.algorithms import RegularizedEvolution
from fgir.search.algorithms.optuna_space import OptunaSpace
from fgir.search.pareto import parse_objectives
from search_helpers import TINY, rows_of

BACKBONE = EXAMPLES / "backbone_nas.yaml"
QUANT = EXAMPLES / "search" / "quant_resnet20.yaml"


def test_regularized_evolution_retires_the_oldest_and_mutates_tournament_winners():
    space = Space.from_spec(BACKBONE)
    algo = RegularizedEvolution(space, seed=0, objectives=parse_objectives(["params:max"]), population=6,
                                sample=3, batch=4)
    result = run_search(space, algorithm="RegularizedEvolution", budget=30, seed=0)
    rows = result.rows
    assert [r["origin"] for r in rows[:16]] == ["initial"] + ["random"] * 15   # the default population of 16
    assert all(r["origin"].startswith("mutation of #") for r in rows[16:])
    assert len({r["hash"] for r in rows}) == 30
    first = algo.ask()
    algo.tell([{**row, "index": i} for i, row in enumerate(rows[:6])])
    assert len(first) == 6 and [r["index"] for r in algo.population] == list(range(6))
    children = algo.ask()
    algo.tell([{**rows[6 + i], "index": 6 + i} for i in range(len(children))])
    assert [r["index"] for r in algo.population] == [4, 5, 6, 7, 8, 9]   # aging: 0-3 retired, not the worst


def test_regularized_evolution_beats_its_own_first_population():
    result = run_search(BACKBONE, algorithm="RegularizedEvolution", budget=64, seed=1,
                        objectives=["params:max"])
    assert max(r["params"] for r in result.rows[16:]) > max(r["params"] for r in result.rows[:16])


@pytest.mark.parametrize("name", ["TPESearch", "OptunaNSGA2Search"])
def test_optuna_samplers_search_through_ask_and_tell(tmp_path, name):
    whole = run_search(BACKBONE, tmp_path / "whole", algorithm=name, budget=24, seed=2,
                       constraints={"max_macs": 150_000_000}, in_budget=False)
    rows = whole.rows
    assert rows[0]["origin"] == "initial" and {r["origin"] for r in rows[1:]} == \
        {"TPESearch": {"tpe"}, "OptunaNSGA2Search": {"nsga2"}}[name]
    assert len({r["hash"] for r in rows}) == 24                       # never a candidate twice
    assert all(sum(r["values"]["layer.doublechannel"]) == 4 for r in rows)   # codes keep their ones
    assert any(r["status"] == "invalid" for r in rows)
    run_search(BACKBONE, tmp_path / "part", algorithm=name, budget=10, seed=2, constraints={"max_macs": 150_000_000},
               in_budget=False)
    again = run_search(BACKBONE, tmp_path / "part", algorithm=name, budget=24, seed=2,
                       constraints={"max_macs": 150_000_000}, in_budget=False)
    assert again.evaluated == 14 and rows_of(tmp_path / "part") == rows   # same seed, same search, resumed


def test_tpe_finds_bigger_networks_than_its_random_start():
    result = run_search(BACKBONE, algorithm="TPESearch", budget=40, seed=0, objectives=["params:max"])
    assert max(r["params"] for r in result.rows[10:]) > max(r["params"] for r in result.rows[:10])


def test_optuna_nsga2_serves_the_quant_space():
    result = run_search(QUANT, algorithm="OptunaNSGA2Search", budget=32, seed=0)
    assert all(r["status"] == "ok" for r in result.rows) and len(result.front) > 3


def test_typed_dimensions_map_onto_optuna_distributions_and_back():
    text = textwrap.dedent("""
        search_space:
          hyper_parameters:
            layer.doublechannel: code(8)
            layer.downsample: code(8, ones=4)
            init.init_plane: range(8, 32, step=8)
            head.num_class: choice(10, 12)
          modules: [init, layer, head]
          init: {type: SmallInputInitialBlock, init_plane: 8}
          layer: {type: VariantLayer, block: {type: BasicBlock}, in_plane: 8, out_plane: 8,
                  doublechannel: [0, 0, 0, 0, 0, 0, 0, 0], downsample: [0, 0, 0, 0, 0, 0, 0, 0], expansion: 1}
          head: {type: LinearClassificationHead, num_class: 10}
        """)
    space = Space.from_text(text, "s.yaml")
    codec = OptunaSpace(space)
    kinds = {k: type(d).__name__ for k, d in codec.distributions.items()}
    assert kinds == {**{f"layer.doublechannel[{i}]": "CategoricalDistribution" for i in range(8)},
                     "layer.downsample": "CategoricalDistribution", "init.init_plane": "IntDistribution",
                     "head.num_class": "CategoricalDistribution"}
    assert codec.distributions["layer.downsample"].choices == tuple(range(70))   # C(8, 4) codes
    assert (codec.distributions["init.init_plane"].low, codec.distributions["init.init_plane"].step) == (8, 8)
    rng = random.Random(0)
    for _ in range(20):
        sample = space.sample(rng)
        assert codec.decode(codec.encode(sample)) == sample


def test_a_long_code_with_fixed_ones_is_searched_by_random_keys():
    from fgir.search.domains import Code

    class Dim:
        key, domain = "c", Code(20, ones=5)

    class Fake:
        dimensions = [Dim]

    codec = OptunaSpace(Fake())
    assert sorted(codec.distributions) == sorted(f"c[{i}]" for i in range(20))
    keys = {f"c[{i}]": (i * 7919 % 20) / 20 for i in range(20)}
    code = codec.decode(keys)["c"]
    largest = sorted(range(20), key=lambda i: -keys[f"c[{i}]"])[:5]
    assert [i for i, bit in enumerate(code) if bit] == sorted(largest)
    assert codec.decode(codec.encode({"c": code})) == {"c": code}


def test_latency_is_measured_after_the_static_filter_and_constrains_like_any_metric():
    result = run_search(BACKBONE, algorithm="RandomSearch", budget=6, seed=0, objectives=["latency_ms:min",
                        "params:max"], constraints={"max_macs": 150_000_000}, latency={"repeats": 3})
    assert result.config.latency.options() == {"batch": 1, "threads": 1, "repeats": 3, "warmup": 3}
    for row in result.rows:
        if row["status"] == "ok":
            assert row["metrics"]["latency_ms"] > 0
        else:                                      # over the MACs limit: never compiled to ONNX, never timed
            assert "latency_ms" not in row["metrics"] and row["message"].startswith("over budget: macs")
    measured = sorted(r["metrics"]["latency_ms"] for r in result.rows if r["status"] == "ok")
    limit = measured[len(measured) // 2]
    limited = run_search(BACKBONE, algorithm="RandomSearch", budget=6, seed=0,
                         constraints={"max_macs": 150_000_000, "max_latency_ms": limit / 1000})
    assert limited.config.latency is not None          # the constraint alone asks for the measurement
    assert all(r["status"] == "invalid" for r in limited.rows)
    slow = [r for r in limited.rows if "latency_ms" in r["metrics"]]
    assert slow and all(r["message"].startswith("over budget: latency_ms ") for r in slow)


def test_latency_options_are_checked(write_spec):
    spec = write_spec("search_algorithm: {type: RandomSearch, latency: {bacth: 2}}\n" + TINY)
    with pytest.raises(fgir.FgirError) as info:
        run_search(spec)
    assert info.value.render() == (f"{spec}:1:50: error: search_algorithm.latency.bacth: latency takes no option "
                                   f"'bacth'\n{spec}:1:50: note: did you mean 'batch'?")

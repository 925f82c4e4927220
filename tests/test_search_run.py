"""Running searches: BackboneNas end to end, determinism, resume, NSGA-II on bit lists, evaluators."""

import json
import subprocess
import sys
import textwrap

import pytest

import fgir
from conftest import EXAMPLES, ROOT, run_fgir
from fgir.search import SearchUsageError, Space, run_search
from fgir.search.evaluators.static import QuantMismatch, quant_bits, static_metrics
from search_helpers import TINY, rows_of

BACKBONE = EXAMPLES / "backbone_nas.yaml"
QUANT = EXAMPLES / "search" / "quant_resnet20.yaml"


def test_backbone_nas_end_to_end_with_the_static_evaluator(tmp_path):
    result = run_search(BACKBONE, tmp_path, budget=40, seed=0, constraints={"max_macs": 150_000_000},
                        in_budget=False)   # proposing blind: over-budget rows are recorded invalid
    rows = rows_of(tmp_path)
    assert rows == result.rows and len(rows) == 40
    assert result.config.algorithm.__name__ == "BackboneNasSearch"   # the spec's search_algorithm
    assert len({r["hash"] for r in rows}) == 40
    for row in rows:
        assert sum(row["values"]["layer.doublechannel"]) == sum(row["values"]["layer.downsample"]) == 4
        if row["status"] == "invalid":
            assert row["message"].startswith("over budget: macs ")
            assert row["message"].endswith("> max_macs 150,000,000")
        else:
            assert row["status"] == "ok" and row["macs"] <= 150_000_000 and row["params"] > 0
    assert rows[0]["origin"] == "initial"
    assert {r["origin"].split(" ")[0] for r in rows} == {"initial", "random", "mutation"}
    assert any(r["status"] == "invalid" for r in rows)
    best = fgir.compile(tmp_path / "best.yaml")
    largest = max(r["params"] for r in rows if r["status"] == "ok")
    assert best.meta["params"] == result.best["params"] == largest
    assert result.front and all(r["status"] == "ok" for r in result.front)


def test_invalid_candidates_are_recorded_not_raised(write_spec):
    # a free count of ones breaks VariantLayer's final width (out_plane 512 needs four doublings)
    text = (BACKBONE.read_text().replace("layer.doublechannel: [0, 1, 1, 0, 1, 0, 0, 1]",
                                         "layer.doublechannel: code(8)"))
    result = run_search(Space.from_text(text, "free.yaml"), budget=12, seed=3)
    invalid = [r for r in result.rows if r["status"] == "invalid"]
    valid = [r for r in result.rows if r["status"] == "ok"]
    assert invalid and all(sum(r["values"]["layer.doublechannel"]) == 4 for r in valid)
    assert all("out_plane" in r["message"] and r["params"] is None for r in invalid)


def test_same_seed_same_file_with_any_number_of_workers(tmp_path):
    runs = [("a", "1"), ("b", "1"), ("c", "2")]
    for name, workers in runs:
        result = run_fgir("search", str(BACKBONE), "--budget", "24", "--seed", "7", "--workers", workers,
                          "-o", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
    first = (tmp_path / "a" / "results.jsonl").read_bytes()
    assert first == (tmp_path / "b" / "results.jsonl").read_bytes()
    assert first == (tmp_path / "c" / "results.jsonl").read_bytes()
    assert (tmp_path / "a" / "best.yaml").read_bytes() == (tmp_path / "c" / "best.yaml").read_bytes()
    assert "Pareto front:" in result.stdout and "wrote" in result.stdout
    assert "24/24" in result.stderr    # the progress bar
    other = run_fgir("search", str(BACKBONE), "--budget", "24", "--seed", "8", "-o", str(tmp_path / "d"))
    assert (tmp_path / "d" / "results.jsonl").read_bytes() != first


def test_resume_continues_to_the_budget_as_if_never_stopped(tmp_path):
    whole = run_search(BACKBONE, tmp_path / "whole", budget=30, seed=1)
    run_search(BACKBONE, tmp_path / "part", budget=11, seed=1)
    again = run_search(BACKBONE, tmp_path / "part", budget=30, seed=1)
    assert again.evaluated == 19
    assert (tmp_path / "part" / "results.jsonl").read_bytes() == \
        (tmp_path / "whole" / "results.jsonl").read_bytes()
    assert again.best == whole.best


def test_a_row_cut_short_is_evaluated_again(tmp_path):
    run_search(BACKBONE, tmp_path, budget=5, seed=2)
    path = tmp_path / "results.jsonl"
    full = path.read_bytes()
    path.write_bytes(full[:-40])            # killed while writing the last row
    result = run_search(BACKBONE, tmp_path, budget=5, seed=2)
    assert result.evaluated == 1 and path.read_bytes() == full


def test_nsga2_on_quant_bit_lists_with_weight_bytes(tmp_path):
    result = run_search(QUANT, tmp_path, budget=48, seed=0)
    assert result.config.algorithm.__name__ == "NSGA2Search"
    rows = result.rows
    assert all(r["status"] == "ok" for r in rows) and len({r["hash"] for r in rows}) == 48
    assert rows[0]["origin"] == "initial" and any("crossover" in r["origin"] for r in rows[16:])
    # weight bytes = Σ params·bits/8 over the graph: the listed convs at their bits, the stem at 8
    # (stem_bits), BN and the classifier at 32
    row = rows[5]
    graph = fgir.compile(fgir.loads(result.space.freeze(row["values"])))
    w_bits, _ = quant_bits(graph)
    convs = [n for n in graph if n.op == "conv2d"]
    assert list(w_bits) == [n.name for n in convs[1:]]
    assert list(w_bits.values()) == [row["values"][f"process.nbit_w_list[{i}]"] for i in range(20)]
    bits = {**w_bits, convs[0].name: 8}
    expected = sum(n.meta.get("params", 0) * bits.get(n.name, 32) for n in graph) // 8
    assert row["metrics"]["weight_bytes"] == expected
    # evolution moves the front: the smallest model found beats the first generation's
    first_gen = min(r["metrics"]["weight_bytes"] for r in rows[:16])
    assert min(r["metrics"]["weight_bytes"] for r in result.front) < first_gen
    fgir.compile(tmp_path / "best.yaml")


def test_a_bit_list_of_the_wrong_length_is_an_invalid_candidate():
    text = QUANT.read_text().replace("process.nbit_w_list[*]: choice(2, 4, 8)",
                                     "process.nbit_w_list: choice([8, 4], 8)").replace(
        "process.nbit_a_list[*]: choice(4, 8)", "process.nbit_a_list: 8")
    rows = run_search(Space.from_text(text, "q.yaml"), algorithm="GridSearch", budget=200).rows
    assert len(rows) == 2 and rows[1]["status"] == "ok"
    short = rows[0]
    assert short["values"]["process.nbit_w_list"] == [8, 4] and short["status"] == "invalid"
    assert "nbit_w_list" in short["message"] and "2" in short["message"] and "20" in short["message"]


def test_the_static_evaluator_maps_bits_itself_without_apply_quant():
    from fgir.passes import default_passes

    text = QUANT.read_text()
    passes = [p for p in default_passes() if p.name != "apply_quant"]
    with_pass = static_metrics(fgir.compile(fgir.loads(text)))
    without = static_metrics(fgir.compile(fgir.loads(text), passes=passes))
    assert with_pass == without and with_pass["weight_bytes"] < 4 * with_pass["params"]
    short = fgir.loads(text.replace("nbit_w_list: [8, 4, 8, 4,", "nbit_w_list: [8, 4,"))
    with pytest.raises(QuantMismatch, match="process.nbit_w_list: 18 bit widths for 20 quantizable convolutions"):
        static_metrics(fgir.compile(short, passes=passes))


def test_nsga2_serves_prune_masks_with_the_same_machinery():
    node = [[1] * w for w in (16, 16, 32, 64)]
    inner = [[1] * w for w in (16, 16, 16, 32, 32, 32, 64, 64, 64)]
    text = textwrap.dedent(f"""
        search_algorithm: {{type: NSGA2Search, population: 8, objectives: [params:min, macs:max]}}
        search_space:
          hyper_parameters:
            process.chn_mask[*]: code()
          modules: [resnet, process]
          resnet: {{type: ResNet, depth: 20}}
          process: {{type: Prune, chn_node_mask: {node}, chn_mask: {inner}}}
        """)
    result = run_search(Space.from_text(text, "prune.yaml"), budget=16, seed=0)
    assert len(result.space.dimensions) == 9
    ok = [r for r in result.rows if r["status"] == "ok"]
    assert len({r["params"] for r in ok}) > 5          # the masks reach the compiled network
    assert all(r["message"] for r in result.rows if r["status"] != "ok")


def test_grid_search_exhausts_a_small_space(write_spec):
    spec = write_spec(TINY.replace("layer.downsample: [1, 0, 1, 0]", "head.num_class: choice(10, 12)"))
    result = run_search(spec, algorithm="GridSearch", budget=100)
    assert result.exhausted and len(result.rows) == 6 * 2
    assert len({r["hash"] for r in result.rows}) == 12


def test_a_python_callable_is_an_evaluator(write_spec):
    calls = []

    def score(graph):
        calls.append(graph.meta["params"])
        return {"score": -graph.meta["macs"]}

    result = run_search(write_spec(TINY), algorithm="RandomSearch", evaluator=score, budget=5)
    assert len(calls) == 5
    assert result.best["metrics"]["score"] == max(r["metrics"]["score"] for r in result.rows)


def test_train_evaluator_on_digits_beats_chance(write_spec, tmp_path):
    result = run_search(write_spec(TINY), tmp_path, algorithm="RandomSearch", evaluator="train", budget=2,
                        input="3x8x8", evaluator_options={"epochs": 1}, seed=0)
    accuracies = [r["metrics"]["accuracy"] for r in result.rows]
    assert len(accuracies) == 2 and min(accuracies) > 0.3, accuracies   # 10 classes: chance is 0.1
    assert [str(o) for o in result.config.objectives] == ["accuracy:max", "macs:min"]


def test_static_search_imports_no_torch():
    code = ("import sys; from fgir.search import run_search; "
            "run_search('examples/backbone_nas.yaml', budget=3); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


# -- bad input: one diagnostic each, exit 1 (the spec) or 2 (the command line), never a traceback --

def test_cli_bad_budget_algorithm_and_outdir(tmp_path):
    out = str(tmp_path / "out")
    cases = [
        (["--budget", "0"], "fgir search: error: --budget: the budget must be a positive integer, got 0\n"),
        (["--algorithm", "Randm"], "fgir search: error: --algorithm: unknown search algorithm 'Randm'\n"
                                   "fgir search: note: did you mean 'RandomSearch'?\n"),
        (["--evaluator", "trian"], "fgir search: error: --evaluator: unknown evaluator 'trian'\n"
                                   "fgir search: note: did you mean 'train'?\n"),
    ]
    for extra, stderr in cases:
        result = run_fgir("search", str(BACKBONE), "-o", out, *extra)
        assert (result.returncode, result.stderr) == (2, stderr)
    assert run_fgir("search", str(BACKBONE), "--budget", "2", "-o", out).returncode == 0
    result = run_fgir("search", str(BACKBONE), "--budget", "2", "--seed", "5", "-o", out)
    assert result.returncode == 2
    assert result.stderr == (f"{out}/search.json: error: holds the results of another search (it differs "
                             f"in seed)\n{out}/search.json: note: choose another output directory, or "
                             "remove this one to start over\n")


def test_cli_bad_path_in_the_spec_is_exit_1(write_spec, tmp_path):
    spec = write_spec(TINY.replace("layer.downsample: [1, 0, 1, 0]\n", "layer.downsampel: [1, 0, 1, 0]\n", 1))
    result = run_fgir("search", str(spec), "-o", str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr == (
        f"{spec}:5:11: error: hyper_parameters.layer.downsampel: VariantLayer 'layer' has no argument "
        f"'downsampel'\n{spec}:5:11: note: did you mean 'downsample'?\nfgir: 1 error\n")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("section,expected", [
    ("{type: BackboneNas}", "1:26: error: search_algorithm.type: unknown search algorithm 'BackboneNas'\n"
                            "{spec}:1:26: note: did you mean 'BackboneNasSearch'?"),
    ("{type: BackboneNasSearch, num_rando: 3}",
     "1:45: error: search_algorithm.num_rando: BackboneNasSearch takes no option 'num_rando'\n"
     "{spec}:1:45: note: did you mean 'num_random'?"),
    ("{type: RandomSearch, budget: 0}",
     "1:48: error: search_algorithm.budget: the budget must be a positive integer, got 0"),
    ("{type: NSGA2Search, crossover: 2.0}",
     "1:50: error: search_algorithm.crossover: crossover is a probability from 0 to 1, got 2.0"),
    ("{type: RandomSearch, constraints: {max_mac: 5}}",
     "1:54: error: search_algorithm.constraints.max_mac: the static evaluator reports no metric 'mac'\n"
     "{spec}:1:54: note: did you mean 'macs'?"),
    ("{type: RandomSearch, evaluator: trian}",
     "1:51: error: search_algorithm.evaluator: unknown evaluator 'trian'\n"
     "{spec}:1:51: note: did you mean 'train'?"),
])
def test_bad_search_algorithm_sections(write_spec, section, expected):
    spec = write_spec(f"search_algorithm: {section}\n" + textwrap.dedent(TINY).lstrip())
    with pytest.raises(fgir.FgirError) as info:
        run_search(spec)
    assert not isinstance(info.value, SearchUsageError)
    assert info.value.render() == f"{spec}:" + expected.format(spec=spec)


def test_bad_api_arguments_are_usage_errors(write_spec):
    spec = write_spec(TINY)
    with pytest.raises(SearchUsageError, match="--workers: workers must be a positive integer, got 0"):
        run_search(spec, workers=0)
    with pytest.raises(SearchUsageError, match="--algorithm: the space has .* too many for GridSearch"):
        run_search(Space.from_text(BACKBONE.read_text().replace(
            "layer.downsample : [1, 1, 0, 1, 0, 0, 0, 1]", "layer.downsample: code(40)"), "x.yaml"),
            algorithm="GridSearch")

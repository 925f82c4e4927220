"""fgir space: exact counts, the JSON form, duplicates of `none` edges, the page in a real browser, and a
constraint no candidate can meet found by `fgir space` and `fgir search` before any evaluation, located."""

import json
import math
import textwrap

import pytest

import fgir
from conftest import EXAMPLES, run_fgir
from fgir.search import Space, space_report
from search_helpers import TINY
from test_search_report import browser  # noqa: F401  (the headless Chromium fixture)

BACKBONE = EXAMPLES / "backbone_nas.yaml"

# one NAS-Bench-201 cell: with edge 0->1 `none`, node 1 is zero and edge 1->2 (none, skip or pool of zeros)
# adds nothing: 3 assignments, one network; with edge 0->1 a skip, 3 networks
NONE_EDGES = textwrap.dedent("""
    search_space:
      hyper_parameters:
        net.edges[0]: choice(none, skip_connect)
        net.edges[2]: choice(none, skip_connect, avg_pool_3x3)
      modules: [net]
      net:
        type: NASBench201
        edges: [skip_connect, nor_conv_1x1, skip_connect, nor_conv_1x1, nor_conv_3x3, skip_connect]
        channels: 4
        cells: 1
        num_class: 10
    """).lstrip()


@pytest.fixture(scope="module")
def tiny_spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("space") / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def tiny_costs():
    """Every candidate of TINY compiled by hand: (macs, params) by sample."""
    space = Space.from_text(TINY)
    return [(s, fgir.compile(space.freeze(s)).meta) for s in space.grid()]


def test_counts_are_exact_big_integers(tiny_spec):
    done = run_fgir("space", str(BACKBONE), "--samples", "12", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["candidates"] == str(math.comb(8, 4) ** 2) == "4900"
    assert [(d["key"], d["size"]) for d in data["dimensions"]] == [("layer.doublechannel", 70), ("layer.downsample", 70)]
    assert data["samples"]["drawn"] == 12 and not data["samples"]["exact"]
    wide = Space.from_text(TINY.replace("layer.doublechannel: [0, 1, 0, 1]", "layer.doublechannel: code(4)"))
    assert space_report(wide, samples=1).candidates == 2 ** 4 * math.comb(4, 2)
    many = Space.from_text(BACKBONE.read_text().replace("layer.doublechannel: [0, 1, 1, 0, 1, 0, 0, 1]",
                                                          "layer.doublechannel: code(80)")
                           .replace("doublechannel: [0, 1, 1, 0, 1, 0, 0, 1]\n            downsample",
                                    "doublechannel: [" + ", ".join(["0"] * 80) + "]\n            downsample"))
    assert many.size() == 2 ** 80 * 70       # beyond any float: the count stays exact


def test_a_small_space_is_compiled_whole_and_every_figure_is_exact(tiny_spec, tiny_costs):
    done = run_fgir("space", str(tiny_spec), "--max-macs", "4000000", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["candidates"] == "36" and data["samples"] == {**data["samples"], "drawn": 36, "distinct": 36,
                                                              "exact": True, "invalid": 0}
    macs = sorted(m["macs"] for _, m in tiny_costs)
    params = sorted(m["params"] for _, m in tiny_costs)
    assert (data["metrics"]["macs"]["min"], data["metrics"]["macs"]["max"]) == (macs[0], macs[-1]) == (1757504, 24797504)
    assert (data["metrics"]["params"]["min"], data["metrics"]["params"]["max"]) == (params[0], params[-1])
    assert sum(data["metrics"]["macs"]["histogram"]["counts"]) == 36
    [limit] = data["constraints"]
    within = sum(m <= 4_000_000 for m in macs)
    assert (limit["name"], limit["from"], limit["within"]) == ("max_macs", "--max-macs", round(within / 36, 4))
    # the dimension that pushes candidates over comes first, each value with its exact share over
    top = limit["by_dimension"][0]
    for level in top["values"]:
        chosen = [m for s, m in tiny_costs if "=" + "".join(map(str, s[top["key"]])) == level["value"]]
        assert (level["samples"], level["over"]) == (len(chosen), round(sum(m["macs"] > 4e6 for m in chosen) / len(chosen), 4))
    smallest = data["extremes"]["smallest_macs"]
    assert smallest["macs"] == macs[0] and fgir.compile(Space.from_text(TINY).freeze(smallest["values"])).meta["macs"] == macs[0]
    assert data["extremes"]["largest_params"]["params"] == params[-1]
    text = run_fgir("space", str(tiny_spec), "--max-macs", "4000000").stdout.splitlines()
    assert text[0] == f"space {tiny_spec}: 36 candidates"
    assert text[2] == "  layer.doublechannel  code(4, ones=2)  6 values: 1100, 1010, 1001, 0110, 0101, 0011"
    assert f"constraint max_macs 4,000,000 (--max-macs): {within / 36:.1%} of the candidates within" in text


def test_duplicates_of_none_edges_are_found_by_the_canonical_network_hash(tmp_path):
    spec = tmp_path / "cell.yaml"
    spec.write_text(NONE_EDGES)
    data = json.loads(run_fgir("space", str(spec), "--format", "json").stdout)
    assert data["candidates"] == "6" and data["samples"]["exact"]
    dup = data["duplicates"]
    assert (dup["assignments"], dup["networks"], dup["duplicates"], dup["group_sizes"]) == (6, 4, 2, [3])
    assert {g["net.edges[0]"] for g in dup["groups"][0]} == {"none"}
    assert sorted(g["net.edges[2]"] for g in dup["groups"][0]) == ["avg_pool_3x3", "none", "skip_connect"]


def test_the_page_draws_the_histograms_in_a_real_browser(tiny_spec, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    page = tmp_path / "space.html"
    done = run_fgir("space", str(tiny_spec), "--max-params", "40000", "--html", str(page))
    assert done.returncode == 0 and done.stderr == f"wrote {page}\n", done.stderr
    text = page.read_text()
    assert " src=" not in text and " href=" not in text and "@import" not in text
    browser.get(page.as_uri())
    charts = browser.find_elements(By.CSS_SELECTOR, ".histogram")
    assert [c.get_attribute("data-metric") for c in charts] == ["params", "macs"]
    bars = browser.find_elements(By.CSS_SELECTOR, ".histogram[data-metric=params] .bar")
    assert len(bars) == 20 and sum(int(b.get_attribute("data-count")) for b in bars) == 36
    assert "max_params 40,000" in charts[0].text            # the limit drawn on its own metric only
    assert "max_params" not in charts[1].text
    full = next(b for b in bars if int(b.get_attribute("data-count")) > 0)
    ActionChains(browser).move_to_element(full).perform()
    tip = browser.find_element(By.ID, "tip")
    assert tip.is_displayed() and tip.text.endswith(f": {full.get_attribute('data-count')} samples")
    assert "max_params 40,000 (--max-params)" in browser.find_element(By.CSS_SELECTOR, "h2.constraint").text
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.parametrize("command", ["space", "search"])
def test_an_unmeetable_flag_is_a_usage_error_naming_the_smallest_achievable_value(command, tiny_spec, tmp_path):
    extra = ["-o", str(tmp_path / "out")] if command == "search" else []
    done = run_fgir(command, str(tiny_spec), "--max-macs", "1000000", *extra)
    assert (done.returncode, done.stderr) == (2, (
        f"fgir {command}: error: --max-macs: no candidate meets max_macs 1,000,000: the smallest achievable macs "
        "is 1,757,504 (exact: every one of the 36 candidates compiled)\n"
        f"fgir {command}: note: the smallest: layer.doublechannel=0011, layer.downsample=1100; raise the limit or "
        "change the space\n"))
    assert not (tmp_path / "out" / "results.jsonl").exists()     # nothing was evaluated


@pytest.mark.parametrize("command", ["space", "search"])
def test_an_unmeetable_spec_constraint_is_an_error_at_its_line(command, tmp_path, tiny_costs):
    assert min(m["params"] for _, m in tiny_costs) == 21_138
    spec = tmp_path / "spec.yaml"
    spec.write_text("search_algorithm:\n  constraints: {max_params: 20000}\n" + TINY)
    extra = ["-o", str(tmp_path / "out")] if command == "search" else []
    done = run_fgir(command, str(spec), *extra)
    assert (done.returncode, done.stderr.splitlines()) == (1, [
        f"{spec}:2:29: error: search_algorithm.constraints.max_params: no candidate meets max_params 20,000: the "
        "smallest achievable params is 21,138 (exact: every one of the 36 candidates compiled)",
        f"{spec}:2:29: note: the smallest: layer.doublechannel=0011, layer.downsample=0011; raise the limit or "
        "change the space", "fgir: 1 error"])
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_a_large_space_is_searched_per_dimension_and_says_so():
    from fgir.search.cost import CostModel
    from fgir.search.feasibility import extreme

    found = extreme(CostModel(Space.from_spec(BACKBONE)), "macs")
    assert found.value == 27_001_856 and not found.exact       # the exact minimum of all 4,900 (measured once)
    assert found.how.startswith("per dimension: each dimension's values tried with the others at the best so far")

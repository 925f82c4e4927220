"""Early stopping across budgets: ASHA, successive halving and Hyperband over epochs."""

import pytest

import fgir
from conftest import EXAMPLES
from fgir.search import SearchUsageError, Space, TrainEvaluator, run_search
from fgir.search.best import candidate_seed
from fgir.search.budget import rung_epochs
from fgir.search.budget.schedulers import ranked
from fgir.search.pareto import parse_objectives
from search_helpers import TINY, load_test_plugin, rows_of, run_bounded

BACKBONE = EXAMPLES / "backbone_nas.yaml"


@pytest.fixture(scope="module", autouse=True)
def plugin(tmp_path_factory):
    """The test evaluators; ``curve`` trains by epochs in no time."""
    return load_test_plugin(tmp_path_factory.mktemp("plugin"))


def test_rungs_grow_by_eta_up_to_the_most_epochs():
    assert rung_epochs(1, 9, 3) == [1, 3, 9]
    assert rung_epochs(1, 10, 3) == [1, 3, 10]
    assert rung_epochs(2, 16, 2) == [2, 4, 8, 16]
    assert rung_epochs(1, 2, 3) == [1, 2]


def test_several_objectives_rank_by_pareto_front_then_crowding():
    rows = [{"index": i, "status": "ok", "macs": m, "metrics": {"accuracy": a}}
            for i, (a, m) in enumerate([(0.9, 9), (0.5, 1), (0.7, 5), (0.6, 6), (0.4, 2)])]
    rows.append({"index": 5, "status": "invalid", "macs": 1, "metrics": {}})
    order = [r["index"] for r in ranked(rows, parse_objectives(["accuracy:max", "macs:min"]))]
    assert order == [0, 1, 2, 3, 4]           # front {0, 1, 2} (ends first), then 3, then 4; invalid never
    assert [r["index"] for r in ranked(rows, parse_objectives(["accuracy:max"]))] == [0, 2, 3, 1, 4]


def asha(budget=30, **extra):
    options = dict(algorithm="RandomSearch", evaluator="curve", budget=budget, seed=0,
                   objectives=["accuracy:max"], scheduler="ASHA", scheduler_options={"eta": 3},
                   evaluator_options={"epochs": 9})
    options.update(extra)
    return run_search(BACKBONE, **options)


def test_asha_promotes_the_top_third_of_each_rung_and_continues_from_the_state():
    result = asha()
    rows = result.rows
    assert {r["rung"]: r["epochs"] for r in rows} == {0: 1, 1: 3, 2: 9}
    assert len({r["hash"] for r in rows}) == 30 and sum(r["rung"] == 0 for r in rows) == 30
    for i, row in enumerate(rows):
        if row["rung"] == 0:
            assert row["metrics"]["from_epochs"] == 0 and not row["origin"].startswith("promotion")
            continue
        parent = rows[int(row["origin"].removeprefix("promotion of #"))]
        assert (parent["hash"], parent["rung"], row["metrics"]["from_epochs"]) == \
            (row["hash"], row["rung"] - 1, parent["epochs"])
        # ASHA's rule: when its round was planned (at most a batch of 8 rows earlier), the parent was in the
        # top 1/eta of its rung's results recorded so far
        def top_third(upto):
            done = [r for r in rows[:upto] if r["rung"] == parent["rung"]]
            return {r["hash"] for r in sorted(done, key=lambda r: -r["metrics"]["accuracy"])[: len(done) // 3]}
        assert any(parent["hash"] in top_third(j) for j in range(max(0, i - 7), i + 1))
    promoted = [r for r in rows if r["rung"] == 1]
    assert len(promoted) == 10 and sum(r["rung"] == 2 for r in rows) == 3
    assert result.best["epochs"] == 9 and result.best["metrics"]["accuracy"] == max(
        r["metrics"]["accuracy"] for r in rows if r["rung"] == 2)


def test_the_exact_static_metrics_filter_before_any_training():
    result = asha(budget=20, constraints={"max_macs": 150_000_000}, in_budget=False)
    invalid = [r for r in result.rows if r["status"] == "invalid"]
    assert invalid and all(r["rung"] == 0 and "accuracy" not in r["metrics"] for r in invalid)
    assert all(r["message"].startswith("over budget: macs") for r in invalid)
    assert not {r["hash"] for r in invalid} & {r["hash"] for r in result.rows if r["rung"] > 0}


def test_an_epoch_budget_buys_asha_more_candidates_than_full_training():
    full = run_search(BACKBONE, algorithm="RandomSearch", evaluator="curve", budget=6, seed=0,
                      objectives=["accuracy:max"], evaluator_options={"epochs": 9})
    stopped = asha(budget=1000, epoch_budget=6 * 9)
    spent = sum(r["epochs"] - (stopped.rows[int(r["origin"].split("#")[1])]["epochs"] if r["rung"] else 0)
                for r in stopped.rows)
    candidates = len({r["hash"] for r in stopped.rows})
    assert spent <= 54 and candidates >= 3 * len(full.rows), (spent, candidates)


def test_resuming_replays_the_rounds_and_extends_the_epoch_budget(tmp_path):
    whole = asha(budget=1000, epoch_budget=40)
    asha(budget=1000, epoch_budget=17, outdir=tmp_path)
    assert (tmp_path / "checkpoints").is_dir()
    again = asha(budget=1000, epoch_budget=40, outdir=tmp_path)
    assert 0 < again.evaluated < len(whole.rows)
    assert rows_of(tmp_path) == whole.rows
    # a promotion after the resume continued from a checkpoint the first run left
    resumed = again.rows[len(whole.rows) - again.evaluated:]
    assert any(r["rung"] > 0 and r["metrics"]["from_epochs"] > 0 for r in resumed)


def test_the_same_seed_gives_the_same_rows_with_any_number_of_workers():
    assert asha(budget=16, workers=2).rows == asha(budget=16).rows


def test_successive_halving_waits_for_a_complete_rung():
    result = run_search(BACKBONE, algorithm="RandomSearch", evaluator="curve", budget=9, seed=0,
                        objectives=["accuracy:max"], scheduler="SuccessiveHalving", evaluator_options={"epochs": 9})
    rows = result.rows
    # brackets of 9: 9 at one epoch, the best 3 at three, the best of those at nine
    assert [r["rung"] for r in rows] == [0] * 8 + [0] + [1, 1, 1] + [2]
    first = sorted(rows[:9], key=lambda r: -r["metrics"]["accuracy"])[:3]
    assert {r["hash"] for r in rows[9:12]} == {r["hash"] for r in first}
    assert rows[12]["hash"] == max(rows[9:12], key=lambda r: r["metrics"]["accuracy"])["hash"]


def test_hyperband_starts_brackets_at_each_rung():
    result = run_search(BACKBONE, algorithm="RandomSearch", evaluator="curve", budget=17, seed=0,
                        objectives=["accuracy:max"], scheduler="Hyperband", evaluator_options={"epochs": 9})
    starts = {}
    for row in result.rows:
        starts.setdefault(row["hash"], row["epochs"])
    counts = {e: list(starts.values()).count(e) for e in (1, 3, 9)}
    assert counts == {1: 9, 3: 5, 9: 3}      # Hyperband's brackets for eta 3, three rungs


def test_asha_with_the_train_evaluator_equals_training_that_long_at_once(write_spec):
    space = Space.from_text(TINY, "tiny.yaml")
    result = run_search(space, algorithm="RandomSearch", evaluator="train", budget=6, seed=0, input="3x8x8",
                        objectives=["accuracy:max"], evaluator_options={"epochs": 3, "limit": 256},
                        scheduler="ASHA")
    promoted = [r for r in result.rows if r["rung"] == 1]
    assert len(promoted) == 2
    for row in promoted:
        graph = fgir.compile(fgir.loads(space.freeze(row["values"])), input="3x8x8")
        straight = TrainEvaluator(epochs=3, limit=256)(graph, seed=candidate_seed(0, row["hash"]))
        assert {k: row["metrics"][k] for k in straight} == straight


def test_a_scheduler_needs_an_evaluator_that_trains_by_epochs(write_spec):
    with pytest.raises(SearchUsageError, match="--scheduler: the static evaluator does not train by epochs"):
        run_search(BACKBONE, scheduler="ASHA")
    with pytest.raises(SearchUsageError, match="--scheduler: max_epochs \\(1\\) must be above min_epochs"):
        run_search(BACKBONE, scheduler="ASHA", evaluator="train")
    with pytest.raises(SearchUsageError, match="--scheduler: unknown scheduler 'ASAH'"):
        run_search(BACKBONE, scheduler="ASAH", evaluator="train")
    with pytest.raises(SearchUsageError, match="--epoch-budget: an epoch budget bounds an early-stopping"):
        run_search(BACKBONE, epoch_budget=10, evaluator="train")
    spec = write_spec("search_algorithm: {type: RandomSearch, evaluator: {type: train, epochs: 3}, "
                      "scheduler: {type: ASHA, eta: 1}}\n" + TINY)
    with pytest.raises(fgir.FgirError) as info:
        run_search(spec)
    assert info.value.render() == f"{spec}:1:106: error: search_algorithm.scheduler.eta: eta must be at least 2, got 1"


def test_a_multi_objective_asha_promotes_by_pareto_rank():
    objectives = parse_objectives(["accuracy:max", "macs:min"])
    result = asha(objectives=["accuracy:max", "macs:min"])
    rows = result.rows
    promoted = [r for r in rows if r["rung"] == 1]
    for row in promoted:
        i = row["index"]
        parent = rows[int(row["origin"].removeprefix("promotion of #"))]

        def top_third(upto):
            done = [r for r in rows[:upto] if r["rung"] == 0]
            return {r["hash"] for r in ranked(done, objectives)[: len(done) // 3]}
        assert any(parent["hash"] in top_third(j) for j in range(max(0, i - 7), i + 1))
    # not the most accurate alone: a cheap candidate on the front goes on too
    first_rung = [r for r in rows if r["rung"] == 0]
    by_accuracy = sorted(first_rung, key=lambda r: -r["metrics"]["accuracy"])[: len(promoted)]
    assert {r["hash"] for r in promoted} != {r["hash"] for r in by_accuracy}
    assert result.front and all(r["epochs"] == max(x["epochs"] for x in rows) for r in result.front)


def test_early_stopping_from_the_command_line(plugin, tmp_path):
    out = tmp_path / "out"
    done = run_bounded(["-m", "fgir", "search", str(BACKBONE), "-o", str(out), "--plugin", str(plugin),
                        "--evaluator", "curve", "--epochs", "9", "--scheduler", "ASHA", "--eta", "3",
                        "--min-epochs", "1", "--epoch-budget", "40", "--budget", "1000", "--objective",
                        "accuracy:max", "--algorithm", "RegularizedEvolution", "--workers", "2"])
    assert done.returncode == 0, done.stderr
    rows = rows_of(out)
    assert {r["epochs"] for r in rows} == {1, 3, 9} and "trained 9 epochs" in (out / "best.yaml").read_text()
    spent = sum(r["epochs"] - (rows[int(r["origin"].split("#")[1])]["epochs"] if r["rung"] else 0) for r in rows)
    assert 40 - 8 < spent <= 40                      # stopped when the next trial would not fit
    assert "Pareto front: 1 of" in done.stdout
    again = run_bounded(["-m", "fgir", "search", str(BACKBONE), "-o", str(out), "--plugin", str(plugin),
                         "--evaluator", "curve", "--epochs", "9", "--scheduler", "ASHA", "--eta", "2",
                         "--epoch-budget", "40", "--budget", "1000", "--objective", "accuracy:max",
                         "--algorithm", "RegularizedEvolution"])
    assert again.returncode == 2 and "holds the results of another search (it differs in scheduler)" in again.stderr
    wrong = run_bounded(["-m", "fgir", "search", str(BACKBONE), "-o", str(tmp_path / "x"), "--eta", "2"])
    assert (wrong.returncode, wrong.stderr) == (2, "fgir search: error: --eta: this option is a scheduler's\n"
                                                   "fgir search: note: add --scheduler ASHA (or SuccessiveHalving, "
                                                   "Hyperband)\n")

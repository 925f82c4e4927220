"""A search that cannot go wrong quietly: plugin evaluators in worker processes, no valid candidate, missing
packages, one search per folder (a lock), a kill -9 mid-batch, one GPU per worker."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import EXAMPLES, ROOT, run_fgir
from fgir.search import run_search
from search_helpers import load_test_plugin, rows_of, run_bounded

BACKBONE = EXAMPLES / "backbone_nas.yaml"


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    return load_test_plugin(tmp_path_factory.mktemp("plugin"))


def fgir_process(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen([sys.executable, "-m", "fgir", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_a_plugin_evaluator_runs_in_worker_processes(plugin, tmp_path, start):
    # spawn is what the pool uses once torch is loaded: the worker must load the plugin itself
    preload = ["-c", "import torch, sys; from fgir.cli import main; sys.exit(main(sys.argv[1:]))"] \
        if start == "spawn" else ["-m", "fgir"]
    args = ["search", str(BACKBONE), "-o", str(tmp_path / "out"), "--plugin", str(plugin), "--evaluator", "slow",
            "--workers", "2", "--budget", "6", "--algorithm", "RandomSearch"]
    done = run_bounded([*preload, *args])
    assert done.returncode == 0, done.stderr
    rows = rows_of(tmp_path / "out")
    assert len(rows) == 6 and all(r["metrics"]["score"] == r["params"] % 1000 for r in rows)


def test_an_evaluator_that_cannot_reach_a_worker_fails_at_once():
    code = ("from fgir.search import run_search\n"
            "try:\n"
            f"    run_search('{BACKBONE}', budget=4, workers=2, evaluator=lambda graph: {{'score': 1.0}})\n"
            "except Exception as exc:\n"
            "    print(exc.render())\n")
    done = run_bounded(["-c", code], timeout=60)
    assert done.stdout.startswith("<options>: error: --workers: evaluating in worker processes needs a "
                                  "picklable evaluator"), done.stdout + done.stderr


def test_a_search_with_no_valid_candidate_exits_1_without_best_yaml(tmp_path):
    # three doublings cannot reach out_plane 512: every candidate fails to compile
    spec = tmp_path / "three.yaml"
    spec.write_text(BACKBONE.read_text().replace("layer.doublechannel: [0, 1, 1, 0, 1, 0, 0, 1]",
                                                 "layer.doublechannel: code(8, ones=3)"))
    result = run_fgir("search", str(spec), "-o", str(tmp_path / "out"), "--budget", "3")
    assert result.returncode == 1
    ends = "VariantLayer 'layer' ends with 256 channels, but out_plane is 512"
    assert result.stderr.splitlines()[-4] == \
        "fgir search: error: no valid candidate: all 3 were invalid or failed, so there is no best.yaml"
    assert all(line.startswith(f"fgir search: note: #{i}: layer.out_plane: {ends}")
               for i, line in enumerate(result.stderr.splitlines()[-3:]))
    assert not (tmp_path / "out" / "best.yaml").exists() and len(rows_of(tmp_path / "out")) == 3


def test_a_limit_no_candidate_meets_is_refused_before_the_first_candidate(tmp_path):
    result = run_fgir("search", str(BACKBONE), "-o", str(tmp_path), "--budget", "3", "--max-macs", "1")
    assert result.returncode == 2 and result.stderr.startswith(
        "fgir search: error: --max-macs: no candidate meets max_macs 1: the smallest achievable macs is 27,001,856")
    assert not (tmp_path / "results.jsonl").exists()


def test_the_train_evaluator_says_what_is_missing_before_the_first_candidate(tmp_path):
    code = ("import sys; sys.modules['sklearn'] = None; from fgir.cli import main; "
            f"sys.exit(main(['search', '{BACKBONE}', '-o', '{tmp_path / 'out'}', '--evaluator', 'train']))")
    done = run_bounded(["-c", code])
    assert (done.returncode, done.stderr) == (2, (
        "fgir search: error: --evaluator: the train evaluator needs the Python package 'scikit-learn', not "
        "installed\nfgir search: note: pip install scikit-learn optuna (fgir's search extra)\n"))
    assert not (tmp_path / "out").exists()


def test_a_second_search_into_the_same_folder_is_refused_while_the_first_runs(plugin, tmp_path):
    out, log = tmp_path / "out", tmp_path / "calls.log"
    spec = tmp_path / "slow.yaml"
    spec.write_text(BACKBONE.read_text().replace(
        "type: BackboneNasSearch", f"type: RandomSearch\n        batch: 2\n        evaluator: {{type: slow, "
                                   f"delay: 0.4, log: '{log}'}}"))
    first = fgir_process("search", str(spec), "-o", str(out), "--plugin", str(plugin), "--budget", "6")
    deadline = time.monotonic() + 60
    while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = run_fgir("search", str(spec), "-o", str(out), "--plugin", str(plugin), "--budget", "6")
    assert second.returncode == 2
    assert second.stderr == (f"{out}: error: another fgir search is writing to this directory (process "
                             f"{first.pid})\n{out}: note: wait for it to finish, or choose another output "
                             "directory\n")
    assert first.wait(timeout=120) == 0, first.stderr.read()
    rows = rows_of(out)
    assert [r["index"] for r in rows] == list(range(6)) and len(log.read_text().splitlines()) == 6
    again = run_fgir("search", str(spec), "-o", str(out), "--plugin", str(plugin), "--budget", "6")
    assert again.returncode == 0 and "resumed: 6 rows replayed, 0 evaluated" in again.stdout


def test_kill_9_mid_batch_loses_only_the_candidate_in_flight_and_the_next_run_resumes(plugin, tmp_path):
    log = tmp_path / "calls.log"
    spec = tmp_path / "slow.yaml"
    spec.write_text(BACKBONE.read_text().replace(
        "type: BackboneNasSearch", f"type: RandomSearch\n        batch: 8\n        evaluator: {{type: slow, "
                                   f"delay: 0.3, log: '{log}'}}"))
    args = ("search", str(spec), "--plugin", str(plugin), "--budget", "12", "--seed", "4")
    assert run_fgir(*args, "-o", str(tmp_path / "whole")).returncode == 0
    log.unlink()
    killed = fgir_process(*args, "-o", str(tmp_path / "cut"))
    deadline = time.monotonic() + 60
    while len(log.read_text().splitlines() if log.exists() else []) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)       # five of the first batch of eight done: none of it recorded yet
    killed.wait(timeout=30)
    before = len(log.read_text().splitlines())
    resumed = run_fgir(*args, "-o", str(tmp_path / "cut"))
    assert resumed.returncode == 0, resumed.stderr
    evaluated_again = len(log.read_text().splitlines()) - before
    assert evaluated_again <= 12 - before + 1     # what was done is not done again: at most the one in flight
    assert (tmp_path / "cut" / "results.jsonl").read_bytes() == (tmp_path / "whole" / "results.jsonl").read_bytes()
    assert not (tmp_path / "cut" / "journal.jsonl").exists()


def test_the_local_executor_pins_one_gpu_per_worker(plugin):
    result = run_search(BACKBONE, algorithm="RandomSearch", budget=8, workers=2, evaluator="where",
                        executor_options={"devices": ["0", "1"]})
    by_process = {}
    for row in result.rows:
        by_process.setdefault(row["metrics"]["pid"], set()).add(row["metrics"]["gpu"])
    assert all(len(gpus) == 1 for gpus in by_process.values()), by_process       # a worker keeps its device
    gpus = [next(iter(g)) for g in by_process.values()]
    assert set(gpus) <= {0, 1} and len(set(gpus)) == len(gpus), by_process       # and no two share one
    single = run_search(BACKBONE, algorithm="RandomSearch", budget=2, workers=2, evaluator="where",
                        executor_options={"devices": ["0"]})
    assert {r["metrics"]["gpu"] for r in single.rows} == {int(os.environ.get("CUDA_VISIBLE_DEVICES", "-1"))}

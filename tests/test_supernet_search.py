"""A trained supernet in use: exact ``--resume`` of its training, and ``fgir search`` scoring candidates
with inherited weights (the ``supernet`` evaluator) under a MACs limit, with the latency objective, on
Ray workers, as the train evaluator's digits are split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import fgir  # noqa: E402
import fgir.training.state as training_state  # noqa: E402
from fgir.search import run_search  # noqa: E402
from fgir.supernet import extract, load_supernet, train_supernet  # noqa: E402
from fgir.supernet.evaluator import SupernetEvaluator, score  # noqa: E402

SPACE = Path(__file__).resolve().parent.parent / "examples/search/supernet_mobilenet.yaml"
SETTINGS = dict(data="digits", epochs=1, batch_size=256, lr=0.1, save_every=3, k=1, progress=None)
TIMING = ("images_per_s", "seconds")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Killed(Exception):
    """Stands for the process dying right after a checkpoint was written."""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One uninterrupted supernet run (6 sandwich steps): its checkpoint and run folder."""
    folder = tmp_path_factory.mktemp("whole")
    torch.set_num_threads(1)
    train_supernet(SPACE, folder / "super.pt", **SETTINGS)
    return folder


def rows(folder: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING}
            for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_a_resumed_supernet_run_equals_an_uninterrupted_one(trained, tmp_path, monkeypatch):
    real = training_state.write_state

    def write_then_die(path, state):
        real(path, state)
        raise Killed

    monkeypatch.setattr(training_state, "write_state", write_then_die)
    with pytest.raises(Killed):
        train_supernet(SPACE, tmp_path / "super.pt", **SETTINGS)
    monkeypatch.setattr(training_state, "write_state", real)
    result = train_supernet(SPACE, tmp_path / "super.pt", resume=True, **SETTINGS)
    assert result.resumed_at == 3
    whole, resumed = load_supernet(trained / "super.pt"), load_supernet(tmp_path / "super.pt")
    a, b = whole.state_dict(), resumed.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert rows(tmp_path / "super.train") == rows(trained / "super.train")


def test_the_supernet_evaluator_scores_what_the_extracted_recalibrated_candidate_scores(trained, tmp_path):
    result = run_search(SPACE, tmp_path / "out", algorithm="RandomSearch", evaluator="supernet", budget=4, seed=0,
                        evaluator_options={"checkpoint": str(trained / "super.pt"), "batches": 2},
                        objectives=["accuracy:max", "latency_ms:min"], constraints={"max_macs": 400_000})
    ok = [r for r in result.rows if r["status"] == "ok"]
    assert len(ok) == 4 and all(r["macs"] <= 400_000 and r["metrics"]["latency_ms"] > 0 for r in ok)
    assert len({r["metrics"]["accuracy"] for r in ok}) > 1
    from fgir.data.digits import digits_tensors

    x_train, _, x_val, y_val = digits_tensors(3, 8, 8)
    net = load_supernet(trained / "super.pt")
    for row in ok[:2]:
        spec, state = extract(net, row["values"], tmp_path / "sub.pt", calibrate=[x_train[:128], x_train[128:256]])
        model = fgir.load_model(tmp_path / "sub.pt")
        assert score(model, x_val, y_val, 128) == {k: row["metrics"][k] for k in ("accuracy", "loss")}
    from fgir.cli import main

    assert main(["report", str(tmp_path / "out"), "-o", str(tmp_path / "report.html")]) == 0
    assert f"{result.best['metrics']['accuracy']}" in (tmp_path / "report.html").read_text()
    # the best by its index in the results: the same network and weights as by its values
    best = result.best
    assert main(["extract", str(trained / "super.pt"), "--candidate", str(tmp_path / "out"), "--index",
                 str(best["index"]), "-o", str(tmp_path / "by_index.pt")]) == 0
    extract(trained / "super.pt", best["values"], tmp_path / "by_values.pt")   # as read from the file
    assert (tmp_path / "by_index.yaml").read_text() == (tmp_path / "by_values.yaml").read_text()
    by_index, by_values = (torch.load(tmp_path / f"by_{how}.pt", weights_only=False)["state_dict"]
                           for how in ("index", "values"))
    assert list(by_index) == list(by_values) and all(torch.equal(by_index[k], by_values[k]) for k in by_values)


def test_an_index_the_search_results_lack_is_named(trained, tmp_path, capsys):
    from fgir.cli import main

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.jsonl").write_text("".join(json.dumps({"index": i, "values": {}}) + "\n"
                                                            for i in range(3)))
    assert main(["extract", str(trained / "super.pt"), "--candidate", str(tmp_path / "out"), "--index", "7",
                 "-o", str(tmp_path / "x.pt")]) == 2
    assert capsys.readouterr().err.strip() == (f"{tmp_path / 'out' / 'results.jsonl'}: error: no candidate 7 in "
                                               "these search results: its candidates are 0 to 2")


def test_fgir_search_refuses_a_missing_supernet_checkpoint(tmp_path, capsys):
    from fgir.cli import main

    assert main(["search", str(SPACE), "-o", str(tmp_path / "o"), "--supernet", str(tmp_path / "none.pt")]) == 2
    assert capsys.readouterr().err.strip() == (f"fgir: error: --supernet {tmp_path / 'none.pt'}: no such file "
                                               "(fgir train SPACE --supernet writes it)")


def test_a_worker_elsewhere_reads_the_shipped_checkpoint_once(trained, tmp_path):
    """What the Ray executor does to a job (pickled, its files moved to the worker's copies), without Ray."""
    import pickle
    import shutil

    from fgir.search.evaluators import Job, evaluate_job
    from fgir.search.executors.worker import relocate
    from fgir.search.space import Space

    space = Space.from_spec(SPACE)
    here = shutil.copy(trained / "super.pt", tmp_path / "copy.pt")
    job = Job(space.freeze(space.initial(None)),
              evaluator=SupernetEvaluator(str(trained / "super.pt"), batches=1))
    moved = relocate(pickle.loads(pickle.dumps(job)), {str(trained / "super.pt"): str(here)})
    assert moved.evaluator.checkpoint == str(here) and moved.evaluator.files() == [str(here)]
    first = evaluate_job(moved)
    assert first["status"] == "ok" and evaluate_job(job)["metrics"] == first["metrics"]
    assert moved.evaluator.supernet() is moved.evaluator.supernet()   # loaded once per process

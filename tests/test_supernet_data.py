"""A supernet trained on a user's data set is scored on that data set: its checkpoint records the data
(source, validation split, normalisation), the ``supernet`` evaluator and ``fgir extract --calibrate`` read
it, ``--data`` overrides it, and a record that points nowhere is a located error before any candidate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fgir  # noqa: E402
from fgir.cli import main  # noqa: E402
from fgir.data.sources import load_images, split  # noqa: E402
from fgir.search import run_search  # noqa: E402
from fgir.supernet import extract, load_supernet, train_supernet  # noqa: E402
from fgir.supernet.checkpoint import save_supernet  # noqa: E402
from fgir.supernet.evaluator import SupernetEvaluator, score  # noqa: E402
from preprocess_helpers import digits_in_unit_range  # noqa: E402

SPACE = Path(__file__).resolve().parent.parent / "examples/search/supernet_mobilenet.yaml"
NORMALISATION = dict(mean=0.3, std=0.4)    # not the defaults: scoring must use what training used

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A supernet trained one epoch on 1,000 digits given as an .npz in [0, 1], normalised its own way."""
    folder = tmp_path_factory.mktemp("npz")
    x, y = digits_in_unit_range()
    np.savez(folder / "mine.npz", x=x[:1000], y=y[:1000])
    torch.set_num_threads(1)
    train_supernet(SPACE, folder / "super.pt", data=str(folder / "mine.npz"), epochs=1, batch_size=256, lr=0.1, k=1,
                   progress=None, **NORMALISATION)
    return folder


def test_the_checkpoint_records_the_data_it_was_trained_on(trained):
    net = load_supernet(trained / "super.pt")
    assert net.fgir_data == {"data": str((trained / "mine.npz").resolve()), "val": None, "val_fraction": 0.2}
    assert net.fgir_preprocess["mean"] == [0.3] * 3 and net.fgir_preprocess["std"] == [0.4] * 3


def test_the_evaluator_scores_the_recorded_data_s_held_out_split_as_training_prepared_it(trained, tmp_path):
    result = run_search(SPACE, tmp_path / "out", algorithm="RandomSearch", evaluator="supernet", budget=2, seed=0,
                        evaluator_options={"checkpoint": str(trained / "super.pt"), "batches": 2})
    ok = [r for r in result.rows if r["status"] == "ok"]
    assert len(ok) == 2
    train, held = split(load_images(trained / "mine.npz", (3, 8, 8), num_classes=10, **NORMALISATION), 0.2)
    assert len(held) == 201            # a fifth of each class, rounded
    for row in ok:
        extract(trained / "super.pt", row["values"], tmp_path / "sub.pt", calibrate=[train.x[:128], train.x[128:256]])
        model = fgir.load_model(tmp_path / "sub.pt")
        assert score(model, held.x, held.y, 128) == {k: row["metrics"][k] for k in ("accuracy", "loss")}


def test_data_given_overrides_the_record_and_travels_to_workers(trained, tmp_path):
    x, y = digits_in_unit_range()
    np.savez(tmp_path / "other.npz", x=x[1000:], y=y[1000:])
    given = SupernetEvaluator(str(trained / "super.pt"), batches=1, data=str(tmp_path / "other.npz"))
    recorded = SupernetEvaluator(str(trained / "super.pt"), batches=1)
    assert recorded.files() == [str(trained / "super.pt"), str((trained / "mine.npz").resolve())]
    assert given.files() == [str(trained / "super.pt"), str(tmp_path / "other.npz")]
    moved = recorded.relocated({str((trained / "mine.npz").resolve()): str(tmp_path / "copy.npz")})
    assert moved.sources() == (str(tmp_path / "copy.npz"), None, 0.2)
    graph = fgir.compile(load_supernet(trained / "super.pt").ir.space.freeze(
        load_supernet(trained / "super.pt").ir.smallest))
    assert given(graph) != recorded(graph)   # 797 other digits: another held-out fifth


def test_recorded_data_that_moved_is_a_located_error_before_any_candidate(trained, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(trained / "mine.npz", copy / "mine.npz")
    net = load_supernet(trained / "super.pt")
    net.fgir_data = {**net.fgir_data, "data": str(copy / "mine.npz")}
    save_supernet(net, tmp_path / "super.pt")
    (copy / "mine.npz").unlink()
    assert main(["search", str(SPACE), "-o", str(tmp_path / "out"), "--supernet", str(tmp_path / "super.pt"),
                 "--budget", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"{tmp_path / 'super.pt'}: error: was trained on {copy / 'mine.npz'}: no such file or folder"
    assert err[1] == f"{tmp_path / 'super.pt'}: note: pass where that data is now: --data PATH"
    assert not (tmp_path / "out" / "results.jsonl").exists() or not (tmp_path / "out" / "results.jsonl").read_text()
    assert main(["search", str(SPACE), "-o", str(tmp_path / "out2"), "--supernet", str(tmp_path / "super.pt"),
                 "--budget", "1", "--data", str(trained / "mine.npz")]) == 0


def test_a_checkpoint_that_records_no_data_asks_for_it(trained, tmp_path, capsys):
    net = load_supernet(trained / "super.pt")
    net.fgir_data = None
    save_supernet(net, tmp_path / "old.pt")
    assert main(["search", str(SPACE), "-o", str(tmp_path / "out"), "--supernet", str(tmp_path / "old.pt"),
                 "--budget", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == (f"{tmp_path / 'old.pt'}: error: records no training data (an older fgir wrote it), so the "
                      "supernet evaluator cannot tell which images it may score on")
    assert main(["extract", str(tmp_path / "old.pt"), "--candidate", '{"stage1.depth": 1}', "-o",
                 str(tmp_path / "x.pt"), "--calibrate", "1"]) == 1
    assert "the supernet records no training data to calibrate on" in capsys.readouterr().err


def test_extract_calibrates_on_the_recorded_data_by_default(trained, tmp_path):
    candidate = str(SPACE.parent / "supernet_candidate.yaml")
    assert main(["extract", str(trained / "super.pt"), "--candidate", candidate, "-o", str(tmp_path / "a.pt"),
                 "--calibrate", "2"]) == 0
    assert main(["extract", str(trained / "super.pt"), "--candidate", candidate, "-o", str(tmp_path / "b.pt"),
                 "--calibrate", "2", "--calibrate-data", str(trained / "mine.npz")]) == 0
    assert main(["extract", str(trained / "super.pt"), "--candidate", candidate, "-o", str(tmp_path / "c.pt"),
                 "--calibrate", "2", "--calibrate-data", "digits"]) == 0
    a, b, c = (torch.load(tmp_path / f"{n}.pt", weights_only=False)["state_dict"] for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if k.endswith("running_mean"))

"""``fgir latency``: a predictor fitted on this machine, written, read back, refused elsewhere, and used by
``fgir search --latency-model`` and ``fgir space --latency-model`` in place of measuring."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random

import onnxruntime
import pytest

import fgir
from conftest import EXAMPLES
from fgir.cli import main
from fgir.latency import Latency, PredictorFileError, load_predictor, measure_interleaved
from fgir.latency.features import FEATURES
from fgir.search.space import Space
from fgir.search.space_report import space_report

OFA = EXAMPLES / "search" / "ofa_mobilenet.yaml"
BACKBONE = EXAMPLES / "search" / "latency_backbone.yaml"
SMALL_SPACE = EXAMPLES / "search" / "supernet_mobilenet.yaml"
HINT = "calibrate one here: fgir latency calibrate -o foreign.json"


def fgir_main(capsys, *args: str) -> tuple[int, list[str], list[str]]:
    """The command line, in this process (its imports are paid once): exit status, stdout and stderr lines."""
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err.splitlines()


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    """A predictor calibrated by the command line, on its default space (6 candidates: quick)."""
    path, out = tmp_path_factory.mktemp("latency") / "machine.json", io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["latency", "calibrate", "-o", str(path), "--candidates", "6", "--repeats", "5"]) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("measured 6 candidates of <fgir latency: default space> (3x32x32): ")
    assert lines[1].startswith(f"wrote {path} (for ") and lines[1].endswith("; batch 1, 1 thread)")
    return path


def _foreign(machine, tmp_path, **changes):
    data = json.loads(machine.read_text())
    data["machine"].update(changes)
    (tmp_path / "foreign.json").write_text(json.dumps(data))
    return tmp_path / "foreign.json"


def test_round_trip_and_predictions_near_measurements(machine):
    data = json.loads(machine.read_text())
    here = {"cores": os.cpu_count(), "onnxruntime": onnxruntime.__version__}
    assert {k: data["machine"][k] for k in here} == here and data["features"] == list(FEATURES)
    assert (data["batch"], data["threads"], data["calibration"]["candidates"]) == (1, 1, 6)
    model = load_predictor(machine, Latency())
    assert model.coefficients == data["coefficients"] and model.machine == data["machine"]
    assert all(c >= 0 for c in model.coefficients) and any(c > 0 for c in model.coefficients)
    # held out: candidates of another MobileNet space, measured here
    space, rng = Space.from_spec(OFA), random.Random(3)
    graphs = [fgir.compile(space.freeze(space.sample(rng)), input="3x32x32") for _ in range(3)]
    measured = measure_interleaved(graphs, Latency(repeats=5), rounds=2)
    for graph, ms in zip(graphs, measured):
        assert 0.5 < model.predict(graph) / ms < 2, (model.predict(graph), ms)


def test_another_machine_is_refused(machine, tmp_path, capsys):
    foreign = _foreign(machine, tmp_path, cores=os.cpu_count() + 64)
    status, _, err = fgir_main(capsys, "latency", "measure", str(EXAMPLES / "resnet20_cifar.yaml"),
                               "--model", str(foreign))
    assert status == 2
    assert err == [
        f"{foreign}: error: calibrated on another machine ({os.cpu_count() + 64} cores) than this one "
        f"({os.cpu_count()} cores)", f"{foreign}: note: {HINT}"]


def test_another_onnxruntime_or_batch_is_refused(machine, tmp_path):
    foreign = _foreign(machine, tmp_path, onnxruntime="0.0.1")
    with pytest.raises(PredictorFileError) as caught:
        load_predictor(foreign)
    assert str(caught.value).splitlines() == [
        f"{foreign}: error: calibrated with ONNX Runtime 0.0.1; this is ONNX Runtime {onnxruntime.__version__}",
        f"{foreign}: note: {HINT}"]
    with pytest.raises(PredictorFileError, match=r"machine.json: error: calibrated for batch 1, not 8\n"):
        load_predictor(machine, Latency(batch=8))
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(PredictorFileError, match="other.json: error: not an fgir latency predictor"):
        load_predictor(tmp_path / "other.json")


def test_search_predicts_with_the_model(machine, tmp_path, capsys):
    status, _, err = fgir_main(capsys, "search", str(BACKBONE), "-o", str(tmp_path / "out"), "--budget", "3",
                               "--latency-model", str(machine))
    assert status == 0, err
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    space, model = Space.from_spec(BACKBONE), load_predictor(machine)
    ok = [row for row in rows if row["status"] == "ok"]
    assert len(ok) == 3
    for row in ok:   # predicted, so exactly the model's figure (a measurement would differ)
        assert row["metrics"]["latency_ms"] == model.predict(fgir.compile(space.freeze(row["values"])))
    foreign = _foreign(machine, tmp_path, cores=os.cpu_count() + 64)
    status, _, err = fgir_main(capsys, "search", str(BACKBONE), "-o", str(tmp_path / "out2"),
                               "--latency-model", str(foreign))
    assert status == 2
    assert err[0] == (
        f"fgir search: error: --latency-model: {foreign}: calibrated on another machine "
        f"({os.cpu_count() + 64} cores) than this one ({os.cpu_count()} cores)")


def test_space_report_adds_predicted_latency(machine):
    report = space_report(SMALL_SPACE, samples=4, latency_model=machine)
    model, space = load_predictor(machine), Space.from_spec(SMALL_SPACE)
    predicted = sorted(model.predict(fgir.compile(space.freeze(s))) for s, _ in report.rows)
    figures = report.metrics["latency_ms"]
    assert (figures["min"], figures["max"]) == (predicted[0], predicted[-1])
    assert any(line.startswith("  latency_ms min ") for line in report.text().splitlines())


def test_the_fit_is_scipys_non_negative_least_squares():
    # the base install has no scipy: fgir's own active-set solver must give its answers
    import numpy as np
    from scipy.optimize import nnls as scipy_nnls

    from fgir.latency.predictor import nnls

    rng = np.random.default_rng(0)
    for _ in range(100):
        a, b = rng.normal(size=(24, 13)), rng.normal(size=24)
        assert np.allclose(nnls(a, b)[0], scipy_nnls(a, b)[0], atol=1e-9)

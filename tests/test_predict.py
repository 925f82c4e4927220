"""``fgir predict``: a deployed file (.pt, .onnx, baked .onnx) scored on raw images, as its training prepared them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("onnxruntime")

import fgir  # noqa: E402
from conftest import EXAMPLES, run_fgir  # noqa: E402
from fgir.cli import main  # noqa: E402
from preprocess_helpers import trained  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
R20 = str(EXAMPLES / "resnet20_cifar.yaml")
DESCRIBED = "RGB 3x8x8 in [0, 1] (uint8 / 255), resized bilinear, (x - [0.5, 0.5, 0.5]) / [0.25, 0.25, 0.25]"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    run = trained()
    folder = tmp_path_factory.mktemp("deployed")
    fgir.to_onnx(R20, folder / "m.onnx", weights=run.model, input="3x8x8")
    fgir.to_onnx(R20, folder / "b.onnx", weights=run.model, input="3x8x8", bake_preprocess=True)
    return run, {"pt": run.model, "onnx": folder / "m.onnx", "baked": folder / "b.onnx"}


def summary(capsys, *args: str) -> tuple[list[str], str]:
    assert main(["predict", *args, "--threads", "1"]) == 0
    out = capsys.readouterr()
    return out.out.splitlines(), out.err


@pytest.mark.parametrize("kind", ["pt", "onnx", "baked"])
def test_predict_prints_the_trainings_accuracy(files, kind, capsys):
    run, paths = files
    for data, x, y in (("val.npz", run.x_val, run.y_val), ("test.npz", run.x_test, run.y_test)):
        lines, err = summary(capsys, str(paths[kind]), "--data", str(run.folder / data))
        assert err == ""
        assert lines[0] == "image,predicted,label" and len(lines) == len(y) + 2
        assert [int(v) for v in lines[1].split(",")[1:]][1] == y[0]
        right = sum(int(p) == int(t) for p, t in (row.split(",")[1:] for row in lines[1:-1]))
        baked = " (the normalisation baked into the graph)" if kind == "baked" else ""
        assert lines[-1] == (f"{paths[kind]} on {run.folder / data}: accuracy {right / len(y):.4f} ({right} of "
                             f"{len(y)} images); preprocessing: {DESCRIBED}{baked}")
        if data == "val.npz":      # the images the trainer scored: its very figure
            assert right / len(y) == pytest.approx(run.val_accuracy, abs=1e-9)
        else:                      # images it never saw: within a point
            assert abs(right / len(y) - run.val_accuracy) <= 0.01


def test_predict_from_the_real_command_line_uint8_images_without_labels(files, tmp_path):
    run, paths = files
    np.savez(tmp_path / "unlabelled.npz", x=np.round(run.x_test[:5] * 255).astype(np.uint8))
    result = run_fgir("predict", str(paths["baked"]), "--data", str(tmp_path / "unlabelled.npz"), "--threads", "1",
                      "-o", str(tmp_path / "p.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"{paths['baked']} on {tmp_path / 'unlabelled.npz'}: 5 images, no labels to score; "
                             f"preprocessing: {DESCRIBED} (the normalisation baked into the graph)\n")
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0] == "image,predicted" and [int(r.split(",")[1]) for r in rows[1:]] == run.y_test[:5].tolist()


def test_a_file_without_a_record_is_fed_unit_range_images_with_a_warning(tmp_path, capsys):
    fgir.to_onnx(R20, tmp_path / "fresh.onnx", seed=0, input="3x8x8")
    lines, err = summary(capsys, str(tmp_path / "fresh.onnx"), "--data", "digits")
    assert err == (f"{tmp_path / 'fresh.onnx'}: warning: records no input preprocessing (it was not written by "
                   "fgir train, or by an older fgir): the images are fed in [0, 1], not normalised\n")
    assert len(lines) == 1797 + 2 and "preprocessing: none recorded (images fed in [0, 1])" in lines[-1]


def test_bad_model_files_are_named(tmp_path, capsys):
    (tmp_path / "m.txt").write_text("x")
    assert main(["predict", str(tmp_path / "m.txt"), "--data", "digits"]) == 2
    assert capsys.readouterr().err == (f"{tmp_path / 'm.txt'}: error: unknown kind of model file '.txt'\n"
                                       f"{tmp_path / 'm.txt'}: note: an fgir checkpoint (.pt, fgir train -o) or "
                                       "an ONNX file (fgir compile -o)\n")
    assert main(["predict", str(tmp_path / "none.onnx"), "--data", "digits"]) == 2
    assert capsys.readouterr().err == f"{tmp_path / 'none.onnx'}: error: no such file\n"

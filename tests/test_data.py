"""Data the user has: .npz arrays, image folders, the digits; each bad data set one clear error naming the file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import EXAMPLES, run_fgir
from fgir.data import DataError, calibration_batches, load_images, split
from fgir.data.sources import split_indices


def npz(tmp_path, name="d.npz", **arrays) -> str:
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def message(exc: pytest.ExceptionInfo) -> str:
    assert len(exc.value.diagnostics) == 1
    return str(exc.value.diagnostics[0])


def png_folder(root, classes: dict[str, int], mode="RGB", size=(6, 6)):
    from PIL import Image

    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.new(mode, size, color=i * 40 % 255 if mode == "L" else (i * 40 % 255, 0, 0)).save(
                root / name / f"{i}.png")
    return root


# -- the loaders: layouts, scaling, resizing, channels, normalisation --------------------------------------

@pytest.mark.parametrize("shape, channels_last", [((5, 4, 6), None), ((5, 1, 4, 6), False), ((5, 4, 6, 1), True)])
def test_npz_layouts_give_the_same_images(tmp_path, shape, channels_last):
    grey = np.arange(5 * 4 * 6, dtype=np.uint8).reshape(5, 4, 6)
    x = grey.reshape(shape)
    data = load_images(npz(tmp_path, x=x, y=np.arange(5)), (3, 4, 6), num_classes=5)
    want = (torch.from_numpy(grey).float()[:, None] / 255 - 0.5) / 0.25
    assert data.x.shape == (5, 3, 4, 6)
    assert torch.equal(data.x, want.expand(-1, 3, -1, -1))
    assert data.y.tolist() == [0, 1, 2, 3, 4]


def test_npz_is_resized_to_the_input_and_normalised_as_asked(tmp_path):
    x = np.ones((2, 3, 8, 8), np.float32) * np.array([0.2, 0.4, 0.6], np.float32)[None, :, None, None]
    data = load_images(npz(tmp_path, x=x, y=np.array([0, 1])), (3, 4, 4), mean=[0.2, 0.4, 0.6], std=0.5)
    assert data.x.shape == (2, 3, 4, 4)
    assert float(data.x.abs().max()) < 1e-6          # each channel minus its mean


def test_an_image_folder_lists_classes_in_sorted_order_and_resizes(tmp_path):
    root = png_folder(tmp_path / "imgs", {"dog": 2, "cat": 3}, size=(9, 7))
    (tmp_path / "imgs" / "cat" / "notes.txt").write_text("not an image: ignored, as ImageFolder does")
    data = load_images(root, (3, 4, 4), num_classes=2)
    assert (data.classes, data.y.tolist(), tuple(data.x.shape)) == (["cat", "dog"], [0, 0, 0, 1, 1], (5, 3, 4, 4))
    grey = load_images(root, (1, 4, 4))
    assert grey.x.shape == (5, 1, 4, 4)
    assert torch.equal(load_images(root, (3, 4, 4), workers=2).x, data.x)    # decoded in 2 processes


def test_the_split_is_stratified_and_fixed():
    labels = np.repeat(np.arange(4), 10)
    kept, held = split_indices(labels, 0.2)
    assert len(held) == 8 and np.bincount(labels[held]).tolist() == [2, 2, 2, 2]
    assert split_indices(labels, 0.2)[1].tolist() == held.tolist()
    digits = load_images("digits", (1, 8, 8), num_classes=10)
    train, val = split(digits, 0.2)
    assert (len(train), len(val)) == (1438, 359)


def test_calibration_batches_for_the_quantizer(tmp_path):
    batches = calibration_batches("digits", (3, 16, 16), 4, batch_size=8)
    assert [tuple(b.shape) for b in batches] == [(8, 3, 16, 16)] * 4
    assert batches[0].dtype == torch.float32
    assert torch.equal(calibration_batches("digits", (3, 16, 16), 4, batch_size=8)[3], batches[3])
    with pytest.raises(DataError) as exc:
        calibration_batches(npz(tmp_path, x=np.zeros((10, 8, 8), np.uint8), y=np.zeros(10, int)), (3, 8, 8), 2,
                            batch_size=8)
    assert message(exc) == (f"{tmp_path / 'd.npz'}: error: asked for 2 batches of 8 images; the data set holds 10 "
                            f"images (1 batches)")


# -- bad data: one error each, naming the file -----------------------------------------------------------

def test_bad_npz_files(tmp_path):
    ok_x, ok_y = np.zeros((4, 8, 8), np.uint8), np.arange(4)
    cases = [
        (dict(x=ok_x, y=np.arange(3)), "x holds 4 images but y holds 3 labels"),
        (dict(x=ok_x, y=np.array([0, 1, 12, 3])), "y holds label 12 (image 2); the network has 10 outputs, so "
                                                   "labels are 0..9"),
        (dict(x=ok_x, y=np.array([0, -1, 2, 3])), "y holds label -1 (image 1); the network has 10 outputs, so "
                                                   "labels are 0..9"),
        (dict(x=np.zeros((4, 8, 8, 4), np.uint8), y=ok_y), "the images have 4 channels; the network takes 3 "
                                                           "(its input is 3x8x8)"),
        (dict(x=ok_x), "has no array 'y' (it holds x)"),
        (dict(x=ok_x.astype(np.int32) + 300, y=ok_y), "x holds integer pixels from 300 to 300; integer pixels "
                                                      "are 0..255"),
        (dict(x=np.full((4, 8, 8), np.nan, np.float32), y=ok_y), "x holds NaN or infinite values"),
        (dict(x=ok_x, y=ok_y.astype(np.float32)), "y holds float32 values; labels are integers 0..classes-1"),
        (dict(x=np.zeros((4, 8), np.uint8), y=ok_y), "x has shape (4, 8); expected N x H x W, N x C x H x W or "
                                                     "N x H x W x C"),
        (dict(x=np.zeros((0, 8, 8), np.uint8), y=np.zeros(0, int)), "holds no images"),
    ]
    for i, (arrays, want) in enumerate(cases):
        path = npz(tmp_path, f"bad{i}.npz", **arrays)
        with pytest.raises(DataError) as exc:
            load_images(path, (3, 8, 8), num_classes=10)
        assert message(exc).startswith(f"{path}: error: {want}"), message(exc)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(DataError) as exc:
        load_images(garbage, (3, 8, 8))
    assert message(exc).startswith(f"{garbage}: error: not a readable NumPy .npz file (")
    with pytest.raises(DataError) as exc:
        load_images(npz(tmp_path, "gray.npz", x=np.zeros((4, 3, 8, 8), np.uint8), y=ok_y), (1, 8, 8))
    assert message(exc) == f"{tmp_path / 'gray.npz'}: error: the images have 3 channels; the network takes 1 " \
                           f"(its input is 1x8x8)"


def test_bad_image_folders(tmp_path):
    empty = png_folder(tmp_path / "empty", {"cat": 2, "dog": 0})
    with pytest.raises(DataError) as exc:
        load_images(empty, (3, 8, 8))
    assert message(exc) == f"{empty / 'dog'}: error: class folder 'dog' holds no PNG or JPEG images"

    corrupt = png_folder(tmp_path / "corrupt", {"cat": 3})
    good = (corrupt / "cat" / "0.png").read_bytes()
    (corrupt / "cat" / "1.png").write_bytes(good[:20])          # cut short (Pillow's words follow)
    with pytest.raises(DataError) as exc:
        load_images(corrupt, (3, 8, 8))
    assert message(exc).startswith(f"{corrupt / 'cat' / '1.png'}: error: cannot read this image (OSError: ")
    (corrupt / "cat" / "1.png").write_bytes(good)
    (corrupt / "cat" / "2.png").write_bytes(b"not an image")
    with pytest.raises(DataError) as exc:
        load_images(corrupt, (3, 8, 8))
    assert message(exc).startswith(f"{corrupt / 'cat' / '2.png'}: error: cannot read this image "
                                   f"(UnidentifiedImageError: cannot identify image file")

    flat = tmp_path / "flat"
    flat.mkdir()
    from PIL import Image
    Image.new("RGB", (4, 4)).save(flat / "a.png")
    with pytest.raises(DataError) as exc:
        load_images(flat, (3, 8, 8))
    assert str(exc.value) == (f"{flat}: error: holds no class folders (its images lie directly in it)\n"
                              f"{flat}: note: an image folder has one subfolder per class, the images inside")

    many = png_folder(tmp_path / "many", {str(i): 1 for i in range(11)})
    with pytest.raises(DataError) as exc:
        load_images(many, (3, 8, 8), num_classes=10)
    assert message(exc).startswith(f"{many}: error: holds 11 classes; the network has 10 outputs")

    with pytest.raises(DataError) as exc:
        load_images(many, (2, 8, 8))
    assert message(exc) == f"{many}: error: images give 1 (grey) or 3 (RGB) channels; the network takes 2"
    with pytest.raises(DataError) as exc:
        load_images(tmp_path / "nowhere", (3, 8, 8))
    assert message(exc) == (f"{tmp_path / 'nowhere'}: error: no such file or folder\n{tmp_path / 'nowhere'}: "
                            f"note: data is an image folder (one subfolder per class), an .npz with x and y, "
                            f"or 'digits'")


def test_cli_bad_data_is_one_error_exit_2(tmp_path):
    path = npz(tmp_path, x=np.zeros((4, 8, 8), np.uint8), y=np.arange(5))
    result = run_fgir("train", str(EXAMPLES / "resnet20_cifar.yaml"), "-o", str(tmp_path / "m.pt"), "--data", path,
                      "--input", "3x8x8")
    assert (result.returncode, result.stderr, result.stdout) == (2, f"{path}: error: x holds 4 images but y holds "
                                                                    f"5 labels\n", "")
    assert not (tmp_path / "m.pt").exists()

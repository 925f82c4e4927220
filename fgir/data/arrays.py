"""A NumPy ``.npz`` data set: arrays ``x`` (images) and ``y`` (integer labels).

``x`` is ``N x H x W`` (grey), ``N x C x H x W``, or ``N x H x W x C``
(channels last, as images are stored: recognised when the last axis has 1, 3 or
4 entries and the second more).  Integer pixels are 0..255 and are divided
by 255; floats are taken as they are (expected in [0, 1]).  Loaded with
``allow_pickle=False``: an ``.npz`` never runs code.

Example:
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "d.npz")
    >>> np.savez(path, x=np.zeros((4, 8, 8, 3), np.uint8), y=np.arange(4))
    >>> x, y = read_npz(path)
    >>> x.shape, x.dtype.name, y.tolist()
    ((4, 3, 8, 8), 'float32', [0, 1, 2, 3])
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from fgir.data.errors import data_error

CHANNEL_COUNTS = (1, 3, 4)
MAX_PIXEL = 255


def _channels_first(x: np.ndarray) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]
    if x.shape[-1] in CHANNEL_COUNTS and x.shape[1] > x.shape[-1]:
        return np.moveaxis(x, -1, 1)
    return x


def read_npz(path: str | Path, labels: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """(images N x C x H x W float32, labels int64), checked; DataError naming the file otherwise.

    ``labels=False``: an ``.npz`` without ``y`` is read too (its labels None), for predicting."""
    path = Path(path)
    if not path.is_file():
        raise data_error(path, "no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays: dict[str, Any] = {key: data[key] for key in ("x", "y") if key in data.files}
            held = list(data.files)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        reason = "it holds object arrays, which fgir does not load" if "pickle" in str(exc) else str(exc)
        raise data_error(path, f"not a readable NumPy .npz file ({reason})") from None
    for key in ("x", "y") if labels or "y" in arrays else ("x",):
        if key not in arrays:
            raise data_error(path, f"has no array '{key}' (it holds {', '.join(held) or 'nothing'})",
                             hint="an .npz data set holds images as 'x' and integer labels as 'y'")
    x, y = arrays["x"], arrays.get("y")
    if x.ndim not in (3, 4):
        raise data_error(path, f"x has shape {tuple(x.shape)}; expected N x H x W, N x C x H x W "
                               f"or N x H x W x C")
    if len(x) == 0:
        raise data_error(path, "holds no images")
    if y is None:   # labels=False: images to predict
        return _pixels(path, _channels_first(x)), None
    if y.ndim != 1:
        raise data_error(path, f"y has shape {tuple(y.shape)}; expected one label per image (N,)")
    if len(x) != len(y):
        raise data_error(path, f"x holds {len(x)} images but y holds {len(y)} labels")
    if not np.issubdtype(y.dtype, np.integer):
        raise data_error(path, f"y holds {y.dtype} values; labels are integers 0..classes-1")
    return _pixels(path, _channels_first(x)), y.astype(np.int64)


def _pixels(path: Path, x: np.ndarray) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        low, high = int(x.min()), int(x.max())
        if low < 0 or high > MAX_PIXEL:
            raise data_error(path, f"x holds integer pixels from {low} to {high}; integer pixels "
                                   f"are 0..{MAX_PIXEL}", hint="store floats in [0, 1] instead")
        return x.astype(np.float32) / (1 if x.dtype == np.bool_ else MAX_PIXEL)
    if not np.issubdtype(x.dtype, np.floating):
        raise data_error(path, f"x holds {x.dtype} values; expected integer or float pixels")
    if not np.isfinite(x).all():
        raise data_error(path, "x holds NaN or infinite values")
    return x.astype(np.float32)


__all__ = ["read_npz"]

"""An image-folder data set: one subfolder per class, PNG or JPEG files in it, read with Pillow.

Classes are the subfolders' names in sorted order (label 0 is the first);
hidden entries and files of other kinds are ignored, as torchvision's
ImageFolder does.  Each image is converted to grey (``L``) or ``RGB`` for the
network's channels and resized (bilinear) to its input, so folders of mixed
sizes load.  ``workers`` processes decode in parallel.

Example:
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("cat", "dog"):
    ...     (root / name).mkdir()
    ...     Image.new("RGB", (12, 10)).save(root / name / "a.png")
    >>> x, y, classes = read_folder(root, (3, 8, 8))
    >>> x.shape, y.tolist(), classes
    ((2, 3, 8, 8), [0, 1], ['cat', 'dog'])
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

from fgir.data.errors import data_error

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MODES = {1: "L", 3: "RGB"}
CHUNK = 64


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def list_images(root: Path) -> tuple[list[Path], list[int], list[str]]:
    """(files, labels, class names) of an image folder, checked; DataError naming what is wrong."""
    if not root.is_dir():
        raise data_error(root, "no such file or folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and _visible(p))
    if not classes:
        loose = any(p.suffix.lower() in IMAGE_SUFFIXES for p in root.iterdir())
        raise data_error(root, "holds no class folders" + (" (its images lie directly in it)" if loose else ""),
                         hint="an image folder has one subfolder per class, the images inside")
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        found = sorted(p for p in (root / name).iterdir()
                       if p.is_file() and _visible(p) and p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise data_error(root / name, f"class folder '{name}' holds no PNG or JPEG images")
        files += found
        labels += [label] * len(found)
    return files, labels, classes


def _decode(args: tuple[Sequence[str], int, int, int]) -> tuple[np.ndarray | None, str | None, str | None]:
    """Decode a chunk of files; (images, None, None) or (None, the bad file, why)."""
    from PIL import Image, UnidentifiedImageError

    paths, channels, height, width = args
    out = np.empty((len(paths), height, width, channels), np.uint8)
    for i, name in enumerate(paths):
        try:
            with Image.open(name) as image:
                image.draft(MODES[channels], (width, height))   # JPEG: decode at a reduced size
                image = image.convert(MODES[channels])
                if image.size != (width, height):
                    image = image.resize((width, height), Image.BILINEAR)
                out[i] = np.asarray(image).reshape(height, width, channels)
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
            return None, name, f"{type(exc).__name__}: {exc}"
    return out, None, None


def read_folder(root: str | Path, input_dims: Sequence[int],
                workers: int = 1) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images N x C x H x W float32 in [0, 1], labels int64, class names) at the network's input."""
    root = Path(root)
    channels, height, width = input_dims
    if channels not in MODES:
        raise data_error(root, f"images give 1 (grey) or 3 (RGB) channels; the network takes {channels}")
    files, labels, classes = list_images(root)
    chunks = [([str(p) for p in files[i:i + CHUNK]], channels, height, width)
              for i in range(0, len(files), CHUNK)]
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(workers) as pool:
            decoded = list(pool.map(_decode, chunks))
    else:
        decoded = [_decode(chunk) for chunk in chunks]
    for _, bad, why in decoded:
        if bad is not None:
            raise data_error(bad, f"cannot read this image ({why})")
    images = np.concatenate([d[0] for d in decoded])
    x = np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
    return x, np.asarray(labels, np.int64), classes


__all__ = ["IMAGE_SUFFIXES", "list_images", "read_folder"]

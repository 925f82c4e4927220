"""Data sets fgir trains, searches and calibrates on, without downloading anything.

:mod:`.sources` (an image folder, an ``.npz``, the bundled digits, shaped for a
network), :mod:`.preprocess` (the record of that shaping, which models carry),
:mod:`.augment`, and :mod:`.digits` (the digits' one fixed split).  Importing this
package loads neither numpy nor torch: the names are imported when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from fgir.data.digits import digits_tensors

_LAZY = {"ImageSet": "sources", "load_images": "sources", "split": "sources",
         "calibration_batches": "sources", "DataError": "errors", "augment": "augment",
         "Preprocess": "preprocess"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"fgir.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'fgir.data' has no attribute '{name}'")


__all__ = ["DataError", "ImageSet", "Preprocess", "augment", "calibration_batches", "digits_tensors", "load_images",
           "split"]

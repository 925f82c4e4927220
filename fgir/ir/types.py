"""Tensor types carried on IR edges: the shape of one sample, of any rank, with a named layout.

A type is its dims and a *layout*, one letter an axis: ``CHW`` an image (channels, height,
width), ``LD`` a token sequence (length, features), ``D`` a flat vector of features.  The
*channel axis* is what pruning and the channel rules count: ``C`` for an image, ``D`` for a
sequence or a vector.  Each rank has a default layout (1: ``D``, 2: ``LD``, 3: ``CHW``);
another (``CDHW``, …) is given by name.

>>> str(TensorType(64, 56, 56)), str(TensorType(512)), TensorType.parse("197x768").layout
('64x56x56', '512', 'LD')
>>> TensorType(197, 768).channels, TensorType(197, 768).describe()
(768, 'a token sequence 197x768 (LxD)')
"""

from __future__ import annotations

from typing import Any, Iterable

DEFAULT_LAYOUTS = {1: "D", 2: "LD", 3: "CHW"}
CHANNEL_AXES = ("C", "D")
# for each default layout: its name, the channel axis, and whether it has height and width (at 1 and 2)
_DEFAULT_AXES = {1: ("D", 0, False), 2: ("LD", 1, False), 3: ("CHW", 0, True)}
# what a user reads: "an image 64x8x8 (CxHxW)"
LAYOUT_NAMES = {"CHW": "an image", "LD": "a token sequence", "D": "a flattened"}


class TensorType:
    """The shape of one sample; see the module docstring.

    ``TensorType(64, 56, 56)`` is an image, ``TensorType(197, 768)`` a sequence,
    ``TensorType(512)`` a vector; ``layout=`` names another layout of the same rank.
    ``channels`` is the size of the channel axis (``C`` or ``D``; the first axis when there is
    none); ``height`` and ``width`` are None where the layout has no ``H`` or ``W``.  A type is a
    value (equal by dims and layout, hashable): never assign to one, make another.
    """

    __slots__ = ("dims", "layout", "channels", "height", "width")

    def __init__(self, *dims: int | None, layout: str | None = None) -> None:
        # every edge of every graph makes one: plain slot stores, no checks, in the common case
        if layout is None and None not in dims:
            axes = _DEFAULT_AXES.get(len(dims))
            if axes is not None:
                self.dims, self.layout, self.channels = dims, axes[0], dims[axes[1]]
                if axes[2]:
                    self.height, self.width = dims[1], dims[2]
                else:
                    self.height = self.width = None
                return
        while len(dims) > 1 and dims[-1] is None:   # TensorType(c, None, None): the flat vector of old
            dims = dims[:-1]
        if layout is None:
            layout = DEFAULT_LAYOUTS.get(len(dims))
        if None in dims or layout is None or len(layout) != len(dims) or len(set(layout)) != len(layout):
            raise ValueError(f"rank {len(dims)} needs a layout of {len(dims)} distinct axis letters and every "
                             f"dim, got {dims} {layout!r}")
        height_at, width_at = layout.find("H"), layout.find("W")
        self.dims = dims = tuple(int(d) for d in dims)
        self.layout = layout
        self.channels = dims[next((layout.index(a) for a in CHANNEL_AXES if a in layout), 0)]
        self.height = dims[height_at] if height_at >= 0 else None
        self.width = dims[width_at] if width_at >= 0 else None

    @classmethod
    def of(cls, dims: Iterable[int], layout: str | None = None) -> "TensorType":
        return cls(*dims, layout=layout)

    # -- axes ---------------------------------------------------------------------------------
    @property
    def rank(self) -> int:
        return len(self.dims)

    def axis(self, letter: str) -> int | None:
        """The index of the axis named ``letter``, None when the layout has none."""
        at = self.layout.find(letter)
        return None if at < 0 else at

    def size(self, letter: str) -> int | None:
        at = self.axis(letter)
        return None if at is None else self.dims[at]

    @property
    def channel_axis(self) -> int | None:
        return next((self.layout.index(a) for a in CHANNEL_AXES if a in self.layout), None)

    @property
    def is_image(self) -> bool:
        return self.layout == "CHW"

    @property
    def is_sequence(self) -> bool:
        return self.layout == "LD"

    @property
    def is_flat(self) -> bool:
        return self.layout == "D"

    @property
    def numel(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n

    def with_channels(self, channels: int) -> "TensorType":
        """The same type with ``channels`` on its channel axis."""
        at = self.channel_axis if self.channel_axis is not None else 0
        dims = list(self.dims)
        dims[at] = channels
        return TensorType(*dims, layout=self.layout)

    def describe(self) -> str:
        """What a diagnostic calls it: ``an image 64x8x8 (CxHxW)``, ``a flattened 512``."""
        name = LAYOUT_NAMES.get(self.layout)
        if self.layout == "D":
            return f"{name} {self}"
        shown = "x".join(self.layout)
        return f"{name} {self} ({shown})" if name else f"a {self} tensor ({shown})"

    # -- value semantics ------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorType) and self.dims == other.dims and self.layout == other.layout

    def __hash__(self) -> int:
        return hash((self.dims, self.layout))

    def __repr__(self) -> str:
        extra = "" if DEFAULT_LAYOUTS.get(self.rank) == self.layout else f", layout={self.layout!r}"
        return f"TensorType({', '.join(map(str, self.dims))}{extra})"

    def __str__(self) -> str:
        return "x".join(str(d) for d in self.dims)

    def __reduce__(self):
        return (_rebuild, (self.dims, self.layout))

    # -- text and JSON --------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> "TensorType":
        """Parse ``3x32x32``, ``197x768`` or ``64`` (rank 1 to 3, each its default layout), or
        ``DIMS:LAYOUT`` (``8x16x16x16:CDHW``); raise ValueError on anything else."""
        body, _, layout = str(text).partition(":")
        parts = body.lower().replace("*", "x").split("x")
        try:
            dims = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"expected CxHxW such as 3x32x32 (or LxD such as 197x768), got '{text}'") from None
        if any(d <= 0 for d in dims):
            raise ValueError(f"expected positive CxHxW such as 3x32x32, got '{text}'")
        if not layout and len(dims) not in DEFAULT_LAYOUTS:
            raise ValueError(f"a rank-{len(dims)} shape needs its layout named, such as 8x16x16x16:CDHW; "
                             f"got '{text}'")
        return cls(*dims, layout=layout.upper() or None)

    def to_json(self) -> list | dict:
        if DEFAULT_LAYOUTS.get(self.rank) == self.layout:
            return list(self.dims)
        return {"dims": list(self.dims), "layout": self.layout}

    @classmethod
    def from_json(cls, data: list | dict) -> "TensorType":
        if isinstance(data, dict):
            return cls(*data["dims"], layout=data["layout"])
        return cls(*data)


def _rebuild(dims: tuple[int, ...], layout: str) -> TensorType:
    return TensorType(*dims, layout=layout)

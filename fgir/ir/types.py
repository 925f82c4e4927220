"""Tensor types carried on IR edges: channels and spatial size of one sample."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TensorType:
    """The shape of one sample: ``(channels, height, width)``, or ``(features,)`` once flattened.

    >>> str(TensorType(64, 56, 56)), str(TensorType(512))
    ('64x56x56', '512')
    """

    channels: int
    height: int | None = None
    width: int | None = None

    @property
    def is_flat(self) -> bool:
        return self.height is None

    @property
    def dims(self) -> tuple[int, ...]:
        if self.is_flat:
            return (self.channels,)
        return (self.channels, self.height, self.width)

    @property
    def numel(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n

    def __str__(self) -> str:
        return "x".join(str(d) for d in self.dims)

    @classmethod
    def parse(cls, text: str) -> "TensorType":
        """Parse ``3x32x32`` (or ``64``); raise ValueError on anything else."""
        parts = text.lower().replace("*", "x").split("x")
        try:
            dims = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"expected CxHxW such as 3x32x32, got '{text}'") from None
        if len(dims) not in (1, 3) or any(d <= 0 for d in dims):
            raise ValueError(f"expected positive CxHxW such as 3x32x32, got '{text}'")
        return cls(*dims)

    def to_json(self) -> list:
        return list(self.dims)

    @classmethod
    def from_json(cls, data: list) -> "TensorType":
        return cls(*data)

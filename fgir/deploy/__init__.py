"""Deployment tools over a trained model: ``fgir quantize`` (post-training int8 with bias correction, an
accuracy budget and mixed precision).  Sits above training (it measures accuracy) and below search.

:mod:`.api` (the entry point, :func:`quantize`), :mod:`.plan` (the bits and the spec that says them),
:mod:`.data` (calibration and held-out images), :mod:`.bias` (bias correction), :mod:`.measure`
(building and scoring a plan), :mod:`.budget` (mixed precision, the max-drop loop).  torch is imported
when :func:`quantize` is first used.

Example:
    >>> import fgir.deploy
    >>> fgir.deploy.quantize.__name__
    'quantize'
"""

from __future__ import annotations

from typing import Any

__all__ = ["QuantizeResult", "quantize"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from fgir.deploy import api

        return getattr(api, name)
    raise AttributeError(f"module 'fgir.deploy' has no attribute '{name}'")

"""The optimiser and the learning-rate schedule a recipe asks for, stepped once per batch.

The schedule is a factor on the base rate: a linear warm-up over ``warmup``
epochs, then ``cosine`` (to zero at the last step), ``step`` (times ``gamma``
every ``step_size`` epochs) or ``constant``.

Example:
    >>> from fgir.training.recipe import Recipe
    >>> factor = lr_factor(Recipe(epochs=4, warmup=1), steps_per_epoch=10)
    >>> [round(factor(s), 3) for s in (0, 9, 10, 25, 39)]
    [0.1, 1.0, 1.0, 0.5, 0.003]
"""

from __future__ import annotations

import math
from typing import Any, Callable

from fgir.training.recipe import Recipe


def lr_factor(recipe: Recipe, steps_per_epoch: int) -> Callable[[int], float]:
    """The factor on the base learning rate at each optimiser step (0-based)."""
    total = max(1, recipe.epochs * steps_per_epoch)
    warmup = min(total, int(round(recipe.warmup * steps_per_epoch)))
    step_size = recipe.step_size or max(1, recipe.epochs // 3)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if recipe.schedule == "cosine":
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        if recipe.schedule == "step":
            return recipe.gamma ** ((step // steps_per_epoch) // step_size)
        return 1.0
    return factor


def make_optimizer(model: Any, recipe: Recipe) -> Any:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=recipe.learning_rate, weight_decay=recipe.decay)
    return torch.optim.SGD(params, lr=recipe.learning_rate, momentum=recipe.momentum, weight_decay=recipe.decay)


def make_schedule(optimizer: Any, recipe: Recipe, steps_per_epoch: int) -> Any:
    import torch

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(recipe, steps_per_epoch))


__all__ = ["lr_factor", "make_optimizer", "make_schedule"]

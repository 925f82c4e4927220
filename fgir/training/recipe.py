"""A training recipe: every setting ``fgir train`` runs with, its default, and what a valid value is.

Settings come, lowest first, from the defaults here, the spec's ``trainer:``
and ``dataset:`` sections (:mod:`.sections`), then the command line or the
keyword arguments of ``fgir.train``.  A bad value in the spec is a diagnostic
at its line (exit 1); a bad flag or argument is a :class:`TrainUsageError`
(exit 2).  :meth:`Recipe.fingerprint` is what a resumed run must match.

Example:
    >>> recipe = Recipe(optimizer="adamw")
    >>> recipe.learning_rate, recipe.decay, recipe.epochs
    (0.001, 0.01, 10)
    >>> check("lr", -1)
    'expected a positive number, got -1'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Callable

from fgir.data.preprocess import DEFAULT_MEAN, DEFAULT_STD, DEFAULT_VAL_FRACTION
from fgir.diagnostics import FgirError
from fgir.limits import MAX_VALUE

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "constant")
DEFAULT_LR = {"sgd": 0.05, "adamw": 0.001}
DEFAULT_WEIGHT_DECAY = {"sgd": 5e-4, "adamw": 0.01}


class TrainUsageError(FgirError):
    """A bad ``fgir train`` flag or ``fgir.train`` argument (exit status 2)."""


@dataclass
class Recipe:
    """What a training run does; see the module docstring and README for each setting."""

    # trainer:
    epochs: int = 10
    batch_size: int = 64
    lr: float | None = None                 # default by optimizer (DEFAULT_LR)
    optimizer: str = "sgd"
    momentum: float = 0.9                   # SGD's; AdamW ignores it
    weight_decay: float | None = None       # default by optimizer (DEFAULT_WEIGHT_DECAY)
    schedule: str = "cosine"
    warmup: float = 0.0                     # epochs of linear warm-up (fractions allowed)
    step_size: int | None = None            # schedule step: epochs between decays (default epochs // 3)
    gamma: float = 0.1                      # schedule step: the decay factor
    label_smoothing: float = 0.0
    bn_sparsity: float = 0.0                # network slimming: lambda * sum |gamma| over BatchNorms
    seed: int = 0
    amp: bool = False                       # bfloat16 autocast, CUDA only
    device: str = "auto"
    save_every: int = 0                     # steps between mid-epoch checkpoints (0: at epoch ends only)
    log_every: int = 0                      # steps between progress lines (0: on a terminal a bar; else every 30 s)
    # dataset:
    data: str | None = None
    val: str | None = None
    val_fraction: float = DEFAULT_VAL_FRACTION
    augment: bool = False
    crop_padding: int | None = None         # augment: default an eighth of the side
    hflip: bool = True                      # augment: flip horizontally half the images
    mean: Any = DEFAULT_MEAN             # the normalisation, recorded in the model (fgir.data.preprocess)
    std: Any = DEFAULT_STD
    workers: int = 1

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def decay(self) -> float:
        return self.weight_decay if self.weight_decay is not None else DEFAULT_WEIGHT_DECAY[self.optimizer]

    def fingerprint(self) -> dict[str, Any]:
        """The settings that decide the weights: a resumed run must match them (not device, logging)."""
        out = asdict(self)
        for key in ("device", "save_every", "log_every", "workers"):
            out.pop(key)
        return out


DATASET_KEYS = ("data", "val", "val_fraction", "augment", "crop_padding", "hflip", "mean", "std", "workers")
TRAINER_KEYS = tuple(f.name for f in fields(Recipe) if f.name not in DATASET_KEYS)


def _int(low: int, high: int = MAX_VALUE) -> Callable[[Any], str | None]:
    """A whole number from ``low`` to ``high`` (beyond the bound: a typo, e.g. 10**30 epochs, not a plan)."""
    def check(v: Any) -> str | None:
        if isinstance(v, int) and not isinstance(v, bool) and v > high >= low:
            return f"expected at most {high:,}, got {v:,}"
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= low
        return None if ok else f"expected {'a positive' if low > 0 else 'a non-negative'} integer, got {v!r}"
    return check


def _number(low: float, high: float | None = None, low_open: bool = False) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (v > low if low_open else v >= low) \
            and (high is None or v < high)
        if ok:
            return None
        if high is not None:
            return f"expected a number from {low} up to (not including) {high}, got {v!r}"
        return f"expected a {'positive' if low_open else 'non-negative'} number, got {v!r}"
    return check


def _choice(names: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if isinstance(v, str) and v.lower() in names else \
            f"expected one of {', '.join(names)}, got {v!r}"
    return check


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"expected true or false, got {v!r}"


def _text(v: Any) -> str | None:
    return None if isinstance(v, str) and v else f"expected a path, got {v!r}"


def _numbers(v: Any) -> str | None:
    items = v if isinstance(v, list) else [v]
    ok = bool(items) and all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in items)
    return None if ok else f"expected a number or a list of numbers (one per channel), got {v!r}"


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "epochs": _int(1), "batch_size": _int(2), "lr": _number(0, low_open=True),
    "optimizer": _choice(OPTIMIZERS), "momentum": _number(0, 1), "weight_decay": _number(0),
    "schedule": _choice(SCHEDULES), "warmup": _number(0), "step_size": _int(1),
    "gamma": _number(0, low_open=True), "label_smoothing": _number(0, 1), "bn_sparsity": _number(0),
    "seed": _int(0, 2**63 - 1), "amp": _bool, "device": _text, "save_every": _int(0), "log_every": _int(0),
    "data": _text, "val": _text, "val_fraction": _number(0, 1, low_open=True), "augment": _bool,
    "crop_padding": _int(0), "hflip": _bool, "mean": _numbers, "std": _numbers, "workers": _int(1),
}


def check(name: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``name``, or None."""
    return CHECKS[name](value)


def normalised(name: str, value: Any) -> Any:
    """A valid value in the form the trainer uses (names lower-case, numbers as float)."""
    if name in ("optimizer", "schedule"):
        return value.lower()
    if name in ("lr", "momentum", "weight_decay", "warmup", "gamma", "label_smoothing", "bn_sparsity",
                "val_fraction"):
        return float(value)
    return value


__all__ = ["DATASET_KEYS", "OPTIMIZERS", "Recipe", "SCHEDULES", "TRAINER_KEYS", "TrainUsageError", "check",
           "normalised"]

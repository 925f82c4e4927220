"""Training a spec on the user's data: ``fgir train`` and ``fgir.train``.

(The package is ``fgir.training``: ``fgir.train`` is the function, and a
package of the same name would be shadowed by it.)

:mod:`.recipe` (the settings, defaults and checks), :mod:`.sections` (the
spec's ``trainer:`` and ``dataset:``, Vega's forms too), :mod:`.optim`
(optimiser, schedule), :mod:`.loop` (the resumable loop), :mod:`.state`
(atomic checkpoints), :mod:`.progress` (progress bar, metrics.jsonl),
:mod:`.run` (it all, end to end).  torch is imported when a run starts.

Example:
    >>> from fgir.training import Recipe
    >>> Recipe().schedule
    'cosine'
"""

from fgir.training.recipe import Recipe, TrainUsageError

__all__ = ["Recipe", "TrainResult", "TrainUsageError", "Trainer", "train"]


def __getattr__(name: str):
    if name in ("train", "TrainResult"):
        from fgir.training import run

        return getattr(run, name)
    if name == "Trainer":
        from fgir.training.loop import Trainer

        return Trainer
    raise AttributeError(f"module 'fgir.training' has no attribute '{name}'")

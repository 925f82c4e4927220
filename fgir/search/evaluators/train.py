"""The train evaluator: a short training run per candidate, scored on a held-out split. No downloads.

Without ``data`` it trains on scikit-learn's bundled digits prepared and split
as ``fgir train --data digits`` prepares and splits them (the 8x8 grey digits
resized to the network's input, replicated to its channels, normalised as
training does; a stratified, fixed fifth held out:
:func:`fgir.data.digits.digits_tensors`) and scores that held-out fifth, the
images ``fgir train`` reports its validation accuracy on.  With ``data`` (an image folder or an ``.npz``, as
``fgir train`` reads them: :mod:`fgir.data.sources`) a candidate trains on
the training split and ``accuracy`` is its validation split's, which the search
selects by; the test split (``test``, else a fixed fifth of ``data``; the
validation split is ``val``, else a fixed fifth of the rest) is never seen
during the search and is scored for the best candidate only
(:meth:`TrainEvaluator.test_metrics`, which ``run_search`` calls at the end).

Each candidate trains for ``epochs`` with Adam (:class:`fgir.training.loop.Trainer`
with ``adamw``, no weight decay, a constant rate), its weights and data order from
its seed.  ``on_epoch(epoch, row)`` is called after every epoch with the
epoch's figures (``val_accuracy`` among them); returning true stops that
candidate's training early, and its metrics are those of the last epoch run.
:meth:`TrainEvaluator.train_to` trains to a given epoch from a saved training
state (the Trainer's own checkpoint state, :meth:`~fgir.training.loop.Trainer.state`):
an early-stopping search's rungs (:mod:`fgir.search.budget`).  The rate is
constant, so training to epoch 3 from the state at epoch 1 gives exactly what
training 3 epochs at once gives.
Runs on CUDA when available.  On the CPU it uses ``threads`` threads (default 1)
so that results do not depend on the machine's core count or on ``--workers``:
parallelism comes from evaluating several candidates at once.  torch is
imported only when a model is trained.

Example:
    >>> import fgir
    >>> ev = TrainEvaluator(epochs=1, limit=256)
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml", input="3x8x8")
    >>> ev(graph, seed=0)["accuracy"] > 0.1
    True
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from fgir.data.digits import digits_tensors
from fgir.ir.graph import Graph

TRAIN_METRICS = ("accuracy", "loss")
TEST_METRICS = ("test_accuracy", "test_loss")
HELD_OUT = 0.2


@functools.lru_cache(maxsize=4)
def _splits(data: str, val: str | None, test: str | None, dims: tuple[int, ...], classes: int) -> tuple[Any, ...]:
    """(train, val, test) of a user's data set, loaded once per process and input size."""
    from fgir.data.sources import load_images, split

    everything = load_images(data, dims, num_classes=classes)
    rest, held_test = split(everything, HELD_OUT) if test is None else (
        everything, load_images(test, dims, num_classes=classes))
    train, held_val = split(rest, HELD_OUT) if val is None else (rest, load_images(val, dims, num_classes=classes))
    return train, held_val, held_test


def missing_packages(data: str | None) -> list[str]:
    """The packages training needs that are not installed: torch, and scikit-learn for the digits."""
    import importlib.util
    import sys

    def installed(name: str) -> bool:
        if name in sys.modules:
            return sys.modules[name] is not None     # None: an import blocked on purpose
        return importlib.util.find_spec(name) is not None

    needed = ["torch"] + (["sklearn"] if data in (None, "digits") else [])
    return [name for name in needed if not installed(name)]


class TrainEvaluator:
    """Train briefly; reports ``accuracy`` (held-out) and the last epoch's ``loss``."""

    name = "train"
    metrics = TRAIN_METRICS
    uses_gpu = True           # the local executor pins one CUDA device per worker when there are several

    def __init__(self, epochs: int = 1, batch_size: int = 64, lr: float = 0.002, threads: int = 1,
                 limit: int | None = None, data: str | None = None, val: str | None = None,
                 test: str | None = None, on_epoch: Callable[[int, dict], Any] | None = None) -> None:
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.threads, self.limit = threads, limit
        self.data, self.val, self.test, self.on_epoch = data, val, test, on_epoch

    def options(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                "threads": self.threads, "limit": self.limit, "data": self.data, "val": self.val,
                "test": self.test}

    def files(self) -> list[str]:
        """The data files and folders it reads (they travel to Ray workers)."""
        return [p for p in (self.data, self.val, self.test) if p not in (None, "digits")]

    def relocated(self, moved: dict[str, str]) -> "TrainEvaluator":
        """This evaluator reading its data where a worker has it (``moved``: driver path → path here)."""
        import copy

        out = copy.copy(self)
        out.data, out.val, out.test = (moved.get(p, p) if p else p for p in (self.data, self.val, self.test))
        return out

    def _sets(self, graph: Graph) -> tuple[Any, Any, Any]:
        from fgir.data.sources import ImageSet
        from fgir.training.run import class_count

        dims = tuple(graph.meta["input"])
        if self.data is None:
            x_train, y_train, x_test, y_test = digits_tensors(*dims, self.limit)
            return ImageSet(x_train, y_train, "digits"), ImageSet(x_test, y_test, "digits"), None
        train, val, test = _splits(self.data, self.val, self.test, dims, class_count(graph))
        if self.limit and self.limit < len(train):   # a fixed sample: an image folder's split is in class order
            import torch

            train = train.subset(torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:self.limit])
        return train, val, test

    def _trained(self, graph: Graph, seed: int, train: Any, val: Any, on_epoch: Any, epochs: int | None = None,
                 state: bytes | None = None) -> Any:
        import io

        import torch

        import fgir
        from fgir.training.loop import Trainer
        from fgir.training.recipe import Recipe
        from fgir.training.run import class_count

        cuda = torch.cuda.is_available()
        device = torch.device("cuda" if cuda else "cpu")
        if not cuda:
            torch.set_num_threads(self.threads)
        else:
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        if int(train.y.max()) >= class_count(graph):
            raise ValueError(f"the data has {int(train.y.max()) + 1} classes; the network has "
                             f"{class_count(graph)} outputs")
        recipe = Recipe(epochs=epochs or self.epochs, batch_size=self.batch_size, lr=self.lr, optimizer="adamw",
                        weight_decay=0.0, schedule="constant", seed=seed, device=device.type)
        model = fgir.to_torch(graph, seed=seed).to(device)
        trainer = Trainer(model, train, val, recipe, device, on_epoch=on_epoch,
                          evaluate_every_epoch=on_epoch is not None)
        if state is not None:
            trainer.restore(torch.load(io.BytesIO(state), map_location="cpu", weights_only=True))
        trainer.run()
        return trainer

    def train_to(self, graph: Graph, seed: int, epochs: int, state: bytes | None = None) -> tuple[dict, bytes]:
        """Train to epoch ``epochs`` (from ``state``, a training state this method returned); the metrics
        there and the state reached."""
        import io

        import torch

        train, val, _ = self._sets(graph)
        trainer = self._trained(graph, seed, train, val, None, epochs, state)
        buffer = io.BytesIO()
        torch.save(trainer.state(), buffer)
        return _metrics(trainer, val), buffer.getvalue()

    def __call__(self, graph: Graph, seed: int = 0) -> dict[str, float]:
        train, val, _ = self._sets(graph)
        return _metrics(self._trained(graph, seed, train, val, self.on_epoch), val)

    def test_metrics(self, graph: Graph, seed: int = 0) -> dict[str, float] | None:
        """The best candidate scored on the test split (trained again from its seed); None without one."""
        train, val, test = self._sets(graph)
        if test is None:
            return None
        loss, accuracy = self._trained(graph, seed, train, val, None).evaluate(test)
        return {"test_accuracy": round(accuracy, 6), "test_loss": round(loss, 6)}



def _metrics(trainer: Any, val: Any) -> dict[str, float]:
    """The held-out accuracy (the last epoch's, or measured now) and the last epoch's training loss."""
    last = trainer.history[-1]
    accuracy = last["val_accuracy"] if "val_accuracy" in last else trainer.evaluate(val)[1]
    return {"accuracy": round(accuracy, 6), "loss": round(last["loss"], 6)}


__all__ = ["TEST_METRICS", "TRAIN_METRICS", "TrainEvaluator", "missing_packages"]

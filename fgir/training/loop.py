"""The training loop: epochs of shuffled batches, evaluation, checkpoints and reports, resumable anywhere.

A :class:`Trainer` owns everything a step depends on, and :meth:`Trainer.state`
/ :meth:`Trainer.restore` carry it to and from a checkpoint (:mod:`.state`):
the data order of an epoch is one ``randperm`` from the shuffling generator,
augmentation draws from its own generator, dropout from torch's global one.
Batches of one image are skipped (BatchNorm cannot train on them).  With
``bn_sparsity`` every BatchNorm's γ gets the subgradient of λ·Σ|γ| after each
backward pass (network slimming), and epoch rows report ``bn_l1`` = Σ|γ|.

Example:
    >>> import torch
    >>> from fgir.data.sources import ImageSet
    >>> from fgir.training.recipe import Recipe
    >>> data = ImageSet(torch.randn(40, 3, 4, 4), torch.arange(40) % 2, "<random>")
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 2))
    >>> trainer = Trainer(model, data, data, Recipe(epochs=2, batch_size=8), torch.device("cpu"))
    >>> [row["epoch"] for row in trainer.run()], trainer.step
    ([1, 2], 10)
"""

from __future__ import annotations

import time
from typing import Any, Callable

from fgir.data.augment import augment, default_padding
from fgir.data.sources import ImageSet
from fgir.training.optim import make_optimizer, make_schedule
from fgir.training.progress import MetricsLog, Progress
from fgir.training.recipe import Recipe

EVAL_BATCH = 512
OnEpoch = Callable[[int, dict[str, Any]], Any]


def batch_bounds(count: int, batch_size: int) -> list[tuple[int, int]]:
    """The (start, end) of each batch of an epoch; a last batch of one image is left out."""
    return [(s, min(s + batch_size, count)) for s in range(0, count, batch_size) if min(s + batch_size, count) - s > 1]


def batchnorm_weights(model: Any) -> list[Any]:
    from torch import nn

    kinds = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
    return [m.weight for m in model.modules() if isinstance(m, kinds) and m.weight is not None]


class Trainer:
    """Trains ``model`` on ``train`` by ``recipe``; see the module docstring."""

    def __init__(self, model: Any, train: ImageSet, val: ImageSet | None, recipe: Recipe, device: Any, *,
                 progress: Progress | None = None, metrics: MetricsLog | None = None,
                 save: Callable[["Trainer"], None] | None = None, on_epoch: OnEpoch | None = None,
                 evaluate_every_epoch: bool = True) -> None:
        import torch

        self.model, self.train_set, self.val_set, self.recipe, self.device = model, train, val, recipe, device
        self.progress = progress or Progress(None, recipe.epochs)
        self.metrics = metrics or MetricsLog(None)
        self.save, self.on_epoch, self.evaluate_every_epoch = save, on_epoch, evaluate_every_epoch
        self.bounds = batch_bounds(len(train), recipe.batch_size)
        if not self.bounds:
            raise ValueError(f"{len(train)} training images make no batch of two or more")
        self.optimizer = make_optimizer(model, recipe)
        self.schedule = make_schedule(self.optimizer, recipe, len(self.bounds))
        self.shuffle = torch.Generator().manual_seed(recipe.seed)
        self.draws = torch.Generator().manual_seed(recipe.seed + 1)    # augmentation's own stream
        self.bn_weights = batchnorm_weights(model) if recipe.bn_sparsity else []
        self.padding = (recipe.crop_padding if recipe.crop_padding is not None
                        else default_padding(train.x.shape[2])) if recipe.augment else 0
        self.epoch, self.batch, self.step = 0, 0, 0
        self.order: Any = None
        self.totals = torch.zeros(3, dtype=torch.float64)   # loss sum, correct, images of this epoch
        self.history: list[dict[str, Any]] = []
        self.stopped = False
        torch.manual_seed(recipe.seed)
        self._x, self._y = self._placed(train)

    def _placed(self, data: ImageSet) -> tuple[Any, Any]:
        """The data where the model is, when it fits easily (no copy per batch), else left on the CPU."""
        small = data.x.numel() * data.x.element_size() < 2 ** 31
        if self.device.type != "cpu" and small:
            return data.x.to(self.device), data.y.to(self.device)
        return data.x, data.y

    # -- checkpoints --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        import torch

        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
        return {"epoch": self.epoch, "batch": self.batch, "step": self.step, "order": self.order,
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict(), "totals": self.totals.clone(),
                "rng": {"torch": torch.get_rng_state(), "cuda": cuda, "shuffle": self.shuffle.get_state(),
                        "augment": self.draws.get_state()},
                "metrics_rows": self.metrics.rows, "history": list(self.history), "stopped": self.stopped}

    def restore(self, state: dict[str, Any]) -> None:
        import torch

        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.epoch, self.batch, self.step = state["epoch"], state["batch"], state["step"]
        self.order, self.totals = state["order"], state["totals"].clone()
        self.history, self.stopped = list(state["history"]), state.get("stopped", False)
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.shuffle.set_state(state["rng"]["shuffle"])
        self.draws.set_state(state["rng"]["augment"])

    @property
    def done(self) -> bool:
        return self.stopped or self.epoch >= self.recipe.epochs

    # -- running ------------------------------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        """Train to the last epoch (or until ``on_epoch`` returns true); the epoch rows."""
        import torch

        while not self.done:
            if self.order is None:
                self.order = torch.randperm(len(self.train_set), generator=self.shuffle)
                self.batch = 0
                self.totals.zero_()
            self._epoch()
            if self.on_epoch is not None and self.on_epoch(self.epoch, self.history[-1]):
                self.stopped = True
            if self.save is not None:
                self.save(self)
        self.progress.close()
        return self.history

    def _epoch(self) -> None:
        import torch

        recipe, model = self.recipe, self.model
        self.progress.start_epoch(self.epoch, len(self.bounds), self.batch)
        start, first, seen = time.perf_counter(), self.batch, 0
        order = self.order.to(self._x.device)
        running = torch.zeros(3, dtype=torch.float64, device=self._x.device)
        model.train()
        while self.batch < len(self.bounds):
            lo, hi = self.bounds[self.batch]
            idx = order[lo:hi]
            x, y = self._x[idx], self._y[idx]
            if self.padding or (recipe.augment and recipe.hflip):
                x = augment(x, self.draws, self.padding, recipe.augment and recipe.hflip)
            loss, correct = self._train_step(x.to(self.device, non_blocking=True),
                                             y.to(self.device, non_blocking=True))
            running += torch.stack([loss.detach().double() * len(idx), correct.double(),
                                    torch.tensor(float(len(idx)), dtype=torch.float64, device=running.device)])
            self.batch += 1
            self.step += 1
            seen += len(idx)
            if self.progress.wants(self.batch) or self._saves_now():
                self.totals += running.cpu()
                running.zero_()
                self._report_step(start, first, seen)
            if self._saves_now() and self.save is not None:
                self.save(self)
        self.totals += running.cpu()
        self._end_epoch(time.perf_counter() - start, seen)

    def _saves_now(self) -> bool:
        every = self.recipe.save_every
        return bool(every) and self.step % every == 0 and self.batch < len(self.bounds)

    def _train_step(self, x: Any, y: Any) -> tuple[Any, Any]:
        import torch
        import torch.nn.functional as F

        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.recipe.amp):
            out = self.model(x)
        loss = F.cross_entropy(out.float(), y, label_smoothing=self.recipe.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for weight in self.bn_weights:
            if weight.grad is not None:
                weight.grad.add_(torch.sign(weight.detach()), alpha=self.recipe.bn_sparsity)
        self.optimizer.step()
        self.schedule.step()
        return loss, (out.argmax(1) == y).sum()

    def _figures(self, seen: int, elapsed: float) -> dict[str, float]:
        loss, correct, count = (float(v) for v in self.totals)
        return {"loss": loss / max(count, 1), "accuracy": correct / max(count, 1),
                "lr": self.optimizer.param_groups[0]["lr"], "images_per_s": seen / max(elapsed, 1e-9)}

    def _report_step(self, start: float, first: int, seen: int) -> None:
        elapsed = time.perf_counter() - start
        figures = self._figures(seen, elapsed)
        done_here = self.batch - first
        eta = elapsed / max(done_here, 1) * (len(self.bounds) - self.batch)
        self.progress.step(self.batch, figures, eta)
        if self.recipe.log_every and self.step % self.recipe.log_every == 0:
            self.metrics.write({"kind": "step", "epoch": self.epoch + 1, "step": self.step,
                                **{k: round(v, 6) for k, v in figures.items()}, "seconds": round(elapsed, 3)})

    def _end_epoch(self, elapsed: float, seen: int) -> None:
        figures = self._figures(seen, elapsed)
        row: dict[str, Any] = {"kind": "epoch", "epoch": self.epoch + 1, "step": self.step,
                               "loss": round(figures["loss"], 6), "accuracy": round(figures["accuracy"], 6)}
        last = self.epoch + 1 >= self.recipe.epochs
        if self.val_set is not None and (self.evaluate_every_epoch or last):
            row["val_loss"], row["val_accuracy"] = (round(v, 6) for v in self.evaluate(self.val_set))
        if self.recipe.bn_sparsity:
            row["bn_l1"] = round(float(sum(w.detach().abs().sum() for w in self.bn_weights)), 6)
        row.update(lr=figures["lr"], images_per_s=round(figures["images_per_s"], 1), seconds=round(elapsed, 3))
        self.history.append(row)
        self.metrics.write(row)
        self.progress.end_epoch(row)
        self.epoch, self.batch, self.order = self.epoch + 1, 0, None

    def evaluate(self, data: ImageSet) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) of the model on ``data``, in eval mode."""
        return evaluate(self.model, data.x, data.y, EVAL_BATCH, self.device, self.recipe.amp)


def evaluate(model: Any, x: Any, y: Any, batch_size: int = EVAL_BATCH, device: Any = None,
             amp: bool = False) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on images ``x`` with labels ``y``, in eval mode, a batch
    at a time (moved to ``device`` where given); the model's training mode is restored after.

    >>> import torch
    >>> net = torch.nn.Linear(2, 2)
    >>> evaluate(net, torch.zeros(4, 2), net(torch.zeros(4, 2)).argmax(1), 2)[1]
    1.0
    """
    import torch
    import torch.nn.functional as F

    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for lo in range(0, len(x), batch_size):
            xs, ys = x[lo:lo + batch_size], y[lo:lo + batch_size]
            if device is not None:
                xs, ys = xs.to(device, non_blocking=True), ys.to(device, non_blocking=True)
            with torch.autocast(xs.device.type, dtype=torch.bfloat16, enabled=amp):
                out = model(xs)
            loss += float(F.cross_entropy(out.float(), ys, reduction="sum"))
            correct += int((out.argmax(1) == ys).sum())
    model.train(was_training)
    return loss / len(x), correct / len(x)


__all__ = ["Trainer", "batch_bounds", "batchnorm_weights", "evaluate"]

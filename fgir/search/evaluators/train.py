"""The train evaluator: a short training run on scikit-learn's bundled digits, no downloads.

The 8x8 grey digits are resized (bilinear) to the network's input size and
replicated to its channels, split 75/25 (stratified, fixed), and the compiled
model is trained for ``epochs`` with Adam, then scored on the held-out quarter.
Runs on CUDA when available.  On the CPU it uses ``threads`` threads (default 1)
so that results do not depend on the machine's core count or on ``--workers``:
parallelism comes from evaluating several candidates at once.  torch is
imported only when a model is trained.

Example:
    >>> import fgir
    >>> ev = TrainEvaluator(epochs=1, limit=256)
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml", input="3x8x8")
    >>> ev(graph, seed=0)["accuracy"] > 0.1  # doctest: +SKIP
    True
"""

from __future__ import annotations

from typing import Any

from fgir.data.digits import NUM_CLASSES, digits_tensors
from fgir.ir.graph import Graph

TRAIN_METRICS = ("accuracy", "loss")


class TrainEvaluator:
    """Train briefly on digits; reports ``accuracy`` (held-out) and the last epoch's ``loss``."""

    name = "train"
    metrics = TRAIN_METRICS

    def __init__(self, epochs: int = 1, batch_size: int = 64, lr: float = 0.002, threads: int = 1,
                 limit: int | None = None) -> None:
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.threads, self.limit = threads, limit

    def options(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                "threads": self.threads, "limit": self.limit}

    def __call__(self, graph: Graph, seed: int = 0) -> dict[str, float]:
        import torch
        import fgir

        cuda = torch.cuda.is_available()
        device = torch.device("cuda" if cuda else "cpu")
        if not cuda:
            torch.set_num_threads(self.threads)
        else:
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        c, h, w = graph.meta["input"]
        x_train, y_train, x_test, y_test = digits_tensors(c, h, w, self.limit)
        model = fgir.to_torch(graph, seed=seed).to(device)
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        total, count = 0.0, 0
        for _ in range(self.epochs):
            model.train()
            order = torch.randperm(len(x_train), generator=generator)
            total, count = 0.0, 0
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                if len(idx) < 2:
                    continue   # BatchNorm cannot train on a batch of one
                xb, yb = x_train[idx].to(device), y_train[idx].to(device)
                out = model(xb)
                if out.shape[1] < NUM_CLASSES:
                    raise ValueError(f"the train evaluator needs {NUM_CLASSES} outputs (digits); "
                                     f"the network has {out.shape[1]}")
                loss = torch.nn.functional.cross_entropy(out, yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total, count = total + float(loss.detach()) * len(idx), count + len(idx)
        model.eval()
        correct = 0
        with torch.no_grad():
            for start in range(0, len(x_test), 256):
                out = model(x_test[start:start + 256].to(device))
                correct += int((out.argmax(1).cpu() == y_test[start:start + 256]).sum())
        return {"accuracy": round(correct / len(x_test), 6),
                "loss": round(total / max(count, 1), 6)}


__all__ = ["TRAIN_METRICS", "TrainEvaluator"]

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

import functools
from typing import Any

from fgir.ir.graph import Graph

NUM_CLASSES = 10
TRAIN_METRICS = ("accuracy", "loss")


@functools.lru_cache(maxsize=4)
def _digits(channels: int, height: int, width: int, limit: int | None) -> tuple[Any, Any, Any, Any]:
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        data.images, data.target, test_size=0.25, random_state=0, stratify=data.target)
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]

    def prepare(images: Any) -> Any:
        x = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 16.0
        if (height, width) != (8, 8):
            x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
        return ((x - 0.3) / 0.4).repeat(1, channels, 1, 1).contiguous()   # ≈ digits' mean and std

    return (prepare(x_train), torch.tensor(y_train), prepare(x_test), torch.tensor(y_test))


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
        x_train, y_train, x_test, y_test = _digits(c, h, w, self.limit)
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

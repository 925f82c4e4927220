"""What a run shows and records: a progress bar (tqdm) on a terminal, plain lines elsewhere, metrics.jsonl.

On a terminal each epoch gets a tqdm bar with its ETA, loss and accuracy; in a
log file or a pipe (stderr not a terminal) one line at each epoch's end, and
within an epoch a line with the same figures and the epoch's ETA only every
``log_every`` steps when that is set, else at most once every ``PIPE_SECONDS``
(30 s): a log stays a few lines an epoch however fast the steps run.  ``metrics.jsonl`` gets a row per epoch (``kind: epoch``) and,
with ``log_every``, a row every that many steps (``kind: step``)::

    {"kind": "epoch", "epoch": 1, "step": 21, "loss": 1.2, "accuracy": 0.61, "val_loss": 0.5,
     "val_accuracy": 0.86, "lr": 0.049, "images_per_s": 1510.2, "seconds": 0.95}

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progress(out, epochs=2, log_every=5)
    >>> bar.start_epoch(0, total=10, done=0)
    >>> bar.step(5, {"loss": 0.5, "accuracy": 0.75, "lr": 0.1, "images_per_s": 100.0}, eta=3.0)
    >>> out.getvalue()
    'epoch 1/2 step 5/10  loss 0.5000  acc 0.7500  lr 0.1  100 img/s  eta 0:00:03\\n'
    >>> quiet = Progress(io.StringIO(), epochs=2)          # a pipe, no log_every: no line 1 s in
    >>> quiet.start_epoch(0, total=10, done=0)
    >>> [quiet.wants(done) for done in (1, 2, 10)]
    [False, False, False]
"""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path
from typing import Any, TextIO

PIPE_SECONDS = 30.0   # in a pipe or a log, without log_every: at most one step line this often


def _eta(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(round(max(0.0, seconds)))))


def _columns(stream: TextIO) -> int:
    """The terminal's width (0 where it reports none: a bar would draw nothing there, lines do)."""
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


class Progress:
    """A tqdm bar per epoch on a terminal, else plain lines; ``stream=None`` shows nothing."""

    def __init__(self, stream: TextIO | None, epochs: int, log_every: int = 0) -> None:
        self.stream, self.epochs, self.log_every = stream, epochs, log_every
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)()) and _columns(stream) > 0
        self.bar: Any = None
        self.epoch, self.total = 0, 0
        self.last = time.monotonic()   # when the last line (or the epoch's start) was written

    def start_epoch(self, epoch: int, total: int, done: int) -> None:
        self.epoch, self.total = epoch, total
        self.last = time.monotonic()
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, file=self.stream, leave=False, dynamic_ncols=True,
                            desc=f"epoch {epoch + 1}/{self.epochs}", unit="step")

    def wants(self, done: int) -> bool:
        """Whether the step that brings the epoch to ``done`` batches gets a line (the epoch's end has its own)."""
        if self.stream is None or self.tty:
            return self.stream is not None
        if done == self.total:
            return False
        if self.log_every:
            return done % self.log_every == 0
        return time.monotonic() - self.last >= PIPE_SECONDS

    def step(self, done: int, figures: dict[str, float], eta: float) -> None:
        if self.stream is None:
            return
        if self.bar is not None:
            self.bar.n = done
            self.bar.set_postfix(loss=f"{figures['loss']:.4f}", acc=f"{figures['accuracy']:.4f}",
                                 lr=f"{figures['lr']:.3g}", refresh=True)
            return
        self.stream.write(f"epoch {self.epoch + 1}/{self.epochs} step {done}/{self.total}  "
                          f"loss {figures['loss']:.4f}  acc {figures['accuracy']:.4f}  lr {figures['lr']:.3g}  "
                          f"{figures['images_per_s']:.0f} img/s  eta {_eta(eta)}\n")
        self.stream.flush()
        self.last = time.monotonic()

    def end_epoch(self, row: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.stream is None:
            return
        val = (f"  val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.4f}"
               if row.get("val_accuracy") is not None else "")
        self.stream.write(f"epoch {row['epoch']}/{self.epochs}  loss {row['loss']:.4f}  "
                          f"acc {row['accuracy']:.4f}{val}  lr {row['lr']:.3g}  "
                          f"{row['images_per_s']:.0f} img/s  {row['seconds']:.1f} s\n")
        self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class MetricsLog:
    """Rows appended to ``metrics.jsonl`` as they come (flushed: a killed run keeps what it wrote)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.rows = 0   # a resumed run sets the count its checkpoint recorded

    def write(self, row: dict[str, Any]) -> None:
        if self.path is None:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, separators=(", ", ": ")) + "\n")
        self.rows += 1


__all__ = ["MetricsLog", "Progress"]

"""``fgir train SPACE.yaml --supernet``: one weight-sharing supernet trained by the sandwich rule.

Each step trains the largest candidate on the labels, then the smallest and ``k`` random candidates on
the largest's softened outputs (in-place distillation: KL divergence at temperature ``T``, BigNAS) and
on the labels, weighted ``distill`` and ``1 - distill``, their gradients summed into the shared weights
before one optimiser step.  ``distill=1`` is BigNAS's pure distillation; the default, an even mix, is
what bench/bench_supernet.py measured best on the digits at ten epochs: with pure distillation the
students had not caught up with the largest by then (inherited accuracies a point under standalone
training's; within one point for 25% of candidates, against 95% with the mix).  It is
:class:`fgir.training.loop.Trainer` with that step (and the candidate sampler's state in its
checkpoints), so it uses ``fgir train``'s data sets, recipe, progress bar, metrics.jsonl, atomic
checkpoints and resume; validation scores the largest candidate.

Example (a run takes seconds to minutes, so the doctest shows the call; tests/test_supernet*.py run it):
    ``train_supernet("examples/search/supernet_mobilenet.yaml", "super.pt", data="digits", epochs=1)``

    >>> issubclass(SandwichTrainer, Trainer), RANDOM_CANDIDATES, DISTILL
    (True, 2, 0.5)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fgir.training.loop import Trainer

RANDOM_CANDIDATES = 2   # k: random candidates a step besides the largest and the smallest
TEMPERATURE = 1.0
DISTILL = 0.5           # the weight of in-place distillation in a student's loss (the labels get the rest)


class SandwichTrainer(Trainer):
    """A Trainer whose step is the sandwich rule with in-place distillation."""

    def __init__(self, model: Any, *args: Any, k: int = RANDOM_CANDIDATES, temperature: float = TEMPERATURE,
                 distill: float = DISTILL, **kwargs: Any) -> None:
        super().__init__(model, *args, **kwargs)
        self.k, self.temperature, self.distill = k, temperature, distill
        self.sampler = random.Random(self.recipe.seed)

    def _train_step(self, x: Any, y: Any) -> tuple[Any, Any]:
        import torch
        import torch.nn.functional as F

        net, ir, t = self.model, self.model.ir, self.temperature
        self.optimizer.zero_grad(set_to_none=True)
        net.set_candidate(ir.largest)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.recipe.amp):
            out = net(x).float()
        loss = F.cross_entropy(out, y, label_smoothing=self.recipe.label_smoothing)
        loss.backward()
        teacher = F.softmax(out.detach() / t, dim=1)
        for sample in [ir.smallest] + [ir.space.sample(self.sampler) for _ in range(self.k)]:
            net.set_candidate(sample)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.recipe.amp):
                student = net(x).float()
            kd = F.kl_div(F.log_softmax(student / t, dim=1), teacher, reduction="batchmean") * t * t
            if self.distill < 1:
                kd = self.distill * kd + (1 - self.distill) * F.cross_entropy(
                    student, y, label_smoothing=self.recipe.label_smoothing)
            kd.backward()
        self.optimizer.step()
        self.schedule.step()
        net.set_candidate(ir.largest)   # what evaluation and the progress figures score
        return loss.detach(), (out.argmax(1) == y).sum()

    def state(self) -> dict[str, Any]:
        state = super().state()
        version, inner, gauss = self.sampler.getstate()
        state["sampler"] = [version, list(inner), gauss]
        return state

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)
        version, inner, gauss = state["sampler"]
        self.sampler.setstate((version, tuple(inner), gauss))


@dataclass
class SupernetResult:
    model: Any
    history: list[dict[str, Any]]
    output: Path | None
    run_dir: Path | None
    resumed_at: int | None = None


def train_supernet(space: str | Path, output: str | Path | None = None, *, run_dir: str | Path | None = None,
                   resume: bool = False, input: str | None = None, progress: Any = "auto",
                   k: int = RANDOM_CANDIDATES, distill: float = DISTILL, **settings: Any) -> SupernetResult:
    """Train the supernet of ``space``; write ``output`` (a supernet checkpoint, :mod:`.checkpoint`).

    ``k``: random candidates a step besides the largest and the smallest; ``distill``: the weight of
    in-place distillation in their loss, 0 to 1 (see the module docstring)."""
    import sys

    from fgir.data.preprocess import Preprocess
    from fgir.data.sources import load_images, split
    from fgir.diagnostics import Diagnostic, Loc
    from fgir.spec.document import parse_document
    from fgir.spec.yaml_loader import load_yaml_file
    from fgir.supernet.checkpoint import data_record, save_supernet
    from fgir.supernet.ir import build_supernet
    from fgir.supernet.torch_module import SupernetModule
    from fgir.training.progress import MetricsLog, Progress
    from fgir.training.recipe import TrainUsageError
    from fgir.training.run import class_count, resolve_device
    from fgir.training.sections import make_recipe
    from fgir.training.state import CHECKPOINT_NAME, METRICS_NAME, read_state, resume_run, write_state

    where = "fgir train --supernet"
    if isinstance(distill, bool) or not isinstance(distill, (int, float)) or not 0 <= distill <= 1:
        raise TrainUsageError(Diagnostic(Loc(where), "--distill", f"is a weight from 0 to 1, not {distill!r}",
                                         hint="1: BigNAS's pure in-place distillation; 0: the labels only"))
    ir = build_supernet(space, input)
    recipe, _ = make_recipe(parse_document(load_yaml_file(space)), settings, where)
    device = resolve_device(recipe, where)
    if recipe.data is None:
        raise TrainUsageError(Diagnostic(Loc(where), "--data", "no data to train on", hint="pass --data digits"))
    dims = list(ir.graph.meta["input"])
    data = load_images(recipe.data, dims, num_classes=class_count(ir.graph), mean=recipe.mean, std=recipe.std,
                       workers=recipe.workers)
    train_set, val_set = split(data, recipe.val_fraction) if recipe.val is None else (
        data, load_images(recipe.val, dims, num_classes=class_count(ir.graph), mean=recipe.mean, std=recipe.std))
    net = SupernetModule(ir, seed=recipe.seed).to(device)
    preprocess = Preprocess.of(recipe.mean, recipe.std, ir.graph.meta["input"]).to_dict()
    folder = Path(run_dir) if run_dir else (Path(output).with_suffix(".train") if output else None)
    fingerprint = {**recipe.fingerprint(), "space_sha256": ir.space_sha256, "k": k, "distill": distill}
    state = None
    if folder is not None:
        checkpoint = folder / CHECKPOINT_NAME
        if resume and checkpoint.exists():
            state = read_state(checkpoint)
            if state["fingerprint"] != fingerprint:
                changed = sorted(key for key in fingerprint if state["fingerprint"].get(key) != fingerprint[key])
                raise TrainUsageError(Diagnostic(Loc(str(checkpoint)), "", "is the checkpoint of another run: it "
                                                 "differs in " + ", ".join(changed)))
        elif checkpoint.exists():
            raise TrainUsageError(Diagnostic(Loc(str(checkpoint)), "", "holds the checkpoint of an earlier run",
                                             hint="--resume continues it; remove the folder to start over"))
        else:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / METRICS_NAME).unlink(missing_ok=True)
    metrics = MetricsLog(folder / METRICS_NAME if folder else None)
    stream = sys.stderr if progress == "auto" else progress

    def save(trainer: Trainer) -> None:
        write_state(folder / CHECKPOINT_NAME, {"fingerprint": fingerprint, **trainer.state()})

    trainer = SandwichTrainer(net, train_set, val_set, recipe, device, k=k, distill=distill, metrics=metrics,
                              progress=Progress(stream, recipe.epochs, recipe.log_every),
                              save=save if folder else None)
    resumed_at = resume_run(trainer, metrics, folder, state)
    trainer.run()
    net.to("cpu")
    net.fgir_data = data_record(recipe.data, recipe.val, recipe.val_fraction)
    if output is not None:
        save_supernet(net, output, preprocess)
    return SupernetResult(net, trainer.history, Path(output) if output else None, folder, resumed_at)


__all__ = ["DISTILL", "RANDOM_CANDIDATES", "SandwichTrainer", "SupernetResult", "train_supernet"]

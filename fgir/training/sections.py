"""The spec's ``trainer:`` and ``dataset:`` sections, read into a :class:`~fgir.training.recipe.Recipe`.

fgir's own keys are the Recipe's field names, flat::

    trainer: {epochs: 30, batch_size: 128, lr: 0.1, optimizer: sgd, schedule: cosine, warmup: 1}
    dataset: {data: cifar_train/, val: cifar_val/, augment: true}

Vega's nested forms are read too: ``optimizer: {type: SGD, params: {lr: 0.1,
momentum: 0.9, weight_decay: 1e-4}}``, ``lr_scheduler: {type: CosineAnnealingLR
| StepLR, params: {step_size, gamma}}``, and ``dataset: {common: {data_path,
batch_size, num_workers}}``; ``type:`` (Vega's class names) is accepted and
ignored.  A key fgir does not know is an error when it is close to one it does
("did you mean"), else a warning saying it is ignored (Vega configs carry many
settings of their own).  Paths are relative to the spec file.

Example:
    >>> from fgir.spec.document import parse_document
    >>> from fgir.spec.yaml_loader import load_yaml_text
    >>> doc = parse_document(load_yaml_text(
    ...     "trainer: {epochs: 3, optimizer: {type: SGD, params: {lr: 0.1}}}\\n"
    ...     "search_space: {modules: [m], m: {type: ReLU}}\\n", "spec.yaml"))
    >>> recipe, warnings = make_recipe(doc, {"epochs": 5})
    >>> recipe.epochs, recipe.lr, recipe.optimizer, warnings
    (5, 0.1, 'sgd', [])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fgir.data.sources import DIGITS
from fgir.diagnostics import Diagnostic, Diagnostics, Loc, Origin, did_you_mean
from fgir.spec.document import SpecDocument
from fgir.spec.yaml_loader import SMap
from fgir.training.recipe import DATASET_KEYS, TRAINER_KEYS, Recipe, TrainUsageError, check, normalised

DATASET_ALIASES = {"data_path": "data", "num_workers": "workers", "batch_size": "batch_size"}
ALIASES = {"trainer": {}, "dataset": DATASET_ALIASES, "dataset.common": DATASET_ALIASES}
SCHEDULERS = {"cosineannealinglr": "cosine", "cosine": "cosine", "steplr": "step", "step": "step",
              "constant": "constant", "constantlr": "constant"}
PATH_KEYS = ("data", "val")


class _Reader:
    def __init__(self, doc: SpecDocument | None) -> None:
        self.doc = doc
        self.diags = Diagnostics()
        self.values: dict[str, Any] = {}

    def set(self, name: str, value: Any, origin: Origin) -> None:
        problem = check(name, value)
        if problem:
            self.diags.error(origin, problem)
            return
        value = normalised(name, value)
        if name in PATH_KEYS and value != DIGITS and self.doc is not None:
            value = str(Path(self.doc.file).parent / value) if not Path(value).is_absolute() else value
        self.values[name] = value

    def section(self, name: str, section: SMap, keys: tuple[str, ...]) -> None:
        for key, value in section.items():
            origin = Origin(section.value_loc(key), f"{name}.{key}")
            key_origin = Origin(section.key_loc(key), f"{name}.{key}")
            if key == "type":
                continue
            if isinstance(value, SMap) and key in ("optimizer", "lr_scheduler"):
                self._vega(name, key, value)
            elif name == "dataset" and key == "common" and isinstance(value, SMap):
                self.section(f"{name}.common", value, keys)
            elif key in keys or key in ALIASES.get(name, {}):
                self.set(ALIASES.get(name, {}).get(key, key), value, origin)
            elif key == "lr_scheduler":
                self._schedule(value, origin)
            else:
                self._unknown(key, key_origin, keys + tuple(ALIASES.get(name, {})))

    def _unknown(self, key: Any, origin: Origin, keys: tuple[str, ...]) -> None:
        hint = did_you_mean(str(key), keys)
        if hint:
            self.diags.error(origin, f"fgir train has no setting '{key}'", hint=hint)
        else:
            self.diags.warning(origin, f"fgir train ignores '{key}'")

    def _schedule(self, value: Any, origin: Origin) -> None:
        name = SCHEDULERS.get(str(value).lower())
        if name is None:
            self.diags.error(origin, f"fgir trains with cosine, step or constant schedules, not {value!r}",
                             hint="CosineAnnealingLR, StepLR (params step_size, gamma) or constant")
        else:
            self.values["schedule"] = name

    def _vega(self, section: str, key: str, value: SMap) -> None:
        path = f"{section}.{key}"
        if "type" in value:
            origin = Origin(value.value_loc("type"), f"{path}.type")
            if key == "optimizer":
                self.set("optimizer", str(value["type"]).lower(), origin)
            else:
                self._schedule(value["type"], origin)
        params = value.get("params", {})
        if not isinstance(params, SMap):
            params = SMap(value.loc)
        allowed = {"optimizer": ("lr", "momentum", "weight_decay"),
                   "lr_scheduler": ("step_size", "gamma", "T_max", "eta_min")}[key]
        for name, item in params.items():
            origin = Origin(params.value_loc(name), f"{path}.params.{name}")
            if name in ("T_max", "eta_min"):
                continue   # cosine runs over the whole training to zero: these restate it
            if name in allowed:
                self.set(name, item, origin)
            else:
                self._unknown(name, Origin(params.key_loc(name), f"{path}.params.{name}"), allowed)


def make_recipe(doc: SpecDocument | None, overrides: dict[str, Any],
                where: str = "fgir train") -> tuple[Recipe, list[str]]:
    """The recipe: defaults, then the spec's sections, then ``overrides`` (None = not given).

    Raises FgirError (spec problems, located) or TrainUsageError (overrides); returns the warnings.
    """
    reader = _Reader(doc)
    if doc is not None:
        for name, keys in (("trainer", TRAINER_KEYS), ("dataset", DATASET_KEYS)):
            section = getattr(doc, name)
            if section is not None:
                reader.section(name, section, keys)
    reader.diags.raise_if_errors()
    usage = []
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in TRAINER_KEYS + DATASET_KEYS:
            raise TypeError(f"train() got an unexpected keyword argument '{name}'")
        problem = check(name, value)
        if problem:
            usage.append(Diagnostic(Loc(where), f"--{name.replace('_', '-')}", problem))
        else:
            reader.values[name] = normalised(name, value)
    if usage:
        raise TrainUsageError(usage)
    warnings = [str(d) for d in reader.diags.items if d.severity == "warning"]
    return Recipe(**reader.values), warnings


__all__ = ["make_recipe"]

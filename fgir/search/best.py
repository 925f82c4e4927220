"""best.yaml: the best candidate of a search as a complete spec, and the candidate's test figures.

The spec records what the search compiled and trained on, so that ``fgir
compile`` and ``fgir train`` of best.yaml see the same: ``input:`` (the
search's ``--input``) and, with the train evaluator, ``dataset:``.

Example:
    >>> from fgir.search import run_search
    >>> result = run_search("examples/backbone_nas.yaml", budget=2)
    >>> best_spec_text(result.space, result.best, result.config).splitlines()[0]
    '# The best candidate of `fgir search examples/backbone_nas.yaml` by params:max, macs:min:'
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from fgir.search.config import SearchConfig
from fgir.search.space import Space

Row = dict[str, Any]


def candidate_seed(seed: int, key: str) -> int:
    """A candidate's own seed (weights, data order): the same wherever and whenever it is evaluated."""
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16)


def test_metrics(space: Space, row: Row, config: SearchConfig, scorer: Any) -> dict[str, Any] | None:
    """The best candidate on the evaluator's test split, which no candidate was selected by (trained as
    long as the row was: an early-stopping search's best trained ``row['epochs']``)."""
    import copy

    import fgir

    measure = getattr(scorer, "test_metrics", None)
    if measure is None:
        return None
    if row.get("epochs") is not None and getattr(scorer, "epochs", None) != row["epochs"]:
        scorer = copy.copy(scorer)
        scorer.epochs = row["epochs"]
        measure = scorer.test_metrics
    graph = fgir.compile(fgir.loads(space.freeze(row["values"]), space.file), input=config.input)
    return measure(graph, seed=candidate_seed(config.seed, row["hash"]))


def best_spec_text(space: Space, row: Row, config: SearchConfig, outdir: Path | None = None,
                   test: dict[str, Any] | None = None) -> str:
    """best.yaml: the best candidate as a complete spec, with a header saying where it came from."""
    objectives = ", ".join(str(o) for o in config.objectives)
    trained = f", trained {row['epochs']} epochs" if row.get("epochs") is not None else ""
    header = [f"# The best candidate of `fgir search {space.file}` by {objectives}:",
              f"# #{row['index']} (hash {row['hash']}), params {row.get('params')}, "
              f"MACs {row.get('macs')}, metrics {json.dumps(row.get('metrics', {}))}{trained}",
              *(f"#   {key}: {json.dumps(value)}" for key, value in _values(space, row)),
              *([f"# on the test split (never used to select): {json.dumps(test)}"] if test else []),
              "# hyper_parameters and search_algorithm are left out: this spec is one network."]
    return "\n".join(header) + "\n" + _with_records(space.freeze(row["values"]), config, outdir)


def _with_records(text: str, config: SearchConfig, outdir: Path | None) -> str:
    """The frozen spec with ``input:`` and ``dataset:`` as the search used them (unchanged when neither)."""
    import os

    import yaml

    from fgir.spec.tree import dump_spec

    data = {}
    if config.evaluator == "train":
        given = {k: config.evaluator_options.get(k) for k in ("data", "val", "test")}
        given["data"] = given["data"] or "digits"
        where = Path(outdir or ".").resolve()
        data = {k: v if v == "digits" else os.path.relpath(Path(v).resolve(), where)
                for k, v in given.items() if v is not None}
    if config.input is None and not data:
        return text
    tree = yaml.safe_load(text)
    if "search_space" not in tree:
        tree = {"search_space": tree}
    if config.input is not None:
        tree = {"input": str(config.input), **{k: v for k, v in tree.items() if k != "input"}}
    if data:
        section = tree.get("dataset") if isinstance(tree.get("dataset"), dict) else {}
        tree["dataset"] = {**{k: v for k, v in section.items() if k not in ("data", "data_path")}, **data}
    return dump_spec(tree)


def _values(space: Space, row: Row) -> Iterable[tuple[str, Any]]:
    return space.resolve(row["values"]).items()


__all__ = ["best_spec_text", "candidate_seed", "test_metrics"]

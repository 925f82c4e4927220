"""Search over a spec's ``hyper_parameters``: one space definition serves many algorithms.

Layers, each knowing only the one below: :mod:`.hyper` reads the
hyper_parameters into typed dimensions (:mod:`.domains`, resolved against block
signatures by :mod:`.targets`); :class:`Space` samples, mutates, crosses over and
freezes them into concrete specs; :mod:`.algorithms` propose candidates (fgir's
own, and Optuna's samplers through ask/tell); :mod:`.evaluators` compile them
through the public API and score them (static metrics, latency, training);
:mod:`.executors` run them (local processes, Ray tasks); :mod:`.runner` drives
it all, :mod:`.budget` when a scheduler stops training early, and :mod:`.store`
keeps the results; :mod:`.page` draws the report.  Nothing here imports torch,
except the train evaluator when it trains.

Example:
    >>> from fgir.search import run_search
    >>> result = run_search("examples/backbone_nas.yaml", algorithm="BackboneNasSearch", budget=8)
    >>> len(result.rows), result.best["status"]
    (8, 'ok')
"""

from fgir.search.algorithms import ALGORITHMS, SearchAlgorithm, register_algorithm
from fgir.search.config import SearchConfig, SearchUsageError, make_config
from fgir.search.evaluators import EVALUATORS, TrainEvaluator, static_metrics
from fgir.search.runner import SearchResult, run_search
from fgir.search.space import Sample, Space
from fgir.search.space_report import SpaceReport, space_report

__all__ = ["ALGORITHMS", "EVALUATORS", "Sample", "SearchAlgorithm", "SearchConfig", "SearchResult",
           "SearchUsageError", "Space", "SpaceReport", "TrainEvaluator", "make_config", "register_algorithm",
           "run_search", "space_report", "static_metrics"]

"""Search algorithms: a registry of ask/tell strategies over a :class:`~fgir.search.space.Space`.

``RandomSearch``, ``GridSearch``, ``BackboneNasSearch`` (the guide's EA over codes),
``NSGA2Search`` (multi-objective evolution), ``RegularizedEvolution`` (aging
evolution), and Optuna's samplers ``TPESearch`` and ``OptunaNSGA2Search`` (with
``optuna`` installed).  Register your own with :func:`register_algorithm`; see
:mod:`fgir.search.algorithms.base`.
"""

from fgir.search.algorithms.base import Proposal, SearchAlgorithm
from fgir.search.algorithms.registry import ALGORITHMS, algorithm_options, register_algorithm
from fgir.search.algorithms.simple import GridSearch, RandomSearch
from fgir.search.algorithms.backbone_nas import BackboneNasSearch
from fgir.search.algorithms.nsga2 import NSGA2Search
from fgir.search.algorithms.evolution import RegularizedEvolution
from fgir.search.algorithms.optuna_samplers import OptunaNSGA2Search, TPESearch

__all__ = ["ALGORITHMS", "BackboneNasSearch", "GridSearch", "NSGA2Search", "OptunaNSGA2Search", "Proposal",
           "RandomSearch", "RegularizedEvolution", "SearchAlgorithm", "TPESearch", "algorithm_options",
           "register_algorithm"]

"""Search algorithms: a registry of ask/tell strategies over a :class:`~fgir.search.space.Space`.

``RandomSearch``, ``GridSearch``, ``BackboneNasSearch`` (the guide's EA over codes)
and ``NSGA2Search`` (multi-objective evolution).  Register your own with
:func:`register_algorithm`; see :mod:`fgir.search.algorithms.base`.
"""

from fgir.search.algorithms.base import Proposal, SearchAlgorithm
from fgir.search.algorithms.registry import ALGORITHMS, algorithm_options, register_algorithm
from fgir.search.algorithms.simple import GridSearch, RandomSearch
from fgir.search.algorithms.backbone_nas import BackboneNasSearch
from fgir.search.algorithms.nsga2 import NSGA2Search

__all__ = ["ALGORITHMS", "BackboneNasSearch", "GridSearch", "NSGA2Search", "Proposal", "RandomSearch",
           "SearchAlgorithm", "algorithm_options", "register_algorithm"]

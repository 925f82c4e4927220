"""Early stopping across budgets: schedulers (:mod:`.schedulers`) and the search loop they drive (:mod:`.loop`).

Example:
    >>> sorted(SCHEDULERS)
    ['ASHA', 'Hyperband', 'SuccessiveHalving']
"""

from fgir.search.budget.schedulers import (ASHA, SCHEDULERS, Hyperband, Scheduler, SuccessiveHalving, Trial,
                                           register_scheduler, rung_epochs)

__all__ = ["ASHA", "Hyperband", "SCHEDULERS", "Scheduler", "SuccessiveHalving", "Trial", "register_scheduler",
           "rung_epochs"]

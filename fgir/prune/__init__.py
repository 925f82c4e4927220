"""Choosing the channels to prune: importance criteria over channel groups → masks.

A tool over the IR and trained weights (NumPy; torch only to read and write
checkpoints).  :mod:`.subject` reads the spec (its dense network, its channel
groups, what a Prune process kept before); :mod:`.weights` reads and checks the
weights; :mod:`.importance` scores every channel (l1, l2, bn_scale, random, as
Torch-Pruning 1.6 does); :mod:`.select` keeps channels by ratio, per group or
across groups; :mod:`.budget` prunes to a parameter or MACs target, exactly, by
fgir's static counts; :mod:`.output` writes the pruned spec.

Example:
    >>> import fgir
    >>> dense = fgir.to_torch("examples/resnet20_cifar.yaml", seed=0)
    >>> result = prune("examples/resnet20_cifar.yaml", dense, target_macs=20_000_000)
    >>> result.macs <= 20_000_000, sorted(result.masks)[:2]
    (True, ['conv1', 'layer1.0.conv1'])
"""

from fgir.ir.pruning import CRITERIA, kept_count, ratio_problem
from fgir.api import set_channel_chooser
from fgir.prune.api import PruneOptionError, PruneResult, choose_channels, prune

set_channel_chooser(choose_channels)   # fgir.to_torch asks it for a spec whose Prune gives ratios

__all__ = ["CRITERIA", "PruneOptionError", "PruneResult", "choose_channels", "kept_count",
           "prune", "ratio_problem"]

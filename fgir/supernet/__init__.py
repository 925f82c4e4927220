"""One-shot NAS: a search space compiled into one weight-sharing supernet (:mod:`.ir`, torch-free), the
torch supernet (:mod:`.torch_module`), its checkpoints and extraction (:mod:`.checkpoint`), and sandwich
training (:mod:`.train`).  torch is imported only by what needs it.

Example:
    >>> from fgir.supernet import build_supernet
    >>> build_supernet("examples/search/supernet_mobilenet.yaml").points["stage3.activation"].kind
    'op'
"""

from fgir.supernet import evaluator  # noqa: F401  (registers the "supernet" evaluator of fgir search)
from fgir.supernet.ir import ElasticPoint, Supernet, build_supernet

__all__ = ["ElasticPoint", "Supernet", "SupernetModule", "build_supernet", "extract", "load_supernet",
           "save_supernet", "train_supernet"]


def __getattr__(name: str):
    if name == "SupernetModule":
        from fgir.supernet.torch_module import SupernetModule

        return SupernetModule
    if name in ("extract", "load_supernet", "save_supernet"):
        from fgir.supernet import checkpoint

        return getattr(checkpoint, name)
    if name == "train_supernet":
        from fgir.supernet.train import train_supernet

        return train_supernet
    raise AttributeError(f"module 'fgir.supernet' has no attribute '{name}'")

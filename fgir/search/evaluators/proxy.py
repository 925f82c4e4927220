"""The proxy evaluator: a zero-cost score of an untrained candidate, from one minibatch of digits.

``proxy`` picks the score (reported as the metric of that name, higher is
better in the papers' sense; how well each ranks trained accuracy is measured,
not assumed: ``bench/bench_search.py --part proxies``):

* ``synflow`` (Tanaka et al. 2020): every weight made positive, the input a
  tensor of ones, in float64, eval mode; the sum over parameters of
  ``|θ · ∂R/∂θ|`` where ``R`` is the sum of the outputs.  No data at all.
* ``naswot`` (Mellor et al. 2021): the binary pattern of each input's
  rectifier units over one minibatch; ``K[i, j]`` counts the units on which
  inputs ``i`` and ``j`` agree; the score is ``log |det K|``.
* ``grad_norm`` (Abdelfattah et al. 2021): the cross-entropy of one minibatch,
  backpropagated once, train mode; the sum over weight tensors of the norm of
  their gradient.

The minibatch is the first ``batch_size`` training images of the digits as
``fgir train --data digits`` prepares them; the weights are the candidate's
initialisation from its seed.  torch is imported when a score is computed.

Example:
    >>> import fgir
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml", input="3x8x8")
    >>> ProxyEvaluator("synflow")(graph, seed=0)["synflow"] > 0
    True
"""

from __future__ import annotations

import math
from typing import Any

from fgir.diagnostics import Diagnostic, Loc, did_you_mean
from fgir.search.reporter import SearchUsageError

PROXIES = ("synflow", "naswot", "grad_norm")
RECTIFIERS = ("ReLU", "ReLU6", "LeakyReLU", "Hardswish", "GELU", "SiLU", "ELU", "Mish", "Hardtanh")


def synflow(model: Any, shape: tuple[int, ...]) -> float:
    """Σ |θ · ∂R/∂θ| with every θ made positive and an all-ones input (float64, eval mode); θ kept."""
    import torch

    model = model.double().eval()
    signs = {}
    with torch.no_grad():
        for name, p in model.state_dict().items():
            signs[name] = torch.sign(p)
            p.abs_()
    model.zero_grad()
    torch.sum(model(torch.ones((1, *shape), dtype=torch.float64))).backward()
    score = sum(float((p.detach() * p.grad).abs().sum()) for p in model.parameters() if p.grad is not None)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            p.mul_(signs[name])
    return score


def naswot(model: Any, x: Any) -> float:
    """log |det K| of the rectifiers' binary codes over the minibatch ``x`` (Mellor et al.)."""
    import torch

    from fgir.backends.torch.hooks import run_hooked

    codes: list[Any] = []

    def hook(_module: Any, _inputs: Any, output: Any) -> None:
        codes.append((output.detach().flatten(1) > 0).double())

    run_hooked(model, [(m, hook) for m in model.modules() if type(m).__name__ in RECTIFIERS], x)
    if not codes:
        return float("nan")
    c = torch.cat(codes, dim=1)
    k = c @ c.t() + (1 - c) @ (1 - c).t()
    return float(torch.linalg.slogdet(k)[1])


def grad_norm(model: Any, x: Any, y: Any) -> float:
    """Σ over weight tensors of ‖∂L/∂W‖ for one minibatch's cross-entropy (train mode)."""
    import torch

    model.train().zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    return sum(float(p.grad.norm()) for p in model.parameters() if p.grad is not None and p.dim() > 1)


class ProxyEvaluator:
    """Scores an untrained candidate by one zero-cost proxy; see the module docstring."""

    name = "proxy"
    metrics = PROXIES

    def __init__(self, proxy: str = "synflow", batch_size: int = 64, threads: int = 1) -> None:
        if proxy not in PROXIES:
            raise SearchUsageError(Diagnostic(Loc("<evaluator>"), "evaluator.proxy", f"unknown proxy {proxy!r}",
                                              hint=did_you_mean(str(proxy), PROXIES) or
                                              f"proxies: {', '.join(PROXIES)}"))
        self.proxy, self.batch_size, self.threads = proxy, batch_size, threads

    def options(self) -> dict[str, Any]:
        return {"proxy": self.proxy, "batch_size": self.batch_size, "threads": self.threads}

    def __call__(self, graph: Any, seed: int = 0) -> dict[str, float]:
        import torch

        import fgir
        from fgir.data.digits import digits_tensors

        torch.set_num_threads(self.threads)
        dims = tuple(graph.meta["input"])
        model = fgir.to_torch(graph, seed=seed)
        if self.proxy == "synflow":
            score = synflow(model, dims)
        else:
            x, y, _, _ = digits_tensors(*dims, self.batch_size)
            score = naswot(model, x) if self.proxy == "naswot" else grad_norm(model, x, y)
        return {self.proxy: round(score, 6) if math.isfinite(score) else score}


__all__ = ["PROXIES", "ProxyEvaluator", "grad_norm", "naswot", "synflow"]

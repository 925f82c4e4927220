"""fgir's typed dimensions as Optuna distributions, and back: what lets Optuna's samplers search a Space.

* ``choice(...)`` → a categorical over the candidates' positions (candidates may be lists);
* ``range(low, high, step=s)`` → ``IntDistribution(low, high, step=s)``;
* ``uniform(low, high)`` → ``FloatDistribution(low, high)``;
* ``code(n)`` (a free count of ones) → ``n`` categorical bits;
* ``code(n, ones=k)`` → a categorical over its C(n, k) codes when there are at most
  ``MAX_CATEGORIES``, else ``n`` "random keys" in [0, 1] whose ``k`` largest are the
  ones (every point decodes to a valid code, so nothing is wasted on invalid ones).

:meth:`OptunaSpace.encode` is the inverse (the spec's initial values, enqueued
so that Optuna knows the first candidate).

Example:
    >>> from fgir.search.space import Space
    >>> codec = OptunaSpace(Space.from_spec("examples/backbone_nas.yaml"))
    >>> sorted(codec.distributions), type(codec.distributions["layer.downsample"]).__name__
    (['layer.doublechannel', 'layer.downsample'], 'CategoricalDistribution')
    >>> values = {"layer.doublechannel": [0, 1, 1, 0, 1, 0, 0, 1], "layer.downsample": [1, 1, 0, 1, 0, 0, 0, 1]}
    >>> codec.decode(codec.encode(values)) == values
    True
"""

from __future__ import annotations

import math
from typing import Any

from fgir.search.domains import Choice, Code, Domain, IntRange, Uniform

MAX_CATEGORIES = 1000


class OptunaSpace:
    """The distributions of a Space's dimensions, with the sample ⇄ params conversions."""

    def __init__(self, space: Any) -> None:
        self.space = space
        self.distributions: dict[str, Any] = {}
        self._grids: dict[str, list] = {}
        for dim in space.dimensions:
            self.distributions.update(self._of(dim.key, dim.domain))

    def _of(self, key: str, domain: Domain) -> dict[str, Any]:
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if isinstance(domain, Choice):
            return {key: CategoricalDistribution(list(range(len(domain.options))))}
        if isinstance(domain, IntRange):
            return {key: IntDistribution(domain.low, domain.high, step=domain.step)}
        if isinstance(domain, Uniform):
            return {key: FloatDistribution(domain.low, domain.high)}
        if isinstance(domain, Code):
            if domain.ones is None:
                return {f"{key}[{i}]": CategoricalDistribution([0, 1]) for i in range(domain.length)}
            if math.comb(domain.length, domain.ones) <= MAX_CATEGORIES:
                self._grids[key] = list(domain.grid())
                return {key: CategoricalDistribution(list(range(len(self._grids[key]))))}
            return {f"{key}[{i}]": FloatDistribution(0.0, 1.0) for i in range(domain.length)}
        raise TypeError(f"no Optuna distribution for {domain!r}")

    def decode(self, params: dict[str, Any]) -> dict[str, Any]:
        """The sample Optuna's ``params`` stand for."""
        out: dict[str, Any] = {}
        for dim in self.space.dimensions:
            key, domain = dim.key, dim.domain
            if isinstance(domain, Choice):
                out[key] = domain.options[params[key]]
            elif isinstance(domain, Code) and key in self._grids:
                out[key] = list(self._grids[key][params[key]])
            elif isinstance(domain, Code):
                bits = [params[f"{key}[{i}]"] for i in range(domain.length)]
                if domain.ones is None:
                    out[key] = [int(b) for b in bits]
                else:
                    top = sorted(range(domain.length), key=lambda i: (-bits[i], i))[: domain.ones]
                    out[key] = [1 if i in top else 0 for i in range(domain.length)]
            else:
                out[key] = params[key]
        return out

    def encode(self, sample: dict[str, Any]) -> dict[str, Any]:
        """Optuna's params for a sample of the space (the inverse of :meth:`decode`)."""
        params: dict[str, Any] = {}
        for dim in self.space.dimensions:
            key, domain, value = dim.key, dim.domain, sample[dim.key]
            if isinstance(domain, Choice):
                params[key] = next(i for i, o in enumerate(domain.options) if o == value and type(o) is type(value))
            elif isinstance(domain, Code) and key in self._grids:
                params[key] = self._grids[key].index(list(value))
            elif isinstance(domain, Code):
                for i, bit in enumerate(value):
                    params[f"{key}[{i}]"] = bit if domain.ones is None else (0.75 if bit else 0.25)
            else:
                params[key] = value
        return params


__all__ = ["MAX_CATEGORIES", "OptunaSpace"]

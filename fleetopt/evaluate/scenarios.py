"""Seeded scenarios: quarterly paths of the risk factors around the model's forecast.

Scenario ``i`` depends only on ``(seed, i)``: every random number is a counter-based hash of
(seed, scenario, stream, quarter) (:mod:`fleetopt.evaluate.factors`), so the same scenarios come
out for any chunking, backend, worker count or order. Paths are generated with NumPy on the CPU
and copied to the device.

Each factor is neutral (1 for multipliers, 0 for shifts, no defaults, no delays) when its
`risk` setting is zero, so a model without a `risk` block evaluates to its forecast.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.evaluate.factors import FACTOR_NAMES, FACTORS


class ScenarioSet:
    """Risk-factor paths for a block of scenarios (leading axis = scenario).

    ``index``: (S,) scenario numbers; one array per factor of :data:`~fleetopt.evaluate.factors.FACTORS`,
    (S, *shape), in :attr:`factors` and as an attribute of the same name (``scen.demand``).
    """

    def __init__(self, index: np.ndarray, **factors: np.ndarray):
        if set(factors) != set(FACTOR_NAMES):
            raise TypeError(f"a ScenarioSet holds the factors {list(FACTOR_NAMES)}, got {sorted(factors)}")
        self.index = index
        self.factors: dict[str, np.ndarray] = {name: factors[name] for name in FACTOR_NAMES}

    def __getattr__(self, name: str) -> Any:
        factors = self.__dict__.get("factors", {})  # absent while unpickling
        if name in factors:
            return factors[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def S(self) -> int:
        return len(self.index)

    @classmethod
    def concatenate(cls, parts: list[ScenarioSet]) -> ScenarioSet:
        """The scenarios of ``parts``, one after the other."""
        return cls(**{name: np.concatenate([p.arrays()[name] for p in parts]) for name in parts[0].arrays()})

    def rows(self, rows: slice) -> ScenarioSet:
        """The scenarios at ``rows`` (views, no copy)."""
        return ScenarioSet(**{name: values[rows] for name, values in self.arrays().items()})

    def arrays(self) -> dict[str, np.ndarray]:
        """``index`` and every factor, by name."""
        return {"index": self.index, **self.factors}


def deterministic_scenarios(data: ModelData, n: int = 1) -> ScenarioSet:
    """``n`` copies of the forecast itself: every factor neutral."""
    return ScenarioSet(np.arange(n), **{f.name: f.neutral_paths(data, n) for f in FACTORS})


# The last model's forecast as one deterministic scenario: (model fingerprint, ScenarioSet)
_FORECAST: list = []


def forecast_scenario(data: ModelData) -> ScenarioSet:
    """The forecast as one scenario (:func:`deterministic_scenarios`), made once per model."""
    if not _FORECAST or _FORECAST[0][0] != data.fingerprint:
        _FORECAST[:] = [(data.fingerprint, deterministic_scenarios(data, 1))]
    return _FORECAST[0][1]


def generate_scenarios(data: ModelData, seed: int, start: int, stop: int) -> ScenarioSet:
    """Scenarios ``start .. stop - 1`` of the set defined by ``seed`` and the model's `risk` block."""
    idx = np.arange(start, stop, dtype=np.int64)
    return ScenarioSet(idx, **{f.name: f.draw(data, seed, idx) for f in FACTORS})

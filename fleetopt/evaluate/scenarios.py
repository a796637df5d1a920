"""Seeded scenarios: quarterly paths of the risk factors around the model's forecast.

Scenario ``i`` depends only on ``(seed, i)``: every random number is a counter-based hash of
(seed, scenario, stream, quarter), so the same scenarios come out for any chunking, backend,
worker count or order. Paths are generated with NumPy on the CPU and copied to the device.

Each factor is neutral (1 for multipliers, 0 for shifts, no defaults, no delays) when its
`risk` setting is zero, so a model without a `risk` block evaluates to its forecast.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from fleetopt.core.data import ModelData

_DT = 0.25  # years per quarter


class Stream:
    """Independent random streams (times 1000 plus a sub-index: generation, customer, site)."""

    PRICE = 1
    DEMAND = 2
    SHOCK_ARRIVAL = 3
    SHOCK_SIZE = 4
    GENERATION_STEP = 5
    CUSTOMER = 6
    DELAY_LATE = 7
    DELAY_SIZE = 8
    RATE = 9
    ELECTRICITY = 10
    RESALE = 11


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        # uint64 arithmetic wraps modulo 2**64, as splitmix64 wants
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def uniforms(seed: int, scenarios: np.ndarray, stream: int, n: int) -> np.ndarray:
    """(len(scenarios), n) uniforms in [0, 1), a pure function of (seed, scenario, stream, column)."""
    s = scenarios.astype(np.uint64)[:, None]
    j = np.arange(n, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        key = _splitmix64(np.full(1, seed, dtype=np.uint64) ^ np.uint64(0x5851F42D4C957F2D))
        x = _splitmix64(key ^ _splitmix64(s * np.uint64(0x100000001B3) ^ np.uint64(stream)))
        x = _splitmix64(x ^ (j * np.uint64(0xD6E8FEB86659FD93)))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def normals(seed: int, scenarios: np.ndarray, stream: int, n: int) -> np.ndarray:
    """(len(scenarios), n) standard normals (Box-Muller on two counter-based uniform streams)."""
    u1 = uniforms(seed, scenarios, stream * 2 + 1_000_000, n)
    u2 = uniforms(seed, scenarios, stream * 2 + 1_000_001, n)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def _lognormal_walk(seed, idx, stream, T, vol) -> np.ndarray:
    """Mean-one multiplicative random walk starting at 1 in quarter 0."""
    if vol == 0:
        return np.ones((len(idx), T))
    z = normals(seed, idx, stream, T)
    z[:, 0] = 0.0
    steps = vol * np.sqrt(_DT) * z - 0.5 * vol * vol * _DT
    steps[:, 0] = 0.0
    return np.exp(np.cumsum(steps, axis=1))


@dataclass
class ScenarioSet:
    """Risk-factor paths for a block of scenarios (leading axis = scenario)."""

    index: np.ndarray  # (S,) scenario numbers
    price_factor: np.ndarray  # (S, G, T) multiplier on market prices by generation
    demand: np.ndarray  # (S, 2, T) realised market demand, H100-equivalent GPUs
    contract_alive: np.ndarray  # (S, K, T) bool: True while the contract's customer has not defaulted
    delay: np.ndarray  # (S, I, T) extra quarters for a power block started at site i in quarter tau
    rate_shift: np.ndarray  # (S, T) change of the floating reference rate, annual
    electricity_factor: np.ndarray  # (S, T) multiplier on electricity prices
    resale_factor: np.ndarray  # (S, T) multiplier on GPU resale values

    @property
    def S(self) -> int:
        return len(self.index)

    @classmethod
    def concatenate(cls, parts: list[ScenarioSet]) -> ScenarioSet:
        """The scenarios of ``parts``, one after the other."""
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    def rows(self, rows: slice) -> ScenarioSet:
        """The scenarios at ``rows`` (views, no copy)."""
        return ScenarioSet(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def deterministic_scenarios(data: ModelData, n: int = 1) -> ScenarioSet:
    """``n`` copies of the forecast itself: every factor neutral."""
    T, K, I = data.T, len(data.contracts), data.I
    return ScenarioSet(
        index=np.arange(n),
        price_factor=np.ones((n, 3, T)),
        demand=np.broadcast_to(data.demand, (n, 2, T)).copy(),
        contract_alive=np.ones((n, K, T), dtype=bool),
        delay=np.zeros((n, I, T), dtype=np.int32),
        rate_shift=np.zeros((n, T)),
        electricity_factor=np.ones((n, T)),
        resale_factor=np.ones((n, T)),
    )


def generate_scenarios(data: ModelData, seed: int, start: int, stop: int) -> ScenarioSet:
    """Scenarios ``start .. stop - 1`` of the set defined by ``seed`` and the model's `risk` block."""
    risk = data.model.risk
    T, I = data.T, data.I
    idx = np.arange(start, stop, dtype=np.int64)
    n = len(idx)

    base = _lognormal_walk(seed, idx, Stream.PRICE * 1000, T, risk.price_volatility_annual)
    price = np.repeat(base[:, None, :], 3, axis=1)
    if risk.self_competition is not None and risk.self_competition.probability_per_quarter > 0:
        shock = risk.self_competition
        arrive = uniforms(seed, idx, Stream.SHOCK_ARRIVAL * 1000, T) < shock.probability_per_quarter
        arrive[:, 0] = False  # today's price is known
        first = np.where(arrive.any(axis=1), arrive.argmax(axis=1), T)
        size = (
            shock.price_drop_min
            + (shock.price_drop_max - shock.price_drop_min)
            * uniforms(seed, idx, Stream.SHOCK_SIZE * 1000, 1)[:, 0]
        )
        after = np.arange(T)[None, :] >= first[:, None]
        price *= np.where(after, 1.0 - size[:, None], 1.0)[:, None, :]
    if risk.new_generation_price_step > 0:
        for g in range(2):
            release = _first_release_after(data, g)
            if release is None:
                continue
            # the newer generation ships up to a quarter early or two late
            shift = (
                np.floor(uniforms(seed, idx, Stream.GENERATION_STEP * 1000 + g, 1)[:, 0] * 4).astype(int) - 1
            )
            when = np.clip(release + shift, 1, T)
            after = np.arange(T)[None, :] >= when[:, None]
            price[:, g, :] *= np.where(after, 1.0 - risk.new_generation_price_step, 1.0)

    demand = np.stack(
        [
            data.demand[u][None, :]
            * _lognormal_walk(seed, idx, Stream.DEMAND * 1000 + u, T, risk.demand_volatility_annual)
            for u in (0, 1)
        ],
        axis=1,
    )

    customers = sorted({c.customer for c in data.contracts})
    alive_of = {}  # customer -> (n, T) True until its default, False from then on (permanent)
    for j, name in enumerate(customers):
        hazard = risk.customer_hazard_overrides.get(name, risk.customer_default_hazard_per_quarter)
        if hazard <= 0:
            alive_of[name] = np.ones((n, T), dtype=bool)
            continue
        hit = uniforms(seed, idx, Stream.CUSTOMER * 1000 + j, T) < hazard
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), T)
        alive_of[name] = np.arange(T)[None, :] < first[:, None]
    alive = (
        np.stack([alive_of[con.customer] for con in data.contracts], axis=1)
        if data.contracts
        else np.ones((n, 0, T), dtype=bool)
    )

    delay = np.zeros((n, I, T), dtype=np.int32)
    if (
        risk.power_delay is not None
        and risk.power_delay.probability > 0
        and risk.power_delay.max_extra_quarters > 0
    ):
        pd = risk.power_delay
        for i in range(I):
            late = uniforms(seed, idx, Stream.DELAY_LATE * 1000 + i, T) < pd.probability
            extra = 1 + np.floor(uniforms(seed, idx, Stream.DELAY_SIZE * 1000 + i, T) * pd.max_extra_quarters)
            delay[:, i, :] = np.where(late, extra, 0).astype(np.int32)

    rate_shift = np.zeros((n, T))
    if risk.reference_rate_volatility_annual > 0:
        z = normals(seed, idx, Stream.RATE * 1000, T)
        z[:, 0] = 0.0
        rate_shift = np.cumsum(risk.reference_rate_volatility_annual * np.sqrt(_DT) * z, axis=1)
        # the floating reference rate does not go below zero
        rate_shift = np.maximum(rate_shift, -data.reference_rate_annual[None, :])

    return ScenarioSet(
        index=idx,
        price_factor=price,
        demand=demand,
        contract_alive=alive,
        delay=delay,
        rate_shift=rate_shift,
        electricity_factor=_lognormal_walk(
            seed, idx, Stream.ELECTRICITY * 1000, T, risk.electricity_price_volatility_annual
        ),
        resale_factor=_lognormal_walk(
            seed, idx, Stream.RESALE * 1000, T, risk.resale_value_volatility_annual
        ),
    )


def _first_release_after(data: ModelData, generation: int) -> int | None:
    """Quarter (in the horizon, after the start) a generation newer than ``generation`` first ships."""
    from fleetopt.core.quarters import parse_quarter

    releases = [
        parse_quarter(data.model.skus[name].available_from) - data.model.first_quarter
        for s, name in enumerate(data.sku_names)
        if data.sku_generation[s] > generation
    ]
    future = [r for r in releases if r >= 1]
    if not future or min(releases) < 1:
        return None  # a newer generation already ships: the forecast already prices it in
    return min(future) if min(future) < data.T else None

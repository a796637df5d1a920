"""The risk factors, declared once: shape, dtype, neutral value, random draw and kernel type.

:data:`FACTORS` is the single list the rest of the evaluator is derived from: the arrays of a
:class:`~fleetopt.evaluate.scenarios.ScenarioSet` (and their order), the deterministic copy of
the forecast, scenario generation, the time-major rows of :mod:`fleetopt.evaluate.layout` and
the scenario parameters of the fused kernel (:mod:`fleetopt.evaluate.kernel`). A factor's name
is its name everywhere: ScenarioSet attribute, ScenarioRows attribute and kernel.cu parameter.

Adding a risk factor: declare it here with its draw, apply it in simulate.py and in kernel.cu's
quarter (or, as a delivery slip, to the plans a scenario runs: slip.py, ``kernel=False``), describe
it in docs/evaluation.md and test it.

Every random number is a counter-based hash of (seed, scenario, stream, sub-index, variate,
column), each a separate hash input, so scenario ``i`` depends only on ``(seed, i)`` and no two
streams can coincide, however many customers, sites or quarters a model has. The streams a model's
draws read: :func:`requested_streams` (each a :class:`StreamKey`), recorded by :func:`recorded_streams`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np

from fleetopt.core.data import GENERATIONS, USES, ModelData
from fleetopt.core.quarters import quarters_to_years

_DT = quarters_to_years(1)  # years per quarter


# ---------------------------------------------------------------- counter-based random numbers


class Stream(IntEnum):
    """The independent sources of randomness; each is split further by a sub-index (a
    generation, use, customer or site) passed as a separate hash input."""

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
    CYCLE = 12
    STEP_LATE = 13
    STEP_SIZE = 14
    SLIP_LATE = 15
    SLIP_SIZE = 16
    PRICE_TREND = 17
    RESALE_SHOCK = 18
    SCALE_BACK = 19


class Variate(IntEnum):
    """Which variate of a stream a uniform feeds: a plain uniform, or one of Box-Muller's two inputs."""

    UNIFORM = 0
    NORMAL_RADIUS = 1
    NORMAL_ANGLE = 2


class StreamKey(NamedTuple):
    """One random stream as the hash reads it: its source, sub-index (the generation, use, customer,
    site or contract it is drawn for) and variate (docs/evaluation.md, "Scenarios are reproducible")."""

    source: Stream
    sub_index: int
    variate: Variate

    def uniforms(self, seed: int, scenarios: np.ndarray, n: int) -> np.ndarray:
        """(len(scenarios), n) its uniforms, those the draws read (its first ``n`` quarters)."""
        return _hashed_uniforms(seed, scenarios, self, n)


# the streams requested inside recorded_streams(), by key, with the most columns drawn of each
_recorded: ContextVar[dict[StreamKey, int] | None] = ContextVar("recorded_streams", default=None)


@contextmanager
def recorded_streams() -> Iterator[dict[StreamKey, int]]:
    """Inside, each stream the draws of this thread request, with the most quarters (columns) drawn of
    it: a model's scenarios depend on these alone (tests/test_factor_baselines.py keeps their uniforms'
    digests). Recording changes no value drawn."""
    requested: dict[StreamKey, int] = {}
    token = _recorded.set(requested)
    try:
        yield requested
    finally:
        _recorded.reset(token)


def requested_streams(data: ModelData, seed: int, scenarios: np.ndarray) -> dict[StreamKey, int]:
    """The streams every risk factor of ``data`` draws for ``scenarios``, with the quarters drawn of each."""
    with recorded_streams() as requested:
        for factor in FACTORS:
            factor.draw(data, seed, scenarios)
    return requested


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        # uint64 arithmetic wraps modulo 2**64, as splitmix64 wants
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _hashed_uniforms(seed: int, scenarios: np.ndarray, key: StreamKey, n: int) -> np.ndarray:
    """(len(scenarios), n) uniforms in [0, 1): each part of ``key`` is hashed in as its own input."""
    if (requested := _recorded.get()) is not None:
        named = StreamKey(Stream(key.source), int(key.sub_index), Variate(key.variate))
        requested[named] = max(n, requested.get(named, 0))
    x = _splitmix64(np.full(1, seed, dtype=np.uint64) ^ np.uint64(0x5851F42D4C957F2D))
    with np.errstate(over="ignore"):
        x = _splitmix64(x ^ _splitmix64(scenarios.astype(np.uint64)[:, None] * np.uint64(0x100000001B3)))
        for part in key:
            x = _splitmix64(x ^ _splitmix64(np.full(1, part, dtype=np.uint64)))
        column = np.arange(n, dtype=np.uint64)[None, :]
        x = _splitmix64(x ^ (column * np.uint64(0xD6E8FEB86659FD93)))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def uniforms(seed: int, scenarios: np.ndarray, stream: tuple[Stream, int], n: int) -> np.ndarray:
    """(len(scenarios), n) uniforms in [0, 1), a pure function of (seed, scenario, stream, column).

    ``stream`` is (source, sub-index), e.g. ``(Stream.CUSTOMER, j)`` for customer j.
    """
    source, sub_index = stream
    return _hashed_uniforms(seed, scenarios, StreamKey(source, sub_index, Variate.UNIFORM), n)


def normals(seed: int, scenarios: np.ndarray, stream: tuple[Stream, int], n: int) -> np.ndarray:
    """(len(scenarios), n) standard normals (Box-Muller on two counter-based uniform variates)."""
    source, sub_index = stream
    u1 = _hashed_uniforms(seed, scenarios, StreamKey(source, sub_index, Variate.NORMAL_RADIUS), n)
    u2 = _hashed_uniforms(seed, scenarios, StreamKey(source, sub_index, Variate.NORMAL_ANGLE), n)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def _shocks(seed, idx, stream, T, common: np.ndarray | None = None, loading: float = 0.0) -> np.ndarray:
    """(n, T) standard normal shocks of a walk, 0 in quarter 0 (today is known); with a ``loading``,
    correlated by that much with the ``common`` shocks it loads on (the AI cycle's, or the price
    walks' for resale values): loading x common + sqrt(1 - loading^2) x its own, still unit variance."""
    z = normals(seed, idx, stream, T)
    z[:, 0] = 0.0
    if loading:
        z = loading * common + np.sqrt(1.0 - loading * loading) * z
    return z


def _walk(z: np.ndarray, vol: float) -> np.ndarray:
    """Mean-one multiplicative (lognormal) random walk from 1 in quarter 0, driven by shocks ``z``."""
    steps = vol * np.sqrt(_DT) * z - 0.5 * vol * vol * _DT
    steps[:, 0] = 0.0
    return np.exp(np.cumsum(steps, axis=1))


def _reverting_walk(z: np.ndarray, vol: float, half_life: float) -> np.ndarray:
    """Mean-one multiplicative factor from 1 in quarter 0 whose log x reverts to 0 (the forecast),
    driven by shocks ``z``: x_t = phi x_(t-1) + vol sqrt(dt) z_t, phi = 0.5 ** (1 / ``half_life``
    quarters); the factor is exp(x_t - Var(x_t) / 2). The variance by its recursion, not its closed
    form vol^2 dt (1 - phi^2t) / (1 - phi^2): a half-life so long that phi rounds to 1 gives the walk."""
    x, var = _reverting_log_walk(z, vol, _persistence(half_life))
    return np.exp(x - 0.5 * var)


def _reverting_log_walk(z: np.ndarray, vol: float, phi: float) -> tuple[np.ndarray, np.ndarray]:
    """(n, T) the log x of :func:`_reverting_walk` (persistence ``phi``; 1: the random walk's) and
    (T,) its variance by quarter."""
    x, var = np.zeros_like(z), np.zeros(z.shape[1])
    for t in range(1, z.shape[1]):
        x[:, t] = phi * x[:, t - 1] + vol * np.sqrt(_DT) * z[:, t]
        var[t] = phi * phi * var[t - 1] + vol * vol * _DT
    return x, var


def _persistence(half_life: float) -> float:
    """phi, the share of a reverting walk's log deviation left after a quarter: 0.5 ** (1 / half-life)."""
    return 0.5 ** (1.0 / half_life)


def _lognormal_walk(seed, idx, stream, T, vol, common=None, loading: float = 0.0) -> np.ndarray:
    """Mean-one multiplicative random walk starting at 1 in quarter 0 (its shocks loading on ``common``)."""
    if vol == 0:
        return np.ones((len(idx), T))
    return _walk(_shocks(seed, idx, stream, T, common, loading), vol)


def _cycle(data: ModelData, seed: int, idx: np.ndarray, loading: float) -> np.ndarray | None:
    """(n, T) shocks of the AI cycle (one normal per quarter, 0 in quarter 0), or None where the
    factor asking does not load on it (``loading`` 0): then nothing is drawn or mixed."""
    if not loading:
        return None
    return _shocks(seed, idx, (Stream.CYCLE, 0), data.T)


def _cycle_level(cycle: np.ndarray) -> np.ndarray:
    """(n, T) the cycle's level: a normal random walk from 0, variance t / 4 (years) in quarter t."""
    return np.cumsum(np.sqrt(_DT) * cycle, axis=1)


# ---------------------------------------------------------------- one draw per factor
# Each takes (model, seed, scenario numbers) and returns the factor for those scenarios,
# (n, *shape) in the factor's dtype; each is neutral when its `risk` setting is zero.


def draw_price_factor(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """Market price multiplier by generation: a lognormal walk per generation (correlated across
    generations and with the AI cycle), an uncertain slope common to them (moving with the cycle by
    ``trend_loading``), the self-competition shock and the step down of an older generation when a
    newer one ships, mean one unless ``risk.mean_one`` is off; then the fall after a customer's
    default (``risk.customer_default_price_impact``), a stress on top."""
    risk = data.risk
    price = _price_walks(data, seed, idx)
    for lasting in _lasting_common_price_parts(data, seed, idx):
        price *= lasting[:, None, :]
    if risk.new_generation_price_step > 0:
        for g in range(len(GENERATIONS) - 1):
            step = _generation_step(data, seed, idx, g)
            if step is not None:
                price[:, g, :] *= step
    if (falls := _customer_default_price_impact(data, seed, idx)) is not None:
        price *= falls[:, None, :]
    return price


def _lasting_common_price_parts(data: ModelData, seed: int, idx: np.ndarray) -> list[np.ndarray]:
    """The (n, T) multipliers of every generation's price that do not revert, those the model has:
    the slope's tilt (:func:`_price_trend`) and the self-competition fall (:func:`_self_competition`)."""
    risk, parts = data.risk, []
    if risk.price_trend_volatility_annual > 0:
        parts.append(_price_trend(data, seed, idx))
    if risk.self_competition is not None and risk.self_competition.probability_per_quarter > 0:
        parts.append(_self_competition(data, seed, idx))
    return parts


def _customer_default_price_impact(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray | None:
    """(n, T) multiplier of every market price: the product over the customers of
    ``risk.customer_default_price_impact`` of 1 - its fraction from the quarter it defaults in
    (:func:`customer_default_quarters`, the quarter its contracts end), 1 before; None where no
    customer's default lowers prices. A stress, not renormalised by ``mean_one``: the forecast's
    prices are not an average over these defaults."""
    impact = data.risk.customer_default_price_impact
    if not any(impact.values()):
        return None
    first = customer_default_quarters(data, seed, idx)
    quarters = np.arange(data.T)[None, :]
    multiplier = np.ones((len(idx), data.T))
    for j, name in enumerate(data.customers):
        if impact.get(name):
            multiplier *= np.where(quarters >= first[:, j : j + 1], 1.0 - impact[name], 1.0)
    return multiplier


def _price_walks(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """(n, G, T) price walks: a common walk for every generation (correlation 1), or per generation
    sqrt(rho) x the common shock + sqrt(1 - rho) x its own; each reverting to the forecast with
    ``price_mean_reversion_half_life_quarters``."""
    risk, T, G = data.risk, data.T, len(GENERATIONS)
    vol, rho = risk.price_volatility_annual, risk.price_correlation_across_generations
    if vol == 0:
        return np.ones((len(idx), G, T))
    half_life = risk.price_mean_reversion_half_life_quarters

    def walk(z: np.ndarray) -> np.ndarray:
        return _walk(z, vol) if half_life is None else _reverting_walk(z, vol, half_life)

    common = _common_price_shocks(data, seed, idx)
    if rho == 1.0:
        return np.repeat(walk(common)[:, None, :], G, axis=1)
    own = [_shocks(seed, idx, (Stream.PRICE, 1 + g), T) for g in range(G)]
    return np.stack([walk(np.sqrt(rho) * common + np.sqrt(1.0 - rho) * z) for z in own], axis=1)


def _price_trend(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """(n, T) multiplier tilting every generation's price by an uncertain slope: exp(d_t sigma t -
    (sigma t)^2 / 2), t in years from today, d_t a standard normal per scenario and quarter
    (:func:`_slope_normals`: one draw, moved as the AI cycle moves where ``trend_loading`` ties it),
    sigma ``price_trend_volatility_annual``; mean one in each quarter with the price walks it
    multiplies (:func:`_walk_slope_covariance`), 1 in quarter 0."""
    sigma = data.risk.price_trend_volatility_annual
    tilt = sigma * quarters_to_years(np.arange(data.T))[None, :]
    d = _slope_normals(data, seed, idx)
    return np.exp(d * tilt - 0.5 * tilt * tilt - _walk_slope_covariance(data)[None, :])


def _walk_slope_covariance(data: ModelData) -> np.ndarray:
    """(T,) each quarter's covariance of a generation's log price walk with the slope's log tilt, both
    loading on the AI cycle (``price_loading``, ``trend_loading``): E[walk x tilt] = exp(it), which
    :func:`_price_trend` divides out so the price factor stays mean one (+1.9 % in the default model's
    last quarter at trend_loading 0.4 without it). The walk's log loads vol sqrt(dt) sqrt(rho)
    price_loading phi^(t-s) on the cycle's shock s <= t (phi 1 without reversion), d_t loads
    trend_loading / sqrt(t) on each (:func:`_slope_normals`)."""
    risk, T = data.risk, data.T
    vol = risk.price_volatility_annual
    loadings = data.risk.cycle_loading("price_loading") * data.risk.cycle_loading("trend_loading")
    if not (vol and loadings) or T < 2:
        return np.zeros(T)
    phi = _price_persistence(data)
    weights = np.array([sum(phi**k for k in range(t)) for t in range(T)])  # sum over s = 1..t of phi^(t-s)
    walk = vol * np.sqrt(_DT) * np.sqrt(risk.price_correlation_across_generations) * weights
    slope = risk.price_trend_volatility_annual * quarters_to_years(np.arange(T)) / _level_sd_in_shocks(T)
    return loadings * walk * slope


def _price_persistence(data: ModelData) -> float:
    """phi of the price walks (:func:`_persistence` of their half-life; 1 for the random walk)."""
    half_life = data.risk.price_mean_reversion_half_life_quarters
    return 1.0 if half_life is None else _persistence(half_life)


def _common_price_swing(data: ModelData, seed: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, T) the log price swing every generation shares (the price walks' part on their common
    shock, volatility sqrt(rho) x ``price_volatility_annual``, reverting as they do) and (T,) its
    variance by quarter."""
    risk = data.risk
    vol = risk.price_volatility_annual * np.sqrt(risk.price_correlation_across_generations)
    return _reverting_log_walk(_common_price_shocks(data, seed, idx), vol, _price_persistence(data))


def _slope_normals(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """(n, T) or (n, 1) the slope's standard normal d_t: its own stream's e, the same every quarter, or
    with the AI cycle's ``trend_loading`` l, d_t = l Z_t + sqrt(1 - l^2) e, Z_t the cycle's level in
    quarter t over its standard deviation (its shocks to quarter t summed / sqrt(t)): corr(d_t, Z_t) = l
    in every quarter, d_t still standard normal, and no quarter's d_t reads a later shock of the cycle."""
    own = normals(seed, idx, (Stream.PRICE_TREND, 0), 1)
    loading = data.risk.cycle_loading("trend_loading")
    if not loading or data.T < 2:  # T 1: no quarter after today, no cycle to load on nor slope to tilt
        return own
    cycle = _cycle(data, seed, idx, loading)
    level = np.cumsum(cycle, axis=1) / _level_sd_in_shocks(data.T)[None, :]
    return loading * level + np.sqrt(1.0 - loading * loading) * own


def _level_sd_in_shocks(T: int) -> np.ndarray:
    """(T,) sqrt(t), the standard deviation of the sum of a walk's t unit shocks to quarter t (1 in
    quarter 0, where the sum is 0)."""
    return np.sqrt(np.maximum(1, np.arange(T)))


def _common_price_shocks(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """(n, T) the shock every generation's price walk shares, loaded on the AI cycle by its
    ``price_loading`` (drawn whatever the prices' volatility: resale values may load on it)."""
    loading = data.risk.cycle_loading("price_loading")
    return _shocks(seed, idx, (Stream.PRICE, 0), data.T, _cycle(data, seed, idx, loading), loading)


def _self_competition(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """(n, T) 1 before the shock arrives (at most once, never in quarter 0), 1 - its size from then;
    with ``mean_one``, divided by its mean in each quarter (the forecast expects the shock)."""
    shock, T = data.risk.self_competition, data.T
    p = shock.probability_per_quarter
    arrive = uniforms(seed, idx, (Stream.SHOCK_ARRIVAL, 0), T) < p
    arrive[:, 0] = False  # today's price is known
    first = np.where(arrive.any(axis=1), arrive.argmax(axis=1), T)
    low, high = shock.price_drop_min, shock.price_drop_max
    size = low + (high - low) * uniforms(seed, idx, (Stream.SHOCK_SIZE, 0), 1)[:, 0]
    after = np.arange(T)[None, :] >= first[:, None]
    multiplier = np.where(after, 1.0 - size[:, None], 1.0)
    if not data.risk.mean_one:
        return multiplier
    return multiplier / self_competition_mean(data)


def self_competition_mean(data: ModelData) -> np.ndarray:
    """(T,) the self-competition shock's mean price multiplier in each quarter, 1 - P(arrived by t)
    x its mean drop: with ``mean_one`` a scenario's prices are divided by it, so those of a future the
    shock never reaches are raised by 1 / it."""
    shock = data.risk.self_competition
    p = shock.probability_per_quarter
    arrived_by = 1.0 - (1.0 - p) ** np.arange(data.T)  # P(first arrival <= t), t >= 1
    return 1.0 - arrived_by * 0.5 * (shock.price_drop_min + shock.price_drop_max)


# a newer generation ships up to a quarter early or two late, each with probability 1/4
_RELEASE_SHIFTS = (-1, 0, 1, 2)


def _generation_step(data: ModelData, seed: int, idx: np.ndarray, generation: int) -> np.ndarray | None:
    """(n, T) multiplier of ``generation``'s price around the newer generation's release; None if
    none ships in the horizon. The price steps down by ``new_generation_price_step`` when the newer
    generation ships. With ``mean_one`` the forecast's own price path already has that step at the
    forecast release, so a scenario moves only its timing (a release later than forecast leaves the
    price up for the quarters between), scaled to mean one; without, the step comes on top."""
    release = _first_release_after(data, generation)
    if release is None:
        return None
    T, step = data.T, data.risk.new_generation_price_step
    draw = uniforms(seed, idx, (Stream.GENERATION_STEP, generation), 1)[:, 0]
    shift = np.floor(draw * len(_RELEASE_SHIFTS)).astype(int) + _RELEASE_SHIFTS[0]

    def stepped(shifts: np.ndarray) -> np.ndarray:  # (len(shifts), T) 1 from each release on, else 0
        when = np.clip(release + shifts, 1, T)
        return (np.arange(T)[None, :] >= when[:, None]).astype(int)

    kept = 1.0 - step

    def levels(shifts: np.ndarray) -> np.ndarray:  # (len(shifts), T) the price level after each release
        return np.where(stepped(shifts) == 1, kept, 1.0)

    if not data.risk.mean_one:
        return levels(shift)
    if kept > 0.0:  # divided, not raised to powers: a power's last bit depends on NumPy's build
        forecast = np.where(np.arange(T) >= release, kept, 1.0)
        mean_ratio = (levels(np.array(_RELEASE_SHIFTS)) / forecast).mean(axis=0)
        return levels(shift) / forecast / mean_ratio
    # at a step of 1 a late release's stepped path over the forecast's is 1 / 0: each quarter's ratios
    # are kept ** k, k = -1, 0 or 1, first divided by their largest (the lowest k), the limit of a
    # step below 1's factors (docs/evaluation.md); 0 ** 0 = 1 and 0 ** k = 0, exactly
    forecast = np.arange(T) >= release
    drawn, every = stepped(shift) - forecast, stepped(np.array(_RELEASE_SHIFTS)) - forecast
    lowest = every.min(axis=0)
    return kept ** (drawn - lowest) / (kept ** (every - lowest)).mean(axis=0)


def _first_release_after(data: ModelData, generation: int) -> int | None:
    """Quarter (in the horizon, after the start) a generation newer than ``generation`` first ships."""
    releases = [int(data.sku_release[s]) for s in range(data.S) if data.sku_generation[s] > generation]
    future = [r for r in releases if r >= 1]
    if not future or min(releases) < 1:
        return None  # a newer generation already ships: the forecast already prices it in
    return min(future) if min(future) < data.T else None


def draw_demand(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """Realised market demand by use: the forecast times a lognormal walk per use (mean one),
    correlated with the AI cycle by its demand loading."""
    vol, loading = data.risk.demand_volatility_annual, data.risk.cycle_loading("demand_loading")
    cycle = _cycle(data, seed, idx, loading) if vol else None
    walks = [
        _lognormal_walk(seed, idx, (Stream.DEMAND, u), data.T, vol, cycle, loading) for u in range(len(USES))
    ]
    return np.stack([data.demand[u][None, :] * walk for u, walk in enumerate(walks)], axis=1)


def customer_default_quarters(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """(n, len(data.customers)) the quarter each customer defaults in, ``data.T`` where it does not
    default in the horizon; a default is permanent. A customer defaults in a quarter with its hazard
    (``data.customer_hazard``). Under the AI cycle with ``default_correlation`` rho, it defaults
    when rho x the cycle's shock + sqrt(1 - rho^2) x its own normal shock falls below the normal
    quantile of its hazard: the same probability every quarter, more often in a downturn. A customer of
    ``risk.customer_default_quarter`` defaults by its quarter at the latest: the draws are made as
    without it, so every other customer's defaults are unchanged."""
    T, n = data.T, len(idx)
    first = np.full((n, len(data.customers)), T, dtype=np.int64)
    rho = data.risk.cycle_loading("default_correlation")
    cycle = _cycle(data, seed, idx, rho)
    for j, hazard in enumerate(data.customer_hazard):
        if hazard <= 0:
            continue
        if cycle is None:
            hit = uniforms(seed, idx, (Stream.CUSTOMER, j), T) < hazard
        else:
            own = normals(seed, idx, (Stream.CUSTOMER, j), T)
            latent = rho * cycle + np.sqrt(1.0 - rho * rho) * own
            latent[:, 0] = own[:, 0]  # the cycle has no shock in quarter 0 (today is known)
            hit = latent < (NormalDist().inv_cdf(hazard) if hazard < 1 else np.inf)
        first[:, j] = np.where(hit.any(axis=1), hit.argmax(axis=1), T)
    for name, quarter in data.risk.customer_default_quarter.items():
        j = data.customers.index(name)
        first[:, j] = np.minimum(first[:, j], data.quarter_labels.index(quarter))
    return first


def draw_contract_alive(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """Whether each contract's customer has not defaulted yet (:func:`customer_default_quarters`):
    every contract of a customer ends from the quarter it defaults in."""
    T, n = data.T, len(idx)
    if not data.contracts:
        return np.ones((n, 0, T), dtype=bool)
    column = {name: j for j, name in enumerate(data.customers)}
    first = customer_default_quarters(data, seed, idx)[:, [column[con.customer] for con in data.contracts]]
    return np.arange(T)[None, None, :] < first[:, :, None]


def draw_contract_kept_share(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """(n, K, T) the share of each contract its customer still takes (``risk.contract_scale_back``):
    its ``share_kept`` from its ``from_quarter`` on in the scenarios the cut comes in (quarter 0's
    uniform of its own stream, one per contract, below ``probability``), 1 elsewhere; (n, 0, T)
    without the field, so that nothing is held, read or multiplied then. A default (``contract_alive``)
    ends what is kept."""
    kept = np.ones((len(idx), contracts_cut(data), data.T))
    names = [con.name for con in data.contracts]
    for name, cut in data.risk.contract_scale_back.items():
        k = names.index(name)
        comes = uniforms(seed, idx, (Stream.SCALE_BACK, k), 1)[:, 0] < cut.probability
        start = data.quarter_labels.index(cut.from_quarter)
        kept[:, k, start:] = np.where(comes, cut.share_kept, 1.0)[:, None]
    return kept


def taken_shares(alive: Any, kept: Any | None) -> Any:
    """The share of a contract its customer takes, of arrays of any shape (a scenario's (K, T), the
    simulation's (S,) row of one contract and quarter, NumPy's or CuPy's): 0.0 once it has defaulted
    (``contract_alive``), else the share it keeps (``contract_kept_share``). ``kept`` None or without
    rows (no contract may be cut) multiplies nothing, so that nothing changes."""
    shares = alive.astype(np.float64)
    return shares if kept is None or kept.size == 0 else shares * kept


def draw_delay(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """Extra quarters for a power block started at site i in quarter tau: late with the model's
    probability, by 1..max_extra_quarters."""
    pd, streams = data.risk.power_delay, (Stream.DELAY_LATE, Stream.DELAY_SIZE)
    if pd is None:
        return _late_power(data, seed, idx, streams, 0.0, 0)
    return _late_power(data, seed, idx, streams, pd.probability, pd.max_extra_quarters)


def draw_step_delay(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """Extra quarters for the increase of site i's contracted capacity due in quarter t: late with
    ``contracted_probability``, by 1..``contracted_max_extra_quarters``, from streams of its own."""
    pd, streams = data.risk.power_delay, (Stream.STEP_LATE, Stream.STEP_SIZE)
    if pd is None:
        return _late_power(data, seed, idx, streams, 0.0, 0)
    return _late_power(data, seed, idx, streams, pd.contracted_probability, pd.contracted_max_extra)


def _late_power(data: ModelData, seed: int, idx: np.ndarray, streams: tuple[Stream, Stream],
                probability: float, max_extra: int) -> np.ndarray:  # fmt: skip
    """(n, I, T) quarters late: with ``probability``, by 1..``max_extra`` (uniform)."""
    T = data.T
    delay = np.zeros((len(idx), data.I, T), dtype=np.int32)
    if probability <= 0 or max_extra <= 0:
        return delay
    late_stream, size_stream = streams
    for i in range(data.I):
        late = uniforms(seed, idx, (late_stream, i), T) < probability
        extra = 1 + np.floor(uniforms(seed, idx, (size_stream, i), T) * max_extra)
        delay[:, i, :] = np.where(late, extra, 0).astype(np.int32)
    return delay


def slipping_skus(data: ModelData) -> list[int]:
    """The SKUs ``risk.delivery_slip`` may delay, by index (``ModelData.slipping_skus``: those it names,
    default every SKU, but those on sale from the horizon's first quarter or installed, and those
    first on sale after its last: schema/model.py ``never_slipping``); none without the block."""
    return list(data.slipping_skus)


def draw_delivery_slip(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """(n,) quarters the SKUs of ``risk.delivery_slip`` ship late in each scenario (0: on time): with
    its probability, by min_quarters..max_quarters (uniform), one draw per scenario for every SKU."""
    slip = data.risk.delivery_slip
    if slip is None or slip.probability <= 0 or not slipping_skus(data):
        return np.zeros(len(idx), dtype=np.int32)
    late = uniforms(seed, idx, (Stream.SLIP_LATE, 0), 1)[:, 0] < slip.probability
    span = slip.max_quarters - slip.min_quarters + 1
    size = slip.min_quarters + np.floor(uniforms(seed, idx, (Stream.SLIP_SIZE, 0), 1)[:, 0] * span)
    return np.where(late, size, 0).astype(np.int32)


def draw_rate_shift(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """Change of the floating reference rate (annual): a normal walk from 0, floored so the rate
    does not go below zero."""
    vol = data.risk.reference_rate_volatility_annual
    if vol <= 0:
        return np.zeros((len(idx), data.T))
    z = normals(seed, idx, (Stream.RATE, 0), data.T)
    z[:, 0] = 0.0
    shift = np.cumsum(vol * np.sqrt(_DT) * z, axis=1)
    return np.maximum(shift, -data.reference_rate_annual[None, :])


def draw_spread_shift(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """Change of the credit spread of new borrowing (annual): the AI cycle's level times its spread
    loading (spreads widen in a downturn), floored at minus the smallest spread of the model's
    refinanced bullets so no refinanced spread goes below zero. Zero without a loading or a
    refinanced bullet (nothing it would move)."""
    loading = data.risk.cycle_loading("spread_loading")
    spreads = [f.refinance_spread_annual for f in data.facilities if f.refinanced]
    if not loading or not spreads:
        return np.zeros((len(idx), data.T))
    shift = loading * _cycle_level(_cycle(data, seed, idx, loading))
    return np.maximum(shift, -min(spreads))


def draw_electricity_factor(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """Multiplier on electricity prices: a mean-one lognormal walk."""
    vol = data.risk.electricity_price_volatility_annual
    return _lognormal_walk(seed, idx, (Stream.ELECTRICITY, 0), data.T, vol)


def draw_resale_factor(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """Multiplier on GPU resale values (disposal proceeds, terminal value, the borrowing base's
    collateral): a mean-one lognormal walk, its shocks loading ``resale_price_loading`` on the
    market price walks' common shock; with ``resale_swing_share``, the walk times
    :func:`_resale_price_tie` (which passes the price falls after customers' defaults too); then
    the fall of ``risk.resale_shock`` (:func:`_resale_shock`), a stress on top."""
    vol, loading = data.risk.resale_value_volatility_annual, data.risk.resale_price_loading
    common = _common_price_shocks(data, seed, idx) if vol and loading else None
    walk = _lognormal_walk(seed, idx, (Stream.RESALE, 0), data.T, vol, common, loading)
    if data.risk.resale_swing_share is not None:
        walk = walk * _resale_price_tie(data, seed, idx)
    if data.risk.resale_shock is not None:
        walk = walk * _resale_shock(data, seed, idx)
    return walk


def _resale_shock(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """(n, T) 1 - ``value_drop`` from the shock's quarter on in the scenarios it comes in (quarter 0's
    uniform of its own stream below ``probability``), 1 elsewhere. A stress: not renormalised by
    ``mean_one``, as the forecast's resale curves are not an average over it."""
    shock = data.risk.resale_shock
    start = 0 if shock.from_quarter is None else data.quarter_labels.index(shock.from_quarter)
    comes = uniforms(seed, idx, (Stream.RESALE_SHOCK, 0), 1)[:, 0] < shock.probability
    fallen = comes[:, None] & (np.arange(data.T)[None, :] >= start)
    return np.where(fallen, 1.0 - shock.value_drop, 1.0)


def _resale_price_tie(data: ModelData, seed: int, idx: np.ndarray) -> np.ndarray:
    """(n, T) the part of resale values that follows rental prices, as the rents a used GPU has left
    do: the prices' lasting parts common to every generation in full (:func:`_lasting_common_price_parts`)
    and their common swing x_t (:func:`_common_price_swing`, variance V_t) to the power w =
    ``resale_swing_share``: exp(w x_t - w^2 V_t / 2 + (1 - w) c_t) x the lasting parts. The slope's
    tilt divides out exp(c_t), its covariance with a whole swing (:func:`_walk_slope_covariance`);
    against w of a swing only exp(w c_t) is owed, so the (1 - w) c_t keeps each quarter mean one.
    The falls after customers' defaults last too, so they pass in full: a stress on top, not mean one,
    as in the prices."""
    w = data.risk.resale_swing_share
    swing, variance = _common_price_swing(data, seed, idx)
    covariance = _walk_slope_covariance(data)[None, :]
    tie = np.exp(w * swing - 0.5 * w * w * variance[None, :] + (1.0 - w) * covariance)
    for lasting in _lasting_common_price_parts(data, seed, idx):
        tie *= lasting
    if (falls := _customer_default_price_impact(data, seed, idx)) is not None:
        tie *= falls
    return tie


# ---------------------------------------------------------------- the declarations


def model_dims(data: ModelData) -> dict[str, int]:
    """The sizes a factor's shape is written in: generations G, uses U, contracts K, sites I, quarters T,
    contracts a scale-back may cut K_CUT (:func:`contracts_cut`)."""
    return {"G": len(GENERATIONS), "U": len(USES), "K": len(data.contracts), "I": data.I, "T": data.T,
            "K_CUT": contracts_cut(data)}


def contracts_cut(data: ModelData) -> int:
    """Rows of ``contract_kept_share`` a scenario holds: every contract where ``risk.contract_scale_back``
    may cut one, else none (the factor then costs no memory and the kernel reads nothing)."""
    return len(data.contracts) if data.risk.contract_scale_back else 0


@dataclass(frozen=True)
class RiskFactor:
    """One risk factor of a scenario.

    ``dims``: its shape per scenario in :func:`model_dims` letters, time last; ``neutral``: its
    value on the forecast (a constant, or a function of the model broadcast to the shape);
    ``draw``: its random paths for a block of scenarios; ``c_type``: the element type of its
    kernel parameter (``double`` or ``int``), which may differ from the NumPy ``dtype`` it is
    stored in (contract survival is stored as bool and passed to the kernel as 0.0/1.0);
    ``kernel``: whether the kernel reads it (a delivery slip changes the plans each scenario runs,
    :mod:`fleetopt.evaluate.slip`, before NumPy's simulation or the kernel sees them).
    """

    name: str
    dims: tuple[str, ...]
    dtype: type
    neutral: Any
    draw: Callable[[ModelData, int, np.ndarray], np.ndarray]
    c_type: str = "double"
    kernel: bool = True  # False: applied to the plans before any simulation (NumPy's and the kernel's)

    def shape(self, data: ModelData) -> tuple[int, ...]:
        """Its shape for one scenario of ``data``."""
        sizes = model_dims(data)
        return tuple(sizes[d] for d in self.dims)

    def neutral_paths(self, data: ModelData, n: int) -> np.ndarray:
        """``n`` copies of its value on the forecast, (n, *shape)."""
        value = self.neutral(data) if callable(self.neutral) else self.neutral
        return np.broadcast_to(np.asarray(value, dtype=self.dtype), (n, *self.shape(data))).copy()


FACTORS: tuple[RiskFactor, ...] = (
    # multiplier on market prices by generation
    RiskFactor("price_factor", ("G", "T"), np.float64, 1.0, draw_price_factor),
    # realised market demand by use, H100-equivalent GPUs
    RiskFactor("demand", ("U", "T"), np.float64, lambda data: data.demand, draw_demand),
    # True while the contract's customer has not defaulted
    RiskFactor("contract_alive", ("K", "T"), np.bool_, True, draw_contract_alive),
    # share of each contract its customer still takes (risk.contract_scale_back); no rows without it
    RiskFactor("contract_kept_share", ("K_CUT", "T"), np.float64, 1.0, draw_contract_kept_share),
    # extra quarters for a power block started at site i in quarter tau
    RiskFactor("delay", ("I", "T"), np.int32, 0, draw_delay, c_type="int"),
    # extra quarters for the increase of site i's contracted capacity due in quarter t
    RiskFactor("step_delay", ("I", "T"), np.int32, 0, draw_step_delay, c_type="int"),
    # change of the floating reference rate, annual
    RiskFactor("rate_shift", ("T",), np.float64, 0.0, draw_rate_shift),
    # change of the credit spread of bullets refinanced at maturity, annual
    RiskFactor("spread_shift", ("T",), np.float64, 0.0, draw_spread_shift),
    # multiplier on electricity prices
    RiskFactor("electricity_factor", ("T",), np.float64, 1.0, draw_electricity_factor),
    # multiplier on GPU resale values
    RiskFactor("resale_factor", ("T",), np.float64, 1.0, draw_resale_factor),
    # quarters the SKUs of risk.delivery_slip ship late (one number per scenario)
    RiskFactor("delivery_slip", (), np.int32, 0, draw_delivery_slip, c_type="int", kernel=False),
)
FACTOR_NAMES: tuple[str, ...] = tuple(f.name for f in FACTORS)

"""Quarterly time series as written in a model file.

A series can be written three ways:

* a single number: the same value in every quarter;
* a list with one value per quarter of the horizon;
* a mapping with ``start`` (value in the first quarter), an optional
  ``annual_growth`` (compound, e.g. -0.15 for a 15 %/year decline) and optional
  ``steps`` that reset the level at named quarters (growth continues from there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import numpy as np
from pydantic import AfterValidator, Field

from fleetopt.core.quarters import parse_quarter, quarters_to_years
from fleetopt.schema.base import (
    ELECTRICITY_PRICE_MESSAGE,
    GPU_PRICE_MESSAGE,
    MAX_RATE_ANNUAL,
    MAX_USD_PER_GPU,
    MAX_USD_PER_MWH,
    RATE_LIMIT_MESSAGE,
    Quarter,
    StrictModel,
    at_least,
    at_most,
    check_money,
)


class CompactSeries(StrictModel):
    """A start value, a compound annual growth rate and step changes at named quarters."""

    start: float = Field(allow_inf_nan=False)
    """Value in the first quarter of the horizon."""
    annual_growth: Annotated[
        float,
        Field(allow_inf_nan=False, json_schema_extra={"minimum": -0.99, "maximum": 10.0}),
        AfterValidator(at_least(-0.99, "must be at least -0.99 (a 99 % fall a year): growth is a fraction, "
                                       "-0.12 means 12 % lower each year")),
        AfterValidator(at_most(10.0, "must be at most 10 (1,000 % a year): growth is a fraction, 0.6 means "
                                     "60 % a year")),
    ] = 0.0
    """Compound growth per year (-0.15 = 15 % decline per year), applied quarter by quarter."""
    steps: dict[Quarter, float] = Field(default_factory=dict)
    """New levels from the named quarters on; growth continues from each new level."""


SeriesSpec = float | list[float] | CompactSeries


def _written_numbers(value: SeriesSpec) -> list[tuple[str, float]]:
    """Each number a series writes, with where it is written ('start', 'steps.2027Q1', 'list item 2',
    positions from 0 as `--set` names them; '' for a lone number): a message about one names it (the
    series alone left a user who set one of its steps to find which)."""
    if isinstance(value, CompactSeries):
        return [("start", value.start), *((f"steps.{q}", v) for q, v in value.steps.items())]
    if isinstance(value, list):
        return [(f"list item {i}", v) for i, v in enumerate(value)]
    return [("", value)]


def _refused(where: str, number: float, problem: str) -> ValueError:
    """``problem`` ('must not be negative') of the ``number`` written at ``where`` in a series."""
    return ValueError(f"{where} ({number:g}) {problem}" if where else f"{problem} (got {number:g})")


def _check_non_negative(value: SeriesSpec) -> SeriesSpec:
    for where, number in _written_numbers(value):
        if not np.isfinite(number):
            raise _refused(where, number, "must be a finite number")
        if number < 0:
            raise _refused(where, number, "must not be negative")
    return value


Series = Annotated[SeriesSpec, Field(union_mode="left_to_right")]
"""A quarterly series: a number, a list per quarter, or {start, annual_growth, steps}."""
NonNegativeSeries = Annotated[
    SeriesSpec, Field(union_mode="left_to_right"), AfterValidator(_check_non_negative)
]
"""A quarterly series whose values may not be negative."""


def _each_written(check: Callable[[float], float]) -> AfterValidator:
    """``check`` (an :func:`~fleetopt.schema.base.at_most`) of each number a series writes: its
    start, its steps, each listed value."""

    def check_each(value: SeriesSpec) -> SeriesSpec:
        for where, number in _written_numbers(value):
            try:
                check(number)
            except ValueError as exc:
                raise _refused(where, number, str(exc)) from None
        return value

    return AfterValidator(check_each)


MoneySeries = Annotated[NonNegativeSeries, _each_written(check_money)]
"""A quarterly series of money (USD, or USD per unit): not negative, each value at most 1e15 USD
(grown values too: checked against the horizon by the model's cross-checks)."""


GpuPriceSeries = Annotated[MoneySeries, _each_written(at_most(MAX_USD_PER_GPU, GPU_PRICE_MESSAGE))]
"""A quarterly series of prices per GPU, USD: not negative, each value at most ``MAX_USD_PER_GPU``
(grown values too: checked against the horizon by the model's cross-checks)."""
ElectricityPriceSeries = Annotated[
    MoneySeries, _each_written(at_most(MAX_USD_PER_MWH, ELECTRICITY_PRICE_MESSAGE))
]
"""A quarterly series of electricity prices, USD/MWh: not negative, each value at most
``MAX_USD_PER_MWH`` (grown values too: checked against the horizon by the model's cross-checks)."""


def _check_rate_series(value: SeriesSpec) -> SeriesSpec:
    for where, number in _written_numbers(value):
        if number > MAX_RATE_ANNUAL:
            raise _refused(where, number, RATE_LIMIT_MESSAGE)
    return value


RateSeries = Annotated[NonNegativeSeries, AfterValidator(_check_rate_series)]
"""A quarterly series of annual rates: 0 to ``MAX_RATE_ANNUAL`` in each value (grown values too:
checked against the horizon by the model's cross-checks)."""


def series_length_problem(spec: SeriesSpec, n_quarters: int) -> str | None:
    """Return why ``spec`` does not fit a horizon of ``n_quarters``, or None."""
    if isinstance(spec, list) and len(spec) != n_quarters:
        return f"has {len(spec)} values but the horizon has {n_quarters} quarters"
    return None


def resolve_series(spec: SeriesSpec, first_quarter: int, n_quarters: int) -> np.ndarray:
    """Turn a series spec into a float64 array of one value per horizon quarter."""
    if isinstance(spec, (int, float)):
        return np.full(n_quarters, float(spec), dtype=np.float64)
    if isinstance(spec, list):
        problem = series_length_problem(spec, n_quarters)
        if problem:
            raise ValueError(f"series {problem}")
        return np.asarray(spec, dtype=np.float64)
    steps = {parse_quarter(q) - first_quarter: v for q, v in spec.steps.items()}
    quarterly_growth = (1.0 + spec.annual_growth) ** quarters_to_years(1)
    values = np.empty(n_quarters, dtype=np.float64)
    level = spec.start
    for t in range(n_quarters):
        if t in steps:
            level = steps[t]
        elif t > 0:
            level *= quarterly_growth
        values[t] = level
    return values


def series_quarters(spec: SeriesSpec) -> list[str]:
    """Quarter labels a series names (its steps), for range checks."""
    return list(spec.steps) if isinstance(spec, CompactSeries) else []

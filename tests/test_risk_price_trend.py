"""An uncertain slope of market prices (`risk.price_trend_volatility_annual`, fleetopt/evaluate/factors.py
`_price_trend`, docs/evaluation.md "From the draws to the factors"): one normal d per scenario tilts
every generation's price factor by exp(d sigma t - (sigma t)^2 / 2), t in years from today."""

from __future__ import annotations

import math

import numpy as np
import pytest
from evaluate_builders import tiny_model
from milp_builders import data_of

from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.schema.loading import ModelError

N = 20_000  # scenarios of the statistical test


def trend_only(sigma: float, quarters: int = 9) -> dict:
    """tiny over ``quarters`` quarters whose only risk is the price slope: nothing else moves prices."""
    d = tiny_model()
    d["horizon"]["quarters"] = quarters
    d["risk"] = {"price_trend_volatility_annual": sigma}
    return d


def scenarios(d: dict, seed: int = 5, n: int = 200):
    return generate_scenarios(data_of(d), seed, 0, n)


def test_the_factor_in_quarters_4_and_8_by_hand():
    """sigma 0.05. Quarter 4 is one year from today, quarter 8 two: the factor is exp(0.05 d - 0.00125)
    and exp(0.1 d - 0.005). A future with d = 1 is 1.04996 and 1.09966 (5 % a year above the forecast's
    slope, less the mean-one correction); d = -1, 0.95004 and 0.90032. d is read back from quarter 1,
    a quarter of a year: log f_1 = 0.0125 d - 0.000078125."""
    price = scenarios(trend_only(0.05)).price_factor
    d = (np.log(price[:, 0, 1]) + 0.5 * 0.0125**2) / 0.0125
    for g in range(3):  # one slope for every generation
        np.testing.assert_allclose(price[:, g, 4], np.exp(0.05 * d - 0.00125), rtol=1e-12)
        np.testing.assert_allclose(price[:, g, 8], np.exp(0.1 * d - 0.005), rtol=1e-12)
    np.testing.assert_array_equal(price[:, :, 0], 1.0)  # today's price is known
    assert d.std() == pytest.approx(1.0, abs=0.15)  # d is a standard normal (200 draws)
    assert [math.exp(0.05 - 0.00125), math.exp(0.1 - 0.005)] == pytest.approx([1.04996, 1.09966], abs=1e-5)
    assert [math.exp(-0.05 - 0.00125), math.exp(-0.1 - 0.005)] == pytest.approx([0.95004, 0.90032], abs=1e-5)


def test_every_quarter_s_factor_averages_to_the_forecast():
    """sigma 0.3 (a log standard deviation of 0.6 in quarter 8): each quarter's mean is 1 within four
    standard errors; without the correction (sigma t)^2 / 2 quarter 8's would be e^0.18 = 1.20."""
    price = scenarios(trend_only(0.3), seed=11, n=N).price_factor[:, 0, :]
    mean, error = price.mean(axis=0), price.std(axis=0, ddof=1) / math.sqrt(N)
    off = np.abs(mean - 1.0) > 4.0 * error + 1e-12
    assert not off.any(), f"mean {mean[off]} in quarters {np.flatnonzero(off)}"


def test_the_slope_multiplies_the_other_price_risks_and_moves_nothing_else():
    """tiny's whole risk block (price walks, self-competition, release steps, defaults, delays, rates,
    electricity, demand) plus a slope of 0.1: every other factor is drawn bit for bit as without it,
    and the price factor is the one without it times a tilt shared by every generation whose log is
    d x 0.1 t - (0.1 t)^2 / 2."""
    plain, sloped = tiny_model(), tiny_model()
    sloped["risk"]["price_trend_volatility_annual"] = 0.1
    before, after = scenarios(plain).arrays(), scenarios(sloped).arrays()
    for name, values in before.items():
        if name != "price_factor":
            np.testing.assert_array_equal(after[name], values, err_msg=name)
    tilt = np.log(after["price_factor"] / before["price_factor"])
    np.testing.assert_allclose(tilt, np.broadcast_to(tilt[:, :1, :], tilt.shape), atol=1e-12)
    years = np.arange(tilt.shape[-1]) / 4
    d = (tilt[:, 0, 1] + 0.5 * 0.025**2) / 0.025
    np.testing.assert_allclose(tilt[:, 0, :], d[:, None] * 0.1 * years - 0.5 * (0.1 * years) ** 2, atol=1e-12)


@pytest.mark.parametrize(
    ("value", "said"),
    [(1.5, "at most 1 a year"), (-0.05, "greater than or equal to 0"), (float("nan"), "finite"),
     ("five percent", "number")],
)  # fmt: skip
def test_a_bad_value_is_refused_by_name(value, said):
    d = tiny_model()
    d["risk"]["price_trend_volatility_annual"] = value
    with pytest.raises(ModelError, match=rf"risk\.price_trend_volatility_annual(.|\n)*{said}"):
        data_of(d)

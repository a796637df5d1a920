"""An uncertain slope of market prices (`risk.price_trend_volatility_annual`, fleetopt/evaluate/factors.py
`_price_trend`, docs/evaluation.md "From the draws to the factors"): one normal d per scenario tilts
every generation's price factor by exp(d sigma t - (sigma t)^2 / 2), t in years from today."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TINY_PATH, run_cli
from evaluate_builders import tiny_model
from milp_builders import data_of

from fleetopt.errors import FleetoptWarning
from fleetopt.evaluate.factors import Stream, normals
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.schema.issues import ModelError

N = 20_000  # scenarios of the statistical test


def trend_only(sigma: float, quarters: int = 9) -> dict:
    """tiny over ``quarters`` quarters whose only risk is the price slope: nothing else moves prices."""
    d = tiny_model()
    d["horizon"]["quarters"] = quarters
    d["risk"] = {"price_trend_volatility_annual": sigma}
    return d


def scenarios(d: dict, seed: int = 5, n: int = 200):
    return generate_scenarios(data_of(d), seed, 0, n)


def common_tilt(before_model: dict, after_model: dict) -> np.ndarray:
    """The log of the price factor of ``after_model``'s scenarios over ``before_model``'s, checked to be
    one tilt for every generation, with every other factor drawn bit for bit the same."""
    before, after = scenarios(before_model).arrays(), scenarios(after_model).arrays()
    for name, values in before.items():
        if name != "price_factor":
            np.testing.assert_array_equal(after[name], values, err_msg=name)
    tilt = np.log(after["price_factor"] / before["price_factor"])
    np.testing.assert_allclose(tilt, np.broadcast_to(tilt[:, :1, :], tilt.shape), atol=1e-12)
    return tilt


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
    tilt = common_tilt(plain, sloped)
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


# ---- the slope tied to the AI cycle (`risk.ai_cycle.trend_loading`, factors.py `_slope_normals`): in quarter
# t the slope's normal is d_t = l Z_t + sqrt(1 - l^2) e, Z_t the cycle's level in quarter t over its standard
# deviation (its shocks to quarter t summed / sqrt(t)), e the slope's own normal


def tied(sigma: float, loading: float, quarters: int = 5) -> dict:
    d = trend_only(sigma, quarters)
    d["risk"]["ai_cycle"] = {"trend_loading": loading}
    return d


def slope_normals(price: np.ndarray, sigma: float) -> np.ndarray:
    """(n, T - 1) each scenario's d_t of quarters 1.., read back: log S_t = d_t s y_t - (s y_t)^2 / 2."""
    tilt = sigma * np.arange(1, price.shape[2]) / 4.0
    return (np.log(price[:, 0, 1:]) + 0.5 * tilt**2) / tilt


def test_the_slope_s_normal_moves_by_the_loading_times_the_cycle_s_level_as_it_stands_by_hand():
    """tiny over 5 quarters, slope 0.05, trend_loading 0.6, seed 5. Scenario 0's cycle shocks are
    (0, -1.2622, -0.1324, -1.0787, 0.0678) and the slope's own normal e = 1.7484. In quarter 2 the
    cycle's level is -1.3946 over sqrt(2), Z_2 = -0.9861, so d_2 = 0.6 x -0.9861 + 0.8 x 1.7484 = 0.8071
    and half a year's factor is exp(0.025 x 0.8071 - 0.0003125) = 1.0201 instead of exp(0.025 x 1.7484 -
    0.0003125) = 1.0444; in quarter 4 the sum -2.4055 over sqrt(4), Z_4 = -1.2028, d_4 = 0.6771 and the
    factor exp(0.05 x 0.6771 - 0.00125) = 1.0331 instead of 1.0900: a future whose cycle turned down has
    its prices rise less. Every scenario's d_t is exactly 0.6 Z_t + 0.8 e of its own streams, in every
    quarter; at loading 0 it is e, as without the cycle."""
    idx = np.arange(200)
    cycle = normals(5, idx, (Stream.CYCLE, 0), 5)
    own = normals(5, idx, (Stream.PRICE_TREND, 0), 1)
    z = np.cumsum(cycle[:, 1:], axis=1) / np.sqrt(np.arange(1, 5))  # quarter 0's draw is not a shock
    assert cycle[0, 1:] == pytest.approx([-1.2622, -0.1324, -1.0787, 0.0678], abs=5e-5)
    assert (z[0, 1], z[0, 3], own[0, 0]) == pytest.approx((-0.9861, -1.2028, 1.7484), abs=5e-5)
    price = scenarios(tied(0.05, 0.6)).price_factor
    np.testing.assert_allclose(slope_normals(price, 0.05), 0.6 * z + 0.8 * own, rtol=0, atol=1e-9)
    assert slope_normals(price, 0.05)[0, [1, 3]] == pytest.approx([0.8071, 0.6771], abs=5e-5)
    assert price[0, 0, [2, 4]] == pytest.approx([1.0201, 1.0331], abs=5e-5)
    untied = scenarios(tied(0.05, 0.0)).price_factor
    np.testing.assert_array_equal(untied, scenarios(trend_only(0.05, 5)).price_factor)
    assert untied[0, 0, [2, 4]] == pytest.approx([1.0444, 1.0900], abs=5e-5)


def test_a_tied_slope_keeps_every_quarter_s_mean_and_reads_no_later_shock_of_the_cycle():
    """sigma 0.3, trend_loading 0.8, 20,000 futures over 9 quarters: each d_t is still a standard normal
    (so each quarter's factor still averages to 1, within four standard errors), correlates 0.8 with the
    cycle's level in its own quarter (sampling error about 0.003) and not at all with what the cycle does
    after it (the level's later change, 0 within 0.03): a downturn moves the slope when it comes."""
    price = scenarios(tied(0.3, 0.8, quarters=9), seed=11, n=N).price_factor
    mean, error = price[:, 0, :].mean(axis=0), price[:, 0, :].std(axis=0, ddof=1) / math.sqrt(N)
    off = np.abs(mean - 1.0) > 4.0 * error + 1e-12
    assert not off.any(), f"mean {mean[off]} in quarters {np.flatnonzero(off)}"
    d = slope_normals(price, 0.3)
    level = np.cumsum(normals(11, np.arange(N), (Stream.CYCLE, 0), 9)[:, 1:], axis=1)
    for t in range(8):
        assert (d[:, t].mean(), d[:, t].std()) == pytest.approx((0.0, 1.0), abs=0.03)
        assert np.corrcoef(d[:, t], level[:, t])[0, 1] == pytest.approx(0.8, abs=0.015)
        if t < 7:
            assert np.corrcoef(d[:, t], level[:, 7] - level[:, t])[0, 1] == pytest.approx(0.0, abs=0.03)


def test_the_tie_moves_only_the_price_factor_and_without_a_slope_nothing():
    """tiny's whole risk block, the cycle loading prices, demand, defaults, slope 0.1: trend_loading 0.7
    leaves every other factor bit for bit as at 0 (the cycle's shocks are the same draws), and divides
    into the price factor a tilt common to the generations. Without a slope it moves nothing, bit for
    bit, and the model loads with a warning naming it."""
    cycle = {"price_loading": 0.6, "demand_loading": 0.5, "default_correlation": 0.4}
    plain, loaded = tiny_model(), tiny_model()
    for d, loading in ((plain, 0.0), (loaded, 0.7)):
        d["risk"].update(price_trend_volatility_annual=0.1, ai_cycle={**cycle, "trend_loading": loading})
    ratio = common_tilt(plain, loaded)
    assert np.abs(ratio).max() > 0.01
    for d in (plain, loaded):
        d["risk"]["price_trend_volatility_annual"] = 0.0
    with pytest.warns(FleetoptWarning, match=r"risk\.ai_cycle\.trend_loading: 0\.7 ties the prices' slope to "
                                             r"the AI cycle, but risk\.price_trend_volatility_annual is 0"):
        moved = scenarios(loaded).arrays()
    for name, values in scenarios(plain).arrays().items():
        np.testing.assert_array_equal(moved[name], values, err_msg=name)


def test_a_tied_slope_loads_in_silence_and_validate_says_the_tie():
    code, out, err = run_cli("validate", str(TINY_PATH), "--set", "risk.price_trend_volatility_annual=0.05",
                             "--set", "risk.ai_cycle={trend_loading: 0.4}")  # fmt: skip
    assert code == 0, err
    assert "warning" not in err
    flat = " ".join(out.replace("│", " ").split())
    assert ("prices' slope uncertain (5%/year faster or slower per standard deviation; correlation 0.4 "
            "with the AI cycle's level as it stands each quarter)") in flat


@pytest.mark.parametrize(
    ("value", "said"),
    [(1.5, "must be from -1 to 1"), (-1.2, "must be from -1 to 1"), (float("nan"), "finite"),
     ("strong", "number")],
)  # fmt: skip
def test_a_bad_trend_loading_is_refused_by_name(value, said):
    d = tied(0.05, 0.0)
    d["risk"]["ai_cycle"]["trend_loading"] = value
    with pytest.raises(ModelError, match=rf"risk\.ai_cycle\.trend_loading(.|\n)*{said}"):
        data_of(d)


def test_a_tied_slope_keeps_the_price_factor_mean_one_where_the_walks_load_on_the_cycle_too():
    """The walks (vol 0.3, one for every generation, no reversion) load 0.8 on the cycle's shocks and the
    slope (sigma 0.3) 0.8 on their sum to quarter t over sqrt(t): the two logs covary, by 0.3 x sqrt(1/4) x
    0.8 x 0.8 / sqrt(t) x 0.3 x t/4 x t in quarter t, 0.163 in quarter 8, so the product of two mean-one
    factors averaged e^0.163 = 1.177 there (e^0.0576 = 1.059 in quarter 4). Each quarter's factor is now 1
    within four standard errors (20,000 futures)."""
    d = tied(0.3, 0.8, quarters=9)
    d["risk"].update(price_volatility_annual=0.3, price_correlation_across_generations=1.0)
    d["risk"]["ai_cycle"]["price_loading"] = 0.8
    assert 0.3 * 0.5 * 0.8 * 0.8 / math.sqrt(8) * 0.3 * 2 * 8 == pytest.approx(0.163, abs=5e-4)
    assert 0.3 * 0.5 * 0.8 * 0.8 / math.sqrt(4) * 0.3 * 1 * 4 == pytest.approx(0.0576, abs=5e-5)
    price = scenarios(d, seed=11, n=N).price_factor[:, 0, :]
    mean, error = price.mean(axis=0), price.std(axis=0, ddof=1) / math.sqrt(N)
    off = np.abs(mean - 1.0) > 4.0 * error + 1e-12
    assert not off.any(), f"mean {mean[off]} in quarters {np.flatnonzero(off)}"

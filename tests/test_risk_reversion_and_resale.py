"""Two options of the risk model (fleetopt/evaluate/factors.py, docs/evaluation.md "From the draws to
the factors"): market prices reverting to the forecast (`price_mean_reversion_half_life_quarters`)
and resale values loading on the market price walks (`resale_price_loading`). Both take the shocks
of today's walks, so a scenario's shocks are the same with and without them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from evaluate_builders import tiny_model
from milp_builders import data_of

from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.schema.issues import ModelError

N = 20_000  # scenarios of the statistical tests
DT = 0.25  # years a quarter


def prices_only(**risk) -> dict:
    """tiny whose only risks are market prices (volatility 0.2) and resale values (0.2) unless
    ``risk`` says otherwise: nothing else multiplies the price walks."""
    d = tiny_model()
    d["risk"] = {"price_volatility_annual": 0.2, "price_correlation_across_generations": 1.0,
                 "resale_value_volatility_annual": 0.2, **risk}  # fmt: skip
    return d


def scenarios(d: dict, seed: int = 5, n: int = 200):
    return generate_scenarios(data_of(d), seed, 0, n)


def walk_shocks(walk: np.ndarray, vol: float) -> np.ndarray:
    """The normal shocks z_t (t >= 1) of a mean-one lognormal walk, from its quarter-on-quarter
    steps log(W_t / W_(t-1)) = vol sqrt(dt) z_t - vol^2 dt / 2."""
    return (np.diff(np.log(walk), axis=-1) + 0.5 * vol * vol * DT) / (vol * math.sqrt(DT))


# ---------------------------------------------------------------- prices reverting to the forecast


def test_a_one_quarter_half_life_halves_the_log_deviation_each_quarter_by_hand():
    """Half-life 1 quarter: phi = 0.5; volatility 0.2 a year is 0.1 a quarter. Shocks of one
    scenario taken from the random walk of the same seed (one walk for every generation):
    x_1 = 0.1 z_1, x_2 = 0.5 x_1 + 0.1 z_2, x_3 = 0.5 x_2 + 0.1 z_3; Var(x_t) = 0.01 (1 - 0.25^t)
    / 0.75 = 0.01, 0.0125, 0.013125; the factor is exp(x_t - Var(x_t) / 2). With z = (1, -1, 2)
    this is exp(0.095), exp(-0.05625), exp(0.1684375), where the walk gives exp(0.095),
    exp(-0.01), exp(0.185)."""
    walk = scenarios(prices_only()).price_factor
    reverting = scenarios(prices_only(price_mean_reversion_half_life_quarters=1)).price_factor
    z = walk_shocks(walk[:, 0, :4], 0.2)
    x1 = 0.1 * z[:, 0]
    x2 = 0.5 * x1 + 0.1 * z[:, 1]
    x3 = 0.5 * x2 + 0.1 * z[:, 2]
    by_hand = np.exp(np.stack([x1 - 0.005, x2 - 0.00625, x3 - 0.0065625], axis=1))
    for g in range(3):
        np.testing.assert_allclose(reverting[:, g, 1:4], by_hand, rtol=1e-12)
    np.testing.assert_array_equal(reverting[:, :, 0], 1.0)  # today's price is known

    # the worked example of the docstring, on shocks (1, -1, 2): the same numbers by the formula
    x = [0.1, 0.5 * 0.1 - 0.1, 0.5 * (0.5 * 0.1 - 0.1) + 0.2]
    var = [0.01 * (1 - 0.25**t) / 0.75 for t in (1, 2, 3)]
    assert [xt - v / 2 for xt, v in zip(x, var, strict=True)] == pytest.approx([0.095, -0.05625, 0.1684375])


def test_reverting_prices_take_each_generation_s_shocks_of_the_random_walk():
    """Generations correlated 0.5 and loaded on the AI cycle: generation g's reverting factor is
    its own walk's shocks put through x_t = phi x_(t-1) + sigma sqrt(dt) z_t (half-life 6
    quarters), so a scenario's shocks (streams, correlations) are the random walk's."""
    risk = {"price_correlation_across_generations": 0.5, "ai_cycle": {"price_loading": 0.7}}
    walk = scenarios(prices_only(**risk)).price_factor
    reverting = scenarios(prices_only(price_mean_reversion_half_life_quarters=6, **risk)).price_factor
    phi, step_sd = 0.5 ** (1 / 6), 0.2 * math.sqrt(DT)
    z = walk_shocks(walk, 0.2)
    x = np.zeros_like(walk)
    for t in range(1, walk.shape[-1]):
        x[..., t] = phi * x[..., t - 1] + step_sd * z[..., t - 1]
    t = np.arange(walk.shape[-1])
    var = step_sd**2 * (1 - phi ** (2 * t)) / (1 - phi**2)
    np.testing.assert_allclose(reverting, np.exp(x - var / 2), rtol=1e-11)


@pytest.mark.parametrize("half_life", [1e12, 1e300])
def test_a_very_long_half_life_is_the_random_walk(half_life):
    """phi = 0.5^(1 / half-life) -> 1: no reversion. At 1e300 quarters phi is 1.0 exactly, where
    the closed form of the variance would be 0 / 0."""
    walk = scenarios(prices_only(price_correlation_across_generations=0.8)).price_factor
    long = scenarios(prices_only(price_correlation_across_generations=0.8,
                                 price_mean_reversion_half_life_quarters=half_life)).price_factor  # fmt: skip
    np.testing.assert_allclose(long, walk, rtol=1e-9)


def test_reversion_narrows_the_spread_of_prices_around_the_forecast():
    """The last quarter's (t = 7) log standard deviation: the walk's sigma sqrt(7 dt) = 0.265 at
    0.2 a year; with a half-life of 2 quarters, sqrt(0.01 (1 - phi^14) / (1 - phi^2)) = 0.140."""
    phi = 0.5**0.5
    walk = np.log(scenarios(prices_only(), n=N).price_factor[:, 0, 7])
    reverting = scenarios(prices_only(price_mean_reversion_half_life_quarters=2), n=N).price_factor
    reverting = np.log(reverting[:, 0, 7])
    assert walk.std() == pytest.approx(0.2 * math.sqrt(7 * DT), rel=0.03)
    assert reverting.std() == pytest.approx(math.sqrt(0.01 * (1 - phi**14) / (1 - phi**2)), rel=0.03)


# ---------------------------------------------------------------- resale values loading on prices


def test_resale_values_loading_fully_on_prices_follow_the_common_price_walk():
    """Loading 1 and equal volatilities: the resale factor is the price walk every generation
    shares (correlation 1), the AI cycle's loading included."""
    d = prices_only(resale_price_loading=1.0, ai_cycle={"price_loading": 0.7})
    scen = scenarios(d)
    np.testing.assert_allclose(scen.resale_factor, scen.price_factor[:, 0, :], rtol=1e-12)


def test_the_resale_shock_is_the_loading_times_the_common_price_shock_plus_its_own():
    """Loading 0.8: resale shock = 0.8 x the common price shock + sqrt(1 - 0.64) = 0.6 x its own,
    its own being the shock of the independent walk (loading 0) of the same seed."""
    common = walk_shocks(scenarios(prices_only()).price_factor[:, 0, :], 0.2)
    own = walk_shocks(scenarios(prices_only()).resale_factor, 0.2)
    loaded = walk_shocks(scenarios(prices_only(resale_price_loading=0.8)).resale_factor, 0.2)
    np.testing.assert_allclose(loaded, 0.8 * common + 0.6 * own, rtol=1e-9, atol=1e-9)


def test_resale_values_move_with_prices_by_the_loading():
    """Quarter-on-quarter moves of log resale and log price correlate by the loading (0.8), the
    generations' common walk taken where they are correlated 1."""
    scen = scenarios(prices_only(resale_price_loading=0.8), n=N)
    resale, price = np.diff(np.log(scen.resale_factor)), np.diff(np.log(scen.price_factor[:, 0, :]))
    assert np.corrcoef(resale[:, 3], price[:, 3])[0, 1] == pytest.approx(0.8, abs=0.02)


# ---------------------------------------------------------------- both: mean one, nothing else moves


def test_with_both_options_every_price_and_resale_factor_averages_to_the_forecast():
    """Half-life 1 quarter, volatility 0.5 (a variance correction the walk's, sigma^2 t dt, would
    put the last quarter's mean at 0.84; none at 1.04), resale loading 0.8, generations correlated
    0.5 under the AI cycle: each quarter's mean is 1 within four standard errors."""
    d = prices_only(price_volatility_annual=0.5, price_correlation_across_generations=0.5,
                    price_mean_reversion_half_life_quarters=1, resale_price_loading=0.8,
                    ai_cycle={"price_loading": 0.7})  # fmt: skip
    scen = scenarios(d, seed=11, n=N)
    for name, paths in [*((f"price_factor[{g}]", scen.price_factor[:, g, :]) for g in range(3)),
                        ("resale_factor", scen.resale_factor)]:  # fmt: skip
        mean, error = paths.mean(axis=0), paths.std(axis=0, ddof=1) / math.sqrt(N)
        off = np.abs(mean - 1.0) > 4.0 * error + 1e-12
        assert not off.any(), f"{name}: mean {mean[off]} in quarters {np.flatnonzero(off)}"


@pytest.mark.parametrize(
    ("option", "moved"),
    [({"price_mean_reversion_half_life_quarters": 4}, "price_factor"),
     ({"resale_price_loading": 0.8}, "resale_factor")],
)
def test_each_option_moves_its_own_factor_only(option, moved):
    """tiny's whole risk block (self-competition, release steps, defaults, delays, rates,
    electricity, demand) plus the option: every other factor is drawn bit for bit as without it."""
    plain = tiny_model()
    with_option = tiny_model()
    with_option["risk"].update(option)
    before, after = scenarios(plain).arrays(), scenarios(with_option).arrays()
    assert not np.array_equal(after[moved], before[moved])
    for name, values in before.items():
        if name != moved:
            np.testing.assert_array_equal(after[name], values, err_msg=name)


# ---------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("price_mean_reversion_half_life_quarters", 0, "greater than 0"),
        ("price_mean_reversion_half_life_quarters", -4, "greater than 0"),
        ("price_mean_reversion_half_life_quarters", float("inf"), "finite"),
        ("price_mean_reversion_half_life_quarters", float("nan"), "finite"),
        ("price_mean_reversion_half_life_quarters", "two years", "number"),
        ("resale_price_loading", 1.5, "at most 1"),
        ("resale_price_loading", -0.8, "greater than or equal to 0"),
        ("resale_price_loading", float("nan"), "finite"),
    ],
)
def test_a_bad_value_is_refused_by_name(field, value, said):
    d = tiny_model()
    d["risk"][field] = value
    with pytest.raises(ModelError, match=rf"risk\.{field}(.|\n)*{said}"):
        data_of(d)

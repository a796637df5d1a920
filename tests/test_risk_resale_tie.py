"""GPU resale values tied to rental prices (`risk.resale_swing_share` w, docs/evaluation.md "From the draws
to the factors"): the resale walk times the prices' lasting parts common to every generation (the slope's
tilt, the self-competition fall) times their common swing to the power w, each quarter mean one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from evaluate_builders import REPO, tiny_model
from milp_builders import data_of

from fleetopt.evaluate import factors
from fleetopt.evaluate.factors import FACTOR_NAMES, draw_resale_factor
from fleetopt.evaluate.risk_words import risk_words
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.schema.issues import ModelError

DT = 0.25  # years a quarter


def tiny_with(quarters: int = 8, **risk) -> dict:
    """tiny whose only risks are ``risk``: nothing else moves its prices or resale values."""
    d = tiny_model()
    d["horizon"]["quarters"] = quarters
    d["risk"], d["contracts"] = risk, {}
    return d


# the default model's price risks (models/neocloud.yaml), its slope tied to the AI cycle
DEFAULT_PRICES = {
    "price_volatility_annual": 0.25, "price_correlation_across_generations": 0.8,
    "price_mean_reversion_half_life_quarters": 8, "price_trend_volatility_annual": 0.05,
    "self_competition": {"probability_per_quarter": 0.08, "price_drop_min": 0.1, "price_drop_max": 0.3},
    "ai_cycle": {"price_loading": 0.6, "trend_loading": 0.6},
}  # fmt: skip


def test_the_hand_case():
    """w 0.5, price volatility 0.2 (0.1 a quarter), one walk for every generation, half-life 1 (phi
    0.5), no slope, no walk of its own; common shocks z = (0, 1, -1): x = (0, 0.1, 0.5 x 0.1 - 0.1 =
    -0.05), V = (0, 0.01, 0.25 x 0.01 + 0.01 = 0.0125), the factor exp(w x - w^2 V / 2) = (1,
    exp(0.05 - 0.00125), exp(-0.025 - 0.0015625)) = (1, 1.04996, 0.97379)."""
    data = data_of(tiny_with(3, price_volatility_annual=0.2, price_mean_reversion_half_life_quarters=1,
                             resale_swing_share=0.5))  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(factors, "_common_price_shocks", lambda *_: np.array([[0.0, 1.0, -1.0]]))
        factor = draw_resale_factor(data, 7, np.arange(1))[0]
    np.testing.assert_allclose(factor, [1.0, math.exp(0.04875), math.exp(-0.0265625)], rtol=1e-14)
    np.testing.assert_allclose(factor, [1.0, 1.04996, 0.97379], atol=5e-6)


def test_the_hand_case_with_a_customer_default_s_price_fall():
    """The hand case, lab-a's default lowering every price by 20 % (`customer_default_price_impact`)
    and coming in quarter 2: the fall lasts, so it passes in full, not to the power w: the factor is
    (1, 1.04996, 0.8 x 0.97379 = 0.77903) where the price factor is (1, 1.0997, 0.8 x 0.9453)."""
    d = tiny_with(3, price_volatility_annual=0.2, price_mean_reversion_half_life_quarters=1,
                  resale_swing_share=0.5, customer_default_hazard_per_quarter=0.01,
                  customer_default_price_impact={"lab-a": 0.2})  # fmt: skip
    d["contracts"] = {"lab-a-training": {**tiny_model()["contracts"]["lab-a-training"], "term_quarters": 1}}
    data = data_of(d)
    defaults = np.array([[2 if name == "lab-a" else data.T for name in data.customers]])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(factors, "_common_price_shocks", lambda *_: np.array([[0.0, 1.0, -1.0]]))
        patch.setattr(factors, "customer_default_quarters", lambda *_: defaults)
        resale = draw_resale_factor(data, 7, np.arange(1))[0]
        price = factors.draw_price_factor(data, 7, np.arange(1))[0, 0]
    np.testing.assert_allclose(resale, [1.0, math.exp(0.04875), 0.8 * math.exp(-0.0265625)], rtol=1e-14)
    np.testing.assert_allclose(resale, [1.0, 1.04996, 0.77903], atol=5e-6)
    np.testing.assert_allclose(price, [1.0, math.exp(0.095), 0.8 * math.exp(-0.05625)], rtol=1e-14)


def test_the_falls_after_customers_defaults_multiply_the_tied_values_and_nothing_else():
    """The default model's price risks, tied, with tiny's customers defaulting 10 % a quarter: with
    lab-a's default lowering prices by 10 % and enterprise-b's by 20 %, every future's resale factor
    is the one without the falls times exactly the prices' fall (0.9, 0.8, 0.72 once both are gone):
    the rest, the mean-one tie, is drawn as before. Every other array but the prices is the same."""
    risk = {**DEFAULT_PRICES, "resale_value_volatility_annual": 0.12, "resale_swing_share": 0.6,
            "customer_default_hazard_per_quarter": 0.1}  # fmt: skip
    plain = tiny_with(12, **risk)
    plain["contracts"] = tiny_model()["contracts"]
    hit = {**plain, "risk": {**risk, "customer_default_price_impact": {"lab-a": 0.1, "enterprise-b": 0.2}}}
    before, after = generate_scenarios(data_of(plain), 4, 0, 300), generate_scenarios(data_of(hit), 4, 0, 300)
    fall = after.price_factor / before.price_factor
    np.testing.assert_allclose(fall, fall[:, :1, :].repeat(fall.shape[1], axis=1), rtol=1e-14)
    assert set(np.round(fall[:, 0, :], 12).ravel()) == {1.0, 0.9, 0.8, 0.72}  # some see both falls
    np.testing.assert_allclose(after.resale_factor, before.resale_factor * fall[:, 0, :], rtol=1e-14)
    for name in FACTOR_NAMES:
        if name not in ("price_factor", "resale_factor"):
            np.testing.assert_array_equal(getattr(after, name), getattr(before, name), err_msg=name)


def test_the_scenarios_resale_values_are_their_prices_common_swing_to_the_power_w():
    """The same case on the drawn futures: with one walk for every generation the price factor is
    exp(x_t - V_t / 2), so the resale factor is the price factor to the power w, times exp((w - w^2) V_t
    / 2): the tie reads the very shocks the prices are drawn from."""
    d = tiny_with(price_volatility_annual=0.2, price_mean_reversion_half_life_quarters=1,
                  resale_swing_share=0.5)  # fmt: skip
    scen = generate_scenarios(data_of(d), 7, 0, 50)
    variance = 0.01 * (1 - 0.25 ** np.arange(8)) / 0.75
    expected = scen.price_factor[:, 0, :] ** 0.5 * np.exp(0.125 * variance)
    np.testing.assert_allclose(scen.resale_factor, expected, rtol=1e-12)
    assert np.std(np.log(scen.resale_factor[:, 1])) > 0.04  # it moves: 0.5 x 0.1 a quarter


@pytest.mark.parametrize(
    ("risk", "share"),
    [
        pytest.param({**DEFAULT_PRICES, "resale_value_volatility_annual": 0.12}, 0.6, id="default-model"),
        # a large covariance of swing and slope: (1 - w) c_T = 0.7 x 0.568, the mean 0.67 without its term
        pytest.param({"price_volatility_annual": 0.4, "price_trend_volatility_annual": 0.1,
                      "ai_cycle": {"price_loading": 0.9, "trend_loading": 0.9}}, 0.3, id="strong-tie"),
    ],
)  # fmt: skip
def test_each_quarter_s_resale_factor_is_mean_one(risk, share):
    """Over 20,000 futures, every quarter's mean is 1 within four standard errors, the prices' slope
    tied to the AI cycle (which the swings load on too: the exp((1 - w) c_t) term's reason)."""
    data = data_of(tiny_with(28, **risk, resale_swing_share=share))
    factor = draw_resale_factor(data, 12345, np.arange(20_000))
    error = factor.std(axis=0) / math.sqrt(len(factor))
    np.testing.assert_array_equal(factor[:, 0], 1.0)  # today's values are known
    assert np.all(np.abs(factor.mean(axis=0) - 1.0) <= 4 * error[:] + 1e-15), factor.mean(axis=0)


@pytest.mark.parametrize("impact", [{}, {"lab-b": 0.2}], ids=["plain", "customer-default-price-fall"])
def test_without_a_swing_share_the_futures_are_today_s_bit_for_bit(impact):
    """Not set: the resale factor is the resale walk of its own stream, exp(cumsum(v sqrt(dt) z -
    v^2 dt / 2)), as before the option, though a customer's default lowers prices (untied, values do
    not follow them); set, only the resale factor changes: every other array of the default model's
    futures (without the option, then with it) is the same bit for bit."""
    model = yaml.safe_load((REPO / "models" / "neocloud.yaml").read_text(encoding="utf-8"))
    model["risk"].pop("resale_swing_share", None)  # the default model sets it: its futures without it
    model["risk"]["customer_default_price_impact"] = impact
    untied = generate_scenarios(data_of(model), 7, 0, 40)
    vol = model["risk"]["resale_value_volatility_annual"]
    z = factors.normals(7, np.arange(40), (factors.Stream.RESALE, 0), untied.resale_factor.shape[1])
    steps = vol * math.sqrt(DT) * z - 0.5 * vol * vol * DT
    steps[:, 0] = 0.0
    np.testing.assert_array_equal(untied.resale_factor, np.exp(np.cumsum(steps, axis=1)))
    model["risk"]["resale_swing_share"] = 0.6
    tied = generate_scenarios(data_of(model), 7, 0, 40)
    for name in FACTOR_NAMES:
        if name != "resale_factor":
            np.testing.assert_array_equal(getattr(tied, name), getattr(untied, name), err_msg=name)
    assert not np.array_equal(tied.resale_factor, untied.resale_factor)


@pytest.mark.parametrize("share", [0.0, 0.6, 1.0])
def test_a_lasting_fall_of_the_prices_passes_in_full(share):
    """Price swings 0, no walk of its own: the resale factor is the prices' slope tilt S_t times the
    self-competition fall, exactly every generation's price factor, whatever w (no swing to share)."""
    d = tiny_with(28, price_trend_volatility_annual=0.1, ai_cycle={"trend_loading": 0.6},
                  self_competition=DEFAULT_PRICES["self_competition"], resale_swing_share=share)  # fmt: skip
    scen = generate_scenarios(data_of(d), 3, 0, 200)
    for g in range(scen.price_factor.shape[1]):
        np.testing.assert_array_equal(scen.resale_factor, scen.price_factor[:, g, :])
    assert scen.resale_factor[:, -1].min() < 0.7  # some futures' prices, and values, fall for good


def test_it_is_refused_with_resale_price_loading_by_name():
    d = tiny_with(resale_value_volatility_annual=0.2, resale_price_loading=0.8, resale_swing_share=0.6)
    with pytest.raises(ModelError, match="resale_swing_share and resale_price_loading both tie"):
        data_of(d)
    d["risk"]["resale_price_loading"] = 0.0  # its default: no second tie
    data_of(d)


@pytest.mark.parametrize(
    ("share", "said"), [(1.5, "at most 1"), (-0.1, "greater than or equal to 0"), (float("nan"), "finite")]
)
def test_a_bad_share_is_refused_by_name(share, said):
    with pytest.raises(ModelError, match=rf"risk\.resale_swing_share(.|\n)*{said}"):
        data_of(tiny_with(resale_swing_share=share))


def test_validate_says_the_tie():
    tied = risk_words(data_of(tiny_with(price_volatility_annual=0.25, resale_value_volatility_annual=0.12,
                                        resale_swing_share=0.6)))  # fmt: skip
    assert ("resale values follow rental prices as a used GPU's rents do (the prices' lasting falls in "
            "full, their common swing to the power 0.6)") in tied  # fmt: skip
    assert "resale values 12%/sqrt(year) of their own on top" in tied
    untied = risk_words(data_of(tiny_with(price_volatility_annual=0.25, resale_value_volatility_annual=0.12)))
    assert "follow rental prices" not in untied and "resale values 12%/sqrt(year)" in untied

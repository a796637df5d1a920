"""The risk model's semantics (fleetopt/evaluate/factors.py, docs/evaluation.md "Scenarios"): factors
average to the forecast, customers default by credit rating, and the AI cycle moves prices, demand,
defaults and the spread of refinanced bullets together with the signs the model asks for."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from evaluate_builders import tiny_model
from milp_builders import base_model, data_of, sku

from fleetopt.core.credit import hazard_per_quarter
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.schema.issues import ModelError

N = 20_000  # scenarios: a standard error of about 0.2 % on a factor of volatility 0.25 over two years
CYCLE = {"price_loading": 0.8, "demand_loading": 0.7, "default_correlation": 0.5, "spread_loading": -0.02}
# bullets refinanced at maturity (2026Q4, quarter 1 of tiny) at the reference rate + 3 % and + 5 %:
# the borrowing whose spread the cycle moves
NOTES = {
    name: {"size_usd": 1.0e8, "opening_balance_usd": 1.0e8, "fixed_rate_annual": 0.09, "repayment": "bullet",
           "maturity": "2026Q4", "at_maturity": "refinance", "refinance_spread_over_reference_annual": spread,
           "draw_from": "2026Q3", "draw_until": "2026Q3"}
    for name, spread in (("note-a", 0.05), ("note-b", 0.03))
}  # fmt: skip


def risky_tiny(**risk) -> dict:
    d = tiny_model()
    d["risk"].update(risk)
    d["finance"]["facilities"].update(NOTES)
    return d


def multiplicative_factors(data, scen) -> dict[str, np.ndarray]:
    """(n, T) paths of every multiplicative factor, by name (demand relative to its forecast)."""
    out = {f"price_factor[{g}]": scen.price_factor[:, g, :] for g in range(data.G)}
    for u in range(2):
        out[f"demand[{u}]"] = scen.demand[:, u, :] / data.demand[u][None, :]
    out["electricity_factor"] = scen.electricity_factor
    out["resale_factor"] = scen.resale_factor
    return out


def test_every_multiplicative_factor_averages_to_the_forecast():
    # every risk factor on, generations partly correlated and the AI cycle on: each factor's
    # scenario mean is 1 in every quarter, within three standard errors
    data = data_of(risky_tiny(price_correlation_across_generations=0.5, ai_cycle=CYCLE))
    scen = generate_scenarios(data, 2026, 0, N)
    for name, paths in multiplicative_factors(data, scen).items():
        mean = paths.mean(axis=0)
        error = paths.std(axis=0, ddof=1) / np.sqrt(N)
        off = np.abs(mean - 1.0) > 3.0 * error + 1e-12
        assert not off.any(), f"{name}: mean {mean[off]} in quarters {np.flatnonzero(off)}"


def test_the_self_competition_shock_alone_is_a_bias_only_when_asked():
    shock = {"probability_per_quarter": 0.2, "price_drop_min": 0.2, "price_drop_max": 0.4}
    d = tiny_model()
    d["risk"] = {"self_competition": shock}
    mean_one = generate_scenarios(data_of(d), 1, 0, N).price_factor[:, 0, -1].mean()
    d["risk"]["mean_one"] = False
    biased = generate_scenarios(data_of(d), 1, 0, N).price_factor[:, 0, -1].mean()
    # by the last quarter (t = 7) the shock has arrived with probability 1 - 0.8^7 = 0.790, drop 0.3
    assert biased == pytest.approx(1.0 - (1 - 0.8**7) * 0.3, abs=0.005)
    assert mean_one == pytest.approx(1.0, abs=0.005)


def release_model() -> dict:
    """An older generation on sale, and a newer one released in quarter 3 of an 8-quarter horizon."""
    d = base_model()
    d["horizon"]["quarters"] = 8
    d["skus"]["B"] = sku(generation="blackwell", available_from="2026Q4")
    d["risk"] = {"new_generation_price_step": 0.25}
    return d


def test_the_forecast_already_prices_the_newer_generation_step():
    d = release_model()
    scen = generate_scenarios(data_of(d), 3, 0, 2000)
    older = scen.price_factor[:, 0, :]
    # the release moves by -1..+2 quarters around quarter 3: from quarter 5 on every scenario has
    # had its step, as the forecast has, so nothing is taken off a second time
    np.testing.assert_array_equal(older[:, 5:], 1.0)
    # a scenario released late keeps the old price a while: above the forecast in quarter 3
    assert older[:, 3].max() == pytest.approx(1.0 / 0.75 / np.mean([1, 1, 1 / 0.75, 1 / 0.75]))
    d["risk"]["mean_one"] = False
    stepped = generate_scenarios(data_of(d), 3, 0, 2000).price_factor[:, 0, :]
    np.testing.assert_array_equal(stepped[:, 5:], 0.75)  # the step on top of the forecast's


def test_a_generation_already_superseded_at_the_start_does_not_step_at_a_later_release():
    """Hopper (H) with Blackwell (B) on sale at the start, Rubin (R) released in quarter 3: only
    Blackwell steps; Hopper's prices already carry a newer generation (docs/evaluation.md)."""
    d = release_model()
    d["skus"]["B"] = sku(generation="blackwell", available_from="2026Q1")  # the first quarter
    d["skus"]["R"] = sku(generation="rubin", available_from="2026Q4")
    price = generate_scenarios(data_of(d), 3, 0, 2000).price_factor
    np.testing.assert_array_equal(price[:, 0, :], 1.0)
    assert price[:, 1, 3].max() == pytest.approx(1.0 / 0.75 / np.mean([1, 1, 1 / 0.75, 1 / 0.75]))


# a hazard of 0.2 a quarter on purpose (many defaults in few scenarios): its warning is meant
@pytest.mark.filterwarnings("ignore:.*risk.customer:fleetopt.errors.FleetoptWarning")
def test_a_credit_rating_sets_the_customer_hazard_and_an_override_wins():
    d = tiny_model()
    customers = sorted({k["customer"] for k in d["contracts"].values()})
    rated, overridden = customers[0], customers[-1]
    d["risk"]["customer_ratings"] = {rated: "B", overridden: "AA"}
    d["risk"]["customer_hazard_overrides"] = {overridden: 0.2}
    data = data_of(d)
    hazard = dict(zip(data.customers, data.customer_hazard, strict=True))
    # single-B: 27.5 % over seven years, 1 - 0.725^(1/28) = 1.1419 % a quarter
    assert hazard[rated] == pytest.approx(1.0 - 0.725 ** (1 / 28)) == pytest.approx(hazard_per_quarter("B"))
    assert hazard[rated] == pytest.approx(0.011419, abs=1e-6)
    assert hazard[overridden] == 0.2
    for name in set(customers) - {rated, overridden}:
        assert hazard[name] == d["risk"]["customer_default_hazard_per_quarter"]


def test_a_rating_for_an_unknown_customer_is_refused():
    d = tiny_model()
    d["risk"]["customer_ratings"] = {"nobody": "A"}
    with pytest.raises(ModelError, match="unknown customer 'nobody'"):
        data_of(d)


def test_zero_cycle_loadings_draw_exactly_the_independent_factors():
    plain = generate_scenarios(data_of(risky_tiny()), 5, 0, 500).arrays()
    zero = {name: 0.0 for name in CYCLE}
    cycled = generate_scenarios(data_of(risky_tiny(ai_cycle=zero)), 5, 0, 500).arrays()
    for name, values in plain.items():
        np.testing.assert_array_equal(cycled[name], values, err_msg=name)


def test_the_cycle_moves_every_factor_with_the_sign_asked_for():
    data = data_of(risky_tiny(ai_cycle=CYCLE, customer_default_hazard_per_quarter=0.05))
    scen = generate_scenarios(data, 9, 0, N)
    price = np.log(scen.price_factor[:, 0, -1])
    demand = np.log(scen.demand[:, 1, -1])
    survived = scen.contract_alive[:, 0, -1].astype(float)
    spread, rate = scen.spread_shift[:, -1], scen.rate_shift[:, -1]
    assert np.corrcoef(price, demand)[0, 1] > 0.3  # both load positively on the cycle
    assert np.corrcoef(price, spread)[0, 1] < -0.3  # spreads widen when prices fall
    assert abs(np.corrcoef(price, rate)[0, 1]) < 0.03  # the reference rate does not follow the cycle
    assert np.corrcoef(price, survived)[0, 1] > 0.05  # customers default more in a downturn
    # the copula keeps each quarter's default probability: survival to the end is (1 - 0.05)^8
    # = 0.6634 with or without the cycle (the contract starts before quarter 0)
    error = 3.0 * np.sqrt(0.6634 * 0.3366 / N)
    assert survived.mean() == pytest.approx(0.95**8, abs=error)


def cycle_driven(spread_loading: float):
    """tiny with its two refinanced notes, whose only risk is prices that follow the AI cycle
    exactly (price_loading 1, one walk for every generation): the cycle's level in quarter t is
    then L_t = (log price_t + vol^2 t / 8) / vol (quarters of 1/4 year, vol 0.3)."""
    d = risky_tiny()
    d["risk"] = {"price_volatility_annual": 0.3, "price_correlation_across_generations": 1.0,
                 "ai_cycle": {"price_loading": 1.0, "spread_loading": spread_loading}}  # fmt: skip
    scen = generate_scenarios(data_of(d), 3, 0, 4000)
    quarters = np.arange(scen.price_factor.shape[-1])
    level = (np.log(scen.price_factor[:, 0, :]) + 0.3**2 * quarters / 8.0) / 0.3
    return scen, level


def test_a_downturn_widens_the_refinanced_spread_by_the_loading_times_the_cycle_level():
    """spread_shift = max(spread_loading x L_t, -0.03): the loading times the cycle's level, floored
    at minus the smaller refinance spread (3 %), so no refinanced spread goes below zero. With
    loading -0.02, a downturn (L < 0) widens it: L = -1 adds 2 %/year; an upturn of L > 1.5 would
    take more than 3 % off and is held at -3 %. The reference rate (no volatility here) stays."""
    scen, level = cycle_driven(-0.02)
    np.testing.assert_allclose(scen.spread_shift, np.maximum(-0.02 * level, -0.03), rtol=1e-9, atol=1e-12)
    downturn = level[:, 1:] < 0
    assert downturn.any() and np.all(scen.spread_shift[:, 1:][downturn] > 0)
    assert (scen.spread_shift == -0.03).any() and scen.spread_shift.min() == -0.03  # the floor binds
    assert not scen.rate_shift.any()


def test_the_spread_loading_moves_nothing_but_the_spread_shift():
    """The reference rate's walk, prices, demand and defaults are drawn alike with and without a
    spread loading (every other loading on): the cycle reaches the rates only through the spread
    of refinanced bullets."""
    no_spread = {**CYCLE, "spread_loading": 0.0}  # tiny's reference rate has a volatility of its own
    plain = generate_scenarios(data_of(risky_tiny(ai_cycle=no_spread)), 5, 0, 500).arrays()
    moved = generate_scenarios(data_of(risky_tiny(ai_cycle=CYCLE)), 5, 0, 500).arrays()
    assert not plain["spread_shift"].any() and moved["spread_shift"].any() and plain["rate_shift"].any()
    for name, values in plain.items():
        if name != "spread_shift":
            np.testing.assert_array_equal(moved[name], values, err_msg=name)


def test_without_a_refinanced_bullet_the_spread_shift_is_zero():
    d = tiny_model()  # its only facility is a floating term loan
    d["risk"]["ai_cycle"] = CYCLE
    assert not generate_scenarios(data_of(d), 3, 0, 100).spread_shift.any()


def test_the_old_name_rate_loading_is_refused_with_its_new_name():
    d = risky_tiny(ai_cycle={"rate_loading": -0.01})
    with pytest.raises(ModelError, match="rate_loading was renamed to spread_loading"):
        data_of(d)


def test_generations_move_with_the_correlation_asked_for():
    for rho in (0.3, 0.8):
        d = tiny_model()
        d["risk"] = {"price_volatility_annual": 0.25, "price_correlation_across_generations": rho}
        scen = generate_scenarios(data_of(d), 4, 0, N)
        steps = np.diff(np.log(scen.price_factor), axis=-1)  # quarter-on-quarter moves
        corr = np.corrcoef(steps[:, 0, 3], steps[:, 1, 3])[0, 1]
        assert corr == pytest.approx(rho, abs=0.03)
    one = generate_scenarios(data_of(risky_tiny()), 4, 0, 100).price_factor
    np.testing.assert_array_equal(one[:, 0], one[:, 1])


def test_a_model_without_risk_is_its_forecast():
    d = copy.deepcopy(tiny_model())
    d["risk"] = {}
    scen = generate_scenarios(data_of(d), 0, 0, 10)
    assert (scen.price_factor == 1.0).all() and (scen.rate_shift == 0.0).all()

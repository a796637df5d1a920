"""Each risk factor moves the metric it should, against the same model with that factor off.

Scenario streams are independent per factor and keyed on (seed, scenario), so with one seed the
two runs share every other path: differences come from the factor alone. Directions are asserted
with margins, never exact values, except where the effect can be written down (rate shift, resale).
Also the tail metrics: P5 is the k-th worst NPV and CVaR5 the mean of the k worst, k = ceil(5 % S).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from evaluate_builders import (
    batch,
    concentrated_model,
    plan_variants,
    power_debt_model,
    refinanced_model,
    run,
    solved,
    tiny_model,
    two_site_model,
    with_risk,
    without,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from milp_builders import data_of

from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.metric_columns import METRIC_COLUMNS
from fleetopt.core.tail import probability_error, standard_error, tail_count
from fleetopt.core.units import format_usd, format_usd_change, format_usd_compact
from fleetopt.evaluate.metrics import (
    DEBT_AT_DEFAULT_METRICS,
    DEBT_AT_UNCURED_METRICS,
    paired_error,
    plan_metrics,
)
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate

N = 1000


def metrics(d: dict, name: str, n: int = N, seed: int = 0):
    return run(d, [solved(name).plan], n, seed)


def shock(p: float) -> dict:
    return {"probability_per_quarter": p, "price_drop_min": 0.2, "price_drop_max": 0.3}


def test_hyperscaler_price_shock_as_a_bias_lowers_mean_npv():
    # `mean_one: false`: the shock is a downside on top of the forecast (with the default
    # `mean_one` the forecast expects it: tests/test_risk_model.py)
    tiny = tiny_model()
    tiny["risk"]["mean_one"] = False
    off = metrics(without(tiny, "self_competition"), "tiny")
    some = metrics(with_risk(tiny, **{**tiny["risk"], "self_competition": shock(0.3)}), "tiny")
    sure = metrics(with_risk(tiny, **{**tiny["risk"], "self_competition": shock(1.0)}), "tiny")
    mean = [r.metrics["npv_mean_usd"].iloc[0] for r in (off, some, sure)]
    assert mean[2] < mean[1] - 5e6 and mean[1] < mean[0] - 5e6
    # a price drop can only hurt: no scenario gains from it (same paths of every other factor)
    assert np.all(sure.npv_matrix <= off.npv_matrix) and np.mean(sure.npv_matrix < off.npv_matrix) > 0.99


def test_price_volatility_widens_the_npv_distribution():
    tiny = tiny_model()
    std = [
        metrics(with_risk(tiny, **{**tiny["risk"], "price_volatility_annual": v}), "tiny")
        .metrics["npv_std_usd"]
        .iloc[0]
        for v in (0.0, 0.25, 0.5)
    ]
    assert std[0] * 1.2 < std[1] and std[1] * 1.5 < std[2]


def test_power_delay_lowers_utilisation_of_a_plan_that_needs_its_new_block():
    r = solved("power_debt")
    d = r.data
    b = batch(d, [r.plan])
    online_from = int(b.build_online[0].min())
    existing = d.sites[0].capacity_mw[online_from:]
    assert np.all(b.drawn_mw[0, 0, online_from:] > existing * 2)  # without the new MW most GPUs go dark
    on_time = metrics(with_risk(power_debt_model()), "power_debt", n=400)
    late = metrics(with_risk(power_debt_model(), power_delay={"probability": 1.0, "max_extra_quarters": 3}),
                   "power_debt", n=400)  # fmt: skip
    u_on, u_late = on_time.metrics["mean_utilisation"].iloc[0], late.metrics["mean_utilisation"].iloc[0]
    assert u_on > 0.99 and u_late < u_on - 0.1
    assert late.metrics["npv_mean_usd"].iloc[0] < on_time.metrics["npv_mean_usd"].iloc[0] - 1e6


def test_customer_default_breaks_the_covenants_of_a_concentrated_book():
    c = concentrated_model()
    safe = metrics(with_risk(c), "concentrated")
    risky = metrics(with_risk(c, customer_default_hazard_per_quarter=0.1), "concentrated")
    s, r = safe.metrics.iloc[0], risky.metrics.iloc[0]
    assert s["breach_probability"] == 0.0 and r["breach_probability"] > 0.3
    assert r["npv_mean_usd"] < s["npv_mean_usd"] - 3e6
    assert np.all(risky.npv_matrix <= safe.npv_matrix + 1e-6)
    # a per-customer override is the same hazard for that customer; zero switches it off
    same = metrics(with_risk(c, customer_hazard_overrides={"bigco": 0.1}), "concentrated")
    overridden = {"customer_default_hazard_per_quarter": 0.1, "customer_hazard_overrides": {"bigco": 0}}
    off = metrics(with_risk(c, **overridden), "concentrated")
    pd.testing.assert_frame_equal(same.metrics, risky.metrics, check_exact=True)
    pd.testing.assert_frame_equal(off.metrics, safe.metrics, check_exact=True)


def test_reference_rate_volatility_moves_only_floating_debt():
    fixed = concentrated_model()  # one fixed-rate facility
    calm, wild = (
        metrics(with_risk(fixed, reference_rate_volatility_annual=v), "concentrated") for v in (0, 0.05)
    )
    pd.testing.assert_frame_equal(calm.metrics, wild.metrics, check_exact=True)
    floating = power_debt_model()  # one floating facility
    calm, wild = (
        metrics(with_risk(floating, reference_rate_volatility_annual=v), "power_debt") for v in (0, 0.02)
    )
    assert calm.metrics["npv_std_usd"].iloc[0] < 1e-6 and wild.metrics["npv_std_usd"].iloc[0] > 1e4


def untaxed_with_ample_cash(d: dict, name: str):
    """``d`` with the risk factors on, no tax and $2M more opening cash (so no revolver and no policy
    reaction), its data, the solved plan of the model ``name`` and that plan's statement lines."""
    d["finance"]["tax_rate"] = 0.0
    d["finance"]["opening_cash_usd"] += 2.0e6
    data = data_of(with_risk(d))
    plan = solved(name).plan
    return data, plan, plan_statements(data, plan).lines


def test_a_rate_shift_costs_exactly_the_extra_interest_on_floating_balances():
    # two facilities: "loan" floats, "bond" is fixed. No tax and ample cash (no revolver), so a
    # shift of +1 %/year from quarter 3 lowers NPV by the discounted extra interest on the loan:
    # 0.01 / 4 x its balance at the end of the previous quarter; the bond's balance costs nothing.
    data, plan, lines = untaxed_with_ample_cash(two_site_model(), "two_sites")
    scen = deterministic_scenarios(data, 2)
    scen.rate_shift[1, 3:] = 0.01
    out = simulate(SimulationConstants.from_data(data), batch(data, [plan]), scen)
    loan_before = np.concatenate([[0.0], lines["debt_facility_loan_usd"][:-1]])
    bond_before = np.concatenate([[1.0e6], lines["debt_facility_bond_usd"][:-1]])
    assert np.all(bond_before[3:-1] > 0) and np.all(loan_before[3:] > 0)
    expected = -(data.discount[3:] * 0.01 / 4.0 * loan_before[3:]).sum()
    assert out["npv"][0, 1] - out["npv"][0, 0] == pytest.approx(expected, rel=1e-9)


def refinanced_scenarios(data):
    """Three copies of the forecast of ``data``: 0 as it is; 1 with the spread of new borrowing
    2 %/year wider from quarter 2; 2 with that and the reference rate 1 %/year higher from quarter 2."""
    scen = deterministic_scenarios(data, 3)
    scen.spread_shift[1:, 2:] = 0.02
    scen.rate_shift[2, 2:] = 0.01
    return scen


def test_a_spread_shift_moves_only_the_refinanced_bullet_and_the_rate_shift_both():
    """refinanced_model: a $1M note at 7 % fixed, refinanced at maturity (quarter 3) at reference
    + 5 %, and a floating loan at reference + 5 %. No tax and ample cash (no revolver, no policy
    reaction), so a scenario's NPV moves by minus the discounted extra interest, charged on the
    balances at the end of the previous quarter (note N = 1e6 throughout; loan L_{t-1}).

    Scenario 1 (spread +2 % from quarter 2): the loan's margin is fixed by its contract and the
    note pays its fixed 7 % until its maturity, so only the note's quarters 4..7 pay more:
    0.02 / 4 x 1e6 = 5,000 USD a quarter, Delta NPV = -5,000 x (d_4 + d_5 + d_6 + d_7).
    Scenario 2 (and reference +1 % from quarter 2): the loan pays 0.01 / 4 x L_{t-1} more from
    quarter 2, the note (0.01 + 0.02) / 4 x 1e6 = 7,500 USD more from quarter 4."""
    data, plan, lines = untaxed_with_ample_cash(refinanced_model(), "refinanced")
    note_before = np.concatenate([[1.0e6], lines["debt_facility_note_usd"][:-1]])
    loan_before = np.concatenate([[0.0], lines["debt_facility_loan_usd"][:-1]])
    assert np.all(note_before == 1.0e6) and np.all(loan_before[2:] > 0)
    out = simulate(SimulationConstants.from_data(data), batch(data, [plan]), refinanced_scenarios(data))
    npv, discount = out["npv"][0], data.discount
    assert npv[1] - npv[0] == pytest.approx(-5000.0 * discount[4:].sum(), rel=1e-9)
    loan_extra = (discount[2:] * 0.01 / 4.0 * loan_before[2:]).sum()
    assert npv[2] - npv[0] == pytest.approx(-loan_extra - 7500.0 * discount[4:].sum(), rel=1e-9)


def test_the_stochastic_milp_charges_the_refinanced_spread_as_the_evaluator():
    """The MILP's scenario parameters (milp/stochastic/scenarios.py) set to scenario 2 of
    refinanced_scenarios, and its balances held at the plan's: its interest (MUSD) in quarter t is
    the forecast interest plus 0.01 / 4 x (L_{t-1} from quarter 2 + N from quarter 4) + 0.02 / 4 x N
    from quarter 4 (N = 1e6, the note; L the loan), what the evaluator charges."""
    import pyomo.environ as pyo

    from fleetopt.milp.build import build_model
    from fleetopt.milp.stochastic.scenarios import ScenarioInputs, apply_scenario

    data = data_of(with_risk(refinanced_model()))
    lines = plan_statements(data, solved("refinanced").plan).lines
    scen = refinanced_scenarios(data)
    m = build_model(data)
    apply_scenario(m, data, ScenarioInputs("2", 1.0, rate_shift=scen.rate_shift[2],
                                                   spread_shift=scen.spread_shift[2]))  # fmt: skip
    for f, name in enumerate(["note", "loan"]):  # the plan's balances, MUSD
        for t in range(data.T):
            m.balance[f, t].fix(lines[f"debt_facility_{name}_usd"][t] / 1e6)
    note_before = np.concatenate([[1.0e6], lines["debt_facility_note_usd"][:-1]])
    loan_before = np.concatenate([[0.0], lines["debt_facility_loan_usd"][:-1]])
    t = np.arange(data.T)
    extra = 0.01 / 4 * (loan_before * (t >= 2) + note_before * (t >= 4)) + 0.02 / 4 * note_before * (t >= 4)
    got = np.array([pyo.value(m.interest[q]) * 1e6 for q in range(data.T)])
    np.testing.assert_allclose(got, lines["interest_usd"] + extra, rtol=1e-12, atol=1e-6)


def test_electricity_volatility_spreads_npv_around_an_unchanged_mean():
    tiny = tiny_model()
    n, vol = 2000, {"electricity_price_volatility_annual": 0.5}
    flat, noisy = metrics(with_risk(tiny), "tiny", n=n), metrics(with_risk(tiny, **vol), "tiny", n=n)
    f, v = flat.metrics.iloc[0], noisy.metrics.iloc[0]
    assert f["npv_std_usd"] < 1e-6 and v["npv_std_usd"] > 1e6
    assert abs(v["npv_mean_usd"] - f["npv_mean_usd"]) < 3 * v["npv_std_usd"] / math.sqrt(n)
    factor = generate_scenarios(data_of(with_risk(tiny, **vol)), 0, 0, n).electricity_factor
    assert np.corrcoef(noisy.npv_matrix[0], factor.mean(axis=1))[0, 1] < -0.95  # dearer power, less NPV


def test_resale_volatility_changes_terminal_fleet_values():
    # the concentrated plan holds its fleet to the end and sells nothing before (no tax, no
    # revolver): NPV moves by exactly the discounted change of the fleet's terminal value
    c, n = concentrated_model(), 300
    vol = {"resale_value_volatility_annual": 0.3}
    base, moved = (
        metrics(with_risk(c), "concentrated", n=n),
        metrics(with_risk(c, **vol), "concentrated", n=n),
    )
    data = data_of(with_risk(c, **vol))
    b = batch(data, [solved("concentrated").plan])
    assert b.proceeds.sum() == 0 and b.terminal_fleet[0] > 5e5
    factor = generate_scenarios(data, 0, 0, n).resale_factor[:, -1]
    expected = data.discount[-1] * b.terminal_fleet[0] * (factor - 1.0)
    np.testing.assert_allclose(moved.npv_matrix[0] - base.npv_matrix[0], expected, rtol=0, atol=1e-6)
    assert np.std(expected) > 5e4
    for col in ("breach_probability", "default_probability", "expected_min_cash_usd", "mean_utilisation"):
        assert moved.metrics[col].iloc[0] == base.metrics[col].iloc[0], col


# ---------------------------------------------------------------- tail metrics


def test_tail_metrics_are_ordered_on_a_realistic_risk_setting():
    tiny = tiny_model()  # its own risk block
    data = data_of(tiny)
    plans, _ = plan_variants(data, solved("tiny").plan)
    res = run(data, plans[:4], N, seed=3)
    m = res.metrics
    assert set(METRIC_COLUMNS) <= set(m.columns) and m["npv_std_usd"].min() > 0
    assert np.all(m["npv_cvar5_usd"] <= m["npv_p5_usd"]) and np.all(m["npv_p5_usd"] <= m["npv_mean_usd"])
    assert np.all(m["npv_cvar5_usd"] < m["npv_mean_usd"])
    k = tail_count(N)
    ordered = np.sort(res.npv_matrix, axis=1)
    np.testing.assert_array_equal(m["npv_p5_usd"], ordered[:, k - 1])
    np.testing.assert_allclose(m["npv_cvar5_usd"], ordered[:, :k].mean(axis=1), rtol=1e-12)


def _results(npv: np.ndarray) -> dict:
    return {"npv": npv, "min_cash": npv, "breach": npv > 0, "default": npv < 0, "utilisation": np.abs(npv)}


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 60)),
              elements=st.floats(-1e12, 1e12, allow_nan=False)))  # fmt: skip
def test_cvar5_never_above_p5(npv):
    _check_tail(npv)


@pytest.mark.parametrize(("k", "x"), [(3, -440979102000.578), (5, -940116522150.813), (7, -694746794647.388)])
def test_cvar5_equals_p5_when_the_tail_is_one_value(k, x):
    # k equal worst NPVs (e.g. a plan no scenario touches): their float mean can round one ulp
    # above x, which must not put CVaR5 above P5
    S = 20 * k
    assert tail_count(S) == k and np.full(k, x).mean() > x
    npv = np.concatenate([np.full(k, x), np.linspace(0.0, 1.0e9, S - k)])[None]
    m = plan_metrics(_results(npv))
    assert m["npv_p5_usd"][0] == x and m["npv_cvar5_usd"][0] <= x
    _check_tail(np.full((1, S), x))


def _check_tail(npv: np.ndarray) -> None:
    m = plan_metrics(_results(npv))
    assert np.all(m["npv_cvar5_usd"] <= m["npv_p5_usd"])
    assert np.all(m["npv_p5_usd"] >= npv.min(axis=1)) and np.all(m["npv_p5_usd"] <= npv.max(axis=1))


@pytest.mark.parametrize(("S", "k"), [(1, 1), (19, 1), (20, 1), (21, 2), (40, 2), (41, 3), (1000, 50)])
def test_tail_count_is_ceil_of_five_percent_at_least_one(S, k):
    assert tail_count(S) == k == max(1, math.ceil(0.05 * S - 1e-9))
    npv = np.arange(S, dtype=float)[None, ::-1].copy()  # worst is 0, then 1, ...
    m = plan_metrics(_results(npv))
    assert m["npv_p5_usd"][0] == k - 1
    assert m["npv_cvar5_usd"][0] == pytest.approx((k - 1) / 2)


def test_tail_count_has_no_round_off_surprises():
    assert [tail_count(s) for s in range(1, 5001)] == [max(1, -(-s // 20)) for s in range(1, 5001)]


def test_every_standard_error_of_a_mean_over_scenarios_has_the_divisor_s_minus_1():
    """The page put a mean NPV's error (divisor S) beside paired errors (divisor S - 1). Of NPVs
    -1, 2, 3, 4 USD: mean 2, squares about it 9 + 0 + 1 + 4 = 14, error sqrt(14 / 3) / 2 = 1.0801 for
    the mean NPV and for the paired difference against a plan of NPV 0 in every scenario; a
    probability of 1 in 4: sqrt(0.25 x 0.75 / 3) = 0.25, the error of the 0/1 outcomes 1, 0, 0, 0."""
    npv = np.array([-1.0, 2.0, 3.0, 4.0])
    hand = math.sqrt(14 / 3) / 2
    assert plan_metrics({"npv": npv[None, :]})["npv_mean_se_usd"][0] == pytest.approx(hand, rel=1e-15)
    assert paired_error(npv - np.zeros(4)) == pytest.approx(hand, rel=1e-15)
    assert probability_error(0.25, 4) == pytest.approx(0.25, rel=1e-15)
    assert standard_error(np.array([1.0, 0.0, 0.0, 0.0])) == pytest.approx(0.25, rel=1e-15)


def test_mean_error_loss_and_no_default_figures_by_hand():
    """Four scenarios of NPV -1, 2, 3, 4 USD, the first and last in default: mean 2, sample
    standard deviation sqrt((9 + 0 + 1 + 4) / 3) = 2.1602 (divisor 3, as the paired errors'), its
    standard error 2.1602 / sqrt(4) = 1.0801 (it read 0.9354, the population's divisor 4); the two
    that never default average (2 + 3) / 2 = 2.5; one in four loses money. A plan
    that defaults everywhere has no mean without a default (NaN, shown as n/a)."""
    npv = np.array([[-1.0, 2.0, 3.0, 4.0], [-1.0, 2.0, 3.0, 4.0]])
    default = np.array([[True, False, False, True], [True, True, True, True]])
    m = plan_metrics({"npv": npv, "default": default})
    assert m["npv_mean_usd"][0] == 2.0
    assert m["npv_mean_se_usd"][0] == pytest.approx(math.sqrt(14 / 3) / 2, rel=1e-15)
    assert m["npv_mean_no_default_usd"][0] == 2.5
    assert math.isnan(m["npv_mean_no_default_usd"][1])
    assert list(m["loss_probability"]) == [0.25, 0.25]
    assert format_usd(m["npv_mean_no_default_usd"][1]) == "n/a"


def test_either_default_counts_a_scenario_once_by_hand():
    """Four scenarios: a liquidity default in the first two, an uncured covenant breach in the
    second and third. Either event comes in three of four (the second counted once): 75 %, against
    50 % for each alone; a plan with neither has 0 %."""
    m = plan_metrics({
        "npv": np.zeros((2, 4)),
        "default": np.array([[True, True, False, False], [False] * 4]),
        "uncured_breach": np.array([[False, True, True, False], [False] * 4]),
    })  # fmt: skip
    assert m["default_probability"][0] == 0.5 and m["uncured_breach_probability"][0] == 0.5
    assert list(m["any_default_probability"]) == [0.75, 0.0]


def test_the_npv_with_limited_liability_by_hand():
    """Twenty scenarios, k = 1: NPVs -100, -3 and 1 to 18 USD, the first two in default, where the
    shareholders' claim ended at -10 and -5. With limited liability the mean is (-10 - 5 + 171) / 20
    = 7.8 against (-103 + 171) / 20 = 3.4, and the worst scenario (CVaR5) -10 against -100."""
    npv = np.array([[-100.0, -3.0, *range(1, 19)]])
    limited = npv.copy()
    limited[0, :2] = [-10.0, -5.0]
    m = plan_metrics({"npv": npv, "npv_limited": limited, "default": limited != npv})
    assert m["npv_mean_usd"][0] == pytest.approx(3.4, rel=1e-15)
    assert m["npv_limited_mean_usd"][0] == pytest.approx(7.8, rel=1e-15)
    assert m["npv_cvar5_usd"][0] == -100.0 and m["npv_limited_cvar5_usd"][0] == -10.0


def test_the_debt_at_default_and_its_cover_by_hand():
    """Four scenarios, two defaulting owing $300 and $100, of which $60 and $40 the GPUs and cash
    would not repay: the debt at default averages $200 over the two, the cover is 1 - 100 / 400 =
    75 % of it, and $25 is left uncovered on average over all four. A plan that never defaults has
    no debt at default (NaN) and nothing uncovered; a run before these figures has NaN throughout."""
    zero = np.zeros(4)
    m = plan_metrics({
        "npv": np.zeros((2, 4)),
        "default": np.array([[True, False, True, False], [False] * 4]),
        "debt_at_default": np.array([[300.0, 0.0, 100.0, 0.0], zero]),
        "uncovered_debt": np.array([[60.0, 0.0, 40.0, 0.0], zero]),
    })  # fmt: skip
    assert m["debt_at_default_mean_usd"][0] == 200.0 and m["debt_covered_at_default"][0] == 0.75
    assert m["uncovered_debt_mean_usd"][0] == 25.0
    assert math.isnan(m["debt_at_default_mean_usd"][1]) and math.isnan(m["debt_covered_at_default"][1])
    assert m["uncovered_debt_mean_usd"][1] == 0.0
    before = plan_metrics({"npv": np.zeros((1, 4)), "default": np.array([[True, False, False, False]])})
    assert all(math.isnan(before[name][0]) for name in (*DEBT_AT_DEFAULT_METRICS, *DEBT_AT_UNCURED_METRICS))


def test_what_the_reactions_moved_is_a_mean_over_every_scenario():
    """Four scenarios: a deposit of $100 lost in one and $300 in another, distress sales raising
    $1,000 in one: $100 forfeited and $250 of proceeds on average over all four (the scenarios
    without them count as 0). A simulation that reports neither (a run before the columns) gives 0."""
    npv = np.zeros((1, 4))
    m = plan_metrics({"npv": npv, "forfeited_usd": np.array([[100.0, 0.0, 300.0, 0.0]]),
                      "distress_sold_usd": np.array([[0.0, 1000.0, 0.0, 0.0]])})  # fmt: skip
    assert m["forfeited_deposits_mean_usd"][0] == 100.0 and m["distress_sale_proceeds_mean_usd"][0] == 250.0
    bare = plan_metrics({"npv": npv})
    assert bare["forfeited_deposits_mean_usd"][0] == 0.0 and bare["distress_sale_proceeds_mean_usd"][0] == 0.0


@pytest.mark.parametrize(
    ("usd", "text"),
    [(999_999_999.99, "$1.00B"), (-999_960_000.0, "-$1.00B"), (999_499.0, "$999.5k"), (999_500.0, "$1.0M"),
     (999.96, "$1.0k"), (999.4, "$999"),
     (12.94e9, "$12.94B"), (1e300, "$1e+300"), (float("inf"), "n/a"), (None, "n/a"),
     (-0.0, "$0"), (-0.4, "$0"), (-1.0, "-$1")],
)  # fmt: skip
def test_money_is_written_at_the_scale_it_rounds_to(usd, text):
    """$999,999,999.99 is $1.00B, not $1,000.0M; a limit typed as 1e300 is not 300 digits; a figure
    that rounds to $0 has no minus sign (a VSS of -1e-9 printed as -$0)."""
    assert format_usd(usd) == text


@pytest.mark.parametrize(
    ("usd", "text"),
    [(999_960.0, "$1.0M"), (-999_960.0, "-$1.0M"), (999.96e6, "$1.0B"), (999_949.0, "$999.9k"),
     (999.5, "$1.0k"), (999.4, "$999"), (-0.4, "$0"), (float("nan"), "n/a")],
)  # fmt: skip
def test_compact_money_is_written_at_the_scale_it_rounds_to(usd, text):
    """format_usd_compact's one decimal: $999,960 is 999.96k, which rounds to 1,000.0k: it is $1.0M;
    $999,949 rounds to 999.9k and stays there; $999.5 would print $1,000 and is $1.0k."""
    assert format_usd_compact(usd) == text


@pytest.mark.parametrize(
    ("usd", "text"),
    [(3.2e6, "+$3.2M"), (-3.1e6, "-$3.1M"), (0.3, "$0"), (-0.3, "$0"), (None, "n/a")],
)  # fmt: skip
def test_a_change_in_usd_is_signed_unless_it_rounds_to_nothing(usd, text):
    """'changes mean NPV by +$3.2M': a rise carries its sign; $0.30 rounds to $0, with no sign."""
    assert format_usd_change(usd) == text


def test_median_quarter_of_breach_and_default_by_hand():
    """Four quarters; counts of the quarters before each scenario broke (4: never). Plan 0 breaks
    in quarters 1, 4, 4, 2 (counts 0, 3, 3, 1; one never): sorted 1, 2, 4, 4, whose lower middle is
    quarter 2. Plan 1 never breaks: NaN. Plan 2 breaks in quarters 3, 3, 1, 1: sorted 1, 1, 3, 3:
    quarter 1 (the earlier of the two middle ones, a quarter that happened). Plan 3 breaks once,
    in quarter 4 (count 3)."""
    before = np.array([[0, 3, 3, 1, 4], [4, 4, 4, 4, 4], [2, 2, 0, 0, 4], [4, 4, 3, 4, 4]], dtype=float)
    results = {"npv": np.zeros(before.shape), "quarters_before_breach": before,
               "quarters_before_default": before}  # fmt: skip
    m = plan_metrics(results, quarters=4)
    np.testing.assert_array_equal(m["breach_median_quarter"], [2.0, np.nan, 1.0, 4.0])
    np.testing.assert_array_equal(m["default_median_quarter"], m["breach_median_quarter"])
    with pytest.raises(ValueError, match="number of quarters"):
        plan_metrics(results)


def test_median_quarters_of_an_evaluation_are_those_of_its_scenarios():
    """tiny's plan on 400 scenarios: the evaluation's median quarter of the first breach is the
    lower median of the per-scenario quarters (count + 1) of the scenarios that breach."""
    from fleetopt.evaluate.sample_runs import sample_runs

    result = solved("tiny")
    plans = batch(result.data, [result.plan])
    runs = sample_runs(result.data, plans, 400, 11)
    metrics = run(result.data, plans, 400, 11).metrics.iloc[0]
    data = result.data
    assert 0 < metrics["breach_probability"] < 1  # some scenarios breach, some do not
    for column, field in (("breach_median_quarter", "quarters_before_breach"),
                          ("default_median_quarter", "quarters_before_default")):  # fmt: skip
        broken = np.sort(runs[field][0][runs[field][0] < data.T]) + 1
        expected = broken[(len(broken) - 1) // 2] if len(broken) else np.nan
        np.testing.assert_array_equal(metrics[column], expected)


def test_demand_served_and_shortfall_by_hand():
    """Two scenarios whose market demand over the horizon is 100 and 200 H100-equivalent
    GPU-quarters. Plan 0 serves 100 and 190: shares 1 and 0.95, 0 and 10 not served (mean 5),
    short by more than 1 % in the second only (10 > 2): 0.5. Plan 1 serves 99.5 and 200: 0.5 and 0
    not served (mean 0.25), and 0.5 of 100 is not more than 1 %: never short. A model without
    demand has no share served (NaN) and is never short; a scenario without demand is left out of
    the mean share (it was NaN for the plan).
    """
    from fleetopt.evaluate.metrics import demand_metrics

    served = np.array([[100.0, 190.0], [99.5, 200.0]])
    m = demand_metrics(served, np.array([100.0, 200.0]), 2)
    np.testing.assert_allclose(m["demand_served_share"], [(1.0 + 0.95) / 2, (0.995 + 1.0) / 2], rtol=1e-15)
    np.testing.assert_allclose(m["unserved_demand_mean_gpu_quarters"], [5.0, 0.25], rtol=1e-15)
    np.testing.assert_array_equal(m["shortfall_probability"], [0.5, 0.0])
    none = demand_metrics(np.zeros((1, 2)), np.zeros(2), 1)
    assert np.isnan(none["demand_served_share"][0]) and none["shortfall_probability"][0] == 0.0
    assert all(np.isnan(v[0]) for v in demand_metrics(None, None, 1).values())
    # a scenario without demand has no share to serve: the mean is over the other (0.95), not NaN
    gap = demand_metrics(np.array([[0.0, 190.0]]), np.array([0.0, 200.0]), 1)
    assert gap["demand_served_share"][0] == pytest.approx(0.95, rel=1e-15)


def test_the_median_npv_by_hand():
    """A long right tail lifts the mean far above most futures (from a finance reader's review:
    the default model's mean $13.5B, $6.1B at the median): an odd count's middle NPV, an even
    count's two middle ones averaged; the mean beside it is pulled up by one large future."""
    m = plan_metrics(_results(np.array([[1.0, 5.0, 2.0, 100.0, -3.0], [4.0, 1.0, 3.0, 2.0, 9.0]])))
    assert m["npv_median_usd"].tolist() == [2.0, 3.0] and m["npv_mean_usd"][0] == 21.0
    assert plan_metrics(_results(np.array([[1.0, 5.0, 2.0, 100.0]])))["npv_median_usd"][0] == 3.5


def test_a_cvar_is_named_by_its_tail_in_per_cent_as_cvar5_is():
    """The stochastic solve's table read 'CVaR0.05' beside every other report's 'CVaR5' (a CFO's review)."""
    from fleetopt.core.tail import cvar_name

    assert [cvar_name(a) for a in (0.05, 0.025, 0.1, 0.07)] == ["CVaR5", "CVaR2.5", "CVaR10", "CVaR7"]

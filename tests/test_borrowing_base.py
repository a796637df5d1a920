"""The borrowing base in the statements and in scenarios (docs/formulation.md §5.9, docs/evaluation.md
quarter step 6): GPU-secured balances / max_ltv against the fleet's gross resale value, on hand-built
instances, in the NumPy simulation and the CPU build of the kernel.

The instance (`test_policy.model`, no contract): 200 GPUs of SKU A bought in 2025Q4 at $4,000,
on the training market at $1/h (438,000 USD a quarter); a two-year resale curve from 100 % new
to 50 % at one year, so each GPU's gross resale value is 3,500, 3,000, 2,500 and 2,000 USD in
quarters 0-3: the fleet is worth 700,000, 600,000, 500,000 and 400,000 USD on the forecast.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from evaluate_builders import ALL_RISK, batch, solved, with_risk
from milp_builders import data_of
from test_kernel_cpu import assert_agree
from test_policy import BACKENDS, NO_COMPILER, OPEN_LOOP, model, prepay_plan, price_drop, run

from fleetopt.core.covenants import BORROWING_BASE, kind_bit
from fleetopt.core.economics.statements import plan_statements
from fleetopt.evaluate.batch import with_buffers
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.schema.model_file import bundled_model_path
from fleetopt.schema.policy import Policy

BASE_BIT = kind_bit(BORROWING_BASE)


def base_model(opening_usd: float, max_ltv: float = 0.7) -> dict:
    """The instance with a GPU-secured loan of ``opening_usd`` at 0 %, repaid over 4 quarters."""
    d = model(capacity_mw=2.0)
    d["contracts"] = {}
    d["skus"]["A"].update(useful_life_years=2.0, resale_fraction_by_age_years=[1.0, 0.5, 0.0])
    d["finance"]["facilities"] = {
        "gpu-loan": {"size_usd": opening_usd, "opening_balance_usd": opening_usd, "fixed_rate_annual": 0.0,
                     "max_ltv": max_ltv, "amortization_quarters": 4, "draw_from": "2026Q1",
                     "draw_until": "2026Q1"}
    }  # fmt: skip
    return d


def resale(data, factors: dict[int, float]):
    """The forecast with the scenario's resale factor set in some quarters."""
    scen = deterministic_scenarios(data, 1)
    for t, factor in factors.items():
        scen.factors["resale_factor"][0, t] = factor
    return scen


def test_the_statements_show_the_collateral_the_loan_needs_and_its_share_of_the_fleet():
    data = data_of(base_model(420_000.0))
    np.testing.assert_allclose(data.resale_gross[0], [3500.0, 3000.0, 2500.0, 2000.0])
    plan = prepay_plan(data, 0.0)
    lines = plan_statements(data, plan).lines
    # 420,000 repaid 105,000 a quarter: 315,000, 210,000, 105,000, 0 at the quarters' ends, each
    # needing balance / 0.7 of collateral against 700,000 ... 400,000 of GPUs
    np.testing.assert_allclose(lines["collateral_required_usd"], [450_000.0, 300_000.0, 150_000.0, 0.0])
    np.testing.assert_allclose(lines["collateral_value_usd"], [700_000.0, 600_000.0, 500_000.0, 400_000.0])
    np.testing.assert_allclose(lines["borrowing_base_used"], [450 / 700, 0.5, 0.3, 0.0])


@pytest.mark.parametrize("kernel", BACKENDS)
def test_gpus_that_lose_value_breach_the_borrowing_base_below_the_factor_worked_out_by_hand(kernel):
    """Quarter 0 needs 450,000 of collateral: a fleet worth 700,000 x the resale factor breaches
    below 450 / 700 = 0.643 (by more than 1 USD). Quarter 3 needs none: no factor breaches it."""
    data = data_of(base_model(420_000.0))
    plan = prepay_plan(data, 0.0)
    for factors, first in (({0: 0.65}, 0.0), ({0: 0.64}, BASE_BIT), ({1: 0.49}, BASE_BIT), ({1: 0.51}, 0.0),
                           ({3: 0.0}, 0.0)):  # fmt: skip
        out = run(data, plan, Policy(), resale(data, factors), kernel)
        assert out["first_breach"][0, 0] == first, factors
        assert out["breach"][0, 0] == (first > 0)
        assert out["default"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_cut_prepayment_keeps_debt_that_counts_against_the_borrowing_base_until_it_is_repaid(kernel):
    """`test_policy`'s prepayment cut on a GPU-secured loan (1,000,000 at 8 %, max_ltv 0.7, over 4
    quarters): the plan prepays 500,000 in quarter 0, cash pays 268,000 and 232,000 is kept. The
    plan's own balance is 250,000 after quarter 0 and 0 after quarter 1, so the loan needs
    (250,000 + 232,000) / 0.7 = 688,571 of collateral at the end of quarter 0 (the fleet is worth
    700,000) and 232,000 / 0.7 = 331,429 at the end of quarter 1: a resale factor below
    331,429 / 600,000 = 0.552 breaches there. The kept 232,000 is repaid in quarter 2, after which
    nothing is needed (a factor of 0 breaches nothing)."""
    d = base_model(1.0e6)
    d["finance"]["opening_cash_usd"] = 1.0e5
    d["finance"]["facilities"]["gpu-loan"]["fixed_rate_annual"] = 0.08
    data = data_of(d)
    plan = prepay_plan(data, 500_000.0)
    out = run(data, plan, Policy(), resale(data, {1: 0.55, 2: 0.0, 3: 0.0}), kernel, line="cash_usd")
    np.testing.assert_allclose(out["cash_usd"][0, 0, :3], [0.0, 178_360.0, 379_720.0], atol=1e-6)
    assert out["prepayment_cut"][0, 0] == 1.0
    assert out["first_breach"][0, 0] == BASE_BIT
    assert run(data, plan, Policy(), resale(data, {1: 0.56, 2: 0.0, 3: 0.0}), kernel)["breach"][0, 0] == 0.0
    # open loop the whole 500,000 is prepaid (cash goes 232,000 below the minimum: a default), so
    # the loan needs no collateral from quarter 1 on and nothing breaches
    shut = run(data, plan, OPEN_LOOP, resale(data, {1: 0.55, 2: 0.0, 3: 0.0}), kernel)
    assert shut["breach"][0, 0] == 0.0 and shut["default"][0, 0] == 1.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_prepayment_rule_never_cuts_the_part_of_a_prepayment_the_base_needs(kernel):
    """The cut above with a $100,000 minimum (and $200,000 of opening cash, the default level 0):
    cash can pay 268,000 of the 500,000 prepayment, so the rule would cut 232,000. At a resale
    factor of 0.9 in quarter 0 the fleet is worth 630,000; the plan's own 250,000 needs 250,000 /
    0.7 = 357,142.86 of it, so the base has room for 272,857.14 x 0.7 = 191,000 of debt kept:
    the cut is 191,000, the other 41,000 is prepaid and cash ends at 100,000 - 41,000 = 59,000,
    with the base met exactly ((250,000 + 191,000) / 0.7 = 630,000). At a factor of 1 the room
    is 240,000 and the whole 232,000 is cut, cash at the minimum."""
    d = base_model(1.0e6)
    d["finance"].update(opening_cash_usd=2.0e5, min_cash_usd=1.0e5, default_cash_usd=0.0)
    d["finance"]["facilities"]["gpu-loan"]["fixed_rate_annual"] = 0.08
    data = data_of(d)
    plan = prepay_plan(data, 500_000.0)
    out = run(data, plan, Policy(), resale(data, {0: 0.9}), kernel, line="debt_usd")
    np.testing.assert_allclose(out["debt_usd"][0, 0, 0], 250_000.0 + 191_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["min_cash"][0, 0], 59_000.0, rtol=1e-9)
    assert out["prepayment_cut"][0, 0] == 1.0
    assert out["breach"][0, 0] == 0.0 and out["default"][0, 0] == 0.0
    free = run(data, plan, Policy(), resale(data, {}), kernel, line="debt_usd")
    np.testing.assert_allclose(free["debt_usd"][0, 0, 0], 250_000.0 + 232_000.0, rtol=1e-12)
    np.testing.assert_allclose(free["min_cash"][0, 0], 100_000.0, rtol=1e-9)


def test_a_cash_buffer_never_cuts_the_prepayment_the_base_needs_on_the_forecast():
    """`tiny`'s forecast optimum prepays $48.7M to keep its loan within 70 % of the fleet's resale
    value (the base is used in full in most quarters): the base needs all of it, so a $30M or $60M
    buffer cuts none (policy rule 3; the base's room is rounding, not a dollar) and the plan runs
    as it does with no buffer: the same NPV (-$14.11M), no breach."""
    result = solved("tiny")
    data = result.data
    assert np.isclose(result.statements.lines["borrowing_base_used"].max(), 1.0)
    consts = SimulationConstants.from_data(data)
    plans = with_buffers(batch(data, [result.plan] * 3), [0.0, 30.0e6, 60.0e6])
    out = simulate(consts, plans, deterministic_scenarios(data, 1))
    np.testing.assert_allclose(out["npv"][:, 0], [-14.11e6] * 3, atol=0.01e6)
    assert list(out["first_breach"][:, 0]) == [0.0] * 3
    assert list(out["prepayment_cut"][:, 0]) == [0.0] * 3


def test_a_prepayment_left_by_netting_a_draw_is_voluntary_and_cut_where_the_base_leaves_room():
    """`tiny`'s forecast optimum draws nothing once netted (formulation §5.9): its statements'
    principal is the opening loan's schedule alone, $200M over 20 quarters, $10M a quarter, and the
    $1,582,090 it prepays in each of its last three quarters (the instalments of a 2027Q3 draw it
    prepaid at once) are beyond it. With a $300M buffer cash is below the floor in every quarter, so
    the rule cuts every prepayment the base does not need (policy rule 3): on the forecast only
    2028Q2's, which stays owed at the end."""
    result = solved("tiny")
    data, plan = result.data, result.plan
    assert plan.draws.sum() == 0.0
    np.testing.assert_allclose(result.statements.lines["principal_usd"], [10.0e6] * data.T, rtol=1e-9)
    np.testing.assert_allclose(plan.prepay[0, -3:], [1_582_090.05] * 3, rtol=1e-6)
    plans = with_buffers(batch(data, [plan] * 2), [0.0, 300.0e6])
    lines = ("prepayment_usd", "debt_usd")
    out = simulate(SimulationConstants.from_data(data), plans, deterministic_scenarios(data, 1), record=lines)
    assert list(out["prepayment_cut"][:, 0]) == [0.0, 1.0]
    paid = out["prepayment_usd"][:, 0]
    np.testing.assert_allclose(paid[0], plan.prepay[0], rtol=1e-9)
    np.testing.assert_allclose(paid[1], [*plan.prepay[0, :-1], 0.0], rtol=1e-9, atol=1e-6)
    debt_end = out["debt_usd"][:, 0, -1]
    np.testing.assert_allclose(debt_end[1] - debt_end[0], plan.prepay[0, -1], rtol=1e-9)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_gpus_sold_in_distress_no_longer_count_as_collateral(kernel):
    """The instance with no opening cash, a $100,000 minimum, lots of 10 GPUs and a quarter 0 that
    earns nothing (`test_policy`'s distress sale), and a $270,000 GPU-secured bullet at 0 % due
    after the horizon (no cash flows; it needs 270,000 / 0.7 = 385,714 of collateral in every
    quarter). A GPU fetches 1,750 USD in quarter 0 (50 % of 3,500), so ceil(100,000 / 17,500) = 6
    lots are sold: 60 GPUs, gone from quarter 1. The 140 left are worth 140 x 2,500 = 350,000 in
    quarter 2: a breach. Open loop nothing is sold (quarter 0 defaults) and the 200 GPUs, worth
    400,000 at the least (quarter 3), cover the loan."""
    d = base_model(270_000.0)
    d["finance"]["facilities"]["gpu-loan"].update(repayment="bullet", maturity="2028Q1")
    del d["finance"]["facilities"]["gpu-loan"]["amortization_quarters"]
    d["finance"].update(opening_cash_usd=0.0, min_cash_usd=100_000.0)
    data = data_of(d)
    plan = prepay_plan(data, 0.0)
    scen = price_drop(data, [0])
    out = run(data, plan, Policy(sale_block_gpus=10), scen, kernel, line="cash_usd")
    np.testing.assert_allclose(out["cash_usd"][0, 0, 0], 60 * 1750.0, rtol=1e-12)
    assert out["sold"][0, 0] == 1.0 and out["first_breach"][0, 0] == BASE_BIT
    shut = run(data, plan, OPEN_LOOP, scen, kernel)
    assert shut["default"][0, 0] == 1.0 and shut["breach"][0, 0] == 0.0


@pytest.mark.skipif(NO_COMPILER, reason="no C compiler: the kernel's C build cannot be made")
def test_the_kernel_tests_the_base_as_numpy_does_with_debt_kept_by_cut_prepayments():
    """`tiny`'s forecast optimum with cash buffers that cut its prepayments (debt kept on the
    GPU-secured loan, in the last quarter too) under every risk factor: the C build of the kernel
    and NumPy agree pair by pair, and the base is what breaches first in many pairs. (GPUs taken
    out by the policy: the bundled models' parity tests, tests/test_kernel_cpu.py.)"""
    result = solved("tiny")
    d = yaml.safe_load(bundled_model_path("tiny").read_text(encoding="utf-8"))
    data = data_of(with_risk(d, **ALL_RISK))
    plans = with_buffers(batch(data, [result.plan] * 3), [0.0, 30.0e6, 60.0e6])
    want = assert_agree(SimulationConstants.from_data(data), plans, generate_scenarios(data, 1, 0, 400))
    first = want["first_breach"].astype(np.int64)
    assert ((first & BASE_BIT) > 0).mean() > 0.1
    assert want["prepayment_cut"][1:].mean() > 0.1


def kept_debt_model(opening_cash_usd: float = 17_000.0) -> dict:
    """The instance with a $600,000 GPU-secured loan at 0 % and max_ltv 0.5, repaid $30,000 a
    quarter over 20 quarters (most of it after the horizon), a $200,000 minimum and no default
    level: the fleet (700,000, 600,000, 500,000, 400,000 on the forecast) carries 350,000, 300,000,
    250,000 and 200,000 of it."""
    d = base_model(600_000.0, max_ltv=0.5)
    d["finance"]["facilities"]["gpu-loan"]["amortization_quarters"] = 20
    d["finance"].update(opening_cash_usd=opening_cash_usd, min_cash_usd=200_000.0, default_cash_usd=0.0)
    return d


def kept_debt_plan(data):
    """Prepays 250,000, 0, 15,000 and 20,000: balances 320,000, 290,000, 245,000 and 195,000 at the
    quarters' ends, so the base has room for 30,000, 10,000, 5,000 and 5,000 more debt on the
    forecast (60,000, 20,000, 10,000 and 10,000 of collateral)."""
    plan = prepay_plan(data, 250_000.0)
    plan.prepay[0, 2], plan.prepay[0, 3] = 15_000.0, 20_000.0
    return plan


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_prepayment_rule_keeps_no_debt_a_later_quarter_s_base_cannot_carry(kernel):
    """Policy rule 3 with the base's later quarters (docs/evaluation.md, "Policy", rule 3). Quarter
    0: cash 17,000 + 438,000 - 30,000 - 250,000 = 175,000 after the prepayment, 25,000 below the
    minimum, and quarter 0's base has room for 30,000 of it. But what is kept stays owed (the
    schedule repays it after the horizon), and the fleet loses 100,000 of value a quarter while the
    plan's balance falls 30,000 and less: quarter u's room, projected from quarter 0's 60,000 of
    collateral at quarter 0's resale factor f, is 60,000 + f x (C_u - 700,000) - (N_u - 640,000),
    with C_u 600,000, 500,000, 400,000 and N_u (the plan's balance / 0.5) 580,000, 490,000,
    390,000: 20,000, 10,000 and 10,000 at f = 1. The least, 10,000, frees 5,000 of debt (x 0.5):
    5,000 is kept, 245,000 prepaid, cash ends at 180,000 and the base holds in every quarter
    ((290,000 + 5,000) / 0.5 = 590,000 <= 600,000; 250,000 / 0.5 = 500,000 and 200,000 / 0.5 =
    400,000, met exactly). Keeping the 25,000 quarter 0's base alone allows breaches quarter 1:
    (290,000 + 25,000) / 0.5 = 630,000 > 600,000, on the plan's own forecast."""
    data = data_of(kept_debt_model())
    out = run(data, kept_debt_plan(data), Policy(), resale(data, {}), kernel, line="debt_usd")
    np.testing.assert_allclose(out["debt_usd"][0, 0], [325_000.0, 295_000.0, 250_000.0, 200_000.0],
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(out["min_cash"][0, 0], 180_000.0, rtol=1e-12)
    assert out["prepayment_cut"][0, 0] == 1.0
    assert out["breach"][0, 0] == 0.0 and out["default"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_later_quarters_bases_are_projected_at_this_quarter_s_resale_factor(kernel):
    """The case above at a resale factor of 1.05 in every quarter: quarter 0's room is 735,000 -
    640,000 = 95,000, and the later quarters' 95,000 + 1.05 x (C_u - 700,000) - (N_u - 640,000):
    50,000, 35,000 and 30,000. The least frees 15,000 of debt: 15,000 kept, the other 10,000 of the
    shortfall prepaid, cash 190,000, the base met in quarter 3 exactly ((195,000 + 15,000) / 0.5 =
    420,000 = 1.05 x 400,000). The rule does not see the future: where the factor is back at 1
    from quarter 1, (290,000 + 15,000) / 0.5 = 610,000 > 600,000 breaches there."""
    data = data_of(kept_debt_model())
    plan = kept_debt_plan(data)
    out = run(data, plan, Policy(), resale(data, dict.fromkeys(range(4), 1.05)), kernel, line="debt_usd")
    np.testing.assert_allclose(out["debt_usd"][0, 0], [335_000.0, 305_000.0, 260_000.0, 210_000.0],
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(out["min_cash"][0, 0], 190_000.0, rtol=1e-12)
    assert out["breach"][0, 0] == 0.0
    fell = run(data, plan, Policy(), resale(data, {0: 1.05}), kernel)
    assert fell["first_breach"][0, 0] == BASE_BIT and fell["quarters_before_breach"][0, 0] == 1.0


def test_tiny_s_stochastic_plan_pays_the_prepayment_a_later_quarter_s_base_needs():
    """formulation §7b's plan of L = 0.5 (`tiny --stochastic 3 --first-stage-quarters 2
    --risk-weight 0.5 --cvar-alpha 0.3 --mip-gap 1e-6`) prepays $18,276,659 in 2026Q4, where cash
    above the $25M floor pays all but $1,588,785. 2026Q4's base has room, $228,353,637 of GPUs
    against $204,488,065 needed; 2027Q1's, which the plan uses in full ($205,876,823 of both, after
    a draw), none: projected at 2026Q4's factor, 1 on the forecast, 23,865,572 + (205,876,823 -
    228,353,637) - (205,876,823 - 204,488,065) = 0 (policy rule 3). So the whole prepayment is paid
    and the revolver lends the $1,588,785 until 2027Q1: on its forecast the plan breaches nothing,
    where the $1,588,785 kept before broke 2027Q1's base."""
    from fleetopt import api

    result = api.solve_stochastic("tiny", 3, first_stage_quarters=2, risk_weight=0.5, cvar_alpha=0.3,
                                  mip_gap=1e-6, out_of_sample=0, threads=1)  # fmt: skip
    data, plan = result.data, result.plan
    np.testing.assert_allclose(plan.prepay.sum(axis=0)[1], 18_276_659.0, atol=1.0)
    lines = ("prepayment_usd", "revolver_draw_usd")
    out = simulate(SimulationConstants.from_data(data), batch(data, [plan]), deterministic_scenarios(data, 1),
                   record=lines)  # fmt: skip
    np.testing.assert_allclose(out["prepayment_usd"][0, 0], plan.prepay.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(out["revolver_draw_usd"][0, 0, 1:3], [1_588_785.0, -1_588_785.0], atol=1.0)
    assert out["prepayment_cut"][0, 0] == 0.0 and out["breach"][0, 0] == 0.0

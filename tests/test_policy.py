"""The evaluator's policy: how a plan reacts inside a scenario (docs/evaluation.md, "Policy").

Each rule on a hand-built instance whose answer is worked out below, against the open loop (every
rule off), in the NumPy simulation and in the CPU build of the fused kernel.

The instance (`milp_builders.base_model`): one site, SKU A (1 kW, PUE 1, no idle draw, no opex,
free electricity), 200 GPUs installed before the horizon, configured for training. A GPU on the
market earns $1/h, one under the contract $2/h; a quarter has 2,190 hours. The hand-built plan
keeps all 200 in service: 100 on the contract, 100 on the training market.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from evaluate_builders import ALL_RISK, MODELS, batch, with_risk
from milp_builders import HOURS, base_model, cohort_index, data_of, sku

from fleetopt.core.economics.taxes import liquidation_tax, taxable_incomes
from fleetopt.core.plan import Plan
from fleetopt.evaluate.backend import c_compiler
from fleetopt.evaluate.kernel.cpu import cpu_kernel
from fleetopt.evaluate.result_fields import RESULT_FIELDS
from fleetopt.evaluate.scenarios import ScenarioSet, deterministic_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.schema.policy import Policy

# the instances hold fleets beyond their site's power on purpose (a short site, a late block)
pytestmark = pytest.mark.filterwarnings("ignore:.*cannot run it all")

POLICY = Policy()
OPEN_LOOP = Policy.off()
MARKET, CONTRACT = 1.0 * HOURS, 2.0 * HOURS  # USD per GPU-quarter


def model(capacity_mw: float = 1.0, **contract) -> dict:
    d = base_model()
    d["skus"]["A"]["available_from"] = "2025Q1"
    d["sites"]["s1"]["power_capacity_mw"] = capacity_mw
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2025Q4", "gpus": 200, "use": "training",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["contracts"] = {
        "anchor": {"customer": "big", "use": "training", "eligible_skus": ["A"], "gpus": 100,
                   "start": "2026Q1", "term_quarters": 4, "price_usd_per_gpu_hour": 2.0, "signed": True,
                   "cancellation_penalty_usd": 50000.0, **contract}
    }  # fmt: skip
    return d


def plan_of(data, contract_from: int = 0, market: float = 100.0) -> Plan:
    """All 200 installed GPUs held; 100 on the contract from ``contract_from``, ``market`` on the market."""
    p = Plan.empty(data)
    p.held_training[0, :] = 200.0
    p.contract_gpus[0, 0, 0, contract_from:] = 100.0
    p.active[0, 0, 0, :] = market
    p.active[0, 0, 0, contract_from:] += 100.0
    p.accepted[0] = 1.0
    return p


def run(data, plan: Plan, policy: Policy, scen=None, kernel: bool = False, line: str = "ebitda_usd") -> dict:
    """The NumPy simulation with a quarterly ``line`` (EBITDA unless told); with ``kernel``, also
    the CPU build of the kernel, which must agree with it on every result (to 1e-12)."""
    consts = SimulationConstants.from_data(data).with_policy(policy)
    scen = deterministic_scenarios(data, 1) if scen is None else scen
    plans = batch(data, [plan])
    out = simulate(consts, plans, scen, record=(line,))
    if kernel:
        got = cpu_kernel(threads=1).simulate(consts, plans, scen)
        for field in RESULT_FIELDS:
            np.testing.assert_allclose(got[field], out[field], rtol=1e-12, atol=1e-6, err_msg=field)
    return out


NO_COMPILER = c_compiler() is None
BACKENDS = [
    pytest.param(False, id="numpy"),
    pytest.param(True, id="cpu-kernel", marks=pytest.mark.skipif(NO_COMPILER, reason="no C compiler")),
]


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_short_site_serves_its_contract_in_full_and_cuts_the_market_by_the_shortfall(kernel):
    # 0.15 MW for 0.2 MW of GPUs: the contract's 0.1 MW first, the market gets 0.05 MW = 50 GPUs
    data = data_of(model(capacity_mw=0.15))
    out = run(data, plan_of(data), POLICY, kernel=kernel)
    np.testing.assert_allclose(out["ebitda_usd"][0, 0], 100 * CONTRACT + 50 * MARKET, rtol=1e-12)
    assert out["cancelled"][0, 0] == 0.0 and out["rescheduled"][0, 0] == 0.0
    # open loop: every GPU cut to 75 %, the contract (75 of 100 at its deadline) cancelled at once
    # with its penalty, its GPUs idle for the rest of the term
    shut = run(data, plan_of(data), OPEN_LOOP, kernel=kernel)["ebitda_usd"][0, 0]
    np.testing.assert_allclose(shut, [75 * MARKET - 50000.0] + [75 * MARKET] * 3, rtol=1e-12)


def late_block_model(delay_allowance: int = 2, delay_penalty: float = 10000.0) -> dict:
    """0.05 MW online, a 1 MW block started in quarter 0 online in quarter 1 (the plan builds it);
    the contract starts in quarter 1."""
    d = model(capacity_mw=0.05, start="2026Q2", term_quarters=3, delay_allowance_quarters=delay_allowance,
              delay_penalty_usd_per_quarter=delay_penalty)  # fmt: skip
    d["sites"]["s1"]["expansion"] = {"block_mw": 1.0, "capex_per_mw_usd": 0.0, "lead_time_quarters": 1,
                                     "earliest_start": "2026Q1", "max_blocks": 1, "useful_life_years": 10.0}
    return d


def late_block(data, delay: int):
    plan = plan_of(data, contract_from=1, market=0.0)
    plan.held_training[0, :] = 100.0
    plan.build_blocks[0, 0] = 1.0
    scen = deterministic_scenarios(data, 1)
    scen.factors["delay"][0, 0, 0] = delay  # the block started in quarter 0 comes `delay` quarters late
    return plan, scen


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_block_one_quarter_late_delays_the_contract_by_one_quarter_with_its_penalty(kernel):
    data = data_of(late_block_model())
    plan, scen = late_block(data, delay=1)
    out = run(data, plan, POLICY, scen, kernel=kernel)
    # quarter 1: 0.05 MW powers 50 of the 100 GPUs: late, so the $10,000 delay penalty is paid; the
    # 50 delivered GPUs earn the contract price
    want = [0.0, 50 * CONTRACT - 10000.0, 100 * CONTRACT, 100 * CONTRACT]
    np.testing.assert_allclose(out["ebitda_usd"][0, 0], want, rtol=1e-12)
    assert out["rescheduled"][0, 0] == 1.0 and out["cancelled"][0, 0] == 0.0
    # open loop: cancelled in quarter 1 with the $50,000 penalty; 50 delivered GPUs earn nothing after
    shut = run(data, plan, OPEN_LOOP, scen, kernel=kernel)
    np.testing.assert_allclose(shut["ebitda_usd"][0, 0], [0.0, -50000.0, 0.0, 0.0], atol=1e-6)
    assert shut["cancelled"][0, 0] == 1.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_late_step_of_contracted_capacity_delays_the_contract_as_a_late_block_does(kernel):
    # the site's contracted capacity rises from 0.05 MW to 1 MW in quarter 1, one quarter late in
    # this scenario: quarter 1 is the late block's quarter again (50 GPUs powered, delay penalty)
    d = model(capacity_mw={"start": 0.05, "steps": {"2026Q2": 1.0}}, start="2026Q2", term_quarters=3,
              delay_penalty_usd_per_quarter=10000.0)  # fmt: skip
    d["risk"] = {"power_delay": {"probability": 0.0, "max_extra_quarters": 0, "contracted_probability": 0.1,
                                 "contracted_max_extra_quarters": 2}}  # fmt: skip
    data = data_of(d)
    plan = plan_of(data, contract_from=1, market=0.0)
    scen = deterministic_scenarios(data, 1)
    on_time = run(data, plan, POLICY, scen, kernel=kernel)["ebitda_usd"][0, 0]
    np.testing.assert_allclose(on_time, [0.0] + [100 * CONTRACT] * 3, rtol=1e-12)
    scen.factors["step_delay"][0, 0, 1] = 1  # the increase due in quarter 1 comes one quarter late
    out = run(data, plan, POLICY, scen, kernel=kernel)
    np.testing.assert_allclose(out["ebitda_usd"][0, 0], [0.0, 50 * CONTRACT - 10000.0] + [100 * CONTRACT] * 2,
                               rtol=1e-12)  # fmt: skip
    assert out["rescheduled"][0, 0] == 1.0 and out["cancelled"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_block_later_than_the_allowance_cancels_the_contract(kernel):
    # allowance 1: late in quarter 1 (delay penalty; the 50 powered GPUs earn), still short in
    # quarter 2: cancelled with its penalty, and its GPUs go to the market (50 powered in quarter 2,
    # all 100 once the block is on)
    data = data_of(late_block_model(delay_allowance=1))
    plan, scen = late_block(data, delay=2)
    out = run(data, plan, POLICY, scen, kernel=kernel)
    want = [0.0, 50 * CONTRACT - 10000.0, 50 * MARKET - 50000.0, 100 * MARKET]
    np.testing.assert_allclose(out["ebitda_usd"][0, 0], want, rtol=1e-12)
    assert out["rescheduled"][0, 0] == 1.0 and out["cancelled"][0, 0] == 1.0
    # allowance 2 rides the same delay out: late in quarters 1 and 2, delivered in quarter 3
    data = data_of(late_block_model(delay_allowance=2))
    out = run(data, plan, POLICY, scen, kernel=kernel)
    late = 50 * CONTRACT - 10000.0
    np.testing.assert_allclose(out["ebitda_usd"][0, 0], [0.0, late, late, 100 * CONTRACT], rtol=1e-12)
    assert out["cancelled"][0, 0] == 0.0


def under_served(data, gpus: float) -> Plan:
    """The plan that serves the 100-GPU contract with ``gpus`` only, the rest of its 200 GPUs on
    the market (a plan made for a smaller contract, or one that assumed its customer gone)."""
    plan = plan_of(data, market=200.0 - gpus)
    plan.contract_gpus[0, 0, 0, :] = gpus
    plan.active[0, 0, 0, :] = 200.0
    return plan


@pytest.mark.parametrize("kernel", BACKENDS)
@pytest.mark.parametrize("gpus", [60.0, 0.0], ids=["60-of-100", "none"])
def test_a_plan_serving_a_contract_with_fewer_gpus_than_it_has_delivers_it_short(kernel, gpus):
    """Short of the contract's 100 GPUs, not of the plan's own allocation: late in quarter 0 (the
    GPUs served earn, the $10,000 delay penalty is paid), cancelled in quarter 1 with its $50,000
    penalty (allowance 1), and then its planned GPUs go to the market."""
    data = data_of(model(delay_allowance_quarters=1, delay_penalty_usd_per_quarter=10000.0))
    plan = under_served(data, gpus)
    out = run(data, plan, POLICY, kernel=kernel)
    rest = 200 * MARKET
    want = [gpus * CONTRACT + (200 - gpus) * MARKET - 10000.0, rest - 50000.0, rest, rest]
    np.testing.assert_allclose(out["ebitda_usd"][0, 0], want, rtol=1e-12)
    assert out["rescheduled"][0, 0] == 1.0 and out["cancelled"][0, 0] == 1.0
    # open loop: cancelled in quarter 0 with its penalty; its GPUs stand idle after
    shut = run(data, plan, OPEN_LOOP, kernel=kernel)["ebitda_usd"][0, 0]
    idle = (200 - gpus) * MARKET
    np.testing.assert_allclose(shut, [idle - 50000.0, idle, idle, idle], rtol=1e-12)
    # served in full: no reaction, the contract's revenue every quarter
    full = run(data, under_served(data, 100.0), POLICY, kernel=kernel)
    np.testing.assert_allclose(full["ebitda_usd"][0, 0], [100 * CONTRACT + 100 * MARKET] * 4, rtol=1e-12)
    assert full["rescheduled"][0, 0] == full["cancelled"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
@pytest.mark.parametrize("policy", [POLICY, OPEN_LOOP], ids=["policy", "open-loop"])
def test_a_customer_that_defaults_in_a_short_quarter_ends_its_contract_without_penalty(kernel, policy):
    """The block is 3 quarters late, so the contract (from quarter 1) is short in quarter 1; its
    customer defaults that very quarter. The contract ends without penalty: neither the $10,000
    delay penalty (policy) nor the $50,000 cancellation penalty (open loop) is paid, and it is
    neither late nor cancelled. With the policy its 100 GPUs go to the market, 50 of them powered
    by the 0.05 MW online (the contract's power share): 50 x MARKET a quarter; open loop they stand
    idle: EBITDA 0."""
    data = data_of(late_block_model(delay_allowance=1))
    plan, scen = late_block(data, delay=3)
    scen.factors["contract_alive"][0, 0, 1:] = False
    out = run(data, plan, policy, scen, kernel=kernel)
    market = 50 * MARKET if policy.freed_gpus_to_market else 0.0
    np.testing.assert_allclose(out["ebitda_usd"][0, 0], [0.0] + [market] * 3, rtol=1e-12, atol=1e-6)
    assert out["rescheduled"][0, 0] == 0.0 and out["cancelled"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_defaulted_customers_gpus_earn_the_market_price_within_demand(kernel):
    d = model()
    d["market"]["demand_gpus"]["training"] = 150.0
    data = data_of(d)
    plan = plan_of(data)
    scen = deterministic_scenarios(data, 1)
    scen.factors["contract_alive"][0, 0, 2:] = False  # the customer defaults in quarter 2
    out = run(data, plan, POLICY, scen, kernel=kernel)
    # quarters 0-1: 100 on the contract, 100 on a market of 150; from quarter 2 the contract's 100
    # join the market's 100: 200 offered to a demand of 150, so 150 are sold
    want = [100 * CONTRACT + 100 * MARKET] * 2 + [150 * MARKET] * 2
    np.testing.assert_allclose(out["ebitda_usd"][0, 0], want, rtol=1e-12)
    assert out["freed"][0, 0] == 1.0
    shut = run(data, plan, OPEN_LOOP, scen, kernel=kernel)  # open loop: they stand idle
    np.testing.assert_allclose(shut["ebitda_usd"][0, 0], want[:2] + [100 * MARKET] * 2, rtol=1e-12)
    assert shut["freed"][0, 0] == 0.0


def test_the_forecast_sees_no_reaction():
    data = data_of(model())
    out = run(data, plan_of(data), POLICY)
    assert all(out[name][0, 0] == 0.0 for name in ("rescheduled", "cancelled", "freed"))
    np.testing.assert_array_equal(out["npv"], run(data, plan_of(data), OPEN_LOOP)["npv"])


# ---------------------------------------------------------------- orders and distress sales
#
# No contract: 200 installed GPUs on the training market (438,000 USD a quarter at forecast
# prices), 2 MW of power, no tax, no revolver, minimum cash 0. The plan buys 1,000 GPUs in
# quarter 1 at $4,000 (an order of $4,000,000) and puts them on the market: 1,200 GPUs earn
# 2,628,000 USD a quarter from then on. With $1,000,000 opening cash the forecast ends quarter 0
# with $1,438,000 and quarter 1 with $66,000.

ORDER, ORDER_GPUS, QUARTER_1 = 4_000_000.0, 1000.0, 1200 * MARKET


def order_model(**policy) -> dict:
    d = model(capacity_mw=2.0)
    d["contracts"] = {}
    d["finance"]["opening_cash_usd"] = 1.0e6
    d["policy"] = policy
    return d


def order_plan(data) -> Plan:
    plan = Plan.empty(data)
    plan.held_training[0, :] = 200.0
    plan.buy_blocks[0, 0, 1] = ORDER_GPUS
    bought_1 = next(c.index for c in data.cohorts if c.bought == 1)
    plan.held_training[bought_1, 1:] = ORDER_GPUS
    plan.active[0, 0, 0, 0] = 200.0
    plan.active[0, 0, 0, 1:] = 1200.0
    return plan


def installed_only(data) -> Plan:
    """The 200 installed GPUs on the training market in every quarter, no order."""
    plan = order_plan(data)
    plan.buy_blocks[...] = 0.0
    plan.held_training[1:] = 0.0
    plan.active[0, 0, 0, :] = 200.0
    return plan


def with_later_contract(d: dict, gpus: float) -> dict:
    """``d`` with one signed contract for ``gpus`` GPUs from quarter 2 (2026Q3), for two quarters."""
    d["contracts"] = {
        "later": {"customer": "big", "use": "training", "eligible_skus": ["A"], "gpus": gpus,
                  "start": "2026Q3", "term_quarters": 2, "price_usd_per_gpu_hour": 2.0, "signed": True}
    }  # fmt: skip
    return d


def serving_later_contract(plan: Plan, gpus: float) -> Plan:
    """``plan`` serving the contract of :func:`with_later_contract` from quarter 2."""
    plan.contract_gpus[0, 0, 0, 2:] = gpus
    plan.accepted[0] = 1.0
    return plan


def price_drop(data, quarters):
    scen = deterministic_scenarios(data, 1)
    scen.factors["price_factor"][0, 0, quarters] = 0.0  # the market pays nothing in these quarters
    return scen


def run_cash(data, plan, policy, scen, kernel):
    return run(data, plan, policy, scen, kernel, line="cash_usd")


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_cash_shortfall_smaller_than_the_order_defers_just_enough_of_it(kernel):
    data = data_of(order_model())
    out = run_cash(data, order_plan(data), Policy(), price_drop(data, [0]), kernel)
    # quarter 0 earns nothing: cash 1,000,000; the projection of quarter 1 on the forecast
    # (+2,628,000 - 4,000,000) ends 372,000 short. Deferring all of the order would save its price
    # less what its GPUs earn in quarter 1 (1,000 of the 1,200 market GPUs: 2,190,000), 1,810,000;
    # so the share 372,000 / 1,810,000 is deferred, and quarter 1 ends at exactly 0
    share = 372_000.0 / 1_810_000.0
    want = [1.0e6, 0.0, QUARTER_1 - share * ORDER, 2 * QUARTER_1 - share * ORDER]
    np.testing.assert_allclose(out["cash_usd"][0, 0], want, rtol=1e-12, atol=1e-6)
    assert out["deferred"][0, 0] == 1.0 and out["default"][0, 0] == 0.0
    np.testing.assert_allclose(out["deferred_usd"][0, 0], share * ORDER, rtol=1e-12)
    assert out["order_cancelled"][0, 0] == 0.0 and out["sold"][0, 0] == 0.0
    assert out["forfeited_usd"][0, 0] == 0.0 and out["distress_sold_usd"][0, 0] == 0.0  # nothing lost
    # open loop: the whole order is paid in quarter 1 and cash ends 372,000 below the minimum
    shut = run_cash(data, order_plan(data), OPEN_LOOP, price_drop(data, [0]), kernel)
    np.testing.assert_allclose(shut["cash_usd"][0, 0, 1], -372_000.0, rtol=1e-12)
    assert shut["default"][0, 0] == 1.0
    # when: the default in quarter 1 (one quarter before it); with the policy, none in the 4 quarters
    assert shut["quarters_before_default"][0, 0] == 1.0 and out["quarters_before_default"][0, 0] == 4.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_order_rule_projects_the_plans_sales_within_the_forecast_demand(kernel):
    """The instance above with a forecast market demand of 600 GPUs: the plan offers 1,200 from
    quarter 1 and sells 600 (1,314,000 USD), and the projection is what the evaluator earns on the
    forecast: +1,314,000 - 4,000,000 = -2,686,000 in quarter 1 (not its statements' 1,200 sold,
    +2,628,000 - 4,000,000, which deferred only 20.55 % and ended quarter 1 at -863,901, a default).
    1,000,000 - 2,686,000 is 1,686,000 short. The saving values the 1,000 deferrable GPUs as 1,000 /
    1,200 of what the plan's market GPUs earn on that forecast run, 1,314,000 (docs/evaluation.md,
    policy rule 0): 4,000,000 - 1,095,000 = 2,905,000, so f = 1,686,000 / 2,905,000 = 58.04 % is
    deferred. 1,200 - 1,000 f = 619.6 GPUs are left, 600 of them sold: quarter 1 ends at 1,000,000 +
    1,314,000 - (1 - f) x 4,000,000 = -1,686,000 + 4,000,000 f = 635,514.63 (more than the gap
    needs: the deferred GPUs above the demand earned nothing, and 42.15 % would have ended it at 0).
    Quarter 2 projects 635,514.63 + 1,314,000 - the deferred 2,321,514.63 = -372,000 and cancels
    c = 372,000 / (f x (3,200,000 - 1,095,000)) = 30.45 % of that order: its price less its 20 %
    deposit, less what its GPUs would earn in quarter 2, valued as the saving values them. It
    forfeits c x the deposit, 372,000 x 800,000 / 2,105,000 = 141,377.67, and ends at -372,000 +
    372,000 x 3,200,000 / 2,105,000 = 193,510.69: the 1,023 GPUs left still sell the 600, so the
    cancelled ones lost nothing (in 0.4.20 and before the share ignored what they earn: 20.03 %, 93,000
    forfeited, quarter 2 at 0 here but short by their revenue where demand exceeds the GPUs, as in
    the deeper drop below). Until the saving was valued with the plan's whole offer
    (4,000,000 - 1,000 / 1,200 x 2,628,000 = 1,810,000) it deferred 93.15 %, ended quarter 1 at
    1,314,000 and forfeited 274,491.71 in quarter 2 (the projection -1,097,966.85, x 0.25)."""
    d = order_model(distress_sales=False)
    d["market"]["demand_gpus"] = {"training": 600.0, "inference": 0.0}
    data = data_of(d)
    plans = batch(data, [order_plan(data)])
    np.testing.assert_allclose(plans.forecast_cash_flow[0, :2], [438_000.0, 600 * MARKET - ORDER], rtol=1e-12)
    np.testing.assert_allclose(plans.order_saving[0, 1], ORDER - 1000 / 1200 * 600 * MARKET, rtol=1e-12)
    out = run_cash(data, order_plan(data), Policy(distress_sales=False), price_drop(data, [0]), kernel)
    share = 1_686_000.0 / 2_905_000.0
    np.testing.assert_allclose(out["deferred_usd"][0, 0], share * ORDER, rtol=1e-12)
    cash_2 = -372_000.0 + 372_000.0 * 3_200_000.0 / 2_105_000.0
    np.testing.assert_allclose(out["cash_usd"][0, 0, 1:3], [-1_686_000.0 + share * ORDER, cash_2], atol=1e-6)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], 372_000.0 * 800_000.0 / 2_105_000.0, rtol=1e-12)
    assert out["default"][0, 0] == 0.0


def short_contract_model() -> dict:
    """The order instance with a $2/h contract for 100 GPUs over the four quarters (allowance one
    late quarter at $10,000, then cancelled for $50,000) and $700,000 of opening cash."""
    d = order_model(distress_sales=False)
    d["finance"]["opening_cash_usd"] = 700_000.0
    d["contracts"] = model(delay_allowance_quarters=1, delay_penalty_usd_per_quarter=10000.0)["contracts"]
    return d


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_order_rule_projects_a_contract_served_short_as_the_evaluator_pays_it(kernel):
    """The order plan serving the 100-GPU contract with 60 GPUs (140, then 1,140, on the market):
    its statements earn 60 x 4,380 + 140 x 2,190 = 569,400 in quarter 0 and 569,400 + 2,190,000 -
    4,000,000 = -1,240,600 in quarter 1. The evaluator, on the forecast, delivers the contract short:
    late in quarter 0 (569,400 - 10,000 = 559,400), cancelled in quarter 1 with its $50,000 penalty,
    its 60 GPUs then on the market with the other 1,140: 2,628,000 - 50,000 - 4,000,000 = -1,422,000.
    On the forecast quarter 0 ends at 1,259,400 and quarter 1 projects to 1,259,400 - 1,422,000 =
    -162,600 (the statements' projection, +18,800, deferred nothing and quarter 1 ended at -162,600,
    a default). The deferrable order is the 1,000 GPUs' free share, 1 - 60 / 1,200: 950 GPUs,
    3,800,000 USD, whose GPUs would earn 950 / 1,140 of the plan's 1,140 market GPUs' 2,496,600,
    2,080,500: saving 1,719,500, f = 162,600 / 1,719,500 = 9.456 %. Quarter 1 then ends at 1,259,400
    + 2,190 x (1,200 - 950 f) - 50,000 - (4,000,000 - 3,800,000 f) = -162,600 + 1,719,500 f = 0."""
    data = data_of(short_contract_model())
    plan = order_plan(data)
    plan.contract_gpus[0, 0, 0, :] = 60.0  # of the GPUs in service (200, then 1,200)
    plan.accepted[0] = 1.0
    plans = batch(data, [plan])
    want_flow = [559_400.0, -1_422_000.0, 1200 * MARKET, 1200 * MARKET]
    np.testing.assert_allclose(plans.forecast_cash_flow[0], want_flow, rtol=1e-12)
    out = run_cash(data, plan, Policy(distress_sales=False), None, kernel)
    share = 162_600.0 / 1_719_500.0
    np.testing.assert_allclose(out["deferred_usd"][0, 0], share * 3_800_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["cash_usd"][0, 0, :2], [1_259_400.0, 0.0], rtol=1e-12, atol=1e-6)
    assert out["cancelled"][0, 0] == 1.0 and out["default"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
@pytest.mark.parametrize("demand", [1.0e6, 300.0])
def test_gpus_deferred_in_a_quarter_short_of_power_leave_their_power_to_the_gpus_left(kernel, demand):
    """The deferred order's instance with 0.6 MW online: from quarter 1 the 1,200 market GPUs (1 kW
    each) get half their power, 600 run, and sell min(600, demand). The projection is what the
    evaluator earns on the forecast, so quarter 1 projects to the cash after quarter 0 (the opening
    cash plus 200 x 2,190) + min(600, demand) x 2,190 - 4,000,000; an opening cash that leaves it
    372,000 short defers f = 372,000 / saving, the saving valuing the 1,000 GPUs as 1,000 / 1,200 of
    what the plan's market GPUs earn on that forecast run, min(600, demand) x 2,190 (policy rule 0):
    4,000,000 - 1,095,000 = 2,905,000 with ample demand (1,000 f = 128.05 GPUs), 4,000,000 - 547,500
    = 3,452,500 where demand is 300 (1,000 f = 107.75; until the saving counted the offer it was
    1,810,000 for both, 205.52 GPUs). 1,071.95 or 1,092.25 GPUs are left, drawing more than the 0.6
    MW, which power 600 of them (docs/evaluation.md, "GPUs taken out"): all 600 sell with ample
    demand, 300 (657,000 USD) where demand is 300 GPUs. The deferred GPUs' power used to go unused:
    600 - 1,000 f offered; before that, revenue was taken out in proportion, 600 x (1 - 1,000 f /
    1,200) GPUs earning. With ample demand the GPUs deferred lost nothing, so quarter 1 ends
    4,000,000 f - 372,000 = 140,220.31 above the minimum, where f = 9.30 % would have ended it there
    (the saving is linear in f: docs/evaluation.md, policy rule 0)."""
    d = order_model(distress_sales=False)
    d["sites"]["s1"]["power_capacity_mw"] = 0.6
    d["market"]["demand_gpus"] = {"training": demand, "inference": 0.0}
    d["finance"]["opening_cash_usd"] = ORDER - 372_000.0 - 200 * MARKET - min(600.0, demand) * MARKET
    data = data_of(d)
    out = run(data, order_plan(data), Policy(distress_sales=False), None, kernel)
    deferred = 1000 * 372_000.0 / (ORDER - 1000 / 1200 * min(600.0, demand) * MARKET)
    np.testing.assert_allclose(out["deferred_usd"][0, 0], deferred * 4000.0, rtol=1e-12)
    sold = min(600.0, demand)  # 0.6 MW for the 1,071.95 or 1,092.25 GPUs left: 600 run
    np.testing.assert_allclose(out["ebitda_usd"][0, 0, 1], sold * MARKET, rtol=1e-12)
    later = min(600.0, demand)  # quarters 2-3: the order delivered, 600 of 1,200 powered
    np.testing.assert_allclose(out["demand_served"][0, 0], 200.0 + sold + 2 * later, rtol=1e-12)
    if demand > 600.0:  # the GPUs deferred lost nothing: 4,000,000 f - 372,000 above the minimum
        cash = run_cash(data, order_plan(data), Policy(distress_sales=False), None, kernel)["cash_usd"]
        np.testing.assert_allclose(cash[0, 0, 1], 140_220.31, atol=0.01)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_gpus_deferred_beyond_the_power_shortfall_leave_every_gpu_left_powered(kernel):
    """The instance above with 0.9 MW online (900 of the 1,200 GPUs powered) and the whole order
    deferred (a buffer of $10M): 200 GPUs are left, drawing 0.2 MW of the 0.9 MW, so all 200 sell
    (438,000 USD) in quarter 1; the 1,000 deferred GPUs (of the one generation of the 1,200) used to
    take out min(1,000, 900) of its 900 powered GPUs, leaving none to sell."""
    d = order_model(distress_sales=False, liquidity_buffer_usd=1.0e7)
    d["sites"]["s1"]["power_capacity_mw"] = 0.9
    data = data_of(d)
    policy = Policy(distress_sales=False, liquidity_buffer_usd=1.0e7)
    out = run(data, order_plan(data), policy, price_drop(data, [0]), kernel)
    np.testing.assert_allclose(out["deferred_usd"][0, 0], ORDER, rtol=1e-12)
    np.testing.assert_allclose(out["ebitda_usd"][0, 0, 1], 200 * MARKET, rtol=1e-12)


def two_generation_model(electricity_usd_per_mwh: float = 100.0) -> dict:
    """The deferred order's instance with the order in SKU B (Blackwell) beside the 200 installed
    GPUs of A (Hopper), electricity at $100/MWh (219 USD a quarter per 1 kW GPU), 0.6 MW online for
    the 1,200 market GPUs planned from quarter 1, and a liquidity buffer of $10M: from quarter 1
    each site's GPUs get half their power (100 of A, 500 of B run), and the whole order is deferred
    in quarter 1 (its gap exceeds what deferring all of it saves)."""
    d = order_model(distress_sales=False, liquidity_buffer_usd=1.0e7)
    d["skus"]["B"] = sku(generation="blackwell")
    d["sites"]["s1"].update(power_capacity_mw=0.6, electricity_price_usd_per_mwh=electricity_usd_per_mwh)
    return d


def two_generation_plan(data) -> Plan:
    plan = Plan.empty(data)
    b = data.sku_names.index("B")
    plan.held_training[0, :] = 200.0
    plan.buy_blocks[b, 0, 1] = ORDER_GPUS
    plan.held_training[cohort_index(data, "B", "s1", 1), 1:] = ORDER_GPUS
    plan.active[0, 0, 0, :] = 200.0
    plan.active[0, b, 0, 1:] = ORDER_GPUS
    return plan


@pytest.mark.parametrize("kernel", BACKENDS)
@pytest.mark.parametrize("demand", [1.0e6, 30.0])
@pytest.mark.parametrize("first", [True, False], ids=["contracts-first", "pro-rata"])
def test_a_generation_taken_out_of_a_short_quarter_leaves_its_power_to_the_other(kernel, demand, first):
    """The 1,000 GPUs of B deferred in quarter 1 (taken share 1): the 200 GPUs of A are left, 1 kW
    each, drawing 0.2 MW of the 0.6 MW online, so all 200 are powered (docs/evaluation.md, "GPUs
    taken out"), whether the site's MW go in the policy's order or to every GPU left pro rata: they
    sell (all 200 with ample demand, 30 where the demand is 30 GPUs) and the site draws 0.2 MW,
    200 x 219 USD of electricity. B's powered 500 GPUs used to be removed with their power, A's 100
    powered GPUs selling and drawing 100 x 219 USD; before that B's forecast 1,000 GPUs were removed
    (A sold nothing, an electricity bill of 600 x 219 - 1,000 x 219 USD, negative)."""
    d = two_generation_model()
    d["market"]["demand_gpus"] = {"training": demand, "inference": 0.0}
    data = data_of(d)
    policy = Policy(distress_sales=False, liquidity_buffer_usd=1.0e7, power_to_contracts_first=first)
    out = run(data, two_generation_plan(data), policy, kernel=kernel)
    assert out["deferred"][0, 0] == 1.0
    np.testing.assert_allclose(out["deferred_usd"][0, 0], ORDER, rtol=1e-12)
    electricity = 219.0  # USD per GPU-quarter: 1 kW x 2,190 h x $100/MWh
    sold = min(200.0, demand)  # A's 200 GPUs, all powered
    np.testing.assert_allclose(out["ebitda_usd"][0, 0, 1], sold * MARKET - 200 * electricity, rtol=1e-12)


@pytest.mark.parametrize("first", [True, False], ids=["contracts-first", "pro-rata"])
def test_the_saving_values_the_deferred_gpus_by_what_their_generation_earns_within_the_power(first):
    """Policy rule 0's saving on the two-generation instance: in quarter 1 the 0.6 MW online power
    half of each generation's market GPUs, so on the forecast run B's 1,000 market GPUs earn 500 x
    2,190 less the electricity of the 500 powered, 500 x 219: 985,500. The order is all of B's
    market GPUs, so deferring it saves 4,000,000 - 985,500 = 3,014,500 (docs/evaluation.md; counting
    B's whole offer, 1,000 x (2,190 - 219), it was 2,029,000)."""
    d = two_generation_model()
    d["policy"]["power_to_contracts_first"] = first
    data = data_of(d)
    plans = batch(data, [two_generation_plan(data)])
    np.testing.assert_allclose(plans.order_saving[0], [0.0, ORDER - 500 * (MARKET - 219.0), 0.0, 0.0],
                               rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_electricity_of_a_short_quarter_is_that_of_the_powered_gpus_left(kernel):
    """The case above with nothing earned in quarter 1 (prices 0): its EBITDA is minus the
    electricity bill, that of A's 200 GPUs, all powered (43,800 USD); it used to be that of A's 100
    GPUs powered when the site lacked power for all of them (21,900 USD), and before that negative
    (B's forecast 1,000 GPUs' 219,000 USD taken from the 600 powered GPUs' 131,400: +87,600)."""
    data = data_of(two_generation_model())
    policy = Policy(distress_sales=False, liquidity_buffer_usd=1.0e7)
    scen = deterministic_scenarios(data, 1)
    scen.factors["price_factor"][0, :, 1] = 0.0  # every generation's market pays nothing in quarter 1
    out = run(data, two_generation_plan(data), policy, scen, kernel=kernel)
    assert out["deferred"][0, 0] == 1.0
    np.testing.assert_allclose(out["ebitda_usd"][0, 0, 1], -200 * 219.0, rtol=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_liquidity_default_ends_the_shareholders_claim_in_the_npv_with_limited_liability(kernel):
    """The open loop of the instance above, at 10 % a year: quarter 0 ends with the opening
    $1,000,000 (nothing earned), quarter 1 at -372,000 after paying the order, a default (the
    default level is 0). With limited liability the shareholders lose their 1,000,000 down to the
    default level in quarter 1 and nothing after: -1,000,000 x d1. The NPV counts the recovery
    they would not see (the 1,200 GPUs earn from quarter 2 on) and is far above it; with the
    policy the order is deferred, nothing defaults, and the two NPVs are the same number."""
    d = order_model()
    d["horizon"]["discount_rate_annual"] = 0.10
    data = data_of(d)
    shut = run_cash(data, order_plan(data), OPEN_LOOP, price_drop(data, [0]), kernel)
    np.testing.assert_allclose(shut["cash_usd"][0, 0, :2], [1.0e6, -372_000.0], rtol=1e-12)
    assert data.discount[1] < 1.0 and shut["default"][0, 0] == 1.0
    np.testing.assert_allclose(shut["npv_limited"][0, 0], -1.0e6 * data.discount[1], rtol=1e-12)
    assert shut["npv"][0, 0] > 2.0e6
    out = run_cash(data, order_plan(data), Policy(), price_drop(data, [0]), kernel)
    assert out["default"][0, 0] == 0.0 and out["npv_limited"][0, 0] == out["npv"][0, 0]


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_deeper_drop_cancels_the_deferred_order_and_forfeits_its_deposit(kernel):
    data = data_of(order_model(distress_sales=False))
    out = run_cash(data, order_plan(data), Policy(distress_sales=False), price_drop(data, [0, 1]), kernel)
    share = 372_000.0 / 1_810_000.0
    # quarter 1 earns nothing either: it ends at 1,000,000 - (1 - share) x 4,000,000
    cash_1 = 1.0e6 - (1.0 - share) * ORDER
    # quarter 2's projection: cash_1 + 2,628,000 (no order of its own to defer) less the deferred
    # payment due, share x 4,000,000, is 372,000 short. Cancelling all of it saves its price less
    # the 20 % deposit, less the 2,190 each of its share x 1,000 GPUs would earn then: share x
    # 1,010,000, less than the gap, so all of it is cancelled (in 0.4.20 and before the share 372,000 /
    # (share x 3,200,000) = 56.6 % was, and quarter 2 ended short by its GPUs' revenue, -254,587.50)
    due = share * ORDER
    assert -(cash_1 + QUARTER_1 - due) == pytest.approx(372_000.0) and share * 1_010_000.0 < 372_000.0
    cash_2 = cash_1 + (1200.0 - share * ORDER_GPUS) * MARKET - 0.2 * due
    np.testing.assert_allclose(out["cash_usd"][0, 0, :3], [1.0e6, cash_1, cash_2], rtol=1e-12)
    assert cash_2 == pytest.approx(-164_419.89, abs=0.01)
    assert out["order_cancelled"][0, 0] == 1.0 and out["default"][0, 0] == 1.0
    # the deposit lost: 20 % of the whole order; nothing sold (no distress sales here)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], 0.2 * due, rtol=1e-12)
    assert out["distress_sold_usd"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_an_order_whose_deposit_is_its_whole_price_is_not_cancelled(kernel):
    """The deeper drop above with a deposit of 100 % of the price: cancelling the deferred order
    would forfeit as much as paying it and lose its GPUs, so it is paid (it was cancelled whole
    before: the same cash out, 205.5 GPUs fewer, and `order_cancelled` read 0 against a forfeited
    deposit). Quarter 2 ends at cash_1 + 2,628,000 - share x 4,000,000; a default all the same."""
    d = order_model(distress_sales=False)
    d["skus"]["A"]["order_deposit_share"] = 1.0
    data = data_of(d)
    out = run_cash(data, order_plan(data), Policy(distress_sales=False), price_drop(data, [0, 1]), kernel)
    share = 372_000.0 / 1_810_000.0
    cash_1 = 1.0e6 - (1.0 - share) * ORDER
    np.testing.assert_allclose(out["cash_usd"][0, 0, 2], cash_1 + QUARTER_1 - share * ORDER, rtol=1e-12)
    assert out["deferred"][0, 0] == 1.0 and out["order_cancelled"][0, 0] == 0.0
    assert out["forfeited_usd"][0, 0] == 0.0 and out["default"][0, 0] == 1.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_an_order_a_later_contract_needs_is_not_deferred_so_it_cannot_be_cancelled(kernel):
    """The same shortfall of 372,000 in quarter 1, but from quarter 2 a contract takes all 1,200
    GPUs: the order's GPUs are spare in quarter 1 but needed after it, so none of it may be
    deferred (a deferred order that is then cancelled would leave the contract short while the
    evaluator still delivered it). The order is paid in full: cash ends 372,000 short, a default
    (no distress sales here)."""
    d = with_later_contract(order_model(distress_sales=False), 1200)
    data = data_of(d)
    plan = serving_later_contract(order_plan(data), 1200)
    out = run_cash(data, plan, Policy(distress_sales=False), price_drop(data, [0]), kernel)
    np.testing.assert_allclose(out["cash_usd"][0, 0, :2], [1.0e6, -372_000.0], rtol=1e-12)
    assert out["deferred"][0, 0] == 0.0 and out["default"][0, 0] == 1.0


def test_spare_gpus_after_a_quarter_by_hand():
    """A pool of 10 GPUs with 0, 5, 8 and 2 under contract: spare 10, 5, 2, 8. What may leave for
    good after quarter t is the least spare of the later quarters: 2, 2, 8, and no limit after the
    last quarter."""
    from fleetopt.evaluate.batch import spare_after

    got = spare_after(np.full((1, 4), 10.0), np.array([[0.0, 5.0, 8.0, 2.0]]))
    np.testing.assert_array_equal(got, [[2.0, 2.0, 8.0, np.inf]])


def test_a_distress_sale_may_take_gpus_the_plan_sells_later_but_not_a_later_contract_s():
    """A pool of 10 GPUs, 6 sold by the plan in the last quarter, 5 under contract in the second:
    spare 10, 5, 10, 4. An order's GPUs may leave for good up to the least spare of the later
    quarters (4, 4, 4); a distress sale's up to the least over the later quarters with a contract
    (5 before the second quarter, no limit after it): the plan's own sale is cut instead."""
    from fleetopt.evaluate.batch import spare_after

    pool, contracted = np.array([[10.0, 10.0, 10.0, 4.0]]), np.array([[0.0, 5.0, 0.0, 0.0]])
    np.testing.assert_array_equal(spare_after(pool, contracted), [[4.0, 4.0, 4.0, np.inf]])
    got = spare_after(pool, contracted, contracts_only=True)
    np.testing.assert_array_equal(got, [[5.0, np.inf, np.inf, np.inf]])


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_distress_sale_sells_exactly_the_lots_needed(kernel):
    d = order_model(sale_block_gpus=10)
    d["finance"].update(opening_cash_usd=0.0, min_cash_usd=100_000.0)
    data = data_of(d)
    plan = installed_only(data)
    policy = Policy(sale_block_gpus=10)
    out = run_cash(data, plan, policy, price_drop(data, [0]), kernel)
    # quarter 0 earns nothing: cash 0, 100,000 below the minimum. A GPU bought in 2025Q4 fetches
    # 1,500 USD (75 % of $4,000, less the 50 % selling cost): ceil(100,000 / 15,000) = 7 lots of 10
    assert data.proceeds[0, 0] == 1500.0
    np.testing.assert_allclose(out["cash_usd"][0, 0, 0], 70 * 1500.0, rtol=1e-12)
    # the 130 GPUs left earn 130 x 2,190 a quarter from quarter 1
    np.testing.assert_allclose(np.diff(out["cash_usd"][0, 0]), [130 * MARKET] * 3, rtol=1e-12)
    assert out["sold"][0, 0] == 1.0 and out["default"][0, 0] == 0.0
    np.testing.assert_allclose(out["distress_sold_usd"][0, 0], 70 * 1500.0, rtol=1e-12)  # the proceeds
    shut = run_cash(data, plan, OPEN_LOOP, price_drop(data, [0]), kernel)
    assert shut["default"][0, 0] == 1.0 and shut["sold"][0, 0] == 0.0
    assert shut["distress_sold_usd"][0, 0] == 0.0 and shut["forfeited_usd"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_order_rule_projects_without_what_the_gpus_sold_before_would_earn(kernel):
    """The sale above (70 of the 200 installed GPUs sold in quarter 0, cash 105,000, minimum
    100,000), then the plan's order of quarter 1: the forecast cash flow, +2,628,000 - 4,000,000,
    counts the 70 GPUs sold, which would earn 70 / 1,200 of the 1,200 market GPUs' 2,628,000,
    153,300. Quarter 1 projects 105,000 - 1,372,000 - 153,300 = -1,420,300, 1,520,300 short, and
    defers 1,520,300 / 1,810,000 = 84.0 % of the order; the 1,130 - 840 GPUs left earn 290 x 2,190
    and quarter 1 ends at exactly the minimum. Before, it projected 153,300 too high, deferred
    1,367,000 / 1,810,000 = 75.5 %, ended at -53,300 and sold 9 more lots of 10 in distress."""
    d = order_model(sale_block_gpus=10)
    d["finance"].update(opening_cash_usd=0.0, min_cash_usd=100_000.0)
    data = data_of(d)
    out = run_cash(data, order_plan(data), Policy(sale_block_gpus=10), price_drop(data, [0]), kernel)
    share = 1_520_300.0 / 1_810_000.0
    np.testing.assert_allclose(out["deferred_usd"][0, 0], share * ORDER, rtol=1e-12)
    cash_1 = 70 * 1500.0 + (1130.0 - share * ORDER_GPUS) * MARKET - (1.0 - share) * ORDER
    np.testing.assert_allclose(out["cash_usd"][0, 0, :2], [70 * 1500.0, 100_000.0], rtol=1e-12)
    assert cash_1 == pytest.approx(100_000.0, abs=1e-6) and out["default"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_distress_sale_cannot_sell_the_gpus_of_an_order_deferred_in_its_quarter(kernel):
    """The shortfall of the deferral case above, with quarter 1 earning nothing too: a share
    372,000 / 1,810,000 of the order is deferred (205.52 of its 1,000 GPUs), and quarter 1 ends at
    1,000,000 - (1 - share) x 4,000,000 = -2,177,901. A distress sale (lots of 10) would take
    ceil(2,177,901 / 18,333.33) = 119 lots of the plan's 1,200 market GPUs, worth (200 x 1,000 +
    1,000 x 2,000) / 1,200 = 1,833.33 USD each; but the 205.52 deferred GPUs are not there, so only
    994.48 are sold (1,823,204 USD) and the quarter ends 354,696 short: a default. Before the fix
    the sale sold 1,190 GPUs, deferred ones among them, and cash ended above the default level."""
    data = data_of(order_model(sale_block_gpus=10))
    out = run_cash(data, order_plan(data), Policy(sale_block_gpus=10), price_drop(data, [0, 1]), kernel)
    share = 372_000.0 / 1_810_000.0
    b1 = next(c.index for c in data.cohorts if c.bought == 1)
    assert (data.proceeds[0, 1], data.proceeds[b1, 1]) == (1000.0, 2000.0)
    value = (200 * 1000.0 + ORDER_GPUS * 2000.0) / 1200.0
    available = 1200.0 - share * ORDER_GPUS
    cash_1 = 1.0e6 - (1.0 - share) * ORDER + available * value
    np.testing.assert_allclose(out["cash_usd"][0, 0, 1], cash_1, rtol=1e-12)
    assert cash_1 == pytest.approx(-354_696.13, abs=0.01)
    assert out["deferred"][0, 0] == 1.0 and out["sold"][0, 0] == 1.0 and out["default"][0, 0] == 1.0
    assert out["quarters_before_default"][0, 0] == 1.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_after_a_distress_sale_the_order_rule_projects_the_gpus_left(kernel):
    """The case above into quarter 2: the pair has only the 205.52 deferred GPUs (994.48 sold), so
    quarter 2 projects -354,696 + 2,628,000 - the 822,099 due - 994.48 / 1,200 x 2,628,000 =
    -726,696 (before: +1,451,204, cancelling nothing). Cancelling the whole deferred order would
    save its price less the 20 % deposit less its GPUs' 450,099, 207,580; a distress sale of its
    205.52 GPUs raises more, 1,333.33 each ((200 x 500 + 1,000 x 1,500) / 1,200), 274,033, and the
    minimum is the default level: nothing is cancelled, the order is paid and its GPUs, the pair's
    last, are sold: quarter 2 ends at -726,696 + 274,033 = -452,663 (0.4.23 cancelled it all and
    ended at -519,116, the deposit lost with the GPUs)."""
    data = data_of(order_model(sale_block_gpus=10))
    out = run_cash(data, order_plan(data), Policy(sale_block_gpus=10), price_drop(data, [0, 1]), kernel)
    due = 372_000.0 / 1_810_000.0 * ORDER
    sold = 1200.0 - due / 4000.0  # all but the deferred GPUs
    cash_1 = 1.0e6 - (ORDER - due) + sold * (200 * 1000.0 + ORDER_GPUS * 2000.0) / 1200.0
    projected = cash_1 + QUARTER_1 - due - sold / 1200.0 * QUARTER_1
    assert projected == pytest.approx(-726_696.13, abs=0.01)
    saved = 0.8 * due - due / 4000.0 * MARKET
    sale = due / 4000.0 * (200 * 500.0 + ORDER_GPUS * 1500.0) / 1200.0
    assert sale > saved
    np.testing.assert_allclose(out["cash_usd"][0, 0, 2], projected + sale, rtol=1e-12)
    assert out["cash_usd"][0, 0, 2] == pytest.approx(-452_662.98, abs=0.01)
    assert out["order_cancelled"][0, 0] == 0.0 and out["forfeited_usd"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_distress_sale_at_a_discount_sells_more_lots_for_less(kernel):
    """The sale above with `distress_sale_discount` 0.2: a GPU fetches 0.8 x 1,500 = 1,200 USD, so
    ceil(100,000 / 12,000) = 9 lots of 10 are sold, cash ends quarter 0 at 108,000 and the 110 GPUs
    left earn 110 x 2,190 a quarter. A discount of 1 sells nothing: a default."""
    d = order_model(sale_block_gpus=10)
    d["finance"].update(opening_cash_usd=0.0, min_cash_usd=100_000.0)
    data = data_of(d)
    plan = installed_only(data)
    drop = price_drop(data, [0])
    out = run_cash(data, plan, Policy(sale_block_gpus=10, distress_sale_discount=0.2), drop, kernel)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 0], 90 * 1200.0, rtol=1e-12)
    np.testing.assert_allclose(np.diff(out["cash_usd"][0, 0]), [110 * MARKET] * 3, rtol=1e-12)
    assert out["sold"][0, 0] == 1.0 and out["default"][0, 0] == 0.0
    given = run_cash(data, plan, Policy(sale_block_gpus=10, distress_sale_discount=1.0), drop, kernel)
    assert given["sold"][0, 0] == 0.0 and given["default"][0, 0] == 1.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_distress_sale_takes_out_the_plans_market_gpus_not_the_freed_ones(kernel):
    """The customer defaults in quarter 0, so its 100 GPUs join the plan's 100 on the market, which
    pays nothing that quarter: cash 0, 100,000 below the minimum, and 7 lots of 10 of the plan's
    market GPUs are sold at 1,500 USD (freed GPUs are never sold). From quarter 1 the plan's 30
    left and the 100 freed earn the market price: 130 x 2,190 USD a quarter. Before, the sold
    share (70 of the plan's 100) was also taken of the freed GPUs' revenue: 60 x 2,190."""
    d = model()
    d["finance"].update(opening_cash_usd=0.0, min_cash_usd=100_000.0)
    data = data_of(d)
    scen = price_drop(data, [0])
    scen.factors["contract_alive"][0, 0, :] = False
    out = run_cash(data, plan_of(data), Policy(sale_block_gpus=10), scen, kernel)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 0], 70 * 1500.0, rtol=1e-12)
    np.testing.assert_allclose(np.diff(out["cash_usd"][0, 0]), [130 * MARKET] * 3, rtol=1e-12)
    assert out["sold"][0, 0] == 1.0 and out["freed"][0, 0] == 1.0 and out["default"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_distress_sale_keeps_the_gpus_a_later_contract_needs(kernel):
    """The sale above, but from quarter 2 a contract takes 170 of the 200 GPUs: only the 30 that
    no later quarter's contract needs may be sold (3 lots of 10, $45,000), so quarter 0 ends
    $55,000 short of the 100,000 minimum: a liquidity default. Before, 70 GPUs were sold and the
    contract was still delivered with all 170."""
    d = order_model(sale_block_gpus=10)
    d["finance"].update(opening_cash_usd=0.0, min_cash_usd=100_000.0)
    data = data_of(with_later_contract(d, 170))
    plan = installed_only(data)
    plan = serving_later_contract(plan, 170)
    out = run_cash(data, plan, Policy(sale_block_gpus=10), price_drop(data, [0]), kernel)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 0], 30 * 1500.0, rtol=1e-12)
    assert out["sold"][0, 0] == 1.0 and out["default"][0, 0] == 1.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_below_the_floor_but_above_the_default_level_sells_only_to_that_level_and_does_not_default(kernel):
    d = order_model(sale_block_gpus=10)
    d["finance"].update(opening_cash_usd=0.0, min_cash_usd=100_000.0, default_cash_usd=40_000.0)
    data = data_of(d)
    plan = installed_only(data)
    out = run_cash(data, plan, Policy(sale_block_gpus=10), price_drop(data, [0]), kernel)
    # the instance above, with a default level of 40,000: quarter 0 ends 40,000 below it, so
    # ceil(40,000 / 15,000) = 3 lots of 10 GPUs are sold at 1,500 each, not the 7 lots that would
    # restore the 100,000 floor; cash 45,000 is below the floor, which is no default
    np.testing.assert_allclose(out["cash_usd"][0, 0, 0], 30 * 1500.0, rtol=1e-12)
    np.testing.assert_allclose(np.diff(out["cash_usd"][0, 0]), [170 * MARKET] * 3, rtol=1e-12)
    assert out["sold"][0, 0] == 1.0 and out["default"][0, 0] == 0.0
    # without sales, cash 0 is below the default level: a default
    shut = run_cash(data, plan, OPEN_LOOP, price_drop(data, [0]), kernel)
    assert shut["default"][0, 0] == 1.0


# ---------------------------------------------------------------- GPU-backed draws deferred with the order
#
# The order instance above with a $1,000,000 buffer and a GPU-backed loan (max_ltv, 8 % fixed: 2 %
# a quarter, repaid over 4 quarters): the plan draws 1,000,000 in quarter 1 with the order, so the
# forecast's quarter 1 is 2,628,000 - 4,000,000 + 1,000,000 = -372,000.


def draw_model(draw_until: str) -> dict:
    d = order_model(liquidity_buffer_usd=1.0e6)
    d["finance"]["facilities"] = {
        "gpu-loan": {"size_usd": 1.0e6, "fixed_rate_annual": 0.08, "max_ltv": 0.9, "amortization_quarters": 4,
                     "draw_from": "2026Q1", "draw_until": draw_until}
    }  # fmt: skip
    return d


def draw_plan(data) -> Plan:
    plan = order_plan(data)
    plan.draws[0, 1] = 1.0e6
    return plan


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_deferred_order_defers_the_same_share_of_its_gpu_backed_draws(kernel):
    data = data_of(draw_model("2026Q3"))
    out = run_cash(data, draw_plan(data), Policy(liquidity_buffer_usd=1.0e6), price_drop(data, [0]), kernel)
    # quarter 0 earns nothing: 1,000,000; quarter 1 projects to 628,000, 372,000 short of the buffer.
    # Deferring the order now also defers the draw, so it saves 1,810,000 - 1,000,000 = 810,000: the
    # share 372,000 / 810,000 is deferred, and quarter 1 ends at exactly the buffer
    share = 372_000.0 / 810_000.0
    # quarter 2: the deferred payment (share x 4,000,000) and the deferred draw (share x 1,000,000)
    # arrive; interest is on quarter 1's lower balance, 2 % x (1 - share) x 1,000,000; principal as
    # planned, 250,000: 1,000,000 + 2,628,000 - (1 - share) x 20,000 - 250,000 - share x 3,000,000
    cash_2 = 3_358_000.0 - 2_980_000.0 * share
    # quarter 3: interest 2 % x 750,000 = 15,000, principal 250,000
    want = [1.0e6, 1.0e6, cash_2, cash_2 + 2_628_000.0 - 15_000.0 - 250_000.0]
    np.testing.assert_allclose(out["cash_usd"][0, 0], want, rtol=1e-12)
    np.testing.assert_allclose(out["deferred_usd"][0, 0], share * ORDER, rtol=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_gpu_backed_draw_deferred_with_the_order_leaves_the_borrowing_base(kernel):
    """The deferral above at a 30 % loan-to-value: quarter 1's balance is (1 - share) x 1,000,000,
    which needs 1,802,469 of collateral; the GPUs held are the 200 installed ($2,000 each) and the
    (1 - share) x 1,000 of the order that arrived ($4,000 each): 2,562,963, enough. The whole
    draw would need 3,333,333 (and the draw counted twice, (1 + share) x 1,000,000 / 0.3,
    4,864,198): either breaches. Quarters 2 and 3: 750,000 / 0.3 against 3,200,000 and 500,000 / 0.3
    against 2,000,000."""
    d = draw_model("2026Q3")
    d["finance"]["facilities"]["gpu-loan"]["max_ltv"] = 0.3
    data = data_of(d)
    out = run_cash(data, draw_plan(data), Policy(liquidity_buffer_usd=1.0e6), price_drop(data, [0]), kernel)
    share = 372_000.0 / 810_000.0
    assert (1 - share) * 1.0e6 / 0.3 <= 200 * 2_000.0 + (1 - share) * 1_000 * 4_000.0 < 1.0e6 / 0.3
    np.testing.assert_allclose(out["deferred_usd"][0, 0], share * ORDER, rtol=1e-12)
    assert out["breach"][0, 0] == 0.0 and out["first_breach"][0, 0] == 0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_partly_deferrable_order_defers_only_the_draws_that_fund_its_deferrable_part(kernel):
    """The same order, but in quarter 1 a one-quarter contract (at the market's price) takes 600 of
    the 1,200 GPUs: half of the order may be deferred (500 GPUs, 2,000,000). The lender still funds
    the 500 GPUs that arrive, so only half of the 1,000,000 draw goes with the deferred part: it
    saves 2,000,000 - 1,095,000 (500 of the 600 market GPUs' 1,314,000) - 500,000 = 405,000. (With
    the whole draw going with it, it saved -95,000: nothing was deferred and cash ended 372,000
    below the buffer.)"""
    d = draw_model("2026Q3")
    d["contracts"] = {
        "now": {"customer": "big", "use": "training", "eligible_skus": ["A"], "gpus": 600, "start": "2026Q2",
                "term_quarters": 1, "price_usd_per_gpu_hour": 1.0, "signed": True}
    }  # fmt: skip
    data = data_of(d)
    plan = draw_plan(data)
    plan.contract_gpus[0, 0, 0, 1] = 600.0  # of the 1,200 in service
    plan.accepted[0] = 1.0
    out = run_cash(data, plan, Policy(liquidity_buffer_usd=1.0e6), price_drop(data, [0]), kernel)
    share = 372_000.0 / 405_000.0
    # quarter 2: the deferred payment (share x 2,000,000) and draw (share x 500,000) arrive, interest
    # 2 % on quarter 1's balance (1,000,000 - share x 500,000), principal 250,000 as planned
    cash_2 = 1.0e6 + 2_628_000.0 - 0.02 * (1.0e6 - share * 500_000.0) - 250_000.0 - share * 1_500_000.0
    np.testing.assert_allclose(out["cash_usd"][0, 0, :3], [1.0e6, 1.0e6, cash_2], rtol=1e-12)
    np.testing.assert_allclose(out["deferred_usd"][0, 0], share * 2_000_000.0, rtol=1e-12)
    assert out["default"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_draw_in_the_last_quarter_of_its_window_is_not_deferred(kernel):
    data = data_of(draw_model("2026Q2"))  # the loan cannot draw in quarter 2
    out = run_cash(data, draw_plan(data), Policy(liquidity_buffer_usd=1.0e6), price_drop(data, [0]), kernel)
    # the draw is made in full in quarter 1, so deferring the order saves its whole 1,810,000: the
    # share 372,000 / 1,810,000; quarter 2 pays the deferred order, interest 20,000 and 250,000
    share = 372_000.0 / 1_810_000.0
    want_2 = 1.0e6 + 2_628_000.0 - 20_000.0 - 250_000.0 - share * ORDER
    np.testing.assert_allclose(out["cash_usd"][0, 0, :3], [1.0e6, 1.0e6, want_2], rtol=1e-12)


# A cancelled order's draws (docs/evaluation.md, policy rule 0, "A cancelled order's draws"): the
# deferral instance above with $967,000 of opening cash defers half the order (372,000 - 33,000 short,
# over the saving 810,000: f = 0.5); quarter 0 earns nothing and quarter 1 earns 40 % of its prices
# on its 700 GPUs: 0.4 x 700 x 2,190 = 613,200, so it ends at 967,000 + 613,200 - 0.5 x 3,000,000 =
# 80,200. Quarter 2 projects 80,200 + 2,628,000 - 20,000 - 250,000 - 2,000,000 + 500,000 + 10,000
# (the 2 % the forecast charges on the deferred 500,000, which quarter 1's balance did not bear) =
# 948,200, 51,800 short of the buffer. Cancelling all of the deferred half saves its price less its
# deposit, 1,600,000, less what its 500 GPUs earn, 1,095,000, less the 500,000 draw that does not come
# less the 125,000 of it the plan repays in quarter 2 (a quarter of its balance): 130,000; c = 51,800 /
# 130,000. (Until 0.4.21 the draw came all the same: 505,000, c = 12.24 %; in 0.4.23 and before the
# projection left out the 10,000: c = 61,800 / 130,000, and quarter 2 ended at 1,010,000, above the
# buffer.)


def cancel_model(repayment: str) -> dict:
    d = draw_model("2026Q3")
    d["finance"]["opening_cash_usd"] = 967_000.0
    if repayment == "bullet":  # repaid whole at the maturity in quarter 3, floating at 0 + 8 %
        loan = d["finance"]["facilities"]["gpu-loan"]
        del loan["amortization_quarters"], loan["fixed_rate_annual"]
        loan.update(repayment="bullet", maturity="2026Q4", spread_over_reference_annual=0.08)
    return d


def cancel_scenario(data, price_1: float = 0.4, rate_shift: float = 0.0):
    scen = price_drop(data, [0])
    scen.factors["price_factor"][0, 0, 1] = price_1
    scen.factors["rate_shift"][0, 3] = rate_shift
    return scen


def cancel_run(data, scen, kernel: bool, **policy) -> dict:
    policy = Policy(liquidity_buffer_usd=1.0e6, **policy)
    run(data, draw_plan(data), policy, scen, kernel)  # the C build agrees
    consts = SimulationConstants.from_data(data).with_policy(policy)
    lines = ("cash_usd", "interest_usd", "principal_usd", "draws_usd", "debt_usd")
    return simulate(consts, batch(data, [draw_plan(data)]), scen, record=lines)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_cancelled_order_cancels_the_gpu_backed_draws_deferred_with_it(kernel):
    data = data_of(cancel_model("amortizing"))
    out = cancel_run(data, cancel_scenario(data), kernel)
    c = 51_800.0 / 130_000.0
    forgone = c * 500_000.0  # X: the draw never drawn
    assert out["order_cancelled"][0, 0] == 1.0 and out["default"][0, 0] == 0.0
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], c * 400_000.0, rtol=1e-12)  # c x the deposit
    # quarter 2: the half of the draw not cancelled arrives; interest 2 % on quarter 1's 500,000;
    # principal 250,000 less X's quarter, X / 4; cash 80,200 + (1,200 - 500 c) x 2,190 - (2,000,000 -
    # 1,600,000 c) + 500,000 (1 - c) - 10,000 - (250,000 - X / 4) = 948,200 + 130,000 c: the buffer
    # (the projection counts the 10,000 of interest the deferred draw saves)
    cash_2 = 1_000_000.0
    np.testing.assert_allclose(out["draws_usd"][0, 0, 2], (1.0 - c) * 500_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["principal_usd"][0, 0, 2], 250_000.0 - forgone / 4, rtol=1e-12)
    np.testing.assert_allclose(out["debt_usd"][0, 0, 2], 0.75 * (1.0e6 - forgone), rtol=1e-12)
    # quarter 3: the pair owes 0.75 X less: it saves 2 % of it in interest and a third of it (the share
    # of its balance the plan repays) in principal
    np.testing.assert_allclose(out["interest_usd"][0, 0, 3], 0.02 * 0.75 * (1.0e6 - forgone), rtol=1e-12)
    np.testing.assert_allclose(out["principal_usd"][0, 0, 3], 250_000.0 - forgone / 4, rtol=1e-12)
    cash_3 = cash_2 + (1200.0 - 500.0 * c) * MARKET - (15_000.0 - 0.015 * forgone) - (250_000.0 - forgone / 4)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 2:], [cash_2, cash_3], rtol=1e-12)
    np.testing.assert_allclose(out["debt_usd"][0, 0, 3], 0.5 * (1.0e6 - forgone), rtol=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_cancellation_sized_to_close_the_gap_ends_on_the_buffer(kernel):
    """The instance above at a 0 % rate: quarter 2 projects 958,200 (no interest), 41,800 short;
    c = 41,800 / 130,000 and quarter 2 ends on the buffer."""
    d = cancel_model("amortizing")
    d["finance"]["facilities"]["gpu-loan"]["fixed_rate_annual"] = 0.0
    data = data_of(d)
    out = cancel_run(data, cancel_scenario(data), kernel)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 2], 1.0e6, rtol=1e-12)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], 41_800.0 / 130_000.0 * 400_000.0, rtol=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
@pytest.mark.parametrize("rate_shift", [0.0, 0.04])
def test_a_cancelled_bullets_draw_is_not_repaid_at_its_maturity(kernel, rate_shift):
    """The instance above on a floating bullet (0 % + 8 %, maturing in quarter 3) with quarter 1
    earning nothing, without distress sales: the plan repays nothing in quarter 2, so cancelling
    saves 1,600,000 - 1,095,000 - 500,000 = 5,000, short of the 425,000 gap: all of it is cancelled
    (a default: quarter 1 already ended at -533,000). Quarter 3 charges (8 % + shift) / 4 on the
    500,000 drawn, not on 1,000,000, and repays 500,000 at the maturity."""
    data = data_of(cancel_model("bullet"))
    out = cancel_run(data, cancel_scenario(data, 0.0, rate_shift), kernel, distress_sales=False)
    assert out["order_cancelled"][0, 0] == 1.0 and out["default"][0, 0] == 1.0
    np.testing.assert_allclose(out["draws_usd"][0, 0, 2], 0.0, atol=1e-6)
    np.testing.assert_allclose(out["debt_usd"][0, 0, 2], 500_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["interest_usd"][0, 0, 3], (0.08 + rate_shift) / 4 * 500_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["principal_usd"][0, 0, 3], 500_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["debt_usd"][0, 0, 3], 0.0, atol=1e-6)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_draw_the_plan_prepays_in_its_own_quarter_moves_with_the_order_only_as_far_as_it_is_owed(kernel):
    """The cancelled-draws instance with the plan prepaying 600,000 of its 1,000,000 draw in quarter
    1 itself (no prepayment cut): it owes 400,000 at the end of quarter 1, so only that funds the
    order past the quarter and moves with it. Quarter 1 earns its forecast: 967,000 + 2,628,000 -
    4,000,000 + 1,000,000 - 600,000 projects 1,005,000 short of the buffer; deferring the order saves
    1,810,000 - 400,000, f = 1,005,000 / 1,410,000 = 71.28 %, and quarter 1 ends on the buffer owing
    (1 - f) x 400,000. Quarter 2 projects 1,000,000 + 2,628,000 - 8,000 (2 % of 400,000) - 250,000 -
    f x 4,000,000 + f x 400,000 + f x 8,000 = 809,744.68, 190,255.32 short; cancelling all of the
    deferred order saves f x (3,200,000 - 2,190,000 - 150,000: the 400,000 not drawn less the 250,000
    of it the plan repays now), so c = 31.04 % and the pair never draws X = c f 400,000: it repays
    250,000 - 0.625 X and owes 150,000 - 0.375 X, 116,815.93, repaid in quarter 3. (In 0.4.23 and
    before the whole 1,000,000 moved with the order: all of it was deferred, and the pair, having
    prepaid 600,000 it had not drawn, owed -600,000 at the end of quarter 1, earning interest on it.)"""
    data = data_of(cancel_model("amortizing"))
    plan = draw_plan(data)
    plan.prepay[0, 1] = 600_000.0
    policy = Policy(liquidity_buffer_usd=1.0e6, cut_prepayments=False)
    run(data, plan, policy, price_drop(data, [0]), kernel)  # the C build agrees
    consts = SimulationConstants.from_data(data).with_policy(policy)
    lines = ("cash_usd", "interest_usd", "principal_usd", "debt_usd")
    out = simulate(consts, batch(data, [plan]), price_drop(data, [0]), record=lines)
    f = 1_005_000.0 / 1_410_000.0
    c = (1.0e6 - (3_370_000.0 - f * 3_592_000.0)) / (f * 860_000.0)
    forgone = c * f * 400_000.0
    np.testing.assert_allclose(out["deferred_usd"][0, 0], f * ORDER, rtol=1e-12)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], c * f * 800_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["cash_usd"][0, 0, :3], [967_000.0, 1.0e6, 1.0e6], rtol=1e-12)
    np.testing.assert_allclose(out["interest_usd"][0, 0, 2], 0.02 * (1.0 - f) * 400_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["principal_usd"][0, 0, 2], 250_000.0 - 0.625 * forgone, rtol=1e-12)
    owed = [0.0, (1.0 - f) * 400_000.0, 150_000.0 - 0.375 * forgone, 0.0]
    np.testing.assert_allclose(out["debt_usd"][0, 0], owed, rtol=1e-12, atol=1e-6)
    assert owed[2] == pytest.approx(116_815.93, abs=0.01) and out["order_cancelled"][0, 0] == 1.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_second_cancelled_order_s_draws_never_leave_the_pair_owing_less_than_nothing(kernel):
    """The cancelled-draws instance over 5 quarters on a $2,000,000 loan, with a second order of
    1,000 GPUs and a second $1,000,000 draw in quarter 2, the plan prepaying $900,000 then; the market
    pays nothing from quarter 0 to 3. Quarter 1 defers half the order and its draw (as above): the
    pair draws 500,000. Quarter 2 cancels all of that half (X = 500,000 never drawn) and defers all of
    the second order. The plan owes 2,000,000, repays 250,000 (12.5 %) and prepays 900,000 (45 %):
    it owes 850,000, all of which moves with the order (the second draw is owed that far), so the
    pair draws 150,000. X repaid in the plan's shares leaves 42.5 % X = 212,500, above the 850,000 -
    850,000 the pair owes: that too is repaid in the shares, 12.5 / 57.5 of it by principal: the pair
    repays 250,000 - 62,500 - 46,195.65 = 141,304.35 and prepays 900,000 - 225,000 - 166,304.35 =
    508,695.65, all it drew (650,000), and owes 0, then nothing more. (In 0.4.25 and before it repaid
    862,500 of the 650,000 and owed -212,500, earning interest on it.)"""
    d = cancel_model("amortizing")
    d["horizon"]["quarters"] = 5
    d["finance"]["facilities"]["gpu-loan"].update(size_usd=2.0e6, draw_until="2026Q4")
    data = data_of(d)
    plan = draw_plan(data)
    second = next(c.index for c in data.cohorts if c.bought == 2)
    plan.buy_blocks[0, 0, 2] = ORDER_GPUS
    plan.held_training[second, 2:] = ORDER_GPUS
    plan.active[0, 0, 0, 2:] += ORDER_GPUS
    plan.draws[0, 2] = 1.0e6
    plan.prepay[0, 2] = 900_000.0
    scen = price_drop(data, [0, 1, 2, 3])
    policy = Policy(liquidity_buffer_usd=1.0e6, cut_prepayments=False, distress_sales=False)
    run(data, plan, policy, scen, kernel)  # the C build agrees
    consts = SimulationConstants.from_data(data).with_policy(policy)
    lines = ("draws_usd", "principal_usd", "prepayment_usd", "interest_usd", "debt_usd")
    out = simulate(consts, batch(data, [plan]), scen, record=lines)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], 0.5 * 800_000.0 + 800_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["draws_usd"][0, 0, :3], [0.0, 500_000.0, 150_000.0], atol=1e-6)
    over = 0.425 * 500_000.0
    np.testing.assert_allclose(out["principal_usd"][0, 0, 2], 187_500.0 - over * 0.125 / 0.575, rtol=1e-12)
    np.testing.assert_allclose(out["prepayment_usd"][0, 0, 2], 675_000.0 - over * 0.45 / 0.575, rtol=1e-12)
    assert out["principal_usd"][0, 0, 2] + out["prepayment_usd"][0, 0, 2] == pytest.approx(650_000.0)
    np.testing.assert_allclose(out["debt_usd"][0, 0], [0.0, 500_000.0, 0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out["interest_usd"][0, 0, 3:], 0.0, atol=1e-6)



def second_order_with_prepayment(order_quarter: int, draw_until: str):
    """The cancelled-draws instance (3 MW, a $2,000,000 loan drawable to ``draw_until``, the
    horizon two quarters beyond the order) with a second order of ORDER_GPUS in
    ``order_quarter``, a $1,000,000 draw and a $900,000 prepayment that quarter: (data, plan)."""
    d = cancel_model("amortizing")
    d["horizon"]["quarters"] = order_quarter + 3
    d["sites"]["s1"]["power_capacity_mw"] = 3.0
    d["finance"]["facilities"]["gpu-loan"].update(size_usd=2.0e6, draw_until=draw_until)
    data = data_of(d)
    plan = draw_plan(data)
    second = next(c.index for c in data.cohorts if c.bought == order_quarter)
    plan.buy_blocks[0, 0, order_quarter] = ORDER_GPUS
    plan.held_training[second, order_quarter:] = ORDER_GPUS
    plan.active[0, 0, 0, order_quarter:] += ORDER_GPUS
    plan.draws[0, order_quarter], plan.prepay[0, order_quarter] = 1.0e6, 900_000.0
    return data, plan


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_cancellation_counts_the_balance_never_drawn_it_leaves_above_the_plans(kernel):
    """The second-cancelled-order instance (3 MW) with quarter 1 earning 90 % of its prices: it
    defers half the order and its draw, and ends at 967,000 + 0.9 x 700 x 2,190 - 2,000,000 +
    500,000 = 846,700. Quarter 2 projects 2,200 x 2,190 - 4,000,000 + 1,000,000 - 250,000 - 900,000
    - 20,000 - 2,000,000 (the half due) + 500,000 (its draw) + 10,000 (the interest not charged on
    it) = -842,000: gap 995,300. Deferring all of the second order saves 4,000,000 - 2,190,000 -
    850,000 (its draw, as far as the plan owes) = 960,000, 35,300 short; cancelling the half due
    saves 1,600,000 - 1,095,000 - 212,500 (its draw less the 57.5 % the plan repays now) = 292,500
    per unit c. Its draw never drawn, c x 500,000, leaves 42.5 % of it, c x 212,500, above the
    pair's balance (the plan's 850,000 all deferred): repaid too, so c x 505,000 = 35,300, c =
    6.99 %, and quarter 2 ends on the buffer. Left out (0.4.27 and before), c = 35,300 / 292,500 =
    12.07 % and quarter 2 ended $25,645.30 above it."""
    data, plan = second_order_with_prepayment(2, draw_until="2026Q4")
    policy = Policy(liquidity_buffer_usd=1.0e6, cut_prepayments=False, distress_sales=False)
    out = run(data, plan, policy, cancel_scenario(data, price_1=0.9), kernel, line="cash_usd")
    c = 35_300.0 / (292_500.0 + 212_500.0)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 1:3], [846_700.0, 1.0e6], rtol=1e-12)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], c * 400_000.0, rtol=1e-9)
    np.testing.assert_allclose(out["deferred_usd"][0, 0], 0.5 * ORDER + ORDER, rtol=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_deferral_counts_the_balance_never_drawn_it_leaves_above_the_plans(kernel):
    """The cancelled-draws instance over 6 quarters (3 MW, a $2,000,000 loan drawable to quarter 4):
    quarters 0-2 as docs/evaluation.md works them (quarter 2 cancels c = 39.85 % and ends at the
    $1,000,000 buffer, the pair owing X = 149,423.08 less from quarter 3). Quarter 3 buys a second
    order of 1,000 GPUs ($4,000,000; 700 of the 2,200 GPUs held idle that quarter) with a
    $1,000,000 draw, and prepays $900,000: the plan repays 1,150,000 / 1,750,000 of its balance and owes R =
    600,000, all of it movable with the order. On the forecast: 1,500 x 2,190 - 4,000,000 +
    1,000,000 - 250,000 - 900,000 - 15,000 = -880,000, less the 199.23 GPUs cancelled (436,315.38),
    plus X's interest and shares (2,988.46 + 98,192.31): gap G = 1,215,134.62; deferring all the
    order saves S = 4,000,000 - 2,190,000 - 600,000 = 1,210,000. X left after the shares, 51,230.77,
    exceeds R - f x 600,000 for f above 0.9146 and the excess is repaid: the share closing G is
    f = (G + 600,000 - 51,230.77) / (S + 600,000) = 97.45 %, and quarter 3 ends on the buffer. Left
    out (0.4.27 and before), the whole order was deferred and quarter 3 ended $46,096.15 above it."""
    data, plan = second_order_with_prepayment(3, draw_until="2027Q1")
    plan.active[0, 0, 0, 3] -= 700.0
    policy = Policy(liquidity_buffer_usd=1.0e6, cut_prepayments=False, distress_sales=False)
    out = run(data, plan, policy, cancel_scenario(data), kernel, line="cash_usd")
    gap = 1_000_000.0 - (1_000_000.0 - 880_000.0 - 436_315.38 + 2_988.46 + 98_192.31)
    f = (gap + 600_000.0 - 51_230.77) / (1_210_000.0 + 600_000.0)
    assert f == pytest.approx(0.97453, abs=1e-5)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 2:4], [1.0e6, 1.0e6], rtol=1e-12)
    np.testing.assert_allclose(out["deferred_usd"][0, 0], 0.5 * ORDER + f * ORDER, rtol=1e-8)


# ---------------------------------------------------------------- prepayments cut to what cash can pay
#
# No contract: 200 GPUs on the training market earn 438,000 USD a quarter; opening cash 100,000,
# minimum 0, no tax, no revolver. A loan of 1,000,000 at 8 % fixed (2 % a quarter) amortises over
# 4 quarters (250,000 a quarter). Quarter 0: interest 20,000 and principal 250,000 leave
# 100,000 + 438,000 - 20,000 - 250,000 = 268,000 for the plan's prepayment of 500,000.


def prepay_model(**policy) -> dict:
    d = order_model(**policy)
    d["finance"]["opening_cash_usd"] = 1.0e5
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 1.0e6, "opening_balance_usd": 1.0e6, "fixed_rate_annual": 0.08,
                 "amortization_quarters": 4, "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    return d


def prepay_plan(data, prepay: float) -> Plan:
    plan = Plan.empty(data)
    plan.held_training[0, :] = 200.0
    plan.active[0, 0, 0, :] = 200.0
    plan.prepay[0, 0] = prepay
    return plan


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_prepayment_cash_cannot_pay_is_cut_and_the_rest_amortises_as_scheduled(kernel):
    data = data_of(prepay_model())
    out = run_cash(data, prepay_plan(data, 500_000.0), Policy(), None, kernel)
    # quarter 0: only 268,000 of the 500,000 is prepaid; cash ends at the minimum, 0, and 232,000
    # stays outstanding. Quarter 1: the plan's 250,000 left is its last instalment; interest
    # 2 % x (250,000 + 232,000) = 9,640: cash 438,000 - 9,640 - 250,000 = 178,360. Quarter 2: the
    # schedule's third 250,000 instalment, which the plan had prepaid, now repays the 232,000
    # kept, with its interest 4,640: cash 178,360 + 438,000 - 4,640 - 232,000 = 379,720. Quarter 3:
    # no debt left, +438,000
    want = [0.0, 178_360.0, 379_720.0, 817_720.0]
    np.testing.assert_allclose(out["cash_usd"][0, 0], want, rtol=1e-12, atol=1e-6)
    assert out["prepayment_cut"][0, 0] == 1.0 and out["default"][0, 0] == 0.0
    # open loop: all 500,000 prepaid, quarter 0 ends 232,000 below the minimum (a default); the
    # 9,280 of interest on the kept balance is saved: quarter 3 ends at 827,000
    shut = run_cash(data, prepay_plan(data, 500_000.0), OPEN_LOOP, None, kernel)
    np.testing.assert_allclose(shut["cash_usd"][0, 0], [-232_000.0, -49_000.0, 389_000.0, 827_000.0],
                               rtol=1e-12)  # fmt: skip
    assert shut["default"][0, 0] == 1.0 and shut["prepayment_cut"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_prepayment_keeps_the_buffer_and_one_cash_can_pay_is_not_cut(kernel):
    # with a 50,000 buffer only 218,000 is prepaid: quarter 0 ends at 50,000
    data = data_of(prepay_model(liquidity_buffer_usd=50_000.0))
    out = run_cash(data, prepay_plan(data, 500_000.0), Policy(liquidity_buffer_usd=50_000.0), None, kernel)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 0], 50_000.0, rtol=1e-12)
    # a prepayment of 268,000 leaves exactly the minimum: nothing is cut, the same bits as open loop
    data = data_of(prepay_model())
    out = run_cash(data, prepay_plan(data, 268_000.0), Policy(), None, kernel)
    assert out["prepayment_cut"][0, 0] == 0.0
    shut = run_cash(data, prepay_plan(data, 268_000.0), OPEN_LOOP, None, kernel)
    np.testing.assert_array_equal(out["cash_usd"], shut["cash_usd"])
    np.testing.assert_array_equal(out["npv"], shut["npv"])



@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_prepayment_of_round_off_is_neither_cut_nor_counted(kernel):
    """With a 300,000 buffer quarter 0's 268,000 before the prepayment is 32,000 short: a planned
    prepayment of $0.10 (a MILP's 1e-7 MUSD) is paid as planned, no cut counted, the same bits as
    open loop; one of $2, above the $1 of round-off, is cut whole and cash ends at 268,000."""
    data = data_of(prepay_model(liquidity_buffer_usd=300_000.0))
    buffered = Policy(liquidity_buffer_usd=300_000.0)
    out = run_cash(data, prepay_plan(data, 0.1), buffered, None, kernel)
    assert out["prepayment_cut"][0, 0] == 0.0
    np.testing.assert_allclose(out["cash_usd"][0, 0, 0], 268_000.0 - 0.1, rtol=1e-15)
    shut = run_cash(data, prepay_plan(data, 0.1), OPEN_LOOP, None, kernel)
    np.testing.assert_array_equal(out["cash_usd"], shut["cash_usd"])
    np.testing.assert_array_equal(out["npv"], shut["npv"])
    out = run_cash(data, prepay_plan(data, 2.0), buffered, None, kernel)
    assert out["prepayment_cut"][0, 0] == 1.0
    np.testing.assert_allclose(out["cash_usd"][0, 0, 0], 268_000.0, rtol=1e-15)

@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_debt_at_a_default_is_set_against_the_gpus_sale_value_then(kernel):
    """The open loop of the prepayment above: quarter 0 ends at -232,000, a default, owing
    1,000,000 - 250,000 - 500,000 = 250,000. The 200 GPUs would fetch 1,500 USD each on the
    forecast (75 % of $4,000 less the 50 % selling cost); with the scenario's resale values at half
    the forecast's that quarter, 750 each: 150,000, and no cash. So 100,000 of the debt is not
    covered (60 % is). Nothing is counted in a scenario that does not default."""
    data = data_of(prepay_model())
    scen = deterministic_scenarios(data, 1)
    scen.factors["resale_factor"][0, 0] = 0.5  # (scenario, quarter)
    assert data.proceeds[0, 0] == 1500.0
    shut = run_cash(data, prepay_plan(data, 500_000.0), OPEN_LOOP, scen, kernel)
    assert shut["default"][0, 0] == 1.0 and shut["cash_usd"][0, 0, 0] == pytest.approx(-232_000.0, rel=1e-12)
    np.testing.assert_allclose(shut["debt_at_default"][0, 0], 250_000.0, rtol=1e-12)
    np.testing.assert_allclose(shut["uncovered_debt"][0, 0], 100_000.0, rtol=1e-12)
    out = run_cash(data, prepay_plan(data, 500_000.0), Policy(), scen, kernel)  # the prepayment cut
    assert out["default"][0, 0] == 0.0 and out["debt_at_default"][0, 0] == 0.0
    assert out["uncovered_debt"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_gpus_sold_before_a_default_are_not_there_to_cover_its_debt(kernel):
    """The sale that keeps a later contract's GPUs (above), with a 400,000 loan at 0 % repaid over
    40 quarters: quarter 0 earns nothing and pays a 10,000 instalment, 110,000 below the 100,000
    minimum; only 30 GPUs may be sold (45,000), so cash ends at 35,000: a default owing 390,000.
    The 170 GPUs left would fetch 1,500 each, 255,000, and the cash 35,000: 100,000 is not
    covered. Counting the 30 sold GPUs again would cover 45,000 more."""
    d = order_model(sale_block_gpus=10)
    d["finance"].update(opening_cash_usd=0.0, min_cash_usd=100_000.0)
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 4.0e5, "opening_balance_usd": 4.0e5, "fixed_rate_annual": 0.0,
                 "amortization_quarters": 40, "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    data = data_of(with_later_contract(d, 170))
    plan = serving_later_contract(installed_only(data), 170)
    out = run_cash(data, plan, Policy(sale_block_gpus=10), price_drop(data, [0]), kernel)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 0], 35_000.0, rtol=1e-12)
    assert out["sold"][0, 0] == 1.0 and out["default"][0, 0] == 1.0
    np.testing.assert_allclose(out["debt_at_default"][0, 0], 390_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["uncovered_debt"][0, 0], 100_000.0, rtol=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_gpus_of_an_order_deferred_in_the_default_quarter_are_not_there_to_cover_its_debt(kernel):
    """The order above with a $2,000,000 loan at 0 % repaid over 40 quarters (50,000 a quarter), no
    distress sales, the market paying nothing in quarters 0 and 1. Quarter 0 ends at 950,000; at
    the start of quarter 1 the forecast's -1,422,000 (2,628,000 - 4,000,000 - 50,000) leaves a gap
    of 472,000, so 472,000 / 1,810,000 of the order is deferred. Quarter 1 earns nothing and pays the
    rest of the order: a default, owing 1,900,000. Of the plan's 1,200 GPUs (200 installed, worth
    1,000 each at half a year old after the 50 % selling cost, and 1,000 new, 2,000 each) the
    deferred ones are not there, valued as GPUs taken out at the generation's average:
    2,200,000 x (1 - deferred / 1,200)."""
    d = order_model(distress_sales=False)
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 2.0e6, "opening_balance_usd": 2.0e6, "fixed_rate_annual": 0.0,
                 "amortization_quarters": 40, "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    data = data_of(d)
    bought_1 = next(c.index for c in data.cohorts if c.bought == 1)
    assert data.proceeds[0, 1] == 1000.0 and data.proceeds[bought_1, 1] == 2000.0
    out = run_cash(data, order_plan(data), Policy(distress_sales=False), price_drop(data, [0, 1]), kernel)
    share = 472_000.0 / 1_810_000.0
    quarter_1 = 950_000.0 - (1 - share) * ORDER - 50_000.0  # -2,056,906: a default
    np.testing.assert_allclose(out["cash_usd"][0, 0, :2], [950_000.0, quarter_1], rtol=1e-12)
    assert out["deferred"][0, 0] == 1.0 and out["default"][0, 0] == 1.0
    np.testing.assert_allclose(out["debt_at_default"][0, 0], 1_900_000.0, rtol=1e-12)
    covered = 2_200_000.0 * (1.0 - share * ORDER_GPUS / 1200.0)
    np.testing.assert_allclose(out["uncovered_debt"][0, 0], 1_900_000.0 - covered, rtol=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_company_worth_less_than_nothing_at_the_end_is_worth_nothing_with_limited_liability(kernel):
    """The loan amortising over 8 quarters (125,000 a quarter), no prepayment, the market paying
    nothing in quarters 1 and 2. Cash: 100,000 + 438,000 - 20,000 - 125,000 = 393,000; then
    393,000 - 17,500 - 125,000 = 250,500 and 250,500 - 15,000 - 125,000 = 110,500; quarter 3 earns
    again: 110,500 + 438,000 - 12,500 - 125,000 = 411,000, never a default. At the end 500,000 is
    owed and the GPUs, a year old, are worth nothing: the company is worth 411,000 - 500,000 < 0.
    Undiscounted, the NPV is (411,000 - 100,000) - 500,000 = -189,000; with limited liability the
    shareholders lose the cash instead of paying the rest of the debt: 311,000 - 411,000 = -100,000,
    their opening cash."""
    d = prepay_model()
    d["finance"]["facilities"]["loan"]["amortization_quarters"] = 8
    data = data_of(d)
    out = run_cash(data, prepay_plan(data, 0.0), Policy(), price_drop(data, [1, 2]), kernel)
    np.testing.assert_allclose(out["cash_usd"][0, 0], [393_000.0, 250_500.0, 110_500.0, 411_000.0], atol=1e-6)
    assert out["default"][0, 0] == 0.0
    np.testing.assert_allclose(out["npv"][0, 0], -189_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["npv_limited"][0, 0], -100_000.0, rtol=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_last_quarter_prepayment_cut_leaves_its_balance_as_debt_at_the_end(kernel):
    d = prepay_model()
    d["finance"]["facilities"]["loan"]["amortization_quarters"] = 8  # 125,000 a quarter
    data = data_of(d)
    plan = Plan.empty(data)
    plan.held_training[0, :] = 200.0
    plan.active[0, 0, 0, :] = 200.0
    plan.prepay[0, 3] = 500_000.0  # the balance left after four instalments
    scen = price_drop(data, [2, 3])
    out = run_cash(data, plan, Policy(), scen, kernel)
    # quarter 0: 100,000 + 438,000 - 20,000 - 125,000 = 393,000; quarter 1: interest 17,500:
    # 688,500; quarters 2 and 3 earn nothing: 548,500 after interest 15,000, then 411,000 after
    # 12,500 and before the prepayment: 411,000 of the 500,000 is prepaid, 89,000 kept, cash 0
    np.testing.assert_allclose(out["cash_usd"][0, 0], [393_000.0, 688_500.0, 548_500.0, 0.0], atol=1e-6)
    assert out["prepayment_cut"][0, 0] == 1.0 and out["default"][0, 0] == 0.0
    # without discounting the NPV is the open loop's: 89,000 less cash at the end, 89,000 more debt
    shut = run_cash(data, plan, OPEN_LOOP, scen, kernel)
    np.testing.assert_allclose(shut["cash_usd"][0, 0, 3], -89_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["npv"], shut["npv"], rtol=1e-12)
    assert shut["default"][0, 0] == 1.0


# ---------------------------------------------------------------- the open loop stays what it was


BEFORE = Path(__file__).parent / "baselines" / "open_loop.npz"


@pytest.mark.parametrize("name", ["power_debt", "two_sites", "concentrated"])
def test_every_rule_off_is_the_evaluation_before_the_policy(name):
    """tests/baselines/open_loop.npz was written by fleetopt before the policy existed (commit
    9af2a06): each model's MILP plan under every risk factor, 200 scenarios of seed 11, the
    scenarios and the results (the scenarios are stored so that only the simulation is compared).

    Two changes since, on purpose: a customer that defaults in a quarter its contract is delivered
    short after the deadline ends the contract without penalty (the code of 9af2a06 charged the
    cancellation penalty); and the terminal value is after the tax of the fleet's sale with the
    last quarter (economics.taxes.liquidation_tax), which this test adds back, from the last quarter's
    taxable income and the fleet's gain at the end, before comparing. So the results are compared
    bit for bit in every scenario where no customer of the plan defaults; where one does, the NPV
    and lowest cash can only be higher (a penalty no longer paid) and every other result is the
    same. Money is compared to 4e-15 relative, about two units in the last place: another NumPy
    may sum a quarter's terms in another order (2.4.6 against the one that wrote the file: one unit
    in the last place); the NPV with the liquidation's tax added back to 1e-13 (the sum rounds
    once more)."""
    stored = np.load(BEFORE)
    data = data_of(with_risk(MODELS[name](), **ALL_RISK))

    def part(kind: str) -> dict:
        return {k.split("/")[2]: stored[k] for k in stored.files if k.startswith(f"{name}/{kind}/")}

    scenarios = part("scenarios")
    # the baseline predates late contracted capacity (power_delay.contracted_capacity), off in these models
    scenarios.setdefault("step_delay", np.zeros_like(scenarios["delay"]))
    # and the spread shift of refinanced bullets (these models have none)
    scenarios.setdefault("spread_shift", np.zeros_like(scenarios["rate_shift"]))
    # and delivery slips (risk.delivery_slip, not set in these models)
    scenarios.setdefault("delivery_slip", np.zeros(len(scenarios["index"]), dtype=np.int32))
    # and contracts scaled back (risk.contract_scale_back, not set in these models): no contract's rows
    T = scenarios["contract_alive"].shape[2]
    scenarios.setdefault("contract_kept_share", np.ones((len(scenarios["index"]), 0, T)))
    scen = ScenarioSet(scenarios.pop("index"), **scenarios)
    consts = SimulationConstants.from_data(data).with_policy(OPEN_LOOP)
    plan = Plan(**part("plan"))
    plans = batch(data, [plan])
    out = simulate(consts, plans, scen, record=("tax_usd", "net_income_usd"))
    taxable = taxable_incomes(out["net_income_usd"] + out["tax_usd"], data.tax_loss_carry_forward)[..., -1]
    gain = plans.terminal_fleet[:, None] * scen.factors["resale_factor"][:, -1] - plans.terminal_book[:, None]
    out["npv"] = out["npv"] + data.discount[-1] * liquidation_tax(taxable, gain, data.tax_rate)
    alive = scen.factors["contract_alive"][:, plan.accepted > 0.5, :]  # (S, contracts taken, T)
    same = alive.all(axis=(1, 2))[None, :]  # (1, S): no customer of the plan defaults
    for field in ("npv", "min_cash", "breach", "default", "utilisation"):
        before = stored[f"{name}/{field}"]
        if field in ("npv", "min_cash"):
            # money to the last bit or two: NumPy 2.4.6 sums some quarters' terms in another order
            # than the NumPy that wrote the baseline (1 ulp, 2e-15 relative at most)
            rtol = 1e-13 if field == "npv" else 4e-15
            np.testing.assert_allclose(out[field][same], before[same], rtol=rtol, atol=0, err_msg=field)
            assert (out[field][~same] >= before[~same] - rtol * abs(before[~same])).all(), field
        else:
            np.testing.assert_array_equal(out[field], before, err_msg=field)


def test_every_rule_of_the_policy_is_named_where_a_model_is_shown():
    """`fleetopt validate` lists the policy's rules on and off by name: rule 5
    (`idle_gpus_to_market`) was in neither list, so a policy with only it on read as none."""
    from fleetopt.cli.render.model import POLICY_RULE_WORDS
    from fleetopt.schema.policy import Policy

    rules = {name for name, f in Policy.model_fields.items() if f.annotation is bool}
    assert rules == set(POLICY_RULE_WORDS)
    code, out, err = run_cli("validate", "tiny", "--set", "policy.idle_gpus_to_market=true")
    assert code == 0, err
    assert "idle GPUs to the market" in " ".join(out.replace("│", " ").split()).split("(off:")[0]

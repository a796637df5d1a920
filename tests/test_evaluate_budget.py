"""A plan solved for least cost (a lab's) holds its budget in the scenarios as the MILP holds it: on
real cash, cash less the market revenue to date (formulation §5.10; docs/evaluation.md, "Cash"), which
the liquidity rules, the revolver and the liquidity default read, and the lowest cash is of; worked by
hand, reproduced from the solve on `lab`, alike in NumPy and both builds of the kernel, and the NPV's
plans left bit for bit as they were."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml
from evaluate_builders import ALL_RISK, batch, plan_variants, rel_err, with_risk
from milp_builders import base_model, data_of, sku

from fleetopt import api
from fleetopt.evaluate.backend import c_compiler
from fleetopt.evaluate.kernel.cpu import CpuKernel, cpu_kernel
from fleetopt.evaluate.result_fields import PRESENT_COST, RESULT_FIELDS
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import solve
from fleetopt.schema.model_file import bundled_model_path
from fleetopt.schema.policy import Policy

needs_cc = pytest.mark.skipif(c_compiler() is None, reason="no C compiler: no C build of the kernel")


@pytest.fixture(scope="module")
def levelized_plan():
    """tests/test_present_cost.py's levelized cost solve: one SKU at $4,000 a GPU, no opex, power or
    interest, no discounting; the optimum buys 5 GPUs in quarter 0 ($20,000), 6 in quarter 1
    ($24,000) and sells half a GPU there for $750, then spends nothing: its real cash falls by $43,250
    to the end of quarter 1 and stays there."""
    d = base_model()
    d["skus"]["A"] = sku(training_throughput=2.0, inference_throughput=2.0)
    d["market"]["demand_gpus"] = {"training": [10.0, 21.0, 21.0, 21.0], "inference": 0.0}
    d["horizon"]["discount_rate_annual"] = 0.0
    return d, solve(data_of(d), mip_gap=1e-9, objective="cost").plan


def budget_case(levelized_plan):
    """The plan with opening cash $43,250 and a floor of 0, the policy off: on the forecast its real
    cash ends quarter 1 on the floor; the second scenario's resale values are 0.8 of the forecast's in
    quarter 1, so the half GPU fetches $600 and real cash ends it at -$150."""
    d, plan = levelized_plan
    d = {**d, "finance": {**d["finance"], "opening_cash_usd": 43_250.0, "min_cash_usd": 0.0}}
    data = data_of(d)
    scen = deterministic_scenarios(data, 2)
    scen.factors["resale_factor"][1, 1] = 0.8
    consts = SimulationConstants.from_data(data).with_policy(Policy.off())
    return data, batch(data, [plan], ["milp"]), scen, consts


def test_the_market_revenue_hides_no_budget_breach(levelized_plan):
    """Counted as cash, the market revenue (the GPUs' own use, which no one pays) hides the breach:
    no default in either scenario. Held on real cash, the forecast ends quarter 1 at exactly 0, no
    default, and the scenario whose sale fetches $150 less defaults, its lowest cash -$150."""
    _, plans, scen, consts = budget_case(levelized_plan)
    imputed = simulate(consts, plans, scen)
    assert imputed["default"][0].tolist() == [0.0, 0.0]
    assert (imputed["min_cash"][0] > 30_000.0).all()  # the revenue to date keeps it well above 0
    real = simulate(replace(consts, present_cost=True), plans, scen)
    assert real["min_cash"][0].tolist() == [0.0, -150.0]
    assert real["default"][0].tolist() == [0.0, 1.0]
    assert real["quarters_before_default"][0].tolist() == [4.0, 1.0]  # in quarter 1, the sale's


@needs_cc
@pytest.mark.parametrize("code", ["c", "gpu-code"])
def test_both_builds_of_the_kernel_hold_the_budget_on_real_cash(levelized_plan, code):
    """The hand-worked case in the C build, and the GPU's code paths compiled in C: NumPy's figures."""
    _, plans, scen, consts = budget_case(levelized_plan)
    consts = replace(consts, present_cost=True)
    kernel = cpu_kernel(1) if code == "c" else CpuKernel(threads=1, gpu_code=True)
    got = kernel.simulate(consts, plans, scen)
    assert got["min_cash"][0].tolist() == [0.0, -150.0]
    assert got["default"][0].tolist() == [0.0, 1.0]


@pytest.fixture(scope="module")
def lab_tight():
    """`lab`'s cost plan and its variants under every risk factor, the budget floor raised to $1.85B,
    near the plan's lowest real cash on the forecast: its futures draw on the liquidity rules."""
    result = api.solve("lab", objective="cost", mip_gap=0.05)
    d = with_risk(yaml.safe_load(bundled_model_path("lab").read_text(encoding="utf-8")), **ALL_RISK)
    d["finance"]["min_cash_usd"] = 1.85e9
    data = data_of(d)
    return data, batch(data, *plan_variants(result.data, result.plan))


@needs_cc
@pytest.mark.parametrize("code", ["c", "gpu-code"])
def test_both_builds_agree_with_numpy_on_a_lab_s_budget(lab_tight, code):
    """Every result of `lab`'s cost plans, held on real cash, where some futures sell GPUs to keep the
    budget: the C build and the GPU's code paths agree with NumPy to 1e-12 pair by pair."""
    data, plans = lab_tight
    consts = replace(SimulationConstants.from_data(data), present_cost=True)
    scen = generate_scenarios(data, 6, 0, 200)
    want = simulate(consts, plans, scen)
    assert want["sold"].any()
    kernel = cpu_kernel(1) if code == "c" else CpuKernel(threads=1, gpu_code=True)
    got = kernel.simulate(consts, plans, scen)
    for field in (*RESULT_FIELDS, PRESENT_COST):
        assert rel_err(got[field], want[field]) <= 1e-12, field


def test_the_npv_plans_are_simulated_as_before(lab_tight):
    """Without the present cost (plans solved for NPV) the cash is the statements': the budget's rule
    does not apply, and the market revenue counts as cash (no sale where the real cash would sell)."""
    data, plans = lab_tight
    scen = generate_scenarios(data, 6, 0, 200)
    plain = simulate(SimulationConstants.from_data(data), plans, scen)
    real = simulate(replace(SimulationConstants.from_data(data), present_cost=True), plans, scen)["min_cash"]
    assert not plain["sold"].any()
    assert (plain["min_cash"] >= real).all() and (plain["min_cash"] > real).any()

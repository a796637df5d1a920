"""Each scenario's present cost of a plan (formulation §6, "Cost", on the scenario's path;
docs/evaluation.md, "The present cost"): worked by hand on a small instance, the solve's figure
reproduced on the forecast, NumPy and both builds of the kernel agreeing, and the NPV's results left
as they were."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml
from evaluate_builders import ALL_RISK, batch, deferred_order_model, plan_variants, rel_err, with_risk
from milp_builders import base_model, data_of, sku

from fleetopt import api
from fleetopt.core.metric_columns import PRESENT_COST_COLUMNS
from fleetopt.core.plan import Plan
from fleetopt.evaluate.backend import c_compiler
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.kernel.cpu import CpuKernel, cpu_kernel
from fleetopt.evaluate.result_fields import PRESENT_COST, RESULT_FIELDS
from fleetopt.evaluate.sample_runs import sample_runs
from fleetopt.evaluate.scenarios import ScenarioSet, deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import solve
from fleetopt.schema.model_file import bundled_model_path

needs_cc = pytest.mark.skipif(c_compiler() is None, reason="no C compiler: no C build of the kernel")


@pytest.fixture(scope="module")
def levelized_case():
    """formulation §6's hand-worked cost solve (tests/test_milp_mechanisms.py, the levelized cost):
    one SKU of throughput 2 at $4,000 a GPU, no opex, power or interest, resale value falling $1,000
    a quarter of age, half of it a sale's; demand 10, 21, 21, 21; no discounting. The optimum buys 5
    then 6 GPUs, sells half a GPU in quarter 1 (0.5 x $3,000 x 0.5 = $750) and holds 6 worth $500
    each at the end: a present cost of $20,000 + $24,000 - $750 - $3,000 = $40,250."""
    d = base_model()
    d["skus"]["A"] = sku(training_throughput=2.0, inference_throughput=2.0)
    d["market"]["demand_gpus"] = {"training": [10.0, 21.0, 21.0, 21.0], "inference": 0.0}
    d["horizon"]["discount_rate_annual"] = 0.0
    result = solve(data_of(d), mip_gap=1e-9, objective="cost")
    return result.data, batch(result.data, [result.plan], ["milp"]), d


def moved(data, **factors) -> ScenarioSet:
    """Two copies of the forecast, the second with ``factors`` changed: name -> (index, value)."""
    scen = deterministic_scenarios(data, 2)
    for name, (at, value) in factors.items():
        scen.factors[name][(1, *at)] = value
    return scen


def test_a_scenario_s_present_cost_worked_by_hand(levelized_case):
    """The forecast costs $40,250. A scenario whose resale values are 0.8 of the forecast's in
    quarter 1 and 0.5 in the last, and whose demand is half in quarter 2: the half GPU sold fetches
    $750 x 0.8 = $600, the 6 held are worth $3,000 x 0.5 = $1,500 at the end, and demand, which
    moves only revenue, costs nothing: $20,000 + $24,000 - $600 - $1,500 = $41,900."""
    data, plans, _ = levelized_case
    scen = moved(data, resale_factor=((1,), 0.8), demand=((0, 2), 10.5))
    scen.factors["resale_factor"][1, 3] = 0.5
    consts = replace(SimulationConstants.from_data(data), present_cost=True)
    got = simulate(consts, plans, scen)
    assert got[PRESENT_COST][0].tolist() == pytest.approx([40_250.0, 41_900.0], rel=1e-12)
    assert got["npv"][0, 1] != pytest.approx(got["npv"][0, 0])  # the NPV counts the revenue lost


def test_the_present_cost_is_asked_for_and_changes_no_other_result(levelized_case):
    """Without ``present_cost`` the simulation returns no present cost, and with it every other
    result keeps its bits: the NPV path is the one it was."""
    data, plans, _ = levelized_case
    scen = generate_scenarios(data, 3, 0, 40)
    consts = SimulationConstants.from_data(data)
    plain = simulate(consts, plans, scen)
    with_cost = simulate(replace(consts, present_cost=True), plans, scen)
    assert PRESENT_COST not in plain
    for field in RESULT_FIELDS:
        np.testing.assert_array_equal(with_cost[field], plain[field], err_msg=field)


@pytest.fixture(scope="module")
def lab_cost_run(tmp_path_factory):
    """`fleetopt solve lab --objective cost`'s run folder (mip gap 1 %)."""
    folder = tmp_path_factory.mktemp("runs") / "lab-cost"
    api.write_solve_run(api.solve("lab", objective="cost", mip_gap=0.01), out=folder)
    return folder


def test_the_forecast_reproduces_the_cost_solve_s_present_cost(lab_cost_run):
    """`fleetopt evaluate --plans RUN --deterministic` of a cost solve of `lab`: its metrics hold the
    present cost, the solve's `present_cost_usd` to 1e-6 (as the NPV reproduces the solve's)."""

    solved = json.loads((lab_cost_run / "summary.json").read_text())["present_cost_usd"]
    metrics = api.evaluate(lab_cost_run, deterministic=True).result.metrics
    for column in ("present_cost_mean_usd", "present_cost_p95_usd", "present_cost_cvar95_usd"):
        assert metrics[column].iloc[0] == pytest.approx(solved, rel=1e-6), column
    assert np.isnan(metrics["present_cost_mean_se_usd"].iloc[0])  # one scenario measures no spread


def test_a_cost_solve_in_memory_is_evaluated_as_its_run_is(tmp_path):
    """A notebook's `fo.evaluate(result)` of a solve for least cost, never written: the same present
    cost, metrics and default ranking (by cost) as the run written from it, and a run written from the
    evaluation records both its plans' objective and that ranking (it ranked an in-memory cost plan by
    CVaR5 NPV, without its present cost, and wrote plans_objective "cost" beside rank_by "cvar5")."""
    result = api.solve("lab", objective="cost", mip_gap=0.05)
    in_memory = api.evaluate(result, scenarios=50, seed=3)
    written = api.evaluate(api.write_solve_run(result, out=tmp_path / "solve"), scenarios=50, seed=3)
    assert in_memory.result.default_rank == written.result.default_rank == "cost"
    assert set(PRESENT_COST_COLUMNS) <= set(in_memory.result.metrics.columns)
    pd.testing.assert_frame_equal(in_memory.result.metrics, written.result.metrics)
    api.write_evaluate_run(in_memory, out=tmp_path / "evaluation")
    summary = json.loads((tmp_path / "evaluation" / "summary.json").read_text())
    assert (summary["plans_objective"], summary["ranking"]["rank_by"]) == ("cost", "cost")


def test_an_npv_solve_s_evaluation_has_no_present_cost_columns():
    """Plans solved for NPV are evaluated as before: metrics.csv has no present cost."""
    result = api.evaluate(api.solve("tiny", mip_gap=0.05), scenarios=20, seed=1).result
    assert not set(PRESENT_COST_COLUMNS) & set(result.metrics.columns)


def test_the_metrics_read_each_scenario_s_present_cost(levelized_case):
    """The mean, its standard error and the tail of the 5 % highest (P95: the k-th highest, k =
    ceil(5 % of S); CVaR95 their mean) over 40 scenarios: k = 2."""
    forecast, plans, d = levelized_case
    data = data_of(with_risk(d, resale_value_volatility_annual=0.4))
    plans = batch(data, [solve(forecast, mip_gap=1e-9, objective="cost").plan], ["milp"])
    consts = replace(SimulationConstants.from_data(data), present_cost=True)
    cost = simulate(consts, plans, generate_scenarios(data, 3, 0, 40))[PRESENT_COST][0]
    assert np.ptp(cost) > 0  # the resale values move
    metrics = evaluate(data, plans, 40, 3, backend="numpy", present_cost=True).metrics.iloc[0]
    highest = np.sort(cost)[::-1][:2]
    assert metrics["present_cost_mean_usd"] == pytest.approx(cost.mean(), rel=1e-12)
    assert metrics["present_cost_mean_se_usd"] == pytest.approx(cost.std(ddof=1) / np.sqrt(40), rel=1e-9)
    assert metrics["present_cost_p95_usd"] == pytest.approx(highest[1], rel=1e-12)
    assert metrics["present_cost_cvar95_usd"] == pytest.approx(highest.mean(), rel=1e-12)


def test_an_evaluation_keeps_each_pair_s_present_cost_among_its_outcomes(levelized_case):
    """`evaluate(keep_outcomes=True)` of plans it prices keeps each pair's present cost (compare's paired
    errors of the present cost read it), simulate's pair by pair, across chunks of plans and blocks of
    scenarios (three plans, two a chunk; 16 scenarios a block of 40); without the present cost the outcomes
    are the ones they were, with no such entry."""
    forecast, _, d = levelized_case
    data = data_of(with_risk(d, resale_value_volatility_annual=0.4))
    plan = solve(forecast, mip_gap=1e-9, objective="cost").plan
    plans = batch(data, [plan, Plan.empty(data), plan], ["milp", "empty", "milp again"])
    consts = replace(SimulationConstants.from_data(data), present_cost=True)
    each = simulate(consts, plans, generate_scenarios(data, 3, 0, 40))[PRESENT_COST]
    kept = evaluate(data, plans, 40, 3, backend="numpy", plan_chunk=2, scenario_chunk=16, keep_outcomes=True,
                    present_cost=True).outcomes  # fmt: skip
    np.testing.assert_allclose(kept[PRESENT_COST], each, rtol=1e-12)
    plain = evaluate(data, plans, 40, 3, backend="numpy", keep_outcomes=True, present_cost=False).outcomes
    assert PRESENT_COST not in plain and set(kept) - set(plain) == {PRESENT_COST}


def test_a_report_s_sample_runs_price_the_plans_solved_for_least_cost(levelized_case):
    """The runs a report's charts re-simulate (its present cost histogram) hold each pair's present cost,
    as an evaluation's outcomes do, where the batch was solved for least cost, and none otherwise."""
    forecast, _, d = levelized_case
    data = data_of(with_risk(d, resale_value_volatility_annual=0.4))
    plans = batch(data, [solve(forecast, mip_gap=1e-9, objective="cost").plan], ["milp"])
    assert PRESENT_COST not in sample_runs(data, plans, 40, 3)
    kept = evaluate(data, plans, 40, 3, backend="numpy", keep_outcomes=True, present_cost=True).outcomes
    plans.solved_for_cost = True
    np.testing.assert_allclose(sample_runs(data, plans, 40, 3)[PRESENT_COST], kept[PRESENT_COST], rtol=1e-12)


@pytest.fixture(scope="module", params=["lab", "twosite"])
def lab_risky(request):
    """A bundled model with the idle GPUs' rule and every risk factor on, a batch around its plan:
    `lab`'s cost solve's; `twosite`'s NPV solve's (its futures sell GPUs in distress: the sales'
    proceeds priced too)."""
    name = request.param
    result = api.solve(name, objective="cost" if name == "lab" else "npv", mip_gap=0.05)
    d = yaml.safe_load(bundled_model_path(name).read_text(encoding="utf-8"))
    d["policy"] = {**d.get("policy", {}), "idle_gpus_to_market": True}
    risky = data_of(with_risk(d, **ALL_RISK))
    return risky, batch(risky, *plan_variants(result.data, result.plan))


@needs_cc
@pytest.mark.parametrize("code", ["c", "gpu-code"])
def test_both_builds_of_the_kernel_compute_numpy_s_present_cost(lab_risky, code):
    """The C build, and the GPU's code paths compiled in C, agree with NumPy to 1e-12 pair by pair
    on `lab`'s cost plans under every risk factor; the cpu-kernel backend gives NumPy's metrics."""
    data, plans = lab_risky
    consts = replace(SimulationConstants.from_data(data), present_cost=True)
    scen = generate_scenarios(data, 6, 0, 200)
    want = simulate(consts, plans, scen)
    assert want["sold"].any() == (data.name == "twosite")
    kernel = cpu_kernel(1) if code == "c" else CpuKernel(threads=1, gpu_code=True)
    got = kernel.simulate(consts, plans, scen)
    assert rel_err(got[PRESENT_COST], want[PRESENT_COST]) <= 1e-12
    assert np.ptp(want[PRESENT_COST][0]) > 0
    if code == "c":
        numpy = evaluate(data, plans, 60, 2, backend="numpy", present_cost=True).metrics
        fused = evaluate(data, plans, 60, 2, backend="cpu-kernel", present_cost=True)
        assert fused.kernel
        columns = list(PRESENT_COST_COLUMNS)
        pd.testing.assert_frame_equal(fused.metrics[columns], numpy[columns], check_exact=False, rtol=1e-12)


@needs_cc
def test_deferred_and_cancelled_orders_are_priced_alike_in_both_builds():
    """tests/test_kernel_cpu.py's case of an order deferred in the quarter of the plan's own sale, then
    cancelled (its deposit forfeited): the capex paid on each path and the disposals' proceeds, as
    NumPy prices them, in both builds of the kernel."""
    d = deferred_order_model(resale_value_volatility_annual=0.5)
    data = data_of(d)
    plans = batch(data, [solve(data, mip_gap=0.0).plan], ["milp"])
    consts = replace(SimulationConstants.from_data(data), present_cost=True)
    scen = generate_scenarios(data, 0, 0, 100)
    want = simulate(consts, plans, scen)
    assert (want["deferred"] > 0).all() and (want["order_cancelled"] > 0).any()
    for kernel in (cpu_kernel(1), CpuKernel(threads=1, gpu_code=True)):
        assert rel_err(kernel.simulate(consts, plans, scen)[PRESENT_COST], want[PRESENT_COST]) <= 1e-12

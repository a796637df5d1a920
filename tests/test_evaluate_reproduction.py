"""On the forecast itself the evaluator must reproduce the MILP's plan exactly as the MILP priced it.

`deterministic_scenarios` are copies of the forecast (every risk factor neutral), so simulating
the MILP's plan on them must give back its objective (the NPV), its quarterly cash and debt
(`plan_statements`), and no covenant breach or liquidity default: the MILP enforces both.
"""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import batch, rel_err, solved

from fleetopt import api
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.planfile import save_plans
from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import SolveResult

REL = 1e-6
HANDMADE = ["tiny", "power_debt", "two_sites"]


def assert_reproduces(r: SolveResult, n_scenarios: int = 3) -> None:
    data = r.data
    lines = r.statements.lines
    out = simulate(
        SimulationConstants.from_data(data),
        batch(data, [r.plan]),
        deterministic_scenarios(data, n_scenarios),
        record=("cash_usd", "debt_usd"),
    )
    assert r.statements.npv_usd == pytest.approx(r.objective_usd, rel=REL)
    for s in range(n_scenarios):
        assert out["npv"][0, s] == pytest.approx(r.objective_usd, rel=REL)
        assert out["npv"][0, s] == pytest.approx(r.statements.npv_usd, rel=REL)
        assert rel_err(out["cash_usd"][0, s], lines["cash_usd"]) < REL
        assert rel_err(out["debt_usd"][0, s], lines["debt_usd"]) < REL
        assert out["min_cash"][0, s] == pytest.approx(lines["cash_usd"].min(), rel=REL)
    # the MILP keeps cash above the minimum and meets every covenant on its own forecast
    assert not out["default"].any(), "the MILP's own plan defaults on its forecast"
    assert not out["breach"].any(), "the MILP's own plan breaches a covenant on its forecast"
    # and the policy (every rule on in these models) has nothing to react to on the forecast
    reactions = ("rescheduled", "cancelled", "freed", "deferred", "order_cancelled", "sold", "prepayment_cut")
    for reaction in reactions:
        assert not out[reaction].any(), f"the policy reacted ({reaction}) on the forecast"


@pytest.mark.parametrize("name", HANDMADE)
def test_simulation_on_the_forecast_reproduces_the_milp(name):
    assert_reproduces(solved(name))


def test_the_handmade_instance_exercises_debt_and_power():
    # guard on the instance above: the reproduction only means something if the plan borrows,
    # amortises, builds power and needs it
    for name in ("power_debt", "two_sites"):
        r = solved(name)
        data, plan, lines = r.data, r.plan, r.statements.lines
        assert plan.draws.sum() > 1e6 and plan.build_blocks.sum() >= 1
        assert np.all(np.diff(lines["debt_usd"][2:]) < 0)  # scheduled principal after the last draw
        assert lines["capex_power_usd"].sum() > 0
        b = batch(data, [plan])
        existing = np.array([s.capacity_mw for s in data.sites])
        assert np.any(b.drawn_mw[0] > existing[:, None] + 1e-6)  # the new blocks are used
        assert np.any(b.online_mw[0, :, 0] < b.online_mw[0, :, -1])  # online from the lead time
    assert solved("power_debt").data.facilities[0].floating
    assert solved("two_sites").plan.accepted.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("name", HANDMADE)
def test_evaluate_deterministic_gives_the_milp_figures(name):
    r = solved(name)
    res = evaluate(r.data, batch(r.data, [r.plan]), 4, seed=7, backend="numpy", deterministic=True,
                   record=("cash_usd", "debt_usd"))  # fmt: skip
    row = res.metrics.iloc[0]
    assert res.seed is None
    assert row["npv_mean_usd"] == pytest.approx(r.objective_usd, rel=REL)
    assert row["npv_std_usd"] == pytest.approx(0.0, abs=1e-6 * abs(r.objective_usd))
    assert row["npv_p5_usd"] == row["npv_cvar5_usd"] == pytest.approx(r.objective_usd, rel=REL)
    assert row["breach_probability"] == 0.0 and row["default_probability"] == 0.0
    assert row["expected_min_cash_usd"] == pytest.approx(r.statements.lines["cash_usd"].min(), rel=REL)
    for name_ in ("cash_usd", "debt_usd"):
        assert res.paths[name_].shape == (1, 4, r.data.T)
        assert rel_err(res.paths[name_][0, 3], r.statements.lines[name_]) < REL


@pytest.mark.filterwarnings("ignore:.*the cost objective counts no revenue")  # its contract declined
def test_a_cost_plan_with_more_gpus_than_its_demand_reproduces_on_the_forecast():
    """A cost solve met market demand as a floor: with cash tight it put GPUs in service beyond the
    demand (2,090 H100-equivalents in 2027Q3 on this instance, tiny with a second site) for their
    market revenue in the cash row, which the evaluator, selling at most the demand, never paid:
    $4.5M of NPV apart, and prepayments cut on the forecast (found by a parity fuzz). Since the cost
    objective holds the budget on real cash (formulation §5.10) that instance is infeasible on its
    $150M; with $850M its real cash sits on the $25M floor, as tight as it gets."""
    ohio = {"power_capacity_mw": 26.9808, "pue": 1.4658, "electricity_price_usd_per_mwh": 32.5095,
            "fixed_cost_per_mw_quarter_usd": 199849,
            "expansion": {"block_mw": 17.3329, "capex_per_mw_usd": 11042197, "lead_time_quarters": 3,
                          "earliest_start": "2026Q3", "max_blocks": 1,
                          "useful_life_years": 11.8573}}  # fmt: skip
    loan = "finance.facilities.gpu-term-loan.opening_balance_usd"
    edited = api.edit("tiny", {"sites.ohio": ohio, loan: 60.12e6, "finance.opening_cash_usd": 8.5e8})
    r = api.solve(edited, objective="cost", mip_gap=0.02)
    assert r.headline()["min_cash_without_market_revenue_usd"] == pytest.approx(25e6, rel=1e-6)
    lines, data = r.statements.lines, r.data
    forecast = deterministic_scenarios(data, 1)
    constants, plans = SimulationConstants.from_data(data), batch(data, [r.plan])
    out = simulate(constants, plans, forecast, record=("cash_usd", "debt_usd"))
    assert out["npv"][0, 0] == pytest.approx(r.statements.npv_usd, rel=REL)
    assert rel_err(out["cash_usd"][0, 0], lines["cash_usd"]) < REL
    assert rel_err(out["debt_usd"][0, 0], lines["debt_usd"]) < REL
    assert not out["prepayment_cut"].any() and not out["default"].any()


def test_api_evaluate_of_a_plan_file_on_the_forecast(tmp_path):
    r = solved("tiny")
    loaded, _ = api.load("tiny")
    path = tmp_path / "plans.npz"
    save_plans(path, [r.plan], ["milp"], loaded.model.name, loaded.content_hash)
    res, _, source = api.evaluate(path, "tiny", backend="numpy", deterministic=True)
    assert source.labels == ["milp"]
    assert res.metrics["npv_mean_usd"].iloc[0] == pytest.approx(r.objective_usd, rel=REL)
    assert res.metrics["mean_utilisation"].iloc[0] == pytest.approx(
        np.mean(r.statements.lines["gpus_in_service"] / r.statements.lines["gpus_held"]), rel=1e-9
    )


# ---------------------------------------------------------------- the bundled default model


@pytest.fixture(scope="module")
def neocloud(neocloud_solved) -> SolveResult:
    return neocloud_solved


@pytest.mark.slow
def test_neocloud_forecast_reproduces_the_milp(neocloud):
    r = neocloud
    assert r.plan.draws.sum() > 0  # the default model borrows
    assert_reproduces(r, n_scenarios=2)
    res = evaluate(r.data, batch(r.data, [r.plan]), 1, 0, backend="numpy", deterministic=True)
    assert res.metrics["npv_mean_usd"].iloc[0] == pytest.approx(r.objective_usd, rel=REL)


def test_the_one_scenario_by_hand_snippet_of_the_docs_runs_and_reproduces_the_forecast(tmp_path, monkeypatch):
    """docs/evaluation.md's snippet, on a tiny solve written to runs/base: without its one edit the
    scenario is the forecast, whose NPV and cash are the MILP's; with it, Hopper earns less."""
    import json
    import re
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    loaded, data = api.load("tiny")
    api.write_solve_run(api.solve(loaded), loaded, "runs/base")
    doc = (Path(__file__).parents[1] / "docs" / "evaluation.md").read_text(encoding="utf-8")
    (snippet,) = re.findall(r"### One scenario by hand.*?```python\n(.*?)```", doc, re.S)
    edit = "scen.price_factor[0, 0, 3:] = 0.7"
    assert edit in snippet
    summary = json.loads(Path("runs/base/summary.json").read_text())
    forecast = {}
    exec(compile(snippet.replace(edit, "pass"), "evaluation.md", "exec"), forecast)
    assert forecast["out"]["npv"][0, 0] == pytest.approx(summary["npv_usd"], abs=1e-6)
    shocked = {}
    exec(compile(snippet, "evaluation.md", "exec"), shocked)
    assert shocked["out"]["npv"][0, 0] < forecast["out"]["npv"][0, 0] - 1e6
    assert shocked["out"]["cash_usd"].shape == (1, 1, data.T)


def test_the_docs_name_every_result_the_snippet_s_simulate_returns():
    """docs/evaluation.md says the snippet's other results are result_fields.RESULT_FIELDS, "all of them",
    and describes each: quarters_before_uncured (the uncured breach's quarter, since 0.4.15) was
    left out of that list."""
    import re
    from pathlib import Path

    from fleetopt.evaluate.result_fields import RESULT_FIELDS

    doc = (Path(__file__).parents[1] / "docs" / "evaluation.md").read_text(encoding="utf-8")
    listing = r"The other results are the \(plan, scenario\) figures of .*?`first_breach` is"
    (listed,) = re.findall(listing, doc, re.S)
    named = set(re.findall(r"`(\w+)`", listed)) | {"first_breach"}
    assert [field for field in RESULT_FIELDS if field not in named] == []

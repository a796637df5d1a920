"""The two-stage stochastic programme (docs/formulation.md §7b): a hand-worked instance, its
properties (non-anticipativity, the forecast special case, CVaR monotone in the risk weight), the
scenario reduction and the `fleetopt solve --stochastic` command."""

from __future__ import annotations

import itertools
import json
import re
import signal
import subprocess
import sys
import tracemalloc
from dataclasses import replace
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from milp_builders import base_model, data_of
from pyomo.environ import value as pyo_value
from test_policy import model as policy_model
from test_policy import run as policy_run
from typer.testing import CliRunner

from fleetopt import api
from fleetopt.cli import app
from fleetopt.core.data import ModelData, load
from fleetopt.core.economics.operating import operating_lines
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.plan import Plan
from fleetopt.core.units import format_usd
from fleetopt.errors import InputError
from fleetopt.evaluate.batch import limit_problem
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.milp.solve import solve as milp_solve
from fleetopt.milp.stochastic.debt_rows import cure_by_repaying
from fleetopt.milp.stochastic.extensive_form import EFSolution, ExtensiveForm, build_extensive_form
from fleetopt.milp.stochastic.first_stage import (
    SHARED_PURCHASES,
    FirstStage,
    first_stage_keys,
    first_stage_values,
)
from fleetopt.milp.stochastic.fixed_first_stage import (
    ForecastSolution,
    complete_with_rescue,
    solve_with_first_stage,
)
from fleetopt.milp.stochastic.rescue import revolver_penalty
from fleetopt.milp.stochastic.risk import cvar, risk_value
from fleetopt.milp.stochastic.scenario_model import scenario_model
from fleetopt.milp.stochastic.scenarios import ScenarioInputs, apply_scenario, cohort_resale_scale
from fleetopt.runs.key_figures import key_figures
from fleetopt.schema.policy import Policy
from fleetopt.stochastic import reduction
from fleetopt.stochastic.commitments import SHARED_COMMITMENTS, first_stage_commitments
from fleetopt.stochastic.measures import eev_and_ws, kept_plan_figures
from fleetopt.stochastic.recourse import by_blocks, forecast_kept, forecast_within_gap
from fleetopt.stochastic.reduction import fast_forward, reduce_scenarios, tail_representatives
from fleetopt.stochastic.result import StochasticResult
from fleetopt.stochastic.run import solve_stochastic
from fleetopt.stochastic.screening import scenario_features, scenario_inputs
from fleetopt.stochastic.settings import SolverSettings
from fleetopt.stochastic.summary_words import (
    copies_replan,
    first_stage_text,
    in_sample_labels,
    measure_unavailable,
    plan_facts,
)

EXACT = 1e-9  # relative MIP gap for the hand-worked instances

TINY_DATA = load("tiny")[1]  # a report section's run stand-in: a model with no delivery slip


def buy_now_or_later() -> dict:
    """Two quarters, one block (one GPU) to buy now (quarter 0) or later (quarter 1).

    The base model's GPU (capex $4,000; market value 4,000 - 1,000 per quarter of age; selling and
    the end-of-horizon valuation keep half of it; no discounting, tax, power cost or opex); demand
    for one inference GPU; price $0.5/GPU-h in quarter 0 (a GPU earns 0.5 x 2,190 = $1,095) and
    $1 in quarter 1 on the forecast ($2,190). First stage: quarter 0 (Q = 1).
    """
    d = base_model()
    d["horizon"]["quarters"] = 2
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 1.0}
    d["market"]["price_usd_per_gpu_hour"] = {"training": {"all": 0.5}, "inference": {"all": [0.5, 1.0]}}
    return d


def price_scenario(data, name: str, p: float, factor: float) -> ScenarioInputs:
    price = np.ones((data.G, data.T))
    price[:, 1] = factor
    return ScenarioInputs(name, p, price_by_generation=price)


def solve(ef: ExtensiveForm) -> EFSolution:
    solution = ef.solve(EXACT, None, None)
    assert solution.status == "optimal"
    return solution


def test_hand_worked_two_scenarios():
    """Scenarios: quarter-1 price x2 ("high", p = 1/2) or x0 ("low", p = 1/2); their mean is the
    forecast. Values of each first stage (buy now: x = 1 in quarter 0; later: x = 0), per scenario:

    * now, high: -4,000 + 1,095 + 2 x 2,190 + 1,000 (held to the end, age 2 quarters: 2,000 / 2)
      = 2,475 (keeping beats selling at the start of quarter 1 for 3,000 / 2 = 1,500);
    * now, low: -4,000 + 1,095 + 1,500 (sold at the start of quarter 1: it earns nothing) = -1,405;
    * later, high: buy in quarter 1: -4,000 + 4,380 + 1,500 (age 1 quarter at the end) = 1,880;
    * later, low: do not buy: 0;
    * forecast (x1): now -4,000 + 1,095 + 2,190 + 1,000 = 285; later -4,000 + 2,190 + 1,500 = -310,
      so not buying: 0. The forecast buys now.

    EV = 285 (the forecast optimum). RP = max(E[now], E[later]) = max((2,475 - 1,405) / 2,
    1,880 / 2) = max(535, 940) = 940: wait. EEV = E[now] = 535. WS = (max(2,475, 1,880) +
    max(-1,405, 0)) / 2 = 1,237.5. VSS = RP - EEV = 405; EVPI = WS - RP = 297.5.
    """
    data = data_of(buy_now_or_later())
    forecast = solve_with_first_stage(data, FirstStage(1), mip_gap=EXACT)
    assert forecast.objective_usd == pytest.approx(285.0, abs=1e-4)
    assert forecast.first_stage[("buy", (0, 0, 0))] == 1.0
    ef = build_extensive_form(
        data, [price_scenario(data, "high", 0.5, 2.0), price_scenario(data, "low", 0.5, 0.0)],
        FirstStage(1),
    )
    rp = solve(ef)
    assert rp.objective_usd == pytest.approx(940.0, abs=1e-4)
    assert first_stage_values(ef.block(0), FirstStage(1))[("buy", (0, 0, 0))] == 0.0
    assert [row["npv_usd"] for row in rp.scenarios] == pytest.approx([1880.0, 0.0], abs=1e-4)
    assert not any(row["rescued"] for row in rp.scenarios)
    ef.fix_first_stage(forecast.first_stage)
    eev = solve(ef)
    ef.fix_first_stage(None)
    assert eev.objective_usd == pytest.approx(535.0, abs=1e-4)
    assert [row["npv_usd"] for row in eev.scenarios] == pytest.approx([2475.0, -1405.0], abs=1e-4)
    ef.m.nonanticipativity.deactivate()
    ws = solve(ef)
    ef.m.nonanticipativity.activate()
    assert ws.objective_usd == pytest.approx(1237.5, abs=1e-4)
    # wait-and-see: each scenario its own first stage (high buys now, low never buys)
    bought = [first_stage_values(ef.block(n), FirstStage(1))[("buy", (0, 0, 0))] for n in (0, 1)]
    assert bought == [1.0, 0.0]
    assert [row["npv_usd"] for row in ws.scenarios] == pytest.approx([2475.0, 0.0], abs=1e-4)
    assert rp.objective_usd - eev.objective_usd == pytest.approx(405.0, abs=1e-4)  # VSS
    assert ws.objective_usd - rp.objective_usd == pytest.approx(297.5, abs=1e-4)  # EVPI


def test_hand_worked_customer_default_and_resale_factor_in_two_scenarios():
    """§7b's `contract_alive` and `resale_scale` in solved scenario copies. Two quarters, no market;
    an optional offer of 1 inference GPU at $1/h (V = 2,190 a quarter) from quarter 0 (its
    deadline) for 4 quarters, half of them after the horizon, prepaying 25 % (Π_0 = 0.25 x 4V -
    0.25V = 1,642.5, then -547.5 a quarter) with a termination payment share of 0.5. The base GPU
    ($4,000, worth 1,000 less a quarter of age, half of it kept on a sale). First stage: quarter 0.

    * "default" (p = 1/2, resale factor 0.5): the customer ends the contract in quarter 1: no
      revenue and no unwinding then, but Ξ = 0.5 x 2,190 x (0 + 4 - 1) = 3,285; the idle GPU is
      sold at the start of quarter 1 for 0.5 x 3,000 x 0.5 = 750 (held: 0.5 x 2,000 x 0.5 = 500),
      and nothing is owed at the end: -4,000 + 2,190 + 1,642.5 + 3,285 + 750 = 3,867.5;
    * "normal" (p = 1/2, resale factor 2 in the last quarter): -4,000 + 2,190 + 1,642.5 + 2,190 -
      547.5 + 2 x 1,000 (the GPU at the end) - 1,095 (Def: two quarters unearned) = 2,380;
    * the forecast: the same at factor 1, 1,380 > 0, so it accepts and buys.
    Declining is worth 0 in both, so RP accepts: (3,867.5 + 2,380) / 2 = 3,123.75."""
    d = base_model()
    d["horizon"]["quarters"] = 2
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 0.0}
    offer = {"customer": "c", "use": "inference", "eligible_skus": ["A"], "gpus": 1, "start": "2026Q1",
             "term_quarters": 4, "price_usd_per_gpu_hour": 1.0, "signed": False}  # fmt: skip
    d["contracts"] = {"k": {**offer, "prepayment_share": 0.25, "termination_payment_share": 0.5}}
    with pytest.warns(UserWarning, match="fall after the horizon"):
        data = data_of(d)
    forecast = solve_with_first_stage(data, FirstStage(1), mip_gap=EXACT)
    assert forecast.objective_usd == pytest.approx(1380.0, abs=1e-4)
    ended = np.array([[1.0, 0.0]])  # contract_alive: the customer ends it in quarter 1
    default = ScenarioInputs("default", 0.5, contract_alive=ended, resale=np.array([0.5, 0.5]))
    normal = ScenarioInputs("normal", 0.5, resale=np.array([1.0, 2.0]))
    ef = build_extensive_form(data, [default, normal], FirstStage(1))
    rp = solve(ef)
    assert rp.objective_usd == pytest.approx(3123.75, abs=1e-4)
    assert first_stage_values(ef.block(0), FirstStage(1))[("accept", 0)] == 1.0
    assert [row["npv_usd"] for row in rp.scenarios] == pytest.approx([3867.5, 2380.0], abs=1e-4)
    retired = [pyo_value(ef.block(n).retire_in[0, 1]) for n in (0, 1)]
    assert retired == pytest.approx([1.0, 0.0], abs=1e-9)
    assert not any(row["rescued"] for row in rp.scenarios)


def test_no_gpu_bought_in_the_horizon_is_worth_more_than_its_price_in_a_scenario_copy():
    """buy_now_or_later's GPU ($4,000; market value 4,000 - 1,000 a quarter of age; a sale keeps half)
    in a scenario whose resale values are 4x the forecast's in quarter 1. A copy sees that from
    quarter 0: uncapped, a GPU bought now and sold at the start of quarter 1 fetched 4 x 3,000 x 0.5
    = 6,000 for its 4,000, so the copy bought as many as its limits allowed (an NPV of $500M). Each
    cohort bought in the horizon is valued at most at its price: in quarter 1 at min(4, 4,000 /
    3,000) = 4/3 (a sale keeps 0.5 x 4,000 = 2,000), at the end min(4, 4,000 / 2,000) = 2 (the GPU
    two quarters old, 2 x 1,000 = 2,000 kept). The copy buys one GPU now and holds it: -4,000 +
    1,095 + 2,190 + 2,000 = 1,285; one more now loses 2,000 (sold or held), one bought in quarter 1
    earns 2,190 and ends at min(4, 4,000 / 3,000) x 1,500 = 2,000: -4,000 + 2,190 + 2,000 = 190
    below buying now. On the forecast (None) every factor is 1."""
    data = data_of(buy_now_or_later())
    boom = np.array([1.0, 4.0])
    during, end = cohort_resale_scale(data, boom)
    bought = {c.bought: c.index for c in data.cohorts}
    assert during[bought[0]].tolist() == pytest.approx([1.0, 4 / 3])
    assert (end[bought[0]], end[bought[1]]) == pytest.approx((2.0, 4 / 3))
    assert [a.tolist() for a in cohort_resale_scale(data, None)] == [[[1.0, 1.0]] * len(data.cohorts),
                                                                       [1.0] * len(data.cohorts)]
    ef = build_extensive_form(data, [ScenarioInputs("boom", 1.0, resale=boom)], FirstStage(1))
    rp = solve(ef)
    assert rp.objective_usd == pytest.approx(1285.0, abs=1e-4)
    assert pyo_value(ef.block(0).buy[0, 0, 0]) == pytest.approx(1.0)
    assert pyo_value(ef.block(0).buy[0, 0, 1]) == pytest.approx(0.0)


def secured_fleet(amortization_quarters: int, discount_rate: float = 0.0) -> dict:
    """Two quarters, 100 GPUs of the base SKU bought in 2025Q4 (none on sale in the horizon), on the
    market at $1/h: 219,000 USD a quarter; worth 3,000 and 2,000 each (gross) in 2026Q1-Q2, 1,000
    at the end, half of it kept. A GPU loan of $120,000 at 0 % (`max_ltv` 0.5) amortizing over
    ``amortization_quarters``, nothing more to draw; cash ample, no tax."""
    d = base_model()
    d["horizon"].update(quarters=2, discount_rate_annual=discount_rate)
    d["skus"]["A"].update(available_from="2025Q1", available_until="2025Q4")
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2025Q4", "gpus": 100, "use": "training",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["finance"]["facilities"] = {"gpu-loan": {
        "size_usd": 120_000, "opening_balance_usd": 120_000, "fixed_rate_annual": 0.0, "max_ltv": 0.5,
        "amortization_quarters": amortization_quarters, "draw_from": "2026Q1", "draw_until": "2026Q1",
    }}  # fmt: skip
    return d


def resale_in_first_quarter(factor: float, p: float) -> ScenarioInputs:
    return ScenarioInputs(f"resale x{factor:g}", p, resale=np.array([factor, 1.0]))


def test_a_copy_values_its_collateral_at_the_scenario_s_resale_factor():
    """§7b's `collateral_scale` (the borrowing base, §5.9) on secured_fleet(2): 60,000 owed at the
    end of 2026Q1 needs 60,000 / 0.5 = 120,000 of collateral, against a fleet worth 100 x 3,000 x
    the scenario's resale factor (none is needed at the end of 2026Q2: the loan is repaid). Nothing
    can be prepaid (the last instalment falls in the horizon) and no GPU bought, so at a factor of
    0.3 the copy is 120,000 - 90,000 = 30,000 of collateral short, cured by repaying 0.5 x 30,000 =
    15,000 at 11 per USD (§7b "Recourse"); at 0.4 the base binds exactly (120,000 of GPUs): no
    cure, as the evaluator's plan breaches below 0.4 only. NPV = 2 x 219,000 - 120,000 + 100 x
    1,000 x 0.5 = 368,000 in both (the end at factor 1): V = 368,000 - 11 x 15,000 = 203,000 and
    368,000; RP = (203,000 + 368,000) / 2 = 285,500 (at 11 per USD of collateral, until 2026-12-07:
    V 38,000, RP 203,000). Before, the copies valued the collateral at the forecast's 300,000: no
    cure, RP 368,000."""
    data = data_of(secured_fleet(2))
    scenarios = [resale_in_first_quarter(0.3, 0.5), resale_in_first_quarter(0.4, 0.5)]
    ef = build_extensive_form(data, scenarios, FirstStage(1))
    rp = solve(ef)
    crash, level = rp.scenarios
    assert crash["slacks"] == {"borrowing_base": {"amount": pytest.approx(30_000.0, abs=1e-4), "unit": "USD",
                                                  "limit": "borrowing base"}}  # fmt: skip
    assert crash["covenant_cure"] and not crash["cash_rescue"]
    assert (crash["npv_usd"], crash["value_usd"]) == (pytest.approx(368_000.0, abs=1e-4),
                                                      pytest.approx(203_000.0, abs=1e-4))  # fmt: skip
    assert not level["rescued"] and level["value_usd"] == pytest.approx(368_000.0, abs=1e-4)
    assert rp.objective_usd == pytest.approx(285_500.0, abs=1e-4)
    # the evaluator counts the same: the forecast optimum's plan breaches the base at 0.3, not at 0.4
    plan = solve_with_first_stage(data, FirstStage(1), mip_gap=EXACT).plan
    for factor, breached in ((0.3, 1.0), (0.4, 0.0)):
        scen = deterministic_scenarios(data, 1)
        scen.factors["resale_factor"][0, 0] = factor
        assert policy_run(data, plan, Policy(), scen)["breach"][0, 0] == breached, factor


def test_rp_prepays_now_to_keep_the_borrowing_base_of_a_scenario_whose_gpus_lose_value():
    """secured_fleet(4) at 10 % a year (DF = 0.976454, 0.953463): 30,000 due each quarter, 60,000
    after the horizon, which may be prepaid (first stage: 2026Q1). Owed at the end of 2026Q1: 90,000
    less the prepayment P, needing 2 (90,000 - P) of collateral; at a factor of 0.3 the fleet is
    worth 90,000, so P >= 45,000. P costs DF_0 - DF_1 = 0.022992 a USD (paid now, owed less at the
    end, no interest), the cure 11 per USD not prepaid (0.5 USD repaid per USD of the 2 USD of
    collateral each USD owed needs): RP prepays 45,000 in both copies, each worth NPV = 189,000 x
    (DF_0 + DF_1) + DF_1 x (50,000 - 60,000) - 45,000 x 0.022992 = 354,185.01. EEV (the forecast's
    first stage: nothing prepaid; 90,000 of collateral short in 2026Q1, 2026Q2 prepayable in the
    copy: it prepays there what the base needs) = 355,219.63 - 0.5 x 11 x 0.5 x 90,000 = 107,719.63
    (at 11 per USD of collateral, until 2026-12-07: -139,780.37). Before, the copies valued the
    collateral at 300,000: RP prepaid nothing, RP = EEV = 355,219.63."""
    data = data_of(secured_fleet(4, discount_rate=0.10))
    scenarios = [resale_in_first_quarter(0.3, 0.5), ScenarioInputs("forecast", 0.5)]
    ef = build_extensive_form(data, scenarios, FirstStage(1))
    rp = solve(ef)
    prepaid = first_stage_values(ef.block(0), FirstStage(1))[("prepay", (0, 0))]
    assert prepaid == pytest.approx(45_000 / 1e6)
    assert rp.objective_usd == pytest.approx(354_185.01, abs=0.01)
    assert not any(row["rescued"] for row in rp.scenarios)
    forecast = solve_with_first_stage(data, FirstStage(1), mip_gap=EXACT)
    assert forecast.first_stage[("prepay", (0, 0))] == 0.0
    ef.fix_first_stage(forecast.first_stage)
    eev = solve(ef)
    assert eev.scenarios[0]["slacks"]["borrowing_base"]["amount"] == pytest.approx(90_000.0, abs=1e-4)
    assert eev.objective_usd == pytest.approx(107_719.63, abs=0.01)


def test_a_borrowing_base_shortfall_is_cured_once_by_a_repayment():
    """secured_fleet(4) (30,000 due each quarter, 60,000 after the horizon) with the GPUs at 0.3 of
    their value in both quarters and nothing prepaid (the whole horizon first stage, fixed): owed
    90,000 and 60,000 at the quarters' ends, needing 180,000 and 120,000 of collateral against a
    fleet worth 100 x 3,000 x 0.3 = 90,000 and 100 x 2,000 x 0.3 = 60,000: 90,000 and 60,000
    short. Repaying 0.5 x 90,000 = 45,000 in 2026Q1 cures both quarters (the balance stays 45,000
    lower), so the cure is 11 x 45,000 = 495,000 (§7b "Recourse"), not 11 x (90,000 + 60,000) =
    1,650,000 per quarter of collateral missing. NPV = 2 x 219,000 - 120,000 (repaid and owed at
    the end) + 100 x 1,000 x 0.5 x 0.3 = 333,000; V = 333,000 - 495,000 = -162,000."""
    data = data_of(secured_fleet(4))
    falls = ScenarioInputs("resale x0.3", 1.0, resale=np.array([0.3, 0.3]))
    ef = build_extensive_form(data, [falls], FirstStage(2))
    ef.fix_first_stage({("prepay", (0, t)): 0.0 for t in range(2)})
    (row,) = solve(ef).scenarios
    assert row["slacks"]["borrowing_base"]["amount"] == pytest.approx(150_000.0, abs=1e-4)
    assert row["npv_usd"] == pytest.approx(333_000.0, abs=1e-4)
    assert row["value_usd"] == pytest.approx(-162_000.0, abs=1e-4)


def lp_rows(text: str, name: str) -> dict[str, dict[str, float]]:
    """The rows of an LP file (symbolic labels) whose name holds ``name``: row -> {column: coefficient}."""
    rows = {}
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        if lines and name in lines[0] and lines[0].endswith(":"):
            terms = (line.split(" ", 1) for line in lines[1:] if not line.startswith(("<=", ">=", "=")))
            rows[lines[0]] = {column: float(coefficient) for coefficient, column in terms}
    return rows


def test_the_forecast_scenario_leaves_the_lp_byte_identical_and_a_scenario_scales_the_collateral(tmp_path):
    """tiny's scenario copy: set to a drawn scenario and back to the forecast, its LP is the one built
    (§7b: byte-identical at the defaults); under the scenario each borrowing-base row's GPU
    coefficients (R_{c,t}) are the forecast's times the scenario's resale factor of the quarter, the
    balances' (1 / max_ltv) unchanged."""
    data, (drawn,) = tiny_scenarios(1)
    ef = build_extensive_form(data, [ScenarioInputs("forecast", 1.0)], FirstStage(2))

    def lp() -> str:
        path = tmp_path / "copy.lp"
        ef.m.write(str(path), io_options={"symbolic_solver_labels": True})
        return path.read_text()

    built = lp()
    apply_scenario(ef.block(0), data, drawn)
    scaled = lp_rows(lp(), "borrowing_base")
    apply_scenario(ef.block(0), data, ScenarioInputs("forecast", 1.0))
    assert lp() == built
    forecast = lp_rows(built, "borrowing_base")
    assert len(forecast) == data.T and scaled.keys() == forecast.keys()
    for row, coefficients in forecast.items():
        t = int(re.search(r"borrowing_base\((\d+)\)", row).group(1))
        factor = {c: drawn.resale[t] if "held" in c else 1.0 for c in coefficients}
        expected = {c: pytest.approx(a * factor[c], rel=1e-12) for c, a in coefficients.items()}
        assert scaled[row] == expected, row


def test_a_scenario_s_demand_scale_limits_what_the_market_takes():
    """§7b's `demand_scale` in a solved scenario copy, on buy_now_or_later: in a scenario where the
    inference market takes nothing in quarter 1, a GPU bought now earns 1,095 in quarter 0 and is
    sold at the start of quarter 1 for 1,500: -4,000 + 1,095 + 1,500 = -1,405; bought later it
    earns nothing. The scenario's optimum buys nothing: 0. With the demand read unscaled (the NPV
    objective's market row), it bought now as the forecast does and was worth 285."""
    data = data_of(buy_now_or_later())
    none_later = np.ones((2, data.T))
    none_later[1, 1] = 0.0  # inference, quarter 1
    none_later_scenario = ScenarioInputs("none later", 1.0, demand_scale=none_later)
    ef = build_extensive_form(data, [none_later_scenario], FirstStage(1))
    rp = solve(ef)
    assert rp.objective_usd == pytest.approx(0.0, abs=1e-4)
    assert first_stage_values(ef.block(0), FirstStage(1))[("buy", (0, 0, 0))] == 0.0
    ef.fix_first_stage({("buy", (0, 0, 0)): 1.0})
    assert solve(ef).objective_usd == pytest.approx(-1405.0, abs=1e-4)


@pytest.mark.parametrize("rounding_first", [True, False])
@pytest.mark.parametrize(("risk_weight", "expected"), [(0.0, 761.25), (0.5, 451.875)])
def test_wait_and_see_is_each_scenarios_own_optimum_weighted(risk_weight, expected, rounding_first):
    """WS, non-anticipativity dropped: buy_now_or_later with the quarter-1 price x2 (p = 1/4), x1
    (the forecast, p = 1/2) and x0 (p = 1/4); each scenario's own optimum (as in
    test_hand_worked_two_scenarios): x2 buys now, 2,475 (later 1,880); x1 buys now, 285 (later
    -310, never 0); x0 never buys, 0. L = 0: WS = 2,475 / 4 + 285 / 2 + 0 / 4 = 761.25. L = 1/2,
    A = 1/2: the worst half is x0 (1/4) and 1/4 of x1, CVaR = (0 + 285 / 4) / (1/2) = 142.5, WS =
    761.25 / 2 + 142.5 / 2 = 451.875. By the LP (here integral) and by each block's MILP apart,
    the route WS takes where the LP's rounding misses the gap; each own optimum solved alone too
    (a one-scenario extensive form)."""
    data = data_of(buy_now_or_later())
    factors = {"x2": (0.25, 2.0), "x1": (0.5, 1.0), "x0": (0.25, 0.0)}
    alone = [
        solve(build_extensive_form(data, [price_scenario(data, k, 1.0, f)], FirstStage(1)))
        for k, (_, f) in factors.items()
    ]
    own = [solution.objective_usd for solution in alone]
    assert own == pytest.approx([2475.0, 285.0, 0.0], abs=1e-4)
    scenarios = [price_scenario(data, k, p, f) for k, (p, f) in factors.items()]
    ef = build_extensive_form(data, scenarios, FirstStage(1), risk_weight=risk_weight, alpha=0.5)
    solve(ef)  # RP first, as the run does (the model is compiled with its non-anticipativity rows)
    ef.m.nonanticipativity.deactivate()
    ef._highs.rounding_first = rounding_first
    ws = solve(ef)
    assert ws.method == ("LP" if rounding_first else "blocks' MILPs apart")
    assert ws.objective_usd == pytest.approx(expected, abs=1e-4)
    weighted = risk_value(np.array(own), ef.probabilities, risk_weight, 0.5)
    assert ws.objective_usd == pytest.approx(weighted, abs=1e-4)
    assert [row["value_usd"] for row in ws.scenarios] == pytest.approx(own, abs=1e-4)
    assert ws.bound_usd == pytest.approx(ws.objective_usd, abs=1e-4)
    bought = [first_stage_values(ef.block(n), FirstStage(1))[("buy", (0, 0, 0))] for n in range(3)]
    assert bought == [1.0, 1.0, 0.0]


def test_wait_and_see_where_rounding_misses_is_each_scenarios_own_optimum():
    """tiny over 2 scenarios (seed 0, p = 1/2 each), Q = 4: WS's LP rounded misses the gap, so each
    block's MILP is solved apart (before: HiGHS's branch and bound over the whole extensive form).
    WS = (V_0* + V_1*) / 2, each V_n* the scenario's own optimum solved alone (a one-scenario
    extensive form, solved as RP is), within the gaps."""
    gap = 1e-4
    data, scenarios = tiny_scenarios(2, seed=0)
    stage = FirstStage(4)
    alone = [build_extensive_form(data, [replace(sc, probability=1.0)], stage) for sc in scenarios]
    own = [ef.solve(gap, None, None) for ef in alone]
    assert [solution.status for solution in own] == ["optimal", "optimal"]
    ef = build_extensive_form(data, scenarios, FirstStage(4))
    ef.solve(gap, None, None)
    ef.m.nonanticipativity.deactivate()
    ws = ef.solve(gap, None, None)
    assert (ws.method, ws.status) == ("blocks' MILPs apart", "optimal")
    weighted = sum(0.5 * solution.objective_usd for solution in own)
    assert ws.objective_usd == pytest.approx(weighted, rel=2 * gap)
    assert ws.objective_usd <= ws.bound_usd
    assert ws.objective_usd <= sum(0.5 * solution.bound_usd for solution in own) + 1.0  # USD


def test_larger_risk_weight_never_lowers_cvar():
    """p(high, x3) = 3/4, p(low, x0) = 1/4, alpha = 1/4 (CVaR = the low scenario). Now: high
    -4,000 + 1,095 + 6,570 + 1,000 = 4,665, low -1,405, E = 3,147.5; later: high -4,000 + 6,570 +
    1,500 = 4,070, low 0, E = 3,052.5. L = 0 buys now (CVaR -1,405); L = 1 waits (CVaR 0); the
    CVaR may not fall as L grows."""
    data = data_of(buy_now_or_later())
    scenarios = [price_scenario(data, "high", 0.75, 3.0), price_scenario(data, "low", 0.25, 0.0)]
    cvars, buys = [], []
    for weight in (0.0, 0.25, 0.5, 0.75, 1.0):
        ef = build_extensive_form(data, scenarios, FirstStage(1), risk_weight=weight, alpha=0.25)
        rp = solve(ef)
        npv = np.array([row["npv_usd"] for row in rp.scenarios])
        cvars.append(cvar(npv, ef.probabilities, 0.25))
        buys.append(first_stage_values(ef.block(0), FirstStage(1))[("buy", (0, 0, 0))])
    assert buys[0] == 1.0 and buys[-1] == 0.0
    assert cvars[0] == pytest.approx(-1405.0, abs=1e-4) and cvars[-1] == pytest.approx(0.0, abs=1e-4)
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(cvars))


def test_revolver_is_no_bridge_to_a_purchase():
    """buy_now_or_later on the forecast alone (Q = 1) with $2,000 of opening cash, no minimum cash
    and a $10,000 revolver at 0 % interest. Buying now ends quarter 0 at 2,000 - 4,000 + 1,095 =
    -905: it needs $905 of revolver, repaid in quarter 1 from its 2,190. Worth 285 (the forecast
    optimum of test_hand_worked_two_scenarios) less the revolver penalty on 905 outstanding for one
    quarter: at the old 0.1 per USD-quarter 285 - 90.5 = 194.5 > 0, so the MILP borrowed to buy
    (the revolver as cheap financing); at 10 / T = 10 / 2 = 5 per USD-quarter 285 - 4,525 < 0, so
    it does not buy now and does not buy later (-310): RP = 0, no revolver."""
    d = buy_now_or_later()
    d["finance"]["opening_cash_usd"] = 2000.0
    d["finance"]["revolver"] = {"size_usd": 10000.0, "annual_rate": 0.0}
    data = data_of(d)
    assert revolver_penalty(data.T) == 5.0
    ef = build_extensive_form(data, [ScenarioInputs("forecast", 1.0)], FirstStage(1))
    rp = solve(ef)
    assert rp.objective_usd == pytest.approx(0.0, abs=1e-4)
    assert first_stage_values(ef.block(0), FirstStage(1))[("buy", (0, 0, 0))] == 0.0
    assert rp.scenarios[0]["revolver_peak_usd"] == pytest.approx(0.0, abs=1e-4)


def test_a_first_stage_that_cannot_be_completed_names_what_it_shares(monkeypatch):
    """With --share-purchases the first stage holds every later purchase, power block and draw too:
    the refusal said only "its commitments before 2027Q3" and advised fewer first-stage quarters,
    which cannot free purchases shared over the whole horizon. It names them, and the option."""
    from fleetopt.errors import NoPlanError
    from fleetopt.stochastic.forecast_completion import complete_plan
    from fleetopt.stochastic.settings import SolverSettings

    completion = "fleetopt.stochastic.forecast_completion"  # the module whose calls these change
    monkeypatch.setattr(f"{completion}.solve_with_first_stage", lambda *args, **kwargs: None)
    monkeypatch.setattr(f"{completion}.complete_with_rescue", lambda *args, **kwargs: None)
    shared = FirstStage(4, SHARED_PURCHASES)
    with pytest.raises(NoPlanError) as refused:
        complete_plan(TINY_DATA, shared, {}, SolverSettings(EXACT))
    said = str(refused.value)
    assert "(its commitments before 2027Q3, with every later purchase, power block and draw)" in said
    assert "(--first-stage-quarters), without --share-purchases, or the forecast's own plan" in said
    with pytest.raises(NoPlanError) as refused:
        complete_plan(TINY_DATA, FirstStage(4), {}, SolverSettings(EXACT))
    assert "(its commitments before 2027Q3)" in str(refused.value)
    assert "--share-purchases" not in str(refused.value)


def test_plan_completed_with_the_rescue_reports_the_forecast_limits_it_breaks():
    """buy_now_or_later with $5,000 of opening cash and a $2,500 minimum, first stage (Q = 1) fixed
    to buying now: quarter 0 ends at 5,000 - 4,000 + 1,095 = 2,095 < 2,500, so the forecast MILP
    cannot complete it and the rescue model does (emergency equity of 405 in quarter 0). The
    written plan's own forecast statements (no equity, no revolver) keep cash at $2,095 in 2026Q1
    (quarter 1: 2,095 + 2,190 = 4,285, kept): reported as breaking the minimum cash in 2026Q1 only.
    The forecast optimum itself breaks nothing."""
    from fleetopt.stochastic.forecast_completion import complete_plan, forecast_limits_broken
    from fleetopt.stochastic.settings import SolverSettings

    d = buy_now_or_later()
    d["finance"]["opening_cash_usd"] = 5000.0
    d["finance"]["min_cash_usd"] = 2500.0
    data = data_of(d)
    _, completion = complete_plan(data, FirstStage(1), {("buy", (0, 0, 0)): 1.0}, SolverSettings(EXACT))
    assert completion["method"] == "forecast with rescue"
    assert completion["rescue"]["emergency_equity_usd"] == pytest.approx(405.0, abs=1e-3)
    assert completion["rescue"]["cash_rescue"]
    [broken] = completion["limits_broken"]
    assert broken["limit"].startswith("cash >= min cash") and broken["quarters"] == ["2026Q1"]
    assert broken["lowest_usd"] == pytest.approx(2095.0, abs=1e-6)
    forecast = solve_with_first_stage(data, FirstStage(1), mip_gap=EXACT)
    assert forecast_limits_broken(data, forecast.plan) == []


def test_a_plan_completed_with_the_rescue_passes_the_plan_file_checks():
    """The rescue's later purchases were continuous and written rounded: lab's stochastic completion
    bought 576 VR-NVL72 GPUs in 2027Q3 and held 586, and its plan file was refused by `evaluate`.
    It completes in whole blocks, as the forecast MILP does, and its plan passes every hard limit."""
    _, data = load("lab")
    first = solve_with_first_stage(data, FirstStage(4), threads=1).first_stage
    plan, _ = complete_with_rescue(data, FirstStage(4), first, threads=1)
    np.testing.assert_array_equal(plan.buy_blocks, np.round(plan.buy_blocks))
    stack = Plan.stack([plan])
    assert limit_problem(data, stack, ["rescued"], operating_lines(data, stack)) is None


def test_cvar_of_a_discrete_distribution():
    values, p = np.array([10.0, -5.0, 0.0]), np.array([0.5, 0.25, 0.25])
    assert cvar(values, p, 0.25) == pytest.approx(-5.0)
    assert cvar(values, p, 0.5) == pytest.approx(-2.5)  # (-5 x 0.25 + 0 x 0.25) / 0.5
    assert cvar(values, p, 0.75) == pytest.approx((-5 * 0.25 + 0 + 10 * 0.25) / 0.75)


def tiny_scenarios(n: int, seed: int = 3) -> tuple:
    _, data = load("tiny")
    drawn = generate_scenarios(data, seed, 0, n)
    return data, scenario_inputs(data, drawn, range(n), [1.0 / n] * n)


def test_shared_purchases_hold_every_copy_to_the_same_purchases_in_every_quarter():
    """--share-purchases (§7b, "Stages"): the instance of test_hand_worked_two_scenarios (Q = 1, a
    GPU bought now or in quarter 1, quarter 1's price x2 or x0 at p = 1/2 each). With only quarter 0
    shared, RP waits and each copy decides quarter 1 knowing its price: the high copy buys then, the
    low one does not (RP = 1,880 / 2 = 940). With every purchase shared, quarter 1's purchase is one
    decision for both copies, as the evaluator runs a plan's; each copy still sells its GPU as it
    likes (retirement stays its own):

    * buy now: high keeps it (2,475), low sells it at the start of quarter 1 (-1,405): 535;
    * buy in quarter 1: high 1,880; low buys too and earns nothing: -4,000 + 3,000 / 2 at the end =
      -2,500: (1,880 - 2,500) / 2 = -310;
    * never: 0.

    So RP = 535, buy now, which is the forecast optimum's plan (EEV 535, VSS 0); WS is unchanged
    (1,237.5: no row ties the copies there)."""
    data = data_of(buy_now_or_later())
    scenarios = [price_scenario(data, "high", 0.5, 2.0), price_scenario(data, "low", 0.5, 0.0)]
    dated = build_extensive_form(data, scenarios, FirstStage(1))
    assert solve(dated).objective_usd == pytest.approx(940.0, abs=1e-4)
    assert [pyo_value(dated.block(n).buy[0, 0, 1]) for n in (0, 1)] == pytest.approx([1.0, 0.0])
    shared = FirstStage(1, SHARED_PURCHASES)
    ef = build_extensive_form(data, scenarios, shared)
    rp = solve(ef)
    assert rp.objective_usd == pytest.approx(535.0, abs=1e-4)
    assert [row["npv_usd"] for row in rp.scenarios] == pytest.approx([2475.0, -1405.0], abs=1e-4)
    for n in (0, 1):
        assert [pyo_value(ef.block(n).buy[0, 0, t]) for t in (0, 1)] == pytest.approx([1.0, 0.0])
    assert first_stage_values(ef.block(0), shared)[("buy", (0, 0, 1))] == 0.0
    forecast = solve_with_first_stage(data, shared, mip_gap=EXACT)
    assert forecast.first_stage[("buy", (0, 0, 0))] == 1.0 and ("buy", (0, 0, 1)) in forecast.first_stage
    ef.fix_first_stage(forecast.first_stage)
    assert solve(ef).objective_usd == pytest.approx(535.0, abs=1e-4)  # EEV
    ef.fix_first_stage(None)
    ef.m.nonanticipativity.deactivate()
    assert solve(ef).objective_usd == pytest.approx(1237.5, abs=1e-4)  # WS


def test_share_purchases_ties_every_purchase_power_block_and_draw_of_tiny_and_nothing_else_later():
    """tiny over 3 scenarios at Q = 4 of its 8 quarters: with --share-purchases, the purchases and
    draws of quarters 4-7 join the first stage (power blocks too where a site can start one then):
    their rows tie every copy to scenario 0's, and they stay whole blocks, as the first stage's,
    while prepayments, retirements, moves to inference and the purchases' training split of those
    quarters stay each copy's own, as without it; the solve's settings and words say so."""
    data, scenarios = tiny_scenarios(3)
    dated = set(first_stage_keys(scenario_model(data, FirstStage(4)), FirstStage(4)))
    shared = FirstStage(4, SHARED_PURCHASES)
    keys = set(first_stage_keys(scenario_model(data, shared), shared))
    added = keys - dated
    # tiny's one site starts blocks in quarters 0-3 only (a 4-quarter lead time online by the end)
    assert dated < keys and {name for name, _ in added} == {"buy", "draw"}
    assert all(key[-1] >= 4 for _, key in added)
    ef = build_extensive_form(data, scenarios, shared)
    assert all(ef.block(1).buy[key].is_integer() for key in ef.block(1).buy)
    rp = ef.solve(EXACT, None, 2)
    assert rp.status == "optimal"
    for name in SHARED_PURCHASES:
        first = [pyo_value(var) for var in getattr(ef.block(0), name).values()]
        for n in (1, 2):
            assert [pyo_value(var) for var in getattr(ef.block(n), name).values()] == pytest.approx(first)
    result = solve_stochastic(TINY_DATA, 2, quarters=4, share_purchases=True, oos_scenarios=0)
    assert result.settings["share_purchases"] is True
    # the run registry keeps it beside the first-stage quarters (`fleetopt runs show` says it)
    kept = key_figures({"kind": "stochastic", "settings": result.settings})
    assert kept["share_purchases"] is True and kept["first_stage_quarters"] == 4
    assert first_stage_text(result.settings) == (
        "first stage before 2027Q3 (4 quarters), with every later purchase, power block and draw")
    # what to commit to lists the purchases of every quarter then: a block bought in 2028Q1 (t = 6)
    later = replace(result.plan, buy_blocks=result.plan.buy_blocks.copy())
    later.buy_blocks[0, 0, 6] = 1.0
    for shared, listed in ((SHARED_COMMITMENTS, ["buy_gpus"]), ((), [])):
        rows = first_stage_commitments(TINY_DATA, later, result.forecast_plan, 4, shared)
        assert [r["decision"] for r in rows if r["quarter"] == "2028Q1"] == listed
    assert copies_replan({"settings": result.settings}).startswith(
        "every copy runs the plan's purchases, power and draws, as the evaluator does, and re-plans its "
        "prepayments, retirements and moves to inference from 2027Q3 on")


def test_nonanticipativity_rows_follow_the_tree_of_scenario_groups_over_five_scenarios():
    """Over 12 scenarios the groups are [0, 5), [5, 10), [10, 12), then [0, 10), [10, 12): each
    copy is tied to its group's first scenario's, the first of each group to the first of the group
    above, so scenarios 1-5 and 10 are tied to 0, 6-9 to 5 and 11 to 10; every row is still
    ``v(n) == v(tied)`` of one variable and index."""
    data, scenarios = tiny_scenarios(12)
    ef = build_extensive_form(data, scenarios, FirstStage(3))
    tied = {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 5, 7: 5, 8: 5, 9: 5, 10: 0, 11: 10}
    first, keys = ef.block(0), first_stage_keys(ef.block(0), FirstStage(3))
    free = [(name, key) for name, key in keys if not getattr(first, name)[key].fixed]
    expected = {
        (id(getattr(ef.block(n), name)[key]), id(getattr(ef.block(m), name)[key]))
        for n, m in tied.items()
        for name, key in free
    }
    rows = {(id(con.expr.args[0]), id(con.expr.args[1])) for con in ef.m.nonanticipativity.values()}
    assert rows == expected and len(ef.m.nonanticipativity) == 11 * len(free)


def test_the_tree_of_groups_solves_to_the_optimum_of_every_copy_tied_to_scenario_0(monkeypatch):
    """The same extensive form over 12 scenarios with its rows along the tree and with every copy
    tied to scenario 0's (the solver's group LPs then start from a wrong group, which may only cost
    time): the same optimum, and in the tree's solution every scenario's first stage is scenario
    0's."""
    data, scenarios = tiny_scenarios(12)
    tree = build_extensive_form(data, scenarios, FirstStage(3))
    rp = tree.solve(EXACT, None, 2)
    first = first_stage_keys(tree.block(0), FirstStage(3))
    for n in range(1, 12):
        for name, key in first:
            assert getattr(tree.block(n), name)[key].value == pytest.approx(
                getattr(tree.block(0), name)[key].value, abs=1e-9
            )
    monkeypatch.setattr("fleetopt.milp.stochastic.extensive_form.group_sizes", lambda n: [])
    star = build_extensive_form(data, scenarios, FirstStage(3))
    assert {id(con.expr.args[1]) for con in star.m.nonanticipativity.values()} <= {
        id(getattr(star.block(0), name)[key]) for name, key in first
    }
    assert rp.objective_usd == pytest.approx(star.solve(EXACT, None, 2).objective_usd, rel=1e-9, abs=1e-3)


def test_the_tree_of_groups_keeps_the_optimum_with_cvar(monkeypatch):
    """With CVaR's rows (eta and a shortfall per scenario, outside every group) and a last group of
    2 (7 scenarios: [0, 5), [5, 7)): the same optimum as every copy tied to scenario 0's."""
    data, scenarios = tiny_scenarios(7)
    tree = build_extensive_form(data, scenarios, FirstStage(3), risk_weight=0.5, alpha=0.25)
    rp = tree.solve(EXACT, None, 2)
    monkeypatch.setattr("fleetopt.milp.stochastic.extensive_form.group_sizes", lambda n: [])
    star = build_extensive_form(data, scenarios, FirstStage(3), risk_weight=0.5, alpha=0.25)
    assert rp.objective_usd == pytest.approx(star.solve(EXACT, None, 2).objective_usd, rel=1e-9, abs=1e-3)


def test_nonanticipativity_rows_tie_each_first_stage_copy_to_scenario_0():
    """The rows themselves, not the block solver's loading (which copies scenario 0's first stage
    into every copy): tiny over 3 scenarios with Q = 3 has one row per free first-stage variable
    and scenario n >= 1, each ``v(n) == v(0)`` of the same variable and index; later decisions have
    none."""
    data, scenarios = tiny_scenarios(3)
    ef = build_extensive_form(data, scenarios, FirstStage(3))
    first, keys = ef.block(0), first_stage_keys(ef.block(0), FirstStage(3))
    free = [(name, key) for name, key in keys if not getattr(first, name)[key].fixed]
    expected = {
        (id(getattr(ef.block(n), name)[key]), id(getattr(first, name)[key]))
        for n in (1, 2)
        for name, key in free
    }
    rows = {(id(con.expr.args[0]), id(con.expr.args[1])) for con in ef.m.nonanticipativity.values()}
    assert free and len(ef.m.nonanticipativity) == 2 * len(free)
    assert rows == expected
    later = first_stage_keys(first, FirstStage(data.T))
    assert len(later) > len(keys)


class StopWhileCopied:
    """An attribute of the model whose copy, the first time, is a Ctrl-C: a SIGINT that lands inside
    Pyomo's clone, whose bare ``except`` retries the step and would swallow it."""

    def __init__(self):
        self.stops = 0

    def __deepcopy__(self, memo):
        if not self.stops:
            self.stops += 1
            signal.raise_signal(signal.SIGINT)
        return self


def test_a_ctrl_c_inside_a_scenario_copy_stops_the_extensive_form(monkeypatch):
    """Pyomo alone loses the stop (the copy goes on, the solve would too); building the extensive
    form raises it once the copy is made."""
    data, scenarios = tiny_scenarios(3)
    trap = StopWhileCopied()
    plain = scenario_model(data, FirstStage(3))
    plain.trap = trap
    plain.clone()  # no KeyboardInterrupt: swallowed
    assert trap.stops == 1
    trap, made = StopWhileCopied(), scenario_model

    def trapped(*args, **kwargs):
        base = made(*args, **kwargs)
        base.trap = trap
        return base

    monkeypatch.setattr("fleetopt.milp.stochastic.extensive_form.scenario_model", trapped)
    with pytest.raises(KeyboardInterrupt):
        build_extensive_form(data, scenarios, FirstStage(3))
    assert trap.stops == 1


def test_first_stage_shared_when_the_whole_extensive_form_is_solved_by_highs():
    """The hand-worked two scenarios (test_hand_worked_two_scenarios) solved as one MILP by HiGHS
    through Pyomo, so every copy keeps its own value: with the rows each scenario would take its
    own first stage (the high one buys now, the low one not: WS, 1,237.5); with them both wait
    (RP, 940). Fails if the rows are missing or tie the wrong variables."""
    from fleetopt.milp.highs import run_highs

    data = data_of(buy_now_or_later())
    scenarios = [price_scenario(data, "high", 0.5, 2.0), price_scenario(data, "low", 0.5, 0.0)]
    ef = build_extensive_form(data, scenarios, FirstStage(1))
    status, _ = run_highs(ef.m, rel_gap=EXACT)
    assert status == "optimal"
    assert [ef.block(n).buy[0, 0, 0].value for n in (0, 1)] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert pyo_value(ef.m.objective) == pytest.approx(940.0 / 1e6, abs=1e-9)  # MUSD
    ef.m.nonanticipativity.deactivate()
    status, _ = run_highs(ef.m, rel_gap=EXACT)
    assert [ef.block(n).buy[0, 0, 0].value for n in (0, 1)] == pytest.approx([1.0, 0.0], abs=1e-6)
    assert pyo_value(ef.m.objective) == pytest.approx(1237.5 / 1e6, abs=1e-9)


@pytest.mark.parametrize("risk_weight", [0.5, 1.0])
def test_rounded_plan_solved_scenario_by_scenario_is_a_plan_of_the_extensive_form(risk_weight):
    """tiny over 4 scenarios with CVaR (A = 1/4): the LP's first stage is fractional, so the plan
    is its rounding. Solved scenario by scenario (the integers rounded, the continuous first stage
    from the most probable block given them, every block's LP then apart, CVaR's eta and
    shortfalls last) every block is solved, the first stage is shared, the objective reported is
    (1 - L) E[V] + L CVaR_A(V) of the plan's own scenario values (L = 1: the blocks keep their own
    values as objective, not the extensive form's zero share) and at most what the extensive
    form's LP with only the rounded integers fixed finds (there the continuous first stage is free
    to suit every scenario, not only the anchor)."""
    data, scenarios = tiny_scenarios(4)
    found = {}
    for decompose in (True, False):
        ef = build_extensive_form(data, scenarios, FirstStage(3), risk_weight=risk_weight, alpha=0.25)
        ef.solve(0.5, None, None)  # compiles the model for HiGHS
        ef._highs.decompose, ef._highs.basis, ef._highs.last_apart = decompose, None, {}
        rp = ef.solve(0.2, None, None)
        assert rp.method == "LP and rounding" and rp.objective_usd <= rp.bound_usd
        assert ef._highs.last_apart.get("outcome") == ("plan" if decompose else None)  # the route taken
        values = np.array([row["value_usd"] for row in rp.scenarios])
        risk = risk_value(values, ef.probabilities, risk_weight, 0.25)
        assert rp.objective_usd == pytest.approx(risk, rel=1e-9)
        first = [first_stage_values(ef.block(n), FirstStage(3)) for n in range(4)]
        assert first[0] == first[1] == first[2] == first[3]
        found[decompose] = rp.objective_usd
    assert found[True] <= found[False] + 1e-9 * abs(found[False])


def _prepaid_past_the_horizon():
    # test_policy's one-site model with a contract prepaid 25 % whose term runs two quarters past
    # the horizon: the $219,000 not yet earned at the end is owed (formulation §6)
    return data_of(policy_model(term_quarters=6, prepayment_share=0.25))


@pytest.mark.parametrize("model", ["hand", "tiny", "prepaid"])
@pytest.mark.filterwarnings("ignore:.*quarters fall after the horizon ends")  # a contract past its horizon
def test_one_forecast_scenario_with_no_risk_weight_is_the_deterministic_optimum(model):
    data = {"hand": lambda: data_of(buy_now_or_later()), "tiny": lambda: load("tiny")[1],
            "prepaid": _prepaid_past_the_horizon}[model]()  # fmt: skip
    forecast = solve_with_first_stage(data, FirstStage(2), mip_gap=1e-7)
    forecast_only = [ScenarioInputs("forecast", 1.0)]
    ef = build_extensive_form(data, forecast_only, FirstStage(2), integer_later=True)
    rp = ef.solve(1e-7, None, None)
    assert rp.objective_usd == pytest.approx(forecast.objective_usd, rel=1e-6, abs=1e-3)
    assert not rp.scenarios[0]["rescued"]


@pytest.mark.parametrize("risk_weight", [0.5, 1.0])
def test_ev_is_the_objective_on_the_forecast_alone_at_any_risk_weight(risk_weight):
    """EV (formulation §7b, "Measures"): the extensive form over the forecast alone, p = 1, gives
    (1 - L) V + L CVaR_A(V) = V, as CVaR of one outcome is that outcome, and V is the forecast
    optimum's NPV (no rescue, no penalty): 285 for buy_now_or_later (buy now), whatever L."""
    data = data_of(buy_now_or_later())
    forecast = [ScenarioInputs("forecast", 1.0)]
    ef = build_extensive_form(
        data, forecast, FirstStage(1), risk_weight=risk_weight, alpha=0.25, integer_later=True
    )
    assert solve(ef).objective_usd == pytest.approx(285.0, abs=1e-4)


def test_neutral_scenario_parameters_leave_the_model_unchanged():
    """Setting a forecast scenario writes every parameter back to its neutral value."""
    _, data = load("tiny")
    m = scenario_model(data, FirstStage(2))
    apply_scenario(m, data, tiny_scenarios(1)[1][0])
    apply_scenario(m, data, ScenarioInputs("forecast", 1.0))
    for name in ("generation_price", "demand_scale", "contract_alive", "electricity_scale", "resale_scale",
                 "collateral_scale"):
        assert all(p.value == 1.0 for p in getattr(m, name).values())
    assert all(p.value == 0.0 for p in m.rate_shift.values())
    assert all(p.value == 1.0 for p in m.block_online.values())


# ---------------------------------------------------------------- scenario reduction


def test_reduction_probabilities_sum_to_one_and_are_deterministic():
    _, data = load("neocloud")
    drawn = generate_scenarios(data, 7, 0, 120)
    npv = drawn.price_factor[:, 0, -1] * 1e9  # any screening NPV will do
    features = scenario_features(drawn)
    for n in (1, 2, 5, 10):
        idx, p = reduce_scenarios(npv, features, n, 0.05)
        again = reduce_scenarios(npv, features, n, 0.05)
        assert len(idx) == n == len(set(idx.tolist()))
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert (p > 0).all()
        np.testing.assert_array_equal(idx, again[0])
        np.testing.assert_array_equal(p, again[1])
        if n >= 2:  # the tail stratum: a representative among the worst 5 % with their mass
            tail = set(np.argsort(npv, kind="stable")[:6].tolist())
            in_tail = [k for k, i in enumerate(idx) if i in tail]
            assert in_tail and p[in_tail].sum() == pytest.approx(6 / 120)


def test_reduction_returns_n_representatives_when_the_tail_is_everything():
    """M = 4 scenarios of screened NPV 3, 0, 1, 10 (the other features constant, so dropped), N = 2,
    A = 0.999: the tail is the worst ceil(0.999 x 4) = 4, i.e. all, and the body is empty, so both
    representatives come from the tail (before: one, of probability 1). Fast-forward on the NPVs
    (standardising scales every distance alike): the first pick minimises the summed distance,
    3 + 2 + 7 = 12 for NPV 3 (index 0) and 2 + 1 + 9 = 12 for NPV 1 (index 2): the lower index, 0;
    the second lowers it most with NPV 10 (index 3: 3 + 2 + 0 = 5 against 8 for the others).
    Probabilities to the nearest: 0, 1, 2 to index 0 (3/4), 3 to itself (1/4)."""
    npv, features = np.array([3.0, 0.0, 1.0, 10.0]), np.zeros((4, 1))
    idx, p = reduce_scenarios(npv, features, 2, 0.999)
    assert idx.tolist() == [0, 3]
    assert p.tolist() == [0.75, 0.25]
    for n in (2, 3):
        assert len(reduce_scenarios(npv, features, n, 0.999)[0]) == n


def test_tail_of_alpha_0_07_over_200_is_14_scenarios():
    """A = 0.07, M = 200 screened scenarios of NPV 0, 1, ..., 199 (other features constant): the tail
    is the worst ceil(0.07 x 200) = 14, though 0.07 x 200 is 14.000000000000002 in floating point
    (a plain ceil made it 15). N = 3: the tail gets max(1, round(0.21)) = 1 representative, with
    the tail's whole mass 14/200 = 0.07."""
    npv = np.arange(200.0)
    idx, p = reduce_scenarios(npv, np.zeros((200, 1)), 3, 0.07)
    in_tail = [k for k, i in enumerate(idx) if npv[i] < 14]
    assert len(in_tail) == 1 and p[in_tail[0]] == pytest.approx(14 / 200, abs=1e-15)


@pytest.mark.parametrize(
    "n, alpha, tail, body, expected",
    [
        (2, 0.05, 10, 190, 1),  # round(0.1) = 0, at least 1
        (10, 0.25, 50, 150, 2),  # round(2.5) = 2: half to even
        (10, 0.35, 70, 130, 4),  # round(3.5) = 4: half to even
        (3, 0.9, 180, 20, 2),  # round(2.7) = 3, capped at n - 1 = 2 while the body has scenarios
        (3, 0.999, 200, 0, 3),  # no body: every representative in the tail
        (5, 0.5, 8, 2, 3),  # round(2.5) = 2, but the body holds only 2 of the other 3
    ],
)
def test_tail_representatives(n, alpha, tail, body, expected):
    assert tail_representatives(n, alpha, tail, body) == expected


def test_representatives_of_probability_0_are_left_out_and_said_so(tmp_path):
    """tiny without its risk block: the 200 screened scenarios are all the forecast (every feature
    constant, so no column is left and every distance is 0). N = 3, A = 0.05: the tail is the worst
    ceil(0.05 x 200) = 10 by NPV, all equal, so scenarios 0-9 (lower index first), with
    max(1, round(0.15)) = 1 representative, scenario 0 (p 10/200); the body, scenarios 10-199, gets
    2: scenario 10 then 11 (every cost 0: the lower index), and every body scenario's probability
    goes to the first selected at distance 0, scenario 10 (190/200), leaving scenario 11 with 0. It
    is left out: 2 scenarios solved, and the table says so."""
    text = (Path(__file__).parents[1] / "models" / "tiny.yaml").read_text()
    path = tmp_path / "tiny_norisk.yaml"
    path.write_text(text[: text.index("\nrisk:")] + "\n")  # the risk block is the file's last
    _, data = load(str(path))
    result = solve_stochastic(data, 3, oos_scenarios=0, measures=False)
    assert [row["scenario"] for row in result.scenarios] == ["scenario 0", "scenario 10"]
    assert [row["probability"] for row in result.scenarios] == pytest.approx([0.05, 0.95])
    assert result.settings["distinct_scenarios"] == 2 and result.settings["scenarios"] == 3


def test_fast_forward_picks_the_medoid_first():
    points = np.array([[0.0], [1.0], [2.0], [10.0]])
    idx, w = fast_forward(points, np.full(4, 0.25), 1)
    assert idx.tolist() == [1] or idx.tolist() == [2]
    assert w.tolist() == [1.0]
    idx, w = fast_forward(points, np.full(4, 0.25), 2)
    assert 3 in idx.tolist() and sorted(w.tolist()) == [0.25, 0.75]


def test_the_reduction_s_memory_is_its_distance_matrices_not_one_per_feature(monkeypatch):
    """api.solve_stochastic takes a screen of up to 20,000 scenarios, but the reduction made every
    pair's differences at once, an (M, M, d) array: 26.9 GiB for the 19,000 scenarios of such a
    screen's body and its 10 features, a MemoryError. Made a block of rows at a time (here of
    1 MiB), the distances are the same (3-4-5 triangles: 5 and 10) and fast-forward's peak memory
    is the (M, M) distances and one buffer of its steps, about 2 x 8 MB at M = 1,000, where the
    differences alone took 10 x 8 MB."""
    monkeypatch.setattr(reduction, "DIFFERENCE_BYTES", 2**20, raising=False)
    three = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    idx, w = fast_forward(three, np.full(3, 1 / 3), 1)
    assert idx.tolist() == [1] and w.tolist() == [1.0]  # the middle point: 5 + 5 against 5 + 10
    M = 1000
    points = np.random.default_rng(0).normal(size=(M, 10))
    tracemalloc.start()
    try:
        fast_forward(points, np.full(M, 1 / M), 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * M * M * 8


# ---------------------------------------------------------------- the command


def cli(*args: str):
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--stochastic", "0"], "at least 1"),
        (["--stochastic", "1001"], "error: --stochastic must be at most 1,000"),
        (["--stochastic", "100000000000"], "error: --stochastic must be at most 1,000"),
        (["--stochastic", "2", "--cvar-alpha", "1"], "--cvar-alpha"),
        (["--stochastic", "2", "--cvar-alpha", "0"], "--cvar-alpha"),
        (["--stochastic", "2", "--cvar-alpha", "0.95"], "not a confidence level"),
        (["--integer-later"], "--integer-later cannot apply without --stochastic N"),
        (["--share-purchases"], "--share-purchases cannot apply without --stochastic N"),
        (["--stochastic", "2", "--risk-weight", "1.5"], "--risk-weight"),
        (["--stochastic", "2", "--risk-weight", "-0.1"], "--risk-weight"),
        (["--stochastic", "2", "--first-stage-quarters", "9"], "between 1 and 8"),
        (["--stochastic", "2", "--first-stage-quarters", "0"], "between 1 and 8"),
        (["--stochastic", "2", "--scenario-seed", "-1"], "--scenario-seed"),
        (["--stochastic", "2", "--scenario-seed", str(2**63)], "--scenario-seed"),
    ],
)
def test_bad_settings_exit_2(tmp_path, args, words):
    code, out = cli("solve", "tiny", "--out", str(tmp_path / "run"), *args)
    assert code == 2
    assert words in out
    assert not (tmp_path / "run").exists()


def test_sweep_refuses_too_many_stochastic_scenarios_before_its_folder(tmp_path):
    out = tmp_path / "sweep"
    code, text = cli("sweep", "tiny", "--candidates", "2", "--stochastic", "1001", "--out", str(out))
    assert code == 2
    assert "error: --stochastic must be at most 1,000" in text  # the option alone
    assert not out.exists()


def test_scenarios_beyond_the_memory_are_refused_before_any_solve(tmp_path, monkeypatch):
    """--stochastic 1000 on neocloud (about 85 GB at 85 MB a scenario) was accepted and killed by the
    OS with no message. tiny's scenario copy at Q = 4 has 505 variables and 320 rows (497 and 305
    before the borrowing base's cure was charged once, §7b "Recourse"): 1.5 MB + 4,700 x 825 =
    5.3775 MB a scenario; with 300 MB besides, 200 of them need 1.3755 GB, more than a 1 GB machine:
    exit 2 naming --stochastic, the estimate and the memory, no folder, no solve; 130 fit ((1 GB -
    300 MB) / 5.3775 MB), and 100 (838 MB) pass. FLEETOPT_STOCHASTIC_MEMORY_CHECK=0 skips it."""
    from fleetopt.stochastic import memory_estimate, run

    def no_solve(*args):
        raise AssertionError("solved before the memory was checked")

    monkeypatch.setattr(memory_estimate, "physical_ram_bytes", lambda: 10**9)
    monkeypatch.setattr(run, "forecast_optimum", no_solve)
    code, text = cli("solve", "tiny", "--stochastic", "200", "--out", str(tmp_path / "run"))
    said = " ".join(text.split())
    assert code == 2 and "Traceback" not in text
    assert ("--stochastic 200: the extensive form of tiny would need about 1.38 GB (5.38 MB a "
            "scenario), more than the 1 GB of memory here") in said  # fmt: skip
    assert "at most about 130 scenarios fit" in said and "FLEETOPT_STOCHASTIC_MEMORY_CHECK=0" in said
    assert not (tmp_path / "run").exists()
    _, data = load("tiny")
    memory_estimate.check_memory(data, 100, 4)  # 838 MB: fits
    monkeypatch.setenv("FLEETOPT_STOCHASTIC_MEMORY_CHECK", "0")
    memory_estimate.check_memory(data, 200, 4)


def test_a_need_just_above_the_memory_is_not_written_equal_to_it(monkeypatch):
    """100 of tiny's scenarios need 300 MB + 100 x 5.3775 MB = 837.75 MB; on a machine with 100 kB
    less (837.65 MB), both rounded to three digits read "838 MB": the refusal writes them apart
    (837.8 MB, 837.7 MB)."""
    from fleetopt.stochastic import memory_estimate
    from fleetopt.stochastic.memory_estimate import BASE_BYTES, BYTES_PER_ELEMENT, SCENARIO_BYTES

    _, data = load("tiny")
    per_scenario = SCENARIO_BYTES + BYTES_PER_ELEMENT * memory_estimate.scenario_elements(data, 4)
    need = BASE_BYTES + 100 * per_scenario
    monkeypatch.setattr(memory_estimate, "physical_ram_bytes", lambda: need - 100_000)
    with pytest.raises(InputError) as refused:
        memory_estimate.check_memory(data, 100, 4)
    said = " ".join(str(refused.value).split())
    assert "would need about 837.8 MB (5.38 MB a scenario), more than the 837.7 MB of memory here" in said


def test_the_memory_estimate_counts_the_rows_that_tie_shared_purchases(monkeypatch):
    """--share-purchases ties each copy's purchases, power blocks and draws after the first stage to
    another copy's too, rows the estimate left out (178 a copy on the default model). On tiny at
    Q = 4 (2026Q3-2027Q2) they are the B200's purchases of 2027Q3-2028Q2 (4: it is on sale the
    whole horizon) and the term loan's draws of 2027Q3 and 2027Q4 (2: drawn until 2027Q4); no power
    block (one started after 2027Q2 would come online, 4 quarters later, after the horizon): 6 rows,
    6 x 4,700 = 28,200 bytes more a scenario. 100 scenarios need 300 MB + 100 x (1.5 MB + 4,700 x
    825) = 837.75 MB, shared 840.57 MB: on 839 MB only the shared solve is refused."""
    from fleetopt.stochastic import memory_estimate

    _, data = load("tiny")
    alone, shared = (memory_estimate.scenario_elements(data, 4, share) for share in (False, True))
    assert shared - alone == 6
    monkeypatch.setattr(memory_estimate, "physical_ram_bytes", lambda: 839 * 10**6)
    memory_estimate.check_memory(data, 100, 4)
    refused = r"would need about 841 MB \(5.41 MB a scenario\), more than the 839 MB"
    with pytest.raises(InputError, match=refused):
        memory_estimate.check_memory(data, 100, 4, share_purchases=True)


def test_a_solve_and_a_sweep_sharing_purchases_are_refused_on_the_memory_they_need(monkeypatch, tmp_path):
    """The tying rows reach the check every entry makes before solving: on 839 MB (above
    test_the_memory_estimate_counts_the_rows_that_tie_shared_purchases) the API's and the terminal's
    solve of 100 scenarios with shared purchases, and a sweep's stochastic candidate, are refused
    before any solve (the same solves unshared pass the check), exit 2, nothing written."""
    from fleetopt import api
    from fleetopt.stochastic import memory_estimate

    monkeypatch.setattr(memory_estimate, "physical_ram_bytes", lambda: 839 * 10**6)
    refused = r"would need about 841 MB \(5.41 MB a scenario\)"
    with pytest.raises(InputError, match=refused):
        api.solve_stochastic("tiny", 100, share_purchases=True)
    out = tmp_path / "shared"
    code, text = cli("solve", "tiny", "--stochastic", "100", "--share-purchases", "--out", str(out))
    assert code == 2 and "would need about 841 MB" in " ".join(text.split()), text
    assert not out.exists()
    swept = tmp_path / "sw"
    code, text = cli("sweep", "tiny", "--stochastic", "100", "--share-purchases", "--out", str(swept))
    assert code == 2 and "would need about 841 MB" in " ".join(text.split()), text
    assert not swept.exists()


def test_integer_later_keeps_the_scenarios_later_purchases_whole(tmp_path):
    """--integer-later: summary.json's settings say so, and every scenario's purchases and blocks
    from the first stage's end on are whole blocks in the extensive form it builds."""
    out = tmp_path / "run"
    code, text = cli("solve", "tiny", "--stochastic", "2", "--integer-later", "--out", str(out))
    assert code == 0, text
    assert json.loads((out / "summary.json").read_text())["settings"]["later_purchases"] == "integer"
    _, data = load("tiny")
    forecast_only = [ScenarioInputs("forecast", 1.0)]
    ef = build_extensive_form(data, forecast_only, FirstStage(2), integer_later=True)
    later = [v for name in ("buy", "build") for k, v in getattr(ef.block(0), name).items() if k[-1] >= 2]
    assert later and all(v.is_integer() for v in later)


@pytest.mark.parametrize("args, gap", [((), 0.01), (("--mip-gap", "0.005"), 0.005)])
def test_a_stochastic_solve_stops_at_1_percent_unless_told(tmp_path, args, gap):
    """`solve --stochastic N` stopped at a deterministic solve's 0.5 %, where the default model's
    search found no plan in 15 minutes: its own default is the Python API's 1 %; a --mip-gap given,
    even at 0.5 %, is kept (summary.json's settings say which)."""
    out = tmp_path / "run"
    code, text = cli("solve", "tiny", "--stochastic", "2", "--out", str(out), *args)
    assert code == 0, text
    assert json.loads((out / "summary.json").read_text())["settings"]["mip_gap"] == gap


def test_stochastic_solve_writes_the_measures_and_both_plans(tmp_path):
    out = tmp_path / "run"
    code, text = cli("solve", "tiny", "--stochastic", "2", "--first-stage-quarters", "2", "--out", str(out))
    assert code == 0, text
    assert "VSS" in text and "EVPI" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "stochastic"
    for key in ("rp_usd", "ev_usd", "eev_usd", "ws_usd", "vss_usd", "evpi_usd"):
        assert summary[key] is not None
    # to a micro-USD: RP and EEV are one plan here, and their round-off (1e-8 USD) may differ in sign,
    # a negative difference within the gap reported as 0
    assert summary["vss_usd"] == pytest.approx(summary["rp_usd"] - summary["eev_usd"], abs=1e-6)
    assert summary["evpi_usd"] == pytest.approx(summary["ws_usd"] - summary["rp_usd"], abs=1e-6)
    assert summary["evpi_usd"] >= -1e-2 * abs(summary["rp_usd"])  # WS >= RP up to the gaps
    # EEV as an NPV: its value plus the penalties of its rescued scenario (a DSCR cure), less tie-breaks
    assert summary["eev_rescued_probability"] > 0
    assert summary["eev_expected_npv_usd"] > summary["eev_usd"] + 1e5
    assert "expected NPV of the forecast optimum's first stage" in text
    # what it commits to now beside the forecast optimum: the first stage's purchases, in GPUs
    bought = [row for row in summary["commitments"] if row["decision"] == "buy_gpus"]
    assert summary["commitments"] and all(
        row["quarter"] in {"2026Q3", "2026Q4"} or row["decision"] == "contract_accepted"
        for row in summary["commitments"]
    )
    assert sum(row["stochastic"] for row in bought) == pytest.approx(summary["first_stage_purchases_gpus"])
    # GPUs sold and moved to inference are commitments too (a finance reader missed the sales): the
    # stochastic plan's first-stage retirements and moves, as its plan.csv has them
    plan = pd.read_csv(out / "plan.csv")
    for decision in ("retire", "redeploy"):
        rows = plan[(plan["decision"] == decision) & plan["quarter"].isin(["2026Q3", "2026Q4"])]
        listed = sum(row["stochastic"] for row in summary["commitments"] if row["decision"] == decision)
        assert listed == pytest.approx(rows["value"].sum()), decision
    retired = [row for row in summary["commitments"] if row["decision"] == "retire"]
    assert retired and "retire (sell)" in text
    assert "what to commit to now, first stage before 2027Q1 (2 quarters)" in " ".join(text.split())
    assert sum(row["probability"] for row in summary["scenarios"]) == pytest.approx(1.0)
    # a scenario's slacks in their units: tiny's rescued scenario needs a DSCR cure of about
    # $876,000 (0.876 in the model's MUSD, as summary.json used to give it)
    slacks = [entry for row in summary["scenarios"] for entry in row["slacks"].values()]
    assert slacks and all(entry["unit"] in ("USD", "MW", "GPUs") for entry in slacks)
    assert all(entry["amount"] > 1000.0 for entry in slacks if entry["unit"] == "USD")
    # ... a covenant cure (the evaluator's breach), not a cash rescue (a default): no equity
    [cured] = [row for row in summary["scenarios"] if row["rescued"]]
    assert set(cured["slacks"]) == {"dscr_covenant"} and cured["emergency_equity_usd"] == 0.0
    assert cured["covenant_cure"] and not cured["cash_rescue"] and not cured["relaxed"]
    assert (summary["covenant_cured_scenarios"], summary["cash_rescued_scenarios"]) == (1, 0)
    assert summary["covenant_cured_probability"] == pytest.approx(cured["probability"])
    flat = " ".join(text.replace("│", " ").split())  # the label wraps in its column
    assert "scenarios with covenant cures" in flat and "equity paid in to cure" in flat
    assert "rescued scenarios (defaults)" not in text
    # completed by the forecast MILP, which keeps the forecast's hard limits
    assert summary["completion"]["method"] == "forecast MILP" and summary["completion"]["limits_broken"] == []
    assert "plan completed by" in text and "warning" not in text
    assert set(summary["out_of_sample"]["metrics"]) == {"stochastic", "forecast"}
    assert summary["out_of_sample"]["seed"] == 1  # not the seed the scenarios were reduced from
    code, text = cli("compare", str(out), "--scenarios", "50")
    assert code == 0, text
    assert "stochastic" in text and "forecast" in text


class _StoppedMeasures:
    """An extensive form whose EEV solve reaches the gap (-$13.37M) and whose WS solve stops at the
    time limit with a useless plan (-$26,773B, gap 99.99998 %): tiny at N = 50 and 20 s."""

    class _Rows:
        def activate(self):
            pass

        def deactivate(self):
            pass

    def __init__(self):
        self.m = type("M", (), {"nonanticipativity": self._Rows()})()
        self.probabilities = np.array([])  # no scenario rows in these solutions
        self.solutions = [
            EFSolution("optimal", -13.37e6, 0.0, -13.37e6, 0.1, []),
            EFSolution("time_limit", -26_773.2e9, 0.9999998, -5.36e6, 20.0, []),
        ]

    def fix_first_stage(self, values):
        pass

    def solve(self, mip_gap, time_limit, threads, rules=None):
        return self.solutions.pop(0)


class _SolvedMeasures(_StoppedMeasures):
    """EEV (-$13.37M) and WS (-$9.1M) both solved to the gap."""

    def __init__(self):
        super().__init__()
        self.solutions[1] = EFSolution("optimal", -9.1e6, 0.0, -9.1e6, 1.0, [])


def test_a_measure_not_solved_to_the_gap_is_not_available_nor_its_difference():
    """RP -$13.35M; EEV solved (-$13.37M: VSS = $20k); WS stopped by the time limit: WS and EVPI are
    None in summary.json (not -$26,773B), and the table says why instead of a figure."""
    rp = EFSolution("optimal", -13.35e6, 0.0, -13.35e6, 1.0, [])
    forecast = ForecastSolution("optimal", -14.1e6, None, {}, 0.1, {})
    figures, _ = eev_and_ws(_StoppedMeasures(), forecast, rp, SolverSettings(0.005, 20.0, 1))
    assert figures["eev_usd"] == -13.37e6 and figures["vss_usd"] == pytest.approx(20e3)
    assert figures["ws_usd"] is None and figures["evpi_usd"] is None
    assert (figures["ws_status"], figures["ws_gap"]) == ("time_limit", 0.9999998)
    assert measure_unavailable(figures, "ws_usd") == "time limit, gap 100.00%"
    assert measure_unavailable(figures, "evpi_usd") == "WS not solved to the gap: time limit, gap 100.00%"
    assert measure_unavailable(figures, "vss_usd") is None
    assert measure_unavailable({"ws_usd": None}, "ws_usd") == "not measured"  # the mpi-sppy route
    settings = {"scenarios": 50, "screened": 200, "scenario_seed": 0, "first_stage_quarters": 4,
                "risk_weight": 0.0, "cvar_alpha": 0.05}  # fmt: skip
    summary = {"settings": settings, "status": "optimal", "gap": 0.0, "timings": {},
               "rp_usd": rp.objective_usd, **figures}  # fmt: skip
    text = shown(summary)
    assert "n/a (time limit, gap 100.00%)" in text
    assert "n/a (WS not solved to the gap: time limit, gap 100.00%)" in text and "26,773" not in text


def test_at_risk_weight_1_every_scenario_keeps_its_own_best_recourse():
    """tiny over 2 scenarios (the tail's, p 0.05, and the body's, p 0.95): at L = 1 the objective is
    the CVaR of the tail alone, so the extensive form gives the body's recourse no weight (its V was
    the tail's -$94.34M, its NPV -$72.06M, the expected NPV -$72.77M). The rows are each scenario's
    own best recourse under the plan's first stage: the same as at L = 0.999, where the body has a
    weight, within the gap (the body's V -$25.8M, expected NPV -$28.8M)."""
    _, data = load("tiny")
    found = {
        L: solve_stochastic(data, 2, risk_weight=L, oos_scenarios=0, measures=False, mip_gap=0.005)
        for L in (1.0, 0.999)
    }
    gap = 0.005
    for one, other in zip(found[1.0].scenarios, found[0.999].scenarios, strict=True):
        assert one["value_usd"] == pytest.approx(other["value_usd"], rel=gap)
        assert one["npv_usd"] == pytest.approx(other["npv_usd"], rel=gap)
    body = max(found[1.0].scenarios, key=lambda row: row["probability"])
    assert body["value_usd"] > found[1.0].measures["rp_usd"] + 1e6  # not the tail's value
    expected = [found[L].measures["expected_npv_usd"] for L in (1.0, 0.999)]
    assert expected[0] == pytest.approx(expected[1], rel=gap)


def test_solve_on_a_horizon_shorter_than_the_default_first_stage(tmp_path):
    """tiny cut to 3 quarters, no --first-stage-quarters: Q = min(4, T) = 3, the whole horizon (the
    sweep's default too), not "--first-stage-quarters must lie in 1..3 (got 4)". The table says so,
    the in-sample figures say over which scenarios, and the "wrote" line names every file."""
    out = tmp_path / "run"
    code, text = cli("solve", str(three_quarter_tiny(tmp_path)), "--stochastic", "2", "--out", str(out))
    assert code == 0, text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["first_stage_quarters"] == 3
    assert summary["settings"]["first_stage_before"] is None
    table = shown(summary)  # the terminal's table, unwrapped
    assert "first stage the whole horizon (3 quarters)" in table
    assert "expected NPV over the 2 reduced scenarios (in sample: fitted to them, not a forecast of" in table
    assert "CVaR5 NPV: the mean of its worst 5% over the 2 reduced scenarios (in sample: fitted" in table
    wrote = " ".join(text[text.index("wrote ") :].split())
    assert "(model.yaml, plan.csv, plan.npz with the forecast optimum, statements.csv, summary.json)" in wrote
    assert sorted(path.name for path in out.iterdir()) == [
        "model.yaml", "plan.csv", "plan.npz", "statements.csv", "summary.json"
    ]  # fmt: skip


def shown(summary: dict) -> str:
    """The terminal's table of a stochastic run's summary, on a console wide enough not to wrap."""
    from rich.console import Console

    from fleetopt.cli.render.stochastic import stochastic_summary_table

    console = Console(width=600, record=True)
    console.print(stochastic_summary_table(summary))
    return console.export_text()


def test_the_in_sample_cvar_names_a_tail_share_between_whole_per_cents():
    """--cvar-alpha 0.025 labelled the in-sample CVaR "the mean of its worst 2%" (a share written
    to a whole per cent, half to even): it is the worst 2.5 %."""
    label = in_sample_labels({"cvar_alpha": 0.025, "scenarios": 40})["cvar_npv_usd"]
    assert label == ("CVaR2.5 NPV: the mean of its worst 2.5% over the 40 reduced scenarios (in sample: "
                     "fitted to them, not a forecast of value)")
    label = in_sample_labels({"cvar_alpha": 0.05, "scenarios": 40})["cvar_npv_usd"]
    assert label.startswith("CVaR5 NPV: the mean of its worst 5% over")


def test_table_names_the_first_stage_quarter_and_a_single_scenario():
    """One scenario is "1 scenario"; Q = 4 from 2026Q3 is "before 2027Q3"; the report says the same
    and names the CVaR's alpha on its in-sample figures."""
    from fleetopt.report.two_stage import stochastic_section

    settings = {"scenarios": 1, "screened": 200, "scenario_seed": 0, "first_stage_quarters": 4,
                "first_stage_before": "2027Q3", "risk_weight": 0.0, "cvar_alpha": 0.1,
                "later_purchases": "continuous"}  # fmt: skip
    summary = {"settings": settings, "status": "optimal", "gap": 0.0, "timings": {}, "rp_usd": -1e6,
               "expected_npv_usd": -1e6, "cvar_npv_usd": -2e6, "ws_usd": None, "ws_status": "time_limit",
               "ws_gap": 0.5, "scenarios": []}  # fmt: skip
    text = shown(summary)
    assert "1 scenario of 200" in text and "1 scenarios" not in text
    assert "first stage before 2027Q3 (4 quarters)" in text
    assert "CVaR10 NPV: the mean of its worst 10% over the 1 reduced scenario (in sample: fitted" in text
    html = stochastic_section(type("Run", (), {"summary": summary, "data": TINY_DATA})())
    assert "1 scenario reduced from 200" in html and "first stage before 2027Q3 (4 quarters)" in html
    assert "CVaR10 NPV: the mean of its worst 10% over the 1 reduced scenario (in sample: fitted" in html
    assert "n/a (time limit, gap 50.00%)" in html
    # a run stopped by the time limit says so in words, not as HiGHS's 'time_limit' (a review)
    stopped = {**summary, "status": "time_limit", "gap": 0.7378}
    said = " ".join(shown(stopped).replace("│", " ").split())
    assert "status / gap time limit reached (the best plan found; its gap beside it) / 73.78%" in said
    html = stochastic_section(type("Run", (), {"summary": stopped, "data": TINY_DATA})())
    assert "time limit reached (the best plan found; its gap beside it), gap 73.78%" in html
    assert "time_limit" not in said + html
    # its gap once: HiGHS's optimal at a gap that shows was "optimal within 0.18% (relative gap),
    # gap 0.18%" (the status in words, as a solve's provenance writes it, then the gap)
    close = {**summary, "gap": 0.0018}
    html = stochastic_section(type("Run", (), {"summary": close, "data": TINY_DATA})())
    assert "solved by HiGHS: optimal, gap 0.18%." in html and "within" not in html
    said = " ".join(shown(close).replace("│", " ").split())  # the terminal's row too
    assert "status / gap optimal / 0.18%" in said and "within" not in said


def test_a_plan_whose_solve_stopped_short_of_its_gap_says_so_where_it_says_what_to_commit_to(tmp_path):
    """`fleetopt solve tiny --stochastic 50 --time-limit 1 --mip-gap 1e-6` kept RP's first stage at a
    64.70 % gap and ended "In short, ... commit to the plan whose better figures matter more to you",
    the gap only in the diagnostics' status row: a planner read it as a finished solve's. The run's
    summary so stopped (tiny --stochastic 2's, its status, gaps and --mip-gap set as that run's; a
    time limit's outcome depends on the machine) says it in the terminal's last line, as a warning
    row of the plan's facts and in the report's In short, naming the options to change; its gap asked
    is written as given, not "0.00%"."""
    from rich.console import Console

    from fleetopt.cli.render.stochastic import stochastic_tables

    out = tmp_path / "sto"
    code, stdout = cli("solve", "tiny", "--stochastic", "2", "--out", str(out))
    assert code == 0, stdout
    assert "stopped" not in stdout  # RP at its gap: nothing to say
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["status"], summary["first_stage"]) == ("optimal", "RP's")
    summary.update(status="time_limit", gap=0.6470, plan_gap=0.6470)
    summary["settings"]["mip_gap"] = 1e-6
    (out / "summary.json").write_text(json.dumps(summary))
    words = ("the solve stopped (time limit, gap 64.70%, short of the 0.0001% asked): its first stage is the "
             "best it found, not shown to be the best for these scenarios; give each solve more time "
             "(--time-limit) or fewer scenarios (--stochastic N) before committing to it")
    console = Console(width=2000, record=True)
    for shown_table in stochastic_tables(summary):
        console.print(shown_table)
    said = " ".join(console.export_text().replace("│", " ").split())
    assert said.endswith(f"In short, out of sample the stochastic plan is a trade: commit to the plan whose "
                         f"better figures matter more to you; but {words}.")
    assert f"solve stopped short {words}" in said
    assert "solved at this run's 0.0001% gap, not fleetopt solve's 0.50%" in said
    facts = {label: (text, warning) for label, text, warning in plan_facts(summary)}
    assert facts["solve stopped short"] == (words, True)
    code, _ = cli("report", str(out), "--out", str(tmp_path / "report.md"))
    assert code == 0
    in_short = (tmp_path / "report.md").read_text().split("## In short")[1].split("##")[0]
    assert f"But {words}." in " ".join(in_short.split())


def test_a_model_whose_futures_are_all_its_forecast_is_told_so(tmp_path):
    """tiny without its risk block: every scenario drawn is the forecast, so the stochastic plan is the
    forecast optimum (its out-of-sample differences $0 ($0)) and the verdict's "more scenarios
    (--stochastic N) may tell them apart" could never come true; the solve warns first, and the bundled
    tiny, whose futures differ, is not warned."""
    import yaml

    model = yaml.safe_load((Path(__file__).parents[1] / "models" / "tiny.yaml").read_text())
    del model["risk"]
    path = tmp_path / "certain.yaml"
    path.write_text(yaml.safe_dump(model))
    code, said = cli("solve", str(path), "--stochastic", "2", "--out", str(tmp_path / "certain"))
    assert code == 0, said
    warning = ("every scenario drawn is the model's forecast (no risk block, or every risk factor at zero), "
               "so the stochastic plan can only be the forecast optimum and more scenarios cannot change it")
    assert warning in " ".join(said.split())
    summary = json.loads((tmp_path / "certain" / "summary.json").read_text())
    assert abs(summary["out_of_sample"]["paired"]["npv_mean_usd_diff"]) < 1e-3
    code, said = cli("solve", "tiny", "--stochastic", "2", "--out", str(tmp_path / "tiny"))
    assert code == 0 and "every scenario drawn" not in said


def test_a_solve_of_one_scenario_is_told_it_hedges_nothing(tmp_path):
    """--stochastic 1 reduces the draws to the one future that stands for them: the plan is fitted to
    it alone (EVPI 0: knowing that future gains nothing over planning for it), which no figure of the
    solve says on its own; it warns, and --stochastic 2 does not."""
    code, said = cli("solve", "tiny", "--stochastic", "1", "--out", str(tmp_path / "one"))
    assert code == 0, said
    assert ("--stochastic 1: one scenario, the future that stands for all those drawn, so the plan is fitted "
            "to it alone and hedges nothing") in " ".join(said.split())
    summary = json.loads((tmp_path / "one" / "summary.json").read_text())
    assert abs(summary["evpi_usd"]) <= 0.01 * abs(summary["rp_usd"])  # WS and RP one solve, each to 1 %
    code, said = cli("solve", "tiny", "--stochastic", "2", "--out", str(tmp_path / "two"))
    assert code == 0 and "--stochastic 1: one scenario" not in said


# ---------------------------------------------------------------- which first stage the plan keeps


def test_forecast_first_stage_kept_when_within_the_gap_of_rp():
    """RP's bound 100: an EEV of 99.5 is within a 1 % gap (100 - 99.5 <= 0.995), 98 is not."""
    rp = EFSolution("optimal", 99.9, 0.001, 100.0, 0.0, [])
    assert forecast_within_gap({"eev_usd": 99.5}, rp, 0.01)
    assert not forecast_within_gap({"eev_usd": 98.0}, rp, 0.01)
    assert not forecast_within_gap({"eev_usd": None}, rp, 0.01)


def test_forecast_first_stage_kept_where_it_beats_a_time_limited_rp():
    """RP stopped by the time limit holding a plan of value -68.5 (bound -10): an EEV of -18.2, solved,
    is the better solution of RP found, so the plan keeps it, saying why; an EEV of -70 is not.
    An RP solved to the gap keeps its own first stage whatever EEV below its bound's gap."""
    stopped = EFSolution("time_limit", -68.5, 0.7378, -10.0, 1.0, [])
    assert forecast_kept({"eev_usd": -18.2}, stopped, 0.01) == (
        "above the value of RP's plan, which stopped at the time limit"
    )
    assert forecast_kept({"eev_usd": -70.0}, stopped, 0.01) is None
    assert forecast_kept({"eev_usd": None}, stopped, 0.01) is None
    solved = EFSolution("optimal", -68.5, 0.0, -68.5, 1.0, [])
    assert forecast_kept({"eev_usd": -70.0}, solved, 0.01) is None
    assert forecast_kept({"eev_usd": -68.6}, solved, 0.01) == "within the gap of RP"


def test_vss_and_evpi_of_a_time_limited_rp_are_not_available():
    """RP stopped at a 73.78 % gap: RP - EEV says nothing of VSS (it came out -$50.4M on tiny at N =
    20), so VSS and EVPI are None, and the table says RP's solve is why."""
    rp = EFSolution("time_limit", -68.5e6, 0.7378, -18.0e6, 1.0, [])
    forecast = ForecastSolution("optimal", -14.1e6, None, {}, 0.1, {})
    figures, _ = eev_and_ws(_SolvedMeasures(), forecast, rp, SolverSettings(0.01, 1.0, 1))
    assert figures["eev_usd"] == -13.37e6 and figures["vss_usd"] is None and figures["evpi_usd"] is None
    summary = {"status": rp.status, "gap": rp.gap, **figures}
    assert measure_unavailable(summary, "vss_usd") == "RP not solved to the gap: time limit, gap 73.78%"
    assert measure_unavailable(summary, "evpi_usd") == "RP not solved to the gap: time limit, gap 73.78%"


def tiny_at_forecast_resale() -> ModelData:
    """tiny with resale values at the forecast in every scenario (no resale volatility): its scenario
    copies' borrowing base is the forecast's, so the forecast optimum's first stage pays no cure there."""
    return api.load(api.edit("tiny", {"risk.resale_value_volatility_annual": 0.0}))[1]


def test_tiny_plan_keeps_the_forecast_first_stage_its_scenarios_do_not_beat():
    """tiny at the forecast's resale values over 3 scenarios (Q = 2): RP's bound is within the gap of
    EEV (docs/formulation.md §7b, "Which first stage the plan keeps"); the plan keeps the forecast
    optimum's purchases. On tiny itself it did too until the copies valued their collateral at the
    scenario's resale factor: since, the forecast optimum's first stage, which uses its borrowing base
    in full, pays a cure wherever resale values fall, and RP beats EEV by $52.6M."""
    result = solve_stochastic(tiny_at_forecast_resale(), 3, quarters=2, oos_scenarios=0)
    m = result.measures
    assert m["rp_bound_usd"] - m["eev_usd"] <= 0.01 * abs(m["eev_usd"])
    assert m["first_stage"].startswith("the forecast optimum's")
    np.testing.assert_array_equal(result.plan.buy_blocks[..., :2], result.forecast_plan.buy_blocks[..., :2])


def test_a_kept_forecast_first_stage_is_the_plan_whose_value_is_shown_not_rp_s(monkeypatch):
    """tiny (at the forecast's resale values, where RP is EEV) over 3 scenarios with RP's solve cut
    short as a time limit would (its plan's value $50M below what it found, its bound $5M above,
    status time_limit): the plan keeps the forecast optimum's first stage, so its value is EEV. The
    table called RP "the stochastic plan's value" there (tiny at N = 20 and a 1 s limit: RP -$68.3M
    beside an expected NPV of -$15.3M, which was EEV's plan's): RP is now the best the stopped solve
    found, not kept, the plan kept's value (EEV) beside it, with its own gap."""
    from html import unescape

    from fleetopt.report.two_stage import stochastic_section
    from fleetopt.stochastic import recourse

    solved = recourse.solve_recourse_problem

    def stopped(ef, solver):
        rp = solved(ef, solver)
        low, high = rp.objective_usd - 50e6, rp.bound_usd + 5e6  # EEV not within the gap of the bound
        return replace(rp, status="time_limit", objective_usd=low, bound_usd=high, gap=0.9)

    monkeypatch.setattr(recourse, "solve_recourse_problem", stopped)
    summary = solve_stochastic(tiny_at_forecast_resale(), 3, quarters=2, oos_scenarios=0).summary()
    assert summary["first_stage"].startswith("the forecast optimum's (above the value of RP's plan")
    assert summary["plan_value_usd"] == summary["eev_usd"] > summary["rp_usd"]
    gap = (summary["rp_bound_usd"] - summary["eev_usd"]) / abs(summary["eev_usd"])
    assert summary["plan_gap"] == pytest.approx(max(gap, 0.0))
    said = " ".join(shown(summary).replace("│", " ").split())
    run = type("Run", (), {"summary": summary, "data": TINY_DATA})()
    html = " ".join(unescape(stochastic_section(run)).split())
    for text in (said, html):
        assert "the stochastic plan's value" not in text
        assert ("RP, recourse problem: the best value the stochastic solve found before it stopped (time "
                "limit; its plan not kept: below EEV)") in text
        assert "value of the plan kept: the forecast optimum's first stage in the scenarios (EEV)" in text
        assert "(RP's plan; the plan kept: " in text
    # and the runs list's headline, from the record's figures, names the plan kept first
    from fleetopt.cli.render.runs import key_figure
    from fleetopt.runs.key_figures import key_figures

    headline = key_figure("stochastic", key_figures({**summary, "kind": "stochastic"}))
    assert headline.startswith("plan kept (the forecast's first stage) -$")
    assert ", the stochastic plan's (RP) -$" in headline
    # RP's own plan kept: its rows as before, no second value
    own = {**summary, "first_stage": "RP's"}
    assert "RP, recourse problem: the solver's objective for the stochastic plan" in shown(own)
    assert "value of the plan kept" not in shown(own) and "(RP's plan;" not in shown(own)


# ---------------------------------------------------------------- the mpi-sppy route (fleetopt[stochastic])


def mpisppy_or_skip():
    """mpi-sppy, or a skip that says why and how to run these tests."""
    return pytest.importorskip(
        "mpisppy", reason="mpi-sppy not installed: pip install 'fleetopt[stochastic]' to test its route"
    )


def test_mpisppy_extensive_form_finds_the_hand_worked_rp():
    """The two-scenario instance of test_hand_worked_two_scenarios through mpi-sppy's
    scenario_creator and extensive form: RP = 940 (wait, buy only if the price is high), the first
    stage not to buy now, the scenarios' NPVs 1,880 and 0."""
    mpisppy_or_skip()
    from fleetopt.stochastic.mpisppy_route import solve_by_mpisppy

    data = data_of(buy_now_or_later())
    scenarios = [price_scenario(data, "high", 0.5, 2.0), price_scenario(data, "low", 0.5, 0.0)]
    rp = solve_by_mpisppy(data, scenarios, FirstStage(1), "mpisppy-ef", mip_gap=EXACT)
    assert rp.objective_usd == pytest.approx(940.0, abs=1e-4)
    assert rp.first_stage[("buy", (0, 0, 0))] == 0.0
    assert [row["npv_usd"] for row in rp.scenarios] == pytest.approx([1880.0, 0.0], abs=1e-4)


def test_mpisppy_route_values_a_scenario_of_low_probability_as_the_block_solver_does():
    """The instance of test_hand_worked_two_scenarios with the low price at p = 0.05 and the high at
    0.95 (as a reduction's tail and body): buying now is worth 0.95 x 2,475 - 0.05 x 1,405 = 2,281,
    waiting 0.95 x 1,880 = 1,786, so RP = 2,281, each scenario's value its NPV (no rescue, no tax).
    mpi-sppy weighed each scenario's tie-breaks (1e-6 per MUSD of tax) by its probability, under
    HiGHS's dual feasibility tolerance at 0.05: its optimum paid the low scenario's $1B of cash as a
    tax the liquidation tax gave back, value -2,405 against its NPV -1,405, RP 2,231."""
    mpisppy_or_skip()
    from fleetopt.stochastic.mpisppy_route import solve_by_mpisppy

    data = data_of(buy_now_or_later())
    scenarios = [price_scenario(data, "low", 0.05, 0.0), price_scenario(data, "high", 0.95, 2.0)]
    rp = solve_by_mpisppy(data, scenarios, FirstStage(1), "mpisppy-ef", mip_gap=EXACT)
    assert rp.objective_usd == pytest.approx(2281.0, abs=1e-3)
    assert rp.bound_usd == pytest.approx(2281.0, abs=1e-3)
    assert [row["value_usd"] for row in rp.scenarios] == pytest.approx([-1405.0, 2475.0], abs=1e-3)
    ours = build_extensive_form(data, scenarios, FirstStage(1)).solve(EXACT, None, None)
    assert ours.objective_usd == pytest.approx(2281.0, abs=1e-3)


def test_mpisppy_route_leaves_stdout_to_fleetopt(capfd):
    """mpi-sppy prints its timing notes ("[    0.31] Initializing SPBase") on stdout, between the
    solve's own lines: `fleetopt solve --stochastic-solver mpisppy-ef > out.txt` held them. They go
    to stderr, as HiGHS's own notes do."""
    mpisppy_or_skip()
    from fleetopt.stochastic.mpisppy_route import solve_by_mpisppy

    data = data_of(buy_now_or_later())
    scenarios = [price_scenario(data, "high", 0.5, 2.0), price_scenario(data, "low", 0.5, 0.0)]
    capfd.readouterr()
    solve_by_mpisppy(data, scenarios, FirstStage(1), "mpisppy-ef", mip_gap=EXACT)
    out, err = capfd.readouterr()
    assert "Initializing" not in out and "Initializing SPBase" in err


def test_mpisppy_route_agrees_with_the_block_solver_on_tiny():
    """tiny over 3 scenarios (L = 0): mpi-sppy's extensive form and fleetopt's reach the same RP
    (both to a 1e-6 gap), over the same scenario model."""
    mpisppy_or_skip()
    from fleetopt.stochastic.mpisppy_route import solve_by_mpisppy

    data, scenarios = tiny_scenarios(3)
    ours = build_extensive_form(data, scenarios, FirstStage(3)).solve(1e-6, None, None)
    theirs = solve_by_mpisppy(data, scenarios, FirstStage(3), "mpisppy-ef", mip_gap=1e-6)
    assert theirs.objective_usd == pytest.approx(ours.objective_usd, rel=1e-5)


def test_mpisppy_route_refuses_a_risk_weight(tmp_path):
    mpisppy_or_skip()
    code, out = cli("solve", "tiny", "--stochastic", "2", "--stochastic-solver", "mpisppy-ef",
                    "--risk-weight", "0.5", "--out", str(tmp_path / "run"))  # fmt: skip
    assert code == 2 and "--risk-weight" in out
    assert not (tmp_path / "run").exists()


def test_unknown_stochastic_solver_exits_2(tmp_path):
    code, out = cli(
        "solve", "tiny", "--stochastic", "2", "--stochastic-solver", "ph", "--out", str(tmp_path / "r")
    )
    assert code == 2 and "--stochastic-solver" in out


# ---------------------------------------------------------------- paired out-of-sample differences


def test_paired_differences_and_their_standard_errors_by_hand():
    """Plans A (the reference) and B on 4 scenarios, CVaR at A = 1/2 (k = 2 worst).

    NPV A = 10, 20, 30, 40; B = 12, 18, 33, 41: differences B - A = 2, -2, 3, 1, mean 1, sample
    variance ((1)^2 + (-3)^2 + 2^2 + 0^2) / 3 = 14/3, s.e. sqrt(14/3) / 2 = 1.0801.
    Breach A = 1, 0, 0, 0; B never: differences -1, 0, 0, 0, mean -0.25, variance
    (0.75^2 + 3 x 0.25^2) / 3 = 0.25, s.e. 0.5 / 2 = 0.25. Default: both never, 0 and 0.
    CVaR: A's two worst 10, 20 (mean 15, q = 20); B's 12, 18 (15, q = 18); difference 0.
    Influence A: 20 + min(x - 20, 0) x 2 - 15 = -15, 5, 5, 5; B: 18 + min(x - 18, 0) x 2 - 15 = -9,
    3, 3, 3; B - A = 6, -2, -2, -2, mean 0, variance (36 + 3 x 4) / 3 = 16, s.e. 4 / 2 = 2."""
    from fleetopt.stochastic.paired import paired_comparison

    zero = np.zeros(4)
    outcomes = {
        "A": {"npv": np.array([10.0, 20, 30, 40]), "breach": np.array([1.0, 0, 0, 0]), "default": zero,
              "any_default": zero},
        "B": {"npv": np.array([12.0, 18, 33, 41]), "breach": zero, "default": zero, "any_default": zero},
    }
    a, b = paired_comparison(outcomes, "A", alpha=0.5)
    assert a["npv_mean_usd_diff"] == 0.0 and a["npv_mean_usd_diff_se"] == 0.0
    assert b["npv_mean_usd"] == pytest.approx(26.0) and b["npv_cvar_usd"] == pytest.approx(15.0)
    assert b["npv_mean_usd_diff"] == pytest.approx(1.0)
    assert b["npv_mean_usd_diff_se"] == pytest.approx(np.sqrt(14 / 3) / 2)
    assert b["breach_probability_diff"] == pytest.approx(-0.25)
    assert b["breach_probability_diff_se"] == pytest.approx(0.25)
    assert b["default_probability_diff"] == 0.0 and b["default_probability_diff_se"] == 0.0
    assert b["npv_cvar_usd_diff"] == pytest.approx(0.0)
    assert b["npv_cvar_usd_diff_se"] == pytest.approx(2.0)


def test_scenario_outcomes_agree_with_the_evaluators_metrics():
    """tiny's forecast optimum on 300 scenarios of seed 5: the per-scenario outcomes give the
    evaluator's mean NPV, CVaR5, P(breach) and P(default)."""
    from fleetopt.evaluate.batch import compile_plans
    from fleetopt.evaluate.engine import evaluate
    from fleetopt.stochastic.paired import evaluate_paired, paired_comparison, scenario_outcomes

    _, data = load("tiny")
    plan = solve_with_first_stage(data, FirstStage(2)).plan
    batch = compile_plans(data, [plan], ["forecast"])
    paired = evaluate_paired(data, batch, 300, 5, backend="numpy")
    row = paired_comparison(scenario_outcomes(paired), "forecast")[0]
    metrics = evaluate(data, batch, 300, 5, backend="numpy", scenario_chunk=128).metrics.iloc[0]
    for ours, theirs in (
        ("npv_mean_usd", "npv_mean_usd"), ("npv_cvar_usd", "npv_cvar5_usd"),
        ("breach_probability", "breach_probability"), ("default_probability", "default_probability"),
    ):  # fmt: skip
        assert row[ours] == pytest.approx(float(metrics[theirs]), rel=1e-9, abs=1e-6), ours


# ---------------------------------------------------------------- the sweep's stochastic candidate


def three_quarter_tiny(tmp_path):
    text = (Path(__file__).parents[1] / "models" / "tiny.yaml").read_text()
    path = tmp_path / "tiny3.yaml"
    path.write_text(text.replace("quarters: 8", "quarters: 3", 1))
    return path


def test_sweep_stochastic_candidate_on_a_horizon_shorter_than_its_first_stage(tmp_path):
    """tiny cut to 3 quarters: the sweep's stochastic candidate commits the whole horizon (Q = 3,
    not 4, which `solve --stochastic` would refuse) and the sweep finishes."""
    out = tmp_path / "sweep"
    code, text = cli("sweep", str(three_quarter_tiny(tmp_path)), "--stochastic", "2", "--candidates", "3",
                     "--scenarios", "50", "--out", str(out))  # fmt: skip
    assert code == 0, text
    [sto_row] = [c for c in json.loads((out / "candidates.json").read_text()) if c["origin"] == "stochastic"]
    assert "first stage quarters 0-2" in sto_row["note"]


def test_sweep_stochastic_without_room_for_its_candidate_exits_2(tmp_path):
    """--candidates 1 holds only the forecast optimum: refused before any solve, not dropped silently."""
    out = tmp_path / "sweep"
    code, text = cli(
        "sweep", "tiny", "--stochastic", "2", "--candidates", "1", "--scenarios", "50", "--out", str(out)
    )
    assert code == 2 and "--candidates of at least 2" in text
    assert not out.exists()


def test_table_shows_the_completion_and_each_forecast_limit_the_plan_breaks():
    """A summary whose plan was completed with the rescue (revolver peak $1.9M) and breaks the $25M
    minimum cash and the liquidity covenant in 2026Q4: the table says how it was completed and
    gives one warning line per limit with its quarter; a plan completed by the forecast MILP gets
    one "kept" line and no warning."""
    from rich.console import Console

    from fleetopt.cli.render.stochastic import stochastic_summary_table

    rescue = {"revolver_peak_usd": 1.87e6, "emergency_equity_usd": 0.0, "slacks": {}}
    broken = [
        {"limit": "cash >= min cash $25.0M", "quarters": ["2026Q4"], "lowest_usd": 23.13e6},
        {"limit": "liquidity >= $25.0M", "quarters": ["2026Q4"]},
    ]
    settings = {"scenarios": 3, "screened": 200, "scenario_seed": 0, "first_stage_quarters": 2,
                "risk_weight": 0.5, "cvar_alpha": 0.3}  # fmt: skip
    completion = {"method": "forecast with rescue", "rescue": rescue, "limits_broken": broken}
    summary = {"settings": settings, "status": "optimal", "gap": 0.0, "timings": {"total_seconds": 4.9},
               "completion": completion}  # fmt: skip

    def shown(summary):
        console = Console(width=400, record=True)
        console.print(stochastic_summary_table(summary))
        return console.export_text()

    text = shown(summary)
    assert "forecast with rescue (revolver peak $1.9M, emergency equity $0)" in text
    assert (
        "the plan's statements break cash >= min cash $25.0M on the forecast in 2026Q4 (lowest $23.1M), "
        "without the revolver" in text
    )
    assert "the plan's statements break liquidity >= $25.0M on the forecast in 2026Q4" in text
    summary["completion"] = {"method": "forecast MILP", "limits_broken": []}
    text = shown(summary)
    assert "kept (min cash, covenants, borrowing base)" in text and "warning" not in text


def test_a_measure_below_zero_within_the_gap_is_zero():
    """VSS and EVPI are differences of incumbents each within the MIP gap of its optimum: tiny at
    L = 1 gave WS -$94,948,773 (gap 0.135 %) against RP -$94,876,983, EVPI -$71,790, which at a
    1e-6 gap is 0. Within 0.5 % of $94.9M (about $474k) it is 0; a positive one stays; one further
    below than the gap allows stays negative (no gap explains it)."""
    from fleetopt.stochastic.measures import measure_difference

    assert measure_difference(-94_948_773.0, -94_876_983.0, 0.005) == 0.0
    assert measure_difference(2_460.0, 0.0, 0.005) == 2_460.0
    assert measure_difference(-100.0e6, -90.0e6, 0.005) == -10.0e6


def test_the_stochastic_solve_gives_the_paired_out_of_sample_differences(tmp_path):
    """The run printed each plan's out-of-sample figures but no paired differences, so a reader had
    no significance for "the stochastic plan loses $8.2M". Now summary.json and the terminal give
    them (stochastic/paired.py): the mean and CVaR5 differences equal those of the two plans'
    figures on the same scenarios, with their paired standard errors (found by hand by an auditor:
    -$8,217,463, s.e. $151,344; CVaR5 -$15,905,495, s.e. $541,104 on this run; since the terminal
    value is taxed with the last quarter, -$7,959,616, s.e. $155,712; CVaR5 -$15,930,309, s.e.
    $546,682; since a buffer no longer cuts what the borrowing base needs, 0.4.27, -$7,966,511, s.e.
    $155,713; CVaR5 -$15,933,983, s.e. $550,103; since a copy values no GPU bought in the horizon above
    its price, 0.4.33, -$7,536,656, s.e. $156,770; CVaR5 -$15,704,495, s.e. $557,139; since a copy
    values its collateral at the scenario's resale factor, -$5,611,072, s.e. $73,257; CVaR5
    -$8,714,395, s.e. $352,885; since policy rule 3 keeps no balance a later quarter's borrowing
    base cannot carry, -$5,736,332, s.e. $74,962; CVaR5 -$8,905,927, s.e. $313,813)."""
    out = tmp_path / "sto"
    code, stdout = cli("solve", "tiny", "--stochastic", "3", "--first-stage-quarters", "2",
                       "--risk-weight", "0.5", "--cvar-alpha", "0.3", "--out", str(out))  # fmt: skip
    assert code == 0, stdout
    oos = json.loads((out / "summary.json").read_text())["out_of_sample"]
    stochastic, forecast, paired = oos["metrics"]["stochastic"], oos["metrics"]["forecast"], oos["paired"]
    for key, metric in (("npv_mean_usd", "npv_mean_usd"), ("npv_cvar_usd", "npv_cvar5_usd")):
        assert paired[f"{key}_diff"] == pytest.approx(stochastic[metric] - forecast[metric], rel=1e-9)
    assert paired["npv_mean_usd_diff"] == pytest.approx(-5_736_332.17, abs=1.0)
    assert paired["npv_mean_usd_diff_se"] == pytest.approx(74_962.31, abs=1.0)
    assert paired["npv_cvar_usd_diff_se"] == pytest.approx(313_812.81, abs=1.0)
    said = " ".join(stdout.split())
    assert "stochastic less" in said and "│ -$5.7M ($75.0k) │" in said
    # the report says the same, with the verdict
    code, report = cli("report", str(out))
    assert code == 0, report
    text = " ".join(re.sub(r"<[^>]+>", " ", (out / "report.html").read_text()).split())
    assert "stochastic less forecast (paired standard error) -$5.7M ($75.0k)" in text
    # the table's heads are the labels every other table gives (they read "CVaR5: mean NPV of the worst
    # 5%" and "P(any default: liquidity or uncured breach)"), what they mean beside it
    means = ("CVaR5 NPV: the mean NPV of the worst 5 % of the scenarios; P(any default): a liquidity "
             "default or an uncured covenant breach.")
    assert means in said and means in text and "P(any default:" not in text and "CVaR5:" not in text
    # -3.10 pp of breaches at 4.7 standard errors (-1.60 pp at 2.7 before rule 3 projected the later
    # quarters' bases, -3.70 pp at 6 before the copies valued their collateral at the scenario's
    # resale factor): the verdict reads the probabilities too
    # each scenario's rescue, a sentence, wraps in its cell: on one line it pushed the table past the page
    html = (out / "report.html").read_text()
    assert '<td class="text wrap">EBITDA / debt service covenant' in html
    assert "td.wrap{white-space:normal" in html
    # its plan prepays to keep the copies' borrowing base; on the forecast the policy cut $1.59M of
    # 2026Q4's prepayment to keep the cash and the balance kept broke the base in 2027Q1, which the
    # plan uses in full: policy rule 3 now keeps no balance a later quarter's base cannot carry, so
    # the prepayment is paid, the revolver keeps the cash, and the summary says the plan keeps its limits
    assert ("On the forecast it keeps every covenant, with no room on the borrowing base in 6 of 8 quarters "
            "(the plan's statements, as planned), and its cash above the default level, drawing the "
            "revolver (up to $1.6M, in 2026Q4)") in unescape(text)
    # (P(any default): -3.60 pp at 6 errors, then within the noise, +0.10 pp with s.e. 0.61 pp, while the
    # balance kept broke the base; now -1.20 pp at 2.1 errors)
    assert ("The stochastic plan is a trade against the forecast optimum: better P(breach) and P(any "
            "default), worse mean NPV and CVaR5, each beyond 2 standard errors") in text


def test_the_paired_differences_write_money_as_the_stochastic_table_does():
    """The table printed "VSS $254,395" beside "+$197.1k": every figure of the terminal's tables
    is format_usd's (one decimal of a thousand below $1M, of a million, two of a billion). In words
    (`runs show`) each standard error is written to two significant figures, as every sentence
    states one: $25,000 is $25k, $1.25M $1.3M (half up), 0.19 points 0.19 pp, none 0 pp; the
    table's cell keeps its column's format ($25.0k)."""
    from fleetopt.stochastic.paired import paired_cell, paired_words

    d = {"npv_mean_usd_diff": 197_100.4, "npv_mean_usd_diff_se": 25_000.0, "npv_cvar_usd_diff": -3.4e9,
         "npv_cvar_usd_diff_se": 1.25e6, "breach_probability_diff": 0.0135,
         "breach_probability_diff_se": 0.0019, "default_probability_diff": 0.0,
         "default_probability_diff_se": 0.0}
    assert paired_words(d) == ("mean +$197.1k ($25k), CVaR5 -$3.40B ($1.3M), P(breach) +1.35 pp "
                               "(0.19 pp), P(liq. default) 0.00 pp (0 pp)")
    assert paired_cell("npv_mean_usd", 197_100.4, 25_000.0) == "+$197.1k ($25.0k)"
    assert paired_cell("default_probability", 0.0, 0.0) == "0.00 pp (0.00 pp)"


def test_the_paired_differences_round_points_half_up_as_compare_does():
    """Of 800 out-of-sample scenarios, one more breach is 0.125 points: every figure in points is
    rounded half up (format_figure in "pp": compare writes a paired s.e. of 0.125 points 0.13 pp),
    and so is the stochastic solve's out-of-sample line now: it read +0.12 pp (0.12 pp) by float
    formatting, and five fewer defaults -0.62 pp."""
    from fleetopt.stochastic.paired import paired_words

    d = {"npv_mean_usd_diff": 0.0, "npv_mean_usd_diff_se": 0.0, "npv_cvar_usd_diff": 0.0,
         "npv_cvar_usd_diff_se": 0.0, "breach_probability_diff": 1 / 800,
         "breach_probability_diff_se": 1 / 800, "default_probability_diff": -5 / 800,
         "default_probability_diff_se": 0.0}  # fmt: skip
    assert paired_words(d).endswith("P(breach) +0.13 pp (0.13 pp), P(liq. default) -0.63 pp (0 pp)")


def test_the_copies_covenant_cures_stand_beside_the_evaluator_s_breaches(tmp_path):
    """The solve's copies cure a covenant or the borrowing base in a share of the reduced scenarios'
    probability (their "breach"), the evaluator counts breaches of the same plan on the fresh
    scenarios: the two stood in separate tables (the diagnostics and "how to judge it"), and a reader
    could not see how far the first falls short of the second. The covenant cures' row now gives
    both, each named: on tiny --stochastic 5, 2 scenarios of 13.5 % probability in the copies against
    81.3 % of the 1,000 fresh scenarios (81.9 % before policy rule 3 projected the later quarters'
    borrowing base; the copies re-plan each future with foresight; the
    evaluator runs the plan completed on the forecast). A run without the out-of-sample check, and
    every other kind of rescue, keep the count alone."""
    from html import unescape

    from fleetopt.core.units import format_percent
    from fleetopt.stochastic.summary_words import plan_facts

    out = tmp_path / "sto"
    code, stdout = cli("solve", "tiny", "--stochastic", "5", "--out", str(out))
    assert code == 0, stdout
    summary = json.loads((out / "summary.json").read_text())
    breach = summary["out_of_sample"]["metrics"]["stochastic"]["breach_probability"]
    assert (summary["covenant_cured_scenarios"], format_percent(summary["covenant_cured_probability"]),
            format_percent(breach)) == (2, "13.5%", "81.3%")  # fmt: skip
    # "2 (13.5% probability)" left a finance reader asking 2 of what, and whether each had 13.5 %: the
    # 5 reduced scenarios' probabilities differ (161: 5 %, 24: 8.5 %, the two cured, 5 + 8.5 = 13.5)
    cured = [s["probability"] for s in summary["scenarios"] if s["covenant_cure"]]
    assert len(summary["scenarios"]) == 5 and format_percent(sum(cured)) == "13.5%" and len(set(cured)) == 2
    # what the copies re-plan, and the setting that shares it all (it said "the solve re-plans each
    # one's future knowing it", and left the reader no way to make the copies see the breaches)
    line = ("2 of the 5 reduced scenarios (13.5% of their probability), in sample: each copy re-plans its "
            "purchases, power, debt and prepayments from 2027Q3 on knowing its future "
            "(--first-stage-quarters 8 shares them all, as the evaluator runs them); the evaluator's "
            "P(covenant breach) of the plan: "
            "81.3% of the 1,000 fresh scenarios, out of sample: the plan as completed on the forecast, not "
            "re-planned")
    cures = "scenarios with covenant cures (equity paid in to cure a breach, $11 of value per $1 short)"
    assert "2 of the 5 reduced scenarios" in stdout and "the evaluator's" in stdout  # its cell wraps the rest
    assert f"{cures} │ {line}" in " ".join(shown(summary).split())
    code, _ = cli("report", str(out))
    assert code == 0
    html = unescape(" ".join(re.sub(r"<[^>]+>", " ", (out / "report.html").read_text()).split()))
    assert f"{cures} {line}" in html
    facts = {label: text for label, text, _ in plan_facts({**summary, "out_of_sample": None})}
    assert facts[cures] == "2 of the 5 reduced scenarios (13.5% of their probability)"
    facts = {label: text for label, text, _ in plan_facts(summary)}
    assert facts["scenarios with cash rescues (emergency equity: defaults)"] == (
        "0 of the 5 reduced scenarios (0.0% of their probability)")


def test_with_the_whole_horizon_shared_the_copies_cure_the_breaches_the_evaluator_counts():
    """§7b, "Why the copies cure few of the breaches the evaluator counts": tiny --stochastic 5
    (scenarios 161, 198, 164, 148 and 24 of seed 0). At Q = 4 the copies re-plan their prepayments
    and purchases from 2027Q3 knowing their future and cure a DSCR in 161 and 24 only (5 % + 8.5 %
    = 13.5 %), while the evaluator runs the plan completed on the forecast and breaches it in all but
    164 (the borrowing base from 2027Q3 or Q4; 78.0 % of the probability). With the whole horizon
    (Q = 8) shared, every copy runs the plan's decisions and re-plans only its operations: the
    copies cure exactly where the evaluator breaches (161 and 24, DSCR: nothing else), and the
    diagnostics say what the copies re-plan."""
    from fleetopt.evaluate.batch import compile_plans
    from fleetopt.evaluate.path import scenario_path

    for quarters, breached in ((4, {161, 198, 148, 24}), (8, {161, 24})):
        result = solve_stochastic(TINY_DATA, 5, quarters=quarters, oos_scenarios=0)
        batch = compile_plans(TINY_DATA, [result.plan], ["stochastic"])
        cured, evaluated = {}, {}
        for row in result.scenarios:
            index = int(row["scenario"].split()[-1])
            path = scenario_path(TINY_DATA, batch, 0, index).frame
            named = {name for cell in path["covenants_breached"] if cell for name in cell.split(", ")}
            evaluated[index] = named
            # "EBITDA / debt service covenant" in the copy's words, "EBITDA / debt service" in the path's
            limits = {row["slacks"][group]["limit"].removesuffix(" covenant") for group in row["slacks"]}
            cured[index] = limits if row["covenant_cure"] else set()
        assert {n for n, names in evaluated.items() if names} == breached, quarters
        assert {n for n, names in cured.items() if names} == {161, 24}, quarters
        if quarters == 8:
            dscr = {"EBITDA / debt service"}
            assert cured == evaluated == {161: dscr, 198: set(), 164: set(), 148: set(), 24: dscr}
    assert copies_replan({"settings": result.settings, "horizon_quarters": 8}) == (
        "every copy runs the plan's purchases, power, debt and prepayments, re-planning only its operations, "
        "as the evaluator does")


@pytest.mark.parametrize(
    "mean, cvar, words",
    [
        ((-1.4e6, 6.1e4), (2.0e5, 1.8e5), "worse than the forecast optimum in mean NPV, beyond 2 standard "
                                          "errors"),
        ((1.5e8, 4e7), (2.51e9, 3e8), "better than the forecast optimum in mean NPV and CVaR5, beyond 2"),
        ((-1e8, 4e7), (2.51e9, 3e8), "a trade against the forecast optimum: better CVaR5, worse mean NPV"),
        ((1e6, 6e5), (-1e5, 1e5), "no better and no worse than the forecast optimum"),
        ((3.7e-9, 0.0), (-3.2e-7, 6.8e-9), "no better and no worse than the forecast optimum"),
    ],
    ids=["worse", "better", "trade", "noise", "round-off"],
)
def test_the_out_of_sample_verdict_reads_the_paired_errors(mean, cvar, words):
    """tiny with 5 scenarios lost $1.4M of mean NPV out of sample at 23 standard errors, and the
    table said only 'mean -$1.4M ($60,657)'."""
    from fleetopt.stochastic.paired import out_of_sample_verdict, out_of_sample_words

    paired = {"npv_mean_usd_diff": mean[0], "npv_mean_usd_diff_se": mean[1],
              "npv_cvar_usd_diff": cvar[0], "npv_cvar_usd_diff_se": cvar[1]}  # fmt: skip
    assert out_of_sample_verdict(paired, 5).startswith(words)
    if words.startswith(("worse", "a trade")):  # the check makes no later decision: said (a review)
        assert "completed on the forecast" in out_of_sample_words({"paired": paired}, 5)


@pytest.mark.parametrize(
    "diff, se, higher, noise, needs_error, side",
    [
        (5.0, 2.0, True, 0.0, False, "better"),  # 5 > 2 x 2
        (5.0, 2.0, False, 0.0, False, "worse"),  # lower is better: +5 is worse
        (4.0, 2.0, True, 0.0, False, "within"),  # 4 is not beyond 2 x 2
        (0.5, 0.0, True, 1.0, False, "within"),  # every scenario the same, but within $1 of round-off
        (0.5, 0.0, True, 0.0, False, "better"),  # every scenario the same, none of it chance
        (0.0, 0.0, True, 0.0, False, "same"),  # two plans that never default: not "within 2 s.e."
        (0.0, 3.0, True, 0.0, False, "within"),
        (0.0, float("nan"), True, 0.0, False, "same"),  # compare's verdict: 0 is 0
        (0.0, float("nan"), True, 0.0, True, "no error"),  # the stochastic verdict: not judged
        (7.0, float("nan"), True, 0.0, False, "no error"),
        (7.0, None, None, 0.0, False, "no direction"),  # a figure without an error or direction
        (7.0, None, True, 0.0, True, "better"),  # without an error to have: by its direction
        (0.5, None, True, 1.0, False, "same"),  # no error to be within: within $1 is round-off
        (1.5, None, True, 1.0, False, "better"),
        (float("nan"), 1.0, True, 0.0, False, "not measured"),
    ],
)
def test_a_paired_difference_is_judged_by_one_rule(diff, se, higher, noise, needs_error, side):
    """compare's verdict and colours and the stochastic solve's out-of-sample verdict judged their
    differences in two places (Comparison._side and judged, paired._judged): one rule serves them."""
    from fleetopt.evaluate.metrics import judged_side

    assert judged_side(diff, se, higher, noise, needs_error) == side


def test_the_out_of_sample_verdict_reads_breach_and_default_too():
    """The default model's 5-scenario plan: mean -$266M ($77M), CVaR5 +$1.50B, P(breach) +0.60 pp,
    P(default) -2.10 pp; the verdict read only the two NPV figures. A probability counts where it
    moves beyond 2 of its standard errors, lower being better."""
    from fleetopt.stochastic.paired import out_of_sample_verdict

    paired = {"npv_mean_usd_diff": -2.66e8, "npv_mean_usd_diff_se": 7.7e7,
              "npv_cvar_usd_diff": 1.5e9, "npv_cvar_usd_diff_se": 3e8,
              "breach_probability_diff": 0.006, "breach_probability_diff_se": 0.004,
              "default_probability_diff": -0.021, "default_probability_diff_se": 0.005}  # fmt: skip
    assert out_of_sample_verdict(paired, 5) == (
        "a trade against the forecast optimum: better CVaR5 and P(liq. default), worse mean NPV, each beyond "
        "2 standard errors (in the plan completed on the forecast, not re-planned in each future: "
        "formulation §7b)"
    )
    paired["breach_probability_diff_se"] = 0.002  # +0.6 pp at 3 standard errors: worse too
    assert "worse mean NPV and P(breach)," in out_of_sample_verdict(paired, 5)


def test_the_out_of_sample_verdict_judges_the_default_as_lenders_count_it():
    """tiny --stochastic 3: the solve's verdict judged P(default) alone (0.00 pp), where compare on
    the same plans and scenarios found P(any default), a liquidity default or an uncured breach,
    +1.3 pp worse (a stochastic review). Each scenario's either-default is one when either event is
    (scenario_outcomes), and the verdict and the paired words read it as compare does."""
    from fleetopt.stochastic.paired import out_of_sample_verdict, paired_comparison, paired_words

    zeros = np.zeros(4)
    outcomes = {
        "forecast": {"npv": np.array([4.0, 3.0, 2.0, 1.0]), "breach": zeros, "uncured_breach": zeros,
                     "default": zeros, "any_default": zeros},
        "stochastic": {"npv": np.array([4.0, 3.0, 2.0, 1.0]), "breach": np.array([0.0, 1, 1, 1]),
                       "uncured_breach": np.array([0.0, 1, 1, 1]), "default": zeros,
                       "any_default": np.array([0.0, 1, 1, 1])},
    }  # fmt: skip
    [_, row] = paired_comparison(outcomes, "forecast")
    assert row["any_default_probability"] == 0.75 and row["default_probability"] == 0.0
    # three of four scenarios: mean 0.75, sample s.d. of (0, 1, 1, 1) 0.5, s.e. 0.25: 3 errors out
    assert row["any_default_probability_diff"] == 0.75
    assert row["any_default_probability_diff_se"] == pytest.approx(0.25)
    assert out_of_sample_verdict(row, 3).startswith(
        "worse than the forecast optimum in P(breach) and P(any default), beyond 2 standard errors"
    )
    assert paired_words(row).endswith(
        "P(liq. default) 0.00 pp (0 pp), P(any default) +75.00 pp (25 pp)")
    quiet = {key: 0.0 for key in row if key.endswith(("_diff", "_diff_se"))}
    assert out_of_sample_verdict(quiet, 3) == (
        "no better and no worse than the forecast optimum in mean NPV, CVaR5, P(breach), P(liq. default) or "
        "P(any default) (within 2 standard errors)"
    )


def test_a_cvar5_without_a_standard_error_is_not_called_within_two_of_them():
    """20 fresh scenarios: the CVaR5's tail is the worst one, whose influence values give no error
    (NaN, as compare says "without a standard error"). The forecast optimum's NPVs 1 .. 20, the
    stochastic plan's the same +3, -3, +3 ... : mean difference 0, CVaR5 -1 - 1 = -2 with no error.
    The verdict said "no better and no worse ... in mean NPV, CVaR5, ... (within 2 standard errors)"
    of a CVaR5 difference it could not judge."""
    from fleetopt.stochastic.paired import out_of_sample_verdict, paired_comparison

    zeros = np.zeros(20)
    forecast = np.arange(1.0, 21.0)
    plans = {"forecast": forecast, "stochastic": forecast + np.tile([3.0, -3.0], 10)}
    outcomes = {name: {"npv": npv, "breach": zeros, "uncured_breach": zeros, "default": zeros,
                       "any_default": zeros} for name, npv in plans.items()}  # fmt: skip
    [_, row] = paired_comparison(outcomes, "forecast")
    assert row["npv_cvar_usd_diff"] == -2.0 and np.isnan(row["npv_cvar_usd_diff_se"])
    assert out_of_sample_verdict(row, 10) == (
        "no better and no worse than the forecast optimum in mean NPV, P(breach), P(liq. default) or P(any "
        "default) (within 2 standard errors); CVaR5: no standard error, not judged"
    )


def test_scenario_outcomes_count_either_default_once():
    from types import SimpleNamespace

    import pandas as pd

    from fleetopt.stochastic.paired import scenario_outcomes

    evaluation = SimpleNamespace(
        npv_matrix=np.array([[1.0, 2.0, 3.0]]), metrics=pd.DataFrame({"plan": ["a"]}),
        outcomes={"breach": np.array([[1, 1, 0]], bool), "uncured_breach": np.array([[1, 0, 0]], bool),
                  "default": np.array([[1, 0, 1]], bool)},
    )  # fmt: skip
    assert scenario_outcomes(evaluation)["a"]["any_default"].tolist() == [1.0, 0.0, 1.0]


def test_one_flip_search_rounds_each_decision_the_better_way_by_hand():
    """The extensive form's rounding, improved one decision at a time (formulation §7b, step 4).
    Three decisions, each with a copy in a second scenario, with LP values 1.4, 2.6 and 0.5: down
    (1, 2, 0), up (2, 3, 1). A plan's value is -(|r0 - 1| + |r1 - 3| + 10 |r2 - 1|), and r2 = 0
    breaks a hard row (no plan). All up is worth -1; rounding decision 0 down makes 0 (kept);
    decision 1 down -1 (not kept); decision 2 down no plan. So (1, 3, 1), after four plans; a
    search that is done at 0 stops after two. The copies always move with their decision."""
    from fleetopt.milp.ef_highs import one_flip_search

    decision = np.array([0, 1, 2, 0, 1, 2])
    down, up = np.array([1.0, 2, 0, 1, 2, 0]), np.array([2.0, 3, 1, 2, 3, 1])
    tried = []

    def plan_at(r):
        assert np.array_equal(r[:3], r[3:]), "a decision's copies were rounded apart"
        tried.append(tuple(r[:3]))
        return None if r[2] == 0 else ("solution", -(abs(r[0] - 1) + abs(r[1] - 3) + 10 * abs(r[2] - 1)))

    best = one_flip_search(plan_at, down, up, decision, None, done=lambda plan: False)
    assert best[1] == 0 and tried == [(2, 3, 1), (1, 3, 1), (1, 2, 1), (1, 3, 0)]
    tried.clear()
    assert one_flip_search(plan_at, down, up, decision, None, done=lambda plan: plan[1] >= 0)[1] == 0
    assert tried == [(2, 3, 1), (1, 3, 1)]
    # a better start (the nearest rounding's plan) is kept and searched from
    tried.clear()
    start = (np.array([1.0, 3, 1, 1, 3, 1]), ("nearest", 0))
    assert one_flip_search(plan_at, down, up, decision, start, done=lambda plan: False)[0] == "nearest"


def test_the_largest_seed_s_out_of_sample_seed_wraps_to_0_and_its_run_compares(here):
    """scenario_seed 2**63 - 1 gave out-of-sample seed 2**63, which its summary kept and every
    command then refused (`fleetopt compare` of the run: 'seed must be between ...')."""
    largest = 2**63 - 1
    result = api.solve_stochastic("tiny", 2, scenario_seed=largest, screen=10, out_of_sample=10)
    assert result.summary()["out_of_sample"]["seed"] == 0
    folder = api.write_stochastic_run(result)
    assert api.compare(folder).figures.shape[1] == 2
    with pytest.raises(InputError, match=r"scenario_seed must be between 0 and"):
        api.solve_stochastic("tiny", 2, scenario_seed=largest + 1)


def test_a_screen_smaller_than_the_scenarios_is_refused_not_raised():
    """screen=5 with 10 scenarios drew 10 and said nothing: an option that cannot apply is refused.
    Left out, it is 200, or the scenarios where they are more."""
    with pytest.raises(InputError, match=r"screen must be at least scenarios \(10\).*got screen=5"):
        api.solve_stochastic("tiny", 10, screen=5)


def test_counts_in_the_api_s_messages_read_as_words():
    """2 scenarios from a screen of 1 said "from 1 scenarios"; 2.0 was called not a whole number;
    a screen of 20001 was quoted without its separator."""
    with pytest.raises(InputError, match=r"2 representatives cannot be reduced from 1 scenario \(got"):
        api.solve_stochastic("tiny", 2, screen=1)
    with pytest.raises(InputError, match=r"scenarios \(--stochastic\) must be a whole number written as an "
                       r"int: 2, not 2.0$"):  # fmt: skip
        api.solve_stochastic("tiny", 2.0)
    with pytest.raises(InputError, match=r"screen must be between 1 and 20,000 \(got 20,001\)"):
        api.solve_stochastic("tiny", 2, screen=20_001)


def test_a_thousand_screened_scenarios_and_a_measure_of_nothing_read_as_numbers():
    """1,000 scenarios of a screen of 1,000 read "1,000 scenarios of 1000" in the terminal and
    "reduced from 1000" in the report; a measure of 0 that came out -0.0 was written -0.0."""
    from fleetopt.report.two_stage import stochastic_section

    settings = {"scenarios": 1000, "distinct_scenarios": 999, "screened": 1000, "scenario_seed": 0,
                "first_stage_quarters": 4, "first_stage_before": "2027Q3", "risk_weight": 0.0,
                "cvar_alpha": 0.05, "later_purchases": "continuous"}  # fmt: skip
    summary = {"settings": settings, "status": "optimal", "gap": 0.0, "timings": {}, "rp_usd": -1e6,
               "expected_npv_usd": -1e6, "cvar_npv_usd": -2e6, "scenarios": []}  # fmt: skip
    said = shown(summary)
    assert "1,000 scenarios of 1,000 (seed 0) (1 left out" in said and "999 solved" in said
    html = stochastic_section(type("R", (), {"summary": summary, "data": TINY_DATA})())
    assert "1,000 scenarios reduced from 1,000 (seed 0)" in html
    measures = {"rp_usd": -0.0, "evpi_usd": -0.0, "vss_usd": None, "first_stage": "RP's"}
    parts = {"settings": {}, "measures": measures, "scenarios": [], "timings": {}, "model_size": {},
             "completion": {}, "out_of_sample": {}, "first_stage": {}, "commitments": [],
             "replications": None}  # fmt: skip
    result = type("R", (), parts)()
    written = json.dumps(StochasticResult.summary(result))
    assert '"rp_usd": 0.0' in written and '"evpi_usd": 0.0' in written and "-0.0" not in written


def late_block_contract(signed: bool = True, idle: float = 0.0, electricity: float = 0.0) -> dict:
    """Two quarters, no market demand; site s1 has no power but one block of 0.001 MW (one GPU at
    1 kW, idle draw ``idle`` of it) to build, $1,000 (0.001 MW x $1M), lead time 0, 10-year life,
    ``electricity`` USD/MWh; a contract (``signed``, else an offer) for one GPU at $1/h over both
    quarters (2,190 a quarter)."""
    d = base_model()
    d["skus"]["A"]["idle_power_fraction"] = idle
    d["sites"]["s1"]["electricity_price_usd_per_mwh"] = electricity
    d["horizon"]["quarters"] = 2
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 0.0}
    d["sites"]["s1"].update(power_capacity_mw=0.0, expansion={
        "block_mw": 0.001, "capex_per_mw_usd": 1.0e6, "lead_time_quarters": 0, "earliest_start": "2026Q1",
        "max_blocks": 1, "useful_life_years": 10.0,
    })  # fmt: skip
    d["contracts"] = {"c": {
        "customer": "c1", "use": "inference", "eligible_skus": ["A"], "gpus": 1,
        "price_usd_per_gpu_hour": 1.0, "start": "2026Q1", "term_quarters": 2, "signed": signed,
    }}  # fmt: skip
    return d


@pytest.mark.parametrize(("signed", "idle", "electricity", "npv", "value"), [
    (True, 0.0, 0.0, -860.0, -50_860.0), (False, 0.0, 0.0, -860.0, -50_860.0),
    (True, 0.5, 0.0, -860.0, -50_865.0), (True, 0.5, 100.0, -1_188.5, -51_193.5),
])  # fmt: skip
def test_a_scenario_whose_block_is_late_delivers_short_rather_than_run_on_power_that_is_not_there(
    signed, idle, electricity, npv, value
):
    """late_block_contract's forecast optimum builds the block and buys the GPU in quarter 0 (and
    accepts the offer): NPV -4,000 - 1,000 + 2 x 2,190 + 1,000 (the GPU kept, age 2 quarters:
    2,000 / 2) + 950 (the block at book, 1,000 x (1 - 2/40)) = 1,330. In a scenario whose block is
    one quarter late the GPU cannot serve in quarter 0: the contract is delivered one GPU-quarter
    short (penalty $50,000; an accepted offer's too, which had left the scenario infeasible) and
    the NPV loses that quarter's 2,190: -860, value -50,860. An idle draw of half the GPU's 1 kW
    waits for the hall unpowered: 0.0005 MW x $10,000 per MW-quarter = $5 more, its electricity still
    paid (at $100/MWh: 0.0005 MW x 2,190 h x 100 = $109.50, and the served quarter's $219; the forecast
    pays $438: NPV 1,330 - 438 = 892 there, -860 - 328.50 = -1,188.50 here). Before 0.4.13 the power
    slack, $10M per MW-quarter, ran the GPU on 0.001 MW that did not exist for $10,000 (value
    -8,670)."""
    data = data_of(late_block_contract(signed, idle, electricity))
    forecast = solve_with_first_stage(data, FirstStage(1), mip_gap=EXACT)
    assert forecast.objective_usd == pytest.approx(1330.0 - 2 * 2190 * electricity * 0.001, abs=1e-4)
    delay = np.zeros((data.I, data.T))
    delay[0, 0] = 1
    late = ScenarioInputs("late", 1.0, block_delay=delay)
    ef = build_extensive_form(data, [late], FirstStage(1))
    ef.fix_first_stage(forecast.first_stage)
    (row,) = solve(ef).scenarios
    assert row["npv_usd"] == pytest.approx(npv, abs=1e-4)
    assert row["value_usd"] == pytest.approx(value, abs=1e-3)
    delivery = {"amount": pytest.approx(1.0), "unit": "GPU-quarters", "limit": "contract delivery"}
    assert row["slacks"] == {"contract_delivery": delivery}
    block = ef.block(0)
    assert pyo_value(block.in_service[1, 0, 0, 0]) == pytest.approx(0.0, abs=1e-9)
    assert [pyo_value(block.idle_unpowered[0, t]) for t in (0, 1)] == pytest.approx([idle * 0.001, 0.0])


def test_idle_draw_waits_unpowered_only_where_a_block_is_late():
    """On the forecast (every block on time) the idle draw has no room to go unpowered: the
    scenario's model holds §5.6's power row as the forecast MILP does, and its value is the
    forecast optimum's NPV (1,330, no penalty)."""
    data = data_of(late_block_contract(True, 0.5))
    forecast = solve_with_first_stage(data, FirstStage(1), mip_gap=EXACT)
    ef = build_extensive_form(data, [ScenarioInputs("forecast", 1.0)], FirstStage(1))
    ef.fix_first_stage(forecast.first_stage)
    (row,) = solve(ef).scenarios
    assert row["value_usd"] == pytest.approx(1330.0, abs=1e-3) and not row["slacks"]
    assert all(pyo_value(v) == 0.0 for v in ef.block(0).idle_unpowered.values())


@pytest.mark.filterwarnings("ignore:.*quarters fall after the horizon ends")  # a contract past its horizon
def test_a_stochastic_plan_never_draws_more_power_than_its_sites_have(tmp_path):
    """tests/models/late_greenfield.yaml (from a model author's review): the scenarios delay the
    greenfield site's power, and the first stage fitted to five of them could be completed on the
    forecast only by drawing 0.21 MW more than the site had (the rescue's power slack, printed as
    "0 MW short"), while the summary said the hard limits were kept; `fleetopt compare` and
    `evaluate` then refused the plan. Power is never relaxed in a completion now: this one is
    completed with a contract delivered short instead, which the evaluator runs."""
    path = Path(__file__).parent / "models" / "late_greenfield.yaml"
    result = api.solve_stochastic(path, 5, out_of_sample=0)
    assert result.completion["method"] == "forecast with rescue"
    rescue = result.completion["rescue"]
    assert "power" not in rescue.get("slacks", {}) and "late_power" not in rescue.get("slacks", {})
    lines = plan_statements(result.data, result.plan).lines
    for site in ("existing", "greenfield"):
        assert (lines[f"mw_used_{site}"] <= lines[f"mw_available_{site}"] + 1e-6).all(), site
    folder = api.write_stochastic_run(result, out=tmp_path / "S")
    evaluation, _, _ = api.evaluate(folder, path, scenarios=20)
    assert len(evaluation.metrics) == 2


def test_at_risk_weight_one_eev_s_expected_npv_is_of_its_own_best_recourse():
    """At L = 1 only the CVaR tail has weight, so a scenario outside it may take any recourse: the
    stochastic plan's expected NPV is of each scenario's own best recourse (recourse_apart), and
    the forecast optimum's first stage must be read the same way. Written from EEV's raw solve it
    was -$76.0M on tiny at N = 2 against the stochastic plan's -$28.8M (reversing the comparison);
    with its own recourse it was -$21.9M, and since the copies value their collateral at the
    scenario's resale factor it is -$21.7M against the stochastic plan's -$33.1M."""
    from fleetopt import api

    result = api.solve_stochastic("tiny", 2, risk_weight=1.0, out_of_sample=0)
    m = result.measures
    assert m["first_stage"] == "RP's"
    assert m["eev_expected_npv_usd"] == pytest.approx(-21.70e6, abs=0.01e6)
    assert m["expected_npv_usd"] == pytest.approx(-33.11e6, abs=0.01e6)


def test_at_risk_weight_one_eev_s_rescues_are_of_its_own_best_recourse():
    """buy_now_or_later, quarter-1 price x2 (p = 1/2), x1 (1/4), x0 (1/4), A = 1/4, L = 1: the CVaR
    tail is x0 alone. The forecast buys now (test_hand_worked_two_scenarios); with that first stage
    each scenario's own best is x2 2,475, x1 285, x0 -1,405 (sold at the start of quarter 1), none
    with a rescue (no debt, no covenants, $1bn of cash): eev_rescued_probability 0, and the expected
    NPV 2,475 / 2 + 285 / 4 - 1,405 / 4 = 957.5. Read from EEV's L = 1 extensive form, where x2 and
    x1 have no weight, it was 0.75 (emergency equity paid in where none was needed). RP waits: its
    CVaR is 0 (x0 and x1 never buy) against -1,405."""
    data = data_of(buy_now_or_later())
    forecast = solve_with_first_stage(data, FirstStage(1), mip_gap=EXACT)
    factors = {"x2": (0.5, 2.0), "x1": (0.25, 1.0), "x0": (0.25, 0.0)}
    scenarios = [price_scenario(data, k, p, f) for k, (p, f) in factors.items()]
    stage, settings = FirstStage(1), SolverSettings(EXACT)
    found = by_blocks(data, scenarios, forecast, stage, 1.0, 0.25, False, True, settings)
    m = found.figures
    assert m["first_stage"] == "RP's" and m["eev_usd"] == pytest.approx(-1405.0, abs=1e-4)
    assert m["eev_rescued_probability"] == 0.0
    assert m["eev_expected_npv_usd"] == pytest.approx(957.5, abs=1e-4)


def test_an_eev_solve_that_found_no_plan_gives_no_rescue_probability():
    """Where the forecast's first stage left the extensive form with no plan (no scenario rows),
    summary.json's eev_rescued_probability said 0.0: no scenario needing a rescue, of a plan that
    does not exist. It is null, as the expected NPV beside it is (a review)."""
    from fleetopt.stochastic.measures import eev_in_sample

    none_found = EFSolution("infeasible", None, None, None, 0.0, [])
    assert eev_in_sample(None, none_found, solved=False) == {
        "eev_rescued_probability": None, "eev_expected_npv_usd": None}


def test_a_stochastic_run_without_its_out_of_sample_check_is_reported_and_compared(tmp_path):
    """out_of_sample=0 writes out_of_sample {}: report refused it ("out_of_sample.seed is missing:
    the file was damaged or edited") and compare read it for its scenarios (the review)."""
    from conftest import run_cli

    folder = api.write_stochastic_run(api.solve_stochastic("tiny", 2, out_of_sample=0), out=tmp_path / "S")
    assert json.loads((folder / "summary.json").read_text())["out_of_sample"] == {}
    code, _, err = run_cli("report", str(folder))
    assert code == 0, err
    code, _, err = run_cli("compare", str(folder), "--scenarios", "20")
    assert code == 0, err


def test_the_cli_guide_lists_every_kind_of_commitment_the_solve_lists():
    """docs/cli.md said the stochastic solve lists its commitments as "purchases, power, contracts,
    draws and prepayments", after What to commit to now also gave the GPUs retired (sold) and moved
    to inference (stochastic.commitments.COMMITMENTS): each kind is named there, in the words of plan.csv's
    decisions."""
    from fleetopt.stochastic.commitments import COMMITMENTS

    words = {"buy_gpus": "purchases", "retire": "retirements", "redeploy": "moves to inference",
             "build_power": "power", "contract_accepted": "contracts", "draw_debt": "draws",
             "prepay_debt": "prepayments"}  # fmt: skip
    guide = " ".join((Path(__file__).parents[1] / "docs" / "cli.md").read_text(encoding="utf-8").split())
    (listed,) = re.findall(r"`fleetopt solve --stochastic N` chooses .*? and lists them \(([^)]*)\)", guide)
    assert set(COMMITMENTS) == set(words)
    assert [words[d] for d in COMMITMENTS if words[d] not in listed] == []


def test_the_benchmark_s_help_gives_its_description_whole():
    # `python -m benchmarks.bench_stochastic --help` gave the docstring's first line only, which
    # stops mid-sentence ('... of the two-stage extensive form per number of').
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_stochastic", "--help"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout
    help_text = " ".join(out.split())
    assert "extensive form per number of scenarios (docs/formulation.md §7b" in help_text
    assert "'Stochastic MILP')." in help_text


@pytest.mark.parametrize(("bench", "said"), [
    ("bench_policy", "with each rule alone, and with the whole policy (docs/evaluation.md"),
    ("bench_risk_factors", "\"Risk outputs against the market\"): its forecast optimum"),
])  # fmt: skip
def test_the_other_benchmarks_help_give_their_descriptions_whole(bench, said):
    """bench_policy's --help stopped at '... each plan open-loop, with each rule', bench_risk_factors'
    at '(docs/calibration.md, "Risk outputs': the first line of their docstrings only."""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", f"benchmarks.{bench}", "--help"], cwd=root,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert said in " ".join(out.split())


def test_a_vss_is_split_into_npv_and_penalties_and_set_beside_the_out_of_sample_check():
    """A CFO read twosite's "VSS ... $239.1M" (N = 10) as value beside an out-of-sample mean NPV $5.7M
    below the forecast optimum's: the VSS is in sample and counts the penalties of the rescues the
    forecast optimum's first stage needs (72 % of the probability). By hand: NPV part $241.8M -
    $244.7M = -$2.9M, penalty part $239.1M + $2.9M = $242.0M; lab's VSS $148.0M with its NPV $3.4M
    above the forecast's first stage's had no row at all (§7b, "Measures")."""
    from fleetopt.stochastic.measures import vss_split
    from fleetopt.stochastic.summary_words import vss_source

    oos = {"scenarios": 1000, "paired": {"npv_mean_usd_diff": -5.7e6, "npv_mean_usd_diff_se": 349.1e3}}
    summary = {"vss_usd": 239.1e6, "expected_npv_usd": 241.8e6, "eev_expected_npv_usd": 244.7e6,
               "eev_rescued_probability": 0.72, "out_of_sample": oos,
               "settings": {"risk_weight": 0.0}}  # fmt: skip
    parts = vss_split(summary)
    assert parts["vss_npv_usd"] == pytest.approx(-2.9e6)
    assert parts["vss_penalty_usd"] == pytest.approx(242.0e6)
    rows = vss_source(summary)
    assert rows[0] == ("where the VSS comes from", "-$2.9M of expected NPV (the plan's $241.8M less the "
                       "forecast optimum's first stage's $244.7M) and $242.0M of rescue and covenant-cure "
                       "penalties the plan avoids, over the reduced scenarios", False)  # fmt: skip
    assert rows[1] == ("the forecast optimum's first stage in the reduced scenarios", "needs a rescue or a "
                       "covenant cure in 72.0% of their probability, each counted in EEV at its penalty",
                       False)  # fmt: skip
    label, words, warning = rows[2]
    assert label == "VSS against the out-of-sample check" and warning  # in sample +, out of sample -
    assert "mean NPV is -$5.7M (standard error $350k) against the forecast optimum's" in words
    lab = vss_source({**summary, "vss_usd": 148.0e6, "expected_npv_usd": 100.0e6,
                      "eev_expected_npv_usd": 96.6e6, "out_of_sample": {}})  # fmt: skip
    assert lab[0][1].startswith("$3.4M of expected NPV") and "$144.6M of rescue" in lab[0][1]
    assert len(lab) == 2  # no out-of-sample check: no row beside it
    weighted = vss_source({**summary, "settings": {"risk_weight": 0.5}})[0][1]
    assert "penalties the plan avoids and the CVaR's weight (L = 0.5) on the worst scenarios" in weighted
    assert vss_source({**summary, "vss_usd": None}) == [] and vss_source({}) == []


def test_the_risk_weight_is_said_in_words_with_its_tail():
    """The stochastic table's settings read 'risk weight 0.0, CVaR alpha 0.05' (a new user's walkthrough)."""
    from fleetopt.cli.render.stochastic import risk_weight_words

    assert risk_weight_words(0.5, 0.1) == ("risk weight L = 0.5 on the CVaR10 of value (the worst 10% of "
                                           "scenarios; 0: the expected value alone)")


@pytest.mark.parametrize(("value", "bound", "gap"), [
    (100.0, 110.0, 0.1),  # 10 below the bound, relative to the plan's value
    (-200.0, -190.0, 0.05),  # relative to the value's size
    (120.0, 110.0, 0.0),  # above the bound (the LP's tolerances): no gap, not a negative one
    (100.0, None, None),  # RP stopped without a bound: no gap to give
])
def test_the_gap_of_the_plan_kept_is_measured_against_rps_bound(value, bound, gap):
    """The forecast optimum's first stage kept (EEV's plan): its gap is to RP's bound, as HiGHS's
    mip_rel_gap is, |bound - value| / |value|, never below 0 (milp/highs.gap_to_bound)."""
    rp = EFSolution("time_limit", 90.0, 0.5, bound, 1.0, [])
    eev = EFSolution("optimal", value, 0.0, value, 1.0, [])
    assert kept_plan_figures(eev, rp) == {"plan_value_usd": value, "plan_gap": pytest.approx(gap)}
    assert kept_plan_figures(rp, rp) == {"plan_value_usd": 90.0, "plan_gap": 0.5}  # RP's own, as solved


def test_the_terminal_says_over_what_horizon_and_at_what_rate_its_npvs_rp_vss_and_evpi_count(tmp_path):
    """The stochastic solve printed mean NPVs, RP, VSS and EVPI with no horizon, rate or unit where
    `fleetopt solve`'s plan table and the sweep's candidates say them: both its tables of figures
    say tiny's 8 quarters and the rate the run was given (12 % a year), in the same words."""
    code, stdout = cli("solve", "tiny", "--set", "horizon.discount_rate_annual=0.12", "--stochastic", "2",
                       "--out", str(tmp_path / "sto"))  # fmt: skip
    assert code == 0, stdout
    said = " ".join(stdout.split())
    basis = "over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at 12% a year, USD)"
    judge = said.index(f"how to judge it: both plans on 1,000 fresh scenarios (seed 1), out of sample, "
                       f"{basis}")  # fmt: skip
    diagnostics = said.index(f"diagnostics of the solve: the solver's figures over its 2 reduced scenarios, "
                             f"{basis}; in sample")  # fmt: skip
    assert judge < diagnostics < said.index("VSS = RP - EEV") < said.index("EVPI = WS - RP")


def test_the_terminal_leads_with_what_to_commit_to_and_how_to_judge_it(tmp_path):
    """A new user met three "values" (in sample, RP, out of sample) and could not tell the plan's; on
    tiny the stochastic plan lost out of sample ($1.5M of mean NPV at 25 standard errors) and read
    as the feature failing. The output now leads with the answer: what to commit to now, then both
    plans on the fresh scenarios with the paired differences (the figures to judge it by) and what the
    verdict means and what to do, then the solve's figures, labelled in sample and diagnostics. Since
    the copies value their collateral at the scenario's resale factor it is a trade on tiny: $1.2M
    less mean NPV (s.e. $47.1k) for 6.0 points fewer covenant breaches ($1.1M, $47.8k and 5.4 points
    before policy rule 3 projected the later quarters' borrowing base)."""
    out = tmp_path / "sto"
    code, stdout = cli("solve", "tiny", "--stochastic", "5", "--out", str(out))
    assert code == 0, stdout
    said = " ".join(stdout.split())
    commit, judge = said.index("what to commit to now"), said.index("how to judge it: both plans on 1,000")
    diagnostics = said.index("diagnostics of the solve: the solver's figures over its 5 reduced scenarios")
    assert commit < judge < diagnostics < said.index("RP, recourse problem")
    # the gap that parts its forecast optimum from fleetopt solve's, said where the optimum is shown
    gap = "solved at this run's 1.00% gap, not fleetopt solve's 0.50%: it may buy differently"
    assert commit < said.index(gap) < judge
    oos = json.loads((out / "summary.json").read_text())["out_of_sample"]
    for label, plan in (("stochastic plan", "stochastic"), ("forecast optimum", "forecast")):
        mean = format_usd(oos["metrics"][plan]["npv_mean_usd"])
        assert judge < said.index(f"│ {label} │ {mean} │") < diagnostics
    assert judge < said.index("│ stochastic less") < said.index("│ -$1.2M ($47.1k) │") < diagnostics
    assert ("The stochastic plan is a trade against the forecast optimum: better CVaR5, P(breach) and P(any "
            "default), worse mean NPV") in said[judge:diagnostics]
    assert ("choose by which matter more to you, or solve again with more scenarios (--stochastic N) or a "
            "risk weight") in said[judge:diagnostics]
    # every other value named for what it is (the table's width wraps its labels: the full words are
    # shown() by test_solve_on_a_horizon_shorter_than_the_default_first_stage)
    assert diagnostics < said.index("RP, recourse problem: the solver's") < said.index("(in sample: fitted")


@pytest.mark.parametrize(
    "mean, cvar, words",
    [
        ((-1.4e6, 6.1e4), (2.0e5, 1.8e5), "committing to the stochastic plan's first stage does worse than "
                                          "committing to the forecast optimum's: 5 scenarios may be too few"),
        ((1.5e8, 4e7), (2.51e9, 3e8), "the stochastic plan does better: commit to its first stage"),
        ((-1e8, 4e7), (2.51e9, 3e8), "buys its better figures at the price of its worse ones"),
        ((1e6, 6e5), (-1e5, 1e5), "the two plans do as well as each other on these futures"),
    ],
    ids=["worse", "better", "trade", "noise"],
)
def test_the_out_of_sample_verdict_says_what_it_means_for_the_commitments(mean, cvar, words):
    """The verdict said which figures differ; a CFO needs what to do with the commitments."""
    from fleetopt.stochastic.paired import out_of_sample_advice

    paired = {"npv_mean_usd_diff": mean[0], "npv_mean_usd_diff_se": mean[1],
              "npv_cvar_usd_diff": cvar[0], "npv_cvar_usd_diff_se": cvar[1]}  # fmt: skip
    assert words in out_of_sample_advice(paired, 5)


def test_the_advice_names_the_settings_as_its_reader_changes_them():
    """The advice to solve again named --stochastic N and --risk-weight L in a notebook too, where they
    are arguments of fleetopt.api.solve_stochastic: the terminal's options by default (the terminal,
    the report), the API's argument names for Python."""
    import inspect

    from fleetopt.stochastic.paired import MORE_SCENARIOS, RISK_WEIGHT, out_of_sample_advice

    trade = {"npv_mean_usd_diff": -1e8, "npv_mean_usd_diff_se": 4e7,
             "npv_cvar_usd_diff": 2.51e9, "npv_cvar_usd_diff_se": 3e8}  # fmt: skip
    same = {"npv_mean_usd_diff": 1e6, "npv_mean_usd_diff_se": 6e5,
            "npv_cvar_usd_diff": -1e5, "npv_cvar_usd_diff_se": 1e5}  # fmt: skip
    again = "solve again with more scenarios ({}) or a risk weight on the worst futures ({})"
    assert again.format("--stochastic N", "--risk-weight L") in out_of_sample_advice(trade, 5)
    python = out_of_sample_advice(trade, 5, typed=False)
    assert again.format("scenarios=N", "risk_weight=L") in python and "--" not in python
    apart = "more scenarios ({}) may tell them apart"
    assert out_of_sample_advice(same, 5).endswith(apart.format("--stochastic N"))
    assert out_of_sample_advice(same, 5, typed=False).endswith(apart.format("scenarios=N"))
    named = {argument.keyword.split("=")[0] for argument in (MORE_SCENARIOS, RISK_WEIGHT)}
    assert named == {"scenarios", "risk_weight"} <= set(inspect.signature(api.solve_stochastic).parameters)


def test_a_trade_names_its_better_and_worse_figures_once():
    """The verdict of a trade named the figures ('better CVaR5, worse mean NPV') and the advice after it
    named them again ('buys better CVaR5 at the price of worse mean NPV'): once is enough."""
    from fleetopt.stochastic.paired import out_of_sample_words

    paired = {"npv_mean_usd_diff": -1e8, "npv_mean_usd_diff_se": 4e7,
              "npv_cvar_usd_diff": 2.51e9, "npv_cvar_usd_diff_se": 3e8}  # fmt: skip
    said = out_of_sample_words({"paired": paired}, 5)
    assert "better CVaR5, worse mean NPV" in said and said.count("CVaR5") == 1, said


def test_the_forecast_optimum_is_said_to_differ_from_fleetopt_solve_s_only_at_another_gap():
    from fleetopt.stochastic.summary_words import forecast_gap_note

    assert forecast_gap_note({"mip_gap": 0.005}) is None and forecast_gap_note({}) is None
    assert forecast_gap_note({"mip_gap": 0.01}).startswith(
        "The forecast optimum here is solved at this run's 1.00% gap, not fleetopt solve's 0.50%")


def test_the_terminal_ends_with_what_to_commit_to_in_a_line(tmp_path):
    """The answer led the output, but a terminal leaves its reader at the last lines, the solve's
    diagnostics: they end now with the answer in a line, as compare's "In short" does."""
    from fleetopt.stochastic.paired import out_of_sample_action

    code, stdout = cli("solve", "tiny", "--stochastic", "5", "--out", str(tmp_path / "sto"))
    assert code == 0, stdout
    said = " ".join(stdout.split())
    last = ("In short, out of sample the stochastic plan is a trade: commit to the plan whose better figures "
            "matter more to you.")
    assert said.index("diagnostics of the solve") < said.index(last) < said.index("wrote ")
    # a trade's advice names the options to solve again with, as the terminal takes them
    assert "more scenarios (--stochastic N) or a risk weight on the worst futures (--risk-weight L)" in said
    cases = {(1.5e8, 2.51e9): "better: commit to the stochastic plan's first stage",
             (-1e8, 2.51e9): "a trade: commit to the plan whose better figures matter more to you",
             (1e6, -1e5): "as good: either first stage"}  # fmt: skip
    for (mean, tail), words in cases.items():
        paired = {"npv_mean_usd_diff": mean, "npv_mean_usd_diff_se": 6e5, "npv_cvar_usd_diff": tail,
                  "npv_cvar_usd_diff_se": 3e8}  # fmt: skip
        assert out_of_sample_action(paired) == words


def test_a_cure_held_to_the_debt_stands_again_where_the_row_would_cure_for_less_once():
    """§7b "A covenant cure costs at most the debt", on tiny's scenario model with its 2026Q2 leverage
    row read as D <= 24 e + cure (e in MUSD, set by hand). Owing 1 MUSD at e = -1, the row's cure is
    25 MUSD: the copy is held to repay (the row untested, its cure the 1 MUSD owed). Its EBITDA risen
    to e = 0.01, the row cures for 1 - 0.24 = 0.76 < 1: it stands again. Cured above the debt again
    (e = -1), it is held again; risen again, it stays held (a row stands again once: the loop ends)."""
    from pyomo.environ import Param

    _, data = load("tiny")
    m = scenario_model(data, FirstStage(4))
    key = ("leverage_covenant", 1)
    m.e = Param(mutable=True, initialize=-1.0)
    debt = sum(m.balance[f, 1] for f in m.F)
    m.leverage_covenant[1].set_value(debt <= 24 * m.e + m.slack[key] + m.untested[key])
    for f in m.F:
        m.balance[f, 1].set_value(1.0 if f == 0 else 0.0)
    let_go: set = set()

    def solved(e, cure):
        m.e.set_value(e)
        m.slack[key].set_value(cure)
        held, released = cure_by_repaying(m, let_go)
        return key in held, key in released, m.ratio_cured[key].fixed, m.untested[key].fixed

    assert solved(-1.0, 25.0) == (True, False, True, False)  # held: cure = debt
    assert solved(0.01, 1.0) == (False, True, False, True)  # the row stands again
    assert solved(-1.0, 25.0) == (True, False, True, False)
    assert solved(0.01, 1.0) == (False, False, True, False)  # once only


def test_a_stochastic_solve_stopped_at_its_time_limit_without_a_plan_says_what_to_do():
    """RP stopped at --time-limit 1 with no plan said only 'the extensive form stopped (no_plan) after
    8.2 s without a plan': it names the limit and the ways out (longer, fewer scenarios, a larger gap,
    or the forecast optimum's first stage); an infeasible extensive form says no first stage completes
    in every scenario."""
    from types import SimpleNamespace

    from fleetopt.errors import NoPlanError
    from fleetopt.stochastic import recourse
    from fleetopt.stochastic.settings import SolverSettings

    def ef(status):
        stopped = SimpleNamespace(objective_usd=None, status=status, seconds=8.2)
        return SimpleNamespace(solve=lambda *a: stopped)

    with pytest.raises(NoPlanError) as stopped:
        recourse.solve_recourse_problem(ef("no_plan"), SolverSettings(time_limit=1.0))
    said = str(stopped.value)
    assert "no plan within its --time-limit of 1 s; give it longer, fewer scenarios (--stochastic N)" in said
    assert "`fleetopt solve` without --stochastic" in said and said.endswith("after 8.2 s")
    with pytest.raises(NoPlanError, match="is infeasible: no first stage is completed within the hard"):
        recourse.solve_recourse_problem(ef("infeasible"), SolverSettings())


def test_what_to_commit_to_lists_each_unsigned_contract_either_plan_accepts_even_where_both_do():
    """A board asks of each contract not yet signed whether to sign it: tiny's optional
    enterprise-inference, accepted by both plans (the forecast optimum given as both), is listed with
    no difference (it was left out where the plans agreed); the signed lab-a-training, no decision, is
    not."""
    plan = milp_solve(TINY_DATA).plan
    assert plan.accepted.tolist() == [1.0, 1.0]
    rows = first_stage_commitments(TINY_DATA, plan, plan, 4)
    contracts = [(r["item"], r["quarter"], r["stochastic"], r["forecast_optimum"]) for r in rows
                 if r["decision"] == "contract_accepted"]  # fmt: skip
    assert contracts == [("enterprise-inference", "2027Q1", 1.0, 1.0)]

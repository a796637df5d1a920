"""`fleetopt sweep`: a cash buffer planned from the start, beside the same decisions run with it.

tiny's forecast optimum orders $120M of GPUs in its largest quarter: its cash buffers are 25 % and
50 % of that, $30M and $60M, and `finance.min_cash_usd` is $25M. Its own cash is $30.3M at the end
of its first quarter, so it keeps neither buffer on its forecast."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.cli.render.sweep import sweep_table
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.results.headline import figure_text
from fleetopt.errors import FleetoptWarning
from fleetopt.milp.persistent import PersistentPlanner
from fleetopt.report import page
from fleetopt.sweep import run as run_module
from fleetopt.sweep.candidate_record import Candidate
from fleetopt.sweep.candidates import generate_candidates, second_round
from fleetopt.sweep.cash_buffers import planned_buffers
from fleetopt.sweep.stresses import default_stresses, stress_label

MIN_CASH = 25e6


@pytest.fixture(scope="module")
def tiny_candidates():
    _, data = api.load("tiny")
    return data, {c.label: c for c in generate_candidates(data, 5).candidates}


def test_the_forecast_optimum_s_buffer_is_also_planned_from_the_start(tiny_candidates):
    """"What if we plan for that buffer from the start?": the MILP of the forecast solved again with
    its cash at least $25M + $30M = $55M every quarter. Its plan's own statements hold that (the
    lowest quarter at $55.0M, where the forecast optimum's first is $30.3M), it is run with the
    model's policy (no buffer of its own), and its forecast NPV is its statements' (nothing reacts)."""
    data, made = tiny_candidates
    optimum = made["milp: forecast"]
    planned = made["milp: forecast, planned with cash buffer $30.0M"]
    assert (planned.origin, planned.status, planned.buffer_of) == ("planned", "optimal", "milp: forecast")
    assert planned.planned_buffer_usd == 30e6 and planned.liquidity_buffer_usd is None
    cash = plan_statements(data, planned.plan).lines["cash_usd"]
    assert cash.min() >= MIN_CASH + 30e6 - 1.0
    assert plan_statements(data, optimum.plan).lines["cash_usd"][0] < MIN_CASH + 30e6
    assert planned.forecast_npv_usd == pytest.approx(plan_statements(data, planned.plan).npv_usd, rel=1e-9)
    assert planned.forecast_npv_usd < optimum.forecast_npv_usd  # the cash held costs NPV
    assert "finance.min_cash_usd ($25.0M) plus a cash buffer of 25% of the largest quarterly GPU order " \
           "($120.0M), planned from the start" in planned.note  # fmt: skip
    # beside it, the same decisions run with the buffer: the sweep compares the two
    run_with = made["milp: forecast, cash buffer $30.0M"]
    assert run_with.origin == "policy" and np.array_equal(run_with.plan.buy_blocks, optimum.plan.buy_blocks)


def test_a_buffer_no_plan_can_hold_is_dropped_saying_so(tiny_candidates):
    """$25M + $60M = $85M every quarter is more than tiny's forecast can keep: dropped, in words."""
    _, made = tiny_candidates
    dropped = made["milp: forecast, planned with cash buffer $60.0M"]
    assert dropped.plan is None and dropped.status == "infeasible"
    assert dropped.dropped_reason == ("no plan holds that much cash above finance.min_cash_usd every quarter "
                                      "on the forecast")


def test_no_buffer_is_planned_where_no_rule_reads_it():
    """With the order and prepayment rules off no buffer is run, and none is planned beside it."""
    loaded = api.edit("tiny", {"policy.defer_orders": False, "policy.cut_prepayments": False})
    result = api.solve(loaded)
    assert planned_buffers(result.data, "p", result.plan, None) == []
    made = generate_candidates(result.data, 3).candidates
    assert not [c for c in made if c.origin in ("policy", "planned")]


SETTINGS = {"mip_gap": 0.005, "time_limit": None, "threads": None}


def _stress(data, label: str):
    return next(s for s in default_stresses(data) if stress_label(s) == label)


def test_the_second_round_plans_the_pick_s_buffers_under_its_stress(tiny_candidates):
    """The rule's first pick a stress optimum, "milp: price shock" (its largest order $120M too):
    its buffers are run with it, as before, and planned: its MILP solved again under the same
    stress with the minimum cash raised, so that its cash, as that MILP plans it, is at least
    $25M + $30M every quarter; $60M more is dropped, as the forecast's is."""
    data, made = tiny_candidates
    pick = made["milp: price shock"]
    more = second_round(data, pick, list(made.values()), SETTINGS)
    assert [(c.label, c.origin, c.status) for c in more] == [
        ("milp: price shock, cash buffer $30.0M", "policy", "optimal"),
        ("milp: price shock, cash buffer $60.0M", "policy", "optimal"),
        ("milp: price shock, planned with cash buffer $30.0M", "planned", "optimal"),
        ("milp: price shock, planned with cash buffer $60.0M", "planned", "infeasible"),
    ]
    planned = more[2]
    assert planned.second_round and planned.buffer_of == "milp: price shock"
    assert "(market prices -30% from quarter 3)" in planned.note
    assert planned.note.endswith("relative gap); made after the rule first picked milp: price shock (the "
                                 "sweep's second round)")
    planner = PersistentPlanner(data)
    alone = planner.solve_stress(replace(_stress(data, "milp: price shock"), min_cash_raise_usd=30e6))
    assert alone.plan.decisions_key() == planned.plan.decisions_key()
    cash_musd = [pyo.value(planner.m.cash[t]) for t in range(data.T)]
    assert min(cash_musd) >= (MIN_CASH + 30e6) / 1e6 - 1e-6
    assert planned.forecast_npv_usd == pytest.approx(plan_statements(data, planned.plan).npv_usd, rel=1e-9)
    # the $60M it cannot hold under the price shock, not on the forecast
    assert more[3].dropped_reason == ("no plan holds that much cash above finance.min_cash_usd every quarter "
                                      "under milp: price shock's stress")


def test_a_planned_buffer_met_before_is_a_duplicate(tiny_candidates):
    """On tiny the demand slump binds nothing once $55M is held: its planned $30M buffer is the
    forecast's own, marked a duplicate of it and not evaluated twice."""
    data, made = tiny_candidates
    slump = PersistentPlanner(data).solve_stress(_stress(data, "milp: demand slump"))
    pick = Candidate("milp: demand slump", "stress", slump.status, slump.plan)
    more = second_round(data, pick, list(made.values()), SETTINGS)
    planned = more[2]
    assert planned.label == "milp: demand slump, planned with cash buffer $30.0M"
    assert (planned.status, planned.plan) == ("duplicate", None)
    assert planned.same_as == "milp: forecast, planned with cash buffer $30.0M" and planned.second_round


def test_a_pick_that_is_not_an_optimum_of_a_forecast_has_no_buffer_planned(tiny_candidates):
    """A variation's or proposal's purchases are fixed by what it is: the second round runs its
    buffers, and plans none (there is no forecast of its own to solve again)."""
    data, made = tiny_candidates
    pick = replace(made["milp: price shock"], label="milp: price shock, buy 1q later", origin="variation")
    more = second_round(data, pick, list(made.values()), SETTINGS)
    assert [c.origin for c in more] == ["policy", "policy"]


def test_a_rerank_solves_its_planned_buffers_as_the_sweep_solved_its_candidates(tmp_path, monkeypatch):
    """A sweep solved to a 1 % gap within 60 s re-ranked with P(breach) at most 60 %: its pick moves
    from the price shock's optimum to the collateral haircut's (54.5 % on these 200 scenarios), whose
    planned buffers the rerank solves. They were solved to the default 0.5 % with no time limit;
    they are now solved to the sweep's 1 % within 60 s, which the rerank's summary.json keeps in
    turn. A summary.json without them (an earlier sweep's) falls back to the default, saying so."""
    folder = tmp_path / "S"
    result = api.sweep("tiny", candidates=7, scenarios=200, mip_gap=0.01, time_limit=60.0, folder=folder)
    api.write_sweep_run(result)
    summary = json.loads((folder / "summary.json").read_text())
    assert (summary["mip_gap"], summary["time_limit_seconds"]) == (0.01, 60.0)
    seen = []

    def recording(data, first, made, settings, *rest):
        seen.append((first.label, settings["mip_gap"], settings["time_limit"]))
        return second_round(data, first, made, settings, *rest)

    monkeypatch.setattr(run_module, "second_round", recording)
    reranked = api.rerank_sweep(folder, {"max_breach_prob": 0.6})
    haircut = "milp: collateral haircut"
    assert result.recommended["plan"] != haircut and reranked.recommended["plan"] == haircut
    assert seen == [(haircut, 0.01, 60.0)]
    assert any(c.origin == "planned" for c in reranked.candidates.feasible if c.second_round)
    assert reranked.solved_now == [f"{haircut}, planned with cash buffer $12.1M",
                                   f"{haircut}, planned with cash buffer $24.1M"]  # fmt: skip
    code, said, err = run_cli("sweep", "--rerank", str(folder), "--max-breach-prob", "0.6", "--out",
                              str(tmp_path / "R2"))  # fmt: skip
    assert code == 0, err
    said = " ".join(said.split())
    assert "which the new pick's replaces, solving only the new pick's 2 planned buffers" in said
    out = api.write_sweep_run(reranked, tmp_path / "R")
    again = json.loads((out / "summary.json").read_text())
    assert (again["mip_gap"], again["time_limit_seconds"]) == (0.01, 60.0)
    for name in ("mip_gap", "time_limit_seconds"):
        del summary[name]
    (folder / "summary.json").write_text(json.dumps(summary))
    with pytest.warns(FleetoptWarning, match=r"do not keep the mip_gap \(--mip-gap\) and time_limit "
                      r"\(--time-limit\) .*"
                      r"planned buffers were solved to the default gap of 0.50%, with no time limit "
                      r"\(milp: collateral haircut, planned with cash buffer \$12.1M; "):
        api.rerank_sweep(folder, {"max_breach_prob": 0.6})
    assert seen[-1] == (haircut, 0.005, None)


def test_the_two_kinds_of_cash_buffer_candidate_are_told_apart(tiny_candidates):
    """"milp: forecast, cash buffer $30.0M" and "milp: forecast, planned with cash buffer $30.0M" read
    as one plan run twice. The run buffer's note says what its policy does in each scenario below
    $25M + $30M = $55M; the planned one's that it holds $55M on the forecast with other decisions
    and runs in the scenarios without the buffer. The terminal's table says what each kind is
    below it (only where it has one), and so does the report's definition of each origin."""
    data, made = tiny_candidates
    assert made["milp: forecast, cash buffer $30.0M"].note.endswith(
        ": in each scenario, orders deferred and prepayments cut where cash would fall below "
        "finance.min_cash_usd plus it ($55.0M)")  # fmt: skip
    planned = made["milp: forecast, planned with cash buffer $30.0M"].note
    assert planned.startswith("milp: forecast re-solved so that its cash stays at least $55.0M every quarter "
                              "of the forecast: ")  # fmt: skip
    assert ("planned from the start (other decisions than its own; in the scenarios it runs with the "
            "model's policy, not with this buffer)") in planned
    run_words = ("\"..., cash buffer $X\": the plan's own decisions run with a larger cash buffer: in each "
                 "scenario")
    planned_words = ("\"..., planned with cash buffer $X\": that buffer planned from the start instead: the "
                     "plan's MILP solved again on its own forecast")
    labels = ["milp: forecast", "milp: forecast, cash buffer $30.0M",
              "milp: forecast, planned with cash buffer $30.0M"]  # fmt: skip
    figures = ["forecast_npv_usd", "npv_mean_usd", "npv_cvar5_usd", "breach_probability",
               "default_probability"]
    rows = pd.DataFrame({"plan": labels, "origin": ["forecast", "policy", "planned"], "recommended": False,
                         "on_front": False, **dict.fromkeys(figures, 0.0)})  # fmt: skip
    caption = sweep_table(rows, "t").caption
    assert run_words in caption and planned_words in caption
    caption = sweep_table(rows[:2], "t").caption
    assert run_words in caption and "planned with" not in caption
    assert "cash buffer $X" not in sweep_table(rows[:1], "t").caption
    origin = dict(page.glossary(data, labels, 200, "sweep"))["origin"]
    assert f"policy (the forecast optimum, or the rule's first pick, {run_words}" in origin
    assert f"planned ({planned_words}" in origin


def test_runs_show_gives_a_sweep_s_solve_settings_in_their_units():
    """summary.json's mip_gap and time_limit_seconds as `runs show` prints them: 0.005 and "n/a" (a
    sweep with no time limit read as one whose limit is unknown) before; a minute as every time from
    a minute is written (units.format_duration), where it read "60.00 s"."""
    assert figure_text("mip_gap", 0.005) == "0.50%"
    assert figure_text("time_limit_seconds", None) == "none (no time limit)"
    assert figure_text("time_limit_seconds", 60.0) == "0:01:00"

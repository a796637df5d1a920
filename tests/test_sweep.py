"""`fleetopt sweep`: the Pareto front, the rule's pick, the run folder, re-solves of one built model
and the power limit of every candidate."""

from __future__ import annotations

import html
import io
import itertools
import json
import re
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from evaluate_builders import tiny_model
from milp_builders import base_model, data_of, load

import fleetopt.milp.persistent as persistent
from fleetopt import api
from fleetopt.cli.render.sweep import bulleted_lines
from fleetopt.cli.sweep_output import candidate_counts
from fleetopt.compare.run import compare_plans
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.plan import Plan
from fleetopt.core.units import format_usd
from fleetopt.errors import InputError, NoPlanError
from fleetopt.evaluate.batch import compile_plans, with_buffers
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.lead import Lead
from fleetopt.evaluate.metrics import FORECAST_OK, paired_npv_error
from fleetopt.milp.persistent import PersistentPlanner
from fleetopt.report import page
from fleetopt.sweep.candidate_record import Candidate
from fleetopt.sweep.candidates import generate_candidates
from fleetopt.sweep.cash_buffers import policy_variations
from fleetopt.sweep.result import SweepResult
from fleetopt.sweep.rule import (
    FRONT_FIGURES,
    Rule,
    RuleError,
    RuleNotMet,
    conditions_missed,
    loosening_options,
    meets_rule,
    optimum_condition,
    pareto_front,
    recommend,
    runner_up,
)
from fleetopt.sweep.run import rule_chosen_by
from fleetopt.sweep.stresses import all_stresses, collateral_haircut, default_stresses
from fleetopt.sweep.variations import scaled

BREACH_LIMIT = 0.6
SWEEP_FILES = {"plans.npz", "candidates.csv", "front.csv", "summary.json", "model.yaml"}


@pytest.fixture(scope="module")
def tiny_sweep():
    return api.sweep("tiny", candidates=8, scenarios=300, seed=1, rule=Rule(max_breach_prob=BREACH_LIMIT))


def dominates(a: np.ndarray, b: np.ndarray, tol: np.ndarray) -> bool:
    """a dominates b (signed so that higher is better), with pareto_front's round-off tolerance."""
    return bool((a >= b - tol).all() and (a > b + tol).any())


def signed(metrics: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    values = np.column_stack([metrics[c].to_numpy(dtype=float) * s for c, s in FRONT_FIGURES.items()])
    return values, 1e-9 * np.maximum(1.0, np.abs(values).max(axis=0))


def frame(rows) -> pd.DataFrame:
    cols = ["npv_mean_usd", "npv_cvar5_usd", "breach_probability", "default_probability", "npv_p5_usd"]
    return pd.DataFrame([r + (0.0,) * (len(cols) - len(r)) for r in rows], columns=cols)


# ---------------------------------------------------------------- sweep of tiny


def test_front_is_mutually_non_dominated_and_covers_the_rest(tiny_sweep):
    m = tiny_sweep.metrics
    assert len(m) >= 3 and m["on_front"].any()
    values, tol = signed(m)
    front = np.flatnonzero(m["on_front"].to_numpy())
    for a in front:
        for b in front:
            assert a == b or not dominates(values[a], values[b], tol), (m.plan[a], m.plan[b])
    for b in np.flatnonzero(~m["on_front"].to_numpy()):
        assert any(dominates(values[a], values[b], tol) for a in front), m.plan[b]


def test_recommended_plan_meets_the_rule_and_is_best_among_those_that_do(tiny_sweep):
    m, rec = tiny_sweep.metrics, tiny_sweep.recommended
    assert m["recommended"].sum() == 1 and bool(rec["recommended"])
    assert rec["breach_probability"] <= BREACH_LIMIT
    eligible = m[m["breach_probability"] <= BREACH_LIMIT]
    assert rec["npv_cvar5_usd"] == pytest.approx(eligible["npv_cvar5_usd"].max(), rel=1e-9)
    # a stricter limit on the same metrics picks the best plan among the fewer that qualify
    limit = float(m["breach_probability"].min())
    pick = m.iloc[recommend(m, Rule(prefer="mean", max_breach_prob=limit))]
    assert pick["breach_probability"] <= limit
    best = m[m["breach_probability"] <= limit]["npv_mean_usd"].max()
    assert pick["npv_mean_usd"] == pytest.approx(best, rel=1e-9)


def test_candidates_are_distinct_feasible_and_at_most_requested(tiny_sweep):
    """At most --candidates, and the pick's two buffers of the second round, run and planned, beyond
    them."""
    feasible = tiny_sweep.candidates.feasible
    first = [c for c in feasible if not c.second_round]
    assert 1 <= len(first) <= 8 and len(feasible) - len(first) <= 4
    assert len(feasible) == len(tiny_sweep.metrics)
    assert feasible[0].origin == "forecast"
    # distinct as a plan and the policy buffer it runs with (the policy candidates repeat a plan)
    keys = {c.plan.decisions_key() + str(c.liquidity_buffer_usd).encode() for c in feasible}
    assert len(keys) == len(feasible)


def test_a_stress_optimum_with_the_forecasts_purchases_but_its_own_operations_is_another_plan():
    """tiny, 8 candidates on 200 scenarios: the price-shock optimum buys what the forecast optimum
    buys but retires, moves and prepays otherwise (its forecast NPV -$19.3M against -$14.1M). It
    was dropped as "the same plan", though by hand on the sweep's scenarios its CVaR5 is $5.2M
    better at the same default risk and fewer breaches: the rule's first pick, whose second round
    (it run with a cash buffer) is the recommendation."""
    sweep = api.sweep("tiny", candidates=8, scenarios=200)
    made = {c.label: c for c in sweep.candidates.candidates}
    shock, base = made["milp: price shock"], made["milp: forecast"]
    assert shock.status != "duplicate" and np.array_equal(shock.plan.buy_blocks, base.plan.buy_blocks)
    assert not np.array_equal(shock.plan.retire, base.plan.retire)
    assert shock.plan.decisions_key() != base.plan.decisions_key()
    assert sweep.recommended["plan"].startswith("milp: price shock")


def test_a_plans_decisions_key_ignores_round_off_only():
    """-0.0 and 1e-9 GPUs are the 0 they round to; one GPU retired otherwise is another plan."""
    data = data_of(base_model())
    plan, other = Plan.empty(data), Plan.empty(data)
    other.retire_training[0, 0] = -1e-9
    other.draws[:] = -0.0
    assert plan.decisions_key() == other.decisions_key()
    other.retire_training[0, 0] = 1.0
    assert plan.decisions_key() != other.decisions_key()


def test_the_sweep_runs_the_forecast_optimum_with_larger_cash_buffers(tiny_sweep):
    by_label = {c.label: c for c in tiny_sweep.candidates.feasible}
    policy = [c for c in by_label.values() if c.origin == "policy" and not c.second_round]
    assert [c.liquidity_buffer_usd > 0 for c in policy] == [True, True]
    assert {c.buffer_of for c in policy} == {"milp: forecast"}
    base = by_label["milp: forecast"].plan
    assert all(np.array_equal(c.plan.buy_blocks, base.buy_blocks) for c in policy)
    # the buffer is part of the evaluation: the plan file keeps it, and a larger buffer defers at least
    # as often as the plan run without one
    rows = tiny_sweep.metrics.set_index("plan")
    for c in policy:
        assert rows.loc[c.label, "deferred_share"] >= rows.loc["milp: forecast", "deferred_share"]


def test_candidates_are_made_in_the_documented_order(tiny_sweep):
    """docs/cli.md, "Candidates": the forecast optimum, (the stochastic plan, your purchases,) its
    cash buffers, run then planned, the stress optima, the robust optimum, the variations;
    --candidates keeps the first. The list had the buffers last, and a --candidates 3 sweep of tiny
    evaluated only them. The second round, the pick's own buffers, comes after them all."""
    order = ["forecast", "stochastic", "proposal", "policy", "planned", "stress", "robust", "variation"]
    made = [order.index(c.origin) for c in tiny_sweep.candidates.candidates if not c.second_round]
    assert made == sorted(made) and made[:3] == [0, 3, 3]
    second = [c.second_round for c in tiny_sweep.candidates.candidates]
    assert second == sorted(second)


def test_a_volume_scaling_that_rounds_to_the_same_blocks_is_not_made():
    """Blocks are whole: one block times 0.75 or 1.25 rounds back to one. Such a "volumes x0.75"
    variation was made all the same, completed by the MILP (a solve) and dropped as a duplicate of
    its parent; docs/cli.md says one that would change nothing is not made. Four blocks scale to
    three and five."""
    plan = api.solve("tiny").plan
    s, i, t = (int(k[0]) for k in np.nonzero(plan.buy_blocks))
    plan.buy_blocks[:] = 0
    plan.buy_blocks[s, i, t] = 1
    assert scaled(plan, 0.75) is None and scaled(plan, 1.25) is None
    plan.buy_blocks[s, i, t] = 4
    assert scaled(plan, 0.75).buy_blocks[s, i, t] == 3 and scaled(plan, 1.25).buy_blocks[s, i, t] == 5


def test_cash_buffer_labels_stay_distinct_when_the_base_buffer_dwarfs_the_orders():
    """A $5B base buffer and one block of GPUs as the largest order (well under $20M): 25 % and
    50 % of it both printed "$5.00B", two candidates with one label. They are written to the dollar."""
    import dataclasses

    loaded, data = api.load("tiny")
    data = dataclasses.replace(data, policy=data.policy.model_copy(update={"liquidity_buffer_usd": 5e9}))
    plan = api.solve(loaded).plan
    s, i, t = (int(k[0]) for k in np.nonzero(plan.buy_blocks))  # the first purchase, one block of it
    plan.buy_blocks[:] = 0
    plan.buy_blocks[s, i, t] = 1
    labels = [c.label for c in policy_variations(data, "p", plan)]
    assert len(set(labels)) == 2 and all(label.startswith("p, cash buffer $5,00") for label in labels), labels


@pytest.mark.parametrize(
    ("off", "buffers", "acts"),
    [({"defer_orders": False}, [30e6, 60e6], "): in each scenario, prepayments cut where"),
     ({"cut_prepayments": False}, [30e6, 60e6], "): in each scenario, orders deferred where"),
     ({"defer_orders": False, "cut_prepayments": False}, [], "")],
)  # fmt: skip
def test_the_cash_buffer_is_varied_wherever_a_rule_that_reads_it_is_on(off, buffers, acts):
    """tiny's forecast optimum orders $120M of GPUs in its largest quarter: buffers of 25 % and 50 %
    of it, $30M and $60M. The buffer is read by the order rule and by the prepayment rule, and on
    tiny it acts through the prepayments (they keep the borrowing base); with the order rule off the
    sweep made no buffer candidate at all. With both rules off a buffer does nothing: none is made."""
    loaded = api.edit("tiny", {f"policy.{rule}": value for rule, value in off.items()})
    result = api.solve(loaded)
    made = list(policy_variations(result.data, "p", result.plan))
    assert [c.liquidity_buffer_usd for c in made] == pytest.approx(buffers)
    assert all(acts in c.note for c in made)
    if off == {"defer_orders": False}:  # the $30M buffer cuts prepayments, within the base's room
        batch = with_buffers(compile_plans(result.data, [result.plan] * 2, ["none", "$30M"]), [0.0, 30e6])
        cut = evaluate(result.data, batch, 20, 0, backend="numpy").metrics["prepayment_cut_share"]
        assert cut[0] < cut[1]


def test_a_cash_buffer_s_note_adds_the_share_of_the_order_to_the_model_s_buffer():
    """tiny run with a $30M buffer: its forecast optimum's largest quarterly order is $120M, so its
    cash-buffer candidates run with $30M + $30M and $30M + $60M. Their labels said $60.0M and $90.0M
    while their notes said "a cash buffer of 25 % of the largest quarterly GPU order" ($30M)."""
    result = api.solve(api.edit("tiny", {"policy.liquidity_buffer_usd": 30e6}))
    made = list(policy_variations(result.data, "p", result.plan))
    assert [c.label for c in made] == ["p, cash buffer $60.0M", "p, cash buffer $90.0M"]
    assert "a cash buffer of the model's $30.0M plus 25% of the largest quarterly GPU order ($120.0M)" in (
        made[0].note
    )
    plain = api.solve("tiny")  # no buffer of the model's: the share alone, as before
    note = next(policy_variations(plain.data, "p", plain.plan)).note
    assert "a cash buffer of 25% of the largest quarterly GPU order ($120.0M)" in note


def test_a_candidate_s_forecast_npv_is_the_forecast_run_with_its_own_buffer(tiny_sweep):
    """The forecast optimum run with a cash buffer may react on the forecast itself (on neocloud it
    defers orders): its NPV on the forecast is its deterministic evaluation with that buffer, not
    the MILP's, which the sweep used to show for every buffer. On tiny the borrowing base needs
    every prepayment its forecast optimum makes, which a buffer never cuts (policy rule 3): those
    buffered runs' forecast NPV is the optimum's. Without a buffer the two agree (docs/evaluation.md)."""
    _, data = api.load("tiny")
    by_label = {c.label: c for c in tiny_sweep.candidates.feasible}
    base = by_label["milp: forecast"]
    assert base.forecast_npv_usd == pytest.approx(plan_statements(data, base.plan).npv_usd, rel=1e-9)
    for c in (c for c in by_label.values() if c.origin == "policy"):
        batch = with_buffers(compile_plans(data, [c.plan], ["p"]), [c.liquidity_buffer_usd])
        run = evaluate(data, batch, 1, 0, backend="numpy", deterministic=True)
        assert c.forecast_npv_usd == run.metrics["npv_mean_usd"].iloc[0]
        if c.label.startswith("milp: forecast, "):  # the optimum's base is used in full: nothing cut
            assert c.forecast_npv_usd == pytest.approx(base.forecast_npv_usd, abs=0.01)


# ---------------------------------------------------------------- the stochastic plan as a candidate


def test_sweep_stochastic_adds_the_two_stage_plan_reduced_from_another_seed():
    """`sweep --stochastic 2` on tiny (seed 1): the candidate "stochastic: 2 scenarios" (origin
    stochastic) follows the forecast optimum, its scenarios reduced from seed 2 (not the seed the
    sweep evaluates on). Its copies value their collateral at the scenarios' resale values, where the
    forecast optimum's first stage, which uses its borrowing base in full, needs cures: the plan is
    RP's own and evaluated. With resale values at the forecast (no resale volatility) the scenarios
    give no reason to leave the forecast's first stage (docs/formulation.md §7b), so completed on the
    forecast it is the forecast optimum itself, every decision alike (Plan.decisions_key), and is
    dropped as a duplicate rather than evaluated twice. Without the option there is no such
    candidate."""
    result = api.sweep("tiny", candidates=3, scenarios=100, seed=1, stochastic=2)
    made = result.candidates.candidates
    assert [c.origin for c in made[:2]] == ["forecast", "stochastic"]
    stochastic = made[1]
    assert stochastic.label == "stochastic: 2 scenarios"
    assert "2 scenarios of seed 2" in stochastic.note and "(RP's)" in stochastic.note
    assert stochastic.status == "optimal" and "stochastic: 2 scenarios" in set(result.metrics["plan"])
    at_forecast_resale = api.edit("tiny", {"risk.resale_value_volatility_annual": 0.0})
    result = api.sweep(at_forecast_resale, candidates=3, scenarios=100, seed=1, stochastic=2)
    base, stochastic = result.candidates.candidates[:2]
    assert "the forecast optimum's" in stochastic.note
    assert stochastic.status == "duplicate" and stochastic.plan is None
    assert stochastic.same_as == base.label  # named: "duplicate" alone left the reader to guess
    assert "stochastic: 2 scenarios" not in set(result.metrics["plan"])
    assert base.label in set(result.metrics["plan"])
    plain = api.sweep("tiny", candidates=3, scenarios=100, seed=1)
    assert all(c.origin != "stochastic" for c in plain.candidates.candidates)


def test_a_stochastic_plan_that_differs_is_evaluated_and_ranked_like_the_others(monkeypatch):
    """A stochastic solve (stood in for: the forecast optimum with its volumes x0.75, a plan no
    other candidate is) enters the metrics with its origin and forecast NPV, and the front and the
    rule's pick are taken over it too: the pick is the best CVaR5 of all rows, this one included."""
    import fleetopt.sweep.stochastic_candidate as stochastic_module  # whose calls the patch changes
    from fleetopt.sweep.variations import scaled

    def fake_solve(data, n, **settings):
        forecast = PersistentPlanner(data).solve_stress(None).plan
        measures = {"status": "optimal", "first_stage": "RP's", "vss_usd": 1.0, "gap": 0.0}
        return SimpleNamespace(plan=scaled(forecast, 0.75), measures=measures,
                               settings={"first_stage_quarters": 4},
                               completion={"method": "forecast MILP", "limits_broken": []})  # fmt: skip

    monkeypatch.setattr(stochastic_module, "solve_stochastic", fake_solve)
    result = api.sweep("tiny", candidates=3, scenarios=100, seed=1, stochastic=2)
    rows = result.metrics.set_index("plan")
    assert rows.loc["stochastic: 2 scenarios", "origin"] == "stochastic"
    assert np.isfinite(rows.loc["stochastic: 2 scenarios", ["forecast_npv_usd", "npv_mean_usd"]]).all()
    # of the rows the rule admits (the pick's buffers of the second round breach on tiny's forecast)
    best = result.metrics[meets_rule(result.metrics, result.rule)]["npv_cvar5_usd"].max()
    assert result.recommended["npv_cvar5_usd"] == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("args, gap", [((), 0.01), (("--mip-gap", "0.02"), 0.02)])
def test_the_stochastic_candidate_stops_at_1_percent_unless_told(tmp_path, monkeypatch, args, gap):
    """`sweep --stochastic N` solved its two-stage plan at the sweep's 0.5 %, where the default
    model's search finds no plan in 15 minutes: 1 %, as `solve --stochastic`, unless --mip-gap is
    given (then that, as for every candidate); job.json keeps it for a resume."""
    import fleetopt.sweep.stochastic_candidate as stochastic_module  # whose calls the patch changes

    asked = []

    def no_plan(data, n, **settings):
        asked.append(settings["mip_gap"])
        raise NoPlanError("stood in for")

    monkeypatch.setattr(stochastic_module, "solve_stochastic", no_plan)
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    out = str(tmp_path / "sweep")
    code, text, err = run_cli(
        "sweep", "tiny", "--candidates", "2", "--scenarios", "50", "--stochastic", "2", *args, "--out", out
    )
    assert code == 0, text + err
    assert asked == [gap]
    job = json.loads((tmp_path / "sweep" / "job.json").read_text())
    assert job["stochastic_mip_gap"] == gap and job["mip_gap"] == float(args[1] if args else 0.005)


def test_cli_sweep_stochastic_below_one_exits_2(tmp_path):
    code, _, err = run_cli("sweep", "tiny", "--stochastic", "0", "--out", str(tmp_path / "X"))
    assert code == 2 and "--stochastic" in err
    assert not (tmp_path / "X").exists()


# ---------------------------------------------------------------- pareto_front and recommend by hand


def test_pareto_front_hand_made():
    m = frame([
        (10.0, 5.0, 0.10),  # front
        (8.0, 4.0, 0.20),  # dominated by row 0
        (12.0, 3.0, 0.10),  # front: best mean
        (10.0, 5.0, 0.20),  # dominated by row 0 on breach alone
        (9.0, 6.0, 0.30),  # front: best CVaR5
        (1.0, 1.0, 0.0),  # front: lowest breach
    ])  # fmt: skip
    assert pareto_front(m).tolist() == [True, False, True, False, True, True]


def test_pareto_front_keeps_ties_and_round_off():
    m = frame([(10.0, 5.0, 0.1), (10.0, 5.0, 0.1), (10.0 * (1 + 1e-13), 5.0, 0.1), (10.0, 4.9, 0.1)])
    assert pareto_front(m).tolist() == [True, True, True, False]
    big = frame([(1e9, -2e8, 0.2), (1e9 + 0.01, -2e8, 0.2)])  # 1e-11 relative: a tie
    assert pareto_front(big).tolist() == [True, True]
    assert pareto_front(frame([(1.0, 1.0, 0.5)])).tolist() == [True]


def hand_made() -> pd.DataFrame:
    """Four plans: mean NPV, CVaR5, P(breach), P(default), P5."""
    return frame([
        (10.0, 5.0, 0.30, 0.0, 2.0),
        (12.0, 4.0, 0.05, 0.2, 3.0),
        (11.0, 4.5, 0.10, 0.0, 1.0),
        (9.0, 4.5, 0.02, 0.0, 0.5),
    ])  # fmt: skip


def test_recommend_hand_made():
    m = hand_made()
    assert recommend(m, Rule()) == 0
    assert recommend(m, Rule(prefer="mean")) == 1
    assert recommend(m, Rule(prefer="p5")) == 1
    assert recommend(m, Rule(max_breach_prob=0.2)) == 3  # CVaR5 tie 4.5: the lower breach wins
    assert recommend(m, Rule(max_breach_prob=0.10)) == 3
    assert recommend(m, Rule(max_breach_prob=0.10, max_default_prob=0.1, prefer="mean")) == 2
    assert recommend(m, Rule(max_breach_prob=0.05, prefer="mean")) == 1  # the limit itself qualifies
    assert recommend(m, Rule(min_cvar5_usd=4.6, prefer="mean")) == 0
    assert "0.01%" in Rule(max_breach_prob=0.0001).describe()  # a small limit is not rounded to 0.0%


@pytest.mark.parametrize(
    ("settings", "named"),
    [({"prefer": "median"}, "prefer must be one of cvar5, mean, p5"),
     ({"max_breach_prob": 2}, "max_breach_prob must be between 0.0 and 1.0"),
     ({"max_default_prob": float("nan")}, "max_default_prob"),
     ({"no_riskier_than_optimum": "no"}, "no_riskier_than_optimum")],
)  # fmt: skip
def test_a_rule_no_plan_can_meet_is_refused_where_it_is_made(settings, named):
    """fo.Rule(prefer="median") was taken, and refused only by the sweep that used it."""
    with pytest.raises(InputError, match=named):
        Rule(**settings)
    tie = frame([(9.0, 4.0, 0.1), (11.0, 4.0, 0.1), (10.0, 4.0, 0.1)])
    assert recommend(tie, Rule()) == 1  # equal CVaR5 and breach: the higher mean wins


def test_a_pick_whose_buffer_is_kept_by_cancelling_orders_says_so():
    """The pick B runs with a $30.0M cash buffer (the model's is $20.0M) and its policy defers an order
    in 90 % of the scenarios ($12.0M of capex on average) and cancels one in 60 %, forfeiting $1.5M of
    deposits on average: a reader took its "cash buffer" for cash kept, not GPUs not bought. At
    exactly half the scenarios cancelling (not more than half) nothing is said."""
    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "B"], "origin": ["forecast", "buffer"],
        "npv_mean_usd": [10e6, 12e6], "npv_cvar5_usd": [-9e6, -5e6], "npv_p5_usd": [-4e6, -2e6],
        "breach_probability": [0.2, 0.1], "default_probability": [0.1, 0.05],
        "deferred_share": [0.0, 0.9], "order_cancelled_share": [0.0, 0.6],
        "deferred_capex_mean_usd": [0.0, 12e6], "forfeited_deposits_mean_usd": [0.0, 1.5e6],
    })  # fmt: skip
    candidates = SimpleNamespace(feasible=[SimpleNamespace(label="milp: forecast", liquidity_buffer_usd=None),
                                           SimpleNamespace(label="B", liquidity_buffer_usd=30e6)])
    data = SimpleNamespace(policy=SimpleNamespace(liquidity_buffer_usd=20e6))
    evaluation = SimpleNamespace(seed=None)  # on the forecast alone: no scenarios to find its orders in
    points = SweepResult(None, data, candidates, metrics, evaluation, Rule(), 1).why_points()
    said = ("Run with its $30.0M cash buffer it defers an order in 90.0% of the scenarios ($12.0M of GPU "
            "capex on average, at the prices planned) and cancels one in 60.0%, forfeiting $1.5M of deposits "
            "on average: the buffer is kept by buying fewer GPUs than the plan orders.")  # fmt: skip
    assert said in points
    half = metrics.assign(order_cancelled_share=[0.0, 0.5])
    assert "cash buffer" not in SweepResult(None, data, candidates, half, evaluation, Rule(), 1).why()


def test_a_pick_with_no_cash_buffer_that_cancels_orders_names_no_buffer():
    """The same pick B run with no buffer (a $0 one of its own, the model's $20.0M aside) read "Run with
    its $0 cash buffer it defers ...: the buffer is kept by buying fewer GPUs": there is no buffer to
    keep, the policy defers to keep cash above the treasury minimum."""
    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "B"], "origin": ["forecast", "buffer"],
        "npv_mean_usd": [10e6, 12e6], "npv_cvar5_usd": [-9e6, -5e6], "npv_p5_usd": [-4e6, -2e6],
        "breach_probability": [0.2, 0.1], "default_probability": [0.1, 0.05],
        "deferred_share": [0.0, 0.74], "order_cancelled_share": [0.0, 0.6],
        "deferred_capex_mean_usd": [0.0, 12e6], "forfeited_deposits_mean_usd": [0.0, 1.5e6],
    })  # fmt: skip
    candidates = SimpleNamespace(feasible=[SimpleNamespace(label="milp: forecast", liquidity_buffer_usd=None),
                                           SimpleNamespace(label="B", liquidity_buffer_usd=0.0)])
    data = SimpleNamespace(policy=SimpleNamespace(liquidity_buffer_usd=20e6))
    evaluation = SimpleNamespace(seed=None)
    why = SweepResult(None, data, candidates, metrics, evaluation, Rule(), 1).why()
    assert ("Its policy defers an order in 74.0% of the scenarios ($12.0M of GPU capex on average, at the "
            "prices planned) and cancels one in 60.0%, forfeiting $1.5M of deposits on average: it keeps "
            "cash above the treasury minimum by buying fewer GPUs than the plan orders.") in why
    assert "buffer" not in why


def rule_plans() -> pd.DataFrame:
    """The forecast optimum and three candidates of the rule tests below: on the same scenarios the
    optimum breaches in 60 % and defaults in 30 %; A has the best CVaR5 but breaches in 70 %, B
    breaches as often as the optimum and defaults less, C defaults in 30.1 %."""
    return pd.DataFrame({
        "plan": ["milp: forecast", "A", "B", "C"], "origin": ["forecast", "stress", "stress", "variation"],
        "npv_mean_usd": [13e9, 9e9, 11e9, 10e9], "npv_cvar5_usd": [-23e9, -15e9, -20e9, -18e9],
        "npv_p5_usd": [-10e9, -8e9, -9e9, -9e9],
        "breach_probability": [0.60, 0.70, 0.60, 0.55], "default_probability": [0.30, 0.25, 0.20, 0.301],
    })  # fmt: skip


def test_the_default_rule_recommends_nothing_riskier_than_the_forecast_optimum():
    """On the same scenarios the forecast optimum breaches in 60 % and defaults in 30 %. A has the
    best CVaR5 but breaches in 70 %; C the second best but defaults in 30.1 %; B breaches exactly as
    often (the optimum's own figure qualifies) and defaults less: the default rule picks B, and a rule
    with --allow-riskier picks A."""
    metrics = rule_plans()
    assert recommend(metrics, Rule()) == 2
    assert recommend(metrics, Rule(no_riskier_than_optimum=False)) == 1
    assert recommend(metrics, Rule(prefer="mean")) == 0  # the optimum itself always qualifies
    described = Rule().describe()
    assert ("breach probability, liquidity default probability and probability of any default no higher "
            "than the forecast optimum's") in described  # fmt: skip
    assert "no limit" not in described
    why = SweepResult(None, None, None, metrics, None, Rule(), 2).why()
    # "best CVaR5 among plans with ..." read as the best CVaR5 of all: the better ones are named
    assert ("Better on CVaR5 NPV but outside the rule, with P(covenant breach) above the forecast "
            "optimum's 60.0%: A (70.0%); with P(liquidity default) above the forecast optimum's 30.0%: "
            "C (30.1%).") in why  # fmt: skip
    assert "P(breach)" not in why  # prose names a breach as the report's tiles do, not as a narrow column
    capped = SweepResult(None, None, None, metrics, None, Rule(max_breach_prob=0.65), 2).why()
    assert ("with P(covenant breach) above 65.0%, P(covenant breach) above the forecast optimum's 60.0%: "
            "A (70.0%, 70.0%)") in capped
    # a pick that still breaches in most futures says so (a report recommended one at 83.7 % unmarked)
    still = " It still breaches a covenant in 60.0% of the scenarios; the lowest of any candidate is 55.0%"
    still += " (C)."
    assert why.endswith(still)
    # an equal figure said "from 60.0% to 60.0%" (tiny's defaults: "from 0.0% to 0.0%")
    assert "breach probability unchanged at 60.0%, liquidity default probability from 30.0% to 20.0% (" in why
    # with --allow-riskier a pick cut its liquidity defaults while lenders' defaults rose 27 points
    # (docs/cli.md's sweep): the sentence gives the default of either kind too, where metrics have it
    either = metrics.assign(any_default_probability=[0.621, 0.6, 0.893, 0.5])
    riskier = SweepResult(None, None, None, either, None, Rule(), 2).why()
    assert ("liquidity default probability from 30.0% to 20.0% and the probability of any default (a "
            "liquidity default or an uncured covenant breach, as lenders count defaults) from 62.1% to "
            "89.3% (each change") in riskier  # fmt: skip
    # and that it still defaults as lenders count it in most futures (P(any default), their figure)
    assert riskier.endswith(" It still has a default of either kind (a liquidity default or an uncured "
                            "covenant breach, as lenders count defaults) in 89.3% of the scenarios; the "
                            "lowest of any candidate is 50.0% (C).")  # fmt: skip
    assert "P5" not in why and "of the unrounded figures" in why
    by_p5 = SweepResult(None, None, None, metrics, None, Rule(prefer="p5"), 2).why()
    assert "CVaR5 NPV by +$3.00B, P5 NPV (the rule's figure) by +$1.00B, breach probability" in by_p5
    closest = "the forecast optimum's breach probability is 60.0% and its liquidity default probability "
    closest += "30.0%; the "
    # among the plans no riskier than the optimum (C's 55.0% comes with a default probability above it)
    closest += "lowest breach probability is 60.0% (milp: forecast)"
    with pytest.raises(RuleNotMet, match=re.escape(closest)):
        recommend(metrics, Rule(max_breach_prob=0.5))
    # CVaR5 at least -$16B: only A keeps it, riskier than the optimum. The nearest loosening is B's
    # limit (--min-cvar -20B), and A was not named (a sweep audit): it is, with what admits it
    with pytest.raises(RuleNotMet) as caught:
        recommend(metrics, Rule(min_cvar5_usd=-16e9))
    assert caught.value.loosen == (["--min-cvar"], "B")
    assert str(caught.value).endswith("; A keeps the limits you set, and --allow-riskier admits it as well "
                                      "(P(covenant breach) 70.0%, P(liquidity default) 25.0%)")



def more_events_of_default_case() -> pd.DataFrame:
    """The forecast optimum and two plans, A lower on P(breach) and P(liquidity default) but higher on
    P(any default) (52 % against 45 %), B lower on all three."""
    return pd.DataFrame({
        "plan": ["milp: forecast", "A", "B"], "origin": ["forecast", "stress", "variation"],
        "npv_mean_usd": [13e9, 10e9, 11e9], "npv_cvar5_usd": [-23e9, -15e9, -18e9],
        "breach_probability": [0.60, 0.55, 0.58], "default_probability": [0.30, 0.25, 0.28],
        "any_default_probability": [0.45, 0.52, 0.40],
    })  # fmt: skip

def test_a_plan_with_more_defaults_as_lenders_count_them_is_riskier_than_the_forecast_optimum():
    """On the same scenarios the forecast optimum breaches in 60 %, defaults on its cash in 30 % and
    defaults as lenders count it (a liquidity default or an uncured breach) in 45 %. A breaches in
    55 % and defaults on its cash in 25 %, both lower, but its breaches go uncured more often: a
    default of either kind in 52 %. The rule compared the first two alone and picked A, the best
    CVaR5: a plan with more events of default than the forecast optimum. It now picks B (58 %, 28 %,
    40 %), names A as outside the rule for its P(any default), and --allow-riskier still admits A,
    saying which rise it left unlimited (52 % - 45 % = 7 points)."""
    metrics = more_events_of_default_case()
    assert recommend(metrics, Rule()) == 2
    missed = conditions_missed(metrics, Rule(), 1)
    assert missed == ["P(any default) 52.0% above the forecast optimum's 45.0%"]
    words = ("breach probability, liquidity default probability and probability of any default no higher "
             "than the forecast optimum's")  # fmt: skip
    assert words in Rule().describe()  # the terminal's, summary.json's rule and why, the report's
    why = SweepResult(None, None, None, metrics, None, Rule(), 2).why()
    assert ("Better on CVaR5 NPV but outside the rule, with P(any default) above the forecast "
            "optimum's 45.0%: A (52.0%).") in why  # fmt: skip
    riskier = Rule(no_riskier_than_optimum=False)
    assert recommend(metrics, riskier) == 1
    assert ("No limit was set on the probability of any default (--allow-riskier), which it raises by "
            "7.0 pp: --max-any-default-prob would cap it.") in SweepResult(
        None, None, None, metrics, None, riskier, 1).why()  # fmt: skip
    # a limit only A meets: the hint gives the optimum's P(any default) and A's, which --allow-riskier admits
    with pytest.raises(RuleNotMet) as caught:
        recommend(metrics, Rule(min_cvar5_usd=-16e9))
    assert "its probability of any default 45.0%" in str(caught.value)
    assert str(caught.value).endswith("(P(covenant breach) 55.0%, P(liquidity default) 25.0%, P(any default) "
                                      "52.0%)")


def test_the_plans_better_but_outside_the_rule_are_grouped_by_the_conditions_they_miss():
    """The optimum breaches in 60 %, defaults on its cash in 30 % and as lenders count it in 45 %; the
    pick, B, is the best CVaR5 within (58 %, 28 %, 40 %). A1, A2 and A3 are better but breach and
    default as lenders count it more than the optimum (70 %/50 %, 80 %/55 %, 65 %/46 %); D is better
    but defaults on its cash in 31 %, above a --max-default-prob of 30.5 % as well as the optimum's
    30 %. The sentence said "above the forecast optimum's" beside every figure (twice a plan on the
    default sweep, six plans): each set of conditions missed is now said once, then each plan with its
    figures in that order."""
    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "A1", "B", "A2", "D", "A3"],
        "origin": ["forecast", "stress", "variation", "stress", "stress", "variation"],
        "npv_mean_usd": [13e9, 10e9, 11e9, 10e9, 10e9, 10e9],
        "npv_cvar5_usd": [-23e9, -15e9, -18e9, -16e9, -17e9, -14e9],
        "breach_probability": [0.60, 0.70, 0.58, 0.80, 0.55, 0.65],
        "default_probability": [0.30, 0.25, 0.28, 0.20, 0.31, 0.30],
        "any_default_probability": [0.45, 0.50, 0.40, 0.55, 0.44, 0.46],
    })  # fmt: skip
    rule = Rule(max_default_prob=0.305)
    assert recommend(metrics, rule) == 2
    why = SweepResult(None, None, None, metrics, None, rule, 2).why()
    said = ("Better on CVaR5 NPV but outside the rule, with P(covenant breach) and P(any default) above the "
            "forecast optimum's 60.0% and 45.0%: A1 (70.0%, 50.0%); A2 (80.0%, 55.0%); A3 (65.0%, 46.0%); "
            "with P(liquidity default) above 30.5%, P(liquidity default) above the forecast optimum's 30.0%: "
            "D (31.0%, 31.0%).")  # fmt: skip
    assert said in why
    assert why.count("above the forecast optimum's") == 2


def test_a_buffer_that_never_acted_is_not_listed_as_better_but_outside_the_rule():
    """At most 65 % breaches: the forecast optimum (CVaR5 -$15B) breaches in 70 % and misses the rule,
    which picks B (-$20B, 60 %). Its $30M cash buffer never acted (every figure the optimum's): the
    sentence of plans better but outside the rule named it, "milp: forecast, cash buffer $30.0M
    (70.0%)", though the next names the optimum as missing the rule. It is left out; the $60M buffer,
    which acted (-$14B, 72 %), is still listed."""
    buffered = "milp: forecast, cash buffer "
    metrics = pd.DataFrame({
        "plan": ["milp: forecast", f"{buffered}$30.0M", "B", f"{buffered}$60.0M"],
        "origin": ["forecast", "policy", "stress", "policy"],
        "npv_mean_usd": [13e9, 13e9, 11e9, 12.5e9], "npv_cvar5_usd": [-15e9, -15e9, -20e9, -14e9],
        "breach_probability": [0.70, 0.70, 0.60, 0.72], "default_probability": [0.25, 0.25, 0.20, 0.24],
    })  # fmt: skip
    rule = Rule(max_breach_prob=0.65)
    assert recommend(metrics, rule) == 2
    idle = [False, True, False, False]
    why = SweepResult(None, None, None, metrics, None, rule, 2, idle=idle).why()
    assert ("Better on CVaR5 NPV but outside the rule, with P(covenant breach) above 65.0%, P(covenant "
            "breach) above the forecast optimum's 70.0%: milp: forecast, cash buffer $60.0M (72.0%, 72.0%). "
            "The forecast optimum itself misses the rule: P(covenant breach) 70.0% above 65.0%.") in why
    assert "$30.0M" not in why


def test_the_recommendation_is_a_point_a_topic_and_the_terminal_prints_one_a_line(tmp_path):
    """The sweep printed why it recommended its pick as one paragraph (1,500 characters on the
    default model): its points, the rule's choice, the plans it passed over and the risk left, now
    each on a line of its own; summary.json's `why` is the same points as one paragraph. The plans
    of the rule test above: B picked, A and C better on CVaR5 but outside the rule, B breaching in
    60 % of the scenarios where C breaches in 55 %."""
    metrics = rule_plans()
    result = SweepResult(None, None, None, metrics, None, Rule(), 2)
    points = result.why_points()
    assert [point.split(" ")[0] for point in points] == ["Chosen", "Better", "It"]  # its 3 topics
    assert result.why() == " ".join(points)
    code, out, err = run_cli("sweep", "tiny", "--scenarios", "20", "--candidates", "2", "--out",
                             str(tmp_path / "S"))  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("recommended: "))
    # the forecast optimum run with a $30.0M buffer: the same figures but CVaR5 NPV, $337.2k better
    assert lines[at] == "recommended: milp: forecast, cash buffer $30.0M"
    said = points_printed(lines[at + 1:])
    why = json.loads((tmp_path / "S" / "summary.json").read_text())["why"]
    assert said[0].startswith("Chosen by the rule (") and len(said) > 1 and " ".join(said) == why


def points_printed(lines: list[str]) -> list[str]:
    """The bulleted points of printed ``lines``: each from its '  - ' to the last line under it."""
    said = []
    for line in lines:
        if line.startswith("  - "):
            said.append(line.removeprefix("  - "))
        elif line.startswith("    ") and said:
            said[-1] += " " + line.strip()
        else:
            break
    return said


SETTLE = ("`fleetopt evaluate --plans runs/sweep --scenarios 4100 --seed 2 --rank-by cvar5 --max-breach-prob "
          "0.725`")


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_recommendation_points_fit_the_terminal_and_keep_a_command_whole(width):
    """Each point of a recommendation is printed wrapped at the terminal's width, its later lines
    under its first word (one 600-character line a point broke mid-word at the terminal's edge);
    the settle command in one stays on one line, whole, to be pasted; every word is there once."""
    points = ["Chosen by the rule (best CVaR5 NPV among plans with no breach or default on the forecast): "
              "against the forecast optimum it changes mean NPV by -$4.6M, CVaR5 NPV by +$5.6M.",
              f"It leads the runner-up, milp: demand slump, by $0.2M of CVaR5 NPV, within noise; {SETTLE} "
              "measures every candidate on that many fresh scenarios, without solving again."]
    lines = bulleted_lines(points, width)
    command = [line for line in lines if SETTLE in line]
    assert len(command) == 1  # whole, on one line
    assert all(len(line) <= width for line in lines if line not in command)
    assert sum(line.startswith("  - ") for line in lines) == 2 and len(lines) > 2
    assert all(line.startswith(("  - ", "    ")) for line in lines)
    assert points_printed(lines) == points


def test_recommend_raises_when_nothing_meets_the_rule():
    m = frame([(10.0, 5.0, 0.3), (12.0, 4.0, 0.2)])
    with pytest.raises(RuleError, match="no candidate"):
        recommend(m, Rule(max_breach_prob=0.1))
    with pytest.raises(RuleError):
        recommend(m, Rule(min_cvar5_usd=6.0))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_cli_a_cvar_limit_that_is_not_a_number_is_refused_before_any_work(tmp_path, value, monkeypatch):
    """--min-cvar nan was accepted and failed only after every candidate was solved and evaluated:
    now refused before the model is read (no solve is reached: generate_candidates would fail)."""
    monkeypatch.setattr("fleetopt.sweep.run.generate_candidates", lambda *a, **k: pytest.fail("solved"))
    code, _, err = run_cli("sweep", "tiny", "--min-cvar", value, "--out", str(tmp_path / "X"))
    said = f"error: Invalid value for '--min-cvar': not an amount in USD (got '{value}'"
    assert code == 2 and err.strip().startswith(said), err
    assert not (tmp_path / "X").exists()
    # a rerank's said it of "rule_changes: min_cvar5_usd": the option, as here
    code, _, err = run_cli("sweep", "--rerank", str(tmp_path / "X"), "--min-cvar", value)
    assert code == 2 and err.strip().startswith(said), err
    with pytest.raises(InputError, match=r"max_breach_prob must be between 0\.0 and 1\.0"):
        api.sweep("tiny", rule=Rule(max_breach_prob=1.5))


def test_a_rule_field_misspelt_or_written_as_its_option_is_named():
    """Rule(allow_riskier=True), the option's name, raised a bare TypeError in a notebook."""
    with pytest.raises(InputError, match=r"Rule has no field 'allow_riskier' \(its fields: prefer, .*\); "
                       r"--allow-riskier is no_riskier_than_optimum=False"):  # fmt: skip
        Rule(allow_riskier=True)
    with pytest.raises(InputError, match=r"Rule has no field 'max_breach' "):
        Rule(max_breach=0.1)


def test_a_huge_cvar_limit_is_described_in_a_few_characters():
    """$1e300 printed as 300 digits before; money below a quadrillion as the tables show it."""
    unlimited = Rule(forecast_within_limits=False, no_riskier_than_optimum=False)
    described = replace(unlimited, min_cvar5_usd=1e300).describe()
    assert described == "best CVaR5 NPV among plans with CVaR5 NPV >= $1e+300"
    described = replace(unlimited, min_cvar5_usd=-2.5e6).describe()
    assert described == "best CVaR5 NPV among plans with CVaR5 NPV >= -$2.5M"


def test_the_looser_rule_gives_the_value_the_nearest_candidate_meets():
    """The hint named the option to loosen without a value to give it (from a new user's review).
    The nearest candidate's P(breach) 0.3004 is met by 0.301 (a thousandth, rounded up), its CVaR5
    of -$88,123,456 by -88.2M (three figures, rounded down); a limit it keeps gets no value."""
    from fleetopt.sweep.rule import RuleNotMet, loosened_values, recommend

    metrics = pd.DataFrame({"plan": ["milp"], "origin": ["forecast"], FORECAST_OK: [True],
                            "breach_probability": [0.3004], "default_probability": [0.1],
                            "npv_cvar5_usd": [-88_123_456.0], "npv_mean_usd": [1.0e6]})  # fmt: skip
    rule = Rule(max_breach_prob=0.2, max_default_prob=0.5, min_cvar5_usd=-1e6)
    assert loosened_values(metrics, rule, "milp") == {"--max-breach-prob": "0.301", "--min-cvar": "-88.2M"}
    with pytest.raises(RuleNotMet) as err:
        recommend(metrics, rule)
    said = InputError.naming(*err.value.looser("fleetopt sweep --resume s"))
    assert "with --max-breach-prob 0.301 and --min-cvar -88.2M (" in said.typed()
    assert "with max_breach_prob=0.301 (--max-breach-prob 0.301) and min_cvar5_usd=-88200000.0 (" in str(said)
    met = recommend(metrics, replace(rule, max_breach_prob=0.301, min_cvar5_usd=-88.2e6))
    assert met == 0


def test_the_looser_rule_named_is_the_nearest_candidate_s():
    """A sweep no candidate of which meets its rule names the options that let the nearest one meet
    it (it named every option, and on a model whose every plan breaches on its own forecast only
    --allow-forecast-breach could help). Worked by hand: with P(breach) <= 20 %, the optimum misses
    only that limit, the policy plan only the forecast condition, the stress plan both the limit
    and "no riskier than the optimum"."""
    metrics = pd.DataFrame({
        "plan": ["milp", "buffer", "stress"], "origin": ["forecast", "policy", "stress"],
        FORECAST_OK: [True, False, True], "breach_probability": [0.5, 0.1, 0.6],
        "default_probability": [0.2, 0.1, 0.1],
    })  # fmt: skip
    rule = Rule(max_breach_prob=0.2)
    assert loosening_options(metrics, rule) == (["--max-breach-prob"], "milp")
    # ties: one that misses only limits before one that misses a condition, whatever the order
    assert loosening_options(metrics.iloc[[1, 2, 0]], rule) == (["--max-breach-prob"], "milp")
    # and of those, the one nearest the limit (the first listed was named: 50 % named before 30 %)
    nearer = pd.concat([metrics, metrics.iloc[[0]].assign(plan="shock", breach_probability=0.3)])
    assert loosening_options(nearer, rule) == (["--max-breach-prob"], "shock")
    assert loosening_options(nearer, Rule(max_breach_prob=0.2, forecast_within_limits=False))[1] == "buffer"
    assert loosening_options(metrics.iloc[[2]], rule) == (["--max-breach-prob"], "stress")  # no optimum
    metrics[FORECAST_OK] = False  # every plan breaches on its forecast: no limit alone can help
    assert loosening_options(metrics, rule)[0] == ["--allow-forecast-breach"]
    both = ["--allow-forecast-breach", "--max-breach-prob"]
    assert loosening_options(metrics.iloc[[0, 2]], rule)[0] == both
    assert loosening_options(metrics, Rule())[0] == ["--allow-forecast-breach"]


# ---------------------------------------------------------------- CLI and run folder


def test_cli_rule_nobody_meets_exits_2_and_keeps_the_evaluated_sweep_unfinished(tmp_path):
    """Exit 2 with one line; the folder keeps the candidates and their evaluation (a looser rule
    finishes it: tests/test_cli_robustness.py) but is not a finished run."""
    out = tmp_path / "D"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "6", "--scenarios", "200",
                           "--max-breach-prob", "0.0001", "--out", str(out))  # fmt: skip
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no candidate meets the rule"), err
    assert "Traceback" not in err
    assert "0.01%" in lines[0], f"the message should show the limit the user gave: {lines[0]}"
    assert (out / "job.json").exists() and not (out / "summary.json").exists()
    assert run_cli("runs")[1].startswith("no runs recorded")


def test_sweep_run_folder_files(tiny_sweep, tmp_path):
    folder = api.write_sweep_run(tiny_sweep, tmp_path / "S")
    assert {p.name for p in folder.iterdir()} >= SWEEP_FILES
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["kind"] == "sweep" and summary["recommended"] == tiny_sweep.recommended["plan"]
    candidates = pd.read_csv(folder / "candidates.csv")
    front = pd.read_csv(folder / "front.csv")
    assert len(candidates) == len(tiny_sweep.metrics)
    assert sorted(front["plan"]) == sorted(summary["front"])
    assert front["on_front"].all()


def test_cli_sweep_run_folder(tmp_path):
    out = tmp_path / "C"
    code, printed, err = run_cli("sweep", "tiny", "--candidates", "3", "--scenarios", "50", "--out", str(out))
    assert code == 0, err
    # the table's NPVs said no rate nor horizon (tiny: 8 quarters at 15 % a year)
    assert ("candidates, over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at 15% a "
            "year, USD)") in " ".join(printed.split())
    assert {p.name for p in out.iterdir()} >= SWEEP_FILES
    assert not (out / "chunks").exists()
    summary = json.loads((out / "summary.json").read_text())
    candidates = pd.read_csv(out / "candidates.csv")
    assert len(candidates) == summary["candidates_feasible"] <= 3
    assert candidates.loc[candidates["recommended"], "plan"].tolist() == [summary["recommended"]]


# ---------------------------------------------------------------- one built model, re-solved


def test_stress_solves_reuse_one_built_model(monkeypatch):
    _, data = api.load("tiny")
    planner = PersistentPlanner(data, mip_gap=1e-6)
    model = planner.m
    base = planner.solve_stress(None)
    price_shock = next(s for s in default_stresses(data) if "price" in s.name)
    shocked = planner.solve_stress(price_shock)
    again = planner.solve_stress(None)
    assert planner.m is model
    assert base.status == again.status == "optimal" and shocked.status == "optimal"
    assert shocked.objective_usd < base.objective_usd - 1e3
    assert again.objective_usd == pytest.approx(base.objective_usd, rel=1e-7, abs=1.0)
    np.testing.assert_allclose(again.plan.buy_blocks, base.plan.buy_blocks)
    np.testing.assert_allclose(again.plan.build_blocks, base.plan.build_blocks)
    # the forecast optimum of a freshly built model is the same
    assert api.solve("tiny", mip_gap=1e-6).objective_usd == pytest.approx(base.objective_usd, rel=1e-6)

    builds = []
    real = persistent.build_model

    def counting(*args, **kwargs):
        builds.append(kwargs.get("robustness"))
        return real(*args, **kwargs)

    monkeypatch.setattr(persistent, "build_model", counting)
    cands = generate_candidates(data, 8)
    assert builds[0] is None and len(builds) == 2, "stresses and variations re-solve one built model"
    assert builds[1].lose_any_customer  # the robust candidate needs its own constraints
    assert sum(c.origin == "stress" for c in cands.candidates) >= 2
    assert [c.origin for c in cands.candidates].count("robust") == 1


# ---------------------------------------------------------------- the power limit


def powered_model() -> dict:
    """A site that must build power to grow: 0.5 MW now, 1 MW blocks a quarter after they start."""
    d = base_model()
    d["name"] = "powered"
    d["horizon"]["quarters"] = 6
    d["sites"]["s1"]["power_capacity_mw"] = 0.5
    d["sites"]["s1"]["expansion"] = {
        "block_mw": 1.0,
        "capex_per_mw_usd": 1.0e5,
        "lead_time_quarters": 1,
        "earliest_start": "2026Q1",
        "max_blocks": 3,
        "useful_life_years": 10,
    }
    d["finance"]["opening_cash_usd"] = 2.0e7
    return d


@pytest.mark.parametrize("which", ["tiny", "powered"])
def test_every_feasible_candidate_respects_the_power_limit(which):
    data = api.load("tiny")[1] if which == "tiny" else data_of(powered_model())
    cands = generate_candidates(data, 20)
    assert len(cands.feasible) >= 4
    for c in cands.feasible:
        st = plan_statements(data, c.plan)
        for site in data.sites:
            used = np.asarray(st.lines[f"mw_used_{site.name}"], dtype=float)
            available = np.asarray(st.lines[f"mw_available_{site.name}"], dtype=float)
            over = used - available
            assert (over <= 1e-6).all(), (c.label, site.name, over.max())


def test_the_rise_the_explanation_points_out_is_rounded_as_the_probabilities_beside_it():
    """1,090 and 1,251 of 2,000 scenarios breach: 54.5 % and 62.6 % (format_percent, half up), a rise
    of 161 of 2,000, 8.05 points. The explanation said 'raises by 8.0 pp' (float formatting of
    8.0499...) beside 'from 54.5% to 62.6%'; it now reads 8.1 pp, as format_difference writes it."""
    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "milp: price shock"], "origin": ["forecast", "stress"],
        "npv_mean_usd": [13e9, 10e9], "npv_cvar5_usd": [-23e9, -16e9],
        "breach_probability": [1090 / 2000, 1251 / 2000], "default_probability": [0.30, 0.30],
    })  # fmt: skip
    why = SweepResult(None, None, None, metrics, None, Rule(no_riskier_than_optimum=False), 1).why()
    assert "breach probability from 54.5% to 62.6%" in why
    assert "which it raises by 8.1 pp: --max-breach-prob" in why


def test_the_explanation_points_out_a_risk_the_rule_left_unlimited():
    """The pick raises P(breach) from 60 % to 88 % (+28 pp, over the 5 pp worth saying) and
    P(default) from 30 % to 32 % (+2 pp, not): with no breach limit the explanation says so and
    names the option; with one it does not."""
    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "milp: price shock"], "origin": ["forecast", "stress"],
        "npv_mean_usd": [13e9, 10e9], "npv_cvar5_usd": [-23e9, -16e9],
        "breach_probability": [0.60, 0.88], "default_probability": [0.30, 0.32],
    })  # fmt: skip
    riskier = Rule(no_riskier_than_optimum=False)
    assert recommend(metrics, riskier) == 1 and recommend(metrics, Rule()) == 0
    unlimited = SweepResult(None, None, None, metrics, None, riskier, 1).why()
    assert ("with no limit on the breach probability, liquidity default probability or probability of any "
            "default in the scenarios") in unlimited  # fmt: skip
    assert "liquidity default probability from 30.0% to 32.0%" in unlimited
    said = (
        "No limit was set on the breach probability (--allow-riskier), which it raises by 28.0 pp: "
        "--max-breach-prob"
    )
    assert said in unlimited
    assert "--max-default-prob" not in unlimited
    limited = SweepResult(None, None, None, metrics, None, replace(riskier, max_breach_prob=0.9), 1).why()
    assert "No limit was set" not in limited and "breach probability <= 90%" in limited


def test_the_collateral_haircut_follows_the_resale_values_tied_to_prices():
    """Resale values tied to rental prices (`risk.resale_swing_share`) move with them, not only on
    their own walk: the haircut is the drawn factor's 5 % quantile after a year. Tied in full (w 1)
    to a price random walk of 0.20 a year (one for every generation, no slope, no self-competition)
    with no walk of their own, resale values are that walk, lognormal: exp(-1.645 x 0.20 - 0.02) =
    0.705, the 29.5 % haircut of an own walk of 0.20, within the draws' error; it read 0 before (the
    own walk's volatility alone). Untied, the own walk's formula, exactly."""
    d = tiny_model()  # its GPU-backed facility's max_ltv: a borrowing base to haircut
    d["risk"] = {"price_volatility_annual": 0.2, "price_correlation_across_generations": 1.0,
                 "resale_value_volatility_annual": 0.0, "resale_swing_share": 1.0}  # fmt: skip
    lognormal = 1.0 - np.exp(-1.6448536 * 0.2 - 0.02)
    assert collateral_haircut(data_of(d)) == pytest.approx(lognormal, abs=0.004)
    d["risk"] = {"resale_value_volatility_annual": 0.2}
    assert collateral_haircut(data_of(d)) == pytest.approx(lognormal, rel=1e-6)
    # a certain 30 % resale shock from the first quarter, no walk: every draw is 0.7 after a year (the
    # own walk's formula read 0: no volatility); with the walk, the walk's 5 % quantile x 0.7
    d["risk"] = {"resale_value_volatility_annual": 0.0, "resale_shock": {"value_drop": 0.3}}
    assert collateral_haircut(data_of(d)) == pytest.approx(0.3, rel=1e-12)
    d["risk"] = {"resale_value_volatility_annual": 0.2, "resale_shock": {"value_drop": 0.3}}
    assert collateral_haircut(data_of(d)) == pytest.approx(1.0 - 0.7 * (1.0 - lognormal), abs=0.004)


def test_the_collateral_haircut_stress_solves_for_a_loan_within_the_haircut_base():
    """`tiny`'s resale volatility is 0.20 a year: the resale factor's 5 % quantile after one year is
    exp(-1.645 x 0.20 - 0.20² / 2) = 0.705, a 29.5 % haircut. The forecast optimum needs the whole
    fleet's resale value as collateral in most quarters (any fall in GPU values breaches its base);
    solved under the haircut, the plan needs at most 70.5 % of it in every quarter."""
    _, data = api.load("tiny")
    haircut = collateral_haircut(data)
    assert haircut == pytest.approx(1.0 - np.exp(-1.6448536 * 0.2 - 0.02), rel=1e-6)
    assert round(haircut, 3) == 0.295
    stress = next(s for s in default_stresses(data) if s.name == "stress: collateral haircut")
    assert stress.collateral_scale == pytest.approx(1.0 - haircut)
    planner = PersistentPlanner(data)
    used = {}
    for name, which in (("forecast", None), ("haircut", stress)):
        plan = planner.solve_stress(which).plan
        used[name] = plan_statements(data, plan).lines["borrowing_base_used"]
    assert used["forecast"].max() == pytest.approx(1.0, abs=1e-6)
    # the haircut is met by financing (more prepaid, here), which a variation completed on the
    # forecast would undo: the sweep varies no haircut plan
    sweep = api.sweep("tiny", candidates=20, scenarios=10, seed=1)
    labels = [c.label for c in sweep.candidates.candidates]
    assert "milp: collateral haircut" in labels
    assert not any(label.startswith("milp: collateral haircut,") for label in labels)
    assert used["haircut"].max() == pytest.approx(1.0 - haircut, abs=1e-6)
    # back to the forecast: the haircut does not stay on the built model
    planner.apply(None)
    assert all(p.value == 1.0 for p in planner.m.collateral_scale.values())


def test_a_plan_that_breaches_on_its_own_forecast_is_not_recommended_unless_allowed():
    """Plan B has the best CVaR5 (-$10M against -$20M) but breaches its borrowing base on the
    forecast itself (a cash buffer that cut the prepayments keeping the base): the default rule
    picks A and says why B was left out; a rule allowing forecast breaches picks B."""
    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "milp: forecast, cash buffer $60.0M"], "origin": ["forecast", "policy"],
        "npv_mean_usd": [5e6, 8e6], "npv_cvar5_usd": [-20e6, -10e6], "npv_p5_usd": [-15e6, -8e6],
        "breach_probability": [0.5, 1.0], "default_probability": [0.0, 0.0],
        FORECAST_OK: [True, False],
    })  # fmt: skip
    assert recommend(metrics, Rule()) == 0
    why = SweepResult(None, None, None, metrics, None, Rule(), 0).why()
    # B breaches more often than the optimum too: --allow-forecast-breach alone does not admit it (it
    # read as if it did: a re-rank with it alone picked the optimum again, B not named)
    assert (
        "Not considered, as they breach a covenant or default on the forecast itself: milp: forecast, "
        "cash buffer $60.0M (also P(covenant breach) 100.0% above the forecast optimum's 50.0%) "
        "(--allow-forecast-breach considers them)" in why
    )
    alone = metrics.assign(breach_probability=[0.5, 0.5])  # B misses nothing else: named alone
    assert "cash buffer $60.0M (--allow-forecast-breach" in SweepResult(None, None, None, alone, None,
                                                                        Rule(), 0).why()  # fmt: skip
    assert "Better on CVaR5" not in why  # B is named once, by the sentence above
    allow = Rule(forecast_within_limits=False, no_riskier_than_optimum=False)  # B breaches more, too
    assert recommend(metrics, allow) == 1
    assert recommend(metrics, Rule(forecast_within_limits=False)) == 0
    allowed = SweepResult(None, None, None, metrics, None, allow, 1).why()
    assert (
        "It breaches a covenant or defaults on the forecast itself (allowed by --allow-forecast-breach)"
        in allowed
    )
    with pytest.raises(RuleNotMet, match="every candidate breaches a covenant or defaults on the forecast"):
        recommend(metrics.assign(**{FORECAST_OK: [False, False]}), Rule())


def test_tiny_s_cash_buffer_plans_keep_their_borrowing_base_on_the_forecast(tmp_path):
    """`tiny`'s forecast optimum prepays its loan to stay within 70 % of the fleet's resale value;
    run with a $30M or $60M cash buffer it used to keep that debt and breach the borrowing base on
    the forecast itself. A buffer never cuts a prepayment the base needs (docs/evaluation.md,
    policy rule 3): every candidate keeps its limits on the forecast and none is marked '!'."""
    folder = tmp_path / "S"
    code, out, err = run_cli("sweep", "tiny", "--candidates", "3", "--scenarios", "150", "--out", str(folder))
    assert code == 0, err
    table = pd.read_csv(folder / "candidates.csv").set_index("plan")
    buffered = [p for p in table.index if "cash buffer" in p]
    assert buffered and table[FORECAST_OK].all()
    marked = [line for line in out.splitlines() if line.startswith("│") and "!" in line.split("│")[1]]
    assert marked == []


def test_the_dropped_candidates_are_told_apart_by_why_they_have_no_plan():
    """An infeasible stress optimum has no plan under its stress; an infeasible variation breaks a
    hard limit once completed; they used to share the second reason."""
    made = [
        Candidate("milp: forecast", "forecast", "optimal", plan=object()),
        Candidate("milp: late power", "stress", "infeasible"),
        Candidate("milp: forecast, volumes x0.75", "variation", "infeasible"),
        Candidate("milp: demand slump", "stress", "duplicate", same_as="milp: forecast"),
    ]
    result = SimpleNamespace(candidates=SimpleNamespace(candidates=made), metrics=[None])
    assert candidate_counts(result).splitlines() == [
        "4 candidates made, 1 evaluated, 3 dropped:",
        "  - milp: late power: no plan keeps the hard limits under its stress or requirement",
        "  - milp: forecast, volumes x0.75: breaks a hard limit once completed by the MILP",
        "  - milp: demand slump: the same plan as milp: forecast",
    ]
    # at 60 columns each wrapped under its first word, not broken mid-word at the terminal's edge
    assert candidate_counts(result, 60).splitlines()[1:4] == [
        "  - milp: late power: no plan keeps the hard limits under",
        "    its stress or requirement",
        "  - milp: forecast, volumes x0.75: breaks a hard limit once",
    ]



def _power_bound_model() -> dict:
    """base_model at 10 MW, its GPUs drawing full power even idle (idle_power_fraction 1): the
    forecast optimum buys 10,000 1-kW GPUs in 2026Q1 (each earns $8,760 a year for $4,000), and its
    x1.25 variation holds 12,500 in the quarter they arrive, 12.5 MW against 10 MW."""
    d = base_model()
    d["skus"]["A"]["idle_power_fraction"] = 1.0
    d["sites"]["s1"]["power_capacity_mw"] = 10.0
    return d


def test_a_dropped_variation_names_the_limit_it_breaks_with_its_quarter_and_amount(tmp_path):
    """The sweep said 'breaks a hard limit once completed by the MILP' of 18 of the default model's
    42 candidates and never which: a planner could not tell why a candidate was missing. Now the
    LP of the relaxed model names it, as the candidate is made, in summary.json, in the count of
    candidates (the terminal's), and in candidates.json, which a resume reads back."""
    from fleetopt.sweep.candidate_record import dropped_words
    from fleetopt.sweep.result import LISTED_FIELDS
    from fleetopt.sweep.run import _listed_candidate

    said: list[str] = []
    made = generate_candidates(data_of(_power_bound_model()), 10, progress=said.append)
    (dropped,) = [c for c in made.candidates if c.status == "infeasible"]
    assert dropped.label == "milp: forecast, volumes x1.25"
    assert dropped.broken == "power: site s1 in 2026Q1 short by 2.5 MW"
    why = "breaks a hard limit once completed by the MILP: power: site s1 in 2026Q1 short by 2.5 MW"
    assert dropped_words(dropped) == why
    assert f"milp: forecast, volumes x1.25: dropped: {why}" in said
    counts = candidate_counts(SimpleNamespace(candidates=made, metrics=[None] * len(made.feasible)))
    assert f"  - milp: forecast, volumes x1.25: {why}" in counts.splitlines()
    listed = {name: getattr(dropped, name) for name in LISTED_FIELDS}
    assert _listed_candidate(listed, "candidates.json") == dropped
    result = api.sweep(load(_power_bound_model()), candidates=7, scenarios=20, seed=1)
    assert {"plan": "milp: forecast, volumes x1.25", "status": "infeasible", "why": why} in (
        result.summary()["dropped"]
    )


def _anchor_model(serves: str) -> dict:
    """base_model at 0.2 MW (200 of its 1-kW GPUs) with a Blackwell SKU B at $20,000 a GPU, which the
    $1 market never pays back ($8,760 a year, worth nothing after one), and a signed contract of
    lab's for 100 GPUs of ``serves`` over the four quarters at $0.10/GPU-hour, with no penalty for
    walking away: the lost-anchor stress's optimum serves it with none."""
    d = base_model()
    d["skus"]["B"] = {**d["skus"]["A"], "generation": "blackwell", "capex_per_gpu_usd": 20000.0}
    d["sites"]["s1"]["power_capacity_mw"] = 0.2
    d["contracts"] = {"anchor": {"customer": "lab", "use": "training", "eligible_skus": [serves], "gpus": 100,
                                 "start": "2026Q1", "term_quarters": 4, "price_usd_per_gpu_hour": 0.1,
                                 "signed": True}}  # fmt: skip
    return d


def test_the_sweep_never_recommends_walking_away_from_a_signed_contract():
    """The lost-anchor stress's optimum put anchor's 100 GPUs on the $1 market instead of the $0.10
    contract; run on the forecast, where lab stays, it served the signed contract with none, paid
    no penalty, earned more than the forecast optimum and was recommended. A signed contract must
    be served (`signed`), as every MILP plan does: such a plan's purchases are now completed on the
    forecast, serving it. Here the same 200 GPUs serve it: the forecast optimum again."""
    from fleetopt.sweep.candidate_record import signed_short

    data = data_of(_anchor_model("A"))
    (lost,) = [s for s in default_stresses(data) if s.contracts_lost]
    assert signed_short(data, PersistentPlanner(data).solve_stress(lost).plan) == ["anchor"]
    result = api.sweep(load(_anchor_model("A")), candidates=4, scenarios=50, seed=1)
    made = _candidate(result, "milp: lost anchor customer")
    assert (made.status, made.same_as) == ("duplicate", "milp: forecast")
    assert "its plan served signed anchor short, so its purchases and power blocks were" in made.note
    assert all(signed_short(data, c.plan) == [] for c in result.candidates.feasible)
    assert result.summary()["recommended"] == "milp: forecast"


def test_no_stress_reads_a_contract_scale_back():
    """docs/cli.md's sweep, item 3: a scale-back is hedged by the stochastic candidate and the lost
    anchor's stress; the stress forecasts are those of the model without it, parameter for parameter."""
    cut = {"lab-a-training": {"share_kept": 0.6, "from_quarter": "2027Q1", "probability": 0.5}}
    plain = all_stresses(api.load("tiny")[1])
    with_cut = all_stresses(api.load(api.edit("tiny", {"risk.contract_scale_back": cut}))[1])
    assert [s.name for s in with_cut] == [s.name for s in plain]
    for a, b in zip(plain, with_cut, strict=True):
        assert repr(a) == repr(b)


def test_a_stress_optimum_whose_purchases_cannot_serve_a_signed_contract_is_dropped_naming_it():
    """Only B serves anchor, and the lost-anchor optimum buys none (B never pays on the market):
    completed on the forecast it is 100 GPUs short in each quarter of the term, and is dropped
    saying so rather than evaluated as a plan that walks away."""
    from fleetopt.sweep.candidate_record import dropped_words

    made = generate_candidates(data_of(_anchor_model("B")), 6)
    (lost,) = [c for c in made.candidates if c.label == "milp: lost anchor customer"]
    assert lost.plan is None and dropped_words(lost) == (
        "breaks a hard limit once completed by the MILP: contract delivery: contract anchor in 2026Q1 short "
        "by 100 GPUs (in 2026Q1..2026Q4)"
    )


def test_a_dropped_stress_optimum_whose_limit_the_probe_cannot_name_says_it_timed_out(monkeypatch):
    """On a loaded machine the probe that names the broken limit can run out of its 5 s: the default
    sweep then said 'breaks a hard limit once completed by the MILP: no limit named', as if none
    were broken. It now says the diagnosis found none in its time, and which contracts went short."""
    from fleetopt.milp.diagnose import CompletionProbe
    from fleetopt.sweep.candidate_record import dropped_words

    monkeypatch.setattr(CompletionProbe, "broken", lambda self, *a, **k: [])  # as at its time limit
    made = generate_candidates(data_of(_anchor_model("B")), 6)
    (lost,) = [c for c in made.candidates if c.label == "milp: lost anchor customer"]
    assert lost.plan is None and dropped_words(lost) == (
        "breaks a hard limit once completed by the MILP: which one, the diagnosis did not find in its 5 s; "
        "its plan had served signed anchor short"
    )


# ---------------------------------------------------------------- your purchases as candidates


def _orders(folder, name: str = "later.csv", row: str = "2026Q4,B200,texas,2000"):
    """tiny's optimum buys 2,000 B200 in 2026Q3; these orders buy them a quarter later."""
    path = folder / name
    path.write_text(f"quarter,sku,site,gpus\n{row}\n")
    return path


def _candidate(result, label):
    (found,) = [c for c in result.candidates.candidates if c.label == label]
    return found


def test_your_purchases_are_a_candidate_with_the_rest_the_forecasts_best(tmp_path):
    """A proposal is made right after the forecast optimum: exactly its purchases (250 blocks in
    2026Q4, none in 2026Q3), and it is worth what `solve --purchases` finds for them."""
    later = _orders(tmp_path)
    result = api.sweep("tiny", candidates=3, scenarios=50, seed=1, purchases=[later])
    labels = [c.label for c in result.candidates.candidates]
    assert labels[:2] == ["milp: forecast", "yours: later.csv"]
    mine = _candidate(result, "yours: later.csv")
    assert mine.origin == "proposal" and "2,000 GPUs from" in mine.note
    expected = np.zeros_like(mine.plan.buy_blocks)
    expected[1, 0, 1] = 250
    np.testing.assert_array_equal(mine.plan.buy_blocks, expected)
    solved = api.solve("tiny", purchases=later)
    assert mine.forecast_npv_usd == pytest.approx(solved.objective_usd, rel=1e-4)
    assert "yours: later.csv" in result.metrics["plan"].tolist()
    (kept,) = result.summary()["proposals"]
    assert (kept["plan"], kept["status"]) == ("yours: later.csv", mine.status) and "later.csv" in kept["note"]


def test_your_purchases_that_break_a_covenant_are_rescued_evaluated_and_not_recommended(tmp_path):
    """1,000 B200 in 2026Q3 miss tiny's 1.4x DSCR in 2028Q1-Q2 (test_purchases): the sweep dropped
    them. Now they are completed with the rescue, evaluated with the others, marked as breaching on
    their own forecast, and the rule passes them over."""
    small = _orders(tmp_path, "small.csv", "2026Q3,B200,texas,1000")
    result = api.sweep("tiny", candidates=3, scenarios=50, seed=1, purchases=[small])
    mine = _candidate(result, "yours: small.csv")
    assert mine.status == "rescued" and mine.plan is not None
    broken = "EBITDA / debt service >= 1.4x on the forecast in 2028Q1, 2028Q2, without the revolver"
    assert broken in mine.note
    row = result.metrics.set_index("plan").loc["yours: small.csv"]
    assert not row[FORECAST_OK] and not row["recommended"]
    assert "yours: small.csv" not in [d["plan"] for d in result.summary()["dropped"]]


def test_a_resumed_sweep_makes_your_proposal_from_its_job_file(tmp_path):
    """Stopped before the proposal was made, and the file since deleted: job.json keeps its text."""
    later, folder = _orders(tmp_path), tmp_path / "sweep"

    def stop_after_the_forecast(line: str) -> None:
        if line.startswith("milp: forecast"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", candidates=2, scenarios=20, folder=folder, purchases=[later],
                  candidate_progress=stop_after_the_forecast)  # fmt: skip
    later.unlink()
    result = api.resume_sweep(folder)
    mine = _candidate(result, "yours: later.csv")
    assert mine.origin == "proposal" and mine.plan.buy_blocks[1, 0, 1] == 250


@pytest.mark.parametrize(
    "files, candidates, message",
    [
        # the terminal names each argument by its option alone (the API: "candidates (--candidates)")
        (["later.csv"], 1, "error: --candidates must be at least 2: the forecast optimum and each of "
         "--purchases (got 1)"),
        (["later.csv", "a/later.csv"], 5, "error: --purchases files must have different file names"),
        (["bad.csv"], 3, "sku 'B300' is none of the SKUs of model"),
    ],
)
def test_cli_sweep_refuses_purchases_it_cannot_use_before_any_work(tmp_path, files, candidates, message):
    (tmp_path / "a").mkdir()
    _orders(tmp_path), _orders(tmp_path / "a"), _orders(tmp_path, "bad.csv", "2026Q4,B300,texas,8")
    args = [arg for f in files for arg in ("--purchases", str(tmp_path / f))]
    code, out, err = run_cli(
        "sweep", "tiny", "--candidates", str(candidates), *args, "--out", str(tmp_path / "S")
    )
    assert code == 2 and message in err, out + err
    assert not (tmp_path / "S").exists()


def test_proposals_come_after_the_stochastic_plan_and_need_room(tmp_path):
    """--candidates 2 --stochastic 5 --purchases F made the forecast optimum and F: the stochastic
    plan was dropped without a word."""
    from fleetopt.sweep.candidates import check_proposals

    fixed = api.read_purchases(_orders(tmp_path), "tiny")
    with pytest.raises(InputError, match="at least 3: the forecast optimum, the stochastic plan and each"):
        check_proposals([fixed], 2, stochastic=5)
    check_proposals([fixed], 3, stochastic=5)


def test_cli_sweep_resume_refuses_purchases(tmp_path):
    """--purchases beside --resume was silently ignored (a missing file too)."""
    code, out, err = run_cli("sweep", "--resume", str(tmp_path), "--purchases", str(tmp_path / "nowhere.csv"))
    assert code == 2 and "--purchases" in err and "cannot apply with --resume" in err, out + err


def test_the_why_says_when_the_forecast_optimum_itself_misses_the_rule():
    """With --max-breach-prob 0.6 the pick's CVaR5 is worse than the forecast optimum's, which the
    sentence did not explain: the optimum itself breaches in more than 60 % of futures."""
    result = api.sweep("tiny", candidates=8, scenarios=200, rule=Rule(max_breach_prob=0.6))
    breach = result.forecast_optimum["breach_probability"]
    assert breach > 0.6
    said = f"The forecast optimum itself misses the rule: P(covenant breach) {breach:.1%} above 60.0%."
    assert said in result.why()


def test_the_limits_a_row_misses_in_words():
    """A row breaching in 87.5 % with a CVaR5 of -$90M against limits of 60 % and -$85M: both missed,
    each with its value and the limit; within them, none."""
    from fleetopt.sweep.rule import limits_missed

    row = pd.Series({"breach_probability": 0.875, "default_probability": 0.0, "npv_cvar5_usd": -90e6})
    rule = Rule(max_breach_prob=0.6, min_cvar5_usd=-85e6)
    assert limits_missed(row, rule) == ["P(covenant breach) 87.5% above 60.0%",
                                        "CVaR5 NPV -$90.0M below -$85.0M"]
    assert limits_missed(row, Rule(max_breach_prob=0.9)) == []


def test_the_closest_hint_names_only_plans_the_rule_would_consider():
    """The highest CVaR5 was the $60M-buffer plan's, which breaches on its own forecast: loosening
    --min-cvar to it would still leave it out. The hint names the best plan within its limits."""
    from fleetopt.sweep.rule import closest

    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "buffer $60M"], "forecast_within_limits": [True, False],
        "breach_probability": [0.875, 1.0], "default_probability": [0.0, 0.0],
        "npv_cvar5_usd": [-88e6, -85e6],
    })  # fmt: skip
    hint = closest(metrics, Rule(min_cvar5_usd=-80e6, no_riskier_than_optimum=False))
    assert hint == "the highest CVaR5 NPV is -$88.0M (milp: forecast)"


def test_the_planners_stresses_print_nothing_from_highs(capfd):
    """A stress that sets a coefficient to 0 (late power, a lost customer) made HiGHS print
    'WARNING: |Value| of 0 supplied to Highs::changeCoeff' on the process's stdout, 16 lines in a
    sweep of tiny (README's Python example among them): piped output was polluted."""
    _, data = api.load("tiny")
    planner = PersistentPlanner(data)
    for stress in default_stresses(data):
        planner.solve_stress(stress)
    planner.solve_stress(None)
    out, err = capfd.readouterr()
    assert "changeCoeff" not in out + err


def test_a_candidate_says_the_gap_its_solve_stopped_at():
    """On lab a stress optimum beat 'milp: forecast' on the forecast by $0.4M, within the forecast
    solve's 0.4 % gap, while the sweep called it 'optimal': each candidate's line and note now say
    the gap where it shows, and a resumed sweep reads it back from candidates.json."""
    from fleetopt.sweep.candidate_record import Candidate
    from fleetopt.sweep.candidates import within_gap
    from fleetopt.sweep.run import _listed_candidate

    assert within_gap(0.0041) == " (within 0.41%: the solve's relative gap)"
    assert within_gap(0.00004) == within_gap(None) == ""  # 0.00% would say nothing
    listed = {"label": "milp: forecast", "origin": "forecast", "status": "optimal", "note": "n",
              "forecast_npv_usd": 1.0, "liquidity_buffer_usd": None, "gap": 0.0041}  # fmt: skip
    expected = Candidate("milp: forecast", "forecast", "optimal", None, 1.0, "n", gap=0.0041)
    assert _listed_candidate(listed, "candidates.json") == expected
    del listed["gap"]  # a sweep saved before candidates kept their gap
    assert _listed_candidate(listed, "candidates.json").gap is None


def test_a_buffer_that_never_acts_is_not_another_point_of_the_front():
    """On lab both cash-buffer candidates had every figure of the forecast optimum (their buffer
    never acted in the sweep's scenarios) and all three were starred on the front."""
    from fleetopt.sweep.recommendation import idle_buffers

    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "buffer A", "buffer B", "stress"],
        "origin": ["forecast", "policy", "policy", "stress"],
        "npv_mean_usd": [10.0, 10.0, 9.0, 10.0], "npv_cvar5_usd": [-5.0, -5.0, -4.0, -5.0],
        "sold_share": [0.1, 0.1, 0.0, 0.1], "npv_p5_usd": [np.nan, np.nan, np.nan, np.nan],
    })  # fmt: skip
    figures = ["npv_mean_usd", "npv_cvar5_usd", "sold_share", "npv_p5_usd"]
    assert idle_buffers(metrics, figures).tolist() == [False, True, False, False]  # a stress twin is its own
    assert not idle_buffers(metrics[metrics.origin != "forecast"], figures).any()  # no optimum: none


# ---------------------------------------------------------------- a finished sweep re-ranked


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    """A tiny sweep finished by the CLI with its default rule, and its files' bytes."""
    folder = tmp_path_factory.mktemp("finished") / "S"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "5", "--scenarios", "200", "--out", str(folder))
    assert code == 0, err
    return folder, {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_finished_sweep_reranked_picks_by_the_new_rule_from_its_own_figures(finished_sweep, tmp_path):
    """No limits and the mean preferred: the pick is the candidate of highest mean NPV in the
    sweep's own candidates.csv; every figure is the sweep's, its folder is left as it was, and the
    new run names it and keeps the rule's fields (so it can be re-ranked in turn). The sweep's
    second round (its pick's buffers) is left out: this rule's pick, a buffer of the forecast
    optimum, has none, and the front is found among the rest."""
    folder, files = finished_sweep
    before = pd.read_csv(folder / "candidates.csv")
    second = json.loads(files["summary.json"])["second_round"]
    assert len(second) == 3  # the pick's two buffers run, and the one of them its forecast can plan
    unlimited = {"prefer": "mean", "forecast_within_limits": False, "no_riskier_than_optimum": False}
    result = api.rerank_sweep(folder, unlimited)
    assert result.recommended["plan"] == before.loc[before["npv_mean_usd"].idxmax(), "plan"]
    out = api.write_sweep_run(result, tmp_path / "R")
    after = pd.read_csv(out / "candidates.csv")
    first = before[~before["plan"].isin(second)]
    pd.testing.assert_frame_equal(after.drop(columns=["recommended", "on_front"]),
                                  first.drop(columns=["recommended", "on_front"]))  # fmt: skip
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reranked_from"] == str(folder.resolve())
    assert summary["rule_settings"] == {**vars(Rule()), **unlimited}
    listed = json.loads(files["candidates.json"])
    assert json.loads((out / "candidates.json").read_text()) == [c for c in listed if not c["second_round"]]
    again = api.rerank_sweep(out, {"max_breach_prob": 1.0})  # the fields it kept, one changed
    assert vars(again.rule) == {**vars(Rule()), **unlimited, "max_breach_prob": 1.0}
    assert again.recommended["plan"] == result.recommended["plan"]


def test_the_report_s_recommendation_is_the_why_without_its_last_point(finished_sweep):
    """The report says how sure the pick is in its "In short", so its Recommendation gives the
    points before that: summary.json keeps them apart, not found again by searching the paragraph's
    words. A summary written before it kept them gives its whole why."""
    from fleetopt.sweep.recommendation import why_without_lead

    summary = json.loads(finished_sweep[1]["summary.json"])
    before = " ".join(summary["why_before_lead"])
    assert why_without_lead(summary) == before and len(summary["why_before_lead"]) >= 2
    last = summary["why"].removeprefix(before + " ")
    assert last != summary["why"] and last.startswith(("It leads", "Its lead", "It ties", "No other plan"))
    older = {k: v for k, v in summary.items() if k != "why_before_lead"}
    assert why_without_lead(older) == summary["why"]


@pytest.mark.parametrize("solved", [5, [1, 2], "abc"], ids=["a-number", "numbers", "a-string"])
def test_a_report_of_a_reranked_sweep_refuses_a_damaged_rerank_solved(finished_sweep, tmp_path, solved):
    """summary.json's rerank_solved, the labels of the planned buffers a re-ranking solved, which the
    report joins: 5 or [1, 2] gave a TypeError traceback, "abc" was read as three labels. Refused
    by name (exit 2), no report written."""
    out = tmp_path / "R"
    code, _, err = run_cli("sweep", "--rerank", str(finished_sweep[0]), "--prefer", "mean", "--out", str(out))
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    (out / "summary.json").write_text(json.dumps({**summary, "rerank_solved": solved}))
    code, _, err = run_cli("report", str(out), "--out", str(tmp_path / "r.html"))
    assert code == 2 and "Traceback" not in err, err
    assert f"rerank_solved must be a list of strings (got {solved!r})" in " ".join(err.split())
    assert not (tmp_path / "r.html").exists()


def test_an_older_sweep_is_reranked_from_the_rule_it_started_with(finished_sweep, tmp_path):
    """summary.json without rule_settings: job.json's rule where the summary describes it, else
    refused (a sweep resumed with a looser rule finished with another one)."""
    old = tmp_path / "old"
    old.mkdir()
    for name, content in finished_sweep[1].items():
        (old / name).write_bytes(content)
    summary = json.loads((old / "summary.json").read_text())
    del summary["rule_settings"]
    (old / "summary.json").write_text(json.dumps(summary))
    assert vars(api.rerank_sweep(old, {"prefer": "mean"}).rule) == {**vars(Rule()), "prefer": "mean"}
    (old / "summary.json").write_text(json.dumps({**summary, "rule": "best mean NPV among plans with ..."}))
    with pytest.raises(InputError, match="does not keep the fields of its rule"):
        api.rerank_sweep(old)
    # the report quotes the rule it finished with, not job.json's: it stated a 0.01 % breach limit
    # beside a pick that breached in 83 % of the scenarios
    assert run_cli("report", str(old))[0] == 0
    assert "Rule: best mean NPV among plans with ...." in (old / "report.html").read_text()


@pytest.mark.parametrize("fields, words", [
    ({}, "best CVaR5 NPV among plans with no breach or default on the forecast and breach and liquidity "
         "default probabilities no higher than the forecast optimum's"),
    ({"no_riskier_than_optimum": False, "forecast_within_limits": False},
     "best CVaR5 NPV, with no limit on the breach or liquidity default probability"),
])  # fmt: skip
def test_a_rule_is_read_by_the_words_a_sweep_wrote_before_p_any_default_joined_it(fields, words):
    """A sweep that kept no rule_settings is read by job.json's rule where its summary's words describe
    it; a sweep written before P(any default) joined the forecast optimum's risks (fleetopt 0.4.31)
    wrote these words for the same fields, which the rule now words with P(any default) too: they are
    still its rule, not one a resume changed."""
    rule = {**vars(Rule()), **fields}
    assert rule_chosen_by({"rule": words}, {"rule": rule}, Path("S")) == rule
    assert rule_chosen_by({"rule": words + " and more"}, {"rule": rule}, Path("S")) is None


def _made_by_0_4_31(finished_sweep, tmp_path) -> Path:
    """A copy of the tiny sweep with its summary.json as fleetopt 0.4.31 wrote it (git show
    05d2ff83:fleetopt/sweep/candidates.py, Rule.describe; run.py, SweepResult.summary): its version,
    its rule's words keeping P(breach) and P(liquidity default) at the forecast optimum's, and no
    horizon_quarters or discount_rate_annual (kept since)."""
    summary = json.loads(finished_sweep[1]["summary.json"])
    then = "breach and liquidity default probabilities no higher than the forecast optimum's"
    assert optimum_condition() in summary["rule"]
    words = {name: json.loads(json.dumps(summary[name]).replace(optimum_condition(), then))
             for name in ("rule", "why", "why_before_lead")}  # fmt: skip
    return _edited_summary(finished_sweep, tmp_path, fleetopt_version="0.4.31", horizon_quarters=None,
                           discount_rate_annual=None, **words)  # fmt: skip


def test_a_sweep_whose_rule_kept_two_risks_at_the_optimum_s_says_the_rule_changed_when_reranked(
    finished_sweep, tmp_path
):
    """fleetopt 0.4.32 keeps P(any default) at the forecast optimum's too: a 0.4.31 sweep re-ranked
    by its own rule was ranked by the new one without a word. On tiny the optimum breaches in 87.5 %,
    never defaults on its cash and defaults as lenders count it in 75.5 %; of the plans within the
    first two (the optimum, the price-shock optimum, its $30.0M buffer and its buffer planned), the
    $30.0M buffer has the best CVaR5 (-$82.4M) and a P(any default) of 65.0 %, within the third: the
    same pick by either rule, which the terminal and summary.json now say (and a rule no candidate
    meets, before how to loosen it). Re-ranking a sweep made by this version says nothing of it."""
    old = _made_by_0_4_31(finished_sweep, tmp_path)
    out = tmp_path / "R"
    code, said, err = run_cli("sweep", "--rerank", str(old), "--out", str(out))
    assert code == 0, err
    changed = ("The rule changed since this sweep was made (fleetopt 0.4.31: P(covenant breach) and "
               "P(liquidity default) no higher than the forecast optimum's; now P(any default) too): the "
               "pick is the same by that rule.")  # fmt: skip
    assert changed in " ".join(said.split())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recommended"] == "milp: price shock, cash buffer $30.0M"
    assert summary["rule_before"] == {"fleetopt_version": "0.4.31", "recommended": summary["recommended"],
                                      "optimum_risks": ["breach_probability", "default_probability"]}
    assert changed in summary["why"]
    # a rule no candidate meets says so too, before how to loosen it
    code, _, err = run_cli("sweep", "--rerank", str(old), "--max-breach-prob", "0.0001",
                           "--out", str(tmp_path / "none"))  # fmt: skip
    assert code == 2 and "; now P(any default) too). Rank it by a looser rule: " in " ".join(err.split()), err
    again = tmp_path / "again"
    code, said, err = run_cli("sweep", "--rerank", str(finished_sweep[0]), "--out", str(again))
    assert code == 0 and "rule changed" not in said, err
    assert "rule_before" not in json.loads((again / "summary.json").read_text())


def test_a_pick_the_rule_of_an_earlier_fleetopt_would_not_make_is_named_with_what_it_misses_now():
    """The figures of the any-default test above, re-ranked from a 0.4.31 sweep: its rule (P(breach)
    and P(liquidity default) at the optimum's) picks A, the best CVaR5; today's picks B, as A's
    P(any default), 52 %, is above the optimum's 45 %. The why says the rule changed and that the
    pick would be A by the old one, with what A misses now; a rule that lets the risks rise
    (--allow-riskier) compares none, so nothing changed."""
    from fleetopt.sweep.result import RuleThen, rule_then

    metrics = more_events_of_default_case()
    words_then = ("best CVaR5 NPV among plans with no breach or default on the forecast and breach and "
                  "liquidity default probabilities no higher than the forecast optimum's")  # fmt: skip
    then = rule_then({"rule": words_then, "fleetopt_version": "0.4.31"}, Rule())
    assert then == RuleThen("0.4.31", ("breach_probability", "default_probability"))
    assert rule_then({"rule": words_then}, Rule(no_riskier_than_optimum=False)) is None
    assert rule_then({"rule": Rule().describe()}, Rule()) is None
    result = SweepResult(None, None, None, metrics, None, Rule(), 2)
    result.rule_then = then
    assert ("The rule changed since this sweep was made (fleetopt 0.4.31: P(covenant breach) and P(liquidity "
            "default) no higher than the forecast optimum's; now P(any default) too): by that rule the pick "
            "would be A (P(any default) 52.0% above the forecast optimum's 45.0%).") in result.why()


def test_a_real_sweep_whose_pick_an_earlier_fleetopt_would_not_make_is_reranked_naming_that_pick(tmp_path):
    """The test above on a real sweep, through the CLI: tiny, 5 candidates on 30 scenarios of seed 7.
    The forecast optimum breaches in 90.0 % of them, never defaults on its cash and defaults as
    lenders count it in 22 of 30 (73.3 %). The price-shock optimum run with a $60.0M buffer has the
    best CVaR5 NPV of all, breaches in 83.3 % and never defaults on its cash: fleetopt 0.4.31's rule
    (P(breach) and P(liquidity default) at the optimum's) picks it; its P(any default), 23 of 30
    (76.7 %), is above the optimum's, so today's rule picks the $30.0M buffer (17 of 30). Re-ranked
    as 0.4.31 wrote it, the sweep keeps today's pick and names the old rule's, with what it misses."""
    folder = tmp_path / "S"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "5", "--scenarios", "30", "--seed", "7",
                           "--out", str(folder))  # fmt: skip
    assert code == 0, err
    optimum, then, now = ("milp: forecast", "milp: price shock, cash buffer $60.0M",
                          "milp: price shock, cash buffer $30.0M")  # fmt: skip
    figures = pd.read_csv(folder / "candidates.csv").set_index("plan")
    kept_then = ["breach_probability", "default_probability"]
    at_optimum = (figures[kept_then] <= figures.loc[optimum, kept_then]).all(axis=1)
    rule_then = figures["forecast_within_limits"] & at_optimum
    any_default = figures["any_default_probability"]
    rule_now = rule_then & (any_default <= any_default[optimum])
    assert figures.loc[rule_then, "npv_cvar5_usd"].idxmax() == then  # this sweep's figures pick apart
    assert figures.loc[rule_now, "npv_cvar5_usd"].idxmax() == now
    assert any_default[[optimum, then, now]].tolist() == pytest.approx([22 / 30, 23 / 30, 17 / 30])
    old = _made_by_0_4_31((folder, {p.name: p.read_bytes() for p in folder.iterdir()}), tmp_path)
    code, said, err = run_cli("sweep", "--rerank", str(old), "--out", str(tmp_path / "R"))
    assert code == 0, err
    named = (f"now P(any default) too): by that rule the pick would be {then} (P(any default) 76.7% above "
             "the forecast optimum's 73.3%).")  # fmt: skip
    assert f"recommended: {now}" in said and named in " ".join(said.split())
    summary = json.loads((tmp_path / "R" / "summary.json").read_text())
    assert summary["recommended"] == now and named in summary["why"]
    assert summary["rule_before"] == {"fleetopt_version": "0.4.31", "optimum_risks": kept_then,
                                      "recommended": then}  # fmt: skip


def test_a_sweep_that_kept_no_model_changes_is_reranked_as_not_known_not_as_none(finished_sweep, tmp_path):
    """A sweep made before fleetopt 0.4.6 kept its --set changes: its re-ranking cannot know them,
    and recorded [] ("the model as its file has it"); now null, and nothing said of them."""
    old = tmp_path / "old"
    old.mkdir()
    for name, content in finished_sweep[1].items():
        (old / name).write_bytes(content)
    for name in ("job.json", "summary.json"):
        kept = json.loads((old / name).read_text())
        kept.pop("model_changes", None)
        (old / name).write_text(json.dumps(kept))
    result = api.rerank_sweep(old, {"prefer": "mean"})
    assert result.loaded.changes is None
    out = tmp_path / "reranked"
    api.write_sweep_run(result, out=out)
    assert json.loads((out / "summary.json").read_text())["model_changes"] is None


def test_cli_rerank_refuses_what_it_cannot_use_and_writes_nothing_if_no_plan_fits(finished_sweep, tmp_path):
    folder, _ = finished_sweep
    out = tmp_path / "R"
    code, _, err = run_cli("sweep", "--rerank", str(folder), "--seed", "3", "--out", str(out))
    assert code == 2 and "--seed cannot apply with --rerank" in err
    code, _, err = run_cli("sweep", "--rerank", str(folder), "--max-breach-prob", "0.0001", "--out", str(out))
    assert code == 2 and "no candidate meets the rule" in err and "Traceback" not in err
    assert not out.exists() and api.runs() == []  # nothing recorded in this test's registry
    solved = tmp_path / "solved"
    assert run_cli("solve", "tiny", "--out", str(solved))[0] == 0
    code, _, err = run_cli("sweep", "--rerank", str(solved), "--out", str(out))
    assert code == 2 and "a solve's folder, not a sweep's" in err
    code, _, err = run_cli("sweep", "--rerank", str(folder), "--allow-riskier", "--out", str(out), "--report")
    assert code == 0, err
    report = (out / "report.html").read_text()
    assert f"Re-ranked from the sweep in {folder.resolve()}" in report


def test_a_finished_sweep_resumed_says_how_to_rerank_it_in_the_caller_s_words(finished_sweep):
    """fleetopt.api.resume_sweep of a finished sweep told a notebook to run `fleetopt sweep --rerank
    ... --prefer ...`: it now names the Python call (the option beside it, as every argument the
    API names); the command line keeps its own words, and no Python."""
    folder, _ = finished_sweep
    with pytest.raises(InputError, match="already finished") as finished:
        api.resume_sweep(folder, rule_changes={"prefer": "mean"})
    said = str(finished.value)
    assert (f"into a new run folder: fleetopt.api.write_sweep_run(fleetopt.api.rerank_sweep({str(folder)!r}, "
            "rule_changes)), rule_changes the rule's fields to change, e.g. {'prefer': 'mean'}") in said
    code, _, err = run_cli("sweep", "--resume", str(folder), "--prefer", "mean")
    err = " ".join(err.split())
    assert code == 2 and f"a new run folder: fleetopt sweep --rerank {folder} with the rule's options" in err
    assert "fleetopt.api" not in err and "rule_changes" not in err


def test_a_rerank_no_candidate_meets_says_how_to_rerank_not_to_sweep_again(finished_sweep, tmp_path):
    """A rerank by a rule none of the finished sweep's candidates meets said "Nothing was kept (no
    folder): sweep again with ...; give folder= ... fleetopt.api.resume_sweep" (a sweep in memory's
    words: the sweep's folder is there, untouched, and nothing needs solving again) before its own
    "Rank it by a looser rule". It now says only the rerank's way out, the limit by the rule's field in
    Python and by its option alone in the terminal."""
    folder, _ = finished_sweep
    with pytest.raises(RuleNotMet) as caught:
        api.rerank_sweep(folder, {"max_breach_prob": 0.0001})
    said = caught.value.typed()
    assert f"Rank it by a looser rule: fleetopt sweep --rerank {folder} with --max-breach-prob " in said
    # Python is given the call whole, which reranks (it read "fleetopt sweep --rerank F with
    # max_breach_prob=... (--max-breach-prob ...)", which runs in neither: a review)
    call = re.search(r"Rank it by a looser rule: (fleetopt\.api\.rerank_sweep\('[^']+', rule_changes=\{"
                     r"'max_breach_prob': [0-9.]+\}\)) \(fleetopt sweep --rerank ", str(caught.value))
    assert call is not None, str(caught.value)
    import fleetopt.api

    assert eval(call.group(1), {"fleetopt": fleetopt}).recommended is not None
    assert "Nothing was kept" not in said and "sweep again" not in said and "resume_sweep" not in said
    code, _, err = run_cli("sweep", "--rerank", str(folder), "--max-breach-prob", "0.0001",
                           "--out", str(tmp_path / "R"))  # fmt: skip
    assert code == 2 and "Nothing was kept" not in err and "Rank it by a looser rule" in err


def test_a_looser_rule_is_advised_to_python_by_the_rule_s_fields_and_to_the_terminal_by_its_options():
    """RuleNotMet.looser gave Python callers the command line's options ("--min-cvar -88.2M"): each limit
    is now the rule's field with a value Python takes (-88.2M as -88200000.0), the option beside it, and
    the terminal's words (InputError.typed) the options alone, as before."""
    unmet = RuleNotMet("none", (["--min-cvar", "--allow-riskier"], "p"), {"--min-cvar": "-88.2M"})
    advice = InputError.naming(*unmet.looser("resume"))
    assert str(advice) == ("resume with min_cvar5_usd=-88200000.0 (--min-cvar -88.2M) and "
                           "no_riskier_than_optimum=False (--allow-riskier) (a probability limit of 1, or a "
                           "min_cvar5_usd (--min-cvar) below every candidate's, sets none); the nearest "
                           "candidate, p, meets the rest")  # fmt: skip
    assert advice.typed() == ("resume with --min-cvar -88.2M and --allow-riskier (a probability limit of 1, "
                              "or a --min-cvar below every candidate's, sets none); the nearest candidate, "
                              "p, meets the rest")  # fmt: skip
    assert RuleNotMet("none").looser("resume") == ()


def test_a_limit_on_any_default_picks_what_a_lender_would_count_safer(finished_sweep, tmp_path):
    """A treasurer limits the defaults lenders count (a liquidity default or an uncured breach). On
    the tiny sweep no candidate has a liquidity default (0 % each), so --max-default-prob 0.9 keeps
    the best CVaR5 of all, the price-shock optimum with a $60.0M buffer (P(any default) 73.5 %; 74.0 %
    before policy rule 3 projected the later quarters' borrowing base); with --max-any-default-prob
    0.645 that plan, its $30.0M twin (65.0 %) and the forecast optimum's plans (75.5-81.0 %) are out,
    and the best CVaR5 left is the price-shock optimum's own (64.0 %; its buffer planned, 48.0 %, is
    worse on CVaR5)."""
    folder, _ = finished_sweep
    figures = pd.read_csv(folder / "candidates.csv")  # the rerank's candidates: the same plans
    assert (figures["default_probability"] == 0).all()
    open_rule = ("--allow-forecast-breach", "--allow-riskier")
    picks = {}
    for option, limit in (("--max-default-prob", "0.9"), ("--max-any-default-prob", "0.645")):
        out = tmp_path / option
        code, _, err = run_cli("sweep", "--rerank", str(folder), *open_rule, option, limit, "--out", str(out))
        assert code == 0, err
        picks[option] = json.loads((out / "summary.json").read_text())
    best_of_all = figures.loc[figures["npv_cvar5_usd"].idxmax(), "plan"]
    assert picks["--max-default-prob"]["recommended"] == best_of_all
    summary = picks["--max-any-default-prob"]
    within = figures[figures["any_default_probability"] <= 0.645]
    best_within = within.loc[within["npv_cvar5_usd"].idxmax(), "plan"]
    assert summary["recommended"] == best_within == "milp: price shock"
    assert summary["rule_settings"]["max_any_default_prob"] == 0.645
    # the pick's P(any default) beside its P(liquidity default), for `fleetopt runs show`
    assert (summary["default_probability"], summary["any_default_probability"]) == (0.0, 0.64)
    assert "probability of any default <= 64.5%" in summary["rule"]
    assert ("outside the rule, with P(any default) above 64.5%: milp: price shock, cash buffer $30.0M "
            "(65.0%); milp: price shock, cash buffer $60.0M (73.5%)") in summary["why"]


def test_rerank_names_what_it_cannot_use(finished_sweep, tmp_path):
    folder, _ = finished_sweep
    with pytest.raises(InputError, match=r"rule_changes must hold fields of the ranking rule .* not a str"):
        api.rerank_sweep(folder, "mean")
    with pytest.raises(InputError, match="not the fields 'prefered'"):
        api.rerank_sweep(folder, {"prefered": "mean"})
    with pytest.raises(InputError, match=r"^rule_changes: max_breach_prob must be between 0.0 and 1.0"):
        api.rerank_sweep(folder, {"max_breach_prob": 2.0})
    copy = tmp_path / "edited"
    copy.mkdir()
    for name, content in finished_sweep[1].items():
        (copy / name).write_bytes(content)
    (copy / "job.json").unlink()  # as a re-ranked sweep's folder
    code, _, err = run_cli("sweep", "--resume", str(copy))
    assert code == 2 and f"fleetopt sweep --rerank {copy}" in err
    with (copy / "model.yaml").open("a") as model:
        model.write("# edited\n")
    with pytest.raises(InputError, match=r"is not the model .*summary.json was made with"):
        api.rerank_sweep(copy)


def _edited_candidates(finished_sweep, tmp_path, edit) -> Path:
    """A copy of the finished sweep whose candidates.json ``edit`` changed (a list of dicts)."""
    copy = tmp_path / "edited"
    copy.mkdir()
    for name, content in finished_sweep[1].items():
        (copy / name).write_bytes(content)
    listed = json.loads((copy / "candidates.json").read_text())
    (copy / "candidates.json").write_text(json.dumps(edit(listed)))
    return copy


def _with_buffer(listed: list, value: float) -> list:
    buffered = next(c for c in listed if c.get("liquidity_buffer_usd") is not None)
    buffered["liquidity_buffer_usd"] = value
    return listed


def _without_the_second_plan(listed: list) -> list:
    listed[1]["status"] = "infeasible"
    return listed


def _second_round(listed: list, n: int, value) -> list:
    listed[n]["second_round"] = value
    return listed


def _field(listed: list, n: int, name: str, value) -> list:
    listed[n][name] = value
    return listed


def _origin(listed: list, n: int, origin: str) -> list:
    listed[n]["origin"] = origin
    return listed


@pytest.mark.parametrize(("edit", "message"), [
    (lambda listed: listed[:2], "lists 2 candidates where summary.json counts"),
    (lambda listed: _with_buffer(listed, float("nan")), "buffer_usd must be a finite number (got nan)"),
    (lambda listed: _with_buffer(listed, -5.0), "buffer_usd must be between 0 and "
                                                "1,000,000,000,000,000 (got -5.0)"),
    (_without_the_second_plan, "does not list"),
    (lambda listed: _origin(listed, 0, "stress"), "its first candidate, and only that one, is the forecast"),
    (lambda listed: _origin(listed, 1, "forecast"), "(origin 'forecast'; here: 'milp: forecast', "),
    (lambda listed: _origin(listed, 1, "banana"), "has origin 'banana', not one of forecast, stress"),
    (lambda listed: _second_round(listed, 0, True), "candidate 'milp: forecast' has second_round true, which "
                                                    "only a candidate made from the rule's pick may have"),
    (lambda listed: _second_round(listed, 0, "yes"), "candidate 'milp: forecast': second_round must be "
                                                     "true or false (got 'yes')"),
    (lambda listed: _with_buffer(listed, "abc"), "liquidity_buffer_usd must be a finite number (got 'abc')"),
    (lambda listed: _with_buffer(listed, [1]), "liquidity_buffer_usd must be a finite number (got [1])"),
    (lambda listed: [{**listed[0], "gap": -1}, *listed[1:]], "gap must be at least 0 (got -1)"),
    (lambda listed: [{k: v for k, v in listed[0].items() if k != "label"}, *listed[1:]],
     "candidates.json: entry 1: the field 'label' is missing: the file was damaged or edited"),
    (lambda listed: _field(listed, 0, "same_as", 3), "candidate 'milp: forecast': same_as must be a "
                                                     "string (got 3)"),
    (lambda listed: _field(listed, 1, "buffer_of", ["milp: forecast"]), "buffer_of must be a string (got "
                                                                        "['milp: forecast'])"),
    (lambda listed: _field(listed, 1, "buffer_of", {"a": 1}), "buffer_of must be a string (got {'a': 1})"),
    (lambda listed: _field(listed, 1, "label", 3), "candidates.json: entry 2: label must be a string "
                                                   "(got 3)"),
    (lambda listed: _field(listed, 0, "status", ["ok"]), "candidate 'milp: forecast': status must be a "
                                                         "string (got ['ok'])"),
    (lambda listed: _field(listed, 0, "note", 5), "'milp: forecast': note must be a string (got 5)"),
    (lambda listed: _field(listed, 0, "same_as", "nope"), "candidate 'milp: forecast' has same_as 'nope', "
                                                          "which is not the label of a candidate it lists"),
    (lambda listed: _field(listed, 1, "buffer_of", "nope"), "has buffer_of 'nope', which is not the label"),
    (lambda listed: ["x"], "candidates.json: entry 1 of its list is 'x', not an object of a candidate's"),
    (lambda listed: [*listed[:2], 3], "candidates.json: entry 3 of its list is 3, not an object of a"),
    (lambda listed: [*listed[:2], None], "candidates.json: entry 3 of its list is null, not an object of"),
    (lambda listed: _field(listed, 0, "label", None), "candidates.json: entry 1: label must be a string (got "
                                                      "null)"),
    (lambda listed: _field(listed, 0, "gap", True), "'milp: forecast': gap must be a finite number (got "
                                                    "true)"),
    (lambda listed: {"candidates": listed}, "candidates.json holds a JSON object, not a sweep's list of"),
    (lambda listed: 3, "candidates.json holds a JSON number, not a sweep's list of candidates"),
], ids=["truncated", "nan-buffer", "negative-buffer", "a-plan-unlisted", "no-forecast", "two-forecasts",
        "unknown-origin", "forecast-second-round", "second-round-not-a-bool", "text-buffer", "list-buffer",
        "negative-gap", "no-label", "number-same-as", "list-buffer-of", "dict-buffer-of", "number-label",
        "list-status", "number-note", "unknown-same-as", "unknown-buffer-of", "text-entry", "number-entry",
        "null-entry", "null-label", "bool-gap", "an-object", "a-number"])  # fmt: skip
def test_rerank_refuses_an_edited_candidate_list(finished_sweep, tmp_path, edit, message):
    """A fuzz audit: candidates.json cut to 2 of its candidates was re-ranked over those 2 with exit
    0 (another pick, summary.json still counting them all); a NaN buffer raised StopIteration; a
    negative one was written into the new plans.npz; a candidate marked infeasible dropped its plan
    without a word; an origin edited so that no candidate was the forecast optimum gave a traceback.
    The forecast optimum marked second_round (made after the pick, so left out of the first round)
    gave a TypeError traceback (every candidate so marked: "no plans to evaluate"); a second_round
    of "yes" was read as false in silence. A buffer "abc" or [1] was refused in Python's words
    ("could not convert string to float"), without the field; a gap of -1 was taken; a same_as or
    buffer_of of 3, a list or a dict was taken as its text, and so were a label, status or note of
    3 or a list (a label of 3 became '3'); a same_as or buffer_of naming no candidate listed was taken.
    An entry "x" was refused as a candidate with no field forecast_npv_usd, and one of 3, or a file
    holding a number, in Python's words ("argument of type 'int' is not iterable"); an object holding
    the list, as a candidate with no field forecast_npv_usd.
    A finished sweep lists every candidate it made, each within the model's range, the forecast
    optimum first."""
    copy = _edited_candidates(finished_sweep, tmp_path, edit)
    out = tmp_path / "R"
    code, _, err = run_cli("sweep", "--rerank", str(copy), "--allow-riskier", "--out", str(out))
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not out.exists()


def _edited_summary(finished_sweep, tmp_path, **fields) -> Path:
    """A copy of the finished sweep whose summary.json has ``fields`` (None: the field removed)."""
    copy = tmp_path / "edited"
    copy.mkdir()
    for name, content in finished_sweep[1].items():
        (copy / name).write_bytes(content)
    summary = json.loads((copy / "summary.json").read_text())
    summary |= fields
    (copy / "summary.json").write_text(json.dumps({k: v for k, v in summary.items() if v is not None}))
    return copy


@pytest.mark.parametrize(("n", "said"), [(10**12, "1,000,000,000,000"), (10**400, "(401 characters)")])
def test_rerank_of_more_scenarios_than_memory_holds_names_summary_s_count(finished_sweep, tmp_path, n, said):
    """A summary.json's n_scenarios of 10**400 (an int past a float's range) gave an OverflowError
    traceback from sizing its memory, and one of 10**12 said to give fewer scenarios (--scenarios),
    which a re-ranking refuses: both name summary.json's n_scenarios, and what would do."""
    copy = _edited_summary(finished_sweep, tmp_path, n_scenarios=n)
    out = tmp_path / "R"
    code, _, err = run_cli("sweep", "--rerank", str(copy), "--out", str(out))
    assert code == 2 and "Traceback" not in err, err
    assert "summary.json: its n_scenarios, " in err and said in err
    assert "re-rank it on a machine with more memory" in err
    assert "--scenarios" not in err and not out.exists()


def test_rerank_a_few_bytes_beyond_the_budget_writes_sizes_that_differ(finished_sweep, tmp_path, monkeypatch):
    """tiny's 200 scenarios need 200 x 248 B of results and 3 x 106 words of 8 B of factor paths for
    one plan, 52,144 B; on a machine whose budget is 52,100 B the re-ranking said "need 52.1 KB ...,
    more than this machine's budget of 52.1 KB": the two are written to the digits that differ."""
    from fleetopt.evaluate import chunking

    monkeypatch.setattr(chunking, "default_budget", lambda backend: 52_100)
    out = tmp_path / "R"
    code, _, err = run_cli("sweep", "--rerank", str(finished_sweep[0]), "--out", str(out))
    text = " ".join(err.split())
    assert code == 2 and ("need 52.14 KB of working memory for each plan's results, more than this "
                          "machine's budget of 52.10 KB") in text, text
    assert not out.exists()


def test_rerank_of_a_summary_without_its_kind_names_the_field(finished_sweep, tmp_path):
    """A summary.json without its kind was refused as "None folder, not a sweep's"."""
    copy = _edited_summary(finished_sweep, tmp_path, kind=None)
    code, _, err = run_cli("sweep", "--rerank", str(copy), "--out", str(tmp_path / "R"))
    assert code == 2 and "summary.json has no field 'kind' (a sweep's is 'sweep')" in err, err
    assert "None" not in err and not (tmp_path / "R").exists()


@pytest.mark.parametrize("name", ["n_scenarios", "seed", "model_source", "rule"])
def test_rerank_of_a_summary_field_set_to_null_says_the_file_was_damaged(finished_sweep, tmp_path, name):
    """A null n_scenarios, seed, model_source or rule was refused by name but, unlike every other
    damaged field, without saying the file was damaged or edited; the null is quoted in JSON's word,
    as the file has it (it was "got None", Python's)."""
    copy = _edited_summary(finished_sweep, tmp_path)
    summary = json.loads((copy / "summary.json").read_text())
    (copy / "summary.json").write_text(json.dumps({**summary, name: None}))
    code, _, err = run_cli("sweep", "--rerank", str(copy), "--out", str(tmp_path / "R"))
    said = f"summary.json: {name} must be "
    assert code == 2 and said in err and "(got null): the file was damaged or edited" in err, err
    assert not (tmp_path / "R").exists()


def test_rerank_of_a_summary_without_its_version_says_so(finished_sweep, tmp_path):
    """A summary.json without fleetopt_version was "written by fleetopt None"."""
    copy = _edited_summary(finished_sweep, tmp_path, fleetopt_version=None)
    code, _, err = run_cli("sweep", "--rerank", str(copy), "--allow-riskier", "--out", str(tmp_path / "R"))
    assert code == 0, err
    assert "was written by a fleetopt that kept no fleetopt_version, this is" in " ".join(err.split())
    assert "fleetopt None" not in err


def _rule_settings(finished_sweep, **fields) -> dict:
    return json.loads(finished_sweep[1]["summary.json"])["rule_settings"] | fields


@pytest.mark.parametrize(("field", "said"), [
    ("npv_mean_usd", "summary.json: npv_mean_usd must be at most 1.79769e+308 in size (got 1000"),
    ("rule_settings", "summary.json: rule_settings: max_breach_prob must be between 0.0 and 1.0 (got 1000"),
], ids=["a-figure", "a-rule-limit"])  # fmt: skip
def test_rerank_of_a_summary_number_past_a_float_s_range_names_it(finished_sweep, tmp_path, field, said):
    """An int past a float's range (10**400) where summary.json keeps a number, a figure or a
    limit of its rule, raised OverflowError ("int too large to convert to float") from its check."""
    value = 10**400 if field != "rule_settings" else _rule_settings(finished_sweep, max_breach_prob=10**400)
    copy = _edited_summary(finished_sweep, tmp_path, **{field: value})
    code, _, err = run_cli("sweep", "--rerank", str(copy), "--out", str(tmp_path / "R"))
    assert code == 2 and said in err and "(401 characters)" in err, err
    assert not (tmp_path / "R").exists()


@pytest.mark.parametrize(("field", "said"), [
    ("npv_mean_usd", "summary.json: npv_mean_usd must be a finite number (got true)"),
    ("rule_settings", "summary.json: rule_settings: max_breach_prob must be a finite number (got true)"),
], ids=["a-figure", "a-rule-limit"])  # fmt: skip
def test_a_summary_s_true_is_quoted_in_json_s_word(finished_sweep, tmp_path, field, said):
    """A summary.json figure, or a limit of its rule, written true was quoted "(got True)", Python's
    word, to a user who reads and writes JSON; the same value given from Python keeps Python's."""
    value = True if field != "rule_settings" else _rule_settings(finished_sweep, max_breach_prob=True)
    copy = _edited_summary(finished_sweep, tmp_path, **{field: value})
    code, _, err = run_cli("sweep", "--rerank", str(copy), "--out", str(tmp_path / "R"))
    assert code == 2 and said in err, err
    with pytest.raises(InputError, match=r"max_breach_prob must be a finite number \(got True\)"):
        api.rerank_sweep(finished_sweep[0], {"max_breach_prob": True})


@pytest.mark.parametrize("drop", [None, "max_breach_prob"], ids=["empty", "one-field"])
def test_a_summary_whose_rule_settings_lack_a_field_is_refused_by_rerank_and_report(
    finished_sweep, tmp_path, drop
):
    """"rule_settings": {} was re-ranked by the default rule, whatever rule the sweep chose by, and
    the report stated the default rule as the sweep's. Every field fleetopt always wrote there is
    needed; those added since (max_any_default_prob, min_service) may be missing: the older sweep had no
    such limit."""
    kept = _rule_settings(finished_sweep, max_breach_prob=0.9)
    rule = {name: value for name, value in kept.items() if drop is not None and name != drop}
    copy = _edited_summary(finished_sweep, tmp_path, rule_settings=rule)
    missing = drop or ", ".join(name for name in kept if name not in ("max_any_default_prob", "min_service"))
    said = f"summary.json: rule_settings has no {missing}, which fleetopt writes with the rule's other"
    for command in (["sweep", "--rerank", str(copy), "--out", str(tmp_path / "R")], ["report", str(copy)]):
        code, _, err = run_cli(*command)
        assert code == 2 and said in " ".join(err.split()), err
        assert "the file was damaged or edited" in " ".join(err.split())
    assert not (tmp_path / "R").exists() and not (copy / "report.html").exists()


def test_a_sweep_that_kept_its_rule_before_max_any_default_prob_is_reranked_by_it(finished_sweep, tmp_path):
    kept = _rule_settings(finished_sweep, max_breach_prob=0.9)
    del kept["max_any_default_prob"]
    copy = _edited_summary(finished_sweep, tmp_path, rule_settings=kept)
    assert vars(api.rerank_sweep(copy).rule) == {**kept, "max_any_default_prob": None}


@pytest.mark.parametrize("prefer", [["mean"], {"mean": 1}])
def test_a_rule_preferring_a_list_or_an_object_is_refused_by_name(finished_sweep, tmp_path, prefer):
    """A prefer of ["mean"] in summary.json's rule_settings, or given to api.rerank_sweep, raised
    TypeError (unhashable type: 'list')."""
    rule = _rule_settings(finished_sweep, prefer=prefer)
    copy = _edited_summary(finished_sweep, tmp_path, rule_settings=rule)
    code, _, err = run_cli("sweep", "--rerank", str(copy), "--out", str(tmp_path / "R"))
    said = f"summary.json: rule_settings: prefer must be one of cvar5, mean, p5, cost (got {prefer!r})"
    assert code == 2 and said in err, err
    with pytest.raises(InputError, match=r"^rule_changes: prefer must be one of cvar5, mean, p5, cost "
                       r"\(got "):
        api.rerank_sweep(finished_sweep[0], {"prefer": prefer})


def test_rerank_of_a_summary_counting_10_to_the_400_candidates_quotes_the_count_cut_short(
    finished_sweep, tmp_path
):
    """summary.json's candidates_tried of 10**400 was quoted in all its 401 digits."""
    copy = _edited_summary(finished_sweep, tmp_path, candidates_tried=10**400)
    code, _, err = run_cli("sweep", "--rerank", str(copy), "--out", str(tmp_path / "R"))
    said = f"candidates where summary.json counts 1{'0' * 59}... (401 characters)"
    assert code == 2 and said in " ".join(err.split()) and "0" * 100 not in err, err


def test_cli_rerank_of_an_unfinished_sweep_points_to_resume(tmp_path):
    folder = tmp_path / "U"
    code, _, _ = run_cli("sweep", "tiny", "--candidates", "3", "--scenarios", "50", "--max-breach-prob",
                         "0.0001", "--out", str(folder))  # fmt: skip
    assert code == 2 and (folder / "job.json").exists()
    code, _, err = run_cli("sweep", "--rerank", str(folder))
    assert code == 2 and f"an unfinished sweep: finish it with fleetopt sweep --resume {folder}" in err


def test_a_buffer_that_never_acted_is_marked_in_the_terminal_table():
    """On lab three rows of identical figures read as a three-way tie: two were the forecast optimum
    run with cash buffers that never acted, which only candidates.csv's note said."""
    from rich.console import Console

    from fleetopt.cli.render.sweep import sweep_table
    from fleetopt.sweep.recommendation import IDLE_BUFFER

    row = {"recommended": False, "on_front": False, FORECAST_OK: True, "forecast_npv_usd": 1e9,
           "npv_mean_usd": 9e8, "npv_cvar5_usd": -1e8, "breach_probability": 0.1, "default_probability": 0.0}
    metrics = pd.DataFrame([
        {**row, "plan": "milp: forecast", "note": "the forecast's optimum", "recommended": True},
        {**row, "plan": "milp: forecast, cash buffer $5.0M", "note": "a buffer" + IDLE_BUFFER},
    ])  # fmt: skip
    console = Console(width=120, record=True, color_system=None)
    console.print(sweep_table(metrics, "t"))
    lines = [line for line in console.export_text().splitlines() if "milp: forecast" in line]
    assert lines[0].split("│")[1].strip() == ">" and lines[1].split("│")[1].strip() == "="


def test_the_sweep_table_gives_the_plan_column_the_room_before_whole_headers():
    """At 120 columns the default sweep's table kept every header whole ('P(liq. default)', 15
    wide) and folded the plan column to 13 characters, each name over 3 or 4 lines. The figure
    columns now take their longest figure or header word (8, 7, 8, 7, 9, 8, 8 here, with the marks'
    4: 59; with padding 18 and borders 10, 87), the plan column the 33 left: a 33-character name on
    one line, its headers wrapped at words."""
    from rich.console import Console

    from fleetopt.cli.render.sweep import sweep_table

    name = "milp: price shock, buy 2q earlier"
    assert len(name) == 33
    row = {"recommended": False, "on_front": False, FORECAST_OK: True, "forecast_npv_usd": 18.69e9,
           "npv_mean_usd": 12.36e9, "npv_cvar5_usd": -20.49e9, "npv_limited_cvar5_usd": -2.29e9,
           "breach_probability": 0.725, "default_probability": 0.313, "any_default_probability": 0.623}
    metrics = pd.DataFrame([{**row, "plan": "milp: forecast", "recommended": True}, {**row, "plan": name}])
    console = Console(width=120, record=True, color_system=None)
    console.print(sweep_table(metrics, "t"))
    lines = console.export_text().splitlines()
    assert [line.split("│")[2].strip() for line in lines if line.startswith("│")] == ["milp: forecast", name]
    assert max(len(line) for line in lines) <= 120


def default_like_candidates() -> pd.DataFrame:
    """22 candidates named and sized as the default model's sweep names them ($18.69B, 34 characters)."""
    names = ["milp: forecast", "milp: forecast, cash buffer $4.18B", "milp: price shock",
             "milp: half leverage"]
    names += [f"milp: {stress}, {change}" for stress in ("forecast", "price shock", "demand slump")
              for change in ("buy 2q earlier", "buy 1q later", "volumes x1.25", "+1 power block",
                             "cash buffer $3.49B", "blackwell/rubin swapped")]  # fmt: skip
    return pd.DataFrame([
        {"plan": name, "recommended": n == 2, "on_front": n % 3 == 0, FORECAST_OK: True,
         "forecast_npv_usd": 18.69e9 - n * 0.11e9, "npv_mean_usd": 12.39e9 - n * 0.13e9,
         "npv_cvar5_usd": -30.46e9 + n * 0.17e9, "npv_limited_cvar5_usd": -2.29e9 + n * 0.01e9,
         "breach_probability": 0.5 + n / 100, "default_probability": 0.25 + n / 200,
         "any_default_probability": 0.45 + n / 100} for n, name in enumerate(names)])  # fmt: skip


def printed(table, width: int) -> list[str]:
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(table)
    return console.export_text().splitlines()


def test_at_100_columns_the_sweep_table_folds_no_plan_over_more_than_two_lines():
    """At 100 columns the default sweep's table gave its plan column 13 characters, each name folded
    over 3 or 4 lines ('milp:' / 'forecast,' / 'cash buffer' / '$4.18B'), its rules taking 28. Its
    columns now stand apart by spaces where a name would fold more: a row a plan, of two lines at
    most, every figure whole and once."""
    from fleetopt.cli.render.sweep import sweep_table

    metrics = default_like_candidates()
    lines = printed(sweep_table(metrics, "candidates"), 100)
    assert max(map(len, lines)) <= 100
    rows = [n for n, line in enumerate(lines) if re.search(r"\d\.\d%", line)]  # a plan's row: its figures
    assert len(rows) == len(metrics)
    assert all(b - a <= 2 for a, b in itertools.pairwise([*rows, rows[-1] + 2])), lines  # 1 line under each
    for _, row in metrics.iterrows():
        assert sum(format_usd(row["npv_cvar5_usd"]) in line for line in lines) == 1, row["plan"]


def test_at_80_columns_the_sweep_table_is_printed_in_parts_a_row_a_plan():
    """At 80 columns the default sweep's table was printed plan by plan, each plan's 7 figures a line
    each: 205 lines for 22 plans. It is printed in two parts, each with the marks and the plans, as
    `fleetopt compare` splits its columns: every figure whole and once, every plan in each part."""
    from fleetopt.cli.render.sweep import sweep_table

    metrics = default_like_candidates()
    lines = printed(sweep_table(metrics, "candidates"), 80)
    assert max(map(len, lines)) <= 80
    titles = [line.strip() for line in lines if line.strip().startswith("candidates (")]
    assert titles == ["candidates (1 of 2)", "candidates (2 of 2)"]
    text = "\n".join(lines)
    for _, row in metrics.iterrows():
        for column in ("forecast_npv_usd", "npv_cvar5_usd"):
            assert text.count(format_usd(row[column])) == 1, (row["plan"], column)
        assert text.count(f"{row['breach_probability']:.1%}") >= 1
    assert len(lines) < 3 * 2 * len(metrics)  # plan by plan: 9 lines a plan


def test_a_sweep_with_no_plan_for_its_forecast_leaves_no_job_behind(tmp_path, monkeypatch):
    """api.sweep(folder=...) of an infeasible model left job.json and model.yaml, which `fleetopt
    runs` then listed as an interrupted sweep that no resume could finish (the CLI removed them)."""
    from test_milp_cli import infeasible_contract_model, write_model

    from fleetopt.milp.solve import InfeasibleModel

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path))
    folder = tmp_path / "S"
    folder.mkdir()
    model = write_model(tmp_path, infeasible_contract_model())
    with pytest.raises(InfeasibleModel):
        api.sweep(model, candidates=2, scenarios=10, folder=folder)
    assert list(folder.iterdir()) == [] and api.unfinished_runs() == []


def test_a_pick_that_loses_money_on_average_says_so(tiny_sweep):
    """tiny's candidates all have a negative mean NPV: the recommendation read as worth doing (a
    CFO's reviewer). It now gives the pick's mean and its share of losing scenarios."""
    rec = tiny_sweep.recommended
    assert (tiny_sweep.metrics["npv_mean_usd"] < 0).all()
    from fleetopt.core.units import format_usd

    mean, losing = format_usd(rec["npv_mean_usd"]), f"{rec['loss_probability']:.1%}"
    said = f"Its mean NPV is negative ({mean}; a loss in {losing} of the scenarios), as is every candidate's."
    assert said in tiny_sweep.why()


def test_purchases_tables_given_to_a_sweep_are_named_apart():
    """Two tables were both 'purchases table' and refused as files of one name, with no way to name
    them from Python: tables in a list are numbered, and a dict names each by its key."""
    from fleetopt.sweep.run import read_proposals

    data = api.load("tiny")[1]
    first = api.solve("tiny").plan_frame()
    later = first[first["decision"] == "buy_gpus"].assign(quarter=data.quarter_labels[-1])
    tables = read_proposals([first, later], data)
    assert [t.source for t in tables] == ["purchases table 1", "purchases table 2"]
    assert [t.source for t in read_proposals([first], data)] == ["purchases table"]
    named = read_proposals({"plan A": first, "plan B": later}, data)
    assert [t.source for t in named] == ["plan A", "plan B"]
    assert named[1].blocks.sum() == tables[1].blocks.sum() > 0
    for bad in ("q3/A", "", "."):  # a path's last part named the candidate ('A', or nothing)
        with pytest.raises(InputError, match="cannot name a candidate"):
            read_proposals({bad: first}, data)


def test_a_sweep_gives_each_evaluated_candidate_s_plan_by_its_label(tiny_sweep):
    """A notebook had no public way to a candidate's plan, and `candidates[pick]` could be another
    plan (the candidates hold dropped ones too): `plan(label)` and `plan_frame(label)`, the
    recommended one by default, each the plan whose metrics row has that label."""
    from fleetopt.core.results.tables import plan_frame

    label = tiny_sweep.recommended["plan"]
    by_label = {c.label: c for c in tiny_sweep.candidates.candidates if c.plan is not None}
    assert tiny_sweep.plan() is by_label[label].plan
    assert tiny_sweep.plan_frame().equals(plan_frame(tiny_sweep.data, by_label[label].plan))
    optimum = tiny_sweep.forecast_optimum["plan"]
    assert tiny_sweep.plan(optimum) is by_label[optimum].plan
    with pytest.raises(InputError, match="'nope' is not a candidate this sweep evaluated: one of 'milp: "):
        tiny_sweep.plan("nope")


def test_a_model_buffer_at_the_largest_amount_is_evaluated_and_makes_no_larger_buffer(tmp_path):
    """`policy.liquidity_buffer_usd: 1e15` is valid (money is at most 1e15 USD), but the plan file
    refused its own solve's buffer (< 1e15 only), and the sweep made buffers above 1e15 it then
    could not read back (a fuzz audit). Now the solve's plan is evaluated, and no candidate's
    buffer exceeds the largest amount."""
    from fleetopt.errors import FleetoptWarning
    from fleetopt.sweep.cash_buffers import policy_variations

    solved = tmp_path / "S"
    code, _, err = run_cli("solve", "tiny", "--set", "policy.liquidity_buffer_usd=1e15", "--out", str(solved))
    assert code == 0, err
    evaluated = tmp_path / "E"
    code, _, err = run_cli("evaluate", "--plans", str(solved), "--scenarios", "5", "--out", str(evaluated))
    assert code == 0, err
    with pytest.warns(FleetoptWarning, match="the plan reacts on the forecast itself"):
        result = api.solve(api.edit("tiny", {"policy.liquidity_buffer_usd": 1e15}))
    assert list(policy_variations(result.data, "milp: forecast", result.plan)) == []


# ---------------------------------------------------------------- how sure the pick is

def test_the_runner_up_is_the_rule_s_pick_without_the_pick():
    m = hand_made()
    none_left_out = np.zeros(4, dtype=bool)
    assert runner_up(m, Rule(), 0, none_left_out) == 3  # CVaR5 4.5 twice: the lower breach
    assert runner_up(m, Rule(), 0, np.array([False, False, False, True])) == 2  # a buffer that never acted
    assert runner_up(m, Rule(max_breach_prob=0.05, prefer="mean"), 1, none_left_out) == 3
    assert runner_up(m, Rule(min_cvar5_usd=4.6, prefer="mean"), 0, none_left_out) is None


def test_the_paired_error_of_two_plans_mean_npvs_by_hand():
    # differences 1, 0, 1, -1: mean 0.25, squares about it 0.5625 + 0.0625 + 0.5625 + 1.5625 = 2.75,
    # standard deviation sqrt(2.75 / 3), over sqrt(4)
    first, npv = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 4.0, 3.0])
    assert paired_npv_error("npv_mean_usd", first, npv) == pytest.approx(np.sqrt(2.75 / 3) / 2, rel=1e-12)


def lead_words(lead: Lead, n: int = 50, folder: str = "runs/sweep") -> str:
    metrics = frame([(1.0, -94.7e6, 0.94, 0.0), (2.0, -94.7e6 - lead.amount, 0.94, 0.0)]).assign(
        plan=["buy 2q later", "buy 1q later"], origin=["variation", "variation"]
    )
    result = SweepResult(None, None, None, metrics, SimpleNamespace(n_scenarios=n, seed=7), Rule(), 0, lead)
    result.job_folder = Path(folder)
    return result._lead_words()


def test_a_lead_within_two_standard_errors_is_called_noise_with_the_scenarios_that_would_tell():
    # 50 x (2 x 2,589,538 / 36,433)^2 = 1,010,000 scenarios, to two figures 1,000,000
    words = lead_words(Lead("buy 1q later", 36_433.0, 2_589_538.0))
    assert ("lead over the runner-up, buy 1q later, is $36.4k of CVaR5 NPV, against a standard error of "
            "the paired difference of $2.6M on the same 50 scenarios: within two standard errors") in words
    assert "(about 1,000,000 would, were the lead as measured)." in words  # too many to suggest running
    # docs/cli.md's sweep: 1,000 x (2 x 288.4M / 284.7M)^2 = 4,104 -> 4,100, and the command that measures
    # every candidate on that many fresh scenarios (a new user found the tie, not how to settle it)
    near = lead_words(Lead("milp: half leverage", 284.7e6, 288.4e6), n=1000)
    assert near.endswith("(about 4,100 would, were the lead as measured); `fleetopt evaluate --plans "
                         "runs/sweep --scenarios 4100 --seed 9 --rank-by cvar5` measures every candidate on "
                         "that many fresh scenarios, without solving again.")
    beyond = lead_words(Lead("buy 1q later", 1e6, 1e5))  # ten errors
    assert beyond == (" It leads the runner-up, buy 1q later, by $1.0M of CVaR5 NPV, against a standard "
                      "error of the paired difference of $100k on the same 50 scenarios: beyond two "
                      "standard errors, so these scenarios tell the two apart.")
    assert "ties with the runner-up" in lead_words(Lead("buy 1q later", 0.0, 1e5))
    assert lead_words(Lead(None)) == " No other plan meets the rule."
    # beyond the tie's margin ($0.09 here) but within a dollar: round-off, not "about 4 scenarios would"
    assert lead_words(Lead("buy 1q later", 0.9, 0.1)).endswith("round-off: the two are not told apart.")


def test_the_settle_command_s_scenarios_are_fresh_for_a_stochastic_candidate_too():
    """A sweep of seed 7 evaluates its candidates on scenarios of seed 7 and, with --stochastic N,
    solves its stochastic candidate on scenarios of seed 8 (runs/limits.stochastic_seed): evaluated on
    seed 8, that candidate would be judged on the scenarios it was optimised for (in sample), so the
    command's are of seed 9."""
    near = lead_words(Lead("stochastic: 10 scenarios", 284.7e6, 288.4e6), n=1000)
    assert "--scenarios 4100 --seed 9 --rank-by cvar5`" in near


def test_the_settle_command_quotes_a_folder_with_a_space_as_every_command_given_to_paste():
    """A sweep in 'my runs/sweep': the command is pasted into a shell, where an unquoted space made
    '--plans my' and a stray argument 'runs/sweep' (runs/resume.resume_command quotes it so too)."""
    near = lead_words(Lead("milp: half leverage", 284.7e6, 288.4e6), n=1000, folder="my runs/sweep")
    assert "`fleetopt evaluate --plans 'my runs/sweep' --scenarios 4100 --seed 9 --rank-by cvar5`" in near


def test_a_reranked_sweep_s_settle_command_names_the_folder_it_is_written_to(tmp_path, monkeypatch):
    """tiny on 30 scenarios: the pick's lead over the runner-up is within two standard errors, so the
    sweep says how to settle it. Re-ranked by the same rule into R, the command read `fleetopt
    evaluate --plans RUN ...` (a placeholder, the rerank having no job folder) in its terminal, its
    summary.json and the registry, which pasted fails: it names the folder written, R, whose plans it
    measures; without --out, the new folder made for it."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    sweep, out = tmp_path / "S", tmp_path / "R"
    code, _, err = run_cli("sweep", "tiny", "--scenarios", "30", "--out", str(sweep))
    assert code == 0, err
    assert f"--plans {sweep} --scenarios" in json.loads((sweep / "summary.json").read_text())["why"]
    code, text, err = run_cli("sweep", "--rerank", str(sweep), "--out", str(out))
    assert code == 0, err
    said = " ".join(text.split())
    assert "--plans RUN" not in said and f"`fleetopt evaluate --plans {out} --scenarios" in said, said
    why = json.loads((out / "summary.json").read_text())["why"]
    assert f"`fleetopt evaluate --plans {out} --scenarios" in why, why
    code, shown, _ = run_cli("runs", "show", str(out))
    assert code == 0 and "--plans RUN" not in " ".join(shown.split())
    code, text, err = run_cli("sweep", "--rerank", str(sweep))
    assert code == 0, err
    made = [p for p in (tmp_path / "runs").iterdir() if p.name.endswith("-tiny-sweep")]
    assert len(made) == 1 and f"--plans {made[0]} --scenarios" in " ".join(text.split()), text


def test_a_sweep_s_settle_command_kept_in_its_summary_names_its_folder_from_anywhere(here):
    """A sweep written to a relative folder kept that relative path in summary.json's settle command,
    which `fleetopt runs show` and the report's recommendation give wherever they are read (the
    report's "In short" named the folder in full beside it): the summary names the folder in full;
    the terminal, read where the sweep ran, as typed."""
    code, text, err = run_cli("sweep", "tiny", "--scenarios", "30", "--out", "my runs/S")
    assert code == 0, err
    assert "`fleetopt evaluate --plans 'my runs/S' --scenarios 120" in " ".join(text.split())
    why = json.loads((here / "my runs" / "S" / "summary.json").read_text())["why"]
    assert f"`fleetopt evaluate --plans '{here / 'my runs' / 'S'}' --scenarios 120" in why, why


def test_the_sweep_s_lead_is_compare_s_paired_difference_of_the_two_plans():
    loose = Rule(forecast_within_limits=False, no_riskier_than_optimum=False)  # every candidate qualifies
    swept = api.sweep("tiny", candidates=6, scenarios=200, seed=3, rule=loose)
    summary = swept.summary()
    rec, other = swept.recommended["plan"], summary["runner_up"]
    assert other is not None and other != rec
    buffers = [swept._buffer(label) for label in (other, rec)]
    compared = compare_plans(swept.data, [swept.plan(other), swept.plan(rec)], [other, rec], 200, 3,
                             buffers=buffers)  # fmt: skip
    figures = compared.figures[rec]
    assert summary["runner_up_lead_usd"] == pytest.approx(
        figures["npv_cvar5_usd"] - compared.figures[other]["npv_cvar5_usd"], abs=1e-3)
    assert summary["runner_up_lead_se_usd"] == pytest.approx(figures["npv_cvar5_paired_se_usd"], rel=1e-9)
    assert f"runner-up, {other}" in summary["why"]


# ---------------------------------------------------------------- the second round: the pick's own buffers

LOOSE = {"forecast_within_limits": False, "no_riskier_than_optimum": False}  # every candidate admitted
SHOCK_BUFFERS = ["milp: price shock, cash buffer $30.0M", "milp: price shock, cash buffer $60.0M"]
# the same buffers planned: tiny's price shock holds $25M + $30M every quarter, not $25M + $60M
SHOCK_PLANNED = ["milp: price shock, planned with cash buffer $30.0M",
                 "milp: price shock, planned with cash buffer $60.0M"]  # fmt: skip


@pytest.fixture(scope="module")
def loose_sweep(tmp_path_factory):
    """tiny, 8 candidates on 200 scenarios of seed 0, best CVaR5 with every candidate admitted: the
    rule first picks "milp: price shock" (CVaR5 -$82.9M), whose largest quarterly GPU order is
    $120.0M; written to its folder."""
    folder = tmp_path_factory.mktemp("loose") / "S"
    result = api.sweep("tiny", candidates=8, scenarios=200, rule=Rule(**LOOSE), backend="numpy",
                       folder=folder)  # fmt: skip
    api.write_sweep_run(result, folder)
    return result, folder


def _alone(data, plans: list, buffers: list) -> pd.DataFrame:
    """``plans`` run with ``buffers``, evaluated by themselves on the loose sweep's scenarios."""
    batch = with_buffers(compile_plans(data, plans, [f"p{k}" for k in range(len(plans))]), buffers)
    return evaluate(data, batch, 200, 0, backend="numpy").metrics


def _figures(metrics: pd.DataFrame, labels, columns) -> np.ndarray:
    return metrics.set_index("plan").loc[list(labels), columns].to_numpy(dtype=float)


def test_the_rule_s_pick_is_run_with_its_own_buffers_and_its_buffered_run_can_win(loose_sweep):
    """The buffers were tried for the forecast optimum only, never for the plan the rule picked.
    Its own buffers, 25 % and 50 % of its largest order ($30.0M and $60.0M), are evaluated on the
    same scenarios: each row is the plan run alone with its buffer, to the bit, and the $60.0M run
    (CVaR5 -$79.2M) beats the $30.0M run (-$80.8M) and the plan itself (-$82.9M): it is the pick,
    the $30.0M run the runner-up, the lead their difference. The first round's rows are what
    those candidates give evaluated by themselves, to the bit."""
    result, _ = loose_sweep
    m = result.computed_metrics
    made = [(c.label, c.origin, c.buffer_of, c.liquidity_buffer_usd) for c in result.candidates.candidates
            if c.second_round]  # fmt: skip
    buffers = zip(SHOCK_BUFFERS, (30e6, 60e6), strict=True)
    planned = [(label, "planned", "milp: price shock", None) for label in SHOCK_PLANNED]
    assert made == [(label, "policy", "milp: price shock", usd) for label, usd in buffers] + planned
    assert result.summary()["second_round"] == [*SHOCK_BUFFERS, SHOCK_PLANNED[0]]
    figures = [c for c in m.select_dtypes("number").columns if c != "forecast_npv_usd"]
    shock = result.plan("milp: price shock")
    alone = _alone(result.data, [shock, shock], [30e6, 60e6])
    assert np.array_equal(_figures(m, SHOCK_BUFFERS, figures), alone[figures].to_numpy(dtype=float),
                          equal_nan=True)  # fmt: skip
    cvar = alone["npv_cvar5_usd"].to_numpy()
    assert cvar[1] > cvar[0] > m.set_index("plan").loc["milp: price shock", "npv_cvar5_usd"]
    assert result.recommended["plan"] == SHOCK_BUFFERS[1] and result.lead.runner_up == SHOCK_BUFFERS[0]
    assert result.lead.amount == cvar[1] - cvar[0]
    first = [c for c in result.candidates.feasible if not c.second_round]
    before = _alone(result.data, [c.plan for c in first], [c.liquidity_buffer_usd for c in first])
    labels = [c.label for c in first]
    assert np.array_equal(_figures(m, labels, figures), before[figures].to_numpy(dtype=float), equal_nan=True)
    assert m["note"].iloc[-1].endswith("made after the rule first picked milp: price shock (the sweep's "
                                       "second round)")  # fmt: skip


def test_the_pick_s_buffered_runs_lose_where_they_breach_above_the_limit(loose_sweep, monkeypatch):
    """A limit of 83.5 % on P(breach): "milp: price shock" (83.0 %) is still the first pick; its
    buffered runs, better on CVaR5, breach more (84.0 % and 88.0 %, above 83.5 %): evaluated, named
    as better but outside the rule, not picked. Its buffer planned breaches less (64.5 %) but is worse
    on CVaR5; the sweep saved it, so the re-ranking takes it as it was, with no solve."""

    def no_solve(self):
        raise AssertionError("a re-ranking of the same pick solved its planned buffers again")

    monkeypatch.setattr(persistent.PersistentPlanner, "solve", no_solve)
    result = api.rerank_sweep(loose_sweep[1], {"max_breach_prob": 0.835})
    assert result.recommended["plan"] == "milp: price shock"
    assert result.summary()["second_round"] == [*SHOCK_BUFFERS, SHOCK_PLANNED[0]]
    assert result.summary()["rerank_solved"] == []
    assert list(result.metrics["breach_probability"].iloc[-3:-1]) == [0.84, 0.88]
    assert (f"Better on CVaR5 NPV but outside the rule, with P(covenant breach) above 83.5%: "
            f"{SHOCK_BUFFERS[0]} (84.0%); {SHOCK_BUFFERS[1]} (88.0%).") in result.why()


def test_a_rerank_by_another_rule_makes_the_second_round_of_its_own_pick(loose_sweep, tmp_path):
    """At most 60 % breaches the rule picks "milp: collateral haircut" (54.5 %): the second round is
    its buffers, run and planned (the $24.1M one no plan holds), and the price shock's are gone from
    the table, candidates.json and plans.npz, which name the haircut's so that compare and .plan()
    read them. Preferring the mean, the pick is a buffer of the forecast optimum: no second round,
    nothing of the old one left."""
    _, folder = loose_sweep
    result = api.rerank_sweep(folder, {"max_breach_prob": 0.6})
    haircut = ["milp: collateral haircut, cash buffer $12.1M", "milp: collateral haircut, cash buffer $24.1M",
               "milp: collateral haircut, planned with cash buffer $12.1M"]  # fmt: skip
    assert result.recommended["plan"] == "milp: collateral haircut"
    assert list(result.metrics["plan"].iloc[-3:]) == haircut
    assert not set(SHOCK_BUFFERS + SHOCK_PLANNED) & set(result.metrics.plan)
    out = api.write_sweep_run(result, tmp_path / "R")
    listed = json.loads((out / "candidates.json").read_text())
    dropped = "milp: collateral haircut, planned with cash buffer $24.1M"
    assert [c["label"] for c in listed if c["second_round"]] == [*haircut[:2], haircut[2], dropped]
    assert json.loads((out / "summary.json").read_text())["candidates_tried"] == len(listed) == 17
    # the report says what the re-ranking solved: the new pick's two planned buffers, not "no solve"
    said = html.unescape(page.build_report(out))
    # the price shock's rows are left out: said by label, as the terminal says them
    old = "; ".join(SHOCK_BUFFERS + SHOCK_PLANNED)
    assert json.loads((out / "summary.json").read_text())["rerank_left_out"] == SHOCK_BUFFERS + SHOCK_PLANNED
    assert (f"Re-ranked from the sweep in {folder.resolve()}: its candidates but the old pick's second round "
            f"({old}), which the new pick's replaces, evaluated again on its scenarios by this rule, solving "
            f"only the new pick's 2 planned buffers: {haircut[2]}; {dropped}.") in said
    plan = result.plan("milp: collateral haircut")
    assert np.array_equal(result.plan(haircut[1]).buy_blocks, plan.buy_blocks)
    code, _, err = run_cli("compare", str(out))
    assert code == 0, err
    mean = api.rerank_sweep(out, {"prefer": "mean", "max_breach_prob": None})
    assert mean.recommended["plan"] == "milp: forecast, cash buffer $60.0M"
    assert mean.summary()["second_round"] == [] and len(mean.candidates.candidates) == 13
    assert not any(", cash buffer" in p and not p.startswith("milp: forecast,") for p in mean.metrics.plan)



def test_cli_rerank_says_which_rows_of_the_old_pick_left_the_table(loose_sweep, tmp_path):
    """Re-ranked at most 60 % breaches, the pick is "milp: collateral haircut": its second round
    replaces the price shock's four (two run, two planned, one of them dropped). The terminal said
    "its 11 candidates evaluated again", as if the table held the sweep's own: it names the rows left
    out. Re-ranked by the same pick's rule, nothing is left out and it says so as before."""
    _, folder = loose_sweep
    code, out, err = run_cli("sweep", "--rerank", str(folder), "--max-breach-prob", "0.6",
                             "--out", str(tmp_path / "R"))  # fmt: skip
    assert code == 0, err
    said = " ".join(out.split())
    old = "; ".join(SHOCK_BUFFERS + SHOCK_PLANNED)
    assert (f"re-ranked {folder}: 11 candidates evaluated on its 200 scenarios (seed 0): its own but the "
            f"old pick's second round ({old}), which the new pick's replaces, solving only the new pick's "
            "2 planned buffers") in said, said
    code, out, err = run_cli("sweep", "--rerank", str(folder), "--out", str(tmp_path / "S"))
    assert code == 0, err
    assert f"re-ranked {folder}: 11 candidates evaluated again on its 200 scenarios (seed 0), no solve" in (
        " ".join(out.split()))

def test_a_resumed_sweep_makes_the_second_round_of_its_own_pick(loose_sweep, tmp_path, monkeypatch):
    """Stopped in its evaluation, the sweep resumes to the uninterrupted one's table, second round
    included. Stopped again once candidates.json listed that second round, before summary.json, and
    resumed with a 60 % breach limit: the rows of the price shock's buffers are left out, the
    haircut's made, as the finished sweep re-ranked by that rule gives them."""
    import fleetopt.runs.folder as run_folder

    reference, finished = loose_sweep
    folder = tmp_path / "S"

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", candidates=8, scenarios=200, rule=Rule(**LOOSE), backend="numpy", folder=folder,
                  progress=interrupt)  # fmt: skip
    resumed = api.resume_sweep(folder)
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)
    real_write = run_folder.write_bytes_atomic

    def stop_before_summary(path, data, *args, **kwargs):
        if Path(path).name == "summary.json":
            raise KeyboardInterrupt
        real_write(path, data, *args, **kwargs)

    monkeypatch.setattr(run_folder, "write_bytes_atomic", stop_before_summary)
    with pytest.raises(KeyboardInterrupt):
        api.write_sweep_run(resumed, folder)
    monkeypatch.undo()
    listed = json.loads((folder / "candidates.json").read_text())
    assert [c["label"] for c in listed if c["second_round"]] == SHOCK_BUFFERS + SHOCK_PLANNED
    again = api.resume_sweep(folder, rule_changes={"max_breach_prob": 0.6})
    reranked = api.rerank_sweep(finished, {"max_breach_prob": 0.6})
    pd.testing.assert_frame_equal(again.metrics, reranked.metrics, check_exact=True)
    assert not set(SHOCK_BUFFERS + SHOCK_PLANNED) & set(again.metrics.plan)


def test_a_sweep_stopped_while_planning_its_pick_s_buffers_keeps_those_solved(loose_sweep, tmp_path,
                                                                             monkeypatch):
    """Stopped (Ctrl-C) in the solve of the price shock's second planned buffer, the sweep had saved
    nothing of its second round: the resume solved the first one again (minutes on a large model).
    It is saved as solved: the resume solves only the second, to the uninterrupted sweep's table."""
    from fleetopt.sweep import candidates

    real_planned, solved = candidates._Making.planned, []

    def planned(self, buffer):
        solved.append(buffer.label)
        if buffer.label == SHOCK_PLANNED[1] and not stopped:
            raise KeyboardInterrupt
        return real_planned(self, buffer)

    monkeypatch.setattr(candidates._Making, "planned", planned)
    folder, stopped = tmp_path / "S", False
    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", candidates=8, scenarios=200, rule=Rule(**LOOSE), backend="numpy", folder=folder)
    assert solved[-2:] == SHOCK_PLANNED
    solved.clear()
    stopped = True
    resumed = api.resume_sweep(folder)
    assert solved == SHOCK_PLANNED[1:]
    pd.testing.assert_frame_equal(resumed.metrics, loose_sweep[0].metrics, check_exact=True)


def test_a_buffer_is_idle_against_its_own_plan_not_the_forecast_optimum():
    """The second round's buffer of "stress" whose figures are the forecast optimum's acted (it is
    not the stress plan run the same way); one with the stress plan's own figures never did."""
    from fleetopt.sweep.recommendation import idle_buffers, idle_note

    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "forecast, buffer", "stress", "stress, buffer A", "stress, buffer B"],
        "origin": ["forecast", "policy", "stress", "policy", "policy"],
        "npv_mean_usd": [10.0, 10.0, 12.0, 10.0, 12.0], "npv_cvar5_usd": [-5.0, -5.0, -3.0, -5.0, -3.0],
    })  # fmt: skip
    figures = ["npv_mean_usd", "npv_cvar5_usd"]
    parents = ["milp: forecast", "milp: forecast", None, "stress", "stress"]
    assert idle_buffers(metrics, figures, parents).tolist() == [False, True, False, False, True]
    # older candidate lists name no plan: the forecast optimum's
    assert idle_buffers(metrics, figures).tolist() == [False, True, False, True, False]
    assert idle_note("stress") == " (in these scenarios the buffer never acted: every figure is stress's)"


def test_the_settle_command_names_the_rule_s_default_limits_evaluate_cannot_apply():
    """A sweep run with --max-default-prob 0.05 --max-any-default-prob 0.1 suggested an evaluation
    ranking by P(breach) alone, saying nothing of those limits, which `fleetopt evaluate` has no
    option for: the suggestion names them for the reader; without them it says nothing more."""
    from fleetopt.sweep.recommendation import lead_words as words

    lead = Lead("milp: half leverage", 284.7e6, 288.4e6)
    rule = vars(Rule(max_default_prob=0.05, max_any_default_prob=0.1))
    near = words(lead, "cvar5", 1000, -18e9, True, 0, "runs/sweep", 0.725, rule)
    assert near.endswith("the rule's limit; it does not apply the rule's limits on P(liquidity default) "
                         "(at most 5%) and P(any default) (at most 10%): read those beside each plan it "
                         "ranks.")  # fmt: skip
    assert "--max-any-default-prob" not in near  # no such option of evaluate
    any_only = vars(Rule(max_any_default_prob=0.2))
    only = words(lead, "cvar5", 1000, -18e9, True, 0, "runs/sweep", None, any_only)
    assert only.endswith("without solving again; it does not apply the rule's limits on P(any default) "
                         "(at most 20%): read those beside each plan it ranks.")  # fmt: skip
    plain = words(lead, "cvar5", 1000, -18e9, True, 0, "runs/sweep", 0.725, vars(Rule()))
    assert plain.endswith("the rule's limit.")


def test_the_settle_command_ranks_only_plans_within_the_rule_s_breach_limit():
    """The default sweep's settle command ranked every candidate, so the five it printed were price-
    shock plans breaching in 96-97 % of the futures, which the rule had passed over, and neither
    contender: it now carries the rule's limit in force, the forecast optimum's P(breach) (72.5 %
    there) or the user's --max-breach-prob where lower, as `--max-breach-prob`."""
    from fleetopt.sweep.recommendation import lead_words as words

    lead = Lead("milp: half leverage", 284.7e6, 288.4e6)
    near = words(lead, "cvar5", 1000, -18e9, True, 0, "runs/sweep", 0.725)
    assert near.endswith("`fleetopt evaluate --plans runs/sweep --scenarios 4100 --seed 2 --rank-by cvar5 "
                         "--max-breach-prob 0.725` measures every candidate on that many fresh scenarios, "
                         "without solving again, and ranks those breaching in at most 72.5% of them, the "
                         "rule's limit.")  # fmt: skip
    assert "--max-breach-prob" not in words(lead, "cvar5", 1000, -18e9, True, 0, "runs/sweep", None)
    assert "--max-breach-prob" not in words(lead, "cvar5", 1000, -18e9, True, 0, "runs/sweep", 1.0)
    # the limit in force: the lower of the user's and the forecast optimum's
    metrics = frame([(1.0, -1.0, 0.725, 0.0), (2.0, -2.0, 0.6, 0.0)]).assign(
        plan=["milp: forecast", "other"], origin=["forecast", "variation"])
    result = SweepResult(None, None, None, metrics, SimpleNamespace(n_scenarios=10, seed=0), Rule(), 0, lead)
    assert result.breach_limit() == 0.725
    result.rule = Rule(max_breach_prob=0.5)
    assert result.breach_limit() == 0.5
    result.rule = Rule(no_riskier_than_optimum=False)
    assert result.breach_limit() is None


def test_a_stress_writes_the_share_the_model_gives_as_given_and_its_haircut_as_computed():
    """The price shock's drop is the model's risk.self_competition.price_drop_max: 0.125 read
    "market prices -12%"; the collateral haircut is computed (tiny: 1 - exp(-1.645 x 0.20 - 0.02) =
    29.47 %) and read "29%", a point off the 29.5 % its solve uses."""
    loaded = api.edit("tiny", {"risk.self_competition.price_drop_max": 0.125})
    notes = {s.name: s.description for s in default_stresses(api.load(loaded)[1])}
    assert notes["stress: price shock"] == "market prices -12.5% from quarter 3"
    assert notes["stress: collateral haircut"] == (
        "the borrowing base values the GPUs 29.5% below forecast resale values"
    )


def test_a_candidate_whose_completion_runs_out_of_time_names_no_limit(monkeypatch):
    """The completion of a plan that walked away from a signed contract can stop at its time limit
    with no plan: it was then probed and shown beside a limit it 'breaks', as if the MILP had proven
    one broken. Only an infeasible completion names a limit now."""
    from types import SimpleNamespace

    from fleetopt.milp.persistent import PersistentPlanner as Planner

    monkeypatch.setattr(Planner, "complete", lambda self, plan, *a, **k: SimpleNamespace(
        plan=None, status="no_plan", gap=None))  # fmt: skip  # the planner's status with no plan
    made = generate_candidates(data_of(_anchor_model("B")), 6)
    (lost,) = [c for c in made.candidates if c.label == "milp: lost anchor customer"]
    assert lost.plan is None and lost.status == "no_plan" and lost.broken == ""

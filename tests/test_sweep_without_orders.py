"""The pick without the GPU orders its policy almost never takes (fleetopt/sweep/candidates.py
``without_orders``; its plan: sweep/without_orders.py): the default model's pick committed to five
orders, and $820.9M of deposits on them, that its policy cancelled in at least 95 % of the futures,
and the sweep offered no plan without them."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fleetopt.core.data import build_data, load
from fleetopt.evaluate.engine import evaluate
from fleetopt.milp.persistent import PersistentPlanner, Stress
from fleetopt.schema.loading import load_model
from fleetopt.sweep.cancelled import nearly_always_cancelled
from fleetopt.sweep.candidate_record import Candidate
from fleetopt.sweep.candidates import CandidateSet, candidates_batch, without_orders
from fleetopt.sweep.result import SweepResult
from fleetopt.sweep.rule import Rule
from fleetopt.sweep.run import _finish_sweep
from fleetopt.sweep.without_orders import draws_not_moved, orders_not_bought

SOLVE = {"mip_gap": 1e-4, "time_limit": None, "threads": 1}


@pytest.fixture(scope="module")
def spare_order():
    """tiny's forecast optimum (250 blocks of B200 in 2026Q3, the 2,000 GPUs its inference contract
    takes) and the same with 10 blocks more in 2026Q3, run with a $1,000B buffer: the 80 GPUs no
    contract needs ($60,000 a GPU, a deposit of 20 %: $960,000) are deferred and cancelled in every
    future (tests/test_sweep_cancelled_orders.py)."""
    data = build_data(load_model("tiny"))
    planner = PersistentPlanner(data)
    optimum = planner.solve_stress(None).plan
    blocks = optimum.buy_blocks.copy()
    blocks[data.sku_names.index("B200"), 0, 0] += 10
    pick = Candidate("yours: spare.csv", "proposal", "optimal", planner.complete_purchases(blocks).plan,
                     liquidity_buffer_usd=1e12)
    return data, optimum, pick


def test_the_pick_without_its_cancelled_order_buys_only_what_contracts_need(spare_order):
    """Without its 2026Q3 order the pick buys the 250 blocks its contract needs there (2,000 GPUs),
    and every other purchase as it did: the forecast optimum's purchases, run with the pick's buffer,
    made after the pick (made again by a resume or a re-ranking)."""
    data, optimum, pick = spare_order
    made = without_orders(data, pick, [pick], ["2026Q3"], SOLVE)
    assert made.label == "yours: spare.csv, without the orders it almost never takes"
    assert (made.origin, made.status, made.second_round) == ("without_orders", "optimal", True)
    assert made.liquidity_buffer_usd == 1e12
    b200 = data.sku_names.index("B200")
    assert made.plan.buy_blocks[b200, 0, 0] * data.block_size[b200] == 2000
    np.testing.assert_array_equal(made.plan.buy_blocks, optimum.buy_blocks)
    assert without_orders(data, made, [pick, made], ["2026Q3"], SOLVE) is None  # made once
    assert without_orders(data, pick, [pick], [], SOLVE) is None


def test_it_forfeits_no_deposit_where_the_pick_forfeits_960k_in_every_future(spare_order):
    """Run with the same $1,000B buffer on 20 futures, the pick forfeits the 80 GPUs' deposit,
    80 x $60,000 x 20 % = $960,000, in each; the plan without the order has none to forfeit, and its
    policy cancels nothing in nearly every future."""
    data, _, pick = spare_order
    made = without_orders(data, pick, [pick], ["2026Q3"], SOLVE)
    figures = evaluate(data, candidates_batch(data, [pick, made]), 20, 0, backend="numpy").metrics
    assert figures["forfeited_deposits_mean_usd"].tolist() == pytest.approx([960_000.0, 0.0])
    assert nearly_always_cancelled(data, made.plan, 1e12, 0, 20).orders == ()


def test_orders_not_bought_keeps_what_contracts_need_in_whole_blocks(spare_order):
    """The deferrable part of 2026Q3's B200 order, 80 GPUs of 2,080, is not bought: 10 blocks of 8;
    other quarters are untouched, and a quarter not named keeps its order."""
    data, _, pick = spare_order
    b200 = data.sku_names.index("B200")
    fewer = orders_not_bought(data, pick.plan, [0])
    assert pick.plan.buy_blocks[b200, 0, 0] - fewer.buy_blocks[b200, 0, 0] == 10
    np.testing.assert_array_equal(fewer.buy_blocks[..., 1:], pick.plan.buy_blocks[..., 1:])
    np.testing.assert_array_equal(orders_not_bought(data, pick.plan, [1]).buy_blocks, pick.plan.buy_blocks)


def _result(pick: int, without_breach: float):
    """A sweep whose first pick B cancels orders it almost never takes, beside B without them (figures
    made up, in USD and shares), the rule's pick at row ``pick``."""
    label = "B, without the orders it almost never takes"
    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "B", label], "origin": ["forecast", "policy", "without_orders"],
        "npv_mean_usd": [10e6, 12e6, 11.5e6], "npv_cvar5_usd": [-9e6, -5e6, -4e6],
        "npv_p5_usd": [-4e6, -2e6, -1e6], "breach_probability": [0.2, 0.1, without_breach],
        "default_probability": [0.1, 0.05, 0.04], "any_default_probability": [0.2, 0.1, 0.1],
        "order_cancelled_share": [0.0, 0.0, 0.0], "forfeited_deposits_mean_usd": [0.0, 0.96e6, 0.0],
    })  # fmt: skip
    feasible = [SimpleNamespace(label=name, origin=origin, plan=object(), liquidity_buffer_usd=None)
                for name, origin in zip(metrics["plan"], metrics["origin"], strict=True)]  # fmt: skip
    candidates = SimpleNamespace(feasible=feasible, candidates=feasible)
    return SweepResult(None, None, candidates, metrics, SimpleNamespace(seed=0, n_scenarios=20), Rule(), pick)


def test_the_pick_without_its_orders_says_what_it_changes_against_the_first_pick():
    """Picked, it says which plan it is and what it changes against it: CVaR5 $1.0M higher, the $960k
    of deposits forfeited gone; passed over, why the rule passed it over (riskier than the optimum)."""
    picked = _result(2, 0.1).why()
    assert _result(2, 0.1).why_points()[1].startswith("It is B, the rule's first pick")  # what it is, first
    assert (" It is B, the rule's first pick, without the GPU orders that plan's policy cancels whole in "
            "nearly every scenario, run with the same buffer: against it, mean NPV -$500.0k, CVaR5 NPV "
            "+$1.0M, breach probability unchanged at 10.0%, liquidity default probability from 5.0% to "
            "4.0% and the probability of any default") in picked
    assert "and the deposits forfeited on average from $960.0k to $0." in picked
    passed = _result(1, 0.3).why()
    assert ("The same plan without those orders (B, without the orders it almost never takes), run with "
            "the same buffer, changes mean NPV -$500.0k") in passed
    assert ("the rule passed it over: P(covenant breach) 30.0% above the forecast optimum's 20.0%."
            in passed)


def test_a_sweep_whose_pick_cancels_an_order_everywhere_ranks_the_plan_without_it(spare_order):
    """A sweep of one candidate, the spare order's plan run with a $1,000B buffer: it is the pick and
    cancels its 2026Q3 order in all 20 futures, so the sweep adds the plan without it, evaluates it on
    the same futures (no deposit forfeited where the pick forfeits $960,000 in each) and ranks it by
    the same rule, which picks it and says why; summary.json names it, and it is marked to be made
    again from a resume's or a re-ranking's own pick."""
    data, _, pick = spare_order
    loaded, _ = load("tiny")
    first = replace(pick, label="milp: forecast", origin="forecast", forecast_npv_usd=0.0)
    rule = Rule(forecast_within_limits=False)  # with its $1,000B buffer the pick breaches on the forecast
    settings = {"n_scenarios": 20, "seed": 0, "backend": "numpy", "threads": 1, "rule": vars(rule), **SOLVE}
    result = _finish_sweep(loaded, data, CandidateSet([first]), settings, None, None)
    label = "milp: forecast, without the orders it almost never takes"
    figures = result.computed_metrics.set_index("plan")
    assert figures.loc[["milp: forecast", label], "forfeited_deposits_mean_usd"].tolist() == pytest.approx(
        [960_000.0, 0.0])
    assert result.summary()["without_orders"] == label
    assert result.summary()["second_round"] == []
    made = result.candidates.candidates[-1]
    assert (made.label, made.second_round) == (label, True)
    # it breaches in 95% of the futures, the pick in all 20: the rule picks it
    assert result.recommended["plan"] == label
    assert (" It is milp: forecast, the rule's first pick, without the GPU orders that plan's policy cancels "
            "whole in nearly every scenario") in result.why()
    assert "and the deposits forfeited on average from $960.0k to $0." in result.why()
    # re-ranked by the same rule, the same pick makes it again: it is not the old pick's left out
    saved = CandidateSet(list(result.candidates.candidates))
    again = _finish_sweep(loaded, data, saved, settings, None, None)
    assert again.recommended["plan"] == label
    assert again.left_out == []


def test_the_draws_that_fund_the_orders_not_bought_are_not_drawn(spare_order):
    """A $10M draw on tiny's GPU-backed term loan in 2026Q3, the quarter the pick buys 2,080 B200 of
    which 80 no contract needs: the draw funds those 80 by their share of the quarter's GPU purchases,
    80 / 2,080 (one price), $384,615.38, which a cancellation leaves undrawn, so the plan without the
    order may draw $9,615,384.62 there (policy rule 0, "GPU-backed draws go with the order")."""
    data, _, pick = spare_order
    plan = replace(pick.plan, draws=pick.plan.draws.copy())
    plan.draws[0, 0] = 10e6
    capped = draws_not_moved(data, plan, [0])
    assert capped[0, 0] == pytest.approx(10e6 * (1 - 80 / 2080))
    np.testing.assert_array_equal(capped[:, 1:], plan.draws[:, 1:])


def test_a_completion_draws_no_more_than_its_caps_and_the_next_is_free_again(spare_order):
    """tiny's forecast optimum completed with $10M of cash held above the floor draws $290,166.36 on
    its term loan in 2027Q4; capped at $200,000 there it draws $200,000, and the next completion,
    uncapped, draws $290,166.36 again."""
    data, optimum, _ = spare_order
    planner, raised = PersistentPlanner(data), Stress("forecast", min_cash_raise_usd=10e6)
    cap = np.zeros(optimum.draws.shape)
    cap[0, 5] = 200e3
    capped = planner.complete(optimum, contracts=True, stress=raised, draws_at_most=cap).plan
    assert capped.draws[0, 5] == pytest.approx(200e3) and capped.draws.sum() == pytest.approx(200e3)
    free = planner.complete(optimum, contracts=True, stress=raised).plan
    assert free.draws[0, 5] == pytest.approx(290_166.36, abs=0.01)

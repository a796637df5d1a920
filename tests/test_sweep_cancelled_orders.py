"""The pick's GPU orders its policy cancels in nearly every future (fleetopt/sweep/cancelled.py): the
default model's pick kept its cash buffer by cancelling the same orders in every future, the forecast
included, and the sweep said only how often some order was cancelled."""

from types import SimpleNamespace

import pandas as pd
import pytest

from fleetopt.core.data import build_data
from fleetopt.milp.persistent import PersistentPlanner
from fleetopt.schema.loading import load_model
from fleetopt.sweep.cancelled import (
    CancelledOrder,
    CancelledOrders,
    cancelled_orders_words,
    nearly_always_cancelled,
)
from fleetopt.sweep.result import SweepResult
from fleetopt.sweep.rule import Rule


@pytest.fixture(scope="module")
def tiny_with_spare_order():
    """tiny's forecast optimum (250 blocks of B200 in 2026Q3, the 2,000 GPUs its inference contract
    takes) with 10 blocks more in 2026Q3: 80 GPUs no contract needs, the part of the order the policy
    may defer and cancel, at $60,000 a GPU ($4.8M) and a deposit of 20 % ($0.96M)."""
    data = build_data(load_model("tiny"))
    planner = PersistentPlanner(data)
    blocks = planner.solve_stress(None).plan.buy_blocks.copy()
    blocks[data.sku_names.index("B200"), 0, 0] += 10
    return data, planner.complete_purchases(blocks).plan


def test_an_order_a_buffer_out_of_reach_cancels_is_cancelled_in_every_future(tiny_with_spare_order):
    """Run with a $1,000B buffer, cash that no future reaches: the policy defers the 2026Q3 order whole
    and cancels it the next quarter, in each of the 50 scenarios and on the forecast."""
    data, plan = tiny_with_spare_order
    found = nearly_always_cancelled(data, plan, 1e12, 0, 50)
    assert [order.quarter for order in found.orders] == ["2026Q3"]
    order = found.orders[0]
    assert (order.capex_usd, order.deposit_usd, order.gpus) == pytest.approx((4.8e6, 0.96e6, 80.0))
    assert order.scenario_share == 1.0 and order.on_forecast
    assert (found.n_scenarios, found.of_scenarios) == (50, 50)


def test_an_order_only_deferred_or_never_touched_is_not_listed(tiny_with_spare_order):
    """With the model's buffer the order is never deferred; with $120M it is deferred in every scenario
    but paid the next quarter, never cancelled: neither lists it."""
    data, plan = tiny_with_spare_order
    assert nearly_always_cancelled(data, plan, None, 0, 50).orders == ()
    assert nearly_always_cancelled(data, plan, 120e6, 0, 50).orders == ()


def test_the_words_name_each_order_its_share_and_the_forecast():
    """Each order's GPUs in whole GPUs, a half rounded away from zero as every count (24,848.5: 24,849,
    where "{:,.0f}" wrote 24,848)."""
    both = CancelledOrders((CancelledOrder("2027Q4", 1.61e9, 0.322e9, 20422.2, 1.0, True),
                            CancelledOrder("2028Q2", 1.86e9, 0.372e9, 24848.5, 0.968, True)), 1000, 1000)
    assert cancelled_orders_words(both) == (
        " It cancels 2 of its GPU orders in at least 95% of the scenarios, and on the forecast too: "
        "2027Q4's ($1.61B, 20,422 GPUs, in 100.0%) and 2028Q2's ($1.86B, 24,849 GPUs, in 96.8%) (the part "
        "of each quarter's order no contract needs, at the prices planned): the plan commits to these "
        "orders, and to $694.0M of deposits on them, but almost never takes them.")
    late = CancelledOrder("2027Q4", 1.61e9, 0.322e9, 20422.2, 0.97, False)
    one_capped = CancelledOrders((late,), 10_000, 50_000)
    assert cancelled_orders_words(one_capped) == (
        " It cancels 1 of its GPU orders in at least 95% of the first 10,000 scenarios: 2027Q4's ($1.61B, "
        "20,422 GPUs, in 97.0%, not on the forecast) (the part of each quarter's order no contract needs, at "
        "the prices planned): the plan commits to these orders, and to $322.0M of deposits on them, but "
        "almost never takes them.")
    assert cancelled_orders_words(CancelledOrders((), 1000, 1000)) == ""
    # the sweep's plan without the orders its first pick almost never took, which cancels others still
    assert cancelled_orders_words(one_capped, again=True).startswith(
        " It still cancels 1 of its GPU orders in at least 95% of the first 10,000 scenarios: 2027Q4's")


def test_the_pick_s_explanation_names_the_orders_it_cancels(tiny_with_spare_order):
    """The pick B, run with a $1,000B buffer, cancels an order in every scenario: its explanation says
    which one, after how often it cancels any, and summary.json lists it (``orders_cancelled``).
    Where the pick cancels an order in no more than half the scenarios, its orders are not looked at."""
    data, plan = tiny_with_spare_order
    metrics = pd.DataFrame({
        "plan": ["milp: forecast", "B"], "origin": ["forecast", "policy"],
        "npv_mean_usd": [10e6, 12e6], "npv_cvar5_usd": [-9e6, -5e6], "npv_p5_usd": [-4e6, -2e6],
        "breach_probability": [0.2, 0.1], "default_probability": [0.1, 0.05],
        "deferred_share": [0.0, 1.0], "order_cancelled_share": [0.0, 1.0],
        "deferred_capex_mean_usd": [0.0, 4.8e6], "forfeited_deposits_mean_usd": [0.0, 0.96e6],
    })  # fmt: skip
    feasible = [SimpleNamespace(label="milp: forecast", liquidity_buffer_usd=None, plan=plan),
                SimpleNamespace(label="B", liquidity_buffer_usd=1e12, plan=plan)]
    candidates = SimpleNamespace(feasible=feasible, candidates=feasible)
    evaluation = SimpleNamespace(seed=0, n_scenarios=20)
    result = SweepResult(None, data, candidates, metrics, evaluation, Rule(), 1)
    why = result.why()
    assert ("forfeiting $960.0k of deposits on average: the buffer is kept by buying fewer GPUs than the "
            "plan orders. It cancels 1 of its GPU orders in at least 95% of the scenarios, and on the "
            "forecast too: 2026Q3's ($4.8M, 80 GPUs, in 100.0%)") in why
    assert [(order.quarter, order.scenario_share) for order in result.orders_cancelled] == [("2026Q3", 1.0)]
    seldom = SweepResult(None, data, candidates, metrics.assign(order_cancelled_share=[0.0, 0.5]), evaluation,
                         Rule(), 1)  # fmt: skip
    assert seldom.orders_cancelled == () and "It cancels" not in seldom.why()

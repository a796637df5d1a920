r"""A contract's delivery deadline (docs/formulation.md §5.4; docs/evaluation.md quarter step 2),
worked by hand from the documents alone on tests/test_doc_cases.py's ``hand``.

``hand`` with a training demand of 400 (room on the market for all 400 GPUs, at $5,256 a
GPU-quarter) and lab-a's contract (100 GPUs at $2.20, $4,818 a GPU-quarter, 2026Q1-Q4) given
`delivery_deadline: 2026Q3`. Take-or-pay binds from the deadline only (§5.4: at most 100 GPUs
before it, exactly 100 from it): a GPU on the market earns 438 a quarter more than on the contract,
so the optimum delivers nothing in 2026Q1-Q2 (400 GPUs on the market) and 100 in 2026Q3-Q4 (300 on
the market). Against hand's optimum (every other decision as there: the loan's draw, covenants
far from binding) 2026Q1 and 2026Q2 earn 100 x 438 = 43,800 more, 35,040 after the 20 % tax:
NPV = 10,050,246.49 + (DF_0 + DF_1) x 35,040 = 10,117,870.77. On the forecast the evaluator owes
the contract what the plan gives it before the deadline (quarter step 2), so nothing is late and
the simulated NPV is the statements'.

The cost objective (formulation §6, "Cost") on the same ``hand``, which must serve its market
demand and its contract exactly, is the last test.
"""

from __future__ import annotations

import pytest
from milp_builders import data_of
from test_doc_cases import DF, NPV, hand_model, simulated

from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.milp.solve import solve


def test_before_its_deadline_a_contract_is_delivered_only_where_it_pays():
    d = hand_model()
    d["market"]["demand_gpus"]["training"] = 400
    d["contracts"]["lab-a-training"]["delivery_deadline"] = "2026Q3"
    data = data_of(d)
    result = solve(data, mip_gap=0.0)
    assert result.plan.contract_gpus.sum(axis=(0, 1, 2)) == pytest.approx([0, 0, 100, 100], abs=1e-6)
    assert result.plan.active[0].sum(axis=(0, 1)) == pytest.approx([400.0] * 4, abs=1e-6)
    assert result.plan.draws[0] == pytest.approx([2_000_000.0, 0.0, 0.0, 0.0], abs=0.01)
    assert result.statements.lines["tax_usd"] == pytest.approx([81_530.0, 74_530.0, 67_770.0, 69_770.0],
                                                               abs=0.01)  # fmt: skip
    npv = NPV + (DF[0] + DF[1]) * 35_040
    assert npv == pytest.approx(10_117_870.77, abs=0.01)
    assert result.statements.npv_usd == pytest.approx(npv, abs=0.01)
    out = simulated(data, result.plan, deterministic_scenarios(data), record=("cash_usd",))
    assert out["npv"] == pytest.approx(npv, abs=0.01)
    assert not out["breach"]


def test_the_present_cost_of_hand_serving_its_demand_and_contract():
    """formulation §6, "Cost", on ``hand`` without its loan and covenants: no GPU can be bought (the
    H100 is not on sale) or sold (the market's 300 and the contract's 100 must be served, §5.4-5.5),
    so the plan holds its 400 GPUs. V^0 = DF_0 x 400 x 28,500 (each at its first quarter's proceeds,
    0.95 x 40,000 x 0.75). Opex = revenue - EBITDA = 54,750 of electricity + 400,000 of GPU opex +
    200,000 of overhead = 654,750 a quarter; no capex, proceeds or interest; the tax is no cost. At
    the end the GPUs are worth 7,600,000 (before tax). Present cost = DF_0 x 11,400,000 + (DF_0 + ...
    + DF_3) x 654,750 - DF_3 x 7,600,000 = 6,690,906.33, over 400 H100-equivalent GPUs in service x
    2,190 h x (DF_0 + ... + DF_3) = 3,302,537.55 discounted hours: $2.0260 an hour."""
    d = hand_model()
    d["finance"].pop("facilities")
    d["finance"].pop("covenants")
    result = solve(data_of(d), mip_gap=0.0, objective="cost")
    assert result.plan.retire.sum() == pytest.approx(0.0, abs=1e-6)
    fig = result.headline()
    cost = DF[0] * 11_400_000 + sum(DF) * 654_750 - DF[3] * 7_600_000
    hours = 400 * 2_190 * sum(DF)
    assert (cost, hours) == pytest.approx((6_690_906.33, 3_302_537.55), abs=0.01)
    assert fig["present_cost_opening_fleet_usd"] == pytest.approx(DF[0] * 11_400_000, abs=0.01)
    assert fig["present_cost_usd"] == pytest.approx(cost, abs=0.01)
    assert fig["compute_in_service_h100_hours_discounted"] == pytest.approx(hours, abs=0.01)
    assert fig["present_cost_per_h100_hour_usd"] == pytest.approx(2.0260, abs=1e-4)


def test_the_cost_optimum_prepays_what_falls_due_after_the_horizon_at_once():
    """formulation §6, "Cost", *Caveat*, with hand's term loan: principal is no cost and interest is,
    so the optimum draws nothing and prepays in 2026Q1 the 1,000,000 of the opening $2M that falls
    due after the horizon (§5.9: a prepayment cannot shorten the schedule of 250,000 a quarter).
    Interest 2 % of the balance before: 40,000, then 15,000, 10,000, 5,000 on 750,000, 500,000 and
    250,000 (35,000, 30,000, 25,000 kept). Present cost = the unlevered case's 6,690,906.33 + 40,000
    DF_0 + 15,000 DF_1 + 10,000 DF_2 + 5,000 DF_3 = 6,758,122.01; nothing is owed at the end."""
    result = solve(data_of(hand_model()), mip_gap=0.0, objective="cost")
    assert result.plan.draws[0] == pytest.approx([0.0] * 4, abs=0.01)
    assert result.plan.prepay[0] == pytest.approx([1_000_000.0, 0.0, 0.0, 0.0], abs=0.01)
    assert result.statements.lines["interest_usd"] == pytest.approx([40_000.0, 15_000.0, 10_000.0, 5_000.0],
                                                                    abs=0.01)  # fmt: skip
    cost = 6_690_906.33 + sum(DF[t] * i for t, i in enumerate([40_000, 15_000, 10_000, 5_000]))
    assert cost == pytest.approx(6_758_122.01, abs=0.01)
    assert result.headline()["present_cost_usd"] == pytest.approx(cost, abs=0.01)

r"""Forced retirement at `retirement.max_age_years`, worked by hand from docs/formulation.md (§1
"Timing", §3 "Cohort values", §5.2, §5.10, §6) and docs/evaluation.md (quarter steps 3-5) alone, on
tests/test_doc_cases.py's ``hand`` without its term loan and covenants (no debt, no interest).

**Sold in the first quarter not alive** (§5.2). `max_age_years: 1.6`, $A$ = 6.4 quarters. The 400
H100 were bought in 2025Q1, $b_c = -4$: alive while $t + 4 < 6.4$, in 2026Q1-Q3, and sold at the
start of 2026Q4 ($t_c = b_c + \lceil A\rceil = 3$) at the values of age 7 quarters (1.75 years):
proceeds 0.95 x 40,000 x 0.5625 = 21,375 against a book value of 40,000 x (1 - 7/16) = 22,500.
Held to then (the contract's term cut to 3 quarters, so that nothing is owed in 2026Q4): each
quarter of 2026Q1-Q3 as hand's optimum without the loan, EBITDA 1,403,850, depreciation 1,000,000,
EBT 403,850, tax 80,770, cash flow 1,323,080. 2026Q4: no GPU, EBITDA -200,000 (overhead), the
sale's loss 400 x 1,125 = 450,000, EBT -650,000, no tax; cash flow -200,000 + 8,550,000 =
8,350,000. Nothing is left at the end (terminal assets 0, no tax of a sale at the end).
NPV = (DF_0 + DF_1 + DF_2) x 1,323,080 + DF_3 x 8,350,000 = 11,376,147.20.
Selling a GPU in 2026Q3 instead would lose: DF_2 x (23,750 + 0.2 x 1,250) = 22,344 against
DF_2 x (4,119.13 - 0.2 x 1,619.13) + DF_3 x 21,375 = 22,965 held.

**In a scenario** whose resale values are 0.9 x the forecast's in 2026Q4, the forced sale fetches
7,695,000: the loss is larger, still untaxed (EBT below 0 either way), and the NPV is lower by
DF_3 x 855,000.
"""

from __future__ import annotations

import pytest
from milp_builders import data_of
from test_doc_cases import DF, hand_model, simulated

from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.milp.solve import solve


def unlevered(max_age_years: float, contract_quarters: int) -> dict:
    """hand without debt or covenants, retiring its GPUs at ``max_age_years``."""
    d = hand_model()
    d["finance"].pop("facilities")
    d["finance"].pop("covenants")
    d["contracts"]["lab-a-training"]["term_quarters"] = contract_quarters
    d["retirement"]["max_age_years"] = max_age_years
    return d


def test_a_cohort_is_sold_in_its_first_quarter_not_alive_at_that_age():
    data = data_of(unlevered(1.6, 3))
    result = solve(data, mip_gap=0.0)
    assert result.plan.retire.sum(axis=0) == pytest.approx([0.0, 0.0, 0.0, 400.0], abs=1e-6)
    lines = result.statements.lines
    assert lines["ebitda_usd"] == pytest.approx([1_403_850.0] * 3 + [-200_000.0], abs=0.01)
    assert lines["tax_usd"] == pytest.approx([80_770.0] * 3 + [0.0], abs=0.01)
    assert lines["cash_usd"][-1] == pytest.approx(5_000_000 + 3 * 1_323_080 + 8_350_000, abs=0.01)
    npv = sum(DF[:3]) * 1_323_080 + DF[3] * 8_350_000
    assert npv == pytest.approx(11_376_147.20, abs=0.01)
    assert result.statements.npv_usd == pytest.approx(npv, abs=0.01)
    assert simulated(data, result.plan, deterministic_scenarios(data))["npv"] == pytest.approx(npv, abs=0.01)
    scen = deterministic_scenarios(data)
    scen.resale_factor[0, 3] = 0.9
    assert simulated(data, result.plan, scen)["npv"] == pytest.approx(npv - DF[3] * 855_000, abs=0.01)


@pytest.mark.parametrize("objective", ["npv", "cost"])
def test_a_cohort_past_its_age_at_the_start_is_sold_in_the_first_quarter(objective):
    """`max_age_years: 0.9`, $A$ = 3.6 quarters: the 400 H100, aged 4 quarters at the start, are
    past it and sold at the start of 2026Q1 at age 4 quarters (§5.2): 0.95 x 40,000 x 0.75 = 28,500
    each against a book value of 30,000. With no demand and no contract nothing else happens:
    the overhead of 200,000 a quarter, no tax (2026Q1's EBT -200,000 - 600,000). NPV = DF_0 x
    (11,400,000 - 200,000) - (DF_1 + DF_2 + DF_3) x 200,000. The cost objective (§6) counts the
    fleet at the start, V^0 = DF_0 x 400 x 28,500, and credits the same sale in 2026Q1, so they
    net to 0: the present cost is the overhead's, (DF_0 + ... + DF_3) x 200,000 = 754,004.01."""
    d = unlevered(0.9, 3)
    d.pop("contracts")
    d["market"]["demand_gpus"] = {"training": 0, "inference": 0}
    data = data_of(d)
    result = solve(data, mip_gap=0.0, objective=objective)
    assert result.plan.retire.sum(axis=0) == pytest.approx([400.0, 0.0, 0.0, 0.0], abs=1e-6)
    npv = DF[0] * 11_200_000 - sum(DF[1:]) * 200_000
    assert result.statements.npv_usd == pytest.approx(npv, abs=0.01)
    fig = result.headline()
    assert fig["present_cost_opening_fleet_usd"] == pytest.approx(DF[0] * 11_400_000, abs=0.01)
    assert fig["present_cost_usd"] == pytest.approx(sum(DF) * 200_000, abs=0.01)
    assert sum(DF) * 200_000 == pytest.approx(754_004.01, abs=0.01)

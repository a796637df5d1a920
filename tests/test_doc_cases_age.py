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
DF_3 x 855,000. On the forecast the pair's utilisation (docs/evaluation.md, `mean_utilisation`) is
(1 + 1 + 1 + 0) / 4 = 0.75, 2026Q4 holding no GPU, and the market demand served 3 x 300 = 900
GPU-quarters (the contract's GPUs are not market demand).
"""

from __future__ import annotations

import pytest
from milp_builders import data_of
from test_doc_cases import DF, hand_model, simulated
from test_doc_cases_slip import CERTAIN, slip_model

from fleetopt.core.plan import Plan
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate
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
    forecast = simulated(data, result.plan, deterministic_scenarios(data))
    assert forecast["npv"] == pytest.approx(npv, abs=0.01)
    assert (forecast["utilisation"], forecast["demand_served"]) == pytest.approx((0.75, 900.0))
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


def h200_model(allocation: dict | None) -> dict:
    """``unlevered`` hand (the contract's 4 quarters, no max age) with $10M of opening cash, a
    training demand of 500 and an H200 (an H100 on sale in 2026Q1-Q2) at $40,000."""
    d = unlevered(None, 4)
    d["retirement"].pop("max_age_years")
    d["finance"]["opening_cash_usd"] = 10_000_000
    d["market"]["demand_gpus"]["training"] = 500
    d["skus"]["H200"] = {**d["skus"]["H100"], "available_from": "2026Q1", "available_until": "2026Q2"}
    if allocation:
        d["limits"] = {"new_gpus_per_quarter": allocation}
    return d


@pytest.mark.parametrize(("allocation", "bought"), [(None, [200, 0]), ({"hopper": 120}, [120, 80])])
def test_the_allocation_moves_purchases_to_a_later_quarter(allocation, bought):
    """formulation §5.14. The market has room for 200 GPUs more than hand's 300. An H200 bought in
    2026Q1 earns 4,119.13 a quarter (as an H100, test_doc_cases.py), is taxed on 4,119.13 - 2,500
    of depreciation, and is worth 0.95 x 40,000 x 0.75 = 28,500 at the end against a book value of
    30,000 (the 1,500 deducted in 2026Q4, whose taxable income stays positive):
    v_1 = -DF_0 x 40,000 + (DF_0 + ... + DF_3) x 3,795.30 + DF_3 x (28,500 + 300) = 1,432.01.
    Bought in 2026Q2 (three quarters, worth 0.95 x 40,000 x 0.8125 = 30,875 against 32,500):
    v_2 = -DF_1 x 40,000 + (DF_1 + DF_2 + DF_3) x 3,795.30 + DF_3 x (30,875 + 325) = 827.55.
    Both are worth buying, 2026Q1 more: without an allocation all 200 in 2026Q1; with 120 Hopper
    GPUs a quarter, 120 then and the other 80 in 2026Q2. (Replacing an H100 by an H200 loses:
    sold in 2026Q1 at 28,500 for an H200 at 40,000 worth 28,500 at the end, DF_3 x 28,500 -
    DF_0 x 11,500 = 14,680 against the H100 kept, worth 19,000 at the end: 17,273.)
    NPV = (DF_0 + ... + DF_3) x 1,323,080 + DF_3 x (7,600,000 + 80,000) + 120 v_1 + 80 v_2 (the
    last quarter's taxable income, 403,850 + 200 x 1,619.13 = 727,675, still above the fleet's loss
    at the end, 710,000, so every loss saves 20 %)."""
    data = data_of(h200_model(allocation))
    result = solve(data, mip_gap=0.0)
    h200 = data.sku_names.index("H200")
    assert 8 * result.plan.buy_blocks[h200].sum(axis=0) == pytest.approx([*bought, 0, 0], abs=1e-6)
    assert result.plan.retire.sum() == pytest.approx(0.0, abs=1e-6)
    net = 4_119.125 - 0.2 * 1_619.125
    v1 = -DF[0] * 40_000 + sum(DF) * net + DF[3] * (28_500 + 300)
    v2 = -DF[1] * 40_000 + sum(DF[1:]) * net + DF[3] * (30_875 + 325)
    assert (v1, v2) == pytest.approx((1_432.01, 827.55), abs=0.01)
    base = sum(DF) * 1_323_080 + DF[3] * 7_680_000
    assert result.statements.npv_usd == pytest.approx(base + bought[0] * v1 + bought[1] * v2, abs=0.01)



def short_lived(**finance) -> dict:
    """hand with `useful_life_years: 1.8`, L = 7.2 quarters (formulation §3, "Cohort values")."""
    d = hand_model(**finance)
    d["skus"]["H100"]["useful_life_years"] = 1.8
    return d


def test_a_life_of_a_fraction_of_a_quarter_depreciates_the_rest_in_its_last_quarter():
    """Ages 4-6 (2026Q1-Q3) depreciate 40,000 / 7.2 = 5,555.56 a GPU, age 7 (2026Q4) the remaining
    0.2 x 40,000 / 7.2 = 1,111.11, and the book value at the end is 0: 400 GPUs depreciate
    2,222,222.22 three times, then 444,444.44. With `tax_loss_carry_forward`, EBT -858,372.22,
    -893,372.22, -883,372.22 and 1,403,850 - 444,444.44 - 55,000 = 904,405.56: the pool of
    2,635,116.67 covers 2026Q4 and no tax is paid in the horizon. The loan is drawn whole as in hand
    (its cost, 0.96637 before tax, is below DF_0). Cash flows 3,113,850, 828,850, 838,850, 848,850.
    At the end the GPUs fetch 7,600,000 against a book value of 0, taxed with 2026Q4 (§5.10): y =
    904,405.56 - 2,635,116.67 = -1,730,711.11, so 0.2 x (y + 7,600,000) = 1,173,857.78.
    NPV = sum DF_t x flow_t + DF_3 x (7,600,000 - 1,173,857.78 - 2,250,000) = 9,179,963.57.
    No GPU is sold early: every dollar of gain is taxed at 20 % at the end in any case, and a GPU
    kept earns 4,119.13 a quarter against 2,375 of proceeds lost."""
    data = data_of(short_lived(tax_loss_carry_forward=True))
    result = solve(data, mip_gap=0.0)
    assert result.plan.retire.sum() == pytest.approx(0.0, abs=1e-6)
    lines = result.statements.lines
    assert lines["depreciation_gpu_usd"] == pytest.approx([16e6 / 7.2] * 3 + [3.2e6 / 7.2], abs=0.01)
    assert lines["tax_usd"] == pytest.approx([0.0] * 4, abs=0.01)
    assert result.statements.liquidation_tax_usd == pytest.approx(0.2 * (7_600_000 - 1_730_711.11), abs=0.01)
    flows = [3_113_850.0, 828_850.0, 838_850.0, 848_850.0]
    npv = sum(DF[t] * f for t, f in enumerate(flows)) + DF[3] * (7_600_000 - 1_173_857.78 - 2_250_000)
    assert npv == pytest.approx(9_179_963.57, abs=0.01)
    assert result.statements.npv_usd == pytest.approx(npv, abs=0.01)
    assert simulated(data, result.plan, deterministic_scenarios(data))["npv"] == pytest.approx(npv, abs=0.01)


def test_without_carry_forward_gpus_are_sold_into_the_loss_quarters_until_their_ebt_is_0():
    """formulation §6, "Tax at the end": the same model without `tax_loss_carry_forward`. A GPU's
    gain on sale is untaxed in a quarter of negative EBT, and taxed at 20 % at the end. Sold at the
    start of 2026Q3 (age 6) it fetches 23,750 against a book value of 6,666.67 and raises that
    quarter's EBT by the gain 17,083.33 + its depreciation 5,555.56 - its earnings 4,119.13 =
    18,519.77; sold in 2026Q2 (age 5), 26,125 against 12,222.22: 2026Q2's EBT by 15,339.20 and
    2026Q3's by 5,555.56 - 4,119.13 = 1,436.43. Kept, it is worth from 2026Q3 DF_2 x 4,119.13 +
    DF_3 x (4,119.13 - 0.2 x 3,008.01 + 0.8 x 19,000) = 20,850.89 against DF_2 x 23,750 =
    22,111.55 sold; from 2026Q2, DF_1 x 4,119.13 + 20,850.89 = 24,778.32 against 24,909.21 sold
    (+130.89, less the 1,436.43 / 18,519.77 of a 2026Q3 sale it displaces, 97.78: still +33.11).
    Sold beyond EBT 0 the gain is taxed at once (20 % of 18,519.77 at DF_2, 3,448.43, more than
    1,260.66) and a sale in 2026Q1 loses (DF_0 x 28,500 = 27,828.94 against 28,800.45 kept). So the
    MILP sells n_1 = 893,372.22 / 15,339.20 = 58.2411 GPUs in 2026Q2 and n_2 = (883,372.22 - n_1 x
    1,436.43) / 18,519.77 = 43.1816 in 2026Q3, bringing both quarters' EBT to exactly 0."""
    data = data_of(short_lived())
    result = solve(data, mip_gap=0.0)
    gain, dep, earn = 13_902.78, 16e6 / 7.2 / 400, 4_119.125
    n1 = (893_372.22) / (gain + dep - earn)
    n2 = (883_372.22 - n1 * (dep - earn)) / (17_083.33 + dep - earn)
    assert (n1, n2) == pytest.approx((58.2411, 43.1816), abs=1e-4)
    assert result.plan.retire.sum(axis=0) == pytest.approx([0.0, n1, n2, 0.0], abs=1e-4)
    lines = result.statements.lines
    ebt = lines["net_income_usd"] + lines["tax_usd"]
    assert ebt[1:3] == pytest.approx([0.0, 0.0], abs=1.0)
    assert lines["tax_usd"][:3] == pytest.approx([0.0] * 3, abs=0.01)


def test_the_headline_of_the_fleet_sold_before_the_end():
    """formulation §7, `summary.json`, on the first case: nothing is held at the end, so the terminal
    equity is 0 and every figure is the quarters' changes in cash ΔC = 1,323,080 (three times) and
    8,350,000. `npv_at_other_rates_usd` at 5 % and 15 %: sum ΔC_t x (1 + r)^-(t+1)/4 = 11,826,154.66
    and 10,963,711.35. `npv_cash_held_usd`, every change kept to the last quarter: DF_3 x 12,319,240 =
    11,199,309.09; the cash timing credit, sum ΔC_t (DF_t - DF_3) = 1,323,080 x (DF_0 + DF_1 + DF_2
    - 3 DF_3) = 176,838.10, the difference. `gpus_retired` counts the forced sale (plan.csv: "GPUs
    past their maximum age are retired like any others"): 400."""
    fig = solve(data_of(unlevered(1.6, 3)), mip_gap=0.0).headline()
    at = {r: sum((1 + r) ** (-(t + 1) / 4) * f for t, f in enumerate([1_323_080] * 3 + [8_350_000]))
          for r in (0.05, 0.15)}  # fmt: skip
    assert (at[0.05], at[0.15]) == pytest.approx((11_826_154.66, 10_963_711.35), abs=0.01)
    assert fig["npv_at_other_rates_usd"] == pytest.approx({"5%": at[0.05], "15%": at[0.15]}, abs=0.01)
    assert fig["npv_terminal_usd"] == pytest.approx(0.0, abs=0.01)
    assert fig["npv_cash_held_usd"] == pytest.approx(DF[3] * 12_319_240, abs=0.01)
    assert DF[3] * 12_319_240 == pytest.approx(11_199_309.09, abs=0.01)
    assert fig["cash_timing_credit_usd"] == pytest.approx(176_838.10, abs=0.01)
    assert fig["gpus_retired"] == pytest.approx(400.0, abs=1e-6)


def aged_slip_plan(data) -> Plan:
    """100 GPUs of B bought in 2026Q2 for the training market, held two quarters and sold at their
    maximum age at the start of 2026Q4."""
    p = Plan.empty(data)
    cohort = next(c.index for c in data.cohorts if c.is_purchase and c.sku == 0 and c.bought == 1)
    p.buy_blocks[0, 0, 1] = 100
    p.held_training[cohort, 1:3] = 100
    p.retire_training[cohort, 3] = 100
    p.active[0, 0, 0, 1:3] = 100
    return p


@pytest.mark.parametrize(("slip", "npv"), [(None, 402_771.52), (CERTAIN, 197_632.83)])
def test_a_late_delivery_is_sold_at_the_planned_quarter_at_its_own_younger_age(slip, npv):
    """docs/evaluation.md, "Delivery slips", with formulation §5.2. tests/test_doc_cases_slip.py's
    SKU B (on sale from 2026Q2, $10,000, worth 10,000 x (1 - a / 8) at age a quarters, its book
    value, nothing lost on a sale) with `max_age_years: 0.5` (A = 2 quarters), no contract and no
    draw, on the training market at $2 an hour: a GPU earns 4,380 - 219 of electricity = 4,161 a
    quarter, depreciates 1,250, taxed at 20 %. The plan buys 100 in 2026Q2, which must be sold at
    the start of 2026Q4 (age 2): flows -1,000,000 + 416,100 - 58,220 = -642,120 in 2026Q2, 357,880
    in 2026Q3 and 100 x 7,500 = 750,000 in 2026Q4 (no gain, no tax): NPV = -642,120 DF_1 + 357,880
    DF_2 + 750,000 DF_3. One quarter late, the GPUs arrive in 2026Q3, paid then, and join the cohort
    bought then (alive to 2026Q4, forcing nothing in the horizon); the plan's sale in 2026Q4 is
    kept, at their age on delivery, 1 quarter: 8,750 each, their book value: NPV = -642,120 DF_2 +
    875,000 DF_3."""
    data = data_of(aged_slip_model(slip))
    out = evaluate(data, compile_plans(data, [aged_slip_plan(data)], ["p"]), 1, 0, backend="numpy")
    flows = [0.0, -642_120.0, 357_880.0, 750_000.0] if slip is None else [0.0, 0.0, -642_120.0, 875_000.0]
    assert sum(DF[t] * f for t, f in enumerate(flows)) == pytest.approx(npv, abs=0.01)
    assert out.metrics["npv_mean_usd"][0] == pytest.approx(npv, abs=0.01)


def aged_slip_model(slip: dict | None) -> dict:
    d = slip_model(slip, contract=False)
    d["finance"]["facilities"] = {}
    d["market"]["price_usd_per_gpu_hour"]["training"] = {"all": 2.0}
    d["retirement"]["max_age_years"] = 0.5
    return d


def test_gpus_redeployed_to_inference_are_sold_at_the_same_age():
    """§5.2's row for each configuration (`forced_training`, `forced_inference`): the first case with
    a training demand of 200 and an inference demand of 100 at $3.00 (tests/test_doc_cases_tax.py's
    redeployment case). Redeployed at the start of 2026Q1 ($1,500 each), a GPU earns 4,119.13 a
    quarter for three quarters and is sold at 21,375 in 2026Q4: DF_0 x (4,119.13 - 1,500) + (DF_1 +
    DF_2) x 4,119.13, less about DF_0 x 0.2 x (3 x 1,619.13 - 1,500) of tax, + DF_3 x 21,375 = 29,096 against
    DF_0 x (28,500 + 0.2 x 1,500) = 28,122 sold at once: the 100 idle are redeployed, and all 400
    are sold at the start of 2026Q4, 300 configured for training and 100 for inference. Only
    2026Q1 differs from the first case: 150,000 of redeployment, 30,000 less tax, so NPV =
    11,376,147.20 - DF_0 x 120,000 = 11,258,972.70."""
    d = unlevered(1.6, 3)
    d["market"]["demand_gpus"] = {"training": 200, "inference": 100}
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"hopper": 3.0}
    result = solve(data_of(d), mip_gap=0.0)
    plan = result.plan
    assert plan.redeploy.sum(axis=0) == pytest.approx([100.0, 0.0, 0.0, 0.0], abs=1e-6)
    assert plan.retire_training.sum(axis=0) == pytest.approx([0.0, 0.0, 0.0, 300.0], abs=1e-6)
    assert plan.retire_inference.sum(axis=0) == pytest.approx([0.0, 0.0, 0.0, 100.0], abs=1e-6)
    npv = sum(DF[:3]) * 1_323_080 + DF[3] * 8_350_000 - DF[0] * 120_000
    assert npv == pytest.approx(11_258_972.70, abs=0.01)
    assert result.statements.npv_usd == pytest.approx(npv, abs=0.01)


def test_a_fleet_sold_at_its_age_leaves_no_collateral_so_the_loan_is_repaid_with_it():
    """The first case with hand's term loan (no covenants: 2026Q4's EBITDA is -200,000). In 2026Q4 the
    fleet held is 0, so is the collateral (§3: $R_{c,t}$ is 0 where not alive), and the borrowing
    base (§5.9, `max_ltv` 0.9) holds only with no GPU-secured debt at the end of the quarter: the
    balance left after that quarter's instalment is prepaid from the sale's proceeds. The draw still
    pays: a dollar drawn in 2026Q1 costs 0.145 DF_1 + 0.1425 DF_2 + (0.015 + 0.125 + 0.625) DF_3 =
    0.96638 < DF_0 before tax (the same as hand's, where the 0.625 is owed at the end). So 2026Q1-Q3
    are hand's (flows 3,041,080, 763,080, 771,080), and 2026Q4: interest 55,000, instalments
    500,000, prepayment 2,250,000, proceeds 8,550,000, EBT -200,000 - 450,000 - 55,000 < 0, no tax:
    flow 5,545,000, nothing owed or held at the end. NPV = 3,041,080 DF_0 + 763,080 DF_1 + 771,080
    DF_2 + 5,545,000 DF_3 = 9,455,837.40, and the evaluator's forecast finds no breach of the base."""
    d = hand_model()
    d["finance"].pop("covenants")
    d["contracts"]["lab-a-training"]["term_quarters"] = 3
    d["retirement"]["max_age_years"] = 1.6
    data = data_of(d)
    result = solve(data, mip_gap=0.0)
    assert result.plan.retire.sum(axis=0) == pytest.approx([0.0, 0.0, 0.0, 400.0], abs=1e-6)
    assert result.plan.draws[0] == pytest.approx([2_000_000.0, 0.0, 0.0, 0.0], abs=0.01)
    assert result.plan.prepay[0] == pytest.approx([0.0, 0.0, 0.0, 2_250_000.0], abs=0.01)
    lines = result.statements.lines
    assert lines["collateral_value_usd"][3] == pytest.approx(0.0, abs=0.01)
    assert lines["debt_usd"][3] == pytest.approx(0.0, abs=0.01)
    npv = sum(DF[t] * f for t, f in enumerate([3_041_080, 763_080, 771_080, 5_545_000]))
    assert npv == pytest.approx(9_455_837.40, abs=0.01)
    assert result.statements.npv_usd == pytest.approx(npv, abs=0.01)
    forecast = simulated(data, result.plan, deterministic_scenarios(data))
    assert forecast["npv"] == pytest.approx(npv, abs=0.01)
    assert not forecast["breach"]


def test_gpus_the_plan_sells_later_may_be_sold_in_distress_before():
    """docs/evaluation.md, policy rule 4: a distress sale takes at most min(the plan's market GPUs of
    g at t, min over the later quarters t' with GPUs of g under contract of (GPUs of g held - GPUs of
    g under contract) at t'). No opening cash, a default level of 0 (`min_cash_usd` 0), lots of 10,
    and Hopper's market price 0 in 2026Q1: EBITDA 1,403,850 - 1,576,800 = -172,950. The contract
    (100 GPUs, 2026Q1-Q3) leaves 300 spare in 2026Q2-Q3; the fleet sold at its maximum age in
    2026Q4 no longer bounds the cap (until 0.4.21 it did: 0, nothing sold, a default). So
    ceil(172,950 / (10 x 28,500)) = 1 lot is sold: 285,000, cash 112,050, no default; 2026Q2-Q3 as
    in the next test: cash 1,400,177 and 2,685,304. 2026Q4: the plan sells its 400 and keeps none:
    min(10, 400) - min(10, 0) = 10 of its sale are gone, 390 sell at 21,375 = 8,336,250, EBITDA
    -200,000, loss 390 x 1,125, no tax: cash 2,685,304 + 8,136,250 = 10,821,554; nothing is left at
    the end, so NPV = DF . (112,050, 1,288,127, 1,285,127, 8,136,250) = 9,930,652.72."""
    d = unlevered(1.6, 3)
    d["finance"].update(opening_cash_usd=0, min_cash_usd=0)
    d["policy"] = {"sale_block_gpus": 10}
    data = data_of(d)
    plan = solve(data, mip_gap=0.0).plan
    assert plan.retire.sum(axis=0) == pytest.approx([0.0, 0.0, 0.0, 400.0], abs=1e-6)
    scen = deterministic_scenarios(data)
    scen.price_factor[0, 0, 0] = 0.0
    out = simulated(data, plan, scen)
    assert out["distress_sold_usd"] == pytest.approx(285_000.0, abs=0.01)
    assert out["cash_usd"] == pytest.approx([112_050.0, 1_400_177.0, 2_685_304.0, 10_821_554.0], abs=0.01)
    assert not out["default"]
    flows = [112_050.0, 1_288_127.0, 1_285_127.0, 8_136_250.0]
    assert sum(DF[t] * f for t, f in enumerate(flows)) == pytest.approx(9_930_652.72, abs=0.01)
    assert out["npv"] == pytest.approx(9_930_652.72, abs=0.01)


def test_a_distress_sale_leaves_the_plan_s_own_later_sale_whole():
    """docs/evaluation.md, "GPUs taken out": the plan's own sale of g is cut only by the GPUs the
    company no longer holds once those the plan keeps are all gone. The case above without a
    maximum age: 10 of the 300 market GPUs are sold in distress in 2026Q1 (285,000, cash 112,050,
    the loss 10 x (30,000 - 28,500) taxed in 2026Q2). 2026Q2-Q3: 290 market GPUs earn 1,403,850 -
    10 x 4,119.125 = 1,362,658.75, depreciation 390 x 2,500 = 975,000: tax 0.2 x (387,658.75 -
    15,000) = 74,531.75, then 77,531.75; cash 1,400,177 and 2,685,304. 2026Q4: the plan sells the
    100 its ended contract leaves idle and keeps 300: min(10, 400) - min(10, 300) = 0 of its sale
    are gone, all 100 sell at 21,375, 2,137,500 (until 0.4.21: 100 x 290 / 300 = 96.67 for
    2,066,250, 3.33 GPUs neither sold nor held); EBITDA 994,546.25, depreciation 290 x 2,500,
    loss 100 x 1,125: tax 0.2 x 157,046.25 = 31,409.25, cash 2,685,304 + 994,546.25 - 31,409.25 +
    2,137,500 = 5,785,941 (until 0.4.21: 5,713,941). The 10 stay missing: 290 of the 300 are
    valued at the end."""
    d = unlevered(1.6, 3)
    d["retirement"].pop("max_age_years")
    d["finance"].update(opening_cash_usd=0, min_cash_usd=0)
    d["policy"] = {"sale_block_gpus": 10}
    data = data_of(d)
    plan = solve(data, mip_gap=0.0).plan
    assert plan.retire.sum(axis=0) == pytest.approx([0.0, 0.0, 0.0, 100.0], abs=1e-6)
    scen = deterministic_scenarios(data)
    scen.price_factor[0, 0, 0] = 0.0
    out = simulated(data, plan, scen, record=("cash_usd", "tax_usd"))
    assert out["distress_sold_usd"] == pytest.approx(285_000.0, abs=0.01)
    assert out["tax_usd"] == pytest.approx([0.0, 74_531.75, 77_531.75, 31_409.25], abs=0.01)
    assert out["cash_usd"] == pytest.approx([112_050.0, 1_400_177.0, 2_685_304.0, 5_785_941.0], abs=0.01)


@pytest.mark.parametrize(("max_age_years", "quarter", "proceeds"), [(1.5, 2, 23_750.0), (1.75, 3, 21_375.0)])
def test_a_whole_number_of_quarters_of_age_sells_in_the_quarter_reached(max_age_years, quarter, proceeds):
    """§5.2: alive while the age is *below* A. `max_age_years: 1.5`, A = 6: alive at ages 4 and 5
    (2026Q1-Q2), sold at the start of 2026Q3 at age 6, 0.95 x 40,000 x 0.625 = 23,750 each (the
    contract cut to the two quarters alive); 1.75, A = 7: sold in 2026Q4 at age 7, as for 1.6."""
    data = data_of(unlevered(max_age_years, quarter))
    result = solve(data, mip_gap=0.0)
    sold = [0.0] * 4
    sold[quarter] = 400.0
    assert result.plan.retire.sum(axis=0) == pytest.approx(sold, abs=1e-6)
    lines = result.statements.lines
    assert lines["disposal_proceeds_usd"][quarter] == pytest.approx(400 * proceeds, abs=0.01)

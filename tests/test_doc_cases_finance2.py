r"""The borrowing base and a refinanced bullet, worked by hand from docs/formulation.md (§1, §3, §5.9,
§5.10, §6) and docs/evaluation.md (quarter steps 5-6, "From the draws to the factors") alone, on the
model ``hand`` of tests/test_doc_cases.py (its docstring has the forecast's figures: NPV
10,050,246.49; $DF_t$ = 0.976454, 0.953463, 0.931012, 0.909091).

**The borrowing base in the MILP** (§5.9, `borrowing_base`). ``hand`` with the term loan's
`max_ltv` at 0.3 and the covenants tested from 2026Q4 only. The collateral is the fleet's gross
resale value at the age at the start of each quarter, $R_{c,t}=\kappa_c\rho_s(\alpha_{c,t}/4)$:
400 x 40,000 x (0.75, 0.6875, 0.625, 0.5625) = 12M, 11M, 10M, 9M, so the balance may be at most
0.3 of it: 3.6M, 3.3M, 3.0M, 2.7M. The whole $2M draw is worth having (tests/test_doc_cases.py), but
the balance at the end of 2026Q1 is 2M - 250,000 + d <= 3.6M: d = 1.85M (later quarters: 1.5M +
7d/8 = 3,118,750, 1.25M + 6d/8 = 2,637,500, 1M + 5d/8 = 2,156,250, within 3.3M, 3.0M, 2.7M).
Against the hand optimum the 150,000 not drawn changes the cash flows by -150,000 in 2026Q1, then
+21,150 (interest 3,000 + principal 18,750 less the tax on the interest, 600), +20,850 (2,625 +
18,750 - 525), +20,550 (2,250 + 18,750 - 450); at the end 93,750 less debt (150,000 less three
instalments) and the last quarter's 450 of tax back through the liquidation tax (the fleet's loss
of 400,000 exceeds the last quarter's EBT, so that tax is refunded whole, §5.10): NPV
10,050,246.49 - 150,000 DF_0 + 21,150 DF_1 + 20,850 DF_2 + 114,750 DF_3 = **10,047,673.90**. Cash
7,891,080, 8,675,310, 9,467,240, 10,266,870. The base is used in full in 2026Q1: headroom 0, the
tightest covenant. The other tests, in 2026Q4 only (formulation §7's `covenant_headroom` and
`covenant_cushion`): debt / EBITDA 2,156,250 / (4 x 1,403,850) = 0.383999 against 6, headroom
1 - 0.383999 / 6 = 0.936002; DSCR 1,403,850 / (52,750 + 481,250) = 2.62893 against 1.2, headroom
1.19078, cushion 1.19078 / 2.19078 = 0.54354; cash 10,266,870 against 1M, headroom 9.26687, cushion
1 - 1M / 10,266,870 = 0.90260. The lowest cash over every quarter is 7,891,080, the peak debt 3.6M.
The statements' `collateral_value_usd` 12M, 11M, 10M, 9M, `collateral_required_usd` 12M, 10,395,833.33,
8,791,666.67, 7,187,500 and `borrowing_base_used` 1, 0.945076, 0.879167, 0.798611. With
`retirement.resale: false` the collateral is the same gross resale value (§9), and so is the draw.

**The borrowing base in the evaluator** (quarter step 6). The same plan under the forecast with
the resale factor at 0.9 in 2026Q2 and 0.85 in 2026Q3: the collateral needed is each balance /
0.3, 10,395,833 and 8,791,667, against 11M x 0.9 = 9.9M and 10M x 0.85 = 8.5M: breaches in
quarters 1 and 2 (mask 32, though the covenants are tested only from 2026Q4: the base is tested in
every quarter). Quarter 1 is cured, quarter 2 (the quarter after a cure) is uncured, owing
2,637,500. No GPU is sold and the last quarter's factor is 1: the NPV is the MILP's. Had the lenders
accelerated there ("The NPV if lenders accelerate"): the 400 GPUs fetch Pr_{c,2} x 0.85 = 23,750 x
0.85 each (age 6 quarters, the start of the quarter), V_U = 8,075,000, with cash 9,467,240 against
2,637,500 owed: nothing uncovered, and NPV_accelerated = DF_0 x 2,891,080 + DF_1 x 784,230 - DF_2 x
8,675,310 + DF_2 x (8,075,000 + 9,467,240 - 2,637,500) = 9,370,417.71. With 0.9 in
2026Q2 and 0.85 in 2026Q4 instead: 2026Q4 needs 7,187,500 against 9M x 0.85 = 7.65M, no breach;
quarter 1 is cured; the GPUs fetch 0.85 x 7.6M at the end, still a loss larger than the last
quarter's EBT: NPV lower by DF_3 x 1,140,000.

**Without a covenants block** the base is still tested, with 5 cures and none in two quarters in a
row (quarter step 6): the plan's breaches in quarters 1 and 2 above leave quarter 2 uncured.

**A distress sale and the base** (quarter step 6: "a GPU sold in distress counts until the end of
the quarter it is sold in"; policy rule 4). ``hand`` without covenants, no opening cash, a $200,000
revolver at 12 % and lots of 10 GPUs (its `max_ltv` 0.9; the plan is the hand optimum's). From
2026Q2 Hopper's price is 0 and lab-a has defaulted (EBITDA -654,750): cash 3,041,080, then
1,811,330, then 591,580 in 2026Q3, 408,420 below the $1M minimum; the revolver lends 200,000 and,
with the resale factor at 0.31 that quarter, a GPU (age 6 quarters) fetches 0.95 x 25,000 x 0.31 =
7,362.50: 3 lots (30 GPUs, 220,875), cash 1,012,455. The base needs 2.75M / 0.9 = 3,055,556 against
the 400 GPUs' 400 x 25,000 x 0.31 = 3.1M, the 30 sold still counted: no breach (without them,
370 x 7,750 = 2,867,500, a breach). In 2026Q4 the 370 left cost 370 x (1,000 + 136.875) (their opex
and full draw; the sold GPUs neither) + 200,000: EBITDA -620,643.75; interest 55,000 + 6,000
(the revolver, 3 %), principal 500,000: cash -169,188.75, the revolver full, so 6 lots at 21,375
(1,282,500): cash 1,113,311.25; the base (370 x 22,500 against 2.5M) holds. No breach at all.

**A prepayment made for the base is not cut** (policy rule 3, "The borrowing base"). ``hand`` with
`max_ltv` 0.125: the base allows 1.5M, 1.375M, 1.25M, 1.125M, and the opening 2M amortising
250,000 a quarter owes 1.75M after 2026Q1: the MILP prepays 250,000 then (prepaying more loses:
8 % against 10 %; a draw cannot fit) and owes 1.5M, 1.25M, 1M, 750,000. Interest 40,000, 30,000,
25,000, 20,000; tax 72,770, 74,770, 75,770, 76,770; cash flows 791,080, 1,049,080, 1,053,080,
1,057,080; at the end 7.6M + 76,770 - 750,000: NPV 10,011,187.87. Evaluated with a
`liquidity_buffer_usd` of 4.9M: after the prepayment cash would be 5,791,080, 108,920 below 1M +
4.9M, but the base is used in full in 2026Q1 (1.5M / 0.125 = 12M against 12M): its room is 0, so
nothing is cut; cash 5,791,080, no breach, the NPV the MILP's. With the resale factor at 1.01 in
2026Q1 the fleet is worth 12.12M: room 120,000, for 120,000 x 0.125 = 15,000 of debt kept, so
15,000 is cut (not 108,920) and the base is met exactly (1,515,000 / 0.125 = 12.12M). Its
instalment falls after the horizon (the plan's own 1.5M needs every instalment inside it), so it
stays owed to the end. Cash 5,806,080; interest 2 % x 15,000 = 300 more a quarter (less 20 % tax,
the last quarter's back at the end): NPV + 15,000 DF_0 - 240 (DF_1 + DF_2) - (300 + 15,000) DF_3.

The same with the 400 H100 in two cohorts of 200, bought 2025Q1 and 2025Q3 (ages 6 and 4 quarters
in 2026Q3: net values 23,750 and 28,500, the plan's average GPU 26,125; the same EBITDA, interest and
tax, the plan the same) and the resale factor at 0.29: a GPU fetches 26,125 x 0.29 = 7,576.25, 3
lots (227,287.50), cash 1,018,867.50; the base needs 3,055,556 against (200 x 25,000 + 200 x
30,000) x 0.29 = 3.19M with the 30 sold (370/400 of it, 2,950,750, without them): no breach. In
2026Q4 the average GPU fetches (21,375 + 26,125) / 2 = 23,750 (the plan's cohorts, each weighted by
its GPUs held): cash 1,018,867.50 - 620,643.75 - 61,000 - 500,000 = -162,776.25, 5 lots
(1,187,500), cash 1,024,723.75.

**The sweep's collateral haircut** (§5.9, §7a `collateral_scale`): with
`resale_value_volatility_annual` 0.2, $\kappa=e^{-1.645\times0.2-0.02}$ = 0.705414 (1.6448536 the
normal's 95 % quantile), so in 2026Q1 the balance may be 0.3 x 12M x 0.705414 = 2,539,489.62: d =
789,489.62 (2026Q2 would allow 0.3 x 11M x 0.705414 = 2,327,865.49 >= 1.5M + 7d/8, and so on).

**In the stochastic solve** (§7b, "Scenario parameters": each scenario copy values the collateral
at its scenario's resale factor, `collateral_scale`, as the evaluator does). The base model with
the draw window moved to 2026Q2 and `resale_value_volatility_annual` 0.2: on the forecast the draw
is d = 3.3M - 1.5M = 1.8M (the balance at the end of 2026Q2 against 0.3 x 11M), interest 40,000,
35,000, 66,000, 56,500, tax 72,770, 73,770, 67,570, 69,470, cash flows 1,041,080, 2,845,080,
795,280, 802,880, at the end 7.6M + 69,470 - 2.35M: EV = **10,035,432.47**. A dollar drawn in
2026Q2 pays 0.02 interest (less 0.2 of it in tax) and 1/8 in each later quarter, 0.75 owed at the
end; the last quarter's tax comes back at the end where the fleet's sale makes a loss (§5.10), so
its interest saves none: it is worth $v_d$ = DF_1 - 0.141 DF_2 - (0.0175 + 0.125 + 0.75) DF_3 =
0.010826 (with a gain at the end, 0.8890 DF_3: 0.014008). A dollar prepaid in 2026Q3 (principal
due after the horizon) is worth $v_p$ = -DF_2 + 1.02 DF_3 = -0.003740 (-DF_2 + 1.016 DF_3 =
-0.007376). Seed 4's two scenarios (`screen` 2, N 2, p = 1/2 each; the first stage is the whole
horizon): scenario 0's resale factors are 0.811253, 0.725999 and 0.782458 in 2026Q2-Q4, scenario
1's above 1 throughout. At the forecast's draw scenario 0's collateral falls short by 11M (1 -
0.811253) = 2,076,216.98 in 2026Q2, 2.825M / 0.3 - 10M x 0.725999 = 2,156,674.53 in 2026Q3 and
2.35M / 0.3 - 9M x 0.782458 = 791,207.08 in 2026Q4, cured once (EEV) by repaying 0.3 of the largest,
0.3 x 2,156,674.53 = 647,002.36, at 11 per USD (§7b "Recourse": 7,117,025.95; at 11 per USD of
collateral in each quarter, until 2026-12-07, 11 x 5,024,098.59). A dollar over the scenario's base
costs 0.5 x 11 of value (repaid once) against the 0.010826 it is worth, so RP draws d* =
0.3 x 11M x 0.811253 - 1.5M = 1,177,134.91 and prepays p* = 1.25M + 7d*/8 - 0.3 x 10M x 0.725999
= 101,995.40 in 2026Q3 (2026Q4 then has room: 1M + 6d*/8 - p* = 1,780,855.78 against 2,112,637.88);
no copy pays a cure. Scenario 0's NPV is EV - DF_3 x 7.6M (1 - 0.782458) - (1.8M - d*) v_d + p* v_p;
VSS = RP - EEV = 0.5 (11 x 647,002.36 - (1.8M - d*) 0.010826 - 101,995.40 x 0.003740) + 0.5
(-(1.8M - d*) 0.014008 - 101,995.40 x 0.007376) = 3,550,211.92 (27,624,241.19 at 11 per USD of
collateral in each quarter). The evaluator finds the forecast
optimum's breach in 2026Q2, and none in the stochastic plan, whose base is met exactly there.
Before, the copies valued the collateral at the forecast's 11M: no cure, RP = EEV, the forecast's
draw kept, the breach the evaluator counts unseen.

**Two GPU-secured loans share one base** (§5.9: $\sum_f D_{f,t}/\lambda_f$ against the fleet's
value). Beside the term loan at 0.3, $1M of notes at 8 % fixed, a bullet maturing after the horizon
with `max_ltv` 0.5, which uses 2M of the collateral in every quarter (prepaying them to free it does
not pay: 8 % against 10 % discounting): the term loan may owe 0.3 x (12M - 2M) = 3M at the end of
2026Q1, so d = 1.25M (then 2,593,750 / 0.3 + 2M = 10,645,833 <= 11M, 2,187,500 / 0.3 + 2M =
9,291,667 <= 10M, 1,781,250 / 0.3 + 2M = 7,937,500 <= 9M). With the resale factor at 0.95 in 2026Q2
the collateral is 10.45M: a breach, though each loan is within its own loan-to-value (2,593,750 /
10.45M = 0.248 < 0.3, 1M / 10.45M = 0.096 < 0.5).

**A refinanced bullet** (§5.9 "Refinanced bullets"; evaluation quarter step 5). ``hand`` with its
term loan replaced by $1M of notes at the reference rate (4 %) + 4 %, maturing in 2026Q2 and
refinanced at the reference rate + 5 %. Interest is 8 % / 4 x 1M = 20,000 in 2026Q1 and in 2026Q2
(the maturity quarter's interest is on the maturing note), then 9 % / 4 x 1M = 22,500; no
principal; 1M owed at the end. EBT 383,850, 383,850, 381,350, 381,350, tax 20 %: 76,770, 76,770,
76,270, 76,270; cash flows 1,307,080, 1,307,080, 1,305,080, 1,305,080; at the end 7,600,000 -
1,000,000 + 76,270 (the last quarter's tax back, as above): NPV **$10,993,373.94**. In a scenario
with `rate_shift` (0, 0.01, 0.02, -0.01) and `spread_shift` (0, 0.01, 0.01, -0.02) the interest is
20,000; (4 % + 4 % + 1 %) / 4 = 22,500 (the old note floats with the reference rate, its margin
does not follow the spread shift, nor does the maturity quarter; at 8 % fixed instead it stays
20,000, and the new note floats all the same); (4 % + 5 % + 2 % + 1 %) / 4 =
30,000; (4 % + 5 % - 1 % - 2 %) / 4 = 15,000. The NPV moves by -0.8 x 2,500 DF_1 - 0.8 x 7,500
DF_2 + 7,500 DF_3 = -674.82 (the last quarter's change of tax comes back at the end).

**A refinanced bullet can be prepaid** (§5.9: its balance is never scheduled, so unlike a bullet
repaid at a maturity inside the horizon it may be prepaid in any quarter, its maturity quarter
included). Refinanced at the reference rate + 10 % (14 %, a quarter 3.5 %), above the 10 % discount
rate: a dollar prepaid in 2026Q1 is worth -DF_0 + 0.02 x 0.8 DF_1 + 0.035 x 0.8 DF_2 + 0.035 DF_3 +
DF_3 = +0.0058, in 2026Q2 -DF_1 + 0.035 x 0.8 DF_2 + 1.035 DF_3 = +0.0135 (the last quarter's tax
effect comes back at the end while the fleet's loss exceeds its EBT), in 2026Q3 -DF_2 + 1.035 DF_3 =
+0.0099: the MILP prepays the whole 1M in 2026Q2. Interest 20,000, 20,000, 0, 0; tax 76,770,
76,770, 80,770, 80,770; cash flows 1,307,080, 307,080, 1,323,080, 1,323,080; at the end the fleet's
loss of 400,000 against the last quarter's EBT of 403,850 leaves 3,850 taxable: liquidation tax
770 - 80,770 = -80,000; NPV = sum DF_t x flows + DF_3 x 7,680,000 = 10,985,515.03. Evaluated with a
$10M `liquidity_buffer_usd` (cash 6,614,160 after the prepayment, below 11M) the whole prepayment
is cut and kept: nothing of a refinanced bullet is ever scheduled, so it is owed to the end, at the
refinanced rate plus the scenario's shifts: with `spread_shift` 0.02 from 2026Q3, (4 % + 10 % +
2 %) / 4 x 1M = 40,000 a quarter. Tax 8,000 lower a quarter; the last quarter's EBT, 363,850, is now
below the fleet's loss: liquidation tax -72,770. NPV + 1M DF_1 - 32,000 (DF_2 + DF_3) - (1M +
80,000 - 72,770) DF_3.

With the old notes at the reference rate + 12 % (16 %), a dollar prepaid in 2026Q1 gains -DF_0 +
0.04 x 0.8 DF_1 + 0.035 x 0.8 DF_2 + 1.035 DF_3 = +0.0210, more than in 2026Q2: the whole 1M is
prepaid in 2026Q1. Cut and kept by the buffer, it bears the old 16 % in 2026Q2 (40,000, no spread
shift: the maturity quarter) and the refinanced rate after: with `spread_shift` (0.01, 0.01, 0,
0.03), 35,000 and 42,500.

**The same in the stochastic solve's copies** (§7b's table, `rate_shift` and `spread_shift`): with
`reference_rate_volatility_annual` 0.01 and `spread_loading` 0.02, seed 9's two scenarios (`screen`
2, N 2, the default 1 % gap, which keeps the forecast's first stage: nothing is prepaid) each pay
1M x (rate_shift_t + spread_shift_t [t > 1]) / 4 more interest than the forecast in quarter t, so
the row's NPV is EV (10,993,373.94) less 0.8 of that in 2026Q1-Q3, discounted, and all of it in
2026Q4: the evaluator's NPV of the forecast optimum on the same scenario.

**The spread shift's floor** (evaluation's risk table, `ai_cycle`; "From the draws to the
factors"): with `spread_loading` 0.1, the cycle's normals c (c_0 = 0) and its level
L_t = sum_{q<=t} c_q / 2, `spread_shift` = max(-0.05, 0.1 L_t), -0.05 being minus the refinanced
bullet's spread.
"""

from __future__ import annotations

import numpy as np
import pytest
from milp_builders import data_of
from test_doc_cases import CASH, DF, NPV, hand_model, simulated

from fleetopt import api
from fleetopt.core.results.headline import headline
from fleetopt.evaluate.factors import Stream, normals
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.milp.persistent import PersistentPlanner, Stress
from fleetopt.milp.solve import solve
from fleetopt.sweep.stresses import collateral_haircut

BB_NPV = NPV - 150_000 * DF[0] + 21_150 * DF[1] + 20_850 * DF[2] + 114_750 * DF[3]
BB_DEBT = [3_600_000.0, 3_118_750.0, 2_637_500.0, 2_156_250.0]


def bb_model() -> dict:
    d = hand_model(covenants={"test_from": "2026Q4", "max_debt_to_ebitda": 6.0, "min_dscr": 1.2,
                              "min_liquidity_usd": 1_000_000})  # fmt: skip
    d["finance"]["facilities"]["term-loan"]["max_ltv"] = 0.3
    return d


@pytest.fixture(scope="module")
def bb():
    data = data_of(bb_model())
    return data, solve(data, mip_gap=0.0)


def test_the_borrowing_base_caps_the_draw_in_the_milp(bb):
    data, result = bb
    assert round(BB_NPV, 2) == 10_047_673.90
    assert result.plan.draws[0] == pytest.approx([1_850_000.0, 0.0, 0.0, 0.0], abs=0.01)
    lines = result.statements.lines
    assert lines["debt_usd"] == pytest.approx(BB_DEBT, abs=0.01)
    assert lines["cash_usd"] == pytest.approx([CASH[0] - 150_000, CASH[1] - 128_850, CASH[2] - 108_000,
                                               CASH[3] - 87_450], abs=0.01)  # fmt: skip
    assert lines["cash_usd"] == pytest.approx([7_891_080.0, 8_675_310.0, 9_467_240.0, 10_266_870.0], abs=0.01)
    assert result.statements.npv_usd == pytest.approx(BB_NPV, abs=0.01)
    fig = headline(data, result.plan, result.statements)
    assert fig["covenant_headroom"] == pytest.approx(
        {"leverage": 0.936002, "dscr": 1.190777, "liquidity": 9.26687, "borrowing_base": 0.0}, abs=1e-6
    )
    assert fig["covenant_cushion"] == pytest.approx(
        {"leverage": 0.936002, "dscr": 0.543541, "liquidity": 0.902599, "borrowing_base": 0.0}, abs=1e-6
    )
    assert (fig["tightest_covenant"], fig["lowest_covenant_cushion"]) == (
        "borrowing_base",
        pytest.approx(0.0),
    )
    assert (fig["min_liquidity_usd"], fig["peak_debt_usd"]) == (
        pytest.approx(7_891_080.0),
        pytest.approx(3.6e6),
    )


def test_the_statements_collateral_and_the_base_with_gpus_scrapped_at_the_end(bb):
    lines = bb[1].statements.lines
    assert lines["collateral_value_usd"] == pytest.approx([12e6, 11e6, 10e6, 9e6], abs=0.01)
    need = [12e6, 10_395_833.33, 8_791_666.67, 7_187_500.0]
    assert lines["collateral_required_usd"] == pytest.approx(need, abs=0.01)
    assert lines["borrowing_base_used"] == pytest.approx([1.0, 0.945076, 0.879167, 0.798611], abs=1e-6)
    d = bb_model()
    d["retirement"] = {"resale": False}
    assert solve(data_of(d), mip_gap=0.0).plan.draws[0] == pytest.approx([1_850_000.0, 0, 0, 0], abs=0.01)


def test_the_borrowing_base_breaches_at_the_scenarios_resale_value_every_quarter(bb):
    data, result = bb
    scen = deterministic_scenarios(data)
    scen.resale_factor[0, 1:3] = [0.9, 0.85]
    out = simulated(data, result.plan, scen)
    assert out["debt_usd"] == pytest.approx(BB_DEBT, abs=0.01)
    assert out["npv"] == pytest.approx(BB_NPV, abs=0.01)
    assert out["breach"] and out["uncured_breach"] and not out["default"]
    assert (out["first_breach"], out["quarters_before_breach"], out["quarters_before_uncured"]) == (32, 1, 2)
    assert out["debt_at_uncured_breach"] == pytest.approx(2_637_500.0, abs=0.01)
    assert out["uncovered_debt_at_uncured_breach"] == 0.0
    acc = (
        DF[0] * 2_891_080 + DF[1] * 784_230 - DF[2] * 8_675_310 + DF[2] * (8_075_000 + 9_467_240 - 2_637_500)
    )
    assert round(acc, 2) == 9_370_417.71
    assert out["npv_accelerated"] == pytest.approx(acc, abs=0.01)

    scen = deterministic_scenarios(data)
    scen.resale_factor[0, [1, 3]] = [0.9, 0.85]
    out = simulated(data, result.plan, scen)
    assert out["breach"] and not out["uncured_breach"]
    assert (out["first_breach"], out["quarters_before_breach"], out["quarters_before_uncured"]) == (32, 1, 4)
    assert out["npv"] == pytest.approx(BB_NPV - DF[3] * 1_140_000, abs=0.01)


def test_without_covenants_the_base_is_tested_with_five_cures(bb):
    d = bb_model()
    del d["finance"]["covenants"]
    data = data_of(d)
    scen = deterministic_scenarios(data)
    scen.resale_factor[0, 1:3] = [0.9, 0.85]
    out = simulated(data, bb[1].plan, scen)
    assert (out["first_breach"], out["quarters_before_breach"], out["quarters_before_uncured"]) == (32, 1, 2)


def test_gpus_sold_in_distress_count_in_the_base_until_the_end_of_their_quarter():
    d = hand_model(opening_cash_usd=0, revolver={"size_usd": 200_000, "annual_rate": 0.12})
    del d["finance"]["covenants"]
    d["policy"] = {"sale_block_gpus": 10}
    data = data_of(d)
    plan = solve(data, mip_gap=0.0).plan
    scen = deterministic_scenarios(data)
    scen.contract_alive[0, 0, 1:] = False
    scen.price_factor[0, 0, 1:] = 0.0
    scen.resale_factor[0, 2] = 0.31
    out = simulated(data, plan, scen, record=("cash_usd", "debt_usd", "ebitda_usd"))
    assert out["cash_usd"] == pytest.approx([3_041_080.0, 1_811_330.0, 1_012_455.0, 1_113_311.25], abs=0.01)
    assert out["ebitda_usd"] == pytest.approx([1_403_850.0, -654_750.0, -654_750.0, -620_643.75], abs=0.01)
    assert out["debt_usd"] == pytest.approx([3_750_000.0, 3_250_000.0, 2_950_000.0, 2_450_000.0], abs=0.01)
    assert out["distress_sold_usd"] == pytest.approx(220_875.0 + 1_282_500.0, abs=0.01)
    assert 400 * 25_000 * 0.31 > 2_750_000 / 0.9 > 370 * 25_000 * 0.31
    assert not out["breach"] and not out["default"]


def test_a_buffer_never_cuts_the_prepayment_the_base_needs():
    d = hand_model()
    d["finance"]["facilities"]["term-loan"]["max_ltv"] = 0.125
    data = data_of(d)
    result = solve(data, mip_gap=0.0)
    assert result.plan.prepay[0] == pytest.approx([250_000.0, 0.0, 0.0, 0.0], abs=0.01)
    assert result.plan.draws.sum() == pytest.approx(0.0, abs=0.01)
    flows = [791_080.0, 1_049_080.0, 1_053_080.0, 1_057_080.0]
    npv = sum(DF[t] * f for t, f in enumerate(flows)) + DF[3] * (7_600_000 + 76_770 - 750_000)
    assert round(npv, 2) == 10_011_187.87
    assert result.statements.npv_usd == pytest.approx(npv, abs=0.01)
    d["policy"] = {"liquidity_buffer_usd": 4_900_000}
    data = data_of(d)
    record = ("cash_usd", "debt_usd", "interest_usd")
    out = simulated(data, result.plan, deterministic_scenarios(data), record=record)
    assert out["cash_usd"][0] == pytest.approx(5_791_080.0, abs=0.01)  # the base needs it all: no cut
    assert out["debt_usd"] == pytest.approx([1_500_000, 1_250_000, 1_000_000, 750_000])
    assert (out["prepayment_cut"], out["first_breach"]) == (0.0, 0.0)
    assert out["npv"] == pytest.approx(npv, abs=0.01)
    scen = deterministic_scenarios(data)
    scen.resale_factor[0, 0] = 1.01  # room for 15,000 of debt kept
    out = simulated(data, result.plan, scen, record=record)
    kept = 15_000.0
    assert out["cash_usd"][0] == pytest.approx(5_791_080.0 + kept, abs=0.01)
    assert out["debt_usd"] == pytest.approx(
        [1_500_000 + kept, 1_250_000 + kept, 1_000_000 + kept, 750_000 + kept]
    )
    assert out["interest_usd"] == pytest.approx([40_000.0, 30_300.0, 25_300.0, 20_300.0], abs=0.01)
    assert (out["prepayment_cut"], out["first_breach"]) == (1.0, 0.0)
    lost = -kept * DF[0] + 240.0 * (DF[1] + DF[2]) + (300.0 + kept) * DF[3]
    assert out["npv"] == pytest.approx(npv - lost, abs=0.01)


def test_two_cohorts_sell_and_count_as_the_plans_average_gpu():
    d = hand_model(opening_cash_usd=0, revolver={"size_usd": 200_000, "annual_rate": 0.12})
    del d["finance"]["covenants"]
    d["policy"] = {"sale_block_gpus": 10}
    cohort = {"sku": "H100", "site": "dc", "gpus": 200, "use": "training", "capex_per_gpu_usd": 40_000}
    d["fleet"] = [{**cohort, "purchased": "2025Q1"}, {**cohort, "purchased": "2025Q3"}]
    data = data_of(d)
    plan = solve(data, mip_gap=0.0).plan
    scen = deterministic_scenarios(data)
    scen.contract_alive[0, 0, 1:] = False
    scen.price_factor[0, 0, 1:] = 0.0
    scen.resale_factor[0, 2] = 0.29
    out = simulated(data, plan, scen, record=("cash_usd", "ebitda_usd"))
    assert out["cash_usd"] == pytest.approx([3_041_080.0, 1_811_330.0, 1_018_867.5, 1_024_723.75], abs=0.01)
    assert out["distress_sold_usd"] == pytest.approx(227_287.5 + 1_187_500.0, abs=0.01)
    assert 11e6 * 0.29 > 2_750_000 / 0.9 > 370 / 400 * 11e6 * 0.29
    assert not out["breach"] and not out["default"]


def test_the_collateral_haircut_scales_the_base(bb):
    d = bb_model()
    d["risk"] = {"resale_value_volatility_annual": 0.2}
    data = data_of(d)
    kappa = np.exp(-1.6448536 * 0.2 - 0.02)
    assert kappa == pytest.approx(0.705414, abs=1e-6)
    assert 1 - collateral_haircut(data) == pytest.approx(kappa, abs=1e-7)
    planner = PersistentPlanner(data, mip_gap=0.0)
    got = planner.solve_stress(Stress("haircut", collateral_scale=kappa)).plan
    assert got.draws[0] == pytest.approx([0.3 * 12e6 * kappa - 1_750_000, 0.0, 0.0, 0.0], abs=0.01)
    assert got.draws[0][0] == pytest.approx(789_489.62, abs=0.01)
    assert 0.3 * 11e6 * kappa >= 1_500_000 + 7 / 8 * got.draws[0][0]


def test_the_stochastic_copies_value_the_collateral_at_the_scenario_s_resale_values():
    d = bb_model()
    d["finance"]["facilities"]["term-loan"].update(draw_from="2026Q2", draw_until="2026Q2")
    d["risk"] = {"resale_value_volatility_annual": 0.2}
    data = data_of(d)
    factor = generate_scenarios(data, 4, 0, 2).resale_factor
    assert factor[0, 1:] == pytest.approx([0.811253, 0.725999, 0.782458], abs=1e-6) and (factor[1] >= 1).all()
    result = api.solve_stochastic(data, 2, screen=2, scenario_seed=4, out_of_sample=0, threads=1,
                                  mip_gap=1e-6)  # fmt: skip
    s = result.summary()
    ev = sum(DF[t] * f for t, f in enumerate([1_041_080.0, 2_845_080.0, 795_280.0, 802_880.0]))
    ev += DF[3] * (7_600_000 + 69_470 - 2_350_000)
    assert ev == pytest.approx(10_035_432.47, abs=0.01)
    assert s["ev_usd"] == pytest.approx(ev, abs=0.01)
    draw = 0.3 * 11e6 * factor[0, 1] - 1_500_000
    prepaid = 1_250_000 + 7 * draw / 8 - 0.3 * 10e6 * factor[0, 2]
    assert (draw, prepaid) == (pytest.approx(1_177_134.91, abs=0.01), pytest.approx(101_995.40, abs=0.01))
    assert 1_000_000 + 6 * draw / 8 - prepaid <= 0.3 * 9e6 * factor[0, 3]  # 2026Q4 has room
    made = {(c["quarter"], c["decision"]): (c["stochastic"], c["forecast_optimum"]) for c in s["commitments"]}
    assert made[("2026Q2", "draw_debt")] == (pytest.approx(draw, abs=0.01), pytest.approx(1_800_000.0))
    # a prepayment in 2026Q4 ties with owing it at the end (§5.9): only 2026Q3's is the base's
    assert made[("2026Q3", "prepay_debt")] == (pytest.approx(prepaid, abs=0.01), pytest.approx(0.0))
    assert s["covenant_cured_scenarios"] == 0 and s["eev_rescued_probability"] == pytest.approx(0.5)
    value_of_draw = [DF[1] - 0.141 * DF[2] - (0.0175 + 0.125 + 0.75) * DF[3],  # a loss at the end
                     DF[1] - 0.141 * DF[2] - (0.0175 * 0.8 + 0.125 + 0.75) * DF[3]]  # a gain: taxed
    value_of_prepaid = [-DF[2] + 1.02 * DF[3], -DF[2] + 1.016 * DF[3]]
    pairs = zip(value_of_draw, value_of_prepaid, strict=True)
    change = [-(1_800_000 - draw) * v + prepaid * w for v, w in pairs]
    row = {r["scenario"]: r for r in s["scenarios"]}["scenario 0"]
    assert row["npv_usd"] == pytest.approx(ev - DF[3] * 7_600_000 * (1 - factor[0, 3]) + change[0], abs=0.01)
    assert not row["covenant_cure"]
    short = [11e6 * (1 - factor[0, 1]), 2_825_000 / 0.3 - 10e6 * factor[0, 2],
             2_350_000 / 0.3 - 9e6 * factor[0, 3]]  # fmt: skip
    assert sum(short) == pytest.approx(5_024_098.59, abs=0.01)
    repaid = 0.3 * max(short)  # the largest shortfall, repaid once (§7b "Recourse")
    assert repaid == pytest.approx(647_002.36, abs=0.01)
    assert s["vss_usd"] == pytest.approx(0.5 * (11 * repaid + change[0]) + 0.5 * change[1], abs=0.05)
    assert s["vss_usd"] == pytest.approx(3_550_211.92, abs=0.05)
    # the evaluator: the forecast optimum breaches the base in scenario 0's 2026Q2, the stochastic plan not
    scenario = generate_scenarios(data, 4, 0, 1)
    out = simulated(data, solve(data, mip_gap=0.0).plan, scenario)
    assert (out["first_breach"], out["quarters_before_breach"]) == (32, 1)
    assert simulated(data, result.plan, scenario)["first_breach"] == 0


def test_two_secured_loans_share_the_base_in_the_milp_and_the_evaluator():
    d = bb_model()
    d["finance"]["facilities"]["notes"] = {
        "size_usd": 1_000_000, "opening_balance_usd": 1_000_000, "fixed_rate_annual": 0.08, "max_ltv": 0.5,
        "repayment": "bullet", "maturity": "2028Q1", "draw_from": "2026Q1", "draw_until": "2026Q1",
    }  # fmt: skip
    data = data_of(d)
    result = solve(data, mip_gap=0.0)
    assert result.plan.draws.sum(axis=1) == pytest.approx([1_250_000.0, 0.0], abs=0.01)
    assert result.plan.prepay.sum() == pytest.approx(0.0, abs=0.01)
    need = [
        (1_750_000 + 1_250_000) / 0.3 + 2e6,
        2_593_750 / 0.3 + 2e6,
        2_187_500 / 0.3 + 2e6,
        1_781_250 / 0.3 + 2e6,
    ]
    assert need == pytest.approx([12e6, 10_645_833.33, 9_291_666.67, 7_937_500.0], abs=0.01)
    scen = deterministic_scenarios(data)
    scen.resale_factor[0, 1] = 0.95
    out = simulated(data, result.plan, scen)
    assert out["debt_usd"] == pytest.approx(
        [3e6 + 1e6, 2_593_750 + 1e6, 2_187_500 + 1e6, 1_781_250 + 1e6], abs=0.01
    )
    assert (out["first_breach"], out["quarters_before_breach"], out["quarters_before_uncured"]) == (32, 1, 4)


def refinance_model(rate: str = "spread_over_reference_annual", **risk) -> dict:
    """``hand`` with $1M of notes maturing in 2026Q2, refinanced at the reference rate + 5 %."""
    d = hand_model()
    d["finance"]["facilities"] = {"notes": {
        "size_usd": 1_000_000, "opening_balance_usd": 1_000_000,
        rate: 0.04 if rate.startswith("spread") else 0.08,
        "repayment": "bullet", "maturity": "2026Q2", "at_maturity": "refinance",
        "refinance_spread_over_reference_annual": 0.05, "draw_from": "2026Q1", "draw_until": "2026Q1",
    }}  # fmt: skip
    if risk:
        d["risk"] = risk
    return d


@pytest.mark.parametrize("rate", ["spread_over_reference_annual", "fixed_rate_annual"])
def test_a_refinanced_bullet_pays_the_new_spread_and_the_scenarios_shifts_after_maturity(rate):
    data = data_of(refinance_model(rate))
    result = solve(data, mip_gap=0.0)
    lines = result.statements.lines
    assert lines["interest_usd"] == pytest.approx([20_000.0, 20_000.0, 22_500.0, 22_500.0], abs=0.01)
    assert lines["principal_usd"] == pytest.approx([0.0] * 4, abs=0.01)
    assert lines["tax_usd"] == pytest.approx([76_770.0, 76_770.0, 76_270.0, 76_270.0], abs=0.01)
    hand_npv = sum(DF[t] * f for t, f in enumerate([1_307_080.0, 1_307_080.0, 1_305_080.0, 1_305_080.0]))
    hand_npv += DF[3] * (7_600_000 - 1_000_000 + 76_270)
    assert hand_npv == pytest.approx(10_993_373.94, abs=0.01)
    assert result.statements.npv_usd == pytest.approx(hand_npv, abs=0.01)

    scen = deterministic_scenarios(data)
    scen.rate_shift[0] = [0.0, 0.01, 0.02, -0.01]
    scen.spread_shift[0] = [0.0, 0.01, 0.01, -0.02]
    out = simulated(data, result.plan, scen, record=("interest_usd", "debt_usd", "tax_usd"))
    fixed = rate == "fixed_rate_annual"  # the old note's rate does not float; the new one's does
    second = 20_000.0 if fixed else 22_500.0
    assert out["interest_usd"] == pytest.approx([20_000.0, second, 30_000.0, 15_000.0], abs=0.01)
    assert out["debt_usd"] == pytest.approx([1_000_000.0] * 4, abs=0.01)
    shifted = (0 if fixed else -0.8 * 2_500 * DF[1]) - 0.8 * 7_500 * DF[2] + 7_500 * DF[3]
    assert out["npv"] == pytest.approx(hand_npv + shifted, abs=0.01)


def test_a_refinanced_bullet_above_the_discount_rate_is_prepaid_at_maturity():
    d = refinance_model()
    d["finance"]["facilities"]["notes"]["refinance_spread_over_reference_annual"] = 0.10
    result = solve(data_of(d), mip_gap=0.0)
    assert result.plan.prepay[0] == pytest.approx([0.0, 1_000_000.0, 0.0, 0.0], abs=0.01)
    lines = result.statements.lines
    assert lines["interest_usd"] == pytest.approx([20_000.0, 20_000.0, 0.0, 0.0], abs=0.01)
    assert lines["tax_usd"] == pytest.approx([76_770.0, 76_770.0, 80_770.0, 80_770.0], abs=0.01)
    assert result.statements.liquidation_tax_usd == pytest.approx(-80_000.0, abs=0.01)
    flows = [1_307_080.0, 307_080.0, 1_323_080.0, 1_323_080.0]
    npv = sum(DF[t] * f for t, f in enumerate(flows)) + DF[3] * 7_680_000
    assert round(npv, 2) == 10_985_515.03
    assert result.statements.npv_usd == pytest.approx(npv, abs=0.01)
    d["policy"] = {"liquidity_buffer_usd": 10_000_000}
    data = data_of(d)
    scen = deterministic_scenarios(data)
    scen.spread_shift[0] = [0.0, 0.0, 0.02, 0.02]
    out = simulated(data, result.plan, scen, record=("interest_usd", "debt_usd", "principal_usd"))
    assert out["interest_usd"] == pytest.approx([20_000.0, 20_000.0, 40_000.0, 40_000.0], abs=0.01)
    assert out["debt_usd"] == pytest.approx([1e6] * 4, abs=0.01)
    assert out["principal_usd"] == pytest.approx([0.0] * 4, abs=0.01)
    kept = 1e6 * DF[1] - 32_000 * (DF[2] + DF[3]) - (1e6 + 80_000 - 72_770) * DF[3]
    assert out["npv"] == pytest.approx(npv + kept, abs=0.01)


def test_a_cut_before_maturity_is_kept_at_the_old_rate_then_the_new():
    d = refinance_model()
    d["finance"]["facilities"]["notes"].update(
        spread_over_reference_annual=0.12, refinance_spread_over_reference_annual=0.10
    )
    result = solve(data_of(d), mip_gap=0.0)
    assert result.plan.prepay[0] == pytest.approx([1_000_000.0, 0.0, 0.0, 0.0], abs=0.01)
    d["policy"] = {"liquidity_buffer_usd": 10_000_000}
    data = data_of(d)
    scen = deterministic_scenarios(data)
    scen.spread_shift[0] = [0.01, 0.01, 0.0, 0.03]
    out = simulated(data, result.plan, scen, record=("interest_usd", "debt_usd"))
    assert out["interest_usd"] == pytest.approx([40_000.0, 40_000.0, 35_000.0, 42_500.0], abs=0.01)
    assert out["debt_usd"] == pytest.approx([1e6] * 4, abs=0.01)


def test_the_stochastic_copies_shift_the_refinanced_rate_as_the_evaluator():
    data = data_of(refinance_model(ai_cycle={"spread_loading": 0.02}, reference_rate_volatility_annual=0.01))
    s = api.solve_stochastic(data, 2, screen=2, scenario_seed=9, out_of_sample=0, threads=1).summary()
    assert s["first_stage"].startswith("the forecast optimum's") and s["commitments"] == []
    assert s["ev_usd"] == pytest.approx(10_993_373.94, abs=0.01)
    plan = solve(data, mip_gap=0.0).plan
    for row in s["scenarios"]:
        k = int(row["scenario"].split()[-1])
        one = generate_scenarios(data, 9, k, k + 1)
        more = 1e6 * (one.rate_shift[0] + one.spread_shift[0] * (np.arange(4) > 1)) / 4
        assert np.abs(more).max() > 1_000  # the shifts move the interest
        hand = s["ev_usd"] - sum(DF[t] * 0.8 * more[t] for t in range(3)) - DF[3] * more[3]
        assert row["npv_usd"] == pytest.approx(hand, abs=0.01)
        assert simulated(data, plan, one)["npv"] == pytest.approx(hand, abs=0.01)


def test_the_spread_shift_is_the_cycles_level_floored_at_minus_the_refinanced_spread():
    data = data_of(refinance_model(ai_cycle={"spread_loading": 0.1}))
    seed, idx = 5, np.arange(0, 50)
    scen = generate_scenarios(data, seed, 0, 50)
    c = normals(seed, idx, (Stream.CYCLE, 0), 4)
    c[:, 0] = 0.0
    hand = np.maximum(0.1 * np.cumsum(c, axis=1) / 2, -0.05)
    assert (hand == -0.05).any() and (hand > -0.05).any()  # the floor binds in some scenarios only
    assert scen.spread_shift == pytest.approx(hand)

r"""The two-stage stochastic solve (docs/formulation.md §7b) on a small case worked by hand from the
docs alone, checked against `fleetopt.api.solve_stochastic`.

**The model** (``stoch``): tests/test_doc_cases.py's ``hand`` without tax, debt or covenants, and a
10 % hazard a quarter that lab-a defaults (`risk.customer_default_hazard_per_quarter`, nothing else
uncertain). $DF_t = 1.1^{-(t+1)/4}$ = 0.976454, 0.953463, 0.931012, 0.909091. A GPU in service on
the market earns 5,256 - 136.875 (1.25 kW at $50/MWh for 2,190 h) - 1,000 of opex = 4,119.125 a
quarter, on the contract 4,818 - 136.875 - 1,000; an idle GPU costs its opex and its idle power
(0.3 x 136.875, §5.6): 1,041.0625. A GPU sold at the start of quarter t (age 4 + t quarters)
fetches $Pr_t$ = 0.95 x 40,000 x (1 - (4 + t)/16): 28,500, 26,125, 23,750, 21,375; one held to the
end 19,000 in the terminal value, at $DF_3$ (17,272.73).

**The forecast optimum** (EV) sells nothing: every GPU is busy and a market GPU sold at t gives
$r_A(t) = DF_t Pr_t - DF_3\,19{,}000 - 4{,}119.125\sum_{\tau\ge t}DF_\tau$ = -4,972.97, -3,870.56,
-2,740.80, -1,585.57. EBITDA 2,058,600 - 54,750 - 400,000 - 200,000 = 1,403,850 a quarter, NPV
1,403,850 x 3.770020 + 0.909091 x 7,600,000 = **12,201,633.53**.

**The scenarios** (seed 28, `screen=3`): the generator's three draws are lab-a alive throughout
(scenario 0), defaulting from 2026Q2 (scenario 1) and alive (scenario 2). Reduced to N = 2 (§7b
"Scenarios"): the tail is the worst ceil(0.05 x 3) = 1 by screened NPV, scenario 1, with one
representative; the body {0, 2} gets 1, the fast-forward's first pick, a tie broken to the lower
index: scenario 0 with the probability of both, 2/3. Tail first: blocks (1, 0), p = (1/3, 2/3).

**Scenario 1 (B)** without a sale: from 2026Q2 its 100 contract GPUs are idle (the market's 300
is full), drawing 1.25e-3 x (0.3 x 400 + 0.7 x 300) = 0.4125 MW: electricity 45,168.75, EBITDA
1,576,800 - 45,168.75 - 600,000 = 931,631.25; V_B(0) = 1,403,850 DF_0 + 931,631.25 (DF_1 + DF_2
+ DF_3) + DF_3 x 7,600,000 = 10,882,459.31. Selling an idle GPU at t >= 1 gives
$r_B(t) = DF_t Pr_t - DF_3\,19{,}000 + 1{,}041.0625\sum_{\tau\ge t}DF_\tau$ = 10,544.76 (t = 1),
6,754.48 (t = 2), 3,105.51 (t = 3). Scenario 0 (A) is the forecast, V_A(0) = 12,201,633.53.

**First stage the whole horizon (Q = 4, L = 0).** Retirements are first stage: the same GPUs sold
in both scenarios. Per GPU sold in 2026Q2: 2/3 x -3,870.56 + 1/3 x 10,544.76 = 934.54 > 0 (in
2026Q3 424.30, in 2026Q4 -21.88, in 2026Q1 -167.86), for the 100 that B leaves idle (a 101st would
cost the market in both). So RP sells 100 in 2026Q2: V_A = 11,814,577.09, V_B = 11,936,935.28,
RP = 11,855,363.15; EEV = 2/3 V_A(0) + 1/3 V_B(0) = 11,761,908.79; WS = 2/3 V_A(0) + 1/3 (V_B(0) +
1,054,475.96) = 12,113,400.78; VSS = 93,454.36, EVPI = 258,037.63. CVaR5 of NPV = V_A (the worst
scenario has p = 2/3 > 5 %). At the default 1 % gap the plan keeps the forecast's first stage: RP's
bound - EEV = 93,454.36 <= 0.01 x 11,761,908.79 (0.79 %).

**CVaR (L = 0.5, A = 0.05).** Objective 0.5 E[V] + 0.5 min(V_A, V_B) with x GPUs sold in 2026Q2:
V_A = 12,201,633.53 - 3,870.56x, V_B = 10,882,459.31 + 10,544.76x. Below x = 1,319,174.22 /
14,415.32 = 91.5119 the worst is B (slope 0.5 x 934.54 + 0.5 x 10,544.76 > 0), above it A
(0.5 x 934.54 - 0.5 x 3,870.56 < 0): RP sells 91.5119 GPUs and both values are 11,847,430.68
(checked against every vertex of the sales in 2026Q1-Q4 cut by V_A = V_B). EEV = 0.5 x
11,761,908.79 + 0.5 x 10,882,459.31 = 11,322,184.05; WS = 0.5 x 12,113,400.78 + 0.5 x
11,936,935.28 = 12,025,168.03; VSS = 525,246.63, EVPI = 177,737.34.

**First stage shorter (Q = 2, Q = 1, L = 0).** A sale in 2026Q3 (t = 2 >= Q) is B's own: it
gains 1/3 x 6,754.48 = 2,251.49 per GPU against 934.54 for a shared sale in 2026Q2, so at Q = 2
RP = EEV = 11,761,908.79 + 225,149.36 = 11,987,058.16 (VSS 0), EVPI = 126,342.62. At Q = 1 B sells
in 2026Q2 on its own: RP = EEV = WS = 12,113,400.78.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from milp_builders import data_of
from test_doc_cases import hand_model

from fleetopt import api
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.stochastic import measures, recourse
from fleetopt.stochastic.summary_words import measure_rows

EV = 12_201_633.53


def stoch_model() -> dict:
    d = hand_model(tax_rate=0.0)
    del d["finance"]["facilities"], d["finance"]["covenants"]
    d["risk"] = {"customer_default_hazard_per_quarter": 0.1}
    return d


@pytest.fixture(scope="module")
def stoch():
    return data_of(stoch_model())


def solved(data, **kw):
    kw = {"screen": 3, "scenario_seed": 28, "out_of_sample": 0, "threads": 1, **kw}
    return api.solve_stochastic(data, 2, **kw).summary()


def rows(summary):
    return [(r["scenario"], r["probability"], r["value_usd"], r["npv_usd"]) for r in summary["scenarios"]]


def test_the_screened_scenarios_are_the_ones_worked_by_hand(stoch):
    alive = generate_scenarios(stoch, 28, 0, 3).contract_alive[:, 0, :]
    assert alive.astype(int).tolist() == [[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 1, 1]]


def test_rp_sells_the_gpus_one_scenario_leaves_idle(stoch):
    """Q = 4, L = 0, solved to 1e-6: the probabilities after the reduction, RP's first stage and
    every measure of the docstring to the cent."""
    s = solved(stoch, mip_gap=1e-6)
    assert s["first_stage"] == "RP's"
    assert {
        k: s["settings"][k] for k in ("scenarios", "distinct_scenarios", "screened", "first_stage_before")
    } == {"scenarios": 2, "distinct_scenarios": 2, "screened": 3, "first_stage_before": None}
    assert [r[:2] for r in rows(s)] == [
        ("scenario 1", pytest.approx(1 / 3)),
        ("scenario 0", pytest.approx(2 / 3)),
    ]
    assert [r[2:] for r in rows(s)] == [pytest.approx((11_936_935.28,) * 2, abs=0.01),
                                        pytest.approx((11_814_577.09,) * 2, abs=0.01)]  # fmt: skip
    assert [
        (c["quarter"], c["decision"], c["stochastic"], c["forecast_optimum"]) for c in s["commitments"]
    ] == [("2026Q2", "retire", pytest.approx(100.0), 0.0)]
    want = {"ev_usd": EV, "rp_usd": 11_855_363.15, "eev_usd": 11_761_908.79, "ws_usd": 12_113_400.78,
            "vss_usd": 93_454.36, "evpi_usd": 258_037.63, "expected_npv_usd": 11_855_363.15,
            "cvar_npv_usd": 11_814_577.09, "eev_expected_npv_usd": 11_761_908.79}  # fmt: skip
    assert {k: s[k] for k in want} == {k: pytest.approx(v, abs=0.01) for k, v in want.items()}


def test_at_a_one_percent_gap_the_plan_keeps_the_forecast_first_stage(stoch):
    """VSS is 0.79 % of EEV, inside the default 1 % gap: the plan is the forecast optimum's first
    stage, its value EEV and its gap (bound - EEV) / EEV; the rows and expected NPV are EEV's."""
    s = solved(stoch)
    assert s["first_stage"].startswith("the forecast optimum's")
    assert s["commitments"] == []
    assert s["plan_value_usd"] == pytest.approx(11_761_908.79, abs=0.01)
    assert s["plan_gap"] == pytest.approx(93_454.36 / 11_761_908.79, rel=1e-6)
    assert s["expected_npv_usd"] == pytest.approx(11_761_908.79, abs=0.01)
    assert s["cvar_npv_usd"] == pytest.approx(10_882_459.31, abs=0.01)
    assert [r[2] for r in rows(s)] == pytest.approx([10_882_459.31, EV], abs=0.01)


def test_cvar_sells_until_the_two_scenarios_are_worth_the_same(stoch):
    """L = 0.5: RP sells 91.5119 GPUs in 2026Q2, where V_A = V_B."""
    s = solved(stoch, mip_gap=1e-6, risk_weight=0.5)
    sold = 1_319_174.22 / 14_415.32
    assert [c["stochastic"] for c in s["commitments"]] == [pytest.approx(sold, abs=1e-3)]
    assert [r[2] for r in rows(s)] == pytest.approx([11_847_430.68] * 2, abs=0.01)
    want = {"rp_usd": 11_847_430.68, "eev_usd": 11_322_184.05, "ws_usd": 12_025_168.03,
            "vss_usd": 525_246.63, "evpi_usd": 177_737.34, "cvar_npv_usd": 11_847_430.68}  # fmt: skip
    assert {k: s[k] for k in want} == {k: pytest.approx(v, abs=0.01) for k, v in want.items()}


@pytest.mark.parametrize(
    ("quarters", "rp", "evpi"), [(2, 11_987_058.16, 126_342.62), (1, 12_113_400.78, 0.0)]
)
def test_a_sale_after_the_first_stage_is_the_scenario_s_own(stoch, quarters, rp, evpi):
    """Q = 2: B sells its idle GPUs in 2026Q3 on its own; Q = 1: in 2026Q2. The forecast's first
    stage (no sale before Q) is then RP's optimum: VSS 0."""
    s = solved(stoch, mip_gap=1e-6, first_stage_quarters=quarters)
    assert (s["settings"]["first_stage_quarters"], s["settings"]["first_stage_before"]) == (
        quarters,
        f"2026Q{quarters + 1}",
    )
    assert (s["rp_usd"], s["eev_usd"], s["vss_usd"], s["evpi_usd"]) == (
        pytest.approx(rp, abs=0.01), pytest.approx(rp, abs=0.01), 0.0, pytest.approx(evpi, abs=0.01),
    )  # fmt: skip
    assert np.isclose(s["ws_usd"], 12_113_400.78, atol=0.01)


def test_of_the_default_200_screened_the_tail_holds_5_percent(stoch):
    """`fleetopt solve --stochastic 2 --scenario-seed 28` screens M = 200: lab-a defaults from
    2026Q1 in 17 of them (the first 15, 17, 22, ...), which are the worst; the tail is the 10 worst
    (ties: the lower index), all alike, so its representative is the first, scenario 15, with
    p = 10/200; the body's 190 go to scenario 0 (alive, the fast-forward's first pick), p = 0.95.
    Scenario 15's value: 931,631.25 x 3.770020 + 0.909091 x 7,600,000 = 10,421,359.38; selling it
    nothing is worth 0.05 x -3,870.56 ... < 0 for every quarter, so RP = EEV = 0.95 x EV + 0.05 x
    10,421,359.38 = 12,112,619.82. Alone, scenario 15 sells its 100 idle GPUs in 2026Q1 at
    DF_0 x 28,500 - 17,272.73 + 1,041.0625 x 3.770020 = 14,481.04 each: EVPI = 0.05 x 1,448,104 =
    72,405.20."""
    alive = generate_scenarios(stoch, 28, 0, 200).contract_alive[:, 0, :]
    assert np.flatnonzero(~alive[:, 0])[:11].tolist() == [15, 17, 22, 40, 47, 53, 64, 68, 69, 81, 103]
    s = solved(stoch, mip_gap=1e-6, screen=None)
    assert [r[:3] for r in rows(s)] == [
        ("scenario 15", pytest.approx(0.05), pytest.approx(10_421_359.38, abs=0.01)),
        ("scenario 0", pytest.approx(0.95), pytest.approx(EV, abs=0.01)),
    ]
    assert (s["rp_usd"], s["eev_usd"], s["evpi_usd"]) == (
        pytest.approx(12_112_619.82, abs=0.01), pytest.approx(12_112_619.82, abs=0.01),
        pytest.approx(72_405.20, abs=0.01),
    )  # fmt: skip


def test_four_representatives_by_the_fast_forward(stoch):
    """N = 4 of the same 200 (§7b "Scenarios", steps 1-6). Lab-a defaults from quarter k in 17, 15,
    8, 13 scenarios (k = 0..3) and never in 147. The screened NPV of type k is EV - 481,800 x
    sum_{t>=k} DF_t (docs/evaluation.md: the freed GPUs meet a full market; their power is drawn as
    planned), customers lost (4 - k)/4; every other feature is constant and left out. Standardised
    over the 200 (population deviation): k=0 (-2.5012, 2.4828), 1 (-1.7152, 1.7282), 2 (-0.9477,
    0.9735), 3 (-0.1984, 0.2189), never (0.5334, -0.5358); neighbours 1.05-1.09 apart. Tail: the
    10 worst, the first ten of type 0, one representative (scenario 15, p = 0.05). Body: 7 of type 0,
    15, 8, 13, 147. Fast-forward (sum of p_m min(d_m, distance)): first pick "never" (0.542 against
    1.089 for type 3), scenario 0; then type 1 (0.1495; type 2 0.2249), scenario 1; then type 3
    (0.0807; type 2 0.1065), scenario 7. Nearest representative: types 0 and 1 to scenario 1
    (22/200), type 2 (1.063 from type 3, 1.076 from type 1) and 3 to scenario 7 (21/200), never to
    scenario 0 (147/200). Values V_k = 1,403,850 sum_{t<k} DF_t + 931,631.25 sum_{t>=k} DF_t + DF_3 x
    7.6M: 10,421,359.38, EV, 10,882,459.31, 11,772,343.76. A GPU sold in quarter t is worth, over the
    four, -1,922.02, -1,071.55, -728.99, -342.43: none is sold, RP = EEV = 11,922,435.23. Alone,
    each sells its idle GPUs when they fall idle (14,481.04, 0, 10,544.76, 3,105.51 a GPU): WS =
    RP + 100 x (0.05 x 14,481.04 + 0.11 x 10,544.76 + 0.105 x 3,105.51) = 12,143,440.66."""
    s = api.solve_stochastic(stoch, 4, scenario_seed=28, out_of_sample=0, threads=1, mip_gap=1e-6).summary()
    assert [(r[0], r[1]) for r in rows(s)] == [
        ("scenario 15", pytest.approx(0.05)),
        ("scenario 0", pytest.approx(0.735)),
        ("scenario 1", pytest.approx(0.11)),
        ("scenario 7", pytest.approx(0.105)),
    ]
    assert [r[2] for r in rows(s)] == pytest.approx(
        [10_421_359.38, EV, 10_882_459.31, 11_772_343.76], abs=0.01
    )
    assert (s["rp_usd"], s["eev_usd"], s["ws_usd"]) == (
        pytest.approx(11_922_435.23, abs=0.01), pytest.approx(11_922_435.23, abs=0.01),
        pytest.approx(12_143_440.66, abs=0.01),
    )  # fmt: skip


def rescue_model(**finance) -> dict:
    """``stoch`` with $1M of opening cash (the minimum) and GPUs scrapped for nothing
    (`retirement.resale: false`: no proceeds, no terminal value), so no sale raises cash."""
    d = stoch_model()
    d["finance"].update(opening_cash_usd=1_000_000, **finance)
    d["retirement"]["resale"] = False
    return d


def test_emergency_equity_costs_ten_per_usd_beside_the_npv():
    """§7b "Recourse": $1.5M of overhead a quarter. Scenarios as in the test above: scenario 15 (lab-a
    gone from 2026Q1, p = 0.05) and scenario 0 (p = 0.95). Scenario 15's EBITDA is 1,576,800 -
    45,168.75 - 400,000 - 1,500,000 = -368,368.75 a quarter from cash at the minimum: emergency
    equity E_t = 368,368.75 in every quarter (1,473,475 in all, the row's `emergency_equity_usd`).
    NPV_15 = sum DF_t (C_t - C_{t-1} - E_t) = -368,368.75 x 3.770020 = -1,388,757.57 (the equity is
    not counted as the company's cash); V_15 = NPV_15 - 10 sum DF_t E_t = 11 x NPV_15 =
    -15,276,333.24 (not 12 x: the USD paid in is in NPV_15, the 10 beside it). The forecast earns
    103,850 a quarter: EV = 391,516.58. An idle GPU scrapped in 2026Q1 saves scenario 15 11 x
    1,041.0625 x 3.770020 = 43,173.09 and costs scenario 0 4,119.125 x 3.770020 = 15,529.18: 0.05 x
    43,173.09 < 0.95 x 15,529.18, so none is, RP = EEV = 0.95 x 391,516.58 + 0.05 x -15,276,333.24 =
    -391,875.91. Alone, scenario 15 scraps its 100: E_t = 264,262.50, V_15 = -10,959,024.11, WS =
    -176,010.45."""
    data = data_of(rescue_model(overhead_usd_per_quarter=1_500_000))
    s = api.solve_stochastic(data, 2, scenario_seed=28, out_of_sample=0, threads=1, mip_gap=1e-6).summary()
    row = s["scenarios"][0]
    assert (row["scenario"], row["probability"]) == ("scenario 15", pytest.approx(0.05))
    assert row["emergency_equity_usd"] == pytest.approx(1_473_475.0, abs=0.01)
    assert row["npv_usd"] == pytest.approx(-1_388_757.57, abs=0.01)
    assert row["value_usd"] == pytest.approx(-15_276_333.24, abs=0.01)
    assert row["cash_rescue"] and s["cash_rescued_probability"] == pytest.approx(0.05)
    assert (s["ev_usd"], s["rp_usd"], s["eev_usd"], s["ws_usd"]) == (
        pytest.approx(391_516.58, abs=0.01), pytest.approx(-391_875.91, abs=0.01),
        pytest.approx(-391_875.91, abs=0.01), pytest.approx(-176_010.45, abs=0.01),
    )  # fmt: skip


def test_the_revolver_costs_ten_over_t_per_usd_and_quarter():
    """§7b "Recourse": overhead $2.5M in 2026Q2 ($200,000 otherwise) and a $1M revolver at 12 %.
    Scenario 15's EBITDA: 931,631.25, -1,368,368.75, 931,631.25, 931,631.25; cash 1,931,631.25,
    then 563,262.50: 436,737.50 short in 2026Q2. The revolver cures it (10/T = 2.5 per USD for its
    one quarter outstanding, against 10 of equity) and is repaid in 2026Q3 with 3 % interest
    (13,102.13): V_1 = 436,737.50 (`revolver_peak_usd`), V_2 = V_3 = 0. NPV_15 = sum DF_t EBITDA_t +
    DF_1 x 436,737.50 - DF_2 x 449,839.63 = 1,316,911.10; V_15 = NPV_15 - 2.5 x DF_1 x 436,737.50 =
    275,878.93. The forecast's EBITDA is 1,403,850 but -896,150 in 2026Q2 (cash 1,507,700): EV =
    3,099,578.67."""
    data = data_of(rescue_model(overhead_usd_per_quarter=[200_000, 2_500_000, 200_000, 200_000],
                                revolver={"size_usd": 1_000_000, "annual_rate": 0.12}))  # fmt: skip
    s = api.solve_stochastic(data, 2, scenario_seed=28, out_of_sample=0, threads=1, mip_gap=1e-6).summary()
    row = s["scenarios"][0]
    assert (row["emergency_equity_usd"], row["revolver_peak_usd"]) == (
        0.0,
        pytest.approx(436_737.5, abs=0.01),
    )
    assert (row["npv_usd"], row["value_usd"]) == (
        pytest.approx(1_316_911.10, abs=0.01), pytest.approx(275_878.93, abs=0.01),
    )  # fmt: skip
    assert not row["rescued"]  # a revolver drawn is no rescue
    assert s["ev_usd"] == pytest.approx(3_099_578.67, abs=0.01)


def test_with_every_screened_scenario_kept_equal_ones_merge_and_cvar_takes_part_of_one(stoch):
    """N = M = 3 (§7b "Scenarios", step 5), L = 0.5, A = 0.5. Scenario 2's features equal scenario
    0's (both alive), so its 1/3 goes to scenario 0 (selected first): two blocks, p = (2/3, 1/3),
    in the fast-forward's order. CVaR_0.5 with V_B < V_A takes all of B's 1/3 and 1/6 of A:
    (V_B/3 + V_A/6) / 0.5, so the objective is 0.5 x (2/3 V_A + 1/3 V_B) + 0.5 x (1/3 V_A +
    2/3 V_B) = (V_A + V_B)/2 while B is the worst, and 0.5 x E[V] + 0.5 V_A once A is (p = 2/3 >=
    0.5). A GPU sold in 2026Q2 moves (V_A + V_B)/2 by (-3,870.56 + 10,544.76)/2 > 0 up to V_A =
    V_B, and 0.5 x 934.54 - 0.5 x 3,870.56 < 0 after: RP sells 91.5119 GPUs, RP = 11,847,430.68;
    EEV = (12,201,633.53 + 10,882,459.31)/2 = 11,542,046.42; WS = (12,201,633.53 +
    11,936,935.28)/2 = 12,069,284.40."""
    s = api.solve_stochastic(
        stoch, 3, screen=3, scenario_seed=28, out_of_sample=0, threads=1, mip_gap=1e-6, risk_weight=0.5,
        cvar_alpha=0.5,
    ).summary()  # fmt: skip
    assert s["settings"]["distinct_scenarios"] == 2
    assert [r[:2] for r in rows(s)] == [
        ("scenario 0", pytest.approx(2 / 3)),
        ("scenario 1", pytest.approx(1 / 3)),
    ]
    assert [c["stochastic"] for c in s["commitments"]] == [pytest.approx(1_319_174.22 / 14_415.32, abs=1e-3)]
    assert (s["rp_usd"], s["eev_usd"], s["ws_usd"]) == (
        pytest.approx(11_847_430.68, abs=0.01), pytest.approx(11_542_046.42, abs=0.01),
        pytest.approx(12_069_284.40, abs=0.01),
    )  # fmt: skip


@pytest.mark.filterwarnings("ignore:.*chance each quarter")
def test_with_every_screened_scenario_kept_the_order_is_the_fast_forward_s():
    """N = M = 3 at a 30 % hazard, seed 3: lab-a defaults from quarter 0, 2 and 3. The medoid is
    the middle one (scenario 1); then scenario 0, whose distance to scenario 1 is the larger of the
    two left, then scenario 2: blocks (1, 0, 2), each p = 1/3 (no tail first: scenario 0 is the
    worst)."""
    d = stoch_model()
    d["risk"]["customer_default_hazard_per_quarter"] = 0.3
    data = data_of(d)
    alive = generate_scenarios(data, 3, 0, 3).contract_alive[:, 0, :]
    assert alive.astype(int).tolist() == [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0]]
    s = api.solve_stochastic(data, 3, screen=3, scenario_seed=3, out_of_sample=0, threads=1).summary()
    assert [r[:2] for r in rows(s)] == [(f"scenario {i}", pytest.approx(1 / 3)) for i in (1, 0, 2)]


def test_a_covenant_cure_costs_eleven_per_usd_short_undiscounted():
    """§7b "Recourse": ``stoch`` with an $8M loan at 8 % fixed (2 % a quarter), amortizing over 8
    quarters (1M a quarter; nothing left to draw) and a 1.2x DSCR from 2026Q1. Debt service 1.16M,
    1.14M, 1.12M, 1.10M; the forecast's EBITDA 1,403,850 meets 1.2x every quarter, and it prepays
    nothing (a USD prepaid in 2026Q1 is worth -DF_0 + 0.02 (DF_1 + DF_2 + DF_3) + DF_3 = -0.011492):
    EV = sum DF_t (1,403,850 - DS_t) + DF_3 x (7.6M - 4M) = 4,302,901.86. Scenario 15 (p = 0.05,
    lab-a gone from 2026Q1) earns 931,631.25 a quarter, short of 1.2x by 460,368.75, 436,368.75 -
    0.024 P, 412,368.75 - 0.024 P, 388,368.75 - 0.024 P with P prepaid in 2026Q1 (the interest it
    saves, times 1.2), each USD cured at 11, not discounted. Prepaying pays there (0.05 x 11 x 0.072
    against 0.011492) until scenario 15's cash reaches the $1M minimum in 2026Q4, where more would
    need equity: 5M + sum_t (931,631.25 - DS_t) - P + 0.06 P = 1M, P = 3,206,525 / 0.94 =
    3,411,196.81. Its slack 1,697,475 - 0.072 P = 1,451,868.83 (a covenant cure, no cash rescue);
    NPV_15 = sum DF_t (931,631.25 - DS_t) + DF_3 x 3.6M - 0.011492 P = 2,483,426.71, V_15 = NPV_15 -
    11 x 1,451,868.83 = -13,487,130.42; V_0 = EV - 0.011492 P = 4,263,700.86; RP = 3,376,159.30.
    EEV (nothing prepaid): 0.95 EV + 0.05 (NPV_15(0) - 11 x 1,697,475) = 3,280,276.90."""
    d = stoch_model()
    d["finance"]["facilities"] = {"loan": {
        "size_usd": 8_000_000, "opening_balance_usd": 8_000_000, "fixed_rate_annual": 0.08,
        "amortization_quarters": 8, "draw_from": "2026Q1", "draw_until": "2026Q1",
    }}  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_dscr": 1.2}
    s = api.solve_stochastic(data_of(d), 2, scenario_seed=28, out_of_sample=0, threads=1).summary()
    assert [(c["quarter"], c["decision"], c["stochastic"]) for c in s["commitments"]] == [
        ("2026Q1", "prepay_debt", pytest.approx(3_411_196.81, abs=0.01))
    ]
    row = s["scenarios"][0]
    assert row["slacks"] == {
        "dscr_covenant": {"amount": pytest.approx(1_451_868.83, abs=0.01), "unit": "USD",
                          "limit": "EBITDA / debt service covenant"}
    }
    assert (row["covenant_cure"], row["cash_rescue"], row["emergency_equity_usd"]) == (True, False, 0.0)
    assert (row["npv_usd"], row["value_usd"]) == (
        pytest.approx(2_483_426.71, abs=0.01), pytest.approx(-13_487_130.42, abs=0.01),
    )  # fmt: skip
    assert (s["ev_usd"], s["rp_usd"], s["eev_usd"]) == (
        pytest.approx(4_302_901.86, abs=0.01), pytest.approx(3_376_159.30, abs=0.01),
        pytest.approx(3_280_276.90, abs=0.01),
    )  # fmt: skip


def test_out_of_sample_the_sale_pays_where_lab_a_defaults(stoch):
    """§7b "Completion and out-of-sample check", "Out of sample, paired": RP's plan (100 GPUs sold
    in 2026Q2) and the forecast optimum on 1,000 fresh scenarios of seed 29: lab-a defaults from
    quarter 0, 1, 2, 3 in 112, 84, 89, 68 and never in 647. The forecast optimum's NPV is EV -
    481,800 sum_{t>=k} DF_t (its freed GPUs meet a full market). RP's plan holds 200 market GPUs
    from 2026Q2: where lab-a is gone its 100 freed GPUs fill the market (300 offered, 300 demanded),
    +43,800 a quarter against the contract. So RP's plan less the forecast's is 100 x r_A(1) =
    -387,056.44 where lab-a lives and -387,056.44 + 525,600 sum_{t>=max(k,1)} DF_t where it
    defaults from k. Mean difference 19,298.74, standard error s_d / sqrt(1000) = 18,882.89. CVaR5
    is the mean of the 50 worst, all lab-a gone from quarter 0: 10,385,237.88 and 11,466,479.70, a
    difference of 1,081,241.82 whose influence values are all 0 (no NPV below the 50th worst):
    standard error 0."""
    s = solved(stoch, mip_gap=1e-6, out_of_sample=1000, backend="numpy")
    alive = generate_scenarios(stoch, 29, 0, 1000).contract_alive[:, 0, :]
    k = np.where(alive.all(axis=1), 4, (~alive).argmax(axis=1))
    assert np.bincount(k).tolist() == [112, 84, 89, 68, 647]
    paired = s["out_of_sample"]["paired"]
    assert (paired["npv_mean_usd_diff"], paired["npv_mean_usd_diff_se"]) == (
        pytest.approx(19_298.74, abs=0.01), pytest.approx(18_882.89, abs=0.01),
    )  # fmt: skip
    assert (paired["npv_cvar_usd_diff"], paired["npv_cvar_usd_diff_se"]) == (
        pytest.approx(1_081_241.82, abs=0.01),
        0.0,
    )
    metrics = s["out_of_sample"]["metrics"]
    assert metrics["forecast"]["npv_cvar5_usd"] == pytest.approx(10_385_237.88, abs=0.01)
    assert metrics["stochastic"]["npv_cvar5_usd"] == pytest.approx(11_466_479.70, abs=0.01)


def test_with_tax_a_scenario_s_value_is_its_npv_less_the_tie_breaks():
    """§7b "Objective and CVaR rows", the tie-breaks: ``hand`` itself (tax, the term loan, the
    covenants) with the same hazard; RP draws the $2M as the forecast does and sells 100 GPUs in
    2026Q2. Scenario 0 (lab-a alive) is then the forecast with 300 GPUs from 2026Q2: EBITDA
    200 x 5,256 + 481,800 - 300 x 136.875 - 300,000 - 200,000 = 991,937.50, depreciation 750,000;
    2026Q2 sells 100 at 26,125 against a book value of 27,500 (a loss of 137,500). EBT 29,437.50,
    176,937.50, 186,937.50 after interest 75,000, 65,000, 55,000: tax 72,770, 5,887.50, 35,387.50,
    37,387.50. Cash flows 3,041,080, 3,023,550 (with the 2,612,500 of the sale), 391,550, 399,550;
    at the end 300 x 19,000, a loss of 300,000 that takes the last quarter's tax back (-37,387.50),
    debt 2,250,000: NPV = 9,750,434.28. The value is that less 10^-6 per USD of tax, undiscounted:
    0.15143250."""
    d = hand_model()
    d["risk"] = {"customer_default_hazard_per_quarter": 0.1}
    s = solved(data_of(d), mip_gap=1e-7)
    assert [(c["quarter"], c["decision"], c["stochastic"]) for c in s["commitments"]] == [
        ("2026Q1", "draw_debt", pytest.approx(2_000_000.0, abs=0.01)),
        ("2026Q2", "retire", pytest.approx(100.0)),
    ]
    row = s["scenarios"][1]
    assert row["scenario"] == "scenario 0"
    assert row["npv_usd"] == pytest.approx(9_750_434.28, abs=0.01)
    assert row["npv_usd"] - row["value_usd"] == pytest.approx(151_432.50e-6, abs=1e-5)


@pytest.mark.parametrize(
    ("covenant", "rows", "robustness"),
    [
        ({"max_debt_to_ebitda": 6.0}, 4, None),
        ({"min_dscr": 1.2}, 3, None),
        ({"min_interest_coverage": 2.0}, 3, None),
        ({"max_debt_to_ebitda": 6.0}, 8, {"market_price_drop": 0.05}),
        ({"min_dscr": 1.2}, 6, {"market_price_drop": 0.05}),
    ],
)
def test_a_copy_that_owes_nothing_pays_no_covenant_cure(covenant, rows, robustness):
    """§7b "Recourse", §9: ``rescue_model`` with $10M of opening cash, $1.5M of overhead a quarter and
    a $1M standby loan at 20 % (dearer than the 10 % discount rate: never drawn) drawable in every
    quarter, so leverage (6x) is tested in each. Scenarios as in the equity test above: scenario 15
    (lab-a gone from 2026Q1, p = 0.05), EBITDA -368,368.75 a quarter, and scenario 0 (p = 0.95),
    103,850. Scenario 15 owes nothing, so no lender tests its leverage; the row read 0 <= 24 x
    EBITDA there, up to 24 x 368,368.75 = 8,840,850 a quarter short at 11 per USD (before: a $32.8M
    cure in all, V_15 -$362.6M, and RP scrapped 25.2 idle GPUs in 2026Q1 to cut it). Untested, an idle
    GPU scrapped saves scenario 15 1,041.0625 x 3.770020 = 3,924.78 against 15,529.18 in scenario 0,
    so none is; scenario 15 keeps its cash above the minimum and pays no cure: NPV_15 = V_15 =
    -368,368.75 x 3.770020 = -1,388,757.57, EV = V_0 = 103,850 x 3.770020 = 391,516.58, RP = EEV =
    0.95 x 391,516.58 + 0.05 x -1,388,757.57 = 302,502.87. So too for DSCR and interest coverage,
    tested in 2026Q2-Q4, where debt service and interest could be due (on a draw of the quarter
    before): their rows read EBITDA >= 0 where nothing is owed. So too for the stress rows of
    `robustness: {market_price_drop: 0.05}` (§5.13), which read EBITDA - 78,840 >= 0 there (before:
    charged, a lifted row's stress copy standing): one more row lifted a tested quarter."""
    d = rescue_model(overhead_usd_per_quarter=1_500_000)
    d["finance"]["opening_cash_usd"] = 10_000_000
    d["finance"]["facilities"] = {"standby": {
        "size_usd": 1_000_000, "fixed_rate_annual": 0.20, "amortization_quarters": 8,
        "draw_from": "2026Q1", "draw_until": "2026Q4",
    }}  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q1", **covenant}
    if robustness is not None:
        d["robustness"] = robustness
    data = data_of(d)
    s = api.solve_stochastic(data, 2, scenario_seed=28, out_of_sample=0, threads=1, mip_gap=1e-6).summary()
    row = s["scenarios"][0]
    assert (row["scenario"], row["probability"]) == ("scenario 15", pytest.approx(0.05))
    assert (row["slacks"], row["covenant_cure"], row["emergency_equity_usd"]) == ({}, False, 0.0)
    assert row["npv_usd"] == row["value_usd"] == pytest.approx(-1_388_757.57, abs=0.01)
    assert s["commitments"] == []  # nothing scrapped, nothing drawn
    lifted = f"LP, then again with {rows} covenant rows untested where a copy owes nothing"
    assert s["settings"]["solve_method"] == lifted  # one row a tested quarter
    assert (s["ev_usd"], s["rp_usd"], s["eev_usd"]) == (
        pytest.approx(391_516.58, abs=0.01), pytest.approx(302_502.87, abs=0.01),
        pytest.approx(302_502.87, abs=0.01),
    )  # fmt: skip


def owing_with_ebitda_below_zero(
    covenant: dict, solver: str, robustness: dict | None = None, overhead_usd: float = 1_500_000,
    owed_usd: float = 100_000, opening_cash_usd: float = 10_000_000,
) -> dict:
    """The test below's case solved by ``solver`` (with a ``robustness`` block if given, ``owed_usd``
    of opening balance and ``opening_cash_usd``): its summary."""
    d = rescue_model(overhead_usd_per_quarter=overhead_usd)
    d["finance"]["opening_cash_usd"] = opening_cash_usd
    d["finance"]["facilities"] = {"owed": {
        "size_usd": owed_usd, "opening_balance_usd": owed_usd, "fixed_rate_annual": 0.0,
        "amortization_quarters": 8, "draw_from": "2026Q1", "draw_until": "2026Q1",
    }}  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q1", **covenant}
    if robustness is not None:
        d["robustness"] = robustness
    return api.solve_stochastic(
        data_of(d), 2, scenario_seed=28, out_of_sample=0, threads=1, mip_gap=1e-6, solver=solver
    ).summary()


@pytest.mark.parametrize(
    ("covenant", "cure", "value", "rp"),
    [
        ({"max_debt_to_ebitda": 6.0}, 75_000.0, -2_309_705.52, 165_304.92),
        ({"min_dscr": 1.2}, 458_368.75, -6_526_761.77, -45_547.89),
    ],
)
def test_a_copy_that_owes_debt_with_ebitda_below_zero_cures_at_most_the_debt(covenant, cure, value, rp):
    """§7b "A covenant cure costs at most the debt": the test above with a $100,000 opening balance
    at 0 % repaid over 8 quarters ($12,500 a quarter; no more can be drawn). Scenario 15 (p = 0.05)
    earns EBITDA -368,368.75 a quarter; its leverage row read D_t <= 24 x EBITDA_t, a cure of D_t +
    8,840,850 a quarter at 11 per USD (before: $24.7M in all, V_15 -$273.4M, and RP scrapped 25 GPUs
    to cut it). Repaying the debt the row tests cures it, so the cure is at most that debt. A
    prepayment shortens no instalment (§5.9), so the balance stays at least the instalments left in
    the horizon: RP prepays the $50,000 due after it in 2026Q1 (each USD owed at a quarter's end
    costs 0.05 x 11 = 0.55, the forecast 0.976454 - 0.909091 = 0.067 a USD repaid early), owing
    37,500, 25,000, 12,500 and 0 at the quarters' ends. NPV_15 = -368,368.75 x 3.770020 - (62,500 x
    0.976454 + 12,500 x (0.953463 + 0.931012 + 0.909091)) = -1,484,705.52; NPV_0 = V_0 = 103,850 x
    3.770020 - 95,947.95 (the same payments) = 295,568.63. Leverage: the cures are those balances,
    75,000 at 11 per USD, V_15 = NPV_15 - 825,000 = -2,309,705.52, RP = 0.95 V_0 + 0.05 V_15 =
    165,304.92. DSCR (1.2 x 12,500 + 368,368.75 = 383,368.75 short a quarter) tests the balance at
    the quarter's start: in 2026Q1 the opening balance, which no copy can repay (uncut), then
    37,500, 25,000 and 12,500: 458,368.75, V_15 = NPV_15 - 5,042,056.25 = -6,526,761.77, RP = -45,547.89."""
    s = owing_with_ebitda_below_zero(covenant, "blocks")
    row = s["scenarios"][0]
    assert (row["scenario"], row["probability"]) == ("scenario 15", pytest.approx(0.05))
    ((group, cured),) = row["slacks"].items()
    assert group.endswith("_covenant") and cured["amount"] == pytest.approx(cure, abs=0.01)
    assert (row["npv_usd"], row["value_usd"]) == (
        pytest.approx(-1_484_705.52, abs=0.01), pytest.approx(value, abs=0.01),
    )  # fmt: skip
    assert [(c["quarter"], c["decision"], c["stochastic"]) for c in s["commitments"]] == [
        ("2026Q1", "prepay_debt", pytest.approx(50_000.0, abs=0.01)),
    ]  # nothing scrapped
    assert s["rp_usd"] == pytest.approx(rp, abs=0.01)
    assert "cut to the debt owed" in s["settings"]["solve_method"]


@pytest.mark.parametrize(("robustness", "rows"), [(None, 4), ({"market_price_drop": 0.05}, 8)])
@pytest.mark.parametrize("solver", ["blocks", "mpisppy-ef"])
def test_a_copy_whose_cash_covers_its_debt_pays_no_net_leverage_cure(solver, robustness, rows):
    """§7b "Net leverage": the test above with `leverage_numerator: net_debt` and $5M of opening cash.
    Scenario 15 (p = 0.05) pays 368,368.75 + 12,500 a quarter: its cash, 5,000,000 - 380,868.75 x
    (t + 1) at the end of quarter t (down to 3,476,525), stays above its debt (87,500 down to 50,000)
    and the $1M minimum, so its net debt is nil and no lender tests its net leverage (§5.11). Its
    rows read D_t - C_t <= 24 x -368,368.75: cash of D_t + 8,840,850 asked. Before, it was charged
    for them: no slack, but $4.31M of emergency equity raised its cash (at 11 per USD) and RP scrapped
    40.8 GPUs in 2026Q2-Q4 to cut it: V_15 -$43.48M, RP -$2,188,940.65 (with the shock's stress
    rows, RP -$3.21M). Now each row is lifted (cash above the debt, the row binding): no cure, no
    rescue, nothing scrapped, nothing prepaid (a prepayment lowers no net debt). NPV_15 = V_15 =
    -368,368.75 x 3.770020 - 12,500 x 3.770020 - 50,000 x 0.909091 (owed after the horizon) =
    -1,481,337.37; V_0 = EV = 103,850 x 3.770020 - 47,125.25 - 45,454.55 = 298,936.78; RP = EEV =
    0.95 V_0 + 0.05 V_15 = 209,923.08. With `robustness: {market_price_drop: 0.05}` the stress rows
    are lifted too: scenario 15's shocked cash, less 78,840 a quarter lost, still covers its debt
    (scenario 0's shocked rows hold: D_t - C_t + 78,840 (t + 1) < 0 <= 24 x 25,010)."""
    if solver == "mpisppy-ef":
        pytest.importorskip("mpisppy", reason="mpi-sppy not installed: pip install 'fleetopt[stochastic]'")
    covenant = {"max_debt_to_ebitda": 6.0, "leverage_numerator": "net_debt"}
    s = owing_with_ebitda_below_zero(covenant, solver, robustness, opening_cash_usd=5_000_000)
    (row15, row0) = s["scenarios"]
    assert (row15["scenario"], row15["probability"]) == ("scenario 15", pytest.approx(0.05))
    assert (row15["slacks"], row15["emergency_equity_usd"], row0["slacks"]) == ({}, 0.0, {})
    assert row15["npv_usd"] == row15["value_usd"] == pytest.approx(-1_481_337.37, abs=0.01)
    assert row0["value_usd"] == pytest.approx(298_936.78, abs=0.01)
    assert s["commitments"] == []
    assert (s["ev_usd"], s["rp_usd"]) == (
        pytest.approx(298_936.78, abs=0.01), pytest.approx(209_923.08, abs=0.01),
    )  # fmt: skip
    if solver == "blocks":
        assert s["eev_usd"] == pytest.approx(209_923.08, abs=0.01)
        lifted = f"LP, then again with {rows} covenant rows untested where a copy owes nothing"
        assert s["settings"]["solve_method"] == lifted


@pytest.mark.parametrize("solver", ["blocks", "mpisppy-ef"])
def test_a_net_leverage_cure_costs_at_most_the_net_debt(solver):
    """§7b "Net leverage": the test above with $12M owed (1,500,000 repaid a quarter) and $10M of
    opening cash. Scenario 15 (p = 0.05) pays 368,368.75 + 1,500,000 a quarter: its net debt at the
    end of quarter t is 2,000,000 + 368,368.75 (t + 1), 2,368,368.75 up to 3,473,475. Its rows asked
    cash of D_t + 8,840,850, which emergency equity raised (10 per USD beside the NPV, below a cure's
    11, and it stays): before, $12.08M of it, 8.8 GPUs scrapped in 2026Q4, V_15 -$130.15M, RP
    -$16,720,901.58. Met by cash beyond the debt, the rows are lifted and the copy held to owe
    nothing: the equity is the net debt, raised as late as it can be (at 10 DF_t a USD), 2,368,368.75
    in 2026Q1 and 368,368.75 in each quarter after, 3,473,475 in all. NPV_15 = -1,868,368.75 x
    3.770020 - 6,000,000 x 0.909091 (owed after the horizon) = -12,498,333.07; V_15 = NPV_15 - 10 x
    3,341,665.75 (the equity discounted) = -45,914,990.53; V_0 = EV = -1,396,150 x 3.770020 -
    5,454,545.45 = -10,718,058.92; RP = EEV = 0.95 V_0 + 0.05 V_15 = -12,477,905.50. Nothing is
    scrapped: an idle GPU scrapped in 2026Q1 gains scenario 15 (1 + 10) x 1,041.0625 x 3.770020 =
    43,172.61 (its EBITDA, and as much less equity), 0.05 x that 2,158.63, against 0.95 x 15,529.18
    lost in scenario 0."""
    if solver == "mpisppy-ef":
        pytest.importorskip("mpisppy", reason="mpi-sppy not installed: pip install 'fleetopt[stochastic]'")
    covenant = {"max_debt_to_ebitda": 6.0, "leverage_numerator": "net_debt"}
    s = owing_with_ebitda_below_zero(covenant, solver, owed_usd=12_000_000)
    (row15, row0) = s["scenarios"]
    assert (row15["scenario"], row15["slacks"], row0["slacks"]) == ("scenario 15", {}, {})
    assert row15["emergency_equity_usd"] == pytest.approx(3_473_475.0, abs=0.01)
    assert (row15["npv_usd"], row15["value_usd"], row0["value_usd"]) == (
        pytest.approx(-12_498_333.07, abs=0.01), pytest.approx(-45_914_990.53, abs=0.01),
        pytest.approx(-10_718_058.92, abs=0.01),
    )  # fmt: skip
    assert s["commitments"] == []
    assert (s["ev_usd"], s["rp_usd"]) == (
        pytest.approx(-10_718_058.92, abs=0.01), pytest.approx(-12_477_905.50, abs=0.01),
    )  # fmt: skip
    if solver == "blocks":
        assert s["eev_usd"] == pytest.approx(-12_477_905.50, abs=0.01)


def test_the_mpisppy_route_cures_at_most_the_debt_too():
    """The test above by mpi-sppy's extensive form (§7b, "The mpi-sppy route"), which lifted no row
    before: scenario 15 charged a $32.9M leverage cure, V_15 -$363.7M, RP -$18.27M. Now as the block
    solver: the cures are the debt owed, 75,000 in all, V_15 -2,309,705.52, RP 165,304.92."""
    pytest.importorskip("mpisppy", reason="mpi-sppy not installed: pip install 'fleetopt[stochastic]'")
    s = owing_with_ebitda_below_zero({"max_debt_to_ebitda": 6.0}, "mpisppy-ef")
    row = s["scenarios"][0]
    assert row["slacks"]["leverage_covenant"]["amount"] == pytest.approx(75_000.0, abs=0.01)
    assert row["value_usd"] == pytest.approx(-2_309_705.52, abs=0.01)
    assert s["rp_usd"] == pytest.approx(165_304.92, abs=0.01)


def test_the_mpisppy_route_leaves_highs_silent():
    """The test above's re-solves (a row lifted, cures cut to the debt) print nothing of HiGHS: before,
    16 lines on stdout, "WARNING: |Value| of 0 supplied to Highs::changeCoeff ...", one for each
    resale coefficient at 0 (`retirement.resale: false`) resent to HiGHS by each re-solve. In a
    process of its own: HiGHS writes to the C stdout, which pytest does not capture."""
    pytest.importorskip("mpisppy", reason="mpi-sppy not installed: pip install 'fleetopt[stochastic]'")
    code = (
        "from test_doc_cases_stochastic import owing_with_ebitda_below_zero as solve\n"
        "solve({'max_debt_to_ebitda': 6.0}, 'mpisppy-ef')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).parent, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Highs" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("covenant", "cures", "value", "rp"),
    [
        ({"max_debt_to_ebitda": 6.0}, (75_000.0, 75_000.0), -3_134_705.52, 124_054.92),
        ({"min_dscr": 1.2}, (458_368.75, 537_208.75), -12_436_058.02, -341_012.71),
    ],
)
@pytest.mark.parametrize("solver", ["blocks", "mpisppy-ef"])
def test_a_stress_covenant_cure_costs_at_most_the_debt_too(covenant, cures, value, rp, solver):
    """§7b "The robustness block's stress rows": ``owing_with_ebitda_below_zero``'s case (§7b "A
    covenant cure costs at most the debt") with `robustness: {market_price_drop: 0.05}`, which takes
    L = 0.05 x 1,576,800 = 78,840 a quarter of market revenue off EBITDA. Scenario 15's shocked
    EBITDA, -368,368.75 - 78,840 = -447,208.75, made its stress leverage cure D_t + 24 x 447,208.75 a
    quarter (before: $42.4M in all, RP -$23.23M); now the debt its row tests, 37,500 + 25,000 +
    12,500 (2026Q4's row, nothing owed, lifted) = 75,000 as its own row's: V_15 = -1,484,705.52 -
    11 x 150,000 = -3,134,705.52. Scenario 0's shocked EBITDA 103,850 - 78,840 = 25,010 keeps both
    stress rows (24 x 25,010 >= 37,500; 25,010 >= 1.2 x 12,500): V_0 = 295,568.63, RP = 0.95 V_0 +
    0.05 V_15 = 124,054.92. DSCR: the stress row of 2026Q1 tests the opening balance (uncut: 1.2 x
    12,500 + 447,208.75 = 462,208.75), then 37,500, 25,000 and 12,500: 537,208.75 (before: 4 x
    462,208.75, RP -$1.06M); V_15 = -1,484,705.52 - 11 x (458,368.75 + 537,208.75) = -12,436,058.02,
    RP = -341,012.71. The mpi-sppy route the same."""
    if solver == "mpisppy-ef":
        pytest.importorskip("mpisppy", reason="mpi-sppy not installed: pip install 'fleetopt[stochastic]'")
    s = owing_with_ebitda_below_zero(covenant, solver, {"market_price_drop": 0.05})
    row = s["scenarios"][0]
    assert (row["scenario"], row["probability"]) == ("scenario 15", pytest.approx(0.05))
    ((group, cured), (stress, stress_cured)) = row["slacks"].items()
    assert group.endswith("_covenant") and stress == "robustness"
    assert (cured["amount"], stress_cured["amount"]) == pytest.approx(cures, abs=0.01)
    assert row["value_usd"] == pytest.approx(value, abs=0.01)
    assert s["scenarios"][1]["slacks"] == {}
    assert [c["decision"] for c in s["commitments"]] == ["prepay_debt"]  # nothing scrapped
    assert s["rp_usd"] == pytest.approx(rp, abs=0.01)


@pytest.mark.parametrize("solver", ["blocks", "mpisppy-ef"])
def test_a_stress_covenant_cure_counts_as_a_covenant_cure(solver):
    """§7b "Each reduced scenario's row": ``owing_with_ebitda_below_zero``'s case with $1.1M of
    overhead ($400,000 a quarter more EBITDA: scenario 15's, -368,368.75 there, turns positive and
    its own leverage rows hold) and `robustness: {market_price_drop: 0.05}`, L = 78,840 a quarter
    off EBITDA, which breaks their stress rows. Scenario 15's one slack is its stress leverage cure
    (`robustness`): a covenant cure, not another slack, so 1 scenario (5 %) with a covenant cure and
    none with other slacks (before: 0 and 1)."""
    if solver == "mpisppy-ef":
        pytest.importorskip("mpisppy", reason="mpi-sppy not installed: pip install 'fleetopt[stochastic]'")
    s = owing_with_ebitda_below_zero(
        {"max_debt_to_ebitda": 6.0}, solver, {"market_price_drop": 0.05}, overhead_usd=1_100_000
    )
    row = s["scenarios"][0]
    assert (row["scenario"], list(row["slacks"])) == ("scenario 15", ["robustness"])
    assert (row["covenant_cure"], row["relaxed"]) == (True, False)
    assert (s["covenant_cured_scenarios"], s["relaxed_scenarios"]) == (1, 0)
    assert s["covenant_cured_probability"] == pytest.approx(0.05)


def test_rp_is_never_below_eev():
    """§7b "RP at least EEV": the test above's case (block solver). RP's solve scrapped 46.3 idle GPUs
    in 2026Q1 to keep scenario 15's shocked EBITDA (31,631.25 - 78,840 = -47,208.75 a quarter) from
    a stress leverage cure of D_t + 24 x 47,208.75, and ended there at $1,033,034.51: no cure above
    the debt was left to cut. EEV (the forecast's first stage: nothing scrapped, nothing prepaid)
    paid that cure, which its loop cut to the debt owed, 87,500 + 75,000 + 62,500 + 50,000 =
    275,000: NPV_15 = 31,631.25 x 3.770020 - 12,500 x 3.770020 - 50,000 x 0.909091 = 26,670.65,
    V_15 = NPV_15 - 11 x 275,000 = -2,998,329.35, V_0 = EV = 503,850 x 3.770020 - 47,125.25 -
    45,454.55 = 1,806,944.80, EEV = 0.95 V_0 + 0.05 V_15 = 1,566,681.09 (before: RP below it, VSS
    -$533,646.58). RP solved again under EEV's cures prepays the $50,000 due after the horizon in
    2026Q1 (each copy pays 50,000 x (0.9764541 - 0.9090909) = 3,368.16 for it): scenario 15's cures
    are 37,500 + 25,000 + 12,500 = 75,000, V_15 = 26,670.65 - 3,368.16 - 825,000 = -801,697.51, V_0 =
    1,803,576.64, RP = 1,673,312.93, VSS = 106,631.84."""
    s = owing_with_ebitda_below_zero(
        {"max_debt_to_ebitda": 6.0}, "blocks", {"market_price_drop": 0.05}, overhead_usd=1_100_000
    )
    assert s["eev_usd"] == pytest.approx(1_566_681.09, abs=0.01)
    assert (s["rp_usd"], s["vss_usd"]) == (
        pytest.approx(1_673_312.93, abs=0.01), pytest.approx(106_631.84, abs=0.01),
    )  # fmt: skip
    assert s["rp_own_usd"] == pytest.approx(1_033_034.51, abs=1.0)
    assert s["first_stage"] == "RP's"
    assert [(c["quarter"], c["decision"], c["stochastic"]) for c in s["commitments"]] == [
        ("2026Q1", "prepay_debt", pytest.approx(50_000.0, abs=0.01)),
    ]  # nothing scrapped
    assert "below EEV, so again under EEV's covenant cures" in s["settings"]["solve_method"]
    (row15, row0) = s["scenarios"]
    assert (row15["value_usd"], row0["value_usd"]) == (
        pytest.approx(-801_697.51, abs=0.01), pytest.approx(1_803_576.64, abs=0.01),
    )  # fmt: skip


def test_where_rp_solved_again_is_still_below_eev_rp_is_eev(monkeypatch):
    """§7b "RP at least EEV": the test above with RP's solve again giving back its own plan
    ($1,033,034.51, as a solve again stopped by a time limit might): EEV's solution is then the best
    plan of RP found, RP = EEV = 1,566,681.09, VSS 0, and the plan keeps the forecast's first stage
    (nothing prepaid), the table's RP row saying so."""
    monkeypatch.setattr(recourse, "solve_again_under_eev_rules", lambda ef, rp, eev, solver: rp)
    s = owing_with_ebitda_below_zero(
        {"max_debt_to_ebitda": 6.0}, "blocks", {"market_price_drop": 0.05}, overhead_usd=1_100_000
    )
    assert (s["rp_usd"], s["eev_usd"], s["vss_usd"]) == (
        pytest.approx(1_566_681.09, abs=0.01), pytest.approx(1_566_681.09, abs=0.01), 0.0,
    )  # fmt: skip
    assert s["rp_own_usd"] == pytest.approx(1_033_034.51, abs=1.0)
    assert s["first_stage"] == f"the forecast optimum's ({recourse.FORECAST_ABOVE_RP})"
    assert s["commitments"] == []
    assert s["settings"]["solve_method"].endswith("below EEV: RP is the forecast's first stage's")
    assert s["scenarios"][0]["value_usd"] == pytest.approx(-2_998_329.35, abs=0.01)
    (rp_label,) = [label for key, label in measure_rows(s) if key == "rp_usd"]
    assert "the forecast optimum's first stage's (EEV; its own plan, $1.0M" in rp_label


def test_ws_is_never_below_rp():
    """§7b "WS at least RP": ``owing_with_ebitda_below_zero``'s case with DSCR (1.2x) and $500,000 owed
    at 0 % over 8 quarters (62,500 a quarter: the rows ask EBITDA >= 75,000; 250,000 due after the
    horizon). Scenario 15 (p = 0.05) earns -368,368.75 a quarter, a cure of 75,000 + 368,368.75 =
    443,368.75; scenario 0 (p = 0.95) 103,850, none. RP keeps every GPU (one scrapped saves scenario
    15 1,041.0625 a quarter but costs scenario 0 4,119.125), so its cures of 2026Q2-Q4 exceed the
    balances at their starts (437,500, 375,000, 312,500) and are cut to them; it then prepays the
    250,000 in 2026Q1 (250,000 x (0.976454 - 0.909091) = 16,840.79 a copy, against 0.05 x 11 x
    750,000 of cures), owing 187,500, 125,000, 62,500: NPV_15 = -368,368.75 x 3.770020 - 479,739.77
    (312,500 x DF_0 + 62,500 x (DF_1 + DF_2 + DF_3)) = -1,868,497.34, V_15 = NPV_15 - 11 x 818,368.75 =
    -10,870,553.59, V_0 = 391,516.58 - 479,739.77 = -88,223.19, RP = -627,339.71. WS's own solve:
    scenario 15 alone scraps its 100 idle GPUs (EBITDA -264,262.50, cure 339,262.50 a quarter), which
    exceeds only 2026Q4's 312,500 owed; cut there, it prepays the 250,000 in 2026Q3 and stops: V_15 =
    -13,347,816.78, WS -735,204.12, EVPI -107,864.40 (before). Under RP's cures (2026Q2-Q4 cut to
    the debt), scenario 15 alone scraps its 100 and prepays in 2026Q1: NPV_15 = -264,262.50 x 3.770020
    - 479,739.77 = -1,476,014.72, cures 339,262.50 + 375,000, V_15 = NPV_15 - 11 x 714,262.50 =
    -9,332,902.22; scenario 0 alone prepays nothing: V_0 = EV = 391,516.58 - 62,500 x 3.770020 -
    250,000 x DF_3 = -71,382.40; WS = 0.95 V_0 + 0.05 V_15 = -534,458.39, EVPI 92,881.32. EEV (nothing
    prepaid): cures 443,368.75 + 437,500 + 375,000 + 312,500, NPV_15 = -1,388,757.57 - 462,898.98 =
    -1,851,656.55, V_15 = -19,103,712.80, EEV = 0.95 V_0 + 0.05 V_15 = -1,022,998.92."""
    s = owing_with_ebitda_below_zero({"min_dscr": 1.2}, "blocks", owed_usd=500_000)
    assert (s["ev_usd"], s["rp_usd"], s["eev_usd"]) == (
        pytest.approx(-71_382.40, abs=0.01), pytest.approx(-627_339.71, abs=0.01),
        pytest.approx(-1_022_998.92, abs=0.01),
    )  # fmt: skip
    assert (s["ws_usd"], s["evpi_usd"]) == (
        pytest.approx(-534_458.39, abs=0.01), pytest.approx(92_881.32, abs=0.01),
    )  # fmt: skip
    assert s["ws_own_usd"] == pytest.approx(-735_204.12, abs=0.01)
    assert "WS (-$735.2k) below RP, so again under RP's covenant cures" in s["settings"]["solve_method"]
    (ws_label,) = [label for key, label in measure_rows(s) if key == "ws_usd"]
    assert ws_label.endswith(
        "(its own solve, -$735.2k, was below RP: solved again under RP's covenant cures, at least RP)"
    )


def test_where_ws_solved_again_is_still_below_rp_ws_is_rp(monkeypatch):
    """§7b "WS at least RP": the test above with WS's solve again stopped short of the gap (a time
    limit): RP's solution is the best plan of WS found, WS = RP = -627,339.71, EVPI 0."""
    own = measures.wait_and_see

    def stopped_again(ef, solver, rules=None, stage_name="WS"):
        solution = own(ef, solver, rules, stage_name)
        return solution if rules is None else replace(solution, status="time_limit")

    monkeypatch.setattr(measures, "wait_and_see", stopped_again)
    s = owing_with_ebitda_below_zero({"min_dscr": 1.2}, "blocks", owed_usd=500_000)
    assert (s["ws_usd"], s["rp_usd"], s["evpi_usd"]) == (
        pytest.approx(-627_339.71, abs=0.01), pytest.approx(-627_339.71, abs=0.01), 0.0,
    )  # fmt: skip
    assert s["ws_own_usd"] == pytest.approx(-735_204.12, abs=0.01)
    assert s["settings"]["solve_method"].endswith("below RP too: WS is RP's value")

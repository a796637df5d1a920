r"""A power build, worked by hand from docs/formulation.md (§1 "Timing", §3 "Unit coefficients" and
the power schedules, §5.3, §5.6-5.8, §6) and docs/evaluation.md (quarter step 1) alone.

**The model** (``power_model``): tests/test_doc_cases.py's ``hand`` without tax, debt, covenants
or contracts, training demand 400 at $3.00 billed 80 % (5,256 a GPU-quarter), retired GPUs
scrapped for nothing (`retirement.resale: false`, so the GPUs are worth nothing at the end either).
The site has 0.3 MW online (PUE 1.25: 1.25e-3 MW a GPU in service, 0.3 of it idle), a fixed cost
of $4,000 a MW-quarter, and one 0.25 MW block to build from 2026Q1 at $400,000 a MW (K = 100,000),
two quarters' lead time, a 10-year life. $DF_t$ = 0.976454, 0.953463, 0.931012, 0.909091.

**By hand.** In units of 1.25 kW, n GPUs in service out of h held draw 0.3h + 0.7n; 0.3 MW is 240
units. A GPU in service earns 5,256 - 136.875 (1.25 kW at $50/MWh, 2,190 h) - 1,000 of opex =
4,119.125; an idle one costs 1,000 + 0.3 x 136.875 = 1,041.0625. Without the block the best is to
scrap 160 GPUs at once (an idle GPU costs its opex and idle power, and scrapping it frees 0.3/0.7 of
a GPU's draw for one in service) and run 240: EBITDA 240 x 5,256 - 32,850 - 1,200 (fixed cost on
0.3 MW) - 240,000 - 200,000 = 787,390 a quarter, NPV 2,968,476.07. A block can start in 2026Q1 or
2026Q2 only (online by the last quarter, §2 `BUILD`); started in 2026Q1 it is paid 50,000 in
2026Q1 and 2026Q2 (capex over the lead time) and online from 2026Q3. Each GPU held beyond 240 until
then costs, in 2026Q1-Q2, 0.3/0.7 of a GPU in service and its own idle cost, 4,119.125 x 3/7 +
1,041.0625 x 10/7 = 3,252.57 a quarter, and earns 4,119.125 a quarter from 2026Q3: a net
3,252.57 (DF_0 + DF_1) - 4,119.125 (DF_2 + DF_3) = -1,302.42, a gain, so all 400 are kept (with the
block started in 2026Q2, online only in 2026Q4, -3,252.57 (DF_0 + DF_1 + DF_2) + 4,119.125 DF_3 < 0:
the block would power nothing). 2026Q1-Q2: 1,200 / 7 = 171.43 in service, the site's 0.3 MW drawn
whole: EBITDA 171.43 x 5,256 - 32,850 - 1,200 - 400,000 - 200,000 = 266,978.57; 2026Q3-Q4: all 400
in service on 0.5 of 0.55 MW: 2,102,400 - 54,750 - 2,200 - 400,000 - 200,000 = 1,445,450. The
plant depreciates 100,000 / 40 = 2,500 a quarter from 2026Q3 and is worth its book value, 95,000,
at the end. NPV = (266,978.57 - 50,000)(DF_0 + DF_1) + 1,445,450 (DF_2 + DF_3) + 95,000 DF_3 =
**3,164,891.59**, 196,415.52 above not building.

**Planned for a late block** (§5.13, `robustness.power_delay_quarters` 1): the MW drawn must also fit
what would be online were the block a quarter late, so a block started in 2026Q1 counts only from
2026Q4 and 2026Q3 is held to 0.3 MW too. Each GPU held beyond 240 then costs 3,252.57 a quarter in
2026Q1-Q3 against 4,119.125 in 2026Q4: 22,768 / 7 x 2.860929 - 4,119.125 x 0.909091 = 5,560.72 more
than it earns. So 160 GPUs are scrapped at once, nothing is built and the NPV is not building's,
2,968,476.07.

**A late block** (evaluation quarter step 1): one quarter late, 2026Q3 has 0.3 MW for a draw of
0.5 MW: every GPU gets 0.6 (240 GPUs' sales), electricity on the 0.3 MW online, no fixed cost on
the late 0.25 MW: EBITDA 1,261,440 - 32,850 - 1,200 - 400,000 - 200,000 = 627,390, the NPV lower by
DF_2 x 818,060; the plant keeps its book value at the end (as if on time). Two quarters late, 2026Q4
too.

**A contracted increase, late** (evaluation quarter step 1, the risk table's `power_delay`): the
site's capacity is [0.3, 0.4, 0.55, 0.55] MW, no block, and the plan is the one above (its most in
2026Q2 is 0.3 MW). With the 2026Q2 increase (0.1 MW) two quarters late it is online from 2026Q4,
while 2026Q3's own increase (0.15 MW) is on time: 0.3 MW in 2026Q2 (no fixed cost on the late 0.1:
EBITDA 266,978.57, where on time the 0.4 MW online cost 1,600), 0.45 MW in 2026Q3 for a draw of
0.5: 0.9 of the GPUs sell (360), electricity and fixed cost on 0.45 MW: 1,892,160 - 49,275 - 1,800
- 600,000 = 1,241,085. A scenario built by hand moves the contracted capacity only where the model
has `power_delay.contracted_probability` > 0 (the FACTORS list's `step_delay`); without it the
increase is on time.

The stochastic solve's copies keep the forecast's contracted capacity (§7b, "Limitations"): with
capacity [0.3, 0.3, 0.55, 0.55] MW (no block; the forecast NPV is the build plan's without its
capex and book value, 266,978.57 (DF_0 + DF_1) + 1,445,450 (DF_2 + DF_3) = 3,175,023.79) and
`contracted_probability` 0.5, seed 0's scenario 0 has 2026Q3's increase a quarter late: the
evaluator loses DF_2 x 818,060 there (2,413,399.75), while both rows of `--stochastic 2` read the
forecast's 3,175,023.79.

**The two-stage solve** (§7b) with a power block late half the time (`power_delay` probability
0.5, one quarter), seed 2, `screen` 2 and N 2 (the two scenarios, 1/2 each), Q = 2 (retirements in
2026Q1-Q2 and the block, which can only start in 2026Q1-Q2, are first stage), L = 0. Scenario 1 is
the forecast (V_A = 3,164,891.59); in scenario 0 the block is online from 2026Q4 only.

* The forecast's first stage (build in 2026Q1, keep 400): in scenario 0 2026Q3 has 0.3 MW; the
  GPUs in service may draw only what is online (`in_service_power`: 240), the 160 idle draw their
  idle power beyond it (0.36 - 0.3 = 0.06 MW, `idle_unpowered`, which the late block's 0.25 MW
  allows, at 0.01 MUSD a MW-quarter: $600, undiscounted), and the MILP pays electricity on the
  0.36 MW drawn: EBITDA 1,261,440 - 39,420 - 1,200 - 600,000 = 620,820 (the evaluator, which pays
  only the MW online, has 627,390). Scrapping them in 2026Q3 instead would lose 4,119.125 DF_3 -
  1,041.0625 DF_2 - 3.75 > 0, so they wait. NPV_B = (266,978.57 - 50,000)(DF_0 + DF_1) +
  620,820 DF_2 + (1,445,450 + 95,000) DF_3 = 2,397,150.80, value 2,396,550.80: EEV =
  2,780,721.20, its expected NPV 2,781,021.20.
* Not building and scrapping 160 at once: 2,968,476.07 in both (no recourse does better: the 240
  GPUs left fit the 0.3 MW, and a block started in 2026Q2 would power nothing). RP =
  **2,968,476.07**, VSS = 187,754.88.
* WS: A builds (3,164,891.59), B does not: 3,066,683.83, EVPI = 98,207.76.

**The reduction** (§7b "Scenarios") of seed 4's four screened scenarios to N = 2: their delays
(start 2026Q1, start 2026Q2) are (0, 0), (0, 1), (0, 1), (1, 1), so their screened NPVs (the
forecast optimum's) are NPV, NPV, NPV and NPV - DF_2 x 818,060, and their quarters of delay, summed
over every start quarter (a block started there or not), 0, 1, 1, 2; every other feature is
constant and left out. Standardised: NPV (0.577, 0.577, 0.577, -1.732), delay (-1.414, 0, 0, 1.414).
The tail is the worst ceil(0.05 x 4) = 1, scenario 3, with one representative; the body {0, 1, 2}
gets the fast-forward's first pick, the scenario nearest the others in all: 1 (distance sum
1.414 against 2.828 for scenario 0; 2 ties with 1 and loses to the lower index): probabilities
1/4 and 3/4. With the late block at 1/4, building pays: EEV = RP = 0.75 x 3,164,891.59 + 0.25 x
2,396,550.80 = 2,972,806.39 (VSS 0, the forecast's first stage kept), WS = 0.75 x 3,164,891.59 +
0.25 x 2,968,476.07 = 3,115,787.71, EVPI = 142,981.32. Counting only the quarter a block was started
in, the body's features would be equal and its pick scenario 0.
"""

from __future__ import annotations

import pytest
import yaml
from milp_builders import data_of
from test_doc_cases import DF, HAND, simulated

from fleetopt import api
from fleetopt.core.results.headline import headline
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.milp.solve import solve

NPV = 3_164_891.59
LOW, HIGH = 1_200 / 7 * 5_256 - 32_850 - 1_200 - 400_000 - 200_000, 1_445_450.0


def power_model() -> dict:
    d = yaml.safe_load(HAND)
    d["finance"].update(tax_rate=0.0, facilities={})
    del d["finance"]["covenants"]
    d["contracts"] = {}
    d["market"]["demand_gpus"]["training"] = 400
    d["retirement"] = {"resale": False}
    d["sites"]["dc"].update(
        power_capacity_mw=0.3,
        fixed_cost_per_mw_quarter_usd=4000,
        expansion={"block_mw": 0.25, "capex_per_mw_usd": 400_000, "lead_time_quarters": 2,
                   "earliest_start": "2026Q1", "max_blocks": 1, "useful_life_years": 10},
    )  # fmt: skip
    return d


pytestmark = pytest.mark.filterwarnings("ignore:.*cannot run it all")


@pytest.fixture(scope="module")
def built():
    data = data_of(power_model())
    return data, solve(data, mip_gap=0.0)


def test_the_block_is_built_at_once_and_every_gpu_kept(built):
    data, result = built
    plan, lines = result.plan, result.statements.lines
    assert round(LOW, 2) == 266_978.57
    assert plan.build_blocks[0] == pytest.approx([1, 0, 0, 0])
    assert plan.retire.sum() == pytest.approx(0.0, abs=1e-6)
    assert plan.active[0].sum(axis=(0, 1)) == pytest.approx([1_200 / 7] * 2 + [400.0] * 2)
    assert lines["ebitda_usd"] == pytest.approx([LOW, LOW, HIGH, HIGH], abs=0.01)
    assert lines["capex_power_usd"] == pytest.approx([50_000.0, 50_000.0, 0.0, 0.0], abs=0.01)
    assert lines["depreciation_gpu_usd"] == pytest.approx([1_000_000.0] * 4, abs=0.01)
    assert lines["depreciation_power_usd"] == pytest.approx([0.0] * 2 + [2_500.0] * 2, abs=0.01)
    assert lines["mw_used_dc"] == pytest.approx([0.3, 0.3, 0.5, 0.5])
    assert lines["mw_available_dc"] == pytest.approx([0.3, 0.3, 0.55, 0.55])
    hand_npv = (LOW - 50_000) * (DF[0] + DF[1]) + HIGH * (DF[2] + DF[3]) + 95_000 * DF[3]
    assert hand_npv == pytest.approx(NPV, abs=0.01)
    assert result.statements.npv_usd == pytest.approx(NPV, abs=0.01)
    assert NPV - 787_390 * sum(DF) == pytest.approx(196_415.52, abs=0.01)
    fig = headline(data, result.plan, result.statements)
    assert (fig["power_built_mw"], fig["capex_power_total_usd"]) == (0.25, pytest.approx(100_000.0))
    assert 22_768 / 7 * (DF[0] + DF[1]) - 4_119.125 * (DF[2] + DF[3]) == pytest.approx(-1_302.42, abs=0.01)


def test_planned_for_a_late_block_it_is_not_built():
    d = power_model()
    d["robustness"] = {"power_delay_quarters": 1}
    result = solve(data_of(d), mip_gap=0.0)
    assert result.plan.build_blocks.sum() == pytest.approx(0.0)
    assert result.plan.retire.sum() == pytest.approx(160.0, abs=1e-6)
    assert 22_768 / 7 * sum(DF[:3]) - 4_119.125 * DF[3] == pytest.approx(5_560.72, abs=0.01)
    assert result.statements.npv_usd == pytest.approx(787_390 * sum(DF), abs=0.01)
    assert round(787_390 * sum(DF), 2) == 2_968_476.07


@pytest.mark.parametrize("contracted", [False, True])
def test_a_contracted_increase_late_leaves_its_mw_out_and_the_later_ones_in(built, contracted):
    _, result = built
    d = power_model()
    del d["sites"]["dc"]["expansion"]
    d["sites"]["dc"]["power_capacity_mw"] = [0.3, 0.4, 0.55, 0.55]
    if contracted:
        d["risk"] = {
            "power_delay": {"probability": 0, "max_extra_quarters": 2, "contracted_probability": 0.5}
        }
    data = data_of(d)
    scen = deterministic_scenarios(data)
    scen.step_delay[0, 0, 1] = 2
    out = simulated(data, result.plan, scen, record=("ebitda_usd",))
    want = [LOW, LOW, 1_241_085.0, HIGH] if contracted else [LOW, LOW - 400, HIGH, HIGH]
    assert out["ebitda_usd"] == pytest.approx(want, abs=0.01)


def test_the_stochastic_copies_keep_the_contracted_capacity_on_time():
    d = power_model()
    del d["sites"]["dc"]["expansion"]
    d["sites"]["dc"]["power_capacity_mw"] = [0.3, 0.3, 0.55, 0.55]
    d["risk"] = {"power_delay": {"probability": 0, "max_extra_quarters": 1, "contracted_probability": 0.5}}
    data = data_of(d)
    forecast = LOW * (DF[0] + DF[1]) + HIGH * (DF[2] + DF[3])
    assert round(forecast, 2) == 3_175_023.79
    one = generate_scenarios(data, 0, 0, 1)
    assert one.step_delay[0, 0, 2] == 1
    plan = solve(data, mip_gap=0.0).plan
    assert simulated(data, plan, one)["npv"] == pytest.approx(forecast - DF[2] * 818_060, abs=0.01)
    s = api.solve_stochastic(
        data, 2, screen=2, scenario_seed=0, out_of_sample=0, threads=1, mip_gap=1e-6, first_stage_quarters=2
    ).summary()
    assert [r["npv_usd"] for r in s["scenarios"]] == pytest.approx([forecast] * 2, abs=0.01)


def test_the_two_stage_solve_with_a_block_late_half_the_time():
    d = power_model()
    d["risk"] = {"power_delay": {"probability": 0.5, "max_extra_quarters": 1}}
    data = data_of(d)
    assert generate_scenarios(data, 2, 0, 2).delay[:, 0, 0].tolist() == [1, 0]
    s = api.solve_stochastic(
        data, 2, screen=2, scenario_seed=2, out_of_sample=0, threads=1, mip_gap=1e-6, first_stage_quarters=2
    ).summary()
    n_b = (LOW - 50_000) * (DF[0] + DF[1]) + 620_820 * DF[2] + (HIGH + 95_000) * DF[3]
    assert round(n_b, 2) == 2_397_150.80
    rp, eev, ws = 787_390 * sum(DF), (NPV + n_b - 600) / 2, (NPV + 787_390 * sum(DF)) / 2
    want = {"ev_usd": NPV, "rp_usd": rp, "eev_usd": eev, "ws_usd": ws, "vss_usd": rp - eev,
            "evpi_usd": ws - rp, "eev_expected_npv_usd": eev + 300, "expected_npv_usd": rp}  # fmt: skip
    assert {k: s[k] for k in want} == {k: pytest.approx(v, abs=0.01) for k, v in want.items()}
    assert (round(eev, 2), round(rp - eev, 2), round(ws, 2), round(ws - rp, 2)) == (
        2_780_721.20, 187_754.88, 3_066_683.83, 98_207.76
    )  # fmt: skip
    assert s["first_stage"] == "RP's"
    assert [(c["decision"], c["stochastic"], c["forecast_optimum"]) for c in s["commitments"]] == [
        ("retire", pytest.approx(160.0), 0.0), ("build_power", 0.0, 0.25)
    ]  # fmt: skip
    assert [r["probability"] for r in s["scenarios"]] == [0.5, 0.5]


def test_the_reduction_counts_the_delay_of_every_start_quarter():
    d = power_model()
    d["risk"] = {"power_delay": {"probability": 0.5, "max_extra_quarters": 1}}
    data = data_of(d)
    assert generate_scenarios(data, 4, 0, 4).delay[:, 0, :2].tolist() == [[0, 0], [0, 1], [0, 1], [1, 1]]
    s = api.solve_stochastic(
        data, 2, screen=4, scenario_seed=4, out_of_sample=0, threads=1, mip_gap=1e-6, first_stage_quarters=2
    ).summary()
    assert [(r["scenario"], r["probability"]) for r in s["scenarios"]] == [
        ("scenario 3", 0.25),
        ("scenario 1", 0.75),
    ]
    n_b = (LOW - 50_000) * (DF[0] + DF[1]) + 620_820 * DF[2] + (HIGH + 95_000) * DF[3]
    rp, ws = 0.75 * NPV + 0.25 * (n_b - 600), 0.75 * NPV + 0.25 * 787_390 * sum(DF)
    assert (round(rp, 2), round(ws, 2), round(ws - rp, 2)) == (2_972_806.39, 3_115_787.71, 142_981.32)
    want = {"rp_usd": rp, "eev_usd": rp, "ws_usd": ws, "vss_usd": 0.0, "evpi_usd": ws - rp}
    assert {k: s[k] for k in want} == {k: pytest.approx(v, abs=0.01) for k, v in want.items()}
    assert s["first_stage"].startswith("the forecast optimum's")


@pytest.mark.parametrize("late", [1, 2])
def test_a_late_block_serves_the_share_of_the_mw_online(built, late):
    data, result = built
    scen = deterministic_scenarios(data)
    scen.delay[0, 0, 0] = late
    out = simulated(data, result.plan, scen, record=("ebitda_usd", "cash_usd"))
    short = 627_390.0
    assert out["ebitda_usd"] == pytest.approx([LOW, LOW, short, short if late == 2 else HIGH], abs=0.01)
    lost = DF[2] * (HIGH - short) + (DF[3] * (HIGH - short) if late == 2 else 0.0)
    assert out["npv"] == pytest.approx(NPV - lost, abs=0.01)

"""The risk metrics of a handful of scenarios, worked by hand from docs/evaluation.md ("Outputs",
`metrics.csv`; "After a liquidity default"; "The debt at a default"; quarter step 6) on the model
``hand`` of tests/test_doc_cases.py run as its crash case: $1M of opening cash, a $200,000 revolver
at 12 % and distress-sale lots of 10 GPUs. The solve's plan is the forecast one (cash 4,041,080,
4,804,160, 5,575,240, 6,354,320; debt 3.75M, 3.25M, 2.75M, 2.25M; NPV 10,050,246.49).

Five scenarios, built by hand from the forecast:

* A, the forecast: NPV 10,050,246.49, lowest cash 4,041,080.
* B, the crash of tests/test_doc_cases.py (from 2026Q2 Hopper's price 0, lab-a defaulted): NPV
  4,468,397.41; leverage and DSCR fail from quarter 1 (mask 1 + 2), cured, then quarter 2 is
  uncured (the quarter after a cure) owing 2.75M; in 2026Q4 the revolver lends 200,000 and 2 lots
  (20 GPUs) fetch 427,500: lowest cash 1,009,330, no default.
* C, B with the resale values at 0.05 of the forecast in 2026Q4: a GPU (age 7 quarters) fetches
  21,375 x 0.05 = 1,068.75; the gap after the revolver is 418,170, which needs 40 lots but only the
  300 market GPUs may be sold: 320,625, cash 902,455, 97,545 below the $1M default level: a
  liquidity default in quarter 3. NPV = sum DF_t x (3,041,080, -1,229,750, -1,219,750, -689,125)
  + DF_3 x (the 100 GPUs left at 0.05 x 19,000 = 95,000 - debt 2,450,000; no liquidation tax: the
  last quarter's income is a loss) = -2,106,034.41. With limited liability: sum_{t<3} DF_t dC_t -
  DF_3 x 1,591,580 = -785,538.95. The debt at the default: B = 2,250,000 + 200,000 revolver; the
  100 GPUs left valued 100 x 21,375 x 0.05 = 106,875 and the cash 902,455: 1,440,670 uncovered.
* D, the resale values at 0.3 of the forecast in 2026Q1 only: the borrowing base needs 3.75M / 0.9
  = 4,166,667 of collateral against 400 x 40,000 x 0.75 x 0.3 = 3.6M: a breach (mask 32) in
  quarter 0, cured, nothing else; NPV the forecast's (no GPU is sold).
* E, lab-a defaulting in 2026Q3 and the resale values at 0.8 in 2026Q4 (case (c) of
  tests/test_doc_cases.py): NPV 7,844,961.23, no breach, freed GPUs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from milp_builders import data_of
from test_doc_cases import DF, hand_model, npv_of

from fleetopt import api
from fleetopt.evaluate.batch import compile_plans, with_buffers
from fleetopt.evaluate.factors import Stream, uniforms
from fleetopt.evaluate.forecast import forecast_npv
from fleetopt.evaluate.metrics import FORECAST_OK, plan_metrics
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.persistent import PersistentPlanner
from fleetopt.milp.solve import solve
from fleetopt.sweep.candidate_record import signed_short
from fleetopt.sweep.rule import Rule, recommend
from fleetopt.sweep.stresses import default_stresses

A = 10_050_246.49
B = 4_468_397.41
C = npv_of([3_041_080.0, -1_229_750.0, -1_219_750.0, -689_125.0], 95_000.0 - 2_450_000.0)
C_LIMITED = DF[0] * 3_041_080 - DF[1] * 1_229_750 - DF[2] * 1_219_750 - DF[3] * 1_591_580
E = 7_844_961.23


@pytest.fixture(scope="module")
def crash():
    d = hand_model(opening_cash_usd=1_000_000, revolver={"size_usd": 200_000, "annual_rate": 0.12})
    d["policy"] = {"sale_block_gpus": 10}
    data = data_of(d)
    return data, solve(data, mip_gap=0.0).plan


def run(crash, kinds: str) -> dict:
    """Each letter of ``kinds`` a scenario of the module docstring, simulated; the (1, S) results."""
    data, plan = crash
    scen = deterministic_scenarios(data, len(kinds))
    for s, kind in enumerate(kinds):
        if kind in "BC":
            scen.contract_alive[s, 0, 1:] = False
            scen.price_factor[s, 0, 1:] = 0.0
        if kind == "C":
            scen.resale_factor[s, 3] = 0.05
        if kind == "D":
            scen.resale_factor[s, 0] = 0.3
        if kind == "E":
            scen.contract_alive[s, 0, 2:] = False
            scen.resale_factor[s, 3] = 0.8
    return simulate(SimulationConstants.from_data(data), compile_plans(data, [plan], ["hand"]), scen)


def test_the_five_scenarios_are_the_hand_figures(crash):
    out = run(crash, "ABCDE")
    assert round(C, 2) == -2_106_034.41
    assert out["npv"][0] == pytest.approx([A, B, C, A, E], abs=0.01)
    assert out["npv_limited"][0] == pytest.approx([A, B, C_LIMITED, A, E], abs=0.01)
    assert out["min_cash"][0] == pytest.approx([4_041_080, 1_009_330, 902_455, 4_041_080, 4_041_080])
    assert out["first_breach"][0].tolist() == [0, 3, 3, 32, 0]
    assert out["quarters_before_breach"][0].tolist() == [4, 1, 1, 0, 4]
    assert out["quarters_before_uncured"][0].tolist() == [4, 2, 2, 4, 4]
    assert out["quarters_before_default"][0].tolist() == [4, 4, 3, 4, 4]
    assert out["debt_at_default"][0] == pytest.approx([0, 0, 2_450_000, 0, 0])
    assert out["uncovered_debt"][0] == pytest.approx([0, 0, 1_440_670, 0, 0])
    assert out["debt_at_uncured_breach"][0] == pytest.approx([0, 2_750_000, 2_750_000, 0, 0])
    assert out["distress_sold_usd"][0] == pytest.approx([0, 427_500, 320_625, 0, 0])


def test_the_metrics_of_five_scenarios_by_hand(crash):
    """k = ceil(5 % of 5) = 1: P5 and CVaR5 are the worst scenario, C. The median of five is the
    third lowest (C, B, E, A, D): E. P(breach) 3/5 (B, C, D), uncured 2/5 (B, C: D's one breach is
    cured), P(default) 1/5 (C), P(any default) 2/5 (C's default is in a scenario with an uncured
    breach: counted once). First breaches: leverage and DSCR 2/5 each (B, C, in one quarter), the
    borrowing base 1/5 (D); they add up to 5/5 >= 3/5. The debt at a default: 2,450,000 over the
    one default, covered 1 - 1,440,670 / 2,450,000, and 1,440,670 / 5 uncovered on average over all
    five; at an uncured breach 2.75M (B and C), all of it covered by 400 GPUs at 23,750 (age 6
    quarters) and the cash. The quarters broken in, numbered from 1: breaches 2, 2, 1 (median 2),
    uncured 3, 3 (of an even count the earlier middle one: 3), the default 4. Utilisation: 1, then
    300 of 400 GPUs within the demand of 300 in B and C's last three quarters (13/16), E's last two
    (7/8): mean 0.9."""
    m = plan_metrics(run(crash, "ABCDE"), quarters=4)
    npv = np.array([A, B, C, A, E])
    limited = np.array([A, B, C_LIMITED, A, E])
    hand = {
        "npv_mean_usd": npv.mean(),
        "npv_std_usd": npv.std(),  # the population's
        "npv_mean_se_usd": npv.std(ddof=1) / np.sqrt(5),  # the sample's
        "npv_mean_no_default_usd": (2 * A + B + E) / 4,
        "npv_median_usd": E,
        "loss_probability": 0.2,
        "npv_p5_usd": C,
        "npv_cvar5_usd": C,
        "npv_limited_mean_usd": limited.mean(),
        "npv_limited_cvar5_usd": C_LIMITED,
        "breach_probability": 0.6,
        "uncured_breach_probability": 0.4,
        "default_probability": 0.2,
        "any_default_probability": 0.4,
        "first_breach_leverage_share": 0.4,
        "first_breach_dscr_share": 0.4,
        "first_breach_interest_coverage_share": 0.0,
        "first_breach_liquidity_share": 0.0,
        "first_breach_borrowing_base_share": 0.2,
        "debt_at_default_mean_usd": 2_450_000.0,
        "debt_covered_at_default": 1 - 1_440_670 / 2_450_000,
        "uncovered_debt_mean_usd": 1_440_670 / 5,
        "debt_at_uncured_breach_mean_usd": 2_750_000.0,
        "debt_covered_at_uncured_breach": 1.0,
        "uncovered_debt_at_uncured_breach_mean_usd": 0.0,
        "expected_min_cash_usd": (3 * 4_041_080 + 1_009_330 + 902_455) / 5,
        "mean_utilisation": 0.9,
        "freed_share": 0.6,
        "sold_share": 0.4,
        "distress_sale_proceeds_mean_usd": (427_500 + 320_625) / 5,
        "breach_median_quarter": 2,
        "uncured_breach_median_quarter": 3,
        "default_median_quarter": 4,
    }
    assert {k: float(m[k][0]) for k in hand} == pytest.approx(hand, abs=0.01)


def test_twenty_one_scenarios_have_a_tail_of_two(crash):
    """k = ceil(5 % of 21) = 2: P5 is the second worst NPV and CVaR5 the mean of the two worst.
    Scenarios C, B, B and 18 forecasts: P5 = B, CVaR5 = (C + B) / 2 (the second B, tied with the
    first, is not in the tail and changes nothing), the median (the 11th lowest) A."""
    m = plan_metrics(run(crash, "CBB" + "A" * 18), quarters=4)
    assert float(m["npv_p5_usd"][0]) == pytest.approx(B, abs=0.01)
    assert float(m["npv_cvar5_usd"][0]) == pytest.approx((C + B) / 2, abs=0.01)
    assert float(m["npv_median_usd"][0]) == pytest.approx(A, abs=0.01)
    assert float(m["npv_limited_cvar5_usd"][0]) == pytest.approx((C_LIMITED + B) / 2, abs=0.01)


def hazard_model(tmp_path, name: str, **facility) -> str:
    """hand with lab-a defaulting with a hazard of 0.15 a quarter, written to a file."""
    d = hand_model()
    d["risk"] = {"customer_default_hazard_per_quarter": 0.15}
    d["finance"]["facilities"]["term-loan"].update(facility)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(d))
    return str(path)


def draw_worth(k: int) -> float:
    """What a dollar of hand's 2026Q1 draw adds to the NPV where lab-a defaults in quarter k (4:
    never): +1 in 2026Q1; interest 0.02, 0.0175, 0.015 and principal 0.125 a quarter after; 0.625
    owed at the end. Its interest saves 20 % tax only in a quarter before the default (from the
    default on EBITDA is 922,050 and EBT negative, test_doc_cases.py case (c)), and never in
    2026Q4, whose tax the liquidation tax refunds whole (the fleet's loss of 400,000 exceeds that
    quarter's EBT) or which has none."""
    return DF[0] - DF[1] * (0.145 - 0.004 * (k > 1)) - DF[2] * (0.1425 - 0.0035 * (k > 2)) - DF[3] * 0.765


@pytest.mark.filterwarnings("ignore::fleetopt.errors.FleetoptWarning")
def test_compare_of_two_plans_on_the_same_scenarios_by_hand(tmp_path):
    """`fleetopt compare` (docs/evaluation.md, the compare paragraphs): hand's optimum, which draws
    2M, against the same fleet not drawing (the term loan's size its opening balance), on 20
    scenarios of seed 0. lab-a defaults in the first quarter whose uniform is below 0.15 ("From the
    draws to the factors"): quarters 4, 1, 4, 2, 0, 4, 0, 4, 0, 1, 4, 2, 4, 3, 4, 4, 1, 4, 1, 2
    (4: never). Nothing breaches or defaults, so the NPVs differ by the draw alone, 2M x
    draw_worth(k): 20,156.39 (k <= 1, 7 scenarios), 27,784.09 (k = 2, 3) and 34,301.18 (k >= 3, 10).
    The mean difference is their mean, 28,372.94, its paired standard error their sample standard
    deviation (divisor 19) over sqrt(20), 1,473.50. k = ceil(5 % of 20) = 1: P5 and CVaR5 are each
    plan's worst scenario, an earliest default for both, so their difference is 20,156.39; every
    influence value q + min(x - q, 0) x 20 / 1 - CVaR would be 0, an error of 0 whatever the plans, so
    CVaR5's error is n/a (NaN: docs/evaluation.md, on 20 scenarios or fewer), and P5's too (the
    bootstrap of the worst scenario was 0 here: each of its 200 resamples held one of the 7 scenarios
    of k <= 1, where both plans are worst and differ by 20,156.39, a certainty no sample gives)."""
    draws = uniforms(0, np.arange(20), (Stream.CUSTOMER, 0), 4) < 0.15
    k = np.where(draws.any(axis=1), draws.argmax(axis=1), 4)
    assert k.tolist() == [4, 1, 4, 2, 0, 4, 0, 4, 0, 1, 4, 2, 4, 3, 4, 4, 1, 4, 1, 2]
    diff = 2_000_000 * np.array([draw_worth(q) for q in k])
    model = hazard_model(tmp_path, "drawn")
    drawn = api.solve(model, mip_gap=0.0)
    undrawn = api.solve(hazard_model(tmp_path, "undrawn", size_usd=2_000_000), mip_gap=0.0)
    assert undrawn.plan.draws.sum() == pytest.approx(0.0, abs=0.01)
    c = api.compare([drawn, undrawn], model, scenarios=20, seed=0, labels=["drawn", "undrawn"])
    fig = c.figures
    assert c.npv_matrix[0] - c.npv_matrix[1] == pytest.approx(diff, abs=0.01)
    assert fig["drawn"]["npv_mean_usd"] - fig["undrawn"]["npv_mean_usd"] == pytest.approx(28_372.94, abs=0.01)
    assert fig["undrawn"]["npv_mean_paired_se_usd"] == pytest.approx(1_473.50, abs=0.01)
    assert diff.std(ddof=1) / np.sqrt(20) == pytest.approx(1_473.50, abs=0.01)
    tail = fig["drawn"]["npv_cvar5_usd"] - fig["undrawn"]["npv_cvar5_usd"]
    assert tail == pytest.approx(2_000_000 * draw_worth(0), abs=0.01)
    assert tail == pytest.approx(20_156.39, abs=0.01)
    assert np.isnan(fig["undrawn"]["npv_cvar5_paired_se_usd"])  # was 0, and the difference "better"
    assert np.isnan(fig["undrawn"]["npv_p5_paired_se_usd"])  # P5 too: the worst scenario, no error
    assert fig["undrawn"]["breach_probability_paired_se"] == 0.0
    assert not c.same
    same = api.compare([drawn, api.solve(model, mip_gap=0.0)], model, scenarios=20, seed=0, labels=["a", "b"])
    assert same.same == [("a", "b")]
    assert "the same in all five" in same.to_markdown()


def candidates_table() -> pd.DataFrame:
    """Four candidates whose figures are given (USD in millions): the forecast optimum F, and A, B,
    C. A has the best CVaR5 but breaches more often than F; B and C tie on CVaR5."""
    return pd.DataFrame({
        "plan": ["F", "A", "B", "C"],
        "origin": ["forecast", "stress", "stress", "variation"],
        FORECAST_OK: [True, True, True, True],
        "npv_mean_usd": [5.0, 6.0, 4.0, 3.0],
        "npv_cvar5_usd": [-10.0, -5.0, -8.0, -8.0 * (1 + 5e-10)],
        "npv_p5_usd": [-9.0, -4.0, -7.0, -7.5],
        "breach_probability": [0.3, 0.4, 0.2, 0.1],
        "default_probability": [0.1, 0.05, 0.1, 0.05],
    })  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "forecast_ok", "pick"),
    [
        (Rule(), None, "C"),
        (Rule(no_riskier_than_optimum=False), None, "A"),
        (Rule(no_riskier_than_optimum=False), [True, False, True, True], "C"),
        (Rule(no_riskier_than_optimum=False, forecast_within_limits=False), [True, False, True, True], "A"),
        (Rule(prefer="mean"), None, "F"),
        (Rule(prefer="p5"), None, "B"),
        (Rule(max_breach_prob=0.15), None, "C"),
        (Rule(min_cvar5_usd=-9.0), None, "C"),
    ],
)
def test_the_sweep_rule_picks_by_hand(rule, forecast_ok, pick):
    """docs/cli.md, "The rule", and docs/evaluation.md, "Ties". A breaches in 40 % of the scenarios,
    above F's 30 %: by default (no riskier than the optimum) it is out, and of F, B and C the best
    CVaR5 is B's and C's -8, equal within a relative 1e-9, so the lower breach probability picks C.
    `--allow-riskier` admits A (-5), unless A breaches on its own forecast and
    `--allow-forecast-breach` is not given (then C again). By mean NPV F (5) beats B (4) and C (3),
    A being riskier; by P5, B (-7) beats C (-7.5) and F (-9). `--max-breach-prob 0.15` leaves C
    alone; `--min-cvar -9e6` (here -9) rules out F, and the tie goes to C."""
    table = candidates_table()
    if forecast_ok is not None:
        table[FORECAST_OK] = forecast_ok
    assert table["plan"].iloc[recommend(table, rule)] == pick


@pytest.mark.filterwarnings("ignore::fleetopt.errors.FleetoptWarning")
def test_a_sweep_of_hand_without_gpu_orders(tmp_path):
    """`fleetopt sweep` of hand with lab-a defaulting at 0.15 a quarter and a 1.7x DSCR, 20
    scenarios of seed 0 (the default quarters of the compare test above). The forecast optimum
    breaches the DSCR wherever lab-a defaults by 2026Q4 (EBITDA 922,050 against 1.7 x 575,000,
    565,000 or 555,000 of debt service, while 2026Q1's 290,000 passes): 11 of 20; uncured in the 10
    where it defaults by 2026Q3 (two breaches in a row). The lost-anchor optimum never serves lab-a,
    whose contract is signed: its 100 GPUs retired at the start of 2026Q1 as in
    tests/test_doc_cases_tax.py's retirement, with 300 on the market (43,800 more revenue a quarter
    than there, taxed at 20 % except in 2026Q4, whose tax the liquidation tax refunds), the 2M drawn
    (1.7 x 575,000 <= 1,035,737.50): 9,674,887.20 + 35,040 (DF_0 + DF_1 + DF_2) + 43,800 DF_3 =
    9,814,952.33 in every scenario, above every other candidate's mean, and the sweep picked it:
    walking away from a signed contract that costs nothing to leave. A signed contract must be
    served, so that plan's purchases (none) and power blocks (none) are now completed on the forecast
    serving lab-a: the forecast optimum, a duplicate; the pick (the demand slump's optimum, which
    breaches in none of the 20) serves lab-a. hand buys no GPUs, so the largest quarterly GPU order
    is 0 and no plan gets a cash buffer:
    no buffer candidate in the first round, no second round (docs/evaluation.md). The runner-up's
    lead has no error (20 scenarios: a tail of one, whose influence values are all 0)."""
    d = hand_model()
    d["risk"] = {"customer_default_hazard_per_quarter": 0.15}
    d["finance"]["covenants"]["min_dscr"] = 1.7
    path = tmp_path / "hand.yaml"
    path.write_text(yaml.safe_dump(d))
    result = api.sweep(str(path), scenarios=20, seed=0)
    m = result.metrics.set_index("plan")
    assert (
        m.loc["milp: forecast", "breach_probability"],
        m.loc["milp: forecast", "uncured_breach_probability"],
    ) == (pytest.approx(0.55), pytest.approx(0.5))
    hand = 9_674_887.20 + 35_040 * (DF[0] + DF[1] + DF[2]) + 43_800 * DF[3]
    assert hand == pytest.approx(9_814_952.33, abs=0.01)
    data = data_of(d)
    (lost,) = [s for s in default_stresses(data) if s.contracts_lost]
    walked = PersistentPlanner(data).solve_stress(lost).plan
    assert signed_short(data, walked) == ["lab-a-training"]
    assert forecast_npv(data, walked) == pytest.approx(hand, abs=0.01)
    assert (m["npv_mean_usd"] < hand).all()  # it would beat every candidate: now it is none
    made = {c.label: c for c in result.candidates.candidates}
    assert made["milp: lost anchor customer"].same_as == "milp: forecast"
    assert result.recommended["plan"] == "milp: demand slump"
    assert all(signed_short(data, c.plan) == [] for c in result.candidates.feasible)
    assert "policy" not in set(m["origin"])
    assert np.isnan(result.lead.se)  # a tail of one scenario: no error (it was 0, "beyond doubt")
    assert "a tail of one scenario (the worst of 20) gives that lead no standard error" in result.why()


@pytest.mark.parametrize("lot", [7, 1000])
def test_the_last_quarters_sale_is_capped_at_the_market_gpus_in_gpus(lot):
    """Policy rule 4 in scenario C (2026Q4, the last quarter: no later quarter's contracts to keep
    GPUs for): the 300 market GPUs are the cap, in GPUs, not lots. Lots of 7 at 1,068.75 a GPU
    would need ceil(418,170 / 7,481.25) = 56; the cap sells 42 lots and 6 GPUs, 300 in all,
    320,625 as with lots of 10, and cash ends at 902,455, a default. Lots of 1,000 (the default) at
    the forecast's resale value (21,375 a GPU) need one lot: the cap sells the 300, 6,412,500 for a
    gap of 418,170, and cash ends at 581,830 + 6,412,500 = 6,994,330."""
    d = hand_model(opening_cash_usd=1_000_000, revolver={"size_usd": 200_000, "annual_rate": 0.12})
    d["policy"] = {"sale_block_gpus": lot}
    data = data_of(d)
    plan = solve(data, mip_gap=0.0).plan
    scen = deterministic_scenarios(data)
    scen.contract_alive[0, 0, 1:] = False
    scen.price_factor[0, 0, 1:] = 0.0
    scen.resale_factor[0, 3] = 0.05 if lot == 7 else 1.0
    out = simulate(SimulationConstants.from_data(data), compile_plans(data, [plan], ["hand"]), scen,
                   record=("cash_usd",))  # fmt: skip
    sold, cash = (320_625.0, 902_455.0) if lot == 7 else (6_412_500.0, 6_994_330.0)
    assert out["distress_sold_usd"][0, 0] == pytest.approx(sold, abs=0.01)
    assert out["cash_usd"][0, 0, 3] == pytest.approx(cash, abs=0.01)
    assert bool(out["default"][0, 0]) == (lot == 7)


@pytest.mark.filterwarnings("ignore::fleetopt.errors.FleetoptWarning")
def test_a_sweep_with_gpu_orders_and_its_second_round(tmp_path):
    """The sweep of hand with lab-a's hazard (0.15) when an H200 (Hopper, $30,000, otherwise an
    H100) is on sale in 2026Q2-Q3 and the training demand is 400: the forecast optimum retires 300
    H100 and buys 400 H200 in 2026Q2, its largest quarterly GPU order 400 x 30,000 = $12M, so its
    buffers are 25 % and 50 % of it, $3.0M and $6.0M (docs/cli.md, "Candidates", item 2).

    The $6M buffer, policy rule 0 in 2026Q2 (docs/evaluation.md): cash after 2026Q1 is 8,041,080
    (the statements') where lab-a is live then; the projection adds the plan's forecast change of
    2026Q2, -2,987,390: 5,053,690, short of 1M + 6M by G = 1,946,310. The 400 H200 are all
    deferrable (no contract may use them) and are the plan's 400 Hopper market GPUs, so the saving
    is 12,000,000 less their forecast EBITDA: 400 x 5,256 - 400 x 1.25 kW x 2,190 h x $0.05 - 400 /
    500 of the 500 Hopper GPUs' opex of 500,000 = 1,647,650: 10,352,350, and f = G / 10,352,350 =
    18.80 %, $2,256,079.05 deferred. Where lab-a defaults in 2026Q1 (3 of the 20 scenarios) its 100
    GPUs go to a market whose demand of 400 still has room for them: 2026Q1 earns 100 x (5,256 -
    4,818) = 43,800 more, 35,040 after tax, G = 1,911,270 and $2,215,462.19 deferred. The plan's
    sale of 300 H100 in 2026Q2 is made in full: the 75.2 H200 deferred are not among the GPUs it
    sells (docs/evaluation.md, "GPUs taken out"). Where lab-a is live through 2026Q2, cash after it
    is the statements' 5,053,690 + 2,256,079.05 deferred - their EBITDA f x 1,647,650 = 309,769.05
    + the tax on it less their share f x 400 / 500 of Hopper's 1,000,000 of depreciation, 0.2 x
    (309,769.05 - 150,405.27) = 31,872.76: 7,031,872.76. In 2026Q3, with no order of its own, the
    deferred payment is due: the projection 7,031,872.76 + 1,100,610 (the plan's forecast change)
    - 2,256,079.05 is short of 7M by 1,123,596.30, and cancelling saves the payment less its 20 %
    deposit less what the GPUs would earn, 0.8 x 2,256,079.05 - 309,769.05 = 1,495,094.19: c =
    0.7515, and c x 0.2 x 2,256,079.05 = 339,098.65 of deposit is forfeited. (Until 0.4.21 the
    share 75.2 / 500 of the H100 sale was lost with the H200 deferred: cash 5,840,663.02 after
    2026Q2, and the whole deferred order was cancelled, c = 1, in every scenario.)

    The rule's first pick is the demand slump's optimum, which buys 400 x 0.7 = 280 H200, an order of
    $8.4M: its second round runs it with $2.1M and $4.2M; neither ever acts (its cash stays above
    the floors), so both show its figures, are left off the front, and tie with it: the pick stays
    the plan itself, first in candidates.csv. (It was the lost-anchor optimum, which walked away
    from lab-a's signed contract: completed serving it, it is the forecast optimum.)"""
    d = hand_model()
    d["risk"] = {"customer_default_hazard_per_quarter": 0.15}
    d["skus"]["H200"] = {**d["skus"]["H100"], "available_from": "2026Q2", "available_until": "2026Q3",
                         "capex_per_gpu_usd": 30_000}  # fmt: skip
    d["market"]["demand_gpus"]["training"] = 400
    path = tmp_path / "hand.yaml"
    path.write_text(yaml.safe_dump(d))
    result = api.sweep(str(path), scenarios=20, seed=0)
    m = result.metrics.set_index("plan")
    policy = m[m["origin"] == "policy"]
    assert sorted(policy.index) == sorted(
        f"{plan}, cash buffer ${x}M"
        for plan, xs in (("milp: forecast", ("3.0", "6.0")), ("milp: demand slump", ("2.1", "4.2")))
        for x in xs
    )
    saving = 12_000_000 - (400 * 5_256 - 400 * 1.25 * 2_190 * 0.05 - 400 / 500 * 500_000)
    live, early = 12e6 * 1_946_310 / saving, 12e6 * 1_911_270 / saving
    assert (round(live, 2), round(early, 2)) == (2_256_079.05, 2_215_462.19)
    six = m.loc["milp: forecast, cash buffer $6.0M"]
    assert six["deferred_capex_mean_usd"] == pytest.approx((17 * live + 3 * early) / 20, abs=0.01)
    assert (six["deferred_share"], six["order_cancelled_share"]) == (1.0, 1.0)
    data = data_of(d)
    forecast = {c.label: c for c in result.candidates.candidates}["milp: forecast"].plan
    scen = generate_scenarios(data, 0, 0, 20)  # the sweep's
    six_m = with_buffers(compile_plans(data, [forecast], ["f"]), [6e6])
    pairs = simulate(SimulationConstants.from_data(data), six_m, scen)
    forfeited = pairs["forfeited_usd"][0]
    assert six["forfeited_deposits_mean_usd"] == pytest.approx(forfeited.mean(), abs=0.01)
    earns = live * 1_647_650 / 12e6  # the deferred GPUs' EBITDA in a quarter, f x 1,647,650
    cash = 5_053_690 + live - earns + 0.2 * (earns - live * 0.8e6 / 12e6)
    c = (7e6 - (cash + 1_100_610 - live)) / (0.8 * live - earns)
    assert (round(cash, 2), round(c, 4)) == (7_031_872.76, 0.7515)
    alive = scen.contract_alive[:, 0, 1]  # lab-a live through 2026Q2
    np.testing.assert_allclose(forfeited[alive], c * 0.2 * live, rtol=1e-9)
    assert ((forfeited > 0) & (forfeited < 0.2 * pairs["deferred_usd"][0])).all()  # never all of it
    assert m.loc["milp: forecast, cash buffer $3.0M", "deferred_share"] == 0.0
    pick = "milp: demand slump"
    for x in ("2.1", "4.2"):
        row = m.loc[f"{pick}, cash buffer ${x}M"]
        assert row["npv_mean_usd"] == m.loc[pick, "npv_mean_usd"] and not row["on_front"]
    assert result.recommended["plan"] == pick


def test_one_scenario_is_its_own_tail_and_has_no_standard_error(crash):
    """`metrics.csv` of one scenario (C): k = ceil(5 % of 1) = 1, so P5, CVaR5 and the median are
    its NPV, the standard deviation (the population's) 0 and the mean's standard error empty (NaN:
    one scenario measures no spread); every probability is 0 or 1."""
    m = plan_metrics(run(crash, "C"), quarters=4)
    for name in ("npv_mean_usd", "npv_median_usd", "npv_p5_usd", "npv_cvar5_usd"):
        assert float(m[name][0]) == pytest.approx(C, abs=0.01)
    assert float(m["npv_std_usd"][0]) == 0.0 and np.isnan(m["npv_mean_se_usd"][0])
    assert np.isnan(m["npv_mean_no_default_usd"][0])  # every scenario defaults
    figures = ("breach_probability", "uncured_breach_probability", "default_probability", "loss_probability")
    assert [float(m[name][0]) for name in figures] == [1.0, 1.0, 1.0, 1.0]


def test_limited_liability_at_the_end_without_a_default(crash):
    """ "The NPV with limited liability", no default: Hopper's price 0 from 2026Q2 with lab-a live
    (EBITDA 481,800 - 654,750 = -172,950, no tax) leaves cash 3,293,130, 2,555,180, 1,827,230,
    above the $1M default level without the revolver; resale values at 0.05 of the forecast in
    2026Q4 put the fleet at 400 x 19,000 x 0.05 = 380,000 against 2.25M of debt: E = -1,870,000,
    below -C = -1,827,230, so the shareholders' end term is -DF_3 x 1,827,230 (their cash, not the
    deeper hole), 42,770 x DF_3 above the NPV."""
    data, plan = crash
    scen = deterministic_scenarios(data)
    scen.price_factor[0, 0, 1:] = 0.0
    scen.resale_factor[0, 3] = 0.05
    out = simulate(SimulationConstants.from_data(data), compile_plans(data, [plan], ["hand"]), scen)
    flows = [3_041_080.0, -747_950.0, -737_950.0, -727_950.0]
    assert not out["default"][0, 0]
    assert out["npv"][0, 0] == pytest.approx(npv_of(flows, 380_000 - 2_250_000), abs=0.01)
    assert out["npv_limited"][0, 0] == pytest.approx(npv_of(flows, -1_827_230), abs=0.01)
    assert out["npv_limited"][0, 0] - out["npv"][0, 0] == pytest.approx(DF[3] * 42_770, abs=0.01)


@pytest.mark.filterwarnings("ignore::fleetopt.errors.FleetoptWarning")
def test_when_the_forecast_optimum_breaks_under_a_tighter_dscr():
    """hand with lab-a's hazard of 0.15 and a 1.7x DSCR, its optimum on the 20 scenarios of seed 0
    (lab-a defaulting in quarter 4, 1, 4, 2, 0, 4, 0, 4, 0, 1, 4, 2, 4, 3, 4, 4, 1, 4, 1, 2; 4:
    never). From the default on EBITDA is 922,050, below 1.7 x the debt service of 2026Q2-Q4
    (575,000, 565,000, 555,000) and above 1.7 x 2026Q1's 290,000: the DSCR first breaks in quarter
    2 (numbered from 1) for the 7 defaults in quarter 0 or 1, in 3 for the 3 in quarter 2 and in 4
    for the one in quarter 3: 11 of 20, median the 6th, 2026Q2. The breach after a cure is uncured:
    quarter 3 for the 7, 4 for the 3 (10 of 20; the 5th and 6th are 3: 2026Q3), owing 2.75M and
    2.25M: 2.6M on average, every dollar covered by 400 GPUs and the cash."""
    d = hand_model()
    d["risk"] = {"customer_default_hazard_per_quarter": 0.15}
    d["finance"]["covenants"]["min_dscr"] = 1.7
    data = data_of(d)
    plan = solve(data, mip_gap=0.0).plan
    out = simulate(SimulationConstants.from_data(data), compile_plans(data, [plan], ["hand"]),
                   generate_scenarios(data, 0, 0, 20))  # fmt: skip
    m = {k: float(v[0]) for k, v in plan_metrics(out, quarters=4).items()}
    hand = {
        "breach_probability": 0.55,
        "uncured_breach_probability": 0.5,
        "first_breach_dscr_share": 0.55,
        "first_breach_leverage_share": 0.0,
        "breach_median_quarter": 2,
        "uncured_breach_median_quarter": 3,
        "debt_at_uncured_breach_mean_usd": (7 * 2_750_000 + 3 * 2_250_000) / 10,
        "debt_covered_at_uncured_breach": 1.0,
        "freed_share": 0.55,
        "mean_utilisation": (3 * 0.75 + 4 * 0.8125 + 3 * 0.875 + 0.9375 + 9) / 20,
    }
    assert {k: m[k] for k in hand} == pytest.approx(hand)
    assert np.isnan(m["default_median_quarter"])


def test_a_tie_on_the_figure_and_the_breach_probability_goes_to_the_higher_mean():
    """docs/evaluation.md, "Ties": B and C tie on CVaR5 (-8, within a relative 1e-9) and, with C's
    breach probability raised to B's 0.2, on it too: the higher mean NPV, B's 4 against 3, picks B;
    with the means equal as well, the first in the table, B again, and C where it comes first."""
    table = candidates_table()
    table.loc[3, "breach_probability"] = 0.2
    assert table["plan"].iloc[recommend(table, Rule())] == "B"
    table.loc[3, "npv_mean_usd"] = 4.0
    assert table["plan"].iloc[recommend(table, Rule())] == "B"
    swapped = table.iloc[[0, 1, 3, 2]].reset_index(drop=True)
    assert swapped["plan"].iloc[recommend(swapped, Rule())] == "C"

"""Small cases worked by hand from docs/formulation.md, docs/evaluation.md and docs/model-format.md
alone (the standard: someone else can compute a small case's answer from the documents), checked
against the solve, the statements and the reference simulation.

The model ``hand`` (below): 2026Q1-2026Q4 at 10 % a year, so $DF_t = 1.1^{-(t+1)/4}$ = 0.976454,
0.953463, 0.931012, 0.909091. One site (1 MW, PUE 1.25, $50/MWh), 400 H100 installed in 2025Q1 at
$40,000 (age 4 quarters at the start; life 4 years, $2,500 of depreciation a quarter each; resale
curve 1.0, 0.75, 0.5, 0.25, 0 so the resale value equals the book value, and a sale keeps 95 % of
it), not on sale in the horizon. Training demand 300 at $3.00 billed 80 %: $5,256 a GPU-quarter;
a signed training contract of 100 GPUs at $2.20, billed every hour: $4,818 a GPU-quarter; opex
$1,000 a GPU-quarter; overhead $200,000; tax 20 %, no loss carry-forward. A term loan: $2M owed,
$4M size, drawable in 2026Q1 only, reference 4 % + 4 % (2 % a quarter), 8 quarters' amortisation,
`max_ltv` 0.9. Covenants from 2026Q1: debt / EBITDA <= 6, DSCR >= 1.2, cash >= $1M.

**The optimum, by hand (formulation §5-6).** Each GPU earns $4,119.125 a quarter in service
(5,256 - 1.25 kW x $50 x 2,190 h / 1,000 - 1,000) against $2,500 of value lost, so none is
retired; 300 serve the market and 100 the contract (400 in service). A dollar drawn in 2026Q1 is
worth $DF_0$ and costs, before tax, 0.145 $DF_1$ + 0.1425 $DF_2$ + (0.14 + 0.625) $DF_3$ =
0.96637 < 0.97645, so the whole $2M is drawn; a prepayment loses (10 % discounting against an 8 %
loan). Every quarter: revenue 1,576,800 + 481,800; electricity 0.5 MW x 50 x 2,190 = 54,750; EBITDA
2,058,600 - 54,750 - 400,000 - 200,000 = 1,403,850; depreciation 1,000,000. Principal 250,000,
then 500,000 (the draw's 250,000 from 2026Q2); interest 2 % of the balance before: 40,000,
75,000, 65,000, 55,000; balances 3.75M, 3.25M, 2.75M, 2.25M. EBT 363,850, 328,850, 338,850,
348,850; tax 72,770, 65,770, 67,770, 69,770; cash from $5M: 8,041,080, 8,804,160, 9,575,240,
10,354,320. At the end the GPUs (age 2 years) fetch 400 x 0.95 x 40,000 x 0.5 = 7,600,000 against
a book value of 8,000,000: a loss of 400,000 larger than the last quarter's EBT, so the
liquidation tax is 0 - 69,770 (§5.10). NPV = sum of $DF_t$ x (3,041,080, 763,080, 771,080,
779,080) + $DF_3$ x (7,600,000 + 69,770 - 2,250,000) = 5,123,182.86 + 4,927,063.64 =
**$10,050,246.49**.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from milp_builders import data_of

from fleetopt.core.results.headline import headline, liquidity_cover_words
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.factors import Stream, normals, uniforms
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import solve

HAND = """
name: hand
horizon: {start: 2026Q1, quarters: 4, discount_rate_annual: 0.10}
skus:
  H100:
    generation: hopper
    available_from: 2025Q1
    available_until: 2025Q4
    block_size_gpus: 8
    capex_per_gpu_usd: 40000
    power_kw_per_gpu: 1.0
    idle_power_fraction: 0.3
    training_throughput: 1.0
    inference_throughput: 1.0
    opex_per_gpu_quarter_usd: 1000
    useful_life_years: 4
    resale_fraction_by_age_years: [1.0, 0.75, 0.5, 0.25, 0.0]
    training_eligibility: {max_newer_generations_on_sale: 1}
sites:
  dc: {power_capacity_mw: 1, pue: 1.25, electricity_price_usd_per_mwh: 50}
fleet:
  - {sku: H100, site: dc, purchased: 2025Q1, gpus: 400, use: training, capex_per_gpu_usd: 40000}
market:
  billed_utilization: 0.8
  demand_gpus: {training: 300, inference: 0}
  price_usd_per_gpu_hour: {training: {hopper: 3.0}, inference: {hopper: 1.8}}
contracts:
  lab-a-training:
    customer: lab-a
    use: training
    eligible_skus: [H100]
    gpus: 100
    start: 2026Q1
    term_quarters: 4
    price_usd_per_gpu_hour: 2.2
    signed: true
finance:
  opening_cash_usd: 5000000
  min_cash_usd: 1000000
  reference_rate_annual: 0.04
  overhead_usd_per_quarter: 200000
  tax_rate: 0.2
  facilities:
    term-loan:
      size_usd: 4000000
      opening_balance_usd: 2000000
      spread_over_reference_annual: 0.04
      max_ltv: 0.9
      amortization_quarters: 8
      draw_from: 2026Q1
      draw_until: 2026Q1
  covenants:
    test_from: 2026Q1
    max_debt_to_ebitda: 6.0
    min_dscr: 1.2
    min_liquidity_usd: 1000000
redeployment: {cost_per_gpu_usd: 1500}
retirement: {resale: true, selling_cost_fraction: 0.05}
"""

DF = [1.1 ** (-(t + 1) / 4) for t in range(4)]
CASH = [8_041_080.0, 8_804_160.0, 9_575_240.0, 10_354_320.0]
NPV = 10_050_246.49


def hand_model(**finance) -> dict:
    d = yaml.safe_load(HAND)
    d["finance"].update(finance)
    return d


@pytest.fixture(scope="module")
def hand():
    data = data_of(hand_model())
    return data, solve(data, mip_gap=0.0)


def npv_of(flows, terminal) -> float:
    return sum(DF[t] * f for t, f in enumerate(flows)) + DF[3] * terminal


def simulated(data, plan, scen, record=("cash_usd", "ebitda_usd", "tax_usd", "debt_usd")):
    out = simulate(SimulationConstants.from_data(data), compile_plans(data, [plan], ["hand"]), scen,
                   record=record)  # fmt: skip
    return {k: v[0, 0] for k, v in out.items()}


def test_the_solve_finds_the_hand_optimum_to_the_cent(hand):
    """Case (a): the decisions and the NPV of the module docstring."""
    _, result = hand
    plan, lines = result.plan, result.statements.lines
    assert plan.retire.sum() == pytest.approx(0.0, abs=1e-6)
    assert plan.redeploy.sum() == pytest.approx(0.0, abs=1e-6)
    assert plan.draws[0] == pytest.approx([2_000_000.0, 0.0, 0.0, 0.0], abs=0.01)
    assert plan.prepay.sum() == pytest.approx(0.0, abs=0.01)
    assert plan.active[0].sum(axis=(0, 1)) == pytest.approx([400.0] * 4)
    assert lines["ebitda_usd"] == pytest.approx([1_403_850.0] * 4, abs=0.01)
    assert lines["interest_usd"] == pytest.approx([40_000.0, 75_000.0, 65_000.0, 55_000.0], abs=0.01)
    assert lines["tax_usd"] == pytest.approx([72_770.0, 65_770.0, 67_770.0, 69_770.0], abs=0.01)
    assert lines["cash_usd"] == pytest.approx(CASH, abs=0.01)
    assert result.statements.liquidation_tax_usd == pytest.approx(-69_770.0, abs=0.01)
    assert npv_of([3_041_080.0, 763_080.0, 771_080.0, 779_080.0], 7_600_000 + 69_770 - 2_250_000) == (
        pytest.approx(NPV, abs=0.01)
    )
    assert result.statements.npv_usd == pytest.approx(NPV, abs=0.01)


def test_the_forecast_evaluation_is_the_statements(hand):
    """Case (b): the reference simulation of the plan on the forecast (no `risk` block) gives the
    statements' cash and the same NPV (docs/evaluation.md, "Outputs")."""
    data, result = hand
    out = simulated(data, result.plan, deterministic_scenarios(data))
    assert out["cash_usd"] == pytest.approx(CASH, abs=0.01)
    assert out["npv"] == pytest.approx(NPV, abs=0.01)


def test_a_customer_default_frees_its_gpus_to_a_full_market(hand):
    """Case (c): lab-a defaults in 2026Q3 and the resale values stand at 0.8 of the forecast in the
    last quarter. Its 100 GPUs go to the training market (`freed_gpus_to_market`), which already
    takes the other 300 at its demand of 300: 400 offered, each sells 3/4, market revenue unchanged.
    The GPUs still draw the power the plan gave them. EBITDA 2026Q3-Q4: 1,403,850 - 481,800 =
    922,050; EBT 922,050 - 1,000,000 - interest < 0: no tax. Cash 9,161,210 and 9,528,260. At the
    end the GPUs fetch 0.8 x 7,600,000 = 6,080,000 against 8,000,000: no liquidation tax (the last
    quarter's taxable income is negative). NPV = sum of DF_t x (3,041,080, 763,080, 357,050,
    367,050) + DF_3 x (6,080,000 - 2,250,000) = $7,844,961.23; utilisation (1 + 1 + 3/4 + 3/4) / 4."""
    data, result = hand
    scen = deterministic_scenarios(data)
    scen.contract_alive[0, 0, 2:] = False
    scen.resale_factor[0, 3] = 0.8
    out = simulated(data, result.plan, scen)
    assert out["ebitda_usd"] == pytest.approx([1_403_850.0] * 2 + [922_050.0] * 2, abs=0.01)
    assert out["tax_usd"] == pytest.approx([72_770.0, 65_770.0, 0.0, 0.0], abs=0.01)
    assert out["cash_usd"] == pytest.approx([*CASH[:2], 9_161_210.0, 9_528_260.0], abs=0.01)
    hand_npv = npv_of([3_041_080.0, 763_080.0, 357_050.0, 367_050.0], 6_080_000 - 2_250_000)
    assert out["npv"] == pytest.approx(hand_npv, abs=0.01)
    assert hand_npv == pytest.approx(7_844_961.23, abs=0.01)
    assert out["freed"] == 1.0 and not out["breach"]
    assert out["utilisation"] == pytest.approx(0.875)


def test_a_revolver_and_a_distress_sale_in_a_crash():
    """Case (c), policy rule 4: the same model with $1M of opening cash, a $200,000 revolver at 12 %
    and distress-sale lots of 10 GPUs; the solve's plan is the same (cash 4,041,080 after 2026Q1).
    From 2026Q2 Hopper's market price is 0 and lab-a has defaulted: EBITDA -54,750 - 400,000 -
    200,000 = -654,750, no tax; cash 2,811,330 and 1,591,580, then 381,830 in 2026Q4. The revolver
    lends 200,000 (581,830), still 418,170 below the default level (`default_cash_usd`, the
    $1M minimum); a GPU (age 7 quarters) fetches 0.95 x 40,000 x (1 - 7/16) = 21,375, so
    ceil(418,170 / 213,750) = 2 lots, 20 GPUs, $427,500: cash 1,009,330. Debt 2,250,000 + 200,000.
    At the end the 380 GPUs left fetch 380 x 19,000 = 7,220,000 (no tax: a loss on a loss). NPV =
    sum of DF_t x (3,041,080, -1,229,750, -1,219,750, -582,250) + DF_3 x (7,220,000 - 2,450,000) =
    $4,468,397.41. Debt / EBITDA and DSCR fail from 2026Q2 (first breach mask 1 + 2); 2026Q2 is
    cured, 2026Q3 (the next quarter) is not: the debt then is $2.75M."""
    d = hand_model(opening_cash_usd=1_000_000, revolver={"size_usd": 200_000, "annual_rate": 0.12})
    d["policy"] = {"sale_block_gpus": 10}
    data = data_of(d)
    plan = solve(data, mip_gap=0.0).plan
    scen = deterministic_scenarios(data)
    scen.contract_alive[0, 0, 1:] = False
    scen.price_factor[0, 0, 1:] = 0.0
    out = simulated(data, plan, scen, record=("cash_usd", "revolver_balance_usd", "debt_usd"))
    assert out["cash_usd"] == pytest.approx([4_041_080.0, 2_811_330.0, 1_591_580.0, 1_009_330.0], abs=0.01)
    assert out["revolver_balance_usd"] == pytest.approx([0.0, 0.0, 0.0, 200_000.0], abs=0.01)
    assert out["distress_sold_usd"] == pytest.approx(427_500.0, abs=0.01)
    hand_npv = npv_of([3_041_080.0, -1_229_750.0, -1_219_750.0, -582_250.0], 7_220_000 - 2_450_000)
    assert out["npv"] == pytest.approx(hand_npv, abs=0.01)
    assert hand_npv == pytest.approx(4_468_397.41, abs=0.01)
    assert not out["default"]
    assert (out["first_breach"], out["quarters_before_breach"], out["quarters_before_uncured"]) == (3, 1, 2)
    assert out["debt_at_uncured_breach"] == pytest.approx(2_750_000.0, abs=0.01)


def test_the_factors_are_the_documented_formulas_of_the_draws():
    """docs/evaluation.md, "From the draws to the factors": with z the stream's normals (z_0 = 0)
    a lognormal walk is exp(sum_q (sigma z_q / 2 - sigma^2 / 8)), and the rate shift is
    max(-ref_t, sum_q sigma z_q / 2); a customer defaults in the first quarter whose uniform is
    below its hazard."""
    d = hand_model(reference_rate_annual=0.01)
    d["risk"] = {
        "resale_value_volatility_annual": 0.2,
        "electricity_price_volatility_annual": 0.3,
        "reference_rate_volatility_annual": 0.05,
        "customer_default_hazard_per_quarter": 0.1,
    }
    data = data_of(d)
    seed, idx = 11, np.arange(3, 9)
    scen = generate_scenarios(data, seed, 3, 9)

    def z(stream):
        out = normals(seed, idx, (stream, 0), 4)
        out[:, 0] = 0.0
        return out

    def walk(stream, sigma):
        return np.exp(np.cumsum(sigma * z(stream) / 2 - sigma**2 / 8 * (np.arange(4) > 0), axis=1))

    assert scen.resale_factor == pytest.approx(walk(Stream.RESALE, 0.2))
    assert scen.electricity_factor == pytest.approx(walk(Stream.ELECTRICITY, 0.3))
    assert scen.rate_shift == pytest.approx(np.maximum(np.cumsum(0.05 * z(Stream.RATE) / 2, axis=1), -0.01))
    hit = uniforms(seed, idx, (Stream.CUSTOMER, 0), 4) < 0.1
    first = np.where(hit.any(axis=1), hit.argmax(axis=1), 4)
    assert scen.contract_alive[:, 0, :] == pytest.approx(np.arange(4)[None, :] < first[:, None])


def test_a_horizon_of_four_quarters_has_no_liquidity_cover(hand):
    """formulation §7, `min_liquidity_cover`: the cover reads the four quarters after a quarter, so
    a 4-quarter horizon has none (null), though the hand plan pays 290,000-575,000 of debt service
    in every quarter."""
    data, result = hand
    fig = headline(data, result.plan, result.statements)
    assert result.statements.lines["debt_service_usd"] == pytest.approx(
        [290_000.0, 575_000.0, 565_000.0, 555_000.0], abs=0.01
    )
    assert fig["min_liquidity_cover"] is None and fig["min_liquidity_cover_quarter"] is None
    assert "four quarters or fewer" in liquidity_cover_words(fig)  # not "no debt service is due"


def late_block_model() -> dict:
    """``hand`` with 0.3 MW online, a 0.25 MW block (one quarter's lead, $400,000 a MW) and $4,000 a
    MW-quarter of site cost, training demand 100, and lab-a's contract for 300 GPUs over 2026Q2-Q4
    with a $10,000 delay penalty and a $500,000 cancellation penalty (covenants from 2026Q2)."""
    d = hand_model(covenants={"test_from": "2026Q2", "max_debt_to_ebitda": 6.0, "min_dscr": 1.2})
    d["sites"]["dc"].update(
        power_capacity_mw=0.3,
        fixed_cost_per_mw_quarter_usd=4000,
        expansion={"block_mw": 0.25, "capex_per_mw_usd": 400_000, "lead_time_quarters": 1,
                   "earliest_start": "2026Q1", "max_blocks": 1, "useful_life_years": 10},
    )  # fmt: skip
    d["market"]["demand_gpus"]["training"] = 100
    d["contracts"]["lab-a-training"].update(
        gpus=300, start="2026Q2", term_quarters=3,
        delay_penalty_usd_per_quarter=10_000, cancellation_penalty_usd=500_000,
    )  # fmt: skip
    return d


@pytest.mark.filterwarnings("ignore:.*cannot run it all")
def test_a_late_block_makes_the_contract_late_then_cancelled():
    """Case (c), policy rules 1-2 (docs/evaluation.md, quarter steps 1-3). The plan builds the block
    in 2026Q1 and serves the contract from 2026Q2 with 300 GPUs (0.375 MW of 0.55 MW), EBITDA
    902,137.50 a quarter. Three quarters late, the site keeps 0.3 MW in 2026Q2-Q4: the contract's
    class gets 0.3 / 0.375 = 0.8 (240 GPUs), nothing is left for anyone else. 2026Q2 and 2026Q3 are
    late within the allowance of 2: revenue 240 x 2.2 x 2,190 = 1,156,320, electricity on the MW
    online 0.3 x 50 x 2,190 = 32,850, site cost on them 1,200, opex 300,000, overhead 200,000, the
    delay penalty 10,000: EBITDA 612,270, no tax (forecast 14,927.50 and 16,927.50). 2026Q4 is the
    third late quarter: cancelled, its $500,000 penalty and no delay penalty; the 240 powered GPUs
    go to the market, where demand is 100: 100 x 5,256 = 525,600, EBITDA -508,450, no tax
    (forecast 18,927.50, which the forecast's liquidation credit of 18,927.50 gave back: no net
    change). NPV = forecast NPV - DF_1 x 274,940 - DF_2 x 272,940 - DF_3 x 1,410,587.50."""
    data = data_of(late_block_model())
    result = solve(data, mip_gap=0.0)
    assert result.plan.build_blocks[0] == pytest.approx([1, 0, 0, 0])
    assert result.statements.lines["ebitda_usd"][1:] == pytest.approx([902_137.5] * 3, abs=0.01)
    scen = deterministic_scenarios(data)
    scen.delay[0, 0, 0] = 3
    out = simulated(data, result.plan, scen)
    assert out["ebitda_usd"] == pytest.approx([2_500.0, 612_270.0, 612_270.0, -508_450.0], abs=0.01)
    assert out["tax_usd"] == pytest.approx([0.0] * 4, abs=0.01)
    loss = DF[1] * 274_940 + DF[2] * 272_940 + DF[3] * 1_410_587.5
    assert out["npv"] == pytest.approx(result.statements.npv_usd - loss, abs=0.01)
    assert (out["rescheduled"], out["cancelled"], out["freed"]) == (1.0, 1.0, 1.0)

r"""A delivery slip of one quarter on a 4-quarter plan with a contract, a GPU-backed draw, tax and
discounting, worked by hand from docs/evaluation.md ("Delivery slips", quarter steps 2 and 5,
policy rules 0-2) and docs/formulation.md (§1 "Timing", §3 cohort values, §5.10, §6) alone.

**The model** (``slip_model``): 2026Q1-2026Q4 at 10 % a year, $DF_t$ = 0.976454, 0.953463,
0.931012, 0.909091. One SKU ``B`` (Blackwell) on sale from 2026Q2 (quarter 1) at a flat $10,000,
1 kW, no opex, a two-year life (L = 8 quarters: $1,250 of depreciation a quarter), resale curve
1.0, 0.5, 0.0 (so the resale value at age a quarters is 10,000 x (1 - a/8), the book value) and
nothing lost on a sale; PUE 1 at $100/MWh: a GPU in service draws 0.001 x 2,190 x 100 = $219 a
quarter. Tax 20 % (no carry-forward), $1M of opening cash. A contract ``anchor``: 100 GPUs of B
from 2026Q2 for 3 quarters at $2 an hour (438,000 a quarter), due 2026Q2, one late quarter
allowed at $20,000, $100,000 to cancel. A term loan at 8 % (2 % a quarter) with `max_ltv` 0.8,
4 quarters' amortisation, drawable 2026Q1-2026Q4. The plan buys the 100 GPUs in quarter 1
($1,000,000), draws $800,000 that quarter and serves the contract with them in quarters 1-3.

**On time.** Quarter 1: EBITDA 438,000 - 21,900 = 416,100, depreciation 125,000, no interest (a
draw bears none in its own quarter): EBT 291,100, tax 58,220; cash flow 416,100 - 1,000,000 +
800,000 - 58,220 = 157,880. Quarter 2: interest 16,000, principal 200,000: EBT 275,100, tax
55,020, flow 145,080. Quarter 3: interest 12,000, principal 200,000: EBT 279,100, tax 55,820, flow
148,280. At the end the GPUs are 3 quarters old: worth 100 x 10,000 x 0.625 = 625,000, their book
value (no liquidation tax), and 400,000 is owed. NPV = 157,880 DF_1 + 145,080 DF_2 + (148,280 +
625,000 - 400,000) DF_3 = **624,949.41**.

**One quarter late** (`{probability: 1, min_quarters: 1, max_quarters: 1}`): B ships in quarter 2.
Quarter 1: no GPU, so the contract is delivered short from its deadline: late, paying 20,000 (an
operating cost: EBITDA and EBT -20,000, no tax), flow -20,000. Quarter 2: the GPUs arrive, paid the
signed $1,000,000; the draw, funding GPUs all of which are late, is drawn in quarter 2 (the loan may
still draw then), its interest and principal a quarter later; the contract (1 late quarter, within
its allowance) is served: EBITDA 416,100, depreciation 125,000 (the cohort bought in quarter 2), no
interest: EBT 291,100, tax 58,220, flow 157,880 (quarter 1's on-time flow). Quarter 3: interest
16,000, principal 200,000: EBT 275,100, tax 55,020, flow 145,080. At the end the GPUs are 2
quarters old: worth 750,000, their book value; 600,000 is owed. NPV = -20,000 DF_1 + 157,880
DF_2 + (145,080 + 750,000 - 600,000) DF_3 = **396,173.54**.
"""

from __future__ import annotations

import numpy as np
import pytest
from milp_builders import base_model, data_of, sku
from test_doc_cases import DF

from fleetopt.core.plan import Plan
from fleetopt.evaluate.backend import c_compiler
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.factors import Stream, uniforms
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate

CERTAIN = {"probability": 1.0, "min_quarters": 1, "max_quarters": 1}
GPUS = 100
RECORD = ("cash_usd", "ebitda_usd", "tax_usd", "debt_usd")


def slip_model(slip: dict | None = None, contract: bool = True, **finance) -> dict:
    d = base_model()
    d["horizon"]["discount_rate_annual"] = 0.10
    d["skus"] = {
        "B": sku(
            generation="blackwell",
            available_from="2026Q2",
            capex_per_gpu_usd=10_000.0,
            useful_life_years=2.0,
            resale_fraction_by_age_years=[1.0, 0.5, 0.0],
        )
    }
    d["sites"]["s1"]["electricity_price_usd_per_mwh"] = 100.0
    d["retirement"]["selling_cost_fraction"] = 0.0
    d["finance"].update({"tax_rate": 0.2, "opening_cash_usd": 1.0e6, **finance})
    d["finance"]["facilities"] = {
        "gpu-loan": {"size_usd": 1.0e6, "fixed_rate_annual": 0.08, "max_ltv": 0.8, "amortization_quarters": 4,
                     "draw_from": "2026Q1", "draw_until": "2026Q4"},
    }  # fmt: skip
    if contract:
        d["contracts"] = {"anchor": {
            "customer": "c", "use": "training", "eligible_skus": ["B"], "gpus": GPUS, "start": "2026Q2",
            "term_quarters": 3, "price_usd_per_gpu_hour": 2.0, "signed": True, "delivery_deadline": "2026Q2",
            "delay_allowance_quarters": 1, "delay_penalty_usd_per_quarter": 20_000.0,
            "cancellation_penalty_usd": 100_000.0,
        }}  # fmt: skip
    if slip is not None:
        d["risk"] = {"delivery_slip": slip}
    return d


def slip_plan(data, served: bool = True, draw: float = 800_000.0) -> Plan:
    """100 GPUs of B bought in quarter 1 and in service to the end, on the contract where ``served``."""
    p = Plan.empty(data)
    cohort = next(c.index for c in data.cohorts if c.is_purchase and c.sku == 0 and c.bought == 1)
    p.buy_blocks[0, 0, 1] = GPUS
    p.held_training[cohort, 1:] = GPUS
    p.active[0, 0, 0, 1:] = GPUS
    p.draws[0, 1] = draw
    if served:
        p.accepted[0] = 1.0
        p.contract_gpus[0, 0, 0, 1:4] = GPUS
    return p


def evaluated(d: dict, **plan_kw):
    data = data_of(d)
    batch = compile_plans(data, [slip_plan(data, **plan_kw)], ["p"])
    out = evaluate(data, batch, 1, 0, backend="numpy", keep_matrix=True, record=RECORD)
    return out, {k: v[0, 0] for k, v in out.paths.items()}


def deferral_model(price: dict | float, opening_usd: float) -> dict:
    """The plan's GPUs on the training market at $2 an hour (no contract), one quarter late, with
    `min_cash_usd` 100,000 and `default_cash_usd` 0."""
    d = slip_model(
        CERTAIN, contract=False, opening_cash_usd=opening_usd, min_cash_usd=100_000.0, default_cash_usd=0.0
    )
    d["market"]["price_usd_per_gpu_hour"]["training"] = {"all": 2.0}
    d["skus"]["B"]["capex_per_gpu_usd"] = price
    return d


def test_on_time_the_plan_earns_its_statements():
    out, path = evaluated(slip_model())
    assert np.diff(np.concatenate([[1.0e6], path["cash_usd"]])) == pytest.approx(
        [0.0, 157_880.0, 145_080.0, 148_280.0], abs=0.01
    )
    assert path["tax_usd"] == pytest.approx([0.0, 58_220.0, 55_020.0, 55_820.0], abs=0.01)
    assert path["debt_usd"] == pytest.approx([0.0, 800_000.0, 600_000.0, 400_000.0], abs=0.01)
    hand = 157_880 * DF[1] + 145_080 * DF[2] + (148_280 + 625_000 - 400_000) * DF[3]
    assert hand == pytest.approx(624_949.41, abs=0.01)
    assert float(out.npv_matrix[0, 0]) == pytest.approx(hand, abs=0.01)


def test_a_quarter_late_the_contract_is_late_once_and_the_draw_moves():
    out, path = evaluated(slip_model(CERTAIN))
    assert np.diff(np.concatenate([[1.0e6], path["cash_usd"]])) == pytest.approx(
        [0.0, -20_000.0, 157_880.0, 145_080.0], abs=0.01
    )
    assert path["ebitda_usd"] == pytest.approx([0.0, -20_000.0, 416_100.0, 416_100.0], abs=0.01)
    assert path["tax_usd"] == pytest.approx([0.0, 0.0, 58_220.0, 55_020.0], abs=0.01)
    assert path["debt_usd"] == pytest.approx([0.0, 0.0, 800_000.0, 600_000.0], abs=0.01)
    hand = -20_000 * DF[1] + 157_880 * DF[2] + (145_080 + 750_000 - 600_000) * DF[3]
    assert hand == pytest.approx(396_173.54, abs=0.01)
    assert float(out.npv_matrix[0, 0]) == pytest.approx(hand, abs=0.01)
    row = out.metrics.iloc[0]
    assert (row["slipped_share"], row["rescheduled_share"], row["cancelled_share"]) == (1.0, 1.0, 0.0)


def test_the_late_order_is_deferred_then_partly_cancelled_by_policy_rule_0():
    """The plan's GPUs on the training market at $2 an hour instead (no contract, no draw), with
    $450,170 of opening cash, `min_cash_usd` $100,000 and `default_cash_usd` 0, one quarter late.
    The slipped plan's own forecast flows (policy rule 0's projection): 0, 0, then in quarter 2
    416,100 - 1,000,000 - 58,220 = -642,120 and in quarter 3 416,100 - 58,220 = 357,880.

    Quarter 2 projects 450,170 - 642,120 = -191,950, G = 291,950 below 100,000. The order (100
    GPUs at the signed $1,000,000, all of them deferrable: no contract, B on sale in quarter 3)
    saves its price less what its GPUs earn on the forecast that quarter, 438,000 - 21,900:
    583,900; f = 291,950 / 583,900 = 1/2. The 50 GPUs left earn, are paid and depreciate (the
    deferred ones' depreciation is removed): flow -642,120 / 2 = -321,060, cash 129,110.
    Quarter 3: the deferred 500,000 falls due (at quarter 3's price, the same $10,000): projection
    129,110 + 357,880 - 500,000 = -13,010, a gap of 113,010; there is no order to defer, so the deferred
    one is cancelled. Cancelling it all saves 500,000 - 20 % of it - the 208,050 its 50 GPUs would earn
    (416,100 / 2) = 191,950, less than a distress sale of them would raise (50 x 8,750, the quarter-2
    cohort's net resale value in quarter 3), so the cancellation closes only the 100,000 of the gap
    above the default level, 0, and leaves the rest to a sale: c = 100,000 / 191,950 = 0.520969: 26.05
    GPUs never arrive (their deposit, 2,000 each, is capex), 23.95 are paid. The 73.95 GPUs held earn
    and depreciate: EBT 0.739515 x 291,100, tax 43,054.59; flow 0.739515 x 416,100 - 43,054.59 -
    239,515.50 - 52,096.90 = -26,954.59, cash 102,155.41 (above the projection: it counts the EBITDA
    lost before tax, and the tax falls with it; so no sale). At the end the GPUs held, the cohort of
    quarter 2, are worth 0.739515 x 750,000 = 554,636.62, their book value (no liquidation tax). NPV =
    -321,060 DF_2 + (-26,954.59 + 554,636.62) DF_3 = 180,800.08. (In 0.4.20 and before c left out what
    the GPUs would earn, 113,010 / 400,000 = 0.282525, and quarter 3 ended at 49,444.98, below the
    minimum; in 0.4.23 and before it closed the whole gap, c = 0.588747, NPV 171,314.85.)"""
    out, path = evaluated(deferral_model(10_000.0, 450_170.0), served=False, draw=0.0)
    saved = 400_000 - 416_100 / 2
    cohort = next(c.index for c in data_of(deferral_model(10_000.0, 450_170.0)).cohorts if c.bought == 2)
    assert saved < 50 * 8_750.0 == 50 * data_of(deferral_model(10_000.0, 450_170.0)).proceeds[cohort, 3]
    c = 100_000 / saved
    fc = 0.5 * c
    flow3 = (1 - fc) * 416_100 - 0.2 * (1 - fc) * 291_100 - 0.5 * (1 - c) * 1e6 - 0.5 * c * 2e5
    assert flow3 == pytest.approx(-26_954.59, abs=0.01)
    assert path["cash_usd"] == pytest.approx([450_170.0, 450_170.0, 129_110.0, 129_110.0 + flow3], abs=0.01)
    hand = -321_060 * DF[2] + (flow3 + (1 - fc) * 750_000) * DF[3]
    assert hand == pytest.approx(180_800.08, abs=0.01)
    assert float(out.npv_matrix[0, 0]) == pytest.approx(hand, abs=0.01)
    row = out.metrics.iloc[0]
    reactions = row["deferred_share"], row["order_cancelled_share"], row["default_probability"]
    assert reactions == (1.0, 1.0, 0.0)


def test_a_late_order_at_a_price_that_fell_is_signed_deferred_and_cancelled_at_its_own_prices():
    """As above with B's price falling to $9,000 from 2026Q3 (quarter 2) and $452,670 of opening
    cash. The slipped GPUs are quarter 2's cohort (κ = 9,000: depreciation 1,125 a quarter, worth
    9,000 x 0.75 at the end) but paid at the signed $10,000. The slipped plan's forecast flows:
    quarter 2 416,100 - 1,000,000 - 0.2 x (416,100 - 112,500) = -644,620, quarter 3 416,100 - 60,720
    = 355,380. Quarter 2 projects 452,670 - 644,620 = -191,950: G = 291,950, and the saving is the
    signed price less the GPUs' EBITDA, 583,900: f = 1/2 again; flow 208,050 - 500,000 - 30,360 =
    -322,310, cash 130,360. Quarter 3: the deferred half is due at quarter 3's price, 450,000:
    projection 130,360 + 355,380 - 450,000 = 35,740, a gap of 64,260; cancelling forfeits the
    deposit on the signed price, 20 % x 500,000 = 100,000, and the 208,050 the 50 GPUs would earn:
    c = 64,260 / (450,000 - 100,000 - 208,050) = 0.452695 (22.63 GPUs). Flow 0.773653 x 355,380 -
    0.547305 x 450,000 - 0.452695 x 100,000 = -16,616.19, cash 113,743.81; the GPUs held are worth
    0.773653 x 675,000 = 522,215.57 at the end, their book value. NPV = -322,310 DF_2 + (-16,616.19
    + 522,215.57) DF_3 = 159,561.18. `deferred_capex_mean_usd` is the deferred share of the signed
    price, 500,000; `forfeited_deposits_mean_usd` c x 100,000 = 45,269.46. `mean_utilisation`:
    nothing held in quarters 0-1 (0), 50 of the 100 GPUs the plan holds in quarter 2 (the deferred
    ones count), 77.37 of 100 in quarter 3: (0.5 + 0.773653) / 4 = 0.318413."""
    d = deferral_model({"start": 10_000.0, "steps": {"2026Q3": 9_000.0}}, 452_670.0)
    out, path = evaluated(d, served=False, draw=0.0)
    c = 64_260 / (350_000 - 416_100 / 2)
    flow3 = (1 - c / 2) * 355_380 - (1 - c) * 450_000 - c * 100_000
    assert flow3 == pytest.approx(-16_616.19, abs=0.01)
    assert path["cash_usd"] == pytest.approx([452_670.0, 452_670.0, 130_360.0, 130_360.0 + flow3], abs=0.01)
    hand = -322_310 * DF[2] + (flow3 + (1 - c / 2) * 675_000) * DF[3]
    assert hand == pytest.approx(159_561.18, abs=0.01)
    assert float(out.npv_matrix[0, 0]) == pytest.approx(hand, abs=0.01)
    row = out.metrics.iloc[0]
    assert row["deferred_capex_mean_usd"] == pytest.approx(500_000.0, abs=0.01)
    assert row["forfeited_deposits_mean_usd"] == pytest.approx(45_269.46, abs=0.01)
    assert row["mean_utilisation"] == pytest.approx((0.5 + 1 - c / 2) / 4, abs=1e-9)


def test_a_late_order_merged_with_the_delivery_quarter_s_own_is_deferred_at_their_average_price():
    """As the price-step case, the plan also buying 100 GPUs of B in quarter 2 at $9,000 (on the
    market from then), $755,340 of opening cash. One quarter late, quarter 2 receives 200 GPUs, the
    quarter-2 cohort (depreciation 225,000), paid 1,000,000 (signed) + 900,000: one order of
    1,900,000, $9,500 a GPU on average. Forecast flows of the slipped plan: quarter 2 832,200 -
    1,900,000 - 0.2 x 607,200 = -1,189,240, quarter 3 832,200 - 121,440 = 710,760. Quarter 2
    projects 755,340 - 1,189,240 = -433,900, G = 533,900; saving 1,900,000 - 832,200 = 1,067,800: f
    = 1/2, flow -594,620, cash 160,720. Quarter 3: 100 GPUs due at quarter 3's $9,000 (900,000):
    projection 160,720 + 710,760 - 900,000 = -28,520, gap 128,520; the deposit is 20 % of the
    average signed price, 100 x 1,900 = 190,000, and the 100 GPUs would earn half of 832,200:
    cancelling all saves 900,000 - 190,000 - 416,100 = 293,900, less than their distress sale would
    raise, so it closes only the 100,000 above the default level: c = 100,000 / 293,900 = 0.340252.
    Flow (1 - c/2) x 710,760 - (1 - c) x 900,000 - c x 190,000 = -68,579.91; the GPUs held worth
    (1 - c/2) x 200 x 6,750 at the end. NPV = -594,620 DF_2 + (-68,579.91 + (1 - c/2) x 1,350,000)
    DF_3 = 402,537.86. `deferred_capex_mean_usd` half the order's 1,900,000,
    `forfeited_deposits_mean_usd` c x 190,000 = 64,647.84 (0.4.23, closing the whole gap: c =
    0.437292, 83,085.40, NPV 374,274.58)."""
    data = data_of(deferral_model({"start": 10_000.0, "steps": {"2026Q3": 9_000.0}}, 755_340.0))
    p = slip_plan(data, served=False, draw=0.0)
    own = next(c.index for c in data.cohorts if c.is_purchase and c.sku == 0 and c.bought == 2)
    p.buy_blocks[0, 0, 2] = GPUS
    p.held_training[own, 2:] = GPUS
    p.active[0, 0, 0, 2:] += GPUS
    out = evaluate(
        data, compile_plans(data, [p], ["p"]), 1, 0, backend="numpy", keep_matrix=True, record=RECORD
    )
    c = 100_000 / (710_000 - 832_200 / 2)
    flow3 = (1 - c / 2) * 710_760 - (1 - c) * 900_000 - c * 190_000
    assert out.paths["cash_usd"][0, 0] == pytest.approx(
        [755_340.0, 755_340.0, 160_720.0, 160_720.0 + flow3], abs=0.01
    )
    hand = -594_620 * DF[2] + (flow3 + (1 - c / 2) * 1_350_000) * DF[3]
    assert round(hand, 2) == 402_537.86
    assert float(out.npv_matrix[0, 0]) == pytest.approx(hand, abs=0.01)
    row = out.metrics.iloc[0]
    assert row["deferred_capex_mean_usd"] == pytest.approx(950_000.0, abs=0.01)
    assert row["forfeited_deposits_mean_usd"] == pytest.approx(64_647.84, abs=0.01)


F_LAST = 41_950 / 583_900  # the share deferred where the draw cannot be


@pytest.mark.parametrize(("draw_until", "flows", "debt", "npv"), [
    ("2026Q4", [0.0, 0.0, -71_060.0, -21_120.0], [0.0, 0.0, 250_000.0, 375_000.0], 255_551.35),
    ("2026Q3", [0.0, 0.0, (1 - F_LAST) * -642_120 + 500_000, 153_035.51], [0.0, 0.0, 500_000.0, 375_000.0],
     390_666.99),
])  # fmt: skip
def test_the_moved_draw_goes_with_the_late_order_deferred_unless_its_window_ends(
    draw_until, flows, debt, npv
):
    """The deferral case with $200,170 of opening cash and $500,000 drawn on the GPU loan (8 %, 4
    quarters' amortisation, `max_ltv`) in quarter 1, all of it funding the late GPUs: the slip
    moves it to quarter 2, the delivery (policy rule 0's projection is the slipped plan's: quarter 2
    416,100 - 1,000,000 + 500,000 - 58,220 = -142,120; quarter 3 416,100 - 10,000 of interest -
    125,000 of principal - 0.2 x 281,100 = 224,880).
    The loan may draw until 2026Q4: quarter 2 projects 200,170 - 142,120 = 58,050, G = 41,950;
    the draw goes with the order, so the saving is 1,000,000 - 416,100 - 500,000 = 83,900: f = 1/2.
    Quarter 2: 208,050 - 500,000 + 250,000 - 0.2 x 145,550 = -71,060, cash 129,110, balance
    250,000. Quarter 3: the deferred 500,000 due and the deferred 250,000 drawn: projection 129,110 +
    224,880 - 500,000 + 250,000 = 103,990, above 100,000: paid whole. Interest on 250,000 (5,000),
    the plan's principal 125,000, tax 0.2 x (416,100 - 125,000 - 5,000) = 57,220: flow 416,100 -
    5,000 - 125,000 - 57,220 - 500,000 + 250,000 = -21,120; owed 375,000 at the end, the GPUs worth
    750,000. NPV = -71,060 DF_2 + (-21,120 + 750,000 - 375,000) DF_3 = 255,551.35.
    The loan may draw until 2026Q3 only (quarter 2, the last of its window): the draw is drawn as
    planned and the saving is not reduced by it, 583,900: f = 41,950 / 583,900 = 0.0718445; quarter
    2: (1 - f) x -642,120 + 500,000 = -95,987.21; quarter 3: the deferred f x 1,000,000 is paid
    (projection 104,182.79 + 224,880 - 71,844.49 above 100,000): 224,880 - 71,844.49 = 153,035.51;
    NPV = -95,987.21 DF_2 + (153,035.51 + 375,000) DF_3 = 390,666.99."""
    d = deferral_model(10_000.0, 200_170.0)
    d["finance"]["facilities"]["gpu-loan"]["draw_until"] = draw_until
    out, path = evaluated(d, served=False, draw=500_000.0)
    assert np.diff(np.concatenate([[200_170.0], path["cash_usd"]])) == pytest.approx(flows, abs=0.01)
    assert path["debt_usd"] == pytest.approx(debt, abs=0.01)
    hand = DF[2] * flows[2] + DF[3] * (flows[3] + 750_000 - 375_000)
    assert hand == pytest.approx(npv, abs=0.01)
    assert float(out.npv_matrix[0, 0]) == pytest.approx(hand, abs=0.01)
    assert out.metrics.iloc[0]["order_cancelled_share"] == 0.0


@pytest.mark.parametrize(("slip", "flows", "terminal"), [
    (None, [0.0, -1_056_570.0, 148_812.0, 317_880.0], 625_000.0),
    (CERTAIN, [0.0, 0.0, -1_056_570.0, 317_880.0], 750_000.0),
])  # fmt: skip
def test_a_late_gpu_installs_after_delivery_and_does_not_ramp_again(slip, flows, terminal):
    """B with `install_quarters` 1, `utilisation_ramp` [0.5], an idle draw of 30 % and $500 of opex
    a GPU-quarter; the plan's 100 GPUs, bought in quarter 1, serve the training market at $2 an
    hour (4,380 a GPU-quarter) from quarter 2: 50 then (the ramp), 100 in quarter 3; $5M of cash,
    no draw. A GPU idle draws 0.3 x 219 = 65.70 of electricity a quarter.
    On time: quarter 1 installs (idle power 6,570, opex 50,000: EBITDA -56,570, EBT -181,570, no
    tax), paying 1,000,000: flow -1,056,570; quarter 2: 50 serve: 219,000 - 50 x 219 - 50 x 65.70 -
    50,000 = 154,765, EBT 29,765, tax 5,953, flow 148,812; quarter 3: 438,000 - 21,900 - 50,000 =
    366,100, tax 48,220, flow 317,880; worth 625,000 at the end (age 3 quarters).
    One quarter late: delivered in quarter 2, it installs then (quarter 1's figures a quarter
    later: flow -1,056,570) and serves from quarter 3 as the plan has it there, 100 GPUs (the ramp
    is not started again): flow 317,880; worth 750,000 at the end (age 2 quarters).
    NPV -11,690.51 on time, -12,879.82 late."""
    d = slip_model(slip, contract=False, opening_cash_usd=5.0e6)
    d["market"]["price_usd_per_gpu_hour"]["training"] = {"all": 2.0}
    d["skus"]["B"].update(
        install_quarters=1, utilisation_ramp=[0.5], idle_power_fraction=0.3, opex_per_gpu_quarter_usd=500.0
    )
    data = data_of(d)
    p = slip_plan(data, served=False, draw=0.0)
    p.active[0, 0, 0, 1:3] = [0.0, 50.0]
    out = evaluate(
        data, compile_plans(data, [p], ["p"]), 1, 0, backend="numpy", keep_matrix=True, record=RECORD
    )
    cash = out.paths["cash_usd"][0, 0]
    assert np.diff(np.concatenate([[5.0e6], cash])) == pytest.approx(flows, abs=0.01)
    hand = sum(DF[t] * f for t, f in enumerate(flows)) + DF[3] * terminal
    assert hand == pytest.approx(-11_690.51 if slip is None else -12_879.82, abs=0.01)
    assert float(out.npv_matrix[0, 0]) == pytest.approx(hand, abs=0.01)


TWO = {"probability": 1.0, "min_quarters": 2, "max_quarters": 2}


@pytest.mark.parametrize(("slip", "flows", "npv"), [
    (None, [157_880.0, 145_080.0, 148_280.0], 624_949.41),
    (CERTAIN, [-20_000.0, 157_880.0, 145_080.0], 396_173.54),
    (TWO, [-20_000.0, -100_000.0, -17_320.0], -59_734.13),
])  # fmt: skip
def test_the_prepayment_of_a_contract_a_slip_makes_late_or_cancels_follows_the_customer(slip, flows, npv):
    """The contract case with `prepayment_share` 0.25 (docs/evaluation.md, "Contract payments"): V =
    438,000, N = 3 quarters from quarter 1, so the live customer pays 0.25 x 3 x 438,000 = 328,500
    in quarter 1 and the cash received each quarter of the term is the revenue less 109,500,
    whether the GPUs arrive or not: +219,000 in quarter 1, -109,500 in quarters 2 and 3, the tax
    unchanged, nothing unearned at the end (the term ends with the horizon). On time and one
    quarter late (late in quarter 1, served from quarter 2) the NPVs rise by 219,000 DF_1 - 109,500
    (DF_2 + DF_3). Two quarters late: quarter 1 late (-20,000), quarter 2 past the allowance:
    cancelled (-100,000), the GPUs arrive in quarter 3 with the draw and go to the training market
    at $1 an hour: 219,000 - 21,900 - 1,000,000 + 800,000 - 0.2 x (197,100 - 125,000) = -17,320;
    worth 875,000 (age 1 quarter) against 800,000 owed: NPV -59,734.13. The cancelled contract
    keeps unwinding its prepayment (109,500 a quarter back to the customer): the same +219,000,
    -109,500, -109,500."""
    d = slip_model(slip)
    d["contracts"]["anchor"]["prepayment_share"] = 0.25
    out, path = evaluated(d)
    prepaid = [219_000.0, -109_500.0, -109_500.0]
    assert np.diff(path["cash_usd"]) == pytest.approx(
        [f + p for f, p in zip(flows, prepaid, strict=True)], abs=0.01
    )
    hand = npv + 219_000 * DF[1] - 109_500 * (DF[2] + DF[3])
    assert float(out.npv_matrix[0, 0]) == pytest.approx(hand, abs=0.01)
    if slip is TWO:  # -20,000 DF_1 - 100,000 DF_2 + (-17,320 + 875,000 - 800,000) DF_3
        assert sum(f * DF[t + 1] for t, f in enumerate(flows)) + 75_000 * DF[3] == pytest.approx(
            npv, abs=0.01
        )


@pytest.mark.skipif(c_compiler() is None, reason="no C compiler")
@pytest.mark.parametrize(
    ("d", "plan_kw", "npv"),
    [
        (slip_model(CERTAIN), {}, 396_173.54),
        (deferral_model(10_000.0, 450_170.0), {"served": False, "draw": 0.0}, 180_800.08),
        (deferral_model({"start": 10_000.0, "steps": {"2026Q3": 9_000.0}}, 452_670.0),
         {"served": False, "draw": 0.0}, 159_561.18),
    ],
)  # fmt: skip
def test_the_c_build_of_the_kernel_gives_the_hand_npvs(d, plan_kw, npv):
    data = data_of(d)
    batch = compile_plans(data, [slip_plan(data, **plan_kw)], ["p"])
    out = evaluate(data, batch, 1, 0, backend="cpu-kernel", keep_matrix=True)
    assert float(out.npv_matrix[0, 0]) == pytest.approx(npv, abs=0.01)


def test_one_slipped_future_by_hand_is_the_slipped_variant_simulated():
    """docs/evaluation.md, "One scenario by hand": `simulate` reads no slip from the scenario; the
    slipped variant of the plans, `compile_plans(...).slipped[1]`, under the forecast scenario is
    the contract case one quarter late: cash 980,000, 1,137,880, 1,282,960 from quarter 1 and NPV
    396,173.54."""
    data = data_of(slip_model(CERTAIN))
    late = compile_plans(data, [slip_plan(data)], ["p"]).slipped[1]
    out = simulate(
        SimulationConstants.from_data(data), late, deterministic_scenarios(data), record=("cash_usd",)
    )
    assert out["cash_usd"][0, 0] == pytest.approx([1.0e6, 980_000.0, 1_137_880.0, 1_282_960.0], abs=0.01)
    assert out["npv"][0, 0] == pytest.approx(396_173.54, abs=0.01)


def test_the_slip_of_each_scenario_is_the_documented_formula_of_its_two_draws():
    """docs/evaluation.md, "From the draws to the factors": scenario i slips when quarter 0's uniform
    u of the delivery-slip stream is below `probability`, by `min_quarters` + floor(u' x (`max_quarters`
    - `min_quarters` + 1)), u' quarter 0's uniform of the slip-size stream: probability 0.5, 1..3
    quarters, seed 3, scenarios 0-39."""
    d = slip_model({"probability": 0.5, "min_quarters": 1, "max_quarters": 3})
    idx = np.arange(40)
    u = uniforms(3, idx, (Stream.SLIP_LATE, 0), 1)[:, 0]
    size = uniforms(3, idx, (Stream.SLIP_SIZE, 0), 1)[:, 0]
    hand = np.where(u < 0.5, 1 + np.floor(3 * size), 0)
    assert set(hand.tolist()) == {0, 1, 2, 3}
    np.testing.assert_array_equal(generate_scenarios(data_of(d), 3, 0, 40).delivery_slip, hand)

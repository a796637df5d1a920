"""Hand cases from docs/formulation.md, docs/evaluation.md and docs/cli.md alone, for rules no
other test pins in these terms: the DSCR on EBITDA less the scenario's tax after the losses carried;
the order rule with a revolver (its undrawn part, less the interest due on its drawn part, in the
projection; drawn after the order's reaction), with the scenario's rate on the plan's floating debt,
with what is due on a prepayment cut before, with a cancellation sized net of what its GPUs would
earn, with a price that changes between the order and its deferred payment, and with a distress sale
in the quarter of a cancellation; a distress sale's loss taxed the next quarter; and "In short" with
its sampling error on five futures."""

from __future__ import annotations

import numpy as np
import pytest
import test_doc_cases_metrics as metrics_cases
from milp_builders import data_of, sku
from test_doc_cases import hand_model, simulated
from test_doc_cases_tax import COVENANTS
from test_policy import BACKENDS, MARKET, ORDER, ORDER_GPUS, order_model, order_plan, price_drop, run

from fleetopt.core.results.risk_sentences import risk_in_short
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.metrics import plan_metrics
from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import solve
from fleetopt.schema.policy import Policy


def simulate_all(data, plan, scen) -> dict:
    """Every result of ``plan`` in ``scen``, as plan_metrics reads them."""
    return simulate(SimulationConstants.from_data(data), compile_plans(data, [plan], ["hand"]), scen)


BREACH = ("breach", "first_breach", "quarters_before_breach", "uncured_breach", "quarters_before_uncured")


@pytest.mark.parametrize("carry", [True, False])
def test_a_carried_loss_lifts_the_dscr_on_ebitda_less_tax_in_the_scenario(carry):
    """Quarter step 6, `dscr_cash_flow: ebitda_less_tax`: EBITDA less the scenario's tax of the
    quarter, after the losses carried. hand's optimum (its $2M draw; debt service 290,000,
    575,000, 565,000, 555,000) in tests/test_doc_cases_tax.py's scenario, Hopper at half price in
    2026Q2 (EBITDA 615,450, EBT -459,550), run under a 2.4x minimum on EBITDA less tax:
    2026Q2 615,450 / 575,000 = 1.070x breaches, with carry-forward or without. With it the loss
    is carried: 2026Q3 pays no tax, 1,403,850 / 565,000 = 2.485x, and 2026Q4 45,630,
    1,358,220 / 555,000 = 2.447x: one breach, cured. Without it 2026Q3 pays 67,770,
    1,336,080 / 565,000 = 2.365x: a second breach in a row, uncured (2026Q4: 1,334,080 / 555,000
    = 2.404x, met)."""
    result = solve(data_of(hand_model(tax_loss_carry_forward=carry)), mip_gap=0.0)
    assert result.plan.draws[0] == pytest.approx([2_000_000.0, 0.0, 0.0, 0.0], abs=0.01)
    tested = data_of(hand_model(tax_loss_carry_forward=carry,
                                covenants={**COVENANTS, "dscr_cash_flow": "ebitda_less_tax"}))  # fmt: skip
    scen = deterministic_scenarios(tested)
    scen.price_factor[0, 0, 1] = 0.5
    out = simulated(tested, result.plan, scen, record=("ebitda_usd", "tax_usd", "debt_service_usd"))
    service = [290_000.0, 575_000.0, 565_000.0, 555_000.0]
    assert out["debt_service_usd"] == pytest.approx(service, abs=0.01)
    dscr = (out["ebitda_usd"] - out["tax_usd"]) / service
    want = [4.590, 1.070, 2.485, 2.447] if carry else [4.590, 1.070, 2.365, 2.404]
    assert dscr == pytest.approx(want, abs=1e-3)
    # first breach 2026Q2 (the DSCR, mask 2) after one quarter; uncured only without carry-forward
    assert tuple(out[k] for k in BREACH) == ((True, 2, 1, False, 4) if carry else (True, 2, 1, True, 2))


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_undrawn_revolver_defers_less_and_is_drawn_when_the_deferred_order_is_cancelled(kernel):
    """Policy rule 0 with a $200,000 revolver at 12 % (3 % a quarter): tests/test_policy.py's
    order instance at a demand of 600 GPUs, quarter 0 earning nothing. Quarter 1 projects
    1,000,000 + 200,000 undrawn + 1,314,000 - 4,000,000 = -1,486,000 and defers f = 1,486,000 /
    2,905,000 = 51.15 % of the order; 1,200 - 1,000 f = 688.5 GPUs still sell 600, so quarter 1
    ends at 2,314,000 - (1 - f) 4,000,000 = 360,127.37, the revolver untouched. Quarter 2
    projects 360,127.37 + 200,000 + 1,314,000 - f 4,000,000 = -172,000 and cancels the share
    172,000 / (f (3,200,000 - 1,095,000)) of the deferred order (its price less its deposit, less
    the 1,000 / 1,200 of 1,314,000 its GPUs would earn), forfeiting 172,000 x 800,000 / 2,105,000
    = 65,368.17; its cash before the revolver, -372,000 + 172,000 x 3,200,000 / 2,105,000 =
    -110,527.32 (the GPUs left still sell the 600), draws that much of the revolver: 0. Quarter 3
    pays 3,315.82 of interest and repays the revolver: 1,314,000 - 3,315.82 - 110,527.32 =
    1,200,156.86."""
    d = order_model(distress_sales=False)
    d["market"]["demand_gpus"] = {"training": 600.0, "inference": 0.0}
    d["finance"]["revolver"] = {"size_usd": 200_000.0, "annual_rate": 0.12}
    data = data_of(d)
    policy = Policy(distress_sales=False)
    out = run(data, order_plan(data), policy, price_drop(data, [0]), kernel, line="cash_usd")
    share = 1_486_000.0 / 2_905_000.0
    cash_1 = 2_314_000.0 - (1.0 - share) * ORDER
    assert cash_1 == pytest.approx(360_127.37, abs=0.01)
    drawn = 372_000.0 - 172_000.0 * 3_200_000.0 / 2_105_000.0
    assert drawn == pytest.approx(110_527.32, abs=0.01)
    np.testing.assert_allclose(out["cash_usd"][0, 0], [1.0e6, cash_1, 0.0, 1_314_000.0 - 1.03 * drawn],
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(out["deferred_usd"][0, 0], share * ORDER, rtol=1e-12)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], 172_000.0 * 800_000.0 / 2_105_000.0, rtol=1e-12)
    assert out["order_cancelled"][0, 0] == 1.0 and out["default"][0, 0] == 0.0
    revolver = run(data, order_plan(data), policy, price_drop(data, [0]), line="revolver_balance_usd")
    np.testing.assert_allclose(revolver["revolver_balance_usd"][0, 0], [0.0, 0.0, drawn, 0.0], atol=1e-6)
    assert 600 * MARKET == 1_314_000.0


@pytest.fixture(scope="module")
def crash():
    """tests/test_doc_cases_metrics.py's crash case: hand with $1M of cash, a $200,000 revolver and
    lots of 10 GPUs, and its forecast optimum."""
    d = hand_model(opening_cash_usd=1_000_000, revolver={"size_usd": 200_000, "annual_rate": 0.12})
    d["policy"] = {"sale_block_gpus": 10}
    data = data_of(d)
    return data, solve(data, mip_gap=0.0).plan


def test_in_short_of_five_futures_by_hand(crash):
    """docs/cli.md, "In short", on tests/test_doc_cases_metrics.py's five scenarios A, B, C, A, E:
    mean NPV (2A + B + C + E) / 5 = 6,061,563.44; the worst 5 % is k = ceil(0.25) = 1 future, C
    (-2,106,034.41), and with limited liability C's -785,538.95; P(NPV < 0) 1/5, P(liquidity
    default) 1/5, P(breach) 3/5, P(uncured breach) 2/5, P(any default) 2/5, a distress sale in 2/5. The
    mean's standard error is the sample standard deviation (divisor 4), 5,105,084, over sqrt(5):
    $2.3M; the largest share's error sqrt(p (1 - p) / (S - 1)) is sqrt(0.6 x 0.4 / 4) = 24.49 pp
    (P(breach), and the 0.4s alike), 24 pp to two significant figures."""
    A, B, C, E = metrics_cases.A, metrics_cases.B, metrics_cases.C, metrics_cases.E
    npv = np.array([A, B, C, A, E])
    assert npv.mean() == pytest.approx(6_061_563.44, abs=0.01)
    assert npv.std(ddof=1) / np.sqrt(5) == pytest.approx(2_283_063, abs=1)
    m = plan_metrics(metrics_cases.run(crash, "ABCDE"), quarters=4)
    said = " ".join(risk_in_short("Plan “hand”", 5, {k: m[k][0] for k in m}, A))
    assert said == (
        "Plan “hand”: mean NPV $6.1M over 5 futures against $10.1M on the forecast; the worst 5 % average "
        "-$2.1M, counting a defaulted future's shortfall as the owners' loss (-$785.5k to shareholders with "
        "limited liability); 20.0% end with a negative NPV. A liquidity default in 20.0% of the futures, a "
        "covenant breach in 60.0%, one the owners could not cure (an event of default) in 40.0%; any "
        "default (a liquidity default or an uncured covenant breach, as lenders count defaults) in 40.0%. "
        "Sampling error, one standard error over 5 "
        "futures: $2.3M on the mean NPV, at most 24 pp on each probability. Its policy had to sell GPUs "
        "in distress in 40.0% of the futures."
    )
    assert round(metrics_cases.C_LIMITED, 2) == -785_538.95


def test_a_distress_sale_s_loss_is_taxed_the_next_quarter_and_no_default_is_counted():
    """Policy rule 4 in mid-horizon: hand's optimum with no opening cash and a $3M minimum (the
    default level), lots of 10, Hopper's price 0 in 2026Q2 only. 2026Q1 ends at 3,041,080; 2026Q2
    earns EBITDA 481,800 - 54,750 - 400,000 - 200,000 = -172,950, pays 75,000 + 500,000 and no tax:
    2,293,130, 706,870 short. A GPU aged 5 quarters fetches 0.95 x 40,000 x 0.6875 = 26,125:
    ceil(706,870 / 261,250) = 3 lots, 783,750, cash 3,076,880, no liquidity default. Its loss
    against the book value 27,500, 30 x 1,375 = 41,250, is taxed in 2026Q3: 270 market GPUs and 100
    on the contract earn 1,900,920 less 370 x (136.875 + 1,000) and 200,000, EBITDA 1,280,276.25;
    EBT 1,280,276.25 - 925,000 - 65,000 - 41,250 = 249,026.25, tax 49,805.25 (58,055.25 without
    the loss); 2026Q4 tax 0.2 x 300,276.25 = 60,055.25. Cash 3,742,351, then 4,407,572. At the end
    370 x 19,000 = 7,030,000 against a book value of 7,400,000: the liquidation tax gives back
    60,055.25. NPV = DF . (3,041,080, 35,800, 665,471, 665,221) + DF_3 (7,030,000 + 60,055.25 -
    2,250,000) = 8,627,967.34. 2026Q2's negative EBITDA breaches leverage and the DSCR (cured):
    P(breach) counts it, P(liquidity default) and P(any default) do not."""
    plan = solve(data_of(hand_model()), mip_gap=0.0).plan
    d = hand_model(opening_cash_usd=0, min_cash_usd=3_000_000)
    d["policy"] = {"sale_block_gpus": 10}
    data = data_of(d)
    scen = deterministic_scenarios(data)
    scen.price_factor[0, 0, 1] = 0.0
    out = simulated(data, plan, scen, record=("cash_usd", "ebitda_usd", "tax_usd"))
    assert out["distress_sold_usd"] == pytest.approx(783_750.0, abs=0.01)
    assert out["cash_usd"] == pytest.approx([3_041_080.0, 3_076_880.0, 3_742_351.0, 4_407_572.0], abs=0.01)
    assert out["ebitda_usd"] == pytest.approx([1_403_850.0, -172_950.0, 1_280_276.25, 1_280_276.25], abs=0.01)
    assert out["tax_usd"] == pytest.approx([72_770.0, 0.0, 49_805.25, 60_055.25], abs=0.01)
    assert out["npv"] == pytest.approx(8_627_967.34, abs=0.01)
    m = plan_metrics(simulate_all(data, plan, scen), quarters=4)
    probabilities = ("breach_probability", "uncured_breach_probability", "default_probability",
                     "any_default_probability", "sold_share")  # fmt: skip
    assert [float(m[k][0]) for k in probabilities] == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert float(m["first_breach_leverage_share"][0]) == float(m["first_breach_dscr_share"][0]) == 1.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_cap_of_a_sale_in_the_quarter_an_order_is_cancelled(kernel):
    """docs/evaluation.md, policy rule 4's "Example of the cap": the order instance with
    `min_cash_usd` 1,438,000, `default_cash_usd` 1,000,000, lots of 10 and the market paying
    nothing in quarters 0-2. Quarter 1 projects 1,000,000 - 1,372,000, 1,810,000 short of the
    minimum: the whole order is deferred (saving 1,810,000), cash stays 1,000,000. Quarter 2
    projects 1,000,000 + 2,628,000 - 4,000,000, 1,810,000 short again; cancelling the order saves
    4,000,000 - 800,000 - 2,190,000 (what its GPUs would earn) = 1,010,000, but its GPUs would fetch
    more in a distress sale, (200 x 500 + 1,000 x 1,500) / 1,200 = 1,333.33 each: the cancellation
    closes only the 438,000 above the default level, c = 438,000 / 1,010,000 = 43.37 % (433.66 GPUs,
    346,930.69 forfeited), and the rest of the order is paid (2,265,346.53): cash -1,612,277.23. 196
    lots would cover the gap to the default level, but only the 766.34 GPUs left may go (not the
    cancelled ones), 1,021,782.18: cash -590,495.05, a default in quarter 2, and nothing left to earn
    in quarter 3. (In 0.4.23 and before all of it was cancelled and the 200 GPUs left sold: cash
    466,666.67, a default too; here the GPUs paid for earn nothing of the 2,190 each the comparison
    counts, the forecast's.)"""
    d = order_model(sale_block_gpus=10)
    d["finance"].update(min_cash_usd=1_438_000.0, default_cash_usd=1_000_000.0)
    data = data_of(d)
    out = run(data, order_plan(data), Policy(sale_block_gpus=10), price_drop(data, [0, 1, 2]), kernel,
              line="cash_usd")  # fmt: skip
    value = (200 * 500.0 + 1_000 * 1_500.0) / 1_200
    cancel = 438_000.0 / 1_010_000.0
    sold = (1_200 - cancel * ORDER_GPUS) * value
    assert sold == pytest.approx(1_021_782.18, abs=0.01)
    cash_2 = 1.0e6 - (1.0 - cancel) * ORDER - cancel * 800_000.0 + sold
    assert cash_2 == pytest.approx(-590_495.05, abs=0.01)
    np.testing.assert_allclose(out["cash_usd"][0, 0], [1.0e6, 1.0e6, cash_2, cash_2])
    np.testing.assert_allclose(out["deferred_usd"][0, 0], ORDER, rtol=1e-12)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], cancel * 800_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["distress_sold_usd"][0, 0], sold, rtol=1e-12)
    assert out["default"][0, 0] == 1.0 and out["quarters_before_default"][0, 0] == 2.0


def no_cash_order(rising_price: bool = False) -> dict:
    """The order instance with no opening cash and no distress sales (docs/evaluation.md, "A
    cancellation"); with ``rising_price``, GPUs at 5,000 from quarter 2."""
    d = order_model(distress_sales=False)
    d["finance"]["opening_cash_usd"] = 0.0
    if rising_price:
        d["skus"]["A"]["capex_per_gpu_usd"] = [4000.0, 4000.0, 5000.0, 5000.0]
    return d


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_cancellation_counts_what_the_cancelled_gpus_would_earn(kernel):
    """docs/evaluation.md, "A cancellation": quarter 0 earns nothing and ends at 0. Quarter 1
    projects 2,628,000 - 4,000,000 = -1,372,000 and defers f = 1,372,000 / 1,810,000 = 75.80 %,
    ending at 0. Quarter 2 owes the deferred f x 4,000,000 = 3,032,044.20 and projects
    2,628,000 - 3,032,044.20 = -404,044.20; cancelling it all would save its price less its 20 %
    deposit, less the 2,190 each of its 758.01 GPUs would earn: f x 1,010,000 = 765,591.16, so
    c = 52.78 % is cancelled, forfeiting 404,044.20 x 800,000 / 1,010,000 = 320,035.01, and quarter
    2 ends at exactly 0. Quarter 3: the 1,200 - 400.04 GPUs left earn 1,751,904.16. In 0.4.20 and
    before c left out what the GPUs earn, 404,044.20 / (f x 3,200,000) = 16.66 %, and quarter 2
    ended short by their revenue, -276,517.75: a liquidity default."""
    data = data_of(no_cash_order())
    out = run(data, order_plan(data), Policy(distress_sales=False), price_drop(data, [0]), kernel,
              line="cash_usd")  # fmt: skip
    f = 1_372_000.0 / 1_810_000.0
    cancel = (f * ORDER - 2_628_000.0) / (f * 1_010_000.0)
    assert (f * ORDER, cancel) == pytest.approx((3_032_044.20, 0.52775), abs=1e-2)
    # the saving and the GPUs cancelled, as the docs print them
    assert (f * 1_010_000.0, cancel * f * 1_000) == pytest.approx((765_591.16, 400.04), abs=5e-3)
    np.testing.assert_allclose(out["cash_usd"][0, 0], [0.0, 0.0, 0.0, 1_751_904.16], atol=0.01)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], cancel * 0.2 * f * ORDER, rtol=1e-12)
    assert out["order_cancelled"][0, 0] == 1.0 and out["default"][0, 0] == 0.0


def selling_order(min_cash: float, default_cash: float) -> dict:
    """"A cancellation"'s instance with distress sales in lots of 10, opening cash at the minimum."""
    d = order_model(sale_block_gpus=10)
    d["finance"].update(opening_cash_usd=min_cash, min_cash_usd=min_cash, default_cash_usd=default_cash)
    return d


@pytest.mark.parametrize("kernel", BACKENDS)
def test_an_order_whose_gpus_sell_for_more_than_cancelling_saves_is_paid_and_they_are_sold(kernel):
    """docs/evaluation.md, "A cancellation", with distress sales (lots of 10): quarter 2 projects
    -404,044.20 as there, and cancelling all of the deferred order would save f x 1,010,000 =
    765,591.16; but its 758.01 GPUs would fetch 1,333.33 each in a distress sale ((200 x 500 + 1,000
    x 1,500) / 1,200, the cohorts' net resale values in quarter 2), 1,010,681.40, more. The minimum
    is the default level, so none of the gap is left to a cancellation: the order is paid and
    ceil(404,044.20 / 13,333.33) = 31 lots are sold (413,333.33); quarter 2 ends at 9,289.13, and
    quarter 3's 890 GPUs earn 1,949,100: 1,958,389.13. In 0.4.23 and before it cancelled 52.78 %
    (forfeiting 320,035.01) as without sales, and quarter 3 ended at 1,751,904.16, the NPV lower."""
    data = data_of(selling_order(0.0, 0.0))
    policy, drop = Policy(sale_block_gpus=10), price_drop(data, [0])
    out = run(data, order_plan(data), policy, drop, kernel, line="cash_usd")
    f = 1_372_000.0 / 1_810_000.0
    value = (200 * 500.0 + 1_000 * 1_500.0) / 1_200
    assert f * 1_000 * value > f * 1_010_000.0
    np.testing.assert_allclose(out["cash_usd"][0, 0, 2:], [9_289.13, 1_958_389.13], atol=0.01)
    np.testing.assert_allclose(out["distress_sold_usd"][0, 0], 310 * value, rtol=1e-12)
    assert out["order_cancelled"][0, 0] == 0.0 and out["forfeited_usd"][0, 0] == 0.0
    assert out["default"][0, 0] == 0.0
    cancelled = run(data, order_plan(data), Policy(distress_sales=False), drop, line="cash_usd")
    np.testing.assert_allclose(cancelled["cash_usd"][0, 0, 3], 1_751_904.16, atol=0.01)
    assert out["npv"][0, 0] > cancelled["npv"][0, 0] + 200_000.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_cancellation_closes_only_the_gap_above_the_default_level_when_a_sale_raises_more(kernel):
    """The case above with a 100,000 minimum (and opening cash) but a default level of 0: a sale
    would not lift cash above 0, so the cancellation closes the gap's 100,000 above it, c = 100,000 /
    765,591.16 = 13.06 % (99.01 GPUs, 79,207.92 of deposit forfeited), and the sale the rest: quarter 2
    ends at 100,000 - 404,044.20 + 100,000 = -204,044.20 before it, sells ceil(204,044.20 / 13,333.33)
    = 16 lots (213,333.33) and ends at 9,289.13, below the minimum but no default; quarter 3's
    940.99 GPUs earn 2,060,768.32."""
    data = data_of(selling_order(100_000.0, 0.0))
    out = run(data, order_plan(data), Policy(sale_block_gpus=10), price_drop(data, [0]), kernel,
              line="cash_usd")  # fmt: skip
    cancel = 100_000.0 / (1_372_000.0 / 1_810_000.0 * 1_010_000.0)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], cancel * 0.2 * 1_372_000.0 / 1_810_000.0 * ORDER,
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], 79_207.92, atol=0.01)
    np.testing.assert_allclose(out["distress_sold_usd"][0, 0], 160 * 4_000.0 / 3, rtol=1e-12)
    np.testing.assert_allclose(out["cash_usd"][0, 0], [1.0e5, 1.0e5, 9_289.13, 2_070_057.45], atol=0.01)
    assert out["order_cancelled"][0, 0] == 1.0 and out["default"][0, 0] == 0.0


def two_generations() -> tuple:
    """The case above (minimum and default level 0) with the 200 installed GPUs an older generation
    (hopper, SKU O) than the order's (SKU A made blackwell); the plan and the drop."""
    d = selling_order(0.0, 0.0)
    d["skus"]["O"] = sku(available_from="2025Q1")
    d["skus"]["A"]["generation"] = "blackwell"
    d["fleet"][0]["sku"] = "O"
    data = data_of(d)
    plan = order_plan(data)
    installed = data.sku_names.index("O")
    plan.active[0, 0, 0, :] = [0.0] + [ORDER_GPUS] * (data.T - 1)
    plan.active[0, installed, 0, :] = 200.0
    drop = price_drop(data, [0])
    drop.factors["price_factor"][0, :, 0] = 0.0  # both generations
    return data, plan, drop


@pytest.mark.parametrize("kernel", BACKENDS)
def test_cancel_or_sell_values_the_orders_gpus_though_the_sale_sells_an_older_generation_first(kernel):
    """docs/evaluation.md, "Cancel or sell", with several generations: the case above with the 200
    installed GPUs hopper and the order blackwell. Quarter 2 projects -404,044.20 and cancelling would
    save 765,591.16, as there; V values the 758.01 GPUs of the order at blackwell's 1,500 each
    (1,137,015.47), more: the order is paid. The sale sells the oldest generation first: the 200
    hopper at 500 each (20 lots, 100,000), then ceil(304,044.20 / 15,000) = 21 lots of blackwell
    (315,000): quarter 2 ends at 10,955.80, and quarter 3's 790 GPUs earn 1,730,100: 1,741,055.80,
    against 1,751,904.16 cancelling (the old GPUs, worth nothing at the end, went for less than the
    cancellation saves a GPU; the NPV, counting the 190 more blackwell GPUs held at the end, is
    higher)."""
    data, plan, drop = two_generations()
    out = run(data, plan, Policy(sale_block_gpus=10), drop, kernel, line="cash_usd")
    np.testing.assert_allclose(out["distress_sold_usd"][0, 0], 200 * 500.0 + 210 * 1_500.0, rtol=1e-12)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 2:], [10_955.80, 1_741_055.80], atol=0.01)
    assert out["order_cancelled"][0, 0] == 0.0
    cancelled = run(data, plan, Policy(distress_sales=False), drop, line="cash_usd")
    np.testing.assert_allclose(cancelled["cash_usd"][0, 0, 3], 1_751_904.16, atol=0.01)
    assert out["npv"][0, 0] > cancelled["npv"][0, 0]


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_deferred_order_is_due_at_the_next_quarters_price_its_deposit_at_the_first(kernel):
    """Policy rule 0 with the price rising from 4,000 to 5,000 a GPU in quarter 2: "A cancellation"
    above. Quarter 1 defers f = 1,372,000 / 1,810,000 (758.01 GPUs) and ends at 0. The deferred
    order falls due in quarter 2 at quarter 2's price, 758.01 x 5,000 = 3,790,055.25; its deposit is
    20 % of quarter 1's, 606,408.84. Quarter 2 projects 2,628,000 - 3,790,055.25 = -1,162,055.25;
    cancelling all of it saves 3,790,055.25 - 606,408.84 - f x 2,190,000 = 1,523,602.21, so
    c = 76.27 % is cancelled, forfeiting 462,509.55, and quarter 2 ends at 0; quarter 3's GPUs left
    earn 1,361,880.10. `deferred_capex` counts the order at quarter 1's price, 3,032,044.20."""
    data = data_of(no_cash_order(rising_price=True))
    out = run(data, order_plan(data), Policy(distress_sales=False), price_drop(data, [0]), kernel,
              line="cash_usd")  # fmt: skip
    f = 1_372_000.0 / 1_810_000.0
    due, deposit = f * 1_000 * 5_000.0, 0.2 * f * ORDER
    cancel = (due - 2_628_000.0) / (due - deposit - f * 2_190_000.0)
    assert (due, deposit, cancel) == pytest.approx((3_790_055.25, 606_408.84, 0.76270), abs=1e-2)
    np.testing.assert_allclose(out["cash_usd"][0, 0], [0.0, 0.0, 0.0, 1_361_880.10], atol=0.01)
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], 462_509.55, atol=0.01)
    np.testing.assert_allclose(out["deferred_usd"][0, 0], 3_032_044.20, atol=0.01)
    assert out["order_cancelled"][0, 0] == 1.0 and out["default"][0, 0] == 0.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_projection_counts_the_interest_due_on_the_revolver_drawn(kernel):
    """docs/evaluation.md, "A revolver drawn before the order": the order instance with a $1.2M
    minimum (the default level too) and a $500,000 revolver at 3 % a quarter. Quarter 0 earns
    nothing and draws 200,000. Quarter 1 projects 1,200,000 + 300,000 - 6,000 - 1,372,000 =
    122,000, 1,078,000 short: f = 1,078,000 / 1,810,000 is deferred (2,382,320.44), cash before the
    revolver 900,000, after it 1,200,000 with 500,000 drawn. Quarter 2 pays 15,000 of interest and
    the deferred 2,382,320.44: 1,430,679.56 before the revolver, which repays 230,679.56. Quarter 3
    pays 8,079.61 of interest and repays the rest: 1,200,000 + 2,628,000 - 8,079.61 - 269,320.44 =
    3,550,599.94. Leaving the interest out deferred 1,072,000 / 1,810,000 and ended quarter 1 at
    1,194,000, a liquidity default."""
    d = order_model(distress_sales=False)
    d["finance"]["min_cash_usd"] = 1_200_000.0
    d["finance"]["revolver"] = {"size_usd": 500_000.0, "annual_rate": 0.12}
    data = data_of(d)
    policy, drop = Policy(distress_sales=False), price_drop(data, [0])
    out = run(data, order_plan(data), policy, drop, kernel, line="cash_usd")
    np.testing.assert_allclose(out["cash_usd"][0, 0], [1.2e6, 1.2e6, 1.2e6, 3_550_599.94], atol=0.01)
    np.testing.assert_allclose(out["deferred_usd"][0, 0], 1_078_000 / 1_810_000 * ORDER, rtol=1e-12)
    assert out["default"][0, 0] == 0.0
    drawn = run(data, order_plan(data), policy, drop, line="revolver_balance_usd")["revolver_balance_usd"]
    np.testing.assert_allclose(drawn[0, 0], [200_000.0, 500_000.0, 269_320.44, 0.0], atol=0.01)


@pytest.mark.parametrize("floating", [False, True])
@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_projection_counts_what_is_due_on_a_prepayment_cut_before(kernel, floating):
    """docs/evaluation.md, "A prepayment cut before the order": the order instance with a
    $1,000,000 loan at 2 % a quarter amortising 250,000 a quarter, of which the plan prepays 750,000
    in quarter 0, when the market pays nothing (no distress sales). Quarter 0 pays 20,000 of
    interest and 250,000 of principal from 1,000,000: 730,000 is prepaid, 20,000 kept, cash 0.
    Quarter 1's forecast, the loan repaid, is 2,628,000 - 4,000,000; the kept 20,000 owes 400 of
    interest and 20,000 of the plan's instalment: the projection is -1,392,400 and f = 1,392,400 /
    1,810,000 is deferred; quarter 1 ends at 0. Quarter 2 owes f x 4,000,000 = 3,077,127.07,
    projects -449,127.07 and cancels c = 449,127.07 / (f x 1,010,000) = 57.80 %, ending at 0.
    Leaving out what the kept balance owes deferred 1,372,000 / 1,810,000 and ended quarter 1 at
    -20,400, a liquidity default. A floating loan (8 % over a 0 reference) whose scenario adds 4 %
    in quarter 1 charges the kept balance 3 % that quarter: 600, and f = 1,392,600 / 1,810,000."""
    d = order_model(distress_sales=False)
    rate = {"spread_over_reference_annual": 0.08} if floating else {"fixed_rate_annual": 0.08}
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 1.0e6, "opening_balance_usd": 1.0e6, **rate,
                 "amortization_quarters": 4, "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    data = data_of(d)
    plan = order_plan(data)
    plan.prepay[0, 0] = 750_000.0
    policy, drop = Policy(distress_sales=False), price_drop(data, [0])
    if floating:
        drop.rate_shift[0, 1] = 0.04
    out = run(data, plan, policy, drop, kernel, line="cash_usd")
    f = (1_392_600.0 if floating else 1_392_400.0) / 1_810_000.0
    cancel = (f * ORDER - 2_628_000.0) / (f * 1_010_000.0)
    if not floating:
        assert (f * ORDER, cancel) == pytest.approx((3_077_127.07, 0.57804), abs=1e-2)
    cash_3 = (1_200.0 - cancel * f * 1_000.0) * MARKET
    np.testing.assert_allclose(out["cash_usd"][0, 0], [0.0, 0.0, 0.0, cash_3], atol=1e-6)
    np.testing.assert_allclose(out["deferred_usd"][0, 0], f * ORDER, rtol=1e-12)
    assert out["prepayment_cut"][0, 0] == 1.0 and out["default"][0, 0] == 0.0
    paid = run(data, plan, policy, drop, line="principal_usd")["principal_usd"]
    np.testing.assert_allclose(paid[0, 0], [250_000.0, 20_000.0, 0.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("shift", [0.04, -0.04])
@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_projection_counts_the_scenario_rate_on_the_plans_floating_debt(kernel, shift):
    """docs/evaluation.md, "A rate change before the order": the order instance with a $1,000,000
    loan at 8 % over a 0 reference (2 % a quarter) amortising 250,000 a quarter, quarter 0 earning
    nothing (no distress sales): quarter 0 pays 20,000 + 250,000 and ends at 730,000. Quarter 1's
    forecast is 2,628,000 - 4,000,000 - 15,000 - 250,000 = -1,637,000; the reference up 4 % a year
    (1 % a quarter) that quarter charges 7,500 more on the 750,000 balance: the projection is
    -914,500 and f = 914,500 / 1,810,000 is deferred; quarter 1 ends at 0. Down 4 % it saves
    7,500: f = 899,500 / 1,810,000, ending at 0 too. Quarter 2 pays f x 4,000,000 from 2,628,000 -
    10,000 - 250,000 and quarter 3 adds 2,628,000 - 5,000 - 250,000. Leaving the change out deferred
    907,000 / 1,810,000 and ended quarter 1 at -7,500 (a liquidity default) or at +7,500."""
    d = order_model(distress_sales=False)
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 1.0e6, "opening_balance_usd": 1.0e6, "spread_over_reference_annual": 0.08,
                 "amortization_quarters": 4, "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    data = data_of(d)
    drop = price_drop(data, [0])
    drop.rate_shift[0, 1] = shift
    out = run(data, order_plan(data), Policy(distress_sales=False), drop, kernel, line="cash_usd")
    f = (907_000.0 + 750_000.0 * shift / 4.0) / 1_810_000.0
    cash_2 = 2_368_000.0 - f * ORDER
    want = [730_000.0, 0.0, cash_2, cash_2 + 2_373_000.0]
    np.testing.assert_allclose(out["cash_usd"][0, 0], want, atol=1e-6)
    np.testing.assert_allclose(out["deferred_usd"][0, 0], f * ORDER, rtol=1e-12)
    assert out["default"][0, 0] == 0.0 and out["order_cancelled"][0, 0] == 0.0



@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_projection_counts_the_scenario_spread_on_a_refinanced_bullet(kernel):
    """docs/evaluation.md, "A rate change before the order", refinanced: $1,000,000 of notes at 8 %
    fixed maturing in quarter 1 and refinanced at the reference (0) + 5 %, the order placed in
    quarter 2 and quarters 0-1 earning nothing: 1,000,000 - 20,000 - 20,000 = 960,000 at the end
    of quarter 1. Quarter 2's forecast is 2,628,000 - 4,000,000 - 12,500 = -1,384,500, and the
    scenario's spread up 4 % a year charges 10,000 more: the projection is -434,500 and f = 434,500
    / 1,810,000 is deferred, quarter 2 ending at 0 (leaving it out: -10,000, a liquidity default).
    Quarter 3 earns 2,628,000 - 12,500 and pays f x 4,000,000."""
    d = order_model(distress_sales=False)
    d["finance"]["facilities"] = {"notes": {
        "size_usd": 1.0e6, "opening_balance_usd": 1.0e6, "fixed_rate_annual": 0.08, "repayment": "bullet",
        "maturity": "2026Q2", "at_maturity": "refinance", "refinance_spread_over_reference_annual": 0.05,
        "draw_from": "2026Q1", "draw_until": "2026Q1",
    }}  # fmt: skip
    data = data_of(d)
    plan = order_plan(data)  # the order moved to quarter 2
    plan.buy_blocks[0, 0, 1], plan.buy_blocks[0, 0, 2] = 0.0, ORDER_GPUS
    plan.held_training[next(c.index for c in data.cohorts if c.bought == 1)] = 0.0
    plan.held_training[next(c.index for c in data.cohorts if c.bought == 2), 2:] = ORDER_GPUS
    plan.active[0, 0, 0, 1] = 200.0
    drop = price_drop(data, [0, 1])
    drop.spread_shift[0, 2] = 0.04
    out = run(data, plan, Policy(distress_sales=False), drop, kernel, line="cash_usd")
    f = 434_500.0 / 1_810_000.0
    np.testing.assert_allclose(out["cash_usd"][0, 0], [980_000.0, 960_000.0, 0.0, 2_615_500.0 - f * ORDER],
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(out["deferred_usd"][0, 0], f * ORDER, rtol=1e-12)
    assert out["default"][0, 0] == 0.0 and out["order_cancelled"][0, 0] == 0.0

"""The MILP on small instances whose optimal decisions are worked out by hand.

Every instance starts from `milp_builders.base_model()` (see its docstring for the base
figures): one GPU on the market earns 2,190 USD a quarter ($1/h x 2,190 h), a $4,000 GPU
loses $1,000 of market value per quarter and sells for half its market value, and nothing
else costs money unless the test says so. GPU counts inside a cohort (in service, retired,
redeployed) are continuous; only purchases and power blocks are whole numbers.
The arithmetic behind each expected decision is in the test's comment.
"""

from __future__ import annotations

import numpy as np
import pytest
from milp_builders import base_model, cohort_index, data_of, late_demand_model, sku

from fleetopt.core.data import build_data
from fleetopt.core.economics.debt import principal_schedule
from fleetopt.milp.finance import net_same_quarter_draws
from fleetopt.milp.solve import InfeasibleModel, SolveResult, solve
from fleetopt.schema.loading import load_model


def run(d: dict, **kw) -> SolveResult:
    kw.setdefault("mip_gap", 1e-9)
    return solve(data_of(d), **kw)


def buys(r: SolveResult, sku_name: str) -> list[float]:
    """Blocks of one SKU bought per quarter (single-site instances)."""
    return r.plan.buy_blocks[r.data.sku_names.index(sku_name)].sum(axis=0).tolist()


# ---------------------------------------------------------------- 1. power limit


def test_buying_stops_exactly_at_the_power_limit():
    # 8-GPU blocks of 1 kW GPUs at PUE 1.25: one block draws 8 x 1.0 x 1.25 = 10 kW = 0.010 MW.
    # Idle power fraction 1: a GPU held draws full power whether rented or not, so the GPUs held
    # must fit the site. Site 1.002 MW: 100 blocks draw 1.000 MW (fit), 101 would draw 1.010 MW.
    # Every GPU that fits is bought in the first quarter: 4 x 2,190 = 8,760 > 4,000 (worth 0 at
    # the end of the year). The 0.002 MW left over powers 1.6 GPUs; a 101st block in quarter 1
    # would need 6.4 old GPUs sold to make room: 1.6 x 3 x 2,190 (more in service) + 6.4 x 1,500
    # (their sale) = 20,112 < 32,000 - 8 x 500 (its end value) = 28,000, so it is not bought.
    d = base_model()
    d["skus"]["A"] = sku(block_size_gpus=8, idle_power_fraction=1.0)
    d["sites"]["s1"].update(power_capacity_mw=1.002, pue=1.25)
    r = run(d)
    assert buys(r, "A") == [100, 0, 0, 0]
    lines = r.statements.lines
    assert np.all(lines["mw_used_s1"] <= lines["mw_available_s1"] + 1e-9)
    assert lines["mw_used_s1"] == pytest.approx([1.0] * 4)  # 101 blocks would draw 1.010 MW


def test_gpus_held_for_later_power_draw_their_idle_share_of_it_now():
    # Idle power fraction 0.5, PUE 1, 1 kW GPUs; the site has 0.5 MW in quarters 0-1 and 1.0 MW in
    # 2-3; A is on sale in quarter 0 only. H GPUs bought, a of them in service in quarters 0-1,
    # all H in service in 2-3 (H <= 1,000): the draw in 0-1 is 0.5 H + 0.5 a <= 500 kW, and the
    # NPV 2 x 2,190 a + 2 x 2,190 H - 4,000 H = 4,380 a + 380 H, with a <= H, a + H <= 1,000.
    # Its best corner is a = H = 500 (2.38M; H = 1,000 held idle first gives 0.38M). A model that
    # ignored the idle draw (0.5 a <= ... or a <= 500 alone) would buy 1,000: 2.57M.
    d = base_model()
    d["skus"]["A"] = sku(idle_power_fraction=0.5, available_until="2026Q1")
    d["sites"]["s1"]["power_capacity_mw"] = [0.5, 0.5, 1.0, 1.0]
    r = run(d)
    assert buys(r, "A") == [500, 0, 0, 0]
    assert r.statements.lines["mw_used_s1"] == pytest.approx([0.5] * 4)
    assert r.objective_usd == pytest.approx(4380 * 500 + 380 * 500, rel=1e-9)


# ---------------------------------------------------------------- 2. power build lead time


def test_power_block_started_exactly_lead_time_before_it_is_needed():
    # 8 quarters, no power online, demand 720 GPUs from quarter 5 only (0.9 MW at PUE 1.25).
    # One 1 MW block, $1M, lead time 2: it must start in quarter 5 - 2 = 3 to be online in 5.
    # Starting in 4 loses quarter 5's margin (720 x (2,190 - 1,000) ~ 0.86M). Starting in 2 or
    # earlier is strictly worse: the capex is paid earlier (10 %/year discount), the site fixed
    # cost (10k/MW-quarter) runs one quarter longer, and the plant depreciates one quarter more
    # (1M / 40 quarters = 25k less terminal book value).
    # Buying: 720 GPUs in quarter 5 (3 quarters x 2,190 = 6,570 > 4,000 less an end value of
    # 4,000 x 0.25 x 0.5 = 500).
    d = late_demand_model()
    r = run(d)
    assert r.plan.build_blocks[0].tolist() == [0, 0, 0, 1, 0, 0, 0, 0]
    assert buys(r, "A") == [0, 0, 0, 0, 0, 720, 0, 0]
    lines = r.statements.lines
    assert lines["mw_available_s1"].tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert np.all(lines["mw_used_s1"] <= lines["mw_available_s1"] + 1e-9)


# ---------------------------------------------------------------- 3. covenant


def _covenant_instance(covenant: bool) -> dict:
    d = base_model()
    d["skus"]["A"] = sku(available_until="2026Q1")  # bought only in the first quarter
    d["market"]["demand_gpus"] = {"training": 100.0, "inference": 0.0}
    d["finance"]["opening_cash_usd"] = 40000.0
    d["finance"]["facilities"] = {
        "loan": {
            "size_usd": 1.0e6,
            "fixed_rate_annual": 0.0,
            "amortization_quarters": 40,
            "draw_from": "2026Q1",
            "draw_until": "2026Q4",
        }
    }
    if covenant:
        d["finance"]["covenants"] = {"test_from": "2026Q1", "max_debt_to_ebitda": 0.1}
    return d


def test_leverage_covenant_limits_purchases():
    # n GPUs bought in quarter 0 (the only quarter on sale), opening cash 40,000, min cash 0.
    # Cash at the end of quarter 0: 40,000 + 2,190 n - 4,000 n + debt >= 0, so debt >= 1,810 n - 40,000.
    # No covenant: demand caps it at n = 100 (debt >= 141,000 of the 1M facility; 0 % interest).
    # Covenant debt <= 0.1 x 4 x EBITDA = 0.4 x 2,190 n = 876 n in quarter 0:
    #   1,810 n - 40,000 <= 876 n  =>  n <= 40,000 / 934 = 42.8  =>  n = 42 (43 needs 37,830 > 37,668).
    # Later quarters only amortise the debt at flat EBITDA, so quarter 0 binds.
    free = run(_covenant_instance(False))
    assert buys(free, "A") == [100, 0, 0, 0]
    assert free.statements.lines["draws_usd"][0] >= 141000 - 1e-3

    r = run(_covenant_instance(True))
    assert buys(r, "A") == [42, 0, 0, 0]
    lines = r.statements.lines
    assert lines["debt_usd"][0] >= 1810 * 42 - 40000 - 1e-3
    assert np.all(lines["debt_to_ebitda"] <= 0.1 + 1e-9)


def _borrowing_base_loan(period: str = "trailing_four_quarters") -> dict:
    d = base_model()
    d["horizon"]["discount_rate_annual"] = 1.0  # equity dearer than the 8 % loan: borrow to the limit
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2026Q1", "gpus": 1000, "use": "inference",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["skus"]["A"]["capex_per_gpu_usd"] = 1e6  # none bought
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 1e7, "fixed_rate_annual": 0.08, "max_ltv": 0.5, "amortization_quarters": 4,
                 "draw_from": "2026Q2", "draw_until": "2026Q2"}
    }  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q3", "min_dscr": 10.0, "ebitda_period": period}
    return d


def test_a_draw_and_a_prepayment_of_one_quarter_are_netted():
    """Amortizing over 4 quarters: 1,652,000 drawn and 152,000 prepaid in quarter 1, 87,000 prepaid
    in quarters 2-3 leave the balances 1.5M, 1.0M, 0.5M; so do 1,500,000 drawn in quarter 1 and
    87,000 + 152,000 / 4 = 125,000 prepaid in quarters 2-3 (instalments 413,000 -> 375,000)."""
    data = data_of(_borrowing_base_loan())
    draws, prepay = np.array([0.0, 1_652_000.0, 0.0, 0.0]), np.array([0.0, 152_000.0, 87_000.0, 87_000.0])
    net_same_quarter_draws(principal_schedule(data.facilities[0], data.T)[1], draws, prepay)
    assert draws == pytest.approx([0.0, 1_500_000.0, 0.0, 0.0])
    assert prepay == pytest.approx([0.0, 0.0, 125_000.0, 125_000.0])


def test_the_plan_borrows_net_of_its_prepayments():
    """1,000 GPUs (4,000 USD each, worth 1,000 less a quarter) earn 2,190,000 USD a quarter; the
    loan (8 %, over 4 quarters, drawable in quarter 1 only) may lend half their value: 1.5M, 1.0M,
    0.5M at the end of quarters 1-3, and the plan borrows all of it (equity costs 100 % a year).
    Drawing the 1.5M needs 375,000 instalments in quarters 2-3 and 125,000 prepaid in each to
    follow the borrowing base; drawing more and prepaying the excess in quarter 1 ties in NPV but
    schedules larger instalments, so the plan draws net. Debt service: 375,000 + 2 % x 1.5M =
    405,000 in quarter 2, 375,000 + 2 % x 1.0M = 395,000 in quarter 3; DSCR on the trailing
    average in quarter 3: 2,190,000 / ((405,000 + 395,000) / 4) = 10.95 >= 10."""
    r = run(_borrowing_base_loan())
    lines = r.statements.lines
    assert r.plan.draws[0] == pytest.approx([0.0, 1_500_000.0, 0.0, 0.0], abs=1e-3)
    assert r.plan.prepay[0] == pytest.approx([0.0, 0.0, 125_000.0, 125_000.0], abs=1e-3)
    assert lines["debt_service_usd"] == pytest.approx([0.0, 0.0, 405_000.0, 395_000.0], abs=1e-3)
    assert lines["dscr"][3] == pytest.approx(10.95)
    assert lines["cash_usd"] == pytest.approx(r.milp_cash_usd, abs=1e-3)  # the MILP's own cash


def test_a_prepayment_cannot_pay_instalments_early_through_a_draw():
    """An opening balance of 500,000 amortizing over 5 quarters (100,000 due in each of quarters
    0-3, 100,000 after the horizon) at 2 % a quarter; the loan may be drawn in quarter 2 only (its
    draw repaid in fifths from quarter 3), cash is ample and nothing is bought or discounted, so the
    NPV is -500,000 less the interest, 2 % of D_{t-1}: the plan minimises D_0 + D_1 + D_2.

    Without the `instalment_cover` rows the optimum prepaid 300,000 in quarter 0 (D_0 = 100,000 for
    quarter 1's instalment, D_1 = 0) and drew 250,000 in quarter 2 to pay that quarter's instalment
    out of the draw, interest-free, and quarter 3's 100,000 + 50,000: D = 100,000, 0, 150,000, 0;
    interest 15,000, and debt service 100,000 in quarter 2 on a debt of 0 at its start.
    With them every instalment is paid from the balance at the start of its quarter:
    D_1 >= 100,000, D_0 = D_1 + 100,000, and D_2 = D_1 + 0.8 d_2 - 100,000 >= 100,000 + d_2 / 5, so
    D_0 + D_1 + D_2 = 200,000 + 2 D_1 + (200,000 - D_1) / 4 is least at D_1 = 100,000: 200,000
    prepaid in quarter 0, d_2 = 125,000 (its fifth, 25,000, due in quarter 3), D = 200,000, 100,000,
    125,000, 0, interest 10,000, 4,000, 2,000, 2,500 (18,500)."""
    d = base_model()
    d["skus"]["A"]["capex_per_gpu_usd"] = 1e6  # none bought
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 1e6, "opening_balance_usd": 500_000.0, "fixed_rate_annual": 0.08,
                 "amortization_quarters": 5, "draw_from": "2026Q3", "draw_until": "2026Q3"}
    }  # fmt: skip
    r = run(d)
    lines = r.statements.lines
    assert r.plan.prepay[0] == pytest.approx([200_000.0, 0.0, 0.0, 0.0], abs=1e-3)
    assert r.plan.draws[0] == pytest.approx([0.0, 0.0, 125_000.0, 0.0], abs=1e-3)
    assert lines["debt_usd"] == pytest.approx([200_000.0, 100_000.0, 125_000.0, 0.0], abs=1e-3)
    assert lines["principal_usd"] == pytest.approx([100_000.0, 100_000.0, 100_000.0, 125_000.0], abs=1e-3)
    assert lines["interest_usd"] == pytest.approx([10_000.0, 4_000.0, 2_000.0, 2_500.0], abs=1e-3)
    assert r.objective_usd == pytest.approx(-518_500.0, abs=1e-3)
    opening = np.concatenate([[500_000.0], lines["debt_usd"][:-1]])
    assert np.all(lines["principal_usd"] <= opening + 1e-3)  # no instalment paid out of its quarter's draw


def _taxed_purchase_on_a_secured_loan(discount_rate: float) -> dict:
    d = base_model()
    d["horizon"]["discount_rate_annual"] = discount_rate
    d["skus"]["A"] = sku(available_until="2026Q1")  # bought only in quarter 0
    d["market"]["demand_gpus"] = {"training": 10.0, "inference": 0.0}
    d["finance"].update(opening_cash_usd=10_000.0, tax_rate=0.21)
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 1e6, "fixed_rate_annual": 0.08, "max_ltv": 0.15, "amortization_quarters": 4,
                 "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    return d


@pytest.mark.parametrize("discount_rate", [0.0, 0.10])
def test_the_tax_of_the_purchase_quarter_and_the_borrowing_base_set_the_purchase_by_hand(discount_rate):
    """n GPUs bought in quarter 0 (demand 10), each earning 2,190 a quarter, depreciating 1,000 a
    quarter (one-year life) and worth 0 at the end; tax 21 % of EBT, paid in its quarter (§5.10);
    opening cash 10,000; a loan at 8 % (2 % a quarter), drawable in quarter 0, repaid in quarters
    1-4 (the fourth instalment after the horizon), lending 15 % of the GPUs' gross resale value.

    Quarter 0's cash: 10,000 + 2,190 n - 0.21 x 1,190 n (tax) - 4,000 n + d >= 0, so
    d >= 2,059.9 n - 10,000; the borrowing base: d <= 0.15 x 4,000 n = 600 n (later quarters the
    same: balance and value both fall by a quarter a quarter). n <= 10,000 / 1,459.9 = 6.85: n = 6
    (without the tax in the cash row n = 8 would fit).

    At 0 % equity every USD borrowed only costs interest: d = 2,059.9 x 6 - 10,000 = 2,359.40, and
    the instalment due after the horizon (589.85) is prepaid in quarter 1, the first quarter
    `instalment_cover` allows, saving two quarters of interest. Interest 47.188, 23.594, 11.797;
    NPV = C_3 - C_{-1} = 4 x 13,140 - 24,000 - 0.21 x (4 x 7,140 - 82.579) - 82.579 = 22,497.16259.
    At 10 % a year equity costs 2.41 % a quarter against 2 % x (1 - 0.21) for the loan: the plan
    borrows to the borrowing base, d = 3,600 (§9), and prepays nothing."""
    r = run(_taxed_purchase_on_a_secured_loan(discount_rate))
    lines = r.statements.lines
    assert buys(r, "A") == [6, 0, 0, 0]
    ebitda, capex, instalment = 6 * 2190.0, 6 * 4000.0, (2359.4 if discount_rate == 0.0 else 3600.0) / 4
    draw = 4 * instalment
    prepay = [0.0, instalment, 0.0, 0.0] if discount_rate == 0.0 else [0.0] * 4
    debt = draw - instalment * np.arange(4) - np.cumsum(prepay)
    interest = 0.02 * np.concatenate([[0.0], debt[:-1]])
    tax = 0.21 * (ebitda - 6 * 1000.0 - interest)
    flows = ebitda - tax - interest - [capex, 0, 0, 0] + [draw, 0, 0, 0] - [0, *[instalment] * 3] - prepay
    discount = (1.0 + discount_rate) ** (-(np.arange(4) + 1) / 4)  # DF_t, §1
    assert r.plan.draws[0] == pytest.approx([draw, 0.0, 0.0, 0.0], abs=1e-6)
    assert r.plan.prepay[0] == pytest.approx(prepay, abs=1e-6)
    assert lines["tax_usd"] == pytest.approx(tax, abs=1e-6)
    assert lines["interest_usd"] == pytest.approx(interest, abs=1e-6)
    assert lines["debt_usd"] == pytest.approx(debt, abs=1e-6)
    assert r.objective_usd == pytest.approx(flows @ discount - discount[-1] * debt[-1], abs=1e-5)
    if discount_rate == 0.0:
        assert lines["cash_usd"][0] == pytest.approx(0.0, abs=1e-6)
        assert r.objective_usd == pytest.approx(22_497.16259, abs=1e-5)
    else:
        assert lines["collateral_required_usd"] == pytest.approx(lines["collateral_value_usd"], abs=1e-6)


# ---------------------------------------------------------------- 4. optional contracts


def test_profitable_optional_contract_accepted_unprofitable_one_declined():
    # No market demand: GPUs earn only from contracts, 10 GPUs each, 4 quarters, billed every hour.
    # good at $1.00/h: 10 x 4 x 2,190 = 87,600 revenue against 10 x 4,000 = 40,000 of GPUs
    #   (bought in quarter 0, worth 0 after a year) -> accept.
    # bad at $0.10/h: 8,760 revenue against another 40,000 of GPUs -> decline.
    d = base_model()
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 0.0}
    common = {"use": "training", "eligible_skus": ["A"], "gpus": 10, "start": "2026Q1", "term_quarters": 4}
    d["contracts"] = {
        "good": {"customer": "c1", "price_usd_per_gpu_hour": 1.0, "signed": False, **common},
        "bad": {"customer": "c2", "price_usd_per_gpu_hour": 0.1, "signed": False, **common},
    }
    r = run(d)
    assert r.plan.accepted.tolist() == [1.0, 0.0]
    assert buys(r, "A") == [10, 0, 0, 0]
    assert r.plan.contract_gpus[0].sum(axis=(0, 1)) == pytest.approx([10] * 4)
    assert r.plan.contract_gpus[1].sum() == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("limits", "accepted"),
    [({"max_customer_revenue_share": 0.67}, 1.0), ({"max_customer_revenue_share_per_year": 0.8}, 1.0),
     ({"max_customer_revenue_share_per_year": 0.7}, 0.0)],
)  # fmt: skip
def test_a_customer_over_its_share_of_a_years_revenue_is_declined(limits, accepted):
    # 8 quarters; market demand 40 inference GPUs at $1/h (87,600 a quarter), served every quarter
    # (a GPU earns 4 x 2,190 = 8,760 a year for its 4,000). An offer of customer "big": 60 GPUs at
    # $2/h in the first year, 4 x 60 x 2 x 2,190 = 1,051,200 for 240,000 of GPUs. Taken, big holds
    # 1,051,200 / (1,051,200 + 4 x 87,600) = 75 % of the first year's revenue and 1,051,200 /
    # (1,051,200 + 8 x 87,600) = 60 % of the horizon's: within 67 % over the horizon and 80 % a
    # year, not 70 % a year (the market can add no revenue beyond its demand), so there it is
    # declined.
    d = base_model()
    d["horizon"]["quarters"] = 8
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 40.0}
    d["contracts"] = {"big-deal": {"customer": "big", "use": "inference", "eligible_skus": ["A"], "gpus": 60,
                                   "price_usd_per_gpu_hour": 2.0, "start": "2026Q1", "term_quarters": 4,
                                   "signed": False}}  # fmt: skip
    d["limits"] = limits
    r = run(d)
    assert r.plan.accepted.tolist() == [accepted]
    lines = r.statements.lines
    big = float(lines["revenue_contract_big-deal_usd"][:4].sum())
    assert big == pytest.approx(1_051_200.0 * accepted, rel=1e-9)
    assert float(lines["revenue_usd"][:4].sum()) == pytest.approx(big + 4 * 87_600.0, rel=1e-9)


# ---------------------------------------------------------------- 5. redeployment


def _never_bought_trainer() -> dict:
    """A SKU on sale all along that may always train but is far too dear to buy.

    It keeps a training term in every quarter's market-demand constraint (see
    test_quarter_where_no_gpu_can_train_builds_a_model for what happens without one).
    """
    return sku(generation="blackwell", capex_per_gpu_usd=1.0e8)


def _hopper_fleet(rule: dict, redeploy_cost: float) -> dict:
    d = base_model()
    # released 2025Q1, off sale before the horizon: only the installed cohort exists
    d["skus"] = {"H100": sku(available_from="2025Q1", available_until="2025Q4", training_eligibility=rule)}
    d["fleet"] = [
        {"sku": "H100", "site": "s1", "purchased": "2025Q1", "gpus": 100, "use": "training",
         "capex_per_gpu_usd": 4000.0}
    ]  # fmt: skip
    d["market"]["price_usd_per_gpu_hour"] = {"training": {"all": 2.0}, "inference": {"all": 1.0}}
    d["redeployment"]["cost_per_gpu_usd"] = redeploy_cost
    return d


@pytest.mark.parametrize("rule", ["quarters_after_release", "max_newer_generations_on_sale"])
def test_hopper_moves_to_inference_when_training_eligibility_ends(rule):
    # Horizon 2026Q1..2026Q4. Training eligibility ends in 2026Q3 (quarter 2) either because
    # 2025Q1 + 6 quarters = 2026Q3, or because a Blackwell SKU goes on sale in 2026Q3 and the
    # H100 may train only while 0 newer generations are on sale.
    # Quarters 0-1: training pays $2/h, inference $1/h: no reason to move early.
    # Quarter 2: the GPUs can no longer train; resale is 0 (older than a year), so the choice is
    # idle (0) or redeploy: 2 quarters x 2,190 = 4,380 of inference revenue > 500 per GPU -> all
    # 100 move in quarter 2 (one quarter later would forgo 2,190).
    if rule == "quarters_after_release":
        d = _hopper_fleet({"quarters_after_release": 6}, 500.0)
        d["skus"]["B200"] = _never_bought_trainer()
    else:
        d = _hopper_fleet({"max_newer_generations_on_sale": 0}, 500.0)
        d["skus"]["B200"] = sku(generation="blackwell", available_from="2026Q3", capex_per_gpu_usd=1.0e8)
    r = run(d)
    assert r.data.training_eligible[0].tolist() == [True, True, False, False]
    assert r.plan.redeploy[0].tolist() == pytest.approx([0, 0, 100, 0])
    assert r.plan.active[0, 0, 0].tolist() == pytest.approx([100, 100, 0, 0])  # training
    assert r.plan.active[1, 0, 0].tolist() == pytest.approx([0, 0, 100, 100])  # inference
    assert r.plan.buy_blocks.sum() == 0


def test_no_redeployment_when_it_costs_more_than_inference_earns():
    # Same fleet, but moving a GPU costs 5,000 > the 4,380 it could still earn on inference.
    d = _hopper_fleet({"quarters_after_release": 6}, 5000.0)
    d["skus"]["B200"] = _never_bought_trainer()
    r = run(d)
    assert r.plan.redeploy.sum() == pytest.approx(0.0)


# ---------------------------------------------------------------- 6. retirement


def test_gpus_retired_when_resale_and_saved_costs_beat_earnings():
    # 100 installed inference GPUs bought 2025Q4 for 4,000: resale 4,000 x (1 - age/4 quarters),
    # so retiring at the start of quarter t fetches 3,000 / 2,000 / 1,000 / 0 (t = 0..3), end value 0.
    # Per GPU-quarter in service: electricity 1 kW x 100 $/MWh x 2,190 h = 219, opex 200;
    # idle still draws half the power (109.5). Price $1/h in quarters 0-1, $0.20/h from quarter 2.
    # Keeping a GPU through quarter t instead of selling at its start is worth
    #   t = 0, 1: 2,190 - 219 - 200 - 1,000 (resale lost) = +771 -> keep;
    #   t = 2:      438 - 219 - 200 - 1,000               = -981 -> sell all 100 in quarter 2
    #   (and keeping through both 2 and 3 earns only 2 x 19 = 38 against 1,000 of resale).
    d = base_model()
    d["skus"]["A"] = sku(
        available_from="2025Q1",
        available_until="2025Q4",
        idle_power_fraction=0.5,
        opex_per_gpu_quarter_usd=200.0,
    )
    d["sites"]["s1"]["electricity_price_usd_per_mwh"] = 100.0
    d["retirement"]["selling_cost_fraction"] = 0.0
    d["fleet"] = [
        {"sku": "A", "site": "s1", "purchased": "2025Q4", "gpus": 100, "use": "inference",
         "capex_per_gpu_usd": 4000.0}
    ]  # fmt: skip
    path = [1.0, 1.0, 0.2, 0.2]
    d["market"]["price_usd_per_gpu_hour"] = {"training": {"all": path}, "inference": {"all": path}}
    r = run(d)
    assert r.plan.retire[0].tolist() == pytest.approx([0, 0, 100, 0])
    assert r.plan.held[0].tolist() == pytest.approx([100, 100, 0, 0])
    assert r.statements.lines["disposal_proceeds_usd"].tolist() == pytest.approx([0, 0, 100000, 0])


# ---------------------------------------------------------------- 7. newer generation


def test_cheaper_per_throughput_generation_preferred_once_on_sale():
    # 6 quarters, training demand 10, 20, ..., 60 H100-eq; GPUs scrapped for nothing (resale off),
    # so a GPU bought in quarter t earns (6 - t) quarters against its full price. A 10 %/year
    # discount rate makes buying ahead of demand strictly worse (without it, buying the quarter-1
    # GPUs in quarter 0 would tie); the margins below are far larger than its effect.
    # OLD (hopper): 4,000 per GPU, throughput 1, $1/h -> 2,190 per H100-eq-quarter, 4,000 per H100-eq.
    # NEW (blackwell, on sale from quarter 2): 6,000 per GPU, throughput 2, $2/h
    #   -> the same 2,190 per H100-eq-quarter for only 3,000 per H100-eq.
    # Quarter 1: OLD earns 5 x 2,190 - 4,000 = 6,950 per H100-eq, more than waiting for NEW
    #   (4 x 2,190 - 3,000 = 5,760) -> 10 OLD in each of quarters 0 and 1.
    # Quarters 2-4: NEW beats OLD by 1,000 per H100-eq -> 5 NEW GPUs (10 H100-eq) each.
    # Quarter 5: one quarter earns 2,190 < 3,000 -> nothing.
    d = base_model()
    d["horizon"].update(quarters=6, discount_rate_annual=0.10)
    d["skus"] = {
        "OLD": sku(),
        "NEW": sku(
            generation="blackwell",
            available_from="2026Q3",
            capex_per_gpu_usd=6000.0,
            training_throughput=2.0,
            inference_throughput=2.0,
        ),
    }
    d["retirement"]["resale"] = False
    d["market"]["demand_gpus"] = {"training": [10, 20, 30, 40, 50, 60], "inference": 0.0}
    d["market"]["price_usd_per_gpu_hour"]["training"] = {"hopper": 1.0, "blackwell": 2.0}
    r = run(d)
    assert buys(r, "OLD") == [10, 10, 0, 0, 0, 0]
    assert buys(r, "NEW") == [0, 0, 5, 5, 5, 0]


# ---------------------------------------------------------------- 8. terminal value


def test_terminal_value_causes_no_end_of_horizon_spree():
    # Flat world over 8 quarters: demand 100, price $1/h, 10 %/year discount, opex 100,
    # electricity 50 $/MWh (109.5 per GPU-quarter), idle draw 30 %, selling costs 10 %.
    # Resale 100 % -> 50 % -> 25 % at ages 0, 1, 2 years: a GPU loses 500/quarter in year 1,
    # 250/quarter in year 2, and is valued at 4,000 x 0.25 x 0.9 = 900 at the end.
    # Expected: buy 100 in quarter 0 (8 x (2,190 - 209.5) - 4,000 + 900 > 0) and nothing after:
    # demand is flat, and a GPU bought in quarter 7 costs 4,000 but is valued at only
    # 4,000 x 0.875 x 0.9 = 3,150 at the end. Nothing is sold in the last quarter: selling at its
    # start fetches 4,000 x 0.3125 x 0.9 = 1,125, only 225 more than the end value, while the
    # quarter's service earns 2,190 - 209.5 = 1,980.5.
    d = base_model()
    d["horizon"].update(quarters=8, discount_rate_annual=0.10)
    d["skus"]["A"] = sku(
        idle_power_fraction=0.3,
        opex_per_gpu_quarter_usd=100.0,
        resale_fraction_by_age_years=[1.0, 0.5, 0.25],
    )
    d["sites"]["s1"]["electricity_price_usd_per_mwh"] = 50.0
    d["retirement"]["selling_cost_fraction"] = 0.1
    d["market"]["demand_gpus"] = {"training": 100.0, "inference": 0.0}
    r = run(d)
    assert buys(r, "A") == [100, 0, 0, 0, 0, 0, 0, 0]
    assert r.plan.retire.sum() == pytest.approx(0.0)
    assert r.plan.held[:, -1].sum() == pytest.approx(100.0)
    assert r.statements.terminal_assets_usd == pytest.approx(100 * 900.0)


# ---------------------------------------------------------------- 9. statements identity


def _identity_checks(r: SolveResult) -> None:
    lines = r.statements.lines
    cash = lines["cash_usd"]
    scale = max(np.abs(cash).max(), r.data.opening_cash, 1.0)
    prev = np.concatenate([[r.data.opening_cash], cash[:-1]])
    flows = (
        lines["ebitda_usd"] - lines["tax_usd"] - lines["interest_usd"]
        - lines["capex_gpu_usd"] - lines["capex_power_usd"] + lines["disposal_proceeds_usd"]
        + lines["draws_usd"] - lines["principal_usd"] - lines["prepayment_usd"]
        + lines["contract_payments_usd"]
    )  # fmt: skip
    np.testing.assert_allclose(cash - prev, flows, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(r.milp_cash_usd, cash, rtol=1e-6, atol=1e-6 * scale)
    assert r.statements.npv_usd == pytest.approx(r.objective_usd, rel=1e-6, abs=1e-6 * scale)


@pytest.mark.slow
def test_statements_identity_on_the_default_model_neocloud(neocloud_solved):
    # models/neocloud.yaml exists, so the identity is checked on it (the session's plan of it, to a
    # 5 % gap: the proof of optimality is not needed, the identities hold for any plan the MILP returns)
    r = neocloud_solved
    assert r.data.facilities and r.data.model.finance.covenants is not None
    _identity_checks(r)


@pytest.mark.parametrize("maker", ["tiny", "covenant", "power"])
def test_statements_identity_on_small_models(maker):
    # The same identities on the bundled tiny model (debt, tax, contracts, power build) and on
    # two hand-made instances, in well under a second each.
    if maker == "tiny":
        r = solve(build_data(load_model("tiny")))
    elif maker == "covenant":
        r = run(_covenant_instance(True))
    else:
        d = base_model()
        d["sites"]["s1"].update(power_capacity_mw=0.05, fixed_cost_per_mw_quarter_usd=1000.0)
        d["finance"]["tax_rate"] = 0.2
        d["horizon"]["discount_rate_annual"] = 0.12
        r = run(d)
    _identity_checks(r)


# ---------------------------------------------------------------- 10. cost objective


def test_cost_objective_meets_demand_floor_and_buys_nothing_beyond_need():
    # Minimise cost of serving training demand 10, 21, 21, 21 H100-eq with 2x-throughput GPUs.
    # Quarter 0 needs 10 / 2 = 5 GPUs; quarter 1 needs 10.5 -> 11 GPUs, so 6 more in quarter 1.
    # Buying the 6 in quarter 0 instead costs 4,000 each with end value 0, against 4,000 less an
    # end value of 4,000 x 0.25 x 0.5 = 500 when bought in quarter 1. Selling costs 50 %, so
    # churning old GPUs for new ones only loses money. Expected buys [5, 6, 0, 0].
    # The half GPU of surplus from quarter 1 on is sold at once (GPU counts in a cohort are
    # continuous): 0.5 x 4,000 x 0.75 x 0.5 = 750 from the quarter-0 cohort in quarter 1, better
    # than 0.5 x (750 - 500) = 125 net from selling the quarter-1 cohort in quarter 2.
    d = base_model()
    d["skus"]["A"] = sku(training_throughput=2.0, inference_throughput=2.0)
    d["retirement"]["selling_cost_fraction"] = 0.5
    demand = [10.0, 21.0, 21.0, 21.0]
    d["market"]["demand_gpus"] = {"training": demand, "inference": 0.0}
    r = run(d, objective="cost")
    assert buys(r, "A") == [5, 6, 0, 0]
    supplied = (r.data.throughput[0][:, None, None] * r.plan.active[0]).sum(axis=(0, 1))  # no contracts
    assert np.all(supplied >= np.array(demand) - 1e-6)
    c0, c1 = cohort_index(r.data, "A", "s1", 0), cohort_index(r.data, "A", "s1", 1)
    assert r.plan.retire[c0].tolist() == pytest.approx([0, 0.5, 0, 0], abs=1e-6)
    assert r.plan.retire.sum() == pytest.approx(0.5, abs=1e-6)
    assert r.plan.held[c0].tolist() == pytest.approx([5, 4.5, 4.5, 4.5], abs=1e-6)
    assert r.plan.held[c1].tolist() == pytest.approx([0, 6, 6, 6], abs=1e-6)


@pytest.mark.parametrize("opening_cash", [43_250.0, 43_000.0])
def test_the_cost_objective_holds_the_budget_on_real_cash(opening_cash):
    # The case above under a budget: no contracts, so every USD of revenue is market revenue, the
    # GPUs' own use, which no one pays. Real cash (cash less the market revenue to date) at the end
    # of quarter 1 is the opening cash - 5 x 4,000 - 6 x 4,000 + 750 (the half GPU sold) =
    # opening - 43,250, and stays there (no costs). A budget floor of 0 holds at 43,250 exactly;
    # $250 less, no plan meets the demand (11 whole GPUs by quarter 1, and selling more of them
    # leaves it short) and the diagnosis names the budget. Counting the imputed revenue (the floor
    # before), 43,000 solved with its lowest cash at $33,695: 5 x 2,190 and 10.5 x 2,190 of "income"
    # in quarters 0 and 1.
    d = base_model()
    d["skus"]["A"] = sku(training_throughput=2.0, inference_throughput=2.0)
    d["retirement"]["selling_cost_fraction"] = 0.5
    d["market"]["demand_gpus"] = {"training": [10.0, 21.0, 21.0, 21.0], "inference": 0.0}
    d["finance"]["opening_cash_usd"] = opening_cash
    if opening_cash == 43_000.0:
        with pytest.raises(InfeasibleModel) as err:
            run(d, objective="cost")
        found = [*err.value.diagnosis, *err.value.diagnosis.otherwise]
        budget = next(g for g in found if g["group"] == "min_cash")
        assert max(amount for _, amount in budget["items"]) == pytest.approx(250.0, rel=1e-6)
        assert "the budget: cash less the market revenue to date" in budget["note"]
        return
    r = run(d, objective="cost")
    assert buys(r, "A") == [5, 6, 0, 0]
    lines = r.statements.lines
    market = np.cumsum(lines["revenue_training_market_usd"] + lines["revenue_inference_market_usd"])
    assert (lines["cash_usd"] - market).tolist() == pytest.approx([23_250.0, 0.0, 0.0, 0.0], abs=1e-6)
    assert r.headline()["min_cash_without_market_revenue_usd"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("rate", [0.0, 0.10])
def test_the_present_cost_per_h100_hour_is_levelized_over_the_compute_in_service(rate):
    # The case above: buys 5 then 6 GPUs at 4,000 (quarters 0 and 1), sells the surplus half GPU in
    # quarter 1 for 750, and holds the 6 worth 500 each at the end (no opex, power or interest):
    # present cost 20,000 DF_0 + (24,000 - 750) DF_1 - 3,000 DF_3 (40,250 undiscounted). In service
    # exactly the demand, 10, 21, 21, 21 H100-equivalent GPUs, 2,190 h a quarter: the cost per
    # H100-equivalent GPU-hour is 40,250 / 159,870 = $0.2518 without discounting; at 10 %, DF_t =
    # 1.1^-(t+1)/4, the cost and the hours are both discounted (the levelized cost, formulation §6).
    d = base_model()
    d["skus"]["A"] = sku(training_throughput=2.0, inference_throughput=2.0)
    d["market"]["demand_gpus"] = {"training": [10.0, 21.0, 21.0, 21.0], "inference": 0.0}
    d["horizon"]["discount_rate_annual"] = rate
    r = run(d, objective="cost")
    assert buys(r, "A") == [5, 6, 0, 0]
    df = [(1.0 + rate) ** (-(t + 1) / 4) for t in range(4)]
    cost = 20_000 * df[0] + 23_250 * df[1] - 3_000 * df[3]
    hours = 2_190 * (10 * df[0] + 21 * (df[1] + df[2] + df[3]))
    fig = r.headline()
    assert fig["present_cost_usd"] == pytest.approx(cost, rel=1e-9)
    assert fig["compute_in_service_h100_hours"] == pytest.approx(159_870, rel=1e-9)
    assert fig["compute_in_service_h100_hours_discounted"] == pytest.approx(hours, rel=1e-9)
    assert fig["present_cost_per_h100_hour_usd"] == pytest.approx(cost / hours, rel=1e-9)
    if rate == 0.0:
        assert fig["present_cost_per_h100_hour_usd"] == pytest.approx(0.2517670607, rel=1e-9)


# ---------------------------------------------------------------- constraints with no variables


@pytest.mark.parametrize("case", ["training_eligibility_ends", "nothing_on_sale_yet"])
def test_quarter_where_no_gpu_can_train_builds_a_model(case):
    # (a) only an installed H100 cohort whose training eligibility ends in quarter 2;
    # (b) no installed fleet and the only SKU on sale from quarter 1: quarter 0 holds no GPU at all
    #     (the power constraint of that quarter would also be the constant 0 <= capacity).
    # Both are valid models with an obvious answer: (a) redeploy the 100 GPUs in quarter 2 as in
    # the test above; (b) buy nothing in quarter 0.
    if case == "training_eligibility_ends":
        r = run(_hopper_fleet({"quarters_after_release": 6}, 500.0))
        assert r.plan.redeploy[0].tolist() == pytest.approx([0, 0, 100, 0])
    else:
        d = base_model()
        d["skus"]["A"] = sku(available_from="2026Q2")
        r = run(d)
        assert r.plan.buy_blocks[0, 0, 0] == 0


def test_a_plan_stopped_early_is_valued_as_written_not_as_the_incumbent():
    """A time-limited solve of `lab` (0.1 s, 2026-11-30) returned an incumbent of -$2.69B that
    paid $2.995B of tax it did not owe, for a plan whose statements give $239.4M, against a bound
    of $434.2M: the solve reports the plan's $239.4M and the gap (434.2 - 239.4) / 239.4 = 81.4 %,
    not the incumbent's 116 %. The cost objective keeps the solver's figure."""
    from types import SimpleNamespace

    from fleetopt.milp.solve import objective_and_gap

    statements = SimpleNamespace(npv_usd=239.4e6)
    value, gap = objective_and_gap("npv", -2.69e9, 434.2e6, statements)
    assert value == 239.4e6 and gap == pytest.approx((434.2 - 239.4) / 239.4, rel=1e-12)
    assert objective_and_gap("npv", -2.69e9, None, statements) == (239.4e6, None)
    assert objective_and_gap("cost", 5e8, 4e8, statements) == (5e8, pytest.approx(0.2))


def test_a_solve_interrupted_by_ctrl_c_is_the_user_s_stop_not_solver_trouble():
    """HiGHS that reports `interrupted` (Ctrl-C reached it) raises KeyboardInterrupt, which the CLI
    turns into exit 130, instead of a 'numerical trouble' error (exit 4)."""
    from types import SimpleNamespace

    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    from fleetopt.milp.highs import run_highs

    class Interrupted:
        def solve(self, model, **options):
            stopped = TerminationCondition.interrupted
            return SimpleNamespace(termination_condition=stopped, solution_status=SolutionStatus.noSolution)

    with pytest.raises(KeyboardInterrupt):
        run_highs(None, solver=Interrupted())


def test_ctrl_c_that_highs_catches_in_its_callback_still_stops_the_solve(monkeypatch):
    """Ctrl-C while HiGHS runs its MIP search raises KeyboardInterrupt in a Python callback HiGHS
    makes; HiGHS catches it and ends the solve as an error. A sweep then went on with the candidate
    as "no_plan" and exited 0. Here Ctrl-C comes 0.1 s into HiGHS's run of tiny's collateral-haircut
    stress (it was "no_plan" at 0.05-0.3 s): the solve raises KeyboardInterrupt, and the handlers
    are restored."""
    import os
    import signal
    import threading

    import highspy

    from fleetopt import api
    from fleetopt.milp.persistent import PersistentPlanner
    from fleetopt.sweep.stresses import default_stresses

    _, data = api.load("tiny")
    planner = PersistentPlanner(data)
    planner.solve_stress(None)
    haircut = next(s for s in default_stresses(data) if s.collateral_scale != 1.0)
    real_run = highspy.Highs.run
    running, sent = threading.Event(), threading.Event()

    def ctrl_c_if_running():
        if running.is_set():  # never a stray Ctrl-C once the solve is over
            sent.set()
            os.kill(os.getpid(), signal.SIGINT)

    def run_then_ctrl_c(self):
        timer = threading.Timer(0.1, ctrl_c_if_running)
        running.set()
        timer.start()
        try:
            return real_run(self)
        finally:
            running.clear()
            timer.cancel()

    monkeypatch.setattr(highspy.Highs, "run", run_then_ctrl_c, raising=False)
    handler = signal.getsignal(signal.SIGINT)
    try:
        planner.solve_stress(haircut)
    except KeyboardInterrupt:
        assert sent.is_set()
    else:
        if sent.is_set():
            pytest.fail("Ctrl-C during HiGHS's run was lost: the solve returned as if nothing happened")
        pytest.skip("HiGHS finished within 0.1 s here: no Ctrl-C was sent during its run")
    assert signal.getsignal(signal.SIGINT) is handler


def test_a_stop_caught_inside_the_solver_is_raised_once_it_returns():
    """The mechanism alone: a SIGINT whose KeyboardInterrupt is caught inside (as HiGHS does) is
    raised again when the solver returns; without a signal, or with a handler of the caller's that
    does not raise, nothing is raised."""
    import os
    import signal
    import time

    from fleetopt.milp.highs import stops_kept

    with pytest.raises(KeyboardInterrupt), stops_kept():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises here, at once
        except KeyboardInterrupt:
            pass  # as HiGHS does in its callback
    with stops_kept():
        pass
    # a stop followed by another error (the solver failing once stopped): the stop wins
    with pytest.raises(KeyboardInterrupt), stops_kept():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            pass
        raise RuntimeError("after the stop")
    # a caller's own handler that does not stop the run: called, and nothing raised after
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        with stops_kept():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls == [signal.SIGINT]


def test_a_bare_highs_run_stopped_by_ctrl_c_raises_once_highs_has_stopped():
    """The block solver's HiGHS runs go through milp.highs.run_stoppable: HiGHS runs in its own
    thread (HandleKeyboardInterrupt), and highspy, waiting for it, catches the KeyboardInterrupt
    and cancels the run. run_stoppable raises it again once the run has returned. A stand-in for
    highspy's Highs does what highspy does: Ctrl-C arrives while it waits, and it swallows it."""
    import os
    import signal
    import time

    from fleetopt.milp.highs import run_stoppable

    class Waiting:
        HandleKeyboardInterrupt = False
        cancelled = False

        def solve(self):
            assert self.HandleKeyboardInterrupt  # else no Python handler could run until HiGHS returns
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1.0)  # the handler raises here, at once
            except KeyboardInterrupt:
                self.cancelled = True  # highspy: cancelSolve(), then wait for the run to return

    h = Waiting()
    with pytest.raises(KeyboardInterrupt):
        run_stoppable(h)
    assert h.cancelled


def test_a_stop_cancels_the_lps_running_in_worker_threads():
    """A group's LP (up to half the scenarios) runs in a worker thread, which no signal reaches: the
    stop in the main thread waited for it to finish (about 10 s on a synthetic LP). Now the main
    thread cancels it through HiGHS's user interrupt (a stand-in for HiGHS here, which runs until
    cancelled)."""
    import os
    import signal
    import threading

    from fleetopt.milp.ef_highs import map_stoppable
    from fleetopt.milp.highs import run_stoppable

    class Solver:  # the part of highspy.Highs run_stoppable and the cancellation use
        HandleUserInterrupt = False

        def __init__(self):
            self.cancelled = threading.Event()
            self.stopped_by_cancel = False  # run() returned because cancelSolve came, not at its end

        def run(self):
            assert self.HandleUserInterrupt  # what lets cancelSolve stop a real HiGHS run
            self.stopped_by_cancel = self.cancelled.wait(30.0)

        def cancelSolve(self):
            self.cancelled.set()

    solver = Solver()
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        map_stoppable(1, lambda item, stop: run_stoppable(solver), [0])
    assert solver.stopped_by_cancel  # cancelled while it ran, not waited for and cancelled after


def test_a_stop_while_worker_threads_solve_skips_the_work_not_started():
    """The block solver's parallel LPs run in worker threads, which no signal reaches: a stop in the
    main thread (waiting for them) sets the flag the workers check between LPs, drops the items not
    started and is raised once the running ones end (a SIGTERM waited for every block before)."""
    import threading

    from fleetopt.milp.ef_highs import map_stoppable

    started = []

    def work(item, stop):
        if item == 0:
            raise KeyboardInterrupt  # as the main thread's wait would raise it
        if not stop.is_set():  # as a chain checks between its LPs
            started.append(item)
            threading.Event().wait(0.05)
        return item

    with pytest.raises(KeyboardInterrupt):
        map_stoppable(1, work, range(50))
    assert len(started) <= 1  # at most the one the worker took before the stop: not the other 49
    assert map_stoppable(2, lambda item, stop: item * 2, range(5)) == [0, 2, 4, 6, 8]


def test_a_contract_is_served_from_any_site_split_as_power_allows():
    """A contract names no site (docs/model-format.md, contracts): 1,000 GPUs of SKU A (1 kW, PUE 1)
    against two sites of 0.6 MW each, 600 GPUs apiece. Neither site alone can serve it; the plan
    serves it from both, 1,000 GPUs in every quarter of its term, at most 600 at each."""
    d = base_model()
    d["sites"]["s1"]["power_capacity_mw"] = 0.6
    d["sites"]["s2"] = dict(d["sites"]["s1"])
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 0.0}
    d["contracts"] = {"lab": {"customer": "lab", "use": "training", "eligible_skus": ["A"], "gpus": 1000,
                              "start": "2026Q1", "term_quarters": 4, "price_usd_per_gpu_hour": 2.0,
                              "signed": True}}  # fmt: skip
    served = solve(data_of(d), mip_gap=1e-9).plan.contract_gpus[0, 0]  # (site, quarter)
    np.testing.assert_allclose(served.sum(axis=0), 1000.0)
    assert served.max() <= 600.0 + 1e-6 and served.min() >= 400.0 - 1e-6


@pytest.mark.parametrize(
    ("ratings", "limit", "accepted"),
    [({"ig": "A", "spec": "B"}, 1.0, [1.0, 1.0]), ({"ig": "A", "spec": "B"}, 0.5, [1.0, 1.0]),
     ({"ig": "A", "spec": "B"}, 0.4, [1.0, 0.0]), ({"ig": "A"}, 0.4, [1.0, 0.0]),
     ({"ig": "A", "spec": "BBB"}, 0.4, [1.0, 1.0])],
)  # fmt: skip
def test_a_book_over_its_non_investment_grade_share_declines_a_speculative_contract(ratings, limit, accepted):
    # No market demand: GPUs earn only from contracts. Two offers alike, 10 GPUs each for 4
    # quarters at $1/h: 10 x 4 x 2,190 = 87,600 each against 10 x 4,000 = 40,000 of GPUs, both
    # profitable. With both taken the customer "spec" earns 87,600 / 175,200 = 50 % of the year's
    # contract revenue: within a 50 % limit on customers below investment grade, not within 40 %,
    # where its contract is declined (the other earns 100 % investment grade). Unrated, "spec"
    # counts as below investment grade, as lenders count unrated names; rated BBB it does not.
    d = base_model()
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 0.0}
    common = {"use": "training", "eligible_skus": ["A"], "gpus": 10, "start": "2026Q1", "term_quarters": 4,
              "price_usd_per_gpu_hour": 1.0, "signed": False}  # fmt: skip
    d["contracts"] = {"ig-deal": {"customer": "ig", **common}, "spec-deal": {"customer": "spec", **common}}
    d["limits"] = {"max_non_investment_grade_share_per_year": limit}
    d.setdefault("risk", {})["customer_ratings"] = ratings
    r = run(d)
    assert r.plan.accepted.tolist() == accepted
    assert float(r.statements.lines["revenue_contract_spec-deal_usd"].sum()) == pytest.approx(
        87_600.0 * accepted[1], rel=1e-9
    )


def test_signed_contracts_over_the_non_investment_grade_share_are_diagnosed_naming_the_limit():
    # Both offers of the test above signed, the B-rated customer's 50 % of the year's contract
    # revenue against a 40 % cap: no plan meets it, and the diagnosis names the year's row and the
    # field to edit (or, holding it, the signed contract's deliveries).
    from fleetopt.milp.solve import InfeasibleModel

    d = base_model()
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 0.0}
    common = {"use": "training", "eligible_skus": ["A"], "gpus": 10, "start": "2026Q1", "term_quarters": 4,
              "price_usd_per_gpu_hour": 1.0, "signed": True}  # fmt: skip
    d["contracts"] = {"ig-deal": {"customer": "ig", **common}, "spec-deal": {"customer": "spec", **common}}
    d["limits"] = {"max_non_investment_grade_share_per_year": 0.4}
    d["risk"] = {"customer_ratings": {"ig": "A", "spec": "B"}}
    words = (r"non-investment-grade revenue share per year in 2026Q4: the book in 2026Q1..2026Q4 short by .* "
             r"\(edit limits\.max_non_investment_grade_share_per_year\)")
    with pytest.raises(InfeasibleModel, match=words):
        run(d)

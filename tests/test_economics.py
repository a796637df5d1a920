"""Statement lines of a plan (fleetopt/core/economics/): every line keeps its own name, whatever
the model's facilities, sites and contracts are called.

The instance: 100 installed GPUs rented on the inference market at $1/GPU-hour (2,190 USD a GPU a
quarter: EBITDA 219,000 USD every quarter, nothing else costs money) and one fixed-rate loan of
$4M at 8 % a year (2 % a quarter) repaid over 40 quarters ($100k a quarter), interest on the
balance at the end of the previous quarter:

* interest 80,000, 78,000, 76,000, 74,000 USD; debt service 180,000, 178,000, 176,000, 174,000 USD;
* balance 3.9M, 3.8M, 3.7M, 3.6M USD;
* DSCR 219,000 / 180,000 = 1.2167 in the first quarter, the lowest (later ones are higher); against
  a 1.0x covenant tested from the first quarter, headroom 0.2167.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from milp_builders import base_model, data_of

from fleetopt.core.economics.operating import site_fixed_cost_per_mw
from fleetopt.core.economics.statements import _add_lines, plan_statements
from fleetopt.core.plan import Plan
from fleetopt.core.results.headline import headline
from fleetopt.evaluate.simulate import SimulationConstants
from fleetopt.milp.builder import Coefficients

GPUS = 100.0
DEBT_SERVICE = np.array([180_000.0, 178_000.0, 176_000.0, 174_000.0])
BALANCE = np.array([3.9e6, 3.8e6, 3.7e6, 3.6e6])


def loan_model(facility: str) -> dict:
    d = base_model()
    d["skus"]["A"]["available_from"] = "2025Q1"
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2025Q4", "gpus": int(GPUS), "use": "inference",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["retirement"] = {"resale": False}
    d["finance"]["facilities"] = {
        facility: {"size_usd": 4.0e6, "opening_balance_usd": 4.0e6, "fixed_rate_annual": 0.08,
                   "amortization_quarters": 40, "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_dscr": 1.0}
    return d


def figures(facility: str, model: dict | None = None) -> tuple[dict, dict]:
    """The statement lines and the solve summary's headline of the plan keeping every GPU rented
    (``model``: the loan model changed; None: as it is)."""
    data = data_of(model if model is not None else loan_model(facility))
    plan = Plan.empty(data)
    plan.held_inference[0, :] = GPUS
    plan.active[1, 0, 0, :] = GPUS
    statements = plan_statements(data, plan)
    return statements.lines, headline(data, plan, statements)


@pytest.mark.parametrize("facility", ["service", "loan"])
def test_a_facility_named_service_leaves_the_debt_service_line_alone(facility):
    """`debt_{name}_usd` of a facility named `service` overwrote debt_service_usd with the balance:
    the summary showed DSCR 219,000 / 3.9M = 0.056x and a breach that is not there."""
    lines, figures_ = figures(facility)
    assert np.allclose(lines["debt_service_usd"], DEBT_SERVICE)
    assert np.allclose(lines[f"debt_facility_{facility}_usd"], BALANCE)
    assert figures_["min_dscr"] == pytest.approx(219_000 / 180_000)
    assert figures_["covenant_headroom"]["dscr"] == pytest.approx(219_000 / 180_000 - 1)


def test_the_facility_name_changes_nothing_but_the_name_of_its_line():
    (service_lines, service), (loan_lines, loan) = figures("service"), figures("loan")
    assert service == loan
    renamed = {
        k.replace("debt_facility_service_", "debt_facility_loan_"): v for k, v in service_lines.items()
    }
    assert renamed.keys() == loan_lines.keys()
    assert all(np.array_equal(renamed[k], loan_lines[k]) for k in loan_lines)


def test_a_statement_line_cannot_be_written_twice():
    lines = {"debt_service_usd": np.zeros(4)}
    with pytest.raises(AssertionError, match="debt_service_usd"):
        _add_lines(lines, {"debt_service_usd": np.ones(4)})
    assert not lines["debt_service_usd"].any()


def test_the_npv_with_cash_held_to_the_end_pays_out_the_cash_gained_in_the_last_quarter():
    """The instance above: each quarter's cash grows by EBITDA less debt service, 219,000 - 180,000
    = 39,000, then 41,000, 43,000, 45,000 USD. The NPV counts each as paid out in its quarter; held
    to the end, the 168,000 USD are paid out in the last quarter: the NPV less the timing credit
    sum_t flow_t (DF_t - DF_3) is the terminal part plus DF_3 x 168,000 (at 15 % a year)."""
    d = loan_model("loan")
    d["horizon"]["discount_rate_annual"] = 0.15
    lines, fig = figures("loan", d)
    df = data_of(d).discount
    flows = np.array([39_000.0, 41_000.0, 43_000.0, 45_000.0])
    np.testing.assert_allclose(lines["equity_cash_flow_usd"], flows, rtol=1e-12)
    assert fig["cash_timing_credit_usd"] == pytest.approx(float((flows * (df - df[-1])).sum()), rel=1e-12)
    held = fig["npv_terminal_usd"] + df[-1] * 168_000.0
    assert fig["npv_cash_held_usd"] == pytest.approx(held, rel=1e-12)
    assert fig["cash_timing_credit_usd"] > 0  # cash gained early: the NPV's timing favours it


def test_the_capex_of_a_plan_is_its_purchases_at_their_quarters_prices():
    """tiny's optimum: its GPU capex over the horizon is the GPUs of each block bought times the
    SKU's price per GPU in the quarter bought (data.capex_path), and it builds no power."""
    from fleetopt import api

    result = api.solve("tiny")
    data, plan = result.data, result.plan
    bought = plan.buy_blocks.sum(axis=1) * data.block_size[:, None]  # (S, T) GPUs
    fig = headline(data, plan, result.statements)
    assert fig["capex_gpu_total_usd"] == pytest.approx(float((bought * data.capex_path).sum()), rel=1e-12)
    assert fig["capex_gpu_total_usd"] > 0 and fig["capex_power_total_usd"] == 0.0


def customer_instance(quarters: int = 4) -> tuple:
    """The data and headline of :func:`test_revenue_by_customer_and_the_largest_share_by_hand`'s
    plan over ``quarters``; after the contracts end every GPU is on the market."""
    d = loan_model("loan")
    d["horizon"]["quarters"] = quarters
    d["finance"]["facilities"] = {}
    del d["finance"]["covenants"]
    offer = {"use": "inference", "eligible_skus": ["A"], "start": "2026Q2", "term_quarters": 3,
             "signed": True}  # fmt: skip
    d["contracts"] = {
        "big-1": {**offer, "customer": "big", "gpus": 30, "price_usd_per_gpu_hour": 2.0},
        "big-2": {**offer, "customer": "big", "gpus": 30, "price_usd_per_gpu_hour": 2.0},
        "small-1": {**offer, "customer": "small", "gpus": 20, "price_usd_per_gpu_hour": 3.0},
    }
    d["limits"] = {"max_customer_revenue_share": 0.6}
    d["risk"] = {"customer_ratings": {"big": "AA"}}
    data = data_of(d)
    plan = Plan.empty(data)
    plan.held_inference[0, :] = GPUS
    plan.active[1, 0, 0, :] = GPUS
    for k, gpus in enumerate((30.0, 30.0, 20.0)):
        plan.contract_gpus[k, 0, 0, 1:4] = gpus
    plan.accepted[:] = 1.0
    return data, headline(data, plan, plan_statements(data, plan))


def test_revenue_by_customer_and_the_largest_share_by_hand():
    """The 100 GPUs of the instance (inference), 60 of them from quarter 1 on two contracts of
    customer "big" (30 each, $2/h: 131,400 USD a quarter each) and 20 on one of "small" ($3/h:
    131,400 a quarter); the rest on the market at $1/h. Over the 4 quarters: big 2 x 3 x 131,400 =
    788,400, small 3 x 131,400 = 394,200, the market 4 x 219,000 - 3 x (60 + 20) x 2,190 = 350,400;
    revenue 1,533,000, of which big holds 51.4 %. With a rating for big (AA: its default probability
    a year in the scenarios, from the rating table) and a 60 % limit, as the terminal and the report
    print them. Over 8 quarters the market adds 4 x 219,000: big holds 788,400 / 2,409,000 = 32.7 %
    of the horizon's revenue and still 51.4 % of the first year's."""
    from fleetopt.core.results.customers import customer_words

    data, fig = customer_instance()
    assert fig["revenue_by_customer_usd"] == pytest.approx({"big": 788_400.0, "small": 394_200.0}, rel=1e-12)
    assert list(fig["revenue_by_customer_usd"]) == ["big", "small"]  # largest first
    assert fig["revenue_total_usd"] == pytest.approx(1_533_000.0, rel=1e-12)
    assert fig["largest_customer_revenue_share"] == pytest.approx(788_400.0 / 1_533_000.0, rel=1e-12)
    assert customer_words(data, fig) == "big 51% (AA, 0.14%/yr), small 26%; limit 60% each over the horizon"
    data, fig = customer_instance(8)
    assert fig["largest_customer_revenue_share"] == pytest.approx(788_400.0 / 2_409_000.0, rel=1e-12)
    assert fig["largest_customer_first_year_share"] == pytest.approx(788_400.0 / 1_533_000.0, rel=1e-12)
    assert customer_words(data, fig) == (
        "big 33% (AA, 0.14%/yr), small 16%; in the first year (2026Q1..2026Q4) big 51%; limit 60% each "
        "over the horizon"
    )
    yearly = dataclasses.replace(data, max_customer_share_per_year=0.55)  # and a limit in any year
    assert customer_words(yearly, fig).endswith("limit 60% each over the horizon; limit 55% each in any year")


def test_the_first_year_names_its_own_largest_customer():
    """tiny's optimum: enterprise-b earns most over the horizon (27 %), lab-a in the first year (its
    contract runs then: 33 % of that year's revenue, enterprise-b 16 %); the words name lab-a there,
    and say both customers are unrated, at the model's default hazard (1 % a quarter: 3.9 % a year)."""
    from fleetopt import api
    from fleetopt.core.results.customers import customer_words

    result = api.solve("tiny")
    fig = result.headline()
    assert next(iter(fig["revenue_by_customer_usd"])) == "enterprise-b"
    assert fig["largest_customer_first_year"] == "lab-a"
    assert customer_words(result.data, fig) == (
        "enterprise-b 27% (unrated, 3.9%/yr), lab-a 19% (unrated, 3.9%/yr); in the first year "
        "(2026Q3..2027Q2) lab-a 33%; limit 67% each over the horizon"
    )
    # a stress placing lab-a's default by 2027Q2 (risk.customer_default_quarter) is said beside its odds
    placed = api.edit("tiny", {"risk.customer_default_quarter": {"lab-a": "2027Q2"}})
    assert customer_words(api.load(placed)[1], fig).startswith(
        "enterprise-b 27% (unrated, 3.9%/yr), lab-a 19% (unrated, 3.9%/yr, defaults by 2027Q2 in every "
        "scenario);")


def test_the_liquidity_cover_of_the_next_years_debt_service_by_hand():
    """Cash 10, 20, 30, 40, 50, 60 against debt service 0, 5, 5, 5, 5, 10: quarters 0 and 1 have a
    year after them; 10 / (5 + 5 + 5 + 5) = 0.5 and 20 / (5 + 5 + 5 + 10) = 0.8, so 0.5 in quarter
    0. No debt service: none. tiny's optimum, from its statements: $30.3M at the end of 2026Q3
    against the $51.5M due in the four quarters after it."""
    from fleetopt import api
    from fleetopt.core.results.covenant_words import liquidity_cover
    from fleetopt.core.results.headline import liquidity_cover_words

    cash, service = np.array([10.0, 20, 30, 40, 50, 60]), np.array([0.0, 5, 5, 5, 5, 10])
    assert liquidity_cover(cash, service) == (0.5, 0)
    assert liquidity_cover(cash, np.zeros(6)) == (None, None)
    result = api.solve("tiny")
    lines, fig = result.statements.lines, result.headline()
    expected = lines["cash_usd"][0] / lines["debt_service_usd"][1:5].sum()
    assert fig["min_liquidity_cover"] == pytest.approx(expected, rel=1e-12)
    assert liquidity_cover_words(fig) == f"{expected:.2f}x at the end of 2026Q3"


def test_the_npv_at_other_discount_rates_is_the_npv_formula_at_those_rates():
    """At the model's own rate it is the NPV; at 0 the undiscounted equity flows plus the terminal
    equity; tiny (15 %) prints its NPV at 10 % and 20 % beside -$14.1M."""
    from fleetopt import api
    from fleetopt.core.results.headline import headline
    from fleetopt.core.results.valuation import npv_at_rate

    result = api.solve("tiny")
    data, st = result.data, result.statements
    assert npv_at_rate(data, st, data.discount_rate_annual) == pytest.approx(st.npv_usd, rel=1e-12)
    terminal_equity = st.npv_terminal_usd / data.discount[-1]
    undiscounted = st.lines["equity_cash_flow_usd"].sum() + terminal_equity
    assert npv_at_rate(data, st, 0.0) == pytest.approx(undiscounted, rel=1e-12)
    other = headline(data, result.plan, st)["npv_at_other_rates_usd"]
    assert list(other) == ["10%", "20%"]
    assert other["10%"] == pytest.approx(npv_at_rate(data, st, 0.10), rel=1e-12)
    assert other["10%"] > st.npv_usd > other["20%"]  # its later flows and end value are positive
    assert f"{other['10%'] / 1e6:.1f} {other['20%'] / 1e6:.1f}" == "-9.5 -18.1"  # formulation.md's figures


def test_the_other_rates_are_named_by_the_rates_they_are_at():
    """At a model rate of 12.5 % the other rates are 7.5 % and 17.5 %: named so, not rounded to
    "8%" and "18%" beside NPVs at 7.5 % and 17.5 % (an audit's case)."""
    from dataclasses import replace

    from fleetopt import api
    from fleetopt.core.results.valuation import npv_at_other_rates, npv_at_rate
    from fleetopt.core.units import format_rate

    result = api.solve("tiny")
    data = replace(result.data, discount_rate_annual=0.125)
    other = npv_at_other_rates(data, result.statements)
    assert list(other) == ["7.5%", "17.5%"]
    assert (format_rate(0.125), format_rate(0.15), format_rate(0.0)) == ("12.5%", "15%", "0%")  # the report's
    assert other["7.5%"] == pytest.approx(npv_at_rate(data, result.statements, 0.075), rel=1e-12)


def hand_financing(T: int, rates: np.ndarray, floating: np.ndarray | None = None, **terms):
    """Debt terms by hand (core.economics.debt.Financing) for len(rates) facilities at these quarterly
    rates in every quarter, floating where ``floating`` is 1, without instalments or bullets; no
    cash, no tax, no revolver unless ``terms`` say otherwise."""
    from fleetopt.core.economics.debt import Financing

    F = len(rates)

    def every_quarter(by_facility) -> np.ndarray:
        return np.repeat(np.asarray(by_facility, dtype=float)[:, None], T, axis=1)

    given = dict(opening_cash=0.0, min_cash=0.0, default_cash=0.0, tax_rate=0.0, revolver_limit=0.0,
                 revolver_rate_quarterly=0.0) | terms  # fmt: skip
    return Financing(
        opening_balance=np.zeros(F), rate_quarterly=every_quarter(rates),
        floating=every_quarter(np.zeros(F) if floating is None else floating), refinanced=np.zeros((F, T)),
        opening_principal=np.zeros((F, T)), draw_principal=np.zeros((F, T, T)),
        repaid_at_maturity=np.zeros((F, T), dtype=bool), collateral_weight=np.zeros(F), **given,
    )  # fmt: skip


def test_the_revolver_tops_cash_up_to_the_minimum_not_the_default_level_and_is_repaid_above_it():
    """docs/evaluation.md, quarter step 5: the draw is min(max(min_cash - C, -R), size - R). No debt,
    no tax; opening cash 100, minimum 50, default level 10, a revolver of 80 at 2 % a quarter; EBITDA
    -70, -40, 100, -150.

    * q0: C = 30, draw 20 (to the minimum 50, though 30 is above the default level 10);
    * q1: interest 0.4 on 20, C = 50 - 40 - 0.4 = 9.6, draw 40.4, revolver 60.4;
    * q2: interest 1.208, C = 148.792: all 60.4 repaid, cash 88.392;
    * q3: C = 88.392 - 150 = -61.608: the draw is capped by the size, 80, cash 18.392."""
    from fleetopt.core.economics.statements import roll_forward

    T, none = 4, np.zeros((0, 4))
    fin = hand_financing(T, np.zeros(0), opening_cash=100.0, min_cash=50.0, default_cash=10.0,
                         revolver_limit=80.0, revolver_rate_quarterly=0.02)  # fmt: skip
    zero = np.zeros(T)
    out = roll_forward(fin, np.array([-70.0, -40.0, 100.0, -150.0]), zero, zero, zero, none, none)
    np.testing.assert_allclose(out["revolver_draw_usd"], [20.0, 40.4, -60.4, 80.0], rtol=1e-12)
    np.testing.assert_allclose(out["revolver_balance_usd"], [20.0, 60.4, 0.0, 80.0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["interest_usd"], [0.0, 0.4, 1.208, 0.0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["cash_usd"], [50.0, 50.0, 88.392, 18.392], rtol=1e-12)
    np.testing.assert_allclose(out["debt_usd"], out["revolver_balance_usd"], atol=1e-12)


def test_balances_kept_by_cut_prepayments_bear_their_facility_s_rate_and_its_shift():
    """A floating loan at 2 % a quarter owes 2,000 of its own and 1,000 kept by a cut prepayment; a
    fixed bond at 1 % owes 4,000 and 500 kept. The reference rate up 4 % a year (1 % a quarter):
    the loan's 3,000 bear 3 % (90), the bond's 4,500 stay at 1 % (45): 135. Kept balances charged
    their facility's forecast rate alone made it 125."""
    from fleetopt.core.economics.debt import FinanceState
    from fleetopt.core.economics.quarter_finance import quarter_interest

    fin = hand_financing(2, np.array([0.02, 0.01]), floating=np.array([1.0, 0.0]))
    state = FinanceState(cash=np.zeros(1), balance=np.array([[2000.0, 4000.0]]), revolver=np.zeros(1),
                         kept=np.array([[1000.0, 500.0]]))  # fmt: skip
    interest = quarter_interest(fin, state, 1, np.array([0.04]), 0.0, None)
    assert interest == pytest.approx([135.0], rel=1e-12)
    assert quarter_interest(fin, state, 1, np.array([0.0]), 0.0, None) == pytest.approx([105.0], rel=1e-12)


def test_a_cut_prepayment_keeps_cash_at_the_floor_plus_the_revolver_drawn():
    """docs/evaluation.md, policy rule 2: a planned prepayment is cut so that cash stays at the
    floor (minimum cash plus buffer, here 100) plus the revolver drawn at the start of the quarter
    (30): the revolver is repaid from the same cash. Cash 700, a prepayment of 650 planned of a
    1,000 loan: 50 left, 80 short of 130, so 80 is cut (570 paid, 80 kept outstanding); the revolver's
    30 is then repaid from the 130 (minimum cash 0), and the quarter ends at the floor, 100. A cut to
    the floor alone (50) ended it at 70, below the floor."""
    from fleetopt.core.economics.debt import FinanceState
    from fleetopt.core.economics.quarter_finance import finance_step

    fin = hand_financing(2, np.array([0.0]), revolver_limit=100.0)
    state = FinanceState(cash=np.array([700.0]), balance=np.array([[1000.0]]), revolver=np.array([30.0]))
    zero, none = np.zeros(1), np.zeros((1, 1))
    step = finance_step(fin, state, 0, zero, zero, zero, zero, none, np.array([[650.0]]), none,
                        prepay_floor=np.array([100.0]))  # fmt: skip
    figures = ("prepayment_cut", "prepayment", "revolver_draw", "revolver", "cash", "term_debt")
    got = {name: float(getattr(step, name)[0]) for name in figures}
    want = (80.0, 570.0, -30.0, 0.0, 100.0, 350.0 + 80.0)
    assert got == pytest.approx(dict(zip(figures, want, strict=True)))


def test_the_statements_the_milp_and_the_evaluator_read_one_site_fixed_cost():
    """Two sites, 2 MW at $10,000 and 0.5 MW at $3,000 per MW-quarter: every quarter's site fixed
    cost is 2 x 10,000 + 0.5 x 3,000 = $21,500, GPUs or none; the MILP (in MUSD) and the evaluator
    read the same (I,) figures the statements do."""
    d = base_model()
    d["sites"] = {
        "s1": {"power_capacity_mw": 2.0, "pue": 1.0, "electricity_price_usd_per_mwh": 0.0,
               "fixed_cost_per_mw_quarter_usd": 10000.0},
        "s2": {"power_capacity_mw": 0.5, "pue": 1.0, "electricity_price_usd_per_mwh": 0.0,
               "fixed_cost_per_mw_quarter_usd": 3000.0},
    }  # fmt: skip
    data = data_of(d)
    assert site_fixed_cost_per_mw(data).tolist() == [10000.0, 3000.0]
    assert plan_statements(data, Plan.empty(data)).lines["site_fixed_usd"].tolist() == [21500.0] * data.T
    assert Coefficients.of(data).site_fixed_cost == [0.01, 0.003]
    assert SimulationConstants.from_data(data).fixed_cost_per_mw.tolist() == [10000.0, 3000.0]


def test_a_quarter_s_financing_leaves_the_last_quarter_s_lines_and_its_inputs_as_they_were():
    """finance_step writes some results over temporaries it made (core/arrays.py ``reusing``); the
    arrays it was given, and the lines of the quarter before (which the state still holds), stay as
    they were. A (2, 3) batch with a revolver drawn and repaid and tax losses carried forward."""
    from fleetopt.core.economics.debt import FinanceState
    from fleetopt.core.economics.quarter_finance import finance_step

    fin = hand_financing(2, np.array([0.01]), revolver_limit=80.0, revolver_rate_quarterly=0.02,
                         min_cash=50.0, tax_rate=0.25)  # fmt: skip
    state = FinanceState(cash=np.full((2, 3), 100.0), balance=np.full((2, 1, 1), 1000.0),
                         revolver=np.full((2, 3), 10.0), loss_pool=np.full((2, 3), 5.0))  # fmt: skip
    ebitda = np.array([[-120.0, 0.0, 40.0], [300.0, -90.0, 10.0]])
    given = [ebitda, np.full((2, 1), 3.0), np.zeros((2, 3)), np.full((2, 3), 7.0)]
    none = np.zeros((2, 1, 1))
    first = finance_step(fin, state, 0, *given, none, none, none, np.zeros(3))
    kept = {name: np.copy(value) for name, value in first.lines().items()}
    inputs = [np.copy(x) for x in given]
    finance_step(fin, state, 1, *given, none, none, none, np.zeros(3))
    for name, value in first.lines().items():
        np.testing.assert_array_equal(value, kept[name], err_msg=name)
    for x, copy in zip(given, inputs, strict=True):
        np.testing.assert_array_equal(x, copy)

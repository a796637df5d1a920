"""The `robustness` block: shocks the optimised plan must survive, on hand-checkable instances.

Every instance starts from `milp_builders.base_model()`: one GPU on the market earns 2,190 USD
a quarter ($1/h x 2,190 h), costs $4,000 and is worth nothing after a year. The arithmetic behind
each expected decision is in the test's comment.
"""

from __future__ import annotations

import numpy as np
import pytest
from milp_builders import HOURS, base_model, data_of, late_demand_model, load, sku

from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.results.shocks import shocked_cash
from fleetopt.milp.diagnose import format_diagnosis
from fleetopt.milp.persistent import PersistentPlanner, Stress
from fleetopt.milp.solve import InfeasibleModel, SolveResult, solve
from fleetopt.schema.issues import ModelError


def run(d: dict, **kw) -> SolveResult:
    kw.setdefault("mip_gap", 1e-9)
    return solve(data_of(d), **kw)


def bought(r: SolveResult) -> list[float]:
    return r.plan.buy_blocks.sum(axis=(0, 1)).tolist()


def _cash_bound_instance() -> dict:
    """GPUs on sale in the first quarter only; cash, not demand, limits how many are bought."""
    d = base_model()
    d["skus"]["A"] = sku(available_until="2026Q1")
    d["market"]["demand_gpus"] = {"training": 100.0, "inference": 0.0}
    d["finance"].update(opening_cash_usd=40000.0, tax_rate=0.5)
    return d


def test_price_drop_keeps_a_cash_buffer_net_of_the_tax_it_saves():
    # n GPUs bought in quarter 0. EBITDA 2,190 n, depreciation 1,000 n (a year's life), tax 50 %
    # of 1,190 n = 595 n. Cash after quarter 0: 40,000 - 4,000 n + 2,190 n - 595 n = 40,000 - 2,405 n
    # >= 0  =>  n <= 16.6: 16 GPUs without robustness (each earns 8,760 over the year for 4,000).
    # Market prices 50 % lower: income 1,095 n less, tax 50 % x (1,190 n - 1,095 n) = 47.5 n, so
    # 547.5 n of tax saved and 547.5 n of cash lost: 40,000 - 2,952.5 n >= 0  =>  n <= 13.5: 13.
    # (Without the tax saving it would be 40,000 - 3,500 n >= 0: 11.) Later quarters add cash
    # under the shock too (2,190 n - 595 n - 547.5 n > 0), so quarter 0 binds.
    d = _cash_bound_instance()
    assert bought(run(d)) == [16, 0, 0, 0]
    d["robustness"] = {"market_price_drop": 0.5}
    r = run(d)
    assert bought(r) == [13, 0, 0, 0]
    # the forecast statements are the plan's own: the shock only restricts what is bought
    assert r.statements.lines["cash_usd"][0] == pytest.approx(40000.0 - 2405.0 * 13)
    # recomputed from the statements: 40,000 - 2,952.5 x 13 = 1,617.5 after the shocked quarter 0
    (shocked,) = shocked_cash(r.data, r.plan, r.statements)
    assert shocked["case"] == "market prices -50%"
    assert (shocked["lowest_cash_usd"], shocked["quarter"]) == (pytest.approx(1617.5), "2026Q1")


def test_a_cash_buffer_planned_under_a_price_drop_is_held_under_the_drop_too():
    # The instance above with its minimum cash raised by a planned buffer of 5,000 (a sweep's
    # "planned with cash buffer" candidate). Unshocked: 40,000 - 2,405 n >= 5,000  =>  n <= 14.5;
    # shocked: 40,000 - 2,952.5 n >= 5,000  =>  n <= 11.9: 11 GPUs. The shocked floor was not
    # raised (40,000 - 2,952.5 n >= 0: 13), so the buffer was held only unshocked.
    d = _cash_bound_instance()
    d["robustness"] = {"market_price_drop": 0.5}
    data = data_of(d)
    planner = PersistentPlanner(data, mip_gap=1e-9)
    r = planner.solve_stress(Stress("forecast", min_cash_raise_usd=5000.0))
    assert r.plan.buy_blocks.sum(axis=(0, 1)).tolist() == [11, 0, 0, 0]
    statements = plan_statements(data, r.plan)
    assert statements.lines["cash_usd"].min() == pytest.approx(40000.0 - 2405.0 * 11)
    (shocked,) = shocked_cash(data, r.plan, statements)
    # 40,000 - 2,952.5 x 11 = 7,522.5 >= the floor, 0, plus the buffer
    assert shocked["lowest_cash_usd"] == pytest.approx(7522.5)


def _one_contract_instance(**terms) -> dict:
    """The cash-bound instance, $41,000 of opening cash, no tax, and one contract of acme's: 10
    GPUs of A for training at $2/h from 2026Q1 for 4 quarters (``terms``: signed, prepayment...)."""
    d = _cash_bound_instance()
    d["finance"].update(opening_cash_usd=41000.0, tax_rate=0.0)
    deal = {"customer": "acme", "use": "training", "eligible_skus": ["A"], "gpus": 10}
    deal.update(price_usd_per_gpu_hour=2.0, start="2026Q1", term_quarters=4, **terms)
    d["contracts"] = {"deal": deal}
    return d


def test_losing_any_customer_keeps_the_plan_solvent_without_that_customer():
    # Optional contract: 10 GPUs at $2/h (4,380 a quarter each) for the whole year; market $1/h.
    # Without robustness: accept, and buy n with 41,000 - 4,000 n + 2,190 (n - 10) + 43,800 >= 0
    #   => n <= 34.7: 34 GPUs (every one earns more than it costs).
    # Any customer lost: the contract's 43,800 a quarter is gone, its GPUs idle:
    #   41,000 - 4,000 n + 2,190 (n - 10) >= 0  =>  n <= 10.5: 10, all on the contract.
    #   Declining instead allows 41,000 / 1,810 = 22 market GPUs: 22 x (8,760 - 4,000) = 104,720,
    #   less than accepting with 10: 10 x 4 x 4,380 - 40,000 = 135,200.
    d = _one_contract_instance(signed=False)
    free = run(d)
    assert free.plan.accepted.tolist() == [1.0]
    assert bought(free) == [34, 0, 0, 0]
    d["robustness"] = {"lose_any_customer": True}
    r = run(d)
    assert r.plan.accepted.tolist() == [1.0]
    assert bought(r) == [10, 0, 0, 0]
    assert r.statements.npv_usd == pytest.approx(135200.0)
    # without acme: 41,000 - 4,000 x 10 - 2,190 x 0 = 1,000 after quarter 0, then no income at all;
    # the forecast optimum would run out of cash: 41,000 - 1,810 x 34 - 21,900 < 0
    (shocked,) = shocked_cash(r.data, r.plan, r.statements, r.data.model.robustness)
    assert shocked["case"] == "acme lost"
    assert shocked["lowest_cash_usd"] == pytest.approx(1000.0)
    (unsafe,) = shocked_cash(free.data, free.plan, free.statements, r.data.model.robustness)
    assert unsafe["lowest_cash_usd"] == pytest.approx(41000.0 - 1810.0 * 34 - 21900.0)


def _prepaid_contract_instance() -> dict:
    """The cash-bound instance with a signed contract that prepays half its value: 10 GPUs at $2/h
    from 2026Q1 for 4 quarters, V = 43,800 a quarter, prepayment 0.5 x 4V = 87,600 in 2026Q1 and
    an unwinding of 0.5 V = 21,900 in each quarter of the term: payments (65,700, -21,900 x 3)."""
    return _one_contract_instance(signed=True, prepayment_share=0.5)


def test_a_lost_customer_never_pays_its_prepayment():
    # n GPUs bought in 2026Q1, 10 of them on the contract. Forecast: 41,000 - 4,000 n + 2,190 (n - 10)
    # + 43,800 + 65,700 >= 0  =>  n <= 71.0: 71 GPUs.
    # acme lost: its contract never starts (the evaluator's default in or before the first quarter:
    # no revenue, no prepayment, no unwinding), its GPUs idle: 41,000 - 1,810 n - 21,900 >= 0
    # =>  n <= 10.5: 10, and later quarters add 2,190 (n - 10) = 0. Keeping the prepayment net of
    # its first unwinding (+65,700) would allow 46 GPUs: 84,800 - 1,810 n >= 0.
    d = _prepaid_contract_instance()
    free = run(d)
    assert bought(free) == [71, 0, 0, 0]
    d["robustness"] = {"lose_any_customer": True}
    r = run(d)
    assert bought(r) == [10, 0, 0, 0]
    # forecast cash 41,000 - 40,000 + 43,800 + 65,700 = 110,500, then +21,900 a quarter
    np.testing.assert_allclose(r.statements.lines["cash_usd"], [110500.0, 132400.0, 154300.0, 176200.0])
    # without acme: 110,500 - 43,800 - 65,700 = 1,000, then each quarter loses 43,800 - 21,900 =
    # 21,900 of the 21,900 it gains: 1,000 throughout (the first quarter reported)
    (shocked,) = shocked_cash(r.data, r.plan, r.statements)
    assert (shocked["case"], shocked["quarter"]) == ("acme lost", "2026Q1")
    assert shocked["lowest_cash_usd"] == pytest.approx(1000.0)
    (unsafe,) = shocked_cash(free.data, free.plan, free.statements, r.data.model.robustness)
    assert unsafe["lowest_cash_usd"] == pytest.approx(41000.0 - 1810.0 * 71 - 21900.0)


@pytest.mark.filterwarnings("ignore:.*quarters fall after the horizon ends")  # a contract past its horizon
def test_the_lost_customer_stress_is_its_worst_default_date():
    # 100 installed GPUs (fully depreciated), 50 on the market at 5,000 a quarter, 50 on a signed
    # contract of V = 10,000 a quarter for 6 quarters prepaying half: 30,000 in 2026Q1, unwinding
    # 5,000 a quarter. Overhead 12,000: EBITDA 3,000 a quarter, tax 25 % = 750. Forecast cash
    # 100,000 + 3,000 - 750 + 25,000 = 127,250, then -2,750 a quarter: 124,500, 121,750, 119,000.
    # Never started (the stress): EBITDA -7,000, no tax (the loss is carried forward), no payments:
    # 127,250 - 10,000 + 750 - 25,000 = 93,000, then -7,000 a quarter: 86,000, 79,000, 72,000.
    # A default in quarter t_d > 0 (evaluator: the prepayment kept, the unwinding stops) changes
    # cash by -7,000 a quarter from t_d instead of -2,750: 2026Q4 ends at 106,250 (t_d = 1), 110,500
    # (2) or 114,750 (3), all above 72,000 in every quarter: the stress is the worst date.
    d = base_model()
    d["skus"]["A"] = sku(available_from="2019Q1", available_until="2025Q4", useful_life_years=2.0)
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2020Q1", "gpus": 100, "use": "training",
                   "capex_per_gpu_usd": 1000.0}]  # fmt: skip
    d["market"]["demand_gpus"] = {"training": 50.0, "inference": 0.0}
    d["market"]["price_usd_per_gpu_hour"] = {"training": {"all": 100.0 / HOURS}, "inference": {"all": 0.0}}
    d["finance"].update(opening_cash_usd=100000.0, overhead_usd_per_quarter=12000.0, tax_rate=0.25,
                        tax_loss_carry_forward=True)  # fmt: skip
    d["contracts"] = {"k": {"customer": "cust", "use": "training", "eligible_skus": ["A"], "gpus": 50,
                            "start": "2026Q1", "term_quarters": 6, "price_usd_per_gpu_hour": 200.0 / HOURS,
                            "prepayment_share": 0.5, "signed": True}}  # fmt: skip
    d["robustness"] = {"lose_any_customer": True}
    r = run(d)
    np.testing.assert_allclose(r.statements.lines["cash_usd"], [127250.0, 124500.0, 121750.0, 119000.0])
    (shocked,) = shocked_cash(r.data, r.plan, r.statements)
    assert (shocked["lowest_cash_usd"], shocked["quarter"]) == (pytest.approx(72000.0), "2026Q4")
    # the MILP holds the same figure: a cash floor $1,000 above it cannot be kept under the stress
    d["finance"]["min_cash_usd"] = 73000.0
    with pytest.raises(InfeasibleModel) as err:
        run(d)
    (group,) = err.value.diagnosis
    assert group["group"] == "robustness" and group["total"] == pytest.approx(1000.0)
    d["finance"]["min_cash_usd"] = 71000.0
    assert run(d).plan is not None


def test_power_delay_starts_the_block_early_enough_to_be_late():
    # 8 quarters, no power online, 720 GPUs of demand from quarter 5 (0.9 MW at PUE 1.25), one
    # 1 MW block with a lead time of 2. On time it starts in 3 (see test_milp_mechanisms). Planned
    # as if every block were one quarter late, the GPUs bought in 5 need it started by 2: a quarter
    # of capex interest, fixed cost and depreciation (~60k) is far less than quarter 5's margin
    # (720 x (2,190 - 1,000) ~ 0.86M) that buying in 6 would lose.
    d = late_demand_model()
    d["robustness"] = {"power_delay_quarters": 1}
    r = run(d)
    assert r.plan.build_blocks[0].tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    assert bought(r) == [0, 0, 0, 0, 0, 720, 0, 0]
    # the forecast itself has the block online from quarter 4
    assert r.statements.lines["mw_available_s1"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_shocked_covenants_hold_or_are_named_by_the_diagnosis():
    # An installed fleet of 100 GPUs earns 219,000 a quarter; a loan of 400,000 repaid over 4
    # quarters costs 100,000 a quarter of debt service: DSCR 2.19 >= 1.5 on the forecast.
    # Market prices 40 % lower: EBITDA 131,400, DSCR 1.31 < 1.5, and no GPU is on sale to earn
    # more, so the plan cannot survive the shock: the diagnosis names the robustness DSCR test.
    # With `covenants: false` only cash is tested under the shock, and 40,000 of opening cash
    # + 131,400 - 100,000 a quarter is enough.
    d = base_model()
    d["skus"]["A"] = sku(available_from="2025Q1", available_until="2025Q4")
    d["fleet"] = [
        {
            "sku": "A",
            "site": "s1",
            "purchased": "2026Q1",
            "gpus": 100,
            "use": "training",
            "capex_per_gpu_usd": 4000.0,
        }
    ]
    d["finance"].update(opening_cash_usd=40000.0)
    d["finance"]["facilities"] = {
        "loan": {
            "size_usd": 400000.0,
            "opening_balance_usd": 400000.0,
            "fixed_rate_annual": 0.0,
            "amortization_quarters": 4,
            "draw_from": "2026Q1",
            "draw_until": "2026Q1",
        }
    }
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_dscr": 1.5}
    assert run(d).plan is not None
    d["robustness"] = {"market_price_drop": 0.4}
    with pytest.raises(InfeasibleModel) as err:
        run(d)
    groups = {g["group"]: g for g in err.value.diagnosis}
    assert set(groups) == {"robustness"}
    # 1.5 x 100,000 of debt service asks 150,000 of EBITDA a quarter: 18,600 short of 131,400
    short = {f"2026Q{q} (EBITDA / debt service)": pytest.approx(18_600.0) for q in range(1, 5)}
    assert dict(groups["robustness"]["items"]) == short
    # its field is the requirement's, and robustness.covenants, which lets the shocked DSCR go
    assert groups["robustness"]["note"] == "edit robustness.market_price_drop or robustness.covenants"
    line = format_diagnosis(err.value.diagnosis)[0]
    # what the amount is of, as an unshocked covenant's (it said "2026Q1 (EBITDA / debt service) short by")
    assert line.startswith("cash and covenants under the robustness shocks in 2026Q1..2026Q4: EBITDA below "
                           "1.5x debt service by $18.6k in 2026Q1 (EBITDA / debt service), $18.6k in "
                           "2026Q2 (EBITDA / debt service), "), line
    d["robustness"]["covenants"] = False
    r = run(d)
    assert r.plan is not None


def test_robustness_block_needs_a_shock():
    d = base_model()
    d["robustness"] = {"covenants": True}
    with pytest.raises(ModelError) as err:
        load(d)
    assert "robustness" in str(err.value)
    assert "market_price_drop" in str(err.value)


def test_models_without_robustness_build_no_shock_components():
    from fleetopt.milp.build import build_model

    m = build_model(data_of(base_model()))
    assert not hasattr(m, "stress_cash") and not hasattr(m, "late_power")
    d = base_model()
    d["robustness"] = {"market_price_drop": 0.2, "power_delay_quarters": 1}
    m = build_model(data_of(d))
    assert hasattr(m, "stress_cash")
    assert np.isclose(m.stress_price_drop.value, 0.2)


def test_an_impossible_requirement_is_named_not_the_deliveries_it_would_spare():
    # tiny cannot survive losing its signed anchor customer lab-a from the start. Giving up
    # deliveries or cash would also "explain" the infeasibility; the diagnosis must name the
    # robustness requirement, the only thing added to a feasible model.
    from fleetopt import api
    from fleetopt.core.data import build_data
    from fleetopt.schema.risk import Robustness

    _, data = api.load("tiny")
    shocked = build_data(data.model.model_copy(update={"robustness": Robustness(lose_any_customer=True)}))
    with pytest.raises(InfeasibleModel) as err:
        solve(shocked)
    groups = {g["group"]: g for g in err.value.diagnosis}
    assert set(groups) == {"robustness"}
    assert any("lab-a lost" in label for label, _ in groups["robustness"]["items"])


def test_losing_any_customer_without_contracts_adds_nothing():
    from fleetopt.milp.build import build_model

    d = base_model()
    d["robustness"] = {"lose_any_customer": True}
    r = run(d)
    assert shocked_cash(r.data, r.plan, r.statements) == []
    assert not hasattr(build_model(r.data), "stress_cash")


def _lab_with_a_customer(opening_cash: float) -> dict:
    """A lab's cost plan: 10 GPUs of its own training demand and a signed contract of customer c's,
    5 GPUs of inference at $1/h for the year from 2026Q1; surviving the loss of any customer."""
    d = base_model()
    d["market"]["demand_gpus"] = {"training": 10.0, "inference": 0.0}
    d["finance"]["opening_cash_usd"] = opening_cash
    deal = {"customer": "c", "use": "inference", "eligible_skus": ["A"], "gpus": 5}
    d["contracts"] = {"deal": {**deal, "price_usd_per_gpu_hour": 1.0, "start": "2026Q1", "term_quarters": 4,
                               "signed": True}}  # fmt: skip
    d["robustness"] = {"lose_any_customer": True}
    return d


@pytest.mark.parametrize("opening_cash", [60_000.0, 59_000.0])
def test_a_lab_must_survive_a_lost_customer_on_its_real_cash(opening_cash):
    # The cost objective meets the demand and the signed contract: 15 GPUs in 2026Q1 for 60,000. Real
    # cash (cash less the market revenue to date, the lab's own use that no one pays) is the opening
    # cash - 60,000 + 5 x 2,190 = opening - 49,050 after 2026Q1, then +10,950 a quarter (the contract).
    # c lost: its 10,950 a quarter never comes, so real cash is opening - 60,000 in every quarter:
    # 0 from 60,000 (the budget floor of 0 holds exactly), -1,000 from 59,000: no plan (the 15 GPUs
    # are needed in 2026Q1), and the diagnosis names the requirement, $1,000 short in every quarter.
    # Counting the imputed 10 x 2,190 a quarter as cash (before), 59,000 solved and printed a shocked
    # lowest cash of 20,900.
    d = _lab_with_a_customer(opening_cash)
    if opening_cash == 59_000.0:
        with pytest.raises(InfeasibleModel) as err:
            run(d, objective="cost")
        (group,) = err.value.diagnosis
        assert group["group"] == "robustness"
        short = {f"2026Q{q} (budget with c lost)": pytest.approx(1000.0) for q in range(1, 5)}
        assert dict(group["items"]) == short
        return
    r = run(d, objective="cost")
    assert bought(r) == [15, 0, 0, 0]
    (shocked,) = r.headline()["shocked"]
    assert (shocked["case"], shocked["lowest_cash_usd"]) == ("c lost", pytest.approx(0.0, abs=1e-6))
    # the NPV's reading of the same plan keeps the imputed revenue: 60,000 - 60,000 + 21,900 after 2026Q1
    (npv_reading,) = shocked_cash(r.data, r.plan, r.statements)
    assert npv_reading["lowest_cash_usd"] == pytest.approx(21_900.0)



@pytest.mark.parametrize("floor", [21_000.0, 22_000.0])
def test_a_labs_liquidity_covenant_reads_the_shocked_cash_as_the_statements_do(floor):
    # The lab above with $60,000 and a liquidity covenant from 2026Q1. The covenant reads the
    # statements' cash, imputed revenue in it (§5.11), and so does its shocked row: with c lost
    # 60,000 - 60,000 + 10 x 2,190 = 21,900 after 2026Q1, so a $21,000 floor holds (the budget, on
    # real cash, holds at 0 as before) and a $22,000 one is $100 short. Holding the covenant on real
    # cash, 0, would refuse both.
    d = _lab_with_a_customer(60_000.0)
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_liquidity_usd": floor}
    if floor == 22_000.0:
        with pytest.raises(InfeasibleModel) as err:
            run(d, objective="cost")
        (group,) = err.value.diagnosis
        assert dict(group["items"]) == {"2026Q1 (liquidity with c lost)": pytest.approx(100.0)}
        return
    assert bought(run(d, objective="cost")) == [15, 0, 0, 0]


@pytest.mark.parametrize(("opening_cash", "floor", "status"),
                         [(61_000.0, None, "optimal"), (60_000.0, None, "infeasible"),
                          (61_000.0, 22_000.0, "infeasible")])  # fmt: skip
def test_a_lab_s_planned_cash_buffer_raises_both_shocked_floors(opening_cash, floor, status):
    # The lab above with a cash buffer of 1,000 planned (min_cash_raise). With c lost its real cash
    # is opening - 60,000 every quarter: 1,000 from 61,000 holds the raised budget exactly; 0 from
    # 60,000 is 1,000 short (unshocked, 60,000 - 49,050 = 10,950 holds it). The covenant's shocked
    # row reads 61,000 - 60,000 + 21,900 = 22,900, short of a 22,000 floor plus the 1,000. Neither
    # shocked floor was raised before: all three solved.
    d = _lab_with_a_customer(opening_cash)
    if floor is not None:
        d["finance"]["covenants"] = {"test_from": "2026Q1", "min_liquidity_usd": floor}
    planner = PersistentPlanner(data_of(d), objective="cost", mip_gap=1e-9)
    r = planner.solve_stress(Stress("forecast", min_cash_raise_usd=1000.0))
    assert r.status == status
    if status == "optimal":
        assert r.plan.buy_blocks.sum(axis=(0, 1)).tolist() == [15, 0, 0, 0]


def test_a_market_price_drop_costs_a_lab_no_real_cash():
    # The cost instance of test_milp_mechanisms (10, 21, 21, 21 H100-equivalent of training demand,
    # 2x-throughput GPUs, 43,250 of opening cash: real cash 23,250 after 2026Q1, then 0). Its market
    # revenue values the lab's own use, so prices 50 % lower change no cash (no tax here): the
    # shocked real cash is the plan's, lowest 0; the plan is the one without the shock. Before, the
    # figure kept half the imputed revenue, 10,950 + 22,995 = 33,945 by 2026Q2, as cash: 16,972.50.
    d = base_model()
    d["skus"]["A"] = sku(training_throughput=2.0, inference_throughput=2.0)
    d["market"]["demand_gpus"] = {"training": [10.0, 21.0, 21.0, 21.0], "inference": 0.0}
    d["finance"]["opening_cash_usd"] = 43_250.0
    d["robustness"] = {"market_price_drop": 0.5}
    r = run(d, objective="cost")
    assert bought(r) == [5, 6, 0, 0]
    (shocked,) = r.headline()["shocked"]
    assert shocked["case"] == "market prices -50%"
    assert shocked["lowest_cash_usd"] == pytest.approx(0.0, abs=1e-6)


def test_a_cost_solve_prints_and_writes_the_shocked_real_cash(tmp_path, monkeypatch):
    # The lab of the test above with $60,000: `fleetopt solve --objective cost` prints the lowest
    # shocked cash as the budget row holds it, $0 in 2026Q1 with c lost, under the real cash's own
    # label, and summary.json keeps the same figure (it printed "$21.9k", imputed revenue in it).
    import json

    from conftest import run_cli

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    model = tmp_path / "lab.yaml"
    model.write_text(load(_lab_with_a_customer(60_000.0)).text)
    out_dir = str(tmp_path / "r")
    code, out, err = run_cli("solve", str(model), "--objective", "cost", "--mip-gap", "0", "--out", out_dir)
    assert code == 0, err
    said = " ".join(out.replace("│", " ").split())  # the table wraps the label over two lines
    assert "$0 in 2026Q1 (c lost)" in said and "no one pays it) under robustness shocks" in said
    assert "lowest cash under robustness shocks" not in said
    (shocked,) = json.loads((tmp_path / "r" / "summary.json").read_text())["shocked"]
    assert shocked["lowest_cash_usd"] == pytest.approx(0.0, abs=1e-6)


def test_a_price_drop_the_user_gave_is_written_as_given(tmp_path, monkeypatch):
    # robustness.market_price_drop 0.125 was printed "(market prices -12%)" beside the lowest shocked
    # cash: a 12 % drop the user never asked for. The terminal, summary.json and the report write 12.5%.
    import json

    from conftest import run_cli

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    out_dir = tmp_path / "r"
    drop = "robustness.market_price_drop=0.125"
    code, out, err = run_cli("solve", "tiny", "--set", drop, "--out", str(out_dir))
    assert code == 0, err
    assert "(market prices -12.5%)" in out
    (shocked,) = json.loads((out_dir / "summary.json").read_text())["shocked"]
    assert shocked["case"] == "market prices -12.5%"

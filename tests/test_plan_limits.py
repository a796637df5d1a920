"""What held a solved plan back (core/results/plan_limits.py): the limits a plan reaches on the
forecast, worked by hand on tests/milp_builders.py's model: one SKU A at $4,000 a GPU (1-GPU blocks,
1 kW, throughput 1), earning 2,190 USD a quarter on the market, worth nothing after a year; a
four-quarter horizon from 2026Q1 at no discount, $1bn of cash, no debt unless a test adds it."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import run_cli, squashed
from milp_builders import base_model, data_of, sku

from fleetopt.core.results.plan_limits import (
    NOTHING_BINDS,
    PLAN_LIMITS_KEY,
    PLAN_LIMITS_LABEL,
    plan_limits,
    quarter_spans,
)
from fleetopt.milp.solve import solve

pytestmark = pytest.mark.filterwarnings("ignore:.*money is in USD")


def _limits(d: dict) -> dict[str, str]:
    data = data_of(d)
    result = solve(data)
    return {entry["limit"]: entry["words"] for entry in plan_limits(data, result.plan, result.statements)}


def _demand_of_1000() -> dict:
    d = base_model()
    d["market"]["demand_gpus"] = {"training": 1000.0, "inference": 0.0}
    return d


def test_a_cheap_gpu_serves_all_market_demand_and_the_row_says_so():
    """A GPU bought in 2026Q1 earns 4 x 2,190 = 8,760 USD for its 4,000: the plan buys 1,000, the
    whole demand of 1,000 GPU-quarters a quarter (1 MW of the site's 1,000), in every quarter."""
    limits = _limits(_demand_of_1000())
    assert limits == {"market demand": "market demand served (H100-equivalent GPU-quarters, both uses): "
                                       "100.0% in 2026Q1..2026Q4; all of it: training 2026Q1..2026Q4"}


def test_a_site_of_half_a_megawatt_holds_the_plan_to_half_the_demand():
    """0.5 MW at 1 kW a GPU (PUE 1) powers 500 GPUs: half the demand, the site's power in use in
    every quarter, and no quarter serves all of it."""
    d = _demand_of_1000()
    d["sites"]["s1"]["power_capacity_mw"] = 0.5
    limits = _limits(d)
    assert limits["market demand"].endswith("50.0% in 2026Q1..2026Q4; never all of it in a quarter")
    assert limits["power at s1"] == ("power at s1: all its MW online in use (up to 0.5 MW, blocks built "
                                     "included) in 2026Q1..2026Q4")
    assert len(limits) == 2


def test_a_gpu_that_earns_less_than_it_costs_is_not_bought_and_no_limit_is_blamed():
    """At $9,000 a GPU earns 8,760 in the horizon and is worth nothing at its end: none is bought, and
    no limit binds; the row says another GPU would lower the NPV."""
    d = _demand_of_1000()
    d["skus"]["A"]["capex_per_gpu_usd"] = 9000.0
    limits = _limits(d)
    assert limits["market demand"].endswith("0.0% in 2026Q1..2026Q4; never all of it in a quarter")
    assert limits["nothing"] == NOTHING_BINDS["npv"]
    assert "another GPU would lower the NPV" in NOTHING_BINDS["npv"]


def _loan_instance(loan: dict) -> dict:
    """SKU A on sale in 2026Q1 only, demand 10, $10,000 of cash, a 21 % tax, and a loan at 8 % a year
    drawable in 2026Q1, repaid over the next four quarters; discounted at 10 % a year (2.4 % a
    quarter), dearer than the loan's 2 %: the plan borrows all it may. 2026Q1's cash: 10,000 +
    2,190 n - 0.21 x 1,190 n (tax) - 4,000 n + d >= 0, so d >= 2,059.9 n - 10,000."""
    d = base_model()
    d["horizon"]["discount_rate_annual"] = 0.10
    d["skus"]["A"] = sku(available_until="2026Q1")
    d["market"]["demand_gpus"] = {"training": 10.0, "inference": 0.0}
    d["finance"].update(opening_cash_usd=10_000.0, tax_rate=0.21)
    terms = {"fixed_rate_annual": 0.08, "amortization_quarters": 4}
    terms.update(draw_from="2026Q1", draw_until="2026Q1")
    d["finance"]["facilities"] = {"loan": {**terms, **loan}}
    return d


def test_a_borrowing_base_met_with_no_room_is_named_with_its_quarters():
    """Lending 15 % of the GPUs' resale value: d <= 600 n, so n <= 10,000 / 1,459.9 = 6.85, n = 6,
    d = 3,600, cash 1,240.60 (less than a $4,000 GPU). The balance falls by 900 a quarter as the six
    GPUs' value falls by 6,000 (15 %: 900): the base is met with no room in all four quarters."""
    limits = _limits(_loan_instance({"size_usd": 1e6, "max_ltv": 0.15}))
    assert limits["borrowing base"] == ("borrowing base: GPU-secured debt / max LTV <= GPU resale value: met "
                                        "with no room in 2026Q1..2026Q4")  # fmt: skip
    assert limits["cash floor"] == ("cash within a block's price of its $0 floor (finance.min_cash_usd), no "
                                    "cash for another block, in 2026Q1")  # fmt: skip
    assert "in 2026Q2..2026Q4" in limits["no facility can draw"]  # outside its window
    assert limits["market demand"].endswith("60.0% in 2026Q1..2026Q4; never all of it in a quarter")


def test_a_facility_drawn_to_its_size_is_named():
    """A $2,000 loan: 2,059.9 n - 10,000 <= 2,000 gives n = 5, drawn whole in 2026Q1 (cash 1,700.50)."""
    limits = _limits(_loan_instance({"size_usd": 2000.0}))
    assert limits["facility loan"] == "debt: loan drawn to its $2.0k size in 2026Q1"
    assert limits["no facility can draw"].endswith("in 2026Q1..2026Q4")
    assert limits["market demand"].endswith("50.0% in 2026Q1..2026Q4; never all of it in a quarter")


def test_a_plan_that_borrows_nothing_with_cash_to_spare_is_not_said_to_be_held_back_by_debt():
    """A loan at 20 % a year, dearer than the 10 % the NPV discounts at, and $1M of cash: the plan buys
    the 10 GPUs of demand ($40,000) with its own cash and owes nothing. That no facility lends from
    2026Q2 held nothing back (lab's cost plan, without debt, was told "debt: no facility can draw more")."""
    d = _loan_instance({"size_usd": 1e6, "fixed_rate_annual": 0.20})
    d["finance"]["opening_cash_usd"] = 1e6
    limits = _limits(d)
    assert "no facility can draw" not in limits and "cash floor" not in limits
    assert limits["market demand"].endswith("100.0% in 2026Q1..2026Q4; all of it: training 2026Q1..2026Q4")


def test_quarters_are_written_as_ranges():
    labels = ["2026Q1", "2026Q2", "2026Q3", "2026Q4", "2027Q1"]
    assert quarter_spans(labels, [True, True, False, True, False]) == "2026Q1..2026Q2, 2026Q4"
    assert quarter_spans(labels, [False] * 5) == ""


def test_the_solve_says_what_held_the_plan_back_in_the_terminal_summary_json_and_report(tmp_path):
    """`fleetopt solve` prints the row, summary.json keeps each limit with its quarters, and the
    solve's report lists them under their heading."""
    d = _demand_of_1000()
    d["sites"]["s1"]["power_capacity_mw"] = 0.5
    model = tmp_path / "half-mw.yaml"
    model.write_text(yaml.safe_dump(d, sort_keys=False))
    code, out, err = run_cli("solve", str(model), "--out", str(tmp_path / "run"), "--report")
    assert code == 0, out + err
    said = squashed(out)
    assert squashed(PLAN_LIMITS_LABEL) in said
    assert squashed("power at s1: all its MW online in use (up to 0.5 MW, blocks built included) in "
                    "2026Q1..2026Q4") in said
    written = json.loads((tmp_path / "run" / "summary.json").read_text())[PLAN_LIMITS_KEY]
    power = next(entry for entry in written if entry["limit"] == "power at s1")
    assert power["quarters"] == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"] and power["binding"]
    assert written[0]["served_share_by_year"] == {"2026Q1..2026Q4": pytest.approx(0.5)}
    page = (tmp_path / "run" / "report.html").read_text()
    # the report's list: the limit's subject its term, the rest its text
    assert "What held the plan back" in page and "<dt>power at s1</dt><dd>all its MW online in use" in page

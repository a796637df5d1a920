"""The infeasibility diagnosis (docs/formulation.md §8) names the cause of each broken model, the
numbers worked out by hand, and the model field a user edits to fix it.

Every model is `milp_builders.base_model()` (one site of ample power, SKU A: hopper, 1-GPU blocks,
$4,000 and 1 kW a GPU, $1/GPU-hour markets, $1bn of cash, four quarters from 2026Q1) with one
thing broken."""

from __future__ import annotations

from types import SimpleNamespace

import pyomo.environ as pyo
import pytest
from milp_builders import base_model, data_of, late_demand_model

from fleetopt.milp.build import SLACKS, build_model
from fleetopt.milp.completion import slack_words
from fleetopt.milp.diagnose import (
    DIAGNOSED,
    CompletionProbe,
    Diagnosis,
    _group_entry,
    broken_words,
    diagnose,
    fields_to_edit,
    format_diagnosis,
)


def contract(gpus: int, start: str, quarters: int, price: float = 1.0) -> dict:
    return {"customer": "c1", "use": "training", "eligible_skus": ["A"], "gpus": gpus, "start": start,
            "term_quarters": quarters, "price_usd_per_gpu_hour": price, "signed": True}  # fmt: skip


def power_short():
    """A signed contract for 1,000 GPUs (1 MW) in 2026Q2 at a 0.1 MW site: power short by 0.9 MW."""
    d = base_model()
    d["sites"]["s1"]["power_capacity_mw"] = 0.1
    d["contracts"] = {"big": contract(1000, "2026Q2", 1)}
    return data_of(d)


def test_a_site_short_of_power_is_sent_to_its_expansion_block_or_told_to_add_one():
    """power_short's site s1 has no expansion block: "edit ... or sites.s1.expansion" sent a planner
    to a block the file did not have; late_demand_model's s1 has one (1 MW blocks) to edit."""
    assert fields_to_edit(power_short(), "power", [(0, 1)]) == (
        "sites.s1.power_capacity_mw or add sites.s1.expansion")
    assert fields_to_edit(data_of(late_demand_model()), "power", [(0, 1)]) == (
        "sites.s1.power_capacity_mw or sites.s1.expansion")


def test_a_borrowing_base_short_names_the_opening_balance_of_a_loan_that_has_one():
    """An analyst's term loan opened at $400M on an installed fleet worth $267M at resale: the
    diagnosis said "edit finance.facilities.gpu-term-loan.max_ltv", which no LTV up to 1 mends; the
    balance it opens with is named too, and only for a facility that has one."""
    d = base_model()
    loan = {"spread_over_reference_annual": 0.05, "max_ltv": 0.7, "amortization_quarters": 8,
            "draw_from": "2026Q1", "draw_until": "2026Q2"}  # fmt: skip
    d["finance"]["facilities"] = {"term": {**loan, "size_usd": 4.0e6, "opening_balance_usd": 4.0e6},
                                  "ddtl": {**loan, "size_usd": 4.0e6}}  # fmt: skip
    assert fields_to_edit(data_of(d), "borrowing_base", [(0,)]) == (
        "finance.facilities.term.max_ltv or finance.facilities.term.opening_balance_usd or "
        "finance.facilities.ddtl.max_ltv")


def test_a_contract_beyond_the_supplier_allocation_names_the_allocation():
    """100 hopper GPUs a quarter allocable; a signed contract for 500 from 2026Q3, two quarters.
    By 2026Q3 300 can be bought (2026Q1..2026Q3): the allocation is short by 200 GPUs there, and
    held, the contract is short by 200 GPUs in 2026Q3 and 100 in 2026Q4 (400 bought by then). Before,
    the allocation was never relaxed: the diagnosis named the contract alone, never why."""
    d = base_model()
    d["limits"] = {"new_gpus_per_quarter": {"hopper": 100}}
    d["contracts"] = {"big": contract(500, "2026Q3", 2)}
    found = diagnose(data_of(d))
    (entry,) = found
    assert entry["group"] == "allocation" and entry["quarters"] == ["2026Q3"]
    assert entry["items"] == [("hopper GPUs (A) in 2026Q3 (100 allocable)", pytest.approx(200.0))]
    assert "hopper GPUs needed by 2026Q3: 500, allocable 2026Q1..2026Q3: 300" in entry["note"]
    assert entry["note"].endswith("edit limits.new_gpus_per_quarter.hopper")
    (instead,) = found.otherwise
    assert instead["group"] == "contract_delivery"
    assert [amount for _, amount in instead["items"]] == pytest.approx([200.0, 100.0])
    said = "supplier allocation in 2026Q3: hopper GPUs (A) in 2026Q3 (100 allocable) short by 200 GPUs"
    assert format_diagnosis(found)[0].startswith(said)


def test_gpu_shortfalls_are_written_in_whole_gpus_rounded_up():
    """A dropped sweep candidate read "short by 61,440.0 GPUs", and an infeasible tiny "short by
    16,890.1 GPUs": a shortfall is written in whole GPUs, rounded up (the GPUs still to find), so that
    a part of a GPU (a relaxation's) never reads as less than it is: 584.4 is 585 GPUs, 0.04 is 1 GPU,
    not 0; the solver's round-off above a whole count (61,440.0000001) is not a GPU more."""
    found = [{"group": "contract_delivery", "unit": "GPUs", "quarters": ["2027Q1", "2029Q1"],
              "items": [("contract a in 2029Q1", 61_440.0000001), ("contract b in 2027Q1", 584.4),
                        ("contract c in 2028Q1", 0.04)]}]  # fmt: skip
    assert format_diagnosis(found) == ["contract delivery in 2027Q1..2029Q1: contract a in 2029Q1 short by "
                                       "61,440 GPUs, contract b in 2027Q1 short by 585 GPUs, contract c "
                                       "in 2028Q1 short by 1 GPU"]  # fmt: skip
    demand = {"group": "demand_floor", "unit": "H100-eq. GPUs", "quarters": ["2027Q1"],
              "items": [("training in 2027Q1", 9_982.6)]}  # fmt: skip
    said = broken_words([demand])
    assert said.endswith("training in 2027Q1 short by 9,983 H100-eq. GPUs"), said


def test_a_contract_beyond_the_power_names_the_site_and_its_fields():
    """A signed contract for 1,000 GPUs (1 MW) in 2026Q2 at a 0.1 MW site: power short by 0.9 MW
    (weight 0.9, against 1.8 for 900 GPUs short); held, the contract is short by 900 GPUs."""
    found = diagnose(power_short())
    (entry,) = found
    assert entry["group"] == "power" and entry["items"] == [("site s1 in 2026Q2", pytest.approx(0.9))]
    assert entry["note"] == "edit sites.s1.power_capacity_mw or add sites.s1.expansion"
    (instead,) = found.otherwise
    assert instead["items"] == [("contract big in 2026Q2", pytest.approx(900.0))]
    assert instead["note"] == "edit contracts.big.gpus or contracts.big.delivery_deadline"


def test_cash_short_of_the_overhead_names_the_cash_floor():
    """$1M of cash, $2M of overhead a quarter and markets that pay nothing: cash falls to -1, -3,
    -5 and -7 $M against a floor of 0, whatever the plan does."""
    d = base_model()
    d["market"]["price_usd_per_gpu_hour"] = {"training": {"all": 0.0}, "inference": {"all": 0.0}}
    d["finance"].update(opening_cash_usd=1.0e6, overhead_usd_per_quarter=2.0e6)
    (entry,) = diagnose(data_of(d))
    assert entry["group"] == "min_cash"
    assert sorted(amount for _, amount in entry["items"]) == pytest.approx([1e6, 3e6, 5e6, 7e6])
    assert entry["note"] == "edit finance.min_cash_usd or finance.opening_cash_usd"
    said = ("minimum cash in 2026Q1..2026Q4: 2026Q4 short by $7.0M, 2026Q3 short by $5.0M, 2026Q2 short "
            "by $3.0M ... (edit finance.min_cash_usd or finance.opening_cash_usd)")
    assert format_diagnosis([entry]) == [said]


def test_a_customer_over_its_share_names_the_limit():
    """One customer's contract is all the revenue (the market pays nothing), its share limited to
    0.5: 10 GPUs at $0.01/h earn 219 USD a quarter, 876 over the year, 438 above half of it (and
    cheaper to relax than 40 GPU-quarters of the contract)."""
    d = base_model()
    d["market"]["price_usd_per_gpu_hour"] = {"training": {"all": 0.0}, "inference": {"all": 0.0}}
    d["limits"] = {"max_customer_revenue_share": 0.5}
    d["contracts"] = {"only": contract(10, "2026Q1", 4, price=0.01)}
    found = diagnose(data_of(d))
    (entry,) = found
    assert entry["group"] == "customer_share" and entry["total"] == pytest.approx(438.0)
    assert entry["note"] == "edit limits.max_customer_revenue_share"
    said = "customer revenue share: customer c1 short by $438 (edit limits.max_customer_revenue_share)"
    assert format_diagnosis([entry]) == [said]


@pytest.mark.parametrize(("cash_flow", "label", "short"),
                         [("ebitda", "EBITDA", "EBITDA"),
                          ("ebitda_less_tax", "(EBITDA - tax)", "EBITDA less tax")])
def test_a_covenant_too_tight_names_its_field(cash_flow, label, short):
    """100 installed GPUs on a $1/h contract (markets paying nothing) earn EBITDA 219,000 a quarter;
    a $4M loan at 8 % over 40 quarters costs 180,000 of debt service in 2026Q1: a DSCR of 1.5 asks
    270,000, short by 51,000 there (the $1bn of cash repays the loan after it; no tax is due). The
    line names the covenant by its ratio as the model tests it (it said 'dscr_covenant'), and what the
    51,000 is short of: EBITDA below 1.5x the debt service (it said '2026Q1 short by $51.0k')."""
    d = base_model()
    d["skus"]["A"]["available_from"] = "2025Q1"
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2025Q4", "gpus": 100, "use": "inference",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["contracts"] = {"anchor": {**contract(100, "2026Q1", 4), "use": "inference"}}
    d["market"]["price_usd_per_gpu_hour"] = {"training": {"all": 0.0}, "inference": {"all": 0.0}}
    d["finance"]["facilities"] = {"loan": {"size_usd": 4.0e6, "opening_balance_usd": 4.0e6,
                                           "fixed_rate_annual": 0.08, "amortization_quarters": 40,
                                           "draw_from": "2026Q1", "draw_until": "2026Q1"}}  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_dscr": 1.5, "dscr_cash_flow": cash_flow}
    (entry,) = diagnose(data_of(d))
    assert entry["group"] == "dscr_covenant" and entry["items"] == [("2026Q1", pytest.approx(51_000.0))]
    assert entry["note"].endswith("; edit finance.covenants.min_dscr" + (
        "" if cash_flow == "ebitda" else " or finance.covenants.dscr_cash_flow"))
    line = format_diagnosis([entry])[0]
    assert line.startswith(f"{label} / debt service covenant in 2026Q1: {short} below 1.5x debt service "
                           "by $51.0k in 2026Q1 ("), line


def test_every_group_a_diagnosis_may_name_has_a_field_to_edit():
    """Each slack, with a row key of its shape, names at least one field of the model file."""
    keys = {"customer_share": ("c1",), "customer_year_share": ("c1", 0), "robustness": (0, "c1", "cash"),
            "liquidity_covenant": (0, "floor"), "contract_delivery": (0, 0), "allocation": (0, 0),
            "power": (0, 0), "late_power": (0, 0), "demand_floor": (0, 0)}  # fmt: skip
    d = base_model()
    d["contracts"] = {"big": contract(1, "2026Q1", 1)}
    data = data_of(d)
    assert set(SLACKS) < set(DIAGNOSED)
    for group in DIAGNOSED:
        said = fields_to_edit(data, group, [keys.get(group, (0,))])
        assert said and "{" not in said, group
    assert fields_to_edit(data, "liquidity_covenant", [(0, "floor")]) == "finance.covenants.min_liquidity_usd"


def test_a_relaxed_model_whose_milp_finds_no_plan_in_time_is_diagnosed_from_its_lp(monkeypatch):
    """The power model above with the relaxed MILP stopped without a plan, as the default model's
    at 40 quarters with min_dscr 4.0 stopped at 300 s (its root LP unsolved by dual simplex): the
    diagnosis said 'not diagnosed'. Its LP, by the interior point method, has integral purchases
    here (1-GPU blocks): rounded, they are the least relaxation, and the diagnosis names power."""
    diagnosis = milp_probes_stopped(monkeypatch)
    found = diagnosis.diagnose(power_short(), time_limit=300)
    (entry,) = found
    assert entry["group"] == "power" and entry["items"] == [("site s1 in 2026Q2", pytest.approx(0.9))]
    assert found.caveat == ""


def test_the_probes_load_the_rows_into_highs_once(monkeypatch):
    """Every probe of a diagnosis (the LP, the rounded LP, the other side) changes bounds, domains
    or the objective, never a row: HiGHS gets the rows once. Fixing the integers and the held
    slacks with Var.fix made Pyomo hand HiGHS every row they are in again at each probe (26 s of an
    80 s diagnosis of the default model with min_dscr 4.0)."""
    from pyomo.contrib.solver.solvers.highs import Highs

    added = []
    real = Highs.add_constraints

    def counted(self, cons):
        added.append(len(cons))
        return real(self, cons)

    monkeypatch.setattr(Highs, "add_constraints", counted)
    d = base_model()
    d["limits"] = {"new_gpus_per_quarter": {"hopper": 100}}
    d["contracts"] = {"big": contract(500, "2026Q3", 2)}
    found = diagnose(data_of(d))
    assert found.otherwise  # the other side was probed too
    built = build_model(data_of(d), relax=True)
    rows = sum(1 for _ in built.component_data_objects(pyo.Constraint, active=True))
    assert sum(added) == rows


def test_a_rounded_plan_kept_when_the_milp_beside_it_stops_at_the_deadline(monkeypatch):
    """The power model above, its rounded LP's plan (power short by 0.9 MW) taken as near its bound
    and the MILP beside it stopped by the time limit with a worse plan (900 GPUs of the contract
    short), which HiGHS loaded into the model. The diagnosis reports the rounded plan: it solved
    that LP again to get its values back, which the deadline, passed by then, cut short (here: no
    plan), so the MILP's worse plan was named under the rounded plan's gap."""
    from pyomo.contrib.solver.common.results import TerminationCondition

    from fleetopt.milp import diagnose as diagnosis

    real, seen = diagnosis.run_highs, []

    def milp_at_the_deadline(m, solver=None, **options):
        if options.get("solver_options", {}).get("solver") == "ipm":
            if seen:  # after the MILP: the deadline has passed
                return "no_plan", SimpleNamespace(termination_condition=TerminationCondition.maxTimeLimit)
            return real(m, solver, **options)
        seen.append(True)
        for idx in m.SLACK:  # the MILP's worse plan, loaded
            m.slack[idx].set_value(900.0 if idx[0] == "contract_delivery" else 0.0, skip_validation=True)
        return "time_limit", SimpleNamespace(incumbent_objective=1e9)

    monkeypatch.setattr(diagnosis, "run_highs", milp_at_the_deadline)
    monkeypatch.setattr(diagnosis, "PROVEN_GAP", -1.0)  # the rounding taken as near, not proven
    found = diagnosis.diagnose(power_short(), time_limit=300)
    assert [entry["group"] for entry in found] == ["power"]
    assert found[0]["items"] == [("site s1 in 2026Q2", pytest.approx(0.9))]


def test_a_rounded_plan_far_from_its_bound_is_named_where_the_milp_finds_none(monkeypatch):
    """The power model above, its rounded LP's plan (power short by 0.9 MW) taken as beyond 5 % of its
    bound and the MILP after it stopped by the time limit without a plan: the diagnosis said 'not
    diagnosed: ... found no plan within the time limit', of a relaxed model whose rounding had one.
    It names that plan's groups, with how far from the least they may be."""
    diagnosis = milp_probes_stopped(monkeypatch)
    monkeypatch.setattr(diagnosis, "PROVEN_GAP", -2.0)  # the rounding taken as far from its bound
    monkeypatch.setattr(diagnosis, "ROUNDED_GAP", -1.0)
    found = diagnosis.diagnose(power_short(), time_limit=300)
    assert [entry["group"] for entry in found] == ["power"]
    assert found[0]["items"] == [("site s1 in 2026Q2", pytest.approx(0.9))]
    assert found.caveat.startswith("the shortfalls above are within 0.00% of the least the model needs")


def test_a_reused_solver_s_run_without_a_time_limit_has_none():
    """Pyomo sets HiGHS's time_limit only where one is given, and a reused HiGHS instance (a
    diagnosis's probes share one) kept the last limit: a probe without one after a 0.5 s probe was
    held to 0.5 s (a review)."""
    import math

    import pyomo.environ as pyo
    from pyomo.contrib.solver.solvers.highs import Highs

    from fleetopt.milp.highs import run_highs

    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 1))
    m.objective = pyo.Objective(expr=m.x, sense=pyo.maximize)
    solver = Highs()
    assert run_highs(m, solver, time_limit=0.5)[0] == "optimal"
    assert solver._solver_model.getOptionValue("time_limit")[1] == 0.5
    assert run_highs(m, solver, time_limit=None)[0] == "optimal"
    assert solver._solver_model.getOptionValue("time_limit")[1] == math.inf


def milp_probes_stopped(monkeypatch):
    """The diagnosis module, its MILP probes stopped by the time limit with no plan (its interior
    point LPs solved as they are)."""
    from pyomo.contrib.solver.common.results import TerminationCondition

    from fleetopt.milp import diagnose as diagnosis

    real = diagnosis.run_highs

    def milp_stopped(m, solver=None, **options):
        if options.get("solver_options", {}).get("solver") == "ipm":
            return real(m, solver, **options)
        return "no_plan", SimpleNamespace(termination_condition=TerminationCondition.maxTimeLimit)

    monkeypatch.setattr(diagnosis, "run_highs", milp_stopped)
    return diagnosis


def test_a_contract_short_of_gpus_sold_at_their_maximum_age_names_the_age():
    """tests/test_doc_cases.py's ``hand`` without debt: its 400 H100 bought in 2025Q1 reach a
    maximum age of one year (4 quarters) before 2026Q1, so they are sold there and its signed
    100-GPU contract of 2026Q1 is short by 100. The diagnosis names the age beside the contract's
    fields (it named the contract's alone)."""
    from test_doc_cases_age import unlevered

    (entry,) = diagnose(data_of(unlevered(1.0, 1)))
    assert entry["group"] == "contract_delivery"
    assert entry["items"] == [("contract lab-a-training in 2026Q1", pytest.approx(100.0))]
    assert "sold at retirement.max_age_years (H100 from 2026Q1)" in entry["note"]
    assert entry["note"].endswith("or retirement.max_age_years")


def test_a_broken_limit_is_named_as_users_know_it():
    """A sweep's dropped candidate read 'dscr_covenant: 2028Q2 short by $71.2k; otherwise min_cash:
    ...', the MILP's group names: a covenant is named by its ratio (the evaluation's label), the
    cash floor as the minimum cash; the rescue's words alike."""
    dscr = {"group": "dscr_covenant", "unit": "USD", "items": [("2028Q2", 71_200.0)], "quarters": ["2028Q2"]}
    cash = {"group": "min_cash", "unit": "USD", "items": [("2026Q3", 1.5e6), ("2026Q4", 15.1e6)],
            "quarters": ["2026Q3", "2026Q4"]}
    said = broken_words(Diagnosis([dscr], otherwise=[cash]))
    assert said == ("EBITDA / debt service covenant: 2028Q2 short by $71.2k; otherwise minimum cash: "
                    "2026Q4 short by $15.1M (in 2026Q3..2026Q4)"), said
    relaxed = {"liquidity_covenant": {"amount": 2e6, "unit": "USD"}, "power": {"amount": 2.0, "unit": "MW"}}
    assert slack_words(relaxed) == ["liquidity covenant $2.0M short", "power 2 MW short"]


def test_a_liquidity_covenant_row_is_named_by_the_test_the_model_file_sets():
    """The liquidity covenant's two tests share one group: a row of its fraction of debt, $2M short
    (2 MUSD of slack), read 'liquidity_covenant in 2026Q1: 2026Q1 (fraction) ...'. It is named as
    the model file sets it, the cash / debt test of min_liquidity_fraction_of_debt."""
    d = base_model()
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_liquidity_fraction_of_debt": 0.5}
    entry = _group_entry(data_of(d), "liquidity_covenant", [((0, "fraction"), 2.0)], "npv")
    said = ("cash / debt covenant in 2026Q1: cash below 50% of debt by $2.0M in 2026Q1 (cash / debt) "
            "(edit finance.covenants.min_liquidity_fraction_of_debt)")
    assert format_diagnosis([entry]) == [said]


def test_a_leverage_or_borrowing_base_shortfall_says_what_quantity_it_is_in():
    """An analyst read 'debt / annualised EBITDA covenant ...: 2027Q1 short by $46.9M' and 'borrowing
    base ...: short by $135.0M' and could not tell what was short. The leverage row D_t <= 4 x 6 x
    EBITDA_t + s is relaxed on its debt: 2 and 1 MUSD of slack are debt above 6x annualised EBITDA;
    the borrowing base's D_t / 0.7 <= resale + s on the collateral the loan requires: s is that
    above the GPUs' resale value. Said once where the quarters share it; a sweep's dropped plan says
    them alike."""
    d = base_model()
    d["finance"]["facilities"] = {"term": {"spread_over_reference_annual": 0.05, "max_ltv": 0.7,
                                           "amortization_quarters": 8, "size_usd": 4.0e6,
                                           "draw_from": "2026Q1", "draw_until": "2026Q2"}}  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q1", "max_debt_to_ebitda": 6.0}
    data = data_of(d)
    leverage = _group_entry(data, "leverage_covenant", [((0,), 2.0), ((1,), 1.0)], "npv")
    assert leverage["items"] == [("2026Q1", pytest.approx(2.0e6)), ("2026Q2", pytest.approx(1.0e6))]
    assert format_diagnosis([leverage])[0].startswith(
        "debt / annualised EBITDA covenant in 2026Q1..2026Q2: debt above 6x annualised EBITDA by $2.0M in "
        "2026Q1, $1.0M in 2026Q2 ("), format_diagnosis([leverage])
    base = _group_entry(data, "borrowing_base", [((1,), 135.0)], "npv")
    assert format_diagnosis([base]) == [
        "borrowing base in 2026Q2: GPU-secured debt / max LTV above the GPUs' resale value by $135.0M in "
        "2026Q2 (edit finance.facilities.term.max_ltv)"]
    assert broken_words([base]) == (
        "borrowing base: GPU-secured debt / max LTV above the GPUs' resale value by $135.0M in 2026Q2")
    d["finance"]["covenants"]["leverage_numerator"] = "net_debt"
    net = _group_entry(data_of(d), "leverage_covenant", [((0,), 2.0)], "npv")
    assert net["measures"] == {"2026Q1": "net debt above 6x annualised EBITDA"}


def test_a_liquidity_group_says_each_test_s_quantity_where_it_changes():
    """The floor and the fraction share the liquidity group: each part's quantity is said where the
    items turn to it ($4M below the $25M floor, then $2M below 12.5 % of the debt)."""
    d = base_model()
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_liquidity_usd": 25.0e6,
                                 "min_liquidity_fraction_of_debt": 0.125}  # fmt: skip
    rows = [((3, "floor"), 4.0), ((0, "fraction"), 2.0)]
    entry = _group_entry(data_of(d), "liquidity_covenant", rows, "npv")
    assert format_diagnosis([entry])[0].startswith(
        "liquidity and cash / debt covenant in 2026Q1..2026Q4: cash below $25.0M by $4.0M in 2026Q4 "
        "(liquidity), cash below 12.5% of debt by $2.0M in 2026Q1 (cash / debt) ("), format_diagnosis([entry])


def test_power_short_were_every_block_late_names_the_delay_and_the_site():
    """No power online, one 1 MW block with a lead time of 2 (milp_builders.late_demand_model), a
    signed contract for 720 GPUs of 1 kW (0.9 MW at PUE 1.25) in 2026Q3: a block started in 2026Q1
    is online then, but planned one quarter late (robustness.power_delay_quarters: 1) in 2026Q4, so
    2026Q3 is 0.9 MW short. The line said 'late_power in 2026Q3: site s1 in 2026Q3 (were every
    block `robustness.power_delay_quarters` late)' and never named the site's own power."""
    d = late_demand_model()
    d["contracts"] = {"k": {**contract(720, "2026Q3", 1), "price_usd_per_gpu_hour": 1.0}}
    d["robustness"] = {"power_delay_quarters": 1}
    found = diagnose(data_of(d))
    assert format_diagnosis(found)[0] == (
        "power with expansion blocks late in 2026Q3: site s1 in 2026Q3 short by 0.9 MW (edit "
        "robustness.power_delay_quarters or sites.s1.power_capacity_mw or "
        "sites.s1.expansion.lead_time_quarters)")


def test_a_covenant_after_another_row_says_again_what_its_amount_is_of():
    """The shocked rows of `robustness` mix covenants (what each amount is of: its measure) with cash
    and budget rows (short by): a covenant after such a row names its measure again, where it was
    said only where it changed, so that '$3.0k in 2026Q3' read as the cash row's."""
    from fleetopt.milp.diagnose import _shortfalls

    dscr = "EBITDA below 1.5x debt service"
    entry = {"unit": "USD", "measures": {"2026Q1 (dscr)": dscr, "2026Q2 (dscr)": dscr, "2026Q4 (dscr)": dscr}}
    items = [("2026Q1 (dscr)", 1e3), ("2026Q2 (dscr)", 2e3), ("2026Q3 (cash)", 5e3), ("2026Q4 (dscr)", 3e3)]
    assert _shortfalls(entry, items) == (
        f"{dscr} by $1.0k in 2026Q1 (dscr), $2.0k in 2026Q2 (dscr), 2026Q3 (cash) short by $5.0k, "
        f"{dscr} by $3.0k in 2026Q4 (dscr)")


# ---------------------------------------------------------------- fixed purchases: what they lack


def bought(data, gpus: dict[str, float]):
    """(S, I, T) blocks of SKU A at s1 (1-GPU blocks), ``gpus`` by quarter label, none elsewhere."""
    import numpy as np

    blocks = np.zeros((data.S, data.I, data.T))
    for quarter, count in gpus.items():
        blocks[0, 0, data.quarter_labels.index(quarter)] = count
    return blocks


def short_of_cash_at_1_mw():
    """base_model with $5M of cash, no resale, at a 1 MW site: 2,000 GPUs bought in 2026Q1 are short
    of cash, not of power (test_fixed_purchases_short_of_cash_name_the_cash_not_power_they_do_not_lack)."""
    d = base_model()
    d["sites"]["s1"]["power_capacity_mw"] = 1.0
    d["finance"]["opening_cash_usd"] = 5.0e6
    d["retirement"]["resale"] = False
    return data_of(d)


def test_fixed_purchases_short_of_cash_name_the_cash_not_power_they_do_not_lack():
    """2,000 GPUs bought in 2026Q1 ($8M) with $5M of cash, no resale, at a 1 MW site: 1,000 run and
    earn $2.19M, the rest held idle (no idle draw), so cash ends 2026Q1 at $5M - $8M + $2.19M:
    short by $0.81M, whatever else the plan does. No MW is lacking. The weighted model named power
    instead: 0.37 MW more (weight 0.37) runs 370 GPUs more and earns the $0.81M (weight 8.1), so a
    planner was sent to a site's power (the default model's lean plan: "north-dakota short by 31.6
    MW"). Held to the cash, the other side is that power."""
    data = short_of_cash_at_1_mw()
    found = diagnose(data, purchases=bought(data, {"2026Q1": 2000}))
    (entry,) = found
    assert entry["group"] == "min_cash" and entry["items"] == [("2026Q1", pytest.approx(0.81e6))]
    (instead,) = found.otherwise
    assert instead["group"] == "power"
    assert instead["items"] == [("site s1 in 2026Q1", pytest.approx(0.81 / 2.19))]
    assert format_diagnosis(found)[0].startswith("minimum cash in 2026Q1: 2026Q1 short by $810.0k")


def contract_short_of_gpus():
    """(data, purchases): a signed contract for 500 GPUs in 2026Q2..2026Q3, 300 bought in 2026Q1 with
    $0.4M of cash and no resale."""
    d = base_model()
    d["contracts"] = {"big": contract(500, "2026Q2", 2)}
    d["finance"]["opening_cash_usd"] = 0.4e6
    d["retirement"]["resale"] = False
    data = data_of(d)
    return data, bought(data, {"2026Q1": 300})


def test_fixed_purchases_short_of_a_contract_s_gpus_say_no_money_cures_it():
    """A signed contract for 500 GPUs in 2026Q2..2026Q3 and 300 bought in 2026Q1: it is short by
    200 GPUs in each quarter whatever the money, and the line says so, first; the cash short of the
    purchase ($0.4M - $1.2M + 300 x $2,190 in 2026Q1: $143k) after it."""
    data, purchases = contract_short_of_gpus()
    found = diagnose(data, purchases=purchases)
    short, cash = found
    assert short["group"] == "contract_delivery"
    assert [amount for _, amount in short["items"]] == pytest.approx([200.0, 200.0])
    assert short["note"].startswith("short with these purchases even were cash, covenants and every other "
                                    "money limit to give way")
    assert short["note"].endswith("edit contracts.big.gpus or contracts.big.delivery_deadline")
    assert cash["group"] == "min_cash"
    assert cash["items"] == [("2026Q1", pytest.approx(1.2e6 - 0.4e6 - 300 * 2190))]
    # in whole GPUs, as short as they are: the second stage, the contract held at most at 200 GPUs and
    # a millionth, took the millionth to spare cash, which read "short by 201 GPUs"
    assert format_diagnosis(found)[0].startswith(
        "contract delivery in 2026Q2..2026Q3: contract big in 2026Q2 short by 200 GPUs, contract big in "
        "2026Q3 short by 200 GPUs")


def test_a_sweep_s_probe_names_the_cash_fixed_purchases_lack_not_power():
    """The sweep's quick probe of a dropped completion (CompletionProbe, its note) on the same 2,000
    GPUs: its one weighted run named 0.37 MW of power at s1 (weight 0.37 against the cash's 8.1),
    the other side the $810k of cash, sending a planner to a site's power; in two stages, as the
    diagnosis of fixed purchases, it names the cash, the power the other side."""
    data = short_of_cash_at_1_mw()
    said = broken_words(CompletionProbe(data).broken(bought(data, {"2026Q1": 2000})))
    assert said == ("minimum cash: 2026Q1 short by $810.0k; "
                    "otherwise power: site s1 in 2026Q1 short by 0.37 MW")


def test_a_sweep_s_probe_names_first_the_gpus_fixed_purchases_lack():
    """300 GPUs bought for a signed contract of 500 in 2026Q2..2026Q3, $0.4M of cash: the contract
    is short by 200 GPUs whatever the money, the cash ($1.2M - $0.4M - 300 x $2,190 = $143k) as
    well; the probe names the contract first, as the diagnosis does, the cash after it."""
    data, purchases = contract_short_of_gpus()
    said = broken_words(CompletionProbe(data).broken(purchases))
    assert said == ("contract delivery: contract big in 2026Q2 short by 200 GPUs (in 2026Q2..2026Q3); "
                    "minimum cash: 2026Q1 short by $143.0k")


def test_fixed_purchases_whose_second_stage_finds_nothing_in_time_keep_the_first_stage_s_shortfall(
    monkeypatch,
):
    """The second stage of the fixed purchases' diagnosis given only the time the first left it (a
    millisecond) and finding no plan: the diagnosis is the first stage's, the contract 200 GPUs short
    in each quarter, with the time limit's caveat, not "not diagnosed" (review)."""
    from fleetopt.milp import diagnose as module

    real, calls = module.solve_relaxed, []

    def second_finds_nothing(*args):
        calls.append(1)
        return real(*args) if len(calls) == 1 else ("no_plan", None, float("inf"))

    monkeypatch.setattr(module, "solve_relaxed", second_finds_nothing)
    data, purchases = contract_short_of_gpus()
    found = diagnose(data, purchases=purchases)
    assert len(calls) >= 2 and found.caveat.startswith("the relaxed model stopped")
    assert found[0]["group"] == "contract_delivery"
    assert [amount for _, amount in found[0]["items"]] == pytest.approx([200.0, 200.0])

"""Deployment and finance realism, on hand-worked instances of `milp_builders.base_model()`:
a supplier's allocation of new GPUs, an installation lag, bullet maturities and tax losses
carried forward.

In the base model a GPU costs 4,000 USD, earns 2,190 USD a quarter in service, and is worth
4,000 x (1 - age in years) x 0.5 at the end of the four-quarter horizon (no discounting):

* bought in quarter 0: 4 x 2,190 = 8,760 USD, worth 0 at the end (age one year);
* bought in quarter 1: 3 x 2,190 + 500 = 7,070; quarter 2: 2 x 2,190 + 1,000 = 5,380;
* bought in quarter 3: 2,190 + 1,500 = 3,690 < 4,000: not worth buying.
"""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import batch, tiny_model
from milp_builders import HOURS, base_model, data_of

from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.plan import Plan
from fleetopt.evaluate.kernel.cpu import CpuKernel
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import solve
from fleetopt.schema.issues import ModelError

EARNS = 1.0 * HOURS  # USD a GPU earns in a quarter on the market


def allocated(cap: float, install_quarters: int = 0) -> dict:
    d = base_model()
    d["skus"]["A"]["install_quarters"] = install_quarters
    d["limits"] = {"new_gpus_per_quarter": {"hopper": cap}}
    return d


def bought(d: dict) -> tuple[np.ndarray, dict]:
    result = solve(data_of(d), mip_gap=1e-9)
    return result.plan.buy_blocks.sum(axis=(0, 1)), result.statements.lines


def test_the_allocation_caps_purchases_at_its_value():
    gpus, lines = bought(allocated(1000.0))
    # every quarter worth buying in is bought up to the allocation, and none beyond it
    np.testing.assert_allclose(gpus, [1000, 1000, 1000, 0])
    np.testing.assert_allclose(lines["revenue_usd"], np.array([1, 2, 3, 3]) * 1000 * EARNS)


def test_an_allocation_series_is_read_per_quarter():
    gpus, _ = bought(allocated([0.0, 500.0, 2000.0, 2000.0]))
    np.testing.assert_allclose(gpus, [0, 500, 2000, 0])


def test_the_allocation_counts_gpus_not_blocks():
    """Racks of 8 GPUs under an allocation of 1,004 GPUs a quarter: 125 whole racks (1,000 GPUs; a
    126th would make 1,008) in each quarter worth buying in. Counting the racks against it let the
    plan buy 1,004 racks, 8,032 GPUs, a quarter."""
    d = allocated(1004.0)
    d["skus"]["A"]["block_size_gpus"] = 8
    blocks, lines = bought(d)
    np.testing.assert_allclose(blocks, [125, 125, 125, 0])
    np.testing.assert_allclose(lines["gpus_held"], [1000, 2000, 3000, 3000])


def test_the_installation_lag_delays_revenue_by_exactly_the_lag():
    # one quarter to install: a GPU bought in quarter 1 earns in quarters 2 and 3 (4,380) and is
    # worth 500 at the end: bought; one bought in quarter 2 earns 2,190 + 1,000 < 4,000: not bought
    gpus, lines = bought(allocated(1000.0, install_quarters=1))
    np.testing.assert_allclose(gpus, [1000, 1000, 0, 0])
    np.testing.assert_allclose(lines["revenue_usd"], np.array([0, 1, 2, 2]) * 1000 * EARNS)
    np.testing.assert_allclose(lines["gpus_held"], [1000, 2000, 2000, 2000])


def test_the_utilisation_ramp_serves_its_share_in_the_first_quarters():
    # half of a new GPU serves in its first quarter: the same purchases as without the ramp (a GPU
    # bought in quarter 2 still earns 1,095 + 2,190 + its value at the end > its 4,000), and each
    # quarter's newest 1,000 GPUs earn half: revenue 0.5, 1.5 and 2.5 thousand GPU-quarters, then 3
    d = allocated(1000.0)
    d["skus"]["A"]["utilisation_ramp"] = [0.5]
    gpus, lines = bought(d)
    np.testing.assert_allclose(gpus, [1000, 1000, 1000, 0])
    np.testing.assert_allclose(lines["revenue_usd"], np.array([0.5, 1.5, 2.5, 3]) * 1000 * EARNS)
    np.testing.assert_allclose(lines["gpus_held"], [1000, 2000, 3000, 3000])


def test_the_ramp_starts_after_the_installation_lag():
    # installed a quarter after purchase, then half in service: a GPU bought in quarter 0 earns
    # 1,095 in quarter 1 and 2,190 after
    d = allocated([1000.0, 0.0, 0.0, 0.0], install_quarters=1)
    d["skus"]["A"]["utilisation_ramp"] = [0.5]
    gpus, lines = bought(d)
    np.testing.assert_allclose(gpus, [1000, 0, 0, 0])
    np.testing.assert_allclose(lines["revenue_usd"], np.array([0, 0.5, 1, 1]) * 1000 * EARNS)


def bond_model(maturity: str) -> dict:
    d = base_model()
    d["finance"]["facilities"] = {
        "notes": {"size_usd": 1.0e6, "opening_balance_usd": 1.0e6, "fixed_rate_annual": 0.08,
                  "repayment": "bullet", "maturity": maturity, "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    return d


def test_a_bullet_note_is_repaid_whole_at_its_maturity():
    data = data_of(bond_model("2026Q3"))
    lines = plan_statements(data, Plan.empty(data)).lines
    np.testing.assert_allclose(lines["principal_usd"], [0, 0, 1.0e6, 0])
    np.testing.assert_allclose(lines["interest_usd"], [20_000, 20_000, 20_000, 0])
    np.testing.assert_allclose(lines["debt_usd"], [1.0e6, 1.0e6, 0, 0])


def test_a_bullet_maturing_after_the_horizon_stays_outstanding():
    data = data_of(bond_model("2031Q1"))
    lines = plan_statements(data, Plan.empty(data)).lines
    assert not lines["principal_usd"].any()
    np.testing.assert_allclose(lines["debt_usd"], 1.0e6)


def refinanced_model(at_maturity: str = "refinance") -> dict:
    """The 8 % note of `bond_model` maturing in quarter 1 (2026Q2); refinanced at the reference rate
    (4 %) + 5 %."""
    d = bond_model("2026Q2")
    d["finance"]["reference_rate_annual"] = 0.04
    notes = d["finance"]["facilities"]["notes"]
    notes["at_maturity"] = at_maturity
    if at_maturity == "refinance":
        notes["refinance_spread_over_reference_annual"] = 0.05
    return d


def test_a_refinanced_note_pays_no_principal_and_the_new_rate_after_maturity():
    # quarters 0 and 1 pay 8 % / 4 on 1,000,000 (quarter 1's interest is on the balance before the
    # maturity); from quarter 2 the new bullet pays (4 % + 5 %) / 4 = 22,500; no principal is paid and
    # the 1,000,000 is still owed at the end (the terminal value subtracts it)
    data = data_of(refinanced_model())
    lines = plan_statements(data, Plan.empty(data)).lines
    np.testing.assert_allclose(lines["interest_usd"], [20_000, 20_000, 22_500, 22_500])
    assert not lines["principal_usd"].any()
    np.testing.assert_allclose(lines["debt_usd"], 1.0e6)
    # repaid instead: 1,000,000 paid from cash in quarter 1, then nothing owed
    repaid = data_of(refinanced_model("repay"))
    lines = plan_statements(repaid, Plan.empty(repaid)).lines
    np.testing.assert_allclose(lines["principal_usd"], [0, 1.0e6, 0, 0])
    np.testing.assert_allclose(lines["interest_usd"], [20_000, 20_000, 0, 0])
    np.testing.assert_allclose(np.diff(lines["cash_usd"], prepend=1.0e9), [-20_000, -1_020_000, 0, 0])


def test_the_milp_and_the_evaluator_agree_on_a_refinanced_note():
    # the MILP's cash is the statements' (the same schedule and rates), and in a scenario the rate
    # shift (+4 %) reaches the refinanced note only after its maturity: 20,000, 20,000, then
    # (4 % + 5 % + 4 %) / 4 x 1,000,000 = 32,500, in NumPy and in the CPU build of the kernel.
    # Discounting at 50 % a year makes prepaying the note not worth it (without, the MILP repays it)
    d = refinanced_model()
    d["horizon"]["discount_rate_annual"] = 0.5
    data = data_of(d)
    result = solve(data, mip_gap=1e-9)
    np.testing.assert_allclose(result.milp_cash_usd, result.statements.lines["cash_usd"], rtol=1e-9)
    np.testing.assert_allclose(result.statements.lines["interest_usd"], [20_000, 20_000, 22_500, 22_500])
    consts = SimulationConstants.from_data(data)
    plans = batch(data, [result.plan])
    scen = deterministic_scenarios(data, 1)
    scen.factors["rate_shift"][...] = 0.04
    out = simulate(consts, plans, scen, record=("interest_usd",))
    np.testing.assert_allclose(out["interest_usd"][0, 0], [20_000, 20_000, 32_500, 32_500])
    got = CpuKernel().simulate(consts, plans, scen)
    np.testing.assert_allclose(got["npv"], out["npv"], rtol=1e-12)
    # the forecast itself reproduces the MILP
    base = simulate(consts, plans, deterministic_scenarios(data, 1))
    np.testing.assert_allclose(base["npv"][0, 0], result.objective_usd, rtol=1e-6)
    extra = 10_000.0 * (data.discount[2] + data.discount[3])  # the shift's interest, discounted
    np.testing.assert_allclose(base["npv"][0, 0] - out["npv"][0, 0], extra, rtol=1e-9)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"at_maturity": "refinance"}, "at_maturity: refinance needs refinance_spread_over_reference_annual"),
        ({"refinance_spread_over_reference_annual": 0.05},
         "refinance_spread_over_reference_annual applies only with at_maturity: refinance"),
        ({"repayment": "amortizing", "maturity": None, "amortization_quarters": 4, "at_maturity": "refinance",
          "refinance_spread_over_reference_annual": 0.05}, "at_maturity: refinance needs repayment: bullet"),
    ],
)  # fmt: skip
def test_a_refinancing_without_its_terms_is_refused(change, message):
    d = bond_model("2027Q1")
    d["finance"]["facilities"]["notes"].update(change)
    d["finance"]["facilities"]["notes"] = {k: v for k, v in d["finance"]["facilities"]["notes"].items() if v}
    with pytest.raises(ModelError, match=message):
        data_of(d)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"maturity": None}, "a bullet facility needs maturity"),
        ({"repayment": "amortizing", "maturity": None}, "an amortizing facility needs amortization_quarters"),
        ({"maturity": "2026Q1"}, "maturity must come after draw_until"),
    ],
)
def test_a_facility_without_its_repayment_terms_is_refused(change, message):
    d = bond_model("2027Q1")
    d["finance"]["facilities"]["notes"].update(change)
    d["finance"]["facilities"]["notes"] = {k: v for k, v in d["finance"]["facilities"]["notes"].items() if v}
    with pytest.raises(ModelError, match=message):
        data_of(d)


# ---------------------------------------------------------------- tax loss carry-forward


def loss_model(carry_forward: bool) -> dict:
    """100 installed GPUs (bought 2025Q4 for 4,000 USD, one-year life: 100,000 USD of depreciation
    in quarters 0-2, none after), rented on the market at a quarter of the price in quarter 0:
    pre-tax income -45,250, 119,000, 119,000, 219,000 USD, taxed at 21 %. No GPU on sale, nothing
    to decide: the plan keeps the fleet."""
    d = base_model()
    d["skus"]["A"].update(available_from="2025Q1", available_until="2025Q4")
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2025Q4", "gpus": 100, "use": "inference",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["retirement"] = {"resale": False}
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [0.25, 1.0, 1.0, 1.0]}
    d["finance"].update(tax_rate=0.21, tax_loss_carry_forward=carry_forward)
    return d


@pytest.mark.parametrize(
    ("carry_forward", "tax"),
    [
        (False, [0.0, 24_990.0, 24_990.0, 45_990.0]),
        # the 45,250 USD loss offsets the next profit: 21 % of 119,000 - 45,250 = 15,487.50
        (True, [0.0, 15_487.5, 24_990.0, 45_990.0]),
    ],
)
def test_a_loss_carried_forward_offsets_the_next_profit(carry_forward, tax):
    result = solve(data_of(loss_model(carry_forward)), mip_gap=1e-9)
    lines = result.statements.lines
    pretax = lines["net_income_usd"] + lines["tax_usd"]
    np.testing.assert_allclose(pretax, [-45_250.0, 119_000.0, 119_000.0, 219_000.0])
    np.testing.assert_allclose(lines["tax_usd"], tax)
    # the MILP pays each tax when it is due (its cumulative rows leave the timing to a tie-break)
    np.testing.assert_allclose(result.milp_cash_usd, lines["cash_usd"], rtol=1e-9)


def test_the_evaluator_and_the_kernel_carry_losses_forward_alike():


    d = tiny_model()
    d["finance"]["tax_loss_carry_forward"] = True
    data = data_of(d)
    result = solve(data, mip_gap=1e-3)
    plans = batch(data, [result.plan])
    consts = SimulationConstants.from_data(data)
    scen = generate_scenarios(data, 8, 0, 300)
    want = simulate(consts, plans, scen)
    got = CpuKernel().simulate(consts, plans, scen)
    # to 1e-12, the C build's contract (tests/test_kernel_cpu.py): one pair in 300 differs by one unit
    # in the last place
    np.testing.assert_allclose(got["npv"], want["npv"], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(got["breach"], want["breach"])

"""The terminal value is after the tax a sale of the fleet at the end would bring (formulation §6;
docs/evaluation.md, "The tax of the fleet's sale at the end"): its gain or loss against book value
is taxed with the last quarter, so a GPU held to the end deducts its loss as a sale would, and the
optimum no longer sells GPUs in its last quarter only to deduct their loss from that quarter's
profit.

The model, worked by hand (4 quarters, no discounting, free power, no debt, tax 21 %):

* 100 GPUs ``A`` installed in 2025Q4 for $4,000, two-year life ($500 of depreciation a quarter),
  resale curve 1.0, 0.5, 0.0 at 0, 1, 2 years, half lost on a sale; on inference, which pays
  $1 a GPU-hour ($2,190 a quarter) in quarters 0-2 and $0.15 ($328.50) in quarter 3.
* 100 GPUs ``B`` installed in 2025Q1, fully depreciated and worth nothing, on training at $1
  ($2,190 a quarter): the profit the last quarter's loss is deducted from.

A GPU ``A`` at the end is worth 4,000 x 0.375 x 0.5 = $750 against a book value of
4,000 x (1 - 5/8) = $1,500; sold in quarter 3 (age one year) it fetches 4,000 x 0.5 x 0.5 =
$1,000 against $2,000.
"""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import ALL_RISK, batch, with_risk
from milp_builders import base_model, data_of, sku

from fleetopt.core.results.headline import headline
from fleetopt.core.results.valuation import npv_terminal_words
from fleetopt.evaluate.kernel.cpu import CpuKernel
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import solve

TAX = 0.21


def end_loss_model(last_price: float = 0.15, carry_forward: bool = False) -> dict:
    d = base_model()
    old = {"available_from": "2025Q1", "available_until": "2025Q4"}
    d["skus"] = {
        "A": sku(useful_life_years=2.0, resale_fraction_by_age_years=[1.0, 0.5, 0.0], **old),
        "B": sku(**old),
    }
    d["fleet"] = [
        {"sku": name, "site": "s1", "purchased": bought, "gpus": 100, "use": use, "capex_per_gpu_usd": 4000.0}
        for name, bought, use in (("A", "2025Q4", "inference"), ("B", "2025Q1", "training"))
    ]
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [1.0, 1.0, 1.0, last_price]}
    d["finance"].update(tax_rate=TAX, tax_loss_carry_forward=carry_forward)
    return d


# Held to the end: EBT 438,000 - 50,000 = 388,000 in quarters 0-2 (tax 81,480) and
# 32,850 + 219,000 - 50,000 = 201,850 in quarter 3 (tax 42,388.50). The sale at the end loses
# 75,000 (75,000 against 150,000 of book value): taxed with quarter 3, 126,850 x 21 % = 26,638.50,
# so the liquidation's tax is 26,638.50 - 42,388.50 = -15,750 (the loss's 21 %).
HELD_NPV = 3 * (438_000 - 81_480) + (251_850 - 42_388.5) + 75_000 + 15_750  # 1,369,771.50
# Sold at the start of quarter 3 instead: proceeds 100,000, a loss of 100,000 against its book,
# EBT 219,000 - 100,000 = 119,000, tax 24,990, nothing at the end: 1,363,570, 6,201.50 less. Before
# the terminal value was taxed, holding was worth 1,354,021.50 and the optimum sold.


@pytest.mark.parametrize("carry_forward", [False, True])
def test_a_gpu_worth_less_than_its_book_is_held_to_the_end_and_its_loss_deducted(carry_forward):
    data = data_of(end_loss_model(carry_forward=carry_forward))
    result = solve(data, mip_gap=1e-9)
    assert result.plan.retire.sum() == pytest.approx(0.0, abs=1e-6)
    assert result.statements.npv_usd == pytest.approx(HELD_NPV, rel=1e-9)
    assert result.statements.liquidation_tax_usd == pytest.approx(-15_750.0, rel=1e-9)
    assert result.statements.terminal_assets_usd == pytest.approx(75_000.0, rel=1e-9)
    assert result.objective_usd == pytest.approx(HELD_NPV, rel=1e-6)
    # the NPV's two parts (no discounting): the quarters' cash flows, and 75,000 + 15,750 at the end
    fig = headline(data, result.plan, result.statements)
    assert fig["npv_terminal_usd"] == pytest.approx(90_750.0, rel=1e-12)
    assert fig["npv_quarters_usd"] == pytest.approx(HELD_NPV - 90_750.0, rel=1e-12)
    assert npv_terminal_words(fig) == (
        "$90.8k = 1.000 (the last quarter's discount factor) x (GPUs at resale and power plant at book "
        "$75.0k + tax saved by selling them below book $15.8k - debt $0)"
    )


def test_a_loss_beyond_the_last_quarter_s_profit_saves_only_that_quarter_s_tax():
    """A on a four-year life ($250 a quarter): its book value at the end is 4,000 x (1 - 5/16) =
    $2,750, the loss at the end 275,000 - 75,000 = 200,000. With 50 GPUs B, quarter 3 earns
    32,850 + 109,500 - 25,000 = 117,350 before tax: the loss saves 21 % of that, 24,643.50, not
    21 % of 200,000 (no refund of other quarters' tax). Holding still beats selling in quarter 3:
    117,706.50 of cash (tax 24,643.50) and 99,643.50 at the end, against 109,500 + 100,000 with
    the loss of 200,000 deducted from EBT 109,500 (no tax)."""
    d = end_loss_model()
    d["skus"]["A"]["useful_life_years"] = 4.0
    d["fleet"][1]["gpus"] = 50
    result = solve(data_of(d), mip_gap=1e-9)
    lines = result.statements.lines
    assert result.plan.retire.sum() == pytest.approx(0.0, abs=1e-6)
    assert (lines["net_income_usd"] + lines["tax_usd"])[-1] == pytest.approx(117_350.0)
    assert result.statements.liquidation_tax_usd == pytest.approx(-24_643.5, rel=1e-9)
    assert result.objective_usd == pytest.approx(result.statements.npv_usd, rel=1e-6)
    # the key figures' end of the NPV, 75,000 + 24,643.50, say that the saving is capped: the default
    # model's "$301.4M" read as 21 % of its loss, where it is all of 2033Q2's tax
    fig = headline(data_of(d), result.plan, result.statements)
    assert fig["tax_last_quarter_usd"] == pytest.approx(24_643.5, rel=1e-9)
    assert npv_terminal_words(fig) == (
        "$99.6k = 1.000 (the last quarter's discount factor) x (GPUs at resale and power plant at book "
        "$75.0k + tax saved by selling them below book $24.6k (all of the last quarter's own tax, the most "
        "a loss can save) - debt $0)"
    )


@pytest.mark.parametrize("carry_forward", [False, True])
def test_the_evaluator_and_the_kernel_tax_the_liquidation_as_the_statements_do(carry_forward):
    """On the forecast the evaluator gives the statements' NPV; under every risk factor (the GPUs'
    resale value, and so the gain at the end, varies) the C build gives NumPy's."""
    d = end_loss_model(carry_forward=carry_forward)
    data = data_of(d)
    plan = solve(data, mip_gap=1e-9).plan
    plans = batch(data, [plan])
    on_forecast = simulate(SimulationConstants.from_data(data), plans, deterministic_scenarios(data))
    assert on_forecast["npv"][0, 0] == pytest.approx(HELD_NPV, rel=1e-12)
    risky = data_of(with_risk(d, **ALL_RISK))
    consts = SimulationConstants.from_data(risky)
    scen = generate_scenarios(risky, 3, 0, 64)
    want = simulate(consts, plans, scen)
    got = CpuKernel().simulate(consts, plans, scen)
    np.testing.assert_allclose(got["npv"], want["npv"], rtol=1e-12, atol=1e-6)


def test_the_npv_s_two_parts_add_up_with_discounting():
    """tiny (15 % a year): the cash flows part is the discounted change in cash of each quarter,
    from the statements; the terminal part is the last quarter's discount factor times assets less
    the tax of their sale less what is owed; the two make the NPV."""
    from fleetopt.core.data import load

    _, data = load("tiny")
    result = solve(data, mip_gap=1e-6)
    fig = headline(data, result.plan, result.statements)
    cash = result.statements.lines["cash_usd"]
    flows = float((np.diff(np.concatenate([[data.opening_cash], cash])) * data.discount).sum())
    assert fig["npv_quarters_usd"] == pytest.approx(flows, rel=1e-12)
    end = fig["terminal_assets_usd"] - fig["liquidation_tax_usd"] - fig["owed_end_usd"]
    assert fig["terminal_discount_factor"] == data.discount[-1] < 1.0
    assert fig["npv_terminal_usd"] == pytest.approx(data.discount[-1] * end, rel=1e-12)
    assert fig["npv_quarters_usd"] + fig["npv_terminal_usd"] == pytest.approx(fig["npv_usd"], rel=1e-12)


def test_tax_losses_carried_into_the_horizon_offset_the_first_profits():
    """$500,000 of losses from before the horizon (``opening_tax_losses_usd``), the plan held to the
    end: quarter 0's 388,000 of EBT is all offset (tax 0, 112,000 left), quarter 1 is taxed on
    276,000 (57,960), later quarters as before. The NPV rises by the 21 % the losses save,
    105,000, in the MILP, the statements, on the forecast and (the kernel against NumPy) under risk."""
    d = end_loss_model(carry_forward=True)
    d["finance"]["opening_tax_losses_usd"] = 500_000.0
    data = data_of(d)
    r = solve(data, mip_gap=1e-9)
    assert r.statements.lines["tax_usd"] == pytest.approx([0.0, 57_960.0, 81_480.0, 42_388.5], rel=1e-9)
    assert r.statements.npv_usd == pytest.approx(HELD_NPV + 105_000.0, rel=1e-12)
    plans = batch(data, [r.plan])
    on_forecast = simulate(SimulationConstants.from_data(data), plans, deterministic_scenarios(data))
    assert on_forecast["npv"][0, 0] == pytest.approx(HELD_NPV + 105_000.0, rel=1e-12)
    risky = data_of(with_risk(d, **ALL_RISK))
    consts, scen = SimulationConstants.from_data(risky), generate_scenarios(risky, 3, 0, 64)
    want = simulate(consts, plans, scen)["npv"]
    np.testing.assert_allclose(CpuKernel().simulate(consts, plans, scen)["npv"], want, rtol=1e-12, atol=1e-6)


def test_opening_tax_losses_need_loss_carry_forward():
    from fleetopt.schema.issues import ModelError

    d = end_loss_model(carry_forward=False)
    d["finance"]["opening_tax_losses_usd"] = 500_000.0
    with pytest.raises(ModelError, match="opening_tax_losses_usd needs tax_loss_carry_forward: true"):
        data_of(d)


def test_a_scenario_s_resale_factor_scales_the_taxed_gain_of_the_fleet_s_sale_at_the_end():
    """The stochastic MILP's scenario copies scale resale values by the scenario's factor (formulation
    §7b, `resale_scale`): in the liquidation's taxed gain as in the terminal value. At a factor of 2
    in quarter 3 a GPU A is worth 2 x 750 = 1,500 at the end, its book value: no gain and no tax.
    Held, quarter 3 and the end bring 251,850 - 42,388.50 + 150,000 = 359,461.50; sold at the start
    of quarter 3 for 2 x 1,000 = 2,000 each, also its book, EBT is 219,000, tax 45,990, and
    219,000 - 45,990 + 200,000 = 373,010: the optimum sells, 3 x 356,520 + 373,010 = 1,442,570. The
    gain taken at factor 1 (a loss of 75,000 and a tax credit of 15,750) made holding worth
    375,211.50: the plan held them, its NPV 1,444,771.50."""
    from fleetopt.milp.stochastic.extensive_form import build_extensive_form
    from fleetopt.milp.stochastic.first_stage import FirstStage
    from fleetopt.milp.stochastic.scenarios import ScenarioInputs

    data = data_of(end_loss_model())
    doubled = ScenarioInputs("doubled", 1.0, resale=np.array([1.0, 1.0, 1.0, 2.0]))
    ef = build_extensive_form(data, [doubled], FirstStage(1))
    solution = ef.solve(1e-9, None, None)
    assert solution.status == "optimal"
    assert solution.objective_usd == pytest.approx(1_442_570.0, rel=1e-6)
    assert [row["npv_usd"] for row in solution.scenarios] == pytest.approx([1_442_570.0], rel=1e-9)
    a = next(c.index for c in data.cohorts if data.sku_names[c.sku] == "A")
    assert ef.block(0).retire_in[a, 3].value == pytest.approx(100.0, abs=1e-6)

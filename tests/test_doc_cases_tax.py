"""The tax, worked by hand from docs/formulation.md §5.10-5.11 and docs/evaluation.md (quarter steps
5-6, "The tax of the fleet's sale at the end") on the model ``hand`` of tests/test_doc_cases.py:
EBT 363,850, 328,850, 338,850, 348,850 a quarter, tax 20 %, the fleet sold at the end for
7,600,000 against a book value of 8,000,000 (G = -400,000), forecast NPV 10,050,246.49.
"""

from __future__ import annotations

import pytest
from milp_builders import data_of
from test_doc_cases import DF, NPV, hand_model, simulated

from fleetopt.errors import FleetoptWarning
from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.milp.solve import solve

COVENANTS = {"test_from": "2026Q1", "max_debt_to_ebitda": 6.0, "min_dscr": 2.4, "min_liquidity_usd": 1e6}


@pytest.fixture(scope="module")
def carried():
    data = data_of(hand_model(tax_loss_carry_forward=True, opening_tax_losses_usd=1_200_000))
    return data, solve(data, mip_gap=0.0)


def test_losses_carried_into_the_horizon_are_used_quarter_by_quarter(carried):
    """`tax_loss_carry_forward` with $1.2M of `opening_tax_losses_usd` (formulation §5.10): the pool
    takes 363,850 (836,150 left), 328,850 (507,300), 338,850 (168,450), then 168,450 of 348,850:
    tax 0, 0, 0, 0.2 x 180,400 = 36,080. At the end y = 180,400 and G = -400,000: the liquidation
    tax is 0.2 max(0, y + G) - 0.2 y = -36,080 (the last quarter's tax given back, as on the
    forecast). The plan is hand's (the draw still pays); NPV = 10,050,246.49 + DF_0 72,770 + DF_1
    65,770 + DF_2 67,770 (the last quarter's tax and its refund net to 0 either way)."""
    _, result = carried
    assert result.plan.draws[0] == pytest.approx([2_000_000.0, 0.0, 0.0, 0.0], abs=0.01)
    assert result.statements.lines["tax_usd"] == pytest.approx([0.0, 0.0, 0.0, 36_080.0], abs=0.01)
    assert result.statements.liquidation_tax_usd == pytest.approx(-36_080.0, abs=0.01)
    hand = NPV + DF[0] * 72_770 + DF[1] * 65_770 + DF[2] * 67_770
    assert result.statements.npv_usd == pytest.approx(hand, abs=0.01)


def test_a_gain_at_the_end_is_taxed_with_the_last_quarter(carried):
    """The same plan in a scenario whose resale values are 1.1 x the forecast's in 2026Q4: the
    fleet fetches 8,360,000, G = +360,000, y = 180,400 (the pool as above): the liquidation tax is
    0.2 x 540,400 - 0.2 x 180,400 = +72,000. NPV = the forecast's + DF_3 (760,000 - 72,000 -
    36,080), the last the refund the forecast counted."""
    data, result = carried
    scen = deterministic_scenarios(data)
    scen.resale_factor[0, 3] = 1.1
    out = simulated(data, result.plan, scen)
    assert out["tax_usd"] == pytest.approx([0.0, 0.0, 0.0, 36_080.0], abs=0.01)
    hand = result.statements.npv_usd + DF[3] * (760_000 - 72_000 - 36_080)
    assert out["npv"] == pytest.approx(hand, abs=0.01)


@pytest.mark.parametrize("carry", [True, False])
def test_a_scenarios_own_loss_is_carried_to_its_later_quarters(carry):
    """Quarter step 5: Hopper's price at half the forecast in 2026Q2 only: market revenue 788,400
    lower, EBITDA 615,450, EBT 615,450 - 1,000,000 - 75,000 = -459,550. With carry-forward the
    scenario's pool takes 2026Q3's 338,850 (120,700 left) and 120,700 of 2026Q4's 348,850: tax
    72,770, 0, 0, 45,630, and at the end y = 228,150, liquidation tax -45,630. NPV = 10,050,246.49
    - DF_1 (788,400 - 65,770) + DF_2 67,770 (2026Q4's tax and its refund net to 0). Without it the
    loss is lost: tax 72,770, 0, 67,770, 69,770 and NPV = 10,050,246.49 - DF_1 x 722,630."""
    data = data_of(hand_model(tax_loss_carry_forward=carry))
    result = solve(data, mip_gap=0.0)
    assert result.statements.npv_usd == pytest.approx(NPV, abs=0.01)
    scen = deterministic_scenarios(data)
    scen.price_factor[0, 0, 1] = 0.5
    out = simulated(data, result.plan, scen)
    assert out["ebitda_usd"][1] == pytest.approx(615_450.0, abs=0.01)
    tax = [72_770.0, 0.0, 0.0, 45_630.0] if carry else [72_770.0, 0.0, 67_770.0, 69_770.0]
    assert out["tax_usd"] == pytest.approx(tax, abs=0.01)
    hand = NPV - DF[1] * 722_630 + (DF[2] * 67_770 if carry else 0.0)
    assert out["npv"] == pytest.approx(hand, abs=0.01)


def test_the_dscr_on_ebitda_less_tax_limits_the_draw():
    """formulation §5.11, `dscr_cash_flow: ebitda_less_tax`, at a 2.4x minimum. With a draw d in
    2026Q1, 2026Q2 owes interest 0.02 (1.75M + d) and principal 250,000 + d / 8 (debt service
    285,000 + 0.145 d) and pays tax 0.2 (403,850 - 35,000 - 0.02 d): EBITDA less tax 1,330,080 +
    0.004 d >= 2.4 (285,000 + 0.145 d) holds up to d = 646,080 / 0.344 = 1,878,139.53 (2026Q3: d <=
    1,941,122.60; 2026Q4: d <= 2,006,246.25). A dollar drawn is worth DF_0 - 0.141 DF_1 - 0.139
    DF_2 - (0.14 + 0.625) DF_3 > 0 (interest after tax in 2026Q2-Q3; in 2026Q4 the tax it saves
    is taken back by the liquidation tax, which refunds that quarter's whole tax), so the MILP draws
    exactly that: NPV 10,050,246.49 - (2M - d) x that worth, and the DSCR of 2026Q2 is 2.4x. On
    EBITDA alone d <= (1,403,850 - 684,000) / 0.348 = 2,068,534: hand's 2M. hand's plan run under
    the ebitda_less_tax model breaches it in 2026Q2 ((1,403,850 - 65,770) / 575,000 = 2.327x,
    first breach mask 2) and 2026Q3 (2.365x): the second breach in a row is uncured."""
    d = 646_080 / 0.344
    worth = DF[0] - 0.141 * DF[1] - 0.139 * DF[2] - 0.765 * DF[3]
    model = hand_model(covenants={**COVENANTS, "dscr_cash_flow": "ebitda_less_tax"})
    data = data_of(model)
    result = solve(data, mip_gap=0.0)
    assert result.plan.draws[0] == pytest.approx([d, 0.0, 0.0, 0.0], abs=0.01)
    assert result.statements.lines["dscr"][1] == pytest.approx(2.4, abs=1e-9)
    assert result.statements.npv_usd == pytest.approx(NPV - (2_000_000 - d) * worth, abs=0.01)
    plain = solve(data_of(hand_model(covenants={**COVENANTS, "dscr_cash_flow": "ebitda"})), mip_gap=0.0)
    assert plain.plan.draws[0] == pytest.approx([2_000_000.0, 0.0, 0.0, 0.0], abs=0.01)
    out = simulated(data, plain.plan, deterministic_scenarios(data))
    assert (out["breach"], out["first_breach"]) == (True, 2)
    assert (out["quarters_before_breach"], out["quarters_before_uncured"]) == (1, 2)
    assert not simulated(data, result.plan, deterministic_scenarios(data))["breach"]


def idle_model(inference_gpus: int) -> dict:
    """hand with a training demand of 200, so 100 of its 400 GPUs are idle on training, and an
    inference demand of ``inference_gpus`` at $3.00 an hour (billed 80 %: $5,256 a GPU-quarter)."""
    d = hand_model()
    d["market"]["demand_gpus"] = {"training": 200, "inference": inference_gpus}
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"hopper": 3.0}
    return d


def test_idle_gpus_are_retired_at_their_resale_value():
    """No inference demand: an idle GPU kept costs $1,000 of opex and 0.3 x 1.25 kW x 2,190 h x
    $0.05 = $41.06 of idle power a quarter and fetches 19,000 at the end; retired at the start of
    2026Q1 (formulation §1, "Timing") it fetches 0.95 x 40,000 x (1 - 4/16) = 28,500 against a book
    value of 30,000: the MILP retires the 100 then. Every quarter: revenue 200 x 5,256 + 481,800,
    electricity 0.375 MW x 50 x 2,190 = 41,062.50, opex 300,000: EBITDA 991,937.50, depreciation
    750,000; 2026Q1's EBT 991,937.50 - 750,000 - 150,000 (the sale's loss) - 40,000 = 51,937.50
    (tax 10,387.50), then 166,937.50, 176,937.50, 186,937.50. Cash flows 5,541,550 (with 2,850,000
    of proceeds and the 2M draw), 383,550, 391,550, 399,550; at the end 300 x 19,000 against a book
    value of 6M (G = -300,000: the last quarter's 37,387.50 of tax refunded), less 2.25M of debt.
    In a scenario whose resale values are 0.9 x the forecast's in 2026Q1 the sale fetches 2,565,000,
    a loss of 435,000: EBT -233,062.50, no tax, NPV lower by DF_0 (285,000 - 10,387.50)."""
    data = data_of(idle_model(0))
    result = solve(data, mip_gap=0.0)
    assert result.plan.retire.sum(axis=0) == pytest.approx([100.0, 0.0, 0.0, 0.0], abs=1e-6)
    assert result.plan.redeploy.sum() == pytest.approx(0.0, abs=1e-6)
    lines = result.statements.lines
    assert lines["ebitda_usd"] == pytest.approx([991_937.5] * 4, abs=0.01)
    assert lines["tax_usd"] == pytest.approx([10_387.5, 33_387.5, 35_387.5, 37_387.5], abs=0.01)
    flows = [5_541_550.0, 383_550.0, 391_550.0, 399_550.0]
    hand = sum(DF[t] * f for t, f in enumerate(flows)) + DF[3] * (5_700_000 + 37_387.5 - 2_250_000)
    assert result.statements.npv_usd == pytest.approx(hand, abs=0.01)
    assert hand == pytest.approx(9_674_887.20, abs=0.01)
    scen = deterministic_scenarios(data)
    scen.resale_factor[0, 0] = 0.9
    out = simulated(data, result.plan, scen)
    assert out["tax_usd"][0] == pytest.approx(0.0, abs=0.01)
    assert out["npv"] == pytest.approx(hand - DF[0] * (285_000 - 10_387.5), abs=0.01)


def test_idle_training_gpus_are_redeployed_to_inference():
    """An inference demand of 100 at $3.00: a GPU redeployed at the start of 2026Q1 (cost $1,500,
    in EBITDA) earns 5,256 - 136.88 of full power - 1,000 of opex = 4,119.13 a quarter, more than
    the 2,500 of value it loses, so the MILP redeploys the 100 idle GPUs then (not at 28,500
    each): 300 on training, 100 on inference, every quarter. Only 2026Q1 differs from hand's
    optimum: EBITDA 1,403,850 - 150,000, tax 0.2 x 213,850 = 42,770, so NPV = 10,050,246.49 -
    DF_0 x 120,000 = 9,933,072.00, above retiring them (9,674,887.20, the test above). In a scenario
    whose inference demand is 50 in 2026Q3, the 100 offered sell half each: 262,800 less revenue,
    EBT 76,050, tax 15,210 (52,560 less), NPV lower by DF_2 x 210,240, utilisation 350 / 400 there."""
    data = data_of(idle_model(100))
    result = solve(data, mip_gap=0.0)
    assert result.plan.redeploy.sum(axis=0) == pytest.approx([100.0, 0.0, 0.0, 0.0], abs=1e-6)
    assert result.plan.retire.sum() == pytest.approx(0.0, abs=1e-6)
    assert result.plan.active.sum(axis=(1, 2)).ravel() == pytest.approx([300.0] * 4 + [100.0] * 4, abs=1e-6)
    lines = result.statements.lines
    assert lines["ebitda_usd"] == pytest.approx([1_253_850.0] + [1_403_850.0] * 3, abs=0.01)
    assert lines["tax_usd"] == pytest.approx([42_770.0, 65_770.0, 67_770.0, 69_770.0], abs=0.01)
    assert result.statements.npv_usd == pytest.approx(NPV - DF[0] * 120_000, abs=0.01)
    scen = deterministic_scenarios(data)
    scen.demand[0, 1, 2] = 50.0
    out = simulated(data, result.plan, scen)
    assert out["tax_usd"][2] == pytest.approx(15_210.0, abs=0.01)
    assert out["npv"] == pytest.approx(result.statements.npv_usd - DF[2] * 210_240, abs=0.01)
    assert out["utilisation"] == pytest.approx((3 + 350 / 400) / 4)


def test_losses_left_at_the_end_shelter_the_gain_of_the_fleets_sale():
    """formulation §5.10, the liquidation rows with carry-forward (U^E): $2M of opening losses and
    a resale value of 0.6 of the price at 2 years (book value 0.5): the pool takes every quarter's
    EBT (1,380,400 in all), no tax is paid, and 968,450 is carried into 2026Q4, whose taxable
    income before the floor is y = 348,850 - 968,450 = -619,600. The fleet fetches 400 x 0.95 x
    40,000 x 0.6 = 9,120,000 against a book value of 8,000,000: G = +1,120,000, and the sale's tax
    is 0.2 max(0, y + G) - 0.2 max(0, y) = 0.2 x 500,400 = 100,080 (the losses left shelter the
    rest of the gain). The plan is hand's; NPV = sum DF_t (hand's flows + hand's taxes) + DF_3
    (9,120,000 - 100,080 - 2,250,000), the same in the MILP's statements and the evaluator."""
    d = hand_model(tax_loss_carry_forward=True, opening_tax_losses_usd=2_000_000)
    d["skus"]["H100"]["resale_fraction_by_age_years"] = [1.0, 0.75, 0.6, 0.25, 0.0]
    data = data_of(d)
    result = solve(data, mip_gap=0.0)
    assert result.plan.retire.sum() == pytest.approx(0.0, abs=1e-6)
    assert result.statements.lines["tax_usd"] == pytest.approx([0.0] * 4, abs=0.01)
    assert result.statements.liquidation_tax_usd == pytest.approx(100_080.0, abs=0.01)
    flows = [3_041_080 + 72_770, 763_080 + 65_770, 771_080 + 67_770, 779_080 + 69_770]
    hand = sum(DF[t] * f for t, f in enumerate(flows)) + DF[3] * (9_120_000 - 100_080 - 2_250_000)
    assert result.statements.npv_usd == pytest.approx(hand, abs=0.01)
    assert simulated(data, result.plan, deterministic_scenarios(data))["npv"] == pytest.approx(hand, abs=0.01)


def test_with_carry_forward_the_dscr_on_ebitda_less_tax_is_a_relaxation():
    """formulation §5.11: with `tax_loss_carry_forward` the MILP may carry a loss it does not have
    (U_0 > 0: 2026Q1 pays more tax so that 2026Q2 pays less) to meet the DSCR on EBITDA less tax.
    2026Q2's test then costs, per extra dollar drawn, 0.344 of tax paid a quarter early, 0.344
    (DF_0 - DF_1), less than the dollar's worth (test_the_dscr_on_ebitda_less_tax_limits_the_draw),
    so the draw rises past 1,878,139.53 to 2026Q3's bound, d = 657,080 / 0.3385 = 1,941,152.14,
    beyond which each dollar also needs 0.3385 moved from 2026Q3 to 2026Q1, costing 0.3385 (DF_0 -
    DF_2) more than it is worth. The statements use no loss that is not there: 2026Q2's tax is 0.2
    (368,850 - 0.02 d) = 66,005.39 and its DSCR (1,403,850 - 66,005.39) / (285,000 + 0.145 d) =
    2.362x, below 2.4x: the solve warns, and the evaluator counts the breach (DSCR, 2026Q2)."""
    d = 657_080 / 0.3385
    worth = DF[0] - 0.141 * DF[1] - 0.139 * DF[2] - 0.765 * DF[3]
    assert 0.344 * (DF[0] - DF[1]) < worth < 0.344 * (DF[0] - DF[1]) + 0.3385 * (DF[0] - DF[2])
    covenants = {**COVENANTS, "dscr_cash_flow": "ebitda_less_tax"}
    data = data_of(hand_model(tax_loss_carry_forward=True, covenants=covenants))
    with pytest.warns(FleetoptWarning, match="relaxation"):
        result = solve(data, mip_gap=0.0)
    assert result.plan.draws[0] == pytest.approx([d, 0.0, 0.0, 0.0], abs=0.01)
    tax = 0.2 * (368_850 - 0.02 * d)
    assert result.statements.lines["tax_usd"][1] == pytest.approx(tax, abs=0.01)
    dscr = (1_403_850 - tax) / (285_000 + 0.145 * d)
    assert result.statements.lines["dscr"][1] == pytest.approx(dscr, abs=1e-9)
    assert dscr == pytest.approx(2.3617, abs=1e-4)
    out = simulated(data, result.plan, deterministic_scenarios(data))
    assert (out["breach"], out["first_breach"], out["quarters_before_breach"]) == (True, 2, 1)

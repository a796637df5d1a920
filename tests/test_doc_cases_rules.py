"""Policy rules worked by hand from docs/evaluation.md alone ("Policy: how a plan reacts", quarter
step 5, "The tax of the fleet's sale at the end", "One scenario by hand"), on tests/test_doc_cases.py's
``hand`` model (its docstring has the forecast's figures), checked against the reference simulation.
"""

from __future__ import annotations

import pytest
from milp_builders import data_of
from test_doc_cases import hand_model, npv_of, simulated

from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.milp.solve import solve


def note_model() -> dict:
    """``hand`` with a $9.2M bullet note at 0 % repaid in 2026Q4 and distress-sale lots of 10."""
    d = hand_model()
    d["finance"]["facilities"]["note"] = {
        "size_usd": 9_200_000, "opening_balance_usd": 9_200_000, "fixed_rate_annual": 0.0,
        "repayment": "bullet", "maturity": "2026Q4", "draw_from": "2026Q1", "draw_until": "2026Q1",
    }  # fmt: skip
    d["policy"] = {"sale_block_gpus": 10}
    return d


@pytest.fixture(scope="module")
def note():
    data = data_of(note_model())
    return data, solve(data, mip_gap=0.0)


def test_the_note_leaves_the_hand_plan_as_it_was(note):
    """A 0 % note changes no decision (nothing to draw, no interest, a bullet maturing inside the
    horizon cannot be prepaid): the hand plan, its cash less 9.2M in 2026Q4 (1,154,320, above the
    $1M minimum), its NPV less DF_3 x 9.2M: 10,050,246.49 - 8,363,636.36 = 1,686,610.13."""
    _, result = note
    assert result.plan.draws[0] == pytest.approx([2_000_000.0, 0.0, 0.0, 0.0], abs=0.01)
    assert result.statements.lines["cash_usd"][3] == pytest.approx(1_154_320.0, abs=0.01)
    assert result.statements.npv_usd == pytest.approx(1_686_610.13, abs=0.01)


@pytest.mark.parametrize(
    ("resale", "cash", "sold", "npv"),
    [(1.0, 1_115_782.0, 213_750.0, 1_421_510.13), (1.06, 1_128_607.0, 226_575.0, 1_821_048.31)],
)
def test_a_distress_sale_in_the_last_quarter_of_a_taxable_profit(note, resale, cash, sold, npv):
    """Policy rule 4 in the last quarter, whose taxable income stays positive. Hopper's market price
    is 0.8 of the forecast in 2026Q4: revenue 315,360 lower, EBT 348,850 - 315,360 = 33,490 > 0, tax
    6,698 (69,770 forecast); cash 1,154,320 - 315,360 + 63,072 = 902,032, 97,968 below the default
    level ($1M). A GPU (age 7 quarters at the start of 2026Q4) fetches 0.95 x 40,000 x 9/16 = 21,375
    x the resale factor r of 2026Q4; one lot of 10 covers the gap.
    The sale's gain against the book value at the start of the quarter (22,500 a GPU) is taxed
    "the next quarter", i.e. in the terminal value, while y keeps the sold GPUs' 2,500 of depreciation
    each (the whole 1,000,000): G = 390 x (19,000 r - 20,000) + 10 x (21,375 r
    - 22,500), and the liquidation tax is 0.2 max(0, y + G) - 0.2 y with y = 33,490.
    r = 1: 213,750 sold, cash 1,115,782; G = -390,000 - 11,250 = -401,250: the loss saves tax down to
    0, a liquidation tax of -6,698; NPV = sum DF_t x (3,041,080, 763,080, 771,080, -8,459,458) + DF_3
    x (7,410,000 + 6,698 - 2,250,000) = 1,421,510.13.
    r = 1.06: 226,575 sold, cash 1,128,607; G = 54,600 + 1,575 = 56,175 > 0: liquidation tax
    0.2 x 56,175 = 11,235 (10,920 without the sale's gain); NPV = sum DF_t x (3,041,080, 763,080,
    771,080, -8,446,633) + DF_3 x (7,854,600 - 11,235 - 2,250,000) = 1,821,048.31."""
    data, result = note
    scen = deterministic_scenarios(data)
    scen.price_factor[0, 0, 3] = 0.8
    scen.resale_factor[0, 3] = resale
    out = simulated(data, result.plan, scen)
    assert out["tax_usd"] == pytest.approx([72_770.0, 65_770.0, 67_770.0, 6_698.0], abs=0.01)
    assert out["cash_usd"][3] == pytest.approx(cash, abs=0.01)
    assert out["distress_sold_usd"] == pytest.approx(sold, abs=0.01)
    assert not out["default"]
    terminal = 390 * 19_000 * resale - max(0.0, 0.2 * (33_490 + 390 * (19_000 * resale - 20_000)
                                                      + sold - 225_000)) + 6_698 - 2_250_000  # fmt: skip
    assert npv_of([3_041_080.0, 763_080.0, 771_080.0, cash - 9_575_240.0], terminal) == pytest.approx(
        npv, abs=0.01
    )
    assert out["npv"] == pytest.approx(npv, abs=0.01)


def prepaying_model(buffer: float) -> dict:
    """``hand`` with the term loan at 4 % + 12 % (4 % a quarter, above the 2.41 % discount even
    after the 20 % tax), run with a liquidity buffer."""
    d = hand_model()
    d["finance"]["facilities"]["term-loan"]["spread_over_reference_annual"] = 0.12
    d["policy"] = {"liquidity_buffer_usd": buffer}
    return d


def test_a_liquidity_buffer_cuts_the_prepayment():
    """Policy rule 3. The MILP draws nothing and prepays in 2026Q1 the 1,000,000 of the opening
    $2M that falls due after the horizon (formulation §5.9: a prepayment cannot shorten the
    schedule), so the balance is 750,000, 500,000, 250,000, 0. Run with a $4.5M buffer: 2026Q1
    leaves C = 5,000,000 + 1,403,850 - 80,000 interest - 250,000 principal - 64,770 tax =
    6,009,080; C - Q = 5,009,080 is 490,920 below the floor 1,000,000 + 4,500,000, so x = 490,920
    is cut, 509,080 prepaid and cash ends at 5,500,000. The kept 490,920 pays 4 % (19,636.80 a
    quarter) and nothing of it is repaid (the schedule's 250,000 a quarter is what the plan's own
    balance pays): interest 49,636.80, 39,636.80, 29,636.80; tax 70,842.64, 72,842.64, 74,842.64;
    cash 6,533,370.56, 7,574,741.12, 8,624,111.68; debt at the end 490,920. Liquidation tax -0.2 x
    374,213.20 (the last EBT; the fleet's loss of 400,000 is larger) = -74,842.64. NPV = sum DF_t x
    (500,000, 1,033,370.56, 1,041,370.56, 1,049,370.56) + DF_3 x (7,600,000 + 74,842.64 - 490,920)
    = 9,927,848.17, against 9,942,233.92 with no buffer."""
    plan = solve(data_of(prepaying_model(0.0)), mip_gap=0.0)
    assert plan.plan.prepay[0] == pytest.approx([1_000_000.0, 0.0, 0.0, 0.0], abs=0.01)
    assert plan.plan.draws.sum() == pytest.approx(0.0, abs=0.01)
    assert plan.statements.npv_usd == pytest.approx(9_942_233.92, abs=0.01)
    data = data_of(prepaying_model(4_500_000.0))
    out = simulated(data, plan.plan, deterministic_scenarios(data),
                    record=("cash_usd", "prepayment_usd", "interest_usd", "tax_usd", "debt_usd"))  # fmt: skip
    assert out["prepayment_usd"] == pytest.approx([509_080.0, 0.0, 0.0, 0.0], abs=0.01)
    assert out["interest_usd"] == pytest.approx([80_000.0, 49_636.8, 39_636.8, 29_636.8], abs=0.01)
    assert out["tax_usd"] == pytest.approx([64_770.0, 70_842.64, 72_842.64, 74_842.64], abs=0.01)
    assert out["cash_usd"] == pytest.approx([5_500_000.0, 6_533_370.56, 7_574_741.12, 8_624_111.68], abs=0.01)
    assert out["debt_usd"][3] == pytest.approx(490_920.0, abs=0.01)
    assert out["prepayment_cut"] == 1.0 and not out["breach"]
    hand_npv = npv_of([500_000.0, 1_033_370.56, 1_041_370.56, 1_049_370.56], 7_600_000 + 74_842.64 - 490_920)
    assert hand_npv == pytest.approx(9_927_848.17, abs=0.01)
    assert out["npv"] == pytest.approx(hand_npv, abs=0.01)

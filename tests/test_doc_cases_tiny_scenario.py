"""docs/evaluation.md, "One scenario by hand", worked case: tiny's forecast optimum with every market
price 70 % down from 2026Q4, worked by hand from the documents (quarter steps 5-6, policy rule 3, the
NPV if lenders accelerate) and run by the document's own recipe."""

from __future__ import annotations

import numpy as np
import pytest

from fleetopt.core.data import load
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.planfile import load_plans
from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate

LINES = ("cash_usd", "ebitda_usd", "interest_usd", "prepayment_usd", "revolver_draw_usd", "debt_usd")


@pytest.fixture(scope="module")
def prices_down(solve_run):
    _, data = load(solve_run / "model.yaml")
    plans, labels, _ = load_plans(solve_run / "plan.npz", data)
    scen = deterministic_scenarios(data)
    scen.price_factor[0, :, 1:] = 0.3
    batch = compile_plans(data, plans, labels)
    out = simulate(SimulationConstants.from_data(data), batch, scen, record=LINES)
    return {k: v[0, 0] for k, v in out.items()}


def test_the_revolver_carries_a_prepayment_the_borrowing_base_needs(prices_down):
    out = prices_down
    assert out["ebitda_usd"][1] == pytest.approx(10_455_277, abs=1)
    # 27,441,305 before the 4,646,154 prepayment, which the base needs whole: paid, the revolver fills
    assert out["prepayment_usd"][1] == pytest.approx(4_646_154, abs=1)
    assert out["revolver_draw_usd"][1] == pytest.approx(25_000_000 - 22_795_151, abs=1)
    assert out["interest_usd"][2] == pytest.approx(149_369_231 * 0.02025 + 2_204_849 * 0.03, abs=1)
    np.testing.assert_allclose(out["cash_usd"][1:3], [25_000_000, 26_155_627], atol=1)
    # 2028Q2: the base, 93.4 % used, does not need the planned 1,582,090: cut whole
    assert out["prepayment_usd"][7] == pytest.approx(0, abs=1)
    assert out["debt_usd"][7] == pytest.approx(95_572_978, abs=1)


def test_debt_service_cover_breaks_cured_twice_then_uncured(prices_down):
    out = prices_down
    assert (out["breach"], out["uncured_breach"], out["default"]) == (1.0, 1.0, 0.0)
    assert out["first_breach"] == 2  # EBITDA / debt service, 2026Q4
    assert out["quarters_before_uncured"] == 5  # 2027Q4: 2027Q3 was cured
    assert out["debt_at_uncured_breach"] == pytest.approx(102_407_284, abs=1)
    assert out["uncovered_debt_at_uncured_breach"] == 0.0
    assert out["npv"] == pytest.approx(-122_732_871, abs=1)
    assert out["npv_limited"] == out["npv"]
    assert out["npv_accelerated"] == pytest.approx(-101_073_139, abs=1)

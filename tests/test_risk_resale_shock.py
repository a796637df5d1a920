"""GPU resale values below their curves, for good (`risk.resale_shock`, fleetopt/evaluate/factors.py
`_resale_shock`, docs/evaluation.md): `resale_factor` is multiplied by 1 - `value_drop` from
`from_quarter` on, in every scenario or in those whose own uniform (stream 18, quarter 0's) is below
`probability`; a stress on top of the forecast, not renormalised by `mean_one`, and every other
factor drawn as without it. Every backend reads the factor, so disposals, distress sales, the
terminal value and the borrowing base all see it.

The hand case is test_doc_cases.py's model ``hand``: 400 H100 whose gross resale value is $30,000,
$27,500, $25,000 and $22,500 a GPU in 2026Q1-Q4 (the fleet's $12M, $11M, $10M, $9M), a term loan
owing $3.75M, $3.25M, $2.75M and $2.25M at the quarters' ends at `max_ltv` 0.9, so the borrowing base
needs $4.17M, $3.61M, $3.06M and $2.50M of collateral.

* Case (c) of test_doc_cases.py as a model file: lab-a's default placed in 2026Q3
  (`risk.customer_default_quarter`) and resale values 0.2 down from 2026Q4: every scenario is the
  case, NPV = sum of DF_t x (3,041,080, 763,080, 357,050, 367,050) + DF_3 x (0.8 x 7,600,000 -
  2,250,000) = $7,844,961.23, on NumPy and on the C build of the kernel.
* A drop of 0.7 from 2026Q1: the fleet is worth 0.3 x $12M = $3.6M against the $4.17M needed, a
  borrowing-base breach in 2026Q1. From 2026Q4: 0.3 x $9M = $2.7M against $2.50M, no breach.
"""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import tiny_model
from milp_builders import data_of
from test_doc_cases import hand_model, npv_of, simulated

from fleetopt.core.covenants import BORROWING_BASE, kind_bit
from fleetopt.evaluate.backend import c_compiler
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.factors import Stream, uniforms
from fleetopt.evaluate.risk_words import risk_words
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.milp.solve import solve
from fleetopt.schema.issues import ModelError

BACKENDS = [
    "numpy",
    pytest.param("cpu-kernel", marks=pytest.mark.skipif(c_compiler() is None, reason="no C compiler")),
]
N = 40


def hand_shocked(**shock) -> dict:
    d = hand_model()
    d["risk"] = {"resale_shock": shock}
    return d


def test_values_fall_by_the_drop_from_its_quarter_in_every_scenario():
    scen = generate_scenarios(data_of(hand_shocked(value_drop=0.2, from_quarter="2026Q4")), 7, 0, N)
    np.testing.assert_array_equal(scen.resale_factor, [[1.0, 1.0, 1.0, 0.8]] * N)
    whole = generate_scenarios(data_of(hand_shocked(value_drop=0.2)), 7, 0, N)  # from the first quarter
    np.testing.assert_array_equal(whole.resale_factor, np.full((N, 4), 0.8))


def test_with_a_probability_the_fall_comes_in_the_scenarios_whose_draw_is_below_it():
    scen = generate_scenarios(data_of(hand_shocked(value_drop=0.2, from_quarter="2026Q3", probability=0.5)),
                              7, 0, N)  # fmt: skip
    comes = uniforms(7, np.arange(N), (Stream.RESALE_SHOCK, 0), 1)[:, 0] < 0.5
    assert 0 < comes.sum() < N
    want = np.where(comes[:, None], [1.0, 1.0, 0.8, 0.8], 1.0)
    np.testing.assert_array_equal(scen.resale_factor, want)


def test_every_other_factor_is_drawn_as_without_it_and_mean_one_leaves_it():
    """tiny's whole risk block (a resale walk of 0.2, `mean_one`): with a drop of 0.3 from 2027Q1
    (quarter 2) in every scenario, `resale_factor` is the one without times 0.7 from quarter 2, not
    renormalised; every other array is the same, bit for bit."""
    plain = tiny_model()
    hit = tiny_model()
    hit["risk"]["resale_shock"] = {"value_drop": 0.3, "from_quarter": "2027Q1"}
    before = generate_scenarios(data_of(plain), 5, 0, 300).arrays()
    after = generate_scenarios(data_of(hit), 5, 0, 300).arrays()
    for name, values in before.items():
        if name != "resale_factor":
            np.testing.assert_array_equal(after[name], values, err_msg=name)
    fall = np.where(np.arange(8) >= 2, 0.7, 1.0)
    np.testing.assert_allclose(after["resale_factor"], before["resale_factor"] * fall, rtol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_case_c_as_a_model_file_on_every_backend(backend):
    d = hand_shocked(value_drop=0.2, from_quarter="2026Q4")
    d["risk"]["customer_default_quarter"] = {"lab-a": "2026Q3"}
    data = data_of(d)
    batch = compile_plans(data, [solve(data, mip_gap=0.0).plan], ["hand"])
    npv = evaluate(data, batch, 8, 7, backend=backend, keep_matrix=True).npv_matrix[0]
    hand_npv = npv_of([3_041_080.0, 763_080.0, 357_050.0, 367_050.0], 0.8 * 7_600_000 - 2_250_000)
    assert hand_npv == pytest.approx(7_844_961.23, abs=0.01)
    np.testing.assert_allclose(npv, hand_npv, atol=0.01)


@pytest.mark.parametrize("start, breach", [("2026Q1", True), ("2026Q4", False)])
def test_the_borrowing_base_values_the_fleet_after_the_fall(start, breach):
    data = data_of(hand_shocked(value_drop=0.7, from_quarter=start))
    plan = solve(data, mip_gap=0.0).plan
    out = simulated(data, plan, generate_scenarios(data, 7, 0, 1))
    assert bool(out["breach"]) is breach
    if breach:
        assert out["quarters_before_breach"] == 0
        assert int(out["first_breach"]) & kind_bit(BORROWING_BASE)


def test_a_fall_from_a_quarter_outside_the_horizon_is_refused():
    d = tiny_model()
    d["risk"]["resale_shock"] = {"value_drop": 0.3, "from_quarter": "2030Q1"}
    with pytest.raises(ModelError, match=r"risk\.resale_shock\.from_quarter: quarter 2030Q1 is outside the "
                                         r"horizon 2026Q3\.\.2028Q2"):
        data_of(d)


def test_a_model_whose_only_risk_is_the_fall_says_so():
    """`fleetopt validate` and a report's provenance said "none: every scenario is the forecast"."""
    assert risk_words(data_of(hand_shocked(value_drop=0.3))) == (
        "resale values 30% below their curves from 2026Q1 (in every future)")
    assert risk_words(data_of(hand_shocked(value_drop=0.3, from_quarter="2026Q3", probability=0.25))) == (
        "resale values 30% below their curves from 2026Q3 (chance 25%)")

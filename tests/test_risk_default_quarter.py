"""A customer's default placed in a quarter (`risk.customer_default_quarter`, fleetopt/evaluate/factors.py
`customer_default_quarters`, docs/evaluation.md): in every scenario the customer has defaulted by that
quarter, at the drawn quarter where its hazard draws an earlier one; every other customer's defaults
are drawn as without the field.

The hand case is test_doc_cases.py's model ``hand`` (its docstring works the forecast out): lab-a's
100 GPUs on a $2.20 contract (481,800 a quarter) in 2026Q1-Q4. Placed in 2026Q3 with a hazard of 0,
every scenario is case (c) of test_doc_cases.py at the forecast's resale values: EBITDA 922,050 in
2026Q3-Q4, no tax, flows (3,041,080, 763,080, 357,050, 367,050), and at the end the GPUs fetch
7,600,000 against a book value of 8,000,000 with no tax to give back (the last quarter's taxable
income is negative): NPV = sum of DF_t x the flows + DF_3 x (7,600,000 - 2,250,000) = $9,226,779.41
(case (c)'s $7,844,961.23 + DF_3 x 0.2 x 7,600,000).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from evaluate_builders import tiny_model
from milp_builders import data_of
from test_doc_cases import hand_model, npv_of, simulated

from fleetopt.errors import FleetoptWarning
from fleetopt.evaluate.factors import Stream, customer_default_quarters, uniforms
from fleetopt.evaluate.risk_words import risk_words
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.milp.solve import solve
from fleetopt.schema.issues import ModelError

N = 40


def hand_placed(**risk) -> dict:
    d = hand_model()
    d["risk"] = {"customer_default_quarter": {"lab-a": "2026Q3"}, **risk}
    return d


def test_a_default_placed_in_a_quarter_ends_the_contract_there_in_every_scenario():
    data = data_of(hand_placed())
    plan = solve(data, mip_gap=0.0).plan  # the forecast has no default: the hand optimum
    scen = generate_scenarios(data, 7, 0, N)
    np.testing.assert_array_equal(scen.contract_alive[:, 0, :], [[True, True, False, False]] * N)
    out = simulated(data, plan, scen.rows(slice(0, 1)))
    hand_npv = npv_of([3_041_080.0, 763_080.0, 357_050.0, 367_050.0], 7_600_000 - 2_250_000)
    assert hand_npv == pytest.approx(9_226_779.41, abs=0.01)
    assert out["npv"] == pytest.approx(hand_npv, abs=0.01)


def test_an_earlier_drawn_default_is_kept():
    """A hazard of 0.1: lab-a defaults in the first quarter whose uniform is below 0.1, or in 2026Q3
    (quarter 2) if none is by then."""
    data = data_of(hand_placed(customer_default_hazard_per_quarter=0.1))
    idx = np.arange(N)
    hit = uniforms(7, idx, (Stream.CUSTOMER, 0), 4) < 0.1
    drawn = np.where(hit.any(axis=1), hit.argmax(axis=1), 4)
    assert set(drawn) >= {0, 1, 4}  # early ones to keep, late ones to bring forward
    np.testing.assert_array_equal(customer_default_quarters(data, 7, idx)[:, 0], np.minimum(drawn, 2))


def test_every_other_customer_s_defaults_are_drawn_as_without_it():
    """docs/evaluation.md's example: tiny with seed 3 has scenario 2's enterprise-b (j = 0) default in
    quarter 3 and lab-a (j = 1) in quarter 5. With lab-a placed in 2027Q1 (quarter 2) lab-a defaults
    there, enterprise-b still in quarter 3; over 500 scenarios enterprise-b's quarters are the same."""
    plain = tiny_model()
    placed = tiny_model()
    placed["risk"]["customer_default_quarter"] = {"lab-a": "2027Q1"}
    idx = np.arange(500)
    before = customer_default_quarters(data_of(plain), 3, idx)
    after = customer_default_quarters(data_of(placed), 3, idx)
    assert before[2].tolist() == [3, 5] and after[2].tolist() == [3, 2]
    np.testing.assert_array_equal(after[:, 0], before[:, 0])
    np.testing.assert_array_equal(after[:, 1], np.minimum(before[:, 1], 2))


@pytest.mark.parametrize("placed, said", [
    ({"nobody": "2027Q1"}, r"risk\.customer_default_quarter\.nobody: unknown customer 'nobody' "
                           r"\(customers: enterprise-b, lab-a\)"),
    ({"lab-a": "2030Q1"}, r"risk\.customer_default_quarter\.lab-a: quarter 2030Q1 is outside the horizon "
                          r"2026Q3\.\.2028Q2"),
    ({"lab-a": "2027-Q1"}, r"risk\.customer_default_quarter\.lab-a: '2027-Q1' is not a quarter.*2027Q1"),
])  # fmt: skip
def test_an_unknown_customer_or_a_quarter_outside_the_horizon_is_refused(placed, said):
    d = tiny_model()
    d["risk"]["customer_default_quarter"] = placed
    with pytest.raises(ModelError, match=said):
        data_of(d)


def test_a_price_fall_at_a_customer_whose_default_is_placed_is_not_said_to_never_come():
    """risk.price_impact_notes warns of a fall at a customer whose hazard is 0 (it never defaults);
    with its default placed it does default, and the model loads in silence."""
    d = hand_placed(customer_default_price_impact={"lab-a": 0.2})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FleetoptWarning)
        data_of(d)


def test_a_model_whose_only_risk_is_a_placed_default_says_so():
    """`fleetopt validate` and a report's provenance said "none: every scenario is the forecast" of a
    model whose risk block only places a default."""
    words = risk_words(data_of(hand_placed()))
    assert words == "customer defaults placed in every future (lab-a by 2026Q3)"

"""A customer's default lowers every market price (`risk.customer_default_price_impact`,
fleetopt/evaluate/factors.py `_customer_default_price_impact`, docs/evaluation.md): each price
factor is multiplied by 1 - the customer's fraction from the quarter it defaults in, the quarter
its contracts end, for good; several customers' falls multiply; `mean_one` does not renormalise.

The hand case is test_doc_cases.py's model ``hand`` (its docstring works the forecast out): lab-a's
100 GPUs on a $2.20 contract (481,800 a quarter), 300 on the training market at $3.00 billed 80 %
(5,256 a GPU-quarter, 1,576,800 a quarter, demand 300), EBITDA 1,403,850 a quarter.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import run_cli
from evaluate_builders import TINY_PATH, tiny_model
from milp_builders import data_of
from test_doc_cases import hand_model, npv_of, simulated

from fleetopt.errors import FleetoptWarning
from fleetopt.evaluate.backend import c_compiler
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.path import scenario_path
from fleetopt.evaluate.scenarios import ScenarioSet, generate_scenarios
from fleetopt.milp.solve import solve
from fleetopt.schema.issues import ModelError

BACKENDS = [
    "numpy",
    pytest.param("cpu-kernel", marks=pytest.mark.skipif(c_compiler() is None, reason="no C compiler")),
]
SEED = 0  # its scenarios 0-7: lab-a defaults in quarter 2 in scenario 3, in quarter 0 in 4 and 6
DEFAULTS_IN_QUARTER_2 = 3
# 2026Q3-Q4 after lab-a's default in 2026Q3 with prices 20 % down: no contract, and the market still
# takes its demand of 300 GPUs (the 100 freed ones share it) at 0.8 x 1,576,800 = 1,261,440;
# EBITDA 1,261,440 - 54,750 electricity - 400,000 opex - 200,000 overhead = 606,690
EBITDA = [1_403_850.0, 1_403_850.0, 606_690.0, 606_690.0]


def hand_with_impact(fraction: float = 0.2) -> dict:
    d = hand_model()
    d["risk"] = {"customer_default_hazard_per_quarter": 0.1,
                 "customer_default_price_impact": {"lab-a": fraction}}  # fmt: skip
    return d


@pytest.fixture(scope="module")
def hand():
    data = data_of(hand_with_impact())
    return data, solve(data, mip_gap=0.0).plan


def default_quarters(scen: ScenarioSet, contract: int = 0) -> np.ndarray:
    """(S,) the quarter each scenario's customer of ``contract`` defaults in (T: none)."""
    return scen.contract_alive[:, contract, :].sum(axis=1)


def test_prices_fall_by_the_fraction_from_the_quarter_the_customer_defaults_in(hand):
    """No other risk moves prices, so each price factor is 1 before lab-a's default and 0.8 from its
    quarter on, in the scenarios where it defaults (0, 2 or never among these)."""
    data, _ = hand
    scen = generate_scenarios(data, SEED, 0, 8)
    first = default_quarters(scen)
    assert list(first) == [4, 4, 4, 2, 0, 4, 0, 4]
    want = np.where(np.arange(4)[None, :] >= first[:, None], 0.8, 1.0)
    for g in range(scen.price_factor.shape[1]):  # every generation's
        np.testing.assert_array_equal(scen.price_factor[:, g, :], want)


def test_the_market_revenue_falls_by_the_fraction_after_the_default(hand):
    """Scenario 3, lab-a gone from 2026Q3: EBITDA as in the module's EBITDA (market revenue 1,261,440
    against 1,576,800, exactly 20 % less); no tax (EBT below 0); cash 8,804,160 + 606,690 - 65,000
    interest - 500,000 principal = 8,845,850, then + 606,690 - 55,000 - 500,000 = 8,897,540; the GPUs
    fetch 7,600,000 at the end against a book value of 8,000,000 (no liquidation tax: the last EBT is
    a loss). NPV = sum of DF_t x (3,041,080, 763,080, 41,690, 51,690) + DF_3 x (7,600,000 - 2,250,000)
    = $8,646,484.42, against $9,226,779.41 without the price fall: 0.2 x 1,576,800 x (DF_2 + DF_3) less."""
    data, plan = hand
    scen = generate_scenarios(data, SEED, DEFAULTS_IN_QUARTER_2, DEFAULTS_IN_QUARTER_2 + 1)
    out = simulated(data, plan, scen)
    assert out["ebitda_usd"] == pytest.approx(EBITDA, abs=0.01)
    assert out["tax_usd"] == pytest.approx([72_770.0, 65_770.0, 0.0, 0.0], abs=0.01)
    assert out["cash_usd"] == pytest.approx([8_041_080.0, 8_804_160.0, 8_845_850.0, 8_897_540.0], abs=0.01)
    hand_npv = npv_of([3_041_080.0, 763_080.0, 41_690.0, 51_690.0], 7_600_000 - 2_250_000)
    assert hand_npv == pytest.approx(8_646_484.42, abs=0.01)
    assert out["npv"] == pytest.approx(hand_npv, abs=0.01)


def test_tied_resale_values_fall_with_the_prices_and_the_gpus_fetch_less_at_the_end(hand):
    """With resale values tied to rental prices (`resale_swing_share`; no price swing here, so any w)
    the fall lasts, so it passes to them in full: every scenario's resale factor is its price factor,
    scenario 3's 1, 1, 0.8, 0.8 (4's 0.8 from quarter 0, today, as the prices). The GPUs fetch 0.8 x
    7,600,000 = 6,080,000 at the end (the last EBT a loss: no liquidation tax either way), so the NPV
    is 0.2 x 7,600,000 x DF_3 = $1,381,818.18 below the untied $8,646,484.42: $7,264,666.24. Every
    other figure of the path is as untied."""
    d = hand_with_impact()
    d["risk"]["resale_swing_share"] = 0.6
    data, plan = data_of(d), hand[1]
    every = generate_scenarios(data, SEED, 0, 8)  # lab-a defaults in quarter 0 in scenarios 4 and 6
    np.testing.assert_array_equal(every.resale_factor, every.price_factor[:, 0, :])
    np.testing.assert_array_equal(every.resale_factor[[3, 4]], [[1.0, 1.0, 0.8, 0.8], [0.8] * 4])
    scen = generate_scenarios(data, SEED, DEFAULTS_IN_QUARTER_2, DEFAULTS_IN_QUARTER_2 + 1)
    out = simulated(data, plan, scen)
    assert out["ebitda_usd"] == pytest.approx(EBITDA, abs=0.01)
    assert out["cash_usd"] == pytest.approx([8_041_080.0, 8_804_160.0, 8_845_850.0, 8_897_540.0], abs=0.01)
    hand_npv = npv_of([3_041_080.0, 763_080.0, 41_690.0, 51_690.0], 0.8 * 7_600_000 - 2_250_000)
    assert hand_npv == pytest.approx(7_264_666.24, abs=0.01)
    assert out["npv"] == pytest.approx(hand_npv, abs=0.01)


@pytest.mark.parametrize(("share", "fallen"), [(None, "market prices"),
                                               (0.6, "market prices and GPU resale values")])  # fmt: skip
def test_the_explained_path_says_what_the_default_lowers(hand, share, fallen):
    """Scenario 3's events name what falls with lab-a's default: the prices, and the resale values
    where they are tied to them (the path's resale factor shows 0.8 from 2026Q3 then)."""
    d = hand_with_impact()
    d["risk"]["resale_swing_share"] = share
    data = data_of(d)
    path = scenario_path(data, compile_plans(data, [hand[1]], ["hand"]), SEED, DEFAULTS_IN_QUARTER_2)
    assert path.events()[0] == ("2026Q3: customer lab-a defaults: contract lab-a-training ends (100 GPUs), "
                                f"its GPUs offered on the market, and {fallen} 20% lower for good")


@pytest.mark.parametrize("backend", BACKENDS)
def test_numpy_and_the_c_build_evaluate_the_fall_alike(hand, backend):
    """The engine draws the scenarios for either backend: scenario 3's NPV is the hand figure, and
    the C build's NPV of every scenario is NumPy's."""
    data, plan = hand
    batch = compile_plans(data, [plan], ["hand"])
    got = evaluate(data, batch, 8, SEED, backend=backend, keep_matrix=True).npv_matrix[0]
    assert got[DEFAULTS_IN_QUARTER_2] == pytest.approx(8_646_484.42, abs=0.01)
    want = evaluate(data, batch, 8, SEED, backend="numpy", keep_matrix=True).npv_matrix[0]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_two_customers_falls_multiply_and_nothing_else_moves():
    """tiny's whole risk block, customers defaulting 10 % a quarter: with lab-a at 0.1 and
    enterprise-b at 0.2, every price factor is the one without the setting times 0.9 from lab-a's
    default quarter and 0.8 from enterprise-b's (0.72 once both have defaulted), though `mean_one`
    holds: not renormalised. Every other scenario array is the same, bit for bit."""
    plain = tiny_model()
    plain["risk"]["customer_default_hazard_per_quarter"] = 0.1
    hit = tiny_model()
    hit["risk"] = {**plain["risk"], "customer_default_price_impact": {"lab-a": 0.1, "enterprise-b": 0.2}}
    data = data_of(hit)
    before = generate_scenarios(data_of(plain), 4, 0, 300)
    after = generate_scenarios(data, 4, 0, 300)
    for name, values in before.arrays().items():
        if name != "price_factor":
            np.testing.assert_array_equal(after.arrays()[name], values, err_msg=name)
    quarters = np.arange(data.T)[None, :]
    contract_of = {c.customer: k for k, c in enumerate(data.contracts)}
    lab, enterprise = (default_quarters(after, contract_of[c])[:, None] for c in ("lab-a", "enterprise-b"))
    fall = np.where(quarters >= lab, 0.9, 1.0) * np.where(quarters >= enterprise, 0.8, 1.0)
    assert ((lab < data.T) & (enterprise < data.T)).any()  # some scenarios see both
    np.testing.assert_allclose(after.price_factor, before.price_factor * fall[:, None, :], rtol=1e-15)


def test_a_model_without_the_setting_draws_the_scenarios_as_before():
    """An empty mapping, or fractions of 0, give the very arrays of a model that never names it."""
    plain = tiny_model()
    for impact in ({}, {"lab-a": 0.0}):
        d = tiny_model()
        d["risk"]["customer_default_price_impact"] = impact
        got, want = generate_scenarios(data_of(d), 7, 0, 50), generate_scenarios(data_of(plain), 7, 0, 50)
        for name, values in want.arrays().items():
            np.testing.assert_array_equal(got.arrays()[name], values, err_msg=name)


@pytest.mark.parametrize(
    ("impact", "said"),
    [({"lab-z": 0.1}, r"customer_default_price_impact\.lab-z(.|\n)*unknown customer 'lab-z'"),
     ({"lab-a": 1.0}, r"customer_default_price_impact\.lab-a(.|\n)*must be below 1"),
     ({"lab-a": 10}, r"customer_default_price_impact\.lab-a(.|\n)*must be below 1"),
     ({"lab-a": -0.1}, r"customer_default_price_impact\.lab-a(.|\n)*greater than or equal to 0"),
     ({"lab-a": float("nan")}, r"customer_default_price_impact\.lab-a(.|\n)*finite")],
)  # fmt: skip
def test_a_bad_entry_is_refused_by_name(impact, said):
    d = tiny_model()
    d["risk"]["customer_default_price_impact"] = impact
    with pytest.raises(ModelError, match=said):
        data_of(d)


def test_the_command_line_refuses_an_unknown_customer():
    code, out, err = run_cli("validate", str(TINY_PATH),
                             "--set", "risk.customer_default_price_impact={lab-z: 0.1}")  # fmt: skip
    assert code != 0
    assert "unknown customer 'lab-z'" in " ".join((out + err).replace("│", " ").split())


def test_a_fall_at_a_customer_that_never_defaults_is_said():
    """With every hazard 0 no customer defaults, so the summary's "market prices fall for good at a
    customer's default (lab-a -20%)" would describe a stress the futures never draw: the model loads
    with a warning naming the entry. A rating or a hazard of its own makes the fall possible, and
    silent."""
    d = tiny_model()
    d["risk"] = {"customer_default_price_impact": {"lab-a": 0.2}}
    with pytest.warns(FleetoptWarning, match=r"customer_default_price_impact\.lab-a: lab-a never defaults "
                                             r"\(its default hazard is 0.*the 20% price fall never comes"):
        data_of(d)
    for rated in ({"customer_ratings": {"lab-a": "BB"}}, {"customer_hazard_overrides": {"lab-a": 0.01}}):
        d["risk"] = {"customer_default_price_impact": {"lab-a": 0.2}, **rated}
        with warnings.catch_warnings():
            warnings.simplefilter("error", FleetoptWarning)
            data_of(d)


def test_a_fall_at_a_customer_whose_override_is_zero_asks_for_the_override_not_a_rating():
    """lab-a rated BB with a hazard override of 0: the override wins (Risk.customer_hazard), so the
    price fall never comes, and a rating, which lab-a already has, would not bring it: the warning
    names the override as the hazard to change."""
    d = tiny_model()
    d["risk"] = {"customer_default_price_impact": {"lab-a": 0.2}, "customer_ratings": {"lab-a": "BB"},
                 "customer_hazard_overrides": {"lab-a": 0.0}}  # fmt: skip
    with pytest.warns(FleetoptWarning) as caught:
        data_of(d)
    said = " ".join(str(w.message) for w in caught)
    assert "risk.customer_hazard_overrides.lab-a is 0, and replaces any rating's hazard" in said
    assert "give it a rating" not in said

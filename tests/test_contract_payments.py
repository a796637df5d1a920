"""Customer prepayments and termination payments on contracts (docs/formulation.md §5.10,
docs/evaluation.md "Contract payments"), in the MILP, the NumPy simulation and the CPU kernel.

The instance (`test_policy.model`): one site, 200 GPUs of SKU A installed before the horizon of
four quarters (2026Q1-Q4), no tax, no debt, zero discount rate. The contract `anchor` takes 100
GPUs at $2/h from 2026Q1 for four quarters: one quarter of it is worth V = 100 x 2 x 2,190 =
$438,000. The hand-built plan keeps 100 GPUs on the contract and 100 on the training market.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from evaluate_builders import ALL_RISK, batch, plan_variants, power_debt_model, two_site_model, with_risk
from milp_builders import HOURS, data_of, load
from test_evaluate_reproduction import assert_reproduces
from test_kernel_cpu import assert_agree
from test_policy import BACKENDS, NO_COMPILER, POLICY, late_block, late_block_model, model, plan_of, run

from fleetopt.core.economics.statements import plan_statements
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants
from fleetopt.milp import operations
from fleetopt.milp.build import build_model
from fleetopt.milp.builder import Builder
from fleetopt.milp.solve import solve
from fleetopt.schema.issues import ModelError

# the instances hold fleets beyond their site's power on purpose (a short site, a late block)
pytestmark = pytest.mark.filterwarnings("ignore:.*cannot run it all")

V = 100 * 2.0 * HOURS  # USD of one quarter of the contract: 438,000


def _cash_and_ebitda(d: dict, kernel: bool, scen_edit=None) -> tuple[np.ndarray, np.ndarray, float]:
    data = data_of(d)
    scen = deterministic_scenarios(data, 1)
    if scen_edit is not None:
        scen_edit(scen)
    plan = plan_of(data)
    cash = run(data, plan, POLICY, scen, kernel=kernel, line="cash_usd")
    ebitda = run(data, plan, POLICY, scen, kernel=kernel)
    return cash["cash_usd"][0, 0], ebitda["ebitda_usd"][0, 0], float(cash["npv"][0, 0])


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_prepayment_comes_in_at_the_start_and_unwinds_evenly_over_the_term(kernel):
    """prepayment_share 0.25 of a four-quarter term: P = 0.25 x 4V = $438,000 received in the
    first quarter, whose revenue it also starts to pay: the cash received each quarter of the term
    is the revenue less P / 4 = $109,500. Against the same plan without a prepayment, the change in
    cash is +P - P/4 = +$328,500 in 2026Q1 and -$109,500 in each later quarter; EBITDA is the same
    (revenue is recognised as the GPUs serve), and so is the NPV at a zero discount rate."""
    cash0, ebitda0, npv0 = _cash_and_ebitda(model(), kernel)
    cash1, ebitda1, npv1 = _cash_and_ebitda(model(prepayment_share=0.25), kernel)
    P = 0.25 * 4 * V
    flows = np.diff(cash1, prepend=1.0e9) - np.diff(cash0, prepend=1.0e9)
    np.testing.assert_allclose(flows, [P - P / 4, -P / 4, -P / 4, -P / 4], rtol=1e-12)
    np.testing.assert_array_equal(ebitda1, ebitda0)
    assert npv1 == pytest.approx(npv0, rel=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
@pytest.mark.filterwarnings("ignore:.*quarters fall after the horizon ends")  # a contract past its horizon
def test_the_prepayment_still_owed_after_the_horizon_is_deducted_from_the_terminal_value(kernel):
    """A six-quarter term over the four-quarter horizon, prepayment_share 0.25: P = 0.25 x 6V =
    $657,000 in 2026Q1, P / 6 = V / 4 = $109,500 unwound in each of the four quarters, and the
    2 x $109,500 = $219,000 not yet earned at the end owed in service: the NPV (zero discount rate)
    is P - 4 x 109,500 - 219,000 = 0 above the plan without a prepayment."""
    cash0, _, npv0 = _cash_and_ebitda(model(term_quarters=6), kernel)
    cash1, _, npv1 = _cash_and_ebitda(model(term_quarters=6, prepayment_share=0.25), kernel)
    np.testing.assert_allclose(cash1[-1] - cash0[-1], 657000.0 - 4 * 109500.0, rtol=1e-12)
    assert npv1 == pytest.approx(npv0, rel=1e-12)


def _default_from_quarter_2(scen) -> None:
    scen.factors["contract_alive"][0, 0, 2:] = 0  # the customer defaults in 2026Q3


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_customer_default_keeps_the_unearned_prepayment_and_pays_the_termination_share(kernel):
    """prepayment_share 0.25 (P = $438,000, P / 4 = $109,500 a quarter), termination_payment_share
    0.5, the customer defaults in 2026Q3 (quarter 2). Against the same default without payments:
    +P - P/4 in 2026Q1, -P/4 in 2026Q2; in 2026Q3 no unwinding (the $219,000 not yet earned is
    kept, not refunded) and the termination payment 0.5 x V x 2 quarters left = $438,000; nothing
    in 2026Q4. EBITDA is the same in both (the contract earns nothing from 2026Q3 either way)."""
    d0 = model()
    d1 = model(prepayment_share=0.25, termination_payment_share=0.5)
    cash0, ebitda0, _ = _cash_and_ebitda(d0, kernel, _default_from_quarter_2)
    cash1, ebitda1, _ = _cash_and_ebitda(d1, kernel, _default_from_quarter_2)
    flows = np.diff(cash1, prepend=1.0e9) - np.diff(cash0, prepend=1.0e9)
    np.testing.assert_allclose(flows, [328500.0, -109500.0, 438000.0, 0.0], rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(ebitda1, ebitda0)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_customer_default_can_raise_the_npv(kernel):
    """docs/evaluation.md, "A customer's default can raise a plan's NPV": prepayment_share 0.25,
    termination_payment_share 0.5. Without a default the NPV (zero discount rate, no costs) is
    4 x (438,000 + 219,000 of the 100 market GPUs at $1/h) = $2,628,000. A default in 2026Q3 loses
    2 x 438,000 of contract revenue, the 100 freed GPUs earn 2 x 219,000 on the market, the
    $219,000 not yet earned is kept and the termination payment is $438,000: $2,847,000."""
    d = model(prepayment_share=0.25, termination_payment_share=0.5)
    _, _, live = _cash_and_ebitda(d, kernel)
    _, _, defaulted = _cash_and_ebitda(d, kernel, _default_from_quarter_2)
    assert live == pytest.approx(2628000.0, rel=1e-12)
    assert defaulted == pytest.approx(2847000.0, rel=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_contract_cancelled_for_lateness_gets_no_termination_payment_when_its_customer_defaults(kernel):
    """termination_payment_share 0.5, allowance 0: the 0.05 MW online powers 50 of the contract's
    100 GPUs in quarter 1 (its block one quarter late), so the customer cancels it then; the
    customer defaults in quarter 2. No termination payment is due for a contract already cancelled
    (it would be 0.5 x V x 2 quarters = $438,000 in quarter 2): the cash is that of share 0."""

    def late_and_default(share: float):
        d = late_block_model(delay_allowance=0)
        d["contracts"]["anchor"]["termination_payment_share"] = share
        data = data_of(d)
        plan, scen = late_block(data, delay=1)
        scen.factors["contract_alive"][0, 0, 2:] = False
        return run(data, plan, POLICY, scen, kernel=kernel, line="cash_usd")

    paid, unpaid = late_and_default(0.5), late_and_default(0.0)
    assert paid["cancelled"][0, 0] == 1.0
    np.testing.assert_array_equal(paid["cash_usd"], unpaid["cash_usd"])


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_customer_that_defaults_before_its_first_quarter_pays_nothing(kernel):
    """The customer defaults in 2026Q1, the contract's first quarter: no prepayment comes in and
    no termination payment is due (the contract never started); the cash is the no-payment one."""

    def default_at_once(scen):
        scen.factors["contract_alive"][0, 0, :] = 0

    d1 = model(prepayment_share=0.25, termination_payment_share=0.5)
    cash0, _, _ = _cash_and_ebitda(model(), kernel, default_at_once)
    cash1, _, _ = _cash_and_ebitda(d1, kernel, default_at_once)
    np.testing.assert_array_equal(cash1, cash0)


def test_the_forecast_statements_carry_the_payments_as_cash_not_income():
    """The statements of the hand-built plan: the line contract_payments_usd is
    [P - P/4, -P/4, -P/4, -P/4] with P = $438,000, and the revenue line is unchanged."""
    data0, data1 = data_of(model()), data_of(model(prepayment_share=0.25))
    s0, s1 = plan_statements(data0, plan_of(data0)), plan_statements(data1, plan_of(data1))
    np.testing.assert_allclose(s1.lines["contract_payments_usd"], [328500.0] + [-109500.0] * 3, rtol=1e-12)
    np.testing.assert_array_equal(s1.lines["revenue_usd"], s0.lines["revenue_usd"])
    more_cash = s1.lines["cash_usd"] - s0.lines["cash_usd"]
    np.testing.assert_allclose(more_cash, [328500.0, 219000.0, 109500.0, 0.0], rtol=1e-12, atol=1e-6)


def test_the_milp_cash_row_pays_as_the_evaluator_in_a_scenario_with_a_default():
    """The MILP's term in the cash row (MUSD), on the forecast and with the scenario parameter
    contract_alive of the customer default of the test above (what a two-stage stochastic
    scenario sets): forecast [0.3285, -0.1095, -0.1095, -0.1095]; default in quarter 2
    [0.3285, -0.1095, 0.438, 0]; the prepayment owed at the end is 0 (the term ends in the horizon)."""
    data = data_of(model(prepayment_share=0.25, termination_payment_share=0.5))
    m = build_model(data)
    b = Builder(m, data, m.ix, "npv", False)
    forecast = [pyo.value(operations.contract_payments(b, t)) for t in range(4)]
    np.testing.assert_allclose(forecast, [0.3285, -0.1095, -0.1095, -0.1095], rtol=1e-12)
    for t in (2, 3):
        m.contract_alive[0, t] = 0.0
    defaulted = [pyo.value(operations.contract_payments(b, t)) for t in range(4)]
    np.testing.assert_allclose(defaulted, [0.3285, -0.1095, 0.438, 0.0], rtol=1e-12, atol=1e-12)
    assert pyo.value(operations.deferred_revenue_end(b)) == 0


@pytest.mark.parametrize("make", [power_debt_model, two_site_model], ids=["power_debt", "two_sites"])
@pytest.mark.filterwarnings("ignore:.*quarters fall after the horizon ends")  # a contract past its horizon
def test_the_evaluator_reproduces_a_milp_plan_with_prepayments(make):
    """A prepayment on every contract (the optional one of two_sites too, whose payments follow its
    acceptance), with terms that run past the horizon: the MILP's cash row and objective (the
    deferred revenue at the end) price them as the evaluator does (tests/test_evaluate_reproduction.py)."""
    d = make()
    for contract in d["contracts"].values():
        contract["prepayment_share"] = 0.2
        contract["term_quarters"] += 4
    r = solve(data_of(d), mip_gap=1e-6)
    assert r.data.contract_payments.deferred_end.any()
    assert_reproduces(r)


# a hazard of 0.2 a quarter on purpose (many defaults in few scenarios): its warning is meant
@pytest.mark.filterwarnings("ignore:.*risk.customer:fleetopt.errors.FleetoptWarning")
@pytest.mark.skipif(NO_COMPILER, reason="no C compiler")
@pytest.mark.filterwarnings("ignore:.*quarters fall after the horizon ends")  # a contract past its horizon
def test_the_kernel_pays_as_numpy_under_customer_defaults():
    """two_sites with a prepayment and a termination share on both contracts (terms past the
    horizon), every risk factor on and a 20 % default hazard a quarter: the CPU kernel agrees with
    NumPy to 1e-12 on every result, over plans around the MILP's (the optional contract taken or not)."""
    d = two_site_model()
    for contract in d["contracts"].values():
        contract.update(prepayment_share=0.2, termination_payment_share=0.3)
        contract["term_quarters"] += 4
    d = with_risk(d, **{**ALL_RISK, "customer_default_hazard_per_quarter": 0.2})
    data = data_of(d)
    plans, labels = plan_variants(data, solve(data, mip_gap=1e-6).plan)
    scen = generate_scenarios(data, 64, 0, 257)
    assert not np.asarray(scen.factors["contract_alive"]).all()  # some customers default
    assert_agree(SimulationConstants.from_data(data), batch(data, plans, labels), scen)


@pytest.mark.parametrize(
    ("field", "value"),
    [("prepayment_share", 1.0), ("prepayment_share", -0.1), ("termination_payment_share", 1.5)],
)
def test_a_share_out_of_range_is_refused_by_name(field, value):
    with pytest.raises(ModelError) as err:
        load(model(**{field: value}))
    assert f"contracts.anchor.{field}" in str(err.value)

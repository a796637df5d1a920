"""Net leverage (`finance.covenants.leverage_numerator: net_debt`): debt less cash over annualised
EBITDA, worked by hand through the statements, the evaluator (NumPy and the kernel's C build) and
the MILP.

The instance is tests/test_dscr_cash_flow.py's, untaxed, with $500,000 of opening cash: 100 installed
GPUs earn EBITDA of 219,000 USD a quarter, 876,000 annualised; a $4M loan at 2 % a quarter repaid
over 40 quarters owes 3.9M, 3.8M, 3.7M and 3.6M USD at the quarters' ends, and its debt service of
180,000, 178,000, 176,000 and 174,000 USD leaves 39,000, 41,000, 43,000 and 45,000 USD of cash a
quarter: cash of 539,000, 580,000, 623,000 and 668,000 USD. Gross leverage is 3.9M / 876,000 =
4.452x, 4.338x, 4.224x and 4.110x; net leverage (3.9M - 539,000) / 876,000 = 3.837x, 3.676x,
3.513x and 3.347x. Against a 4.0x maximum from quarter 0 the gross test is breached in every
quarter, the net one in none.
"""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import ALL_RISK, batch, plan_variants, tiny_model, with_risk
from milp_builders import data_of
from test_covenants import keep_everything, solved_tiny
from test_dscr_cash_flow import cfads_model, forecast
from test_kernel_cpu import assert_agree

from fleetopt.core.covenants import CATALOGUE, kind_bit, statement_quantities
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.results.covenant_words import covenant_headroom
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants
from fleetopt.milp.solve import InfeasibleModel, solve
from fleetopt.schema.issues import ModelError

ANNUAL_EBITDA = 4 * 219_000.0
DEBT = np.array([3.9e6, 3.8e6, 3.7e6, 3.6e6])
CASH = np.array([539_000.0, 580_000.0, 623_000.0, 668_000.0])
LEVERAGE = next(kind for kind in CATALOGUE if kind.name == "leverage")


def leverage_model(numerator: str | None, cash: float = 500_000.0, milp: bool = False) -> dict:
    """The instance above (``milp``: no GPU on sale, a 50 % discount rate); ``numerator`` None
    leaves `leverage_numerator` out."""
    d = cfads_model(None, milp=milp)
    d["finance"]["tax_rate"] = 0.0
    d["finance"]["opening_cash_usd"] = cash
    d["finance"]["covenants"] = {"test_from": "2026Q1", "max_debt_to_ebitda": 4.0}
    if numerator is not None:
        d["finance"]["covenants"]["leverage_numerator"] = numerator
    return d


def test_the_statements_leverage_line_nets_the_cash():
    data = data_of(leverage_model("net_debt"))
    lines = plan_statements(data, keep_everything(data)).lines
    np.testing.assert_allclose(lines["debt_usd"], DEBT)
    np.testing.assert_allclose(lines["cash_usd"], CASH)
    np.testing.assert_allclose(lines["debt_to_ebitda"], (DEBT - CASH) / ANNUAL_EBITDA, rtol=1e-12)
    assert lines["debt_to_ebitda"][0] == pytest.approx(3.8368, abs=1e-4)
    gross = data_of(leverage_model(None))
    np.testing.assert_allclose(plan_statements(gross, keep_everything(gross)).lines["debt_to_ebitda"],
                               DEBT / ANNUAL_EBITDA)  # fmt: skip


def test_the_headroom_and_the_words_name_net_debt():
    data = data_of(leverage_model("net_debt"))
    [test] = data.covenants
    assert test.describe() == "net debt / annualised EBITDA <= 4x"
    room = covenant_headroom(data, plan_statements(data, keep_everything(data)))["leverage"]
    assert room == pytest.approx(1.0 - 3_361_000.0 / ANNUAL_EBITDA / 4.0)  # 4.1 %
    assert test.cushion_words(room) == "EBITDA may fall 4.1% before a breach"
    gross = data_of(leverage_model("debt"))
    assert covenant_headroom(gross, plan_statements(gross, keep_everything(gross)))["leverage"] == (
        pytest.approx(1.0 - 3.9e6 / ANNUAL_EBITDA / 4.0))  # fmt: skip


def test_cash_that_covers_the_debt_leaves_no_net_leverage_to_test():
    """$4M of opening cash: cash exceeds the debt in every quarter, so net debt is 0: the ratio line
    reads 0 and the headroom is not measured; the gross test still breaches."""
    data = data_of(leverage_model("net_debt", cash=4e6))
    lines = plan_statements(data, keep_everything(data)).lines
    np.testing.assert_array_equal(lines["debt_to_ebitda"], 0.0)
    [test] = data.covenants
    assert test.idle(statement_quantities(lines, 1)) == "not tested: no net debt (cash covers the debt)"
    statements = plan_statements(data, keep_everything(data))
    assert covenant_headroom(data, statements)["leverage"] == "not tested: no net debt (cash covers the debt)"


@pytest.mark.parametrize("on", ["numpy", "cpu-kernel"])
def test_the_evaluator_breaches_gross_leverage_and_not_net(on, request):
    """On the forecast the gross test is the first breach, in quarter 0 (4.452x > 4.0x); net of cash
    nothing breaches. With no EBITDA in the last quarter (price 0) and cash above the debt, the gross
    test breaches there (the ratio is unbounded) and the net test, with no net debt, does not."""
    kernel = request.getfixturevalue("cpu_kernel") if on == "cpu-kernel" else None
    gross = forecast(data_of(leverage_model("debt")), kernel)
    assert bool(gross["breach"][0, 0])
    assert gross["first_breach"][0, 0] == kind_bit(LEVERAGE)
    assert gross["quarters_before_breach"][0, 0] == 0
    assert not forecast(data_of(leverage_model("net_debt")), kernel)["breach"][0, 0]
    no_ebitda = {}
    for numerator in ("debt", "net_debt"):
        d = leverage_model(numerator, cash=4e6)
        d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [5.0, 5.0, 5.0, 0.0]}
        no_ebitda[numerator] = forecast(data_of(d), kernel)
    assert no_ebitda["debt"]["quarters_before_breach"][0, 0] == 3
    assert not no_ebitda["net_debt"]["breach"][0, 0]


def test_a_breach_of_net_leverage_is_the_ratio_above_the_limit():
    """At 3.7x the net test is breached in quarter 0 (3.837x) and quarter 1 (3.676x meets it)."""
    d = leverage_model("net_debt")
    d["finance"]["covenants"]["max_debt_to_ebitda"] = 3.7
    got = forecast(data_of(d), None)
    assert got["first_breach"][0, 0] == kind_bit(LEVERAGE)
    assert got["quarters_before_breach"][0, 0] == 0


@pytest.mark.parametrize("gpu_code", [False, True], ids=["c-build", "gpu-code"])
def test_the_kernel_tests_net_leverage_as_the_numpy_simulation_does(cpu_kernel, gpu_code):
    """The tiny model's leverage net of cash, at a 2x maximum that it breaches in some futures, on
    its risky futures with every risk factor on: the kernel's C build and its GPU code paths agree
    with NumPy pair by pair, every result."""
    from fleetopt.evaluate.kernel.cpu import CpuKernel

    d = with_risk(tiny_model(), **ALL_RISK)
    d["finance"]["covenants"].update(leverage_numerator="net_debt", max_debt_to_ebitda=2.0)
    data = data_of(d)
    plans, labels = plan_variants(data, solved_tiny(data).plan)
    kernel = CpuKernel(threads=1, gpu_code=True) if gpu_code else cpu_kernel
    want = assert_agree(SimulationConstants.from_data(data), batch(data, plans, labels),
                        generate_scenarios(data, 11, 0, 300), kernel)  # fmt: skip
    assert (want["first_breach"][0].astype(int) & kind_bit(LEVERAGE)).any()


def test_the_milp_repays_early_for_gross_leverage_and_not_for_net():
    """With a 50 % discount rate the MILP repays only what a covenant makes it. Gross leverage at
    4.0x needs the debt at the end of quarter 0 at most 4.0 x 876,000 = 3,504,000 USD against
    3,900,000 scheduled: 396,000 USD repaid early in quarter 0. Repaying from cash lowers debt and
    cash alike, so it does not lower net debt, which meets the test as scheduled: nothing repaid."""
    gross = solve(data_of(leverage_model("debt", milp=True)), mip_gap=1e-9)
    assert gross.plan.prepay[0, 0] == pytest.approx(396_000.0, rel=1e-6)
    assert gross.statements.lines["debt_usd"][0] == pytest.approx(3_504_000.0, rel=1e-9)
    net = solve(data_of(leverage_model("net_debt", milp=True)), mip_gap=1e-9)
    assert net.plan.prepay[0, :3] == pytest.approx(0.0, abs=1e-3)
    assert net.statements.lines["debt_to_ebitda"][0] == pytest.approx(3_361_000.0 / ANNUAL_EBITDA)


def test_an_unknown_numerator_is_refused_naming_the_field():
    d = leverage_model("ebitda")
    refused = r"finance\.covenants\.leverage_numerator: Input should be 'debt' or 'net_debt' \(got 'ebitda'\)"
    with pytest.raises(ModelError, match=refused):
        data_of(d)


def test_the_robustness_row_nets_the_shocked_cash():
    """`robustness` with prices 50 % lower and `covenants: true`: shocked EBITDA is 109,500 a quarter
    (438,000 annualised) and the shock has cost 109,500 USD of cash by the end of quarter 0, so the
    shocked net debt there is 3.9M - (539,000 - 109,500) = 3,470,500 USD (later quarters: 3,439,000,
    3,405,500, 3,370,000). At 8.0x (3,504,000) the rows hold as scheduled; at 7.9x (3,460,200)
    quarter 0 is 10,300 USD short, which no prepayment cures (it lowers debt and cash alike): the
    diagnosis names the shocked leverage there (on the unshocked cash, 3,361,000, it would hold)."""
    d = leverage_model("net_debt", milp=True)
    d["finance"]["covenants"]["max_debt_to_ebitda"] = 8.0
    d["robustness"] = {"market_price_drop": 0.5, "covenants": True}
    assert solve(data_of(d), mip_gap=1e-9).plan.prepay[0, :3] == pytest.approx(0.0, abs=1e-3)
    d["finance"]["covenants"]["max_debt_to_ebitda"] = 7.9
    with pytest.raises(InfeasibleModel) as err:
        solve(data_of(d), mip_gap=1e-9)
    [group] = err.value.diagnosis
    assert group["group"] == "robustness"
    assert group["items"] == [("2026Q1 (net debt / annualised EBITDA)", pytest.approx(10_300.0))]

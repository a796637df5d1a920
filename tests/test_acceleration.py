"""The NPV if lenders accelerate (docs/evaluation.md, "The NPV if lenders accelerate"): the first event
of default of either kind ends the shareholders' claim; at an uncured covenant breach the lenders take
the GPUs and the cash to repay the debt and the shareholders keep what is left, worked by hand.

The instance (test_covenants.py's, smaller): 100 GPUs bought for $4,000 rented on the inference market,
2,190 USD a GPU-quarter at $1/GPU-hour (EBITDA 219,000 at $1, 10,950 at $0.05), no other cost, no
tax; a $400,000 loan at 8 % a year (2 % a quarter) repaid 10,000 a quarter, so interest 8,000, 7,800,
7,600, 7,400 in quarters 0-3 and debt 390,000, 380,000, 370,000 at the end of quarters 0-2; an
interest cover of 2.0x tested from quarter 1. Prices [1, 0.05, 0.05, 1]: quarters 1 and 2 breach
(10,950 < 2 x 7,800), the second in a row, so quarter 2's is uncured (U = 2). A GPU would fetch
1,000 on the forecast in quarter 2 (a one-year life: 25 % of 4,000), 800 after a 20 % distress
discount: V_2 = 80,000. Discounting at 10 % a year (d_t the model's factors); no distress sales.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluate_builders import batch
from milp_builders import data_of
from test_covenants import coverage_model, keep_everything
from test_policy import BACKENDS, NO_COMPILER, run

from fleetopt.evaluate.kernel.cpu import CpuKernel
from fleetopt.evaluate.kernel.shape import kernel_fits
from fleetopt.evaluate.metrics import ACCELERATED, limited_liability_differs, plan_metrics
from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate

PRICES = [1.0, 0.05, 0.05, 1.0]


def model(opening_cash: float, prices: list[float] = PRICES, default_cash: float | None = None):
    d = coverage_model()
    d["horizon"]["discount_rate_annual"] = 0.10
    d["finance"]["opening_cash_usd"] = opening_cash
    if default_cash is not None:  # the treasury floor with it: a default is below it
        d["finance"].update(default_cash_usd=default_cash, min_cash_usd=default_cash)
    d["finance"]["facilities"]["loan"].update(size_usd=4.0e5, opening_balance_usd=4.0e5)
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": prices}
    d["finance"]["covenants"]["equity_cures"] = 5
    d["retirement"] = {"resale": True}
    d["policy"] = {"distress_sales": False, "distress_sale_discount": 0.2}
    return data_of(d)


def simulated(data, kernel: bool) -> dict:
    """The NumPy simulation (and, with ``kernel``, the C build agreeing with it on every result)."""
    return run(data, keep_everything(data), data.policy, None, kernel, line="cash_usd")


@pytest.mark.parametrize("kernel", BACKENDS)
def test_at_an_uncured_breach_the_shareholders_keep_what_the_gpus_and_cash_leave_after_the_debt(kernel):
    """From $200,000: cash 401,000, 394,150 and 387,500 after quarters 0-2 (219,000 or 10,950 less
    the interest and 10,000). At U = 2 the lenders take V_2 = 80,000 and the 387,500 for 370,000 of
    debt: 97,500 is left. The shareholders' flows until then, the cash they held lost, the 97,500
    at d_2: d_0 x 201,000 - d_1 x 6,850 - d_2 x 394,150 + d_2 x 97,500. No liquidity default, so
    the NPV with limited liability is the NPV, which counts the recovery of quarter 3."""
    data = model(200_000.0)
    d = data.discount
    out = simulated(data, kernel)
    np.testing.assert_allclose(out["cash_usd"][0, 0, :3], [401_000.0, 394_150.0, 387_500.0], rtol=1e-12)
    assert out["uncured_breach"][0, 0] and not out["default"][0, 0]
    assert out["debt_at_uncured_breach"][0, 0] == pytest.approx(370_000.0, rel=1e-12)
    assert out["uncovered_debt_at_uncured_breach"][0, 0] == 0.0
    want = d[0] * 201_000.0 - d[1] * 6_850.0 - d[2] * 394_150.0 + d[2] * 97_500.0
    assert out["npv_accelerated"][0, 0] == pytest.approx(want, rel=1e-12)
    assert out["npv_limited"][0, 0] == out["npv"][0, 0] > want
    metrics = plan_metrics(out, quarters=data.T)
    assert metrics["npv_accelerated_mean_usd"][0] == pytest.approx(want, rel=1e-12)
    assert metrics["npv_accelerated_cvar5_usd"][0] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_where_the_debt_exceeds_the_gpus_and_the_cash_the_shareholders_keep_nothing(kernel):
    """From $100,000: 287,500 of cash at U = 2 and the GPUs' 80,000 repay 367,500 of the 370,000:
    2,500 uncovered (the debt-at-uncured-breach figure), nothing left to the shareholders, who lose
    the 294,150 they held: d_0 x 201,000 - d_1 x 6,850 - d_2 x 294,150."""
    data = model(100_000.0)
    d = data.discount
    out = simulated(data, kernel)
    assert out["cash_usd"][0, 0, 2] == pytest.approx(287_500.0, rel=1e-12)
    assert out["uncovered_debt_at_uncured_breach"][0, 0] == pytest.approx(2_500.0, rel=1e-12)
    want = d[0] * 201_000.0 - d[1] * 6_850.0 - d[2] * 294_150.0
    assert out["npv_accelerated"][0, 0] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_liquidity_default_first_ends_the_claim_as_with_limited_liability(kernel):
    """A default level of $300,000 from $100,000: quarter 1 ends at 294,150, a liquidity default
    (D = 1) before the uncured breach (U = 2): d_0 x 201,000 - d_1 x 301,000, the NPV with limited
    liability, to the bit. A level of $390,000 from $200,000: both in quarter 2 (387,500), where the
    default, found before the quarter's covenant tests, comes first: d_0 x 201,000 - d_1 x 6,850 -
    d_2 x 394,150, without the 97,500 an acceleration would have left."""
    for opening, level, want in (
        (100_000.0, 300_000.0, lambda d: d[0] * 201_000.0 - d[1] * 301_000.0),
        (200_000.0, 390_000.0, lambda d: d[0] * 201_000.0 - d[1] * 6_850.0 - d[2] * 394_150.0),
    ):
        data = model(opening, default_cash=level)
        out = simulated(data, kernel)
        assert out["default"][0, 0] and out["uncured_breach"][0, 0], level
        assert out["npv_accelerated"][0, 0] == out["npv_limited"][0, 0], level
        assert out["npv_accelerated"][0, 0] == pytest.approx(want(data.discount), rel=1e-12), level


@pytest.mark.parametrize("kernel", BACKENDS)
def test_without_an_event_of_default_it_is_the_npv_with_limited_liability(kernel):
    """Prices of $1 throughout: no breach, no default, the three NPVs one number."""
    data = model(200_000.0, prices=[1.0] * 4)
    out = simulated(data, kernel)
    assert not out["uncured_breach"][0, 0] and not out["default"][0, 0]
    assert out["npv_accelerated"][0, 0] == out["npv_limited"][0, 0] == out["npv"][0, 0]


@pytest.mark.skipif(NO_COMPILER, reason="no C compiler")
def test_the_gpu_code_paths_end_the_claim_where_numpy_does():
    """The C build compiled with the GPU's code paths (FO_GPU_CODE) on the four instances above."""
    kernel = CpuKernel(threads=1, gpu_code=True)
    for opening, prices, level in ((200_000.0, PRICES, None), (100_000.0, PRICES, None),
                                   (100_000.0, PRICES, 300_000.0), (200_000.0, [1.0] * 4, None)):  # fmt: skip
        data = model(opening, prices, level)
        consts = SimulationConstants.from_data(data)
        plans, scen = batch(data, [keep_everything(data)]), deterministic_scenarios(data, 1)
        assert kernel_fits(plans, consts) is None  # the kernel runs it, not the array code
        want = simulate(consts, plans, scen)["npv_accelerated"]
        np.testing.assert_allclose(kernel.simulate(consts, plans, scen)["npv_accelerated"], want, rtol=1e-12)


def test_results_without_it_give_no_figure_and_tables_leave_it_out():
    """Results of before the figure (an older simulation's): NaN, not the limited NPV's; a table asks
    whether it differs from the NPV with limited liability, which an old run's metrics cannot say."""
    npv = np.array([[1.0, -2.0, 3.0, 4.0]])
    m = plan_metrics({"npv": npv, "npv_limited": npv})
    assert np.isnan(m["npv_accelerated_mean_usd"][0]) and np.isnan(m["npv_accelerated_cvar5_usd"][0])
    old = pd.DataFrame({"npv_limited_mean_usd": [1.0], "npv_limited_cvar5_usd": [-2.0]})
    assert not limited_liability_differs(old, ACCELERATED)
    new = old.assign(npv_accelerated_mean_usd=[0.5], npv_accelerated_cvar5_usd=[-2.0])
    assert limited_liability_differs(new, ACCELERATED)
    assert not limited_liability_differs(new.assign(npv_accelerated_mean_usd=[1.0]), ACCELERATED)


def test_a_metrics_table_missing_a_twin_is_read_as_an_older_one():
    """A metrics.csv with the NPV if lenders accelerate but without the NPV with limited liability it
    is compared with (a hand-damaged file) made the report raise KeyError: it is read as a run
    without the figure."""
    damaged = pd.DataFrame({"npv_accelerated_mean_usd": [0.5], "npv_accelerated_cvar5_usd": [-2.0]})
    assert not limited_liability_differs(damaged, ACCELERATED)

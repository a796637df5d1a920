"""docs/evaluation.md, "Checking the policy by hand": one `--set` stress on `tiny` per policy rule,
each run as the document lists it (`fleetopt evaluate --plans RUN ... --scenarios 3 --seed 3
--explain 0`), and each rule's figures in scenario 0's path.csv worked by hand from the model's
numbers and the plan's statements. Every stress replaces tiny's risk block (`--set risk=null`, then
the one factor it needs), so all three scenarios are the same and the path is the stress alone.

The plans: tiny's forecast optimum (`fleetopt solve tiny`), and two solves of tiny changed by
`--set`: the enterprise contract priced at $1/h, which the MILP declines, so its 1,936 B200 bought
in 2026Q3 serve the market and may be deferred; and texas's power stepping to 25 MW in 2027Q1, so
that a late step leaves the site short."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import run_cli

HOURS = 2190  # hours a quarter
BILLED = 0.85  # tiny's market.billed_utilization
MIN_CASH = 25_000_000
# texas: PUE 1.25, $55/MWh; kW at the wall per GPU
H100_KW, B200_KW = 1.3 * 1.25, 1.8 * 1.25


def hopper_training_price(quarter: int) -> float:
    """tiny's forecast H100 training price, $/GPU-hour: $2.35 falling 25 % a year."""
    return 2.35 * 0.75 ** (quarter / 4)


def blackwell_training_price(quarter: int) -> float:
    return 5.30 * 0.80 ** (quarter / 4)


def b200_capex(quarter: int) -> float:
    return 60_000 * 0.90 ** (quarter / 4)


def _solve(folder, *sets: str):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLEETOPT_RUNS_DIR", str(folder / "runs"))
        code, out, err = run_cli("solve", "tiny", *sets, "--out", str(folder / "plan"))
    assert code == 0, out + err
    return folder / "plan"


def _explain(tmp_path_factory, plan, *sets: str) -> tuple[pd.DataFrame, pd.Series]:
    """Scenario 0's path.csv and metrics.csv's row of `fleetopt evaluate --plans PLAN SETS
    --scenarios 3 --seed 3 --explain 0`."""
    folder = tmp_path_factory.mktemp("stress")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLEETOPT_RUNS_DIR", str(folder / "runs"))
        code, out, err = run_cli("evaluate", "--plans", str(plan), *sets, "--scenarios", "3", "--seed", "3",
                                 "--explain", "0", "--out", str(folder / "E"))
    assert code == 0, out + err
    return pd.read_csv(folder / "E" / "path.csv"), pd.read_csv(folder / "E" / "metrics.csv").iloc[0]


@pytest.fixture(scope="module")
def forecast(solve_run) -> pd.DataFrame:
    return pd.read_csv(solve_run / "statements.csv")


def test_a_short_contract_is_late_then_cancelled_and_its_gpus_go_to_the_market(
    solve_run, forecast, tmp_path_factory
):
    path, metrics = _explain(
        tmp_path_factory, solve_run, "--set", "risk=null", "--set", "contracts.lab-a-training.gpus=4400",
        "--set", "contracts.lab-a-training.delay_penalty_usd_per_quarter=1000000",
        "--set", "contracts.lab-a-training.cancellation_penalty_usd=3000000",
    )
    assert (metrics.rescheduled_share, metrics.cancelled_share, metrics.freed_share) == (1.0, 1.0, 1.0)
    # 2026Q3, 2026Q4: the plan's 4,000 of 4,400 delivered, paid; each late quarter $1M less EBITDA
    lab_a = 4000 * 2.30 * HOURS
    assert lab_a == pytest.approx(20_148_000)
    for t in (0, 1):
        assert path.revenue_contracted_usd[t] == pytest.approx(lab_a, abs=1e-6)
        assert path.contract_penalties_usd[t] == 1_000_000
        assert path.ebitda_usd[t] == pytest.approx(forecast.ebitda_usd[t] - 1_000_000, abs=1e-6)
    # a late quarter's penalty lowers that quarter's tax by 21 %: 2026Q3 ends $790,000 lower
    assert path.cash_usd[0] == pytest.approx(forecast.cash_usd[0] - 790_000, abs=1e-6)
    assert path.cash_usd[0] == pytest.approx(29_517_340.38, abs=0.005)
    # 2027Q1, the third late quarter beyond an allowance of two: cancelled, $3M, no revenue from it
    assert path.contract_penalties_usd[2] == 3_000_000
    assert path.revenue_contracted_usd[2] == pytest.approx(2000 * 4.50 * HOURS, abs=1e-6)  # enterprise's
    # its 4,000 H100 on the training market (demand 12,000 x 1.3^0.5 = 13,682 > the 9,538 offered)
    freed = 4000 * hopper_training_price(2) * HOURS * BILLED
    assert freed == pytest.approx(15_153_799.12, abs=0.005)
    planned = forecast.revenue_training_market_usd
    assert path.revenue_market_usd[2] == pytest.approx(planned[2] + freed, abs=1e-6)
    assert path.revenue_market_usd[3] == pytest.approx(
        planned[3] + 4000 * hopper_training_price(3) * HOURS * BILLED, abs=1e-6
    )
    assert path.ebitda_usd[2] == pytest.approx(27_790_828.67, abs=0.005)


def test_a_distress_sale_sells_hopper_lots_back_to_the_floor(solve_run, forecast, tmp_path_factory):
    path, metrics = _explain(
        tmp_path_factory, solve_run, "--set", "risk=null", "--set", "finance.revolver=null",
        "--set", "finance.opening_cash_usd=100000000",
    )
    assert (metrics.sold_share, metrics.deferred_share, metrics.prepayment_cut_share) == (1.0, 0.0, 0.0)
    # 2026Q3 runs as on the forecast, from $50M less cash and without a revolver
    before_sale = 100_000_000 + forecast.cash_usd[0] - 150_000_000
    assert before_sale == pytest.approx(-19_692_659.62, abs=0.005)
    # the default level is the $25M minimum (finance.default_cash_usd unset); an H100 bought 2024Q1 is
    # 2.5 years old: 0.29 of $50,000 (between 0.34 and 0.24), less 5 % to sell
    per_gpu = 50_000 * (0.34 + 0.24) / 2 * (1 - 0.05)
    assert per_gpu == pytest.approx(13_775)
    lots = math.ceil((MIN_CASH - before_sale) / (1000 * per_gpu))
    assert lots == 4
    assert path.distress_sold_usd[0] == pytest.approx(lots * 1000 * per_gpu, abs=1e-6)  # $55,100,000
    assert path.cash_usd[0] == pytest.approx(before_sale + 55_100_000, abs=1e-6)  # 35,407,340.38
    # from 2026Q4 the 4,000 sold earn nothing on the market
    sold_revenue = 4000 * hopper_training_price(1) * HOURS * BILLED
    assert sold_revenue == pytest.approx(16_283_816.89, abs=0.005)
    assert path.revenue_market_usd[1] == pytest.approx(forecast.revenue_training_market_usd[1] - sold_revenue,
                                                       abs=1e-6)
    # the GPUs sold were collateral: the borrowing base breaks from 2026Q4
    sold_value = 4000 * 50_000 * 0.265  # 2.75 years old, gross
    value_lost = forecast.collateral_value_usd[1] - path.collateral_value_usd[1]
    assert value_lost == pytest.approx(sold_value, abs=1e-6)
    assert path.covenants_breached[1] == "borrowing base"


def test_a_prepayment_the_base_does_not_need_is_cut(solve_run, forecast, tmp_path_factory):
    path, metrics = _explain(
        tmp_path_factory, solve_run, "--set", "risk=null", "--set",
        "risk={mean_one: false, self_competition: {probability_per_quarter: 1, price_drop_min: 0.7, "
        "price_drop_max: 0.7}}",
    )
    assert metrics.prepayment_cut_share == 1.0
    assert list(path.price_factor_hopper) == [1.0] + [pytest.approx(0.3)] * 7
    q = forecast.prepayment_usd[7]
    assert q == pytest.approx(1_582_090.05, abs=0.005)
    # 2028Q2: EBITDA the forecast's less 70 % of its market revenue; the revolver drawn at the start
    ebitda = forecast.ebitda_usd[7] - 0.7 * forecast.revenue_training_market_usd[7]
    assert path.ebitda_usd[7] == pytest.approx(ebitda, abs=1e-6)
    assert ebitda == pytest.approx(5_306_642.67, abs=0.005)
    revolver_start = path.revolver_balance_usd[6]
    assert revolver_start == pytest.approx(17_387_486.83, abs=0.005)
    assert path.interest_usd[7] == pytest.approx(forecast.interest_usd[7] + 0.03 * revolver_start, abs=1e-6)
    cash_before = MIN_CASH + ebitda - path.interest_usd[7] - 10_000_000  # no tax: a loss
    assert cash_before == pytest.approx(18_138_213.06, abs=0.005)
    floor = MIN_CASH + revolver_start
    assert floor - (cash_before - q) > q  # the whole prepayment would be cut, if the base allows
    # the base: the GPUs' value less the collateral the plan's loan needs after the prepayment
    room = path.collateral_value_usd[7] - forecast.debt_usd[7] / 0.7
    assert room == pytest.approx(7_047_505.75, abs=0.005)
    freed = q / 0.7
    assert q * room / freed > q  # B above Q: all of it may be kept
    assert path.prepayment_cut_usd[7] == pytest.approx(q, abs=1e-6)
    assert path.prepayment_usd[7] == pytest.approx(0, abs=1e-6)
    assert path.revolver_draw_usd[7] == pytest.approx(MIN_CASH - cash_before, abs=1e-6)  # 6,861,786.94
    assert path.collateral_required_usd[7] == pytest.approx((forecast.debt_usd[7] + q) / 0.7, abs=1e-6)


def test_a_borrowing_base_deficiency_is_prepaid_when_the_rule_is_on(solve_run, forecast, tmp_path_factory):
    path, _ = _explain(
        tmp_path_factory, solve_run, "--set", "risk=null", "--set", "risk={resale_shock: {value_drop: 0.1}}",
        "--set", "policy.prepay_borrowing_base=true",
    )
    value = 0.9 * forecast.collateral_value_usd[0]
    needed = forecast.collateral_required_usd[0]  # the plan's loan / 0.7, used in full
    assert value == pytest.approx(210_876_923.08, abs=0.005)
    assert needed == pytest.approx(234_307_692.31, abs=0.005)
    prepaid = 0.7 * (needed - value)
    assert prepaid == pytest.approx(16_401_538.46, abs=0.005)
    assert path.base_prepaid_usd[0] == pytest.approx(prepaid, abs=1e-6)
    assert path.prepayment_usd[0] == pytest.approx(forecast.prepayment_usd[0] + prepaid, abs=1e-6)
    # cash before it: the forecast's, its retirement sold 10 % lower and that loss's 21 % of tax saved
    lower = 0.1 * forecast.disposal_proceeds_usd[0]
    cash_before = forecast.cash_usd[0] - lower + 0.21 * lower
    assert cash_before == pytest.approx(30_240_372.69, abs=0.005)
    assert path.revolver_draw_usd[0] == pytest.approx(prepaid - (cash_before - MIN_CASH), abs=1e-6)
    assert path.revolver_draw_usd[0] == pytest.approx(11_161_165.77, abs=0.005)
    assert path.cash_usd[0] == pytest.approx(MIN_CASH, abs=1e-6)
    assert path.collateral_required_usd[0] == pytest.approx(value, abs=1e-6)
    assert path.covenants_breached.isna().all()
    # 2026Q4: the loan's interest 2.025 % a quarter lower on the prepaid, the revolver's 3 % on its draw
    assert path.interest_usd[1] == pytest.approx(
        forecast.interest_usd[1] - 0.02025 * prepaid + 0.03 * path.revolver_draw_usd[0], abs=1e-6
    )


@pytest.fixture(scope="module")
def power_step_plan(tmp_path_factory):
    return _solve(tmp_path_factory.mktemp("step"), "--set",
                  "sites.texas.power_capacity_mw={start: 20, steps: {2027Q1: 25}}")


def test_a_short_site_powers_its_contracts_first(power_step_plan, tmp_path_factory):
    late_step = ("--set", "risk=null", "--set",
                 "risk={power_delay: {probability: 0, max_extra_quarters: 1, contracted_probability: 1}}")
    forecast = pd.read_csv(power_step_plan / "statements.csv")
    contracts_mw, market_mw = (4000 * H100_KW + 2000 * B200_KW) / 1000, 5600 * H100_KW / 1000
    assert (contracts_mw, market_mw) == (pytest.approx(11.0), pytest.approx(9.1))
    assert forecast.mw_used_texas[2] == pytest.approx(contracts_mw + market_mw)
    path, _ = _explain(tmp_path_factory, power_step_plan, *late_step)
    # 2027Q1, 20 MW online: both contracts whole, the training market's 5,600 H100 get 9.0 of 9.1 MW
    assert path.revenue_contracted_usd[2] == pytest.approx((4000 * 2.30 + 2000 * 4.50) * HOURS, abs=1e-6)
    powered = 5600 * (20 - contracts_mw) / market_mw
    assert powered == pytest.approx(5538.46, abs=0.005)
    per_gpu = hopper_training_price(2) * HOURS * BILLED
    assert path.revenue_market_usd[2] == pytest.approx(powered * per_gpu, abs=1e-6)
    lost = (5600 - powered) * per_gpu
    assert lost == pytest.approx(233_135.37, abs=0.005)
    planned = forecast.revenue_training_market_usd[2]
    assert planned - path.revenue_market_usd[2] == pytest.approx(lost, abs=1e-6)
    assert path.electricity_usd[2] == pytest.approx(20 * HOURS * 55, abs=1e-6)  # the MW online, $2,409,000
    assert path.reactions.isna().all()
    # without the rule every GPU gets 20 / 20.1 and both contracts are delivered short: late
    off, metrics = _explain(tmp_path_factory, power_step_plan, *late_step,
                            "--set", "policy.power_to_contracts_first=false")
    assert metrics.rescheduled_share == 1.0
    assert off.reactions[2] == ("contract lab-a-training late: 3,980 of 4,000 GPUs delivered; "
                                "contract enterprise-inference late: 1,990 of 2,000 GPUs delivered")


@pytest.fixture(scope="module")
def market_b200_plan(tmp_path_factory):
    return _solve(tmp_path_factory.mktemp("declined"), "--set",
                  "contracts.enterprise-inference.price_usd_per_gpu_hour=1")


def test_an_order_is_deferred_then_partly_cancelled(market_b200_plan, tmp_path_factory):
    forecast = pd.read_csv(market_b200_plan / "statements.csv")
    assert forecast.capex_gpu_usd[0] == 1936 * b200_capex(0)  # 1,936 B200, no contract: all deferrable
    path, metrics = _explain(
        tmp_path_factory, market_b200_plan, "--set", "risk=null", "--set", "finance.revolver=null",
        "--set", "finance.opening_cash_usd=100000000", "--set", "policy.distress_sales=false",
    )
    assert (metrics.deferred_share, metrics.order_cancelled_share) == (1.0, 1.0)
    # 2026Q3: $50M less cash than the forecast, no revolver
    projection = 100_000_000 + forecast.cash_usd[0] - 150_000_000
    assert projection == pytest.approx(-18_691_129.99, abs=0.005)
    gap = MIN_CASH - projection

    def earned(quarter: int) -> float:
        """What the 1,936 B200 earn on the training market: revenue less electricity and GPU opex."""
        electricity = B200_KW * HOURS * 55 / 1000
        return 1936 * (blackwell_training_price(quarter) * HOURS * BILLED - electricity - 1600)

    assert earned(0) == pytest.approx(15_478_199.00, abs=0.005)
    saving = forecast.capex_gpu_usd[0] - earned(0)
    f = gap / saving
    assert f == pytest.approx(0.433953, abs=1e-6)
    assert path.deferred_usd[0] == pytest.approx(f * forecast.capex_gpu_usd[0], abs=1e-6)  # 50,407,934.79
    assert path.capex_usd[0] == pytest.approx((1 - f) * forecast.capex_gpu_usd[0], abs=1e-6)
    # the projection is before tax: the EBITDA taken out, less the deferred GPUs' depreciation ($2,500
    # a quarter each), lowers the tax by 21 %, and the quarter ends that much above the floor
    tax_saved = 0.21 * f * (earned(0) - 1936 * 2_500)
    assert path.cash_usd[0] == pytest.approx(MIN_CASH + tax_saved, abs=1e-6)
    assert tax_saved == pytest.approx(969_459.58, abs=0.005)
    # 2026Q4: the deferred share falls due at 2026Q4's price
    due = f * 1936 * b200_capex(1)
    assert due == pytest.approx(49_097_517.34, abs=0.005)
    projection = path.cash_usd[0] + forecast.cash_usd[1] - forecast.cash_usd[0] - due
    assert projection == pytest.approx(-4_208_837.65, abs=0.005)
    deposit = 0.2 * f * forecast.capex_gpu_usd[0]
    c = (MIN_CASH - projection) / (due - deposit - f * earned(1))
    assert c == pytest.approx(0.891904, abs=1e-6)
    assert path.forfeited_usd[1] == pytest.approx(c * deposit, abs=1e-6)  # 8,991,808.00
    assert path.capex_usd[1] == pytest.approx((1 - c) * due + c * deposit, abs=1e-6)

"""Covenants as data (fleetopt/core/covenants.py): the interest-coverage covenant and the
trailing-four-quarter EBITDA period, worked by hand through the statements, the headroom and the
evaluator.

The instance: 100 installed GPUs rented on the market at a price that falls to a quarter of itself
in the last quarter, and a fixed-rate loan paying interest on a declining balance.

* One GPU earns 2,190 USD a quarter at $1/GPU-hour, so EBITDA is 219,000 USD in quarters 0-2
  and 54,750 USD in quarter 3 (nothing else costs money).
* The loan: $4M outstanding at 8 % a year (2 % a quarter), repaid over 40 quarters ($100k a
  quarter). Interest is charged on the balance at the end of the previous quarter:
  80,000, 78,000, 76,000, 74,000 USD.
* EBITDA / interest: 2.7375, 2.8077, 2.8816, 0.7399. With a 2.0x covenant tested from quarter 1,
  the last quarter breaches on its own EBITDA; on the four-quarter average
  (177,937.5 / 77,000 = 2.3109) it passes.
"""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import batch, rel_err, tiny_model
from milp_builders import base_model, data_of

from fleetopt.core.covenants import CATALOGUE, CovenantTest, CureRights, covenant_tests, kind_bit
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.plan import Plan
from fleetopt.core.results.covenant_words import covenant_headroom, limit_words
from fleetopt.evaluate.kernel.shape import kernel_fits
from fleetopt.evaluate.metrics import plan_metrics
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import InfeasibleModel, solve

GPUS = 100.0
EBITDA = np.array([219_000.0, 219_000.0, 219_000.0, 54_750.0])
INTEREST = np.array([80_000.0, 78_000.0, 76_000.0, 74_000.0])


def coverage_model(period: str = "quarter", threshold: float = 2.0) -> dict:
    d = base_model()
    d["skus"]["A"]["available_from"] = "2025Q1"
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2025Q4", "gpus": int(GPUS), "use": "inference",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["retirement"] = {"resale": False}
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [1.0, 1.0, 1.0, 0.25]}
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 4.0e6, "opening_balance_usd": 4.0e6, "fixed_rate_annual": 0.08,
                 "amortization_quarters": 40, "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q2", "ebitda_period": period,
                                 "min_interest_coverage": threshold}  # fmt: skip
    return d


def keep_everything(data) -> Plan:
    """The installed GPUs held and rented on the inference market every quarter."""
    plan = Plan.empty(data)
    plan.held_inference[0, :] = GPUS
    plan.active[1, 0, 0, :] = GPUS
    return plan


def forecast_breach(data, plan) -> bool:
    result = simulate(SimulationConstants.from_data(data), batch(data, [plan]), deterministic_scenarios(data))
    return bool(result["breach"][0, 0])


def test_the_statements_carry_the_interest_coverage_ratio():
    data = data_of(coverage_model())
    lines = plan_statements(data, keep_everything(data)).lines
    np.testing.assert_allclose(lines["ebitda_usd"], EBITDA)
    np.testing.assert_allclose(lines["interest_usd"], INTEREST)
    np.testing.assert_allclose(lines["interest_coverage"], EBITDA / INTEREST)


def test_a_quarter_below_the_interest_coverage_breaches():
    data = data_of(coverage_model())
    plan = keep_everything(data)
    assert forecast_breach(data, plan)
    headroom = covenant_headroom(data, plan_statements(data, plan))
    assert headroom["interest_coverage"] == pytest.approx(54_750 / 74_000 / 2.0 - 1.0)


def test_the_trailing_four_quarter_average_passes_where_the_quarter_breaches():
    data = data_of(coverage_model("trailing_four_quarters"))
    plan = keep_everything(data)
    assert not forecast_breach(data, plan)
    lines = plan_statements(data, plan).lines
    # the ratio line follows the covenants' EBITDA period: the average of the quarters so far
    assert lines["interest_coverage"][3] == pytest.approx(EBITDA.mean() / INTEREST.mean())
    assert lines["interest_coverage"][1] == pytest.approx(EBITDA[:2].mean() / INTEREST[:2].mean())
    headroom = covenant_headroom(data, plan_statements(data, plan))
    assert headroom["interest_coverage"] == pytest.approx(177_937.5 / 77_000 / 2.0 - 1.0)


def test_the_trailing_average_divides_by_the_quarters_so_far_at_the_start_of_the_horizon():
    """Leverage is debt over annualised EBITDA: on the trailing four quarters, 4 x the mean of the
    quarters so far. The debt after each quarter's $100k instalment is 3.9M, 3.8M, 3.7M, 3.6M; EBITDA
    averages 219,000 over quarters 0-2 and 177,937.5 over all four: 4.452x, 4.338x, 4.224x, 5.058x.
    A sum over fewer than four quarters divided by four (not by their number) read quarter 0 at
    3.9M / 219,000 = 17.8x, a breach of a 6x covenant; the ratios of two flows (interest coverage,
    DSCR) cannot show it, their quotient is the same either way."""
    d = coverage_model("trailing_four_quarters")
    d["finance"]["covenants"] = {"test_from": "2026Q1", "ebitda_period": "trailing_four_quarters",
                                 "max_debt_to_ebitda": 6.0}  # fmt: skip
    data = data_of(d)
    plan = keep_everything(data)
    lines = plan_statements(data, plan).lines
    debt = np.array([3.9e6, 3.8e6, 3.7e6, 3.6e6])
    np.testing.assert_allclose(lines["debt_usd"], debt)
    trailing = np.array([219_000.0, 219_000.0, 219_000.0, 177_937.5])
    np.testing.assert_allclose(lines["debt_to_ebitda"], debt / (4.0 * trailing), rtol=1e-12)
    assert lines["debt_to_ebitda"][0] == pytest.approx(4.4521, abs=1e-4)
    assert not forecast_breach(data, plan)  # the evaluator's test reads the same average
    assert covenant_headroom(data, plan_statements(data, plan))["leverage"] == pytest.approx(
        1.0 - 3.6e6 / (4.0 * 177_937.5) / 6.0
    )


def test_a_quarterly_covenant_is_also_given_on_the_trailing_year_with_its_tightest_quarter():
    """Tested each quarter from quarter 1, interest coverage on the trailing year's averages is
    219,000 / 79,000 = 2.77x, 219,000 / 78,000 = 2.81x and 177,937.5 / 77,000 = 2.31x in quarters 1-3:
    tightest in quarter 3 (2026Q4), 15.6 % above the 2.0x minimum, which the words name; so EBITDA
    may fall h / (1 + h) = 13.45 % there before a breach on that basis (compare's row)."""
    from fleetopt.core.results.covenant_words import (
        TRAILING_WHAT_IF,
        lowest_trailing_cushion,
        trailing_year_headroom,
        trailing_year_words,
    )

    data = data_of(coverage_model())
    st = plan_statements(data, keep_everything(data))
    yearly = trailing_year_headroom(data, st)
    h = 177_937.5 / 77_000 / 2.0 - 1.0
    assert lowest_trailing_cushion(data, yearly) == pytest.approx(h / (1 + h))
    room, quarter = yearly["interest_coverage"]
    assert room == pytest.approx(177_937.5 / 77_000 / 2.0 - 1.0) and quarter == "2026Q4"
    [test] = data.covenants
    words = trailing_year_words(test, yearly)
    assert words.startswith(TRAILING_WHAT_IF + ", ")
    assert TRAILING_WHAT_IF.startswith("if tested on the trailing four quarters' averages")  # a what-if
    assert words.endswith(", tightest in 2026Q4")
    averaged = data_of(coverage_model("trailing_four_quarters"))  # it averages already: nothing to add
    assert trailing_year_headroom(averaged, plan_statements(averaged, keep_everything(averaged))) == {}
    assert lowest_trailing_cushion(averaged, {}) is None




def test_the_reports_in_short_names_the_covenant_the_trailing_year_would_breach():
    """Prices a quarter of the forecast's in 2026Q1, untested: EBITDA 54,750 then 219,000, interest
    80,000 then 78,000, so no tested quarter breaches the 2.0x interest cover; on the trailing
    year's averages 2026Q2 reads (54,750 + 219,000) / 2 over (80,000 + 78,000) / 2 = 1.733x, EBITDA
    1 - 2.0 / 1.733 = 15.4 % short. "In short" said "a covenant would be breached (15.4% short)":
    it names the covenant, what is short and the quarter."""
    from types import SimpleNamespace

    from fleetopt.core.results.covenant_words import TRAILING_WHAT_IF, trailing_year_headroom
    from fleetopt.report.in_short import trailing_breach_words

    d = coverage_model()
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [0.25, 1.0, 1.0, 1.0]}
    data = data_of(d)
    plan = keep_everything(data)
    assert not forecast_breach(data, plan)
    run = SimpleNamespace(data=data, trailing_year=trailing_year_headroom(data, plan_statements(data, plan)))
    assert trailing_breach_words(run) == (f"; {TRAILING_WHAT_IF}, EBITDA / interest would be breached "
                                          "(EBITDA 15.4% short), tightest in 2026Q2")  # fmt: skip
    assert trailing_breach_words(SimpleNamespace(data=data, trailing_year={})) == ""

def test_the_solves_covenant_line_sets_the_trailing_year_what_if_apart():
    """The solve printed "EBITDA may fall 13.5% before a breach (the tightest), if tested on the
    trailing four quarters' averages (...), breached (EBITDA 3.8% short)": the what-if read as the
    condition of the quarter's own cushion before it. A semicolon parts them, as in the report."""
    from fleetopt.core.results.covenant_words import (
        TRAILING_WHAT_IF,
        covenant_headroom_text,
        trailing_year_headroom,
    )
    from fleetopt.core.results.headline import headline

    data = data_of(coverage_model())
    plan = keep_everything(data)
    st = plan_statements(data, plan)
    text = covenant_headroom_text(data, headline(data, plan, st), trailing_year_headroom(data, st))
    [line] = [line for line in text.splitlines() if TRAILING_WHAT_IF in line]
    assert f"before a breach; {TRAILING_WHAT_IF}, " in line or f"(the tightest); {TRAILING_WHAT_IF}, " in line
    assert f", {TRAILING_WHAT_IF}" not in line

@pytest.mark.parametrize("period", ["quarter", "trailing_four_quarters"])
def test_the_lowest_shocked_dscr_follows_the_covenants_ebitda_period(period):
    """Market prices 50 % lower halve EBITDA (all of it is market revenue): 109,500 in quarters 0-2,
    27,375 in quarter 3, against debt service (interest + 100,000 principal) of 180,000, 178,000,
    176,000, 174,000. Tested from quarter 1, the quarter's own DSCR is lowest in quarter 3,
    27,375 / 174,000; on the trailing four quarters it is (3 x 109,500 + 27,375) / 4 over 177,000 in
    quarter 3. summary.json's `shocked` reported the quarter's ratio under a trailing covenant,
    0.34x where the covenant's own ratio held at 1.40x."""
    from fleetopt.core.results.shocks import shocked_cash
    from fleetopt.schema.risk import Robustness

    data = data_of(coverage_model(period))
    plan = keep_everything(data)
    [case] = shocked_cash(data, plan, plan_statements(data, plan), Robustness(market_price_drop=0.5))
    want = 27_375.0 / 174_000.0 if period == "quarter" else (3 * 109_500.0 + 27_375.0) / 4 / 177_000.0
    assert case["lowest_dscr"] == pytest.approx(want, rel=1e-12)


def test_the_trailing_average_still_breaches_below_its_own_threshold():
    # 2.3109x on four quarters: a 2.4x covenant breaches on the average too
    data = data_of(coverage_model("trailing_four_quarters", threshold=2.4))
    assert forecast_breach(data, keep_everything(data))


def test_an_untested_quarter_does_not_breach():
    # the weak quarter comes first, before the covenants are tested (from quarter 1)
    d = coverage_model()
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [0.25, 1.0, 1.0, 1.0]}
    data = data_of(d)
    assert not forecast_breach(data, keep_everything(data))


def test_the_catalogue_gives_each_test_its_linear_form():
    d = coverage_model()
    d["finance"]["covenants"].update(max_debt_to_ebitda=6.0, min_dscr=1.4, min_liquidity_usd=25e6)
    tests = {t.kind.name: t for t in data_of(d).covenants}
    assert list(tests) == ["leverage", "dscr", "interest_coverage", "liquidity"]
    # leverage: 6.0 x 4 x EBITDA >= debt; DSCR: EBITDA >= 1.4 x debt service; liquidity: cash >= $25M
    assert (tests["leverage"].greater, tests["leverage"].lesser) == ((24.0, "ebitda"), (1.0, "debt"))
    assert (tests["dscr"].greater, tests["dscr"].lesser) == ((1.0, "ebitda"), (1.4, "debt_service"))
    assert (tests["liquidity"].greater, tests["liquidity"].lesser) == ((1.0, "cash"), (25e6, None))


def test_tests_apply_only_where_their_denominator_exists():
    (test,) = covenant_tests(
        type("C", (), {"ebitda_period": "quarter", "min_interest_coverage": 2.0, "tested_while_owed": {},
                       **{k.field: None for k in CATALOGUE if k.name != "interest_coverage"}})(),
        T=1, test_from=0, possible={"interest": np.ones(1, dtype=bool)},
    )  # fmt: skip
    values = {"ebitda": np.array([-5.0, -5.0, 100.0]), "interest": np.array([0.0, 10.0, 60.0])}
    # no interest: nothing to cover; a loss against interest breaches; 100 < 2 x 60 breaches
    assert test.breached(values).tolist() == [False, True, True]


@pytest.mark.parametrize("period", ["quarter", "trailing_four_quarters"])
def test_the_kernel_tests_every_covenant_as_the_numpy_simulation_does(cpu_kernel, period):
    # every covenant kind, thresholds near the plan's own figures so that scenarios fall on both
    # sides, on the tiny model's risky futures: the C build of the kernel agrees pair by pair
    d = tiny_model()
    d["finance"]["covenants"].update(
        ebitda_period=period, min_interest_coverage=4.0, min_liquidity_fraction_of_debt=0.05
    )
    data = data_of(d)
    plans_b = batch(data, [solved_tiny(data).plan, Plan.empty(data)])
    scen = generate_scenarios(data, 11, 0, 300)
    consts = SimulationConstants.from_data(data)
    want, got = simulate(consts, plans_b, scen), cpu_kernel.simulate(consts, plans_b, scen)
    np.testing.assert_array_equal(got["breach"], want["breach"])
    assert 0 < want["breach"][0].mean() < 1
    assert rel_err(got["npv"], want["npv"]) <= 1e-12


def test_the_kernel_reads_the_trailing_average_where_the_quarter_breaches(cpu_kernel):
    for period, breached in (("quarter", True), ("trailing_four_quarters", False)):
        data = data_of(coverage_model(period))
        plans_b = batch(data, [keep_everything(data)])
        scen = deterministic_scenarios(data)
        got = cpu_kernel.simulate(SimulationConstants.from_data(data), plans_b, scen)
        assert bool(got["breach"][0, 0]) is breached, period


@pytest.mark.parametrize("on", ["numpy", "cpu-kernel"])
def test_a_covenant_missed_by_less_than_a_dollar_is_round_off_not_a_breach(on, request):
    # the last quarter's interest cover: EBITDA 54,750 USD against the threshold x 74,000 USD of
    # interest. A threshold that asks 0.5 USD more than the EBITDA is within covenants.TOLERANCE_USD
    # (1 USD) and holds; one that asks 1.5 USD more breaches, on both the NumPy path and the kernel.
    for short_usd, breached in ((0.5, False), (1.5, True)):
        data = data_of(coverage_model(threshold=(54_750.0 + short_usd) / 74_000.0))
        if on == "numpy":
            assert forecast_breach(data, keep_everything(data)) is breached, short_usd
        else:
            got = request.getfixturevalue("cpu_kernel").simulate(
                SimulationConstants.from_data(data), batch(data, [keep_everything(data)]),
                deterministic_scenarios(data),
            )  # fmt: skip
            assert bool(got["breach"][0, 0]) is breached, short_usd


def solved_tiny(data):
    return solve(data, mip_gap=1e-3)


# ---------------------------------------------------------------- the MILP keeps the covenant


def prepay_model(period: str) -> dict:
    """The instance above for the MILP: no GPU on sale in the horizon (the fleet is the installed
    one) and a 50 % discount rate, above the loan's 8 %, so that repaying early costs NPV and the
    optimiser repays only what a covenant makes it. With the quarter's own EBITDA the 2.0x
    interest cover in the last quarter needs interest <= 54,750 / 2 = 27,375 USD, a balance at the
    end of quarter 2 of at most 1,368,750 USD against 3,700,000 scheduled: 2,331,250 USD repaid
    early, in quarter 2 (the latest, hence cheapest, quarter that lowers it). Repaying in the last
    quarter changes nothing (cash and the debt netted from the terminal value are discounted alike),
    so the tests leave that quarter's prepayment to the solver."""
    d = coverage_model(period)
    d["skus"]["A"]["available_until"] = "2025Q4"
    d["horizon"]["discount_rate_annual"] = 0.5
    return d


def test_the_milp_repays_early_exactly_enough_for_the_interest_cover():
    plan = solve(data_of(prepay_model("quarter")), mip_gap=1e-9).plan
    assert plan.prepay[0, 2] == pytest.approx(2_331_250.0, rel=1e-6)
    assert plan.prepay[0, :2] == pytest.approx(0.0, abs=1e-3)


def test_the_milp_repays_nothing_early_on_the_trailing_average():
    plan = solve(data_of(prepay_model("trailing_four_quarters")), mip_gap=1e-9).plan
    assert plan.prepay[0, :3] == pytest.approx(0.0, abs=1e-3)


# ---------------------------------------------------------------- which covenant breaks first


@pytest.mark.parametrize("kernel", [False, True], ids=["numpy", "cpu-kernel"])
def test_the_first_breach_names_the_covenants_missed_in_its_quarter_only(kernel, request):
    """The instance above with a 10x leverage cap besides the 2.0x interest cover, and prices
    [1, 1, 0.5, 0.25]: EBITDA 219,000, 219,000, 109,500 and 54,750 USD. Quarter 2 covers its
    interest (76,000) 1.44x, a breach, while 10 x 4 x 109,500 = 4,380,000 USD of EBITDA capacity
    still exceeds the 3,700,000 of debt; quarter 3 breaches leverage too (2,190,000 against
    3,600,000), after the first breach. With a 6x cap and prices [1, 1, 1, 0.25] both are first
    missed in quarter 3 (interest cover 0.74x; 1,314,000 against 3,600,000)."""
    cases = (  # the prices, the leverage cap, the covenants first missed and their quarter
        ([1.0, 1.0, 0.5, 0.25], 10.0, {"interest_coverage"}, 2),
        ([1.0, 1.0, 1.0, 0.25], 6.0, {"interest_coverage", "leverage"}, 3),
    )
    for prices, cap, first, quarter in cases:
        d = coverage_model()
        d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": prices}
        d["finance"]["covenants"]["max_debt_to_ebitda"] = cap
        data = data_of(d)
        consts, plans_b = SimulationConstants.from_data(data), batch(data, [keep_everything(data)])
        scen = deterministic_scenarios(data)
        sim = request.getfixturevalue("cpu_kernel").simulate if kernel else simulate
        got = sim(consts, plans_b, scen)
        assert got["first_breach"][0, 0] == sum(kind_bit(k) for k in CATALOGUE if k.name in first)
        # when: the quarters before the first breach, its quarter's index; no default (T = 4)
        assert got["quarters_before_breach"][0, 0] == quarter and got["quarters_before_default"][0, 0] == 4
        shares = plan_metrics(got, quarters=data.T)
        assert shares["breach_median_quarter"][0] == quarter + 1  # its one scenario's, numbered from 1
        for kind in CATALOGUE:
            assert shares[f"first_breach_{kind.name}_share"][0] == (1.0 if kind.name in first else 0.0)


def test_the_tightest_quarter_read_back_from_the_headroom():
    """Leverage at most 6x with a 25 % headroom: the highest tested ratio was 4.5x; a DSCR of at
    least 1.4x with 15 % headroom: the lowest was 1.61x; a $25M liquidity floor with a 3,900 %
    headroom: the lowest tested cash was $1.0B."""
    by_name = {kind.name: kind for kind in CATALOGUE}
    tested = np.ones(4, dtype=bool)

    def test(name, threshold):
        return CovenantTest(by_name[name], threshold, tested, (0, 1, 2, 3), 1)

    assert test("leverage", 6.0).tightest(0.25) == pytest.approx(4.5)
    assert test("dscr", 1.4).tightest(0.15) == pytest.approx(1.61)
    assert test("liquidity", 25e6).tightest(39.0) == pytest.approx(1.0e9)


def test_the_tightest_covenant_is_the_one_the_smallest_fall_breaches():
    """A DSCR of 1.25x against 1.0x (h = 25 %: EBITDA may fall 1 - 1 / 1.25 = 20 %) is nearer a
    breach than a borrowing base at 78 % of its limit (h = 22 %: the GPUs' resale value may fall
    22 %); the lowest headroom named the borrowing base (from a finance review). A $25M floor with
    $1B of cash: cash may fall 97.5 %. A phrase (nothing to test) is no share."""
    from types import SimpleNamespace

    from fleetopt.core.results.covenant_words import lowest_cushion

    by_name = {kind.name: kind for kind in CATALOGUE}
    tested = np.ones(4, dtype=bool)
    tests = tuple(CovenantTest(by_name[name], limit, tested, (0, 1, 2, 3), 1)
                  for name, limit in (("leverage", 6.0), ("dscr", 1.0), ("liquidity", 25e6),
                                      ("borrowing_base", 1.0)))  # fmt: skip
    data = SimpleNamespace(covenants=tests)
    headroom = {"leverage": "not tested: no debt", "dscr": 0.25, "liquidity": 39.0, "borrowing_base": 0.22}
    share, name = lowest_cushion(data, headroom)
    assert name == "dscr" and share == pytest.approx(0.20)
    share, name = lowest_cushion(data, {**headroom, "dscr": 0.30})  # EBITDA may fall 23.1 %
    assert name == "borrowing_base" and share == pytest.approx(0.22)
    assert lowest_cushion(data, {"liquidity": 39.0})[1] == "liquidity"
    # breached: DSCR 0.5x against 1.0x (h = -50 %: EBITDA 100 % short, it must double) is nearer than
    # nothing; EBITDA at or below zero (h <= -1) is the most breached, whatever else is (from a review:
    # h / (1 + h) divided by zero at -1 and turned positive below it)
    assert lowest_cushion(data, {**headroom, "dscr": -0.5}) == (pytest.approx(-1.0), "dscr")
    for h in (-1.0, -2.0):
        assert lowest_cushion(data, {**headroom, "dscr": h, "liquidity": -0.9}) == (-np.inf, "dscr")
    assert lowest_cushion(data, {"leverage": "not tested: no debt", "dscr": None}) == (None, None)


# ---------------------------------------------------------------- quarters the MILP tests debt in


def repaid_bullet_model(period: str = "quarter") -> dict:
    """1,000 installed GPUs rented on the market for three quarters, then no demand: EBITDA
    2,190,000 - 1,000 overhead = 2,189,000 USD in quarters 0-2 and -1,000 USD in quarter 3. A $1M
    bullet note at 8 % (2 % a quarter) already drawn, maturing 2026Q2 (quarter 1): interest 20,000
    in quarters 0 and 1, the 1M principal in quarter 1; debt 1M at the end of quarter 0, then 0.
    DSCR >= 1.2 and leverage <= 6x tested from quarter 0."""
    d = base_model()
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2026Q1", "gpus": 1000, "use": "inference",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["skus"]["A"]["capex_per_gpu_usd"] = 1e6  # none bought
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": [1e6, 1e6, 1e6, 0.0]}
    d["finance"]["overhead_usd_per_quarter"] = 1000.0
    d["finance"]["facilities"] = {
        "note": {"size_usd": 1e6, "opening_balance_usd": 1e6, "fixed_rate_annual": 0.08,
                 "repayment": "bullet", "maturity": "2026Q2", "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_dscr": 1.2, "max_debt_to_ebitda": 6.0,
                                 "ebitda_period": period}  # fmt: skip
    return d


def test_debt_covenants_leave_the_milp_once_the_debt_is_repaid():
    """Debt can be outstanding only at the end of quarter 0, debt service be due only in quarters 0
    and 1: the MILP tests leverage in quarter 0 and DSCR in quarters 0-1, as the evaluator does,
    and the model solves (a DSCR row in quarter 3 would ask EBITDA -1,000 >= 1.2 x 0). DSCR:
    2,189,000 / 20,000 = 109.45 in both (the note's repayment at maturity is not debt service);
    infinite after."""
    data = data_of(repaid_bullet_model())
    tests = {t.kind.name: t for t in data.covenants}
    assert tests["leverage"].milp_tested == (0,)
    assert tests["dscr"].milp_tested == (0, 1)
    lines = solve(data, mip_gap=1e-9).statements.lines
    assert lines["dscr"][:2] == pytest.approx([109.45, 109.45], rel=1e-9)
    assert lines["principal_usd"][1] == pytest.approx(1e6, rel=1e-12)
    assert np.isinf(lines["dscr"][2:]).all()
    assert lines["debt_usd"][1:] == pytest.approx(0.0, abs=1e-6)


def test_the_debt_table_writes_a_rate_as_the_model_summary_does():
    """A note at 3.125 % (an exact half of a hundredth of a per cent, 0.03125 in binary): the model
    summary before a solve writes 'fixed 3.13%' (format_percent, half up), and the debt table read
    '3.12% fixed' (float formatting rounds an exact half to even); refinanced at reference + 3.125 %
    likewise. Both are now 3.13%, as the summary writes them."""
    from milp_builders import load

    from fleetopt.cli.render.model import _debt_text
    from fleetopt.core.results.tables import debt_frame

    d = repaid_bullet_model()
    note = d["finance"]["facilities"]["note"]
    note.update(fixed_rate_annual=0.03125, at_maturity="refinance",
                refinance_spread_over_reference_annual=0.03125)
    d["finance"].pop("covenants")
    result = solve(data_of(d), mip_gap=1e-9)
    row = debt_frame(result.data, result.statements).iloc[0]
    assert row["rate"] == "3.13% fixed"
    assert row["at_maturity"] == "refinanced at reference + 3.13% (assumed available)"
    assert "fixed 3.13%" in _debt_text(load(d).model)


def test_the_debt_table_gives_each_facility_s_terms_and_year_end_balance():
    """The $1M bullet note at 8 % maturing 2026Q2 of the model above: repaid there, so nothing at
    the end of 2026Q4; refinanced at reference (0 here) + 5 % instead, it stays at $1M (a lender
    finance review asked for the debt schedule and which maturities are assumed refinanced). Its
    highest quarter-end balance is `quarter_end_peak_usd`, as the report heads it (`peak_usd` read as
    the highest balance, which an amortizing loan's opening may exceed)."""
    from fleetopt.core.results.tables import debt_frame

    result = solve(data_of(repaid_bullet_model()), mip_gap=1e-9)
    row = result.debt_frame().iloc[0].to_dict()
    assert row == {"facility": "note", "repayment": "bullet", "rate": "8.00% fixed", "maturity": "2026Q2",
                   "at_maturity": "repaid", "size_usd": 1e6, "opening_usd": 1e6,
                   "quarter_end_peak_usd": pytest.approx(1e6), "end_2026Q4_usd": pytest.approx(0.0, abs=1e-6)}
    d = repaid_bullet_model()
    note = d["finance"]["facilities"]["note"]
    note.update(at_maturity="refinance", refinance_spread_over_reference_annual=0.05)
    d["finance"].pop("covenants")  # the model holds no covenant once the note is not repaid
    d["horizon"]["discount_rate_annual"] = 0.5  # equity dearer than the note: not prepaid
    refinanced = solve(data_of(d), mip_gap=1e-9)
    row = debt_frame(refinanced.data, refinanced.statements).iloc[0]
    assert row["at_maturity"] == "refinanced at reference + 5.00% (assumed available)"
    assert row["end_2026Q4_usd"] == pytest.approx(1e6)
    # amortizing over 2 quarters: $0.5M in 2026Q1 and 2026Q2, paid off then; over 8, outstanding at the end
    for quarters, paid in ((2, "paid off in 2026Q2 (instalments and any prepayments)"),
                           (8, "outstanding at the horizon's end")):  # fmt: skip
        d = repaid_bullet_model()
        note = d["finance"]["facilities"]["note"]
        for key in ("repayment", "maturity"):
            note.pop(key)
        note["amortization_quarters"] = quarters
        d["finance"].pop("covenants")
        d["horizon"]["discount_rate_annual"] = 0.5  # not prepaid
        row = solve(data_of(d), mip_gap=1e-9).debt_frame().iloc[0]
        assert (row["repayment"], row["at_maturity"]) == (f"amortizing over {quarters} quarters", paid)
        assert row["maturity"] == "none: each draw amortizes"  # a blank cell said nothing
    none = solve(data_of(base_model()), mip_gap=1e-9).debt_frame()  # no facility: no row, the columns
    assert none.empty and list(none.columns[:3]) == ["facility", "repayment", "rate"]


def test_a_trailing_average_keeps_the_debt_service_test_for_three_more_quarters():
    """On the four-quarter average debt service stays positive through quarter 1 + 3 (the horizon's
    last, 3): DSCR is tested in every quarter; leverage (debt at the quarter's end, not averaged)
    still only in quarter 0. Quarter 3: (3 x 2,189,000 - 1,000) / 4 = 1,641,500 against
    debt service (20,000 + 20,000) / 4 = 10,000 (the note's repayment at maturity is not debt
    service): 164.15x."""
    data = data_of(repaid_bullet_model("trailing_four_quarters"))
    tests = {t.kind.name: t for t in data.covenants}
    assert tests["leverage"].milp_tested == (0,)
    assert tests["dscr"].milp_tested == (0, 1, 2, 3)
    assert solve(data, mip_gap=1e-9).statements.lines["dscr"][3] == pytest.approx(1_641_500.0 / 10_000.0)


def test_debt_quantities_are_possible_exactly_where_a_plan_drawing_everything_has_them():
    """An amortizing loan over 3 quarters, $1M opening and $1M drawn in each of quarters 1 and 2,
    8 quarters: the opening balance is repaid in quarters 0-2 (outstanding at the end of 0-1), the
    draw of quarter 1 in 2-4 (outstanding 1-3), that of quarter 2 in 3-5 (outstanding 2-4). Debt
    is possible in quarters 0-4, interest and debt service in 0-5; the plan that draws both
    quarters has each of them positive (beyond the 1e-10 USD left by thirds) in exactly those quarters."""
    d = repaid_bullet_model()
    d["horizon"]["quarters"] = 8
    d["market"]["demand_gpus"]["inference"] = 1e6
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 3e6, "opening_balance_usd": 1e6, "fixed_rate_annual": 0.08,
                 "amortization_quarters": 3, "draw_from": "2026Q2", "draw_until": "2026Q3"}
    }  # fmt: skip
    data = data_of(d)
    tests = {t.kind.name: t for t in data.covenants}
    assert tests["leverage"].milp_tested == (0, 1, 2, 3, 4)
    assert tests["dscr"].milp_tested == (0, 1, 2, 3, 4, 5)
    plan = Plan.empty(data)
    plan.draws[0, 1:3] = 1e6
    lines = plan_statements(data, plan).lines
    assert np.flatnonzero(lines["debt_usd"] > 1e-6).tolist() == [0, 1, 2, 3, 4]
    assert np.flatnonzero(lines["debt_service_usd"] > 1e-6).tolist() == [0, 1, 2, 3, 4, 5]
    assert np.flatnonzero(lines["interest_usd"] > 1e-6).tolist() == [0, 1, 2, 3, 4, 5]


def test_the_round_off_a_loan_repaid_in_thirds_leaves_is_no_debt():
    """The model above with a $1M loan repaid over 3 quarters instead (333,333.33 a quarter, 2 %
    interest): debt is possible at the end of quarters 0-1, debt service in 0-2, so the MILP tests
    leverage in 0-1 and DSCR in 0-2. The thirds leave about 1e-10 USD of debt and 2e-12 USD of
    debt service in quarter 3, where EBITDA is -1,000 USD: within TOLERANCE_USD (1 USD) of 0 they
    are round-off and no test applies, so the plan does not breach on the forecast (leverage 0 and
    DSCR inf in quarter 3). DSCR: 2,189,000 / (333,333.33 + 20,000) = 6.1953, then / 346,666.67 =
    6.3144, / 340,000 = 6.4382."""
    d = repaid_bullet_model()
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 1e6, "opening_balance_usd": 1e6, "fixed_rate_annual": 0.08,
                 "amortization_quarters": 3, "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    data = data_of(d)
    tests = {t.kind.name: t for t in data.covenants}
    assert (tests["leverage"].milp_tested, tests["dscr"].milp_tested) == ((0, 1), (0, 1, 2))
    r = solve(data, mip_gap=1e-9)
    lines = r.statements.lines
    service = np.array([1e6 / 3 + 20_000.0, 1e6 / 3 + 40_000.0 / 3, 1e6 / 3 + 20_000.0 / 3])
    assert lines["dscr"][:3] == pytest.approx(2_189_000.0 / service, rel=1e-9)
    assert 0.0 < lines["debt_service_usd"][3] < 1e-6  # the round-off this test is about
    assert (lines["dscr"][3], lines["debt_to_ebitda"][3]) == (np.inf, 0.0)
    assert not forecast_breach(data, r.plan)
    assert covenant_headroom(data, r.statements)["leverage"] > 0.0


def test_an_undrawn_facility_still_asks_ebitda_of_zero_and_the_diagnosis_says_so():
    """The model above with an undrawn $1M standby loan (amortizing over 4 quarters, drawable in
    every quarter) instead of the note: debt could be outstanding from quarter 0 and debt service be
    due from quarter 1, so the rows stand there although the plan owes nothing, and quarter 3's
    EBITDA of -1,000 USD misses both: DSCR -1,000 >= 1.2 x 0 by 1,000 USD, leverage
    0 <= 4 x 6 x -1,000 by 24,000 USD. The diagnosis names both and says the rows read EBITDA >= 0
    where nothing is owed (formulation §9); without the facility the model solves."""
    d = repaid_bullet_model()
    d["finance"]["facilities"] = {
        "standby": {"size_usd": 1e6, "fixed_rate_annual": 0.08, "amortization_quarters": 4,
                    "draw_from": "2026Q1", "draw_until": "2026Q4"}
    }  # fmt: skip
    with pytest.raises(InfeasibleModel) as err:
        solve(data_of(d), mip_gap=1e-9)
    groups = {g["group"]: g for g in err.value.diagnosis}
    assert set(groups) == {"dscr_covenant", "leverage_covenant"}
    assert groups["dscr_covenant"]["items"] == [("2026Q4", pytest.approx(1_000.0))]
    assert groups["leverage_covenant"]["items"] == [("2026Q4", pytest.approx(24_000.0))]
    assert all("owes nothing: there it reads EBITDA >= 0" in g["note"] for g in groups.values())
    assert "owes nothing" in str(err.value)
    d["finance"]["facilities"] = {}
    assert solve(data_of(d), mip_gap=1e-9).plan is not None


def test_a_covenant_with_nothing_owed_reads_not_tested_not_no_room():
    """The standby loan above, never drawn (it costs interest and the plan has cash), with demand in
    every quarter: no debt, no debt service in any tested quarter. DSCR, leverage and the borrowing
    base have nothing to test and say so (not "met with no room", not "EBITDA may fall 100 %"); the
    cash / debt minimum without debt is unbounded; the liquidity floor has its lowest cash. In
    summary.json each is a phrase, where a zero threshold would be null."""
    from fleetopt.core.results.covenant_words import covenant_headroom_text
    from fleetopt.core.results.headline import headline
    from fleetopt.runs.file_text import json_text

    d = repaid_bullet_model()
    d["market"]["demand_gpus"]["inference"] = 1e6
    d["finance"]["facilities"] = {
        "standby": {"size_usd": 1e6, "fixed_rate_annual": 0.08, "amortization_quarters": 4, "max_ltv": 0.5,
                    "draw_from": "2026Q1", "draw_until": "2026Q4"}
    }  # fmt: skip
    d["finance"]["covenants"].update(min_liquidity_usd=1e6, min_liquidity_fraction_of_debt=0.1)
    r = solve(data_of(d), mip_gap=1e-9)
    assert r.statements.lines["debt_usd"] == pytest.approx(np.zeros(4), abs=1e-6)
    fig = headline(r.data, r.plan, r.statements)
    assert fig["covenant_headroom"] == {
        "leverage": "not tested: no debt",
        "dscr": "not tested: no debt service",
        "liquidity": pytest.approx(1_002_189_000 / 1e6 - 1.0),  # $1bn + quarter 0's EBITDA, the lowest
        "liquidity_fraction": "no debt: cash / debt unbounded",
        "borrowing_base": "not tested: no GPU-secured debt",
    }
    # the only share: cash may fall by 1 - $1M / cash = h / (1 + h) before the floor breaks
    h = fig["covenant_headroom"]["liquidity"]
    assert fig["lowest_covenant_cushion"] == pytest.approx(1.0 - 1e6 / 1_002_189_000) == h / (1 + h)
    assert fig["tightest_covenant"] == "liquidity"
    cushion = fig["covenant_cushion"]  # each covenant's, on one measure; a phrase stays a phrase
    assert cushion["liquidity"] == fig["lowest_covenant_cushion"]
    assert cushion["dscr"] == "not tested: no debt service"
    text = covenant_headroom_text(r.data, fig)
    assert "EBITDA / debt service >= 1.2x: not tested: no debt service" in text
    assert "debt / annualised EBITDA <= 6x: not tested: no debt" in text
    assert "no room" not in text and "may fall" not in text
    assert '"dscr": "not tested: no debt service"' in json_text(fig)


def test_quarters_before_testing_starts_that_would_breach_are_named():
    """The default model's forecast "breaches no covenant" only because testing starts in 2027Q1:
    its 2026Q3 DSCR is 0.94x against 1.4x. The solve and the report now name such quarters. By hand
    on tiny's optimum (DSCR 2.993x in 2026Q3, 2.950x in 2026Q4, 2.747x in 2027Q1) under a 3.0x
    minimum tested from 2027Q1: the two quarters before it; 2027Q1 on is tested, so not listed."""
    from fleetopt import api
    from fleetopt.core.results.covenant_words import untested_breaches

    plan = api.solve("tiny").plan
    strict = api.edit("tiny", {"finance.covenants.min_dscr": 3.0, "finance.covenants.test_from": "2027Q1"})
    data = api.load(strict)[1]
    words = untested_breaches(data, plan_statements(data, plan))
    assert words == "EBITDA / debt service 2.99x in 2026Q3 and 2.95x in 2026Q4 (minimum 3x)"
    assert untested_breaches(*(lambda d: (d, plan_statements(d, plan)))(api.load("tiny")[1])) is None


# ---------------------------------------------------------------- a bullet repaid at maturity


def bullet_model() -> dict:
    """5 installed GPUs on the market (none on sale): EBITDA 5 x 2,190 = 10,950 USD a quarter. A
    $10,000 note at 8 % (interest 200 USD a quarter on the opening balance), a bullet repaid from
    cash at its maturity in 2026Q3 (quarter 2). DSCR 1.4x tested from 2026Q1."""
    d = base_model()
    d["skus"]["A"].update(available_from="2025Q1", available_until="2025Q4", useful_life_years=2.0,
                          resale_fraction_by_age_years=[1.0, 0.5, 0.0])  # fmt: skip (none on sale)
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2025Q1", "gpus": 5, "use": "training",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["finance"]["facilities"] = {
        "notes": {"size_usd": 10000.0, "opening_balance_usd": 10000.0, "fixed_rate_annual": 0.08,
                  "repayment": "bullet", "maturity": "2026Q3", "at_maturity": "repay",
                  "draw_from": "2026Q1", "draw_until": "2026Q1"}
    }  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_dscr": 1.4}
    return d


@pytest.mark.parametrize("on", ["numpy", "cpu-kernel"])
def test_a_bullet_repaid_at_maturity_is_not_debt_service(on, request):
    """Lenders leave a bullet's repayment at maturity out of the DSCR (it is refinanced or paid from
    cash, not from a quarter's EBITDA): 10,950 / 200 = 54.75x in each of quarters 0-2, where
    counting the $10,000 would give 10,950 / 10,200 = 1.07x in quarter 2, a breach of 1.4x, and an
    infeasible MILP. The cash still pays it, and the liquidity cover still counts it."""
    data = data_of(bullet_model())
    result = solve(data, mip_gap=0.0)
    lines = result.statements.lines
    np.testing.assert_allclose(lines["principal_usd"], [0.0, 0.0, 10_000.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(lines["debt_service_usd"], [200.0, 200.0, 200.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(lines["dscr"][:3], 54.75, rtol=1e-9)
    assert lines["cash_usd"][2] == pytest.approx(lines["cash_usd"][1] + 10_950.0 - 200.0 - 10_000.0, abs=1e-6)
    kernel = request.getfixturevalue("cpu_kernel") if on == "cpu-kernel" else None
    plans, scen = batch(data, [result.plan]), deterministic_scenarios(data)
    consts = SimulationConstants.from_data(data)
    got = kernel.simulate(consts, plans, scen) if kernel else simulate(consts, plans, scen)
    assert not got["breach"][0, 0]
    assert got["npv"][0, 0] == pytest.approx(result.statements.npv_usd, rel=1e-9)


@pytest.mark.parametrize("on", ["numpy", "cpu-kernel"])
def test_a_bullet_balance_kept_by_a_cut_prepayment_is_not_debt_service_at_maturity(on, request):
    """A plan file that prepays 9,000 of the note in quarter 1, run with a $5B cash buffer: the policy
    cuts the prepayment, and the 9,000 kept is repaid at maturity with the plan's last 1,000. All of
    it is the bullet's repayment, none debt service (10,950 / 9,200 = 1.19x would breach 1.4x)."""
    import copy

    d = bullet_model()
    d.setdefault("policy", {})["liquidity_buffer_usd"] = 5e9
    data = data_of(d)
    plan = copy.deepcopy(solve(data, mip_gap=0.0).plan)
    plan.prepay[0, 1] = 9_000.0
    plans, scen = batch(data, [plan]), deterministic_scenarios(data)
    consts = SimulationConstants.from_data(data)
    kernel = request.getfixturevalue("cpu_kernel") if on == "cpu-kernel" else None
    got = kernel.simulate(consts, plans, scen) if kernel else simulate(consts, plans, scen)
    assert got["prepayment_cut"][0, 0]  # the policy kept the 9,000 outstanding
    assert not got["breach"][0, 0]


# ---------------------------------------------------------------- cure rights


def cures_after(quarters: list[list[bool]], allowed: int, default_from: int | None = None) -> list[bool]:
    """Each sequence's uncured breach after its quarters' breaches (True: breached), with a
    liquidity default from quarter ``default_from`` on (None: none)."""
    rights = CureRights(allowed, (len(quarters),), np)
    for t in range(len(quarters[0])):
        defaulted = np.full(len(quarters), default_from is not None and t >= default_from)
        rights.quarter(np.array([q[t] for q in quarters]), defaulted)
    return rights.uncured.tolist()


def test_a_breach_is_cured_unless_the_quarter_before_was_or_the_cures_are_spent():
    """By hand (x breached, . not): x.x. two cures; xx.. the second quarter uncured (no cures in a
    row); x.x.x.x with 3 cures: the fourth breach uncured; x... with 0 cures: uncured; .... never."""
    seqs = ["x.x.", "xx..", "x.x.x.x", "x...", "....", ".x.x"]
    quarters = [[c == "x" for c in q.ljust(7, ".")] for q in seqs]
    assert cures_after(quarters, 5) == [False, True, False, False, False, False]
    assert cures_after(quarters, 3) == [False, True, True, False, False, False]
    assert cures_after(quarters, 0) == [True, True, True, True, False, True]


def test_no_breach_is_cured_in_or_after_the_quarter_of_a_liquidity_default():
    """By hand (x breached, . not; quarters numbered from 0), five cures: with a liquidity default
    in quarter 3, x..x's breach there is uncured though cures are left, and x.x., x... and .... have
    none there; with the default from quarter 2 on, x.x.'s second breach is uncured too (its first
    was cured) and x..x's breach in quarter 3, after the default; with none, every breach is cured."""
    seqs = ["x.x.", "x...", "....", "x..x"]
    quarters = [[c == "x" for c in q] for q in seqs]
    assert cures_after(quarters, 5, default_from=3) == [False, False, False, True]
    assert cures_after(quarters, 5, default_from=2) == [True, False, False, True]
    assert cures_after(quarters, 5) == [False, False, False, False]


@pytest.mark.parametrize("kernel", [False, True], ids=["numpy", "cpu-kernel"])
def test_an_uncured_breach_is_a_second_quarter_in_a_row_or_one_past_the_cures(kernel, request):
    """The interest cover of 2.0x tested from quarter 1 misses where the price is 0.5 (EBITDA
    109,500 against 2 x 78,000 and 2 x 74,000 of interest): prices [1, 0.5, 1, 0.5] breach in
    quarters 1 and 3, both cured with 5 cures, the second uncured with 1; [1, 0.5, 0.5, 1] breach
    in quarters 1 and 2 in a row, uncured; with 0 cures the one breach of [1, 0.5, 1, 1] is. When:
    the quarters before the uncured one, 3, 2 and 1 (4, the horizon's, where none is), its quarter
    numbered from 1 the median's (uncured_breach_median_quarter)."""
    cases = (  # prices, equity cures, uncured, quarters before it
        ([1.0, 0.5, 1.0, 0.5], 5, False, 4),
        ([1.0, 0.5, 1.0, 0.5], 1, True, 3),
        ([1.0, 0.5, 0.5, 1.0], 5, True, 2),
        ([1.0, 0.5, 1.0, 1.0], 0, True, 1),
        ([1.0, 0.5, 1.0, 1.0], 1, False, 4),
    )
    sim = request.getfixturevalue("cpu_kernel").simulate if kernel else simulate
    for prices, cures, uncured, before in cases:
        d = coverage_model()
        d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": prices}
        d["finance"]["covenants"]["equity_cures"] = cures
        data = data_of(d)
        got = sim(SimulationConstants.from_data(data), batch(data, [keep_everything(data)]),
                  deterministic_scenarios(data))  # fmt: skip
        assert got["breach"][0, 0] == 1.0, prices
        assert got["uncured_breach"][0, 0] == uncured and got["uncured_breach"].dtype == bool, (prices, cures)
        assert got["quarters_before_uncured"][0, 0] == before and got["quarters_before_breach"][0, 0] == 1
        shares = plan_metrics(got, quarters=data.T)
        assert shares["uncured_breach_probability"][0] == float(uncured)
        median = shares["uncured_breach_median_quarter"][0]
        assert median == before + 1 if uncured else np.isnan(median), (prices, cures)


@pytest.mark.parametrize("kernel", [False, True], ids=["numpy", "cpu-kernel"])
def test_a_breach_in_the_quarter_of_a_liquidity_default_is_uncured(kernel, request):
    """Prices [1, 0.5, 1, 0.5] breach the 2.0x interest cover in quarters 1 and 3 (from 0), five
    cures left. The cash changes by EBITDA less interest less the 100,000 repaid: +39,000, -68,500,
    +43,000, -64,500. From 40,000 it ends 79,000, 10,500, 53,500, -11,000: a liquidity default in
    quarter 3 (below the 0 floor), where its breach cannot be cured: the uncured breach, 3 quarters
    before it, owing the 3,600,000 left of the loan. From 20,000 it is -9,500 in quarter 1, the
    default and the uncured breach both there. Either way P(any default) is 1, as the default alone
    made it; with 1e9 no default comes and both breaches are cured."""
    sim = request.getfixturevalue("cpu_kernel").simulate if kernel else simulate
    for opening_cash, uncured, before in ((40_000.0, True, 3), (20_000.0, True, 1), (1e9, False, 4)):
        d = coverage_model()
        d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [1.0, 0.5, 1.0, 0.5]}
        d["finance"]["opening_cash_usd"] = opening_cash
        data = data_of(d)
        consts, plans = SimulationConstants.from_data(data), batch(data, [keep_everything(data)])
        assert kernel_fits(plans, consts) is None  # the kernel runs it, not the array code
        got = sim(consts, plans, deterministic_scenarios(data))
        assert bool(got["default"][0, 0]) is uncured, opening_cash
        assert bool(got["uncured_breach"][0, 0]) is uncured, opening_cash
        assert got["quarters_before_uncured"][0, 0] == before == got["quarters_before_default"][0, 0]
        owed = 4.0e6 - 100_000.0 * (before + 1) if uncured else 0.0  # 0: no uncured breach
        assert got["debt_at_uncured_breach"][0, 0] == pytest.approx(owed)
        # the default came first (the same quarter): lenders accelerate at it, as without the breach
        assert got["npv_accelerated"][0, 0] == got["npv_limited"][0, 0]
        shares = plan_metrics(got, quarters=data.T)
        assert shares["any_default_probability"][0] == float(uncured)
        assert shares["uncured_breach_probability"][0] == float(uncured)


def default_then_breach_model() -> dict:
    """coverage_model over six quarters whose prices [1, 0.8, 1, 1, 1, 0.5] put cash below the
    1,037,000 floor in quarter 1 (the liquidity default) and breach the cover in quarter 5 only."""
    d = coverage_model()
    d["horizon"]["quarters"] = 6
    d["skus"]["A"]["useful_life_years"] = 3.0
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [1.0, 0.8, 1.0, 1.0, 1.0, 0.5]}
    d["finance"].update(opening_cash_usd=1.0e6, min_cash_usd=1_037_000.0)
    return d


@pytest.mark.parametrize("kernel", [False, True], ids=["numpy", "cpu-kernel"])
def test_a_breach_after_a_liquidity_default_is_uncured_though_the_cash_came_back(kernel, request):
    """Six quarters (GPUs kept 3 years), interest 80,000 less 2,000 a quarter: at price 1 the cash
    rises 39,000 + 2,000 t, at 0.8 it falls 4,800 - 2,000 t with the 2.0x cover kept (175,200 against
    2 x 78,000), at 0.5 it falls 70,500 - 2,000 t, a breach. Prices [1, 0.8, 1, 1, 1, 0.5] from
    1,000,000 end quarters 0-5 at +39,000, +36,200, +79,200, +124,200, +171,200, +110,700: below the
    1,037,000 floor in quarter 1 only, the liquidity default. Quarter 5's breach, the only one, is
    uncured (five cures left), though cash is back above the floor by then."""
    sim = request.getfixturevalue("cpu_kernel").simulate if kernel else simulate
    data = data_of(default_then_breach_model())
    consts, plans = SimulationConstants.from_data(data), batch(data, [keep_everything(data)])
    assert kernel_fits(plans, consts) is None  # the kernel runs it, not the array code
    got = sim(consts, plans, deterministic_scenarios(data))
    assert (got["quarters_before_default"][0, 0], got["quarters_before_breach"][0, 0]) == (1, 5)
    assert got["uncured_breach"][0, 0] and got["quarters_before_uncured"][0, 0] == 5


def covered_cures_after(seqs: list[str], allowed: int, cash_covers: bool) -> list[bool]:
    """Each sequence's uncured breach (x breached, c breached where the cash covers the debt, .
    not), with ``cash_covering_debt_cures`` on or off."""
    rights = CureRights(allowed, (len(seqs),), np, cash_covers=cash_covers)
    for t in range(len(seqs[0])):
        rights.quarter(np.array([q[t] in "xc" for q in seqs]), np.zeros(len(seqs), dtype=bool),
                       np.array([q[t] == "c" for q in seqs]))  # fmt: skip
    return rights.uncured.tolist()


def test_a_breach_whose_cash_covers_the_debt_is_no_default_and_uses_no_cure():
    """By hand, five cures: xc.. is x cured, c (the second in a row) uncured without the option,
    repaid with it; xcx. cures quarters 0 and 2 with it (quarter 1, repaid, is no cured quarter
    before quarter 2); cccc (uncured in quarter 1 without it) has no default with it, even with 0
    cures; xcx. with 1 cure: quarter 2 is uncured (the one cure spent in quarter 0); xx.. is
    uncured either way."""
    seqs = ["xc..", "xcx.", "cccc", "xx..", "...."]
    assert covered_cures_after(seqs, 5, cash_covers=False) == [True, True, True, True, False]
    assert covered_cures_after(seqs, 5, cash_covers=True) == [False, False, False, True, False]
    assert covered_cures_after(seqs, 0, cash_covers=True) == [True, True, False, True, False]
    assert covered_cures_after(seqs, 1, cash_covers=True) == [False, True, False, True, False]
    assert covered_cures_after(seqs, 0, cash_covers=False) == [True, True, True, True, False]


@pytest.mark.parametrize("kernel", [False, True], ids=["numpy", "cpu-kernel"])
def test_an_uncured_breach_whose_cash_covers_the_debt_is_no_default_with_the_option(kernel, request):
    """The 2.0x interest cover of coverage_model, cash moving by EBITDA less interest (80,000, 78,000,
    76,000, 74,000) less 100,000 repaid, the loan owing 3,900,000, 3,800,000, 3,700,000, 3,600,000
    after quarters 0-3. EBITDA is 219,000 at price 1, 109,500 at 0.5 and 21,900 at 0.1 (breaches).
    [1, 0.5, 0.5, 1] breaches in quarters 1 and 2, the second in a row: from $5,000,000 the cash
    (4,970,500 and 4,900,000) covers the debt, so with the option no default (none uncured); from
    $100,000 (cash 70,500 and 4,000) quarter 2 is uncured either way, owing 3,700,000. [1, 0.5, 0.1, 1]
    from $3,850,000 ends quarter 1 with 3,820,500 >= 3,800,000 (repaid, no cure used) and quarter 2
    with 3,666,400 < 3,700,000: without the option quarter 1 is cured and quarter 2 uncured (in a
    row); with it quarter 2 is cured (the quarter before was no cured one), and with 0 cures quarter
    2, not 1, is uncured. The first breach is quarter 1 in every case: a breach is still a breach."""
    sim = request.getfixturevalue("cpu_kernel").simulate if kernel else simulate
    cases = (  # prices, opening cash, equity cures, option: the quarter uncured (None: none), its debt
        ([1.0, 0.5, 0.5, 1.0], 5.0e6, 5, False, 2, 3.7e6),
        ([1.0, 0.5, 0.5, 1.0], 5.0e6, 5, True, None, 0.0),
        ([1.0, 0.5, 0.5, 1.0], 1.0e5, 5, True, 2, 3.7e6),
        ([1.0, 0.5, 0.1, 1.0], 3.85e6, 5, False, 2, 3.7e6),
        ([1.0, 0.5, 0.1, 1.0], 3.85e6, 5, True, None, 0.0),
        ([1.0, 0.5, 0.1, 1.0], 3.85e6, 0, False, 1, 3.8e6),
        ([1.0, 0.5, 0.1, 1.0], 3.85e6, 0, True, 2, 3.7e6),
    )
    for prices, cash, cures, option, uncured, debt in cases:
        d = coverage_model()
        d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": prices}
        d["finance"]["opening_cash_usd"] = cash
        d["finance"]["covenants"].update(equity_cures=cures, cash_covering_debt_cures=option)
        data = data_of(d)
        consts, plans = SimulationConstants.from_data(data), batch(data, [keep_everything(data)])
        assert kernel_fits(plans, consts) is None  # the kernel runs it, not the array code
        got = sim(consts, plans, deterministic_scenarios(data))
        case = (prices, cash, cures, option)
        assert got["quarters_before_breach"][0, 0] == 1 and not got["default"][0, 0], case
        assert bool(got["uncured_breach"][0, 0]) is (uncured is not None), case
        assert got["quarters_before_uncured"][0, 0] == (data.T if uncured is None else uncured), case
        assert got["debt_at_uncured_breach"][0, 0] == pytest.approx(debt, rel=1e-12), case
        shares = plan_metrics(got, quarters=data.T)
        assert shares["any_default_probability"][0] == float(uncured is not None), case
        assert shares["breach_probability"][0] == 1.0, case


def test_more_cures_than_any_horizon_has_quarters_are_refused_by_name():
    """A C int held 256 x the cures allowed in the kernel: 10,000,000 overflowed it and every breach
    read uncured there while NumPy cured it (a review). More than 80 could never all be used."""
    from fleetopt.schema.issues import ModelError

    d = coverage_model()
    d["finance"]["covenants"]["equity_cures"] = 81
    with pytest.raises(ModelError, match="equity_cures"):
        data_of(d)
    d["finance"]["covenants"]["equity_cures"] = 80
    assert data_of(d).equity_cures == 80


def test_without_a_covenants_block_the_borrowing_base_has_five_cures():
    from fleetopt.core.covenants import equity_cures

    assert equity_cures(None) == 5
    d = coverage_model()
    assert data_of(d).equity_cures == 5
    d["finance"]["covenants"]["equity_cures"] = 2
    assert data_of(d).equity_cures == 2


# ---------------------------------------------------------------- a covenant tied to its facility


def bridge_model(tied_to: str | None) -> dict:
    """The instance above with a second loan, "bridge": $4,000 at 0 % repaid over 4 quarters, so
    it owes a balance at the end of quarters 0-2 and nothing after its last instalment in quarter
    3 (interest, hence the cover, unchanged). The 2.0x interest cover tied to the bridge is tested
    in quarters 1-2 (from test_from), where it holds, and not in quarter 3, where it breaches."""
    d = coverage_model()
    d["finance"]["facilities"]["bridge"] = {
        "size_usd": 4000.0, "opening_balance_usd": 4000.0, "fixed_rate_annual": 0.0,
        "amortization_quarters": 4, "draw_from": "2026Q1", "draw_until": "2026Q1",
    }  # fmt: skip
    if tied_to:
        d["finance"]["covenants"]["tested_while_owed"] = {"min_interest_coverage": tied_to}
    return d


@pytest.mark.parametrize("kernel", [False, True], ids=["numpy", "cpu-kernel"])
def test_a_covenant_lapses_once_its_facility_is_repaid(kernel, request):
    sim = request.getfixturevalue("cpu_kernel").simulate if kernel else simulate
    for tied_to, tested, breached in (
        ("bridge", [False, True, True, False], False),
        ("loan", [False, True, True, True], True),
        (None, [False, True, True, True], True),
    ):
        data = data_of(bridge_model(tied_to))
        (test,) = data.covenants
        assert test.tested.tolist() == tested, tied_to
        consts, plans = SimulationConstants.from_data(data), batch(data, [keep_everything(data)])
        assert kernel_fits(plans, consts) is None  # the kernel runs it, not the array code
        got = sim(consts, plans, deterministic_scenarios(data))
        assert bool(got["breach"][0, 0]) is breached, tied_to


def test_the_milp_keeps_a_tied_covenant_only_while_its_facility_is_owed():
    """prepay_model's 2.0x cover needs 2,331,250 USD repaid early for quarter 3; tied to the bridge,
    repaid by then, it is not tested there and nothing is repaid early (a 50 % discount rate)."""
    d = bridge_model("bridge")
    d["skus"]["A"]["available_until"] = "2025Q4"
    d["horizon"]["discount_rate_annual"] = 0.5
    data = data_of(d)
    assert data.covenants[0].milp_tested == (1, 2)
    assert data.covenants[0].describe() == "EBITDA / interest >= 2x while bridge is owed"
    plan = solve(data, mip_gap=1e-9).plan
    assert plan.prepay[:, :3] == pytest.approx(0.0, abs=1e-3)


def test_a_covenant_tied_to_a_facility_repaid_before_the_tests_start_is_never_tested():
    d = bridge_model("bridge")
    d["finance"]["covenants"]["test_from"] = "2026Q4"  # quarter 3: the bridge owes nothing at its end
    data = data_of(d)
    (test,) = data.covenants
    assert not test.tested.any() and test.milp_tested == ()
    r = solve(data, mip_gap=1e-9)
    headroom = covenant_headroom(data, r.statements)
    assert headroom["interest_coverage"] == "not tested: bridge owes nothing from the first test on"


def test_a_tied_covenant_names_a_facility_and_a_threshold_the_model_has():
    from fleetopt.schema.finance import COVENANT_THRESHOLDS
    from fleetopt.schema.issues import ModelError

    assert tuple(k.field for k in CATALOGUE if k.field) == COVENANT_THRESHOLDS
    for tied, message in (
        ({"min_interest_coverage": "loan2"}, "min_interest_coverage: unknown facility 'loan2'"),
        ({"min_dscr": "bridge"}, "tested_while_owed names min_dscr, which this block does not set"),
        ({"min_cash": "bridge"}, "Input should be 'max_debt_to_ebitda'"),
    ):
        d = bridge_model(None)
        d["finance"]["covenants"]["tested_while_owed"] = tied
        with pytest.raises(ModelError, match=message):
            data_of(d)


@pytest.mark.parametrize("kernel", [False, True], ids=["numpy", "cpu-kernel"])
def test_the_debt_at_an_uncured_breach_is_what_lenders_accelerating_then_would_claim(kernel, request):
    """The instance above from $100,000 of cash, the GPUs worth nothing when sold (``resale: false``).
    Cash: 139,000 after quarter 0 (219,000 - 80,000 of interest - 100,000 of principal), then
    +109,500 (price 0.5) or +219,000 (price 1), less 78,000, 76,000, 74,000 of interest and 100,000.
    Prices [1, 0.5, 1, 0.5] with one cure: quarter 1 is cured, quarter 3 uncured, owing 3,600,000
    with 49,000 of cash, so 3,551,000 is not covered; [1, 0.5, 0.5, 1]: quarter 2 (the second in a
    row), owing 3,700,000 with 4,000; five cures: no uncured breach, nothing counted."""
    sim = request.getfixturevalue("cpu_kernel").simulate if kernel else simulate
    for prices, cures, debt, uncovered in (
        ([1.0, 0.5, 1.0, 0.5], 1, 3_600_000.0, 3_551_000.0),
        ([1.0, 0.5, 0.5, 1.0], 5, 3_700_000.0, 3_696_000.0),
        ([1.0, 0.5, 1.0, 0.5], 5, 0.0, 0.0),
    ):
        d = coverage_model()
        d["finance"]["opening_cash_usd"] = 100_000.0
        d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": prices}
        d["finance"]["covenants"]["equity_cures"] = cures
        data = data_of(d)
        got = sim(SimulationConstants.from_data(data), batch(data, [keep_everything(data)]),
                  deterministic_scenarios(data))  # fmt: skip
        assert got["default"][0, 0] == 0.0 and bool(got["uncured_breach"][0, 0]) is (debt > 0), prices
        assert got["debt_at_uncured_breach"][0, 0] == pytest.approx(debt, rel=1e-12), (prices, cures)
        assert got["uncovered_debt_at_uncured_breach"][0, 0] == pytest.approx(uncovered, rel=1e-12)
        shares = plan_metrics(got, quarters=data.T)
        assert shares["uncovered_debt_at_uncured_breach_mean_usd"][0] == pytest.approx(uncovered, rel=1e-12)
        if debt:
            covered = shares["debt_covered_at_uncured_breach"][0]
            assert covered == pytest.approx(1.0 - uncovered / debt, rel=1e-12)


def test_the_liquidity_pair_holds_each_part_over_its_own_quarters():
    """The cash floor and the cash / debt minimum share one MILP group; with the floor tied to the
    bridge (owed at the end of quarters 0-2) and the fraction not, the floor's rows are those of
    quarters 1-2 (from test_from) and the fraction's those of 1-3, as the evaluator tests them (a
    review: both took the first test's quarters, so the fraction went untested in quarter 3)."""
    from fleetopt.milp.build import build_model

    for tied, floor, fraction in (
        ("min_liquidity_usd", [1, 2], [1, 2, 3]),
        ("min_liquidity_fraction_of_debt", [1, 2, 3], [1, 2]),
    ):
        d = bridge_model(None)
        d["finance"]["covenants"].update(min_liquidity_usd=1000.0, min_liquidity_fraction_of_debt=0.01,
                                         tested_while_owed={tied: "bridge"})  # fmt: skip
        data = data_of(d)
        tests = {t.kind.name: t for t in data.covenants}
        assert list(tests["liquidity"].milp_tested) == floor
        assert list(tests["liquidity_fraction"].milp_tested) == fraction
        rows = list(build_model(data).liquidity_covenant.keys())
        assert [t for t, part in rows if part == "floor"] == floor, tied
        assert [t for t, part in rows if part == "fraction"] == fraction, tied


def test_an_infeasible_diagnosis_names_only_the_liquidity_test_the_model_sets():
    """No cash, $1M of overhead a quarter and no revenue, a liquidity floor of $1 from the first
    quarter: cash ends quarters 0-3 at -1M, -2M, -3M, -4M, each $1 short of the floor. The
    diagnosis names the floor ("2026Q1 (liquidity)" ... short by $1M + $1 ...) and nothing else of
    the group (a review: it also named "(fraction)" rows, a cash / debt test the model never set,
    which doubled the group's total); as the model file names the test (it said "liquidity_covenant
    ... 2026Q1 (floor)")."""
    from fleetopt.milp.build import build_model

    d = base_model()
    d["finance"].update(opening_cash_usd=0.0, overhead_usd_per_quarter=1.0e6)
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 0.0}
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_liquidity_usd": 1.0}
    data = data_of(d)
    assert {part for _, part in build_model(data).liquidity_covenant} == {"floor"}
    with pytest.raises(InfeasibleModel) as err:
        solve(data, mip_gap=1e-9)
    (group,) = [g for g in err.value.diagnosis if g["group"] == "liquidity_covenant"]
    expected = [(f"2026Q{q} (liquidity)", pytest.approx(q * 1.0e6 + 1.0, rel=1e-6)) for q in (1, 2, 3, 4)]
    assert group["items"] == expected
    said = "liquidity covenant in 2026Q1..2026Q4: cash below $1 by $4.0M in 2026Q4 (liquidity), "
    assert said in str(err.value)
    assert "cash / debt" not in str(err.value)


def test_a_tied_covenant_s_lapsed_quarters_are_neither_its_lowest_ratio_nor_its_grace():
    """The cover tied to the bridge, a DSCR of 1.0x too: the headline's lowest DSCR is that of the
    quarters the DSCR is tested in (1-2: EBITDA 219,000 / (78,000 + 100,000 + 1,000) = 1.2235 in
    quarter 1), not quarter 3's 0.31x after the bridge is repaid; and quarter 3, lapsed, is no
    breach "before testing starts" (a review: both read the covenants block's quarters)."""
    from fleetopt.core.results.covenant_words import tested_from, untested_breaches
    from fleetopt.core.results.headline import headline

    d = bridge_model(None)
    d["finance"]["covenants"].update(min_dscr=1.0, tested_while_owed={"min_dscr": "bridge",
                                                                      "min_interest_coverage": "bridge"})
    data = data_of(d)
    plan = keep_everything(data)
    st = plan_statements(data, plan)
    assert st.lines["dscr"][3] < 0.32
    assert headline(data, plan, st)["min_dscr"] == pytest.approx(219_000.0 / 179_000.0, rel=1e-9)
    assert untested_breaches(data, st) is None
    d["finance"]["covenants"]["test_from"] = "2026Q4"  # the tied tests never tested: quarter 3 lapsed
    data = data_of(d)
    st = plan_statements(data, plan)
    assert untested_breaches(data, st) is None
    assert headline(data, plan, st)["min_dscr"] is None  # never tested: no lowest DSCR (a second review)
    assert tested_from(data, "dscr") == " (never tested)"


def test_a_tied_test_is_no_grace_before_its_facility_can_owe():
    """A DSCR tied to a loan drawable from quarter 2 only, tested from quarter 1: quarter 0, weak
    (DSCR 54,750 / 180,000 = 0.30), is before test_from but the loan could owe nothing there, so it
    is no grace and not named "breached before testing starts"; untied, it is (a second review)."""
    from fleetopt.core.results.covenant_words import untested_breaches

    d = coverage_model()
    d["finance"]["facilities"]["later"] = {"size_usd": 1000.0, "fixed_rate_annual": 0.0,
                                           "amortization_quarters": 4, "draw_from": "2026Q3",
                                           "draw_until": "2026Q3"}  # fmt: skip
    d["finance"]["covenants"].update(min_interest_coverage=None, min_dscr=1.0,
                                     tested_while_owed={"min_dscr": "later"})  # fmt: skip
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [0.25, 1.0, 1.0, 1.0]}
    data = data_of(d)
    (test,) = data.covenants
    assert test.tested.tolist() == [False, False, True, True]
    assert untested_breaches(data, plan_statements(data, keep_everything(data))) is None
    del d["finance"]["covenants"]["tested_while_owed"]
    data = data_of(d)
    early = untested_breaches(data, plan_statements(data, keep_everything(data)))
    assert early == "EBITDA / debt service 0.30x in 2026Q1 (minimum 1x)"


def test_the_present_cost_counts_the_interest_paid():
    """formulation §6, "Cost": the present cost is the fleet held at the start plus each quarter's
    capex less disposal proceeds plus interest plus opex, less the value at the end. Here the
    installed GPUs are worth nothing on a sale (no resale), nothing is bought and nothing costs money
    but the loan's interest (no discounting): 80,000 + 78,000 + 76,000 + 74,000 = 308,000."""
    from fleetopt.core.results.cost import present_cost, present_cost_parts

    data = data_of(coverage_model())
    st = plan_statements(data, keep_everything(data))
    assert present_cost_parts(data, st) == pytest.approx((0.0, INTEREST.sum(), 0.0))
    assert present_cost(data, st) == pytest.approx(308_000.0, rel=1e-12)


def test_a_covenants_limit_is_written_in_the_same_words_wherever_it_is_shown():
    """The test (``describe``: the terminal, the report's assumptions, a broken limit) and its limit
    beside a ratio (``limit_words``: the report's key figures, the untested breaches) write the
    threshold the model gives once: a 12.5 % share of debt is 12.5%, never 12% or 13%."""
    d = coverage_model(threshold=1.25)
    d["finance"]["covenants"]["min_liquidity_fraction_of_debt"] = 0.125
    d["finance"]["covenants"]["min_liquidity_usd"] = 2.5e7
    tests = {test.kind.name: test for test in data_of(d).covenants}
    assert tests["interest_coverage"].describe() == "EBITDA / interest >= 1.25x"
    assert limit_words(tests["interest_coverage"]) == "minimum 1.25x"
    assert tests["liquidity_fraction"].describe() == "cash / debt >= 12.5%"
    assert limit_words(tests["liquidity_fraction"]) == "minimum 12.5%"
    assert tests["liquidity"].describe() == "liquidity >= $25.0M"


def _notes_of(d: dict) -> list[str]:
    """The warnings loading model ``d`` gives, without their "source:line: " start."""
    import warnings

    from fleetopt.errors import FleetoptWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FleetoptWarning)
        data_of(d)
    return [str(w.message).split(": ", 1)[1] for w in caught if issubclass(w.category, FleetoptWarning)]


@pytest.mark.parametrize(("choice", "chosen", "threshold"), [
    ("leverage_numerator", "net_debt", "max_debt_to_ebitda"),
    ("dscr_cash_flow", "ebitda_less_tax", "min_dscr"),
])  # fmt: skip
def test_a_numerator_chosen_for_a_threshold_not_set_is_said(choice, chosen, threshold):
    """Net leverage or the DSCR on EBITDA less tax chosen without its threshold tests nothing: the
    model loads with a note naming the setting and the threshold it needs; with the threshold, none."""
    d = tiny_model()
    d["finance"]["covenants"] |= {choice: chosen, threshold: None}
    notes = [n for n in _notes_of(d) if n.startswith("finance.covenants")]
    assert notes == [f"finance.covenants.{choice}: {chosen} is the numerator of {threshold}, which this "
                     f"block does not set, so it changes nothing; set {threshold} or drop {choice}"]
    d["finance"]["covenants"][threshold] = 2.0
    assert not [n for n in _notes_of(d) if n.startswith("finance.covenants")]


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("equity_cures", 2, "2"),
    ("ebitda_period", "trailing_four_quarters", "trailing_four_quarters"),
])  # fmt: skip
def test_how_covenants_are_tested_with_no_covenant_to_test_is_said(name, value, shown):
    """The cures allowed and the EBITDA period act only on a covenant tested: with no threshold set
    and no facility's borrowing base, a change to either says it changes nothing; at its default, or
    with a threshold set, nothing is said."""
    d = tiny_model()
    d["finance"]["covenants"] = {"test_from": "2026Q4", name: value}
    d["finance"]["facilities"]["gpu-term-loan"].pop("max_ltv")
    notes = [n for n in _notes_of(d) if n.startswith("finance.covenants")]
    assert notes == [f"finance.covenants.{name}: {shown} changes nothing: the model tests no covenant (no "
                     "threshold in this block, no facility with a max_ltv), so there is no breach for it to "
                     f"act on; set a threshold such as min_dscr or drop {name}"]
    d["finance"]["covenants"]["min_dscr"] = 1.2
    assert not [n for n in _notes_of(d) if n.startswith("finance.covenants")]


def test_cash_covering_debt_with_no_covenant_to_breach_is_said():
    """cash_covering_debt_cures cures breaches: with no threshold set and no facility's borrowing base
    there is none, and the model says so; a facility's max_ltv gives it a test to act on."""
    d = tiny_model()
    d["finance"]["covenants"] = {"test_from": "2026Q4", "cash_covering_debt_cures": True}
    d["finance"]["facilities"]["gpu-term-loan"].pop("max_ltv")
    notes = [n for n in _notes_of(d) if n.startswith("finance.covenants")]
    assert len(notes) == 1 and notes[0].startswith(
        "finance.covenants.cash_covering_debt_cures: true changes nothing: the model tests no covenant")
    d["finance"]["facilities"]["gpu-term-loan"]["max_ltv"] = 0.7
    assert not [n for n in _notes_of(d) if n.startswith("finance.covenants")]

"""Figures written for people (fleetopt/core/units.py): scale, sign and rounding, by hand."""

from __future__ import annotations

import math

import pytest

from fleetopt.core.results.headline import dscr_words, liquidity_cover_words
from fleetopt.core.units import (
    counts_apart,
    decimals_apart,
    error_beside,
    figures_apart,
    format_count,
    format_difference,
    format_duration,
    format_error,
    format_figure,
    format_gap,
    format_mean_and_error,
    format_mw,
    format_number_compact,
    format_solver_status,
    format_usd,
    format_usd_cents,
    format_usd_change,
    format_usd_compact,
    gap_shows,
    mw_apart,
    usd_apart,
    usd_column_formatter,
    whole_count,
)
from fleetopt.report.svg import _usd_decimals, usd_tick


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (-14_109_908.48, "-$14.1M"),
        (2.354e9, "$2.35B"),
        (999_960_000.0, "$1.00B"),  # not $1,000.0M
        (999_600.0, "$1.0M"),
        (-0.4, "$0"),  # a loss that rounds to nothing has no sign
        (float("nan"), "n/a"),
    ],
)
def test_money_has_a_scale_and_no_sign_on_nothing(usd, text):
    assert format_usd(usd) == text


@pytest.mark.parametrize(
    ("se", "unit", "text"),
    [
        (844_000.0, "USD", "$840k"),  # format_usd: $844.0k, a precision the sampling does not give
        (845_000.0, "USD", "$850k"),  # half up, as every figure (float formatting: 8.4e+05)
        (25_600_000.0, "USD", "$26M"),
        (2_640_000.0, "USD", "$2.6M"),  # 1.0-9.9 keep a decimal: two figures
        (999_600.0, "USD", "$1.0M"),  # rolled over to the next scale, not $1,000k
        (1_234_000_000.0, "USD", "$1.2B"),
        (853.0, "USD", "$850"),
        (0.4, "USD", "$0"),  # round-off: whole dollars, as format_usd
        (0.0, "USD", "$0"),
        (0.0045, "pp", "0.45 pp"),  # a share's, in points
        (0.02, "pp", "2.0 pp"),
        (0.2449, "pp", "24 pp"),
        (0.0, "pp", "0 pp"),  # the same in every scenario
        (float("nan"), "USD", "n/a"),
        (None, "pp", "n/a"),
    ],
)
def test_a_standard_error_is_written_to_two_significant_figures(se, unit, text):
    assert format_error(se, unit) == text


@pytest.mark.parametrize(
    ("mean", "se", "text"),
    [
        # $10.4M is one hundredth of a billion: '$0.01B' could be anything from $5M to $15M
        (1_012_345_678.0, 10_400_000.0, "$1.01B ± $10M"),
        (18.69e9, 0.21e9, "$18.69B ± $0.21B"),  # 21 of the mean's last digit: its scale
        (779_705.0, 1_200.0, "$779.7k ± $1.2k"),  # 12 of them
        (-17_900_000.0, 844_000.0, "-$17.9M ± $0.8M"),  # 8.4 of them: rounded by 5 % at most
        (-17_900_000.0, 449_000.0, "-$17.9M ± $450k"),  # 4.5: '$0.4M' would be 11 % off
        (-17_900_000.0, 0.0, "-$17.9M ± $0"),  # one scenario's, or the same in every one
        (1_000_000.0, float("nan"), "$1.0M ± n/a"),
    ],
)
def test_a_mean_s_standard_error_shows_beside_it(mean, se, text):
    assert format_mean_and_error(mean, se) == text


def test_a_column_s_standard_errors_too_small_for_its_scale_keep_two_figures():
    means = [1_012_345_678.0, 18.69e9]
    assert [error_beside(se, means) for se in (10_400_000.0, 0.21e9)] == ["$10M", "$0.21B"]


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (-112_948_663.789, "-$112,948,663.79"),
        (18_690_000_000.12, "$18,690,000,000.12"),  # 13 digits: the cents kept
        (-0.004, "$0.00"),  # no sign on nothing
        (float("inf"), "n/a"),
    ],
)
def test_money_to_the_cent_keeps_every_digit(usd, text):
    """The NPV a reader reconciles (`evaluate --explain`'s line after its table): 12 significant digits
    (units.rounded) would write $18,690,000,000.10 for $18,690,000,000.12."""
    assert format_usd_cents(usd) == text


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.025, "share", "+2.5 pp"),
        (-0.025, "share", "-2.5 pp"),
        (-1e-6, "share", "0.0 pp"),  # printed "-0.0 pp" in compare's utilisation row
        (1e-6, "share", "0.0 pp"),
        (-0.3, "GPUs", "0 GPUs"),
        (-1_200.0, "GPUs", "-1,200 GPUs"),
        (3.2e6, "USD", "+$3.2M"),
        (-0.2, "USD", "$0"),
    ],
)
def test_a_difference_is_signed_unless_it_rounds_to_nothing(value, unit, text):
    assert format_difference(value, unit) == text


@pytest.mark.parametrize(
    ("mw", "text"),
    [(3.61, "3.6 MW"), (20.000000000000004, "20 MW"), (12.5, "12.5 MW"), (361.63, "361.6 MW"),
     (1_250.0, "1,250 MW"), (0.25, "0.25 MW"), (0.0434, "0.043 MW"), (0.96, "1 MW"), (1e-9, "0 MW"),
     (-2.5, "-2.5 MW"), (0.05, "0.05 MW")],
)  # fmt: skip
def test_mw_to_one_decimal_and_two_significant_digits_below_one(mw, text):
    """compare showed a peak of 3.61 MW as "4 MW"; every MW figure is written by format_mw."""
    assert format_mw(mw) == text
    assert format_figure(mw, "MW") == text


@pytest.mark.parametrize(
    ("mw", "text"),
    [(1e300, "1e+300 MW"), (-1e300, "-1e+300 MW"), (2.5e12, "2.5e+12 MW"), (999_999_999.0, "999,999,999 MW"),
     (math.inf, "n/a"), (math.nan, "n/a")],
)  # fmt: skip
def test_mw_beyond_any_grid_in_a_few_digits(mw, text):
    """A capacity typed as 1e300 MW was written as a 300-digit number; infinity raised InvalidOperation."""
    assert format_mw(mw) == text


def test_figures_in_their_units():
    assert format_figure(-1e-9, "share") == "0.0%"
    assert format_figure(0.314, "share") == "31.4%"
    # a covenant's cushion where EBITDA or cash is at or below zero read "n/a" in compare (a review)
    assert format_figure(-math.inf, "share") == "breached (at or below zero)"
    assert format_figure(math.nan, "share") == "n/a"
    assert format_figure(12_000.4, "GPUs") == "12,000 GPUs"
    assert format_usd_change(-1.4e10) == "-$14.00B"


@pytest.mark.parametrize(
    ("usd", "text", "compact"),
    [
        (4_050_000.0, "$4.1M", "$4.1M"),  # 4.05 millions: the float 4.05 is 4.04999..., "{:.1f}" gave $4.0M
        (-4_050_000.0, "-$4.1M", "-$4.1M"),  # away from zero, not up
        (4_049_999.0, "$4.0M", "$4.0M"),
        (1_005_000_000.0, "$1.01B", "$1.0B"),  # 1.005 billions to two decimals (the float is 1.00499...)
        (850_050.0, "$850.1k", "$850.1k"),  # thousands to one decimal, as millions are
        (849_950.0, "$850.0k", "$850.0k"),  # a half: away from zero
        (2.5, "$3", "$3"),
        (-0.5, "-$1", "-$1"),  # half a dollar of loss rounds to a dollar, and keeps its sign
    ],
)
def test_money_rounds_exact_halves_away_from_zero(usd, text, compact):
    """Every money formatter rounds the decimal figure a value is written as half away from zero."""
    assert format_usd(usd) == text
    assert format_usd_compact(usd) == compact


def test_money_formatters_agree_on_a_half():
    """$4,050,000: $4.1M in a sentence and a report column alike; a chart's tick is a round value
    written exactly ($4.05M, where one decimal wrote a tick of 1,250,000 as 1.2M between 1M and 1.5M)."""
    assert format_usd(4.05e6) == usd_column_formatter([4.05e6, 3e6])(4.05e6) == "$4.1M"
    assert usd_tick(4.05e6) == "$4.05M" and usd_tick(1.25e6) == "$1.25M" and usd_tick(-2e9) == "-$2B"
    assert usd_column_formatter([2e9, 1e9])(1.005e9) == "$1.01B"
    assert format_usd_change(-4.05e6) == "-$4.1M"


def test_float_noise_is_not_a_digit():
    """Interest of exactly 4,050,000 USD computed as 4,049,999.9999999995 (2 % of a balance): $4.1M,
    as statements.csv's 4050000.000000 and the halves rule say, not $4.0M."""
    assert format_usd(4_049_999.9999999995) == "$4.1M"
    assert format_usd(4_050_000.0) == "$4.1M"
    assert format_usd(4_049_999.0) == "$4.0M"


def test_a_count_of_one_is_singular():
    """compare's "contracts taken" read "1 contracts"."""
    assert format_figure(1, "contracts") == "1 contract" and format_figure(2, "contracts") == "2 contracts"
    assert format_figure(1, "GPUs") == "1 GPU" and format_difference(-1, "GPUs") == "-1 GPU"
    assert format_figure(1_000, "GPUs") == "1,000 GPUs" and format_figure(0, "contracts") == "0 contracts"


@pytest.mark.parametrize(
    ("count", "nearest", "up"),
    [(16_890.1, "16,890", "16,891"), (16_890.5, "16,891", "16,891"), (16_890.4, "16,890", "16,891"),
     (2.5, "3", "3"), (0.04, "0", "1"), (200.0000001, "200", "200"),
     (0.0, "0", "0"), (-1_200.3, "-1,200", "-1,200"), (-0.3, "0", "0"),
     (1e-9, "0", "0")],  # a shortfall that is the solver's round-off is none, not one GPU
)  # fmt: skip
def test_a_count_of_gpus_is_whole_and_a_shortfall_rounds_up(count, nearest, up):
    """The MILP's holdings are continuous: an infeasible model read "short by 16,890.1 GPUs". A count
    is written whole, to the nearest (a half away from zero, as every figure); a shortfall rounded up,
    the GPUs still to find: never "0 GPUs" short where a part of one is, nor one more for round-off."""
    assert whole_count(count) == nearest
    assert whole_count(count, rounding="up") == up
    assert format_count(count, "GPUs", rounding="up") == f"{up} {'GPU' if up == '1' else 'GPUs'}"
    assert format_count(math.nan, "GPUs") == "n/a"


def test_a_delivery_short_of_what_is_due_rounds_down():
    """A contract 99.7 of 100 GPUs delivered, late, read "100 of 100 GPUs delivered": what is delivered
    of more due is rounded down, round-off dropped first; a count that is not finite reads n/a."""
    assert [whole_count(n, "down") for n in (99.7, 99.9999999, 100.0, 0.4)] == ["99", "100", "100", "0"]
    assert whole_count(math.nan) == "n/a" and format_count(1.0, "H100-eq. GPUs") == "1 H100-eq. GPU"
    with pytest.raises(ValueError, match="rounding must be"):
        whole_count(1.0, "half")


@pytest.mark.parametrize(
    ("value", "other", "more", "texts"),
    [(2_000.08, 2_000.0, (), ("2,000.08", "2,000.00")),  # a fraction of a GPU shows, to the hundredth
     (2_000.6, 2_000.0, (), ("2,000.60", "2,000.00")),  # not "2,001 more than 2,000"
     (2_000.0012, 2_000.0, (), ("2,000.001", "2,000.000")),
     (2_000.0019, 1_999.999, (), ("2,000.002", "1,999.999")),  # both whole to a millionth, 0.0029 apart
     (600.0, 500.0, (600.0, 100.0, 0.0), ("600", "500", "600", "100", "0")),  # whole stays whole
     (600.0, 599.997, (-1e-12,), ("600.000", "599.997", "0.000")),  # round-off has no minus sign
     (2e-6, 0.0, (), ("0.000002", "0.000000"))],
)  # fmt: skip
def test_counts_compared_in_a_sentence_read_differently(value, other, more, texts):
    """A refusal "buys 2,000 GPUs ... but holds 2,000 of them" for 2,000.08 and 2,000: counts compared
    are written alike, to the decimals at which the two differ."""
    assert counts_apart(value, other, *more) == texts
    assert decimals_apart(value, value, 2) == 2  # equal figures: no decimals tell them apart


def test_mw_compared_in_a_sentence_read_differently():
    """"draws 20.00 MW ..., more than the 20.00 MW the plan has online": MW as format_mw writes them
    where that tells them apart, else to the decimals that do."""
    assert mw_apart(20.3, 20.0) == ("20.3 MW", "20 MW")
    assert mw_apart(20.003, 20.0) == ("20.003 MW", "20.000 MW")
    assert mw_apart(0.0431, 0.043) == ("0.0431 MW", "0.0430 MW")


def test_usd_compared_in_a_sentence_read_differently():
    """"draws $6.0M on facility 'loan', more than the $6.0M left": USD as format_usd writes it where
    that tells the two apart, else in the larger's scale to the decimals that do."""
    assert usd_apart(60e6, 50e6) == ("$60.0M", "$50.0M")
    assert usd_apart(6_000_010.0, 6e6) == ("$6.00001M", "$6.00000M")
    assert usd_apart(-5_000_003.0, -5e6) == ("-$5.000003M", "-$5.000000M")
    assert usd_apart(1_200.4, 1_200.0) == ("$1.2004k", "$1.2000k")


def test_two_levels_that_print_the_same_beside_a_difference_show_the_digits_it_is_in():
    """compare's "In short" read "cost per H100-hour $0.61 against $0.61 (+$0.01)": $0.612 and $0.605
    both round half up to $0.61, and their $0.007 difference to $0.01. Levels that print the same but
    differ by a difference that prints are written to the decimals that tell them apart, the difference
    to those too (to its own where more: $0.0024 under half a cent); where the levels differ, or the
    difference prints as none, as each is written alone."""
    per_hour = "USD per H100-equivalent GPU-hour"
    assert figures_apart(0.612, 0.605, per_hour) == ("$0.612", "$0.605", "+$0.007")
    assert figures_apart(0.6124, 0.610, per_hour) == ("$0.612", "$0.610", "+$0.0024")
    assert figures_apart(0.62, 0.61, per_hour) == ("$0.62", "$0.61", "+$0.01")
    assert figures_apart(0.61, 0.61, per_hour) == ("$0.61", "$0.61", "$0.00")
    assert figures_apart(0.2996, 0.3004, "share") == ("29.96%", "30.04%", "-0.08 pp")
    assert figures_apart(0.3, 0.30004, "share") == ("30.0%", "30.0%", "0.0 pp")  # -0.004 pp prints as none
    assert figures_apart(340.212e6, 340.2e6, "USD") == ("$340.21M", "$340.20M", "+$12.0k")


def test_figures_compared_that_are_not_finite_read_n_a():
    """usd_apart and mw_apart raised decimal.InvalidOperation for an infinite figure beside an equal
    one, usd_apart wrote two NaNs "$NaN", and counts_apart raised ValueError on a NaN: a figure that is
    not finite reads n/a, as format_usd, format_mw and format_count write it, and the finite one beside
    it as they write it."""
    nan, inf = math.nan, math.inf
    assert usd_apart(inf, inf) == ("n/a", "n/a") and usd_apart(nan, nan) == ("n/a", "n/a")
    assert usd_apart(-inf, 5e6) == ("n/a", "$5.0M")
    assert mw_apart(inf, inf) == ("n/a", "n/a") and mw_apart(nan, 20.0) == ("n/a", "20 MW")
    assert counts_apart(nan, 2_000.0) == ("n/a", "2,000")
    assert counts_apart(2_000.08, inf) == ("2,000.08", "n/a")
    assert decimals_apart(inf, 1.4, 3) == 3 and decimals_apart(-1.39996, -1.4, 3) == 5  # negatives too


def test_a_share_that_is_not_a_number_reads_n_a():
    """compare printed "nan%" and "nan pp" for the demand served of a model without market demand."""
    from fleetopt.core.units import format_difference, format_figure

    assert format_figure(float("nan"), "share") == "n/a" and format_difference(float("nan"), "share") == "n/a"
    assert format_figure(0.5, "share") == "50.0%" and format_difference(0.025, "share") == "+2.5 pp"


def test_a_difference_of_costs_per_gpu_hour_under_a_cent_shows():
    """A lab planner compared two plans at $0.6062 and $0.6086 per H100-equivalent GPU-hour: compare
    printed '$0.61 | $0.61 | $0.00'. The plans stay in cents; a difference under half a cent is
    given to a hundredth of a cent."""
    from fleetopt.core.units import USD_PER_H100_HOUR, format_difference, format_figure

    assert format_figure(0.6062, USD_PER_H100_HOUR) == "$0.61" == format_figure(0.6086, USD_PER_H100_HOUR)
    assert format_difference(0.6086 - 0.6062, USD_PER_H100_HOUR) == "+$0.0024"
    assert format_difference(0.6062 - 0.6086, USD_PER_H100_HOUR) == "-$0.0024"
    assert format_difference(0.02, USD_PER_H100_HOUR) == "+$0.02"


def test_a_cover_without_debt_service_says_why_it_has_no_value():
    """A lab's cost plan without debt printed 'lowest DSCR n/a': the reason is the missing debt service."""
    assert dscr_words({"min_dscr": None}) == "n/a: no debt service is due"
    assert dscr_words({"min_dscr": 1.4249}) == "1.42x"
    none = {"min_liquidity_cover": None}
    assert liquidity_cover_words(none) == (
        "n/a: no debt service is due in a whole year ahead inside the horizon "
        "(none in a horizon of four quarters or fewer)"
    )
    cover = {"min_liquidity_cover": 0.5912, "min_liquidity_cover_quarter": "2026Q3"}
    assert liquidity_cover_words(cover) == "0.59x at the end of 2026Q3"


def test_a_year_with_a_sliver_of_contracted_revenue_is_not_written_as_none():
    """Contracts earning $3 of 2026's $1,000 of revenue (0.3 %) read '2026 0%' in the report's share of
    each year's revenue under contract, and '(0% under contract)' beside the revenue, as if none
    were; a customer's share of revenue, written beside them, reads '<1%'. 2027: $50 of $100, 50 %;
    2028 earns nothing and is left out. A year the horizon covers in part is named with its quarters,
    2026's two and 2027's one: "2026 92%" read as the whole year's share."""
    from types import SimpleNamespace

    import numpy as np

    from fleetopt.core.results.customers import contracted_by_year, revenue_words

    data = SimpleNamespace(quarter_labels=["2026Q3", "2026Q4", "2027Q1", "2028Q1"])
    lines = {"revenue_contracts_usd": np.array([1.0, 2.0, 50.0, 0.0]),
             "revenue_usd": np.array([600.0, 400.0, 100.0, 0.0])}  # fmt: skip
    assert contracted_by_year(data, SimpleNamespace(lines=lines)) == "2026 (Q3-Q4) <1%, 2027 (Q1) 50%"
    assert revenue_words({"revenue_total_usd": 1000.0, "revenue_contracts_total_usd": 3.0}) == (
        "$1.0k (<1% under contract)"
    )


def test_a_customer_s_share_and_a_covenant_s_share_are_rounded_half_up():
    """Contracts earning $125 of a year's $1,000 (12.5 %) read '2026 12%' and '(12% under contract)':
    float formatting rounds the exact half to even, where every other share is rounded half up
    (format_percent: 13%). So did a covenant's share beside its limit: 0.125 of debt in cash read
    '12%', and 10.125 % beside a 10 % limit '10.12%'."""
    from types import SimpleNamespace

    import numpy as np

    from fleetopt.core.results.covenant_words import share_words
    from fleetopt.core.results.customers import contracted_by_year, revenue_words

    data = SimpleNamespace(quarter_labels=["2026Q1"])
    lines = {"revenue_contracts_usd": np.array([125.0]), "revenue_usd": np.array([1000.0])}
    assert contracted_by_year(data, SimpleNamespace(lines=lines)) == "2026 (Q1) 13%"
    assert revenue_words({"revenue_total_usd": 1000.0, "revenue_contracts_total_usd": 125.0}) == (
        "$1.0k (13% under contract)"
    )
    assert (share_words(0.125, 0.10), share_words(0.10125, 0.10)) == ("13%", "10.13%")


def test_a_covenant_figure_a_sliver_off_its_limit_is_not_written_onto_it():
    """A DSCR of 1.39996 against a 1.4x minimum read "1.400x" beside "minimum 1.4x", and cash at
    9.9999 % of debt against a 10 % minimum "10.00%": written to the decimals that tell them apart
    (up to five, or four of a per cent); one on its limit keeps three decimals (a ratio) or two (a
    share), as before."""
    from fleetopt.core.results.covenant_words import DSCR, ratio_words, share_words

    assert (ratio_words(DSCR, 1.39996, 1.4), ratio_words(DSCR, 1.396, 1.4)) == ("1.39996x", "1.396x")
    assert (ratio_words(DSCR, 1.4, 1.4), ratio_words(DSCR, 1.95, 1.4)) == ("1.400x", "1.95x")
    assert (share_words(0.099999, 0.10), share_words(0.096, 0.10)) == ("9.9999%", "9.60%")
    assert (share_words(0.10, 0.10), share_words(0.25, 0.10)) == ("10.00%", "25%")
    # a solver's round-off by the limit is no breach, and is not written as one
    assert (ratio_words(DSCR, 1.4 - 1e-9, 1.4), share_words(0.1 - 1e-9, 0.10)) == ("1.400x", "10.00%")


def test_a_share_is_rounded_half_up_as_every_figure_is():
    """599 of 2,000 futures is 29.95 %: 30.0 %, as a hand (or a spreadsheet) rounds it; float
    formatting gave 29.9 % (the float 0.2995 is 0.29949999...). A difference in points likewise."""
    from fleetopt.core.units import format_difference, format_percent

    assert format_percent(599 / 2000) == "30.0%"
    assert format_figure(599 / 2000, "share") == "30.0%"
    assert format_figure(-1e-9, "share") == "0.0%"  # no sign on a share that rounds to nothing
    assert format_difference(0.0145, "share") == "+1.5 pp"  # 1.45 points
    assert format_difference(-0.0145, "share") == "-1.5 pp"
    assert format_figure(0.012345, "pp") == "1.23 pp"


def test_a_ratio_is_rounded_half_up_as_every_figure_is():
    """A covenant ratio of 1.125x read 1.12x (float formatting of 1.12499...), where the shares and
    money beside it round half up; an infinite leverage (debt over no EBITDA) read 'infx'."""
    from fleetopt.core.units import format_times

    assert format_times(1.125) == "1.13x"
    assert format_times(1.3955, 3) == "1.396x"
    assert format_times(-0.5) == "-0.50x"
    assert format_times(float("inf")) == "unbounded"
    assert format_times(float("nan")) == "n/a"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12_500.0, "12.5k"),
        (999_960.0, "1.0M"),  # not 1,000.0k, as money is not $1,000.0k
        (999_960_000.0, "1.0B"),  # not 1,000.0M
        (4_050_000.0, "4.1M"),  # half up, as every figure: float formatting gave 4.0M
        (-1_234.0, "-1.2k"),
        (999.6, "1.0k"),  # not 1,000
        (12.0, "12"),
        (2.345, "2.35"),  # below 10: two decimals, half up
        (-0.001, "0.00"),  # no sign on one that rounds to nothing
        (0.0, "0"),
        (float("nan"), "n/a"),
    ],
)
def test_a_compact_count_rolls_over_to_the_next_scale_and_rounds_half_up(value, text):
    """A count in at most one decimal with a scale suffix (H100-equivalent GPU-hours, a report
    table's other figures): it wrote 999,960 as "1,000.0k" and 4,050,000 as "4.0M" (float
    formatting), where money's compact form writes $1.0M and $4.1M."""
    assert format_number_compact(value) == text


def test_a_histogram_bin_edge_written_with_more_decimals_is_rounded_half_up():
    """A histogram's bin edges, written with more decimals where two would read alike, rounded as
    every figure is: 4,045,000 is $4.05M (float formatting wrote $4.04M: the float 4.045 is
    4.04499...), -3,804,500 -$3.805M."""
    assert _usd_decimals(4_045_000, 2) == "$4.05M"
    assert _usd_decimals(-3_804_500, 3) == "-$3.805M"
    assert _usd_decimals(2.5e9, 2) == "$2.50B"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.335, "0.335 s"),  # a slow-run warning's estimate read "about 0:00:00" (whole seconds, cut)
        (0.0305, "0.0305 s"),
        (0.1, "0.1 s"),  # trailing zeros dropped: the solve table wrote 0.10 s
        (14.31, "14.3 s"),  # three significant digits
        (9.996, "10 s"),  # rounds up to two digits before the point
        (59.94, "59.9 s"),
        (59.96, "0:01:00"),  # would read 60.0 s: a minute, written as the clock
        (89.5, "0:01:30"),  # half up, where the clock cut 89.5 to 0:01:29
        (3725.0, "1:02:05"),
        (90_000.0, "1 day, 1:00:00"),
        (0.0, "0 s"),
        (0.0004, "under 0.001 s"),
        (1e300, "more than 999,999,999 days"),  # past any clock: no OverflowError
        (float("nan"), "n/a"),
        (None, "n/a"),
    ],
)
def test_a_duration_reads_in_seconds_under_a_minute_and_as_a_clock_from_one(seconds, text):
    """Every time the terminal shows (a solve's build and solve, an evaluation's, the progress lines,
    a slow-run warning's estimate, a stochastic solve's steps) is written by format_duration."""
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("gap", "written", "status"),
    [
        (0.00004, "0.00%", "optimal"),  # 0.004 % rounds to none: no 'within'
        (0.00005, "0.01%", "optimal within 0.01% (relative gap)"),  # 0.005 % rounds half up
        (0.00203, "0.20%", "optimal within 0.20% (relative gap)"),
        (0.0, "0.00%", "optimal"),
        (None, "n/a", "optimal"),
        (float("nan"), "n/a", "optimal"),
    ],
)
def test_a_solve_is_optimal_within_a_gap_only_where_the_gap_shows(gap, written, status):
    assert format_gap(gap) == written
    assert gap_shows(gap) == (status != "optimal")
    assert format_solver_status("optimal", gap) == status

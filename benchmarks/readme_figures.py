"""Re-measure the figures README.md quotes for the default model with README's own commands, and say
which still match (benchmarks/README.md; README.md, "What the default model shows").

    python -m benchmarks.readme_figures [--quick | --all] [--runs-dir DIR]

--quick (the default) runs `fleetopt solve`, the evaluations of its plan over 2,000 futures of seed 7
(as planned and under each `--set` what-if README quotes), `fleetopt compare --what-if` and the solve
with Rubin falling 13 % a year; --all adds the slow ones: Rubin at -18 % (infeasible), `fleetopt
sweep` and `benchmarks.bench_stochastic`'s out-of-sample table. Each figure is read from the run's
files (summary.json, metrics.csv, the comparison's .json), formatted as README writes it, and
printed beside README's text; the exit status is 1 when any figure differs, or a command failed.
The run folders stay in DIR (default: a new folder under the system's temporary one), each command's
output in <run>.log; a run this tool finished in DIR before, from the same fleetopt figure code and
default model, is not run again (said as "reused"); one from other code or another model is replaced.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fleetopt.core.data import load
from fleetopt.core.units import format_error, format_percent, format_usd, format_usd_change, rounded
from fleetopt.evaluate.metrics import median_quarter_label
from fleetopt.runs.code_stamp import figures_code
from fleetopt.sweep.without_orders import WITHOUT_ORDERS_WORDS

README = Path(__file__).resolve().parent.parent / "README.md"
FLEETOPT = (sys.executable, "-m", "fleetopt")
# the evaluations README quotes: the forecast optimum over 2,000 futures of seed 7
EVALUATE = (*FLEETOPT, "evaluate", "--plans", "{runs}/base", "--scenarios", "2000", "--seed", "7")
SLIP = "risk.delivery_slip={probability: 1, min_quarters: 2, max_quarters: 2}"
# the random walk the default model's prices followed before 0.4.31 (docs/calibration.md, "The price process")
WALK = ("--set", "risk.price_mean_reversion_half_life_quarters=null", "--set", "risk.price_trend_volatility_annual=0",
        "--set", "risk.ai_cycle.trend_loading=0")  # no slope to tie to the cycle
# GPU resale values on their own walk, apart from rental prices, as the default model drew them before 0.4.33
RESALE_APART = ("--set", "risk.resale_swing_share=null", "--set", "risk.resale_value_volatility_annual=0.2")
RUBIN_GROWTH = "market.price_usd_per_gpu_hour.{use}.rubin.annual_growth={growth}"
# the ~$5B of CoreWeave's debt the model leaves out (docs/calibration.md, "Known departures") as more of the
# 2031 notes: $3B in the model, $8B here
MORE_DEBT = ("--set", "finance.facilities.senior-notes-2031.size_usd=8000000000",
             "--set", "finance.facilities.senior-notes-2031.opening_balance_usd=8000000000")


def rubin_falling(growth: str) -> tuple[str, ...]:
    """`--set` of both Rubin prices' annual growth (docs/calibration.md, item 6 of "What these figures
    assume")."""
    sets = (RUBIN_GROWTH.format(use=use, growth=growth) for use in ("training", "inference"))
    return tuple(a for field in sets for a in ("--set", field))


@dataclass(frozen=True)
class Run:
    """A command of README's and the file it leaves in the runs folder (``{runs}`` in ``argv``)."""

    name: str
    argv: tuple[str, ...]
    output: str  # the run folder or file, relative to the runs folder
    slow: bool = False  # --all only
    exit_codes: tuple[int, ...] = (0,)  # those that are the command's answer, not a failure


RUNS = {
    r.name: r
    for r in (
        Run("solve", (*FLEETOPT, "solve", "--out", "{runs}/base"), "base"),
        Run("risk", (*EVALUATE, "--out", "{runs}/base-risk"), "base-risk"),
        Run("hazard", (*EVALUATE, "--set", "risk.customer_hazard_overrides={hyperscaler-a: 1}",
                       "--out", "{runs}/hazard"), "hazard"),
        Run("slip", (*EVALUATE, "--set", SLIP, "--out", "{runs}/slip"), "slip"),
        Run("slip-compare", (*FLEETOPT, "compare", "{runs}/base", "--scenarios", "2000", "--seed", "7",
                             "--what-if", SLIP, "--out", "{runs}/slip-compare.json"), "slip-compare.json"),
        Run("mean-one", (*EVALUATE, "--set", "risk.mean_one=false", "--out", "{runs}/mean-one"), "mean-one"),
        Run("walk", (*EVALUATE, *WALK, "--out", "{runs}/walk"), "walk"),
        # the slope drawn apart from the AI cycle, as the default model drew it before 0.4.33
        Run("untied", (*EVALUATE, "--set", "risk.ai_cycle.trend_loading=0", "--out", "{runs}/untied"), "untied"),
        Run("resale-apart", (*EVALUATE, *RESALE_APART, "--out", "{runs}/resale-apart"), "resale-apart"),
        Run("half-life-16", (*EVALUATE, "--set", "risk.price_mean_reversion_half_life_quarters=16",
                             "--out", "{runs}/half-life-16"), "half-life-16"),
        # the default model as releases before 0.4.31 drew and counted it: the walk, resale values apart, every breach
        Run("before-0.4.31", (*EVALUATE, *WALK, *RESALE_APART, "--set",
                              "finance.covenants.cash_covering_debt_cures=false", "--out", "{runs}/before-0.4.31"),
            "before-0.4.31"),
        # "what drives it": the factors that move the default most, each at its neutral setting
        # (benchmarks/bench_risk_factors.py's NEUTRAL), as docs/calibration.md's factor table
        Run("no-swings", (*EVALUATE, "--set", "risk.price_volatility_annual=0", "--out", "{runs}/no-swings"),
            "no-swings"),
        Run("no-slope", (*EVALUATE, "--set", "risk.price_trend_volatility_annual=0", "--out", "{runs}/no-slope"),
            "no-slope"),
        # null, not {}: a mapping --set merges into the ratings, so {} would keep them all
        Run("no-customer-defaults", (*EVALUATE, "--set", "risk.customer_ratings=null", "--set",
                                     "risk.customer_default_hazard_per_quarter=0", "--out",
                                     "{runs}/no-customer-defaults"), "no-customer-defaults"),
        Run("price-impact", (*EVALUATE, "--set", "risk.customer_default_price_impact={lab-b: 0.2}",
                             "--out", "{runs}/price-impact"), "price-impact"),
        Run("net-leverage", (*EVALUATE, "--set", "finance.covenants.leverage_numerator=net_debt",
                             "--out", "{runs}/net-leverage"), "net-leverage"),
        Run("every-breach", (*EVALUATE, "--set", "finance.covenants.cash_covering_debt_cures=false",
                             "--out", "{runs}/every-breach"), "every-breach"),
        Run("rubin-13", (*FLEETOPT, "solve", *rubin_falling("-0.13"), "--out", "{runs}/rubin-13"), "rubin-13"),
        Run("rubin-18", (*FLEETOPT, "solve", *rubin_falling("-0.18"), "--out", "{runs}/rubin-18"), "rubin-18",
            slow=True, exit_codes=(0, 3)),
        Run("test-from", (*FLEETOPT, "solve", "--set", "finance.covenants.test_from=2026Q3",
                          "--out", "{runs}/test-from"), "test-from", slow=True, exit_codes=(0, 3)),
        Run("more-debt", (*EVALUATE, *MORE_DEBT, "--out", "{runs}/more-debt"), "more-debt"),
        Run("more-debt-solve", (*FLEETOPT, "solve", *MORE_DEBT, "--out", "{runs}/more-debt-solve"),
            "more-debt-solve"),
        Run("sweep", (*FLEETOPT, "sweep", "--out", "{runs}/sweep"), "sweep", slow=True),
        Run("stochastic", (sys.executable, "-m", "benchmarks.bench_stochastic", "--out-of-sample", "10000",
                           "--scenarios", "10", "--sweep", "{runs}/sweep", "--json",
                           "{runs}/stochastic.json"), "stochastic.json", slow=True),
    )
}
NEEDS = {"stochastic": ("sweep",)}  # besides the solve, which every other run needs


# --- formatting: as README writes a figure ---------------------------------------------------------


def billions(decimals: int) -> Callable[[float], str]:
    """USD in billions to ``decimals`` decimals whatever its size, as README's sentences write them:
    $14.0B, -$0.33B."""

    def fmt(usd: float) -> str:
        digits = rounded(usd, decimals, 9)
        return f"{'-' if usd < 0 and digits.strip('0.') else ''}${digits}B"

    return fmt


def percent(decimals: int) -> Callable[[float], str]:
    """A share in per cent with README's space before the sign: 0.279 -> '28 %' (no decimals)."""
    return lambda share: format_percent(share, decimals).replace("%", " %")


def points(signed: bool) -> Callable[[float], str]:
    """A difference of shares in percentage points to one decimal, as README writes them before
    'points': 0.287 -> '+28.7' (signed) or '28.7'."""

    def fmt(share: float) -> str:
        digits = rounded(share, 1, -2)
        sign = "-" if share < 0 else "+" if signed and share > 0 else ""
        return (sign if digits.strip("0.") else "") + digits

    return fmt


def every_or_percent(share: float) -> str:
    """'every' for a share of one ('a covenant breach in every future'), else as :func:`percent`."""
    return "every" if share == 1.0 else percent(1)(share)


def in_words(count: float) -> str:
    """A count as README writes a small one: 5 -> 'five'."""
    words = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[int(count)] if count == int(count) and 0 <= count <= 10 else f"{count:,g}"


def exit_words(code: float) -> str:
    """A solve's exit status as README words it."""
    return "no plan meets the covenants" if code == 3 else f"exit {code:g}"


# --- reading: a figure from a run's files -----------------------------------------------------------

Reader = Callable[[Path], float | str]


def summary(*keys: str) -> Reader:
    """A figure of a run folder's summary.json (``keys``: the path into nested objects)."""
    return lambda output: functools.reduce(lambda d, k: d[k], keys, _json(output / "summary.json"))


def metric(column: str, of: Callable[[float], float] = lambda v: v) -> Reader:
    """A column of an evaluation's metrics.csv (its one plan), through ``of``."""

    def read(output: Path) -> float:
        with (output / "metrics.csv").open(newline="") as f:
            return of(float(next(csv.DictReader(f))[column]))

    return read


def median_quarter(column: str) -> Reader:
    """A median quarter of metrics.csv (numbered from 1) as its label in the run's model: '2028Q3'."""
    return lambda output: median_quarter_label(metric(column)(output), _quarter_labels(output))


def candidate(column: str, of: str = "recommended") -> Reader:
    """A column of a sweep's candidates.csv for its pick (``of`` 'recommended') or its
    'forecast_optimum', each named by summary.json."""

    def read(output: Path) -> float:
        label = _json(output / "summary.json")[of]
        with (output / "candidates.csv").open(newline="") as f:
            return float(next(row for row in csv.DictReader(f) if row["plan"] == label)[column])

    return read


def runner_up_words(output: Path) -> str:
    """The sweep's runner-up as README words it where it is the pick with the orders the pick leaves
    out (the pick: "<runner-up>, without the orders it almost never takes"), else its label."""
    sweep = _json(output / "summary.json")
    if sweep["recommended"] == f"{sweep['runner_up']}{WITHOUT_ORDERS_WORDS}":
        return "the same plan with those orders"
    return sweep["runner_up"]


def candidate_change(column: str) -> Reader:
    """A sweep's pick's ``column`` less the forecast optimum's."""
    return lambda output: candidate(column)(output) - candidate(column, "forecast_optimum")(output)


def orders_cancelled(what: str) -> Reader:
    """Of the sweep's pick's orders cancelled in nearly every future (summary.json's
    ``recommended_orders_cancelled``): 'count', 'quarters' (first-last), or a field summed over them."""

    def read(output: Path) -> float | str:
        orders = _json(output / "summary.json")["recommended_orders_cancelled"]
        if what == "count":
            return len(orders)
        if what == "quarters":
            return f"{orders[0]['quarter']}-{orders[-1]['quarter']}"
        return sum(order[what] for order in orders)

    return read


def compared(figure: str, part: str) -> Reader:
    """From a what-if comparison's .json: ``part`` 'difference' (what-if minus as planned) or 'two
    errors' (twice the paired standard error, README's ±) of ``figure``."""

    def read(output: Path) -> float:
        comparison = _json(output)
        planned, what_if = comparison["plans"]
        rows = {row["figure"]: row for row in comparison["figures"]}
        if part == "difference":
            return rows[figure][f"{what_if} \u2212 {planned}"]
        return 2 * rows[paired_se_figure(figure)][what_if]

    return read


def paired_se_figure(figure: str) -> str:
    """A comparison's figure of the paired standard error of ``figure``: npv_mean_usd ->
    npv_mean_paired_se_usd, breach_probability -> breach_probability_paired_se."""
    stem, usd = (figure.removesuffix("_usd"), "_usd") if figure.endswith("_usd") else (figure, "")
    return f"{stem}_paired_se{usd}"


def out_of_sample(key: str, plan_prefix: str, sign: float = 1.0) -> Reader:
    """A figure of bench_stochastic's out-of-sample rows (its --json) for the plan whose label starts
    with ``plan_prefix``, times ``sign`` (-1: a fall README words as 'fewer')."""

    def read(output: Path) -> float:
        row = next(r for r in _json(output) if r["plan"].startswith(plan_prefix))
        return sign * row[key]

    return read


def _json(path: Path):
    return json.loads(path.read_text())


@functools.cache
def _quarter_labels(run_folder: Path) -> list[str]:
    return load(run_folder / "model.yaml")[1].quarter_labels


# the headline figures a what-if README says "moves none of" is compared on, as README writes them
HEADLINE = {"breach_probability": percent(1), "uncured_breach_probability": percent(1),
            "any_default_probability": percent(1), "default_probability": percent(1), "npv_mean_usd": billions(2)}


def figures_moved(than: str) -> Reader:
    """'none' where the run's :data:`HEADLINE` figures read as README writes them are those of the run
    ``than`` (a folder beside it), else the columns that moved."""

    def read(output: Path) -> str:
        moved = [c for c, fmt in HEADLINE.items() if fmt(metric(c)(output)) != fmt(metric(c)(output.parent / than))]
        return ", ".join(moved) or "none"

    return read


def defaults_repaid(than: str) -> Reader:
    """The futures more with an uncured breach than in the run ``than`` (a folder beside it, whose
    breaches the cash covers are counted as repaid): those, counted here as events of default."""

    def read(output: Path) -> float:
        share = metric("uncured_breach_probability")
        return round((share(output) - share(output.parent / than)) * _scenarios(output))

    return read


def _scenarios(run_folder: Path) -> int:
    return int(_json(run_folder / "summary.json")["n_scenarios"])


def in_count(count: float) -> str:
    """A count of futures as README writes it: 109."""
    return f"{count:,.0f}"


def best_mean(against: str, key: str, sign: float = 1.0) -> Reader:
    """A difference of a sweep's plan of highest mean NPV no worse than the forecast optimum (summary.json's
    ``best_mean_within_rule``) ``against`` the forecast optimum or the pick, times ``sign``."""
    return lambda output: sign * summary("best_mean_within_rule", against, key)(output)


def statement(column: str, quarter: str) -> Reader:
    """A column of a solve folder's statements.csv in the quarter labelled ``quarter`` ('2026Q3')."""

    def read(output: Path) -> float:
        with (output / "statements.csv").open(newline="") as f:
            return float(next(row for row in csv.DictReader(f) if row["quarter"] == quarter)[column])

    return read


def plan_limit(limit: str, *keys: str | int) -> Reader:
    """A figure of a solve's limit named ``limit`` (summary.json's plan_limits: ``keys`` the path into
    its entry: ``"quarters", 0`` its first quarter)."""
    def read(output: Path):
        entry = next(e for e in _json(output / "summary.json")["plan_limits"] if e["limit"] == limit)
        return functools.reduce(lambda d, k: d[k], keys, entry)

    return read


def last_span(words: str) -> str:
    """The last run of quarters a limit's words name: '2027Q4..2030Q1' of '... in 2026Q4..2027Q1,
    2027Q4..2030Q1' (core/results/plan_limits.py quarter_spans)."""
    return words.rsplit(" in ", 1)[-1].split(", ")[-1]


def statements_sum(column: str, *years: str) -> Reader:
    """A column of a solve folder's statements.csv summed over the quarters of ``years`` ('2026')."""

    def read(output: Path) -> float:
        with (output / "statements.csv").open(newline="") as f:
            return sum(float(row[column]) for row in csv.DictReader(f) if row["quarter"][:4] in years)

    return read


def contract_revenue_share(year: str) -> Reader:
    """The contracts' share of a solve folder's revenue over the quarters of ``year`` ('2026')."""

    def read(output: Path) -> float:
        with (output / "statements.csv").open(newline="") as f:
            rows = [row for row in csv.DictReader(f) if row["quarter"].startswith(year)]
        return sum(float(r["revenue_contracts_usd"]) for r in rows) / sum(float(r["revenue_usd"]) for r in rows)

    return read


def times(decimals: int) -> Callable[[float], str]:
    """A ratio as README writes a covenant's: 0.9412 -> '0.94x' (``decimals`` 2)."""
    return lambda ratio: f"{rounded(ratio, decimals)}x"


def exit_code(output: Path) -> float:
    """The exit status the runner recorded beside a run's output."""
    return float(recorded(output.with_name(f"{output.name}.exit"))[0])


# --- the figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One figure README quotes: the README text that holds it (verbatim but for line breaks: any run
    of white space in README reads as one space), the figure as README writes it (inside that text),
    the run that produces it, how to read it from the run's output and how to write it."""

    phrase: str
    quoted: str
    run: str
    read: Reader
    fmt: Callable[[float | str], str]

    def measured(self, output: Path) -> str:
        return self.fmt(self.read(output))


B1, B2, P0, P1 = billions(1), billions(2), percent(0), percent(1)


def f(phrase: str, quoted: str, run: str, read: Reader, fmt: Callable[[float], str] = format_usd) -> Figure:
    return Figure(phrase, quoted, run, read, fmt)


def q(phrase: str, quoted: str, run: str, column: str) -> Figure:
    return Figure(phrase, quoted, run, median_quarter(column), str)


FIGURES = (
    # In short: what to buy and when, how likely a default, what drives it
    f("buys $69.64B of GPUs from 2026Q3", "$69.64B", "solve", summary("capex_gpu_total_usd")),
    # 2026Q3 buys only Blackwell GB300: Rubin first ships in 2026Q4
    f("but the $1.71B of Blackwell GB300", "$1.71B", "solve", statement("capex_gpu_usd", "2026Q3"), B2),
    f("$37.47B of it by the end of 2027", "$37.47B", "solve", statements_sum("capex_gpu_usd", "2026", "2027"), B2),
    f("debt, which peaks at $37.82B", "$37.82B", "solve", summary("peak_debt_usd")),
    f("it is worth $18.69B (the equity", "$18.69B", "solve", summary("npv_usd")),
    f("from 2028Q4 no facility can draw", "2028Q4", "solve", plan_limit("no facility can draw", "quarters", 0), str),
    f("the floor in 2027Q4..2030Q1", "2027Q4..2030Q1", "solve", plan_limit("cash floor", "words"), last_span),
    f("it serves 70.6 % of the market's demand in its third year", "70.6 %", "solve",
      plan_limit("market demand", "served_share_by_year", "2028Q3..2029Q2"), P1),
    f("cash runs out in 25 % of them", "25 %", "risk", metric("default_probability"), P0),
    f("the company defaults in 48.3 % of them", "48.3 %", "risk", metric("any_default_probability"), P1),
    f("the model's 25 % lies between", "25 %", "risk", metric("default_probability"), P0),
    f("the futures is $12.8B, against", "$12.8B", "risk", metric("npv_mean_usd"), B1),
    f("$12.8B, against $18.69B on the forecast", "$18.69B", "solve", summary("npv_usd")),
    f("around the forecast, 11.9 %", "11.9 %", "no-swings", metric("default_probability"), P1),
    f("long-run slope, 15.7 %", "15.7 %", "no-slope", metric("default_probability"), P1),
    f("customer defaults, 19.4 %", "19.4 %", "no-customer-defaults", metric("default_probability"), P1),
    f("(against 25 % with every factor)", "25 %", "risk", metric("default_probability"), P0),
    f("at 13 % a year the optimum is worth $8.31B", "$8.31B", "rubin-13", summary("npv_usd")),
    # Forecast NPV
    f("`fleetopt solve`: $18.69B (equity", "$18.69B", "solve", summary("npv_usd")),
    f("the cash held to the end, $14.91B", "$14.91B", "solve", summary("npv_cash_held_usd")),
    f("year: $23.76B and", "$23.76B", "solve", summary("npv_at_other_rates_usd", "10%")),
    f("$23.76B and $14.82B.", "$14.82B", "solve", summary("npv_at_other_rates_usd", "20%")),
    # Risk over 2,000 futures
    f("*NPV:* mean $12.8B (standard", "$12.8B", "risk", metric("npv_mean_usd"), B1),
    f("(standard error $0.5B)", "$0.5B", "risk", metric("npv_mean_se_usd"), B1),
    f("against $18.7B forecast", "$18.7B", "solve", summary("npv_usd"), B1),
    f("median $8.4B (a long right", "$8.4B", "risk", metric("npv_median_usd"), B1),
    f("34.3 % of all futures end with a negative NPV", "34.3 %", "risk", metric("loss_probability"), P1),
    f("in 25 % of the futures: it falls below", "25 %", "risk", metric("default_probability"), P0),
    f("the plan defaults in 48.3 % of the futures", "48.3 %", "risk", metric("any_default_probability"), P1),
    f("It would be 56.1 % if a breach were counted", "56.1 %", "every-breach", metric("any_default_probability"), P1),
    f("75 % that never default", "75 %", "risk", metric("default_probability", lambda p: 1 - p), P0),
    f("never default average $21.4B", "$21.4B", "risk", metric("npv_mean_no_default_usd"), B1),
    f("the mean NPV is $15.6B. CVaR5", "$15.6B", "risk", metric("npv_limited_mean_usd"), B1),
    f("futures, is then -$2.3B against", "-$2.3B", "risk", metric("npv_limited_cvar5_usd"), B1),
    f("-$2.3B against -$21.8B", "-$21.8B", "risk", metric("npv_cvar5_usd"), B1),
    f("the mean is $14.0B (CVaR5", "$14.0B", "risk", metric("npv_accelerated_mean_usd"), B1),
    f("$14.0B (CVaR5 -$2.3B)", "-$2.3B", "risk", metric("npv_accelerated_cvar5_usd"), B1),
    f("owing $20.8B on average", "$20.8B", "risk", metric("debt_at_default_mean_usd"), B1),
    f("would repay 25 %", "25 %", "risk", metric("debt_covered_at_default"), P0),
    f("leaving $4.0B uncovered", "$4.0B", "risk", metric("uncovered_debt_mean_usd"), B1),
    f("claimed $28.2B on average", "$28.2B", "risk", metric("debt_at_uncured_breach_mean_usd"), B1),
    f("average, 53 % of it covered", "53 %", "risk", metric("debt_covered_at_uncured_breach"), P0),
    f("leaving $6.4B uncovered", "$6.4B", "risk", metric("uncovered_debt_at_uncured_breach_mean_usd"), B1),
    f("a deferred order in 76 %", "76 %", "risk", metric("deferred_share"), P0),
    f("deposit lost in 67 %", "67 %", "risk", metric("order_cancelled_share"), P0),
    f("a distress sale in 63 %", "63 %", "risk", metric("sold_share"), P0),
    f("a late contract in 50 %", "50 %", "risk", metric("rescheduled_share"), P0),
    f("late power in 6 %", "6 %", "risk", metric("cancelled_share"), P0),
    f("a covenant is breached in 65.8 %", "65.8 %", "risk", metric("breach_probability"), P1),
    f("debt-service cover in 33 % of all futures", "33 %", "risk", metric("first_breach_dscr_share"), P0),
    f("the GPU-backed loan in 32 %", "32 %", "risk", metric("first_breach_borrowing_base_share"), P0),
    q("have done so by 2028Q1", "2028Q1", "risk", "breach_median_quarter"),
    q("(an event of default) by 2028Q3", "2028Q3", "risk", "uncured_breach_median_quarter"),
    q("run out of cash by 2030Q1", "2030Q1", "risk", "default_median_quarter"),
    # Robustness block
    f("(57 % of first-year revenue)", "57 %", "solve", summary("largest_customer_first_year_share"), P0),
    f("gives a mean NPV of -$2.73B", "-$2.73B", "hazard", metric("npv_mean_usd"), B2),
    f("default in 99.6 % of the futures", "99.6 %", "hazard", metric("default_probability"), P1),
    # What if Rubin slips
    f("gives a mean NPV of $7.13B", "$7.13B", "slip", metric("npv_mean_usd"), B2),
    f("against $12.84B as planned", "$12.84B", "risk", metric("npv_mean_usd"), B2),
    f("CVaR5 -$23.36B against", "-$23.36B", "slip", metric("npv_cvar5_usd"), B2),
    f("-$23.36B against -$21.79B", "-$21.79B", "risk", metric("npv_cvar5_usd"), B2),
    f("a covenant breach in every future", "every", "slip", metric("breach_probability"), every_or_percent),
    q("(the debt-service cover, from 2027Q1)", "2027Q1", "slip", "breach_median_quarter"),
    f("from 2027Q1) against 65.8 %", "65.8 %", "risk", metric("breach_probability"), P1),
    f("a liquidity default in 36.1 %", "36.1 %", "slip", metric("default_probability"), P1),
    f("36.1 % against 25.4 %", "25.4 %", "risk", metric("default_probability"), P1),
    f("either event of default 59.0 %", "59.0 %", "slip", metric("any_default_probability"), P1),
    f("59.0 % against 48.3 %)", "48.3 %", "risk", metric("any_default_probability"), P1),
    f("every future starts a Rubin contract late", "every", "slip", metric("rescheduled_share"), every_or_percent),
    f("and 32 % lose one", "32 %", "slip", metric("cancelled_share"), P0),
    f("mean NPV -$5.71B ±", "-$5.71B", "slip-compare", compared("npv_mean_usd", "difference"), B2),
    f("-$5.71B ± $0.21B", "$0.21B", "slip-compare", compared("npv_mean_usd", "two errors"), B2),
    f("P(breach) +34.3 ±", "+34.3", "slip-compare", compared("breach_probability", "difference"), points(True)),
    f("+34.3 ± 2.1 percentage points", "2.1", "slip-compare", compared("breach_probability", "two errors"), points(False)),
    f("-$5.71B ± $0.21B, CVaR5 -$1.57B ±", "-$1.57B", "slip-compare", compared("npv_cvar5_usd", "difference"), B2),
    f("CVaR5 -$1.57B ± $0.63B", "$0.63B", "slip-compare", compared("npv_cvar5_usd", "two errors"), B2),
    f("P(liquidity default) +10.8 ±", "+10.8", "slip-compare", compared("default_probability", "difference"),
      points(True)),
    f("+10.8 ± 1.4 percentage points", "1.4", "slip-compare", compared("default_probability", "two errors"), points(False)),
    f("P(any default) +10.7 ±", "+10.7", "slip-compare", compared("any_default_probability", "difference"),
      points(True)),
    f("+10.7 ± 1.5 percentage points", "1.5", "slip-compare", compared("any_default_probability", "two errors"), points(False)),
    # What a lender would question
    f("at 13 % the optimum's NPV is $8.31B", "$8.31B", "rubin-13", summary("npv_usd")),
    f("at Blackwell's 18 % no plan meets the covenants", "no plan meets the covenants", "rubin-18", exit_code,
      exit_words),
    f("debt-service cover is 0.94x in 2026Q3", "0.94x", "solve", statement("dscr", "2026Q3"), times(2)),
    f("1.396x in 2026Q4 against the 1.4x minimum", "1.396x", "solve", statement("dscr", "2026Q4"), times(3)),
    f("finance.covenants.test_from=2026Q3`) no plan meets the covenants", "no plan meets the covenants", "test-from",
      exit_code, exit_words),
    f("defaults for lack of cash in 29.5 % of", "29.5 %", "more-debt", metric("default_probability"), P1),
    f("uncured breaches too, in 53.6 % (mean", "53.6 %", "more-debt", metric("any_default_probability"), P1),
    f("(mean NPV $8.79B), and", "$8.79B", "more-debt", metric("npv_mean_usd"), B2),
    f("re-solved with it the forecast NPV is $14.86B", "$14.86B", "more-debt-solve", summary("npv_usd")),
    f("contracts bring 92 % of 2026's revenue", "92 %", "solve", contract_revenue_share("2026"), P0),
    f("10 % of 2032's and none", "10 %", "solve", contract_revenue_share("2032"), P0),
    f("the mean NPV is $3.98B and", "$3.98B", "mean-one", metric("npv_mean_usd"), B2),
    f("$3.98B and P(liquidity default) 38.8 %", "38.8 %", "mean-one", metric("default_probability"), P1),
    f("P(liquidity default) is 30.6 % and", "30.6 %", "half-life-16", metric("default_probability"), P1),
    f("P(any default) 51.6 %. The slope", "51.6 %", "half-life-16", metric("any_default_probability"), P1),
    f("P(liquidity default) 22.3 %, P(any default) 44.1 %)", "22.3 %", "untied", metric("default_probability"),
      P1),
    f("P(liquidity default) 22.3 %, P(any default) 44.1 %)", "44.1 %", "untied",
      metric("any_default_probability"), P1),
    f("default) is 21.4 % and P(any default) 52.6 % (apart", "21.4 %", "resale-apart",
      metric("default_probability"), P1),
    f("default) is 21.4 % and P(any default) 52.6 % (apart", "52.6 %", "resale-apart",
      metric("any_default_probability"), P1),
    f("a default's debt covered 29 % against", "29 %", "resale-apart", metric("debt_covered_at_default"), P0),
    f("covered 29 % against 25 %", "25 %", "risk", metric("debt_covered_at_default"), P0),
    f("P(liquidity default) is 31.0 % and", "31.0 %", "walk", metric("default_probability"), P1),
    f("P(any default) 51.6 % (62.4 %", "51.6 %", "walk", metric("any_default_probability"), P1),
    f("(62.4 % counting breaches and drawing resale values as those releases did", "62.4 %", "before-0.4.31",
      metric("any_default_probability"), P1),
    f("the mean NPV $13.43B (higher", "$13.43B", "walk", metric("npv_mean_usd"), B2),
    f("P(liquidity default) 28.4 % against", "28.4 %", "price-impact", metric("default_probability"), P1),
    f("28.4 % against 25.4 %", "25.4 %", "risk", metric("default_probability"), P1),
    f("a mean NPV of $10.83B against", "$10.83B", "price-impact", metric("npv_mean_usd"), B2),
    f("$10.83B against $12.84B", "$12.84B", "risk", metric("npv_mean_usd"), B2),
    f("`--set finance.covenants.leverage_numerator=net_debt`) moves none of these figures", "none", "net-leverage",
      figures_moved("base-risk"), str),
    f("comes in 48.3 % of the futures (any breach", "48.3 %", "risk", metric("uncured_breach_probability"), P1),
    f("(any breach in 65.8 %)", "65.8 %", "risk", metric("breach_probability"), P1),
    f("comes in 48.3 % too", "48.3 %", "risk", metric("any_default_probability"), P1),
    f("156 more futures default", "156", "every-breach", defaults_repaid("base-risk"), in_count),
    f("P(any default) is 56.1 %", "56.1 %", "every-breach", metric("any_default_probability"), P1),
    f("the 25 % that run out of cash sit below", "25 %", "risk", metric("default_probability"), P0),
    # Sweep recommendation (its 1,000 scenarios of seed 0)
    f('recommends "milp: demand slump, cash buffer $3.49B, without the orders it almost never takes"',
      "milp: demand slump, cash buffer $3.49B, without the orders it almost never takes", "sweep",
      summary("recommended"), str),
    f("mean NPV -$1.32B, CVaR5", "-$1.32B", "sweep", candidate_change("npv_mean_usd"), format_usd_change),
    f("-$1.32B, CVaR5 +$3.44B", "+$3.44B", "sweep", candidate_change("npv_cvar5_usd"), format_usd_change),
    f("breach probability 64.1 % to", "64.1 %", "sweep", candidate("breach_probability", "forecast_optimum"), P1),
    f("64.1 % to 60.1 %", "60.1 %", "sweep", candidate("breach_probability"), P1),
    f("default probability 25.6 % to", "25.6 %", "sweep", candidate("default_probability", "forecast_optimum"), P1),
    f("25.6 % to 19.1 %", "19.1 %", "sweep", candidate("default_probability"), P1),
    f("them, 45.8 % to", "45.8 %", "sweep", candidate("any_default_probability", "forecast_optimum"), P1),
    f("45.8 % to 40.1 %", "40.1 %", "sweep", candidate("any_default_probability"), P1),
    f("the runner-up, the same plan with those orders,", "the same plan with those orders", "sweep",
      runner_up_words, str),
    f("$376.1M with a paired standard error", "$376.1M", "sweep", summary("runner_up_lead_usd")),
    # the sweep's standard errors as its sentences write them, to two significant figures (format_error)
    f("a paired standard error of $47M", "$47M", "sweep", summary("runner_up_lead_se_usd"), format_error),
    f("defers an order in every future", "every", "sweep", candidate("deferred_share"), every_or_percent),
    f("($9.27B of GPU capex on average)", "$9.27B", "sweep", candidate("deferred_capex_mean_usd"), B2),
    f("cancels one in every future", "every", "sweep", candidate("order_cancelled_share"), every_or_percent),
    f("forfeiting $1.41B of deposits", "$1.41B", "sweep", candidate("forfeited_deposits_mean_usd"), B2),
    f("(the runner-up: $2.59B;", "$2.59B", "sweep", candidate("forfeited_deposits_mean_usd", "runner_up"), B2),
    f("the forecast optimum defers in 75 % and", "75 %", "sweep", candidate("deferred_share", "forecast_optimum"), P0),
    f("and cancels in 66 %, forfeiting", "66 %", "sweep", candidate("order_cancelled_share", "forecast_optimum"), P0),
    f("66 %, forfeiting $1.03B)", "$1.03B", "sweep", candidate("forfeited_deposits_mean_usd", "forecast_optimum"), B2),
    f("almost never takes: three (", "three", "sweep", orders_cancelled("count"), in_words),
    f("three (2026Q4-2027Q4,", "2026Q4-2027Q4", "sweep", orders_cancelled("quarters"), str),
    f("$0.25B of GPUs", "$0.25B", "sweep", orders_cancelled("capex_usd"), B2),
    f("$49.5M of deposits", "$49.5M", "sweep", orders_cancelled("deposit_usd")),
    f("finance team would ask about: \"milp: demand slump\"", "milp: demand slump",
      "sweep", summary("best_mean_within_rule", "plan"), str),
    f("mean NPV included (+$858.3M,", "+$858.3M", "sweep", best_mean("against_forecast_optimum", "npv_mean_usd"),
      format_usd_change),
    f("paired standard error $110M;", "$110M", "sweep",
      best_mean("against_forecast_optimum", "npv_mean_paired_se_usd"), format_error),
    f("$110M; CVaR5 +$2.87B)", "+$2.87B", "sweep", best_mean("against_forecast_optimum", "npv_cvar5_usd"),
      format_usd_change),
    f("gives up $2.17B of mean NPV to it", "$2.17B", "sweep", best_mean("against_pick", "npv_mean_usd")),
    f("to it (paired standard error $100M)", "$100M", "sweep", best_mean("against_pick", "npv_mean_paired_se_usd"),
      format_error),
    f("for $565.8M more CVaR5", "$565.8M", "sweep", best_mean("against_pick", "npv_cvar5_usd", -1.0)),
    f("more CVaR5 (paired standard error $56M)", "$56M", "sweep", best_mean("against_pick", "npv_cvar5_paired_se_usd"),
      format_error),
    # Stochastic solve
    f("gains $0.10B of mean NPV over", "$0.10B", "stochastic", out_of_sample("npv_mean_usd_diff", "stochastic"),
      B2),
    f("standard error $0.04B", "$0.04B", "stochastic", out_of_sample("npv_mean_usd_diff_se", "stochastic"), B2),
    f("$3.27B more CVaR5", "$3.27B", "stochastic", out_of_sample("npv_cvar_usd_diff", "stochastic"), B2),
    f("2.7 percentage points fewer liquidity defaults", "2.7", "stochastic",
      out_of_sample("default_probability_diff", "stochastic", sign=-1), points(False)),
    f("3.4 percentage points more covenant breaches", "3.4", "stochastic",
      out_of_sample("breach_probability_diff", "stochastic"), points(False)),
    f("cure a covenant in 5.0 % of", "5.0 %", "stochastic",
      out_of_sample("copies_covenant_cured_probability", "stochastic"), percent(1)),
    f("breaches one in 69.5 % of the fresh futures", "69.5 %", "stochastic",
      out_of_sample("breach_probability", "stochastic"), percent(1)),
)

# README's default-model figures this list does not re-measure, and why (printed by --list-untied)
UNTIED = (
    ("a ~$95B signed book", "an input: the model's contracts, not a run's output"),
    ("the $63M minimum liquidity", "an input: finance.covenants, not a run's output"),
    ("about -$2.4B (the $2.5B of opening cash lost, discounted a quarter)",
     "a bound worked from the model's opening cash, not a run's figure"),
    ("cash $15.13B short in 2028Q4", "`lose_any_customer: true` is infeasible: the shortfall is only in "
     "the terminal's diagnosis, no file"),
    ("a 90 % range of 0.28x-2.36x the forecast's price in the horizon's last quarter, 6.75 years out, against "
     "0.37x-2.05x", "properties of the "
     "two price processes (docs/calibration.md, \"The price process\"), no run writes them"),
    ("35-53 %", "the market's price of CoreWeave's default (docs/calibration.md), not fleetopt's"),
    ("The model opens with $24.1B of debt, about $5B less than CoreWeave's", "an input against a source: the "
     "model's facilities' opening balances and docs/calibration.md, \"Known departures\""),
    ("the model gives its own B-rated customer 27.5 %", "an input: fleetopt/core/credit.py's seven-year B rate"),
    ("the 9-20 % that S&P's history gives BB and B issuers over seven years", "S&P's default rates by "
     "rating (fleetopt/core/credit.py, docs/sources.md §9), not fleetopt's"),
    ("No factor alone defaults more than about one future in twenty", "`python -m benchmarks.bench_risk_factors`'s "
     "rows of one factor alone (the most, customer defaults: 5.3 %), docs/calibration.md's factor table"),
    ("2.9e9 plan-scenario-quarters/s", "a GPU timing: benchmarks/gpu_check.sh on a GPU machine"),
)


# --- running -----------------------------------------------------------------------------------------


def runs_needed(figures) -> list[Run]:
    """The runs the figures need, the solve first, each after the runs it needs."""
    names = {fig.run for fig in figures}
    names |= {n for name in list(names) for n in NEEDS.get(name, ())}
    return [RUNS["solve"]] + [r for r in RUNS.values() if r.name in names and r.name != "solve"]


@functools.cache
def code_stamp() -> str:
    """What a run's figures come from: fleetopt's figure code (:func:`figures_code`) and the default
    model's file."""
    model = hashlib.sha256((README.parent / "models" / "neocloud.yaml").read_bytes()).hexdigest()[:16]
    return f"{figures_code()}-{model}"


def run_stamp(run: Run) -> str:
    """:func:`code_stamp` and the run's own command: a command changed since (a what-if's --set) is
    run again, not reused."""
    return f"{code_stamp()}-{hashlib.sha256(repr(run.argv).encode()).hexdigest()[:16]}"


def recorded(status_file: Path) -> tuple[int | None, str]:
    """The exit status and code stamp :func:`execute` wrote for a run (None, '': none written)."""
    if not status_file.exists():
        return None, ""
    code, _, stamp = status_file.read_text().strip().partition(" ")
    return int(code), stamp


def execute(run: Run, runs_dir: Path) -> str | None:
    """Run ``run`` unless an earlier call left its output in ``runs_dir`` from the same code, model and
    command (a stale one is replaced); why it failed, if it did."""
    output, status_file = runs_dir / run.output, runs_dir / f"{run.output}.exit"
    code, stamp = recorded(status_file)
    if code in run.exit_codes and stamp == run_stamp(run):
        print(f"{run.name}: reused {output}", flush=True)
        return None
    if code is not None:  # this tool's own output, from other code or another model: made again
        if output.is_dir():
            shutil.rmtree(output)
        else:
            output.unlink(missing_ok=True)
        status_file.unlink()
    argv = [a.replace("{runs}", str(runs_dir)) for a in run.argv]
    print(f"$ {shlex.join(argv)}", flush=True)
    started = time.perf_counter()
    env = {**os.environ, "FLEETOPT_RUNS_DIR": str(runs_dir)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=README.parent)
    (runs_dir / f"{run.name}.log").write_text(done.stdout + done.stderr)
    status_file.write_text(f"{done.returncode} {run_stamp(run)}")
    print(f"  exit {done.returncode} in {time.perf_counter() - started:.0f} s", flush=True)
    if done.returncode not in run.exit_codes:
        print("\n".join((done.stdout + done.stderr).splitlines()[-15:]), file=sys.stderr)
        return f"failed (exit {done.returncode}, {runs_dir / f'{run.name}.log'})"
    return None


def measure(fig: Figure, runs_dir: Path, failed: dict[str, str]) -> str:
    """The figure as the run gives it, or why it could not be read."""
    if fig.run in failed:
        return f"{fig.run} {failed[fig.run]}"
    try:
        return fig.measured(runs_dir / RUNS[fig.run].output)
    except (OSError, KeyError, ValueError, StopIteration) as e:
        return f"unreadable: {type(e).__name__} {e}"


def table(rows: list[tuple[Figure, str]]) -> str:
    lines = ["| README text | run | README | measured | match |", "|---|---|---|---|---|"]
    for fig, got in rows:
        cells = (fig.phrase, fig.run, fig.quoted, got, "yes" if got == fig.quoted else "NO")
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="the solves, evaluations and comparison (default)")
    speed.add_argument("--all", action="store_true", help="also the slow ones: Rubin at -18 %%, sweep, stochastic")
    parser.add_argument("--runs-dir", type=Path, help="where the runs go (default: a new temporary folder)")
    parser.add_argument("--list-untied", action="store_true", help="README figures not re-measured, and why")
    args = parser.parse_args(argv)
    if args.list_untied:
        print("\n".join(f"- {text}: {why}" for text, why in UNTIED))
        return 0
    runs_dir = args.runs_dir or Path(tempfile.mkdtemp(prefix="readme-figures-"))
    if runs_dir.exists() and not runs_dir.is_dir():
        parser.error(f"--runs-dir {runs_dir}: not a folder")
    runs_dir = runs_dir.resolve()
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        parser.error(f"--runs-dir {runs_dir}: {e.strerror}")
    figures = [fig for fig in FIGURES if args.all or not RUNS[fig.run].slow]
    print(f"runs in {runs_dir}", flush=True)
    failed = {}
    for run in runs_needed(figures):
        status = execute(run, runs_dir)
        if status:
            failed[run.name] = status
    rows = [(fig, measure(fig, runs_dir, failed)) for fig in figures]
    print(table(rows))
    differ = sum(got != fig.quoted for fig, got in rows)
    skipped = len(FIGURES) - len(figures)
    print(f"{len(rows) - differ} of {len(rows)} figures match README"
          + (f"; {skipped} slow ones not run (--all)" if skipped else "")
          + f"; {len(UNTIED)} of README's figures are not tied to a command (--list-untied)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

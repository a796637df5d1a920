"""The plan's charts (the page's Plan section): its fleet by generation, a lab's compute against its
demand, power by site, cash and debt on the forecast with the scenarios' bands, each covenant ratio's
bands over the scenarios, the borrowing base, and over re-simulated scenarios its NPV distribution (a
lab's plan's: its present cost's) and when it breaks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import numpy as np

from fleetopt.compare.sources import role_notes
from fleetopt.core.covenants import QUANTITY_WORDS, TOLERANCE_USD, CovenantTest, statement_quantities
from fleetopt.core.data import GENERATIONS, USES, ModelData
from fleetopt.core.plan import Plan
from fleetopt.core.results.tables import gpus_by_generation
from fleetopt.core.tail import tail_count, worst_k
from fleetopt.core.units import counted, format_percent, format_times, format_usd, listed, quoted
from fleetopt.evaluate.batch import compile_plans, solved_for, with_buffers
from fleetopt.evaluate.metrics import broken_by_quarter, present_cost_metrics
from fleetopt.evaluate.result_fields import PRESENT_COST, TIMING_FIELDS
from fleetopt.evaluate.sample_runs import sample_runs
from fleetopt.evaluate.simulate import BASE_LINES
from fleetopt.report import svg
from fleetopt.report.reading import FAN_SCENARIOS, ReportRun, in_cost_terms

# the scenarios simulated at once for "When it breaks" beyond the charts' sample: a run of a million
# scenarios is drawn in blocks, its memory that of one block
BREAK_BLOCK = 10_000
# at most this many of a run's scenarios re-simulated for "When it breaks" and the NPV histogram (about
# 12 s a plan on a 2-core VM; a GPU job's million would add two minutes a plan on the CPU): beyond, its
# shares are of the first ones, within about 0.15 point (one standard error) of the key figures'
BREAK_SCENARIOS_MAX = 100_000
# a fan chart's bands: (low percentile, high percentile, opacity, what the range is), of the scenarios
FAN_BANDS = ((5, 95, 0.15, "5-95 % of scenarios"), (25, 75, 0.25, "25-75 %"))
# the quarterly lines the covenants' ratios are read from (core/covenants.py statement_quantities) that
# the simulation records (simulate._record: QuarterFinance.lines, ebitda_usd and the borrowing base's
# sides), cash and debt among them: 6 lines more than the cash and debt bands', 6 x 8 bytes x 500
# scenarios x quarters (0.67 MB on the default model's 28 quarters), of the main plan alone (_paths)
COVENANT_LINES = ("cash_usd", "debt_usd", "ebitda_usd", "tax_usd", "debt_service_usd", "interest_usd",
                  *BASE_LINES)
# a covenant fan's axis reaches at most this many times its limit either side of zero: a DSCR of 900x
# in a quarter of little debt service would flatten every other quarter's bands onto the axis
FAN_AXIS_LIMITS = 4.0


@dataclass(frozen=True)
class Distribution:
    """What the histogram of the focus plans over their scenarios draws: each scenario's ``field`` (a
    per-pair result of the simulation), with the run's own figures of it marked (``columns``: each
    marker's name and its metrics column), else those of the scenarios drawn (``of_sample``)."""

    field: str
    title: str
    axis: str  # the x axis's title
    marked: str  # what the markers' legend says the values are
    one: str  # one scenario's value in words: "an NPV"
    columns: dict[str, str]
    of_sample: Callable[[np.ndarray], tuple[float, float]]


# the NPV's histogram: its mean and P5 (the k-th worst) marked
NPV_DISTRIBUTION = Distribution(
    "npv", "NPV distribution over scenarios", "NPV, USD", "NPV", "an NPV",
    {"mean": "npv_mean_usd", "P5": "npv_p5_usd"},
    lambda npv: (float(np.mean(npv)), float(worst_k(npv, tail_count(len(npv)))[-1])),
)  # fmt: skip
# a lab's plans' (reading.in_cost_terms): their present cost, lower better, its mean and P95 (the k-th
# highest) marked, as the metrics compute them
COST_MARKERS = {"mean": "present_cost_mean_usd", "P95": "present_cost_p95_usd"}


def _sample_cost_figures(cost: np.ndarray) -> tuple[float, ...]:
    """The figures :data:`COST_MARKERS` marks, of the present costs of the scenarios drawn."""
    metrics = present_cost_metrics(cost[None, :])
    return tuple(float(metrics[column][0]) for column in COST_MARKERS.values())


COST_DISTRIBUTION = Distribution(
    PRESENT_COST, "Present cost distribution over scenarios", "present cost, USD", "present cost",
    "a present cost", COST_MARKERS, _sample_cost_figures,
)  # fmt: skip


def _distribution(run: ReportRun) -> Distribution:
    """The histogram a run's report draws: a lab's plans' present cost, else their NPV."""
    return COST_DISTRIBUTION if in_cost_terms(run) else NPV_DISTRIBUTION


def _batch(data: ModelData, plans: list[Plan], labels: list[str], buffers, cost: bool = False):
    """The plans compiled with their cash buffers; ``cost``: solved for least cost (their present cost
    simulated too)."""
    return solved_for(with_buffers(compile_plans(data, plans, labels), buffers), "cost" if cost else None)


def _paths(data: ModelData, plans: list[Plan], labels: list[str], buffers, seed: int, n: int,
           cost: bool = False) -> dict:  # fmt: skip
    """Each pair's results on scenarios 0 .. n - 1 of ``seed``, (plans, scenarios), and the first
    plan's cash and debt by quarter (USD) for the fan charts, with the other lines the covenants' fans
    read where it has one, (1, scenarios, quarters): only its bands and fans are drawn, and the others'
    lines cost as much again each (:data:`COVENANT_LINES`); ``cost``: each pair's present cost too."""
    record = COVENANT_LINES if _fanned_tests(data) else ("cash_usd", "debt_usd")
    first = None if buffers is None else buffers[:1]
    drawn = sample_runs(data, _batch(data, plans[:1], labels[:1], first, cost), n, seed, record=record)
    if len(plans) == 1:
        return drawn
    rest = None if buffers is None else buffers[1:]
    others = sample_runs(data, _batch(data, plans[1:], labels[1:], rest, cost), n, seed)
    return {name: value if name in record else np.concatenate([value, others[name]]) for name, value in drawn.items()}


def _fanned_tests(data: ModelData) -> list[CovenantTest]:
    """The model's covenants drawn as fans over the scenarios: each a ratio (the liquidity floor, in
    USD, is the cash's bands), the borrowing base used among them, tested in some quarter, against a
    limit above 0 (a DSCR of at least 0x is no limit: nothing to come close to)."""
    return [test for test in data.covenants
            if test.kind.denominator is not None and test.tested.any() and test.threshold > 0]


def _every_scenario(run: ReportRun, sim: dict) -> dict[str, np.ndarray]:
    """The focus plans' value the histogram draws (:func:`_distribution`'s field: the NPV, a lab's present
    cost) and their quarters before the first covenant breach, uncured breach and
    liquidity default (simulate's TIMING_FIELDS), (focus plans, scenarios), in each of the run's
    scenarios, at most its first :data:`BREAK_SCENARIOS_MAX`: the charts' sample ``sim`` (its first
    scenarios) and the rest simulated without their quarterly lines, :data:`BREAK_BLOCK` at a time,
    so that the histogram and "When it breaks" are of the key figures' scenarios."""
    seed, total = run.scenario_source
    total = min(total, max(BREAK_SCENARIOS_MAX, run.sample["n"]))
    fields = (_distribution(run).field, *TIMING_FIELDS)
    parts = {field: [sim[field]] for field in fields}
    focus = run.focus
    buffers = None if run.buffers is None else [run.buffers[i] for i in focus]
    batch = _batch(run.data, [run.plans[i] for i in focus], [run.labels[i] for i in focus], buffers,
                   in_cost_terms(run))  # fmt: skip
    for start in range(run.sample["n"], total, BREAK_BLOCK):
        block = sample_runs(run.data, batch, min(BREAK_BLOCK, total - start), seed, start=start)
        for field in fields:
            parts[field].append(block[field])
    return {field: np.concatenate(part, axis=1) for field, part in parts.items()}


def _scenario_charts(run: ReportRun) -> tuple[list[str], dict, list[str]]:
    """The histogram of the focus plans over re-simulated scenarios (their NPV; a lab's, their present
    cost: :func:`_distribution`), the 5-95 % and 25-75 % bands of the main plan's cash and debt, and its
    covenant ratios' fans (:func:`_covenant_fans`)."""
    seed, total = run.scenario_source
    n = min(FAN_SCENARIOS, total)
    focus = run.focus
    buffers = None if run.buffers is None else [run.buffers[i] for i in focus]
    sim = _paths(run.data, [run.plans[i] for i in focus], [run.labels[i] for i in focus], buffers, seed, n,
                 in_cost_terms(run))  # fmt: skip
    run.sample = {"seed": seed, "n": n, "total": total}
    bands = {}
    # one scenario's percentiles are its own path, not a range: its bands read as a scenario's spread
    for name, key in (("cash", "cash_usd"), ("debt", "debt_usd")) if n > 1 else ():
        paths = sim[key][0]
        bands[name] = [(np.percentile(paths, low, axis=0), np.percentile(paths, high, axis=0), opacity, what)
                       for low, high, opacity, what in FAN_BANDS]  # fmt: skip
    every, shown = _every_scenario(run, sim), _distribution(run)
    samples = {run.labels[i]: every[shown.field][j] for j, i in enumerate(focus)}
    markers, sample = _markers(run, shown, samples, total)
    words = _one_value_words(shown, samples)
    histogram = words or svg.both(svg.histogram, shown.title, samples, markers, x_title=shown.axis,
                                  marked=shown.marked, sample=sample, notes=role_notes(run.plan_roles),
                                  colours=svg.plan_colours(list(samples), run.plan_roles))  # fmt: skip
    drawn = len(every[shown.field][0])
    caption = f"<p class='cap'>{escape(_histogram_caption(run, shown, drawn, bool(sample)))}</p>"
    timing = {field: every[field][0] for field in TIMING_FIELDS}
    fans = _covenant_fans(run, sim) if n > 1 else []
    return [histogram + caption, _when_it_breaks(run, timing)], bands, fans


def _covenant_fans(run: ReportRun, sim: dict) -> list[str]:
    """A fan chart per covenant ratio the model tests (:func:`_fanned_tests`): the main plan's
    ratio over the charts' sample ``sim`` by quarter, read as one scenario's path reads it
    (evaluate/path.py ``_covenant_columns``: ``CovenantKind.ratio`` of ``statement_quantities``)."""
    tests = _fanned_tests(run.data)
    if not tests:
        return []
    lines = {name: sim[name][0] for name in COVENANT_LINES}
    values = statement_quantities(lines, run.data.covenant_window)
    return [_covenant_fan(run, test, values) for test in tests]


def _covenant_fan(run: ReportRun, test: CovenantTest, values: dict[str, np.ndarray]) -> str:
    """One covenant's fan: its ratio's bands and median in the quarters it is tested, its limit a line."""
    kind, tested = test.kind, test.tested
    ratio = kind.ratio(values)  # (scenarios, quarters)
    share = kind.is_share  # a share, as its threshold is written
    edges = _percentiles(ratio, [p for low, high, *_ in FAN_BANDS for p in (low, high)] + [50])
    bands = [(edges[2 * b], edges[2 * b + 1], opacity, what)
             for b, (*_, opacity, what) in enumerate(FAN_BANDS)]  # fmt: skip
    shown = np.concatenate([edges[0][tested], edges[1][tested]])
    reach = FAN_AXIS_LIMITS * test.threshold
    axis = (max(float(shown.min()), -reach), min(float(shown.max()), reach))
    spread = svg.Fan(bands, edges[-1], tested, (test.threshold, f"limit: {test.describe()}"), axis)
    unit = "% of GPU resale value" if kind.facility_test else "%" if share else "x"
    chart = svg.both(svg.fan, f"{kind.ratio_name} over scenarios, by quarter: {run.main_label}",
                     run.data.quarter_labels, spread, f"{kind.ratio_name} ({unit})",
                     y_fmt=svg.share_tick if share else svg.times_tick)  # fmt: skip
    write = format_percent if share else format_times
    worst = edges[0 if kind.bound == "min" else 1]
    caption = _fan_caption(run, test, test.breached(values) & tested, worst, write)
    lo, hi = axis
    clipped = {"below": lo if shown.min() < lo else None, "above": hi if shown.max() > hi else None}
    caption += _fan_drawing_words(run, test, ratio, clipped, write)
    return chart + f"<p class='cap'>{escape(caption)}</p>"


def _percentiles(ratio: np.ndarray, percents: list[float]) -> list[np.ndarray]:
    """Each of ``percents`` of ``ratio`` over its scenarios (axis 0), by quarter, as NumPy's (linear)
    but with an unbounded ratio (inf, no denominator) counted as above every other: a percentile
    between a finite ratio and an unbounded one is unbounded (NumPy's gave NaN)."""
    unbounded = np.isposinf(ratio)
    stand_in = np.where(unbounded, np.finfo(float).max / 4, ratio)
    highest = np.where(unbounded, -np.inf, ratio).max(axis=0)
    return [np.where(p > highest, np.inf, p) for p in np.percentile(stand_in, percents, axis=0)]


def _fan_caption(run: ReportRun, test: CovenantTest, breached: np.ndarray, worst: np.ndarray, write) -> str:
    """How close the covenant comes over the sample, in its tightest quarter: the tested quarter the
    most scenarios breach it in, where any does, else the one whose worst 5 % (``worst``: the 5th
    percentile of a minimum, the 95th of a maximum) has the least room (``tightest_quarter``)."""
    n, seed, q = run.sample["n"], run.sample["seed"], run.data.quarter_labels
    shares = breached.mean(axis=0)
    beyond = "below" if test.kind.bound == "min" else "above"
    # the borrowing base's threshold, 1x, is the share of the GPUs' value its debt may need: 100 %
    limit = write(test.threshold) if test.kind.facility_test else test.threshold_words
    scenarios = f"{n:,} scenarios (seed {seed})"
    if shares.max() > 0:
        t = int(np.argmax(shares))
        return (f"Its tightest quarter is {q[t]}: {format_percent(shares[t])} of the {scenarios} breach it "
                f"there ({beyond} {limit}), the most of any quarter tested.")
    t = test.tightest_quarter(worst)
    return (f"None of the {scenarios} breaches it ({beyond} {limit}) in any quarter tested; "
            f"it comes closest in {q[t]}, where the worst 5 % are at {write(float(worst[t]))} or {beyond}.")


def _fan_drawing_words(run: ReportRun, test: CovenantTest, ratio: np.ndarray,
                       clipped: dict[str, float | None], write) -> str:  # fmt: skip
    """How the fan draws the scenarios after a default, the quarters without a ratio and, where its
    bands reach beyond the axis (``clipped``: the axis's end "below" and "above", None where they
    do not reach beyond it), those beyond it."""
    kind, tested = test.kind, ratio[:, test.tested]
    said = [" The bands are of every re-simulated scenario in each quarter the covenant is tested (grey: "
            "not tested); a scenario runs on after a liquidity default (docs/evaluation.md), as in the cash "
            "and debt bands, and counts in every quarter."]
    unbounded = counted(int(np.isposinf(tested).sum()), "scenario-quarter")
    untested = " and not tested" if kind.applies_when == kind.denominator else ""
    said.append(f" Where {QUANTITY_WORDS[kind.denominator]} is nil or negative the ratio is unbounded"
                f"{untested} (inf in a scenario's path.csv), drawn at the axis's top: {unbounded} of "
                f"{tested.size:,} here.")
    if kind.applies_when == kind.numerator:
        owed = "GPU-secured debt" if kind.facility_test else QUANTITY_WORDS[kind.numerator]
        said.append(f" With no {owed} it is 0: not tested.")
    if run.data.covenant_window > 1 and kind.on_flows:
        said.append(" Its flows are averaged over the trailing year, as tested.")
    said += [f" Bands {side} {write(edge)} are drawn at {write(edge)}." for side, edge in clipped.items()
             if edge is not None]  # fmt: skip
    return "".join(said)


def _markers(run: ReportRun, shown: Distribution, samples: dict[str, np.ndarray], total: int) -> tuple[dict, str]:
    """The figures marked on the histogram of ``shown`` for each plan drawn (the mean and P5 NPV, a
    lab's mean and P95 present cost), and the legend's words for
    them where they are of fewer scenarios than the run's ('' where not): the run's own figures (its
    metrics table, the key figures') where it has them, since a chart's mean of the first 500
    scenarios ($11.56B) was checked against the key figures' $12.84B; else those of ``samples``."""
    markers, of_sample = {}, False
    for name, values in samples.items():
        figures = _run_figures(run, name, shown)
        if figures is None:
            figures, of_sample = shown.of_sample(values), True
        markers[name] = dict(zip(shown.columns, figures, strict=True))
    drawn = len(next(iter(samples.values())))
    return markers, f"{drawn:,}-scenario sample" if of_sample and drawn < total else ""


def _one_value_words(shown: Distribution, samples: dict[str, np.ndarray]) -> str:
    """Words in place of a histogram whose scenarios all have one value ('' where they differ): a
    run of one scenario drew a single bar at the axis's edge, the axis without a figure."""
    values = np.concatenate([np.asarray(v, dtype=float) for v in samples.values()])
    if len(values) and np.ptp(values) > 0:
        return ""
    n = len(next(iter(samples.values())))
    one = "The one scenario" if n == 1 else f"Each of the {n:,} scenarios"
    return (f"<p><b>{escape(shown.title)}</b></p><p>{one} of {escape(' and '.join(samples))} has "
            f"{shown.one} of {escape(format_usd(float(values[0])))}: no distribution to draw.</p>")


def _when_it_breaks(run: ReportRun, timing: dict[str, np.ndarray]) -> str:
    """The main plan's share of scenarios with a covenant breach, with an uncured covenant breach
    and with a liquidity default, by the end of each quarter (cumulative: each is for good), over
    the scenarios of ``timing`` (:func:`_every_scenario`: every one of the run's, up to its cap)."""
    T = run.data.T
    series = {
        "covenant breached": broken_by_quarter(timing["quarters_before_breach"], T),
        "uncured breach": broken_by_quarter(timing["quarters_before_uncured"], T),
        "liquidity default": broken_by_quarter(timing["quarters_before_default"], T),
    }
    seed, total = run.scenario_source
    drawn = len(timing["quarters_before_breach"])
    if not any(line.any() for line in series.values()):  # a chart flat at 0 would say nothing
        return (f"<p><b>When {escape(run.main_label)} breaks</b></p><p>In none of the {drawn:,} "
                "scenarios re-simulated does it breach a covenant or default.</p>")
    caption = _break_caption(seed, total, drawn)
    return svg.both(svg.lines, f"When {run.main_label} breaks: share of scenarios by the end of each quarter",
                    run.data.quarter_labels, series, "share of scenarios", y_fmt=svg.share_tick,
                    colours=BREAK_COLOURS) + f"<p class='cap'>{escape(caption)}</p>"  # fmt: skip


def _break_caption(seed: int, total: int, drawn: int) -> str:
    """What "When it breaks" is drawn from: every scenario of the run, whose shares by the last quarter
    are the key figures', or its first :data:`BREAK_SCENARIOS_MAX`, within sampling error of them."""
    if drawn < total:
        return (f"The first {drawn:,} of the run's {total:,} scenarios (seed {seed}), re-simulated: the "
                "shares by the last quarter are within sampling error of the key figures' above, which "
                f"are of all {total:,}.")
    scenarios = "The run's one scenario" if total == 1 else f"All {total:,} scenarios of the run"
    return f"{scenarios} (seed {seed}), re-simulated: the shares by the last quarter are the key figures' above."


# no role's colour (svg.NO_ROLE_FIRST): a default drawn green beside the green pick read as a good sign,
# an uncured breach orange as the forecast optimum's; black, not sky blue, meets 3:1 on white
BREAK_COLOURS = {"covenant breached": svg.OKABE_ITO["blue"], "uncured breach": svg.OKABE_ITO["black"],
                 "liquidity default": svg.OKABE_ITO["vermillion"]}  # fmt: skip


def _run_figures(run: ReportRun, label: str, shown: Distribution) -> tuple[float, ...] | None:
    """The plan ``label``'s figures marked on the histogram of ``shown`` in the run's metrics table (USD),
    None where it has none."""
    columns = list(shown.columns.values())
    if run.metrics is None or not set(columns) <= set(run.metrics.columns):
        return None
    rows = run.metrics[run.metrics["plan"] == label]
    if not len(rows):
        return None
    figures = tuple(float(rows.iloc[0][column]) for column in columns)
    return figures if all(np.isfinite(figures)) else None


def _histogram_caption(run: ReportRun, shown: Distribution, drawn: int, of_sample: bool) -> str:
    """What the histogram of ``shown`` is drawn from (``drawn`` of the run's scenarios, the first ones),
    and whose figures it marks ('mean and P5'; ``of_sample``: those drawn; else the run's, the key
    figures')."""
    seed, total = run.scenario_source
    if drawn == total == 1:
        return f"The run's one scenario (seed {seed}), re-simulated."
    figures = " and ".join(shown.columns)
    marked = f"{figures} of these {drawn:,}" if of_sample else f"{figures} marked are {_marked_figures(run)}"
    if drawn == total:
        return f"All {drawn:,} scenarios of the run (seed {seed}), re-simulated; {marked}."
    if of_sample:
        marked += f", the key figures above use all {total:,}"
    else:
        marked = f"{figures} marked are of all {total:,}, {_marked_figures(run)}"
    return f"The first {drawn:,} of the run's {total:,} scenarios (seed {seed}), re-simulated; {marked}."


# the table below the charts that holds the mean and P5 of every plan the histogram draws
_RISK_TABLES = {"sweep": "the candidates table's", "stochastic": "the out-of-sample table's"}


def _marked_figures(run: ReportRun) -> str:
    """Where the histogram's marked figures are written: the key figures above hold the main
    plan's alone, so those of the others it draws (a sweep's forecast optimum and third plan) are
    said to be in the table of the run's plans below."""
    if len(run.focus) == 1:
        return "the key figures' above"
    table = _RISK_TABLES.get(run.kind, "the plans table's")
    return f"the key figures' above for {quoted(run.main_label)}, {table} below for the others"


def plan_section(run: ReportRun) -> str:
    """Fleet by generation, power by site, and cash and debt (with scenario bands where there are any)."""
    data, st, q = run.data, run.statements, run.data.quarter_labels
    gens = gpus_by_generation(data, run.plans[run.focus[0]])
    charts = [
        svg.both(
            svg.stacked_area, f"Fleet by generation: {run.main_label}", q,
            {g: gens[g].to_numpy() for g in GENERATIONS}, svg.GENERATION_COLOURS, "GPUs",
        )
    ]  # fmt: skip
    if run.solved_for_cost and any(np.any(d > 0) for d in data.demand):
        charts.append(_compute_chart(run))
    for site in data.sites:
        charts.append(
            svg.both(
                svg.lines, f"Power at {site.name}", q,
                {"MW drawn (facility, with PUE)": st.lines[f"mw_used_{site.name}"],
                 "MW online": st.lines[f"mw_available_{site.name}"]},
                "MW", y_fmt=svg.mw_tick, dashed={"MW online"},
            )
        )  # fmt: skip
    bands, fans = {}, []
    # a deterministic evaluation has no scenarios to re-simulate: its one scenario is the forecast
    if (run.kind in ("evaluate", "sweep") or run.metrics is not None) and not run.summary.get(
        "deterministic"
    ):
        extra, bands, fans = _scenario_charts(run)
        charts += extra
    # the lines are the forecast, the bands the scenarios: a title of the forecast alone misread them
    title = "Cash and debt: on the forecast (lines) and over scenarios (bands)" if bands else (
        "Cash and debt on the forecast")
    fc = run.forecast.lines  # the forecast run with the plan's policy: the scenarios' own rules
    cash = svg.both(svg.lines, title, q, {"cash": fc["cash_usd"], "debt": fc["debt_usd"]},
                    "USD", y_fmt=svg.usd_tick, bands=bands)  # fmt: skip
    if bands:
        cash += f"<p class='cap'>Bands from {run.sample['n']:,} re-simulated scenarios (seed {run.sample['seed']}).</p>"
    charts.append(cash)
    charts += fans
    if any(fac.max_ltv for fac in data.facilities):  # the borrowing base (formulation §5.9)
        needed = st.lines["collateral_required_usd"]
        charts.append(svg.both(
            svg.lines, "Borrowing base on the forecast" + (f" ({run.milp_only})" if run.milp_only else ""), q,
            {"collateral needed (GPU-secured debt / max LTV)": needed,
             "GPU resale value": st.lines["collateral_value_usd"]},
            "USD", y_fmt=svg.usd_tick, dashed={"GPU resale value"},
        ) + ("" if (needed > TOLERANCE_USD).any() else  # a flat line at $0 said nothing
             "<p class='cap'>No GPU-secured debt is owed on the forecast: the borrowing base is not tested "
             "(the collateral needed is $0 throughout).</p>"))  # fmt: skip
    return (f"<h2>Plan: {escape(run.main_label)}</h2><div class='grid'>"
            + "".join(f"<div class='card'>{c}</div>" for c in charts) + "</div>")  # fmt: skip


def _compute_chart(run: ReportRun) -> str:
    """A lab's compute against its demand, on the forecast: GPUs on the market times their throughput
    (H100-equivalent, summed over sites, as the evaluator offers them) beside market.demand_gpus, by
    use. GPU counts alone read as a shrinking fleet where fewer, faster GPUs replace many old ones."""
    data, label = run.data, run.main_label
    supply = compile_plans(data, [run.plans[run.focus[0]]], [label], slips=False).market_supply[0].sum(axis=1)  # (2, T)
    series, dashed, colours = {}, set(), {}
    for u, use in enumerate(USES):  # a use's compute and demand in one colour, the demand dashed
        series[f"{use} compute"] = supply[u]
        series[f"{use} demand"] = np.asarray(data.demand[u], dtype=float)
        dashed.add(f"{use} demand")
        colours.update(dict.fromkeys((f"{use} compute", f"{use} demand"), svg.NO_ROLE_FIRST[u]))
    chart = svg.both(svg.lines, f"Compute against demand on the forecast: {label}", data.quarter_labels,
                     series, "H100-equivalent GPUs", dashed=dashed, colours=colours)  # fmt: skip
    names = {colour: name for name, colour in svg.OKABE_ITO.items()}
    styles = listed([f"{use} {names[svg.NO_ROLE_FIRST[u]]}" for u, use in enumerate(USES)])
    return chart + ("<p class='cap'>GPUs serving the market times their throughput (H100 = 1), summed over "
                    f"sites: each use's compute a solid line, its demand a dashed line in the same colour ({styles}); "
                    "a plan solved for least cost meets the demand exactly (formulation §5.5), the dashed line "
                    "over the solid.</p>")

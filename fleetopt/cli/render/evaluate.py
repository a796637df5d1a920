"""`fleetopt evaluate`: evaluation metrics, the lenders at a default, first breaches, reactions,
demand served."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from fleetopt.cli.render.tables import unbroken
from fleetopt.core.covenants import BORROWING_BASE
from fleetopt.core.metric_columns import (
    ANY_DEFAULT_LABEL,
    BREACH_SHORT,
    CVAR5_NPV_LABEL,
    DEFAULT_SHORT,
    MEAN_NPV_LABEL,
    P5_NPV_LABEL,
    PRESENT_COST_COLUMNS,
    SHORTFALL_SHARE,
    UNCURED_SHORT,
    cure_limits,
    first_breach_column,
)
from fleetopt.core.results.headline import (
    CVAR95_COST_LABEL,
    CVAR95_COST_MEANS,
    MEAN_COST_LABEL,
    P95_COST_LABEL,
    P95_COST_MEANS,
)
from fleetopt.core.units import (
    format_figure,
    format_percent,
    format_usd,
    whole_count,
)
from fleetopt.evaluate.metrics import (
    ACCELERATED,
    DEBT_AT_DEFAULT_METRICS,
    DEBT_AT_UNCURED_METRICS,
    DEBT_COVERED_HEADER,
    FORECAST_COST_WORDS,
    FORECAST_MARK,
    FORECAST_MARK_MEANS,
    FORECAST_OK,
    LENDERS_SHARE,
    LIMITED_LIABILITY,
    MEAN_NO_DEFAULT_HEADER,
    MEDIAN_QUARTER_OF,
    MEDIAN_QUARTER_WORDS,
    SERVICE_MARK,
    UNCURED_BEFORE_FIRST_WORDS,
    below_floor,
    event_words,
    limited_liability_differs,
    median_quarter_label,
    reaction_labels,
    reaction_usd_labels,
    reactions_taken,
    service_mark_means,
    uncured_median_before_first,
)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else format_figure(x, "share")


def evaluation_table(metrics, title: str) -> Table:
    """Metrics of the given plans (rows of an evaluation's metrics frame)."""
    table = Table(title=title)
    for name in (
        "plan",
        MEAN_NPV_LABEL,
        "s.e.",
        MEAN_NO_DEFAULT_HEADER,
        P5_NPV_LABEL,
        CVAR5_NPV_LABEL,
        "P(NPV<0)",
        BREACH_SHORT,
        DEFAULT_SHORT,
        *([ANY_DEFAULT_LABEL] if "any_default_probability" in metrics else []),  # a run before 0.4.14: none
        "mean lowest cash",
        "util.",
    ):
        table.add_column(name, justify="left" if name == "plan" else "right")
    for _, row in metrics.iterrows():
        either = [format_percent(row["any_default_probability"])] if "any_default_probability" in row else []
        table.add_row(
            Text(("" if row.get(FORECAST_OK, True) else f"{FORECAST_MARK} ") + str(row["plan"])),
            format_usd(row["npv_mean_usd"]),
            format_usd(row["npv_mean_se_usd"]),
            format_usd(row["npv_mean_no_default_usd"]),
            format_usd(row["npv_p5_usd"]),
            format_usd(row["npv_cvar5_usd"]),
            format_percent(row["loss_probability"]),
            format_percent(row["breach_probability"]),
            format_percent(row["default_probability"]),
            *either,
            format_usd(row["expected_min_cash_usd"]),
            format_percent(row["mean_utilisation"]),
        )
    notes = [UTIL_MEANS]
    if FORECAST_OK in metrics and not metrics[FORECAST_OK].all():
        notes.insert(0, f"{FORECAST_MARK} {FORECAST_MARK_MEANS} (run with its policy)")
    table.caption = "; ".join(notes)
    return unbroken(table)


def limited_liability_table(metrics, title: str) -> Table | None:
    """The mean and CVaR5 NPV with limited liability of the given plans, and their NPV if lenders
    accelerate where it differs for some plan; None where they are every plan's NPV figures (no
    default, no company worth less than nothing at the end, no uncured breach before a default)."""
    accelerated = limited_liability_differs(metrics, ACCELERATED)
    if not (limited_liability_differs(metrics) or accelerated):
        return None
    caption = LIMITED_MEANS + (f"; accelerated: {ACCELERATED_MEANS}" if accelerated else "")
    table = Table(title=title, caption=caption)
    more = (ANY_DEFAULT_LABEL, "mean, accelerated", "CVaR5, accelerated") if accelerated else ()
    for name in ("plan", DEFAULT_SHORT, MEAN_NPV_LABEL, CVAR5_NPV_LABEL, *more):  # as the evaluation table
        table.add_column(name, justify="left" if name == "plan" else "right")
    for _, row in metrics.iterrows():
        limited = [format_usd(row[column]) for column in LIMITED_LIABILITY]
        if accelerated:
            limited += [_pct(row["any_default_probability"]), *(format_usd(row[c]) for c in ACCELERATED)]
        table.add_row(Text(str(row["plan"])), _pct(row["default_probability"]), *limited)
    return unbroken(table)


def debt_at_default_table(metrics, title: str, uncured: bool = False) -> Table | None:
    """The debt owed at a liquidity default (``uncured``: at an uncured covenant breach, the event of
    default on which lenders may accelerate) and how much of it the GPUs' sale and the cash cover,
    for the given plans; None where no plan has the event (or the evaluation has no such figures)."""
    figures = DEBT_AT_UNCURED_METRICS if uncured else DEBT_AT_DEFAULT_METRICS
    if not (figures[0] in metrics and metrics[figures[0]].notna().any()):
        return None
    table = Table(title=title, caption=DEBT_AT_UNCURED_MEANS if uncured else DEBT_AT_DEFAULT_MEANS)
    # in a credit analyst's terms: exposure at default, the collateral's cover of it, expected loss (USD
    # averaged over every scenario, those without a default at 0)
    exposure = "debt at the breach (exposure)" if uncured else "debt at default (exposure)"
    event = (UNCURED_SHORT if uncured else DEFAULT_SHORT, exposure)
    for name in ("plan", *event, DEBT_COVERED_HEADER, "uncovered, mean (expected loss)"):
        table.add_column(name, justify="left" if name == "plan" else "right")
    probability = LENDERS_SHARE[figures]
    for _, row in metrics.iterrows():
        debt, covered, uncovered = (row[column] for column in figures)
        table.add_row(Text(str(row["plan"])), _pct(row[probability]), format_usd(debt),
                      _pct(covered), format_usd(uncovered))  # fmt: skip
    return unbroken(table)


DEBT_AT_DEFAULT_MEANS = (
    "debt at default: mean over the scenarios that default of the debt owed at the end of the default's "
    "quarter; covered: the share of it that selling the GPUs still held, at the scenario's resale value "
    "less selling costs and the distress discount, and the cash left would repay; uncovered, mean: the "
    "rest, averaged over all scenarios (0 where none defaults), to be recovered from contracts and sites "
    "or lost; USD of the default's quarter, undiscounted (docs/evaluation.md)"
)


DEBT_AT_UNCURED_MEANS = (
    "debt at the breach: mean over the scenarios with an uncured covenant breach of the debt owed at the "
    "end of its quarter, what lenders who accelerated then would claim (counted, not simulated: no debt is "
    "accelerated); covered and uncovered as at a liquidity default (docs/evaluation.md)"
)


LIMITED_MEANS = ("a liquidity default ends the shareholders' claim, and a company worth less than nothing "
                 "at the end is worth nothing to them (docs/evaluation.md)")
ACCELERATED_MEANS = ("the lenders accelerate at the first event of default of either kind; at an uncured "
                     "covenant breach they take the GPUs and the cash to repay the debt, the shareholders "
                     "keep the rest")


# what the evaluation tables' short headings mean (metrics.csv has each figure unrounded)
UTIL_MEANS = (f"s.e.: the mean NPV's standard error; {MEAN_NO_DEFAULT_HEADER}: over the scenarios with no "
              f"liquidity default, a share 1 - {DEFAULT_SHORT} of them; "
              f"{P5_NPV_LABEL}: the k-th worst NPV, k = ceil(5 % of the scenarios); {CVAR5_NPV_LABEL}: the "
              f"mean NPV of those k worst; {BREACH_SHORT}: a covenant missed in a quarter it is tested; "
              f"{DEFAULT_SHORT}: a liquidity default, cash below the model's default level after the "
              f"revolver and sales in some quarter; {ANY_DEFAULT_LABEL}: a liquidity default or a covenant "
              "breach the owners could not cure, either event of default, as lenders count defaults (a "
              "credit default swap pays on bankruptcy or a failure to pay only); mean lowest cash: "
              "each scenario's lowest quarter-end cash, "
              "averaged (below zero where a default's shortfall is carried as negative cash); "
              "util.: the GPUs rented out (serving a contract, or on the market within the "
              "scenario's demand) over the GPUs held (orders deferred or cancelled and GPUs sold still "
              "count), mean over scenarios and quarters; "
              "metrics.csv has every figure unrounded")


def forecast_table(metrics, title: str, quarter_labels: list[str] | None, kinds) -> Table:
    """A deterministic evaluation's plans: their one scenario is the forecast, so each figure is the
    plan's own (no standard error, tail or shares) and each event a yes or no: the covenant its
    first breach breaks and the quarter it breaks in, the quarter of a default, the policy's
    reactions it needed. ``kinds``: the covenants as the model tests them (``ModelData.covenant_kinds``:
    its DSCR "(EBITDA - tax) / debt service" where it tests that)."""
    table = Table(title=title)
    for name in ("plan", "NPV on the forecast", "lowest cash", "util.", "liquidity default",
                 "covenant breach", "policy reactions"):  # fmt: skip
        text = name in ("plan", "covenant breach", "policy reactions")
        table.add_column(name, justify="left" if text else "right")
    for _, row in metrics.iterrows():
        missed = [k.label for k in kinds if row.get(first_breach_column(k), 0) > 0]
        breach = ("yes: " + ", ".join(missed) if missed else "yes") if row["breach_probability"] > 0 else "no"
        default = "yes" if row["default_probability"] > 0 else "no"
        if quarter_labels is not None:  # the one scenario's quarter: its median (NaN where none broke)
            if breach != "no" and "breach_median_quarter" in row:
                breach += f", in {median_quarter_label(row['breach_median_quarter'], quarter_labels)}"
            if default == "yes" and "default_median_quarter" in row:
                default += f", in {median_quarter_label(row['default_median_quarter'], quarter_labels)}"
        table.add_row(
            Text(str(row["plan"])),
            format_usd(row["npv_mean_usd"]),
            format_usd(row["expected_min_cash_usd"]),
            format_percent(row["mean_utilisation"]),
            default,
            Text(breach),
            Text(reactions_taken(row)),
        )
    return table


def reactions_table(metrics, title: str, contracts: bool = True) -> Table:
    """What the policy had to do for the given plans: the share of scenarios with each reaction (those
    of contracts only where the model has any, ``contracts``), and the mean GPU capex deferred,
    deposits forfeited and distress-sale proceeds (docs/evaluation.md, "Policy"; a run before 0.4.4
    has only the first); policy rule 6's mandatory prepayments of the borrowing base after them, where
    the metrics have them (the rule on)."""
    shown = reaction_labels(contracts, metrics.columns)
    table = Table(title=title)
    table.add_column("plan", justify="left")
    for label in shown.values():
        table.add_column(label, justify="right")
    usd = reaction_usd_labels(metrics.columns)
    for label in usd.values():
        table.add_column(f"{label} (USD)", justify="right")
    for _, row in metrics.iterrows():
        shares = [format_percent(row[column]) for column in shown]
        table.add_row(Text(str(row["plan"])), *shares, *(format_usd(row[column]) for column in usd))
    return unbroken(table)


UNCURED = "uncured_breach_probability"


def first_breach_table(metrics, title: str, tested: tuple, cash_covers: bool = False) -> Table | None:
    """Which covenant breaks first, for the given plans: the share of scenarios whose first breach
    misses each kind of covenant the model tests (``tested``: core.covenants.tested_kinds), at 0 %
    too; ``cash_covers``: the model's ``finance.covenants.cash_covering_debt_cures``, which the
    uncured column's legend names; None when no plan breaches (or the metrics predate the columns)."""
    columns = {k: first_breach_column(k) for k in tested if first_breach_column(k) in metrics.columns}
    kinds = list(columns)
    if not kinds or not any((metrics[column] > 0).any() for column in columns.values()):
        return None
    uncured = UNCURED in metrics.columns  # not in the metrics of a run before fleetopt 0.4.11
    table = Table(title=title)
    table.add_column("plan", justify="left")
    table.add_column("any breach", justify="right")
    if uncured:
        table.add_column("uncured", justify="right")
    for kind in kinds:
        table.add_column(kind.label, justify="right")
    for _, row in metrics.iterrows():
        shares = [format_percent(row[columns[k]]) for k in kinds]
        shown = ["breach_probability", *([UNCURED] if uncured else [])]
        figures = [format_percent(row[column]) for column in shown]
        table.add_row(Text(str(row["plan"])), *figures, *shares)
    table.caption = (
        "two covenants can fail in the quarter of the first breach, so the shares can add up to more "
        "than any breach"
    )
    if uncured:
        table.caption += (
            f"; uncured: a breached quarter the owners could not cure ({cure_limits(cash_covers)}), an "
            "event of default on which lenders may accelerate"
        )
    if BORROWING_BASE in kinds:
        table.caption += (
            "; borrowing base: GPU-secured debt / max LTV against the fleet's resale value at the "
            "scenario's GPU prices, every quarter (docs/evaluation.md, quarter step 6)"
        )
    return unbroken(table)


def when_it_breaks_table(metrics, title: str, quarter_labels: list[str]) -> Table | None:
    """When the given plans break: of the scenarios with a covenant breach (an uncured breach, a
    liquidity default), the median quarter of the first breach (of the uncured one, of the default),
    with their share; None when no plan
    breaks (or the metrics predate the columns)."""
    timing = [name for name in MEDIAN_QUARTER_OF if name in metrics.columns]
    if not timing or metrics[[MEDIAN_QUARTER_WORDS[n][1] for n in timing]].to_numpy().max() <= 0:
        return None
    table = Table(title=title)
    table.add_column("plan", justify="left")
    for name in timing:
        table.add_column(MEDIAN_QUARTER_WORDS[name][0], justify="right")
    marked = False
    for _, row in metrics.iterrows():
        cells = []
        for name in timing:
            mark = name == "uncured_breach_median_quarter" and uncured_median_before_first(row)
            marked |= mark
            cells.append(f"{median_quarter_label(row[name], quarter_labels)} "
                         f"({format_percent(row[MEDIAN_QUARTER_WORDS[name][1]])}){' *' if mark else ''}")
        table.add_row(Text(str(row["plan"])), *cells)
    if marked:
        table.caption = f"* {UNCURED_BEFORE_FIRST_WORDS}"
    return unbroken(table)


def demand_served_table(metrics, title: str, quarters: int, one: bool = False) -> Table:
    """The market demand the given plans serve (a lab's own demand, where it plans for it): the
    mean share served, the mean demand not served, as H100-equivalent GPUs short in an average
    quarter (GPU-quarters over the ``quarters`` of the horizon), and the share of scenarios short by
    more than 1 % of their demand (docs/evaluation.md, metrics.csv); ``one``: of the forecast alone
    (a deterministic evaluation), no mean and no probability, as its report says them."""
    short = f"short > {SHORTFALL_SHARE:.0%}"
    names = (("demand served on the forecast", "GPUs short in an average quarter (H100-eq.)", short) if one
             else ("demand served (mean)", "GPUs short in an average quarter (H100-eq.)", f"P({short})"))
    table = Table(title=title)
    for name in ("plan", *names):
        table.add_column(name, justify="left" if name == "plan" else "right")
    for _, row in metrics.iterrows():
        shortfall = float(row["shortfall_probability"])
        table.add_row(
            Text(str(row["plan"])),
            format_figure(row["demand_served_share"], "share"),  # n/a: the model has no market demand
            whole_count(row["unserved_demand_mean_gpu_quarters"] / quarters, "up"),  # short: never 0 for 0.3
            event_words(shortfall) if one else format_percent(shortfall),
        )
    return unbroken(table)


def present_cost_table(metrics, title: str, one: bool = False, min_service: float | None = None) -> Table:
    """The present cost of the given plans solved for least cost (docs/evaluation.md, "The present
    cost"): its mean over the scenarios with its standard error, its P95 and CVaR95, the tail of the
    highest costs, lower being better; ``one``: of the forecast alone (a deterministic evaluation), the
    one scenario's present cost, no error and no tail. A plan serving less than ``min_service`` of the
    demand (--min-service) is marked :data:`SERVICE_MARK`, with its legend."""
    names = ((FORECAST_COST_WORDS,) if one
             else (MEAN_COST_LABEL, "s.e.", P95_COST_LABEL, CVAR95_COST_LABEL))
    columns = ("present_cost_mean_usd",) if one else tuple(PRESENT_COST_COLUMNS)  # mean, s.e., P95, CVaR95
    below = below_floor(metrics, min_service)
    notes = [f"{SERVICE_MARK} {service_mark_means(min_service)}"] if below.any() else []
    # one figure's narrow table wrapped its title into a column of 52 characters: its title on two lines
    table = Table(title=title, caption="; ".join(notes + ([] if one else [PRESENT_COST_MEANS])) or None,
                  min_width=-(-len(title) // 2) + 4 if one else None)  # fmt: skip
    for name in ("plan", *names):
        table.add_column(name, justify="left" if name == "plan" else "right")
    for (_, row), marked in zip(metrics.iterrows(), below, strict=True):
        plan = Text(f"{SERVICE_MARK} " * marked + str(row["plan"]))
        table.add_row(plan, *(format_usd(row[column]) for column in columns))
    return unbroken(table)


PRESENT_COST_MEANS = (f"s.e.: the mean present cost's standard error; {P95_COST_LABEL}: {P95_COST_MEANS}; "
                      f"{CVAR95_COST_LABEL}: {CVAR95_COST_MEANS}; lower is better; metrics.csv has every "
                      "figure unrounded")


# how often an evaluation not shown on a terminal (a log file, `docker logs`) says where it stands, seconds


def scenario_path_table(shown, title: str) -> Table:
    """One scenario's quarters as :meth:`~fleetopt.evaluate.path.ScenarioPath.shown` formats them."""
    table = Table(title=title)
    for column in shown.columns:
        table.add_column(column, justify="right" if "(USD)" in column else "left")
    for row in shown.itertuples(index=False):
        table.add_row(*(Text(str(cell)) for cell in row))
    return unbroken(table)

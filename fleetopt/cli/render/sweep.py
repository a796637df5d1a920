"""`fleetopt sweep`: the candidates table."""

from __future__ import annotations

import re
import textwrap

from rich.table import Table
from rich.text import Text

from fleetopt.cli.render.evaluate import LIMITED_MEANS
from fleetopt.cli.render.tables import unbroken
from fleetopt.core.metric_columns import (
    ANY_DEFAULT_LABEL,
    BREACH_SHORT,
    CVAR5_NPV_LABEL,
    DEFAULT_SHORT,
    MEAN_NPV_LABEL,
    SHORTFALL_SHARE,
)
from fleetopt.core.units import (
    format_percent,
    format_usd,
)
from fleetopt.evaluate.metrics import (
    FORECAST_MARK,
    FORECAST_OK,
    limited_liability_differs,
)
from fleetopt.sweep.cash_buffers import PLANNED_WITH_BUFFER, RUN_WITH_BUFFER
from fleetopt.sweep.recommendation import IDLE_BUFFER
from fleetopt.sweep.rule import COST_COLUMN

# what the first column's marks mean
MARKS = (f"* Pareto front of {MEAN_NPV_LABEL}, {CVAR5_NPV_LABEL} and {BREACH_SHORT}; > recommended; "
         "! breaches or defaults on the forecast itself; = a cash buffer that never acted here: its plan's "
         "figures without the buffer")


# a cost sweep's marks: its front's figures
COST_MARKS = MARKS.replace(f"{MEAN_NPV_LABEL}, {CVAR5_NPV_LABEL} and {BREACH_SHORT}",
                           "mean and CVaR95 present cost and demand served")


def _mark(r) -> str:
    """A candidate's marks: recommended, on the front, breaching on the forecast, an idle buffer."""
    return (
        (">" if r["recommended"] else " ")
        + ("*" if r["on_front"] else " ")
        + (" " if r.get(FORECAST_OK, True) else FORECAST_MARK)
        # a cash buffer that never acted: the forecast optimum's row again, which read as a tie
        + ("=" if IDLE_BUFFER in str(r.get("note", "")) else " ")
    )


def cost_sweep_table(metrics, title: str) -> Table:
    """A sweep by cost's candidates: marks, mean and CVaR95 present cost, the share of demand served,
    P(shortfall), P(breach) and P(any default)."""
    table = Table(title=title)
    names = ("", "plan", "mean present cost", "CVaR95 cost", "demand served", "P(shortfall)", BREACH_SHORT,
             ANY_DEFAULT_LABEL)  # fmt: skip
    for name in names:
        table.add_column(name, justify="left" if name in ("", "plan") else "right")
    for _, r in metrics.iterrows():
        table.add_row(_mark(r), Text(str(r["plan"])), format_usd(r["present_cost_mean_usd"]),
                      format_usd(r["present_cost_cvar95_usd"]), format_percent(r["demand_served_share"]),
                      format_percent(r["shortfall_probability"]), format_percent(r["breach_probability"]),
                      format_percent(r["any_default_probability"]))  # fmt: skip
    table.caption = (
        f"{COST_MARKS}. {_buffer_kinds(metrics)}present cost: the fleet at the start and the quarters' costs "
        "less the value at the end, in each scenario; CVaR95 cost: the mean of the costliest 5 % of "
        f"scenarios; demand served: the mean share of market demand served; P(shortfall): a scenario "
        f"short of more than {SHORTFALL_SHARE:.0%} of its demand; {ANY_DEFAULT_LABEL}: a liquidity default "
        "or an uncured covenant breach"
    )
    table.columns[0].min_width = 4
    return unbroken(table, text_columns=2)


def sweep_table(metrics, title: str) -> Table:
    """A sweep's candidates: marks, forecast NPV, mean and CVaR5 NPV (and the shareholders' CVaR5 with
    limited liability where it differs), P(breach), P(liq. default) and P(any default), the lenders'
    count (where the metrics have it: a pick with --allow-riskier cut P(liq. default) while it rose).
    A sweep by cost's (its metrics with the present cost): :func:`cost_sweep_table`."""
    if COST_COLUMN in metrics:
        return cost_sweep_table(metrics, title)
    limited = limited_liability_differs(metrics, ("npv_limited_cvar5_usd",))
    either = "any_default_probability" in metrics
    table = Table(title=title)
    names = ("", "plan", "forecast NPV", MEAN_NPV_LABEL, CVAR5_NPV_LABEL,
             *(("CVaR5, limited",) if limited else ()), BREACH_SHORT, DEFAULT_SHORT,
             *((ANY_DEFAULT_LABEL,) if either else ()))  # fmt: skip
    for name in names:
        table.add_column(name, justify="left" if name in ("", "plan") else "right")
    for _, r in metrics.iterrows():
        table.add_row(
            _mark(r),
            Text(str(r["plan"])),
            format_usd(r["forecast_npv_usd"]),
            format_usd(r["npv_mean_usd"]),
            format_usd(r["npv_cvar5_usd"]),
            *((format_usd(r["npv_limited_cvar5_usd"]),) if limited else ()),
            format_percent(r["breach_probability"]),
            format_percent(r["default_probability"]),
            *((format_percent(r["any_default_probability"]),) if either else ()),
        )
    # the evaluate table defines CVaR5 in its caption, and so does this one (a walkthrough found it not);
    # the marks first, below the table (as its title, centred over it, they ran three ragged lines)
    table.caption = (
        f"{MARKS}. {_buffer_kinds(metrics)}{CVAR5_NPV_LABEL}: the mean NPV of the worst 5 % of scenarios"
        + (f"; CVaR5, limited: {LIMITED_MEANS}" if limited else "")
        + f"; {DEFAULT_SHORT}: a liquidity default"
        + (f"; {ANY_DEFAULT_LABEL}: it or an uncured covenant breach, either event of default as lenders "
           "count them" if either else "")
    )
    table.columns[0].min_width = 4  # the four marks, before the plan that gives way
    return unbroken(table, text_columns=2)


def _buffer_kinds(metrics) -> str:
    """What "cash buffer $X" and "planned with cash buffer $X" mean, where the table has either: the
    labels alone read as one plan run twice."""
    origins = set(metrics["origin"]) if "origin" in metrics else set()
    kinds = {"policy": f'"..., cash buffer $X": {RUN_WITH_BUFFER}. ',
             "planned": f'"..., planned with cash buffer $X": {PLANNED_WITH_BUFFER}. '}  # fmt: skip
    return "".join(words for origin, words in kinds.items() if origin in origins)


# a command quoted in a point (`fleetopt evaluate --plans RUN ...`): pasted whole, so never broken
_COMMAND = re.compile(r"`[^`]*`")
_JOINED = "\0"  # a command's spaces while its lines are made: no whitespace to textwrap, in no path


def bulleted_lines(points: list[str], width: int, bullet: str = "  - ") -> list[str]:
    """Each point a bulleted paragraph wrapped at ``width`` columns, its later lines under its first
    word (a point as one line ran to 600 characters, which a terminal broke mid-word at its edge);
    a `command` in backquotes is never broken: where it does not fit beside the words it has a line
    of its own, however long."""
    indent = " " * len(bullet)
    width = max(width, len(bullet) + 20)
    lines = []
    for point in points:
        joined = _COMMAND.sub(lambda command: command[0].replace(" ", _JOINED), point)
        lines += [line.replace(_JOINED, " ") for line in textwrap.wrap(
            joined, width, initial_indent=bullet, subsequent_indent=indent,
            break_long_words=False, break_on_hyphens=False)]  # fmt: skip
    return lines

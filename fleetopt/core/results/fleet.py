"""What a plan does to the fleet, in figures and words: GPUs bought, power built, and GPUs bought and retired
within a year."""

from __future__ import annotations

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.economics.operating import gpus_of_blocks_by_sku
from fleetopt.core.economics.statements import Statements
from fleetopt.core.plan import Plan
from fleetopt.core.results.covenant_words import covenants_met_without_room
from fleetopt.core.units import format_percent, listed

# GPUs retired this soon after their purchase were bought to be sold at resale: a planner is told
SOON_RETIRED_QUARTERS = 4


# cohorts named in that note; the rest counted
SOON_RETIRED_LISTED = 4


SOON_RETIRED_LABEL = "bought and retired within a year (sold at resale)"


def soon_retired(data: ModelData, plan: Plan, st: Statements | None = None) -> str | None:
    """The GPUs bought in the horizon and retired within :data:`SOON_RETIRED_QUARTERS` of their
    purchase, in words: "10,485 GPUs (1.4% of those bought): 6,869 of GB300@texas bought 2026Q3
    retired in 2026Q4; ...";
    None where none (half a GPU or less). Whole blocks bought where fewer GPUs are wanted, and a
    planner's fixed purchases that later ones leave no power for, are paid for and sold at resale
    this way: the solver's only room, which no status shows. With the plan's statements ``st``,
    each names the covenants met with no room while those GPUs were held ("held through 2027Q1,
    when EBITDA / debt service was met with no room"): a quarter of their revenue may be what meets
    a binding covenant, at the price of their loss on resale."""
    q, retire = data.quarter_labels, plan.retire
    tight = _met_without_room(data, st) if st is not None else [()] * data.T
    parts: list[tuple[float, str]] = []
    for co in (co for co in data.cohorts if co.is_purchase):
        window = retire[co.index, co.bought : co.bought + SOON_RETIRED_QUARTERS]
        name = f"{data.sku_names[co.sku]}@{data.sites[co.site].name} bought {q[co.bought]}"
        parts += [(window[d], f"{window[d]:,.0f} of {name} retired in {q[co.bought + d]}"
                   f"{_held_when_tight(q, tight, co.bought, co.bought + d)}")
                  for d in np.flatnonzero(window > 0.5)]  # fmt: skip
    if not parts:
        return None
    parts.sort(key=lambda part: -part[0])
    listed = [words for _, words in parts[:SOON_RETIRED_LISTED]]
    if len(parts) > SOON_RETIRED_LISTED:  # the GPUs, not the count of retirements ("1 more" read as one GPU)
        rest = parts[SOON_RETIRED_LISTED:]
        listed.append(f"{sum(n for n, _ in rest):,.0f} more in {len(rest)} other "
                      f"{'retirement' if len(rest) == 1 else 'retirements'}")  # fmt: skip
    total = sum(n for n, _ in parts)  # of GPUs bought, so gpus_bought > 0
    share = format_percent(total / gpus_bought(data, plan))
    return f"{total:,.0f} GPUs ({share} of those bought): " + "; ".join(listed)


def _held_when_tight(q: list[str], tight: list[tuple[str, ...]], bought: int, retired: int) -> str:
    """' (held through 2027Q1, when EBITDA / debt service was met with no room)': the covenants met
    with no room in the quarters GPUs bought in ``bought`` were held before their retirement at the
    start of ``retired``; '' where none."""
    quarters: dict[str, list[str]] = {}
    for t in range(bought, retired):
        for label in tight[t]:
            quarters.setdefault(label, []).append(q[t])
    if not quarters:
        return ""
    through = q[bought] if retired - bought == 1 else f"{q[bought]}..{q[retired - 1]}"
    if len(quarters) == 1 and (label := next(iter(quarters))) and len(quarters[label]) == retired - bought:
        return f" (held through {through}, when {label} was met with no room)"
    when = listed([f"{label} ({', '.join(qs)})" for label, qs in quarters.items()])
    verb = "was" if len(quarters) == 1 else "were"
    return f" (held through {through}, when {when} {verb} met with no room)"


def gpus_bought(data: ModelData, plan: Plan) -> float:
    """GPUs the plan buys over the horizon (its blocks times each SKU's block size)."""
    return float(gpus_of_blocks_by_sku(data, plan.buy_blocks).sum())


# a solve for NPV that buys nothing: why, and how a planner sees what a purchase would cost it
WHY_NOTHING_BOUGHT = (
    "at the forecast's prices, costs, power and financing no purchase raises the NPV; to see what "
    "one would cost, fix it with --purchases (docs/cli.md, \"Your own purchases\") and compare the two "
    "runs' NPV"
)


NOTHING_BOUGHT = f"none: {WHY_NOTHING_BOUGHT}"


def bought_nothing(data: ModelData, plan: Plan, objective_kind: str) -> bool:
    """Whether a solve for NPV buys no GPU: said (:data:`NOTHING_BOUGHT`), not left to a table of
    zeros. A cost solve buys what the demand needs, and says what it costs."""
    return objective_kind != "cost" and gpus_bought(data, plan) < 0.5


# what power_built_mw sums (power_built_mw_by_site by site), as the terminal, compare and the report name it
POWER_BUILT_LABEL = "power built (expansion blocks)"


def power_built_mw_by_site(data: ModelData, plan: Plan) -> list[float]:
    """MW of expansion blocks the plan builds over the horizon at each site, in the model's order."""
    return [float(plan.build_blocks[i].sum() * site.block_mw) for i, site in enumerate(data.sites)]


def power_built_mw(data: ModelData, plan: Plan) -> float:
    """MW of expansion blocks the plan builds over the horizon."""
    return sum(power_built_mw_by_site(data, plan))


def _met_without_room(data: ModelData, st: Statements) -> list[tuple[str, ...]]:
    """Per quarter, the labels of the covenants the statements meet with no room there
    (``covenant_words.covenants_met_without_room``)."""
    out: list[tuple[str, ...]] = [()] * data.T
    for test, at in covenants_met_without_room(data, st):
        label = "the borrowing base" if test.kind.facility_test else test.kind.label
        for t in np.flatnonzero(at):
            out[t] = (*out[t], label)
    return out

"""What `fleetopt evaluate` prints of a finished evaluation: its speed (:func:`run_speed`), its best
plans by the ranking (:func:`print_best`: over the scenarios, or on the forecast for a deterministic
one; with limited liability, the lenders at a default, the policy's reactions and the covenant
breaches) and the first plan's "In short" (:func:`in_short`).
"""

from __future__ import annotations

from rich.text import Text

from fleetopt.cli.consoles import console, err_console
from fleetopt.cli.render.evaluate import (
    debt_at_default_table,
    evaluation_table,
    first_breach_table,
    forecast_table,
    limited_liability_table,
    present_cost_table,
    reactions_table,
    when_it_breaks_table,
)
from fleetopt.core.covenants import tested_kinds
from fleetopt.core.data import ModelData
from fleetopt.core.results.headline import present_cost_shown
from fleetopt.core.results.risk_sentences import risk_in_short
from fleetopt.core.results.valuation import npv_words, present_cost_basis_words
from fleetopt.core.units import counted, format_duration, format_percent, format_rate
from fleetopt.evaluate.first_place import first_place_words
from fleetopt.evaluate.metrics import (
    COST_RANK_COLUMNS,
    FORECAST_MARK,
    REACTION_MEANS,
    SERVICE_MARK,
    TIE_BREAKS,
    best_plan_label,
    demand_in_short,
    marked_last_words,
    rank_words,
    shown_plans,
)

# what the ranking line says of --rank-by cost where it was not given: not the CVaR5 NPV of other plans
COST_BY_DEFAULT = " (the default for plans solved for least cost)"


def run_speed(result) -> str:
    """'3 plans x 1,000 scenarios on numpy, CPU (2 threads), in 1.20 s: 2.1e+04 plan-scenario-quarters/s'
    (its device's words carry their own brackets: 'numpy (CPU (2 threads))' read badly); a
    resumed run counts only what it computed now."""
    plans, scenarios = counted(result.n_plans, "plan"), counted(result.n_scenarios, "scenario")
    line = f"{plans} x {scenarios} on {result.backend}, {result.device}, in {format_duration(result.seconds)}"
    if result.pairs_stored and not result.pairs_computed:  # no rate: nothing computed
        return f"{line}: every plan-scenario pair was saved earlier, none computed now"
    if result.pairs_stored:
        pairs = result.n_plans * result.n_scenarios
        line += f" ({result.pairs_computed:,} of {pairs:,} plan-scenario pairs now; the rest saved earlier)"
    return f"{line}: {result.pair_quarters_per_second:,.3g} plan-scenario-quarters/s"


def print_best(result, ranking: dict, top: int, data: ModelData, cost: bool = False,
                lead_se: float | None = None, by_default: bool = False) -> None:
    """The best ``top`` plans by ``ranking`` (``shown_plans``'): figures, reactions, breaches; ``cost``:
    plans solved for least cost, whose "In short" says the demand they serve, as their report does;
    ``lead_se``: the paired standard error of the first plan's lead over the second, whose "In
    short" says how sure the first place is (:func:`first_place_words`; None: nothing said);
    ``by_default``: the ranking is --rank-by's default, not given (said of a ranking by cost)."""
    ranked, met = shown_plans(result.metrics, ranking)  # none met the limit: every plan, as the report
    if not met:
        _say_none_met(result, ranking["max_breach_prob"])
    last = marked_last_words(ranked)  # of the whole ranking: a plan it put last may be below the top
    shown = f", the first {top:,} of {len(ranked):,} (--top)" if len(ranked) > top else ""
    several = len(ranked) > 1  # a ranking, even where --top shows one
    everyone, ranked = ranked, ranked.head(top)
    by_cost = ranking["rank_by"] in COST_RANK_COLUMNS  # the ranking line heads the present cost's table
    default = COST_BY_DEFAULT if by_default and by_cost else ""
    title = f"best plans by {rank_words(ranking['rank_by'], result.seed is None)}{default}"
    floor = ranking.get("min_service")
    if floor is not None:  # plans below it come after those that keep it, marked
        title += f", those serving less than {format_rate(floor)} of the demand ({SERVICE_MARK}) last"
    if cost:  # what a lab's plans cost, first
        _print_present_cost(result, ranked, data, f"{title}{shown}" if by_cost and several else "", floor)
    if result.seed is None:  # deterministic: one scenario, the forecast
        _print_on_the_forecast(ranked, ranking["rank_by"], data, last, several)
        # no risk to say over one future: what the service floor passed over, or what the first gives up
        said = first_place_words(everyone, ranking["rank_by"], 1, None, floor, on_forecast=True).strip()
        if said:
            console.print(said, soft_wrap=True, highlight=False)
        return
    last = f" ({FORECAST_MARK} last)" if last else ""
    title = "the same plans' NPV, imputed" if by_cost else f"{title}{shown}"
    title = f"{title}{last}" if several else "the plan over the scenarios"
    console.print(evaluation_table(ranked, f"{title} ({npv_words(data.discount_rate_annual)})"))
    _print_risk_tables(ranked, data)
    # last, where a terminal leaves the reader: the first plan's value and risk, as its report opens
    console.print(in_short(result, everyone, ranking["rank_by"], cost, lead_se, floor))


def _print_present_cost(result, ranked, data: ModelData, ranking_line: str = "",
                        min_service: float | None = None) -> None:  # fmt: skip
    """The present cost of the plans shown (``ranked``), solved for least cost: over the scenarios, or
    on the forecast of a deterministic evaluation, headed by ``ranking_line`` where they are ranked by
    it ('best plans by mean present cost'), those below the service floor ``min_service`` marked;
    nothing where the metrics have none."""
    if ranked.empty or not present_cost_shown(ranked.iloc[0]):
        return
    one = result.seed is None
    over = f" over {counted(result.n_scenarios, 'scenario')}" if not one else (
        "" if ranking_line else " on the forecast")  # the ranking line says it: 'present cost on the ...'
    basis = present_cost_basis_words(data.discount_rate_annual)
    whose = "the plan costs" if len(ranked) == 1 else "the plans cost"
    what = f"{ranking_line}: what they cost" if ranking_line else f"what {whose}"
    console.print(present_cost_table(ranked, f"{what}{over} ({basis})", one, min_service))


def _say_none_met(result, limit: float) -> None:
    """No plan within --max-breach-prob ``limit``: said, with the lowest, as every plan is ranked."""
    lowest = result.metrics["breach_probability"].min()
    err_console.print(  # the limit as a percent, as the lowest is: not "at or below 0.5 ... 52.0%"
        f"no plan has a breach probability at or below {format_percent(limit)} "
        f"(--max-breach-prob {limit:g}): the lowest is {format_percent(lowest)}; every plan is ranked",
        soft_wrap=True,
    )


def _print_on_the_forecast(ranked, rank_by: str, data: ModelData, last: bool, several: bool) -> None:
    """A deterministic evaluation's plans (``ranked``, those shown) on the forecast, its one scenario;
    ``last``: the ranking puts breaches and defaults last; ``several``: more than one plan ranked."""
    first = "; breaches and defaults last" if last else ""
    by = f" by {rank_words(rank_by)}" if rank_by in TIE_BREAKS and several else ""
    npv = npv_words(data.discount_rate_annual)
    title = f"plans on the forecast{by} (deterministic evaluation{first}; {npv})"
    console.print(forecast_table(ranked, title, data.quarter_labels, data.covenant_kinds))


def _print_risk_tables(ranked, data: ModelData) -> None:
    """The plans shown (``ranked``) over the scenarios beyond their NPV: limited liability, the
    lenders at a default, the policy's reactions and the covenant breaches (each table that has rows)."""
    limited = limited_liability_table(ranked, "with limited liability: the shareholders' NPV")
    lenders = debt_at_default_table(ranked, "the lenders at a liquidity default (USD of its quarter)")
    title = "the lenders at an uncured covenant breach, had they accelerated (USD of its quarter)"
    accelerated = debt_at_default_table(ranked, title, uncured=True)
    for table in (limited, lenders, accelerated):
        if table is not None:
            console.print(table)
    title = f"what the policy had to do (shares of scenarios; the USD columns: {REACTION_MEANS})"
    console.print(reactions_table(ranked, title, bool(data.contracts)))
    tested = tested_kinds(data.covenants)
    breaches = first_breach_table(ranked, "which covenant breaks first (share of scenarios)", tested,
                                  data.cash_covering_debt_cures)
    when_title = "when it breaks: the median quarter among the scenarios that break (their share of all)"
    when = when_it_breaks_table(ranked, when_title, data.quarter_labels)
    for table in (breaches, when):
        if table is not None:
            console.print(table)


def in_short(result, ranked, rank_by: str, cost: bool, lead_se: float | None,
             min_service: float | None = None) -> Text:  # fmt: skip
    """The "In short" of the first plan of ``ranked`` (every plan ranked): its value and risk,
    the demand it serves (``cost``: plans solved for least cost) and how sure its first place is
    (with the service floor ``min_service``, where one was given)."""
    first = ranked.iloc[0]
    label = best_plan_label(first["plan"], rank_by, len(ranked) > 1)
    served = demand_in_short(result.n_scenarios, first) if cost else None
    said = " ".join(risk_in_short(label, result.n_scenarios, first, served=served, quarters=result.quarters))
    said += first_place_words(ranked, rank_by, result.n_scenarios, lead_se, min_service)
    return Text(f"In short: {said}", style="bold")

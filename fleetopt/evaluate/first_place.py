"""How sure an evaluation's first place is (its plans ranked by ``--rank-by``,
:func:`~fleetopt.evaluate.metrics.ranked_plans`): the first plan's :class:`~fleetopt.evaluate.lead.Lead`
over the second, in the words a sweep says of its pick (:func:`~fleetopt.evaluate.lead.lead_sentence`)."""

from __future__ import annotations

import math

import pandas as pd

from fleetopt.core.units import format_figure, format_rate, format_usd, quoted, shares_apart
from fleetopt.evaluate.lead import SETTLE_MOST, Lead, lead_sentence
from fleetopt.evaluate.metrics import (
    COST_RANK_COLUMNS,
    DEFAULT_RANK,
    EVALUATION_RANK_COLUMNS,
    FORECAST_MARK_MEANS,
    RANK_WORDS,
    SERVICE_COLUMN,
    TIE_BREAKS,
    below_floor,
    first_by_the_forecast,
    lead_error_key,
    rank_figure_words,
    rank_lead,
    ranked_plans,
    service_floor_of,
    shown_plans,
)

# how far (a share of demand) the first plan by cost must serve below a plan after it for its "In short"
# to say what it gave up, where no --min-service is given: a point, not round-off between near-equal plans
SERVICE_GIVEN_UP = 0.01


def evaluation_tie(rank_by: str) -> str:
    """How an evaluation's ranking (metrics.ranked_plans) breaks a tie on ``rank_by``'s figure: it sorts
    by the figure itself, so a tie within round-off may go either way; exactly equal figures by its
    :data:`TIE_BREAKS` figure where it has one, else in the plans' order."""
    tie = TIE_BREAKS.get(rank_by)
    order = f"by {RANK_WORDS[tie]}, higher first" if tie else "in the plans' order"
    return f"the two are not told apart (exactly equal figures are ranked {order})"


def first_place_words(ranked: pd.DataFrame, rank_by: str, n: int, se: float | None,
                      min_service: float | None = None, on_forecast: bool = False) -> str:  # fmt: skip
    """How sure an evaluation's first place is, its plans ``ranked`` best first by ``rank_by``
    (:func:`~fleetopt.evaluate.metrics.ranked_plans`) over ``n`` scenarios: :func:`lead_sentence`
    of the first plan's lead over the second on that figure, ``se`` the lead's paired standard
    error (:meth:`~fleetopt.evaluate.result.EvaluationResult.first_place_error`; NaN: none known).
    '' with one plan ranked. A first plan that keeps its limits on the forecast ranked ahead of one
    that does not leads by the ranking's rule, whatever the figures: said so; one that keeps the
    service floor ``min_service`` (--min-service) ahead of one below it too. Then, by a present cost,
    what the service means for the first place (:func:`service_words`), which alone is said with ``se``
    None (nothing measured: a deterministic evaluation, ``on_forecast``, or one written before it was)."""
    none = _none_serves(ranked, min_service)
    if len(ranked) < 2:
        return none
    if se is None:
        return none + service_words(ranked, rank_by, min_service, on_forecast)
    first, second = ranked.iloc[0], ranked.iloc[1]
    whom = f"the second plan, {quoted(second['plan'])}"
    if first_by_the_forecast(ranked):
        return (f" It is the only plan ranked that keeps its limits on the forecast: {whom}, and any after "
                f"it, come after it whatever their figures, as each {FORECAST_MARK_MEANS}.")  # fmt: skip
    service = service_words(ranked, rank_by, min_service)
    if first_by_the_floor(ranked, min_service):
        return (f" It is the only plan ranked that serves at least {format_rate(min_service)} of the demand "
                f"(--min-service): {whom}, and any after it, come after it whatever their figures."
                f"{service}")  # fmt: skip
    column = EVALUATION_RANK_COLUMNS[rank_by]
    lead = Lead(str(second["plan"]), rank_lead(rank_by, float(first[column]), float(second[column])), se)
    tie = (whom, evaluation_tie(rank_by))
    return none + lead_sentence(lead, rank_by, n, float(first[column]), tie, _evaluate_again) + service


def _none_serves(ranked: pd.DataFrame, min_service: float | None) -> str:
    """' No plan ranked serves at least 95.0% of the demand (--min-service): the most any serves is 90.1%
    (“A”), so the floor puts none ahead of another.' where every plan of ``ranked`` is below the floor
    (each then marked below it, and the first otherwise read as one that keeps it); else ''."""
    if min_service is None or SERVICE_COLUMN not in ranked or not below_floor(ranked, min_service).all():
        return ""
    most = ranked.loc[ranked[SERVICE_COLUMN].idxmax()]
    served, floor = shares_apart(float(most[SERVICE_COLUMN]), min_service)
    return (f" No plan ranked serves at least {floor} of the demand (--min-service): the most any serves is "
            f"{served} ({quoted(most['plan'])}), so the floor puts none ahead of another.")  # fmt: skip


def first_by_the_floor(ranked: pd.DataFrame, min_service: float | None) -> bool:
    """Whether the first of ``ranked`` serves at least ``min_service`` of the demand and the second does
    not: the ranking puts it first by that floor, whatever the figures (the counterpart of
    :func:`~fleetopt.evaluate.metrics.first_by_the_forecast`)."""
    below = below_floor(ranked, min_service).tolist()
    return min_service is not None and len(below) > 1 and not below[0] and below[1]


def service_words(ranked: pd.DataFrame, rank_by: str, min_service: float | None,
                  on_forecast: bool = False) -> str:  # fmt: skip
    """By a present cost, what the first of ``ranked`` is first for, in the service of demand: the cheaper
    plan a floor (``min_service``) passed over and why; with none, the demand the first plan gives up
    against a plan after it and the floor that ranks the two ('' where neither: an NPV ranking,
    plans with no share served); ``on_forecast``: the cost is the forecast's, a deterministic evaluation's."""
    if rank_by not in COST_RANK_COLUMNS or SERVICE_COLUMN not in ranked:
        return ""
    figure = rank_figure_words(rank_by, on_forecast)
    if min_service is not None:
        return _passed_over(ranked, rank_by, min_service, figure)
    return _service_given_up(ranked, rank_by, figure)


def _passed_over(ranked: pd.DataFrame, rank_by: str, min_service: float, figure: str) -> str:
    """' “A” costs $X less (mean present cost: ``figure``) but serves 70.9% of the demand, below the floor
    of 90.0%.' (the share and the floor at one precision that tells them apart) where ``ranked``'s first
    plan without the floor is another, below it; else ''."""
    first, cheapest = ranked.iloc[0], ranked_plans(ranked, rank_by).iloc[0]
    if cheapest["plan"] == first["plan"] or not below_floor(ranked.loc[[cheapest.name]], min_service).iloc[0]:
        return ""
    column = EVALUATION_RANK_COLUMNS[rank_by]
    saving = format_usd(float(first[column]) - float(cheapest[column]))
    served, floor = shares_apart(float(cheapest[SERVICE_COLUMN]), min_service)
    return (f" {quoted(cheapest['plan'])} costs {saving} less ({figure}) but serves {served} "
            f"of the demand, below the floor of {floor} (--min-service).")  # fmt: skip


def _service_given_up(ranked: pd.DataFrame, rank_by: str, figure: str) -> str:
    """' “B”, $12.0M dearer (mean present cost), serves 88.7% of the demand against its 70.9%: --min-service
    0.88 ranks ...' where a plan after ``ranked``'s first serves more than :data:`SERVICE_GIVEN_UP` more
    (the first such); else ''."""
    served = ranked[SERVICE_COLUMN].astype(float)
    more = ranked[served > served.iloc[0] + SERVICE_GIVEN_UP]
    if more.empty:
        return ""
    first, other = ranked.iloc[0], more.iloc[0]
    column = EVALUATION_RANK_COLUMNS[rank_by]
    dearer = format_usd(float(other[column]) - float(first[column]))
    # what the other plan serves in whole points, down (rounded first: 0.29 x 100 is 28.999999999999996)
    floor = math.floor(round(float(other[SERVICE_COLUMN]) * 100, 9)) / 100
    return (f" {quoted(other['plan'])}, {dearer} dearer ({figure}), serves "
            f"{format_figure(float(other[SERVICE_COLUMN]), 'share')} of the demand against its "
            f"{format_figure(served.iloc[0], 'share')}: --min-service {floor:g} ranks by cost among plans "
            f"serving at least {format_rate(floor)}.")  # fmt: skip


def _evaluate_again(need: int) -> str:
    """An evaluation's next step where its first place is within noise ('' past :data:`SETTLE_MOST`)."""
    if need > SETTLE_MOST:
        return ""
    return f"; evaluate again with --scenarios {need} and another --seed to measure the plans on that many"


def first_place_in_short(summary: dict, metrics: pd.DataFrame | None) -> str:
    """:func:`first_place_words` of a finished evaluation's summary.json and metrics ('' where it
    kept no ranking, or one plan ranked; its service words alone where it kept no lead: written before
    it did, deterministic): its report's "In short" says how sure its first plan is, as its terminal does."""
    ranking = summary.get("ranking") if isinstance(summary.get("ranking"), dict) else {}
    rank_by = ranking.get("rank_by", DEFAULT_RANK)
    if metrics is None or not ranking:
        return ""
    key = lead_error_key(rank_by)  # kept as null: none known (NaN); not kept: nothing measured (None)
    se = None if key not in ranking else math.nan if ranking[key] is None else float(ranking[key])
    ranked = shown_plans(metrics, ranking)[0]
    words = first_place_words(ranked, rank_by, summary["n_scenarios"], se, service_floor_of(ranking),
                              bool(summary.get("deterministic")))  # fmt: skip
    return words.strip()

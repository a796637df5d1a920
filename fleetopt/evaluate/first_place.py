"""How sure an evaluation's first place is (its plans ranked by ``--rank-by``,
:func:`~fleetopt.evaluate.metrics.ranked_plans`): the first plan's :class:`~fleetopt.evaluate.lead.Lead`
over the second, in the words a sweep says of its pick (:func:`~fleetopt.evaluate.lead.lead_sentence`)."""

from __future__ import annotations

import math

import pandas as pd

from fleetopt.core.units import quoted
from fleetopt.evaluate.lead import SETTLE_MOST, Lead, lead_sentence
from fleetopt.evaluate.metrics import (
    DEFAULT_RANK,
    EVALUATION_RANK_COLUMNS,
    FORECAST_MARK_MEANS,
    RANK_WORDS,
    TIE_BREAKS,
    first_by_the_forecast,
    lead_error_key,
    rank_lead,
    shown_plans,
)


def evaluation_tie(rank_by: str) -> str:
    """How an evaluation's ranking (metrics.ranked_plans) breaks a tie on ``rank_by``'s figure: it sorts
    by the figure itself, so a tie within round-off may go either way; exactly equal figures by its
    :data:`TIE_BREAKS` figure where it has one, else in the plans' order."""
    tie = TIE_BREAKS.get(rank_by)
    order = f"by {RANK_WORDS[tie]}, higher first" if tie else "in the plans' order"
    return f"the two are not told apart (exactly equal figures are ranked {order})"


def first_place_words(ranked: pd.DataFrame, rank_by: str, n: int, se: float | None) -> str:
    """How sure an evaluation's first place is, its plans ``ranked`` best first by ``rank_by``
    (:func:`~fleetopt.evaluate.metrics.ranked_plans`) over ``n`` scenarios: :func:`lead_sentence`
    of the first plan's lead over the second on that figure, ``se`` the lead's paired standard
    error (:meth:`~fleetopt.evaluate.result.EvaluationResult.first_place_error`; NaN: none known).
    '' with one plan ranked, or ``se`` None (nothing measured: a deterministic evaluation, or one
    written before it was). A first plan that keeps its limits on the forecast ranked ahead of one
    that does not leads by the ranking's rule, whatever the figures: said so."""
    if se is None or len(ranked) < 2:
        return ""
    first, second = ranked.iloc[0], ranked.iloc[1]
    whom = f"the second plan, {quoted(second['plan'])}"
    if first_by_the_forecast(ranked):
        return (f" It is the only plan ranked that keeps its limits on the forecast: {whom}, and any after "
                f"it, come after it whatever their figures, as each {FORECAST_MARK_MEANS}.")  # fmt: skip
    column = EVALUATION_RANK_COLUMNS[rank_by]
    lead = Lead(str(second["plan"]), rank_lead(rank_by, float(first[column]), float(second[column])), se)
    tie = (whom, evaluation_tie(rank_by))
    return lead_sentence(lead, rank_by, n, float(first[column]), tie, _evaluate_again)


def _evaluate_again(need: int) -> str:
    """An evaluation's next step where its first place is within noise ('' past :data:`SETTLE_MOST`)."""
    if need > SETTLE_MOST:
        return ""
    return f"; evaluate again with --scenarios {need} and another --seed to measure the plans on that many"


def first_place_in_short(summary: dict, metrics: pd.DataFrame | None) -> str:
    """:func:`first_place_words` of a finished evaluation's summary.json and metrics ('' where it
    kept no ranking, or no lead: written before it did, deterministic, one plan ranked): its report's
    "In short" says how sure its first plan is, as its terminal does."""
    ranking = summary.get("ranking") if isinstance(summary.get("ranking"), dict) else {}
    rank_by = ranking.get("rank_by", DEFAULT_RANK)
    if metrics is None or lead_error_key(rank_by) not in ranking:
        return ""
    se = ranking[lead_error_key(rank_by)]
    ranked = shown_plans(metrics, ranking)[0]
    words = first_place_words(ranked, rank_by, summary["n_scenarios"],
                              math.nan if se is None else float(se))  # fmt: skip
    return words.strip()

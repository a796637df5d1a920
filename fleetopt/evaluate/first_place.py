"""How sure an evaluation's first place is (its plans ranked by ``--rank-by``,
:func:`~fleetopt.evaluate.metrics.ranked_plans`): the first plan's :class:`~fleetopt.evaluate.lead.Lead`
over the second, in the words a sweep says of its pick (:func:`~fleetopt.evaluate.lead.lead_sentence`)."""

from __future__ import annotations

import math

import pandas as pd

from fleetopt.evaluate.lead import SETTLE_MOST, Lead, lead_sentence, paired_lead_error
from fleetopt.evaluate.metrics import (
    DEFAULT_RANK,
    FORECAST_MARK_MEANS,
    FORECAST_OK,
    RANK_COLUMNS,
    paired_npv_error,
    shown_plans,
)

# how an evaluation's ranking (metrics.ranked_plans) breaks a tie: it sorts by the figure itself, so a
# tie within round-off may go either way
EVALUATION_TIE = "the two are not told apart (exactly equal figures are ranked in the plans' order)"


def first_place_words(ranked: pd.DataFrame, rank_by: str, n: int, se_usd: float | None) -> str:
    """How sure an evaluation's first place is, its plans ``ranked`` best first by ``rank_by``
    (:func:`~fleetopt.evaluate.metrics.ranked_plans`) over ``n`` scenarios: :func:`lead_sentence`
    of the first plan's lead over the second on that figure, ``se_usd`` the lead's paired standard
    error (:func:`first_place_error`; NaN: none known). '' with one plan ranked, or ``se_usd`` None
    (nothing measured: a deterministic evaluation, or one written before it was). A first plan that
    keeps its limits on the forecast ranked ahead of one that does not leads by the ranking's rule,
    whatever the figures: said so."""
    if se_usd is None or len(ranked) < 2:
        return ""
    first, second = ranked.iloc[0], ranked.iloc[1]
    whom = f"the second plan, \u201c{second['plan']}\u201d"
    if _first_by_the_forecast(ranked):
        return (f" It is the only plan ranked that keeps its limits on the forecast: {whom}, and any after "
                f"it, come after it whatever their figures, as each {FORECAST_MARK_MEANS}.")  # fmt: skip
    column = RANK_COLUMNS[rank_by]
    lead = Lead(str(second["plan"]), float(first[column] - second[column]), se_usd)
    return lead_sentence(lead, rank_by, n, float(first[column]), (whom, EVALUATION_TIE), _evaluate_again)


def _first_by_the_forecast(ranked: pd.DataFrame) -> bool:
    """Whether the first of ``ranked`` keeps its limits on its own forecast and the second does not:
    the ranking puts it first by that rule (:func:`~fleetopt.evaluate.metrics.ranked_plans`)."""
    kept = ranked[FORECAST_OK].astype(bool).tolist() if FORECAST_OK in ranked else []
    return len(kept) > 1 and kept[0] and not kept[1]


def _evaluate_again(need: int) -> str:
    """An evaluation's next step where its first place is within noise ('' past :data:`SETTLE_MOST`)."""
    if need > SETTLE_MOST:
        return ""
    return f"; evaluate again with --scenarios {need} and another --seed to measure the plans on that many"


def first_place_error(data, batch, result, ranked: pd.DataFrame, rank_by: str,
                      max_memory=None) -> float | None:
    """The paired standard error of an evaluation's first plan's lead over the second on the ranking's
    figure (``rank_by``; ``ranked``: its plans best first, rows by their place in ``batch``, the
    plans evaluated, and ``result``, the evaluation): from its NPV matrix where it kept one, else
    from the two evaluated again alone on the same scenarios (:func:`paired_lead_error`, as a
    sweep's pick). None where there is nothing to measure (a deterministic evaluation, one plan
    ranked); NaN where the ranking puts the first ahead by its forecast, not by the figure."""
    if result.seed is None or len(ranked) < 2:
        return None
    if _first_by_the_forecast(ranked):
        return math.nan
    rows, column = [int(row) for row in ranked.index[:2]], RANK_COLUMNS[rank_by]
    if result.npv_matrix is not None:
        npv = result.npv_matrix[rows]
        return paired_npv_error(column, npv[1], npv[0])
    scenarios = (result.n_scenarios, result.seed, result.backend)
    return paired_lead_error(data, batch.take(rows), column, scenarios, max_memory)


def first_place_in_short(summary: dict, metrics: pd.DataFrame | None) -> str:
    """:func:`first_place_words` of a finished evaluation's summary.json and metrics ('' where it
    kept no ranking, or no lead: written before it did, deterministic, one plan ranked): its report's
    "In short" says how sure its first plan is, as its terminal does."""
    ranking = summary.get("ranking")
    if metrics is None or not isinstance(ranking, dict) or "lead_se_usd" not in ranking:
        return ""
    se = ranking["lead_se_usd"]
    ranked = shown_plans(metrics, ranking)[0]
    words = first_place_words(ranked, ranking.get("rank_by", DEFAULT_RANK), summary["n_scenarios"],
                              math.nan if se is None else float(se))  # fmt: skip
    return words.strip()

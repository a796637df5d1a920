"""How sure an evaluation's first place is (its plans ranked by ``--rank-by``,
:func:`~fleetopt.evaluate.metrics.ranked_plans`): the first plan's :class:`~fleetopt.evaluate.lead.Lead`
over the second, in the words a sweep says of its pick (:func:`~fleetopt.evaluate.lead.lead_sentence`)."""

from __future__ import annotations

import math

import pandas as pd

from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.lead import SETTLE_MOST, Lead, lead_sentence, paired_lead_error
from fleetopt.evaluate.metrics import (
    ANY_DEFAULT_EVENTS,
    DEFAULT_RANK,
    EVALUATION_RANK_COLUMNS,
    FORECAST_MARK_MEANS,
    FORECAST_OK,
    LOWER_RANK_COLUMNS,
    RANK_WORDS,
    TIE_BREAKS,
    either_happened,
    lead_error_key,
    paired_error,
    paired_npv_error,
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
    error (:func:`first_place_error`; NaN: none known). '' with one plan ranked, or ``se`` None
    (nothing measured: a deterministic evaluation, or one written before it was). A first plan that
    keeps its limits on the forecast ranked ahead of one that does not leads by the ranking's rule,
    whatever the figures: said so."""
    if se is None or len(ranked) < 2:
        return ""
    first, second = ranked.iloc[0], ranked.iloc[1]
    whom = f"the second plan, \u201c{second['plan']}\u201d"
    if _first_by_the_forecast(ranked):
        return (f" It is the only plan ranked that keeps its limits on the forecast: {whom}, and any after "
                f"it, come after it whatever their figures, as each {FORECAST_MARK_MEANS}.")  # fmt: skip
    column = EVALUATION_RANK_COLUMNS[rank_by]
    lead = Lead(str(second["plan"]), rank_lead(rank_by, float(first[column]), float(second[column])), se)
    tie = (whom, evaluation_tie(rank_by))
    return lead_sentence(lead, rank_by, n, float(first[column]), tie, _evaluate_again)


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
    sweep's pick; P(any default): always, as it keeps no scenario's defaults). None where there is
    nothing to measure (a deterministic evaluation, one plan ranked); NaN where the ranking puts the
    first ahead by its forecast, not by the figure."""
    if result.seed is None or len(ranked) < 2:
        return None
    if _first_by_the_forecast(ranked):
        return math.nan
    rows, column = [int(row) for row in ranked.index[:2]], EVALUATION_RANK_COLUMNS[rank_by]
    scenarios = (result.n_scenarios, result.seed, result.backend)
    if rank_by in LOWER_RANK_COLUMNS:  # P(any default): of the two plans' defaults, scenario by scenario
        return _paired_default_error(data, batch.take(rows), scenarios, max_memory)
    if result.npv_matrix is not None:
        npv = result.npv_matrix[rows]
        return paired_npv_error(column, npv[1], npv[0])
    return paired_lead_error(data, batch.take(rows), column, scenarios, max_memory)


def _paired_default_error(data, both, scenarios: tuple[int, int, str], max_memory=None) -> float:
    """The standard error of the second plan's P(any default) less the first's (``both``, a batch of
    the two) on the same scenarios (their count, seed and the backend): the two evaluated again,
    alone, keeping each scenario's defaults, as `fleetopt compare`'s paired error of it."""
    n, seed, backend = scenarios
    result = evaluate(data, both, n, seed, backend=backend, max_memory=max_memory, keep_outcomes=True)
    defaulted = either_happened(result.outcomes, ANY_DEFAULT_EVENTS).astype(float)
    return paired_error(defaulted[1] - defaulted[0])


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

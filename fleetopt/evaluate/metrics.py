"""Risk metrics of each plan over its scenarios (the tail, P5 and CVaR5: :mod:`fleetopt.core.tail`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from fleetopt.core.covenants import CATALOGUE, kind_bit
from fleetopt.core.metric_columns import (
    ANY_DEFAULT_LABEL,
    BREACH_LABEL,
    CVAR5_NPV_LABEL,
    DEFAULT_LABEL,
    MEAN_NPV_LABEL,
    P5_NPV_LABEL,
    SHORTFALL_SHARE,
    UNCURED_LABEL,
    first_breach_column,
)
from fleetopt.core.results.headline import CVAR95_COST_LABEL, MEAN_COST_LABEL
from fleetopt.core.tail import TAIL, cvar_of_worst, standard_error, tail_count, worst_k
from fleetopt.core.units import counted, format_figure, format_rate, quoted
from fleetopt.evaluate.result_fields import BASE_PREPAY_FIELDS, DEBT_AT_DEFAULT, DEBT_AT_UNCURED


def demand_in_short(n: int, row) -> str | None:
    """The demand a lab's plan (solved for least cost) serves over ``n`` scenarios, in a sentence of
    the "In short" of `fleetopt evaluate` and of its report, from its metrics ``row`` (metrics.csv's
    names; a mapping); None where the row has no such figure (a model without market demand, a run
    before 0.4.3)."""
    served = row.get("demand_served_share")
    if served is None or not math.isfinite(float(served)):
        return None
    short = format_figure(float(row["shortfall_probability"]), "share")
    return (f"It serves {format_figure(float(served), 'share')} of the demand on average over "
            f"{counted(n, 'future')}, as bought; more than {SHORTFALL_SHARE:.0%} of it goes unserved "
            f"in {short} of them.")  # fmt: skip


# the mean NPV over the futures with no liquidity default (npv_mean_no_default_usd), as a table heads it:
# "no default" alone read as no default of either kind, which P(any default) counts
MEAN_NO_DEFAULT_HEADER = "mean NPV, no liq. default"

# the figures a notebook shows first of each plan (key_figures_frame), by their headers, with units
FORECAST_EVENT = "yes or no"  # an event of the one scenario, the forecast: happened or not
KEY_FIGURES = {
    # a plan solved for least cost's figure first (its columns only where the plans were: a lab's)
    "present_cost_mean_usd": (MEAN_COST_LABEL, "USD"),
    "present_cost_mean_se_usd": (f"s.e. of {MEAN_COST_LABEL}", "USD"),
    "present_cost_cvar95_usd": (CVAR95_COST_LABEL, "USD"),
    "npv_mean_usd": (MEAN_NPV_LABEL, "USD"),
    "npv_mean_se_usd": ("s.e. of mean NPV", "USD"),  # its standard error, as the terminal's "s.e."
    "npv_cvar5_usd": (CVAR5_NPV_LABEL, "USD"),
    "loss_probability": ("P(NPV < 0)", "share"),
    "breach_probability": (BREACH_LABEL, "share"),
    "uncured_breach_probability": (UNCURED_LABEL, "share"),
    "default_probability": (DEFAULT_LABEL, "share"),
    "any_default_probability": (ANY_DEFAULT_LABEL, "share"),
}
# those of an evaluation on the forecast alone: the plan's own NPV, lowest cash and utilisation and each
# event a yes or no, then the policy's reactions (FORECAST_REACTIONS), as the terminal's table of it (no
# mean, tail or probability over one scenario)
FORECAST_KEY_FIGURES = {
    "npv_mean_usd": ("NPV on the forecast", "USD"),
    "expected_min_cash_usd": ("lowest cash", "USD"),
    "mean_utilisation": ("utilisation", "share"),
    "breach_probability": ("covenant breach", FORECAST_EVENT),
    "uncured_breach_probability": ("uncured breach", FORECAST_EVENT),
    "default_probability": ("liquidity default", FORECAST_EVENT),
    "any_default_probability": ("any default", FORECAST_EVENT),
}


FORECAST_REACTIONS = "policy reactions"  # what the policy did on the forecast, as the terminal names it


def key_figures_frame(metrics: pd.DataFrame, forecast: bool = False) -> pd.DataFrame:
    """Each plan's :data:`KEY_FIGURES` as the terminal writes them, each cell with its unit ($13.53B,
    29.9%), a column each under its header, the plan's name marked as the terminal marks it (a sweep's
    pick "(recommended)", one that breaks a limit on its own forecast): what a notebook shows of an
    evaluation or a sweep; the whole figures stay in ``.metrics``. ``forecast``: of the forecast
    alone, its :data:`FORECAST_KEY_FIGURES`. Columns an older run lacks are left out."""
    # the plans by their index where a notebook made it of them (metrics.set_index("plan"))
    plans = metrics["plan"] if "plan" in metrics else metrics.index.to_series()
    shown = pd.DataFrame({"plan": plans.astype(str)})
    if "recommended" in metrics:  # a sweep's
        shown["plan"] += np.where(metrics["recommended"].astype(bool), " (recommended)", "")
    if FORECAST_OK in metrics:  # the terminal's and the report's "!", in words
        marked = f" ({FORECAST_MARK} {FORECAST_MARK_MEANS})"
        shown["plan"] += np.where(metrics[FORECAST_OK].astype(bool), "", marked)
    for column, (header, unit) in (FORECAST_KEY_FIGURES if forecast else KEY_FIGURES).items():
        if column in metrics:
            shown[header] = [event_words(v) if unit == FORECAST_EVENT else format_figure(float(v), unit)
                             for v in metrics[column]]  # fmt: skip
    if forecast:
        shown[FORECAST_REACTIONS] = [reactions_taken(row) for _, row in metrics.iterrows()]
    return shown


def event_words(share) -> str:
    """An event of a deterministic evaluation's one scenario (its share, 0 or 1) as "yes" or "no";
    "n/a" where the figure is missing (NaN)."""
    return "n/a" if not math.isfinite(float(share)) else ("yes" if float(share) > 0 else "no")


# the policy's reactions as tables and the report name them, in the order they show them
REACTION_LABELS = {
    "rescheduled_share": "contract late",
    "cancelled_share": "contract cancelled",
    "freed_share": "freed GPUs to market",
    "deferred_share": "order deferred",
    "order_cancelled_share": "order cancelled",
    "sold_share": "distress sale",
    "prepayment_cut_share": "prepayment cut",
}
# the reactions of contracts, which a model without contracts (a lab's) never has
CONTRACT_REACTION_COLUMNS = ("rescheduled_share", "cancelled_share", "freed_share")


# policy rule 6's reaction (policy.prepay_borrowing_base), named as the others are, after them, but only
# where the metrics have its columns (BASE_PREPAY_COLUMNS: the rule on), so that a run without it shows
# what it showed: its share of scenarios, and its mean USD (REACTION_USD_LABELS's)
BASE_PREPAY_LABELS = {"base_prepaid_share": "borrowing base prepaid"}
BASE_PREPAY_USD_LABELS = {"base_prepaid_mean_usd": "mean borrowing base prepaid"}


def reactions_taken(row) -> str:
    """The policy's reactions a plan's row of metrics shows in some scenario, in words ("order
    deferred, distress sale"; "none"): on the forecast, those the plan needed there."""
    labels = {**REACTION_LABELS, **BASE_PREPAY_LABELS}
    return ", ".join(label for column, label in labels.items() if row.get(column, 0) > 0) or "none"


def reaction_labels(contracts: bool, columns=()) -> dict[str, str]:
    """:data:`REACTION_LABELS`, without the contracts' where the model has none (``contracts``), and
    rule 6's (:data:`BASE_PREPAY_LABELS`) where ``columns`` (the metrics') have it."""
    kept = REACTION_LABELS.items()
    return {**{c: label for c, label in kept if contracts or c not in CONTRACT_REACTION_COLUMNS},
            **{c: label for c, label in BASE_PREPAY_LABELS.items() if c in columns}}


# what the reactions moved, in USD, as tables and the report name them (means over scenarios)
REACTION_USD_LABELS = {
    "deferred_capex_mean_usd": "mean capex deferred",
    "forfeited_deposits_mean_usd": "mean deposits forfeited",
    "distress_sale_proceeds_mean_usd": "mean distress-sale proceeds",
}

# what each of them is a mean over: every scenario, not only those where the policy acted
REACTION_MEANS = "means over all the scenarios, 0 in those where the policy did not act"


def reaction_usd_labels(columns) -> dict[str, str]:
    """:data:`REACTION_USD_LABELS` and rule 6's (:data:`BASE_PREPAY_USD_LABELS`), those ``columns``
    (the metrics', a row's index) have (a run before 0.4.4 has none)."""
    labels = {**REACTION_USD_LABELS, **BASE_PREPAY_USD_LABELS}
    return {c: label for c, label in labels.items() if c in columns}


# the metrics column: the plan, run on its own forecast with its policy, breaches no covenant and
# does not default (engine.forecast_within_limits): a plan a lender would sign
FORECAST_OK = "forecast_within_limits"
# how the terminal's tables and the report mark a plan whose FORECAST_OK is false, and what it means
FORECAST_MARK = "!"
FORECAST_MARK_MEANS = "breaches a covenant or defaults on the forecast itself"

# the share of market demand a plan serves on average over the scenarios: what a lab's plan is for, the
# floor a ranking by present cost keeps (`fleetopt evaluate --min-service`, the cost sweep's rule), as
# the cheapest plan would serve the least
SERVICE_COLUMN = "demand_served_share"
# how the terminal's ranking table marks a plan below that floor, which the ranking puts after those above
SERVICE_MARK = "<"


def serves_at_least(served, floor: float):
    """Whether plans' shares of demand ``served`` (one, or an array) keep a service ``floor``: no lower."""
    return served >= floor


def service_mark_means(floor: float) -> str:
    """What :data:`SERVICE_MARK` means of a ranking with a service ``floor``."""
    return f"serves less than {format_rate(floor)} of the demand (--min-service), ranked after those that do"


def within_limits(metrics: pd.DataFrame) -> np.ndarray:
    """(P,) of a deterministic evaluation's metrics (one scenario, the forecast): no breach, no default."""
    return (metrics["breach_probability"].to_numpy() == 0) & (metrics["default_probability"].to_numpy() == 0)


# `fleetopt evaluate --rank-by` and the sweep rule's `prefer`: the NPV column each ranks plans by
# (higher is better)
RANK_COLUMNS = {"cvar5": "npv_cvar5_usd", "mean": "npv_mean_usd", "p5": "npv_p5_usd"}
# the figures `fleetopt evaluate --rank-by` ranks by besides, lower is better (shares): not the sweep's
# `prefer`, which maximises an NPV figure within its probability limits
LOWER_RANK_COLUMNS = {"any-default": "any_default_probability"}
# and those it ranks plans solved for least cost by, lower is better (USD): their present cost's mean (the
# cost sweep's rule, sweep/rule.py COST_RANK) and its tail; an NPV plan has no present cost
COST_RANK_COLUMNS = {"cost": "present_cost_mean_usd", "cost-cvar95": "present_cost_cvar95_usd"}
EVALUATION_RANK_COLUMNS = {**RANK_COLUMNS, **LOWER_RANK_COLUMNS, **COST_RANK_COLUMNS}
# each ranking's figure in words
RANK_WORDS = {"cvar5": CVAR5_NPV_LABEL, "mean": MEAN_NPV_LABEL, "p5": P5_NPV_LABEL,
              "any-default": ANY_DEFAULT_LABEL, "cost": MEAN_COST_LABEL, "cost-cvar95": CVAR95_COST_LABEL}
DEFAULT_RANK = "cvar5"  # the figure plans are ranked by where no ranking is given
COST_DEFAULT_RANK = "cost"  # and plans solved for least cost: what a lab's plans are solved for


def default_rank(solved_for_cost: bool) -> str:
    """The ranking of an evaluation given none: by mean present cost where its plans were solved for least
    cost (a lab's), else by :data:`DEFAULT_RANK`."""
    return COST_DEFAULT_RANK if solved_for_cost else DEFAULT_RANK


def lower_first(rank_by: str) -> bool:
    """Whether ``rank_by``'s figure ranks the lower first: a probability or a present cost."""
    return rank_by in LOWER_RANK_COLUMNS or rank_by in COST_RANK_COLUMNS
# the NPV figure that orders plans tied on a ranking's own figure: on a deterministic evaluation every
# plan that does not default ties at 0% of P(any default), and a finance team looks at mean NPV next
TIE_BREAKS = {"any-default": "mean"}


# a present cost's ranking figure of a deterministic evaluation: its one scenario's, no mean, no tail
FORECAST_COST_WORDS = "present cost on the forecast"


def rank_figure_words(rank_by: str, on_forecast: bool = False) -> str:
    """A ranking's figure in words (:data:`RANK_WORDS`); ``on_forecast``: of a deterministic evaluation,
    whose one scenario is the forecast, a present cost's :data:`FORECAST_COST_WORDS`, not its mean."""
    return FORECAST_COST_WORDS if on_forecast and rank_by in COST_RANK_COLUMNS else RANK_WORDS[rank_by]


def rank_words(rank_by: str, on_forecast: bool = False) -> str:
    """A ranking's figure (:func:`rank_figure_words`), and its tie break where it has one: 'P(any
    default), then mean NPV'."""
    tie = TIE_BREAKS.get(rank_by)
    return rank_figure_words(rank_by, on_forecast) + (f", then {RANK_WORDS[tie]}" if tie else "")


LEAD_ERROR_KEYS = ("lead_se_usd", "lead_se_share")  # lead_error_key's names


def lead_error_key(rank_by: str) -> str:
    """summary.json's ``ranking`` name of the paired standard error of the first plan's lead by
    ``rank_by``, in the figure's unit: USD for an NPV figure, a share for P(any default)."""
    return "lead_se_share" if rank_by in LOWER_RANK_COLUMNS else "lead_se_usd"


def first_by_the_forecast(ranked: pd.DataFrame) -> bool:
    """Whether the first of ``ranked`` (:func:`ranked_plans`) keeps its limits on its own forecast and
    the second does not: the ranking puts it first by that rule, whatever the figures."""
    kept = ranked[FORECAST_OK].astype(bool).tolist() if FORECAST_OK in ranked else []
    return len(kept) > 1 and kept[0] and not kept[1]


def rank_lead(rank_by: str, first: float, second: float) -> float:
    """How far a figure ``first`` is ahead of ``second`` by ``rank_by`` (positive: better): the
    difference, the other way round for a figure lower is better (:func:`lower_first`)."""
    return second - first if lower_first(rank_by) else first - second


def best_plan_label(plan: str, rank_by: str, several: bool) -> str:
    """The plan an evaluation's "In short" speaks of: 'The best plan by CVaR5 NPV, “milp”' of several
    ranked by ``rank_by``, 'Plan “milp”' alone."""
    whose = f"The best plan by {RANK_WORDS[rank_by]}, " if several else "Plan "
    return f"{whose}{quoted(plan)}"


def ranking_of(ranking: dict | None) -> tuple[str, float | None]:
    """(rank_by, max_breach_prob) of an evaluation's ``ranking`` (summary.json's, or None: by
    :data:`DEFAULT_RANK`, without a limit)."""
    ranking = ranking or {}
    return ranking.get("rank_by", DEFAULT_RANK), ranking.get("max_breach_prob")


def service_floor_of(ranking: dict | None) -> float | None:
    """The service floor (--min-service) of an evaluation's ``ranking`` (summary.json's; None: none, as
    every evaluation before it had)."""
    return (ranking or {}).get("min_service")


def ranked_plans(metrics, rank_by: str = DEFAULT_RANK, max_breach_prob: float | None = None,
                 min_service: float | None = None):  # fmt: skip
    """An evaluation's plans best first by ``rank_by`` (ties by its :data:`TIE_BREAKS` figure, higher
    first, where it has one, else in the file's order), only those
    with a breach probability of at most ``max_breach_prob`` when it is given. A plan that breaks
    a limit on its own forecast (``FORECAST_OK`` false, marked ``FORECAST_MARK``) comes after every
    plan that keeps them, whatever its figures: a lender would not sign it, and the sweep's rule
    does not recommend it either (a cash buffer can buy a better tail by keeping debt the borrowing
    base does not allow). Within each, a plan serving less than ``min_service`` of the demand
    (:func:`serves_at_least`; marked :data:`SERVICE_MARK`) comes after every plan that serves that much."""
    if max_breach_prob is not None:
        metrics = metrics[metrics["breach_probability"] <= max_breach_prob]
    by, ascending = [EVALUATION_RANK_COLUMNS[rank_by]], [lower_first(rank_by)]
    if rank_by in TIE_BREAKS:  # an NPV figure: higher is better
        by, ascending = [*by, RANK_COLUMNS[TIE_BREAKS[rank_by]]], [*ascending, False]
    everyone = pd.Series(True, index=metrics.index)
    kept = metrics[FORECAST_OK].astype(bool) if FORECAST_OK in metrics.columns else everyone
    serves = ~below_floor(metrics, min_service)
    parts = [metrics[forecast & floor] for forecast in (kept, ~kept) for floor in (serves, ~serves)]
    return pd.concat([part.sort_values(by, ascending=ascending, kind="stable") for part in parts])


def below_floor(metrics: pd.DataFrame, min_service: float | None) -> pd.Series:
    """(plans,) whether each plan of ``metrics`` serves less of the demand than ``min_service`` (none
    where it is None; each where its share is unknown, NaN)."""
    if min_service is None:
        return pd.Series(False, index=metrics.index)
    return ~serves_at_least(metrics[SERVICE_COLUMN].astype(float), min_service)


def shown_plans(metrics: pd.DataFrame, ranking: dict | None) -> tuple[pd.DataFrame, bool]:
    """An evaluation's plans in the order its report shows them, best first, by its ``ranking``
    (summary.json's: ``rank_by``, ``max_breach_prob``, ``min_service``; CVaR5 without one), and whether
    any plan met the limit: where none did, every plan by the same figure (the terminal prints them all,
    saying so), the best of them shown."""
    rank_by, limit = ranking_of(ranking)
    floor = service_floor_of(ranking)
    ranked = ranked_plans(metrics, rank_by, limit, floor)
    return (ranked, True) if not ranked.empty else (ranked_plans(metrics, rank_by, None, floor), False)


def shown_first(summary: dict) -> dict:
    """The metrics (summary.json's) of the plan an evaluation's report shows (:func:`shown_plans`):
    what the run registry lists it by. A summary it cannot rank (written by hand or an older
    version) gives its first plan."""
    metrics = summary.get("metrics")
    if not (isinstance(metrics, list) and metrics and all(isinstance(m, dict) for m in metrics)):
        return {}
    ranking = summary.get("ranking") if isinstance(summary.get("ranking"), dict) else None
    try:
        ranked, _ = shown_plans(pd.DataFrame(metrics), ranking)
    except (KeyError, TypeError):
        return metrics[0]
    return metrics[int(ranked.index[0])]


def ranking_words(rank_by: str = DEFAULT_RANK, max_breach_prob: float | None = None,
                  min_service: float | None = None, on_forecast: bool = False) -> str:  # fmt: skip
    """The rule of :func:`ranked_plans` in words: 'the highest mean NPV among plans with
    P(covenant breach) at most 60%' ('the lowest P(any default), then the highest mean NPV'; with a
    service floor ``min_service``, 'the lowest mean present cost, plans serving at least 95% of the
    demand first'); the limits as they were given (:func:`format_rate`: 0.00001 is 0.001%, never 0.00%).
    ``on_forecast``: of a deterministic evaluation (:func:`rank_figure_words`)."""
    words = f"the {'lowest' if lower_first(rank_by) else 'highest'} {rank_figure_words(rank_by, on_forecast)}"
    if rank_by in TIE_BREAKS:
        words += f", then the highest {RANK_WORDS[TIE_BREAKS[rank_by]]}"
    if max_breach_prob is not None:
        words += f" among plans with {BREACH_LABEL} at most {format_rate(max_breach_prob)}"
    if min_service is not None:
        words += f", plans serving at least {format_rate(min_service)} of the demand first"
    return words


def marked_last_words(ranked, marked: bool = True) -> str:
    """' (a plan marked !, which ..., comes last)' where :func:`ranked_plans` put a plan marked
    ``FORECAST_MARK`` after one that keeps its limits, else ''. ``marked`` False: for a table that
    shows no mark (a deterministic evaluation, whose one scenario is the forecast itself)."""
    if FORECAST_OK not in ranked.columns:
        return ""
    kept = int(ranked[FORECAST_OK].astype(bool).sum())
    if not 0 < kept < len(ranked):
        return ""
    if not marked:
        return f" (a plan that {FORECAST_MARK_MEANS} comes last)"
    return f" (a plan marked {FORECAST_MARK}, which {FORECAST_MARK_MEANS}, comes last)"


def paired_error(differences: np.ndarray) -> float:
    """The standard error of a mean difference of two plans on the same scenarios (USD): the
    :func:`standard_error` of the per-scenario differences (sample standard deviation, divisor
    S - 1, over sqrt(S)); NaN with one scenario. compare's paired row and the stochastic plan's
    out-of-sample check both read it."""
    return float(standard_error(np.asarray(differences, dtype=np.float64)))


# the resamples of the scenarios behind the P5 and CVaR5 differences' errors, from a fixed seed (the
# same output for the same plans and scenarios)
BOOTSTRAP_DRAWS, BOOTSTRAP_SEED = 200, 20261202
# each tail figure with the name of its difference's paired standard error (compare's row)
TAIL_PAIRED_ERROR = {"npv_p5_usd": "npv_p5_paired_se_usd", "npv_cvar5_usd": "npv_cvar5_paired_se_usd"}
# each NPV figure with the name of its difference's paired standard error (compare's rows, a sweep's
# summary.json)
NPV_PAIRED_ERROR = {"npv_mean_usd": "npv_mean_paired_se_usd", **TAIL_PAIRED_ERROR}
# each present cost figure over the scenarios (of plans solved for least cost) with the name of its
# difference's paired standard error (compare's rows): the mean's and the tail's, lower better
COST_PAIRED_ERROR = {"present_cost_mean_usd": "present_cost_mean_paired_se_usd",
                     "present_cost_p95_usd": "present_cost_p95_paired_se_usd",
                     "present_cost_cvar95_usd": "present_cost_cvar95_paired_se_usd"}


# a difference of more than this many standard errors of the paired difference is not chance
SIGNIFICANT = 2.0
# and of more than this many USD: below it, two plans that differ by round-off are the same plan
NOISE_USD = 1.0


def beyond_chance(diff: float, se: float, noise: float = 0.0) -> bool:
    """Whether a paired difference ``diff`` with standard error ``se`` is more than chance: beyond
    :data:`SIGNIFICANT` errors and beyond ``noise`` (round-off). Read by compare, the stochastic
    solve's out-of-sample verdict and the sweep's lead, so all call the same differences better or worse."""
    return abs(diff) > max(SIGNIFICANT * se, noise)


# the sides a paired difference falls on (:func:`judged_side`)
BETTER, WORSE, WITHIN, NO_ERROR, SAME, NO_DIRECTION, NOT_MEASURED = (
    "better", "worse", "within", "no error", "same", "no direction", "not measured")


def judged_side(diff: float, se: float | None, higher: bool | None = None, noise: float = 0.0,
                needs_error: bool = False) -> str:
    """Which side a paired difference ``diff`` with standard error ``se`` (None: the figure has none;
    NaN: it has one, not known: one scenario, a CVaR5's tail of one) falls on, for a figure better
    ``higher`` (True), lower (False) or neither (None): :data:`NOT_MEASURED` (no difference);
    :data:`SAME` (0, with no positive error to be within; or, for a figure without an error, within
    ``noise``: $0.20 of forecast NPV is round-off); :data:`WITHIN` (chance: within
    :data:`SIGNIFICANT` errors or ``noise``, :func:`beyond_chance`); :data:`NO_ERROR` (an error not
    known: neither better nor worse); :data:`NO_DIRECTION`; else :data:`BETTER` or :data:`WORSE`.
    ``needs_error``: a figure whose error is not known is :data:`NO_ERROR` whatever its difference, 0
    too (the stochastic solve's verdict, compare's colours); else a 0 is :data:`SAME` (compare's
    verdict). compare and the stochastic solve's out-of-sample verdict both judge by it, with ``noise``
    :data:`NOISE_USD` for money."""
    unknown = se is not None and not math.isfinite(se)
    if needs_error and unknown:
        return NO_ERROR
    if not math.isfinite(diff):
        return NOT_MEASURED
    if se is None and abs(diff) <= noise:  # a figure without an error: within ``noise`` is round-off
        return SAME
    chance = se is not None and not unknown and not beyond_chance(diff, se, noise)
    if diff == 0 and not (chance and se > 0):  # an error of 0: the same in every scenario, not chance
        return SAME
    if chance:
        return WITHIN
    if unknown:
        return NO_ERROR
    if higher is None:
        return NO_DIRECTION
    return BETTER if (diff > 0) == higher else WORSE


def cvar_influence(npv: np.ndarray, alpha: float = TAIL) -> tuple[float, np.ndarray]:
    """(CVaR_alpha, influence values): the mean of the ceil(alpha S) worst NPVs and, per scenario,
    q + min(x - q, 0) / (k / S) - CVaR (q the k-th worst). The standard error of two plans' CVaR
    difference on the same scenarios is :func:`paired_error` of their influence values'
    difference (formulation §7b, "Out of sample, paired"; `fleetopt compare`). NaN where the tail
    is one scenario (k = 1: 20 scenarios or fewer at 5 %): q is then the CVaR itself and every
    value 0, an error of 0 whatever the plans, where a single scenario decides the difference."""
    k = tail_count(len(npv), alpha)
    worst = worst_k(npv, k)
    cvar, q = float(cvar_of_worst(worst)), float(worst[-1])
    if k < 2:
        return cvar, np.full(len(npv), np.nan)
    return cvar, q + np.minimum(npv - q, 0.0) / (k / len(npv)) - cvar


def paired_tail_errors(first: np.ndarray, npv: np.ndarray, n: int) -> dict[str, float]:
    """Standard errors of a plan's P5 and CVaR5 NPV less the first plan's on the same scenarios
    (``first``, ``npv``: their NPVs, USD). CVaR5's: the paired error of the two plans' influence
    values (:func:`cvar_influence`), as the stochastic plan's out-of-sample check computes it. P5's,
    a quantile with no such simple form: by the bootstrap, the scenarios resampled with replacement
    :data:`BOOTSTRAP_DRAWS` times from a fixed seed, the same resample for both plans, each P5 as
    the metrics compute it (:func:`worst_k`), the sample standard deviation of the
    differences. NaN for the first plan itself (``n`` 0), and both NaN on 20 scenarios or fewer,
    where the tail is one scenario (each plan's P5 and CVaR5 its worst NPV): the influence values
    are all 0 (:func:`cvar_influence`), and a bootstrap of the worst of a sample says nothing of
    the next sample's (a sweep called a P5 lead of one scenario "beyond two standard errors")."""
    return dict(zip(TAIL_PAIRED_ERROR.values(), _tail_errors(first, npv, n), strict=True))


def _tail_errors(first: np.ndarray, values: np.ndarray, n: int) -> tuple[float, float]:
    """(P5's, CVaR5's) paired standard errors of ``values`` less ``first`` (per scenario), as
    :func:`paired_tail_errors` computes them; NaN for the first plan itself and for a tail of one."""
    both, k = np.stack([first, values]), tail_count(len(values))
    if n == 0 or k < 2:  # a tail of one scenario: P5 and CVaR5 are each plan's worst value, no error known
        return np.nan, np.nan
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    differences = []
    for _ in range(BOOTSTRAP_DRAWS):  # each P5 as the metrics take it: the k-th worst
        p5 = worst_k(both[:, rng.integers(0, len(values), len(values))], k)[:, k - 1]
        differences.append(float(p5[1] - p5[0]))
    psi = cvar_influence(values)[1] - cvar_influence(first)[1]
    return float(np.std(differences, ddof=1)), paired_error(psi)


def paired_cost_errors(first: np.ndarray, cost: np.ndarray, n: int) -> dict[str, float]:
    """Standard errors of a plan's mean, P95 and CVaR95 present cost less the first plan's on the same
    scenarios (``first``, ``cost``: their present costs, USD; :data:`COST_PAIRED_ERROR`): the mean's
    :func:`paired_error` of the per-scenario differences, the tail's those of :func:`paired_tail_errors`
    of the costs negated (the costliest 5 % are the negated costs' worst: each figure negated, its
    difference's error the same). NaN for the first plan itself (``n`` 0), the tail's on 20 scenarios or
    fewer."""
    mean_error, *tail_errors = COST_PAIRED_ERROR.values()
    tails = _tail_errors(-np.asarray(first, dtype=np.float64), -np.asarray(cost, dtype=np.float64), n)
    mean = paired_error(np.asarray(cost, dtype=np.float64) - first) if n else np.nan
    return {mean_error: mean, **dict(zip(tail_errors, tails, strict=True))}


def paired_cost_error(figure: str, first: np.ndarray, cost: np.ndarray) -> float:
    """The standard error of a plan's present cost figure (:data:`COST_PAIRED_ERROR`'s keys) less the first
    plan's on the same scenarios, as :func:`paired_cost_errors` gives it; the mean's alone without the
    tail's resampling. A first place by cost reads it
    (:func:`~fleetopt.evaluate.engine.paired_cost_lead_error`)."""
    if figure == "present_cost_mean_usd":
        return paired_error(np.asarray(cost, dtype=np.float64) - first)
    return paired_cost_errors(first, cost, 1)[COST_PAIRED_ERROR[figure]]


def paired_npv_error(figure: str, first: np.ndarray, npv: np.ndarray) -> float:
    """The standard error of a plan's NPV figure (``npv_mean_usd``, ``npv_cvar5_usd`` or
    ``npv_p5_usd``) less the first plan's, on the same scenarios (``first``, ``npv``: their NPVs,
    USD), as compare's paired rows give it; NaN with one scenario. A first place's lead reads it
    (:func:`~fleetopt.evaluate.engine.paired_lead_error`)."""
    if figure == "npv_mean_usd":
        return paired_error(npv - first)
    return paired_tail_errors(first, npv, 1)[TAIL_PAIRED_ERROR[figure]]


# the metrics of when a plan breaks, and the per-pair counts each reads (simulate's TIMING_FIELDS)
MEDIAN_QUARTER_OF = {
    "breach_median_quarter": "quarters_before_breach",
    "uncured_breach_median_quarter": "quarters_before_uncured",
    "default_median_quarter": "quarters_before_default",
}
# what breaks, in words, and the share of scenarios it breaks in (the median's population)
MEDIAN_QUARTER_WORDS = {
    "breach_median_quarter": ("first covenant breach", "breach_probability"),
    "uncured_breach_median_quarter": ("uncured covenant breach", "uncured_breach_probability"),
    "default_median_quarter": ("liquidity default", "default_probability"),
}


def median_quarter_label(number: float, quarter_labels: list[str]) -> str:
    """A quarter numbered from 1 (a metrics column such as ``breach_median_quarter``) as its label,
    "2027Q3"; "none" for NaN (no scenario broke)."""
    return "none" if number != number else quarter_labels[int(number) - 1]


# why an uncured breach's median quarter can come before the first breach's (the default sweep's
# pick: 2030Q3 against 2030Q4), an event of default before the breach it follows to a lender: a
# scenario's first breach is at or before its uncured one, so the medians part only where the
# scenarios whose breaches are all cured breach later
UNCURED_BEFORE_FIRST_WORDS = ("earlier than the first breach's median, which is over more scenarios: "
                              "those whose breaches were all cured first breach later")


def uncured_median_before_first(row) -> bool:
    """Whether a metrics row's median quarter of the uncured breach comes before its first breach's
    (:data:`UNCURED_BEFORE_FIRST_WORDS`); False where either has none."""
    uncured = row.get("uncured_breach_median_quarter", math.nan)
    return bool(uncured < row.get("breach_median_quarter", math.nan))


# metrics.csv's columns besides METRIC_COLUMNS where the model has risk.delivery_slip on (absent
# otherwise, so that a model without it writes the same file as before the factor existed)
SLIP_COLUMNS = {
    "slipped_share": "share of scenarios in which a delivery slip (risk.delivery_slip) made GPUs the "
    "plan bought arrive late",
}


# metrics.csv's columns besides METRIC_COLUMNS where the policy's rule 6 is on
# (`policy.prepay_borrowing_base`; absent otherwise, so that a model without it writes the same file),
# counted as the other reactions are: the share of scenarios with one, the mean over all of them in USD
BASE_PREPAY_COLUMNS = {
    "base_prepaid_share": "share of scenarios in which a borrowing-base deficiency was mended by a mandatory "
    "prepayment (policy rule 6)",
    "base_prepaid_mean_usd": "mean over scenarios of the principal prepaid to mend borrowing-base "
    "deficiencies, USD (0 in those without one)",
}


def base_prepay_metrics(results: dict, xp: Any = np) -> dict:
    """(P,) :data:`BASE_PREPAY_COLUMNS` where ``results`` hold rule 6's (``BASE_PREPAY_FIELDS``)."""
    if BASE_PREPAY_FIELDS[0] not in results:
        return {}
    means = (xp.asarray(results[name], dtype=xp.float64).mean(axis=1) for name in BASE_PREPAY_FIELDS)
    return dict(zip(BASE_PREPAY_COLUMNS, means, strict=True))


def plan_metrics(
    results: dict, xp: Any = np, quarters: int | None = None, scenario_demand: Any = None
) -> dict:
    """(P,) metrics from (P, S) simulation results, computed where the results are (NumPy or
    CuPy arrays: on a GPU only the metrics, not the (plans x scenarios) results, come back).
    ``quarters``: the horizon's, which the timing counts need (T: never broken);
    ``scenario_demand``: (S,) each scenario's market demand over the horizon, H100-equivalent
    GPU-quarters (:func:`demand_metrics`; None: those metrics are NaN)."""
    npv = xp.asarray(results["npv"], dtype=xp.float64)
    k = tail_count(npv.shape[1])
    worst = worst_k(npv, k, xp)
    p5 = worst[:, k - 1]

    def share(name):
        if name not in results:  # a reaction the simulation did not report: it never happened
            return xp.zeros(npv.shape[0])
        return xp.asarray(results[name]).astype(xp.float64, copy=False).mean(axis=1)

    return {
        "npv_mean_usd": npv.mean(axis=1),
        "npv_std_usd": npv.std(axis=1),
        # one scenario measures no spread: NaN ("n/a"), not an error of 0 that would look exact
        "npv_mean_se_usd": standard_error(npv, xp),
        "npv_mean_no_default_usd": mean_without_default(npv, results.get("default"), xp),
        # a long right tail lifts the mean far above most futures (the default model at 2,000
        # scenarios of seed 7: mean $13.5B, median $6.1B): a finance reader needs both
        "npv_median_usd": xp.median(npv, axis=1),
        "loss_probability": (npv < 0).astype(xp.float64).mean(axis=1),
        "npv_p5_usd": p5,
        "npv_cvar5_usd": cvar_of_worst(worst, xp),
        **limited_liability(results, k, xp),
        "breach_probability": share("breach"),
        "uncured_breach_probability": share("uncured_breach"),
        "default_probability": share("default"),
        "any_default_probability": either_share(results, ANY_DEFAULT_EVENTS, xp),
        **debt_at_default(results, xp),
        "expected_min_cash_usd": share("min_cash"),
        "mean_utilisation": share("utilisation"),
        "rescheduled_share": share("rescheduled"),
        "cancelled_share": share("cancelled"),
        "freed_share": share("freed"),
        "deferred_share": share("deferred"),
        "order_cancelled_share": share("order_cancelled"),
        "sold_share": share("sold"),
        "prepayment_cut_share": share("prepayment_cut"),
        "deferred_capex_mean_usd": share("deferred_usd"),
        "forfeited_deposits_mean_usd": share("forfeited_usd"),
        "distress_sale_proceeds_mean_usd": share("distress_sold_usd"),
        **base_prepay_metrics(results, xp),
        **first_breach_shares(results, npv.shape[0], xp),
        **{
            name: median_quarter(results[field], quarters, xp)
            if field in results
            else xp.full(npv.shape[0], xp.nan)
            for name, field in MEDIAN_QUARTER_OF.items()
        },
        **demand_metrics(results.get("demand_served"), scenario_demand, npv.shape[0], xp),
    }


def present_cost_metrics(cost: Any, xp: Any = np) -> dict:
    """(P,) the present cost's metrics (``PRESENT_COST_COLUMNS``) from each pair's, (P, S) USD: its
    mean and the mean's standard error, and its tail, the k = ceil(5 % of S) highest (the k-th, P95, and
    their mean, CVaR95): the NPV's P5 and CVaR5 of the cost negated."""
    cost = xp.asarray(cost, dtype=xp.float64)
    worst = worst_k(-cost, tail_count(cost.shape[1]), xp)
    return {
        "present_cost_mean_usd": cost.mean(axis=1),
        "present_cost_mean_se_usd": standard_error(cost, xp),
        "present_cost_p95_usd": -worst[:, -1],
        "present_cost_cvar95_usd": -cvar_of_worst(worst, xp),
    }


# the per-pair events either of which is a default as lenders count them (any_default_probability)
ANY_DEFAULT_EVENTS = ("default", "uncured_breach")


def either_happened(results: dict, events: tuple[str, ...], xp: Any = np) -> Any:
    """Whether any of the per-pair ``events`` (0/1 or bool arrays of one shape) happens, pair by pair
    (bool); those ``results`` lack (a reaction the simulation did not report) never happened; None
    where it lacks them all. ``ANY_DEFAULT_EVENTS``: a default as lenders count it, for the metrics,
    compare's paired errors and the stochastic solve's."""
    happened = None
    for name in events:
        if name in results:
            now = xp.asarray(results[name]).astype(bool, copy=False)
            happened = now if happened is None else happened | now
    return happened


def either_share(results: dict, events: tuple[str, ...], xp: Any = np):
    """(P,) the share of scenarios in which any of the per-pair ``events`` (bool, (P, S)) happens
    (:func:`either_happened`)."""
    happened = either_happened(results, events, xp)
    if happened is None:
        return xp.zeros(xp.asarray(results["npv"]).shape[0])
    return happened.astype(xp.float64).mean(axis=1)


# the NPV with limited liability's metrics (docs/evaluation.md, "After a liquidity default")
LIMITED_LIABILITY = ("npv_limited_mean_usd", "npv_limited_cvar5_usd")
# the NPV if lenders accelerate at the first event of default of either kind ("The NPV if lenders
# accelerate"): the NPV with limited liability wherever no uncured breach comes before a liquidity default
ACCELERATED = ("npv_accelerated_mean_usd", "npv_accelerated_cvar5_usd")
# the shareholders' NPVs: each per-pair result (simulate's) and its mean and CVaR5
SHAREHOLDERS = {"npv_limited": LIMITED_LIABILITY, "npv_accelerated": ACCELERATED}


def limited_liability(results: dict, k: int, xp: Any = np) -> dict:
    """(P,) the mean and CVaR5 (over the ``k`` worst) of each of the shareholders' NPVs (the NPV with
    limited liability, the NPV if lenders accelerate); NaN where ``results`` lack one (not the NPV's:
    a default would end a claim there too)."""
    out = {}
    for field, (mean, cvar) in SHAREHOLDERS.items():
        if field not in results:
            out[mean] = out[cvar] = xp.full(len(results["npv"]), xp.nan)
            continue
        npv = xp.asarray(results[field], dtype=xp.float64)
        out[mean], out[cvar] = npv.mean(axis=1), cvar_of_worst(worst_k(npv, k, xp), xp)
    return out


# each shareholders' figure and the figure it may repeat: the NPV's (limited liability), the NPV with
# limited liability's (if lenders accelerate)
LIMITED_TWIN = {"npv_limited_mean_usd": "npv_mean_usd", "npv_limited_cvar5_usd": "npv_cvar5_usd",
                "npv_accelerated_mean_usd": "npv_limited_mean_usd",
                "npv_accelerated_cvar5_usd": "npv_limited_cvar5_usd"}  # fmt: skip


def limited_liability_differs(metrics: pd.DataFrame, figures: tuple[str, ...] = LIMITED_LIABILITY) -> bool:
    """Whether some plan's NPV with limited liability differs from its NPV in any of ``figures``
    (a default, or a company worth less than nothing at the end, in some scenario; a table showing
    the CVaR5 only asks of it); of ``ACCELERATED``'s, whether its NPV if lenders accelerate differs
    from its NPV with limited liability (an uncured breach before any liquidity default). Where none
    does, they repeat their twins' (``LIMITED_TWIN``) and the tables leave them out; evaluations
    before them have none."""
    if not {*figures, *(LIMITED_TWIN[f] for f in figures)} <= set(metrics.columns):  # an older run's
        return False
    differs = [(metrics[f] != metrics[LIMITED_TWIN[f]]) & metrics[f].notna() for f in figures]
    return bool(np.logical_or.reduce(differs).any())


# the debt at a liquidity default and the GPUs' cover of it (docs/evaluation.md, "The debt at a default"),
# and the same at an uncured covenant breach, the event of default on which lenders may accelerate
DEBT_AT_DEFAULT_METRICS = ("debt_at_default_mean_usd", "debt_covered_at_default", "uncovered_debt_mean_usd")
DEBT_AT_UNCURED_METRICS = (
    "debt_at_uncured_breach_mean_usd",
    "debt_covered_at_uncured_breach",
    "uncovered_debt_at_uncured_breach_mean_usd",
)
# the share of the debt at such an event that the GPUs still held (sold at the scenario's resale value,
# after the policy's distress sales) and the cash would repay, as the lenders' tables head it: the
# collateral left, not a recovery rate (an agency's is on defaulted debt's market value or its ultimate
# recovery, contracts and sites included)
DEBT_COVERED_HEADER = "covered by the GPUs' and cash's value"
# each set of figures: the per-pair results it is made from (simulate's) and the event's indicator
LENDERS_AT = {
    DEBT_AT_DEFAULT_METRICS: (DEBT_AT_DEFAULT, "default"),
    DEBT_AT_UNCURED_METRICS: (DEBT_AT_UNCURED, "uncured_breach"),
}
# and the metric of how often that event comes (the share its tables and comparisons give beside it)
LENDERS_SHARE = {
    DEBT_AT_DEFAULT_METRICS: "default_probability",
    DEBT_AT_UNCURED_METRICS: "uncured_breach_probability",
}


def debt_at_default(results: dict, xp: Any = np) -> dict:
    """(P,) ``DEBT_AT_DEFAULT_METRICS`` and ``DEBT_AT_UNCURED_METRICS`` from the per-pair debt owed at
    the event and the part of it not covered (simulate's DEBT_AT_DEFAULT and DEBT_AT_UNCURED, 0
    without the event); NaN where ``results`` lack them (evaluations before them), and the first two
    where no scenario has the event (owing debt)."""
    P = len(results["npv"])
    out = {}
    for names, ((debt_field, uncovered_field), event) in LENDERS_AT.items():
        if debt_field not in results:
            out.update({name: xp.full(P, xp.nan) for name in names})
            continue
        debt = xp.asarray(results[debt_field], dtype=xp.float64)
        uncovered = xp.asarray(results[uncovered_field], dtype=xp.float64)
        events = xp.asarray(results[event]).astype(xp.float64).sum(axis=1)
        owed = debt.sum(axis=1)
        exposure, covered, loss = names
        out[exposure] = _quotient(owed, events, xp)
        out[covered] = 1.0 - _quotient(uncovered.sum(axis=1), owed, xp)
        out[loss] = uncovered.mean(axis=1)
    return out


# each mean over the scenarios whose difference between two plans fleetopt compare gives a paired
# error, and the per-pair result (simulate's) it is the mean of: the other figures over the
# scenarios are quantiles, conditional means or shares without one
MEAN_OF_PAIRS = {
    "npv_limited_mean_usd": "npv_limited",
    "npv_accelerated_mean_usd": "npv_accelerated",
    "uncovered_debt_mean_usd": DEBT_AT_DEFAULT[1],
    "uncovered_debt_at_uncured_breach_mean_usd": DEBT_AT_UNCURED[1],
    "expected_min_cash_usd": "min_cash",
    "mean_utilisation": "utilisation",
}


def _quotient(numerator: Any, denominator: Any, xp: Any) -> Any:
    """``numerator / denominator`` where the denominator is positive, else NaN."""
    some = denominator > 0
    return xp.where(some, numerator / xp.where(some, denominator, 1.0), xp.nan)


def demand_metrics(served: Any, demand: Any, P: int, xp: Any = np) -> dict:
    """(P,) the market demand served: its mean share of each scenario's demand, the mean demand not
    served and the share of scenarios short by more than :data:`SHORTFALL_SHARE` of their demand,
    from the (P, S) demand served and the (S,) demand, both H100-equivalent GPU-quarters over the
    horizon; NaN where either is missing, and the share NaN where the model has no demand."""
    names = ("demand_served_share", "unserved_demand_mean_gpu_quarters", "shortfall_probability")
    if served is None or demand is None:
        return {name: xp.full(P, xp.nan) for name in names}
    share, short, unserved, some = demand_per_pair(served, demand, xp)
    # over the scenarios with market demand (a scenario without any has no share to serve)
    with_demand = int(xp.count_nonzero(some))
    mean_share = share.sum(axis=1) / with_demand if with_demand else xp.full(P, xp.nan)
    return dict(zip(names, (mean_share, unserved.mean(axis=1), short.mean(axis=1)), strict=True))


def demand_per_pair(served: Any, demand: Any, xp: Any = np) -> tuple:
    """Each pair's share of its scenario's market demand served (0 where the scenario has none),
    whether it is short by more than :data:`SHORTFALL_SHARE` of it (0/1), and the demand unserved,
    each (P, S), with which scenarios have demand ((1, S) bool), from the (P, S) demand served and
    the (S,) demand: what :func:`demand_metrics` averages and compare's paired errors difference."""
    served = xp.asarray(served, dtype=xp.float64)
    demand = xp.asarray(demand, dtype=xp.float64)[None, :]
    unserved = xp.maximum(demand - served, 0.0)
    some = demand > 0
    share = xp.where(some, served / xp.where(some, demand, 1.0), 0.0)
    short = (unserved > SHORTFALL_SHARE * demand).astype(xp.float64)
    return share, short, unserved, some


def median_quarter(quarters_before: Any, T: int | None, xp: Any = np) -> Any:
    """(P,) for each row of (P, S) counts of the quarters before a scenario broke (T: never), the
    median over the broken scenarios of the quarter it broke in, numbered from 1: the lower of the
    two middle ones where their number is even (a quarter that happened); NaN where none broke.
    One pass: each row's counts binned by quarter, then the first quarter whose running count
    passes the middle."""
    if T is None:
        raise ValueError("median_quarter needs the horizon's number of quarters")
    counts = xp.asarray(quarters_before).astype(xp.int64)
    P = counts.shape[0]
    binned = xp.bincount((counts + (T + 1) * xp.arange(P)[:, None]).ravel(), minlength=P * (T + 1))
    running = xp.cumsum(binned.reshape(P, T + 1)[:, :T], axis=1)
    broken = running[:, -1]
    middle = xp.argmax(running > ((broken - 1) // 2)[:, None], axis=1)
    return xp.where(broken > 0, middle + 1.0, xp.nan)


def broken_by_quarter(quarters_before: Any, T: int) -> np.ndarray:
    """(T,) the share of scenarios broken by the end of each quarter t, from each scenario's
    quarters before its first breach, its default or its uncured breach (simulate's TIMING_FIELDS;
    T: never): the share whose count is at most t. Cumulative, as each is for good."""
    counts = np.asarray(quarters_before, dtype=np.float64).reshape(-1)
    return (counts[:, None] <= np.arange(T)).mean(axis=0)


def mean_without_default(npv: Any, default: Any, xp: Any = np) -> Any:
    """(P,) mean NPV over each plan's scenarios without a liquidity default; NaN where all default."""
    if default is None:
        return npv.mean(axis=1)
    kept = 1.0 - xp.asarray(default).astype(xp.float64)
    return _quotient((npv * kept).sum(axis=1), kept.sum(axis=1), xp)


def first_breach_shares(results: dict, P: int, xp: Any = np) -> dict:
    """(P,) share of scenarios whose first covenant breach misses each kind of covenant."""
    mask = results.get("first_breach")
    out = {}
    mask = None if mask is None else xp.asarray(mask).astype(xp.int64)
    for kind in CATALOGUE:
        name = first_breach_column(kind)
        if mask is None:
            out[name] = xp.zeros(P)
            continue
        bits = mask & kind_bit(kind)
        out[name] = (bits > 0).astype(xp.float64).mean(axis=1)
    return out

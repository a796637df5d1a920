"""What a sweep says of its pick: its lead over the next plan and how sure it is, the plan of highest mean
NPV no worse than the forecast optimum, the risks the pick keeps or moves against the optimum, buffers
that never acted, and the commands that would settle a close call."""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt.core.metric_columns import CVAR5_NPV_LABEL, MEAN_NPV_LABEL
from fleetopt.core.results.risk_sentences import ANY_DEFAULT_MEANS, ANY_DEFAULT_WORDS
from fleetopt.core.units import (
    counted,
    format_error,
    format_percent,
    format_rate,
    format_usd,
    format_usd_change,
)
from fleetopt.evaluate.engine import evaluate, paired_cost_lead_error, paired_lead_error
from fleetopt.evaluate.lead import (
    SETTLE_MOST,
    Lead,
    lead_sentence,
)
from fleetopt.evaluate.metrics import (
    DEFAULT_RANK,
    NPV_PAIRED_ERROR,
    RANK_COLUMNS,
    RANK_WORDS,
    paired_npv_error,
)
from fleetopt.runs import limits
from fleetopt.sweep.candidates import candidates_batch
from fleetopt.sweep.rule import (
    COST_COLUMN,
    COST_RANK,
    COST_WORDS,
    LIMIT_WORDS,
    NO_RISK_LIMIT,
    NO_RISK_LIMIT_BEFORE,
    OPTIMUM_CONDITION_BEFORE,
    OPTIMUM_RISKS,
    Rule,
    best_mean_within_rule,
    forecast_optimum_index,
    forecast_optimum_row,
    optimum_condition,
    rank_column,
    rank_score,
    runner_up,
)


def pick_lead(data, feasible: list, metrics: pd.DataFrame, rule: Rule, pick: int, idle: np.ndarray,
              scenarios: tuple[int, int, str]) -> Lead:
    """The pick's :class:`Lead`: the pick and the runner-up evaluated again, alone, on the sweep's
    scenarios (``scenarios``: their count, seed and the backend), keeping each scenario's NPV (a
    plan's figures do not depend on the plans beside it)."""
    other = runner_up(metrics, rule, pick, idle)
    if other is None:
        return Lead(None)
    score = rank_score(metrics, rule.prefer)
    amount = float(score[pick] - score[other])
    both = candidates_batch(data, [feasible[pick], feasible[other]])
    if rule.by_cost:
        cost_error = paired_cost_lead_error(data, both, COST_COLUMN, scenarios)
        return Lead(str(metrics["plan"].iloc[other]), amount, cost_error)
    column = RANK_COLUMNS[rule.prefer]
    return Lead(str(metrics["plan"].iloc[other]), amount, paired_lead_error(data, both, column, scenarios))


def best_mean_alternative(data, feasible: list, metrics: pd.DataFrame, rule: Rule, pick: int,
                          idle: np.ndarray, scenarios: tuple[int, int, str]) -> dict | None:  # fmt: skip
    """summary.json's ``best_mean_within_rule``: the plan of highest mean NPV no worse than the forecast
    optimum on every figure the rule reads (:func:`best_mean_within_rule`), with its mean NPV and the
    rule's figure less the forecast optimum's and less the pick's, USD, each with the standard error
    of that paired difference (null where there is none: one scenario, a tail of one), the three
    evaluated again, alone, on the sweep's scenarios (``scenarios``: their count, seed and the
    backend), as :func:`pick_lead` measures the runner-up. None where there is no such plan."""
    at = best_mean_within_rule(metrics, rule, pick, idle)
    if at is None:
        return None
    optimum = forecast_optimum_index(metrics)
    n, seed, backend = scenarios
    rows = [at, optimum, pick]
    npv = evaluate(data, candidates_batch(data, [feasible[i] for i in rows]), n, seed, backend=backend,
                   keep_matrix=True).npv_matrix  # fmt: skip
    columns = ("npv_mean_usd", RANK_COLUMNS[rule.prefer])

    def against(k: int) -> dict:
        out = {}
        for column in columns:
            out[column] = float(metrics[column].iloc[at] - metrics[column].iloc[rows[k]])
            se = paired_npv_error(column, npv[k], npv[0])
            out[NPV_PAIRED_ERROR[column]] = se if math.isfinite(se) else None
        return out

    return {"plan": str(metrics["plan"].iloc[at]), "against_forecast_optimum": against(1),
            "against_pick": against(2)}  # fmt: skip


# the head of the line naming the plan of highest mean NPV no worse than the forecast optimum: not
# "within the rule", since a plan within it whose tail is below the optimum's may have more
BEST_MEAN_HEAD = "Highest mean NPV no worse than the forecast optimum on every figure the rule reads"


def best_mean_words(best: dict | None, prefer: str, n: int) -> str:
    """'Highest mean NPV no worse than the forecast optimum on every figure the rule reads: milp:
    demand slump: against the forecast optimum mean NPV +$0.86B (paired standard error $60M) and
    CVaR5 NPV +$2.87B ($300M); the pick gives up $2.17B of mean NPV to it ($100M) for +$0.57B of
    CVaR5 NPV ($90M), on the same 1,000 scenarios.' (each error to two significant figures:
    :func:`~fleetopt.core.units.format_error`), from summary.json's ``best_mean_within_rule``
    (:func:`best_mean_alternative`; ``prefer``: the rule's figure; ``n``: the scenarios): the
    terminal prints it after the pick's reasons, the report's Recommendation ends with it. '' where
    there is none, or its fields are not numbers."""
    column = RANK_COLUMNS.get(prefer)
    if not isinstance(best, dict) or column is None:
        return ""
    optimum, pick = best.get("against_forecast_optimum"), best.get("against_pick")
    figures = [(part, name) for part in (optimum, pick) for name in ("npv_mean_usd", column)]
    if not all(isinstance(part, dict) and limits.finite_number(part.get(name)) for part, name in figures):
        return ""

    def se(part: dict, name: str, first: bool = False) -> str:
        error = part.get(NPV_PAIRED_ERROR[name])
        if not limits.finite_number(error):
            return ""
        return f" (paired standard error {format_error(error)})" if first else f" ({format_error(error)})"

    what, mean = RANK_WORDS[prefer], "npv_mean_usd"
    trade = gives_up_words(format_usd(pick[mean]), f"{MEAN_NPV_LABEL} to it{se(pick, mean)}",
                           format_usd_change(-pick[column]), f"{what}{se(pick, column)}")
    return (
        f"{BEST_MEAN_HEAD}: {best.get('plan')}: against the forecast optimum "
        f"{MEAN_NPV_LABEL} {format_usd_change(optimum[mean])}{se(optimum, mean, True)} and {what} "
        f"{format_usd_change(optimum[column])}{se(optimum, column)}; the pick {trade}, on the same "
        f"{counted(n, 'scenario')}."
    )


def gives_up_words(lost: str, lost_figure: str, gained: str, gained_figure: str) -> str:
    """'gives up $2.17B of mean NPV for +$0.57B of CVaR5 NPV': a plan's trade between two figures, as
    a sweep's line says what its pick gives up to the plan of highest mean NPV (:func:`best_mean_words`)
    and `fleetopt compare`'s "In short" what a plan gives up against the first (the amounts as
    written: ``lost`` unsigned, ``gained`` signed)."""
    return f"gives up {lost} of {lost_figure} for {gained} of {gained_figure}"


def same_rule_words(rule_words: str, stated) -> bool:
    """Whether a rule's words are those ``stated`` in a summary.json, which an earlier fleetopt
    wrote with 'default probability' where it meant the liquidity default's, and, before P(any
    default) joined the forecast optimum's risks, with two of them."""
    return isinstance(stated, str) and _plain_words(rule_words) == _plain_words(stated)


# each phrase of a rule's words as fleetopt 0.4.31 and earlier wrote it, and as it is written now
_RULE_WORDS_BEFORE = ((OPTIMUM_CONDITION_BEFORE, optimum_condition()), (NO_RISK_LIMIT_BEFORE, NO_RISK_LIMIT))


def _plain_words(words: str) -> str:
    """A rule's words as any fleetopt's words for the same rule compare: 'default' for 'liquidity
    default', each phrase of _RULE_WORDS_BEFORE as it is written now."""
    words = _default_for_liquidity(words)
    for before, now in _RULE_WORDS_BEFORE:
        words = words.replace(_default_for_liquidity(before), _default_for_liquidity(now))
    return words


def _default_for_liquidity(words: str) -> str:
    """``words`` with 'default' for 'liquidity default', as an earlier fleetopt wrote them."""
    return words.replace("liquidity default", "default")


def optimum_risks_kept(rule_words: str) -> tuple[str, ...]:
    """The risks a finished sweep's rule kept at the forecast optimum's, by its summary.json's
    ``rule_words``: OPTIMUM_RISKS, or the first two where those are a sweep's before P(any default)
    joined them."""
    before = _default_for_liquidity(OPTIMUM_CONDITION_BEFORE) in _default_for_liquidity(rule_words)
    return OPTIMUM_RISKS[:2] if before else OPTIMUM_RISKS


def changes_against(before: pd.Series, after: pd.Series) -> str:
    """'mean NPV +$1.0M, CVaR5 NPV +$2.0M, breach probability from 70.0% to 65.0%, ...': the figures a
    plan (``after``'s metrics) changes against another (``before``'s), the deposits forfeited last."""
    mean = format_usd_change(after["npv_mean_usd"] - before["npv_mean_usd"])
    cvar = format_usd_change(after["npv_cvar5_usd"] - before["npv_cvar5_usd"])
    liquidity = LIMIT_WORDS["default_probability"][1]
    deposits = [format_usd(row["forfeited_deposits_mean_usd"]) for row in (before, after)]
    return (
        f"{MEAN_NPV_LABEL} {mean}, {CVAR5_NPV_LABEL} {cvar}, "
        f"{moved_words('breach probability', before['breach_probability'], after['breach_probability'])}, "
        f"{moved_words(liquidity, before['default_probability'], after['default_probability'])}"
        f"{either_default_moved(before, after)}, and the deposits forfeited on average from "
        f"{deposits[0]} to {deposits[1]}"
    )


def cost_changes(before: pd.Series, after: pd.Series) -> str:
    """'it changes mean present cost by +$180.1M, CVaR95 present cost by +$220.4M, the share of demand
    served from 88.8% to 95.4% and the shortfall probability from 83.0% to 47.5%': a cost sweep's plan
    (``after``'s metrics) against another (``before``'s)."""
    mean, tail = (format_usd_change(after[c] - before[c]) for c in ("present_cost_mean_usd",
                                                                   "present_cost_cvar95_usd"))
    served = moved_words(LIMIT_WORDS["demand_served_share"][1], before["demand_served_share"],
                         after["demand_served_share"])
    shortfall = moved_words("shortfall probability", before["shortfall_probability"],
                            after["shortfall_probability"])
    return (f"it changes {COST_WORDS} by {mean}, CVaR95 present cost by {tail}, the {served} and the "
            f"{shortfall}")


def either_default_moved(optimum: pd.Series, pick: pd.Series) -> str:
    """' and the probability of a default of either kind, as lenders count them (a liquidity default
    or an uncured covenant breach), from 62.1% to 89.3%' where the metrics have it (a pick with
    --allow-riskier cut its liquidity defaults while lenders' defaults rose by 27 points, and the
    sentence said only the first); '' where they do not (a sweep before fleetopt 0.4.14)."""
    column = "any_default_probability"
    if column not in optimum or column not in pick:
        return ""
    return f" and the {moved_words(f'probability of {ANY_DEFAULT_WORDS}', optimum[column], pick[column])}"


def moved_words(name: str, before: float, after: float) -> str:
    """'breach probability from 60.0% to 55.0%', or 'unchanged at 0.0%' where the two are equal."""
    if before == after:
        return f"{name} unchanged at {format_percent(before)}"
    return f"{name} from {format_percent(before)} to {format_percent(after)}"


def idle_buffers(metrics: pd.DataFrame, figures, buffer_of: Sequence[str | None] | None = None) -> np.ndarray:
    """(rows,) whether each candidate is a cash-buffer variation whose every figure (``figures``,
    metrics columns) is that of its plan run without the buffer (``buffer_of``: that plan's label
    for each row; None, or not given: the forecast optimum's): its buffer never acted in these
    scenarios, so it is the same plan run the same way, not another point of the front (on lab
    all three were starred)."""
    values = metrics[list(figures)].to_numpy(dtype=float)
    at = {label: row for row, label in enumerate(metrics["plan"])}
    optimum = forecast_optimum_row(metrics)
    default = None if optimum is None else optimum["plan"]
    parents = buffer_of if buffer_of is not None else [None] * len(metrics)
    idle = np.zeros(len(metrics), dtype=bool)
    for row, (origin, parent) in enumerate(zip(metrics["origin"], parents, strict=True)):
        base = at.get(default if parent is None else parent)
        same = base is not None and np.array_equal(values[row], values[base], equal_nan=True)
        idle[row] = origin == "policy" and same
    return idle


# the words of an idle buffer's note (:func:`idle_note`) that the terminal's table marks "="
IDLE_BUFFER = "the buffer never acted"


def idle_note(whose: str) -> str:
    """What an idle buffer's note adds: ' (in these scenarios the buffer never acted: every figure
    is the forecast optimum's)', ``whose`` the plan run without it."""
    return f" (in these scenarios {IDLE_BUFFER}: every figure is {whose}'s)"


def unbuffered_words(metrics: pd.DataFrame, parent: str | None) -> str:
    """The plan a cash buffer was added to, as an idle buffer's note names it."""
    optimum = forecast_optimum_row(metrics)
    if parent is None or (optimum is not None and parent == optimum["plan"]):
        return "the forecast optimum"
    return parent


# the share of the scenarios above which the pick's explanation says its policy cancels GPU orders
# to keep its cash buffer (its "cash buffer" is then GPUs not bought, not cash kept)
CANCELLING_WORTH_SAYING = 0.5


def cancels_often(row: pd.Series) -> bool:
    """Whether a plan (its metrics ``row``) cancels an order in more than CANCELLING_WORTH_SAYING of
    the scenarios."""
    return float(row.get("order_cancelled_share", 0.0)) > CANCELLING_WORTH_SAYING


# a breach or default probability of the pick from which its explanation says it is still likely
RISK_WORTH_SAYING = 0.5


# the pick's risks said where one reaches RISK_WORTH_SAYING: P(any default) is the figure lenders count
RISKS_LEFT = (
    ("breach", "breaches a covenant"),
    ("default", "has a liquidity default"),
    ("any_default", f"has a default of either kind {ANY_DEFAULT_MEANS}"),
)


# a rise in breach or default probability (against the forecast optimum) that the explanation of a
# recommendation points out when the rule set no limit on it
RISE_WORTH_SAYING = 0.05


# what the lead's sentence says where no other plan meets the rule
NO_OTHER_PLAN = "No other plan meets the rule."


def lead_words(lead: Lead, prefer: str, n: int, pick: float, others: bool, seed: int | None = None,
               folder: str | Path | None = None, breach_limit: float | None = None,
               rule_settings: dict | None = None) -> str:
    """How sure a pick is, from its :class:`Lead` on the rule's figure (``prefer``; the pick's is
    ``pick``, USD) over ``n`` scenarios (:func:`lead_sentence`), with the command that measures the
    candidates on more fresh scenarios where the lead is within noise and ``seed``, the sweep's, is
    given (:func:`settle_command`, printing those within the rule's ``breach_limit``), or that no
    other plan (of ``others``) meets the rule (``rule_settings``: the rule's fields, whose limits the
    command cannot apply it names). Read by the recommendation's sentence and the sweep
    report's "In short" (:func:`lead_in_short`)."""
    if lead.runner_up is None:  # a buffer that never acted is the same plan: no other plan
        return f" {NO_OTHER_PLAN}" if others else ""
    if prefer == COST_RANK:
        return cost_lead_words(lead, pick, n)
    return lead_sentence(lead, prefer, n, pick, (f"the runner-up, {lead.runner_up}", SWEEP_TIE),
                         lambda need: settle_command(need, seed, prefer, folder, breach_limit,
                                                     left_to_reader(rule_settings or {})))  # fmt: skip


# how a cost sweep's rule breaks a tie on its figure (rule._best)
COST_TIE = ("the tie goes to the higher share of demand served, then the lower CVaR95 present cost, then the "
            "earlier candidate")


def cost_lead_words(lead: Lead, pick: float, n: int) -> str:
    """' It costs $12.3M less on average than the runner-up, X (mean present cost), against a standard
    error of the paired difference of $1.1M on the same 300 scenarios: beyond two standard errors, ...':
    a cost sweep's pick (its mean present cost ``pick``, USD) against the runner-up over ``n``
    scenarios, :func:`~fleetopt.evaluate.lead.lead_sentence` by mean present cost (its figure
    :data:`~fleetopt.evaluate.lead.COST_LEAD`, as an evaluation's), a tie broken by :data:`COST_TIE`."""
    return lead_sentence(lead, COST_RANK, n, pick, (f"the runner-up, {lead.runner_up}", COST_TIE))


# how the sweep's rule breaks a tie on its figure (rule._best); an evaluation's ranking
# (metrics.ranked_plans) sorts by the figure itself (first_place.evaluation_tie)
SWEEP_TIE = ("the tie goes to the lower breach probability, then the higher mean NPV, then the earlier "
             "candidate")


def left_to_reader(rule_settings: dict) -> list[tuple[str, float]]:
    """The (metrics column, limit) of each probability limit of a sweep's rule (its ``rule_settings``)
    that `fleetopt evaluate` has no option for: P(liquidity default) and P(any default)."""
    names = ("default", "any_default")
    given = [(f"{name}_probability", rule_settings.get(f"max_{name}_prob")) for name in names]
    return [(column, limit) for column, limit in given if limit is not None and limit < 1.0]


def settle_command(need: int, seed: int | None, prefer: str, folder: str | Path | None,
                   breach_limit: float | None = None, left: Sequence[tuple[str, float]] = ()) -> str:
    """'; `fleetopt evaluate --plans RUN --scenarios 4100 --seed 2 --rank-by cvar5 --max-breach-prob
    0.725` measures every candidate on that many fresh scenarios (:func:`settle_seed`), without
    solving again, and ranks those whose P(breach) is within the rule's limit (72.5%)': the next step
    where the sweep's scenarios do not tell its pick from the runner-up ('' without the sweep's
    ``seed``, or where more than :data:`SETTLE_MOST` would be needed). ``breach_limit``: the rule's
    limit on P(breach) in force (:meth:`SweepResult.breach_limit`; None: none, every candidate
    ranked): without it the ranking printed led with plans the rule had passed over (96 % breaching
    on the default model). ``left``: the rule's limits it cannot apply (:func:`left_to_reader`), named
    for the reader to apply, where a sweep's --max-default-prob went unsaid."""
    if seed is None or need > SETTLE_MOST:
        return ""
    run = "RUN" if folder is None else str(folder)
    command = ["fleetopt", "evaluate", "--plans", run, "--scenarios", str(need),
               "--seed", str(settle_seed(seed)), "--rank-by", prefer]  # fmt: skip
    within = ""
    if breach_limit is not None and breach_limit < 1.0:
        command += ["--max-breach-prob", f"{breach_limit:.4g}"]
        within = (f", and ranks those breaching in at most {format_rate(breach_limit)} of them, the "
                  "rule's limit")
    if left:
        named = " and ".join(f"{LIMIT_WORDS[column][0]} (at most {format_rate(limit)})"
                             for column, limit in left)  # fmt: skip
        within += f"; it does not apply the rule's limits on {named}: read those beside each plan it ranks"
    # a path with spaces quoted
    return (f"; `{shlex.join(command)}` measures every candidate on that many fresh scenarios, without "
            f"solving again{within}")


def settle_seed(seed: int) -> int:
    """The seed of fresh scenarios for a sweep of ``seed``: neither those it evaluates its candidates
    on nor those its stochastic candidate is solved on (:func:`~fleetopt.runs.limits.stochastic_seed`),
    which would be in sample for that candidate."""
    return limits.next_seed(limits.stochastic_seed(seed))


def lead_in_short(summary: dict, folder: str | Path | None = None) -> str:
    """:func:`lead_words` of a finished sweep's summary.json ('' for one written before it held
    ``runner_up``): the sweep report's "In short" says how sure its pick is, as its terminal does."""
    if "runner_up" not in summary:
        return ""
    se = summary.get("runner_up_lead_se_usd")
    usd = summary.get("runner_up_lead_usd") or 0.0
    lead = Lead(summary["runner_up"], usd, math.nan if se is None else se)
    prefer = (summary.get("rule_settings") or {}).get("prefer", DEFAULT_RANK)
    pick = summary.get(rank_column(prefer)) or 0.0  # no P5 in the summary: a tie's margin of 1e-9
    return lead_words(lead, prefer, summary["n_scenarios"], pick, summary["candidates_feasible"] > 1,
                      summary.get("seed"), folder, summary.get("rule_breach_limit"),
                      summary.get("rule_settings")).strip()  # fmt: skip


def why_without_lead(summary: dict) -> str:
    """A finished sweep's ``why`` without its last point, how sure the pick is, where
    :func:`lead_in_short` gives that point (the report's "In short"; its Recommendation said it again):
    its ``why_before_lead``, the points before it. A summary written before it kept them (or with
    them damaged) gives its whole ``why``."""
    points = summary.get("why_before_lead")
    kept = isinstance(points, list) and all(isinstance(point, str) for point in points)
    return " ".join(points) if kept and lead_in_short(summary) else summary.get("why", "")


def points_given(parts: list[str]) -> list[str]:
    """The sentences of :meth:`SweepResult.why_points` given, without their leading space; '' (a
    point that does not apply) left out."""
    return [part.strip() for part in parts if part.strip()]

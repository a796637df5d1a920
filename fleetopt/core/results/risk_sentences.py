"""A plan's value and risk over scenarios in the sentences of "In short" (the terminal's, a notebook's and
the reports'): mean NPV and tail, default and breach probabilities, their sampling error, and what the
policy had to do."""

from __future__ import annotations

import numpy as np

from fleetopt.core.results.headline import present_cost_shown
from fleetopt.core.results.valuation import horizon_words
from fleetopt.core.tail import probability_error, unseen_bound
from fleetopt.core.units import counted, format_error, format_percent, format_usd

# what any_default_probability counts, in the words "In short" and a sweep's pick give it
ANY_DEFAULT_MEANS = "(a liquidity default or an uncured covenant breach, as lenders count defaults)"


ANY_DEFAULT_WORDS = f"any default {ANY_DEFAULT_MEANS}"


def risk_in_short(
    label: str, n: int, row, forecast_npv: float | None = None, served: str | None = None,
    quarters: int | None = None, forecast_cost: str = "",
) -> list[str]:
    """A plan's value and risk over ``n`` scenarios in two sentences ("In short" of the reports and
    of `fleetopt evaluate`), from its metrics ``row`` (metrics.csv's names; a mapping): its mean NPV
    (against ``forecast_npv`` where given: a report's, which runs the plan on the forecast for its
    statements; an evaluation simulates the scenarios only), CVaR5 and share with a negative NPV
    (:func:`npv_in_short`); its liquidity default, covenant breach and uncured breach probabilities,
    and either default's, the lenders' count (those an older run lacks left out): the terminal's, a
    notebook's and a report's.
    ``served``: the sentence of the demand a cost plan serves (evaluate.metrics.demand_in_short), said
    before its risk, whose share of futures short of demand the sampling error then counts.
    ``quarters``: the horizon's, over which each probability is counted (a credit reader took a
    share of futures for a yearly rate where none was said; None: not said).
    A plan solved for least cost (a ``row`` with its present cost, :func:`present_cost_shown`) is said
    by its present cost first (:func:`present_cost_in_short`, against ``forecast_cost``, the words of
    its present cost on the forecast where given), the demand it serves, and its mean NPV after them as an
    imputed value alone (:func:`imputed_value_in_short`), as a cost sweep's pick and an evaluation's are."""
    against = "" if forecast_npv is None else f" against {format_usd(forecast_npv)} on the forecast"
    cost = present_cost_in_short(label, n, row, forecast_cost)
    uncured = row.get("uncured_breach_probability")  # not in a run written before fleetopt 0.4.11
    cure = ", one the owners could not cure (an event of default) in "
    event = "" if uncured is None else f"{cure}{format_percent(uncured)}"
    either = row.get("any_default_probability")  # not in a run written before fleetopt 0.4.14
    if either is not None:
        event += f"; {ANY_DEFAULT_WORDS} in {format_percent(either)}"
    said = [
        imputed_value_in_short(row, against) if cost else npv_in_short(label, n, row, against),
        f"{_over_the_horizon(quarters)} in {format_percent(float(row['default_probability']))} of the "
        f"futures, a covenant breach in {format_percent(float(row['breach_probability']))}{event}.",
    ]  # fmt: skip
    # a lab's plan: what it costs and the demand it serves, then its NPV; else the NPV and what it serves
    first = [cost, served, said[0]] if cost else [said[0], served]
    said = [sentence for sentence in first if sentence] + said[1:]
    sampling = sampling_in_short(n, row, shortfall=served is not None)
    return said + sampling + slip_in_short(row) + survival_in_short(row)


def npv_in_short(label: str, n: int, row, against: str = "") -> str:
    """A plan's mean NPV over ``n`` futures (``against``: its words on the forecast), its worst 5 % and
    the share with a negative NPV: 'Plan “milp”: mean NPV $212.4M over 100 futures; the worst 5 % average
    -$221.2M; 21.0% end with a negative NPV.'"""
    loss = (f"; {format_percent(float(row['loss_probability']))} end with a negative NPV"
            if "loss_probability" in row else "")
    npv = format_usd(float(row["npv_mean_usd"]))
    return (f"{label}: mean NPV {npv} over {counted(n, 'future')}{against}; "
            f"the worst 5 % average {format_usd(float(row['npv_cvar5_usd']))}{_limited_tail(row)}{loss}.")


# a lab's NPV (a plan solved for least cost): it values the GPUs' own use at market prices, which no one
# pays, so it is an imputed value, said after what the plan costs and serves (the report's key figures
# head it so: key_figures.IMPUTED_VALUE)
IMPUTED_NPV = "the NPV with the GPUs' own use valued at market prices"


def imputed_value_in_short(row, against: str = "") -> str:
    """A plan solved for least cost's mean NPV as an imputed value (:data:`IMPUTED_NPV`), ``against``
    its words on the forecast: its tail and the share of futures with a negative NPV are of a revenue no
    one pays, and left out (the plan's tail is its costliest futures: :func:`present_cost_in_short`)."""
    return f"Its imputed value, {IMPUTED_NPV}: {format_usd(float(row['npv_mean_usd']))} on average{against}."


def present_cost_in_short(label: str, n: int, row, forecast: str = "") -> str | None:
    """A plan solved for least cost by its present cost over ``n`` scenarios, from its metrics ``row``
    (metrics.csv's names; docs/evaluation.md, "The present cost"), against ``forecast`` (the words of
    its present cost on the forecast, where given): 'Plan “milp”: present cost $783.4M on average over
    300 futures; the costliest 5 % average $988.1M, none of them below $959.6M.' (its CVaR95 and P95:
    lower is better, so its tail is the highest costs); None where the row has none (an NPV plan's)."""
    if not present_cost_shown(row):
        return None
    against = f" against {forecast}" if forecast else ""
    mean, p95, cvar95 = (format_usd(float(row[c])) for c in ("present_cost_mean_usd", "present_cost_p95_usd",
                                                            "present_cost_cvar95_usd"))
    return (f"{label}: present cost {mean} on average over {counted(n, 'future')}{against}; the costliest "
            f"5 % average {cvar95}, none of them below {p95}.")


def _over_the_horizon(quarters: int | None) -> str:
    """The opening of the sentence of the default and breach probabilities, with the horizon they
    are counted over where it is known."""
    if quarters is None:
        return "A liquidity default"
    return f"Over {horizon_words(quarters)}, a liquidity default"


def _limited_tail(row) -> str:
    """The worst 5 % to the shareholders, with limited liability, beside the CVaR5 that counts a
    defaulted future's hole as theirs (a finance reader took -$20B for equity at risk)."""
    limited = row.get("npv_limited_cvar5_usd")  # not in a run written before fleetopt 0.4.7
    if limited is None or not np.isfinite(float(limited)):
        return ""
    return (f", counting a defaulted future's shortfall as the owners' loss ({format_usd(float(limited))} "
            "to shareholders with limited liability)")  # fmt: skip


# the probabilities "In short" states (with the shares of slip_in_short and survival_in_short), whose
# sampling error it gives
IN_SHORT_PROBABILITIES = ("loss_probability", "default_probability", "breach_probability",
                          "uncured_breach_probability", "any_default_probability")  # fmt: skip


def sampling_in_short(n: int, row, shortfall: bool = False) -> list[str]:
    """How far sampling ``n`` futures may move the figures of "In short": one standard error of the
    mean NPV and the largest of its probabilities' and shares' (:func:`probability_error`: every
    share it states, P(NPV < 0) (not of a plan solved for least cost, whose NPV is said alone) and the
    policy's reactions too, so that "at most" holds for each); where every one is 0 or 1, whose error is
    0 though they are not certain, how far one may be off at 95 % confidence (:func:`unseen_bound`);
    none with one future. ``shortfall``: whether it states the share of futures short of demand
    (evaluate.metrics.demand_in_short). Each error to two significant figures (:func:`format_error`)."""
    se = float(row.get("npv_mean_se_usd", float("nan")))
    cost = present_cost_shown(row)  # its NPV an imputed value, said without P(NPV < 0)
    probabilities = [c for c in IN_SHORT_PROBABILITIES if not (cost and c == "loss_probability")]
    stated = (*probabilities, *(["shortfall_probability"] if shortfall else []), "slipped_share",
              *SURVIVAL_WORDS)
    errors = [probability_error(float(row[c]), n) for c in stated if c in row]
    largest = max((e for e in errors if np.isfinite(e)), default=float("nan"))
    if not (np.isfinite(se) and np.isfinite(largest)):
        return []
    cost_se = float(row["present_cost_mean_se_usd"]) if cost else float("nan")
    cost_error = f"{format_error(cost_se)} on the mean present cost, " if np.isfinite(cost_se) else ""
    futures = counted(n, "future")
    opening = f"Sampling error, one standard error over {futures}: {cost_error}{format_error(se)} "
    if largest == 0:  # every share 0 or 1: no spread to measure, yet not certain ("at most 0 pp" said so)
        return [f"{opening}on the mean NPV; each probability, 0 % or 100 % of them, may be off by up to "
                f"{format_error(unseen_bound(n), 'pp')} (95 % confidence; about 3/{n:,}, the rule of three)."]
    return [f"{opening}on the mean NPV, at most {format_error(largest, 'pp')} on each probability."]


# what the policy does to get through a future, in a sentence's words, by its metrics column (the
# share of the futures in which it did it: docs/evaluation.md, "What the policy did")
SURVIVAL_WORDS = {
    "deferred_share": "defer an order",
    "order_cancelled_share": "cancel an order (its deposit lost)",
    "sold_share": "sell GPUs in distress",
    "prepayment_cut_share": "cut a planned debt prepayment",
    "rescheduled_share": "start a contract late",
    "cancelled_share": "lose a contract (cancelled)",
    # policy rule 6's, only where it is on (metrics.BASE_PREPAY_COLUMNS)
    "base_prepaid_share": "prepay debt to mend the borrowing base",
}


def slip_in_short(row) -> list[str]:
    """Where the model's futures slip deliveries (metrics.csv's `slipped_share`, written only where
    `risk.delivery_slip` is on): the share of the futures in which GPUs the plan bought arrive late,
    a risk the plan met, not a reaction of its policy."""
    share = row.get("slipped_share")
    if share is None or not np.isfinite(float(share)):
        return []
    late = "GPUs it bought arrived late (risk.delivery_slip)"
    return [f"{late} in {format_percent(float(share))} of the futures."]


def survival_in_short(row) -> list[str]:
    """What the plan's policy had to do in the futures, most often first ("In short", after its risk:
    a finance reader met it some thirty tiles down): 'Its policy had to defer an order in 74.1 % of
    the futures, cancel an order (its deposit lost) in 67.2 %, ...' (not "to get through them": a
    plan may default all the same); none
    where it did nothing (the open loop) or the run has no such columns."""
    shares = [(float(row[c]), words) for c, words in SURVIVAL_WORDS.items() if c in row]
    done = sorted([(p, words) for p, words in shares if p > 0], key=lambda x: -x[0])
    if not done:
        return []
    first, *rest = [f"{words} in {format_percent(p)}" for p, words in done]
    return [f"Its policy had to {first} of the futures" + "".join(f", {x}" for x in rest) + "."]

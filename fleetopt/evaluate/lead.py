"""How sure a first place is: a plan's lead over the next on a ranking's figure, against the paired
standard error of that lead on the same scenarios. A sweep's pick (:mod:`fleetopt.sweep.run`) and an
evaluation's first plan (:mod:`fleetopt.evaluate.first_place`) say it in the same words, by the same
rule."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleetopt.core.units import counted, format_error, format_figure
from fleetopt.evaluate.metrics import (
    LOWER_RANK_COLUMNS,
    NOISE_USD,
    RANK_WORDS,
    SIGNIFICANT,
    beyond_chance,
)

# the most scenarios the lead words suggest measuring the plans on: beyond, a lead too small against
# its error to be worth measuring (and an evaluation of hours on a laptop)
SETTLE_MOST = 200_000


@dataclass(frozen=True)
class Lead:
    """A first place's lead over the plan after it: a sweep's pick over the runner-up (the plan the
    rule would pick without it), an evaluation's first plan over its second, on the ranking's
    figure, in that figure's unit (USD; a share for an evaluation's P(any default)): ``amount`` the
    pick's figure less the runner-up's (the metrics'; on a figure lower is better, the runner-up's
    less the first's), ``se`` the standard error of that difference from the two plans' outcomes on
    the same scenarios (NaN with one scenario). ``runner_up`` None: no other candidate meets the
    rule."""

    runner_up: str | None
    amount: float = 0.0
    se: float = float("nan")


def tie_margin(score: float) -> float:
    """How close two plans' figures of the rule are to be tied (solver and sampling round-off)."""
    return 1e-9 * max(1.0, abs(score))


def scenarios_to_tell(n: int, lead: Lead) -> int:
    """About how many scenarios would put ``lead`` beyond :data:`SIGNIFICANT` standard errors, were
    it as measured (the error falls as one over the square root of the count), to two figures."""
    need = n * (SIGNIFICANT * lead.se / abs(lead.amount)) ** 2
    return int(float(f"{need:.2g}")) if need < 10 else max(n + 1, int(float(f"{math.ceil(need):.2g}")))


@dataclass(frozen=True)
class LeadFigure:
    """The figure a lead is on, as its sentence says it: ``what``, its words ('CVaR5 NPV'); ``unit``,
    that of the lead and its error (:func:`~fleetopt.core.units.format_figure`, 'USD', or 'pp' for a
    probability's points); ``noise``, the round-off within which two plans' figures do not differ; and
    the lead's words, formats of ``{whom}`` (the plan led), ``{amount}`` and ``{what}``: ``states``
    where the sentence states the lead (beyond two standard errors, or with none), ``weighs`` where
    it weighs it (within them, round-off)."""

    what: str
    unit: str = "USD"
    noise: float = NOISE_USD
    states: str = "It leads {whom}, by {amount} of {what}"
    weighs: str = "Its lead over {whom}, is {amount} of {what}"


# a present cost's lead is a saving, said as one in every branch of the lead's sentence: a cost sweep's
# pick's and an evaluation's first plan's by mean present cost (' It costs $12.3M less on average than
# the runner-up, X (mean present cost), ...'), or in its costliest 5 % of futures (metrics.COST_RANK_COLUMNS)
_MEAN_SAVING = "It costs {amount} less on average than {whom} ({what})"
_TAIL_SAVING = "It costs {amount} less on average in the costliest 5 % of futures than {whom} ({what})"
COST_LEAD = LeadFigure(RANK_WORDS["cost"], states=_MEAN_SAVING, weighs=_MEAN_SAVING)
COST_LEADS = {"cost": COST_LEAD,
              "cost-cvar95": LeadFigure(RANK_WORDS["cost-cvar95"], states=_TAIL_SAVING, weighs=_TAIL_SAVING)}


def ranking_figure(prefer: str) -> LeadFigure:
    """The figure of the ranking ``prefer`` (:data:`~fleetopt.evaluate.metrics.RANK_WORDS`): an NPV's in
    USD, a present cost's as a saving in USD (:data:`COST_LEADS`), or a probability's
    (:data:`LOWER_RANK_COLUMNS`) in points, whose plans differ by a scenario or more, no round-off, as
    `fleetopt compare` writes their differences."""
    if prefer in COST_LEADS:
        return COST_LEADS[prefer]
    if prefer in LOWER_RANK_COLUMNS:
        return LeadFigure(RANK_WORDS[prefer], unit="pp", noise=0.0)
    return LeadFigure(RANK_WORDS[prefer])


def no_lead(lead: Lead, prefer: str, first: float) -> bool:
    """Whether ``lead`` on the ranking ``prefer``'s figure (the first plan's ``first``) is no lead at all:
    a tie (:func:`tie_margin`) or round-off (the figure's noise), as :func:`figure_lead_sentence` says it."""
    return abs(lead.amount) <= max(tie_margin(first), ranking_figure(prefer).noise)


def lead_sentence(lead: Lead, prefer: str, n: int, first: float, other: tuple[str, str],
                  then=lambda need: "") -> str:
    """:func:`figure_lead_sentence` on the ranking ``prefer``'s figure (:func:`ranking_figure`): an
    evaluation's first plan (:func:`~fleetopt.evaluate.first_place.first_place_words`), an NPV
    sweep's pick (:func:`~fleetopt.sweep.recommendation.lead_words`) and a cost sweep's
    (:func:`~fleetopt.sweep.recommendation.cost_lead_words`)."""
    return figure_lead_sentence(lead, ranking_figure(prefer), n, first, other, then)


def figure_lead_sentence(lead: Lead, figure: LeadFigure, n: int, first: float, other: tuple[str, str],
                         then=lambda need: "") -> str:
    """How sure a first place is, from its :class:`Lead` on ``figure`` (the first plan's is ``first``)
    over ``n`` scenarios: ' It leads the runner-up, X, by $0.63B of CVaR5 NPV, against a standard
    error of the paired difference of $250M ...: beyond two standard errors ...' (the error to two
    significant figures, :func:`~fleetopt.core.units.format_error`; in points for a probability: 'by
    3.00 pp of P(any default)'), or within them (the scenarios do not tell the two apart, and about
    how many would, then ``then(need)``: the next step), a tie (``other``: the words naming the plan
    led, 'the runner-up, X', which the sentence follows with a comma, and how a tie is broken),
    round-off, or a lead with no error. Each branch says the lead in ``figure``'s words: a present
    cost's 'It costs $12.0M less on average than ...' (:data:`COST_LEAD`)."""
    whom, tie = other
    words = {"whom": whom, "amount": format_figure(lead.amount, figure.unit), "what": figure.what}
    states, weighs = figure.states.format(**words), figure.weighs.format(**words)
    if abs(lead.amount) <= tie_margin(first):
        return f" It ties with {whom}, on {figure.what}: {tie}."
    if abs(lead.amount) <= figure.noise:  # beyond the tie's margin, within a dollar: round-off
        return f" {weighs}, round-off: the two are not told apart."
    if not math.isfinite(lead.se):  # one scenario, or a CVaR5 whose tail is one scenario
        why = "one scenario gives" if n < 2 else f"a tail of one scenario (the worst of {n:,}) gives"
        return f" {states}; {why} that lead no standard error."
    against = (f", against a standard error of the paired difference of {format_error(lead.se, figure.unit)} "
               f"on the same {counted(n, 'scenario')}")  # fmt: skip
    if beyond_chance(lead.amount, lead.se, figure.noise):
        return f" {states}{against}: beyond two standard errors, so these scenarios tell the two apart."
    need = scenarios_to_tell(n, lead)
    return (f" {weighs}{against}: within two standard errors, so these scenarios do not tell the two apart "
            f"(about {need:,} would, were the lead as measured){then(need)}.")  # fmt: skip


# the most scenarios a sweep's lead words suggest evaluating its candidates on: beyond, a lead too

"""How sure a first place is: a plan's lead over the next on a ranking's figure, against the paired
standard error of that lead on the same scenarios. A sweep's pick (:mod:`fleetopt.sweep.run`) and an
evaluation's first plan (:mod:`fleetopt.evaluate.first_place`) say it in the same words, by the same
rule."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleetopt.core.units import counted, format_error, format_figure, format_usd
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


def lead_sentence(lead: Lead, prefer: str, n: int, first: float, other: tuple[str, str],
                  then=lambda need: "") -> str:
    """How sure a first place is, from its :class:`Lead` on the figure ``prefer`` (the first plan's
    is ``first``, USD, or a share for P(any default), whose lead is in points: 'by 3.00 pp of P(any
    default)') over ``n`` scenarios: ' It leads the runner-up, X, by $0.63B of CVaR5 NPV, against a
    standard error of the paired difference of $250M ...: beyond two standard errors ...' (the error
    to two significant figures, :func:`~fleetopt.core.units.format_error`), or within them (the
    scenarios do not tell the two apart, and about how many would, then ``then(need)``: the next
    step), a tie (``other``: the words naming the plan led, 'the runner-up, X', which the sentence
    follows with a comma, and how a tie is broken), round-off, or a lead with no error. A sweep's pick
    (:func:`~fleetopt.sweep.recommendation.lead_words`) and an evaluation's first plan
    (:func:`~fleetopt.evaluate.first_place.first_place_words`) read it."""
    what, write = RANK_WORDS[prefer], _amount_of(prefer)
    noise = 0.0 if prefer in LOWER_RANK_COLUMNS else NOISE_USD  # a share differs by a scenario or more
    whom, tie = other
    if abs(lead.amount) <= tie_margin(first):
        return f" It ties with {whom}, on {what}: {tie}."
    if abs(lead.amount) <= noise:  # beyond the tie's margin, within a dollar: round-off
        return (f" Its lead over {whom}, is {write(lead.amount)} of {what}, round-off: the two are not "
                "told apart.")  # fmt: skip
    if not math.isfinite(lead.se):  # one scenario, or a CVaR5 whose tail is one scenario
        why = "one scenario gives" if n < 2 else f"a tail of one scenario (the worst of {n:,}) gives"
        return f" It leads {whom}, by {write(lead.amount)} of {what}; {why} that lead no standard error."
    said = (f"{write(lead.amount)} of {what}, against a standard error of the paired difference of "
            f"{format_error(lead.se, _unit_of(prefer))} on the same {counted(n, 'scenario')}")  # fmt: skip
    if beyond_chance(lead.amount, lead.se, noise):
        return (f" It leads {whom}, by {said}: beyond two standard errors, so these scenarios tell the two "
                "apart.")  # fmt: skip
    need = scenarios_to_tell(n, lead)
    return (f" Its lead over {whom}, is {said}: within two standard errors, so these scenarios do not "
            f"tell the two apart (about {need:,} would, were the lead as measured){then(need)}.")  # fmt: skip


def _amount_of(prefer: str):
    """How a lead on the figure ``prefer`` is written: USD, or for a probability
    (:data:`LOWER_RANK_COLUMNS`) percentage points, as `fleetopt compare` writes their differences
    (its error: :func:`_unit_of`)."""
    return (lambda share: format_figure(share, "pp")) if prefer in LOWER_RANK_COLUMNS else format_usd


def _unit_of(prefer: str) -> str:
    """The unit of :func:`format_error` a lead's standard error on the figure ``prefer`` is written in:
    USD, or percentage points for a probability (two significant figures either way)."""
    return "pp" if prefer in LOWER_RANK_COLUMNS else "USD"


# the most scenarios a sweep's lead words suggest evaluating its candidates on: beyond, a lead too

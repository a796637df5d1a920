"""The risk tail: the share of worst scenarios that P5 and CVaR5 read, defined once for the
evaluator's metrics, the comparisons and the stochastic MILP's CVaR (formulation §7b).

The tail is the ``k = ceil(5 % of S)`` worst scenarios: ``P5`` is the k-th worst NPV and ``CVaR5``
the mean of the k worst, so CVaR5 <= P5 always holds. The stochastic MILP's scenarios are weighted
by their probabilities: its CVaR is the mean of their worst share (this one by default) of probability,
a scenario in part where it straddles the share (:func:`fleetopt.milp.stochastic.risk.cvar`, formulation §7b).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

TAIL = 0.05  # the share of worst scenarios, 5 %


def cvar_name(share: float) -> str:
    """CVaR of a tail ``share`` named as the evaluator names its CVaR5, by the percentage: 'CVaR5'
    for 0.05, 'CVaR2.5' for 0.025, 'CVaR10' for 0.1 (the stochastic solve's read 'CVaR0.05' beside
    every other report's 'CVaR5')."""
    return f"CVaR{100 * share:.6g}"


def tail_count(n_scenarios: int, share: float = TAIL) -> int:
    """k = ceil(share x S), at least 1; the product's round-off is not a scenario more (0.07 x 200
    is 14.000000000000002 in floating point: 14, not 15)."""
    return max(1, math.ceil(share * n_scenarios - 1e-9))


def worst_k(npv: Any, k: int, xp: Any = np) -> Any:
    """The ``k`` worst NPVs of each row of ``npv`` (its last axis), in order: a partition then a sort
    of those k, the same values as a full sort's first k. The k-th is P5 where k is
    :func:`tail_count`; their mean CVaR5."""
    return xp.sort(xp.partition(npv, k - 1, axis=-1)[..., :k], axis=-1)


def cvar_of_worst(worst: Any, xp: Any = np) -> Any:
    """CVaR5 of each row from its :func:`worst_k`: their mean, never above the k-th (P5); the clamp
    removes the sum's round-off where they are equal (three copies of x can average to x + 1 ulp)."""
    return xp.minimum(worst.mean(axis=-1), worst[..., -1])


def standard_error(values: Any, xp: Any = np) -> Any:
    """The standard error of the mean over the scenarios (the last axis of ``values``): their sample
    standard deviation (divisor S - 1, the unbiased variance's) over sqrt(S); NaN with one scenario
    (it measures no spread). The one definition every standard error of a mean over scenarios
    printed or written reads: the mean NPV's, a paired difference's, a probability's."""
    n = values.shape[-1]
    if n < 2:
        return xp.full(values.shape[:-1], xp.nan) if values.ndim > 1 else float("nan")
    return values.std(axis=-1, ddof=1) / math.sqrt(n)


def unseen_bound(n: int) -> float:
    """The probability an event seen in none of ``n`` futures may still have, at 95 % confidence: the
    largest p with (1 - p)^n at least 5 %, 1 - 0.05^(1/n), about 3/n (the rule of three); the same
    distance below 1 for an event seen in all of them (where :func:`probability_error` is 0)."""
    return 1.0 - 0.05 ** (1.0 / n)


def probability_error(share: float, n_scenarios: int) -> float:
    """The standard error of a probability measured as the ``share`` of ``n_scenarios`` scenarios in
    which an event happens: :func:`standard_error` of the 0/1 outcomes in closed form,
    sqrt(p (1 - p) / (S - 1)); NaN with one scenario (it measures no spread)."""
    if n_scenarios <= 1 or not math.isfinite(share):
        return float("nan")
    return math.sqrt(share * (1.0 - share) / (n_scenarios - 1))

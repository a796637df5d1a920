"""The risk measures of the stochastic objective: CVaR of a discrete distribution and
(1 - L) E[V] + L CVaR_A(V) (Rockafellar-Uryasev, docs/formulation.md §7b)."""

from __future__ import annotations

import numpy as np


def cvar(values: np.ndarray, probabilities: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete distribution: the probability-weighted mean of its worst alpha share."""
    order = np.argsort(values, kind="stable")
    left, total = alpha, 0.0
    for n in order:
        take = min(left, probabilities[n])
        total += take * values[n]
        left -= take
        if left <= 1e-15:
            break
    return total / alpha


def risk_value(values: np.ndarray, probabilities: np.ndarray, risk_weight: float, alpha: float) -> float:
    """(1 - L) E[V] + L CVaR_A(V) of per-scenario values."""
    expected = float(np.dot(probabilities, values))
    if risk_weight == 0:
        return expected
    return (1.0 - risk_weight) * expected + risk_weight * cvar(values, probabilities, alpha)


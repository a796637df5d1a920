"""Risk metrics of each plan over its scenarios.

The tail is the ``k = ceil(5 % of S)`` worst scenarios: ``P5`` is the k-th worst NPV and
``CVaR5`` the mean of the k worst, so CVaR5 <= P5 always holds.
"""

from __future__ import annotations

import math

import numpy as np

TAIL = 0.05

METRIC_COLUMNS = {
    "npv_mean_usd": "mean NPV over scenarios, USD",
    "npv_std_usd": "standard deviation of NPV, USD",
    "npv_p5_usd": "5th percentile of NPV (k-th worst, k = ceil(5 % of scenarios)), USD",
    "npv_cvar5_usd": "mean NPV of the worst 5 % of scenarios, USD",
    "breach_probability": "share of scenarios with any covenant breach",
    "default_probability": "share of scenarios with a liquidity default",
    "expected_min_cash_usd": "mean over scenarios of the lowest quarterly cash, USD",
    "mean_utilisation": "mean share of held GPUs earning revenue",
}


def tail_count(n_scenarios: int) -> int:
    return max(1, math.ceil(TAIL * n_scenarios - 1e-9))


def plan_metrics(results: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(P,) metrics from (P, S) simulation results (host NumPy arrays)."""
    npv = np.asarray(results["npv"], dtype=np.float64)
    k = tail_count(npv.shape[1])
    ordered = np.sort(npv, axis=1)
    p5 = ordered[:, k - 1]
    return {
        "npv_mean_usd": npv.mean(axis=1),
        "npv_std_usd": npv.std(axis=1),
        "npv_p5_usd": p5,
        # the mean of k values none above p5 is at most p5; the clamp removes the round-off of the
        # sum when they are equal (three copies of x can average to x plus one ulp)
        "npv_cvar5_usd": np.minimum(ordered[:, :k].mean(axis=1), p5),
        "breach_probability": np.asarray(results["breach"]).mean(axis=1),
        "default_probability": np.asarray(results["default"]).mean(axis=1),
        "expected_min_cash_usd": np.asarray(results["min_cash"]).mean(axis=1),
        "mean_utilisation": np.asarray(results["utilisation"]).mean(axis=1),
    }

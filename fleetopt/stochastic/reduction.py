"""Scenario reduction: fast-forward selection (Heitsch and Römisch, 2003), stratified so that the
tail of the screened NPV distribution keeps representatives of its own.

Pure NumPy and deterministic: the same features give the same selection (ties go to the lower
index), so a seed's reduced set is reproducible.
"""

from __future__ import annotations

import numpy as np

from fleetopt.core.tail import tail_count


def standardised(features: np.ndarray) -> np.ndarray:
    """Columns scaled to unit standard deviation around their mean (constant columns dropped)."""
    features = np.asarray(features, dtype=np.float64)
    std = features.std(axis=0)
    keep = std > 1e-12
    return (features[:, keep] - features[:, keep].mean(axis=0)) / std[keep]


# the (rows, M, d) differences of :func:`distances` are made this many bytes at a time
DIFFERENCE_BYTES = 64 * 2**20


def distances(points: np.ndarray) -> np.ndarray:
    """(M, M) Euclidean distances between the rows of ``points`` (M, d), computed a block of rows at
    a time: the (M, M, d) array of every pair's differences would take d times the memory of the
    result (26.9 GiB for the 19,000 scenarios of the body of a 20,000-scenario screen)."""
    M, d = points.shape
    dist = np.zeros((M, M))
    rows = max(1, DIFFERENCE_BYTES // (8 * max(M * d, 1)))
    for start in range(0, M if d else 0, rows):
        block = points[start : start + rows]
        squares = (block[:, None, :] - points[None, :, :]) ** 2
        dist[start : start + len(block)] = np.sqrt(squares.sum(axis=-1))
    return dist


def fast_forward(points: np.ndarray, probabilities: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Select ``n`` of the scenarios ``points`` (M, d): each step adds the scenario that most lowers
    the probability-weighted distance of every scenario to its nearest selected one; each
    scenario's probability then goes to its nearest selected scenario. Returns (indices in the
    order selected, their probabilities)."""
    M = len(points)
    n = min(n, M)
    dist = distances(points)
    weighted = np.empty_like(dist)  # one (M, M) buffer for every step's weighted distances
    nearest = np.full(M, np.inf)
    chosen: list[int] = []
    for _ in range(n):
        np.minimum(nearest[:, None], dist, out=weighted)
        cost = np.multiply(probabilities[:, None], weighted, out=weighted).sum(axis=0)
        cost[chosen] = np.inf
        pick = int(np.argmin(cost))  # first minimum: the lower index on ties
        chosen.append(pick)
        nearest = np.minimum(nearest, dist[:, pick])
    owner = np.argmin(dist[:, chosen], axis=1)
    weights = np.bincount(owner, weights=probabilities, minlength=len(chosen))
    return np.array(chosen, dtype=np.int64), weights


def tail_representatives(n: int, alpha: float, tail: int, body: int) -> int:
    """How many of ``n`` (1 < n < tail + body) representatives the tail's ``tail`` scenarios get:
    max(1, round(alpha n)) (Python's round: half to even), at most n - 1 while the body has
    scenarios (it keeps one), every one of them when it has none, and at least n - body (the
    body cannot hold more representatives than scenarios). Always n in all with the body's."""
    wanted = max(1, round(alpha * n))
    most = min(tail, n - 1 if body else n)
    return min(max(wanted, n - body, 1), most)


def reduce_scenarios(
    npv: np.ndarray, features: np.ndarray, n: int, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` representatives of the M screened scenarios with probabilities summing to one.

    The worst ceil(alpha M) scenarios by ``npv`` (the screening NPV of the forecast plan; the
    evaluator's :func:`~fleetopt.core.tail.tail_count`, so 0.07 x 200 is 14) form the tail and
    get :func:`tail_representatives` of their own (with their mass ceil(alpha M) / M),
    the rest the remaining ones, each stratum by :func:`fast_forward` on the standardised
    ``features`` (the NPV itself among them). With n = 1 the single scenario is the medoid of all;
    with n >= M every scenario is kept. Always ``min(n, M)`` representatives."""
    npv = np.asarray(npv, dtype=np.float64)
    M = len(npv)
    if n < 1:
        raise ValueError("n must be at least 1")
    points = standardised(np.column_stack([npv, features]))
    p = np.full(M, 1.0 / M)
    if n == 1 or n >= M:
        idx, w = fast_forward(points, p, min(n, M))
        return idx, w / w.sum()
    order = np.lexsort((np.arange(M), npv))  # by NPV, then index
    tail = np.sort(order[: tail_count(M, alpha)])
    body = np.sort(order[len(tail) :])
    n_tail = tail_representatives(n, alpha, len(tail), len(body))
    n_body = n - n_tail
    picked, weights = [], []
    for members, k in ((tail, n_tail), (body, n_body)):
        if k == 0:
            continue
        idx, w = fast_forward(points[members], p[members], k)
        picked.append(members[idx])
        weights.append(w)
    idx, w = np.concatenate(picked), np.concatenate(weights)
    return idx, w / w.sum()

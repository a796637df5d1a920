"""What an evaluation keeps besides its metrics: the per-pair outcomes it keeps with
``keep_outcomes`` (:data:`OUTCOMES`, :data:`DEMAND_OUTCOMES`, :data:`MEAN_OUTCOMES`) and where a
notebook display of it says every figure is (:data:`EVALUATION_NEXT`)."""

from __future__ import annotations

from fleetopt.evaluate.metrics import MEAN_OF_PAIRS

# the per-pair outcomes an evaluation keeps with keep_outcomes (fleetopt compare's paired errors)
OUTCOMES = ("breach", "uncured_breach", "default")
# and each pair's share of its scenario's demand served and whether it is short (metrics.demand_per_pair)
DEMAND_OUTCOMES = ("demand_share", "demand_short")
# and each pair's value of the results whose means compare pairs (metrics.MEAN_OF_PAIRS), float64:
# 48 bytes a pair more, 67 in all with the above (the NPV matrix another 8)
MEAN_OUTCOMES = tuple(MEAN_OF_PAIRS.values())


# where a notebook display of an evaluation says every figure is
EVALUATION_NEXT = "Next: .metrics (every figure: USD, shares in [0, 1]), .ranked(rank_by)"

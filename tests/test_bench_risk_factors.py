"""benchmarks/bench_risk_factors.py: its "none" row is the forecast, so each factor's row measures that
factor alone (docs/calibration.md, "Risk outputs against the market")."""

import numpy as np

from benchmarks.bench_risk_factors import EVERY_FACTOR_NEUTRAL, with_risk
from fleetopt import api
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios


def test_with_every_factor_neutral_every_scenario_is_the_forecast():
    """The default model's uncertain price slope (risk.price_trend_volatility_annual 0.05) was no
    factor of the benchmark: its "none" row still defaulted 0.8 % of futures, and every "only" row
    carried the slope too."""
    _, data = api.load("neocloud")
    neutral = with_risk(data, data.risk.model_copy(update=EVERY_FACTOR_NEUTRAL))
    drawn = generate_scenarios(neutral, 7, 0, 16).factors
    forecast = deterministic_scenarios(neutral, 16).factors
    moved = [name for name in forecast if not np.array_equal(drawn[name], forecast[name])]
    assert moved == []

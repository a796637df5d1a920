"""Which risk factor drives a model's defaults and breaches (docs/calibration.md, "Risk outputs
against the market"): its forecast optimum, run with the policy, with every factor of the `risk`
block, with none, without each factor alone and with each factor alone.

    python -m benchmarks.bench_risk_factors [--model neocloud] [--scenarios 2000] [--seed 7]

Every run uses the same plan and the same scenario seed; a factor is "off" when its setting is at
the value that makes it neutral (volatility 0, no shock, no rating and no hazard).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from fleetopt import api
from fleetopt.core.units import format_percent, format_usd
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate

NEUTRAL = {  # each factor's settings at their neutral values
    "market price volatility": {"price_volatility_annual": 0.0},
    "price slope": {"price_trend_volatility_annual": 0.0},
    "demand volatility": {"demand_volatility_annual": 0.0},
    "generation step": {"new_generation_price_step": 0.0},
    "self-competition": {"self_competition": None},
    "customer defaults": {"customer_ratings": {}, "customer_default_hazard_per_quarter": 0.0},
    "AI cycle": {"ai_cycle": None},
    "late power": {"power_delay": None},
    "reference rate": {"reference_rate_volatility_annual": 0.0},
    "electricity price": {"electricity_price_volatility_annual": 0.0},
    "resale value": {"resale_value_volatility_annual": 0.0, "resale_swing_share": None},  # its tie to prices too
}
EVERY_FACTOR_NEUTRAL = {key: value for settings in NEUTRAL.values() for key, value in settings.items()}


def with_risk(data, risk):
    """``data`` with the ``risk`` block ``risk``: without ratings and the unrated hazard, no customer
    defaults."""
    d = replace(data, risk=risk)
    if not risk.customer_ratings and not risk.customer_default_hazard_per_quarter:
        d = replace(d, customer_hazard=np.zeros_like(data.customer_hazard))
    return d


def run(data, batch, risk, label: str, scenarios: int, seed: int) -> None:
    m = evaluate(with_risk(data, risk), batch, scenarios, seed).metrics.iloc[0]
    print(
        f"| {label} | {format_usd(m['npv_mean_usd'])} | {format_usd(m['npv_cvar5_usd'])} | "
        f"{format_percent(m['breach_probability'])} | {format_percent(m['default_probability'])} | "
        f"{format_percent(m['sold_share'])} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph, whole
    parser.add_argument("--model", default="neocloud")
    parser.add_argument("--scenarios", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    loaded, data = api.load(args.model)
    batch = compile_plans(data, [api.solve(loaded).plan], ["forecast optimum"])
    risk = data.risk
    print(f"{args.model}: forecast optimum with the policy, {args.scenarios:,} scenarios, seed {args.seed}")
    print("| factors | mean NPV | CVaR5 | P(breach) | P(default) | distress sale |")
    print("|---|---|---|---|---|---|")
    run(data, batch, risk, "all", args.scenarios, args.seed)
    run(data, batch, risk.model_copy(update=EVERY_FACTOR_NEUTRAL), "none", args.scenarios, args.seed)
    for name, settings in NEUTRAL.items():
        run(data, batch, risk.model_copy(update=settings), f"without {name}", args.scenarios, args.seed)
    for name, settings in NEUTRAL.items():
        others = {key: value for key, value in EVERY_FACTOR_NEUTRAL.items() if key not in settings}
        run(data, batch, risk.model_copy(update=others), f"only {name}", args.scenarios, args.seed)


if __name__ == "__main__":
    main()

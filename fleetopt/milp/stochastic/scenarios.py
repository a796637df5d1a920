"""A scenario in MILP terms (:class:`ScenarioInputs`: multipliers and shifts on the forecast) and
setting a scenario model's mutable parameters to it (:func:`apply_scenario`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from fleetopt.core.data import ModelData


@dataclass
class ScenarioInputs:
    """One scenario in MILP terms; None leaves a factor at the forecast."""

    name: str
    probability: float
    price_by_generation: np.ndarray | None = None  # (G, T) multiplier on market prices
    demand_scale: np.ndarray | None = None  # (2, T) multiplier on market demand by use
    contract_alive: np.ndarray | None = None  # (K, T) 1 while the customer has not defaulted
    block_delay: np.ndarray | None = None  # (I, T) extra quarters of a block started at i in tau
    rate_shift: np.ndarray | None = None  # (T,) change of the floating reference rate, annual
    spread_shift: np.ndarray | None = None  # (T,) change of the spread of refinanced bullets, annual
    electricity: np.ndarray | None = None  # (T,) multiplier on electricity prices
    resale: np.ndarray | None = None  # (T,) multiplier on resale values (proceeds, terminal, collateral)


def apply_scenario(m: pyo.Block, data: ModelData, sc: ScenarioInputs) -> None:
    """Set the scenario parameters of one (scenario) model to ``sc``."""
    for (g, t), p in m.generation_price.items():
        p.set_value(1.0 if sc.price_by_generation is None else float(sc.price_by_generation[g, t]))
    for (u, t), p in m.demand_scale.items():
        p.set_value(1.0 if sc.demand_scale is None else float(sc.demand_scale[u, t]))
    for (k, t), p in m.contract_alive.items():
        p.set_value(1.0 if sc.contract_alive is None else float(sc.contract_alive[k, t]))
    for (i, tau, t), p in m.block_online.items():
        delay = 0 if sc.block_delay is None else int(sc.block_delay[i, tau])
        p.set_value(1.0 if t >= tau + data.sites[i].lead_time + delay else 0.0)
    for t, p in m.rate_shift.items():
        p.set_value(0.0 if sc.rate_shift is None else float(sc.rate_shift[t]))
    for t, p in m.spread_shift.items():
        p.set_value(0.0 if sc.spread_shift is None else float(sc.spread_shift[t]))
    for t, p in m.electricity_scale.items():
        p.set_value(1.0 if sc.electricity is None else float(sc.electricity[t]))
    during, end = cohort_resale_scale(data, sc.resale)
    for (c, t), p in m.resale_scale.items():
        p.set_value(float(during[c, t]))
    for c, p in m.terminal_resale_scale.items():
        p.set_value(float(end[c]))
    # the collateral at the scenario's resale level, uncapped: the evaluator's borrowing base values
    # every GPU held so (docs/evaluation.md, quarter step 6), whatever the cap on a sale's proceeds
    for t, p in m.collateral_scale.items():
        p.set_value(1.0 if sc.resale is None else float(sc.resale[t]))


def cohort_resale_scale(data: ModelData, resale: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(C, T) and (C,) each cohort's resale factor on a sale in quarter t and at the horizon's end: the
    scenario's ``resale`` (the end: its last quarter's), capped for a cohort bought in the horizon at
    the factor where its market value reaches its price (price / value in quarter t; at the end, price
    / value then). A copy sees its scenario to the end: uncapped, where resale values rise above a new
    GPU's price it bought GPUs at the forecast's price to sell or hold them at the scenario's (the
    default model's reduced scenario ending at 2.73x bought GPUs no site could power). The opening
    fleet is not capped: no recourse buys more of it. Ones where resale is None (the forecast)."""
    C, T = len(data.cohorts), data.T
    if resale is None:
        return np.ones((C, T)), np.ones(C)
    factor = np.asarray(resale, dtype=np.float64)
    price = np.array([c.capex_per_gpu_usd for c in data.cohorts])[:, None]
    bought = np.array([c.bought >= 0 for c in data.cohorts])[:, None]
    value = np.hstack([data.resale_gross, data.terminal_gross[:, None]])  # (C, T + 1), USD per GPU
    cap = np.divide(price, value, out=np.full(value.shape, np.inf), where=value > 0)
    scale = np.minimum(np.append(factor, factor[-1])[None, :], np.where(bought, cap, np.inf))
    return scale[:, :T], scale[:, T]


"""A solved scenario copy's figures in USD (:func:`scenario_row`): its value, NPV, and the rescue it
needed, each relaxed group summed over its quarters in its unit (:func:`summed_unit`)."""

from __future__ import annotations

import pyomo.environ as pyo

from fleetopt.core.data import ModelData
from fleetopt.milp.build import SLACKS
from fleetopt.milp.diagnose import model_limit_words
from fleetopt.milp.stochastic.rescue import BORROWING_BASE, RESCUE_TOLERANCE_USD, cures_covenant
from fleetopt.milp.stochastic.scenarios import ScenarioInputs
from fleetopt.milp.units import MUSD, from_model_units, output_unit


def summed_unit(unit: str) -> str:
    """The unit of a slack group's amounts summed over its quarters: every physical slack is per
    quarter, so 0.2 MW short in two quarters is 0.4 MW-quarters (USD: the quarters' shortfalls
    added up)."""
    unit = output_unit(unit)
    return unit if unit == "USD" else f"{unit.removesuffix('s')}-quarters"


def scenario_row(blk: pyo.Block, data: ModelData, sc: ScenarioInputs) -> dict:
    """A solved scenario model's figures (USD): its value, NPV, the rescue it needed (the slacks of
    each group it relaxed, summed over the group's quarters: USD, MW-quarters or GPU-quarters,
    :func:`summed_unit`, with the limit's words as the diagnosis gives them, the model's own
    covenant: :func:`~fleetopt.milp.diagnose.model_limit_words`) and what kind: ``cash_rescue``
    (emergency equity: cash short after the revolver, the evaluator's liquidity default),
    ``covenant_cure`` (a covenant or borrowing-base slack, or a stress covenant row's: the evaluator's
    breach, :func:`cures_covenant`), ``relaxed`` (any other slack: power, contract delivery, demand
    floor, customer share, the robustness block's stress cash and liquidity rows) and
    ``rescued``, any of the three."""
    T = data.T
    equity = sum(pyo.value(blk.rescue_equity[t]) for t in range(T)) * MUSD
    revolver = max(pyo.value(blk.revolver_balance[t]) for t in range(T)) * MUSD
    slacks = {}  # group -> {"amount", "unit", "limit"}: the group's relaxation summed over its quarters
    keys = {}  # group -> its rows relaxed, whose parts the limit's words name
    cures = set()  # whether each slack used cures a covenant (cures_covenant)
    for idx in blk.SLACK:
        value = _relaxed(blk, idx)
        if value > 1e-6:
            cures.add(cures_covenant(idx))
            unit = SLACKS[idx[0]].unit
            entry = slacks.setdefault(idx[0], {"amount": 0.0, "unit": summed_unit(unit)})
            entry["amount"] += from_model_units(value, unit)
            keys.setdefault(idx[0], []).append(idx[1:])
    for group, entry in slacks.items():  # as the diagnosis names it: the model's own covenant
        entry["limit"] = model_limit_words(data, group, keys[group])
    return {
        "scenario": sc.name,
        "probability": sc.probability,
        "value_usd": pyo.value(blk.scenario_value) * MUSD,
        "npv_usd": pyo.value(blk.owner_npv) * MUSD,
        "emergency_equity_usd": equity,
        "revolver_peak_usd": revolver,
        "slacks": slacks,
        "cash_rescue": equity > RESCUE_TOLERANCE_USD,
        "covenant_cure": True in cures,
        "relaxed": False in cures,
        "rescued": equity > RESCUE_TOLERANCE_USD or bool(slacks),
    }


def _relaxed(blk: pyo.Block, idx: tuple) -> float:
    """How far a solved copy relaxed the row of slack ``idx`` (model units): its slack, or for the
    borrowing base, cured once at its largest shortfall
    (:func:`~fleetopt.milp.stochastic.scenario_model._collateral_cure`), the row's own shortfall: its
    slack may lie anywhere up to that largest one at no cost."""
    value = blk.slack[idx].value or 0.0
    if idx[0] != BORROWING_BASE:
        return value
    needed, allowed = blk.borrowing_base[idx[1]].expr.args  # needed <= collateral + slack
    return max(0.0, pyo.value(needed) - pyo.value(allowed) + value)


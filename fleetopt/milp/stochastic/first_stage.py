"""The first stage of the two-stage programme (docs/formulation.md §7b, "Stages"): which decisions
every scenario copy shares, and reading, fixing and listing them in a model."""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

# decisions dated by their last index; those before quarter Q are first stage (non-anticipative)
DATED_FIRST_STAGE = ("buy", "buy_training", "build", "redeploy", "retire_tr", "retire_in", "draw", "prepay")

# the families --share-purchases makes first stage in every quarter: GPU blocks bought, power blocks
# started and debt drawn, which the evaluator runs as the plan dates them (its policy only defers an
# order, and the draws that fund it); the GPUs' training split, redeployments, retirements, prepayments
# (which the policy cuts) and the revolver stay each copy's own after quarter Q (formulation §7b)
SHARED_PURCHASES = ("buy", "build", "draw")


@dataclass(frozen=True)
class FirstStage:
    """The decisions every scenario copy shares (§7b, "Stages"): those dated before ``quarters``, every
    contract acceptance, and the families of ``whole_horizon`` (:data:`SHARED_PURCHASES`) in every
    quarter."""

    quarters: int
    whole_horizon: tuple[str, ...] = ()

    def holds(self, name: str, key: tuple) -> bool:
        return key[-1] < self.quarters or name in self.whole_horizon


def first_stage_keys(m: pyo.Block, stage: FirstStage) -> list[tuple[str, object]]:
    """(variable name, index) of every first-stage decision of ``stage``, and every contract
    acceptance."""
    keys = [(name, key) for name in DATED_FIRST_STAGE for key in getattr(m, name) if stage.holds(name, key)]
    return keys + [("accept", k) for k in m.accept]


def tied_keys(m: pyo.Block, stage: FirstStage) -> list[tuple[str, object]]:
    """The first-stage decisions of ``stage`` that non-anticipativity ties across the copies: those
    :func:`first_stage_keys` lists that the model leaves free (one it fixes itself, such as training
    purchases of an ineligible SKU, needs no row)."""
    return [(name, key) for name, key in first_stage_keys(m, stage) if not getattr(m, name)[key].fixed]


def first_stage_values(m: pyo.Block, stage: FirstStage) -> dict[tuple[str, object], float]:
    """The solved first-stage decisions of ``m`` (model units; integers rounded)."""
    out = {}
    for name, key in first_stage_keys(m, stage):
        var = getattr(m, name)[key]
        value = 0.0 if var.value is None else float(var.value)
        out[(name, key)] = float(round(value)) if var.is_integer() or var.is_binary() else max(value, 0.0)
    return out


def fix_first_stage(m: pyo.Block, values: dict) -> list:
    """Fix ``m``'s first-stage decisions to ``values``; returns the variables it fixed (those the
    model fixes itself, such as training purchases of an ineligible SKU, are left alone)."""
    fixed = []
    for (name, key), value in values.items():
        var = getattr(m, name)[key]
        if not var.fixed:
            var.fix(value)
            fixed.append(var)
    return fixed


"""The rule's pick without the GPU orders its policy almost never takes: the plan with those orders
not bought (:func:`orders_not_bought`), their draws kept where the plan runs them
(:func:`draws_not_moved`), and the candidate's label and meaning in words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.economics.operating import gpus_of_blocks
from fleetopt.core.plan import Plan
from fleetopt.evaluate.batch import compile_plans, deferrable_gpus
from fleetopt.sweep.variations import (
    plan_copy,
)


def orders_not_bought(data: ModelData, plan: Plan, quarters: Sequence[int]) -> Plan:
    """``plan`` without the part of its GPU orders of ``quarters`` that the order rule may defer and
    cancel (:func:`~fleetopt.evaluate.batch.deferrable_gpus`): each SKU's purchase at each site in those
    quarters cut to the GPUs left, rounded up to whole blocks (what contracts need, and any part of
    a block). Its other decisions are the plan's, to be completed again (:func:`without_orders`)."""
    out = plan_copy(plan)
    size = data.block_size[:, None, None]
    left = gpus_of_blocks(data, plan.buy_blocks) - deferrable_gpus(data, Plan.stack([plan]))[0]
    kept = np.ceil(np.maximum(left, 0.0) / size - 1e-9)  # 1e-9 blocks: round-off, not a block
    out.buy_blocks[..., list(quarters)] = kept[..., list(quarters)]
    return out


def draws_not_moved(data: ModelData, plan: Plan, quarters: Sequence[int]) -> np.ndarray:
    """(F, T) ``plan``'s draws, USD, less in ``quarters`` the GPU-backed draws that fund the part of
    the orders the order rule may defer, which a cancellation leaves undrawn (policy rule 0, "GPU-backed
    draws go with the order"; ``PlanBatch.ltv_facility_draws``)."""
    moved = compile_plans(data, [plan], ["plan"], slips=False).ltv_facility_draws[0]
    out = plan.draws.copy()
    out[:, list(quarters)] -= moved[:, list(quarters)]
    return out


# the candidate without_orders makes, as the report's definitions say it
WITHOUT_ORDERS_MEANS = ("the rule's first pick without the part of its GPU orders no contract needs that its "
                        "policy cancels in at least 95% of the scenarios, nor the GPU-backed draws that fund "
                        "it, the rest completed by the MILP on the pick's own forecast, run with the same "
                        "cash buffer")

# what a pick's label is given for the plan without the orders it almost never takes
WITHOUT_ORDERS_WORDS = ", without the orders it almost never takes"


def without_orders_label(label: str) -> str:
    """'milp: demand slump, cash buffer $3.49B, without the orders it almost never takes'."""
    return f"{label}{WITHOUT_ORDERS_WORDS}"


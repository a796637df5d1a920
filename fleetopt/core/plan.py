"""A fleet plan: every decision of the optimiser (or of a planner), as arrays over the horizon.

Index conventions follow :mod:`fleetopt.core.data`: ``u`` use (0 training, 1 inference),
``s`` SKU, ``i`` site, ``c`` cohort, ``k`` contract, ``f`` debt facility, ``t`` quarter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from fleetopt.core.data import ModelData

# the Plan's decisions per cohort and quarter ((C, T) arrays): the GPUs held, moved and retired
COHORT_DECISIONS = ("held_training", "held_inference", "redeploy", "retire_training", "retire_inference")


@dataclass
class Plan:
    """Decisions of one plan. GPU counts are GPUs, money is USD, power blocks are counts."""

    buy_blocks: np.ndarray  # (S, I, T) blocks bought in quarter t
    held_training: np.ndarray  # (C, T) GPUs configured for training held during t
    held_inference: np.ndarray  # (C, T) GPUs configured for inference held during t
    redeploy: np.ndarray  # (C, T) GPUs moved training -> inference at the start of t
    retire_training: np.ndarray  # (C, T) training GPUs retired at the start of t
    retire_inference: np.ndarray  # (C, T) inference GPUs retired at the start of t
    active: np.ndarray  # (2, S, I, T) GPUs in service (market + contracts) by use
    contract_gpus: np.ndarray  # (K, S, I, T) GPUs serving each contract
    accepted: np.ndarray  # (K,) 1 if the contract is taken
    build_blocks: np.ndarray  # (I, T) power blocks whose construction starts in t
    draws: np.ndarray  # (F, T) debt drawn in t, USD
    prepay: np.ndarray  # (F, T) voluntary principal repaid in t, USD

    @property
    def held(self) -> np.ndarray:
        return self.held_training + self.held_inference

    @property
    def retire(self) -> np.ndarray:
        return self.retire_training + self.retire_inference

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __repr__(self) -> str:  # a notebook shows this, not twelve arrays (thousands of lines)
        lead = self.buy_blocks.shape[:-3]
        stack = f"{lead[0]} plans, in all " if lead else ""
        C, T = self.held_training.shape[-2:]
        return (f"Plan({stack}{C} cohorts x {T} quarters: {self.buy_blocks.sum():,.0f} blocks bought, "
                f"{self.build_blocks.sum():,.0f} power blocks, {self.draws.sum():,.0f} USD drawn; "
                "results.tables.plan_frame(data, plan) or SolveResult.plan_frame() for a table)")  # fmt: skip

    def decisions_key(self) -> bytes:
        """Every decision, to 1e-3 of its unit (GPUs, blocks, USD: below the solver's round-off in any
        figure a plan shows): two plans are the same plan exactly when their keys are equal. A plan
        with the same purchases but other retirements, moves or prepayments is another plan: the
        evaluator runs each decision as it is."""
        arrays = self.arrays().values()
        return b"".join(rounded_decision(arr).tobytes() + str(arr.shape).encode() for arr in arrays)

    @classmethod
    def empty(cls, data: ModelData) -> Plan:
        S, I, T, C = data.S, data.I, data.T, data.C
        K, F = len(data.contracts), len(data.facilities)
        return cls(
            buy_blocks=np.zeros((S, I, T)),
            held_training=np.zeros((C, T)),
            held_inference=np.zeros((C, T)),
            redeploy=np.zeros((C, T)),
            retire_training=np.zeros((C, T)),
            retire_inference=np.zeros((C, T)),
            active=np.zeros((2, S, I, T)),
            contract_gpus=np.zeros((K, S, I, T)),
            accepted=np.zeros(K),
            build_blocks=np.zeros((I, T)),
            draws=np.zeros((F, T)),
            prepay=np.zeros((F, T)),
        )

    @classmethod
    def stack(cls, plans: list[Plan]) -> Plan:
        """Several plans as one: every decision array gets a leading plan axis."""
        return cls(**{f.name: np.stack([getattr(p, f.name) for p in plans]) for f in fields(cls)})

    def row(self, p: int) -> Plan:
        """Plan ``p`` of a stack (views, no copy)."""
        return Plan(**{name: arr[p] for name, arr in self.arrays().items()})

    def shape_problems(self, data: ModelData, stacked: bool = False) -> list[str]:
        """Why this plan (or, ``stacked``, each plan of this stack) does not fit ``data`` (wrong
        shapes), or an empty list."""
        expected = Plan.empty(data).arrays()
        return [
            f"{name} has shape {arr.shape[int(stacked) :]}, the model needs {expected[name].shape}"
            for name, arr in self.arrays().items()
            if arr.shape[int(stacked) :] != expected[name].shape or (stacked and arr.ndim == 0)
        ]


def plan_axes(data: ModelData) -> dict[str, list[str]]:
    """What each axis of a plan's arrays holds, by name and in order: the horizon's quarters, the
    SKUs, sites, cohorts (SKU@site, quarter bought, GPUs installed), contracts and debt facilities.
    A plan file keeps them, so that plans are never matched to another model's items by position
    (a model file with two contracts swapped has the same shapes)."""
    return {
        "quarters": list(data.quarter_labels),
        "skus": list(data.sku_names),
        "sites": [site.name for site in data.sites],
        "cohorts": _cohort_names(data, _gpus_name),
        "contracts": [c.name for c in data.contracts],
        "facilities": [f.name for f in data.facilities],
    }


def axes_mismatch(saved: dict, data: ModelData) -> str | None:
    """How the axes a plan file kept (:func:`plan_axes`) differ from ``data``'s, in words; None when
    they agree (a file that kept none is taken as it is, as before plan files kept them)."""
    current = plan_axes(data)
    if not isinstance(saved, dict) or any(not isinstance(v, list) for v in saved.values()):
        return "its axes metadata is not a mapping of name lists (the file was damaged or edited)"
    for axis, names in current.items():
        kept = saved.get(axis)
        if kept is None or kept == names:
            continue
        if axis == "cohorts":
            if kept == _cohort_names(data, _gpus_name_to_0_4_33):
                continue  # a file written before the names kept every digit: the same cohorts
            return (
                "its cohorts are not the model's (each cohort's SKU, site, quarter bought or "
                "installed GPUs, or their number or order, differ; where an SKU's sale dates moved, "
                "keep the dates the plan was made with and set risk.delivery_slip to ask what late "
                "deliveries do to it: docs/evaluation.md, 'Delivery slips')"
            )
        return _axis_difference(axis, kept, names, data.name)
    return None


def _cohort_names(data: ModelData, gpus_name: Callable[[float], str]) -> list[str]:
    """Each cohort's name along a plan's cohort axis: SKU@site:quarter bought:training GPUs:inference
    GPUs installed (``gpus_name`` writes the counts)."""
    sites = [site.name for site in data.sites]
    return [
        f"{data.sku_names[co.sku]}@{sites[co.site]}:{co.bought}:"
        f"{gpus_name(co.initial_training)}:{gpus_name(co.initial_inference)}"
        for co in data.cohorts
    ]


def _gpus_name_to_0_4_33(gpus: float) -> str:
    """Installed GPUs as cohort names wrote them up to 0.4.33: 6 significant digits, so 1,234,567
    and 1,234,568 GPUs both read 1.23457e+06."""
    return f"{gpus:g}"


def _gpus_name(gpus: float) -> str:
    """Installed GPUs in a cohort's name, every digit kept (a model of one GPU more has other
    names); as 0.4.33 wrote them wherever its 6 digits were exact, so those files' names agree."""
    short = _gpus_name_to_0_4_33(gpus)
    return short if float(short) == gpus else repr(float(gpus)).removesuffix(".0")


def _axis_difference(axis: str, kept: list, names: list, model: str) -> str:
    """How a plan file's ``kept`` names of ``axis`` differ from the model's ``names``: the names
    one side lacks (a model of 40 contracts less one listed the 79 names of both), or the order."""
    gone = [n for n in kept if n not in names]
    new = [n for n in names if n not in kept]
    if not kept or not names:
        return f"its {axis} are {_listed(kept)}; model {model!r} has {_listed(names)}"
    if not gone and not new:
        return f"its {axis} are those of model {model!r} in another order ({_listed(kept)})"
    parts = [f"{_listed(gone)} not in model {model!r}"] if gone else []
    parts += [f"model {model!r} has {_listed(new)} besides"] if new else []
    return f"its {axis} differ: " + "; ".join(parts)


def _listed(names: list) -> str:
    """Names as a list for a sentence; 'none' for an empty one."""
    return ", ".join(map(str, names)) if names else "none"


def rounded_decision(values: np.ndarray) -> np.ndarray:
    """A decision array to 1e-3 of its unit, as :meth:`Plan.decisions_key` compares plans (+ 0.0: a
    -0.0 of round-off is the 0.0 it rounds to)."""
    return np.round(values, 3) + 0.0

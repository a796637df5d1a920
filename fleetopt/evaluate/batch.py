"""Plans compiled for the evaluator: per-quarter quantities with a leading plan axis.

A :class:`PlanBatch` holds, for each plan, what its fixed decisions earn and cost at forecast
prices, broken down only as far as the risk factors need (by use, generation and site), so
the simulation multiplies by scenario factors instead of re-pricing every cohort. The unit
coefficients are those of :mod:`fleetopt.economics`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from fleetopt import economics as econ
from fleetopt.data import ModelData
from fleetopt.plan import Plan

PLAN_FILE_FORMAT = 1


class PlanFileError(Exception):
    """A plan file that cannot be used with this model."""


@dataclass
class PlanBatch:
    """Per-plan quantities (leading axis P). Money in USD, power in MW, GPUs in GPUs."""

    labels: list[str]
    market_revenue: np.ndarray  # (P, 2, G, I, T) forecast-price market revenue
    market_supply: np.ndarray  # (P, 2, I, T) H100-equivalent GPUs offered to the market
    market_gpus: np.ndarray  # (P, 2, I, T) GPUs offered to the market
    contract_gpus: np.ndarray  # (P, K, I, T) GPUs serving each contract
    accepted: np.ndarray  # (P, K)
    drawn_mw: np.ndarray  # (P, I, T) planned facility MW drawn
    online_mw: np.ndarray  # (P, I, T) planned facility MW online
    electricity: np.ndarray  # (P, I, T) forecast electricity cost of the planned draw
    site_fixed: np.ndarray  # (P, T) fixed site cost of the planned MW online
    other_opex: np.ndarray  # (P, T) GPU opex + redeployment + overhead
    depreciation: np.ndarray  # (P, T)
    book_disposed: np.ndarray  # (P, T) book value of GPUs retired
    proceeds: np.ndarray  # (P, T) disposal proceeds at forecast resale values
    capex: np.ndarray  # (P, T) GPU and power capex
    draws: np.ndarray  # (P, F, T)
    prepay: np.ndarray  # (P, F, T)
    scheduled: np.ndarray  # (P, F, T) scheduled principal
    held: np.ndarray  # (P, T) GPUs held
    terminal_fleet: np.ndarray  # (P,) net realisable value of the fleet at the end (forecast resale)
    terminal_power: np.ndarray  # (P,) book value of power plant at the end
    build_site: np.ndarray  # (P, B) site of each power block group (padding: 0 with 0 MW)
    build_start: np.ndarray  # (P, B) quarter construction starts
    build_online: np.ndarray  # (P, B) quarter it is planned online
    build_mw: np.ndarray  # (P, B) MW of the group

    @property
    def P(self) -> int:
        return len(self.labels)

    def take(self, rows) -> PlanBatch:
        """The plans at ``rows`` (a slice or index array), in that order."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = [value[i] for i in np.arange(self.P)[rows]] if f.name == "labels" else value[rows]
        return PlanBatch(**out)


def compile_plans(data: ModelData, plans: list[Plan], labels: list[str]) -> PlanBatch:
    """Turn full plans into the evaluator's per-quarter quantities."""
    T, S, I = data.T, data.S, data.I
    P = len(plans)
    K, F = len(data.contracts), len(data.facilities)
    rev_per_gpu = econ.market_revenue_per_gpu(data)  # (2, S, T)
    elec_per_mw = econ.electricity_cost_per_mw(data)  # (I, T)
    fin = econ.Financing.from_data(data, with_revolver=False)

    out = {
        "market_revenue": np.zeros((P, 2, 3, I, T)),
        "market_supply": np.zeros((P, 2, I, T)),
        "market_gpus": np.zeros((P, 2, I, T)),
        "contract_gpus": np.zeros((P, K, I, T)),
        "accepted": np.zeros((P, K)),
        "drawn_mw": np.zeros((P, I, T)),
        "online_mw": np.zeros((P, I, T)),
        "electricity": np.zeros((P, I, T)),
        "site_fixed": np.zeros((P, T)),
        "other_opex": np.zeros((P, T)),
        "depreciation": np.zeros((P, T)),
        "book_disposed": np.zeros((P, T)),
        "proceeds": np.zeros((P, T)),
        "capex": np.zeros((P, T)),
        "draws": np.zeros((P, F, T)),
        "prepay": np.zeros((P, F, T)),
        "scheduled": np.zeros((P, F, T)),
        "held": np.zeros((P, T)),
        "terminal_fleet": np.zeros(P),
        "terminal_power": np.zeros(P),
    }
    builds = []
    for p, plan in enumerate(plans):
        problems = plan.shape_problems(data)
        if problems:
            raise PlanFileError(f"plan {labels[p]!r} does not fit the model: {problems[0]}")
        if not np.isin(plan.accepted, (0.0, 1.0)).all():
            k = int(np.flatnonzero(~np.isin(plan.accepted, (0.0, 1.0)))[0])
            raise PlanFileError(
                f"plan {labels[p]!r}: accepted[{k}] (contract {data.contracts[k].name!r}) is "
                f"{plan.accepted[k]:g}; a contract is taken (1) or not (0)"
            )
        contract_by_use = np.zeros((2, S, I, T))
        for k, con in enumerate(data.contracts):
            contract_by_use[con.use] += plan.contract_gpus[k]
            out["contract_gpus"][p, k] = plan.contract_gpus[k].sum(axis=0)
        market = plan.active - contract_by_use  # (2, S, I, T)
        for s in range(S):
            g = data.sku_generation[s]
            out["market_revenue"][p, :, g] += rev_per_gpu[:, s, None, :] * market[:, s]
            out["market_supply"][p] += data.throughput[:, s, None, None] * market[:, s]
        out["market_gpus"][p] = market.sum(axis=1)
        out["accepted"][p] = plan.accepted
        # every total the scenarios only scale comes from the statements' own operating lines
        lines = econ.operating_lines(data, plan)
        out["drawn_mw"][p] = [lines[f"mw_used_{site.name}"] for site in data.sites]
        out["online_mw"][p] = [lines[f"mw_available_{site.name}"] for site in data.sites]
        out["electricity"][p] = elec_per_mw * out["drawn_mw"][p]
        out["site_fixed"][p] = lines["site_fixed_usd"]
        out["other_opex"][p] = lines["gpu_opex_usd"] + lines["redeployment_usd"] + lines["overhead_usd"]
        out["depreciation"][p] = lines["depreciation_gpu_usd"] + lines["depreciation_power_usd"]
        out["book_disposed"][p] = lines["book_value_disposed_usd"]
        out["proceeds"][p] = lines["disposal_proceeds_usd"]
        out["capex"][p] = lines["capex_gpu_usd"] + lines["capex_power_usd"]
        out["draws"][p] = plan.draws
        out["prepay"][p] = plan.prepay
        out["scheduled"][p] = econ.scheduled_principal(fin, plan.draws)
        out["held"][p] = lines["gpus_held"]
        out["terminal_fleet"][p], out["terminal_power"][p] = econ.terminal_assets(data, plan)
        builds.append(
            [
                (i, t, t + data.sites[i].lead_time, plan.build_blocks[i, t] * data.sites[i].block_mw)
                for i, t in zip(*np.nonzero(plan.build_blocks), strict=True)
            ]
        )
    B = max((len(b) for b in builds), default=0)
    build = np.zeros((4, P, B))
    for p, rows in enumerate(builds):
        for b, row in enumerate(rows):
            build[:, p, b] = row
    return PlanBatch(
        labels=list(labels),
        build_site=build[0].astype(np.int32),
        build_start=build[1].astype(np.int32),
        build_online=build[2].astype(np.int32),
        build_mw=build[3],
        **out,
    )


# ---------------------------------------------------------------- plan files


def save_plans(
    path: str | Path, plans: list[Plan], labels: list[str], model_name: str, model_hash: str
) -> None:
    """Write plans to one ``.npz`` file: each decision array stacked along a leading plan axis."""
    from fleetopt.outputs import write_bytes_atomic

    write_bytes_atomic(path, plans_npz_bytes(plans, labels, model_name, model_hash))


def plans_npz_bytes(plans: list[Plan], labels: list[str], model_name: str, model_hash: str) -> bytes:
    meta = {"format": PLAN_FILE_FORMAT, "model_name": model_name, "model_hash": model_hash, "labels": labels}
    stacked = {name: np.stack([p.arrays()[name] for p in plans]) for name in plans[0].arrays()}
    buf = io.BytesIO()
    np.savez_compressed(buf, __meta__=np.array(json.dumps(meta)), **stacked)
    return buf.getvalue()


def load_plans(path: str | Path, data: ModelData) -> tuple[list[Plan], list[str], dict]:
    """Read a plan file (one plan or many) written by fleetopt and check it fits ``data``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file") from None
    except Exception as exc:  # zip, pickle or format errors all mean the same to a user
        raise PlanFileError(f"{path}: not a fleetopt plan file ({exc.__class__.__name__})") from None
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except (KeyError, ValueError):
        raise PlanFileError(f"{path}: not a fleetopt plan file (no metadata)") from None
    if not isinstance(meta, dict):
        raise PlanFileError(f"{path}: not a fleetopt plan file (no metadata)")
    expected = Plan.empty(data).arrays()
    missing = sorted(set(expected) - set(arrays))
    if missing:
        raise PlanFileError(f"{path}: missing decision arrays {', '.join(missing)}")
    if meta.get("model_name") != data.model.name:
        raise PlanFileError(
            f"{path}: plans are for model {meta.get('model_name')!r}, not {data.model.name!r} "
            "(name the model they were made for)"
        )
    single = arrays["buy_blocks"].ndim == expected["buy_blocks"].ndim
    if single:
        arrays = {k: v[None] for k, v in arrays.items()}
    n = arrays["buy_blocks"].shape[0] if arrays["buy_blocks"].ndim else 1
    for name, template in expected.items():
        if arrays[name].shape != (n, *template.shape):
            raise PlanFileError(
                f"{path}: {name} has shape {arrays[name].shape[1:]}, model {data.model.name!r} needs "
                f"{template.shape} (plans for another version of the model?)"
            )
        if arrays[name].dtype.kind not in "biuf":
            raise PlanFileError(f"{path}: {name} holds {arrays[name].dtype} values, not numbers")
        if not np.all(np.isfinite(arrays[name])):
            raise PlanFileError(f"{path}: {name} holds NaN or infinite values")
    if n == 0:
        raise PlanFileError(f"{path}: the file holds no plans")
    labels = meta.get("labels") or [meta.get("label", path.stem)] * n
    if isinstance(labels, str):
        labels = [labels]
    if not isinstance(labels, list) or len(labels) != n:
        labels = [f"{path.stem}[{i}]" for i in range(n)]
    plans = [Plan(**{name: arrays[name][p].astype(np.float64) for name in expected}) for p in range(n)]
    return plans, [str(x) for x in labels], meta

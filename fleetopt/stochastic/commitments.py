"""What a stochastic plan's first stage commits to now beside the forecast optimum (summary.json's
``commitments``), and those commitments in words for the terminal, the report and a notebook."""

from __future__ import annotations

import pandas as pd

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.core.results.tables import plan_frame
from fleetopt.core.units import format_difference, format_figure

# what a first stage commits to, in the order a reader takes it in (plan.csv's decisions)
COMMITMENTS = (
    "buy_gpus", "retire", "redeploy", "build_power", "contract_accepted", "draw_debt", "prepay_debt",
)  # fmt: skip


# those of --share-purchases (milp.stochastic.first_stage.SHARED_PURCHASES), first stage in every quarter
SHARED_COMMITMENTS = ("buy_gpus", "build_power", "draw_debt")


# the row of the GPUs bought in all, last where either plan buys any
BOUGHT_IN_ALL = "buy_gpus_all"
COMMITMENT_WORDS = {"buy_gpus": "buy", "retire": "retire (sell)", "redeploy": "move to inference",
                    "build_power": "build power", "contract_accepted": "accept contract", "draw_debt": "draw",
                    "prepay_debt": "prepay", BOUGHT_IN_ALL: "buy, all"}  # fmt: skip


def commitment_amount(value: float, unit: str, signed: bool = False) -> str:
    """A commitment in its unit as every figure is written (:func:`format_figure`; a difference as
    :func:`format_difference` writes it), a contract as yes / no (its difference "accepted" /
    "declined")."""
    if unit == "0/1":
        if signed:
            return "" if abs(value) < 0.5 else ("accepted" if value > 0 else "declined")
        return "yes" if value > 0.5 else "no"
    return format_difference(value, unit) if signed else format_figure(value, unit)


COMMITMENT_COLUMNS = ("quarter", "decision", "item", "stochastic plan", "forecast optimum", "difference")
# the same rows in figures (a notebook's ``commitments_frame()``): each amount in the row's ``unit``
# (GPUs, MW, USD; a contract 0/1)
COMMITMENT_FIGURES = ("quarter", "decision", "item", "unit", "stochastic", "forecast_optimum", "difference")


def commitment_rows(rows: list[dict]) -> list[dict]:
    """summary.json's ``commitments`` as their tables' rows (:data:`COMMITMENT_FIGURES`): each with
    its ``difference`` (stochastic less forecast optimum), and the GPUs bought in all last
    (:data:`BOUGHT_IN_ALL`, no quarter or item) where either plan buys any."""
    table = [{**{key: row[key] for key in COMMITMENT_FIGURES[:-1]},
              "difference": row["stochastic"] - row["forecast_optimum"]} for row in rows]  # fmt: skip
    bought = [r for r in rows if r["decision"] == "buy_gpus"]
    if not bought:
        return table
    mine, theirs = (sum(r[plan] for r in bought) for plan in ("stochastic", "forecast_optimum"))
    return [*table, {"quarter": "", "decision": BOUGHT_IN_ALL, "item": "", "unit": "GPUs", "stochastic": mine,
                     "forecast_optimum": theirs, "difference": mine - theirs}]  # fmt: skip


def commitment_lines(rows: list[dict]) -> list[tuple[str, ...]]:
    """summary.json's ``commitments`` in words for the terminal, the report and a notebook
    (COMMITMENT_COLUMNS): the rows of :func:`commitment_rows`, the GPUs bought in all last."""
    return [(row["quarter"], COMMITMENT_WORDS.get(row["decision"], row["decision"]), row["item"],
             commitment_amount(row["stochastic"], row["unit"]),
             commitment_amount(row["forecast_optimum"], row["unit"]),
             commitment_amount(row["difference"], row["unit"], signed=True))
            for row in commitment_rows(rows)]  # fmt: skip


def first_stage_decisions(data: ModelData, plan: Plan, quarters: int, every_quarter: tuple[str, ...] = ()):
    """What ``plan``'s first stage decides (plan.csv's :data:`COMMITMENTS`), a pandas Series of amounts
    indexed by ``quarter``, ``decision``, ``item``, ``unit``: each decision dated in the first
    ``quarters``, those of ``every_quarter`` in every quarter, and every contract's acceptance
    (first stage whatever its start, §7b "Stages")."""
    keys = ["quarter", "decision", "item", "unit"]
    first = set(data.quarter_labels[:quarters])
    frame = plan_frame(data, plan)
    dated = frame["quarter"].isin(first) | frame["decision"].isin(("contract_accepted", *every_quarter))
    return frame[dated & frame["decision"].isin(COMMITMENTS)].groupby(keys, sort=False)["value"].sum()


def in_commitment_order(data: ModelData, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of first-stage decisions (columns ``quarter``, ``decision``, ``item``) by quarter, then
    decision in :data:`COMMITMENTS`' order, then item."""
    order = {label: n for n, label in enumerate(data.quarter_labels)}
    rank = {decision: n for n, decision in enumerate(COMMITMENTS)}
    frame = frame.assign(_q=frame["quarter"].map(order), _d=frame["decision"].map(rank))
    return frame.sort_values(["_q", "_d", "item"], kind="stable").drop(columns=["_q", "_d"])


def first_stage_commitments(
    data: ModelData, plan: Plan, forecast_plan: Plan, quarters: int, every_quarter: tuple[str, ...] = ()
) -> list[dict]:
    """What the stochastic ``plan`` commits to now beside the forecast optimum, as rows of
    ``quarter``, ``decision``, ``item``, ``unit``, ``stochastic``, ``forecast_optimum``: each
    purchase, retirement (a sale at resale value) and move to inference (GPUs, a retirement and a
    move by cohort), power block (MW), draw and prepayment (USD) dated in the first ``quarters``
    that either plan makes (those of ``every_quarter``, :data:`SHARED_COMMITMENTS` with
    --share-purchases, in every quarter), and each contract not yet signed (dated by its start) that
    either accepts, both included: a board asks of each whether to sign it (acceptance is first stage
    whatever the start, §7b "Stages"; a signed one is no decision)."""
    plans = {name: first_stage_decisions(data, p, quarters, every_quarter)
             for name, p in (("stochastic", plan), ("forecast_optimum", forecast_plan))}  # fmt: skip
    both = pd.concat(list(plans.values()), axis=1, keys=list(plans)).fillna(0.0).reset_index()
    signed = both["item"].isin([c.name for c in data.contracts if c.signed])
    contract = both["decision"] == "contract_accepted"
    made = (both["stochastic"].abs() > 1e-6) | (both["forecast_optimum"].abs() > 1e-6)
    both = in_commitment_order(data, both[made & ~(contract & signed)])
    return [{**row, **{name: float(row[name]) for name in plans}} for row in both.to_dict("records")]

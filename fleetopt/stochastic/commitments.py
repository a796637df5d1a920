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


COMMITMENT_WORDS = {"buy_gpus": "buy", "retire": "retire (sell)", "redeploy": "move to inference",
                    "build_power": "build power", "contract_accepted": "accept contract", "draw_debt": "draw",
                    "prepay_debt": "prepay"}  # fmt: skip


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


def commitment_lines(rows: list[dict]) -> list[tuple[str, ...]]:
    """summary.json's ``commitments`` in words for the terminal and the report (COMMITMENT_COLUMNS),
    with the GPUs bought in all last where either plan buys any."""
    lines = []
    for row in rows:
        mine, theirs, unit = row["stochastic"], row["forecast_optimum"], row["unit"]
        lines.append((row["quarter"], COMMITMENT_WORDS.get(row["decision"], row["decision"]), row["item"],
                      commitment_amount(mine, unit), commitment_amount(theirs, unit),
                      commitment_amount(mine - theirs, unit, signed=True)))  # fmt: skip
    if not any(r["decision"] == "buy_gpus" for r in rows):
        return lines
    bought = [sum(r[p] for r in rows if r["decision"] == "buy_gpus")
              for p in ("stochastic", "forecast_optimum")]  # fmt: skip
    totals = [*(commitment_amount(v, "GPUs") for v in bought),
              commitment_amount(bought[0] - bought[1], "GPUs", signed=True)]  # fmt: skip
    return [*lines, ("", "buy, all", "", *totals)]


def first_stage_commitments(
    data: ModelData, plan: Plan, forecast_plan: Plan, quarters: int, every_quarter: tuple[str, ...] = ()
) -> list[dict]:
    """What the stochastic ``plan`` commits to now beside the forecast optimum, as rows of
    ``quarter``, ``decision``, ``item``, ``unit``, ``stochastic``, ``forecast_optimum``: each
    purchase, retirement (a sale at resale value) and move to inference (GPUs, a retirement and a
    move by cohort), power block (MW), draw and prepayment (USD) dated in the first ``quarters``
    that either plan makes (those of ``every_quarter``, :data:`SHARED_COMMITMENTS` with
    --share-purchases, in every quarter), and each contract (dated by its start) that one accepts
    and the other does not (acceptance is first stage whatever the start, §7b "Stages")."""
    keys = ["quarter", "decision", "item", "unit"]
    first = set(data.quarter_labels[:quarters])

    def committed(p: Plan):
        frame = plan_frame(data, p)
        dated = frame["quarter"].isin(first) | frame["decision"].isin(("contract_accepted", *every_quarter))
        return frame[dated & frame["decision"].isin(COMMITMENTS)].groupby(keys, sort=False)["value"].sum()

    plans = {"stochastic": committed(plan), "forecast_optimum": committed(forecast_plan)}
    both = pd.concat(list(plans.values()), axis=1, keys=list(plans)).fillna(0.0).reset_index()
    contract = both["decision"] == "contract_accepted"
    differs = both["stochastic"].round(6) != both["forecast_optimum"].round(6)
    made = (both["stochastic"].abs() > 1e-6) | (both["forecast_optimum"].abs() > 1e-6)
    both = both[(contract & differs) | (~contract & made)]
    order = {label: n for n, label in enumerate(data.quarter_labels)}
    rank = {decision: n for n, decision in enumerate(COMMITMENTS)}
    both = both.assign(_q=both["quarter"].map(order), _d=both["decision"].map(rank))
    both = both.sort_values(["_q", "_d", "item"], kind="stable").drop(columns=["_q", "_d"])
    return [{**row, **{name: float(row[name]) for name in plans}} for row in both.to_dict("records")]

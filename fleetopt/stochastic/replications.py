"""Replications of a stochastic solve (`fleetopt solve --stochastic N --replications K`, docs/formulation.md
§7b "Replications"): the same solve on K independent scenario samples, how far each first-stage decision
moves between them (the stability table and its verdict)."""

from __future__ import annotations

import pandas as pd

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.core.units import counted, format_percent
from fleetopt.errors import Argument
from fleetopt.runs import limits
from fleetopt.stochastic.commitments import (
    COMMITMENT_WORDS,
    SHARED_COMMITMENTS,
    commitment_amount,
    first_stage_decisions,
    in_commitment_order,
)
from fleetopt.stochastic.paired import MORE_SCENARIOS

REPLICATIONS = Argument("replications", "--replications")
# each replication is a whole stochastic solve, one after another: more than 30 asks hours of a large
# model for a spread that 30 samples already show
MAX_REPLICATIONS = 30
# a decision moves between replications where its spread exceeds this share of its largest amount (or
# of 1 unit): round-off of a continuous decision is not instability
SAME_WITHIN = 1e-6
# the stability table's name, as the terminal's title and the report's heading say it
STABILITY_TITLE = "how stable the first stage is"
# a stability row's columns before its amounts, as the terminal and the report head them
STABILITY_NAMES = ("quarter", "decision", "item", "unit")
# and after them
STABILITY_SPREAD = ("mean", "min", "max")


def check_replications(replications) -> int:
    """K: a whole number in [1, :data:`MAX_REPLICATIONS`], refused by name otherwise."""
    return limits.whole(REPLICATIONS, replications, 1, MAX_REPLICATIONS)


def replication_seeds(seed: int, replications: int) -> list[int]:
    """The scenario seeds of K replications: ``seed``, ``seed + 1``, ..., ``seed + K - 1`` (wrapping
    past the largest seed, as :func:`limits.next_seed`)."""
    return [limits.next_seed(seed, k) for k in range(replications)]


def out_of_sample_seed(seed: int, replications: int) -> int:
    """The out-of-sample check's seed: ``seed + K``, the first no replication reduced (``seed + 1``
    without replications, as before)."""
    return limits.next_seed(seed, replications)


def stability_rows(data: ModelData, plans: list[Plan], quarters: int, every_quarter=()) -> list[dict]:
    """Each first-stage decision (:func:`first_stage_decisions`) any of ``plans`` (one a replication)
    makes, as rows of ``quarter``, ``decision``, ``item``, ``unit``, ``values`` (a replication's
    each, 0 where it makes none), ``mean``, ``min``, ``max`` and ``varies``, in the commitments' order."""
    made = [first_stage_decisions(data, plan, quarters, every_quarter) for plan in plans]
    table = pd.concat(made, axis=1, keys=range(len(plans))).fillna(0.0)
    table = table[(table.abs() > 1e-6).any(axis=1)].reset_index()
    rows = []
    for row in in_commitment_order(data, table).to_dict("records"):
        values = [float(row[k]) for k in range(len(plans))]
        low, high = min(values), max(values)
        rows.append({**{key: row[key] for key in STABILITY_NAMES}, "values": values,
                     "mean": sum(values) / len(values), "min": low, "max": high,
                     "varies": high - low > SAME_WITHIN * max(1.0, abs(low), abs(high))})  # fmt: skip
    return rows


def stability_verdict(rows: list[dict], replications: int, scenarios: int, typed: bool = True) -> str:
    """The stability table in a line: 'the first stage is stable across 4 samples of 5 scenarios', or
    'varies across ...: 1,448 to 2,000 GPUs (buy B200@texas) in 2026Q3, and 3 other decisions; more
    scenarios (--stochastic N) narrow it', naming a purchase that moves where one does, else the decision
    that moves most for its size."""
    samples = f"{replications} samples of {scenarios:,} scenarios"
    moving = [row for row in rows if row["varies"]]
    if not moving:
        return f"the first stage is stable across {samples}: each decision the same in every sample"

    named = min(moving, key=lambda row: (row["decision"] != "buy_gpus", -_spread(row)))
    what = COMMITMENT_WORDS.get(named["decision"], named["decision"])
    others = len(moving) - 1
    besides = f", and {others} other decision{'s' * (others != 1)}" if others else ""
    more = MORE_SCENARIOS.option if typed else MORE_SCENARIOS.keyword  # the terminal's, or a notebook's
    return (f"the first stage varies across {samples}: {amount_range(named)} ({what} {named['item']}) in "
            f"{named['quarter']}{besides}; more scenarios ({more}) narrow it")


def _spread(row: dict) -> float:
    """How far a decision moves between replications: in its unit for a purchase (GPUs, so that the
    largest purchase moving is named), else for its size."""
    spread = row["max"] - row["min"]
    return spread if row["decision"] == "buy_gpus" else spread / max(abs(row["min"]), abs(row["max"]))


def sample_amount(value: float, unit: str) -> str:
    """A decision's amount in a sample, or its mean over them, in a column of its unit: as a commitment
    is written less the unit ('1,984', '$26.3M'), a contract's acceptance where some samples accept it
    and others do not as the share that do ('75 %')."""
    if unit == "0/1" and 1e-9 < value < 1 - 1e-9:
        return format_percent(value)
    return commitment_amount(value, unit).removesuffix(f" {unit}")


def amount_range(row: dict) -> str:
    """'1,448 to 2,000 GPUs', '$26.0M to $43.9M': a decision's least and greatest amount."""
    return f"{sample_amount(row['min'], row['unit'])} to {commitment_amount(row['max'], row['unit'])}"


def replications_record(data: ModelData, results: list, settings: dict) -> dict:
    """summary.json's ``replications``: each replication's seed, objective (the value of the plan it
    keeps: RP's, or EEV's where it keeps the forecast optimum's first stage), the bound its solve proved
    on its sample's optimum (``rp_bound_usd``), status and gap, the stability table and its verdict.
    ``results``: the replications' StochasticResults, the run's own first."""
    quarters, shared = settings["first_stage_quarters"], settings.get("share_purchases")
    every_quarter = SHARED_COMMITMENTS if shared else ()
    rows = stability_rows(data, [r.plan for r in results], quarters, every_quarter)
    objectives = [r.measures.get("plan_value_usd", r.measures["rp_usd"]) for r in results]
    return {
        "count": len(results),
        "seeds": [r.settings["scenario_seed"] for r in results],
        "objectives_usd": objectives,
        "bounds_usd": [r.measures.get("rp_bound_usd") for r in results],
        "statuses": [r.measures["status"] for r in results],
        "gaps": [r.measures["gap"] for r in results],
        "stable": not any(row["varies"] for row in rows),
        "verdict": stability_verdict(rows, len(results), settings["scenarios"]),
        "stability": rows,
    }


def samples_words(record: dict, scenarios: int) -> str:
    """'the solve on 3 samples of 3 scenarios (seeds 0 to 2)': summary.json's ``replications`` of a
    run of ``scenarios`` scenarios a sample, as the terminal's table and the report say it."""
    seeds = record["seeds"]
    return (f"the solve on {record['count']} samples of {counted(scenarios, 'scenario')} "
            f"(seeds {seeds[0]} to {seeds[-1]})")  # fmt: skip


def stability_line(row: dict, each_sample: bool = True) -> list[str]:
    """A stability row in words, as the terminal's table and the report write it: its quarter, the
    decision's words, item, unit ('accepted' for a contract), its amount in each sample (with
    ``each_sample``), mean, min and max."""
    amounts = [*(row["values"] if each_sample else []), *(row[key] for key in STABILITY_SPREAD)]
    unit = "accepted" if row["unit"] == "0/1" else row["unit"]
    words = COMMITMENT_WORDS.get(row["decision"], row["decision"])
    return [row["quarter"], words, row["item"], unit, *(sample_amount(v, row["unit"]) for v in amounts)]


def stability_frame(record: dict) -> pd.DataFrame:
    """replications.csv: the stability table of summary.json's ``replications``, a row per first-stage
    decision (``quarter``, ``decision``, ``item``, ``unit``), its amount in each replication (``seed_0``
    ..., named by the replication's scenario seed), ``mean``, ``min`` and ``max``, in the row's unit."""
    columns = [f"seed_{seed}" for seed in record["seeds"]]
    rows = [{**{key: row[key] for key in STABILITY_NAMES}, **dict(zip(columns, row["values"], strict=True)),
             **{key: row[key] for key in STABILITY_SPREAD}} for row in record["stability"]]  # fmt: skip
    return pd.DataFrame(rows, columns=[*STABILITY_NAMES, *columns, *STABILITY_SPREAD])

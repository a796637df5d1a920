"""The rescues the reduced scenarios' solves needed (emergency equity, covenant cures, relaxed
limits): counted with their probability, and one scenario's in words."""

from __future__ import annotations

from fleetopt.core.units import format_usd
from fleetopt.milp.completion import slack_words

RESCUE_KINDS = {"rescued": "rescued", "cash_rescue": "cash_rescued", "covenant_cure": "covenant_cured",
                "relaxed": "relaxed"}  # fmt: skip


def rescue_counts(rows: list[dict]) -> dict:
    """How many reduced scenarios needed each kind of rescue (:func:`~fleetopt.milp.stochastic.
    scenario_rows.scenario_row`), and their probability: ``<kind>_scenarios``, ``<kind>_probability``."""
    out = {}
    for key, name in RESCUE_KINDS.items():
        hit = [row for row in rows if row.get(key)]
        out[f"{name}_scenarios"] = len(hit)
        out[f"{name}_probability"] = float(sum(row["probability"] for row in hit))
    return out


def rescue_words(row: dict) -> str:
    """What a reduced scenario's solve needed to stay solvent and within its limits, in words:
    'none', or its emergency equity and each relaxed group (:func:`~fleetopt.milp.stochastic.
    scenario_rows.scenario_row`), so that a rescue with no equity (a covenant cure) says what it was."""
    if not row.get("rescued"):
        return "none"
    equity = [f"emergency equity {format_usd(row['emergency_equity_usd'])}"] if row.get("cash_rescue") else []
    return "; ".join(equity + slack_words(row.get("slacks") or {}))

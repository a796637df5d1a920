"""What a scenario copy may relax, and at what price (docs/formulation.md §7b, "Recourse"): the
emergency equity's cost, the revolver's penalty, the physical slacks' penalties, and which slacks
cure cash, a covenant or a finance limit (the rescue of fixed purchases cures these alone)."""

from __future__ import annotations

from fleetopt.core.covenants import CATALOGUE
from fleetopt.core.units import H100_EQ_GPUS
from fleetopt.milp.covenants import cures_stress_covenant

# each USD of emergency equity costs its amount plus this much NPV (dilution at a distressed price):
# above the value of a USD of cash to any plan, so that equity only ever cures a shortfall
EMERGENCY_EQUITY_COST = 10.0

# the revolver cures a shortfall first: besides its interest, each USD drawn costs the emergency
# equity cost spread over the horizon, equity_cost / T NPV per quarter outstanding (revolver_penalty):
# outstanding over the whole horizon it costs what equity does, so it is the cheaper cure of any
# shortfall shorter than the horizon, and a quarter of it costs more than a USD of cash is worth
# to a plan for a quarter (the equity cost bounds its worth over the horizon). At 0.1 per quarter
# the MILP used it as a bridge: tiny at L = 0.5 drew $4.61M in 2026Q3 in every scenario alongside
# a $12.07M prepayment (formulation §7b)
# penalty per unit of a physical slack, MUSD: a MW-quarter drawn beyond what is online (power), or
# would be were every block late (late_power, the robustness test of §5.13), a GPU-quarter of a
# contract delivered short after its deadline (both far above what they could earn)
PHYSICAL_PENALTY = {"MW": 10.0, "GPUs": 0.05, H100_EQ_GPUS: 0.05}

# a scenario's GPUs in service never draw more than its sites have online (in_service_power); the
# idle draw of GPUs held at a site whose block is late may go unpowered (idle_unpowered), up to the
# MW that are late: GPUs waiting for their data hall, which cost nothing beyond the revenue they do
# not earn (as in the evaluator, evaluation.md quarter step 1). A MW-quarter of it costs this much
# (MUSD), a tie-break. Before 0.4.13 the power slack, at the MW penalty, also powered GPUs in
# service, more cheaply than a contract delivered short: late_greenfield at N = 4 served its
# contract on 0.21-10.21 MW that did not exist in every scenario
IDLE_DRAW_PENALTY = 0.01

# slacks the emergency equity cures in cash (held at 0: the cash itself must keep the floor)
CASH_CURED = ("min_cash", "liquidity_covenant")

# slacks that cure a covenant or the borrowing base: the evaluator calls the scenario a breach (every
# covenant group of the catalogue but the cash ones, so a new kind of covenant is cured as the others)
COVENANT_CURED = tuple(dict.fromkeys(k.group for k in CATALOGUE if k.group not in CASH_CURED))

RESCUE_TOLERANCE_USD = 1.0

# its cure is charged once, not per quarter (scenario_model._collateral_cure)
BORROWING_BASE = "borrowing_base"

# the slacks of the MW a site has online: no completion of a plan draws more (a plan file may not)
POWER_SLACKS = ("power", "late_power")

# the limits a rescue of fixed purchases may cure: finance only (no MW or GPU that does not exist)
FINANCE_CURED = CASH_CURED + COVENANT_CURED


def cures_covenant(idx: tuple) -> bool:
    """Whether the slack ``m.slack[idx]`` cures a covenant or the borrowing base (COVENANT_CURED), or
    a stress covenant row (§5.13, the groups of STRESS_KINDS, cured by the ``robustness`` slack)."""
    return idx[0] in COVENANT_CURED or cures_stress_covenant(idx)


def rescuable(diagnosis: list[dict]) -> bool:
    """Whether an infeasible solve's conflict (its diagnosis) is of finance limits alone (cash,
    covenants, the borrowing base), which a rescue cures; not power, contracts or the fleet."""
    return bool(diagnosis) and all(entry["group"] in FINANCE_CURED for entry in diagnosis)


def names_finance_limit(diagnosis: list[dict]) -> bool:
    """Whether an infeasible solve's conflict names a finance limit, which a rescue cures: its
    message offers the rescue, and asked for (`--rescue`) the rescue is tried, whatever else the
    conflict names (power or a contract short may be only the diagnosis's cheapest way around a
    covenant: only the rescue itself tells); it holds the others."""
    return bool({entry["group"] for entry in diagnosis} & set(FINANCE_CURED))


def revolver_penalty(quarters: int, equity_cost: float = EMERGENCY_EQUITY_COST) -> float:
    """NPV per USD of revolver outstanding per quarter, besides its interest: ``equity_cost`` spread
    over the horizon's ``quarters`` (1.25 on tiny's 8 quarters, with the default equity cost)."""
    return equity_cost / quarters


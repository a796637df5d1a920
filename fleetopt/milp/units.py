"""Units inside the MILP: money is in millions of USD (MUSD), everything else as in the model file.

The model divides every USD coefficient by ``MUSD`` once, when the builder starts (see
:class:`fleetopt.milp.builder.Coefficients`), so that HiGHS sees a narrow coefficient range; the
values read back from a solve are converted here, with the unit of each variable from one table.
"""

from __future__ import annotations

MUSD = 1e6  # USD in one model money unit

# Unit of each variable (and of the objective) of the model, as docs/formulation.md §4 lists them;
# tests/test_milp_units.py checks that every variable a model builds has one.
VARIABLE_UNITS = {
    "buy": "blocks",
    "buy_training": "GPUs",
    "held_tr": "GPUs",
    "held_in": "GPUs",
    "redeploy": "GPUs",
    "retire_tr": "GPUs",
    "retire_in": "GPUs",
    "forced_tr": "GPUs",
    "forced_in": "GPUs",
    "in_service": "GPUs",
    "serve": "GPUs",
    "accept": "",
    "build": "blocks",
    "draw": "MUSD",
    "prepay": "MUSD",
    "balance": "MUSD",
    "cash": "MUSD",
    "tax": "MUSD",
    "stress_tax": "MUSD",
    "loss_pool": "MUSD",
    "terminal_tax": "MUSD",
    "terminal_loss_pool": "MUSD",
    "stress_loss_pool": "MUSD",
    "stress_gap": "MUSD",
    "held_at_zero": "",  # a variable fixed at 0 (Builder.add)
    "slack": "",  # a slack is in its row's unit (§8's table), which differs row by row
    # the stochastic scenario copies and their extensive form (milp/stochastic/)
    "rescue_equity": "MUSD",
    "revolver_draw": "MUSD",
    "revolver_repay": "MUSD",
    "revolver_balance": "MUSD",
    "idle_unpowered": "MW",
    "untested": "MUSD",  # a covenant row on debt lifted where a copy owes nothing: its rows are MUSD
    "ratio_cured": "MUSD",  # frees a copy's cure from the debt it tests (repayment_cure): MUSD rows
    "collateral_repaid": "MUSD",  # a copy's largest borrowing-base shortfall so far, collateral USD
    "eta": "MUSD",
    "shortfall": "MUSD",
    "objective": "MUSD",
}


def to_model_units(usd):
    """USD (a number or an array) in model money units. Division, not multiplication by 1e-6:
    the written LP keeps the same doubles as ever."""
    return usd / MUSD


def from_model_units(value, unit: str):
    """A model value (a number or an array) in ``unit`` back in output units: MUSD become USD,
    other units are unchanged."""
    return value * MUSD if unit == "MUSD" else value


def output_unit(unit: str) -> str:
    """The unit a model unit is reported in (MUSD are reported in USD)."""
    return "USD" if unit == "MUSD" else unit

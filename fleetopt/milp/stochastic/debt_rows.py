"""Covenant rows on debt in a scenario copy that owes none of what they test (docs/formulation.md
§7b): no lender tests them there. The ``untested`` and ``ratio_cured`` columns beside each row, what a
copy owes that a row tests (:func:`owed`), and the two holds the extensive form's solve applies
between its solves: owe nothing (:func:`owe_nothing`) and cure by repaying (:func:`cure_by_repaying`)."""

from __future__ import annotations

import enum

import pyomo.environ as pyo

from fleetopt.core.covenants import CATALOGUE, FLOWS, TOLERANCE_USD
from fleetopt.core.data import ModelData
from fleetopt.milp.covenants import STRESS_KINDS, end_of_quarter, slack_index
from fleetopt.milp.units import to_model_units

# the covenant groups on debt, and their stress rows (§5.13), by their kind: where a scenario copy owes
# none of the quantity whose absence means no lender tests the kind (§5.11: its `applies_when`, as the
# model tests it, :func:`owed`), its row is not charged (:meth:`ExtensiveForm.solve`)
DEBT_KINDS = {k.group: k for k in CATALOGUE if k.needs_debt} | {
    group: k for group, k in STRESS_KINDS.items() if k.needs_debt
}


def add_owing_nothing(m: pyo.ConcreteModel, data: ModelData) -> None:
    """``untested`` (MUSD, >= 0, no cost), a column of every covenant row on debt, fixed at 0: freed
    where the copy is held to owe nothing (:func:`owe_nothing`), it takes the row's place, so that a
    copy that owes no debt (no debt service, no interest) is not charged for a covenant no lender
    tests (§7b): there the row would read EBITDA >= 0.

    ``repayment_cure``, beside each such row: what the copy owes that the row tests (:func:`owed`)
    <= its slack + ``ratio_cured`` (MUSD, >= 0, no cost), free while the row stands; where the copy is
    held to repay instead (:func:`cure_by_repaying`) the row is untested and ``ratio_cured`` fixed at
    0, so that the cure is what repaying that debt costs, no more (with EBITDA below 0 the row's own
    cure exceeds it); where it is held to owe nothing (:func:`owe_nothing`) the slack is fixed at 0
    too: the row reads owed <= 0. No such row where an opening balance is tested, which no copy can
    repay, nor where nothing can be owed.

    Each row is keyed (group, quarter), or (group, case, quarter) for a stress row (§5.13)."""
    rows = [(group, *_flat(idx)) for group in DEBT_KINDS if hasattr(m, group) for idx in getattr(m, group)]
    m.UNTESTED = pyo.Set(initialize=rows, dimen=None, ordered=True)
    m.untested = pyo.Var(m.UNTESTED, domain=pyo.NonNegativeReals)
    m.ratio_cured = pyo.Var(m.UNTESTED, domain=pyo.NonNegativeReals)
    for key in rows:
        m.untested[key].fix(0.0)
        row = _debt_row(m, key)
        lhs, rhs = row.expr.args  # lesser <= greater + slack, as Pyomo holds either sense
        row.set_value(lhs <= rhs + m.untested[key])

    def repayment_cure(m, *key):
        owes = owed(m, data, key)
        if isinstance(owes, Unowed):  # nothing a copy could repay
            return pyo.Constraint.Skip
        return owes <= _cure(m, key) + m.ratio_cured[key]

    m.repayment_cure = pyo.Constraint(m.UNTESTED, rule=repayment_cure)


def _flat(idx) -> tuple:
    """A row's index in its group (the quarter, or (case, quarter)) as a tuple."""
    return idx if isinstance(idx, tuple) else (idx,)


def _row_index(key: tuple):
    """The index in its group of the covenant row on debt ``key`` (a key of ``m.UNTESTED``)."""
    return key[1] if len(key) == 2 else key[1:]


def _debt_row(m: pyo.Block, key: tuple) -> pyo.Constraint:
    return getattr(m, key[0])[_row_index(key)]


def _cure(m: pyo.Block, key: tuple) -> pyo.Var:
    """The slack (cure) of the covenant row on debt ``key``: its own, or a stress row's ``robustness``."""
    return m.slack[slack_index(key[0], _row_index(key))]


class Unowed(enum.Enum):
    """:func:`owed` where it is no quantity of the copy's: where nothing can be owed, or where an
    opening balance is, which no copy can repay."""

    NOTHING = "nothing can be owed"
    OPENING_BALANCE = "an opening balance is owed"


def owed(m: pyo.Block, data: ModelData, key: tuple):
    """What a copy owes that the covenant row on debt ``key`` (a key of ``m.UNTESTED``) tests (MUSD):
    the quantity whose absence means no lender tests the row's kind, as the model tests it (its
    ``applies_when``, §5.11). One held at the end of the row's quarter is that quantity: the debt, or
    with ``leverage_numerator: net_debt`` the debt less the cash (a stress row's: less the cash its
    income shock leaves, §5.13). Debt service and interest, flows, are paid on the balances at the
    start of every quarter of the EBITDA period: their sum; :attr:`Unowed.NOTHING` where none can be
    owed (no facility, or no quarter before), :attr:`Unowed.OPENING_BALANCE` where an opening balance
    is owed then."""
    group, t = key[0], key[-1]
    when = data.covenant_kinds[CATALOGUE.index(DEBT_KINDS[group])].applies_when
    if when not in FLOWS:
        return end_of_quarter(m, when, t, key[1] if len(key) == 3 else None)
    starts = range(max(0, t - data.covenant_window + 1), t + 1)
    if 0 in starts and any(fac.opening_usd > 0 for fac in data.facilities):
        return Unowed.OPENING_BALANCE
    balances = [m.balance[f, q - 1] for q in starts if q > 0 for f in m.F]
    return sum(balances) if balances else Unowed.NOTHING


def owe_nothing(m: pyo.Block, data: ModelData) -> tuple[list, list]:
    """Where a solved copy paid a cure of a covenant on debt while owing nothing that the row tests
    (:func:`owed`, within TOLERANCE_USD), hold it to owe nothing there and free the row's
    ``untested`` column: the row no longer stands. Held by its ``repayment_cure`` row with the cure
    and ``ratio_cured`` fixed at 0 (owed <= 0: the balances at 0, or, net of cash, cash covering the
    debt). A row net of cash is cured by cash too: where the copy's cash exceeds its debt (by more
    than TOLERANCE_USD) and the row binds (:func:`_shortfall`), the cash meets it, that emergency
    equity or the revolver may have raised for it at their penalties. Returns (the variables fixed,
    the columns freed)."""
    fixed, freed = [], []
    tolerance = to_model_units(TOLERANCE_USD)
    for key in m.UNTESTED:  # each group on debt is tested once a quarter (no part), by case if stressed
        owes, cure = owed(m, data, key), _cure(m, key)
        if owes is Unowed.OPENING_BALANCE or not m.untested[key].fixed:
            continue
        owes = 0.0 if owes is Unowed.NOTHING else pyo.value(owes)
        met_by_cash = owes < -tolerance and _shortfall(m, key) >= -tolerance
        if owes <= tolerance and ((cure.value or 0.0) > tolerance or met_by_cash):
            for var in (cure, m.ratio_cured[key]):
                if not var.fixed:
                    var.fix(0.0)
                    fixed.append(var)
            m.untested[key].unfix()
            freed.append(m.untested[key])
    return fixed, freed


def cure_by_repaying(m: pyo.Block, let_go: set) -> tuple[list, list]:
    """Where a solved copy's cure of a covenant on debt exceeds what repaying the debt the row tests
    costs (``repayment_cure``; by more than TOLERANCE_USD: EBITDA below 0, say, where leverage's cure
    is the debt plus 4 x the limit x the EBITDA short), hold the copy to cure by repaying: the row
    untested, its cure that debt. Where one so held would cure the row itself for less (by more than
    TOLERANCE_USD), the row stands again, once (``let_go``: the rows so let go, added to). Returns
    (the rows now held to repay, those let go), as keys of ``m.UNTESTED``."""
    held, released = [], []
    tolerance = to_model_units(TOLERANCE_USD)
    for key in m.repayment_cure:
        cure, ratio_cured, untested = _cure(m, key).value or 0.0, m.ratio_cured[key], m.untested[key]
        if cure <= tolerance:
            continue
        owes = pyo.value(m.repayment_cure[key].expr.args[0])  # what the copy owes that the row tests
        if not ratio_cured.fixed and untested.fixed and cure > owes + tolerance:
            untested.unfix()
            ratio_cured.fix(0.0)
            held.append(key)
        elif ratio_cured.fixed and key not in let_go and _row_cure(m, key) < cure - tolerance:
            untested.fix(0.0)
            ratio_cured.unfix()
            let_go.add(key)
            released.append(key)
    return held, released


def _row_cure(m: pyo.Block, key: tuple) -> float:
    """The cure the covenant row ``key`` itself would need at the solved values (MUSD)."""
    return max(0.0, _shortfall(m, key))


def _shortfall(m: pyo.Block, key: tuple) -> float:
    """By how much the covenant row ``key``'s test, without its cure, is missed at the solved values
    (MUSD; below 0: met with that much room)."""
    lhs, rhs = _debt_row(m, key).expr.args
    slack = (_cure(m, key).value or 0.0) + (m.untested[key].value or 0.0)
    return pyo.value(lhs) - pyo.value(rhs) + slack


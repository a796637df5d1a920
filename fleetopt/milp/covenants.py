"""Covenant rows of the MILP, built from the covenant catalogue (fleetopt/core/covenants.py): one
constraint group per catalogue group (§5.11) and, for the tests on EBITDA, their copies under the
`robustness` income shocks (§5.13). A new covenant type needs no code here.

Each test is the catalogue's linear form in model units, in the quarters the MILP tests it
(``CovenantTest.milp_tested``):

    max test:  lesser_t <= a x greater_t + slack      (leverage: D_t <= 4 Γ EBITDA_t; net: D_t - C_t)
    min test:  a x greater_t + slack >= lesser_t      (DSCR: EBITDA_t >= δ (Int_t + S^{am}_t))

with the flows (EBITDA, debt service, interest, EBITDA less tax) averaged over the covenants' EBITDA
period. EBITDA less tax, EBITDA_t - X_t (the DSCR's numerator with ``dscr_cash_flow:
ebitda_less_tax``), is linear: X_t is the tax variable of §5.10, which nothing rewards raising.
"""

from __future__ import annotations

import pyomo.environ as pyo

from fleetopt.core.covenants import CATALOGUE, FLOWS, INCOME, CovenantKind, CovenantTest
from fleetopt.milp.builder import Builder
from fleetopt.milp.groups import ConstraintGroup, Slack
from fleetopt.milp.units import to_model_units


def debt_at(m: pyo.Block, t: int):
    """\\sum_f D_{f,t} of a built model (or scenario copy) ``m``."""
    return sum(m.balance[f, t] for f in range(len(m.data.facilities)))


def debt_service(b: Builder, t: int):
    """Int_t + \\sum_{f amortizing} S_{f,t}: what the DSCR covenant compares EBITDA with. A bullet's
    S_{f,t} is its repayment at maturity, which lenders leave out of debt service (§5.11)."""
    m, facilities = b.m, b.data.facilities
    amortizing = [f for f, fac in enumerate(facilities) if fac.maturity is None]
    return m.interest[t] + sum(m.scheduled_principal[f, t] for f in amortizing)


def quantity(b: Builder, name: str, t: int, case: str | None = None):
    """A covenant quantity of quarter ``t`` (MUSD): debt, cash and net debt at the end of ``t``
    (:func:`end_of_quarter`), the flows averaged over the EBITDA period; under the income shock
    ``case``, EBITDA less the income it loses (EBITDA less tax: less the tax then due, X^σ_t, too)
    and cash less the cash it has lost so far."""
    if name not in FLOWS:
        return end_of_quarter(b.m, name, t, case)
    quarters = range(max(0, t - b.data.covenant_window + 1), t + 1)
    values = [_flow(b, name, q, case) for q in quarters]
    return values[0] if len(values) == 1 else sum(values) / len(values)


def end_of_quarter(m: pyo.Block, name: str, t: int, case: str | None = None):
    """A covenant quantity held at the end of quarter ``t``, not a flow (MUSD): the debt, the cash
    (under the income shock ``case``, less the cash it has lost so far) or the net debt, of a built
    model (or scenario copy) ``m``."""
    if name == "debt":
        return debt_at(m, t)
    if name == "cash":
        return m.cash[t] if case is None else m.cash[t] - m.stress_gap[case, t]
    if name == "net_debt":  # not floored at 0: linear, and where cash covers the debt a tighter row
        return debt_at(m, t) - end_of_quarter(m, "cash", t, case)
    raise ValueError(f"{name!r} is no covenant quantity of a quarter's end the MILP holds")


def _flow(b: Builder, name: str, t: int, case: str | None):
    m = b.m
    if name == "ebitda":
        return m.ebitda[t] if case is None else m.ebitda[t] - m.stress_lost[case, t]
    if name == "ebitda_less_tax":
        tax = m.tax[t] if case is None else m.stress_tax[case, t]
        return _flow(b, "ebitda", t, case) - tax
    return debt_service(b, t) if name == "debt_service" else m.interest[t]


def covenant_row(b: Builder, test: CovenantTest, t: int, slack_key: tuple, case: str | None = None):
    """The test's row in quarter ``t``; ``slack_key`` indexes its diagnosis slack."""
    (a, x), (c, y) = test.greater, test.lesser
    greater = quantity(b, x, t, case)
    greater = greater if a == 1.0 else a * greater
    if y is None:
        lesser = to_model_units(c)  # a threshold in USD
    else:
        lesser = quantity(b, y, t, case)
        lesser = lesser if c == 1.0 else c * lesser
    if test.kind.bound == "max":
        return lesser <= greater + b.slack(*slack_key)
    return greater + b.slack(*slack_key) >= lesser


def _test(b: Builder, kind: CovenantKind) -> CovenantTest:
    """The model's test of ``kind``: rows are built only for the tests the model sets."""
    return next(test for test in b.data.covenants if test.kind == kind)


def covenant_rule(b: Builder, t: int, part: str | None = None):
    r"""a x X_t + slack >= Y-side_t (min test) or Y-side_t <= a x X_t + slack (max test): the linear
    form of the catalogue's test of this group (and ``part``) in quarter t, e.g.
    \sum_f D_{f,t} <= 4 Γ^{max} EBITDA_t, EBITDA_t >= δ (Int_t + \sum_{f amortizing} S_{f,t}),
    EBITDA_t >= ω Int_t, C_t >= \underline L, C_t >= ψ \sum_f D_{f,t}."""
    kind = next(k for k in CATALOGUE if k.group == b.group.name and k.part == part)
    return covenant_row(b, _test(b, kind), t, (t,) if part is None else (t, part))


def stress_covenant_rule(b: Builder, case: str, t: int):
    r"""The covenant on the shocked EBITDA: EBITDA_t - L_{σ,t} in place of EBITDA_t, e.g.
    \sum_f D_{f,t} <= 4 Γ^{max} (EBITDA_t - L_{σ,t})."""
    kind = next(k for k in CATALOGUE if f"stress_{k.name}" == b.group.name)
    return covenant_row(b, _test(b, kind), t, _stress_slack_key(kind, case, t), case)


def _stress_slack_key(kind: CovenantKind, case: str, t: int) -> tuple:
    """The key of the ``robustness`` slack of ``kind``'s stress row under ``case`` in quarter ``t``."""
    return (t, case, kind.name)


def slack_index(group: str, index) -> tuple:
    """The index into ``m.slack`` of row ``index`` of the covenant group ``group`` without parts: the
    quarter t, (group, t); a stress row's (case, t), ('robustness', t, case, test)."""
    kind = STRESS_KINDS.get(group)
    if kind is None:
        return (group, index)
    case, t = index
    return (ROBUSTNESS.name, *_stress_slack_key(kind, case, t))


def cures_stress_covenant(idx: tuple) -> bool:
    """Whether ``m.slack[idx]`` is a stress covenant row's ``robustness`` slack (:func:`slack_index`),
    not a stress cash or liquidity row's."""
    if idx[0] != ROBUSTNESS.name:
        return False
    t, case, _ = idx[1:]
    return any(_stress_slack_key(kind, case, t) == idx[1:] for kind in STRESS_KINDS.values())


def _shocked_quarter(data, key) -> tuple[str, int]:
    t, case, test = key
    q, test = data.quarter_labels[t], _test_words(data, test)
    return (f"{q} ({test} with {case} lost)" if case != "market prices" else f"{q} ({test})"), t


# the catalogue kind a stress row tests, where its slack key is not the kind's name (finance.py's
# stress_cash "floor" part, its stress_liquidity row of a fraction of debt)
_STRESS_TEST_KINDS = {"floor": "liquidity", "liquidity": "liquidity_fraction"}


def stressed_kind_name(test: str) -> str:
    """The catalogue kind's name a stress row's ``test`` (its slack key's last part) tests: 'dscr' as
    it is, 'floor' the liquidity covenant, 'liquidity' its fraction of debt; 'cash' and 'budget',
    which no covenant is, as they are."""
    return _STRESS_TEST_KINDS.get(test, test)


def _test_words(data, test: str) -> str:
    """A stress row's test as the model sets it: 'EBITDA / debt service' for dscr, 'liquidity' for
    the floor, 'cash / debt' for the fraction; 'cash' and 'budget' as they are."""
    labels = {kind.name: kind.label for kind in data.covenant_kinds}
    return labels.get(stressed_kind_name(test), test)


def covenant_words(labels: list[str]) -> str:
    """Covenant tests, by their catalogue labels, as a reader knows the limit: 'EBITDA / debt service
    covenant', 'liquidity and cash / debt covenant'."""
    return f"{' and '.join(labels)} covenant"


def _covenant_quarter(data, key) -> tuple[str, int]:
    """'2027Q3' for a covenant row ``(t,)``; '2027Q3 (cash / debt)' for a row of a shared group's part."""
    t, *part = key
    words = [kind.label for kind in data.covenant_kinds if part and kind.part == part[0]]
    return data.quarter_labels[t] + (f" ({words[0]})" if words else ""), t


ROBUSTNESS = Slack("robustness", "MUSD", _shocked_quarter, relaxed_first=True,
                   words="cash and covenants under the robustness shocks")


def _on_ebitda(kind: CovenantKind) -> bool:
    """Whether an income shock lowers a quantity of the test (EBITDA, or EBITDA less tax)."""
    return bool({kind.numerator, kind.denominator} & set(INCOME))


# where a test on debt is held although the plan may owe nothing (formulation §5.11, §9)
_POSSIBLE = {"debt": "debt could be outstanding", "net_debt": "debt could be outstanding",
             "debt_service": "debt service could be due",
             "interest": "interest could be due"}  # fmt: skip


# the greater side of a test on debt where the plan owes nothing, in words
_AT_LEAST_ZERO = {"ebitda": "EBITDA", "ebitda_less_tax": "EBITDA - tax"}


def covenant_note(kind: CovenantKind) -> str:
    """What the diagnosis says of a test on debt (``kind`` as the model tests it: on its numerator):
    its rows also hold where nothing is owed."""
    if not kind.needs_debt:
        return ""
    income = _AT_LEAST_ZERO[kind.numerator if kind.bound == "min" else kind.denominator]
    # net of cash the row reads -C_t <= 4 x limit x EBITDA: it bounds EBITDA below 0 by the cash
    floor = "-cash / (4 x the limit)" if kind.numerator == "net_debt" else "0"
    return (
        f"the {kind.label} row holds in every tested quarter where {_POSSIBLE[kind.applies_when]}, also "
        f"where the plan owes nothing: there it reads {income} >= {floor} (docs/formulation.md §9)"
    )


_FIRST_OF_GROUP = {}  # each covenant group's first kind, in catalogue order
for _kind in CATALOGUE:
    if not _kind.facility_test:
        _FIRST_OF_GROUP.setdefault(_kind.group, _kind)
COVENANT_GROUPS = {
    name: ConstraintGroup(name, "§5.11", covenant_rule,
                          Slack(name, "MUSD", _covenant_quarter, note=covenant_note(kind),
                                words=covenant_words([kind.label])))
    for name, kind in _FIRST_OF_GROUP.items()
}
STRESS_COVENANT_GROUPS = {
    kind.name: ConstraintGroup(f"stress_{kind.name}", "§5.13", stress_covenant_rule, ROBUSTNESS)
    for kind in CATALOGUE
    if _on_ebitda(kind)
}
# the kind each stress group tests, by the group's name (stress_leverage: leverage)
STRESS_KINDS = {STRESS_COVENANT_GROUPS[k.name].name: k for k in CATALOGUE if k.name in STRESS_COVENANT_GROUPS}


def add_covenants(b: Builder) -> None:
    """Every covenant group the model's tests use, in catalogue order, over the quarters the MILP
    tests it (for a shared group, each part the model sets, over its own test's quarters); tests on
    debt only with a debt facility."""
    has_debt = bool(b.data.facilities)
    for name, group in COVENANT_GROUPS.items():
        tests = [test for test in b.data.covenants if test.kind.group == name]
        if not tests or (tests[0].kind.needs_debt and not has_debt):
            continue
        kinds = [kind for kind in CATALOGUE if kind.group == name]
        if [kind.part for kind in kinds] == [None]:
            b.add(group, list(tests[0].milp_tested))
            continue
        # each part the model sets over its own test's quarters: one may be tied to a facility, the
        # other not; a part it does not set has no rows (a diagnosis would name a test never set)
        rows = {(t, n) for n, kind in enumerate(kinds) for test in tests if test.kind == kind
                for t in test.milp_tested}
        b.add(group, [(t, kinds[n].part) for t, n in sorted(rows)])


def add_shocked_covenants(b: Builder) -> None:
    """The tests on EBITDA under every income shock of ``b.m.STRESS``."""
    if not b.data.facilities:
        return
    for test in b.data.covenants:
        if _on_ebitda(test.kind):
            b.add(STRESS_COVENANT_GROUPS[test.kind.name], b.m.STRESS, list(test.milp_tested))


GROUPS = (*COVENANT_GROUPS.values(), *STRESS_COVENANT_GROUPS.values())

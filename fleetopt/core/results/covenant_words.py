"""How near a plan's statements come to each covenant: cushions, headroom (by quarter and on the trailing
year), breaches before testing starts, the DSCR and the cover of next year's debt payments by cash, in
figures and words."""

from __future__ import annotations

import numpy as np

from fleetopt.core.covenants import (
    CATALOGUE,
    TRAILING_QUARTERS,
    CovenantKind,
    CovenantTest,
    statement_quantities,
)
from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import Statements
from fleetopt.core.quarters import QUARTERS_PER_YEAR
from fleetopt.core.units import decimals_apart, format_percent, format_times, format_usd

# (share, covenant name) of lowest_cushion, their names in a solve's figures, and what the share is
Cushion = tuple[float | None, str | None]


CUSHION_FIGURES = ("lowest_covenant_cushion", "tightest_covenant")


CUSHION_MEANS = "the smallest fall of EBITDA, collateral or cash that breaches a covenant"


def lowest_cushion(data: ModelData, headroom: dict[str, float | str | None]) -> Cushion:
    """(share, covenant name): the smallest fall of a quantity a covenant protects (EBITDA, the
    GPUs' resale value, cash), all else equal, in the covenant's tightest quarter, that breaches it
    (:meth:`CovenantTest.cushion` of each covenant's :func:`covenant_headroom`; 0: on a limit,
    negative: breached), and which covenant it is; (None, None) where no covenant has a share. One
    measure for every covenant: their headrooms' own bases differ (1 - ratio / limit against a
    maximum, ratio / limit - 1 against a minimum), so the lowest of those can name the wrong one."""
    shares = [(share, name) for name, share in covenant_cushions(data, headroom).items()
              if isinstance(share, float)]  # fmt: skip
    return min(shares, default=(None, None))


# a covenant's figure by its name: a share, a phrase where there is nothing to test, None (no threshold)
CovenantFigures = dict[str, float | str | None]


def covenant_cushions(data: ModelData, headroom: CovenantFigures) -> CovenantFigures:
    """Each covenant's :meth:`CovenantTest.cushion` share by name, from its :func:`covenant_headroom`
    (a phrase or None there stays as it is): the share the quantity it protects may fall in its
    tightest quarter before a breach, one measure for every covenant (-inf: that quantity at or
    below zero)."""
    out: CovenantFigures = {}
    for test in data.covenants:
        room = headroom.get(test.kind.name)
        out[test.kind.name] = test.cushion(room)[1] if isinstance(room, float) else room
    return out


def first_tested_quarter(data: ModelData) -> str | None:
    """The first quarter covenants are tested in (finance.covenants.test_from); None if none is."""
    tested = np.flatnonzero(data.covenant_tested)
    return data.quarter_labels[tested[0]] if len(tested) else None


def covenant_headroom(data: ModelData, st: Statements, window: int | None = None) -> CovenantFigures:
    """Lowest headroom of each covenant over the tested quarters, by covenant name: a share (0.10 =
    10 % from breaching); a phrase where no tested quarter has the quantity the test needs (``not
    tested: no debt service``, :meth:`CovenantTest.idle`); None for a zero threshold (no share of
    it exists). docs/formulation.md, "What a solve writes". ``window``: the quarters of EBITDA, debt
    service and interest the tests average (None: the model's; TRAILING_QUARTERS: the trailing year most
    facilities test, for a model that tests each quarter's own)."""
    quantities = statement_quantities(st.lines, data.covenant_window if window is None else window)
    return {test.kind.name: _headroom(test, quantities) for test in data.covenants}


# a covenant's headroom on the trailing year's averages (covenant_headroom's figure) and the label of
# the tested quarter it is tightest in (None: none)
TrailingYear = tuple[float | str | None, str | None]


def trailing_year_headroom(data: ModelData, st: Statements) -> dict[str, TrailingYear]:
    """For a model that tests each quarter's own flows (``ebitda_period: quarter``), each covenant's
    headroom on the trailing four quarters' averages, which most facilities test, and the quarter
    it is tightest in; {} for a model that already averages them."""
    if data.covenant_window != 1:
        return {}
    quantities = statement_quantities(st.lines, TRAILING_QUARTERS)
    out = {}
    for test in data.covenants:
        t = test.tightest_quarter(test.kind.ratio(quantities))
        out[test.kind.name] = (_headroom(test, quantities), None if t is None else data.quarter_labels[t])
    return out


def lowest_trailing_cushion(data: ModelData, yearly: dict[str, TrailingYear]) -> float | None:
    """The lowest covenant cushion (:func:`lowest_cushion`'s share) were the covenants tested on the
    trailing four quarters' averages (``yearly``: :func:`trailing_year_headroom`'s, those on EBITDA,
    debt service or interest averaged, those on cash, debt or collateral as they are); None for a
    model that tests the averages already: a plan "within its limits" on quarterly flows may breach
    on the basis most facilities test (the sweep's pick: 8.2 % short)."""
    rooms = {name: room for name, (room, _) in yearly.items()}
    return lowest_cushion(data, rooms)[0] if rooms else None


# a what-if: the model tests each quarter's own flows, and a breach there is no breach of its covenant
TRAILING_WHAT_IF = "if tested on the trailing four quarters' averages (the model tests each quarter's own)"


def trailing_year_words(test: CovenantTest, yearly: dict[str, TrailingYear]) -> str | None:
    """How far a covenant on flows is from a breach on the trailing year (:func:`trailing_year_headroom`),
    in words, with its tightest quarter; None where there is no such figure (a covenant on cash or
    debt alone, or none tested)."""
    year, quarter = yearly.get(test.kind.name, (None, None))
    if not isinstance(year, float) or not test.kind.on_flows:
        return None
    return f"{TRAILING_WHAT_IF}, {test.cushion_words(year)}, tightest in {quarter}"


def untested_breaches(data: ModelData, st: Statements) -> str | None:
    """The quarters before a covenant is first tested (``finance.covenants.test_from``: a grace the
    model assumes) whose statements would breach it, in words: "EBITDA / debt service 0.94x in
    2026Q3 and 1.396x in 2026Q4 (minimum 1.4x)"; None where there are none. A reader of "no
    breach on the forecast" must see them. The borrowing base, tested in every quarter, has none."""
    # before test_from, where the test would apply (a tied test: where its facility can owe)
    return _breach_words(data, st, lambda test: ~data.covenant_tested & test.could_apply)


def tested_breaches(data: ModelData, st: Statements) -> str | None:
    """The tested quarters whose statements breach a ratio covenant, in :func:`untested_breaches`'
    words; None where there are none. A MILP plan meets its rows, so these come only where a row is
    a relaxation of the statements' test (the DSCR on EBITDA less tax with tax losses carried
    forward, formulation §5.11)."""
    return _breach_words(data, st, lambda test: test.tested)


def _breach_words(data: ModelData, st: Statements, where) -> str | None:
    """The ratio covenants the statements breach in the quarters ``where(test)`` ((T,) bool), in words."""
    quantities = statement_quantities(st.lines, data.covenant_window)
    parts = []
    for test in data.covenants:
        kind = test.kind
        if kind.facility_test or kind.denominator is None:
            continue
        ratio = kind.ratio(quantities)
        missed = np.flatnonzero(test.breached(quantities) & where(test))
        if not missed.size:
            continue
        quarters = " and ".join(
            f"{ratio_words(kind, ratio[t], test.threshold)} in {data.quarter_labels[t]}" for t in missed
        )
        parts.append(f"{kind.label} {quarters} ({limit_words(test)})")
    return "; ".join(parts) or None


def covenants_met_without_room(data: ModelData, st: Statements) -> list[tuple[CovenantTest, np.ndarray]]:
    """Each covenant the statements meet with no room in some tested quarter, with those quarters
    ((T,) bool, :meth:`CovenantTest.met_without_room`: its MILP row binds there); a test with nothing
    to test (:meth:`CovenantTest.idle`) or a zero threshold is left out."""
    quantities = statement_quantities(st.lines, data.covenant_window)
    tight = [(test, test.met_without_room(test.kind.ratio(quantities)))
             for test in data.covenants if test.threshold and not test.idle(quantities)]  # fmt: skip
    return [(test, at) for test, at in tight if at.any()]


def covenant_headroom_text(data, fig: dict, yearly: dict | None = None) -> str:
    """Each covenant in its tightest quarter: how far the quantity it protects may fall before a
    breach (CovenantTest.cushion), the lowest cash of a USD floor, or why there is nothing to test
    (no debt service, no debt: CovenantTest.idle); beside a covenant on flows, its cushion on the
    trailing year where the model tests each quarter's own (``yearly``: trailing_year_headroom)."""
    parts = []
    for test in data.covenants:
        room = fig["covenant_headroom"].get(test.kind.name)
        # the borrowing base is tested in every quarter, whatever covenants.test_from says
        every = " (every quarter)" if test.kind.facility_test else ""
        if room is None:
            continue
        if isinstance(room, str):  # nothing to test: "not tested: no debt service"
            parts.append(f"{test.describe()}{every}: {room}")
            continue
        # the one a smaller fall of what it protects breaches than any other (lowest_cushion)
        tightest = " (the tightest)" if fig.get("tightest_covenant") == test.kind.name else ""
        if test.kind.denominator is None:  # a floor in USD: the lowest tested amount says more
            tested = "" if test.tested.all() else " in the quarters tested"
            parts.append(f"{test.describe()}: lowest {format_usd(test.tightest(room))}{tested}{tightest}")
            continue
        year = trailing_year_words(test, yearly or {})
        # "; ": after ", " the what-if read as the condition of the quarter's own cushion before it
        parts.append(f"{test.describe()}{every}: {test.cushion_words(room)}{tightest}"
                     + (f"; {year}" if year else ""))  # fmt: skip
    return "\n".join(parts)  # one line per test: a long cell reads as one run-on sentence otherwise


def limit_words(test: CovenantTest) -> str:
    """A covenant ratio's limit in words: "maximum 6x", "minimum 1.4x", "minimum 12.5%" (a share of
    debt); the figure is the one :meth:`CovenantTest.describe` writes (``threshold_words``)."""
    return f"{'maximum' if test.kind.bound == 'max' else 'minimum'} {test.threshold_words}"


def ratio_words(kind, value: float, limit: float) -> str:
    """A covenant ratio beside its limit: a share of debt in per cent (:func:`share_words`), else
    1.95x; to three decimals where two would round it onto the limit, up to five where three would
    too (1.396 is no "1.40x" beside 1.4x, 1.39996 no "1.400x": 1.39996x; ``decimals_apart``); a
    solver's round-off, 1.4 less 1e-9, stays 1.400x."""
    if kind.numerator == "cash":
        return share_words(value, limit)
    two = format_times(value)
    return format_times(value, decimals_apart(value, limit, 3, most=5)) if two == format_times(limit) else two


def share_words(value: float, limit: float) -> str:
    """A covenant's share beside its limit in per cent: whole, or to the hundredth of a per cent where
    a whole one would round it onto the limit, up to the ten-thousandth where that would too (9.6 %
    is no "10%" beside 10 %, but 9.60%; 9.9999 % no "10.00%"; a solver's round-off stays 10.00%);
    rounded half up (:func:`format_percent`)."""
    whole = format_percent(value, 0)
    if whole != format_percent(limit, 0):
        return whole
    return format_percent(value, decimals_apart(value, limit, 2, -2, most=4))


def _headroom(test, quantities: dict) -> float | str | None:
    idle = test.idle(quantities) if test.threshold else None
    return idle or test.headroom(test.kind.ratio(quantities))


DSCR = next(kind for kind in CATALOGUE if kind.name == "dscr")


# the quarters of debt service a quarter's cash is held against: the next year's (a lender's runway)
RUNWAY_QUARTERS = QUARTERS_PER_YEAR


# the liquidity cover's label, as the terminal and the report name it
LIQUIDITY_COVER_LABEL = ("lowest cover of the next year's debt payments by cash in hand (cash at a quarter's "
                         "end / interest and principal due in the four quarters after it; not a covenant: "
                         "below 1x the year's payments need the year's earnings or new debt)")


def dscr_name(data: ModelData) -> str:
    """'DSCR', or 'DSCR ((EBITDA - tax) / debt service)' for a model that tests it on EBITDA less tax
    (``finance.covenants.dscr_cash_flow``)."""
    kind = dscr_kind(data)
    return "DSCR" if kind.numerator == DSCR.numerator else f"DSCR ({kind.label})"


def dscr_kind(data: ModelData) -> CovenantKind:
    """The DSCR as the model tests it: on its ``dscr_cash_flow``."""
    return data.covenant_kinds[CATALOGUE.index(DSCR)]


def liquidity_cover(cash: np.ndarray, debt_service: np.ndarray) -> tuple[float | None, int | None]:
    """The lowest cover of the next year's debt payments by cash: min over quarters t with
    RUNWAY_QUARTERS quarters after them in the horizon of cash_t / (interest and scheduled
    principal of t+1..t+4, bullets repaid at maturity included), and
    that t; (None, None) where no such quarter owes any debt service. Operating cash flow is left
    out: the cash in hand, as a lender's liquidity test reads it (from a finance review)."""
    T, covers = len(cash), []
    for t in range(T - RUNWAY_QUARTERS):
        owed = float(debt_service[t + 1 : t + 1 + RUNWAY_QUARTERS].sum())
        if owed > 0:
            covers.append((float(cash[t]) / owed, t))
    return min(covers) if covers else (None, None)


def covenant_test(data: ModelData, kind: str) -> CovenantTest | None:
    """The model's test of covenant ``kind`` (a CovenantKind name); None where it has none."""
    return next((t for t in data.covenants if t.kind.name == kind), None)


def quarters_tested(data: ModelData, kind: str) -> np.ndarray:
    """(T,) bool: the quarters the model tests covenant ``kind`` (a CovenantKind name) in, where it
    has that test (a test tied to a facility lapses with it: none where it never owes then); else
    those of the covenants block (from ``test_from``), or every quarter without one."""
    test = covenant_test(data, kind)
    if test is not None:
        return test.tested
    return data.covenant_tested if data.covenant_tested.any() else np.ones(data.T, dtype=bool)


def tested_from(data: ModelData, kind: str | None = None) -> str:
    """' (quarters tested, from 2027Q1)': the quarters the covenant figures cover (``kind``: those of
    that covenant, which a test tied to a facility ends with it), or ''."""
    if kind is None:
        first = first_tested_quarter(data)
    else:
        tested = np.flatnonzero(quarters_tested(data, kind))
        if not tested.size:
            return " (never tested)"
        first, last = data.quarter_labels[tested[0]], data.quarter_labels[tested[-1]]
        if tested[-1] < data.T - 1:  # a test that lapses with its facility
            return f" (quarters tested, {first} to {last})"
    return "" if first in (None, data.quarter_labels[0]) else f" (quarters tested, from {first})"

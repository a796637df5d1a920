"""Covenant tests as data: one catalogue read by the MILP rows (and their `robustness` copies), the
statements' ratio lines and headroom, the NumPy simulation and the CUDA kernel.

A covenant caps or floors a ratio of two quantities of a quarter (docs/formulation.md §5.11):

    max:  numerator <= threshold x scale x denominator     leverage: debt <= 6.0 x 4 x EBITDA
    min:  numerator >= threshold x denominator              DSCR: EBITDA >= 1.4 x debt service
    min without a denominator: numerator >= threshold USD    liquidity: cash >= $25M
    borrowing base (a max with threshold 1):                 collateral required <= 1 x collateral

so each test is one linear relation ``greater >= lesser`` with one quantity and coefficient a side:

    max: greater = (threshold x scale) x denominator,  lesser = numerator
    min: greater = numerator,  lesser = threshold x denominator  (or the threshold, in USD)

The quantities are a quarter's EBITDA, debt (term loans and revolver, end of quarter), debt
service (interest plus scheduled principal), interest, cash (end of quarter), the collateral the
GPU-secured balances require (each balance / its facility's ``max_ltv``, end of quarter), the
collateral: the GPUs' gross resale value (formulation §5.9; the scenario's, in the evaluator), and
EBITDA less the quarter's tax (after the losses carried: the cash flow available for debt service,
which ``dscr_cash_flow: ebitda_less_tax`` makes the DSCR's numerator), and net debt: debt less cash,
end of quarter, not below zero (``leverage_numerator: net_debt`` makes it leverage's numerator; a
test that applies by its numerator lapses with it, so net leverage is not tested where cash covers
the debt: the MILP's linear row, debt - cash <= L x 4 x EBITDA, is held there too). With
``ebitda_period: trailing_four_quarters`` the flows (EBITDA, debt service, interest, EBITDA less
tax) are the average of the quarter and the three before it (of those inside the horizon).

A new covenant type is a row of :data:`CATALOGUE` and a field of ``schema.finance.Covenants``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from fleetopt.core.arrays import reusing
from fleetopt.core.quarters import QUARTERS_PER_YEAR
from fleetopt.core.units import format_percent, format_rate, format_usd
from fleetopt.schema.finance import DEFAULT_EQUITY_CURES, NUMERATOR_CHOICES

QUANTITIES = ("ebitda", "debt", "debt_service", "interest", "cash", "collateral_required", "collateral",
              "ebitda_less_tax", "net_debt")  # fmt: skip
FLOWS = ("ebitda", "debt_service", "interest", "ebitda_less_tax")  # averaged over the EBITDA period
# the quantities an income shock lowers: the tests on them have `robustness` copies (formulation §5.13)
INCOME = ("ebitda", "ebitda_less_tax")
TRAILING_QUARTERS = QUARTERS_PER_YEAR  # the trailing year a facility averages its flows over
# A test is breached only when missed by more than this (USD of the tested amounts): a plan the MILP
# makes meet a covenant with equality must not breach it on the forecast through round-off. A
# quantity within it of 0 is round-off too (a loan repaid in thirds leaves 1e-10 USD of debt): a
# test applies only where its `applies_when` quantity exceeds it, and a ratio's denominator must.
TOLERANCE_USD = 1.0


@dataclass(frozen=True, eq=False)
class CovenantKind:
    """One type of covenant: the ratio it bounds and where each consumer finds it. A kind is its
    name: tested on another numerator (:meth:`tested_on`) it is the same covenant, with the same
    bit, group, headroom key and first-breach column."""

    name: str  # MILP group `<group>` and the key of its headroom
    field: str | None  # the threshold's field in the model file's `finance.covenants` (None: see below)
    bound: str  # "max" or "min"
    numerator: str  # a quantity of QUANTITIES
    denominator: str | None  # a quantity, or None: the threshold is in USD
    scale: float = 1.0  # of the denominator inside the ratio (4.0: annualised quarterly EBITDA)
    applies_when: str | None = None  # evaluator: tested only where this quantity is above TOLERANCE_USD
    # MILP: tested only in quarters where the `applies_when` quantity can be positive (covenant_tests)
    needs_debt: bool = False
    ratio_line: str | None = None  # statement line of the ratio, if it has one
    group: str = ""  # MILP constraint group (several kinds may share one, by `part`)
    part: str | None = None  # index of this kind's rows inside a shared group
    label: str = ""
    # the borrowing base: set by the facilities' `max_ltv` (threshold 1, tested in every quarter),
    # held in the MILP by its own rule (formulation §5.9), not by the covenant rows
    facility_test: bool = False
    # the label the kind has on each other numerator its `numerator_field` may choose
    numerator_labels: tuple[tuple[str, str], ...] = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CovenantKind) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def numerator_field(self) -> str | None:
        """The field of ``finance.covenants`` that chooses the numerator, a quantity (None: the
        numerator is fixed): the schema's ``NUMERATOR_CHOICES``, which its notes read too."""
        return NUMERATOR_CHOICES.get(self.field) if self.field else None

    def tested_on(self, covenants: Any) -> CovenantKind:
        """The kind as a model's ``finance.covenants`` block tests it: on the numerator its
        ``numerator_field`` chooses (``dscr_cash_flow: ebitda_less_tax``: (EBITDA - tax) / debt
        service), else as the catalogue has it (without a block too)."""
        if covenants is None or self.numerator_field is None:
            return self
        chosen = getattr(covenants, self.numerator_field, self.numerator)
        if chosen == self.numerator:
            return self
        # a test that applies by its numerator (no debt, no leverage) applies by the one chosen
        when = chosen if self.applies_when == self.numerator else self.applies_when
        return replace(self, numerator=chosen, applies_when=when, label=dict(self.numerator_labels)[chosen])

    @property
    def is_share(self) -> bool:
        """Whether the ratio reads as a share, in per cent (cash over debt, the borrowing base used),
        not a multiple (x): the report's covenant table and fans write it so."""
        return self.numerator == "cash" or self.facility_test

    @property
    def ratio_name(self) -> str:
        """The ratio's name as a report heads it: the borrowing base's is "borrowing base used" (a
        lender's "borrowing base" is an amount), every other its label."""
        return "borrowing base used" if self.facility_test else self.label

    @property
    def on_flows(self) -> bool:
        """Whether the test reads a flow (EBITDA, debt service, interest): one the EBITDA period
        averages, so that a trailing year can read otherwise than one quarter."""
        return bool({self.numerator, self.denominator} & set(FLOWS))

    @property
    def protects(self) -> str:
        """The quantity the covenant protects, in words: the denominator of a maximum (EBITDA, the
        GPUs' resale value), the numerator of a minimum (EBITDA, cash): what its cushion is a fall of."""
        return QUANTITY_WORDS[self.denominator if self.bound == "max" else self.numerator]

    def ratio(self, values: dict[str, Any]) -> Any:
        """The ratio as a lender reads it: inf where the denominator is not above TOLERANCE_USD, 0 where
        the test applies by its numerator and that is not (where a test does not apply, its ratio
        cannot breach it: inf against a minimum, 0 against a maximum)."""
        num = values[self.numerator]
        if self.denominator is None:
            return num
        den = self.scale * values[self.denominator] if self.scale != 1.0 else values[self.denominator]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(den > TOLERANCE_USD, num / den, np.inf)
        if self.applies_when == self.numerator:  # no debt is no leverage, even without EBITDA, and
            ratio = np.where(num > TOLERANCE_USD, ratio, 0.0)  # no GPU-secured debt needs no collateral
        return ratio


CATALOGUE: tuple[CovenantKind, ...] = (
    CovenantKind(
        "leverage", "max_debt_to_ebitda", "max", "debt", "ebitda", scale=QUARTERS_PER_YEAR,
        applies_when="debt", needs_debt=True, ratio_line="debt_to_ebitda", group="leverage_covenant",
        label="debt / annualised EBITDA",
        numerator_labels=(("net_debt", "net debt / annualised EBITDA"),),
    ),
    CovenantKind(
        "dscr", "min_dscr", "min", "ebitda", "debt_service", applies_when="debt_service",
        needs_debt=True, ratio_line="dscr", group="dscr_covenant", label="EBITDA / debt service",
        numerator_labels=(("ebitda_less_tax", "(EBITDA - tax) / debt service"),),
    ),
    CovenantKind(
        "interest_coverage", "min_interest_coverage", "min", "ebitda", "interest", applies_when="interest",
        needs_debt=True, ratio_line="interest_coverage", group="interest_coverage_covenant",
        label="EBITDA / interest",
    ),
    CovenantKind(
        "liquidity", "min_liquidity_usd", "min", "cash", None, group="liquidity_covenant", part="floor",
        label="liquidity",
    ),
    CovenantKind(
        "liquidity_fraction", "min_liquidity_fraction_of_debt", "min", "cash", "debt",
        group="liquidity_covenant", part="fraction", label="cash / debt",
    ),
    CovenantKind(
        "borrowing_base", None, "max", "collateral_required", "collateral",
        applies_when="collateral_required", ratio_line="borrowing_base_used", group="borrowing_base",
        label="borrowing base",
        facility_test=True,
    ),
)  # fmt: skip
BORROWING_BASE = CATALOGUE[-1]
# each quantity in words: what a covenant protects (CovenantKind.protects) and what a diagnosis's
# shortfall on its row is an amount of (CovenantTest.shortfall_words)
QUANTITY_WORDS = {"ebitda": "EBITDA", "debt": "debt", "debt_service": "debt service", "interest": "interest",
                  "cash": "cash", "collateral_required": "GPU-secured debt / max LTV",
                  "collateral": "the GPUs' resale value", "ebitda_less_tax": "EBITDA less tax",
                  "net_debt": "net debt"}  # fmt: skip
# a test's quantity absent, in words (see CovenantTest.idle)
ABSENT_WORDS = {"debt": "no debt", "net_debt": "no net debt (cash covers the debt)",
                "debt_service": "no debt service", "interest": "no interest",
                "collateral_required": "no GPU-secured debt"}  # fmt: skip


def tested_kinds(tests) -> tuple[CovenantKind, ...]:
    """The kinds of covenant a model tests (``ModelData.covenants``), in the catalogue's order, as it
    tests them (:meth:`CovenantKind.tested_on`): a first-breach table lists each of them, at 0 % too,
    and no other."""
    kinds = {test.kind: test.kind for test in tests}
    return tuple(kinds[kind] for kind in CATALOGUE if kind in kinds)


def model_kinds(covenants: Any) -> tuple[CovenantKind, ...]:
    """Every kind of :data:`CATALOGUE` as a model's ``finance.covenants`` block tests it (None: no
    block), tested or not: the statements' ratio lines."""
    return tuple(kind.tested_on(covenants) for kind in CATALOGUE)


def _scaled(coefficient: float, quantity: str | None, values: dict[str, Any]) -> Any:
    """``coefficient`` times the quantity's ``values`` (the coefficient alone for None)."""
    if quantity is None:
        return coefficient
    return values[quantity] if coefficient == 1.0 else coefficient * values[quantity]


def _scaled_plus(coefficient: float, quantity: str | None, values: dict[str, Any], added: float,
                 xp: Any) -> Any:  # fmt: skip
    """:func:`_scaled` plus ``added``, the sum written over the product where there is one."""
    if quantity is None or coefficient == 1.0:
        return _scaled(coefficient, quantity, values) + added
    product = coefficient * values[quantity]
    return reusing(product, xp.add, product, added)


def kind_bit(kind: CovenantKind) -> int:
    """The kind's bit in the evaluator's ``first_breach`` mask: 1 << its place in :data:`CATALOGUE`."""
    return 1 << CATALOGUE.index(kind)


# a ratio within this share of its threshold meets the test with no room: a binding row of the MILP
# (solver tolerances leave it a few 1e-9 off)
NO_ROOM = 1e-6


@dataclass(frozen=True)
class CovenantTest:
    """A covenant of one model: its kind, threshold and the quarters it is tested in."""

    kind: CovenantKind
    threshold: float
    tested: np.ndarray  # (T,) bool: quarters the evaluator and the statements test
    milp_tested: tuple[int, ...]  # quarters the MILP holds the row in
    window: int  # quarters of flows averaged: 1, or TRAILING_QUARTERS
    facility: str | None = None  # tested only while this facility can owe (covenants.tested_while_owed)
    owed: np.ndarray | None = None  # (T,) bool: where that facility can owe, test_from or not

    @property
    def could_apply(self) -> np.ndarray | bool:
        """Where the test would be tested but for ``test_from``: where its facility can owe, or
        everywhere (True) for a test not tied to one."""
        return True if self.owed is None else self.owed

    @property
    def greater(self) -> tuple[float, str | None]:
        """(coefficient, quantity) of the side that must be at least the other; quantity None: 0."""
        k = self.kind
        if k.bound == "max":
            return self.threshold * k.scale, k.denominator
        return 1.0, k.numerator

    @property
    def lesser(self) -> tuple[float, str | None]:
        """(coefficient, quantity) of the other side; quantity None: the coefficient is in USD."""
        k = self.kind
        if k.bound == "max":
            return 1.0, k.numerator
        return self.threshold, k.denominator

    @property
    def first_quarter(self) -> int:
        """The first quarter tested (horizon index; the number of quarters when none is)."""
        return int(np.argmax(self.tested)) if self.tested.any() else len(self.tested)

    @property
    def last_quarter(self) -> int:
        """The last quarter tested (horizon index; -1 when none is)."""
        return len(self.tested) - 1 - int(np.argmax(self.tested[::-1])) if self.tested.any() else -1

    def breached(self, values: dict[str, Any], xp: Any = np) -> Any:
        """Where the test is missed by more than TOLERANCE_USD, and applies: ``values`` maps each
        quantity to an array (flows already averaged over the window)."""
        a, x = self.greater
        b, y = self.lesser
        if self.kind.bound == "max":
            missed = _scaled(b, y, values) > _scaled_plus(a, x, values, TOLERANCE_USD, xp)
        else:  # less TOLERANCE_USD: plus its negative, bit for bit
            missed = _scaled(a, x, values) < _scaled_plus(b, y, values, -TOLERANCE_USD, xp)
        when = self.kind.applies_when
        return missed & (values[when] > TOLERANCE_USD) if when else missed

    @property
    def threshold_words(self) -> str:
        """The threshold in words: ``$25.0M`` (a floor in USD, :func:`format_usd`: $25,123,456 reads
        $25.1M), ``12.5%`` (a share of debt as given, to :func:`format_rate`'s four significant
        digits), ``1.4x`` (a ratio, to six). :meth:`describe` and ``covenant_words.limit_words``
        both write it."""
        k = self.kind
        if k.denominator is None:
            return format_usd(self.threshold)
        if k.numerator == "cash":  # a share of debt
            return format_rate(self.threshold)
        return f"{self.threshold:g}x"

    def describe(self) -> str:
        """The test as a lender writes it: ``debt / annualised EBITDA <= 6x``, ``liquidity >= $25.0M``,
        ``EBITDA / debt service >= 1.4x while ddtl-2 is owed`` (``covenants.tested_while_owed``)."""
        k = self.kind
        if k.facility_test:
            return "borrowing base: GPU-secured debt / max LTV <= GPU resale value"
        text = f"{k.label} {'<=' if k.bound == 'max' else '>='} {self.threshold_words}"
        return f"{text} while {self.facility} is owed" if self.facility else text

    @property
    def shortfall_words(self) -> str:
        """What the slack on the test's MILP row is an amount of (USD; docs/formulation.md §8): the
        side the row relaxes against the other, 'debt above 6x annualised EBITDA' (a maximum: the
        numerator over the limit), 'EBITDA below 1.4x debt service', 'cash below $25.0M', 'cash below
        12.5% of debt' (a minimum: the numerator under it), 'GPU-secured debt / max LTV above the
        GPUs' resale value' (the borrowing base)."""
        k = self.kind
        side = f"{QUANTITY_WORDS[k.numerator]} {'above' if k.bound == 'max' else 'below'}"
        if k.denominator is None:
            return f"{side} {self.threshold_words}"
        other = QUANTITY_WORDS[k.denominator]
        other = f"annualised {other}" if k.scale == QUARTERS_PER_YEAR else other
        if k.facility_test:  # its threshold is 1 (each facility's max LTV is in the collateral required)
            return f"{side} {other}"
        return f"{side} {self.threshold_words}{' of' if k.numerator == 'cash' else ''} {other}"

    def headroom(self, ratio: np.ndarray) -> float | None:
        """Lowest share by which the tested ratio stays inside its threshold (0.10 = 10 % from
        breaching), over the tested quarters; None for a zero threshold."""
        if not self.threshold:
            return None
        room = float(np.min(self._room(ratio)))
        return 0.0 if abs(room) < 1e-12 else room  # a test met with equality is 0, not -2e-16

    def tightest_quarter(self, ratio: np.ndarray) -> int | None:
        """The tested quarter (horizon index) of :meth:`headroom`, the first of equals; None for a
        zero threshold or no tested quarter."""
        if not self.threshold or not self.tested.any():
            return None
        return int(np.flatnonzero(self.tested)[np.argmin(self._room(ratio))])

    def met_without_room(self, ratio: np.ndarray) -> np.ndarray:
        """(T,) bool: the tested quarters whose ratio sits on the threshold (a share of it within
        :data:`NO_ROOM`): the quarters a plan meets the test with no room, where the MILP's row binds."""
        out = np.zeros(len(ratio), dtype=bool)
        if self.threshold:
            out[self.tested] = np.abs(self._room(ratio)) <= NO_ROOM
        return out

    def _room(self, ratio: np.ndarray) -> np.ndarray:
        """The share by which each tested quarter's ratio stays inside the threshold."""
        share = ratio[self.tested] / self.threshold
        return 1.0 - share if self.kind.bound == "max" else share - 1.0

    def idle(self, values: dict[str, Any]) -> str | None:
        """Why the test has no headroom to measure, where in no tested quarter the quantity its
        ratio needs exceeds TOLERANCE_USD: ``not tested: no debt service`` for a test that applies
        only with that quantity (its ``applies_when``), ``no debt: cash / debt unbounded`` for a
        minimum on a ratio to debt that applies without (cash >= ψ x 0 always holds while cash is
        not negative); None where some tested quarter has it, and for a floor in USD."""
        if not self.tested.any():
            return f"not tested: {self.facility} owes nothing from the first test on"
        k = self.kind
        needed = k.applies_when or k.denominator
        if needed is None or (np.asarray(values[needed])[self.tested] > TOLERANCE_USD).any():
            return None
        if k.applies_when:
            return f"not tested: {ABSENT_WORDS[needed]}"
        return f"{ABSENT_WORDS[needed]}: {k.label} unbounded"

    def cushion(self, headroom: float) -> tuple[str, float]:
        """(quantity, share): how far the quantity the test protects may fall in its tightest
        quarter, all else equal, before the test is breached, from its :meth:`headroom` h. Against a
        maximum num / den <= L the denominator may fall by 1 - ratio / L = h; against a minimum
        num / den >= L the numerator may fall by 1 - L / ratio = h / (1 + h). E.g. DSCR 1.95x
        against 1.4x: h = 39.2 %, EBITDA may fall 28.2 %; against a floor in USD (cash >= F, h =
        cash / F - 1) cash may fall by 1 - F / cash = h / (1 + h) too. A minimum whose quantity is
        at or below zero (h <= -1: no rise by any share meets it) is -inf, the most breached."""
        if self.kind.bound == "max":
            return self.kind.protects, headroom
        return self.kind.protects, headroom / (1.0 + headroom) if headroom > -1.0 else -math.inf

    def cushion_words(self, headroom: float) -> str:
        """:meth:`cushion` in words: "EBITDA may fall 28.2% before a breach", "met with no room",
        "breached (EBITDA 3.0% short)", "breached (EBITDA at or below zero)"."""
        quantity, share = self.cushion(headroom)
        if share > 0:
            return f"{quantity} may fall {format_percent(share)} before a breach"
        if share == 0:
            return "met with no room"
        short = f"{format_percent(-share)} short" if math.isfinite(share) else "at or below zero"
        return f"breached ({quantity} {short})"

    def tightest(self, headroom: float) -> float:
        """The tested ratio (or USD amount, for a floor in USD) of the tightest quarter, from its
        :meth:`headroom`: the highest against a maximum, the lowest against a minimum."""
        return self.threshold * (1.0 - headroom if self.kind.bound == "max" else 1.0 + headroom)


def covenant_tests(
    covenants: Any, T: int, test_from: int, possible: dict[str, np.ndarray], secured: bool = False,
    owed: dict[str, np.ndarray] | None = None,
) -> tuple[CovenantTest, ...]:
    """The tests a model's ``finance.covenants`` block sets, in catalogue order, and the borrowing
    base where some facility is GPU-secured (``secured``: has a ``max_ltv``), tested in every
    quarter. ``test_from``: the first quarter the block's tests are tested (horizon index);
    ``possible``: (T,) bool per quantity of the debt, the quarters it can be positive in
    (``data.debt_quantity_quarters``); ``owed``: (T,) bool per facility, the quarters it can owe a
    balance in (``data.facility_owed``): a test ``tested_while_owed`` names is tested only there.
    The MILP holds a ``needs_debt`` test only in tested quarters where its ``applies_when`` quantity
    (a flow: averaged over the EBITDA period) can be positive: elsewhere the evaluator never tests
    it, and its row would ask EBITDA >= 0."""
    from_start = np.arange(T) >= test_from
    window = ebitda_window(covenants)
    out = []
    for kind in model_kinds(covenants):
        if kind.facility_test:
            if secured:  # the MILP holds it by its own rule in every quarter
                out.append(CovenantTest(kind, 1.0, np.ones(T, dtype=bool), (), window))
            continue
        if covenants is None:
            continue
        threshold = getattr(covenants, kind.field)
        if threshold is None:
            continue
        facility = covenants.tested_while_owed.get(kind.field)
        tested = from_start & owed[facility] if facility else from_start
        applies = _debt_possible(kind, possible, window) if kind.needs_debt else tested
        milp = [t for t in range(T) if tested[t] and applies[t]]
        out.append(CovenantTest(kind, float(threshold), tested, tuple(milp), window, facility,
                                owed[facility] if facility else None))
    return tuple(out)


def _debt_possible(kind: CovenantKind, possible: dict[str, np.ndarray], window: int) -> np.ndarray:
    """(T,) bool: where the kind's ``applies_when`` quantity, as tested, can be positive."""
    when = kind.applies_when
    return possible_over_window(possible[when], window if when in FLOWS else 1)


def possible_over_window(possible: np.ndarray, window: int) -> np.ndarray:
    """(T,) bool: where a quantity's average over the last ``window`` quarters (fewer at the
    horizon start) can be positive, from where the quantity itself can be (``window`` 1: as is)."""
    return np.array([possible[max(0, t - window + 1) : t + 1].any() for t in range(len(possible))])


def coefficient_table(tests: tuple[CovenantTest, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The tests as arrays, for the fused kernel: (R, 2) float64 [greater coefficient, lesser
    coefficient] and (R, 4) int32 [greater quantity, lesser quantity (-1: the coefficient is in
    USD), quantity that must be positive for the test to apply (-1: always), 1 for a max test].
    Quantities are numbered in the order of QUANTITIES."""
    coef = np.zeros((len(tests), 2))
    index = np.zeros((len(tests), 4), dtype=np.int32)
    for r, test in enumerate(tests):
        (a, x), (b, y) = test.greater, test.lesser
        when = test.kind.applies_when
        coef[r] = (a, b)
        index[r] = (
            QUANTITIES.index(x),
            -1 if y is None else QUANTITIES.index(y),
            -1 if when is None else QUANTITIES.index(when),
            int(test.kind.bound == "max"),
        )
    return coef, index


def ebitda_window(covenants: Any) -> int:
    """Quarters of flows a model's covenant tests average (1 without a covenants block)."""
    trailing = covenants is not None and covenants.ebitda_period == "trailing_four_quarters"
    return TRAILING_QUARTERS if trailing else 1


def equity_cures(covenants: Any) -> int:
    """Breached quarters a model's owners may cure (``covenants.equity_cures``; the schema's default
    without a covenants block, whose borrowing base is still tested)."""
    return DEFAULT_EQUITY_CURES if covenants is None else covenants.equity_cures


class CureRights:
    """Each pair's cure rights, quarter by quarter (docs/evaluation.md, quarter step 6): a breached quarter
    is cured while cures are left and the quarter before was not cured too (credit agreements
    allow no cures in consecutive quarters, a few over the term), and never in or after the quarter
    of the pair's liquidity default (no owner cures, no lender waives, for a company out of cash);
    the first breach that cannot be cured is an **uncured breach**, an event of default on which
    lenders may accelerate. With ``cash_covers`` (``covenants.cash_covering_debt_cures``) a breached
    quarter whose cash covers its debt (:func:`cash_covers_debt`) is **repaid**: a quarter without a
    breach to the cure rights. Only counted: the cash is as it was (no equity comes in, no debt is
    accelerated or repaid)."""

    def __init__(self, allowed: int, shape: tuple[int, ...], xp: Any, cash_covers: bool = False):
        self.allowed, self.cash_covers = allowed, cash_covers
        self.used = xp.zeros(shape)  # cures used so far
        self.cured_last = xp.zeros(shape, dtype=bool)  # the quarter before was a cured breach
        self.repaid = xp.zeros(shape, dtype=bool)  # the quarter before was a breach its cash covered
        self.uncured = xp.zeros(shape, dtype=bool)

    def quarter(self, breached: Any, defaulted: Any, covered: Any = None) -> Any:
        """Take a quarter's tests: ``breached`` (bool per pair), None where nothing was tested,
        ``defaulted`` (bool per pair): a liquidity default in this quarter or before, and ``covered``
        (bool per pair, read with ``cash_covers``): the quarter's cash covers its debt.
        Returns the pairs whose uncured breach is this quarter's (None where nothing was tested)."""
        if breached is None:
            self.cured_last[...] = False
            self.repaid[...] = False
            return None
        if self.cash_covers:
            self.repaid = breached & covered & ~self.uncured
            breached = breached & ~covered
        cannot = self.cured_last | (self.used >= self.allowed) | defaulted
        now = breached & cannot & ~self.uncured
        self.uncured |= now
        cured = breached & ~self.uncured
        self.used += cured
        self.cured_last = cured
        return now


def cash_covers_debt(debt: Any, cash: Any, xp: Any = np) -> Any:
    """Where the cash at a quarter's end covers the debt then owed (bool): net debt
    (:func:`net_debt`) not above TOLERANCE_USD, where net leverage lapses. No floor is kept back: once
    every lender is repaid no covenant is left to break."""
    return net_debt(debt, cash, xp) <= TOLERANCE_USD


def statement_quantities(lines: dict[str, np.ndarray], window: int) -> dict[str, np.ndarray]:
    """The tests' quantities, (..., T), from statement lines (USD), flows averaged over ``window``."""
    raw = {
        "ebitda": lines["ebitda_usd"],
        "ebitda_less_tax": lines["ebitda_usd"] - lines["tax_usd"],
        "debt": lines["debt_usd"],
        "debt_service": lines["debt_service_usd"],
        "interest": lines["interest_usd"],
        "cash": lines["cash_usd"],
        "net_debt": net_debt(lines["debt_usd"], lines["cash_usd"]),
        "collateral_required": lines["collateral_required_usd"],
        "collateral": lines["collateral_value_usd"],
    }
    if window == 1:
        return raw
    T = raw["cash"].shape[-1]
    trailing = {
        q: np.stack([window_mean([raw[q][..., s] for s in range(t + 1)], window) for t in range(T)], axis=-1)
        for q in FLOWS
    }
    return {**raw, **trailing}


def net_debt(debt: Any, cash: Any, xp: Any = np) -> Any:
    """Debt less cash, end of quarter, not below zero (USD): net leverage's numerator
    (``leverage_numerator: net_debt``). The floor only shows: a test on it applies where it is
    positive (its ``applies_when``), so that a company whose cash covers its debt has no net leverage."""
    return xp.maximum(debt - cash, 0.0)


def window_mean(history: list, window: int) -> Any:
    """Average of the last ``window`` entries of ``history`` (oldest first), in that order; the
    entry itself when the window is one quarter (so a one-quarter test reads the quarter exactly)."""
    if window == 1:
        return history[-1]
    last = history[-window:]
    total = last[0]
    for value in last[1:]:
        total = total + value
    return total / len(last)

"""Cash, debt facilities, covenants and corporate costs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, ValidatorFunctionWrapHandler, field_validator, model_validator
from pydantic_core import PydanticCustomError, PydanticUndefined

from fleetopt.core.units import format_usd
from fleetopt.schema.base import (
    MAX_HORIZON_QUARTERS,
    AnnualRate,
    CovenantRatio,
    Fraction,
    GpuPrice,
    LoanToValue,
    Money,
    Name,
    NonNegative,
    PositiveQuarterCount,
    Quarter,
    StrictModel,
)
from fleetopt.schema.model_changes import typed_path
from fleetopt.schema.series import MoneySeries, RateSeries


class DebtFacility(StrictModel):
    """A term-loan facility (e.g. a delayed-draw term loan secured on GPUs) or a bond.

    `repayment: amortizing`: each draw (and the opening balance) amortises straight-line over
    `amortization_quarters` starting the quarter after it is drawn. `repayment: bullet`: the whole
    balance is repaid at `maturity` (senior notes, convertibles); after the horizon, not at all.
    """

    size_usd: Money
    """Most that can be drawn in total over the draw window, USD."""
    opening_balance_usd: Money = 0.0
    """Balance outstanding at the start of the horizon, USD (counts against `size_usd`)."""
    fixed_rate_annual: AnnualRate | None = None
    """Fixed annual interest rate (0.09 = 9 %). Give this or `spread_over_reference_annual`."""
    spread_over_reference_annual: AnnualRate | None = None
    """Floating rate: spread over `finance.reference_rate_annual` (0.0225 = SOFR + 225 bp)."""
    max_ltv: LoanToValue | None = None
    """Largest balance / resale value of the GPU fleet; GPU-secured facilities share the fleet as
    one pool, the sum of balance / max_ltv at most its gross resale value (the borrowing base: held
    by the MILP, tested in every quarter of a scenario); at least 0.01; None when the facility is not
    GPU-secured."""
    repayment: Literal["amortizing", "bullet"] = "amortizing"
    """How principal is repaid: in equal instalments, or all at `maturity`."""
    amortization_quarters: PositiveQuarterCount | None = None
    """Quarters over which each draw (and the opening balance) is repaid in equal instalments
    (amortizing facilities; required for them)."""
    maturity: Quarter | None = None
    """Quarter the whole balance is repaid (bullet facilities; required for them; may lie after
    the horizon)."""
    at_maturity: Literal["repay", "refinance"] = "repay"
    """What happens to a bullet's balance at `maturity`: `repay` pays it from cash; `refinance`
    replaces it by a new bullet of the same amount, maturing after the horizon (no cash moves), at
    `refinance_spread_over_reference_annual` over the reference rate from the next quarter on."""
    refinance_spread_over_reference_annual: AnnualRate | None = None
    """Spread of the refinancing bullet over `finance.reference_rate_annual` (floating: it follows the
    scenario's rate shift, and the spread itself the scenario's spread shift,
    `risk.ai_cycle.spread_loading`); required with `at_maturity: refinance`."""
    draw_from: Quarter
    """First quarter money can be drawn."""
    draw_until: Quarter
    """Last quarter money can be drawn."""

    @model_validator(mode="after")
    def _rate(self) -> DebtFacility:
        if (self.fixed_rate_annual is None) == (self.spread_over_reference_annual is None):
            raise ValueError("give exactly one of fixed_rate_annual and spread_over_reference_annual")
        if self.draw_until < self.draw_from:
            raise ValueError("draw_until is before draw_from")
        if self.opening_balance_usd > self.size_usd:
            raise ValueError("opening_balance_usd is larger than size_usd")
        self._check_repayment_terms()
        if self.at_maturity == "refinance" and self.repayment != "bullet":
            raise ValueError("at_maturity: refinance needs repayment: bullet")
        # refinance_spread_over_reference_annual with at_maturity: Finance checks it, naming the facility
        return self

    def refinance_spread_problem(self, path: str) -> str | None:
        """What to write where `refinance_spread_over_reference_annual` is missing with `at_maturity:
        refinance` or given without it (``path``: the facility's, as `--set` takes it): a what-if of
        `at_maturity=repay` alone was refused without saying that the spread must go too."""
        spread = f"{path}.refinance_spread_over_reference_annual"
        given = self.refinance_spread_over_reference_annual is not None
        if self.at_maturity == "refinance" and not given:
            return ("at_maturity: refinance needs refinance_spread_over_reference_annual, the refinancing "
                    f"bullet's spread over the reference rate: set {spread} (0.05: the reference rate + 5 %)")
        if self.at_maturity == "repay" and given:
            return ("refinance_spread_over_reference_annual applies only with at_maturity: refinance, and "
                    "at_maturity is repay (the bullet paid from cash at its maturity): remove it (with --set "
                    f"or --what-if, also set {spread}=null), or set at_maturity: refinance")
        return None

    def _check_repayment_terms(self) -> None:
        """Each repayment has its own term; the other's would be silently ignored, so it is refused."""
        if self.repayment == "amortizing":
            if self.amortization_quarters is None:
                raise ValueError("an amortizing facility needs amortization_quarters")
            if self.maturity is not None:
                raise ValueError(
                    "maturity applies to bullet facilities only: an amortizing one is repaid over "
                    "amortization_quarters (drop maturity, or set repayment: bullet)"
                )
            return
        if self.maturity is None:
            raise ValueError("a bullet facility needs maturity (the quarter it is repaid)")
        if self.maturity <= self.draw_until:
            raise ValueError("maturity must come after draw_until")
        if self.amortization_quarters is not None:
            raise ValueError(
                "amortization_quarters applies to amortizing facilities only: a bullet is repaid at "
                "maturity (drop amortization_quarters, or set repayment: amortizing)"
            )


DRAW_WINDOW = ("draw_from", "draw_until")


def missing_window_words(field: str, facility: object, start: object) -> str:
    """What to write for a facility's ``draw_from`` or ``draw_until`` left out (``facility``: its
    mapping as written; ``start``: ``horizon.start`` as written): a loan drawn in full (its
    ``opening_balance_usd`` is its ``size_usd``) still needs the window it draws nothing in, any
    quarter; one with money left, the quarters it can be drawn in."""
    given = facility if isinstance(facility, dict) else {}
    quarter = start if isinstance(start, str) else "2026Q1"
    both = f"draw_from: {quarter} and draw_until: {quarter}"
    opening = given.get("opening_balance_usd")
    if opening is not None and opening == given.get("size_usd"):
        return (f"required field is missing: a loan drawn in full (opening_balance_usd equal to size_usd) "
                f"draws nothing more, but its draw window is still required: write any quarter, e.g. {both} "
                "(the horizon's start)")  # fmt: skip
    meaning = DebtFacility.model_fields[field].description.rstrip(".")
    return (f"required field is missing: the {meaning[0].lower()}{meaning[1:]} (the draw window "
            f"draw_from..draw_until, e.g. {both} for draws in the first quarter only)")  # fmt: skip


# the covenant thresholds of `Covenants`, which `tested_while_owed` may tie to a facility
# (core.covenants.CATALOGUE's fields, checked by tests/test_covenants.py)
COVENANT_THRESHOLDS = (
    "max_debt_to_ebitda",
    "min_dscr",
    "min_interest_coverage",
    "min_liquidity_usd",
    "min_liquidity_fraction_of_debt",
)
CovenantField = Literal[COVENANT_THRESHOLDS]
# the field of `Covenants` that chooses a threshold's numerator, by that threshold
# (core.covenants.CovenantKind.numerator_field reads it): with the threshold unset it chooses nothing
NUMERATOR_CHOICES = {"max_debt_to_ebitda": "leverage_numerator", "min_dscr": "dscr_cash_flow"}

# the owners' cure rights where a model sets none (its borrowing base tested without a covenants
# block too): five over the term, as the credit agreements docs/calibration.md quotes allow
DEFAULT_EQUITY_CURES = 5


class Covenants(StrictModel):
    """Maintenance covenants, tested every quarter from `test_from` (fleetopt/core/covenants.py holds
    the tests each field sets; docs/formulation.md §5.11)."""

    test_from: Quarter
    """First quarter the covenants are tested."""
    ebitda_period: Literal["quarter", "trailing_four_quarters"] = "quarter"
    """EBITDA, interest and debt service of the EBITDA-based tests: the quarter's own, or the average of
    the last four quarters (the trailing twelve months most facilities test; fewer quarters at the
    start of the horizon)."""
    max_debt_to_ebitda: CovenantRatio | None = None
    """Largest total debt (or net debt: `leverage_numerator`) / annualised EBITDA (4 x the quarter's
    EBITDA, or 4 x its four-quarter average; at most 100)."""
    leverage_numerator: Literal["debt", "net_debt"] = "debt"
    """The debt `max_debt_to_ebitda` divides by annualised EBITDA: total debt (term loans and revolver,
    end of quarter; gross leverage), or net debt: that debt less cash, end of quarter, not below zero
    (net leverage, which many credit agreements test): the test lapses in a quarter whose cash covers
    the debt."""
    min_dscr: CovenantRatio | None = None
    """Smallest EBITDA (or EBITDA less tax: `dscr_cash_flow`) / debt service (interest + scheduled
    principal; a bullet's repayment at maturity is not debt service, as credit agreements define it;
    at most 100)."""
    dscr_cash_flow: Literal["ebitda", "ebitda_less_tax"] = "ebitda"
    """The cash flow `min_dscr` divides by debt service: EBITDA, or EBITDA less the quarter's tax (after the
    losses carried; the cash flow available for debt service most GPU-backed facilities test), each
    over the `ebitda_period`."""
    min_interest_coverage: CovenantRatio | None = None
    """Smallest EBITDA / interest (interest coverage, common in GPU-backed facilities; at most 100)."""
    min_liquidity_usd: Money | None = None
    """Smallest cash balance, USD."""
    min_liquidity_fraction_of_debt: Fraction | None = None
    """Smallest cash balance as a fraction of total debt."""
    equity_cures: int = Field(DEFAULT_EQUITY_CURES, ge=0, le=MAX_HORIZON_QUARTERS)
    """Breached quarters the owners may cure over the horizon (an equity cure: cash put in, or a
    waiver), never two quarters in a row nor in or after the quarter of a liquidity default; a
    breach that cannot be cured is an uncured breach, on
    which lenders may accelerate (the scenario evaluator's `uncured_breach_probability`). At most
    the longest horizon's quarters, 80: more could never all be used."""
    cash_covering_debt_cures: bool = False
    """A breached quarter whose cash at its end covers the debt then owed (net debt at most 1 USD, where
    net leverage lapses; no cash is kept back for a floor) is not an event of default: the company
    could repay every lender from its cash. To the cure rights such a quarter is one without a
    breach: it uses no cure, and the quarter after it may be cured. It is still a breach (the
    scenario evaluator's `breach_probability`), and the cash goes on as before (nothing is repaid).
    False: a breach that cannot be cured is an uncured breach, whatever the cash."""
    tested_while_owed: dict[CovenantField, Name] = Field(default_factory=dict)
    """Covenants set by one facility's credit agreement, each mapped to that facility: the test
    lapses once the facility is repaid, tested only in the quarters (from `test_from`) at whose end
    the facility can owe a balance (docs/formulation.md §5.11), e.g. `{min_dscr: ddtl-2}`. A
    covenant not named here is tested in every quarter from `test_from`."""

    @model_validator(mode="after")
    def _owed_tests_are_set(self) -> Covenants:
        unset = [name for name in self.tested_while_owed if getattr(self, name) is None]
        if unset:
            raise ValueError(
                f"tested_while_owed names {', '.join(unset)}, which this block does not set: give "
                f"{'its threshold' if len(unset) == 1 else 'their thresholds'} or drop "
                f"{'it' if len(unset) == 1 else 'them'} from tested_while_owed"
            )
        return self

    def idle_setting_notes(self, secured: bool) -> list[tuple[tuple[str, ...], str]]:
        """Each setting changed from its default that has no test to act on: a numerator chosen for a
        threshold the block does not set, and cash covering debt curing a breach where nothing is
        tested (no threshold and, ``secured`` false, no facility's borrowing base)."""
        notes = []
        for threshold, choice in NUMERATOR_CHOICES.items():
            chosen = getattr(self, choice)
            if getattr(self, threshold) is None and chosen != Covenants.model_fields[choice].default:
                notes.append((("finance", "covenants", choice), (
                    f"{chosen} is the numerator of {threshold}, which this block does not set, so it "
                    f"changes nothing; set {threshold} or drop {choice}"
                )))
        if not secured and all(getattr(self, t) is None for t in COVENANT_THRESHOLDS):
            notes += [((("finance", "covenants", name)), (
                f"{_shown(getattr(self, name))} changes nothing: the model tests no covenant (no "
                "threshold in this block, no facility with a max_ltv), so there is no breach for it to "
                f"act on; set a threshold such as min_dscr or drop {name}"
            )) for name in self._changed_test_settings()]
        return notes

    def inverted_ratio_notes(self) -> list[tuple[tuple[str, ...], str]]:
        """A leverage limit below 1x (debt below a year's EBITDA, no GPU lender's): most often its
        inverse, EBITDA / debt, written for debt / EBITDA (0.22 for 4.5x)."""
        limit = self.max_debt_to_ebitda
        if limit is None or not 0 < limit < LOWEST_LEVERAGE_LIMIT:
            return []
        return [(("finance", "covenants", "max_debt_to_ebitda"), (
            f"is {limit:g}x: leverage is debt / annualised EBITDA, a multiple (4.5 for 4.5x; GPU-backed "
            f"facilities cap it at 3x-6x); below 1x it is most often EBITDA / debt, its inverse "
            f"(1 / {limit:g} is {1 / limit:.3g}x)"))]  # fmt: skip

    def _changed_test_settings(self) -> list[str]:
        """The settings of how covenants are tested (not a threshold, not a numerator choice, which
        are said above) changed from their defaults: the EBITDA period, the cures."""
        passed = set(COVENANT_THRESHOLDS) | set(NUMERATOR_CHOICES.values())
        return [name for name, field in Covenants.model_fields.items()
                if name not in passed and field.default is not PydanticUndefined
                and getattr(self, name) != field.default]  # fmt: skip


def _shown(value: object) -> str:
    """A setting's value as the model file writes it: true, 2, trailing_four_quarters."""
    return str(value).lower() if isinstance(value, bool) else str(value)


# a leverage limit below this (debt under a year's EBITDA) is no lender's: an inverse ratio (EBITDA / debt)
LOWEST_LEVERAGE_LIMIT = 1.0


class Revolver(StrictModel):
    """An emergency revolving facility drawn only when cash would fall below the minimum.

    The optimiser never plans to use it; the scenario evaluator draws it in bad futures.
    """

    size_usd: Money
    """Limit of the revolver, USD."""
    annual_rate: AnnualRate
    """Penalty interest rate on revolver draws: `annual_rate` / 4 a quarter on the balance drawn at the
    end of the previous quarter (simple, as the facilities' rates)."""


class Finance(StrictModel):
    """The company's balance sheet and funding."""

    opening_cash_usd: Money
    """Cash at the start of the horizon, USD."""
    min_cash_usd: Money = 0.0
    """Treasury floor, USD: the MILP never plans cash below it. The scenario evaluator lets cash run
    below it (the revolver is drawn, the policy defers orders) and counts a liquidity default only
    below `default_cash_usd`."""
    default_cash_usd: Money | None = None
    """The scenario evaluator's liquidity default: cash after the revolver and distress sales below
    this in some quarter, USD (at most `min_cash_usd`; omitted: `min_cash_usd`). Between the two
    the company runs below its treasury floor (the revolver is drawn, orders are deferred) without
    defaulting, and distress sales restore cash to this level, not to the floor. The MILP never plans
    below `min_cash_usd`."""
    reference_rate_annual: RateSeries
    """Floating reference rate (e.g. SOFR) per quarter, annual (0.036 = 3.6 %; at most 1)."""
    facilities: dict[Name, DebtFacility] = Field(default_factory=dict)
    """Debt facilities by name."""
    covenants: Covenants | None = None
    """Maintenance covenants; none when omitted."""
    overhead_usd_per_quarter: MoneySeries = 0.0
    """Corporate overhead (SG&A, R&D) per quarter, USD."""
    tax_rate: Fraction = 0.0
    """Tax rate on positive pre-tax profit in a quarter; the sale of the fleet at the end of the
    horizon (the terminal value) is taxed with the last quarter: its loss below book value saves tax
    down to that quarter's taxable income of 0. Default 0."""
    tax_loss_carry_forward: bool = False
    """Losses offset later profits (carried forward without limit, never back): tax is due on
    pre-tax profit less the losses not yet used. False: each quarter is taxed on its own."""
    opening_tax_losses_usd: Money = 0.0
    """Tax losses carried into the horizon from before it (net operating losses not yet used), USD:
    the first profits are offset against them (needs `tax_loss_carry_forward: true`). Default 0."""
    revolver: Revolver | None = None
    """Emergency liquidity used by the scenario evaluator."""

    @field_validator("facilities", mode="wrap")
    @classmethod
    def _refinance_spreads(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> dict[str, DebtFacility]:
        """:meth:`DebtFacility.refinance_spread_problem` of each facility, at its place in the file:
        here, where its name and so its path are known."""
        facilities = handler(value)
        problems = [(name, facility.refinance_spread_problem(typed_path(("finance", "facilities", name))))
                    for name, facility in facilities.items()]  # fmt: skip
        errors = [{"type": PydanticCustomError("refinance_spread", words), "loc": (name,),
                   "input": value[name]} for name, words in problems if words]  # fmt: skip
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return facilities

    def covenant_notes(self) -> list[tuple[tuple[str, ...], str]]:
        """The covenants block's settings that act on nothing (:meth:`Covenants.idle_setting_notes`)
        and a ratio written as its inverse (:meth:`Covenants.inverted_ratio_notes`)."""
        if self.covenants is None:
            return []
        secured = any(f.max_ltv for f in self.facilities.values())
        return self.covenants.idle_setting_notes(secured) + self.covenants.inverted_ratio_notes()

    def cash_floor_notes(self) -> list[tuple[tuple[str, ...], str]]:
        """A treasury floor above the opening cash: the first quarter must raise the difference (the
        MILP never plans cash below the floor), most often the two fields swapped or one in another
        unit."""
        if self.min_cash_usd <= self.opening_cash_usd:
            return []
        floor, opening = format_usd(self.min_cash_usd), format_usd(self.opening_cash_usd)
        return [(("finance", "min_cash_usd"), (
            f"is {floor}, above opening_cash_usd ({opening}): "
            "the plan must raise the difference by the end of the first quarter, never planning cash below "
            "the floor, or no plan meets it; min_cash_usd is the least cash kept, opening_cash_usd the cash "
            "held when the horizon starts"))]  # fmt: skip

    @model_validator(mode="after")
    def _opening_losses_carried(self) -> Finance:
        if self.opening_tax_losses_usd > 0 and not self.tax_loss_carry_forward:
            raise ValueError(
                "opening_tax_losses_usd needs tax_loss_carry_forward: true (losses not carried forward "
                "cannot offset later profits)"
            )
        return self

    @model_validator(mode="after")
    def _default_below_floor(self) -> Finance:
        if self.default_cash_usd is not None and self.default_cash_usd > self.min_cash_usd:
            raise ValueError(
                f"default_cash_usd ({self.default_cash_usd:,.0f} USD) is above min_cash_usd "
                f"({self.min_cash_usd:,.0f} USD): a company defaults below its treasury floor, not above it"
            )
        return self


class Redeployment(StrictModel):
    """Moving GPUs from training clusters to inference service."""

    cost_per_gpu_usd: GpuPrice
    """One-off cost of reconfiguring a GPU from training to inference, USD."""


class Retirement(StrictModel):
    """Rules for taking GPUs out of service."""

    resale: bool = True
    """True: retired GPUs are sold at their resale value for their age. False: scrapped for nothing,
    and the GPUs held at the end are worth nothing in the terminal value (their whole book value is
    a loss, taxed with the last quarter)."""
    selling_cost_fraction: Fraction = 0.0
    """Share of resale value lost to brokers, logistics and data wiping."""
    max_age_years: NonNegative | None = None
    """GPUs are sold in the first quarter they are this old or older (age in whole quarters from the
    purchase quarter, which is age 0; so at 1.1 years = 4.4 quarters a GPU is sold 5 quarters after
    its purchase quarter: docs/formulation.md §5.2); no limit when omitted."""

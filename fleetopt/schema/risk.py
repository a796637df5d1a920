"""Uncertainty around the forecast: the inputs of the scenario generator (`risk`), and the
shocks the optimised plan must survive (`robustness`).

Every factor defaults to "no uncertainty", so a model without a `risk` block
evaluates to its deterministic forecast.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from fleetopt.core.credit import SEVEN_YEAR_DEFAULT_RATE, default_probability, hazard_per_quarter
from fleetopt.core.quarters import QUARTERS_PER_YEAR
from fleetopt.schema.base import (
    Fraction,
    Loading,
    NameList,
    Positive,
    PositiveQuarterCount,
    Quarter,
    QuarterCount,
    ShareBelowOne,
    StrictModel,
    at_most,
)

# a customer hazard per quarter above this (34 % a year, four times a CCC rating's) is said, not refused:
# a stress may mean it, a typo (1 for 1 %) usually does not
HAZARD_WARNING = 0.1

MAX_VOLATILITY = 5.0
"""Largest volatility of a lognormal walk, per sqrt(year) (500 % a year): twenty times the market
prices' 0.25 of docs/calibration.md. Far larger values are percentages written as numbers (25 for
25 %), which drive every path to zero."""
MAX_RATE_VOLATILITY = 0.2
"""Largest volatility of the reference rate's normal walk, absolute per sqrt(year) (20 percentage
points a year): twenty times docs/calibration.md's 0.01 (100 bp)."""
MAX_TREND_VOLATILITY = 1.0
"""Largest standard deviation of the market prices' slope, per year (100 % a year): twenty times the
0.05 of docs/calibration.md. Far larger values are percentages written as numbers (5 for 5 %)."""


def _volatility_limit(limit: float, unit: str, example: str):
    return at_most(limit, f"must be at most {limit:g} per sqrt(year) ({unit}): {example}")


Volatility = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, json_schema_extra={"maximum": MAX_VOLATILITY}),
    AfterValidator(_volatility_limit(MAX_VOLATILITY, "500 % a year", "0.25 means 25 % a year")),
]
"""Volatility of a lognormal walk, per sqrt(year): 0 to ``MAX_VOLATILITY``."""
TrendVolatility = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, json_schema_extra={"maximum": MAX_TREND_VOLATILITY}),
    AfterValidator(at_most(MAX_TREND_VOLATILITY, f"must be at most {MAX_TREND_VOLATILITY:g} a year (100 % a "
                           "year of price slope): 0.05 means 5 % a year")),
]
"""Standard deviation of a price trend's slope, per year: 0 to ``MAX_TREND_VOLATILITY``."""
RateVolatility = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, json_schema_extra={"maximum": MAX_RATE_VOLATILITY}),
    AfterValidator(
        _volatility_limit(MAX_RATE_VOLATILITY, "20 percentage points a year", "0.01 means 100 bp a year")
    ),
]
"""Volatility of the reference rate's normal walk, absolute per sqrt(year): 0 to ``MAX_RATE_VOLATILITY``."""


class SelfCompetitionShock(StrictModel):
    """A hyperscaler starts selling its spare capacity: market prices drop at once and stay lower."""

    probability_per_quarter: Fraction
    """Chance the shock arrives in any given quarter (at most one arrival per scenario)."""
    price_drop_min: Fraction
    """Smallest relative drop of every market price when it arrives."""
    price_drop_max: Fraction
    """Largest relative drop."""

    @model_validator(mode="after")
    def _range(self) -> SelfCompetitionShock:
        if self.price_drop_max < self.price_drop_min:
            raise ValueError("price_drop_max is below price_drop_min")
        return self


class ResaleShock(StrictModel):
    """GPU resale values fall below their curves for good: from a quarter on, in every scenario or in
    a share of them (docs/evaluation.md)."""

    value_drop: Fraction
    """Share by which every GPU's resale value falls, for good (0.3: 30 % below the value its
    `resale_fraction_by_age_years` curve and the other resale factors give): disposals, distress
    sales, the terminal value and the borrowing base's collateral."""
    from_quarter: Quarter | None = None
    """First quarter of the fall, a quarter of the horizon; default the horizon's first."""
    probability: Fraction = 1.0
    """Chance the fall comes in a scenario, one draw per scenario (1: in every scenario, a what-if)."""


class ContractScaleBack(StrictModel):
    """A customer keeps only part of a contract from a quarter on, for the rest of its term: it takes
    and pays for `share_kept` of the contract's GPUs, in every scenario or in a share of them
    (docs/evaluation.md)."""

    share_kept: Fraction
    """Share of the contract's GPUs the customer still takes and pays for (0.6: 60 GPUs of 100); the
    others are freed as a defaulted customer's are (policy `freed_gpus_to_market`)."""
    from_quarter: Quarter
    """First quarter at the share kept, a quarter of the horizon; at or before the contract's first
    quarter, the contract runs at the share kept from its start."""
    probability: Fraction = 1.0
    """Chance the cut comes in a scenario, one draw per scenario and contract (1: in every scenario, a
    what-if)."""


class PowerDelay(StrictModel):
    """Late power: each expansion block may come online later than its lead time, and each
    increase of a site's contracted capacity later than its date."""

    probability: Fraction
    """Chance a block is late, one draw per site and start quarter (the blocks started at a site in
    one quarter are late together)."""
    max_extra_quarters: QuarterCount
    """A late block is late by 1..max_extra_quarters quarters, each equally likely (1 /
    max_extra_quarters), drawn apart from whether it is late."""
    contracted_probability: Fraction = 0.0
    """Chance an increase of a site's contracted capacity (`power_capacity_mw` steps and growth) is
    late, drawn independently per site and quarter (a third party's powered shell or a utility
    connection coming late); 0: contracted capacity is always on time."""
    contracted_max_extra_quarters: QuarterCount | None = None
    """A late increase is late by 1..this many quarters, each equally likely; default
    `max_extra_quarters`."""

    @property
    def contracted_max_extra(self) -> int:
        """Most quarters a contracted capacity increase can be late."""
        extra = self.contracted_max_extra_quarters
        return self.max_extra_quarters if extra is None else extra


class DeliverySlip(StrictModel):
    """Late GPU deliveries: an SKU not yet shipping ships later than its `available_from`, and the
    GPUs a plan bought of it before then arrive late (docs/evaluation.md, "Delivery slips")."""

    probability: Fraction
    """Chance that the SKUs slip, one draw per scenario: every SKU named slips by the same number of
    quarters in a scenario (one vendor's programme slipping together)."""
    max_quarters: PositiveQuarterCount
    """A slip moves the SKUs' `available_from` later by `min_quarters`..`max_quarters` quarters, each
    equally likely, drawn apart from whether they slip; the GPUs a plan bought of them before then
    arrive then, paid then at the price they were ordered at (docs/evaluation.md, "Delivery slips")."""
    min_quarters: PositiveQuarterCount = 1
    """Fewest quarters of a slip; equal to `max_quarters`, every slip is exactly that long (with
    `probability` 1: a certain slip, a what-if)."""
    skus: NameList | None = None
    """The SKUs that may slip (names of `skus`); default every SKU whose `available_from` is after the
    horizon's first quarter. One already on sale in that quarter, or installed (`fleet`), never slips;
    nor does one first on sale after the horizon's last quarter (the plan buys none)."""

    @model_validator(mode="after")
    def _range(self) -> DeliverySlip:
        if self.max_quarters < self.min_quarters:
            raise ValueError("max_quarters is below min_quarters")
        if self.skus is not None and not self.skus:  # validate read it as every SKU, evaluate as none
            raise ValueError("skus is an empty list: name the SKUs that may slip, or leave skus out for "
                             "every SKU not yet shipping")
        return self


# Moody's letters for S&P's (Ba2 is BB); a notch (+, -, 1-3) is dropped: the table has whole grades
_MOODYS = {"AAA": "AAA", "AA": "AA", "A": "A", "BAA": "BBB", "BA": "BB", "B": "B", "CAA": "CCC"}


def _rating_meant(value: object) -> object:
    """A rating written with a notch, in lower case or in Moody's letters ('BB+', 'b', 'Ba2') is
    refused with the grade of the table meant: pydantic's "Input should be 'AAA', ..." left an
    analyst to guess that notches are not read."""
    if not isinstance(value, str) or value in SEVEN_YEAR_DEFAULT_RATE:
        return value
    letters = value.strip().rstrip("+-123").upper()
    meant = letters if letters in SEVEN_YEAR_DEFAULT_RATE else _MOODYS.get(letters)
    if meant:
        raise ValueError(f"should be one of {', '.join(SEVEN_YEAR_DEFAULT_RATE)}: whole S&P grades, "
                         f"without notches or Moody's letters: write {meant}")
    return value


# the ratings core/credit.py has a default rate for
CreditRating = Annotated[Literal[tuple(SEVEN_YEAR_DEFAULT_RATE)], BeforeValidator(_rating_meant)]


class AICycle(StrictModel):
    """A common AI-cycle factor: one normal random walk (standard deviation sqrt(years)) that moves
    market prices (their swings and, with `trend_loading`, their slope), demand, customer defaults and
    the credit spread of new borrowing together. Zero loadings leave every factor independent."""

    price_loading: Loading = 0.0
    """Correlation of every generation's price shocks with the cycle's (0.7: prices fall in a downturn)."""
    trend_loading: Loading = 0.0
    """Correlation of the market prices' slope (the normal drawn for `price_trend_volatility_annual`)
    with the cycle's level as it stands, quarter by quarter (0.6: prices fall faster for good from the
    quarter the cycle turns down); each quarter's price factor stays mean one. Without a slope
    (`price_trend_volatility_annual` 0) it moves nothing."""
    demand_loading: Loading = 0.0
    """Correlation of market demand shocks with the cycle's."""
    default_correlation: ShareBelowOne = 0.0
    """Correlation of a customer's default trigger with the cycle's shock of the same quarter (0.3:
    defaults cluster in downturns); each customer's default probability per quarter stays its
    hazard (a one-factor Gaussian copula, as in the Vasicek/Basel credit model)."""
    spread_loading: float = Field(0.0, ge=-0.1, le=0.1, allow_inf_nan=False)
    """Change of the credit spread of new borrowing (annual, absolute) per unit of the cycle's level
    (-0.01: a one-standard-deviation downturn over a year widens it by 100 bp). It moves only the
    rate of bullets refinanced at maturity (`at_maturity: refinance`), from the quarter after their
    maturity, floored so no refinanced spread goes below zero; an existing loan's margin over the
    reference rate is fixed by its contract, and the reference rate itself moves only with
    `reference_rate_volatility_annual`. Formerly `rate_loading` (moving the reference rate of every
    floating balance); that name is refused."""

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data):
        if isinstance(data, dict) and "rate_loading" in data:
            raise ValueError(
                "rate_loading was renamed to spread_loading (it moves the credit spread of "
                "refinanced bullets, not the reference rate)"
            )
        return data


class Risk(StrictModel):
    """Volatilities and shock probabilities used to simulate futures around the forecast."""

    mean_one: bool = True
    """Every multiplicative factor (prices by generation, demand, electricity, resale) averages to
    the forecast: the self-competition shock and the timing of a newer generation's release are
    risks around the forecast, which already expects them. False: they are a downside on top of
    the forecast (a deliberate bias; how fleetopt's first releases drew them). The price fall after
    a customer's default (`customer_default_price_impact`; resale values' too where
    `resale_swing_share` ties them) is a stress on top either way."""
    price_volatility_annual: Volatility = 0.0
    """Volatility of market prices (lognormal random walk per generation), per sqrt(year)."""
    price_correlation_across_generations: Fraction = 1.0
    """Correlation of the price shocks of different generations (1: one shared walk)."""
    price_mean_reversion_half_life_quarters: Positive | None = None
    """Quarters in which a market price's expected (log) deviation from the forecast halves: each
    generation's price factor reverts to the forecast (a log AR(1), each quarter's factor still mean
    one) on the random walk's own shocks; none: the random walk, which never reverts."""
    price_trend_volatility_annual: TrendVolatility = 0.0
    """Standard deviation of the market prices' slope, per year: each scenario's prices fall or rise
    this much faster than the forecast's per standard deviation, one draw for every generation (each
    quarter's factor still mean one); 0: the forecast's slope is known."""
    demand_volatility_annual: Volatility = 0.0
    """Volatility of market demand (lognormal random walk), per sqrt(year)."""
    new_generation_price_step: Fraction = 0.0
    """Relative drop of an older generation's market price when a newer generation first ships (with
    `mean_one`, the forecast's price path is taken to include it and scenarios move only its timing)."""
    self_competition: SelfCompetitionShock | None = None
    """Hyperscaler self-competition price shock; none when omitted."""
    customer_default_hazard_per_quarter: Fraction = 0.0
    """Chance per quarter that a contracted customer cancels or defaults (all its contracts end); above
    0.1 (four times a CCC rating's) the model validates with a warning."""
    customer_ratings: dict[str, CreditRating] = Field(default_factory=dict)
    """Credit rating of a customer: its hazard comes from the default-rate table by rating
    (fleetopt/core/credit.py, docs/sources.md) instead of `customer_default_hazard_per_quarter`. Whole
    S&P grades: a notch, lower case or Moody's letters (`BB+`, `b`, `Ba2`) is refused with the grade to
    write."""
    customer_hazard_overrides: dict[str, Fraction] = Field(default_factory=dict)
    """Per-customer hazards that replace the rating's and `customer_default_hazard_per_quarter`."""
    customer_default_quarter: dict[str, Quarter] = Field(default_factory=dict)
    """Quarter by which a customer has defaulted in every scenario (`frontier-lab: 2027Q2`: the anchor
    customer leaves in 2027Q2): a scenario whose hazard draws an earlier default keeps it, the others
    default in this quarter; a quarter of the horizon. Every other customer's defaults are drawn as
    without it."""
    customer_default_price_impact: dict[str, ShareBelowOne] = Field(default_factory=dict)
    """Fraction by which every generation's market price falls, for good, from the quarter a customer
    defaults in (0.1: 10 % lower; several customers' defaults multiply): the capacity a large customer
    leaves returns to every provider at once. A stress on top of the forecast, not renormalised by
    `mean_one`. Resale values fall with the prices where `resale_swing_share` ties them."""
    contract_scale_back: dict[str, ContractScaleBack] = Field(default_factory=dict)
    """Contracts whose customer keeps only part of them from a quarter on (`frontier-training:
    {share_kept: 0.6, from_quarter: 2027Q3}`: 60 % of its GPUs from 2027Q3), by contract name; a stress
    on top of the forecast, drawn on a stream of its own, so every other factor is as without it."""
    power_delay: PowerDelay | None = None
    """Random delay of power-expansion blocks and of contracted capacity; none when omitted."""
    delivery_slip: DeliverySlip | None = None
    """Late delivery of the SKUs not yet shipping (a vendor's programme slipping); none when omitted."""
    reference_rate_volatility_annual: RateVolatility = 0.0
    """Volatility of the floating reference rate (normal random walk, absolute, e.g. 0.01 = 100 bp)."""
    electricity_price_volatility_annual: Volatility = 0.0
    """Volatility of electricity prices (lognormal random walk), per sqrt(year)."""
    resale_value_volatility_annual: Volatility = 0.0
    """Volatility of secondary-market GPU values (lognormal random walk), per sqrt(year)."""
    resale_price_loading: Fraction = 0.0
    """Correlation of the resale walk's shocks with the market price walks' common shock (0.8: used
    GPUs lose value when rents fall); 0: resale values move on shocks of their own."""
    resale_swing_share: Fraction | None = None
    """Ties GPU resale values to rental prices as a used GPU's value, the rents it has left, follows
    them: the resale walk (`resale_value_volatility_annual`, then the part of their own) times the
    prices' lasting parts common to every generation (their slope, the self-competition fall and the
    falls after customers' defaults of `customer_default_price_impact`) in full and their common swing
    to this power w (0.6: the share of a swing the rents of a GPU with two to five years left still
    reach); each quarter's factor still mean one but for those falls, a stress. None: resale values move on
    the resale walk alone. Not with `resale_price_loading` (two ties of one factor)."""
    resale_shock: ResaleShock | None = None
    """A fall of GPU resale values below their curves, certain or with a probability; a stress on top
    of the forecast, not renormalised by `mean_one`; none when omitted."""
    ai_cycle: AICycle | None = None
    """A common factor moving prices, demand, defaults and the credit spread of new borrowing together;
    none when omitted."""

    @model_validator(mode="after")
    def _a_mean_to_keep(self) -> Risk:
        shock = self.self_competition
        if self.mean_one and shock and shock.probability_per_quarter == 1 and shock.price_drop_min == 1:
            raise ValueError(
                "self_competition: a certain 100 % price drop leaves no price whose average could be "
                "the forecast's (mean_one): lower price_drop_min or probability_per_quarter, or set "
                "mean_one: false"
            )
        return self

    @model_validator(mode="after")
    def _one_resale_tie(self) -> Risk:
        if self.resale_swing_share is not None and self.resale_price_loading:
            raise ValueError(
                "resale_swing_share and resale_price_loading both tie resale values to rental prices: "
                "set one of them (resale_swing_share follows the prices as a used GPU's rents do; "
                "remove resale_price_loading or set it to 0)"
            )
        return self

    def customer_hazard(self, name: str) -> float:
        """A customer's default hazard per quarter: its override, else its rating's, else the default."""
        if name in self.customer_hazard_overrides:
            return self.customer_hazard_overrides[name]
        if name in self.customer_ratings:
            return hazard_per_quarter(self.customer_ratings[name])
        return self.customer_default_hazard_per_quarter

    def cycle_loading(self, name: str) -> float:
        """The AI cycle's loading ``name`` (``price_loading``, ``trend_loading``, ...); 0 without a cycle."""
        return getattr(self.ai_cycle, name) if self.ai_cycle is not None else 0.0

    def price_impact_notes(self) -> list[tuple[tuple[str, ...], str]]:
        """Each price fall of ``customer_default_price_impact`` that never comes, its customer's
        hazard being 0 and no `customer_default_quarter` placing it: the model summary would still say
        that prices fall at its default."""
        notes = []
        for name, fall in self.customer_default_price_impact.items():
            if fall > 0 and self.customer_hazard(name) == 0 and name not in self.customer_default_quarter:
                cause, remedy = self._zero_hazard_words(name)
                words = f"{name} never defaults ({cause}), so the {fall:.0%} price fall never comes; {remedy}"
                notes.append((("risk", "customer_default_price_impact", name), words))
        return notes

    def trend_loading_notes(self) -> list[tuple[tuple[str, ...], str]]:
        """``ai_cycle.trend_loading`` set with no slope to load (``price_trend_volatility_annual`` 0): it
        moves nothing, though the model reads as tying the prices' slope to the cycle."""
        loading = self.cycle_loading("trend_loading")
        if not loading or self.price_trend_volatility_annual:
            return []
        return [(("risk", "ai_cycle", "trend_loading"), (
            f"{loading:g} ties the prices' slope to the AI cycle, but risk.price_trend_volatility_annual is "
            "0 (the slope is known), so it moves nothing; set a slope there (0.05: 5 % a year at one "
            "standard deviation) or remove trend_loading"))]  # fmt: skip

    def _zero_hazard_words(self, name: str) -> tuple[str, str]:
        """Where a customer's hazard of 0 comes from (:meth:`customer_hazard`) and what would change it:
        an override, which a rating does not replace, or the default hazard."""
        if name in self.customer_hazard_overrides:
            return (f"risk.customer_hazard_overrides.{name} is 0, and replaces any rating's hazard",
                    "give it a positive hazard there or remove it")  # fmt: skip
        return ("its default hazard is 0: customer_default_hazard_per_quarter, as it has no rating",
                "give it a rating in risk.customer_ratings or a hazard in risk.customer_hazard_overrides")

    def hazard_notes(self) -> list[tuple[tuple[str, ...], str]]:
        """Each hazard past any rating's, with its path: a hazard of 1 (meant as 1 %) validated in
        silence, every customer gone in the first quarter (said with the file and line, as the
        loader's other notes)."""
        hazards = {("customer_default_hazard_per_quarter",): self.customer_default_hazard_per_quarter}
        hazards |= {("customer_hazard_overrides", k): v for k, v in self.customer_hazard_overrides.items()}
        return [(("risk", *path), _hazard_words(path, hazard)) for path, hazard in hazards.items()
                if hazard > HAZARD_WARNING]  # fmt: skip


_UNIT_WORDS = "hazards are fractions per quarter, 0.01 means 1 %"


def _hazard_words(path: tuple[str, ...], hazard: float) -> str:
    """A hazard past any rating's in words: what it means a year against a CCC rating's, or, at 1, what
    it does: a certain default in quarter 0, a customer's override a stress that
    `customer_default_quarter` places later (it was told it was a slip of units), the model-wide
    default every unrated customer gone, most likely 1 % meant."""
    if hazard == 1 and len(path) == 2:
        return (f"1 is a certain default of {path[1]} in the first quarter of every future; "
                "risk.customer_default_quarter places it in a later quarter of the horizon instead")
    if hazard == 1:
        return ("1 is a certain default of every customer without a rating or an override in the first "
                "quarter of every future; risk.customer_default_quarter places one's default later; "
                + _UNIT_WORDS)
    yearly = default_probability(hazard, QUARTERS_PER_YEAR)
    return (f"{hazard:g} is a {hazard:.0%} chance each quarter ({yearly:.0%} a year) "
            f"that a customer defaults; a CCC-rated one's is about {hazard_per_quarter('CCC'):.1%} "
            f"(fleetopt/core/credit.py): {_UNIT_WORDS}")


class Robustness(StrictModel):
    """Shocks the optimised plan must survive: constraints of the MILP, not a forecast.

    Under a price or customer shock the plan's purchases, fleet and debt stay as planned and only
    income falls: cash less the income lost so far (after the tax it saves) must stay at or above
    `finance.min_cash_usd` and the liquidity covenant and, with `covenants`, leverage and DSCR
    must hold on the shocked EBITDA. The evaluator's revolver is not counted on.
    docs/formulation.md §5.13.
    """

    market_price_drop: Fraction = 0.0
    """Market prices (training and inference, every generation) this fraction below the forecast in
    every quarter (0.2 = 20 % lower)."""
    lose_any_customer: bool = False
    """Also survive any one customer cancelling all its contracts from the start: their revenue and
    the cash of their prepayments are lost (the contracts never start) and their GPUs stand idle
    (as in the evaluator; docs/formulation.md §5.13). Each customer is tested on its own."""
    power_delay_quarters: QuarterCount = 0
    """Plan power as if every new expansion block came online this many quarters late: at each site
    that can build, the MW drawn (GPUs in service at full draw, the other GPUs held at their
    `idle_power_fraction`, times PUE) must also fit the MW that would then be online,
    `power_capacity_mw` plus the blocks online even with the delay (docs/formulation.md §5.13). GPUs
    may be held before that power would be there, as long as this draw fits; `power_capacity_mw`
    itself is not delayed."""
    covenants: bool = True
    """Hold the leverage and DSCR covenants under the shock too, not only cash and liquidity."""

    @model_validator(mode="after")
    def _some_shock(self) -> Robustness:
        if self.market_price_drop == 0.0 and not self.lose_any_customer and self.power_delay_quarters == 0:
            raise ValueError(
                "robustness needs market_price_drop > 0, lose_any_customer: true or power_delay_quarters > 0"
            )
        return self

"""Market demand and prices, and customer contracts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Strict, model_validator

from fleetopt.core.quarters import parse_quarter, quarter_label
from fleetopt.schema.base import (
    Fraction,
    GpuCount,
    GpuHourPrice,
    Money,
    Name,
    NameList,
    PositiveFraction,
    PositiveQuarterCount,
    Quarter,
    QuarterCount,
    ShareBelowOne,
    StrictModel,
)
from fleetopt.schema.hardware import Generation
from fleetopt.schema.series import MoneySeries, NonNegativeSeries


class PriceByGeneration(StrictModel):
    """Price per GPU-hour for one use: by SKU where named, else by generation, else `all`."""

    all: MoneySeries | None = None
    """Price for any generation not listed, USD per GPU-hour."""
    hopper: MoneySeries | None = None
    """Price per Hopper GPU-hour, USD."""
    blackwell: MoneySeries | None = None
    """Price per Blackwell GPU-hour, USD."""
    rubin: MoneySeries | None = None
    """Price per Rubin GPU-hour, USD."""
    by_sku: dict[Name, MoneySeries] = Field(default_factory=dict)
    """Prices of particular SKUs (e.g. H200 above H100), USD per GPU-hour; override the generation's."""

    def for_generation(self, generation: Generation):
        value = getattr(self, generation.value)
        return self.all if value is None else value

    def for_sku(self, name: str, generation: Generation):
        return self.by_sku[name] if name in self.by_sku else self.for_generation(generation)


class MarketPrices(StrictModel):
    """Market (uncontracted) rental prices, USD per GPU-hour."""

    training: PriceByGeneration
    """Prices for training capacity."""
    inference: PriceByGeneration
    """Prices for inference capacity."""


class MarketDemand(StrictModel):
    """Capacity the market will rent from this company, in H100-equivalent GPUs (throughput-weighted)."""

    training: NonNegativeSeries
    """Training demand, H100-equivalent GPUs, per quarter."""
    inference: NonNegativeSeries
    """Inference demand, H100-equivalent GPUs, per quarter."""


class Market(StrictModel):
    """Uncontracted demand and its prices."""

    demand_gpus: MarketDemand
    """Most capacity the market takes, H100-equivalent GPUs."""
    price_usd_per_gpu_hour: MarketPrices
    """Market prices per GPU-hour by use and generation."""
    billed_utilization: PositiveFraction
    """Share of hours a market-rented GPU is billed (contracts bill every hour)."""


class Contract(StrictModel):
    """A customer contract for a fixed number of GPUs over a term (take-or-pay)."""

    customer: Name
    """Customer name; revenue-share limits apply per customer."""
    use: Literal["training", "inference"]
    """Work the GPUs serve."""
    eligible_skus: NameList | None = None
    """SKUs that may serve the contract; see also `min_generation`."""
    min_generation: Annotated[Generation, Strict(False)] | None = None
    """Oldest generation that may serve the contract (alternative to `eligible_skus`)."""
    gpus: GpuCount
    """GPUs delivered once fully ramped."""
    start: Quarter
    """First quarter of the term."""
    term_quarters: PositiveQuarterCount
    """Length of the term in quarters."""
    price_usd_per_gpu_hour: GpuHourPrice
    """Contract price, USD per GPU-hour, billed for every hour of every delivered GPU."""
    signed: bool
    """True: already signed and must be served. False: an option the plan may accept."""
    delivery_deadline: Quarter | None = None
    """Quarter by which all GPUs must be delivered (partial delivery allowed before); `start` when omitted."""
    cancellation_penalty_usd: Money = 0.0
    """Paid to the customer if the contract is not delivered by its deadline, USD (in the evaluator,
    with `policy.reschedule_late_contracts`, only once it is later than its delay allowance)."""
    delay_allowance_quarters: QuarterCount = 2
    """Evaluator: quarters the contract may be late (in a quarter at or after the deadline, its GPUs
    short of power, or the plan serving it with fewer GPUs than it has; counted over the whole term,
    not only at its start) before the customer cancels it. The default, two quarters, is an
    estimate (grade C): in Q3-2025 a third party's late powered shell made CoreWeave move deliveries
    and cut its 2025 capex, with no contract cancellation reported (docs/sources.md §6)."""
    delay_penalty_usd_per_quarter: Money = 0.0
    """Evaluator: paid to the customer for each late quarter within the allowance, USD (a late
    quarter earns only on the contract's GPUs delivered)."""
    prepayment_share: ShareBelowOne = 0.0
    """Share of the contract's total value (GPUs x price x hours of the whole term) the customer pays
    in cash in the first quarter of the term; each quarter of the term then brings the revenue less
    that prepayment's even share in cash (revenue, EBITDA, covenants and tax unchanged). The part not
    yet earned at the end of the horizon is deducted from the terminal value (docs/formulation.md
    §5.10, §6)."""
    termination_payment_share: Fraction = 0.0
    """Evaluator: share of the remaining value (GPUs x price x hours of the quarters of the term from
    the one in which it ends) the customer pays in cash when it ends the contract early (a customer
    default); the unearned prepayment is kept (docs/evaluation.md, "Contract payments")."""

    @property
    def last_quarter(self) -> int:
        """The term's last quarter (an ordinal, as parse_quarter gives): start + term - 1, which may
        be after the horizon."""
        return parse_quarter(self.start) + self.term_quarters - 1

    @model_validator(mode="after")
    def _eligibility(self) -> Contract:
        if self.eligible_skus is None and self.min_generation is None:
            raise ValueError("give eligible_skus or min_generation")
        if self.eligible_skus is not None and not self.eligible_skus:
            raise ValueError("eligible_skus is empty")
        if self.delivery_deadline is not None:
            last = quarter_label(self.last_quarter)
            if self.delivery_deadline < self.start:
                raise ValueError(f"delivery_deadline {self.delivery_deadline} is before start {self.start}")
            if self.delivery_deadline > last:
                raise ValueError(f"delivery_deadline is after the last quarter of the term ({last})")
        return self


class CommercialLimits(StrictModel):
    """Limits on the plan: the revenue book's concentration and the GPUs a supplier will allocate."""

    max_customer_revenue_share: PositiveFraction = 1.0
    """Largest share of total revenue over the horizon any one customer may have (1 = no limit)."""
    max_customer_revenue_share_per_year: PositiveFraction = 1.0
    """Largest share of a year's total revenue any one customer may have, in each year of the
    horizon (its quarters four at a time from the first; 1 = no limit): the concentration an annual
    report shows, which a book can exceed in its first years while within the horizon's limit."""
    max_non_investment_grade_share_per_year: PositiveFraction = 1.0
    """Largest share of a year's contract revenue that customers below investment grade may earn, in
    each year of the horizon (1 = no limit): those rated BB or lower in `risk.customer_ratings`, and
    those without a rating, as lenders count unrated names. The concentration limit GPU-backed
    facilities set on their collateral's revenue (DDTL 2.0: 0.35), here on the whole book's."""
    new_gpus_per_quarter: dict[Annotated[Generation, Strict(False)], NonNegativeSeries] = Field(
        default_factory=dict
    )
    """Most new GPUs of a generation the plan can buy in a quarter (the supplier's allocation to
    this buyer), by generation (`hopper`, `blackwell`, `rubin`); no limit for a generation not named.
    A purchases file (`solve --purchases`, `sweep --purchases`) that buys more in a quarter is
    refused naming its lines, and a plan evaluated or compared under the model naming its quarter.
    A limit for a generation the model has no SKU of, or below the smallest block of its SKUs in
    every quarter (no GPU of it can be bought), is valid and said by a warning."""

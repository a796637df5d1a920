"""GPU SKUs and the installed fleet."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, Strict, field_validator, model_validator

from fleetopt.schema.base import (
    Fraction,
    GpuCount,
    GpuPrice,
    KwPerGpu,
    Name,
    Positive,
    PositiveQuarterCount,
    Quarter,
    QuarterCount,
    StrictModel,
    Throughput,
)
from fleetopt.schema.series import GpuPriceSeries


class Generation(StrEnum):
    """NVIDIA data-centre GPU generations, oldest first."""

    hopper = "hopper"
    blackwell = "blackwell"
    rubin = "rubin"

    @property
    def rank(self) -> int:
        return list(Generation).index(self)


class Use(StrEnum):
    """What a GPU is configured for."""

    training = "training"
    inference = "inference"


class TrainingEligibility(StrictModel):
    """How long a SKU stays eligible for training work (after that it can only serve inference).

    Give one or both rules; a SKU is eligible while every rule given holds.
    """

    quarters_after_release: PositiveQuarterCount | None = None
    """Eligible until this many quarters after the SKU's `available_from` quarter."""
    max_newer_generations_on_sale: int | None = Field(None, ge=0, le=2)
    """Eligible while at most this many newer generations have been released (a SKU on sale now or before)."""

    @model_validator(mode="after")
    def _one_rule(self) -> TrainingEligibility:
        if self.quarters_after_release is None and self.max_newer_generations_on_sale is None:
            raise ValueError("give quarters_after_release, max_newer_generations_on_sale, or both")
        return self


class Sku(StrictModel):
    """A GPU product as bought: a system configuration with its all-in cost and power."""

    generation: Annotated[Generation, Strict(False)]
    """hopper, blackwell or rubin."""
    available_from: Quarter
    """First quarter the SKU can be bought (volume availability)."""
    available_until: Quarter | None = None
    """Last quarter it can be bought; open-ended when omitted."""
    block_size_gpus: GpuCount
    """Purchase unit in GPUs (a rack or a pod); purchases are whole blocks."""
    capex_per_gpu_usd: GpuPriceSeries
    """All-in capex per GPU (GPU, server, network, installation) by purchase quarter, USD (at most
    100,000,000 in every quarter)."""
    power_kw_per_gpu: KwPerGpu
    """All-in IT power per GPU in service (server and network share), kW, before PUE."""
    idle_power_fraction: Fraction
    """Share of `power_kw_per_gpu` a powered but idle GPU still draws."""
    training_throughput: Throughput
    """Training throughput per GPU relative to an H100 (H100 = 1; at most 500)."""
    inference_throughput: Throughput
    """Inference throughput per GPU relative to an H100 (H100 = 1; at most 500)."""
    opex_per_gpu_quarter_usd: GpuPrice
    """Operating cost per installed GPU per quarter, excluding electricity, USD."""
    install_quarters: QuarterCount = 0
    """Quarters from purchase to service: GPUs bought in quarter t are held (they draw idle power,
    cost opex and depreciate) but serve no one before quarter t + install_quarters."""
    utilisation_ramp: list[Fraction] = Field(default_factory=list, max_length=16)
    """Share of a newly bought GPU that can serve in each of its first quarters of service
    (quarter t + install_quarters, the next, ...), 1 after the list: [0.5, 0.8] serves half in the
    first quarter and 80 % in the second (customers onboarding, burn-in). The GPUs installed at the
    start serve in full."""
    order_deposit_share: Fraction = 0.2
    """Evaluator policy: share of the price paid as a deposit when the GPUs are ordered, forfeited if
    the order is cancelled (the cash flows keep paying the whole price on delivery, as the MILP does).
    The default is an estimate (grade C: no public figure; docs/sources.md)."""
    useful_life_years: Positive
    """Accounting useful life for straight-line depreciation, years."""
    resale_fraction_by_age_years: list[Fraction] = Field(min_length=2)
    """Resale value as a fraction of capex at age 0, 1, 2, ... years (linear in between, last value held).
    It may not rise with age."""
    training_eligibility: TrainingEligibility
    """Rule for how long the SKU may serve training."""

    @field_validator("resale_fraction_by_age_years")
    @classmethod
    def _resale_never_rises(cls, curve: list[float]) -> list[float]:
        # a GPU that gained value as it aged would make holding one, or buying early, a gain of its own
        rise = next((age for age in range(1, len(curve)) if curve[age] > curve[age - 1]), None)
        if rise is not None:
            raise ValueError(
                f"rises with age, from {curve[rise - 1]:g} at age {rise - 1} to {curve[rise]:g} at age "
                f"{rise} (years): a GPU's resale value falls or stays level as it ages"
            )
        return curve

    @model_validator(mode="after")
    def _sale_window(self) -> Sku:
        if self.available_until is not None and self.available_until < self.available_from:
            raise ValueError("available_until is before available_from")
        return self


class FleetCohort(StrictModel):
    """GPUs already installed at the start of the horizon: one SKU, one site, one purchase quarter."""

    sku: Name
    """SKU name (a key of `skus`)."""
    site: Name
    """Site name (a key of `sites`)."""
    purchased: Quarter
    """Quarter the GPUs were bought (on or before the horizon's first quarter); their age, depreciation
    and resale value count from it."""
    gpus: GpuCount
    """Number of GPUs."""
    use: Literal["training", "inference"]
    """What the GPUs are configured for at the start."""
    capex_per_gpu_usd: GpuPrice
    """All-in price paid per GPU, USD (the basis of depreciation and resale value; at most 100,000,000)."""

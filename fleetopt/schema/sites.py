"""Data-centre sites: power online, power prices and options to build more."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from fleetopt.schema.base import (
    BlockMw,
    Money,
    NonNegativeInt,
    Positive,
    Quarter,
    QuarterCount,
    StrictModel,
    at_most,
)
from fleetopt.schema.series import ElectricityPriceSeries, NonNegativeSeries


class PowerExpansion(StrictModel):
    """An option to build power capacity at a site in blocks."""

    block_mw: BlockMw
    """Facility power added by one block, MW (grid connection, the unit PUE applies to; at most 10,000)."""
    capex_per_mw_usd: Money
    """Build cost per MW of facility power, USD; paid evenly over the lead time."""
    lead_time_quarters: QuarterCount
    """Quarters from the start of construction until the block is online."""
    earliest_start: Quarter
    """First quarter construction can start."""
    max_blocks: NonNegativeInt
    """Most blocks that can ever be built at the site."""
    useful_life_years: Positive
    """Depreciation life of the power and cooling plant, years."""


class Site(StrictModel):
    """A data-centre campus with its own power envelope."""

    power_capacity_mw: NonNegativeSeries
    """Facility power online before any expansion, MW, per quarter."""
    pue: Annotated[
        float,
        Field(ge=1.0, allow_inf_nan=False, json_schema_extra={"maximum": 3.0}),
        AfterValidator(at_most(3.0, "must be at most 3: PUE is facility power / IT power, 1.25 (not 125)")),
    ]
    """Power usage effectiveness: facility power / IT power."""
    electricity_price_usd_per_mwh: ElectricityPriceSeries
    """All-in delivered electricity price, USD/MWh, per quarter (at most 100,000 in every quarter)."""
    fixed_cost_per_mw_quarter_usd: Money = 0.0
    """Cost of each MW online per quarter whether used or not (lease, staff), USD. Default 0."""
    expansion: PowerExpansion | None = None
    """Option to build more power; none when omitted."""

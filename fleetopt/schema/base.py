"""Shared building blocks of the model-file schema: strict base model and typed fields."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from fleetopt.core.quarters import QUARTER_PATTERN, QUARTERS_PER_YEAR
from fleetopt.errors import InputError


class StrictModel(BaseModel):
    """Base of every block: unknown keys are errors, attribute docstrings become field docs."""

    model_config = ConfigDict(
        extra="forbid",
        # no silent coercion: `gpus: true` or `capex: "50000"` is a type error, not 1 or 50000
        strict=True,
        frozen=True,
        use_attribute_docstrings=True,
        str_strip_whitespace=True,
    )

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:  # pydantic's "Instance is frozen" says neither why nor what to do
            raise _read_only(exc, self, name, "set") from None

    def __delattr__(self, name: str) -> None:
        try:
            super().__delattr__(name)
        except ValidationError as exc:
            raise _read_only(exc, self, name, "deleted") from None


def _read_only(exc: ValidationError, block: StrictModel, name: str, verb: str) -> Exception:
    """A field of a loaded model set or deleted (``verb``): refused as read-only, pointing to
    ``fleetopt.api.edit``; any other error of pydantic's as it is."""
    if not any(error["type"] == "frozen_instance" for error in exc.errors()):
        return exc
    return read_only_error(f"{type(block).__name__}.{name}", verb)


def read_only_error(attribute: str, verb: str) -> InputError:
    """``attribute`` ('Finance.opening_cash_usd', 'LoadedModel.model') of a loaded model set or
    deleted (``verb``): refused as read-only, pointing to ``fleetopt.api.edit``."""
    return InputError(
        f"{attribute} cannot be {verb}: a loaded model is read-only (a run keeps its "
        "text, model.yaml, beside its figures); change a model with fleetopt.api.edit(model, {field: "
        "value}), the field named by its path as `fleetopt validate` names it (finance.opening_cash_usd, "
        "contracts.NAME.price_usd_per_gpu_hour; None removes it), which writes the text and validates it"
    )


QUARTER_TYPE_ERROR = "quarter_type"
"""The error type of a quarter YAML read as something other than text (`2026` is a number,
`2026-07-01` a date): the loader words it as it words a malformed label such as `2026Q5`."""


def text_only(error_type: str, message: str) -> BeforeValidator:
    """A value YAML read as text, as it is; anything else (a number, a date, a null) the error
    ``error_type`` with ``message`` ("{value} ..."), which the loader words for its field."""

    def check(value: object) -> object:
        if isinstance(value, str):
            return value
        raise PydanticCustomError(error_type, message, {"value": str(value)})

    return BeforeValidator(check)


# No `description` on these two: a type-level description would replace the docstring of every
# field of the type (a contract's `start` would read "A calendar quarter..." in the JSON Schema).
Quarter = Annotated[
    str,
    StringConstraints(pattern=QUARTER_PATTERN),
    Field(examples=["2026Q3"]),
    text_only(QUARTER_TYPE_ERROR, "{value} is not a quarter: expected a label like 2026Q3"),
]
"""A calendar quarter label such as ``2026Q3``."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
NAME_RULE = "use letters, digits, '_', '-' and '.', starting with a letter or digit (at most 64 characters)"
NAME_TYPE_ERROR = "name_type"
"""The error type of a name YAML read as something other than text (`customer: ~` is a null,
`customer: 5` a number): the loader words it with what a name is, not "Input should be a valid
string"."""

Name = Annotated[
    str,
    StringConstraints(pattern=NAME_PATTERN, max_length=64),
    text_only(NAME_TYPE_ERROR, "{value} is not a name"),
]
"""An identifier: letters, digits, '_', '-', '.' (at most 64 characters)."""


def check_no_repeats(names: list[str]) -> list[str]:
    """A name listed twice would count twice (a contract's GPUs once per entry of its SKU)."""
    repeated = [(name, count) for name, count in Counter(names).items() if count > 1]
    if repeated:
        raise ValueError("; ".join(f"{name!r} is listed {_times(count)}" for name, count in repeated))
    return names


def _times(count: int) -> str:
    return "twice" if count == 2 else f"{count} times"


NameList = Annotated[
    list[Name], AfterValidator(check_no_repeats), Field(json_schema_extra={"uniqueItems": True})
]
"""A list of names, each at most once (every list of names in the format is one of these)."""

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]

MAX_HORIZON_QUARTERS = 80
"""Most quarters a horizon may plan (20 years)."""
MAX_RATE_ANNUAL = 1.0
"""Largest annual interest rate (100 % a year), as the facilities' own rates: a larger one is a
percentage written as a number (3.6 for 3.6 %), which made a solve infeasible for no named reason."""
RATE_LIMIT_MESSAGE = "must be at most 1 (100 % a year): rates are fractions, 0.036 means 3.6 % a year"
MAX_QUARTER_COUNT = 5 * MAX_HORIZON_QUARTERS
"""Most quarters any count of quarters may hold (400 = 100 years, five of the longest horizons): a
term, lead time or delay that long already reaches past every horizon, and larger counts overflow
the integer arrays the data and the evaluator hold them in."""
QUARTER_COUNT_MESSAGE = (
    f"must be at most {MAX_QUARTER_COUNT} quarters ({MAX_QUARTER_COUNT // QUARTERS_PER_YEAR} years; "
    f"a horizon is at most {MAX_HORIZON_QUARTERS} quarters)"
)


def bounded_positive(limit: float, check) -> Any:
    """A finite number above 0 and at most ``limit``, refused above it by ``check`` (:func:`at_most`)."""
    return Annotated[
        float, Field(gt=0, allow_inf_nan=False, json_schema_extra={"maximum": limit}), AfterValidator(check)
    ]


def at_most(limit: float, message: str) -> Callable[[float], float]:
    """A check refusing values above ``limit`` with ``message`` (for an ``AfterValidator``): pydantic's
    own ``le`` would say "less than or equal to", not why the limit is there."""

    def check(value: float) -> float:
        if value > limit:
            raise ValueError(message)
        return value

    return check


def at_least(limit: float, message: str) -> Callable[[float], float]:
    """A check refusing values below ``limit`` with ``message``, as :func:`at_most` does above one."""

    def check(value: float) -> float:
        if value < limit:
            raise ValueError(message)
        return value

    return check


def below(limit: float, message: str) -> Callable[[float], float]:
    """A check refusing values at or above ``limit`` with ``message``, as :func:`at_most` does above it."""

    def check(value: float) -> float:
        if value >= limit:
            raise ValueError(message)
        return value

    return check


check_quarter_count = at_most(MAX_QUARTER_COUNT, QUARTER_COUNT_MESSAGE)
FRACTION_LIMIT_MESSAGE = "must be at most 1 (100 %): shares and probabilities are fractions, 0.25 means 25 %"
Fraction = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, json_schema_extra={"maximum": 1}),
    AfterValidator(at_most(1, FRACTION_LIMIT_MESSAGE)),
]
"""A share or probability, 0 to 1 (0.25 = 25 %); an annual rate is an :data:`AnnualRate`."""
PositiveFraction = Annotated[
    float,
    Field(gt=0, allow_inf_nan=False, json_schema_extra={"maximum": 1}),
    AfterValidator(at_most(1, FRACTION_LIMIT_MESSAGE)),
]
"""A share above 0, at most 1 (a customer's largest revenue share, a billed utilization)."""
SHARE_BELOW_ONE_MESSAGE = "must be below 1 (100 %): shares and correlations are fractions, 0.25 means 25 %"
ShareBelowOne = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, json_schema_extra={"exclusiveMaximum": 1}),
    AfterValidator(below(1, SHARE_BELOW_ONE_MESSAGE)),
]
"""A share or correlation from 0 up to but not 1 (a prepaid share of a contract, a default correlation)."""
LOADING_MESSAGE = "must be from -1 to 1: a loading is a correlation, 0.7 means 70 %"
Loading = Annotated[
    float,
    Field(allow_inf_nan=False, json_schema_extra={"minimum": -1, "maximum": 1}),
    AfterValidator(at_least(-1, LOADING_MESSAGE)),
    AfterValidator(at_most(1, LOADING_MESSAGE)),
]
"""A correlation with a common factor, -1 to 1."""
MIN_LTV = 0.01
"""Smallest loan-to-value (1 %): GPU lenders advance 50-65 % (docs/sources.md §5). A facility's
balance / max_ltv enters the borrowing base, so a tiny one (1e-300) made coefficients HiGHS cannot
tell from rounding error and a solvable model read as "infeasible"."""
LTV_MINIMUM_MESSAGE = (
    "must be at least 0.01 (1 %): a loan-to-value is a fraction, 0.65 means 65 % (omit max_ltv for a "
    "facility not secured on GPUs)"
)
LoanToValue = Annotated[
    float,
    Field(allow_inf_nan=False, json_schema_extra={"minimum": MIN_LTV, "maximum": 1}),
    AfterValidator(at_least(MIN_LTV, LTV_MINIMUM_MESSAGE)),
    AfterValidator(at_most(1, FRACTION_LIMIT_MESSAGE)),
]
"""A loan-to-value: ``MIN_LTV`` to 1 (0.65 = 65 %)."""
AnnualRate = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, json_schema_extra={"maximum": MAX_RATE_ANNUAL}),
    AfterValidator(at_most(MAX_RATE_ANNUAL, RATE_LIMIT_MESSAGE)),
]
"""An annual interest rate or spread, a fraction from 0 to ``MAX_RATE_ANNUAL`` (0.09 = 9 %)."""
_AT_MOST_QUARTER_COUNT = Field(json_schema_extra={"maximum": MAX_QUARTER_COUNT})
QuarterCount = Annotated[NonNegativeInt, _AT_MOST_QUARTER_COUNT, AfterValidator(check_quarter_count)]
"""A number of quarters: 0 to ``MAX_QUARTER_COUNT``."""
PositiveQuarterCount = Annotated[PositiveInt, _AT_MOST_QUARTER_COUNT, AfterValidator(check_quarter_count)]
"""A number of quarters: 1 to ``MAX_QUARTER_COUNT``."""

MAX_KW_PER_GPU = 20.0
"""Most power one GPU may draw, kW (all-in with its server and network share): ten times the
1.3-2.9 kW of today's systems (docs/sources.md §1; a Kyber rack's 600 kW is ~4 kW per package).
More is a figure in watts (1300 for 1.3 kW), which made a model "infeasible" on its contracts."""
KW_PER_GPU_MESSAGE = (
    f"must be at most {MAX_KW_PER_GPU:g} kW per GPU (a GB200 NVL72 rack draws ~130 kW, 1.8 kW per GPU): "
    "power is in kW, 1.3 means 1,300 W"
)
KwPerGpu = bounded_positive(MAX_KW_PER_GPU, at_most(MAX_KW_PER_GPU, KW_PER_GPU_MESSAGE))
"""A GPU's power draw in kW: above 0, at most ``MAX_KW_PER_GPU``."""

MAX_GPUS = 10**8
"""Most GPUs any one count may hold (100 million: several times every datacenter GPU shipped to
date): larger counts are typing slips, and beyond the precision the solver works to they made a
model read as "infeasible" instead of as bad input."""


check_gpu_count = at_most(
    MAX_GPUS, f"must be at most {MAX_GPUS:,} GPUs (a count this large is a typing slip)"
)
GpuCount = Annotated[
    PositiveInt, Field(json_schema_extra={"maximum": MAX_GPUS}), AfterValidator(check_gpu_count)
]
"""A number of GPUs: 1 to ``MAX_GPUS``."""

# Money enters the MILP in millions of USD next to coefficients near 1: beyond ~1e15 USD HiGHS can
# no longer tell a feasible plan from rounding error (1e18 USD of cash made `tiny` "infeasible").
MAX_USD = 1e15
MONEY_LIMIT_MESSAGE = (
    "must be at most 1e15 USD ($1,000T): larger amounts are beyond the precision the solver works to"
)


check_money = at_most(MAX_USD, MONEY_LIMIT_MESSAGE)


def bounded_amount(limit: float, check) -> Any:
    """A finite, non-negative number (money, a ratio) at most ``limit``, refused above it by ``check``
    (:func:`at_most`)."""
    return Annotated[
        float, Field(ge=0, allow_inf_nan=False, json_schema_extra={"maximum": limit}), AfterValidator(check)
    ]


Money = bounded_amount(MAX_USD, check_money)
"""An amount of money in USD (or USD per unit): not negative, at most ``MAX_USD``."""

MAX_USD_PER_GPU_HOUR = 1e4
"""Highest price of a GPU-hour (a few thousand times today's $2-6): a price times 2,190 hours a
quarter times a fleet made coefficients HiGHS cannot tell from rounding error (1e10 made `tiny`
"infeasible", with a diagnosis of a conflict that did not exist)."""
GPU_HOUR_PRICE_MESSAGE = (
    f"must be at most {MAX_USD_PER_GPU_HOUR:,.0f} USD per GPU-hour (a price this large is a typing slip)"
)
GpuHourPrice = bounded_amount(MAX_USD_PER_GPU_HOUR, at_most(MAX_USD_PER_GPU_HOUR, GPU_HOUR_PRICE_MESSAGE))
"""A price in USD per GPU-hour: not negative, at most ``MAX_USD_PER_GPU_HOUR``."""
MAX_DEMAND_GPUS = 1e12
"""Most H100-equivalent GPUs the market demand may reach (the default model's reaches 1.3e8 as
Rubin's throughput counts several H100s): far beyond it the evaluator's arithmetic overflows."""
DEMAND_LIMIT_MESSAGE = (
    f"must be at most {MAX_DEMAND_GPUS:.0e} H100-equivalent GPUs (a demand this large is a typing slip)"
)

MAX_COVENANT_RATIO = 100.0
"""Largest covenant ratio (debt / EBITDA, EBITDA / debt service, EBITDA / interest), times: real
ones are 1.2-8x (6.0x leverage, 1.4x DSCR: docs/sources.md §6). A ratio multiplies EBITDA or debt
in the MILP's covenant rows, and 1e18 (or 1e300) made coefficients HiGHS cannot tell from rounding
error: a covenant looser than 6.0x made `tiny` "infeasible"."""
COVENANT_RATIO_MESSAGE = (
    f"must be at most {MAX_COVENANT_RATIO:g} (times): a covenant ratio is a multiple, 6.0 means 6.0x"
)
CovenantRatio = bounded_amount(MAX_COVENANT_RATIO, at_most(MAX_COVENANT_RATIO, COVENANT_RATIO_MESSAGE))
"""A covenant ratio: 0 to ``MAX_COVENANT_RATIO``."""

MAX_THROUGHPUT = 500.0
"""Largest throughput of one GPU relative to an H100: the bundled models' Rubin is 7.5-16x
(docs/sources.md §1-2), so this leaves room for several generations more. Throughput multiplies
GPU counts in the MILP's demand and contract rows, and 1e9 made `tiny` "infeasible"."""
THROUGHPUT_MESSAGE = (
    f"must be at most {MAX_THROUGHPUT:g} (times an H100's): throughput is relative to an H100, "
    "2.3 means 2.3 H100s"
)
Throughput = bounded_amount(MAX_THROUGHPUT, at_most(MAX_THROUGHPUT, THROUGHPUT_MESSAGE))
"""A GPU's throughput relative to an H100: 0 to ``MAX_THROUGHPUT``."""

MAX_BLOCK_MW = 10_000.0
"""Largest power block, MW: 10 GW, four hundred times the bundled models' 10-25 MW halls, and the
size above which a site's `power_capacity_mw` already reads as a figure in kW (the model's magnitude
notes). 1e300 MW left HiGHS in numerical trouble."""
BLOCK_MW_MESSAGE = (
    f"must be at most {MAX_BLOCK_MW:,.0f} MW (10 GW, more than any site holds): power is in MW, "
    "25 means 25 MW (25,000 kW)"
)
BlockMw = bounded_positive(MAX_BLOCK_MW, at_most(MAX_BLOCK_MW, BLOCK_MW_MESSAGE))
"""A block of facility power in MW: above 0, at most ``MAX_BLOCK_MW``."""

MAX_USD_PER_GPU = 1e8
"""Highest all-in price of one GPU, USD: a thousand times today's $50-90k (docs/sources.md §3).
A price per GPU times a fleet of thousands made coefficients HiGHS cannot tell from rounding error
(1e15 made `tiny` "infeasible", blaming the facility sizes)."""
GPU_PRICE_MESSAGE = (
    f"must be at most {MAX_USD_PER_GPU:,.0f} USD per GPU (a price this large is a typing slip)"
)
GpuPrice = bounded_amount(MAX_USD_PER_GPU, at_most(MAX_USD_PER_GPU, GPU_PRICE_MESSAGE))
"""A price per GPU in USD: not negative, at most ``MAX_USD_PER_GPU``."""

MAX_USD_PER_MWH = 1e5
"""Highest electricity price, USD/MWh: about a thousand times the $40-140/MWh delivered prices of
docs/sources.md §7. A price times the MWh a fleet draws made coefficients HiGHS cannot tell from
rounding error (1e15 made `tiny` "infeasible", blaming the facility sizes)."""
ELECTRICITY_PRICE_MESSAGE = (
    f"must be at most {MAX_USD_PER_MWH:,.0f} USD/MWh (a price this large is a typing slip; "
    "55 means 5.5 cents per kWh)"
)

"""Shared building blocks of the model-file schema: strict base model and typed fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from fleetopt.core.quarters import QUARTER_PATTERN


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


# No `description` on these two: a type-level description would replace the docstring of every
# field of the type (a contract's `start` would read "A calendar quarter..." in the JSON Schema).
Quarter = Annotated[str, StringConstraints(pattern=QUARTER_PATTERN), Field(examples=["2026Q3"])]
"""A calendar quarter label such as ``2026Q3``."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
NAME_RULE = "use letters, digits, '_', '-' and '.', starting with a letter or digit (at most 64 characters)"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]
"""An identifier: letters, digits, '_', '-', '.' (at most 64 characters)."""

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Rate = Annotated[float, Field(ge=-0.99, le=10, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]

# Money enters the MILP in millions of USD next to coefficients near 1: beyond ~1e15 USD HiGHS can
# no longer tell a feasible plan from rounding error (1e18 USD of cash made `tiny` "infeasible").
MAX_USD = 1e15
MONEY_LIMIT_MESSAGE = (
    "must be at most 1e15 USD ($1,000T): larger amounts are beyond the precision the solver works to"
)


def check_money(value: float) -> float:
    if value > MAX_USD:
        raise ValueError(MONEY_LIMIT_MESSAGE)
    return value


Money = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, json_schema_extra={"maximum": MAX_USD}),
    AfterValidator(check_money),
]
"""An amount of money in USD (or USD per unit): not negative, at most ``MAX_USD``."""

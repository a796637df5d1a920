"""A number written so that YAML reads it as something else: quoted, a whole count with a decimal
point, as a spreadsheet shows it ($2.30, 4,000, 15%, 120M) or with its unit (15 MW): what to write.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from fleetopt.core.units import SCALE_SUFFIX_CLASS, SCALE_SUFFIXES
from fleetopt.schema.shown_values import shown_value


def number_slip(value: object, path: tuple = ()) -> str | None:
    """What is wrong with a number written so that it reads as another type: quoted ("150000000",
    text), or a whole count written with a decimal point or exponent (4e3, 4000.0); None otherwise."""
    if isinstance(value, str):  # YAML reads an unquoted nan or inf as text too: not a slip of quotes
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            return _spreadsheet_number(value) or _number_with_unit(value, path)
        if not math.isfinite(number):
            return None
        if not value.isascii():  # '０' (full-width): a number to float(), text to YAML, no quotes to drop
            return f"must be a number in the digits 0-9, not text: retype it (got {shown_value(value)})"
        unquoted = f"write it without quotes, {value.strip()}"
        return f"must be a number, not text: {unquoted} (got {shown_value(value)})"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        whole = f"write {int(value)}, without a decimal point or exponent"
        return f"must be a whole number: {whole} (got {value!r})"
    return None


# a number as a spreadsheet or a slide shows it: a dollar sign, thousands separators, a scale suffix
# (120M), a percent sign
_SPREADSHEET_NUMBER = re.compile(
    r"^(?P<sign>-?)(?P<dollar>\$?)(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?P<decimals>\.\d*)?"
    rf"(?:\s*(?P<scale>{SCALE_SUFFIX_CLASS}))?(?P<percent>\s*%)?$"
)
_SCALE_WORDS = {3: "a thousand", 6: "a million", 9: "a billion", 12: "a trillion"}


def _spreadsheet_number(value: str) -> str | None:
    """What is wrong with a number written as a spreadsheet shows it ('4,000', '$2.30', '15%'),
    which YAML reads as text: the plain number to write; None for any other text."""
    found = _SPREADSHEET_NUMBER.match(value.strip())
    if found is None or not (found["dollar"] or "," in found["whole"] or found["percent"] or found["scale"]):
        return None
    if found["scale"] and found["percent"]:  # 12.5k%: no plain number to offer
        return None
    plain = f"{found['sign']}{found['whole'].replace(',', '')}{found['decimals'] or ''}"
    exponent = SCALE_SUFFIXES[found["scale"].upper()] if found["scale"] else 0
    if exponent:  # exact: 2.3M is 2300000, not float's 2299999.9999999995
        plain = format((Decimal(plain.rstrip(".")) * 10**exponent).normalize(), "f")
    got = f"(got {shown_value(value)})"
    if found["percent"]:
        return f"must be a number, not a percentage: a rate or share is a fraction, {float(plain) / 100:g} " \
            f"for {plain} % {got}"
    scale = f"a scale suffix ({found['scale']}: {_SCALE_WORDS.get(exponent)})"
    signs = [words for words, there in (("a dollar sign", found["dollar"]), ("thousands separators",
                                        "," in found["whole"]), (scale, exponent)) if there]  # fmt: skip
    unit = " (the field's name gives its unit)" if found["dollar"] else ""
    return f"must be a plain number: write {plain}, without {' or '.join(signs)}{unit} {got}"


# a number followed by a unit (15 MW, 1.3 kW, 55 $/MWh): the unit belongs in the field's name
_NUMBER_WITH_UNIT = re.compile(r"^-?\d[\d_]*(\.\d*)?([eE][+-]?\d+)?\s*[A-Za-z$/][A-Za-z$/\- ]*$")


def _number_with_unit(value: str, path: tuple) -> str | None:
    """A number written with its unit, which YAML reads as text: the field's name gives the unit
    (`power_capacity_mw`), in which the number alone is written; None for any other text."""
    if _NUMBER_WITH_UNIT.match(value.strip()) is None:
        return None
    named = next(((part, unit) for part in reversed(path) if isinstance(part, str)
                  for suffix, unit in _UNIT_SUFFIXES if part.endswith(suffix)), None)  # fmt: skip
    got = f"(got {shown_value(value)})"
    if named is None:
        return f"must be a plain number, without a unit (docs/model-format.md gives the field's) {got}"
    field, unit = named
    return f"must be a plain number, without a unit: {field} is in {unit} (its name says so); write " \
        f"the number in {unit} alone {got}"


# the units of docs/model-format.md's Conventions, by the end of a field's name (longest first)
_UNIT_SUFFIXES = (
    # names whose ending alone would name another unit: a resale curve's ages are years, its values
    # fractions; the market's demand is in H100-equivalent GPUs
    ("_fraction_by_age_years", "fractions of capex"), ("demand_gpus", "H100-equivalent GPUs"),
    ("_usd_per_gpu_hour", "USD per GPU-hour"), ("_usd_per_mwh", "USD per MWh"), ("_kw_per_gpu", "kW per GPU"),
    ("_per_mw_quarter_usd", "USD per MW per quarter"), ("_per_gpu_quarter_usd", "USD per GPU per quarter"),
    ("_per_mw_usd", "USD per MW"), ("_per_gpu_usd", "USD per GPU"), ("_usd_per_quarter", "USD per quarter"),
    ("_usd", "USD"), ("_mw", "MW"), ("_gpus", "GPUs"), ("_quarters", "quarters"), ("_years", "years"),
)

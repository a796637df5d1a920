"""Options' values read and checked as the Python API checks them: paths, numbers within limits, whole
numbers and USD amounts as people write them."""

from __future__ import annotations

import decimal
import math
import os
import re
from collections.abc import Callable
from pathlib import Path

import typer

from fleetopt.core.units import SCALE_SUFFIX_CLASS, SCALE_SUFFIXES
from fleetopt.errors import InputError
from fleetopt.runs import limits


def path_given(what: str, file: bool = False, check: Callable | None = None):
    """A callback making a path option or argument (--out, --plans, --resume, --purchases, --rerank,
    the runs to report, compare or record) a Path, each of a list one, an empty one refused by name:
    as a Path "" would be ".", the current folder (for a run folder, refused as "already exists and
    is not empty"; for a report, schema or comparison, found only when the computed output failed
    to be written; --plans "" or `compare A ""` read the current folder as a run). ``file``: a name
    ending in a slash, a folder's, is refused too (a Path drops the slash: `--out new/` wrote a
    file named new). ``check``: a :mod:`fleetopt.runs.limits` path check (``file``: out_path), its
    refusal worded as the option's, not as the API's parameter's (the API said 'out', 'path')."""
    check = limits.out_path if file else check

    def callback(value: str | list[str] | None) -> Path | list[Path] | None:
        if value is None:
            return None
        if isinstance(value, list):  # an argument of several (compare's runs, runs add's folders)
            return [callback(one) for one in value]
        if not value.strip():
            raise typer.BadParameter(f"give a {what}, not an empty one")
        if file and value.endswith(("/", os.sep)):
            raise typer.BadParameter(f"{value} ends in a slash, as a folder's name does: give a {what}")
        if check is not None:  # a file written: compare's page was written under a name holding a newline
            try:
                check(what, value)
            except InputError as exc:
                raise typer.BadParameter(str(exc)) from None
        return Path(value)

    return callback


def model_given(value: str | None) -> str | None:
    """The model argument as given; an empty one refused (it read the current folder as a file)."""
    path_given("model file or bundled model name")(value)
    return value


def checked(check, *bounds, share: bool = False, unit: str = ""):
    """A callback applying one of :mod:`fleetopt.runs.limits`' checks to a number option, so that
    the CLI refuses what the Python API refuses, with the same words (typer's own range check
    refuses NaN as if it were too large and lets inf past a minimum). ``share``: the option is a
    fraction, which a refusal of a value above 1 says (5 read as 5 %); ``unit``: the unit of its number,
    which a refusal names ('must be at least 0.001 (got 0.0)' gave a time limit none)."""

    def callback(value):
        if value is not None:
            try:
                check("", value, *bounds)
            except InputError as exc:
                percent = share and math.isfinite(value) and value >= 1  # 5 for 5 %
                fraction = f": a share is a fraction, {value / 100:g} for {value:g} %" if percent else ""
                counts = f": {unit}" if unit else ""
                raise typer.BadParameter(str(exc).strip() + fraction + counts) from None
        return value

    return callback


def usd_amount(value: str | None) -> float | None:
    """A USD option's value as written: a number (-50000000, -5e7, -50,000,000 with commas between
    groups of three digits), a $ after the sign, and a suffix k, M, B or T (thousand to trillion:
    -$50M, -1.5B)."""
    if value is None:
        return None
    found = _USD_AMOUNT.fullmatch(value.strip())
    amount = None
    if found:
        sign, number, suffix = found.group("sign"), found.group("number"), found.group("suffix")
        amount = float(sign + number.replace(",", "")) * _USD_SUFFIXES[suffix.upper()]
    if amount is None or not math.isfinite(amount):
        example = "e.g. -50000000, -5e7, -50,000,000 or -$50M"
        raise typer.BadParameter(f"not an amount in USD (got {value!r}; {example})")
    return amount


def whole_number(value: str | int) -> int:
    """A whole-number option's value as written: digits (2000), with commas or underscores between
    groups of three (2,000 or 2_000, as every printout writes thousands), or any number that is an
    exact whole one (2.0, 1e3); its range is its callback's to check. A default comes as an int."""
    if isinstance(value, int):
        return value
    text = value.strip()
    found = _WHOLE_NUMBER.fullmatch(text)
    number = decimal.Decimal(re.sub("[,_]", "", text)) if found else None
    if number is not None and number == number.to_integral_value():
        if number.adjusted() > _MOST_DIGITS:
            raise typer.BadParameter(f"too large a number (got {value!r})")
        return int(number)
    grouped = re.search("[,_]", text)
    groups = ": commas or underscores go between groups of three digits" if grouped else ""
    raise typer.BadParameter(f"not a whole number (got {value!r}{groups}, e.g. 2000, 2,000 or 2_000)")


# digits, grouped in threes by commas or by underscores, or a number to check for a whole one
_WHOLE_NUMBER = re.compile(
    r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?:_\d{3})+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)", re.ASCII
)
_MOST_DIGITS = 100  # 1e1000000 is refused, not turned into a million-digit int


_USD_SUFFIXES = {"": 1.0} | {suffix: 10.0**power for suffix, power in SCALE_SUFFIXES.items()}
_USD_AMOUNT = re.compile(
    r"(?P<sign>[+-]?)\$?(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    rf"(?P<suffix>{SCALE_SUFFIX_CLASS}?)"
)

"""Calendar quarters such as ``2026Q3``: parsing, arithmetic and labels.

A quarter is stored as an integer ordinal (``year * 4 + quarter - 1``) so that
differences between quarters are plain integer subtraction.
"""

from __future__ import annotations

import datetime
import re

import numpy as np

QUARTER_PATTERN = r"^(19|20|21)\d\dQ[1-4]$"
_QUARTER_RE = re.compile(QUARTER_PATTERN)
_ANY_YEAR_RE = re.compile(r"^\d+Q[1-4]$")
# a quarter written another way: 2026q3, 2026-Q3, 2026 Q3, Q3 2026, Q3-2026
_OTHER_WAY_RE = re.compile(r"^(?:(?P<year>(?:19|20|21)\d\d)\W?Q(?P<q>[1-4])|Q(?P<q_first>[1-4])\W?"
                           r"(?P<year_last>(?:19|20|21)\d\d))$", re.IGNORECASE)
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
QUARTERS_PER_YEAR = 4
HOURS_PER_QUARTER = 8760.0 / QUARTERS_PER_YEAR


def per_quarter(annual):
    """An annual rate's (or rate shift's) quarterly rate: a quarter of it, simple, as loan interest
    is quoted (discount factors compound instead: ModelData.discount)."""
    return annual / QUARTERS_PER_YEAR


def years_to_quarters(years):
    """A span in years as quarters."""
    return years * QUARTERS_PER_YEAR


def quarters_to_years(quarters):
    """A span in quarters as years."""
    return quarters / QUARTERS_PER_YEAR


def discount_factors(rate_annual: float, quarters: int) -> np.ndarray:
    """(quarters,) present value of a dollar at the end of each quarter at ``rate_annual``,
    compounded: (1 + r)^-(t + 1) / 4 (ModelData.discount at the model's rate)."""
    return (1.0 + rate_annual) ** (-quarters_to_years(np.arange(quarters) + 1.0))


def parse_quarter(label: str) -> int:
    """Return the ordinal of a quarter label like ``2026Q3``."""
    if not isinstance(label, str) or not _QUARTER_RE.match(label):
        raise ValueError(f"{label!r} {quarter_problem(label)}")
    year, q = label.split("Q")
    return int(year) * QUARTERS_PER_YEAR + int(q) - 1


def quarter_problem(label: object) -> str:
    """What is wrong with a quarter label that does not match :data:`QUARTER_PATTERN`, in words
    that follow the label: a quarter out of the years a model plans in (9999Q1), or no quarter."""
    if isinstance(label, str) and _ANY_YEAR_RE.match(label.strip()):
        outside = "is outside the years 1900-2199 a model can plan in"
        year, q = label.strip().split("Q")
        return f"{outside} (write the year in full: 20{year}Q{q})" if len(year) == 2 else outside
    return f"is not a quarter: expected a label like 2026Q3{_meant(label)}"


def quarter_of_date(date: datetime.date) -> str:
    """The label of the quarter a date falls in: '2026Q3' of 2026-07-01 (a date YAML read where a
    quarter was meant)."""
    return f"{date.year}Q{(date.month - 1) // 3 + 1}"


def _meant(label: object) -> str:
    """The label a quarter written another way meant (' (write 2026Q3)'), or the quarter a date falls
    in; '' for anything else (2026Q5, 2026)."""
    date = label if isinstance(label, datetime.date) else _iso_date(label)
    if date is not None:
        return f" (the quarter it falls in is {quarter_of_date(date)})"
    found = _OTHER_WAY_RE.match(label.strip()) if isinstance(label, str) else None
    if found is None:
        return ""
    return f" (write {found['year'] or found['year_last']}Q{found['q'] or found['q_first']})"


def _iso_date(text: object) -> datetime.date | None:
    """The date ``text`` writes as YYYY-MM-DD (an edit's key or a quoted one in a model file: what YAML
    reads as a date unquoted), else None."""
    if not isinstance(text, str) or not _ISO_DATE_RE.match(text.strip()):
        return None
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:  # 2027-02-30
        return None


def quarter_label(ordinal: int) -> str:
    """Return the label (``2026Q3``) of a quarter ordinal."""
    return f"{ordinal // QUARTERS_PER_YEAR}Q{ordinal % QUARTERS_PER_YEAR + 1}"


def calendar_year(label: str) -> str:
    """The calendar year of a quarter label: '2026' of '2026Q3' (a table's column by year)."""
    return str(parse_quarter(label) // QUARTERS_PER_YEAR)


def span_label(labels: list[str], quarters: range) -> str:
    """The quarters of a range of the horizon (``labels``: the horizon's quarter labels) as its
    first and last: '2026Q3..2027Q2' (a horizon year of :func:`horizon_years`)."""
    return f"{labels[quarters[0]]}..{labels[quarters[-1]]}"


def quarter_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) quarter of each run of consecutive quarters where ``flags`` ((T,) bool) holds:
    what a report draws as one stretch and a sentence writes as '2026Q1..2026Q3'."""
    edges = np.diff(np.concatenate([[0], np.asarray(flags).astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def horizon_years(quarters: int) -> list[range]:
    """The horizon's years as ranges of quarter indices: four at a time from its first quarter, the
    last one shorter where the horizon is not whole years (10 quarters: 0-3, 4-7, 8-9)."""
    year = QUARTERS_PER_YEAR
    return [range(start, min(start + year, quarters)) for start in range(0, quarters, year)]

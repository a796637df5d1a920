"""Calendar quarters such as ``2026Q3``: parsing, arithmetic and labels.

A quarter is stored as an integer ordinal (``year * 4 + quarter - 1``) so that
differences between quarters are plain integer subtraction.
"""

from __future__ import annotations

import re

QUARTER_PATTERN = r"^(19|20|21)\d\dQ[1-4]$"
_QUARTER_RE = re.compile(QUARTER_PATTERN)
HOURS_PER_QUARTER = 8760.0 / 4.0


def parse_quarter(label: str) -> int:
    """Return the ordinal of a quarter label like ``2026Q3``."""
    if not isinstance(label, str) or not _QUARTER_RE.match(label):
        raise ValueError(f"{label!r} is not a quarter: expected a label like 2026Q3")
    year, q = label.split("Q")
    return int(year) * 4 + int(q) - 1


def quarter_label(ordinal: int) -> str:
    """Return the label (``2026Q3``) of a quarter ordinal."""
    return f"{ordinal // 4}Q{ordinal % 4 + 1}"

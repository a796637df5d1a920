"""Default hazards of contracted customers by credit rating (docs/sources.md, "Credit risk").

Rating agencies publish average cumulative default rates by rating and horizon (S&P's annual
global corporate default and rating transition studies, 1981 onwards). For planning, seven-year
cumulative default rates are of the order of (grade C, read from those tables; look the exact
rows up before relying on a digit): AAA 0.5 %, AA and A about 1 %, BBB about 3 %, BB about 10 %,
single-B 25-30 % (27.5 % here), CCC about 50 %. The constant quarterly hazard h that gives a
seven-year rate P is h = 1 - (1 - P)^(1/28). AI labs funded by equity are mostly unrated; a model
can rate them as speculative grade (B) or give their hazard directly (`customer_hazard_overrides`).
"""

from __future__ import annotations

QUARTERS_IN_SEVEN_YEARS = 28
SEVEN_YEAR_DEFAULT_RATE = {  # estimates, grade C (see the module docstring)
    "AAA": 0.005,
    "AA": 0.01,
    "A": 0.012,
    "BBB": 0.03,
    "BB": 0.10,
    "B": 0.275,
    "CCC": 0.50,
}


def hazard_per_quarter(rating: str) -> float:
    """Constant quarterly default hazard of a customer with ``rating``."""
    return 1.0 - (1.0 - SEVEN_YEAR_DEFAULT_RATE[rating]) ** (1.0 / QUARTERS_IN_SEVEN_YEARS)

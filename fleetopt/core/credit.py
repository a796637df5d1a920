"""Default hazards of contracted customers by credit rating (docs/sources.md, "Credit risk").

Rating agencies publish average cumulative default rates by rating and horizon (S&P's annual
global corporate default and rating transition studies, 1981 onwards). The seven-year rates P
below are estimates (grade C) at or above S&P's own seven-year rates over 1981-2019 (grade B; AAA's
rounded), given beside each in brackets, as docs/sources.md §9 and docs/calibration.md give them:

- AAA 0.5 % (S&P 0.51 %); S&P's five-year AAA rate, 0.34 % (1981-2021, grade A), at a constant
  hazard is 1 - (1 - 0.0034)^(7/5) = 0.48 % over seven years.
- AA 1 % (S&P 0.50 %), A 1.2 % (0.79 %), BBB 3 % (2.33 %): the order of magnitude read from the
  S&P tables (A/AA about 1 %, BBB a few %; grade C), above S&P's rates.
- BB 10 % (S&P 9.01 %), CCC 50 % (CCC/C 48.26 %): S&P's rates rounded up; no customer of the
  bundled models has either rating.
- B 27.5 % (S&P 20.36 %): a judgement above S&P's rate, the midpoint of the tables' single-B
  25-30 % (grade C). S&P's long-run speculative-grade annual rate, about 4 % (grade A), gives no
  seven-year rate: it is the rate of each year's speculative-grade pool, whose members change as
  issuers are upgraded, downgraded and default, not a cohort's, so compounding it
  (1 - 0.96^7 = 25 %) says nothing of a single-B issuer's seven years.

The constant quarterly hazard h that gives a seven-year rate P is h = 1 - (1 - P)^(1/28). AI labs
funded by equity are mostly unrated; a model can rate them as speculative grade (B) or give their
hazard directly (`customer_hazard_overrides`).
"""

from __future__ import annotations

from fleetopt.core.quarters import years_to_quarters

QUARTERS_IN_SEVEN_YEARS = years_to_quarters(7)  # 28
SEVEN_YEAR_DEFAULT_RATE = {  # the basis of each row is in the module docstring
    "AAA": 0.005,
    "AA": 0.01,
    "A": 0.012,
    "BBB": 0.03,
    "BB": 0.10,
    "B": 0.275,
    "CCC": 0.50,
}


# the ratings lenders count as investment grade (BBB- and above; a model's ratings carry no notch):
# a facility's concentration limit caps what customers below them, or unrated, earn of its revenue
INVESTMENT_GRADE = ("AAA", "AA", "A", "BBB")


def hazard_per_quarter(rating: str) -> float:
    """Constant quarterly default hazard of a customer with ``rating``."""
    return 1.0 - (1.0 - SEVEN_YEAR_DEFAULT_RATE[rating]) ** (1.0 / QUARTERS_IN_SEVEN_YEARS)


def default_probability(hazard: float, quarters: int) -> float:
    """The probability of a default within ``quarters`` at a constant quarterly ``hazard``: the
    inverse of :func:`hazard_per_quarter`'s conversion."""
    return 1.0 - (1.0 - hazard) ** quarters

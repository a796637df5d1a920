"""A check of the model's contract book against the limit on revenue from customers below
investment grade, which otherwise only a solve would find.
"""

from __future__ import annotations

from fleetopt.core.data import ModelData
from fleetopt.core.economics.operating import (
    contract_revenue_per_gpu,
)
from fleetopt.core.quarters import horizon_years, span_label
from fleetopt.core.units import counted, format_percent, format_rate, format_usd


def signed_book_beyond_grade_limit(data: ModelData) -> str | None:
    """Where the signed contracts alone break limits.max_non_investment_grade_share_per_year in a year
    of the horizon (formulation §5.12), which only a solve found (infeasible, exit 3): its first such
    year in words, else None. In a year the plan earns at least what the signed contracts of customers
    below investment grade (or unrated) must deliver (their quarters from the delivery deadline) and at
    most that plus every contract of an investment-grade customer, signed or not, whole."""
    limit = data.max_non_investment_grade_share_per_year
    years = [bounds for bounds in _book_bounds(data) if bounds[1] > limit * bounds[2] + 1e-9]
    if limit >= 1.0 or not years:
        return None
    year, least, most, names = years[0]  # the model's words: a warning of validate and solve
    more = f" (and in {counted(len(years) - 1, 'other year')})" if len(years) > 1 else ""
    return (f"limits.max_non_investment_grade_share_per_year is {format_rate(limit)}, but in "
            f"{span_label(data.quarter_labels, year)} the signed contracts of {', '.join(names)}, below "
            f"investment grade or unrated, earn at least {format_percent(least / most)} of the contract "
            f"revenue ({format_usd(least)} of at most {format_usd(most)}, every investment-grade customer's "
            f"contract taken){more}: no plan keeps it (fleetopt solve finds it infeasible); rate the "
            "customers in risk.customer_ratings or raise the limit")  # fmt: skip


def _book_bounds(data: ModelData):
    """Each year of the horizon (its quarters) in which customers below investment grade have signed
    contracts to deliver, with the least contract revenue they earn (from each deadline), the most
    revenue of a book holding no more of theirs (every other customer's contract, whole), USD, and
    those customers."""
    per_gpu, below = contract_revenue_per_gpu(data), set(data.non_investment_grade)
    for year in horizon_years(data.T):
        least = most = 0.0
        names = set()
        for k, con in enumerate(data.contracts):
            first = max(con.start, con.deadline) if con.customer in below else con.start
            quarters = sum(1 for t in year if first <= t <= con.end)
            if con.customer not in below:
                most += per_gpu[k] * con.gpus * quarters
            elif con.signed and quarters:
                least += per_gpu[k] * con.gpus * quarters
                names.add(con.customer)
        if least > 0:
            yield year, least, least + most, sorted(names)

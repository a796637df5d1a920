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
from fleetopt.schema.issues import ModelIssue
from fleetopt.schema.loaded_model import LoadedModel

GRADE_LIMIT = ("limits", "max_non_investment_grade_share_per_year")


def signed_book_beyond_grade_limit(data: ModelData, loaded: LoadedModel | None = None) -> str | None:
    """Where the signed contracts alone break limits.max_non_investment_grade_share_per_year in a year
    of the horizon (formulation §5.12), which only a solve found (infeasible, exit 3): its first such
    year in words, else None. In a year the plan earns at least what the signed contracts of customers
    below investment grade (or unrated) must deliver (their quarters from the delivery deadline) and at
    most that plus every contract of an investment-grade customer, signed or not, whole. Said as a
    model's warnings are, from the field's path, and with ``loaded`` (the model ``data`` is of) its
    file and line."""
    limit = data.max_non_investment_grade_share_per_year
    years = [bounds for bounds in _book_bounds(data) if bounds[1] > limit * bounds[2] + 1e-9]
    if limit >= 1.0 or not years:
        return None
    year, least, most, names = years[0]  # the model's words: a warning of validate and solve
    more = f" (and in {counted(len(years) - 1, 'other year')})" if len(years) > 1 else ""
    words = (f"is {format_rate(limit)}, but in {span_label(data.quarter_labels, year)} the signed contracts "
             f"of {', '.join(names)}, below investment grade or unrated, earn at least "
             f"{format_percent(least / most)} of the contract revenue ({format_usd(least)} of at most "
             f"{format_usd(most)}, every investment-grade customer's contract taken){more}: no plan keeps it "
             f"(fleetopt solve finds it infeasible); {_remedies(data, names)}")  # fmt: skip
    return ModelIssue(GRADE_LIMIT, words).format() if loaded is None else loaded.located(GRADE_LIMIT, words)


def _remedies(data: ModelData, names: list[str]) -> str:
    """What gives the limit room, by how the customers are rated: a rated one (B) is below investment
    grade by its rating, which no other rating field mends; an unrated one is counted below it, which
    a rating in risk.customer_ratings mends where it is investment grade."""
    ratings = data.risk.customer_ratings
    why = [f"{name} is rated {ratings[name]} in risk.customer_ratings, below investment grade (BBB or better)"
           if name in ratings else f"{name} is unrated in risk.customer_ratings, counted below investment "
           "grade" for name in names]  # fmt: skip
    fixes = ["raise the limit"]
    if unrated := [name for name in names if name not in ratings]:
        they = "it is" if len(unrated) == 1 else "they are"
        fixes.insert(0, f"rate {' and '.join(unrated)} there if {they} investment grade")
    signed = [f"contracts.{con.name}.gpus" for con in data.contracts if con.signed and con.customer in names]
    fixes.append(f"sign less with {'it' if len(names) == 1 else 'them'} ({' or '.join(signed)})")
    return f"{'; '.join(why)}: {', '.join(fixes[:-1])} or {fixes[-1]}"


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

"""A plan's revenue by customer, its concentration and its contracts' share of each year's revenue, in
figures and words."""

from __future__ import annotations

from fleetopt.core.credit import default_probability
from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import Statements
from fleetopt.core.quarters import QUARTERS_PER_YEAR, calendar_year, horizon_years, span_label
from fleetopt.core.results.tables import year_columns
from fleetopt.core.units import format_percent, format_rate, format_usd


def revenue_words(fig: dict, contracts: bool = True) -> str:
    """'$247.2B (41% under contract)': a plan's revenue over the horizon and the share of it its
    contracts earn (the rest the market's, whose volume and price the contracts do not hold); of a
    model with no ``contracts`` (a lab's own demand) the revenue alone, not '(0% under contract)'."""
    total, contracted = fig["revenue_total_usd"], fig["revenue_contracts_total_usd"]
    share = f" ({_percent_of(contracted / total)} under contract)" if total > 0 and contracts else ""
    return format_usd(total) + share


def revenue_by_customer(data: ModelData, lines: dict, quarters: slice = slice(None)) -> dict[str, float]:
    """USD each customer's contracts earn over the horizon, or its ``quarters`` (the statements'
    ``revenue_contract_<name>_usd`` summed by customer), largest first; a customer whose contracts
    earn nothing there (none taken) is left out."""
    out: dict[str, float] = {}
    for con in data.contracts:
        earned = float(lines[f"revenue_contract_{con.name}_usd"][quarters].sum())
        out[con.customer] = out.get(con.customer, 0.0) + earned
    return dict(sorted(((c, usd) for c, usd in out.items() if usd > 0.0), key=lambda item: -item[1]))


FIRST_YEAR = slice(0, QUARTERS_PER_YEAR)  # the horizon's first four quarters (fewer in a shorter horizon)


def customer_figures(data: ModelData, lines: dict) -> dict:
    """A plan's ``revenue_by_customer_usd`` (:func:`revenue_by_customer`), the largest customer's
    share of all revenue over the horizon (``largest_customer_revenue_share``), and the customer
    largest in the horizon's first year with its share of that year's revenue
    (``largest_customer_first_year``, ``largest_customer_first_year_share``), where a concentrated
    book shows before contracts run off or market revenue dilutes it (None: no contract revenue
    there)."""
    by_customer = revenue_by_customer(data, lines)
    first_name, first_share = _largest(revenue_by_customer(data, lines, FIRST_YEAR), lines, FIRST_YEAR)
    below, year = _largest_non_investment_grade_share(data, lines)
    return {
        "revenue_by_customer_usd": by_customer,
        "largest_customer_revenue_share": _largest(by_customer, lines, slice(None))[1],
        "largest_customer_first_year": first_name,
        "largest_customer_first_year_share": first_share,
        "largest_non_investment_grade_year_share": below,
        "largest_non_investment_grade_year": year,
    }


def _largest_non_investment_grade_share(data: ModelData, lines: dict) -> tuple[float | None, str | None]:
    """The largest share of a horizon year's contract revenue that customers below investment grade
    (or unrated) earn, and that year ('2027Q3..2028Q2'): what the §5.12 limit
    ``limits.max_non_investment_grade_share_per_year`` caps. (None, None): no contract revenue."""
    best: tuple[float | None, str | None] = (None, None)
    for year in horizon_years(data.T):
        by_customer = revenue_by_customer(data, lines, slice(year.start, year.stop))
        total = sum(by_customer.values())
        if total <= 0:
            continue
        share = sum(usd for name, usd in by_customer.items() if name in data.non_investment_grade) / total
        if best[0] is None or share > best[0]:
            best = (share, span_label(data.quarter_labels, year))
    return best


def _largest(by_customer: dict[str, float], lines: dict, quarters: slice) -> tuple[str | None, float | None]:
    """The customer first in ``by_customer`` (:func:`revenue_by_customer` over ``quarters``: the
    largest), and its share of all the revenue of those quarters."""
    total = float(lines["revenue_usd"][quarters].sum())
    if not by_customer or total <= 0:
        return None, None
    name = next(iter(by_customer))
    return name, by_customer[name] / total


def contract_rows(data: ModelData, fig: dict) -> list[tuple[str, str]]:
    """The contracts a plan accepts and declines, a row each (none for a model without contracts: a
    lab planning its own demand, whose rows of "none" would say nothing)."""
    if not data.contracts:
        return []
    return [("contracts accepted", ", ".join(fig["contracts_accepted"]) or "none"),
            ("contracts declined", ", ".join(fig["contracts_declined"]) or "none")]  # fmt: skip


# what customer_words lists, as the terminal and the report name it
CUSTOMERS_LABEL = ("contract revenue by customer, share of all revenue over the horizon (credit rating, "
                   "default probability a year in the scenarios)")


def customer_words(data: ModelData, fig: dict) -> str:
    """'enterprise-b 27% (unrated, 3.9%/yr), lab-a 19% (unrated, 3.9%/yr); in the first year
    (2026Q3..2027Q2) lab-a 33%; limit 67% each over the horizon': each customer's share of the
    horizon's revenue, largest first, with its credit rating (``risk.customer_ratings``; "unrated"
    where the model's default hazard applies to it) and its default probability a year where the
    scenarios default it; the customer largest in the first year and its share of that year's
    revenue; the model's limits (formulation §5.12) where it sets them. 'none' without contract
    revenue."""
    total = fig["revenue_total_usd"]
    if not fig["revenue_by_customer_usd"] or total <= 0:
        return "none"
    parts = [f"{name} {_percent_of(usd / total)}{_credit_words(data, name)}"
             for name, usd in fig["revenue_by_customer_usd"].items()]  # fmt: skip
    first, share = fig.get("largest_customer_first_year"), fig.get("largest_customer_first_year_share")
    if first is not None and FIRST_YEAR.stop < data.T:
        year = span_label(data.quarter_labels, range(FIRST_YEAR.stop))
        parts[-1] += f"; in the first year ({year}) {first} {_percent_of(share)}"
    if data.max_customer_share < 1.0:
        parts[-1] += f"; limit {format_rate(data.max_customer_share)} each over the horizon"
    if data.max_customer_share_per_year < 1.0:
        parts[-1] += f"; limit {format_rate(data.max_customer_share_per_year)} each in any year"
    below = fig.get("largest_non_investment_grade_year_share")  # not in a run before 0.4.18
    if data.max_non_investment_grade_share_per_year < 1.0 and below is not None:
        parts[-1] += (f"; below investment grade or unrated at most {_percent_of(below)} of a year's "
                      f"contract revenue ({fig['largest_non_investment_grade_year']}), limit "
                      f"{format_rate(data.max_non_investment_grade_share_per_year)}")
    return ", ".join(parts)


def _credit_words(data: ModelData, customer: str) -> str:
    """' (B, 4.4%/yr)': a customer's rating where the model gives one ("unrated" where its hazard is
    the model's default one) and its default probability a year (1 - (1 - hazard per quarter)^4)
    where it is positive, and the quarter a stress places its default by
    (``risk.customer_default_quarter``); '' where none applies."""
    hazard = dict(zip(data.customers, data.customer_hazard, strict=True)).get(customer, 0.0)
    risk = data.risk
    rating = risk.customer_ratings.get(customer)
    if rating is None and hazard > 0 and customer not in risk.customer_hazard_overrides:
        rating = "unrated"
    said = [rating] if rating else []
    if hazard > 0:
        yearly = default_probability(float(hazard), QUARTERS_PER_YEAR)
        said.append(_yearly_words(yearly))
    if customer in risk.customer_default_quarter:  # a stress: the scenarios' default, certain by then
        said.append(f"defaults by {risk.customer_default_quarter[customer]} in every scenario")
    said += _scale_back_words(data, customer)
    return f" ({', '.join(said)})" if said else ""


def _scale_back_words(data: ModelData, customer: str) -> list[str]:
    """A stress's cut of each of the customer's contracts (``risk.contract_scale_back``): "keeps 60% of
    lab-a-training from 2027Q3 in every scenario" (or "in 30% of scenarios")."""
    said = []
    for con in data.contracts:
        cut = data.risk.contract_scale_back.get(con.name)
        if con.customer == customer and cut is not None and cut.share_kept < 1 and cut.probability:
            kept, chance = format_rate(cut.share_kept), "every scenario"
            if cut.probability < 1:
                chance = f"{format_rate(cut.probability)} of scenarios"
            said.append(f"keeps {kept} of {con.name} from {cut.from_quarter} in {chance}")
    return said


def _yearly_words(yearly: float) -> str:
    """A default probability a year to two significant figures under 1 % (AAA's 0.07% and AA's 0.14%
    are not both '0.1%'), one decimal above it."""
    if yearly < 0.00005:
        return "<0.01%/yr"
    return f"{format_percent(yearly, 2)}/yr" if yearly < 0.01 else f"{format_percent(yearly)}/yr"


def _percent_of(share: float) -> str:
    """A share as a whole percentage; '<1%' for one that rounds to 0 % but is not nothing."""
    return "<1%" if 0 < share < 0.005 else format_percent(share, 0)


def contracted_by_year(data: ModelData, st: Statements) -> str:
    """The share of each calendar year's revenue its contracts earn, in words: "2026 (Q3-Q4) 92%,
    2027 88%, ..." (a year's quarters in the horizon only, named as the GPUs bought's columns name
    them, so a part year does not read as a whole; a year without revenue is left out; a sliver,
    <1%, as a customer's share is written): the run-off of the contracts behind a plan's debt,
    which the horizon's total hides."""
    years: dict[str, list[float]] = {}
    for t, label in enumerate(data.quarter_labels):
        total = years.setdefault(calendar_year(label), [0.0, 0.0])
        total[0] += st.lines["revenue_contracts_usd"][t]
        total[1] += st.lines["revenue_usd"][t]
    shares = {year: contracted / revenue for year, (contracted, revenue) in years.items() if revenue > 0}
    columns = year_columns(data)
    return ", ".join(f"{columns[year]} {_percent_of(share)}" for year, share in shares.items())

"""The default model's first year against CoreWeave's public figures (docs/calibration.md).

The public figures live in docs/calibration.csv, which docs/calibration.md cites; this module
recomputes each fleetopt line from a solve of the bundled default model and fails when a line
leaves [1/1.5, 1.5] times its public figure.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest

import fleetopt.api as fo
from fleetopt.core.results.plan_limits import plan_limits

PUBLIC = Path(__file__).resolve().parents[1] / "docs" / "calibration.csv"
BAND = 1.5  # a line may be at most this factor above or below its public figure
HOURS_PER_QUARTER = 8760 / 4
YEAR = slice(0, 4)  # the horizon's first four quarters


def public_figures() -> dict[str, float]:
    with PUBLIC.open(newline="") as fh:
        return {row["line"]: float(row["public"]) for row in csv.DictReader(fh)}


def fleetopt_lines(result, model) -> dict[str, float]:
    """Each calibration line computed from a solve's statements and the model, as in
    docs/calibration.csv's `fleetopt_line` column."""
    s = result.statements_frame()
    revenue = s["revenue_usd"].to_numpy()
    customers: dict[str, float] = {}
    for name, contract in model.contracts.items():
        column = f"revenue_contract_{name}_usd"
        earned = float(s[column].iloc[YEAR].sum())
        customers[contract.customer] = customers.get(contract.customer, 0.0) + earned
    capacity = np.sum([site.capacity_mw for site in result.data.sites], axis=0)
    available = [c for c in s.columns if c.startswith("mw_available_")]
    year_revenue = float(revenue[YEAR].sum())
    return {
        "revenue_first_quarter": float(revenue[0]),
        "ebitda_margin_first_quarter": float(s["ebitda_usd"].iloc[0] / revenue[0]),
        "debt_end_first_quarter": float(s["debt_usd"].iloc[0]),
        "interest_first_quarter": float(s["interest_usd"].iloc[0]),
        "signed_contract_value": sum(
            c.gpus * c.price_usd_per_gpu_hour * HOURS_PER_QUARTER * c.term_quarters
            for c in model.contracts.values()
            if c.signed
        ),
        "contract_revenue_share_year1": float(s["revenue_contracts_usd"].iloc[YEAR].sum()) / year_revenue,
        "largest_customer_share_year1": max(customers.values()) / year_revenue,
        "active_power_mw": float(s[available].iloc[0].sum()),
        "contracted_power_mw": float(capacity.max()),
    }


@pytest.fixture(scope="module")
def default_solve():
    loaded, _ = fo.load(None)
    return loaded, fo.solve(loaded, mip_gap=0.005)


@pytest.fixture(scope="module")
def calibration(default_solve):
    loaded, result = default_solve
    return fleetopt_lines(result, loaded.model), public_figures()


def test_every_public_figure_has_a_fleetopt_line(calibration):
    lines, public = calibration
    assert set(lines) == set(public)


@pytest.mark.parametrize("line", sorted(public_figures()))
def test_line_within_band_of_public_figure(calibration, line):
    lines, public = calibration
    ratio = lines[line] / public[line]
    assert 1 / BAND <= ratio <= BAND, (
        f"{line}: fleetopt {lines[line]:.4g} vs public {public[line]:.4g} "
        f"(ratio {ratio:.2f}, outside [{1 / BAND:.2f}, {BAND:.2f}]); see docs/calibration.md"
    )


CALIBRATION_PAGE = PUBLIC.with_name("calibration.md")
SCALES = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9}


def _figure_and_half_digit(text: str) -> tuple[float, float]:
    """'$23.7B' -> (23.7e9, 0.05e9); '52.6 %' -> (0.526, 0.0005); '1,000 MW' -> (1000, 0.5): the
    figure the page prints and half a unit of its last digit (what its rounding allows)."""
    import re

    match = re.fullmatch(r"\$?([\d,]+(?:\.(\d+))?)\s*([kMB]?)\s*(%|MW)?", text.strip())
    assert match, text
    number, decimals, scale, unit = match.groups()
    factor = SCALES[scale] * (0.01 if unit == "%" else 1.0)
    return float(number.replace(",", "")) * factor, 0.5 * 10.0 ** -len(decimals or "") * factor


def test_the_calibration_page_prints_the_solves_figures(calibration):
    """docs/calibration.md's table had gone stale (debt $23.4B and 92.5 % against the solve's
    $23.72B and 92.6 % after a change to the MILP): each figure of its fleetopt column is the
    solve's line, to the page's rounding. Its rows are docs/calibration.csv's lines, in order."""
    lines, public = calibration
    page = CALIBRATION_PAGE.read_text().splitlines()
    start = next(n for n, row in enumerate(page) if row.startswith("| line | fleetopt |"))
    table = list(itertools.takewhile(lambda row: row.startswith("|"), page[start:]))
    rows = [[cell.strip() for cell in row.strip("|").split("|")] for row in table[2:]]
    assert len(rows) == len(public)
    for line, row in zip(public, rows, strict=True):
        figure, allowed = _figure_and_half_digit(row[1])
        said = f"{line}: the page says {row[1]}, the solve {lines[line]:.6g}"
        assert abs(lines[line] - figure) <= allowed * (1 + 1e-9), said


def test_market_demand_binds_on_the_forecast_optimum_in_its_middle_years(default_solve):
    """docs/calibration.md said the default model's demand is set far above what the company can
    serve and rarely binds, so that its walk mattered little; the forecast optimum serves most of
    the market's demand in each year from 2027Q3 to 2030Q2 and all of it in some quarters, so a
    future with less demand idles its GPUs (the page's rows of risk.demand_volatility_annual)."""
    _, result = default_solve
    limits = plan_limits(result.data, result.plan, result.statements, result.objective_kind)
    demand = next(entry for entry in limits if entry["limit"] == "market demand")
    shares = demand["served_share_by_year"]
    assert demand["binding"]
    assert all(shares[year] > 0.5 for year in ("2027Q3..2028Q2", "2028Q3..2029Q2", "2029Q3..2030Q2")), shares

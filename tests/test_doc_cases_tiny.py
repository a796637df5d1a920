"""`tiny`'s forecast optimum priced by hand from docs/formulation.md §1-§7 and docs/model-format.md
alone: its first quarter's statements and its NPV's end part.

The plan (`fleetopt solve tiny`'s plan.csv): in 2026Q3 it buys 2,000 B200 (training) and retires
61.538 of the 9,600 installed H100, bought 2024Q1 (age 10 quarters), so that the site's 20 MW hold
9,538.46 H100 at 1.3 kW x 1.25 = 1.625 kW and the B200 at 2.25 kW; all serve, 4,000 H100 on lab-a's
contract. Prices are the series' `start` in the first quarter; a quarter has 2,190 hours.

- revenue: market (9,538.46 - 4,000) x 2.35 x 2,190 x 0.85 + 2,000 x 5.30 x 2,190 x 0.85 =
  43,960,038.46; contract 4,000 x 2.30 x 2,190 = 20,148,000
- costs: electricity 20 MW x 55 x 2,190 = 2,409,000; opex 9,538.46 x 1,200 + 2,000 x 1,600 =
  14,646,153.85; overhead 5,000,000: EBITDA 42,052,884.62
- depreciation over 24 quarters: 9,538.46 x 50,000 / 24 + 2,000 x 60,000 / 24 = 24,871,794.87
- the H100 sold at 2.5 years: resale 0.29 (halfway between 0.34 and 0.24), proceeds 0.95 x 50,000 x
  0.29 = 13,775 against a book value of 50,000 x (1 - 10/24) = 29,166.67: loss 947,179.49
- interest on the opening 200M at (3.6 % + 4.5 %) / 4: 4,050,000; instalment 200M / 20 = 10M
- tax 21 % of 42,052,884.62 - 24,871,794.87 - 947,179.49 - 4,050,000 = 12,183,910.26: 2,558,621.15
- the borrowing base binds: debt = 0.7 x (9,538.46 x 50,000 x 0.29 + 2,000 x 60,000 x 0.80) =
  0.7 x 234,307,692.31 = 164,015,384.62, so 200M - 10M - 164,015,384.62 = 25,984,615.38 is prepaid
- cash 150M + 42,052,884.62 - 2,558,621.15 - 4,050,000 - 120M + 847,692.31 - 10M - 25,984,615.38 =
  30,307,340.38

At the end (2028Q2, 8 quarters on): an H100 is 18 quarters old (4.5 years: resale 0.12, book
50,000 x 6/24 = 12,500), a B200 8 (2 years: 0.34, book 40,000): worth 0.95 x 50,000 x 0.12 = 5,700
and 0.95 x 60,000 x 0.34 = 19,380. Their sale's loss leaves the last quarter's negative EBT untaxed
(§5.10): no liquidation tax. NPV = sum_t DF_t x change in cash + DF_7 x (assets - debt),
DF_t = 1.15^(-(t+1)/4)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

FIRST_QUARTER = {
    "revenue_training_market_usd": 43_960_038.46,
    "revenue_contracts_usd": 20_148_000.0,
    "electricity_usd": 2_409_000.0,
    "gpu_opex_usd": 14_646_153.85,
    "ebitda_usd": 42_052_884.62,
    "depreciation_gpu_usd": 24_871_794.87,
    "gain_on_disposal_usd": -947_179.49,
    "disposal_proceeds_usd": 847_692.31,
    "interest_usd": 4_050_000.0,
    "principal_usd": 10_000_000.0,
    "tax_usd": 2_558_621.15,
    "collateral_value_usd": 234_307_692.31,
    "debt_usd": 164_015_384.62,
    "prepayment_usd": 25_984_615.38,
    "cash_usd": 30_307_340.38,
}


def test_tiny_first_quarter_statements_are_the_documents_arithmetic(solve_run):
    first = pd.read_csv(solve_run / "statements.csv").iloc[0]
    assert first["quarter"] == "2026Q3"
    for column, hand in FIRST_QUARTER.items():
        assert first[column] == pytest.approx(hand, abs=0.01), column


def test_tiny_npv_is_its_cash_flows_and_the_fleet_at_resale_less_debt(solve_run):
    st = pd.read_csv(solve_run / "statements.csv")
    summary = json.loads((solve_run / "summary.json").read_text())
    h100_end = st["gpus_held"].iloc[-1] - 2000.0
    assets = h100_end * 5_700.0 + 2000.0 * 19_380.0
    discount = [1.15 ** (-(t + 1) / 4) for t in range(8)]
    cash = [150e6, *st["cash_usd"]]
    npv = sum(df * (cash[t + 1] - cash[t]) for t, df in enumerate(discount))
    npv += discount[-1] * (assets - st["debt_usd"].iloc[-1])
    assert summary["terminal_assets_usd"] == pytest.approx(assets, abs=0.01)
    assert summary["liquidation_tax_usd"] == 0.0
    assert summary["npv_usd"] == pytest.approx(npv, abs=0.01)
    assert summary["npv_usd"] == pytest.approx(-14_109_908.48, abs=0.01)

r"""Net leverage (`finance.covenants.leverage_numerator: net_debt`) worked by hand from
docs/formulation.md §5.11 and docs/evaluation.md (quarter step 6, "One scenario's path") alone, on
the model ``hand`` of tests/test_doc_cases.py ($DF_t$ = 0.976454, 0.953463, 0.931012, 0.909091;
EBITDA 1,403,850 a quarter, 5,615,400 annualised; depreciation 1,000,000 a quarter; tax 20 %) with
a heavier loan: $24M owed at the start, none left to draw, repaid over 8 quarters (3M a quarter) at
2 % a quarter, no `max_ltv`; $12M of opening cash; one covenant from 2026Q1, net debt / annualised
EBITDA <= 2x.

**The solve.** Nothing to decide but the fleet's use (a GPU earns more than it loses in value) and
prepayments, which a 10 % discount rate against an 8 % loan does not make; repaying from cash would
leave net debt as it was anyway. Interest 480,000, 420,000, 360,000, 300,000; EBT -76,150,
-16,150, 43,850, 103,850, so tax 0, 0, 8,770, 20,770; cash 9,923,850, 7,907,700, 5,942,780,
4,025,860; debt 21M, 18M, 15M, 12M. Net debt 11,076,150, 10,092,300, 9,057,220, 7,974,140; the
`debt_to_ebitda` line 1.972460, 1.797254, 1.612925, 1.420048 (gross it would be 3.74x: the MILP
could not meet that, as prepaying 9.77M in 2026Q1 would take cash below its $1M floor). Headroom
1 - 1.972460 / 2 = 1.377 %, in 2026Q1. At the end the GPUs fetch 7.6M against a book value of 8M, a
loss larger than the last quarter's EBT: the liquidation tax is -20,770 (§5.10). NPV = DF x
(-2,076,150, -2,016,150, -1,964,920, -1,916,920) + DF_3 x (7,600,000 + 20,770 - 12,000,000) =
**-$11,502,726.46**. At 1.9x the row $\sum_f D_{f,t}-C_t\le4\Gamma^{\max}\overline{\mathrm{EBITDA}}_t$
asks 21M - 9,923,850 <= 7.6 x 1,403,850 = 10,669,260 in 2026Q1: 406,890 short, which no decision
mends (a GPU sold raises cash by 28,500 and lowers the allowance by 7.6 x 4,119.125 = 31,305).

**A scenario** (`--set risk.customer_default_hazard_per_quarter=0.3 --set
'risk.customer_default_price_impact={lab-a: 0.2}'`, seed 3, scenario 1: lab-a's uniforms by the hash
of docs/evaluation.md first fall below 0.3 in quarter 2). From 2026Q3 lab-a's contract ends, its 100
GPUs join the 300 on the training market, which takes its demand of 300 at 0.8 x $3.00: market
revenue 0.8 x 1,576,800 = 1,261,440, EBITDA 606,690 (2,426,760 annualised), no tax (EBT below 0).
Cash 5,154,390, 2,461,080; net debt 9,845,610 and 9,538,920: 4.0571x and 3.9307x against 2x, a
breach in 2026Q3 (cured) and 2026Q4 (the quarter after a cure: uncured, an event of default). NPV
= DF x (-2,076,150, -2,016,150, -2,753,310, -2,693,310) + DF_3 x (7,600,000 - 12,000,000) =
-$12,961,418.27 (no liquidation tax: a loss on a loss). With `ebitda_period: trailing_four_quarters`
net debt, a balance, is not averaged and EBITDA is: 2026Q3 divides by 4 x (2 x 1,403,850 +
606,690) / 3 = 4,552,520 (2.1627x), 2026Q4 by 4 x (2 x 1,403,850 + 2 x 606,690) / 4 = 4,021,080
(2.3722x).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
import yaml
from conftest import run_cli
from milp_builders import data_of
from test_doc_cases import DF, hand_model

from fleetopt.api import scenario_path
from fleetopt.core.covenants import kind_bit, net_debt
from fleetopt.core.results.covenant_words import covenant_headroom
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.factors import Stream, uniforms
from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import InfeasibleModel, solve

CASH = [9_923_850.0, 7_907_700.0, 5_942_780.0, 4_025_860.0]
DEBT = [21e6, 18e6, 15e6, 12e6]
ANNUAL_EBITDA = 4 * 1_403_850.0
NPV = -11_502_726.46
pytestmark = pytest.mark.filterwarnings("ignore:.*chance each quarter")  # a hazard of 0.3, on purpose


def net_leverage_model(limit: float = 2.0) -> dict:
    d = hand_model(opening_cash_usd=12_000_000)
    loan = d["finance"]["facilities"]["term-loan"]
    loan.update(size_usd=24_000_000, opening_balance_usd=24_000_000)
    del loan["max_ltv"]
    d["finance"]["covenants"] = {"test_from": "2026Q1", "max_debt_to_ebitda": limit,
                                 "leverage_numerator": "net_debt"}  # fmt: skip
    return d


def test_the_solve_tests_debt_less_cash_with_the_hand_headroom():
    data = data_of(net_leverage_model())
    result = solve(data, mip_gap=0.0)
    lines = result.statements.lines
    assert result.plan.prepay.sum() == pytest.approx(0.0, abs=0.01)
    assert lines["tax_usd"] == pytest.approx([0.0, 0.0, 8_770.0, 20_770.0], abs=0.01)
    assert lines["cash_usd"] == pytest.approx(CASH, abs=0.01)
    assert lines["debt_usd"] == pytest.approx(DEBT, abs=0.01)
    net = [d - c for d, c in zip(DEBT, CASH, strict=True)]
    assert net == [11_076_150.0, 10_092_300.0, 9_057_220.0, 7_974_140.0]
    assert lines["debt_to_ebitda"] == pytest.approx([n / ANNUAL_EBITDA for n in net], rel=1e-12)
    assert lines["debt_to_ebitda"] == pytest.approx([1.972460, 1.797254, 1.612925, 1.420048], abs=1e-6)
    assert covenant_headroom(data, result.statements)["leverage"] == pytest.approx(1 - 1.972460 / 2, abs=1e-6)
    flows = [-2_076_150.0, -2_016_150.0, -1_964_920.0, -1_916_920.0]
    hand_npv = sum(d * f for d, f in zip(DF, flows, strict=True)) + DF[3] * (7_600_000 + 20_770 - 12e6)
    assert hand_npv == pytest.approx(NPV, abs=0.01)
    assert result.statements.npv_usd == pytest.approx(NPV, abs=0.01)


def test_below_the_net_debt_the_diagnosis_gives_the_rows_shortfall():
    with pytest.raises(InfeasibleModel) as err:
        solve(data_of(net_leverage_model(limit=1.9)), mip_gap=0.0)
    [group] = err.value.diagnosis
    assert group["group"] == "leverage_covenant"
    assert group["items"] == [("2026Q1", pytest.approx(21e6 - CASH[0] - 7.6 * 1_403_850.0, abs=0.01))]
    assert group["items"][0][1] == pytest.approx(406_890.0, abs=0.01)


def explained_scenario_1(tmp_path, period: str) -> list[dict]:
    """path.csv's rows of scenario 1 of seed 3 (the module docstring's), the plan solved and
    evaluated through the command line."""
    model = tmp_path / "net.yaml"
    model.write_text(yaml.safe_dump(net_leverage_model()), encoding="utf-8")
    code, _, err = run_cli("solve", str(model), "--out", str(tmp_path / "run"))
    assert code == 0, err
    code, _, err = run_cli(
        "evaluate", "--plans", str(tmp_path / "run"), "--scenarios", "4", "--seed", "3", "--explain", "1",
        "--set", "risk.customer_default_hazard_per_quarter=0.3",
        "--set", "risk.customer_default_price_impact={lab-a: 0.2}",
        "--set", f"finance.covenants.ebitda_period={period}", "--out", str(tmp_path / "ev"))  # fmt: skip
    assert code == 0, err
    with open(tmp_path / "ev" / "path.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def column(rows: list[dict], name: str) -> list[float]:
    return [float(r[name]) for r in rows]


@pytest.mark.parametrize(("period", "ratios"), [
    ("quarter", [1.972460, 1.797254, 9_845_610 / 2_426_760, 9_538_920 / 2_426_760]),
    ("trailing_four_quarters", [1.972460, 1.797254, 9_845_610 / 4_552_520, 9_538_920 / 4_021_080]),
])  # fmt: skip
def test_a_customers_default_breaks_net_leverage_in_the_explained_path(tmp_path, period, ratios):
    lab_a = uniforms(3, np.array([1]), (Stream.CUSTOMER, 0), 4)[0]
    assert (lab_a[:2] >= 0.3).all() and lab_a[2] < 0.3  # lab-a defaults in 2026Q3
    rows = explained_scenario_1(tmp_path, period)
    assert column(rows, "price_factor_hopper") == [1.0, 1.0, 0.8, 0.8]
    assert column(rows, "revenue_market_usd") == pytest.approx([1_576_800.0] * 2 + [1_261_440.0] * 2)
    assert column(rows, "cash_usd") == pytest.approx([*CASH[:2], 5_154_390.0, 2_461_080.0], abs=0.01)
    assert column(rows, "leverage_ratio") == pytest.approx(ratios, rel=1e-6)
    assert [r["breach"] for r in rows] == [
        "", "", "cured", "uncured (the quarter before was cured): event of default"]
    assert rows[2]["covenants_breached"] == "net debt / annualised EBITDA"
    assert rows[2]["risk_events"] == ("customer lab-a defaults: contract lab-a-training ends (100 GPUs), "
                                      "its GPUs offered on the market, and market prices 20% lower for good")
    flows = [-2_076_150.0, -2_016_150.0, -2_753_310.0, -2_693_310.0]
    hand_npv = sum(d * f for d, f in zip(DF, flows, strict=True)) + DF[3] * (7_600_000 - 12e6)
    assert hand_npv == pytest.approx(-12_961_418.27, abs=0.01)
    assert scenario_path(tmp_path / "ev", 1).npv_usd == pytest.approx(hand_npv, abs=0.01)


def test_net_debt_over_negative_ebitda_is_a_breach_not_a_negative_ratio():
    """The solved plan with no market price from 2026Q2 (lab-a's contract still paid): EBITDA
    481,800 - 54,750 - 400,000 - 200,000 = -172,950, cash 9,923,850 - 172,950 - 420,000 - 3M =
    6,330,900 against 18M of debt. Net debt over annualised EBITDA would be -16.9x, below the 2x
    maximum: the ratio reads inf instead, and the quarter breaches (the first breach, leverage's bit)."""
    data = data_of(net_leverage_model())
    plan = solve(data, mip_gap=0.0).plan
    scen = deterministic_scenarios(data)
    scen.price_factor[0, :, 1:] = 0.0
    out = simulate(SimulationConstants.from_data(data), compile_plans(data, [plan], ["net"]), scen,
                   record=("cash_usd", "debt_usd", "ebitda_usd"))  # fmt: skip
    lines = {k: out[k][0, 0] for k in ("cash_usd", "debt_usd", "ebitda_usd")}
    assert lines["ebitda_usd"][1] == pytest.approx(-172_950.0, abs=0.01)
    assert lines["cash_usd"][1] == pytest.approx(6_330_900.0, abs=0.01)
    [test] = data.covenants
    quantities = {"net_debt": net_debt(lines["debt_usd"], lines["cash_usd"]), "ebitda": lines["ebitda_usd"]}
    assert test.kind.ratio(quantities)[:2].tolist() == [pytest.approx(1.972460, abs=1e-6), np.inf]
    assert out["quarters_before_breach"][0, 0] == 1
    assert out["first_breach"][0, 0] == kind_bit(test.kind)

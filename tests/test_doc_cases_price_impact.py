r"""`risk.customer_default_price_impact` worked by hand from docs/evaluation.md alone (the factor
table, "Mean one", the quarter-0 note, quarter steps 2-5, "From the draws to the factors"), on the
model ``hand`` of tests/test_doc_cases.py ($DF_t$ = 0.976454, 0.953463, 0.931012, 0.909091) with a
training demand of 1,000 GPUs, so the market takes every GPU offered, and a second customer, lab-b,
offering 100 GPUs for 2026Q4 at $1.00 a GPU-hour (219,000 a quarter), which the plan declines: the
market pays 5,256 a GPU-quarter. The plan is ``hand``'s (300 GPUs on the market, 100 on lab-a's
contract, $2M drawn; NPV 10,050,246.49). Customers default 30 % a quarter; lab-a's default lowers
prices 25 %, lab-b's 10 %. Seed 3 (the customers sorted by name: lab-a j = 0, lab-b j = 1):

* **Scenario 4**: lab-a defaults in quarter 0, lab-b never. The fall acts in quarter 0 (today's
  price is known, but a default in quarter 0 lowers that quarter's prices): price factor 0.75 in
  every quarter. The 100 freed GPUs sell on the market with the 300: 400 x 0.75 x 5,256 =
  1,576,800, no contract revenue; EBITDA 1,576,800 - 54,750 - 400,000 - 200,000 = 922,050, below
  depreciation and interest: no tax. Cash from $5M: + 922,050 - 40,000 - 250,000 + 2,000,000 =
  7,632,050, then + 347,050, + 357,050, + 367,050: 7,979,100, 8,336,150, 8,703,200. Resale values do
  not fall: the GPUs fetch 7.6M at the end against a book value of 8M, a loss on a loss (no
  liquidation tax). NPV = DF x (2,632,050, 347,050, 357,050, 367,050) + DF_3 x (7.6M - 2.25M) =
  **$8,430,711.35**.
* **Scenario 3**: lab-b defaults in quarter 2, before its contract would start and though the plan
  declined it; lab-a never. Prices 0.9 from 2026Q3: market revenue 300 x 0.9 x 5,256 = 1,419,120,
  EBITDA 1,419,120 + 481,800 - 654,750 = 1,246,170; EBT 181,170 and 191,170, tax 36,234 and 38,234;
  cash 8,041,080, 8,804,160 (the forecast's), 9,449,096, 10,102,032. The liquidation tax gives the
  last quarter's 38,234 back (the 400,000 loss exceeds its EBT). NPV = DF x (3,041,080, 763,080,
  644,936, 652,936) + DF_3 x (7.6M + 38,234 - 2.25M) = **$9,789,459.40**.
* **Scenario 0**: lab-a in quarter 0, lab-b in quarter 1: the falls multiply, 0.75, then 0.75 x 0.9
  = 0.675; from 2026Q2 market revenue 400 x 0.675 x 5,256 = 1,419,120, EBITDA 764,370, cash
  7,632,050, 7,821,420, 8,020,790, 8,230,160.
"""

from __future__ import annotations

import numpy as np
import pytest
from milp_builders import data_of
from test_doc_cases import DF, hand_model

from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import solve

pytestmark = pytest.mark.filterwarnings("ignore:.*chance each quarter")  # a hazard of 0.3, on purpose


@pytest.fixture(scope="module")
def evaluated():
    """(data, scenarios 0-4 of seed 3, their simulation of the solved plan)."""
    d = hand_model()
    d["market"]["demand_gpus"]["training"] = 1000
    d["contracts"]["lab-b-training"] = {
        "customer": "lab-b", "use": "training", "eligible_skus": ["H100"], "gpus": 100,
        "start": "2026Q4", "term_quarters": 1, "price_usd_per_gpu_hour": 1.0, "signed": False}  # fmt: skip
    d["risk"] = {"customer_default_hazard_per_quarter": 0.3,
                 "customer_default_price_impact": {"lab-a": 0.25, "lab-b": 0.1}}  # fmt: skip
    data = data_of(d)
    plan = solve(data, mip_gap=0.0).plan
    assert plan.accepted.tolist() == [1.0, 0.0]  # lab-b's contract declined
    scen = generate_scenarios(data, 3, 0, 5)
    out = simulate(SimulationConstants.from_data(data), compile_plans(data, [plan], ["hand"]), scen,
                   record=("cash_usd", "ebitda_usd", "tax_usd"))  # fmt: skip
    return data, scen, {k: v[0] for k, v in out.items()}


def test_the_default_quarters_are_the_hand_draws(evaluated):
    data, scen, _ = evaluated
    assert data.customers == ("lab-a", "lab-b")
    never = data.T
    # each contract is alive until its customer's default quarter
    assert scen.contract_alive.sum(axis=2).tolist() == [[0, 1], [2, 3], [3, 1], [never, 2], [0, never]]


def test_a_default_in_quarter_0_lowers_that_quarters_prices_and_not_resale(evaluated):
    _, scen, out = evaluated
    np.testing.assert_array_equal(scen.price_factor[4], 0.75)
    np.testing.assert_array_equal(scen.resale_factor[4], 1.0)
    assert out["ebitda_usd"][4] == pytest.approx([922_050.0] * 4, abs=0.01)
    assert out["tax_usd"][4] == pytest.approx([0.0] * 4, abs=0.01)
    assert out["cash_usd"][4] == pytest.approx([7_632_050.0, 7_979_100.0, 8_336_150.0, 8_703_200.0], abs=0.01)
    hand = sum(d * f for d, f in zip(DF, [2_632_050.0, 347_050.0, 357_050.0, 367_050.0], strict=True))
    hand += DF[3] * (7_600_000 - 2_250_000)
    assert hand == pytest.approx(8_430_711.35, abs=0.01)
    assert out["npv"][4] == pytest.approx(hand, abs=0.01)


def test_a_customer_whose_contract_the_plan_declined_still_lowers_prices(evaluated):
    _, scen, out = evaluated
    np.testing.assert_array_equal(scen.price_factor[3], [[1.0, 1.0, 0.9, 0.9]] * 3)
    assert out["ebitda_usd"][3] == pytest.approx([1_403_850.0] * 2 + [1_246_170.0] * 2, abs=0.01)
    assert out["tax_usd"][3] == pytest.approx([72_770.0, 65_770.0, 36_234.0, 38_234.0], abs=0.01)
    cash = [8_041_080.0, 8_804_160.0, 9_449_096.0, 10_102_032.0]
    assert out["cash_usd"][3] == pytest.approx(cash, abs=0.01)
    flows = [3_041_080.0, 763_080.0, 644_936.0, 652_936.0]
    hand = sum(d * f for d, f in zip(DF, flows, strict=True)) + DF[3] * (7_600_000 + 38_234 - 2_250_000)
    assert hand == pytest.approx(9_789_459.40, abs=0.01)
    assert out["npv"][3] == pytest.approx(hand, abs=0.01)


def test_two_customers_falls_multiply_in_the_cash(evaluated):
    _, scen, out = evaluated
    np.testing.assert_allclose(scen.price_factor[0], [[0.75, 0.675, 0.675, 0.675]] * 3, rtol=1e-15)
    assert out["ebitda_usd"][0] == pytest.approx([922_050.0] + [764_370.0] * 3, abs=0.01)
    assert out["cash_usd"][0] == pytest.approx([7_632_050.0, 7_821_420.0, 8_020_790.0, 8_230_160.0], abs=0.01)

r"""The policy's reactions priced by hand from docs/evaluation.md alone ("One quarter of one (plan,
scenario) pair", "Policy: how a plan reacts", "One scenario by hand", "One scenario's path"): every
figure below is derived here from the model's numbers and the documents' equations, and only then
checked against fleetopt; nothing is read back from fleetopt's own functions.

The model is `tiny` cut down to four quarters (2026Q3..2027Q2) so that each reaction shows alone:
no tax, a fixed-rate loan of $2M repaid $100,000 a quarter at 2 % a quarter, no revolver, no
covenants; texas's 1.625 MW powers the 1,000 installed H100 (1.3 kW x PUE 1.25 = 1.625 kW each)
and a contracted step to 2.975 MW in 2026Q4 powers 600 B200 (2.25 kW each) bought then; flat
prices and resale curves (H100 at 30 %, B200 at 90 % of their price, less 5 % to sell). Contracts:
lab-a 400 H100 (allowance one late quarter, $100,000 a late quarter, $1M to cancel), lab-c 200
H100 (allowance none, $500,000 to cancel), lab-b 400 B200 from 2027Q1 at $2/h. The market takes
400 H100 for training (its demand) and 3,000 H100-equivalents for inference. Cash $36M, a $10M
treasury floor and a $2M default level, lots of 40 GPUs.

The plan (`fleetopt solve --purchases`, 600 B200 bought in 2026Q4): 600 H100 on the contracts and
400 on the training market throughout; the B200 on the inference market in 2026Q4, 400 of them on
lab-b's contract from 2027Q1. Its forecast: EBITDA 3,276,278.75, 7,514,791.25, 5,692,711.25,
5,692,711.25; cash 39,136,278.75, 10,513,070, 16,069,781.25, 21,628,492.50; NPV 23,939,924.26.

Five scenarios (built with `deterministic_scenarios` and edited, "One scenario by hand"):

- P, power short: the 2026Q4 step 2 quarters late (`step_delay`). 2026Q4: 1.625 MW online, the
  contracts' 0.975 MW first, the inference market's B200 the other 0.65 of their 1.35 MW (48.1 %),
  the training market's H100 nothing. 2027Q1: the contracts need 1.875 MW, each gets 1.625 / 1.875
  = 86.7 %: lab-a late (its one allowed quarter: $100,000), lab-c cancelled ($500,000), lab-b late
  (no penalty); lab-c's 173.3 powered GPUs sell on the training market. 2027Q2: lab-c's 200 join the
  market's 400 against a demand of 400. NPV 14,736,274.50.
- D, a price drop: the market at half price in 2026Q3. 2026Q4 projects 9,638,165 against the $10M
  floor and defers 3.42 % of the 200 B200 no contract needs ($410,121); 2026Q4 ends on the floor,
  2027Q1 pays the $410,121. NPV 23,063,165.72.
- X, a deeper one: the market at nothing in 2026Q3 and at 30 % in 2026Q4. 2026Q4 defers 11.68 %
  ($1,401,781); 2027Q1 projects 9,323,407 and cancels 70.74 % of the deferred order, forfeiting
  $198,338 of its deposit, and ends on the floor. NPV 17,406,196.05.
- C, a customer default: lab-a defaults in 2027Q1; its 400 GPUs join the market's 400 against a
  demand of 400, which takes 400. NPV 20,373,626.51.
- S, a distress sale: lab-a defaults in 2026Q4 and the market pays nothing then: cash 1,387,340,
  below the $2M default level; 2 lots of 40 H100 at $14,250 bring $1,140,000. NPV 12,133,231.72.

Each agrees with fleetopt to within 1e-9 (relative; measured: to round-off)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run_cli

from fleetopt.core.data import load
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.planfile import load_plans
from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate

ELIGIBLE = {"max_newer_generations_on_sale": 1}
MODEL = {
    "name": "tinyhand",
    "description": "tiny, cut down to price the policy's reactions by hand.",
    "horizon": {"start": "2026Q3", "quarters": 4, "discount_rate_annual": 0.15},
    "skus": {
        "H100": {"generation": "hopper", "available_from": "2023Q1", "available_until": "2026Q4",
                 "block_size_gpus": 8, "capex_per_gpu_usd": 50000, "power_kw_per_gpu": 1.3,
                 "idle_power_fraction": 0.3, "training_throughput": 1.0, "inference_throughput": 1.0,
                 "opex_per_gpu_quarter_usd": 1200, "useful_life_years": 6,
                 "resale_fraction_by_age_years": [0.30, 0.30], "training_eligibility": ELIGIBLE},
        "B200": {"generation": "blackwell", "available_from": "2025Q1", "block_size_gpus": 8,
                 "capex_per_gpu_usd": 60000, "power_kw_per_gpu": 1.8, "idle_power_fraction": 0.3,
                 "training_throughput": 2.3, "inference_throughput": 3.5, "opex_per_gpu_quarter_usd": 1600,
                 "useful_life_years": 6, "resale_fraction_by_age_years": [0.90, 0.90],
                 "training_eligibility": ELIGIBLE},
    },
    "sites": {"texas": {"power_capacity_mw": [1.625, 2.975, 2.975, 2.975], "pue": 1.25,
                        "electricity_price_usd_per_mwh": 55}},
    "fleet": [{"sku": "H100", "site": "texas", "purchased": "2024Q1", "gpus": 1000, "use": "training",
               "capex_per_gpu_usd": 50000}],
    "market": {
        "billed_utilization": 0.85,
        "demand_gpus": {"training": 400, "inference": 3000},
        "price_usd_per_gpu_hour": {"training": {"hopper": 2.35, "blackwell": 2.00},
                                   "inference": {"hopper": 2.10, "blackwell": 4.80}},
    },
    "contracts": {
        "lab-a-training": {"customer": "lab-a", "use": "training", "eligible_skus": ["H100"], "gpus": 400,
                           "start": "2026Q3", "term_quarters": 4, "price_usd_per_gpu_hour": 2.30,
                           "signed": True, "delay_allowance_quarters": 1,
                           "delay_penalty_usd_per_quarter": 100000, "cancellation_penalty_usd": 1000000},
        "lab-c-training": {"customer": "lab-c", "use": "training", "eligible_skus": ["H100"], "gpus": 200,
                           "start": "2026Q3", "term_quarters": 4, "price_usd_per_gpu_hour": 2.30,
                           "signed": True, "delay_allowance_quarters": 0, "cancellation_penalty_usd": 500000},
        "lab-b-inference": {"customer": "lab-b", "use": "inference", "eligible_skus": ["B200"], "gpus": 400,
                            "start": "2027Q1", "term_quarters": 2, "price_usd_per_gpu_hour": 2.00,
                            "signed": True},
    },
    "finance": {
        "opening_cash_usd": 36000000, "min_cash_usd": 10000000, "default_cash_usd": 2000000,
        "reference_rate_annual": 0.036, "overhead_usd_per_quarter": 100000, "tax_rate": 0.0,
        "facilities": {"gpu-term-loan": {"size_usd": 2000000, "opening_balance_usd": 2000000,
                                         "fixed_rate_annual": 0.08, "amortization_quarters": 20,
                                         "draw_from": "2026Q3", "draw_until": "2026Q3"}},
    },
    "redeployment": {"cost_per_gpu_usd": 1500},
    "retirement": {"resale": True, "selling_cost_fraction": 0.05},
    "policy": {"sale_block_gpus": 40},
    # contracted_probability > 0 so that a scenario's step_delay is read (docs: `late_capacity_steps`)
    "risk": {"power_delay": {"probability": 0, "max_extra_quarters": 2, "contracted_probability": 0.1}},
}  # fmt: skip
PURCHASES = "quarter,sku,site,gpus\n2026Q4,B200,texas,600\n"

# --- the model's figures, as a person reads them -------------------------------------------------
T = MODEL["horizon"]["quarters"]
HOURS = 8760 / 4
DF = np.array([(1 + MODEL["horizon"]["discount_rate_annual"]) ** (-(t + 1) / 4) for t in range(T)])
SKUS, SITE, FIN = MODEL["skus"], MODEL["sites"]["texas"], MODEL["finance"]
LOAN = FIN["facilities"]["gpu-term-loan"]
CONTRACTS = MODEL["contracts"]
PRICES = MODEL["market"]["price_usd_per_gpu_hour"]
BILLED = MODEL["market"]["billed_utilization"]
KEPT = 1 - MODEL["retirement"]["selling_cost_fraction"]
H100_HELD, B200_BOUGHT = 1000, 600
OPEN, MIN, DEFAULT = FIN["opening_cash_usd"], FIN["min_cash_usd"], FIN["default_cash_usd"]
DEPOSIT = 0.2  # policy.order_deposit_share's default (docs/model-format.md)
LOT = MODEL["policy"]["sale_block_gpus"]


def mw(sku: str) -> float:
    """MW a GPU draws in service: kW x PUE / 1000 (quarter step 1)."""
    return SKUS[sku]["power_kw_per_gpu"] * SITE["pue"] / 1000


MARKET_H100 = PRICES["training"]["hopper"] * HOURS * BILLED  # quarter step 3: a market GPU-quarter
MARKET_B200 = PRICES["inference"]["blackwell"] * HOURS * BILLED
ELECTRICITY = HOURS * SITE["electricity_price_usd_per_mwh"]  # USD per MW drawn a quarter
OPEX = {s: SKUS[s]["opex_per_gpu_quarter_usd"] for s in SKUS}
B200_PRICE = SKUS["B200"]["capex_per_gpu_usd"]
NET_H100 = KEPT * SKUS["H100"]["resale_fraction_by_age_years"][0] * SKUS["H100"]["capex_per_gpu_usd"]
NET_B200 = KEPT * SKUS["B200"]["resale_fraction_by_age_years"][0] * B200_PRICE


def contract_revenue(name: str) -> float:
    """A contract's quarter: GPUs x price x 2,190 hours (formulation §3, no billed utilisation)."""
    c = CONTRACTS[name]
    return c["gpus"] * c["price_usd_per_gpu_hour"] * HOURS


LAB_A, LAB_C, LAB_B = (contract_revenue(k) for k in ("lab-a-training", "lab-c-training", "lab-b-inference"))

# --- the plan (its decisions, asserted in test_the_plan_is_the_one_priced) -----------------------
B200_MARKET = [0, 600, 200, 200]  # lab-b takes 400 of them from 2027Q1
B200_HELD = [0, 600, 600, 600]
CAPEX = [0.0, B200_BOUGHT * B200_PRICE, 0.0, 0.0]
DEBT = [LOAN["opening_balance_usd"] - 100_000 * (t + 1) for t in range(T)]
INTEREST = [LOAN["fixed_rate_annual"] / 4 * d for d in [LOAN["opening_balance_usd"], *DEBT[:-1]]]
PRINCIPAL = LOAN["opening_balance_usd"] / LOAN["amortization_quarters"]
FIXED_COSTS = H100_HELD * OPEX["H100"] + FIN["overhead_usd_per_quarter"]


def forecast_ebitda(t: int) -> float:
    revenue = 400 * MARKET_H100 + B200_MARKET[t] * MARKET_B200 + LAB_A + LAB_C + (LAB_B if t >= 2 else 0)
    drawn = H100_HELD * mw("H100") + B200_HELD[t] * mw("B200")
    return revenue - drawn * ELECTRICITY - FIXED_COSTS - B200_HELD[t] * OPEX["B200"]


EBITDA = [forecast_ebitda(t) for t in range(T)]
CHANGE = [EBITDA[t] - CAPEX[t] - INTEREST[t] - PRINCIPAL for t in range(T)]  # the forecast's change in cash


def end_term(h100_gone: float = 0.0, b200_gone: float = 0.0) -> float:
    """The end term ("One scenario's path"): the GPUs held at the end, net resale value, less debt."""
    return (H100_HELD - h100_gone) * NET_H100 + (B200_BOUGHT - b200_gone) * NET_B200 - DEBT[-1]


def cash_path(ebitda, capex, sales=(0.0,) * T) -> np.ndarray:
    """Quarter step 5 without tax, revolver or draws: cash moves by EBITDA - capex - interest -
    principal + distress-sale proceeds."""
    flows = [ebitda[t] - capex[t] - INTEREST[t] - PRINCIPAL + sales[t] for t in range(T)]
    return OPEN + np.cumsum(flows)


def npv(cash: np.ndarray, end: float) -> float:
    """The NPV ("The NPV"): sum_t DF_t (C_t - C_{t-1}) + DF_{T-1} E."""
    return float(DF @ np.diff(np.concatenate([[OPEN], cash])) + DF[-1] * end)


def b200_market_earns(gpus: float) -> float:
    """What B200 market GPUs earn a quarter: revenue less their electricity (policy rule 0's `saving`)."""
    return gpus * (MARKET_B200 - mw("B200") * ELECTRICITY)


def deferred_share(cash_0: float) -> float:
    """Policy rule 0 in 2026Q4: the projection is the cash at the end of 2026Q3 plus the plan's own
    forecast change in cash; the deferrable part is the 200 B200 no later contract needs (600 held,
    400 on lab-b from 2027Q1); `saving` is their price less what they earn: 200 / 600 of the B200
    market GPUs' earnings less 200 / 600 of the B200 opex."""
    gap = MIN - (cash_0 + CHANGE[1])
    saving = 200 * B200_PRICE - (b200_market_earns(600) - 600 * OPEX["B200"]) / 3
    return gap / saving


def hand_p() -> tuple[np.ndarray, float]:
    """P: the step of 1.35 MW due in 2026Q4, 2 quarters late."""
    online = H100_HELD * mw("H100")
    inference_share = (online - 600 * mw("H100")) / (600 * mw("B200"))  # contracts first, then inference
    running_costs = online * ELECTRICITY + FIXED_COSTS + 600 * OPEX["B200"]  # electricity on the MW online
    q1 = LAB_A + LAB_C + 600 * inference_share * MARKET_B200 - running_costs  # training market: no MW left
    contract_share = online / (600 * mw("H100") + 400 * mw("B200"))
    late_a, cancelled_c = CONTRACTS["lab-a-training"], CONTRACTS["lab-c-training"]
    q2 = (
        contract_share * (LAB_A + LAB_B)
        + 200 * contract_share * MARKET_H100  # lab-c's GPUs on the market
        - late_a["delay_penalty_usd_per_quarter"]
        - cancelled_c["cancellation_penalty_usd"]
        - running_costs
    )
    q3 = EBITDA[3] - LAB_C  # lab-c's 200 join the 400 market H100: 600 offered, the demand of 400 sold
    cash = cash_path([EBITDA[0], q1, q2, q3], CAPEX)
    return cash, npv(cash, end_term())


def hand_d() -> tuple[np.ndarray, float, float]:
    """D: the market at half price in 2026Q3 only."""
    q0 = EBITDA[0] - 0.5 * 400 * MARKET_H100
    f = deferred_share(OPEN + q0 - INTEREST[0] - PRINCIPAL)
    gone = 200 * f  # "GPUs taken out": their share of the B200 market's earnings and of the B200 opex
    q1 = EBITDA[1] - gone / 600 * (b200_market_earns(600) - 600 * OPEX["B200"])
    deferred = f * 200 * B200_PRICE
    cash = cash_path([q0, q1, EBITDA[2], EBITDA[3]], [0.0, CAPEX[1] - deferred, deferred, 0.0])
    return cash, npv(cash, end_term()), deferred


def hand_x() -> tuple[np.ndarray, float, float, float, float]:
    """X: the market at nothing in 2026Q3 and at 30 % in 2026Q4: a deferral, then its cancellation."""
    q0 = EBITDA[0] - 400 * MARKET_H100
    cash_0 = OPEN + q0 - INTEREST[0] - PRINCIPAL
    f = deferred_share(cash_0)
    gone = 200 * f
    market_left = 400 * MARKET_H100 + (600 - gone) * MARKET_B200
    q1 = EBITDA[1] - gone / 600 * (b200_market_earns(600) - 600 * OPEX["B200"]) - 0.7 * market_left
    due = f * 200 * B200_PRICE
    cash_1 = cash_0 + q1 - (CAPEX[1] - due) - INTEREST[1] - PRINCIPAL
    assert cash_1 > DEFAULT  # no distress sale
    gap = MIN - (cash_1 + CHANGE[2] - due)
    # the whole deferred order's GPUs are all of 2027Q1's 200 B200 market GPUs, 200 / 600 of those held
    earned = f * (b200_market_earns(200) - 200 * OPEX["B200"])
    saving = due - DEPOSIT * due - earned
    assert gone * NET_B200 >= saving and gap < MIN - DEFAULT  # "Cancel or sell": the same c here
    c = min(1.0, gap / saving)
    cancelled = c * gone  # missing from 2027Q1 on: cancelled / 200 of the B200 market, / 600 of the opex
    later = [EBITDA[t] - cancelled / 200 * (b200_market_earns(200) - 200 * OPEX["B200"]) for t in (2, 3)]
    paid = (1 - c) * due + c * DEPOSIT * due
    cash = cash_path([q0, q1, *later], [0.0, CAPEX[1] - due, paid, 0.0])
    return cash, npv(cash, end_term(b200_gone=cancelled)), due, c * DEPOSIT * due, cash_1 + CHANGE[2] - due


def hand_c() -> tuple[np.ndarray, float]:
    """C: lab-a defaults in 2027Q1: no revenue, no penalty; its 400 GPUs join the 400 market H100
    against a demand of 400, which sells the same 400 GPU-quarters as before."""
    cash = cash_path([EBITDA[0], EBITDA[1], EBITDA[2] - LAB_A, EBITDA[3] - LAB_A], CAPEX)
    return cash, npv(cash, end_term())


def hand_s() -> tuple[np.ndarray, float, int]:
    """S: lab-a defaults in 2026Q4 and the market pays nothing then; no order is deferred (the
    projection reads 2026Q3's cash, the forecast's). Below the default level, policy rule 4 sells
    H100 (Hopper first) in lots of 40 at their net resale value; the GPUs sold are missing from
    2027Q1: 80 / 400 of the market H100's electricity and 80 / 1,000 of the H100 opex saved, the
    market's revenue unchanged (lab-a's 400 with the 320 left still fill the demand of 400)."""
    q1 = EBITDA[1] - LAB_A - 400 * MARKET_H100 - 600 * MARKET_B200
    cash_1 = OPEN + EBITDA[0] + q1 - CAPEX[1] - sum(INTEREST[:2]) - 2 * PRINCIPAL
    lots = math.ceil((DEFAULT - cash_1) / (LOT * NET_H100))
    sold = lots * LOT
    later = [EBITDA[t] - LAB_A + sold * (mw("H100") * ELECTRICITY + OPEX["H100"]) for t in (2, 3)]
    cash = cash_path([EBITDA[0], q1, *later], CAPEX, (0.0, sold * NET_H100, 0.0, 0.0))
    return cash, npv(cash, end_term(h100_gone=sold)), sold


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """The plan: `fleetopt solve MODEL --purchases` (docs/cli.md, "Your own purchases")."""
    folder = tmp_path_factory.mktemp("evaluation_hand")
    model, orders = folder / "tinyhand.yaml", folder / "orders.csv"
    model.write_text(yaml.safe_dump(MODEL, sort_keys=False), encoding="utf-8")
    orders.write_text(PURCHASES, encoding="utf-8")
    code, out, err = run_cli("solve", str(model), "--purchases", str(orders), "--out", str(folder / "run"))
    assert code == 0, out + err
    return folder


@pytest.fixture(scope="module")
def simulated(solved):
    """The five scenarios, built and simulated as "One scenario by hand" says."""
    _, data = load(solved / "run" / "model.yaml")
    plans, labels, _ = load_plans(solved / "run" / "plan.npz", data)
    scen = deterministic_scenarios(data, 5)
    lab_a, texas, q1 = 0, 0, 1  # the model file's first contract and first site
    scen.step_delay[0, texas, q1] = 2
    scen.price_factor[1, :, 0] = 0.5
    scen.price_factor[2, :, 0] = 0.0
    scen.price_factor[2, :, 1] = 0.3
    scen.contract_alive[3, lab_a, 2:] = 0
    scen.contract_alive[4, lab_a, 1:] = 0
    scen.price_factor[4, :, 1] = 0.0
    out = simulate(SimulationConstants.from_data(data), compile_plans(data, plans, labels), scen,
                   record=("cash_usd", "debt_usd", "ebitda_usd"))  # fmt: skip
    return {k: v[0] for k, v in out.items()}


def test_the_plan_is_the_one_priced(solved):
    statements = pd.read_csv(solved / "run" / "statements.csv")
    np.testing.assert_allclose(statements["ebitda_usd"], EBITDA, rtol=1e-9)
    np.testing.assert_allclose(statements["cash_usd"], OPEN + np.cumsum(CHANGE), rtol=1e-9)
    np.testing.assert_allclose(statements["debt_usd"], DEBT, rtol=1e-9)
    plan = pd.read_csv(solved / "run" / "plan.csv")
    served = plan[plan["decision"] == "serve_contract"].groupby(["quarter", "item"])["value"].sum()
    assert served.to_dict() == pytest.approx(
        {(q, k): v for q in ("2026Q3", "2026Q4", "2027Q1", "2027Q2")
         for k, v in (("lab-a-training", 400), ("lab-c-training", 200), ("lab-b-inference", 400))
         if k != "lab-b-inference" or q >= "2027Q1"})  # fmt: skip
    assert set(plan["decision"]) == {"contract_accepted", "in_service", "serve_contract", "buy", "buy_gpus"}


def test_each_scenario_s_cash_debt_and_npv_are_the_hand_figures(simulated):
    hands = [hand_p(), hand_d(), hand_x(), hand_c(), hand_s()]
    for s, (cash, value, *_) in enumerate(hands):
        np.testing.assert_allclose(simulated["cash_usd"][s], cash, rtol=1e-9, err_msg=f"scenario {s}")
        np.testing.assert_allclose(simulated["npv"][s], value, rtol=1e-9, err_msg=f"scenario {s}")
        np.testing.assert_allclose(simulated["debt_usd"][s], DEBT, rtol=1e-12)
    assert [round(h[1], 2) for h in hands] == [14_736_274.50, 23_063_165.72, 17_406_196.05,
                                               20_373_626.51, 12_133_231.72]  # fmt: skip
    assert hands[0][0][1] == pytest.approx(6_146_027.50) and hands[1][0][1] == pytest.approx(MIN)
    assert hands[2][0][2] == pytest.approx(MIN) and hands[4][0][1] == pytest.approx(2_527_340.0)


def test_the_reactions_are_counted_where_the_hand_case_has_them(simulated):
    _, _, deferred_d = hand_d()
    _, _, deferred_x, forfeited_x, projected_x = hand_x()
    _, _, sold = hand_s()
    assert projected_x == pytest.approx(9_323_406.78, abs=0.01) and sold == 80
    flags = ("rescheduled", "cancelled", "freed", "deferred", "order_cancelled", "sold")
    want = {  # P, D, X, C, S
        "rescheduled": [1, 0, 0, 0, 0], "cancelled": [1, 0, 0, 0, 0], "freed": [1, 0, 0, 1, 1],
        "deferred": [0, 1, 1, 0, 0], "order_cancelled": [0, 0, 1, 0, 0], "sold": [0, 0, 0, 0, 1],
    }  # fmt: skip
    assert {k: simulated[k].tolist() for k in flags} == want
    np.testing.assert_allclose(simulated["deferred_usd"], [0, deferred_d, deferred_x, 0, 0], rtol=1e-9)
    np.testing.assert_allclose(simulated["forfeited_usd"], [0, 0, forfeited_x, 0, 0], rtol=1e-9)
    np.testing.assert_allclose(simulated["distress_sold_usd"], [0, 0, 0, 0, sold * NET_H100], rtol=1e-12)
    assert not simulated["default"].any()


def test_the_customer_default_through_the_terminal(solved):
    """Scenario C as every future of `fleetopt evaluate --set risk.customer_default_quarter=...` with
    no other risk: metrics.csv's NPV and shares, utilisation (GPUs rented / held: 1, 1, then 1,200 of
    1,600 twice) and demand served (400, 2,500, 1,100, 1,100 of 3,400 a quarter), and path.json's
    end term (`fleet_sale_proceeds_usd`, net of the selling cost)."""
    out = solved / "evaluation"
    code, text, err = run_cli(
        "evaluate", "--plans", str(solved / "run"), "--scenarios", "2", "--seed", "1", "--out", str(out),
        "--set", "risk.customer_default_quarter={lab-a: 2027Q1}",
        "--set", "risk.customer_default_hazard_per_quarter=0", "--explain", "0")  # fmt: skip
    assert code == 0, text + err
    metrics = pd.read_csv(out / "metrics.csv", comment="#").iloc[0]
    cash, value = hand_c()
    assert metrics["npv_mean_usd"] == pytest.approx(value, rel=1e-9)
    assert metrics["freed_share"] == 1.0 and metrics["rescheduled_share"] == 0.0
    assert metrics["mean_utilisation"] == pytest.approx((1 + 1 + 0.75 + 0.75) / 4)
    assert metrics["demand_served_share"] == pytest.approx((400 + 2500 + 1100 + 1100) / (4 * 3400))
    path = json.loads((out / "path.json").read_text(encoding="utf-8"))
    assert path["end_term"]["fleet_sale_proceeds_usd"] == pytest.approx(end_term() + DEBT[-1], rel=1e-12)
    np.testing.assert_allclose(pd.read_csv(out / "path.csv")["cash_usd"], cash, rtol=1e-12)

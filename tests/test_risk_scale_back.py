"""A customer keeping only part of a contract from a quarter on (`risk.contract_scale_back`,
fleetopt/evaluate/factors.py `draw_contract_kept_share`, docs/evaluation.md): the contract earns on the
share kept, the GPUs cut go to the market as a defaulted customer's do, and the customer pays the
contract's termination share on the part it cut.

The hand case is test_doc_cases.py's model ``hand`` (its docstring works the forecast out) with a
training demand of 340: the plan is the same (300 GPUs on the market, all sold; lab-a's 100 GPUs on a
$2.20 contract, 481,800 a quarter, in 2026Q1-Q4). lab-a keeps 60 % from 2026Q3 in every scenario: the
contract earns 0.6 x 481,800 = 289,080 a quarter, its 40 GPUs cut join the market's 300, all 340
within the demand at 5,256 a GPU-quarter (+210,240): EBITDA 1,403,850 - 192,720 + 210,240 =
1,421,370 in 2026Q3-Q4, tax 20 % of 17,520 more (+3,504), cash +14,016 in 2026Q3 and +28,032 by
2026Q4. At the demand of 300 the market is full: the 40 GPUs sell nothing more (each of the 340 sells
300 / 340), and EBITDA falls by 192,720.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from evaluate_builders import ALL_RISK, batch, plan_variants, tiny_model, with_risk
from milp_builders import base_model, data_of
from test_doc_cases import hand_model, simulated
from test_kernel_cpu import assert_agree

from fleetopt import api
from fleetopt.core.results.customers import _credit_words
from fleetopt.evaluate.backend import c_compiler
from fleetopt.evaluate.factors import Stream, uniforms
from fleetopt.evaluate.kernel.cpu import CpuKernel
from fleetopt.evaluate.path import scenario_path
from fleetopt.evaluate.risk_words import risk_words
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants
from fleetopt.milp.solve import solve
from fleetopt.milp.stochastic.extensive_form import build_extensive_form
from fleetopt.milp.stochastic.first_stage import FirstStage
from fleetopt.milp.stochastic.scenarios import ScenarioInputs
from fleetopt.schema.issues import ModelError
from fleetopt.stochastic.screening import scenario_inputs

CASH = [8_041_080.0, 8_804_160.0, 9_575_240.0, 10_354_320.0]  # test_doc_cases.py's forecast


def hand_cut(demand: float = 340, **cut) -> dict:
    d = hand_model()
    d["market"]["demand_gpus"]["training"] = demand
    cut = {"share_kept": 0.6, "from_quarter": "2026Q3", **cut}
    d["risk"] = {"contract_scale_back": {"lab-a-training": cut}}
    return d


@pytest.fixture(scope="module")
def hand_plan():
    return solve(data_of(hand_model()), mip_gap=0.0).plan


def test_the_contract_earns_on_the_share_kept_and_the_gpus_cut_sell_within_demand(hand_plan):
    data = data_of(hand_cut())
    scen = generate_scenarios(data, 7, 0, 20)
    np.testing.assert_array_equal(scen.contract_kept_share[:, 0, :], [[1.0, 1.0, 0.6, 0.6]] * 20)
    assert scen.contract_alive.all()
    out = simulated(data, hand_plan, scen.rows(slice(0, 1)))
    assert out["ebitda_usd"] == pytest.approx([1_403_850.0] * 2 + [1_421_370.0] * 2, abs=0.01)
    assert out["tax_usd"] == pytest.approx([72_770.0, 65_770.0, 71_274.0, 73_274.0], abs=0.01)
    assert out["cash_usd"] == pytest.approx(np.add(CASH, [0, 0, 14_016.0, 28_032.0]), abs=0.01)


def test_a_scenario_s_path_says_when_the_customer_cut_its_contract(hand_plan):
    """--explain and the report's "One scenario's path" gave no cause for contracted revenue falling by
    40 %: the quarter of the cut says it, with the GPUs cut (0.4 x 100) and the termination payment on
    them (0.5 x 0.4 x 481,800 x 2 quarters left = 192,720); no other quarter says anything."""
    d = hand_cut()
    d["contracts"]["lab-a-training"]["termination_payment_share"] = 0.5
    data = data_of(d)
    path = scenario_path(data, batch(data, [hand_plan]), 7, 0)
    assert list(path.frame["risk_events"]) == [
        "", "", "customer lab-a keeps 60% of contract lab-a-training (40 GPUs cut, termination payment "
        "$192.7k), the GPUs cut offered on the market", ""]


def test_in_a_full_market_the_gpus_cut_earn_nothing(hand_plan):
    data = data_of(hand_cut(demand=300))
    out = simulated(data, hand_plan, generate_scenarios(data, 7, 0, 1))
    assert out["ebitda_usd"] == pytest.approx([1_403_850.0] * 2 + [1_211_130.0] * 2, abs=0.01)


def test_the_customer_pays_the_termination_share_on_the_part_cut(hand_plan):
    """termination_payment_share 0.5: at the cut, 0.5 x (1 - 0.6) x 481,800 x 2 quarters left = 192,720
    in cash in 2026Q3, not income (EBITDA and tax as without it)."""
    plain, paid = hand_cut(), hand_cut()
    paid["contracts"]["lab-a-training"]["termination_payment_share"] = 0.5
    got = [simulated(data_of(d), hand_plan, generate_scenarios(data_of(d), 7, 0, 1)) for d in (plain, paid)]
    assert got[1]["ebitda_usd"] == pytest.approx(got[0]["ebitda_usd"], abs=1e-6)
    assert got[1]["cash_usd"] - got[0]["cash_usd"] == pytest.approx([0, 0, 192_720.0, 192_720.0], abs=0.01)


def test_the_cut_comes_in_the_scenarios_its_own_stream_draws():
    data = data_of(hand_cut(probability=0.3))
    idx = np.arange(400)
    comes = uniforms(7, idx, (Stream.SCALE_BACK, 0), 1)[:, 0] < 0.3
    assert 80 < comes.sum() < 160
    kept = generate_scenarios(data, 7, 0, 400).contract_kept_share[:, 0, :]
    np.testing.assert_array_equal(kept[:, 2:], np.where(comes, 0.6, 1.0)[:, None] * np.ones((1, 2)))
    np.testing.assert_array_equal(kept[:, :2], 1.0)


# sha256 of every other factor's arrays (tiny and twosite, seed 12345, 300 scenarios): 0.4.40's,
# drawn before the field existed; the field changes none of them
DIGESTS = {"tiny": "16a3dada79c60186", "twosite": "870f2234b548a07d"}


@pytest.mark.parametrize("name", sorted(DIGESTS))
@pytest.mark.parametrize("with_cut", [False, True])
def test_every_other_factor_is_drawn_as_without_it_bit_for_bit(name, with_cut):
    _, data = api.load(name)
    if with_cut:
        cut = {data.contracts[0].name: {"share_kept": 0.6, "from_quarter": data.quarter_labels[2],
                                        "probability": 0.3}}  # fmt: skip
        _, data = api.load(api.edit(name, {"risk.contract_scale_back": cut}))
    scen = generate_scenarios(data, 12345, 0, 300)
    drawn = hashlib.sha256()
    for factor, values in scen.factors.items():
        if factor != "contract_kept_share":
            drawn.update(factor.encode())
            drawn.update(np.ascontiguousarray(values).tobytes())
    assert drawn.hexdigest()[:16] == DIGESTS[name]
    assert scen.contract_kept_share.shape == (300, len(data.contracts) if with_cut else 0, data.T)


@pytest.mark.skipif(c_compiler() is None, reason="no C compiler: the kernel's C build cannot be made")
@pytest.mark.parametrize("gpu_code", [False, True], ids=["c", "gpu-code"])
def test_the_kernel_agrees_with_numpy_with_defaults_payments_and_late_power(gpu_code):
    """tiny under every risk factor (defaults, late power: short quarters), both contracts cut with a
    chance, prepayments and termination payments: both builds of the kernel give NumPy's to 1e-12."""
    cut = {"lab-a-training": {"share_kept": 0.6, "from_quarter": "2026Q4", "probability": 0.5},
           "enterprise-inference": {"share_kept": 0.3, "from_quarter": "2027Q2", "probability": 0.7}}
    d = with_risk(tiny_model(), **ALL_RISK, contract_scale_back=cut)
    for contract in d["contracts"].values():
        contract.update(prepayment_share=0.25, termination_payment_share=0.5)
    data = data_of(d)
    plan = solve(data, mip_gap=1e-6).plan
    plans = batch(data, plan_variants(data, plan)[0])
    kernel = CpuKernel(threads=1, gpu_code=gpu_code)
    assert_agree(SimulationConstants.from_data(data), plans, generate_scenarios(data, 5, 0, 200), kernel)


@pytest.mark.parametrize("cut, said", [
    ({"nobody": {"share_kept": 0.6, "from_quarter": "2026Q3"}},
     r"risk\.contract_scale_back\.nobody: unknown contract 'nobody' \(contracts: lab-a-training\)"),
    ({"lab-a": {"share_kept": 0.6, "from_quarter": "2026Q3"}},
     r"risk\.contract_scale_back\.lab-a: unknown contract 'lab-a' .*: lab-a is a customer, whose contracts "
     r"are lab-a-training"),
    ({"lab-a-training": {"share_kept": 0.6, "from_quarter": "2027Q1"}},
     r"risk\.contract_scale_back\.lab-a-training\.from_quarter: quarter 2027Q1 is outside the horizon "
     r"2026Q1\.\.2026Q4"),
    ({"lab-a-training": {"share_kept": 1.5, "from_quarter": "2026Q3"}},
     r"risk\.contract_scale_back\.lab-a-training\.share_kept"),
    ({"lab-a-training": {"share_kept": -0.1, "from_quarter": "2026Q3"}},
     r"risk\.contract_scale_back\.lab-a-training\.share_kept"),
    ({"lab-a-training": {"share_kept": 0.6}},
     r"risk\.contract_scale_back\.lab-a-training\.from_quarter"),
])  # fmt: skip
def test_a_bad_cut_is_refused_by_name(cut, said):
    d = hand_model()
    d["risk"] = {"contract_scale_back": cut}
    with pytest.raises(ModelError, match=said):
        data_of(d)


def test_the_terminal_and_the_customer_words_say_the_cut():
    data = data_of(hand_cut(probability=0.3))
    assert risk_words(data) == "contracts scaled back (lab-a-training to 60% from 2026Q3 (chance 30%))"
    assert _credit_words(data, "lab-a") == " (keeps 60% of lab-a-training from 2026Q3 in 30% of scenarios)"
    certain = data_of(hand_cut())
    assert risk_words(certain) == (
        "contracts scaled back (lab-a-training to 60% from 2026Q3 (in every future))")
    assert _credit_words(certain, "lab-a") == " (keeps 60% of lab-a-training from 2026Q3 in every scenario)"


def test_a_scenario_copy_takes_the_share_taken_as_its_contract_alive():
    data = data_of(hand_cut(probability=0.3))
    scen = generate_scenarios(data, 7, 0, 400)
    comes = uniforms(7, scen.index, (Stream.SCALE_BACK, 0), 1)[:, 0] < 0.3
    cut, whole = int(np.flatnonzero(comes)[0]), int(np.flatnonzero(~comes)[0])
    copies = scenario_inputs(data, scen, [cut, whole], [0.5, 0.5])
    np.testing.assert_array_equal(copies[0].contract_alive, [[1.0, 1.0, 0.6, 0.6]])
    np.testing.assert_array_equal(copies[1].contract_alive, [[1.0, 1.0, 1.0, 1.0]])


@pytest.mark.parametrize("market, npv", [(0.0, 2_675.0), (0.4, 3_351.0)])
def test_a_scenario_copy_holds_the_contract_to_its_share_and_uses_the_gpus_cut(market, npv):
    """docs/formulation.md §7b, "A contract scaled back": test_stochastic.py's two-quarter offer of 1
    inference GPU at $1/h (V = 2,190 a quarter; 25 % prepaid: 1,642.5 in quarter 0, -547.5 a quarter
    after; termination share 0.5; Def 2 x 547.5 = 1,095 at the end), the GPU $4,000 (a sale at the start
    of quarter 1 keeps 1,500, held to the end 1,000), its one copy keeping 0.6 from quarter 1. The copy
    delivers 0.6 GPU in quarter 1 (1,314), unwinds 0.6 x 547.5, is paid 0.4 x 0.5 x 2,190 x 3 = 1,314
    at the cut and deducts 0.6 x 1,095: with no market it sells the 0.4 GPU cut (600 against 400 held):
    -4,000 + 2,190 + 1,314 + 1,642.5 - 328.5 + 1,314 + 600 + 600 - 657 = 2,675; with a demand of 0.4
    GPU in quarter 1 it rents it there (0.4 x 2,190 = 876) and holds it: 3,351."""
    d = base_model()
    d["horizon"]["quarters"] = 2
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": [0.0, market]}
    offer = {"customer": "c", "use": "inference", "eligible_skus": ["A"], "gpus": 1, "start": "2026Q1",
             "term_quarters": 4, "price_usd_per_gpu_hour": 1.0, "signed": False}  # fmt: skip
    d["contracts"] = {"k": {**offer, "prepayment_share": 0.25, "termination_payment_share": 0.5}}
    with pytest.warns(UserWarning, match="fall after the horizon"):
        data = data_of(d)
    kept = ScenarioInputs("cut", 1.0, contract_alive=np.array([[1.0, 0.6]]))
    ef = build_extensive_form(data, [kept], FirstStage(1))
    rp = ef.solve(1e-9, None, None)
    assert rp.status == "optimal" and not rp.scenarios[0]["rescued"]
    assert rp.objective_usd == pytest.approx(npv, abs=1e-4)
    copy = ef.block(0)
    assert [copy.serve[key].value for key in sorted(copy.serve)] == pytest.approx([1.0, 0.6], abs=1e-9)
    assert (copy.retire_in[0, 1].value or 0.0) == pytest.approx(0.4 if market == 0 else 0.0, abs=1e-9)

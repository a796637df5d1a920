"""The C build of the fused kernel (`CpuKernel`, the `cpu-kernel` backend) against the NumPy reference.

Every bundled model (its MILP plan and variants, under its own `risk` block and with every risk
factor on) and every hand-made test model: the C build must agree with `simulate` to 1e-12
relative, pair by pair, and the `cpu-kernel` backend must give NumPy's metrics. Skipped only where
no C compiler exists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from evaluate_builders import (
    ALL_RISK,
    MODELS,
    batch,
    deferred_order_model,
    plan_variants,
    rel_err,
    solved,
    tiny_model,
    with_idle_gpus,
    with_risk,
)
from milp_builders import base_model, data_of

from fleetopt import api
from fleetopt.errors import FleetoptWarning
from fleetopt.evaluate.backend import c_compiler, resolve_backend
from fleetopt.evaluate.batch import PlanFileError
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.factors import slipping_skus
from fleetopt.evaluate.kernel.cpu import CpuKernel, cpu_kernel
from fleetopt.evaluate.kernel.plan_tables import plan_tables
from fleetopt.evaluate.kernel.shape import KernelShape, kernel_fits
from fleetopt.evaluate.result_fields import RESULT_FIELDS
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.evaluate.slip import by_slip
from fleetopt.milp.solve import solve
from fleetopt.schema.model_file import bundled_model_path
from fleetopt.schema.policy import Policy

pytestmark = pytest.mark.skipif(
    c_compiler() is None, reason="no C compiler: the kernel's C build cannot be made"
)

BUNDLED = ["tiny", "lab", "neocloud"]
MILP_PLANS: dict = {}  # each bundled model's MILP plan, kept by the `bundled` fixture


def assert_agree(consts, plans, scen, kernel=None, want=None) -> dict:
    """The C build (``kernel``, or the one-thread build) against NumPy's ``want`` for the same
    inputs (None: simulated here), pair by pair; NumPy's results returned."""
    want = simulate(consts, plans, scen) if want is None else want
    got = (kernel or cpu_kernel(1)).simulate(consts, plans, scen)
    for field in RESULT_FIELDS:
        assert got[field].shape == (plans.P, scen.S)
        if want[field].dtype == bool:
            np.testing.assert_array_equal(got[field], want[field], err_msg=field)
        else:
            assert rel_err(got[field], want[field]) <= 1e-12, field
    return want


@pytest.fixture(scope="module", params=BUNDLED)
def bundled(request):
    """A bundled model's data and a batch of five plans around its MILP plan (a loose gap: any
    plan serves, the kernel and NumPy simulate the same one)."""
    name = request.param
    # the default model's: the session's, shared with the other tests that need one (a solve: 20-40 s)
    shared = name == "neocloud"
    result = request.getfixturevalue("neocloud_solved") if shared else api.solve(name, mip_gap=0.05)
    plans, labels = plan_variants(result.data, result.plan)
    MILP_PLANS[name] = result.plan
    return name, result.data, batch(result.data, plans, labels)


def test_every_bundled_model_under_its_own_risk(bundled):
    _, data, plans = bundled
    consts = SimulationConstants.from_data(data)
    assert_agree(consts, plans, generate_scenarios(data, 5, 0, 300))


def test_every_bundled_model_with_every_risk_factor_on(bundled):
    name, data, plans = bundled
    d = yaml.safe_load(bundled_model_path(name).read_text(encoding="utf-8"))
    risky = data_of(with_risk(d, **ALL_RISK))
    assert KernelShape.of(SimulationConstants.from_data(risky), plans).T == data.T
    want = assert_agree(SimulationConstants.from_data(risky), plans, generate_scenarios(risky, 6, 0, 300))
    assert np.ptp(want["npv"][0]) > 0


def test_every_bundled_model_with_its_deliveries_slipping(bundled):
    """risk.delivery_slip on (half the scenarios 1-3 quarters late) with every other factor: each
    scenario runs on the plans as its slip leaves them, in the C build as in NumPy (to 1e-12, pair by
    pair), and the cpu-kernel backend gives NumPy's metrics, the share of slipped scenarios included.
    The slips move results wherever the model has an SKU still to ship (lab, neocloud: Rubin)."""
    name, _, _ = bundled
    d = yaml.safe_load(bundled_model_path(name).read_text(encoding="utf-8"))
    risky = data_of(with_risk(d, **ALL_RISK, delivery_slip={"probability": 0.5, "max_quarters": 3}))
    plans = batch(risky, *plan_variants(risky, MILP_PLANS[name]))
    if not slipping_skus(risky):
        assert name == "tiny" and not plans.slipped  # every SKU of tiny ships at the start
        return
    consts, scen = SimulationConstants.from_data(risky), generate_scenarios(risky, 6, 0, 300)
    want = by_slip(lambda p, s, _slip: simulate(consts, p, s), plans, scen)
    got = by_slip(lambda p, s, _slip: cpu_kernel(1).simulate(consts, p, s), plans, scen)
    for field in RESULT_FIELDS:
        assert rel_err(got[field], want[field]) <= 1e-12, field
    assert (want["npv"] != simulate(consts, plans, scen)["npv"]).any()
    numpy = evaluate(risky, plans, 60, seed=2, backend="numpy", keep_matrix=True)
    kernel = evaluate(risky, plans, 60, seed=2, backend="cpu-kernel", keep_matrix=True, scenario_chunk=25)
    assert kernel.kernel and rel_err(kernel.npv_matrix, numpy.npv_matrix) <= 1e-12
    pd.testing.assert_frame_equal(kernel.metrics, numpy.metrics, check_exact=False, rtol=1e-12, atol=1e-6)
    assert 0 < numpy.metrics["slipped_share"].iloc[0] < 1


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("period", [None, "trailing_four_quarters"])
def test_every_test_model(name, period):
    d = MODELS[name]()
    d = d if name == "tiny" else with_risk(d, **ALL_RISK)
    if period and d["finance"].get("covenants"):
        d["finance"]["covenants"]["ebitda_period"] = period
    data = data_of(d)
    plans, labels = plan_variants(data, solved(name).plan)
    assert_agree(
        SimulationConstants.from_data(data), batch(data, plans, labels), generate_scenarios(data, 3, 0, 257)
    )


def test_the_plan_tables_are_made_once_and_reused(bundled):
    _, data, plans = bundled
    consts = SimulationConstants.from_data(data)
    scen = generate_scenarios(data, 1, 0, 40)
    tables = plan_tables(consts, plans)
    kernel = cpu_kernel(1)
    whole = kernel.simulate(consts, plans, scen, tables)
    for cut in (slice(0, 13), slice(13, 40)):  # scenario blocks of one chunk share the tables
        got = kernel.simulate(consts, plans, scen.rows(cut), tables)
        np.testing.assert_array_equal(got["npv"], whole["npv"][:, cut])


def test_the_cpu_kernel_backend_gives_numpys_metrics():
    d = with_risk(MODELS["two_sites"](), **ALL_RISK)
    data = data_of(d)
    plans, labels = plan_variants(data, solved("two_sites").plan)
    plans_b = batch(data, plans, labels)
    be = resolve_backend("cpu-kernel", threads=2)
    assert be.name == "cpu-kernel" and "fused kernel" in be.device
    got = evaluate(data, plans_b, 300, seed=3, backend=be, keep_matrix=True, plan_chunk=2, scenario_chunk=128)
    want = evaluate(data, plans_b, 300, seed=3, backend="numpy", keep_matrix=True)
    assert got.kernel and got.backend == "cpu-kernel"
    assert rel_err(got.npv_matrix, want.npv_matrix) <= 1e-12
    pd.testing.assert_frame_equal(got.metrics, want.metrics, check_exact=False, rtol=1e-12, atol=1e-6)
    # quarterly paths need the array code: the backend runs it for them
    paths = evaluate(data, plans_b, 4, seed=3, backend=be, record=("cash_usd",))
    assert not paths.kernel and paths.paths["cash_usd"].shape == (plans_b.P, 4, data.T)


def test_a_cc_that_is_not_on_path_is_refused_not_replaced(monkeypatch):
    """$CC names the compiler the user wants: one that is not there is an error, not cc silently;
    one with arguments is taken as make takes it."""
    from fleetopt.evaluate.backend import BackendError, resolve_backend

    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(BackendError, match=r"\$CC is '/nonexistent/cc', whose command is not on PATH"):
        resolve_backend("cpu-kernel")
    monkeypatch.setenv("CC", 'gcc "')  # an unbalanced quote was a traceback (shlex's ValueError)
    with pytest.raises(BackendError, match=r"\$CC is 'gcc \"', whose command is not on PATH \(or is not a"):
        resolve_backend("cpu-kernel")
    monkeypatch.setenv("CC", f"env {c_compiler_default()}")  # a command with arguments, as make takes $CC
    assert resolve_backend("cpu-kernel").name == "cpu-kernel"


def c_compiler_default() -> str:
    import shutil

    return next(name for name in ("cc", "gcc", "clang") if shutil.which(name))


@pytest.fixture(scope="module")
def gpu_code():
    """The C build compiled with the GPU's code paths (FO_GPU_CODE: the scenario quarter loaded
    once per thread, the GPU's branches), so that they are checked here, without a GPU."""
    return CpuKernel(threads=1, gpu_code=True)


def test_the_gpu_code_paths_agree_with_numpy_on_every_bundled_model(bundled, gpu_code):
    name, _, plans = bundled
    d = yaml.safe_load(bundled_model_path(name).read_text(encoding="utf-8"))
    risky = data_of(with_risk(d, **ALL_RISK))
    assert_agree(SimulationConstants.from_data(risky), plans, generate_scenarios(risky, 6, 0, 300), gpu_code)


def test_the_demand_served_is_numpys_to_the_bit(bundled, gpu_code):
    """Each pair's market demand served is added use by use, quarter by quarter, in NumPy and in
    both builds of the kernel: the same bits (NumPy once summed the two uses first: 9e-16 apart)."""
    name, _, plans = bundled
    d = yaml.safe_load(bundled_model_path(name).read_text(encoding="utf-8"))
    risky = data_of(with_risk(d, **ALL_RISK))
    consts, scen = SimulationConstants.from_data(risky), generate_scenarios(risky, 6, 0, 200)
    want = simulate(consts, plans, scen)["demand_served"]
    assert (want > 0).mean() > 0.5  # most pairs serve some of it
    for kernel in (cpu_kernel(1), gpu_code):
        np.testing.assert_array_equal(kernel.simulate(consts, plans, scen)["demand_served"], want)


@pytest.fixture(scope="module")
def idle_gpus_simulated(bundled):
    """A bundled model with policy rule 5 and every risk factor on (late blocks: short quarters
    too), its plans and a batch of them holding 30 % of their market GPUs idle, and NumPy's results
    for each batch and for the idle batch with the rule off: simulated once for both builds of the
    kernel, which only compare with them."""
    name, data, plans = bundled
    d = yaml.safe_load(bundled_model_path(name).read_text(encoding="utf-8"))
    d["policy"] = {**d.get("policy", {}), "idle_gpus_to_market": True}
    risky = data_of(with_risk(d, **ALL_RISK))
    milp = MILP_PLANS[name]
    half = plan_variants(data, milp)[0][3]
    held = batch(risky, [with_idle_gpus(risky, p) for p in (milp, half)], ["idle_milp", "idle_half"])
    consts, scen = SimulationConstants.from_data(risky), generate_scenarios(risky, 6, 0, 200)
    rule_off = consts.policy.model_copy(update={"idle_gpus_to_market": False})
    simulated = [(batch_, simulate(consts, batch_, scen)) for batch_ in (plans, held)]
    return consts, scen, simulated, simulate(consts.with_policy(rule_off), held, scen)


@pytest.mark.parametrize("code", ["c", "gpu-code"])
def test_idle_gpus_to_market_agrees_with_numpy_on_every_bundled_model(idle_gpus_simulated, gpu_code, code):
    """Policy rule 5 on, every risk factor on (late blocks: short quarters too), the plans with a
    variant holding 30 % of its market GPUs idle: both builds agree with NumPy, and the idle GPUs
    serve demand the plans' market GPUs leave (more demand served than with the rule off)."""
    consts, scen, simulated, off = idle_gpus_simulated
    assert consts.policy.idle_gpus_to_market
    for batch_, numpy_results in simulated:
        want = assert_agree(consts, batch_, scen, gpu_code if code == "gpu-code" else None, numpy_results)
    assert (want["demand_served"] > off["demand_served"] + 1e-6).any()


@pytest.mark.parametrize("discount", [0.0, 0.35])
def test_the_gpu_code_paths_value_distress_sales_at_the_scenario_s_resale(gpu_code, discount):
    """No revolver, volatile resale values: the policy sells GPUs in quarters where the plan sells
    none. The GPU's scenario quarter held the resale factor only for quarters with planned sales
    (1.0 otherwise): its sales were valued at the forecast's resale value (found by a fuzz audit:
    NPV off by up to $9M on tiny). With a distress-sale discount, as NumPy applies it."""
    d = tiny_model()
    d["risk"] = {"resale_value_volatility_annual": 0.6, "price_volatility_annual": 0.5,
                 "demand_volatility_annual": 0.5}  # fmt: skip
    d["finance"]["revolver"]["size_usd"] = 0.0
    d["policy"] = {"defer_orders": False, "cut_prepayments": False, "distress_sale_discount": discount}
    data = data_of(d)
    plans = batch(data, [solve(data, mip_gap=0.01).plan], ["milp"])
    scen = generate_scenarios(data, 0, 0, 500)
    want = assert_agree(SimulationConstants.from_data(data), plans, scen, gpu_code)
    assert want["sold"].sum() > 0
    # pairs that sold what they could and still defaulted: short in later quarters with nothing left
    # to sell (the C build skips the generations with none; the same numbers)
    assert ((want["sold"] > 0) & want["default"]).any()


@pytest.mark.parametrize("max_age_years", [1.6, None])
def test_a_distress_sale_before_the_plan_s_own_sale_cuts_it_alike_in_both_builds(gpu_code, max_age_years):
    """tests/test_doc_cases_age.py's distress cases under volatile prices and resale values: pairs
    sell GPUs in distress before the plan sells its fleet at its maximum age (or the 100 its ended
    contract leaves idle), whose sale then loses only the GPUs the company no longer holds
    (Liquidity.planned_sales_cut): both builds agree with NumPy."""
    from test_doc_cases_age import unlevered

    d = unlevered(1.6, 3)
    if max_age_years is None:
        d["retirement"].pop("max_age_years")
    d["finance"].update(opening_cash_usd=0, min_cash_usd=0)
    d["policy"] = {"sale_block_gpus": 10}
    d["risk"] = {"price_volatility_annual": 0.5, "resale_value_volatility_annual": 0.5}
    data = data_of(d)
    plans = batch(data, [solve(data, mip_gap=0.0).plan], ["milp"])
    scen = generate_scenarios(data, 0, 0, 300)
    scen.price_factor[:, 0, 0] = 0.0  # Hopper earns nothing in 2026Q1: cash short in every pair
    consts = SimulationConstants.from_data(data)
    for kernel in (cpu_kernel(1), gpu_code):
        want = assert_agree(consts, plans, scen, kernel)
    assert ((want["sold"] > 0) & ~want["default"]).any()


def test_an_order_deferred_in_the_quarter_of_the_plan_s_own_sale_agrees_in_both_builds(gpu_code):
    """tests/test_doc_cases_metrics.py's sweep case: the plan sells 300 H100 in the quarter the
    order rule defers part of its 400 H200 (the same generation), and cancels part of it the next
    quarter; the sale is made in full and the GPUs missing after it are those deferred
    (Liquidity.planned_sales_cut): both builds agree with NumPy, and some pairs defer and cancel."""
    data = data_of(deferred_order_model())
    plans = batch(data, [solve(data, mip_gap=0.0).plan], ["milp"])
    assert plans.gen_retired_gpus[0, 0, 1] == pytest.approx(300.0)
    scen = generate_scenarios(data, 0, 0, 100)
    for kernel in (cpu_kernel(1), gpu_code):
        want = assert_agree(SimulationConstants.from_data(data), plans, scen, kernel)
    assert (want["deferred"] > 0).all() and (want["order_cancelled"] > 0).any()


def deferring_scenarios(data):
    """200 scenarios of random prices, resale values and rate shifts whose quarter 0 earns nothing,
    so that every pair defers: the policy's rarely taken paths."""
    scen = deterministic_scenarios(data, 200)
    rng = np.random.default_rng(0)
    ranges = (("price_factor", 0.0, 1.2), ("resale_factor", 0.3, 1.5), ("rate_shift", -0.02, 0.05))
    for name, low, high in ranges:
        scen.factors[name][:] = rng.uniform(low, high, scen.factors[name].shape)
    scen.factors["price_factor"][:, :, 0] = 0.0
    return scen


def cancelled_order_with_cuts() -> tuple:
    """tests/test_policy.py's cancelled order's draws with a GPU-backed loan at a 30 % loan-to-value
    (the borrowing base binds), the plan prepaying 300,000 and 100,000 in quarters 2 and 3, a DSCR and
    leverage covenant: the data, the plan and deferring_scenarios."""
    from test_policy import cancel_model, draw_plan

    d = cancel_model("amortizing")
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_dscr": 1.2, "max_debt_to_ebitda": 3.0}
    d["finance"]["facilities"]["gpu-loan"]["max_ltv"] = 0.3
    data = data_of(d)
    plan = draw_plan(data)
    plan.prepay[0, 2], plan.prepay[0, 3] = 300_000.0, 100_000.0
    return data, plan, deferring_scenarios(data)


def test_a_cancelled_order_s_draws_with_cut_prepayments_and_a_borrowing_base_agree_in_both_builds(gpu_code):
    """tests/test_policy.py's cancelled order's draws (a GPU-backed loan at a 30 % loan-to-value, so
    the borrowing base binds) with the plan prepaying 300,000 and 100,000 in quarters 2 and 3 and a
    DSCR and leverage covenant, under random prices, resale values and rates: pairs that cancel part
    of the order and cut a prepayment in the same run repay the balance never drawn by the plan's
    shares, cut only their own prepayments and release only their own collateral (fo_cut_prepayment
    with forgone_prepaid, the kernel's base_need): both builds agree with NumPy."""
    data, plan, scen = cancelled_order_with_cuts()
    consts = SimulationConstants.from_data(data).with_policy(Policy(liquidity_buffer_usd=1.0e6))
    for kernel in (cpu_kernel(1), gpu_code):
        want = assert_agree(consts, batch(data, [plan]), scen, kernel)
    both = (want["order_cancelled"] > 0) & (want["prepayment_cut"] > 0)
    assert both.any() and (want["breach"] > 0).any()


@pytest.mark.parametrize("allowance", [6, 7])
def test_a_delay_allowance_beyond_the_kernel_s_count_runs_on_the_array_code(allowance):
    """1,000 GPUs on a signed contract with 0.5 MW of the 1 MW they need, late every quarter of
    its 12. The kernel counts late quarters to 7: with an allowance of 6 it cancels the contract in
    the 7th late quarter as NumPy does; with 7 its count could never pass the allowance (found by a
    fuzz audit: never cancelled, +$6.5M NPV), so the cpu-kernel backend must hand the model to the
    array code (`kernel_fits`), and the figures are NumPy's: 7 late quarters x 500 GPUs x
    $2,190 - $4M capex - the $1M penalty = $2.665M."""
    d = base_model()
    d["horizon"]["quarters"] = 12
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 0.0}
    d["contracts"] = {"c": {
        "customer": "x", "use": "training", "eligible_skus": ["A"], "gpus": 1000, "start": "2026Q1",
        "term_quarters": 12, "price_usd_per_gpu_hour": 1.0, "signed": True,
        "cancellation_penalty_usd": 1.0e6, "delay_allowance_quarters": allowance,
    }}  # fmt: skip
    plan = solve(data_of(d), mip_gap=1e-6).plan
    d["sites"]["s1"]["power_capacity_mw"] = 0.5  # half the MW the plan draws
    data = data_of(d)
    plans = batch(data, [plan])
    numpy = evaluate(data, plans, 1, seed=0, backend="numpy", deterministic=True)
    kernel = evaluate(data, plans, 1, seed=0, backend="cpu-kernel", deterministic=True)
    assert kernel.kernel == (allowance < 7)
    pd.testing.assert_frame_equal(kernel.metrics, numpy.metrics, rtol=1e-12)
    if allowance == 7:
        assert numpy.metrics["npv_mean_usd"].iloc[0] == pytest.approx(2_665_000.0, abs=1.0)
        assert numpy.metrics["cancelled_share"].iloc[0] == 1.0


def test_a_covenant_tested_with_gaps_runs_on_the_array_code():
    """The kernel tests a covenant in every quarter from its first tested one to its last; the models'
    tests are so (from finance.covenants.test_from to the end, or to the last quarter its facility
    can owe: covenants.tested_while_owed). A test that skipped a quarter would be
    tested there by the kernel and not by NumPy: `kernel_fits` hands such constants to the array
    code instead."""
    import dataclasses

    from fleetopt.evaluate.kernel.shape import kernel_fits

    data = solved("tiny").data
    consts = SimulationConstants.from_data(data)
    plans = batch(data, [solved("tiny").plan])
    assert kernel_fits(plans, consts) is None
    first = consts.covenants[0]
    gap = first.tested.copy()
    gap[first.first_quarter + 1] = False
    tests = (dataclasses.replace(first, tested=gap), *consts.covenants[1:])
    skipping = dataclasses.replace(consts, covenants=tests)
    assert "tests a covenant in each quarter from its first to its last" in kernel_fits(plans, skipping)


def test_round_off_left_on_a_contract_not_taken_is_not_freed_capacity():
    """HiGHS can leave 3e-12 GPUs on a contract the plan declines. The kernel counted them as a
    contract that ended and freed its GPUs in every pair, NumPy wherever the contract might have
    ended (a fuzz audit: freed_share 1.0 against 0.0 on the forecast). Now they serve the market, as
    any GPU on no contract: the figures are those of the plan without them (freed: only the pairs
    where the contract taken, lab-a-training, ends)."""
    data = data_of(tiny_model())
    plan = solve(data, mip_gap=0.05).plan
    plan.accepted[1] = 0.0  # enterprise-inference not taken ...
    plan.contract_gpus[1] = 0.0
    clean = batch(data, [plan], ["declined"])
    plan.contract_gpus[1, 1, 0, 2:4] = 3e-12  # ... with a MILP's round-off left on it in quarters 2-3
    consts, scen = SimulationConstants.from_data(data), generate_scenarios(data, 0, 0, 50)
    want = assert_agree(consts, batch(data, [plan], ["declined"]), scen)
    np.testing.assert_array_equal(want["freed"], simulate(consts, clean, scen)["freed"])
    assert want["freed"].sum() < scen.S / 2
    plan.contract_gpus[1, 1, 0, 2] = 1.0  # more than round-off: a plan that contradicts itself
    with pytest.raises(PlanFileError, match="puts 1 GPU-quarters on contract 'enterprise-inference'"):
        batch(data, [plan], ["declined"])


def spread_case(first: bool, s1_mw: float):
    """The model, data and plan of the spread case below, with ``s1_mw`` online at s1 from quarter 1."""
    from test_policy import two_generation_model, two_generation_plan

    d = two_generation_model()
    d["skus"]["B"]["available_from"] = "2025Q1"
    d["sites"]["s2"] = {"power_capacity_mw": 10.0, "pue": 1.0, "electricity_price_usd_per_mwh": 50.0}
    d["fleet"] += [
        {"sku": sku, "site": site, "purchased": "2025Q4", "gpus": gpus, "use": "inference",
         "capex_per_gpu_usd": 4000.0}
        for sku, site, gpus in (("B", "s1", 100), ("A", "s2", 300))
    ]
    d["contracts"] = {
        "anchor": {"customer": "big", "use": "training", "eligible_skus": ["A"], "gpus": 100,
                   "start": "2026Q1", "term_quarters": 4, "price_usd_per_gpu_hour": 2.0, "signed": True}
    }  # fmt: skip
    d["sites"]["s1"]["power_capacity_mw"] = s1_mw
    d["policy"]["power_to_contracts_first"] = first
    data = data_of(d)
    a, b = data.sku_names.index("A"), data.sku_names.index("B")
    installed = {(c.sku, c.site): c.index for c in data.cohorts if c.existing}
    assert installed[a, 0] == 0  # the 200 Hopper of two_generation_plan
    plan = two_generation_plan(data)
    plan.held_inference[installed[b, 0], :] = 100.0
    plan.held_inference[installed[a, 1], :] = 300.0
    plan.active[1, b, 0, :] = 100.0
    plan.active[1, a, 1, :] = 300.0
    plan.contract_gpus[0, a, 0, :] = 100.0
    plan.accepted[0] = 1.0
    return d, data, plan


@pytest.mark.parametrize("first", [True, False], ids=["contracts-first", "pro-rata"])
def test_gpus_taken_out_of_a_short_quarter_agree_across_sites_uses_and_generations(gpu_code, first):
    """The policy's case of a generation taken out of a quarter short of power (tests/test_policy.py:
    the whole order of 1,000 Blackwell deferred in quarter 1 while site s1 has 0.6 MW for them and
    200 Hopper), spread over both uses, a contract served first and a second site: s1 also holds
    100 Blackwell on the inference market, s2 (ample power, $50/MWh) 300 Hopper: s1 draws 1.3 MW
    (1 kW a GPU) for its 0.6 MW in quarter 1. The share 1,000 / 1,100 of Blackwell is taken out use
    by use: 10,000 / 11 of its 1,000 on training, 1,000 / 11 of its 100 on inference, 1 MW in all.
    The GPUs left at s1 draw 0.3 MW, so the 0.6 MW power every one of them, in the policy's order:
    the contract's 100 Hopper, 100 / 11 Blackwell on inference, 100 Hopper and 1,000 / 11 Blackwell
    on training; pro rata (without `power_to_contracts_first`) every GPU left gets 0.6 / 0.3, capped
    at 1, all powered again. 100 + 1,100 / 11 GPUs sell at s1 beside s2's 300 (500 in all), and s1
    draws 0.3 MW (300 x 219 USD). (The deferred GPUs' power used to go unused: 0.4 MW for the 1,100
    training GPUs, of which 400 / 11 Hopper and 100 / 11 Blackwell were left.) Both builds of the
    kernel agree with NumPy pair by pair, on the forecast and with every risk factor on."""
    d, data, plan = spread_case(first, 0.6)
    consts = SimulationConstants.from_data(data)
    plans = batch(data, [plan], ["spread"])
    forecast = deterministic_scenarios(data, 1)
    ebitda = simulate(consts, plans, forecast, record=("ebitda_usd",))["ebitda_usd"][0, 0, 1]
    sold, powered = 100 + 1000 / 11 + 100 / 11 + 300, 300  # GPUs: sold; left with power at s1
    market, contract = 2190.0, 2 * 2190.0  # USD per GPU-quarter; electricity 219 at s1, 109.5 at s2
    want = sold * market + 100 * contract - powered * 219.0 - 300 * 109.5
    np.testing.assert_allclose(ebitda, want, rtol=1e-12)
    risky = data_of(with_risk(d, **ALL_RISK))
    for kernel in (None, gpu_code):
        assert assert_agree(consts, plans, forecast, kernel)["deferred"][0, 0] == 1.0
        assert_agree(SimulationConstants.from_data(risky), plans, generate_scenarios(risky, 0, 0, 30), kernel)


@pytest.mark.parametrize("first", [True, False], ids=["contracts-first", "pro-rata"])
def test_gpus_left_still_short_of_power_share_it_by_use_in_both_builds(gpu_code, first):
    """The spread case with 0.2 MW at s1: the GPUs left there (after the 1,000 Blackwell are taken
    out, 10,000 / 11 on training and 1,000 / 11 on inference) draw 0.3 MW, so they stay short.
    Contracts first: the contract's 100 Hopper get 0.1 MW, the 100 / 11 Blackwell left on inference
    0.1 / 11 MW, training the 1 / 11 MW left for its 2,100 / 11 GPUs (10 / 21 powered): 1,000 / 11
    sell, so 300 + 100 / 11 + 1,000 / 11 = 400 in all. Pro rata every GPU left gets 0.2 / 0.3: the
    contract delivers 200 / 3, s1 sells 2,200 / 11 x 2 / 3 = 400 / 3 beside s2's 300. Either way s1
    draws its 0.2 MW (200 x 219 USD). Each use's GPUs taken out count: without the inference's
    1 / 11 MW, pro rata gave every GPU left 0.2 / 0.391, and s1 paid for 0.109 MW. (At 0.6 MW every
    GPU left is powered and the unpowered draw caps what the GPUs taken out give back: neither
    slip shows there.)"""
    with pytest.warns(FleetoptWarning, match="installed at site 's1' needs 0.3 MW in service"):
        _, data, plan = spread_case(first, 0.2)  # the fleet there beyond its power: meant
    consts, plans = SimulationConstants.from_data(data), batch(data, [plan], ["short"])
    forecast = deterministic_scenarios(data, 1)
    ebitda = simulate(consts, plans, forecast, record=("ebitda_usd",))["ebitda_usd"][0, 0, 1]
    sold, delivered = (400.0, 100.0) if first else (300 + 400 / 3, 200 / 3)
    want = sold * 2190.0 + delivered * 2 * 2190.0 - 200 * 219.0 - 300 * 109.5
    np.testing.assert_allclose(ebitda, want, rtol=1e-12)
    for kernel in (None, gpu_code):
        assert assert_agree(consts, plans, forecast, kernel)["deferred"][0, 0] == 1.0


# ---------------------------------------------------------------- prepayments cut on several facilities


def three_loans_model() -> dict:
    """`test_policy.prepay_model` (200 GPUs earning 438,000 USD a quarter, 100,000 of opening cash, a
    minimum of 0, no tax) with three loans of 400,000 each over 4 quarters (100,000 of principal a
    quarter each) instead of one: `a` at 8 % (2 % a quarter), `b` at 4 %, `c` at 0 %."""
    from test_policy import prepay_model

    d = prepay_model()
    loan = {"size_usd": 4.0e5, "opening_balance_usd": 4.0e5, "amortization_quarters": 4,
            "draw_from": "2026Q1", "draw_until": "2026Q1"}  # fmt: skip
    d["finance"]["facilities"] = {
        "a": {**loan, "fixed_rate_annual": 0.08}, "b": {**loan, "fixed_rate_annual": 0.04},
        "c": {**loan, "fixed_rate_annual": 0.0},
    }  # fmt: skip
    return d


def varied_loans_model() -> dict:
    """The three loans with `b` floating (reference + 4 %) and `c` a bullet maturing in quarter 2,
    under every risk factor."""
    d = three_loans_model()
    floating, bullet = d["finance"]["facilities"]["b"], d["finance"]["facilities"]["c"]
    del floating["fixed_rate_annual"], bullet["amortization_quarters"]
    floating["spread_over_reference_annual"] = 0.04
    bullet.update(repayment="bullet", maturity="2026Q3")
    return with_risk(d, **ALL_RISK)


def three_prepayments(data, quarter: int = 0):
    """The 200 GPUs on the market, prepaying 100,000 of `a`, 100,000 of `b` and 200,000 of `c` in
    ``quarter``."""
    from test_policy import prepay_plan

    plan = prepay_plan(data, 0.0)
    plan.prepay[:, quarter] = [1.0e5, 1.0e5, 2.0e5]
    return plan


def test_a_cut_on_three_facilities_is_kept_on_each_and_the_cpu_kernel_runs_it_fused(gpu_code):
    """Quarter 0: interest 8,000 + 4,000, principal 300,000: 100,000 + 438,000 - 312,000 = 226,000 for
    the 400,000 of prepayments, so 174,000 is cut, 43.5 % of each: 43,500 kept on `a`, 43,500 on `b`,
    87,000 on `c`, and cash ends at the minimum, 0. The plan's own balances are then 200,000,
    200,000 and 100,000. Quarter 1: interest 4,000 + 2,000 on them and 870 + 435 on the kept
    balances, principal 300,000: cash 438,000 - 307,305 = 130,695. Quarter 2: the plan's `a` and `b`
    pay their last 100,000; `c`'s instalment, which the plan prepaid, repays the 87,000 kept on it;
    interest 2,000 + 1,000 + 1,305: cash 130,695 + 438,000 - 291,305 = 277,390. Quarter 3: the
    instalments of `a` and `b` repay their 43,500 kept, interest 1,305: cash 627,085. Kept on one
    facility, at its rate and repaid on its schedule, every figure would differ. The kernel tracks
    the three (it tracked one, and the cpu-kernel backend ran NumPy) and agrees with NumPy."""
    from test_policy import run_cash

    data = data_of(three_loans_model())
    plan = three_prepayments(data)
    out = run_cash(data, plan, Policy(), None, kernel=True)
    np.testing.assert_allclose(out["cash_usd"][0, 0], [0.0, 130_695.0, 277_390.0, 627_085.0], rtol=1e-12)
    assert out["prepayment_cut"][0, 0] == 1.0 and out["default"][0, 0] == 0.0
    consts, plans = SimulationConstants.from_data(data), batch(data, [plan])
    assert KernelShape.of(consts, plans).prepaid == (0, 1, 2) and kernel_fits(plans, consts) is None
    assert_agree(consts, plans, deterministic_scenarios(data, 1), gpu_code)
    fused = evaluate(data, plans, 1, 0, backend="cpu-kernel", keep_matrix=True, deterministic=True)
    assert fused.kernel and "prepayments" not in fused.device
    np.testing.assert_allclose(fused.npv_matrix, out["npv"], rtol=1e-12)


def test_cuts_on_a_fixed_a_floating_and_a_bullet_facility_agree_in_both_builds_under_risk(gpu_code):
    """The three loans with `b` floating (reference + 4 %) and `c` a bullet maturing in quarter 2, under
    every risk factor: one plan prepays all three in quarters 0 and 1 (cut in every scenario), one in
    quarter 1 only (cut in a few). Each kept balance bears its own facility's rate, shift and schedule:
    both builds of the kernel agree with NumPy pair by pair (to 1e-12)."""
    data = data_of(varied_loans_model())
    early = three_prepayments(data)
    early.prepay[:, 1] = [5.0e4, 5.0e4, 1.0e5]
    plans = batch(data, [early, three_prepayments(data, quarter=1)])
    consts = SimulationConstants.from_data(data)
    assert KernelShape.of(consts, plans).prepaid == (0, 1, 2) and kernel_fits(plans, consts) is None
    for kernel in (cpu_kernel(1), gpu_code):
        want = assert_agree(consts, plans, generate_scenarios(data, 3, 0, 300), kernel)
    cut = want["prepayment_cut"].mean(axis=1)
    assert cut[0] == 1.0 and 0.0 < cut[1] < 0.5


def test_plans_prepaying_more_facilities_than_the_kernel_tracks_run_numpy_and_say_why(monkeypatch):
    """With the kernel's bound lowered to 2 facilities, the three prepayments above are beyond it: the
    cpu-kernel backend runs NumPy's simulation, its run line says why, and the NPV is the one worked
    out by hand there (627,085 - 100,000 of opening cash, no discounting, nothing left at the end)."""
    import fleetopt.evaluate.kernel.shape as kernel_shape

    monkeypatch.setattr(kernel_shape, "MAX_PREPAID_FACILITIES", 2)
    data = data_of(three_loans_model())
    plans = batch(data, [three_prepayments(data)])
    why = "the fused kernel tracks cut prepayments on at most 2 facilities prepaid before the last quarter"
    assert kernel_fits(plans, SimulationConstants.from_data(data)) == f"{why} (these plans: 3)"
    result = evaluate(data, plans, 1, 0, backend="cpu-kernel", keep_matrix=True, deterministic=True)
    assert not result.kernel and why in result.device
    np.testing.assert_allclose(result.npv_matrix, [[527_085.0]], rtol=1e-12)


# ---------------------------------------------------------------- cancelled orders' draws, several facilities


def split_loan(d: dict, **facilities: dict) -> dict:
    """``d`` with its GPU-backed `gpu-loan` split into loans of 500,000 each, one per name in
    ``facilities``, with the terms given there changed."""
    loan = d["finance"]["facilities"].pop("gpu-loan")
    d["finance"]["facilities"] = {
        name: {**loan, "size_usd": 5.0e5, **terms} for name, terms in facilities.items()
    }
    return d


def test_a_cancelled_order_s_draws_on_two_gpu_backed_facilities_are_forgone_on_each_as_on_one():
    """`test_policy`'s cancelled order (worked there by hand) with its 1,000,000 GPU-backed draw made
    as 500,000 on each of two like loans: the cancelled share c = 51,800 / 130,000 of the draws
    deferred with the order is never drawn, X = c x 500,000 in all, half on each; quarter 2 pays
    250,000 - X / 4 of principal and ends on the 1,000,000 buffer, and the debt is 0.75 x (1,000,000
    - X), as with one loan. The kernel tracks both balances (it tracked one, and the cpu-kernel
    backend ran NumPy) and agrees with NumPy."""
    from test_policy import cancel_model, cancel_scenario, draw_plan

    data = data_of(split_loan(cancel_model("amortizing"), **{"gpu-a": {}, "gpu-b": {}}))
    plan = draw_plan(data)
    plan.draws[:, 1] = [5.0e5, 5.0e5]
    consts = SimulationConstants.from_data(data).with_policy(Policy(liquidity_buffer_usd=1.0e6))
    plans, scen = batch(data, [plan]), cancel_scenario(data)
    out = simulate(consts, plans, scen, record=("cash_usd", "principal_usd", "debt_usd"))
    c = 51_800.0 / 130_000.0
    forgone = c * 500_000.0
    assert out["order_cancelled"][0, 0] == 1.0
    np.testing.assert_allclose(out["forfeited_usd"][0, 0], c * 400_000.0, rtol=1e-12)
    np.testing.assert_allclose(out["cash_usd"][0, 0, 2], 1.0e6, rtol=1e-12)
    np.testing.assert_allclose(out["principal_usd"][0, 0, 2], 250_000.0 - forgone / 4, rtol=1e-12)
    np.testing.assert_allclose(out["debt_usd"][0, 0, 2], 0.75 * (1.0e6 - forgone), rtol=1e-12)
    assert KernelShape.of(consts, plans).forgone == (0, 1) and kernel_fits(plans, consts) is None
    assert_agree(consts, plans, scen)


def test_two_gpu_backed_facilities_one_prepaid_and_a_term_loan_prepaid_agree_in_both_builds(gpu_code):
    """A term loan (200,000 at 4 %) and two GPU-backed loans, `gpu-a` (8 %, 30 % loan-to-value) and
    `gpu-b` (reference + 5 %, 50 %), drawn 500,000 each with the order; the plan prepays the term
    loan and `gpu-b` in quarter 2 and `gpu-b` again in quarter 3, with a DSCR and leverage covenant
    and a 1,000,000 buffer, under random prices, resale values and rates. The prepaid slots are the
    term loan and `gpu-b`, the forgone ones `gpu-a` and `gpu-b`: a cancellation's balance never drawn
    on `gpu-b` lowers its own prepayments only (FO_FORGONE_PREPAID_SLOT). Pairs that cancel and cut
    in the same run agree with NumPy in both builds."""
    from test_policy import cancel_model, draw_plan

    d = split_loan(cancel_model("amortizing"), **{"gpu-a": {"max_ltv": 0.3}, "gpu-b": {"max_ltv": 0.5}})
    floating = d["finance"]["facilities"]["gpu-b"]
    del floating["fixed_rate_annual"]
    floating["spread_over_reference_annual"] = 0.05
    d["finance"]["facilities"] = {
        "term": {"size_usd": 2.0e5, "opening_balance_usd": 2.0e5, "fixed_rate_annual": 0.04,
                 "amortization_quarters": 4, "draw_from": "2026Q1", "draw_until": "2026Q1"},
        **d["finance"]["facilities"],
    }  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_dscr": 1.2, "max_debt_to_ebitda": 3.0}
    data = data_of(d)
    plan = draw_plan(data)
    plan.draws[:, 1] = [0.0, 5.0e5, 5.0e5]
    plan.prepay[0, 2], plan.prepay[2, 2], plan.prepay[2, 3] = 1.0e5, 2.0e5, 1.0e5
    scen = deferring_scenarios(data)
    consts = SimulationConstants.from_data(data).with_policy(Policy(liquidity_buffer_usd=1.0e6))
    plans = batch(data, [plan])
    shape = KernelShape.of(consts, plans)
    assert (shape.prepaid, shape.forgone) == ((0, 2), (1, 2)) and kernel_fits(plans, consts) is None
    for kernel in (cpu_kernel(1), gpu_code):
        want = assert_agree(consts, plans, scen, kernel)
    assert ((want["order_cancelled"] > 0) & (want["prepayment_cut"] > 0)).mean() > 0.2

"""Results depend on (model, plans, seed, number of scenarios) only.

Not on how the work is cut (plan_chunk, scenario_chunk, max_memory), not on the order of the
plans, and not on the implementation: the fused kernel compiled for the CPU (`CpuKernel`) must
agree with the array-level NumPy simulation. Scenario ``i`` depends only on ``(seed, i)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluate_builders import ALL_RISK, MODELS, batch, plan_variants, rel_err, run, solved, with_risk
from hypothesis import given, settings
from hypothesis import strategies as st
from milp_builders import data_of, sku

from fleetopt.core.plan import Plan
from fleetopt.evaluate import liquidity
from fleetopt.evaluate.backend import resolve_backend
from fleetopt.evaluate.chunking import backend_chunk_sizes, split_scenarios
from fleetopt.evaluate.result_fields import RESULT_FIELDS
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import solve

N = 150


def risky(name: str) -> dict:
    """Model ``name`` with its own risk block (tiny) or every factor on (the hand-made ones)."""
    d = MODELS[name]()
    return d if name == "tiny" else with_risk(d, **ALL_RISK)


@pytest.fixture(scope="module")
def setup():
    """The two-site model with every risk factor on, and five distinct plans around its MILP plan."""
    data = data_of(risky("two_sites"))
    plans, labels = plan_variants(data, solved("two_sites").plan)
    return data, batch(data, plans, labels)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


# ---------------------------------------------------------------- chunking and order


@pytest.mark.parametrize("chunks", [(1, 7), (3, 64), (5, 1), (4, N - 1)])
def test_chunk_sizes_do_not_change_results(setup, chunks):
    data, plans = setup
    whole = run(data, plans, N, seed=5, plan_chunk=plans.P, scenario_chunk=N)
    assert (whole.plan_chunk, whole.scenario_chunk) == (plans.P, N)
    assert whole.metrics["npv_std_usd"].iloc[:4].min() > 0  # real randomness, not a trivial case
    assert 0 < whole.metrics["breach_probability"].iloc[0] < 1
    part = run(data, plans, N, seed=5, plan_chunk=chunks[0], scenario_chunk=chunks[1])
    assert (part.plan_chunk, part.scenario_chunk) == chunks
    assert_same(part.metrics, whole.metrics)
    np.testing.assert_array_equal(part.npv_matrix, whole.npv_matrix)


def test_a_chunks_plans_are_laid_out_once_for_all_its_scenario_blocks(setup, monkeypatch):
    """Under a tight ``--max-memory`` the plans' columns (layout.PlanColumns, 1.4-2 ms of the ~25 ms
    a block of the default model takes) were made again for every scenario block; now once for
    each chunk of plans, with the same results to the bit."""
    from fleetopt.evaluate.layout import PlanColumns

    data, plans = setup
    made, real = [], PlanColumns.__init__

    def counted(self, some, xp):
        made.append(some.P)
        real(self, some, xp)

    monkeypatch.setattr(PlanColumns, "__init__", counted)
    blocks = run(data, plans, N, seed=5, plan_chunk=2, scenario_chunk=10)
    # three chunks of plans, 15 scenario blocks each; then every plan on the forecast (forecast_within_limits)
    assert made == [2, 2, 1, plans.P]
    whole = run(data, plans, N, seed=5, plan_chunk=plans.P, scenario_chunk=N)
    assert_same(blocks.metrics, whole.metrics)
    np.testing.assert_array_equal(blocks.npv_matrix, whole.npv_matrix)


def test_plan_layouts_of_a_chunk_given_a_freed_chunk_s_id_are_its_own(setup, monkeypatch):
    """tiling.PlanLayouts kept a chunk's layout by id(chunk): a chunk freed while it lived could
    leave its id to the next, which was given the freed chunk's plans and columns. Here every id is
    the same, as a reused one would be: each chunk still gets its own plans."""
    from fleetopt.evaluate import tiling

    _, plans = setup
    first, second = plans.take(slice(0, 2)), plans.take(slice(2, 4))
    assert not np.array_equal(first.capex, second.capex)  # two different pairs of plans
    monkeypatch.setattr(tiling, "id", lambda obj: 1, raising=False)
    layouts = tiling.PlanLayouts(np)
    tiles = [slice(0, 1), slice(1, 2)]
    layouts.of(first, None, tiles)
    made = layouts.of(second, None, tiles)
    for (start, stop), (tile_plans, _) in made.items():
        np.testing.assert_array_equal(tile_plans.capex, second.take(slice(start, stop)).capex)


def test_an_empty_batch_of_plans_is_refused_by_name(setup):
    """`evaluate` of no plans (a notebook's filter that kept none) ended in IndexError."""
    from fleetopt.evaluate.engine import evaluate

    data, plans = setup
    with pytest.raises(ValueError, match="no plans to evaluate"):
        evaluate(data, plans.take(slice(0, 0)), 10, seed=1, backend="numpy")


def test_a_small_memory_budget_forces_chunks_and_gives_the_same_result(setup):
    data, plans = setup
    whole = run(data, plans, N, seed=2, plan_chunk=plans.P, scenario_chunk=N)
    budget = 150_000  # bytes: a few plans' tables and results, a few (plan, scenario) pairs at a time
    pc, sc = backend_chunk_sizes(data, plans, N, resolve_backend("numpy"), budget)
    assert pc < plans.P and sc < N
    small = run(data, plans, N, seed=2, max_memory=budget)
    assert (small.plan_chunk, small.scenario_chunk) == (pc, sc)
    assert_same(small.metrics, whole.metrics)


@pytest.mark.parametrize("backend", ["numpy", "cpu-kernel"])
def test_scenario_blocks_are_made_once_for_every_plan_their_rows_in_a_file_the_same_bits(
    setup, monkeypatch, backend, request
):
    """5 plans x 150 scenarios within 400,000 bytes. A plan holds its row of results, 150 x 248 =
    37,200, and its tables, 32,016 (2 x its 16,008 compiled bytes): 69,216, and the 5 plans'
    346,080, more than half the budget. So the rows go to a temporary file and a chunk holds only
    tables: 200,000 // 32,016 = 6, all 5 plans. Beside their 160,080 the 239,920 left hold blocks
    of 239,920 // (2,928 + 5 x 1,120) = 28 scenarios (a scenario's factor paths, and a pair's
    working memory for each plan): 6 blocks of 25, each made once. Before, rows in memory, 2
    chunks of 3 plans on blocks of 30 made each of the 5 blocks once a chunk: 10 blocks made.
    The metrics, the NPV matrix and each pair's outcomes are the one-block run's to the bit."""
    if backend == "cpu-kernel":
        request.getfixturevalue("cpu_kernel")  # skipped without a C compiler
    from fleetopt.evaluate import chunk_eval, chunking, local_executor

    data, plans = setup
    assert chunking.row_bytes_per_plan(N) + chunking.table_bytes_per_plan(plans, "numpy") == 69_216
    assert (chunking.bytes_per_pair(data, plans), chunking.block_bytes_per_scenario(data)) == (1_120, 2_928)
    whole = run(data, plans, N, seed=4, backend=backend, plan_chunk=plans.P, scenario_chunk=N,
                keep_outcomes=True)  # fmt: skip
    made, files, real_block, real_rows = [], [], chunk_eval.scenario_block, chunk_eval.SpilledRows

    def block(data, spec, start, stop, *args):
        if not spec.deterministic:  # not NumPy's check of each plan on the forecast
            made.append((start, stop))
        return real_block(data, spec, start, stop, *args)

    def spilled(*args, **kwargs):
        files.append(real_rows(*args, **kwargs))
        return files[-1]

    for module in (chunk_eval, local_executor):  # a chunk's blocks, and one block made for every chunk
        monkeypatch.setattr(module, "scenario_block", block)
    monkeypatch.setattr(chunk_eval, "SpilledRows", spilled)
    tight = run(data, plans, N, seed=4, backend=backend, max_memory=400_000, keep_outcomes=True)
    assert (tight.plan_chunk, tight.scenario_chunk) == (5, 25)
    assert made == [(s, s + 25) for s in range(0, N, 25)] and len(files) == 1
    assert files[0].file.closed  # and it never had a name: nothing is left behind
    assert_same(tight.metrics, whole.metrics)
    np.testing.assert_array_equal(tight.npv_matrix, whole.npv_matrix)
    for name, values in whole.outcomes.items():
        np.testing.assert_array_equal(tight.outcomes[name], values, err_msg=name)


def test_scenarios_that_need_several_blocks_are_cut_evenly_for_several_plans_a_chunk():
    # 5,000 scenarios, room for 4,977 pairs a call: one plan per chunk on a 4,977-scenario block
    # made again for each plan (and a 23-scenario block) ran 200 plans 2.9x slower
    # (benchmarks/README.md). Room for 16 plans: blocks of at most 4,977 // 16 = 311, so 17
    # blocks, of ceil(5,000 / 17) = 295.
    assert split_scenarios(5000, 4977, 200) == 295
    assert split_scenarios(5000, 4977, 3) == 1250  # 3 plans: blocks of at most 1,659, so 4 of 1,250
    assert split_scenarios(5000, 4977, 1) == 2500  # one plan: two even blocks
    assert split_scenarios(5000, 5000, 200) == 5000  # one block, made once for every chunk


def test_plan_order_only_permutes_the_rows(setup):
    data, plans = setup
    order = np.array([3, 0, 4, 2, 1])
    straight = run(data, plans, N, seed=9)
    shuffled = run(data, plans.take(order), N, seed=9, plan_chunk=2, scenario_chunk=33)
    assert shuffled.metrics["plan"].tolist() == [plans.labels[i] for i in order]
    assert_same(shuffled.metrics, straight.metrics.iloc[order])
    np.testing.assert_array_equal(shuffled.npv_matrix, straight.npv_matrix[order])


def test_same_seed_same_results_other_seed_other_results(setup):
    data, plans = setup
    a, b, c = (run(data, plans, N, seed=s) for s in (11, 11, 12))
    assert_same(a.metrics, b.metrics)
    np.testing.assert_array_equal(a.npv_matrix, b.npv_matrix)
    assert not np.any(a.npv_matrix[:4] == c.npv_matrix[:4])  # every random plan-scenario pair moves
    assert (a.metrics["npv_mean_usd"] != c.metrics["npv_mean_usd"]).iloc[:4].all()


def test_the_number_of_threads_does_not_change_results(setup, monkeypatch):
    from fleetopt.evaluate import chunks, tiling
    from fleetopt.evaluate.backend import resolve_backend

    data, plans = setup

    def on(threads, some_plans):
        return run(data, some_plans, N, seed=4, backend=resolve_backend("numpy", threads=threads))

    # tiles and scenario parts this small are never made in a run: allow them here
    monkeypatch.setattr(tiling, "MIN_TILE_PAIRS", 1)
    monkeypatch.setattr(chunks, "MIN_SCENARIOS_PER_THREAD", 1)
    assert len(tiling.tiles(plans.P, N, 3)) == 3
    for some_plans in (plans, plans.take([0, 1])):  # tiles split the plans, then the scenarios
        one = on(1, some_plans)
        for threads in (2, 3):
            many = on(threads, some_plans)
            assert_same(many.metrics, one.metrics)
            np.testing.assert_array_equal(many.npv_matrix, one.npv_matrix)


def test_distress_sales_give_the_same_bits_on_the_pairs_short_of_cash_or_the_whole_block(setup, monkeypatch):
    """The sale rule runs on the pairs short of cash alone (gathered) or, where many are, on the
    whole block with the other pairs' sales set to 0 (``liquidity.DENSE_SALES_SHARE``): the same
    operations on each pair short of cash, and exactly nothing on the others, so the same bits."""
    data, plans = setup
    consts = SimulationConstants.from_data(data)
    scen = generate_scenarios(data, 5, 0, N)
    out = []
    for share in (0.0, 1.0):  # every sale on the whole block; every sale on the gathered pairs
        monkeypatch.setattr(liquidity, "DENSE_SALES_SHARE", share)
        out.append(simulate(consts, plans, scen))
    assert 0 < out[0]["sold"].mean() < 1  # some pairs sold GPUs, others did not
    for name in RESULT_FIELDS:
        np.testing.assert_array_equal(out[0][name], out[1][name], err_msg=name)


# ---------------------------------------------------------------- the other plans of a batch


def assert_alone_as_with_others(data, plan, others: list, takes_out: str) -> None:
    """``plan`` simulated alone and first of a batch with ``others`` gives the same bits in every
    result (a sweep, ``evaluate`` and ``--workers`` batch plans differently); ``others[0]`` has GPUs
    taken out by the policy (``takes_out``: the reaction that does it) in some pairs."""
    consts = SimulationConstants.from_data(data)
    scen = generate_scenarios(data, 5, 0, N)
    alone = simulate(consts, batch(data, [plan]), scen)
    together = simulate(consts, batch(data, [plan, *others]), scen)
    assert together[takes_out][1].any()  # the batch takes GPUs out where the plan alone does not
    for name in RESULT_FIELDS:
        np.testing.assert_array_equal(alone[name][0], together[name][0], err_msg=name)


def test_a_generations_revenue_negative_by_round_off_counts_the_same_with_plans_that_sell_it():
    """A plan selling 100 Hopper GPUs on the inference market and -1e-9 Blackwell GPUs (solver
    round-off), evaluated with a plan whose Blackwell GPUs the policy sells in distress: the
    -1e-9 GPUs' revenue was floored at 0 only in the batch, so the plan's NPV and lowest cash
    moved with the plans evaluated beside it. Now floored wherever it is offered."""
    d = with_risk(MODELS["two_sites"](), **ALL_RISK)
    d["skus"]["A"]["available_from"] = "2025Q1"
    d["skus"]["B"] = sku(generation="blackwell", available_from="2025Q1", useful_life_years=3.0,
                         resale_fraction_by_age_years=[1.0, 0.5, 0.2, 0.0])  # fmt: skip
    d["fleet"] = [{"sku": name, "site": "s1", "purchased": "2025Q1", "gpus": 100, "use": "inference",
                   "capex_per_gpu_usd": 4000.0} for name in ("A", "B")]  # fmt: skip
    data = data_of(d)
    hopper = next(c for c, cohort in enumerate(data.cohorts) if cohort.existing and cohort.sku == 0)
    plan = Plan.empty(data)
    plan.accepted[:] = [1.0 if c.signed else 0.0 for c in data.contracts]
    plan.held_inference[hopper] = 100.0
    plan.active[1, 0, 0] = 100.0  # (use, SKU, site, quarter)
    plan.active[1, 1, 0, 2:] = -1e-9
    assert_alone_as_with_others(data, plan, [solve(data).plan], takes_out="sold")


def test_a_markets_power_need_negative_by_round_off_counts_the_same_with_plans_short_of_power():
    """Half the two-site plan, selling nothing on the inference market but -1e-9 GPUs at the first
    site (solver round-off), with the full plan, whose orders the policy defers: the
    inference market's MW need at a short site was floored at 0 only where some plan of the batch
    had inference GPUs taken out there, so the half plan's power shares, NPV and demand served
    moved with the full plan beside it. Now floored wherever the policy may take GPUs out."""
    data = data_of(risky("two_sites"))
    full, half = (solved("two_sites").plan, plan_variants(data, solved("two_sites").plan)[0][3])
    inference_contracts = sum(half.contract_gpus[k] for k, c in enumerate(data.contracts) if c.use == 1)
    half.active[1] = inference_contracts  # (use, SKU, site, quarter)
    half.active[1, 0, 0, 2:] -= 1e-9
    assert_alone_as_with_others(data, half, [full], takes_out="deferred")


def test_gpus_taken_out_of_a_supply_negative_by_round_off_remove_nothing_on_either_power_path():
    """A generation offering -1e-9 GPUs' supply (solver round-off) to a use, half of them taken out
    by the policy: on the fast path (no site of the batch short of power) it removed 0.5 x -1e-9,
    on the short path (some other plan short, this pair's shares all 1) max(-1e-9, 0) x 0.5, so the
    pair's supply and demand served moved with the plans beside it. Now 0 on both."""
    from fleetopt.evaluate.layout import PlanColumns
    from fleetopt.evaluate.operations import _taken_out

    data = data_of(risky("two_sites"))
    plans = batch(data, [solved("two_sites").plan])
    plans.gen_market_supply[0, 1, 1, 3] = -1e-9  # (plan, use, generation, quarter): Blackwell inference
    pl = PlanColumns(plans, np)
    half = np.full((1, 4), 0.5)  # (plans, scenarios)
    all_powered = [np.ones((1, 4))] * data.I
    fast = _taken_out(pl, half, "supply", 1, 1, None, True, 3, np)
    short = _taken_out(pl, half, "supply", 1, 1, all_powered, False, 3, np)
    np.testing.assert_array_equal(fast, np.zeros((1, 4)))
    np.testing.assert_array_equal(short, np.zeros((1, 4)))


def test_market_earnings_less_electricity_are_the_same_bits_on_either_power_path():
    """What each generation's market GPUs earn less their electricity (``PlanBatch.gen_market_earned``,
    policy rule 0's value of a GPU deferred, made on the forecast for a batch of plans at once): the
    plan's total on the fast path, each use's sites then the uses on the short path, which the whole
    batch takes when any plan over-draws a site. Summed in different orders, a plan compiled beside
    an over-drawn one was valued in other bits (the default model's plans, by up to 1e-6 USD). Now
    the fast path sums as the short one does."""
    from types import SimpleNamespace

    from fleetopt.evaluate.layout import PlanColumns, Shortfall
    from fleetopt.evaluate.operations import _less_market_electricity

    d = with_risk(MODELS["two_sites"](), **ALL_RISK)
    d["sites"]["s1"]["electricity_price_usd_per_mwh"] = 61.3
    d["sites"]["s2"]["electricity_price_usd_per_mwh"] = 43.7
    data = data_of(d)
    plan = solved("two_sites").plan
    plan = Plan(**{**vars(plan), "active": plan.active * 0.85})
    pl = PlanColumns(batch(data, [plan]), np)
    G, T, none = pl.gen_market_gpus.shape[0], data.T, [None] * data.I
    prices = SimpleNamespace(electricity_factor=np.ones((T, 1)))
    every_share_one = Shortfall(phi=none, fixed_saved=0.0, contract=none, market=(none, none))
    fast, short = np.zeros((1, 1, G, T)), np.zeros((1, 1, G, T))
    for t in range(T):
        _less_market_electricity(fast, pl, prices, None, t)
        _less_market_electricity(short, pl, prices, every_share_one, t)
    assert (fast < 0).any()
    np.testing.assert_array_equal(fast, short)


def test_a_scenario_block_goes_to_the_gpu_once_and_is_let_go_with_the_block():
    # every chunk of a run is simulated on the same block; its device copy must be reused, and
    # freed when the block is (checked with NumPy standing in for CuPy)
    import gc

    from fleetopt.evaluate.kernel import cuda

    data = data_of(risky("two_sites"))
    block, other = generate_scenarios(data, 1, 0, 20), generate_scenarios(data, 1, 0, 20)
    first = cuda._device_scenarios(block, np)
    assert cuda._device_scenarios(block, np) is first
    assert cuda._device_scenarios(other, np) is not first  # an equal but new block is copied again
    del block
    gc.collect()
    assert cuda._ON_DEVICE  # the freed block was not the one held
    del other
    gc.collect()
    assert not cuda._ON_DEVICE


# ---------------------------------------------------------------- counter-based scenarios


@pytest.mark.parametrize("name", ["tiny", "two_sites"])
def test_scenario_i_depends_only_on_seed_and_i(name):
    data = data_of(risky(name))
    full = generate_scenarios(data, 4, 0, 100).arrays()
    part = generate_scenarios(data, 4, 40, 60).arrays()
    np.testing.assert_array_equal(part["index"], np.arange(40, 60))
    for field, values in full.items():
        np.testing.assert_array_equal(part[field], values[40:60], err_msg=field)
    other = generate_scenarios(data, 5, 40, 60).arrays()
    assert not np.array_equal(other["price_factor"], part["price_factor"])


_TINY_DATA = data_of(MODELS["tiny"]())


@settings(max_examples=25, deadline=None)
@given(start=st.integers(0, 5000), length=st.integers(1, 30), seed=st.integers(0, 2**63 - 1))
def test_any_block_of_scenarios_matches_the_same_rows_of_a_larger_block(start, length, seed):
    data = _TINY_DATA
    big = generate_scenarios(data, seed, start, start + length + 3).arrays()
    small = generate_scenarios(data, seed, start + 1, start + 1 + length).arrays()
    for field, values in big.items():
        np.testing.assert_array_equal(small[field], values[1 : 1 + length], err_msg=field)


# ---------------------------------------------------------------- the kernel on the CPU


@pytest.mark.parametrize("name", ["tiny", "power_debt", "two_sites", "concentrated"])
def test_cpu_kernel_matches_the_numpy_simulation(cpu_kernel, name):
    data = data_of(risky(name))
    plans, labels = plan_variants(data, solved(name).plan)
    plans_b = batch(data, plans, labels)
    scen = generate_scenarios(data, 3, 0, 400)
    consts = SimulationConstants.from_data(data)
    want = simulate(consts, plans_b, scen)
    got = cpu_kernel.simulate(consts, plans_b, scen)
    for field in RESULT_FIELDS:
        assert got[field].shape == (plans_b.P, scen.S)
        if want[field].dtype == bool:
            np.testing.assert_array_equal(got[field], want[field], err_msg=field)
        else:
            assert rel_err(got[field], want[field]) <= 1e-12, field
    if name != "tiny":  # the hand-made models under ALL_RISK reach every branch
        assert 0 < want["breach"][0].mean() < 1 and 0 < want["default"][0].mean() < 1
        assert (scen.delay > 0).any() and (scen.contract_alive == 0).any()
        assert np.ptp(want["utilisation"][0]) > 0


def test_cpu_kernel_handles_a_late_block_missing_a_contract_deadline(cpu_kernel):
    # every block late by three quarters: the anchor contract (deadline 2026Q3) goes undelivered,
    # is cancelled and its penalty paid; kernel and array code agree on every result
    d = with_risk(MODELS["power_debt"](), power_delay={"probability": 1.0, "max_extra_quarters": 1})
    data = data_of(d)
    plans_b = batch(data, [solved("power_debt").plan])
    scen = generate_scenarios(data, 0, 0, 8)
    scen.delay[:] = 3
    consts = SimulationConstants.from_data(data)
    want = simulate(consts, plans_b, scen)
    got = cpu_kernel.simulate(consts, plans_b, scen)
    for field in RESULT_FIELDS:
        np.testing.assert_allclose(got[field], want[field], rtol=1e-12, atol=0, err_msg=field)
    on_time = simulate(consts, plans_b, generate_scenarios(data_of(with_risk(d)), 0, 0, 8))
    assert np.all(want["npv"] < on_time["npv"] - 100000.0)  # at least the penalty is lost


def test_cpu_kernel_and_numpy_agree_where_a_covenant_binds_on_the_forecast(cpu_kernel):
    # the power_debt MILP meets its DSCR covenant with equality in 2026Q2: both implementations
    # must apply the same round-off tolerance and report no breach
    r = solved("power_debt")
    plans_b = batch(r.data, [r.plan])
    scen = deterministic_scenarios(r.data, 2)
    consts = SimulationConstants.from_data(r.data)
    want, got = simulate(consts, plans_b, scen), cpu_kernel.simulate(consts, plans_b, scen)
    assert not want["breach"].any() and not got["breach"].any()
    assert rel_err(got["npv"], want["npv"]) <= 1e-12

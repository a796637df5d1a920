"""The CuPy path's Python code against a stand-in CuPy (tests/fake_cupy): no GPU needed.

The stand-in runs the kernel's C build behind CuPy's API and checks each launch (options, grid,
block, every argument against the C signature, device arrays only), so a misuse of CuPy in
the kernel package, backend.py or the evaluation's chunks (chunk_eval.py, local_executor.py) fails
here rather than on the first GPU. The results must be NumPy's (the same source, compiled as C).
"""

from __future__ import annotations

import importlib
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from evaluate_builders import (
    ALL_RISK,
    MODELS,
    batch,
    plan_variants,
    rel_err,
    solved,
    with_idle_gpus,
    with_risk,
)
from milp_builders import data_of

from fleetopt.core.units import format_duration
from fleetopt.evaluate import backend_choice, chunk_eval, engine, local_executor
from fleetopt.evaluate.backend import BackendError, c_compiler, resolve_backend
from fleetopt.evaluate.batch import with_buffers
from fleetopt.evaluate.chunk_store import ChunkStore
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.kernel import cuda
from fleetopt.evaluate.kernel.arguments import kernel_arguments, output_arrays
from fleetopt.evaluate.kernel.shape import PLANS_PER_THREAD, KernelShape
from fleetopt.evaluate.metrics import FORECAST_OK
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants

pytestmark = pytest.mark.skipif(
    c_compiler() is None, reason="no C compiler: the stand-in CuPy runs the C build"
)

FAKE = Path(__file__).resolve().parent / "fake_cupy"


@pytest.fixture
def fake_cupy(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE))
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    module = importlib.import_module("cupy")
    assert module.__version__ == "0.0-fake"
    module.LAUNCHES.clear()
    monkeypatch.setattr(cuda, "_CUDA_KERNELS", {})
    monkeypatch.setattr(cuda, "_ON_DEVICE", cuda._Held())
    monkeypatch.setattr(cuda, "_PLANS_ON_DEVICE", cuda._Held())
    monkeypatch.setattr(cuda, "_FORECAST_ON_DEVICE", cuda._Held())
    yield module
    sys.modules.pop("cupy", None)


@pytest.fixture(scope="module")
def setup():
    data = data_of(with_risk(MODELS["two_sites"](), **ALL_RISK))
    plans, labels = plan_variants(data, solved("two_sites").plan)
    return data, batch(data, plans, labels)


def test_the_cupy_backend_runs_the_kernel_and_matches_numpy(fake_cupy, setup):
    data, plans = setup
    be = resolve_backend("auto")
    assert be.name == "cupy" and be.device.startswith("Fake GPU") and "CuPy found" in be.note
    got = evaluate(data, plans, 300, seed=3, backend=be, keep_matrix=True)
    want = evaluate(data, plans, 300, seed=3, backend="numpy", keep_matrix=True)
    assert got.kernel and got.backend == "cupy"
    assert rel_err(got.npv_matrix, want.npv_matrix) <= 1e-12
    for column in want.metrics.columns[1:]:
        assert rel_err(got.metrics[column].to_numpy(), want.metrics[column].to_numpy()) <= 1e-12, column
    grid, block, options = fake_cupy.LAUNCHES[0]
    assert (grid, block) == cuda.launch_grid(plans.P, 300) and "--fmad=false" in options
    assert grid == (-(-plans.P // PLANS_PER_THREAD), 3)


@pytest.mark.parametrize("backend", ["cupy", "cpu-kernel"])
def test_the_fused_kernel_checks_each_chunk_on_the_forecast(fake_cupy, setup, monkeypatch, tmp_path, backend):
    """Whether each plan keeps its limits on the forecast comes from the kernel, run on the forecast
    with each chunk's plan tables, and is NumPy's answer: the empty plan (it serves its signed
    contracts nothing) breaches a covenant, and the plan run with a $10M cash buffer breaches and
    defaults (its buffer cuts what keeps the borrowing base); the others keep their limits. A run
    resumed from its chunks keeps the kernel's answers."""
    data, plans = setup
    plans = with_buffers(plans.take(np.array([0, 1, 2, 3, 4, 0])), [None] * 5 + [1.0e7])
    want = engine.forecast_within_limits(data, plans)
    assert want.tolist() == [True, True, True, True, False, False]

    def not_here(*args):
        raise AssertionError("the forecast was simulated again in NumPy")

    monkeypatch.setattr(engine, "forecast_within_limits", not_here)
    got = evaluate(data, plans, 50, seed=3, backend=backend, plan_chunk=2, store=ChunkStore(tmp_path))
    assert got.kernel and got.metrics[FORECAST_OK].tolist() == want.tolist()
    resumed = evaluate(data, plans, 50, seed=3, backend=backend, plan_chunk=2, store=ChunkStore(tmp_path))
    assert resumed.pairs_stored == plans.P * 50 and resumed.metrics[FORECAST_OK].tolist() == want.tolist()


def test_the_array_code_runs_on_the_stand_in_as_on_numpy(fake_cupy, setup):
    """The NumPy reference run with CuPy as its array module (`kernel=False`): every array function
    it calls must be one CuPy has (the stand-in offers CuPy's names only), and the results are
    NumPy's bit for bit (the stand-in's arrays are NumPy's underneath)."""
    data, plans = setup
    got = evaluate(data, plans, 300, seed=5, backend="cupy", kernel=False, keep_matrix=True)
    want = evaluate(data, plans, 300, seed=5, backend="numpy", keep_matrix=True)
    assert got.backend == "cupy" and not got.kernel
    np.testing.assert_array_equal(got.npv_matrix, want.npv_matrix)
    for column in want.metrics.columns[1:]:
        np.testing.assert_array_equal(got.metrics[column].to_numpy(), want.metrics[column].to_numpy(), column)
    assert want.metrics["sold_share"].max() > 0 or want.metrics["deferred_share"].max() > 0


def test_chunks_upload_each_plan_chunk_once_and_give_the_same_results(fake_cupy, setup, monkeypatch):
    data, plans = setup
    streams = []
    real = cuda.upload_tables

    def upload(tables, cp, stream=None):
        streams.append(stream)
        return real(tables, cp, stream)

    # the first chunk's copy (cuda.device_plans), the chunks' made ahead (local_executor.GpuPrefetch)
    # and a delivery slip's plans' (chunk_eval.BlockSimulator)
    for module in (cuda, local_executor, chunk_eval):
        monkeypatch.setattr(module, "upload_tables", upload)
    whole = evaluate(data, plans, 200, seed=8, backend="cupy", keep_matrix=True)
    part = evaluate(
        data, plans, 200, seed=8, backend="cupy", plan_chunk=2, scenario_chunk=64, keep_matrix=True
    )
    np.testing.assert_array_equal(part.npv_matrix, whole.npv_matrix)
    # one upload per chunk of plans (1 chunk, then 3 chunks x 4 scenario blocks), not one per block;
    # the second and third chunks are copied on an upload stream while the one before runs
    assert len(streams) == 1 + 3
    assert streams[:2] == [None, None] and streams[2] is not None and streams[2] is streams[3]
    assert streams[2].non_blocking


def test_the_chunks_after_the_running_one_get_their_tables_in_other_threads(fake_cupy, setup, monkeypatch):
    """A GPU run makes the plan tables of the chunks ahead in a pool of threads, each chunk's once,
    while the first chunk's are made where it runs; the results are those of one chunk."""
    data, plans = setup
    made = []
    real = chunk_eval.plan_tables

    def tables(consts, chunk):
        made.append(threading.current_thread())
        return real(consts, chunk)

    for module in (chunk_eval, local_executor):  # a chunk's own, and those made ahead
        monkeypatch.setattr(module, "plan_tables", tables)
    whole = evaluate(data, plans, 100, seed=2, backend="cupy", keep_matrix=True)
    assert made == []  # one chunk: nothing ahead
    part = evaluate(data, plans, 100, seed=2, backend="cupy", plan_chunk=1, keep_matrix=True)
    np.testing.assert_array_equal(part.npv_matrix, whole.npv_matrix)
    assert len(made) == plans.P - 1 and threading.main_thread() not in made


def test_the_memory_budget_counts_cupys_pool(fake_cupy):
    be = resolve_backend("cupy")
    free, _ = fake_cupy.cuda.runtime.memGetInfo()
    assert be.free_memory_bytes() == free + fake_cupy.get_default_memory_pool().free_bytes()


def test_a_cupy_that_cannot_use_the_device_is_reported(fake_cupy, monkeypatch):
    monkeypatch.setenv("FAKE_CUPY_BROKEN", "1")
    be = resolve_backend("auto")
    assert be.name == "numpy"
    assert "CuPy is installed but cannot use a CUDA device" in be.note and "cudaErrorNoDevice" in be.note
    assert "cudaErrorNoDevice" in be.device  # what `fleetopt evaluate` prints
    with pytest.raises(BackendError, match="cudaErrorNoDevice"):
        resolve_backend("cupy")


def test_auto_runs_a_small_evaluation_on_the_cpu_of_a_gpu_machine(fake_cupy, setup, monkeypatch):
    """One plan on a few thousand scenarios finished sooner on NumPy than CuPy started (and a fresh
    GPU machine first compiles for 12 s): `auto` runs it on the CPU without starting CuPy, says so
    and how to ask for the GPU; where NumPy's estimated time is CuPy's start or more it runs CuPy.
    The figures are NumPy's either way."""
    import fleetopt.evaluate.backend as backend

    data, plans = setup
    work = plans.P * 300 * data.T
    # 300 scenarios x 30 us + `work` / 7.75e6 a second
    numpy_s = 300 * backend_choice.NUMPY_S_PER_SCENARIO + work / backend_choice.NUMPY_PAIR_QUARTERS_PER_S
    assert backend_choice.numpy_seconds(plans.P, 300, data.T) == pytest.approx(numpy_s, rel=1e-12)
    monkeypatch.setattr(backend, "nvidia_gpu_present", lambda: True)
    monkeypatch.setattr(backend_choice, "CUPY_START_S", numpy_s * 1.01)
    started = []
    real_status = backend.cupy_status
    monkeypatch.setattr(backend, "cupy_status", lambda: started.append(1) or real_status())
    small = backend_choice.choose_backend("auto", None, data, plans, 300)
    assert small.name == "numpy" and not started
    took = format_duration(numpy_s)
    said = f"auto: NumPy finishes this run ({work:,} plan-scenario-quarters, about {took})"
    assert said in small.device
    assert "--backend cupy" in small.note
    assert backend_choice.choose_backend("cupy", None, data, plans, 300).name == "cupy"  # asked for: the GPU
    monkeypatch.setattr(backend_choice, "CUPY_START_S", numpy_s * 0.99)
    assert backend_choice.choose_backend("auto", None, data, plans, 300).name == "cupy"
    monkeypatch.setattr(backend, "nvidia_gpu_present", lambda: False)  # CuPy, no GPU: as before
    monkeypatch.setattr(backend_choice, "CUPY_START_S", numpy_s * 1.01)
    assert backend_choice.choose_backend("auto", None, data, plans, 300).name == "cupy"
    # a sweep's or stochastic solve's check before its solves starts CuPy only for a run it will get
    monkeypatch.setattr(backend, "nvidia_gpu_present", lambda: True)
    started.clear()
    backend_choice.check_backend_runs(data, 300, "auto", None, n_plans=plans.P)
    assert not started
    backend_choice.check_backend_runs(data, 300, "auto", None)  # how many plans not known: checked
    assert started


def test_the_stand_in_refuses_what_a_gpu_would(fake_cupy, setup):
    # a host array, a wrong dtype or a wrong grid: each would fail or read garbage on a GPU
    data, plans = setup
    consts = SimulationConstants.from_data(data)
    scen = generate_scenarios(data, 1, 0, 8)
    shape = KernelShape.of(consts, plans)
    compiled = cuda.cuda_kernel(shape, fake_cupy)
    outputs = output_arrays(plans.P, scen.S, fake_cupy)
    args = kernel_arguments(consts, plans, scen, fake_cupy, outputs)
    grid, block = cuda.launch_grid(plans.P, scen.S)
    compiled(grid, block, tuple(args))
    host = list(args)
    host[2] = np.asarray(host[2].get())
    with pytest.raises(TypeError, match="host array"):
        compiled(grid, block, tuple(host))
    with pytest.raises(ValueError, match="expected"):
        compiled((plans.P * 3, 1), block, tuple(args))
    wrong = list(args)
    wrong[2] = wrong[2].astype(np.float32)
    with pytest.raises(TypeError, match="plan_quarter"):
        compiled(grid, block, tuple(wrong))


def test_the_array_code_runs_a_bullet_repaid_at_maturity_on_the_stand_in(fake_cupy):
    """The DSCR's bullet repayment at maturity took a host (NumPy) mask into device arithmetic,
    which CuPy refuses: every model with a bullet repaid in the horizon failed on the array code."""
    data = data_of(with_risk(MODELS["repaid_bullet"](), **ALL_RISK))
    plans = batch(data, *plan_variants(data, solved("repaid_bullet").plan))
    got = evaluate(data, plans, 100, seed=3, backend="cupy", kernel=False, keep_matrix=True)
    want = evaluate(data, plans, 100, seed=3, backend="numpy", keep_matrix=True)
    np.testing.assert_array_equal(got.npv_matrix, want.npv_matrix)
    np.testing.assert_array_equal(got.metrics["breach_probability"], want.metrics["breach_probability"])


def assert_cupy_gives(want, data, plans) -> None:
    """The CuPy path (the kernel, the array code, and the kernel in blocks of a few scenarios, each
    reading plans uploaded once per chunk) gives NumPy's results ``want`` (200 scenarios of seed 3)."""
    for on_kernel in (True, False):
        got = evaluate(data, plans, 200, seed=3, backend="cupy", kernel=on_kernel, keep_matrix=True)
        assert got.kernel == on_kernel and rel_err(got.npv_matrix, want.npv_matrix) <= 1e-12
        for column in want.metrics.columns[1:]:
            assert rel_err(got.metrics[column].to_numpy(), want.metrics[column].to_numpy()) <= 1e-12, column
    blocks = evaluate(data, plans, 200, seed=3, backend="cupy", keep_matrix=True, max_memory=200_000)
    assert blocks.kernel and rel_err(blocks.npv_matrix, want.npv_matrix) <= 1e-12


def test_idle_gpus_to_market_runs_on_the_stand_in_as_on_numpy(fake_cupy):
    """Policy rule 5 on the CuPy path: the kernel launched through CuPy and the array code with CuPy
    as its array module give NumPy's figures, for a plan holding 30 % of its market GPUs idle, and the
    idle GPUs serve demand (more of it served than with the rule off)."""
    d = with_risk(MODELS["two_sites"](), **ALL_RISK)
    d["policy"] = {"idle_gpus_to_market": True}
    data = data_of(d)
    plans = batch(data, [with_idle_gpus(data, solved("two_sites").plan)], ["idle"])
    want = evaluate(data, plans, 200, seed=3, backend="numpy", keep_matrix=True)
    assert_cupy_gives(want, data, plans)
    d["policy"] = {}
    off = evaluate(data_of(d), plans, 200, seed=3, backend="numpy")
    assert want.metrics["demand_served_share"].iloc[0] > off.metrics["demand_served_share"].iloc[0]


def test_delivery_slips_run_on_the_stand_in_as_on_numpy(fake_cupy):
    """risk.delivery_slip on the CuPy path: each scenario runs on the plan as its slip leaves it (a
    contract late or cancelled, its GPUs delivered and paid late), through the kernel launched by
    CuPy and the array code with CuPy as its array module, with NumPy's figures."""
    from test_delivery_slip import contract, model, plan

    d = model({"probability": 0.5, "max_quarters": 2}, contract=contract(1))
    d["risk"].update(price_volatility_annual=0.3, customer_default_hazard_per_quarter=0.05)
    data = data_of(d)
    plans = batch(data, [plan(data, served=True)], ["slipping"])
    want = evaluate(data, plans, 200, seed=3, backend="numpy", keep_matrix=True)
    assert 0.3 < want.metrics["slipped_share"].iloc[0] < 0.7 and want.metrics["cancelled_share"].iloc[0] > 0
    assert_cupy_gives(want, data, plans)


def test_plans_prepaying_three_facilities_run_fused_on_the_stand_in_as_on_numpy(fake_cupy):
    """test_kernel_cpu's three loans (one fixed, one floating, one bullet) under every risk factor,
    prepaid on all three, cut in many scenarios: the kernel launched by CuPy, with a kept balance per
    facility (it ran the array code beyond one), gives NumPy's figures."""
    from test_kernel_cpu import three_prepayments, varied_loans_model

    data = data_of(varied_loans_model())
    plans = batch(data, [three_prepayments(data), three_prepayments(data, quarter=1)], ["q0", "q1"])
    want = evaluate(data, plans, 200, seed=3, backend="numpy", keep_matrix=True)
    assert want.metrics["prepayment_cut_share"].iloc[0] > 0.5
    assert_cupy_gives(want, data, plans)

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
from evaluate_builders import ALL_RISK, MODELS, batch, plan_variants, rel_err, solved, with_risk
from milp_builders import data_of

from fleetopt import api
from fleetopt.evaluate import evaluate, generate_scenarios, resolve_backend
from fleetopt.evaluate.backend import c_compiler
from fleetopt.evaluate.kernel import KernelShape, cpu_kernel, plan_tables
from fleetopt.evaluate.simulate import RESULT_FIELDS, SimulationConstants, simulate
from fleetopt.schema.loading import bundled_model_path

pytestmark = pytest.mark.skipif(
    c_compiler() is None, reason="no C compiler: the kernel's C build cannot be made"
)

BUNDLED = ["tiny", "lab", "neocloud"]


def assert_agree(consts, plans, scen) -> dict:
    want = simulate(consts, plans, scen)
    got = cpu_kernel(1).simulate(consts, plans, scen)
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
    result = api.solve(name, mip_gap=0.05, time_limit=120)
    plans, labels = plan_variants(result.data, result.plan)
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
    monkeypatch.setenv("CC", f"env {c_compiler_default()}")  # a command with arguments, as make takes $CC
    assert resolve_backend("cpu-kernel").name == "cpu-kernel"


def c_compiler_default() -> str:
    import shutil

    return next(name for name in ("cc", "gcc", "clang") if shutil.which(name))

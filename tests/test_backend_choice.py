"""Which backend `auto` runs on a machine without a GPU, and a C build that fails.

`auto` runs the C build of the kernel for evaluations of at least
``AUTO_C_BUILD_PAIR_QUARTERS`` plan-scenario-quarters where a C compiler builds it, NumPy
otherwise; either way the figures are NumPy's (to 1e-12). A compiler that fails never costs the
run: `auto` falls back to NumPy and says why; `--backend cpu-kernel` stops before the run starts,
naming the compiler, with nothing written.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli

import fleetopt.evaluate.engine as engine
import fleetopt.evaluate.kernel as kernel
from fleetopt import api
from fleetopt.evaluate import compile_plans, evaluate
from fleetopt.evaluate.backend import c_compiler
from fleetopt.evaluate.engine import choose_backend

needs_cc = pytest.mark.skipif(c_compiler() is None, reason="no C compiler on PATH")


@pytest.fixture
def no_gpu(monkeypatch, tmp_path):
    """No usable CuPy, a build cache of the test's own and no C build made before it."""
    import fleetopt.evaluate.backend as backend

    monkeypatch.setattr(backend, "cupy_status", lambda: (None, "CuPy is not installed"))
    monkeypatch.setenv("FLEETOPT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(kernel, "_CPU_KERNELS", {})


@pytest.fixture(scope="module")
def tiny_plans():
    _, data = api.load("tiny")
    result = api.solve("tiny")
    return data, compile_plans(data, [result.plan], ["milp"])


def _work(data, plans, scenarios):
    return plans.P * scenarios * data.T


@needs_cc
def test_auto_runs_the_c_build_from_the_threshold_on_with_numpys_figures(no_gpu, monkeypatch, tiny_plans):
    data, plans = tiny_plans
    monkeypatch.setattr(engine, "AUTO_C_BUILD_PAIR_QUARTERS", _work(data, plans, 300))
    assert choose_backend("auto", 1, data, plans, 299).name == "numpy"
    chosen = choose_backend("auto", 1, data, plans, 300)
    assert chosen.name == "cpu-kernel"
    assert "auto: 2,400 plan-scenario-quarters" in chosen.device  # tiny: 8 quarters
    fast = evaluate(data, plans, 300, seed=3, backend="auto", keep_matrix=True)
    slow = evaluate(data, plans, 300, seed=3, backend="numpy", keep_matrix=True)
    assert (fast.backend, fast.kernel, slow.backend) == ("cpu-kernel", True, "numpy")
    np.testing.assert_allclose(fast.npv_matrix, slow.npv_matrix, rtol=1e-12, atol=1e-6)


def test_auto_stays_on_numpy_without_a_compiler(no_gpu, monkeypatch, tiny_plans):
    data, plans = tiny_plans
    monkeypatch.setattr(engine, "AUTO_C_BUILD_PAIR_QUARTERS", 1)
    monkeypatch.setenv("CC", "no-such-compiler-anywhere")
    chosen = choose_backend("auto", 1, data, plans, 300)
    assert (chosen.name, chosen.note) == ("numpy", "")


def test_a_failing_compiler_leaves_auto_on_numpy_saying_why(no_gpu, monkeypatch, tiny_plans):
    data, plans = tiny_plans
    monkeypatch.setattr(engine, "AUTO_C_BUILD_PAIR_QUARTERS", 1)
    monkeypatch.setenv("CC", "false")  # found on PATH, and fails every build
    result = evaluate(data, plans, 50, seed=3, backend="auto")
    assert result.backend == "numpy"
    assert "auto chose NumPy: the C build of the kernel (fleetopt/evaluate/kernel.cu) by 'false' failed" in (
        result.device
    )


def test_cpu_kernel_with_a_failing_compiler_stops_before_the_run(no_gpu, monkeypatch, here):
    code, stdout, stderr = run_cli("solve", "tiny", "--out", "plan")
    assert code == 0, stdout + stderr
    monkeypatch.setenv("CC", "false")
    code, stdout, stderr = run_cli(
        "evaluate", "--plans", "plan", "--scenarios", "20", "--backend", "cpu-kernel", "--out", "risk"
    )
    assert code == 2, stdout + stderr
    assert "the C build of the kernel (fleetopt/evaluate/kernel.cu) by 'false' failed" in stderr
    assert "Evaluate with --backend numpy" in stderr
    assert not (here / "risk").exists()
    assert sorted(p.name for p in (here / "runs").iterdir()) == ["registry.sqlite"]  # no evaluation folder

"""Which backend `auto` runs on a machine without a GPU, and a C build that fails.

`auto` runs the C build of the kernel for evaluations of at least
``AUTO_C_BUILD_PAIR_QUARTERS`` plan-scenario-quarters where a C compiler builds it, NumPy
otherwise; either way the figures are NumPy's (to 1e-12). A compiler that fails never costs the
run: `auto` falls back to NumPy and says why; `--backend cpu-kernel` stops before the run starts,
naming the compiler, with nothing written.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import interrupt_at, needs_cc, run_cli

import fleetopt.evaluate.backend_choice as backend_choice
import fleetopt.evaluate.chunk_eval as chunk_eval
import fleetopt.evaluate.kernel.compiler as kernel_compiler
import fleetopt.evaluate.kernel.cpu as kernel_cpu
import fleetopt.evaluate.tiling as tiling
from fleetopt import api
from fleetopt.evaluate.backend import BackendError, c_compiler
from fleetopt.evaluate.backend_choice import choose_backend
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.kernel.compiler import KernelBuildError
from fleetopt.evaluate.kernel.shape import KernelShape
from fleetopt.evaluate.simulate import SimulationConstants
from fleetopt.sweep.rule import Rule


@pytest.fixture
def no_gpu(monkeypatch, tmp_path):
    """No usable CuPy, a build cache of the test's own and no C build made before it."""
    import fleetopt.evaluate.backend as backend

    monkeypatch.setattr(backend, "cupy_status", lambda: (None, "CuPy is not installed"))
    monkeypatch.setattr(backend, "nvidia_gpu_present", lambda: False)
    monkeypatch.setenv("FLEETOPT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(kernel_cpu, "_CPU_KERNELS", {})


def test_a_gpu_machine_without_cupy_is_told_why_auto_runs_on_the_cpu(no_gpu, monkeypatch):
    """A cloud GPU instance where the GPU extra was forgotten ran a large job on NumPy, saying only
    "on numpy": the device line now says the GPU is there and how to install CuPy."""
    import fleetopt.evaluate.backend as backend

    assert backend.resolve_backend("auto").note == ""  # no GPU, no CuPy: nothing worth saying
    monkeypatch.setattr(backend, "nvidia_gpu_present", lambda: True)
    chosen = backend.resolve_backend("auto")
    assert chosen.name == "numpy"
    assert "this machine has an NVIDIA GPU but CuPy is not installed" in chosen.note
    assert 'pip install "fleetopt[gpu]"' in chosen.device


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
    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", _work(data, plans, 300))
    assert choose_backend("auto", 1, data, plans, 299).name == "numpy"
    chosen = choose_backend("auto", 1, data, plans, 300)
    assert chosen.name == "cpu-kernel"
    assert "auto: 2,400 plan-scenario-quarters" in chosen.device  # tiny: 8 quarters
    fast = evaluate(data, plans, 300, seed=3, backend="auto", keep_matrix=True)
    slow = evaluate(data, plans, 300, seed=3, backend="numpy", keep_matrix=True)
    assert (fast.backend, fast.kernel, slow.backend) == ("cpu-kernel", True, "numpy")
    np.testing.assert_allclose(fast.npv_matrix, slow.npv_matrix, rtol=1e-12, atol=1e-6)


@needs_cc
def test_plans_beyond_the_kernel_say_so_on_the_run_line(no_gpu, monkeypatch, tiny_plans):
    """`--backend cpu-kernel` on sweep candidates prepaying three facilities said "fused kernel
    built by cc" while they ran NumPy (the kernel tracks cut prepayments on one), and `auto` chose
    NumPy for them in silence: both now say why."""
    data, plans = tiny_plans
    why = "the fused kernel tracks cut prepayments on at most 1 facility (these plans: 3)"
    for module in (backend_choice, chunk_eval, tiling):  # the choice, the chunk and its scenarios' layout
        monkeypatch.setattr(module, "kernel_fits", lambda plans, consts: why)
    chosen = choose_backend("cpu-kernel", 1, data, plans, 300)
    assert chosen.name == "cpu-kernel"
    unfused = "a chunk of plans beyond it runs the NumPy simulation, with the same results"
    assert chosen.note == f"{why}: {unfused}"
    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", 1)
    auto = choose_backend("auto", 1, data, plans, 300)
    assert (auto.name, auto.note) == ("numpy", f"auto chose NumPy: {why}")
    result = evaluate(data, plans, 50, seed=3, backend="cpu-kernel")
    assert (result.backend, result.kernel) == ("cpu-kernel", False)


def test_auto_stays_on_numpy_without_a_compiler(no_gpu, monkeypatch, tiny_plans):
    data, plans = tiny_plans
    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", 1)
    monkeypatch.setenv("CC", "no-such-compiler-anywhere")
    chosen = choose_backend("auto", 1, data, plans, 300)
    assert (chosen.name, chosen.note) == ("numpy", "")


def test_a_failing_compiler_leaves_auto_on_numpy_saying_why(no_gpu, monkeypatch, tiny_plans):
    data, plans = tiny_plans
    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", 1)
    monkeypatch.setenv("CC", "false")  # found on PATH, and fails every build
    result = evaluate(data, plans, 50, seed=3, backend="auto")
    assert result.backend == "numpy"
    assert result.device.endswith(
        "auto chose NumPy: the C build of the kernel by 'false' (a probe library) failed (exit status 1, "
        "printing nothing)"
    )


def test_cpu_kernel_with_a_failing_compiler_stops_before_the_run(no_gpu, monkeypatch, here):
    code, stdout, stderr = run_cli("solve", "tiny", "--out", "plan")
    assert code == 0, stdout + stderr
    monkeypatch.setenv("CC", "false")
    code, stdout, stderr = run_cli(
        "evaluate", "--plans", "plan", "--scenarios", "20", "--backend", "cpu-kernel", "--out", "risk"
    )
    assert code == 2, stdout + stderr
    assert "the C build of the kernel (fleetopt/evaluate/kernel.cu) by 'false' (a probe library) failed" in (
        stderr
    )
    assert "Evaluate with backend 'numpy' (--backend numpy)" in stderr
    assert not (here / "risk").exists()
    assert sorted(p.name for p in (here / "runs").iterdir()) == ["registry.sqlite"]  # no evaluation folder


def _script(folder, name: str, body: str) -> str:
    path = folder / name
    path.write_text(body)
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("#!/bin/sh\necho 'cc1: fatal error: omp.h: No such file or directory' >&2\nexit 1\n",
         "failed (exit status 1: cc1: fatal error: omp.h: No such file or directory)"),
        ("#!/no/such/interpreter\n", "could not be run (No such file or directory)"),
        ('#!/bin/sh\ncase "$1" in --version) echo mycc 1.0; exit 0;; esac\nexec sleep 30\n',
         "did not finish in 1 s"),
        # CC=echo: runs, succeeds, writes nothing (it was blamed on a folder mounted noexec)
        ("#!/bin/sh\nexit 0\n", "made no library, though it ran without error: not a C compiler"),
    ],
    ids=["fails", "cannot-run", "hangs", "not-a-compiler"],
)
def test_a_compiler_that_fails_cannot_run_or_hangs_is_named_and_auto_runs_numpy(
    no_gpu, monkeypatch, tmp_path, tiny_plans, body, reason
):
    data, plans = tiny_plans
    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", 1)
    if "sleep" in body:  # only the hanging one waits out a short limit: under load, a script that
        monkeypatch.setattr(kernel_compiler, "PROBE_TIMEOUT_S", 1)  # exits at once could take past 1 s too
    compiler = _script(tmp_path, "mycc", body)
    monkeypatch.setenv("CC", compiler)
    chosen = choose_backend("auto", 1, data, plans, 100)
    assert chosen.name == "numpy"
    by = f"by {compiler!r} (a probe library)"
    assert chosen.note == f"auto chose NumPy: the C build of the kernel {by} {reason}"
    with pytest.raises(BackendError, match=re.escape(reason)):
        choose_backend("cpu-kernel", 1, data, plans, 100)


@needs_cc
def test_a_damaged_build_in_the_cache_is_built_again(no_gpu, monkeypatch, tiny_plans):
    """A library in the cache that does not load (cut short by a full disk, say) is removed and
    built again, once."""
    data, plans = tiny_plans
    shape = KernelShape.of(SimulationConstants.from_data(data), plans, scenario_major=True)
    kernel_cpu.CpuKernel(threads=1).library(shape)  # built and kept
    builds, loads = [], []
    real_build, real_load = kernel_cpu.build_library, kernel_cpu._loaded
    monkeypatch.setattr(kernel_cpu, "build_library", lambda *a: builds.append(1) or real_build(*a))

    def first_load_fails(path):
        loads.append(path)
        if len(loads) == 1:
            raise OSError(f"{path}: file too short")
        return real_load(path)

    monkeypatch.setattr(kernel_cpu, "_loaded", first_load_fails)
    kernel_cpu.CpuKernel(threads=1).library(shape)
    assert len(builds) == 1 and len(loads) == 2 and loads[0] == loads[1]


@needs_cc
def test_a_cache_whose_builds_cannot_be_loaded_is_named(no_gpu, monkeypatch, tiny_plans):
    """A build cache on a noexec mount: every library built there fails to load."""
    data, plans = tiny_plans
    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", 1)

    def refused(path):
        raise OSError(f"{path}: failed to map segment from shared object")

    monkeypatch.setattr(kernel_cpu, "_loaded", refused)
    chosen = choose_backend("auto", 1, data, plans, 100)
    assert chosen.name == "numpy" and "cannot be loaded" in chosen.note
    assert "set $FLEETOPT_CACHE_DIR to another folder" in chosen.note
    with pytest.raises(BackendError, match="mounted noexec"):
        choose_backend("cpu-kernel", 1, data, plans, 100)


@needs_cc
def test_a_sweep_resumed_on_the_c_build_uses_the_chunks_numpy_saved(no_gpu, monkeypatch, tmp_path,
                                                                   numpy_sweep):
    """A sweep stopped while NumPy evaluated it (its compiler failing then), resumed where `auto`
    runs the C build: the chunks saved before are used (job.json keeps the chunk sizes, which
    would otherwise follow the backend), and the figures are NumPy's."""

    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", 1)
    folder = tmp_path / "sweep"
    monkeypatch.setenv("CC", "false")
    _sweep_stopped_in_its_evaluation(folder, "auto")
    monkeypatch.delenv("CC")
    resumed = api.resume_sweep(folder)
    assert resumed.evaluation.backend == "cpu-kernel"
    assert resumed.evaluation.pairs_stored == 2 * 100_000  # NumPy's chunks here are one plan each
    np.testing.assert_allclose(
        resumed.metrics.select_dtypes("number"), numpy_sweep.metrics.select_dtypes("number"), rtol=1e-12
    )


@needs_cc
@pytest.mark.parametrize("backend", ["auto", "cpu-kernel"])
def test_worker_processes_run_the_c_build_where_this_process_would(no_gpu, monkeypatch, tmp_path, backend):
    """`--workers 2` with auto on a large run (here: the threshold set low) or with cpu-kernel: each
    worker runs the C build, with the in-process C build's figures (before: NumPy, silently)."""
    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", 1)
    solved = api.solve("tiny")
    run = api.write_solve_run(solved, out=tmp_path / "plan")
    job = api.prepare_evaluation(run, scenarios=300, seed=5, backend=backend, keep_matrix=True, workers=2)
    pooled = job.run()
    local, _, _ = api.evaluate(run, scenarios=300, seed=5, backend="cpu-kernel", keep_matrix=True)
    assert (pooled.backend, local.backend) == ("cpu-kernel", "cpu-kernel")
    assert pooled.device.startswith("CPU (2 worker processes, fused kernel built as C)")
    assert np.array_equal(pooled.npv_matrix, local.npv_matrix)


def test_an_evaluation_chooses_its_backend_once(no_gpu, monkeypatch, tmp_path, tiny_plans):
    """`--backend numpy` on a run large enough for auto's C build never runs the compiler: the
    job's backend is the one used (the evaluation once chose again, as auto)."""
    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", 1)

    def no_build(*args):
        raise AssertionError("the C build was started for a NumPy run")

    monkeypatch.setattr(backend_choice, "build_cpu_kernel", no_build)
    run = api.write_solve_run(api.solve("tiny"), out=tmp_path / "plan")
    result, _, _ = api.evaluate(run, scenarios=50, backend="numpy")
    assert result.backend == "numpy"
    job = api.prepare_evaluation(run, scenarios=50, backend="numpy", workers=2)
    assert job.run().backend == "numpy"


def test_a_build_error_from_a_worker_reads_as_raised():
    import pickle

    error = KernelBuildError("by 'cc' failed (exit status 1: x.c:1: error: y)", "x.c:1: error: y")
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.reason, again.detail) == (str(error), error.reason, error.detail)


def test_worker_processes_say_why_auto_chose_numpy(no_gpu, monkeypatch, tmp_path):
    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", 1)
    monkeypatch.setenv("CC", "false")
    run = api.write_solve_run(api.solve("tiny"), out=tmp_path / "plan")
    result = api.prepare_evaluation(run, scenarios=50, workers=2).run()
    assert result.backend == "numpy"
    assert result.device.startswith(
        "CPU (2 worker processes); auto chose NumPy: the C build of the kernel by 'false'"
    )


@needs_cc
def test_a_sweep_whose_kernel_build_fails_after_its_solves_says_how_to_finish(no_gpu, monkeypatch, here):
    """A compiler that builds the probes but not the kernel: the sweep's solves are done when the
    build fails; it keeps them and names the two ways to finish, not the memory remedies."""
    real = c_compiler()
    compiler = _script(here, "probes-only-cc", f'''#!/bin/sh
case "$*" in *probe*|--version) exec {real} "$@";; esac
echo "kernel.c:1:1: error: this compiler builds no kernels" >&2
exit 1
''')
    monkeypatch.setenv("CC", compiler)
    code, stdout, stderr = run_cli(
        "sweep", "tiny", "--candidates", "3", "--scenarios", "50", "--backend", "cpu-kernel", "--out", "sw"
    )
    assert code == 2, stdout + stderr
    assert "error: this compiler builds no kernels" in stderr
    assert "fleetopt sweep --resume sw once the compiler works" in stderr
    assert "fleetopt evaluate --plans sw --backend numpy" in stderr and "--max-memory" not in stderr


def test_an_evaluation_whose_kernel_build_fails_on_a_node_says_how_to_finish(monkeypatch, here):
    """A C build that fails during the run (on a Ray node: this machine built it before) keeps the
    run folder and names the resume that finishes it."""
    from fleetopt.evaluate.jobfolder import EvaluationJob

    code, stdout, stderr = run_cli("solve", "tiny", "--out", "plan")
    assert code == 0, stdout + stderr

    def node_without_compiler(self, folder=None, progress=None):
        raise KernelBuildError("by 'cc' could not be run (No such file or directory)")

    with monkeypatch.context() as patch:
        patch.setattr(EvaluationJob, "run", node_without_compiler)
        code, stdout, stderr = run_cli("evaluate", "--plans", "plan", "--scenarios", "20", "--out", "risk")
    assert code == 2, stdout + stderr
    assert "by 'cc' could not be run" in stderr
    said = ("The run is kept in risk (no evaluation chunk yet; the run's model and settings saved): once "
            "every node builds it, finish with: fleetopt evaluate --resume risk")  # fmt: skip
    assert said in " ".join(stderr.split())
    code, stdout, stderr = run_cli("evaluate", "--resume", "risk")
    assert code == 0, stdout + stderr
    assert (here / "risk" / "metrics.csv").exists()


def test_job_json_keeps_the_threads_asked_for_not_this_machine_s(tmp_path):
    """A run without --threads stored this machine's core count (2 here) in job.json, so a resume on
    a smaller machine oversubscribed its cores; --workers and Ray runs stored 1."""
    run = api.write_solve_run(api.solve("tiny"), out=tmp_path / "plan")
    assert api.prepare_evaluation(run, scenarios=20).settings["threads"] is None
    assert api.prepare_evaluation(run, scenarios=20, workers=2).settings["threads"] is None
    assert api.prepare_evaluation(run, scenarios=20, threads=1).settings["threads"] == 1


def test_a_resume_may_change_how_the_job_runs(no_gpu, here):
    """A job started on a GPU (job.json: backend cupy) could not be finished on a machine without
    one: --resume ran it with job.json's settings only. --backend (and --threads, --workers,
    --executor) beside --resume now run it another way, with the same figures; what it computes
    (--scenarios) still cannot change."""
    code, stdout, stderr = run_cli("solve", "tiny", "--out", "plan")
    assert code == 0, stdout + stderr
    job = api.prepare_evaluation(here / "plan", scenarios=40, seed=5, backend="numpy")
    job.settings["backend"] = "cupy"  # as the GPU machine that started it wrote it
    job.start(here / "E")
    code, stdout, stderr = run_cli("evaluate", "--resume", "E")
    assert code == 2 and "The job started with backend 'cupy': finish it here with fleetopt evaluate " \
        "--resume E --backend auto" in " ".join(stderr.split()), stdout + stderr  # fmt: skip
    code, stdout, stderr = run_cli("evaluate", "--resume", "E", "--scenarios", "30")
    assert code == 2 and "--scenarios cannot apply with --resume" in " ".join(stderr.split())
    code, stdout, stderr = run_cli("evaluate", "--resume", "E", "--backend", "numpy", "--threads", "1")
    assert code == 0, stdout + stderr
    assert "on numpy, CPU (1 thread), in" in stdout
    code, stdout, stderr = run_cli("evaluate", "--plans", "plan", "--scenarios", "40", "--seed", "5",
                                   "--backend", "numpy", "--out", "F")  # fmt: skip
    assert code == 0, stdout + stderr
    assert (here / "E" / "metrics.csv").read_bytes() == (here / "F" / "metrics.csv").read_bytes()
    assert json.loads((here / "E" / "job.json").read_text())["backend"] == "cupy"  # job.json keeps its own


def test_a_sweep_resume_may_change_its_backend(no_gpu, tmp_path, numpy_sweep):
    """A sweep started on a GPU could not be finished without one. `--resume` with `--backend`
    (api.resume_sweep(backend=...)) evaluates the rest another way, keeping the chunks saved, with
    the same figures; without it the message says so."""

    folder = tmp_path / "sweep"
    _sweep_stopped_in_its_evaluation(folder, "numpy")
    job = json.loads((folder / "job.json").read_text())
    (folder / "job.json").write_text(json.dumps({**job, "backend": "cupy"}))  # as a GPU machine wrote it
    said = f"finish it here with fleetopt sweep --resume {folder} --backend auto"
    with pytest.raises(BackendError, match=re.escape(said)):
        api.resume_sweep(folder)
    resumed = api.resume_sweep(folder, backend="numpy", threads=1)
    assert resumed.evaluation.backend == "numpy" and resumed.evaluation.pairs_stored == 2 * 100_000
    pd.testing.assert_frame_equal(resumed.metrics, numpy_sweep.metrics, check_exact=True)
    assert json.loads((folder / "job.json").read_text())["backend"] == "cupy"  # job.json keeps its own


def test_resume_settings_are_checked_and_job_json_is_kept(no_gpu, tmp_path):
    """A review of the resume's settings: a sweep stopped while making its candidates wrote the
    resume's --backend and capped --threads into job.json; threads="3" raised a TypeError; a Ray
    job whose cluster is gone was not told of --executor local; --backend cupy on a job of
    --workers 2 blamed the workers the user never gave."""
    from fleetopt.evaluate.ray_executor import RayUnavailable

    folder, made = tmp_path / "sweep", []

    def stop_at_the_second(label):
        made.append(label)
        if len(made) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", candidates=3, scenarios=50, seed=3, folder=folder,
                  candidate_progress=stop_at_the_second)  # fmt: skip
    started = json.loads((folder / "job.json").read_text())
    api.resume_sweep(folder, backend="numpy", threads=1)
    finished = json.loads((folder / "job.json").read_text())
    kept = (finished["backend"], finished["threads"])
    assert kept == (started["backend"], started["threads"]) == ("auto", None)

    run = api.write_solve_run(api.solve("tiny"), out=tmp_path / "plan")
    job = api.prepare_evaluation(run, scenarios=20, workers=2)
    job.start(tmp_path / "E")
    with pytest.raises(api.InputError, match="threads must be a whole number"):
        api.resume_evaluation(tmp_path / "E", threads="3")
    with pytest.raises(BackendError, match="backend 'cupy' needs CuPy") as raised:
        api.resume_evaluation(tmp_path / "E", backend="cupy")
    assert "workers" not in str(raised.value)
    ray_job = json.loads((tmp_path / "E" / "job.json").read_text())
    gone = {**ray_job, "executor": "ray", "ray_address": "127.0.0.1:1"}  # a cluster no longer there
    (tmp_path / "E" / "job.json").write_text(json.dumps(gone))
    pytest.importorskip("ray")
    with pytest.raises(RayUnavailable, match=r"finish it on this machine with fleetopt evaluate --resume .* "
                       r"--executor local"):  # fmt: skip
        api.resume_evaluation(tmp_path / "E")
    assert api.resume_evaluation(tmp_path / "E", executor="local").run(tmp_path / "E").backend == "numpy"


def test_threads_on_the_resume_of_a_job_of_worker_processes_or_ray_are_refused(no_gpu, here):
    """--threads beside --resume of a job started with --workers 2 (or on Ray) was dropped in
    silence: the resume ran the job's 2 one-thread worker processes, as a new run given both would
    not (it is refused). It is refused, naming the job's setting and the one that lets it apply: the
    terminal by the options alone (it said "threads (--threads)", the API's argument beside the option,
    and "workers=1 (--workers 1)"), Python by the argument and the option."""
    run = api.write_solve_run(api.solve("tiny"), out=here / "plan")
    api.prepare_evaluation(run, scenarios=20, seed=4, workers=2).start(here / "E")
    code, stdout, stderr = run_cli("evaluate", "--resume", "E", "--threads", "1")
    said = " ".join(stderr.split())
    assert code == 2 and said == ("error: --threads cannot apply with job.json's workers 2: each worker "
                                  "process or Ray task runs one thread; give --workers 1 with it, or leave "
                                  "out --threads"), stdout + stderr  # fmt: skip
    python_said = ("threads (--threads) cannot apply with job.json's workers 2: each worker process or Ray "
                   "task runs one thread; give workers=1 (--workers 1) with it, or leave out threads "
                   "(--threads)")
    with pytest.raises(api.InputError, match=re.escape(python_said) + "$"):
        api.resume_evaluation(here / "E", threads=1)
    assert not (here / "E" / "metrics.csv").exists()
    job = json.loads((here / "E" / "job.json").read_text())
    (here / "E" / "job.json").write_text(json.dumps({**job, "workers": 1, "executor": "ray"}))
    ray_said = r"job.json's executor 'ray'.*executor='local' \(--executor local\)"
    with pytest.raises(api.InputError, match=ray_said):
        api.resume_evaluation(here / "E", threads=1)
    code, stdout, stderr = run_cli("evaluate", "--resume", "E", "--threads", "1", "--executor", "local")
    assert code == 0, stdout + stderr
    assert "CPU (1 thread)" in stdout


def test_a_ray_address_on_the_resume_of_a_local_job_is_refused_by_its_option(no_gpu, here):
    """`evaluate --resume E --ray-address A` of a job on this machine said "ray_address (--ray-address)
    cannot apply without the ray executor (--executor ray)", the API's names beside the options: the
    terminal names the options alone; Python keeps both."""
    run = api.write_solve_run(api.solve("tiny"), out=here / "plan")
    api.prepare_evaluation(run, scenarios=20, seed=4).start(here / "E")
    code, stdout, stderr = run_cli("evaluate", "--resume", "E", "--ray-address", "127.0.0.1:1")
    assert (code, stdout, stderr) == (2, "", "error: --ray-address cannot apply without --executor ray\n")
    python_said = "ray_address (--ray-address) cannot apply without the ray executor (--executor ray)"
    with pytest.raises(api.InputError, match=re.escape(python_said) + "$"):
        api.resume_evaluation(here / "E", ray_address="127.0.0.1:1")


def test_workers_with_the_ray_executor_are_refused(no_gpu, here):
    """--workers 2 with --executor ray was dropped in silence: Ray runs a task on each CPU (or GPU)
    of its cluster, and the run ran so. It is refused by name, before Ray starts, in a new run and
    beside --resume (a job's own workers, resumed on Ray, are the job's: not refused). The CLI says
    it in its options' words (it named the API's argument, executor='ray'); the API in its own."""
    run = api.write_solve_run(api.solve("tiny"), out=here / "plan")
    code, stdout, stderr = run_cli("evaluate", "--plans", "plan", "--scenarios", "20", "--executor", "ray",
                                   "--workers", "2", "--out", "R")  # fmt: skip
    said = " ".join(stderr.split())
    assert code == 2, stdout
    assert ("error: --workers cannot apply with --executor ray, which runs a task on each CPU (or GPU) of "
            "the Ray cluster: leave --workers out") in said
    assert "executor=" not in said and "Traceback" not in stderr
    assert not (here / "R").exists()
    with pytest.raises(api.InputError, match=r"workers \(--workers\) cannot apply with executor='ray'"):
        api.prepare_evaluation(run, scenarios=20, executor="ray", workers=2)
    api.prepare_evaluation(run, scenarios=20, seed=4).start(here / "E")
    with pytest.raises(api.InputError, match=r"workers \(--workers\) cannot apply with executor='ray'"):
        api.resume_evaluation(here / "E", executor="ray", workers=2)
    code, _, stderr = run_cli("evaluate", "--resume", "E", "--executor", "ray", "--workers", "2")
    said = " ".join(stderr.split())
    assert code == 2 and "error: --workers cannot apply with --executor ray, which" in said
    job = json.loads((here / "E" / "job.json").read_text())
    (here / "E" / "job.json").write_text(json.dumps({**job, "executor": "ray"}))
    with pytest.raises(api.InputError, match=r"workers \(--workers\) cannot apply with executor='ray'"):
        api.resume_evaluation(here / "E", workers=2)
    code, _, stderr = run_cli("evaluate", "--resume", "E", "--workers", "2")
    said = " ".join(stderr.split())
    assert code == 2 and "--workers cannot apply with --executor ray (the job's, in its job.json)" in said
    assert "executor=" not in said


SWEPT = {"candidates": 5, "scenarios": 100_000, "seed": 3}  # NumPy's chunks are one plan each there


def _sweep_stopped_in_its_evaluation(folder, backend: str) -> None:
    """A sweep of tiny (``SWEPT``) stopped after two evaluation chunks in ``folder``."""
    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", **SWEPT, rule=Rule(max_breach_prob=0.9), folder=folder, backend=backend,
                  progress=interrupt_at(2))  # fmt: skip


@pytest.fixture(scope="module")
def numpy_sweep():
    """The sweep ``_sweep_stopped_in_its_evaluation`` stops, run through on NumPy: the figures each
    resume must give, made once for the tests that only read them."""
    return api.sweep("tiny", **SWEPT, rule=Rule(max_breach_prob=0.9), backend="numpy")

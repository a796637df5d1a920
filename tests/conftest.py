"""Shared fixtures: the bundled tiny model's text, a helper that runs the CLI in-process, and what
every test runs under: a throw-away registry and build cache, a 120-column terminal, Ctrl-C as
Python's KeyboardInterrupt, and `gpu` tests skipped where no CUDA device is, failed where CuPy is
broken."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from fleetopt.evaluate.backend import c_compiler, cupy_status
from fleetopt.evaluate.kernel.cpu import CpuKernel

REPO = Path(__file__).resolve().parent.parent
TINY_PATH = REPO / "models" / "tiny.yaml"

NO_C_COMPILER = "no C compiler ($CC, cc, gcc or clang): the kernel's C build cannot be made"
# tests of the kernel's C build (CpuKernel), skipped on a machine without a C compiler
needs_cc = pytest.mark.skipif(c_compiler() is None, reason=NO_C_COMPILER)


def squashed(text: str) -> str:
    """Table text without borders or white space, so that a value folded over lines reads whole."""
    return re.sub(r"[\s\u2500-\u257f]+", "", text)


def pytest_configure(config):
    """A 120-column terminal before the test modules import fleetopt.cli, whose consoles take their
    width at import: pytest-xdist's workers inherit COLUMNS=80, which would narrow every table."""
    assert "fleetopt.cli.common" not in sys.modules, "conftest must not import fleetopt.cli"
    os.environ["COLUMNS"] = "120"


def interrupt_at(n: int):
    """A progress function (of any arguments) that raises KeyboardInterrupt, as a Ctrl-C would, at
    its ``n``-th call: a run stopped part-way, for the resume tests."""
    calls = []

    def progress(*args):
        calls.append(args)
        if len(calls) == n:
            raise KeyboardInterrupt

    return progress


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run `fleetopt ARGS` in-process and return (exit_code, stdout, stderr).

    Typer's CliRunner always keeps stderr apart from stdout. Exceptions are not caught:
    an internal crash fails the calling test with its traceback instead of reading as exit code 1.
    """
    from fleetopt.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# a run's first line in `fleetopt runs`: the first cell of its table row, or the first word of its
# block where the table does not fit with every folder whole; the group is its id
RUN_LINE = re.compile(r"^\s*│?\s*(\d+)(?:\s*│|  \d{4}-\d\d-\d\d )", re.MULTILINE)


def listed_ids(text: str) -> list[int]:
    """Run ids in the order `fleetopt runs` prints them (:data:`RUN_LINE`)."""
    return [int(m) for m in RUN_LINE.findall(text)]


def above_the_runs(listed: str) -> str:
    """What `fleetopt runs` prints before its first run (the table's title and header, or the blocks'
    heading lines), its white space squashed to single spaces."""
    return " ".join(listed[: RUN_LINE.search(listed).start()].split())


@pytest.fixture(scope="session")
def cpu_kernel(_session_environment) -> CpuKernel:
    """The kernel's C build (skipped without a C compiler)."""
    if c_compiler() is None:
        pytest.skip(NO_C_COMPILER)
    return CpuKernel()


@pytest.fixture(scope="session")
def neocloud_solved():
    """The default model solved to a 5 % gap, once for the session: the tests that need any plan of
    it (the identities, the kernel against NumPy, the forecast's reproduction) share it, a solve
    taking 20-40 s. Read it, do not change it."""
    from fleetopt import api

    result = api.solve("neocloud", mip_gap=0.05, time_limit=120)
    for array in vars(result.plan).values():  # a test that changed it would change the others'
        if hasattr(array, "setflags"):
            array.setflags(write=False)
    return result


@pytest.fixture(scope="session")
def solve_run(tmp_path_factory, _session_environment) -> Path:
    """A `fleetopt solve tiny` run folder (summary.json, plan.npz, model.yaml, ...), solved once for
    the session and shared by the tests that evaluate, compare or report it. Read it, do not write
    in it: a test that changes a file or writes a report there copies the folder first."""
    folder = tmp_path_factory.mktemp("solve")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLEETOPT_RUNS_DIR", str(folder / "runs"))  # the run registry stays in here too
        code, out, err = run_cli("solve", "tiny", "--out", str(folder / "A"))
    assert code == 0, out + err
    return folder / "A"


@pytest.fixture
def immutable():
    """Mark a path immutable (chattr +i: even root cannot write it) for the test; skipped where
    chattr or the file system cannot do it. Root writes into a folder whatever its mode: a test of
    an unwritable path run as root (a container, CI) needs this, a chmod is not enough."""
    marked = []

    def mark(path: Path) -> None:
        if shutil.which("chattr") is None or os.geteuid() != 0:
            pytest.skip("needs chattr as root")
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("the file system has no immutable flag")
        marked.append(path)

    yield mark
    for path in marked:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.fixture
def tiny_text() -> str:
    """Text of the bundled tiny model."""
    return TINY_PATH.read_text(encoding="utf-8")


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """Run in an empty folder, so that anything written by default (runs/) would be seen."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path


# property tests draw the same examples on every run and keep no example database in the checkout
settings.register_profile("fleetopt", derandomize=True, database=None)
settings.load_profile("fleetopt")

# why CuPy cannot run, when that is only the machine having no GPU (skip) rather than a broken install
_NO_GPU_HERE = ("CuPy is not installed", "CuPy is installed but sees no CUDA device", "cudaErrorNoDevice")


def pytest_collection_modifyitems(config, items):
    """`gpu` tests: skipped, with CuPy's own reason, on a machine without CuPy or a CUDA device; on
    one where CuPy is installed but cannot run (does not import, a driver or toolkit error, wrong
    results) they fail with that reason instead of skipping, so a GPU machine never passes quietly."""
    gpu_tests = [item for item in items if "gpu" in item.keywords]
    if not gpu_tests:
        return
    cupy, why = cupy_status()
    if cupy is not None:
        return
    no_gpu = any(words in why for words in _NO_GPU_HERE)
    for item in gpu_tests:
        item.add_marker(pytest.mark.skip(reason=why) if no_gpu else pytest.mark.cupy_broken(why))


def pytest_runtest_setup(item):
    broken = item.get_closest_marker("cupy_broken")
    if broken is not None:
        pytest.fail(f"a gpu test on a machine whose CuPy cannot run: {broken.args[0]}", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _session_environment(tmp_path_factory):
    """For the whole session, module and session fixtures included (they run before the per-test
    fixtures below): a throw-away registry and kernel build cache, never ./runs or the user's cache;
    a 120-column terminal, whatever the one running pytest is (rich fits tables to it); and Ctrl-C
    raising KeyboardInterrupt even where pytest was started with SIGINT ignored (`pytest &` in a
    script), as the tests of interrupted runs need."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLEETOPT_RUNS_DIR", str(tmp_path_factory.mktemp("session-runs")))
        mp.setenv("FLEETOPT_CACHE_DIR", str(tmp_path_factory.mktemp("build-cache")))
        mp.setenv("COLUMNS", "120")
        before = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, before)


@pytest.fixture(autouse=True)
def _isolated_run_registry(tmp_path_factory, monkeypatch):
    """Each test's runs go to a registry of its own (the session's kernel build cache is shared)."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))

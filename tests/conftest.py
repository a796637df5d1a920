"""Shared fixtures: the bundled tiny model's text and a helper that runs the CLI in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleetopt.cli import app

REPO = Path(__file__).resolve().parent.parent
TINY_PATH = REPO / "models" / "tiny.yaml"


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
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


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


@pytest.fixture(scope="session")
def _kernel_build_cache(tmp_path_factory) -> Path:
    """One build cache for the session's kernels (fleetopt.evaluate.build_cache), not the user's."""
    return tmp_path_factory.mktemp("build-cache")


@pytest.fixture(autouse=True)
def _isolated_run_registry(tmp_path_factory, monkeypatch, _kernel_build_cache):
    """Runs recorded by tests go to a throw-away registry, never to ./runs; the C builds of the
    kernel to a cache of the session's."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
    monkeypatch.setenv("FLEETOPT_CACHE_DIR", str(_kernel_build_cache))

"""The run registry where its disk is full: read as it is, never called damaged for the disk's fault."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from conftest import run_cli

from fleetopt.runs.registry import Registry, RegistryError


def _disk_full(self, wait=None):
    cause = sqlite3.OperationalError("database or disk is full")
    cause.sqlite_errorcode = sqlite3.SQLITE_FULL
    try:
        raise cause
    except sqlite3.Error as exc:
        raise self._unusable(exc, 0.0) from None
    yield  # never reached


@pytest.fixture
def registry_made_on_a_full_disk(tmp_path, monkeypatch):
    """A registry whose file SQLite made (its header, in WAL mode) before the full disk refused its
    table: what the first run recorded in a runs folder on a full disk leaves."""
    folder = tmp_path / "runs"
    folder.mkdir()
    con = sqlite3.connect(folder / "registry.sqlite")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    monkeypatch.setattr(Registry, "_connection", contextmanager(_disk_full))
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(folder))
    return Registry(folder)


def test_a_registry_made_on_a_full_disk_holds_no_runs(registry_made_on_a_full_disk):
    """`fleetopt runs` said "the run registry ... cannot be read or written (no such table: runs):
    move it away to start a new one": the file is sound, the disk full; it holds no run yet."""
    assert registry_made_on_a_full_disk.list() == []
    with pytest.raises(RegistryError, match="no run with id 1 in "):
        registry_made_on_a_full_disk.get(1)
    code, out, err = run_cli("runs")
    assert (code, out.strip(), err) == (0, "no runs recorded yet", "")
    code, out, err = run_cli("runs", "show", "1")
    assert code == 2 and "no run with id 1 in " in err and "move it away" not in err

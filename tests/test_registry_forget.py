"""Forgetting runs (`fleetopt runs forget`, `api.forget_runs`) and listing one kind (`--kind`).

Records are made directly (``Registry.record``) in folders of the test's own: what is checked is
which records go, which stay, and that no folder is touched.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import listed_ids, run_cli

from fleetopt import api
from fleetopt.errors import InputError
from fleetopt.runs.registry import Registry, RegistryError


@pytest.fixture
def three_runs(tmp_path, monkeypatch):
    """Run 1 (solve) in folder x, run 2 (evaluate) in folder y, run 3 (sweep) in folder x again:
    run 3 replaced run 1's files."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    registry = Registry()
    folders = {name: tmp_path / name for name in ("x", "y")}
    for folder in folders.values():
        folder.mkdir()
        (folder / "summary.json").write_text("{}")
    for kind, folder in (("solve", "x"), ("evaluate", "y"), ("sweep", "x")):
        registry.record(kind, "tiny", "0" * 16, folders[folder], {}, command=f"fleetopt {kind}")
    return registry, folders


def ids(records) -> list[int]:
    return [r.id for r in records]


def test_forgetting_a_run_takes_the_runs_it_replaced_and_keeps_its_folder(three_runs):
    registry, folders = three_runs
    assert ids(api.forget_runs([3])) == [1, 3]  # run 1 alone would name run 3's files
    assert ids(registry.list()) == [2]
    assert (folders["x"] / "summary.json").exists()


def test_forgetting_a_replaced_run_keeps_the_run_that_replaced_it(three_runs):
    registry, _ = three_runs
    assert ids(api.forget_runs([1])) == [1]
    assert ids(registry.list()) == [3, 2]
    assert registry.get(3).exists


def test_an_unknown_id_forgets_nothing(three_runs):
    registry, _ = three_runs
    with pytest.raises(RegistryError, match="no run with id 9"):
        api.forget_runs([2, 9])
    assert ids(registry.list()) == [3, 2, 1]


def test_missing_forgets_the_runs_whose_files_are_gone(three_runs):
    registry, folders = three_runs
    shutil.rmtree(folders["y"])
    assert ids(api.forget_runs(missing=True)) == [1, 2]  # 1: replaced by 3; 2: its folder deleted
    assert ids(registry.list()) == [3]
    assert api.forget_runs(missing=True) == []


@pytest.mark.parametrize(
    ("runs", "missing", "message"),
    [
        ([], False, "name the runs to forget"),
        (3, False, "runs must be a list of run ids or folders, not one int"),
        ("3", False, "runs must be a list of run ids or folders, not one str"),
        ([0], False, "no run with id 0"),
        (["no-such-folder"], False, "no such run folder or plan file, and not a run id"),
        ([""], False, "an empty name is not a run id or folder"),  # "" would be the current folder
        ([3], "yes", "missing must be"),
        (None, False, "runs must be a list of run ids or folders, not None"),
    ],
)
def test_bad_arguments_are_refused_by_name(three_runs, runs, missing, message):
    registry, _ = three_runs
    with pytest.raises(InputError, match=message):
        api.forget_runs(runs, missing=missing)
    assert ids(registry.list()) == [3, 2, 1]


def test_runs_given_as_a_generator_are_all_forgotten(three_runs):
    """A generator (the signature says Iterable) was used up by the check for empty names: the
    runs it named were left out, with no error (forget_runs(map(int, ["2"])) said none was named)."""
    registry, _ = three_runs
    assert ids(api.forget_runs((run for run in [2]), dry_run=True)) == [2]
    assert ids(api.forget_runs(map(int, ["2"]))) == [2]
    assert ids(registry.list()) == [3, 1]


def test_runs_are_named_by_id_digits_or_folder(three_runs):
    registry, folders = three_runs
    assert ids(api.forget_runs(["2"])) == [2]
    assert ids(api.forget_runs([folders["x"]])) == [1, 3]  # the folder's latest record, and the one before
    assert registry.list() == []


def test_a_dry_run_forgets_nothing(three_runs):
    registry, folders = three_runs
    shutil.rmtree(folders["y"])
    assert ids(api.forget_runs(missing=True, dry_run=True)) == [1, 2]
    assert ids(registry.list()) == [3, 2, 1]
    code, stdout, _ = run_cli("runs", "forget", "--missing", "--dry-run")
    expected = f"would forget run 2 (evaluate, tiny; folder missing: {folders['y']})"
    assert code == 0 and stdout.splitlines()[1] == expected
    assert ids(registry.list()) == [3, 2, 1]


def test_a_dry_run_reads_past_another_process_s_write_lock(three_runs, monkeypatch):
    """`runs forget --dry-run` took the write lock though it writes nothing: behind another process's
    transaction it waited up to a minute, then failed. It only reads now, so it answers meanwhile."""
    from test_registry import held

    registry, folders = three_runs
    shutil.rmtree(folders["y"])
    monkeypatch.setattr(Registry, "BUSY_SECONDS", 0.1)  # a dry run waiting for the lock fails, not hangs
    with held(registry, "IMMEDIATE"):
        assert ids(api.forget_runs([3], dry_run=True)) == [1, 3]
        code, stdout, err = run_cli("runs", "forget", "--missing", "--dry-run")
    assert code == 0, err
    assert f"would forget run 2 (evaluate, tiny; folder missing: {folders['y']})" in stdout.splitlines()
    assert ids(registry.list()) == [3, 2, 1]


@pytest.mark.usefixtures("three_runs")
def test_an_id_forgotten_meanwhile_by_another_process_is_refused_not_passed_over(monkeypatch):
    """The ids are checked in the transaction that removes them: a run another process removed
    after this one looked it up is an unknown run, not "nothing to forget"."""
    looked_up = Registry.find

    def find_then_removed_elsewhere(self, ref, name="a run"):
        record = looked_up(self, ref, name)
        Registry().forget([record.id])
        return record

    monkeypatch.setattr(Registry, "find", find_then_removed_elsewhere)
    with pytest.raises(RegistryError, match="no run with id 2"):
        api.forget_runs([2])


def test_the_command_says_what_it_forgot_and_where_the_folders_are(three_runs):
    _, folders = three_runs
    code, stdout, stderr = run_cli("runs", "forget", "3")
    assert code == 0, stdout + stderr
    lines = stdout.splitlines()
    assert lines[0] == f"forgot run 1 (solve, tiny; its folder holds run 3: {folders['x']})"
    assert lines[1] == f"forgot run 3 (sweep, tiny; folder kept: {folders['x']})"
    code, stdout, stderr = run_cli("runs", "forget")
    assert code == 2 and "give the runs to forget (ids or folders), or --missing" in stderr
    code, stdout, stderr = run_cli("runs", "forget", "--missing")
    assert (code, stdout.strip()) == (0, "no run to forget: every recorded run's folder is there")


def test_a_replaced_run_whose_folder_is_gone_is_said_missing_not_replaced(three_runs):
    """Folder x held run 1, then run 3 (which replaced run 1's files); x is deleted. `runs forget
    --missing` said of run 1 "its folder holds run 3": the folder holds nothing, it is gone. Both
    runs are said "folder missing", as a notebook's list says them "folder gone"."""
    registry, folders = three_runs
    shutil.rmtree(folders["x"])
    assert repr(registry.get(1)).endswith(", folder gone)")
    # the list, `runs show` and a run given by id say the same (they said "now run 3", "REPLACED: the
    # folder now holds run 3" and "now holds run 3 ... `fleetopt runs show 3`", a run itself missing)
    code, stdout, _ = run_cli("runs")
    assert code == 0 and "(now run 3)" not in stdout and stdout.count("(missing)") == 2, stdout
    code, stdout, _ = run_cli("runs", "show", "1")
    assert "REPLACED" not in stdout and "holds run 3" not in stdout, stdout
    with pytest.raises(RegistryError, match=r"run 1's folder .* is missing \(deleted or moved\)"):
        registry.resolve(1)
    code, stdout, stderr = run_cli("runs", "forget", "--missing")
    assert code == 0, stdout + stderr
    assert stdout.splitlines() == [f"forgot run 1 (solve, tiny; folder missing: {folders['x']})",
                                   f"forgot run 3 (sweep, tiny; folder missing: {folders['x']})"]  # fmt: skip


def test_an_empty_run_to_forget_is_refused_in_the_commands_words(three_runs):
    """`runs forget ""` said "runs: an empty name is not a run id or folder", the API's argument's
    name; it is refused as `runs show ""` is, naming the command's argument, and nothing goes."""
    registry, _ = three_runs
    code, _, stderr = run_cli("runs", "forget", "3", "")
    said = " ".join(stderr.split())
    assert code == 2 and "Invalid value for 'runs': give a run id or run folder, not an empty one" in said
    assert ids(registry.list()) == [3, 2, 1]


def test_runs_lists_one_kind(three_runs):
    assert ids(api.runs(kind="evaluate")) == [2]
    assert ids(api.runs(kind="sweep", model="tiny")) == [3]
    assert api.runs(kind="stochastic") == []
    with pytest.raises(InputError, match="kind must be one of solve, stochastic, evaluate, sweep"):
        api.runs(kind="plan")
    code, stdout, _ = run_cli("runs", "--kind", "solve")
    assert code == 0 and listed_ids(stdout) == [1]
    code, stdout, _ = run_cli("runs", "--kind", "stochastic", "--model", "tiny")
    assert stdout.strip() == "no stochastic runs recorded yet for model 'tiny'"

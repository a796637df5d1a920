"""A run folder given to the Python API is treated as the CLI's --out is: a sweep from a notebook,
stopped or failed, lets go of its folder (its lock: the notebook process lives on, unlike the CLI's)
and leaves no empty folder it made."""

from __future__ import annotations

import fcntl
import os

import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.errors import InputError
from fleetopt.runs.folder import RunFolder


def _lock_taken_by_another(folder) -> bool:
    """Whether another process could take the job's lock now (a second open file takes part in flock as
    another process's would): False while this process still holds it."""
    fd = os.open(folder / RunFolder.LOCK, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _no_forecast_plan(*args, **kwargs):
    raise InputError("the forecast has no plan")


def test_a_sweep_stopped_before_its_first_candidate_lets_go_of_its_folder(tmp_path, monkeypatch):
    """Ctrl-C in a notebook before any candidate: the job is kept (job.json, model.yaml) as the CLI keeps
    it, and another process (`fleetopt sweep --resume` in a terminal) may take it."""

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("fleetopt.sweep.run.generate_candidates", stop)
    folder = tmp_path / "S"
    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", candidates=3, scenarios=50, folder=folder)
    assert RunFolder(folder).interrupted_kind() == "sweep"
    assert _lock_taken_by_another(folder)
    assert RunFolder(folder).running_pid() is None


def test_a_sweep_whose_rule_no_candidate_meets_lets_go_of_its_folder(tmp_path):
    """Its candidates kept for a looser rule, the folder free for another process, and still resumable
    here."""
    folder = tmp_path / "S"
    with pytest.raises(api.RuleNotMet):
        api.sweep("tiny", candidates=3, scenarios=50, folder=folder, rule=api.Rule(min_cvar5_usd=1e15))
    assert (folder / RunFolder.CANDIDATES).exists()
    assert _lock_taken_by_another(folder)
    result = api.resume_sweep(folder, rule_changes={"min_cvar5_usd": None})
    assert len(result.metrics) == 3


def test_a_sweep_with_no_plan_for_the_forecast_leaves_no_folder_it_made(tmp_path, monkeypatch):
    """As the CLI's: no folder made and left empty; an empty folder the user made stays theirs."""
    monkeypatch.setattr("fleetopt.sweep.run.generate_candidates", _no_forecast_plan)
    new, theirs = tmp_path / "new" / "S", tmp_path / "theirs"
    theirs.mkdir()
    for folder in (new, theirs):
        with pytest.raises(InputError, match="the forecast has no plan"):
            api.sweep("tiny", candidates=3, scenarios=50, folder=folder)
    assert not new.exists()
    assert theirs.is_dir() and not any(theirs.iterdir())


def test_a_sweeps_result_is_written_into_its_own_folder_by_default(tmp_path, monkeypatch):
    """`fo.write_sweep_run(result)` of a sweep run with folder=F wrote a new default folder and left F
    an unfinished sweep (job.json, chunks and the notebook's lock), which `fleetopt runs` listed as
    running: its own folder is where the result goes where no other is given."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    folder = tmp_path / "sweep"
    result = api.sweep("tiny", candidates=2, scenarios=10, folder=folder)
    assert result.job_folder == folder
    written = api.write_sweep_run(result)
    assert written == folder.resolve() or written == folder
    assert (folder / RunFolder.SUMMARY).exists() and not (folder / "chunks").exists()
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(p.name.endswith("-tiny") for p in runs.iterdir())  # no second folder
    in_memory = api.sweep("tiny", candidates=2, scenarios=10)  # no folder: a new default one, as before
    assert in_memory.job_folder is None


def test_a_sweep_given_folder_true_claims_a_new_folder_in_the_runs_folder(tmp_path, monkeypatch):
    """The folder `fleetopt sweep` without --out gets (<runs>/<UTC time>-tiny-sweep), from Python too:
    folder=True, and on_folder is told its path once it is claimed, before the first candidate is made
    (the CLI names it if stopped)."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    told, lines = [], []

    def said(line):
        lines.append((line, list(told)))

    result = api.sweep("tiny", candidates=2, scenarios=10, folder=True, on_folder=told.append,
                       candidate_progress=said)  # fmt: skip
    (folder,) = told
    assert folder.parent == tmp_path / "runs" and folder.name.endswith("-tiny-sweep")
    assert result.job_folder == folder and RunFolder(folder).interrupted_kind() == "sweep"
    assert lines and all(seen == [folder] for _, seen in lines)


def test_a_sweep_claims_its_folder_once_its_inputs_are_checked(tmp_path, monkeypatch):
    """A bad stochastic setting is refused before any folder is made or claimed, and on_folder is not
    called; a callback that cannot take the folder is refused by name before any work."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    told = []
    with pytest.raises(InputError, match="--stochastic needs --candidates of at least 2"):
        api.sweep("tiny", candidates=1, stochastic=5, folder=tmp_path / "S", on_folder=told.append)
    with pytest.raises(InputError, match="on_folder"):
        api.sweep("tiny", candidates=2, folder=True, on_folder=lambda: None)
    assert told == [] and not (tmp_path / "S").exists() and not (tmp_path / "runs").exists()


def test_the_cli_sweep_claims_its_folder_once(tmp_path, monkeypatch):
    """`fleetopt sweep` claimed its folder, and api.sweep claimed it again (the second claim found the
    folder the first had made): one claim, the API's, whose folder the CLI writes and names."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    claims = []
    claim = RunFolder.claim.__func__

    def counted(cls, out, default_name, runs=None):
        claims.append(out)
        return claim(cls, out, default_name, runs)

    monkeypatch.setattr(RunFolder, "claim", classmethod(counted))
    code, out, err = run_cli("sweep", "tiny", "--candidates", "2", "--scenarios", "10")
    assert code == 0, out + err
    assert claims == [None]
    (folder,) = [path for path in (tmp_path / "runs").iterdir() if path.is_dir()]
    assert folder.name.endswith("-tiny-sweep") and (folder / RunFolder.SUMMARY).exists()

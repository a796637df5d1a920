"""Runs written through the Python API are recorded in the run registry, once each, as the CLI's
are (issue 15: a run written from Python was missing from `fleetopt runs`)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import above_the_runs, listed_ids, run_cli

from fleetopt import api
from fleetopt.errors import FleetoptError, FleetoptWarning, InputError
from fleetopt.runs.folder import _HELD_LOCKS, RunFolder
from fleetopt.runs.registry import Registry, RegistryError
from fleetopt.runs.run_files import RunDirError
from fleetopt.stochastic.result import StochasticResult

SCENARIOS = 20


@pytest.fixture(scope="module")
def tiny_solved():
    loaded, _ = api.load("tiny")
    return loaded, api.solve(loaded)


class _StochasticStandIn(StochasticResult):
    def summary(self) -> dict:
        """What every stochastic solve's summary.json has (its readers refuse one without it)."""
        return {"settings": self.settings, "status": "optimal", "rp_usd": 1.0, "scenarios": self.scenarios}


def stochastic_stand_in(solved, settings: dict | None = None) -> StochasticResult:
    """What write_stochastic_run reads of a StochasticResult, made from a plain solve (``settings``:
    its solve's, default one scenario): this file tests the write and its record; the two-stage
    solve (seconds, even on tiny) is tested in tests/test_stochastic.py."""
    return _StochasticStandIn(
        data=solved.data, settings=settings or {"scenarios": 1}, plan=solved.plan, forecast_plan=solved.plan,
        first_stage={}, measures={}, scenarios=[], timings={}, model_size={},
    )  # fmt: skip


def every_kind_written(loaded, solved) -> tuple[dict, object]:
    """A run of each kind written through the API (kind -> folder), and the evaluation's result."""
    written = {"solve": api.write_solve_run(solved, loaded)}
    evaluation, model, source = api.evaluate(written["solve"], scenarios=SCENARIOS)
    written["evaluate"] = api.write_evaluate_run(evaluation, model, source)
    written["sweep"] = api.write_sweep_run(api.sweep(loaded, candidates=2, scenarios=SCENARIOS))
    written["stochastic"] = api.write_stochastic_run(stochastic_stand_in(solved), loaded)
    return written, evaluation


def test_every_api_write_records_its_run_once(here, tiny_solved):
    loaded, solved = tiny_solved
    written, _ = every_kind_written(loaded, solved)

    records = Registry().list()
    assert sorted((r.kind, r.path) for r in records) == sorted((k, p.resolve()) for k, p in written.items())
    for kind, path in written.items():
        record = Registry().get(api.run_id(path))
        assert record.kind == kind and record.model_name == "tiny" and record.path == path.resolve()
        assert record.command.startswith(f"fleetopt.api.write_{kind}_run, called by ")
    assert Registry().get(api.run_id(written["evaluate"])).figures["n_plans"] == 1
    code, out, _ = run_cli("runs")
    assert code == 0 and listed_ids(out) == [r.id for r in records]


def test_a_sweep_saved_as_it_goes_is_recorded_once_when_written(here, tiny_solved):
    loaded, _ = tiny_solved
    folder = here / "S"
    result = api.sweep(loaded, candidates=2, scenarios=SCENARIOS, folder=folder)
    assert Registry().list() == []  # an unfinished job is not a run yet
    assert api.write_sweep_run(result, folder) == folder
    (record,) = Registry().list()
    assert record.kind == "sweep" and record.path == folder.resolve()


def test_a_registry_that_fails_after_the_write_keeps_the_run_and_says_where(here, tiny_solved, monkeypatch):
    loaded, solved = tiny_solved

    def broken(*args, **kwargs):
        raise RegistryError("disk full")

    monkeypatch.setattr(Registry, "record", broken)
    saved = r"the run is saved in .*A, but it could not be recorded: disk full"
    with pytest.raises(RegistryError, match=saved) as info:
        api.write_solve_run(solved, loaded, here / "A")
    assert "The folder is complete: give its path where a run id is asked for" in str(info.value)
    assert (here / "A" / "summary.json").exists()


def test_resuming_an_evaluation_written_from_python_says_it_finished(here, tiny_solved):
    """fo.resume_evaluation of an evaluation written by fo.write_evaluate_run (a finished run with no
    job.json) said "not a resumable evaluation (evaluate's folder) (no job.json)", as if it were
    another kind of folder: it says the evaluation finished, as a finished job's resume does."""
    loaded, solved = tiny_solved
    solve = api.write_solve_run(solved, loaded, here / "A")
    evaluated = api.write_evaluate_run(*api.evaluate(solve, scenarios=5), here / "E")
    finished = f"{evaluated}: this evaluation already finished (its summary.json is written); nothing to "
    with pytest.raises(RunDirError, match=re.escape(finished + "resume")) as refused:
        api.resume_evaluation(evaluated)
    assert str(refused.value).endswith(  # a notebook is told the Python that records it
        f"if fleetopt.api.runs() (`fleetopt runs`) does not list it (a run killed while it was being "
        f"recorded), fleetopt.api.record_run({str(evaluated)!r}) (fleetopt runs add {evaluated}) records it")
    code, _, err = run_cli("evaluate", "--resume", str(evaluated))  # never a job: not a batch job's retry
    said = " ".join(err.split())
    assert code == 2 and finished + "resume" in said, err
    assert f"fleetopt runs add {evaluated} records it" in said and "fleetopt.api" not in said, err
    with pytest.raises(RunDirError, match=r"not a resumable evaluation \(solve's folder\)"):
        api.resume_evaluation(solve)  # another kind's folder: named as such: a folder's state, not its plans


def test_run_id_of_a_folder_never_recorded(here):
    (here / "unrecorded").mkdir()
    with pytest.raises(RegistryError, match="unrecorded is not recorded"):
        api.run_id(here / "unrecorded")
    with pytest.raises(RegistryError, match="nowhere: no such run folder or plan file, and not a run id"):
        api.run_id(here / "nowhere")


@pytest.mark.parametrize("kind", ["solve", "stochastic"])
def test_a_result_written_with_another_model_is_refused(here, tiny_solved, tiny_text, kind):
    """A plan of tiny written with another model would be labelled with that model's hash and
    model.yaml: refused by name, before a folder is made or a run recorded."""
    loaded, solved = tiny_solved
    other_file = here / "other.yaml"
    other_file.write_text(tiny_text.replace("name: tiny", "name: tiny-other", 1), encoding="utf-8")
    other, _ = api.load(other_file)
    result = solved if kind == "solve" else stochastic_stand_in(solved)
    write = api.write_solve_run if kind == "solve" else api.write_stochastic_run
    named = rf"solved from model 'tiny' .*'tiny-other' \(hash {other.content_hash}"
    with pytest.raises(InputError, match=named):
        write(result, other, here / "A")
    assert not (here / "A").exists() and Registry().list() == []
    assert write(result, loaded, here / "B") == here / "B"  # the model it was solved from


# ---------------------------------------------------------------- recording a run afterwards


def test_runs_left_unrecorded_are_recorded_afterwards_with_the_same_figures(here, tiny_solved):
    """A registry that lost its records (or never got them: a lock held too long) takes each
    finished folder back with the kind, model and key figures its own write recorded."""
    loaded, solved = tiny_solved
    written, evaluation = every_kind_written(loaded, solved)
    before = {r.path: r for r in Registry().list()}
    Registry().path.unlink()

    for kind, path in written.items():
        record = Registry().get(api.record_run(path))
        was = before[path.resolve()]
        assert (record.kind, record.model_name, record.model_hash) == (kind, "tiny", loaded.content_hash)
        assert record.figures == was.figures and record.figures, kind
        assert record.command == "unknown (recorded afterwards by fleetopt runs add)"
    evaluated = before[written["evaluate"].resolve()].figures
    assert evaluated["npv_mean_usd"] == evaluation.metrics["npv_mean_usd"][0]


@pytest.mark.parametrize(("kind", "table"), [("evaluate", "metrics.csv"), ("sweep", "candidates.csv")])
def test_recording_afterwards_refuses_a_damaged_metrics_table_as_the_report_does(here, tiny_solved, kind,
                                                                                 table):
    """`fleetopt runs add` recorded an evaluation whose metrics.csv kept only its header, or had
    text in a figure's cell (a fuzz audit), which the report then refused: it now checks the table
    as the report reads it."""
    loaded, solved = tiny_solved
    written, _ = every_kind_written(loaded, solved)
    Registry().path.unlink()
    path = written[kind] / table
    header, first, *rest = path.read_text().splitlines(keepends=True)
    cells = first.split(",")
    cells[header.split(",").index("npv_mean_usd")] = "lots"
    path.write_text(header + ",".join(cells) + "".join(rest))
    with pytest.raises(FleetoptError, match=r"npv_mean_usd.*not a number"):
        api.record_run(written[kind])
    path.write_text(header)
    with pytest.raises(FleetoptError, match=r"no rows|plan row"):
        api.record_run(written[kind])


def test_a_copied_run_is_dated_when_it_was_written_not_when_it_was_copied(here, tiny_solved):
    """`cp -r` gives every file the time of the copy: the run keeps the time its summary.json
    stamps (written_utc), so `fleetopt runs` lists runs copied off an instance in the order they ran."""
    loaded, solved = tiny_solved
    path = api.write_solve_run(solved, loaded, here / "S")
    was = Registry().list()[0]
    stamp = json.loads((path / "summary.json").read_text())["written_utc"]
    Registry().path.unlink()
    a_day_later = (path / "summary.json").stat().st_mtime + 86400
    os.utime(path / "summary.json", (a_day_later, a_day_later))
    record = Registry().get(api.record_run(path))
    assert record.created_utc == datetime.fromisoformat(stamp).isoformat(timespec="seconds")
    recorded, first = (datetime.fromisoformat(r.created_utc) for r in (record, was))
    assert abs((recorded - first).total_seconds()) <= 2


def test_recording_afterwards_refuses_what_is_not_a_finished_unrecorded_run(here, tiny_solved):
    loaded, solved = tiny_solved
    path = api.write_solve_run(solved, loaded, here / "A")
    run_id = api.run_id(path)
    with pytest.raises(RegistryError, match=rf"already recorded as run {run_id} .*nothing added"):
        api.record_run(path)
    with pytest.raises(InputError, match="no such run folder"):
        api.record_run(here / "nowhere")
    with pytest.raises(InputError, match=r"plan\.npz: a file, not a run folder"):
        api.record_run(path / "plan.npz")
    with pytest.raises(InputError, match=r"command must be a string \(got 5\)"):
        api.record_run(path, command=5)
    with pytest.raises(InputError, match=r"command must be a string"):
        api.write_solve_run(solved, loaded, here / "C", command=5)
    assert not (here / "C").exists()
    (here / "empty").mkdir()
    with pytest.raises(InputError, match=r"has no summary\.json: not a fleetopt run folder"):
        api.record_run(here / "empty")
    Registry().path.unlink()
    model = path / "model.yaml"
    model.write_text(model.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"model\.yaml was changed after the run"):
        api.record_run(path)
    assert Registry().list() == []


def test_recording_afterwards_refuses_a_plan_file_replaced_since_the_run(here, tiny_solved):
    """The record pairs summary.json's figures with the plan beside them: another run's plan.npz
    copied in (same model, other decisions) would be recorded under figures that are not its own."""
    loaded, solved = tiny_solved
    path = api.write_solve_run(solved, loaded, here / "A")
    richer = api.edit(loaded, {"finance.opening_cash_usd": 400e6})
    other = api.write_solve_run(api.solve(richer), richer, here / "B")
    Registry().path.unlink()
    (path / "plan.npz").write_bytes((other / "plan.npz").read_bytes())
    with pytest.raises(InputError, match=r"plan\.npz changed since the run wrote it .*another plan"):
        api.record_run(path)
    assert Registry().list() == []


def test_compare_and_evaluate_refuse_a_plan_file_replaced_since_the_run(here, tiny_solved):
    """`compare A B` with B's plan.npz copied into A compared B's plan twice, the first under A's name
    and beside A's summary, without a word (record_run and report refused the folder). Compare and
    evaluate now refuse it by name, as they do, and read nothing."""
    loaded, solved = tiny_solved
    path = api.write_solve_run(solved, loaded, here / "A")
    richer = api.edit(loaded, {"finance.opening_cash_usd": 400e6})
    other = api.write_solve_run(api.solve(richer), richer, here / "B")
    (path / "plan.npz").write_bytes((other / "plan.npz").read_bytes())
    replaced = r"A[/\\]plan\.npz changed since the run wrote it .*another plan would be compared or evaluated"
    with pytest.raises(InputError, match=replaced):
        api.compare([path, other], scenarios=20)
    with pytest.raises(InputError, match=replaced):
        api.evaluate(path, scenarios=20)
    api.evaluate(other, scenarios=20)  # an untouched run folder is read as before
    # its plan.npz given itself stands for the run (labelled by it, its summary read beside it): it
    # was compared as A's without a word
    with pytest.raises(InputError, match=replaced):
        api.compare([path / "plan.npz", other / "plan.npz"], scenarios=20)
    with pytest.raises(InputError, match=replaced):
        api.evaluate(path / "plan.npz", scenarios=20)


def test_recording_afterwards_refuses_a_solve_figure_edited_since_the_run(here, tiny_solved):
    """A summary.json whose npv_usd was edited to $28.69B was recorded, and its report then showed an
    objective above the solver's bound. A solve's NPV is its plan's on its model: checked."""
    loaded, solved = tiny_solved
    path = api.write_solve_run(solved, loaded, here / "A")
    Registry().path.unlink()
    summary = json.loads((path / "summary.json").read_text())
    summary["npv_usd"] = 28.69e6
    (path / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(InputError, match=r"npv_usd \$28\.7M is not the NPV of its plan\.npz on its "
                       r"model\.yaml \(-\$14\.1M\).*nothing recorded"):  # fmt: skip
        api.record_run(path)
    assert Registry().list() == []


@pytest.mark.parametrize(("off_by", "recorded"), [(0.5, True), (-0.9, True), (2.0, False)])
def test_a_solves_npv_is_its_plans_to_a_dollar(here, tiny_solved, off_by, recorded):
    """The NPV a solve's summary.json gives is its plan's to $1 (the float round-off of a JSON copy):
    recorded afterwards within it, refused beyond it, as a notebook's result is refused once its plan
    is changed (the one test of a plan's NPV against a figure)."""
    loaded, solved = tiny_solved
    path = api.write_solve_run(solved, loaded, here / "A")
    Registry().path.unlink()
    summary = json.loads((path / "summary.json").read_text())
    summary["npv_usd"] = solved.statements.npv_usd + off_by
    (path / "summary.json").write_text(json.dumps(summary))
    if recorded:
        assert Registry().get(api.record_run(path)).path == path.resolve()
    else:
        with pytest.raises(InputError, match=r"is not the NPV of its plan\.npz"):
            api.record_run(path)


@pytest.mark.parametrize(
    ("edit", "refused"),
    [
        ({"npv_usd": "lots"}, r"npv_usd must be a finite number \(got 'lots'\): the file was damaged"),
        ({"npv_usd": None}, r"npv_usd None: not a finite number"),
        # a list or an object was dropped as no figure and said "npv_usd None", a value not in the file
        ({"npv_usd": [1]}, r"npv_usd \[1\]: not a finite number"),
        ({"npv_usd": {"usd": 1}}, r"npv_usd \{'usd': 1\}: not a finite number"),
        ({"kind": "evaluate"}, r"says the run is an evaluation, but the folder has no metrics\.csv: not an "
                               r"evaluation's folder"),
        ({"kind": "sweep"}, r"has no plans\.npz or candidates\.json: not a sweep's folder"),
    ],
    ids=["npv-text", "npv-null", "npv-list", "npv-object", "solve-as-evaluate", "solve-as-sweep"],
)
def test_recording_afterwards_refuses_figures_or_a_kind_its_folder_lacks(here, tiny_solved, edit, refused):
    """A figure edited into text or null skipped the NPV check and was recorded, and `fleetopt runs`
    then failed for every run on it; so did a solve's summary edited to say "evaluate"."""
    loaded, solved = tiny_solved
    path = api.write_solve_run(solved, loaded, here / "A")
    Registry().path.unlink()
    summary = json.loads((path / "summary.json").read_text())
    (path / "summary.json").write_text(json.dumps({**summary, **edit}))
    with pytest.raises(InputError, match=refused):
        api.record_run(path)
    assert Registry().list() == []


def test_recording_afterwards_names_a_kind_that_is_missing_or_not_a_run_s(here, tiny_solved):
    """A summary.json without kind was refused as "'kind' is None", a value the file does not hold;
    a kind of null is quoted as JSON writes it."""
    loaded, solved = tiny_solved
    path = api.write_solve_run(solved, loaded, here / "A")
    Registry().path.unlink()
    summary = json.loads((path / "summary.json").read_text())
    kinds = "solve, stochastic, evaluate, sweep"
    for written, refused in [
        ({k: v for k, v in summary.items() if k != "kind"},
         f"summary.json: kind is missing, which fleetopt writes for every run ({kinds}): the file was "),
        ({**summary, "kind": None}, f"summary.json: kind must be one of {kinds} (got null): the file was "),
    ]:  # fmt: skip
        (path / "summary.json").write_text(json.dumps(written))
        with pytest.raises(InputError, match=re.escape(refused)):
            api.record_run(path)
        code, _, err = run_cli("runs", "add", str(path))
        assert code == 2 and refused in " ".join(err.split()) and "None" not in err, err
    assert Registry().list() == []


def test_recording_afterwards_refuses_a_horizon_or_rate_that_is_not_the_model_s(here, tiny_solved):
    """`fleetopt runs` lists a run's figures over the horizon and rate its summary.json gives: one
    edited to 30 % a year (tiny's model.yaml says 15 %), or into text, is refused by name, nothing
    recorded; one without them (an older fleetopt's) is recorded with its model.yaml's (tiny's 8
    quarters at 15 %, the model its hash says it ran), which the list says (it said 'not recorded'
    for every run of an older fleetopt, added again or not)."""
    loaded, solved = tiny_solved
    path = api.write_solve_run(solved, loaded, here / "A")
    Registry().path.unlink()
    summary = json.loads((path / "summary.json").read_text())
    for written, refused in [
        ({**summary, "discount_rate_annual": 0.3},
         "summary.json: discount_rate_annual 0.3, where its model.yaml has discount_rate_annual 0.15"),
        ({**summary, "horizon_quarters": "8"}, "horizon_quarters must be a whole number (got '8')"),
    ]:  # fmt: skip
        (path / "summary.json").write_text(json.dumps(written))
        code, _, err = run_cli("runs", "add", str(path))
        assert code == 2 and refused in " ".join(err.split()), err
    assert Registry().list() == []
    older = {k: v for k, v in summary.items() if k not in ("horizon_quarters", "discount_rate_annual")}
    (path / "summary.json").write_text(json.dumps(older))
    assert run_cli("runs", "add", str(path))[0] == 0 and len(Registry().list()) == 1
    (record,) = Registry().list()
    assert (record.figures["horizon_quarters"], record.figures["discount_rate_annual"]) == (8, 0.15)
    listed = run_cli("runs")[1]
    basis = "over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at 15% a year, USD)"
    assert f"key figures {basis}" in above_the_runs(listed), listed


def test_a_damaged_record_is_listed_as_such_and_the_others_still_are(here, tiny_solved):
    """A registry row whose figures were not JSON (or a figure edited into text) stopped `runs`,
    `runs show`, `runs forget --missing` and `report ID` for every run: it is listed as damaged."""
    loaded, solved = tiny_solved
    for name in "ABC":
        api.write_solve_run(solved, loaded, here / name)
    with sqlite3.connect(Registry().path) as con:
        con.execute("UPDATE runs SET figures = 'not json' WHERE id = 1")
        con.execute("UPDATE runs SET figures = '[1, 2]' WHERE id = 2")
        con.execute("""UPDATE runs SET figures = '{"npv_usd": "lots"}' WHERE id = 3""")
    code, out, err = run_cli("runs")
    assert code == 0, err
    keys = dict(re.findall(r"^│ (\d) .*?│ .*?│ .*?│ .*?│ (\S[^│]*?) +│", out, re.M))
    assert keys == {"1": "damaged record", "2": "damaged record", "3": "unreadable figures"}, out
    for run_id in ("1", "2"):
        code, out, err = run_cli("runs", "show", run_id)
        assert code == 0 and "its key figures in the registry are not readable" in " ".join(out.split()), err
    assert run_cli("runs", "show", "3")[0] == 0
    assert run_cli("runs", "forget", "--missing", "--dry-run")[0] == 0


def test_a_run_refused_by_a_held_registry_is_recorded_once_it_is_free(here, tiny_solved, monkeypatch):
    loaded, solved = tiny_solved
    registry = Registry()
    registry.record("solve", "tiny", "h", here / "x", {}, command="fleetopt solve tiny")
    monkeypatch.setattr(Registry, "BUSY_SECONDS", 0.2)
    holder = sqlite3.connect(registry.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(RegistryError) as refused:
            api.write_solve_run(solved, loaded, here / "A")
        folder = str((here / "A").resolve())
        assert str(refused.value).endswith(f"record it with fleetopt.api.record_run({folder!r}) "
                                           f"(fleetopt runs add {folder})")  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    summary = json.loads((here / "A" / "summary.json").read_text())
    summary["written_utc"] = "2023-11-14T22:13:20+00:00"  # as if written long before x was recorded
    (here / "A" / "summary.json").write_text(json.dumps(summary))
    code, out, err = run_cli("runs", "add", str(here / "A"))
    assert code == 0, err
    record = Registry().get(api.run_id(here / "A"))
    assert f"as run {record.id}" in out and record.kind == "solve"
    assert record.created_utc == "2023-11-14T22:13:20+00:00"  # when it was written, not added
    assert record.figures["npv_usd"] == pytest.approx(solved.statements.npv_usd, rel=1e-12)
    code, _, err = run_cli("runs", "add", str(here / "A"))
    assert code != 0 and f"already recorded as run {record.id}" in err
    listed = [r.path for r in Registry().list()]  # newest first by when each was written, not added
    assert listed == [(here / "x").resolve(), (here / "A").resolve()]
    # several folders at once (a runs folder's copy, say): each refusal named, the others recorded
    import shutil

    shutil.copytree(here / "A", here / "B")
    code, out, err = run_cli("runs", "add", str(here / "A"), str(here / "B"))
    assert code == 2 and f"{here / 'A'} is already recorded as run {record.id}" in " ".join(err.split())
    assert f"as run {api.run_id(here / 'B')}" in out


def test_a_job_is_never_started_in_or_written_over_another_run(here, tiny_solved):
    """api.sweep(folder=...) and EvaluationJob.start once wrote job.json into any folder given: into a
    finished solve, whose record then read the sweep's plans; write_sweep_run then replaced its
    summary.json, and the registry lost the solve. Refused, as the commands refuse --out."""
    loaded, solved = tiny_solved
    path = api.write_solve_run(solved, loaded, here / "A")
    files = sorted(p.name for p in path.iterdir())
    with pytest.raises(InputError, match=r"already exists and is not empty: choose another folder"):
        api.sweep(loaded, candidates=2, scenarios=SCENARIOS, folder=path)
    job = api.prepare_evaluation(path, scenarios=SCENARIOS)
    with pytest.raises(InputError, match=r"already exists and is not empty"):
        job.start(path)
    with pytest.raises(InputError, match=r"is a file, not a folder"):
        job.start(path / "plan.npz")
    assert sorted(p.name for p in path.iterdir()) == files
    assert api.run(path).kind == "solve"

    swept = api.sweep(loaded, candidates=2, scenarios=SCENARIOS, folder=here / "S")
    swept = api.write_sweep_run(swept, here / "S")  # the folder it saved its work in: a job's
    summary = (swept / "summary.json").read_bytes()
    again = api.sweep(loaded, candidates=2, scenarios=SCENARIOS)
    with pytest.raises(InputError, match=r"holds a finished run: choose a new or empty folder"):
        api.write_sweep_run(again, swept)
    assert (swept / "summary.json").read_bytes() == summary


def test_a_run_written_from_a_notebook_says_so(here, tiny_solved, monkeypatch):
    """A Jupyter kernel's argv names its launcher and connection file, not what the user ran."""
    loaded, solved = tiny_solved
    kernel = ["/usr/lib/python3/dist-packages/ipykernel_launcher.py", "-f", "/root/kernel-3f2a.json"]
    monkeypatch.setattr("sys.argv", kernel)
    path = api.write_solve_run(solved, loaded, here / "A")
    assert api.run(path).command == "fleetopt.api.write_solve_run, called by a Jupyter notebook"


def test_a_comparison_with_an_unfinished_sweep_uses_the_sweep_s_scenarios(here, tiny_solved):
    """`compare SWEEP RUN` of a sweep stopped before its end took 1,000 scenarios of seed 0, not
    the sweep's own (compare's help: those of the first sweep given), without a word."""
    loaded, solved = tiny_solved
    api.sweep(loaded, candidates=2, scenarios=SCENARIOS, seed=4, folder=here / "S")  # not written: unfinished
    solve = api.write_solve_run(solved, loaded, here / "A")
    with pytest.warns(FleetoptWarning, match="is an unfinished sweep .*every candidate it made is compared"):
        comparison = api.compare([here / "S", solve])
    assert (comparison.n_scenarios, comparison.seed) == (SCENARIOS, 4)


def test_a_sweep_s_plan_file_given_directly_is_compared_as_its_sweep(here, tiny_solved, monkeypatch):
    """`compare S/plans.npz A` took 1,000 scenarios while `compare S A` took the sweep's own; and
    `compare plan.npz ...` from inside a run folder labelled its plan ': milp' (the name of '.')."""
    loaded, solved = tiny_solved
    swept = api.sweep(loaded, candidates=2, scenarios=SCENARIOS, seed=4, folder=here / "S")
    api.write_sweep_run(swept, here / "S")
    solve = api.write_solve_run(solved, loaded, here / "A")
    comparison = api.compare([here / "S" / "plans.npz", solve])
    assert (comparison.n_scenarios, comparison.seed) == (SCENARIOS, 4)
    monkeypatch.chdir(solve)
    assert api.compare(["plan.npz", here / "S"]).labels[0] == "A: milp"


def test_a_stop_while_a_run_is_written_waits_until_it_is_recorded(here, tiny_solved, monkeypatch):
    """A Ctrl-C (or SIGTERM) between a run's files and its record left a finished run that
    `fleetopt runs` did not list and no --resume could finish: it now takes effect after both."""
    import signal

    from fleetopt.runs.folder import RunFolder

    loaded, solved = tiny_solved
    write = RunFolder.write

    def stopped_while_writing(self, files):
        os.kill(os.getpid(), signal.SIGINT)
        return write(self, files)

    monkeypatch.setattr(RunFolder, "write", stopped_while_writing)
    with pytest.raises(KeyboardInterrupt):
        api.write_solve_run(solved, loaded, here / "S")
    assert (here / "S" / "summary.json").exists()
    assert [r.path for r in api.runs()] == [(here / "S").resolve()]


def test_the_cli_says_a_stopped_run_that_was_written_is_kept_and_a_whole_write_failure_plainly(
    here, capsys, monkeypatch
):
    """After the held stop, "interrupted" alone read as lost work (solve, stochastic solve, a
    re-ranking without --out); a disk full while writing a file read "cannot use a file: No space
    left on device"."""
    import errno
    import signal

    import typer

    from fleetopt.cli.error_report import errors_reported
    from fleetopt.runs.folder import RunFolder

    write = RunFolder.write

    def stopped_while_writing(self, files):
        os.kill(os.getpid(), signal.SIGINT)
        return write(self, files)

    monkeypatch.setattr(RunFolder, "write", stopped_while_writing)
    code, _, err = run_cli("solve", "tiny", "--out", "S")
    assert code == 130
    # said when the stop came (a record waits up to a minute on a busy registry), then what it kept
    assert "SIGINT received: fleetopt stops once the finished work being saved is saved" in err
    assert err.count("SIGINT received") == 1
    assert "interrupted after the run was written to S and recorded (fleetopt runs)" in err
    assert [r.path for r in api.runs()] == [(here / "S").resolve()]
    with pytest.raises(typer.Exit) as failed, errors_reported():
        raise OSError(errno.ENOSPC, "No space left on device")
    assert failed.value.exit_code == 2
    assert capsys.readouterr().err.strip() == "error: No space left on device"


def test_runs_show_writes_a_cost_per_gpu_hour_in_cents_and_the_hours_with_their_unit(here):
    """`runs show` of a cost solve read "present_cost_per_h100_hour_usd │ $1" (lab: $0.61, as the
    solve prints it) and the GPU-hours as a bare 1.567e+09."""
    solved = api.solve("lab", objective="cost")
    run = api.write_solve_run(solved, out=here / "cost")
    figures = api.run(run).figures
    code, out, err = run_cli("runs", "show", str(run))
    assert code == 0, err
    per_hour = f"${figures['present_cost_per_h100_hour_usd']:.2f}"
    assert re.search(rf"present_cost_per_h100_hour_usd +│ {re.escape(per_hour)} ", out), out
    for key in ("compute_in_service_h100_hours", "compute_in_service_h100_hours_discounted"):
        assert f"{figures[key] / 1e9:,.2f}B H100-equivalent GPU-hours" in out, (key, out)
    # the demand the solve printed as '1.57B H100-equivalent GPU-hours over the horizon' ('1,567.3M'
    # there and '1.6B' here before): one figure, written one way
    demand = figures["forecast_demand_h100_hours"]
    assert "forecast_demand_h100_hours" in out and f"{demand / 1e9:,.2f}B H100-equivalent GPU-hours" in out


def test_a_run_s_own_file_names_its_run(here, tiny_solved):
    """`runs show runs/base/plan.npz` (and `runs forget`, `fo.run_id`) said it "is not recorded":
    a run's own file names its folder, as compare and evaluate take it."""
    loaded, solved = tiny_solved
    folder = api.write_solve_run(solved, loaded, here / "base")
    assert api.run_id(folder / "plan.npz") == api.run_id(folder) == api.run(folder / "summary.json").id
    code, out, err = run_cli("runs", "show", str(folder / "plan.npz"))
    assert code == 0 and "solve" in out, err
    (here / "other.npz").write_bytes((folder / "plan.npz").read_bytes())  # not a run's own file
    with pytest.raises(RegistryError, match="is not recorded"):
        api.run_id(here / "other.npz")


def test_an_empty_run_name_is_refused_even_inside_a_recorded_run_folder(here, tiny_solved, monkeypatch):
    """fo.run_id("") (an unset variable) gave the id of the run in the current folder, or said
    " is not recorded"; resolve_run and runs show already refused the empty name: one check, by name."""
    loaded, solved = tiny_solved
    folder = api.write_solve_run(solved, loaded, here / "base")
    monkeypatch.chdir(folder)
    for ask in (api.run_id, api.resolve_run, api.run):
        for empty in ("", " "):
            with pytest.raises(RegistryError, match="is empty: give a run folder, a plan file or a run id"):
                ask(empty)
    with pytest.raises(RegistryError, match="runs is empty"):
        api.compare([solved, ""])


def test_a_run_record_is_taken_wherever_a_run_is(tmp_path, monkeypatch):
    """fo.runs() returns RunRecords, which evaluate, read_run and report refused ("not a
    RunRecord"; a notebook user's review): each takes one as its run."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    path = api.write_solve_run(api.solve("tiny"))
    record = api.runs()[0]
    assert api.run_id(record) == record.id and api.resolve_run(record) == path
    assert api.read_run(record).summary["kind"] == "solve"
    assert api.evaluate(record, scenarios=5)[0].n_plans == 1


def test_a_plan_read_back_from_its_run_is_the_plan_frame_it_was_written_from(here, tiny_solved):
    """A plan's empty `use` (a purchase's) was read back as NaN: the frame written and the frame
    read back differ in no cell."""
    loaded, solved = tiny_solved
    folder = api.write_solve_run(solved, loaded)
    written, read = solved.plan_frame(), api.read_run(folder)["plan"]
    assert (written["use"] == "").any()
    pd.testing.assert_frame_equal(read, written.reset_index(drop=True), check_exact=True)


def test_a_damaged_npv_matrix_is_refused_by_name_and_a_whole_one_read_as_written(here, tiny_solved):
    """read_run(...).npv_matrix of a matrix cut short raised numpy's ValueError ("EOF: reading array
    header"), and one of another shape (3 plans x 7 scenarios for the run's 1 x 5) came back as
    the run's NPVs; each is refused now, naming the file, and a whole one is the evaluation's."""
    loaded, solved = tiny_solved
    evaluation, model, source = api.evaluate(api.write_solve_run(solved, loaded), scenarios=5,
                                             keep_matrix=True)  # fmt: skip
    folder = api.write_evaluate_run(evaluation, model, source)
    matrix = folder / RunFolder.NPV_MATRIX
    assert np.array_equal(api.read_run(folder).npv_matrix, evaluation.npv_matrix)
    whole = matrix.read_bytes()
    damages = {"cut short": lambda: matrix.write_bytes(whole[:100]),
               "not an array": lambda: matrix.write_text("npv\n1.0\n"),
               "another shape": lambda: np.save(matrix, np.zeros((3, 7)))}  # fmt: skip
    for damage, make in damages.items():
        make()
        with pytest.raises(InputError, match=re.escape(str(matrix))) as caught:
            api.read_run(folder)
        said = str(caught.value)
        assert "pickle" not in said and "restore it, or run anew" in said, damage
    assert "(3, 7) array of float64, not the NPVs of the run's 1 plan x 5 scenarios" in said


def test_a_progress_function_that_cannot_take_its_arguments_is_refused_before_any_work(here, tiny_solved):
    loaded, solved = tiny_solved
    with pytest.raises(InputError, match=r"progress must take 2 arguments, as progress\(done, total\)"):
        api.evaluate(api.write_solve_run(solved, loaded), scenarios=SCENARIOS, progress=lambda done: None)
    with pytest.raises(InputError, match=r"candidate_progress must take 1 argument, as candidate_progress"):
        api.sweep(loaded, candidates=2, scenarios=SCENARIOS, candidate_progress=lambda: None)


@pytest.mark.parametrize("failure", [RegistryError("disk full"), SystemExit(137)])
def test_an_evaluation_stopped_before_its_record_is_listed_as_finished_but_not_recorded(
    here, tiny_solved, monkeypatch, failure
):
    """A job killed after its files were written and before its record was gone from every list:
    its finish had already removed the chunks and lock by which `fleetopt runs` finds such a run.
    They now go once the record is written; a registry that fails lets the lock go too."""
    loaded, solved = tiny_solved
    plans = api.write_solve_run(solved, loaded)
    job = api.prepare_evaluation(plans, scenarios=SCENARIOS)
    folder = here / "runs" / "E"  # in the runs folder, where `fleetopt runs` looks
    job.start(folder)
    result = job.run(folder)

    def stopped(*args, **kwargs):
        raise failure

    with monkeypatch.context() as patched, pytest.raises(type(failure)):
        patched.setattr(Registry, "record", stopped)
        api.write_evaluate_run(result, job.loaded, job.source, folder)
    assert (folder / "summary.json").exists()
    assert RunFolder(folder).path.resolve() not in _HELD_LOCKS  # a notebook holds no lock on it
    assert api.unrecorded_runs() == [folder]
    api.record_run(folder)
    assert api.unrecorded_runs() == [] and not (folder / "chunks").exists()


def test_runs_of_a_model_given_as_its_file_are_refused_not_listed_as_none(here):
    """`fleetopt runs --model models/tiny.yaml` said "no runs recorded yet for model
    'models/tiny.yaml'" (exit 0), and fo.runs(model=...) returned [], beside tiny's recorded runs:
    the registry records a model by its name, which no path can be."""
    with pytest.raises(InputError, match=r"model \(--model\) is a model's name.*'models/tiny.yaml'"):
        api.runs(model="models/tiny.yaml")
    with pytest.raises(InputError, match=r"model \(--model\) is a model's name"):
        api.unfinished_runs(model="tiny/")
    code, _, err = run_cli("runs", "--model", "models/tiny.yaml")
    assert code == 2 and "not a file (got 'models/tiny.yaml')" in err and "Traceback" not in err, err
    assert api.runs(model="tiny") == []  # a name: listed, none here
    code, _, err = run_cli("runs", "--model", "ü")  # a name no model may have: what names may be
    assert code == 2 and "must be a model's name" in err and "letters, digits" in err and "a file" not in err
    # the command names its option once, as typed ("model (--model)" named it twice)
    assert err.startswith("error: Invalid value for '--model': must be") and "model (--model)" not in err, err


def test_runs_of_a_model_given_as_a_path_object_are_refused_as_its_file_is(here):
    """fo.runs(model=Path("models/tiny.yaml")), a notebook's pathlib habit, said "must be a string",
    where the same path as a string is told that a model's name, not a file, is wanted."""
    for listing in (api.runs, api.unfinished_runs, api.unrecorded_runs):
        with pytest.raises(InputError, match=r"^model \(--model\) is a model's name, as the name: field of "
                           r"its file gives it \(e\.g\. 'tiny'\), not a file \(got 'models/tiny\.yaml'\)$"):
            listing(model=Path("models/tiny.yaml"))


def test_runs_of_a_model_with_none_where_others_have_runs_warns_naming_them(here, tiny_solved):
    """fo.runs(model="tinyy"), a typo, returned [] silently beside tiny's runs, read as no run made
    yet; `fleetopt runs --model tinyy` said which models have runs."""
    loaded, solved = tiny_solved
    api.write_solve_run(solved, loaded, here / "A")
    with pytest.warns(FleetoptWarning, match=r"^no runs of model 'tinyy' are recorded \(the registry's runs "
                                             r"are of model tiny\): did you mean 'tiny'\?$"):  # fmt: skip
        assert api.runs(model="tinyy") == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert api.runs(model="tiny", kind="sweep") == []  # no sweep at all: nothing to name
        assert [r.model_name for r in api.runs(model="tiny")] == ["tiny"]


@pytest.mark.parametrize("command", ["evaluate", "compare", "what-if"])
@pytest.mark.parametrize("seed, in_sample", [(3, True), (4, False)])
def test_evaluating_a_stochastic_plan_on_the_scenarios_it_was_solved_on_is_warned_of(
    here, tiny_solved, seed, in_sample, command
):
    """A stochastic solve of seed 3 reduced the first 200 scenarios of seed 3 to those it fitted its
    plan to: an evaluation (or a comparison) of 20 scenarios of seed 3 holds 20 of them (the plan's
    figures in sample, flattered), one of seed 4 none; `fleetopt evaluate`'s default seed 0 is the
    solve's default, and so is `fleetopt compare`'s for a solve without its out-of-sample check. A
    what-if of the stochastic plan on seed 3 ran it in sample in silence."""
    loaded, solved = tiny_solved
    settings = {"scenarios": 5, "scenario_seed": 3, "screened": 200}
    folder = api.write_stochastic_run(stochastic_stand_in(solved, settings), loaded)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if command == "evaluate":
            api.prepare_evaluation(folder, scenarios=SCENARIOS, seed=seed)
        elif command == "what-if":
            api.compare(folder, scenarios=SCENARIOS, seed=seed, what_if={"finance.opening_cash_usd": 2e9})
        else:
            api.compare(folder, scenarios=SCENARIOS, seed=seed)
    said = [str(w.message) for w in caught if "in sample" in str(w.message)]
    if in_sample:
        assert len(said) == 1
        assert "20 of the 20 scenarios of seed 3" in said[0]
        assert said[0].endswith(": seed=4 (--seed 4)")  # the API's keyword, the CLI's option beside it
    else:
        assert said == []
    if in_sample and command == "evaluate":  # the terminal names the option alone, as its refusals do
        code, _, err = run_cli("evaluate", "--plans", str(folder), "--scenarios", str(SCENARIOS), "--seed",
                               str(seed), "--out", str(folder.parent / "E"))  # fmt: skip
        flat = " ".join(err.split())
        assert code == 0 and "out-of-sample check's: --seed 4" in flat and "seed=4" not in flat, err


@pytest.fixture(scope="module")
def tiny_stochastic_sweep(tmp_path_factory):
    """A sweep of seed 0 with a stochastic candidate of 3 scenarios (a plan of its own, not the forecast
    optimum's): fitted to scenarios reduced from the first 200 (the default screen) of seed 1."""
    folder = tmp_path_factory.mktemp("sweep") / "S"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "2", "--stochastic", "3", "--scenarios",
                           str(SCENARIOS), "--out", str(folder))  # fmt: skip
    assert code == 0, err
    return folder


@pytest.mark.parametrize("command", ["evaluate", "compare"])
@pytest.mark.parametrize("seed, in_sample", [(1, True), (0, False)])
def test_evaluating_a_sweeps_stochastic_candidate_on_the_scenarios_it_was_solved_on_is_warned_of(
    here, tiny_stochastic_sweep, seed, in_sample, command
):
    """`fleetopt sweep tiny --stochastic 3` (seed 0) solves its stochastic candidate on the first 200
    scenarios of seed 1: `fleetopt evaluate --plans SWEEP --seed 1` ran 20 of them, every one in
    sample for that candidate (and its cash-buffer variants), in silence; seed 0, the sweep's own,
    holds none of them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if command == "evaluate":
            api.prepare_evaluation(tiny_stochastic_sweep, scenarios=SCENARIOS, seed=seed)
        else:
            api.compare(tiny_stochastic_sweep, scenarios=SCENARIOS, seed=seed)
    said = [str(w.message) for w in caught if "in sample" in str(w.message)]
    if in_sample:
        assert len(said) == 1
        # the candidate, or (compare's pick) it run with a cash buffer
        assert said[0].startswith(f"the stochastic plan of the sweep {tiny_stochastic_sweep} ('stochastic: 3 "
                                  "scenarios")  # fmt: skip
        assert "first 200 of seed 1" in said[0] and "20 of the 20 scenarios of seed 1" in said[0]
        assert "'milp: forecast'" not in said[0] and said[0].endswith(": seed=2 (--seed 2)")
    else:
        assert said == []


def test_comparing_a_sweeps_pick_that_is_not_its_stochastic_candidate_warns_of_no_in_sample_plan(
    tmp_path,
):
    """A sweep of seed 0 choosing by mean NPV, forecast breaches and risk allowed, picks "milp: forecast,
    cash buffer $60.0M" over its stochastic candidate: `fleetopt compare SWEEP --seed 1` compares the
    pick with the forecast optimum, neither fitted to seed 1, yet warned that the stochastic plan's
    figures were in sample. The evaluation of every candidate on seed 1 (the stochastic one among them)
    is still warned of."""
    folder = tmp_path / "S"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "4", "--stochastic", "3", "--scenarios",
                           str(SCENARIOS), "--prefer", "mean", "--allow-forecast-breach", "--allow-riskier",
                           "--out", str(folder))  # fmt: skip
    assert code == 0, err
    assert api.read_run(folder).summary["recommended"] == "milp: forecast, cash buffer $60.0M"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.compare(folder, scenarios=SCENARIOS, seed=1)
    assert [str(w.message) for w in caught if "in sample" in str(w.message)] == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.prepare_evaluation(folder, scenarios=SCENARIOS, seed=1)
    said = [str(w.message) for w in caught if "in sample" in str(w.message)]
    assert len(said) == 1
    assert said[0].startswith(f"the stochastic plan of the sweep {folder} ('stochastic: 3 scenarios') was ")


def test_a_result_in_memory_given_to_an_evaluation_job_is_told_the_call_that_writes_it(tiny_solved):
    """fo.evaluate(fo.solve_stochastic(...)) advised "write_solve_run, write_sweep_run and the like" and
    comparing it "with other plans" ([result, ...]): a stochastic result is written by
    write_stochastic_run, and compared alone (its plan and its forecast optimum). An evaluation runs
    a plan file its run names (read again by its report and a resume), so a result is written first."""
    _, solved = tiny_solved
    with pytest.raises(RegistryError) as refused:  # a job resumes from its file (fo.evaluate: in memory)
        api.prepare_evaluation(stochastic_stand_in(solved), scenarios=SCENARIOS)
    assert str(refused.value) == (
        "plans must be a run folder, plan file or run id (int), not a StochasticResult: write it as a run "
        "first (folder = fleetopt.api.write_stochastic_run(result)) and give its folder; or, without "
        "writing it, compare its two plans (the stochastic plan and the forecast optimum) on common "
        "scenarios: fleetopt.api.compare(result); fleetopt.api.evaluate(result) evaluates it without "
        "writing it, in one go"
    )


@pytest.mark.parametrize("seed, in_sample", [(None, True), (1, False)])
def test_comparing_a_stochastic_result_in_memory_on_the_scenarios_it_was_solved_on_is_warned_of(
    tiny_solved, seed, in_sample
):
    """fo.compare(result) of a stochastic solve without its out-of-sample check (out_of_sample=0)
    ran 1,000 scenarios of seed 0, the seed the solve drew its 200 screened scenarios from, in
    silence: 20 scenarios of seed 0 are all in sample (warned of as for its run folder), of seed 1 none."""
    _, solved = tiny_solved
    result = stochastic_stand_in(solved, {"scenarios": 5, "scenario_seed": 0, "screened": 200})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.compare(result, scenarios=SCENARIOS, seed=seed)
    said = [str(w.message) for w in caught if "in sample" in str(w.message)]
    if in_sample:
        assert len(said) == 1 and said[0].startswith("the stochastic plan of the StochasticResult in memory")
        assert "20 of the 20 scenarios of seed 0" in said[0]
        assert said[0].endswith("its solve's out-of-sample check's: seed=1 (--seed 1)")
    else:
        assert said == []



def test_a_figure_with_no_value_is_recorded_null_as_summary_json_keeps_it(here):
    """A sweep's lead over a CVaR5 tail of one scenario has no standard error (NaN): summary.json
    keeps it null, but the registry recorded NaN when the run was written and null when the folder
    was recorded again, so the two records of one run differed. Both are null."""
    from fleetopt.runs.registry import Registry

    folder = api.write_sweep_run(api.sweep("tiny", candidates=2, scenarios=SCENARIOS))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["runner_up"] is not None and summary["runner_up_lead_se_usd"] is None
    (record,) = Registry().list()
    assert record.figures["runner_up_lead_se_usd"] is None


def test_a_loaded_model_given_to_list_runs_by_is_told_its_name():
    """fo.runs(model=fo.edit("tiny", ...)) said "model (--model) must be a string (got
    LoadedModel(...))": every other function takes a loaded model as its model, and this one lists
    runs by a model's name, which the message now gives."""
    edited = api.edit("tiny", {"finance.opening_cash_usd": 5e7})
    message = (r"^model \(--model\) is a model's name, not a loaded model: give model='tiny', which "
               r"lists the runs of every version of it$")
    for call in (api.runs, api.unfinished_runs, api.unrecorded_runs):
        with pytest.raises(InputError, match=message):
            call(model=edited)
    with pytest.raises(InputError, match=message):
        api.runs(model=api.load("tiny"))


def test_an_evaluation_in_memory_given_as_a_run_is_told_how_to_write_it(tmp_path, monkeypatch):
    """fo.compare([fo.evaluate(...), run]) said "runs must be a run folder, plan file or run id (int),
    not a Evaluated (...)": no hint, and "a" before a vowel. An evaluation in memory, whole or its
    result alone, is told the call that writes it as a run (the result alone needs its model and
    plans beside it)."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path))
    run = api.write_solve_run(api.solve("tiny"))
    evaluated = api.evaluate(run, scenarios=20, seed=1)
    first = r"^runs must be a run folder, plan file or run id \(int\), not "
    with pytest.raises(InputError, match=first + r"an Evaluated: write it as a run first \(folder = "
                                     r"fleetopt\.api\.write_evaluate_run\(evaluated\)\)"):  # fmt: skip
        api.compare([evaluated, run])
    alone = r"an EvaluationResult: write it as a run first \(folder = fleetopt\.api\.write_evaluate_run\("
    with pytest.raises(InputError, match=first + alone + r"result, model, plans\)\)"):
        api.compare([evaluated.result, run])


def test_an_unknown_run_points_a_notebook_to_its_listing_and_the_terminal_to_its_command(here):
    """An unknown run id or a path that names nothing: Python is pointed to fleetopt.api.runs(), the
    command line to `fleetopt runs` (both read "(see `fleetopt runs`)", a command a notebook cannot run)."""
    api.write_solve_run(api.solve("tiny"), out=here / "base")
    for call in (lambda: api.read_run(999), lambda: api.run(999), lambda: api.read_run("nope")):
        with pytest.raises(RegistryError, match=r": see fleetopt\.api\.runs\(\) \(`fleetopt runs`\)$"):
            call()
    code, _, err = run_cli("runs", "show", "999")
    assert code == 2 and err.rstrip().endswith("registry.sqlite: see `fleetopt runs`")
    code, _, err = run_cli("evaluate", "--plans", "nope")
    assert code == 2 and err.rstrip().endswith("not a run id: see `fleetopt runs`")


def test_a_list_of_no_runs_says_what_it_listed(here):
    """fo.runs(model="twosit") warns of the typo, and its table read "No runs recorded" beside runs of
    other models: it names the model and kind it listed by."""
    api.write_solve_run(api.solve("tiny"), out=here / "base")
    with pytest.warns(FleetoptWarning, match="did you mean 'tiny'"):
        none = api.runs(model="tiny-x")
    assert none._repr_markdown_().startswith("**No runs of model 'tiny-x' recorded**")
    sweeps = api.runs(model="tiny", kind="sweep")._repr_html_()
    assert sweeps.startswith("<p><b>No sweep runs of model &#x27;tiny&#x27; recorded</b></p>")
    assert api.runs()._repr_markdown_().startswith("**Runs, newest first (1)**")

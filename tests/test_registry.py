"""The run registry: solve, evaluate and sweep are recorded; `fleetopt runs` lists and shows them;
concurrent writers lose nothing; deleted run folders and unknown ids are reported, not crashed on."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from conftest import above_the_runs, listed_ids, run_cli, squashed
from milp_builders import base_model

from fleetopt import api
from fleetopt.cli.render.runs import key_figure
from fleetopt.evaluate.metrics import shown_first
from fleetopt.runs.key_figures import key_figures
from fleetopt.runs.registry import Registry, RegistryError


@contextmanager
def held(registry: Registry, how: str):
    """Another process's transaction on the registry (BEGIN IMMEDIATE or EXCLUSIVE) while it runs."""
    holder = sqlite3.connect(registry.path, isolation_level=None)
    holder.execute(f"BEGIN {how}")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


WRITERS, RUNS_EACH = 6, 25
FLEETOPT = Path(sys.executable).parent / "fleetopt"


@pytest.fixture(autouse=True)
def _registry(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))


def ok(*args: str) -> str:
    code, out, err = run_cli(*args)
    assert code == 0, (args, err)
    return out


# ---------------------------------------------------------------- recording and listing


def test_solve_evaluate_sweep_are_recorded_and_listed(tmp_path):
    env = {**os.environ, "FLEETOPT_RUNS_DIR": str(tmp_path / "runs")}
    solve_dir = tmp_path / ("a-deliberately-long-run-folder-name-" * 3 + "A")  # longer than a table cell
    # through the real command line, so that the recorded command is the one typed
    done = subprocess.run([str(FLEETOPT), "solve", "tiny", "--out", str(solve_dir)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "runs" / "registry.sqlite").exists()
    ok("evaluate", "--plans", str(solve_dir), "--scenarios", "50", "--out", str(tmp_path / "E"))
    ok("sweep", "tiny", "--candidates", "3", "--scenarios", "50", "--out", str(tmp_path / "S"))
    other = base_model()
    other["name"] = "handmade"
    model_file = tmp_path / "handmade.yaml"
    model_file.write_text(yaml.safe_dump(other, sort_keys=False))
    ok("solve", str(model_file), "--out", str(tmp_path / "H"))

    records = Registry().list()
    assert [r.kind for r in records] == ["solve", "sweep", "evaluate", "solve"]
    assert [r.model_name for r in records] == ["handmade", "tiny", "tiny", "tiny"]
    ids = [r.id for r in records]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    assert [r.path for r in records] == [(tmp_path / d).resolve() for d in ("H", "S", "E", solve_dir)]
    assert all(r.exists for r in records)

    out = ok("runs")
    assert listed_ids(out) == ids
    assert "handmade" in out and "evaluate" in out and "sweep" in out
    tiny = ok("runs", "--model", "tiny")
    assert listed_ids(tiny) == ids[1:] and "handmade" not in tiny
    assert listed_ids(ok("runs", "--limit", "2")) == ids[:2]
    assert "2 older runs not shown: --limit 4 shows every one" in ok("runs", "--limit", "2")
    assert "not shown" not in out
    code, nothing, err = run_cli("runs", "--model", "nothing")  # a typo is told which models have runs
    assert code == 0 and "no runs recorded yet for model 'nothing'" in nothing, err
    assert squashed("warning: no runs of model 'nothing' are recorded (the registry's runs are of models "
                    "handmade, tiny)") == squashed(err)  # fmt: skip
    code, _, err = run_cli("runs", "--model", "tinyy")  # a model's name misspelt: its nearest recorded
    assert code == 0 and squashed("(the registry's runs are of models handmade, tiny): did you mean "
                                  "'tiny'?") in squashed(err), err  # fmt: skip
    code, _, err = run_cli("runs", "--model", "nothing", "--kind", "sweep")  # one model: "model"
    assert code == 0 and squashed("(the registry's sweep runs are of model tiny)") in squashed(err), err

    tiny_hash = api.load("tiny")[0].content_hash
    shown = ok("runs", "show", str(ids[-1]))
    command = squashed(f"command fleetopt solve tiny --out {solve_dir}")
    assert command in squashed(shown), "the whole command, not cut"
    assert f"folder{solve_dir.resolve()}" in squashed(shown), "the whole folder path, not cut"
    assert f"tiny(hash{tiny_hash})" in squashed(shown) and "MISSING" not in shown
    # the record's figure says what it measures
    cushion = json.loads((solve_dir / "summary.json").read_text())["lowest_covenant_cushion"]
    measure = "the smallest fall of EBITDA, collateral or cash that breaches a covenant"
    said = f"lowest_covenant_cushion {cushion:.2%} ({measure})"
    assert squashed(said) in squashed(shown)
    assert str(solve_dir.resolve()) in squashed(out)
    sweep_shown = ok("runs", "show", str(ids[1]))
    assert "sweep" in sweep_shown and tiny_hash in sweep_shown
    # by its folder too, as the README says of every command that takes a run (it asked for an integer)
    assert ok("runs", "show", str(tmp_path / "S")) == sweep_shown


# ---------------------------------------------------------------- concurrent writers

WRITER = """
import sys, time
from pathlib import Path
from fleetopt.runs.registry import Registry
folder, k = Path(sys.argv[1]), int(sys.argv[2])
reg = Registry(folder)
(folder.parent / f"ready-{k}").touch()
while not (folder.parent / "go").exists():
    time.sleep(0.005)
for j in range(int(sys.argv[3])):
    reg.record("solve", "tiny", "h", folder / f"w{k}-{j}", {"k": k, "j": j}, command=f"writer {k} run {j}")
"""


def test_concurrent_writers_lose_nothing(tmp_path):
    folder = tmp_path / "shared" / "runs"
    folder.parent.mkdir()
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    args = [sys.executable, "-c", WRITER, str(folder)]
    procs = [subprocess.Popen([*args, str(k), str(RUNS_EACH)], **pipes) for k in range(WRITERS)]
    try:
        deadline = time.monotonic() + 60
        while not all((folder.parent / f"ready-{k}").exists() for k in range(WRITERS)):
            assert time.monotonic() < deadline, "writers did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        (folder.parent / "go").touch()  # every writer starts inserting at once
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * WRITERS, [err for _, err in results]
    records = Registry(folder).list()
    assert len(records) == WRITERS * RUNS_EACH
    assert len({r.id for r in records}) == WRITERS * RUNS_EACH
    assert {(r.figures["k"], r.figures["j"]) for r in records} == {
        (k, j) for k in range(WRITERS) for j in range(RUNS_EACH)
    }
    # each writer's runs keep their order
    for k in range(WRITERS):
        mine = sorted((r.id, r.figures["j"]) for r in records if r.figures["k"] == k)
        assert [j for _, j in mine] == list(range(RUNS_EACH))


# ---------------------------------------------------------------- missing folders and unknown ids


@pytest.fixture
def deleted_run(tmp_path) -> int:
    """A solve of tiny recorded in the registry, whose folder was then deleted."""
    folder = tmp_path / "gone"
    ok("solve", "tiny", "--out", str(folder))
    (record,) = Registry().list()
    shutil.rmtree(folder)
    return record.id


def test_deleted_run_folder_is_reported_missing(deleted_run, tmp_path):
    assert Registry().list()[0].exists is False
    assert repr(Registry().list()[0]).endswith(", folder gone)")
    listing = ok("runs")
    assert listed_ids(listing) == [deleted_run] and "(missing)" in listing
    shown = ok("runs", "show", str(deleted_run))
    assert "MISSING" in shown
    with pytest.raises(RegistryError, match="missing"):
        Registry().resolve(str(deleted_run))
    for args in (["report", str(deleted_run)], ["compare", str(deleted_run), str(deleted_run)],
                 ["evaluate", "--plans", str(deleted_run), "--out", str(tmp_path / "E")]):  # fmt: skip
        code, out, err = run_cli(*args)
        assert code == 2, (args, out, err)
        assert err.startswith("error: ") and "missing" in err and "Traceback" not in err + out
    assert not (tmp_path / "E").exists()


def test_a_run_whose_folder_holds_a_later_run_is_not_taken_for_it(deleted_run, tmp_path):
    """A folder emptied and written again: its first run id showed the second run's figures in
    `report` and compared the second run with itself, with no word said."""
    later = tmp_path / "gone"
    ok("solve", "tiny", "--out", str(later))
    first, second = Registry().get(deleted_run), Registry().list()[0]
    assert (first.replaced_by, first.exists) == (second.id, False) and second.exists
    # a notebook's list of runs: a line each (it printed every field and every figure)
    assert repr(second) == f"RunRecord({second.id}, solve, model 'tiny', '{later}', {second.created_utc})"
    assert repr(first).endswith(f", replaced by run {second.id})")
    def folded(text: str) -> str:  # the table folds long paths inside their cells
        return re.sub(r"[\s│]", "", text)

    assert f"(nowrun{second.id})" in folded(ok("runs"))
    assert f"REPLACED:thefoldernowholdsrun{second.id}" in folded(ok("runs", "show", str(first.id)))
    assert Registry().resolve(second.id) == later.resolve()
    for args in (["report", str(first.id)], ["compare", str(first.id), str(second.id)]):
        code, out, err = run_cli(*args)
        assert code == 2 and f"now holds run {second.id}, written there since" in err, (args, out, err)
    assert not (later / "report.html").exists()


def test_a_runs_folder_moved_whole_keeps_its_runs_and_the_plans_its_evaluations_read(tmp_path, monkeypatch):
    """Copied off a cloud instance, say: the registry spells the folders inside the runs folder
    from where it was first opened (absolute paths, as older versions read them) and finds them
    where the runs folder now is; an evaluation finds the plans it read at the same place seen from
    its folder (the report's plan sections were dropped, and run ids named the old folders)."""
    runs = tmp_path / "runs"
    ok("solve", "tiny", "--out", str(runs / "base"))
    ok("evaluate", "--plans", str(runs / "base"), "--scenarios", "20", "--out", str(runs / "base-risk"))
    api.prepare_evaluation(runs / "base", scenarios=10).start(runs / "job")  # a job started, not run
    stored = [str(runs.resolve() / "base"), str(runs.resolve() / "base-risk")]
    with sqlite3.connect(runs / "registry.sqlite") as con:
        assert [p for (p,) in con.execute("SELECT path FROM runs ORDER BY id")] == stored
    moved = tmp_path / "elsewhere" / "runs"
    shutil.copytree(runs, moved)
    shutil.rmtree(runs)
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(moved))
    records = Registry().list()
    assert [(r.path, r.exists) for r in records] == [(moved.resolve() / "base-risk", True),
                                                     (moved.resolve() / "base", True)]  # fmt: skip
    assert "(missing)" not in ok("runs")
    code, out, err = run_cli("report", str(records[0].id), "--out", str(tmp_path / "risk.html"))
    assert code == 0 and "no longer there" not in err + out, (out, err)
    assert "Decisions of milp" in (tmp_path / "risk.html").read_text()  # a section of the plans themselves
    ok("evaluate", "--plans", str(records[1].id), "--scenarios", "10", "--out", str(moved / "again"))
    ok("evaluate", "--resume", str(moved / "job"))  # its plans found again, checked by their SHA-256
    assert Registry().list()[0].path == (moved / "job").resolve()
    assert Registry().id_of(moved / "job") == Registry().list()[0].id
    with sqlite3.connect(moved / "registry.sqlite") as con:  # no record rewritten: older versions read them
        assert [p for (p,) in con.execute("SELECT path FROM runs ORDER BY id LIMIT 2")] == stored


def test_a_job_resumed_in_a_copy_of_the_runs_folder_reads_the_copy_s_plans(tmp_path, monkeypatch):
    """A copy (the original still there, its plans since changed): the resume read the original's
    plans, then refused them as changed, and the copy's summary named the original's file."""
    runs = tmp_path / "runs"
    ok("solve", "tiny", "--out", str(runs / "base"))
    api.prepare_evaluation(runs / "base", scenarios=10).start(runs / "job")
    copy = tmp_path / "copy"
    shutil.copytree(runs, copy)
    (runs / "base" / "plan.npz").write_bytes(b"changed since")  # the original's plans changed
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(copy))
    ok("evaluate", "--resume", str(copy / "job"))
    summary = json.loads((copy / "job" / "summary.json").read_text())
    assert summary["plans_source"] == str((copy / "base" / "plan.npz").resolve())
    assert summary["plans_source_relative"] == "../base/plan.npz"


def test_a_registry_an_older_version_wrote_and_that_was_moved_finds_its_folders(tmp_path, monkeypatch):
    """An older version kept no trace of where the runs folder was: its records' common parent,
    with a folder of theirs found by name where the runs folder now is, says it was moved whole."""
    runs = tmp_path / "runs"
    ok("solve", "tiny", "--out", str(runs / "a"))
    ok("solve", "tiny", "--out", str(runs / "b"))
    with sqlite3.connect(runs / "registry.sqlite") as con:
        con.execute("DROP TABLE registry_facts")  # as an older version left it
    moved = tmp_path / "moved"
    runs.rename(moved)
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(moved))
    assert [(r.path, r.exists) for r in Registry().list()] == [(moved.resolve() / "b", True),
                                                               (moved.resolve() / "a", True)]  # fmt: skip
    outside = tmp_path / "outside"  # a folder outside the runs folder: kept as it is
    ok("solve", "tiny", "--out", str(outside))
    assert Registry().list()[0].path == outside.resolve() and Registry().id_of(outside) == 3


def test_unknown_run_id_exits_2(tmp_path):
    assert "no runs recorded yet" in ok("runs")
    for args in (["runs", "show", "999"], ["report", "999"], ["evaluate", "--plans", "999"]):
        code, out, err = run_cli(*args)
        assert code == 2, (args, out, err)
        assert "no run with id 999" in err and "Traceback" not in err + out
    with pytest.raises(RegistryError, match="no run with id 999"):
        Registry().get(999)
    assert not (tmp_path / "runs" / "registry.sqlite").exists() or Registry().list() == []


def test_each_kind_of_run_lists_the_figure_that_describes_it():
    """A sweep's key figure is its pick's scenario mean and CVaR5 (not the pick's forecast NPV,
    which it also records), a solve's the forecast NPV, an evaluation of several plans its first."""
    from fleetopt.cli.render.runs import key_figure

    sweep = {"npv_usd": 14e9, "npv_mean_usd": 9e9, "npv_cvar5_usd": -16.8e9}
    assert key_figure("sweep", sweep) == "pick: mean NPV $9.00B, CVaR5 -$16.80B"
    named = {**sweep, "recommended": "milp: demand slump"}  # the pick's label, which the list left out
    assert key_figure("sweep", named) == "pick (milp: demand slump): mean NPV $9.00B, CVaR5 -$16.80B"
    assert key_figure("solve", {"npv_usd": 18.53e9}) == "NPV $18.53B on the forecast"
    evaluation = {"n_plans": 3, "npv_mean_usd": 1e9, "npv_cvar5_usd": 2e6}
    shown = "the plan shown (of 3 plans, the highest CVaR5 NPV): mean NPV $1.00B, CVaR5 $2.0M"
    assert key_figure("evaluate", evaluation) == shown
    # RP said what it is (it read "RP $17.68B", which a new user could not read)
    rp = "stochastic plan's in-sample value (RP: expected NPV less rescue penalties) $17.68B"
    assert key_figure("stochastic", {"rp_usd": 17.68e9, "vss_usd": 2e9}) == rp
    weighted = key_figure("stochastic", {"rp_usd": 17.68e9, "risk_weight": 0.3})
    assert weighted == ("stochastic plan's in-sample value (RP: risk-weighted: (1 - L) x expected value "
                        "+ L x CVaR of value, L = 0.3) $17.68B")
    # over how many scenarios, where the record keeps it: a CVaR5 over 20 is one scenario's NPV
    summary = {"kind": "evaluate", "n_plans": 1, "n_scenarios": 20, "seed": 7, "metrics": [evaluation]}
    evaluated = key_figures(summary)
    assert (evaluated["n_scenarios"], evaluated["seed"]) == (20, 7)
    # and which ones: two evaluations on other seeds are told apart
    assert key_figure("evaluate", evaluated) == "mean NPV $1.00B, CVaR5 $2.0M over 20 scenarios (seed 7)"
    # and the default risk as lenders count it, where the record keeps it (a treasurer's list of runs)
    lenders = {**evaluated, "any_default_probability": 0.627}
    assert key_figure("evaluate", lenders) == (
        "mean NPV $1.00B, CVaR5 $2.0M, P(any default) 62.7% over 20 scenarios (seed 7)"
    )
    settings = {"scenarios": 10, "scenario_seed": 0}
    solved = key_figures({"kind": "stochastic", "rp_usd": 17.68e9, "settings": settings, "scenarios": [{}]})
    assert solved == {"rp_usd": 17.68e9, "scenarios": 10, "scenario_seed": 0}
    assert key_figure("stochastic", solved) == f"{rp} over 10 scenarios (seed 0)"
    # `runs show` gave a CVaR without its tail share, and not which first stage the run kept
    settings |= {"cvar_alpha": 0.3, "mip_gap": 1e-6, "screened": 200}
    summary = {"kind": "stochastic", "rp_usd": 1.0, "cvar_npv_usd": -2.0, "settings": settings,
               "first_stage": "the forecast's", "status": "optimal", "gap": 0.0}  # fmt: skip
    assert key_figures(summary) == {"scenarios": 10, "scenario_seed": 0, "cvar_alpha": 0.3, "mip_gap": 1e-6,
                                    "first_stage": "the forecast's", "status": "optimal", "gap": 0.0,
                                    "rp_usd": 1.0, "cvar_npv_usd": -2.0}  # fmt: skip
    assert key_figure("solve", {"npv_usd": 1e9, "n_scenarios": 3}) == "NPV $1.00B on the forecast"


def test_a_stochastic_run_is_listed_by_its_out_of_sample_comparison():
    """`fleetopt runs` headlined a stochastic run by its in-sample RP, which is fitted to the scenarios
    it was solved on; the figure to judge the plan by is its comparison with the forecast optimum on
    fresh scenarios, with paired standard errors, which the record now keeps and the list leads with.
    tiny --stochastic 5: mean -$1.4M at 23 standard errors (worse); CVaR5 +$200,000 within 2 x
    $180,000, P(breach) +0.6 pp within 2 x 0.4 pp and P(default) 0 in every scenario (neither)."""
    from rich.console import Console

    from fleetopt.cli.render.runs import key_figure, run_detail
    from fleetopt.runs.key_figures import key_figures
    from fleetopt.runs.registry import RunRecord

    paired = {"npv_mean_usd_diff": -1.4e6, "npv_mean_usd_diff_se": 60657.0,
              "npv_cvar_usd_diff": 2e5, "npv_cvar_usd_diff_se": 1.8e5,
              "breach_probability_diff": 0.006, "breach_probability_diff_se": 0.004,
              "default_probability_diff": 0.0, "default_probability_diff_se": 0.0}  # fmt: skip
    oos = {"seed": 8, "scenarios": 1000, "paired": paired, "metrics": {"stochastic": {"npv_mean_usd": 1.0}}}
    summary = {"kind": "stochastic", "rp_usd": 17.68e9, "settings": {"scenarios": 5, "scenario_seed": 7},
               "out_of_sample": oos}  # fmt: skip
    figures = key_figures(summary)
    assert figures["out_of_sample_npv_mean_usd_diff"] == -1.4e6 and figures["out_of_sample_seed"] == 8
    assert key_figure("stochastic", figures) == (
        "out of sample on 1,000 fresh scenarios (seed 8), stochastic plan less forecast optimum (paired "
        "standard error): mean NPV -$1.4M ($61k), CVaR5 +$200.0k ($180k); worse")  # fmt: skip
    kept = key_figure("stochastic", {**figures, "first_stage": "the forecast's"})  # RP's first stage not kept
    assert "(seed 8), plan kept (the forecast's first stage) less forecast optimum (paired" in kept
    # `runs show`: every difference in one row, not a row of raw numbers each
    record = RunRecord(1, "2026-12-05T18:00:00+00:00", "stochastic", "solve", "tiny", "h", Path("/x"),
                       figures)  # fmt: skip
    console = Console(width=1000, record=True)
    console.print(run_detail(record))
    shown = console.export_text()
    assert "out_of_sample_seed" not in shown and "out_of_sample_npv" not in shown
    assert ("out of sample on 1,000 fresh scenarios (seed 8), stochastic plan less forecast optimum (paired "
            "standard error): mean -$1.4M ($61k), CVaR5 +$200.0k ($180k), P(breach) +0.60 pp (0.40 "
            "pp), P(liq. default) 0.00 pp (0 pp); worse: keep the forecast optimum's first stage, or "
            "solve again with more scenarios") in shown  # fmt: skip
    # a run without the comparison (skipped, or recorded before records kept it): its in-sample value
    del summary["out_of_sample"]
    assert key_figure("stochastic", key_figures(summary)).startswith("stochastic plan's in-sample value")


def test_an_evaluation_of_several_plans_lists_its_plan_shown_with_how_many_and_the_ranking_that_chose_it():
    """`fleetopt runs` listed a 2-plan evaluation as "b: mean NPV ...", as if b were its only plan: it
    names the plan of how many, by the ranking its report chose it by (the default, CVaR5, where the
    run gave none), the words `fleetopt report` says it in."""
    from fleetopt.cli.render.runs import key_figure
    from fleetopt.evaluate.metrics import shown_first
    from fleetopt.runs.key_figures import key_figures

    a = {"plan": "a", "npv_mean_usd": 1e9, "npv_cvar5_usd": -5e8, "breach_probability": 0.5}
    b = {"plan": "b", "npv_mean_usd": 8e8, "npv_cvar5_usd": -1e8, "breach_probability": 0.05}
    run = {"kind": "evaluate", "n_plans": 2, "metrics": [a, b]}

    def listed(ranking):
        summary = {**run, "ranking": ranking} if ranking else run
        return key_figure("evaluate", key_figures(summary, shown_first(summary)))

    # b's CVaR5 is the higher; a's mean NPV; b alone breaches at most 10 %
    assert listed(None) == "b (of 2 plans, the highest CVaR5 NPV): mean NPV $800.0M, CVaR5 -$100.0M"
    by_mean = "a (of 2 plans, the highest mean NPV): mean NPV $1.00B, CVaR5 -$500.0M"
    assert listed({"rank_by": "mean"}) == by_mean
    assert listed({"rank_by": "mean", "max_breach_prob": 0.1}) == (
        "b (of 2 plans, the highest mean NPV among plans with P(covenant breach) at most 10%): "
        "mean NPV $800.0M, CVaR5 -$100.0M"
    )
    alone = {**run, "n_plans": 1, "metrics": [a]}
    assert key_figure("evaluate", key_figures(alone)) == "a: mean NPV $1.00B, CVaR5 -$500.0M"


def test_a_deterministic_evaluation_s_key_figure_is_its_npv_on_the_forecast():
    """`fleetopt runs` labelled a --deterministic evaluation "mean NPV -$5.4M, CVaR5 -$5.4M": its one
    scenario is the forecast, so it reads as a solve's, "NPV -$5.4M on the forecast"."""
    from fleetopt.cli.render.runs import key_figure
    from fleetopt.runs.key_figures import key_figures

    first = {"npv_mean_usd": -5.4e6, "npv_cvar5_usd": -5.4e6, "breach_probability": 0.0}
    summary = {"kind": "evaluate", "n_plans": 1, "deterministic": True, "metrics": [first]}
    assert key_figure("evaluate", key_figures(summary)) == "NPV -$5.4M on the forecast"
    several = key_figures({**summary, "n_plans": 2})
    shown = "the plan shown (of 2 plans, the highest CVaR5 NPV): NPV -$5.4M on the forecast"
    assert key_figure("evaluate", several) == shown
    sampled = key_figures({**summary, "deterministic": False})
    assert key_figure("evaluate", sampled) == "mean NPV -$5.4M, CVaR5 -$5.4M"


def test_runs_show_formats_each_figure_by_what_it_is(tmp_path):
    """Raw floats before (min_dscr 1.9489529763768827, build_seconds 0.0395..., gpus_retired
    203.3256..., bound_usd None) and the kind twice. By hand: 1.9489... -> 1.95x; headroom (an
    older run's) 0.39211 -> 39.21%; 0.0395 s -> 0.0395 s (three significant digits, as every time is
    written: units.format_duration); 203.33 GPUs -> 203 GPUs; None -> n/a."""
    figures = {
        "kind": "solve", "model_name": "tiny", "model_hash": "abc", "bound_usd": None,
        "npv_usd": -14.1e6, "gap": 0.0, "min_dscr": 1.9489529763768827, "max_debt_to_ebitda": 0.95016,
        "lowest_covenant_headroom": 0.3921092688406307, "build_seconds": 0.0395, "gpus_retired": 203.3256,
        "power_built_mw": 12.25, "breach_probability": 0.318, "n_scenarios": 1000, "status": "optimal",
        "lowest_covenant_cushion": 0.28171, "tightest_covenant": "dscr",
    }  # fmt: skip
    run_id = Registry().record("solve", "tiny", "abc", tmp_path, figures, "fleetopt solve tiny")
    code, out, err = run_cli("runs", "show", str(run_id))
    assert code == 0, err
    rows = dict(re.findall(r"^│ (\S+)\s*│ (.*?)\s*│$", out, re.M))
    assert {k: rows[k] for k in figures if k in rows} == {
        "bound_usd": "n/a", "npv_usd": "-$14.1M", "gap": "0.00%", "min_dscr": "1.95x",
        "max_debt_to_ebitda": "0.95x", "build_seconds": "0.0395 s",
        "lowest_covenant_headroom": "39.21% (the tightest covenant's 1 - ratio / limit, or ratio / limit - 1 "
                                    "for a minimum)",
        "gpus_retired": "203 GPUs", "power_built_mw": "12.3 MW", "breach_probability": "31.8%",
        "n_scenarios": "1,000", "status": "optimal", "kind": "solve", "tightest_covenant": "dscr",
        "lowest_covenant_cushion": "28.17% (the smallest fall of EBITDA, collateral or cash that breaches a "
                                   "covenant)",
    }  # fmt: skip
    assert len(re.findall(r"^│ kind ", out, re.M)) == 1
    # which figures these are: the MILP's statements; the lowest cash is not the covenant's figure
    assert "min_liquidity_usd the lowest cash in any quarter, tested or not" in " ".join(out.split())


def test_runs_show_of_an_evaluation_says_which_default_each_probability_counts(tmp_path):
    """`runs show` of the default model's evaluation listed default_probability 29.9% and
    any_default_probability 62.7% with nothing to tell them apart: a treasurer read 29.9 % as the
    lenders' count of defaults. The caption now says each is what metrics.csv means by it."""
    figures = {"kind": "evaluate", "model_name": "neocloud", "model_hash": "abc", "plan": "milp",
               "default_probability": 0.299, "any_default_probability": 0.627}  # fmt: skip
    run_id = Registry().record("evaluate", "neocloud", "abc", tmp_path, figures, "fleetopt evaluate")
    code, out, err = run_cli("runs", "show", str(run_id))
    assert code == 0, err
    rows = dict(re.findall(r"^│ (\S+)\s*│ (.*?)\s*│$", out, re.M))
    assert (rows["default_probability"], rows["any_default_probability"]) == ("29.9%", "62.7%")
    said = " ".join(out.split())
    assert "default_probability: share of scenarios with a liquidity default;" in said
    assert "any_default_probability: share of scenarios with a liquidity default or an uncured" in said


def test_runs_show_says_the_horizon_and_discount_rate_its_figures_are_of(tmp_path):
    """`runs show` gave NPVs and default probabilities of no stated rate or horizon. tiny solved at
    20 % a year (--set; its file says 15 %) on its 8 quarters: the row says the run's own, kept in
    its record, whatever became of its folder since; a record of an older fleetopt, which keeps
    neither, has them from the folder's model.yaml, and where that file was changed after the run,
    or the folder is gone, they are not known rather than another model's."""
    folder = tmp_path / "S"
    ok("solve", "tiny", "--set", "horizon.discount_rate_annual=0.2", "--out", str(folder))

    def said() -> str:  # the row's cell, its lines folded at the console's width joined
        lines = ok("runs", "show", "1").splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("│ horizon and discount rate"))
        cells = [lines[at].split("│")[2].strip()]
        for line in lines[at + 1:]:
            if not re.match(r"^│\s+│", line):  # the next row's name: the cell has ended
                break
            cells.append(line.split("│")[2].strip())
        return " ".join(c for c in cells if c)

    at_20 = "over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at 20% a year, USD)"
    assert said() == at_20
    model = folder / "model.yaml"
    text = model.read_text(encoding="utf-8")
    model.write_text(text.replace("0.2", "0.1", 1), encoding="utf-8")
    assert said() == at_20  # the record's
    _as_an_older_record(tmp_path)
    assert said() == "not known: the run's model.yaml was changed after the run"
    model.write_text(text, encoding="utf-8")
    assert said() == at_20  # the model.yaml's
    shutil.rmtree(folder)
    assert said() == "not known: the run's folder, whose model.yaml says them, is gone"


def _as_an_older_record(tmp_path, run: int | None = None) -> None:
    """Run ``run``'s record (every run's, None) as fleetopt 0.4.31 wrote it: no horizon or rate."""
    with sqlite3.connect(tmp_path / "runs" / "registry.sqlite") as con:
        con.execute("UPDATE runs SET figures = json_remove(figures, '$.horizon_quarters', "
                    "'$.discount_rate_annual') WHERE ? IS NULL OR id = ?", (run, run))  # fmt: skip


def test_every_kind_of_run_keeps_its_horizon_and_discount_rate_and_the_list_says_them(tmp_path):
    """`fleetopt runs` gave NPVs and P(any default) of no stated rate or horizon: each kind's
    summary.json and record keep them (tiny over its 8 quarters, at 12 % a year here), and the list
    says them once, under its title, where its runs share them."""
    at = "--set", "horizon.discount_rate_annual=0.12"
    ok("solve", "tiny", *at, "--out", str(tmp_path / "S"))
    ok("evaluate", "--plans", str(tmp_path / "S"), "--scenarios", "5", "--out", str(tmp_path / "E"))
    ok("sweep", "tiny", *at, "--candidates", "1", "--scenarios", "5", "--out", str(tmp_path / "W"))
    ok("solve", "tiny", *at, "--stochastic", "2", "--out", str(tmp_path / "T"))
    for name in "SEWT":
        summary = json.loads((tmp_path / name / "summary.json").read_text(encoding="utf-8"))
        assert (summary["horizon_quarters"], summary["discount_rate_annual"]) == (8, 0.12), name
    records = api.runs()
    assert sorted(r.kind for r in records) == ["evaluate", "solve", "stochastic", "sweep"]
    kept = {(r.figures["horizon_quarters"], r.figures["discount_rate_annual"]) for r in records}
    assert kept == {(8, 0.12)}
    listed = " ".join(ok("runs").split())
    basis = "over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at 12% a year, USD)"
    assert listed.count(basis) == 1 and f"key figures {basis}" in above_the_runs(ok("runs")), listed


@pytest.mark.parametrize("width", [200, 60])  # a table; a block per run where it does not fit
def test_the_list_says_what_its_key_figures_are_over_before_its_runs(tmp_path, width):
    """`fleetopt runs` put 'key figures over the horizon's 8 quarters (...)' under its table, as a
    caption read after the figures it explains: it is under the title, above the runs, as the solve's
    plan table says it in its title."""
    from fleetopt.cli.render.runs import runs_table
    from fleetopt.cli.render.tables import plain_text

    ok("solve", "tiny", "--out", str(tmp_path / "S"))
    listed = plain_text([runs_table(api.runs())], width=width)
    basis = ("key figures over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at 15% a "
             "year, USD)")  # fmt: skip
    squashed_listing = " ".join(listed.split())
    assert squashed_listing.startswith("runs (newest first)") and squashed_listing.count(basis) == 1, listed
    assert basis in above_the_runs(listed), listed


def test_runs_of_other_rates_are_listed_each_with_its_own_and_older_ones_as_not_recorded(tmp_path):
    """Where the runs listed differ in horizon or rate, each key figure says its own; a run recorded
    by an older fleetopt, which kept neither, says they are not recorded and where to find them, no
    traceback."""
    ok("solve", "tiny", "--out", str(tmp_path / "A"))
    ok("solve", "tiny", "--set", "horizon.discount_rate_annual=0.2", "--out", str(tmp_path / "B"))
    listed = squashed(ok("runs"))
    basis = "over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at {}% a year, USD)"
    at_15 = squashed(f"NPV -$14.1M on the forecast; {basis.format(15)}")
    assert at_15 in listed and squashed(f"on the forecast; {basis.format(20)}") in listed
    assert "keyfigures" not in listed  # no caption
    _as_an_older_record(tmp_path, 2)
    listed = squashed(ok("runs"))
    assert at_15 in listed and squashed("on the forecast; horizon and discount rate not recorded") in listed
    assert squashed("horizon and discount rate not recorded: runs of an older fleetopt; `fleetopt runs show "
                    "ID` gives them") in squashed(above_the_runs(ok("runs")))  # fmt: skip
    _as_an_older_record(tmp_path)
    listed = " ".join(ok("runs").split())
    assert "; horizon and discount rate" not in listed and (
        "key figures' horizon and discount rate not recorded (runs of an older fleetopt; `fleetopt runs show "
        "ID` gives them)") in above_the_runs(ok("runs"))  # fmt: skip


def test_a_cost_solves_present_cost_is_listed_as_a_present_cost_not_an_equity_npv(tmp_path):
    """`fleetopt runs` captioned a cost solve's present cost "NPV: equity cash flows and terminal
    equity": lab's present cost over its 12 quarters at 10 % a year is said as one, alone; beside an
    NPV run at the same rate, the caption says both, each by what it is; `runs show` says the cost
    solve's present cost, then the market-valued NPV its record keeps too."""
    ok("solve", "lab", "--objective", "cost", "--out", str(tmp_path / "C"))
    cost = ("present cost: the fleet at the start and the quarters' costs less the value at the end at 10% a "
            "year, USD")  # fmt: skip
    npv = "NPV: equity cash flows and terminal equity at 10% a year, USD"
    listed = " ".join(ok("runs").split())
    assert f"key figures over the horizon's 12 quarters ({cost})" in above_the_runs(ok("runs")), listed
    assert "NPV" not in listed, listed
    shown = squashed(ok("runs", "show", "1"))
    assert squashed(f"over the horizon's 12 quarters ({cost}; {npv})") in shown, shown
    ok("solve", "lab", "--out", str(tmp_path / "N"))
    listed = ok("runs")
    assert f"key figures over the horizon's 12 quarters ({npv}; {cost})" in above_the_runs(listed), listed


def test_a_registry_locked_by_another_process_says_retry_not_move_it_away(tmp_path, monkeypatch):
    """Another process holds an exclusive lock longer than a command waits to record a run: the
    message says to retry, since moving the registry away would lose every run's record for a
    passing lock."""
    folder = tmp_path / "runs"
    registry = Registry(folder)
    registry.record("solve", "tiny", "h", folder / "a", {}, command="fleetopt solve tiny")
    monkeypatch.setattr(Registry, "BUSY_SECONDS", 0.2)
    # the wait as every time is written (units.format_duration): it read "for 0 s", cut to whole seconds
    locked = pytest.raises(RegistryError, match=r"stayed locked by another process for 0\.2 s")
    with held(registry, "EXCLUSIVE"), locked as info:
        registry.record("solve", "tiny", "h", folder / "b", {}, command="fleetopt solve tiny")
    assert "retry once the other fleetopt command" in str(info.value)
    assert "move it away" not in str(info.value)
    assert len(Registry(folder).list()) == 1  # usable again once the lock is gone


# ---------------------------------------------------------------- a registry that cannot be written


@pytest.mark.parametrize("registry", ["missing", "present"])
def test_an_unwritable_runs_folder_is_refused_before_the_work(tmp_path, immutable, registry):
    """A registry that exists still needs the folder: SQLite's WAL keeps files beside it."""
    (tmp_path / "runs").mkdir()
    if registry == "present":
        Registry(tmp_path / "runs").record("solve", "tiny", "h", tmp_path / "a", {}, command="fleetopt")
        for name in ("registry.sqlite-wal", "registry.sqlite-shm"):
            (tmp_path / "runs" / name).unlink(missing_ok=True)
    immutable(tmp_path / "runs")
    code, _, err = run_cli("solve", "tiny", "--out", str(tmp_path / "A"))
    assert code == 2
    wanted = {
        "missing": f"cannot be created: {tmp_path / 'runs'} is not a folder this user can write to",
        "present": f"cannot be opened or created (unable to open database file): make the runs folder "
        f"{tmp_path / 'runs'} writable",
    }[registry]
    assert wanted in " ".join(err.split())
    assert "move it away" not in err
    assert not (tmp_path / "A").exists()


def test_a_read_only_registry_is_refused_before_the_work(tmp_path, immutable):
    Registry(tmp_path / "runs").record(
        "solve", "tiny", "h", tmp_path / "a", {}, command="fleetopt solve tiny"
    )
    immutable(tmp_path / "runs" / "registry.sqlite")
    code, _, err = run_cli("solve", "tiny", "--out", str(tmp_path / "A"))
    assert code == 2
    assert "is read-only" in err and "move it away" not in err
    assert not (tmp_path / "A").exists()


def test_a_locked_registry_is_refused_before_the_work_without_waiting_a_minute(tmp_path, monkeypatch):
    registry = Registry(tmp_path / "runs")
    registry.record("solve", "tiny", "h", tmp_path / "a", {}, command="fleetopt solve tiny")
    monkeypatch.setattr(Registry, "CHECK_SECONDS", 0.2)
    monkeypatch.setattr(Registry, "BUSY_SECONDS", 1000.0)  # the check must not wait this long
    with held(registry, "IMMEDIATE"):
        code, _, err = run_cli("solve", "tiny", "--out", str(tmp_path / "A"))
    assert code == 2
    assert "stayed locked by another process for 0.2 s" in err and "retry once" in err
    assert not (tmp_path / "A").exists()


def test_a_registry_missing_at_the_check_is_not_created_by_it(tmp_path):
    Registry(tmp_path / "runs" / "deeper").check()
    assert not (tmp_path / "runs").exists()  # a refused run leaves nothing behind


def test_a_run_not_recorded_for_a_lock_says_its_folder_is_usable_by_path(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    loaded, _ = api.load("tiny")
    solved = api.solve(loaded)
    api.write_solve_run(solved, loaded, tmp_path / "a")  # the registry made, to be locked
    monkeypatch.setattr(Registry, "BUSY_SECONDS", 0.2)
    with held(Registry(), "IMMEDIATE"), pytest.raises(RegistryError, match="stayed locked") as info:
        api.write_solve_run(solved, loaded, tmp_path / "b")
    said = " ".join(str(info.value).split())
    assert f"the run is saved in {tmp_path / 'b'}" in said
    assert "The folder is complete: give its path where a run id is asked for" in said


def test_runs_add_refused_by_the_registry_does_not_call_the_folder_complete(tmp_path, monkeypatch):
    """`runs add` of a folder the registry could not take ended "The folder X is complete: give its
    path where a run id is asked for", a sentence for a run that has just finished: said only there."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "A"))[0] == 0
    (tmp_path / "runs-file").write_text("not a folder\n")
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs-file"))
    code, _, err = run_cli("runs", "add", str(tmp_path / "A"))
    assert code == 2 and "is not a folder" in err
    assert "complete" not in err and "run id is asked" not in err


def test_a_resume_is_refused_before_the_work_when_the_registry_cannot_record_it(tmp_path, monkeypatch):
    """`evaluate --resume` and `sweep --resume` skipped the up-front check: with the registry
    locked they computed every chunk, then failed to record the run."""
    from test_jobs import _interrupted_job

    from fleetopt.evaluate.chunk_store import ChunkStore

    folder = _interrupted_job(tmp_path)  # one chunk of three stored
    registry = Registry(tmp_path / "runs")
    registry.record("solve", "tiny", "h", tmp_path / "a", {}, command="fleetopt solve tiny")
    monkeypatch.setattr(Registry, "CHECK_SECONDS", 0.2)
    monkeypatch.setattr(Registry, "BUSY_SECONDS", 0.5)  # without the check: computed, then refused here
    with held(registry, "IMMEDIATE"):
        evaluate = run_cli("evaluate", "--resume", str(folder))
        sweep = run_cli("sweep", "--resume", str(tmp_path / "no-such-sweep"))  # refused before it is read
    for code, _, err in (evaluate, sweep):
        assert code == 2
        assert "stayed locked by another process for 0.2 s" in err and "retry once" in err
    assert ChunkStore(folder / "chunks").count() == 1 and not (folder / "summary.json").exists()


@pytest.mark.parametrize(
    "command", [("runs",), ("runs", "show", "1"), ("runs", "forget", "--missing"), ("runs", "add", "A")]
)
def test_runs_says_a_runs_folder_that_is_a_file_is_not_a_folder(tmp_path, monkeypatch, command):
    """FLEETOPT_RUNS_DIR set to a file: `fleetopt runs` said "no runs recorded yet", `runs show 1`
    "no run with id 1 in FILE/registry.sqlite", `runs forget --missing` "no run to forget" (exit 0),
    `runs add` of a finished run "cannot be used: File exists"."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.chdir(tmp_path)
    assert run_cli("solve", "tiny", "--out", "A")[0] == 0  # recorded elsewhere: `runs add` has a run to add
    (tmp_path / "runs-file").write_text("not a folder\n")
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs-file"))
    code, out, err = run_cli(*command)
    assert code == 2 and "no runs recorded" not in out and "no run with id" not in err
    assert "no run to forget" not in out and "File exists" not in err
    assert f"the runs folder {tmp_path / 'runs-file'} ($FLEETOPT_RUNS_DIR or ./runs) is not a folder" in (
        " ".join(err.split())
    )


@pytest.mark.parametrize("command", [("runs",), ("runs", "show", "1"), ("runs", "forget", "--missing")])
def test_runs_says_a_runs_folder_under_a_file_cannot_be_made(tmp_path, monkeypatch, command):
    """FLEETOPT_RUNS_DIR set to a folder under a file (FILE/runs): `fleetopt runs` said "no runs
    recorded yet" and `runs forget --missing` "no run to forget" (exit 0), as for a runs folder not
    made yet, though none can be made there."""
    (tmp_path / "runs-file").write_text("not a folder\n")
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs-file" / "runs"))
    code, out, err = run_cli(*command)
    said = f"cannot be made: {tmp_path / 'runs-file'} is a file, not a folder"
    assert code == 2 and said in " ".join(err.split()), out + err


@pytest.mark.parametrize("command", [("runs",), ("solve", "tiny")])
def test_a_registry_that_is_a_folder_is_named_so(tmp_path, monkeypatch, command):
    """runs/registry.sqlite a folder: the user was told to make the runs folder writable, which it
    is; a solve was refused before the work, as it still is."""
    (tmp_path / "runs" / "registry.sqlite").mkdir(parents=True)
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, _, err = run_cli(*command, *(("--out", str(tmp_path / "S")) if command[0] == "solve" else ()))
    assert code == 2 and "writable" not in err, err
    said = f"the run registry {tmp_path / 'runs' / 'registry.sqlite'} is a folder, not the registry's file"
    assert f"{said}: move it away" in " ".join(err.split())
    assert not (tmp_path / "S").exists()


def test_a_registry_that_lost_a_column_is_refused_by_name(tmp_path, monkeypatch):
    """A registry edited by hand (its figures column dropped): `fleetopt runs` gave an IndexError
    traceback (the fuzz audit); it is refused as a registry that cannot be read, exit 2."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "S"))[0] == 0
    with sqlite3.connect(tmp_path / "runs" / "registry.sqlite") as con:
        con.execute("ALTER TABLE runs DROP COLUMN figures")
    code, _, err = run_cli("runs")
    assert code == 2 and "cannot be read or written (no such column: figures)" in " ".join(err.split()), err


def test_a_record_whose_figures_are_nested_thousands_deep_is_listed_as_damaged(tmp_path, monkeypatch):
    """A row's figures edited to an array 100,000 deep gave a RecursionError traceback (the review)."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "S"))[0] == 0
    with sqlite3.connect(tmp_path / "runs" / "registry.sqlite") as con:
        con.execute("UPDATE runs SET figures = ?", ("[" * 100_000 + "]" * 100_000,))
    code, out, err = run_cli("runs")
    assert code == 0 and "damaged record" in out, out + err


@pytest.mark.parametrize("column", ["created_utc", "kind", "command", "model_name", "model_hash", "path"])
def test_a_record_whose_text_field_holds_bytes_is_listed_as_damaged(tmp_path, monkeypatch, column):
    """A row edited to hold a blob where the registry keeps text (SQLite takes any type): `fleetopt
    runs`, `runs show` and `report ID` ended in a TypeError traceback (a bytes path or model name) or
    rich's NotRenderableError (a bytes kind). The record is listed as damaged, naming the field."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "S"))[0] == 0
    with sqlite3.connect(tmp_path / "runs" / "registry.sqlite") as con:
        con.execute(f"UPDATE runs SET {column} = X'FF00'")
    code, out, err = run_cli("runs")
    assert code == 0 and "damaged record" in out, out + err
    code, out, err = run_cli("runs", "show", "1")
    assert code == 0 and f"its {column} in the registry: not text (edited or damaged)" in out, out + err


def test_a_runs_folder_that_cannot_be_written_is_still_listed(tmp_path, monkeypatch):
    """A team's runs folder mounted read-only: `fleetopt runs` failed with "cannot be opened or
    created (unable to open database file)", as the registry was opened for writing. Root writes
    anywhere, so here the folder is made unwritable by `os.access`; the listing must not write."""
    import os

    from fleetopt.runs import registry

    ok("solve", "tiny", "--out", str(tmp_path / "S"))
    ok("runs")  # closes the registry's connections: its WAL is checkpointed into the file
    folder = Registry().folder
    before = sorted(p.name for p in folder.iterdir())
    real_access = os.access

    def unwritable(path, mode):
        return False if mode == os.W_OK else real_access(path, mode)

    def opened_for_writing(self, wait=None):  # what a read-only mount answers
        raise RegistryError(f"the run registry {self.path} cannot be opened (unable to open database file)")

    monkeypatch.setattr(registry.os, "access", unwritable)
    monkeypatch.setattr(Registry, "_connection", opened_for_writing)
    records = Registry().list()
    assert [r.kind for r in records] == ["solve"] and records[0].exists
    assert Registry().resolve(records[0].id) == (tmp_path / "S").resolve()
    assert listed_ids(ok("runs")) == [records[0].id]
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_read_only_registry_an_older_version_wrote_is_listed(tmp_path, monkeypatch):
    """Without the table of where the runs folder was (an older version wrote it), read where it
    cannot be written: its records are placed by themselves, and nothing is written."""
    import os

    from fleetopt.runs import registry

    ok("solve", "tiny", "--out", str(tmp_path / "runs" / "S"))
    with sqlite3.connect(tmp_path / "runs" / "registry.sqlite") as con:
        con.execute("DROP TABLE registry_facts")
    ok("runs")  # a writable use: the table is made again, and its fact kept
    with sqlite3.connect(tmp_path / "runs" / "registry.sqlite") as con:
        con.execute("DROP TABLE registry_facts")
    real_access = os.access

    def unwritable(path, mode):
        return False if mode == os.W_OK else real_access(path, mode)

    def opened_for_writing(self, wait=None):
        raise AssertionError("a read-only registry opened for writing")

    monkeypatch.setattr(registry.os, "access", unwritable)
    monkeypatch.setattr(Registry, "_connection", opened_for_writing)
    records = Registry().list()
    folder = (tmp_path / "runs" / "S").resolve()
    assert [(r.kind, r.path, r.exists) for r in records] == [("solve", folder, True)]


def test_an_evaluation_is_listed_by_the_plan_its_terminal_and_report_show_first():
    """`runs` and `runs show` gave the figures of an evaluation's first plan, unnamed: one the
    user's --max-breach-prob had excluded, not the plan its terminal and report led with."""
    def plan(label, mean, cvar, breach):
        return {"plan": label, "npv_mean_usd": mean, "npv_cvar5_usd": cvar, "breach_probability": breach,
                "forecast_within_limits": True}  # fmt: skip

    metrics = [plan("milp: forecast", -17.7e6, -87.7e6, 0.89),
               plan("milp: price shock", -22.8e6, -82.9e6, 0.837),
               plan("milp: late power", -20.0e6, -90.0e6, 0.80)]  # fmt: skip
    def listed(summary):  # as the API records it
        return key_figures(summary, shown_first(summary))

    summary = {"kind": "evaluate", "n_plans": 3, "deterministic": False, "metrics": metrics}
    by_cvar = listed(summary)  # no ranking: the best CVaR5 first
    assert by_cvar["plan"] == "milp: price shock" and by_cvar["npv_cvar5_usd"] == -82.9e6
    ranked = listed({**summary, "ranking": {"rank_by": "mean", "max_breach_prob": 0.85}})
    assert (ranked["plan"], ranked["npv_mean_usd"]) == ("milp: late power", -20.0e6)
    assert key_figure("evaluate", ranked) == (
        "milp: late power (of 3 plans, the highest mean NPV among plans with P(covenant breach) at most "
        "85%): mean NPV -$20.0M, CVaR5 -$90.0M"
    )
    # none qualifies: the report shows the best of all by the same figure, and so does the record
    for rank_by, best in (("mean", "milp: forecast"), ("cvar5", "milp: price shock")):
        assert listed({**summary, "ranking": {"rank_by": rank_by, "max_breach_prob": 0.5}})["plan"] == best
    assert key_figures(summary)["plan"] == "milp: forecast"  # without the shown plan: the file's first


def test_a_rescued_solve_is_listed_as_breaking_hard_limits():
    """`fleetopt solve --purchases F --rescue` writes a plan that breaks covenants on the forecast:
    the registry's list read like any solve's ("NPV -$32.3M on the forecast")."""
    rescued = {"kind": "solve", "status": "rescued", "npv_usd": -32.3e6}
    assert key_figure("solve", rescued) == "rescued, breaks hard limits: NPV -$32.3M on the forecast"
    assert key_figure("solve", {**rescued, "status": "optimal"}) == "NPV -$32.3M on the forecast"


def test_an_evaluation_of_a_cost_plan_is_listed_by_the_demand_it_serves():
    """`fleetopt runs` listed a lab's evaluation by its mean NPV, which values the lab's own use of
    its GPUs at market prices (from a lab planner's review): the demand it serves instead, with the
    share of scenarios short by more than 1 %; a deterministic one's on the forecast. A plan solved
    for NPV, or an evaluation recorded before the demand columns, keeps its NPV."""
    from fleetopt.cli.render.runs import key_figure
    from fleetopt.runs.key_figures import key_figures

    first = {"npv_mean_usd": 2.4e8, "npv_cvar5_usd": -2e8, "demand_served_share": 0.892,
             "shortfall_probability": 0.818}  # fmt: skip
    summary = {"kind": "evaluate", "n_plans": 1, "n_scenarios": 1000, "plans_objective": "cost",
               "metrics": [first]}  # fmt: skip
    listed = key_figure("evaluate", key_figures(summary))
    assert listed == ("demand served 89.2% on average over 1,000 scenarios, more than 1% short in 81.8% "
                      "of them")
    forecast = key_figures({**summary, "n_scenarios": 1, "deterministic": True})
    assert key_figure("evaluate", forecast) == "demand served 89.2% on the forecast"
    for other in ({**summary, "plans_objective": "npv"}, {**summary, "metrics": [{"npv_mean_usd": 2.4e8,
                                                                                   "npv_cvar5_usd": -2e8}]}):
        assert key_figure("evaluate", key_figures(other)).startswith("mean NPV $240.0M")


def test_an_evaluation_of_npv_plans_keeps_no_demand_figures():
    """`fleetopt runs show` of the default model's evaluation listed demand_served_share 19.3 % and
    shortfall_probability 100 %: of an NPV plan these are its share of the whole market, which the
    evaluate command does not print; a failing plan to any reader. Kept for a cost solve's plans."""
    from fleetopt.runs.key_figures import key_figures

    first = {"plan": "milp", "npv_mean_usd": 1.35e10, "npv_cvar5_usd": -2e10, "breach_probability": 0.715,
             "default_probability": 0.299, "demand_served_share": 0.193, "shortfall_probability": 1.0}
    summary = {"kind": "evaluate", "n_plans": 1, "n_scenarios": 2000, "plans_objective": "npv",
               "metrics": [first]}  # fmt: skip
    kept = key_figures(summary)
    assert "demand_served_share" not in kept and "shortfall_probability" not in kept
    assert kept["npv_mean_usd"] == 1.35e10 and kept["default_probability"] == 0.299
    lab = key_figures({**summary, "plans_objective": "cost"})
    assert (lab["demand_served_share"], lab["shortfall_probability"]) == (0.193, 1.0)
    # P(any default) since 0.4.14: kept where the run has it; a run before it is not given a None
    assert "any_default_probability" not in kept
    first["any_default_probability"] = 0.6275
    assert key_figures(summary)["any_default_probability"] == 0.6275


def test_a_registry_on_a_full_disk_is_still_read(tmp_path, monkeypatch):
    """On a full disk SQLite cannot make the registry's write-ahead files, so `fleetopt runs`,
    `runs show` and a run id given to report or compare failed: the registry is read as it is
    there. A locked or damaged registry is still refused as before."""
    runs = Registry(tmp_path / "runs")
    runs.record("solve", "tiny", "h", tmp_path / "runs" / "a", {}, command="fleetopt solve tiny")

    def refused(code: int, words: str):
        @contextmanager
        def connection(self, wait=None):
            cause = sqlite3.OperationalError(words)
            cause.sqlite_errorcode = code
            try:
                raise cause
            except sqlite3.Error as exc:
                raise self._unusable(exc, 0.0) from None
            yield  # never reached

        return connection

    monkeypatch.setattr(Registry, "_connection", refused(sqlite3.SQLITE_FULL, "database or disk is full"))
    assert [r.path for r in runs.list()] == [(tmp_path / "runs" / "a").resolve()]
    monkeypatch.setattr(Registry, "_connection", refused(sqlite3.SQLITE_IOERR_WRITE, "disk I/O error"))
    assert len(runs.list()) == 1
    monkeypatch.setattr(Registry, "_connection", refused(sqlite3.SQLITE_BUSY, "database is locked"))
    with pytest.raises(RegistryError, match="locked"):
        runs.list()
    # a file system whose locks fail (NFS) is refused, not read without a lock
    monkeypatch.setattr(Registry, "_connection", refused(sqlite3.SQLITE_IOERR_LOCK, "disk I/O error"))
    with pytest.raises(RegistryError, match=r"cannot be locked .* keep the runs folder on a local disk"):
        runs.list()  # not "a full disk or a file-size limit is the usual cause"


def test_runs_show_of_an_empty_name_says_it_is_empty(tmp_path, monkeypatch):
    """`fleetopt runs show ''` said " is not recorded in ..." (the empty name, then the current folder)."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    Registry(tmp_path / "runs").record("solve", "tiny", "h", tmp_path / "runs" / "a", {}, command="c")
    code, _, err = run_cli("runs", "show", "")
    # the argument named, as every other empty path is (a bad-input review)
    assert code == 2 and "Invalid value for 'run': give a run id or run folder, not an empty one" in err


def test_a_folder_left_half_written_by_a_killed_run_is_listed_with_how_to_remove_it(tmp_path):
    """A kill -9 while a job's folder was being written left `.NAME.partial-XXXX` in the runs folder,
    hidden and never removed (a robustness audit): `fleetopt runs` lists one untouched for an hour
    and not locked by a running process, with the command that removes it; a fresh one (a run being
    written now) and one another process holds the lock of are left alone."""
    import os
    import subprocess
    import time

    from fleetopt.runs.folder import RunFolder
    from fleetopt.runs.listing import PARTIAL_ABANDONED_SECONDS, abandoned_partials

    runs = tmp_path / "runs"
    old, fresh, locked = (runs / f".e{n}.partial-abc{n}" for n in (1, 2, 3))
    for folder in (old, fresh, locked):
        folder.mkdir(parents=True)
        (folder / "model.yaml").write_text("name: x\n")
    lock = locked / RunFolder.LOCK
    lock.write_text("4242\n")
    hour_ago = time.time() - PARTIAL_ABANDONED_SECONDS - 60
    for path in (old / "model.yaml", old, locked / "model.yaml", lock, locked):
        os.utime(path, (hour_ago, hour_ago))
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], "
                               "os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); "
                               "time.sleep(60)", str(lock)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        assert abandoned_partials(runs) == [old]
        assert abandoned_partials(runs, now=hour_ago + 30) == []  # an hour before: all being written
        said = " ".join(ok("runs").split())
    finally:
        holder.kill()
        holder.wait()
    assert "left by runs killed while their folders were being written" in said
    assert f"{old}: rm -r {old}" in said and str(fresh) not in said and str(locked) not in said


def test_runs_show_of_a_plan_solved_for_npv_leaves_out_the_cost_objectives_figures(tmp_path):
    """`runs show` of an NPV solve listed present_cost_usd and present_cost_per_h100_hour_usd ($1.45 per
    H100-hour on tiny), which compare leaves out of such plans, as a finance review read them as the
    plan's cost: left out, the caption says so; a cost solve's are shown; the record keeps them."""
    from fleetopt.cli.render.runs import run_detail
    from fleetopt.cli.render.tables import plain_text
    from fleetopt.runs.registry import RunRecord

    figures = {"objective": "npv", "npv_usd": -14.1e6, "present_cost_usd": 343.8e6,
               "present_cost_per_h100_hour_usd": 1.45, "compute_in_service_h100_hours": 278e6}  # fmt: skip
    record = RunRecord(3, "2026-12-05T17:00:00+00:00", "solve", "fleetopt solve tiny", "tiny", "0" * 16,
                       tmp_path, figures)  # fmt: skip
    shown = " ".join(plain_text([run_detail(record)], width=300).split())  # the caption wrapped
    assert "npv_usd" in shown and "compute_in_service_h100_hours" in shown
    assert "present_cost_usd" not in shown and "present_cost_per_h100_hour_usd" not in shown
    assert "present_cost_*, the cost objective's figures, left out of a plan solved for NPV" in shown
    cost = RunRecord(4, record.created_utc, "solve", "fleetopt solve lab --objective cost", "lab", "0" * 16,
                     tmp_path, {**figures, "objective": "cost"})  # fmt: skip
    shown = plain_text([run_detail(cost)], width=300)
    assert "present_cost_usd" in shown and "$343.8M" in shown and "left out" not in shown
    assert "present_cost_usd" in record.figures

"""`fleetopt compare SWEEP` shows the plan of highest mean NPV within the sweep's rule beside the
forecast optimum and the pick, where the sweep names one (the default sweep's "milp: demand slump"
beats the forecast optimum on every figure, and compare showed only the optimum and the pick)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.evaluate.metrics import NPV_PAIRED_ERROR

OPTIMUM, PICK = "milp: forecast", "milp: price shock, cash buffer $60.0M"
BEST = "milp: forecast, cash buffer $30.0M"


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    """tiny's sweep of 5 candidates on 30 scenarios of seed 0: it picks PICK and names BEST, whose
    mean NPV and CVaR5 are $88.1k and $235.5k above the forecast optimum's (tests/test_sweep_best_mean.py)."""
    folder = tmp_path_factory.mktemp("named") / "S"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "5", "--scenarios", "30", "--seed", "0",
                           "--out", str(folder))  # fmt: skip
    assert code == 0, err
    return folder


def roles(folder, optimum: str, pick: str, best: str) -> str:
    """The note naming what each of the three plans of a sweep's folder is (the labels do not say it)."""
    return (f"From the sweep {folder}: “{optimum}” is its forecast optimum, “{pick}” its recommendation "
            f"and “{best}” its plan of highest mean NPV no worse than the forecast optimum.")  # fmt: skip


def figure_rows(doc: dict) -> dict:
    return {row["figure"]: row for row in doc["figures"]}


def test_a_sweep_that_names_the_plan_compares_it_third_with_its_paired_differences(named):
    """The forecast optimum, the pick, then BEST, on the sweep's 30 scenarios of seed 0: each plan's
    mean NPV is candidates.csv's, and BEST's difference to the optimum and its paired standard
    error, in mean NPV and CVaR5, are those the sweep wrote (summary.json's against_forecast_optimum:
    +$88.1k with $26.5k, +$235.5k with $101.7k)."""
    summary = json.loads((named / "summary.json").read_text())
    assert (summary["forecast_optimum"], summary["recommended"]) == (OPTIMUM, PICK)
    against = summary["best_mean_within_rule"]["against_forecast_optimum"]
    code, out, err = run_cli("compare", str(named), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["plans"] == [OPTIMUM, PICK, BEST]
    assert (doc["scenarios"], doc["seed"]) == (30, 0)
    assert [row["plan"] for row in doc["plan_runs"]] == [OPTIMUM, PICK, BEST]
    assert doc["plan_roles"] == [roles(named, OPTIMUM, PICK, BEST)]
    swept = pd.read_csv(named / "candidates.csv").set_index("plan")
    figures = figure_rows(doc)
    for plan in doc["plans"]:
        assert figures["npv_mean_usd"][plan] == pytest.approx(swept.loc[plan, "npv_mean_usd"], rel=1e-9)
    for key in ("npv_mean_usd", "npv_cvar5_usd"):
        assert figures[key][f"{BEST} − {OPTIMUM}"] == pytest.approx(against[key], rel=1e-9)
        error = NPV_PAIRED_ERROR[key]  # the same key in the comparison's figures and the sweep's summary
        assert figures[error][BEST] == pytest.approx(against[error], rel=1e-9)
    assert against["npv_mean_usd"] == pytest.approx(88.1e3, abs=0.05e3)
    assert against["npv_cvar5_usd"] == pytest.approx(235.5e3, abs=0.05e3)


def test_the_terminal_markdown_csv_html_and_the_api_show_the_third_plan(named, tmp_path):
    """Every output of the comparison: the terminal's table has BEST's column and its difference to
    the optimum, the Markdown an 'In short' for each later plan, the CSV and the page its label, and
    fo.compare of the folder the three plans."""
    code, out, err = run_cli("compare", str(named))
    assert code == 0, err
    text = " ".join(out.split())
    assert "3 plans on 30 common scenarios (seed 0)" in text
    assert roles(named, OPTIMUM, PICK, BEST) in text  # which plan is which: the labels do not say it
    assert f"In short: “{BEST}” against “{OPTIMUM}”" in text
    code, out, err = run_cli("compare", str(named), "--format", "markdown")
    assert code == 0, err
    short = [line for line in out.splitlines() if line.startswith("In short:")]
    assert [line.split("”")[0].removeprefix("In short: “") for line in short] == [
        PICK.replace("$", "\\$"), BEST.replace("$", "\\$")]  # fmt: skip
    for suffix in ("csv", "html"):
        page = tmp_path / f"c.{suffix}"
        code, _, err = run_cli("compare", str(named), "--out", str(page))
        assert code == 0, err
        assert BEST in page.read_text()
    assert "plan_roles_note_1" in (tmp_path / "c.csv").read_text()
    assert api.compare(named).labels == [OPTIMUM, PICK, BEST]
    renamed = api.compare(named, labels=["optimum", "pick", "best mean"])
    assert renamed.roles == [roles(named, "optimum", "pick", "best mean")]  # by the names given


def test_a_what_if_of_the_sweep_takes_its_pick_not_the_third_plan(named):
    """A what-if compares one plan of a sweep's folder: its pick, as before the third plan was
    shown (the plan of highest mean NPV, last, is not the pick)."""
    code, out, err = run_cli("compare", str(named), "--format", "json", "--what-if",
                             "horizon.discount_rate_annual=0.1")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["plans"] == [PICK, f"{PICK}, what if"]


def test_a_sweep_that_names_none_or_was_made_before_compares_two_plans(named, tmp_path):
    """tiny's sweep of seed 7 names no such plan (null), and a sweep made before the sweep named it
    has no field: each gives its forecast optimum and its pick, as before."""
    folder = tmp_path / "S7"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "5", "--scenarios", "30", "--seed", "7",
                           "--out", str(folder))  # fmt: skip
    assert code == 0, err
    assert json.loads((folder / "summary.json").read_text())["best_mean_within_rule"] is None
    code, out, err = run_cli("compare", str(folder), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["plans"] == [OPTIMUM, "milp: price shock, cash buffer $30.0M"]
    assert doc["plan_roles"] == [f"From the sweep {folder}: “{OPTIMUM}” is its forecast optimum and "
                                 "“milp: price shock, cash buffer $30.0M” its recommendation."]  # fmt: skip
    older = tmp_path / "older"
    shutil.copytree(named, older)
    summary = json.loads((older / "summary.json").read_text())
    del summary["best_mean_within_rule"]
    (older / "summary.json").write_text(json.dumps(summary))
    code, out, err = run_cli("compare", str(older), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["plans"] == [OPTIMUM, PICK]


def test_a_plan_the_summary_names_that_is_no_candidate_is_refused_by_its_field(named, tmp_path):
    """summary.json edited so that best_mean_within_rule's plan names no candidate: refused, naming
    the field and the value (exit 2), not compared without it nor a KeyError."""
    damaged = tmp_path / "damaged"
    shutil.copytree(named, damaged)
    summary = json.loads((damaged / "summary.json").read_text())
    summary["best_mean_within_rule"]["plan"] = "milp: nowhere"
    (damaged / "summary.json").write_text(json.dumps(summary))
    code, _, err = run_cli("compare", str(damaged))
    assert code == 2
    err = " ".join(err.split())
    assert "'best_mean_within_rule''s 'plan' names no candidate of plans.npz" in err
    assert "milp: nowhere" in err

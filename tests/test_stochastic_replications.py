"""`fleetopt solve --stochastic N --replications K` (docs/formulation.md §7b "Replications"): the same
solve on K scenario samples, how far each first-stage decision moves between them, and the refusals."""

from __future__ import annotations

import json
import re
from html import unescape
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fleetopt import api
from fleetopt.cli import app
from fleetopt.core.data import load
from fleetopt.core.results.tables import plan_frame
from fleetopt.errors import InputError
from fleetopt.report.definitions import replication_terms
from fleetopt.report.two_stage import stochastic_section
from fleetopt.stochastic.replications import stability_rows, stability_verdict

# small enough for a test: 3 scenarios a sample, few fresh scenarios out of sample
N, OOS = 3, 40


def _first_quarter_purchases(result) -> float:
    """The GPUs the plan buys in the model's first quarter, read from its own plan.csv rows."""
    frame = plan_frame(result.data, result.plan)
    first = result.data.quarter_labels[0]
    return float(frame[(frame["decision"] == "buy_gpus") & (frame["quarter"] == first)]["value"].sum())


@pytest.fixture(scope="module")
def replicated():
    """tiny solved on 3 samples (seeds 5, 6, 7), and each sample solved on its own."""
    result = api.solve_stochastic("tiny", N, scenario_seed=5, out_of_sample=OOS, replications=3)
    alone = [api.solve_stochastic("tiny", N, scenario_seed=s, out_of_sample=0) for s in (5, 6, 7)]
    return result, alone


def test_each_replication_is_the_solve_of_its_seed_and_the_table_is_their_min_mean_max(replicated):
    result, alone = replicated
    record = result.replications
    assert record["count"] == 3 and record["seeds"] == [5, 6, 7]
    # the plan is the first sample's: the one a solve of seed 5 alone makes
    assert plan_frame(result.data, result.plan).equals(plan_frame(alone[0].data, alone[0].plan))
    # each replication's objective is its own solve's (the plan kept's value)
    assert record["objectives_usd"] == pytest.approx([r.measures["plan_value_usd"] for r in alone], rel=1e-9)
    # the first quarter's purchases, row by row: each sample's, then their mean, min and max by hand
    first = result.data.quarter_labels[0]
    row = next(r for r in record["stability"] if r["decision"] == "buy_gpus" and r["quarter"] == first)
    own = [_first_quarter_purchases(r) for r in alone]
    assert row["values"] == pytest.approx(own)
    assert row["mean"] == pytest.approx((own[0] + own[1] + own[2]) / 3)
    assert (row["min"], row["max"]) == (min(own), max(own))
    assert row["varies"] == (max(own) > min(own))
    assert record["stable"] == (not any(r["varies"] for r in record["stability"]))


def test_the_out_of_sample_check_takes_the_first_seed_no_replication_reduced(replicated):
    result, _ = replicated
    assert result.out_of_sample["seed"] == 5 + 3  # seeds 5, 6, 7 reduced
    one = api.solve_stochastic("tiny", 1, scenario_seed=5, out_of_sample=OOS)
    assert one.out_of_sample["seed"] == 6 and one.replications is None  # as before: seed + 1
    assert "replications" not in one.summary()


def test_the_verdict_names_the_purchase_that_moves_most_and_says_what_narrows_it():
    rows = [
        {"quarter": "2026Q3", "decision": "prepay_debt", "item": "loan", "unit": "USD", "min": 0.0,
         "max": 5e6, "varies": True},
        {"quarter": "2026Q3", "decision": "buy_gpus", "item": "B200@texas", "unit": "GPUs", "min": 1448.0,
         "max": 2000.0, "varies": True},
        {"quarter": "2027Q1", "decision": "buy_gpus", "item": "B200@texas", "unit": "GPUs", "min": 0.0,
         "max": 552.0, "varies": True},
        {"quarter": "2026Q3", "decision": "contract_accepted", "item": "lab", "unit": "0/1", "min": 1.0,
         "max": 1.0, "varies": False},
    ]  # fmt: skip
    assert stability_verdict(rows, 4, 5) == (
        "the first stage varies across 4 samples of 5 scenarios: 1,448 to 2,000 GPUs (buy B200@texas) in "
        "2026Q3, and 2 other decisions; more scenarios (--stochastic N) narrow it"
    )
    assert stability_verdict(rows[:1], 4, 5, typed=False).endswith(
        "$0 to $5.0M (prepay loan) in 2026Q3; more scenarios (scenarios=N) narrow it")
    assert stability_verdict(rows[3:], 4, 5) == (
        "the first stage is stable across 4 samples of 5 scenarios: each decision the same in every sample")


def test_the_same_plan_in_every_sample_is_stable(replicated):
    result, _ = replicated
    rows = stability_rows(result.data, [result.plan] * 3, result.settings["first_stage_quarters"])
    assert rows and not any(row["varies"] for row in rows)
    assert all(row["values"] == pytest.approx([row["mean"]] * 3) for row in rows)


def test_the_run_folder_keeps_the_table_and_the_terminal_shows_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    out = tmp_path / "rep"
    args = ["solve", "tiny", "--stochastic", "2", "--replications", "2", "--out", str(out)]
    got = CliRunner().invoke(app, args)
    assert got.exit_code == 0, got.output
    assert "how stable the first stage is: the solve on 2 samples of 2 scenarios (seeds 0 to 1)" in got.output
    summary = json.loads((out / "summary.json").read_text())
    record = summary["replications"]
    assert summary["out_of_sample"]["seed"] == 2
    csv = pd.read_csv(out / "replications.csv")
    columns = ["quarter", "decision", "item", "unit", "seed_0", "seed_1", "mean", "min", "max"]
    assert list(csv.columns) == columns
    assert len(csv) == len(record["stability"])
    written = csv[["seed_0", "seed_1"]].to_numpy()
    assert np.allclose(written, [row["values"] for row in record["stability"]], rtol=0, atol=1e-6)
    assert record["verdict"][:20] in " ".join(got.output.split()).lower()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--replications", "2"], "--replications cannot apply without --stochastic N"),
        (["--stochastic", "2", "--replications", "0"], "--replications': must be between 1 and 30 (got 0)"),
        (["--stochastic", "2", "--replications", "31"], "--replications': must be between 1 and 30 (got 31)"),
    ],
)
def test_replications_refused_by_name(args, said, tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    got = CliRunner().invoke(app, ["solve", "tiny", *args])
    assert got.exit_code == 2
    assert said in got.output and "Traceback" not in got.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("*tiny*"))


def test_the_api_refuses_replications_by_name():
    refusal = r"replications \(--replications\) must be between 1 and 30 \(got 0\)"
    with pytest.raises(InputError, match=refusal):
        api.solve_stochastic("tiny", 2, replications=0)


# two samples of 5 scenarios by hand: the 2026Q3 purchase 1,448 and 2,000 GPUs (mean 1,724), the contract
# accepted in both, 2026Q4's prepayment $26.0M and $0 (mean $13.0M)
HAND_STABILITY = [
    {"quarter": "2026Q3", "decision": "buy_gpus", "item": "B200@texas", "unit": "GPUs",
     "values": [1448.0, 2000.0], "mean": 1724.0, "min": 1448.0, "max": 2000.0, "varies": True},
    {"quarter": "2026Q3", "decision": "contract_accepted", "item": "lab-a-training", "unit": "0/1",
     "values": [1.0, 1.0], "mean": 1.0, "min": 1.0, "max": 1.0, "varies": False},
    {"quarter": "2026Q4", "decision": "prepay_debt", "item": "gpu-term-loan", "unit": "USD",
     "values": [26e6, 0.0], "mean": 13e6, "min": 0.0, "max": 26e6, "varies": True},
]  # fmt: skip
HAND_VERDICT = ("the first stage varies across 2 samples of 5 scenarios: 1,448 to 2,000 GPUs (buy "
                "B200@texas) in 2026Q3, and 1 other decision; more scenarios (--stochastic N) narrow it")


def hand_summary(replications: dict | None) -> dict:
    """A stochastic run's summary.json of 5 scenarios reduced from 200, its plan buying 1,448 GPUs in
    2026Q3, with ``replications`` (None: a run of one sample)."""
    settings = {"scenarios": 5, "screened": 200, "scenario_seed": 0, "first_stage_quarters": 4,
                "first_stage_before": "2027Q3", "risk_weight": 0.0, "cvar_alpha": 0.05,
                "later_purchases": "continuous"}  # fmt: skip
    commitment = {"quarter": "2026Q3", "decision": "buy_gpus", "item": "B200@texas", "unit": "GPUs",
                  "stochastic": 1448.0, "forecast_optimum": 2000.0}  # fmt: skip
    summary = {"settings": settings, "status": "optimal", "gap": 0.0, "timings": {}, "rp_usd": -9e6,
               "scenarios": [], "commitments": [commitment]}  # fmt: skip
    return summary if replications is None else {**summary, "replications": replications}


def hand_record() -> dict:
    """summary.json's ``replications`` of the two hand samples (seeds 0 and 1)."""
    return {"count": 2, "seeds": [0, 1], "stable": False, "verdict": HAND_VERDICT,
            "stability": HAND_STABILITY}


def page_text(html: str) -> str:
    """A page's words as a reader sees them: tags out, entities read, runs of space one."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_report_shows_each_decision_in_each_sample_under_what_to_commit_to_now():
    assert stability_verdict(HAND_STABILITY, 2, 5) == HAND_VERDICT
    run = SimpleNamespace(summary=hand_summary(hand_record()), data=load("tiny")[1])
    text = page_text(stochastic_section(run))
    said = ("How stable the first stage is The solve on 2 samples of 5 scenarios (seeds 0 to 1); the plan "
            "above is the first's. The first stage varies across 2 samples of 5 scenarios: 1,448 to 2,000")
    assert said in text and text.index("What to commit to now") < text.index(said)
    # each decision: its amount in each sample, mean, min and max, and whether the samples agree
    head = "quarter decision item unit samples seed 0 seed 1 mean min max"
    rows = ["2026Q3 buy B200@texas GPUs differ 1,448 2,000 1,724 1,448 2,000",
            "2026Q3 accept contract lab-a-training accepted agree yes yes yes yes yes",
            "2026Q4 prepay gpu-term-loan USD differ $26.0M $0 $13.0M $0 $26.0M"]  # fmt: skip
    assert f"{head} {' '.join(rows)}" in text
    # one sample: the report as before, nothing of samples
    alone = page_text(stochastic_section(SimpleNamespace(summary=hand_summary(None), data=run.data)))
    start, end = text.index("How stable"), text.index("Two-stage stochastic solution")
    assert "How stable" not in alone and alone == f"{text[:start]}{text[end:]}"


def test_a_replicated_run_s_definitions_say_what_a_replication_is():
    assert [term for term, _ in replication_terms(hand_record())] == ["replication"]
    assert replication_terms(None) == []

"""`fleetopt solve` end to end through the CLI (in-process with Typer's CliRunner)."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run_cli
from milp_builders import base_model, data_of, load
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from typer.testing import CliRunner

from fleetopt import api
from fleetopt.cli import app
from fleetopt.cli.error_report import error_lines
from fleetopt.cli.render.runs import run_detail
from fleetopt.cli.render.tables import plain_text
from fleetopt.errors import FleetoptWarning
from fleetopt.milp import highs
from fleetopt.milp.solve import InfeasibleModel

SUMMARY_KEYS = {"status", "objective_usd", "gap", "npv_usd", "peak_debt_usd", "min_liquidity_usd",
                "min_dscr", "model_size"}  # fmt: skip
RUN_FILES = {"summary.json", "plan.csv", "statements.csv", "plan.npz", "model.yaml"}


def cli(*args: str) -> tuple[int, str, str]:
    """Run `fleetopt ARGS`; return (exit code, stdout, stderr). A crash fails the test with its traceback."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_model(tmp_path: Path, d: dict) -> Path:
    load(d)  # the instance itself must be a valid model
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- (a) a run folder


def test_solve_tiny_writes_a_complete_run_folder(tmp_path):
    out = tmp_path / "tmp" / "run"  # parent folders are created
    code, stdout, stderr = cli("solve", "tiny", "--out", str(out))
    assert code == 0, stdout + stderr
    assert {p.name for p in out.iterdir()} == RUN_FILES

    summary = json.loads((out / "summary.json").read_text())
    assert summary.keys() >= SUMMARY_KEYS
    assert summary["model_changes"] == [] and "changed for this run" not in stdout  # the file's model
    assert summary["status"] == "optimal"
    assert summary["objective"] == "npv"
    assert summary["gap"] is not None and 0 <= summary["gap"] <= 0.005 + 1e-9
    assert summary["npv_usd"] == pytest.approx(summary["objective_usd"], rel=1e-6)
    assert {"variables", "integer_variables", "constraints"} <= summary["model_size"].keys()

    statements = pd.read_csv(out / "statements.csv")
    assert statements["quarter"].tolist()[0] == "2026Q3" and len(statements) == 8
    assert summary["min_liquidity_usd"] == pytest.approx(statements["cash_usd"].min(), rel=1e-6)
    plan = pd.read_csv(out / "plan.csv")
    assert {"quarter", "decision", "item", "value", "unit"} <= set(plan.columns)
    with np.load(out / "plan.npz") as npz:
        assert npz["buy_blocks"].shape[-1] == 8 and "accepted" in npz.files
    tiny = Path(__file__).resolve().parent.parent / "models" / "tiny.yaml"
    assert (out / "model.yaml").read_text() == tiny.read_text()
    assert str(out) in stdout.replace("\n", "")
    # the covenant figures cover the quarters tested (tiny tests from 2026Q4, its second quarter),
    # and the $25M liquidity floor shows the lowest cash tested, not a 97 % "headroom"
    flat = " ".join(stdout.replace("│", " ").split())  # cells wrapped over several rows, rejoined
    assert "lowest DSCR (quarters tested, from 2026Q4)" in flat
    lowest = statements["cash_usd"].iloc[1:].min()
    assert f"liquidity >= $25.0M: lowest ${lowest / 1e6:,.1f}M" in flat
    # the revenue and the share of it under contract, the statements' sums (a finance review: the
    # merchant share, whose volume no contract holds, was nowhere)
    contracted = statements["revenue_contracts_usd"].sum()
    assert summary["revenue_contracts_total_usd"] == pytest.approx(contracted, rel=1e-6)
    share = contracted / statements["revenue_usd"].sum()
    revenue = summary["revenue_total_usd"] / 1e6
    assert f"revenue over the horizon, undiscounted ${revenue:,.1f}M ({share:.0%} under contract)" in flat


def test_a_solve_states_the_horizon_and_discount_rate_of_its_npv_once(tmp_path):
    """The solve's NPV row stated no rate, though the row "NPV at other discount rates" gave two (5
    points either side): the plan table's title now says the horizon and the model's own rate (tiny
    over its 8 quarters, set here to 12 % a year), as compare and `runs show` say them (a notebook's:
    test_notebook_display)."""
    code, out, err = run_cli("solve", "tiny", "--set", "horizon.discount_rate_annual=0.12",
                             "--out", str(tmp_path / "run"))  # fmt: skip
    assert code == 0, err
    text = " ".join(out.replace("│", " ").split())
    basis = "over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at 12% a year, USD)"
    assert f"plan, {basis}" in text and text.count("12% a year") == 1
    assert "at 7% a year" in text and "at 17% a year" in text  # the other rates, 5 points either side


def test_a_cost_solves_plan_table_says_its_present_cost_by_what_it_is_then_its_npv(tmp_path):
    """A cost solve's plan table, its present cost first, was titled as if every figure were an
    equity NPV: lab's title (12 quarters at 10 % a year) says the present cost, then the NPV."""
    code, out, err = run_cli("solve", "lab", "--objective", "cost", "--out", str(tmp_path / "run"))
    assert code == 0, err
    text = " ".join(out.replace("│", " ").split())
    assert ("plan, over the horizon's 12 quarters (present cost: the fleet at the start and the quarters' "
            "costs less the value at the end at 10% a year, USD; NPV: equity cash flows and terminal "
            "equity at 10% a year, USD)") in text  # fmt: skip


def test_set_changes_a_field_for_one_run_and_its_model_yaml_is_the_model_changed(tmp_path):
    """A sensitivity (a finance review: the discount rate, by hand-edited copies of the model) is one
    option: --set PATH=VALUE, as fleetopt.api.edit; the run's model.yaml says what was solved, and
    the run says what was changed (a planner a week later could not tell the run from the file's):
    summary.json's model_changes, once above the results, the report's header and `runs show`."""
    out = tmp_path / "r"
    rate, cash = "horizon.discount_rate_annual", "finance.opening_cash_usd"
    code, stdout, stderr = run_cli("solve", "tiny", "--set", f"{rate}=0.10", "--set", f"{cash}=200000000",
                                   "--out", str(out), "--report")  # fmt: skip
    assert code == 0, stderr
    written = yaml.safe_load((out / "model.yaml").read_text())
    assert (written["horizon"]["discount_rate_annual"], written["finance"]["opening_cash_usd"]) == (0.10, 2e8)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_changes"] == [{"path": rate, "value": 0.1}, {"path": cash, "value": 200000000}]
    said = f"model: tiny, changed for this run: {rate} = 0.1; {cash} = 200000000"
    assert stdout.startswith(said) and stdout.count("changed for this run") == 1, stdout
    assert f"<p class=\"sub\">Model: {said.removeprefix('model: ')}.</p>" in (out / "report.html").read_text()
    shown = plain_text([run_detail(api.run(out))], width=300)  # `runs show`, on one line
    read = f"read from {summary['model_source']}"  # the file, then what the run changed in it
    assert f"tiny (hash {summary['model_hash']}) {read}, {said.removeprefix('model: tiny, ')}" in shown
    edited = api.edit("tiny", {rate: 0.10, cash: 200000000})
    assert summary["npv_usd"] == pytest.approx(api.solve(edited).headline()["npv_usd"], rel=1e-9)
    for bad, said in ((rate, f"--set '{rate}': give PATH=VALUE"), (f"{rate}=2", f"{rate}: must be at most 1"),
                      ("nope=1", "nope: unknown key")):  # fmt: skip
        code, _, stderr = run_cli("validate", "tiny", "--set", bad)
        assert code == 2 and said in " ".join(stderr.split()), stderr
    # made in order: a series removed, then set whole (a mapping alone merges, keeping its growth);
    # the file's own warnings are the changed model's (a mended field not warned of, none twice)
    capex = "skus.B200.capex_per_gpu_usd"
    code, stdout, stderr = run_cli("solve", "tiny", "--set", f"{capex}=null", "--set",
                                   f"{capex}={{start: 55}}", "--set", f"{capex}.start=50000", "--out",
                                   str(tmp_path / "c"))  # fmt: skip
    assert code == 0 and stderr == "", stderr
    written = yaml.safe_load((tmp_path / "c" / "model.yaml").read_text())["skus"]["B200"]["capex_per_gpu_usd"]
    assert written == {"start": 50000}
    recorded = json.loads((tmp_path / "c" / "summary.json").read_text())["model_changes"]
    assert recorded == [{"path": capex, "value": None}, {"path": capex, "value": {"start": 55}},
                        {"path": f"{capex}.start", "value": 50000}]  # fmt: skip
    assert f"{capex} removed; {capex} = {{start: 55}}; {capex}.start = 50000" in stdout
    # a sweep with a rule's options beside it (the sweep's own "changes" of its rule took --set's place)
    swept = tmp_path / "w"
    code, stdout, stderr = run_cli("sweep", "tiny", "--set", f"{rate}=0.10", "--prefer", "mean",
                                   "--allow-riskier", "--candidates", "2", "--scenarios", "20",
                                   "--out", str(swept))  # fmt: skip
    assert code == 0, stderr
    assert yaml.safe_load((swept / "model.yaml").read_text())["horizon"]["discount_rate_annual"] == 0.10
    assert json.loads((swept / "summary.json").read_text())["model_changes"] == [{"path": rate, "value": 0.1}]
    assert stdout.startswith(f"model: tiny, changed for this run: {rate} = 0.1\n"), stdout


def test_a_buffer_that_cannot_cut_the_prepayments_the_base_needs_leaves_the_solve_alone(tmp_path, tiny_text):
    """With a $60M policy buffer above tiny's $25M floor, the MILP's plan run as the company would
    run it cut the prepayments its borrowing base needs and missed the base (NPV -$11.1M on the
    forecast, and a warning). The base needs all of them (policy rule 3): the run is the MILP's plan,
    no warning, nothing breached, as with no buffer."""
    model = tmp_path / "buffered.yaml"
    model.write_text(tiny_text + "\npolicy:\n  liquidity_buffer_usd: 60000000\n", encoding="utf-8")
    code, _, stderr = run_cli("solve", str(model), "--out", str(tmp_path / "b"))
    assert code == 0, stderr
    assert "warning" not in stderr
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["npv_usd"] == pytest.approx(-14_109_908.48, abs=0.01)
    assert summary["policy_npv_usd"] == pytest.approx(summary["npv_usd"], abs=1.0)
    assert not summary["policy_reacts"] and summary["policy_within_limits"]

    code, _, stderr = run_cli("solve", "tiny", "--out", str(tmp_path / "plain"))
    summary = json.loads((tmp_path / "plain" / "summary.json").read_text())
    assert code == 0 and "warning" not in stderr and not summary["policy_reacts"]
    assert summary["policy_npv_usd"] == pytest.approx(summary["npv_usd"], abs=1.0)
    assert summary["policy_within_limits"] and summary["policy_breaks"] == "none"


# ---------------------------------------------------------------- (b) infeasible input


def test_infeasible_model_exits_3_with_a_diagnosis(tmp_path):
    # A signed contract for 100,000 GPUs from 2026Q2 at a 0.1 MW site that can never grow:
    # 100,000 x 1 kW = 100 MW. The diagnosis must blame power or contract delivery, by quarter.
    d = infeasible_contract_model()
    code, stdout, stderr = cli("solve", str(write_model(tmp_path, d)), "--out", str(tmp_path / "run"))
    assert code == 3, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert "infeasible" in stderr
    groups = re.findall(r"^\s+(power|contract_delivery)\b.*$", stderr, flags=re.MULTILINE)
    assert groups, stderr
    blamed = [line for line in stderr.splitlines() if re.match(r"\s+(power|contract_delivery)\b", line)]
    assert all(re.search(r"2026Q[2-4]", line) for line in blamed), stderr
    if groups == ["power"]:
        # relaxing power costs 99.9 MW a quarter, cheaper in the diagnosis weights than 100,000 GPUs
        # of undelivered contract; either way the shortfall is the 100 MW the contract needs
        assert "power in 2026Q2..2026Q4" in stderr and "short by 99.9 MW" in stderr
    assert not (tmp_path / "run").exists()


def test_the_diagnosis_says_what_gives_way_where_the_groups_it_names_are_held():
    """The same model: the diagnosis relaxes the 0.1 MW site by 99.9 MW a quarter (cheaper in its
    weights); held at its power, the contract gives way instead: the 0.1 MW runs 100 of the 1 kW
    GPUs, so it is short by 99,900 GPUs in each quarter of its term. A model author was told only
    one side of a conflict (a cash floor, never the borrowing base it met)."""
    from fleetopt.milp.diagnose import diagnose, format_diagnosis

    found = diagnose(data_of(infeasible_contract_model()))
    assert [d["group"] for d in found] == ["power"]
    (instead,) = found.otherwise
    assert instead["group"] == "contract_delivery" and instead["quarters"] == ["2026Q2", "2026Q3", "2026Q4"]
    np.testing.assert_allclose([amount for _, amount in instead["items"]], [99_900.0] * 3, rtol=1e-9)
    lines = format_diagnosis(found)
    assert lines[1].startswith("otherwise (holding that): contract delivery in 2026Q2..2026Q4: contract huge")


def test_a_diagnosis_stopped_by_the_time_limit_is_not_blamed_on_the_hard_constraints(monkeypatch):
    """A 40-quarter model short of power, solved with --time-limit 30: its relaxed model found no plan
    in 30 s and the diagnosis said 'hard constraints: no relaxation of power ... helps', sending the
    planner to facility sizes and build limits when relaxing power would have found a plan. A relaxed
    model stopped by its limit proves nothing: the diagnosis says so, and how to get one."""
    from fleetopt.milp import diagnose as diagnosis

    def stopped(m, solver=None, **options):  # as HiGHS ends a search that found no plan in time
        return "no_plan", SimpleNamespace(termination_condition=TerminationCondition.maxTimeLimit)

    monkeypatch.setattr(diagnosis, "run_highs", stopped)
    (found,) = diagnosis.diagnose(data_of(infeasible_contract_model()), time_limit=30)
    assert found["group"] == "not diagnosed"
    assert "no plan within the time limit (30 s, --time-limit); a longer --time-limit names them" in (
        found["message"]
    )
    assert "hard" not in diagnosis.format_diagnosis([found])[0]


def test_a_diagnosis_from_a_relaxed_plan_cut_short_by_the_time_limit_says_it_may_overstate(monkeypatch):
    """A 40-quarter model short of Rubin allocation (limits.new_gpus_per_quarter), --time-limit 400:
    the relaxed model stopped at its limit with a plan, and the diagnosis named, beside the contract
    truly short, eu-nordics 'short by 1,224 MW' and covenants in 2034-2036, none of them in conflict
    (the model solves without the limit): that plan's shortfalls, not the least the model needs. The
    diagnosis now says so after its groups; solved to its optimum, it adds nothing."""
    from fleetopt.milp import diagnose as diagnosis

    real = diagnosis.run_highs

    def cut_short(m, solver=None, **options):  # the plan found, as one stopped by its limit keeps it
        status, results = real(m, solver, **options)
        return ("time_limit" if status == "optimal" else status), results

    data = data_of(infeasible_contract_model())
    solved = diagnosis.diagnose(data)
    assert solved.caveat == ""
    assert not any(line.startswith("not proven") for line in diagnosis.format_diagnosis(solved))
    monkeypatch.setattr(diagnosis, "run_highs", cut_short)
    found = diagnosis.diagnose(data, time_limit=400)
    assert [d["group"] for d in found] == ["power"]  # the groups it found are still given
    lines = diagnosis.format_diagnosis(found)
    assert lines[-1] == (
        "not proven: the relaxed model stopped at the time limit (400 s, --time-limit) with the "
        "shortfalls above, not the least it needs: some may be of groups that are not in conflict; "
        "a longer --time-limit narrows them"
    )


def test_the_cost_objective_on_a_market_model_says_what_it_serves(tmp_path):
    """`fleetopt solve --objective cost` on a neocloud's model ran, then blamed 'demand_floor ...
    short by 84,007,552.3 H100-eq. GPUs' with nothing saying that the cost objective must serve the
    whole of market.demand_gpus (tiny's market: 6,400 H100-eq. GPUs short in its first quarter)."""
    code, stdout, stderr = cli("solve", "tiny", "--objective", "cost", "--out", str(tmp_path / "run"))
    assert code == 3, stdout + stderr
    floor = next(line for line in stderr.splitlines() if line.strip().startswith("market demand"))
    # every quarter short: tiny's market, on a budget that counts only its contracts' revenue as cash
    assert floor.strip().startswith("market demand in 2026Q3..2028Q2: ") and "H100-eq. GPUs" in floor
    assert "the cost objective serves all of market.demand_gpus at least cost" in floor
    assert not (tmp_path / "run").exists()


def test_a_training_shortfall_names_the_skus_that_stopped_training():
    """A lab planner delayed a Rubin order and was told training demand was short, not that its H100s
    had stopped training once Rubin went on sale (their training_eligibility). A SKU that may train
    at the start and not by the last short quarter is named, with the quarter it stops; one that
    never stops is not."""
    from milp_builders import base_model, data_of, sku

    from fleetopt.milp.diagnose import _training_ended

    d = base_model()
    d["skus"]["A"] = sku(training_eligibility={"quarters_after_release": 2})  # trains in 2026Q1-Q2
    d["skus"]["B"] = sku()
    data = data_of(d)
    said = "A may no longer train from 2026Q3 (skus.A.training_eligibility): GPUs held then still serve "
    said += "inference"
    assert _training_ended(data, 3) == said
    assert _training_ended(data, 1) == ""  # the shortfall ends before A stops training


def infeasible_contract_model() -> dict:
    """A signed contract for 100,000 GPUs (100 MW) at a 0.1 MW site that can never grow."""
    d = base_model()
    d["sites"]["s1"]["power_capacity_mw"] = 0.1
    d["contracts"] = {
        "huge": {"customer": "c1", "use": "training", "eligible_skus": ["A"], "gpus": 100000,
                 "start": "2026Q2", "term_quarters": 3, "price_usd_per_gpu_hour": 1.0, "signed": True}
    }  # fmt: skip
    return d


@pytest.mark.parametrize(
    "command",
    [("sweep", "--candidates", "2", "--scenarios", "20"), ("solve", "--stochastic", "2")],
    ids=["sweep", "stochastic"],
)
def test_a_sweep_or_stochastic_solve_of_an_infeasible_model_says_what_solve_says(tmp_path, command):
    """Both start from the forecast's optimum: an infeasible forecast is exit 3 with the diagnosis
    `fleetopt solve` gives (not a bad-input or no-plan exit pointing elsewhere), and no folder."""
    model = str(write_model(tmp_path, infeasible_contract_model()))
    _, _, solved = cli("solve", model, "--out", str(tmp_path / "solved"))
    code, stdout, stderr = cli(command[0], model, *command[1:], "--out", str(tmp_path / "run"))
    assert code == 3, stdout + stderr
    assert "Traceback" not in stderr
    diagnosis = solved[solved.index("infeasible:") :]
    assert diagnosis in stderr
    assert not (tmp_path / "run").exists()


def test_a_failed_sweep_leaves_an_empty_out_folder_the_user_made(tmp_path):
    """A sweep whose forecast is infeasible removes what it wrote; the empty folder the user made
    for it (``--out``) stays, as a claimed folder is never the user's to lose."""
    model = str(write_model(tmp_path, infeasible_contract_model()))
    made = tmp_path / "made"
    made.mkdir()
    code, stdout, stderr = cli("sweep", model, "--candidates", "2", "--scenarios", "20", "--out", str(made))
    assert code == 3, stdout + stderr
    assert made.is_dir() and not any(made.iterdir())


def test_a_sweep_whose_forecast_runs_out_of_time_says_raise_the_time_limit(tmp_path, monkeypatch):
    """HiGHS stops at its time limit before any plan (made certain here): exit 4 and "raise
    --time-limit", as for `solve`, and no folder."""
    out_of_time = SimpleNamespace(
        termination_condition=TerminationCondition.maxTimeLimit, solution_status=SolutionStatus.noSolution
    )
    monkeypatch.setattr(highs.Highs, "solve", lambda self, m, **kw: out_of_time)
    options = ("--time-limit", "5", "--candidates", "2", "--scenarios", "20")
    code, stdout, stderr = cli("sweep", "tiny", *options, "--out", str(tmp_path / "run"))
    assert code == 4, stdout + stderr
    assert "no plan found" in stderr and "raise --time-limit" in stderr
    # in words, not Pyomo's "(maxTimeLimit)"
    assert "the solver stopped at its time limit (--time-limit) without a feasible plan, after" in stderr
    assert not (tmp_path / "run").exists()


def test_an_infeasible_diagnosis_with_no_group_to_blame_says_the_conflict_is_numerical():
    """The relaxed model needed no slack above the tolerance (tiny with `min_dscr: 1e300` did
    that, before covenant ratios were bounded at 100): the message says the conflict is numerical
    instead of listing nothing."""
    lines = error_lines(InfeasibleModel([]))
    assert lines[0].endswith("Constraint groups in conflict:")
    assert len(lines) == 2 and "the conflict is numerical" in lines[1]


# ---------------------------------------------------------------- (c) time limit


def test_the_diagnosis_never_blames_a_contract_the_plan_may_decline(tmp_path, tiny_text):
    """tiny with no power at its site: the signed lab-a-training contract and the power are in
    conflict. The optional enterprise-inference contract can be declined, so it is not short: the
    relaxed model used to take it for its revenue and report it short by 256 GPUs."""
    model = yaml.safe_load(tiny_text)
    model["sites"]["texas"]["power_capacity_mw"] = 0
    path = tmp_path / "no-power.yaml"
    path.write_text(yaml.safe_dump(model))
    code, stdout, stderr = cli("solve", str(path), "--out", str(tmp_path / "run"))
    assert code == 3, stdout + stderr
    assert "contract lab-a-training" in stderr and "enterprise-inference" not in stderr


def test_tiny_time_limit_gives_a_gapped_plan_or_no_plan(tmp_path):
    out = tmp_path / "run"
    code, stdout, stderr = cli("solve", "tiny", "--time-limit", "0.001", "--out", str(out))
    if code == 0:
        summary = json.loads((out / "summary.json").read_text())
        assert summary["status"] == "time_limit"
        assert summary["gap"] is not None and summary["gap"] >= 0
    else:
        assert code == 4, stdout + stderr
        assert "no plan found" in stderr
        assert "Traceback" not in stdout + stderr
        assert not out.exists()


@pytest.mark.slow
def test_sigterm_during_a_solve_exits_130_and_leaves_no_folder(tmp_path):
    """A batch system's stop (SIGTERM) during the default model's solve (about 15 s here) is a
    Ctrl-C: "interrupted", exit 130, and the folder claimed for the run released (it used to end
    with 143 and an empty folder left behind)."""
    out = tmp_path / "run"
    job = subprocess.Popen([sys.executable, "-m", "fleetopt", "solve", "neocloud", "--out", str(out)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while not out.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # claimed just before the model is built and solved
    time.sleep(0.5)
    job.send_signal(signal.SIGTERM)
    _, err = job.communicate(timeout=120)
    assert job.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists()


# ---------------------------------------------------------------- (d) existing output folder


def test_out_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "taken"
    (out / "sub").mkdir(parents=True)
    (out / "keep.txt").write_text("precious\n")
    (out / "sub" / "summary.json").write_text("{}\n")
    before = snapshot(out)
    code, stdout, stderr = cli("solve", "tiny", "--out", str(out))
    assert code == 2, stdout + stderr
    assert "already exists and is not empty" in stderr
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no partial folder beside it


def test_out_pointing_to_a_file_is_refused(tmp_path):
    out = tmp_path / "file.txt"
    out.write_text("x")
    code, _, stderr = cli("solve", "tiny", "--out", str(out))
    assert code == 2
    assert "is a file, not a folder" in stderr  # not "already exists and is not empty", as for a folder
    assert out.read_text() == "x"


# ---------------------------------------------------------------- (e) bad options


@pytest.mark.parametrize(
    "option",
    [
        ("--mip-gap", "-1"),
        ("--mip-gap", "1.5"),
        ("--objective", "foo"),
        ("--time-limit", "0"),
        ("--time-limit", "-5"),
        ("--time-limit", "inf"),
        ("--time-limit", "nan"),
        ("--mip-gap", "nan"),
        ("--threads", "0"),
    ],
)
def test_bad_options_exit_2(tmp_path, option):
    out = tmp_path / "run"
    code, stdout, stderr = cli("solve", "tiny", *option, "--out", str(out))
    assert code == 2, stdout + stderr
    assert option[0] in stderr
    assert "Traceback" not in stdout + stderr
    assert not out.exists()


@pytest.mark.parametrize("command", [("solve", "tiny"), ("sweep", "tiny", "--max-breach-prob")])
def test_a_nan_option_is_refused_as_not_a_number(tmp_path, command):
    """NaN fails every comparison: it is refused as not a number, not as 'too large'."""
    option = () if command[-1].startswith("--") else ("--mip-gap",)
    code, _, stderr = cli(*command, *option, "nan", "--out", str(tmp_path / "run"))
    assert code == 2
    assert "must be a finite number (got nan)" in stderr
    assert not (tmp_path / "run").exists()


def test_bundled_lab_model_solves_with_the_cost_objective(tmp_path):
    """`lab` plans for its own demand: the cost objective serves every quarter's demand."""
    import numpy as np

    from fleetopt import api

    result = api.solve("lab", objective="cost")
    assert result.status == "optimal"
    data, plan = result.data, result.plan
    for u in (0, 1):
        market = (
            plan.active[u] - sum(plan.contract_gpus[k] for k, c in enumerate(data.contracts) if c.use == u)
            if data.contracts
            else plan.active[u]
        )
        supplied = (data.throughput[u][:, None, None] * market).sum(axis=(0, 1))
        assert np.all(supplied >= data.demand[u] * (1 - 1e-9) - 1e-6)
    lines = result.statements.lines
    assert np.all(lines["mw_used_iowa"] <= lines["mw_available_iowa"] + 1e-6)


def test_numerical_trouble_in_highs_is_never_reported_as_infeasible(tmp_path, monkeypatch):
    """Any HiGHS stop without a plan that was not a limit used to read 'infeasible' with an empty
    list of conflicting groups (issue 15)."""
    trouble = SimpleNamespace(
        termination_condition=TerminationCondition.error, solution_status=SolutionStatus.noSolution
    )
    monkeypatch.setattr(highs.Highs, "solve", lambda self, m, **kw: trouble)
    code, out, err = cli("solve", "tiny", "--out", str(tmp_path / "run"))
    assert code == 4, out + err
    assert "numerical trouble, not proof that the model is infeasible" in err and "infeasible:" not in err
    assert not (tmp_path / "run").exists()


def test_a_cost_solve_shows_its_present_cost_and_says_what_its_npv_counts(tmp_path, monkeypatch):
    """A lab's cost solve led with "NPV of equity cash flows" (its own compute valued at market prices)
    and showed its objective only as "objective (cost)": the present cost now comes first, with its
    three parts, which add up to the objective (formulation §6, "Cost"): lab's 16,384 installed H100s
    at 50,000 x 0.315 x 0.95 = 14,962.50 each, sold in the first quarter (its discount factor), then
    the quarters' costs, less the value
    at the end."""
    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    result = api.solve("lab", objective="cost")
    fig = result.headline()
    end = fig["terminal_discount_factor"] * fig["terminal_assets_usd"]
    assert fig["present_cost_usd"] == pytest.approx(result.objective_usd, rel=1e-9)
    sold_at_once = 16_384 * 14_962.5 * result.data.discount[0]
    assert fig["present_cost_opening_fleet_usd"] == pytest.approx(sold_at_once, rel=1e-12)
    parts = fig["present_cost_opening_fleet_usd"] + fig["present_cost_quarters_usd"] - end
    assert parts == pytest.approx(fig["present_cost_usd"], rel=1e-12)
    code, out, err = run_cli("solve", "lab", "--objective", "cost", "--out", str(tmp_path / "run"))
    text = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert ("present cost of the plan (the objective) $779.7M = the installed fleet's resale value at the "
            "start (what keeping it forgoes) $239.4M + the quarters' costs (present value)") in text
    assert "NPV of equity cash flows (the GPUs' own use valued at" in text
    # lab never borrows: one line says so, not three rows of "n/a" (a lab team's review)
    assert "peak debt (at a quarter's end) $0 (no debt in any quarter: no debt service, DSCR" in text
    assert "lowest DSCR" not in text and "lowest cover of the next year's debt payments" not in text
    # and per unit of compute, levelized: $779.7M over lab's discounted H100-equivalent GPU-hours
    per_hour = fig["present_cost_per_h100_hour_usd"]
    assert per_hour == pytest.approx(0.6062, abs=5e-4)
    # its divisor printed whole, as discounted as the cost is: $779.7M / 1,286,311,835 = $0.6062
    divisor = fig["present_cost_usd"] / per_hour
    assert fig["compute_in_service_h100_hours_discounted"] == pytest.approx(divisor, rel=1e-12)
    row = " ".join(out[out.index("present cost per H100-equivalent") :].split())  # wrapped in its cells
    hours = f"{fig['compute_in_service_h100_hours_discounted']:,.0f}"
    assert f"${per_hour:.2f} (the present cost $779.7M over {hours}" in row.replace("│ ", "")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["present_cost_usd"] == pytest.approx(result.objective_usd, rel=1e-9)
    from fleetopt.cli.render.runs import key_figure

    record = api.runs(limit=1)[0]  # `fleetopt runs` shows this key figure
    assert key_figure(record.kind, record.figures) == ("present cost $779.7M on the forecast, $0.61 per "
                                                       "H100-equivalent GPU-hour")


@pytest.mark.parametrize("stochastic", [False, True], ids=["solve", "stochastic"])
def test_a_solve_whose_folder_cannot_be_written_keeps_its_plan(here, monkeypatch, stochastic):
    """A disk that fills up as the run folder is written: the solve is not lost, its plan file is
    kept in the temporary folder (the stochastic solve's: its plan and the forecast optimum), the
    error says where, and no run folder or record is left."""
    import tempfile

    from fleetopt.evaluate.planfile import load_plans
    from fleetopt.runs.folder import RunFolder
    from fleetopt.runs.run_files import RunDirError

    def full(self, files):
        raise RunDirError(f"cannot write {self.path}: No space left on device")

    monkeypatch.setattr(RunFolder, "write", full)
    monkeypatch.setattr(tempfile, "tempdir", str(here / "tmp"))
    (here / "tmp").mkdir()
    args = ["solve", "tiny", "--out", "A", "--set", "horizon.discount_rate_annual=0.1"]
    args += ["--stochastic", "2"] if stochastic else []
    code, stdout, stderr = run_cli(*args)
    assert code == 2, stdout + stderr
    kept = list((here / "tmp").glob("fleetopt-tiny-*-plan.npz"))
    assert len(kept) == 1
    said = stderr.replace("\n", "")
    assert "No space left on device. Its plan is kept in" in said and kept[0].name in said
    # its results are printed before the error, as they were before the folder was written first
    assert ("EEV: the forecast optimum" if stochastic else "NPV") in stdout
    # the model solved, as --set changed it, kept beside the plan and named: a plan file finds only a
    # bundled model by itself, and that one unchanged
    model = kept[0].with_name(kept[0].name.replace("-plan.npz", "-model.yaml"))
    assert f"{model.name} --plans " in said
    assert yaml.safe_load(model.read_text())["horizon"]["discount_rate_annual"] == 0.1
    _, data = api.load("tiny")
    _, labels, _ = load_plans(kept[0], data)
    assert labels == (["stochastic", "forecast"] if stochastic else ["milp"])
    assert not (here / "A").exists() and api.runs() == []


def test_a_solve_whose_plan_cannot_be_kept_either_says_so(here, monkeypatch):
    import tempfile

    from fleetopt.runs.folder import RunFolder
    from fleetopt.runs.run_files import RunDirError

    def full(self, files):
        raise RunDirError(f"cannot write {self.path}: No space left on device")

    monkeypatch.setattr(RunFolder, "write", full)
    (here / "a-file").write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(here / "a-file" / "tmp"))  # a folder that cannot be
    code, _, stderr = run_cli("solve", "tiny", "--out", "A")
    assert code == 2
    assert "its plan could not be kept in" in stderr.replace("\n", " ") and "either" in stderr


def test_a_stochastic_solve_s_default_folder_is_named_by_its_kind(tmp_path, monkeypatch):
    """`fleetopt solve --stochastic` named its folder as a plain solve's (<time>-tiny), while the
    Python API's write named it <time>-tiny-stochastic: one rule now (runs.kinds.run_name)."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path))
    code, stdout, stderr = cli("solve", "tiny", "--stochastic", "2")
    assert code == 0, stdout + stderr
    (folder,) = [p.name for p in tmp_path.iterdir() if p.is_dir()]
    assert folder.endswith("-tiny-stochastic"), folder


def test_a_cost_solve_says_it_declines_the_offers(tmp_path, monkeypatch):
    """The cost objective counts no revenue, so it never takes an optional contract: tiny's offer
    enterprise-inference was declined without a word (from a lab planner's review). lab offers none:
    no warning."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    _, _, err = run_cli("solve", "tiny", "--objective", "cost", "--out", str(tmp_path / "t"))
    assert "declines every contract not signed (enterprise-inference): solve with --objective npv to" in err
    # Python names the argument as the API takes it (tiny's cost solve is then infeasible: its budget)
    declines = r"solve with objective='npv' \(--objective npv\) to weigh"
    with pytest.warns(FleetoptWarning, match=declines), pytest.raises(InfeasibleModel):
        api.solve("tiny", objective="cost")
    code, _, err = run_cli("solve", "lab", "--objective", "cost", "--out", str(tmp_path / "l"))
    assert code == 0 and "declines" not in err


def test_a_cost_solve_gives_the_lowest_cash_without_its_imputed_revenue(tmp_path, monkeypatch):
    """Under the cost objective the market revenue values the lab's own use of its GPUs: nobody
    pays it. The lowest cash less the market revenue to date is read from the statements by hand."""
    import pandas as pd

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, out, err = run_cli("solve", "lab", "--objective", "cost", "--out", str(tmp_path / "c"))
    assert code == 0, err
    lines = pd.read_csv(tmp_path / "c" / "statements.csv")
    market = (lines["revenue_training_market_usd"] + lines["revenue_inference_market_usd"]).cumsum()
    lowest = float((lines["cash_usd"] - market).min())
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["min_cash_without_market_revenue_usd"] == pytest.approx(lowest, rel=1e-9)
    assert lowest < summary["min_liquidity_usd"]
    assert "lowest cash less the market revenue to date" in " ".join(out.replace("│", " ").split())
    assert "below finance.min_cash_usd" not in err + out  # $1.89B against a $250M floor
    assert summary["budget_shortfall_usd"] == 0.0
    # the demand it serves, which a lab planner found nowhere: the model's, 2,190 h a quarter, met
    # exactly (lab has no contracts: every GPU-hour in service serves it)
    from fleetopt.core.data import load

    demand = 2190.0 * sum(float(d.sum()) for d in load("lab")[1].demand)
    assert summary["forecast_demand_h100_hours"] == pytest.approx(demand, rel=1e-12)
    assert summary["compute_in_service_h100_hours"] == pytest.approx(demand, rel=1e-9)
    said = f"{demand / 1e9:,.2f}B H100-equivalent GPU-hours over the horizon, all served"  # as `runs show`
    assert said in " ".join(out.replace("│", " ").split())
    # of a plan solved for NPV (a neocloud's market revenue is real) it read as a shortfall: not written
    code, _, err = run_cli("solve", "lab", "--out", str(tmp_path / "n"))
    assert code == 0, err
    npv_summary = json.loads((tmp_path / "n" / "summary.json").read_text())
    assert "min_cash_without_market_revenue_usd" not in npv_summary and "npv_usd" in npv_summary


def test_a_cost_solve_over_its_budget_is_infeasible_and_names_the_budget(tmp_path, monkeypatch):
    """Under the cost objective the cash floor is the lab's budget on real cash, the market revenue
    (the GPUs' own use) left out: a lab with a $0.5B budget and no loans solved before with that cash
    at -$610M and a warning (from a lab planner's review). Now no plan meets its demand within it:
    exit 3, nothing written, and the diagnosis says the budget gives way where the demand is held."""
    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    budget = api.edit("lab", {("finance", "opening_cash_usd"): 5e8, ("finance", "facilities"): None})
    model = tmp_path / "lab-budget.yaml"
    model.write_text(budget.text)
    code, _, err = run_cli("solve", str(model), "--objective", "cost", "--out", str(tmp_path / "c"))
    said = " ".join(err.split())
    assert code == 3 and "Traceback" not in said, said
    assert "minimum cash in" in said and "the budget: cash less the market revenue to date" in said
    assert "finance.opening_cash_usd or a facility in finance.facilities funds it" in said
    assert not (tmp_path / "c").exists()


def test_a_stop_while_the_results_print_keeps_the_finished_solve(tmp_path, monkeypatch):
    """The tables printed before the run folder was written: a Ctrl-C then released the folder and
    lost the finished solve (the fuzz audit). The run is written first."""
    from fleetopt.cli import model_commands

    def stopped(result):
        raise KeyboardInterrupt
        yield  # a generator, as the tables are

    monkeypatch.setattr(model_commands, "solve_summary_tables", stopped)
    out = tmp_path / "run"
    with contextlib.suppress(KeyboardInterrupt):  # in process it reaches the caller; `fleetopt` exits 130
        run_cli("solve", "tiny", "--out", str(out))
    assert (out / "summary.json").is_file() and (out / "plan.npz").is_file()


NOTHING_PAYS = """\
name: small-neo
horizon: {start: 2026Q1, quarters: 8, discount_rate_annual: 0.12}
skus:
  B200:
    generation: blackwell
    available_from: 2025Q1
    block_size_gpus: 8
    capex_per_gpu_usd: 50000
    power_kw_per_gpu: 1.8
    idle_power_fraction: 0.3
    training_throughput: 2.3
    inference_throughput: 3.5
    opex_per_gpu_quarter_usd: 1500
    useful_life_years: 6
    resale_fraction_by_age_years: [0.8, 0.5, 0.3]
    training_eligibility: {max_newer_generations_on_sale: 1}
sites:
  iceland:
    power_capacity_mw: 20
    pue: 1.15
    electricity_price_usd_per_mwh: 40
market:
  billed_utilization: 0.8
  demand_gpus: {training: 5000, inference: 5000}
  price_usd_per_gpu_hour:
    training: {all: 0.9}
    inference: {all: 0.8}
finance:
  opening_cash_usd: 200000000
  reference_rate_annual: 0.04
redeployment: {cost_per_gpu_usd: 1000}
"""


def test_a_plan_that_buys_nothing_says_why_and_how_to_see_the_cost_of_a_purchase(tmp_path, monkeypatch):
    """A B200 at $50,000 renting at $0.80-$0.90 an hour (about $1,500 a quarter at 80 % billed, its
    opex alone) never pays: the solve printed NPV $0 and a table of zero purchases, no word why (a
    model author's review). It now says none raised the NPV and how to see what one would cost."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    model = tmp_path / "small.yaml"
    model.write_text(NOTHING_PAYS)
    code, out, err = run_cli("solve", str(model), "--out", str(tmp_path / "run"))
    assert code == 0, err
    text = " ".join(out.replace("│", " ").split())
    assert ("GPUs bought none: at the forecast's prices, costs, power and financing no purchase raises the "
            "NPV; to see what one would cost, fix it with --purchases") in text


def test_a_diagnosis_that_names_no_group_is_a_diagnosis_too(monkeypatch):
    """A relaxed model stopped without a plan: diagnose() returned a bare list there, so a notebook
    reading the documented Diagnosis fields of InfeasibleModel.diagnosis (``caveat``, ``otherwise``)
    got an AttributeError; it is a Diagnosis with nothing relaxed instead and no caveat."""
    from fleetopt.milp import diagnose as diagnosis

    def stopped(m, solver=None, **options):
        return "no_plan", SimpleNamespace(termination_condition=TerminationCondition.maxTimeLimit)

    monkeypatch.setattr(diagnosis, "run_highs", stopped)
    found = diagnosis.diagnose(data_of(infeasible_contract_model()), time_limit=30)
    assert isinstance(found, diagnosis.Diagnosis)
    assert [d["group"] for d in found] == ["not diagnosed"] and found.otherwise == [] and found.caveat == ""

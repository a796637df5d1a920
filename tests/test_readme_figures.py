"""benchmarks/readme_figures.py, without solving: its list of README's figures still quotes README, and
its helpers write a known metrics row as README writes it (the figures worked out by hand)."""

import json
import shutil
import sys

import pytest

from benchmarks.readme_figures import (
    FIGURES,
    README,
    RUNS,
    UNTIED,
    Run,
    billions,
    candidate,
    candidate_change,
    code_stamp,
    compared,
    every_or_percent,
    execute,
    exit_code,
    exit_words,
    in_words,
    median_quarter,
    metric,
    orders_cancelled,
    percent,
    points,
    run_stamp,
    runs_needed,
    statements_sum,
)
from fleetopt.core.units import format_usd, format_usd_change


def readme_text() -> str:
    """README.md with each run of white space as one space: a phrase may be wrapped over lines."""
    return " ".join(README.read_text().split())


@pytest.mark.parametrize("fig", FIGURES, ids=lambda fig: f"{fig.run}: {fig.phrase}")
def test_each_phrase_is_in_readme_and_holds_its_figure(fig):
    assert fig.quoted in fig.phrase
    assert fig.phrase in readme_text(), "README.md changed: change benchmarks/readme_figures.py's FIGURES too"
    assert fig.run in RUNS


@pytest.mark.parametrize("text", [text for text, _ in UNTIED])
def test_each_untied_figure_is_in_readme(text):
    assert text in readme_text()


METRICS_ROW = {  # one plan's metrics.csv, the figures README's risk bullet quotes (values chosen by hand)
    "npv_mean_usd": 13_988_193_606.77,  # $13.99B, or $14.0B to one decimal
    "npv_cvar5_usd": -19_499_735_165.73,  # -$19.5B, -$19.50B
    "loss_probability": 0.385,  # 38.5 %
    "default_probability": 0.2795,  # 28 % (27.95 rounds half up to 28.0, then to 28), 72 % never default
    "first_breach_borrowing_base_share": 0.3025,  # 30 %
    "breach_probability": 1.0,  # every future
    "npv_hazard_usd": -330_400_000.0,  # -$0.33B: billions however small
}


@pytest.fixture
def metrics_run(tmp_path):
    (tmp_path / "metrics.csv").write_text(
        "plan," + ",".join(METRICS_ROW) + "\nmilp," + ",".join(repr(v) for v in METRICS_ROW.values()) + "\n"
    )
    return tmp_path


def test_a_metrics_row_is_written_as_readme_writes_it(metrics_run):
    def written(column, fmt, of=lambda v: v):
        return fmt(metric(column, of)(metrics_run))

    assert written("npv_mean_usd", billions(1)) == "$14.0B"
    assert written("npv_mean_usd", billions(2)) == "$13.99B"
    assert written("npv_cvar5_usd", billions(1)) == "-$19.5B"
    assert written("npv_cvar5_usd", billions(2)) == "-$19.50B"
    assert written("npv_hazard_usd", billions(2)) == "-$0.33B"
    assert written("loss_probability", percent(1)) == "38.5 %"
    assert written("default_probability", percent(0)) == "28 %"
    assert written("default_probability", percent(0), lambda p: 1 - p) == "72 %"
    assert written("first_breach_borrowing_base_share", percent(0)) == "30 %"
    assert written("breach_probability", every_or_percent) == "every"
    assert every_or_percent(0.713) == "71.3 %"


def test_a_loss_that_rounds_to_nothing_has_no_sign():
    assert billions(2)(-1e6) == "$0.00B"
    assert points(True)(-0.0004) == "0.0"


def test_a_what_if_comparison_gives_its_difference_and_twice_its_paired_error(tmp_path):
    path = tmp_path / "c.json"
    planned, what_if = "base: milp", "base: milp, what if"
    diff = f"{what_if} \u2212 {planned}"  # the difference's column, as `fleetopt compare --out` names it
    path.write_text(json.dumps({"plans": [planned, what_if], "figures": [
        {"figure": "npv_mean_usd", planned: 13.99e9, what_if: 8.94e9, diff: -5.052e9},
        {"figure": "npv_mean_paired_se_usd", planned: None, what_if: 0.1013e9},
        {"figure": "breach_probability", planned: 0.713, what_if: 1.0, diff: 0.287},
        {"figure": "breach_probability_paired_se", planned: None, what_if: 0.0101},
    ]}))  # fmt: skip
    assert billions(2)(compared("npv_mean_usd", "difference")(path)) == "-$5.05B"
    assert billions(2)(compared("npv_mean_usd", "two errors")(path)) == "$0.20B"  # 2 x 0.1013 = 0.2026
    assert points(True)(compared("breach_probability", "difference")(path)) == "+28.7"
    assert points(False)(compared("breach_probability", "two errors")(path)) == "2.0"  # 2 x 1.01 = 2.02


def test_quick_runs_the_solve_first_and_leaves_the_slow_ones_out():
    quick = runs_needed([fig for fig in FIGURES if not RUNS[fig.run].slow])
    assert quick[0].name == "solve"
    assert not any(run.slow for run in quick)
    assert {"sweep", "stochastic"} <= {run.name for run in runs_needed(FIGURES)}


def test_a_sweep_gives_its_pick_against_the_forecast_optimum_and_its_cancelled_orders(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({
        "recommended": "milp: demand slump, cash buffer $3.49B", "forecast_optimum": "milp: forecast",
        "recommended_orders_cancelled": [
            {"quarter": "2026Q4", "capex_usd": 1.5e9, "deposit_usd": 300.0e6},
            {"quarter": "2028Q2", "capex_usd": 2.6e9, "deposit_usd": 520.94e6},
        ],
    }))  # fmt: skip
    (tmp_path / "candidates.csv").write_text(
        "plan,npv_mean_usd,breach_probability\n"
        "milp: forecast,13.0e9,0.725\n"
        '"milp: demand slump, cash buffer $3.49B",11.44e9,0.698\n'
    )
    assert format_usd_change(candidate_change("npv_mean_usd")(tmp_path)) == "-$1.56B"  # 11.44 - 13.00
    assert percent(1)(candidate("breach_probability", "forecast_optimum")(tmp_path)) == "72.5 %"
    assert percent(1)(candidate("breach_probability")(tmp_path)) == "69.8 %"
    assert in_words(orders_cancelled("count")(tmp_path)) == "two"
    assert orders_cancelled("quarters")(tmp_path) == "2026Q4-2028Q2"
    assert format_usd(orders_cancelled("capex_usd")(tmp_path)) == "$4.10B"  # 1.5 + 2.6
    assert format_usd(orders_cancelled("deposit_usd")(tmp_path)) == "$820.9M"  # 300.0 + 520.94


def test_a_solves_capex_is_summed_over_the_years_readme_names(tmp_path):
    """README's "$37.47B of it by the end of 2027": the quarters of 2026 and 2027, none of 2028, and no
    trailing comment line: 1.5 + 2.0 + 0.25 = $3.75B."""
    (tmp_path / "statements.csv").write_text(
        "quarter,capex_gpu_usd\n2026Q3,1.5e9\n2026Q4,2.0e9\n2027Q1,0.25e9\n2028Q1,9.0e9\n# a comment\n"
    )
    assert billions(2)(statements_sum("capex_gpu_usd", "2026", "2027")(tmp_path)) == "$3.75B"
    assert billions(2)(statements_sum("capex_gpu_usd", "2028")(tmp_path)) == "$9.00B"


WRITE_NEW = "import pathlib; pathlib.Path('{runs}/out').write_text('new')"
WRITES_NEW = Run("new", (sys.executable, "-c", WRITE_NEW), "out")


def test_a_run_from_the_same_code_is_reused_and_one_from_other_code_made_again(tmp_path):
    (tmp_path / "out").write_text("old")
    (tmp_path / "out.exit").write_text(f"0 {run_stamp(WRITES_NEW)}")
    assert execute(WRITES_NEW, tmp_path) is None
    assert (tmp_path / "out").read_text() == "old"  # reused
    (tmp_path / "out.exit").write_text("0 other-code")
    assert execute(WRITES_NEW, tmp_path) is None
    assert (tmp_path / "out").read_text() == "new"
    assert (tmp_path / "out.exit").read_text() == f"0 {run_stamp(WRITES_NEW)}"


def test_a_run_whose_command_changed_is_made_again_not_reused(tmp_path):
    """A what-if's --set added to README's command (same code, same model): the run left by the old
    command was reused, its figures those of the old command."""
    (tmp_path / "out").write_text("old")
    (tmp_path / "out.exit").write_text(f"0 {code_stamp()}")  # the stamp of code and model alone
    assert execute(WRITES_NEW, tmp_path) is None
    assert (tmp_path / "out").read_text() == "new"
    changed = Run("new", (*WRITES_NEW.argv, "--set", "x=1"), "out")
    assert run_stamp(changed) != run_stamp(WRITES_NEW) and run_stamp(changed).startswith(code_stamp())


def test_a_failed_command_is_said_with_its_log_and_not_reused(tmp_path):
    fails = Run("fails", (sys.executable, "-c", "raise SystemExit(3)"), "out")
    assert execute(fails, tmp_path) == f"failed (exit 3, {tmp_path / 'fails.log'})"
    assert "exit 3" in execute(fails, tmp_path)  # run again, not reused
    infeasible_is_the_answer = Run("ok", fails.argv, "out", exit_codes=(0, 3))
    assert execute(infeasible_is_the_answer, tmp_path) is None
    assert exit_words(exit_code(tmp_path / "out")) == "no plan meets the covenants"


def test_a_median_quarter_is_written_as_the_run_models_quarter(tmp_path):
    shutil.copy(README.parent / "models" / "tiny.yaml", tmp_path / "model.yaml")  # from 2026Q3
    (tmp_path / "metrics.csv").write_text("plan,breach_median_quarter,default_median_quarter\nmilp,6.0,nan\n")
    assert median_quarter("breach_median_quarter")(tmp_path) == "2027Q4"  # the 6th quarter from 2026Q3
    assert median_quarter("default_median_quarter")(tmp_path) == "none"  # no scenario defaults

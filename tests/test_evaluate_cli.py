"""`fleetopt evaluate` end to end: run folders in, metrics.csv and summary.json out, exit 2 on bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY_PATH, run_cli
from evaluate_builders import plan_variants

from fleetopt import api
from fleetopt.core.data import load
from fleetopt.core.metric_columns import METRIC_COLUMNS
from fleetopt.core.plan import Plan
from fleetopt.core.units import format_usd
from fleetopt.evaluate.backend import cupy_device
from fleetopt.evaluate.metrics import FORECAST_OK
from fleetopt.evaluate.planfile import save_plans
from fleetopt.evaluate.sources import fields_changed_words, version_note
from fleetopt.schema.edit import edited_model
from fleetopt.schema.loading import load_model
from fleetopt.schema.model import fields_changed

COLUMNS = ["plan", FORECAST_OK, *METRIC_COLUMNS]  # whether each plan keeps its limits on its forecast


def evaluate(*args: str) -> tuple[int, str, str]:
    return run_cli("evaluate", *args)


def test_a_run_folder_without_its_model_copy_is_evaluated_under_the_bundled_model_its_plans_name(
    solve_run, here
):
    """A solve folder of tiny whose model.yaml was deleted was evaluated under the default model
    (and refused: "plans are for model 'tiny'"), while a plan file alone reads its bundled model."""
    shutil.copytree(solve_run, here / "A")
    (here / "A" / "model.yaml").unlink()
    code, _, err = evaluate("--plans", "A", "--scenarios", "20", "--out", "B")
    assert code == 0, err
    assert json.loads((here / "B" / "summary.json").read_text())["model_name"] == "tiny"


def test_summary_names_the_model_read_in_full_from_the_command_and_from_python(solve_run, here):
    """summary.json's model_source was "A/model.yaml" from `fleetopt evaluate --plans A` (relative to
    a folder a later reader may not know) but in full from fleetopt.api.evaluate: both name the file
    read in full, as a solve from a model given by a relative path does, from the command and Python."""
    shutil.copytree(solve_run, here / "A")
    read = str((here / "A" / "model.yaml").resolve())
    code, _, err = evaluate("--plans", "A", "--scenarios", "20", "--seed", "7", "--out", "cli")
    assert code == 0, err
    api.write_evaluate_run(*api.evaluate("A", scenarios=20, seed=7), here / "python")
    assert [summary_of(here / run)["model_source"] for run in ("cli", "python")] == [read, read]
    shutil.copy(TINY_PATH, here / "mine.yaml")
    code, _, err = run_cli("solve", "mine.yaml", "--out", "solved")
    assert code == 0, err
    api.write_solve_run(api.solve("mine.yaml"), out=here / "solved-in-python")
    mine = str((here / "mine.yaml").resolve())
    assert [summary_of(here / run)["model_source"] for run in ("solved", "solved-in-python")] == [mine, mine]


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def test_the_evaluation_table_defines_util_and_p5_as_metrics_csv_does(solve_run, here):
    """The table's caption defined util. as "the GPUs in service over the GPUs held" and P5 as "the
    NPV that 5 % of the scenarios fall below", where metrics.csv, docs/evaluation.md and the report
    count GPUs rented out (a GPU in service and idle is not) and P5 is the k-th worst NPV."""
    code, stdout, stderr = evaluate("--plans", str(solve_run), "--scenarios", "20", "--out", "B")
    assert code == 0, stdout + stderr
    said = " ".join(stdout.split())
    assert ("util.: the GPUs rented out (serving a contract, or on the market within the scenario's "
            "demand) over the GPUs held") in said
    assert ("P5 NPV: the k-th worst NPV, k = ceil(5 % of the scenarios); CVaR5 NPV: the mean NPV of "
            "those k worst") in said


def test_evaluate_a_solve_run_folder(solve_run, here):
    code, stdout, stderr = evaluate("--plans", str(solve_run), "--scenarios", "50", "--seed", "1",
                                    "--out", "B")  # fmt: skip
    assert code == 0, stdout + stderr
    assert stdout.startswith("1 plan x 50 scenarios on "), stdout  # the progress bar left a blank line first
    assert "the plan over the scenarios" in stdout and "best plans" not in stdout  # one plan: no ranking
    # which NPV: tiny's discount rate, 15 % a year (a credit analyst read a bare "NPV")
    assert "(NPV: equity cash flows and terminal equity at 15% a year, USD)" in " ".join(stdout.split())
    written = {p.name for p in (here / "B").iterdir()}
    assert written == {"metrics.csv", "summary.json", "model.yaml", "job.json"}
    metrics = pd.read_csv(here / "B" / "metrics.csv")
    assert metrics.columns.tolist() == COLUMNS and metrics["plan"].tolist() == ["milp"]
    assert metrics["npv_std_usd"].iloc[0] > 0 and 0 <= metrics["breach_probability"].iloc[0] <= 1
    # last, the plan's value and risk in two sentences, as its report opens (risk_sentences.risk_in_short)
    row = metrics.iloc[0]
    said = " ".join(stdout.split())
    mean, cvar5 = format_usd(row["npv_mean_usd"]), format_usd(row["npv_cvar5_usd"])
    limited = format_usd(row["npv_limited_cvar5_usd"])
    assert (f"In short: Plan “milp”: mean NPV {mean} over 50 futures; the worst 5 % average {cvar5}, "
            f"counting a defaulted future's shortfall as the owners' loss ({limited} to shareholders with "
            f"limited liability); {row['loss_probability']:.1%} end with a negative NPV. Over the "
            f"horizon's 8 quarters, a liquidity default in {row['default_probability']:.1%} of the futures, "
            f"a covenant breach in {row['breach_probability']:.1%}") in said  # fmt: skip
    summary = json.loads((here / "B" / "summary.json").read_text())
    # no model argument: the run folder's own copy of its model is used
    assert summary["model_name"] == "tiny" and Path(summary["model_source"]) == solve_run / "model.yaml"
    assert summary["kind"] == "evaluate" and summary["n_plans"] == 1 and summary["n_scenarios"] == 50
    assert summary["seed"] == 1 and summary["backend"] in ("numpy", "cupy")
    assert summary["plans_model_hash"] == summary["model_hash"]
    assert summary["metrics"][0]["npv_mean_usd"] == pytest.approx(metrics["npv_mean_usd"].iloc[0], rel=1e-9)
    assert (here / "B" / "model.yaml").read_text() == (solve_run / "model.yaml").read_text()
    # the same seed again writes the same metrics
    assert evaluate("--plans", str(solve_run), "--scenarios", "50", "--seed", "1", "--out", "C")[0] == 0
    assert (here / "C" / "metrics.csv").read_bytes() == (here / "B" / "metrics.csv").read_bytes()


def test_the_first_breach_table_lists_every_covenant_the_model_tests(solve_run, here):
    """tiny tests leverage, the DSCR, liquidity and the borrowing base, not interest cover. Its
    first breaches are the borrowing base's and the DSCR's; the table listed only those two, so a
    reader took leverage and liquidity for untested (compare listed them at 0.0 %)."""
    code, stdout, stderr = evaluate("--plans", str(solve_run), "--scenarios", "300", "--out", "F")
    assert code == 0, stdout + stderr
    table = stdout[stdout.index("which covenant breaks first"):]
    header = next(line for line in table.splitlines() if "any breach" in line)
    for tested in ("debt / annualised EBITDA", "EBITDA / debt service", "liquidity", "borrowing base"):
        assert tested in header
    assert "EBITDA / interest" not in header
    metrics = pd.read_csv(here / "F" / "metrics.csv")
    assert metrics["first_breach_leverage_share"].iloc[0] == 0.0  # listed at 0.0 %
    assert metrics["first_breach_borrowing_base_share"].iloc[0] > 0
    # beside any breach, the uncured ones (an event of default): at most as many
    row = metrics.iloc[0]
    assert "uncured" in header and 0 < row["uncured_breach_probability"] <= row["breach_probability"]
    line = next(line for line in table.splitlines() if "milp" in line)
    shares = [f"{row['breach_probability']:.1%}", "│", f"{row['uncured_breach_probability']:.1%}"]
    assert line.split()[3:6] == shares


def test_the_uncured_legend_names_cash_covering_the_debt_where_the_model_counts_it(solve_run, here):
    """With finance.covenants.cash_covering_debt_cures a breach whose quarter's cash covers the debt
    is no uncured breach; the first-breach table's legend gave the cure limits without it, so a reader
    of the terminal could not tell which count the "uncured" column is."""
    said = ("no event of default where the quarter's cash covers its debt "
                "(finance.covenants.cash_covering_debt_cures)")
    for option, out in ((False, "L0"), (True, "L1")):
        setting = f"finance.covenants.cash_covering_debt_cures={str(option).lower()}"
        code, stdout, stderr = evaluate("--plans", str(solve_run), "--scenarios", "300", "--out", out,
                                        "--set", setting)
        assert code == 0, stdout + stderr
        legend = " ".join(stdout[stdout.index("which covenant breaks first"):].split())
        assert (said in legend) == option


def test_the_uncured_column_s_description_names_cash_covering_the_debt():
    """metrics.csv's description of uncured_breach_probability (fleetopt.core.metric_columns.METRIC_COLUMNS, a
    notebook's reference) gave the cure limits without the cash-covered clause, which the default
    model counts by since 0.4.31: a reader could not tell a breach repaid from cash from a cured one."""
    said = METRIC_COLUMNS["uncured_breach_probability"]
    assert "at most finance.covenants.equity_cures" in said
    assert ("with finance.covenants.cash_covering_debt_cures, no event of default where the quarter's cash "
            "covers its debt") in said


def test_when_it_breaks_names_the_median_quarter_of_the_metrics(solve_run, here):
    """tiny's plan breaches in most of 300 scenarios and never defaults: the table "when it breaks"
    gives metrics.csv's median quarter of the first breach as its label, with the share, and
    "none" for the default."""
    code, stdout, stderr = evaluate("--plans", str(solve_run), "--scenarios", "300", "--out", "W")
    assert code == 0, stdout + stderr
    row = pd.read_csv(here / "W" / "metrics.csv").iloc[0]
    labels = load(solve_run / "model.yaml")[1].quarter_labels
    assert row["default_probability"] == 0 and np.isnan(row["default_median_quarter"])
    table = stdout[stdout.index("when it breaks"):]
    line = next(line for line in table.splitlines() if "milp" in line)
    breach = f"{labels[int(row['breach_median_quarter']) - 1]} ({row['breach_probability']:.1%})"
    assert breach in line and "none (0.0%)" in line


def test_when_it_breaks_says_why_an_uncured_median_comes_before_the_first_breach_s():
    """The default sweep's pick: the terminal's table gave the uncured breach's median 2030Q3 beside
    the first breach's 2030Q4 without the note its report gives. Four scenarios of eight quarters:
    A breaches first in quarter 2 and uncured in 3, B in 5 and 6, C and D breach only in 6 and cure
    it: the first breaches 2, 5, 6, 6 have the median 5 (the lower middle one), the uncured 3 and 6
    the median 3. The plan "early" is marked and the caption says why; "alike" (medians 3 and 3) is not."""
    from io import StringIO

    from rich.console import Console

    from fleetopt.cli.render.evaluate import when_it_breaks_table
    from fleetopt.evaluate.metrics import median_quarter

    rows = []
    cases = (("early", [1, 4, 5, 5], [2, 5, 8, 8]), ("alike", [1, 2, 5, 5], [2, 3, 8, 8]))
    for plan, firsts, uncured in cases:
        # quarters before each event (8: never), as simulate counts them; the medians numbered from 1
        breach_at, uncured_at = (median_quarter(np.array([q]), 8)[0] for q in (firsts, uncured))
        rows.append({"plan": plan, "breach_median_quarter": breach_at, "breach_probability": 1.0,
                     "uncured_breach_median_quarter": uncured_at, "uncured_breach_probability": 0.5,
                     "default_median_quarter": np.nan, "default_probability": 0.0})
    labels = [f"2027Q{q}" for q in range(1, 5)] + [f"2028Q{q}" for q in range(1, 5)]
    out = StringIO()
    Console(file=out, width=240).print(when_it_breaks_table(pd.DataFrame(rows), "when it breaks", labels))
    lines = out.getvalue().splitlines()
    early, alike = (next(line for line in lines if plan in line) for plan in ("early", "alike"))
    assert "2028Q1 (100.0%)" in early and "2027Q3 (50.0%) *" in early
    assert "2027Q3 (100.0%)" in alike and "2027Q3 (50.0%)" in alike and "*" not in alike
    assert ("* earlier than the first breach's median, which is over more scenarios: those whose breaches "
            "were all cured first breach later") in " ".join(" ".join(lines).split())


def test_the_run_folders_model_copy_is_the_default_model(solve_run, here):
    # a copy of the run folder whose model.yaml has no risk block: every scenario is the forecast
    run = here / "A"
    run.mkdir()
    for name in ("plan.npz", "summary.json"):
        (run / name).write_bytes((solve_run / name).read_bytes())
    model = yaml.safe_load((solve_run / "model.yaml").read_text())
    del model["risk"]
    (run / "model.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    code, stdout, stderr = evaluate("--plans", "A", "--scenarios", "30", "--out", "B")
    assert code == 0, stdout + stderr
    assert "another version of model 'tiny'" in stderr  # the plan's hash is of the original text
    row = pd.read_csv(here / "B" / "metrics.csv").iloc[0]
    objective = json.loads((solve_run / "summary.json").read_text())["objective_usd"]
    assert row["npv_mean_usd"] == pytest.approx(objective, rel=1e-6)
    assert row["npv_std_usd"] == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize(
    "old, new, warned",
    [
        ("# tiny: one site", "# tiny, commented: one site", None),  # text only: the same model
        ("price_volatility_annual: 0.25", "price_volatility_annual: 0.5", None),  # risk: a stress test
        ("opening_cash_usd: 150000000", "opening_cash_usd: 160000000",
         "blocks that differ: finance: finance.opening_cash_usd was 150000000.0, now 160000000.0)"),
    ],
)  # fmt: skip
def test_another_model_version_is_named_by_its_blocks(solve_run, here, old, new, warned):
    """A solved plan evaluated under an edited model: a warning names the blocks that differ from
    the run folder's copy, and none comes where only risk, policy or comments changed (the warning
    came for any byte of the file)."""
    text = (solve_run / "model.yaml").read_text()
    assert old in text
    (here / "edited.yaml").write_text(text.replace(old, new))
    code, out, err = evaluate("edited.yaml", "--plans", str(solve_run), "--scenarios", "9", "--out", "B")
    assert code == 0, out + err
    if warned is None:
        assert "another version" not in err
    else:
        said = " ".join(err.split())
        assert "the plans were made from another version of model 'tiny'" in said and warned in said


def test_fields_that_differ_are_named_with_both_values_three_at_most():
    """The version note names each field that differs, its value in the plans' model and in this
    one (a field one lacks: unset), three at most, the rest counted; a list is one field."""

    base = load_model(TINY_PATH)
    changes = {"horizon.discount_rate_annual": 0.2, "finance.opening_cash_usd": 1.0e8,
               "finance.min_cash_usd": 1.0e6, "finance.tax_rate": 0.3}  # fmt: skip
    now = edited_model(base, changes).model
    found = fields_changed(base.model, now)
    assert [path for path, _, _ in found] == [
        "horizon.discount_rate_annual", "finance.opening_cash_usd", "finance.min_cash_usd", "finance.tax_rate"
    ]
    assert found[0] == ("horizon.discount_rate_annual", 0.15, 0.2)
    assert fields_changed_words(found) == (
        "horizon.discount_rate_annual was 0.15, now 0.2; finance.opening_cash_usd was 150000000.0, now "
        "100000000.0; finance.min_cash_usd was 25000000.0, now 1000000.0; and 1 more field"
    )
    assert fields_changed_words([("risk.mean_one", None, False)]) == "risk.mean_one was unset, now false"


def test_a_model_note_is_said_once_for_the_model_used(here):
    """A plan evaluated under another version of its model said each of the model's notes twice,
    the second time for the run folder's copy, read only to name the blocks that differ."""
    text = TINY_PATH.read_text().replace("term_quarters: 6", "term_quarters: 10")  # past the horizon
    (here / "long.yaml").write_text(text)
    assert run_cli("solve", "long.yaml", "--out", "S")[0] == 0
    edited = text.replace("opening_cash_usd: 150000000", "opening_cash_usd: 160000000")
    (here / "edited.yaml").write_text(edited)
    code, out, err = evaluate("edited.yaml", "--plans", "S", "--scenarios", "9", "--out", "B")
    assert code == 0, out + err
    said = " ".join(err.split())
    assert said.count("fall after the horizon ends") == 1 and "edited.yaml" in said
    assert "blocks that differ: finance" in said


def test_a_stochastic_plan_depends_on_the_risk_block(solve_run, here):
    """A stochastic solve's plan is made from the risk block's scenarios: evaluated under another
    risk block, it is warned of (a deterministic solve's plan is not: the test above)."""
    run = here / "S"
    shutil.copytree(solve_run, run)
    summary = json.loads((run / "summary.json").read_text())
    stochastic = {"kind": "stochastic", "settings": {"scenarios": 3}, "scenarios": []}  # what one has
    (run / "summary.json").write_text(json.dumps({**summary, **stochastic}))
    text = (run / "model.yaml").read_text()
    (here / "edited.yaml").write_text(
        text.replace("price_volatility_annual: 0.25", "price_volatility_annual: 0.5")
    )
    code, out, err = evaluate("edited.yaml", "--plans", "S", "--scenarios", "9", "--out", "B")
    assert code == 0, out + err
    assert "another version of model 'tiny'" in err and "blocks that differ: risk" in err


def test_deterministic_and_keep_matrix(solve_run, here):
    code, stdout, stderr = evaluate("tiny", "--plans", str(solve_run / "plan.npz"), "--deterministic",
                                    "--keep-matrix", "--out", "B")  # fmt: skip
    assert code == 0, stdout + stderr
    summary = json.loads((here / "B" / "summary.json").read_text())
    assert summary["deterministic"] is True and summary["n_scenarios"] == 1 and summary["seed"] is None
    objective = json.loads((solve_run / "summary.json").read_text())["objective_usd"]
    assert summary["metrics"][0]["npv_mean_usd"] == pytest.approx(objective, rel=1e-6)
    assert summary["metrics"][0]["breach_probability"] == 0.0
    matrix = np.load(here / "B" / "npv_matrix.npy")
    assert matrix.shape == (1, 1) and matrix[0, 0] == pytest.approx(objective, rel=1e-6)
    # one scenario, the forecast: the table gives the plan's own figures, no error or tail
    assert "NPV on the forecast" in stdout and format_usd(objective) in stdout
    assert "s.e." not in stdout and "CVaR5" not in stdout and "default)" not in stdout


def _multi_plan_file(path: Path) -> list[str]:
    loaded, data = api.load("tiny")
    plans, labels = plan_variants(data, api.solve(loaded).plan)
    save_plans(path, plans[:4], labels[:4], loaded.model.name, loaded.content_hash)
    return labels[:4]


def test_a_multi_plan_file_gives_one_row_per_plan(here):
    labels = _multi_plan_file(here / "plans.npz")
    code, stdout, stderr = evaluate("tiny", "--plans", "plans.npz", "--scenarios", "40", "--max-memory",
                                    "64KB", "--rank-by", "mean", "--top", "2", "--out", "B")  # fmt: skip
    assert code == 0, stdout + stderr
    metrics = pd.read_csv(here / "B" / "metrics.csv")
    assert metrics.columns.tolist() == COLUMNS and metrics["plan"].tolist() == labels
    assert metrics["npv_mean_usd"].nunique() == 4
    # best first, a plan marked `!` (breaking its limits on its own forecast) after the others
    best = metrics.sort_values([FORECAST_OK, "npv_mean_usd"], ascending=False)["plan"].tolist()
    shown = [label for label in labels if f"│ {label} " in stdout]
    assert sorted(shown) == sorted(best[:2])
    summary = json.loads((here / "B" / "summary.json").read_text())
    assert summary["n_plans"] == 4 and summary["plan_chunk"] * summary["scenario_chunk"] < 4 * 40
    # the ranking's figure in the tables' words, not the option's spelling ("by cvar5 NPV")
    code, stdout, stderr = evaluate("tiny", "--plans", "plans.npz", "--scenarios", "40", "--out", "C")
    assert code == 0 and "In short: The best plan by CVaR5 NPV, “" in " ".join(stdout.split()), stdout


def test_max_breach_prob_filters_the_ranking_only(solve_run, here):
    code, stdout, stderr = evaluate("--plans", str(solve_run), "--scenarios", "50", "--seed", "1",
                                    "--max-breach-prob", "0.05", "--out", "B")  # fmt: skip
    assert code == 0, stdout + stderr
    # the limit in the lowest's unit (it read "at or below 0.05 (--max-breach-prob): the lowest is N%")
    said = " ".join(stderr.split())
    assert "no plan has a breach probability at or below 5.0% (--max-breach-prob 0.05)" in said
    metrics = pd.read_csv(here / "B" / "metrics.csv")
    assert metrics["plan"].tolist() == ["milp"]
    # where none meets the limit, every plan is printed with its figures (it printed none)
    lowest = metrics["breach_probability"].min()
    assert f"the lowest is {lowest:.1%}; every plan is ranked" in " ".join(stderr.split())
    assert "│ milp " in stdout and "which covenant breaks first" in stdout


# ---------------------------------------------------------------- bad input: exit 2, one line, no files


def assert_refused(here: Path, args: list[str], *expected: str) -> None:
    code, stdout, stderr = evaluate(*args, "--out", "B")
    assert code == 2, stdout + stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in stdout + stderr
    assert not (here / "B").exists() and not (here / "runs").exists()


def _edited(src: Path, dst: Path, edit) -> Path:
    with np.load(src) as npz:
        arrays = {name: npz[name] for name in npz.files}
    edit(arrays)
    np.savez_compressed(dst, **arrays)
    return dst


def test_plans_for_another_model(solve_run, here):
    assert_refused(here, ["neocloud", "--plans", str(solve_run)], "plans are for model 'tiny'", "'neocloud'")


def test_plan_arrays_of_the_wrong_shape(solve_run, here):
    def shorter(a):
        a["held_training"] = a["held_training"][..., :-1]  # one quarter short

    bad = _edited(solve_run / "plan.npz", here / "short.npz", shorter)
    assert_refused(here, ["tiny", "--plans", str(bad)], "held_training", "shape")

    def ragged(a):  # two plans of buy_blocks, one of everything else
        a.update(_stacked(a, 1))
        a["buy_blocks"] = np.concatenate([a["buy_blocks"]] * 2)

    bad = _edited(solve_run / "plan.npz", here / "ragged.npz", ragged)
    assert_refused(here, ["tiny", "--plans", str(bad)], "shape")


def _set(name, value):
    def edit(a):
        a[name] = value(a[name]) if callable(value) else value

    return edit


def _stacked(arrays: dict, n: int) -> dict:
    """The decision arrays with a leading plan axis (whether the file had one or not), n plans."""
    _, data = api.load("tiny")
    ndim = {k: v.ndim for k, v in Plan.empty(data).arrays().items()}
    return {k: (v if v.ndim > ndim[k] else v[None])[:n] for k, v in arrays.items() if k in ndim}


MALFORMED = {
    "nan": (_set("draws", lambda v: v * np.nan), "NaN"),
    "missing": (lambda a: a.pop("prepay"), "missing decision arrays prepay"),
    "no-meta": (lambda a: a.pop("__meta__"), "not a fleetopt plan file"),
    # the three below crashed with a traceback (IndexError, AttributeError, TypeError) before the
    # fix in fleetopt/evaluate/batch.py
    "zero-plans": (lambda a: a.update(_stacked(a, 0)), "no plans"),
    "list-meta": (_set("__meta__", np.array("[1, 2]")), "not a fleetopt plan file"),
    "text-values": (_set("draws", lambda v: np.full(v.shape, "x")), "draws must hold numbers, not text"),
    # was refused as "buy_blocks has shape ()", though its shape is (1,)
    "text-buys": (_set("buy_blocks", np.array(["a"])), "buy_blocks must hold numbers, not text"),
    "scalar-buys": (_set("buy_blocks", np.array(1.0)), "buy_blocks has shape ()"),
    "half-taken": (_set("accepted", lambda v: v * 0.0 + 0.5), "taken (1) or not (0)"),
    # issue 15: these were evaluated (a mean NPV of $5.97B for negated purchases; minus five
    # quadrillion for 1e12 more blocks) instead of refused
    "negative-buys": (_set("buy_blocks", lambda v: -v), "quantities cannot be negative"),
    "1e12-blocks": (_set("buy_blocks", lambda v: v + 1e12), "when it is not on sale"),
    "debt-beyond-facility": (_set("draws", lambda v: v + 1e15), "gpu-term-loan"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_plan_files(solve_run, here, case):
    edit, message = MALFORMED[case]
    bad = _edited(solve_run / "plan.npz", here / f"{case}.npz", edit)
    assert_refused(here, ["tiny", "--plans", str(bad)], message)


def test_a_plan_beyond_the_suppliers_allocation_is_refused(solve_run):
    """tiny's optimum buys 2,000 B200 in 2026Q3. Under tiny with 1,000 new Blackwell GPUs a quarter
    allocated (`compare --model`, `evaluate MODEL --plans` of a plan made before the limit) it was
    evaluated with only a note that the model differs, as if the supplier had delivered them all."""
    from fleetopt.errors import InputError
    from fleetopt.evaluate.batch import compile_plans
    from fleetopt.evaluate.planfile import load_plans

    _, allocated = api.load(api.edit("tiny", {"limits.new_gpus_per_quarter": {"blackwell": 1000}}))
    plans, labels, _ = load_plans(solve_run / "plan.npz", allocated)
    said = "buys 2,000 new blackwell GPUs in 2026Q3, more than the 1,000 the supplier allocates that quarter"
    with pytest.raises(InputError, match=said + r" \(limits.new_gpus_per_quarter.blackwell\)"):
        compile_plans(allocated, plans, labels, check_limits=True)
    _, enough = api.load(api.edit("tiny", {"limits.new_gpus_per_quarter": {"blackwell": 2000}}))
    assert compile_plans(enough, plans, labels, check_limits=True).P == 1  # on the allocation: kept


def test_a_plan_a_fraction_of_a_gpu_beyond_the_allocation_is_refused_with_figures_that_differ(solve_run):
    """tiny's optimum buys 250 blocks of 8 B200 (2,000 GPUs) in 2026Q3; a plan buying 0.01 block
    more (and holding it) under 2,000 Blackwell GPUs allocated was refused as "buys 2,000 new
    blackwell GPUs in 2026Q3, more than the 2,000 the supplier allocates"."""
    from fleetopt.errors import InputError
    from fleetopt.evaluate.batch import compile_plans
    from fleetopt.evaluate.planfile import load_plans

    _, allocated = api.load(api.edit("tiny", {"limits.new_gpus_per_quarter": {"blackwell": 2000}}))
    plans, labels, _ = load_plans(solve_run / "plan.npz", allocated)
    s, i, t = (int(x) for x in np.argwhere(plans[0].buy_blocks > 0)[0])
    assert (allocated.sku_names[s], plans[0].buy_blocks[s, i, t] * allocated.block_size[s]) == ("B200", 2000)
    cohort = next(c for c in allocated.cohorts if (c.sku, c.site, c.bought) == (s, i, t))
    plans[0].buy_blocks[s, i, t] += 0.01
    plans[0].held_training[cohort.index, t] += 0.08
    said = "buys 2,000.08 new blackwell GPUs in 2026Q3, more than the 2,000.00 the supplier allocates"
    with pytest.raises(InputError, match=said):
        compile_plans(allocated, plans, labels, check_limits=True)


def test_corrupt_missing_or_empty_plan_sources(solve_run, here):
    (here / "corrupt.npz").write_bytes((solve_run / "plan.npz").read_bytes()[:100])
    assert_refused(here, ["tiny", "--plans", "corrupt.npz"], "corrupt.npz", "not a fleetopt plan file")
    (here / "text.npz").write_text("hello\n")
    assert_refused(here, ["tiny", "--plans", "text.npz"], "not a fleetopt plan file")
    assert_refused(here, ["tiny", "--plans", "nowhere"], "nowhere", "no such")
    (here / "empty").mkdir()
    assert_refused(here, ["tiny", "--plans", "empty"], "no plan file in this folder")


def test_a_solve_s_plan_csv_is_named_as_such_with_what_to_give_instead(solve_run, here):
    """`evaluate --plans runs/X/plan.csv` said "not a fleetopt plan file (BadZipFile)"."""
    csv = solve_run / "plan.csv"
    assert_refused(here, ["tiny", "--plans", str(csv)],
                   f"{csv} is a CSV file, not a fleetopt plan file (plan.npz or plans.npz): give its run "
                   f"folder {solve_run} or {solve_run / 'plan.npz'}; to solve with its purchases fixed: "
                   f"fleetopt solve MODEL --purchases {csv}")  # fmt: skip
    # a CSV that is no purchases file (statements.csv, metrics.csv) is not offered as one: followed,
    # the hint failed on its header (from a new user's review)
    statements = solve_run / "statements.csv"
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(statements))
    assert code == 2 and f"{statements} is a CSV file" in err and "--purchases" not in err, err


def test_a_run_folder_s_damaged_plan_file_is_named_as_cut_short(solve_run, here):
    """A plan.npz cut short inside a run folder said "not a fleetopt plan file (BadZipFile)", while
    the same file given directly said what is wrong (from a new user's review)."""
    import shutil

    copy = here / "copy"
    shutil.copytree(solve_run, copy)
    whole = (copy / "plan.npz").read_bytes()
    (copy / "plan.npz").write_bytes(whole[: len(whole) // 2])
    assert_refused(here, ["--plans", str(copy)], "plan.npz: not a whole .npz archive (damaged or cut short")


def test_bad_memory_budget(solve_run, here):
    for value in ("nonsense", "12XB", "0", "-1GB"):
        assert_refused(here, ["--plans", str(solve_run), "--max-memory", value], "--max-memory")


@pytest.mark.skipif(cupy_device() is not None, reason="a CUDA device is present: --backend cupy works here")
def test_backend_cupy_without_a_gpu(solve_run, here):
    assert_refused(here, ["--plans", str(solve_run), "--backend", "cupy"], "cupy", "CUDA device")


PARSER_REJECTS = [
    ("--scenarios", "0"),
    ("--scenarios", "-3"),
    ("--backend", "foo"),
    ("--seed", "-1"),
    ("--top", "0"),
]


@pytest.mark.parametrize(("option", "value"), PARSER_REJECTS)
def test_option_values_rejected_by_the_parser(solve_run, here, option, value):
    # option values are checked by the parser (Typer), which prints its usage note and one error
    code, stdout, stderr = evaluate("--plans", str(solve_run), option, value, "--out", "B")
    assert code == 2, stdout + stderr
    assert f"Invalid value for '{option}'" in stderr and stderr.count("Invalid value") == 1
    assert "Traceback" not in stdout + stderr
    assert not (here / "B").exists() and not (here / "runs").exists()


def test_a_plan_that_breaks_its_limits_on_its_own_forecast_is_ranked_after_the_others():
    """The best CVaR5 of tiny's sweep was a cash-buffer plan that keeps debt its borrowing base does
    not allow on the forecast itself (marked `!`): the terminal and the report featured it. Such a
    plan now comes after every plan that keeps its limits, whatever its figures; among themselves
    each group keeps the ranking's order, and with every plan marked the ranking is as before."""
    from fleetopt.evaluate.metrics import marked_last_words, ranked_plans

    metrics = pd.DataFrame({
        "plan": ["buffer", "milp", "other", "risky"],
        FORECAST_OK: [False, True, True, False],
        "npv_cvar5_usd": [5.0, 1.0, 3.0, 4.0],
        "breach_probability": [0.1, 0.2, 0.3, 0.4],
    })  # fmt: skip
    assert ranked_plans(metrics)["plan"].tolist() == ["other", "milp", "buffer", "risky"]
    assert ranked_plans(metrics, max_breach_prob=0.25)["plan"].tolist() == ["milp", "buffer"]
    assert marked_last_words(ranked_plans(metrics)) == (
        " (a plan marked !, which breaches a covenant or defaults on the forecast itself, comes last)"
    )
    every = metrics.assign(**{FORECAST_OK: False})
    assert ranked_plans(every)["plan"].tolist() == ["buffer", "risky", "other", "milp"]
    assert marked_last_words(ranked_plans(every)) == ""


def test_a_deterministic_evaluation_puts_a_plan_that_breaks_its_limits_last_and_says_so(here):
    """On the forecast itself the plan that borrows $2M more breaches (its `forecast_within_limits`
    false): the table of a deterministic evaluation lists it after the others and its title says
    so, in the words of a table that shows the breach itself rather than a `!`."""
    _multi_plan_file(here / "plans.npz")
    code, stdout, stderr = evaluate("tiny", "--plans", "plans.npz", "--deterministic", "--out", "D")
    assert code == 0, stdout + stderr
    metrics = pd.read_csv(here / "D" / "metrics.csv")
    assert not metrics[FORECAST_OK].all() and metrics[FORECAST_OK].any()
    said = " ".join(stdout.split())
    assert "plans on the forecast (deterministic evaluation; breaches and defaults last; NPV:" in said
    rows = [label for label in metrics["plan"] if f"│ {label} " in stdout]
    order = sorted(rows, key=lambda label: stdout.index(f"│ {label} "))
    kept = set(metrics[metrics[FORECAST_OK]]["plan"])
    assert [label in kept for label in order] == sorted((label in kept for label in order), reverse=True)
    # the breaching plan's row says in which quarter the forecast breaks: its one scenario's
    breaking = metrics[~metrics[FORECAST_OK]].iloc[0]
    labels = load("tiny")[1].quarter_labels
    quarter = labels[int(breaking["breach_median_quarter"]) - 1]
    line = next(line for line in stdout.splitlines() if f"│ {breaking['plan']} " in line)
    assert f", in {quarter}" in " ".join(stdout.split()), line



def test_a_list_that_differs_is_named_by_its_index_and_the_description_not_at_all():
    """A resale list differing in its last entry was cut to 'was [0.8, 0.5, 0.34, 0.24, 0.14, 0.1,
    0.0..., now [0.8, 0.5, ...' on both sides: a list of the same length is compared by index."""
    base = load_model(TINY_PATH)
    resale = list(base.model.skus["H100"].resale_fraction_by_age_years)
    edited = edited_model(base, {"skus.H100.resale_fraction_by_age_years": [*resale[:-1], resale[-1] / 2],
                                 "description": "another"})  # fmt: skip
    found = fields_changed(base.model, edited.model)
    last = len(resale) - 1
    assert found[0] == ("description", base.model.description, "another")
    assert found[1] == (f"skus.H100.resale_fraction_by_age_years[{last}]", resale[-1], resale[-1] / 2)
    note = version_note(base.content_hash, base, "solve", [], edited)
    field = f"skus.H100.resale_fraction_by_age_years[{last}]"
    assert f"blocks that differ: skus: {field} was" in note
    assert note.endswith("; and description, which the plans do not depend on)")


def test_a_block_the_plans_do_not_read_is_not_listed_before_the_fields_they_do():
    """A solve's plan evaluated under its model with the discount rate and the price volatility
    changed warned 'blocks that differ: horizon, risk: horizon.discount_rate_annual was 0.15, now 0.12',
    as if the rate were the risk block's field: the blocks the plans read come with their fields,
    then risk, which a solve's plan does not read."""
    base = load_model(TINY_PATH)
    edited = edited_model(base, {"horizon.discount_rate_annual": 0.12, "risk.price_volatility_annual": 0.4})
    note = version_note(base.content_hash, base, "solve", [], edited)
    assert note.endswith("blocks that differ: horizon: horizon.discount_rate_annual was 0.15, now 0.12; "
                         "and risk, which the plans do not depend on)"), note


def test_a_block_one_model_lacks_is_named_by_the_fields_its_file_sets():
    """Plans solved with robustness.power_delay_quarters=2 compared under a model without a
    robustness block read 'robustness was {"market_price_drop": 0.0, "lose_any_..., now unset':
    the change was cut off. Each field the block's file sets is named, unset on the other side."""
    base = load_model(TINY_PATH)
    robust = edited_model(base, {"robustness.power_delay_quarters": 2})
    assert fields_changed(robust.model, base.model) == [("robustness.power_delay_quarters", 2, None)]
    assert fields_changed(base.model, robust.model) == [("robustness.power_delay_quarters", None, 2)]
    note = version_note(robust.content_hash, robust, "solve", [], base)
    assert "blocks that differ: robustness: robustness.power_delay_quarters was 2, now unset)" in note
    # a nested block removed: its six fields in tiny.yaml, three named, the rest counted
    without = edited_model(base, {"sites.texas.expansion": None})
    found = fields_changed(base.model, without.model)
    assert [path for path, _, ours in found if ours is None] == [
        f"sites.texas.expansion.{name}" for name in ("block_mw", "capex_per_mw_usd", "lead_time_quarters",
                                                     "earliest_start", "max_blocks", "useful_life_years")
    ]
    assert fields_changed_words(found).startswith("sites.texas.expansion.block_mw was 10.0, now unset; ")
    assert fields_changed_words(found).endswith("; and 3 more fields")


def test_in_short_says_a_negative_npv_not_money_lost():
    """"39.9% lose money" read P(NPV < 0) as a nominal loss (a finance review): the NPV is at the
    model's discount rate, so a negative one is a return below it, not money lost."""
    from fleetopt.core.results.risk_sentences import risk_in_short

    row = {"npv_mean_usd": 13.5e9, "npv_cvar5_usd": -20e9, "loss_probability": 0.399,
           "default_probability": 0.299, "breach_probability": 0.715}  # fmt: skip
    said = " ".join(risk_in_short("Plan “milp”", 2000, row))
    assert "lose money" not in said
    assert "the worst 5 % average -$20.00B; 39.9% end with a negative NPV." in said


def test_in_short_gives_the_shareholders_tail_and_the_sampling_error():
    """A CFO read "the worst 5 % average -$20B" as equity at risk and every probability as exact (a
    finance review): the CVaR5 now says it counts a defaulted future's shortfall, beside the
    shareholders' with limited liability, and a sentence gives one standard error of the sampling.
    Over 2,000 futures a share p has sqrt(p (1 - p) / 2,000): 0.30 1.02 pp, 0.714 1.01 pp, 0.627
    1.08 pp and 0.52 1.12 pp, the largest: 1.1 pp; the mean's error is the row's $630M."""
    from fleetopt.core.results.risk_sentences import risk_in_short

    row = {"npv_mean_usd": 13.5e9, "npv_mean_se_usd": 0.63e9, "npv_cvar5_usd": -20e9,
           "npv_limited_cvar5_usd": -2.3e9, "loss_probability": 0.399, "default_probability": 0.30,
           "breach_probability": 0.714, "uncured_breach_probability": 0.52,
           "any_default_probability": 0.627}  # fmt: skip
    said = " ".join(risk_in_short("Plan “milp”", 2000, row))
    assert ("the worst 5 % average -$20.00B, counting a defaulted future's shortfall as the owners' loss "
            "(-$2.30B to shareholders with limited liability); 39.9% end with a negative NPV.") in said
    assert ("Sampling error, one standard error over 2,000 futures: $630M on the mean NPV, at most "
            "1.1 pp on each probability.") in said
    one = " ".join(risk_in_short("p", 1, {**row, "npv_mean_se_usd": float("nan")}))
    assert "Sampling error" not in one  # one future measures no spread


def test_the_sampling_error_of_the_mean_npv_is_written_to_two_significant_figures():
    """'$844.0k on the mean NPV' gave a standard error four figures, a precision its sampling does not
    have (the plans table writes it in the mean's scale): the sentence writes two, rounded as usual."""
    from fleetopt.core.results.risk_sentences import sampling_in_short

    row = {"npv_mean_usd": -16.5e6, "default_probability": 0.5}  # 0.5 of 100 futures: 5.0 pp
    for se, said in ((844_000.0, "$840k"), (2_593_470.5, "$2.6M"), (999_600.0, "$1.0M"), (25.6e6, "$26M"),
                     (1.234e9, "$1.2B"), (95.04, "$95")):  # fmt: skip
        assert sampling_in_short(100, {**row, "npv_mean_se_usd": se}) == [
            f"Sampling error, one standard error over 100 futures: {said} on the mean NPV, at most 5.0 pp on "
            "each probability."]  # fmt: skip


def test_in_short_says_the_horizon_its_default_probabilities_are_counted_over():
    """"A liquidity default in 17.7% of the futures" gave no period: a credit analyst set it beside
    a rating's one-year default rate, where it is the default model's over its 28 quarters (set
    beside S&P's seven-year cumulative rates in docs/calibration.md). It now says so."""
    from fleetopt.core.results.risk_sentences import risk_in_short

    row = {"npv_mean_usd": 13.26e9, "npv_cvar5_usd": -18.11e9, "default_probability": 0.177,
           "breach_probability": 0.679}  # fmt: skip
    said = risk_in_short("Plan “milp”", 2000, row, quarters=28)
    assert said[1] == ("Over the horizon's 28 quarters, a liquidity default in 17.7% of the futures, a "
                       "covenant breach in 67.9%.")


def test_in_short_s_sampling_error_bounds_every_share_it_states():
    """"At most ... on each probability" was the largest error of the four default and breach
    probabilities alone, though "In short" states P(NPV < 0) and the policy's shares too: with
    defaults and breaches rare (2 % and 5 %: 0.31 and 0.49 pp over 2,000 futures) and half the
    futures ending below zero, it said 0.5 pp where P(NPV < 0)'s error is sqrt(0.25 / 2,000), 1.1 pp;
    a policy share of 0.5 alone gives the same."""
    from fleetopt.core.results.risk_sentences import risk_in_short

    row = {"npv_mean_usd": 1e9, "npv_mean_se_usd": 0.1e9, "npv_cvar5_usd": -1e9, "loss_probability": 0.5,
           "default_probability": 0.02, "breach_probability": 0.05}  # fmt: skip
    assert "at most 1.1 pp on each probability." in " ".join(risk_in_short("p", 2000, row))
    row = {**row, "loss_probability": 0.02, "sold_share": 0.5}
    said = " ".join(risk_in_short("p", 2000, row))
    assert "sell GPUs in distress in 50.0%" in said and "at most 1.1 pp on each probability." in said


def test_in_short_s_sampling_error_of_probabilities_all_0_or_1_is_the_rule_of_three_not_0_pp():
    """lab's "demand slump" cost plan said "at most 0 pp on each probability": every share it stated was
    0 or 100 %, whose standard error sqrt(p (1 - p) / (S - 1)) is 0, though 100 futures cannot tell 0 %
    from 2 %. Over S = 100 futures, P(NPV < 0) 0 and P(liquidity default) 1: an event seen in none of
    them may have a probability up to 1 - 0.05^(1/100) = 2.95 %, 3.0 pp (about 3/S, the rule of three),
    at 95 % confidence; one share of 1 % among them (an error of sqrt(0.01 x 0.99 / 99) = 1.0 pp) gives
    the standard error as before."""
    from fleetopt.core.results.risk_sentences import sampling_in_short

    row = {"npv_mean_se_usd": 1.2e6, "loss_probability": 0.0, "default_probability": 1.0}
    assert sampling_in_short(100, row) == [
        "Sampling error, one standard error over 100 futures: $1.2M on the mean NPV; each probability, 0 % "
        "or 100 % of them, may be off by up to 3.0 pp (95 % confidence; about 3/100, the rule of three)."]
    assert sampling_in_short(100, {**row, "breach_probability": 0.01}) == [
        "Sampling error, one standard error over 100 futures: $1.2M on the mean NPV, at most 1.0 pp on each "
        "probability."]


def test_a_deterministic_evaluation_of_a_cost_plan_says_its_demand_on_the_forecast(tmp_path, monkeypatch):
    """A lab's plan evaluated on the forecast alone: its demand table read "demand served (mean)" and
    "P(short > 1%)" 0.0% over one scenario, a mean and a probability the report does not claim for it
    (from a lab capacity team's review); it now says the share served on the forecast and whether it
    is short there, as the report does. lab's cost optimum serves all of its forecast demand."""
    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    solved = api.write_solve_run(api.solve("lab", objective="cost"), out=tmp_path / "cost")
    code, out, err = run_cli("evaluate", "--plans", str(solved), "--deterministic",
                             "--out", str(tmp_path / "f"))  # fmt: skip
    assert code == 0, err
    table = out[: out.index("Note:")]
    assert "demand served on the forecast" in table and "short > 1%" in table
    assert "(mean)" not in table and "P(short" not in table
    row = next(line for line in table.splitlines() if "milp" in line)
    assert [cell.strip() for cell in row.split("│")[2:5]] == ["100.0%", "0", "no"], row


def test_a_model_without_contracts_is_not_shown_contract_reactions(tmp_path, monkeypatch):
    """lab has no contracts, yet its evaluation listed "contract late", "contract cancelled" and
    "freed GPUs to market" at 0.0 % in the terminal and its report (a lab capacity team's review):
    reactions that cannot happen are left out; the others stay."""
    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    solved = api.write_solve_run(api.solve("lab", objective="cost"), out=tmp_path / "cost")
    code, out, err = run_cli("evaluate", "--plans", str(solved), "--scenarios", "20",
                             "--out", str(tmp_path / "e"), "--report")  # fmt: skip
    assert code == 0, err
    table = out[out.index("what the policy had to do"):]
    table = table[: table.index("└")]  # its header: words wrap within their column
    assert "deferred" in table and "distress" in table and "contract" not in table and "freed" not in table
    page = (tmp_path / "e" / "report.html").read_text()
    assert "scenarios with: order deferred" in page
    for label in ("contract late", "contract cancelled", "freed GPUs to market"):
        assert f"scenarios with: {label}" not in page and f">{label}<" not in page, label


def test_a_matrix_that_memory_cannot_hold_is_refused_before_any_work(solve_run, tmp_path, monkeypatch):
    """`--keep-matrix` of 200 plans x 20,000,000 scenarios (32 GB, held twice as its chunks are
    joined) on a 23 GB machine started, to be killed for memory hours later (a robustness audit):
    it is refused by name first, and no folder is made. Here a 1 MB machine and 1 plan x 100,000
    scenarios: 800 KB, 1.6 MB held."""
    from fleetopt.evaluate import jobfolder

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(jobfolder, "physical_ram_bytes", lambda: 1_000_000)
    code, _, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "100000", "--keep-matrix",
                             "--out", str(tmp_path / "m"))  # fmt: skip
    said = " ".join(err.split())
    assert code == 2 and "Traceback" not in err, err
    assert ("--keep-matrix: the NPV matrix of 1 plan x 100,000 scenarios is 800 KB (8 bytes "
            "a pair), held twice as its chunks are joined (1.6 MB), more than this machine's memory "
            "(1 MB)") in said
    assert not (tmp_path / "m").exists()
    jobfolder.check_matrix_fits(1, 62_500, ram=1_000_000)  # 1.0 MB held: fits


def test_a_finished_evaluation_resumed_with_another_ranking_is_refused_saying_how_to_rank_it(solve_run, here):
    """`evaluate --resume FINISHED --rank-by mean` said "nothing to resume" and exited 0, the ranking
    silently unused: a ranking other than the one it finished with is refused, naming the evaluation
    again on the same scenarios; the one it finished with (its resume command typed again, as a batch
    job's retry does) still ends "nothing to resume", exit 0."""
    shutil.copytree(solve_run, here / "A")
    code, _, err = evaluate("--plans", "A", "--scenarios", "20", "--seed", "3", "--rank-by", "cvar5",
                            "--top", "3", "--out", "B")  # fmt: skip
    assert code == 0, err
    for changed in (["--rank-by", "mean"], ["--top", "5"], ["--max-breach-prob", "0.2"]):
        code, out, err = evaluate("--resume", "B", *changed)
        said = " ".join(err.split())
        assert code == 2 and out == "", out + err
        assert f"{' '.join(changed)} cannot apply with --resume of B, an evaluation that finished" in said
        assert (f"evaluate them again into a new folder, on the same scenarios (the same figures): fleetopt "
                f"evaluate B/model.yaml --plans {here / 'A' / 'plan.npz'} --scenarios 20 --seed 3 "
                f"{' '.join(changed)}") in said, said
    for same in ([], ["--rank-by", "cvar5"], ["--rank-by", "cvar5", "--top", "3"]):
        code, out, err = evaluate("--resume", "B", *same)
        assert code == 0 and "nothing to resume" in " ".join(out.split()), out + err
    # one plan: `fleetopt runs show N` prints its figures
    assert "its metrics.csv keeps every plan's figures (fleetopt runs show 1 prints them)" in said


def test_a_finished_evaluation_of_several_plans_refusing_another_ranking_names_the_report(here):
    """`runs show` prints the figures of one plan (the one its report shows first): of an evaluation
    of four plans the refusal said 'fleetopt runs show 1 prints them' of every plan's figures. It
    names the report, which has every plan's."""
    _multi_plan_file(here / "plans.npz")
    code, _, err = evaluate("tiny", "--plans", "plans.npz", "--scenarios", "20", "--out", "my runs/B")
    assert code == 0, err
    code, out, err = evaluate("--resume", "my runs/B", "--rank-by", "mean")
    said = " ".join(err.split())
    assert code == 2 and out == "", out + err
    assert "keeps every plan's figures (fleetopt report 'my runs/B' shows them)" in said, said
    assert "runs show" not in said


def test_a_sweeps_plans_under_other_futures_are_said_to_be_a_stress_test():
    """A sweep's candidates are made from its risk block (the stresses are sized from it), so
    `evaluate --plans SWEEP --set risk...` warns that they were made from another version: read as an
    error by a user running the stress test on purpose, it now says that is what it is; a change of a
    block the plans depend on says nothing of the kind."""
    from fleetopt import api
    from fleetopt.evaluate.sources import version_note

    loaded, _ = api.load("tiny")
    riskier = api.edit(loaded, {"risk.mean_one": False})
    note = version_note("h", loaded, "sweep", [], riskier)
    assert "risk.mean_one was true, now false" in note
    assert note.endswith("they were made from its risk block (the sweep's stresses) and are evaluated as "
                         "made, under this one's futures: a stress test of them, as intended where risk was "
                         "changed on purpose")  # fmt: skip
    other = api.edit(loaded, {"finance.min_cash_usd": 1.0})
    assert "stress test" not in version_note("h", loaded, "sweep", [], other)


def test_the_evaluation_table_gives_both_kinds_of_default():
    """A finance reader took the table's 'P(default)' (cash run out) for the lenders' count of defaults,
    which the credit market prices: the table now names it P(liq. default) and gives P(any
    default), a liquidity default or an uncured covenant breach, beside it."""
    from fleetopt.cli.render.evaluate import evaluation_table

    row = {"plan": "p", "npv_mean_usd": 1e9, "npv_mean_se_usd": 1e8, "npv_mean_no_default_usd": 2e9,
           "npv_p5_usd": -1e9, "npv_cvar5_usd": -2e9, "loss_probability": 0.4, "breach_probability": 0.7,
           "default_probability": 0.3, "any_default_probability": 0.627, "expected_min_cash_usd": 1e8,
           "mean_utilisation": 0.8}  # fmt: skip
    table = evaluation_table(pd.DataFrame([row, {**row, "plan": "q"}]), "t")
    headers = [str(c.header) for c in table.columns]
    assert headers[8:10] == ["P(liq. default)", "P(any default)"]
    assert list(table.columns[9].cells) == ["62.7%", "62.7%"]
    said = "P(any default): a liquidity default or a covenant breach the owners could not cure"
    assert said in table.caption


def test_the_mean_npv_without_a_default_is_named_for_the_liquidity_default_alone():
    """The terminal headed the mean NPV of the futures with no liquidity default "mean NPV, no
    default", where the report says "no liq. default": a reader of P(any default) 62.7 % took it for
    the futures with no default of either kind. Both name the liquidity default."""
    from fleetopt.cli.render.evaluate import evaluation_table
    from fleetopt.report.candidates import CANDIDATE_HEADERS

    row = {"plan": "p", "npv_mean_usd": 1e9, "npv_mean_se_usd": 1e8, "npv_mean_no_default_usd": 2e9,
           "npv_p5_usd": -1e9, "npv_cvar5_usd": -2e9, "loss_probability": 0.4, "breach_probability": 0.7,
           "default_probability": 0.3, "any_default_probability": 0.627, "expected_min_cash_usd": 1e8,
           "mean_utilisation": 0.8}  # fmt: skip
    table = evaluation_table(pd.DataFrame([row]), "t")
    heading = str(table.columns[3].header)
    assert heading == CANDIDATE_HEADERS["npv_mean_no_default_usd"] == "mean NPV, no liq. default"
    assert list(table.columns[3].cells) == ["$2.00B"]
    assert f"{heading}: over the scenarios with no liquidity default" in table.caption


def test_the_lenders_table_names_a_liquidity_default_as_the_evaluation_table_does():
    """The lenders' table under the evaluation table headed the liquidity default 'P(default)' (29.9 %
    on the default model) where the table above says 'P(liq. default)' and P(any default) is 62.7 %:
    a treasurer presenting default risk read 29.9 % as the lenders' count. Named alike now."""
    from fleetopt.cli.render.evaluate import debt_at_default_table

    row = {"plan": "p", "default_probability": 0.299, "debt_at_default_mean_usd": 19.19e9,
           "debt_covered_at_default": 0.266, "uncovered_debt_mean_usd": 4.21e9}  # fmt: skip
    table = debt_at_default_table(pd.DataFrame([row]), "t")
    assert [str(c.header) for c in table.columns][:2] == ["plan", "P(liq. default)"]
    assert list(table.columns[1].cells) == ["29.9%"]


def test_the_lenders_table_heads_the_collaterals_cover_as_what_it_is_not_a_recovery_rate():
    """The lenders' table headed the share of a defaulted company's debt that the GPUs left after the
    distress sales and the cash would repay "covered by GPUs and cash (recovery)": a credit analyst
    read it as a recovery rate (an agency's, on the defaulted debt's market value or its ultimate
    recovery). Debt $2B, 50 % covered: the header says what covers it, nothing of recovery."""
    from fleetopt.cli.render.evaluate import debt_at_default_table

    row = {"plan": "p", "default_probability": 0.25, "debt_at_default_mean_usd": 2e9,
           "debt_covered_at_default": 0.5, "uncovered_debt_mean_usd": 2.5e8}  # fmt: skip
    table = debt_at_default_table(pd.DataFrame([row]), "t")
    cells = {str(column.header): list(column.cells) for column in table.columns}
    assert cells["covered by the GPUs' and cash's value"] == ["50.0%"]
    assert not [header for header in cells if "recovery" in header], cells


def test_the_lenders_table_at_an_uncured_breach_names_it_as_every_other_table_does():
    """The lenders' table at an uncured breach headed its probability 'P(uncured)', a third name beside
    'P(uncured covenant breach)' and 'P(uncured breach)' elsewhere: it now says the short one."""
    from fleetopt.cli.render.evaluate import debt_at_default_table

    row = {"plan": "p", "uncured_breach_probability": 0.4, "debt_at_uncured_breach_mean_usd": 2e9,
           "debt_covered_at_uncured_breach": 0.5,
           "uncovered_debt_at_uncured_breach_mean_usd": 4e8}  # fmt: skip
    table = debt_at_default_table(pd.DataFrame([row]), "t", uncured=True)
    assert [str(c.header) for c in table.columns][:2] == ["plan", "P(uncured breach)"]
    assert list(table.columns[1].cells) == ["40.0%"]


def test_the_npv_s_tail_and_the_defaults_have_one_name_in_every_table():
    """The evaluation and sweep tables said "CVaR5 NPV" and "P5 NPV" where compare and the report's
    key figures said "NPV CVaR5" and "NPV P5", and compare's rows "P(any default: a liquidity default
    or ...)": a finance reader took them for different figures. Each reads the same now, what it
    means beside the name, not inside it."""
    from fleetopt.cli.render.evaluate import evaluation_table
    from fleetopt.cli.render.sweep import sweep_table
    from fleetopt.compare.figures import FIGURES
    from fleetopt.report.key_figures import _tail_kpis

    row = {"plan": "p", "recommended": True, "on_front": True, "forecast_npv_usd": 2e9, "npv_mean_usd": 1e9,
           "npv_mean_se_usd": 1e7, "npv_mean_no_default_usd": 1e9, "npv_p5_usd": -1e9, "npv_cvar5_usd": -2e9,
           "loss_probability": 0.3, "breach_probability": 0.5, "default_probability": 0.1,
           "any_default_probability": 0.4, "expected_min_cash_usd": 1e8, "mean_utilisation": 0.8}  # fmt: skip
    frame = pd.DataFrame([row])
    evaluated = [str(c.header) for c in evaluation_table(frame, "t").columns]
    swept = [str(c.header) for c in sweep_table(frame, "t").columns]
    compared = {key: label for key, label, _ in FIGURES}
    tiles = [kpi.label for kpi in _tail_kpis(pd.Series(row))]
    assert {"mean NPV", "P5 NPV", "CVaR5 NPV"} <= set(evaluated) and {"mean NPV", "CVaR5 NPV"} <= set(swept)
    assert [compared[k] for k in ("npv_mean_usd", "npv_p5_usd", "npv_cvar5_usd")] == [
        "mean NPV", "P5 NPV", "CVaR5 NPV"]  # fmt: skip
    assert tiles[:2] == ["CVaR5 NPV: the mean of the worst 5 %", "P5 NPV"]
    assert compared["uncured_breach_probability"] == "P(uncured covenant breach): an event of default"
    assert compared["any_default_probability"].startswith("P(any default): a liquidity default")


def test_the_sweep_table_names_a_liquidity_default_as_the_evaluation_table_does():
    """The sweep's candidates table headed the liquidity default 'P(default)' beside 'P(any
    default)', where `fleetopt evaluate` of the same plan says 'P(liq. default)': a reader of both
    took 31.3 % and 62.3 % for one figure that had moved. Both tables now name it alike."""
    from fleetopt.cli.render.sweep import sweep_table

    row = {"plan": "p", "recommended": True, "on_front": True, "forecast_npv_usd": 2e9, "npv_mean_usd": 1e9,
           "npv_cvar5_usd": -2e9, "breach_probability": 0.725, "default_probability": 0.313,
           "any_default_probability": 0.623, "note": ""}  # fmt: skip
    table = sweep_table(pd.DataFrame([row]), "t")
    headers = [str(c.header) for c in table.columns]
    assert headers[-2:] == ["P(liq. default)", "P(any default)"]
    assert [list(c.cells) for c in table.columns[-2:]] == [["31.3%"], ["62.3%"]]
    assert "P(liq. default): a liquidity default" in table.caption

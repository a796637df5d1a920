"""What the terminal says around a command's results: warnings of a model changed with --set, and
tables that stay readable on an 80-column terminal."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_PATH, run_cli

import fleetopt
from fleetopt import api
from fleetopt.cli.render.solve import purchases_table
from fleetopt.cli.render.tables import plain_text
from fleetopt.core.plan import Plan


def test_warnings_of_an_edited_model_name_the_set_options_once():
    """Each of three warnings began 'models/tiny.yaml, edited (horizon.quarters, market.demand_gpus.
    training.annual_growth, market.demand_gpus.inference.annual_growth): '; then once, where errors
    named the --set options as given: warnings name them so too."""
    growth = ("market.demand_gpus.training.annual_growth=3", "market.demand_gpus.inference.annual_growth=4")
    changes = ("--set", "horizon.quarters=4", "--set", growth[0], "--set", growth[1])
    code, _, err = run_cli("validate", "tiny", *changes)
    assert code == 0, err
    lines = err.splitlines()
    assert "edited (" not in err and lines[0] == (
        f"warning: --set 'horizon.quarters=4' --set '{growth[0]}' --set '{growth[1]}':")
    assert [line.split(":")[0] for line in lines[1:4]] == [
        "  contracts.enterprise-inference.term_quarters",
        "  market.demand_gpus.training.annual_growth",
        "  market.demand_gpus.inference.annual_growth",
    ]
    # one warning: on its line, as before
    code, _, err = run_cli("validate", "tiny", "--set", "horizon.quarters=4")
    assert code == 0 and len(err.splitlines()) == 1
    warned = "contracts.enterprise-inference.term_quarters"
    assert err.startswith(f"warning: --set 'horizon.quarters=4': {warned}: ")


def test_errors_of_an_edited_model_name_the_set_options_once():
    """Each of three problems began '/…/models/tiny.yaml, edited (horizon.quarters, finance.opening_
    cash_usd, horizon.discount_rate_annual): ', the model the options made: they are named by the
    --set options behind them, once (a field set twice by its last), each problem on a line below."""
    changes = ("horizon.quarters=-1", "finance.opening_cash_usd=-5", "horizon.discount_rate_annual=0.1",
               "horizon.discount_rate_annual=7")  # fmt: skip
    code, _, err = run_cli("validate", "tiny", *(arg for c in changes for arg in ("--set", c)))
    lines = err.splitlines()
    assert code == 2 and lines[0] == (
        "error: --set 'horizon.quarters=-1' --set 'finance.opening_cash_usd=-5' --set "
        "'horizon.discount_rate_annual=7':")
    assert sorted(line.split(":")[0] for line in lines[1:]) == [
        "  finance.opening_cash_usd", "  horizon.discount_rate_annual", "  horizon.quarters"]
    code, _, err = run_cli("validate", "tiny", "--set", changes[0])
    said = "horizon.quarters: Input should be greater than 0 (got -1)"
    assert code == 2 and err == f"error: --set 'horizon.quarters=-1': {said}\n"


def test_eleven_years_of_purchases_keep_the_generations_names_on_80_columns():
    """A 40-quarter model's table read 'generati…', 'hop…' and '6,1…' on an 80-column terminal: it
    is turned, a row per year."""
    _, data = api.load(api.edit("tiny", {"horizon.quarters": 40}))  # 2026Q3..2036Q2
    plan = Plan.empty(data)
    plan.buy_blocks[0, 0, 0] = 10  # 80 H100 in 2026
    plan.buy_blocks[1, 0, data.T - 1] = 3  # 24 B200 in 2036
    text = plain_text([purchases_table(data, plan.buy_blocks)], width=80)
    assert "…" not in text
    rows = {line.split("│")[1].strip(): line.split("│")[2:-1] for line in text.splitlines() if "│" in line}
    assert [cell.strip() for cell in rows["2026 (Q3-Q4)"]] == ["80", "0", "$4.0M"]  # and their capex
    assert [cell.strip() for cell in rows["2036 (Q1-Q2)"][:2]] == ["0", "24"]
    assert "hopper" in text and "blackwell" in text
    wide = plain_text([purchases_table(data, plan.buy_blocks)], width=200)  # where the years fit: as before
    assert "generation" in wide and "…" not in wide


def test_the_purchases_table_gives_each_year_s_gpu_capex():
    """A planner deciding next year's orders read how many GPUs a plan buys each year, not what they
    cost: the table now ends with each year's GPU capex (USD, undiscounted), the statements'
    capex_gpu_usd summed over the year. On tiny, 80 H100 in 2026Q3 and 16 in 2026Q4 at $50,000 each
    are $4.8M in 2026; 24 B200 in 2027Q1 at $60,000 less 10 % a year for two quarters ($56,921 each:
    60,000 x 0.9^0.5) are $1.37M; 2028 buys nothing."""
    _, data = api.load("tiny")
    plan = Plan.empty(data)
    plan.buy_blocks[0, 0, 0] = 10  # 80 H100 in 2026Q3
    plan.buy_blocks[0, 0, 1] = 2  # 16 H100 in 2026Q4
    plan.buy_blocks[1, 0, 2] = 3  # 24 B200 in 2027Q1
    text = plain_text([purchases_table(data, plan.buy_blocks)], width=200)
    (capex,) = [line for line in text.splitlines() if "GPU capex" in line]
    assert [cell.strip() for cell in capex.split("│")[2:-1]] == ["$4.8M", "$1.4M", "$0"]


def test_a_turned_table_s_notes_take_the_terminal_s_width():
    """At 80 columns the evaluation's table is turned (a row per figure), and its caption, the notes
    on utilisation, was folded to the turned table's narrow width, a word or two to a line (a new
    user's walkthrough): the notes now follow the table at the terminal's width."""
    import pandas as pd

    from fleetopt.cli.render.evaluate import UTIL_MEANS, evaluation_table

    row = {"plan": "milp", "npv_mean_usd": 13.52e9, "npv_mean_se_usd": 0.633e9,
           "npv_mean_no_default_usd": 24.1e9, "npv_p5_usd": -16.4e9, "npv_cvar5_usd": -19.99e9,
           "loss_probability": 0.40,
           "breach_probability": 0.715, "default_probability": 0.299, "expected_min_cash_usd": -3.67e9,
           "mean_utilisation": 0.822}  # fmt: skip
    text = plain_text([evaluation_table(pd.DataFrame([row]), "risk")], width=80)
    assert "P(breach)" in text and "71.5%" in text  # turned: each figure on a line of its own
    lines = [line.rstrip() for line in text.splitlines()]
    first_words = " ".join(UTIL_MEANS.split()[:6])
    assert any(line.startswith(first_words) for line in lines), text


def test_a_comparison_s_figure_names_take_the_room_the_terminal_has():
    """A comparison's figure names folded at 18 characters whatever the terminal's width: two plans
    on a 160-column terminal ran to 221 lines, a long name over six. The name column now takes what
    the figure columns leave, up to its longest name, and still folds at 18 where nothing is left."""
    from fleetopt.cli.render.compare import ColumnGroups

    name = "NPV with cash held to the end, on the forecast (MILP statements)"  # 64 characters
    groups = ColumnGroups("plans", "", "figure", ["A", "B"], [(name, ["$14.91B", "$14.91B"], "higher")],
                          "better")  # fmt: skip
    wide = plain_text([groups], width=160)
    assert any(name in line for line in wide.splitlines()), wide  # on one line
    narrow = plain_text([groups], width=60)
    assert not any(name in line for line in narrow.splitlines()) and "NPV with cash held" in narrow


def test_a_comparison_of_three_plans_reads_at_100_columns():
    """Three plans and two differences at 100 columns: the tables took four figure columns and one,
    and the first folded each figure name at 31 characters, over 3 to 7 lines ("P(any default: a
    liquidity" / "default or an uncured covenant" / "breach)"). The columns are now shared out
    three and two, and the names take 44 characters a line: that one reads in two."""
    from fleetopt.cli.render.compare import ColumnGroups

    name = "P(any default): a liquidity default or an uncured covenant breach"
    labels = ["sw-tiny: milp: forecast", "sw-tiny: milp: price shock", "solve: milp",
              "sw-tiny: milp: price shock − sw-tiny: milp: forecast", "solve: milp − sw-tiny: milp: forecast"]
    groups = ColumnGroups("3 plans", "", "figure", labels,
                          [(name, ["73.2%", "63.1%", "73.2%", "-10.1 pp", "0.0 pp"], "lower")], "better")
    assert groups.groups(100) == [[0, 1, 2], [3, 4]]
    text = plain_text([groups], width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    first_lines = [line for line in text.splitlines() if "P(any default): a liquidity default or an" in line]
    assert len(first_lines) == 2, text  # one a table
    assert "73.2%" in text and "-10.1 pp" in text


def test_a_wrote_line_piped_is_one_line_whatever_its_length(here):
    """Output piped or redirected is 120 columns wide: the "wrote FOLDER (files...): run N" line
    wrapped there, "run N" alone on the next line, and a script grepping it missed it; a sweep's
    list of files split mid-list. Such a line is written whole, however long."""
    folder = here / ("a-run-folder-with-a-name-long-enough-to-pass-the-width-of-the-output-" * 2)
    code, out, err = run_cli("solve", "tiny", "--out", str(folder), "--report")
    assert code == 0, err
    wrote = [line for line in out.splitlines() if line.startswith("wrote ")]
    assert wrote == [
        f"wrote {folder} (model.yaml, plan.csv, plan.npz, statements.csv, summary.json): run 1",
        f"wrote {folder / 'report.html'}",
    ], out
    assert len(wrote[0]) > 120


def test_the_runs_list_keeps_each_folder_and_time_whole_on_80_columns(here, monkeypatch):
    """At 80 columns `fleetopt runs` cut the time ("2026-12-05T13…") and folded folders mid-name
    ("/tmp/h-walk-us│er/runs/..."; at 120 columns "base-r│isk"): neither could be copied. The time is
    written to the minute, a folder inside the current one relative to it, and each folder whole:
    in the table where it fits, else a block per run."""
    inside = here / "runs" / "base-risk-of-a-folder-name-long-enough-to-be-folded"
    assert run_cli("solve", "tiny", "--out", str(inside))[0] == 0
    outside = here.parent / f"{here.name}-elsewhere" / "base-risk"  # not under the current folder
    assert run_cli("solve", "tiny", "--out", str(outside))[0] == 0
    folders = [str(outside), "runs/base-risk-of-a-folder-name-long-enough-to-be-folded"]
    for columns in (80, 250):  # a terminal's width, which the console reads as it starts
        env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(Path(fleetopt.__file__).parents[1])}
        command = [sys.executable, "-m", "fleetopt", "runs"]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        out, lines = done.stdout, done.stdout.splitlines()
        assert "…" not in out and len(re.findall(r"\b\d{4}-\d\d-\d\d \d\d:\d\d\b", out)) == 2, out
        for folder in folders:  # on a line of its own, or in its cell, whole
            assert any(re.search(rf"(^|│) *{re.escape(folder)} *(│|$)", line) for line in lines), out
        assert all(len(line) <= columns for line in lines if not line.strip().startswith("/")), out
    assert "┃ id" in out  # 250 columns: the table


def test_runs_show_writes_a_flag_as_yes_or_no(here):
    """`fleetopt runs show` printed Python's False and True (policy_reacts, policy_within_limits)."""
    assert run_cli("solve", "tiny", "--out", "S")[0] == 0
    code, out, err = run_cli("runs", "show", "1")
    assert code == 0, err
    rows = dict(re.findall(r"^│ (policy_\w+) +│ (\S+) +│", out, re.M))
    assert (rows["policy_reacts"], rows["policy_within_limits"]) == ("no", "yes"), out
    assert not re.search(r"\b(True|False)\b", out), out


def test_a_run_of_an_edited_model_is_marked_in_the_runs_list(here):
    """A solve with --set read just "tiny" in `fleetopt runs`, like the model's own solve."""
    assert run_cli("solve", "tiny", "--out", "A")[0] == 0
    assert run_cli("solve", "tiny", "--set", "horizon.discount_rate_annual=0.10", "--out", "B")[0] == 0
    code, out, err = run_cli("runs")
    assert code == 0, err
    models = dict(re.findall(r"^│ (\d) .*?│ .*?│ .*?│ (\S[^│]*?) +│", out, re.M))
    assert models == {"2": "tiny (edited: horizon.discount_rate_annual)", "1": "tiny"}, out


def test_an_evaluation_of_an_edited_solve_says_its_model_was_edited(here):
    """An evaluation of a --set solve's plans reads the solve's model.yaml (the model as changed) and
    changes nothing itself: it was listed as plain "tiny", and `runs show` named the copy alone."""
    assert run_cli("solve", "tiny", "--set", "horizon.discount_rate_annual=0.12", "--out", "S")[0] == 0
    code, out, err = run_cli("evaluate", "--plans", "S", "--scenarios", "4", "--out", "E")
    assert code == 0, err
    copied = "as changed for the run it was copied from: horizon.discount_rate_annual = 0.12"
    assert f"model: tiny, {copied}" in out, out
    summary = json.loads((here / "E" / "summary.json").read_text())
    assert summary["model_changes"] == [], summary  # nothing changed for the evaluation itself
    assert summary["model_source"] == str((here / "S" / "model.yaml").resolve())  # the restore hint's file
    assert summary["model_source_changes"] == [{"path": "horizon.discount_rate_annual", "value": 0.12}]
    shown = {record.id: record.model_shown() for record in api.runs()}  # `fleetopt runs`' model column
    assert shown == {1: "tiny (edited: horizon.discount_rate_annual)",
                     2: "tiny (edited: horizon.discount_rate_annual, as the run it was copied from)"}, shown
    code, out, err = run_cli("runs", "show", "2")
    assert code == 0, err
    assert copied.replace(" ", "") in shown_row(out, "model"), out


def test_a_solve_and_a_sweep_of_an_edited_solves_model_say_it_was_edited(here):
    """A solve or sweep whose model file is a --set solve's model.yaml (the model as that solve changed
    it) was listed as plain "tiny", as the unedited model's runs are: each records the changes its
    copy carries, as an evaluation does, its own --set after them; a notebook's load carries them too."""
    assert run_cli("solve", "tiny", "--set", "horizon.discount_rate_annual=0.12", "--out", "S")[0] == 0
    copy = str(here / "S" / "model.yaml")
    for out, more in (("S2", ()), ("S3", ("--set", "horizon.quarters=6"))):
        code, said, err = run_cli("solve", copy, *more, "--out", out)
        assert code == 0, err
        assert "horizon.discount_rate_annual = 0.12" in said.splitlines()[0], said
    code, _, err = run_cli("sweep", copy, "--candidates", "1", "--scenarios", "4", "--out", "W")
    assert code == 0, err
    before = [{"path": "horizon.discount_rate_annual", "value": 0.12}]
    for out in ("S2", "S3", "W"):
        summary = json.loads((here / out / "summary.json").read_text())
        assert summary["model_source_changes"] == before, (out, summary)
    copied = "tiny (edited: horizon.discount_rate_annual, as the run it was copied from"
    shown = {record.id: record.model_shown() for record in api.runs()}  # `fleetopt runs`' model column
    assert shown == {1: "tiny (edited: horizon.discount_rate_annual)", 2: f"{copied})",
                     3: f"{copied}; horizon.quarters, for this run)", 4: f"{copied})"}, shown
    assert api.load(copy)[0].source_changes == (("horizon.discount_rate_annual", 0.12),)
    # a notebook's cell: "Model: tiny, as changed for the run it was copied from: ..."
    assert "Model: tiny, as changed for the run it was copied from: " in api.solve(copy)._repr_markdown_()


def test_a_comparison_csv_writes_a_label_that_reads_as_a_formula_as_text(here):
    """`compare --format csv` wrote labels and folders as given: a plan labelled "=cmd|x" or
    "@SUM(1)" ran as a formula when a finance team opened the file in Excel. A text cell beginning
    with = + - @, a tab or a carriage return gets a ' first (OWASP); numbers stay numbers."""
    assert run_cli("solve", "tiny", "--out", "-A")[0] == 0
    labels = ("=cmd|' /C calc'!A0", "@SUM(1)")
    code, out, err = run_cli("compare", "./-A", "./-A", "--label", labels[0], "--label", labels[1],
                             "--scenarios", "5", "--format", "csv")  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    runs = lines[lines.index("# plan_runs") + 1:][:3]
    assert runs == ["plan,run", "'=cmd|' /C calc'!A0,'-A", "'@SUM(1),'-A"], out  # the folder "-A" too
    header = next(line for line in lines if line.startswith("figure,"))
    assert header.startswith("figure,unit,better,'=cmd|' /C calc'!A0,'@SUM(1),'@SUM(1) − "), header
    npv = next(line for line in lines if line.startswith("npv_forecast_usd,"))
    assert re.match(r"npv_forecast_usd,USD,higher,-1\d{7}\.\d+,-1\d{7}\.\d+,", npv), npv  # numbers
    assert not [line for line in lines if re.match(r"^[=+@]|.*,[=+@]", line)], out


def test_a_mapping_without_a_space_after_its_colon_is_told_so(here):
    """--set 'risk.delivery_slip={probability:0.5,max_quarters:2}' said 'risk.delivery_slip."probability:
    0.5": no such field to remove (risk.delivery_slip has no fields)': YAML reads 'probability:0.5' as
    one key with no value, which the edit took for a field to remove."""
    slip = "risk.delivery_slip={probability:0.5,max_quarters:2}"
    code, out, err = run_cli("validate", "tiny", "--set", slip)
    assert code == 2 and out == ""
    assert err.strip() == (f"error: --set '{slip}': 'probability:0.5' reads as one name with no value: in "
                           "YAML a colon takes a space after it (probability: 0.5)")  # fmt: skip
    nested = "risk={delivery_slip: {probability: 1, max_quarters:2}}"
    code, _, err = run_cli("validate", "tiny", "--set", nested)
    assert code == 2 and "'max_quarters:2' reads as one name with no value" in err
    code, _, err = run_cli("validate", "tiny", "--set", slip.replace(":", ": "))
    assert code == 0, err


def shown_row(out: str, key: str) -> str:
    """The second cell of `runs show`'s row ``key``, its wrapped lines joined, without spaces (a line
    may break within a word or before a comma)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"│ {key} +│", line))
    wrapped = itertools.takewhile(lambda line: re.match(r"│ +│", line), lines[start + 1 :])
    cells = [lines[start], *wrapped]
    return "".join(line.split("│")[2].replace(" ", "") for line in cells)


def test_a_run_of_an_edited_model_names_the_file_and_the_changes_wherever_it_is_shown(here):
    """A solve with --set showed "model_source /…/tiny.yaml" in `runs show`, the file as is, and
    "model 'tiny'" in a notebook's list of runs: each says what the run changed in the file."""
    (here / "tiny.yaml").write_text(TINY_PATH.read_text())
    assert run_cli("solve", "tiny.yaml", "--set", "horizon.discount_rate_annual=0.1", "--out", "B")[0] == 0
    code, out, err = run_cli("runs", "show", "1")
    assert code == 0, err
    edited = api.run(1).model_hash  # the model as changed
    read = here.resolve() / "tiny.yaml"
    said = f"tiny (hash {edited}) read from {read}, changed for this run: horizon.discount_rate_annual = 0.1"
    assert shown_row(out, "model") == said.replace(" ", ""), out
    assert not re.search(r"^│ model_source", out, re.M), out  # said once, in the model's row
    listed = f"model 'tiny' (edited: horizon.discount_rate_annual), '{here.resolve() / 'B'}'"
    assert listed in repr(api.run(1))
    # an evaluation's record kept no model_source: its `runs show` named no file
    code, _, err = run_cli("evaluate", "tiny.yaml", "--plans", "B", "--set",
                           "risk.price_volatility_annual=0.4", "--scenarios", "10", "--out", "E")  # fmt: skip
    assert code == 0, err
    code, out, err = run_cli("runs", "show", "2")
    assert code == 0, err
    said = (f"tiny (hash {api.run(2).model_hash}) read from {read}, changed for this run: "
            "risk.price_volatility_annual = 0.4")
    assert shown_row(out, "model") == said.replace(" ", ""), out


def test_runs_show_names_an_older_runs_model_as_it_kept_it(here):
    """A run written before model_source was kept in full kept it as typed, its edits named after it
    ('tiny.yaml, edited (…)', relative to a folder the reader may not know): shown as kept."""
    assert run_cli("solve", "tiny", "--set", "horizon.discount_rate_annual=0.1", "--out", "B")[0] == 0
    summary = json.loads((here / "B" / "summary.json").read_text())
    summary["model_source"] = "tiny.yaml, edited (horizon.discount_rate_annual)"
    del summary["model_changes"]  # older still: not kept
    (here / "B" / "summary.json").write_text(json.dumps(summary))
    assert run_cli("runs", "forget", "1")[0] == 0
    assert run_cli("runs", "add", "B")[0] == 0
    code, out, err = run_cli("runs", "show", "2")
    assert code == 0, err
    kept = f"tiny (hash {summary['model_hash']}) read from tiny.yaml, edited (horizon.discount_rate_annual)"
    assert shown_row(out, "model") == kept.replace(" ", ""), out


def test_runs_show_of_a_sweep_says_what_its_figures_are_and_its_breach_limit_in_percent(tmp_path):
    """`runs show` of a sweep gave its rule's P(breach) limit as a bare 0.92 beside breach_probability
    92.0%, and npv_usd beside npv_mean_usd without saying whose or over what: the limit reads 92.0%,
    and the caption says npv_usd is the recommended plan's NPV on the forecast."""
    from fleetopt.cli.render.runs import run_detail
    from fleetopt.runs.registry import RunRecord

    figures = {"rule_breach_limit": 0.92, "npv_usd": -16.2e6, "npv_mean_usd": -21.6e6,
               "breach_probability": 0.92}  # fmt: skip
    record = RunRecord(7, "2026-12-06T13:48:27+00:00", "sweep", "fleetopt sweep tiny", "tiny", "0" * 16,
                       tmp_path, figures)  # fmt: skip
    shown = " ".join(plain_text([run_detail(record)], width=400).split())
    assert "│ rule_breach_limit │ 92.0% │" in shown, shown
    assert "npv_usd and those after it the recommended plan's, npv_usd on the forecast" in shown, shown


def test_a_time_limit_refused_says_its_unit(here):
    """`--time-limit 0` said 'must be at least 0.001 (got 0.0)': 0.001 of what (a planner typing
    minutes reads it as minutes). The refusal says the limit is in seconds."""
    code, out, err = run_cli("solve", "tiny", "--time-limit", "0")
    assert code == 2 and out == "", out
    assert "must be at least 0.001 (got 0.0): a time limit is in seconds" in err, err
    assert not (here / "runs").exists()  # nothing written


def test_every_time_the_terminal_shows_is_written_with_its_unit_by_one_formatter():
    """A solve's build and solve time read "0.10 s / 75.00 s" (two decimals, a minute and more in
    seconds) and a stochastic solve's steps "75.2 s (forecast 1.2, RP 50.0)", each step without its
    unit: all are written by units.format_duration now, in seconds to three significant digits
    under a minute, trailing zeros dropped, and as a clock from one (75.2 s: 0:01:15)."""
    import dataclasses

    from evaluate_builders import solved

    from fleetopt.cli.render.solve import solve_summary_tables
    from fleetopt.cli.render.stochastic import _stochastic_times

    result = dataclasses.replace(solved("tiny"), build_seconds=0.1, solve_seconds=75.2)
    said = " ".join(plain_text(solve_summary_tables(result)[:1], width=200).split())
    assert "build / solve time │ 0.1 s / 0:01:15 │" in said, said
    timings = {"total_seconds": 75.2, "forecast_seconds": 1.234, "solve_seconds": 50.0}
    assert _stochastic_times(timings) == "0:01:15 (forecast 1.23 s, RP 50 s)"


@pytest.mark.parametrize(("gap", "status", "gap_row"), [
    (0.0017, "optimal within 0.17% (relative gap)", None),  # the status says it
    (0.00004, "optimal", "0.00%"),  # a gap that does not show: the status says 'optimal'
    (None, "optimal", "n/a"),
])
def test_a_solve_says_its_gap_once(gap, status, gap_row):
    """The default model's solve printed 'optimal within 0.17% (relative gap)' and, on the next row,
    'gap 0.17%': the gap row is left out where the status says the gap."""
    import dataclasses

    from evaluate_builders import solved

    from fleetopt.cli.render.solve import solve_summary_tables

    result = dataclasses.replace(solved("tiny"), gap=gap)
    rows = [line.strip("│ ").split(" │ ") for line in plain_text(solve_summary_tables(result)[:1], width=200)
            .splitlines() if "│" in line]  # fmt: skip
    said = {row[0].strip(): row[1].strip() for row in rows if len(row) == 2}
    assert said["status"] == status and said.get("gap") == gap_row, said

"""`fleetopt compare SWEEP` shows the plan of highest mean NPV within the sweep's rule beside the
forecast optimum and the pick, where the sweep names one (the default sweep's "milp: demand slump"
beats the forecast optimum on every figure, and compare showed only the optimum and the pick)."""

from __future__ import annotations

import io
import json
import re
import shutil
from html import escape, unescape

import pandas as pd
import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.core.units import format_usd
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.metrics import (
    ANY_DEFAULT_EVENTS,
    NPV_PAIRED_ERROR,
    either_happened,
    paired_error,
    paired_npv_error,
)
from fleetopt.evaluate.sources import read_plans
from fleetopt.report.page import build_report
from fleetopt.report.svg import RECOMMENDED, ROLE_COLOURS
from fleetopt.runs.summary_schema import BEST_MEAN_KEY

OPTIMUM, PICK = "milp: forecast", "milp: price shock, cash buffer $60.0M"
BEST = "milp: forecast, cash buffer $30.0M"


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    """tiny's sweep of 5 candidates on 30 scenarios of seed 0: it picks PICK and names BEST, whose
    mean NPV and CVaR5 are $79.7k and $222.6k above the forecast optimum's (tests/test_sweep_best_mean.py)."""
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
    +$79.7k with $24.8k, +$222.6k with $114.6k; +$88.1k with $26.5k, +$235.5k with $101.7k before
    policy rule 3 projected the later quarters' borrowing base)."""
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
    assert against["npv_mean_usd"] == pytest.approx(79.7e3, abs=0.05e3)
    assert against["npv_cvar5_usd"] == pytest.approx(222.6e3, abs=0.05e3)


def test_the_terminal_markdown_csv_html_and_the_api_show_the_third_plan(named, tmp_path):
    """Every output of the comparison: the terminal's table has BEST's column and its difference to
    the optimum, the Markdown an 'In short' for each later plan and then for BEST against the pick,
    the CSV and the page its label, and fo.compare of the folder the three plans."""
    code, out, err = run_cli("compare", str(named))
    assert code == 0, err
    text = " ".join(out.split())
    assert "3 plans on 30 common scenarios (seed 0)" in text
    assert roles(named, OPTIMUM, PICK, BEST) in text  # which plan is which: the labels do not say it
    assert f"In short: “{BEST}” against “{OPTIMUM}”" in text
    code, out, err = run_cli("compare", str(named), "--format", "markdown")
    assert code == 0, err
    short = [line for line in out.splitlines() if line.startswith("In short:")]
    assert [line.split("”")[0].removeprefix("In short: “") for line in short[:3]] == [
        PICK.replace("$", "\\$"), BEST.replace("$", "\\$"), BEST.replace("$", "\\$")]  # fmt: skip
    assert "against the sweep's pick" in short[2]
    # then the three ranked, by mean NPV and by CVaR5 NPV
    assert short[3].startswith("In short: by mean NPV, ") and short[4].startswith("In short: by CVaR5 NPV, ")
    for suffix in ("csv", "html"):
        page = tmp_path / f"c.{suffix}"
        code, _, err = run_cli("compare", str(named), "--out", str(page))
        assert code == 0, err
        assert BEST in page.read_text()
    assert "plan_roles_note_1" in (tmp_path / "c.csv").read_text()
    assert api.compare(named).labels == [OPTIMUM, PICK, BEST]
    renamed = api.compare(named, labels=["optimum", "pick", "best mean"])
    assert renamed.roles == [roles(named, "optimum", "pick", "best mean")]  # by the names given


# the figures "In short" reads, in the table's order: those against_pick gives
VERDICT_FIGURES = ["npv_mean_usd", "npv_cvar5_usd", "breach_probability", "default_probability",
                   "any_default_probability"]  # fmt: skip


def pick_and_best_alone(folder) -> tuple:
    """PICK's and BEST's NPVs and outcomes (rows: PICK, BEST), from every candidate of the sweep's
    plans.npz evaluated on its 30 scenarios of seed 0, without compare."""
    _, data = api.load(folder / "model.yaml")
    source = read_plans(folder, data)
    result = evaluate(data, source.compile(data), 30, 0, keep_matrix=True, keep_outcomes=True)
    rows = [source.labels.index(PICK), source.labels.index(BEST)]
    return result.npv_matrix[rows], {name: values[rows] for name, values in result.outcomes.items()}


def test_compare_of_a_sweep_gives_what_the_pick_gives_up_to_the_third_plan(named):
    """The JSON's against_pick: BEST less PICK on the verdict's figures. Each difference is that of
    candidates.csv's figures: mean NPV -$21,897,214.06 - (-$25,661,419.39) = +$3,764,205.33, CVaR5
    -$86,739,462.26 - (-$78,176,188.47) = -$8,563,273.79, P(covenant breach) 96.67 % and P(liquidity
    default) 0 % in both (0), P(any default) 86.67 % - 83.33 % = +3.33 pp. Each paired error is
    evaluate/metrics' of the two plans' own NPVs and outcomes on the sweep's scenarios, the mean's and
    CVaR5's those of the sweep's own line (summary.json's against_pick: $1.69M and $4.97M). By hand,
    P(any default)'s: BEST defaults as lenders count it in one scenario where PICK does not and never
    the other way, so the per-scenario differences are one 1 and 29 zeros: sample variance
    (1 - 30 x (1/30)^2) / 29 = 1/30, error sqrt((1/30) / 30) = 1/30 = 3.33 pp."""
    code, out, err = run_cli("compare", str(named), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    rows = {row["figure"]: row for row in doc["against_pick"]}
    assert list(rows) == VERDICT_FIGURES
    assert {(row["plan"], row["pick"]) for row in rows.values()} == {(BEST, PICK)}
    swept = pd.read_csv(named / "candidates.csv").set_index("plan")  # 6 decimals
    figures = figure_rows(doc)
    for key, row in rows.items():
        assert row["difference"] == pytest.approx(swept.loc[BEST, key] - swept.loc[PICK, key], abs=2e-6)
        assert row["difference"] == pytest.approx(figures[key][BEST] - figures[key][PICK], rel=1e-12)
    assert rows["any_default_probability"]["difference"] == pytest.approx(1 / 30, rel=1e-9)
    npv, outcomes = pick_and_best_alone(named)
    either = either_happened(outcomes, ANY_DEFAULT_EVENTS).astype(float)
    each = {name: outcomes[name].astype(float) for name in ("breach", "default")}
    alone = {"npv_mean_usd": paired_error(npv[1] - npv[0]),
             "npv_cvar5_usd": paired_npv_error("npv_cvar5_usd", npv[0], npv[1]),
             "breach_probability": paired_error(each["breach"][1] - each["breach"][0]),
             "default_probability": paired_error(each["default"][1] - each["default"][0]),
             "any_default_probability": paired_error(either[1] - either[0])}  # fmt: skip
    for key, error in alone.items():
        assert rows[key]["paired_se"] == pytest.approx(error, rel=1e-12, abs=1e-15), key
    assert sorted(either[1] - either[0]) == [0.0] * 29 + [1.0]
    assert rows["any_default_probability"]["paired_se"] == pytest.approx(1 / 30, rel=1e-9)
    line = json.loads((named / "summary.json").read_text())["best_mean_within_rule"]["against_pick"]
    for key in ("npv_mean_usd", "npv_cvar5_usd"):
        assert rows[key]["difference"] == pytest.approx(line[key], rel=1e-9)
        assert rows[key]["paired_se"] == pytest.approx(line[NPV_PAIRED_ERROR[key]], rel=1e-9)


def test_the_terminal_markdown_csv_and_page_show_the_third_plan_against_the_pick(named, tmp_path):
    """The terminal, the Markdown and the page: a table of BEST against the sweep's pick, a row a
    figure with PICK's, BEST's, the difference and its paired error (mean NPV -$25.7M, -$21.9M,
    +$3.8M, $1.7M; CVaR5's -$8.6M within two of its $5.0M errors, so marked), and an 'In short' of
    BEST against the pick; the CSV a '# against_pick' table of the JSON's numbers; the page the
    difference beyond two errors green (mean NPV, better higher), the one within them uncoloured,
    and BEST − PICK's NPV scenario by scenario."""
    header = f"{BEST} − {PICK}"
    code, out, err = run_cli("compare", str(named))
    assert code == 0, err
    text = " ".join(out.split())
    assert f"“{BEST}” against the sweep's pick “{PICK}”, on the same scenarios" in text
    assert "│ mean NPV │ -$25.7M │ -$21.9M │ +$3.8M │ $1.7M │ higher │" in text
    assert "│ CVaR5 NPV │ -$78.2M │ -$86.8M │ -$8.6M (within 2 s.e.) │ $5.0M │ higher │" in text
    assert (f"In short: “{BEST}” against the sweep's pick “{PICK}” (± two paired standard errors): mean NPV "
            "-$21.9M against -$25.7M (+$3.8M ± $3.4M), CVaR5 NPV -$86.8M against -$78.2M (-$8.6M ± "
            "$10.0M),") in text  # fmt: skip
    code, out, err = run_cli("compare", str(named), "--format", "markdown")
    assert code == 0, err
    assert "| mean NPV | -\\$25.7M | -\\$21.9M | +\\$3.8M | \\$1.7M | higher |" in out
    code, out, err = run_cli("compare", str(named), "--format", "json")
    assert code == 0, err
    numbers = pd.DataFrame(json.loads(out)["against_pick"])
    csv, page = tmp_path / "c.csv", tmp_path / "c.html"
    for path in (csv, page):
        code, _, err = run_cli("compare", str(named), "--out", str(path))
        assert code == 0, err
    section = csv.read_text().split("# against_pick\n", 1)[1].split("\n\n", 1)[0]
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(section)), numbers)
    html = page.read_text()
    table = html.split(f"<h2>{escape(f'“{BEST}” against the sweep')}", 1)[1].split("</table>", 1)[0]
    assert "<td class='good'>+$3.8M</td>" in table
    assert "<td>-$8.6M (within 2 s.e.)</td>" in table
    assert f'aria-label="{escape(header)}, scenario by scenario"' in html


def test_a_sweep_whose_pick_is_the_first_plan_gives_no_table_against_it(named, tmp_path):
    """A sweep that recommended its forecast optimum (summary.json so edited) is compared as it and
    BEST, BEST's column already its difference to the pick: no table, no second 'In short' of BEST."""
    optimum_picked = tmp_path / "optimum_picked"
    shutil.copytree(named, optimum_picked)
    summary = json.loads((optimum_picked / "summary.json").read_text())
    summary["recommended"] = OPTIMUM
    (optimum_picked / "summary.json").write_text(json.dumps(summary))
    code, out, err = run_cli("compare", str(optimum_picked), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["plans"] == [OPTIMUM, BEST] and "against_pick" not in doc
    code, out, err = run_cli("compare", str(optimum_picked))
    assert code == 0, err
    assert "against the sweep's pick" not in " ".join(out.split())
    assert out.count("In short:") == 1


def npv_histogram(html: str) -> str:
    """The report's NPV histogram (its wide drawing)."""
    start = html.index('aria-label="NPV distribution over scenarios"')
    return html[start : html.index("</svg>", start)]


def legend(chart: str) -> list[str]:
    """A chart's legend entries and tick texts, a wrapped entry's lines joined."""
    texts = re.findall(r'<text [^>]*class="tick">(.*?)</text>', chart, re.S)
    return [unescape(" ".join(re.findall(r">([^<]+)<", f">{text}<"))) for text in texts]


def test_the_sweep_report_draws_the_third_plan_in_its_npv_histogram(named):
    """The sweep's report drew the pick and the forecast optimum in its NPV histogram and named BEST
    only in words: it draws BEST too, each plan's legend entry saying what it is to the sweep, and
    marks BEST's mean and P5 from candidates.csv as it marks the others' (-$21,897,214 and
    -$67,505,498 written -$21.9M and -$67.5M), in its own colour, not the recommendation's green."""
    chart = npv_histogram(build_report(named))
    entries = legend(chart)
    assert f"{PICK} (recommendation)" in entries
    assert f"{OPTIMUM} (forecast optimum)" in entries
    assert f"{BEST} (plan of highest mean NPV no worse than the forecast optimum)" in entries
    swept = pd.read_csv(named / "candidates.csv").set_index("plan")
    for what, column in (("mean", "npv_mean_usd"), ("P5", "npv_p5_usd")):
        tip = f"<title>{escape(BEST)} {what}: {escape(format_usd(swept.loc[BEST, column]))}</title>"
        assert tip in chart, tip
    third = ROLE_COLOURS[BEST_MEAN_KEY]
    assert f'stroke="{third}"' in chart and third != RECOMMENDED


def test_the_histograms_caption_says_where_each_plans_marked_figures_are(named):
    """The caption said "mean and P5 marked are the key figures' above", but the key figures above
    are the pick's alone: BEST's -$21.9M and -$67.5M, and the forecast optimum's -$22.0M and -$67.8M,
    are candidates.csv's, in the candidates table below the charts. It says so."""
    html = unescape(build_report(named))
    said = ("All 30 scenarios of the run (seed 0), re-simulated; mean and P5 marked are the key figures' "
            f"above for “{PICK}”, the candidates table's below for the others.")
    assert said in html
    assert html.index(said) < html.index("<h2>Candidates and their risk over 30 scenarios (seed 0)")
    assert f"<h2>Key figures of {PICK} over 30 scenarios" in html  # the pick's alone
    assert f"<h2>Key figures of {BEST}" not in html and f"<h2>Key figures of {OPTIMUM}" not in html


def test_a_what_if_of_the_sweep_takes_its_pick_not_the_third_plan(named):
    """A what-if compares one plan of a sweep's folder: its pick, as before the third plan was
    shown (the plan of highest mean NPV, last, is not the pick)."""
    code, out, err = run_cli("compare", str(named), "--format", "json", "--what-if",
                             "horizon.discount_rate_annual=0.1")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["plans"] == [PICK, f"{PICK}, what if"]


def test_a_sweep_that_names_none_or_was_made_before_compares_two_plans(named, tmp_path):
    """tiny's sweep of seed 7 names no such plan (null), and a sweep made before the sweep named it
    has no field: each gives its forecast optimum and its pick, as before, and the first's report
    draws those two alone."""
    folder = tmp_path / "S7"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "5", "--scenarios", "30", "--seed", "7",
                           "--out", str(folder))  # fmt: skip
    assert code == 0, err
    assert json.loads((folder / "summary.json").read_text())["best_mean_within_rule"] is None
    entries = legend(npv_histogram(build_report(folder)))  # the report draws the two alone
    assert not any("highest mean NPV" in entry for entry in entries)
    assert f"{OPTIMUM} (forecast optimum)" in entries
    code, out, err = run_cli("compare", str(folder), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["plans"] == [OPTIMUM, "milp: price shock, cash buffer $30.0M"]
    assert "against_pick" not in doc  # nothing new: no third plan to set against the pick
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

"""`fleetopt evaluate --explain`: the scenario it picks, printed and written to path.csv, and bad
input refused before any work."""

import json
import re
from html import escape

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from test_evaluate_cli import _multi_plan_file

import fleetopt.api as fo
from fleetopt.core.units import format_usd


def test_evaluate_explain_writes_the_path_and_refuses_bad_input(solve_run, tmp_path):
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "40", "--seed", "3",
                             "--explain", "40", "--out", str(tmp_path / "bad"))  # fmt: skip
    assert code == 2 and "--explain, of 40 scenarios" in out + err
    assert not (tmp_path / "bad").exists()
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "40", "--seed", "3",
                             "--explain", "worst", "--out", str(tmp_path / "ok"))  # fmt: skip
    assert code == 0, out + err
    result, _, _ = fo.evaluate(solve_run, scenarios=40, seed=3, keep_matrix=True, backend="numpy")
    worst = int(np.argmin(result.npv_matrix[0]))
    assert f"Scenario {worst} of seed 3 (the lowest NPV" in out
    frame = pd.read_csv(tmp_path / "ok" / "path.csv")
    assert {"revenue_usd", "revenue_contracted_usd", "revenue_market_usd"} <= set(frame.columns)
    # the table's first row, with the quarter's revenue and its contracted part (its header wraps)
    names = ("revenue_usd", "revenue_contracted_usd", "ebitda_usd")
    first = [format_usd(frame[name].iloc[0]) for name in names]
    assert re.search(r"2026Q3 +│ +" + r" +│ +".join(map(re.escape, first)), out)


def test_explain_of_a_file_of_several_plans_needs_its_plan(here):
    labels = _multi_plan_file(here / "plans.npz")
    code, out, err = run_cli("evaluate", "tiny", "--plans", "plans.npz", "--scenarios", "20", "--explain",
                             "median", "--out", "A")  # fmt: skip
    assert code == 2 and "plan (--plan)" in out + err and "holds 4 plans" in out + err
    assert not (here / "A").exists()
    code, out, err = run_cli("evaluate", "tiny", "--plans", "plans.npz", "--scenarios", "20", "--explain",
                             "median", "--plan", labels[2], "--out", "B")  # fmt: skip
    assert code == 0, out + err
    frame = pd.read_csv(here / "B" / "path.csv")
    assert len(frame) == 8 and f"plan {labels[2]!r}" in " ".join(out.split())  # as wrapped


@pytest.mark.parametrize("args, said", [
    (("--explain", "bogus"),
     "--explain must be worst, median, first-default, first-any-default or a scenario number"),
    (("--plan", "milp"), "--plan applies only with --explain"),
    (("--deterministic", "--explain", "worst"), "--explain cannot apply with --deterministic"),
])  # fmt: skip
def test_explain_options_that_cannot_apply_are_refused_before_any_work(solve_run, tmp_path, args, said):
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), *args, "--out", str(tmp_path / "X"))
    assert code == 2 and said in out + err and not (tmp_path / "X").exists()


def test_the_forecast_s_quarters_under_a_changed_model_are_shown_as_the_refusal_says(solve_run, tmp_path):
    """`--explain` is refused with --deterministic; the refusal said the forecast's quarters were the
    plan's statements, which is false under --set (electricity at 160 USD/MWh, not 55, here: the statements
    are the solved model's). It names the command that shows them, and that command's one scenario is
    the forecast under the changed model: its NPV is the deterministic evaluation's to the cent."""
    changed = ("--set", "sites.texas.electricity_price_usd_per_mwh=160")
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--deterministic", *changed,
                             "--explain", "0", "--out", str(tmp_path / "X"))  # fmt: skip
    said = " ".join((out + err).split())
    assert code == 2 and "`--scenarios 1 --set risk=null --explain 0` shows them" in said
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--deterministic", *changed,
                             "--out", str(tmp_path / "D"))  # fmt: skip
    assert code == 0, out + err
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "1", "--set", "risk=null",
                             *changed, "--explain", "0", "--out", str(tmp_path / "E"))  # fmt: skip
    assert code == 0, out + err
    npv = [pd.read_csv(tmp_path / run / "metrics.csv", comment="#")["npv_mean_usd"].iloc[0] for run in "DE"]
    statements = pd.read_csv(solve_run / "statements.csv", comment="#")
    assert npv[1] == pytest.approx(npv[0], abs=0.01)
    planned = json.loads((solve_run / "summary.json").read_text())["npv_usd"]
    assert npv[0] < planned - 1e6  # not the statements' NPV
    assert len(pd.read_csv(tmp_path / "E" / "path.csv")) == len(statements)


def test_first_default_names_the_liquidity_default_it_looks_for():
    """Scenarios of a 4-quarter plan whose liquidity defaults come after 4 (none), 3, 1 and 1 quarters:
    `first-default` picks scenario 2, the first of the two in quarter 1, and counts 3 with one; with
    none, it says no scenario has a liquidity default, not that none defaults (P(any default) may
    count uncured covenant breaches in the same run)."""
    from fleetopt.evaluate.path import pick_scenario

    outcomes = {"npv": np.zeros(4), "quarters_before_default": np.array([4.0, 3.0, 1.0, 1.0])}
    assert pick_scenario(outcomes, "first-default", 4) == (
        2, "the earliest liquidity default; 3 of 4 scenarios have one")
    outcomes["quarters_before_default"][:] = 4.0
    scenario, why = pick_scenario(outcomes, "first-default", 4)
    assert scenario is None and why.startswith("no scenario of 4 has a liquidity default")


def test_median_of_an_even_count_says_it_is_the_lower_middle_scenario_not_the_median_npv():
    """NPVs 4, 1, 3, 2 (USD): the median NPV, 2.5 (metrics.csv's and the report's), is no scenario's,
    yet `--explain median` called scenario 3 (NPV 2) "the median NPV" beside a report saying 2.5 (the
    default model at 2,000 scenarios of seed 7: $6.63B against $6.66B). It now says it is the lower of
    the two middle ones, and gives the median; of an odd count (1, 2, 3) the middle one is the median."""
    from fleetopt.evaluate.path import pick_scenario

    outcomes = {"npv": np.array([4.0, 1.0, 3.0, 2.0]) * 1e6}
    assert pick_scenario(outcomes, "median", 4) == (
        3, "the lower of the two middle NPVs of 4 scenarios; the median NPV, $2.5M, is their mean")
    assert pick_scenario({"npv": np.array([3.0, 1.0, 2.0])}, "median", 4) == (
        2, "the median NPV of 3 scenarios")


def test_first_any_default_picks_the_earliest_uncured_breach_where_no_liquidity_default_comes(solve_run,
                                                                                             tmp_path):
    """tiny's plan over 20 scenarios of seed 1 has no liquidity default, so `first-default` has nothing
    to show, yet P(any default) counts its uncured covenant breaches: `first-any-default` shows the
    lowest-numbered scenario whose uncured breach comes first, as each scenario's own path reads it."""
    args = ("evaluate", "--plans", str(solve_run), "--scenarios", "20", "--seed", "1", "--explain")
    code, out, err = run_cli(*args, "first-any-default", "--out", str(tmp_path / "any"))
    assert code == 0, out + err
    out = " ".join(out.split())  # as wrapped at the terminal's width
    uncured = {}  # scenario: index of the quarter of its uncured breach
    for scenario in range(20):
        frame = fo.scenario_path(tmp_path / "any", scenario, plan="milp").frame
        assert not frame["liquidity_default"].any()
        at = np.flatnonzero(frame["breach"].astype(str).str.startswith("uncured"))
        if at.size:
            uncured[scenario] = int(at[0])
    earliest = min(uncured, key=lambda s: (uncured[s], s))
    assert f"Scenario {earliest} of seed 1 (the earliest default as lenders count them" in out
    assert f"{len(uncured)} of 20 scenarios have one" in out
    shown = pd.read_csv(tmp_path / "any" / "path.csv")
    # no liquidity default: no cure left, or the quarter before cured
    assert re.fullmatch(r"uncured \((its \d+ cures? spent|the quarter before was cured)(; the quarter before "
                        r"was cured)?\): event of default", shown["breach"].iloc[uncured[earliest]])
    # its headline names the quarter of the uncured breach that picked it (it named the liquidity
    # default's alone: "none")
    quarter = shown["quarter"].iloc[uncured[earliest]]
    assert f"uncured (an event of default) {quarter}; liquidity default none" in out
    code, out, err = run_cli(*args, "first-default", "--out", str(tmp_path / "liquidity"))
    assert "no scenario of 20 has a liquidity default" in out + err


def test_first_any_default_takes_the_earlier_of_either_default():
    """Scenarios of a 4-quarter plan: liquidity defaults after 4 (none), 3, 4 and 2 quarters, uncured
    breaches after 4, 4, 1 and 3: scenario 2's uncured breach in quarter 1 comes first; 3 have one."""
    from fleetopt.evaluate.path import pick_scenario

    outcomes = {"npv": np.zeros(4), "quarters_before_default": np.array([4.0, 3.0, 4.0, 2.0]),
                "quarters_before_uncured": np.array([4.0, 4.0, 1.0, 3.0])}  # fmt: skip
    scenario, why = pick_scenario(outcomes, "first-any-default", 4)
    assert scenario == 2 and why.endswith("; 3 of 4 scenarios have one")
    assert pick_scenario(outcomes, "first-default", 4)[0] == 3


def test_the_report_shows_the_explained_scenario_and_the_run_lists_its_path(solve_run, tmp_path):
    """`--explain worst --report`: report.html never named the scenario it wrote path.csv for, and the
    "wrote" line of the run's files left path.csv out. The report's "One scenario's path" gives the
    scenario, why it was chosen, the headline, its quarters and its events as the terminal shows them."""
    folder = tmp_path / "risk"
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "40", "--seed", "3",
                             "--explain", "worst", "--report", "--out", str(folder))  # fmt: skip
    assert code == 0, out + err
    assert re.search(r"wrote \S+ \(job\.json, metrics\.csv, model\.yaml, path\.csv, path\.json, summary", out)
    result, _, _ = fo.evaluate(solve_run, scenarios=40, seed=3, keep_matrix=True, backend="numpy")
    worst = int(np.argmin(result.npv_matrix[0]))
    path = fo.scenario_path(folder, worst)
    page = (folder / "report.html").read_text()
    start = page.index("<h2 id=\"scenario-path\">One scenario's path</h2>")
    section = page[start:page.find("<h2", start + 1)]
    assert f"Scenario {worst} of seed 3, plan &#x27;milp&#x27;: the lowest NPV of 40 scenarios" in section
    assert escape(path.headline()) in section
    first = path.shown().iloc[0]  # 2026Q3's revenue and EBITDA, as the terminal's table writes them
    assert re.search(rf"<td[^>]*>2026Q3</td><td[^>]*>{re.escape(first['revenue (USD)'])}</td>", section)
    assert all(f"<li>{escape(line)}</li>" in section for line in path.events()) and path.events()


@pytest.mark.parametrize("text, said", [("{", "unreadable"), ('{"plan": "milp"}', "no scenario, seed")])
def test_a_broken_path_json_is_named_by_the_report(solve_run, tmp_path, text, said):
    folder = tmp_path / "risk"
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "20", "--explain", "0",
                             "--out", str(folder))  # fmt: skip
    assert code == 0, out + err
    (folder / "path.json").write_text(text)
    code, out, err = run_cli("report", str(folder))
    assert code != 0 and f"{folder / 'path.json'}: " in out + err and said in out + err
    assert "Traceback" not in out + err and not (folder / "report.html").exists()


def test_a_report_without_explain_has_no_scenario_path(solve_run, tmp_path):
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "20", "--report",
                             "--out", str(tmp_path / "risk"))  # fmt: skip
    assert code == 0, out + err
    assert "One scenario" not in (tmp_path / "risk" / "report.html").read_text()
    assert "path.csv" not in out


def test_the_report_s_path_table_sorts_money_by_its_exact_figures(solve_run, tmp_path):
    """The report's "One scenario's path" had its money only as words: three quarters of revenue
    $883,040,000, $882,960,000 and $883,010,000 all read '$883.0M', so a click on the header left
    them in the quarters' order. Each money cell now carries its exact USD (data-v, by which every
    report table sorts), from path.json's ``usd``, which --explain writes as path.csv has them; a
    ``usd`` that is not figures is named."""
    folder = tmp_path / "risk"
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "20", "--explain", "0",
                             "--out", str(folder))  # fmt: skip
    assert code == 0, out + err
    written = json.loads((folder / "path.json").read_text())
    written_csv = pd.read_csv(folder / "path.csv")
    assert written["usd"]["cash (USD)"] == written_csv["cash_usd"].tolist()
    revenue = [883_040_000.0, 882_960_000.0, 883_010_000.0]
    record = {**written, "columns": ["quarter", "revenue (USD)"], "usd": {"revenue (USD)": revenue},
              "rows": [[q, "$883.0M"] for q in ("2026Q3", "2026Q4", "2027Q1")]}
    (folder / "path.json").write_text(json.dumps(record))
    code, out, err = run_cli("report", str(folder))
    assert code == 0, out + err
    page = (folder / "report.html").read_text()
    section = page[page.index('<h2 id="scenario-path">'):]
    cells = re.findall(r'<td class="text">(\d{4}Q\d)</td><td data-v="([^"]+)">\$883\.0M</td>', section)
    quarters = ("2026Q3", "2026Q4", "2027Q1")
    assert [(q, float(v)) for q, v in cells] == list(zip(quarters, revenue, strict=True))
    (folder / "path.json").write_text(json.dumps({**record, "usd": {"revenue (USD)": ["$883.0M"] * 3}}))
    code, out, err = run_cli("report", str(folder))
    assert code != 0 and "path.json: not what --explain writes (usd is not a list of figures" in out + err
    assert "Traceback" not in out + err

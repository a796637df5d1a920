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
    # the count between commas: it read "--explain, of 40 scenarios must be between 0 and 39"
    said = "error: --explain, one of 40 scenarios, must be between 0 and 39 (got 40)"
    assert code == 2 and said in " ".join((out + err).split())
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
    assert code == 2 and "error: --plan: " in out + err and "holds 4 plans" in out + err
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
    the forecast under the changed model: its NPV is the deterministic evaluation's to the cent. The
    refusal ends with a full stop and its line (it ended "changed by --set", read as cut short)."""
    changed = ("--set", "sites.texas.electricity_price_usd_per_mwh=160")
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--deterministic", *changed,
                             "--explain", "0", "--out", str(tmp_path / "X"))  # fmt: skip
    said = " ".join((out + err).split())
    assert code == 2 and "`--scenarios 1 --set risk=null --explain 0` shows them" in said
    assert err.startswith("error: --explain cannot apply") and err.endswith("a model changed by --set.\n")
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
    from fleetopt.evaluate.scenario_choice import pick_scenario

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
    from fleetopt.evaluate.scenario_choice import pick_scenario

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
    from fleetopt.evaluate.scenario_choice import pick_scenario

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


def _reconciled_from_files(folder) -> dict:
    """An explained scenario's NPV recomputed as a finance reader would from its path.csv and path.json
    alone, by docs/evaluation.md's "The NPV" (pandas and json: no fleetopt in the arithmetic), USD:
    sum_t DF_t (C_t - C_{t-1}) from C_{-1} = opening_cash_usd, the end term E = fleet at resale + power
    plant at book - the tax of their sale - debt - prepayments not yet earned, the tax of the sale
    tau max(0, y + G) - tau max(0, y) with y the last quarter's taxable income and G = resale - book + the
    last quarter's distress sales' gain, and each quarter's tax = tau max(0, EBITDA - interest -
    depreciation + gain on disposal) (tiny carries no losses forward)."""
    frame, record = pd.read_csv(folder / "path.csv"), json.loads((folder / "path.json").read_text())
    assert {"discount_factor", "depreciation_usd", "gain_on_disposal_usd", "taxable_income_usd"} <= set(frame)
    assert {"npv_usd", "npv_quarters_usd", "npv_terminal_usd", "opening_cash_usd", "end_term"} <= set(record)
    cash = frame["cash_usd"].to_numpy()
    before = np.concatenate([[record["opening_cash_usd"]], cash[:-1]])
    quarters = float((frame["discount_factor"] * (cash - before)).sum())
    end, last = record["end_term"], frame.iloc[-1]
    rate, y = end["tax_rate"], last["taxable_income_usd"]
    gain = end["fleet_sale_proceeds_usd"] - end["fleet_book_value_usd"] + end["distress_sale_gain_usd"]
    sale_tax = rate * max(0.0, y + gain) - rate * max(0.0, y)
    terminal = (end["fleet_sale_proceeds_usd"] + end["power_plant_book_value_usd"] - sale_tax
                - last["debt_usd"] - end["unearned_prepayments_usd"])  # fmt: skip
    assert end["gain_usd"] == pytest.approx(gain, abs=0.01)
    assert end["liquidation_tax_usd"] == pytest.approx(sale_tax, abs=0.01)
    assert end["end_term_usd"] == pytest.approx(terminal, abs=0.01)
    taxable = (frame["ebitda_usd"] - frame["interest_usd"] - frame["depreciation_usd"]
               + frame["gain_on_disposal_usd"])  # fmt: skip
    np.testing.assert_allclose(frame["taxable_income_usd"], taxable, rtol=0, atol=0.01)
    np.testing.assert_allclose(frame["tax_usd"], rate * taxable.clip(lower=0.0), rtol=0, atol=0.01)
    npv = quarters + last["discount_factor"] * terminal
    assert record["npv_quarters_usd"] == pytest.approx(quarters, abs=0.01)
    assert record["npv_terminal_usd"] == pytest.approx(last["discount_factor"] * terminal, abs=0.01)
    return {"npv": npv, "end": end, "frame": frame, "record": record}


def _explained_and_reconciled(solve_run, folder, options: tuple, scenario: int) -> dict:
    """`evaluate --explain SCENARIO` of tiny's forecast optimum with ``options`` into ``folder``: the
    NPV :func:`_reconciled_from_files` recomputes from path.csv and path.json is the evaluation's
    (npv_matrix.npy) and path.json's to the cent, and the terminal prints it to the cent after the table."""
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), *options, "--explain", str(scenario),
                             "--keep-matrix", "--out", str(folder))  # fmt: skip
    assert code == 0, out + err
    got = _reconciled_from_files(folder)
    evaluated = float(np.load(folder / "npv_matrix.npy")[0, scenario])
    assert got["npv"] == pytest.approx(evaluated, abs=0.01)
    assert got["record"]["npv_usd"] == pytest.approx(evaluated, abs=0.01)
    cents = f"{'-' if evaluated < 0 else ''}${abs(evaluated):,.2f}"
    assert f"NPV {cents} = quarters' cash changes, discounted, " in out
    return got


def test_the_forecast_s_npv_reconciles_from_the_path_s_files_to_the_statements(solve_run, tmp_path):
    """An outside quant recomputed tiny's scenario by hand but could not reconcile its NPV from
    path.csv and path.json: they had neither the NPV, nor its end term E and E's parts, nor the
    discount factors, nor the depreciation and the gain the tax is on. On the forecast (every factor
    neutral) the two files now give the statements' figures: summary.json's NPV -$14,109,908.48, of
    which E = $92,321,043.73 of GPUs at resale - $69,741,614.21 of debt = $22,579,429.52 (no tax: the
    last quarter's y = -$3,524,134.59 and the fleet sells below book, G < 0, so 0.21 max(0, y + G) -
    0.21 max(0, y) = 0)."""
    forecast = ("--scenarios", "1", "--set", "risk=null")
    got = _explained_and_reconciled(solve_run, tmp_path / "run", forecast, 0)
    planned = json.loads((solve_run / "summary.json").read_text())
    end = got["end"]
    assert got["npv"] == pytest.approx(planned["npv_usd"], abs=0.01)
    assert end["fleet_sale_proceeds_usd"] + end["power_plant_book_value_usd"] == pytest.approx(
        planned["terminal_assets_usd"], abs=0.01)  # fmt: skip
    owed = end["debt_end_usd"] + end["unearned_prepayments_usd"]
    assert owed == pytest.approx(planned["owed_end_usd"], abs=0.01)
    assert end["liquidation_tax_usd"] == planned["liquidation_tax_usd"] == 0.0


def test_a_scenario_with_distress_sales_and_a_default_reconciles_from_its_files(solve_run, tmp_path):
    """tiny without a revolver and with $60M of opening cash, not $150M, in scenario 0 of seed 7:
    2026Q3 sells hopper GPUs in distress and still defaults; 2028Q2, the last quarter, sells 1,000 more
    below book, a loss the end's gain G carries (distress_sale_gain_usd, taxed with the end, policy
    rule 4), and the NPV runs on past the default. Its files reconcile the NPV to the cent all the same."""
    short = ("--scenarios", "1", "--seed", "7", "--set", "finance.revolver=null", "--set",
             "finance.opening_cash_usd=60000000")  # fmt: skip
    got = _explained_and_reconciled(solve_run, tmp_path / "run", short, 0)
    frame = got["frame"]
    assert frame["liquidity_default"].iloc[0] and frame["distress_sold_usd"].iloc[[0, -1]].gt(1e6).all()
    assert got["end"]["distress_sale_gain_usd"] < -1e6


def test_a_scenario_whose_end_saves_tax_reconciles_from_its_files(solve_run, tmp_path):
    """Scenario 2 of seed 7: the last quarter has y = $19,749,538.57 of taxable income and the fleet
    sells $121.3M below book, so the sale saves that quarter's whole tax: 0.21 x max(0, y + G) - 0.21 x
    19,749,538.57 = -$4,147,403.10, the last row's tax_usd with its sign turned."""
    got = _explained_and_reconciled(solve_run, tmp_path / "run", ("--scenarios", "3", "--seed", "7"), 2)
    last_tax = got["frame"]["tax_usd"].iloc[-1]
    assert got["end"]["liquidation_tax_usd"] == pytest.approx(-last_tax, abs=0.01) and last_tax > 4e6


def test_the_report_gives_the_npv_to_the_cent_and_reads_a_path_json_written_before_it(solve_run, tmp_path):
    """The report's "One scenario's path" gives the NPV to the cent and its two parts as the terminal
    prints them after the table; a path.json written before it kept them (fleetopt 0.4.34 and
    older) is still reported, the section without that line."""
    folder = tmp_path / "risk"
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "20", "--explain", "0",
                             "--out", str(folder))  # fmt: skip
    assert code == 0, out + err
    written = json.loads((folder / "path.json").read_text())
    line = written["npv_words"]
    assert line.startswith("NPV ") and line in " ".join(out.split())
    code, out, err = run_cli("report", str(folder))
    assert code == 0, out + err
    assert f"<p>{escape(line)}; its parts in path.json.</p>" in (folder / "report.html").read_text()
    new = ("npv_usd", "npv_limited_usd", "npv_accelerated_usd", "opening_cash_usd", "npv_quarters_usd",
           "terminal_discount_factor", "end_term_usd", "npv_terminal_usd", "end_term",
           "npv_words")  # fmt: skip
    (folder / "path.json").write_text(json.dumps({k: v for k, v in written.items() if k not in new}))
    code, out, err = run_cli("report", str(folder))
    assert code == 0, out + err
    page = (folder / "report.html").read_text()
    assert "One scenario's path" in page and "quarters' cash changes" not in page

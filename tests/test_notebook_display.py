"""What a notebook cell shows of each result (a finance analyst's review): a short one-line repr
naming the key figures and where to look next, and a Markdown answer first, its figures written as
the terminal writes them (money with a scale, shares in per cent, units), every $ escaped (a
notebook typeset the text between two $ as mathematics). Figures of the tiny model: its forecast
optimum buys 2,000 Blackwell GPUs in 2026 and has an NPV of -$14,109,908 on the forecast."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest
from conftest import run_cli
from test_milp_cli import NOTHING_PAYS
from test_stochastic_replications import hand_record

from fleetopt import api
from fleetopt.core.notebook import html_text, markdown_table, markdown_text
from fleetopt.core.units import format_usd
from fleetopt.errors import FleetoptWarning
from fleetopt.stochastic.gap import gap_record
from fleetopt.stochastic.paired import out_of_sample_verdict_word

SHORT = 200  # characters: a repr is one line of what it is, its key figures and what to read next


def bare_dollars(text: str) -> list[str]:
    """Each $ without the backslash that keeps a notebook from reading it as mathematics."""
    return re.findall(r"(?<!\\)\$", text)


def short(result) -> str:
    shown = repr(result)
    assert "\n" not in shown and len(shown) <= SHORT, shown
    return shown


@pytest.fixture(scope="module")
def solved():
    return api.solve("tiny")


def test_a_solve_shows_its_npv_status_purchases_and_covenant_headroom(solved):
    """A SolveResult had only its one-line repr and a dict of about 50 raw floats (headline())."""
    assert short(solved).startswith("SolveResult(optimal, 'tiny', npv objective -$14.1M, gap 0.00%;")
    shown = solved._repr_markdown_()
    lines = shown.splitlines()
    assert lines[0] == "**Solve of tiny** (npv objective): optimal, gap 0.00%"
    # with its horizon and rate, as the terminal's title and `runs show` say them (it had neither)
    basis = "over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at 15% a year, USD)"
    assert lines[2] == rf"- **NPV on the forecast: -\$14.1M** {basis}"
    assert lines[3].startswith(r"- peak debt \$164.0M; lowest cash \$30.3M (2026Q3); lowest DSCR 1.95x")
    # the purchases by generation and year: tiny's horizon is 2026Q3 to 2028Q2
    assert "| generation | 2026 (Q3-Q4) | 2027 | 2028 (Q1-Q2) |" in lines
    assert "| blackwell | 2,000 | 0 | 0 |" in lines and "| hopper | 0 | 0 | 0 |" in lines
    assert r"| GPU capex | \$120.0M | \$0 | \$0 |" in lines  # 2,000 B200 at $60,000, as the terminal's
    # each covenant in its tightest quarter, as the terminal writes it; the tightest named
    assert r"- liquidity \>= \$25.0M: lowest \$49.3M in the quarters tested" in lines
    assert any(line.startswith("- borrowing base") and line.endswith("met with no room (the tightest)")
               for line in lines)  # fmt: skip
    # what held the plan back, as the terminal says it: tiny's one site's power, then its borrowing base
    held = lines.index("What held the plan back (limits reached on the forecast):")
    assert lines[held + 3] == ("- power at texas: all its MW online in use (up to 20 MW, blocks built "
                               "included) in 2026Q3..2027Q2")
    assert lines[-1].startswith("Next: .headline_frame() (every figure, with its unit), .plan_frame()")
    assert not bare_dollars(shown)


def test_a_solves_headline_reads_with_units_as_runs_show_writes_it(solved):
    """headline() is a dict of about 50 raw floats (-14109908.48...): headline_frame() gives each
    figure of one value beside it as `fleetopt runs show` writes it; the dict stays as it is."""
    frame = solved.headline_frame()
    assert frame.index.name == "figure" and list(frame.columns) == ["value", "shown"]
    shown = frame["shown"]
    assert shown["npv_usd"] == "-$14.1M" and shown["peak_debt_usd"] == "$164.0M"
    assert shown["min_dscr"] == "1.95x" and shown["gpus_bought"] == "2,000 GPUs"
    assert shown["contracts_declined"] == "none" and shown["power_built_mw"] == "0 MW"
    assert frame.loc["npv_usd", "value"] == solved.headline()["npv_usd"]
    assert "covenant_headroom" not in frame.index  # a figure per covenant: in the dict and the Markdown
    assert isinstance(solved.headline(), dict)


def test_a_cost_solve_shows_its_present_cost_first():
    """A lab's solve for least cost: its answer is the present cost; the NPV values its own use at
    market prices, said so."""
    result = api.solve("lab", objective="cost")
    lines = result._repr_markdown_().splitlines()
    assert lines[0].startswith("**Solve of lab** (cost objective): ")
    cost = api.solve("lab", objective="cost").headline()["present_cost_usd"]
    assert lines[2].startswith(rf"- **present cost of the plan (the objective): \${cost / 1e6:,.1f}M** = ")
    # its own basis: it had none, only the NPV's after it
    assert lines[2].endswith(", over the horizon's 12 quarters (present cost: the fleet at the start and the "
                             "quarters' costs less the value at the end at 10% a year, USD)")
    assert lines[3].endswith("(the GPUs' own use valued at market prices, as revenue) over the horizon's 12 "
                             "quarters (NPV: equity cash flows and terminal equity at 10% a year, USD)")
    assert lines[3].startswith(r"- NPV on the forecast: \$")


def test_a_solve_that_buys_nothing_says_why_as_the_terminal_does(tmp_path):
    """A B200 at $50,000 renting at $0.80-$0.90 an hour never pays (test_milp_cli's NOTHING_PAYS):
    the terminal says no purchase raised the NPV and how to see what one would cost; a notebook
    showed a table of zeros, no word why."""
    model = tmp_path / "small.yaml"
    model.write_text(NOTHING_PAYS)
    shown = api.solve(str(model))._repr_markdown_()
    assert "GPUs bought by generation and year" not in shown
    assert ("GPUs bought: none: at the forecast's prices, costs, power and financing no purchase raises "
            "the NPV; to see what one would cost, fix it with --purchases") in shown


@pytest.mark.filterwarnings("ignore::fleetopt.errors.FleetoptWarning")
def test_a_rescued_solve_says_so_and_where_the_limits_it_breaks_are(solved):
    """Twice tiny's purchases, 4,000 Blackwell GPUs in 2026Q3, break its cash floor: a rescued solve
    must not read as a plan within its limits. Its display pointed to .completion for the limits it
    breaks; it lists them, as the terminal does."""
    orders = solved.plan_frame().query("decision == 'buy_gpus'")
    result = api.solve("tiny", purchases=orders.assign(value=2 * orders["value"]), rescue=True)
    lines = result._repr_markdown_().splitlines()
    assert lines[0].startswith("**Solve of tiny** (npv objective): rescued: the purchases break hard limits")
    assert "- purchases fixed from purchases table: 4,000 GPUs; the solver chose the rest" in lines
    # each hard limit the plan breaks, listed in bold as the terminal lists them, not left to .completion
    assert ("- **warning: the plan's statements break cash \\>= min cash \\$25.0M on the forecast in 2026Q3, "
            "2026Q4 (lowest -\\$2.2M), without the revolver**") in lines
    completed = "- plan completed by: the rescue model, the purchases fixed ("
    assert any(line.startswith(completed) for line in lines)
    assert "| blackwell | 4,000 | 0 | 0 |" in lines
    assert result.completion["limits_broken"][0]["limit"] == "cash >= min cash $25.0M"


@pytest.fixture(scope="module")
def run(tmp_path_factory, solved):
    return api.write_solve_run(solved, out=tmp_path_factory.mktemp("notebook") / "solved")


def test_an_evaluation_shows_each_plans_figures_and_then_in_short(run):
    """Mean NPV with its standard error, CVaR5 and the probabilities, as the terminal's table writes
    them, and the terminal's "In short" after it, in Markdown and in the HTML a notebook prefers. Each
    probability by its long label, as a notebook has room for (the uncured breach read the terminal's
    short "P(uncured breach)" among the long ones)."""
    result, _, _ = api.evaluate(run, scenarios=20, seed=1, backend="numpy")
    said = r"EvaluationResult\(1 plan x 20 scenarios \(seed 1\), numpy: 'milp' mean NPV -\$\d+\.\dM, "
    assert re.fullmatch(said + r"CVaR5 -\$\d+\.\dM; \.metrics, \.ranked\(\)\)", short(result))
    row = result.metrics.iloc[0]
    shown = result._repr_markdown_()
    lines = shown.splitlines()
    assert lines[0] == "**Evaluation** of 1 plan on 20 scenarios, seed 1 (numpy)"
    assert lines[2] == ("| plan | mean NPV | s.e. of mean NPV | CVaR5 NPV | P(NPV \\< 0) "
                        "| P(covenant breach) | P(uncured covenant breach) | P(liquidity default) "
                        "| P(any default) |")
    cells = lines[4].strip("| ").split(" | ")
    money = r"-?\\\$\d+\.\dM"
    assert cells[0] == "milp" and all(re.fullmatch(money, c) for c in cells[1:4]), cells
    assert cells[4:] == [f"{row[c]:.1%}" for c in ("loss_probability", "breach_probability",
                         "uncured_breach_probability", "default_probability", "any_default_probability")]
    mean = float(cells[1].replace("\\$", "").rstrip("M")) * 1e6
    assert mean == pytest.approx(row["npv_mean_usd"], abs=0.05e6)
    assert lines[6].startswith("In short: Plan “milp”: mean NPV -\\$") and "over 20 futures" in lines[6]
    assert "Over the horizon's 8 quarters, a liquidity default in" in lines[6]  # not a yearly rate
    assert lines[-1].startswith("Next: .metrics")
    assert not bare_dollars(shown)
    # the HTML a notebook shows first: the same table, then "In short", each $ its own element
    html = result._repr_html_()
    assert "<th>s.e. of mean NPV</th>" in html
    assert html.startswith("<p><b>Evaluation</b> of 1 plan on 20 scenarios, seed ")  # as the Markdown's title
    in_short = html[html.index("<p>In short"):]
    assert "<span>$</span>" in in_short and "$" not in in_short.replace("<span>$</span>", "")


def test_a_cost_plans_evaluation_says_the_demand_it_serves_as_the_terminal_does(tmp_path):
    """A lab's plan solved for least cost: the display's "In short" says the share of the demand it
    serves and how often it falls short, the sentence `fleetopt evaluate`'s "In short" gives (the
    display left it out)."""
    solved = api.write_solve_run(api.solve("lab", objective="cost"), out=tmp_path / "lab")
    result, _, _ = api.evaluate(solved, scenarios=20, seed=1, backend="numpy")
    row = result.metrics.iloc[0]
    served = (f"It serves {row['demand_served_share']:.1%} of the demand on average over 20 futures, as "
              f"bought; more than 1% of it goes unserved in {row['shortfall_probability']:.1%} of them.")
    shown = [line for line in result._repr_markdown_().splitlines() if line.startswith("In short")]
    assert len(shown) == 1 and served in shown[0].replace("\\", ""), shown
    code, stdout, _ = run_cli("evaluate", "--plans", str(solved), "--scenarios", "20", "--seed", "1",
                              "--backend", "numpy", "--out", str(tmp_path / "evaluated"))
    said = " ".join(stdout.split())
    assert code == 0 and said[said.index("In short"):].startswith(shown[0].replace("\\", "")), said


def test_an_evaluation_on_the_forecast_shows_its_events_as_yes_or_no(run):
    """Its figures as the terminal's table of it (`fleetopt evaluate --deterministic`: $30.3M lowest
    cash, 100.0% utilisation, no policy reaction), which a notebook left out."""
    result, _, _ = api.evaluate(run, deterministic=True, backend="numpy")
    assert short(result) == ("EvaluationResult(1 plan on the forecast, numpy: 'milp' NPV on the forecast "
                             "-$14.1M; .metrics, .ranked())")
    lines = result._repr_markdown_().splitlines()
    assert lines[0] == "**Evaluation on the forecast** of 1 plan (numpy)"
    assert lines[2] == ("| plan | NPV on the forecast | lowest cash | utilisation | covenant breach | uncured"
                        " breach | liquidity default | any default | policy reactions |")  # fmt: skip
    assert lines[4] == r"| milp | -\$14.1M | \$30.3M | 100.0% | no | no | no | no | none |"
    assert not any(line.startswith("In short") for line in lines)  # no risk over one future


def test_a_sweep_shows_its_pick_and_why_then_the_candidates():
    swept = api.sweep("tiny", candidates=2, scenarios=10)
    pick = swept.recommended["plan"]
    cvar5 = format_usd(swept.recommended["npv_cvar5_usd"])  # the rule's figure, by default
    assert short(swept) == (f"SweepResult(2 candidates evaluated on 10 scenarios, recommended {pick!r} "
                            f"(CVaR5 NPV {cvar5}); .metrics, .why(), .plan_frame(label))")
    shown = swept._repr_markdown_()
    lines = shown.splitlines()
    assert lines[0] == "**Sweep of tiny**: 2 candidates evaluated on 10 scenarios, seed 0"
    assert lines[2] == f"**Recommended: {markdown_text(pick)}.** {markdown_text(swept.why())}"
    assert lines[4].startswith("| plan | mean NPV | s.e. of mean NPV | CVaR5 NPV |")
    assert any(line.startswith(f"| {markdown_text(pick)} (recommended) | ") for line in lines)
    assert not bare_dollars(shown)
    html = swept._repr_html_()  # in the Markdown's order: the pick and why, then the table
    assert f"{html_text(swept.why())}</p><table" in html


def test_a_stochastic_solve_shows_its_out_of_sample_verdict_first():
    result = api.solve_stochastic("tiny", 3, out_of_sample=30)
    assert short(result).startswith("StochasticResult('tiny', 3 scenarios, VSS $")
    verdict = out_of_sample_verdict_word(result.out_of_sample["paired"])  # "better", "a trade" ...
    assert f", against the forecast optimum out of sample: {verdict}; .commitments_frame()" in repr(result)
    shown = result._repr_markdown_()
    lines = shown.splitlines()
    stage = "first stage before 2027Q3 (4 quarters)"
    assert lines[0] == f"**Stochastic solve of tiny**: 3 reduced scenarios, {stage}"
    fresh = "**Out of sample, both plans on 30 fresh scenarios, seed 1.**"
    assert lines[2].startswith(f"{fresh} The stochastic plan is ")
    assert "| stochastic plan | " in shown and "| forecast optimum | " in shown
    assert "| stochastic less forecast (paired standard error) | " in shown
    # what to commit to now, each plan's first stage: tiny's both buy 2,000 GPUs in all
    assert "| quarter | decision | item | stochastic plan | forecast optimum | difference |" in lines
    assert "|  | buy, all |  | 2,000 GPUs | 2,000 GPUs | 0 GPUs |" in lines
    # the VSS with its parts (a VSS read as value where it was penalties avoided)
    money = r"-?\\\$[\d.]+[kMB]"
    vss = rf"VSS {money} \({money} of expected NPV, {money} of rescue penalties avoided\)"
    assert re.search(rf"^In sample, .*: {vss}, EVPI {money}$", shown, re.M)
    assert not bare_dollars(shown)
    unchecked = dataclasses.replace(result, out_of_sample={})
    assert r"No out-of-sample check (out\_of\_sample=0)" in unchecked._repr_markdown_()
    assert "out of sample" not in repr(unchecked)


def test_a_replicated_stochastic_solve_shows_how_stable_its_first_stage_is_and_its_gap():
    # the hand samples of tests/test_stochastic_replications.py (a purchase of 1,448 and of 2,000 GPUs) and
    # a gap of $12M - $3M = $9.0M, standard error sqrt(2.0^2 + 1.08^2) = $2.3M, at most $38.3M (L: t_3)
    result = api.solve_stochastic("tiny", 2, out_of_sample=0)
    assert "samples" not in result._repr_markdown_() and "Optimality gap" not in result._repr_markdown_()
    gap = gap_record([10e6, 14e6], [10e6, 15e6], [1e6, 2e6, 3e6, 6e6], seed=2, reduced=True, status="optimal")
    shown = dataclasses.replace(result, replications={**hand_record(), "gap": gap})._repr_markdown_()
    lines = shown.splitlines()
    # after what to commit to now, in the notebook's arguments (scenarios=N, not --stochastic N)
    verdict = lines.index("The first stage varies across 2 samples of 2 scenarios: 1,448 to 2,000 GPUs "
                          "(buy B200@texas) in 2026Q3, and 1 other decision; more scenarios (scenarios=N) "
                          "narrow it.")
    assert lines.index("What to commit to now:") < verdict
    said = (r"Optimality gap of the first stage: \$9.0M ± \$2.3M (estimate, 4 fresh scenarios), at most "
            r"\$38.3M at 95%; each sample's 2 scenarios were reduced from 200 drawn")
    gap_line = lines[verdict + 2]
    assert gap_line.startswith(said) and "where scenarios=N keeps every scenario" in gap_line
    assert not bare_dollars(shown)


def test_markdown_cells_show_as_written():
    """A label's |, * or $ is text, not a new cell, emphasis or mathematics."""
    frame = pd.DataFrame({"plan": ["a | b", "*c*"], "NPV": ["-$1.0M", "$2.0M"]})
    assert markdown_table(frame).splitlines() == [
        "| plan | NPV |", "|---|---|", r"| a \| b | -\$1.0M |", r"| \*c\* | \$2.0M |"]  # fmt: skip
    assert markdown_table(frame.iloc[:0]) == "(none)"
    assert html_text("<$1 and $2>") == "&lt;<span>$</span>1 and <span>$</span>2&gt;"


def test_a_labels_entity_tilde_or_newline_shows_as_written_in_one_row():
    """A plan named "R&amp;D ~~old~~" showed "R&D" struck through (an entity, GitHub's and
    JupyterLab's strikethrough), and one named with a newline split its row of the table in two."""
    frame = pd.DataFrame({"plan": ["R&amp;D ~~old~~", "A\nB"], "NPV": ["$1.0M", "$2.0M"]})
    assert markdown_table(frame).splitlines() == [
        "| plan | NPV |", "|---|---|",
        r"| R\&amp;D \~\~old\~\~ | \$1.0M |", r"| A\\nB | \$2.0M |"]  # fmt: skip
    assert markdown_text("tab\there") == r"tab\\there"


def test_a_result_of_a_model_changed_for_it_says_what_was_changed():
    """A solve and a sweep of `api.edit("tiny", ...)` showed "**Solve of tiny**", as the file's own:
    under the title, the fields changed and their values, as the terminal and the report say them."""
    edited = api.edit("tiny", {"horizon.discount_rate_annual": 0.12})
    said = r"Model: tiny, changed for this run: horizon.discount\_rate\_annual = 0.12."
    lines = api.solve(edited)._repr_markdown_().splitlines()
    assert lines[:4] == ["**Solve of tiny** (npv objective): optimal, gap 0.00%", "", said, ""]
    swept = api.sweep(edited, candidates=1, scenarios=5)
    assert swept._repr_markdown_().splitlines()[2] == said
    # under the title, as in the Markdown
    assert swept._repr_html_().split("</p>")[1] == f"<p>{html_text(said.replace(chr(92), ''))}"


def test_a_stochastic_solve_and_an_evaluation_of_a_changed_model_say_what_was_changed(tmp_path):
    """A stochastic solve of `api.edit("tiny", ...)` showed "**Stochastic solve of tiny**", and an
    evaluation under it "**Evaluation** ...", as of the file's own model: each says under its title
    the fields changed, as a solve does; an evaluation of a solve's folder (its model.yaml, the model
    as that solve changed it), those of that solve."""
    edited = api.edit("tiny", {"horizon.discount_rate_annual": 0.12})
    said = r"Model: tiny, changed for this run: horizon.discount\_rate\_annual = 0.12."
    stochastic = api.solve_stochastic(edited, 2, out_of_sample=0)
    assert stochastic._repr_markdown_().splitlines()[1:4] == ["", said, ""]
    solve = api.write_solve_run(api.solve(edited), out=tmp_path / "S")
    evaluated, loaded, _ = api.evaluate(solve, scenarios=4)  # its model read from the solve's folder
    assert loaded.changes == () and loaded.source_changes == (("horizon.discount_rate_annual", 0.12),)
    copied = (r"Model: tiny, as changed for the run it was copied from: horizon.discount\_rate\_annual "
              "= 0.12.")  # fmt: skip
    assert evaluated._repr_markdown_().splitlines()[1:4] == ["", copied, ""]
    assert evaluated._repr_html_().split("</p>")[1] == f"<p>{html_text(copied.replace(chr(92), ''))}"
    with pytest.warns(FleetoptWarning, match="another version of model 'tiny'"):  # the file's own: no line
        plain = api.evaluate(solve, "tiny", scenarios=4)[0]
    assert plain._repr_markdown_().splitlines()[2].startswith("| plan |")

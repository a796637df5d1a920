"""`fleetopt compare RUN --what-if PATH=VALUE`: one plan against itself under the model changed, on the
same scenarios (docs/evaluation.md, "What if"), worked by hand on tests/test_delivery_slip.py's plan.

That plan buys 100 GPUs of A in 2026Q2 and holds them to the end of a 6-quarter horizon with no other
risk: NPV 785,500 in every scenario on time and 568,400 one quarter late (tests/test_delivery_slip.py
works both by hand). A certain slip of one quarter (``risk.delivery_slip``) therefore costs
217,100 in every scenario: the paired difference is -217,100 with a paired error of 0, worse beyond
any chance; the forecast figures (a forecast never slips) are the same.
"""

from __future__ import annotations

import html
import json
import re
import warnings

import pytest
from conftest import run_cli
from milp_builders import data_of, load
from test_delivery_slip import CERTAIN, model, plan

from fleetopt import api
from fleetopt.compare.sources import CompareError
from fleetopt.errors import FleetoptWarning, InputError
from fleetopt.evaluate.batch import compile_plans, with_buffers
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.planfile import plans_npz_bytes, save_plans

SLIP = {"risk.delivery_slip": {**CERTAIN}}


@pytest.fixture
def plan_file(tmp_path):
    """The plan of tests/test_delivery_slip.py, written as a plan file of its model (no slip)."""
    loaded = load(model())
    data = data_of(model())
    path = tmp_path / "p.npz"
    save_plans(path, [plan(data)], ["p"], loaded.model.name, loaded.content_hash)
    return path, loaded


def test_a_what_if_is_the_plan_against_itself_under_the_changed_model(plan_file):
    path, loaded = plan_file
    c = api.compare(path, loaded, scenarios=5, seed=1, what_if=SLIP)
    first, late = "p.npz: p", "p.npz: p, what if"  # a plan file's plan is named by its file
    assert c.labels == [first, late]
    fig = c.figures
    assert fig.loc["npv_mean_usd", first] == pytest.approx(785_500.0, rel=1e-12)
    assert fig.loc["npv_mean_usd", late] == pytest.approx(568_400.0, rel=1e-12)
    assert fig.loc["npv_mean_paired_se_usd", late] == pytest.approx(0.0, abs=1e-6)
    assert fig.loc["slipped_share", first] == 0.0 and fig.loc["slipped_share", late] == 1.0
    # the forecast never slips: its figures are the plan's, whatever the risk block
    assert fig.loc["npv_forecast_usd", first] == fig.loc["npv_forecast_usd", late]
    assert "worse in mean NPV" in c.verdict(1)
    changed = "(the model with risk.delivery_slip = {probability: 1.0"
    assert c.verdict(1).startswith(f"\u201c{late}\u201d {changed}")
    assert "one plan under two models on 5 common scenarios" in api.comparison_html(c)
    # one plan on both sides: no table of purchase differences, which could only say there are none
    assert "Purchases against" not in api.comparison_html(c) and "Purchases against" not in c.to_markdown()
    # every $ escaped in Markdown: a notebook typeset the text between two money figures as mathematics
    assert "\\$785.5k" in c.to_markdown() and re.search(r"(?<!\\)\$", c.to_markdown()) is None
    words = " ".join(c.notes())
    assert (f"What if: \u201c{late}\u201d is \u201c{first}\u201d run under the model with "
            "risk.delivery_slip = {probability: 1.0, min_quarters: 1, max_quarters: 1} (hash "
            f"{api.edit(loaded, SLIP).content_hash}), on the same scenarios") in words
    assert json.loads(c.to_json())["what_if"].startswith("risk.delivery_slip = {probability: 1.0")


def test_labels_name_the_two_sides(plan_file):
    path, loaded = plan_file
    c = api.compare(path, loaded, scenarios=3, seed=1, what_if=SLIP, labels=["on time", "late"])
    assert c.labels == ["on time", "late"]
    with pytest.raises(InputError, match=r"3 given for a what-if, which compares two"):
        api.compare(path, loaded, scenarios=3, seed=1, what_if=SLIP, labels=["a", "b", "c"])


def test_a_what_if_of_two_plans_or_of_no_change_is_refused(plan_file, tmp_path):
    path, loaded = plan_file
    data = data_of(model())
    two = tmp_path / "two.npz"
    name, fingerprint = loaded.model.name, loaded.content_hash
    save_plans(two, [plan(data), plan(data, served=False)], ["p", "q"], name, fingerprint)
    with pytest.raises(CompareError, match=r"compares one plan with itself under the model changed: 2 given"):
        api.compare(two, loaded, scenarios=3, what_if=SLIP)
    # the refusal says what gives one plan: a solve's folder, a sweep's (its pick), a stochastic solve's
    with pytest.raises(CompareError, match=r"a sweep's its pick, a stochastic solve's its stochastic plan"):
        api.compare(two, loaded, scenarios=3, what_if=SLIP)
    with pytest.raises(InputError, match=r"what_if must be a non-empty mapping .* \(got an empty one\)"):
        api.compare(path, loaded, scenarios=3, what_if={})


def test_a_what_if_written_as_the_command_line_writes_it_is_refused_as_text(plan_file):
    """what_if="PATH=VALUE" (as --what-if takes it) was refused as "not empty (got ...)", and
    scenario_path's what_if, empty or text, as "changes must be ...", an argument it has not: each
    names what_if and says what it was given."""
    path, loaded = plan_file
    text = "risk.price_volatility_annual=0.5"
    refused = r"^what_if must be a non-empty mapping .* \(got a value of type str\)"
    with pytest.raises(InputError, match=refused):
        api.compare(path, loaded, scenarios=3, what_if=text)
    for what_if, got in ((text, "a value of type str"), ({}, "an empty one")):
        with pytest.raises(InputError, match=rf"^what_if must be a non-empty mapping .* \(got {got}\)"):
            api.scenario_path(path, 0, model=loaded, what_if=what_if)


def test_the_command_line_takes_what_if_as_set_does(plan_file, tmp_path):
    path, loaded = plan_file
    model_file = tmp_path / "m.yaml"
    model_file.write_text(loaded.text)
    slip = "risk.delivery_slip={probability: 1, min_quarters: 1, max_quarters: 1}"
    code, out, err = run_cli("compare", str(path), "--model", str(model_file), "--scenarios", "3",
                             "--what-if", slip, "--format", "json")  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    assert got["plans"] == ["p.npz: p", "p.npz: p, what if"]
    assert got["what_if"].startswith("risk.delivery_slip = ")
    code, _, err = run_cli("compare", str(path), "--model", str(model_file), "--what-if", "risk.a")
    assert code == 2 and "--what-if 'risk.a': give PATH=VALUE" in err, err


def test_a_what_if_of_the_cash_buffer_runs_the_plan_with_that_buffer(tmp_path):
    """A solve's plan file keeps the buffer it was made with (0 here): a what-if of
    ``policy.liquidity_buffer_usd`` asks for the plan run with the new one, not its own again. With
    $1B of opening cash, a $1B buffer defers the order the plan pays from it, so the NPV is no longer
    the on-time 785,500; it is the plan's NPV with that buffer, on the same scenarios."""
    loaded, data = load(model()), data_of(model())
    path = tmp_path / "solved.npz"
    solved = plans_npz_bytes([plan(data)], ["p"], loaded.model.name, loaded.content_hash, buffers=[0.0])
    path.write_bytes(solved)
    c = api.compare(path, loaded, scenarios=3, seed=1, what_if={"policy.liquidity_buffer_usd": 1e9})
    first, buffered = c.labels
    batch = with_buffers(compile_plans(data, [plan(data)], ["p"]), [1e9])
    expected = evaluate(data, batch, 3, 1, backend="numpy").metrics["npv_mean_usd"].iloc[0]
    assert c.figures.loc["npv_mean_usd", first] == pytest.approx(785_500.0, rel=1e-12)
    assert expected < 785_500.0 - 1.0  # the buffer acts
    assert c.figures.loc["npv_mean_usd", buffered] == pytest.approx(expected, rel=1e-9)


def test_a_what_if_the_plan_cannot_run_under_names_the_change(plan_file, tmp_path):
    """A change to what the plan's decisions are over (here the horizon, 6 quarters to 5) is refused
    naming the change and what to do, not with the arrays' shapes alone."""
    path, loaded = plan_file
    model_file = tmp_path / "m.yaml"
    model_file.write_text(loaded.text)
    code, out, err = run_cli("compare", str(path), "--model", str(model_file), "--scenarios", "3",
                             "--what-if", "horizon.quarters=5")  # fmt: skip
    assert code == 2 and out == "", (out, err)
    assert "error: --what-if horizon.quarters = 5: the plan 'p.npz: p' does not fit the model so changed" \
        in err
    assert "solve the changed model" in err and "Traceback" not in err


def test_a_what_if_the_model_already_has_is_said(plan_file):
    """``policy.liquidity_buffer_usd=0`` on a model whose buffer is 0 (the default) changes nothing:
    every difference is 0, and a warning says why rather than a verdict 'the same' alone."""
    path, loaded = plan_file
    with pytest.warns(FleetoptWarning, match=r"policy.liquidity_buffer_usd = 0(\.0)?: the model already has"):
        c = api.compare(path, loaded, scenarios=3, seed=1, what_if={"policy.liquidity_buffer_usd": 0})
    assert c.figures.loc["npv_mean_usd"].tolist() == [785_500.0, 785_500.0]


@pytest.mark.parametrize(
    "typed, given, said",
    [("policy.liquidity_buffer_usd=0", {"policy.liquidity_buffer_usd": 0},
      "policy.liquidity_buffer_usd = 0: the model already has that"),
     ("policy.distress_sale_discount=0.5", {"policy.distress_sale_discount": 0.5},
      "policy.distress_sale_discount = 0.5: every figure of the plan is the same")],
    ids=["already-had", "inert"],
)  # fmt: skip
def test_a_what_if_s_warnings_name_it_as_python_and_the_terminal_each_call_it(plan_file, tmp_path, typed,
                                                                                given, said):  # fmt: skip
    """A what-if's warnings said 'what_if (--what-if) ...' in the terminal too, where its refusals say
    '--what-if' alone: the terminal now names the option alone, Python the keyword with it."""
    path, loaded = plan_file
    with pytest.warns(FleetoptWarning) as caught:
        api.compare(path, loaded, scenarios=3, seed=1, what_if=given)
    assert any(str(w.message).startswith(f"what_if (--what-if) {said}") for w in caught), caught
    model_file = tmp_path / "m.yaml"
    model_file.write_text(loaded.text)
    code, _, err = run_cli("compare", str(path), "--model", str(model_file), "--scenarios", "3",
                           "--seed", "1", "--what-if", typed)  # fmt: skip
    flat = " ".join(err.split())
    assert code == 0 and f"warning: --what-if {said}" in flat and "what_if (" not in flat, err


def test_a_what_if_of_a_model_given_as_data_alone_is_refused_by_name(plan_file):
    """ModelData has no model file to edit: the what-if is refused saying so, not with an
    AttributeError from the plans' version check."""
    path, _ = plan_file
    with pytest.raises(InputError, match=r"what_if \(--what-if\) edits the model: give model= as a model"):
        api.compare(path, data_of(model()), scenarios=3, what_if=SLIP)


def test_the_notes_put_only_the_first_side_under_the_model_given(plan_file):
    """The what-if side runs under the model changed: the notes do not say every plan is evaluated
    under the model given."""
    path, loaded = plan_file
    words = " ".join(api.compare(path, loaded, scenarios=3, seed=1, what_if=SLIP).notes())
    assert "Every plan is evaluated under" not in words
    assert f"\u201cp.npz: p\u201d is evaluated under model '{loaded.model.name}'" in words


def test_a_plan_of_another_version_of_the_model_is_noted_as_in_a_comparison(tmp_path):
    """A plan file made from another version of the model (here one with a 1 % discount rate) is
    evaluated under the model given: the what-if's notes, CSV and JSON say so, as a comparison's do,
    not only a warning on the terminal."""
    other = model()
    other["horizon"]["discount_rate_annual"] = 0.01
    made, data = load(other), data_of(other)
    path = tmp_path / "old.npz"
    save_plans(path, [plan(data)], ["p"], made.model.name, made.content_hash)
    with pytest.warns(FleetoptWarning, match=r"another version of model"):
        c = api.compare(path, load(model()), scenarios=3, seed=1, what_if=SLIP)
    assert any("were made from another version of model" in note for note in c.notes())
    assert json.loads(c.to_json())["model_versions"] and "model_version_note_1" in c.to_csv()


def test_a_what_if_of_a_cost_plan_keeps_a_lab_s_figures(tmp_path):
    """A plan solved for least cost is judged by its present cost and the demand it serves (as
    compare_plans shows it): a what-if of one left those rows out, its note too, and its verdict
    weighed the NPV, as for a neocloud's plan; from a run folder and in memory alike."""
    loaded, _ = api.load("lab")
    solved = api.solve(loaded, objective="cost")
    folder = api.write_solve_run(solved, loaded, tmp_path / "cost")
    change = {"horizon.discount_rate_annual": 0.2}
    for given in (folder, solved):
        c = api.compare(given, scenarios=5, seed=1, what_if=change)
        assert c.cost_plans == c.labels
        assert list(c.figures.index[:3]) == ["present_cost_usd", "present_cost_per_h100_hour_usd",
                                             "present_cost_mean_usd"]  # fmt: skip
        assert "market_demand_served" in c.figures.index
        assert any("solved for least cost" in note for note in c.notes())


def test_a_what_if_of_a_sweep_is_of_its_pick(tmp_path, monkeypatch):
    """A sweep's folder gives a comparison two plans, its forecast optimum and its pick; a what-if
    of it was refused as two plans, though the pick is what a planner asks it of: it takes the pick."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    folder = tmp_path / "W"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "3", "--scenarios", "20", "--allow-riskier",
                           "--allow-forecast-breach", "--out", str(folder))  # fmt: skip
    assert code == 0, err
    pick = json.loads((folder / "summary.json").read_text())["recommended"]
    c = api.compare(folder, scenarios=5, seed=1, what_if={"risk.price_volatility_annual": 0.5})
    assert c.labels == [pick, f"{pick}, what if"]


def test_a_what_if_of_a_sweep_that_picked_its_forecast_optimum_is_of_that_plan(tmp_path, monkeypatch):
    """tiny's sweep of 2 candidates on 20 scenarios of seed 2 recommends its forecast optimum, one
    plan where the folder gives two; the what-if dropped it as the optimum and was refused as "0
    given": it is of that plan."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    folder = tmp_path / "W"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "2", "--scenarios", "20", "--seed", "2",
                           "--prefer", "mean", "--out", str(folder))  # fmt: skip
    assert code == 0, err
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["recommended"] == summary["forecast_optimum"] == "milp: forecast"
    c = api.compare(folder, scenarios=5, seed=1, what_if={"risk.price_volatility_annual": 0.5})
    assert c.labels == ["W: milp: forecast", "W: milp: forecast, what if"]
    assert c.figures.loc["npv_forecast_usd"].iloc[0] == c.figures.loc["npv_forecast_usd"].iloc[1]


def test_a_what_if_whose_model_forbids_the_plan_names_the_change(plan_file, tmp_path):
    """The plan draws 100 GPUs x 1 kW x PUE 1 = 0.1 MW from 2026Q2; with the site's power cut to 0.05 MW
    the changed model forbids it: the refusal names the --what-if change, as a change of the horizon's
    does, not only the what-if side's label."""
    path, loaded = plan_file
    model_file = tmp_path / "m.yaml"
    model_file.write_text(loaded.text)
    code, out, err = run_cli("compare", str(path), "--model", str(model_file), "--scenarios", "3",
                             "--what-if", "sites.s1.power_capacity_mw=0.05")  # fmt: skip
    assert code == 2 and out == "", (out, err)
    assert "error: --what-if sites.s1.power_capacity_mw = 0.05: the model so changed forbids the plan" in err
    assert "draws 0.1 MW at site 's1' in 2026Q2, more than the 0.05 MW the plan has online" in err
    assert "solve the changed model" in err and "Traceback" not in err


def test_a_what_if_that_turns_a_covenant_on_keeps_its_first_breach_row(plan_file):
    """The model tests no covenant; the what-if tests a $2B liquidity floor from the first quarter,
    which the plan's cash (the $1B opened with, less the $400,000 it pays for its GPUs) misses in
    every scenario, the forecast too: its first breach breaks liquidity in 100 % of them, against 0 %
    on the model's side. The row was left out, as the model's covenants alone were read."""
    path, loaded = plan_file
    floor = {"finance.covenants": {"test_from": "2026Q1", "min_liquidity_usd": 2e9}}
    c = api.compare(path, loaded, scenarios=4, seed=1, what_if=floor)
    assert c.figures.loc["first_breach_liquidity_share"].tolist() == [0.0, 1.0]
    assert c.figures.loc["breach_probability"].tolist() == [0.0, 1.0]
    assert c.figures.loc["forecast_breach"].tolist() == [0.0, 1.0]
    assert "first_breach_leverage_share" not in c.figures.index  # tested on neither side
    assert "first breach breaks liquidity" in c.to_markdown()


def test_a_what_if_describes_both_models(plan_file):
    """The model discounts at 0 % and tests no covenant; the what-if discounts at 10 % and tests a
    $2B liquidity floor. The page's definitions gave the first model's rate and covenants alone, and
    the JSON its hash alone: each now says which side uses which, and records both models."""
    path, loaded = plan_file
    change = {"horizon.discount_rate_annual": 0.1,
              "finance.covenants": {"test_from": "2026Q1", "min_liquidity_usd": 2e9}}  # fmt: skip
    c = api.compare(path, loaded, scenarios=3, seed=1, what_if=change)
    first, changed = (f"\u201c{label}\u201d" for label in c.labels)
    page = html.unescape(api.comparison_html(c))
    assert f"net present value at the model's discount rate of 0% ({first}) or 10% ({changed}) a year" in page
    assert (f"<dt>covenants</dt><dd>{first}: the model sets no covenants (finance.covenants), so no "
            f"scenario can breach one. {changed}: liquidity >= $2.00B; tested every quarter") in page
    assert "<dt>PUE</dt><dd>power usage effectiveness" in page  # alike on both sides: said once
    edited = api.edit(loaded, change).content_hash
    got = json.loads(c.to_json())
    assert (got["model"]["hash"], got["what_if_model"]["hash"]) == (loaded.content_hash, edited)
    assert got["what_if_model"]["chosen"].startswith("the first side's model with horizon.discount_rate")
    assert f"what_if_model_hash,{edited}" in c.to_csv()
    assert f"(hash {edited}), on the same scenarios" in c.to_markdown()


def test_a_threshold_changed_is_said_in_place(plan_file):
    """A covenant's threshold changed ($1M to $2B of liquidity) is said where it stands in the
    definition, each value named by its side, not with the punctuation after it."""
    path, loaded = plan_file
    tested = api.edit(loaded, {"finance.covenants": {"test_from": "2026Q1", "min_liquidity_usd": 1e6}})
    with pytest.warns(FleetoptWarning, match=r"another version of model"):  # the plan file's model: untested
        c = api.compare(path, tested, scenarios=3, seed=1, labels=["A", "B"],
                        what_if={"finance.covenants.min_liquidity_usd": 2e9})
    page = html.unescape(api.comparison_html(c))
    said = "liquidity >= $1.0M (\u201cA\u201d) or $2.00B (\u201cB\u201d); tested every quarter"
    assert f"<dt>covenants</dt><dd>{said}" in page


def test_npvs_at_two_discount_rates_are_not_called_better_or_worse(plan_file):
    """At 10 % a year the plan's NPV is lower than at 0 % (its later cash discounted) though the plan
    does the same: the rate moves it, so the NPVs are not ranked (nor coloured on the page), and a
    note and the JSON say why; a figure the rate leaves alone (utilisation) keeps its direction."""
    path, loaded = plan_file
    c = api.compare(path, loaded, scenarios=3, seed=1, what_if={"horizon.discount_rate_annual": 0.1})
    first, later = c.labels
    assert c.figures.loc["npv_mean_usd", later] < c.figures.loc["npv_mean_usd", first] == 785_500.0
    assert c.better("npv_mean_usd") == "" and c.better("npv_forecast_usd") == ""
    assert c.better("mean_utilisation") == "higher"
    assert "worse in" not in c.verdict(1) and "no better direction: mean NPV" in c.verdict(1)
    said = "The two sides discount at different rates (0% and 10% a year)"
    assert any(note.startswith(said) for note in c.notes())
    doc = json.loads(c.to_json())
    assert doc["discount_rates"] == [0.0, 0.1]
    # each side's rate and the horizon (the model's 6 quarters), in the JSON and the CSV's "about"
    assert (doc["horizon_quarters"], doc["discount_rate_annual"], doc["what_if_discount_rate_annual"]) == (
        6, 0.0, 0.1)  # fmt: skip
    about = c.to_csv().split("\n\n")[0].splitlines()
    basis = ("over the horizon's 6 quarters (NPV: equity cash flows and terminal equity at 0% and 10% a "
             "year, USD)")
    assert {"horizon_quarters,6", "discount_rate_annual,0.0", "what_if_discount_rate_annual,0.1",
            f'horizon_and_discount_rate,"{basis}"'} <= set(about)  # fmt: skip
    assert "class='bad'" not in api.comparison_html(c)


def test_a_what_if_of_the_model_s_own_buffer_drops_the_plan_s(tmp_path):
    """A plan made with a $1B cash buffer (a sweep's policy candidate) under a model whose buffer is 0:
    `--what-if policy.liquidity_buffer_usd=0` asks for the plan without its buffer. It ran with its
    own again on both sides, warned of as 'the model already has that', every difference 0; now the
    what-if side runs with none: the on-time NPV of 785,500, against the deferred order's with $1B."""
    loaded, data = load(model()), data_of(model())
    path = tmp_path / "buffered.npz"
    name, fingerprint = loaded.model.name, loaded.content_hash
    path.write_bytes(plans_npz_bytes([plan(data)], ["p"], name, fingerprint, buffers=[1e9]))
    for change in ({"policy.liquidity_buffer_usd": 0}, {"policy": {"liquidity_buffer_usd": 0}}):
        with warnings.catch_warnings():
            warnings.simplefilter("error", FleetoptWarning)  # a change the plan does not have: no warning
            c = api.compare(path, loaded, scenarios=3, seed=1, what_if=change)
        buffered, without = c.labels
        assert c.figures.loc["npv_mean_usd", buffered] < 785_500.0 - 1.0  # the buffer defers the order
        assert c.figures.loc["npv_mean_usd", without] == pytest.approx(785_500.0, rel=1e-12)


def test_the_terminal_titles_a_what_if_as_the_page_does(plan_file, tmp_path):
    """The terminal's table was titled 'plans on 3 common scenarios', as for two plans; the page
    'one plan under two models': both now say what a what-if compares."""
    path, loaded = plan_file
    model_file = tmp_path / "m.yaml"
    model_file.write_text(loaded.text)
    code, out, err = run_cli("compare", str(path), "--model", str(model_file), "--scenarios", "3",
                             "--what-if", "horizon.discount_rate_annual=0.1")  # fmt: skip
    assert code == 0, err
    assert "one plan under two models on 3 common scenarios (seed 0)" in " ".join(out.split())
    # the two sides' rates where they differ (the note below says why neither NPV is called better)
    assert ("over the horizon's 6 quarters (NPV: equity cash flows and terminal equity at 0% and 10% a "
            "year, USD)") in out


def test_a_what_if_the_plan_cannot_run_under_names_the_change_it_made(plan_file, tmp_path):
    """SKU A ships from 2026Q2 (quarter 1) on a horizon to 2027Q2 (quarter 5): a certain slip of 5
    quarters moves the plan's GPUs past its end, which the evaluator refuses ('at most 4 for A');
    the refusal said so without naming the --what-if change that made the slip."""
    path, loaded = plan_file
    model_file = tmp_path / "m.yaml"
    model_file.write_text(loaded.text)
    slip = "risk.delivery_slip={probability: 1, min_quarters: 5, max_quarters: 5}"
    code, out, err = run_cli("compare", str(path), "--model", str(model_file), "--scenarios", "3",
                             "--what-if", slip)  # fmt: skip
    assert code == 2 and out == "", (out, err)
    err = " ".join(err.split())
    assert ("error: --what-if risk.delivery_slip = {probability: 1, min_quarters: 5, max_quarters: 5}: under "
            "the model so changed, risk.delivery_slip: a slip of 5 quarters") in err
    assert "(at most 4 for A)" in err and "Traceback" not in err


def test_a_covenant_tested_on_another_numerator_is_named_as_each_side_tests_it(plan_file):
    """The model tests its DSCR on EBITDA; the what-if on EBITDA less tax: the first-breach row was
    named as the model tests it alone."""
    path, loaded = plan_file
    tested = api.edit(loaded, {"finance.covenants": {"test_from": "2026Q1", "min_dscr": 1.2}})
    with pytest.warns(FleetoptWarning) as said:  # the plan file's model is untested; and without debt
        c = api.compare(path, tested, scenarios=3, seed=1, labels=["A", "B"],  # no figure changes
                        what_if={"finance.covenants.dscr_cash_flow": "ebitda_less_tax"})
    assert any("another version of model" in str(warning.message) for warning in said)
    names = {key: name for key, name, _ in c.rows()}
    said = "first breach breaks EBITDA (\u201cA\u201d) or (EBITDA - tax) (\u201cB\u201d) / debt service"
    assert names["first_breach_dscr_share"] == said


def test_a_what_if_that_changes_no_figure_is_said(plan_file):
    """The plan never runs short of cash ($1B opened with, no risk but the slip, none here), so it never sells
    GPUs in distress: a distress discount of 50 % changes the model but none of the plan's figures.
    Every difference is 0, and a warning says the change touches nothing the plan does, rather than
    a verdict 'the same' alone; a change that does move a figure (a certain slip) is not warned of."""
    path, loaded = plan_file
    with pytest.warns(FleetoptWarning, match=r"discount = 0.5: every figure of the plan is the same"):
        c = api.compare(path, loaded, scenarios=3, seed=1, what_if={"policy.distress_sale_discount": 0.5})
    assert c.figures.loc["npv_mean_usd"].tolist() == [785_500.0, 785_500.0] and not c.differs()
    # the page and the notes say why, not the warning alone: the page read 'the same in all five' only
    assert "the change touches nothing this plan does or risks" in html.unescape(api.comparison_html(c))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FleetoptWarning)
        assert api.compare(path, loaded, scenarios=3, seed=1, what_if=SLIP).differs()


def test_late_power_that_changes_no_figure_says_the_plan_builds_no_block(plan_file):
    """A risk analyst made power certain to be late and was told of delivery slips: the plan builds
    no expansion block, and risk.power_delay's probability delays nothing else. The warning says so,
    and which field delays the sites' contracted power."""
    path, loaded = plan_file
    late = {"risk.power_delay": {"probability": 1.0, "max_extra_quarters": 2}}
    with pytest.warns(FleetoptWarning, match=r"power_delay's probability delays only the expansion blocks "
                      r"a plan builds, and this plan builds none; risk.power_delay.contracted_probability"):
        c = api.compare(path, loaded, scenarios=3, seed=1, what_if=late)
    assert not c.differs() and "delivery slip" not in c.what_if_inert


@pytest.mark.parametrize("contracted, rises", [(0.0, ""), (0.5, ", and none rises here")])
def test_late_power_with_a_contracted_probability_says_why_by_the_changed_model(plan_file, contracted, rises):
    """The same late blocks with risk.power_delay.contracted_probability set in the what-if: the
    reason read the what-if's words, not the model it made, and any mention of the contracted
    probability gave the delivery slip's reason. Under the model so changed its site's contracted
    capacity is on time (0), or late with probability 0.5 but never rising (its power_capacity_mw is
    flat): either way only the blocks could be late, and the plan builds none."""
    path, loaded = plan_file
    delay = {"probability": 1.0, "max_extra_quarters": 2, "contracted_probability": contracted}
    late = {"risk.power_delay": delay}
    with pytest.warns(FleetoptWarning, match=r"power_delay's probability delays only the expansion blocks "):
        c = api.compare(path, loaded, scenarios=3, seed=1, what_if=late)
    assert not c.differs() and "delivery slip" not in c.what_if_inert
    assert c.what_if_inert.endswith(f"power_capacity_mw{rises})")


def test_a_what_if_value_the_model_format_refuses_names_the_what_if(plan_file, tmp_path):
    """A negative discount rate given to --what-if was refused as 'm.yaml, edited
    (horizon.discount_rate_annual): ...', a model the user never wrote: it names the --what-if as
    the other refusals of its side do."""
    path, loaded = plan_file
    model_file = tmp_path / "m.yaml"
    model_file.write_text(loaded.text)
    code, out, err = run_cli("compare", str(path), "--model", str(model_file), "--scenarios", "3",
                             "--what-if", "horizon.discount_rate_annual=-5")  # fmt: skip
    assert code == 2 and out == "", (out, err)
    assert err == ("error: --what-if horizon.discount_rate_annual = -5: "
                   "horizon.discount_rate_annual: Input should be greater than or equal to 0 (got -5)\n")

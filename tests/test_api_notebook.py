"""A notebook session's path through the Python API: a model changed field by field, solves with
another thread count in one process, and the refusals that keep a run folder from mixing two models
or being left half-made by a wrong argument."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from functools import partial
from html import unescape

import pandas as pd
import pytest
from conftest import TINY_PATH, run_cli

from fleetopt import api
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.notebook import markdown_text
from fleetopt.core.units import format_usd
from fleetopt.errors import FleetoptWarning, InputError
from fleetopt.schema.issues import ModelError
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.parsing import parse_model_text
from fleetopt.stochastic.result import StochasticResult

PRICE = "contracts.lab-a-training.price_usd_per_gpu_hour"


def test_an_edited_model_is_its_text_and_its_run_reproduces_the_solve(here):
    """A price changed in Python reaches the solve, the run folder's model.yaml and an evaluation of
    the run on the forecast (which reproduces the solve's NPV); the other fields stay as they were."""
    base, _ = api.load("tiny")
    edited = api.edit(base, {PRICE: 3.0})
    assert edited.model.contracts["lab-a-training"].price_usd_per_gpu_hour == 3.0
    assert parse_model_text(edited.text, "t") == edited.model
    assert edited.model.model_dump(exclude={"contracts"}) == base.model.model_dump(exclude={"contracts"})
    solved = api.solve(edited)
    folder = api.write_solve_run(solved, out=here / "edited")
    written = api.load(folder / "model.yaml")[0]
    assert written.model == edited.model
    # what the run changed is recorded beside the model as changed; the copy read back has none
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["model_changes"] == [{"path": PRICE, "value": 3.0}]
    assert (base.changes, edited.changes, written.changes) == ((), ((PRICE, 3.0),), ())
    result, _, _ = api.evaluate(folder, deterministic=True, backend="numpy")
    npv = float(result.metrics["npv_mean_usd"].iloc[0])
    assert npv == pytest.approx(solved.headline()["npv_usd"], rel=1e-9)
    assert npv != pytest.approx(api.solve(base).headline()["npv_usd"], rel=1e-3)


def test_edit_names_what_it_cannot_change():
    with pytest.raises(InputError, match=r"contracts.nope: no such field \(contracts has lab-a-training"):
        api.edit("tiny", {"contracts.nope.price_usd_per_gpu_hour": 1.0})
    with pytest.raises(InputError, match=r"fleet.3: no such field \(fleet is a list of 1 item, numbered"):
        api.edit("tiny", {"fleet.3.gpus": 8})
    # a doubled dot said "contracts.: no such field", naming no empty part
    with pytest.raises(InputError, match=r"'contracts..gpus': a field path has a name between each pair"):
        api.edit("tiny", {"contracts..gpus": 8})
    with pytest.raises(ModelError, match=r"edited \(finance.opening_cash_usd\): finance.opening_cash_usd: "):
        api.edit("tiny", {"finance.opening_cash_usd": "lots"})
    # text is text, whatever it spells: "1e8" was written unquoted and read back as a number,
    # while "150000000" was refused
    for text in ("1e8", "1.5e8", "150000000"):
        with pytest.raises(ModelError, match=r"finance.opening_cash_usd: must be a number, not text"):
            api.edit("tiny", {"finance.opening_cash_usd": text})
    for text in ("1e8", "0800", "-007"):  # 0800 was written bare, and refused as a number with a leading 0
        assert api.edit("tiny", {"description": text}).model.description == text
    with pytest.raises(ModelError, match=r"fleet.0.gpus: required field is missing"):
        api.edit("tiny", {"fleet.0.gpus": None})
    with pytest.raises(InputError, match=r"changes must be a non-empty mapping .* \(got an empty one\)"):
        api.edit("tiny", {})


def test_a_loaded_model_s_field_set_in_place_is_refused_pointing_to_edit():
    """`loaded.model.finance.opening_cash_usd = 1` raised pydantic's "Instance is frozen" (a
    ValidationError, not fleetopt's InputError), saying neither why nor how to change the model."""
    loaded, _ = api.load("tiny")
    cash = loaded.model.finance.opening_cash_usd
    edit = re.escape("change a model with fleetopt.api.edit(model, {field: value})")
    with pytest.raises(InputError, match=rf"^Finance.opening_cash_usd cannot be set: a loaded model is "
                                         rf"read-only .*{edit}"):  # fmt: skip
        loaded.model.finance.opening_cash_usd = 1
    with pytest.raises(InputError, match=r"^PlanningModel.description cannot be deleted: .* read-only"):
        del loaded.model.description
    assert loaded.model.finance.opening_cash_usd == cash
    assert api.edit(loaded, {"finance.opening_cash_usd": 1}).model.finance.opening_cash_usd == 1


def test_a_loaded_models_own_attributes_set_in_place_are_refused_pointing_to_edit():
    """`loaded.model = other` raised dataclasses' FrozenInstanceError, where a field of the model says
    it is read-only and to use fleetopt.api.edit: the LoadedModel's attributes say the same."""
    loaded, _ = api.load("tiny")
    other = api.edit(loaded, {"finance.opening_cash_usd": 1}).model
    edit = re.escape("change a model with fleetopt.api.edit(model, {field: value})")
    refused = rf"^LoadedModel.model cannot be set: a loaded model is read-only .*{edit}"
    with pytest.raises(InputError, match=refused):
        loaded.model = other
    with pytest.raises(InputError, match=r"^LoadedModel.text cannot be deleted: a loaded model is read-only"):
        del loaded.text
    assert loaded.model.finance.opening_cash_usd != 1 and loaded.text


def test_changes_in_a_shape_edit_cannot_read_are_named():
    """A list of pairs is taken (the docstring says so), but a malformed one was refused as "must be
    a non-empty mapping", which said neither that a list may do nor what was wrong with it."""
    with pytest.raises(InputError, match=r"a list of \(path, value\) tuples .*an item \[.risk., None\]"):
        api.edit("tiny", [("horizon.discount_rate_annual", 0.1), ["risk", None]])
    with pytest.raises(InputError, match=r"\(got a value of type str\)"):
        api.edit("tiny", "horizon.discount_rate_annual=0.1")
    assert api.edit("tiny", [("horizon.discount_rate_annual", 0.1)]).model.horizon.discount_rate_annual == 0.1


def test_an_entry_of_a_mapping_field_the_file_leaves_out_can_be_set():
    """tiny sets no per-generation purchase limits and no customer ratings: setting one of each said
    "no such field (limits has max_customer_revenue_share)", though both fields exist (a fuzz
    audit). The mapping is made where it is missing; a contract still cannot be made piece by piece."""
    edited = api.edit("tiny", {"limits.new_gpus_per_quarter.blackwell": 100,
                               "risk.customer_ratings.lab-a": "CCC"})  # fmt: skip
    assert edited.model.limits.new_gpus_per_quarter["blackwell"] == 100
    assert edited.model.risk.customer_ratings == {"lab-a": "CCC"}
    with pytest.raises(ModelError, match=r"new_gpus_per_quarter.blackwel.*'hopper', 'blackwell' or 'rubin'"):
        api.edit("tiny", {"limits.new_gpus_per_quarter.blackwel": 100})


def test_a_part_of_a_field_the_file_leaves_out_is_refused_saying_it_is_one():
    """--set risk.delivery_slip.skus.0=B200 (the file sets a slip but no skus) said "risk.delivery_slip.
    skus: no such field (risk.delivery_slip has no fields)", and policy.defer_orders.x "policy.
    defer_orders: no such field": both are fields of the format, left out of the file. A misspelt
    field is still 'no such field'."""
    slip = {"risk.delivery_slip": {"probability": 0.5, "max_quarters": 1}}
    said = (r"^risk.delivery_slip.skus: the file leaves it out \(its default applies\), so no part of it "
            r"can be changed: set it whole, risk.delivery_slip.skus=VALUE$")
    with pytest.raises(InputError, match=said):
        api.edit(api.edit("tiny", slip), {"risk.delivery_slip.skus.0": "B200"})
    with pytest.raises(InputError, match=r"^policy.defer_orders: the file leaves it out"):
        api.edit("tiny", {"policy.defer_orders.x": True})
    with pytest.raises(InputError, match=r"^risk.power_delay.skus: no such field \(risk.power_delay has"):
        api.edit("tiny", {"risk.power_delay.skus.0": "B200"})
    with pytest.warns(FleetoptWarning, match="B200 never slips"):  # tiny's B200 ships already
        edited = api.edit(api.edit("tiny", slip), {"risk.delivery_slip.skus": ["B200"]})
    assert edited.model.risk.delivery_slip.skus == ["B200"]


def test_a_name_with_a_dot_in_it_is_edited_in_double_quotes(tmp_path):
    """A SKU named B200.v2 could not be reached by --set: every dot split the path. In double quotes
    a name is one part; unquoted, the error says how to write it."""
    path = tmp_path / "dotted.yaml"
    text = TINY_PATH.read_text(encoding="utf-8")
    assert "\n  B200:" in text
    path.write_text(text.replace("\n  B200:", "\n  B200.v2:"), encoding="utf-8")
    edited = api.edit(str(path), {'skus."B200.v2".power_kw_per_gpu': 1.9})
    assert edited.model.skus["B200.v2"].power_kw_per_gpu == 1.9
    assert 'edited (skus."B200.v2".power_kw_per_gpu)' in edited.source
    with pytest.raises(InputError, match=r'skus.B200: no such field .*in double quotes: "B200.v2"'):
        api.edit(str(path), {"skus.B200.v2.power_kw_per_gpu": 1.9})
    with pytest.raises(InputError, match="a double quote in a field path opens a name that is not closed"):
        api.edit(str(path), {'skus."B200.v2.power_kw_per_gpu': 1.9})
    # a problem names the field as --set takes it
    with pytest.raises(ModelError, match=r'skus\."B200\.v2"\.power_kw_per_gpu: Input should be greater'):
        api.edit(str(path), {'skus."B200.v2".power_kw_per_gpu': -1.0})


def test_edit_makes_a_block_the_file_leaves_out_and_refuses_to_remove_a_misspelt_field():
    import numpy as np

    changes = {"policy.reschedule_late_contracts": np.False_, "robustness.market_price_drop": 0.1,
               "contracts.lab-a-training.start": np.str_("2026Q4")}  # fmt: skip
    edited = api.edit("tiny", changes)
    # kept in order, as plain values (NumPy's as Python's: summary.json writes them); an edit of an
    # edited model adds its own, a tuple path as given
    again = api.edit(edited, {("finance", "opening_cash_usd"): np.int64(200_000_000)})
    assert again.changes == (
        ("policy.reschedule_late_contracts", False), ("robustness.market_price_drop", 0.1),
        ("contracts.lab-a-training.start", "2026Q4"), (("finance", "opening_cash_usd"), 200_000_000),
    )  # fmt: skip
    assert [type(value) for _, value in again.changes] == [bool, float, str, int]
    assert edited.model.contracts["lab-a-training"].start == "2026Q4"
    assert edited.model.policy.reschedule_late_contracts is False
    assert edited.model.robustness.market_price_drop == 0.1
    with pytest.raises(InputError, match=r"finance.opening_cash_usdd: no such field to remove \(finance has"):
        api.edit("tiny", {"finance.opening_cash_usdd": None})


def test_a_mapping_set_on_a_block_changes_only_the_fields_it_names():
    """{"risk": {"price_volatility_annual": 0.5}} once replaced the risk block, so tiny's demand
    volatility (0.2), power delays and customer default hazard (0.01) went back to their defaults
    (no risk) without a word."""
    base = api.load("tiny")[0].model
    changes = {"price_volatility_annual": 0.5, "power_delay": {"max_extra_quarters": 3}}
    edited = api.edit("tiny", {"risk": changes})
    risk, was = edited.model.risk, base.risk
    assert risk.price_volatility_annual == 0.5 and was.price_volatility_annual != 0.5
    assert risk.demand_volatility_annual == was.demand_volatility_annual == 0.2
    assert risk.customer_default_hazard_per_quarter == was.customer_default_hazard_per_quarter == 0.01
    assert risk.power_delay.max_extra_quarters == 3
    assert risk.power_delay.model_dump(exclude={"max_extra_quarters"}) == was.power_delay.model_dump(
        exclude={"max_extra_quarters"}
    )
    hopper = "market.price_usd_per_gpu_hour.training.hopper"
    curve = api.edit("tiny", {hopper: {"start": 2.0}}).model.market.price_usd_per_gpu_hour.training
    assert (curve.hopper.start, curve.hopper.annual_growth) == (2.0, -0.25)
    assert api.edit("tiny", {"fleet.0": {"gpus": 800}}).model.fleet[0].sku == "H100"
    removed = api.edit("tiny", {"risk": {"power_delay": None}}).model.risk
    assert removed.power_delay is None and removed.demand_volatility_annual == 0.2
    # a block set whole, then a field of it: each change recorded as it was given
    made = [("risk", None), ("risk", {"price_volatility_annual": 0.5}),
            ("risk.demand_volatility_annual", 0.3)]  # fmt: skip
    assert api.edit("tiny", made).changes == tuple(made)
    with pytest.raises(InputError, match=r"risk.power_delayy: no such field to remove \(risk has"):
        api.edit("tiny", {"risk": {"power_delayy": None}})


def test_an_empty_mapping_set_on_a_mapping_is_refused_as_changing_nothing():
    """`--set risk.customer_ratings={}` merged as any mapping (its entries changed, the others kept):
    neocloud kept its five ratings while the run recorded the edit as a change. Refused, saying how to
    clear the mapping; removing it (=null) clears it, and {} where the mapping is empty is no error."""
    with pytest.raises(InputError, match=r"risk.customer_ratings: an empty mapping changes nothing .*"
                                         r"remove it: risk.customer_ratings=null"):
        api.edit("neocloud", {"risk.customer_ratings": {}})
    assert api.load("neocloud")[0].model.risk.customer_ratings  # five ratings to clear
    assert api.edit("neocloud", {"risk.customer_ratings": None}).model.risk.customer_ratings == {}
    assert api.edit("tiny", {"risk.customer_ratings": {}}).model.risk.customer_ratings == {}
    code, _, err = run_cli("validate", "neocloud", "--set", "risk.customer_ratings={}")
    assert code == 2 and "an empty mapping changes nothing" in err, err
    # a block the file must give is not offered a removal that is refused in turn ("sites=null":
    # "sites: required field is missing")
    with pytest.raises(InputError, match=r"sites: an empty mapping changes nothing .*sites is required and "
                                         r"cannot be cleared: set the entries to change"):
        api.edit("tiny", {"sites": {}})


def test_a_model_that_is_not_its_text_is_refused_before_the_solve(tiny_loaded):
    """pydantic's model_copy changes the model and not its text: a run would keep the old text
    (model.yaml, hash) beside the new model's figures."""
    model = tiny_loaded.model
    contract = model.contracts["lab-a-training"].model_copy(update={"price_usd_per_gpu_hour": 3.0})
    contracts = {**model.contracts, "lab-a-training": contract}
    copied = LoadedModel(model.model_copy(update={"contracts": contracts}), "copy", tiny_loaded.text)
    with pytest.raises(InputError, match=r"is not its text's: change a model with fleetopt\.api\.edit"):
        api.solve(copied)


def test_a_later_solve_may_ask_for_another_thread_count():
    """HiGHS sizes its thread scheduler at a process's first run: a second solve with another
    ``threads`` stopped at once, reported as numerical trouble."""
    first, second = api.solve("tiny", threads=1), api.solve("tiny", threads=2)
    assert first.status == second.status == "optimal"
    assert second.headline()["npv_usd"] == pytest.approx(first.headline()["npv_usd"], rel=1e-9)


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"scenarios": 2.0}, r"scenarios \(--stochastic\) must be a whole number written as an int: 2, not"),
        ({"scenarios": "3"}, r"scenarios \(--stochastic\) must be a whole number"),
        ({"risk_weight": "0.5"}, r"risk_weight \(--risk-weight\) must be a finite number"),
        ({"first_stage_quarters": 2.5}, r"first_stage_quarters \(--first-stage-quarters\) must be a whole"),
        ({"cvar_alpha": 1.0}, r"cvar_alpha \(--cvar-alpha\) is the share of worst scenarios .* at most 0.5"),
        ({"solver": "ph"}, r"solver \(--stochastic-solver\) must be one of blocks"),
        # named by its options alone ("leave --risk-weight at 0"), which a Python caller does not give
        ({"solver": "mpisppy-ef", "risk_weight": 0.5},
         r"solver \(--stochastic-solver\) mpisppy-ef .* leave risk_weight \(--risk-weight\) at 0"),
    ],
)
def test_stochastic_settings_are_refused_by_name(settings, words):
    with pytest.raises(InputError, match=words):
        api.solve_stochastic("tiny", **{"scenarios": 2, **settings})


def test_an_evaluation_is_written_only_with_its_own_model(here):
    """The metrics of tiny's plans written with the lab model would be listed as a lab run."""
    folder = api.write_solve_run(api.solve("tiny"), out=here / "solved")
    result, loaded, source = api.evaluate(folder, scenarios=4, backend="numpy")
    for write in (partial(api.write_evaluate_run, out=here / "wrong"), api.evaluation_summary):
        # the summary alone was made, of tiny's figures named 'lab'
        with pytest.raises(InputError, match="evaluated under another model than the one given, 'lab'"):
            write(result, api.load("lab"), source)
    for args, words in [
        (("x", loaded, source), "result must be what fleetopt.api.evaluate returns first"),
        ((result, loaded, "x"), "source must be the plans fleetopt.api.evaluate returns third"),
        ((result, loaded, source, 5), "out must be a path"),
    ]:
        with pytest.raises(InputError, match=words):
            api.write_evaluate_run(*args)
    assert sorted(p.name for p in here.iterdir() if p.is_dir() and p.name != "runs") == ["solved"]
    assert not (here / "runs").exists() or not any((here / "runs").glob("*-evaluate*"))


def test_sweep_arguments_are_checked_before_any_work():
    # named by the options alone ("--candidates must be at least 2"), which a Python caller does not give
    table = api.solve("tiny").plan_frame()
    with pytest.raises(InputError, match=r"^candidates \(--candidates\) must be at least 2: .* each of "
                       r"purchases \(--purchases\) \(got 1\)$"):
        api.sweep("tiny", candidates=1, purchases=[table])
    with pytest.raises(InputError, match="progress must be a function or None"):
        api.sweep("tiny", progress=5)
    with pytest.raises(InputError, match="folder must be a path"):
        api.sweep("tiny", folder=5)
    with pytest.raises(InputError, match=r"result must be what fleetopt\.api\.sweep returns"):
        api.write_sweep_run("x")


@pytest.fixture(scope="module")
def tiny_loaded() -> LoadedModel:
    return api.load("tiny")[0]


def test_a_stochastic_result_reads_like_a_solve_and_is_written_with_its_model(here):
    """It had no plan_frame, statements_frame or headline, and its writing needed the model again."""
    result = api.solve_stochastic("tiny", 2, out_of_sample=0)
    statements = result.statements_frame()
    assert result.headline()["npv_usd"] == pytest.approx(plan_statements(result.data, result.plan).npv_usd)
    assert len(statements) == result.data.T
    assert set(result.plan_frame()["quarter"]) <= set(statements["quarter"])
    # its debt table too, of the completed plan's statements (it had none: a notebook user's review)
    debt = result.debt_frame()
    assert debt["end_2028Q2_usd"].tolist() == [statements["debt_facility_gpu-term-loan_usd"].iloc[-1]]
    folder = api.write_stochastic_run(result, out=here / "sto")
    assert (folder / "model.yaml").read_text() == api.load("tiny")[0].text
    assert len(repr(result)) < 200


@pytest.fixture(scope="module")
def stochastic_tiny():
    """`fleetopt solve tiny --stochastic 4` through the API: its out-of-sample check on 1,000 fresh
    scenarios, seed 1."""
    return api.solve_stochastic("tiny", 4)


def test_a_stochastic_results_tables_are_data_frames_of_the_rows_its_display_shows(stochastic_tiny):
    """A notebook had the out-of-sample check as a dict of dicts and the commitments as a list of
    dicts, though the display shows both as tables: each is a DataFrame now, a row per row shown,
    in figures whose columns name their units (a commitment's ``unit`` column, which varies by row)."""
    result = stochastic_tiny
    shown = result._repr_markdown_()
    oos = result.out_of_sample_frame()
    assert list(oos.columns) == [
        "plan", "npv_mean_usd", "npv_cvar5_usd", "breach_probability", "default_probability",
        "any_default_probability", "npv_mean_usd_paired_se", "npv_cvar5_usd_paired_se",
        "breach_probability_paired_se", "default_probability_paired_se",
        "any_default_probability_paired_se"]  # fmt: skip
    difference = "stochastic less forecast (paired standard error)"
    assert oos["plan"].tolist() == ["stochastic plan", "forecast optimum", difference]
    assert all(f"| {markdown_text(plan)} | " in shown for plan in oos["plan"])
    mine, theirs, less = (row for _, row in oos.iterrows())
    # the summary's figures, in USD and shares; the difference row is the first less the second
    assert mine["npv_mean_usd"] == result.out_of_sample["metrics"]["stochastic"]["npv_mean_usd"]
    assert theirs["breach_probability"] == result.out_of_sample["metrics"]["forecast"]["breach_probability"]
    for figure in ("npv_mean_usd", "npv_cvar5_usd", "breach_probability", "any_default_probability"):
        assert less[figure] == pytest.approx(mine[figure] - theirs[figure], abs=1e-6)
    assert less["npv_mean_usd_paired_se"] == result.out_of_sample["paired"]["npv_mean_usd_diff_se"] > 0
    assert mine[["npv_mean_usd_paired_se", "breach_probability_paired_se"]].isna().all()  # a plan has none
    assert f"| stochastic plan | {markdown_text(format_usd(mine['npv_mean_usd']))} | " in shown

    commit = result.commitments_frame()
    assert list(commit.columns) == ["quarter", "decision", "item", "unit", "stochastic", "forecast_optimum",
                                    "difference"]  # fmt: skip
    # a row per commitment of the summary and, last, the GPUs bought in all: tiny's forecast optimum
    # buys 2,000 Blackwell GPUs
    table = shown.split("What to commit to now:")[1].split("\n\n")[1].splitlines()[2:]  # under its header
    assert len(commit) == len(result.commitments) + 1 == len(table)
    assert table[-1].startswith("|  | buy, all |  | ")
    bought, total = commit[commit["decision"] == "buy_gpus"], commit.iloc[-1]
    assert (total["decision"], total["unit"], total["forecast_optimum"]) == ("buy_gpus_all", "GPUs", 2000.0)
    assert total["stochastic"] == bought["stochastic"].sum()
    assert (commit["difference"] == commit["stochastic"] - commit["forecast_optimum"]).all()
    assert ".out_of_sample_frame(), .commitments_frame()" in shown.splitlines()[-1]
    assert ".commitments_frame(), .out_of_sample_frame()" in repr(result)


def test_a_stochastic_results_advice_names_the_api_s_arguments_not_the_terminal_s_options(stochastic_tiny):
    """In a notebook the advice to solve again named --stochastic N and --risk-weight L: tiny's plan on
    4 scenarios is a trade against the forecast optimum out of sample, whose advice names
    solve_stochastic's arguments now; within the noise, the scenarios' alone."""
    shown = " ".join(stochastic_tiny._repr_markdown_().split())
    assert ("solve again with more scenarios (scenarios=N) or a risk weight on the worst futures "
            "(risk\\_weight=L)") in shown  # fmt: skip
    assert "--stochastic" not in shown and "--risk-weight" not in shown
    same = {"npv_mean_usd_diff": 1e6, "npv_mean_usd_diff_se": 6e5,
            "npv_cvar_usd_diff": -1e5, "npv_cvar_usd_diff_se": 1e5}  # fmt: skip
    oos = {**stochastic_tiny.out_of_sample, "paired": same}
    noise = dataclasses.replace(stochastic_tiny, out_of_sample=oos)
    assert "more scenarios (scenarios=N) may tell them apart" in " ".join(noise._repr_markdown_().split())


def test_a_warning_points_at_the_callers_line():
    """A capped setting was attributed to a line of fleetopt/api.py, not to the notebook's cell."""
    with pytest.warns(FleetoptWarning, match="capped to") as caught:
        api.solve("tiny", threads=10_000)
    assert [w.filename for w in caught] == [__file__]


def test_the_package_points_to_the_python_api():
    """`import fleetopt as fo; fo.solve(...)`, a notebook's first guess, says where the API is."""
    import fleetopt

    with pytest.raises(AttributeError, match=r"no attribute 'solve'; the Python API is fleetopt\.api"):
        fleetopt.solve  # noqa: B018


def test_what_a_notebook_does_to_the_metrics_is_not_written_as_the_run(here):
    """A column put in $M and rows sorted in place were written as the run (summary.json, the
    registry, the report: a mean NPV of "-$20"), and a sweep's recommendation, read by row, pointed
    at another plan once the rows were reordered. ``metrics`` is the user's; the run and the pick
    read the metrics as computed."""
    folder = api.write_solve_run(api.solve("tiny"), out=here / "solved")
    result, loaded, source = api.evaluate(folder, scenarios=20, seed=1, backend="numpy", keep_matrix=True)
    computed = result.metrics.copy()
    result.metrics["npv_mean_usd"] /= 1e6
    written = api.write_evaluate_run(result, loaded, source, here / "ev")
    mean = float(computed["npv_mean_usd"].iloc[0])
    assert abs(mean) > 1e6  # tiny's plan: millions of USD, so the division above shows
    assert api.runs()[0].figures["npv_mean_usd"] == pytest.approx(mean, rel=1e-12)
    import pandas as pd

    assert pd.read_csv(written / "metrics.csv")["npv_mean_usd"].iloc[0] == pytest.approx(mean, rel=1e-12)
    with pytest.raises(ValueError, match="read-only"):
        result.npv_matrix[0, 0] = 0.0

    swept = api.sweep("tiny", candidates=3, scenarios=50, seed=1)
    pick, why = swept.recommended["plan"], swept.why()
    swept.metrics["plan"] = swept.metrics["plan"].iloc[::-1].to_numpy()  # rows reordered in place
    swept.metrics["npv_mean_usd"] = 0.0
    assert swept.recommended["plan"] == pick and swept.why() == why
    assert (swept.computed_metrics["npv_mean_usd"] != 0).all()


def test_the_model_data_cannot_be_changed_in_place():
    """`data.market_price[...] *= 0.9` changed the solve while the run folder kept the model's text
    and hash unchanged: figures its own model.yaml cannot reproduce. The arrays are read-only; a
    changed assumption is `api.edit`."""
    _, data = api.load("tiny")
    for array in (data.market_price, data.capex_path, data.sites[0].capacity_mw, data.resale_gross):
        with pytest.raises(ValueError, match="read-only"):
            array[...] *= 0.9


def test_a_stochastic_solve_refuses_an_unknown_backend_before_the_forecast_solve(monkeypatch):
    import fleetopt.stochastic.run as sto

    def solved(*args, **kwargs):
        raise AssertionError("the forecast was solved before the backend was checked")

    monkeypatch.setattr(sto, "forecast_optimum", solved)
    with pytest.raises(InputError, match="gpu"):
        api.solve_stochastic("tiny", 3, backend="gpu")


@pytest.mark.filterwarnings("ignore:.*were made from another version of model")  # as the README says
def test_a_comparison_writes_to_a_path_as_pandas_does_and_shows_its_figures_in_a_notebook(here, monkeypatch):
    """`c.to_csv("x.csv")` was a TypeError (the writers took no path); a cell showed one line."""
    dearer = api.edit("tiny", {PRICE: 3.0})
    comparison = api.compare([api.solve("tiny"), api.solve(dearer)], dearer, scenarios=20)
    for write, name in ((comparison.to_csv, "c.csv"), (comparison.to_json, "c.json"),
                        (comparison.to_markdown, "c.md")):  # fmt: skip
        assert write(here / name) is None
        assert (here / name).read_text() == write()
    with pytest.raises(InputError, match=r"cannot write .*: Is a directory"):
        comparison.to_csv(here)
    # as `compare --out`: never a run's own file or a model (both were replaced), and ~ is the home
    run = api.write_solve_run(api.solve("tiny"), out=here / "run")
    for path in (run / "summary.json", run / "model.yaml"):
        before = path.read_bytes()
        with pytest.raises(InputError, match="path"):
            comparison.to_markdown(path)
        assert path.read_bytes() == before
    monkeypatch.setenv("HOME", str(here / "home"))
    (here / "home").mkdir()
    comparison.to_markdown("~/c.md")
    assert (here / "home" / "c.md").is_file() and not (here / "~").exists()
    shown = comparison._repr_markdown_()
    assert shown.startswith("**Plan comparison** (20 common scenarios, seed 0)")
    assert "| mean NPV | " in shown and "better" in shown
    # each note its own list item (lines in a row ran together as one paragraph)
    notes = [line for line in shown.splitlines() if line.startswith("- ")]
    assert len(notes) >= 2 and any("another version of model" in line for line in notes), shown


def test_a_past_run_reads_back_as_data(here):
    """A notebook had only the registry's key figures of a past run (pd.read_csv on its folder for
    the rest): read_run gives its summary, tables and NPV matrix, equal to what the run wrote."""
    solved = api.solve("tiny")
    folder = api.write_solve_run(solved, out=here / "solved")
    result, loaded, source = api.evaluate(folder, scenarios=20, seed=1, backend="numpy", keep_matrix=True)
    evaluated = api.write_evaluate_run(result, loaded, source, here / "ev")
    solve_data = api.read_run(folder)
    assert solve_data.kind == "solve" and {"plan", "statements"} <= set(solve_data.tables)
    assert solve_data["statements"]["quarter"].tolist() == solved.statements_frame()["quarter"].tolist()
    assert solve_data.summary["npv_usd"] == pytest.approx(solved.headline()["npv_usd"], rel=1e-12)
    by_id = api.read_run(api.run_id(evaluated))
    assert by_id.kind == "evaluate" and by_id.npv_matrix.shape == (1, 20)
    assert by_id["metrics"]["npv_mean_usd"].iloc[0] == pytest.approx(by_id.npv_matrix.mean(), rel=1e-12)
    with pytest.raises(InputError, match=r"has no table 'candidates' \(it has: metrics\)"):
        by_id["candidates"]
    (here / "empty").mkdir()
    with pytest.raises(InputError, match="holds no finished run"):
        api.read_run(here / "empty")
    assert api.read_run(folder / "summary.json").path == api.read_run(folder / "plan.npz").path == folder
    assert not by_id.npv_matrix.flags.writeable  # mapped, as the result's own matrix is read-only


def test_a_stochastic_result_is_compared_in_memory_as_its_run_folder_is(here):
    """`fo.compare(fo.solve_stochastic(...))` was refused ("got a StochasticResult"): its forecast
    optimum and its stochastic plan, on its out-of-sample futures, as `fleetopt compare` of its
    folder gives them."""
    result = api.solve_stochastic("tiny", 3, out_of_sample=30)
    in_memory = api.compare(result)
    folder = api.write_stochastic_run(result, out=here / "sto")
    written = api.compare(folder)
    assert in_memory.labels == ["forecast", "stochastic"] == written.labels
    assert (in_memory.n_scenarios, in_memory.seed) == (30, 1) == (written.n_scenarios, written.seed)
    import pandas as pd

    pd.testing.assert_frame_equal(in_memory.figures, written.figures)
    with pytest.warns(FleetoptWarning, match="in sample"):  # seed 0 by default: the one the solve drew from
        both = api.compare([result, api.solve("tiny")], scenarios=20)
    assert both.labels == ["forecast", "stochastic", "milp"] and both.n_scenarios == 20


def test_a_number_that_replaces_a_series_whole_is_said():
    """fo.edit(None, {"sites.texas.power_capacity_mw": 500}) replaced {start: 360, steps: {...}}
    with a flat 500 MW in silence (a notebook user's review): said, with the field that changes the
    first value alone; a series' own field is edited without a word."""
    import warnings

    from fleetopt.errors import FleetoptWarning

    said = (r"sites\.texas\.power_capacity_mw: the number 500 replaces the series \{start: 360, steps: "
            r"\{2026Q4: 460, .*\} whole, in every quarter; to change its starting level alone, keeping its "
            r"steps and growth, edit sites\.texas\.power_capacity_mw\.start")
    with pytest.warns(FleetoptWarning, match=said):
        api.edit("neocloud", {"sites.texas.power_capacity_mw": 500})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api.edit("neocloud", {"sites.texas.power_capacity_mw.start": 500})
        with pytest.raises(api.InputError, match="horizon: must be a mapping"):  # a start, not a series
            api.edit("tiny", {"horizon": 5})


def test_a_price_shock_set_under_mean_one_is_said_to_keep_the_forecast_average():
    """A planner's price war, --what-if 'risk.self_competition={probability_per_quarter: 1, ...}',
    moved the mean NPV by noise in silence: with risk.mean_one the forecast is taken to hold the
    shock already. Said, with the field that puts it on top; quiet once mean_one is false, and when
    the shock is removed."""
    import warnings

    from fleetopt.errors import FleetoptWarning

    war = {"probability_per_quarter": 1, "price_drop_min": 0.3, "price_drop_max": 0.3}
    said = (r"risk\.self_competition: with risk\.mean_one true .* to put the shock on top of the forecast "
            r"\(a price war below it\), also set risk\.mean_one=false")
    with pytest.warns(FleetoptWarning, match=said):
        api.edit("tiny", {"risk.self_competition": war})
    with pytest.warns(FleetoptWarning, match=r"risk\.new_generation_price_step: with risk\.mean_one true"):
        api.edit("tiny", {"risk.new_generation_price_step": 0.3})
    with pytest.warns(FleetoptWarning, match=r"risk\.self_competition: with risk\.mean_one true"):
        api.edit("tiny", {"risk.self_competition.probability_per_quarter": 1})  # a field within it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api.edit("tiny", [("risk.mean_one", False), ("risk.self_competition", war)])
        api.edit("tiny", {"risk.self_competition": None})
        api.edit("tiny", {"risk.price_volatility_annual": 0.3})


def test_a_plan_and_its_statements_print_in_one_line_each():
    """A notebook showed the default model's plan in 578 lines and its statements in 351: each is
    now one line with its totals and where its table is."""
    result = api.solve("tiny")
    plan, statements = repr(result.plan), repr(result.statements)
    assert "\n" not in plan and "\n" not in statements
    assert plan.startswith("Plan(11 cohorts x 8 quarters: 250 blocks bought, 0 power blocks")
    assert statements.startswith("Statements(8 quarters, NPV -14,109,908 USD, ")


def test_an_evaluation_and_a_sweep_show_their_key_figures_as_a_table_in_a_notebook(here):
    """A notebook cell showing an evaluation or a sweep printed one line pointing to .metrics (50
    columns of raw floats): it now shows each plan's mean NPV, CVaR5 and probabilities as the terminal
    writes them, the sweep's pick marked; what a notebook did to .metrics is what it shows."""
    solved = api.write_solve_run(api.solve("tiny"), api.load("tiny")[0], out=here / "solved")
    result, _, _ = api.evaluate(solved, scenarios=20, backend="numpy")
    row = result.metrics.iloc[0]
    shown = result._repr_html_()
    assert shown.startswith("<p><b>Evaluation</b> of 1 plan on 20 scenarios, seed 0 (numpy)</p><table")
    for header in ("mean NPV", "CVaR5 NPV", "P(covenant breach)", "P(liquidity default)", "P(any default)"):
        assert f"<th>{header}</th>" in shown
    assert f"<td>{format_usd(row['npv_mean_usd'])}</td>" in shown
    assert f"<td>{row['any_default_probability']:.1%}</td>" in shown
    swept = api.sweep("tiny", candidates=2, scenarios=10)
    assert f"<td>{swept.recommended['plan']} (recommended)</td>" in swept._repr_html_()
    result.metrics = result.metrics.iloc[:0]
    assert "<tbody>\n  </tbody>" in result._repr_html_()


def test_metrics_indexed_by_plan_still_show_in_a_notebook():
    """metrics set_index("plan"), to look a plan up with .loc, made the cell's display
    a KeyError traceback ('plan'): each plan is shown by its index, with its figures; the sweep's
    pick still marked."""
    swept = api.sweep("tiny", candidates=2, scenarios=10)
    pick = swept.recommended["plan"]
    swept.metrics = swept.metrics.set_index("plan")
    mean = format_usd(swept.metrics.loc[pick, "npv_mean_usd"])
    assert f"<td>{pick} (recommended)</td><td>{mean}</td>" in swept._repr_html_().replace("\n      ", "")
    assert f"| {markdown_text(pick)} (recommended) | {markdown_text(mean)} |" in swept._repr_markdown_()


def test_a_notebook_marks_a_plan_that_breaches_on_the_forecast_as_the_terminal_does():
    """The terminal's and the report's "!" (breaches a covenant or defaults on the forecast itself)
    was missing from a notebook's table of an evaluation or a sweep."""
    from fleetopt.evaluate.metrics import FORECAST_OK, key_figures_frame

    metrics = pd.DataFrame({"plan": ["a", "b"], FORECAST_OK: [True, False], "npv_mean_usd": [1e9, 2e9]})
    shown = key_figures_frame(metrics).to_html(index=False)
    assert "<td>a</td>" in shown
    assert "<td>b (! breaches a covenant or defaults on the forecast itself)</td>" in shown


def test_a_sweeps_candidate_reads_as_a_solve_does():
    """A finance analyst had a sweep's plans as decisions only (plan_frame): a candidate's statements,
    key figures and debt now read as a solve's, the recommended one by default (an API review).
    tiny's forecast optimum, the sweep's first candidate, has the solve's statements to the cent."""
    swept, solved = api.sweep("tiny", candidates=2, scenarios=10), api.solve("tiny")
    forecast = "milp: forecast"
    frame = swept.statements_frame(forecast)
    assert list(frame.columns) == list(solved.statements_frame().columns)
    cash = solved.statements_frame()["cash_usd"].to_numpy()
    assert frame["cash_usd"].to_numpy() == pytest.approx(cash, abs=0.01)
    assert swept.headline(forecast)["npv_usd"] == pytest.approx(solved.headline()["npv_usd"], abs=0.01)
    debt = swept.debt_frame(forecast)
    pd.testing.assert_frame_equal(debt, solved.debt_frame(), check_exact=False, atol=0.01)
    assert swept.headline()["npv_usd"] == swept.headline(swept.recommended["plan"])["npv_usd"]
    with pytest.raises(InputError, match="is not a candidate this sweep evaluated"):
        swept.statements_frame("no such plan")


def test_a_deterministic_evaluation_shows_its_figures_on_the_forecast_in_a_notebook(here):
    """An evaluation on the forecast alone (one scenario) showed in a notebook as "mean NPV", "CVaR5
    NPV" and "P(NPV < 0) 100.0%" over its one future, a mean, a tail and probabilities the terminal's
    table of it does not claim: it shows the NPV on the forecast and each event as yes or no, as the
    terminal writes them. tiny's forecast optimum has a negative NPV and keeps its limits there."""
    solved = api.write_solve_run(api.solve("tiny"), api.load("tiny")[0], out=here / "solved")
    result, _, _ = api.evaluate(solved, deterministic=True, backend="numpy")
    row = result.metrics.iloc[0]
    shown = result._repr_html_()
    headers = re.findall(r"<th>([^<]*)</th>", shown)
    assert headers == ["plan", "NPV on the forecast", "lowest cash", "utilisation", "covenant breach",
                       "uncured breach", "liquidity default", "any default", "policy reactions"]  # fmt: skip
    cells = re.findall(r"<td>([^<]*)</td>", shown)
    assert cells == ["milp", format_usd(row["npv_mean_usd"]), format_usd(row["expected_min_cash_usd"]),
                     "100.0%", "no", "no", "no", "no", "none"]  # fmt: skip


def test_a_sweep_in_memory_whose_rule_no_candidate_meets_says_nothing_was_kept():
    """fo.sweep without folder= and a rule no candidate meets raised RuleNotMet as a folder's sweep
    words it, with no word that its solves and evaluation were lost nor how to keep them (a sweep
    audit): it now says so, with the looser rule and folder=; the rule's field as Python sets it, beside
    the option (the terminal's words name the option alone), where it gave Python the option."""
    from fleetopt.sweep.rule import RuleNotMet

    with pytest.raises(RuleNotMet) as caught:
        api.sweep("tiny", candidates=2, scenarios=10, rule=api.Rule(max_breach_prob=0.01))
    said = str(caught.value)
    assert ("Nothing was kept (no folder): sweep again with max_breach_prob=1.0 (--max-breach-prob 1) (a "
            "probability limit of 1, or a min_cvar5_usd (--min-cvar) below every candidate's, sets "
            "none)") in said
    assert "sweep again with --max-breach-prob 1 (a probability limit of 1, or a --min-cvar below" in (
        caught.value.typed())  # fmt: skip
    assert "give folder= (fleetopt.api.sweep(..., folder='runs/my-sweep'))" in said
    assert "fleetopt.api.resume_sweep finishes with a looser rule without solving again" in said


def test_an_evaluation_ranks_its_plans_in_memory_as_the_terminal_does():
    """A notebook had no way to rank an evaluation's plans short of writing it as a run: three
    plans by hand. By CVaR5: b (-1), a (-2), then c, whose -0.5 is the best but which breaks a
    limit on its own forecast; by mean: a (3), b (2), c; P(breach) at most 20 %: b, then c. A bad
    argument is named."""
    from fleetopt.evaluate.metrics import FORECAST_OK
    from fleetopt.evaluate.result import EvaluationResult

    metrics = pd.DataFrame({"plan": ["a", "b", "c"], "npv_mean_usd": [3.0, 2.0, 9.0],
                            "npv_cvar5_usd": [-2.0, -1.0, -0.5], "npv_p5_usd": [0.0, 0.0, 0.0],
                            "breach_probability": [0.5, 0.1, 0.0],
                            FORECAST_OK: [True, True, False]})  # fmt: skip
    result = EvaluationResult(metrics, "numpy", "CPU", 3, 10, 1, 0.1, 3, 10, 4, False)
    # a notebook's own changes to .metrics (rows sorted, one left out, a figure changed) change
    # nothing ranked: the computed metrics are ranked (rows only reversed, the ranking is the same)
    result.metrics = result.metrics.iloc[::-1].query("plan != 'b'").assign(npv_mean_usd=0.0)
    assert result.ranked()["plan"].tolist() == ["b", "a", "c"]
    assert result.ranked("mean")["plan"].tolist() == ["a", "b", "c"]
    assert result.ranked("mean", max_breach_prob=0.2)["plan"].tolist() == ["b", "c"]
    choices = r"cvar5, mean, p5, any-default, cost, cost-cvar95 \(got"
    with pytest.raises(InputError, match=rf"rank_by must be one of {choices}"):
        result.ranked("median")
    with pytest.raises(InputError, match=r"max_breach_prob must be between 0\.0 and 1\.0"):
        result.ranked(max_breach_prob=1.5)


def test_an_evaluation_written_after_a_change_of_folder_names_the_plans_it_evaluated(here, monkeypatch):
    """A notebook evaluated "solved" (relative), then moved with os.chdir and wrote the run: its
    summary named sub/solved/plan.npz, seen from the new folder, a file that is not there (the report
    left the plans out) or another run's plans (the report showed those). The plans are where they
    were when evaluated, and the report reads them (without a warning that they are gone)."""
    api.write_solve_run(api.solve("tiny"), out=here / "solved")
    result, loaded, source = api.evaluate("solved", scenarios=4, backend="numpy")
    (here / "sub").mkdir()
    monkeypatch.chdir(here / "sub")
    evaluated = api.write_evaluate_run(result, loaded, source, here / "ev")
    summary = json.loads((evaluated / "summary.json").read_text())
    assert summary["plans_source"] == str((here / "solved" / "plan.npz").resolve())
    assert summary["plans_objective"] == "npv"
    with warnings.catch_warnings():
        warnings.simplefilter("error", FleetoptWarning)
        api.report(evaluated)


@pytest.mark.parametrize("given", [None, "runs/x", {"figures": 1}])
def test_the_page_of_a_comparison_refuses_what_is_not_one_by_name(given):
    """``fo.comparison_html(path)`` or of a failed cell's None was an AttributeError from inside the
    report ("'str' object has no attribute 'model'")."""
    with pytest.raises(InputError, match=r"^comparison must be what fleetopt.api.compare returns \(got a "
                       rf"value of type {type(given).__name__}\)$"):  # fmt: skip
        api.comparison_html(given)


def test_a_plan_file_and_a_summary_are_made_only_with_the_model_the_plan_was_solved_from():
    """plan_file_bytes(tiny's result, lab) made a plan file of tiny's plan that named model 'lab' and
    its hash (evaluated under lab as its own), and solve_summary(result, lab) a summary of tiny's
    figures named 'lab'; solve_summary(result, None) was an AttributeError."""
    solved, lab = api.solve("tiny"), api.load("lab")
    for make in (api.plan_file_bytes, api.solve_summary):
        with pytest.raises(InputError, match=r"^the result was solved from model 'tiny' .* not from the "
                           r"model given, 'lab'"):  # fmt: skip
            make(solved, lab[0])
    with pytest.raises(InputError, match=r"^loaded must be the LoadedModel the result was made from"):
        api.solve_summary(solved, None)
    assert api.solve_summary(solved, api.load("tiny"))["model_name"] == "tiny"  # the pair load returns


def test_a_stochastic_result_whose_plan_was_changed_is_not_written(tmp_path):
    """`st.plan.buy_blocks[...] = 0` then write_stochastic_run wrote a plan that buys nothing yet holds
    the GPUs bought (a plan the model forbids, refused by every later evaluation) beside the measures
    of the plan solved; a solve's result was refused so already. The result as solved is written."""
    result = api.solve_stochastic("tiny", 2, out_of_sample=0)
    kept = result.plan.buy_blocks.copy()
    result.plan.buy_blocks[...] = 0
    with pytest.raises(InputError, match=r"^result's plans were changed after they were made"):
        api.write_stochastic_run(result, out=tmp_path / "changed")
    assert not (tmp_path / "changed").exists()
    result.plan.buy_blocks[...] = kept
    assert (api.write_stochastic_run(result, out=tmp_path / "as-solved") / "plan.npz").is_file()


def test_a_sweep_whose_candidate_plan_was_changed_is_not_written(tmp_path):
    """`sw.plan()` is the sweep's own plan: `sw.plan().buy_blocks[...] = 0` then write_sweep_run
    wrote plans.npz with a plan the model forbids (refused by every later evaluation) beside the
    figures of the plan evaluated, and recorded it."""
    result = api.sweep("tiny", candidates=2, scenarios=5)
    plan = result.plan()
    kept = plan.buy_blocks.copy()
    plan.buy_blocks[...] = 0
    with pytest.raises(InputError, match=r"^result's plans were changed after they were made"):
        api.write_sweep_run(result, out=tmp_path / "changed")
    assert not (tmp_path / "changed").exists()
    plan.buy_blocks[...] = kept
    assert (api.write_sweep_run(result, out=tmp_path / "as-made") / "plans.npz").is_file()


@pytest.mark.parametrize("model", [None, "lab"])
def test_solves_of_two_models_are_refused_as_plans_no_one_model_reads(model):
    """compare([tiny's solve, lab's solve]) said "give model=", and with model="lab" then refused
    tiny's plan: no model reads plans of both names, with or without model=."""
    with pytest.raises(InputError, match=r"^the solve results compared are of models of two names "
                       r"\(lab, tiny\): every plan is evaluated under one model"):  # fmt: skip
        api.compare([api.solve("tiny"), api.solve("lab")], model, scenarios=5)


def test_steps_set_as_a_mapping_say_which_of_the_file_s_steps_they_keep():
    """fo.edit(None, {"...power_capacity_mw.steps": {"2027Q2": 460}}), to delay a site's power, kept
    the file's earlier steps (2026Q4: 460, 2027Q1: 560) in silence, so the power came sooner than
    meant (a notebook user's review): said, with how to replace them whole, which then says nothing."""
    from fleetopt.errors import FleetoptWarning

    path = "sites.texas.power_capacity_mw.steps"
    said = (rf"{re.escape(path)}: the steps set are added to the model's; its steps 2026Q4: 460, 2027Q1: "
            rf"560, 2028Q1: 960, 2028Q3: 1160 are kept .* remove them first: {re.escape(path)}=null")
    with pytest.warns(FleetoptWarning, match=said):
        kept = api.edit("neocloud", {path: {"2027Q2": 460, "2027Q3": 560}})
    assert "2026Q4: 460" in kept.text.split("texas:")[1].split("pue:")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        replaced = api.edit("neocloud", [(path, None), (path, {"2027Q2": 460, "2027Q3": 560})])
    texas = replaced.text.split("texas:")[1].split("pue:")[0]
    assert "2026Q4" not in texas and "2027Q2: 460" in texas and "2027Q3: 560" in texas


def test_removing_a_field_the_file_leaves_out_keeps_its_default():
    """`--set FIELD=null` removes a field so that its default applies, but tiny has no policy block,
    and `policy.idle_gpus_to_market=null` was refused as "policy: no such field (the model has name,
    description, ...)", a field every model has; `risk.customer_hazard_overrides=null` likewise said
    "no such field to remove". A field of the format the file leaves out is at its default already:
    nothing to remove. A misspelt one is still refused, naming it."""
    base = api.load("tiny")[0].model
    for path in ("policy.idle_gpus_to_market", "policy", "risk.customer_hazard_overrides"):
        edited = api.edit("tiny", {path: None})
        assert edited.model.policy == base.policy and edited.model.risk == base.risk
    assert api.edit("tiny", {"policy.idle_gpus_to_market": None}).model.policy.idle_gpus_to_market is False
    with pytest.raises(InputError, match=r"policy.idle_gpu_to_market: no such field to remove \(the file "
                       r"leaves policy out\)"):  # fmt: skip
        api.edit("tiny", {"policy.idle_gpu_to_market": None})
    with pytest.raises(InputError, match=r"polcy: no such field \(the model has name"):
        api.edit("tiny", {"polcy.idle_gpus_to_market": None})


def test_a_mapping_with_a_null_set_on_a_block_the_file_leaves_out_removes_that_field():
    """`--set 'policy={idle_gpus_to_market: null, defer_orders: false}'` on tiny, which has no policy
    block, was refused as "policy.idle_gpus_to_market: Input should be a valid boolean (got nothing:
    the field is empty, a YAML null)": the mapping was written as the block, its null and all, where
    on a model with a policy block the null removes the field (the merge an edit makes). The block
    is made and merged as any block is."""
    edited = api.edit("tiny", {"policy": {"idle_gpus_to_market": None, "defer_orders": False}})
    assert edited.model.policy.defer_orders is False and edited.model.policy.idle_gpus_to_market is False
    removed = api.edit("tiny", {"policy": {"idle_gpus_to_market": None}})
    assert removed.model.policy == api.load("tiny")[0].model.policy
    with pytest.raises(InputError, match=r"policy.idel: no such field to remove"):
        api.edit("tiny", {"policy": {"idel": None}})


def test_a_notebook_cell_ending_with_evaluate_shows_the_evaluation():
    """A cell ending with fo.evaluate(run, ...) showed a tuple's three reprs, not the evaluation's
    table: what it returns still unpacks as (result, model, plans), and a notebook shows the result."""
    run = api.write_solve_run(api.solve("tiny"))
    evaluated = api.evaluate(run, scenarios=20, seed=1)
    result, model, plans = evaluated
    assert (evaluated.result, evaluated.model, evaluated.plans) == (result, model, plans)
    assert evaluated._repr_html_() == result._repr_html_() and "<table" in evaluated._repr_html_()
    assert evaluated._repr_markdown_().startswith("**Evaluation** of 1 plan on 20 scenarios, seed 1")
    assert api.write_evaluate_run(*evaluated).is_dir()


def test_what_evaluate_returns_reads_the_result_s_figures_as_the_result_does():
    """ev = fo.evaluate(...); ev.metrics raised a bare AttributeError ('Evaluated' object has no
    attribute 'metrics'), though the table it shows says .metrics holds every figure: the result's
    attributes are read from it (the same objects); one neither has is refused naming it, in one line."""
    run = api.write_solve_run(api.solve("tiny"))
    evaluated = api.evaluate(run, scenarios=20, seed=1, backend="numpy", keep_matrix=True)
    assert evaluated.metrics is evaluated.result.metrics and list(evaluated.metrics["plan"]) == ["milp"]
    pd.testing.assert_frame_equal(evaluated.ranked(), evaluated.result.ranked())
    assert evaluated.npv_matrix is evaluated.result.npv_matrix and evaluated.npv_matrix.shape == (1, 20)
    said = r"^'Evaluated' object has no attribute 'metric', nor has its result, an EvaluationResult \(\.m"
    with pytest.raises(AttributeError, match=said):
        evaluated.metric  # noqa: B018
    assert not hasattr(evaluated, "_repr_latex_") and len(evaluated) == 3  # a probe; a tuple's own


def test_what_evaluate_returns_is_written_as_a_run_as_it_is():
    """fo.write_evaluate_run(fo.evaluate(...)) was a TypeError (missing 'loaded' and 'source'): what
    evaluate returns holds them; beside it they are refused, a folder named where out= goes."""
    run = api.write_solve_run(api.solve("tiny"))
    evaluated = api.evaluate(run, scenarios=20, seed=1)
    folder = api.write_evaluate_run(evaluated)
    assert api.read_run(folder).summary["n_scenarios"] == 20
    with pytest.raises(InputError, match=r"give them only with its result alone: a folder to write the run "
                                         r"to is out=, e\.g\. out='runs/x'$"):  # fmt: skip
        api.write_evaluate_run(evaluated, "runs/x")


def test_an_evaluation_result_alone_is_told_to_come_with_its_model_and_plans():
    """write_evaluate_run(result) with the EvaluationResult alone said "loaded must be the LoadedModel
    ... (got None: a result solved from a ModelData keeps none)": nothing was solved from a ModelData;
    the model and plans evaluate returned beside it were left out. It says so, of a result that does
    not know them; one an evaluation made knows them, and is written alone as with them."""
    result, model, plans = api.evaluate(api.write_solve_run(api.solve("tiny")), scenarios=20, seed=1)
    alone, whole = api.write_evaluate_run(result), api.write_evaluate_run(result, model, plans)
    assert (alone / "metrics.csv").read_bytes() == (whole / "metrics.csv").read_bytes()
    assert api.run(alone).model_hash == model.content_hash[:16]
    with pytest.raises(InputError, match=r"^result alone does not say its model and plans: give all "
                                         r"fleetopt\.api\.evaluate returned"):  # fmt: skip
        api.write_evaluate_run(dataclasses.replace(result, evaluated_with=None))  # one built by hand


def test_a_model_edited_twice_names_every_field_edited_once():
    """fo.edit(fo.edit("tiny", a), b) showed "tiny.yaml, edited (a), edited (b)" in its repr and in
    every message naming the model: one list, each field once, in the order edited."""
    once = api.edit("tiny", {"sites.texas.power_capacity_mw": 30})
    twice = api.edit(once, {"finance.min_cash_usd": 1e6, "sites.texas.power_capacity_mw": 31})
    assert twice.source.endswith("tiny.yaml, edited (sites.texas.power_capacity_mw, finance.min_cash_usd)")
    assert repr(twice).count("edited") == 1


def test_a_notebook_s_html_of_an_evaluation_and_a_sweep_reads_as_its_markdown():
    """JupyterLab shows a result's HTML first: it was captioned by the one-line repr
    ("EvaluationResult(1 plan x 20 scenarios ...; .metrics, .ranked())"), had no line saying where
    every figure is, and a sweep's put its pick after the table. Each now has its Markdown's title,
    order and last line."""
    run = api.write_solve_run(api.solve("tiny"))
    evaluated = api.evaluate(run, scenarios=20, seed=1)
    shown = evaluated._repr_html_()
    assert shown.startswith("<p><b>Evaluation</b> of 1 plan on 20 scenarios, seed 1 (numpy)</p>"), shown[:120]
    assert "EvaluationResult(" not in shown
    assert shown.endswith("<p>Next: .metrics (every figure: USD, shares in [0, 1]), .ranked(rank_by)</p>")
    swept = api.sweep("tiny", candidates=2, scenarios=10)
    shown = swept._repr_html_()
    assert shown.startswith("<p><b>Sweep of tiny</b>: 2 candidates evaluated on 10 scenarios, seed 0</p>")
    assert shown.index("<b>Recommended: ") < shown.index("<table") and "SweepResult(" not in shown
    assert shown.endswith(".headline(label), .debt_frame(label)</p>")


def test_a_sweep_lists_every_candidate_it_made_those_dropped_too():
    """`fleetopt sweep tiny --candidates 6 --scenarios 50` prints "13 candidates made, 9 evaluated, 4
    dropped" and why each was dropped; a notebook had the 9 evaluated (.metrics) and no table of the
    others. candidates_frame() has every one, in the order made, with why it was dropped."""
    swept = api.sweep("tiny", candidates=6, scenarios=50)
    made = swept.candidates_frame()
    assert (len(made), int(made["evaluated"].sum())) == (13, 9)
    assert list(made.loc[made["evaluated"], "label"]) == list(swept.metrics["plan"])
    dropped = made[~made["evaluated"]].set_index("label")["why_dropped"]
    assert dropped["milp: late power"] == "the same plan as milp: forecast"
    assert dropped["milp: forecast, planned with cash buffer $60.0M"].startswith(
        "no plan holds that much cash above finance.min_cash_usd every quarter")
    assert (made.loc[made["evaluated"], "why_dropped"] == "").all()
    assert made["forecast_npv_usd"].dtype == float and made.loc[0, "forecast_npv_usd"] < 0  # tiny's -$14.1M


LISTED_HEADERS = ("id", "when (UTC)", "kind", "model", "plan", "NPV on the forecast", "mean NPV", "CVaR5 NPV",
                  "P(any default)", "scenarios", "seed", "folder")  # fmt: skip


def test_the_runs_show_in_a_notebook_as_the_terminal_lists_them_and_stay_a_list(here):
    """fo.runs() showed a list of reprs, and the documented table (a DataFrame of as_dict()) had a column
    for every figure any run keeps. A notebook shows the runs as `fleetopt runs` lists them, each key
    figure under a header, and .runs_frame() gives those columns in figures; it is still a list."""
    solved = api.solve("tiny")
    solve_run = api.write_solve_run(solved)
    evaluated = api.evaluate(solve_run, scenarios=20, seed=2, backend="numpy")
    api.write_evaluate_run(evaluated)
    listed = api.runs()
    assert isinstance(listed, list) and len(listed) == 2
    newest, oldest = listed  # unpacked, indexed and iterated as before
    assert (newest.kind, oldest.kind, listed[-1].path) == ("evaluate", "solve", solve_run)
    assert [r.id for r in listed] == [2, 1] and listed[:1] == [newest]
    npv = solved.headline()["npv_usd"]
    metrics = evaluated.result.metrics.iloc[0]
    frame = listed.runs_frame()
    assert list(frame.columns) == [
        "id", "created_utc", "kind", "model", "model_name", "plan", "npv_usd", "present_cost_usd",
        "npv_mean_usd", "npv_cvar5_usd", "any_default_probability", "out_of_sample_npv_mean_usd_diff",
        "out_of_sample_npv_cvar_usd_diff", "n_scenarios", "seed", "path", "exists",
    ]  # fmt: skip
    assert frame["npv_usd"].dtype == frame["npv_mean_usd"].dtype == "float64"
    assert frame["npv_usd"].iloc[1] == npv and pd.isna(frame["npv_usd"].iloc[0])  # the evaluation's: none
    assert frame["npv_mean_usd"].iloc[0] == metrics["npv_mean_usd"] and pd.isna(frame["npv_mean_usd"].iloc[1])
    assert frame["any_default_probability"].iloc[0] == metrics["any_default_probability"]
    assert (frame["plan"].iloc[0], frame["n_scenarios"].iloc[0], frame["seed"].iloc[0]) == ("milp", 20, 2)
    html, markdown = listed._repr_html_(), listed._repr_markdown_()
    assert all(f"<th>{header}</th>" in html for header in LISTED_HEADERS)
    assert "<th>present cost</th>" not in html  # a column no run listed has a value in is left out
    for figure in (format_usd(npv), format_usd(metrics["npv_cvar5_usd"])):
        assert f"<td>{figure.replace('$', '<span>$</span>')}</td>" in html
        assert f"| {markdown_text(figure)} |" in markdown  # "\$", as every Markdown display escapes it
    assert "| " + " | ".join(LISTED_HEADERS) + " |" in markdown
    assert "over the horizon's 8 quarters" in markdown and ".runs\\_frame()" in markdown


def test_the_runs_frame_names_each_run_s_model_as_runs_lists_them_whatever_its_edits(here):
    """fo.runs(model="tiny") lists the runs of every version of tiny, but runs_frame()'s model column
    held "tiny (edited: ...)" for an edited one, so frame[frame.model == "tiny"] lost it: model_name is
    the name itself."""
    api.write_solve_run(api.solve("tiny"))
    api.write_solve_run(api.solve(api.edit("tiny", {"horizon.discount_rate_annual": 0.10})))
    frame = api.runs(model="tiny").runs_frame()
    assert list(frame["model"]) == ["tiny (edited: horizon.discount_rate_annual)", "tiny"]
    assert list(frame["model_name"]) == ["tiny", "tiny"]
    assert len(frame[frame["model_name"] == "tiny"]) == len(api.runs(model="tiny")) == 2


def test_a_run_its_data_and_the_unfinished_runs_show_as_short_tables_in_a_notebook(here):
    """A RunRecord and a RunData showed a dataclass's repr, the unfinished runs a list of tuples: each
    shows a short table of what it is (unfinished_runs() is still a list of (folder, kind, pid))."""
    folder = api.write_solve_run(api.solve("tiny"))
    record = api.run(folder)
    html, markdown = record._repr_html_(), record._repr_markdown_()
    npv = format_usd(record.figures["npv_usd"])
    assert markdown.startswith("**Run 1: solve of tiny**")
    assert f"| NPV on the forecast | {markdown_text(npv)} |" in markdown
    assert f"| folder | {markdown_text(folder)} |" in markdown
    assert "mean NPV" not in markdown  # a solve has no figures over scenarios
    assert "<td>NPV on the forecast</td>\n      <td>-<span>$</span>" in html
    data = api.read_run(1)
    assert '| \\["statements"\\] | 8 rows x ' in data._repr_markdown_()
    assert "<td>.summary</td>" in data._repr_html_()
    assert api.unfinished_runs() == [] and "No unfinished" in api.unfinished_runs()._repr_markdown_()
    job = api.prepare_evaluation(folder, scenarios=20)
    job.start(here / "runs" / "stopped")
    unfinished = api.unfinished_runs()
    ((path, kind, pid),) = unfinished
    assert (path, kind, pid) == (here / "runs" / "stopped", "evaluate", None)
    at = repr(str(path))  # the Python that finishes it, the command beside it
    resume = (f"fleetopt.api.write_evaluate_run(fleetopt.api.resume_evaluation({at}).run({at}), out={at}) "
              f"(fleetopt evaluate --resume {path})")  # fmt: skip
    row = f"| {path} | evaluate | interrupted: finish it with {resume} |"
    assert markdown_text(row).replace("\\|", "|") in unfinished._repr_markdown_()
    assert list(unfinished.runs_frame()["how_it_finishes"]) == [f"interrupted: finish it with {resume}"]


def test_a_solve_in_memory_is_evaluated_as_its_run_is_and_its_run_says_the_plans_were_in_memory(here):
    """fo.evaluate(result, scenarios=300) was refused ("write it as a run first"), though fo.compare takes
    a result in memory: a notebook tried a plan on a few hundred futures only after writing a run
    folder. It is evaluated as the plan file its run writes is, to the bit, and the evaluation's run
    records its plans as in memory, naming no file that does not exist."""
    loaded, _ = api.load("tiny")
    solved = api.solve(loaded)
    in_memory = api.evaluate(solved, scenarios=30, seed=4, backend="numpy")
    written = api.evaluate(api.write_solve_run(solved), scenarios=30, seed=4, backend="numpy")
    pd.testing.assert_frame_equal(in_memory.result.metrics, written.result.metrics, check_exact=True)
    assert in_memory.plans.labels == ["milp"] and in_memory.model.content_hash == loaded.content_hash
    folder = api.write_evaluate_run(in_memory)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    plans = {key: value for key, value in summary.items() if key.startswith("plans")}
    assert plans == {"plans_source": "in memory: fleetopt.api.solve's SolveResult, not written to a file",
                     "plans_in_memory": True, "plans_sha256": None, "plans_model_hash": loaded.content_hash,
                     "plans_objective": "npv"}  # fmt: skip
    assert api.read_run(folder)["metrics"]["npv_mean_usd"].iloc[0] == pytest.approx(
        written.result.metrics["npv_mean_usd"].iloc[0], rel=1e-12)  # fmt: skip
    with pytest.raises(InputError, match=r"they were in memory: fleetopt\.api\.solve's SolveResult, not "
                                         r"written to a file: give the plans themselves"):  # fmt: skip
        api.compare([folder, folder])


def test_a_plan_s_table_given_to_compare_is_refused_as_a_table(here):
    """fo.compare(result.plan_frame()) iterated the frame and was refused for its first column's name,
    "quarter: no such run folder or plan file": it is refused as the table it is, as any run argument
    given a table is (Registry.id_given), saying what to do."""
    frame = api.solve("tiny").plan_frame()
    with pytest.raises(InputError) as refused:
        api.compare(frame, "tiny", scenarios=5)
    rows, columns = frame.shape
    assert str(refused.value) == (
        f"runs must be a run folder, plan file or run id (int), not a DataFrame of {rows} rows x {columns} "
        "columns; a table of a plan's decisions or purchases is not a plan: solve with its purchases, "
        "result = fleetopt.api.solve(model, purchases=table), then give "
        "fleetopt.api.write_solve_run(result), the run folder it writes")


def test_the_runs_table_given_to_compare_is_refused_as_a_table_of_runs(here):
    """fo.compare(fo.runs().runs_frame()) was refused as a result in memory ("not a DataFrame: write it
    as a run first (fleetopt.api.write_*_run)"), the table's column "plan" read as a result's plan: it
    is refused as the table it is, by its size, and told its column of run ids, which compare takes."""
    api.write_solve_run(api.solve("tiny"))
    frame = api.runs().runs_frame()
    with pytest.raises(InputError) as refused:
        api.compare(frame, scenarios=5)
    assert str(refused.value) == (
        f"runs must be a run folder, plan file or run id (int), not a DataFrame of 1 row x {frame.shape[1]} "
        "columns; a table of runs (fleetopt.api.runs().runs_frame()) is given by its run ids: its column id, "
        "fleetopt.api.compare(frame.id) for several, frame.id.iloc[0] for one")
    assert api.evaluate(frame.id.iloc[0], scenarios=5).result.n_plans == 1  # one of them, as it says


def test_the_report_of_an_evaluation_in_memory_says_its_plans_were_never_a_file(here):
    """Its report said "the plans file in memory: ... (as given to the evaluation) is no longer there",
    as though a file had been moved: it says the plans were in memory, and keeps the futures' figures."""
    folder = api.write_evaluate_run(api.evaluate(api.solve("tiny"), scenarios=20, seed=4, backend="numpy"))
    with pytest.warns(FleetoptWarning) as said:
        page = unescape(api.report(folder).read_text(encoding="utf-8"))
    words = "the plans were in memory: fleetopt.api.solve's SolveResult, not written to a file"
    assert any(words in str(w.message) for w in said) and words in page
    assert "no longer there" not in page and "In short" in page
    # the Provenance's plans say it once: it read "... not written to a file (1 plan); the plans were in
    # memory: ... not written to a file, so the report leaves out ..."
    assert "not written to a file (1 plan), so the report leaves out the plans' own sections" in page


def test_a_stochastic_result_in_memory_is_evaluated_with_the_checks_of_its_run_s_plans(here):
    """A stochastic result's two plans, as its run's plan file holds them; a model its plans do not fit
    is refused as a run's plans are, naming no temporary file."""
    solved = api.solve("tiny")
    result = StochasticResult(
        data=solved.data, settings={"scenarios": 1}, plan=solved.plan, forecast_plan=solved.plan,
        first_stage={}, measures={}, scenarios=[], timings={}, model_size={}, loaded=solved.loaded,
    )  # what evaluate reads of one, without the seconds of a two-stage solve
    evaluated = api.evaluate(result, scenarios=20, seed=1, backend="numpy")
    assert list(evaluated.result.metrics["plan"]) == ["stochastic", "forecast"]
    assert evaluated.plans.objective is None and "StochasticResult" in repr(evaluated.plans)
    with pytest.raises(InputError, match=r"^plans: the SolveResult's plans do not fit the model given: plans "
                                         r"are for model 'tiny', not 'lab'"):  # fmt: skip
        api.evaluate(solved, "lab", scenarios=20)


def test_plans_in_memory_are_named_by_the_labels_given(here):
    """fo.evaluate took no labels: every plan in memory was "milp" (or a stochastic result's two,
    "stochastic" and "forecast"), the names of the plan file its run would write. ``labels`` names them,
    one per plan in order, in the metrics, the ranking and the run written; too many or too few, a
    repeated or blank one, or labels for a run's plans (their file's names, by which its report finds
    each) are refused by name, before any scenario is run."""
    solved = api.solve("tiny")
    result = StochasticResult(
        data=solved.data, settings={"scenarios": 1}, plan=solved.plan, forecast_plan=solved.plan,
        first_stage={}, measures={}, scenarios=[], timings={}, model_size={}, loaded=solved.loaded,
    )  # fmt: skip
    evaluated = api.evaluate(result, scenarios=10, backend="numpy", labels=["hedged", "base case"])
    assert list(evaluated.metrics["plan"]) == ["hedged", "base case"]
    assert evaluated.plans.labels == ["hedged", "base case"]
    assert set(evaluated.ranked()["plan"]) == {"hedged", "base case"}
    folder = api.write_evaluate_run(evaluated, out=here / "labelled")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert [row["plan"] for row in summary["metrics"]] == ["hedged", "base case"]
    assert list(api.evaluate(solved, scenarios=10, labels=["mine"]).metrics["plan"]) == ["mine"]
    refusals = {("a",): r"^labels: 1 given for 2 plans \(stochastic and forecast\): give one for each",
                ("a", "a"): r"^labels must be unique: a given more than once",
                ("a", " "): r"^labels must not be blank", "ab": r"^labels must be a list of names"}
    for labels, refused in refusals.items():
        with pytest.raises(InputError, match=refused):
            api.evaluate(result, scenarios=10, labels=labels if isinstance(labels, str) else list(labels))
    with pytest.raises(InputError, match=r"^labels names the plans of a result in memory"):
        api.evaluate(api.write_solve_run(solved), scenarios=10, labels=["mine"])

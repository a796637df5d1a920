"""Bad model files through the CLI: exit code 2, one `error:` line per problem naming the path and line."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import run_cli
from evaluate_builders import batch, power_debt_model, solved, with_risk
from milp_builders import data_of

from fleetopt.compare.sources import CompareError
from fleetopt.errors import FleetoptError
from fleetopt.evaluate.backend import BackendError
from fleetopt.evaluate.batch import PlanFileError
from fleetopt.evaluate.ray_executor import RayUnavailable
from fleetopt.evaluate.scenarios import ScenarioSet, deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import InfeasibleModel, NoPlanFound
from fleetopt.report.reading import ReportError
from fleetopt.runs.registry import RegistryError
from fleetopt.runs.run_files import RunDirError
from fleetopt.schema.base import MAX_QUARTER_COUNT
from fleetopt.schema.issues import ModelError
from fleetopt.schema.model import PlanningModel
from fleetopt.schema.parsing import parse_model_text
from fleetopt.sweep.rule import RuleError


def line_of(text: str, fragment: str) -> int:
    """1-based number of the first line of ``text`` containing ``fragment``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in text")


def validate_text(tmp_path: Path, text: str) -> tuple[Path, int, str, str]:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli("validate", str(path))
    return path, code, out, err


def assert_bad_input(code: int, out: str, err: str, *expected: str, n_errors: int = 1) -> None:
    assert code == 2, f"exit code {code}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in out + err
    assert out == "", "nothing goes to stdout when the model is refused"
    lines = err.strip("\n").split("\n")
    assert len(lines) == n_errors, err
    assert all(line.startswith("error: ") for line in lines), err
    for fragment in expected:
        assert fragment in err


# (id, text to replace, replacement, field path, message fragment)
TEXT_CASES = [
    ("unknown-key", "    pue: 1.25", "    pue: 1.25\n    colour: blue",
     "sites.texas.colour", "unknown key"),
    # a misspelt key: the block's nearest one; one written in the wrong block: where the format has it
    ("misspelt-key", "    pue: 1.25", "    pue: 1.25\n    power_capacity: 20", "sites.texas.power_capacity",
     "spelling): did you mean 'power_capacity_mw'?"),
    ("key-of-another-block", "    pue: 1.25", "    pue: 1.25\n    discount_rate: 0.1",
     "sites.texas.discount_rate", "spelling); the format has horizon.discount_rate_annual"),
    ("wrong-type", "gpus: 9600", 'gpus: "many"', "fleet.0.gpus", "valid integer"),
    ("negative-power", "power_capacity_mw: 20", "power_capacity_mw: -20",
     "sites.texas.power_capacity_mw", "must not be negative (got -20)"),
    ("negative-contract-price", "price_usd_per_gpu_hour: 2.30", "price_usd_per_gpu_hour: -2.30",
     "contracts.lab-a-training.price_usd_per_gpu_hour", "greater than or equal to 0"),
    ("negative-market-price", "hopper: {start: 2.35", "hopper: {start: -2.35",
     "market.price_usd_per_gpu_hour.training.hopper", "start (-2.35) must not be negative"),
    # the series alone was named: which of its values, its start, a step or a list's item, was not
    ("negative-step", "power_capacity_mw: 20", "power_capacity_mw: {start: 20, steps: {2027Q1: -5}}",
     "sites.texas.power_capacity_mw", "steps.2027Q1 (-5) must not be negative"),
    # a step keyed by a date (YAML reads 2027-07-01 unquoted as one) was located at
    # `steps."datetime.date(2027, 7, 1)"`, on the line of `steps:`: the key as written, on its own line
    ("step-keyed-by-a-date", "power_capacity_mw: 20", "power_capacity_mw:\n      start: 20\n      steps:\n"
     "        2027-07-01: 30", "sites.texas.power_capacity_mw.steps.2027-07-01.[key]",
     "2027-07-01 is not a quarter: expected a label like 2026Q3 (the quarter it falls in is 2027Q3)\n"),
    ("step-too-large", "capex_per_gpu_usd: 50000",
     "capex_per_gpu_usd: {start: 50000, steps: {2027Q1: 5.0e9}}", "skus.H100.capex_per_gpu_usd",
     "steps.2027Q1 (5e+09) must be at most 100,000,000 USD per GPU"),
    ("quarter-outside-horizon", "start: 2027Q1", "start: 2031Q1",
     "contracts.enterprise-inference.start", "quarter 2031Q1 is outside the horizon 2026Q3..2028Q2"),
    # a bullet due before the horizon was kept as debt throughout (a review): refused
    ("bullet-matured-before", "      draw_until: 2027Q4",
     "      draw_until: 2027Q4\n    old-note:\n      size_usd: 50000000\n"
     "      opening_balance_usd: 50000000\n      fixed_rate_annual: 0.08\n      repayment: bullet\n"
     "      draw_from: 2025Q1\n"
     "      draw_until: 2025Q2\n      maturity: 2025Q4",
     "finance.facilities.old-note.maturity", "quarter 2025Q4 is before the horizon starts (2026Q3)"),
    # a contract already running: the values that write it, not only "outside the horizon"
    ("contract-already-running", "start: 2027Q1", "start: 2026Q1", "contracts.enterprise-inference.start",
     "quarter 2026Q1 is before the horizon starts (2026Q3): a contract already running is written from "
     "the horizon's first quarter with the quarters left as its term (start: 2026Q3, term_quarters: 4;"),
    ("malformed-quarter", "start: 2027Q1", "start: 2026-Q5",  # no quarter 5 to offer
     "contracts.enterprise-inference.start", "'2026-Q5' is not a quarter: expected a label like 2026Q3\n"),
    ("quarter-out-of-range", "start: 2026Q3", "start: 9999Q1",
     "horizon.start", "'9999Q1' is outside the years 1900-2199 a model can plan in"),
    ("quarter-short-year", "start: 2026Q3", "start: 26Q3",
     "horizon.start", "'26Q3' is outside the years 1900-2199 a model can plan in (write the year in full: "
     "2026Q3)"),
    # YAML reads these as a number and a date: the same message, not "Input should be a valid string"
    ("quarter-read-as-number", "start: 2027Q1", "start: 2027",
     "contracts.enterprise-inference.start", "2027 is not a quarter: expected a label like 2026Q3"),
    ("quarter-read-as-date", "start: 2027Q1", "start: 2027-05-01",
     "contracts.enterprise-inference.start", "2027-05-01 is not a quarter: expected a label like 2026Q3 "
     "(the quarter it falls in is 2027Q2)"),  # May: the second quarter
    # quoted, YAML reads it as text, as an edit's key or value is: the same quarter named
    ("quarter-quoted-date", "start: 2027Q1", "start: '2027-05-01'",
     "contracts.enterprise-inference.start", "'2027-05-01' is not a quarter: expected a label like 2026Q3 "
     "(the quarter it falls in is 2027Q2)"),
    # a quarter written as a user writes it elsewhere: the label it meant
    ("quarter-with-a-dash", "start: 2027Q1", "start: 2027-Q1", "contracts.enterprise-inference.start",
     "'2027-Q1' is not a quarter: expected a label like 2026Q3 (write 2027Q1)"),
    ("quarter-in-lower-case", "start: 2027Q1", "start: 2027q1", "contracts.enterprise-inference.start",
     "'2027q1' is not a quarter: expected a label like 2026Q3 (write 2027Q1)"),
    ("quarter-before-year", "start: 2027Q1", "start: Q1 2027", "contracts.enterprise-inference.start",
     "'Q1 2027' is not a quarter: expected a label like 2026Q3 (write 2027Q1)"),
    ("horizon-start-read-as-number", "start: 2026Q3", "start: 2026",
     "horizon.start", "2026 is not a quarter: expected a label like 2026Q3"),
    # a field YAML reads as null or a number: what the field expects, not "Input should be a valid string"
    ("customer-null", "customer: lab-a", "customer: ~", "contracts.lab-a-training.customer",
     "is empty (a YAML null): expected a name: use letters, digits, '_', '-' and '.'"),
    ("customer-number", "customer: lab-a", "customer: 5", "contracts.lab-a-training.customer",
     "5 (a YAML number) must be text: quote it to use it as a name"),
    ("model-name-null", "name: tiny", "name: ~", "name",
     "is empty (a YAML null): expected a name: use letters"),
    ("listed-name-null", "eligible_skus: [H100]", "eligible_skus: [~]",
     "contracts.lab-a-training.eligible_skus.0", "is empty (a YAML null): expected a name: use letters"),
    ("quarter-null", "start: 2026Q3", "start: ~", "horizon.start",
     "is empty (a YAML null): expected a quarter: a label like 2026Q3"),
    ("text-null", "description: One Texas", "description: ~ #", "description",
     "is empty (a YAML null): expected text"),
    ("count-null", "gpus: 4000", "gpus: ~", "contracts.lab-a-training.gpus",
     "Input should be a valid integer (got nothing: the field is empty, a YAML null)"),
    ("choice-null", "use: training", "use: ~", "fleet.0.use",
     "Input should be 'training' or 'inference' (got nothing: the field is empty, a YAML null)"),
    # an unknown name with the names it could be: a typo of one is seen at a glance
    ("contract-unknown-sku", "eligible_skus: [H100]", "eligible_skus: [H100, H900]",
     "contracts.lab-a-training.eligible_skus.1", "unknown SKU 'H900' (SKUs: H100, B200)"),
    ("cohort-unknown-site", "site: texas", "site: taxes",
     "fleet.0.site", "unknown site 'taxes' (sites: texas)"),
    ("cohort-before-sku", "purchased: 2024Q1", "purchased: 2022Q1",
     "fleet.0.purchased", "2022Q1 is before SKU 'H100' was available (2023Q1)"),
    ("series-wrong-length", "electricity_price_usd_per_mwh: 55",
     "electricity_price_usd_per_mwh: [55, 56, 57]",
     "sites.texas.electricity_price_usd_per_mwh", "has 3 values but the horizon has 8 quarters"),
    ("nan", "pue: 1.25", "pue: .nan", "sites.texas.pue", "finite number"),
    # no market hour billed: validated, then `solve` blamed the contracts' deliveries (exit 3)
    ("market-never-billed", "billed_utilization: 0.85", "billed_utilization: 0",
     "market.billed_utilization", "greater than 0"),
    ("bad-step-quarter", "annual_growth: -0.10 ", "annual_growth: -0.10\n      steps: {2026Q5: 50000}",
     "skus.B200.capex_per_gpu_usd.steps.2026Q5.[key]", "'2026Q5' is not a quarter"),
    ("growth-out-of-range", "annual_growth: -0.10 ", "annual_growth: -1.5 ",
     "skus.B200.capex_per_gpu_usd.annual_growth", "must be at least -0.99 (a 99 % fall a year)"),
    # a decline written in per cent said "greater than or equal to -0.99", not that growth is a fraction
    ("decline-as-percent", "annual_growth: -0.10 ", "annual_growth: -12 ",
     "skus.B200.capex_per_gpu_usd.annual_growth", "growth is a fraction, -0.12 means 12 % lower each year "
     "(got -12)"),
    # a percentage written as a whole number: the hint, not only "less than or equal to 10 / 3"
    ("growth-as-percent", "annual_growth: -0.10 ", "annual_growth: 60 ",
     "skus.B200.capex_per_gpu_usd.annual_growth", "growth is a fraction, 0.6 means 60 % a year (got 60)"),
    # a rating as an analyst writes it: pydantic listed the grades, not that notches are not read
    ("rating-notched", "\nrisk:", "\nrisk:\n  customer_ratings: {lab-a: BB+}",
     "risk.customer_ratings.lab-a", "should be one of AAA, AA, A, BBB, BB, B, CCC: whole S&P grades, "
     "without notches or Moody's letters: write BB (got 'BB+')"),
    ("rating-lower-case", "\nrisk:", "\nrisk:\n  customer_ratings: {lab-a: b}",
     "risk.customer_ratings.lab-a", "write B (got 'b')"),
    ("rating-moodys", "\nrisk:", "\nrisk:\n  customer_ratings: {lab-a: Baa3}",
     "risk.customer_ratings.lab-a", "write BBB (got 'Baa3')"),
    ("pue-as-percent", "pue: 1.25", "pue: 125", "sites.texas.pue",
     "must be at most 3: PUE is facility power / IT power, 1.25 (not 125) (got 125)"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "field", "message"), [c[1:] for c in TEXT_CASES],
                         ids=[c[0] for c in TEXT_CASES])  # fmt: skip
def test_bad_value_names_path_and_line(tmp_path, tiny_text, old, new, field, message):
    assert old in tiny_text
    text = tiny_text.replace(old, new, 1)
    path, code, out, err = validate_text(tmp_path, text)
    line = line_of(text, new.split("\n")[-1].strip())
    assert_bad_input(code, out, err, f"error: {path}:{line}: {field}: ", message)


@pytest.mark.parametrize("old, new, said", [
    ("    power_capacity_mw: 20 ", "    power_capcity_mw: 20 ",
     "sites.texas.power_capcity_mw: unknown key (not part of the model format; check the spelling): did you "
     "mean 'power_capacity_mw'?"),
    ("\nfinance:", "\nfinace:", "finace: unknown key (not part of the model format; check the spelling): did "
     "you mean 'finance'?"),  # a required block's name misspelt
])  # fmt: skip
def test_a_misspelt_required_field_is_one_line_not_also_missing(tmp_path, tiny_text, old, new, said):
    """`power_capcity_mw:` said `sites.texas.power_capacity_mw: required field is missing` on one line
    and the unknown key with its "did you mean" on the next: the typo explains the missing field."""
    assert old in tiny_text
    text = tiny_text.replace(old, new, 1)
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli("solve", str(path), "--out", str(tmp_path / "run"))
    line = line_of(text, new.strip())
    assert_bad_input(code, out, err, f"error: {path}:{line}: {said}\n")
    assert not (tmp_path / "run").exists()


def test_a_misspelt_key_beside_its_missing_field_s_other_spelling_keeps_both(tmp_path, tiny_text):
    """A field missing that no unknown key is offered as is still said missing."""
    text = tiny_text.replace("    power_capacity_mw: 20 ", "    colour: blue\n    ", 1)
    _, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, "sites.texas.power_capacity_mw: required field is missing",
                     "sites.texas.colour: unknown key", n_errors=2)


@pytest.mark.parametrize("window, field, where", [
    ("2028Q3..2029Q2", "draw_from", "starts after the horizon ends (2028Q2)"),
    ("2025Q1..2026Q2", "draw_until", "ends before the horizon starts (2026Q3)"),
])  # fmt: skip
def test_a_draw_window_outside_the_horizon_is_refused_by_name(tmp_path, tiny_text, window, field, where):
    """tiny's gpu-term-loan (size $600M, opening balance $200M, horizon 2026Q3..2028Q2) with its draw
    window moved out of the horizon validated, and every plan silently left its $600M - $200M =
    $400.0M undrawn. With nothing left to draw (size_usd = opening_balance_usd) the window is unused,
    and the model stays valid."""
    draw_from, draw_until = window.split("..")
    old = "      draw_from: 2026Q3\n      draw_until: 2027Q4\n"
    assert old in tiny_text
    text = tiny_text.replace(old, f"      draw_from: {draw_from}\n      draw_until: {draw_until}\n")
    path, code, out, err = validate_text(tmp_path, text)
    line = line_of(text, f"{field}: ")
    assert_bad_input(code, out, err, f"error: {path}:{line}: finance.facilities.gpu-term-loan.{field}: ",
                     f"the draw window {window} {where}: the $400.0M not yet drawn (size_usd less "
                     "opening_balance_usd) could never be drawn")
    repaid_only = text.replace("size_usd: 600000000 ", "size_usd: 200000000 ")
    assert repaid_only != text
    _, code, out, err = validate_text(tmp_path, repaid_only)
    assert code == 0, err


def test_a_draw_window_left_out_says_what_to_write(tmp_path, tiny_text):
    """An analyst's term loan drawn in full (tiny's gpu-term-loan at $200M opened, $200M in size)
    without draw_from and draw_until was told 'required field is missing', with no hint that a loan
    with nothing left to draw still needs its window: each field now says so and what to write (any
    quarter; the horizon's start, 2026Q3). A loan with money left is told what the field is."""
    window = "      draw_from: 2026Q3\n      draw_until: 2027Q4\n"
    full = tiny_text.replace(window, "").replace("size_usd: 600000000 ", "size_usd: 200000000 ")
    assert window in tiny_text and "size_usd: 200000000 " in full
    path, code, out, err = validate_text(tmp_path, full)
    said = ("required field is missing: a loan drawn in full (opening_balance_usd equal to size_usd) draws "
            "nothing more, but its draw window is still required: write any quarter, e.g. draw_from: 2026Q3 "
            "and draw_until: 2026Q3 (the horizon's start)")
    line = line_of(full, "gpu-term-loan:")
    loan = f"error: {path}:{line}: finance.facilities.gpu-term-loan"
    assert_bad_input(code, out, err, f"{loan}.draw_from: {said}", f"{loan}.draw_until: {said}", n_errors=2)
    _, code, out, err = validate_text(tmp_path, tiny_text.replace("      draw_from: 2026Q3\n", ""))
    assert_bad_input(code, out, err, "finance.facilities.gpu-term-loan.draw_from: required field is missing: "
                     "the first quarter money can be drawn (the draw window draw_from..draw_until, e.g. "
                     "draw_from: 2026Q3 and draw_until: 2026Q3 for draws in the first quarter only)")


@pytest.mark.parametrize("old, new, said", [
    # tiny's H100 is hopper, its B200 blackwell: no SKU meets both rules, or none is new enough
    ("    eligible_skus: [H100]\n", "    eligible_skus: [H100]\n    min_generation: blackwell\n",
     "contracts.lab-a-training: none of its eligible_skus is of min_generation blackwell or newer (H100 "
     "hopper): a SKU must meet both"),
    ("    min_generation: blackwell\n", "    min_generation: rubin\n",
     "contracts.enterprise-inference: no SKU in the model is of min_generation rubin or newer (H100 hopper, "
     "B200 blackwell): add one, or lower min_generation"),
    ("    start: 2027Q1\n", "    start: 2027Q1\n    delivery_deadline: 2026Q4\n",
     "contracts.enterprise-inference: delivery_deadline 2026Q4 is before start 2027Q1"),
])  # fmt: skip
def test_a_contract_no_sku_can_serve_or_due_before_it_starts_says_why(tmp_path, tiny_text, old, new, said):
    """"no SKU in the model is eligible for this contract" named neither rule behind it (a signed
    H100 contract given min_generation blackwell, a Rubin contract in a model without Rubin), and
    "delivery_deadline is before start" neither quarter."""
    assert old in tiny_text
    _, code, out, err = validate_text(tmp_path, tiny_text.replace(old, new, 1))
    assert_bad_input(code, out, err, said)


def test_a_rating_given_to_a_contract_names_its_customer(tmp_path, tiny_text):
    """risk.customer_ratings keyed by the contract (lab-a-training) rather than its customer (lab-a)
    said "unknown customer 'lab-a-training' (customers: enterprise-b, lab-a)", leaving the user to
    see which customer is the contract's."""
    text = tiny_text.replace("risk:\n", "risk:\n  customer_ratings:\n    lab-a-training: BBB\n", 1)
    assert text != tiny_text
    path, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, f"error: {path}:{line_of(text, 'lab-a-training: BBB')}: "
                     "risk.customer_ratings.lab-a-training: unknown customer 'lab-a-training' (customers: "
                     "enterprise-b, lab-a): lab-a-training is a contract, whose customer is lab-a")


def test_missing_file(tmp_path):
    path = tmp_path / "absent.yaml"
    code, out, err = run_cli("validate", str(path))
    assert_bad_input(code, out, err, f"error: {path}: no such file", "bundled models:", "tiny")


def test_a_huge_or_endless_file_is_refused_before_it_is_read_whole(tmp_path):
    """/dev/zero given by mistake was read until the process was killed; a model is kilobytes."""
    big = tmp_path / "huge.yaml"
    big.write_bytes(b"#" * (16 * 2**20 + 1))
    for path in (str(big), "/dev/zero"):
        if not Path(path).exists():
            continue
        code, _, err = run_cli("validate", path)
        assert code == 2, err
        assert "is larger than 16 MiB: not a model file" in err


def test_a_plan_file_given_as_a_model_is_named_a_plan_file(tmp_path):
    """`fleetopt validate runs/x/plan.npz` said "line 1 is not UTF-8 text (byte 0x86)"."""
    import numpy as np

    path = tmp_path / "plan.npz"
    np.savez(path, buy=np.zeros(3))
    code, out, err = run_cli("validate", str(path))
    assert_bad_input(code, out, err, f"error: {path}: is a plan file (.npz), not a model file",
                     f"fleetopt evaluate --plans {path}")  # fmt: skip
    other = path.rename(tmp_path / "fleet.xlsx")  # any other zip archive is not called a plan file
    code, out, err = run_cli("validate", str(other))
    assert_bad_input(code, out, err, f"error: {other}: is a zip archive (a spreadsheet, a document?), not a "
                     "model file")  # fmt: skip


def test_a_run_s_summary_given_as_a_model_is_named_a_run_s_file(tmp_path):
    """`fleetopt validate runs/x/summary.json` (JSON is YAML) listed its keys as unknown fields of a
    model ('fleetopt_version', 'kind', ...): it is named a run's file, with where its model is."""
    import json

    for name in ("summary.json", "job.json"):
        path = tmp_path / name
        path.write_text(json.dumps({"fleetopt_version": "0.4.15", "kind": "evaluate", "n_plans": 1}))
        code, out, err = run_cli("validate", str(path))
        assert_bad_input(code, out, err, f"error: {path}: is a run's file (summary.json or job.json), not a "
                         "model file: the model a run used is its folder's model.yaml")  # fmt: skip


def test_a_model_saved_with_windows_line_ends_is_the_same_model(tmp_path, tiny_text):
    """CRLF line ends read as LF: the same model, the same content hash (so its plans fit it)."""
    from fleetopt.schema.loading import load_model

    crlf = tmp_path / "tiny-crlf.yaml"
    crlf.write_bytes(tiny_text.replace("\n", "\r\n").encode())
    lf = tmp_path / "tiny.yaml"
    lf.write_text(tiny_text)
    assert load_model(crlf).content_hash == load_model(lf).content_hash


def test_directory_instead_of_file(tmp_path):
    code, out, err = run_cli("validate", str(tmp_path))
    assert_bad_input(code, out, err, f"error: {tmp_path}: is a folder, not a model file")


def test_a_run_folder_given_as_a_model_names_the_model_it_holds(tmp_path):
    """`fleetopt solve runs/base` (the run's folder, not its model) said only "is a folder, not a
    model file"; a run's folder holds the model it ran, model.yaml, which the message names."""
    run = tmp_path / "base"
    code, _, err = run_cli("solve", "tiny", "--out", str(run))
    assert code == 0, err
    code, out, err = run_cli("solve", str(run))
    assert_bad_input(code, out, err, f"error: {run}: is a folder, not a model file (a run's folder? its "
                                     f"model is {run}/model.yaml)")  # fmt: skip


def test_yaml_syntax_error_gives_its_line(tmp_path, tiny_text):
    text = tiny_text.replace("    pue: 1.25", "    pue: 1.25: 3")
    path, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(
        code, out, err, f"error: {path}:{line_of(text, 'pue: 1.25: 3')}: YAML syntax error: mapping values"
    )


@pytest.mark.parametrize("written, said", [
    ("\tpue: 1.25", "found character '\\t' that cannot start any token: a tab, which YAML does not allow "
                    "there: use spaces"),
    ("   pue: 1.25", "expected <block end>, but found '<block mapping start>': most likely this line is "
                    "indented to no level of the lines above it"),
], ids=["tab", "three-spaces"])
def test_a_tab_or_a_stray_indent_is_said_in_words(tmp_path, tiny_text, written, said):
    """A tab, or a key indented by 3 spaces among keys at 4, got PyYAML's words alone ("found
    character '\\t' that cannot start any token", "expected <block end>, but found '<block mapping
    start>'"), which name neither a tab nor indentation."""
    text = tiny_text.replace("    pue: 1.25", written, 1)
    path, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, f"error: {path}:{line_of(text, written)}: YAML syntax error: {said}")


PUE_LINE = "    pue: 1.25                          # neocloud modelling default 1.25-1.3 [§1] (B)\n"
POWER_PRICE_LINE = "    electricity_price_usd_per_mwh: 55"


@pytest.mark.parametrize("old, new, error_at, said", [
    # the key's line keeps its comment: PyYAML stops at the next line, naming the key's line
    ("    pue: 1.25 ", "    pue 1.25 ", POWER_PRICE_LINE,
     "could not find expected ':': line {pue} ('pue 1.25') most likely lacks the ':' after its key "
     "(while scanning a simple key on line {pue})"),
    # the first key of a block, without a comment: the next line's key reads as more of its text
    ("    power_capacity_mw: 20              # assumption: a 20 MW hall\n", "    power_capacity_mw 20\n",
     "    pue: 1.25",
     "mapping values are not allowed here: line {power} ('power_capacity_mw 20') most likely lacks the ':' "
     "after its key"),
    ("description: One Texas site", "description: Texas: one site", "description: ",
     "mapping values are not allowed here: this line's value holds ': ' (a colon and a space), read as "
     "another key: quote the value"),
    (PUE_LINE + POWER_PRICE_LINE, "    pue: 1.25\n  " + POWER_PRICE_LINE, POWER_PRICE_LINE,
     "mapping values are not allowed here: most likely this line is indented deeper than the key above it"),
], ids=["key-without-colon", "key-without-colon-opening-a-block", "colon-in-value",
        "indented-deeper"])  # fmt: skip
def test_a_missing_colon_or_a_colon_too_many_is_said_in_words(tmp_path, tiny_text, old, new, error_at, said):
    """`pue 1.25` (the ':' forgotten) said "mapping values are not allowed here" on the line after it,
    or "could not find expected ':'", naming neither the key nor the fix; so did a value holding ': '
    and a line indented deeper than the key above it, which YAML reads as more of that key's value."""
    assert old in tiny_text
    text = tiny_text.replace(old, new, 1)
    path, code, out, err = validate_text(tmp_path, text)
    line = line_of(text, error_at.strip())
    message = said.format(pue=line_of(text, "pue"), power=line_of(text, "power_capacity_mw"))
    assert_bad_input(code, out, err, f"error: {path}:{line}: YAML syntax error: {message}")


def test_unclosed_bracket_names_where_it_opened(tmp_path, tiny_text):
    # The parser only notices on the next line; the message also names the line the list opened on.
    text = tiny_text.replace("  quarters: 8", "  quarters: [8")
    path, code, out, err = validate_text(tmp_path, text)
    opened = line_of(text, "quarters: [8")
    assert_bad_input(
        code, out, err,
        f"error: {path}:{opened + 1}: YAML syntax error: ",
        f"(while parsing a flow sequence on line {opened})",
    )  # fmt: skip


def test_duplicate_key_gives_the_second_line(tmp_path, tiny_text):
    text = tiny_text.replace("    pue: 1.25", "    pue: 1.25\n    pue: 1.3")
    path, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, f"error: {path}:{line_of(text, 'pue: 1.3')}: ", "duplicate key 'pue'")


@pytest.mark.parametrize(
    ("written", "read_as_before"),
    [("0400", 256), ("0800", "text"), ("0xFA0", 4000), ("0b1010", 10), ("66:40", 4000)],
    ids=["octal", "leading-zero", "hexadecimal", "binary", "base-60"],
)
def test_a_number_not_in_decimal_digits_is_refused_not_misread(tmp_path, tiny_text, written, read_as_before):
    """YAML 1.1 read a contract's `gpus: 0400` as 256 GPUs (octal), 66:40 as 4,000 (base 60), and
    left 0800 text with a hint to remove quotes it did not have: validate said ok to the first ones.
    Each is refused now, on its line, with the decimal number to write where there is one."""
    text = tiny_text.replace("    gpus: 4000", f"    gpus: {written}", 1)
    assert text != tiny_text
    path, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, f"error: {path}:{line_of(text, f'gpus: {written}')}: ",
                     f"{written!r} is not a plain decimal number")  # fmt: skip
    if written.startswith("0") and written[1:].isdigit():
        assert f"write it in decimal digits, {written.lstrip('0')}" in " ".join(err.split())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("x: &loop [*loop]\n", "x: unknown key"),  # a recursive alias must not recurse forever
        ("? [a, b]\n: 1\n", "a key must be a plain value"),  # an unhashable key
        ("x: !!python/object:os.system ls\n", "could not determine a constructor"),  # no unsafe tags
        ("x: a\x00b\n", ":152: YAML error: unacceptable character #x0000"),  # one line, with its line
        ('"two\\nlines": 1\n', ":152: 'two\\nlines': unknown key"),  # a key with a newline is quoted
        ("x: &d {a: 1}\ny:\n  <<: *d\n", ":154: YAML merge keys (<<) are not supported"),
        # values YAML parses but cannot make: a traceback before (ValueError, KeyError, TypeError)
        ("x: 2024-02-30\n", ":152: YAML value '2024-02-30' cannot be read as a date: day is out of range"),
        ("x: !!float abc\n", ":152: YAML value 'abc' cannot be read as a float"),
        ("x: !!bool maybe\n", ":152: YAML value 'maybe' cannot be read as a bool: not a bool"),
        ("x: !!map [a]\n", ":152: YAML value a list cannot be read as a map: not a map"),
        ("x: " + "9" * 5000 + "\n", ":152: YAML value '99999"),
    ],
    ids=["recursive-alias", "list-as-key", "python-tag", "control-character", "newline-in-key", "merge-key",
         "impossible-date", "float-tag", "bool-tag", "map-tag-on-list", "5000-digit-int"],
)
def test_hostile_yaml_is_refused_cleanly(tmp_path, tiny_text, extra, message):
    assert tiny_text.count("\n") == 151  # the extra line is line 152
    _, code, out, err = validate_text(tmp_path, tiny_text + extra)
    assert_bad_input(code, out, err, message)


def test_a_number_of_thousands_of_digits_is_refused_in_the_model_s_words(tmp_path, tiny_text):
    """A 5,000-digit integer was refused with Python's own advice, "cannot be read as a int: Exceeds
    the limit (4300 digits) ...; use sys.set_int_max_str_digits() to increase the limit": a call no
    model's author can make. It says how many digits the value has, and that it is a typing slip."""
    _, code, out, err = validate_text(tmp_path, tiny_text + "x: " + "9" * 5000 + "\n")
    said = "cannot be read as an int: it has 5,000 digits, more than any model's figure (a typing slip?)"
    assert_bad_input(code, out, err, ":152: YAML value '99999", said)
    assert "sys.set_int_max_str_digits" not in err


def _yaml_error_in_a_child(text: str, timeout: float) -> str:
    """The ModelError of ``text`` read in a process of its own, which a hang would not take down."""
    probe = ("import sys\nfrom fleetopt.schema.issues import ModelError\n"
             "from fleetopt.schema.yaml_reading import load_yaml\ntry:\n"
             "    load_yaml(sys.stdin.read(), 'model.yaml')\nexcept ModelError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", probe], input=text, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip
    return done.stdout


@pytest.mark.parametrize("aliases", [
    "a: &x [*x]",  # a list holding itself: valid YAML
    "\n".join(["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",  # 10 ** 7 nodes reached through shared aliases
               *(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8))]),
], ids=["recursive", "shared-10-ways-7-deep"])  # fmt: skip
def test_a_bad_value_beside_aliases_is_found_without_walking_them_again(aliases):
    """The search for the value PyYAML cannot make walked the nodes without noting those seen: a
    recursive alias beside a bad date never ended, shared ones took minutes (a review)."""
    out = _yaml_error_in_a_child(f"{aliases}\nb: 2024-02-30\n", timeout=60)
    assert "YAML value '2024-02-30' cannot be read as a date" in out


@pytest.mark.parametrize("text, holds", [
    ("", "; it is empty, or holds only comments"),
    ("# a model, to be written\n", "; it is empty, or holds only comments"),
    ("just a string\n", "; it holds one value, 'just a string'"),
    ("- a\n- b\n", "; it holds a list"),
], ids=["empty", "comments", "scalar", "list"])  # fmt: skip
def test_file_that_is_not_a_mapping(tmp_path, text, holds):
    """An empty model file was told only that it "must be a YAML mapping of blocks", as a list was:
    it says what the file holds, and for an empty one the blocks a model needs."""
    path, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, f"error: {path}: the file must be a YAML mapping of blocks")
    assert holds in err, err
    if "empty" in holds:  # what a model needs: its required blocks
        assert "(name:, horizon:, skus:, sites:, market:, finance:, redeployment: ..." in err, err


def test_missing_block_built_from_dict(tmp_path, tiny_text):
    data = yaml.safe_load(tiny_text)
    del data["finance"]
    del data["skus"]["B200"]["power_kw_per_gpu"]
    path, code, out, err = validate_text(tmp_path, yaml.safe_dump(data, sort_keys=False))
    assert_bad_input(
        code, out, err,
        "skus.B200.power_kw_per_gpu: required field is missing",
        f"error: {path}:1: finance: required field is missing",  # a missing block points at the top
        n_errors=2,
    )  # fmt: skip


def test_a_signed_contract_no_gpu_can_serve_is_refused_naming_it(tmp_path, tiny_text):
    """Validated, then infeasible with "contract lab-a-training short by 4,000 GPUs" and no reason
    (from a model author's review): its only SKU left the market before the horizon and is not in
    the fleet. An optional contract no GPU can serve is only declined: not refused."""
    data = yaml.safe_load(tiny_text)
    data["skus"]["B200"]["available_until"] = "2026Q1"
    data["contracts"]["lab-a-training"]["eligible_skus"] = ["B200"]
    _, code, out, err = validate_text(tmp_path, yaml.safe_dump(data, sort_keys=False))
    assert_bad_input(code, out, err, "contracts.lab-a-training: no SKU that may serve this signed contract "
                     "(B200) is in the fleet or on sale in the horizon before its term ends")  # fmt: skip
    data["contracts"]["lab-a-training"]["signed"] = False
    assert validate_text(tmp_path, yaml.safe_dump(data, sort_keys=False))[1] == 0


def test_a_signed_contract_no_gpu_can_serve_by_its_deadline_is_refused_naming_when_they_could(
    tmp_path, tiny_text
):
    """A signed contract due in full from 2026Q3 whose only SKU goes on sale in 2026Q4 validated and
    was then infeasible ("short by 4,032 GPUs", no reason; a model author's review). B200 on sale
    from 2026Q4 with one quarter to install serves from 2027Q1: refused, naming it; due from 2027Q1
    (its delivery_deadline) it validates, and so does the contract as tiny has it (H100 in fleet)."""
    data = yaml.safe_load(tiny_text)
    data["skus"]["B200"]["available_from"] = "2026Q4"
    data["skus"]["B200"]["install_quarters"] = 1
    data["contracts"]["lab-a-training"]["eligible_skus"] = ["B200"]
    _, code, out, err = validate_text(tmp_path, yaml.safe_dump(data, sort_keys=False))
    assert_bad_input(code, out, err, "contracts.lab-a-training: no SKU that may serve this signed contract "
                     "is in the fleet or can be bought and installed by its delivery deadline (2026Q3, its "
                     "start where none is given), from which it must be delivered in full (B200 from "
                     "2027Q1)")  # fmt: skip
    data["contracts"]["lab-a-training"]["delivery_deadline"] = "2027Q1"
    assert validate_text(tmp_path, yaml.safe_dump(data, sort_keys=False))[1] == 0


def test_every_problem_is_listed(tmp_path, tiny_text):
    text = tiny_text.replace("power_capacity_mw: 20", "power_capacity_mw: -20").replace(
        "gpus: 9600", "gpus: many"
    )
    _, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, "sites.texas.power_capacity_mw", "fleet.0.gpus", n_errors=2)


def test_validate_writes_nothing(tmp_path, tiny_text, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "model.yaml").write_text(tiny_text.replace("gpus: 9600", "gpus: -1"), encoding="utf-8")
    monkeypatch.chdir(work)
    before = sorted(p.name for p in work.rglob("*"))
    code, _, err = run_cli("validate", "model.yaml")
    assert code == 2
    assert "fleet.0.gpus" in err
    code, _, _ = run_cli("validate", "tiny")
    assert code == 0
    assert sorted(p.name for p in work.rglob("*")) == before


def test_schema_out_writes_the_schema(tmp_path):
    out_file = tmp_path / "sub" / "schema.json"
    code, _, err = run_cli("schema", "--out", str(out_file))
    assert code == 0, err
    assert json.loads(out_file.read_text(encoding="utf-8")) == PlanningModel.model_json_schema()
    assert [p.name for p in out_file.parent.iterdir()] == ["schema.json"]  # no temporary file left


@pytest.mark.parametrize("command", [
    lambda run, out: ["report", str(run), "--out", str(out)],
    lambda run, out: ["compare", str(run), str(run), "--scenarios", "20", "--out", str(out)],
], ids=["report", "compare"])  # fmt: skip
def test_report_and_compare_out_make_the_folders_it_names_as_schema_out_does(solve_run, tmp_path, command):
    """docs/cli.md: the --out of report, compare and schema makes the folders on its path that do not
    exist yet, as solve --out does a run folder's."""
    out = tmp_path / "new" / "deeper" / "page.html"
    code, _, err = run_cli(*command(solve_run, out))
    assert code == 0, err
    assert [p.name for p in out.parent.iterdir()] == ["page.html"]  # no temporary file left


def test_schema_out_to_a_folder_is_bad_input_worded_as_compare_and_report_say_it(tmp_path):
    """`schema --out DIR` said "--out DIR is a directory" where compare and report say "--out DIR is a
    folder" (each said "out (--out) DIR", the option's name twice, until they named it once)."""
    code, out, err = run_cli("schema", "--out", str(tmp_path))
    assert_bad_input(code, out, err, f"error: --out {tmp_path} is a folder: give a file name such as")
    assert list(tmp_path.iterdir()) == []


def test_schema_out_under_a_file_is_bad_input(tmp_path):
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    code, out, err = run_cli("schema", "--out", str(tmp_path / "plain" / "schema.json"))
    # it said "File exists"; it names the file in the way, as every --out does (a fuzz audit), and
    # its option as compare and report do
    assert_bad_input(code, out, err, f"error: cannot write --out {tmp_path / 'plain' / 'schema.json'}: "
                     f"{tmp_path / 'plain'} is not a folder")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


def test_a_model_saved_in_another_encoding_names_the_line(tmp_path):
    """A file saved as Windows-1252 said "'utf-8' codec can't decode byte 0x80 in position 7"."""
    path = tmp_path / "model.yaml"
    path.write_bytes("name: bistro\ndescription: caf\u00e9\n".encode("cp1252"))
    code, out, err = run_cli("validate", str(path))
    said = "model.yaml: line 2 is not UTF-8 text (byte 0xe9): save the file as UTF-8"
    assert_bad_input(code, out, err, said)


def test_real_process_keeps_errors_on_stderr(tmp_path, tiny_text):
    """The installed entry point, not only the in-process runner: stderr, exit 2, no traceback."""
    path = tmp_path / "model.yaml"
    text = tiny_text.replace("    pue: 1.25", "    pue: 1.25\n    colour: blue")
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", "from fleetopt.cli import main; main()", "validate", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"error: {path}:{line_of(text, 'colour')}: sites.texas.colour: " + (
        "unknown key (not part of the model format; check the spelling)\n"
    )


def test_every_error_fleetopt_reports_carries_its_exit_code():
    bad_input = [ModelError, RunDirError, RegistryError, BackendError, PlanFileError, RayUnavailable,
                 RuleError, CompareError, ReportError]  # fmt: skip
    codes = {cls: 2 for cls in bad_input} | {InfeasibleModel: 3, NoPlanFound: 4}
    for cls, code in codes.items():
        assert issubclass(cls, FleetoptError) and cls.exit_code == code, cls


# ---------------------------------------------------------------- issue 15: numbers and nesting

MONEY_LIMIT = "must be at most 1e15 USD ($1,000T): larger amounts are beyond the precision"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("opening_cash_usd: 150000000", "opening_cash_usd: 1.0e+308", "finance.opening_cash_usd"),
        ("opening_cash_usd: 150000000", "opening_cash_usd: 1e18", "finance.opening_cash_usd"),
        ("capex_per_gpu_usd: 50000", "capex_per_gpu_usd: 2.0e15", "skus.H100.capex_per_gpu_usd"),
        (
            "overhead_usd_per_quarter: 5000000 ",
            "overhead_usd_per_quarter: {start: 5000000, annual_growth: 10.0, steps: {2026Q4: 9.0e14}} ",
            "finance.overhead_usd_per_quarter",
        ),
    ],
    ids=["cash-1e308", "cash-1e18", "capex", "grown-series"],
)
def test_money_beyond_what_the_solver_handles_is_refused_with_why(tmp_path, tiny_text, old, new, field):
    """1e308 of opening cash was reported 'infeasible' with no conflicting groups; 1e18 ran for
    over ten minutes (issue 15)."""
    assert old in tiny_text
    _, code, out, err = validate_text(tmp_path, tiny_text.replace(old, new, 1))
    assert_bad_input(code, out, err, f"{field}", MONEY_LIMIT)


GPU_HOUR_LIMIT = "must be at most 10,000 USD per GPU-hour (a price this large is a typing slip)"


@pytest.mark.parametrize(
    ("old", "new", "field", "limit"),
    [
        ("hopper: {start: 2.35,", "hopper: {start: 1.0e10,", "market.price_usd_per_gpu_hour.training.hopper",
         GPU_HOUR_LIMIT),
        ("price_usd_per_gpu_hour: 2.30", "price_usd_per_gpu_hour: 5.0e4",
         "contracts.lab-a-training.price_usd_per_gpu_hour", GPU_HOUR_LIMIT),
        ("training: {start: 12000,", "training: {start: 1.0e200,", "market.demand_gpus.training",
         "must be at most 1e+12 H100-equivalent GPUs"),
        # the fuzz audit: 1e13 (under the 1e15 cap on money) solved "infeasible ... numerical"
        ("cost_per_gpu_usd: 1500 ", "cost_per_gpu_usd: 1.0e13 ", "redeployment.cost_per_gpu_usd",
         "must be at most 100,000,000 USD per GPU"),
        ("opex_per_gpu_quarter_usd: 1200 ", "opex_per_gpu_quarter_usd: 1.0e13 ",
         "skus.H100.opex_per_gpu_quarter_usd", "must be at most 100,000,000 USD per GPU"),
    ],
    ids=["market-price", "contract-price", "demand", "redeployment-cost", "opex"],
)
def test_a_price_or_demand_too_large_for_the_solver_is_refused(tmp_path, tiny_text, old, new, field, limit):
    """A market price of 1e10 USD per GPU-hour, under the 1e15 cap on money, solved "infeasible"
    with a diagnosis of a conflict that did not exist; a demand of 1e200 overflowed the evaluator."""
    assert old in tiny_text
    _, code, out, err = validate_text(tmp_path, tiny_text.replace(old, new, 1))
    assert_bad_input(code, out, err, field, limit)
    _, code, _, err = validate_text(tmp_path, tiny_text.replace(old, old.replace("2.35", "10000"), 1))
    assert code == 0, err  # at the limit


def test_numbers_with_an_exponent_are_numbers(tmp_path, tiny_text):
    """PyYAML (YAML 1.1) read 1e12 and 1.0e12 as strings: 'Input should be a valid number'."""
    text = tiny_text.replace("opening_cash_usd: 150000000", "opening_cash_usd: 1.5e8")
    text = text.replace("capex_per_gpu_usd: 50000", "capex_per_gpu_usd: 5.0e4")
    _, code, _, err = validate_text(tmp_path, text)
    assert code == 0, err
    loaded = parse_model_text(text, "m.yaml")
    assert loaded.finance.opening_cash_usd == 1.5e8 and loaded.skus["H100"].capex_per_gpu_usd == 5.0e4


def test_a_quoted_number_or_a_count_written_as_a_decimal_says_how_to_write_it(tmp_path, tiny_text):
    """`opening_cash_usd: "150000000"` said only "Input should be a valid number (got '150000000')",
    and `gpus: 4e3` "valid integer (got 4000.0)": the value looked right."""
    text = tiny_text.replace("opening_cash_usd: 150000000", 'opening_cash_usd: "150_000_000"')
    _, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, "finance.opening_cash_usd: must be a number, not text: write it without "
                     "quotes, 150_000_000 (got '150_000_000')")  # fmt: skip
    text = tiny_text.replace("block_size_gpus: 8 ", "block_size_gpus: 8.0", 1)
    assert text != tiny_text
    _, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, "skus.H100.block_size_gpus: must be a whole number: write 8, without "
                     "a decimal point or exponent (got 8.0)")  # fmt: skip
    # YAML reads an unquoted nan as text: no quotes to remove
    text = tiny_text.replace("opening_cash_usd: 150000000", "opening_cash_usd: nan")
    _, code, out, err = validate_text(tmp_path, text)
    assert code == 2 and "finance.opening_cash_usd" in err and "without quotes" not in err, err
    # full-width digits, unquoted: read as text by YAML, as a number by Python; told to drop quotes it had not
    text = tiny_text.replace("opening_cash_usd: 150000000", "opening_cash_usd: １５０")
    _, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, "finance.opening_cash_usd: must be a number in the digits 0-9, not "
                     "text: retype it (got '１５０')")  # fmt: skip


@pytest.mark.parametrize("field, written, said", [
    ("opening_cash_usd: 150000000", "opening_cash_usd: $150,000,000",
     "finance.opening_cash_usd: must be a plain number: write 150000000, without a dollar sign or thousands "
     "separators (the field's name gives its unit) (got '$150,000,000')"),
    ("opening_cash_usd: 150000000", "opening_cash_usd: -$5",
     "finance.opening_cash_usd: must be a plain number: write -5, without a dollar sign"),
    ("    gpus: 4000", "    gpus: 4,000",
     "contracts.lab-a-training.gpus: must be a plain number: write 4000, without thousands separators "
     "(got '4,000')"),
    ("discount_rate_annual: 0.15", "discount_rate_annual: 15%",
     "horizon.discount_rate_annual: must be a number, not a percentage: a rate or share is a fraction, "
     "0.15 for 15 % (got '15%')"),
    ("discount_rate_annual: 0.15", "discount_rate_annual: 1,5", "horizon.discount_rate_annual: Input "
     "should be a valid number (got '1,5')"),  # a decimal comma: no thousands to drop
    # a slide's scale suffix: 150M is 150 x 10^6, 2.3M exactly 2,300,000 (not float's 2299999.99...)
    ("opening_cash_usd: 150000000", "opening_cash_usd: 150M",
     "finance.opening_cash_usd: must be a plain number: write 150000000, without a scale suffix (M: a "
     "million) (got '150M')"),
    ("opening_cash_usd: 150000000", "opening_cash_usd: $2.3M",
     "finance.opening_cash_usd: must be a plain number: write 2300000, without a dollar sign or a scale "
     "suffix (M: a million) (the field's name gives its unit) (got '$2.3M')"),
    ("    capex_per_gpu_usd: 50000 ", "    capex_per_gpu_usd: 50k ",
     "skus.H100.capex_per_gpu_usd: must be a plain number: write 50000, without a scale suffix (k: a "
     "thousand) (got '50k')"),
    # a unit after the number: the field's name gives it, named; a kW figure in an MW field is not
    # offered as a plain number to keep
    ("power_capacity_mw: 20 ", "power_capacity_mw: 20 MW ",
     "sites.texas.power_capacity_mw: must be a plain number, without a unit: power_capacity_mw is in MW (its "
     "name says so); write the number in MW alone (got '20 MW')"),
    ("power_kw_per_gpu: 1.3 ", "power_kw_per_gpu: 1300 W ",
     "skus.H100.power_kw_per_gpu: must be a plain number, without a unit: power_kw_per_gpu is in kW per GPU "
     "(its name says so); write the number in kW per GPU alone (got '1300 W')"),
    # names whose ending would name another unit: the curve's values are fractions, not years
    ("resale_fraction_by_age_years: [0.80, 0.50, 0.34, 0.24, 0.14, 0.10, 0.06]\n",
     "resale_fraction_by_age_years: [80 pct, 0.50, 0.34, 0.24, 0.14, 0.10, 0.06]\n",
     "skus.H100.resale_fraction_by_age_years.0: must be a plain number, without a unit: "
     "resale_fraction_by_age_years is in fractions of capex (its name says so); write the number in "
     "fractions of capex alone (got '80 pct')"),
    ("training: {start: 12000, annual_growth: 0.30}", "training: {start: 12k GPUs, annual_growth: 0.30}",
     "market.demand_gpus.training.start: must be a plain number, without a unit: demand_gpus is in "
     "H100-equivalent GPUs (its name says so); write the number in H100-equivalent GPUs alone (got "
     "'12k GPUs')"),
    ("pue: 1.25 ", "pue: 1.25 x ",
     "sites.texas.pue: must be a plain number, without a unit (docs/model-format.md gives the field's) "
     "(got '1.25 x')"),
    ("size_usd: 600000000 ", "size_usd: 0.6b ",  # either case, as the CLI's USD options read it
     "finance.facilities.gpu-term-loan.size_usd: must be a plain number: write 600000000, without a scale "
     "suffix (b: a billion) (got '0.6b')"),
])  # fmt: skip
def test_a_number_written_as_a_spreadsheet_shows_it_says_the_plain_number(tmp_path, tiny_text, field,
                                                                          written, said):  # fmt: skip
    """A finance user's `$150,000,000`, `4,000`, `15%` or `150M` said only "Input should be a valid
    number (got '$150,000,000')", the slip left to find: each says the number to write."""
    assert field in tiny_text
    _, code, out, err = validate_text(tmp_path, tiny_text.replace(field, written, 1))
    assert_bad_input(code, out, err, said)


@pytest.mark.parametrize("written, said", [
    ('"true"', "must be true or false, not text: write it without quotes, true (got 'true')"),
    ("'No'", "must be true or false, not text: write it without quotes, No (got 'No')"),
    ("y", "Input should be a valid boolean (got 'y')"),  # text to YAML 1.1 unquoted too: no quotes to drop
])
def test_a_quoted_boolean_says_to_drop_the_quotes(tmp_path, tiny_text, written, said):
    """`signed: "true"` said "Input should be a valid boolean (got 'true')", the value looking right,
    where a quoted number says to write it without quotes."""
    text = tiny_text.replace("    signed: true", f"    signed: {written}", 1)
    assert text != tiny_text
    _, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, f"contracts.lab-a-training.signed: {said}")


def test_yaml_nested_hundreds_deep_is_one_line(tmp_path):
    """A RecursionError traceback from the YAML parser before (issue 15)."""
    path, code, out, err = validate_text(tmp_path, "a: " + "[" * 500 + "]" * 500 + "\n")
    assert_bad_input(code, out, err, f"error: {path}: the YAML is nested too deeply")


def test_a_default_level_above_the_cash_floor_is_refused(tmp_path, tiny_text):
    old = "  min_cash_usd: 25000000"
    assert old in tiny_text
    text = tiny_text.replace(old, "  default_cash_usd: 30000000\n" + old, 1)
    path, code, out, err = validate_text(tmp_path, text)
    line = line_of(text, "finance:")
    message = "default_cash_usd (30,000,000 USD) is above min_cash_usd"
    assert_bad_input(code, out, err, f"error: {path}:{line}: finance: ", message)


# ---------------------------------------------------------------- schema bounds: names, counts, volatilities


def validate_data(tmp_path: Path, data: dict) -> tuple[Path, int, str, str]:
    return validate_text(tmp_path, yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    ("skus", "message"),
    [
        (["H100", "H100"], "'H100' is listed twice"),
        (["H100", "B200", "H100", "H100"], "'H100' is listed 3 times"),
    ],
    ids=["twice", "three-times"],
)
def test_a_name_listed_twice_is_refused(tmp_path, tiny_text, skus, message):
    """tiny's signed lab-a-training (4,000 H100 GPUs, 4 quarters at 2.30 USD/GPU-hour) with H100
    listed twice validated, and the MILP counted each GPU once per entry: 2,000 GPUs served the
    4,000 and the contract's revenue was halved. Every list of names is a NameList."""
    data = yaml.safe_load(tiny_text)
    data["contracts"]["lab-a-training"]["eligible_skus"] = skus
    _, code, out, err = validate_data(tmp_path, data)
    assert_bad_input(code, out, err, "contracts.lab-a-training.eligible_skus: ", message)


QUARTER_COUNTS = [
    (("skus", "H100", "install_quarters"), 0),
    (("skus", "H100", "training_eligibility", "quarters_after_release"), 1),
    (("sites", "texas", "expansion", "lead_time_quarters"), 0),
    (("contracts", "lab-a-training", "term_quarters"), 1),
    (("contracts", "lab-a-training", "delay_allowance_quarters"), 0),
    (("finance", "facilities", "gpu-term-loan", "amortization_quarters"), 1),
    (("risk", "power_delay", "max_extra_quarters"), 0),
    (("risk", "power_delay", "contracted_max_extra_quarters"), 0),
    (("robustness", "power_delay_quarters"), 0),
]


def with_value(text: str, path: tuple, value: object) -> dict:
    data = yaml.safe_load(text)
    data.setdefault("robustness", {"market_price_drop": 0.1})
    block = data
    for key in path[:-1]:
        # a block the file leaves out (tiny's risk.ai_cycle) is made; a list is indexed
        block = block[key] if isinstance(block, list) else block.setdefault(key, {})
    block[path[-1]] = value
    return data


@pytest.mark.parametrize("value", [401, 10**20], ids=["401", "1e20"])
@pytest.mark.parametrize("path", [c[0] for c in QUARTER_COUNTS], ids=[c[0][-1] for c in QUARTER_COUNTS])
def test_a_count_of_quarters_beyond_400_is_refused(tmp_path, tiny_text, path, value):
    """install_quarters 1e20 was an OverflowError traceback in build_data, a lead time of 1e20 one
    in the power schedule, an allowance of 1e20 one in the evaluator after a half-written run folder,
    and a max_extra_quarters of 3e9 overflowed int32 (delays as if power were on time)."""
    _, code, out, err = validate_data(tmp_path, with_value(tiny_text, path, value))
    assert_bad_input(
        code, out, err, f"{'.'.join(path)}: must be at most 400 quarters (100 years", f"(got {value})"
    )


@pytest.mark.filterwarnings("ignore:.*quarters fall after the horizon ends")  # a contract past its horizon
def test_every_count_of_quarters_may_be_400(tmp_path, tiny_text):
    """The limit itself validates, builds the model's data and the evaluator's constants (where
    1e20 overflowed)."""
    data = yaml.safe_load(tiny_text)
    for path, _ in QUARTER_COUNTS:
        data = with_value(yaml.safe_dump(data, sort_keys=False), path, MAX_QUARTER_COUNT)
    _, code, _, err = validate_data(tmp_path, data)
    assert code == 0, err
    consts = SimulationConstants.from_data(data_of(data))
    assert consts.delay_allowance.tolist() == [MAX_QUARTER_COUNT, 2]


def test_the_longest_allowed_power_delay_is_never_in_the_horizon():
    """power_debt (8 quarters): the plan starts its power blocks in quarter 0, online in quarter 2.
    Every block late (probability 1) by 1..400 quarters: a delay d >= 6 puts it online in quarter
    2 + d >= 8, after the last, so each scenario evaluates exactly as with its delays cut to 8
    quarters (never online in the horizon). Drawn with no warning (3e9 overflowed the int32 cast,
    and the overflowed delays read as power on time)."""
    risk = {"probability": 1.0, "max_extra_quarters": MAX_QUARTER_COUNT,
            "contracted_probability": 1.0, "contracted_max_extra_quarters": MAX_QUARTER_COUNT}  # fmt: skip
    data = data_of(with_risk(power_debt_model(), power_delay=risk))
    plans = batch(data, [solved("power_debt").plan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scen = generate_scenarios(data, 0, 0, 200)
    late = scen.delay[:, plans.build_site[0, 0], int(plans.build_start[0, 0])]
    assert late.min() >= 1 and late.max() <= MAX_QUARTER_COUNT
    assert (late >= 6).mean() > 0.9 and (late < 6).any()  # both kinds of scenario occur
    cut = scen.arrays() | {
        "delay": np.minimum(scen.delay, data.T),
        "step_delay": np.minimum(scen.step_delay, data.T),
    }
    consts = SimulationConstants.from_data(data)
    as_drawn, never = simulate(consts, plans, scen), simulate(consts, plans, ScenarioSet(**cut))
    assert np.array_equal(as_drawn["npv"], never["npv"])
    on_time = simulate(consts, plans, deterministic_scenarios(data, 1))["npv"][0, 0]
    assert np.all(as_drawn["npv"][0, late >= 6] < on_time - 1e6)  # a block never online costs the plan


LOGNORMAL_VOLATILITIES = ["price", "demand", "electricity_price", "resale_value"]


@pytest.mark.parametrize("value", [25, 100, 1e300], ids=["25", "100", "1e300"])
@pytest.mark.parametrize("name", LOGNORMAL_VOLATILITIES)
def test_a_volatility_written_as_a_percentage_is_refused(tmp_path, tiny_text, name, value):
    """price_volatility_annual: 100 (or 1e300, or 25 meaning 25 %) was accepted and every price
    path collapsed to ~0: exp(-sigma^2 t / 2) with sigma = 25 is e^-312 after a year."""
    field = f"{name}_volatility_annual"
    _, code, out, err = validate_data(tmp_path, with_value(tiny_text, ("risk", field), value))
    expected = f"risk.{field}: must be at most 5 per sqrt(year) (500 % a year): 0.25 means 25 % a year"
    assert_bad_input(code, out, err, expected)


def test_the_reference_rate_volatility_is_absolute_and_at_most_20_points(tmp_path, tiny_text):
    field = ("risk", "reference_rate_volatility_annual")
    _, code, out, err = validate_data(tmp_path, with_value(tiny_text, field, 1))
    assert_bad_input(code, out, err, "must be at most 0.2 per sqrt(year)", "0.01 means 100 bp a year (got 1)")
    data = with_value(tiny_text, field, 0.2)
    for name in LOGNORMAL_VOLATILITIES:
        data["risk"][f"{name}_volatility_annual"] = 5.0
    _, code, _, err = validate_data(tmp_path, data)
    assert code == 0, err


@pytest.mark.parametrize(
    ("key", "shown"),
    [("true", "True (a YAML boolean)"), ("on", "True (a YAML boolean)"), ("null", "None (a YAML null)"),
     ("1", "1 (a YAML number)"), ("2026-01-01", "2026-01-01 (a YAML date)")],
    ids=["true", "on", "null", "number", "date"],
)  # fmt: skip
def test_a_name_yaml_reads_as_something_else_must_be_quoted(tmp_path, tiny_text, key, shown):
    """`true:` under skus was reported as `skus.1.[key]`, `null:` as `skus.None.[key]`."""
    text = tiny_text.replace("  H100:", f"  {key}:", 1)
    path, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(
        code,
        out,
        err,
        f"error: {path}:{line_of(text, 'skus:')}: skus: the name {shown} must be text: quote it",
    )


def test_a_facility_name_must_be_text_too(tmp_path, tiny_text):
    _, code, out, err = validate_text(tmp_path, tiny_text.replace("    gpu-term-loan:", "    yes:", 1))
    assert_bad_input(code, out, err, "finance.facilities: the name True (a YAML boolean) must be text")


@pytest.mark.parametrize("name", ["", "a b"], ids=["empty", "space"])
def test_a_facility_name_follows_the_rule_of_every_name(tmp_path, tiny_text, name):
    """Facilities were keyed by any text: `""` and `"a b"` validated (and `service` overwrote the
    statements' debt_service_usd line: tests/test_economics.py)."""
    text = tiny_text.replace("    gpu-term-loan:", f'    "{name}":', 1)
    path, code, out, err = validate_text(tmp_path, text)
    line = line_of(text, f'"{name}":')
    expected = f"error: {path}:{line}: finance.facilities.{name}.[key]: {name!r} is not a name: use letters"
    assert_bad_input(code, out, err, expected)


@pytest.mark.parametrize("spaced", ['"lab-a-training "', '" lab-a-training"'], ids=["trailing", "leading"])
def test_keys_differing_only_by_surrounding_spaces_are_one_key_written_twice(tmp_path, tiny_text, spaced):
    """The schema strips surrounding spaces from names, so `"lab-a-training "` next to lab-a-training
    validated and silently replaced the signed contract by the one written second."""
    text = tiny_text.replace("  enterprise-inference:", f"  {spaced}:", 1)
    path, code, out, err = validate_text(tmp_path, text)
    message = "duplicate key 'lab-a-training' (after removing surrounding spaces)"
    assert_bad_input(code, out, err, f"error: {path}:{line_of(text, spaced)}: YAML syntax error: {message}")


def test_a_key_written_twice_as_is_does_not_mention_spaces(tmp_path, tiny_text):
    text = tiny_text.replace("  enterprise-inference:", "  lab-a-training:", 1)
    _, code, out, err = validate_text(tmp_path, text)
    assert_bad_input(code, out, err, "duplicate key 'lab-a-training'")
    assert "spaces" not in err


RATE_MESSAGE = "must be at most 1 (100 % a year): rates are fractions, 0.036 means 3.6 % a year"


@pytest.mark.parametrize(
    ("rate", "said"),
    [(3.6, f"{RATE_MESSAGE} (got 3.6)"),
     ([0.036, 0.036, 0.036, 3.6, 0.036, 0.036, 0.036, 0.036], f"list item 3 (3.6) {RATE_MESSAGE}"),
     ({"start": 0.036, "steps": {"2027Q3": 4.0}}, f"steps.2027Q3 (4) {RATE_MESSAGE}")],
    ids=["number", "list", "step"],
)  # fmt: skip
def test_a_reference_rate_written_as_a_percentage_is_refused(tmp_path, tiny_text, rate, said):
    """reference_rate_annual: 3.6 (meant 3.6 %) validated, and the solve was infeasible with a
    diagnosis that never named the rate; a series names the value, its list item or step."""
    data = with_value(tiny_text, ("finance", "reference_rate_annual"), rate)
    _, code, out, err = validate_data(tmp_path, data)
    assert_bad_input(code, out, err, f"finance.reference_rate_annual: {said}")


def test_a_facility_spread_written_as_a_percentage_gets_the_same_message(tmp_path, tiny_text):
    """It said pydantic's "Input should be less than or equal to 1"."""
    field = ("finance", "facilities", "gpu-term-loan", "spread_over_reference_annual")
    _, code, out, err = validate_data(tmp_path, with_value(tiny_text, field, 4.5))
    assert_bad_input(code, out, err, f"{'.'.join(field)}: {RATE_MESSAGE} (got 4.5)")


# a $100M 9 % note maturing 2027Q2, refinanced at the reference rate + 5 % (docs/evaluation.md's
# what-if table)
NOTES = ("finance.facilities.NOTES={size_usd: 100000000, opening_balance_usd: 100000000, "
         "fixed_rate_annual: 0.09, repayment: bullet, maturity: 2027Q2, at_maturity: refinance, "
         "refinance_spread_over_reference_annual: 0.05, draw_from: 2026Q3, draw_until: 2026Q3}")
SPREAD = "finance.facilities.NOTES.refinance_spread_over_reference_annual"


@pytest.mark.parametrize(("change", "said"), [
    ("finance.facilities.NOTES.at_maturity=repay",
     "finance.facilities.NOTES: refinance_spread_over_reference_annual applies only with at_maturity: "
     "refinance, and at_maturity is repay (the bullet paid from cash at its maturity): remove it (with "
     f"--set or --what-if, also set {SPREAD}=null), or set at_maturity: refinance"),
    (f"{SPREAD}=null",
     "finance.facilities.NOTES: at_maturity: refinance needs refinance_spread_over_reference_annual, the "
     f"refinancing bullet's spread over the reference rate: set {SPREAD} (0.05: the reference rate + 5 %)"),
])  # fmt: skip
def test_a_refinance_spread_without_refinancing_says_what_to_write(change, said):
    """`--what-if finance.facilities.NOTES.at_maturity=repay` alone was refused with "give
    refinance_spread_over_reference_annual exactly when at_maturity is refinance" (a risk analyst's
    review): not which change would do. Both changes together validate."""
    code, out, err = run_cli("validate", "tiny", "--set", NOTES, "--set", change)
    assert_bad_input(code, out, err, said)
    both = run_cli("validate", "tiny", "--set", NOTES, "--set", f"{SPREAD}=null",
                   "--set", "finance.facilities.NOTES.at_maturity=repay")  # fmt: skip
    assert both[0] == 0, both[2]


FRACTION_MESSAGE = "must be at most 1 (100 %): shares and probabilities are fractions, 0.25 means 25 %"
BELOW_ONE_MESSAGE = "must be below 1 (100 %): shares and correlations are fractions, 0.25 means 25 %"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [(("horizon", "discount_rate_annual"), 15, f"{RATE_MESSAGE} (got 15)"),
     (("finance", "revolver", "annual_rate"), 12, f"{RATE_MESSAGE} (got 12)"),
     (("finance", "tax_rate"), 25, f"{FRACTION_MESSAGE} (got 25)"),
     (("skus", "H100", "resale_fraction_by_age_years"), [0.8, 50], f"{FRACTION_MESSAGE} (got 50)"),
     (("finance", "facilities", "gpu-term-loan", "max_ltv"), 70, f"{FRACTION_MESSAGE} (got 70)"),
     (("limits", "max_customer_revenue_share"), 67, f"{FRACTION_MESSAGE} (got 67)"),
     # pydantic's "Input should be less than 1" before (a model author's review)
     (("contracts", "lab-a-training", "prepayment_share"), 15, f"{BELOW_ONE_MESSAGE} (got 15)"),
     (("risk", "ai_cycle", "default_correlation"), 30, f"{BELOW_ONE_MESSAGE} (got 30)"),
     (("risk", "ai_cycle", "price_loading"), 60, "must be from -1 to 1: a loading is a correlation, 0.7 "
                                                 "means 70 % (got 60)")],
    ids=["discount-rate", "revolver-rate", "tax-rate", "resale", "ltv", "customer-share", "prepaid-share",
         "default-correlation", "price-loading"],
)  # fmt: skip
def test_a_rate_or_share_written_as_a_percentage_is_told_so(tmp_path, tiny_text, field, value, message):
    """discount_rate_annual: 15 got pydantic's generic "Input should be less than or equal to 1",
    where the facilities' rates say rates are fractions; every annual rate now says so, and every
    other share or probability that it is a fraction."""
    _, code, out, err = validate_data(tmp_path, with_value(tiny_text, field, value))
    assert_bad_input(code, out, err, f"{'.'.join(field)}")
    assert message in err, err


def test_a_gpu_s_power_written_in_watts_is_told_so(tmp_path, tiny_text):
    """power_kw_per_gpu: 1300 (watts) validated, and the solve was infeasible, blaming a contract's
    delivery and the DSCR covenant, never power. 20 kW per GPU is accepted (ten times today's)."""
    field = ("skus", "H100", "power_kw_per_gpu")
    _, code, out, err = validate_data(tmp_path, with_value(tiny_text, field, 1300))
    assert_bad_input(code, out, err, "skus.H100.power_kw_per_gpu: must be at most 20 kW per GPU (a GB200 "
                     "NVL72 rack draws ~130 kW, 1.8 kW per GPU): power is in kW, 1.3 means 1,300 W "
                     "(got 1300)")  # fmt: skip
    _, code, out, err = validate_data(tmp_path, with_value(tiny_text, field, 20))
    assert code == 0, err


def test_a_resale_curve_that_rises_with_age_is_refused_by_its_sku_and_ages(tmp_path, tiny_text):
    """[0.30, 0.50, ...] validated silently: a GPU gaining value as it ages (model-format.md gives no
    reason a curve may rise)."""
    field = ("skus", "H100", "resale_fraction_by_age_years")
    _, code, out, err = validate_data(tmp_path, with_value(tiny_text, field, [0.3, 0.5, 0.34, 0.34, 0.1]))
    assert_bad_input(code, out, err, "skus.H100.resale_fraction_by_age_years: rises with age, from 0.3 at "
                     "age 0 to 0.5 at age 1 (years): a GPU's resale value falls or stays level as it ages")


def test_a_reference_rate_growing_past_100_percent_is_refused_and_100_percent_is_not(tmp_path, tiny_text):
    """0.5 growing 100 % a year reaches 0.5 x 2^(7/4) = 1.68 in tiny's eighth quarter."""
    field = ("finance", "reference_rate_annual")
    grown = with_value(tiny_text, field, {"start": 0.5, "annual_growth": 1.0})
    _, code, out, err = validate_data(tmp_path, grown)
    assert_bad_input(
        code, out, err, f"finance.reference_rate_annual: grows to 1.68 over the horizon: {RATE_MESSAGE}"
    )
    _, code, _, err = validate_data(tmp_path, with_value(tiny_text, field, 1.0))
    assert code == 0, err


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [(("risk",), None, "risk: must be a mapping of fields (or leave the block out)"),
     (("risk",), 5, "risk: must be a mapping of fields, not 5 (or leave the block out)"),
     (("horizon",), None, "horizon: must be a mapping of fields\n"),
     (("skus", "H100"), None, "skus.H100: must be a mapping of fields\n")],
    ids=["risk-null", "risk-number", "horizon-null", "sku-null"],
)  # fmt: skip
def test_a_block_that_is_not_a_mapping_is_named_in_plain_words(tmp_path, tiny_text, path, value, message):
    """`risk: null` read "Input should be a valid dictionary or instance of Risk": a class name. A
    required block (or an entry of `skus`) cannot be left out, so its message does not suggest it."""
    _, code, out, err = validate_data(tmp_path, with_value(tiny_text, path, value))
    assert_bad_input(code, out, err, message)
    assert "instance of" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [("      maturity: 2030Q1\n", "maturity applies to bullet facilities only"),
     ("      repayment: bullet\n      maturity: 2030Q1\n",
      "amortization_quarters applies to amortizing facilities only")],
    ids=["maturity-on-amortizing", "amortization-on-bullet"],
)  # fmt: skip
def test_a_repayment_term_that_cannot_apply_is_refused(tmp_path, tiny_text, extra, message):
    """An amortizing facility repays over amortization_quarters and ignored a `maturity` silently;
    a bullet repays at maturity and would ignore amortization_quarters."""
    old = "      draw_until: 2027Q4\n"
    assert old in tiny_text
    _, code, out, err = validate_text(tmp_path, tiny_text.replace(old, old + extra, 1))
    assert_bad_input(code, out, err, "finance.facilities.gpu-term-loan: ", message)


@pytest.mark.parametrize("old, new, field", [
    ("    gpus: 9600 ", "    gpus: 96000000000 ", "fleet.0.gpus"),
])  # fmt: skip
def test_a_gpu_count_past_any_fleet_is_refused_by_name(tmp_path, tiny_text, old, new, field):
    """9.6e10 GPUs (a typing slip) solved as "infeasible"; it is bad input, named."""
    assert old in tiny_text
    _, code, out, err = validate_text(tmp_path, tiny_text.replace(old, new))
    assert code == 2, out + err
    assert f"{field}: must be at most 100,000,000 GPUs" in err


def test_a_certain_total_price_drop_cannot_average_to_the_forecast(tmp_path, tiny_text):
    """With mean_one, every price factor is divided by its mean; a drop of 100 % in every quarter
    from the first has mean 0, and the scenarios' prices were NaN (0 / 0) in every future."""
    text = tiny_text.replace("probability_per_quarter: 0.05", "probability_per_quarter: 1", 1)
    text = text.replace("price_drop_min: 0.10", "price_drop_min: 1", 1)
    text = text.replace("price_drop_max: 0.30", "price_drop_max: 1", 1)
    path, code, out, err = validate_text(tmp_path, text)
    where = f"error: {path}:{line_of(text, 'risk:')}: risk: "
    assert_bad_input(code, out, err, where + "self_competition: a certain 100 % price drop leaves no price")


def test_a_customer_hazard_past_any_rating_is_said_not_refused(tmp_path, tiny_text):
    """customer_default_hazard_per_quarter: 1 (meant as 1 %) validated in silence and every customer
    defaulted in the first quarter of every scenario. Above 0.1 a quarter (four times a CCC rating's
    2.4 %) it is said, with what it means a year; a stress may mean it, so it still validates. At 1,
    what it does: every unrated customer gone in the first quarter, the unit slip most likely."""
    field = ("risk", "customer_default_hazard_per_quarter")
    path, code, _, err = validate_data(tmp_path, with_value(tiny_text, field, 0.5))
    assert code == 0, err
    line = line_of(path.read_text(), "customer_default_hazard_per_quarter:")
    assert (f"warning: {path}:{line}: risk.customer_default_hazard_per_quarter: 0.5 is a 50% chance each "
            "quarter (94% a year) that a customer defaults") in err  # fmt: skip
    path, code, _, err = validate_data(tmp_path, with_value(tiny_text, field, 1))
    assert code == 0, err
    assert (f"warning: {path}:{line}: risk.customer_default_hazard_per_quarter: 1 is a certain default of "
            "every customer without a rating or an override in the first quarter of every future; "
            "risk.customer_default_quarter places one's default later; hazards are fractions per quarter, "
            "0.01 means 1 %") in err  # fmt: skip
    _, code, _, err = validate_data(tmp_path, with_value(tiny_text, field, 0.1))
    assert code == 0 and "warning" not in err, err


def test_a_certain_default_of_one_customer_is_said_as_what_it_does():
    """`--what-if 'risk.customer_hazard_overrides={frontier-lab: 1}'`, a certain default written as a
    stress, was warned that hazards are fractions (0.01 means 1 %), a slip of units it was not: it is
    said as what it does, and where a later quarter is set."""
    code, _, err = run_cli("validate", "tiny", "--set", "risk.customer_hazard_overrides={lab-a: 1}")
    assert code == 0, err
    assert ("risk.customer_hazard_overrides.lab-a: 1 is a certain default of lab-a in the first quarter of "
            "every future; risk.customer_default_quarter places it in a later quarter of the horizon "
            "instead") in err  # fmt: skip
    assert "0.01 means 1 %" not in err


def test_a_growth_written_in_per_cent_is_said_not_refused(tmp_path, tiny_text):
    """annual_growth: 3 meant as 3 % validated in silence as +300 % a year (a model author's review):
    above +200 % it is said, with what it means, and still validates; tiny's demand at 60 % a year is not."""
    field = ("market", "demand_gpus", "training", "annual_growth")
    path, code, _, err = validate_data(tmp_path, with_value(tiny_text, field, 3))
    assert code == 0, err
    assert (f"warning: {path}:{line_of(path.read_text(), 'annual_growth: 3')}: market.demand_gpus.training."
            "annual_growth: 3 is +300% a year (x4 each year): growth is a fraction, 0.03 means 3 %") in err
    _, code, _, err = validate_data(tmp_path, with_value(tiny_text, field, 2))
    assert code == 0 and "warning" not in err, err


@pytest.mark.parametrize("change, said", [
    # a misspelt key of a list entry, of a series written as a mapping, and the start of a longer name
    ("fleet.0.gpu=5", "fleet.0.gpu: unknown key (not part of the model format; check the spelling): did you "
                      "mean 'gpus'?"),
    ("market.price_usd_per_gpu_hour.training.hopper.strt=2", "hopper.strt: unknown key (not part of the "
     "model format; check the spelling): did you mean 'start'?"),
    ("contracts.lab-a-training.price=2", "did you mean 'price_usd_per_gpu_hour'?"),
    # a key of another block: where the format has it
    ("sites.texas.max_ltv=0.5", "spelling); the format has finance.facilities.<name>.max_ltv"),
    # nothing like it anywhere: the plain message
    ("nope=1", "nope: unknown key (not part of the model format; check the spelling)\n"),
    # a key the format leaves out on purpose: why (a contract's site was offered 'signed')
    ("contracts.lab-a-training.site=texas", "site: unknown key (not part of the model format; check the "
     "spelling): a contract names no site: its GPUs may serve it from any site, as power allows"),
])  # fmt: skip
def test_an_unknown_key_is_offered_the_one_meant(change, said):
    """`--set market.demand_gpus.training.growth=...` and `finance.discount_rate=...` said only
    'unknown key' (a lab planner's review), where the block's key was annual_growth and the format's
    horizon.discount_rate_annual."""
    code, out, err = run_cli("validate", "tiny", "--set", change)
    assert code == 2 and out == "" and said in err, err


@pytest.mark.parametrize("part", ["\u00b2", "\u0660"])  # a superscript 2, an Arabic-Indic 0
def test_a_list_position_of_other_digits_is_no_such_field(part):
    """`--set 'fleet.².gpus=8'` ended in a ValueError traceback (str.isdigit() holds for '²', int()
    refuses it) and `fleet.٠.gpus` set fleet.0 under a name no one wrote: a position is ASCII digits."""
    code, out, err = run_cli("validate", "tiny", "--set", f"fleet.{part}.gpus=8")
    assert code == 2 and out == "", err
    assert f"fleet.{part}: no such field (fleet is a list of 1 item, numbered from 0)" in err, err


@pytest.mark.parametrize(
    ("field", "value", "message", "limit"),
    [(("finance", "covenants", "max_debt_to_ebitda"), 1e18, "must be at most 100 (times)", 100),
     (("finance", "covenants", "min_dscr"), 1e300, "must be at most 100 (times)", 100),
     (("finance", "covenants", "min_interest_coverage"), 1e300, "must be at most 100 (times)", 100),
     (("skus", "B200", "training_throughput"), 1e9, "must be at most 500 (times an H100's)", 500),
     (("skus", "B200", "inference_throughput"), 1e9, "must be at most 500 (times an H100's)", 500),
     (("finance", "facilities", "gpu-term-loan", "max_ltv"), 1e-300, "must be at least 0.01 (1 %)", 0.01),
     (("sites", "texas", "expansion", "block_mw"), 1e300, "must be at most 10,000 MW", 10_000),
     (("skus", "B200", "capex_per_gpu_usd"), 1e15, "must be at most 100,000,000 USD per GPU", 1e8),
     (("fleet", 0, "capex_per_gpu_usd"), 1e15, "must be at most 100,000,000 USD per GPU", 1e8),
     (("sites", "texas", "electricity_price_usd_per_mwh"), 1e15, "must be at most 100,000 USD/MWh", 1e5),
     (("skus", "B200", "capex_per_gpu_usd"), {"start": 9e7, "annual_growth": 1.0},
      "reaches 302,722,709 over the horizon: must be at most 100,000,000 USD per GPU", 1e8),
     (("sites", "texas", "electricity_price_usd_per_mwh"), [55] * 7 + [2e5],
      "must be at most 100,000 USD/MWh", 1e5)],
    ids=["leverage", "dscr", "interest-coverage", "training-throughput", "inference-throughput", "ltv",
         "block-mw", "sku-capex", "fleet-capex", "electricity", "grown-capex", "listed-electricity"],
)  # fmt: skip
def test_a_value_beyond_what_the_solver_handles_is_refused_naming_its_bound(
    tmp_path, tiny_text, field, value, message, limit
):
    """Values the schema took but HiGHS could not tell from rounding error made a solvable `tiny`
    "infeasible" (exit 3: a covenant looser than 6.0x at 1e18, a throughput of 1e9, a loan-to-value
    of 1e-300; a capex per GPU or an electricity price of 1e15, blamed on the facility sizes) or left
    it in "numerical trouble" (exit 4: a block of 1e300 MW). Each is bad input naming its field and
    bound, refused before any solve; the bound itself is accepted."""
    name = ".".join(map(str, field))
    _, code, out, err = validate_data(tmp_path, with_value(tiny_text, field, value))
    assert_bad_input(code, out, err, f"{name}: ", message)
    with pytest.raises(ModelError, match=name.replace(".", r"\.")):
        parse_model_text(yaml.safe_dump(with_value(tiny_text, field, value)), "mutant.yaml")
    _, code, _, err = validate_data(tmp_path, with_value(tiny_text, field, limit))
    assert code == 0, err  # at the limit


def test_a_date_set_where_a_quarter_goes_names_its_quarter():
    """`--set horizon.start=2027-02-10` (YAML reads a date) said only "got a value of type date": it
    now names the quarter the date falls in, which the model's fields are written as."""
    code, out, err = run_cli("validate", "tiny", "--set", "horizon.start=2027-02-10")
    assert_bad_input(code, out, err, "horizon.start: a value must be a number, text, true/false, a list or a "
                     "mapping (got a value of type date); write the quarter it falls in, 2027Q1")  # fmt: skip


def test_a_notebook_s_array_is_an_edit_s_list_and_a_series_is_told_how_to_be_one():
    """fo.edit(..., {"...power_capacity_mw": np.full(12, 15.0)}) was refused ("got a value of type
    ndarray") where the same list was taken: a 1-D array is the list it holds. A pandas Series, whose
    index no model field reads, is told how to give its values (it was told nothing)."""
    import pandas as pd

    from fleetopt import api
    from fleetopt.errors import InputError

    field = "sites.finland.power_capacity_mw"
    as_array = api.edit("twosite", {field: np.full(12, 15.0)})
    as_list = api.edit("twosite", {field: [15.0] * 12})
    assert as_array.content_hash == as_list.content_hash
    with pytest.raises(InputError, match=r"\(got a value of type Series\); give its values as a list, "
                       r"value\.tolist\(\), or by key, value\.to_dict\(\)$"):  # fmt: skip
        api.edit("twosite", {field: pd.Series(np.full(12, 15.0))})


def test_a_date_key_in_an_edit_names_its_quarter_as_in_a_model_file():
    """fo.edit("lab", {"...power_capacity_mw.steps": {"2027-01-01": 60}}) said "'2027-01-01' is not a
    quarter" without the quarter meant, which a model file's date key (unquoted: a YAML date) names."""
    from fleetopt import api
    from fleetopt.schema.issues import ModelError

    meant = (r"'2027-01-01' is not a quarter: expected a label like 2026Q3 "
             r"\(the quarter it falls in is 2027Q1\)$")
    for steps in ({"2027-01-01": 60}, {datetime.date(2027, 1, 1): 60}):
        with pytest.raises(ModelError, match=r"power_capacity_mw\.steps\.2027-01-01\.\[key\]: " + meant):
            api.edit("lab", {"sites.iowa.power_capacity_mw.steps": steps})
    with pytest.raises(ModelError, match=r"horizon\.start: " + meant):
        api.edit("lab", {"horizon.start": "2027-01-01"})
    with pytest.raises(ModelError, match=r"horizon\.start: '2027-02-30' is not a quarter: expected a label "
                       r"like 2026Q3$"):  # no such date: no quarter to name
        api.edit("lab", {"horizon.start": "2027-02-30"})


def test_a_count_of_thousands_of_digits_is_refused_naming_its_size():
    """api.solve_stochastic('tiny', 10**5000) raised Python's own ValueError ('Exceeds the limit (4300
    digits) for integer string conversion') from the message quoting it."""
    from fleetopt import api
    from fleetopt.errors import InputError

    with pytest.raises(InputError, match=r"at most 1,000 scenarios.*\(got an int of about 5,000 digits\)"):
        api.solve_stochastic("tiny", 10**5000)

"""`fleetopt schema`: the JSON Schema of the model format, checked against the bundled models."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli

from fleetopt.schema.loading import load_model
from fleetopt.schema.model import PlanningModel
from fleetopt.schema.model_file import bundled_model_path

BLOCKS = [
    "name", "description", "horizon", "skus", "sites", "fleet", "market", "contracts", "limits",
    "finance", "redeployment", "retirement", "risk", "robustness", "policy",
]  # fmt: skip
REQUIRED_BLOCKS = ["name", "horizon", "skus", "sites", "market", "finance", "redeployment"]

BUNDLED = [
    "tiny",
    pytest.param(
        "neocloud",
        marks=pytest.mark.skipif(
            not bundled_model_path("neocloud").exists(),
            reason="models/neocloud.yaml (the default model) has not been written yet",
        ),
    ),
]


@pytest.fixture(scope="module")
def cli_schema() -> dict:
    code, out, err = run_cli("schema")
    assert code == 0, err
    assert err == ""
    return json.loads(out)


@pytest.fixture(scope="module")
def validator(cli_schema):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(cli_schema)
    return jsonschema.Draft202012Validator(cli_schema)


def test_cli_schema_is_the_pydantic_schema(cli_schema):
    assert cli_schema == PlanningModel.model_json_schema()
    # and the Python API's, for a notebook or a tool writing model files (it had none)
    from fleetopt import api

    assert api.schema() == cli_schema


def test_the_api_s_schema_is_among_its_public_names():
    """fo.schema() (README's Python API) was left out of fleetopt.api.__all__: `from fleetopt.api
    import *` gave no schema, and the API's own checks of its names (its docstrings' references)
    did not read it."""
    from fleetopt import api

    assert "schema" in api.__all__
    names: dict = {}
    exec("from fleetopt.api import *", names)
    assert names["schema"]() == PlanningModel.model_json_schema()


def test_schema_names_every_block_and_refuses_unknown_keys(cli_schema):
    assert list(cli_schema["properties"]) == BLOCKS
    assert cli_schema["required"] == REQUIRED_BLOCKS
    assert cli_schema["additionalProperties"] is False
    for name, definition in cli_schema["$defs"].items():
        if definition.get("type") == "object" and "properties" in definition:
            assert definition.get("additionalProperties") is False, name


def test_schema_carries_the_field_docs(cli_schema):
    """Field docstrings become JSON Schema descriptions (editors show them)."""
    site = cli_schema["$defs"]["Site"]["properties"]
    assert site["pue"]["description"] == "Power usage effectiveness: facility power / IT power."
    assert site["pue"]["minimum"] == 1.0
    assert "pattern" in cli_schema["$defs"]["Horizon"]["properties"]["start"]


def _strict_models() -> list[type]:
    from fleetopt.schema.base import StrictModel

    found, todo = [], [StrictModel]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        found.append(cls)
    return found[1:]


def test_every_field_keeps_its_own_docstring():
    """A type-level description (Quarter, Name) must not replace the field's docstring."""
    models = _strict_models()
    assert {"PlanningModel", "Contract", "Sku", "Site", "Finance", "Risk"} <= {m.__name__ for m in models}
    for model in models:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no docstring"
    fields = {m.__name__: m.model_fields for m in models}
    assert fields["Contract"]["start"].description == "First quarter of the term."
    assert fields["Contract"]["customer"].description.startswith("Customer name")
    assert fields["FleetCohort"]["purchased"].description.startswith("Quarter the GPUs were bought")
    assert fields["PlanningModel"]["name"].description.startswith("Short name of the model")


def test_schema_out_file_matches_stdout(tmp_path, cli_schema):
    target = tmp_path / "fleetopt.schema.json"
    code, _, err = run_cli("schema", "--out", str(target))
    assert code == 0, err
    assert json.loads(target.read_text(encoding="utf-8")) == cli_schema


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_satisfies_the_schema(name, validator):
    data = yaml.safe_load(bundled_model_path(name).read_text(encoding="utf-8"))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert load_model(name).model.name == name  # and the loader agrees


def _tiny() -> dict:
    return copy.deepcopy(yaml.safe_load(bundled_model_path("tiny").read_text(encoding="utf-8")))


def _unknown_key(d):
    d["sites"]["texas"]["colour"] = "blue"


def _wrong_type(d):
    d["fleet"][0]["gpus"] = "many"


def _bad_quarter(d):
    d["contracts"]["enterprise-inference"]["start"] = "2026Q5"


def _missing_block(d):
    del d["finance"]


def _negative_price(d):
    d["contracts"]["lab-a-training"]["price_usd_per_gpu_hour"] = -2.3


def _bad_series_shape(d):
    d["market"]["demand_gpus"]["training"] = {"begin": 100}


def _bad_name_key(d):  # the schema allowed any key of a name-keyed map
    d["sites"]["west texas"] = d["sites"].pop("texas")


def _bad_step_quarter(d):
    d["market"]["demand_gpus"]["training"] = {"start": 100, "steps": {"2026Q5": 200}}


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (_unknown_key, ["sites", "texas"]),
        (_wrong_type, ["fleet", 0, "gpus"]),
        (_bad_quarter, ["contracts", "enterprise-inference", "start"]),
        (_missing_block, []),
        (_negative_price, ["contracts", "lab-a-training", "price_usd_per_gpu_hour"]),
        (_bad_series_shape, ["market", "demand_gpus", "training"]),
        (_bad_name_key, ["sites"]),
        (_bad_step_quarter, ["market", "demand_gpus", "training"]),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_schema_and_loader_both_refuse(mutate, path, validator):
    data = _tiny()
    mutate(data)
    errors = list(validator.iter_errors(data))
    assert errors, "the JSON Schema accepted a model the loader refuses"
    assert path in [list(e.absolute_path) for e in errors]
    from fleetopt.schema.issues import ModelError
    from fleetopt.schema.parsing import parse_model_text

    with pytest.raises(ModelError):
        parse_model_text(yaml.safe_dump(data), "mutant.yaml")


# --- docs/model-format.md stays in step with the schema ---------------------------------------

DOC = REPO / "docs" / "model-format.md"


def test_format_doc_has_a_row_for_every_field():
    rows = set(re.findall(r"^\| `(\w+)` \|", DOC.read_text(encoding="utf-8"), re.MULTILINE))
    missing = {
        f"{model.__name__}.{name}"
        for model in _strict_models()
        for name in model.model_fields
        if name not in rows
    }
    assert not missing, f"fields without a row in {DOC.name}: {sorted(missing)}"


def test_format_doc_rows_say_what_the_docstrings_say():
    """The doc says its tables are taken from the field docstrings (`fleetopt schema`'s
    descriptions): a row whose text drifted from its field's docstring tells the user something
    the code does not do (a late contract quarter was said to earn nothing while it earns on the
    GPUs delivered)."""
    cells: dict[str, list[str]] = {}
    for name, row in re.findall(r"^\| `(\w+)` \|(.*)$", DOC.read_text(encoding="utf-8"), re.MULTILINE):
        cells.setdefault(name, []).append(" ".join(row.rstrip(" |").rsplit(" | ", 1)[-1].split()))
    drifted = [
        f"{model.__name__}.{name}"
        for model in _strict_models()
        for name, field in model.model_fields.items()
        if " ".join((field.description or "").split()) not in cells.get(name, [])
    ]
    assert not drifted, f"rows of {DOC.name} that differ from their field's docstring: {drifted}"


def test_format_doc_worked_example_validates(tmp_path, monkeypatch):
    doc = DOC.read_text(encoding="utf-8")
    example = re.search(r"## Worked example.*?```yaml\n(.*?)```", doc, re.DOTALL).group(1)
    documented_error = re.search(
        r"```text\n(error: example\.yaml:.*?)\n```", doc.split("## Worked example")[1]
    )
    monkeypatch.chdir(tmp_path)
    Path("example.yaml").write_text(example, encoding="utf-8")
    code, out, err = run_cli("validate", "example.yaml")
    assert code == 0, err
    assert "ok: example.yaml is a valid model" in out
    Path("example.yaml").write_text(example.replace("gpus: 1000\n", "gpus: -1000\n"), encoding="utf-8")
    code, _, err = run_cli("validate", "example.yaml")
    assert code == 2
    assert err.strip() == documented_error.group(1)


def test_the_rating_table_in_the_doc_is_the_codes():
    """model-format.md gives each rating's seven-year default rate (a model author computes a
    customer's hazard from it): the figures are fleetopt/core/credit.py's."""
    from fleetopt.core.credit import SEVEN_YEAR_DEFAULT_RATE

    text = " ".join(DOC.read_text(encoding="utf-8").split())
    table = re.search(r"default rate P of (.*?), held at", text).group(1)
    written = dict((r, float(p) / 100) for r, p in re.findall(r"(\w+) ([\d.]+) %", table))
    assert written == pytest.approx(SEVEN_YEAR_DEFAULT_RATE)


def test_the_policy_field_names_every_rule_off_by_default():
    """Its docstring (the schema's description, and model-format.md's row) said every rule is on but
    `idle_gpus_to_market` after `prepay_borrowing_base` came in off by default too."""
    from fleetopt.schema.policy import Policy

    off = [name for name, field in Policy.model_fields.items() if field.default is False]
    said = PlanningModel.model_fields["policy"].description
    assert off and all(f"`{name}`" in said for name in off), (off, said)

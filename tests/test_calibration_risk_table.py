"""docs/calibration.md's table of the default model's risk parameters cannot drift from the model.

The section "Risk parameters against their sources" lists, one row per setting, every leaf of the
`risk` block of models/neocloud.yaml by its path (`risk.self_competition.price_drop_max`) with its
value. Every leaf must have a row and every row's value must be the model file's; a row for a
setting the file leaves out must say "not set" and name a field of the schema. The customer
ratings' rows give the quarterly hazard the rating maps to (fleetopt/core/credit.py). The section
"Evaluator policy estimates" lists the policy's estimated parameters with the loaded model's values.
The CDS-implied default ranges the page sets beside the model's default rate follow from the spreads
docs/sources.md quotes.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml

from fleetopt.core.credit import hazard_per_quarter
from fleetopt.schema.loading import load_model
from fleetopt.schema.risk import Risk

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "calibration.md"
MODEL = REPO / "models" / "neocloud.yaml"
RISK_SECTION = "## Risk parameters against their sources"
POLICY_SECTION = "## Evaluator policy estimates"
NOT_SET = "not set"
HAZARD = re.compile(r"([0-9.]+) % a quarter")


def table(heading: str) -> list[dict[str, str]]:
    """The rows of the first table after ``heading``, as {column: cell text}, backticks removed."""
    text = DOC.read_text(encoding="utf-8")
    assert heading in text, f"docs/calibration.md has no section {heading!r}"
    lines = text.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append([cell.strip().replace("`", "") for cell in line.strip().strip("|").split("|")])
    header, rows = block[0], block[2:]  # block[1] is the |---| line
    assert all(len(row) == len(header) for row in rows), f"a row of {heading!r} has the wrong number of cells"
    return [dict(zip(header, row, strict=True)) for row in rows]


def leaves(node: object, path: str) -> dict[str, object]:
    """Every leaf setting under ``node`` by its dotted path (lists are leaves)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(leaves(value, f"{path}.{key}"))
        return out
    return {path: node}


def same(cell: str, value: object) -> bool:
    """Whether a table cell states ``value``: numbers within a tolerance, the rest as text."""
    if isinstance(value, bool):
        return cell.lower() == str(value).lower()
    if isinstance(value, int | float):
        try:
            number = float(cell.replace(",", ""))
        except ValueError:
            return False
        return math.isclose(number, value, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(value, list):
        return cell.replace(" ", "") == str(value).replace(" ", "").replace("'", "")
    return cell == str(value)


@pytest.fixture(scope="module")
def model_risk() -> dict[str, object]:
    return leaves(yaml.safe_load(MODEL.read_text(encoding="utf-8"))["risk"], "risk")


@pytest.fixture(scope="module")
def risk_rows() -> dict[str, dict[str, str]]:
    rows = table(RISK_SECTION)
    paths = [row["parameter"] for row in rows]
    assert len(paths) == len(set(paths)), "a parameter has two rows"
    return dict(zip(paths, rows, strict=True))


def test_every_risk_setting_has_a_row(model_risk, risk_rows):
    missing = sorted(set(model_risk) - set(risk_rows))
    assert not missing, f"settings of the risk block without a row in docs/calibration.md: {missing}"


def test_every_row_states_the_model_value(model_risk, risk_rows):
    wrong = {
        path: (row["value"], model_risk[path])
        for path, row in risk_rows.items()
        if path in model_risk and not same(row["value"], model_risk[path])
    }
    assert not wrong, f"rows whose value is not the model file's (table, model): {wrong}"


def test_rows_for_unset_settings_name_schema_fields(model_risk, risk_rows):
    """A row the model file has no leaf for is a setting it leaves out: "not set", and a field of
    `risk` (so a misspelt or stale path fails). Every field of the schema has a row."""
    fields = set(Risk.model_fields)
    for path, row in risk_rows.items():
        if path in model_risk:
            continue
        assert row["value"] == NOT_SET, f"{path}: not in the model file, so its value must read {NOT_SET!r}"
        assert not any(leaf.startswith(path + ".") for leaf in model_risk), f"{path} is set in the model file"
        assert path.split(".")[1] in fields, f"{path} is not a setting of the risk block"
    covered = {path.split(".")[1] for path in risk_rows}
    assert fields <= covered, f"risk settings without a row: {sorted(fields - covered)}"


def test_rating_rows_give_the_rating_hazard(model_risk, risk_rows):
    for path, rating in model_risk.items():
        if not path.startswith("risk.customer_ratings."):
            continue
        found = HAZARD.search(risk_rows[path]["in a scenario"])
        assert found, f"{path}: the row gives no hazard ('... % a quarter')"
        expected = 100 * hazard_per_quarter(rating)
        assert math.isclose(float(found.group(1)), expected, rel_tol=0.02), (
            f"{path}: the row says {found.group(1)} % a quarter, rating {rating} gives {expected:.4f} %"
        )


def test_policy_estimates_state_the_model_values():
    model = load_model(MODEL).model
    owners = {
        "policy": [model.policy],
        "skus": list(model.skus.values()),
        "contracts": list(model.contracts.values()),
        "finance": [model.finance],
    }
    for row in table(POLICY_SECTION):
        owner, *_, field = row["parameter"].split(".")
        values = {getattr(item, field) for item in owners[owner]}
        assert len(values) == 1, f"{row['parameter']}: the model's values differ ({values})"
        assert same(row["value"], values.pop()), f"{row['parameter']}: the row says {row['value']}"


RATING = r"(AAA|AA|A|BBB|BB|B|CCC)"
# "B 27.5 % (S&P 20.36 %)": the model's seven-year rate of a rating, and S&P's
RATE_BESIDE_S_AND_PS = re.compile(rf"\b{RATING} ([0-9.]+) % \((?:S&P )?(?:CCC/C )?([0-9.]+) %")


def test_the_credit_rates_stand_beside_s_and_ps_as_the_docs_give_them():
    """fleetopt/core/credit.py's docstring derived the seven-year B rate by compounding S&P's annual
    speculative-grade 4 % (1 - 0.96^7 = 25 %, a pool's rate, not a cohort's) and gave BB and CCC
    without a source, where docs/sources.md §9 has S&P's seven-year rate of each rating: it gives each
    of the model's rates beside S&P's, as docs/calibration.md does (B 27.5 % against 20.36 %)."""
    import fleetopt.core.credit as credit

    said = RATE_BESIDE_S_AND_PS.findall(credit.__doc__)
    calibration = RATE_BESIDE_S_AND_PS.findall(DOC.read_text(encoding="utf-8"))
    assert sorted(said) == sorted(calibration) and len(said) == len(credit.SEVEN_YEAR_DEFAULT_RATE)
    assert {r: float(p) / 100 for r, p, _ in said} == pytest.approx(credit.SEVEN_YEAR_DEFAULT_RATE)
    row = next(line for line in (REPO / "docs" / "sources.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("| Seven-year cumulative default rate by rating"))
    s_and_p = dict(re.findall(rf"\b{RATING}(?:/C)? ([0-9.]+) %", row.split("|")[2].split("(five-year")[0]))
    assert {r: sp for r, _, sp in said} == s_and_p


SPREADS_BP = re.compile(r"^\| Five-year CDS \| (\d+) bp \([^)]*\) to (\d+) bp", re.MULTILINE)


def seven_year_default(spread: float, recovery: float) -> float:
    """The credit triangle: a hazard of spread / (1 - recovery) a year, held for seven years."""
    return 1 - math.exp(-7 * spread / (1 - recovery))


def test_the_cds_implied_default_ranges_follow_from_the_quoted_spreads():
    """docs/calibration.md sets the default rate beside CoreWeave's CDS-implied seven-year default at
    40 % recovery, at the model's own 25 % and at none; each range is the credit triangle on the
    spreads docs/sources.md §6.1 quotes, as §9 says, to the digits the pages print."""
    sources = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    low, high = (int(bp) / 1e4 for bp in SPREADS_BP.search(sources).groups())
    page, sources = (" ".join(text.split()) for text in (DOC.read_text(encoding="utf-8"), sources))
    at_40 = f"{100 * seven_year_default(low, 0.4):.0f}-{100 * seven_year_default(high, 0.4):.0f} %"
    assert f"**{at_40} over seven years**" in page and f"i.e. {at_40} seven-year default" in sources
    hazards = f"{100 * low / 0.6:.1f}-{100 * high / 0.6:.1f} % a year"
    assert f"hazard of {hazards}" in page and f"hazard of {hazards}" in sources
    at_25 = f"({100 * seven_year_default(low, 0.25):.1f}-{100 * seven_year_default(high, 0.25):.1f} %)"
    assert f"over seven years {at_25}" in page
    for spread in (low, high):
        assert f"{100 * seven_year_default(spread, 0.0):.1f} %" in page

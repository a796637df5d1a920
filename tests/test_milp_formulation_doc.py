"""docs/formulation.md and the built MILP name the same constraint groups and expressions.

Each heading of the document names, in its first parentheses, the constraint groups its section
states and, after `; expressions`, the named Pyomo expressions it defines. Every name must be built
(for some bundled model, with or without a `robustness` block) and every constraint and expression
built must be named, in the section its ConstraintGroup gives. §4's table must list every variable
built, the diagnosis table of §8 the slacks of the groups with their units and weights, and §2 the
size of `tiny`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyomo.environ as pyo
import pytest
import yaml
from milp_builders import data_of

from fleetopt.core.data import load
from fleetopt.milp.build import GROUPS, SLACKS, build_model
from fleetopt.milp.highs import model_size
from fleetopt.schema.risk import Robustness

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "formulation.md"
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? [^(\n]*\(([^()]*)\)", re.MULTILINE)
NAME = re.compile(r"`(\w+)`")
# every shock, so that every robustness group is built where the model has what it needs
ALL_SHOCKS = Robustness(lose_any_customer=True, power_delay_quarters=2, market_price_drop=0.1, covenants=True)
WEIGHTS = {"1": 1.0, "1/500": 1 / 500, "10": 10.0, "10⁻³": 1e-3, "10⁻⁴": 1e-4}


def documented() -> tuple[dict[str, str], dict[str, str]]:
    """(constraint group -> section, expression -> section) as the headings name them."""
    groups, expressions = {}, {}
    for number, names in HEADING.findall(DOC.read_text(encoding="utf-8")):
        for part in names.split(";"):
            into = expressions if part.strip().startswith("expressions") else groups
            for name in NAME.findall(part):
                assert name not in groups and name not in expressions, f"{name} is named twice"
                into[name] = f"§{number}"
    return groups, expressions


def bundled_variants():
    """The data of every bundled model, and of `tiny` with what no bundled model has: a liquidity
    covenant on debt (which the `stress_liquidity` rows need), interest coverage on trailing
    four-quarter EBITDA, a supplier's allocation of new GPUs, a customer's limit in any year and a
    cap on customers below investment grade."""
    for model in ("tiny", "neocloud", "lab"):
        yield load(model)[1]
    tiny = yaml.safe_load((REPO / "models" / "tiny.yaml").read_text(encoding="utf-8"))
    tiny["finance"]["covenants"].update(
        min_liquidity_fraction_of_debt=0.05, min_interest_coverage=2.0, ebitda_period="trailing_four_quarters"
    )
    tiny["limits"] = {"new_gpus_per_quarter": {"blackwell": 2000},  # the `allocation` rows
                      "max_customer_revenue_share_per_year": 0.9,  # the `customer_year_share` rows
                      "max_non_investment_grade_share_per_year": 0.9}  # `non_investment_grade_share`
    tiny["finance"]["tax_loss_carry_forward"] = True  # the `taxable_income` rows
    yield data_of(tiny)


@pytest.fixture(scope="module")
def built() -> dict[str, set[str]]:
    """Names of the constraint and expression components built for every bundled model, with and
    without a `robustness` block, and each objective."""
    names = {"constraints": set(), "expressions": set(), "variables": set()}
    for data in bundled_variants():
        for objective, robustness in (("npv", None), ("cost", None), ("npv", ALL_SHOCKS)):
            m = build_model(data, objective, robustness=robustness)
            names["constraints"] |= {c.local_name for c in m.component_objects(pyo.Constraint)}
            names["expressions"] |= {e.local_name for e in m.component_objects(pyo.Expression)}
            names["variables"] |= {v.local_name for v in m.component_objects(pyo.Var)}
    return names


def test_headings_name_every_group_in_its_section():
    groups, _ = documented()
    assert groups == {group.name: group.section for group in GROUPS}


def test_every_group_named_is_built_and_every_one_built_is_named(built):
    groups, expressions = documented()
    assert built["constraints"] == set(groups)
    assert built["expressions"] == set(expressions)


def test_the_variables_table_names_every_variable_built(built):
    text = DOC.read_text(encoding="utf-8").split("## 4. Decision variables")[1].split("\n## ")[0]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    table = {name for row in rows for name in NAME.findall(row.strip("|").split("|")[0])}
    assert table == built["variables"]


def test_every_rule_states_its_math():
    assert [g.name for g in GROUPS if not (g.rule.__doc__ or "").strip()] == []


def test_diagnosis_table_lists_every_slack():
    text = DOC.read_text(encoding="utf-8").split("## 8. Infeasibility diagnosis")[1]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    table = {}
    for row in rows:
        first, _per, unit, weight = (cell.strip() for cell in row.strip("|").split("|"))
        for name in NAME.findall(first):
            table[name] = (unit, WEIGHTS[weight])
    assert table == {name: (s.unit, pytest.approx(s.weight)) for name, s in SLACKS.items()}


def test_tiny_size_as_documented():
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"`tiny` has (\d+)\s+variables \((\d+) integer\) and (\d+) constraints", text)
    assert found, "§2 states the size of `tiny`"
    _, data = load("tiny")
    size = model_size(build_model(data))
    assert [int(x) for x in found.groups()] == [
        size["variables"],
        size["integer_variables"],
        size["constraints"],
    ]


def test_every_output_of_a_solve_is_explained():
    """§7's tables name every column of `statements.csv` and every field of `summary.json` a solve
    writes (per-site, per-contract and per-facility columns by their pattern): a reader can tell
    what each figure is without reading the code."""
    from fleetopt import api

    loaded, data = api.load("tiny")
    result = api.solve(loaded)
    section = DOC.read_text(encoding="utf-8").split("### What a solve writes")[1].split("\n## ")[0]
    named = set(re.findall(r"`([\w<>]+)`", section))
    patterns = {
        **{f"mw_used_{s.name}": "mw_used_<site>" for s in data.sites},
        **{f"mw_available_{s.name}": "mw_available_<site>" for s in data.sites},
        **{f"revenue_contract_{c.name}_usd": "revenue_contract_<contract>_usd" for c in data.contracts},
        **{f"debt_facility_{f.name}_usd": "debt_facility_<facility>_usd" for f in data.facilities},
    }
    columns = result.statements.frame(data.quarter_labels).columns
    unexplained = [c for c in columns if patterns.get(c, c) not in named]
    unexplained += [key for key in api.solve_summary(result, loaded) if key not in named]
    assert not unexplained, f"outputs of a solve that docs/formulation.md §7 does not explain: {unexplained}"


def test_every_headroom_phrase_is_explained():
    """A covenant whose quantity is absent in every tested quarter gets a phrase instead of a
    headroom (`CovenantTest.idle`, from `ABSENT_WORDS`): §7 lists each one a reader may see in
    `covenant_headroom`, net leverage's "no net debt (cash covers the debt)" too."""
    from fleetopt.core.covenants import ABSENT_WORDS

    section = DOC.read_text(encoding="utf-8").split("### What a solve writes")[1].split("\n## ")[0]
    missing = [words for words in ABSENT_WORDS.values() if f'`"not tested: {words}"`' not in section]
    assert not missing, f"headroom phrases docs/formulation.md §7 does not list: {missing}"

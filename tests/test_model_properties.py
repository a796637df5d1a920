"""Property tests: a mutated tiny model is either valid or refused with ModelError, never a crash."""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path

import yaml
from conftest import TINY_PATH, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetopt.schema.issues import ModelError
from fleetopt.schema.model import PlanningModel
from fleetopt.schema.parsing import parse_model_text

TINY_TEXT = TINY_PATH.read_text(encoding="utf-8")
TINY = yaml.safe_load(TINY_TEXT)


def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


# Real field names make renames and new keys land on meaningful places more often.
EXTRA_KEYS = {"all", "rubin", "steps", "delivery_deadline", "fixed_rate_annual", "max_age_years"}
KEYS = sorted(_keys(TINY) | EXTRA_KEYS)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([0, -1, 2**63, -(2**63), 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, -0.0]),
    st.text(max_size=12),
    st.sampled_from(["2026Q3", "2028Q2", "2031Q1", "2026Q5", "1899Q1", "H100", "B200", "texas"]),
    st.sampled_from(["hopper", "rubin", "training", "inference", "lab-a", "", " ", "null", "1e400", "nan"]),
)
KEY_STRATEGY = st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers(-5, 5), st.none())
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=9) | st.dictionaries(KEY_STRATEGY, inner, max_size=4),
    max_leaves=10,
)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Paths of every node under the root (dict keys and list indices)."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


def _parent(doc: object, path: tuple) -> object:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_models(draw) -> str:
    """The tiny model with one to three random mutations, as YAML text."""
    doc = copy.deepcopy(TINY)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(doc, path), path[-1]
        kind = draw(st.sampled_from(["delete", "set", "rename", "add"]))
        if kind == "delete":
            del parent[last]
        elif kind == "set":
            parent[last] = draw(VALUES)
        elif kind == "rename" and isinstance(parent, dict):
            value = parent.pop(last)
            parent[draw(KEY_STRATEGY)] = value
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(KEY_STRATEGY)] = draw(VALUES)
    return yaml.safe_dump(doc, sort_keys=False)


def _check_parse(text: str) -> PlanningModel | None:
    try:
        model = parse_model_text(text, "mutant.yaml")
    except ModelError as exc:
        assert exc.issues, "a ModelError must list at least one problem"
        for issue in exc.issues:
            assert issue.message.strip()
            assert issue.line is None or 1 <= issue.line <= text.count("\n") + 1
            assert "\n" not in issue.format("mutant.yaml")
        return None
    assert isinstance(model, PlanningModel)
    return model


@settings(max_examples=150, deadline=None)
@given(mutated_models())
def test_mutated_model_validates_or_raises_model_error(text):
    model = _check_parse(text)
    if model is not None:
        # A model that validates is usable: its horizon is well formed and its names cross-reference.
        assert len(model.quarter_labels) == model.horizon.quarters
        assert all(c.sku in model.skus and c.site in model.sites for c in model.fleet)


LINE_JUNK = st.text(alphabet=" \t:-[]{}&*!|>'\"#%@`,?0123456789.abcQ\\", max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_text_mutations_validate_or_raise_model_error(data):
    """Damage the text itself (not the parsed data): YAML-level errors must be ModelErrors too."""
    lines = TINY_TEXT.split("\n")
    index = data.draw(st.integers(0, len(lines) - 1))
    junk = data.draw(LINE_JUNK)
    how = data.draw(st.sampled_from(["replace", "insert", "append", "delete"]))
    if how == "replace":
        lines[index] = junk
    elif how == "insert":
        lines.insert(index, junk)
    elif how == "append":
        lines[index] += junk
    else:
        del lines[index]
    _check_parse("\n".join(lines))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_models())
def test_mutated_model_through_the_cli(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.yaml"
        path.write_text(text, encoding="utf-8")
        code, out, err = run_cli("validate", str(path))
        assert "Traceback" not in out + err
        assert code in (0, 2), f"exit code {code}: {err}"
        if code == 0:
            assert err == ""
            assert "is a valid model" in " ".join(out.split())
        else:
            assert out == ""
            lines = err.rstrip("\n").split("\n")
            assert lines and all(line.startswith("error: ") for line in lines), err
        assert sorted(p.name for p in Path(folder).iterdir()) == ["mutant.yaml"]


def test_the_unmutated_model_is_valid():
    """Guards the properties above: they would pass vacuously if the base model were invalid."""
    model = _check_parse(yaml.safe_dump(TINY, sort_keys=False))
    assert model is not None
    assert model.name == "tiny"
    assert not math.isnan(model.horizon.discount_rate_annual)

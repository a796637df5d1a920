"""A model file's text validated into a :class:`~fleetopt.schema.model.PlanningModel`, every problem
a :class:`~fleetopt.schema.issues.ModelIssue` with its line; the validated models of the texts read
last, kept as JSON.
"""

from __future__ import annotations

from pydantic import ValidationError

from fleetopt.errors import warn
from fleetopt.schema.field_locations import clean_loc
from fleetopt.schema.issues import ModelError, ModelIssue
from fleetopt.schema.model import PlanningModel, cross_checks, horizon_notes
from fleetopt.schema.shown_values import shown_value
from fleetopt.schema.unknown_keys import fields_misspelt
from fleetopt.schema.validation_messages import error_message, non_text_name
from fleetopt.schema.yaml_reading import NESTED_TOO_DEEPLY, line_for, line_index, read_yaml

# the validated models of the texts read last, as JSON: checking that a LoadedModel is its text's
# (LoadedModel.check_text) costs no second validation (0.25 s for the default model here); JSON,
# not the model object, so that a model changed in place since is still told apart
_VALIDATED_JSON: dict[str, str] = {}
_VALIDATED_KEPT = 8


def validated_json(text: str, source: str, model: PlanningModel | None = None) -> str:
    """The JSON of ``text``'s validated model (``model``: it, just validated)."""
    if (known := _VALIDATED_JSON.get(text)) is not None:
        return known
    dumped = (model or parse_model_text(text, source)).model_dump_json()
    if len(_VALIDATED_JSON) >= _VALIDATED_KEPT:
        _VALIDATED_JSON.pop(next(iter(_VALIDATED_JSON)))
    _VALIDATED_JSON[text] = dumped
    return dumped


def parse_model_text(text: str, source: str, lines_shown: bool = True) -> PlanningModel:
    """Validate the text of a model file; raise ModelError listing every problem. Its warnings name
    the line of each field (``lines_shown``: False for a text nobody sees, an edited model's)."""
    try:
        return _parse_model_text(text, source, lines_shown)
    except RecursionError:  # e.g. lists nested hundreds deep: the parser recurses once per level
        issue = ModelIssue((), NESTED_TOO_DEEPLY)
        raise ModelError(source, [issue]) from None


PURCHASES_HINT = (
    ": it reads as a purchases file (quarter, sku, site, gpus), which a model is given: check it with "
    "fleetopt validate MODEL --purchases FILE, solve with fleetopt solve MODEL --purchases FILE"
)


def _purchases_header(text: str) -> bool:
    """Whether ``text`` opens with a purchases file's header (a CSV of quarter, sku, site, gpus)."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].lower()
    return all(column in first for column in ("quarter", "sku", "site", "gpus"))


# the keys every run's summary.json and job.json hold (runs/folder.py) and no model file may
RUN_FILE_KEYS = {"fleetopt_version", "kind"}


def _what_it_holds(data) -> str:
    """What a model file that is not a mapping holds, in words: an empty one (or one of comments
    alone) was told only that it must be a mapping, as a list is."""
    if data is None:
        fields = PlanningModel.model_fields.items()
        blocks = ", ".join(f"{name}:" for name, field in fields if field.is_required())
        return f" ({blocks} ..., as in docs/model-format.md); it is empty, or holds only comments"
    return f"; it holds {'a list' if isinstance(data, list) else f'one value, {shown_value(data)}'}"


def _parse_model_text(text: str, source: str, lines_shown: bool = True) -> PlanningModel:
    node, data = read_yaml(text, source)
    if not isinstance(data, dict):
        raise ModelError(source, [ModelIssue((), "the file must be a YAML mapping of blocks" + (
            PURCHASES_HINT if _purchases_header(text) else _what_it_holds(data)))])  # fmt: skip
    if set(data) >= RUN_FILE_KEYS:  # a run's summary.json or job.json (JSON is YAML): not a list of its keys
        raise ModelError(source, [ModelIssue((), (
            "is a run's file (summary.json or job.json), not a model file: the model a run used is its "
            "folder's model.yaml"))])  # fmt: skip
    lines = line_index(node)
    try:
        model = PlanningModel.model_validate(data)
    except ValidationError as exc:
        issues, other_branches = [], []
        errors = exc.errors()
        misspelt = fields_misspelt(errors, data)
        for err in errors:
            path, branch_fits = clean_loc(err["loc"], data)
            if err["type"] == "missing" and path in misspelt:  # its unknown key's suggestion says it
                continue
            path, message = non_text_name(path, err) or (path, error_message(err, path, data))
            issue = ModelIssue(path, message, line_for(lines, path))
            (issues if branch_fits else other_branches).append(issue)
        raise ModelError(source, _dedupe(issues or other_branches)) from None
    problems = cross_checks(model)
    if problems:
        issues = [ModelIssue(p, m, line_for(lines, p)) for p, m in problems]
        raise ModelError(source, issues)
    for path, note in horizon_notes(model):
        warn(ModelIssue(path, note, line_for(lines, path) if lines_shown else None).format(source))
    return model


def _dedupe(issues: list[ModelIssue]) -> list[ModelIssue]:
    """One message per path: a union (number | list | mapping) reports each branch; keep the first."""
    seen: dict[tuple, ModelIssue] = {}
    for issue in issues:
        seen.setdefault(issue.path, issue)
    return list(seen.values())

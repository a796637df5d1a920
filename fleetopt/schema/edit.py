"""A model changed field by field, from Python (a notebook's "what if the price were 3.00?") or
the command line (`--set PATH=VALUE`).

The model's text is read, the fields changed, the text written again and validated as a model file
is, so the model and its text (a run's model.yaml and hash) stay one model. The comments of the
original file are not kept: the text is written from the data.
"""

from __future__ import annotations

import datetime
import re
import typing
import warnings
from collections.abc import Mapping
from dataclasses import replace
from numbers import Integral, Real
from typing import Any

import numpy as np

from fleetopt.core.quarters import quarter_of_date
from fleetopt.errors import InputError, warn
from fleetopt.schema.field_locations import block_class
from fleetopt.schema.issues import ModelError
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.model import PlanningModel
from fleetopt.schema.model_changes import typed_path
from fleetopt.schema.parsing import parse_model_text, validated_json
from fleetopt.schema.shown_values import shown_value
from fleetopt.schema.unknown_keys import nearest_field
from fleetopt.schema.yaml_loader import dump_yaml
from fleetopt.schema.yaml_reading import load_yaml

FieldPath = tuple[str | int, ...]  # a field of the model file, part by part
NESTED_OR_HELD = ("the value is nested too deeply to read, or contains itself (a model file needs a few "
                  "levels)")


def edited_model(loaded: LoadedModel, changes: Mapping[str | tuple, Any] | list[tuple]) -> LoadedModel:
    """``loaded`` with each field of ``changes`` set to its value (None: the field removed, so its
    default applies; a mapping set on a block changes only the fields it names, see :func:`_assign`),
    validated as a model file is (:class:`~fleetopt.schema.issues.ModelError` naming each problem).
    ``changes``: a mapping, or a list of (path, value) pairs made in order (a path may come twice:
    removed, then set whole).

    A field is named by its path, as `fleetopt validate` names it: dotted, a mapping's entry by its
    key and a list's item by its position from 0, ``"contracts.lab-a-training.price_usd_per_gpu_hour"``,
    ``"fleet.0.gpus"``; a key with a dot in it in double quotes, ``'skus."B200.v2".power_kw_per_gpu'``;
    or a tuple of those parts.

    The copy keeps the changes, in order, after any ``loaded`` had (:attr:`LoadedModel.changes`): a
    run made from it records them."""
    pairs = check_changes(changes)
    data = _unshared(load_yaml(loaded.text, loaded.source))
    try:
        made = [_made(data, position, where, value) for position, (where, value) in enumerate(pairs)]
        text = dump_yaml(data)
    except RecursionError:  # the model as changed written as YAML
        raise InputError(f"changes: {NESTED_OR_HELD}") from None
    source = _edited_source(loaded.source, [typed_path(_path(w)) for w, _ in pairs])
    try:
        model = parse_model_text(text, source, lines_shown=False)
    except ModelError as exc:  # the lines are the rewritten text's, which nobody sees: not shown
        raise ModelError(source, [replace(issue, line=None) for issue in exc.issues]) from None
    validated_json(text, source, model)
    _say_shock_kept_in_forecast(model, made)
    changes = (*(loaded.changes or ()), *made)
    return LoadedModel(model, source, text, changes=changes, read_from=loaded.read_from,
                       source_changes=loaded.source_changes)


def _edited_source(source: str, fields: list[str]) -> str:
    """``source`` with ``fields`` edited: "tiny.yaml, edited (a, b)", the fields of an edit of an
    edited model added to those it names (it said "edited (a), edited (b)")."""
    earlier = re.fullmatch(r"(.*), edited \((.*)\)", source, flags=re.S)
    if earlier:
        source, fields = earlier.group(1), [*earlier.group(2).split(", "), *fields]
    return f"{source}, edited ({', '.join(dict.fromkeys(fields))})"


# price shocks that risk.mean_one takes to be in the forecast's prices already (docs/evaluation.md)
_SHOCKS_IN_FORECAST: tuple[FieldPath, ...] = (
    ("risk", "self_competition"),
    ("risk", "new_generation_price_step"),
)


def _say_shock_kept_in_forecast(model: PlanningModel, made: list[tuple]) -> None:
    """A price shock set while `risk.mean_one` holds leaves the scenarios' average price at the
    forecast's: a price war asked for as `risk.self_competition={probability_per_quarter: 1, ...}`
    changed the mean NPV by noise, in silence (a planner read it as the plan surviving one). Said."""
    if not model.risk.mean_one:
        return
    for field in _SHOCKS_IN_FORECAST:
        within = any(tuple(_path(where))[: len(field)] == field for where, _ in made)
        if (within or sets_field(made, field)) and getattr(model.risk, field[-1]):  # set, not removed
            warn(f"{typed_path(field)}: with risk.mean_one true (the default) the forecast's prices are "
                 "taken to include this shock already, so the scenarios' prices still average the "
                 "forecast's: the change moves when and how far prices fall around it, not their level; to "
                 "put the shock on top of the forecast (a price war below it), also set risk.mean_one=false "
                 "(which does so for both price shocks, self_competition and new_generation_price_step)")


class ChangeError(InputError):
    """A change :func:`edited_model` cannot make (a field that does not exist, a value YAML cannot
    hold): ``position``, its place in the changes as given, by which the command line names its
    ``--set``."""

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.position = position


def _made(data: Any, position: int, where: str | tuple, value: Any) -> tuple:
    """The change (``where``, ``value``) made in the YAML ``data``, as the run records it."""
    try:
        value = _plain(where, value)
        _set(data, _path(where), _unshared(value))  # a copy: a later change to its fields leaves the record
    except ChangeError:
        raise
    except InputError as exc:
        raise ChangeError(str(exc), position) from None
    except RecursionError:  # a value hundreds of levels deep, or a list that holds itself (&a [*a])
        raise ChangeError(f"{typed_path(_path(where))}: {NESTED_OR_HELD}", position) from None
    return where, value


def changes_behind(loaded: LoadedModel, changes: list[tuple], fields: typing.Iterable[tuple]) -> list[int]:
    """The positions of the ``changes`` ((path, value) pairs) made to ``loaded`` that set one of
    ``fields`` (issue paths of the model as changed), a block above one or a field within one, or
    without which one of ``fields`` breaks no rule (a rule between fields: a contract starting after
    a shortened horizon); none where no single one is behind (two changes, each enough on its own);
    a field set twice by its last change only."""
    fields = [tuple(map(str, field)) for field in fields]
    paths = [tuple(map(str, _path(where))) for where, _ in changes]
    last = last_changes(changes)
    return [i for i in last if any(_nested(paths[i], field) for field in fields)
            or set(fields) - _failing_without(loaded, changes, i)]  # fmt: skip


def last_changes(changes: list[tuple]) -> list[int]:
    """The positions of ``changes`` that stand in the model as changed: a field set twice, its last."""
    paths = [tuple(map(str, _path(where))) for where, _ in changes]
    return [i for i, path in enumerate(paths) if path not in paths[i + 1 :]]


def _failing_without(loaded: LoadedModel, changes: list[tuple], left_out: int) -> set[tuple]:
    """The issue paths of ``loaded`` with every change but the one at ``left_out`` made; none where
    they cannot be made without it (a field of a block it set): it may be behind every issue."""
    others = [change for i, change in enumerate(changes) if i != left_out]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a trial: its warnings are not the run's
        try:
            edited_model(loaded, others)
        except ModelError as exc:
            return {tuple(map(str, issue.path)) for issue in exc.issues}
        except InputError:
            return set()
    return set()


def _nested(one: tuple, other: tuple) -> bool:
    """Whether one of two paths lies within the other (or they are one)."""
    shorter = min(len(one), len(other))
    return one[:shorter] == other[:shorter]


def sets_field(changes: typing.Iterable[tuple], field: FieldPath) -> bool:
    """Whether ``changes`` (a LoadedModel's, (path, value) pairs as :func:`edited_model` made them)
    set ``field``: by its own path, by a mapping set on a block above it that names it, or by removing
    it or a block above it (its default then applies)."""
    for where, value in changes:
        parts = tuple(_path(where))
        if parts == tuple(field[: len(parts)]) and _names(value, field[len(parts):]):
            return True
    return False


def _names(value: Any, rest: FieldPath) -> bool:
    """Whether ``value``, set on a block, sets its field at ``rest`` (None: the block removed)."""
    for key in rest:
        if value is None:
            return True
        if not isinstance(value, Mapping) or key not in value:
            return False
        value = value[key]
    return True


def check_changes(changes, name: str = "changes") -> list:
    """``changes`` (a mapping, or a list of (path, value) pairs) as a list of pairs, or refused by
    ``name`` saying what it was given (a list of pairs is taken as well as a mapping: the message
    said a mapping only; a string, ``"risk.x=1"`` as the command line writes it, is neither)."""
    pairs = list(changes.items()) if isinstance(changes, Mapping) else changes
    if isinstance(pairs, list) and pairs:
        wrong = next((p for p in pairs if not (isinstance(p, tuple) and len(p) == 2)), None)
        if wrong is None:
            return pairs
        got = f"an item {shown_value(wrong)}, not a (path, value) tuple"
    else:
        got = "an empty one" if isinstance(pairs, list) else f"a value of type {type(pairs).__name__}"
    raise InputError(f"{name} must be a non-empty mapping of field paths to values, e.g. "
                     '{"finance.opening_cash_usd": 2e9}, or a list of (path, value) tuples made in '
                     f"order (got {got})")


def _unshared(node: Any) -> Any:
    """A copy in which no two places share one list or mapping (a YAML alias read twice): a change
    to one place changes only it."""
    if isinstance(node, dict):
        return {key: _unshared(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_unshared(value) for value in node]
    return node


def _path(where: str | tuple) -> FieldPath:
    """The parts of a field's path; a part of digits is a list position only where the YAML holds
    a list there (a contract may be named 2027)."""
    if isinstance(where, str) and where.strip():
        parts = _dotted_parts(where)
        if not all(part.strip() for part in parts):  # "contracts..price" read as a field named ""
            raise InputError(f"{where!r}: a field path has a name between each pair of dots")
        return parts
    if isinstance(where, tuple) and where and all(isinstance(p, (str, int)) for p in where):
        return where
    raise InputError(f"a field path must be a dotted string or a tuple of keys (got {where!r})")


def _dotted_parts(where: str) -> tuple[str, ...]:
    """'skus."B200.v2".capex_per_gpu_usd' -> ('skus', 'B200.v2', 'capex_per_gpu_usd'): a name in
    double quotes is one part, dots and all (a SKU, facility or contract may be named so)."""
    parts, part, quoted = [], "", False
    for char in where:
        if char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            parts, part = [*parts, part], ""
        else:
            part += char
    if quoted:
        raise InputError(f"{where!r}: a double quote in a field path opens a name that is not closed")
    return (*parts, part)


def _position(node: list, part: str | int) -> int | None:
    """``part`` as a position in the list ``node``, or None where it is not one: ASCII digits only
    ('²' is a digit to str.isdigit(), not to int())."""
    if isinstance(part, str) and part.isascii() and part.isdigit():
        part = int(part)
    return part if isinstance(part, int) and 0 <= part < len(node) else None


def _set(data: Any, path: FieldPath, value: Any) -> None:
    """Set (or with None remove) the field at ``path`` of the YAML ``data``; every step before the
    last must exist."""
    if value is None and not _in_file(data, path[:-1]) and _format_field(path[:-1]):
        if _format_field(path):
            return  # a block the file leaves out: its fields' defaults apply already
        raise InputError(f"{typed_path(path)}: no such field to remove (the file leaves "
                         f"{typed_path(path[:-1])} out)")  # fmt: skip
    parent = data
    for depth, part in enumerate(path[:-1]):
        here = path[: depth + 1]
        parent = _step(parent, part, here, create=value is not None and _is_block(here))
    _assign(parent, path[-1], value, path)


def _assign(parent: Any, key: str | int, value: Any, path: FieldPath) -> None:
    """Set ``parent``'s field ``key`` (at ``path``) to ``value``, or remove it with None. A mapping
    set on a block changes the fields it names and keeps the others, as a JSON merge patch does
    (RFC 7386): ``{"risk": {"price_volatility_annual": 0.5}}`` changes that one field, where
    replacing the block would put each of its other fields back to its default without a word."""
    if isinstance(parent, dict):
        if value is None:
            # a misspelt field would be removed silently; one of the format the file leaves out has
            # its default already
            if parent.pop(key, _ABSENT) is _ABSENT and not _format_field(path):
                raise InputError(f"{typed_path(path)}: no such field to remove ({_here(parent, path[:-1])})")
            return
    elif isinstance(parent, list) and _position(parent, key) is not None:
        if value is None:
            raise InputError(f"{typed_path(path)}: a list's item cannot be removed by an edit (set the list)")
        key = _position(parent, key)
    else:
        raise InputError(f"{typed_path(path)}: no such field ({_here(parent, path[:-1])})")
    if isinstance(value, dict) and isinstance(parent, dict) and key not in parent and _format_field(path):
        parent[key] = {}  # a block the file leaves out, set by a mapping: made, then merged as any block's
    current = parent.get(key) if isinstance(parent, dict) else parent[key]
    if value == {} and isinstance(current, dict) and current:
        # merged as any mapping, {} would change nothing while the run records it as a change
        clear = (f"{typed_path(path)} is required and cannot be cleared: set the entries to change"
                 if _required(path) else f"to clear it, remove it: {typed_path(path)}=null")
        raise InputError(f"{typed_path(path)}: an empty mapping changes nothing (an edit changes the entries "
                         f"a mapping names and keeps the others); {clear}")
    if isinstance(value, dict) and isinstance(current, dict):
        _say_steps_kept(current, value, path)
        for field, change in value.items():
            _assign(current, field, change, (*path, field))
        return
    series = isinstance(current, dict) and {"steps", "annual_growth"} & set(current)
    if series and not isinstance(value, (dict, list)):
        # a series written with steps or growth, replaced whole by one number: said, as it is easy to miss
        warn(f"{typed_path(path)}: the number {value!r} replaces the series {_series_words(current)} whole, "
             f"in every quarter; to change its starting level alone, keeping its steps and growth, edit "
             f"{typed_path(path)}.start")
    parent[key] = value


def _say_steps_kept(current: dict, value: dict, path: FieldPath) -> None:
    """A series' steps set as a mapping merge into its steps (as any mapping edit does): the steps of
    the file the mapping leaves out stay, which is easy to miss (a site's power delayed by setting
    its steps to later quarters kept the earlier ones, so the power came sooner): said."""
    kept = [quarter for quarter in current if quarter not in value]
    if path[-1] != "steps" or not kept:
        return
    words = ", ".join(f"{quarter}: {current[quarter]}" for quarter in kept)
    warn(f"{typed_path(path)}: the steps set are added to the model's; its steps {words} are kept (an edit "
         f"changes the entries of a mapping it names and keeps the others); to replace the steps whole, "
         f"remove them first: {typed_path(path)}=null, then set them")


def _series_words(series: Any) -> str:
    """'{start: 360, steps: {2027Q1: 560, 2028Q3: 1160}}' as the file has it."""
    if not isinstance(series, dict):
        return str(series)
    return "{" + ", ".join(f"{field}: {_series_words(value)}" for field, value in series.items()) + "}"


_ABSENT = object()


def _is_block(path: FieldPath) -> bool:
    """Whether the field at ``path`` is a block of the model format (``policy``, ``risk.power_delay``)
    or a mapping field of one (``limits.new_gpus_per_quarter``, ``risk.customer_ratings``), which an
    edit may create where the file leaves it out, not an item named by the user (a contract), which
    it may not."""
    block = PlanningModel
    for depth, part in enumerate(path):
        field = block.model_fields.get(part) if isinstance(part, str) else None
        if field is not None and depth == len(path) - 1 and _holds_mapping(field.annotation):
            return True
        block = None if field is None else block_class(field.annotation)
        if block is None:
            return False
    return True


def _format_field(path: FieldPath) -> bool:
    """Whether ``path`` names a field of the model format, block by block (``policy.defer_orders``,
    ``risk.power_delay``), not a misspelt one nor an entry named by the user (a contract)."""
    block = PlanningModel
    for part in path:
        field = block.model_fields.get(part) if block is not None and isinstance(part, str) else None
        if field is None:
            return False
        block = block_class(field.annotation)
    return True


def _required(path: FieldPath) -> bool:
    """Whether ``path`` names a field of the model format the file must give (``sites``, ``market``),
    which an edit cannot remove."""
    block, field = PlanningModel, None
    for part in path:
        field = block.model_fields.get(part) if block is not None and isinstance(part, str) else None
        if field is None:
            return False
        block = block_class(field.annotation)
    return field is not None and field.is_required()


def _in_file(data: Any, path: FieldPath) -> bool:
    """Whether the YAML ``data`` holds the field at ``path``."""
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and _position(data, part) is not None:
            data = data[_position(data, part)]
        else:
            return False
    return True


def _holds_mapping(annotation: object) -> bool:
    """Whether a field's type is a mapping of named entries, or an optional one."""
    return any(typing.get_origin(a) is dict for a in (annotation, *typing.get_args(annotation)))


def _step(node: Any, part: str | int, path: FieldPath, create: bool) -> Any:
    """The field ``part`` of ``node``; a block the file leaves out (``policy``, ``robustness``) is
    made empty where a value is set in it (``create``), for the schema to check like any field."""
    if isinstance(node, dict):
        if part not in node and create:
            node[part] = {}
        if part in node:
            return node[part]
    if isinstance(node, list) and _position(node, part) is not None:
        return node[_position(node, part)]
    if isinstance(node, dict) and _format_field(path):  # risk.delivery_slip.skus, which the file leaves out
        raise InputError(f"{typed_path(path)}: the file leaves it out (its default applies), so no part of "
                         f"it can be changed: set it whole, {typed_path(path)}=VALUE")  # fmt: skip
    raise InputError(f"{typed_path(path)}: no such field ({_here(node, path[:-1])})"
                     f"{_dot_hint(node, part)}{_spelling_hint(path)}")


def _spelling_hint(path: FieldPath) -> str:
    """The field of the format a misspelt block's name meant (`polcy`: 'policy'), where ``path`` is a
    key of a block of the format, not a name the user gives (a site's, a contract's)."""
    block = _keys_block(path[:-1])
    near = nearest_field(block, path[-1]) if block is not None and isinstance(path[-1], str) else None
    return f": did you mean {near!r}?" if near else ""


def _keys_block(path: FieldPath) -> type | None:
    """The block whose fields are the keys at ``path`` (the model's at the top, `finance`'s, a site's
    at `sites.texas`), or None where they are names the user gives (`sites`, `contracts`)."""
    block, entries = PlanningModel, False
    for part in path:
        if entries:  # a site's or contract's name, a cohort's position: its block's fields follow
            entries = False
            continue
        field = block.model_fields.get(part) if block is not None and isinstance(part, str) else None
        if field is None:
            return None
        entries = _holds_mapping(field.annotation) or typing.get_origin(field.annotation) is list
        block = block_class(field.annotation)
    return None if entries else block


def _dot_hint(node: Any, part: str | int) -> str:
    """How to name a key with a dot in it, where ``part`` begins one of ``node``'s."""
    dotted = [key for key in node if str(key).startswith(f"{part}.")] if isinstance(node, dict) else []
    return f'; a name with a dot in it goes in double quotes: "{dotted[0]}"' if dotted else ""


def _here(node: Any, path: FieldPath) -> str:
    where = typed_path(path) or "the model"
    if isinstance(node, dict):
        return f"{where} has {', '.join(map(str, node)) or 'no fields'}"
    if isinstance(node, list):
        items = "1 item" if len(node) == 1 else f"{len(node)} items"
        return f"{where} is a list of {items}, numbered from 0"
    return f"{where} is a value, not a block"


def _plain(where: str | tuple, value: Any) -> Any:
    """``value`` as YAML writes it: numbers (NumPy's too), text, booleans, None, lists and mappings
    of them."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):  # NumPy's text too (a pandas cell, rng.choice): YAML writes only str
        return str(value)
    if isinstance(value, np.bool_):  # NumPy's true and false
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(where, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(where, v) for v in value]
    if isinstance(value, np.ndarray) and value.ndim == 1:  # a notebook's list of numbers
        return [_plain(where, v) for v in value.tolist()]
    # a date (YAML reads --set horizon.start=2026-07-01 as one): the model's dates are quarters
    hint = ""
    if isinstance(value, datetime.date):
        hint = f"; write the quarter it falls in, {quarter_of_date(value)}"
    elif hasattr(value, "tolist"):  # a pandas Series (its index is no model field) or an array of 2 axes
        hint = "; give its values as a list, value.tolist(), or by key, value.to_dict()"
    raise InputError(f"{where}: a value must be a number, text, true/false, a list or a mapping "
                     f"(got a value of type {type(value).__name__}){hint}")  # fmt: skip

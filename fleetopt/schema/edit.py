"""A model changed field by field, from Python (a notebook's "what if the price were 3.00?").

The model's text is read, the fields changed, the text written again and validated as a model file
is, so the model and its text (a run's model.yaml and hash) stay one model. The comments of the
original file are not kept: the text is written from the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from numbers import Integral, Real
from typing import Any

import yaml

from fleetopt.errors import InputError
from fleetopt.schema.loading import LoadedModel, ModelError, load_yaml, parse_model_text, validated_json

Path = tuple[str | int, ...]


def edited_model(loaded: LoadedModel, changes: Mapping[str | tuple, Any]) -> LoadedModel:
    """``loaded`` with each field of ``changes`` set to its value (None: the field removed, so its
    default applies), validated as a model file is (:class:`~fleetopt.schema.loading.ModelError`
    naming each problem).

    A field is named by its path, as `fleetopt validate` names it: dotted, a mapping's entry by its
    key and a list's item by its position from 0, ``"contracts.lab-a-training.price_usd_per_gpu_hour"``,
    ``"fleet.0.gpus"``; or a tuple of those parts, for a key with a dot in it."""
    if not isinstance(changes, Mapping) or not changes:
        raise InputError("changes must be a non-empty mapping of field paths to values, e.g. "
                         '{"finance.opening_cash_usd": 2e9}')  # fmt: skip
    data = _unshared(load_yaml(loaded.text, loaded.source))
    for where, value in changes.items():
        _set(data, _path(where), _plain(where, value))
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    source = f"{loaded.source}, edited ({', '.join(_shown(_path(w)) for w in changes)})"
    try:
        model = parse_model_text(text, source)
    except ModelError as exc:  # the lines are the rewritten text's, which nobody sees: not shown
        raise ModelError(source, [replace(issue, line=None) for issue in exc.issues]) from None
    validated_json(text, source, model)
    return LoadedModel(model, source, text)


def _unshared(node: Any) -> Any:
    """A copy in which no two places share one list or mapping (a YAML alias read twice): a change
    to one place changes only it."""
    if isinstance(node, dict):
        return {key: _unshared(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_unshared(value) for value in node]
    return node


def _path(where: str | tuple) -> Path:
    if isinstance(where, str) and where.strip():
        return tuple(int(p) if p.isdigit() else p for p in where.split("."))
    if isinstance(where, tuple) and where and all(isinstance(p, (str, int)) for p in where):
        return where
    raise InputError(f"a field path must be a dotted string or a tuple of keys (got {where!r})")


def _shown(path: Path) -> str:
    return ".".join(str(p) for p in path)


def _set(data: Any, path: Path, value: Any) -> None:
    """Set (or with None remove) the field at ``path`` of the YAML ``data``; every step before the
    last must exist."""
    parent = data
    for depth, part in enumerate(path[:-1]):
        parent = _step(parent, part, path[: depth + 1])
    last = path[-1]
    if isinstance(parent, dict):
        if value is None:
            parent.pop(last, None)
        else:
            parent[last] = value
    elif isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        if value is None:
            raise InputError(f"{_shown(path)}: a list's item cannot be removed by an edit (set the list)")
        parent[last] = value
    else:
        raise InputError(f"{_shown(path)}: no such field ({_here(parent, path[:-1])})")


def _step(node: Any, part: str | int, path: Path) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    raise InputError(f"{_shown(path)}: no such field ({_here(node, path[:-1])})")


def _here(node: Any, path: Path) -> str:
    where = _shown(path) or "the model"
    if isinstance(node, dict):
        return f"{where} has {', '.join(map(str, node)) or 'no fields'}"
    if isinstance(node, list):
        items = "1 item" if len(node) == 1 else f"{len(node)} items"
        return f"{where} is a list of {items}, numbered from 0"
    return f"{where} is a value, not a block"


def _plain(where: str | tuple, value: Any) -> Any:
    """``value`` as YAML writes it: numbers (NumPy's too), text, booleans, None, lists and mappings
    of them."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(where, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(where, v) for v in value]
    raise InputError(f"{where}: a value must be a number, text, true/false, a list or a mapping "
                     f"(got a value of type {type(value).__name__})")  # fmt: skip

"""Where a validation error is in the model format: pydantic's location cleaned to the file's own
path, the block a path is in, the place of every field name, whether a block may be left out.
"""

from __future__ import annotations

import datetime
import functools
import typing

from pydantic import BaseModel

from fleetopt.schema.model import PlanningModel

_SERIES_BRANCH = {dict: "CompactSeries", list: "list[float]"}


def _is_marker(part: object) -> bool:
    noise = {"float", "int", "list[float]", "CompactSeries"}
    return isinstance(part, str) and (
        part in noise or part.startswith(("function-", "union[", "tagged-union["))
    )


def clean_loc(loc: tuple, data: object) -> tuple[tuple, bool]:
    """Drop pydantic's union-branch markers (e.g. 'float', 'list[float]') from a location.

    The location is walked through the data, so a key the user wrote (a contract named
    ``float``) is never taken for a marker. Also says whether the error comes from the
    series branch that matches the shape written (a mapping, a list or a number): errors
    of the other branches ("Input should be a valid number" for a mapping) are noise.
    """
    path: list = []
    value, walking, fits = data, True, True
    for part in loc:
        key = _key_written(value, part) if walking else None
        if key is not None:  # pydantic names a key YAML read as a date by its repr: the file's text
            value, part = value[key], key.isoformat()
            path.append(part)
            continue
        is_dict_key = isinstance(value, dict) and part in value
        is_index = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        if walking and (is_dict_key or is_index):
            value = value[part]
        elif _is_marker(part):
            if walking and part in ("float", "list[float]", "CompactSeries"):
                fits = fits and part == _SERIES_BRANCH.get(type(value), "float")
            continue
        else:
            walking = False
        path.append(part)
    return tuple(path), fits


def _key_written(mapping: object, part: object) -> datetime.date | None:
    """The key of ``mapping`` that YAML read as a date (``2027-07-01:`` unquoted) which pydantic's
    location ``part`` names by its repr ("datetime.date(2027, 7, 1)"), else None."""
    if not isinstance(mapping, dict) or not isinstance(part, str) or part in mapping:
        return None
    return next((k for k in mapping if isinstance(k, datetime.date) and repr(k) == part), None)


def block_at(path: tuple) -> type[BaseModel] | None:
    """The block a location in a model file is in (`sites.texas`: a site; a series written as a
    mapping: its `CompactSeries`), or None."""
    annotation: object = PlanningModel
    for part in path:
        block = _inner(annotation, _is_block)
        container = _inner(annotation, _is_container)
        if block is not None and part in block.model_fields:
            annotation = block.model_fields[part].annotation
        elif container is not None:
            annotation = typing.get_args(container)[-1]
        else:
            return None
    return _inner(annotation, _is_block)


def _is_block(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_container(annotation: object) -> bool:
    """A mapping of named entries (`sites`) or a list (`fleet`)."""
    return typing.get_origin(annotation) in (dict, list)


def _inner(annotation: object, wanted, depth: int = 4):
    """The first type within ``annotation`` (itself, or inside Optional, Annotated or a union, a few
    levels deep) that ``wanted`` accepts; None if none does."""
    if wanted(annotation):
        return annotation
    if depth == 0:
        return None
    for arg in typing.get_args(annotation):
        found = _inner(arg, wanted, depth - 1)
        if found is not None:
            return found
    return None


@functools.cache
def field_paths() -> dict[str, str]:
    """Each field name of the model format, with where the first so named is (`sites.<name>.pue`)."""
    out: dict[str, str] = {}

    def walk(block: type[BaseModel], prefix: str) -> None:
        for name, field in block.model_fields.items():
            out.setdefault(name, f"{prefix}{name}")
            annotation, entry = field.annotation, ""
            container = _inner(annotation, _is_container)
            if container is not None:
                annotation = typing.get_args(container)[-1]
                entry = ".<name>" if typing.get_origin(container) is dict else ".<n>"
            inner = _inner(annotation, _is_block)
            if inner is not None and inner is not block:
                walk(inner, f"{prefix}{name}{entry}.")

    walk(PlanningModel, "")
    return out


def field_has_default(loc: tuple) -> bool:
    """Whether ``loc`` ends at a field of a block that may be left out (`risk`), rather than at a
    required one (`horizon`) or an entry of a mapping or list (`skus.H100`)."""
    annotation: object = PlanningModel
    has_default = False
    for part in loc:
        block = block_class(annotation)
        if block is not None and part in block.model_fields:
            field = block.model_fields[part]
            annotation, has_default = field.annotation, not field.is_required()
        elif typing.get_origin(annotation) in (dict, list):
            annotation, has_default = typing.get_args(annotation)[-1], False
        elif not _is_marker(part):
            return False
    return has_default


def block_class(annotation: object) -> type[BaseModel] | None:
    """The block a field holds: its type, or the block of an optional one (`Robustness | None`)."""
    return _inner(annotation, _is_block, depth=1)

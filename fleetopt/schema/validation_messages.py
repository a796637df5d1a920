"""pydantic's validation errors in a model file's words: a name or a quarter that is not text, a block
that is not a mapping, a number written as text, an unknown key; each with the value it got.
"""

from __future__ import annotations

import datetime

from fleetopt.core.quarters import quarter_problem
from fleetopt.schema.base import NAME_PATTERN, NAME_RULE, NAME_TYPE_ERROR, QUARTER_TYPE_ERROR
from fleetopt.schema.field_locations import field_has_default
from fleetopt.schema.finance import DRAW_WINDOW, missing_window_words
from fleetopt.schema.number_slips import number_slip
from fleetopt.schema.shown_values import shown_value
from fleetopt.schema.unknown_keys import unknown_key

# What YAML reads an unquoted key as when not text: `true`, `on`, `yes`; `null`, `~`; `1`; `2026-01-01`
_YAML_KINDS = ((bool, "a YAML boolean"), (int, "a YAML number"), (float, "a YAML number"),
               (type(None), "a YAML null"), (datetime.date, "a YAML date"))  # fmt: skip


def non_text_name(path: tuple, err: dict) -> tuple[tuple, str] | None:
    """A name (a key of a mapping such as `skus`) that YAML read as something other than text:
    the issue is the mapping's, since pydantic's location of the key (``skus.1.[key]`` for
    ``true:``) shows neither the key as written nor what is wrong with it."""
    key = err.get("input")
    if err["type"] not in _NOT_TEXT or not path or path[-1] != "[key]" or isinstance(key, str):
        return None
    return path[:-2], f"the name {_written(key)} ({_yaml_kind(key) or 'not text'}) must be text: quote it"


def _yaml_kind(value: object) -> str | None:
    """What YAML read a value as ('a YAML null'), where it is one of the plain kinds."""
    return next((what for cls, what in _YAML_KINDS if isinstance(value, cls)), None)


# what a field expects, and its rule, by the error type of a value that is not text
_NOT_TEXT = {NAME_TYPE_ERROR: ("a name", NAME_RULE), "string_type": ("text", "")}
QUARTER_EXPECTED = ("a quarter", "a label like 2026Q3")


def _not_text(value: object, expected: tuple[str, str]) -> str:
    """A field YAML read as something other than text: empty (`customer: ~` or nothing after the
    colon), a number, a boolean or a date (to be quoted), or a list or a mapping; with what the field
    expects ("a name" and its rule)."""
    what, rule = expected
    wanted = f"{what}: {rule}" if rule else what
    if value is None:
        return f"is empty (a YAML null): expected {wanted}"
    kind = _yaml_kind(value)
    if kind is None:
        return f"{shown_value(value)} is not {wanted}"
    return f"{_written(value)} ({kind}) must be text: quote it" + (f" to use it as {what}" if rule else "")


# the words YAML 1.1 reads as a boolean, unquoted (quoted, text)
_YAML_BOOLEANS = {"true", "false", "yes", "no", "on", "off"}


def error_message(err: dict, path: tuple = (), data: object = None) -> str:
    """One error of pydantic's ``err`` at the model file's ``path`` in our words (``data``: the file
    as read, for what a missing field's message quotes of it)."""
    kind = err["type"]
    if kind == "extra_forbidden":
        return unknown_key(path)
    if kind == "missing":
        return _missing(err, path, data)
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == QUARTER_TYPE_ERROR and err["input"] is None:
        return _not_text(None, QUARTER_EXPECTED)
    if kind == QUARTER_TYPE_ERROR or (
        kind == "string_pattern_mismatch" and "Q[1-4]" in str(err.get("ctx", {}).get("pattern", ""))
    ):
        return f"{_written(err['input'])} {quarter_problem(err['input'])}"
    if kind in _NOT_TEXT:
        return _not_text(err["input"], _NOT_TEXT[kind])
    if kind == "model_type":
        return _block_message(err["input"], err["loc"])
    if kind == "string_pattern_mismatch" and str(err.get("ctx", {}).get("pattern", "")) == NAME_PATTERN:
        return f"{shown_value(err['input'])} is not a name: {NAME_RULE}"
    value = err.get("input")
    if kind in ("int_type", "float_type", "int_from_float") and number_slip(value, path):
        return number_slip(value, path)
    if kind == "bool_type" and isinstance(value, str) and value.strip().lower() in _YAML_BOOLEANS:
        return f"must be true or false, not text: write it without quotes, {value.strip()} " \
            f"(got {shown_value(value)})"
    if value is None and kind not in ("model_type", "dict_type") and "(got" not in msg:
        return f"{msg} (got nothing: the field is empty, a YAML null)"
    if (
        isinstance(value, (str, int, float, bool))
        and kind not in ("model_type", "dict_type")
        and "(got" not in msg
    ):
        return f"{msg} (got {shown_value(value)})"
    return msg


def _missing(err: dict, path: tuple, data: object) -> str:
    """A required field left out: a facility's draw window says what to write (a loan drawn in full
    was told only "required field is missing", with no hint that its window is still asked)."""
    if len(path) == 4 and path[:2] == ("finance", "facilities") and path[3] in DRAW_WINDOW:
        horizon = data.get("horizon") if isinstance(data, dict) else None
        start = horizon.get("start") if isinstance(horizon, dict) else None
        return missing_window_words(path[3], err.get("input"), start)
    return "required field is missing"


def _block_message(value: object, loc: tuple) -> str:
    """A block written as something other than a mapping (`risk: null`, `risk: 5`), without
    pydantic's "or instance of Risk": a class name means nothing in a model file."""
    got = "" if value is None else f", not {shown_value(value)}"
    hint = " (or leave the block out)" if field_has_default(loc) else ""
    return f"must be a mapping of fields{got}{hint}"


def _written(value: object) -> str:
    """A value as the YAML file wrote it: a date as 2026-07-01, not datetime.date(2026, 7, 1)."""
    return value.isoformat() if isinstance(value, datetime.date) else shown_value(value)

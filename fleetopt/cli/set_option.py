"""A model changed for a run by `--set PATH=VALUE`: the changes read, made in order, their errors and
warnings named by the options behind them, and said before the results."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

from rich.text import Text

from fleetopt import api
from fleetopt.cli.consoles import console
from fleetopt.errors import FleetoptWarning, InputError
from fleetopt.evaluate.sources import with_run_changes
from fleetopt.schema.edit import ChangeError, changes_behind, last_changes
from fleetopt.schema.issues import ModelError
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.loading import load_model
from fleetopt.schema.model_changes import model_words
from fleetopt.schema.shown_values import shown_value
from fleetopt.schema.yaml_reading import holds_no_value, load_yaml


def load_changed(model: str | Path | None, changes: list[str] | None) -> LoadedModel:
    """The model ``model`` with each ``--set PATH=VALUE`` of ``changes`` made in order
    (:func:`fleetopt.api.edit`); the file's own warnings are those of the model as changed (a field
    the changes mend is not warned of, and none twice). A run's model.yaml carries the changes that run
    made (:func:`with_run_changes`), before those of ``changes``."""
    if not changes:
        return with_run_changes(load_model(model))
    fields = parsed_changes(changes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FleetoptWarning)
        loaded = with_run_changes(load_model(model))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FleetoptWarning)
        try:
            edited = api.edit(loaded, fields)
        except ChangeError as exc:
            raise InputError(f"--set {changes[exc.position]!r}: {exc}") from None
        except ModelError as exc:  # named by the --set options behind it, not the model they made
            behind = changes_behind(loaded, fields, [issue.path for issue in exc.issues])
            named = " ".join(f"--set {changes[i]!r}" for i in behind)
            named = named or f"{loaded.source} with the --set options together"  # none behind it alone
            raise ModelError(named, exc.issues) from None
    # a warning's field is seldom the one set (a shorter horizon, a contract's term): all are named
    named = " ".join(f"--set {changes[i]!r}" for i in last_changes(fields))
    _warn_naming_once(edited.source, named, caught)
    return edited


def _refuse_colon_without_space(change: str, value: object, option: str = "--set") -> None:
    """A mapping written without a space after a colon (``{probability:0.5}``) is read by YAML as one
    empty key, 'probability:0.5', which the edit took for a field to remove ('no such field to
    remove'): said as what it is."""
    fused = _fused_key(value)
    if fused is not None:
        name, _, given = fused.partition(":")
        raise InputError(f"{option} {change!r}: {fused!r} reads as one name with no value: in YAML a colon "
                         f"takes a space after it ({name}: {given})")  # fmt: skip


def _fused_key(value: object, above: tuple[int, ...] = ()) -> str | None:
    """The first key of the YAML ``value`` (mappings within lists too) that holds a colon and no value;
    a list or mapping within itself (``&a [*a]``) is not walked again (``above``: those it is in)."""
    if id(value) in above or not isinstance(value, (dict, list)):
        return None
    inner = [*value.values()] if isinstance(value, dict) else value
    if isinstance(value, dict):
        fused = (key for key, item in value.items() if isinstance(key, str) and ":" in key and item is None)
        if (key := next(fused, None)) is not None:
            return key
    return next(filter(None, (_fused_key(item, (*above, id(value))) for item in inner)), None)


def parsed_changes(changes: list[str], option: str = "--set") -> list[tuple[str, object]]:
    """Each ``PATH=VALUE`` of ``changes`` (the command line's ``option``) as a (path, value) pair,
    VALUE read as YAML, as :func:`fleetopt.api.edit` takes them."""
    fields: list[tuple[str, object]] = []
    for change in changes:
        path, equals, text = change.partition("=")
        if not equals or not path.strip():
            raise InputError(f"{option} {change!r}: give PATH=VALUE, a field as `fleetopt validate` names it "
                             "and its value in YAML (horizon.discount_rate_annual=0.10)")  # fmt: skip
        if not text.strip():  # an unset shell variable, most likely: not a silent return to the default
            raise InputError(f"{option} {change!r}: no value after '=': give one, or null to remove the "
                             "field (its default then applies)")  # fmt: skip
        value = _value_read(text, f"{option} {shown_value(change)}")
        if value is None and holds_no_value(text):  # `PATH=#N/A`: a comment, not null written out
            raise InputError(f"{option} {change!r}: no value after '=' (in YAML, # begins a comment and --- "
                             "a document): give one, quoted if it holds a # ('PATH=\"#1\"'), or null to "
                             "remove the field (its default then applies)")  # fmt: skip
        _refuse_colon_without_space(change, value, option)
        fields.append((path.strip(), value))
    return fields


def _value_read(text: str, source: str) -> object:
    """A ``PATH=VALUE``'s VALUE read as YAML (:func:`load_yaml`), whose errors name ``source``, the
    option as given: of a value on one line without a line number (it said "--set 'risk={':1: ")."""
    try:
        return load_yaml(text, source)
    except ModelError as exc:
        if "\n" in text:
            raise
        raise ModelError(source, [replace(issue, line=None) for issue in exc.issues]) from None


def _warn_naming_once(source: str, named: str, caught: list[warnings.WarningMessage]) -> None:
    """The warnings ``caught`` emitted again, those of the model ``source`` (an edited model's
    long name, "tiny.yaml, edited (horizon.quarters, ...)", which began each of them) named by
    ``named`` (the --set options as given, as its errors are), once, each note on a line of its own
    below it where there are several."""
    prefix = f"{source}: "
    own = [str(w.message)[len(prefix) :] for w in caught if str(w.message).startswith(prefix)]
    if len(own) > 1:
        warnings.warn(FleetoptWarning(f"{named}:" + "".join(f"\n  {note}" for note in own)), stacklevel=2)
    elif own:
        warnings.warn(FleetoptWarning(f"{named}: {own[0]}"), stacklevel=2)
    for w in caught:
        if not str(w.message).startswith(prefix):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def say_model_changes(loaded: LoadedModel) -> None:
    """Where the run's model was changed for it (``--set``, kept by a resumed job), say what was
    changed, once, before its results: model.yaml holds the model as changed, not what differs."""
    if loaded.changes or loaded.source_changes:
        words = model_words(loaded.model.name, loaded.changes, loaded.source_changes)
        console.print(Text(f"model: {words}"), soft_wrap=True)

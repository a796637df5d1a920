"""The fields changed for a run (`--set`, :func:`fleetopt.api.edit`) in words and in a run's record:
a field's path as `--set` takes it, the model as the terminal, a report and `fleetopt runs` name it,
and the changes a run's summary.json or job.json keeps, read back.
"""

from __future__ import annotations

import math
import typing

import yaml

from fleetopt.errors import InputError
from fleetopt.schema.yaml_loader import WordsDumper

ModelChange = tuple[str | tuple[str | int, ...], typing.Any]
"""One field changed for a run (:func:`fleetopt.api.edit`, ``--set``): its path as given (dotted, or
a tuple of parts) and its value as the model's YAML writes it."""

MODEL_CHANGES = "model_changes"  # summary.json's and job.json's key: LoadedModel.changes_record
# and theirs of the changes made before, by the run whose model.yaml it read: LoadedModel.source_changes
MODEL_SOURCE_CHANGES = "model_source_changes"


def _holds_itself(value: object, above: tuple[int, ...] = ()) -> bool:
    """Whether the list or mapping ``value`` is within itself (``above``: the ids of those it is in)."""
    if not isinstance(value, (dict, list)):
        return False
    if id(value) in above:
        return True
    inner = value.values() if isinstance(value, dict) else value
    return any(_holds_itself(item, (*above, id(value))) for item in inner)


def typed_path(path: typing.Iterable[str | int]) -> str:
    """A field's path as `--set` takes it: dotted, a name with a dot in it in double quotes."""
    return ".".join(f'"{p}"' if "." in str(p) else str(p) for p in path)


def model_words(
    name: str, changes: typing.Iterable[ModelChange] | None, source_changes: typing.Iterable[ModelChange] = ()
) -> str:
    """The model a run was made from as the terminal, its report and `fleetopt runs show` name it:
    ``name``, and the fields changed for the run where there are any, each value in YAML on one line
    as ``--set`` takes it ('neocloud, changed for this run: horizon.discount_rate_annual = 0.1; risk
    removed'); before them those of ``source_changes`` (:attr:`LoadedModel.source_changes`), which
    the run it was copied from changed ('tiny, as changed for the run it was copied from:
    horizon.quarters = 8')."""
    words = change_words(changes or ())  # None: not known, and not said
    before = change_words(source_changes)
    if not before:
        return f"{name}, changed for this run: {words}" if words else name
    shown = f"{name}, as changed for the run it was copied from: {before}"
    return f"{shown}; and changed for this run: {words}" if words else shown


def changed_model_line(
    name: str, changes: tuple[ModelChange, ...] | None, source_changes: tuple[ModelChange, ...] = ()
) -> str:
    """'Model: tiny, changed for this run: horizon.quarters = 8.', under the title of a report or of a
    result in a notebook (whose title names the model alone); '' for a model run as its file has it,
    and that file not a run's model as changed (:func:`model_words`)."""
    return f"Model: {model_words(name, changes, source_changes)}." if changes or source_changes else ""


def edited_name(
    name: str, changes: typing.Iterable[ModelChange] | None, source_changes: typing.Iterable[ModelChange] = ()
) -> str:
    """A run's model in one short line (`fleetopt runs`, a notebook's list of runs): ``name``, and the
    fields changed for the run where there are any, by path ('tiny (edited: horizon.quarters)'); those
    the run it was copied from changed (``source_changes``) first, said so ('tiny (edited:
    horizon.quarters, as the run it was copied from)'); :func:`model_words` gives their values too."""
    own, before = _changed_paths(changes or ()), _changed_paths(source_changes)
    if before and own:
        return f"{name} (edited: {before}, as the run it was copied from; {own}, for this run)"
    if before:
        return f"{name} (edited: {before}, as the run it was copied from)"
    return f"{name} (edited: {own})" if own else name


def _changed_paths(changes: typing.Iterable[ModelChange]) -> str:
    """The paths of ``changes``, each once, as `--set` takes them ('horizon.quarters, risk')."""
    paths = (path if isinstance(path, str) else typed_path(path) for path, _ in changes)
    return ", ".join(dict.fromkeys(paths))


def change_words(changes: typing.Iterable[ModelChange]) -> str:
    """Changes to a model, each value in YAML on one line as ``--set`` takes it
    ('horizon.discount_rate_annual = 0.1; risk removed'); '' for none."""
    words = []
    for path, value in changes:
        field = path if isinstance(path, str) else typed_path(path)
        if value is None:  # `--set PATH=`: the field's default applies
            words.append(f"{field} removed")
            continue
        if _holds_itself(value):  # `&a [*a]`: no text but PyYAML's anchor names (&id001 [*id001])
            words.append(f"{field} = a value that holds itself")
            continue
        inline = yaml.dump(value, Dumper=WordsDumper, default_flow_style=True, width=math.inf,
                           allow_unicode=True, sort_keys=False)  # fmt: skip
        inline = inline.removesuffix("...\n").strip()  # the end mark YAML writes after a lone scalar
        words.append(f"{field} = {inline}")
    return "; ".join(words)


def recorded_changes(record: object, where: str, key: str = MODEL_CHANGES) -> tuple[ModelChange, ...] | None:
    """A run's ``model_changes`` (:attr:`LoadedModel.changes_record`; ``key``: another record of
    changes, ``model_source_changes``), read from ``where`` (its summary.json or job.json), as (path,
    value) pairs again; None for a run written before they were kept (or by a job started then): not
    known. A record edited out of shape is refused."""
    if record is None:
        return None
    if not isinstance(record, list) or not all(
        isinstance(c, dict) and set(c) == {"path", "value"} and isinstance(c["path"], (str, list))
        for c in record
    ):
        raise InputError(f"{where}: {key} is not a list of {{path, value}} entries, as fleetopt "
                         "writes it (edited or damaged)")  # fmt: skip
    return tuple((c["path"] if isinstance(c["path"], str) else tuple(c["path"]), c["value"]) for c in record)


def recorded_model_changes(
    record: dict, where: str
) -> tuple[tuple[ModelChange, ...] | None, tuple[ModelChange, ...]]:
    """The changes a run's ``record`` (its summary.json, job.json or registry figures, at ``where``)
    keeps: its own (``model_changes``, None where not known) and those the run whose model.yaml it read
    had made (``model_source_changes``, none for a run that kept none); each as
    :func:`recorded_changes` reads it, for :func:`model_words` and :func:`edited_name`."""
    before = recorded_changes(record.get(MODEL_SOURCE_CHANGES), where, MODEL_SOURCE_CHANGES) or ()
    return recorded_changes(record.get(MODEL_CHANGES), where), before

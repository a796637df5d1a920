"""Reading a model file: YAML with line numbers, schema validation, cross-block checks.

Every problem becomes a :class:`ModelIssue` naming the field path and, where the
YAML parser knows it, the line; :class:`ModelError` carries all of them.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import functools
import hashlib
import json
import math
import re
import shlex
import typing
from dataclasses import dataclass
from decimal import Decimal
from difflib import get_close_matches
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from fleetopt.core.quarters import quarter_problem
from fleetopt.core.units import SCALE_SUFFIX_CLASS, SCALE_SUFFIXES
from fleetopt.errors import InputError, user_path, warn
from fleetopt.schema.base import (
    NAME_PATTERN,
    NAME_RULE,
    NAME_TYPE_ERROR,
    QUARTER_TYPE_ERROR,
    read_only_error,
)
from fleetopt.schema.model import PlanningModel, cross_checks, horizon_notes

DEFAULT_MODEL = "neocloud"


@dataclass(frozen=True)
class ModelIssue:
    """One problem found in a model file."""

    path: tuple[str | int, ...]
    message: str
    line: int | None = None

    def format(self, source: str | None = None) -> str:
        where = ".".join(_path_part(p) for p in self.path)
        if source:
            loc = f"{source}:{self.line}: " if self.line else f"{source}: "
        else:
            loc = f"line {self.line}: " if self.line else ""
        return f"{loc}{where}: {self.message}" if where else f"{loc}{self.message}"


def _path_part(part: object) -> str:
    """A key with a newline or another control character is quoted, so an issue stays on one line;
    one with a dot in it in double quotes, as `--set` takes it (:func:`typed_path`)."""
    text = repr(part) if isinstance(part, str) and not part.isprintable() else str(part)
    text = typed_path([text]) if isinstance(part, str) and part.isprintable() else text
    return text if len(text) <= 80 else f"{text[:80]}... ({len(text):,} characters)"


class ModelError(InputError):
    """A model file that cannot be used, with every problem found."""

    def __init__(self, source: str, issues: list[ModelIssue]):
        self.source = source
        self.issues = issues
        super().__init__("\n".join(i.format(source) for i in issues))


ModelChange = tuple[str | tuple[str | int, ...], typing.Any]
"""One field changed for a run (:func:`fleetopt.api.edit`, ``--set``): its path as given (dotted, or
a tuple of parts) and its value as the model's YAML writes it."""

MODEL_CHANGES = "model_changes"  # summary.json's and job.json's key: LoadedModel.changes_record
# and theirs of the changes made before, by the run whose model.yaml it read: LoadedModel.source_changes
MODEL_SOURCE_CHANGES = "model_source_changes"
# every run's summary.json keys (and its record's) of the horizon its figures are counted over and the
# rate its NPVs discount at (LoadedModel.basis_record): `fleetopt runs` lists them, reading no model.yaml
HORIZON_QUARTERS, DISCOUNT_RATE = "horizon_quarters", "discount_rate_annual"


def _read_only(cls: type) -> type:
    """A frozen dataclass whose attributes, set or deleted, raise the InputError a loaded model's
    fields raise (schema.base.read_only_error), not dataclasses' FrozenInstanceError, which says
    neither why nor what to do (a frozen dataclass may not define these itself)."""

    def refuse_set(self, name: str, value: typing.Any) -> None:
        raise read_only_error(f"{cls.__name__}.{name}", "set")

    def refuse_delete(self, name: str) -> None:
        raise read_only_error(f"{cls.__name__}.{name}", "deleted")

    cls.__setattr__, cls.__delattr__ = refuse_set, refuse_delete
    return cls


def _changes_record(changes: tuple[ModelChange, ...]) -> list[dict]:
    return [{"path": path, "value": value} for path, value in changes]


@_read_only
@dataclass(frozen=True)
class LoadedModel:
    """A validated model with where it came from."""

    model: PlanningModel
    source: str
    text: str
    # the fields changed for this run, in order (fleetopt.api.edit, --set): the text is the model as
    # changed, which does not say what differs from the file it was read from; a run records them.
    # None: not known (the model of a job started before fleetopt kept them, resumed or re-ranked now)
    changes: tuple[ModelChange, ...] | None = ()
    # the file it was read from, in full (absolute, taken where it was given: a notebook that moves
    # later must not name a file of its new folder); None: not read from a file (made by hand)
    read_from: str | None = None
    # the fields changed, in order, by the run whose copy of its model (model.yaml) this was read from,
    # as that run's record keeps them: the file is its model as changed, which its text does not say
    source_changes: tuple[ModelChange, ...] = ()

    @property
    def model_source(self) -> str:
        """Where the model was read from, as a run's summary.json and job.json keep it
        (``model_source``): the file in full, as they keep ``plans_source``, so that it names the same
        file wherever the run is read; :attr:`source` (as given, for messages) where none was read."""
        return self.read_from or self.source

    @property
    def changes_record(self) -> list[dict] | None:
        """:attr:`changes` as a run's summary.json keeps them (``model_changes``):
        ``[{"path": "horizon.discount_rate_annual", "value": 0.1}]``, a tuple path as a list; None
        (``null``) where they are not known."""
        return None if self.changes is None else _changes_record(self.changes)

    @property
    def source_changes_record(self) -> list[dict]:
        """:attr:`source_changes` as a run's summary.json keeps them (``model_source_changes``), in the
        form of :attr:`changes_record`."""
        return _changes_record(self.source_changes)

    @property
    def changed_line(self) -> str:
        """:func:`changed_model_line` of this model: 'Model: tiny, changed for this run: ...'; '' for
        a model run as its file has it."""
        return changed_model_line(self.model.name, self.changes, self.source_changes)

    @property
    def origin_record(self) -> dict:
        """Where the model came from, as a run's summary.json and job.json keep it: ``model_source``
        (:attr:`model_source`), ``model_changes`` (:attr:`changes_record`) and
        ``model_source_changes`` (:attr:`source_changes_record`), which its model.yaml does not say."""
        return {"model_source": self.model_source, MODEL_CHANGES: self.changes_record,
                MODEL_SOURCE_CHANGES: self.source_changes_record}  # fmt: skip

    @property
    def basis_record(self) -> dict:
        """The horizon (quarters) and annual discount rate of the model, as every run's summary.json
        keeps them (:data:`HORIZON_QUARTERS`, :data:`DISCOUNT_RATE`)."""
        horizon = self.model.horizon
        return {HORIZON_QUARTERS: horizon.quarters, DISCOUNT_RATE: float(horizon.discount_rate_annual)}

    @property
    def content_hash(self) -> str:
        """The first 16 hex digits of the SHA-256 of the model's text, by which run folders, plan
        files and the registry name the model a run used."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def check_text(self) -> None:
        """Refuse a model that is not its text's: a run folder would keep the text (model.yaml and
        its hash) beside figures of another model (a model changed in Python with pydantic's
        ``model_copy``; :func:`fleetopt.schema.edit.edited_model` changes both)."""
        if validated_json(self.text, self.source) != self.model.model_dump_json():
            raise InputError(
                f"the LoadedModel {self.model.name!r} ({self.source}) holds a model that is not its "
                "text's: change a model with fleetopt.api.edit(model, {field: value}), which writes "
                "the text and validates it"
            )

    def __repr__(self) -> str:  # a notebook shows this, not the whole model and its text
        return f"LoadedModel({self.model.name!r} from {self.source}, hash {self.content_hash})"


class _LineLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (a silent overwrite is a wrong answer)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}  # each key as the schema reads it -> as written
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value, not a list or mapping", key_node.start_mark
            ) from None
        # the schema strips surrounding spaces from text: "lab-a-training " would replace lab-a-training
        stripped = key.strip() if isinstance(key, str) else key
        if stripped in seen:
            spaces = "" if seen[stripped] == key else " (after removing surrounding spaces)"
            message = f"duplicate key {stripped!r}{spaces}"
            raise yaml.constructor.ConstructorError(None, None, message, key_node.start_mark)
        seen[stripped] = key
    return loader.construct_mapping(node, deep=deep)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# YAML 1.1 reads `gpus: 0400` as 256 (octal), `0xFA0` as hex, `2:30` as 150 (base 60), and leaves
# `0800` text: each a wrong answer or a puzzling error. A plain number in a model file is decimal.
_NOT_DECIMAL = re.compile(
    r"^[-+]?(?:0[0-9_]+|0[xXbBoO][0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$"
)
_LEADING_ZERO_TAG = "tag:fleetopt,2026:leading-zero"


def _decimal_only(construct):
    def constructor(loader: _LineLoader, node: yaml.ScalarNode):
        if _NOT_DECIMAL.match(node.value.strip()):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a plain decimal number (YAML 1.1 would read a "
                "leading 0 as octal, 0x as hexadecimal and a:b as base 60): write it in decimal digits, "
                f"{_decimal_digits(node.value)}", node.start_mark,
            )  # fmt: skip
        return construct(loader, node)

    return constructor


def _decimal_digits(text: str) -> str:
    """'0400' -> '400', as the writer most likely meant; other forms: 'e.g. 4000'."""
    digits = text.strip().lstrip("+-").lstrip("0").replace("_", "")
    return digits if digits.isdigit() else "e.g. 4000 or 2.5"


_LineLoader.add_constructor("tag:yaml.org,2002:int", _decimal_only(yaml.SafeLoader.construct_yaml_int))
_LineLoader.add_constructor("tag:yaml.org,2002:float", _decimal_only(yaml.SafeLoader.construct_yaml_float))
# a leading 0 with an 8 or 9 (0800) is text in YAML 1.1, read as a number with quotes wrongly blamed
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
_LineLoader.add_implicit_resolver(_LEADING_ZERO_TAG, _LEADING_ZERO, list("-+0"))
_LineLoader.add_constructor(_LEADING_ZERO_TAG, _decimal_only(yaml.SafeLoader.construct_yaml_str))
# YAML 1.1 (PyYAML) reads 1e12 and 1.0e12 as strings: it wants a dot and a signed exponent
# (1.0e+12). People write them as numbers, and YAML 1.2 reads them so: so does fleetopt.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
_LineLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))


class _ModelDumper(yaml.SafeDumper):
    """Writes text that this loader would read otherwise (1e8 as a number, 0800 as a number with a
    leading zero, which it refuses) in quotes, so text stays text."""


_ModelDumper.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))
_ModelDumper.add_implicit_resolver(_LEADING_ZERO_TAG, _LEADING_ZERO, list("-+0"))


def dump_yaml(data: object) -> str:
    """``data`` as model-file text that :func:`load_yaml` reads back as the same values."""
    return yaml.dump(data, Dumper=_ModelDumper, sort_keys=False, allow_unicode=True, width=100)


class _WordsDumper(_ModelDumper):
    """One value written out whole where it appears twice (`{a: &x [1], b: *x}` as `{a: [1], b: [1]}`),
    not as PyYAML's anchor names (&id001, *id001), which the user never typed."""

    def ignore_aliases(self, data) -> bool:
        return True


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
        inline = yaml.dump(value, Dumper=_WordsDumper, default_flow_style=True, width=math.inf,
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


def _line_index(
    node: yaml.Node | None, path: tuple = (), out: dict | None = None, visited: set | None = None
) -> dict:
    """Map every field path in the YAML node tree to its 1-based line.

    A node reached again through an alias is not walked again (its paths fall back to the
    line of the key that names the alias): this keeps recursive and nested aliases finite.
    """
    out = {} if out is None else out
    visited = set() if visited is None else visited
    if node is None or id(node) in visited:
        return out
    visited.add(id(node))
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), out, visited)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), out, visited)
    return out


def _line_for(lines: dict, path: tuple) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def bundled_model_path(name: str) -> Path:
    """Path of a model shipped with fleetopt (``neocloud``, ``tiny``)."""
    return Path(str(resources.files("fleetopt.models") / f"{name}.yaml"))


def bundled_model_names() -> list[str]:
    folder = resources.files("fleetopt.models")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def resolve_model_path(model: str | Path | None) -> Path:
    """A model argument: None for the default, a bundled name, or a file path."""
    if model is None:
        return bundled_model_path(DEFAULT_MODEL)
    path = user_path(model)  # "~/models/x.yaml" from Python, as a shell gives it
    if not _is_file(path, model) and str(model) in bundled_model_names():
        if path.is_dir():  # `fleetopt solve tiny --out tiny` made one: a folder is no model file
            warn(f"{model!r} is the bundled model; the folder {path} here is not a model file")
        for near in (path.with_name(f"{path.name}.yaml"), path.with_name(f"{path.name}.yml")):
            if near.is_file():  # `fleetopt solve tiny` beside a tiny.yaml of one's own
                warn(f"{model!r} is the bundled model; {near} here is not read: give {near} to use it")
                break
        return bundled_model_path(str(model))
    return path


def _folder_model_hint(folder: Path) -> str:
    """What a folder given as a model may have meant: a run's folder holds the model it ran,
    model.yaml (`fleetopt solve runs/base` for `fleetopt solve runs/base/model.yaml`)."""
    own = folder / "model.yaml"
    return f" (a run's folder? its model is {own})" if own.is_file() else ""


def _missing_model_hint(path: Path) -> str:
    """What a model path that names no file may have meant: the file with its extension beside it
    (`./tiny` for tiny.yaml), the bundled model of that name (a path is never read as one), else
    the bundled models' names."""
    for near in (path.with_name(f"{path.name}.yaml"), path.with_name(f"{path.name}.yml")):
        if near.is_file():
            return f" (did you mean {near}?)"
    if path.name in bundled_model_names():  # a bare name would have been the bundled model: ./tiny
        given = f"./{path}" if path.parent == Path(".") else str(path)
        return f" ({given} is read as a path: give {path.name} alone for the bundled model)"
    stem = path.stem if path.suffix.lower() in (".yaml", ".yml") else path.name
    if stem.lower() in bundled_model_names():  # Tiny, tiny.yaml, models/tiny.yaml outside a checkout
        return f" ({path} is read as a path: give {stem.lower()} alone for the bundled model)"
    return f" (bundled models: {', '.join(bundled_model_names())})"


def _is_file(path: Path, model: str | Path) -> bool:
    """Whether ``path`` (``model`` as given) is a file; one no file system can hold (a NUL character, a
    name longer than it allows: a model's text given for its file?) is refused by name, where Python
    raised ValueError or OSError (a traceback from fleetopt.api.load)."""
    text = str(model)
    why = "holds a NUL character, which no path can" if "\0" in text else None
    try:
        found = why is None and path.is_file()
    except OSError as exc:
        why = f"is not a usable path: {exc.strerror}"
    if why is None:
        return found
    hint = ": a model's text goes in a file, given by its path" if "\n" in text else ""
    raise ModelError(shown_value(text), [ModelIssue((), f"{why}{hint}")])


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


def _read_yaml(text: str, source: str) -> tuple[yaml.Node | None, object]:
    """The YAML of a model file: its node tree (for line numbers) and its data."""
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"YAML syntax error: {exc.problem or exc}{_syntax_hint(exc, text)}"
        if "tag:yaml.org,2002:merge" in str(exc.problem):  # `<<: *defaults`
            message = "YAML merge keys (<<) are not supported: write the fields out (aliases work)"
        if exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
            # e.g. an unclosed bracket is only noticed lines later: name where it opened.
            message += f" ({exc.context} on line {exc.context_mark.line + 1})"
        raise ModelError(source, [ModelIssue((), message, line)]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error: a control character in the text
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        message = f"YAML error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        raise ModelError(source, [ModelIssue((), message, line)]) from None
    except _VALUE_ERRORS as exc:  # a value PyYAML parses but cannot make: 2024-02-30, !!float abc
        raise ModelError(source, [_unreadable_value(node, exc)]) from None
    _refuse_alias_bomb(node, source)
    return node, data


# values a model file's aliases may repeat beyond the file's own: a few blocks reused, never millions
MAX_ALIASED_VALUES = 1_000_000


def _refuse_alias_bomb(root: yaml.Node | None, source: str) -> None:
    """Refuse YAML whose aliases, each naming a list that names another many times, expand to far
    more values than the file holds (a "billion laughs": 9 lists of 9 aliases are 387 million values,
    which the validation walked for minutes, its memory growing, as an edit's copy did)."""
    expanded: dict[int, int] = {}

    def count(node: yaml.Node) -> int:
        if id(node) not in expanded:
            expanded[id(node)] = 1  # a node within itself (&a [*a]) counts once
            inner = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else (
                node.value if isinstance(node, yaml.SequenceNode) else [])  # fmt: skip
            expanded[id(node)] = 1 + sum(map(count, inner))
        return expanded[id(node)]

    total = count(root) if root is not None else 0
    if total > len(expanded) + MAX_ALIASED_VALUES:
        words = (f"its aliases (*name) expand its {len(expanded):,} values written to {total:,}, more than "
                 "any model needs: write the values out, or alias fewer")
        raise ModelError(source, [ModelIssue((), words)])


# what PyYAML's words for the commonest slips mean: a tab, and a line indented to no level of the lines
# above it (3 spaces among keys at 4), which PyYAML names by its grammar's tokens
_YAML_HINTS = {
    "found character '\\t' that cannot start any token": (
        ": a tab, which YAML does not allow there: use spaces"
    ),
    "expected <block end>, but found '<block mapping start>'": (
        ": most likely this line is indented to no level of the lines above it (indent it as far as "
        "the keys it belongs with)"
    ),
}


_NO_COLON = "most likely lacks the ':' after its key"


def _shown_line(lines: list[str], index: int) -> str:
    """A line of the file as a message quotes it: without its indentation and comment."""
    return repr(lines[index].split(" #")[0].strip())


def _syntax_hint(exc: yaml.MarkedYAMLError, text: str) -> str:
    """What PyYAML's words mean for the slip most likely behind them: a key without its ':' (YAML
    then reads the next line's key as more of its text), a value holding ': ', a line indented deeper
    than the key above it; else :data:`_YAML_HINTS`."""
    problem, mark, lines = str(exc.problem), exc.problem_mark, text.splitlines()
    if problem == "could not find expected ':'" and exc.context_mark is not None:
        return f": line {exc.context_mark.line + 1} ({_shown_line(lines, exc.context_mark.line)}) {_NO_COLON}"
    if problem != "mapping values are not allowed here" or mark is None or mark.line >= len(lines):
        return _YAML_HINTS.get(problem, "")
    if ": " in lines[mark.line][: mark.column]:
        return ": this line's value holds ': ' (a colon and a space), read as another key: quote the value"
    above = [n for n in range(mark.line) if lines[n].strip() and not lines[n].lstrip().startswith("#")]
    if above and ":" not in lines[above[-1]]:
        return f": line {above[-1] + 1} ({_shown_line(lines, above[-1])}) {_NO_COLON}"
    return (": most likely this line is indented deeper than the key above it, so YAML reads it as more of "
            "that key's value (indent it as far as the keys it belongs with)")


# what PyYAML's constructors raise for a value they cannot make (not YAMLError): an impossible
# date (ValueError), `!!bool maybe` (KeyError), `!!map [a]` (TypeError), an integer of thousands
# of digits (ValueError: Python's limit on converting them)
_VALUE_ERRORS = (ValueError, TypeError, KeyError, OverflowError)
_NODE_WORDS = {yaml.SequenceNode: "a list", yaml.MappingNode: "a mapping"}


def _unreadable_value(root: yaml.Node, exc: Exception) -> ModelIssue:
    """The issue of the first value (children before their parent) that PyYAML cannot make, with
    its line and text."""
    loader = _LineLoader("")
    stack, order, seen = [root], [], set()
    while stack:  # every node once (an alias is a node met again), parents before children; reversed below
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        if isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    for node in reversed(order):
        try:
            loader.construct_object(node, deep=True)
        except _VALUE_ERRORS as found:
            scalar = isinstance(node, yaml.ScalarNode)
            written = shown_value(node.value) if scalar else _NODE_WORDS[type(node)]
            kind = node.tag.rsplit(":", 1)[-1].replace("timestamp", "date")  # bool, int, float, map ...
            reason = str(found).splitlines()[0] if isinstance(found, ValueError) else f"not a {kind}"
            if "int_max_str_digits" in reason:  # Python's limit, advising a call no author can make
                reason = f"it has {len(node.value):,} digits, more than any model's figure (a typing slip?)"
            article = "an" if kind[0] in "aeiou" else "a"
            message = f"YAML value {written} cannot be read as {article} {kind}: {reason}"
            return ModelIssue((), message, node.start_mark.line + 1)
        except yaml.YAMLError:
            continue
    return ModelIssue((), f"YAML value cannot be read: {exc}")


NESTED_TOO_DEEPLY = "the YAML is nested too deeply to read (a model file needs a few levels)"


def load_yaml(text: str, source: str) -> object:
    """The data of a model file's YAML, read as fleetopt reads it (duplicate keys refused; a text
    nested too deeply to read, as a `--set` value can be, refused by name)."""
    try:
        return _read_yaml(text, source)[1]
    except RecursionError:
        raise ModelError(source, [ModelIssue((), NESTED_TOO_DEEPLY)]) from None


def holds_no_value(text: str) -> bool:
    """Whether YAML reads ``text`` as no value at all: nothing but a comment (`#N/A` pasted from a
    spreadsheet), a document marker (`---`). Both read as null, as `null` and `~` do, which are
    written out to remove a field (`--set PATH=null`); these are not."""
    node = yaml.compose(text, Loader=_LineLoader)
    return node is None or (node.tag == "tag:yaml.org,2002:null" and node.value == "")


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
    node, data = _read_yaml(text, source)
    if not isinstance(data, dict):
        raise ModelError(source, [ModelIssue((), "the file must be a YAML mapping of blocks" + (
            PURCHASES_HINT if _purchases_header(text) else _what_it_holds(data)))])  # fmt: skip
    if set(data) >= RUN_FILE_KEYS:  # a run's summary.json or job.json (JSON is YAML): not a list of its keys
        raise ModelError(source, [ModelIssue((), (
            "is a run's file (summary.json or job.json), not a model file: the model a run used is its "
            "folder's model.yaml"))])  # fmt: skip
    lines = _line_index(node)
    try:
        model = PlanningModel.model_validate(data)
    except ValidationError as exc:
        issues, other_branches = [], []
        errors = exc.errors()
        misspelt = _fields_misspelt(errors, data)
        for err in errors:
            path, branch_fits = _clean_loc(err["loc"], data)
            if err["type"] == "missing" and path in misspelt:  # its unknown key's suggestion says it
                continue
            path, message = _non_text_name(path, err) or (path, _message(err, path))
            issue = ModelIssue(path, message, _line_for(lines, path))
            (issues if branch_fits else other_branches).append(issue)
        raise ModelError(source, _dedupe(issues or other_branches)) from None
    problems = cross_checks(model)
    if problems:
        issues = [ModelIssue(p, m, _line_for(lines, p)) for p, m in problems]
        raise ModelError(source, issues)
    for path, note in horizon_notes(model):
        warn(ModelIssue(path, note, _line_for(lines, path) if lines_shown else None).format(source))
    return model


# the largest model file read: a model is kilobytes (the default one about 40 KB); a path such as
# /dev/zero or a multi-gigabyte file given by mistake is refused instead of read until memory runs out
MAX_MODEL_BYTES = 16 * 2**20


ZIP_MAGIC = b"PK\x03\x04"  # how a zip file, and so a NumPy .npz, begins


def _zip_words(path: Path) -> str:
    """Why a zip archive is not a model: a NumPy .npz (a run's plan.npz) is named as a plan file, with
    the command that evaluates it; any other (.xlsx, .docx, .zip) as a zip archive."""
    if path.suffix.lower() != ".npz":
        return "is a zip archive (a spreadsheet, a document?), not a model file: a model is YAML text"
    return (f"is a plan file (.npz), not a model file: `fleetopt evaluate --plans {shlex.quote(str(path))}` "
            "evaluates its plans (the model they were made for is in the run folder's model.yaml)")


def load_model(model: str | Path | None = None) -> LoadedModel:
    """Load and validate a model file (None: the bundled default model)."""
    path = resolve_model_path(model)
    source = str(path)
    try:
        with path.open("rb") as handle:  # at most one byte past the limit: /dev/zero is not read forever
            raw = handle.read(MAX_MODEL_BYTES + 1)
        if len(raw) > MAX_MODEL_BYTES:
            limit = f"{MAX_MODEL_BYTES // 2**20} MiB"
            raise ModelError(source, [ModelIssue((), f"is larger than {limit}: not a model file")])
        if raw.startswith(ZIP_MAGIC):  # a zip archive: a run's plan.npz, given where a model goes?
            raise ModelError(source, [ModelIssue((), _zip_words(path))])
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads it
    except FileNotFoundError:
        raise ModelError(source, [ModelIssue((), f"no such file{_missing_model_hint(path)}")]) from None
    except IsADirectoryError:
        words = f"is a folder, not a model file{_folder_model_hint(path)}"
        raise ModelError(source, [ModelIssue((), words)]) from None
    except UnicodeDecodeError as exc:  # e.g. saved as Windows-1252: say where, and what to do
        line = exc.object[: exc.start].count(b"\n") + 1
        byte = exc.object[exc.start : exc.start + 1].hex()
        message = f"line {line} is not UTF-8 text (byte 0x{byte}): save the file as UTF-8"
        raise ModelError(source, [ModelIssue((), message)]) from None
    except OSError as exc:
        raise ModelError(source, [ModelIssue((), f"cannot read: {exc}")]) from None
    model = parse_model_text(text, source)
    validated_json(text, source, model)
    return LoadedModel(model, source, text, read_from=str(path.resolve()))


_SERIES_BRANCH = {dict: "CompactSeries", list: "list[float]"}


def _is_marker(part: object) -> bool:
    noise = {"float", "int", "list[float]", "CompactSeries"}
    return isinstance(part, str) and (
        part in noise or part.startswith(("function-", "union[", "tagged-union["))
    )


def _clean_loc(loc: tuple, data: object) -> tuple[tuple, bool]:
    """Drop pydantic's union-branch markers (e.g. 'float', 'list[float]') from a location.

    The location is walked through the data, so a key the user wrote (a contract named
    ``float``) is never taken for a marker. Also says whether the error comes from the
    series branch that matches the shape written (a mapping, a list or a number): errors
    of the other branches ("Input should be a valid number" for a mapping) are noise.
    """
    path: list = []
    value, walking, fits = data, True, True
    for part in loc:
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


# What YAML reads an unquoted key as when not text: `true`, `on`, `yes`; `null`, `~`; `1`; `2026-01-01`
_YAML_KINDS = ((bool, "a YAML boolean"), (int, "a YAML number"), (float, "a YAML number"),
               (type(None), "a YAML null"), (datetime.date, "a YAML date"))  # fmt: skip


def _non_text_name(path: tuple, err: dict) -> tuple[tuple, str] | None:
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


UNKNOWN_KEY = "unknown key (not part of the model format; check the spelling)"


# the words YAML 1.1 reads as a boolean, unquoted (quoted, text)
_YAML_BOOLEANS = {"true", "false", "yes", "no", "on", "off"}


def _message(err: dict, path: tuple = ()) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return _unknown_key(path)
    if kind == "missing":
        return "required field is missing"
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
    if kind in ("int_type", "float_type", "int_from_float") and _number_slip(value, path):
        return _number_slip(value, path)
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


def _number_slip(value: object, path: tuple = ()) -> str | None:
    """What is wrong with a number written so that it reads as another type: quoted ("150000000",
    text), or a whole count written with a decimal point or exponent (4e3, 4000.0); None otherwise."""
    if isinstance(value, str):  # YAML reads an unquoted nan or inf as text too: not a slip of quotes
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            return _spreadsheet_number(value) or _number_with_unit(value, path)
        if not math.isfinite(number):
            return None
        if not value.isascii():  # '０' (full-width): a number to float(), text to YAML, no quotes to drop
            return f"must be a number in the digits 0-9, not text: retype it (got {shown_value(value)})"
        unquoted = f"write it without quotes, {value.strip()}"
        return f"must be a number, not text: {unquoted} (got {shown_value(value)})"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        whole = f"write {int(value)}, without a decimal point or exponent"
        return f"must be a whole number: {whole} (got {value!r})"
    return None


# a number as a spreadsheet or a slide shows it: a dollar sign, thousands separators, a scale suffix
# (120M), a percent sign
_SPREADSHEET_NUMBER = re.compile(
    r"^(?P<sign>-?)(?P<dollar>\$?)(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?P<decimals>\.\d*)?"
    rf"(?:\s*(?P<scale>{SCALE_SUFFIX_CLASS}))?(?P<percent>\s*%)?$"
)
_SCALE_WORDS = {3: "a thousand", 6: "a million", 9: "a billion", 12: "a trillion"}


def _spreadsheet_number(value: str) -> str | None:
    """What is wrong with a number written as a spreadsheet shows it ('4,000', '$2.30', '15%'),
    which YAML reads as text: the plain number to write; None for any other text."""
    found = _SPREADSHEET_NUMBER.match(value.strip())
    if found is None or not (found["dollar"] or "," in found["whole"] or found["percent"] or found["scale"]):
        return None
    if found["scale"] and found["percent"]:  # 12.5k%: no plain number to offer
        return None
    plain = f"{found['sign']}{found['whole'].replace(',', '')}{found['decimals'] or ''}"
    exponent = SCALE_SUFFIXES[found["scale"].upper()] if found["scale"] else 0
    if exponent:  # exact: 2.3M is 2300000, not float's 2299999.9999999995
        plain = format((Decimal(plain.rstrip(".")) * 10**exponent).normalize(), "f")
    got = f"(got {shown_value(value)})"
    if found["percent"]:
        return f"must be a number, not a percentage: a rate or share is a fraction, {float(plain) / 100:g} " \
            f"for {plain} % {got}"
    scale = f"a scale suffix ({found['scale']}: {_SCALE_WORDS.get(exponent)})"
    signs = [words for words, there in (("a dollar sign", found["dollar"]), ("thousands separators",
                                        "," in found["whole"]), (scale, exponent)) if there]  # fmt: skip
    unit = " (the field's name gives its unit)" if found["dollar"] else ""
    return f"must be a plain number: write {plain}, without {' or '.join(signs)}{unit} {got}"


# a number followed by a unit (15 MW, 1.3 kW, 55 $/MWh): the unit belongs in the field's name
_NUMBER_WITH_UNIT = re.compile(r"^-?\d[\d_]*(\.\d*)?([eE][+-]?\d+)?\s*[A-Za-z$/][A-Za-z$/\- ]*$")


def _number_with_unit(value: str, path: tuple) -> str | None:
    """A number written with its unit, which YAML reads as text: the field's name gives the unit
    (`power_capacity_mw`), in which the number alone is written; None for any other text."""
    if _NUMBER_WITH_UNIT.match(value.strip()) is None:
        return None
    named = next(((part, unit) for part in reversed(path) if isinstance(part, str)
                  for suffix, unit in _UNIT_SUFFIXES if part.endswith(suffix)), None)  # fmt: skip
    got = f"(got {shown_value(value)})"
    if named is None:
        return f"must be a plain number, without a unit (docs/model-format.md gives the field's) {got}"
    field, unit = named
    return f"must be a plain number, without a unit: {field} is in {unit} (its name says so); write " \
        f"the number in {unit} alone {got}"


# the units of docs/model-format.md's Conventions, by the end of a field's name (longest first)
_UNIT_SUFFIXES = (
    # names whose ending alone would name another unit: a resale curve's ages are years, its values
    # fractions; the market's demand is in H100-equivalent GPUs
    ("_fraction_by_age_years", "fractions of capex"), ("demand_gpus", "H100-equivalent GPUs"),
    ("_usd_per_gpu_hour", "USD per GPU-hour"), ("_usd_per_mwh", "USD per MWh"), ("_kw_per_gpu", "kW per GPU"),
    ("_per_mw_quarter_usd", "USD per MW per quarter"), ("_per_gpu_quarter_usd", "USD per GPU per quarter"),
    ("_per_mw_usd", "USD per MW"), ("_per_gpu_usd", "USD per GPU"), ("_usd_per_quarter", "USD per quarter"),
    ("_usd", "USD"), ("_mw", "MW"), ("_gpus", "GPUs"), ("_quarters", "quarters"), ("_years", "years"),
)


def _block_message(value: object, loc: tuple) -> str:
    """A block written as something other than a mapping (`risk: null`, `risk: 5`), without
    pydantic's "or instance of Risk": a class name means nothing in a model file."""
    got = "" if value is None else f", not {shown_value(value)}"
    hint = " (or leave the block out)" if _field_has_default(loc) else ""
    return f"must be a mapping of fields{got}{hint}"


# keys a user writes that the format leaves out on purpose (block's class name, key): why, in place of a
# near spelling that would mislead (a contract's `site` suggested `signed`)
_CONTRACT_NO_SITE = ("a contract names no site: its GPUs may serve it from any site, as power allows "
                     "(docs/model-format.md, Contracts)")
NOT_IN_THE_FORMAT = {("Contract", "site"): _CONTRACT_NO_SITE, ("Contract", "sites"): _CONTRACT_NO_SITE}


def _unknown_key(path: tuple) -> str:
    """An unknown key, with the block's own key nearest its spelling, or else the place in the
    format of a field so named (`finance.discount_rate`: `horizon.discount_rate_annual`)."""
    if not path or not isinstance(path[-1], str):
        return UNKNOWN_KEY
    key, block = path[-1], _block_at(path[:-1])
    if block is None:  # a block not found: a suggestion from elsewhere would mislead
        return UNKNOWN_KEY
    why = NOT_IN_THE_FORMAT.get((block.__name__, key))
    if why is not None:
        return f"{UNKNOWN_KEY}: {why}"
    near = _suggested_field(path)
    if near is not None:
        return f"{UNKNOWN_KEY}: did you mean {near!r}?"
    fields = _field_paths()
    elsewhere = get_close_matches(key, list(fields), 1, 0.75)
    if elsewhere:
        return f"{UNKNOWN_KEY}; the format has {fields[elsewhere[0]]}"
    return UNKNOWN_KEY


def _suggested_field(path: tuple) -> str | None:
    """The field an unknown key at ``path`` is offered as its spelling (None: none, or the format
    leaves the key out on purpose and says why instead)."""
    if not path or not isinstance(path[-1], str):
        return None
    key, block = path[-1], _block_at(path[:-1])
    if block is None or (block.__name__, key) in NOT_IN_THE_FORMAT:
        return None
    return nearest_field(block, key)


def _fields_misspelt(errors: list, data: object) -> set[tuple]:
    """The paths of the fields an unknown key is offered as (`power_capcity_mw`: its block's
    `power_capacity_mw`): a required one among them is missing because it was misspelt, which the
    unknown key's line says, so it is not said again as a missing field."""
    misspelt = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            path, _ = _clean_loc(err["loc"], data)
            near = _suggested_field(path)
            if near is not None:
                misspelt.add((*path[:-1], near))
    return misspelt


def nearest_field(block: type[BaseModel], key: str) -> str | None:
    """The field of ``block`` a misspelt ``key`` most likely meant: a close spelling, or the start of
    a longer name (`price`: `price_usd_per_gpu_hour`); None if none is near."""
    names = list(block.model_fields)
    near = get_close_matches(key, names, 1, 0.6) or [n for n in names if len(key) >= 4 and n.startswith(key)]
    return near[0] if near else None


def _block_at(path: tuple) -> type[BaseModel] | None:
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
def _field_paths() -> dict[str, str]:
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


def _field_has_default(loc: tuple) -> bool:
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


def _written(value: object) -> str:
    """A value as the YAML file wrote it: a date as 2026-07-01, not datetime.date(2026, 7, 1)."""
    return value.isoformat() if isinstance(value, datetime.date) else shown_value(value)


# whether shown_value quotes values read from a JSON file (set by :func:`quoting_json`)
_QUOTING_JSON: contextvars.ContextVar[bool] = contextvars.ContextVar("quoting_json", default=False)


@contextlib.contextmanager
def quoting_json():
    """Within it, :func:`shown_value` says None, True and False as JSON writes them (null, true,
    false): the values checked are a run's JSON file's, which its reader wrote in those words, not a
    Python caller's."""
    token = _QUOTING_JSON.set(True)
    try:
        yield
    finally:
        _QUOTING_JSON.reset(token)


def shown_value(value: object, at: int = 60) -> str:
    """A value as written (its repr; JSON's null, true and false within :func:`quoting_json`), cut
    so that a huge one (a 1 MB string, a 5,000-digit number) does not flood the message: every error
    message that quotes a value it was given (an int past Python's 4,300 digits to text is said by
    its digit count: its repr raises)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 14_000:
        return f"an int of about {int(abs(value).bit_length() * 0.30103):,} digits"
    text = _json_words(value) if _QUOTING_JSON.get() else repr(value)
    length = len(value) if isinstance(value, str) else len(text)  # a string's own, not its quotes'
    return text if len(text) <= at else f"{text[:at]}... ({length:,} characters)"


def shown_json_value(value: object, at: int = 60) -> str:
    """:func:`shown_value` of a value a run's JSON file holds: null, true and false in JSON's words."""
    with quoting_json():
        return shown_value(value, at)


def _json_words(value: object) -> str:
    """``value``'s repr with JSON's words for None, True and False, in a list or object too."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, list):
        return f"[{', '.join(map(_json_words, value))}]"
    if isinstance(value, dict):
        return f"{{{', '.join(f'{_json_words(k)}: {_json_words(v)}' for k, v in value.items())}}}"
    return repr(value)


def _dedupe(issues: list[ModelIssue]) -> list[ModelIssue]:
    """One message per path: a union (number | list | mapping) reports each branch; keep the first."""
    seen: dict[tuple, ModelIssue] = {}
    for issue in issues:
        seen.setdefault(issue.path, issue)
    return list(seen.values())

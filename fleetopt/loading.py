"""Reading a model file: YAML with line numbers, schema validation, cross-block checks.

Every problem becomes a :class:`ModelIssue` naming the field path and, where the
YAML parser knows it, the line; :class:`ModelError` carries all of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from fleetopt.schema import PlanningModel, cross_checks

DEFAULT_MODEL = "neocloud"


@dataclass(frozen=True)
class ModelIssue:
    """One problem found in a model file."""

    path: tuple[str | int, ...]
    message: str
    line: int | None = None

    def format(self, source: str | None = None) -> str:
        where = ".".join(str(p) for p in self.path)
        if source:
            loc = f"{source}:{self.line}: " if self.line else f"{source}: "
        else:
            loc = f"line {self.line}: " if self.line else ""
        return f"{loc}{where}: {self.message}" if where else f"{loc}{self.message}"


class ModelError(Exception):
    """A model file that cannot be used, with every problem found."""

    def __init__(self, source: str, issues: list[ModelIssue]):
        self.source = source
        self.issues = issues
        super().__init__("\n".join(i.format(source) for i in issues))


@dataclass(frozen=True)
class LoadedModel:
    """A validated model with where it came from."""

    model: PlanningModel
    source: str
    text: str

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


class _LineLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (a silent overwrite is a wrong answer)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_index(node: yaml.Node | None, path: tuple = (), out: dict | None = None) -> dict:
    """Map every field path in the YAML node tree to its 1-based line."""
    out = {} if out is None else out
    if node is None:
        return out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), out)
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
    path = Path(model)
    if not path.exists() and str(model) in bundled_model_names():
        return bundled_model_path(str(model))
    return path


def parse_model_text(text: str, source: str) -> PlanningModel:
    """Validate the text of a model file; raise ModelError listing every problem."""
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"YAML syntax error: {exc.problem or exc}"
        raise ModelError(source, [ModelIssue((), message, line)]) from None
    except yaml.YAMLError as exc:
        raise ModelError(source, [ModelIssue((), f"YAML error: {exc}")]) from None
    if not isinstance(data, dict):
        raise ModelError(source, [ModelIssue((), "the file must be a YAML mapping of blocks")])
    lines = _line_index(node)
    try:
        model = PlanningModel.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            path = _clean_loc(err["loc"])
            issues.append(ModelIssue(path, _message(err), _line_for(lines, path)))
        raise ModelError(source, _dedupe(issues)) from None
    problems = cross_checks(model)
    if problems:
        issues = [ModelIssue(p, m, _line_for(lines, p)) for p, m in problems]
        raise ModelError(source, issues)
    return model


def load_model(model: str | Path | None = None) -> LoadedModel:
    """Load and validate a model file (None: the bundled default model)."""
    path = resolve_model_path(model)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = f" (bundled models: {', '.join(bundled_model_names())})"
        raise ModelError(source, [ModelIssue((), f"no such file{hint}")]) from None
    except IsADirectoryError:
        raise ModelError(source, [ModelIssue((), "is a directory, not a model file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(source, [ModelIssue((), f"cannot read: {exc}")]) from None
    return LoadedModel(parse_model_text(text, source), source, text)


def _clean_loc(loc: tuple) -> tuple:
    """Drop pydantic's union-branch markers (e.g. 'float', 'list[float]') from a location."""
    noise = {"float", "int", "list[float]", "CompactSeries", "function-after[_check_non_negative(), union[float,list[float],CompactSeries]]"}
    return tuple(p for p in loc if not (isinstance(p, str) and (p in noise or p.startswith(("function-", "union[", "tagged-union[")))))


def _message(err: dict) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (not part of the model format; check the spelling)"
    if kind == "missing":
        return "required field is missing"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "string_pattern_mismatch" and "Q[1-4]" in str(err.get("ctx", {}).get("pattern", "")):
        return f"{err['input']!r} is not a quarter: expected a label like 2026Q3"
    value = err.get("input")
    if (
        isinstance(value, (str, int, float, bool))
        and kind not in ("model_type", "dict_type")
        and "(got" not in msg
    ):
        return f"{msg} (got {value!r})"
    return msg


def _dedupe(issues: list[ModelIssue]) -> list[ModelIssue]:
    """One message per path: a union (number | list | mapping) reports each branch; keep the first."""
    seen: dict[tuple, ModelIssue] = {}
    for issue in issues:
        seen.setdefault(issue.path, issue)
    return list(seen.values())

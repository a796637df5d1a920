"""A model file's problems: each a :class:`ModelIssue` naming the field path and, where the YAML
parser knows it, the line; :class:`ModelError` carries all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetopt.errors import InputError
from fleetopt.schema.model_changes import typed_path


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

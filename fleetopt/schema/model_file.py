"""Finding the model file a model argument names (None: the default model; a bundled model's name; a
path), and the words for an argument that names none: a folder, a missing file, a zip archive.
"""

from __future__ import annotations

import shlex
from importlib import resources
from pathlib import Path

from fleetopt.errors import user_path, warn
from fleetopt.schema.issues import ModelError, ModelIssue
from fleetopt.schema.shown_values import shown_value

DEFAULT_MODEL = "neocloud"


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


def folder_model_hint(folder: Path) -> str:
    """What a folder given as a model may have meant: a run's folder holds the model it ran,
    model.yaml (`fleetopt solve runs/base` for `fleetopt solve runs/base/model.yaml`)."""
    own = folder / "model.yaml"
    return f" (a run's folder? its model is {own})" if own.is_file() else ""


def missing_model_hint(path: Path) -> str:
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


ZIP_MAGIC = b"PK\x03\x04"  # how a zip file, and so a NumPy .npz, begins


def zip_words(path: Path) -> str:
    """Why a zip archive is not a model: a NumPy .npz (a run's plan.npz) is named as a plan file, with
    the command that evaluates it; any other (.xlsx, .docx, .zip) as a zip archive."""
    if path.suffix.lower() != ".npz":
        return "is a zip archive (a spreadsheet, a document?), not a model file: a model is YAML text"
    return (f"is a plan file (.npz), not a model file: `fleetopt evaluate --plans {shlex.quote(str(path))}` "
            "evaluates its plans (the model they were made for is in the run folder's model.yaml)")

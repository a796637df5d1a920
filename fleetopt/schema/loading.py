"""Loading a model file: read (at most :data:`MAX_MODEL_BYTES`, as UTF-8 text) and validated into a
:class:`~fleetopt.schema.loaded_model.LoadedModel`; a file that cannot be read is a
:class:`~fleetopt.schema.issues.ModelError` saying why.
"""

from __future__ import annotations

from pathlib import Path

from fleetopt.schema.issues import ModelError, ModelIssue
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.model_file import (
    ZIP_MAGIC,
    folder_model_hint,
    missing_model_hint,
    resolve_model_path,
    zip_words,
)
from fleetopt.schema.parsing import parse_model_text, validated_json

# the largest model file read: a model is kilobytes (the default one about 40 KB); a path such as
# /dev/zero or a multi-gigabyte file given by mistake is refused instead of read until memory runs out
MAX_MODEL_BYTES = 16 * 2**20


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
            raise ModelError(source, [ModelIssue((), zip_words(path))])
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads it
    except FileNotFoundError:
        raise ModelError(source, [ModelIssue((), f"no such file{missing_model_hint(path)}")]) from None
    except IsADirectoryError:
        words = f"is a folder, not a model file{folder_model_hint(path)}"
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

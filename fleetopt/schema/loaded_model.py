"""A validated model with where it came from (:class:`LoadedModel`), read-only, and the keys of a run's
summary.json that it writes.
"""

from __future__ import annotations

import hashlib
import typing
from dataclasses import dataclass

from fleetopt.errors import InputError
from fleetopt.schema.base import read_only_error
from fleetopt.schema.issues import ModelIssue
from fleetopt.schema.model import PlanningModel
from fleetopt.schema.model_changes import (
    MODEL_CHANGES,
    MODEL_SOURCE_CHANGES,
    ModelChange,
    changed_model_line,
)
from fleetopt.schema.parsing import validated_json
from fleetopt.schema.yaml_reading import line_for, line_index, read_yaml

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

    def located(self, path: tuple[str | int, ...], message: str) -> str:
        """``message`` of the field at ``path`` as a model's warnings say it: its file, the field's line
        and path ('tiny.yaml:123: limits.max_customer_revenue_share: ...'); no line for an edited
        model, whose rewritten text nobody sees (as its loading's warnings)."""
        line = None if self.changes else line_for(line_index(read_yaml(self.text, self.source)[0]), path)
        return ModelIssue(path, message, line).format(self.source)

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

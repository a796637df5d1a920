"""Loading, editing and describing a planning model: what every other API module starts from."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from pathlib import Path
from typing import Any

from fleetopt.api._keywords import arguments_checked
from fleetopt.core.data import ModelData
from fleetopt.core.data import load as _load
from fleetopt.errors import InputError, user_path
from fleetopt.evaluate.sources import with_run_changes
from fleetopt.runs import limits
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.registry import RunRecord
from fleetopt.schema.edit import edited_model
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.loading import load_model
from fleetopt.schema.model import PlanningModel
from fleetopt.schema.model_file import bundled_model_names

ModelArg = str | Path | LoadedModel | tuple | None
"""The type of a ``model`` argument: what :func:`load` takes, which its docstring says (help()
shows a function's docstring, not this one's)."""


def _is_loaded_pair(model) -> bool:
    """Whether ``model`` is what :func:`load` returns."""
    return isinstance(model, tuple) and len(model) == 2 and isinstance(model[0], LoadedModel)


def _loadable(model):
    """``model`` as :func:`load` takes it, a file read (None stays None: the
    default model, or the plans' own); anything else is refused by name. A run's model.yaml is the
    model as that run changed it, which its text does not say: it carries those changes
    (:func:`with_run_changes`), which the runs made from it record."""
    if _is_loaded_pair(model):
        model[0].check_text()
        return model[0]
    if isinstance(model, LoadedModel):
        model.check_text()
        return with_run_changes(model)
    if isinstance(model, (str, Path)) and not str(model).strip():
        raise InputError("model is empty: give a model file path, a bundled model name or None (the default)")
    if isinstance(model, (str, Path)):
        return with_run_changes(load_model(model))
    if model is None:
        return model
    raise InputError(
        "model must be a model file path, a bundled model name, None (the default model), a LoadedModel "
        f"or what fleetopt.api.load returns (got a value of type {type(model).__name__})"
    )


def refuse_a_run_as_model(model, name: limits.Name, remedy: limits.Name) -> None:
    """A run (its id, its record, or a finished run's folder) given where a model goes (the argument
    ``name``) is refused as a run, naming its model file where known, with ``remedy``:
    ``fo.compare(run_a, run_b)`` read run_b as the model and said "is a folder, not a model file",
    or "got a value of type int". A bundled model's name is the bundled model, as
    :func:`~fleetopt.schema.model_file.resolve_model_path` reads it, beside a run folder of that name
    too (`fleetopt solve tiny --out tiny` makes one)."""
    if isinstance(model, bool) or not isinstance(model, (Integral, RunRecord, str, Path)):
        return
    if isinstance(model, RunRecord):
        shown, folder = f"run {model.id}'s record", model.path
    elif isinstance(model, Integral):
        shown, folder = f"{int(model)} (a run id)", None
    elif str(model) in bundled_model_names():  # the bundled model, even beside a run folder of its name
        return
    elif str(model).strip() and RunFolder(user_path(model)).is_finished:
        shown, folder = f"{str(model)!r} (a run folder)", user_path(model)
    else:
        return
    its_model = "" if folder is None else f" (its model: {folder / RunFolder.MODEL})"
    raise InputError.naming(*limits.parts(name), f": {shown} names a run, not a model{its_model}: ",
                            *limits.parts(remedy))


@arguments_checked()
def load(model: ModelArg = None) -> tuple[LoadedModel, ModelData]:
    """Load a model: the validated model file with its text, and its data (the arrays the MILP and
    the evaluator read). ``model``, here and wherever a function of fleetopt.api takes one: a model
    file's path; a bundled model's name, "neocloud" (the default), "tiny", "lab" or "twosite" (the
    files of models/); None, the default model; a :class:`LoadedModel` (:func:`edit` returns one);
    or the ``(LoadedModel, ModelData)`` pair this returns. A bad model file raises
    :class:`~fleetopt.schema.issues.ModelError` (an InputError) listing every problem, with its line."""
    return _load(_loadable(model))


@arguments_checked()
def schema() -> dict:
    """The JSON Schema of the model-file format, as `fleetopt schema` prints it (for an editor, or a
    validator of model files made by other tools).

    Returns a dict (the JSON Schema document).
    """
    return PlanningModel.model_json_schema()


@arguments_checked()
def edit(model: ModelArg, changes: Mapping[str | tuple, Any] | list[tuple]) -> LoadedModel:
    """A copy of ``model`` (as :func:`load` takes it) with ``changes`` made, validated as a model file
    is, for :func:`solve` and the others:
    ``fo.edit("tiny", {"contracts.lab-a-training.price_usd_per_gpu_hour": 3.0})``. A field is
    named by its path as `fleetopt validate` names it (a list's item by its position from 0:
    ``"fleet.0.gpus"``); a value is a number, text, true/false, a list (a 1-D NumPy array is the list
    it holds) or a mapping; None removes a field, so its default applies. A mapping set on a block
    changes only the fields it names (``{"risk": {"price_volatility_annual": 0.5}}`` keeps the
    other risk factors; a JSON merge patch); to replace a block whole, remove it (None) in one edit
    and set it in the next (an empty mapping, ``{"contracts": {}}``, changes nothing), or give
    ``changes`` as a list of (path, value) pairs, made in order (``[("risk", None), ("risk", {...})]``);
    a number set on a series written with steps or growth replaces it whole, with a
    :class:`FleetoptWarning` naming ``PATH.start``, which changes its starting level alone. The copy's
    text (a run's model.yaml) is written from the data, without the file's comments. A bad value or
    field raises :class:`~fleetopt.errors.InputError` naming it (its subclass
    :class:`~fleetopt.schema.issues.ModelError` for what the model file's validation finds).

    Returns a :class:`LoadedModel`, the edited copy (``.changes``: the changes made, in order), which
    every function that takes a model takes.
    """
    return edited_model(_load(_loadable(model))[0], changes)


def _loaded_and_data(model) -> tuple[LoadedModel | None, ModelData]:
    """The model and its data; the pair :func:`load` returns and a :class:`ModelData` alone
    (``load(...)[1]``, without a LoadedModel: only where the model file's text is not needed) are
    taken as they are."""
    if isinstance(model, ModelData):
        return None, model
    if _is_loaded_pair(model) and isinstance(model[1], ModelData):
        if model[0].model.name != model[1].name:  # a pair of two loads: the model solved is not its text's
            raise InputError(f"model: the pair's LoadedModel is {model[0].model.name!r} and its data "
                             f"{model[1].name!r}: give the pair one fleetopt.api.load returned")  # fmt: skip
        return model
    return load(model)


def _loaded_of(loaded, name: str) -> LoadedModel:
    """The LoadedModel a run is written with: one, or the pair :func:`load` returns; its model
    must be its text's (model.yaml)."""
    if _is_loaded_pair(loaded):
        loaded = loaded[0]
    if isinstance(loaded, LoadedModel):
        loaded.check_text()
        return loaded
    got = "None: a result solved from a ModelData keeps none" if loaded is None else type(loaded).__name__
    if isinstance(loaded, (str, Path)):  # write_solve_run(result, "runs/x"): the folder is out=
        got += f" {str(loaded)!r}: a folder to write the run to is out=, e.g. out={str(loaded)!r}"
    raise InputError(
        f"{name} must be the LoadedModel the result was made from, fleetopt.api.load(MODEL)[0] (or the "
        f"pair load returns), which holds the model file's text for the run folder (got {got})"
    )

"""Comparing plans (runs, or results in memory) and what-if changes to their model."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any

import pandas as pd

from fleetopt.api._evaluate import _warn_if_in_sample, _warn_if_other_model_version
from fleetopt.api._keywords import arguments_checked
from fleetopt.api._models import ModelArg, _loaded_and_data, edit, refuse_a_run_as_model
from fleetopt.api._runs import resolve_run
from fleetopt.api._solve import _solve_label
from fleetopt.compare.comparison import Comparison, ModelUsed
from fleetopt.compare.labels import DIFFERENCE_SEPARATOR, RESERVED_LABELS, unique_labels
from fleetopt.compare.run import compare_plans, compare_what_if
from fleetopt.compare.sources import (
    TWO_PLANS_NEEDED,
    CompareError,
    figures_not_back,
    plan_role_keys,
    plan_sources,
    plans_from_refs,
    policy_note,
    policy_notes,
    scenarios_of_runs,
    sweep_pick_pairs,
    sweep_roles,
)
from fleetopt.core.data import ModelData, capacity_steps
from fleetopt.core.plan import Plan, plan_axes
from fleetopt.errors import Argument, InputError, warn, warnings_held
from fleetopt.evaluate.backend import BACKENDS
from fleetopt.evaluate.batch import PlanFileError
from fleetopt.evaluate.planfile import load_plans, save_plans
from fleetopt.evaluate.sources import fitted_note, model_copy_of, version_note, with_run_changes
from fleetopt.milp.solve import SolveResult
from fleetopt.report.comparison import comparison_html as _comparison_html
from fleetopt.runs import limits
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.registry import (
    Registry,
    RunRecord,
)
from fleetopt.schema.edit import ChangeError, check_changes, sets_field
from fleetopt.schema.issues import ModelError
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.model_changes import change_words, edited_name
from fleetopt.stochastic.result import StochasticResult

# `fleetopt compare`'s options a notebook may reach for that are another thing's here
_FILES = ("its files are the comparison's: comparison.to_csv(path), .to_json(path), .to_markdown(path); "
          "its HTML page (`fleetopt compare --out c.html`), fleetopt.api.comparison_html(comparison)")
COMPARE_ELSEWHERE = {
    "out": _FILES,
    "format": _FILES,
    "plans": "the runs or plans compared are runs, the first argument: fleetopt.api.compare([RUN_A, RUN_B])",
}


@arguments_checked(COMPARE_ELSEWHERE)
def compare(
    runs: str | Path | int | SolveResult | Iterable[str | Path | int | SolveResult],
    model: ModelArg = None,
    *,
    scenarios: int | None = None,
    seed: int | None = None,
    backend: str = "auto",
    labels: Iterable[str] | None = None,
    what_if: Mapping[str | tuple, Any] | list[tuple] | None = None,
) -> Comparison:
    """Compare plans side by side on common scenarios (as `fleetopt compare`): NPV, risk, debt,
    power, fleet and purchases.

    ``runs``: run folders, run ids or plan files (one, or a list; a run given second, as ``model``,
    ``compare(run_a, run_b)``, is refused, saying so): a sweep gives its forecast
    optimum, its recommended plan and, where it names one, its plan of highest mean NPV within the
    rule (summary.json's ``best_mean_within_rule``), a solve its plan, a plan file all its plans.
    ``model``: as
    :func:`load` takes it; every plan is evaluated under it (None: the first run folder's model.yaml,
    a run's plan file given directly counting as its folder, so the figures depend on which run
    comes first; else the default model). Plans made from
    another version of it give a :class:`FleetoptWarning` naming their run and the blocks that
    differ, as :func:`evaluate` does. ``scenarios`` and ``seed``: the common futures; None: those
    of the first run given with figures of its own (an evaluation's, a sweep's, a stochastic
    solve's out-of-sample ones; so its own figures come back), else 1,000 and seed 0. A run whose
    own figures are of other scenarios than those used gives a :class:`FleetoptWarning`.
    ``backend``: see :func:`evaluate`. ``labels``: a name for each plan compared, in order (a
    sweep's folder counts two plans, or three where it names that plan; None: each run's name and
    its plan's label), unique and not empty.
    ``runs`` may instead be :class:`SolveResult` and :class:`StochasticResult` objects, as
    :func:`solve` and :func:`solve_stochastic` return them, compared without writing them first:
    under their model, or under ``model`` where they were solved from different models (what-if
    edits: :func:`edit`); 1,000 scenarios of seed 0 unless given (a stochastic result alone: its
    out-of-sample ones; a stochastic plan run on scenarios of the seed its solve drew from gives a
    :class:`FleetoptWarning`: in sample); named "milp", "milp, purchases fixed (FILE)" ..., a
    stochastic result's two plans "forecast" and "stochastic", unless ``labels``.

    ``what_if``: changes to the model, as :func:`edit` takes them (``{"risk.delivery_slip":
    {"probability": 1, "min_quarters": 2, "max_quarters": 2}}``): ``runs`` must then give one plan,
    compared with itself run under the model so changed, on the same scenarios, so each difference
    is what the change does to it, with a paired error (`fleetopt compare RUN --what-if PATH=VALUE`;
    docs/evaluation.md, "What if"); ``labels`` then names the two, default the plan's label and
    that label with ", what if".

    Returns a :class:`Comparison`: ``to_csv()``, ``to_json()``, ``to_markdown()``, its tables
    (money in USD, probabilities in [0, 1]) and ``model``, the model used."""
    given = _runs_given(runs)
    refuse_a_run_as_model(model, limits.MODEL, (
        "the runs to compare go in one list, fleetopt.api.compare([RUN_A, RUN_B]) (`fleetopt compare RUN_A "
        "RUN_B`); the ", limits.MODEL, " is the one every plan is evaluated under: a model file (a run's "
        "own is its model.yaml) or a bundled model's name"))  # fmt: skip
    _refuse_a_result_as_model(model)
    _check_compare_settings(what_if, scenarios, seed, backend)
    names = _checked_labels(labels)
    if any(isinstance(r, (SolveResult, StochasticResult)) for r in given):
        return _compare_results(given, model, scenarios, seed, backend, names, what_if)
    return _compare_runs([resolve_run(r, "runs") for r in given], model, scenarios, seed, backend, names,
                         what_if)  # fmt: skip


def _refuse_a_result_as_model(model) -> None:
    """A solve's result given where the model goes, ``fo.compare(result_a, result_b)``: refused as a
    plan, not a model (it was read as one result alone, "compare needs at least two plans")."""
    if isinstance(model, (SolveResult, StochasticResult)):
        raise InputError.naming(limits.MODEL, f" is a {type(model).__name__}, a plan, not a model: the plans "
                                "to compare go in one list, fleetopt.api.compare([result_a, result_b]); the ",
                                limits.MODEL, " is the one every plan is evaluated under (one result's own: "
                                "model=result.loaded)")  # fmt: skip


def _check_compare_settings(what_if, scenarios: int | None, seed: int | None, backend: str) -> None:
    """:func:`compare`'s ``what_if``, ``scenarios``, ``seed`` and ``backend``, checked before the plans
    are read (a bad one was refused only after the plans' warnings were given)."""
    if what_if is not None:
        check_changes(what_if, "what_if")
    if scenarios is not None:
        limits.scenarios("scenarios", scenarios)
    if seed is not None:
        limits.seed("seed", seed)
    limits.text("backend", backend, BACKENDS)


def _compare_results(given: list, model, scenarios, seed, backend: str, names, what_if) -> Comparison:
    """:func:`compare` of results in memory (every one of ``given``, else refused), on the
    out-of-sample futures of a stochastic result given alone unless ``scenarios`` or ``seed``."""
    solved = [r for r in given if isinstance(r, (SolveResult, StochasticResult))]
    for ref in given:  # what is neither (a SweepResult) refused as such, not as "both"
        if not isinstance(ref, (SolveResult, StochasticResult)):
            Registry.id_given(ref, "runs")
    if len(solved) != len(given):
        raise InputError("runs must be run folders, run ids or plan files, or solve results, "
                         "not both: write the solves first (write_solve_run, write_stochastic_run) "
                         "to compare them with runs")  # fmt: skip
    own = [r.out_of_sample for r in solved if isinstance(r, StochasticResult) and r.out_of_sample]
    if len(solved) == 1 and own:  # its out-of-sample futures, as for its run folder
        scenarios = own[0]["scenarios"] if scenarios is None else scenarios
        seed = own[0]["seed"] if seed is None else seed
    plans = _in_memory(solved)
    if what_if is not None:
        return _what_if_of_solved(plans, model, scenarios, seed, backend, names, what_if)
    if len(plans) < 2:  # as for one run folder: a comparison of one plan says nothing
        raise CompareError(f"{TWO_PLANS_NEEDED}: give two solve results (a stochastic solve's result "
                           "alone gives two: its plan and its forecast optimum)")  # fmt: skip
    return _compare_solved(plans, model, scenarios, seed, backend, names)


@arguments_checked()
def comparison_html(comparison: Comparison) -> str:
    """The self-contained HTML page of a comparison (what :func:`compare` returns), as `fleetopt
    compare --out c.html` writes it: ``Path("c.html").write_text(fo.comparison_html(c))``."""
    limits.instance("comparison", comparison, Comparison, "what fleetopt.api.compare returns")
    return _comparison_html(comparison)


def _runs_given(runs) -> list:
    """:func:`compare`'s ``runs`` as a list: one as a list of one (a run id from a table of
    fo.runs() is a numpy integer), a column of run ids (``fo.runs().runs_frame().id``, a selection of
    it) as its ids, refused where it is neither one nor a list, or names none."""
    if isinstance(runs, pd.Series) and pd.api.types.is_integer_dtype(runs):  # run ids: runs_frame()'s "id"
        return runs.tolist()
    # a table is one value, refused as a run is (Registry.id_given): iterated, it gave its columns as runs
    if isinstance(runs, (str, Path, Integral, RunRecord, SolveResult, StochasticResult, pd.DataFrame,
                         pd.Series)):  # fmt: skip
        return [runs]
    if not isinstance(runs, Iterable) or isinstance(runs, (bytes, dict)):
        raise InputError(
            f"runs must be a run folder, run id or plan file, or a list of them (got a {type(runs).__name__})"
        )
    given = list(runs)
    if not given:
        raise InputError("runs must name at least one run folder, run id or plan file")
    return given


def _compare_runs(refs: list[Path], model, scenarios, seed, backend: str, names, what_if=None) -> Comparison:
    """:func:`compare` of run folders and plan files (``refs``, resolved), the settings checked."""
    chosen, model_given, copy_used = "the model given", model, False
    if model is None:
        model, chosen = _model_of_comparison(refs)
        copy_used = model is not None
    loaded, data = _loaded_and_data(model)  # a pair load returned is used as it is
    if loaded is not None:  # a run's model.yaml: the model as that run changed it, which it says
        loaded = with_run_changes(loaded)
    sources = plan_sources(refs, data, chosen)
    plans, labels, buffers, runs = plans_from_refs(refs, data, sources, least=1 if what_if is not None else 2,
                                                   best_mean=what_if is None)  # fmt: skip
    if what_if is not None:
        _what_if_editable(loaded)
        with warnings_held():  # a what-if the plan cannot run under is refused before any warning
            versions = [_warn_if_other_model_version(loaded, source, f"the plans of {ref}")
                        for ref, source in dict(zip(refs, sources, strict=True)).items()]  # fmt: skip
            settings = _compare_settings(refs, scenarios, seed)
            if _gives_a_pick(refs):  # the pick (or stochastic plan), last: not the optimum, unless the same
                plans, labels, buffers, runs = plans[-1:], labels[-1:], buffers[-1:], runs[-1:]
            if len(plans) == 1:  # more are refused (_what_if_change): no warning before that
                _warn_if_in_sample(sources, settings[1], settings[0], plans)
            given = _WhatIfPlan(plans, labels, buffers[:1], runs[:1], tuple(v for v in versions if v))
            change = _what_if_change(loaded, given, what_if, names)
        return _what_if(loaded, data, given, change, (*settings, backend), _model_used(loaded, chosen))
    labels = _named(labels, names)
    used, versions, policies = None, [], []
    if loaded is not None:
        for ref, source in dict(zip(refs, sources, strict=True)).items():  # a run given twice: once
            versions.append(_warn_if_other_model_version(loaded, source, f"the plans of {ref}"))
        versions = [note for note in versions if note is not None]
        policies = policy_notes(loaded, refs, sources)  # a note, not a warning: as evaluate says none
        if (versions or policies) and model_given is None and copy_used:
            chosen += " (plans made from another version of it are evaluated under this one too)"
        used = _model_used(loaded, chosen)
    scenarios, seed = _compare_settings(refs, scenarios, seed)
    not_back = figures_not_back(refs, scenarios, seed)
    for sentence in not_back:
        warn(sentence)
    _warn_if_in_sample(sources, seed, scenarios, plans)
    roles = sweep_roles(refs, sources, labels, runs)
    picks = sweep_pick_pairs(refs, sources, labels, runs)
    return compare_plans(data, plans, labels, scenarios, seed, backend, buffers, used, versions, runs,
                         not_back, policies=policies, roles=roles, picks=picks,
                         role_keys=plan_role_keys(refs, sources, labels, runs))  # fmt: skip


def _compare_settings(refs: list[Path], scenarios: int | None, seed: int | None) -> tuple[int, int]:
    """The common futures: those given, else the first run's own (a sweep's, an evaluation's, a
    stochastic solve's: its figures come back), else 1,000 of seed 0."""
    own = scenarios_of_runs(refs)
    default_scenarios, default_seed = own if own is not None else (limits.DEFAULT_SCENARIOS, 0)
    scenarios = limits.scenarios("scenarios", default_scenarios if scenarios is None else scenarios)
    return scenarios, limits.seed("seed", default_seed if seed is None else seed)


@dataclass(frozen=True)
class _WhatIfPlan:
    """The plans a what-if was given (it compares one), their labels, and the first's cash buffer
    (None: the model's) and run folder or plan file; ``versions``: the notes of plans made from
    another version of the model (as a comparison's); ``objective``: what the first was solved for
    (None: read from its run folder)."""

    plans: list
    labels: list[str]
    buffers: list
    runs: list[str]
    versions: tuple[str, ...] = ()
    objective: str | None = None


def _what_if_editable(loaded: LoadedModel | None) -> None:
    """Refuse a what-if of a model given as ModelData alone: there is no model file to edit."""
    if loaded is None:
        raise InputError.naming(limits.WHAT_IF, " edits the model: give model= as a model file, a bundled "
                                "model's name or a LoadedModel, not ModelData alone")  # fmt: skip


def _pairs(what_if) -> list[tuple]:
    """A what-if's changes as (path, value) pairs, in order."""
    return list(what_if.items()) if isinstance(what_if, Mapping) else what_if


@dataclass(frozen=True)
class _WhatIfChange:
    """A what-if's change, made: the model so changed and its data, the changes it made and in
    words, and the two sides' labels."""

    changed: LoadedModel
    data: ModelData
    made: tuple
    words: str
    pair: list[str]


def _what_if_change(loaded, given: _WhatIfPlan, what_if, names) -> _WhatIfChange:
    """The model with ``what_if`` made, refused where there is not one plan, not two labels, or the
    plan cannot run under the change (its warnings, a contract past a shorter horizon's end, held
    until it is not: the refusal comes first, alone)."""
    if len(given.plans) != 1:
        raise CompareError.naming(
            limits.WHAT_IF, f" compares one plan with itself under the model changed: {len(given.plans)} "
            f"given ({', '.join(given.labels)}); give one run or plan file of one plan (a solve's folder "
            "gives its plan, a sweep's its pick, a stochastic solve's its stochastic plan; a plan file, "
            "every plan it holds)"
        )
    _what_if_editable(loaded)
    pair = [given.labels[0], f"{given.labels[0]}, what if"] if names is None else names
    if len(pair) != 2:
        raise InputError.naming(LABELS, f": {len(pair)} given for a what-if, which compares two: the plan "
                                "and the plan under the model changed")  # fmt: skip
    with warnings_held():
        try:
            changed = edit(loaded, what_if)
        except ModelError as exc:  # named as the change asked, not as the model it would have made
            raise ModelError.naming(limits.WHAT_IF, f" {change_words(_pairs(what_if))}",
                                    issues=exc.issues) from None
        except ChangeError as exc:  # a field that does not exist: named by its change, as a problem is
            asked = change_words([_pairs(what_if)[exc.position]])
            raise InputError.naming(limits.WHAT_IF, f" {asked}: ", *exc.message_parts()) from None
        made = changed.changes[len(loaded.changes):]
        change = _WhatIfChange(changed, _loaded_and_data(changed)[1], made, change_words(made), pair)
        _refuse_misfit(given, change)
    return change


def _what_if(loaded, data, given: _WhatIfPlan, change: _WhatIfChange, settings: tuple, used) -> Comparison:
    """:func:`compare`'s ``what_if``: the one plan given under the model and under it changed."""
    buffers = (given.buffers[0], _what_if_buffer(change.changed, change.made, given.buffers[0]))
    _warn_if_unchanged(loaded, change, buffers)
    scenarios, seed, backend = settings
    words = change.words
    changed_used = _model_used(change.changed, f"the first side's model with {words}")
    comparison = compare_what_if(data, change.data, given.plans[0], change.pair, words, scenarios, seed,
                                 backend, buffers, used, given.runs[0], given.versions, given.objective,
                                 changed_used)  # fmt: skip
    if change.changed.model != loaded.model and not comparison.differs():  # a change the model already has
        comparison.what_if_inert = (  # the page and the notes say it too, not the terminal's warning alone
            "every figure of the plan is the same under the model so changed: the change touches nothing "
            f"this plan does or risks ({_inert_because(change, given.plans[0])})")  # fmt: skip
        warn(limits.WHAT_IF, f" {words}: {comparison.what_if_inert}")
    return comparison


def _inert_because(change: _WhatIfChange, plan: Plan) -> str:
    """Why a what-if may change no figure of ``plan``: late power blocks where the plan builds none (a
    risk analyst set risk.power_delay.probability and was told of delivery slips) and the model so
    changed delays no site's contracted power (its contracted_probability, which the what-if may set,
    0, or no step to delay), else the commonest."""
    delay = change.changed.model.risk.power_delay
    no_steps = not capacity_steps(change.data).any()
    if delay is not None and delay.contracted_probability == 0:
        delay = None  # the contracted power is on time: nothing to say of its steps
    contracted_on_time = delay is None or no_steps
    if "risk.power_delay" in change.words and contracted_on_time and not plan.build_blocks.any():
        return ("risk.power_delay's probability delays only the expansion blocks a plan builds, and this "
                "plan builds none; risk.power_delay.contracted_probability delays the increases of the "
                "sites' power_capacity_mw" + (", and none rises here" if delay and no_steps else ""))
    return "a delivery slip, for one, delays only the SKUs not yet on sale when the horizon starts"


def _gives_a_pick(refs: list[Path]) -> bool:
    """Whether ``refs`` is one sweep's or stochastic solve's folder, which a comparison reads as its
    forecast optimum and then its pick (or stochastic plan): a what-if takes the pick alone."""
    return len(refs) == 1 and refs[0].is_dir() and RunFolder(refs[0]).kind in ("sweep", "stochastic")


def _refuse_misfit(given: _WhatIfPlan, change: _WhatIfChange) -> None:
    """Refuse a what-if the plan cannot run under: its arrays do not fit the changed model."""
    if problems := given.plans[0].shape_problems(change.data):
        raise CompareError.naming(
            limits.WHAT_IF, f" {change.words}: the plan {given.labels[0]!r} does not fit the model so "
            f"changed ({problems[0]}): a what-if may change what the plan runs under (prices, risks, "
            "finance, policy), not what its decisions are over (the horizon, the SKUs and when they are on "
            "sale, the sites, the contracts); solve the changed model (fleetopt solve --set PATH=VALUE) and "
            "compare the two runs"
        )


def _warn_if_unchanged(loaded: LoadedModel, change: _WhatIfChange, buffers: tuple) -> None:
    """Warn of a what-if that leaves the model and the plan's cash buffer (``buffers``: on each side,
    USD; None: the model's) as they were (every difference would be 0)."""
    own = loaded.model.policy.liquidity_buffer_usd
    if change.changed.model == loaded.model and len({own if b is None else b for b in buffers}) == 1:
        warn(limits.WHAT_IF, f" {change.words}: the model already has that, so the what-if is the plan "
             "under the same model again and every difference is 0: give a value other than the model's")


def _what_if_buffer(changed: LoadedModel, made: tuple, buffer: float | None) -> float | None:
    """The cash buffer the plan runs with under the changed model: the changed model's where the
    what-if's changes (``made``) set ``policy.liquidity_buffer_usd`` (what it asks, the model's own
    value too: a sweep's plan may have another), else the plan's own (a plan keeps the buffer it was
    made with)."""
    asked = sets_field(made, ("policy", "liquidity_buffer_usd"))
    return changed.model.policy.liquidity_buffer_usd if asked else buffer


def _what_if_of_solved(results: list, model, scenarios, seed, backend, names, what_if) -> Comparison:
    """:func:`compare`'s ``what_if`` of a solve result in memory, under its own model or ``model``."""
    if model is None:
        loaded, data = results[0].loaded, results[0].data
    else:
        loaded, data = _loaded_and_data(model)
    labels = [r.label for r in results]
    plans = [r.plan if model is None else _plan_under(r, data, r.label) for r in results]
    buffers = [None if r.loaded is None else r.loaded.model.policy.liquidity_buffer_usd for r in results]
    settings = (*_compare_settings([], scenarios, seed), backend)
    used = _model_used(loaded, "the solve's own model" if model is None else "the model given")
    given = _WhatIfPlan(plans, labels, buffers[:1], ["(in memory: not written)"],
                        objective=results[0].objective if results else None)  # fmt: skip
    return _what_if(loaded, data, given, _what_if_change(loaded, given, what_if, names), settings, used)


def _model_used(loaded: LoadedModel | None, why: str) -> ModelUsed | None:
    """The model a comparison evaluates under, as its output names it (None: given as ModelData)."""
    if loaded is None:
        return None
    return ModelUsed(loaded.model.name, loaded.content_hash, loaded.model_source, why, loaded.changes or (),
                     loaded.source_changes)


@dataclass(frozen=True)
class _SolvedPlan:
    """A plan compared in memory: its label, and the data and model it was solved from."""

    label: str
    plan: Plan
    data: ModelData
    loaded: LoadedModel | None
    objective: str = "npv"  # what it was solved for: npv, or cost (a lab's plan)
    fitted_to: dict | None = None  # a stochastic plan: its solve's settings (the scenarios it was fitted to)


def _in_memory(results: list) -> list[_SolvedPlan]:
    """The plans of solve results: a solve's plan; a stochastic solve's forecast optimum, then its
    stochastic plan (the differences as the solve prints them, as for its run folder)."""
    out = []
    for r in results:
        if isinstance(r, StochasticResult):
            out += [_SolvedPlan("forecast", r.forecast_plan, r.data, r.loaded),
                    _SolvedPlan("stochastic", r.plan, r.data, r.loaded, fitted_to=r.settings)]  # fmt: skip
        else:
            out.append(_SolvedPlan(_solve_label(r), r.plan, r.data, r.loaded, r.objective_kind))
    return out


def _compare_solved(results: list[_SolvedPlan], model, scenarios, seed, backend, names) -> Comparison:
    """:func:`compare` of solve results in memory: their plans under their own model, or under
    ``model`` (what-if solves of edited models compared under one of them)."""
    labels = _named(unique_labels([r.label for r in results]), names)
    versions: list[str] = []
    policies: list[str] = []
    models = sorted({r.data.name for r in results})
    if len(models) > 1:  # no model reads both: model= would refuse the plans of the other name
        raise InputError(f"the solve results compared are of models of two names ({', '.join(models)}): "
                         "every plan is evaluated under one model, which reads only the plans made for "
                         "a version of it; compare plans of one model (its versions: fleetopt.api.edit)")
    if model is None:
        if len({r.data.fingerprint for r in results}) > 1:
            raise InputError(f"the solve results compared were solved from different versions of model "
                             f"{models[0]!r} ({_versions_words(results, labels)}): give model=, the version "
                             "every plan is evaluated under (one result's own: model=result.loaded; or "
                             "fleetopt.api.edit(...))")  # fmt: skip
        loaded, data = results[0].loaded, results[0].data
        plans = [r.plan for r in results]
        why = "the solves' own model"
    else:
        loaded, data = _loaded_and_data(model)
        plans = [_plan_under(r, data, label) for r, label in zip(results, labels, strict=True)]
        notes = [_other_version_of_solve(loaded, r, label) for r, label in zip(results, labels, strict=True)]
        versions = [note for note in notes if note is not None]
        # each solve's plan keeps its own cash buffer (below): its other policy fields are this model's
        whose = [f"the plans of the solve {label!r}" for label in labels]
        notes = [None if loaded is None else policy_note(r.loaded, loaded, who, own_buffer=True)
                 for r, who in zip(results, whose, strict=True)]  # fmt: skip
        policies = [note for note in notes if note is not None]
        why = "the model given"
    # each plan keeps its own model's cash buffer, as the plan file of its run would
    buffers = [None if r.loaded is None else r.loaded.model.policy.liquidity_buffer_usd for r in results]
    used = _model_used(loaded, why)
    n, s = _compare_settings([], scenarios, seed)  # no run folder: 1,000 of seed 0 unless given
    _warn_if_fitted(results, s, n)
    runs = ["(in memory: not written)"] * len(results)
    objectives = [r.objective for r in results]
    return compare_plans(data, plans, labels, n, s, backend, buffers, used, versions, runs, [], objectives,
                         policies)  # fmt: skip


def _versions_words(results: list[_SolvedPlan], labels: list[str]) -> str:
    """Each solve result's model in words, by its label: "'milp': tiny, hash eb8705aa60914004;
    'mine': tiny (edited: sites.texas.power_capacity_mw), hash 359c9cd1775bc2c0"."""
    words = []
    for r, label in zip(results, labels, strict=True):
        if r.loaded is None:  # solved from a ModelData: no file, no changes known
            words.append(f"{label!r}: a ModelData, fingerprint {r.data.fingerprint[:16]}")
            continue
        shown = edited_name(r.loaded.model.name, r.loaded.changes, r.loaded.source_changes)
        words.append(f"{label!r}: {shown}, hash {r.loaded.content_hash}")
    return "; ".join(words)


def _warn_if_fitted(results: list[_SolvedPlan], seed: int, scenarios: int) -> None:
    """A stochastic result's plan compared on scenarios it was fitted to is warned of, as the plans of
    its run folder are (:func:`~fleetopt.evaluate.sources.fitted_note`)."""
    for fitted in (r.fitted_to for r in results if r.fitted_to is not None):
        note = fitted_note("the StochasticResult in memory", fitted, seed, scenarios)
        if note is not None:
            warn(*note)


def _plan_under(result: _SolvedPlan, data, label: str) -> Plan:
    """``result``'s plan as ``data``'s model reads it: as a plan file of it would be read (its items
    matched by name, every shape checked), or refused naming the plan."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.npz"
        name = result.loaded.model.name if result.loaded is not None else data.name
        digest = result.loaded.content_hash if result.loaded is not None else ""
        save_plans(path, [result.plan], [label], name, digest, axes=plan_axes(result.data))
        try:
            plans, _, _ = load_plans(path, data)
        except PlanFileError as exc:
            why = str(exc).replace(f"{path}: ", "")
            raise InputError(f"the plan {label!r} does not fit the model given: {why}") from None
    return plans[0]


def _other_version_of_solve(loaded: LoadedModel | None, result: _SolvedPlan, label: str) -> str | None:
    """The sentence of :func:`~fleetopt.evaluate.sources.version_note`, given as a
    :class:`FleetoptWarning` too, where ``result`` was solved from another version of the model its
    plan is evaluated under (as for the plan file of its run: blocks a solve's plan does not depend
    on say nothing, its own cash buffer is said)."""
    if loaded is None or result.loaded is None:
        return None
    buffer = [result.loaded.model.policy.liquidity_buffer_usd]
    whose = f"the plans of the solve {label!r}"
    note = version_note(result.loaded.content_hash, result.loaded, "solve", buffer, loaded, whose)
    if note is not None:
        warn(note)
    return note


def _named(labels: list[str], names: list[str] | None) -> list[str]:
    """The plans' ``labels``, or the ``names`` given for them (one each, in order)."""
    if names is None:
        return labels
    if len(names) != len(labels):
        raise InputError.naming(LABELS, f": {len(names)} given for {len(labels)} plans to compare "
                                f"({', '.join(labels)}): give one for each, in that order")  # fmt: skip
    return names


LABELS = Argument("labels", "--label")  # the plans' names, as the API and the CLI call them


def _checked_labels(labels) -> list[str] | None:
    """The plans' names given to :func:`compare`: strings, none empty, none repeated."""
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
        raise InputError(f"labels must be a list of names, one per plan (got {type(labels).__name__})")
    names = [limits.text(LABELS, label) for label in labels]
    if any(not name.strip() for name in names):
        raise InputError.naming(LABELS, " must not be empty")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError.naming(LABELS, f" must be unique: {', '.join(repeated)} given more than once")
    for name in names:
        limits.one_line(LABELS, name)
    for name in names:  # a column of the figures table, or a difference's header ('b − a')
        if name in RESERVED_LABELS or DIFFERENCE_SEPARATOR in name:
            raise InputError.naming(LABELS, f": {name!r} names a column of the comparison's figures table "
                                    f"({', '.join(RESERVED_LABELS)}, or 'B{DIFFERENCE_SEPARATOR}A' for a "
                                    "difference): give the plan another name")  # fmt: skip
    return names


def _model_of_comparison(refs: list[Path]) -> tuple[Path | None, str]:
    """The model a comparison given none uses, and why: the first run folder's copy of its model,
    else the default model."""
    for ref in refs:
        if (copy := model_copy_of(ref)) is not None:  # a run's plan file given directly too
            return copy, "the first run folder's copy, as no model was given"
    return None, "the default model, as no model was given and no run folder holds a copy of one"

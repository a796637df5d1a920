"""The plans a comparison reads and the scenarios it runs them on: run folders and plan files, a sweep's
plans and their roles (the pick, the forecast optimum), each run's own scenarios and policy."""

from __future__ import annotations

from pathlib import Path

from fleetopt.compare.labels import unique_labels
from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.core.units import listed, quoted
from fleetopt.errors import Argument, InputError, warn
from fleetopt.evaluate.batch import PlanFileError
from fleetopt.evaluate.planfile import plan_file_model_name
from fleetopt.evaluate.sources import (
    PlanSource,
    fields_changed_words,
    model_made_from,
    plan_file_of,
    read_plans,
    refuse_other_files,
    resume_advice,
    run_folder_of,
)
from fleetopt.runs import limits
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.summary_schema import BEST_MEAN_KEY
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.model import fields_changed
from fleetopt.stochastic.result import PLAN_LABELS

# a comparison of one plan is refused, whatever it is given as (runs, plan files, solve results)
TWO_PLANS_NEEDED = "compare needs at least two plans"


class CompareError(InputError):
    """Plans that cannot be compared (fewer than two, or of different models)."""


def own_scenarios(ref: Path) -> tuple[int, int] | None:
    """(scenarios, seed) a run's own figures were evaluated on: a sweep's (an unfinished one's, those
    it evaluates on), a finished evaluation's (not on the forecast alone), a stochastic solve's
    out-of-sample ones; None for a run with none (a solve, a plan file, a stochastic solve that
    skipped them)."""
    ref = run_folder_of(ref)  # a run's plan file: its run's
    run = RunFolder(ref)
    if not ref.is_dir() or not (run.is_finished or run.is_job):
        return None
    finished = run.is_finished
    summary = run.summary() if finished else run.job()
    path = run / (RunFolder.SUMMARY if finished else RunFolder.JOB)
    evaluated = finished and summary.get("kind") == "evaluate" and not summary.get("deterministic")
    if summary.get("kind") == "sweep" or evaluated:
        return (
            limits.job_setting(summary, path, "n_scenarios", limits.scenarios),
            limits.job_setting(summary, path, "seed", limits.seed),
        )
    oos = summary.get("out_of_sample")
    if run.kind == "stochastic" and isinstance(oos, dict) and oos:  # {}: skipped
        return (
            limits.job_setting(oos, path, "scenarios", limits.scenarios),
            limits.job_setting(oos, path, "seed", limits.seed),
        )
    return None


def scenarios_of_runs(refs: list[Path]) -> tuple[int, int] | None:
    """(scenarios, seed) of the first run among ``refs`` with figures of its own (an evaluation, a
    sweep, a stochastic solve's out-of-sample ones): a comparison of its plans defaults to them, so its
    own figures come back. None when no such run is given."""
    return next((own for ref in refs if (own := own_scenarios(ref)) is not None), None)


def figures_not_back(refs: list[Path], scenarios: int, seed: int) -> list[str]:
    """A sentence for each run among ``refs`` whose own figures were evaluated on other scenarios
    than (``scenarios``, ``seed``): the comparison's figures of its plans are not those."""
    out = []
    for ref in dict.fromkeys(refs):
        own = own_scenarios(ref)
        if own is not None and own != (scenarios, seed):
            out.append(f"{ref}'s own figures are of {own[0]:,} scenarios (seed {own[1]}); this "
                       f"comparison uses {scenarios:,} (seed {seed}): its plans' figures here are not "
                       "those")  # fmt: skip
    return out


def plan_sources(refs: list[Path], data: ModelData, chosen: str = "") -> list[PlanSource]:
    """The plan file of each run folder or plan file, read against ``data`` (``chosen``: why that
    model, for the message refusing a plan file of another model)."""
    for ref in refs:
        _check_plan_file(ref, data, chosen)
    try:
        return [read_plans(ref, data) for ref in refs]
    except PlanFileError as exc:
        raise CompareError.naming(*exc.message_parts()) from None  # its arguments named still


def _check_plan_file(ref: Path, data: ModelData, chosen: str) -> None:
    """Refuse, saying what it is, a file given that is not a plan file (a run's plan.csv) or is the
    plan file of a model of another name, which no --model can read beside this one."""
    try:
        refuse_other_files(ref)
    except PlanFileError as exc:
        raise CompareError.naming(*exc.message_parts()) from None  # its arguments named still
    try:
        file = plan_file_of(ref)
    except PlanFileError:
        return  # read_plans says why
    name = plan_file_model_name(file) if file.is_file() else None
    if name is not None and name != data.name:
        why = f" ({chosen})" if chosen else ""
        raise CompareError.naming(
            f"{file}: its plans are for model {name!r}, but every plan of a comparison is evaluated under "
            f"one model, here {data.name!r}{why}, and a plan file is read only under a model of the name "
            f"it was made for: plans of models of two names cannot be compared. ",
            Argument("The model", "--model"), f" may be a version of {name!r} (its plans are then read under "
            "it, with a note of the blocks that differ), not another model"
        )


# the policy field a plan keeps with it where its file records it (the version note says so)
POLICY_BUFFER = "policy.liquidity_buffer_usd"


def policy_note(
    made_from: LoadedModel | None, loaded: LoadedModel, whose: str, own_buffer: bool
) -> str | None:
    """The sentence saying that ``whose`` plans (in words) were made under a model (``made_from``;
    None: not known) whose ``policy`` block differs from ``loaded``'s, naming the fields that do, and
    that they run with ``loaded``'s policy here, as every plan compared does (docs/evaluation.md,
    "Plan files": a model's policy rules apply to every plan it evaluates); the cash buffer left out
    where the plans keep their own (``own_buffer``: the version note says so). None where the
    policies are the same."""
    if made_from is None:
        return None
    kept = {POLICY_BUFFER} if own_buffer else set()
    changes = [change for change in fields_changed(made_from.model, loaded.model)
               if change[0].startswith("policy.") and change[0] not in kept]  # fmt: skip
    if not changes:
        return None
    return (f"{whose} were made under another policy ({fields_changed_words(changes)}): every plan "
            f"compared runs with the policy of model {loaded.model.name!r} (hash {loaded.content_hash}), "
            "the model it is evaluated under")  # fmt: skip


def policy_notes(loaded: LoadedModel, refs: list[Path], sources: list[PlanSource]) -> list[str]:
    """:func:`policy_note` of each run folder or plan file compared (``refs``, read as ``sources``;
    one given twice, once) whose plans were made from another version of ``loaded`` that their run
    folder keeps."""
    notes = []
    for ref, source in dict(zip(refs, sources, strict=True)).items():
        if source.model_hash and source.model_hash != loaded.content_hash:
            own = any(buffer is not None for buffer in source.reader.buffers or [])
            made_from = model_made_from(source.model_hash, source.path)
            notes.append(policy_note(made_from, loaded, f"the plans of {ref}", own))
    return [note for note in notes if note is not None]


def plans_from_refs(
    refs: list[Path],
    data: ModelData,
    sources: list[PlanSource] | None = None,
    least: int = 2,
    best_mean: bool = True,
) -> tuple[list[Plan], list[str], list, list[str]]:
    """Plans named by run folders or plan files: a sweep folder gives its forecast optimum and its
    recommended plan, in that order (the differences read as the sweep's 'why': the pick less the
    optimum), then its plan of highest mean NPV no worse than the forecast optimum where it names one and
    ``best_mean`` (a what-if takes the pick alone), a stochastic solve's folder its forecast optimum
    and its stochastic plan (the differences as the solve prints them), a solve folder its plan, a
    plan file all its plans; with each plan's policy liquidity buffer from its file (None: the
    model's) and the run folder or plan file it came from (as given, a run id as its folder).
    ``sources``: :func:`plan_sources` of ``refs``, when already read."""
    plans: list[Plan] = []
    labels: list[str] = []
    buffers: list = []
    runs: list[str] = []
    for ref, source in zip(refs, sources or plan_sources(refs, data), strict=True):
        chosen = range(len(source.plans))
        run = RunFolder(ref)
        name = run_folder_of(ref).name  # a run's plan file by its run folder: "plan.npz" names no run
        if ref.is_dir() and run.kind == "sweep":
            picks = sweep_plans(run, source.labels, source.path.name, best_mean)  # the optimum first
            chosen = [source.labels.index(pick) for pick in picks]
        elif ref.is_dir() and run.kind == "stochastic" and source.labels == list(PLAN_LABELS):
            chosen = [1, 0]  # the forecast optimum first: stochastic less forecast, as the solve says
        elif ref.is_dir() and run.interrupted_kind() == "sweep":  # no pick yet: said, not silent
            warn(f"{ref} is an unfinished sweep (no recommendation yet): every candidate it made is "
                 "compared; ", resume_advice("sweep", ref), " finishes it")  # fmt: skip
        for i in chosen:
            plans.append(source.plans[i])
            buffers.append(None if source.reader.buffers is None else source.reader.buffers[i])
            runs.append(str(ref))
            labels.append(
                f"{name}: {source.labels[i]}" if len(refs) > 1 or len(chosen) == 1 else source.labels[i]
            )
    if len(plans) < least:  # one is enough for a what-if (compare_what_if)
        alone = len(refs) == 1 and refs[0].is_dir() and RunFolder(refs[0]).kind == "sweep"
        if alone:  # every candidate, as a notebook calls it and as the command line types it
            every = Argument(f"fleetopt.api.compare({str(source.path)!r})", f"fleetopt compare {source.path}")
            raise CompareError.naming(
                f"{refs[0]}: the sweep recommended its forecast optimum, its only plan to compare: give "
                "another run folder or plan file beside it, or compare every candidate it evaluated: ", every
            )
        raise CompareError(
            f"{TWO_PLANS_NEEDED} (give two run folders or plan files; a sweep's or a stochastic solve's "
            "folder alone gives two: its pick, or its stochastic plan, and its forecast optimum)"
        )
    return plans, unique_labels(labels), buffers, runs


# the plans a sweep's folder gives a comparison, in order, by its summary.json's field naming each,
# and what each is to the sweep
SWEEP_ROLES = {
    "forecast_optimum": "its forecast optimum",
    "recommended": "its recommendation",
    BEST_MEAN_KEY: "its plan of highest mean NPV no worse than the forecast optimum",
}


def role_notes(roles: dict[str, list[str]]) -> dict[str, str]:
    """What each plan with a role is to its run, by label, for a chart's legend ("recommendation",
    "forecast optimum", "plan of highest mean NPV no worse than the forecast optimum"); ``roles``: a
    plan's keys of :data:`SWEEP_ROLES`, by label."""
    return {label: " and ".join(SWEEP_ROLES[key].removeprefix("its ") for key in keys)
            for label, keys in roles.items()}  # fmt: skip


def sweep_plans(run: RunFolder, labels: list[str], listed_in: str, best_mean: bool = True) -> dict:
    """The plans a finished sweep's folder gives a comparison, in the order of :data:`SWEEP_ROLES`,
    each with what it is to the sweep (label: its keys of :data:`SWEEP_ROLES`): its forecast optimum,
    its recommendation (the same plan where it recommended the optimum) and, where it names one and
    ``best_mean``, its plan of highest mean NPV no worse than the forecast optimum; each refused by its
    field unless one of ``labels``, the candidates of the run's file ``listed_in``."""
    run.sweep_picks(labels, listed_in)
    best = run.sweep_best_mean(labels, listed_in) if best_mean else None
    named, roles = {**run.summary(), BEST_MEAN_KEY: best}, {}
    for key in SWEEP_ROLES:
        if named[key] is not None:
            roles.setdefault(named[key], []).append(key)
    return roles


def _sweeps_given(refs: list[Path], sources: list[PlanSource], labels: list[str], runs: list[str]):
    """For each sweep folder of ``refs`` (its plans read as ``sources``): the folder and what each plan
    it gave is to the sweep (:func:`sweep_plans`), by the label it is compared under (label: keys);
    ``labels`` and ``runs``: each plan's and its run folder, as :func:`plans_from_refs` gives them."""
    for ref, source in dict(zip(refs, sources, strict=True)).items():
        if not (ref.is_dir() and RunFolder(ref).kind == "sweep"):
            continue
        roles = sweep_plans(RunFolder(ref), source.labels, source.path.name)
        given = [label for label, run in zip(labels, runs, strict=True) if run == str(ref)][:len(roles)]
        yield ref, dict(zip(given, roles.values(), strict=True))


def sweep_roles(refs: list[Path], sources: list[PlanSource], labels: list[str], runs: list[str]) -> list[str]:
    """For each sweep folder of ``refs``, what each plan it gave is to the sweep (:func:`_sweeps_given`)
    in a sentence ('From the sweep runs/sweep: “milp: forecast” is its forecast optimum, “B” its
    recommendation and “C” its plan of highest mean NPV no worse than the forecast optimum.')."""
    out = []
    for ref, roles in _sweeps_given(refs, sources, labels, runs):
        said = [f"{quoted(label)} {'' if n else 'is '}{' and '.join(SWEEP_ROLES[key] for key in keys)}"
                for n, (label, keys) in enumerate(roles.items())]  # fmt: skip
        out.append(f"From the sweep {ref}: {listed(said)}.")
    return out


def sweep_pick_pairs(refs: list[Path], sources: list[PlanSource], labels: list[str],
                     runs: list[str]) -> list[tuple[str, str]]:  # fmt: skip
    """(its pick, its plan of highest mean NPV no worse than the forecast optimum) of each sweep folder
    of ``refs`` that names that plan (:func:`_sweeps_given`), by the labels compared, where the pick is
    not the first plan: against the first, the figures' columns give it already."""
    out = []
    for _, roles in _sweeps_given(refs, sources, labels, runs):
        by_role = {key: label for label, keys in roles.items() for key in keys}
        pick, best = by_role["recommended"], by_role.get(BEST_MEAN_KEY)
        if best is not None and pick != labels[0]:
            out.append((pick, best))
    return out


def plan_role_keys(refs: list[Path], sources: list[PlanSource], labels: list[str],
                   runs: list[str]) -> dict[str, list[str]]:  # fmt: skip
    """What each plan a sweep's or stochastic solve's folder of ``refs`` gave is to its run, by the
    label compared (label: its keys of :data:`SWEEP_ROLES`): a sweep's by :func:`_sweeps_given`, a
    stochastic solve's forecast optimum (given first, :func:`plans_from_refs`) its "forecast_optimum".
    The page draws each in its role's colour, as the run's report does."""
    given = _sweeps_given(refs, sources, labels, runs)
    out = {label: keys for _, roles in given for label, keys in roles.items()}
    for ref, source in dict(zip(refs, sources, strict=True)).items():
        if ref.is_dir() and RunFolder(ref).kind == "stochastic" and source.labels == list(PLAN_LABELS):
            optimum = next(label for label, run in zip(labels, runs, strict=True) if run == str(ref))
            out[optimum] = ["forecast_optimum"]
    return out

"""Evaluating plans under seeded risk scenarios: prepare, resume, summarise and write the run."""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable, Collection
from functools import partial
from pathlib import Path
from typing import NamedTuple

from fleetopt.api._keywords import arguments_checked
from fleetopt.api._models import ModelArg, _loadable, _loaded_of, refuse_a_run_as_model
from fleetopt.api._runs import _recorded, resolve_run, saved_work
from fleetopt.api._solve import plan_file_bytes
from fleetopt.core.data import model_fingerprint
from fleetopt.core.units import counted, listed
from fleetopt.errors import Argument, InputError, warn
from fleetopt.evaluate import resources
from fleetopt.evaluate.batch import PlanFileError
from fleetopt.evaluate.jobfolder import (
    RAY_ADDRESS,
    EvaluationJob,
    refuse_threads_with_workers,
    refuse_workers_with_ray,
)
from fleetopt.evaluate.jobfolder import evaluation_summary as _evaluation_summary
from fleetopt.evaluate.jobfolder import model_of_plans as _model_of_plans
from fleetopt.evaluate.jobfolder import prepare_evaluation as _prepare_evaluation
from fleetopt.evaluate.jobfolder import resume_evaluation as _resume_evaluation
from fleetopt.evaluate.jobfolder import write_evaluate_run as _write_evaluate_folder
from fleetopt.evaluate.metrics import LEAD_ERROR_KEYS, lead_error_key
from fleetopt.evaluate.result import EvaluationResult
from fleetopt.evaluate.sources import (
    PlanSource,
    fitted_note,
    kept_in_memory,
    other_version_note,
    resume_advice,
    version_note,
)
from fleetopt.milp.solve import SolveResult
from fleetopt.runs import limits
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.key_figures import RANKING_FIGURES
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.model_changes import typed_path
from fleetopt.stochastic.result import STOCHASTIC_PLAN, StochasticResult
from fleetopt.sweep.run import stochastic_candidates_note


class Evaluated(NamedTuple):
    """What :func:`evaluate` returns: ``result, model, plans = fo.evaluate(...)`` as before, and
    ``fo.write_evaluate_run(*evaluated)``; a notebook cell ending with ``fo.evaluate(...)`` shows the
    result's table, as it shows the result's (it showed the three reprs of a tuple). The result's
    attributes are read from it too: ``ev.metrics``, ``ev.ranked()`` are ``ev.result``'s."""

    result: EvaluationResult  # the figures: .metrics, .ranked()
    model: LoadedModel  # the model it was evaluated under
    plans: PlanSource  # the plans evaluated

    def __getattr__(self, name: str):
        """The result's public attribute ``name`` (``fo.evaluate(...).metrics`` raised a bare
        AttributeError, the table shown above it saying ``.metrics`` holds every figure); a name
        beginning with ``_`` is Python's or a notebook's probe, never the result's."""
        if not name.startswith("_") and hasattr(self.result, name):
            return getattr(self.result, name)
        raise AttributeError(f"'Evaluated' object has no attribute {name!r}, nor has its result, an "
                             "EvaluationResult (.metrics, .ranked(), .first_place_error(), .npv_matrix ...)")

    def _repr_html_(self) -> str:  # a notebook's cell: the result's table, not a tuple's reprs
        return self.result._repr_html_()

    def _repr_markdown_(self) -> str:  # where a notebook shows Markdown
        return self.result._repr_markdown_()


# the settings an evaluation's refusals name, as the API and the command line call them
_DETERMINISTIC = Argument("deterministic=True", "--deterministic")
_ON_SCENARIOS = Argument("scenarios=N", "--scenarios N")  # an evaluation on scenarios, advised
_MAX_MEMORY = Argument("max_memory", "--max-memory")


@arguments_checked()
def evaluate(
    plans: str | Path | int | SolveResult | StochasticResult,
    model: ModelArg = None,
    *,
    scenarios: int | None = None,
    seed: int = 0,
    backend: str = "auto",
    max_memory: int | str | None = None,
    deterministic: bool = False,
    keep_matrix: bool = False,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    labels: list[str] | None = None,
) -> Evaluated:
    """Evaluate the plans of a run (folder or run id) or plan file on seeded scenarios of the model,
    in memory (:func:`write_evaluate_run` writes the result as a run).

    ``plans`` may instead be a :class:`SolveResult` or :class:`StochasticResult` (what :func:`solve`
    and :func:`solve_stochastic` return), evaluated without writing it first, as the plan file its
    run would write is (a stochastic result's stochastic plan, then its forecast optimum), with the
    same checks and figures: under the model it was solved from unless ``model`` is given (another
    version of it: its plans must fit it, and a version note is warned of as for a run's). Its
    run written (:func:`write_evaluate_run`) records its plans as in memory, not a file
    (summary.json's ``plans_in_memory``), so its report leaves out the plans' own sections.

    ``model``: as :func:`load` takes it; None: a run folder's copy of its model, or the bundled model a
    plan file names (see :func:`model_of_plans`), else the default model.
    ``scenarios``: simulated futures, the same for every plan (None: 1,000); refused with
    ``deterministic=True``, which evaluates the forecast itself (one scenario). ``seed``: the
    scenario seed, in [0, 2**63 - 1]. ``backend``: "auto" (CuPy on a CUDA GPU, except for a run NumPy
    finishes before CuPy has started, :func:`~fleetopt.evaluate.backend_choice.numpy_seconds`; else
    the C build of the kernel from :data:`~fleetopt.evaluate.backend_choice.AUTO_C_BUILD_PAIR_QUARTERS`
    plan-scenario-quarters on, where a C compiler builds it; else NumPy), "numpy", "cupy" or
    "cpu-kernel". ``max_memory``: the simulation's working-memory budget, in bytes or a
    size as --max-memory takes it ("2GB", "1.5GiB"; None: half the free GPU memory or RAM); more
    than the physical memory it runs in is capped to it, with a :class:`FleetoptWarning`.
    ``keep_matrix``: also keep the plans x scenarios NPV matrix (USD, ``result.npv_matrix``, 8 bytes
    per pair). ``threads``: NumPy threads (default: one per
    usable core; more are capped to them). ``progress``: called as ``progress(pairs, total)`` after
    each block of the run: ``pairs`` (plan, scenario) pairs just finished, of ``total`` (plans x
    scenarios) in all. ``labels``: a name for each plan of a result in memory, in order (a
    StochasticResult's two: its stochastic plan, then its forecast optimum; None: "milp", or a
    stochastic result's "stochastic" and "forecast"), as the metrics, the ranking and a run written
    name them; one too many or too few, or one repeated, is refused by name. A run's or plan file's
    plans keep their file's labels (the report finds each plan by it): refused for them.

    Returns ``(EvaluationResult, LoadedModel, PlanSource)``, an :class:`Evaluated` (``.result``,
    ``.model``, ``.plans``; a notebook shows the result): the result (``result.metrics``: one
    row per plan, mean, P5 and CVaR5 NPV in USD, breach and default probabilities in [0, 1]), the model
    it was evaluated with and the plans. Plans made from another version of the model give a
    :class:`FleetoptWarning`.
    """
    limits.callback("progress", progress)
    refuse_a_run_as_model(model, "model", "evaluate takes the plans of one run; those of several "
                          "are evaluated on the same scenarios by fleetopt.api.compare([RUN_A, RUN_B])")
    settings = {"scenarios": scenarios, "seed": seed, "backend": backend, "max_memory": max_memory,
                "deterministic": deterministic, "keep_matrix": keep_matrix, "threads": threads}  # fmt: skip
    if isinstance(plans, (SolveResult, StochasticResult)):
        job = _prepared_in_memory(plans, model, settings)
        if labels is not None:
            _labelled(job, labels)
    elif labels is not None:
        raise InputError("labels names the plans of a result in memory (a SolveResult or a "
                         "StochasticResult); a run's or plan file's plans keep their file's labels, by which "
                         "its report finds each: leave labels out")  # fmt: skip
    else:
        job = prepare_evaluation(plans, model, **settings)
    return Evaluated(job.run(progress=progress), job.loaded, job.source)


def _labelled(job: EvaluationJob, labels) -> None:
    """``job``'s plans in memory named by ``labels`` (:func:`evaluate`'s): a list of one line of text
    for each plan, in order, none repeated; else InputError naming labels and the plans' own."""
    own = job.source.labels
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Collection):
        raise InputError(f"labels must be a list of names, one per plan ({listed(own)}), not a "
                         f"{type(labels).__name__}")  # fmt: skip
    names = [limits.one_line("labels", limits.text("labels", label)) for label in labels]
    if len(names) != len(own):
        raise InputError(f"labels: {len(names)} given for {counted(len(own), 'plan')} ({listed(own)}): give "
                         "one for each, in that order")  # fmt: skip
    if not all(name.strip() for name in names):
        raise InputError(f"labels must not be blank (got {names!r})")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"labels must be unique: {listed(repeated)} given more than once")
    job.source.reader.labels = names  # its plan file is gone: the plans in memory are named so
    job.batch = dataclasses.replace(job.batch, labels=names)


def _prepared_in_memory(result: SolveResult | StochasticResult, model, settings: dict) -> EvaluationJob:
    """:func:`evaluate`'s job of a solve's result in memory: its run's plan file, written to a folder
    of its own and read as a run's would be (every check of plans read from a run), then kept in
    memory (:func:`kept_in_memory`) as the folder goes; warned of as a run's plans are, by what
    they are (their made-from model, a stochastic plan's scenarios) rather than by their file."""
    stochastic = isinstance(result, StochasticResult)
    kind, made = ("StochasticResult", "stochastic") if stochastic else ("SolveResult", "solve")
    made_by = f"fleetopt.api.{'solve_stochastic' if stochastic else 'solve'}'s {kind}"
    solved_from = _solved_from(result, kind)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / RunFolder.PLAN
        path.write_bytes(plan_file_bytes(result, solved_from))
        objective = None if stochastic else result.objective_kind  # as its run's records it
        try:  # its objective kept with the plans: compiled, sized and ranked as its run's would be
            job = _prepared(lambda: path, solved_from if model is None else model, settings,
                            lambda source: kept_in_memory(source, made_by, objective))  # fmt: skip
        except PlanFileError as exc:  # the folder names nothing the caller knows
            why = str(exc).replace(f"{path}: ", "").replace(str(path), "its plan file")
            given = "the model given" if model is not None else "its own model"
            raise InputError(f"plans: the {kind}'s plans do not fit {given}: {why}") from None
    note = version_note(job.source.model_hash, solved_from, made, job.source.reader.buffers, job.loaded,
                        f"the plans of the {kind}")  # fmt: skip
    if note is not None:
        warn(note)
    _warn_of_futures(job, lambda seed, scenarios: _fitted_in_memory(result, seed, scenarios))
    return job


def _solved_from(result: SolveResult | StochasticResult, kind: str) -> LoadedModel:
    """The model ``result`` was solved from, which its plan file names; refused where it was solved
    from a ModelData, which names no model."""
    if result.loaded is None:
        raise InputError(f"plans: the {kind} was solved from a ModelData, which names no model its plans "
                         "were made for: solve the model loaded, fleetopt.api.solve(fleetopt.api.load(...)"
                         "[0]), or write the run (its model.yaml) and evaluate that")  # fmt: skip
    return result.loaded


def _fitted_in_memory(result, seed: int, scenarios: int) -> tuple | None:
    """A stochastic result's in-sample warning's parts, as compare gives it of one in memory."""
    if not isinstance(result, StochasticResult):
        return None
    return fitted_note("the StochasticResult in memory", result.settings, seed, scenarios)


@arguments_checked()
def prepare_evaluation(
    plans: str | Path | int,
    model: ModelArg = None,
    *,
    scenarios: int | None = None,
    seed: int = 0,
    backend: str = "auto",
    max_memory: int | str | None = None,
    deterministic: bool = False,
    keep_matrix: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int = 1,
    threads: int | None = None,
    folder: str | Path | None = None,
) -> EvaluationJob:
    """An evaluation checked and ready to run (:meth:`EvaluationJob.start` a run folder, then
    :meth:`EvaluationJob.run`): the settings of :func:`evaluate` (``model`` ... ``threads``), and
    ``executor`` "local" or "ray" (``ray_address``: an existing cluster's) and ``workers``
    one-thread processes on this machine (NumPy, or the C build where ``backend`` takes it for this
    run). The memory budget is held to the memory of each worker (``max_memory`` bytes). ``folder``: the run
    folder it will start in, or the folder that will hold it: where its scenarios are split into
    blocks under a budget their rows of results would fill, the rows go to a file in the run
    folder, and the chunks are sized for that disk (None: ``$TMPDIR``'s, for a run in memory,
    ``job.run()``; :meth:`EvaluationJob.start` sizes them again for the folder it starts, unless
    ``job.settings``' plan_chunk or scenario_chunk were set since).

    Returns an :class:`EvaluationJob`.
    """
    settings = {name: value for name, value in locals().items() if name not in ("plans", "model")}
    job = _prepared(lambda: resolve_run(plans, "plans").resolve(), model, settings)
    job.stop_note = _stop_note
    _warn_if_other_model_version(job.loaded, job.source)
    _warn_of_futures(job, lambda seed, scenarios: _in_sample_parts(job.source.path, seed, scenarios))
    return job


def _prepared(plans: Callable[[], Path], model: ModelArg, settings: dict,
              kept: Callable[[PlanSource], PlanSource] | None = None) -> EvaluationJob:  # fmt: skip
    """:func:`prepare_evaluation` of the plans file or run folder ``plans()`` gives (resolved), its
    ``settings`` (its arguments by name; :func:`evaluate`'s run here, on one executor) checked
    first (a setting that cannot apply is refused before the plans are looked for), before its
    warnings."""
    scenarios, seed, backend, deterministic, folder = (settings.get(name) for name in (
        "scenarios", "seed", "backend", "deterministic", "folder"))  # fmt: skip
    executor, ray_address = settings.get("executor", "local"), settings.get("ray_address")
    workers, threads, max_memory = settings.get("workers", 1), settings["threads"], settings["max_memory"]
    deterministic = limits.flag(Argument("deterministic", "--deterministic"), deterministic)
    if deterministic and scenarios is not None:
        raise InputError.naming(limits.SCENARIOS, " cannot apply with ", _DETERMINISTIC, ", which evaluates "
                                "the forecast itself (one scenario): leave it out")  # fmt: skip
    if deterministic and seed != 0:  # job.json kept it, summary.json did not: it did nothing
        raise InputError.naming(limits.SEED, " cannot apply with ", _DETERMINISTIC, ", which evaluates the "
                                f"forecast itself: leave it out (got {seed!r})")  # fmt: skip
    scenarios = limits.DEFAULT_SCENARIOS if scenarios is None else scenarios
    refuse_threads_with_workers(threads, workers, executor)
    refuse_workers_with_ray(workers, executor)
    max_memory = limits.memory_size(_MAX_MEMORY, max_memory)
    limits.text(RAY_ADDRESS, ray_address, optional=True)
    if ray_address is not None and executor != "ray":  # it was dropped in silence
        raise InputError.naming(RAY_ADDRESS, " applies with ", Argument("executor='ray'", "--executor ray"),
                                f", not executor={executor!r}: give both, or neither")  # fmt: skip
    limits.whole("workers", workers, 1)
    workers = resources.capped_workers(workers, executor)  # before the memory each worker gets
    limits.threads("threads", threads)
    limits.path("folder", folder)
    # the plans where they are now: a notebook that moves (os.chdir) before the run is written must
    # not name the plans, nor read their objective, from its new folder
    job = _prepare_evaluation(
        plans(), _loadable(model), scenarios=scenarios, seed=seed,
        backend=backend,
        max_memory=resources.budget_within_memory(max_memory, backend, executor, workers),
        deterministic=deterministic, keep_matrix=settings["keep_matrix"], executor=executor,
        ray_address=ray_address, workers=workers, threads=resources.capped_threads(threads), folder=folder,
        kept=kept,
    )  # fmt: skip
    return job


def _warn_of_futures(job: EvaluationJob, fitted: Callable[[int, int], tuple | None]) -> None:
    """What an evaluation's futures do to its plans' figures, warned of: a change to the risk block
    of a deterministic one does nothing; a stochastic plan run on scenarios it was fitted to is in
    sample (``fitted(seed, scenarios)``: the warning's parts, None for none)."""
    s = job.settings
    if s["deterministic"]:
        _warn_if_risk_changed(job.loaded)
    elif (note := fitted(s["seed"], s["n_scenarios"])) is not None:
        warn(*note)




def _warn_if_in_sample(sources: list[PlanSource], seed: int, scenarios: int, run: list | None = None) -> None:
    """A stochastic solve's plans evaluated on scenarios it was fitted to are warned of, once a run
    (:func:`in_sample_note`); ``run``: the plans of ``sources`` a comparison runs (None: every one),
    so that a sweep's stochastic candidate is named only where it is among them."""
    labels: dict = dict.fromkeys(source.path for source in sources)  # None: every plan of the file
    for source in sources if run is not None else ():
        kept = [label for label, plan in zip(source.labels, source.plans, strict=True)
                if any(plan is p for p in run)]  # fmt: skip
        labels[source.path] = (labels[source.path] or set()) | set(kept)
    for path, kept in labels.items():
        note = _in_sample_parts(path, seed, scenarios, kept)
        if note is not None:
            warn(*note)


def in_sample_note(
    plans_path: Path, seed: int, scenarios: int, labels: Collection[str] | None = None
) -> str | None:
    """The sentence saying that ``scenarios`` of ``seed``, on which an evaluation or a comparison runs
    the plans of ``plans_path``, hold scenarios the stochastic solve that made them fitted its plan to
    (it reduced the first ``screened`` of its ``scenario_seed``, and every run draws from the first of
    its seed), so that plan's figures are partly in sample, flattered as its solve's diagnostics are
    (docs/formulation.md §7b); a sweep's stochastic candidate likewise, named
    (:func:`~fleetopt.sweep.run.stochastic_candidates_note`); None for plans of any other run, or of
    another seed, or where ``labels`` (the plans of the file that are run; None: every one) holds no
    fitted plan."""
    parts = _in_sample_parts(plans_path, seed, scenarios, labels)
    return None if parts is None else "".join(map(str, parts))


def _in_sample_parts(
    plans_path: Path, seed: int, scenarios: int, labels: Collection[str] | None = None
) -> tuple[str | Argument, ...] | None:
    """:func:`in_sample_note` as a warning's parts, the seed it advises an :class:`Argument`."""
    run = RunFolder(plans_path.parent)
    if run.kind == "sweep":
        return stochastic_candidates_note(run, seed, scenarios, labels)
    if run.kind != "stochastic" or (labels is not None and STOCHASTIC_PLAN not in labels):
        return None
    settings = run.summary(complete=False).get("settings") or {}
    return fitted_note(str(plans_path.parent), settings, seed, scenarios)


def _warn_if_risk_changed(loaded: LoadedModel) -> None:
    """A deterministic evaluation is of the forecast, where no risk factor acts (every factor
    neutral): a change to the risk block made for it does nothing, which is said (a certain
    delivery slip set as a what-if, risk.delivery_slip with probability 1, gave the on-time figures
    beside 'changed for this run: risk.delivery_slip = ...')."""
    risk = [path if isinstance(path, str) else typed_path(path) for path, _ in loaded.changes or ()
            if (path.split(".", 1)[0] if isinstance(path, str) else path[0]) == "risk"]  # fmt: skip
    if risk:
        warn(f"{', '.join(risk)}: changed for this run, but an evaluation with ", _DETERMINISTIC,
             " is of the forecast, where no risk factor acts: the change does nothing to its figures; "
             "evaluate without it, with ", _ON_SCENARIOS, ", to see its effect")


@arguments_checked()
def resume_evaluation(
    folder: str | Path | int,
    *,
    backend: str | None = None,
    threads: int | None = None,
    workers: int | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    max_memory: int | str | None = None,
    plans: str | Path | None = None,
) -> EvaluationJob:
    """The job of an interrupted evaluation run (folder or run id), with the same plans, model and
    settings: :meth:`EvaluationJob.run` it with the folder to compute only what it had not saved.
    ``plans``: where its plans file (or the run folder holding it) is now, where it moved since it
    started (the same file, checked by its SHA-256; None: where the job found it).
    ``backend``, ``threads``, ``workers``, ``executor``, ``ray_address`` and ``max_memory`` (as
    :func:`prepare_evaluation`'s; None: the job's own) change how this resume runs, not its results
    (a job started on a GPU finished on a CPU: NumPy, the C build and CuPy agree to 1e-12; a job
    killed for memory finished with a smaller budget: the chunks stored before are kept, the
    others sized for this machine and budget).

    Returns an :class:`EvaluationJob`.
    """
    refuse_threads_with_workers(threads, workers, executor)
    run = resolve_run(folder, "folder")
    how = {"backend": backend, "threads": threads, "workers": workers, "executor": executor,
           "ray_address": ray_address,
           "max_memory": limits.memory_size(_MAX_MEMORY, max_memory)}  # fmt: skip
    job = _resume_evaluation(run, how, plans)
    job.stop_note = _stop_note
    with RunFolder(run).locked_for_run():  # a warning raised as an error lets go of the folder
        _warn_if_other_model_version(job.loaded, job.source)
    return job


def _stop_note(folder: Path) -> str:
    """What an evaluation stopped in ``folder`` saved, and the Python that finishes it, as the terminal
    says them as a run stops (the command beside it): the note of a job's KeyboardInterrupt."""
    finish = resume_advice("evaluate", folder)
    return f"interrupted: {saved_work(folder)} saved in {folder}; finish it with {finish}"


def _warn_if_other_model_version(loaded: LoadedModel, source, whose: str = "the plans") -> str | None:
    """Plans (``source``, a PlanSource; ``whose``: them in words) made from another version of
    their model than ``loaded`` are evaluated, with a warning (:func:`other_version_note`); returns
    its sentence (None: no warning)."""
    if not source.model_hash:  # plans of no known model
        return None
    note = other_version_note(source.model_hash, source.path, loaded, whose)
    if note is not None:
        warn(note)
    return note


@arguments_checked()
def model_of_plans(plans: str | Path | int) -> Path | str | None:
    """The model to evaluate ``plans`` (a run folder, run id or plan file) with when none is given:
    a run folder's copy of its model, a plan file's bundled model (by the name in its metadata),
    else None (the default model).

    Returns a Path or a bundled model's name (str), or None.
    """
    return _model_of_plans(resolve_run(plans, "plans"))


@arguments_checked()
def evaluation_summary(result: EvaluationResult, loaded: LoadedModel | tuple, source) -> dict:
    """The content of an evaluation run's summary.json: the model (name, source, hash), the plans'
    source and model hash, the run's settings (plans, scenarios, seed, backend, device, chunk sizes),
    its speed (seconds; plan-scenario-quarters per second) and ``metrics``, one dict per plan
    (money in USD, probabilities in [0, 1]).

    Returns a dict, as summary.json holds it.
    """
    limits.instance("result", result, EvaluationResult, "what fleetopt.api.evaluate returns first")
    limits.instance("source", source, PlanSource, "what fleetopt.api.evaluate returns third")
    loaded = _loaded_of(loaded, "loaded")
    _check_evaluated_under(result, loaded)
    return _evaluation_summary(result, loaded, source)


def _check_evaluated_under(result: EvaluationResult, loaded: LoadedModel) -> None:
    """Refuse to label an evaluation with a model it was not evaluated under: its figures would be
    recorded as that model's."""
    if result.model_fingerprint and result.model_fingerprint != model_fingerprint(loaded.model):
        raise InputError(
            f"the result was evaluated under another model than the one given, {loaded.model.name!r} "
            f"({loaded.source}): pass the LoadedModel fleetopt.api.evaluate returned with it"
        )


@arguments_checked()
def write_evaluate_run(
    result: EvaluationResult | Evaluated,
    loaded: LoadedModel | tuple | None = None,
    source: PlanSource | None = None,
    out: str | Path | None = None,
    *,
    command: str | None = None,
    ranking: dict | None = None,
) -> Path:
    """Write metrics.csv, summary.json and model.yaml (and npv_matrix.npy when kept) into a run
    folder: ``out`` (new or empty, or the folder of a started job) or a new one under the runs
    folder; and record it in the run registry with the figures of the plan it shows first (by
    ``ranking``).
    ``result``: what :func:`evaluate` returned (an :class:`Evaluated`, which holds the model and
    plans), or its result, then ``loaded`` and ``source``: the model and plans it returned with it;
    ``command``: as :func:`write_solve_run`'s.
    ``ranking``: how the best plan is chosen, ``{"rank_by": "mean"|"cvar5"|"p5"|"any-default"|"cost"|
    "cost-cvar95", "max_breach_prob": share or None, "min_service": share or None}`` (as `fleetopt evaluate
    --rank-by --max-breach-prob --min-service`; a present cost ranks only plans solved for least cost, and
    only a ranking by it takes a service floor), kept in summary.json for the report (None, or
    no rank_by: the result's default, by mean present cost of plans solved for least cost, else by
    CVaR5 NPV), with how sure its first place is
    (:meth:`EvaluationResult.first_place_error`, measured here unless the result knows it already:
    ``"lead_se_usd"``, ``"lead_se_share"`` by any-default, None where none is known) for the
    report's In short, as `fleetopt evaluate` prints it.

    Returns the run folder (a Path).
    """
    result, loaded, source = _evaluated_parts(result, loaded, source)
    limits.text("command", command, optional=True)
    loaded = _loaded_of(loaded, "loaded")
    _check_evaluated_under(result, loaded)
    limits.instance("source", source, PlanSource, "the plans fleetopt.api.evaluate returns third")
    limits.out_path("out", out)
    ranking = _ranking_with_lead(result, {} if ranking is None else ranking)
    write = partial(_write_evaluate_folder, result, loaded, source, out, ranking)
    return _recorded(loaded, write, lambda path: RunFolder(path).summary(), command)


def _evaluated_parts(result, loaded, source) -> tuple:
    """:func:`write_evaluate_run`'s result, model and plans: an :class:`Evaluated`'s own (a model or
    plans given beside it refused: ``write_evaluate_run(evaluated, "runs/x")`` meant out=), else
    those given."""
    if not isinstance(result, Evaluated):
        limits.instance("result", result, EvaluationResult,
                        "what fleetopt.api.evaluate returns first, or all it returns")  # fmt: skip
        if loaded is None and source is None and result.evaluated_with is not None:
            return result, *result.evaluated_with  # a job's result (a resumed one's) knows them
        if loaded is None or source is None:  # the result alone: its model and plans were left behind
            raise InputError("result alone does not say its model and plans: give all fleetopt.api.evaluate "
                             "returned, write_evaluate_run(fo.evaluate(...)), or its model and plans beside "
                             "it, write_evaluate_run(result, model, plans)")  # fmt: skip
        return result, loaded, source
    if loaded is not None or source is not None:
        given = f": a folder to write the run to is out=, e.g. out={str(loaded)!r}" if isinstance(
            loaded, (str, Path)) else ""  # fmt: skip
        raise InputError(f"loaded and source are in what fleetopt.api.evaluate returned, given as result: "
                         f"give them only with its result alone{given}")  # fmt: skip
    return result


def _ranking_with_lead(result: EvaluationResult, ranking: dict) -> dict:
    """``ranking`` of :func:`write_evaluate_run`, checked, with the paired standard error of the
    first plan's lead over the second by it (where there is one to measure; None: none known)."""
    ranking = _checked_ranking(ranking, result)
    se = result.first_place_error(**ranking)
    if se is not None:
        ranking[lead_error_key(ranking["rank_by"])] = se if math.isfinite(se) else None
    return ranking


def _checked_ranking(ranking: dict, result: EvaluationResult) -> dict:
    """``ranking`` of :func:`write_evaluate_run`: a dict of :data:`RANKING_FIGURES`, each field checked as
    the result checks a ranking (:meth:`EvaluationResult.checked_ranking`), its rank_by the result's
    default where it has none."""
    if isinstance(ranking, dict) and (given := set(ranking) & set(LEAD_ERROR_KEYS)):
        raise InputError(f"ranking's {given.pop()} is measured from the result, by its rank_by: leave it out")
    if not isinstance(ranking, dict) or set(ranking) - set(RANKING_FIGURES):
        raise InputError(f"ranking must be a dict of {listed(RANKING_FIGURES, 'and')} (got {ranking!r})")
    checked = result.checked_ranking(*(ranking.get(name) for name in RANKING_FIGURES), whose="ranking's ")
    if checked["min_service"] is None:  # the floor only where given: none keeps the summary.json it had
        del checked["min_service"]
    return checked

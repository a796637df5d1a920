"""Where plans come from: a run folder written by fleetopt, or a plan file (one plan or many)."""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.core.purchases import purchase_header
from fleetopt.core.units import counted, format_usd, usd_apart
from fleetopt.errors import Argument, FleetoptError, FleetoptWarning, typed_parts, user_path
from fleetopt.evaluate.batch import PlanFileError, compile_stack, solved_for, with_buffers
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.planfile import BUFFERS, PlanFileReader, plan_file_meta
from fleetopt.runs import limits
from fleetopt.runs.files import file_sha256
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.key_figures import COST_OBJECTIVE, solved_for_cost
from fleetopt.runs.resume import resume_command
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.loading import load_model
from fleetopt.schema.model import blocks_changed, fields_changed, plan_free_blocks
from fleetopt.schema.model_changes import recorded_model_changes


@dataclass
class PlanSource:
    """The plans of a plan file, read a chunk at a time (:meth:`compile`) or all at once (:attr:`plans`)."""

    reader: PlanFileReader
    path: Path
    model_hash: str | None

    def __repr__(self) -> str:  # a notebook shows the file and its plans, not the reader object
        shown = ", ".join(self.labels[:5]) + (", ..." if len(self.labels) > 5 else "")
        return f"PlanSource({str(self.path)!r}, {counted(len(self.labels), 'plan')}: {shown})"

    @property
    def labels(self) -> list[str]:
        """The plans' labels, in the file's order."""
        return self.reader.labels

    @cached_property
    def sha256(self) -> str:
        """The plan file's SHA-256 (read once: a job keeps it, its summary and report check it)."""
        return file_sha256(self.path)

    @cached_property
    def plans(self) -> list[Plan]:
        """Every plan, in memory (for a few plans: a plan is ~240 KB on the default model)."""
        return self.reader.plans()

    def compile(self, data: ModelData, rows: int = 512) -> PlanBatch:
        """The evaluator's compiled plans, read and compiled ``rows`` plans at a time, so the file's
        decision arrays are never all in memory. A plan that breaks a hard limit of the model is
        refused (its figures would be meaningless)."""
        chunks = self.reader.chunks(rows)
        batch = PlanBatch.concatenate(
            (compile_stack(data, stack, labels, check_limits=True) for stack, labels in chunks),
            total=self.reader.count,
        )
        return solved_for(with_buffers(batch, self.reader.buffers), self.objective)

    @property
    def objective(self) -> str | None:
        """The plans' objective ("npv", "cost": :func:`solve_objective`), what an evaluation's "In short"
        says of them."""
        return solve_objective(self.path)

    def provenance(self) -> dict:
        """What an evaluation's summary.json records of where its plans came from: the file, its
        SHA-256 (which the report checks the plans it shows against), the model the plans were made
        from and their objective."""
        return {"plans_source": str(Path(self.path).resolve()), "plans_sha256": self.sha256,
                "plans_model_hash": self.model_hash, "plans_objective": self.objective}  # fmt: skip


# summary.json's flag of an evaluation whose plans were a result in memory, never written to a file
PLANS_IN_MEMORY = "plans_in_memory"


@dataclass
class PlansInMemory(PlanSource):
    """The plans of a solve's result evaluated in memory (``fleetopt.api.evaluate(result)``), never
    written to a file: read once from the plan file its run would write, so that they are checked
    and evaluated as that file's plans are, then kept here (the file is gone). ``made_by``: what
    they are, in words ("fleetopt.api.solve's SolveResult"); ``solved_for``: their objective."""

    kept: list[Plan] = field(default_factory=list, repr=False)
    made_by: str = ""
    solved_for: str | None = None

    def __repr__(self) -> str:  # no file to name
        return f"PlansInMemory({self.made_by}, {counted(len(self.labels), 'plan')}: {', '.join(self.labels)})"

    @property
    def plans(self) -> list[Plan]:
        return self.kept

    @property
    def sha256(self) -> None:
        """None: no file holds them."""
        return None

    @property
    def objective(self) -> str | None:
        return self.solved_for

    def compile(self, data: ModelData, rows: int = 512) -> PlanBatch:
        """As :meth:`PlanSource.compile`, from the plans kept."""
        batch = compile_stack(data, Plan.stack(self.kept), self.labels, check_limits=True)
        return solved_for(with_buffers(batch, self.reader.buffers), self.objective)

    def provenance(self) -> dict:
        """As :meth:`PlanSource.provenance`: in memory, what they were (no file, no SHA-256)."""
        return {"plans_source": f"in memory: {self.made_by}, not written to a file", PLANS_IN_MEMORY: True,
                "plans_sha256": None, "plans_model_hash": self.model_hash, "plans_objective": self.objective}


def kept_in_memory(source: PlanSource, made_by: str, solved_for: str | None) -> PlansInMemory:
    """``source``'s plans (a plan file about to be removed) read whole and kept in memory, as
    :class:`PlansInMemory` of ``made_by``, solved for ``solved_for``."""
    return PlansInMemory(source.reader, None, source.model_hash, source.plans, made_by, solved_for)


def refuse_unfinished(folder: Path, then: str, kinds: tuple[str, ...] = ("evaluate", "sweep")) -> None:
    """Refuse an unfinished evaluate or sweep run folder of one of ``kinds``, saying how it finishes
    (:func:`finishing_parts`) and ``then`` what to do."""
    run = RunFolder(folder)
    if not run.is_job or run.is_finished:
        return
    kind = "sweep" if run.job().get("kind") == "sweep" else "evaluate"
    if kind in kinds:
        raise PlanFileError.naming(f"{folder} is an unfinished {kind} run ", *finishing_parts(run, kind),
                                   f", then {then}")  # fmt: skip


def finishing_parts(run: RunFolder, kind: str) -> tuple[str | Argument, ...]:
    """How the unfinished job in ``run`` finishes, as a message's parts: the process still running it
    (its pid), else its resume (:func:`resume_advice`: the Python call, the `--resume` command
    beside it), or why this code may not resume it (another version started it). Only the command
    was said, and a resume while the run went on (or by another version) was refused."""
    pid = run.running_pid()
    if pid is not None:
        return (f"(still running, pid {pid}): wait for it to finish",)
    problem = run.job_version_problem()
    if problem is not None:
        return (f"(interrupted, and cannot be resumed: {problem})",)
    return ("(interrupted): finish it with ", resume_advice(kind, run.path))


def how_it_finishes(run: RunFolder, kind: str) -> str:
    """:func:`finishing_parts` as the command line says them (the `--resume` command alone)."""
    return typed_parts(finishing_parts(run, kind))


def resume_advice(kind: str, folder: str | Path) -> Argument:
    """How an interrupted run of `fleetopt {kind}` in ``folder`` is finished and written, as a notebook
    calls it and as the command line types it (:func:`~fleetopt.runs.resume.resume_command`); a
    resumed evaluation's result carries its model and plans, which write_evaluate_run writes it with."""
    at = repr(str(folder))
    if kind == "sweep":
        python = f"fleetopt.api.write_sweep_run(fleetopt.api.resume_sweep({at}), {at})"
    else:
        python = f"fleetopt.api.write_evaluate_run(fleetopt.api.resume_evaluation({at}).run({at}), out={at})"
    return Argument(python, resume_command(kind, folder))


def run_folder_of(ref: str | Path) -> Path:
    """The run folder ``ref`` stands for: a run's own plan file (plan.npz, plans.npz in the folder,
    given directly) stands for its folder; any other path for itself."""
    ref = user_path(ref)
    return ref.resolve().parent if ref.is_file() and ref.name in RunFolder.PLAN_FILES else ref


def solve_objective(ref: str | Path) -> str | None:
    """The objective ("npv" or "cost") of the solve whose run folder or own plan file ``ref`` is,
    or of the plans an evaluation's folder evaluated (its ``plans_objective``), "cost" for a sweep's
    by cost (``sweep --objective cost``): "cost" wherever the run's plans were solved for least cost
    (:func:`~fleetopt.runs.key_figures.solved_for_cost`); None for anything else (an NPV sweep's plans, as
    before; a plan file of one's own says nothing)."""
    run = RunFolder(run_folder_of(ref))
    try:
        summary = run.summary() if run.is_finished else {}
    except FleetoptError:  # a damaged summary is refused where the run itself is read
        return None
    if solved_for_cost(summary):
        return COST_OBJECTIVE
    return {"solve": "npv", "evaluate": summary.get("plans_objective")}.get(summary.get("kind"))


def model_copy_of(ref: str | Path) -> Path | None:
    """The copy of the model a run was made from, for its run folder or its own plan file
    (:func:`run_folder_of`); None where there is none."""
    ref = run_folder_of(ref)
    return RunFolder(ref).model_file if ref.is_dir() else None


def with_run_changes(loaded: LoadedModel) -> LoadedModel:
    """``loaded`` with the changes made by the run whose model.yaml it was read from
    (:attr:`LoadedModel.source_changes`: that run's own, after those made before it): a run of a
    solve's edited model is of the model as edited, which its file's text does not say. Taken only
    from a finished run whose summary.json names this very text (its ``model_hash``); a record
    that does not say them (older, or damaged) adds none."""
    if loaded.read_from is None or Path(loaded.read_from).name != RunFolder.MODEL or loaded.source_changes:
        return loaded
    run = RunFolder(Path(loaded.read_from).parent)
    try:
        summary = run.summary(complete=False) if run.is_finished else {}
        own, before = recorded_model_changes(summary, str(run.path / RunFolder.SUMMARY))
    except FleetoptError:  # its run's record damaged: the model is still the file's text
        return loaded
    if summary.get("model_hash") != loaded.content_hash or not (before or own):
        return loaded
    return replace(loaded, source_changes=(*before, *(own or ())))


def plan_file_of(path: Path) -> Path:
    """The plan file of a run folder (sweeps write plans.npz, solves plan.npz), or ``path`` itself."""
    if path.is_dir():
        run = RunFolder(path)
        source = run.job().get("plans_source") if run.is_job else None
        # an unfinished sweep's candidates, once all made, are its plans; an evaluation has none
        refuse_unfinished(path, f"give the plans it evaluates, {source}: an evaluation's folder holds "
                                "their figures, not the plans", kinds=("evaluate",))  # fmt: skip
        if run.making_candidates:
            raise PlanFileError.naming(f"{path} is a sweep still making its candidates: its plans are not "
                                       "all there yet ", *finishing_parts(run, "sweep"))  # fmt: skip
        found = run.plan_file
        if found is None and run.kind == "evaluate":  # its plans are where they were evaluated from
            return _evaluated_plans(run)
        if found is None:
            expected = " or ".join(RunFolder.PLAN_FILES)
            raise PlanFileError(f"{path}: no plan file in this folder (expected {expected})")
        return found
    return path


def _evaluated_plans(run: RunFolder) -> Path:
    """The plans file a finished evaluation read, found as :func:`evaluated_plans_file` finds it
    (an evaluation's folder holds their figures, not the plans); PlanFileError where it is gone or
    changed since: other plans would be compared or evaluated under the evaluation's name."""
    summary = run.summary()
    if summary.get(PLANS_IN_MEMORY) is True:  # no file was ever given
        raise PlanFileError(f"{run.path} is an evaluation's folder: it holds the plans' figures, not the "
                            f"plans, and they were {summary.get('plans_source')}: give the plans themselves, "
                            "written as a run (a run folder or plan file)")  # fmt: skip
    then = summary.get("plans_sha256")
    file, now = evaluated_plans_file(summary, run.path, then)
    if now is not None and now == then:
        return file
    changed = f"changed since ({sha_change(now, then)})" if now else ""
    what = "cannot be checked: the evaluation kept no plans_sha256" if not then else changed or "is gone"
    raise PlanFileError(
        f"{run.path} is an evaluation's folder: it holds the plans' figures, not the plans; they were "
        f"read from {file}, which {what}: give the plans themselves (a run folder or plan file)"
    )


def sha_change(now: str, then: str) -> str:
    """A file's SHA-256 now beside the one kept for it, short: 'SHA-256 3f2a... now, 9c1b... then'."""
    return f"SHA-256 {now[:12]}... now, {str(then)[:12]}... then"


def _names_purchases(path: Path) -> bool:
    """Whether a CSV file's header is a purchases file's or a solve's plan.csv's (not its
    statements.csv or an evaluation's metrics.csv)."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as f:
            return purchase_header(f.readline().split(","))
    except OSError:
        return False


def refuse_other_files(path: Path) -> None:
    """Refuse, saying what it is and what to give instead, a file that is not a plan file (a .npz
    archive): a run's plan.csv, a purchases CSV, a model file."""
    if not path.is_file() or zipfile.is_zipfile(path):
        return
    npz = [path.parent / name for name in RunFolder.PLAN_FILES if (path.parent / name).is_file()]
    instead = f"its run folder {path.parent} or {npz[0]}" if npz else "a run folder or a .npz plan file"
    suffix = path.suffix.lower()
    if suffix == ".csv":
        what = "a CSV file,"
        if _names_purchases(path):  # a purchases CSV, or a solve's plan.csv, fixes a solve's purchases
            instead += f"; to solve with its purchases fixed: fleetopt solve MODEL --purchases {path}"
    elif suffix in (".yaml", ".yml"):
        what = "a model file,"
        instead = ("it as the model (evaluate's MODEL, compare's --model) and a run folder or plan file "
                   "as the plans")
    elif suffix == ".npz":  # named as one, but no zip archive: cut short in a copy, or another file
        what = "not a whole .npz archive (damaged or cut short, say in a copy), so"
    else:
        what = "not a .npz archive, so"
    raise PlanFileError(f"{path} is {what} not a fleetopt plan file (plan.npz or plans.npz): give {instead}")


PLANS_RELATIVE = "plans_source_relative"  # job.json's and summary.json's key: the plans seen from the run


def plans_seen_from(plans: str | Path, folder: str | Path) -> str | None:
    """Where the plans file ``plans`` lies seen from the run folder ``folder`` (None where no
    relative path leads there: another drive)."""
    try:
        return Path(os.path.relpath(Path(plans).resolve(), Path(folder).resolve())).as_posix()
    except ValueError:
        return None


def evaluated_plans_file(settings: dict, folder: str | Path, sha256: str | None) -> tuple[Path, str | None]:
    """The plans file an evaluation read (``settings``: its job.json or summary.json) and its
    SHA-256 (None: no such file): the one at the same place seen from its run folder ``folder`` (the
    runs folder's own, moved or copied whole), else the one where it was (``plans_source``); the
    first of them whose SHA-256 is ``sha256`` (the one the evaluation stored), else the first there
    (which the caller refuses as changed), else ``plans_source``."""
    places = []
    relative = settings.get(PLANS_RELATIVE)
    if isinstance(relative, str) and relative:
        places.append(Path(os.path.normpath(Path(folder).resolve() / relative)))
    places.append(Path(settings.get("plans_source") or ""))
    found = []
    for place in dict.fromkeys(p for p in places if p.is_file()):  # each file hashed once
        found.append((place, file_sha256(place)))
        if found[-1][1] == sha256:
            return found[-1]
    return found[0] if found else (places[-1], None)


def read_plans(path: str | Path, data: ModelData) -> PlanSource:
    path = user_path(path)
    if not path.exists():
        raise PlanFileError(f"{path}: no such run folder or plan file")
    refuse_other_files(path)
    file = plan_file_of(path)
    reader = PlanFileReader(file, data)  # a damaged file said so first
    run = RunFolder(run_folder_of(path))  # a run's own plan file, given itself, stands for the run
    if run.path.is_dir() and run.is_finished and run.plan_changed():  # another plan under its name
        raise PlanFileError(f"{run.plan_changed_words()}: another plan would be compared or evaluated as "
                            "this run's; restore it, or solve again")  # fmt: skip
    return PlanSource(reader, file, reader.meta.get("model_hash"))


def other_version_note(
    plans_model_hash: str | None, plans_path: Path, loaded: LoadedModel, whose: str = "the plans"
) -> str | None:
    """The sentence saying that plans (``whose``, in words) were made from another version of their
    model than ``loaded``, naming the blocks that differ where the plans' run folder keeps the model
    they were made from; None where the versions are the same, or differ only in blocks the plans
    do not depend on (:func:`plan_free_blocks`: policy, and risk for a solve's plan), unless the
    policy's cash buffer differs: a plan keeps the buffer it was made with, which is said."""
    if not plans_model_hash or plans_model_hash == loaded.content_hash:
        return None
    made_from = model_made_from(plans_model_hash, plans_path)
    recorded = plan_file_meta(plans_path).get(BUFFERS) or []  # a plan's null: the model's buffer applies
    made_by = RunFolder(plans_path.parent).kind
    return version_note(plans_model_hash, made_from, made_by, recorded, loaded, whose)


def fitted_note(
    solve: str, settings: dict, seed: int, scenarios: int, other: str = "its solve's out-of-sample check's"
) -> tuple[str | Argument, ...] | None:
    """:func:`~fleetopt.api.in_sample_note` of the stochastic solve ``solve`` (its run folder, or a result
    in memory) of ``settings`` (its summary's, or its result's), as a warning's parts: None where
    ``seed`` is not the seed it drew from.
    The seed after it is advised, ``other`` saying which it is."""
    fitted, screened = settings.get("scenario_seed"), settings.get("screened")
    if fitted != seed or not isinstance(screened, int) or screened < 1:
        return None
    advised = limits.next_seed(seed)  # the terminal names its option alone, Python both, as a refusal
    return (f"the stochastic plan of {solve} was fitted to scenarios reduced from the first "
            f"{screened:,} of seed {seed}, and {min(scenarios, screened):,} of the {scenarios:,} scenarios "
            f"of seed {seed} it is run on here are among them: its figures are partly in sample, "
            f"flattered against the forecast optimum's; judge it on another seed, {other}: ",
            Argument(f"seed={advised}", f"--seed {advised}"))  # fmt: skip


def version_note(
    plans_model_hash: str | None,
    made_from: LoadedModel | None,
    made_by: str | None,
    recorded: list,
    loaded: LoadedModel,
    whose: str = "the plans",
) -> str | None:
    """:func:`other_version_note` of plans made by a run of kind ``made_by`` from the model
    ``made_from`` (None: not known) of hash ``plans_model_hash``, with the policy cash buffers
    ``recorded`` with them (None each: the model's), evaluated under ``loaded``."""
    if not plans_model_hash or plans_model_hash == loaded.content_hash:
        return None
    changed = None if made_from is None else blocks_changed(made_from.model, loaded.model)
    kept = [b for b in recorded if b is not None]
    buffer = _own_buffer_note(made_from, loaded, whose, kept, len(recorded)) if made_from and kept else None
    if changed is not None and set(changed) <= set(plan_free_blocks(made_by)):
        return buffer
    # the blocks the plans read, then their fields, then those they do not read: "blocks that differ:
    # horizon, risk: horizon.discount_rate_annual ..." read as if the field were the risk block's
    unread = [b for b in changed or () if b in plan_free_blocks(made_by)]
    read = [b for b in changed or () if b not in unread]
    which = f"; blocks that differ: {', '.join(read)}" if read else ""
    if made_from is not None and read:
        # the fields the plans depend on: not the description, nor a block they do not read
        skipped = {"name", *unread}
        changes = fields_changed(made_from.model, loaded.model)
        fields = [f for f in changes if f[0].split(".")[0] not in skipped]
        which += f": {fields_changed_words(fields)}" if fields else ""
    which += f"; and {', '.join(unread)}, which the plans do not depend on" if read and unread else ""
    note = (f"{whose} were made from another version of model {loaded.model.name!r} "
            f"(hash {plans_model_hash}, now {loaded.content_hash}{which})")  # fmt: skip
    if changed is not None and set(changed) <= {"risk", *plan_free_blocks(made_by)}:
        # only the futures differ: a stress test of plans made from risk (a sweep's stresses, a stochastic
        # solve's scenarios), which a user asking for it read as an error
        made = {"sweep": "the sweep's stresses", "stochastic": "the stochastic solve's scenarios"}
        note += (f"; they were made from its risk block ({made.get(made_by, 'their run')}) and are "
                 "evaluated as made, under this one's futures: a stress test of them, as intended where "
                 "risk was changed on purpose")  # fmt: skip
    return note + (f". {buffer[0].upper()}{buffer[1:]}" if buffer else "")


# fields a version note names one by one; the rest are counted
FIELDS_NAMED = 3


def fields_changed_words(changes: list[tuple[str, object, object]]) -> str:
    """The fields that differ between the plans' model and this one, in words: "horizon.
    discount_rate_annual was 0.2, now 0.15; and 2 more fields" (values as JSON writes them, a long
    one cut short; a field one model lacks is "unset" there)."""
    named = [f"{path} was {_field_value(theirs)}, now {_field_value(ours)}"
             for path, theirs, ours in changes[:FIELDS_NAMED]]  # fmt: skip
    more = len(changes) - FIELDS_NAMED
    return "; ".join(named) + (f"; and {counted(more, 'more field')}" if more > 0 else "")


def _field_value(value: object) -> str:
    """A field's value as JSON writes it, a long one cut short (a string keeps its closing quote)."""
    if value is None:
        return "unset"
    text = json.dumps(value, separators=(", ", ": "))
    if len(text) <= 40:
        return text
    return f'{text[:36]}..."' if isinstance(value, str) else f"{text[:37]}..."


def _own_buffer_note(
    made_from: LoadedModel, loaded: LoadedModel, whose: str, kept: list, plans: int
) -> str | None:
    """The sentence saying that plans keep the policy cash buffers recorded with them (``kept``, of
    ``plans``), where ``loaded``'s differs from that of the model they were made under (its rules
    apply to them; the buffer is part of a plan)."""
    theirs, this = made_from.model.policy.liquidity_buffer_usd, loaded.model.policy.liquidity_buffer_usd
    if theirs == this:
        return None
    low, high = min(kept), max(kept)
    values = format_usd(low) if low == high else " to ".join(usd_apart(low, high))
    which = whose if len(kept) == plans else f"{len(kept)} of {plans} of {whose}"
    others = "" if len(kept) == plans else f"; the other {plans - len(kept)} run with this model's"
    was, now = usd_apart(theirs, this)
    return (f"{which} keep the policy cash buffer recorded with them ({values} above "
            f"finance.min_cash_usd; made under a model whose buffer was {was}), not this model's {now}"
            f"{others}: a plan's buffer is part of the plan (this model's policy rules apply to it; "
            "docs/evaluation.md, 'Plan files')")


def model_made_from(plans_model_hash: str, plans_path: Path) -> LoadedModel | None:
    """The model the plans were made from: the copy in their run folder, where it is that model
    (its hash is the plans'); None where there is none. Read only to name the blocks that differ:
    its own notes (a contract past the horizon) are the other version's, said already for the
    model used, so they are not repeated."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FleetoptWarning)
            made_from = load_model(plans_path.parent / RunFolder.MODEL)
    except (FleetoptError, OSError):
        return None
    return made_from if made_from.content_hash == plans_model_hash else None



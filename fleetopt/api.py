"""The Python API for notebooks and scripts; the CLI is a thin layer over it.

>>> import fleetopt.api as fo
>>> result = fo.solve("tiny")
>>> result.plan_frame().head()          # every decision
>>> result.statements_frame()           # quarterly statements, USD
"""

from __future__ import annotations

from pathlib import Path

from fleetopt import __version__
from fleetopt.data import ModelData, build_data
from fleetopt.evaluate.batch import plans_npz_bytes
from fleetopt.loading import LoadedModel, load_model
from fleetopt.milp.solve import InfeasibleModel, NoPlanFound, SolveResult
from fleetopt.milp.solve import solve as _solve_data
from fleetopt.results import headline, plan_frame
from fleetopt.rundir import default_run_dir, json_text, write_run_dir

__all__ = [
    "InfeasibleModel",
    "NoPlanFound",
    "SolveResult",
    "load",
    "solve",
    "write_solve_run",
]


def load(model: str | Path | LoadedModel | None = None) -> tuple[LoadedModel, ModelData]:
    """Load a model (file path, bundled name, or None for the default) and resolve its numbers."""
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    return loaded, build_data(loaded)


def solve(
    model: str | Path | LoadedModel | None = None,
    *,
    objective: str = "npv",
    time_limit: float | None = None,
    mip_gap: float = 0.005,
    threads: int | None = None,
) -> SolveResult:
    """Solve a model's MILP and return the best plan with its statements."""
    _loaded, data = load(model)
    return _solve_data(data, objective, time_limit=time_limit, mip_gap=mip_gap, threads=threads)


def solve_summary(result: SolveResult, loaded: LoadedModel) -> dict:
    """The content of summary.json for a solve run."""
    fig = headline(result.data, result.plan, result.statements)
    return {
        "fleetopt_version": __version__,
        "kind": "solve",
        "model_name": loaded.model.name,
        "model_source": loaded.source,
        "model_hash": loaded.content_hash,
        "status": result.status,
        "objective": result.objective_kind,
        "objective_usd": result.objective_usd,
        "bound_usd": result.bound_usd,
        "gap": result.gap,
        "build_seconds": result.build_seconds,
        "solve_seconds": result.solve_seconds,
        "model_size": result.model_size,
        **fig,
    }


def write_solve_run(result: SolveResult, loaded: LoadedModel, out: str | Path | None = None) -> Path:
    """Write summary.json, plan.csv, plan.npz, statements.csv and model.yaml into a new run folder."""
    out = Path(out) if out is not None else default_run_dir(loaded.model.name)
    files = {
        "summary.json": json_text(solve_summary(result, loaded)),
        "plan.csv": plan_frame(result.data, result.plan).to_csv(index=False),
        "statements.csv": result.statements_frame().to_csv(index=False, float_format="%.6f"),
        "plan.npz": plans_npz_bytes([result.plan], ["milp"], loaded.model.name, loaded.content_hash),
        "model.yaml": loaded.text,
    }
    return write_run_dir(out, files)


# ---------------------------------------------------------------- evaluation


JOB_FILE = "job.json"
CHUNK_FOLDER = "chunks"


class EvaluationJob:
    """An evaluation ready to run: model, plans and settings checked, nothing written yet.

    ``run(folder)`` keeps every finished chunk in ``folder/chunks`` (checksummed, written then
    renamed), so a run that is killed can be finished by :func:`resume_evaluation`.
    """

    def __init__(self, loaded, data, source, batch, settings: dict, executor):
        self.loaded, self.data, self.source, self.batch = loaded, data, source, batch
        self.settings, self.executor = settings, executor

    def start(self, folder: Path) -> None:
        """Create the run folder with the job description and the model, before any chunk runs."""
        from fleetopt.outputs import write_text_atomic

        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / "model.yaml", self.loaded.text)
        write_text_atomic(folder / JOB_FILE, json_text(self.settings))

    def run(self, folder: Path | None = None, progress=None):
        from fleetopt.evaluate import evaluate as run_evaluation
        from fleetopt.evaluate.jobs import ChunkStore

        s = self.settings
        return run_evaluation(
            self.data,
            self.batch,
            s["n_scenarios"],
            s["seed"],
            max_memory=s.get("max_memory"),
            plan_chunk=s.get("plan_chunk"),
            scenario_chunk=s.get("scenario_chunk"),
            keep_matrix=s["keep_matrix"],
            deterministic=s["deterministic"],
            progress=progress,
            executor=self.executor,
            store=ChunkStore(folder / CHUNK_FOLDER) if folder is not None else None,
        )


def _file_hash(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def prepare_evaluation(
    plans: str | Path,
    model: str | Path | LoadedModel | None = None,
    *,
    scenarios: int = 1000,
    seed: int = 0,
    backend: str = "auto",
    max_memory: int | None = None,
    deterministic: bool = False,
    keep_matrix: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int = 1,
) -> EvaluationJob:
    """Check the model, plans, backend and executor of an evaluation and fix its chunk sizes."""
    from fleetopt.evaluate import compile_plans
    from fleetopt.evaluate.backend import BackendError, available_ram_bytes, resolve_backend
    from fleetopt.evaluate.engine import MAX_PAIRS, chunk_sizes
    from fleetopt.evaluate.jobs import LocalExecutor, ProcessExecutor, RayExecutor
    from fleetopt.evaluate.sources import model_file_of, read_plans

    if model is None:
        model = model_file_of(Path(plans))
    loaded, data = load(model)
    source = read_plans(plans, data)
    batch = compile_plans(data, source.plans, source.labels)
    if executor == "ray":
        runner = RayExecutor(ray_address)
        be_name, free = runner.backend_name, None
    elif workers > 1:
        if backend == "cupy":
            raise BackendError("--workers runs NumPy processes: use it without --backend cupy")
        runner = ProcessExecutor(workers)
        be_name, free = "numpy", available_ram_bytes() // workers
    else:
        be = resolve_backend(backend)
        runner, be_name, free = LocalExecutor(be), be.name, be.free_memory_bytes()
    n = 1 if deterministic else scenarios
    budget = max_memory if max_memory is not None else int(0.5 * (free or 8 * 1024**3))
    plan_chunk, scenario_chunk = chunk_sizes(data, batch, n, budget, (), MAX_PAIRS[be_name])
    parallel = getattr(runner, "parallelism", 1)
    if parallel > 1:  # several chunks per worker, so that every worker has work until the end
        plan_chunk = max(1, min(plan_chunk, -(-batch.P // (4 * parallel))))
    settings = {
        "kind": "evaluate",
        "plans_source": str(Path(source.path).resolve()),
        "plans_sha256": _file_hash(source.path),
        "model_hash": loaded.content_hash,
        "n_scenarios": n,
        "seed": seed,
        "deterministic": deterministic,
        "keep_matrix": keep_matrix,
        "backend": backend,
        "executor": executor,
        "ray_address": ray_address,
        "workers": workers,
        "plan_chunk": plan_chunk,
        "scenario_chunk": scenario_chunk,
    }
    return EvaluationJob(loaded, data, source, batch, settings, runner)


def resume_evaluation(folder: str | Path) -> EvaluationJob:
    """The job of an interrupted evaluation run folder, with the same plans, model and chunks."""
    import json

    from fleetopt.evaluate import PlanFileError

    folder = Path(folder)
    job_file = folder / JOB_FILE
    if not job_file.exists():
        raise PlanFileError(f"{folder}: not a resumable evaluation (no {JOB_FILE})")
    if (folder / "summary.json").exists():
        raise PlanFileError(f"{folder}: this evaluation already finished")
    settings = json.loads(job_file.read_text())
    plans_file = Path(settings["plans_source"])
    if not plans_file.exists() or _file_hash(plans_file) != settings["plans_sha256"]:
        raise PlanFileError(f"{plans_file}: the plans changed or disappeared since the run started")
    job = prepare_evaluation(
        plans_file,
        folder / "model.yaml",
        scenarios=settings["n_scenarios"],
        seed=settings["seed"],
        backend=settings["backend"],
        deterministic=settings["deterministic"],
        keep_matrix=settings["keep_matrix"],
        executor=settings["executor"],
        ray_address=settings.get("ray_address"),
        workers=settings.get("workers", 1),
    )
    # the same chunks as the first attempt, whatever memory this machine has
    job.settings.update(plan_chunk=settings["plan_chunk"], scenario_chunk=settings["scenario_chunk"])
    job.settings.update(plans_source=settings["plans_source"], plans_sha256=settings["plans_sha256"])
    return job


def evaluate(
    plans: str | Path,
    model: str | Path | LoadedModel | None = None,
    *,
    scenarios: int = 1000,
    seed: int = 0,
    backend: str = "auto",
    max_memory: int | None = None,
    deterministic: bool = False,
    keep_matrix: bool = False,
    progress=None,
):
    """Evaluate the plans in a run folder or plan file on seeded scenarios of the model (in memory).

    With ``model`` None and a run folder as ``plans``, the folder's copy of its model is used.
    Returns ``(EvaluationResult, LoadedModel, PlanSource)``.
    """
    job = prepare_evaluation(
        plans, model, scenarios=scenarios, seed=seed, backend=backend, max_memory=max_memory,
        deterministic=deterministic, keep_matrix=keep_matrix,
    )  # fmt: skip
    return job.run(progress=progress), job.loaded, job.source


def evaluation_summary(result, loaded: LoadedModel, source) -> dict:
    return {
        "fleetopt_version": __version__,
        "kind": "evaluate",
        "model_name": loaded.model.name,
        "model_source": loaded.source,
        "model_hash": loaded.content_hash,
        "plans_source": str(source.path),
        "plans_model_hash": source.model_hash,
        "n_plans": result.n_plans,
        "n_scenarios": result.n_scenarios,
        "seed": result.seed,
        "deterministic": result.seed is None,
        "backend": result.backend,
        "device": result.device,
        "fused_kernel": result.kernel,
        "seconds": result.seconds,
        "plan_scenario_quarters_per_second": result.pair_quarters_per_second,
        "plan_chunk": result.plan_chunk,
        "scenario_chunk": result.scenario_chunk,
        "metrics": result.metrics.to_dict(orient="records"),
    }


def write_evaluate_run(result, loaded: LoadedModel, source, out: str | Path | None = None) -> Path:
    """Write metrics.csv and summary.json (and npv_matrix.npy when kept) into the run folder.

    ``out`` may be the folder of a started job (it has job.json): its files are added one by one,
    summary.json last, and its chunks removed. Otherwise a new folder is written all at once.
    """
    import io
    import shutil

    import numpy as np

    from fleetopt.outputs import write_bytes_atomic

    out = Path(out) if out is not None else default_run_dir(f"{loaded.model.name}-evaluate")
    files = {
        "metrics.csv": result.metrics.to_csv(index=False, float_format="%.6f"),
        "model.yaml": loaded.text,
    }
    if result.npv_matrix is not None:
        buf = io.BytesIO()
        np.save(buf, result.npv_matrix)
        files["npv_matrix.npy"] = buf.getvalue()
    files["summary.json"] = json_text(evaluation_summary(result, loaded, source))
    if not (out / JOB_FILE).exists():
        return write_run_dir(out, files)
    for name, content in files.items():  # summary.json last: its presence marks a finished run
        write_bytes_atomic(out / name, content.encode() if isinstance(content, str) else content)
    shutil.rmtree(out / CHUNK_FOLDER, ignore_errors=True)
    return out


# ---------------------------------------------------------------- sweep


def sweep(
    model: str | Path | LoadedModel | None = None,
    *,
    candidates: int = 20,
    scenarios: int = 1000,
    seed: int = 0,
    rule=None,
    backend: str = "auto",
    mip_gap: float = 0.005,
    time_limit: float | None = None,
    threads: int | None = None,
    progress=None,
    folder: str | Path | None = None,
):
    """Generate candidate plans, evaluate them on common scenarios, find the front and the rule's pick.

    With ``folder``, the candidates and every finished evaluation chunk are saved there as the
    sweep goes, so :func:`resume_sweep` can finish an interrupted one. Returns a :class:`SweepResult`.
    """
    from fleetopt.evaluate.backend import resolve_backend
    from fleetopt.sweep import Rule, generate_candidates

    rule = rule or Rule()
    loaded, data = load(model)
    resolve_backend(backend)  # an unusable backend fails before the solves, not after
    cands = generate_candidates(data, candidates, mip_gap=mip_gap, time_limit=time_limit, threads=threads)
    settings = {
        "kind": "sweep",
        "n_scenarios": scenarios,
        "seed": seed,
        "backend": backend,
        "rule": vars(rule),
    }
    if folder is not None:
        _start_sweep_job(Path(folder), loaded, cands, settings)
    return _finish_sweep(loaded, data, cands, settings, progress, folder)


def _start_sweep_job(folder: Path, loaded: LoadedModel, cands, settings: dict) -> None:
    from fleetopt.outputs import write_bytes_atomic, write_text_atomic

    folder.mkdir(parents=True, exist_ok=True)
    feasible = cands.feasible
    write_text_atomic(folder / "model.yaml", loaded.text)
    write_bytes_atomic(
        folder / "plans.npz",
        plans_npz_bytes(
            [c.plan for c in feasible], [c.label for c in feasible], loaded.model.name, loaded.content_hash
        ),
    )
    listing = [
        {
            "label": c.label,
            "origin": c.origin,
            "status": c.status,
            "note": c.note,
            "forecast_npv_usd": c.forecast_npv_usd,
        }
        for c in cands.candidates
    ]
    write_text_atomic(folder / "candidates.json", json_text(listing))
    write_text_atomic(folder / JOB_FILE, json_text(settings))


def resume_sweep(folder: str | Path, progress=None):
    """Finish an interrupted sweep: its candidates are on disk, only missing chunks are evaluated."""
    import json

    from fleetopt.evaluate import PlanFileError, load_plans
    from fleetopt.sweep import Candidate, CandidateSet

    folder = Path(folder)
    if not (folder / JOB_FILE).exists() or not (folder / "candidates.json").exists():
        raise PlanFileError(f"{folder}: not a resumable sweep (no {JOB_FILE} or candidates.json)")
    if (folder / "summary.json").exists():
        raise PlanFileError(f"{folder}: this sweep already finished")
    settings = json.loads((folder / JOB_FILE).read_text())
    loaded, data = load(folder / "model.yaml")
    plans, labels, _ = load_plans(folder / "plans.npz", data)
    by_label = dict(zip(labels, plans, strict=True))
    cands = CandidateSet(
        [
            Candidate(
                c["label"],
                c["origin"],
                c["status"],
                by_label.get(c["label"]),
                c["forecast_npv_usd"],
                c["note"],
            )
            for c in json.loads((folder / "candidates.json").read_text())
        ]
    )
    return _finish_sweep(loaded, data, cands, settings, progress, folder)


def _finish_sweep(loaded, data, cands, settings: dict, progress, folder):
    from fleetopt.evaluate import compile_plans
    from fleetopt.evaluate import evaluate as run_evaluation
    from fleetopt.evaluate.jobs import ChunkStore
    from fleetopt.sweep import Rule, pareto_front, recommend

    rule = Rule(**settings["rule"])
    feasible = cands.feasible
    batch = compile_plans(data, [c.plan for c in feasible], [c.label for c in feasible])
    store = ChunkStore(Path(folder) / CHUNK_FOLDER) if folder is not None else None
    evaluation = run_evaluation(
        data, batch, settings["n_scenarios"], settings["seed"], backend=settings["backend"],
        plan_chunk=settings.get("plan_chunk"), progress=progress, store=store,
    )  # fmt: skip
    metrics = evaluation.metrics.copy()
    metrics.insert(1, "origin", [c.origin for c in feasible])
    metrics.insert(2, "forecast_npv_usd", [c.forecast_npv_usd for c in feasible])
    metrics["note"] = [c.note for c in feasible]
    metrics["on_front"] = pareto_front(metrics)
    pick = recommend(metrics, rule)  # RuleError propagates: the caller reports it
    metrics["recommended"] = False
    metrics.loc[metrics.index[pick], "recommended"] = True
    return SweepResult(loaded, data, cands, metrics, evaluation, rule, pick)


class SweepResult:
    """Candidates, their metrics (one row per feasible candidate), the front and the recommendation."""

    def __init__(self, loaded, data, candidates, metrics, evaluation, rule, pick):
        self.loaded, self.data, self.candidates = loaded, data, candidates
        self.metrics, self.evaluation, self.rule, self.pick = metrics, evaluation, rule, pick

    @property
    def recommended(self):
        return self.metrics.iloc[self.pick]

    @property
    def forecast_optimum(self):
        return self.metrics[self.metrics["origin"] == "forecast"].iloc[0]

    def why(self) -> str:
        """One sentence on why the recommended plan was chosen over the forecast optimum."""
        rec, opt = self.recommended, self.forecast_optimum
        if rec["plan"] == opt["plan"]:
            return f"The forecast optimum also satisfies the rule ({self.rule.describe()}) best."
        from fleetopt.summary import _money

        return (
            f"Chosen by the rule ({self.rule.describe()}): against the forecast optimum it changes "
            f"mean NPV by {_money(rec['npv_mean_usd'] - opt['npv_mean_usd'])}, CVaR5 by "
            f"{_money(rec['npv_cvar5_usd'] - opt['npv_cvar5_usd'])} and breach probability from "
            f"{opt['breach_probability']:.1%} to {rec['breach_probability']:.1%}."
        )

    def summary(self) -> dict:
        rec = self.recommended
        return {
            "fleetopt_version": __version__,
            "kind": "sweep",
            "model_name": self.loaded.model.name,
            "model_source": self.loaded.source,
            "model_hash": self.loaded.content_hash,
            "n_scenarios": self.evaluation.n_scenarios,
            "seed": self.evaluation.seed,
            "backend": self.evaluation.backend,
            "device": self.evaluation.device,
            "candidates_tried": len(self.candidates.candidates),
            "candidates_feasible": len(self.metrics),
            "rule": self.rule.describe(),
            "recommended": rec["plan"],
            "forecast_optimum": self.forecast_optimum["plan"],
            "why": self.why(),
            "npv_usd": float(rec["forecast_npv_usd"]),
            "npv_mean_usd": float(rec["npv_mean_usd"]),
            "npv_cvar5_usd": float(rec["npv_cvar5_usd"]),
            "breach_probability": float(rec["breach_probability"]),
            "front": self.metrics[self.metrics["on_front"]]["plan"].tolist(),
            "dropped": [
                {"plan": c.label, "status": c.status} for c in self.candidates.candidates if c.plan is None
            ],
        }


def write_sweep_run(result: SweepResult, out: str | Path | None = None) -> Path:
    """Write plans.npz, candidates.csv, front.csv, summary.json and model.yaml into the run folder
    (a new one, or the folder the sweep saved its candidates and chunks in)."""
    import shutil

    from fleetopt.outputs import write_text_atomic

    loaded = result.loaded
    out = Path(out) if out is not None else default_run_dir(f"{loaded.model.name}-sweep")
    feasible = result.candidates.feasible
    files = {
        "candidates.csv": result.metrics.to_csv(index=False, float_format="%.6f"),
        "front.csv": result.metrics[result.metrics["on_front"]].to_csv(index=False, float_format="%.6f"),
        "summary.json": json_text(result.summary()),
    }
    if (out / JOB_FILE).exists():
        for name, text in files.items():  # summary.json last: its presence marks a finished run
            write_text_atomic(out / name, text)
        shutil.rmtree(out / CHUNK_FOLDER, ignore_errors=True)
        return out
    plans = plans_npz_bytes(
        [c.plan for c in feasible], [c.label for c in feasible], loaded.model.name, loaded.content_hash
    )
    return write_run_dir(out, {"plans.npz": plans, "model.yaml": loaded.text, **files})


# ---------------------------------------------------------------- registry and reports


def register_run(kind: str, loaded: LoadedModel, path: str | Path, figures: dict) -> int:
    """Record a written run folder in the registry of the runs folder; returns the run id."""
    from fleetopt.registry import Registry

    keep = {k: v for k, v in figures.items() if isinstance(v, (int, float, str, bool)) or v is None}
    return Registry().record(kind, loaded.model.name, loaded.content_hash, Path(path), keep)


def resolve_run(ref: str | Path) -> Path:
    """A run folder from a path or a registry run id."""
    from fleetopt.registry import Registry

    return Registry().resolve(ref)


def report(run: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of a run folder or run id (default: report.html inside the folder)."""
    from fleetopt.report import write_report

    return write_report(resolve_run(run), out)

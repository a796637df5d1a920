"""The choices and options shared by the commands, declared once so that every command spells, limits and
explains them the same way."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from fleetopt.cli.option_values import checked, model_given, path_given, whole_number
from fleetopt.evaluate.backend import BACKENDS
from fleetopt.evaluate.backend_choice import AUTO_C_BUILD_PAIR_QUARTERS
from fleetopt.evaluate.jobfolder import EXECUTORS
from fleetopt.evaluate.metrics import EVALUATION_RANK_COLUMNS, RANK_COLUMNS
from fleetopt.milp.build import OBJECTIVES
from fleetopt.milp.highs import STOCHASTIC_MIP_GAP
from fleetopt.runs import limits
from fleetopt.runs.kinds import RUN_KINDS
from fleetopt.schema.model_file import DEFAULT_MODEL, bundled_model_names

# the CLI's choices, each the list the Python API checks against
Objective = StrEnum("Objective", {name: name for name in OBJECTIVES})
BackendName = StrEnum("BackendName", {name.replace("-", "_"): name for name in BACKENDS})
RunKind = StrEnum("RunKind", {kind: kind for kind in RUN_KINDS})  # fleetopt runs --kind
RankBy = StrEnum("RankBy", {name: name for name in RANK_COLUMNS})  # the sweep's --prefer: NPV figures
# fleetopt evaluate --rank-by: those and P(any default)
EvaluationRankBy = StrEnum("EvaluationRankBy",
                           {name.replace("-", "_"): name for name in EVALUATION_RANK_COLUMNS})
ExecutorName = StrEnum("ExecutorName", {name: name for name in EXECUTORS})


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"
    html = "html"


# the bundled models by name, as the help texts list them (models/*.yaml)
BUNDLED_NAMES = ", ".join(bundled_model_names())

ModelArg = Annotated[
    str | None,
    typer.Argument(
        callback=model_given,
        help=f"Model file, or a bundled model name ({BUNDLED_NAMES}). Default: {DEFAULT_MODEL}.",
    ),
]


ChangesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Change one field of the model for this run, as fleetopt.api.edit does: PATH as `fleetopt "
        "validate` names a field, VALUE in YAML (horizon.discount_rate_annual=0.10, "
        "skus.B200.capex_per_gpu_usd.start=45000, policy.distress_sales=false; a name with a dot in it "
        "in double quotes: 'skus.\"B200.v2\".power_kw_per_gpu=1.9'); VALUE null removes the field, "
        "so its default applies (an empty VALUE is refused); a mapping VALUE changes only the fields "
        "it names (remove the field first, PATH=null, to replace it whole). Repeat it for several, made "
        "in order; the run's model.yaml is the model as changed, and its summary.json's model_changes "
        "lists the changes.",
    ),
]


_out_folder = path_given("folder name", check=limits.out_path)
out_file = path_given("file name", file=True)  # report, compare, schema


OutFolderOption = Annotated[
    str | None,  # checked and made a Path by the callback: typer reads "" as Path(".")
    typer.Option(
        "--out",
        callback=_out_folder,
        # the default's name in pieces a help column of 80-column terminal can wrap (it cut it)
        help="Run folder to write (new or empty). Default: a new folder in $FLEETOPT_RUNS_DIR or "
        "./runs, named by the time, the model and the command.",
    ),
]


ReportFlag = Annotated[
    bool, typer.Option("--report/--no-report", help="Also write report.html in the run folder.")
]
# evaluate and sweep: their jobs keep --report for a resume
ResumableReportFlag = Annotated[
    bool,
    typer.Option(
        "--report/--no-report",
        help="Also write report.html in the run folder (--no-report overrides a --report a resumed run "
        "started with).",
    ),
]
ScenariosOption = Annotated[
    int,
    typer.Option(
        "--scenarios",
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Number of simulated futures, the same for every plan.",
    ),
]
SeedOption = Annotated[
    int,
    typer.Option(
        "--seed",
        parser=whole_number,
        callback=checked(limits.seed),
        help="Scenario seed: the same seed gives the same scenarios.",
    ),
]
BackendOption = Annotated[
    BackendName,
    typer.Option(
        "--backend",
        help="Evaluation backend. auto: CuPy when it can use a CUDA GPU (except for a run NumPy finishes "
        "before CuPy has started); else the fused kernel compiled as "
        f"C for runs of at least {AUTO_C_BUILD_PAIR_QUARTERS / 1e6:g} million plan-scenario-quarters where a "
        "C compiler builds it; else NumPy "
        "(the run's device line says why, when CuPy is installed but unusable or the C build fails); "
        "cpu-kernel: the fused kernel compiled as C.",
    ),
]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Threads for MILP solves (default: HiGHS decides) and for NumPy evaluation "
        "(default: one per usable core).",
    ),
]
EvaluateThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="NumPy threads of the evaluation (default: one per usable core); not with --workers above 1 "
        "or --executor ray, whose workers run one thread each.",
    ),
]


TimeLimitOption = Annotated[
    float | None,
    typer.Option(
        "--time-limit",
        callback=checked(limits.number, limits.MIN_TIME_LIMIT, unit="a time limit is in seconds"),
        help=f"Stop each MILP's search (HiGHS) after this many seconds (at least {limits.MIN_TIME_LIMIT}) "
        "and keep the best plan found; building the model, handing it to HiGHS and the LP that settles the "
        "plan's operations (docs/formulation.md §6a) come on top.",
    ),
]
MipGapOption = Annotated[
    float,
    typer.Option(
        "--mip-gap",
        callback=checked(limits.number, 0.0, limits.MAX_MIP_GAP, share=True),
        help=f"Relative MILP optimality gap to stop at, in [0, {limits.MAX_MIP_GAP}]; a stochastic "
        f"solve's (--stochastic) is {STOCHASTIC_MIP_GAP} unless this is given.",
    ),
]
# `solve --stochastic N` and `sweep --stochastic N` alike (the sweep's stochastic candidate)
SharePurchasesFlag = Annotated[
    bool,
    typer.Option(
        "--share-purchases",
        help="With --stochastic: every GPU purchase, power block and debt draw of the horizon is shared "
        "by the scenarios, as the evaluator runs a plan's, while each re-plans its prepayments, "
        "retirements, moves to inference, its purchases' split between training and inference and its "
        "operations after the first stage (a larger solve than the default, a smaller one than a first "
        "stage of the whole horizon; formulation §7b).",
    ),
]
ProbabilityLimit = checked(limits.number, 0.0, 1.0, share=True)
MaxBreachProbOption = Annotated[
    float | None,
    typer.Option(
        "--max-breach-prob",
        callback=ProbabilityLimit,
        help="Only plans with at most this covenant-breach probability, in [0, 1].",
    ),
]
ResumeOption = Annotated[
    str | None,  # made a Path by the callback: typer reads "" as Path("."), the current folder
    typer.Option(
        "--resume",
        callback=path_given("run folder or run id"),
        help="Finish an interrupted run in this run folder (or run id): only what it had not saved (a "
        "sweep's candidates, evaluation chunks) is computed. The --report and ranking options it was "
        "started with apply again; one given now replaces its own.",
    ),
]

"""The options of `fleetopt evaluate` of its own (those it shares with other commands are in
cli/options.py): the model and plans, the deterministic run, the NPV matrix, the ranking printed, the
executor, Ray's address, the worker processes and --explain with its plan.
"""

from __future__ import annotations

from typing import Annotated

import typer

from fleetopt.cli.option_values import checked, model_given, path_given, whole_number
from fleetopt.cli.options import BUNDLED_NAMES, EvaluationRankBy, ExecutorName, ProbabilityLimit
from fleetopt.core.results.risk_sentences import ANY_DEFAULT_MEANS
from fleetopt.runs import limits

EvaluateModelArg = Annotated[
    str | None,
    typer.Argument(
        callback=model_given,
        help=f"Model file or bundled model name ({BUNDLED_NAMES}). Default: the run folder's "
        "model.yaml, or the bundled model a plan file names, else neocloud."
    ),
]


PlansOption = Annotated[
    str | None,  # made a Path by the callback: typer reads "" as Path("."), the current folder
    typer.Option(
        callback=path_given("run folder, run id or plan file"),
        help="A run folder (solve or sweep), a run id, or a plan file (.npz, one plan or many). With "
        "--resume: where the job's plans file is now, if it moved (the same file, by its SHA-256).",
    ),
]


DeterministicFlag = Annotated[bool, typer.Option(help="Evaluate on the forecast itself (one scenario).")]


KeepMatrixFlag = Annotated[
    bool, typer.Option(help="Also write the plan x scenario NPV matrix (npv_matrix.npy).")
]


EvaluationRankByOption = Annotated[
    EvaluationRankBy | None,
    typer.Option(help="Rule for the best plans printed: the highest mean, cvar5 or p5 NPV; any-default, the "
                 f"lowest P(any default) {ANY_DEFAULT_MEANS}; or, of plans solved for least cost (solve or "
                 "sweep --objective cost), cost or cost-cvar95, the lowest mean or CVaR95 present cost. "
                 "Default: cost for plans solved for least cost, else cvar5."),
]


PrintedBreachProbOption = Annotated[
    float | None,
    typer.Option(
        "--max-breach-prob",
        callback=ProbabilityLimit,
        help="Print only plans with at most this covenant-breach probability, in [0, 1] (where none "
        "has, every plan, saying so); metrics.csv keeps every plan.",
    ),
]


RankedServiceOption = Annotated[
    float | None,
    typer.Option(
        "--min-service",
        callback=ProbabilityLimit,
        help="With --rank-by cost or cost-cvar95 (a lab's plans): rank plans serving at least this share of "
        "market demand on average over the scenarios, in [0, 1], ahead of those below it, which are marked "
        "(default: none).",
    ),
]


TopOption = Annotated[
    int,
    typer.Option(parser=whole_number, callback=checked(limits.whole, 1), help="How many plans to print."),
]


ExecutorOption = Annotated[
    ExecutorName,
    typer.Option(help="local: this process. ray: chunks as Ray tasks (pip install fleetopt[ray])."),
]


RayAddressOption = Annotated[
    str | None, typer.Option(help="Address of an existing Ray cluster (default: start a local one).")
]


WorkersOption = Annotated[
    int,
    typer.Option(
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Worker processes on this machine, one thread each, on NumPy or the C build as --backend "
        "chooses (default 1: in this process; capped to its usable cores, with a warning); not with "
        "--executor ray, whose tasks take the cluster's CPUs.",
    ),
]


ExplainOption = Annotated[
    str | None,
    typer.Option(
        help="Print one scenario's quarterly path of a plan after the tables and write it to path.csv: "
        "worst (lowest NPV), median, first-default (the earliest liquidity default), first-any-default "
        "(the earliest liquidity default or uncured covenant breach) or a scenario number.",
    ),
]


ExplainedPlanOption = Annotated[
    str | None,
    typer.Option(help="The plan --explain shows, by its label (needed where there are several)."),
]

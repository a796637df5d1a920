"""`evaluate --resume` of a finished evaluation given another ranking (--rank-by, --max-breach-prob,
--top): refused (:func:`refuse_new_ranking_of_finished`), saying where its figures are and the command
that ranks its plans otherwise, on the same scenarios.
"""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Callable
from functools import cache

import pandas as pd
import typer

from fleetopt import api
from fleetopt.cli.given_options import given
from fleetopt.errors import InputError
from fleetopt.evaluate.metrics import ranking_of
from fleetopt.evaluate.result import present_cost_computed, refuse_ranking
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.resume import kept_options

RANKING_OPTIONS = ("rank_by", "max_breach_prob", "min_service", "top")


def refuse_new_ranking_of_finished(ctx: typer.Context, folder: RunFolder) -> None:
    """`evaluate --resume` of a finished evaluation given a ranking other than the one it finished
    with (--rank-by, --max-breach-prob, --top): refused, naming how to rank its plans otherwise (it
    said "nothing to resume" and exited 0, the options unused). The one it finished with (its resume
    command typed again after it finished, by a batch job's retry) is no change."""
    if not (folder.is_finished and folder.is_job and folder.job().get("kind") == "evaluate"):
        return
    summary = cache(folder.summary)  # read once, where a ranking given needs it
    _refuse_what_its_plans_cannot_rank(ctx, summary)
    kept = kept_options(folder.path)
    pairs = set(itertools.pairwise(kept))  # each option and its value, as typed
    changed = []
    for param in (p for p in ctx.command.params if p.name in RANKING_OPTIONS and given(ctx, p.name)):
        default = _finished_rank_by(summary()) if param.name == "rank_by" else param.default
        typed, default = (str(getattr(v, "value", v)) for v in (ctx.params[param.name], default))
        if (param.opts[0], typed) not in pairs and (param.opts[0] in kept or typed != default):
            changed.append(f"{param.opts[0]} {typed}")
    if changed:
        otherwise = _ranked_otherwise(folder, summary(), changed)
        raise InputError(f"{' and '.join(changed)} cannot apply with --resume of {folder.path}, an "
                         f"evaluation that finished: {otherwise}")  # fmt: skip


def _refuse_what_its_plans_cannot_rank(ctx: typer.Context, summary: Callable[[], dict]) -> None:
    """A ranking a finished evaluation's plans cannot take, refused as a new evaluation of them refuses it,
    before any other: a present cost of plans solved for NPV, a service floor with an NPV ranking (the
    command that would rank them so, said otherwise, is refused too). Only a ranking given now: the one
    it finished with needs no check (and a damaged summary.json is said where the resume reads it).
    ``summary``: its summary.json, read where called."""
    if not (given(ctx, "rank_by") or given(ctx, "min_service")):
        return
    rank_by = ctx.params["rank_by"]
    rank_by = _finished_rank_by(summary()) if rank_by is None else rank_by.value
    metrics = summary().get("metrics")
    metrics = pd.DataFrame(metrics if isinstance(metrics, list) else [])
    refuse_ranking(rank_by, present_cost_computed(metrics), ctx.params["min_service"])


def _finished_rank_by(summary: dict) -> str:
    """The --rank-by a finished evaluation was ranked by where none was given (its plans' default,
    metrics.default_rank): its ``summary`` (summary.json)'s."""
    ranking = summary.get("ranking")
    return ranking_of(ranking if isinstance(ranking, dict) else None)[0]


def _ranked_otherwise(folder: RunFolder, summary: dict, changed: list[str]) -> str:
    """Where a finished evaluation's figures are (``summary``: its summary.json), and the command that
    ranks its plans by ``changed`` (options and values): the evaluation again, on the same scenarios."""
    job = folder.job()
    future = ["--deterministic"] if job.get("deterministic") else [
        "--scenarios", str(job.get("n_scenarios")), "--seed", str(job.get("seed"))]  # fmt: skip
    again = shlex.join(["fleetopt", "evaluate", str(folder.path / RunFolder.MODEL), "--plans",
                        str(job.get("plans_source")), *future, *" ".join(changed).split()])  # fmt: skip
    number = api.recorded_run_id(folder.path)
    if number is not None and summary.get("n_plans") == 1:  # runs show: one plan's figures
        shown = f"fleetopt runs show {number} prints them"
    else:
        shown = f"{shlex.join(['fleetopt', 'report', str(folder.path)])} shows them"
    return (f"its metrics.csv keeps every plan's figures ({shown}). To print its plans ranked another way, "
            f"evaluate them again into a new folder, on the same scenarios (the same figures): {again}")

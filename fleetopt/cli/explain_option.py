"""`evaluate --explain`: the scenario and the plan it names, checked before the run
(:func:`explain_request`); the path it picks, written to path.csv and path.json
(:func:`explained_path_written`) and printed with the commands that show it again
(:func:`print_explained`).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from fleetopt import api
from fleetopt.cli.consoles import console
from fleetopt.cli.render.evaluate import scenario_path_table
from fleetopt.evaluate.path import ScenarioPath
from fleetopt.evaluate.scenario_choice import chosen_plan, explain_choice, explained_path
from fleetopt.runs.files import write_text_atomic
from fleetopt.runs.folder import RunFolder


def explain_request(explain: str | None, plan: str | None, job: api.EvaluationJob, scenarios: int):
    """(rule or scenario number, the plan as a batch of one) of --explain and --plan, checked; None
    without --explain."""
    if explain is None:
        return None
    return explain_choice("--explain", explain, scenarios), chosen_plan(job.batch, plan, job.source.path)


def explained_path_written(job: api.EvaluationJob, explained: tuple, folder: Path):
    """(the path, why it was chosen) of the scenario --explain picks, written to path.csv and
    path.json in ``folder`` (the report's "One scenario's path"); None where its rule finds none."""
    rule, one = explained
    path, why = explained_path(job.data, one, job.settings["seed"], job.settings["n_scenarios"], rule)
    if path is None:
        console.print(f"--explain {rule}: {why}; nothing to explain.", highlight=False)
        return None
    write_text_atomic(folder / RunFolder.PATH_CSV, path.csv_text())  # the run's own file: to_csv refuses it
    write_text_atomic(folder / RunFolder.PATH_JSON, json.dumps(path.explained(), indent=1))
    return path, why


def print_explained(job: api.EvaluationJob, path: ScenarioPath, why: str, folder: Path) -> None:
    """The path --explain picked, its quarters and events printed, and how to see it again."""
    scenario, seed, n = path.scenario, path.seed, job.settings["n_scenarios"]
    console.print(f"Scenario {scenario} of seed {seed} ({why}), plan {path.plan!r}:", highlight=False)
    console.print(scenario_path_table(path.shown(), path.headline()))
    console.print(path.npv_words(), highlight=False, soft_wrap=True)  # the NPV path.json reconciles
    for line in path.events():
        console.print(line, highlight=False, soft_wrap=True)
    written = folder / RunFolder.PATH_CSV
    again = shlex.join(["fleetopt", "evaluate", str(folder / RunFolder.MODEL), "--plans",
                        str(job.source.path), "--scenarios", str(n), "--seed", str(seed), "--explain",
                        str(scenario), "--plan", path.plan])  # fmt: skip
    python = f"fleetopt.api.scenario_path({str(folder)!r}, {scenario}, plan={path.plan!r})"
    console.print(f"wrote {written} (every column: USD, multipliers, annual shifts, discount factors; the "
                  f"exact NPV and its end term in {RunFolder.PATH_JSON}). The same scenario "
                  f"again: {again}; from Python: {python}", highlight=False, soft_wrap=True)

"""One scenario's quarterly path of one plan: why a plan defaulted in 2031."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleetopt.api._keywords import arguments_checked
from fleetopt.api._models import ModelArg, _loadable, edit, load
from fleetopt.api._runs import resolve_run
from fleetopt.errors import Argument, InputError
from fleetopt.evaluate.jobfolder import model_of_plans
from fleetopt.evaluate.path import ScenarioPath
from fleetopt.evaluate.scenario_choice import (
    FORECAST_QUARTERS,
    chosen_plan,
    explain_choice,
    explained_path,
)
from fleetopt.evaluate.sources import PLANS_IN_MEMORY, read_plans
from fleetopt.runs import limits
from fleetopt.runs.folder import RunFolder
from fleetopt.schema.edit import check_changes

# the scenario a path follows (scenario_path's scenario, path's --explain)
_SCENARIO = Argument("scenario", "--explain")


@arguments_checked()
def scenario_path(
    plans: str | Path | int,
    scenario: int | str,
    seed: int | None = None,
    *,
    plan: str | int | None = None,
    model: ModelArg = None,
    what_if: Mapping[str | tuple, Any] | list[tuple] | None = None,
    scenarios: int | None = None,
) -> ScenarioPath:
    """Scenario ``scenario`` of ``seed`` for one plan of ``plans`` (a run folder, run id or plan file),
    quarter by quarter, simulated as `fleetopt evaluate --seed SEED` simulated it: its NPV is that
    scenario's in the evaluation. ``scenario``: its number, or the rule `evaluate --explain` picks one by,
    "worst", "median", "first-default" or "first-any-default", among the evaluation's scenarios (a rule
    that finds none is refused, saying why). An evaluation's or a sweep's run folder stands for the plans
    it evaluated, its seed and its number of scenarios (where `fleetopt evaluate --plans RUN --explain`
    evaluates them anew, on its own --seed and --scenarios); a deterministic evaluation's (one future,
    the forecast, whose quarters are the plan's statements under the model it was solved with; under a
    changed model, scenario 0 of ``scenarios=1`` with ``what_if={"risk": None}``, as `evaluate
    --scenarios 1 --set risk=null --explain 0`) is refused without a ``seed``, as `evaluate --explain
    --deterministic` is. ``seed``: None, the run's, else 0 (one other than an evaluation's or a
    sweep's own is refused, as ``scenarios`` are). ``plan``: its label or index in the file (None:
    the only one). ``model``: as :func:`evaluate`'s (None: the run's own); ``what_if``:
    changes to it, as :func:`edit` takes them. ``scenarios``: the evaluation's number of scenarios, which
    ``scenario`` must be below and a rule picks among (None: the run's, else any scenario number, and a
    rule's among 1,000, `evaluate`'s default; one other than a run folder's own is refused).

    Returns a :class:`~fleetopt.evaluate.path.ScenarioPath`: ``.frame`` one row per quarter (risk factors
    as multipliers or annual shifts; the discount factor; revenue, contracted and market, the costs down
    to EBITDA, the financing lines and the tax's basis in USD; each covenant's ratio and limit, the
    breach, the liquidity default, the policy's reactions), ``.events()`` (what happened each quarter,
    in words), ``.why`` (why it was chosen, as `--explain` says it), ``.npv_usd``, ``.npv_parts()`` and
    ``.end_term`` (the NPV's two parts and its end term's, USD), ``.to_csv(path)``."""
    if what_if is not None:
        check_changes(what_if, "what_if")
    path = resolve_run(plans, "plans").resolve()
    evaluated = _evaluation_job(path, seed)
    seed = _seed_of(path, evaluated, seed)
    scenarios = _scenarios_of(path, evaluated, scenarios)
    choice = explain_choice(_SCENARIO, scenario, scenarios)
    given = _loadable(model)
    loaded, data = load(given if given is not None else model_of_plans(path))
    if what_if is not None:
        loaded, data = load(edit(loaded, what_if))
    batch = read_plans(path, data).compile(data)
    among = limits.DEFAULT_SCENARIOS if scenarios is None else scenarios  # a rule's, as evaluate's
    picked, why = explained_path(data, chosen_plan(batch, plan, path), seed, among, choice)
    if picked is None:
        raise InputError.naming(_SCENARIO, f" {choice!r}: {why}; nothing to explain")
    return picked


def _evaluation_job(path: Path, seed: int | None) -> dict:
    """The settings of the finished evaluation or sweep run at ``path`` (its summary.json: its seed
    and number of scenarios; a run written from Python by ``write_*_run`` has no job.json); {} for
    anything else (plans, a solve, an evaluation on the forecast given a ``seed``: its plans in that
    seed's scenarios). An evaluation on the forecast without a ``seed`` is refused: its one future
    is the forecast, not seeded scenario 0."""
    run = RunFolder(path)
    if not (path.is_dir() and run.kind in ("evaluate", "sweep")):
        return {}
    summary = run.summary()
    if summary.get("deterministic") and seed is None:
        raise InputError(f"scenario_path cannot apply to {path}, a deterministic evaluation (as `fleetopt "
                         f"evaluate --explain` cannot with --deterministic): {FORECAST_QUARTERS}; give seed= "
                         "to follow one of its plans in a seeded scenario")  # fmt: skip
    return {} if summary.get("deterministic") else summary


def _seed_of(path: Path, evaluated: dict, seed: int | None) -> int:
    """The seed a path's scenarios are drawn from: ``seed``, checked, or the evaluation's
    (``evaluated``; a ``seed`` other than its own refused, as another number of scenarios is: the
    scenario would not be the evaluation's), else 0."""
    own = evaluated.get("seed")
    if seed is None:
        return 0 if own is None else own
    seed = limits.seed(limits.SEED, seed)
    if own is not None and seed != own:
        plans = evaluated.get("plans_source") or path / RunFolder.PLANS
        given = (f"write the result it evaluated as a run (its plans were {plans}) and give its folder"
                 if evaluated.get(PLANS_IN_MEMORY) else f"give their plan file, {plans}")
        raise InputError.naming(limits.SEED, f" must be {own}, the seed the run {path} evaluated, or left "
                                f"out (got {seed}); to follow its plans in the scenarios of seed {seed}, "
                                f"{given}")  # fmt: skip
    return seed


def _scenarios_of(path: Path, evaluated: dict, scenarios: int | None) -> int | None:
    """How many scenarios a path's scenario number must be below: ``scenarios``, checked, or the
    evaluation's (``evaluated``, its job.json; a ``scenarios`` other than its own refused); None:
    any."""
    own = evaluated.get("n_scenarios")
    if scenarios is None:
        return own
    scenarios = limits.scenarios(limits.SCENARIOS, scenarios)
    if own is not None and scenarios != own:
        raise InputError.naming(limits.SCENARIOS, f" must be {own:,}, the number the run {path} evaluated "
                                f"(scenarios 0 to {own - 1:,}), or left out (got {scenarios:,})")  # fmt: skip
    return scenarios

"""Which scenario `fleetopt evaluate --explain` shows, and of which plan: a rule of
:data:`EXPLAIN_RULES` applied to the plan simulated again a block of scenarios at a time
(:func:`scenario_outcomes`, :func:`pick_scenario`), or a scenario number (:func:`explain_choice`);
:func:`explained_path` is the path it picks (:mod:`fleetopt.evaluate.path`); :func:`chosen_plan` the
plan of several a path follows (``--plan``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.units import (
    format_usd,
    listed,
)
from fleetopt.errors import Argument, InputError
from fleetopt.evaluate.metrics import ANY_DEFAULT_EVENTS
from fleetopt.evaluate.path import AS_ASKED, ScenarioPath, scenario_path
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.evaluate.slip import by_slip
from fleetopt.runs import limits

# how `fleetopt evaluate --explain` picks its scenario (or a scenario number)
# first-default: the earliest liquidity default; first-any-default: the earliest default as P(any default)
# counts them (a liquidity default or an uncured covenant breach, metrics.ANY_DEFAULT_EVENTS)
EXPLAIN_RULES = ("worst", "median", "first-default", "first-any-default")


# why a deterministic evaluation has no scenario to explain, and how to see its quarters all the same:
# the plan's statements are the forecast's only under the model the plan was solved with (a --set
# changes them); one scenario with no risk factor is the forecast under the model as changed
FORECAST_QUARTERS = ("the forecast is one future: its quarters are the plan's statements (statements.csv) "
                     "under the model it was solved with, and `--scenarios 1 --set risk=null --explain 0` "
                     "shows them under a model changed by --set")


# the quarters before each event of ANY_DEFAULT_EVENTS (simulate's TIMING_FIELDS; T: none in the horizon)
_BEFORE = {"default": "quarters_before_default", "uncured_breach": "quarters_before_uncured"}


# scenarios simulated at once while a scenario is picked: one plan, so a block is small
_PICK_BLOCK = 4096


def scenario_outcomes(data: ModelData, plan: PlanBatch, seed: int, n_scenarios: int) -> dict:
    """(S,) each scenario's NPV (USD) and quarters before its liquidity default and before its uncured
    covenant breach (T: none) for one plan, simulated a block at a time (what :func:`pick_scenario`
    chooses from)."""
    consts = SimulationConstants.from_data(data)
    fields = ("npv", *_BEFORE.values())
    outcomes = {field: np.empty(n_scenarios) for field in fields}
    for s0 in range(0, n_scenarios, _PICK_BLOCK):
        s1 = min(n_scenarios, s0 + _PICK_BLOCK)
        block = generate_scenarios(data, seed, s0, s1)
        out = by_slip(lambda p, s, _slip: simulate(consts, p, s), plan, block)
        for name in fields:
            outcomes[name][s0:s1] = out[name][0]
    return outcomes


def pick_scenario(outcomes: dict[str, np.ndarray], rule: str, T: int) -> tuple[int | None, str]:
    """The scenario ``rule`` (of :data:`EXPLAIN_RULES`) picks, and why in words; None where
    "first-default" or "first-any-default" finds no default."""
    npv = outcomes["npv"]
    if rule == "worst":
        i = int(np.argmin(npv))
        return i, f"the lowest NPV of {len(npv):,} scenarios"
    if rule == "median":
        i = int(np.argsort(npv, kind="stable")[(len(npv) - 1) // 2])
        if len(npv) % 2:
            return i, f"the median NPV of {len(npv):,} scenarios"
        # an even count's median NPV (metrics.csv's, the report's) is no scenario's: say which is shown
        return i, (f"the lower of the two middle NPVs of {len(npv):,} scenarios; the median NPV, "
                   f"{format_usd(float(np.median(npv)))}, is their mean")
    if rule == "first-default":
        before = outcomes["quarters_before_default"]
        what = "liquidity default"
        missing = " (an uncured covenant breach is not one: first-any-default finds either)"
    else:
        before = np.minimum(*(outcomes[_BEFORE[event]] for event in ANY_DEFAULT_EVENTS))
        what, missing = "default as lenders count them, a liquidity default or an uncured covenant breach", ""
    if not (before < T).any():
        # P(any default) counts uncured covenant breaches too: say which default is missing
        return None, (f"no scenario of {len(npv):,} has a {what}{missing}; a scenario's number in the rule's "
                      "place shows any scenario (--explain 0; scenario_path(run, 0) from Python)")
    i = int(np.argmin(before))
    defaults = int((before < T).sum())
    return i, f"the earliest {what}; {defaults:,} of {len(npv):,} scenarios have one"


def explain_choice(name: limits.Name, value: int | str, scenarios: int | None) -> int | str:
    """What ``--explain`` (``name``) takes, checked: a rule of :data:`EXPLAIN_RULES`, or a scenario
    number (an int, or its digits as typed) below ``scenarios`` (None: any a seed has)."""
    if isinstance(value, str) and value not in EXPLAIN_RULES:
        try:
            value = int(value)
        except ValueError:
            raise InputError.naming(*limits.parts(name), f" must be {', '.join(EXPLAIN_RULES)} or a "
                                    f"scenario number (got {value!r})") from None  # fmt: skip
    if isinstance(value, str):
        return value
    high = limits.MAX_SCENARIO if scenarios is None else min(scenarios - 1, limits.MAX_SCENARIO)
    # the count set off by commas on both sides: it read "--explain, of 200 scenarios must be ..."
    of = "" if scenarios is None else f", one of {scenarios:,} scenarios,"
    return limits.whole((*limits.parts(name), of), value, 0, high)


def explained_path(data: ModelData, plan: PlanBatch, seed: int, n_scenarios: int,
                   choice: int | str) -> tuple[ScenarioPath | None, str]:  # fmt: skip
    """(the path, why it was chosen) of the scenario ``choice`` (:func:`explain_choice`'s) picks
    for ``plan`` (a batch of one) among ``n_scenarios`` of ``seed``: a number itself, a rule by
    :func:`pick_scenario` over the plan simulated again; the path None where the rule finds none."""
    if isinstance(choice, int):
        scenario, why = choice, AS_ASKED
    else:  # the plan alone again, a block of scenarios at a time: its NPV and default quarter each
        scenario, why = pick_scenario(scenario_outcomes(data, plan, seed, n_scenarios), choice, data.T)
    if scenario is None:
        return None, why
    path = scenario_path(data, plan, seed, scenario)
    path.why = why
    return path, why


# the plan of several that a path follows, as the API and the command line name it
PLAN = Argument("plan", "--plan")


def chosen_plan(batch: PlanBatch, plan: str | int | None, path: Path) -> PlanBatch:
    """The plan of ``batch`` (read from ``path``) named by ``plan``, a label or an index, as a batch
    of one; None: the only plan. Anything else is refused naming plan (--plan) and the labels."""
    labels = list(batch.labels)
    some = listed([repr(label) for label in labels[:5]]) + (" ..." if len(labels) > 5 else "")
    if plan is None:
        if len(labels) > 1:
            raise InputError.naming(PLAN, f": {path} holds {len(labels):,} plans: name one ({some})")
        index = 0
    elif isinstance(plan, str) and plan in labels:
        index = labels.index(plan)
    elif isinstance(plan, str):
        raise InputError.naming(PLAN, f": no plan {plan!r} in {path}; its plans are {some}")
    else:
        index = limits.whole((PLAN, ", an index"), plan, 0, len(labels) - 1)
    return batch.take(slice(index, index + 1))

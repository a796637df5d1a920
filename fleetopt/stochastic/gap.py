"""An estimate of the stochastic plan's optimality gap (`fleetopt solve --stochastic N --replications K
--gap-scenarios M`, docs/formulation.md §7b "Optimality gap"): Mak, Morton and Wood's (1999) bounds with
the same recourse on both sides. U: the K replications' objectives, each its sample's optimum of the
programme. L: the plan's first stage fixed in each of M fresh scenarios, each a copy of the programme's
scenario model re-planning its own future, its value as the extensive form counts it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fleetopt.core.data import ModelData
from fleetopt.core.units import counted, format_error, format_usd
from fleetopt.errors import Argument, InputError, NoPlanError
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.milp.highs import stage
from fleetopt.milp.stochastic.extensive_form import build_extensive_form
from fleetopt.milp.stochastic.first_stage import FirstStage
from fleetopt.runs import limits
from fleetopt.stochastic.mpisppy_route import RISK_WEIGHT
from fleetopt.stochastic.paired import MORE_SCENARIOS
from fleetopt.stochastic.replications import REPLICATIONS, out_of_sample_seed
from fleetopt.stochastic.screening import scenario_inputs
from fleetopt.stochastic.settings import SolverSettings

GAP_SCENARIOS = Argument("gap_scenarios", "--gap-scenarios")
# each fresh scenario is a MILP of one copy: 1,000 of the default model's is hours
MAX_GAP_SCENARIOS = 1_000
# the fresh scenarios built and solved together: their first stage fixed, no row links them, so a
# batch only bounds the memory (a copy of the default model is about 128 MB, formulation §7b "Memory")
GAP_BATCH = 10
CONFIDENCE = 0.95
# each side's one-sided quantile at 97.5 %: the two half-widths added hold at 95 % together
# (Bonferroni, MMW 1999 §3), where 95 % each held the pair at only 90 %
Z_975 = 1.959964
# Student's t at 97.5 % by degrees of freedom 1 ... 29 (K - 1, K <= 30 replications)
T_975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788,
         2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639,
         2.0595, 2.0555, 2.0518, 2.0484, 2.0452)  # fmt: skip


def t_975(df: int) -> float:
    """Student's t at 97.5 % with ``df`` degrees of freedom: :data:`T_975` up to 29, beyond it the
    Cornish-Fisher expansion in 1 / df about :data:`Z_975` (Abramowitz and Stegun 26.7.5, three terms:
    within 1e-4 from 30 on), so a small sample's side of the bound is never taken at the normal's
    quantile (M = 2 fresh scenarios: 12.71, not 1.96)."""
    if df <= len(T_975):
        return T_975[df - 1]
    z = Z_975
    terms = ((z**3 + z) / 4, (5 * z**5 + 16 * z**3 + 3 * z) / 96,
             (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384)  # fmt: skip
    return z + sum(term / df**power for power, term in enumerate(terms, start=1))
# gap_scenarios.csv's columns: a fresh scenario's index (of seed `seed`), its value (what L averages),
# NPV (its value plus penalties and tie-breaks) and whether its copy needed a rescue
GAP_COLUMNS = ("scenario", "value_usd", "npv_usd", "rescued")


def check_gap_scenarios(gap_scenarios, replications: int, risk_weight: float) -> int:
    """M: 0 (no estimate) or a whole number in [2, :data:`MAX_GAP_SCENARIOS`], refused by name
    without ``replications`` of at least 2 (U's standard error needs two samples) or with a risk
    weight (a CVaR's sample optimum is no mean of scenario values)."""
    count = limits.whole(GAP_SCENARIOS, gap_scenarios, 0, MAX_GAP_SCENARIOS)
    if count == 1:
        raise InputError.naming(GAP_SCENARIOS, " must be 0 (none) or at least 2 fresh scenarios: one "
                                "gives no standard error (got 1)")  # fmt: skip
    if count and replications < 2:
        raise InputError.naming(
            GAP_SCENARIOS, " needs ", REPLICATIONS, " K of at least 2: the gap sets the K samples' "
            f"optima against the plan's value on fresh scenarios (got K = {replications})",
        )  # fmt: skip
    if count and risk_weight:
        raise InputError.naming(
            GAP_SCENARIOS, " estimates the gap of the expected value: leave ", RISK_WEIGHT, " at 0 (got "
            f"{risk_weight:g}; a sample's CVaR is no mean of its scenarios' values)",
        )  # fmt: skip
    return count


def gap_seed(seed: int, replications: int) -> int:
    """The fresh scenarios' seed: the out-of-sample check's, ``seed + K``, which no replication
    reduced; the gap's M scenarios are that check's first M futures."""
    return out_of_sample_seed(seed, replications)


def fresh_scenario_rows(
    data: ModelData, shared: FirstStage, first_stage: dict, count: int, seed: int, integer_later: bool,
    solver: SolverSettings,
) -> tuple[list[dict], str]:
    """Scenarios 0 ... ``count`` - 1 of ``seed``, each a copy of the programme's scenario model (its
    rescue and penalties, risk weight 0) with ``first_stage`` fixed and the rest of its plan its own:
    a row per scenario (:func:`~fleetopt.milp.stochastic.scenario_rows.scenario_row`), and the worst
    status of their solves ("optimal" where every one reached the gap)."""
    drawn = generate_scenarios(data, seed, 0, count)
    inputs = scenario_inputs(data, drawn, np.arange(count), np.full(count, 1.0 / count))
    rows, status = [], "optimal"
    for start in range(0, count, GAP_BATCH):
        batch = inputs[start : start + GAP_BATCH]
        which = f"fresh scenarios {start} to {start + len(batch) - 1} (seed {seed})"
        ef = build_extensive_form(data, batch, shared, integer_later=integer_later)
        ef.fix_first_stage(first_stage)
        with stage(f"the plan's first stage in {which}"):
            solution = ef.solve(solver.mip_gap, solver.time_limit, solver.threads)
        if solution.objective_usd is None:
            raise NoPlanError(f"the plan's first stage in {which} found no plan ({solution.status}): no gap "
                              f"estimate; leave out {GAP_SCENARIOS.option}")  # fmt: skip
        rows += solution.scenarios
        status = solution.status if status == "optimal" else status  # the first short of the gap
    return rows, status


def gap_record(objectives, bounds, values, *, seed: int, reduced: bool, status: str) -> dict:
    """replications.gap: U = the mean of the K replications' ``objectives`` (each sample's optimum,
    E[U] >= the true optimum for a maximisation), L = the mean of the M fresh scenarios' ``values``
    under the plan's first stage (E[L] its true value), the gap U - L with its standard error
    sqrt(s_U^2 / K + s_L^2 / M), and the most it is at 95 %: U - L + t_{K-1} s_U / sqrt(K) + t_{M-1} s_L /
    sqrt(M) at 97.5 % each (Bonferroni), plus the solves' slack, the mean of each replication's bound
    less its objective (``bounds``; None where one is not known: then no bound is given).
    ``reduced``: whether the programme's scenarios were reduced from more drawn (U is then no plain
    sample average, and the bound no longer holds as MMW state it)."""
    upper, lower = np.asarray(objectives, dtype=float), np.asarray(values, dtype=float)
    k, m = len(upper), len(lower)
    upper_se, lower_se = upper.std(ddof=1) / math.sqrt(k), lower.std(ddof=1) / math.sqrt(m)
    gap = float(upper.mean() - lower.mean())
    slack = None if any(b is None for b in bounds) else float(
        np.mean([max(0.0, b - o) for b, o in zip(bounds, objectives, strict=True)]))  # fmt: skip
    most = None if slack is None else float(gap + t_975(k - 1) * upper_se + t_975(m - 1) * lower_se + slack)
    return {
        "scenarios": m,
        "seed": seed,
        "confidence": CONFIDENCE,
        "sample_optima_mean_usd": float(upper.mean()),
        "sample_optima_se_usd": float(upper_se),
        "fresh_values_mean_usd": float(lower.mean()),
        "fresh_values_se_usd": float(lower_se),
        "gap_usd": gap,
        "gap_se_usd": float(math.hypot(upper_se, lower_se)),
        "solver_slack_usd": slack,
        "gap_at_most_usd": most,
        "reduced": reduced,
        "status": status,
    }


def gap_frame(rows: list[dict]) -> pd.DataFrame:
    """gap_scenarios.csv: a row per fresh scenario (:data:`GAP_COLUMNS`); the mean of ``value_usd``
    is L."""
    shown = [{"scenario": int(row["scenario"].removeprefix("scenario ")), "value_usd": row["value_usd"],
              "npv_usd": row["npv_usd"], "rescued": bool(row["rescued"])} for row in rows]  # fmt: skip
    return pd.DataFrame(shown, columns=list(GAP_COLUMNS))


def optimality_gap_words(record: dict, settings: dict, typed: bool = True) -> str:
    """'optimality gap of the first stage: $3.1M ± $1.2M (estimate, 20 fresh scenarios), at most
    $6.0M at 95 %', with the caveat of a programme whose scenarios were reduced (naming the option the
    terminal's reader types, or with ``typed`` False the keyword a notebook's passes), and of solves
    short of the gap."""
    fresh = counted(record["scenarios"], "fresh scenario")
    most = record["gap_at_most_usd"]
    bound = ("no bound (a replication's solve gave none)" if most is None
             else f"at most {format_usd(most)} at {record['confidence']:.0%}")  # fmt: skip
    chance = "; below 0 by chance alone: no gap is" if record["gap_usd"] < 0 else ""
    said = (f"optimality gap of the first stage: {format_usd(record['gap_usd'])} ± "
            f"{format_error(record['gap_se_usd'])} (estimate, {fresh}{chance}), {bound}")  # fmt: skip
    if record["reduced"]:
        more = MORE_SCENARIOS.option if typed else MORE_SCENARIOS.keyword
        caveat = "the bound is indicative" if most is not None else "any bound would be only indicative"
        said += (f"; each sample's {counted(settings['scenarios'], 'scenario')} were reduced from "
                 f"{settings['screened']:,} drawn, not a plain sample, so {caveat} (it holds "
                 f"as Mak, Morton and Wood state it where {more} keeps every scenario drawn: N of "
                 f"{limits.DEFAULT_SCREEN} or more)")  # fmt: skip
    if record["status"] != "optimal":
        said += f"; a fresh scenario's solve stopped short of the gap ({record['status']}), so L is low"
    return said


# what the programme's objective counts, for a finance reader: the USD a gap is of
OBJECTIVE_WORDS = "the futures' expected NPV less the penalties of the rescues they need"


def gap_reading(record: dict) -> str:
    """The gap for a finance reader in a sentence: how much more, at most, the best first stage could
    be worth than the plan's, in USD of the programme's objective; without a bound, the estimate with
    its error."""
    most = record["gap_at_most_usd"]
    objective = f"in the programme's objective ({OBJECTIVE_WORDS})"
    if most is None:  # below 0 is chance alone: no gap
        about = format_usd(max(record["gap_usd"], 0.0))
        return (f"What it means: the best first stage could be worth about {about} "
                f"more than the plan's, give or take {format_error(record['gap_se_usd'])}, {objective}; "
                "with no solver bound from a sample, no figure it stays below can be given.")  # fmt: skip
    indicative = "; indicative: each sample was reduced" if record["reduced"] else ""
    return (f"What it means: the best first stage could be worth at most {format_usd(most)} more than the "
            f"plan's ({record['confidence']:.0%} confidence{indicative}), {objective}.")

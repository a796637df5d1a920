"""The settings of a two-stage stochastic solve (`fleetopt solve --stochastic N`, docs/formulation.md §7b):
the first stage's default length, the routes RP is solved by, how every MILP of the run is solved,
and each setting checked before the forecast's solve."""

from __future__ import annotations

from dataclasses import dataclass

from fleetopt.core.data import ModelData
from fleetopt.core.quarters import QUARTERS_PER_YEAR
from fleetopt.core.tail import TAIL
from fleetopt.errors import Argument, InputError, warn
from fleetopt.evaluate.backend_choice import check_backend_runs
from fleetopt.evaluate.slip import slips
from fleetopt.milp.highs import STOCHASTIC_MIP_GAP
from fleetopt.runs import limits
from fleetopt.stochastic.memory_estimate import check_memory
from fleetopt.stochastic.mpisppy_route import RISK_WEIGHT, ROUTE, check_route
from fleetopt.stochastic.mpisppy_route import ROUTES as MPISPPY_ROUTES

# how RP is solved: fleetopt's own extensive form and block solver, or mpi-sppy's extensive form
ROUTES = ("blocks", *MPISPPY_ROUTES)


# the first stage commits the first year by default (the whole horizon when it is shorter)
FIRST_STAGE_QUARTERS = QUARTERS_PER_YEAR


# what a model with risk.delivery_slip on is told of its stochastic solve: the solve's warning and its report
NO_SLIP_WORDS = (
    "risk.delivery_slip: the stochastic solve's scenarios carry no delivery slip (docs/formulation.md, "
    "section 7b), so its plan is not hedged against one; its out-of-sample check slips deliveries as "
    "fleetopt evaluate does"
)

# what --stochastic 1 is told: a "two-stage" plan of one future hedges nothing (EVPI 0, its CVaR that
# future's NPV), which the solve's figures do not say on their own
ONE_SCENARIO_WORDS = (
    "--stochastic 1: one scenario, the future that stands for all those drawn, so the plan is fitted to "
    "it alone and hedges nothing (EVPI 0, CVaR its NPV); a plan that hedges across futures needs 2 or "
    "more (--stochastic N, docs/formulation.md section 7b)"
)


def first_stage_quarters(data: ModelData, quarters: int | None = None) -> int:
    """Q: ``quarters`` as given, or by default :data:`FIRST_STAGE_QUARTERS` or the whole horizon
    when it is shorter (§7b, "Stages"; the sweep's stochastic candidate too)."""
    return min(FIRST_STAGE_QUARTERS, data.T) if quarters is None else quarters


def check_settings(
    data: ModelData, n, quarters, risk_weight, alpha, route="blocks", n_name: str = "scenarios",
    share_purchases: bool = False,
) -> None:
    """Bad settings are input errors (exit code 2) naming the argument and its option, each with
    what is allowed: 1 <= n <= ``limits.MAX_STOCHASTIC_SCENARIOS`` (``n_name``: the argument's
    name, the sweep's is ``stochastic``), ...; for the mpi-sppy route, mpi-sppy installed and L = 0.
    ``quarters`` None: the default of :func:`first_stage_quarters`."""
    scenarios = Argument(n_name, "--stochastic")
    n = limits.whole(scenarios, n, 1)
    most = limits.MAX_STOCHASTIC_SCENARIOS
    if n > most:
        raise InputError.naming(scenarios, f" must be at most {most:,} scenarios, the most the extensive "
                                f"form is built for (got {limits.shown_whole(n)})")  # fmt: skip
    cvar_alpha = Argument("cvar_alpha", "--cvar-alpha")
    alpha = limits.number(cvar_alpha, alpha)
    if not 0.0 < alpha <= limits.MAX_TAIL:
        raise InputError.naming(
            cvar_alpha, " is the share of worst scenarios the CVaR averages (0.05: the worst 5 %), not a "
            f"confidence level: it must lie above 0 and at most {limits.MAX_TAIL} (got {alpha})"
        )
    limits.number(RISK_WEIGHT, risk_weight, 0.0, 1.0)
    if quarters is not None:  # one of the horizon's quarters
        limits.whole(Argument("first_stage_quarters", "--first-stage-quarters"), quarters, 1, data.T)
    limits.text(ROUTE, route, ROUTES)
    if route != "blocks":
        check_route(route, risk_weight)
    check_memory(data, n, first_stage_quarters(data, quarters), n_name, share_purchases)


@dataclass(frozen=True)
class SolverSettings:
    """How every MILP of the run is solved."""

    mip_gap: float = STOCHASTIC_MIP_GAP
    time_limit: float | None = None
    threads: int | None = None


def check_before_solving(
    data: ModelData, n, quarters: int, risk_weight, alpha, route: str, seed, oos_seed, most_scenarios: int,
    backend: str, threads: int | None, share_purchases: bool = False
) -> None:
    """Every setting of :func:`~fleetopt.stochastic.run.solve_stochastic` checked, and the delivery
    slip it leaves out said, before the forecast's solve (minutes on a large model): a backend that
    cannot run fails now, not after it. ``most_scenarios``: the most scenarios either plan is
    evaluated on (screening or out of sample)."""
    check_settings(data, n, quarters, risk_weight, alpha, route, share_purchases=share_purchases)
    if risk_weight == 0.0 and alpha != TAIL:  # warned once a run, as it starts
        warn(Argument("cvar_alpha", "--cvar-alpha"), f" {alpha:g} with ", RISK_WEIGHT, " 0 optimises no "
             "CVaR: it sets only the share of the screened futures the scenario reduction keeps apart as "
             "the worst (formulation §7, Scenarios), which changes the scenarios solved; give a risk weight "
             "above 0 to weigh the worst futures in")  # fmt: skip
    if slips(data):
        warn(NO_SLIP_WORDS)
    if n == 1:
        warn(ONE_SCENARIO_WORDS)
    limits.seed("seed", seed)
    if oos_seed is not None:
        limits.seed("oos_seed", oos_seed)
    # at most two plans (the stochastic and the forecast optimum) on so many scenarios
    check_backend_runs(data, most_scenarios, backend, threads, n_plans=2)

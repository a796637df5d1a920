"""`fleetopt sweep --stochastic N [--share-purchases]`: the settings checked before any solve, and the
plan of `fleetopt solve --stochastic N` made a candidate (:class:`StochasticCandidate`)."""

from __future__ import annotations

from dataclasses import dataclass

from fleetopt.core.data import ModelData
from fleetopt.core.tail import TAIL
from fleetopt.core.units import (
    format_gap,
    format_usd,
)
from fleetopt.errors import Argument, InputError, NoPlanError
from fleetopt.milp.completion import broken_limit_words
from fleetopt.milp.highs import STOCHASTIC_MIP_GAP
from fleetopt.runs import limits
from fleetopt.stochastic.run import solve_stochastic
from fleetopt.stochastic.settings import check_settings, first_stage_quarters
from fleetopt.sweep.candidate_record import (
    Candidate,
)


def check_stochastic_candidate(
    data: ModelData, scenarios: int, candidates: int, share_purchases: bool = False
) -> None:
    """`sweep --stochastic N [--share-purchases]` checked before any solve: N >= 0 (0: off, where
    sharing has nothing to apply to), room for the candidate after the forecast optimum
    (``candidates`` >= 2), and the settings `solve --stochastic` checks."""
    scenarios = limits.whole(limits.STOCHASTIC, scenarios)
    limits.flag(limits.SHARE_PURCHASES, share_purchases)
    if scenarios < 0:
        raise InputError.naming(limits.STOCHASTIC, " must be 0 (no stochastic candidate) or at least 1 "
                                f"scenario (got {scenarios})")  # fmt: skip
    if not scenarios:
        if share_purchases:
            raise InputError.naming(limits.SHARE_PURCHASES, " cannot apply without a stochastic candidate: "
                                    "give ", Argument("stochastic", "--stochastic N"), " too")  # fmt: skip
        return
    if candidates < 2:
        raise InputError(
            f"--stochastic needs --candidates of at least 2: the forecast optimum is the first candidate "
            f"and the stochastic plan the second (got {candidates})"
        )
    check_settings(data, scenarios, first_stage_quarters(data), 0.0, TAIL, n_name="stochastic",
                   share_purchases=share_purchases)


@dataclass(frozen=True)
class StochasticCandidate:
    """`fleetopt sweep --stochastic N`: the plan of `fleetopt solve --stochastic N` (first stage
    Q = :func:`~fleetopt.stochastic.settings.first_stage_quarters`, L = 0, docs/formulation.md §7b) as a
    candidate. Its scenarios are reduced from ``seed``, which the sweep sets to one it does not
    evaluate on (its own seed + 1); with ``share_purchases`` (`--share-purchases`) they share every
    purchase, power block and draw, and its label says so: a sweep saved with the other setting
    holds no candidate of this label to be taken for it."""

    scenarios: int
    seed: int
    backend: str = "auto"
    mip_gap: float = STOCHASTIC_MIP_GAP  # its own: at the sweep's 0.5 % a large model's search runs long
    share_purchases: bool = False

    @property
    def label(self) -> str:
        shared = ", every purchase shared" if self.share_purchases else ""
        return f"stochastic: {self.scenarios} scenarios{shared}"


def stochastic_candidate(
    data: ModelData, spec: StochasticCandidate, time_limit: float | None, threads: int | None
) -> Candidate:
    """The completed stochastic plan, labelled with its scenario count, solved to ``spec.mip_gap``;
    without a plan, a candidate with that status (and no plan), as for any other."""
    label = spec.label
    try:
        result = solve_stochastic(
            data, spec.scenarios, quarters=first_stage_quarters(data), seed=spec.seed, oos_scenarios=0,
            mip_gap=spec.mip_gap, time_limit=time_limit, threads=threads, backend=spec.backend,
            share_purchases=spec.share_purchases,
        )  # fmt: skip
    except NoPlanError as exc:
        return Candidate(label, "stochastic", "no_plan", note=str(exc))
    m = result.measures
    quarters = result.settings["first_stage_quarters"]
    # as `solve --share-purchases`'s settings row says it: nothing is later on a horizon of Q quarters
    shared_later = spec.share_purchases and quarters < data.T
    later = " and every later purchase, power block and draw" if shared_later else ""
    note = (
        f"two-stage stochastic plan, {spec.scenarios} scenarios of seed {spec.seed}, first stage "
        f"quarters 0-{quarters - 1}{later} ({m['first_stage']}), "
        f"VSS {format_usd(m['vss_usd'])} at a {format_gap(m['gap'])} gap; "
        f"completed by {result.completion['method']}"
    )
    for broken in result.completion.get("limits_broken", []):
        note += f"; its statements break {broken_limit_words(broken)}"
    return Candidate(label, "stochastic", m["status"], result.plan, note=note)


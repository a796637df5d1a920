"""A candidate of `fleetopt sweep` as made (:class:`Candidate`: label, origin, status, plan, note) and
why one was dropped, in words: the statuses without a plan, the origins and their order."""

from __future__ import annotations

from dataclasses import dataclass

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.evaluate.batch import contract_owed

# the statuses of candidates without a plan to evaluate (a solve's "infeasible" and "no_plan", and
# a plan met before); every other status ("optimal", "time_limit" ...) comes with a plan
WITHOUT_PLAN = ("infeasible", "no_plan", "duplicate")

# the forecast optimum's label: a sweep's first candidate
FORECAST_OPTIMUM = "milp: forecast"

# how a sweep makes its candidates (Candidate.origin); the first is always the forecast optimum
ORIGINS = ("forecast", "stress", "robust", "proposal", "stochastic", "policy", "planned", "variation",
           "without_orders")

# the origins of the cash-buffer candidates, which a sweep's second round makes
BUFFER_ORIGINS = ("policy", "planned")

# the pick without the GPU orders its policy almost never takes (:func:`without_orders`), made after it
WITHOUT_ORDERS = "without_orders"

# the candidates made after the rule's first pick, from it: made again from a resume's or rerank's own pick
AFTER_PICK_ORIGINS = (*BUFFER_ORIGINS, WITHOUT_ORDERS)


def signed_short(data: ModelData, plan: Plan) -> list[str]:
    """The signed contracts ``plan`` serves with fewer GPUs than they have in a quarter from their
    deadline (:func:`~fleetopt.evaluate.batch.contract_owed`), by name: walked away from, which the
    model does not allow (`signed`: already signed and must be served)."""
    owed = contract_owed(data, Plan.stack([plan]))[0]
    return [con.name for k, con in enumerate(data.contracts) if con.signed and owed[k].any()]


def why_dropped(status: str, origin: str, same_as: str | None = None, completed: bool = False,
                stress_of: str | None = None) -> str:
    """Why a candidate of ``origin`` with ``status`` has no plan to evaluate, in words (a duplicate
    names the candidate it repeats, ``same_as``, where known; ``completed``: a stress optimum whose
    completion on the forecast failed, :meth:`_Making.honouring`; ``stress_of``: a planned buffer's
    stress optimum, whose stress it was solved under, None for the forecast optimum's);
    :func:`dropped_words` adds the limit a completion breaks."""
    if status == "duplicate":
        return f"the same plan as {same_as}" if same_as else "the same plan as an earlier candidate"
    if status == "infeasible":  # a variation or proposal is completed; a stress or robust optimum solved
        if origin == "proposal":  # the solve names the constraint in conflict
            return "breaks a hard limit once completed by the MILP (fleetopt solve --purchases FILE names it)"
        if origin in ("variation", WITHOUT_ORDERS) or completed:
            return "breaks a hard limit once completed by the MILP"
        if origin == "planned":
            where = f"under {stress_of}'s stress" if stress_of else "on the forecast"
            return f"no plan holds that much cash above finance.min_cash_usd every quarter {where}"
        return "no plan keeps the hard limits under its stress or requirement"
    return status.replace("_", " ")


def dropped_words(candidate: Candidate) -> str:
    """Why a candidate has no plan (:func:`why_dropped`), with the limit its completion breaks where
    named (:attr:`Candidate.broken`): 'breaks a hard limit once completed by the MILP: power: site s1
    in 2026Q1 short by 2.5 MW'."""
    c = candidate
    return f"{c.dropped_reason}: {c.broken}" if c.broken and c.status == "infeasible" else c.dropped_reason


@dataclass
class Candidate:
    label: str
    origin: str  # forecast | proposal | stochastic | stress | robust | policy | planned | variation
    status: str
    plan: Plan | None = None
    forecast_npv_usd: float | None = None
    note: str = ""
    liquidity_buffer_usd: float | None = None  # the policy's buffer this plan runs with (None: the model's)
    gap: float | None = None  # its solve's relative gap (None: not solved, or not known)
    same_as: str | None = None  # a duplicate's earlier candidate (its label)
    # a policy candidate's plan run without its buffer, or the optimum a planned one re-solves (its label)
    buffer_of: str | None = None
    # a planned candidate's cash held above finance.min_cash_usd every quarter by its MILP (None: none)
    planned_buffer_usd: float | None = None
    # made after the rule's first pick: that pick's own buffers (:func:`second_round`), which a
    # resume or a re-ranking makes again from its own pick
    second_round: bool = False
    # a completion dropped for a hard limit: the largest shortfalls in words, as the LP of the relaxed
    # model finds them (fleetopt.milp.diagnose.CompletionProbe; '' where it names none)
    broken: str = ""

    @property
    def has_plan(self) -> bool:
        """Whether it made a plan to evaluate (a candidate saved with its status: not dropped)."""
        return self.status not in WITHOUT_PLAN

    @property
    def dropped_reason(self) -> str:
        """Why it has no plan, in words (:func:`why_dropped`), without the limit it breaks; a limit
        is named only where its completion on the forecast was infeasible."""
        # a planned buffer is of the forecast optimum (the first round) or of a stress optimum picked
        # (:func:`second_round`)
        stress_of = self.buffer_of if self.buffer_of != FORECAST_OPTIMUM else None
        return why_dropped(self.status, self.origin, self.same_as, bool(self.broken), stress_of)


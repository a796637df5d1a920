"""The GPU orders a plan's policy cancels in nearly every future: orders it commits to and then does
not take, its deposits forfeited (docs/evaluation.md, policy rule 0).

A cash buffer the plan's own forecast does not keep is kept by deferring an order and, where deferring
is not enough, cancelling it the next quarter. The sweep's figures say how often any order is
cancelled; a lender reading the pick asks which orders, and whether they are ever taken. The pick is
run again, one quarter at a time, by the evaluation's own NumPy simulation on the sweep's scenarios
(and on the forecast), reading the deposits each quarter forfeits from what it shows of each quarter
(``simulate(watch=...)``), as evaluate/path.py reads one scenario's quarter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.core.units import format_count, format_percent, format_usd, listed
from fleetopt.evaluate.batch import compile_plans, with_buffers
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.scenarios import ScenarioSet, forecast_scenario, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.evaluate.slip import by_slip

# an order cancelled in at least this share of the scenarios is one the plan almost never takes
NEARLY_ALWAYS = 0.95
# the share of an order (the part the policy may defer) cancelled that counts as the order cancelled:
# all of it, but for round-off
WHOLE = 0.99
# the most scenarios the pick is run on again (in blocks of BLOCK): a sweep on a GPU may have far more,
# and the NumPy simulation of one plan took 2 s for 10,000 on the default model (2 cores)
MOST_SCENARIOS = 10_000
BLOCK = 2_000


@dataclass(frozen=True)
class CancelledOrder:
    """An order of quarter ``quarter``: the part of the plan's GPU purchases in it that the policy may
    defer (those no contract needs), its price and deposit (USD, at the prices planned), and the
    share of the scenarios in which it is cancelled."""

    quarter: str
    capex_usd: float
    deposit_usd: float
    gpus: float
    scenario_share: float
    on_forecast: bool  # cancelled on the forecast itself, run with the same buffer


@dataclass(frozen=True)
class CancelledOrders:
    """The orders cancelled in at least NEARLY_ALWAYS of ``n_scenarios`` scenarios (the first of the
    sweep's, at most MOST_SCENARIOS), in quarter order."""

    orders: tuple[CancelledOrder, ...]
    n_scenarios: int
    of_scenarios: int  # the sweep's scenarios: more than n_scenarios where they were capped


def cancelled_shares(data: ModelData, plans: PlanBatch, scen: ScenarioSet) -> np.ndarray:
    """(P, S, T) share of each quarter's order (the part the policy may defer, ``order_deposit``)
    that each scenario cancels, read from the deposits forfeited the next quarter (a deferred order
    is cancelled the quarter after it was due). Each scenario runs on its delivery slip's variant."""
    consts = SimulationConstants.from_data(data)

    def run(variant: PlanBatch, block: ScenarioSet, _slip) -> dict:
        forfeited = np.zeros((variant.P, block.S, consts.T + 1))

        def watch(t: int, v: dict) -> None:
            usd = v["liquidity"].usd
            if usd:  # the rules that take GPUs out of the plan are on
                forfeited[:, :, t + 1] = usd["forfeited_usd"]

        simulate(consts, variant, block, watch=watch)
        paid = np.diff(forfeited, axis=2)[:, :, 1:]  # forfeited in t + 1: the order of t, cancelled
        deposit = variant.order_deposit[:, None, :-1]
        share = np.divide(paid, deposit, out=np.zeros_like(paid), where=deposit > 0)
        return {"share": np.concatenate([share, np.zeros((variant.P, block.S, 1))], axis=2)}

    return by_slip(run, plans, scen)["share"]


def nearly_always_cancelled(data: ModelData, plan: Plan, buffer: float | None, seed: int,
                            n_scenarios: int) -> CancelledOrders:  # fmt: skip
    """The orders of ``plan``, run with ``buffer`` (USD; None: the model's), cancelled in at least
    NEARLY_ALWAYS of scenarios ``0 .. n - 1`` of ``seed`` (n: ``n_scenarios``, at most MOST_SCENARIOS)."""
    batch = with_buffers(compile_plans(data, [plan], ["plan"]), [buffer])
    n = min(n_scenarios, MOST_SCENARIOS)
    whole = np.zeros(data.T)
    for start in range(0, n, BLOCK):
        scen = generate_scenarios(data, seed, start, min(start + BLOCK, n))
        whole += (cancelled_shares(data, batch, scen)[0] >= WHOLE).sum(axis=0)
    forecast = with_buffers(compile_plans(data, [plan], ["plan"], slips=False), [buffer])
    on_forecast = cancelled_shares(data, forecast, forecast_scenario(data))[0, 0] >= WHOLE
    share = whole / n
    orders = tuple(CancelledOrder(data.quarter_labels[t], float(batch.order_capex[0, t]),
                                  float(batch.order_deposit[0, t]), float(batch.order_gpus[0, :, t].sum()),
                                  float(share[t]), bool(on_forecast[t]))
                   for t in np.flatnonzero(share >= NEARLY_ALWAYS))  # fmt: skip
    return CancelledOrders(orders, n, n_scenarios)


def cancelled_orders_words(found: CancelledOrders, again: bool = False) -> str:
    """' It cancels 2 of its GPU orders in at least 95% of the scenarios, and on the forecast too:
    2027Q4's ($1.61B, 20,422 GPUs, in 100.0%) and ...' ('' where none is); ``again``: the plan is
    already one without the orders its first pick almost never took, so 'It still cancels ...' (a
    plan named "..., without the orders it almost never takes" read as if it cancelled none)."""
    if not found.orders:
        return ""
    everywhere = all(o.on_forecast for o in found.orders)
    scenarios = ("the scenarios" if found.n_scenarios == found.of_scenarios
                 else f"the first {found.n_scenarios:,} scenarios")  # fmt: skip
    deposits = sum(o.deposit_usd for o in found.orders)
    return (
        f" It {'still cancels' if again else 'cancels'} {len(found.orders):,} of its GPU orders in at least "
        f"{format_percent(NEARLY_ALWAYS, 0)} "
        f"of {scenarios}{', and on the forecast too' if everywhere else ''}: "
        f"{listed(_order_words(o, everywhere) for o in found.orders)} (the part of each quarter's order no "
        f"contract needs, at the prices planned): the plan commits to these orders, and to "
        f"{format_usd(deposits)} of deposits on them, but almost never takes them."
    )


def _order_words(order: CancelledOrder, everywhere: bool) -> str:
    """'2027Q4's ($1.61B, 20,422 GPUs, in 100.0%)', and whether the forecast cancels it too where
    the forecast does not cancel them all."""
    forecast = ", on the forecast too" if order.on_forecast else ", not on the forecast"
    forecast = "" if everywhere else forecast
    return (f"{order.quarter}'s ({format_usd(order.capex_usd)}, {format_count(order.gpus, 'GPUs')}, in "
            f"{format_percent(order.scenario_share)}{forecast})")  # fmt: skip

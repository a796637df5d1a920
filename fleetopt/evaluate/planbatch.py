"""The plans the evaluator simulates: :class:`PlanBatch`, per-quarter quantities with a leading
plan axis, compiled from full plans by :func:`fleetopt.evaluate.batch.compile_plans`.

It holds, for each plan, what its fixed decisions earn and cost at forecast prices, broken down
only as far as the risk factors need (by use, generation and site), so the simulation multiplies
by scenario factors instead of re-pricing every cohort.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import numpy as np


@dataclass
class PlanBatch:
    """Per-plan quantities (leading axis P). Money in USD, power in MW, GPUs in GPUs."""

    labels: list[str]
    market_revenue: np.ndarray  # (P, 2, G, I, T) forecast-price market revenue
    market_supply: np.ndarray  # (P, 2, I, T) H100-equivalent GPUs offered to the market
    market_gpus: np.ndarray  # (P, 2, I, T) GPUs offered to the market
    contract_gpus: np.ndarray  # (P, K, I, T) GPUs serving each contract
    # (P, K, T) a contract's GPUs where the plan serves it with fewer from its deadline through its
    # term (0 elsewhere): the evaluator counts it delivered short there (docs/evaluation.md, quarter step 2)
    contract_owed: np.ndarray
    contract_mw: np.ndarray  # (P, I, T) facility MW of the GPUs serving contracts, at full draw
    market_mw: np.ndarray  # (P, 2, I, T) facility MW of the GPUs offered to the market, at full draw
    freed_supply: np.ndarray  # (P, K, I, T) a contract's GPUs on its use's market, H100-equivalent
    freed_revenue: np.ndarray  # (P, K, G, I, T) a contract's GPUs on its use's market, forecast prices
    # by generation, for the policy's order and sale rules (GPUs taken out of a plan are valued at
    # the plan's average GPU of their generation in each quarter; docs/evaluation.md)
    gen_market_gpus: np.ndarray  # (P, G, T) GPUs offered to the market
    gen_market_count: np.ndarray  # (P, 2, G, T) by use
    gen_market_supply: np.ndarray  # (P, 2, G, T) H100-equivalent, by use
    gen_market_electricity: np.ndarray  # (P, G, T) forecast electricity of the market GPUs at full draw
    # the same by use, generation and site, (P, 2, G, I, T): what of a generation taken out has power
    # in a quarter short of it (a removal is capped by its powered quantity; operations._market)
    gen_site_market_count: np.ndarray
    gen_site_market_supply: np.ndarray
    gen_site_market_electricity: np.ndarray
    # and their facility MW at full draw: what the GPUs taken out leave to the GPUs left at a short site
    gen_site_market_mw: np.ndarray
    # the policy's idle_gpus_to_market (batch._idle_tables), (P, 2, G, I, T) by use, generation and
    # site: GPUs installed for the use and not in service, their H100-equivalent supply, forecast
    # revenue, and the MW and forecast electricity they add at full draw over their idle draw
    idle_gpus: np.ndarray
    idle_supply: np.ndarray
    idle_revenue: np.ndarray
    idle_mw: np.ndarray
    idle_electricity: np.ndarray
    gen_held: np.ndarray  # (P, G, T) GPUs held
    gen_opex: np.ndarray  # (P, G, T) GPU opex of the GPUs held
    # (P, G, T) what the market GPUs earn in the plan's run on the forecast (revenue within the demand
    # and the power online, less their electricity; simulate.forecast_cash_flow): the value of the GPUs
    # the order rule takes out, defers, cancels or finds missing (batch._ebitda_taken, policy rule 0)
    gen_market_earned: np.ndarray
    gen_depreciation: np.ndarray  # (P, G, T)
    gen_sale_value: np.ndarray  # (P, G, T) what the GPUs held would fetch if sold in t (forecast resale)
    gen_book: np.ndarray  # (P, G, T) their book value
    gen_retired_proceeds: np.ndarray  # (P, G, T) the plan's disposal proceeds (forecast resale)
    gen_retired_book: np.ndarray  # (P, G, T) and the book value it disposes of
    gen_retired_gpus: np.ndarray  # (P, G, T) and its GPUs
    gen_terminal: np.ndarray  # (P, G) net realisable value of the GPUs held at the end
    gen_terminal_book: np.ndarray  # (P, G) and their book value (the liquidation's tax basis)
    gen_sellable: np.ndarray  # (P, G, T) market GPUs a distress sale may take: none a later contract needs
    # the borrowing base (formulation §5.9): the GPUs' gross resale value at the forecast's resale
    # values, in all and by generation, and the collateral the GPU-backed draws an order may defer need
    collateral: np.ndarray  # (P, T)
    gen_collateral: np.ndarray  # (P, G, T)
    # (P, T) the collateral the plan's own GPU-secured balances need at the end of each quarter (the
    # statements' collateral_required_usd): the prepayment rule projects the base's later rooms from it
    collateral_required: np.ndarray
    ltv_collateral: np.ndarray  # (P, T) ltv_draws x each facility's collateral weight (1 / max_ltv)
    order_capex: np.ndarray  # (P, T) price of the deferrable part of each quarter's GPU order
    order_capex_next: np.ndarray  # (P, T) the same GPUs at the next quarter's price
    order_deposit: np.ndarray  # (P, T) the deposit on that part
    order_gpus: np.ndarray  # (P, G, T) its GPUs by generation
    order_saving: np.ndarray  # (P, T) cash a quarter saves by deferring its whole deferrable order (forecast)
    # (P, T) the EBITDA the GPUs of that order would contribute the next quarter on the forecast: what
    # cancelling it then loses (batch._ebitda_taken; 0 in the last quarter)
    order_ebitda_next: np.ndarray
    # GPU-backed draws (facilities with max_ltv) deferred with the order, by the quarter t they are
    # planned in (0 where the facility cannot draw in t + 1; each at most what the plan owes the
    # facility at the end of t, economics.debt.repaid_shares): USD, and times each facility's forecast
    # rate of t + 1 and its floating flag of t + 1 (the interest the deferral saves in t + 1)
    ltv_draws: np.ndarray  # (P, T)
    ltv_draw_rate: np.ndarray  # (P, T)
    ltv_draw_floating: np.ndarray  # (P, T)
    ltv_facility_draws: np.ndarray  # (P, F, T) ltv_draws by facility
    # (P, T) what of ltv_draws the plan still owes after its repayment of t + 1 (0 in the last quarter):
    # the draws a cancellation in t + 1 of the order deferred in t leaves undrawn (policy rule 0)
    ltv_outstanding: np.ndarray
    # (P, F, T) the share of each facility's balance (at the start of t, plus t's draws) the plan repays
    # in t by scheduled principal and by prepayment (economics.debt.repaid_shares): the forgone balances'
    principal_share: np.ndarray
    prepaid_share: np.ndarray
    # (P, T) change in cash each quarter on the forecast as the evaluator runs the plan, without the
    # revolver or the liquidity rules: policy rule 0's projection (simulate.forecast_cash_flow)
    forecast_cash_flow: np.ndarray
    liquidity_buffer: np.ndarray  # (P,) the policy's buffer above the minimum cash, USD
    accepted: np.ndarray  # (P, K)
    drawn_mw: np.ndarray  # (P, I, T) planned facility MW drawn
    online_mw: np.ndarray  # (P, I, T) planned facility MW online
    electricity: np.ndarray  # (P, I, T) forecast electricity cost of the planned draw
    site_fixed: np.ndarray  # (P, T) fixed site cost of the planned MW online
    other_opex: np.ndarray  # (P, T) GPU opex + redeployment + overhead
    depreciation: np.ndarray  # (P, T)
    book_disposed: np.ndarray  # (P, T) book value of GPUs retired
    proceeds: np.ndarray  # (P, T) disposal proceeds at forecast resale values
    capex: np.ndarray  # (P, T) GPU and power capex
    draws: np.ndarray  # (P, F, T)
    prepay: np.ndarray  # (P, F, T)
    scheduled: np.ndarray  # (P, F, T) scheduled principal
    held: np.ndarray  # (P, T) GPUs held
    terminal_fleet: np.ndarray  # (P,) net realisable value of the fleet at the end (forecast resale)
    terminal_power: np.ndarray  # (P,) book value of power plant at the end
    terminal_book: np.ndarray  # (P,) book value of the fleet at the end (the liquidation's tax basis)
    build_site: np.ndarray  # (P, B) site of each power block group (padding: 0 with 0 MW)
    build_start: np.ndarray  # (P, B) quarter construction starts
    build_online: np.ndarray  # (P, B) quarter it is planned online
    build_mw: np.ndarray  # (P, B) MW of the group
    # delivery slip d -> the same plans with the slipping SKUs' deliveries d quarters late (each
    # a batch without slips of its own; empty without risk.delivery_slip: fleetopt.evaluate.slip)
    slipped: dict = field(default_factory=dict)
    # the plans were solved for least cost: an evaluation computes their present cost (engine.evaluate;
    # set by their source, evaluate/batch.py solved_for)
    solved_for_cost: bool = False

    def forgone_facilities(self) -> tuple[int, ...]:
        """The GPU-backed facilities on which the order rule may defer draws with an order, and so
        leave them undrawn where it cancels the order (``ltv_facility_draws`` not 0 in some plan)."""
        return tuple(int(f) for f in np.flatnonzero((self.ltv_facility_draws > 0).any(axis=(0, 2))))

    @property
    def P(self) -> int:
        return len(self.labels)

    @property
    def nbytes(self) -> int:
        """Bytes of the plans' arrays, without their delivery-slip variants (``slipped``)."""
        return sum(value.nbytes for value in vars(self).values() if isinstance(value, np.ndarray))

    @classmethod
    def concatenate(cls, parts: Iterable[PlanBatch], total: int | None = None) -> PlanBatch:
        """The plans of ``parts`` one after the other (power-build groups padded to the widest).

        With ``total`` (the number of plans in all parts) the output is allocated once and each
        part copied in as it comes, so a stream of parts never needs twice the batch's memory."""
        if total is None:
            parts = list(parts)
            total = sum(p.P for p in parts)
        out: dict = {"labels": []}
        builds: dict[str, list] = {f.name: [] for f in fields(cls) if f.name.startswith("build_")}
        slipped: dict[int, list] = {}
        at, for_cost = 0, False
        for part in parts:
            out["labels"] += part.labels
            for_cost = for_cost or part.solved_for_cost
            for d, variant in part.slipped.items():
                slipped.setdefault(d, []).append(variant)
            for f in fields(cls):
                value = getattr(part, f.name)
                if f.name in ("slipped", "solved_for_cost"):
                    continue
                if f.name in builds:
                    builds[f.name].append(value)
                elif f.name != "labels":
                    if f.name not in out:
                        out[f.name] = np.empty((total, *value.shape[1:]), dtype=value.dtype)
                    out[f.name][at : at + part.P] = value
            at += part.P
        if at != total:
            raise ValueError(f"{at} plans compiled, {total} expected")
        B = max((v.shape[1] for v in builds["build_mw"]), default=0)
        for name, values in builds.items():
            out[name] = np.concatenate([np.pad(v, ((0, 0), (0, B - v.shape[1]))) for v in values])
        out["slipped"] = {d: cls.concatenate(variants) for d, variants in slipped.items()}
        return cls(**out, solved_for_cost=for_cost)

    def take(self, rows) -> PlanBatch:
        """The plans at ``rows`` (a slice or index array), in that order."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "slipped":
                out[f.name] = {d: variant.take(rows) for d, variant in value.items()}
            elif f.name == "labels":
                out[f.name] = [value[i] for i in np.arange(self.P)[rows]]
            elif f.name == "solved_for_cost":
                out[f.name] = value
            else:
                out[f.name] = value[rows]
        return PlanBatch(**out)

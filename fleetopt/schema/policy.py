"""How a plan reacts inside a scenario: the evaluator's recourse rules (docs/evaluation.md, "Policy").

The MILP's plan fixes purchases, power builds and debt; the policy says what the company does
when a scenario departs from the forecast. Every rule off is the open-loop evaluation (the plan's
decisions happen whatever the scenario does). No rule acts on the forecast itself.
"""

from __future__ import annotations

from fleetopt.schema.base import Fraction, GpuCount, Money, StrictModel


class Policy(StrictModel):
    """The evaluator's recourse rules, each on by default but `idle_gpus_to_market` and
    `prepay_borrowing_base`."""

    power_to_contracts_first: bool = True
    """A site short of power serves its contracted GPUs first, then inference-market GPUs, then
    training-market GPUs; the idle draw of GPUs held but not in service is not taken from the MW
    online (docs/evaluation.md, quarter step 1) (off: every GPU at the site is cut in proportion)."""
    reschedule_late_contracts: bool = True
    """A contract short of GPUs at or after its delivery deadline is late, not cancelled: each late
    quarter earns only on its GPUs delivered and pays its `delay_penalty_usd_per_quarter`; only a
    contract late for more than its `delay_allowance_quarters` is cancelled with its cancellation
    penalty (off: the first short quarter at or after the deadline cancels it)."""
    freed_gpus_to_market: bool = True
    """GPUs planned for a contract that has ended early (customer default or cancellation) are
    offered on the market of the contract's use at the scenario's price, within demand (off: they
    stand idle)."""
    idle_gpus_to_market: bool = False
    """In a scenario quarter where a use's market demand exceeds what the plan's GPUs on that market
    serve, the GPUs the plan holds installed but not in service (bought ahead of demand, or kept where
    selling costs more) are offered to it at full draw and the scenario's price, within the MW each
    site has online beyond its planned draw: site by site in the model's order, at each inference
    first, then training, newest generation first, each in the use it is configured for where
    eligible, where the price covers the electricity they add and the policy takes none of their
    generation out (docs/evaluation.md, policy rule 5) (off, the default: they stand idle)."""
    defer_orders: bool = True
    """At the start of a quarter, when cash plus the undrawn revolver, less the interest due on the
    revolver drawn, what the scenario's rate and spread changes add to the interest on the plan's own
    debt (a fall saves), the interest and instalments due on prepayments cut before, the quarter's cash
    need on the plan's forecast (without what the GPUs sold or cancelled before would have earned) and
    the deferred payments falling due, plus the GPU-backed draws deferred into it and the interest
    they did not bear, would end below the minimum cash plus `liquidity_buffer_usd`, defer just
    enough of the quarter's GPU order by one quarter (only GPUs no contract uses that quarter or
    needs later, of an SKU still on sale the next quarter), at the next quarter's price, with the
    same share of the quarter's draws on facilities with `max_ltv` (drawn the next quarter; not in
    the last quarter of a facility's draw window); when deferring all of it is not enough, cancel as
    much of the order deferred from the quarter before as closes the gap, forfeiting its deposit,
    counting what its GPUs would earn that quarter; where `distress_sales` would sell its GPUs for at
    least what cancelling saves, only the part of the gap above the default level, the rest left to
    the sale (docs/evaluation.md, policy rule 0, "Cancel or sell") (off: every order is paid as
    planned)."""
    distress_sales: bool = True
    """When cash is still below the default level (`finance.default_cash_usd`) after the revolver,
    sell market GPUs, oldest generation first, in blocks of `sale_block_gpus`, at the scenario's resale
    value of the plan's average GPU of the generation less `retirement.selling_cost_fraction` and
    `distress_sale_discount` (docs/evaluation.md, policy rule 4), up to that level, before the scenario counts
    as a liquidity default (off: the shortfall is a default)."""
    cut_prepayments: bool = True
    """A quarter's planned debt prepayments are paid only from cash above `finance.min_cash_usd`
    plus `liquidity_buffer_usd` and the revolver drawn: where they would take cash below that by more
    than 1 USD, every facility's prepayment is cut by the same share to what cash can pay; the part
    cut is not prepaid, stays outstanding at the facility's rate and is repaid by its scheduled
    principal. The part the borrowing base needs at the quarter's end, or at a later quarter's end
    on the plan's own schedule at the quarter's resale level, is never cut (docs/evaluation.md,
    policy rule 3) (off: every prepayment is paid as planned)."""
    prepay_borrowing_base: bool = False
    """In a quarter whose borrowing base is tested, where the GPU-secured balances need more collateral
    than the fleet's value at the scenario's resale level, prepay the excess as a credit agreement's
    mandatory prepayment does: the least principal that brings the need back to the value, first on
    the facility with the smallest `max_ltv` (a USD repaid there frees the most collateral), paid from
    cash above `finance.min_cash_usd` plus `liquidity_buffer_usd`, then from the undrawn revolver; what
    those cannot pay stays a breach. No GPUs are sold for it. The prepaid principal owes no more
    interest and shortens the facility's last instalments (docs/evaluation.md, policy rule 6) (off,
    the default: a breach of the base is counted and nothing is paid)."""
    liquidity_buffer_usd: Money = 0.0
    """Cash the order rule keeps above `finance.min_cash_usd` in its projection, and the prepayment
    rule after its prepayments, USD; a larger buffer defers earlier and prepays less. Above 0 it acts
    on the forecast too: a plan then prepays less there (never what its borrowing base needs then or
    later) and may breach a covenant on its own forecast (`fleetopt evaluate --deterministic` shows
    it), which the sweep's rule excludes unless `--allow-forecast-breach`. A
    plan keeps the buffer it was made with (its plan file records it). The sweep varies it."""
    sale_block_gpus: GpuCount = 1000
    """GPUs per lot in a distress sale (an estimate: a few racks' worth)."""
    distress_sale_discount: Fraction = 0.0
    """Share of the scenario's resale value a distress sale gives up (a fire sale's discount to the
    GPUs' market value, 0 to 1): each GPU fetches its resale value times (1 - this); at 1 nothing is
    sold. 0 (the
    default) sells at the resale value itself, as the policy's rule states it; no source gives a
    figure for GPUs, so a lender's view is a stress, for example 0.3 (docs/calibration.md)."""

    @property
    def sale_share(self) -> float:
        """The share of the scenario's resale value a distress sale fetches: 1 - the discount."""
        return 1.0 - self.distress_sale_discount

    @property
    def open_loop(self) -> bool:
        """No rule on: the plan's decisions happen whatever the scenario does."""
        return not (
            self.power_to_contracts_first
            or self.reschedule_late_contracts
            or self.freed_gpus_to_market
            or self.idle_gpus_to_market
            or self.defer_orders
            or self.distress_sales
            or self.cut_prepayments
            or self.prepay_borrowing_base
        )

    @classmethod
    def off(cls) -> Policy:
        """Every rule off: the open-loop evaluation."""
        return cls(
            power_to_contracts_first=False,
            reschedule_late_contracts=False,
            freed_gpus_to_market=False,
            idle_gpus_to_market=False,
            defer_orders=False,
            distress_sales=False,
            cut_prepayments=False,
            prepay_borrowing_base=False,
        )

"""A quarter's operations in the array simulation (quarter steps 2-4, docs/evaluation.md): the
contracts delivered, the market sales within power and demand (less the GPUs the policy took out,
with the GPUs freed and, policy rule 5, the idle GPUs), the electricity and fixed costs: EBITDA
(:func:`quarter_operations`); and the power a short site leaves to the GPUs left after the policy's
takeout (:func:`power_left`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fleetopt.core.arrays import less_product, plus, plus_over, reusing
from fleetopt.evaluate.contract_book import ContractBook, FreedCapacity, contracts_quarter, zero_if_none
from fleetopt.evaluate.layout import PowerShortfall, Shortfall, fully_powered, over_sites, unpowered
from fleetopt.evaluate.liquidity import Adjustments


def quarter_operations(consts, pl, sc, book: ContractBook, power: PowerShortfall, short: Shortfall | None,
                       taken: Adjustments | None, t: int, served: Any, xp: Any,
                       earned: Any = None, parts: dict | None = None) -> tuple:  # fmt: skip
    """EBITDA and GPUs in use (sold or delivered) in quarter ``t``; adds the market demand served
    (H100-equivalent GPUs) to ``served``, and (``earned``, None: not kept) what each generation's own
    market GPUs earn, less their electricity, to ``earned[:, :, g, t]``; updates the contract book.
    ``parts`` (None: not kept): filled with the quarter's ``contract_revenue``, ``market_revenue``
    (rule 5's idle GPUs' included), ``electricity``, ``fixed`` costs, contract ``penalty`` (USD, (P, S)
    or 0.0) and ``served``, each contract's GPUs delivered; EBITDA is revenue less the three costs.

    With ``short`` None every pair is fully powered; otherwise each site's planned draw is scaled
    by its powered share, and each use's GPUs by theirs. Both give the same bits for a pair whose
    every share is 1, so whether a quarter takes the short path (which depends on the other pairs
    simulated with it) cannot change a pair's result.
    """
    if parts is not None:
        parts["served"] = {}
    contract_revenue, delivered_gpus, penalty, freed = contracts_quarter(
        consts, pl, sc, book, short, t, xp, parts
    )
    shares = None if short is None else short.market
    idle = book.policy.idle_gpus_to_market and bool(pl.idle.groups[t])
    safe = book.policy.freed_gpus_to_market or taken is not None or book.policy.idle_gpus_to_market
    excess = [sc.demand[0, t], sc.demand[1, t]] if idle else None  # demand the plan's market GPUs leave
    market_revenue, sold_gpus = _market(pl, sc, shares, freed, taken, safe, t, served, xp, earned, excess)
    if earned is not None:
        _less_market_electricity(earned, pl, sc, short, t)
    book.count_freed(freed)
    planned = pl.electricity_total[t] if short is None else over_sites(
        pl.electricity[:, t], short.phi, pl.used["electricity"][:, t]
    )
    fixed = pl.fixed_costs[t] if short is None else pl.fixed_costs[t] - short.fixed_saved
    if taken is not None:  # GPUs taken out draw no power and cost no opex
        for g in range(len(taken.market)):
            if taken.market[g] is not None and pl.gen_any["gen_market_electricity"][g, t]:
                planned = less_product(planned, taken.market[g], pl.gen_market_electricity[g, t], xp)
            if taken.held[g] is not None and pl.gen_any["gen_opex"][g, t]:
                fixed = less_product(fixed, taken.held[g], pl.gen_opex[g, t], xp)
        if short is not None:
            planned = _unpowered_taken(pl, short, taken.market, planned, t, xp)
    electricity = planned * sc.electricity_factor[t]
    ebitda = market_revenue + contract_revenue  # then the costs, in place: the parts are kept as they are
    ebitda = reusing(ebitda, xp.subtract, ebitda, electricity)
    ebitda = reusing(ebitda, xp.subtract, ebitda, fixed)
    if penalty is not None:
        ebitda = reusing(ebitda, xp.subtract, ebitda, penalty)
    used = sold_gpus + delivered_gpus
    if parts is not None:
        parts.update(contract_revenue=contract_revenue, market_revenue=market_revenue,
                     electricity=electricity, fixed=fixed, penalty=zero_if_none(penalty))  # fmt: skip
    if idle:  # policy rule 5: what the idle GPUs put to work earn, less their electricity at full draw
        net, idle_gpus = _idle_market(pl, sc, power, short, taken, excess, t, served, xp, parts)
        ebitda, used = reusing(ebitda, xp.add, ebitda, net), reusing(used, xp.add, used, idle_gpus)
    return ebitda, used


def _market(pl, sc, shares, freed: FreedCapacity, taken: Adjustments | None, safe: bool, t: int,
            served: Any, xp: Any, earned: Any = None,
            excess: list | None = None) -> tuple[Any, Any]:  # fmt: skip
    """Market revenue and GPUs sold in quarter ``t``: planned sales scaled by their uses' powered
    ``shares`` (None: fully powered), with the ``freed`` capacity and without the GPUs ``taken`` out
    (policy), capped by demand; each use's demand served (H100-equivalent GPUs) is added to
    ``served``, the (P, S) total. ``safe``: the policy's demand cap, which also holds where the offer
    is changed per pair (the same numbers wherever the plan's supply is positive). ``earned``
    (None: not kept): each generation's revenue from the plan's own market GPUs (not the freed
    ones), within power and demand, is added to ``earned[:, :, g, t]``. ``excess`` (None: not kept;
    given only with ``safe``): each use's demand, replaced by what of it the use's sales leave."""
    revenue_total = sold_total = None
    for u in range(2):
        if not pl.any_market[u, t] and freed.supply[u] is None:
            continue
        phi = None if shares is None else shares[u]
        powered, supply, gpus = _powered_offer(pl, phi, u, t)
        revenue, own = _use_revenue(pl, sc, phi, powered, freed, taken, safe, u, t, xp, earned is not None)
        supply, gpus, made = _less_taken_out(pl, taken, supply, gpus, phi, powered, u, t, xp)
        cap = sc.demand[u, t]
        scale, supply, gpus = _demand_scale(pl, freed, cap, supply, gpus, made, safe, powered, u, t, xp)
        revenue_total = plus_over(revenue_total, reusing(revenue, xp.multiply, revenue, scale), xp)
        for g, value in own:
            earned[:, :, g, t] += value * scale
        if safe:  # supply and gpus are this quarter's own arrays (else they may be the plans' columns)
            gpus = reusing(gpus, xp.multiply, gpus, scale)
            supply = reusing(supply, xp.multiply, supply, scale)
        else:
            gpus, supply = gpus * scale, supply * scale
        sold_total, sold = plus_over(sold_total, gpus, xp), supply
        served += sold  # each use straight into the pair's total, as the kernel adds it
        if excess is not None:
            excess[u] = xp.maximum(cap - sold, 0.0)
    return zero_if_none(revenue_total), zero_if_none(sold_total)


def _powered_offer(pl, phi: list | None, u: int, t: int) -> tuple[bool, Any, Any]:
    """Whether every site use ``u`` sells from in quarter ``t`` is powered (``phi``, its site
    shares; None: all), and the planned supply and GPUs offered that have power: the plans' site
    totals where all do (the same bits as the weighted sums with every weight 1)."""
    used = pl.used["market_revenue"][u, :, :, t]  # (G, I)
    powered = phi is None or (
        fully_powered(phi, pl.used["supply"][u, :, t] | pl.used["market_gpus"][u, :, t] | used.any(axis=0))
    )
    if powered:
        return powered, pl.supply_total[u, t], pl.market_gpus_total[u, t]
    supply = over_sites(pl.supply[u, :, t], phi, pl.used["supply"][u, :, t])
    gpus = over_sites(pl.market_gpus[u, :, t], phi, pl.used["market_gpus"][u, :, t])
    return powered, supply, gpus


def _use_revenue(pl, sc, phi: list | None, powered: bool, freed: FreedCapacity, taken: Adjustments | None,
                 safe: bool, u: int, t: int, xp: Any, keep_own: bool) -> tuple[Any, list]:  # fmt: skip
    """Use ``u``'s market revenue in quarter ``t`` at the scenario's prices, before the demand cap:
    each generation's powered sales (less the GPUs ``taken`` out, with ``safe``) plus its ``freed``
    capacity's; and, with ``keep_own``, each generation's from the plan's own GPUs as (g, revenue)
    pairs, for ``earned`` (0.0 where nothing is sold)."""
    used = pl.used["market_revenue"][u, :, :, t]  # (G, I)
    revenue, own = None, []
    generations = set(pl.generations_sold[u][t]) | {g for (v, g) in freed.revenue if v == u}
    for g in sorted(generations):
        base = (
            pl.market_revenue_total[u, g, t]
            if powered
            else over_sites(pl.market_revenue[u, g, :, t], phi, used[g])
        )
        if safe:  # less the plan's own market GPUs taken out, floored at 0 (:func:`_offered_revenue`)
            base = _offered_revenue(base, None if taken is None else taken.market[g], xp)
        if keep_own:
            own.append((g, base * sc.price_factor[g, t]))
        made = safe  # _offered_revenue's array, written over from here on
        if (u, g) in freed.revenue:  # freed GPUs are never taken out
            base, made = _over_if(made, xp.add, base, freed.revenue[u, g]), True
        revenue = plus_over(revenue, _over_if(made, xp.multiply, base, sc.price_factor[g, t]), xp)
    return zero_if_none(revenue), own


def _less_taken_out(pl, taken: Adjustments | None, supply: Any, gpus: Any, phi: list | None, powered: bool,
                    u: int, t: int, xp: Any) -> tuple[Any, Any, dict]:  # fmt: skip
    """Use ``u``'s ``supply`` and ``gpus`` offered less what the GPUs ``taken`` out by the policy
    would have supplied and counted (:func:`_taken_out`), and which of the two are arrays made
    here (so later steps may write over them; else they may be the plans' own columns)."""
    made = {"supply": False, "gpus": False}
    if taken is None:
        return supply, gpus, made
    for g, share in enumerate(taken.market):
        if share is not None:
            if pl.gen_any["gen_market_supply"][u, g, t]:
                out = _taken_out(pl, share, "supply", u, g, phi, powered, t, xp)
                supply, made["supply"] = reusing(out, xp.subtract, supply, out), True
            if pl.gen_any["gen_market_count"][u, g, t]:
                out = _taken_out(pl, share, "count", u, g, phi, powered, t, xp)
                gpus, made["gpus"] = reusing(out, xp.subtract, gpus, out), True
    return supply, gpus, made


def _demand_scale(pl, freed: FreedCapacity, cap: Any, supply: Any, gpus: Any, made: dict, safe: bool,
                  powered: bool, u: int, t: int, xp: Any) -> tuple[Any, Any, Any]:  # fmt: skip
    """The share of use ``u``'s offer that demand ``cap`` takes in quarter ``t``: cap / supply where
    demand binds, else exactly 1; with the policy's cap (``safe``), the offer (returned with it)
    first gets the ``freed`` capacity and is floored at 0; without it, the cheaper division where
    every plan supplies the market or sells nothing in it."""
    if safe:
        # 0 where nothing is offered; a plan's supply that is negative by round-off counts as nothing
        if freed.supply[u] is not None:
            supply = _over_if(made["supply"], xp.add, supply, freed.supply[u])
            gpus = _over_if(made["gpus"], xp.add, gpus, freed.gpus[u])
            made = {"supply": True, "gpus": True}
        supply = _over_if(made["supply"], xp.maximum, supply, 0.0)
        gpus = _over_if(made["gpus"], xp.maximum, gpus, 0.0)
        bound = xp.minimum(cap, supply)
        return reusing(bound, xp.divide, bound, xp.maximum(supply, TINY)), supply, gpus
    if powered and pl.supply_positive_or_idle[u, t]:
        return xp.minimum(cap, supply) / pl.supply_safe[u, t], supply, gpus  # supply / supply: exactly 1
    return xp.where(supply > cap, cap / xp.where(supply > 0, supply, 1.0), 1.0), supply, gpus


def _over_if(made: bool, ufunc: Any, a: Any, b: Any) -> Any:
    """``ufunc(a, b)``, written over ``a`` where it was ``made`` by this step (:func:`reusing`)."""
    return reusing(a, ufunc, a, b) if made else ufunc(a, b)


def _offered_revenue(base: Any, taken: Any, xp: Any) -> Any:
    """A generation's powered market revenue ``base`` at forecast prices less the share ``taken``
    out of its market GPUs (None: none in any pair; the use's shares are those of the GPUs left),
    as their supply and GPUs in :func:`_market`, floored at 0 so revenue follows the GPUs sold.
    Floored in every pair, taken out or not, as the kernel's fo_market_revenue: a plan's revenue
    negative by round-off must not count only where some plan simulated with it has GPUs taken
    out. Where nothing is taken out, ``base - 0.0 * base`` is ``base`` to the bit."""
    if taken is None:
        return xp.maximum(base, 0.0)
    offered = less_product(base, taken, base, xp)
    return reusing(offered, xp.maximum, offered, 0.0)


def _idle_market(pl, sc, power: PowerShortfall, short: Shortfall | None, taken: Adjustments | None,
                 excess: list, t: int, served: Any, xp: Any,
                 parts: dict | None = None) -> tuple[Any, Any]:  # fmt: skip
    """Policy rule 5 (``idle_gpus_to_market``, docs/evaluation.md): the GPUs the plans hold idle in
    quarter ``t``, offered group by group (``pl.idle.groups``: site, use, generation) to the demand
    their use's market GPUs leave (``excess``, drawn down), within the MW each site has online
    beyond its planned draw (drawn down); a group sells the share x = min(1, excess / its supply,
    MW left / its added MW), none where its generation has GPUs taken out by the policy or the
    scenario's price does not cover its added electricity. Adds the demand served to ``served``;
    returns what they earn less that electricity (at the scenario's prices), and the GPUs sold (the
    two added to ``parts``' market revenue and electricity, :func:`quarter_operations`). The kernel's
    fo_idle_market, operation for operation."""
    revenue = gpus = extra = None
    left = {}  # each site's MW online beyond its planned draw, as it is used
    idle = pl.idle
    for i, u, g in idle.groups[t]:
        if i not in left:  # the plan's where no pair is short (no block late), else the scenario's
            online = None if short is None else power.online(i, t)
            left[i] = idle.headroom[i, t] if online is None else xp.maximum(online - idle.drawn[i, t], 0.0)
        table = {name: column[u, g, i, t] for name, column in idle.tables.items()}
        supply, mw, count = table["supply"], table["mw"], table["gpus"]
        base, bill = table["revenue"], table["electricity"]
        x = xp.minimum(1.0, excess[u] / xp.where(supply > 0, supply, 1.0))
        x = xp.where(mw > 0, xp.minimum(x, left[i] / xp.where(mw > 0, mw, 1.0)), x)
        offered = (count > 0) & (base * sc.price_factor[g, t] > bill * sc.electricity_factor[t])
        if taken is not None and taken.held[g] is not None:
            offered = offered & ~(taken.held[g] > 0)
        x = xp.where(offered, x, 0.0)
        sold = supply * x
        excess[u] = xp.maximum(excess[u] - sold, 0.0)
        left[i] = xp.maximum(left[i] - mw * x, 0.0)
        served += sold
        revenue = plus(revenue, (base * x) * sc.price_factor[g, t])
        gpus = plus(gpus, count * x)
        extra = plus(extra, bill * x)
    if parts is not None:
        parts["market_revenue"] = parts["market_revenue"] + zero_if_none(revenue)
        parts["electricity"] = parts["electricity"] + zero_if_none(extra) * sc.electricity_factor[t]
    return zero_if_none(revenue) - zero_if_none(extra) * sc.electricity_factor[t], zero_if_none(gpus)


def _less_market_electricity(earned: Any, pl, sc, short: Shortfall | None, t: int) -> None:
    """Take from ``earned[:, :, g, t]`` the electricity of generation g's market GPUs in quarter
    ``t`` at the scenario's price: of those powered, each use's share at each site (``short``; None:
    all of them)."""
    for g in np.flatnonzero(pl.gen_any["gen_market_electricity"][:, t]):
        if short is None:  # the plan's total, summed as below with every share 1
            bill = pl.gen_market_bill[g, t]
        else:
            site = pl.gen_site_market["electricity"]
            used = pl.used["gen_site_market"]
            bill = sum(over_sites(site[u, g, :, t], short.market[u], used[u, g, :, t]) for u in range(2))
        earned[:, :, g, t] -= bill * sc.electricity_factor[t]


def _taken_out(pl, share: Any, name: str, u: int, g: int, phi: list | None, powered: bool, t: int,
               xp: Any) -> Any:  # fmt: skip
    """The market ``name`` ("supply" or "count") of use ``u`` the GPUs of generation ``g`` taken out
    remove: ``share`` of what of the forecast's is powered (``phi``, the use's site shares, those of
    the GPUs left; ``powered``: every used site's share is 1), so that one generation's removal
    never takes another's; ``share`` x the forecast's floored at 0, to the bit, wherever nothing
    lacks power (so whether other pairs of the batch lack it changes nothing)."""
    forecast = getattr(pl, f"gen_market_{name}")[u, g, t]
    if powered:
        return share * xp.maximum(forecast, 0.0)
    lost = unpowered(pl.gen_site_market[name][u, g, :, t], phi, pl.used["gen_site_market"][u, g, :, t])
    left = _less(forecast, lost, xp)
    return reusing(left, xp.multiply, share, left)


def _less(forecast: Any, lost: Any, xp: Any) -> Any:
    """What of a ``forecast`` quantity is powered, less what of it lacks power (``lost``, an array
    :func:`unpowered` made, written over; None: nothing), floored at 0 (a forecast negative by
    round-off counts as nothing, lost or not)."""
    if lost is None:
        return xp.maximum(forecast, 0.0)
    left = reusing(lost, xp.subtract, forecast, lost)
    return reusing(left, xp.maximum, left, 0.0)


def power_left(power: PowerShortfall, pl, short: Shortfall | None, taken: Adjustments | None,
               t: int) -> Shortfall | None:  # fmt: skip
    """``short`` with each short site's MW given to the GPUs left after the policy's takeout
    (:meth:`PowerShortfall.after_taken`): the market MW the GPUs of each generation taken out
    would have drawn there, its taken share of its GPUs' MW at the site, by use. ``short`` itself
    where nothing is taken out at a short site."""
    if short is None or taken is None:
        return short
    taken_mw = []
    for i, phi in enumerate(short.phi):
        by_use = [None] if phi is None else [_taken_at(pl, taken.market, "mw", (u,), i, t) for u in (0, 1)]
        taken_mw.append(None if all(mw is None for mw in by_use) else tuple(by_use))
    return short if all(mw is None for mw in taken_mw) else power.after_taken(short, taken_mw, t)


def _taken_at(pl, shares: list, name: str, uses: tuple, i: int, t: int) -> Any:
    """The market ``name`` ("mw" or "electricity") at site ``i`` of the GPUs taken out (by
    generation ``shares`` of their market GPUs, None: none) in ``uses``, uses then generations in
    order; None where nothing is taken out there."""
    total = None
    for u in uses:
        for g, share in enumerate(shares):
            if share is not None and pl.used["gen_site_market"][u, g, i, t]:
                total = plus(total, share * pl.gen_site_market[name][u, g, i, t])
    return total


def _unpowered_taken(pl, short: Shortfall, shares: list, planned: Any, t: int, xp: Any) -> Any:
    """The ``planned`` electricity (the powered draw less the forecast electricity of the market
    GPUs taken out, by generation ``shares``) plus, at each short site, what of the GPUs taken out
    had no power: their electricity there, at most the site's unpowered draw. So a short site draws
    its MW online, or its planned draw less the GPUs taken out where that is less; ``planned`` to
    the bit wherever nothing lacks power (an unpowered draw of 0.0)."""
    for i, phi in enumerate(short.phi):
        taken = None if phi is None else _taken_at(pl, shares, "electricity", (0, 1), i, t)
        if taken is not None:
            planned = planned + xp.minimum(taken, (1.0 - phi) * pl.electricity[i, t])
    return planned


TINY = 1e-300  # below any positive supply: dividing by it only where the supply is 0

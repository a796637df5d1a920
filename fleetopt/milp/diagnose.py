"""Explain an infeasible model: re-solve with penalised slacks on the soft-able constraint
groups and report which groups, quarters and items needed relaxing, and by how much."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from fleetopt.core.data import ModelData
from fleetopt.milp.build import MUSD, SOFT_GROUPS, build_model

_TOLERANCE = 1e-6


def diagnose(data: ModelData, objective: str = "npv", time_limit=None, threads=None) -> list[dict]:
    """Groups in conflict, each ``{group, unit, total, items: [(label, amount)], quarters}``.

    An empty list means the relaxed model is infeasible too: the conflict lies in a hard
    group (cohort balances, facility sizes, build limits), which is reported as such.
    """
    from fleetopt.milp.solve import run_highs

    m = build_model(data, objective, relax=True)
    status, _ = run_highs(m, time_limit=time_limit, threads=threads)
    if status in ("infeasible", "no_plan"):
        return [
            {
                "group": "hard constraints",
                "unit": "",
                "total": float("nan"),
                "items": [],
                "quarters": [],
                "message": "no relaxation of power, contracts, cash, covenants or demand helps: "
                "check facility sizes, build limits and the installed fleet",
            }
        ]
    by_group: dict[str, list] = defaultdict(list)
    for idx in m.SLACK:
        amount = pyo.value(m.slack[idx])
        if amount is None or amount <= _TOLERANCE:
            continue
        group, *key = idx
        by_group[group].append((key, amount))
    out = []
    for group, entries in by_group.items():
        items, quarters = [], set()
        for key, amount in entries:
            label, quarter = _describe(data, group, key)
            if quarter is not None:
                quarters.add(quarter)
            items.append((label, amount))
        out.append(
            {
                "group": group,
                "unit": SOFT_GROUPS[group].replace("MUSD", "USD"),
                "total": sum(a for _, a in items) * (MUSD if SOFT_GROUPS[group] == "MUSD" else 1.0),
                "items": [(lbl, a * (MUSD if SOFT_GROUPS[group] == "MUSD" else 1.0)) for lbl, a in items],
                "quarters": [data.quarter_labels[t] for t in sorted(quarters)],
            }
        )
    return sorted(out, key=lambda d: d["group"])


def _describe(data: ModelData, group: str, key: list) -> tuple[str, int | None]:
    q = data.quarter_labels
    if group in ("power", "late_power"):
        i, t = key
        late = " (were every block `robustness.power_delay_quarters` late)" if group == "late_power" else ""
        return f"site {data.sites[i].name} in {q[t]}{late}", t
    if group == "contract_delivery":
        k, t = key
        return f"contract {data.contracts[k].name} in {q[t]}", t
    if group == "customer_share":
        return f"customer {key[0]}", None
    if group == "demand_floor":
        u, t = key
        return f"{('training', 'inference')[u]} demand in {q[t]}", t
    if group == "robustness":
        t, case, test = key
        return f"{q[t]} ({test} with {case} lost)" if case != "market prices" else f"{q[t]} ({test})", t
    t = key[0]
    return f"{q[t]}" + (f" ({key[1]})" if len(key) > 1 else ""), t


def format_diagnosis(diagnosis: list[dict]) -> list[str]:
    """One line per conflicting group, for the terminal."""
    lines = []
    for d in diagnosis:
        if "message" in d:
            lines.append(f"{d['group']}: {d['message']}")
            continue
        worst = sorted(d["items"], key=lambda x: -x[1])[:3]
        detail = ", ".join(f"{label} short by {amount:,.1f} {d['unit']}" for label, amount in worst)
        span = f" in {d['quarters'][0]}..{d['quarters'][-1]}" if d["quarters"] else ""
        lines.append(f"{d['group']}{span}: {detail}" + (" ..." if len(d["items"]) > 3 else ""))
    return lines

"""MILP benchmark: model size, Pyomo build time, HiGHS solve time and gap.

    python -m benchmarks.bench_milp [--time-limit 300] [--only default] [--json out.json]

Instances are the bundled default model and larger ones generated from it (benchmarks/instances.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform

from benchmarks.instances import INSTANCES, load_dict, scaled
from fleetopt.core.data import build_data
from fleetopt.milp.solve import InfeasibleModel, NoPlanFound, solve


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
    )


def run(name: str, params: dict, time_limit: float, mip_gap: float) -> dict:
    loaded = load_dict(scaled(**params))
    data = build_data(loaded)
    row = {"instance": name, "quarters": data.T, "sites": data.I, "skus": data.S}
    try:
        result = solve(data, time_limit=time_limit, mip_gap=mip_gap, diagnose_infeasible=False)
    except (InfeasibleModel, NoPlanFound) as exc:
        return {**row, "status": type(exc).__name__}
    return {
        **row,
        **result.model_size,
        "build_s": round(result.build_seconds, 2),
        "solve_s": round(result.solve_seconds, 2),
        "gap": result.gap,
        "status": result.status,
        "npv_usd": result.statements.npv_usd,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--mip-gap", type=float, default=0.005)
    parser.add_argument("--only", action="append", help="instance name (repeatable)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = []
    print(f"machine: {machine()}")
    print(
        "| instance | quarters | sites | SKUs | variables | integer | constraints | build s | solve s | gap | status |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, params in INSTANCES.items():
        if args.only and name not in args.only:
            continue
        r = run(name, params, args.time_limit, args.mip_gap)
        rows.append(r)
        gap = "" if r.get("gap") is None else f"{r['gap']:.2%}"
        print(
            f"| {name} | {r['quarters']} | {r['sites']} | {r['skus']} | {r.get('variables', '')} | "
            f"{r.get('integer_variables', '')} | {r.get('constraints', '')} | {r.get('build_s', '')} | "
            f"{r.get('solve_s', '')} | {gap} | {r['status']} |",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": machine(), "rows": rows}, handle, indent=2)


if __name__ == "__main__":
    main()

"""How the fleet MILP scales with sites and quarters: model size, build time, solve time, peak memory.

    python -m benchmarks.bench_milp_scale [--large | --sizes 20x28,10x60] [--time-limit 300] [--json out.json]

Each instance is the bundled model twosite with its two sites copied to more (new names, the same
figures; the installed fleet stays on the first two; the opening cash grows with the sites) and its
horizon lengthened; each is built and solved (HiGHS, the default 0.5 % gap) in a process of its own,
so that its peak resident memory is its own. The default sizes run in a few minutes on two cores; ``--large`` adds 20 sites and 40- and
60-quarter horizons; ``--sizes`` runs only the sizes given (SITESxQUARTERS).
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import subprocess
import sys
import time

import yaml

from benchmarks.bench_milp import machine
from benchmarks.instances import load_dict
from fleetopt.core.data import build_data
from fleetopt.milp.solve import InfeasibleModel, NoPlanFound, solve
from fleetopt.schema.model_file import bundled_model_path

BASE_MODEL = "twosite"
SMALL = ((2, 12), (5, 12), (10, 12), (2, 28), (5, 28), (10, 28))
LARGE = ((20, 12), (20, 28), (5, 40), (10, 60))


def scaled_model(sites: int, quarters: int) -> dict:
    """twosite with its sites copied to ``sites`` sites (``texas-2``, ...) over ``quarters`` quarters,
    its opening cash scaled with the sites."""
    d = yaml.safe_load(bundled_model_path(BASE_MODEL).read_text())
    d["horizon"]["quarters"] = quarters
    originals = list(d["sites"].items())
    for n in range(len(originals), sites):
        name, site = originals[n % len(originals)]
        d["sites"][f"{name}-{n // len(originals) + 1}"] = copy.deepcopy(site)
    # each copied campus brings its share of the opening cash: its fixed costs alone, with no GPUs to
    # earn them back, leave 10 sites over 28 quarters below the minimum cash (infeasible) otherwise
    d["finance"]["opening_cash_usd"] *= sites / len(originals)
    d["name"] = f"{BASE_MODEL}-s{sites}-q{quarters}"
    return d


def run_one(sites: int, quarters: int, time_limit: float) -> dict:
    """Build and solve one instance in this process; its row, peak RSS included."""
    data = build_data(load_dict(scaled_model(sites, quarters)))
    row = {"sites": data.I, "quarters": data.T}
    t0 = time.perf_counter()
    try:
        result = solve(data, time_limit=time_limit, diagnose_infeasible=False)
    except (InfeasibleModel, NoPlanFound) as exc:
        return {**row, "status": type(exc).__name__}
    return {
        **row,
        **result.model_size,
        "build_s": round(result.build_seconds, 2),
        "solve_s": round(result.solve_seconds, 2),
        "total_s": round(time.perf_counter() - t0, 2),
        "gap": result.gap,
        "status": result.status,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def run_in_child(sites: int, quarters: int, time_limit: float) -> dict:
    command = [sys.executable, "-m", "benchmarks.bench_milp_scale", "--one", str(sites), str(quarters),
               "--time-limit", str(time_limit)]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def table_line(r: dict) -> str:
    gap = "" if r.get("gap") is None else f"{r['gap']:.2%}"
    cells = [r["sites"], r["quarters"], r.get("variables", ""), r.get("integer_variables", ""),
             r.get("constraints", ""), r.get("build_s", ""), r.get("solve_s", ""), gap, r["status"],
             r.get("peak_rss_mb", "")]  # fmt: skip
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _sizes(args) -> tuple:
    if args.sizes:
        return tuple(tuple(int(n) for n in size.split("x")) for size in args.sizes.split(","))
    return SMALL + (LARGE if args.large else ())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--large", action="store_true", help="add the larger instances")
    parser.add_argument("--sizes", help="only these sizes, SITESxQUARTERS, comma-separated")
    parser.add_argument("--time-limit", type=float, default=300.0, help="HiGHS's limit per solve, s")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--one", nargs=2, type=int, metavar=("SITES", "QUARTERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one, args.time_limit)))
        return
    print(f"machine: {machine()}; base model {BASE_MODEL}, HiGHS time limit {args.time_limit:g} s")
    print("| sites | quarters | variables | integer | constraints | build s | solve s | gap | status | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for sites, quarters in _sizes(args):
        rows.append(run_in_child(sites, quarters, args.time_limit))
        print(table_line(rows[-1]), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": machine(), "rows": rows}, handle, indent=2)


if __name__ == "__main__":
    main()

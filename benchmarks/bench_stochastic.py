"""Build and solve time, gap and peak memory of the two-stage extensive form per number of
scenarios (docs/formulation.md §7b; results in benchmarks/README.md, 'Stochastic MILP').

    python -m benchmarks.bench_stochastic [MODEL] [N ...]

Each N in a fresh process would be cleaner for the peak memory; here it is the process's peak so
far (the forecast solve, the screening and every smaller N included), so run one N per call for
the table.

    python -m benchmarks.bench_stochastic --out-of-sample 10000 [--scenarios N] [--seed 12345]
        [--sweep RUN_FOLDER] [--first-stage-quarters Q] [--share-purchases] [--time-limit SECONDS]

The out-of-sample table of docs/formulation.md §7b: the stochastic plan over N scenarios (default
10, reduced from seed 0; its first stage the first Q quarters, default that of `fleetopt solve
--stochastic`; ``--share-purchases`` shares every purchase, power block and draw of the horizon
too, as the solve's option; ``--time-limit`` bounds each of its solves, as the solve's own), the forecast
optimum and, with ``--sweep``, the recommended plan of a
`fleetopt sweep` run folder (with the cash buffer the sweep chose for it), each simulated on the
same fresh scenarios (seed 12345: neither the reduction's nor a default sweep's), with mean NPV,
CVaR5, P(breach), P(liquidity default), P(any default) and the standard errors of the paired
differences from the forecast optimum (fleetopt/stochastic/paired.py), and the share of the reduced
scenarios' probability whose copies cure a covenant, beside the plan's P(breach). Labelled with the
commit it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import time
from pathlib import Path

from fleetopt.core.data import load
from fleetopt.core.units import format_difference, format_figure, format_percent, format_usd
from fleetopt.evaluate.batch import compile_plans, with_buffers
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.evaluate.sources import read_plans
from fleetopt.milp.highs import model_size
from fleetopt.milp.stochastic.extensive_form import build_extensive_form
from fleetopt.milp.stochastic.first_stage import FirstStage
from fleetopt.milp.stochastic.fixed_first_stage import solve_with_first_stage
from fleetopt.stochastic.paired import evaluate_paired, paired_comparison, scenario_outcomes
from fleetopt.stochastic.reduction import reduce_scenarios
from fleetopt.stochastic.rescues import rescue_counts
from fleetopt.stochastic.run import solve_stochastic
from fleetopt.stochastic.screening import scenario_features, scenario_inputs

LIMIT = 600.0


def main(model: str = "neocloud", sizes: tuple[int, ...] = (5, 10)) -> None:
    _, data = load(model)
    started = time.perf_counter()
    forecast = solve_with_first_stage(data, FirstStage(4), mip_gap=0.01)
    print(
        f"{model}: forecast solve {time.perf_counter() - started:.1f} s, NPV {forecast.npv_usd / 1e9:.2f}B",
        flush=True,
    )
    drawn = generate_scenarios(data, 0, 0, 200)
    npv = evaluate(data, compile_plans(data, [forecast.plan], ["f"]), 200, 0, keep_matrix=True).npv_matrix[0]
    for n in sizes:
        rows, p = reduce_scenarios(npv, scenario_features(drawn), n, 0.05)
        ef = build_extensive_form(data, scenario_inputs(data, drawn, rows, p), FirstStage(4))
        rp = ef.solve(0.01, LIMIT, None)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = model_size(ef.m)
        gap = "-" if rp.gap is None else f"{rp.gap:.3%}"
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in rp.steps.items())
        value = "-" if rp.objective_usd is None else format_usd(rp.objective_usd)  # no plan: no RP
        print(
            f"N={n}: build {ef.build_seconds:.1f} s, solve {rp.seconds:.1f} s (load into HiGHS "
            f"{ef.load_seconds:.1f} s, {steps}; {rp.method}), {rp.status}, gap {gap}, peak RSS {peak:.0f} MB, "
            f"{size['variables']:,} variables ({size['integer_variables']:,} integer), "
            f"{size['constraints']:,} rows; RP {value}; scenario by scenario: {apart(ef)}",
            flush=True,
        )
        if rp.objective_usd is None:  # no plan: no VSS or EVPI to measure
            continue
        started = time.perf_counter()
        ef.fix_first_stage(forecast.first_stage)
        eev = ef.solve(0.01, LIMIT, None)
        ef.fix_first_stage(None)
        ef.m.nonanticipativity.deactivate()
        ws = ef.solve(0.01, LIMIT, None)
        ef.m.nonanticipativity.activate()
        print(
            f"      EEV {eev.seconds:.1f} s ({eev.method}, gap {eev.gap}), WS {ws.seconds:.1f} s ({ws.method}, "
            f"gap {ws.gap}); VSS {(rp.objective_usd - eev.objective_usd) / 1e9:.2f}B, "
            f"EVPI {(ws.objective_usd - rp.objective_usd) / 1e9:.2f}B",
            flush=True,
        )


def out_of_sample(
    model: str, n: int, scenarios: int, seed: int, sweep: Path | None, json_path: Path | None = None,
    quarters: int | None = None, time_limit: float | None = None, share_purchases: bool = False,
) -> None:
    """The stochastic plan, the forecast optimum and the sweep's pick on the same fresh scenarios; with
    ``json_path``, the table's rows unrounded there too (benchmarks/readme_figures.py reads them).
    ``quarters``: the stochastic solve's first stage (None: its default); ``time_limit``: of each of
    its solves (None: none); ``share_purchases``: as `fleetopt solve --share-purchases`."""
    _, data = load(model)
    started = time.perf_counter()
    result = solve_stochastic(data, n, quarters=quarters, time_limit=time_limit, oos_scenarios=0,
                              share_purchases=share_purchases)  # fmt: skip
    m = result.measures
    cured = rescue_counts(result.scenarios)["covenant_cured_probability"]
    print(
        f"{model} @ {commit()}: stochastic plan over {n} scenarios, first stage "
        f"{result.settings['first_stage_quarters']} quarters"
        f"{' and every purchase, power block and draw' if share_purchases else ''}, "
        f"in {time.perf_counter() - started:.0f} s (RP's solve {result.timings['solve_seconds']:.0f} s) "
        f"(RP {format_usd(m['rp_usd'])}, VSS {format_usd(m['vss_usd'])}, EVPI {format_usd(m['evpi_usd'])}, "
        f"{m['status']}, gap {m['gap']:.3%}, first stage {m['first_stage']}; the copies cure a covenant in "
        f"{format_percent(cured, 1)} of their probability)",
        flush=True,
    )
    plans, labels, buffers = (
        [result.forecast_plan, result.plan],
        ["forecast optimum", f"stochastic ({n})"],
        [None, None],
    )
    if sweep is not None:
        summary = json.loads((sweep / "summary.json").read_text())
        source = read_plans(sweep, data)
        plans.append(source.plans[source.labels.index(summary["recommended"])])
        labels.append(f"sweep's pick ({summary['recommended']})")
        buffers.append(summary.get("recommended_liquidity_buffer_usd"))
    batch = with_buffers(compile_plans(data, plans, labels), buffers)
    started = time.perf_counter()
    rows = paired_comparison(scenario_outcomes(evaluate_paired(data, batch, scenarios, seed)), "forecast optimum")
    print(
        f"{scenarios:,} scenarios of seed {seed} in {time.perf_counter() - started:.0f} s; load: {uptime()}"
    )
    print(
        "| plan | mean NPV | CVaR5 | P(breach) | P(liq. default) | P(any default) | Δ mean NPV (s.e.) "
        "| Δ CVaR5 (s.e.) | Δ P(breach) (s.e.) | Δ P(liq. default) (s.e.) | Δ P(any default) (s.e.) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['plan']} | {format_usd(r['npv_mean_usd'])} | {format_usd(r['npv_cvar_usd'])} "
            f"| {format_percent(r['breach_probability'], 2)} | {format_percent(r['default_probability'], 2)} "
            f"| {format_percent(r['any_default_probability'], 2)} "
            f"| {format_usd(r['npv_mean_usd_diff'])} ({format_usd(r['npv_mean_usd_diff_se'])}) "
            f"| {format_usd(r['npv_cvar_usd_diff'])} ({format_usd(r['npv_cvar_usd_diff_se'])}) "
            f"| {points(r, 'breach_probability')} | {points(r, 'default_probability')} "
            f"| {points(r, 'any_default_probability')} |"
        )
    if json_path is not None:
        # the stochastic plan's copies' own covenant cures, in sample: beside its breaches out of sample
        rows[1]["copies_covenant_cured_probability"] = cured
        json_path.write_text(json.dumps(rows, indent=1) + "\n")


def points(row: dict, share: str) -> str:
    """A paired difference of shares and its standard error in percentage points, rounded half up
    as every figure is: '+1.25 pp (0.40 pp)'."""
    diff, se = row[f"{share}_diff"], row[f"{share}_diff_se"]
    return f"{format_difference(diff, 'pp')} ({format_figure(se, 'pp')})"


def apart(ef) -> str:
    """How the last rounded plan solved scenario by scenario went (anchor, blocks, outcome)."""
    last = ef._highs.last_apart if ef._highs is not None else {}
    return ", ".join(f"{k} {v:.1f} s" if isinstance(v, float) else f"{k} {v}" for k, v in last.items()) or "-"


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        )
        return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"


def uptime() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" (1, 5, 15 min) on {os.cpu_count()} cores"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph, whole
    parser.add_argument("model", nargs="?", default="neocloud")
    parser.add_argument("sizes", nargs="*", type=int, help="N of the extensive forms timed (default 5 10)")
    parser.add_argument(
        "--out-of-sample", type=int, metavar="S", help="the out-of-sample table on S scenarios"
    )
    parser.add_argument("--scenarios", type=int, default=10, help="N of the stochastic plan of the table")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the table's fresh scenarios")
    parser.add_argument("--sweep", type=Path, help="a sweep run folder: its recommended plan joins the table")
    parser.add_argument("--json", type=Path, help="also write the table's rows, unrounded, to this file")
    parser.add_argument(
        "--first-stage-quarters", type=int, help="the stochastic plan's first stage (default: the solve's)"
    )
    parser.add_argument(
        "--share-purchases", action="store_true", help="share every purchase, power block and draw too"
    )
    parser.add_argument("--time-limit", type=float, help="seconds for each of the stochastic solve's solves")
    args = parser.parse_args()
    if args.out_of_sample:
        out_of_sample(args.model, args.scenarios, args.out_of_sample, args.seed, args.sweep, args.json,
                      args.first_stage_quarters, args.time_limit, args.share_purchases)  # fmt: skip
    else:
        main(args.model, tuple(args.sizes) or (5, 10))

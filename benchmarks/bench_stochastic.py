"""Build and solve time, gap and peak memory of the two-stage extensive form per number of
scenarios (docs/formulation.md §7b; results in benchmarks/README.md, 'Stochastic MILP').

    python -m benchmarks.bench_stochastic [MODEL] [N ...]

Each N in a fresh process would be cleaner for the peak memory; here it is the process's peak so
far (the forecast solve, the screening and every smaller N included), so run one N per call for
the table.
"""

from __future__ import annotations

import resource
import sys
import time

from fleetopt.core.data import load
from fleetopt.evaluate import compile_plans, evaluate, generate_scenarios
from fleetopt.milp import stochastic as sto
from fleetopt.stochastic.reduction import reduce_scenarios
from fleetopt.stochastic.run import scenario_features, scenario_inputs

LIMIT = 600.0


def main(model: str = "neocloud", sizes: tuple[int, ...] = (5, 10)) -> None:
    _, data = load(model)
    started = time.perf_counter()
    forecast = sto.solve_with_first_stage(data, 4, mip_gap=0.01)
    print(
        f"{model}: forecast solve {time.perf_counter() - started:.1f} s, NPV {forecast.objective_usd / 1e9:.2f}B",
        flush=True,
    )
    drawn = generate_scenarios(data, 0, 0, 200)
    npv = evaluate(data, compile_plans(data, [forecast.plan], ["f"]), 200, 0, keep_matrix=True).npv_matrix[0]
    for n in sizes:
        rows, p = reduce_scenarios(npv, scenario_features(drawn), n, 0.05)
        ef = sto.build_extensive_form(data, scenario_inputs(data, drawn, rows, p), 4)
        rp = ef.solve(0.01, LIMIT, None)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = sto.model_size(ef.m)
        gap = "-" if rp.gap is None else f"{rp.gap:.3%}"
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in rp.steps.items())
        value = rp.objective_usd / 1e9 if rp.objective_usd is not None else float("nan")
        print(
            f"N={n}: build {ef.build_seconds:.1f} s, solve {rp.seconds:.1f} s (load into HiGHS "
            f"{ef.load_seconds:.1f} s, {steps}; {rp.method}), {rp.status}, gap {gap}, peak RSS {peak:.0f} MB, "
            f"{size['variables']:,} variables ({size['integer_variables']:,} integer), "
            f"{size['constraints']:,} rows; RP {value:.2f}B",
            flush=True,
        )
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


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0] if args else "neocloud", tuple(int(a) for a in args[1:]) or (5, 10))

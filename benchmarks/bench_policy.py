"""What the evaluator's policy changes on the default model: each plan open-loop, with each rule
alone, and with the whole policy (docs/evaluation.md, "Policy"; figures in benchmarks/README.md).

    python -m benchmarks.bench_policy [--scenarios 10000] [--seed 12345] [--sweep RUN_FOLDER]

Plans: the forecast optimum (solved here) and, with ``--sweep``, the recommended plan of a
`fleetopt sweep` run folder (with the cash buffer the sweep chose for it). Each rule alone is
compared with the open loop; the rules interact, so their changes need not add up to the whole
policy's. The last four columns: the NPV with limited liability (docs/evaluation.md, "After a
liquidity default"): a default ends the shareholders' claim; and the lenders' side ("The debt at a
default"): the share of the debt owed at defaults that selling the GPUs and the cash would repay,
and the debt left uncovered, averaged over all scenarios.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from fleetopt import api
from fleetopt.core.units import format_difference, format_figure, format_percent, format_usd
from fleetopt.evaluate.batch import compile_plans, with_buffers
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.sources import read_plans
from fleetopt.schema.policy import Policy

RULES = (
    "power_to_contracts_first", "reschedule_late_contracts", "freed_gpus_to_market", "defer_orders",
    "distress_sales", "cut_prepayments", "idle_gpus_to_market", "prepay_borrowing_base",
)  # fmt: skip
FIGURES = ("npv_mean_usd", "npv_cvar5_usd", "breach_probability", "default_probability", "any_default_probability",
           "npv_limited_mean_usd", "npv_limited_cvar5_usd", "debt_covered_at_default", "uncovered_debt_mean_usd")


def policies() -> dict[str, Policy]:
    out = {"open loop": Policy.off()}
    for rule in RULES:
        out[f"only {rule}"] = Policy.off().model_copy(update={rule: True})
    out["policy (default rules)"] = Policy()  # every rule but idle_gpus_to_market, off by default
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph, whole
    parser.add_argument("--scenarios", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--sweep", type=Path, help="a sweep run folder: also its recommended plan")
    parser.add_argument("--backend", default="numpy", help="evaluation backend (numpy, cpu-kernel, cupy)")
    args = parser.parse_args()
    loaded, data = api.load("neocloud")
    plans, labels, buffers = [api.solve(loaded).plan], ["forecast optimum"], [None]
    if args.sweep is not None:
        summary = json.loads((args.sweep / "summary.json").read_text())
        source = read_plans(args.sweep, data)
        label = summary["recommended"]
        plans.append(source.plans[source.labels.index(label)])
        labels.append(f"recommended ({label})")
        buffers.append(summary.get("recommended_liquidity_buffer_usd"))
    batch = with_buffers(compile_plans(data, plans, labels), buffers)
    rows = []
    for name, policy in policies().items():
        result = evaluate(replace(data, policy=policy), batch, args.scenarios, args.seed, backend=args.backend)
        for p, label in enumerate(labels):
            rows.append((label, name, {k: float(result.metrics[k][p]) for k in FIGURES}))
    print(f"default model, {args.scenarios:,} scenarios, seed {args.seed}; changes against the open loop")
    print("| plan | evaluation | mean NPV | CVaR5 | P(breach) | P(liquidity default) | P(any default) "
          "| change in mean NPV | change in CVaR5 | change in P(liquidity default) | change in P(any default) "
          "| mean NPV, limited liability | CVaR5, limited liability | debt at default covered | debt uncovered, mean |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, name, m in rows:
        base = next(r[2] for r in rows if r[0] == label and r[1] == "open loop")
        change = "| | | |" if name == "open loop" else (
            f"| {format_usd(m['npv_mean_usd'] - base['npv_mean_usd'])} "
            f"| {format_usd(m['npv_cvar5_usd'] - base['npv_cvar5_usd'])} "
            f"| {format_difference(m['default_probability'] - base['default_probability'], 'share')} "
            f"| {format_difference(m['any_default_probability'] - base['any_default_probability'], 'share')}"
        )
        print(
            f"| {label} | {name} | {format_usd(m['npv_mean_usd'])} | {format_usd(m['npv_cvar5_usd'])} | "
            f"{format_percent(m['breach_probability'])} | {format_percent(m['default_probability'])} | "
            f"{format_percent(m['any_default_probability'])} {change} | "
            f"{format_usd(m['npv_limited_mean_usd'])} | {format_usd(m['npv_limited_cvar5_usd'])} | "
            f"{format_figure(m['debt_covered_at_default'], 'share')} | {format_usd(m['uncovered_debt_mean_usd'])} |"
        )


if __name__ == "__main__":
    main()

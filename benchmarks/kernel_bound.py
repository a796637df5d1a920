"""The fused kernel's bound on an H100, on paper, from the code nvcc compiles for sm_90.

    python -m benchmarks.kernel_bound [--model neocloud] [--scenarios 10000] [--nvcc PATH] [--nvdisasm PATH]

Compiles kernel.cu for the model's shape (nvcc as in tests/test_kernel_compile.py), disassembles
it (nvdisasm: pip install nvidia-cuda-nvdisasm, any 13.x) and counts, in the quarter loop, the
FP64 instructions (DADD, DMUL, DFMA, DSETP, DMNMX; MUFU.RCP64H separately: another pipe) and the
global loads, for the loop as compiled and for a copy whose power-short path is removed (the fast
path alone). Every branch of the loop body is counted as taken, so the counts are upper bounds for
a quarter. A warp runs the short path for all its threads when one of them is short of power: the
share of such warp-quarters on the model's MILP plan (scenarios 0.. of seed 1) weighs it in.

H100 SXM: 132 SMs x 64 FP64 lanes x 1.98 GHz = 1.67e13 FP64 instructions per second (33.5
TFLOPS counting an FMA as two); the bound is that over FP64 instructions per plan-scenario-quarter.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

H100_FP64_PER_S = 132 * 64 * 1.98e9
FP64 = re.compile(r"^(DADD|DMUL|DFMA|DSETP|DMNMX|DSET)\b")


def loop_counts(sass: str) -> dict:
    """Instruction counts of the quarter loop: the innermost loop holding the most FP64 instructions."""
    labels, instrs = {}, []
    for line in sass.splitlines():
        m = re.match(r"\s*\.(L_x_\d+):", line)
        if m:
            labels[m.group(1)] = len(instrs)
            continue
        m = re.match(r"\s*/\*[0-9a-f]+\*/\s+(.*?);", line)
        if m:
            instrs.append(re.sub(r"^@!?U?P\w+\s+", "", m.group(1)))
    loops = []
    for i, ins in enumerate(instrs):
        m = re.search(r"BRA.*`\(\.?(L_x_\d+)\)", ins)
        if m and labels.get(m.group(1), i + 1) < i:
            loops.append((labels[m.group(1)], i))

    def count(a, b):
        ops = [ins.split()[0] for ins in instrs[a : b + 1]]
        return {
            "instructions": len(ops),
            "fp64": sum(1 for op in ops if FP64.match(op)),
            "mufu_rcp64": sum(1 for op in ops if op.startswith("MUFU.RCP64H")),
            "global_loads": sum(1 for op in ops if op.startswith("LDG")),
            "local": sum(1 for op in ops if op.startswith(("LDL", "STL"))),
        }

    # the quarter loop: of the loops with the most FP64 work, the smallest (the scenario loop holds it)
    counted = sorted(((count(a, b), b - a) for a, b in loops), key=lambda c: (-c[0]["fp64"], c[1]))
    best = counted[0][0]
    inner = [c for c, size in counted if c["fp64"] >= 0.8 * best["fp64"]]
    return min(inner, key=lambda c: c["instructions"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="neocloud")
    parser.add_argument("--scenarios", type=int, default=10000)
    parser.add_argument("--nvcc", default=None)
    parser.add_argument("--nvdisasm", default="nvdisasm")
    args = parser.parse_args()

    from fleetopt import api
    from fleetopt.evaluate.batch import compile_plans
    from fleetopt.evaluate.kernel.cuda import CUDA_OPTIONS
    from fleetopt.evaluate.kernel.plan_tables import plan_tables
    from fleetopt.evaluate.kernel.shape import PLANS_PER_THREAD, KernelShape
    from fleetopt.evaluate.kernel.source import kernel_source
    from fleetopt.evaluate.scenarios import generate_scenarios
    from fleetopt.evaluate.simulate import SimulationConstants

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_kernel_compile import find_nvcc

    nvcc = args.nvcc or find_nvcc()
    _, data = api.load(args.model)
    result = api.solve(args.model, mip_gap=0.05, time_limit=120)
    plans = compile_plans(data, [result.plan], ["milp"])
    consts = SimulationConstants.from_data(data)
    shape = KernelShape.of(consts, plans)
    source = kernel_source(shape)
    fast = source.replace("((st->short_quarters >> t) & 1ULL)", "0")
    assert fast != source
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (("whole loop", source), ("fast path", fast)):
            cu = Path(tmp) / "k.cu"
            cu.write_text(text)
            options = [o.replace("--", "-") for o in CUDA_OPTIONS]
            build = subprocess.run([nvcc, *options, "-arch=sm_90", "-cubin", "-o", f"{tmp}/k.cubin", str(cu), "-Xptxas", "-v"],
                                   capture_output=True, text=True, check=True)  # fmt: skip
            registers = re.search(r"Used (\d+) registers", build.stderr).group(1)
            sass = subprocess.run(
                [args.nvdisasm, "-c", f"{tmp}/k.cubin"], capture_output=True, text=True, check=True
            ).stdout
            counts[name] = {**loop_counts(sass), "registers": int(registers)}

    # the share of warp-quarters in which some thread of the warp is short of power
    scen = generate_scenarios(data, 1, 0, args.scenarios)
    tables = plan_tables(consts, plans)
    T, W = data.T, 32
    short = np.zeros((scen.S, T), bool)
    short |= ((tables["plan_short"][0] >> np.arange(T, dtype=np.uint64)) & np.uint64(1)).astype(bool)[None, :]
    for b in range(plans.build_mw.shape[1]):
        if plans.build_mw[0, b] <= 0:
            continue
        late = scen.delay[:, plans.build_site[0, b], plans.build_start[0, b]]
        on = plans.build_online[0, b]
        quarters = np.arange(T)[None, :]
        short |= (quarters >= on) & (quarters < on + late[:, None])
    warps = short[: scen.S // W * W].reshape(-1, W, T).any(axis=1)
    divergent = float(warps.mean())

    fast_fp64 = counts["fast path"]["fp64"]
    short_extra = counts["whole loop"]["fp64"] - fast_fp64
    # the loop body holds PLANS_PER_THREAD quarters (one per plan a thread simulates)
    per_pq_fast = fast_fp64 / PLANS_PER_THREAD
    per_pq = (fast_fp64 + divergent * short_extra) / PLANS_PER_THREAD
    print(f"model {args.model}: {shape}")
    for name, c in counts.items():
        print(f"{name:>10}: {c}")
    print(
        f"pair-quarters short of power: {short.mean():.3f}; warp-quarters with a short thread: {divergent:.3f}"
    )
    print(
        f"FP64 instructions per plan-scenario-quarter: {per_pq_fast:.1f} (fast path), {per_pq:.1f} (with divergence)"
    )
    print(f"H100 FP64 issue bound: {H100_FP64_PER_S / per_pq_fast:.3g} (fast path), {H100_FP64_PER_S / per_pq:.3g} "
          "plan-scenario-quarters/s (with divergence)")  # fmt: skip


if __name__ == "__main__":
    main()

"""What a stopped tight-memory evaluation loses on --resume (benchmarks/README.md, "Stopped and resumed").

``python -m benchmarks.bench_resume PLANS MODEL SCENARIOS MAX_MEMORY BACKEND FOLDER [--stop SHARE]``
runs the evaluation as a job in FOLDER (a new folder), in a child process for each attempt: once
straight, or stopped by a SIGINT half a scenario block after SHARE of its plan-scenario pairs are
done (as a Ctrl-C lands, part-way through a block), then resumed. Each attempt prints its
evaluation's CPU seconds (``time.process_time``, every thread), wall seconds and the pairs it
computed; the stopped run's work lost is the CPU it and its resume spent beyond the straight run's.
``--quarter``: each chunk capped to a quarter of the plans (the alternative to keeping an unfinished
chunk's rows, measured against it). The result's metrics are printed as a SHA-256 of metrics.csv's
text, to compare a resumed run with a straight one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time


def _quarter_chunks() -> None:
    """Cap ``chunking.split_chunk_sizes`` to chunks of a quarter of the plans (rounded up), blocks
    sized for that many."""
    from fleetopt.evaluate import chunking

    real = chunking.split_chunk_sizes

    def capped(data, plans, *args, **kwargs):
        return real(data, plans.take(slice(0, -(-plans.P // 4))), *args, **kwargs)

    chunking.split_chunk_sizes = capped


def attempt(args) -> dict:
    """One attempt of the job in ``args.folder``: started (or resumed where it has a job.json), run,
    stopped where ``args.stop`` says."""
    from fleetopt import api
    from fleetopt.cli.memory import memory_budget
    from fleetopt.runs.file_text import csv_text

    if args.quarter:
        _quarter_chunks()
    resuming = os.path.exists(os.path.join(args.folder, "job.json"))
    if resuming:
        job = api.resume_evaluation(args.folder)
    else:
        job = api.prepare_evaluation(args.plans, args.model, scenarios=args.scenarios,
                                     max_memory=memory_budget(args.max_memory), backend=args.backend)  # fmt: skip
        job.start(args.folder)
    done, ticks, armed = [0], [], []

    def progress(pairs, total):
        done[0] += pairs
        ticks.append(time.perf_counter())
        if args.stop and not armed and not resuming and done[0] >= args.stop * total and len(ticks) > 1:
            block = (ticks[-1] - ticks[0]) / (len(ticks) - 1)
            armed.append(threading.Timer(block / 2, os.kill, (os.getpid(), signal.SIGINT)))
            armed[0].start()

    cpu, wall = time.process_time(), time.perf_counter()
    try:
        result = job.run(args.folder, progress=progress)
    except KeyboardInterrupt:
        result = None
    out = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
           "sizes": [job.settings["plan_chunk"], job.settings["scenario_chunk"]]}  # fmt: skip
    if result is None:
        out["stopped_after_pairs"] = done[0]
    else:
        out["pairs_computed"] = result.pairs_computed
        out["pairs_stored"] = result.pairs_stored
        out["metrics_sha256"] = hashlib.sha256(csv_text(result.computed_metrics_frame).encode()).hexdigest()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("plans", "model", "scenarios", "max_memory", "backend", "folder"):
        parser.add_argument(name, type=int if name == "scenarios" else str)
    parser.add_argument("--stop", type=float, default=None)
    parser.add_argument("--quarter", action="store_true")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        # a stop as at a terminal: a parent started in the background (`cmd &`) passes SIGINT ignored
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print(json.dumps(attempt(args)))
        return
    child = [sys.executable, "-m", "benchmarks.bench_resume", *sys.argv[1:], "--child"]
    attempts = []
    while True:
        run = subprocess.run(child, capture_output=True, text=True, check=True)
        attempts.append(json.loads(run.stdout.strip().splitlines()[-1]))
        print(json.dumps(attempts[-1]), flush=True)
        if "metrics_sha256" in attempts[-1]:
            break
    print(json.dumps({"attempts": len(attempts), "cpu_s": sum(a["cpu_s"] for a in attempts),
                      "wall_s": sum(a["wall_s"] for a in attempts)}))  # fmt: skip


if __name__ == "__main__":
    main()

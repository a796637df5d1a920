"""--max-memory: the budget as written, refused when it is not a size, and held to the physical
memory of whatever runs the simulation (a GPU, or this machine's RAM)."""

from __future__ import annotations

from typing import Annotated

import typer

from fleetopt.cli.consoles import err_console
from fleetopt.core.units import counted, format_bytes, format_duration
from fleetopt.evaluate import backend_choice, chunking, resources, spill
from fleetopt.evaluate.jobfolder import EvaluationJob
from fleetopt.evaluate.result_fields import fields_kept, result_bytes
from fleetopt.runs import limits

# a run NumPy's estimate finishes sooner than this, s, is not called slow whatever its calls' size: a
# warning of 6 plans x 20 scenarios of tiny on blocks of 10 said "the run will be slow, about 0:00:00"
SLOW_RUN_SECONDS = 1.0

MaxMemoryOption = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        help="Working-memory budget of the simulation, e.g. 2GB (default: half the free GPU memory or "
        "RAM, a chunk on the CPU holding no more pairs than run fastest): scenario blocks, their "
        "temporaries, each chunk's results and its plans laid out for the "
        "simulation (about 282 KB a plan on neocloud); with risk.delivery_slip, the "
        "plans compiled again for each slip (about 130 KB a plan and slip on neocloud) on the CPU. Not in "
        "it: fleetopt, the model and the compiled plans (about 300 MB for 1,000 plans of neocloud); each "
        "--workers process's own fleetopt and model (about 90 MB each on neocloud); with --keep-matrix, "
        "the plans x scenarios NPV matrix (8 bytes per pair). With --workers N each worker keeps to a 1/N "
        "share of the budget. A budget above the physical memory of the GPU (CuPy) or of this "
        "machine (NumPy, shared by --workers) is capped to it, with a warning. A budget too small for "
        "every scenario in one block costs time. In this process on the CPU a chunk then holds as many "
        "plans as their rows of results allow, each block made once a chunk: in memory, or where they "
        f"would fill half the budget in a file in the run folder's chunks/ ({result_bytes(1, 1)} bytes "
        f"a plan-scenario pair, {result_bytes(1, 1, fields_kept(True))} for plans solved for least cost, "
        f"{result_bytes(1, 1, fields_kept(False, base_prepay=True)) - result_bytes(1, 1)} more with "
        "policy.prepay_borrowing_base, "
        "outside the budget: at most half its disk's free space and "
        f"{spill.SPILL_BUDGET_TIMES} times the budget a chunk; kept as each block ends, so that a "
        "stopped run resumes from its last block; none where the folder is on a tmpfs or ramfs). With "
        "--workers, on Ray or CuPy each chunk makes the blocks again.",
    ),
]


def memory_budget(text: str | None) -> int | None:
    """--max-memory in bytes (None: the default), as :func:`fleetopt.runs.limits.memory_size` reads it."""
    return limits.memory_size("--max-memory", text)


def budget_within_memory(budget: int | None, backend: str, executor: str, workers: int) -> int | None:
    """--max-memory, at most the memory the simulation runs in, with a warning naming both sizes
    (:func:`fleetopt.evaluate.resources.budget_within_memory`, which the Python API applies too)."""
    return resources.budget_within_memory(budget, backend, executor, workers, "--max-memory")


def warn_if_tiny_blocks(job: EvaluationJob) -> None:
    """A budget that leaves room for calls of only a few (plan, scenario) pairs makes the run crawl,
    each call's own cost outweighing its work: say so, with how long the run may take, and the
    budget that gives calls of a sensible size (:data:`chunking.SENSIBLE_BLOCK_PAIRS`) and its time;
    nothing for a run estimated to take less than :data:`SLOW_RUN_SECONDS`, nor where every chunk is
    saved (a resume that computes nothing)."""
    s, quarters = job.settings, job.data.T
    n_plans, n_scenarios = job.batch.P, s["n_scenarios"]
    plan_chunk, scenario_chunk = s["plan_chunk"], s["scenario_chunk"]
    if plan_chunk * scenario_chunk >= min(chunking.SENSIBLE_BLOCK_PAIRS, n_plans * n_scenarios):
        return
    if not job.left_to_compute():
        return
    now = backend_choice.chunked_numpy_seconds(n_plans, n_scenarios, quarters, plan_chunk, scenario_chunk)
    if now < SLOW_RUN_SECONDS:
        return
    line = (f"warning: the memory budget leaves room for {scenario_chunk:,} scenario(s) at a time "
            f"(of {n_scenarios:,}), {counted(plan_chunk, 'plan')} a chunk: the run will be slow, about "
            f"{format_duration(now)} by NumPy's estimate on one core")  # fmt: skip
    # a budget above the run's (a smaller one may make calls as large and the run slower: docs/evaluation.md)
    enough = chunking.budget_for_sensible_blocks(job.chunk_sizes_within, n_plans, n_scenarios,
                                                 s["max_memory"])  # fmt: skip
    if enough is not None:
        plans, scenarios = job.chunk_sizes_within(enough)
        then = backend_choice.chunked_numpy_seconds(n_plans, n_scenarios, quarters, plans, scenarios)
        line += (f"; --max-memory {format_bytes(enough).replace(' ', '')} gives "
                 f"{counted(plans, 'plan')} a chunk on blocks of {scenarios:,} scenario(s), about "
                 f"{format_duration(then)}{_beyond_memory(enough, s)}")  # fmt: skip
    err_console.print(line, soft_wrap=True)


def say_rows_in_a_file(job: EvaluationJob) -> None:
    """Where the run's rows of results go to a file in its folder (once started or resumed: its
    chunks/; its scenarios split into blocks under a budget their rows would fill), say how large
    and where: the disk it takes is not in --max-memory (docs/evaluation.md, "Chunking"); nothing
    where every chunk is saved (a resume that computes nothing)."""
    size = job.rows_file_bytes()
    if size:
        plans = counted(min(job.settings["plan_chunk"], job.batch.P), "plan")
        err_console.print(
            f"note: the rows of results go to a file in {job.rows_folder}, {format_bytes(size)} for "
            f"each chunk of {plans} ({_pair_bytes(job)} bytes a plan-scenario pair and "
            f"{spill.KeptRows.extra_bytes(1)} a scenario), outside --max-memory, so that each block of "
            "scenarios is made once for the chunk's plans; kept as each block ends, so that a stopped "
            "run resumes from its last block", soft_wrap=True,
        )  # fmt: skip


def _pair_bytes(job: EvaluationJob) -> int:
    """Bytes a (plan, scenario) pair's results take in the job's file: one more field where its plans
    were solved for least cost (their present cost), two where the model turns policy rule 6 on
    (:func:`~fleetopt.evaluate.chunking.kept_fields`)."""
    return result_bytes(1, 1, chunking.kept_fields(job.data, job.batch))


def _beyond_memory(budget: int, settings: dict) -> str:
    """', more than the 64 GB of physical memory (RAM) of this machine: give fewer scenarios
    (--scenarios)' where ``budget`` exceeds the memory the job's simulation runs in, else ''."""
    memory = resources.simulation_memory(settings["backend"], settings["executor"], settings["workers"])
    if memory is None or budget <= memory.size:
        return ""
    size = format_bytes(memory.size)
    return f", more than the {size} of {memory.what}: give fewer scenarios (--scenarios)"

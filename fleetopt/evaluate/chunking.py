"""How an evaluation is cut to fit its memory: the bytes a (plan, scenario) pair, a scenario and a plan's
rows take on each backend, the working-memory budget, and the chunk sizes (plans a chunk, scenarios a
block) that keep within it, on this machine or shared by worker processes; a run that cannot fit, even one
plan at a time, is refused in words (MemoryBudgetError)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.units import counted, format_bytes, sizes_apart
from fleetopt.errors import Argument, InputError
from fleetopt.evaluate.backend import (
    Backend,
    available_ram_bytes,
)
from fleetopt.evaluate.factors import FACTORS
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result_fields import RESULT_FIELDS, fields_kept, result_bytes
from fleetopt.evaluate.spill import (
    ROWS_SHARE,
    folder_in_memory,
    plans_spill_holds,
    spill_folder,
)
from fleetopt.runs import limits

# Working memory per (plan, scenario) pair, in float64 words, beyond the per-quarter paths:
# state, accumulators and the temporaries of one quarter.
_BASE_WORDS_PER_PAIR = 48


_SAFETY = 2.0


def words_per_pair(data: ModelData, plans: PlanBatch, record: tuple[str, ...] = ()) -> float:
    K, F, I = len(data.contracts), len(data.facilities), data.I
    B = plans.build_mw.shape[1]
    return (_BASE_WORDS_PER_PAIR + 3 * I + 2 * K + 3 * F + 3 * B + len(record) * data.T) * _SAFETY


# Largest (plan, scenario) block per simulate call, per thread on the CPU backends; it also caps the
# pairs of a chunk whose scenarios fit one block, so that a run without --max-memory holds what runs
# fastest, not half the machine's memory. NumPy runs fastest on blocks whose arrays stay near the CPU
# caches (measured: ~1e5 pairs beat ~1e6 by 1.5x). The C build ran no faster on larger chunks (1,000
# x 10,000 on 2 threads: the same CPU time from 16 plans a chunk to 334), each holding ~250 bytes of
# results a pair: 334 plans a chunk peaked at 1,070 MB, 50 at 445 (benchmarks/README.md). 16
# threads get the C build's 4,194,304 of before. A GPU wants blocks that fill every multiprocessor.
MAX_PAIRS = {"numpy": 1 << 17, "cupy": 1 << 24, "cpu-kernel": 1 << 18}


# A simulate call costs this much whatever its size (NumPy on one core, the default model: 1 plan on
# blocks of 25 to 4,000 scenarios took 1,140 to 43 us a scenario, 36 us + 27.6 ms a block; the C
# build 29 us + 6.6 ms): blocks of fewer pairs than SENSIBLE_BLOCK_PAIRS spend about as much on
# the call as on the work in it (at 1,000 NumPy took 67 us a scenario, the C build 32).
NUMPY_S_PER_BLOCK = 0.0276


SENSIBLE_BLOCK_PAIRS = 1_000


class MemoryBudgetError(InputError):
    """A run that cannot keep within its working-memory budget, even one plan at a time:
    ``need_bytes`` for one plan, ``budget_bytes`` the budget; with ``workers`` worker processes
    sharing the run's budget, both are the run's, ``workers`` times one worker's."""

    def __init__(self, message: str, need_bytes: int = 0, budget_bytes: int = 0, workers: int = 1):
        super().__init__(message)
        self.need_bytes, self.budget_bytes, self.workers = need_bytes, budget_bytes, workers


# A scenario's factor paths are held about three times while a block is simulated: as generated,
# laid out for the simulation and as generation temporaries (measured on `tiny` and `neocloud`).
_SCENARIO_COPIES = 3


def words_per_scenario(data: ModelData) -> int:
    """Float64 words of one scenario's factor paths (and its index)."""
    return 1 + sum(int(np.prod(f.shape(data), dtype=np.int64)) for f in FACTORS)


def block_bytes_per_scenario(data: ModelData) -> int:
    """Bytes a scenario of a block takes while the block is simulated (its factor paths,
    :data:`_SCENARIO_COPIES` times), shared by the chunk's plans."""
    return 8 * _SCENARIO_COPIES * words_per_scenario(data)


def bytes_per_pair(data: ModelData, plans: PlanBatch, record: tuple[str, ...] = ()) -> int:
    """Working memory of a (plan, scenario) pair while its block is simulated, bytes:
    :func:`words_per_pair` and, with delivery slips, :func:`slip_bytes_per_pair`."""
    return int(8 * words_per_pair(data, plans, record)) + slip_bytes_per_pair(plans)


# The metrics of a chunk's rows of results take temporaries beside them (sorted copies, masks): measured
# with tracemalloc at 26 bytes a (plan, scenario) pair on the default model (7 plans x 10,000 scenarios)
_METRIC_WORDS_PER_PAIR = 4


def kept_fields(data: ModelData, plans: PlanBatch) -> tuple[str, ...]:
    """The (P, S) results a run of ``plans`` under ``data`` keeps for its metrics (:func:`fields_kept`):
    a plan solved for least cost's present cost, and policy rule 6's two where the model turns it on."""
    return fields_kept(plans.solved_for_cost, data.policy.prepay_borrowing_base)


def row_bytes_per_plan(n_scenarios: int, fields: tuple[str, ...] = RESULT_FIELDS) -> int:
    """Bytes a plan of a chunk takes over every scenario: its results (its metrics need the whole
    row: ``fields``, :func:`kept_fields`) and their metrics' temporaries."""
    return result_bytes(1, n_scenarios, fields) + 8 * _METRIC_WORDS_PER_PAIR * n_scenarios


# A block whose scenarios slip deliveries is simulated slip by slip (slip.by_slip), each slip's results
# copied into the block's: a pair's results are held twice more (measured with tracemalloc on the
# default model, 9 plans x 1,000 scenarios a chunk: NumPy +1.9 MB, the C build +4 MB over no slip)
_SLIP_RESULT_COPIES = 2


def slip_bytes_per_pair(plans: PlanBatch) -> int:
    """Working memory a pair takes beyond :func:`words_per_pair` where ``plans`` have delivery-slip
    variants (``risk.delivery_slip``), bytes: 0 without."""
    return _SLIP_RESULT_COPIES * result_bytes(1, 1) if plans.slipped else 0


def slip_variant_bytes(plans: PlanBatch) -> int:
    """Bytes of the plans compiled again for each delivery slip a scenario may draw
    (``PlanBatch.slipped``), held throughout the run; a budget given counts them
    (:func:`worker_chunk_sizes`)."""
    return sum(variant.nbytes for variant in plans.slipped.values())


def table_sets(plans: PlanBatch, backend_name: str) -> int:
    """How many times a chunk holds its plans laid out for the simulation while it runs: once on
    NumPy (layout.PlanColumns, each slip's made in turn); with the fused kernel, the plans' tables
    and each delivery slip's, kept for all the chunk's blocks, and on a GPU the next chunk's too,
    uploaded while this one runs (:class:`GpuPrefetch`)."""
    if backend_name == "numpy":
        return 1
    return 1 + len(plans.slipped) + (backend_name == "cupy")


def table_bytes_per_plan(plans: PlanBatch, backend_name: str) -> int:
    """Working memory a chunk takes per plan whatever its scenarios, bytes: :func:`table_sets`
    of :data:`_SAFETY` times the plan's compiled bytes (measured: NumPy's columns 0.9-1.0 of them,
    the kernel's tables 1.1-1.3 on a GPU, at most 1.6 while made on the CPU)."""
    compiled = -(-plans.nbytes // max(1, plans.P))
    return int(_SAFETY * compiled) * table_sets(plans, backend_name)


# A chunk sent to a worker process is held there three times as it arrives: the message read into a
# buffer, copied out of it, and the plans (with their delivery-slip variants) unpickled from it
# (measured with bench_memory_budget --workers 2: 3.9 times a plan's compiled bytes a worker, 1.1 in
# this process, where a chunk's plans are views of the run's)
_SENT_COPIES = 3


def sent_bytes_per_plan(plans: PlanBatch) -> int:
    """Working memory a worker process takes per plan of the chunk sent to it, bytes:
    :data:`_SENT_COPIES` times the plan's compiled bytes and its delivery-slip variants'."""
    compiled = plans.nbytes + slip_variant_bytes(plans)
    return _SENT_COPIES * -(-compiled // max(1, plans.P))


def default_budget(backend: Backend) -> int:
    """The working memory a run may use unless told (``--max-memory``): half of what is free, bytes."""
    return budget_of(backend.free_memory_bytes())


def budget_of(free_bytes: int, max_memory: int | None = None) -> int:
    """The working memory a run may use, bytes: ``max_memory`` where given, else half of
    ``free_bytes``."""
    return max_memory if max_memory is not None else int(0.5 * free_bytes)


def backend_chunk_sizes(
    data: ModelData,
    plans: PlanBatch,
    n_scenarios: int,
    backend: Backend,
    max_memory: int | None = None,
    record: tuple[str, ...] = (),
    folder: str | Path | None = None,
) -> tuple[int, int]:
    """(plans per chunk, scenarios per block) of an evaluation in this process on ``backend``
    (:func:`worker_chunk_sizes` with the backend's threads and free memory); where those split the
    scenarios into blocks, on the CPU, :func:`split_chunk_sizes`: as many plans a chunk as their
    rows of results leave room for, in memory or in a file in ``folder`` (the run's job folder;
    None: :func:`~fleetopt.evaluate.spill.spill_folder`), each block made once for all of them. A
    budget too small for one plan's row in memory is refused only where the file cannot take the
    rows either."""
    name, threads, free = backend.name, backend.threads, backend.free_memory_bytes()
    budget = local_budget(plans, name, free, max_memory)
    split = functools.partial(split_chunk_sizes, data, plans, n_scenarios, budget, MAX_PAIRS[name] * threads,
                              name, folder)  # fmt: skip
    try:
        sizes = worker_chunk_sizes(data, plans, n_scenarios, name, threads, free, max_memory, record)
    except MemoryBudgetError:
        split_sizes = split() if splits_here(name, record) else None
        if split_sizes is None:
            raise
        return split_sizes
    if sizes[1] >= n_scenarios or not splits_here(name, record):
        return sizes
    return split() or sizes


def local_budget(plans: PlanBatch, backend_name: str, free_bytes: int, max_memory: int | None) -> int:
    """The budget a run in this process sizes its chunks and blocks in, bytes (:func:`budget_of`),
    less the plans' delivery-slip variants it counts (:func:`_slip_variants_counted`)."""
    return budget_of(free_bytes, max_memory) - _slip_variants_counted(plans, backend_name, max_memory)


def splits_here(backend_name: str, record: tuple[str, ...]) -> bool:
    """Whether a run in this process may take :func:`split_chunk_sizes` (each block made once a chunk,
    the rows in a file where memory is short): on the CPU, recording no paths."""
    return backend_name != "cupy" and not record


def worker_process_sizes(
    data: ModelData, plans: PlanBatch, n_scenarios: int, backend_name: str, max_memory: int | None,
    workers: int,
) -> tuple[int, int]:  # fmt: skip
    """(plans per chunk, scenarios per block) of ``workers`` worker processes of one thread each on
    this machine (``fleetopt evaluate --workers``): the budget ``max_memory`` (None: half of what is
    free) is the run's, shared by its workers as the machine's memory is."""
    per_worker = None if max_memory is None else max(1, max_memory // workers)
    free = available_ram_bytes() // workers
    return worker_chunk_sizes(
        data, plans, n_scenarios, backend_name, 1, free, per_worker, workers=workers, sent=workers > 1
    )


def worker_chunk_sizes(
    data: ModelData,
    plans: PlanBatch,
    n_scenarios: int,
    backend_name: str,
    threads: int,
    free_bytes: int,
    max_memory: int | None = None,
    record: tuple[str, ...] = (),
    workers: int = 1,
    sent: bool = False,
    budget_each: bool = False,
) -> tuple[int, int]:
    """(plans per chunk, scenarios per block) of an evaluation run by ``workers`` workers, each on
    ``backend_name`` with ``threads`` threads and ``free_bytes`` of memory: :func:`chunk_sizes`
    within ``max_memory`` bytes (None: half of ``free_bytes``, which the plans' delivery-slip
    variants, made before, have left; given, on the CPU, less each worker's share of those
    variants, :func:`slip_variant_bytes`) and the backend's block
    (``MAX_PAIRS``, per thread on the CPU); with several workers, at most a quarter of each one's
    share of the plans per chunk, so that every worker has work until the end. ``sent``: each
    chunk is sent to a worker process, which holds its own copies (:func:`sent_bytes_per_plan`).
    ``budget_each``: each worker has ``max_memory`` whole (Ray tasks, each on its node), and a
    budget too small is refused as one worker's, not as a share of the run's."""
    budget = budget_of(free_bytes, max_memory)
    variants = _slip_variants_counted(plans, backend_name, max_memory, workers)
    block = MAX_PAIRS[backend_name] * (1 if backend_name == "cupy" else threads)
    try:
        return chunk_sizes(
            data, plans, n_scenarios, budget - variants, record, block, backend_name, sent,
            most_plans=-(-plans.P // (4 * workers)) if workers > 1 else None,
        )  # fmt: skip
    except MemoryBudgetError as exc:
        if variants:
            raise _slip_variants_refused(exc, plans, variants, workers, budget_each) from None
        if workers > 1 and max_memory is not None and not budget_each:
            raise _worker_share_refused(exc, n_scenarios, workers) from None
        raise


def _slip_variants_counted(plans: PlanBatch, backend_name: str, max_memory: int | None, workers: int = 1
                           ) -> int:  # fmt: skip
    """Bytes of each of ``workers``' share of the plans' delivery-slip variants that the budget
    counts: a budget given counts them, in the memory they are in (this machine's, not a GPU's)."""
    counted_here = max_memory is not None and backend_name != "cupy"
    return -(-slip_variant_bytes(plans) // workers) if counted_here else 0


# the memory budget a refusal names, as the Python API and the command line call it
MAX_MEMORY = Argument("max_memory", "--max-memory")


def least_budget(need_bytes: int, beside: int | None = None) -> tuple[str | Argument, ...]:
    """'a max_memory (--max-memory) of at least 60.5 KB': the least budget that holds ``need_bytes``
    (:func:`rounded_up`, never shown below it), as every refusal of a budget too small advises it;
    ``beside``: a budget the message shows too, the two written to the digits that tell them apart."""
    enough = rounded_up(need_bytes)
    shown = format_bytes(enough) if beside is None else sizes_apart(enough, beside)[0]
    return ("a ", MAX_MEMORY, f" of at least {shown}")


def rounded_up(n: int) -> int:
    """``n`` rounded up to its first three digits, as :func:`format_bytes` shows them: a size said
    to be enough is never shown below what is needed."""
    step = _digit_step(n)
    return -(-int(n) // step) * step


def _worker_share_refused(exc: MemoryBudgetError, n_scenarios: int, workers: int) -> MemoryBudgetError:
    """The refusal ``exc`` of one worker's share of the budget said as the run's budget, which
    --max-memory gives (a run given 64 KB over 2 workers was told its budget was 32 KB), with the
    run's budget that would do."""
    shared = MemoryBudgetError(str(exc), exc.need_bytes * workers, exc.budget_bytes * workers, workers)
    return MemoryBudgetError.naming(
        f"one plan on {counted(n_scenarios, 'scenario')} {needs_more_than(shared)}: give ",
        *least_budget(shared.need_bytes), ", or fewer workers",
        need_bytes=shared.need_bytes, budget_bytes=shared.budget_bytes, workers=workers,
    )  # fmt: skip


def needs_more_than(exc: MemoryBudgetError) -> str:
    """'needs 60.4 KB of working memory (its tables and its results) in each of the 2 worker
    processes (--workers), more than each one's share of the budget, 20 KB of 40 KB': what one plan
    of the refusal ``exc`` needs against its budget, a worker's share of it where workers share it."""
    workers = exc.workers
    need, share = sizes_apart(exc.need_bytes // workers, exc.budget_bytes // workers)
    budget = f"the budget of {share}"
    where = f" in each of the {workers} worker processes (--workers)" if workers > 1 else ""
    if workers > 1:
        budget = f"each one's share of the budget, {share} of {format_bytes(exc.budget_bytes)}"
    return f"needs {need} of working memory (its tables and its results){where}, more than {budget}"


def _slip_variants_refused(exc: MemoryBudgetError, plans: PlanBatch, variants: int, workers: int,
                           budget_each: bool = False) -> MemoryBudgetError:  # fmt: skip
    """The budget ``exc`` found too small once each worker's share ``variants`` (bytes) of the plans'
    delivery-slip variants was taken from it: said with them, and the budget that would do, the
    run's where the workers share it, one worker's where each has it whole (``budget_each``: Ray
    tasks, which hold their own share; one task's budget of the share of every variant asked for
    2.6 times the budget that runs 400 plans in 4 tasks)."""
    shared_by = 1 if budget_each else workers
    budget, enough = exc.budget_bytes + variants, (variants + exc.need_bytes) * shared_by
    taken = format_bytes(slip_variant_bytes(plans) if budget_each else variants * workers)
    budget_text = sizes_apart(rounded_up(enough), budget * shared_by)[1]
    counted_in, what = f"which the memory budget of {budget_text} counts", "the variants"
    if budget_each and workers > 1:
        counted_in = (f"of which each of the {workers} tasks' budget of {budget_text} counts its share, "
                      f"{format_bytes(variants)}")  # fmt: skip
        what = "a task's share of the variants"
    return MemoryBudgetError.naming(
        f"risk.delivery_slip: the {counted(plans.P, 'plan')} compiled again for the "
        f"{counted(len(plans.slipped), 'slip')} a scenario may draw take {taken}, {counted_in}, leaving "
        f"too little for the simulation of one plan ({format_bytes(exc.need_bytes * shared_by)}): give ",
        *least_budget(enough, budget * shared_by), f" ({what} and one plan), or evaluate fewer plans at "
        "a time",
        need_bytes=exc.need_bytes + variants, budget_bytes=budget,
    )  # fmt: skip


def check_scenarios_fit(data: ModelData, n_scenarios: int, backend: Backend) -> None:
    """Refuse, before any plan is made (a sweep's), a number of scenarios whose results for one
    plan and one scenario's factor paths alone exceed the budget of ``backend`` (half its free
    memory)."""
    need = row_bytes_per_plan(n_scenarios) + block_bytes_per_scenario(data)
    _check_fits(n_scenarios, need, default_budget(backend), _FEWER)


# the remedies, naming the Python API's arguments and the CLI's options
_FEWER = ("give fewer ", limits.SCENARIOS)


def _fewer_or_more_memory(enough_bytes: int) -> tuple[str | Argument, ...]:
    """The remedies of scenarios too many for a budget: fewer, or the budget that would do (compare
    and the sweep have no memory setting: the larger budget is an evaluation's alone)."""
    return (*_FEWER, ", or for an evaluation ", *least_budget(enough_bytes))


def _check_fits(n_scenarios: int, need_bytes: int, budget_bytes: int, remedy: tuple[str | Argument, ...],
                plan_bytes: int = 0) -> None:  # fmt: skip
    """Refuse scenarios whose results for one plan (``need_bytes``) exceed the budget; the error's
    ``need_bytes`` adds ``plan_bytes``, what one plan needs besides (its tables)."""
    if need_bytes > budget_bytes:
        need, budget = sizes_apart(need_bytes, budget_bytes)
        raise MemoryBudgetError.naming(
            f"{limits.shown_whole(n_scenarios)} scenarios need {need} of working memory for each plan's "
            f"results, more than the budget of {budget}: ", *remedy,
            need_bytes=need_bytes + plan_bytes, budget_bytes=budget_bytes,
        )  # fmt: skip


def chunk_sizes(
    data: ModelData,
    plans: PlanBatch,
    n_scenarios: int,
    budget_bytes: int,
    record: tuple[str, ...] = (),
    max_pairs: int = MAX_PAIRS["numpy"],
    backend_name: str = "numpy",
    sent: bool = False,
    most_plans: int | None = None,
) -> tuple[int, int]:
    """(plans per chunk, scenarios per block) whose working set fits ``budget_bytes``: the
    simulation's (plan, scenario) pairs (and their delivery slips' copies of their results,
    :func:`slip_bytes_per_pair`), at most ``max_pairs`` a block, the scenario block (its factor
    paths once, shared by the chunk's plans), and per plan of the chunk its row of results
    over every scenario (:func:`row_bytes_per_plan`) and its tables on ``backend_name``
    (:func:`table_bytes_per_plan`), and where the chunk is ``sent`` to a worker process, the copies
    it holds there (:func:`sent_bytes_per_plan`). At most ``most_plans`` plans a chunk, the chunks
    as even as their number allows, and the blocks as large as the chunk's plans leave room for
    (:func:`even_blocks`). Raises :class:`MemoryBudgetError` when one plan does not fit."""
    row = row_bytes_per_plan(n_scenarios, kept_fields(data, plans))
    tables = table_bytes_per_plan(plans, backend_name)
    tables += sent_bytes_per_plan(plans) if sent else 0
    per_plan = row + tables
    pair_bytes, scenario_bytes = bytes_per_pair(data, plans, record), block_bytes_per_scenario(data)
    results = row + pair_bytes + scenario_bytes
    _check_fits(n_scenarios, results, budget_bytes, _fewer_or_more_memory(results + tables), tables)
    _check_one_plan_fits(n_scenarios, results + tables, budget_bytes)
    # the scenarios a block of one plan may hold; a chunk's plans share its block's factor paths
    pairs = int(max(1, min(max_pairs, (budget_bytes - per_plan) // (pair_bytes + scenario_bytes))))
    scenario_chunk = split_scenarios(n_scenarios, pairs, plans.P)
    room = budget_bytes - scenario_chunk * scenario_bytes
    by_room = room // (per_plan + scenario_chunk * pair_bytes)
    plan_chunk = int(max(1, min(plans.P, most_plans or plans.P, max_pairs // scenario_chunk, by_room)))
    plan_chunk = -(-plans.P // -(-plans.P // plan_chunk))  # as many chunks, none larger than needed
    # the block was cut for more plans than the budget may leave a chunk: grown for the chunk's own
    free = budget_bytes - plan_chunk * per_plan
    largest = min(max_pairs // plan_chunk, free // (scenario_bytes + plan_chunk * pair_bytes))
    return plan_chunk, max(scenario_chunk, even_blocks(n_scenarios, largest))


def budget_for_sensible_blocks(sizes: Callable[[int], tuple[int, int]], n_plans: int, n_scenarios: int,
                               above: int | None = None) -> int | None:  # fmt: skip
    """The least budget, bytes, shown to three digits (:func:`rounded_up`), above ``above`` (the
    run's; None: in the first doubling of 1 KB that has one), whose (plans per chunk, scenarios per
    block) ``sizes(budget)`` make calls of :data:`SENSIBLE_BLOCK_PAIRS` pairs (all of them where
    fewer); None where no budget up to 1 PB does. More budget does not always make larger calls (a
    chunk may take more plans on smaller blocks, and in this process the rows go to a file or stay
    in memory), so every budget so shown is tried, from the least up (about 900 a tenfold, a
    millisecond each): a search that took calls to grow with the budget named 16.9 MB for 40 plans of
    tiny on 20,000 scenarios in 2 Ray tasks within 12 MB, where 12.3 MB holds."""
    target = min(SENSIBLE_BLOCK_PAIRS, n_plans * n_scenarios)

    def holds(budget: int) -> bool:
        try:
            plan_chunk, scenario_chunk = sizes(budget)
        except MemoryBudgetError:
            return False
        return plan_chunk * scenario_chunk >= target

    low = 0 if above is None else above
    high = max(10**3, 2 * low)
    while not holds(high):  # every budget above ``above`` tried; without it, from the last doubling
        if high >= 10**15:
            return None
        low, high = (high if above is None else low), high * 2
    shown = rounded_up(low + 1)
    while not holds(shown):
        if shown >= 10**15:
            return None
        shown += _digit_step(shown)  # the next shown to three digits (1,000,000 after 999,000)
    return shown


def _digit_step(n: int) -> int:
    """The step of a budget's third digit as :func:`rounded_up` shows ``n`` (10 for 894,410)."""
    return 10 ** max(0, len(str(int(n))) - 3)


def _check_one_plan_fits(n_scenarios: int, need_bytes: int, budget_bytes: int) -> None:
    """Refuse a budget too small for one plan, its tables and its results, on one scenario at a
    time (:func:`chunk_sizes`), saying the budget that would do."""
    if need_bytes > budget_bytes:
        too_small = MemoryBudgetError("", need_bytes, budget_bytes)
        raise MemoryBudgetError.naming(
            f"one plan on {counted(n_scenarios, 'scenario')} {needs_more_than(too_small)}: give ",
            *least_budget(need_bytes), need_bytes=need_bytes, budget_bytes=budget_bytes,
        )  # fmt: skip


# Scenarios split into blocks are made again for every chunk of plans (one block is made once for
# the run), and making a block costs about what simulating a few plans on it does: split, where
# the chunks hold their rows in memory (worker processes, Ray, and in this process where
# split_chunk_sizes finds no room), blocks are cut small enough for this many plans a chunk, rather
# than one plan on a block as large as the pairs allow (100 MB for 200 plans x 5,000 scenarios ran
# 2.9x slower so: benchmarks/README.md).
PLANS_PER_SPLIT_CHUNK = 16


def split_scenarios(n_scenarios: int, pairs: int, n_plans: int) -> int:
    """Scenarios per block for at most ``pairs`` (plan, scenario) pairs a call: all of them in one
    block where they fit, else even blocks of room for :data:`PLANS_PER_SPLIT_CHUNK` plans."""
    if n_scenarios <= pairs:
        return max(1, n_scenarios)
    return even_blocks(n_scenarios, pairs // min(n_plans, PLANS_PER_SPLIT_CHUNK))


def even_blocks(n_scenarios: int, largest: int) -> int:
    """Scenarios per block of the fewest even blocks of at most ``largest`` scenarios (at least 1)."""
    blocks = -(-n_scenarios // max(1, largest))
    return -(-n_scenarios // blocks)


# The metrics of rows read back from a file hold a few fields of a plan's row at a time
# beside their temporaries: measured with tracemalloc at 42 bytes a (plan, scenario) pair on the
# default model (2 plans x 20,000 scenarios), against the row's 216 in memory (224 for a plan solved
# for least cost: row_bytes_per_plan) and its metrics' 26
_SPILLED_METRIC_WORDS_PER_PAIR = 6


def spilled_metric_bytes(n_scenarios: int) -> int:
    """Bytes the metrics of one plan take over ``n_scenarios`` scenarios, its row read back from a
    file field by field (spill.py)."""
    return 8 * _SPILLED_METRIC_WORDS_PER_PAIR * n_scenarios


def split_chunk_sizes(data: ModelData, plans: PlanBatch, n_scenarios: int, budget_bytes: int, max_pairs: int,
                      backend_name: str, folder: str | Path | None = None
                      ) -> tuple[int, int] | None:  # fmt: skip
    """(plans per chunk, scenarios per block) of a run in this process whose scenarios are split
    into blocks. A block is made once for its chunk (docs/evaluation.md, "Chunking"), so a chunk
    takes as many plans as what each holds over all the blocks leaves room for in
    :data:`~fleetopt.evaluate.spill.ROWS_SHARE` of the budget: its tables and its row of results
    (:func:`row_bytes_per_plan`); where those rows of all the plans take more, its tables alone,
    the rows written to a file in ``folder`` (None: :func:`~fleetopt.evaluate.spill.spill_folder`;
    as many plans' as half its free space and
    :data:`~fleetopt.evaluate.spill.SPILL_BUDGET_TIMES` the budget hold)
    and read back for the metrics a plan at a time (:func:`spilled_metric_bytes`). The chunks are
    as even as their number allows, and the blocks take what is left, at most ``max_pairs`` pairs
    a call. None where nothing fits so (the file has no room, or one plan's metrics read back
    do not fit): :func:`chunk_sizes`' sizes then stand."""
    P, S = plans.P, n_scenarios
    tables, row = table_bytes_per_plan(plans, backend_name), row_bytes_per_plan(S, kept_fields(data, plans))
    share = int(ROWS_SHARE * budget_bytes)
    spilled = P * (row + tables) > share
    held = tables if spilled else row + tables
    plan_chunk = min(P, share // held, plans_spill_holds(S, budget_bytes, folder) if spilled else P)
    if plan_chunk < 1:
        return None
    plan_chunk = -(-P // -(-P // plan_chunk))  # as many chunks, none larger than needed
    room = budget_bytes - plan_chunk * held
    pair_bytes, scenario_bytes = bytes_per_pair(data, plans), block_bytes_per_scenario(data)
    largest = min(max_pairs // plan_chunk, room // (scenario_bytes + plan_chunk * pair_bytes))
    if spilled:  # at least two blocks: the rows of one block are the simulation's own, in memory
        largest = min(largest, S - 1) if spilled_metric_bytes(S) <= room else 0
    return (plan_chunk, even_blocks(S, largest)) if largest >= 1 else None


def rows_on_disk(data: ModelData, plans: PlanBatch, n_scenarios: int, backend_name: str, budget_bytes: int,
                 plan_chunk: int, scenario_chunk: int, folder: str | Path | None = None) -> bool:  # fmt: skip
    """Whether a run in this process in chunks of ``plan_chunk`` plans on blocks of
    ``scenario_chunk`` scenarios keeps its rows of results in a file in ``folder`` (None:
    :func:`~fleetopt.evaluate.spill.spill_folder`): where the scenarios are split into blocks and a
    chunk's rows, tables and block do not fit ``budget_bytes`` in memory (sizes
    :func:`split_chunk_sizes` made for rows in a file, or a budget smaller now), and the folder is
    not in memory (a tmpfs: the rows would take the same RAM there)."""
    if scenario_chunk >= n_scenarios or backend_name == "cupy" or folder_in_memory(folder or spill_folder()):
        return False
    c = min(plan_chunk, plans.P)
    row = row_bytes_per_plan(n_scenarios, kept_fields(data, plans))
    held = c * (row + table_bytes_per_plan(plans, backend_name))
    pair_bytes, scenario_bytes = bytes_per_pair(data, plans), block_bytes_per_scenario(data)
    return held + scenario_chunk * (scenario_bytes + c * pair_bytes) > budget_bytes

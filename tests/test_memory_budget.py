"""`fleetopt evaluate --max-memory`: the chunk sizing counts what a chunk holds per plan (its plans
laid out for the simulation), not only its (plan, scenario) pairs. 1,000 plans of the default
model x 10 scenarios within 50 MB peaked at 123 MB (benchmarks/README.md, "--max-memory holds").

tiny, 6 copies of its MILP plan on 2 scenarios, NumPy: a plan compiled takes B bytes
(PlanBatch.nbytes / 6: 10,400 in 0.4.23, 10,464 with the plans' own borrowing base needs; B grows
with every column a plan gains, so the tests read it), its tables are counted at twice that, 2B;
its row of results over the 2 scenarios and their metrics' temporaries 2 x (216 + 32) = 496 (27
results and 4 words of 8 bytes); a pair 928 bytes of working memory (116 words); a scenario's
factor paths 2,544 (106 words, held 3 times)."""

from __future__ import annotations

import errno
import json
import os
import re

import pandas as pd
import pytest
from conftest import run_cli, squashed
from evaluate_builders import MODELS, solved
from milp_builders import data_of
from test_delivery_slip import model, plan

from fleetopt import api
from fleetopt.core.units import format_bytes
from fleetopt.evaluate import backend_choice, chunk_eval, chunking, engine, local_executor
from fleetopt.evaluate.backend import Backend, resolve_backend
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.chunking import (
    MemoryBudgetError,
    chunk_sizes,
    rounded_up,
    table_bytes_per_plan,
    worker_chunk_sizes,
    worker_process_sizes,
)
from fleetopt.evaluate.result_fields import fields_kept, result_bytes

SLIP = {"probability": 0.5, "min_quarters": 1, "max_quarters": 2}
ROW, PAIR, SCENARIO = 496, 928, 2_544  # tiny on 2 scenarios (the module docstring)


def tiny(slip: dict | None = None, n: int = 6):
    d = MODELS["tiny"]()
    if slip:
        d["risk"]["delivery_slip"] = slip
    data = data_of(d)
    return data, compile_plans(data, [solved("tiny").plan] * n, [f"p{i}" for i in range(n)])


def test_a_chunk_counts_each_plans_tables_beside_its_pairs():
    """Budget 100,000 on 2 scenarios: one plan takes 496 + 2B with its tables, so a block of one
    plan holds (100,000 - 496 - 2B) // (928 + 2,544) pairs, both scenarios, and a chunk
    (100,000 - 2 x 2,544) // (496 + 2B + 2 x 928) plans: at B = 10,464, 94,912 // 23,280 = 4
    plans, so 2 chunks, of 3 plans each. Without the tables (94,912 // 2,352) 40 plans would fit:
    all 6."""
    data, plans = tiny()
    b = plans.nbytes // 6
    assert table_bytes_per_plan(plans, "numpy") == 2 * b
    assert chunking.row_bytes_per_plan(2) == ROW and 8 * chunking.words_per_pair(data, plans) == PAIR
    assert 8 * 3 * chunking.words_per_scenario(data) == SCENARIO
    pairs = (100_000 - ROW - 2 * b) // (PAIR + SCENARIO)
    by_room = (100_000 - 2 * SCENARIO) // (ROW + 2 * b + 2 * PAIR)
    even = -(-6 // -(-6 // by_room))  # as many chunks as by_room plans a chunk make, even
    assert pairs >= 2 and chunk_sizes(data, plans, 2, 100_000) == (even, 2)
    assert by_room < 6 <= (100_000 - 2 * SCENARIO) // (ROW + 2 * PAIR)  # the tables make the difference


def test_a_chunks_plans_share_its_scenario_blocks_factor_paths():
    """Budget 1,000,000 on 100 scenarios: one plan takes 100 x 248 + 2B = 45,728 bytes with its row
    of results and its tables (B = 10,464) and 100 x 928 = 92,800 for its pairs; the block's factor
    paths, 100 x 2,544 = 254,400, are the scenarios', shared by every plan of the chunk:
    (1,000,000 - 254,400) // (45,728 + 92,800) = 5 plans fit a chunk (947,040 bytes): 2 chunks, of
    3. The factor paths counted again with each pair, (1,000,000 - 45,728) // (928 + 2,544) = 274
    pairs, made it 2."""
    data, plans = tiny()
    assert chunking.row_bytes_per_plan(100) == 24_800 and plans.nbytes // 6 == 10_464
    assert chunk_sizes(data, plans, 100, 1_000_000) == (3, 100)


def test_a_split_blocks_scenarios_are_as_many_as_the_chunks_plans_leave_room_for():
    """Budget 1,500,000 on 1,000 scenarios, 6 plans, B = 10,464: one plan takes 1,000 x 248 + 2B =
    268,928 with its row of results and its tables, so a block of one plan may hold
    (1,500,000 - 268,928) // (928 + 2,544) = 354 scenarios, cut for the 6 plans into 17 blocks of
    59; with them (1,500,000 - 59 x 2,544) // (268,928 + 59 x 928) = 4 plans fit a chunk, so 2
    chunks of 3. Their block may hold (1,500,000 - 3 x 268,928) // (2,544 + 3 x 928) = 130
    scenarios: 8 blocks of 125 a chunk, not 17 of 59 cut for plans the rows leave no room for
    (10 plans x 10,000 scenarios within 20 MB ran in 234 blocks of 86, ~25 ms of CPU each whatever
    their size: benchmarks/README.md). The chunk, 3 x 268,928 + 125 x 2,544 + 3 x 125 x 928 =
    1,472,784 bytes, keeps within the budget."""
    data, plans = tiny()
    assert chunking.row_bytes_per_plan(1000) + table_bytes_per_plan(plans, "numpy") == 268_928
    assert chunk_sizes(data, plans, 1000, 1_500_000) == (3, 125)
    assert 3 * 268_928 + 125 * SCENARIO + 3 * 125 * PAIR <= 1_500_000


def test_a_split_run_in_this_process_takes_every_plan_a_chunk_its_rows_in_a_file():
    """The budget above, 1,500,000 on 1,000 scenarios: in 2 chunks of 3 plans each of the 8 blocks
    was made twice. The 6 plans' rows and tables, 6 x 268,928 = 1,613,568, are more than half the
    budget, so the rows go to a temporary file and a plan holds its tables alone, 2B = 20,928:
    750,000 // 20,928 = 35 plans fit half the budget, all 6 in one chunk. The 1,500,000 - 6 x
    20,928 = 1,374,432 left hold blocks of 1,374,432 // (2,544 + 6 x 928) = 169 scenarios: 6
    blocks of 167, each made once. In memory, that chunk would take 1,613,568 + 167 x 8,112 bytes,
    more than the budget: its rows go to the file; the 3 plans a chunk of before fit."""
    data, plans = tiny()
    be = resolve_backend("numpy", 1)
    assert chunk_sizes(data, plans, 1000, 1_500_000) == (3, 125)
    assert chunking.backend_chunk_sizes(data, plans, 1000, be, 1_500_000) == (6, 167)
    assert chunking.rows_on_disk(data, plans, 1000, "numpy", 1_500_000, 6, 167)
    assert not chunking.rows_on_disk(data, plans, 1000, "numpy", 1_500_000, 3, 125)


def test_a_budget_below_one_plans_row_runs_with_the_rows_in_a_file(here, solve_run):
    """200,000 bytes on 1,000 scenarios, 6 plans, B = 10,464: one plan's row of results in memory,
    its pair and a scenario take 248,000 + 928 + 2,544 = 251,472 bytes, more than the budget, and
    the run was refused ("at least 273 KB") before the temporary file was considered, which needs
    no row in memory: tiny's 8 sweep plans on 200,000 scenarios within 20 MB were refused, "at
    least 49.7 MB", and run in 12.2 MB (tracemalloc). In the file, a plan holds its tables, 2B =
    20,928: 100,000 // 20,928 = 4 plans fit half the budget, so 2 chunks of 3; the 200,000 - 3 x
    20,928 = 137,216 left hold a plan's metrics read back (48 x 1,000 = 48,000) and blocks of
    137,216 // (2,544 + 3 x 928) = 25 scenarios: 40 blocks of 25. The figures are those of one
    chunk in memory, to the bit. One plan (the CLI's, solve_run): 179,072 // 3,472 = 51, 20
    blocks of 50, exit 0."""
    data, plans = tiny()
    be = resolve_backend("numpy", 1)
    with pytest.raises(MemoryBudgetError, match="need 251 KB of working memory for each plan's results"):
        chunk_sizes(data, plans, 1000, 200_000)
    assert chunking.backend_chunk_sizes(data, plans, 1000, be, 200_000) == (3, 25)
    assert chunking.rows_on_disk(data, plans, 1000, "numpy", 200_000, 3, 25)
    tight = engine.evaluate(data, plans, 1000, 5, backend=be, max_memory=200_000)
    whole = engine.evaluate(data, plans, 1000, 5, backend=be, plan_chunk=6, scenario_chunk=1000)
    assert (tight.plan_chunk, tight.scenario_chunk) == (3, 25)
    pd.testing.assert_frame_equal(tight.metrics, whole.metrics, check_exact=True)
    args = ("--plans", str(solve_run), "--scenarios", "1000", "--max-memory", "200KB", "--out", "B")
    code, out, err = run_cli("evaluate", *args, "--backend", "numpy")
    assert code == 0 and "note: the rows of results go to a file in B/chunks" in err, out + err
    assert json.loads((here / "B" / "job.json").read_text())["scenario_chunk"] == 50


def test_rows_that_fit_half_the_budget_stay_in_memory_every_plan_in_one_chunk():
    """4,000,000 bytes on 1,000 scenarios, at most 1,200 pairs a call: the 6 plans' rows and tables,
    1,613,568, fit half the budget (2,000,000 // 268,928 = 7 plans would): one chunk of 6 in memory.
    The 2,386,432 left would hold blocks of 294 scenarios, but 1,200 pairs a call are 200 for 6
    plans: 5 blocks of 200, each made once (1,613,568 + 200 x 8,112 = 3,235,968 bytes)."""
    data, plans = tiny()
    assert chunking.split_chunk_sizes(data, plans, 1000, 4_000_000, 1_200, "numpy") == (6, 200)
    assert not chunking.rows_on_disk(data, plans, 1000, "numpy", 4_000_000, 6, 200)


def test_rows_a_folder_has_no_room_for_stay_in_memory(monkeypatch):
    """The rows of the first test above, 6 x 1,000 x 216 = 1,296,000 bytes (8 a value of each of
    the 27 results), in a folder with 2,000,000 free: at most half of it is taken, 4 plans' rows
    (1,000,000 // 216,000), so 2 chunks of 3 plans, on the blocks what they hold leaves, 1,500,000
    - 3 x 20,928 = 1,437,216 // (2,544 + 3 x 928) = 269, 4 blocks of 250. With 400,000 free, not
    one plan's rows fit: the sizes of chunks holding their rows in memory stand."""
    from fleetopt.evaluate import spill

    data, plans = tiny()
    be = resolve_backend("numpy", 1)
    assert result_bytes(6, 1000) == 1_296_000
    for free, sizes in [(2_000_000, (3, 250)), (400_000, (3, 125))]:
        monkeypatch.setattr(spill.shutil, "disk_usage", lambda folder, free=free: _Usage(free))
        assert chunking.backend_chunk_sizes(data, plans, 1000, be, 1_500_000) == sizes


def test_the_file_takes_at_most_eight_times_the_budget(monkeypatch):
    """40 plans on 2,000 scenarios within 2,000,000 bytes, a disk with 1 TB free: their rows and
    tables, 40 x (2,000 x 248 + 20,928), are more than half the budget, so the rows go to a file,
    432,000 bytes a plan (2,000 x 216). Half the budget holds 1,000,000 // 20,928 = 47 plans' tables,
    so all 40 would make one chunk and a 17,280,000-byte file; the file may take at most 8 x
    2,000,000 = 16,000,000 bytes, 37 plans' rows, so 2 chunks of 20 (8,640,000 bytes each), on
    blocks of (2,000,000 - 20 x 20,928) // (2,544 + 20 x 928) = 1,581,440 // 21,104 = 74
    scenarios: 28 blocks of 72. Without --max-memory the budget is half the free memory, and
    200 plans x 1,000,000 scenarios wrote a 21.6 GB file."""
    from fleetopt.evaluate import spill

    data, plans = tiny(n=40)
    monkeypatch.setattr(spill.shutil, "disk_usage", lambda folder: _Usage(10**12))
    assert table_bytes_per_plan(plans, "numpy") == 20_928 and result_bytes(40, 2000) == 17_280_000
    be = resolve_backend("numpy", 1)
    assert chunking.backend_chunk_sizes(data, plans, 2000, be, 2_000_000) == (20, 72)
    assert spill.plans_spill_holds(2000, 2_000_000) == 37


# /proc/mounts as a Debian 13 machine writes it: / on a disk, /tmp a tmpfs with a disk mounted under
# it, /tmpx a disk (not under /tmp), a ramfs whose mount point has a space (written \040), and /data
# mounted twice, a tmpfs over the disk (the last mount is the one seen)
FAKE_MOUNTS = """/dev/sda1 / ext4 rw,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
/dev/sdb1 /tmp/disk ext4 rw 0 0
/dev/sdc1 /tmpx xfs rw 0 0
none /ram\\040disk ramfs rw 0 0
/dev/sdd1 /data ext4 rw 0 0
tmpfs /data tmpfs rw 0 0
"""


def test_a_folder_in_memory_is_found_from_the_longest_mount_point_holding_it(tmp_path):
    """The folder's filesystem is that of the longest mount point that is a whole-component prefix
    of its real path: /tmp/a is on the tmpfs, /tmp/disk/a on the disk mounted under it, /tmpx/a on
    xfs (not under /tmp), /ram disk/a on a ramfs, /data on the tmpfs mounted last; a link to /tmp/a
    from a folder of the disk is in memory. Mounts that cannot be read: a disk is assumed."""
    from fleetopt.evaluate.spill import folder_in_memory

    mounts = tmp_path / "mounts"
    mounts.write_text(FAKE_MOUNTS)
    link = tmp_path / "link"
    link.symlink_to("/tmp/a")
    expected = {"/tmp/a": True, "/tmp": True, "/tmp/disk/a": False, "/tmpx/a": False, "/ram disk/a": True,
                "/data/a": True, "/home/a": False, str(link): True}  # fmt: skip
    assert {folder: folder_in_memory(folder, str(mounts)) for folder in expected} == expected
    assert not folder_in_memory("/tmp/a", str(tmp_path / "no-such-file"))


def test_rows_stay_in_memory_where_the_temporary_folder_is_a_tmpfs(tmp_path, monkeypatch):
    """The first run above, 6 plans on 1,000 scenarios within 1,500,000 bytes, writes its rows to a
    file in one chunk of 6 on blocks of 167 where $TMPDIR is on a disk. On a tmpfs, that file is RAM
    (TMPDIR=/dev/shm grew Shmem by 209 MB within --max-memory 60MB): the rows stay in memory, in 2
    chunks of 3 on blocks of 125, as chunk_sizes makes them, and the sizes (6, 167), given, keep them
    in memory too."""
    from fleetopt.evaluate import spill

    data, plans = tiny()
    be = resolve_backend("numpy", 1)
    mounts = tmp_path / "mounts"
    monkeypatch.setattr(spill, "MOUNTS", str(mounts))
    monkeypatch.setattr(spill.shutil, "disk_usage", lambda folder: _Usage(10**12))
    monkeypatch.setattr(spill.tempfile, "tempdir", "/data/tmp")
    mounts.write_text(FAKE_MOUNTS.replace("tmpfs /data tmpfs", "/dev/sde1 /data ext4"))
    assert chunking.backend_chunk_sizes(data, plans, 1000, be, 1_500_000) == (6, 167)
    assert chunking.rows_on_disk(data, plans, 1000, "numpy", 1_500_000, 6, 167)
    mounts.write_text(FAKE_MOUNTS)
    assert spill.plans_spill_holds(1000, 1_500_000) == 0
    assert chunking.backend_chunk_sizes(data, plans, 1000, be, 1_500_000) == (3, 125)
    assert not chunking.rows_on_disk(data, plans, 1000, "numpy", 1_500_000, 6, 167)


def _dev_shm_is_tmpfs() -> bool:
    try:
        with open("/proc/mounts") as mounts:
            return any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in mounts)
    except OSError:
        return False


@pytest.mark.skipif(not _dev_shm_is_tmpfs(), reason="/dev/shm is not a tmpfs here")
def test_rows_stay_in_memory_with_tmpdir_dev_shm(monkeypatch):
    """The same run with $TMPDIR /dev/shm, this machine's own tmpfs, read from its /proc/mounts."""
    from fleetopt.evaluate import spill

    data, plans = tiny()
    be = resolve_backend("numpy", 1)
    monkeypatch.setattr(spill.tempfile, "tempdir", "/dev/shm")
    assert spill.plans_spill_holds(1000, 1_500_000, "/dev/shm") == 0
    assert chunking.backend_chunk_sizes(data, plans, 1000, be, 1_500_000) == (3, 125)
    assert not chunking.rows_on_disk(data, plans, 1000, "numpy", 1_500_000, 6, 167)


class _Usage:
    def __init__(self, free: int):
        self.free = free


class _FullDisk:
    """The os module, but for a disk that is full: pwrite fails as a full disk does."""

    def __getattr__(self, name: str):
        return getattr(os, name)

    @staticmethod
    def pwrite(*args):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_the_note_of_a_cost_plan_s_rows_in_a_file_counts_its_present_cost(here):
    """A plan solved for least cost keeps its present cost too: 28 results of 8 bytes a pair, 224, and
    8 a scenario: 1,000 x (224 + 8) = 232,000 bytes for lab's plan on 1,000 scenarios within 500 KB. The
    note said 216 bytes a pair beside that total; --max-memory's help gives both."""
    api.write_solve_run(api.solve("lab", objective="cost", mip_gap=0.01), out=here / "A")
    args = ("--plans", "A", "--scenarios", "1000", "--max-memory", "500KB", "--backend", "numpy",
            "--out", "E")  # fmt: skip
    code, out, err = run_cli("evaluate", *args)
    assert code == 0, out + err
    assert ("note: the rows of results go to a file in E/chunks, 232 KB for each chunk of 1 plan (224 "
            "bytes a plan-scenario pair and 8 a scenario), outside --max-memory") in " ".join(err.split())
    _, out, _ = run_cli("evaluate", "--help")
    assert squashed("216 bytes a plan-scenario pair, 224 for plans solved for least cost, 16 more with "
                    "policy.prepay_borrowing_base") in squashed(out)


def test_the_note_of_rows_in_a_file_counts_policy_rule_6_s_two_results(here):
    """With policy.prepay_borrowing_base on, a pair keeps 29 results: 232 bytes, and 8 a scenario:
    1,000 x (232 + 8) = 240,000 bytes for lab's NPV plan on 1,000 scenarios within 500 KB (the note said
    216 beside a total that, once the rule's rows were kept, would be 16 bytes a pair short)."""
    api.write_solve_run(api.solve("lab", mip_gap=0.01), out=here / "A")
    args = ("--plans", "A", "--scenarios", "1000", "--max-memory", "500KB", "--backend", "numpy",
            "--set", "policy.prepay_borrowing_base=true", "--out", "E")  # fmt: skip
    code, out, err = run_cli("evaluate", *args)
    assert code == 0, out + err
    assert ("note: the rows of results go to a file in E/chunks, 240 KB for each chunk of 1 plan (232 "
            "bytes a plan-scenario pair and 8 a scenario), outside --max-memory") in " ".join(err.split())


def test_a_full_disk_under_the_rows_stops_the_run_saying_where_and_what_to_do(here, solve_run, monkeypatch):
    """One plan of tiny on 1,000 scenarios within 500 KB: its row and tables, 268,800 bytes, are
    more than half the budget, so the row goes to a file, in the run folder's chunks/ (not $TMPDIR:
    a stopped run keeps it), 1,000 x (216 + 8) = 224,000 bytes with each scenario's demand. A disk
    that fills while it is written stops the run with exit status 2, naming the folder, the error
    and the remedies, no traceback, and the file, which holds no block, is closed and removed; the
    run is kept, to be resumed. Before it starts, the run says where the rows go and how large they
    are."""
    import tempfile

    from fleetopt.evaluate import spill

    monkeypatch.setattr(tempfile, "tempdir", str(here / "tmp"))
    (here / "tmp").mkdir()
    closed = []
    real_close = spill.SpilledRows.close

    def close(self):
        closed.append(self.P)
        real_close(self)

    monkeypatch.setattr(spill, "os", _FullDisk())  # the run folder's own writes go on
    monkeypatch.setattr(spill.SpilledRows, "close", close)
    args = ("--plans", str(solve_run), "--scenarios", "1000", "--max-memory", "500KB", "--backend", "numpy",
            "--out", "F")  # fmt: skip
    code, out, err = run_cli("evaluate", *args)
    said = " ".join(err.split())
    assert code == 2 and "Traceback" not in out + err, out + err
    assert ("note: the rows of results go to a file in F/chunks, 224 KB for each chunk of 1 plan (216 "
            "bytes a plan-scenario pair and 8 a scenario), outside --max-memory") in said
    assert ("the file of a chunk's rows of results (224 KB for 1 plan x 1,000 scenarios) could not be "
            "written in F/chunks: No space left on device; free space there, or give a larger max_memory "
            "(fleetopt evaluate --max-memory)") in said
    assert closed == [1] and list((here / "tmp").iterdir()) == list((here / "F" / "chunks").iterdir()) == []
    assert ("The run is kept in F (no evaluation chunk yet; the run's model and settings saved): "
            "finish it, once there is room, with: fleetopt evaluate --resume F") in said


class _NoRoomToAllocate(_FullDisk):
    """The os module, but posix_fallocate fails with ``code``: ENOSPC as a disk without room does,
    EOPNOTSUPP as a filesystem that cannot preallocate does."""

    def __init__(self, code: int):
        self.code = code

    def posix_fallocate(self, fd, offset, size):
        self.asked = size
        raise OSError(self.code, os.strerror(self.code))

    pwrite = staticmethod(os.pwrite)


def test_a_disk_without_room_for_the_rows_stops_the_run_before_its_first_block(monkeypatch):
    """The run above whose rows go to a file, 6 plans x 1,000 scenarios within 1,500,000 bytes in
    one chunk on 6 blocks of 167: the file, 6 x 1,000 x 216 = 1,296,000 bytes, is allocated whole
    when made, so a disk without room for it stops the run with SpillError before any block is
    made (a file allocated as written failed only at its last blocks, the run's work lost). A
    filesystem that cannot preallocate (EOPNOTSUPP) runs as before, its file allocated as written."""
    from fleetopt.evaluate import spill

    data, plans = tiny()
    made, real_block = [], chunk_eval.scenario_block

    def block(data, spec, start, stop, *args):
        if not spec.deterministic:  # not the check of each plan on the forecast
            made.append((start, stop))
        return real_block(data, spec, start, stop, *args)

    for module in (chunk_eval, local_executor):  # a chunk's blocks, and one block made for every chunk
        monkeypatch.setattr(module, "scenario_block", block)
    monkeypatch.setattr(spill, "os", _NoRoomToAllocate(errno.ENOSPC))
    with pytest.raises(spill.SpillError, match=r"could not be made in .*: No space left on device"):
        engine.evaluate(data, plans, 1000, 0, backend="numpy", max_memory=1_500_000)
    assert made == [] and spill.os.asked == 1_296_000
    monkeypatch.setattr(spill, "os", _NoRoomToAllocate(errno.EOPNOTSUPP))
    result = engine.evaluate(data, plans, 1000, 0, backend="numpy", max_memory=1_500_000)
    assert (result.plan_chunk, result.scenario_chunk) == (6, 167) and len(made) == 6


def test_each_worker_process_counts_the_chunk_sent_to_it():
    """`--workers 2` with a budget of 200,000: each worker's share is 100,000, in which this process
    sizes chunks of 4 plans (above: 94,912 // 23,280). A worker process also holds the chunk sent to
    it three times as it arrives (the message, its copy and the plans unpickled): 3B more a plan,
    (100,000 - 2 x 2,544) // (496 + 5B + 2 x 928) = 94,912 // 54,672 = 1 plan a chunk at B = 10,464.
    Uncounted, 2 workers within 50 MB held 88 MB beside the model (benchmarks/README.md). 40 plans,
    so that the quarter of each worker's share (5) does not bind."""
    data, plans = tiny(n=40)
    b = plans.nbytes // 40
    assert b == 10_464 and chunking.sent_bytes_per_plan(plans) == 3 * b
    assert chunk_sizes(data, plans, 2, 100_000) == (4, 2)
    assert worker_process_sizes(data, plans, 2, "numpy", 200_000, workers=2) == (1, 2)



def test_a_workers_budget_too_small_says_the_runs_budget_that_would_do(here, solve_run):
    """`--workers 2` with 40,000 bytes: each worker's share is 20,000, and one plan of tiny on 2
    scenarios needs 496 + 5B + 928 + 2,544 = 56,288 there at B = 10,464 (its tables 2B, the chunk
    sent 3B). The refusal named the share as 'the budget of 20 KB' beside the 40 KB given: it says
    the share of what was given, and the run's budget that would do, 2 x 56,288 rounded up, 113 KB."""
    data, plans = tiny(n=1)
    need = ROW + 5 * plans.nbytes + PAIR + SCENARIO
    assert need == 56_288
    with pytest.raises(MemoryBudgetError) as refused:
        worker_process_sizes(data, plans, 2, "numpy", 40_000, workers=2)
    assert str(refused.value) == (
        f"one plan on 2 scenarios needs {format_bytes(need)} of working memory (its tables and its "
        f"results) in each of the 2 worker processes (--workers), more than each one's share of the "
        f"budget, 20 KB of 40 KB: give a max_memory (--max-memory) of at least "
        f"{format_bytes(113_000)}, or fewer workers"
    )
    args = ("--plans", str(solve_run), "--scenarios", "2", "--workers", "2", "--max-memory", "40KB",
            "--out", "W")  # fmt: skip
    code, out, err = run_cli("evaluate", *args)
    assert code == 2 and "20 KB of 40 KB" in " ".join(err.split()), out + err
    assert not (here / "W").exists()

def slipping() -> tuple:
    """test_delivery_slip's model, its SKU A late by 1 or 2 quarters with probability 0.5, and 6
    copies of its plan: each compiled in B bytes (6,944 in 0.4.23), and again for each slip (2 x 6 x
    B = 83,328)."""
    data = data_of(model(SLIP))
    return data, compile_plans(data, [plan(data)] * 6, [f"p{i}" for i in range(6)])


def test_the_kernel_counts_each_slips_tables_and_a_gpu_the_next_chunks_too():
    """NumPy lays out each slip's plans in turn: 2B a plan. The fused kernel keeps the plans' tables
    and each slip's for every block: 3 x 2B; on a GPU the next chunk's are uploaded meanwhile:
    4 x 2B, of which the GPU budget counted none. CuPy, budget 250,000 on 2 scenarios: a pair 816 +
    2 x 216 (a slip's copies of its results) = 1,248, a scenario 1,632, one plan 496 + 8B, so
    (250,000 - 2 x 1,632) // (496 + 8B + 2 x 1,248) plans a chunk: at B = 6,944, 246,736 // 58,544 =
    4 (without the tables all 6; the variants, in this machine's memory, are not in the GPU's
    budget)."""
    data, plans = slipping()
    b = plans.nbytes // 6
    assert sorted(plans.slipped) == [1, 2] and chunking.slip_variant_bytes(plans) == 2 * 6 * b
    assert [table_bytes_per_plan(plans, name) for name in ("numpy", "cpu-kernel", "cupy")] == [
        2 * b, 6 * b, 8 * b]  # fmt: skip
    assert 8 * chunking.words_per_pair(data, plans) + chunking.slip_bytes_per_pair(plans) == 1_248
    per_chunk = (250_000 - 2 * 1_632) // (496 + 8 * b + 2 * 1_248)
    even = -(-6 // -(-6 // per_chunk))  # 4 fit: 2 chunks, of 3
    assert per_chunk < 6 and worker_chunk_sizes(data, plans, 2, "cupy", 1, 10**12, 250_000) == (even, 2)


def test_the_c_builds_chunks_hold_no_more_pairs_than_run_faster_however_much_memory_is_free():
    """64 GB free (a default budget of 32 GB, room for 269 of tiny's plans on 100,000 scenarios):
    the C build's chunks hold at most 262,144 pairs a thread (``MAX_PAIRS``), beyond which they ran
    no faster, so on 2 threads 524,288 // 100,000 = 5 plans fit a chunk: 12 plans in 3 chunks of 4
    (sized by the budget alone, all 12 in one, 4 times the memory). One thread: 2 plans a chunk.
    A --max-memory of 500 MB stays the limit: one plan takes 100,000 x 248 + 2B = 24,820,928 bytes
    with its row of results and its tables (B = 10,464) and 100,000 x 928 for its pairs, the
    block's factor paths 100,000 x 2,544, so (500 MB - 254.4 MB) // 117,620,928 = 2 plans."""
    data, plans = tiny(n=12)
    assert chunking.MAX_PAIRS["cpu-kernel"] == 262_144 and plans.nbytes // 12 == 10_464
    free = 64 * 10**9
    assert worker_chunk_sizes(data, plans, 100_000, "cpu-kernel", 2, free) == (4, 100_000)
    assert worker_chunk_sizes(data, plans, 100_000, "cpu-kernel", 1, free) == (2, 100_000)
    assert worker_chunk_sizes(data, plans, 100_000, "cpu-kernel", 2, free, 500 * 10**6) == (2, 100_000)


def test_a_budget_too_small_for_one_plan_says_the_budget_that_would_do(here, solve_run):
    """Budget 20,000 on 2 scenarios: one plan needs 496 + 2B + 928 + 2,544 bytes (24,896 at
    B = 10,464). Refused naming --max-memory and a size that is enough, before any work."""
    data, plans = tiny()
    need = ROW + 2 * (plans.nbytes // 6) + PAIR + SCENARIO
    with pytest.raises(MemoryBudgetError) as refused:
        chunk_sizes(data, plans, 2, 20_000)
    assert refused.value.need_bytes == need
    assert str(refused.value) == (
        f"one plan on 2 scenarios needs {format_bytes(need)} of working memory (its tables and its "
        f"results), more than the budget of 20 KB: give a max_memory (--max-memory) "
        f"of at least {format_bytes(rounded_up(need))}"
    )
    # solve_run's plan, one plan of tiny on 2 scenarios, as above
    args = ("--plans", str(solve_run), "--scenarios", "2", "--max-memory", "20KB", "--out", "B")
    code, out, err = run_cli("evaluate", *args)
    assert code == 2 and "give a --max-memory of at least" in " ".join(err.split()), out + err
    assert not (here / "B").exists()


def test_a_budget_too_small_for_one_plans_results_says_the_budget_that_would_do():
    """Budget 3,000 on 2 scenarios: one plan's results alone take 496 + 928 + 2,544 = 3,968 bytes.
    The refusal said "a larger max_memory" without a size; it names what one plan needs with its
    tables, 3,968 + 2B, which runs."""
    data, plans = tiny(n=1)
    need = ROW + PAIR + SCENARIO + 2 * plans.nbytes
    results = r"3\.97 KB of working memory for each plan's results"
    with pytest.raises(MemoryBudgetError, match=results) as refused:
        chunk_sizes(data, plans, 2, 3_000)
    assert str(refused.value).endswith(
        f"max_memory (--max-memory) of at least {format_bytes(rounded_up(need))}"
    )
    assert chunk_sizes(data, plans, 2, rounded_up(need)) == (1, 1)  # a scenario at a time


@pytest.mark.parametrize(
    ("size", "text"),
    [(999, "999 B"), (999.6, "1 KB"), (999_499, "999 KB"), (999_500, "1 MB"), (999_999, "1 MB"),
     (1_234_567, "1.23 MB"), (24_760, "24.8 KB"), (999.9e12, "1 PB")],
)  # fmt: skip
def test_a_size_that_rounds_to_a_thousand_of_its_unit_is_written_in_the_next(size, text):
    """--max-memory 999.6KB was refused "more than the budget of 1e+03 KB": 999,600 bytes rounded
    to three significant digits in KB is 1,000 KB, written in MB."""
    assert format_bytes(size) == text


def test_a_budget_written_in_the_next_unit_reads_as_a_size():
    """100,000 scenarios of tiny need 24.8 MB for one plan's results; the budget 999,600 bytes read
    "1e+03 KB"."""
    data, plans = tiny(n=1)
    with pytest.raises(MemoryBudgetError, match=r"for each plan's results, more than the budget of 1 MB: "):
        chunk_sizes(data, plans, 100_000, 999_600)


def test_a_budget_a_few_bytes_short_is_refused_with_sizes_that_differ(here, solve_run):
    """One plan of tiny on 2 scenarios needs 496 + 2B + 928 + 2,544 = 24,896 bytes at B = 10,464 (at
    B = 10,400, 24,768: --max-memory 24760B was refused as "needs 24.8 KB ..., more than the budget
    of 24.8 KB"); --max-memory 24890B is 6 bytes short."""
    data, plans = tiny(n=1)
    assert ROW + 2 * plans.nbytes + PAIR + SCENARIO == 24_896
    said = ("needs 24.90 KB of working memory (its tables and its results), more than the budget of "
            "24.89 KB: give a --max-memory of at least 24.9 KB")  # fmt: skip
    with pytest.raises(MemoryBudgetError) as refused:
        chunk_sizes(data, plans, 2, 24_890)
    assert str(refused.value).endswith(said.replace("a --max-memory", "a max_memory (--max-memory)"))
    args = ("--plans", str(solve_run), "--scenarios", "2", "--max-memory", "24890B", "--out", "B")
    code, _, err = run_cli("evaluate", *args)
    assert code == 2 and said in " ".join(err.split()), err
    assert not (here / "B").exists()


def test_a_matrix_or_a_budget_a_sliver_beyond_the_memory_is_named_with_sizes_that_differ(monkeypatch):
    """The NPV matrix of 1 plan x 62,501 scenarios held twice is 16 x 62,501 = 1,000,016 bytes, and a
    budget of 100,000,400 bytes is beyond 100 MB of RAM: they read "(1 MB), more than this machine's
    memory (1 MB)" and "max_memory 100 MB is more than the 100 MB"."""
    from fleetopt.errors import FleetoptWarning
    from fleetopt.evaluate import jobfolder, resources

    with pytest.raises(MemoryBudgetError, match=re.escape("(1.00002 MB), more than this machine's memory "
                                                          "(1.00000 MB)")):  # fmt: skip
        jobfolder.check_matrix_fits(1, 62_501, ram=1_000_000)
    monkeypatch.setattr(resources, "physical_ram_bytes", lambda: 100_000_000)
    with pytest.warns(FleetoptWarning, match=r"max_memory 100\.0004 MB is more than the 100\.0000 MB of"):
        assert resources.budget_within_memory(100_000_400, "numpy", "local", 1) == 100_000_000


def test_workers_refused_a_budget_name_the_runs_budget_that_would_do():
    """--workers 2 --max-memory M: each worker keeps to M // 2. One plan of tiny on 2 scenarios in a
    worker process takes 496 + 2B + 3B (the copies of its chunk the process holds) + 928 + 2,544
    bytes. At M two bytes short of twice that, the refusal told to give "at least" one plan's need,
    half the M given; it now says the share is too small and names twice the need, which runs."""
    data, plans = tiny(n=1)
    need = ROW + 5 * plans.nbytes + PAIR + SCENARIO
    assert 10_000 < need < 99_999  # a whole number of bytes in KB to three decimals
    with pytest.raises(MemoryBudgetError) as refused:
        worker_process_sizes(data, plans, 2, "numpy", 2 * need - 2, 2)
    assert str(refused.value) == (  # the need and the share a byte apart: both to the byte
        f"one plan on 2 scenarios needs {need / 1000:.3f} KB of working memory (its tables and its "
        f"results) in each of the 2 worker processes (--workers), more than each one's share of the budget, "
        f"{(need - 1) / 1000:.3f} KB of {format_bytes(2 * need - 2)}: give a max_memory (--max-memory) "
        f"of at least {format_bytes(rounded_up(2 * need))}, or fewer workers"
    )
    assert worker_process_sizes(data, plans, 2, "numpy", rounded_up(2 * need), 2) == (1, 1)


def test_a_tight_budget_splits_the_plans_the_same_figures_and_the_forecast_check_within_it(monkeypatch):
    """400,000 bytes on 40 scenarios, NumPy, at B = 6,944: 316,672 left beside the variants (12B); a
    plan 40 x 248 + 2B = 23,808, so (316,672 - 40 x 1,632) // (23,808 + 40 x 1,248) = 3 plans a chunk
    (the block's factor paths once: counted with each pair, 2), the same metrics to the bit as one
    chunk, a slip drawn in 45 % of the scenarios. The forecast check (each
    plan run on the forecast) is an evaluation of its own: it ran every plan at once, unbudgeted."""
    data, plans = slipping()
    whole = engine.evaluate(data, plans, 40, 3, backend="numpy", plan_chunk=6, scenario_chunk=40)
    budgets = []
    sizes = chunking.backend_chunk_sizes

    def sized(*args, **kw):
        budgets.append(args[4])  # max_memory
        return sizes(*args, **kw)

    monkeypatch.setattr(engine, "backend_chunk_sizes", sized)
    tight = engine.evaluate(data, plans, 40, 3, backend="numpy", max_memory=400_000)
    assert (tight.plan_chunk, tight.scenario_chunk) == (3, 40)
    assert budgets == [400_000, 400_000]  # the run's, then the forecast check's
    assert whole.metrics["slipped_share"].tolist() == [0.45] * 6
    pd.testing.assert_frame_equal(tight.metrics, whole.metrics, check_exact=True)


def test_a_workers_job_is_not_sized_again_against_this_machines_gpu(here, solve_run, monkeypatch):
    """`--workers 2` runs CPU processes, each sizing its chunks for its share of this machine's
    memory; the run then sized its chunks again for 'auto' in this process, a GPU where CuPy finds
    one, within half the GPU's free memory, and refused a run the workers hold: one plan of tiny on
    5,000 scenarios needs 5,000 x 248 = 1,240,000 bytes for its row of results, more than half of a
    GPU with 1 MB free."""

    class SmallGpu(Backend):
        def free_memory_bytes(self) -> int:
            return 1_000_000

    gpu = SmallGpu("cupy", None, "a GPU with 1 MB free")
    for module in (engine, backend_choice, chunk_eval, local_executor):  # every evaluation step's choice
        monkeypatch.setattr(module, "resolve_backend", lambda name="auto", threads=None: (
            gpu if name == "auto" else resolve_backend(name, threads)))  # fmt: skip
    job = api.prepare_evaluation(solve_run, scenarios=5_000, backend="numpy", workers=2)
    assert chunking.row_bytes_per_plan(5_000) == 1_240_000
    assert job.run().metrics.shape[0] == 1


def test_a_ray_task_counts_the_chunk_sent_to_it():
    """Ray, 2 tasks, each its own budget of 100,000 on 2 scenarios, 40 plans of tiny: a task holds
    its chunk three times in its node's memory (the object store's copy, the next chunk queued
    beside it, the plans deserialised), 3B more a plan, as a worker process: (100,000 - 2 x 2,544)
    // (496 + 5B + 2 x 928) = 94,912 // 54,672 = 1 plan a chunk at B = 10,464, not 4 (94,912 //
    23,280). On CuPy, whose budget is the GPU's, the copies are in the node's memory: 200,000 on the
    GPU, its tables twice (this chunk's and the next's, 4B): (200,000 - 5,088) // (496 + 4B +
    1,856) = 4 plans a chunk (the sent copies counted, 2)."""
    from fleetopt.evaluate.jobfolder import ray_task_sizes

    data, plans = tiny(n=40)
    assert plans.nbytes // 40 == 10_464
    assert ray_task_sizes(data, plans, 2, "numpy", 100_000, tasks=2) == (1, 2)
    assert ray_task_sizes(data, plans, 2, "cupy", 200_000, tasks=2) == (4, 2)


def test_a_ray_task_too_small_for_one_plan_is_refused_as_one_task_s_budget():
    """`fleetopt evaluate --executor ray --max-memory 2MB`, 40 plans of tiny on 20,000 scenarios, on a
    local Ray of 2 CPUs: each task has the whole 2 MB, and one plan's rows need 20,000 x 248 = 4.96 MB
    (5.02 MB with its tables). It was refused as a share of 4 MB over "2 worker processes
    (--workers)", asking for 10.1 MB "or fewer workers": an option the run did not use, and twice
    the budget that does. Refused as one task's budget, as with one task."""
    from fleetopt.evaluate.jobfolder import ray_task_sizes

    data, plans = tiny(n=40)
    with pytest.raises(MemoryBudgetError) as refused:
        ray_task_sizes(data, plans, 20_000, "numpy", 2_000_000, tasks=2)
    said = str(refused.value)
    assert "more than the budget of 2 MB" in said
    assert said.endswith("max_memory (--max-memory) of at least 5.02 MB")
    assert "workers" not in said


def test_a_ray_task_too_small_beside_its_share_of_the_slip_variants_is_told_the_least_that_runs():
    """400 plans of test_delivery_slip's model, one certain slip, on 1,000 scenarios in 4 Ray tasks:
    each plan compiled in B = 6,992 bytes and again for the slip, 2,796,800 for the 400 variants,
    of which a task counts its share, 699,200. One plan needs its row 1,000 x 248 = 248,000, a pair
    816 + 2 x 216 = 1,248, a scenario 1,632, its tables 2B and its chunk sent 3 x 2B: 306,816. So
    1,006,016 bytes run and a byte less is refused, saying 1.010 MB (beside the 1.006 MB given); the
    refusal, said again as one task's with every variant, asked for 3.11 MB. Before Ray starts, as
    many tasks as plans are taken (the least share), so that budget is not refused then."""
    from test_delivery_slip import CERTAIN

    from fleetopt.evaluate.jobfolder import ray_task_sizes, refuse_what_no_ray_task_fits

    data = data_of(model(CERTAIN))
    plans = compile_plans(data, [plan(data)] * 400, [f"p{i}" for i in range(400)])
    b = plans.nbytes // 400
    assert b == 6_992 and chunking.slip_variant_bytes(plans) == 400 * b
    least = 400 * b // 4 + 248_000 + 1_248 + 1_632 + 2 * b + 6 * b
    assert least == 1_006_016
    assert ray_task_sizes(data, plans, 1_000, "numpy", least, 4) == (1, 1)
    with pytest.raises(MemoryBudgetError) as refused:
        ray_task_sizes(data, plans, 1_000, "numpy", least - 1, 4)
    assert str(refused.value) == (
        "risk.delivery_slip: the 400 plans compiled again for the 1 slip a scenario may draw take 2.8 MB, "
        "of which each of the 4 tasks' budget of 1.006 MB counts its share, 699 KB, leaving too little "
        "for the simulation of one plan (307 KB): give a max_memory (--max-memory) of "
        "at least 1.010 MB (a task's share of the variants and one plan), or evaluate fewer plans at a time"
    )
    assert ray_task_sizes(data, plans, 1_000, "numpy", 1_010_000, 4)[0] == 1
    refuse_what_no_ray_task_fits(data, plans, 1_000, "numpy", least)


def test_a_ray_budget_too_small_for_one_plan_on_every_backend_is_refused_before_ray_starts(solve_run,
                                                                                         monkeypatch):
    """`--executor ray --max-memory 2MB`, tiny's plan on 20,000 scenarios, was refused only once a local
    Ray had started (about 20 s). One plan needs its row, 20,000 x 248 = 4,960,000 bytes, a pair
    (928) and a scenario (2,544) of a block, and its tables, B = 10,464 compiled bytes: on NumPy 2B
    laid out and 3B sent, 5,015,792 (5.02 MB); on CuPy 2B twice (this chunk's and the next's), not
    sent, 5,005,328 (5.01 MB), the least on any backend 'auto' could take. Refused before Ray
    starts, in the words it had once started, with that least budget; 5.02 MB goes on to start it."""
    from fleetopt import api
    from fleetopt.evaluate import jobfolder

    class RayStarted(Exception):
        pass

    def start_ray(*args, **kwargs):
        raise RayStarted

    monkeypatch.setattr(jobfolder, "RayExecutor", start_ray)
    for backend, enough in (("auto", "5.01 MB"), ("numpy", "5.02 MB")):
        with pytest.raises(MemoryBudgetError) as refused:
            api.prepare_evaluation(solve_run, scenarios=20_000, executor="ray", max_memory=2_000_000,
                                   backend=backend)  # fmt: skip
        said = str(refused.value)
        assert "more than the budget of 2 MB" in said
        assert said.endswith(f"max_memory (--max-memory) of at least {enough}")
    with pytest.raises(RayStarted):
        api.prepare_evaluation(solve_run, scenarios=20_000, executor="ray", max_memory=5_020_000)


def test_the_budget_for_sensible_calls_above_the_runs_is_the_least_though_more_plans_shrink_the_blocks():
    """40 plans of tiny on 20,000 scenarios in 2 Ray tasks within 12 MB: a plan holds its row, 4,960,000
    bytes, its tables 2B and the chunk sent 3B (B = 10,464), 5,012,320; 2 plans a chunk leave
    (12,000,000 - 10,024,640) // (2,544 + 2 x 928) = 448 scenarios a block, 45 blocks of 445: 890 pairs
    a call. 2 plans on blocks of 500 (1,000 pairs) need 10,024,640 + 500 x 4,400 = 12,224,640 bytes,
    12.3 MB shown (blocks of 513). The advice named 16.9 MB (3 plans on blocks of 345): the search took
    calls to grow with the budget, but at 16.1 MB a third plan's row leaves blocks of 199. In 2 worker
    processes each has half the budget: one plan on blocks of 1,000 needs 5,012,320 + 1,000 x 3,472,
    twice 8,484,320 = 16,968,640, 17.0 MB, where 33.7 MB was named."""
    from fleetopt.evaluate.jobfolder import ray_task_sizes

    data, plans = tiny(n=40)
    in_ray = lambda budget: ray_task_sizes(data, plans, 20_000, "numpy", budget, tasks=2)  # noqa: E731
    in_workers = lambda budget: chunking.worker_process_sizes(data, plans, 20_000, "numpy", budget, 2)  # noqa: E731
    assert in_ray(12_000_000) == (2, 445) and in_ray(16_100_000) == (3, 199)
    assert chunking.budget_for_sensible_blocks(in_ray, 40, 20_000, above=12_000_000) == 12_300_000
    assert in_ray(12_300_000) == (2, 513)
    assert chunking.budget_for_sensible_blocks(in_workers, 40, 20_000, above=12_000_000) == 17_000_000
    assert in_workers(17_000_000) == (1, 1_000)


def test_the_advice_is_the_least_budget_shown_that_holds(monkeypatch):
    """12 plans of tiny on 300 scenarios in this process, its rows file on a disk with room: within
    1.78 MB and 1.79 MB, 2 plans a chunk on a block of all 300 (600 pairs a call); within 2 MB, 3
    (900); within 2.26 MB, 4 (1,200). The advice is the least budget shown to three digits above the
    run's whose calls hold 1,000 pairs, as a scan of every budget so shown finds: 2.26 MB. (The
    sizing may make calls smaller with more budget where the rows go to a file: the search tries
    every budget shown, so it finds the least all the same.)"""
    data, plans = tiny(n=12)
    be = resolve_backend("numpy", 1)
    monkeypatch.setattr(chunking, "plans_spill_holds", lambda n, budget, folder=None: 8 * budget // (216 * n))
    sizes = lambda budget: chunking.backend_chunk_sizes(data, plans, 300, be, budget)  # noqa: E731
    assert [sizes(b) for b in (1_780_000, 1_790_000, 2_000_000, 2_260_000)] == [(2, 300), (2, 300), (3, 300),
                                                                                 (4, 300)]  # fmt: skip
    shown = [m * 10**e for e in range(3, 6) for m in range(100, 1_000)]  # 100,000 to 999,000,000
    for above in (156_146, 1_000_000, 1_785_000, 2_000_000, 2_254_321):
        least = next(b for b in shown if b > above and sizes(b)[0] * sizes(b)[1] >= 1_000)
        assert chunking.budget_for_sensible_blocks(sizes, 12, 300, above=above) == least
    assert chunking.budget_for_sensible_blocks(sizes, 12, 300, above=1_000_000) == 2_260_000


@pytest.mark.parametrize("least, shown", [(894_410, 895_000), (998_200, 999_000), (999_999, 1_000_000),
                                          (1_000_000, 1_000_000), (1_004_000, 1_010_000)])  # fmt: skip
def test_the_advice_names_the_least_budget_shown_to_three_digits(least, shown):
    """A budget is shown to three digits, never below what is needed (chunking.rounded_up): the
    advice is the least budget so shown whose calls hold 1,000 pairs, whatever the search's own
    precision (it stops within high // 1000 of the least). Just below a power of ten the step is a
    thousand (999,000), above it ten thousand (1,010,000): a step taken from the rounded budget skipped
    995,000-999,000. Here one plan on blocks of 1,000 scenarios from ``least`` bytes on, 999 below."""
    from fleetopt.evaluate import chunking

    def sizes(budget: int) -> tuple[int, int]:
        return 1, 1_000 if budget >= least else 999

    assert chunking.budget_for_sensible_blocks(sizes, 1, 20_000) == shown
    assert chunking.budget_for_sensible_blocks(sizes, 1, 20_000, above=500_000) == shown


def test_a_run_with_policy_rule_6_counts_its_two_more_results_a_pair():
    """With `policy.prepay_borrowing_base` on, a chunk keeps two more (P, S) results (whether the pair
    prepaid, and how much: result_fields.BASE_PREPAY_FIELDS), 16 bytes a pair more: tiny's row on 100
    scenarios 100 x (216 + 16 + 32) = 26,400 bytes, where 24,800 without the rule; a plan solved for
    least cost with it, 100 x (224 + 16 + 32) = 27,200."""
    d = MODELS["tiny"]()
    d.setdefault("policy", {})["prepay_borrowing_base"] = True
    data, (_, plans) = data_of(d), tiny()
    assert chunking.row_bytes_per_plan(100, chunking.kept_fields(data, plans)) == 26_400
    assert chunking.row_bytes_per_plan(100, chunking.kept_fields(tiny()[0], plans)) == 24_800
    cost_fields = fields_kept(True, base_prepay=True)
    assert chunking.row_bytes_per_plan(100, cost_fields) == 27_200

"""The temporary file of a chunk's rows of results (fleetopt/evaluate/spill.py): what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from fleetopt.evaluate.result_fields import RESULT_FIELDS, result_bytes
from fleetopt.evaluate.spill import SpilledRows


def block(n_plans: int, s0: int, s1: int, dtype=np.float64) -> dict[str, np.ndarray]:
    """Every result of ``n_plans`` plans over scenarios ``s0 .. s1 - 1``: plan p, scenario s holds
    100 p + s, so that a value read back says where it was written."""
    values = 100.0 * np.arange(n_plans)[:, None] + np.arange(s0, s1)[None, :]
    return {name: values.astype(dtype) for name in RESULT_FIELDS}


def test_a_block_of_another_dtype_or_shape_is_refused_naming_the_field(tmp_path):
    """2 plans x 8 scenarios in blocks of 4. The first block fixes each field's dtype (float64):
    a block of float32 would be read back as float64 at offsets counted in 8 bytes, and a block of
    3 plans, or of 5 scenarios for a block of 4, or past the 8 scenarios, would write over the next
    rows: each is refused (ValueError naming the field), and what was written stays readable."""
    rows = SpilledRows(2, 8, str(tmp_path))
    try:
        rows.write(block(2, 0, 4), 0, 4)
        name = RESULT_FIELDS[0]
        with pytest.raises(ValueError, match=f"result '{name}': a block of dtype float32"):
            rows.write(block(2, 4, 8, np.float32), 4, 8)
        for wrong, s0, s1 in [(block(3, 4, 8), 4, 8), (block(2, 4, 9), 4, 8), (block(2, 6, 10), 6, 10)]:
            with pytest.raises(ValueError, match=f"result '{name}': a block of shape"):
                rows.write(wrong, s0, s1)
        rows.write(block(2, 4, 8), 4, 8)
        np.testing.assert_array_equal(rows.read(name, 0, 2), block(2, 0, 8)[name])  # 0..7, 100..107
    finally:
        rows.close()


def test_kept_rows_go_on_from_the_blocks_their_record_holds(tmp_path, monkeypatch):
    """A chunk's rows kept in a job folder (KeptRows): 2 plans x 8 scenarios in blocks of 4, each
    scenario's demand 10 s, the plans' slipped counts [1, 0] after the first block, [3, 1] after
    the second. The record is replaced at most every RECORD_EVERY_S (here never while the chunk
    runs) and when the chunk ends (close). A process killed after the first block (no close) left
    no record: the next attempt starts anew. A stop (close) records the block: the next attempt
    goes on from scenario 4 with the rows, demand, counts and dtypes kept, and after its block the
    whole chunk reads back as written. A record of another chunk is not gone on from."""
    from fleetopt.evaluate import spill

    monkeypatch.setattr(spill, "RECORD_EVERY_S", float("inf"))
    stem, name = tmp_path / "rows-0-2", RESULT_FIELDS[0]
    rows = spill.KeptRows(stem, {"chunk": 1}, 2, 8, "numpy: here")
    rows.write(block(2, 0, 4), 0, 4)
    rows.keep(0, 4, 10.0 * np.arange(4), np.array([1.0, 0.0]))
    spill.SpilledRows.close(rows)  # killed: the file closed by the system, nothing recorded
    assert not (tmp_path / "rows-0-2.json").exists()
    rows = spill.KeptRows(stem, {"chunk": 1}, 2, 8, "numpy: here")
    assert rows.done == 0
    rows.write(block(2, 0, 4), 0, 4)
    rows.keep(0, 4, 10.0 * np.arange(4), np.array([1.0, 0.0]))
    rows.close()  # stopped: the block recorded
    rows = spill.KeptRows(stem, {"chunk": 1}, 2, 8, "C build: there")
    assert rows.done == 4 and rows.earlier == {"numpy: here": 4} and rows.slipped.tolist() == [1.0, 0.0]
    np.testing.assert_array_equal(rows.demand(), 10.0 * np.arange(4))
    rows.write(block(2, 4, 8), 4, 8)
    rows.keep(4, 8, 10.0 * np.arange(4, 8), np.array([3.0, 1.0]))
    np.testing.assert_array_equal(rows.read(name, 0, 2), block(2, 0, 8)[name])
    np.testing.assert_array_equal(rows.demand(), 10.0 * np.arange(8))
    rows.close()
    assert spill.kept_record(stem, {"chunk": 1}, 2, 8)["devices"] == {"numpy: here": 4, "C build: there": 4}
    other = spill.KeptRows(stem, {"chunk": 2}, 2, 8)  # another chunk's record: made anew
    assert other.done == 0
    other.close()


def test_kept_rows_go_on_from_the_last_block_their_checksums_hold(tmp_path, monkeypatch):
    """The kept rows of the test above, its two blocks recorded (slipped counts [1, 0] then [3, 1],
    each block by another device). A byte of the second block's demand changed: the next attempt
    warns naming the file and scenarios 4 .. 7, and goes on from scenario 4 with the first block's
    counts [1, 0] and device. A value of the first block's rows changed (plan 1, scenario 2): it
    starts anew, its record removed."""
    from fleetopt.evaluate import spill

    monkeypatch.setattr(spill, "RECORD_EVERY_S", float("inf"))
    stem = tmp_path / "rows-0-2"
    rows = spill.KeptRows(stem, {"chunk": 1}, 2, 8, "numpy: here")
    rows.write(block(2, 0, 4), 0, 4)
    rows.keep(0, 4, 10.0 * np.arange(4), np.array([1.0, 0.0]))
    rows.close()
    rows = spill.KeptRows(stem, {"chunk": 1}, 2, 8, "C build: there")
    rows.write(block(2, 4, 8), 4, 8)
    rows.keep(4, 8, 10.0 * np.arange(4, 8), np.array([3.0, 1.0]))
    rows.close()
    path = tmp_path / "rows-0-2.bin"
    demand_at = result_bytes(2, 8) + 8 * 5  # scenario 5's demand
    data = bytearray(path.read_bytes())
    data[demand_at] ^= 1
    path.write_bytes(bytes(data))
    with pytest.warns(match=f"{path}: the rows of scenarios 4 .. 7 differ from what was written"):
        rows = spill.KeptRows(stem, {"chunk": 1}, 2, 8, "numpy: here")
    assert rows.done == 4 and rows.slipped.tolist() == [1.0, 0.0] and rows.earlier == {"numpy: here": 4}
    np.testing.assert_array_equal(rows.demand(), 10.0 * np.arange(4))
    rows.close()
    assert spill.kept_record(stem, {"chunk": 1}, 2, 8)["done"] == 4
    data[(1 * 8 + 2) * 8] ^= 1  # field 0, plan 1, scenario 2
    path.write_bytes(bytes(data))
    with pytest.warns(match="the rows of scenarios 0 .. 3 differ"):
        rows = spill.KeptRows(stem, {"chunk": 1}, 2, 8)
    assert rows.done == 0 and not (tmp_path / "rows-0-2.json").exists()
    rows.close()

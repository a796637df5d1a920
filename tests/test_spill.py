"""The temporary file of a chunk's rows of results (fleetopt/evaluate/spill.py): what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from fleetopt.evaluate.simulate import RESULT_FIELDS
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

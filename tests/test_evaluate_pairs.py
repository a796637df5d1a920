"""Pairs (fleetopt/evaluate/pairs.py): a step computed on some pairs of a (plans x scenarios)
block reads and writes exactly what the whole block would at those pairs."""

from __future__ import annotations

import numpy as np

from fleetopt.evaluate.pairs import Pairs


def test_pairs_take_each_kind_of_operand_and_write_back_only_at_the_pairs():
    """A 2 x 3 block, pairs where the mask holds: (0, 2) and (1, 0), flat indices 2 and 3.

    A (P, S) array gives its values there (2 and 3); a plan column (P, 1) = [[10], [20]] gives
    plan 0's and plan 1's values (10, 20); a scenario row [100, 200, 300] gives scenario 2's and
    scenario 0's (300, 100); a scalar stays itself. Adding [1, 1] raises those two entries only,
    putting [7, 8] sets them, and a flag ors them in."""
    mask = np.array([[False, False, True], [True, False, False]])
    pairs = Pairs.where(mask, (2, 3), np)
    block = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(pairs.at, [2, 3])
    np.testing.assert_array_equal(pairs.take(block), [2.0, 3.0])
    np.testing.assert_array_equal(pairs.take(np.array([[10.0], [20.0]])), [10.0, 20.0])
    np.testing.assert_array_equal(pairs.take(np.array([100.0, 200.0, 300.0])), [300.0, 100.0])
    np.testing.assert_array_equal(pairs.take(np.array([[100.0, 200.0, 300.0]])), [300.0, 100.0])
    assert pairs.take(5.0) == 5.0
    pairs.add(block, np.array([1.0, 1.0]))
    np.testing.assert_array_equal(block, [[0.0, 1.0, 3.0], [4.0, 4.0, 5.0]])
    pairs.put(block, np.array([7.0, 8.0]))
    np.testing.assert_array_equal(block, [[0.0, 1.0, 7.0], [8.0, 4.0, 5.0]])
    flags = np.zeros((2, 3), dtype=bool)
    pairs.flag(flags, np.array([True, False]))
    np.testing.assert_array_equal(flags, [[False, False, True], [False, False, False]])


def test_every_pair_is_the_whole_block_through_the_same_interface():
    """``Pairs.every``: operands are used as they are (broadcasting), writes cover the block."""
    pairs = Pairs.every((2, 3), np)
    column = np.array([[1.0], [2.0]])
    assert pairs.take(column) is column and pairs.size == 6
    block = np.zeros((2, 3))
    pairs.add(block, column)
    np.testing.assert_array_equal(block, [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])

"""Some (plan, scenario) pairs of a block, for work that only a few pairs need.

The array simulation (:mod:`fleetopt.evaluate.simulate`) computes a quarter for every pair of a
(P, S) block at once. Where only some pairs need a step (a contract short of power, one that has
ended, cash below the minimum), the step is computed on those pairs alone: their operands gathered
at the pairs' flat indices, the same operations in the same order, the results written back. Each
such pair gets the same bits as on the whole block, so which pairs share a block cannot change a
pair's result. :meth:`Pairs.every` is the whole block through the same interface, for a step that
most pairs need (gathering then costs more than it saves).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Pairs:
    """Pairs of a (P, S) block by their flat indices ``at`` (ascending; None: every pair).

    :meth:`take` gives an operand of the block at the pairs: a (P, S) array, a (P, 1) plan column,
    an (S,) or (1, S) scenario row, or a scalar; :meth:`put`, :meth:`add` and :meth:`flag` write
    into a contiguous (P, S) array."""

    def __init__(self, at: Any, shape: tuple[int, int], xp: Any):
        self.at, self.shape, self.xp = at, shape, xp
        self._plan = self._scenario = None

    @classmethod
    def where(cls, mask: Any, shape: tuple[int, int], xp: Any) -> Pairs:
        """The pairs where ``mask`` (broadcasting to ``shape``) holds."""
        if mask.shape != shape:
            mask = xp.broadcast_to(mask, shape)
        return cls(xp.flatnonzero(mask), shape, xp)

    @classmethod
    def every(cls, shape: tuple[int, int], xp: Any) -> Pairs:
        return cls(None, shape, xp)

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1] if self.at is None else int(self.at.size)

    @property
    def plan(self) -> Any:
        if self._plan is None:
            self._plan = self.at // self.shape[1]
        return self._plan

    @property
    def scenario(self) -> Any:
        if self._scenario is None:
            self._scenario = self.at % self.shape[1]
        return self._scenario

    def take(self, x: Any) -> Any:
        if self.at is None:
            return x
        if getattr(x, "size", 1) == 1:  # a scalar, or an array of one value for every pair
            return x if getattr(x, "ndim", 0) == 0 else x.reshape(-1)[0]
        if x.ndim == 1:  # a scenario row
            return x[self.scenario]
        if x.shape[0] > 1 and x.shape[1] > 1:  # (P, S)
            return x.reshape(-1)[self.at]
        return x.reshape(-1)[self.plan if x.shape[1] == 1 else self.scenario]

    def put(self, into: Any, x: Any) -> None:
        """``into`` = ``x`` at the pairs."""
        if self.at is None:
            into[...] = x
        else:
            into.reshape(-1)[self.at] = x

    def add(self, into: Any, x: Any) -> None:
        """``into`` + ``x`` at the pairs (the same bits as adding ``x`` to the whole of ``into``,
        0.0 at the other pairs)."""
        if self.at is None:
            into += x
        elif self.xp is np:  # unbuffered, each pair once (the indices are distinct): the same sums, faster
            np.add.at(into.reshape(-1), self.at, x)
        else:
            flat = into.reshape(-1)
            flat[self.at] = flat[self.at] + x

    def added(self, total: Any, x: Any) -> Any:
        """``total`` (a (P, S) array, None: zeros) with ``x`` added at the pairs (:meth:`add`)."""
        if total is None:
            total = self.xp.zeros(self.shape)
        self.add(total, x)
        return total

    def flag(self, into: Any, happened: Any) -> None:
        """``into`` (bool) or ``happened`` at the pairs."""
        if self.at is None:
            into |= happened
        else:
            flat = into.reshape(-1)
            flat[self.at] |= happened

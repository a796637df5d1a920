"""Arithmetic on batch arrays (NumPy or CuPy) or plain floats that writes over the caller's fresh
temporaries where it can: the same bits with fewer block-sized allocations (a fresh block-sized
array costs about as much as a pass over it). Shared by core.economics and the evaluator."""

from __future__ import annotations

from typing import Any


def reusing(fresh: Any, ufunc: Any, a: Any, b: Any) -> Any:
    """``ufunc(a, b)`` written over ``fresh``, one of ``a`` and ``b``: a float temporary the caller made
    and needs no more, where the result has its shape; else a new array. The same bits, one
    temporary fewer (a fresh block-sized array costs about as much as a pass over it)."""
    other = b if fresh is a else a
    if getattr(fresh, "ndim", 0) and fresh.dtype.kind == "f" and fits(getattr(other, "shape", ()), fresh):
        return ufunc(a, b, out=fresh)
    return ufunc(a, b)


def less_product(x: Any, share: Any, of: Any, xp: Any) -> Any:
    """``x - share * of``, the difference written over the product (:func:`reusing`)."""
    taken = share * of
    return reusing(taken, xp.subtract, x, taken)


def plus_over(total: Any, x: Any, xp: Any) -> Any:
    """:func:`plus` where ``total`` (None: nothing yet, then ``x`` itself) is a temporary the caller
    made and needs no more, and so is an ``x`` that becomes it: the sum written over it."""
    return x if total is None else reusing(total, xp.add, total, x)


def fits(shape: tuple, into: Any) -> bool:
    """Whether an operand of ``shape`` broadcasts onto the array ``into`` without growing it."""
    last = into.shape[into.ndim - len(shape) :]
    return len(shape) <= into.ndim and all(s in (1, n) for s, n in zip(shape, last, strict=True))


def plus(total: Any, x: Any) -> Any:
    """``total + x`` where None means nothing yet: saves a pass adding x to 0.0 (the result can
    differ from 0.0 + x only in the sign of a zero, which no comparison or sum can see)."""
    return x if total is None else total + x

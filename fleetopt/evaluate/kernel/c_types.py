"""How a Python value becomes a kernel argument of one C type: as CuPy (or NumPy) passes it, as
ctypes passes it to the C build, and the dtype each pointer type must have; and booleans packed
into the 64-bit words (C ``unsigned long long``) the kernel reads as bit masks."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


def bit_mask(flags: np.ndarray, axis: int) -> np.ndarray:
    """Booleans along ``axis`` (at most 64) packed into uint64 words, bit j for index j."""
    flags = np.moveaxis(np.asarray(flags, dtype=bool), axis, -1)
    weights = np.left_shift(np.uint64(1), np.arange(flags.shape[-1], dtype=np.uint64))
    return (
        np.bitwise_or.reduce(np.where(flags, weights, np.uint64(0)), axis=-1)
        if flags.shape[-1]
        else (np.zeros(flags.shape[:-1], dtype=np.uint64))
    )


class CType(NamedTuple):
    """How a value becomes an argument of one C type."""

    on_xp: Callable[[Any, Any], Any]  # (value, xp) -> the argument CuPy (or NumPy) passes
    for_ctypes: Callable[[Any], Any]  # that argument -> what ctypes passes to the C build
    ctype: Any  # the ctypes type of the C parameter (argtypes of the C build)


def _array(dtype_name: str) -> Callable[[Any, Any], Any]:
    return lambda v, xp: xp.ascontiguousarray(xp.asarray(v, dtype=getattr(xp, dtype_name)))


C_TYPES: dict[str, CType] = {
    "long long": CType(lambda v, xp: np.int64(v), lambda v: ctypes.c_longlong(int(v)), ctypes.c_longlong),
    "int": CType(lambda v, xp: np.int32(v), lambda v: ctypes.c_int(int(v)), ctypes.c_int),
    "double": CType(lambda v, xp: np.float64(v), lambda v: ctypes.c_double(float(v)), ctypes.c_double),
    "const double*": CType(_array("float64"), lambda v: ctypes.c_void_p(v.ctypes.data), ctypes.c_void_p),
    "const int*": CType(_array("int32"), lambda v: ctypes.c_void_p(v.ctypes.data), ctypes.c_void_p),
    "const unsigned long long*": CType(
        _array("uint64"), lambda v: ctypes.c_void_p(v.ctypes.data), ctypes.c_void_p
    ),
    # outputs: (P, S) float64 arrays the caller made
    "double*": CType(lambda v, xp: v, lambda v: ctypes.c_void_p(v.ctypes.data), ctypes.c_void_p),
}

# numpy dtype of each pointer type (the fake-CuPy test and the C build check arguments against it)
POINTER_DTYPES = {
    "const double*": np.float64, "const int*": np.int32, "const unsigned long long*": np.uint64,
    "double*": np.float64,
}  # fmt: skip

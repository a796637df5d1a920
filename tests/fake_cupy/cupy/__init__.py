"""A stand-in for CuPy on machines without a GPU: device arrays are NumPy arrays of a subclass,
and ``RawKernel`` compiles the CUDA source it is given as C (the same source, FO_GPU 0) and runs
it through ctypes, after checking the launch as a GPU would need it: the compile options, the grid
and block against fleetopt's launch geometry, and every argument against the kernel's C signature
(count, scalar widths, dtypes, contiguity, and that arrays are device arrays, not host NumPy ones).

It lets the CuPy path's Python code (uploads, streams, pinned memory, the kernel call, metrics on
the device) run in CI, so API misuse shows without a GPU. ``FAKE_CUPY_BROKEN=1`` in the
environment makes it fail as a CuPy without a usable device does. Used by tests/test_fake_cupy.py
and by the rehearsal of benchmarks/gpu_check.sh (PYTHONPATH=tests/fake_cupy).
"""

from __future__ import annotations

import builtins
import ctypes
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as _np

__version__ = "0.0-fake"
float64, float32, int32, int64, uint64, bool_ = (
    _np.float64,
    _np.float32,
    _np.int32,
    _np.int64,
    _np.uint64,
    _np.bool_,
)
LAUNCHES: list = []  # (grid, block, options) of every kernel launch, for tests


class ndarray(_np.ndarray):
    """A device array: a NumPy array that says it lives on the device. Like CuPy's, it refuses a
    host (NumPy) array as an operand of arithmetic: CuPy converts none implicitly."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if builtins.any(type(x) is _np.ndarray and x.ndim > 0 for x in inputs):  # `any` is CuPy's here
            raise TypeError(f"Unsupported type {_np.ndarray} (a host array in {ufunc.__name__} on a device)")
        plain = [x.view(_np.ndarray) if isinstance(x, ndarray) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(x.view(_np.ndarray) if isinstance(x, ndarray) else x for x in kwargs["out"])
        result = getattr(ufunc, method)(*plain, **kwargs)
        if isinstance(result, tuple):
            return tuple(_device(r) for r in result)
        return _device(result)

    def get(self, stream=None):
        return _np.array(self, copy=True).view(_np.ndarray)

    def set(self, array, stream=None):
        if isinstance(array, ndarray):
            raise TypeError("ndarray.set takes a host (NumPy) array")
        writer = stream if stream is not None else _CURRENT[-1]
        allocated = getattr(self, "allocated_on", writer)
        if allocated is not writer:  # CuPy's pool may hand such memory to a kernel queued elsewhere
            raise ValueError("ndarray.set: the array is written on another stream than it was allocated on")
        self[...] = array


def _device(x):
    return x.view(ndarray) if isinstance(x, _np.ndarray) else x


def asarray(a, dtype=None):
    return _device(_np.array(_np.asarray(a, dtype=dtype), copy=True))


def ascontiguousarray(a, dtype=None):
    return _device(_np.ascontiguousarray(a, dtype=dtype))


def _wrap(name):
    function = getattr(_np, name)

    def wrapped(*args, **kwargs):
        return _device(function(*args, **kwargs))

    wrapped.__name__ = name
    return wrapped


def empty(shape, dtype=float):
    """A device array allocated on the current stream (it says which, for ``ndarray.set``)."""
    out = _np.empty(shape, dtype=dtype).view(ndarray)
    out.allocated_on = _CURRENT[-1]
    return out


for _name in (
    "zeros",
    "ones",
    "full",
    "arange",
    "sort",
    "partition",
    "median",
    "minimum",
    "maximum",
    "where",
    "copyto",
    "clip",
    "sqrt",
    "exp",
    "log",
    "cos",
    "concatenate",
    "moveaxis",
    "broadcast_to",
    "isin",
    "flatnonzero",
    "count_nonzero",
    "ceil",
    "add",
    "subtract",
    "multiply",
    "divide",
    "any",
    "einsum",
    "stack",
    "bincount",
    "cumsum",
    "argmax",
    "inf",
):
    globals()[_name] = _wrap(_name) if callable(getattr(_np, _name)) else getattr(_np, _name)
inf = _np.inf
nan = _np.nan


def _broken() -> bool:
    return os.environ.get("FAKE_CUPY_BROKEN") == "1"


class CUDARuntimeError(RuntimeError):
    pass


class _Pool:
    def free_bytes(self):
        return 1 << 20

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 1 << 20


_POOL = _Pool()


def get_default_memory_pool():
    return _POOL


class _Runtime:
    @staticmethod
    def getDeviceCount():
        if _broken():
            raise CUDARuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected (fake)")
        return 1

    @staticmethod
    def getDeviceProperties(device_id):
        return {"name": b"Fake GPU (the C build of the kernel)", "totalGlobalMem": 8 << 30}

    @staticmethod
    def memGetInfo():
        return 4 << 30, 8 << 30


class _Stream:
    def __init__(self, non_blocking=False):
        self.non_blocking = non_blocking

    def synchronize(self):
        pass

    def record(self, event=None):
        return event or _Event()

    def wait_event(self, event):
        pass

    def __enter__(self):  # the current stream until __exit__
        _CURRENT.append(self)
        return self

    def __exit__(self, *exc):
        _CURRENT.pop()
        return False


_Stream.null = _Stream()
_CURRENT = [_Stream.null]  # the current stream, innermost `with stream:` last


class _Event:
    def record(self, stream=None):
        self.stream, self.at = stream, time.perf_counter()

    def synchronize(self):
        pass


class _Device:
    def __init__(self, device_id=0):
        self.id = device_id

    def synchronize(self):
        pass


class _PinnedMemory(bytearray):
    pass


class _Cuda:
    runtime = _Runtime
    Stream = _Stream
    Event = _Event
    Device = _Device

    @staticmethod
    def alloc_pinned_memory(nbytes):
        return _PinnedMemory(nbytes)

    @staticmethod
    def get_current_stream():
        return _CURRENT[-1]

    @staticmethod
    def get_elapsed_time(start, stop):  # milliseconds, as CuPy's
        return (stop.at - start.at) * 1e3


cuda = _Cuda()


class RawKernel:
    """The kernel compiled as C; a call checks the launch, then runs every pair on the CPU."""

    def __init__(self, code, name, options=()):
        from fleetopt.evaluate.kernel.arguments import KERNEL_ARGUMENTS
        from fleetopt.evaluate.kernel.c_types import C_TYPES

        if "--fmad=false" not in options:
            raise ValueError("fleetopt's kernel must be compiled without multiply-add contraction")
        self.options, self.name = tuple(options), name
        self._dir = tempfile.TemporaryDirectory(prefix="fake-cupy-")
        src, lib = Path(self._dir.name) / "kernel.c", Path(self._dir.name) / "kernel.so"
        src.write_text(code)
        flags = ["-O2", "-std=c99", "-ffp-contract=off", "-shared", "-fPIC"]
        subprocess.run(["cc", *flags, "-o", str(lib), str(src), "-lm"], check=True, capture_output=True)
        self._lib = ctypes.CDLL(str(lib))
        function = getattr(self._lib, name)
        function.restype = None
        function.argtypes = [C_TYPES[a.c_type].ctype for a in KERNEL_ARGUMENTS]
        self._function = function

    # what CuPy's RawKernel reports of its compiled code (nothing to report for the C build)
    num_regs = local_size_bytes = shared_size_bytes = 0

    def compile(self):
        pass

    def __call__(self, grid, block, args, **kwargs):
        from fleetopt.evaluate.kernel.arguments import KERNEL_ARGUMENTS, check_arguments
        from fleetopt.evaluate.kernel.c_types import C_TYPES
        from fleetopt.evaluate.kernel.cuda import launch_grid

        if not isinstance(args, tuple):
            raise TypeError("RawKernel arguments are passed as a tuple")
        check_arguments(list(args))
        for declared, value in zip(KERNEL_ARGUMENTS, args, strict=True):
            if declared.c_type.endswith("*") and not isinstance(value, ndarray):
                raise TypeError(
                    f"{declared.name}: a host array was passed to the kernel (copy it to the device)"
                )
        values = dict(zip((a.name for a in KERNEL_ARGUMENTS), args, strict=True))
        expected = launch_grid(int(values["P"]), int(values["S"]))
        if (tuple(grid), tuple(block)) != expected:
            raise ValueError(f"launch {grid} x {block}, expected {expected}")
        if grid[1] > 65535 or block[0] > 1024:
            raise ValueError(f"grid {grid} or block {block} beyond CUDA's limits")
        LAUNCHES.append((tuple(grid), tuple(block), self.options))
        as_ctypes = [C_TYPES[a.c_type].for_ctypes(v) for a, v in zip(KERNEL_ARGUMENTS, args, strict=True)]
        self._function(*as_ctypes)

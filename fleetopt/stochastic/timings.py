"""What a two-stage solve records of its cost: each step's wall time and the process's peak memory."""

from __future__ import annotations

import resource
import sys
import time


def timed(timings: dict, key: str, step, *args):
    """``step(*args)``, its wall time recorded as ``timings[key]``."""
    started = time.perf_counter()
    try:
        return step(*args)
    finally:
        timings[key] = time.perf_counter() - started


def peak_rss_bytes() -> int:
    """The process's peak resident memory so far (HiGHS's included, unlike tracemalloc's)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)

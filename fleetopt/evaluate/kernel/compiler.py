"""The system C compiler the C build of the kernel is made with: found, probed for the flags it
takes here, run on a source; :class:`KernelBuildError` where it cannot serve."""

from __future__ import annotations

import shlex
import socket
import subprocess
import tempfile
from pathlib import Path

from fleetopt.evaluate.backend import BackendError, c_compiler

# a compiler that takes longer than these on the kernel (a few seconds here) or on a probe of what
# it takes (well under a second) is taken as hung
BUILD_TIMEOUT_S = 300
PROBE_TIMEOUT_S = 60


class KernelBuildError(BackendError):
    """The C build of the kernel cannot be made or loaded here; ``reason``: why, in one line."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(
            f"the C build of the kernel (fleetopt/evaluate/kernel.cu) {reason}"
            + (f":\n{detail[-2000:]}\n" if detail else ". ")
            + "Evaluate with backend 'numpy' (--backend numpy), or point $CC at a working C compiler"
        )

    def __reduce__(self):  # raised in a worker process: made again from its parts, not its message
        return type(self), (self.reason, self.detail)


def found_c_compiler() -> str:
    """This machine's C compiler (:func:`c_compiler`), else a :class:`KernelBuildError` naming the
    machine (a Ray node's build fails there, not on the machine that started the run)."""
    compiler = c_compiler()
    if compiler is None:
        raise KernelBuildError(
            f"needs a C compiler (cc, gcc or clang on PATH, or $CC): none was found on {socket.gethostname()}"
        )
    return compiler


def _run_compiler(command: list[str], what: str = "", timeout: float = BUILD_TIMEOUT_S,
                  made: Path | None = None) -> None:
    """Run a compiler ``command``; a compiler that cannot be run, fails, hangs or, succeeding, makes
    no file ``made`` (``CC=echo``: it was blamed on a folder mounted noexec) raises a
    :class:`KernelBuildError` naming it (``what``: what it built, when not the kernel)."""
    by = f"by {command[0]!r}{what}"
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise KernelBuildError(f"{by} did not finish in {timeout:.0f} s") from None
    except OSError as exc:  # not executable, its interpreter missing, gone since it was found
        raise KernelBuildError(f"{by} could not be run ({exc.strerror or exc})") from None
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip()
        lines = said.splitlines()
        first = next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")
        shown = f": {first[:200]}" if first else ", printing nothing"
        raise KernelBuildError(f"{by} failed (exit status {result.returncode}{shown})", said)
    if made is not None and (not made.exists() or made.stat().st_size == 0):
        raise KernelBuildError(f"{by} made no library, though it ran without error: not a C compiler")


def _probe(compiler: str, flags: list[str], folder: Path, openmp: bool) -> None:
    """Build a small library with ``compiler`` and ``flags`` (and OpenMP, with ``openmp``)."""
    src = folder / "probe.c"
    body = "#include <omp.h>\nint probe(void) { return omp_get_max_threads(); }\n"
    src.write_text(body if openmp else "int probe(void) { return 1; }\n")
    command = [*shlex.split(compiler), *flags, "-shared", "-fPIC", "-o", str(folder / "probe.so"), str(src)]
    _run_compiler(command, " (a probe library)", PROBE_TIMEOUT_S, made=folder / "probe.so")


def _compiles(compiler: str, flags: list[str], folder: Path, openmp: bool = True) -> bool:
    """Whether ``compiler`` builds a shared library with ``flags`` (and OpenMP, with ``openmp``)."""
    try:
        _probe(compiler, flags, folder, openmp)
    except KernelBuildError:
        return False
    return True


def flags_taken(compiler: str) -> dict:
    """Whether ``compiler`` takes -march=native and OpenMP here (probed once per machine). A
    compiler that cannot build even a plain library raises :class:`KernelBuildError`, so that
    nothing is kept of it."""
    with tempfile.TemporaryDirectory(prefix="fleetopt-probe-") as name:
        folder = Path(name)
        _probe(compiler, list(C_FLAGS), folder, openmp=False)
        native = _compiles(compiler, [*C_FLAGS, "-march=native"], folder, openmp=False)
        flags = [*C_FLAGS, "-march=native"] if native else list(C_FLAGS)
        return {"march_native": native, "openmp": _compiles(compiler, [*flags, "-fopenmp"], folder)}


def build_library(command: list[str], source: str, lib: Path) -> None:
    """Compile ``source`` with ``command`` into ``lib`` (:func:`_run_compiler`'s errors)."""
    src = lib.with_suffix(".c")
    try:
        src.write_text(source)
        _run_compiler([*command, "-o", str(lib), str(src), "-lm"], made=lib)
    finally:
        src.unlink(missing_ok=True)


# C build flags: optimised, no contraction of multiply-adds (the same rounding as NumPy and the
# GPU build), no errno or traps from floating point (lets the compiler compute both sides of a
# select instead of branching; neither changes a result)
C_FLAGS = ["-O3", "-std=c99", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"]

"""Where the C build of the kernel keeps its shared libraries between runs.

Compiling kernel.cu as C takes seconds (3-7 s here), more than a small evaluation itself, so each
library is kept in ``$FLEETOPT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/fleetopt``, else
``~/.cache/fleetopt``), under ``kernels/``, named by a hash of everything that makes it: the
compiler's identity (its ``--version``), its flags, the machine's instruction set (the build uses
``-march=native``, so a home folder shared by different machines gets one library per CPU kind)
and the source. A folder that cannot be written falls back to a temporary one for the process;
where ``$FLEETOPT_CACHE_DIR`` named it, a warning (once a process) says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from fleetopt.errors import user_path, warn

SUBFOLDER = "kernels"
CACHE_VARIABLE = "FLEETOPT_CACHE_DIR"
_warned: set[Path] = set()  # the folders of $FLEETOPT_CACHE_DIR this process warned of


def cache_root() -> Path:
    """``$FLEETOPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/fleetopt``, else ``~/.cache/fleetopt``."""
    chosen = os.environ.get(CACHE_VARIABLE, "").strip()
    if chosen:
        return user_path(chosen, f"${CACHE_VARIABLE}")
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fleetopt"


def _cpu_flags() -> str:
    """The CPU's instruction-set flags (Linux), else the platform's processor name."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _compiler_identity(compiler: str) -> str:
    try:
        done = subprocess.run(
            [*shlex.split(compiler), "--version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return compiler
    return compiler + "\n" + done.stdout


def _warn_unusable(folder: Path, exc: OSError, fallback: Path) -> None:
    """Warn, once a process, that ``$FLEETOPT_CACHE_DIR`` (``folder`` below it) cannot be used: the
    kernel is built again in ``fallback`` by every process, seconds each, which it silently was."""
    if not os.environ.get(CACHE_VARIABLE, "").strip() or folder in _warned:
        return
    _warned.add(folder)
    warn(f"${CACHE_VARIABLE} {os.environ[CACHE_VARIABLE].strip()} cannot keep the kernel's builds "
         f"({folder}: {exc.strerror or exc}): built in {fallback} for this process instead, again by "
         f"each run; set ${CACHE_VARIABLE} to a folder this user can write to")  # fmt: skip


class BuildCache:
    """A folder of shared libraries built by ``compiler`` for this machine, each made once."""

    def __init__(self, compiler: str):
        self.tag = hashlib.sha256(
            "\n".join([_compiler_identity(compiler), platform.machine(), _cpu_flags()]).encode()
        ).hexdigest()[:16]
        self._temporary = None
        self.folder = self._writable(cache_root() / SUBFOLDER)

    def _writable(self, folder: Path) -> Path:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
                return folder
        except OSError as exc:  # a read-only home, say: this process builds for itself
            self._temporary = tempfile.TemporaryDirectory(prefix="fleetopt-kernel-")
            _warn_unusable(folder, exc, Path(self._temporary.name))
            return Path(self._temporary.name)

    def settings(self, find: Callable[[], dict]) -> dict:
        """What ``find()`` says of this compiler on this machine (the flags it takes), found once."""
        path = self.folder / f"settings-{self.tag}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        found = find()
        self._put(path, lambda tmp: tmp.write_text(json.dumps(found), encoding="utf-8"))
        return found

    def library(self, key: str, build: Callable[[Path], None]) -> Path:
        """The library made by ``build(path)`` for ``key`` (its flags and source): built once, then
        reused by every process."""
        name = hashlib.sha256((self.tag + "\n" + key).encode()).hexdigest()[:24]
        path = self.folder / f"kernel-{name}.so"
        if not path.exists():
            self._put(path, build)
        return path

    @staticmethod
    def _put(path: Path, make: Callable[[Path], None]) -> None:
        """``make`` a file beside ``path`` and move it there whole: processes building the same
        library at once never read half of one."""
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
        os.close(fd)
        try:
            make(Path(tmp))
            # readable by every user of a shared cache (a Docker image's, run as any uid): mkstemp's
            # 0600 left another user unable to read it, and the sticky folder kept it from replacing it
            os.chmod(tmp, os.stat(tmp).st_mode | 0o444)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

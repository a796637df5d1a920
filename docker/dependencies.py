"""The requirements pyproject.toml declares, and the images' lock files made from them.

    python docker/dependencies.py [EXTRA ...]          pyproject's ranges, one a line
    python docker/dependencies.py --lock [EXTRA ...]   every package they resolve to, pinned

The images install a lock (``docker/requirements-cpu.lock``, ``docker/requirements-gpu.lock``) in a
layer of their own, before fleetopt's code is copied: a change to the code rebuilds only the small
layer that installs fleetopt itself (``pip install --no-deps``, then ``pip check`` against
pyproject's ranges), and two builds of one commit install the same versions, so a job started by
one image resumes in another with the same results. pyproject.toml stays the one list of
dependencies; after a change to it, remake the locks from the repository root:

    python docker/dependencies.py --lock > docker/requirements-cpu.lock
    python docker/dependencies.py --lock gpu > docker/requirements-gpu.lock

pip resolves them (``pip install --dry-run --report``) for Linux x86_64 wheels of Python
:data:`LOCK_PYTHON`, the oldest Python fleetopt supports; tests/test_docker.py checks that each
lock satisfies pyproject's ranges and, with a package index, that it is complete for the images'
Python 3.12 too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

LOCK_PYTHON = "3.11"
IMAGE_PYTHON = "3.12"  # python:3.12.8-slim and Ubuntu 24.04's python3
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64")


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    if not pyproject.is_file():
        raise SystemExit(f"{pyproject}: no such file (run this from the repository root)")
    project = tomllib.loads(pyproject.read_text())["project"]
    declared = project.get("optional-dependencies", {})
    unknown = [name for name in extras if name not in declared]
    if unknown:
        raise SystemExit(f"{pyproject}: no extra named {', '.join(unknown)} (it has {', '.join(declared)})")
    return [*project["dependencies"], *(dep for name in extras for dep in declared[name])]


def resolve(lines: list[str], python: str) -> list[str]:
    """``name==version`` of every package pip would install for ``lines`` (requirement lines) on
    Linux x86_64 with CPython ``python``, from wheels only, sorted by name."""
    with tempfile.TemporaryDirectory() as folder:
        wanted, report = Path(folder) / "requirements.txt", Path(folder) / "report.json"
        wanted.write_text("\n".join(lines) + "\n")
        platforms = [arg for tag in PLATFORMS for arg in ("--platform", tag)]
        # --target, though --dry-run writes nothing there: an older pip (23.2, a Python 3.11 venv's own)
        # refuses --platform without it, even on a dry run
        target = ["--target", str(Path(folder) / "target")]
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   *target, "--report", str(report), "--only-binary=:all:", "--python-version", python,
                   "--implementation", "cp", *platforms, "-r", str(wanted)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"pip could not resolve the requirements for Python {python}:\n{done.stderr}")
        installs = json.loads(report.read_text())["install"]
    pins = {canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def canonical(name: str) -> str:
    """A package's name as pip compares them (PEP 503): ``pydantic_core`` is ``pydantic-core``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock(pyproject: Path, extras: list[str]) -> str:
    """The lock file's text: a header saying how it was made, then the pins."""
    made_by = " ".join(["python docker/dependencies.py --lock", *extras])
    header = [f"# made by `{made_by}` from pyproject.toml (Python {LOCK_PYTHON}, Linux x86_64 wheels):",
              "# remake it after a change to pyproject's dependencies (docker/README.md, Build)"]  # fmt: skip
    return "\n".join([*header, *resolve(requirements(pyproject, extras), LOCK_PYTHON)]) + "\n"


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--lock"]:
        print(lock(Path("pyproject.toml"), args[1:]), end="")
    else:
        print("\n".join(requirements(Path("pyproject.toml"), args)))

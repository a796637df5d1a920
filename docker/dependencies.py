"""Print the requirements pyproject.toml declares, one a line: the project's dependencies and those
of each extra named on the command line (``python dependencies.py gpu``).

The images install these in a layer of their own, before fleetopt's code is copied, so that a change
to the code rebuilds only the small layer that installs fleetopt itself (``pip install --no-deps``),
not the minutes of pandas, HiGHS and CuPy. pyproject.toml stays the one list of dependencies.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    declared = project.get("optional-dependencies", {})
    unknown = [name for name in extras if name not in declared]
    if unknown:
        raise SystemExit(f"{pyproject}: no extra named {', '.join(unknown)} (it has {', '.join(declared)})")
    return [*project["dependencies"], *(dep for name in extras for dep in declared[name])]


if __name__ == "__main__":
    print("\n".join(requirements(Path("pyproject.toml"), sys.argv[1:])))

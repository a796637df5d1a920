"""What a wheel of fleetopt ships: pyproject.toml lists its packages by name (the bundled models ship as
fleetopt.models), so a package folder it does not list would be missing from a wheel and a Docker image
while an editable install, which reads the source tree, still finds it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_for_the_wheel():
    """fleetopt/core/results/ and fleetopt/compare/ were made packages in one change and ran from the
    source tree, while `pip wheel .` left them out: every folder of fleetopt/ with an __init__.py is
    in [tool.setuptools] packages, and every package listed is such a folder (or the models')."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "fleetopt").rglob("__init__.py")}
    assert folders - listed == set(), "package folders missing from pyproject.toml's packages"
    assert listed - folders == {"fleetopt.models"}, "packages listed that are no folder of fleetopt/"

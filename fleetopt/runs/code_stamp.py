"""The fingerprint of the code a job's figures come from, which its job.json keeps with the version
that started it: a job is completed only by the code that started it."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

# job.json's fingerprint of the code a job's figures come from (:func:`figures_code`)
FIGURES_CODE = "figures_code"
# the subpackages whose code computes a job's stored chunks and candidates: the model, the data, the
# MILP and the evaluator (not the CLI, the reports or the runs' files, which only show them)
FIGURE_PACKAGES = ("core", "evaluate", "milp", "schema", "stochastic", "sweep")
JOB_STAMPS = ("fleetopt_version", FIGURES_CODE)  # who started a job: its own, never an update's


@functools.cache
def figures_code() -> str:
    """A fingerprint (16 hex digits of SHA-256) of the source of ``FIGURE_PACKAGES`` (.py and the
    kernel's .cu, by path and content): the same version of fleetopt from a checkout changed
    between a job's start and its resume would complete it with other figures."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in FIGURE_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".cu") and path.is_file():
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]

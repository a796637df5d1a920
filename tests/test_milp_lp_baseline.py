"""The written LP of `tiny` equals its committed baseline, so that any change of the formulation
shows in review as a diff of tests/baselines/tiny.lp."""

from __future__ import annotations

import difflib

import pytest
from regenerate_baselines import MODELS, write_lp

DIFF_LINES = 60  # of the unified diff shown on failure


@pytest.mark.parametrize("model", sorted(MODELS))
def test_lp_matches_baseline(model, tmp_path):
    written = tmp_path / f"{model}.lp"
    write_lp(model, written)
    expected = MODELS[model].read_text().splitlines(keepends=True)
    actual = written.read_text().splitlines(keepends=True)
    if actual == expected:
        return
    diff = difflib.unified_diff(expected, actual, f"baselines/{model}.lp", f"{model}.lp (now)")
    shown = "".join(list(diff)[:DIFF_LINES])
    pytest.fail(
        f"the LP of {model} differs from its baseline (first lines of the diff):\n{shown}\n"
        "If the formulation change is intended, run `python tests/regenerate_baselines.py` "
        "and commit tests/baselines/.",
        pytrace=False,
    )

"""What the terminal says around a command's results: warnings of a model changed with --set, and
tables that stay readable on an 80-column terminal."""

from __future__ import annotations

from conftest import run_cli


def test_warnings_of_an_edited_model_name_it_once():
    """Each of three warnings began 'models/tiny.yaml, edited (horizon.quarters, market.demand_gpus.
    training.annual_growth, market.demand_gpus.inference.annual_growth): '."""
    growth = ("market.demand_gpus.training.annual_growth=3", "market.demand_gpus.inference.annual_growth=4")
    changes = ("--set", "horizon.quarters=4", "--set", growth[0], "--set", growth[1])
    code, _, err = run_cli("validate", "tiny", *changes)
    assert code == 0, err
    lines = err.splitlines()
    assert err.count("edited (") == 1 and lines[0].startswith("warning: ") and lines[0].endswith(":")
    assert [line.split(":")[0] for line in lines[1:4]] == [
        "  contracts.enterprise-inference.term_quarters",
        "  market.demand_gpus.training.annual_growth",
        "  market.demand_gpus.inference.annual_growth",
    ]
    # one warning: on its line, as before
    code, _, err = run_cli("validate", "tiny", "--set", "horizon.quarters=4")
    assert code == 0 and len(err.splitlines()) == 1
    assert err.startswith("warning: ") and "edited (horizon.quarters): contracts.enterprise-inference" in err

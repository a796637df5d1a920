"""Whole-number options are read as every printout writes them: `--scenarios 2,000` and
`--scenarios 2_000` were refused ('not a whole number') though the terminal, the reports and the
help write 2,000 futures; a number that is not whole, a comma out of place or one below the
option's range is still refused, naming the option."""

from __future__ import annotations

import json

import pytest
import typer.main
from conftest import run_cli

from fleetopt.cli import app
from fleetopt.cli.option_values import whole_number


def _options(command, path=()):
    for name, sub in getattr(command, "commands", {}).items():
        yield from _options(sub, (*path, name))
    for param in command.params:
        yield path, param


def test_every_whole_number_option_reads_commas_and_underscores():
    """Each int option of each command (13 of them: --scenarios, --seed, --threads, --top, ...)."""
    every = _options(typer.main.get_command(app))
    ints = [(path, p) for path, p in every if p.type_descriptor.annotation is int]
    assert len(ints) >= 13
    parsers = {(path, p.name): p.type_descriptor.parameter_info.parser for path, p in ints}
    assert [where for where, parser in parsers.items() if parser is not whole_number] == []


@pytest.mark.parametrize("written", ["2000", "2,000", "2_000", " 2,000 ", "+2000", "2e3", "2.0e3", "2000.0"])
def test_a_whole_number_is_read_as_written(written):
    assert whole_number(written) == 2000


def test_a_run_takes_its_numbers_with_separators(here):
    """evaluate --scenarios 1,000 --seed 12_345 --top 1e1: the run's summary keeps 1000, 12345."""
    code, _, err = run_cli("solve", "tiny", "--out", "A")
    assert code == 0, err
    code, _, err = run_cli("evaluate", "--plans", "A", "--scenarios", "1,000", "--seed", "12_345",
                             "--top", "1e1", "--out", "B")  # fmt: skip
    assert code == 0, err
    summary = json.loads((here / "B" / "summary.json").read_text())
    assert (summary["n_scenarios"], summary["seed"]) == (1000, 12345)


@pytest.mark.parametrize(
    "value, said",
    [
        ("2,00", "not a whole number (got '2,00': commas or underscores go between groups of three digits"),
        ("20_00", "not a whole number (got '20_00': commas or underscores go between groups of three"),
        ("2,000_000", "not a whole number (got '2,000_000': commas or underscores go between groups"),
        ("2.5", "not a whole number (got '2.5', e.g. 2000, 2,000 or 2_000)"),
        ("1e-3", "not a whole number (got '1e-3'"),
        ("1.5e0", "not a whole number (got '1.5e0'"),
        ("0x10", "not a whole number (got '0x10'"),
        ("nan", "not a whole number (got 'nan'"),
        ("", "not a whole number (got ''"),
        ("1e400", "too large a number (got '1e400')"),
        ("-1", "must be at least 1 (got -1)"),
        ("-1,000", "must be at least 1 (got -1,000)"),
    ],
)
def test_what_is_not_a_whole_number_in_range_is_refused_naming_the_option(here, value, said):
    code, out, err = run_cli("evaluate", "tiny", "--plans", "nowhere", "--scenarios", value)
    assert code == 2 and "Traceback" not in out + err
    assert err.startswith("error: Invalid value for '--scenarios': ") and said in err, err
    assert [p.name for p in here.rglob("*") if p.name != "registry.sqlite"] in ([], ["runs"])

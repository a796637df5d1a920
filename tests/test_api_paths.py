"""A path the file system cannot look up, given to the Python API: a model's text pasted where its
file goes (a name longer than any file system allows) or a string with a NUL character is refused
by name, as the CLI refuses it, never Python's OSError or ValueError from deep inside a read."""

from __future__ import annotations

import pytest

from fleetopt import api
from fleetopt.errors import InputError
from fleetopt.schema.loading import ModelError

TOO_LONG = "a" * 300  # one name longer than the 255 bytes Linux and macOS allow


def test_a_models_text_given_for_its_file_is_refused_saying_where_it_goes(tiny_text):
    words = "not a usable path: File name too long: a model's text goes in a file"
    with pytest.raises(ModelError, match=words):
        api.load(tiny_text)
    with pytest.raises(ModelError, match="NUL character"):
        api.edit("tiny\0", {"finance.tax_rate": 0.3})


@pytest.mark.parametrize("bad", [TOO_LONG, "runs/x\0y"])
def test_an_unusable_output_or_input_path_is_refused_naming_its_argument(here, bad):
    with pytest.raises(InputError, match=r"^folder (is not a usable path|holds a NUL)"):
        api.sweep("tiny", candidates=1, scenarios=5, folder=bad)
    with pytest.raises(InputError, match=r"^folder (is not a usable path|holds a NUL)"):
        api.record_run(bad)
    with pytest.raises(InputError, match=r"^path (is not a usable path|holds a NUL)"):
        api.read_purchases(bad, "tiny")
    with pytest.raises(InputError, match=r"^purchases (is not a usable path|holds a NUL)"):
        api.solve("tiny", purchases=bad)
    assert not any(here.iterdir())  # nothing written


def test_recorded_run_id_of_no_folder_is_refused_by_name():
    with pytest.raises(InputError, match="folder must be a path"):  # it raised TypeError from pathlib
        api.recorded_run_id(None)


def test_a_report_under_a_file_is_refused_naming_the_file(here, tiny_solved_folder):
    """fo.report(run, out='notes.txt/r.html') said 'cannot write the report ...: File exists' (the
    folder made for it was a file); it says which path is not a folder, as the CLI's --out does."""
    (here / "notes.txt").write_text("mine\n")
    with pytest.raises(InputError, match=r"notes\.txt is not a folder this user can write to"):
        api.report(tiny_solved_folder, out=here / "notes.txt" / "r.html")
    assert (here / "notes.txt").read_text() == "mine\n"


@pytest.fixture
def tiny_solved_folder(here):
    loaded, _ = api.load("tiny")
    return api.write_solve_run(api.solve(loaded), loaded, here / "S")

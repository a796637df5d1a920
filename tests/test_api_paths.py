"""A path the file system cannot look up, given to the Python API: a model's text pasted where its
file goes (a name longer than any file system allows) or a string with a NUL character is refused
by name, as the CLI refuses it, never Python's OSError or ValueError from deep inside a read."""

from __future__ import annotations

import pytest

from fleetopt import api
from fleetopt.errors import InputError
from fleetopt.schema.issues import ModelError

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


def test_an_out_folder_not_in_utf8_is_refused_before_the_run_and_an_argument_not_in_utf8_is_recorded(
        tmp_path, monkeypatch):  # fmt: skip
    """A folder named in Latin-1 bytes (b'lat\\xe9', which Python keeps as the surrogate '\\udce9') was
    written, then the run registry (SQLite, UTF-8 text only) raised UnicodeEncodeError, a traceback
    after the work. As the output it is refused at once, naming it, and nothing is made; as an input
    (an evaluation of plans in such a folder) the run is recorded, the command keeping its escapes."""
    import os
    import shutil

    from conftest import run_cli

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    latin = os.fsdecode(bytes(tmp_path) + b"/lat\xe9")
    code, _, err = run_cli("solve", "tiny", "--out", latin)
    assert code == 2 and "'--out': folder name is not UTF-8 text" in err and "Traceback" not in err, err
    assert not os.path.lexists(latin) and not (tmp_path / "runs").exists()
    code, _, err = run_cli("solve", "tiny", "--out", str(tmp_path / "base"))
    assert code == 0, err
    shutil.copytree(tmp_path / "base", latin)
    code, _, err = run_cli("evaluate", "--plans", latin, "--scenarios", "5", "--out", str(tmp_path / "e"))
    assert code == 0 and "Traceback" not in err, err
    from fleetopt.runs.registry import Registry

    registry = Registry(tmp_path / "runs")  # the command line as typed in a shell: its bytes kept
    typed = f"fleetopt evaluate --plans {latin}"
    run_id = registry.record("evaluate", "tiny", "h", tmp_path / "e2", {}, command=typed)
    (record,) = [r for r in registry.list() if r.id == run_id]
    assert record.command.endswith("/lat\\xe9")


@pytest.mark.parametrize("command", [("validate", "tiny"), ("solve", "tiny"), ("sweep", "tiny")])
def test_a_purchases_file_not_in_utf8_is_refused_naming_the_option(tmp_path, monkeypatch, command):
    """A purchases file named in Latin-1 bytes (b'ordr\xe9.csv') was refused as "path is not UTF-8
    text", the Python parameter's name, for a reason given for run folders ("the run registry
    records every run's folder"): refused as --purchases, saying that a run records the files it
    reads by name, exit 2, nothing written."""
    import os

    from conftest import run_cli

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    latin = os.fsdecode(bytes(tmp_path) + b"/ordr\xe9.csv")
    with open(latin, "w") as file:
        file.write("quarter,sku,site,gpus\n2026Q3,B200,texas,8\n")
    out = () if command[0] == "validate" else ("--out", str(tmp_path / "out"))
    code, _, err = run_cli(*command, "--purchases", latin, *out)
    assert code == 2 and "Traceback" not in err, err
    assert "'--purchases': purchases file is not UTF-8 text (got " in err, err
    assert "the files it reads by name" in err and "registry records every run's folder" not in err, err
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(latin)]


def test_a_run_folder_not_in_utf8_is_shown_as_not_recorded_and_reported(tmp_path, monkeypatch):
    """A run folder copied to a name in Latin-1 bytes (b'caf\\xe9') made `runs show`, `runs forget`
    and `report` raise UnicodeEncodeError looking it up in the registry (SQLite, UTF-8 text only);
    such a folder can never be recorded, so it is "not recorded", and its report is written."""
    import os
    import shutil

    from conftest import run_cli

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, _, err = run_cli("solve", "tiny", "--out", str(tmp_path / "s"))
    assert code == 0, err
    latin = os.fsdecode(bytes(tmp_path) + b"/caf\xe9")
    shutil.copytree(tmp_path / "s", latin)
    for command in (("runs", "show", latin), ("runs", "forget", latin, "--dry-run")):
        code, _, err = run_cli(*command)
        assert code == 2 and "is not recorded" in err and "Traceback" not in err, (command, err)
    code, _, err = run_cli("report", latin, "--out", str(tmp_path / "r.html"))
    assert code == 0 and "Traceback" not in err, err
    assert (tmp_path / "r.html").exists()


@pytest.mark.parametrize("bad", ["a\nb", "run\tone", "x\x1b[31m"])
def test_an_out_folder_with_a_control_character_is_refused_before_the_run(here, tmp_path, monkeypatch, bad):
    """`fleetopt solve tiny --out "$(printf 'a\\nb')"` wrote and recorded a run under a name holding a
    newline, which split each line that showed it (runs, a resume command). Refused, exit 2, nothing
    made, naming the option (it said 'out', the API's parameter); the API's folder too."""
    from conftest import run_cli

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, _, err = run_cli("solve", "tiny", "--out", str(here / bad))
    assert code == 2 and "Traceback" not in err, err
    assert "'--out': folder name holds a control character" in err, err
    with pytest.raises(InputError, match=r"^folder holds a control character"):
        api.sweep("tiny", candidates=1, scenarios=5, folder=here / bad)
    assert not any(here.iterdir()) and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", [("schema",), ("compare", "tiny.npz", "tiny.npz")])
def test_an_out_file_with_a_control_character_is_refused(here, command):
    """`fleetopt compare A B --out "$(printf 'c\\n.html')"` wrote its page under a name holding a
    newline (the run folders' --out refused it, the files' did not): refused, exit 2, nothing written."""
    from conftest import run_cli

    code, _, err = run_cli(*command, "--out", str(here / "c\n.html"))
    assert code == 2 and "holds a control character ('\\n')" in err and "Traceback" not in err, err
    assert not any(here.iterdir())

"""Output and run files on a machine whose text encoding is not UTF-8 (PYTHONIOENCODING=ascii, a
Windows code page where output is redirected, a C locale without UTF-8 mode): the printout's
characters it cannot encode are written in ASCII, never a UnicodeEncodeError after the work, and a
run's files, written in UTF-8, are read back in UTF-8."""

from __future__ import annotations

import os
import subprocess
import sys

from fleetopt.runs.folder import RunFolder


def _fleetopt(tmp_path, env: dict, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLEETOPT_RUNS_DIR": str(tmp_path / "runs"), **env}
    return subprocess.run([sys.executable, "-m", "fleetopt", *args], capture_output=True, env=env,
                          cwd=tmp_path, timeout=300)  # fmt: skip


def test_a_printout_an_ascii_stdout_cannot_encode_is_written_in_ascii(tmp_path):
    """A compare or evaluation printed '−' (U+2212) and curly quotes: with PYTHONIOENCODING=ascii
    it ended in a UnicodeEncodeError traceback, exit 1, and an evaluation's folder was left
    unfinished."""
    done = _fleetopt(tmp_path, {"PYTHONIOENCODING": "ascii"}, "solve", "tiny", "--out", "S")
    assert done.returncode == 0, done.stderr.decode()
    done = _fleetopt(tmp_path, {"PYTHONIOENCODING": "ascii"}, "evaluate", "--plans", "S", "--scenarios", "5",
                     "--out", "E")  # fmt: skip
    out = done.stdout.decode("ascii")
    assert done.returncode == 0, done.stderr.decode()
    assert 'In short: Plan "milp": mean NPV' in out  # “milp” in ASCII quotes
    assert (tmp_path / "E" / "summary.json").is_file()


def test_a_run_file_is_read_in_utf8_whatever_the_locale(tmp_path):
    """RunFolder.read_text read in the locale's encoding what fleetopt wrote in UTF-8: the report
    of a sweep with a candidate 'yours: pläne.csv' raised UnicodeDecodeError in a C locale."""
    (tmp_path / "candidates.csv").write_text("plan\nyours: pläne.csv\n", encoding="utf-8")
    env = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "utf-8"}
    code = (f"from fleetopt.runs.folder import RunFolder; "
            f"print(RunFolder({str(tmp_path)!r}).read_text('candidates.csv'), end='')")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env={**os.environ, **env},
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode("utf-8") == RunFolder(tmp_path).read_text("candidates.csv")
    assert "pläne" in done.stdout.decode("utf-8")


def test_an_ascii_stream_whose_reader_has_gone_stops_quietly_and_section_signs_read_as_words():
    """On a stream that cannot encode the printout, the ASCII write after the UnicodeEncodeError
    raised BrokenPipeError past the stream's own handling (`PYTHONIOENCODING=ascii fleetopt ... |
    head`: a traceback); and '§', the docs' section sign in 200 messages, printed as '?'."""
    from fleetopt.cli.consoles import UntilClosed

    class AsciiPipe:
        encoding = "ascii"

        def __init__(self, gone: bool):
            self.gone, self.written = gone, []

        def write(self, text):
            text.encode("ascii")  # UnicodeEncodeError, as an ASCII stream raises
            if self.gone:
                raise BrokenPipeError(32, "Broken pipe")
            self.written.append(text)
            return len(text)

    closed = UntilClosed(AsciiPipe(gone=True))
    assert closed.write("timing: formulation §6 − done\n") == len("timing: formulation §6 − done\n")
    assert closed.reader_gone
    open_ = AsciiPipe(gone=False)
    UntilClosed(open_).write("timing: formulation §6 − done\n")
    assert open_.written == ["timing: formulation section 6 - done\n"]

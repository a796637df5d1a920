"""Bad input through each command, one more round: a clear message naming the option or field, exit
code 2, no traceback, nothing half-written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.errors import InputError
from fleetopt.runs.registry import Registry


@pytest.mark.parametrize(
    "change, said",
    [
        ("horizon.discount_rate_annual=-3",
         "horizon.discount_rate_annual: Input should be greater than or equal to 0 (got -3)"),
        ("finance.facilities=[]", "finance.facilities: Input should be a valid dictionary"),
        ("nosuch.field=3", "nosuch: no such field (the model has name, description, horizon, skus"),
        ("fleet.7.gpus=1", "fleet.7: no such field (fleet is a list of 1 item, numbered from 0)"),
    ],
)
def test_a_set_that_breaks_the_model_is_named_not_the_model_file(change, said):
    """`validate --set horizon.discount_rate_annual=-3` said '/…/models/tiny.yaml, edited
    (horizon.discount_rate_annual): ...', and a field that does not exist said 'nosuch: no such
    field' with no word of --set: each names the --set option as given."""
    code, out, err = run_cli("validate", "tiny", "--set", "horizon.discount_rate_annual=0.1", "--set", change)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: --set {change!r}: {said}"), err
    assert "tiny.yaml" not in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "change, missing, hint",
    [
        ("polcy.defer_orders=false", "polcy", ": did you mean 'policy'?"),  # a block tiny leaves out
        ("site.texas.pue=1.2", "site", ": did you mean 'sites'?"),
        ("finance.covenents.min_dscr=1.2", "finance.covenents", ": did you mean 'covenants'?"),
        ("sites.texas.expansionn.max_blocks=3", "sites.texas.expansionn", ": did you mean 'expansion'?"),
        ("contracts.lab-a-trainig.gpus=5", "contracts.lab-a-trainig", ""),  # a user's name: no hint
    ],
)
def test_a_set_through_a_misspelt_block_offers_the_block_meant(change, missing, hint):
    """`--set polcy.defer_orders=false` said "polcy: no such field (the model has name, ..., risk)":
    a list without `policy` (tiny leaves the block out), and no nearer spelling, where a misspelt key
    in the file says "did you mean 'policy'?". Names of sites or contracts are the user's: no hint."""
    code, out, err = run_cli("validate", "tiny", "--set", change)
    assert (code, out) == (2, "")
    assert re.fullmatch(rf"error: --set '{re.escape(change)}': {re.escape(missing)}: no such field \([^)]*\)"
                        rf"{re.escape(hint)}\n", err), err


def test_a_set_breaking_a_rule_between_fields_names_the_sets_behind_it():
    """A shorter horizon that a contract now starts after: no --set names the contract's field, and
    every --set was named, the discount rate's too; now those without which the rule holds."""
    code, _, err = run_cli("validate", "tiny", "--set", "horizon.discount_rate_annual=0.1", "--set",
                           "horizon.quarters=2")  # fmt: skip
    assert code == 2 and err == (
        "error: --set 'horizon.quarters=2': contracts.enterprise-inference.start: quarter 2027Q1 is outside "
        "the horizon 2026Q3..2026Q4\n")
    # the contract moved to a quarter the horizon, as shortened, ends before: both are behind it
    code, _, err = run_cli("validate", "tiny", "--set", "horizon.quarters=2", "--set",
                           "contracts.enterprise-inference.start=2027Q2")  # fmt: skip
    assert code == 2 and err.startswith(
        "error: --set 'horizon.quarters=2' --set 'contracts.enterprise-inference.start=2027Q2': "), err


def test_a_set_that_breaks_the_model_writes_no_run(tmp_path):
    code, _, err = run_cli("solve", "tiny", "--set", "finance.facilities=[]", "--out", str(tmp_path / "r"))
    assert code == 2 and err.startswith("error: --set 'finance.facilities=[]': finance.facilities: ")
    assert not (tmp_path / "r").exists()


def test_a_what_if_naming_no_field_names_the_what_if(solve_run):
    """compare --what-if nosuch.x=3 said 'nosuch: no such field' alone, where its bad values name it."""
    with pytest.raises(InputError, match=r"^what_if \(--what-if\) nosuch.x = 3: nosuch: no such field"):
        api.compare([solve_run], "tiny", what_if=[("horizon.quarters", 8), ("nosuch.x", 3)])


@pytest.mark.parametrize("option", ["--set", "--what-if"])
def test_a_value_that_holds_itself_is_refused_naming_its_option(option, solve_run):
    """`--set 'horizon.quarters=&a [*a]'` (a YAML alias of its own anchor: a list that holds itself)
    ended in a RecursionError traceback, walked for a key with a colon in it."""
    change = "horizon.quarters=&a [*a]"
    command = ("validate", "tiny") if option == "--set" else ("compare", str(solve_run))
    code, out, err = run_cli(*command, option, change)
    assert (code, out) == (2, "")
    said = "horizon.quarters: the value is nested too deeply to read, or contains itself"
    assert said in err and err.startswith("error: ") and len(err.splitlines()) == 1, err
    if option == "--what-if":  # the change was shown as `&id001 [*id001]`, PyYAML's anchor names
        assert "--what-if horizon.quarters = a value that holds itself: " in err, err
    assert "id001" not in err


@pytest.mark.parametrize("option", ["--set", "--what-if"])
def test_a_value_that_is_not_yaml_is_named_by_its_option_without_a_line_number(option, solve_run):
    """`--set 'risk={'` said "error: --set 'risk={':1: YAML syntax error", the line number of a value
    typed on one line after the option's quotes, as if it were a file's."""
    command = ("validate", "tiny") if option == "--set" else ("compare", str(solve_run))
    code, out, err = run_cli(*command, option, "risk={")
    assert (code, out) == (2, "")
    assert err == f"error: {option} 'risk={{': YAML syntax error: expected the node content, but found " \
        "'<stream end>'\n", err


def test_a_change_with_a_value_given_twice_by_an_alias_is_shown_as_written_out():
    """`{a: &x [1], b: *x}` was shown `{a: &id001 [1], b: *id001}`, anchor names never typed."""
    from fleetopt.schema.model_changes import change_words
    from fleetopt.schema.yaml_reading import load_yaml

    value = load_yaml("{a: &x [1], b: *x}", "--what-if")
    assert change_words([("horizon.quarters", value)]) == "horizon.quarters = {a: [1], b: [1]}"


def _laughs(depth: int) -> list[str]:
    """Lists of 9 aliases of the list before, ``depth`` deep: 9 ** (depth + 1) values from a few lines."""
    lists = ["&l0 [x, x, x, x, x, x, x, x, x]"]
    lists += [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, depth + 1)]
    return lists


def _fleetopt_in_a_child(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`fleetopt ARGS` in a process of its own, which a hang would not take down."""
    return subprocess.run([sys.executable, "-m", "fleetopt", *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd=cwd)  # fmt: skip


def test_a_yaml_alias_bomb_in_a_model_file_is_refused_not_walked(tmp_path, tiny_text):
    """A model file whose fleet is 9 lists of 9 aliases (387 million values in 11 lines) ran for
    minutes, its memory growing, before any message: refused at once, naming the counts."""
    anchors = "".join(f"  l{i}: {text}\n" for i, text in enumerate(_laughs(8)))
    bomb = tiny_text.replace("\nfleet:", "\nfleet: *l8\nx:")
    (tmp_path / "bomb.yaml").write_text(f"aliases:\n{anchors}{bomb}")
    done = _fleetopt_in_a_child("validate", "bomb.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    said = re.search(r"bomb.yaml: its aliases \(\*name\) expand its ([\d,]+) values written to ([\d,]+), "
                     "more than any model needs", done.stderr)
    assert said is not None, done.stderr
    written, expanded = (int(n.replace(",", "")) for n in said.groups())
    assert written < 1_000 and expanded > 9**9  # fleet's leaves alone are 9 ** 9


def test_a_yaml_alias_bomb_in_a_set_is_refused_naming_it(tmp_path):
    bomb = "[" + ", ".join(_laughs(8)) + "]"
    done = _fleetopt_in_a_child("validate", "tiny", "--set", f"description={bomb}", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: --set 'description=[&l0"), done.stderr
    assert "its aliases (*name) expand its" in done.stderr


@pytest.mark.parametrize("field, value", [("n_scenarios", 10**18), ("seed", 7)])
def test_runs_add_refuses_a_job_json_that_is_not_its_summary_s(solve_run, tmp_path, field, value):
    """A finished evaluation whose job.json was edited to 10**18 scenarios (its summary.json says 5)
    was recorded: refused naming both, and nothing recorded."""
    folder = tmp_path / "E"
    assert run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "5", "--out", str(folder))[0] == 0
    Registry().path.unlink()
    job = json.loads((folder / "job.json").read_text())
    (folder / "job.json").write_text(json.dumps({**job, field: value}))
    code, _, err = run_cli("runs", "add", str(folder))
    recorded = {"n_scenarios": 5, "seed": 0}[field]
    assert code == 2 and " ".join(err.split()) == (
        f"error: {folder / 'job.json'}: {field} {value}, where summary.json, written with it, has {field} "
        f"{recorded}: the file was damaged or edited; restore it, or run anew")
    assert Registry().list() == []


# the API's refusal of an mpi-sppy solve with a risk weight, as Python and the terminal say it
_RISK_WEIGHTED_ROUTE = "{solver} mpisppy-ef solves the risk-neutral objective: leave {weight} at 0"


def test_a_refusal_names_each_option_alone_in_the_terminal():
    """An API refusal that names its arguments as "solver (--stochastic-solver)" reached the terminal
    with both names, where a user typed only the option: it names the option alone (--stochastic
    over 1,000, the matrix of --keep-matrix, --plan of a file of several, --what-if and fewer
    --scenarios are asserted whole in their own tests)."""
    code, out, err = run_cli("solve", "tiny", "--stochastic", "5", "--stochastic-solver", "mpisppy-ef",
                             "--risk-weight", "0.5", "--out", "never")  # fmt: skip
    said = _RISK_WEIGHTED_ROUTE.format(solver="--stochastic-solver", weight="--risk-weight")
    assert (code, out, err) == (2, "", f"error: {said}\n")
    assert not Path("never").exists()


def test_the_python_api_names_an_argument_by_its_keyword_and_its_option():
    """From Python the same refusals keep the keyword beside the option, "solver (--stochastic-solver)",
    and typed() is the terminal's line: the keyword a notebook passes, the option a shell types."""
    with pytest.raises(InputError) as refused:
        api.solve_stochastic("tiny", 5, solver="mpisppy-ef", risk_weight=0.5)
    both = _RISK_WEIGHTED_ROUTE.format(solver="solver (--stochastic-solver)",
                                       weight="risk_weight (--risk-weight)")
    alone = _RISK_WEIGHTED_ROUTE.format(solver="--stochastic-solver", weight="--risk-weight")
    assert (str(refused.value), refused.value.typed()) == (both, alone)
    with pytest.raises(InputError) as refused:
        api.prepare_evaluation("plan.npz", "tiny", deterministic=True, seed=3)  # refused before it is read
    assert str(refused.value) == ("seed (--seed) cannot apply with deterministic=True (--deterministic), "
                                  "which evaluates the forecast itself: leave it out (got 3)")  # fmt: skip
    assert refused.value.typed() == ("--seed cannot apply with --deterministic, which evaluates the "
                                     "forecast itself: leave it out (got 3)")  # fmt: skip

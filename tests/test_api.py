"""The Python API as a notebook user meets it: comparing plans and reading the run registry without
the CLI, runs named by id as well as by folder, the sweep's rule, the CLI's safeguards (warnings,
caps, refusals by name) applied to Python callers too, and errors that say what to pass."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
from conftest import run_cli, squashed

import fleetopt.api
from fleetopt import api
from fleetopt.cli.memory import memory_budget
from fleetopt.errors import FleetoptWarning, InputError
from fleetopt.evaluate import resources
from fleetopt.evaluate.backend import usable_cores
from fleetopt.evaluate.chunking import chunk_sizes
from fleetopt.milp.solve import InfeasibleModel
from fleetopt.runs.registry import RegistryError

SCENARIOS = 20


@pytest.fixture(scope="module")
def tiny_solved():
    loaded, _ = api.load("tiny")
    return loaded, api.solve(loaded)


@pytest.fixture
def two_runs(here, tiny_solved):
    """Two solve runs of tiny, written from Python: (folder A, folder B)."""
    loaded, solved = tiny_solved
    return api.write_solve_run(solved, loaded, here / "A"), api.write_solve_run(solved, loaded, here / "B")


# ---------------------------------------------------------------- 1. compare and the registry


def test_compare_from_python_gives_the_cli_comparison(two_runs):
    """The same runs (one by run id, one by folder), scenarios and seed give the CLI's JSON."""
    a, b = two_runs
    result = api.compare([api.run_id(a), b], scenarios=SCENARIOS, seed=1, backend="numpy")
    assert isinstance(result, api.Comparison)
    args = [str(api.run_id(a)), str(b), "--scenarios", str(SCENARIOS), "--seed", "1", "--backend", "numpy"]
    code, out, err = run_cli("compare", *args, "--format", "json")
    assert code == 0, err
    assert json.loads(result.to_json()) == json.loads(out)


def test_compare_defaults_to_the_first_sweeps_scenarios_else_1000_and_seed_0(two_runs, monkeypatch):
    """Without scenarios or seed: a sweep's own (here a stand-in (7, 3)), else 1,000 and seed 0;
    a value given wins over the sweep's."""
    seen = []

    def compared(data, plans, labels, n_scenarios, seed, *rest, **options):
        seen.append((n_scenarios, seed))

    monkeypatch.setattr("fleetopt.api._compare.compare_plans", compared)
    api.compare(two_runs)
    monkeypatch.setattr("fleetopt.api._compare.scenarios_of_runs", lambda refs: (7, 3))
    api.compare(two_runs)
    api.compare(two_runs, seed=5)
    assert seen == [(1000, 0), (7, 3), (7, 5)]


def test_compare_refuses_no_runs():
    with pytest.raises(InputError, match="at least one run"):
        api.compare([])
    with pytest.raises(InputError, match=r"runs must be a run folder, .* \(got a NoneType\)"):
        api.compare(None)


def test_compare_of_one_solve_result_is_refused_as_one_run_folder_is(tiny_solved):
    """fo.compare(solved) gave a comparison of one plan, with no "In short", where fo.compare(folder)
    and `fleetopt compare FOLDER` refuse: a comparison needs two plans, whatever they are given as."""
    _, solved = tiny_solved
    with pytest.raises(InputError, match="compare needs at least two plans: give two solve results"):
        api.compare(solved)
    assert len(api.compare([solved, solved], scenarios=20).labels) == 2


def test_a_run_argument_that_is_not_one_is_refused_by_its_name():
    """fo.evaluate(None) said "a run is a run folder ..." without naming the argument."""
    solved = api.solve("tiny")
    calls = [(lambda: api.evaluate(None), "plans"), (lambda: api.report(1.5), "run"),
             (lambda: api.run_id(True), "path"),
             (lambda: api.prepare_evaluation(solved), "plans")]  # fmt: skip
    for call, name in calls:
        with pytest.raises(InputError, match=rf"^{name} must be a run folder, plan file or run id \(int\)"):
            call()
    # it read "a solve's result is also compared in memory, whose figures are an evaluation's"
    with pytest.raises(InputError, match=r"write it as a run first \(folder = fleetopt\.api\."
                       r"write_solve_run\(result\)\) and give its folder; or, without writing it, compare "
                       r"the SolveResult with other plans on common scenarios: "
                       r"fleetopt\.api\.compare\(\[result, \.\.\.\]\); fleetopt\.api\.evaluate\(result\) "
                       r"evaluates it without writing it, in one go$"):
        api.prepare_evaluation(solved)  # a job resumes from its plan file; fo.evaluate takes it in memory
    # several runs: compare evaluates them on the same scenarios (from a new user's review)
    with pytest.raises(InputError, match=r"not a list \(\['a', 'b'\]\); the plans of several runs are "
                       r"evaluated on the same scenarios by fleetopt\.api\.compare\(runs\)$"):
        api.evaluate(["a", "b"])


def test_a_table_given_for_a_run_or_a_path_is_said_by_its_shape_in_one_line(here):
    """fo.evaluate(result.plan_frame()), fo.report(1, out=frame) and fo.read_purchases(frame, "tiny")
    put the frame's printout (8 lines, "[41 rows x 8 columns]") into the one-line message; a plan's
    table given as its run is told how to make a run of its purchases, and given to read_purchases
    that fo.solve takes it as it is (it was told only that a path goes there)."""
    import pandas as pd

    table = api.solve("tiny").plan_frame()
    rows = f"a DataFrame of {len(table)} rows x 8 columns"
    with pytest.raises(InputError) as refused:
        api.evaluate(table, scenarios=10)
    assert str(refused.value) == (
        f"plans must be a run folder, plan file or run id (int), not {rows}; a table of a plan's "
        "decisions or purchases is not a plan: solve with its purchases, result = "
        "fleetopt.api.solve(model, purchases=table), then give fleetopt.api.write_solve_run(result), "
        "the run folder it writes"
    )
    with pytest.raises(InputError) as refused:
        api.read_purchases(table, "tiny")
    assert str(refused.value) == (
        f"path must be a path, a string or a pathlib.Path (got {rows}); a table of a plan's decisions or "
        "purchases is no file to read: solve with its purchases, result = fleetopt.api.solve(model, "
        "purchases=table)"
    )
    with pytest.raises(InputError) as refused:
        api.report(1, out=pd.DataFrame({"npv": [1.0, 2.0]}))
    assert str(refused.value).endswith("(got a DataFrame of 2 rows x 1 column)")


def test_a_value_of_the_wrong_type_is_named_with_the_article_it_is_said_with(here):
    """fo.resolve_run(uuid) said "not an UUID": the article went by the first letter, not by the sound.
    A type's name is said as a word ("a UUID", "an int", "a one-off") or, an initialism or a letter
    before digits, letter by letter ("an H100", "a URL", "an NPV", "an ndarray")."""
    import uuid

    from fleetopt.schema.shown_values import typed_value

    given = uuid.UUID(int=1)
    with pytest.raises(RegistryError) as refused:
        api.resolve_run(given)
    said = str(refused.value)
    assert said == f"ref must be a run folder, plan file or run id (int), not a UUID ({given!r})"
    names = ("H100", "URL", "USD", "NPV", "HTTPError", "ndarray", "one-off", "unit", "hour", "B200", "uint8")
    said = [typed_value(type(name, (), {"__repr__": lambda self: "x"})()) for name in names]
    assert said == ["an H100 (x)", "a URL (x)", "a USD (x)", "an NPV (x)", "an HTTPError (x)",
                    "an ndarray (x)", "a one-off (x)", "a unit (x)", "an hour (x)", "a B200 (x)",
                    "a uint8 (x)"]  # fmt: skip
    assert typed_value(3) == "an int (3)" and typed_value(1.5) == "a float (1.5)"


@pytest.mark.parametrize("model", [123, ["tiny"], b"tiny", "", "  "])
def test_load_refuses_what_is_not_a_model_by_name(model):
    """load(123) raised TypeError from deep in pathlib, load("") said ".: is a directory"."""
    with pytest.raises(InputError, match=r"model must be a model file path|model is empty"):
        api.load(model)


def test_writing_a_solve_run_needs_a_solve_result(here):
    with pytest.raises(InputError, match=r"result must be what fleetopt.api.solve returns \(.* str\)"):
        api.write_solve_run("tiny", out=here / "A")
    assert not (here / "A").exists()


def test_runs_and_run_read_the_registry(two_runs):
    a, b = two_runs
    records = api.runs()
    assert [r.path for r in records] == [b.resolve(), a.resolve()]  # newest first
    assert [r.path for r in api.runs(limit=1)] == [b.resolve()]
    assert api.runs(model="lab") == []
    newest = records[0]
    assert api.run(newest.id) == api.run(str(newest.id)) == api.run(b) == newest
    row = newest.as_dict()
    assert row["kind"] == "solve" and row["path"] == str(b.resolve()) and row["exists"]
    assert row["npv_usd"] == newest.figures["npv_usd"]  # the figures are columns of their own
    with pytest.raises(InputError, match="limit must be at least 1"):
        api.runs(limit=0)
    code, out, _ = run_cli("runs", "show", str(newest.id))
    assert code == 0 and squashed(str(b.resolve())) in squashed(out)  # a long path folds over lines


# ---------------------------------------------------------------- 2. runs by id


def test_a_run_id_as_an_int_is_taken_wherever_a_run_is(two_runs, here):
    a, _ = two_runs
    number = api.run_id(a)
    assert isinstance(number, int) and api.resolve_run(number) == a.resolve()
    assert api.run_id(number) == api.run_id(str(number)) == number
    assert api.report(number) == a.resolve() / "report.html"
    evaluation, _, source = api.evaluate(number, scenarios=SCENARIOS)
    assert evaluation.n_plans == 1 and source.path.parent == a.resolve()


def test_a_report_never_replaces_a_file_it_did_not_write(two_runs, here):
    """fo.report(run, out=...) replaced a model file with HTML; the command refused it."""
    a, _ = two_runs
    model = here / "mine.yaml"
    model.write_text("name: mine\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"out .*mine\.yaml is a file that is not a report"):
        api.report(a, out=model)
    assert model.read_text(encoding="utf-8") == "name: mine\n"
    written = api.report(a, out=here / "r.html")
    assert api.report(a, out=written) == written  # its own report may be written again
    with pytest.raises(InputError, match=r"out \(--out\) must be a path"):
        api.report(a, out=5)
    with pytest.raises(InputError, match=r"out .*rep\.pdf: a report is one HTML file \(\.html\) or Markdown "
                       r"\(\.md\); give a name such as"):
        api.report(a, out=here / "rep.pdf")  # HTML in a .pdf was written without a word
    assert not (here / "rep.pdf").exists()
    with pytest.raises(InputError, match=r"path must be a path"):
        api.read_purchases(5, "tiny")


def test_a_report_onto_another_runs_file_names_the_argument_out(two_runs):
    """fo.report(A, out=B/summary.json) named the CLI's option alone, "--out B/summary.json is a file
    of the run folder B"; every refusal of ``out`` names the argument and the option, "out (--out)",
    as the API's other errors do ("seed (--seed)"); B is left whole."""
    a, b = two_runs
    kept = (b / "summary.json").read_bytes()
    with pytest.raises(InputError) as refused:
        api.report(a, out=b / "summary.json")
    said = f"out (--out) {b / 'summary.json'} is a file of the run folder {b}: "
    assert str(refused.value).startswith(said)
    assert (b / "summary.json").read_bytes() == kept


def test_digits_name_a_run_id_as_in_the_cli(two_runs):
    """`fleetopt evaluate --plans 1` takes run 1; fo.evaluate("1") read "1" as a path."""
    a, _ = two_runs
    _, _, source = api.evaluate(str(api.run_id(a)), scenarios=SCENARIOS)
    assert source.path.parent == a.resolve()


@pytest.mark.parametrize("ref", ["nosuch", 99, "99"])
def test_an_unknown_run_is_refused_by_name(here, ref):
    with pytest.raises(RegistryError, match=r"no such run folder or plan file|no run with id 99"):
        api.resolve_run(ref)


def test_something_that_is_not_a_run_is_refused_by_name():
    with pytest.raises(RegistryError, match=r"run folder, plan file or run id \(int\), not a float"):
        api.resolve_run(1.5)


# ---------------------------------------------------------------- 3. the sweep's rule


def test_the_sweeps_rule_must_be_a_rule(here):
    """`fo.sweep("tiny", rule="cvar5")` failed with "'str' object has no attribute 'check'"."""
    with pytest.raises(InputError, match=r"rule must be a fleetopt.api.Rule, e.g. Rule\(prefer="):
        api.sweep("tiny", rule="cvar5")
    with pytest.raises(InputError, match=r"stochastic \(--stochastic\) must be 0"):
        api.sweep("tiny", stochastic=-1)
    assert api.Rule().forecast_within_limits and "Rule" in api.__all__


# ---------------------------------------------------------------- 4. the CLI's safeguards


def test_plans_of_another_model_version_warn_from_python(two_runs):
    a, _ = two_runs
    model = a / "model.yaml"
    model.write_text(model.read_text() + "\n# edited\n")
    with pytest.warns(FleetoptWarning, match="plans were made from another version of model 'tiny'"):
        api.evaluate(a, scenarios=SCENARIOS)


def test_python_memory_and_threads_are_capped_to_the_machine(two_runs, monkeypatch):
    """5 TB on a machine of 8 GB is capped to 8 GB, and 10,000 threads to the usable cores, each
    with a warning naming the argument."""
    a, _ = two_runs
    monkeypatch.setattr(resources, "physical_ram_bytes", lambda: 8 * 10**9)
    budgets = []

    def prepared(*args, **kw):
        budgets.append(kw)
        return _Job()

    monkeypatch.setattr("fleetopt.api._evaluate._prepare_evaluation", prepared)
    with pytest.warns(FleetoptWarning) as caught:
        api.prepare_evaluation(a, backend="numpy", max_memory=5 * 10**12, threads=10_000)
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("max_memory 5 TB is more than the 8 GB of physical memory") for m in messages)
    assert any(m.startswith(f"threads 10,000 capped to {usable_cores()}") for m in messages)
    assert budgets[0]["max_memory"] == 8 * 10**9 and budgets[0]["threads"] == usable_cores()


class _Job:
    """What prepare_evaluation's warnings read of a job: plans of no known model, not in a run folder."""

    loaded = None
    source = type("Source", (), {"model_hash": None, "path": Path("no-run") / "plan.npz"})()

    def __init__(self):
        self.settings = {"deterministic": False, "seed": 0, "n_scenarios": 1000}  # the futures warned of


def test_the_cli_prints_the_apis_warnings_as_lines(here, monkeypatch):
    code, _, err = run_cli("solve", "tiny", "--threads", "10000", "--out", "A")
    assert code == 0 and f"warning: --threads 10,000 capped to {usable_cores()}" in err


# ---------------------------------------------------------------- 5. options that cannot apply


def test_scenarios_cannot_apply_with_deterministic(two_runs):
    a, _ = two_runs
    with pytest.raises(InputError, match=r"scenarios \(--scenarios\) cannot apply with deterministic=True"):
        api.evaluate(a, deterministic=True, scenarios=500)
    evaluation, _, _ = api.evaluate(a, deterministic=True)
    assert evaluation.n_scenarios == 1


# ---------------------------------------------------------------- 6. what is natural to pass


def test_solve_takes_model_data_and_write_takes_what_load_returns(here, tiny_solved):
    loaded, data = api.load("tiny")
    kept = api.solve(loaded)
    assert api.write_solve_run(kept, out=here / "A") == here / "A"  # the model solve kept
    assert api.write_solve_run(kept, api.load("tiny"), here / "B") == here / "B"  # the pair
    from_data = api.solve(data)
    assert from_data.objective_usd == pytest.approx(kept.objective_usd, rel=1e-9)
    with pytest.raises(InputError, match=r"loaded must be the LoadedModel .* solved from a ModelData"):
        api.write_solve_run(from_data, out=here / "C")
    with pytest.raises(InputError, match="model must be a model file path"):
        api.solve(42)
    assert not (here / "C").exists()


# ---------------------------------------------------------------- 7. an infeasible model's message


def test_an_infeasible_models_message_names_the_conflict():
    """A notebook traceback shows str(exc): it said only "the model is infeasible"."""
    diagnosis = [
        {"group": f"group{k}", "unit": "MW", "total": 1.0, "items": [(f"site{k}", 2.5)],
         "quarters": ["2026Q1"]}
        for k in range(5)
    ]  # fmt: skip
    text = str(InfeasibleModel(diagnosis))
    assert text.startswith("the model is infeasible (no plan meets every constraint); in conflict: ")
    assert "group0 in 2026Q1: site0 short by 2.5 MW; group1" in text
    assert "group2" in text and "group3" not in text and text.endswith("; and 2 more")


# ---------------------------------------------------------------- 8 and 9. messages


def test_the_largest_memory_budget_the_message_offers_is_accepted():
    """"from 1KB to 1PB" refused 1PB (no PB unit)."""
    assert memory_budget("1PB") == 10**15 and memory_budget("0.5 pb") == 5 * 10**14
    with pytest.raises(InputError, match=r"out of range: expected a size from 1KB to 1PB .*, PB, "):
        memory_budget("1.5PB")


def test_a_memory_budget_as_docker_and_slurm_write_it():
    """`--max-memory 2G` and `512M` were refused; one letter is binary there (2G = 2 GiB)."""
    assert memory_budget("2G") == 2 * 2**30 == memory_budget("2GiB")
    assert memory_budget("512m") == 512 * 2**20 and memory_budget("64K") == 64 * 2**10


def test_a_memory_budget_from_python_is_a_size_as_the_option_takes_it(tiny_solved):
    """max_memory took a whole number of bytes only ("from Python a whole number of bytes, 4 * 2**30
    for 4G"), where --max-memory takes "4G": both now, each refused by name as the option's."""
    run = api.write_solve_run(tiny_solved[1])
    job = api.prepare_evaluation(run, scenarios=SCENARIOS, backend="numpy", max_memory="512MB")
    assert job.settings["max_memory"] == 512 * 10**6
    job = api.prepare_evaluation(run, scenarios=SCENARIOS, backend="numpy", max_memory=2**29)
    assert job.settings["max_memory"] == 2**29
    option = r"^max_memory \(--max-memory\) "
    with pytest.raises(InputError, match=option + r"20 has no unit: write one, e\.g\. 20MB"):
        api.prepare_evaluation(run, scenarios=SCENARIOS, max_memory="20")
    with pytest.raises(InputError, match=option + r"must be a size such as '2GB' or a whole number of bytes"):
        api.prepare_evaluation(run, scenarios=SCENARIOS, max_memory=2.5e9)


def test_evaluation_remedies_name_the_argument_and_the_option(tiny_solved):
    _, solved = tiny_solved
    job = api.prepare_evaluation(api.write_solve_run(solved), scenarios=SCENARIOS, backend="numpy")
    fewer = (r"give fewer scenarios \(--scenarios\), or for an evaluation a max_memory \(--max-memory\) of "
             "at least")
    with pytest.raises(InputError, match=fewer):
        chunk_sizes(job.data, job.batch, 10**9, 10**6)
    with pytest.raises(InputError, match=r"workers \(--workers\) runs CPU processes: .* \(--backend"):
        api.prepare_evaluation(job.source.path, backend="cupy", workers=2)


def _python_advice(message: str, before: str) -> str:
    """The Python a message advises after ``before``, up to the command line's words in brackets."""
    return message.split(before, 1)[1].split(" (fleetopt ", 1)[0]


def test_a_python_caller_is_told_how_to_finish_a_run_in_python(here, tiny_solved):
    """`resume_sweep` of an unfinished evaluation's folder and `compare` of an unfinished sweep told a
    notebook to type `fleetopt evaluate --resume` / `fleetopt sweep --resume`. They now give the Python that
    finishes the run, then the command, as every refusal names an argument; run, the Python writes the
    finished run. The command line says the command alone, as before."""
    loaded, solved = tiny_solved
    job = api.prepare_evaluation(api.write_solve_run(solved, loaded, here / "A"), scenarios=SCENARIOS)
    job.start(here / "E")  # started, never run: an unfinished evaluation
    resumed = r"with fleetopt\.api\.write_evaluate_run\(fleetopt\.api\.resume_evaluation\("
    with pytest.raises(InputError, match=resumed) as refused:
        api.resume_sweep(here / "E")
    typed = f"{here / 'E'} is an evaluation's folder: finish it with fleetopt evaluate --resume {here / 'E'}"
    assert refused.value.typed() == typed
    exec(_python_advice(str(refused.value), "finish it with "), {"fleetopt": fleetopt})
    assert api.run(here / "E").kind == "evaluate"
    api.sweep(loaded, candidates=2, scenarios=SCENARIOS, seed=4, folder=here / "S")  # not written: unfinished
    with pytest.warns(FleetoptWarning, match="is an unfinished sweep") as warned:
        api.compare([here / "S", here / "A"])
    unfinished = next(w.message for w in warned if "unfinished sweep" in str(w.message))
    said = str(unfinished)
    assert said.endswith(f"(fleetopt sweep --resume {here / 'S'}) finishes it")
    assert unfinished.typed().endswith(f"compared; fleetopt sweep --resume {here / 'S'} finishes it")
    exec(_python_advice(said, "compared; "), {"fleetopt": fleetopt})
    assert api.run(here / "S").kind == "sweep"


def test_no_warning_when_nothing_is_capped(two_runs):
    a, _ = two_runs
    with warnings.catch_warnings():
        warnings.simplefilter("error", FleetoptWarning)
        api.evaluate(a, scenarios=SCENARIOS, threads=1)


def test_notebook_reprs_are_one_line_summaries(tiny_solved, here):
    """A notebook cell showing `fo.load("neocloud")` printed about 248,000 characters of arrays."""
    loaded, data = api.load("neocloud")
    assert repr(loaded) == f"LoadedModel('neocloud' from {loaded.source}, hash {loaded.content_hash})"
    assert repr(data) == (
        "ModelData('neocloud': 28 quarters from 2026Q3, 5 SKUs, 4 sites, 10 contracts, 11 debt facilities)"
    )
    loaded, solved = tiny_solved
    assert repr(solved).startswith("SolveResult(optimal, 'tiny', npv objective -$14.1M, gap ")
    result, _, _ = api.evaluate(api.write_solve_run(solved, loaded, here / "A"), scenarios=20, seed=3)
    assert repr(result).startswith("EvaluationResult(1 plan x 20 scenarios (seed 3), ")
    # a job read "1 plans x 1 scenarios, seed 0" for the forecast itself, as for one seeded future
    job = api.prepare_evaluation(here / "A", scenarios=1)
    forecast = api.prepare_evaluation(here / "A", deterministic=True)
    assert repr(job).startswith("EvaluationJob(1 plan x 1 scenario, seed 0, model 'tiny', ")
    assert repr(forecast).startswith("EvaluationJob(1 plan on the forecast, model 'tiny', ")


def test_a_path_from_python_starting_with_a_tilde_is_in_the_home_folder(here, tiny_solved, monkeypatch):
    """A shell expands ``~`` for the CLI; from Python, `out="~/runs/s"` made a folder named "~" in
    the working folder, and `load("~/m.yaml")` found no file."""
    home = here / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (home / "m.yaml").write_text(api.load("tiny")[0].text)
    loaded, solved = tiny_solved
    assert api.load("~/m.yaml")[0].content_hash == loaded.content_hash
    folder = api.write_solve_run(solved, loaded, "~/runs/s")
    assert folder.resolve() == (home / "runs" / "s").resolve() and not (here / "~").exists()
    evaluated = api.evaluate("~/runs/s", scenarios=SCENARIOS, seed=1)  # (result, loaded, source)
    assert api.write_evaluate_run(*evaluated, out="~/runs/e").resolve() == (home / "runs" / "e").resolve()
    assert api.report("~/runs/s", out="~/s.html").resolve() == (home / "s.html").resolve()
    assert not (here / "~").exists()


def test_the_run_file_helpers_refuse_what_they_cannot_write_by_name(tiny_solved):
    """plan_file_bytes(None, model) and evaluation_summary(None, ...) raised AttributeError from
    inside fleetopt; every function of the API names the argument instead."""
    loaded, solved = tiny_solved
    with pytest.raises(InputError, match=r"result must be what fleetopt\.api\.solve returns"):
        api.plan_file_bytes(None, loaded)
    with pytest.raises(InputError, match=r"loaded must be a loaded model"):
        api.plan_file_bytes(solved, "tiny")
    with pytest.raises(InputError, match=r"result must be what fleetopt\.api\.evaluate returns first"):
        api.evaluation_summary(None, loaded, None)


def test_a_ray_address_without_the_ray_executor_is_refused(tiny_solved):
    """prepare_evaluation(..., ray_address=...) with the local executor dropped the address in
    silence (the CLI refuses --ray-address without --executor ray)."""
    _, solved = tiny_solved
    run = api.write_solve_run(solved)
    with pytest.raises(InputError, match=r"ray_address \(--ray-address\) applies with executor='ray'"):
        api.prepare_evaluation(run, scenarios=10, ray_address="1.2.3.4:6379")


def test_an_empty_path_is_said_to_be_empty(tiny_solved):
    """evaluate("") read the current folder ('.: no plan file in this folder', naming no argument),
    and write_solve_run(out="") said out "must be ... a string (got '')"."""
    _, solved = tiny_solved
    with pytest.raises(InputError, match="plans is empty: give a run folder, a plan file or a run id"):
        api.evaluate("", scenarios=10)
    with pytest.raises(InputError, match="out is empty: give a path"):
        api.write_solve_run(solved, out="")


def test_a_pair_of_two_models_is_refused():
    """solve((load("tiny")[0], load("lab")[1])) solved lab under tiny's name; the mismatch was found
    only when the run was written."""
    with pytest.raises(InputError, match=r"the pair's LoadedModel is 'tiny' and its data 'lab'"):
        api.solve((api.load("tiny")[0], api.load("lab")[1]))


def test_settings_an_evaluation_would_ignore_are_refused(tiny_solved, tmp_path, monkeypatch):
    """`prepare_evaluation(deterministic=True, seed=3)` and `(threads=4, workers=2)` ran, the extra
    setting ignored in silence (the CLI refused them, the API did not); a resume too."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    run = api.write_solve_run(tiny_solved[1], out=tmp_path / "solved")
    with pytest.raises(InputError, match=r"seed \(--seed\) cannot apply with deterministic=True"):
        api.prepare_evaluation(run, deterministic=True, seed=3)
    import numpy as np

    for workers in (2, np.int64(2)):  # a numpy integer's workers let threads be ignored in silence
        said = r"threads \(--threads\) cannot apply with workers 2: .*--workers 1"
        with pytest.raises(InputError, match=said):
            api.prepare_evaluation(run, scenarios=10, threads=1, workers=workers)
    with pytest.raises(InputError, match=r"threads \(--threads\) cannot apply"):
        api.resume_evaluation(tmp_path / "nowhere", threads=1, executor="ray")
    api.prepare_evaluation(run, deterministic=True)  # seed left at its default: fine


def test_numpy_integers_are_taken_as_ints():
    """A notebook's np.int64 seed raised OverflowError in a sweep's and a stochastic solve's next
    seed, and fo.runs(limit=np.int64(2)) told the user to move a healthy registry away (a review)."""
    import numpy as np

    from fleetopt.runs.limits import MAX_SEED, next_seed

    assert next_seed(np.int64(MAX_SEED)) == 0 and next_seed(np.int64(3)) == 4
    api.write_solve_run(api.solve("tiny"))  # a registry to read: an empty one is not queried
    assert len(api.runs(limit=np.int64(2))) == 1


def test_a_solve_result_whose_plan_was_changed_is_not_written(tmp_path):
    """`r.plan.buy_blocks *= 2` then write_solve_run recorded the solve's NPV for the doubled plan,
    which its report and compare then refused (a notebook user's review)."""
    result = api.solve("tiny")
    result.plan.buy_blocks[...] *= 2
    with pytest.raises(InputError, match=r"^result's plan was changed after its solve: its NPV is now "):
        api.write_solve_run(result, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_a_written_run_s_path_is_absolute(tmp_path, monkeypatch):
    """write_solve_run returned runs/... relative to the working folder: after a notebook's
    os.chdir it named another folder, or another run written there later (a review)."""
    monkeypatch.chdir(tmp_path)
    path = api.write_solve_run(api.solve("tiny"), out="rel")
    assert path == tmp_path / "rel" and path.is_absolute()
    assert api.report(path, out="page.html") == tmp_path / "page.html"


def test_resume_options_given_as_one_string_are_refused():
    """fo.sweep(resume_options="--x") split the string into its characters (the fuzz audit)."""
    with pytest.raises(InputError, match=r"resume_options must be a list of command-line tokens"):
        api.sweep("tiny", candidates=2, scenarios=20, resume_options="--report")


def test_every_class_and_function_the_api_docstrings_name_exists():
    """`load` and `edit` said they raise fleetopt.errors.ModelError, which does not exist (ModelError
    is fleetopt.schema.issues'): `except fleetopt.errors.ModelError` was an AttributeError."""
    import importlib
    import inspect
    import re

    def found(name: str, owner) -> bool:
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for part in parts[cut:]:
                    obj = getattr(obj, part)
            except AttributeError:
                return False
            return True
        # a name of the API (:func:`solve`), of the class documented, or of the module that defines it
        for obj in (api, owner, inspect.getmodule(owner)):
            try:
                for part in parts:
                    obj = getattr(obj, part)
                return True
            except AttributeError:
                continue
        return False

    owners = [api] + [getattr(api, name) for name in api.__all__]
    role = r":(?:class|func|data|meth|attr|mod):`~?([\w.]+)`"
    named = [(ref, owner) for owner in owners for ref in re.findall(role, inspect.getdoc(owner) or "")]
    assert named and sorted({ref for ref, owner in named if not found(ref, owner)}) == []


def test_a_sweep_result_given_as_a_run_is_told_to_be_written_first():
    """fo.evaluate(sweep) advised "compare it in memory: fleetopt.api.compare(result)", which refuses a
    SweepResult, and fo.compare([sweep, solved]) said runs and solve results were mixed ("not both")."""
    swept, solved = api.sweep("tiny", candidates=1, scenarios=5), api.solve("tiny")
    calls = ((lambda: api.evaluate(swept), "plans"), (lambda: api.compare([swept, solved]), "runs"))
    for call, name in calls:
        with pytest.raises(InputError, match=rf"^{name} must be a run folder, plan file or run id \(int\), "
                           r"not a SweepResult: write it as a run first \(.*write_sweep_run") as refused:
            call()
        assert str(refused.value).endswith("and give its folder")  # compare takes no SweepResult as it is


def test_a_folder_given_where_the_model_goes_is_said_to_be_out(tiny_solved, here):
    """write_solve_run(result, "runs/x") (as write_sweep_run(result, "runs/x") is written) said only
    that loaded must be a LoadedModel (got str): the folder to write to is out=."""
    _, solved = tiny_solved
    with pytest.raises(InputError, match=r"^loaded must be the LoadedModel .*\(got str '.*x': a folder to "
                       r"write the run to is out=, e.g. out='.*x'\)$"):
        api.write_solve_run(solved, str(here / "x"))
    assert not (here / "x").exists()


def test_every_public_method_and_property_of_the_apis_classes_says_what_it_is():
    """help(fo.SweepResult) showed nothing for ``recommended`` and ``forecast_optimum``, the two rows
    a notebook reads first."""
    import inspect

    undocumented = [
        f"{cls.__name__}.{name}"
        for cls in (getattr(api, name) for name in api.__all__)
        if inspect.isclass(cls) and not issubclass(cls, BaseException)
        for name, member in vars(cls).items()
        if not name.startswith("_") and (callable(member) or isinstance(member, property))
        and not inspect.getdoc(member)
    ]
    assert undocumented == []



def test_every_function_of_the_api_says_what_it_returns():
    """help(fo.resume_sweep), help(fo.solve_stochastic) and help(fo.read_run), among 27, did not say
    what they return (a SweepResult, a StochasticResult, a RunData): a notebook user learnt it from
    the repr. Each says "Returns" or "return", with the class its annotation names first."""
    import inspect

    silent = []
    for name in api.__all__:
        function = getattr(api, name)
        if not inspect.isfunction(function):
            continue
        doc = inspect.getdoc(function)
        returned = str(inspect.signature(function).return_annotation).replace("None", "")
        named = re.findall(r"\b[A-Z]\w*", returned)
        if not re.search(r"\b[Rr]eturns?\b", doc) or (named and named[0] not in doc):
            silent.append(name)
    assert silent == []

def test_a_run_record_names_its_run_wherever_a_run_is_taken(two_runs):
    """fo.compare(record) was refused ("must be a run folder, run id or plan file ... got a
    RunRecord"), though compare([record]), evaluate(record) and report(record) take one."""
    first, second = api.runs(limit=2)
    import numpy as np

    # one solve run: one plan, read from its folder either way; a run id from a table of fo.runs()
    # (a numpy integer) was refused as "got a int64" too
    for given in (first, [first], np.int64(first.id)):
        with pytest.raises(InputError, match=r"^compare needs at least two plans .*a sweep's or a "
                           r"stochastic solve's folder alone gives two"):  # fmt: skip
            api.compare(given, scenarios=SCENARIOS)
    assert api.compare([first, second], scenarios=SCENARIOS).runs == [str(first.path), str(second.path)]


def test_the_errors_a_caller_catches_and_the_types_returned_are_the_apis_own_names():
    """A notebook caught ``fo.ModelError`` (AttributeError: fleetopt.api had no such name) and could not
    name the PlanSource fo.evaluate returns or the RuleNotMet fo.sweep raises without knowing their
    modules (an API review)."""
    with pytest.raises(api.ModelError):
        api.edit("tiny", {"horizon.discount_rate_annual": -5})
    assert issubclass(api.ModelError, api.InputError) and issubclass(api.InputError, api.FleetoptError)
    assert issubclass(api.RuleNotMet, api.InputError)
    assert {"PlanSource", "LoadedModel"} <= set(api.__all__)


def test_every_name_the_one_file_api_gave_is_still_given():
    """fleetopt/api.py became a package: `from fleetopt.api import __version__` (a name api.py took
    from fleetopt, as a notebook records which version made its figures) raised ImportError."""
    import fleetopt
    from fleetopt.api import __version__

    assert __version__ == fleetopt.__version__


def test_a_solves_purchases_name_is_one_line_as_a_comparisons_label_is(tiny_solved):
    """fo.solve(purchases={"plan\\nA": orders}) named the plan "milp, purchases fixed (plan\\nA)",
    which a comparison's Markdown and the terminal's tables then split over two lines (a label
    given to compare is refused so)."""
    loaded, solved = tiny_solved
    orders = solved.plan_frame().query("decision == 'buy_gpus'")
    message = r"^purchases \(a name\) must be one line of text, without control characters \(got 'plan\\nA'"
    with pytest.raises(InputError, match=message):
        api.solve(loaded, purchases={"plan\nA": orders})
    # a sweep's named proposal alike (it labelled a candidate "yours: plan\nA"), before any solve
    with pytest.raises(InputError, match=message):
        api.sweep(loaded, candidates=2, scenarios=20, purchases={"plan\nA": orders})


def test_solve_results_of_two_versions_of_a_model_are_named_with_their_edits_when_refused():
    """fo.compare([base, mine]) of a solve and one of an edited copy said only "of different
    models (or versions of one): give model= (say the first one's LoadedModel)": it names each
    result's version (the fields edited, the hash) and how to give one (model=result.loaded)."""
    edited = api.edit("tiny", {"sites.texas.power_capacity_mw": 30})
    base, mine = api.solve("tiny"), api.solve(edited)
    with pytest.raises(InputError) as refused:
        api.compare([base, mine], labels=["forecast optimum", "mine"])
    assert str(refused.value) == (
        "the solve results compared were solved from different versions of model 'tiny' ('forecast "
        f"optimum': tiny, hash {base.loaded.content_hash}; 'mine': tiny (edited: "
        f"sites.texas.power_capacity_mw), hash {edited.content_hash}): give model=, the version every "
        "plan is evaluated under (one result's own: model=result.loaded; or fleetopt.api.edit(...))"
    )


def test_what_a_model_argument_may_be_is_said_where_help_shows_it():
    """help(fo.solve) said "``model``: see :data:`ModelArg`", and help(fo.ModelArg) shows Python's
    "Represent a PEP 604 union type": what a model may be was nowhere help() shows, and the list
    there named three of the four bundled models (not twosite). help(fo.load) says it now, and
    each function taking a model says what it is, pointing there."""
    import inspect

    from fleetopt.schema.model_file import bundled_model_names

    said = inspect.getdoc(api.load)
    assert all(f'"{name}"' in said for name in bundled_model_names()) and "None, the default model" in said
    def takes_a_model(name: str) -> bool:  # runs(model=NAME) takes a model's name: not one of these
        given = inspect.signature(getattr(api, name)).parameters.get("model")
        return given is not None and "ModelArg" in str(given.annotation)

    functions = [name for name in api.__all__ if inspect.isfunction(getattr(api, name))]
    taking = [name for name in functions if takes_a_model(name)]
    assert {"solve", "solve_stochastic", "evaluate", "compare", "scenario_path", "edit", "sweep"} <= set(
        taking)
    for name in taking:
        doc = inspect.getdoc(getattr(api, name))
        assert "ModelArg" not in doc, name
        assert "``model``" in doc and (":func:`load`" in doc or name == "load"
                                       or re.search(r":func:`(solve|evaluate)`", doc)), name


def test_a_comparison_given_for_a_report_is_told_where_its_page_is(tiny_solved):
    """fo.report(comparison), a planner's "write a report" of the comparison made in a notebook,
    said only "run must be a run folder, plan file or run id (int), not a Comparison (...)"."""
    _, solved = tiny_solved
    comparison = api.compare([solved, solved], scenarios=SCENARIOS)
    with pytest.raises(InputError, match=r"not a Comparison: .*fleetopt\.api\.comparison_html\(comparison\)"):
        api.report(comparison)


def test_a_seed_other_than_an_evaluations_own_is_refused_by_scenario_path(tiny_solved, tmp_path):
    """fo.scenario_path(EVALUATION, 0, seed=2) of an evaluation of seed 1 followed scenario 0 of seed
    2 under the evaluation's count, a scenario the evaluation never ran (another NPV than its
    matrix's), where scenarios= other than its own was refused: the seed is refused so too."""
    loaded, solved = tiny_solved
    run = api.write_solve_run(solved, loaded, tmp_path / "S")
    result, model, plans = api.evaluate(run, scenarios=SCENARIOS, seed=1, keep_matrix=True)
    folder = api.write_evaluate_run(result, model, plans, tmp_path / "E")
    assert api.scenario_path(folder, 3, seed=1).npv_usd == result.npv_matrix[0, 3]
    message = (rf"^seed \(--seed\) must be 1, the seed the run {folder} evaluated, or left out \(got 2\); "
               rf"to follow its plans in the scenarios of seed 2, give their plan file, {run}/plan.npz$")
    with pytest.raises(InputError, match=message):
        api.scenario_path(folder, 3, seed=2)
    assert api.scenario_path(run / "plan.npz", 3, seed=2).seed == 2


def test_two_runs_given_to_compare_as_two_arguments_are_told_to_go_in_one_list(two_runs):
    """fo.compare(run_a, run_b), a planner's first try at comparing two plans, read run_b as the
    model: "is a folder, not a model file" (a run id: "got a value of type int"); evaluate(run_a,
    run_b) alike. Each now says the runs go in one list."""
    first, second = two_runs
    in_one_list = r"the runs to compare go in one list, fleetopt\.api\.compare\(\[RUN_A, RUN_B\]\)"
    its_model = rf"names a run, not a model \(its model: {second}/model.yaml\)"
    folder = rf"^model \(--model\): '{second}' \(a run folder\) {its_model}: {in_one_list}"
    with pytest.raises(InputError, match=folder):
        api.compare(first, second)
    run_id = rf"^model \(--model\): {api.run_id(second)} \(a run id\) names a run, not a model: {in_one_list}"
    with pytest.raises(InputError, match=run_id):
        api.compare(first, api.run_id(second))
    with pytest.raises(InputError, match=rf"^model: run \d+'s record {its_model}: evaluate takes "):
        api.evaluate(first, api.run(second))
    assert len(api.compare([first, second], "tiny", scenarios=SCENARIOS).labels) == 2  # a model's name still


def test_a_bundled_model_s_name_beside_a_run_folder_of_that_name_is_the_bundled_model(here, tiny_solved):
    """`fleetopt solve tiny --out tiny` makes a run folder named tiny; the model 'tiny' is still the
    bundled model there (the loader warns the folder is not read). The check that refuses a run given
    as a model refused it: "'tiny' (a run folder) names a run, not a model", from Python and the CLI."""
    loaded, solved = tiny_solved
    run = api.write_solve_run(solved, loaded, here / "tiny")
    with pytest.warns(UserWarning, match="'tiny' is the bundled model; the folder"):
        compared = api.compare([run, run / "plan.npz"], "tiny", scenarios=SCENARIOS)
    assert len(compared.labels) == 2
    with pytest.warns(UserWarning, match="'tiny' is the bundled model; the folder"):
        result, _, _ = api.evaluate(run, model="tiny", scenarios=SCENARIOS)
    assert result.metrics.shape[0] == 1
    with pytest.raises(InputError, match=r"'tiny/' \(a run folder\) names a run, not a model"):
        api.compare([run, run / "plan.npz"], "tiny/", scenarios=SCENARIOS)  # a path to the folder: the run


def test_a_misspelt_keyword_is_refused_with_the_one_meant(tiny_solved):
    """fo.evaluate(run, n_scenarios=300) was Python's TypeError "got an unexpected keyword argument",
    which named no keyword evaluate takes; fo.sweep("lab", prefer="mean") did not say prefer is the
    rule's."""
    _, solved = tiny_solved
    with pytest.raises(InputError, match=r"^fleetopt\.api\.evaluate has no argument 'n_scenarios': did you "
                       r"mean 'scenarios'\? \(its arguments: plans, model, scenarios, seed, "):
        api.evaluate("runs/x", n_scenarios=300)
    with pytest.raises(InputError, match=r"^fleetopt\.api\.write_solve_run has no argument 'out_dir': did "
                       r"you mean 'out'\?"):
        api.write_solve_run(solved, out_dir="x")
    with pytest.raises(InputError, match=r"^fleetopt\.api\.sweep has no argument 'prefer': it is a field of "
                       r"the rule: rule=fleetopt\.api\.Rule\(prefer=\.\.\.\)$"):
        api.sweep("tiny", prefer="mean")
    # a word of the name meant (the stochastic solve's seed is its scenarios'), not the nearest spelling
    with pytest.raises(InputError, match=r"^fleetopt\.api\.solve_stochastic has no argument 'seed': did you "
                       r"mean 'scenario_seed'\?"):
        api.solve_stochastic("tiny", 5, seed=1)
    # a plural's missing letter is still the name meant, not a longer name the key is a word of (review)
    with pytest.raises(InputError, match=r"has no argument 'scenario': did you mean 'scenarios'\?"):
        api.solve_stochastic("tiny", scenario=5)
    with pytest.raises(InputError, match=r"has no argument 'run': did you mean 'runs'\?"):
        api.forget_runs(run=3)
    with pytest.raises(InputError, match=r"^fleetopt\.api\.solve_stochastic takes at most 2 arguments by "
                       r"position \(model, scenarios\): name the others"):
        api.solve_stochastic("tiny", 3, 2)


def test_every_function_of_the_api_refuses_an_argument_it_lacks_by_name():
    """Each public function, before it does any work: an InputError naming the keyword, not a TypeError."""
    import inspect

    functions = [getattr(api, name) for name in api.__all__ if inspect.isfunction(getattr(api, name))]
    assert len(functions) > 30
    for function in functions:
        with pytest.raises(InputError, match=rf"^fleetopt\.api\.{function.__name__} has no argument "
                           r"'not_an_argument' \(its arguments: "):
            function(not_an_argument=1)
        with pytest.raises(InputError, match=rf"^fleetopt\.api\.{function.__name__}"):
            function(*range(len(inspect.signature(function).parameters) + 1))


def test_a_sweeps_command_line_options_are_told_where_they_go_and_a_rule_is_taken_whole(here):
    """A notebook user carrying `fleetopt sweep`'s options over: fo.sweep(out=...) and
    fo.sweep(allow_riskier=True) named no argument of the sweep's; fo.resume_sweep(folder,
    rule_changes=fo.Rule(...)) and fo.rerank_sweep(folder, fo.Rule(...)), the rule as fo.sweep takes it,
    were refused as "not a Rule", and rule= named no argument. A Rule is now the whole rule: tiny's
    plans all breach in most futures, so a 5 % limit is met by none; the same sweep finished with a
    rule of no limits picks the candidate of highest mean NPV of all, and reranked, of highest CVaR5."""
    with pytest.raises(InputError, match=r"^fleetopt\.api\.sweep has no argument 'out': the folder it saves "
                       r"in as it goes \(`fleetopt sweep --out`\) is folder="):
        api.sweep("tiny", out="x")
    with pytest.raises(InputError, match=r"^fleetopt\.api\.sweep has no argument 'allow_riskier': `fleetopt "
                       r"sweep --allow-riskier` is the rule's no_riskier_than_optimum=False: "
                       r"rule=fleetopt\.api\.Rule\(no_riskier_than_optimum=False\)$"):
        api.sweep("tiny", allow_riskier=True)
    with pytest.raises(InputError, match=r"^fleetopt\.api\.rerank_sweep has no argument 'rule': the rule is "
                       r"rule_changes: a fleetopt\.api\.Rule \(the whole rule\)"):
        api.rerank_sweep("x", rule=api.Rule())
    folders = []
    with pytest.raises(api.RuleNotMet, match="no candidate meets the rule"):
        api.sweep("tiny", candidates=3, scenarios=SCENARIOS, rule=api.Rule(max_breach_prob=0.05), folder=True,
                  on_folder=folders.append)  # fmt: skip
    no_limits = {"forecast_within_limits": False, "no_riskier_than_optimum": False}
    finished = api.resume_sweep(folders[0], rule_changes=api.Rule(prefer="mean", **no_limits))
    assert finished.recommended["npv_mean_usd"] == finished.metrics["npv_mean_usd"].max()  # no breach limit
    reranked = api.rerank_sweep(api.write_sweep_run(finished), api.Rule(**no_limits))
    assert reranked.recommended["npv_cvar5_usd"] == reranked.metrics["npv_cvar5_usd"].max()  # ties: by mean
    assert reranked.rule == api.Rule(**no_limits)


def test_compare_takes_the_run_ids_of_a_runs_frame_and_refuses_a_second_result_as_the_model(two_runs,
                                                                                            tiny_solved):
    """An analyst picks runs from fo.runs().runs_frame() and compares them: its id column was refused
    ("not a Series of 2 values"); fo.compare(result_a, result_b) read result_b as the model and said
    "compare needs at least two plans", though two were given; out= (`fleetopt compare --out`) named
    no argument of compare's."""
    _, solved = tiny_solved
    ids = api.runs(kind="solve").runs_frame()["id"]  # the two runs, newest first
    with pytest.warns(FleetoptWarning, match="are the same plan"):  # one solve written twice
        compared = api.compare(ids, scenarios=SCENARIOS)
    assert [Path(name.split(":")[0]).name for name in compared.labels] == ["B", "A"]
    with pytest.raises(InputError, match=r"^model \(--model\) is a SolveResult, a plan, not a model: the "
                       r"plans to compare go in one list, fleetopt\.api\.compare\(\[result_a, result_b\]\)"):
        api.compare(solved, solved)
    with pytest.raises(InputError, match=r"^fleetopt\.api\.compare has no argument 'out': its files are the "
                       r"comparison's: comparison\.to_csv\(path\)"):
        api.compare(ids, out="c.html")

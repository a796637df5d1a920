"""A resumed job's options (a ranking, --report) read back by the retry of the same command."""

from __future__ import annotations

from conftest import run_cli

from fleetopt import api


def test_a_resume_finished_with_a_new_ranking_is_retried_with_it_and_refuses_another(solve_run, here):
    """An evaluation started without a ranking and finished by `evaluate --resume B --rank-by mean`
    ranks its plans by mean (its summary.json's ranking). The retry of that command said
    "--rank-by mean cannot apply with --resume of B" (exit 2), while `--rank-by cvar5`, a ranking it
    did not finish with, said "nothing to resume" (exit 0): the check read the options its job.json
    kept from the start, not those it finished with. Now the retry is no change, and cvar5 is refused."""
    job = api.prepare_evaluation(solve_run, scenarios=10, seed=3)
    job.start(here / "B")  # started, stopped before any chunk: a job to resume
    code, out, err = run_cli("evaluate", "--resume", "B", "--rank-by", "mean")
    assert code == 0, out + err
    assert api.read_run(here / "B").summary["ranking"]["rank_by"] == "mean"
    code, out, err = run_cli("evaluate", "--resume", "B", "--rank-by", "mean")
    assert code == 0 and "nothing to resume" in " ".join(out.split()), out + err
    code, out, err = run_cli("evaluate", "--resume", "B", "--rank-by", "cvar5")
    assert code == 2 and "--rank-by cvar5 cannot apply with --resume of B" in " ".join(err.split()), out + err

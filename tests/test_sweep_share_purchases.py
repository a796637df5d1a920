"""`fleetopt sweep --stochastic N --share-purchases`: the stochastic candidate of `solve --stochastic N
--share-purchases`, refused without --stochastic as `solve` refuses it, and kept by the sweep's files
and its record."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.errors import InputError
from fleetopt.evaluate.planfile import load_plans
from fleetopt.sweep.candidate_record import Candidate
from fleetopt.sweep.candidates import generate_candidates
from fleetopt.sweep.stochastic_candidate import StochasticCandidate

SHARED = "stochastic: 2 scenarios, every purchase shared"


def test_the_sweep_s_shared_candidate_is_solve_share_purchases_plan_and_is_kept(tmp_path):
    """`sweep tiny --candidates 2 --stochastic 2 --share-purchases` (seed 1): its second candidate is
    labelled as sharing every purchase, its note says what is shared, and its plan is, decision for
    decision, that of `solve --stochastic 2 --share-purchases` on the sweep's seed + 1 (2), the
    scenarios its candidate is reduced from. job.json (for a resume), summary.json and the run's
    record keep the setting, and a re-ranking's summary carries it over."""
    out = tmp_path / "sweep"
    code, text, err = run_cli("sweep", "tiny", "--candidates", "2", "--scenarios", "50", "--seed", "1",
                              "--stochastic", "2", "--share-purchases", "--out", str(out))  # fmt: skip
    assert code == 0, text + err
    listed = json.loads((out / "candidates.json").read_text())
    candidate = next(c for c in listed if c["origin"] == "stochastic")
    assert candidate["label"] == SHARED and candidate["status"] == "optimal"
    assert "first stage quarters 0-3 and every later purchase, power block and draw" in candidate["note"]
    solved = api.solve_stochastic("tiny", 2, scenario_seed=2, share_purchases=True, out_of_sample=0)
    plans, labels, _ = load_plans(out / "plans.npz", api.load("tiny")[1])
    assert plans[labels.index(SHARED)].decisions_key() == solved.plan.decisions_key()
    assert json.loads((out / "job.json").read_text())["stochastic_share_purchases"] is True
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stochastic_scenarios"] == 2 and summary["stochastic_share_purchases"] is True
    (record,) = api.runs(kind="sweep")
    assert record.figures["stochastic_share_purchases"] is True
    assert record.figures["stochastic_scenarios"] == 2
    reranked = api.rerank_sweep(out).summary()
    assert reranked["stochastic_share_purchases"] is True and reranked["stochastic_scenarios"] == 2


def test_a_sweep_without_sharing_says_so_and_one_without_a_stochastic_candidate_says_nothing():
    """The default stochastic candidate keeps its label, and the summary records that it shares
    nothing later; a sweep without --stochastic records neither."""
    result = api.sweep("tiny", candidates=2, scenarios=20, seed=1, stochastic=2)
    assert result.candidates.candidates[1].label == "stochastic: 2 scenarios"
    summary = result.summary()
    assert summary["stochastic_scenarios"] == 2 and summary["stochastic_share_purchases"] is False
    plain = api.sweep("tiny", candidates=1, scenarios=20, seed=1).summary()
    assert "stochastic_scenarios" not in plain and "stochastic_share_purchases" not in plain


@pytest.mark.parametrize(
    "args, words",
    [
        ((), "--share-purchases cannot apply without --stochastic N"),  # as `solve` says it
        (("--resume", "X"), "--share-purchases cannot apply with --resume"),  # its job.json's setting
        (("--rerank", "X"), "--share-purchases cannot apply with --rerank"),
    ],
)
def test_share_purchases_is_refused_where_no_new_stochastic_candidate_is_solved(tmp_path, args, words):
    out = tmp_path / "sweep"
    code, text, err = run_cli("sweep", "tiny", "--share-purchases", *args, "--out", str(out))
    assert code == 2 and words in " ".join(err.split()), text + err
    assert "Traceback" not in err and not out.exists()


def test_the_api_refuses_sharing_without_a_stochastic_candidate(tmp_path):
    with pytest.raises(InputError, match=r"share_purchases \(--share-purchases\) cannot apply without"):
        api.sweep("tiny", candidates=2, scenarios=20, share_purchases=True, folder=tmp_path / "sweep")
    with pytest.raises(InputError, match=r"share_purchases \(--share-purchases\) must be true or false"):
        api.sweep("tiny", candidates=2, scenarios=20, stochastic=2, share_purchases="yes")
    assert not (tmp_path / "sweep").exists()


def test_a_saved_stochastic_plan_of_the_other_setting_is_not_taken(monkeypatch):
    """A sweep takes a saved candidate by its label: the plan its scenarios solved without sharing,
    saved as "stochastic: 2 scenarios", is not the shared candidate's, which is solved, sharing."""
    import fleetopt.sweep.stochastic_candidate as stochastic_module  # whose calls the patch changes

    asked = []

    def no_plan(data, n, **settings):
        asked.append(settings["share_purchases"])
        raise stochastic_module.NoPlanError("stood in for")

    monkeypatch.setattr(stochastic_module, "solve_stochastic", no_plan)
    _, data = api.load("tiny")
    unshared = StochasticCandidate(2, 2)
    forecast = generate_candidates(data, 1).candidates[0]
    saved = [forecast, Candidate(unshared.label, "stochastic", "optimal", forecast.plan, note="saved")]
    shared = StochasticCandidate(2, 2, share_purchases=True)
    made = generate_candidates(data, 2, stochastic=shared, saved=saved).candidates
    assert asked == [True]
    assert [(c.label, c.status) for c in made[:2]] == [(forecast.label, "optimal"), (SHARED, "no_plan")]


def test_a_resumed_sweep_solves_its_stochastic_candidate_sharing_as_it_started(tmp_path, monkeypatch):
    """Stopped after the forecast optimum, a sweep started with share_purchases resumes from its
    job.json with it: the stochastic candidate is solved sharing, and labelled so. A job.json from
    before the setting was kept (no field) resumes without sharing."""
    import fleetopt.sweep.stochastic_candidate as stochastic_module  # whose calls the patch changes

    asked = []

    def no_plan(data, n, **settings):
        asked.append(settings["share_purchases"])
        raise stochastic_module.NoPlanError("stood in for")

    def stop_after_the_forecast(line: str) -> None:
        if line.startswith("milp: forecast"):
            raise KeyboardInterrupt

    monkeypatch.setattr(stochastic_module, "solve_stochastic", no_plan)
    for shared, folder in ((True, tmp_path / "shared"), (False, tmp_path / "older")):
        with pytest.raises(KeyboardInterrupt):
            api.sweep("tiny", candidates=3, scenarios=20, folder=folder, stochastic=2, share_purchases=shared,
                      candidate_progress=stop_after_the_forecast)  # fmt: skip
        if not shared:  # as a sweep started before the setting was kept wrote its job.json
            job = json.loads((folder / "job.json").read_text())
            del job["stochastic_share_purchases"]
            (folder / "job.json").write_text(json.dumps(job))
        made = api.resume_sweep(folder).candidates.candidates
        assert made[1].label == (SHARED if shared else "stochastic: 2 scenarios")
    assert asked == [True, False]

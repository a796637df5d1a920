"""Progress of long runs on the terminal: a MILP's best plan and gap as HiGHS finds them (a solve
with a 10-minute --time-limit said nothing until its end), a sweep's candidates counted as they are
made; never on stdout, and only where stderr is a terminal."""

from __future__ import annotations

import io
import re
import tempfile
from types import SimpleNamespace

import pytest
from conftest import run_cli
from rich.console import Console

from fleetopt import api
from fleetopt.cli.render.progress import progress_bar, solve_lines, solving_line
from fleetopt.errors import FleetoptWarning
from fleetopt.milp.highs import MipProgress, mip_progress
from fleetopt.sweep.candidate_record import Candidate
from fleetopt.sweep.candidates import _Making

# tiny's forecast optimum (docs/formulation.md's worked example): NPV -$14.1M
TINY_NPV = -14.11e6


def test_a_solve_reports_each_better_plan_highs_finds():
    seen: list[MipProgress] = []
    with mip_progress(seen.append, every=0):  # no timer: only the plans found
        result = api.solve("tiny")
    found = [p for p in seen if p.best is not None]
    assert found and all(p.seconds >= 0 for p in seen)
    # in USD, in the model's sense (NPV maximised: negative here), its last the plan solved
    assert found[-1].best == pytest.approx(result.objective_usd, rel=1e-5)
    assert found[-1].best == pytest.approx(TINY_NPV, rel=1e-3)
    assert all(p.bound is None or p.bound >= p.best - 1e-6 * abs(p.best) for p in found)
    seen.clear()
    api.solve("tiny")
    assert seen == [], "out of the block, no solve reports"


def test_the_line_says_time_best_plan_with_its_unit_and_gap():
    # gap |18.72 - 18.69| / 18.69 = 0.16 %
    assert solving_line(MipProgress(90.4, 18.69e9, 18.72e9), "NPV") == (
        "solving: 0:01:30, best plan so far: NPV $18.69B, gap 0.16%"
    )
    # under a minute in seconds, as every duration is written (units.format_duration)
    assert solving_line(MipProgress(30.0), "NPV") == "solving: 30 s, no plan found yet"
    # a cost solve's objective holds the fleet held at the start, a constant HiGHS is not given
    assert solving_line(MipProgress(3725.0, 5.0e6), "present cost", offset=1.0e6) == (
        "solving: 1:02:05, best plan so far: present cost $6.0M"
    )


def test_lines_come_every_so_often_and_not_for_a_short_run():
    now, out = [0.0], io.StringIO()
    with solve_lines(Console(file=io.StringIO()), "NPV", every=15, clock=lambda: now[0], stream=out) as lines:
        for t in (5, 15, 20, 30, 31):  # a run's seconds, the clock's too
            now[0] = t
            lines.report(MipProgress(t, 1.0e9, 1.01e9))
    assert out.getvalue().splitlines() == [
        "  solving: 15 s, best plan so far: NPV $1.00B, gap 1.00%",
        "  solving: 30 s, best plan so far: NPV $1.00B, gap 1.00%",
    ]


@pytest.mark.parametrize("terminal", [True, False])
def test_lines_reach_the_terminal_through_the_solve_and_nothing_else(terminal):
    """Pyomo captures descriptors 1 and 2 while HiGHS runs: the lines go to a copy of stderr's."""
    with tempfile.TemporaryFile("w+") as stderr:
        console = Console(file=stderr, force_terminal=terminal)
        with solve_lines(console, "NPV", every=0):
            api.solve("tiny")
        stderr.seek(0)
        written = stderr.read().splitlines()
    if terminal:
        assert written and all(re.match(r"  solving: (under )?[0-9.]+ s, ", s) for s in written), written
        assert written[-1].endswith("best plan so far: NPV -$14.1M")
    else:
        assert written == []


def test_a_sweep_counts_its_candidates_with_a_plan_as_they_are_made():
    lines: list[str] = []
    api.sweep("tiny", candidates=5, scenarios=5, candidate_progress=lines.append)
    # the gap HiGHS stops within (below --mip-gap) may move with its version: not pinned
    lines = [re.sub(r"within [0-9.]+%", "within GAP", line) for line in lines]
    assert lines == [
        "milp: forecast: optimal (1 of 5)",
        "milp: forecast, cash buffer $30.0M: optimal (2 of 5)",
        "milp: forecast, cash buffer $60.0M: optimal (3 of 5)",
        "milp: forecast, planned with cash buffer $30.0M: optimal within GAP (relative gap) (4 of 5)",
        # no plan holds $60M above tiny's minimum every quarter: not counted
        "milp: forecast, planned with cash buffer $60.0M: dropped: no plan holds that much cash above "
        "finance.min_cash_usd every quarter on the forecast",
        "milp: price shock: optimal (5 of 5)",
        # the second round: the pick's own buffer planned, beyond the five
        "milp: price shock, planned with cash buffer $30.0M: optimal within GAP (relative gap)",
        "milp: price shock, planned with cash buffer $60.0M: dropped: no plan holds that much cash above "
        "finance.min_cash_usd every quarter under milp: price shock's stress",
    ]


def test_the_sweep_command_prints_the_count_on_stdout_and_no_progress_off_a_terminal(here):
    code, out, err = run_cli("sweep", "tiny", "--candidates", "2", "--scenarios", "5", "--out", "S")
    assert code == 0, err
    assert [line.strip() for line in out.splitlines()[1:3]] == [
        "candidate milp: forecast: optimal (1 of 2)",
        "candidate milp: forecast, cash buffer $30.0M: optimal (2 of 2)",
    ]
    assert "solving:" not in out + err and "evaluating" not in out + err


def test_a_candidate_stopped_by_the_time_limit_gives_its_gap():
    """It read 'candidate milp: forecast: time limit reached (the best plan found; its gap beside
    it)', with no gap beside it (the neocloud sweep's with --time-limit 35: 0.68 %)."""
    _, data = api.load("tiny")
    plan, lines = api.solve(data).plan, []
    making = _Making(data, 3, {}, None, lines.append, None)
    stopped = Candidate("milp: forecast", "forecast", "time_limit", plan, gap=0.0068)
    making.make(stopped.label, lambda: stopped)
    assert lines == [
        "milp: forecast: time limit reached (the best plan found; its gap beside it), gap 0.68% (1 of 3)"
    ]


def test_a_stochastic_solve_says_which_of_its_solves_each_line_is_of():
    """A stochastic solve runs the forecast optimum, RP, EEV and WS one after the other, each timed
    from its own start: their lines read alike ('solving: 30 s, ...'). Each now names its solve."""
    seen: list[MipProgress] = []
    with mip_progress(seen.append, every=0):  # each run reported as it starts
        api.solve_stochastic("tiny", 2, first_stage_quarters=2, out_of_sample=0)
    stages = list(dict.fromkeys(p.stage for p in seen))
    assert stages == ["the forecast optimum (EV)", "RP (the stochastic plan)",
                      "EEV (the forecast's first stage in the scenarios)", "WS (each scenario on its own)",
                      "the plan's first stage completed on the forecast"], stages  # fmt: skip
    assert solving_line(MipProgress(30.0, stage="RP (the stochastic plan)"), "objective") == (
        "solving RP (the stochastic plan): 30 s, no plan found yet"
    )
    # the forecast optimum's objective is its NPV, not the two-stage objective the command names
    assert {p.called for p in seen if p.stage == "the forecast optimum (EV)"} == {"NPV"}
    ev = MipProgress(30.0, -14.1e6, stage="the forecast optimum (EV)", called="NPV")
    assert solving_line(ev, "objective").endswith("best plan so far: NPV -$14.1M")


@pytest.mark.filterwarnings("ignore:.*cannot run it all")  # a fleet beyond its site's power, on purpose
def test_a_diagnosis_says_how_long_it_has_run_and_no_value():
    """After 'infeasible', the diagnosis (up to twice the time limit and a minute on a large model)
    printed nothing: its runs are reported, named, and their lines give the time alone, since the
    objective they improve is a weighted shortfall, not a plan's NPV."""
    from fleetopt.milp.diagnose import DIAGNOSING

    seen: list[MipProgress] = []
    with mip_progress(seen.append, every=0), pytest.raises(api.InfeasibleModel):
        api.solve(api.edit("tiny", {"sites.texas.power_capacity_mw": 5}))
    diagnosing = [p for p in seen if p.stage == DIAGNOSING]
    assert diagnosing and not any(p.priced for p in diagnosing)
    line = solving_line(MipProgress(95.0, 123.0, 100.0, DIAGNOSING, priced=False), "NPV")
    assert line == f"solving {DIAGNOSING}: 0:01:35"


def test_an_evaluation_off_a_terminal_says_where_it_stands_each_minute_without_the_chunks_read_back():
    """Under `docker logs` or a batch system's log an evaluation said nothing until it ended, however
    long it ran (the bar is for terminals); and a resume counted the chunks it read back in its rate
    ("232.1 plans/s" for about 27). 300 plans of 10 scenarios, 227 read back at once, then 30 more
    plans (300 pairs) in 60 s: 0.5 plans/s, 43 plans left, 86 s."""
    now = [0.0]
    log = io.StringIO()
    bar = progress_bar(Console(file=io.StringIO()), 10, lines=Console(file=log, width=200), every=60,
                       clock=lambda: now[0])  # fmt: skip
    with bar as advance:
        advance.read_back(2270, 3000)  # the saved chunks
        now[0] = 30.0
        advance(100, 3000)  # before the minute: no line of where it stands
        resuming = "  resuming: 1 chunk saved earlier, 2,270 of 3,000 plan-scenario pairs (76%)\n"
        assert log.getvalue() == resuming
        now[0] = 60.0
        advance(200, 3000)
    said = "  evaluating: 257 of 300 plans (86%), 0:01:00, 0.5 plans/s, about 0:01:26 left\n"
    assert log.getvalue() == resuming + said


def test_a_resume_off_a_terminal_says_the_blocks_of_an_unfinished_chunk_it_goes_on_from():
    """A resume that goes on from the first blocks of an unfinished chunk (its rows kept) said them
    as a chunk saved: 'resuming: 1 chunk saved earlier' for 350 of 1,000 scenarios of one plan, and
    with a saved chunk of 80,000 pairs before it, '2 chunks'. Now: part of 1 chunk."""
    for saved, said in [(0, "part of 1 chunk saved earlier, 350 of 1,000"),
                        (80_000, "1 chunk and part of 1 saved earlier, 80,350 of 81,000")]:  # fmt: skip
        log = io.StringIO()
        with progress_bar(Console(file=io.StringIO()), 1000, lines=Console(file=log, width=200)) as advance:
            if saved:
                advance.read_back(saved, saved + 1000)
            advance.read_back_part(350, saved + 1000)
            advance(50, saved + 1000)
        assert f"  resuming: {said} plan-scenario pairs" in log.getvalue(), log.getvalue()


def test_a_resume_off_a_terminal_says_at_its_start_what_was_saved_earlier():
    """A resumed evaluation under a batch log said nothing of the chunks saved earlier until its first
    minute's line or its end. 3 chunks of 80,000 pairs, 2 read back: one line as the third's first
    pairs come, not again; a resume with nothing saved says none."""
    log = io.StringIO()
    with progress_bar(Console(file=io.StringIO()), 1000, lines=Console(file=log, width=200)) as advance:
        advance.read_back(80_000, 240_000)
        advance.read_back(80_000, 240_000)
        assert log.getvalue() == ""  # more may come
        advance(1000, 240_000)
        advance(1000, 240_000)
    said = "  resuming: 2 chunks saved earlier, 160,000 of 240,000 plan-scenario pairs (67%)\n"
    assert log.getvalue() == said
    log = io.StringIO()
    with progress_bar(Console(file=io.StringIO()), 1000, lines=Console(file=log, width=200)) as advance:
        advance.read_back(240_000, 240_000)  # all saved: said at the end
    assert "resuming: 1 chunk saved earlier, 240,000 of 240,000" in log.getvalue()
    log = io.StringIO()
    with progress_bar(Console(file=io.StringIO()), 1000, lines=Console(file=log, width=200)) as advance:
        advance(1000, 240_000)
    assert log.getvalue() == ""


def test_an_evaluation_on_a_terminal_gets_the_bar_not_the_lines():
    now = [0.0]
    log = io.StringIO()
    terminal = Console(file=io.StringIO(), force_terminal=True)
    with progress_bar(terminal, 10, lines=Console(file=log), every=60, clock=lambda: now[0]) as advance:
        advance(10, 3000)
        now[0] = 120.0
        advance(10, 3000)
    assert log.getvalue() == ""


def test_a_resume_with_every_chunk_saved_gives_no_rate():
    """'(0 of 600,000 plan-scenario pairs now ...): 0 plan-scenario-quarters/s' read as a run that
    computed at no speed."""
    from types import SimpleNamespace

    from fleetopt.cli.evaluation_output import run_speed

    done = SimpleNamespace(n_plans=3, n_scenarios=1000, backend="numpy", device="CPU", seconds=0.1,
                           pairs_stored=3000, pairs_computed=0, pair_quarters_per_second=0.0)  # fmt: skip
    assert run_speed(done) == ("3 plans x 1,000 scenarios on numpy, CPU, in 0.1 s: every plan-scenario "
                               "pair was saved earlier, none computed now")  # fmt: skip


class _Counted:
    """A progress function that keeps the pairs computed and those read back from saved chunks."""

    def __init__(self):
        self.computed = self.read = 0

    def __call__(self, pairs, total):
        self.computed += pairs

    def read_back(self, pairs, total):
        self.read += pairs


def twelve_plans_in_four_saved_chunks(tmp_path):
    """12 plans of tiny evaluated on 300 scenarios (seed 5) in 4 chunks of 3 plans, each saved in a
    chunk store: the batch, the store and the evaluation to run again (with a progress callback)."""
    from evaluate_builders import solved

    from fleetopt.evaluate.batch import compile_plans
    from fleetopt.evaluate.chunk_store import ChunkStore
    from fleetopt.evaluate.engine import evaluate

    result = solved("tiny")
    batch = compile_plans(result.data, [result.plan] * 12, [f"p{i}" for i in range(12)])
    store = ChunkStore(tmp_path / "chunks")

    def run(progress):
        return evaluate(result.data, batch, 300, seed=5, backend="numpy", plan_chunk=3, scenario_chunk=128,
                        store=store, progress=progress)  # fmt: skip

    run(None)
    return batch, store, run


def test_a_resume_counts_a_corrupt_chunk_it_computes_again_as_computed_not_read_back(tmp_path):
    """A resume took every chunk file for pairs read back, the corrupt ones it computes again too:
    with 90 of 104 saved chunks corrupt its line said "no block of scenarios done yet" while it
    computed them, then 16.5 plans/s for about 125. 12 plans in 4 chunks of 3 plans, 300 scenarios
    (3,600 pairs), one chunk damaged: 2,700 pairs read back, 900 computed, by either executor's loop."""
    from fleetopt.evaluate.jobs import gather_chunks

    batch, store, run = twelve_plans_in_four_saved_chunks(tmp_path)
    (damaged,) = store.folder.glob("chunk-3-6-*.npz")
    damaged.write_bytes(damaged.read_bytes()[:-10])
    counted = _Counted()
    with pytest.warns(FleetoptWarning, match="1 stored chunk corrupt or truncated"):
        resumed = run(counted)
    assert (counted.read, counted.computed) == (2700, 900) and resumed.pairs_stored == 2700
    # the worker processes' and Ray's loop: chunk 3-6 saved again above, so 0-3 is the one computed
    (damaged,) = store.folder.glob("chunk-0-3-*.npz")
    damaged.unlink()
    counted, reading = _Counted(), SimpleNamespace(load=store.load, save=lambda *_: None)
    spec = SimpleNamespace(n_scenarios=300)
    gather_chunks(batch, spec, [(0, 3), (3, 6), (6, 9), (9, 12)], reading, counted,
                  submit=lambda chunk: object(), next_done=lambda handles: (handles[0], {}))  # fmt: skip
    assert (counted.read, counted.computed) == (2700, 900)


def test_an_evaluation_of_one_long_block_says_it_is_alive_each_minute():
    """One plan of 1,000,000 scenarios is one block of the C build: off a terminal its evaluation said
    nothing for its 91 s, and its only line, at the end, read '0:01:01' for 72 s and '0.0 plans/s' (a
    new user's walkthrough). Timed from the start, a line comes by the clock (the timer's tick, here
    called by hand) before any block ends, and the rate of one plan keeps its figures."""
    now = [100.0]
    log = io.StringIO()
    bar = progress_bar(Console(file=io.StringIO()), 1_000_000, lines=Console(file=log, width=200),
                       every=60, clock=lambda: now[0], total_pairs=1_000_000)  # fmt: skip
    with bar as advance:
        now[0] = 160.0
        bar.tick()
        now[0] = 172.0
        advance(1_000_000, 1_000_000)
        now[0] = 220.0
        bar.tick()
    first, last = log.getvalue().splitlines()
    assert first == "  evaluating: 0.0 of 1 plans (0%), 0:01:00, no block of scenarios done yet"
    # 1 plan in the 120 s so far: 0.00833 plans/s, and none left (it read "about 0:00:00 left")
    assert last == "  evaluating: 1.0 of 1 plans (100%), 0:02:00, 0.00833 plans/s"


def test_a_resume_in_this_process_says_every_saved_chunk_though_an_unsaved_one_comes_first(tmp_path):
    """Worker processes finish chunks out of order: a job stopped with chunks 1 and 3 of 4 saved, resumed
    in this process (--workers 1), said 'resuming: 1 chunk saved earlier, 900 of 3,600 plan-scenario
    pairs (25%)', since it read chunk 3 back only after computing chunk 2. 12 plans of tiny in 4
    chunks of 3, 300 scenarios: 2 chunks of 900 pairs saved, 1,800 of 3,600 (50%)."""
    _, store, run = twelve_plans_in_four_saved_chunks(tmp_path)
    for unsaved in ("chunk-3-6-*.npz", "chunk-9-12-*.npz"):
        (path,) = store.folder.glob(unsaved)
        path.unlink()
    log = io.StringIO()
    with progress_bar(Console(file=io.StringIO()), 300, lines=Console(file=log, width=200)) as advance:
        assert run(advance).pairs_stored == 1800
    assert log.getvalue().startswith(
        "  resuming: 2 chunks saved earlier, 1,800 of 3,600 plan-scenario pairs (50%)\n"
    )

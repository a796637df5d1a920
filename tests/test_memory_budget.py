"""`fleetopt evaluate --max-memory`: the chunk sizing counts what a chunk holds per plan (its plans
laid out for the simulation), not only its (plan, scenario) pairs. 1,000 plans of the default
model x 10 scenarios within 50 MB peaked at 123 MB (benchmarks/README.md, "--max-memory holds").

tiny, 6 copies of its MILP plan on 2 scenarios, NumPy: a plan compiled takes 10,208 bytes
(PlanBatch.nbytes), its tables are counted at twice that, 20,416; its row of results over the 2
scenarios and their metrics' temporaries 2 x (216 + 32) = 496 (27 results and 4 words of 8 bytes);
a pair 928 bytes of working memory (116 words);
a scenario's factor paths 2,544 (106 words, held 3 times)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import run_cli
from evaluate_builders import MODELS, solved
from milp_builders import data_of
from test_delivery_slip import model, plan

from fleetopt.evaluate import compile_plans, engine
from fleetopt.evaluate.engine import MemoryBudgetError, chunk_sizes, table_bytes_per_plan, worker_chunk_sizes

SLIP = {"probability": 0.5, "min_quarters": 1, "max_quarters": 2}


def tiny(slip: dict | None = None):
    d = MODELS["tiny"]()
    if slip:
        d["risk"]["delivery_slip"] = slip
    data = data_of(d)
    return data, compile_plans(data, [solved("tiny").plan] * 6, [f"p{i}" for i in range(6)])


def test_a_chunk_counts_each_plans_tables_beside_its_pairs():
    """Budget 100,000 on 2 scenarios: one plan takes 496 + 20,416 = 20,912 with its tables, so a
    block of (100,000 - 20,912) // (928 + 2,544) = 22 pairs holds both scenarios, and
    (100,000 - 2 x 2,544) // (20,912 + 2 x 928) = 94,912 // 22,768 = 4 plans a chunk (4 take
    96,160 bytes, 5 118,928). Without the tables 40 plans would fit: all 6, 141,696 bytes."""
    data, plans = tiny()
    assert plans.nbytes == 6 * 10_208 and table_bytes_per_plan(plans, "numpy") == 20_416
    assert engine.row_bytes_per_plan(2) == 496 and 8 * engine.words_per_pair(data, plans) == 928
    assert 8 * 3 * engine.words_per_scenario(data) == 2_544
    assert chunk_sizes(data, plans, 2, 100_000) == (4, 2)


def slipping() -> tuple:
    """test_delivery_slip's model, its SKU A late by 1 or 2 quarters with probability 0.5, and 6
    copies of its plan: each compiled in 6,800 bytes, and again for each slip (2 x 6 x 6,800 = 81,600)."""
    data = data_of(model(SLIP))
    return data, compile_plans(data, [plan(data)] * 6, [f"p{i}" for i in range(6)])


def test_the_kernel_counts_each_slips_tables_and_a_gpu_the_next_chunks_too():
    """NumPy lays out each slip's plans in turn: 2 x 6,800 = 13,600 a plan. The fused kernel keeps
    the plans' tables and each slip's for every block: 3 x 13,600 = 40,800; on a GPU the next
    chunk's are uploaded meanwhile: 4 x 13,600 = 54,400, of which the GPU budget counted none. CuPy,
    budget 250,000 on 2 scenarios: a pair 816 + 2 x 216 (a slip's copies of its results) = 1,248, a
    scenario 1,632, one plan 496 + 54,400 = 54,896, so (250,000 - 2 x 1,632) // (54,896 + 2 x 1,248)
    = 246,736 // 57,392 = 4 plans a chunk (without the tables all 6; the variants, in this
    machine's memory, are not in the GPU's budget)."""
    data, plans = slipping()
    assert sorted(plans.slipped) == [1, 2] and plans.nbytes == 6 * 6_800
    assert engine.slip_variant_bytes(plans) == 81_600
    assert [table_bytes_per_plan(plans, name) for name in ("numpy", "cpu-kernel", "cupy")] == [
        13_600, 40_800, 54_400]  # fmt: skip
    assert 8 * engine.words_per_pair(data, plans) + engine.slip_bytes_per_pair(plans) == 1_248
    assert worker_chunk_sizes(data, plans, 2, "cupy", 1, 10**12, 250_000) == (4, 2)


def test_a_budget_too_small_for_one_plan_says_the_budget_that_would_do(here, solve_run):
    """Budget 20,000 on 2 scenarios: one plan needs 20,912 + 928 + 2,544 = 24,384 bytes. Refused
    naming --max-memory and a size that is enough, 24.4 KB, before any work."""
    data, plans = tiny()
    with pytest.raises(MemoryBudgetError) as refused:
        chunk_sizes(data, plans, 2, 20_000)
    assert refused.value.need_bytes == 24_384
    assert str(refused.value) == (
        "one plan on 2 scenarios needs 24.4 KB of working memory (its tables and its results), more than "
        "the budget of 20 KB: give a max_memory (fleetopt evaluate --max-memory) of at least 24.4 KB"
    )
    # solve_run's plan, one plan of tiny on 2 scenarios, as above
    args = ("--plans", str(solve_run), "--scenarios", "2", "--max-memory", "20KB", "--out", "B")
    code, out, err = run_cli("evaluate", *args)
    assert code == 2 and "--max-memory) of at least" in " ".join(err.split()), out + err
    assert not (here / "B").exists()


def test_a_tight_budget_splits_the_plans_the_same_figures_and_the_forecast_check_within_it(monkeypatch):
    """400,000 bytes on 40 scenarios, NumPy: 318,400 left beside the variants; a plan 40 x 248 +
    13,600 = 23,520, so (318,400 - 40 x 1,632) // (23,520 + 40 x 1,248) = 3 plans, and 2 by the
    pairs a block may hold ((318,400 - 23,520) // 2,880 = 102, 102 // 40): chunks of 2, the same
    metrics to the bit as one chunk, a slip drawn in 45 % of the scenarios. The forecast check (each
    plan run on the forecast) is an evaluation of its own: it ran every plan at once, unbudgeted."""
    data, plans = slipping()
    whole = engine.evaluate(data, plans, 40, 3, backend="numpy", plan_chunk=6, scenario_chunk=40)
    budgets = []
    sizes = engine.backend_chunk_sizes

    def sized(*args, **kw):
        budgets.append(args[4])  # max_memory
        return sizes(*args, **kw)

    monkeypatch.setattr(engine, "backend_chunk_sizes", sized)
    tight = engine.evaluate(data, plans, 40, 3, backend="numpy", max_memory=400_000)
    assert (tight.plan_chunk, tight.scenario_chunk) == (2, 40)
    assert budgets == [400_000, 400_000]  # the run's, then the forecast check's
    assert whole.metrics["slipped_share"].tolist() == [0.45] * 6
    pd.testing.assert_frame_equal(tight.metrics, whole.metrics, check_exact=True)

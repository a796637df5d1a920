"""Plan files with many plans: written and read a chunk at a time, compiled the same whatever
the chunking.

A plan carries every cohort's holdings (~240 KB on the default model), so a file of 10^5 plans
is ~24 GB of arrays: the reader must stream it, and compiling a plan must give the same bits
alone as in any company.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import re
import zipfile

import numpy as np
import pytest
from evaluate_builders import MODELS, plan_variants, solved
from milp_builders import data_of, load

from fleetopt import api
from fleetopt.core.data import build_data
from fleetopt.core.plan import Plan
from fleetopt.evaluate.batch import PlanFileError, compile_plans
from fleetopt.evaluate.planfile import PlanFileReader, PlanFileWriter, load_plans, plans_npz_bytes, save_plans
from fleetopt.evaluate.sources import read_plans


@pytest.fixture(scope="module")
def plans():
    data = data_of(MODELS["two_sites"]())
    plans, labels = plan_variants(data, solved("two_sites").plan)
    # "borrowed" draws beyond its facility, and a plan file holding it is refused (test below):
    # here a fifth plan within every limit takes its place
    n = labels.index("borrowed")
    plans[n], labels[n] = copy.deepcopy(plans[0]), "prepaid_late"
    plans[n].prepay[0, data.T - 2] += 5.0e5
    return data, plans, labels


def assert_batches_equal(a, b) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "labels":
            assert x == y
        elif f.name == "slipped":  # the plans under each delivery slip (tests/test_delivery_slip.py)
            assert x.keys() == y.keys()
            for d in x:
                assert_batches_equal(x[d], y[d])
        else:
            np.testing.assert_array_equal(x, y, err_msg=f.name)


def test_compiling_a_plan_alone_or_with_others_gives_the_same_bits(plans):
    data, plans, labels = plans
    together = compile_plans(data, plans, labels)
    in_twos = compile_plans(data, plans, labels, chunk=2)
    assert_batches_equal(together, in_twos)
    from_stack = compile_plans(data, Plan.stack(plans), labels, chunk=3)
    assert_batches_equal(together, from_stack)
    B = together.build_mw.shape[1]
    for p, (plan, label) in enumerate(zip(plans, labels, strict=True)):
        alone = compile_plans(data, [plan], [label])
        for f in dataclasses.fields(alone):
            # no slip in this model: none compiled; the batch's objective: the plans' source's, not compiled
            if f.name in ("labels", "slipped", "solved_for_cost"):
                assert f.name == "labels" or not getattr(alone, f.name)
                continue
            value = getattr(alone, f.name)[0]
            if f.name.startswith("build_"):  # padded with 0 MW groups to the plan with most builds
                value = np.pad(value, (0, B - len(value)))
            np.testing.assert_array_equal(getattr(together, f.name)[p], value, err_msg=f.name)


def test_power_builds_are_listed_in_site_then_quarter_order(plans):
    data, plans, labels = plans
    b = compile_plans(data, plans, labels)
    for p, plan in enumerate(plans):
        sites, starts = np.nonzero(plan.build_blocks)
        n = len(sites)
        assert b.build_site[p, :n].tolist() == sites.tolist()
        assert b.build_start[p, :n].tolist() == starts.tolist()
        lead = np.array([data.sites[i].lead_time for i in sites], dtype=int)
        assert b.build_online[p, :n].tolist() == (starts + lead).tolist()
        mw = [plan.build_blocks[i, t] * data.sites[i].block_mw for i, t in zip(sites, starts, strict=True)]
        assert b.build_mw[p, :n].tolist() == pytest.approx(mw)
        assert not b.build_mw[p, n:].any()


def test_writer_in_chunks_reader_in_other_chunks_round_trip(plans, tmp_path):
    data, plans, labels = plans
    path = tmp_path / "many.npz"
    writer = PlanFileWriter(path, data.model.name, "h")
    for start in (0, 2, 3):  # chunks of 2, 1 and 2 plans
        rows = slice(start, {0: 2, 2: 3, 3: 5}[start])
        writer.add(Plan.stack(plans[rows]), labels[rows])
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.npz"]  # the spool is gone
    reader = PlanFileReader(path, data)
    assert reader.count == 5 and reader.labels == labels and reader.meta["model_hash"] == "h"
    sizes = [len(chunk_labels) for _, chunk_labels in reader.chunks(rows=2)]
    assert sizes == [2, 2, 1]
    read, read_labels, _ = load_plans(path, data)
    assert read_labels == labels
    for a, b in zip(read, plans, strict=True):
        for name, value in b.arrays().items():
            np.testing.assert_array_equal(a.arrays()[name], value, err_msg=name)
    # compiled from the file a chunk at a time = compiled from the list
    assert_batches_equal(read_plans(path, data).compile(data, rows=2), compile_plans(data, plans, labels))


def test_a_file_written_whole_reads_the_same_in_chunks(plans, tmp_path):
    data, plans, labels = plans
    path = tmp_path / "whole.npz"
    save_plans(path, plans, labels, data.model.name, "h")
    stacks = [stack for stack, _ in PlanFileReader(path, data).chunks(rows=4)]
    assert [s.buy_blocks.shape[0] for s in stacks] == [4, 1]
    np.testing.assert_array_equal(
        np.concatenate([s.held_training for s in stacks]), Plan.stack(plans).held_training
    )


def test_a_truncated_array_is_refused_by_name(plans, tmp_path):
    data, plans, labels = plans
    path = tmp_path / "cut.npz"
    save_plans(path, plans, labels, data.model.name, "h")
    with zipfile.ZipFile(path) as src:
        members = {n: src.read(n) for n in src.namelist()}
    members["draws.npy"] = members["draws.npy"][:-16]
    with zipfile.ZipFile(path, "w") as dst:
        for name, content in members.items():
            dst.writestr(name, content)
    reader = PlanFileReader(path, data)  # the header still says five plans
    with pytest.raises(PlanFileError, match="draws is truncated"):
        list(reader.chunks())


def test_an_archive_without_metadata_is_refused(plans, tmp_path):
    data = plans[0]
    np.savez(tmp_path / "bare.npz", buy_blocks=np.zeros((1, 2, 3)))
    with pytest.raises(PlanFileError, match="not a fleetopt plan file \\(no metadata\\)"):
        PlanFileReader(tmp_path / "bare.npz", data)


def test_metadata_nested_thousands_deep_is_refused_by_name(plans, tmp_path):
    """Metadata of 100,000 nested arrays was refused as "not a fleetopt plan file (RecursionError)":
    Python's exception's name, where every other JSON fleetopt reads says what is wrong."""
    data = plans[0]
    deep = "[" * 100_000 + "]" * 100_000
    np.savez(tmp_path / "deep.npz", __meta__=np.array(deep), buy_blocks=np.zeros((1, 2, 3)))
    with pytest.raises(PlanFileError, match="not a fleetopt plan file \\(no metadata\\)"):
        PlanFileReader(tmp_path / "deep.npz", data)


def test_a_fortran_ordered_stack_reads_the_same_in_chunks(plans, tmp_path):
    data, plans, labels = plans
    arrays = {k: np.asfortranarray(v) for k, v in Plan.stack(plans).arrays().items()}
    path = tmp_path / "fortran.npz"
    meta = {"format": 1, "model_name": data.model.name, "model_hash": "h", "labels": labels}
    np.savez_compressed(path, __meta__=np.array(__import__("json").dumps(meta)), **arrays)
    stacks = [stack for stack, _ in PlanFileReader(path, data).chunks(rows=2)]
    for name, value in Plan.stack(plans).arrays().items():
        np.testing.assert_array_equal(np.concatenate([s.arrays()[name] for s in stacks]), value, err_msg=name)


def test_a_corrupt_array_is_refused_by_name(plans, tmp_path):
    data, plans, labels = plans
    path = tmp_path / "bad.npz"
    save_plans(path, plans, labels, data.model.name, "h")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("held_training.npy")
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0xFF  # one byte inside the compressed data
    path.write_bytes(bytes(raw))
    with pytest.raises(PlanFileError, match="held_training is corrupt"):
        list(PlanFileReader(path, data).chunks())


def test_a_rejected_add_writes_nothing_and_an_error_leaves_no_file(plans, tmp_path):
    data, plans, labels = plans
    path = tmp_path / "w.npz"
    with PlanFileWriter(path, data.model.name, "h") as writer:
        writer.add(Plan.stack(plans[:2]), labels[:2])
        bad = Plan.stack(plans[2:4])
        bad.draws = bad.draws[:1]  # one array short of a plan
        with pytest.raises(ValueError, match="draws"):
            writer.add(bad, labels[2:4])
        writer.add(Plan.stack(plans[2:]), labels[2:])
    read, read_labels, _ = load_plans(path, data)
    assert read_labels == labels
    np.testing.assert_array_equal(Plan.stack(read).draws, Plan.stack(plans).draws)
    writer.close()  # closing again does nothing
    with pytest.raises(RuntimeError), PlanFileWriter(tmp_path / "never.npz", data.model.name, "h") as w:
        w.add(Plan.stack(plans[:1]), labels[:1])
        raise RuntimeError("the generator failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]


def test_compile_names_a_plan_of_the_wrong_shape_and_takes_no_plans(plans):
    data, plans, _ = plans
    wrong = Plan(**{k: v.copy() for k, v in plans[0].arrays().items()})
    wrong.draws = wrong.draws[:, :-1]
    with pytest.raises(PlanFileError, match="plan 'odd' does not fit the model: draws"):
        compile_plans(data, [plans[1], wrong], ["ok", "odd"])
    empty = compile_plans(data, [], [])
    assert empty.P == 0 and empty.market_revenue.shape[0] == 0


# ---------------------------------------------------------------- plans that break a hard limit


def _negated_purchases(data, plan):
    plan.buy_blocks *= -1


def _trillion_more_blocks(data, plan):
    plan.buy_blocks[np.unravel_index(np.argmax(data.on_sale), data.on_sale.shape)[0], 0, :] += 1e12


def _held_beyond_purchases(data, plan):
    cohort = next(c for c in data.cohorts if 0 <= c.bought < data.T - 1)
    plan.held_training[cohort.index, cohort.bought + 1 :] += 1.0e6  # after the quarter it arrives


def _power_never_built(data, plan):
    plan.build_blocks[:] = 0


def _debt_beyond_the_facility(data, plan):
    plan.draws[0, list(data.facilities[0].draw_quarters)] += 1.0e15


def _in_service_beyond_held(data, plan):
    plan.active[0, 0, 0, 2] += 1.0e6


def _contract_before_its_term(data, plan):  # the anchor contract's term starts in quarter 1
    plan.contract_gpus[0, 0, 0, 0] += 10.0


def _contract_beyond_its_size(data, plan):  # 200 GPUs
    plan.contract_gpus[0, 0, 0, 3] += 1000.0


def _contract_beyond_service(data, plan):
    site = int(np.argmax(plan.contract_gpus[0, 0, :, 3]))
    plan.active[0, 0, site, 3] = 0.0


# cohort 2 of two_sites: 600 A GPUs bought at site s1 in quarter 2 and held for training to the end
def _retired_but_still_held(data, plan):  # 100 sold in quarter 4 and still earning
    assert plan.held_training[2, 2:].min() == pytest.approx(600.0)
    plan.retire_training[2, 4] += 100.0


def _retired_beyond_held(data, plan):  # 700 of the 600 sold
    plan.retire_training[2, 4] = 700.0
    plan.held_training[2, 4:] = 0.0


def _held_before_bought(data, plan):  # cohort 3 arrives in quarter 3
    plan.held_training[3, 1] = 10.0


def _one_held_before_bought(data, plan):  # one GPU: "1 GPU", not "1 GPUs"
    plan.held_training[3, 1] = 1.0


def _block_past_the_window(data, plan):  # s1 may start blocks in quarters 0-5 only
    plan.build_blocks[0, 7] = 1.0


def _blocks_beyond_max(data, plan):  # s2: max_blocks 1
    plan.build_blocks[1, 0] = 2.0


def _signed_contract_declined(data, plan):
    plan.accepted[0] = 0.0
    plan.contract_gpus[0] = 0.0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_negated_purchases, "buy_blocks[0, 0, 0] is -"),
        (_in_service_beyond_held, "GPUs in training service at site 's1' in 2026Q3, more than the"),
        (_contract_before_its_term, "serves contract 'anchor' with A GPUs in 2026Q1, which its SKUs or term"),
        (_contract_beyond_its_size, "serves contract 'anchor' with 1,200 GPUs in 2026Q4, more than its 200"),
        (_contract_beyond_service, "serves training contracts with 200 A GPUs at site"),
        (_signed_contract_declined, "declines the signed contract 'anchor'"),
        (_trillion_more_blocks, "buys"),
        (_held_beyond_purchases, "more than the"),
        (_power_never_built, "MW the plan has online"),
        (_debt_beyond_the_facility, "on facility 'loan'"),
        (_retired_but_still_held, "holds 600 training GPUs of A at site 's1' in 2027Q1, more than the 500 "
                                  "its balance leaves (600 held before, 100 retired or moved out, 0 moved"),
        (_retired_beyond_held, "retires or moves 700 training GPUs of A at site 's1' in 2027Q1, more "
                               "than the 600 held before"),
        (_held_before_bought, "holds 10 GPUs of A at site 's1' in 2026Q2, more than the 0 GPUs it has"),
        (_one_held_before_bought, "holds 1 GPU of A at site 's1' in 2026Q2, more than the 0 GPUs it has"),
        (_block_past_the_window, "starts 1 power block at site 's1' in 2027Q4, a quarter its expansion "
                                 "does not"),
        (_blocks_beyond_max, "starts 2 power blocks at site 's2', more than its expansion's max_blocks, 1"),
    ],
    ids=["negative", "in-service", "contract-term", "contract-size", "contract-service", "signed-declined",
         "1e12-blocks", "held", "power", "debt", "retired-held", "retired-beyond", "held-before-bought",
         "one-held-before-bought", "block-late", "blocks-max"],
)
def test_a_plan_file_breaking_a_hard_limit_is_refused_by_name(plans, tmp_path, mutate, message):
    data, plans, labels = plans
    bad = copy.deepcopy(plans[0])
    mutate(data, bad)
    path = tmp_path / "bad.npz"
    save_plans(path, [plans[1], bad], ["fine", "bad"], data.model.name, "h")
    with pytest.raises(PlanFileError, match=r"plan 'bad': .*" + re.escape(message)):
        read_plans(path, data).compile(data)
    save_plans(path, plans, labels, data.model.name, "h")
    assert len(plans) == read_plans(path, data).compile(data).P  # plans within the limits pass


# two_sites' optimum, by hand: cohort 2 (site s1, 2026Q3) buys 1,100 A GPUs (blocks of 1) and
# holds 600 for training; s1 has 1,017 training GPUs installed and in service from 2026Q3, 200 of
# them on contract 'anchor' (200 GPUs); s2 draws 1,083 GPUs x 0.0012 MW = 1.2996 MW of its 1.3 MW
# online in 2026Q2 (0.3 MW and one 1 MW block, its max_blocks); facility 'loan' ($6.0M) is drawn in full
def _bought_a_fraction_more(data, plan):
    plan.buy_blocks[0, 0, 2] += 0.08


def _held_a_fraction_more(data, plan):
    plan.held_training[2, 3] += 0.3


def _in_service_a_fraction_more(data, plan):
    plan.active[0, 0, 0, 3] += 0.3


def _contract_a_fraction_more(data, plan):
    plan.contract_gpus[0, 0, 0, 3] += 0.3


def _contract_a_fraction_beyond_service(data, plan):
    plan.active[0, 0, 0, 3] = 199.7


def _retired_a_thousandth_still_held(data, plan):
    plan.retire_training[2, 4] += 0.003


def _retired_a_thousandth_beyond_held(data, plan):
    plan.retire_training[2, 4] = 600.003
    plan.held_training[2, 4:] = 0.0


def _held_a_millionth_before_bought(data, plan):
    plan.held_training[2, 1] = 2e-6


def _one_gpu_more_in_service_at_s2(data, plan):  # cohort 9: bought at s2 in 2026Q2
    plan.buy_blocks[0, 1, 1] += 1.0
    plan.held_training[9, 1] += 1.0
    plan.active[0, 0, 1, 1] += 1.0


def _a_millionth_block_beyond_max(data, plan):
    plan.build_blocks[1, 0] = 1.000002


def _ten_dollars_beyond_the_facility(data, plan):
    plan.draws[0, 0] += 10.0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_bought_a_fraction_more,
         "buys 1,100.08 GPUs of A at site 's1' in 2026Q3 but holds 1,100.00 of them"),
        (_held_a_fraction_more,
         "holds 1,100.30 GPUs of A at site 's1' in 2026Q4, more than the 1,100.00 GPUs it has of that"),
        (_in_service_a_fraction_more,
         "has 1,017.30 A GPUs in training service at site 's1' in 2026Q4, more than the 1,017.00 it holds"),
        (_contract_a_fraction_more,
         "serves contract 'anchor' with 200.30 GPUs in 2026Q4, more than its 200.00"),
        (_contract_a_fraction_beyond_service,
         "serves training contracts with 200.00 A GPUs at site 's1' in 2026Q4, more than the 199.70 it has"),
        (_retired_a_thousandth_still_held,
         "holds 600.000 training GPUs of A at site 's1' in 2027Q1, more than the 599.997 its balance leaves "
         "(600.000 held before, 0.003 retired or moved out, 0.000 moved in)"),
        (_retired_a_thousandth_beyond_held,
         "retires or moves 600.003 training GPUs of A at site 's1' in 2027Q1, more than the 600.000 held"),
        (_held_a_millionth_before_bought,
         "holds 0.000002 training GPUs of A at site 's1' in 2026Q2, outside that cohort's life"),
        (_one_gpu_more_in_service_at_s2,
         "draws 1.301 MW at site 's2' in 2026Q2, more than the 1.300 MW the plan has online"),
        (_a_millionth_block_beyond_max,
         "starts 1.000002 power blocks at site 's2', more than its expansion's max_blocks, 1.000000"),
        (_ten_dollars_beyond_the_facility,
         "draws $6.00001M on facility 'loan', more than the $6.00000M left of its $6.0M"),
    ],
    ids=["bought", "held", "in-service", "contract-size", "contract-service", "balance", "retired-beyond",
         "outside-life", "power", "blocks-max", "debt"],
)
def test_a_plan_a_hair_beyond_a_limit_is_refused_with_figures_that_differ(plans, tmp_path, mutate, message):
    """A refusal compares two figures: rounded alike, a plan a fraction of a GPU (a thousandth of a
    MW, $10) beyond a limit read "buys 1,100 GPUs ... but holds 1,100": each is written to the
    decimals at which the two differ."""
    data, plans, _ = plans
    bad = copy.deepcopy(plans[0])
    mutate(data, bad)
    with pytest.raises(PlanFileError, match=r"plan 'bad': " + re.escape(message)):
        compile_plans(data, [plans[1], bad], ["fine", "bad"], check_limits=True)


def test_a_fraction_of_a_gpu_in_training_where_its_sku_is_not_eligible_shows_the_fraction(plans):
    """two_sites' A eligible for training 6 quarters after its release in 2026Q1 (to 2027Q2); a plan
    with 0.3 of one in training service at s1 in 2027Q3 was refused as "has 0 A GPUs in training
    service", as if it had none."""
    _, plans, _ = plans
    d = MODELS["two_sites"]()
    d["skus"]["A"]["training_eligibility"] = {"quarters_after_release": 6}
    ineligible = data_of(d)
    assert ineligible.training_eligible[0].tolist() == [True] * 6 + [False] * 2
    bad = copy.deepcopy(plans[0])
    bad.active[0, 0, :, 6:] = 0.0
    bad.active[0, 0, 0, 6] = 0.3
    said = "plan 'bad': has 0.30 A GPUs in training service at site 's1' in 2027Q3, when that SKU is not"
    with pytest.raises(PlanFileError, match=re.escape(said)):
        compile_plans(ineligible, [bad], ["bad"], check_limits=True)


def test_buffers_a_sliver_apart_are_named_with_figures_that_differ(tmp_path):
    """Plans kept buffers of $30.00M and $30.04M, made under a model whose buffer was $30.00M and
    evaluated under one of $30.04M: the warning read "($30.0M to $30.0M above ...; made under a model
    whose buffer was $30.0M), not this model's $30.0M"."""
    from fleetopt.core.plan import plan_axes
    from fleetopt.errors import FleetoptWarning
    from fleetopt.evaluate.planfile import plans_npz_bytes

    solved = api.solve("tiny")
    made = api.edit("tiny", {("policy", "liquidity_buffer_usd"): 30e6})
    (tmp_path / "model.yaml").write_text(made.text)
    (tmp_path / "plans.npz").write_bytes(plans_npz_bytes(
        [solved.plan, solved.plan], ["a", "b"], "tiny", made.content_hash, [30e6, 30.04e6],
        plan_axes(solved.data)))  # fmt: skip
    said = ("the plans keep the policy cash buffer recorded with them ($30.00M to $30.04M above "
            "finance.min_cash_usd; made under a model whose buffer was $30.00M), not this model's $30.04M")
    now = api.edit("tiny", {("policy", "liquidity_buffer_usd"): 30.04e6})
    with pytest.warns(FleetoptWarning, match=re.escape(said)):
        api.prepare_evaluation(tmp_path / "plans.npz", now, scenarios=10)


def test_gpus_held_past_their_maximum_age_are_refused(tmp_path):
    """tiny's 9,600 installed H100 were bought 10 quarters before the horizon: at a maximum age of
    3.5 years (14 quarters) they are all sold in its quarter 4 (2027Q3), which the MILP's plan does,
    and a plan file passes. The same plan still holding 10 of them in quarter 5 is refused."""
    model = api.edit("tiny", {"retirement.max_age_years": 3.5})
    data = api.load(model)[1]
    plan = api.solve(model).plan
    installed = data.cohorts[0]
    assert installed.bought == -10 and list(data.alive[0]) == [True] * 4 + [False] * 4
    sold = plan.retire_training[0, 4] + plan.retire_inference[0, 4]
    assert sold == pytest.approx(plan.held[0, 3]) and plan.held[0, 3] > 0
    path = tmp_path / "aged.npz"
    save_plans(path, [plan], ["milp"], data.model.name, "h")
    assert read_plans(path, data).compile(data).P == 1
    plan.held_training[0, 5] = 10.0
    save_plans(path, [plan], ["kept"], data.model.name, "h")
    kept = "holds 10 training GPUs of H100 at site 'texas' in 2027Q4, outside that cohort's life"
    with pytest.raises(PlanFileError, match=re.escape(kept)):
        read_plans(path, data).compile(data)


def test_gpus_in_training_where_their_sku_is_not_eligible_are_refused(tmp_path):
    """lab's H100 may train only in its first quarter: a plan file keeping 10 of them in training in
    2026Q4 earned training-market revenue the model forbids, and passed."""
    _, data = api.load("lab")
    plan = api.solve("lab", objective="cost").plan
    h100 = data.sku_names.index("H100")
    assert data.training_eligible[h100, 0] and not data.training_eligible[h100, 1]
    plan.active[0, h100, 0, 1] = 10.0
    path = tmp_path / "trains.npz"
    save_plans(path, [plan], ["trains"], data.model.name, "h")
    said = "has 10 H100 GPUs in training service at site 'iowa' in 2026Q4, when that SKU is not eligible"
    with pytest.raises(PlanFileError, match=re.escape(said)):
        read_plans(path, data).compile(data)


def test_a_plan_file_keeps_each_plans_liquidity_buffer(plans, tmp_path):
    data, plans, labels = plans
    path = tmp_path / "buffers.npz"
    buffers = [None, 2.5e6, None, 0.0, 1.0e7][: len(plans)]
    path.write_bytes(plans_npz_bytes(plans, labels, data.model.name, "h", buffers))
    compiled = read_plans(path, data).compile(data)
    default = data.policy.liquidity_buffer_usd
    want = [default if b is None else b for b in buffers]
    np.testing.assert_array_equal(compiled.liquidity_buffer, want)
    # a file without the metadata runs every plan with the model's buffer
    save_plans(tmp_path / "plain.npz", plans, labels, data.model.name, "h")
    assert (read_plans(tmp_path / "plain.npz", data).compile(data).liquidity_buffer == default).all()


def with_metadata(path, plans, names, data, **changes) -> None:
    """A plan file of ``plans`` at ``path`` whose metadata has ``changes`` (as a hand or another
    program would write them)."""
    path.write_bytes(plans_npz_bytes(plans, names, data.model.name, "h", [0.0] * len(plans)))
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    meta = json.loads(str(np.load(io.BytesIO(members["__meta__.npy"]))))
    out = io.BytesIO()
    np.save(out, np.array(json.dumps({**meta, **changes})))
    members["__meta__.npy"] = out.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data_bytes in members.items():
            archive.writestr(name, data_bytes)


@pytest.mark.parametrize("bad", [[-1.0], "lots", [1e16], ["x"], [True]])  # true was read as $1
def test_a_bad_liquidity_buffer_list_is_refused(plans, tmp_path, bad):
    data, plans, labels = plans
    buffers = bad * len(plans) if isinstance(bad, list) else bad
    with_metadata(tmp_path / "bad.npz", plans, labels, data, liquidity_buffers_usd=buffers)
    with pytest.raises(PlanFileError, match="liquidity_buffers_usd"):
        read_plans(tmp_path / "bad.npz", data)


def test_a_plan_file_naming_two_plans_alike_has_them_numbered(plans, tmp_path):
    """Two plans labelled "a" gave two rows named "a" in evaluate's table and metrics.csv (the fuzz
    audit): which was which could not be told. They read "a", "a (2)", as compare numbers them."""
    data, plans, labels = plans
    with_metadata(tmp_path / "twins.npz", plans[:2], labels[:2], data, labels=["a", "a"])
    assert load_plans(tmp_path / "twins.npz", data)[1] == ["a", "a (2)"]


def test_a_plan_file_of_another_format_or_with_labels_for_other_plans_is_refused(plans, tmp_path):
    """A file of format 99 was read as format 1, and one listing more labels than plans had its
    labels replaced by file[0], file[1] ... without a word."""
    data, plans, labels = plans
    with_metadata(tmp_path / "future.npz", plans, labels, data, format=99)
    with pytest.raises(PlanFileError, match=r"plan file format 99, which this fleetopt \(format 1\) does"):
        read_plans(tmp_path / "future.npz", data)
    with_metadata(tmp_path / "labels.npz", plans, labels, data, labels=[*labels, "one too many"])
    with pytest.raises(PlanFileError, match=rf"lists {len(plans) + 1} labels for {len(plans)} plans"):
        read_plans(tmp_path / "labels.npz", data)


# ---------------------------------------------------------------- items matched by name


def _reordered(d: dict, block: str) -> dict:
    """The model with its ``block`` (a mapping or a list) in reverse order: the same items, shapes
    and figures, other positions."""
    d = copy.deepcopy(d)
    items = d[block]
    d[block] = dict(reversed(list(items.items()))) if isinstance(items, dict) else list(reversed(items))
    return d


@pytest.mark.parametrize(("block", "axis"), [("contracts", "its contracts are"), ("fleet", "its cohorts")])
def test_plans_are_refused_for_a_model_whose_items_are_in_another_order(tmp_path, block, axis):
    """tiny's plan, then tiny with its two contracts (or its two installed cohorts) swapped: the
    arrays have the same shapes, and read by position the plan's GPUs would serve the other
    contract (the forecast NPV of -$14.1M read as +$7.3M). The file keeps the names of each axis,
    and the reader refuses the plans, naming the axis."""
    import yaml

    from fleetopt import api
    from fleetopt.core.plan import plan_axes

    d = yaml.safe_load(api.load("tiny")[0].text)
    if block == "fleet":  # tiny's 9,600 H100s as two cohorts: 4,800 bought in 2024Q1, 4,800 in 2024Q3
        d["fleet"] = [{**d["fleet"][0], "gpus": 4800}, {**d["fleet"][0], "gpus": 4800, "purchased": "2024Q3"}]
    loaded = load(d)
    data = build_data(loaded)
    result = api.solve(loaded)
    path = tmp_path / "plan.npz"
    save_plans(path, [result.plan], ["milp"], data.name, "h", axes=plan_axes(data))
    assert len(load_plans(path, data)[0]) == 1  # the model it was made from reads it
    assert len(d[block]) == 2
    other = data_of(_reordered(d, block))
    with pytest.raises(PlanFileError, match=axis):
        load_plans(path, other)
    legacy = tmp_path / "legacy.npz"  # a file from before plan files kept their axes reads as before
    save_plans(legacy, [result.plan], ["milp"], data.name, "h")
    assert len(load_plans(legacy, other)[0]) == 1


@pytest.mark.filterwarnings("ignore:.*needs .* MW in service")  # a million GPUs on tiny's 20 MW site
def test_a_plan_is_refused_for_a_model_of_one_installed_gpu_more_and_old_names_still_read(tmp_path):
    """Cohort names wrote installed GPUs to 6 digits, so tiny with 1,234,567 and with 1,234,568
    installed H100s both named the cohort 'H100@texas:-10:1.23457e+06:0' and a plan for one was
    read for the other. Names now keep every digit; a file written with the 6-digit names (up to
    0.4.33) is still read for the model it matches, and tiny's 9,600 GPUs are named as before."""
    from fleetopt.core.plan import plan_axes

    assert plan_axes(build_data(api.load("tiny")[0]))["cohorts"][0] == "H100@texas:-10:9600:0"
    one, other = (build_data(api.edit("tiny", {"fleet.0.gpus": gpus})) for gpus in (1234567, 1234568))
    axes = plan_axes(one)
    assert axes["cohorts"][0] == "H100@texas:-10:1234567:0"
    path = tmp_path / "plan.npz"
    save_plans(path, [Plan.empty(one)], ["milp"], one.name, "h", axes=axes)
    assert len(load_plans(path, one)[0]) == 1
    with pytest.raises(PlanFileError, match="its cohorts are not the model's"):
        load_plans(path, other)
    old = tmp_path / "old.npz"
    old_names = [axes["cohorts"][0].replace("1234567", "1.23457e+06"), *axes["cohorts"][1:]]
    save_plans(old, [Plan.empty(one)], ["milp"], one.name, "h", axes={**axes, "cohorts": old_names})
    assert len(load_plans(old, one)[0]) == 1


def test_every_plan_file_a_run_writes_keeps_its_axes(tmp_path):
    from fleetopt import api
    from fleetopt.core.plan import plan_axes

    loaded, data = api.load("tiny")
    folder = api.write_solve_run(api.solve(loaded), loaded, tmp_path / "run")
    with np.load(folder / "plan.npz") as npz:
        meta = json.loads(str(npz["__meta__"]))
    assert meta["axes"] == plan_axes(data)
    assert meta["axes"]["contracts"] == ["lab-a-training", "enterprise-inference"]


@pytest.mark.parametrize("axes", [["x"], {"contracts": 5}, "skus"])
def test_a_plan_file_with_damaged_axes_is_refused_by_name(tmp_path, axes):
    from fleetopt import api

    loaded, data = api.load("tiny")
    path = tmp_path / "plan.npz"
    path.write_bytes(plans_npz_bytes([api.solve(loaded).plan], ["milp"], data.name, "h", axes=axes))
    with pytest.raises(PlanFileError, match="its axes metadata is not a mapping of name lists"):
        load_plans(path, data)


def test_an_axis_with_no_items_is_named_as_none():
    """A plan file of a model with no contracts read against tiny said "its contracts are ; model
    'tiny' has ..." (the empty list shown as nothing)."""
    from fleetopt import api
    from fleetopt.core.plan import axes_mismatch

    _, data = api.load("tiny")
    assert axes_mismatch({"contracts": []}, data) == (
        "its contracts are none; model 'tiny' has lab-a-training, enterprise-inference"
    )


def test_a_plan_file_for_another_version_names_only_what_differs():
    """A neocloud plan read against a copy with one contract removed listed all 79 names of both
    sides (600 characters); now the one the model lacks, and what the model adds or reorders."""
    from fleetopt import api
    from fleetopt.core.plan import axes_mismatch

    _, data = api.load("tiny")
    both = ["lab-a-training", "enterprise-inference"]
    assert axes_mismatch({"contracts": [*both, "gone-customer"]}, data) == (
        "its contracts differ: gone-customer not in model 'tiny'"
    )
    assert axes_mismatch({"contracts": both[:1]}, data) == (
        "its contracts differ: model 'tiny' has enterprise-inference besides"
    )
    assert axes_mismatch({"contracts": both[::-1]}, data) == (
        "its contracts are those of model 'tiny' in another order (enterprise-inference, lab-a-training)"
    )


def test_a_plan_files_metadata_of_a_damaged_file_is_none_and_a_memory_error_is_not(tmp_path, monkeypatch):
    """plan_file_meta: a file cut short, garbage or without metadata has none ({}); a MemoryError
    while reading it read as "no metadata" too, and now stops the caller."""
    from fleetopt.evaluate.planfile import plan_file_meta

    whole = io.BytesIO()
    np.savez(whole, __meta__=np.array(json.dumps({"model_name": "tiny"})))
    cases = {"whole": whole.getvalue(), "cut": whole.getvalue()[:-30], "garbage": b"not an npz" * 20}
    for name, data in cases.items():
        (tmp_path / f"{name}.npz").write_bytes(data)
    assert plan_file_meta(tmp_path / "whole.npz") == {"model_name": "tiny"}
    assert plan_file_meta(tmp_path / "cut.npz") == plan_file_meta(tmp_path / "garbage.npz") == {}
    assert plan_file_meta(tmp_path / "missing.npz") == {}

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(np, "load", out_of_memory)
    with pytest.raises(MemoryError):
        plan_file_meta(tmp_path / "whole.npz")

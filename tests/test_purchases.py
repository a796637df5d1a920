"""A procurement plan written by people: `fleetopt solve --purchases FILE` fixes every GPU purchase
to the file's and lets the MILP choose the rest (docs/formulation.md §4, "Fixed purchases")."""

from __future__ import annotations

import json
import re
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_PATH, run_cli
from test_cli_robustness import assert_one_error, leftovers

from fleetopt import api
from fleetopt.core.purchases import FixedPurchases, purchase_axes, purchases_for
from fleetopt.errors import FleetoptWarning, InputError
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.planfile import load_plans
from fleetopt.milp.persistent import PersistentPlanner, Stress
from fleetopt.milp.solve import solve


@pytest.fixture(scope="module")
def tiny():
    return api.load("tiny")


@pytest.fixture(scope="module")
def free(tiny):
    """tiny's optimum to a zero gap: it buys 2,000 B200 at texas in 2026Q3 (250 blocks of 8)."""
    return api.solve(tiny, mip_gap=0.0)


PLAN_HEADER = "quarter,decision,item,sku,site,use,value,unit"


def write(path, *rows: str, header: str = "quarter,sku,site,gpus"):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_the_optimums_own_purchases_give_back_its_npv(tiny, free, tmp_path):
    """Fixing the purchases the solver chose leaves it the same problem: the same plan value."""
    bought = np.argwhere(free.plan.buy_blocks > 0)
    assert [tuple(k) for k in bought] == [(1, 0, 0)] and free.plan.buy_blocks[1, 0, 0] == 250
    fixed = api.solve(tiny, mip_gap=0.0, purchases=write(tmp_path / "p.csv", "2026Q3,B200,texas,2000"))
    assert fixed.objective_usd == pytest.approx(free.objective_usd, rel=1e-9)
    np.testing.assert_array_equal(fixed.plan.buy_blocks, free.plan.buy_blocks)


def test_every_solve_that_reaches_the_same_commitments_returns_the_same_plan():
    """The operations are settled once the commitments are found (docs/formulation.md §6a). lab's
    optimum has tied operations: before they were settled, a solve of its own purchases returned
    other draws and allocations. Now that solve, the sweep's forecast candidate and its completion
    of the purchases all return the plan `fleetopt solve` writes, to every decision."""
    _, data = api.load("lab")
    free = solve(data)
    own = FixedPurchases(free.plan.buy_blocks.copy(), "own", 0, "", purchase_axes(data))
    planner = PersistentPlanner(data)
    others = {
        "solve --purchases": solve(data, purchases=own).plan,
        "sweep's forecast candidate": planner.solve_stress(None).plan,
        "sweep's completion of the purchases": planner.complete_purchases(own.blocks).plan,
    }
    for name, plan in others.items():
        assert plan.decisions_key() == free.plan.decisions_key(), name


def test_settling_leaves_the_planners_decisions_free_for_its_next_solve():
    """The settling LP holds the commitments only while it runs: a stress applied after a forecast
    solve is solved with its own purchases (it re-solved the forecast's purchases, which left the
    commitments pinned)."""
    _, data = api.load("lab")
    planner = PersistentPlanner(data)
    planner.solve_stress(None)
    shock = Stress("prices 20 % lower", price_scale=np.full((2, data.T), 0.8))
    planner.apply(shock)
    again = planner.solve()
    fresh = PersistentPlanner(data).solve_stress(shock)
    assert again.plan.decisions_key() == fresh.plan.decisions_key()
    assert again.objective_usd == pytest.approx(fresh.objective_usd, rel=1e-9)


def test_other_purchases_are_made_exactly_and_are_worth_no_more(tiny, free, tmp_path):
    """2,000 B200 a quarter later, and nothing else: the plan buys exactly that (none of the 2026Q3
    purchase the free optimum makes), and its NPV is at most the free optimum's."""
    fixed = api.solve(tiny, mip_gap=0.0, purchases=write(tmp_path / "p.csv", "2026Q4,B200,texas,2000"))
    expected = np.zeros_like(free.plan.buy_blocks)
    expected[1, 0, 1] = 250
    np.testing.assert_array_equal(fixed.plan.buy_blocks, expected)
    assert fixed.objective_usd < free.objective_usd - 1e6  # a quarter's less revenue: millions
    assert fixed.purchases.rows == 1 and fixed.purchases.gpus(fixed.data) == 2000


def test_a_solves_plan_csv_is_read_back(tiny, free, tmp_path):
    """plan.csv's buy_gpus rows are the purchases; its other decisions are not read."""
    path = tmp_path / "plan.csv"
    path.write_text(free.plan_frame().to_csv(index=False))
    fixed = api.read_purchases(path, tiny)
    np.testing.assert_array_equal(fixed.blocks, free.plan.buy_blocks)
    assert fixed.rows == 1
    # counted by decision, so that the solve says they were not read (an edited retire row changed
    # nothing, silently); in_service and serve_contract rows are outcomes, not decisions
    decisions = free.plan_frame()["decision"]
    others = decisions[~decisions.isin(["buy", "buy_gpus", "in_service", "serve_contract"])]
    assert dict(fixed.unread) == others.value_counts().to_dict() and "retire" in dict(fixed.unread)


def test_a_table_of_purchases_is_read_as_its_csv(tiny, free):
    """In a notebook: the optimum's purchases edited in its plan_frame() (moved a quarter later),
    given to solve as a DataFrame, are made exactly, as the CSV file of the test above; a table of
    the purchases file's columns is read too, and a bad row is named by its line in the table's
    CSV. A sweep takes one table as one proposal (its column names are not files)."""
    from fleetopt.api._sweep import _purchases_list

    frame = free.plan_frame()
    orders = frame[frame["decision"].isin(["buy", "buy_gpus"])].assign(quarter="2026Q4")
    fixed = api.solve(tiny, mip_gap=0.0, purchases=orders)
    expected = np.zeros_like(free.plan.buy_blocks)
    expected[1, 0, 1] = 250
    np.testing.assert_array_equal(fixed.plan.buy_blocks, expected)
    assert fixed.purchases.source == "purchases table"
    plain = pd.DataFrame({"quarter": ["2026Q4"], "sku": ["B200"], "site": ["texas"], "gpus": [2000]})
    np.testing.assert_array_equal(purchases_for(plain, tiny[1]).blocks, expected)
    bad = pd.concat([plain, plain.assign(site="mars")], ignore_index=True)
    with pytest.raises(InputError, match=r"purchases table, line 3: .*mars.*line 1 its header, line 2 its"):
        api.solve(tiny, purchases=bad)
    assert len(_purchases_list(plain)) == 1


def test_a_table_whose_columns_are_its_index_is_read_as_if_reset(tiny):
    """A table indexed by quarter (``set_index("quarter")``), or a groupby's sum (quarter, sku and
    site its index), was refused as "missing: quarter": its index is read as its columns. 1,000 and
    then 1,000 more B200 at texas in 2026Q4, summed: 2,000 GPUs, 250 blocks of 8."""
    data = tiny[1]
    rows = pd.DataFrame({"quarter": ["2026Q4"] * 2, "sku": ["B200"] * 2, "site": ["texas"] * 2,
                         "gpus": [1000] * 2})
    flat = rows.iloc[:1].assign(gpus=2000)
    expected = purchases_for(flat, data)
    assert expected.gpus(data) == 2000 and expected.blocks.sum() == 250
    summed = rows.groupby(["quarter", "sku", "site"]).agg(gpus=("gpus", "sum"))
    kept = flat.set_index("quarter", drop=False)  # the index a copy of a column: not read twice
    for table in (flat.set_index("quarter"), summed, kept):
        np.testing.assert_array_equal(purchases_for(table, data).blocks, expected.blocks)


def test_a_plan_csvs_blocks_and_gpus_rows_must_agree(tiny, free, tmp_path):
    """plan.csv gives each purchase twice, in blocks (buy) and in GPUs (buy_gpus): an edit of the
    blocks row alone was ignored; now the two must agree, and either alone is read."""
    frame = free.plan_frame()
    buy = frame["decision"] == "buy"
    edited = frame.copy()
    edited.loc[buy, "value"] = 100.0  # 800 GPUs, while buy_gpus still says 2,000
    edited.to_csv(tmp_path / "edited.csv", index=False)
    with pytest.raises(InputError, match=r"lines 2 and 3 disagree for B200 at texas in 2026Q3: 100 blocks"):
        api.read_purchases(tmp_path / "edited.csv", tiny)
    # the GPUs' row first: the lines in the file's order, each amount with its line
    pd.concat([edited[edited["decision"] == "buy_gpus"], edited[edited["decision"] != "buy_gpus"]]).to_csv(
        tmp_path / "swapped.csv", index=False)
    said = ("lines 2 and 3 disagree for B200 at texas in 2026Q3: 2,000 GPUs on line 2 against 100 blocks "
            "(800 GPUs) on line 3")
    with pytest.raises(InputError, match=re.escape(said)):
        api.read_purchases(tmp_path / "swapped.csv", tiny)
    edited[edited["decision"] != "buy_gpus"].to_csv(tmp_path / "blocks.csv", index=False)
    assert api.read_purchases(tmp_path / "blocks.csv", tiny).blocks[1, 0, 0] == 100


def test_a_buy_row_whose_blocks_no_site_could_power_is_warned_of_as_gpus_typed_as_blocks(tiny, tmp_path):
    """A plan.csv's buy row counts blocks: 2,880 typed there for 2,880 GPUs was read as 2,880 blocks
    of 8, 23,040 B200, in silence. In service they draw 23,040 x 1.8 kW x 1.25 = 51.84 MW, more than
    the 50 MW texas can ever have (20 MW and 3 blocks of 10 MW): said, naming the line, the column,
    the value and what it counts. 2,000 blocks (16,000 GPUs, 36 MW) fit and are read in silence, as
    is a purchases file's gpus column, whose figures are GPUs."""
    def plan_csv(value):
        return write(tmp_path / f"{value}.csv", f"2026Q3,buy,B200@texas,B200,texas,,{value},blocks",
                     header=PLAN_HEADER)  # fmt: skip

    said = ("2880.csv, line 2: value 2,880 (a buy row's, in blocks of 8 B200 GPUs: 2,880 blocks is 23,040 "
            "GPUs) would draw 51.8 MW in service, more than texas can ever have online (50 MW: 20 MW and 3 "
            "expansion blocks of 10 MW); if 2,880 is GPUs, write 360 blocks, or give 2,880 in a buy_gpus row")
    with pytest.warns(FleetoptWarning, match=re.escape(said)):
        assert api.read_purchases(plan_csv(2880), tiny).blocks[1, 0, 0] == 2880  # read as written
    code, _, err = run_cli("validate", "tiny", "--purchases", str(tmp_path / "2880.csv"))
    assert code == 0 and f"warning: {tmp_path / said}" in " ".join(err.split()), err
    with warnings.catch_warnings():
        warnings.simplefilter("error", FleetoptWarning)
        assert api.read_purchases(plan_csv(2000), tiny).blocks[1, 0, 0] == 2000
        in_gpus = write(tmp_path / "p.csv", "2026Q3,B200,texas,23040")
        assert api.read_purchases(in_gpus, tiny).gpus(tiny[1]) == 23040


def test_a_bad_value_in_a_plan_csv_names_its_value_column(tiny, free, tmp_path):
    """An edited plan.csv's buy_gpus row of 2,001 GPUs (B200 blocks are 8) was refused as "gpus must
    be a whole number ...", naming a column plan.csv does not have: its own column, value, is named,
    with the row's decision and unit, and the line."""
    frame = free.plan_frame()
    edited = frame.copy()
    edited.loc[edited["decision"] == "buy_gpus", "value"] = 2001.0
    edited.to_csv(tmp_path / "edited.csv", index=False)
    said = r"edited.csv, line 3: value \(a buy_gpus row's, in GPUs\) must be a whole number of B200 blocks"
    with pytest.raises(InputError, match=said):
        api.read_purchases(tmp_path / "edited.csv", tiny)
    edited["value"] = edited["value"].astype(object)
    edited.loc[edited["decision"] == "buy_gpus", "value"] = "many"
    edited.to_csv(tmp_path / "edited.csv", index=False)
    with pytest.raises(InputError, match=r"line 3: value \(a buy_gpus row's, in GPUs\) must be a number of"):
        api.read_purchases(tmp_path / "edited.csv", tiny)


def test_a_plan_csv_row_whose_item_and_sku_disagree_is_refused(tiny, free, tmp_path):
    """A buy row with item H100@texas but sku B200 was read as B200: an edit of the item alone was
    silently ignored. The two must agree; an emptied item leaves the sku and site to say it."""
    frame = free.plan_frame()
    buy = frame["decision"].isin(["buy", "buy_gpus"])
    edited = frame.copy()
    edited.loc[buy, "item"] = "H100@texas"
    edited.to_csv(tmp_path / "edited.csv", index=False)
    said = r"line 2: item 'H100@texas' is not the row's sku and site \(B200@texas\)"
    with pytest.raises(InputError, match=said):
        api.read_purchases(tmp_path / "edited.csv", tiny)
    edited.loc[buy, "item"] = ""
    edited.to_csv(tmp_path / "emptied.csv", index=False)
    emptied = api.read_purchases(tmp_path / "emptied.csv", tiny)
    np.testing.assert_array_equal(emptied.blocks, free.plan.buy_blocks)
    # a SKU the model lacks, its item left as it was: the unknown SKU is what is said (a lab planner
    # was told the item disagreed)
    unknown = frame.copy()
    unknown.loc[buy, "sku"] = "GB300"
    unknown.to_csv(tmp_path / "unknown.csv", index=False)
    with pytest.raises(InputError, match=r"line 2: sku 'GB300' is none of the SKUs of model 'tiny'"):
        api.read_purchases(tmp_path / "unknown.csv", tiny)


def test_buying_nothing_on_tiny_is_infeasible_and_says_what_was_fixed(here):
    """tiny needs its B200 purchase to meet the 1.4x debt-service cover: with none, the diagnosis
    names the covenant and the message the file; no run folder is left. Buying nothing is said with
    a row of 0 GPUs: a file without purchase rows is refused (a typo in plan.csv's decisions read
    as no purchases at all)."""
    write(here / "none.csv", "2026Q3,B200,texas,0")
    code, out, err = run_cli("solve", "tiny", "--purchases", "none.csv", "--out", "R")
    assert code == 3, out + err
    assert "infeasible with the purchases of none.csv fixed" in err
    assert "EBITDA / debt service covenant in" in err
    assert leftovers(here) == ["none.csv"]


@pytest.mark.parametrize(
    "header, rows, message",
    [
        (
            "quarter,sku,site,gpus",
            [],
            "no purchase rows; to solve with no purchases at all, give one with gpus 0",
        ),
        ("quarter,sku,site,gpus,gpus", ["2026Q3,B200,texas,2000,0"], "the header names gpus twice"),
        (
            PLAN_HEADER,
            ["2026Q3,Buy_GPUs,B200@texas,B200,texas,,2000.0,GPUs"],
            "decision 'Buy_GPUs' is none of",
        ),
        (
            PLAN_HEADER,
            ["2026Q3,buy,B200@texas,B200,texas,,250,GPUs"],
            "a buy row's value is in blocks, not GPUs",
        ),
        ("quarter,sku,site,gpus", ['2026Q3,B200,texas,"1,6"'], "gpus must be a number of GPUs (got '1,6')"),
        ("quarter,sku,site,gpus", ["2026Q3,B200,texas,1_600"], "gpus must be a number of GPUs (got '1_600')"),
        ("quarter;sku;site;gpus", ["2026Q3;B200;texas;2000"], "separated by ';': save it with commas"),
    ],
)
def test_a_file_misread_as_other_purchases_is_refused(tiny, tmp_path, header, rows, message):
    """Each was read as other purchases, without a word: no rows (or a decision misspelt) as no
    purchases at all, a repeated column as its last copy, a block count as GPUs, 1,6 as 16."""
    with pytest.raises(InputError, match=re.escape(message)):
        api.read_purchases(write(tmp_path / "p.csv", *rows, header=header), tiny)


def test_spreadsheet_rows_and_notes_are_read(tiny, tmp_path):
    """An empty row a spreadsheet pads with, a notes column named decision next to gpus, and a
    quoted thousands separator."""
    path = write(tmp_path / "p.csv", '2026Q3,B200,texas,"2,000",approved by the CFO', ",,,,",
                 header="quarter,sku,site,gpus,decision")  # fmt: skip
    assert api.read_purchases(path, tiny).blocks[1, 0, 0] == 250


def test_a_header_in_a_spreadsheets_capitals_is_read(tiny, tmp_path):
    """"Quarter,SKU,Site,GPUs" was refused with "missing: quarter, sku, site, gpus"."""
    path = write(tmp_path / "p.csv", "2026Q3,B200,texas,2000", header="Quarter, SKU ,Site,GPUs")
    assert api.read_purchases(path, tiny).blocks[1, 0, 0] == 250


def test_a_plan_csv_that_buys_nothing_and_trailing_empty_columns_are_read(tiny, tmp_path):
    """A solve's plan.csv has no buy rows where its plan buys nothing: read as no purchases (a file
    of the four columns with no rows is refused instead); a spreadsheet's trailing empty columns
    are not repeated names."""
    plan_csv = write(tmp_path / "plan.csv", "2026Q3,contract_accepted,lab-a-training,,,training,1.0,0/1",
                     header=PLAN_HEADER)  # fmt: skip
    assert api.read_purchases(plan_csv, tiny).blocks.sum() == 0
    padded = write(tmp_path / "p.csv", "2026Q3,B200,texas,2000,,", header="quarter,sku,site,gpus,,")
    assert api.read_purchases(padded, tiny).blocks[1, 0, 0] == 250


def test_purchases_read_for_another_model_are_refused(tiny, tmp_path):
    fixed = api.read_purchases(write(tmp_path / "p.csv", "2026Q3,B200,texas,2000"), tiny)
    with pytest.raises(InputError, match="read for a model with other SKUs"):
        api.solve("lab", purchases=fixed)


def test_every_decision_plan_csv_holds_is_one_purchases_reads(free):
    """The decisions read back from a plan.csv are named once (core.results.tables.PLAN_DECISIONS): every
    one tiny's plan writes is among them."""
    from fleetopt.core.results.tables import PLAN_DECISIONS

    assert set(free.plan_frame()["decision"]) <= set(PLAN_DECISIONS)


def test_the_run_records_the_file(here, tiny):
    write(here / "p.csv", "2026Q3,B200,texas,2000")
    code, out, err = run_cli("solve", "tiny", "--purchases", "p.csv", "--out", "R")
    assert code == 0, out + err
    assert "fixed from p.csv: 2,000 GPUs in 1 row" in out
    summary = json.loads((here / "R" / "summary.json").read_text())
    assert summary["purchases"] == {"file": "p.csv", "copy": "purchases.csv", "rows": 1, "gpus": 2000.0}
    assert (here / "R" / "purchases.csv").read_text() == (here / "p.csv").read_text()  # kept as read
    _, labels, _ = load_plans(here / "R" / "plan.npz", tiny[1])
    assert labels == ["milp, purchases fixed (p.csv)"]  # as evaluations and comparisons name the plan


@pytest.mark.parametrize(
    "rows, header, message",
    [
        (["2026Q4,B300,texas,1000"], None, "sku 'B300' is none of the SKUs of model 'tiny' (H100, B200)"),
        # a name in another case: the one meant is offered (the file was refused with no hint)
        (["2026Q4,b200,texas,8"], None, "sku 'b200' is none of the SKUs of model 'tiny' (H100, B200): "
                                        "did you mean 'B200'? (names are case-sensitive)"),
        (["2026q4,B200,texas,8"], None, "did you mean '2026Q4'?"),
        # punctuation or a typo: offered too (GB-300 had no hint where Texas had)
        (["2026Q4,B-200,texas,8"], None, "sku 'B-200' is none of the SKUs of model 'tiny' (H100, B200): did "
                                         "you mean 'B200'?"),
        # a generation, as the tables of purchases by generation head it ("20 % fewer Blackwells"): its
        # SKUs named (it read "none of the SKUs (H100, B200)", leaving the planner to guess which)
        (["2026Q4,blackwell,texas,8"], None, "line 2: sku 'blackwell' is a generation, not an SKU: give an "
                                             "SKU by its name (its SKUs in model 'tiny': B200)"),
        (["2027Q4,Rubin,texas,72"], None, "sku 'Rubin' is a generation, not an SKU: give an SKU by its name "
                                          "(model 'tiny' has no SKU of it)"),
        (["2026Q4,B200,Texs,8"], None, "site 'Texs' is none of the sites of model 'tiny' (texas): did you "
                                       "mean 'texas'?"),
        (["2026Q4,B200,texas,1001"], None, "line 2: gpus must be a whole number of B200 blocks of 8 GPUs"),
        # the whole counts around it, to pick from (40,000 of a 576-GPU pod left the arithmetic to them),
        # said as such: "(got '3': 8)" read as a value and a second one, unexplained
        (["2026Q4,B200,texas,1001"], None,
         "0 or more (got '1001'; nearest whole blocks: 1,000 or 1,008 GPUs)"),
        (["2026Q4,B200,texas,3"], None, "0 or more (got '3'; nearest whole blocks: 8 GPUs)"),
        (["2026Q4,B200,texas,-8"], None, "line 2: gpus must be a whole number of B200 blocks of 8 GPUs"),
        (["2026Q4,B200,texas,nan"], None, "line 2: gpus must be a whole number"),
        # an empty cell: said empty (it read "must be a number of GPUs (got '')", as if typed)
        (["2026Q4,B200,texas,"], None, "line 2: gpus is empty: give the number of GPUs (0 to buy none)"),
        # a quarter outside the horizon: its ends (2026Q2 before tiny's read "did you mean '2029Q2'?" in lab)
        (["2030Q4,B200,texas,8"], None,
         "line 2: quarter 2030Q4 is after the horizon of model 'tiny', 2026Q3 to 2028Q2"),
        (["2026Q2,B200,texas,8"], None, "line 2: quarter 2026Q2 is before the horizon of model 'tiny'"),
        (["2026Q4,B200,ohio,8"], None, "line 2: site 'ohio' is none of the sites of model 'tiny' (texas)"),
        # tiny's H100 is on sale until 2026Q4 and its horizon starts in 2026Q3
        (["2027Q1,H100,texas,8"], None, "H100 is not on sale in 2027Q1: it is on sale from 2026Q3 to 2026Q4"),
        (
            ["2026Q4,B200,texas,8", "2026Q4,B200,texas,16"],
            None,
            "line 3: a second row for B200 at texas in 2026Q4",
        ),
        (["2026Q4,B200,8"], "quarter,sku,gpus", "the header must name the columns quarter, sku, site, gpus"),
        # blank lines above the header: said so (it read "the file is empty")
        (["quarter,sku,site,gpus", "2026Q3,B200,texas,8"], "\n", "its first line is blank: the header"),
        # a comment line above the header: what was read as the header is shown
        (["quarter,sku,site,gpus", "2026Q4,B200,texas,8"], "# my orders",
         "gpus; its first line reads '# my orders' (the first line is the header"),
        # quoted as written (it read '# tiny: one site,two skus': lower case, spaces dropped)
        (["quarter,sku,site,gpus", "2026Q4,B200,texas,8"], "# Tiny: one site, two SKUs",
         "its first line reads '# Tiny: one site, two SKUs'"),
        # an unquoted thousands separator: 8,000 read as 8 and a stray field (it bought 8 GPUs)
        (["2027Q1,B200,texas,8,000"], None, "line 2: more fields than the header's 4"),
        (["2027Q1,B200,texas"], None, "line 2: fewer fields than the header's 4"),
        (["2027Q1,B200,texas,8,"], None, "more fields than the header's 4: a comma at the end of the row"),
        (["2026Q4,B200,texas,1e30"], None, "line 2: gpus must be at most 100,000,000 GPUs"),
    ],
)
def test_a_bad_row_is_refused_naming_line_and_field(here, rows, header, message):
    write(here / "p.csv", *rows, **({"header": header} if header else {}))
    code, out, err = run_cli("solve", "tiny", "--purchases", "p.csv", "--out", "R")
    assert_one_error(code, out, err, "p.csv", message)
    assert "solving" not in out  # refused before the solve
    assert leftovers(here) == ["p.csv"]


def test_purchases_beyond_the_suppliers_allocation_are_refused_naming_their_lines(here):
    """tiny allowed 1,000 new Blackwell GPUs a quarter: 2,000 B200 in 2026Q3 (two rows, 1,200 and
    800) are 1,000 too many. The solve ran and said "hard constraints ... check facility sizes,
    build limits and the installed fleet" (exit 3), naming no allocation and no line."""
    write(here / "p.csv", "2026Q3,B200,texas,1200", "2026Q4,B200,texas,8", "2026Q3,H100,texas,800")
    allow = ("--set", "limits.new_gpus_per_quarter={blackwell: 1000}")
    code, out, err = run_cli("solve", "tiny", "--purchases", "p.csv", *allow, "--out", "R")
    assert_one_error(code, out, err, "p.csv, line 2: 1,200 new blackwell GPUs bought in 2026Q3, more than "
                     "the 1,000 the supplier allocates that quarter (limits.new_gpus_per_quarter.blackwell")
    assert "solving" not in out  # refused before the solve
    assert leftovers(here) == ["p.csv"]
    write(here / "p.csv", "2026Q3,B200,texas,1000", "2026Q4,B200,texas,1000")  # on the allocation: read
    _, data = api.load(api.edit("tiny", {"limits.new_gpus_per_quarter": {"blackwell": 1000}}))
    assert api.read_purchases(here / "p.csv", data).gpus(data) == 2000


@pytest.mark.parametrize(
    "name, text, kind",
    [("orders.yaml", "purchases:\n  - {quarter: 2026Q3, sku: B200, site: texas, gpus: 2000}\n", "YAML"),
     ("orders.yml", "quarter;sku;site;gpus\n", "YAML"),  # by its suffix, whatever its first line
     ("orders.json", '{"purchases": [{"quarter": "2026Q3", "gpus": 2000}]}\n', "JSON"),
     ("orders.txt", "- quarter: 2026Q3\n  sku: B200\n", "YAML"),  # by its first line: a YAML list
     # one line of JSON, several keys: the CSV reader splits it at its commas; no header opens a list
     ("j.csv", '[{"quarter": "2026Q3", "sku": "B200", "site": "texas", "gpus": 1600}]', "JSON")],
)  # fmt: skip
def test_a_yaml_or_json_file_is_refused_saying_what_a_purchases_file_is(here, name, text, kind):
    """A YAML or JSON file was refused as a CSV whose header "must name the columns quarter, sku, site,
    gpus ... missing: quarter, sku, site, gpus; its first line reads 'purchases:'"."""
    (here / name).write_text(text)
    code, out, err = run_cli("validate", "tiny", "--purchases", name)
    assert_one_error(code, out, err, f"{name}: a purchases file is CSV with the columns "
                     "quarter,sku,site,gpus (or a solve's plan.csv), a row per purchase; this file reads as "
                     f"{kind}")
    assert leftovers(here) == [name]


@pytest.mark.parametrize(
    "given, message",
    [(".", "is a folder"), ("nowhere.csv", "does not exist"),
     # read until memory ran out (12.5 GB of /dev/urandom in 75 s): refused after 64 MiB, as a model is
     ("/dev/zero", "is larger than 64 MiB: not a purchases CSV")],
)  # fmt: skip
def test_a_missing_file_is_refused(here, given, message):
    code, out, err = run_cli("solve", "tiny", "--purchases", given, "--out", "R")
    assert_one_error(code, out, err, f"purchases file {given} {message}")
    assert leftovers(here) == []


def test_a_run_folder_or_its_plan_file_points_to_its_plan_csv(here):
    """A solve's folder or its plan.npz given as purchases said only "a folder" or "not UTF-8 text"
    (from a lab planner's review): both name the plan.csv to give instead."""
    code, _, err = run_cli("solve", "tiny", "--out", "base")
    assert code == 0, err
    folder = "is a folder, not a CSV file: give the run's base/plan.csv"
    npz = "is a plan file (.npz), not a CSV file: give base/plan.csv, beside it"
    for given, said in (("base", folder), ("base/plan.npz", npz)):
        code, out, err = run_cli("solve", "tiny", "--purchases", given, "--out", "R")
        assert_one_error(code, out, err, f"purchases file {given} {said}")
    assert not (here / "R").exists()


def test_purchases_cannot_apply_to_a_stochastic_solve(here):
    write(here / "p.csv")
    code, out, err = run_cli("solve", "tiny", "--stochastic", "3", "--purchases", "p.csv")
    assert_one_error(code, out, err, "--purchases cannot apply with --stochastic N")


def test_the_api_refuses_bad_files_alike(tiny, tmp_path):
    with pytest.raises(InputError, match="sku 'B300'"):
        api.solve(tiny, purchases=write(tmp_path / "p.csv", "2026Q4,B300,texas,8"))


@pytest.mark.parametrize(
    "call",
    [lambda m: api.solve(m, purchases=""), lambda m: api.solve(m, purchases={"mine": " "}),
     lambda m: api.sweep(m, candidates=2, scenarios=5, purchases=[""])],
    ids=["solve", "solve-named", "sweep"],
)  # fmt: skip
def test_the_api_refuses_an_empty_purchases_path_by_name(tiny, here, call):
    """purchases="" (an unset variable) was read as the current folder: "purchases file . is a
    folder, not a CSV file", naming a folder never given (the CLI's --purchases "" is refused so)."""
    with pytest.raises(InputError, match=r"^purchases is empty: give a CSV file's path$"):
        call(tiny)
    assert leftovers(here) == []


# ---------------------------------------------------------------- purchases that break a hard limit


def test_purchases_that_break_a_covenant_are_refused_with_the_way_to_complete_them(here, monkeypatch):
    """tiny with 1,000 B200 in 2026Q3 (its optimum buys 2,000) misses the 1.4x DSCR in 2028Q1-Q2:
    the solve is infeasible (exit 3), and says how to get the plan and its risk anyway: the command
    typed, with --rescue (it said `fleetopt solve --purchases p.csv --rescue`, which solves the
    default model, not tiny)."""
    write(here / "p.csv", "2026Q3,B200,texas,1000")
    command = ["solve", "tiny", "--purchases", "p.csv", "--out", "R"]
    monkeypatch.setattr(sys, "argv", ["fleetopt", *command])  # as the entry point sees it
    code, _, err = run_cli(*command)
    assert code == 3, err
    text = " ".join(err.split())
    assert "EBITDA / debt service covenant in 2028Q1..2028Q2" in text
    assert "evaluate their risk: fleetopt solve tiny --purchases p.csv --out R --rescue" in text
    assert leftovers(here) == ["p.csv"]
    # a file name with a space is quoted, so that the command can be pasted back
    write(here / "my orders.csv", "2026Q3,B200,texas,1000")
    command = ["solve", "tiny", "--purchases", "my orders.csv"]
    monkeypatch.setattr(sys, "argv", ["fleetopt", *command])
    code, _, err = run_cli(*command)
    assert code == 3 and "fleetopt solve tiny --purchases 'my orders.csv' --rescue" in " ".join(err.split())


def test_in_python_the_infeasible_purchases_message_offers_the_rescue(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("quarter,sku,site,gpus\n2026Q3,B200,texas,1000\n")
    with pytest.raises(api.InfeasibleModel, match=r"solve\(\.\.\., rescue=True\) completes these purchases"):
        api.solve("tiny", purchases=path)
    assert api.solve("tiny", purchases=path, rescue=True).status == "rescued"


def test_a_covenant_the_diagnosis_sidesteps_by_a_contract_short_is_still_rescued():
    """100 GPUs on a signed $1/h contract, the market paying $1.10/h, a $4M loan at 8 % repaid over
    40 quarters (debt service 180,000) and a 1.5x DSCR: EBITDA 219,000 breaks it. The diagnosis's
    cheapest relaxation delivered the contract short, its GPUs earning more on the market, beside
    the DSCR; the rescue, which cures finance limits only, was refused for the contract, then offered
    as an attempt. The purchases lack no GPU for it: the diagnosis of fixed purchases names the DSCR
    alone (formulation §8), and the rescue is offered as certain and completes them (a planner's
    notebook on the default model, Rubin orders delayed)."""
    from milp_builders import base_model, load

    d = base_model()
    d["skus"]["A"]["available_from"] = "2025Q1"
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2025Q4", "gpus": 100, "use": "inference",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["contracts"] = {"anchor": {"customer": "c1", "use": "inference", "gpus": 100, "start": "2026Q1",
                                 "term_quarters": 4, "price_usd_per_gpu_hour": 1.0, "signed": True,
                                 "eligible_skus": ["A"]}}  # fmt: skip
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": 1.1}
    d["finance"]["facilities"] = {"loan": {"size_usd": 4.0e6, "opening_balance_usd": 4.0e6,
                                           "fixed_rate_annual": 0.08, "amortization_quarters": 40,
                                           "draw_from": "2026Q1", "draw_until": "2026Q1"}}  # fmt: skip
    d["finance"]["covenants"] = {"test_from": "2026Q1", "min_dscr": 1.5}
    loaded, orders = load(d), pd.DataFrame([{"quarter": "2026Q1", "sku": "A", "site": "s1", "gpus": 1}])
    with pytest.raises(api.InfeasibleModel) as infeasible:
        api.solve(loaded, purchases=orders)
    assert [entry["group"] for entry in infeasible.value.diagnosis] == ["dscr_covenant"]
    assert "rescue=True) completes these purchases anyway" in str(infeasible.value)
    rescued = api.solve(loaded, purchases=orders, rescue=True)
    assert rescued.status == "rescued"
    served = rescued.plan.contract_gpus.sum(axis=(1, 2))[0]  # the contract delivered in full
    assert served == pytest.approx([100.0] * 4, rel=1e-9)


def test_purchases_short_of_power_are_not_rescued(here):
    """40,000 B200 need 13.5 MW more than texas has in 2026Q3 even with its installed fleet retired:
    the rescue cures finance limits only, and the diagnosis of fixed purchases proves that no cure of
    money gives the MW (formulation §8, "Fixed purchases"). The message offered --rescue as an
    attempt ("tries to complete these purchases ... perhaps only as its cheapest way around them"),
    and --rescue tried it, bound to fail ("the rescue found no plan either"); now both say at once
    that the rescue cannot complete them, and what they lack. Before all that, the rescue drew power
    that does not exist and wrote a plan no evaluation could take."""
    write(here / "p.csv", "2026Q3,B200,texas,40000")
    cannot = ("The rescue cures finance limits only (cash, covenants, the borrowing base), so it cannot "
              "complete these purchases: whatever the money they are short of power (site texas in "
              "2026Q3 short by 13.5 MW).")
    for rescue in ([], ["--rescue"]):
        code, _, err = run_cli("solve", "tiny", "--purchases", "p.csv", *rescue, "--out", "R")
        said = " ".join(err.split())
        assert code == 3 and "power in 2026Q3" in err and said.endswith(cannot)
        assert "--rescue tries" not in said
    assert leftovers(here) == ["p.csv"]
    with pytest.raises(api.InfeasibleModel, match="so it cannot complete these purchases"):  # in Python too
        api.solve("tiny", purchases=here / "p.csv", rescue=True)


def test_purchases_short_of_a_contract_s_gpus_are_told_what_they_lack_not_offered_the_rescue():
    """300 GPUs bought for a signed contract of 500 in 2026Q2..2026Q3, $0.4M of cash: whatever the
    money the contract is short by 200 GPUs a quarter (tests/test_diagnose.py), beside the cash;
    the rescue, which holds contracts, cannot complete them, and the message says so, naming the
    contract, where it offered the rescue as an attempt."""
    from milp_builders import base_model, load

    d = base_model()
    d["contracts"] = {"big": {"customer": "c1", "use": "training", "eligible_skus": ["A"], "gpus": 500,
                              "start": "2026Q2", "term_quarters": 2, "price_usd_per_gpu_hour": 1.0,
                              "signed": True}}  # fmt: skip
    d["finance"]["opening_cash_usd"] = 0.4e6
    d["retirement"]["resale"] = False
    loaded, orders = load(d), pd.DataFrame([{"quarter": "2026Q1", "sku": "A", "site": "s1", "gpus": 300}])
    with pytest.raises(api.InfeasibleModel) as infeasible:
        api.solve(loaded, purchases=orders)
    assert [entry["group"] for entry in infeasible.value.diagnosis] == ["contract_delivery", "min_cash"]
    assert not infeasible.value.rescuable
    assert str(infeasible.value).endswith(
        "so it cannot complete these purchases: whatever the money they are short of contract delivery "
        "(contract big in 2026Q2 short by 200 GPUs, in 2026Q2..2026Q3)")


def test_a_diagnosis_not_proven_still_offers_the_rescue_as_an_attempt(monkeypatch, tmp_path):
    """The same 40,000 B200 where the relaxed model stopped short of its optimum (its caveat, the
    "not proven" line): the MW it names may be only its way round the cash, so the rescue is offered
    as an attempt, as it was before the diagnosis proved what purchases lack."""
    from fleetopt.milp import diagnose

    monkeypatch.setattr(diagnose, "_caveat", lambda *args: "the relaxed model stopped early (time_limit)")
    path = write(tmp_path / "p.csv", "2026Q3,B200,texas,40000")
    with pytest.raises(api.InfeasibleModel, match=r"rescue=True\) tries to complete these purchases anyway"):
        api.solve("tiny", purchases=path)


def test_a_conflict_naming_power_beside_finance_limits_is_still_rescued(tiny, tmp_path):
    """8,000 B200 at texas in 2026Q3: the diagnosis named the borrowing base, the cash floor and
    texas's power (23.7 MW of 20 if every GPU ran), and `solve --rescue` refused ("the rescue cures
    finance limits only ... these purchases break others") where `sweep --purchases` rescued the
    same file. The rescue, which holds every MW, completes them: it retires the installed H100s and
    sells B200s, and the plan draws no MW texas does not have, as the evaluator checks. Its policy
    reacts on the forecast, which the solve warns of (the warning leaked into the test run). The
    power was the diagnosis's cheapest way round the cash (running B200s beyond texas's MW earns
    it): lab-a's 4,000 H100 draw 6.5 MW and the 8,000 B200 held idle 5.4 MW of texas's 20, so the
    purchases lack no MW, and the diagnosis of fixed purchases no longer names it (formulation §8)."""
    path = write(tmp_path / "p.csv", "2026Q3,B200,texas,8000")
    with pytest.warns(FleetoptWarning, match="the plan reacts on the forecast itself"):
        rescued = api.solve("tiny", purchases=path, rescue=True)
    assert rescued.status == "rescued" and rescued.plan.buy_blocks.sum() == 1000
    assert compile_plans(tiny[1], [rescued.plan], ["rescued"], check_limits=True).P == 1
    # so the plain solve offers it, as certain: the conflict names finance limits alone (it offered
    # none where it named power, then an attempt)
    with pytest.raises(api.InfeasibleModel) as infeasible:
        api.solve("tiny", purchases=path)
    assert "power" not in {entry["group"] for entry in infeasible.value.diagnosis}
    assert "rescue=True) completes these purchases anyway" in str(infeasible.value)


def test_rescue_completes_purchases_that_break_a_covenant_and_says_what_they_break(here, tiny):
    """With --rescue the same purchases are completed by the rescue model: the plan buys exactly the
    file's 1,000 GPUs, its own statements miss the 1.4x DSCR in the two quarters the infeasible solve
    named, the run says so, and an evaluation on the forecast marks it as breaching there."""
    write(here / "p.csv", "2026Q3,B200,texas,1000")
    code, out, err = run_cli("solve", "tiny", "--purchases", "p.csv", "--rescue", "--out", "R")
    assert code == 0, err
    assert "rescued: the purchases break hard limits on the forecast" in " ".join(out.split())
    summary = json.loads((here / "R" / "summary.json").read_text())
    assert summary["status"] == "rescued"
    broken = summary["completion"]["limits_broken"]
    assert broken == [{"limit": "EBITDA / debt service >= 1.4x", "quarters": ["2028Q1", "2028Q2"]}]
    rescue = summary["completion"]["rescue"]
    assert rescue["covenant_cure"] and not rescue["cash_rescue"]
    data = tiny[1]
    plans, labels, _ = load_plans(here / "R" / "plan.npz", data)
    assert labels == ["milp, purchases fixed (p.csv), rescued"]
    assert plans[0].buy_blocks.sum() * data.block_size[data.sku_names.index("B200")] == 1000
    statements = pd.read_csv(here / "R" / "statements.csv").set_index("quarter")
    assert (statements.loc[["2028Q1", "2028Q2"], "dscr"] < 1.4).all()
    evaluation, _, _ = api.evaluate(here / "R", deterministic=True)
    assert not evaluation.metrics["forecast_within_limits"].iloc[0]


def test_a_rescue_names_the_models_own_covenant_as_the_diagnosis_does(here):
    """tiny's DSCR tested on EBITDA less tax (finance.covenants.dscr_cash_flow): the same 1,000 B200
    break it, and the rescue's cure read "EBITDA / debt service covenant $3.0M short", the
    catalogue's words, where the statements' warning and the diagnosis say "(EBITDA - tax) / debt
    service". summary.json keeps each relaxed group's words (``limit``) beside its amount, and the
    terminal reads them; a summary written before, with none, reads the group's words."""
    from fleetopt.milp.completion import completion_facts

    write(here / "p.csv", "2026Q3,B200,texas,1000")
    less_tax = ["--set", "finance.covenants.dscr_cash_flow=ebitda_less_tax"]
    code, _, err = run_cli("solve", "tiny", "--purchases", "p.csv", "--rescue", *less_tax, "--out", "R")
    assert code == 0, err
    rescue = json.loads((here / "R" / "summary.json").read_text())["completion"]["rescue"]
    ((group, cure),) = rescue["slacks"].items()
    assert (group, cure["limit"]) == ("dscr_covenant", "(EBITDA - tax) / debt service covenant")

    def completed_by() -> str:  # the terminal's and the report's row
        facts = completion_facts({"method": "rescue", "rescue": rescue})
        return next(words for label, words, _ in facts if label == "plan completed by")

    assert "emergency equity $0, (EBITDA - tax) / debt service covenant $" in completed_by()
    del cure["limit"]  # a summary.json written before the words were kept
    assert "emergency equity $0, EBITDA / debt service covenant $" in completed_by()


@pytest.mark.parametrize(
    "args, message",
    [(["--rescue"], "--rescue cannot apply without --purchases"),
     (["--purchases", "p.csv", "--rescue", "--objective", "cost"], "cannot apply with --objective cost")],
)  # fmt: skip
def test_rescue_is_refused_where_it_cannot_apply(here, args, message):
    write(here / "p.csv", "2026Q3,B200,texas,1000")
    code, out, err = run_cli("solve", "tiny", *args, "--out", "R")
    assert_one_error(code, out, err, message)
    with pytest.raises(InputError, match="rescue completes fixed purchases"):
        api.solve("tiny", rescue=True)


def test_rescue_changes_nothing_for_purchases_within_every_limit(tiny, free):
    """The optimum's own purchases with rescue=True: the plain solve has a plan, so it is that plan."""
    fixed = FixedPurchases(free.plan.buy_blocks.copy(), "optimum", 1, "", purchase_axes(tiny[1]))
    result = api.solve(tiny, mip_gap=0.0, purchases=fixed, rescue=True)
    assert result.status == "optimal" and result.rescue is None
    assert result.statements.npv_usd == pytest.approx(free.statements.npv_usd, rel=1e-9)


def test_gpus_retired_within_a_year_of_their_purchase_are_named(tiny):
    """A planner's purchases that later ones left no power for were bought and retired the next
    quarter, in fractions, with nothing but plan.csv to show it (from a capacity planner's review):
    the solve and its report now say how many, of which purchase, when. 2,000 B200 bought in
    2026Q3; 600 retired in 2026Q4 and 0.4 in 2027Q1 (half a GPU or less: round-off, not named),
    100 in 2027Q3 (a year after: a plan's choice, not named)."""
    from fleetopt.core.plan import Plan
    from fleetopt.core.results.fleet import soon_retired

    data = tiny[1]
    plan = Plan.empty(data)
    s, i = data.sku_names.index("B200"), [site.name for site in data.sites].index("texas")
    plan.buy_blocks[s, i, 0] = 2000 / data.block_size[s]
    cohort = next(co for co in data.cohorts if (co.sku, co.site, co.bought) == (s, i, 0))
    assert soon_retired(data, plan) is None
    plan.retire_inference[cohort.index, [1, 2, 4]] = [600.0, 0.4, 100.0]
    assert soon_retired(data, plan) == (
        "600 GPUs (30.0% of those bought): 600 of B200@texas bought 2026Q3 retired in 2026Q4"
    )
    # past four retirements the rest are counted in GPUs: "1 more" had read as one GPU (an audit)
    plan.retire_inference[cohort.index, [2, 3]] = [50.0, 40.0]
    later = next(co for co in data.cohorts if (co.sku, co.site, co.bought) == (s, i, 1))
    plan.buy_blocks[s, i, 1] = 1000 / data.block_size[s]
    plan.retire_inference[later.index, [2, 3]] = [30.0, 20.0]
    assert soon_retired(data, plan).endswith(
        "30 of B200@texas bought 2026Q4 retired in 2027Q1; 20 more in 1 other retirement"
    )


def test_gpus_retired_within_a_year_say_which_covenant_had_no_room_while_held():
    """The default model with Rubin two quarters late bought 97,920 GB300 in 2027Q1 and sold them in
    2027Q2 at a $1.9B loss, and a planner could not tell advice from artifact: in 2027Q1 the DSCR,
    first tested then, was met with no room, so their quarter of revenue met it. The line now says
    so. A test met within a millionth of its threshold has no room (a binding MILP row); tested
    quarters only."""
    from fleetopt.core.covenants import CATALOGUE, CovenantTest
    from fleetopt.core.results.fleet import _held_when_tight

    q = ["2026Q4", "2027Q1", "2027Q2"]
    dscr = next(kind for kind in CATALOGUE if kind.name == "dscr")
    test = CovenantTest(dscr, 1.4, np.array([False, True, True]), (1, 2), 1)
    ratio = np.array([1.0, 1.4 * (1 + 5e-7), 1.5])  # a breach before testing starts is not "no room"
    assert test.met_without_room(ratio).tolist() == [False, True, False]
    tight = [(), ("EBITDA / debt service",), ()]
    said = " (held through 2027Q1, when EBITDA / debt service was met with no room)"
    assert _held_when_tight(q, tight, 1, 2) == said
    assert _held_when_tight(q, tight, 0, 2) == (
        " (held through 2026Q4..2027Q1, when EBITDA / debt service (2027Q1) was met with no room)"
    )
    assert _held_when_tight(q, tight, 2, 3) == ""


def test_the_orders_table_lists_each_purchase_with_its_capex(free):
    """A capacity team places orders by quarter, SKU and site, and the report gave only GPUs by
    generation and year. tiny's optimum: 250 blocks of 8 B200 at texas in 2026Q3, at $60,000 a GPU;
    the capex adds up to the statements' GPU capex."""
    from fleetopt.core.results.tables import orders_frame

    orders = orders_frame(free.data, free.plan)
    order = {"quarter": "2026Q3", "sku": "B200", "site": "texas", "blocks": 250.0, "gpus": 2000.0,
             "capex_usd": 1.2e8}  # fmt: skip
    assert orders.to_dict("records") == [order]
    assert orders["capex_usd"].sum() == free.statements.lines["capex_gpu_usd"].sum()


def test_a_fleet_installed_in_the_first_quarter_is_no_purchase(tmp_path):
    """A `fleet` entry bought in the horizon's first quarter is a cohort bought in quarter 0 as the
    plan's own orders are: its retirement was named "bought and retired within a year" (at "inf%"
    of the GPUs bought) and it would have been listed as an order (from a review)."""
    from fleetopt.core.plan import Plan
    from fleetopt.core.results.fleet import soon_retired
    from fleetopt.core.results.tables import orders_frame

    text = TINY_PATH.read_text().replace("purchased: 2024Q1", "purchased: 2026Q3")
    (tmp_path / "m.yaml").write_text(text)
    data = api.load(tmp_path / "m.yaml")[1]
    installed = next(co for co in data.cohorts if co.existing)
    assert installed.bought == 0
    plan = Plan.empty(data)
    plan.retire_inference[installed.index, 1] = 500.0
    assert soon_retired(data, plan) is None and orders_frame(data, plan).empty


def test_plan_csv_names_a_fleet_entry_of_the_first_quarter_as_installed():
    """A fleet entry bought in the horizon's first quarter and a purchase of that quarter share SKU,
    site and quarter: plan.csv names the first ``installed cohort 0`` (the model's fleet[0]) and the
    second ``bought 2026Q1``, so a retirement says which it is (a formulation audit)."""
    from milp_builders import base_model, data_of

    from fleetopt.core.plan import Plan
    from fleetopt.core.results.tables import plan_frame

    d = base_model()
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2026Q1", "gpus": 4, "use": "inference",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    data = data_of(d)
    purchase = next(c.index for c in data.cohorts if c.is_purchase and c.bought == 0)
    plan = Plan.empty(data)
    plan.retire_inference[0, 1] = 3.0
    plan.retire_inference[purchase, 2] = 1.0
    rows = plan_frame(data, plan).query("decision == 'retire'")
    assert rows["item"].tolist() == ["A@s1 installed cohort 0", "A@s1 bought 2026Q1"]


def test_a_solve_of_a_named_purchases_table_carries_its_name(free):
    """Two edited purchases tables both solved as "milp, purchases fixed (purchases table)" and could
    not be told apart in the run registry (a planner's notebook): {"name": table} names them, as a
    sweep's candidates are named; more than one entry is refused, pointing at the sweep."""
    orders = free.plan_frame().query("decision == 'buy_gpus'")
    named = api.solve("tiny", purchases={"B200 first": orders})
    assert named.purchases.source == "B200 first"
    assert named.statements.npv_usd == pytest.approx(free.statements.npv_usd, rel=1e-9)
    with pytest.raises(InputError, match=r"one set of purchases, named \{name: table\} \(got 2\)"):
        api.solve("tiny", purchases={"a": orders, "b": orders})


def test_a_cost_plans_purchases_ahead_of_its_demand_are_held_idle_and_serve_no_more_of_it():
    """formulation §6, "Spare capacity", said a cost plan's extra purchases given with --purchases
    "are retired at once"; lab's Vera Rubin bought in three lots ahead of its demand (a lab planner's
    "buy earlier") are partly held idle: 7,692 GPUs in 2027Q3, 3,958 in service. Either way the
    evaluator offers only GPUs in service to the market by default, so the plan serves no more of the
    scenarios' demand than the optimum does. With policy.idle_gpus_to_market (policy rule 5) its idle
    GPUs serve the demand above the forecast: 94.6 % of it on 100 scenarios against 89.2 %."""
    orders = pd.DataFrame({"quarter": ["2026Q3", "2026Q4", "2027Q3", "2028Q3"],
                           "sku": ["GB300", "VR-NVL72", "VR-NVL72", "VR-NVL72"],
                           "site": ["iowa"] * 4, "gpus": [792, 4320, 4320, 5040]})  # fmt: skip
    optimum, early = api.solve("lab", objective="cost"), api.solve("lab", objective="cost", purchases=orders)
    lines = early.statements_frame().set_index("quarter")
    assert lines.loc["2027Q3", "gpus_held"] == pytest.approx(7691.8, abs=0.1)
    assert lines.loc["2027Q3", "gpus_in_service"] == pytest.approx(3958.1, abs=0.1)
    figures = api.compare([optimum, early], "lab", scenarios=100, seed=7).figures
    served = figures.loc["demand_served_share"].to_numpy(dtype=float)
    assert served[0] < 0.95 and served[1] == pytest.approx(served[0], abs=1e-9)
    hedged = api.edit("lab", {"policy.idle_gpus_to_market": True})
    served = api.compare([optimum, early], hedged, scenarios=100, seed=7).figures.loc["demand_served_share"]
    assert served.to_numpy(dtype=float) == pytest.approx([0.8920, 0.9456], abs=1e-4)


def test_validate_checks_a_purchases_file_against_the_model_without_solving(tmp_path):
    """A purchases file could be checked only by a solve (minutes on a large model), and given to
    `validate` as the model it read 'the file must be a YAML mapping of blocks'. `validate MODEL
    --purchases FILE` reads it as `solve --purchases` does and shows what it buys, below the model
    named in one line (its whole summary came first): 1,000 B200
    blocks of 8 in 2026Q3 and 2 in 2027Q1 are 8,016 B200 (Blackwell) GPUs; a bad row is named."""
    good = write(tmp_path / "p.csv", "2026Q3,B200,texas,8000", "2027Q1,B200,texas,16")
    code, out, err = run_cli("validate", str(TINY_PATH), "--purchases", str(good))
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert f"ok: {good} is a valid purchases file for the model: 2 rows, 8,016 GPUs" in flat
    assert "blackwell 8,000 16 0" in flat and "hopper 0 0 0" in flat
    # the model in one line above them, not its 30-line summary (60 on neocloud) at every edit of the file
    assert out.splitlines()[0] == f"model: tiny ({TINY_PATH}), 2026Q3..2028Q2 (8 quarters)"
    assert "contracts" not in out and "lab-a-training" not in out
    bad = write(tmp_path / "q.csv", "2026Q3,B300,texas,8000")
    code, out, err = run_cli("validate", str(TINY_PATH), "--purchases", str(bad))
    assert code == 2 and "line 2: sku 'B300' is none of the SKUs of model 'tiny'" in err, out + err
    assert out == "", "the error comes alone, not below the model's summary"
    code, out, err = run_cli("validate", str(good))  # the purchases file given as the model
    assert_one_error(code, out, err, "it reads as a purchases file (quarter, sku, site, gpus)",
                     "fleetopt validate MODEL --purchases FILE")  # fmt: skip


@pytest.mark.parametrize(
    "content, said",
    [("quarter,sku,site,gpus\n2026Q3,B200,texas,8\n".encode("utf-16"), "is not UTF-8 text (it is UTF-16)"),
     ("quarter,sku,site,gpus\n2026Q3,B200,téxas,8\n".encode("cp1252"), "is not UTF-8 text: a CSV")],
    ids=["utf-16", "cp1252"],
)  # fmt: skip
def test_a_purchases_file_excel_saved_in_another_encoding_says_how_to_save_it(here, content, said):
    """Excel's 'Unicode Text' (UTF-16) and its plain 'CSV' (the system's code page) read 'is not UTF-8
    text (a CSV file is expected)': the message now says how to save it as Excel names the format."""
    (here / "p.csv").write_bytes(content)
    code, _, err = run_cli("validate", "tiny", "--purchases", "p.csv")
    said_all = " ".join(err.split())
    assert code == 2 and said in said_all and "Save As, 'CSV UTF-8 (Comma delimited)'" in said_all, err


def test_the_runs_list_names_the_purchases_file_a_solve_fixed(here):
    """Solves of three people's purchases files read alike in `fleetopt runs` ('NPV $X on the
    forecast'): a solve given a file now says whose purchases it fixed, by the file's name."""
    write(here / "cfo-plan.csv", "2026Q3,B200,texas,2000")
    code, _, err = run_cli("solve", "tiny", "--purchases", "cfo-plan.csv", "--out", "R")
    assert code == 0, err
    code, out, err = run_cli("runs")
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0 and "purchases of cfo-plan.csv fixed" in flat, out + err  # wrapped in its column
    code, out, err = run_cli("runs", "show", "R")
    assert code == 0 and "purchases_file" in out and "cfo-plan.csv" in out, out + err


def test_a_purchases_path_with_a_nul_character_is_refused_by_name_in_a_sweep_too(tiny, here):
    """fo.solve refused it (api/_solve.py _one_purchases); fo.sweep's proposals read the same file through
    purchases_for and raised Python's ValueError 'embedded null byte' from open, a traceback."""
    with pytest.raises(InputError, match=r"^purchases file 'orders\\x00\.csv' holds a NUL character"):
        purchases_for("orders\0.csv", tiny[1])
    with pytest.raises(InputError, match="holds a NUL character"):
        api.sweep("tiny", candidates=1, scenarios=5, purchases=["orders\0.csv"])
    assert not any(here.iterdir())  # nothing written


def test_columns_a_purchases_file_does_not_read_are_named_as_notes(here, tiny):
    """A purchases CSV with a price column (2,000 B200 in 2026Q3 at 25,000 a GPU) was read without a
    word, as if the price were the one paid: the purchases are the 2,000 GPUs alone, and `validate`
    and `solve` say the price column is a note, naming the columns read; a solve's own plan.csv
    columns (item, use, unit) are no notes."""
    (here / "p.csv").write_text("quarter,sku,site,gpus,Price,comment\n2026Q3,B200,texas,2000,25000,q\n")
    fixed = api.read_purchases("p.csv", tiny)
    assert fixed.note_columns == ("price", "comment") and fixed.gpus(tiny[1]) == 2000
    said = ("columns price and comment are not read: notes; the purchases are read from its quarter, "
            "sku, site and gpus columns")
    code, out, err = run_cli("validate", "tiny", "--purchases", "p.csv")
    assert code == 0 and said in " ".join(out.split()), out + err
    code, out, err = run_cli("solve", "tiny", "--purchases", "p.csv", "--out", "R")
    assert code == 0 and said in " ".join(out.replace("│", " ").split()), out + err
    plan_csv = here / "R" / "plan.csv"
    assert api.read_purchases(plan_csv, tiny).note_columns == ()
    code, out, err = run_cli("validate", "tiny", "--purchases", str(plan_csv))
    assert code == 0 and "not read: a note" not in out, out

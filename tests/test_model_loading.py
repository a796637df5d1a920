"""Loading the bundled models, resolving time series, and `fleetopt validate` on a good model."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_PATH, run_cli

import fleetopt
from fleetopt.core.quarters import parse_quarter
from fleetopt.errors import FleetoptWarning
from fleetopt.schema.loading import load_model
from fleetopt.schema.model import magnitude_notes
from fleetopt.schema.model_file import bundled_model_names, bundled_model_path, resolve_model_path
from fleetopt.schema.series import CompactSeries, resolve_series

Q2026Q3 = parse_quarter("2026Q3")


def test_bundled_tiny_path_exists_and_is_listed():
    path = bundled_model_path("tiny")
    assert path.is_file()
    assert path.name == "tiny.yaml"
    assert "tiny" in bundled_model_names()


def test_load_bundled_tiny_by_name():
    loaded = fleetopt.load_model("tiny")
    m = loaded.model
    assert m.name == "tiny"
    assert m.horizon.start == "2026Q3"
    assert m.horizon.quarters == 8
    assert m.quarter_labels == [
        "2026Q3", "2026Q4", "2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1", "2028Q2",
    ]  # fmt: skip
    assert list(m.skus) == ["H100", "B200"]
    assert m.skus["B200"].generation.value == "blackwell"
    assert list(m.sites) == ["texas"]
    assert [c.gpus for c in m.fleet] == [9600]
    assert set(m.contracts) == {"lab-a-training", "enterprise-inference"}
    assert m.contracts["lab-a-training"].signed is True
    assert m.contracts["enterprise-inference"].signed is False
    # Blocks left out of tiny.yaml get their defaults; written ones keep their values.
    assert m.retirement.selling_cost_fraction == pytest.approx(0.05)
    assert m.limits.max_customer_revenue_share == pytest.approx(0.67)
    assert m.sites["texas"].fixed_cost_per_mw_quarter_usd == 0.0


def test_load_by_path_matches_load_by_name():
    by_name = load_model("tiny")
    by_path = load_model(TINY_PATH)
    by_str = load_model(str(TINY_PATH))
    assert by_path.model == by_name.model == by_str.model
    assert by_path.source == str(TINY_PATH)
    assert by_path.text == TINY_PATH.read_text(encoding="utf-8")
    assert by_path.content_hash == hashlib.sha256(by_path.text.encode()).hexdigest()[:16]


def test_a_file_in_the_working_folder_wins_over_a_bundled_name(tmp_path, monkeypatch, tiny_text):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").write_text(tiny_text.replace("name: tiny", "name: local-copy"), encoding="utf-8")
    assert resolve_model_path("tiny") == Path("tiny")
    assert load_model("tiny").model.name == "local-copy"


def test_default_model_is_neocloud():
    """Needs models/neocloud.yaml (being written separately)."""
    assert resolve_model_path(None) == bundled_model_path("neocloud")
    loaded = load_model()
    assert loaded.model.name == "neocloud"


# --- time series -----------------------------------------------------------------


def test_constant_series():
    values = resolve_series(5.5, Q2026Q3, 4)
    assert values.dtype == np.float64
    assert values.tolist() == [5.5, 5.5, 5.5, 5.5]


def test_list_series_is_taken_as_written():
    assert resolve_series([1.0, 2.0, 4.0], Q2026Q3, 3).tolist() == [1.0, 2.0, 4.0]


def test_list_series_of_wrong_length_is_refused():
    with pytest.raises(ValueError, match="has 2 values but the horizon has 3 quarters"):
        resolve_series([1.0, 2.0], Q2026Q3, 3)


def test_growth_series_compounds_quarterly():
    # 21 %/year: one year (four quarters) later the level is exactly 1.21 x; a quarter is 1.21 ** 0.25.
    spec = CompactSeries(start=100.0, annual_growth=0.21)
    values = resolve_series(spec, Q2026Q3, 9)
    g = 1.21**0.25
    assert values[0] == 100.0
    assert values[1] == pytest.approx(100.0 * g)
    assert values[2] == pytest.approx(110.0)  # 1.21 ** 0.5 = 1.1
    assert values[4] == pytest.approx(121.0)
    assert values[8] == pytest.approx(146.41)
    assert values[1] != pytest.approx(100.0 * (1 + 0.21 / 4))  # compound, not simple


def test_declining_series():
    values = resolve_series(CompactSeries(start=60000.0, annual_growth=-0.10), Q2026Q3, 5)
    assert values[4] == pytest.approx(54000.0)
    assert np.all(np.diff(values) < 0)


def test_steps_reset_the_level_and_growth_continues():
    spec = CompactSeries(start=100.0, annual_growth=0.21, steps={"2027Q3": 10.0})
    values = resolve_series(spec, Q2026Q3, 7)
    g = 1.21**0.25
    expected = [100.0, 100 * g, 100 * g**2, 100 * g**3, 10.0, 10 * g, 10 * g**2]
    assert values == pytest.approx(expected)


def test_steps_without_growth_are_flat_between_steps():
    spec = CompactSeries(start=20.0, steps={"2026Q4": 30.0, "2027Q2": 0.0})
    assert resolve_series(spec, Q2026Q3, 5).tolist() == [20.0, 30.0, 30.0, 0.0, 0.0]


def test_a_step_in_the_first_quarter_replaces_start():
    spec = CompactSeries(start=1.0, steps={"2026Q3": 7.0})
    assert resolve_series(spec, Q2026Q3, 2).tolist() == [7.0, 7.0]


def test_series_of_the_tiny_model_resolve_over_its_horizon():
    m = load_model("tiny").model
    capex = resolve_series(m.skus["B200"].capex_per_gpu_usd, m.first_quarter, m.horizon.quarters)
    assert capex[0] == 60000.0
    assert capex[4] == pytest.approx(54000.0)
    power = resolve_series(m.sites["texas"].power_capacity_mw, m.first_quarter, m.horizon.quarters)
    assert power.tolist() == [20.0] * 8
    for _path, spec in m.series_fields():
        values = resolve_series(spec, m.first_quarter, m.horizon.quarters)
        assert values.shape == (8,)
        assert np.all(np.isfinite(values))


# --- the CLI on a good model ---------------------------------------------------------


def test_validate_tiny_by_path_prints_the_summary():
    code, out, err = run_cli("validate", str(TINY_PATH))
    assert code == 0, err
    assert err == ""
    for expected in ("tiny", "H100", "B200", "texas", "lab-a-training", "enterprise-inference"):
        assert expected in out
    assert "2026Q3..2028Q2 (8 quarters)" in out
    assert "9,600 GPUs installed" in out
    assert "texas: 20 MW online at start, PUE 1.25;" in " ".join(out.replace("│", " ").split())  # flat
    # the market (a lab's own demand): training 12,000 growing 30 % a year, 12,000 x 1.3^(7/4) =
    # 18,992 in the eighth quarter; the first quarter's prices; 85 % of hours billed
    flat = " ".join(out.replace("│", " ").split())
    assert "training: demand 12,000 H100-eq. GPUs in 2026Q3 to 18,992 in 2028Q2" in flat
    assert "prices per GPU-hour in 2026Q3: H100 $2.35, B200 $5.30" in flat and "85% of hours billed" in flat
    # rich wraps the summary at the console width: compare with whitespace folded.
    assert f"ok: {TINY_PATH} is a valid model" in " ".join(out.split())


def test_validate_writes_the_discount_rate_as_given():
    """An 8.25 % discount rate was summarised as "8.2%/year" (one decimal of a per cent): the rate
    is written as every rate for people is (core/units.format_rate, four significant digits)."""
    code, out, err = run_cli("validate", str(TINY_PATH), "--set", "horizon.discount_rate_annual=0.0825")
    assert code == 0, err
    assert "discount rate 8.25%/year" in " ".join(out.replace("│", " ").split())


def test_validate_writes_prices_per_gpu_hour_as_every_output_does():
    """A contract at $2.675 and a market price of $1.005 per GPU-hour were summarised as $2.67 and
    $1.00 (the float's own rounding, 2.675 being 2.67499...): prices per GPU-hour are written by
    core/units.format_usd_per_hour, half away from zero on the cents shown, as the reports write them."""
    prices = ("contracts.lab-a-training.price_usd_per_gpu_hour=2.675",
              "market.price_usd_per_gpu_hour.training.hopper.start=1.005")  # fmt: skip
    code, out, err = run_cli("validate", str(TINY_PATH), "--set", prices[0], "--set", prices[1])
    assert code == 0, err
    flat = " ".join(out.replace("│", " ").split())
    assert "for 4 quarters at $2.68/GPU-hour (signed)" in flat
    assert "prices per GPU-hour in 2026Q3: H100 $1.01, B200 $5.30" in flat


def test_validate_writes_the_shares_a_model_gives_as_given():
    """A max_ltv of 0.625, a customer limit of 0.125, a price volatility of 0.225 and a cash / debt
    covenant of 0.125 were summarised as "LTV <= 62%", "at most 12% of revenue", "prices 22%/sqrt(year)"
    and "debt >= 12%" (whole per cents, half to even): a share the model file gives is written as
    given (core/units.format_rate, four significant digits); whole ones as before."""
    changes = ("finance.facilities.gpu-term-loan.max_ltv=0.625", "limits.max_customer_revenue_share=0.125",
               "risk.price_volatility_annual=0.225", "finance.covenants.min_liquidity_fraction_of_debt=0.125")
    code, out, err = run_cli("validate", str(TINY_PATH), *(arg for c in changes for arg in ("--set", c)))
    assert code == 0, err
    flat = " ".join(out.replace("│", " ").split())
    for said in ("reference + 4.50%, LTV <= 62.5%", "cash / debt >= 12.5%",
                 "a customer at most 12.5% of revenue", "prices 22.5%/sqrt(year)",
                 "demand 20%/sqrt(year); prices step down 25%"):  # fmt: skip
        assert said in flat, said


def test_validate_by_bundled_name():
    code, out, err = run_cli("validate", "tiny")
    assert code == 0, err
    assert f"ok: {bundled_model_path('tiny')} is a valid model" in " ".join(out.split())


@pytest.mark.parametrize(
    ("capacity", "said"),
    [("{start: 0, steps: {2027Q1: 15}}", "texas: 0 MW online at start, +15 MW in 2027Q1, PUE 1.25"),
     ("{start: 20, steps: {2027Q1: 17.5, 2028Q1: 30}}",
      "texas: 20 MW online at start, -2.5 MW in 2027Q1, +12.5 MW in 2028Q1, PUE"),
     # 20 x 1.1^(7/4) = 23.64 MW in the eighth quarter
     ("{start: 20, annual_growth: 0.1}", "texas: 20 MW online at start, 23.6 MW by 2028Q2, PUE")],
    ids=["step-from-zero", "steps", "growth"],
)  # fmt: skip
def test_validate_says_how_a_site_s_power_changes(tmp_path, tiny_text, capacity, said):
    """`power_capacity_mw: {start: 0, steps: {2027Q1: 15}}` printed only "texas: 0 MW online at start"."""
    path = tmp_path / "model.yaml"
    text = re.sub(r"power_capacity_mw: 20 ", f"power_capacity_mw: {capacity} ", tiny_text, count=1)
    assert text != tiny_text
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli("validate", str(path))
    assert code == 0, err
    assert said in " ".join(out.replace("│", " ").split())


def test_validate_says_prices_revert_and_resale_values_load_on_them():
    """With a price half-life and a resale loading set, the summary still read "prices
    25%/sqrt(year)" and "resale values 20%/sqrt(year)", as for independent random walks."""
    edits = ("--set", "risk.price_mean_reversion_half_life_quarters=8",
             "--set", "risk.resale_price_loading=0.8")  # fmt: skip
    code, out, err = run_cli("validate", str(TINY_PATH), *edits)
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert ("prices 25%/sqrt(year) (correlation across generations 1; reverting to the forecast, half-life "
            "8 quarters)") in flat
    assert "resale values 20%/sqrt(year) (loading 0.8 on the prices' common shock)" in flat


def test_validate_says_the_price_slope_is_uncertain():
    """A price slope alone (every volatility 0) was summed up as "none: every scenario is the
    forecast", though each scenario's prices fall faster or slower than the forecast's."""
    # risk=null: the risk block's defaults, every volatility 0 (risk={} merged nothing, so tiny's
    # volatilities stayed and the test read its own risks: refused since 0.4.37)
    code, out, err = run_cli("validate", str(TINY_PATH), "--set", "risk=null",
                             "--set", "risk.price_trend_volatility_annual=0.05")  # fmt: skip
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert "prices' slope uncertain (5%/year faster or slower per standard deviation)" in flat
    assert "every scenario is the forecast" not in flat


@pytest.mark.parametrize(
    ("changes", "said"),
    [((), "borrowing base: GPU-secured debt / max LTV <= GPU resale value; 5 equity cures, never two "
          "quarters in a row (evaluator)"),
     (("finance.covenants.equity_cures=1", "finance.covenants.cash_covering_debt_cures=true"),
      "GPU resale value; 1 equity cure; no event of default where the quarter's cash covers its debt "
      "(evaluator)"),
     (("finance.covenants.equity_cures=0",), "GPU resale value; no equity cures (evaluator)")],
    ids=["tiny", "one-cure-cash-covers", "none"],
)  # fmt: skip
def test_validate_says_what_a_breach_costs(changes, said):
    """The covenants' row named the tests but not the cure rights nor the cash-covered breach that
    decide which breach is an event of default, the figure a lender reads first."""
    code, out, err = run_cli("validate", str(TINY_PATH), *(arg for c in changes for arg in ("--set", c)))
    assert code == 0, err
    assert said in " ".join(out.replace("│", " ").split())


@pytest.mark.parametrize(("tie", "fallen"), [((), "market prices"), (
    ("--set", "risk.resale_swing_share=0.6"),
    "market prices and resale values")])  # fmt: skip
def test_validate_says_prices_fall_at_a_customer_s_default(tie, fallen):
    """The fall of every market price after lab-a's default was not in the summary of the risk; with
    resale values tied to the prices it lowers them too, and the summary says so."""
    code, out, err = run_cli("validate", str(TINY_PATH),
                             "--set", "risk.customer_default_price_impact={lab-a: 0.15}", *tie)  # fmt: skip
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert f"{fallen} fall for good at a customer's default (lab-a -15%)" in flat


def test_validate_says_how_scenarios_move_and_how_plans_react(tmp_path, tiny_text):
    """The summary left out `risk` and `policy`: a planner could not see that an edit of the policy
    was read. tiny's risk as in its file; its policy with a buffer and one rule off; no risk at all."""
    code, out, err = run_cli("validate", str(TINY_PATH))
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert ("risk prices 25%/sqrt(year) (correlation across generations 1; a random walk, never reverting); "
            "demand 20%/sqrt(year); "
            "prices step down 25% at a newer generation's release; hyperscalers' spare capacity sold (chance "
            "5% a quarter, once at most; prices -10% to -30%); customer defaults 1%/quarter") in flat
    # a chance, said so: "hyperscaler capacity sold 5%/quarter" and "late power (new blocks 30%" read
    # as 5 % of the capacity sold each quarter and 30 % of the blocks
    assert ("late power (chance 30% per block started, up to 4 quarters late; contracted capacity: chance "
            "0% per increase)") in flat
    # a share as the model gives it, as the other shares are: 0.0025 read "0.2%" (a review)
    edits = ("--set", "risk.customer_default_hazard_per_quarter=0.0025",
             "--set", "risk.self_competition.probability_per_quarter=0.0125")  # fmt: skip
    code, out, err = run_cli("validate", str(TINY_PATH), *edits)
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert "capacity sold (chance 1.25% a quarter" in flat and "customer defaults 0.25%/quarter" in flat
    assert ("policy power to contracts first, late contracts rescheduled, freed GPUs to the market, orders "
            "deferred or cancelled when cash runs short, distress sales, prepayments cut (off: idle GPUs to "
            "the market, borrowing-base deficiency prepaid); cash buffer $0 above the minimum, distress "
            "sales in lots of 1,000 GPUs") in flat
    path = tmp_path / "model.yaml"
    text = re.sub(r"(?ms)^risk:.*?(?=^\S|\Z)", "", tiny_text)
    assert text != tiny_text
    policy = "policy:\n  distress_sales: false\n  liquidity_buffer_usd: 2.0e7\n"
    path.write_text(text + policy, encoding="utf-8")
    code, out, err = run_cli("validate", str(path))
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert "risk none: every scenario is the forecast" in flat
    assert ("prepayments cut (off: distress sales, idle GPUs to the market, borrowing-base deficiency "
            "prepaid); cash buffer $20.0M above the minimum") in flat
    assert "lots of" not in flat  # no lots for sales that are off
    path.write_text(text + "policy:\n  distress_sale_discount: 0.3\n", encoding="utf-8")
    flat = " ".join(run_cli("validate", str(path))[1].replace("│", " ").split())
    assert "distress sales in lots of 1,000 GPUs at 30 % below resale value" in flat
    # every customer rated: no hazard "for the others" (there are none)
    flat = " ".join(run_cli("validate", "neocloud")[1].replace("│", " ").split())
    assert "customer defaults by credit rating for 5 customers;" in flat and "for the others" not in flat
    assert "limits a customer at most 70% of revenue" in flat
    # a supplier's allocation: it was in no line of the summary
    allocated = text.replace("\nlimits:\n", "\nlimits:\n  new_gpus_per_quarter: {blackwell: 800}\n", 1)
    assert allocated != text
    path.write_text(allocated, encoding="utf-8")
    flat = " ".join(run_cli("validate", str(path))[1].replace("│", " ").split())
    assert "limits a customer at most 67% of revenue; new blackwell GPUs at most 800 a quarter" in flat
    # a cap below investment grade: in the summary as the other limits
    capped = run_cli("validate", "neocloud", "--set", "limits.max_non_investment_grade_share_per_year=0.35")
    flat = " ".join(capped[1].replace("│", " ").split())
    assert ("limits a customer at most 70% of revenue; customers below investment grade or unrated at "
            "most 35% of any year's contract revenue") in flat


def test_version():
    code, out, _ = run_cli("--version")
    assert code == 0
    assert out.strip() == f"fleetopt {fleetopt.__version__}"


def test_validate_prints_a_description_with_brackets_literally(tmp_path, tiny_text):
    """The description is free text, not rich markup: '[/bold]' once crashed validate."""
    path = tmp_path / "model.yaml"
    lines = tiny_text.split("\n")
    (index,) = [i for i, line in enumerate(lines) if line.startswith("description:")]
    lines[index] = "description: '[/bold] [red]One Texas site'"
    path.write_text("\n".join(lines), encoding="utf-8")
    code, out, err = run_cli("validate", str(path))
    assert code == 0, err
    assert "tiny: [/bold] [red]One Texas site" in " ".join(out.split())


def test_a_bundled_name_beside_a_model_file_of_that_name_says_which_it_reads(tmp_path, monkeypatch):
    """`fleetopt solve tiny` beside one's own tiny.yaml read the bundled tiny without a word."""

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(TINY_PATH.read_text().replace("quarters: 8", "quarters: 6"))
    with pytest.warns(FleetoptWarning, match=r"'tiny' is the bundled model; tiny.yaml here is not read"):
        loaded = load_model("tiny")
    assert loaded.source == str(bundled_model_path("tiny")) and loaded.model.horizon.quarters == 8
    # six quarters leave a contract running past the end: that note, and no other
    with pytest.warns(FleetoptWarning, match="term_quarters"):
        assert load_model("tiny.yaml").model.horizon.quarters == 6


def test_a_folder_named_as_a_bundled_model_does_not_hide_it(tmp_path, monkeypatch):
    """After `fleetopt solve tiny --out tiny`, `fleetopt solve tiny` said "tiny: is a directory,
    not a model file"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").mkdir()
    code, _, err = run_cli("validate", "tiny")
    assert code == 0, err
    assert "warning: 'tiny' is the bundled model; the folder tiny here is not a model file" in err


def test_a_model_path_naming_no_file_says_what_it_may_have_meant(tmp_path, monkeypatch):
    """`fleetopt validate ./tiny` said "tiny: no such file (bundled models: lab, neocloud, tiny)",
    naming a tiny it had just listed: a path is never read as a bundled model, and the message now
    says so, or names the file with its extension beside it."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("validate", "./tiny")
    assert code == 2 and "(./tiny is read as a path: give tiny alone for the bundled model)" in err
    (tmp_path / "mine.yaml").write_text(TINY_PATH.read_text())
    code, _, err = run_cli("validate", "mine")
    assert code == 2 and "mine: no such file (did you mean mine.yaml?)" in err, err
    code, _, err = run_cli("validate", "other")
    assert code == 2 and "other: no such file (bundled models: " in err
    # a bundled model's name as a file (README's models/tiny.yaml outside a checkout) or capitalised
    # said only "(bundled models: lab, neocloud, tiny)", the name it meant in the list
    for given in ("tiny.yaml", "models/tiny.yaml", "Tiny", "NEOCLOUD.yml"):
        code, _, err = run_cli("validate", given)
        meant = "neocloud" if "NEO" in given else "tiny"
        said = f"error: {given}: no such file ({given} is read as a path: give {meant} alone for the " \
            "bundled model)"
        assert code == 2 and err.strip() == said, err


def test_a_power_step_after_a_shortened_horizon_is_a_note_not_an_error(tmp_path):
    """The default model cut to 12 quarters was refused over a power step in 2029Q3 ("outside the
    horizon"), while a contract running past the end only warned: a horizon shortened to solve
    faster keeps the steps it no longer reaches, unused, with a warning. A step before the start
    is still an error (which level it sets is not the user's to guess)."""
    path = tmp_path / "short.yaml"
    stepped = "power_capacity_mw: {start: 20, steps: {2028Q3: 40}}"
    text = TINY_PATH.read_text().replace("power_capacity_mw: 20 ", stepped)
    path.write_text(text)
    code, _, err = run_cli("validate", str(path))
    said = " ".join(err.split())
    note = "sites.texas.power_capacity_mw.steps.2028Q3: quarter 2028Q3 is after the horizon ends (2028Q2)"
    assert code == 0 and f"{note}: the step is not used" in said, err
    path.write_text(text.replace("2028Q3: 40", "2026Q2: 40"))
    code, _, err = run_cli("validate", str(path))
    assert code == 2 and "quarter 2026Q2 is outside the horizon 2026Q3..2028Q2" in err


def _validated_tiny_with(tmp_path, old: str, new: str) -> tuple[int, str, str]:
    """`fleetopt validate` of tiny with ``old`` in its text replaced by ``new``: exit code, stderr
    and stderr on one line."""
    text = TINY_PATH.read_text()
    assert old in text
    path = tmp_path / "changed.yaml"
    path.write_text(text.replace(old, new))
    code, _, err = run_cli("validate", str(path))
    return code, err, " ".join(err.split())


def test_an_installed_fleet_the_site_cannot_power_is_said_where_it_is_validated(tmp_path):
    """tiny with 96,000 H100 for 9,600 on its 20 MW site validated and solved in silence, to a plan
    that retires 85,132 GPUs at once and is worth $1.14B against tiny's -$14.1M. 96,000 x 1.3 kW x
    PUE 1.25 = 156 MW against 20 MW: a warning naming the cohort, both figures and what to check."""
    code, err, said = _validated_tiny_with(tmp_path, "    gpus: 9600 ", "    gpus: 96000")
    assert code == 0 and ("fleet.0.gpus: the fleet installed at site 'texas' needs 156.0 MW in service "
                          "(GPUs x power_kw_per_gpu x PUE) against the site's 20.0 MW in 2026Q3") in said, err
    assert "needs" not in run_cli("validate", "tiny")[2]  # 9,600 x 1.3 x 1.25 = 15.6 MW: within 20


def test_the_unpowered_fleet_warning_shows_figures_that_differ(tmp_path):
    """A fleet needing 15.6 MW on a 15.55 MW site read '15.6 MW against 15.6 MW' (one decimal): the
    figures take the decimals that tell them apart."""
    code, err, said = _validated_tiny_with(tmp_path, "power_capacity_mw: 20 ", "power_capacity_mw: 15.55 ")
    want = "needs 15.6 MW in service (GPUs x power_kw_per_gpu x PUE) against the site's 15.55 MW"
    assert code == 0 and want in said, err


def test_a_contract_running_past_the_horizon_is_said_where_it_is_validated(tmp_path):
    """tiny's optional enterprise contract moved to the horizon's last quarter (2028Q2) with its 6
    quarters: 5 fall after 2028Q2, so accepting it is judged on 1 quarter. It validated in silence
    and the solve took it on that one quarter's revenue."""
    path = tmp_path / "late.yaml"
    six = "\n    term_quarters: 6"
    late = TINY_PATH.read_text().replace("start: 2027Q1" + six, "start: 2028Q2" + six)
    path.write_text(late)
    code, _, err = run_cli("validate", str(path))
    said = " ".join(err.split())
    assert code == 0 and (
        "contracts.enterprise-inference.term_quarters: 5 of its 6 quarters fall after the horizon ends "
        "(2028Q2): accepting it is judged on its first 1 quarter only"
    ) in said, err
    assert run_cli("validate", "tiny")[2] == ""  # no contract of tiny's runs past it
    from fleetopt import api

    # an edited model's text is rewritten, which nobody sees: no line of it is named
    said = r"tiny.yaml, edited \(horizon.quarters\): contracts.enterprise-inference.term_quarters: 2 of its 6"
    with pytest.warns(FleetoptWarning, match=said):
        api.edit("tiny", {"horizon.quarters": 6})


@pytest.mark.parametrize(
    "written, meant, said",
    [("      start: 60000", "      start: 55",
      "skus.B200.capex_per_gpu_usd: is at most $55.00 per GPU: capex is in USD per GPU"),
     ("electricity_price_usd_per_mwh: 55 ", "electricity_price_usd_per_mwh: 0.055 ",
      "sites.texas.electricity_price_usd_per_mwh: is at most $0.055 per MWh: prices are in USD per MWh"),
     ("    power_capacity_mw: 20   ", "    power_capacity_mw: 20000",
      "sites.texas.power_capacity_mw: is at least 20,000 MW at one site: capacity is in MW"),
     ("    power_capacity_mw: 20   ", "    power_capacity_mw: 1.0e300",  # not a 301-digit number
      "sites.texas.power_capacity_mw: is at least 1e+300 MW at one site: capacity is in MW"),
     ("price_usd_per_gpu_hour: 2.30 ", "price_usd_per_gpu_hour: 1700 ",
      "contracts.lab-a-training.price_usd_per_gpu_hour: is $1,700.00 per GPU-hour: prices are in USD per "
      "GPU-hour"),
     ("useful_life_years: 6               # CoreWeave", "useful_life_years: 72               # CoreWeave",
      "skus.H100.useful_life_years: is 72 years: a useful life is in years (6 for 72 months"),
     ("useful_life_years: 10  ", "useful_life_years: 120 ",
      "sites.texas.expansion.useful_life_years: is 120 years: a useful life is in years"),
     ("      start: 60000", "      start: 3000000",
      "skus.B200.capex_per_gpu_usd: is at least $2,"),  # falling 10 % a year: its least value is said
     ("capex_per_gpu_usd: 50000           # [§3]", "capex_per_gpu_usd: 400000           # [§3]",
      "fleet.0.capex_per_gpu_usd: is at least $400,000 per GPU: capex is in USD per GPU, not per server"),
     ("opex_per_gpu_quarter_usd: 1200 ", "opex_per_gpu_quarter_usd: 0.55 ",
      "skus.H100.opex_per_gpu_quarter_usd: is $0.55 per GPU a quarter: opex is in USD per GPU per quarter"),
     ("opening_cash_usd: 150000000", "opening_cash_usd: 150",
      "finance.opening_cash_usd: is $150.00: money is in USD, not millions of USD (150000000 for $150M)"),
     ("opening_balance_usd: 200000000", "opening_balance_usd: 200",
      "finance.facilities.gpu-term-loan.opening_balance_usd: is $200.00: money is in USD, not millions")],
    ids=["capex", "electricity", "power", "huge-power", "price", "gpu-life", "plant-life", "rack-capex",
         "server-capex", "hourly-opex", "cash-millions", "loan-millions"],
)  # fmt: skip
def test_money_and_power_in_another_unit_are_said_with_their_unit(tmp_path, written, meant, said):
    """B200 capex 55 (for $55k) was a valid model whose solve bought 29,832 B200s for $69.1M, as
    were electricity in USD per kWh, a site's capacity in kW and a contract's monthly price (from a
    new user's review), and a useful life in months: each is now said, with its line and the unit
    meant; the model stays valid. So are, from an analyst's first model, a rack's or a server's price
    as capex per GPU, an hourly opex, and the company's cash or a loan in millions of USD (90 for $90M:
    the plan of a company with $90 of cash), which passed silently."""
    path = tmp_path / "mine.yaml"
    assert written in TINY_PATH.read_text()
    path.write_text(TINY_PATH.read_text().replace(written, meant, 1))
    code, _, err = run_cli("validate", str(path))
    assert code == 0 and f"warning: {path}:" in err and said in " ".join(err.split()), err


EMPTY_SITE = ("sites:\n  dallas:\n    power_capacity_mw: 0\n    pue: 1.25\n"
              "    electricity_price_usd_per_mwh: 55\n")  # fmt: skip
EXPANSION = ("    expansion: {block_mw: 10, capex_per_mw_usd: 9360000, lead_time_quarters: 4, "
             "earliest_start: 2026Q3, max_blocks: 3, useful_life_years: 10}\n")  # fmt: skip


@pytest.mark.parametrize(
    "written, meant, said, line",
    [("max_debt_to_ebitda: 6.0 ", "max_debt_to_ebitda: 0.22 ",
      "finance.covenants.max_debt_to_ebitda: is 0.22x: leverage is debt / annualised EBITDA, a multiple (4.5 "
      "for 4.5x; GPU-backed facilities cap it at 3x-6x); below 1x it is most often EBITDA / debt, its "
      "inverse (1 / 0.22 is 4.55x)", 123),
     ("min_cash_usd: 25000000 ", "min_cash_usd: 200000000 ",
      "finance.min_cash_usd: is $200.0M, above opening_cash_usd ($150.0M): the plan must raise the "
      "difference by the end of the first quarter", 108),
     ("sites:\n", EMPTY_SITE,
      "sites.dallas.power_capacity_mw: is 0 MW in every quarter, the site has no expansion block and no "
      "fleet is installed there: no GPU can run at site 'dallas'; give it power_capacity_mw or an "
      "expansion block, or drop it", 50),
     ("sites:\n", EMPTY_SITE + EXPANSION.replace("max_blocks: 3", "max_blocks: 0"),
      "sites.dallas.power_capacity_mw: is 0 MW in every quarter, its expansion allows no block "
      "(max_blocks: 0) and no fleet", 50),
     ("sites:\n", EMPTY_SITE + EXPANSION.replace("earliest_start: 2026Q3", "earliest_start: 2027Q3"),
      "sites.dallas.power_capacity_mw: is 0 MW in every quarter, no expansion block started from 2027Q3 is "
      "online by the horizon's end (2028Q2, lead_time_quarters: 4) and no fleet", 50)],
    ids=["inverse-leverage", "floor-above-cash", "powerless-site", "no-blocks", "blocks-too-late"],
)  # fmt: skip
def test_an_analyst_s_implausible_settings_are_said_with_their_line(tmp_path, written, meant, said, line):
    """From an analyst's own model, three settings that validated in silence: a leverage limit of
    0.22 (EBITDA / debt, the inverse of the 4.5x meant), a treasury floor above the opening cash
    (the first quarter must raise the difference, or no plan meets it) and a site with no power in
    any quarter, none it can build within the horizon and no fleet. Each is a warning with its file
    and line; the model stays valid."""
    code, err, one_line = _validated_tiny_with(tmp_path, written, meant)
    assert code == 0 and f"warning: {tmp_path / 'changed.yaml'}:{line}: {said}" in one_line, err


def test_a_site_that_can_build_power_in_time_or_has_a_fleet_is_no_powerless_site(tmp_path):
    """A site at 0 MW whose first block (started 2026Q3, four quarters' lead) is online in 2027Q3,
    within tiny's horizon, is a site to be built: nothing is said; nor of tiny's own site at 0 MW,
    whose fleet the unpowered-fleet warning names."""
    assert _validated_tiny_with(tmp_path, "sites:\n", EMPTY_SITE + EXPANSION)[1] == ""
    said = _validated_tiny_with(tmp_path, "power_capacity_mw: 20 ", "power_capacity_mw: 0  ")[2]
    assert "fleet.0.gpus" in said and "is 0 MW in every quarter" not in said, said


def test_the_bundled_models_say_nothing_of_their_units():
    for name in bundled_model_names():
        assert run_cli("validate", name)[2] == "", name


def test_only_amounts_no_company_has_small_are_said_to_be_in_millions(tmp_path):
    """'written in millions' fired on a nominal treasury floor (min_cash_usd: 1000), a small liquidity
    covenant and a small contract's cancellation penalty, each meant as written: floors and penalties
    may be small, so they say nothing; the overhead, the revolver and a power plant's capex in
    millions (5 for $5M a quarter, 100 for $100M, 9.36 for $9.36M per MW) are said."""
    nominal = {"finance.min_cash_usd": 1000, "finance.covenants.min_liquidity_usd": 500,
               "contracts.enterprise-inference.cancellation_penalty_usd": 2000}  # fmt: skip
    path = tmp_path / "nominal.yaml"
    path.write_text(fleetopt.api.edit("tiny", nominal).text)
    assert run_cli("validate", str(path))[2] == ""
    millions = {"finance.overhead_usd_per_quarter": 5, "finance.revolver.size_usd": 100,
                "sites.texas.expansion.capex_per_mw_usd": 9.36}  # fmt: skip
    with pytest.warns(FleetoptWarning):
        loaded, _ = fleetopt.api.load(fleetopt.api.edit("tiny", millions))
    notes = {".".join(map(str, path)): note for path, note in magnitude_notes(loaded.model)}
    slip = "money is in USD, not millions of USD"
    assert notes == {"finance.overhead_usd_per_quarter": f"is $5.00: {slip} (5000000 for $5M)",
                     "finance.revolver.size_usd": f"is $100.00: {slip} (100000000 for $100M)",
                     "sites.texas.expansion.capex_per_mw_usd": f"is $9.36: {slip} (9360000 for $9.36M)"}


def test_a_series_that_crosses_a_unit_s_limit_over_the_horizon_is_not_a_unit_slip():
    """Capex falling from $3k under $1,000 and a site growing from 5 GW past 10 GW are real series
    (a review: the lowest and highest values were tested): a slip moves the whole series."""
    changes = {"skus.B200.capex_per_gpu_usd": {"start": 3000, "annual_growth": -0.9},
               "sites.texas.power_capacity_mw": {"start": 5000, "annual_growth": 1.0},
               "sites.texas.electricity_price_usd_per_mwh": [0, 0, 0, 0, 0, 0, 0, 0]}  # fmt: skip
    loaded, _ = fleetopt.api.load(fleetopt.api.edit("tiny", changes))
    assert magnitude_notes(loaded.model) == []


def test_a_missing_price_names_its_skus_and_one_never_on_sale_may_be_left_out(tmp_path):
    """A Rubin SKU first on sale in 2030Q1, after tiny's horizon (to 2028Q2), asked for Rubin prices
    the planner would invent for a GPU the model can never buy, without saying which SKU asked."""
    rubin = (
        "skus:\n  R100:\n    generation: rubin\n    available_from: 2030Q1\n    block_size_gpus: 8\n"
        "    capex_per_gpu_usd: 80000\n    power_kw_per_gpu: 2.0\n    idle_power_fraction: 0.3\n"
        "    training_throughput: 4.0\n    inference_throughput: 6.0\n    opex_per_gpu_quarter_usd: 1800\n"
        "    useful_life_years: 6\n    resale_fraction_by_age_years: [0.8, 0.5]\n"
        "    training_eligibility:\n      max_newer_generations_on_sale: 1\n"
    )
    path = tmp_path / "later.yaml"
    path.write_text(TINY_PATH.read_text().replace("skus:\n", rubin, 1))
    code, _, err = run_cli("validate", str(path))
    said = " ".join(err.split())
    assert code == 2 and (
        "market.price_usd_per_gpu_hour.training: no price for generation 'rubin' (SKU R100): give `rubin`, "
        "`all` or `by_sku`, or leave it out: it is first on sale after the horizon (2028Q2)"
    ) in said, err
    path.write_text(path.read_text().replace("available_from: 2030Q1", "available_from: 2027Q1"))
    said = " ".join(run_cli("validate", str(path))[2].split())
    assert "(SKU R100): give `rubin`, `all` or `by_sku`" in said and "leave it out" not in said
    # a SKU a contract cannot do without is not to be left out, on sale in the horizon or not
    was = "generation: blackwell\n    available_from: 2025Q1"
    only = "generation: rubin\n    available_from: 2029Q1"
    path.write_text(TINY_PATH.read_text().replace(was, only))
    said = " ".join(run_cli("validate", str(path))[2].split())
    assert "(SKU B200): give `rubin`, `all` or `by_sku`" in said and "leave it out" not in said


def test_an_allocation_that_limits_nothing_or_forbids_every_purchase_is_said():
    """`limits.new_gpus_per_quarter.blackwell: 7`, below tiny's one B200 block of 8 GPUs, meant no
    B200 could ever be bought, and `rubin: 100` on a model with no Rubin SKU limited nothing: both
    were accepted in silence (a bad-input review). Valid, and said; 8 (one block) says nothing."""
    code, _, err = run_cli("validate", "tiny", "--set", "limits.new_gpus_per_quarter.blackwell=7",
                           "--set", "limits.new_gpus_per_quarter.rubin=100")  # fmt: skip
    said = " ".join(err.split())
    assert code == 0, err
    assert ("limits.new_gpus_per_quarter.blackwell: is at most 7 GPUs a quarter, below one block of B200 (8 "
            "GPUs), the smallest blackwell SKU's: no blackwell GPU can be bought") in said
    assert "limits.new_gpus_per_quarter.rubin: the model has no rubin SKU: the limit limits nothing" in said
    code, _, err = run_cli("validate", "tiny", "--set", "limits.new_gpus_per_quarter.blackwell=8")
    assert code == 0 and "new_gpus_per_quarter" not in err.split("ok:")[0], err


def test_customer_names_that_differ_only_in_case_are_said_to_be_two_customers(tmp_path, tiny_text):
    """lab-a and Lab-A were silently two customers, each counted apart by the concentration limits
    and the non-investment-grade cap: validate warns, naming both contracts' customers (exit 0, as
    another spelling may be meant); tiny's own two customers draw no warning."""
    assert "customer: enterprise-b" in tiny_text
    (tmp_path / "m.yaml").write_text(tiny_text.replace("customer: enterprise-b", "customer: Lab-A"))
    code, _, err = run_cli("validate", str(tmp_path / "m.yaml"))
    said = " ".join(err.split())
    assert code == 0 and (
        "contracts.enterprise-inference.customer: 'Lab-A' differs from 'lab-a' (contracts.lab-a-training."
        "customer) only in case: they are two customers, each counted apart by "
        "limits.max_customer_revenue_share"
    ) in said, err
    assert "only in case" not in run_cli("validate", "tiny")[2]


def test_validate_says_where_the_signed_contracts_alone_break_the_non_investment_grade_cap():
    """validate said ok where lab-a's signed contract alone breaks the cap (only the solve found it,
    exit 3). By hand, tiny's first year 2026Q3..2027Q2 (2,190 hours a quarter): lab-a (unrated)
    4,000 GPUs x $2.30 x 4 quarters = $80.6M; enterprise-b (AAA) at most 2,000 x $4.50 x 2 quarters
    = $39.4M; so lab-a earns at least 80.6 / 120.0 = 67.2 %: a cap of 60 % is broken, 70 % is not."""
    rated = ("--set", "risk.customer_ratings={enterprise-b: AAA}")
    cap = "limits.max_non_investment_grade_share_per_year"
    code, _, err = run_cli("validate", "tiny", *rated, "--set", f"{cap}=0.6")
    said = " ".join(err.split())
    edited = f"tiny.yaml, edited (risk.customer_ratings, {cap}): "  # the model it warns of, as edited
    assert code == 0 and (
        f"{edited}{cap}: is 60%, but in 2026Q3..2027Q2 the signed contracts of lab-a, below investment "
        "grade or unrated, earn at least 67.2% of the contract revenue ($80.6M of at most $120.0M, every "
        "investment-grade customer's contract taken): no plan keeps it"
    ) in said, err
    assert cap not in run_cli("validate", "tiny", *rated, "--set", f"{cap}=0.7")[2]
    # a notebook's solve says it too, before the solve finds no plan (the check was the CLI's alone)
    from fleetopt import api
    from fleetopt.errors import FleetoptError, FleetoptWarning

    edited = api.edit("tiny", {"risk.customer_ratings": {"enterprise-b": "AAA"}, cap: 0.6})
    said = r"is 60%, but in 2026Q3\.\.2027Q2 the signed contracts of lab-a"
    with pytest.warns(FleetoptWarning, match=said), pytest.raises(FleetoptError):
        api.solve(edited)


@pytest.mark.parametrize("lab_a, why, remedy", [
    ("B", "lab-a is rated B in risk.customer_ratings, below investment grade (BBB or better)",
     "raise the limit or sign less with it (contracts.lab-a-training.gpus)"),
    (None, "lab-a is unrated in risk.customer_ratings, counted below investment grade",
     "rate lab-a there if it is investment grade, raise the limit or sign less with it "
     "(contracts.lab-a-training.gpus)"),
])  # fmt: skip
def test_the_grade_cap_warning_names_its_line_and_advises_by_the_rating(tmp_path, lab_a, why, remedy):
    """An analyst's customer already rated B was told to 'rate the customers in risk.customer_ratings',
    which mends nothing: B is below investment grade by its rating. The advice is now by the case (a
    rated customer: the limit or the contract; an unrated one: its rating too), and the warning has
    its file and line, as a model's others (tiny with the cap written at 0.6: lab-a earns at least
    67.2 % of the first year's contract revenue, worked by hand above)."""
    from fleetopt import api
    from fleetopt.core.economics.grade_limit import signed_book_beyond_grade_limit

    ratings = "{enterprise-b: AAA" + (f", lab-a: {lab_a}" if lab_a else "") + "}"
    cap = "  max_non_investment_grade_share_per_year: 0.6"
    text = TINY_PATH.read_text().replace("limits:\n", f"limits:\n{cap}\n")
    text = text.replace("\nrisk:\n", f"\nrisk:\n  customer_ratings: {ratings}\n")
    path = tmp_path / "rated.yaml"
    path.write_text(text)
    loaded, data = api.load(str(path))
    said = signed_book_beyond_grade_limit(data, loaded)
    line = text.splitlines().index(cap) + 1
    assert said.startswith(f"{path}:{line}: limits.max_non_investment_grade_share_per_year: is 60%, "), said
    assert said.endswith(f"(fleetopt solve finds it infeasible); {why}: {remedy}"), said
    # the terminal's validate and the API's solve say it so (they passed the model's data alone)
    code, _, err = run_cli("validate", str(path))
    assert code == 0 and f"warning: {path}:{line}: limits.max_non" in " ".join(err.split()), err
    said_so = pytest.warns(api.FleetoptWarning, match=re.escape(f"{path}:{line}: limits.max_non"))
    with said_so, pytest.raises(api.InfeasibleModel):
        api.solve(str(path), time_limit=30)

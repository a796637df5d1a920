"""Every variable a model builds has its unit in milp/units.py's VARIABLE_UNITS (docs/formulation.md
§4): a solve reads its values back in USD through that table, so a variable missing from it would be
read in the wrong unit, or not at all, by the next reader who relies on the table."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from fleetopt import api
from fleetopt.core.data import build_data
from fleetopt.milp.build import build_model
from fleetopt.milp.stochastic.extensive_form import build_extensive_form
from fleetopt.milp.stochastic.first_stage import FirstStage
from fleetopt.milp.stochastic.scenarios import ScenarioInputs
from fleetopt.milp.units import VARIABLE_UNITS, from_model_units, output_unit


def variable_names(model: pyo.Block) -> set[str]:
    return {var.local_name for var in model.component_objects(pyo.Var, descend_into=True)}


@pytest.mark.parametrize("name", ["tiny", "neocloud", "lab"])
def test_every_variable_of_a_bundled_model_has_a_unit(name):
    loaded, _ = api.load(name)
    assert variable_names(build_model(build_data(loaded))) - set(VARIABLE_UNITS) == set()


def test_every_variable_of_the_stochastic_extensive_form_has_a_unit():
    """The scenario copies add the rescue, the revolver and the idle draw left unpowered; a risk
    weight adds the CVaR's eta and shortfalls."""
    loaded, _ = api.load("tiny")
    data = build_data(loaded)
    prices = np.ones((data.G, data.T))
    scenario = ScenarioInputs("one", 1.0, price_by_generation=prices)
    ef = build_extensive_form(data, [scenario], FirstStage(1), risk_weight=0.5)
    assert variable_names(ef.m) - set(VARIABLE_UNITS) == set()


def test_money_is_read_back_in_usd_and_other_units_as_they_are():
    assert from_model_units(2.5, VARIABLE_UNITS["cash"]) == 2_500_000.0
    assert output_unit(VARIABLE_UNITS["eta"]) == "USD"
    assert from_model_units(3.0, VARIABLE_UNITS["idle_unpowered"]) == 3.0
    assert output_unit(VARIABLE_UNITS["idle_unpowered"]) == "MW"

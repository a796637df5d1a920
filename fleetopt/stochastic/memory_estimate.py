"""The peak memory of a two-stage solve estimated before it starts, and an extensive form this machine
cannot hold refused (docs/formulation.md §7b, "Memory")."""

from __future__ import annotations

import os

from fleetopt.core.data import ModelData
from fleetopt.core.units import counted, format_bytes, listed, sizes_apart
from fleetopt.errors import Argument, InputError
from fleetopt.evaluate.resources import physical_ram_bytes
from fleetopt.milp.highs import model_size
from fleetopt.milp.stochastic.first_stage import SHARED_PURCHASES, FirstStage, tied_keys
from fleetopt.milp.stochastic.scenario_model import scenario_model

# the peak memory of a two-stage solve (the process's peak RSS): BASE_BYTES (Python, Pyomo, the
# model's data, the forecast's solve, the screening, the out-of-sample check) and, for each scenario's
# copy, SCENARIO_BYTES and BYTES_PER_ELEMENT for each of its variables and rows (its Pyomo objects,
# HiGHS's copy, the LPs' factors); fitted to /usr/bin/time -v on tiny and neocloud, each at the
# higher of its measured slopes (docs/formulation.md §7b, "Memory")
BASE_BYTES = 300 * 10**6


SCENARIO_BYTES = 1_500_000


BYTES_PER_ELEMENT = 4_700


# set to 0 to solve whatever the estimate (one that overstates what a machine with swap can hold)
MEMORY_CHECK_VARIABLE = "FLEETOPT_STOCHASTIC_MEMORY_CHECK"


# the last model's (variables and rows, the tying rows --share-purchases adds) per scenario: check_settings
# runs thrice
_elements: dict = {}


def scenario_elements(data: ModelData, quarters: int, share_purchases: bool = False) -> int:
    """Variables and constraint rows of one scenario's copy of the extensive form (§7b), built once
    per model (its fingerprint: the CLI, the API and the solve check a model each loads anew); with
    ``share_purchases``, the rows that tie the copy's later purchases, power blocks and draws to
    another copy's too (:data:`~fleetopt.milp.stochastic.first_stage.SHARED_PURCHASES`; those of the
    first ``quarters`` are in the fit of :data:`BYTES_PER_ELEMENT`, measured without them)."""
    key = (data.fingerprint, quarters)
    if key not in _elements:
        stage = FirstStage(quarters)
        model = scenario_model(data, stage)
        size = model_size(model)
        shared = len(tied_keys(model, FirstStage(quarters, SHARED_PURCHASES))) - len(tied_keys(model, stage))
        _elements.clear()
        _elements[key] = (size["variables"] + size["constraints"], shared)
    elements, shared = _elements[key]
    return elements + (shared if share_purchases else 0)


# what $FLEETOPT_STOCHASTIC_MEMORY_CHECK may say, in any case: the check off, or on (as unset or empty)
MEMORY_CHECK_OFF, MEMORY_CHECK_ON = ("0", "false", "no", "off"), ("1", "true", "yes", "on")


def memory_check_on() -> bool:
    """Whether :func:`check_memory` checks: ``$FLEETOPT_STOCHASTIC_MEMORY_CHECK`` one of
    :data:`MEMORY_CHECK_OFF` turns it off; unset, empty or one of :data:`MEMORY_CHECK_ON`, on. Any
    other value is refused naming the variable (only "0" turned it off, "false" silently did not)."""
    value = os.environ.get(MEMORY_CHECK_VARIABLE, "").strip()
    if value.lower() in MEMORY_CHECK_OFF:
        return False
    if value.lower() in ("", *MEMORY_CHECK_ON):
        return True
    raise InputError(f"${MEMORY_CHECK_VARIABLE} is {value!r}: {listed(MEMORY_CHECK_OFF, 'or')} turns the "
                     f"memory check off; {listed(MEMORY_CHECK_ON, 'or')} (or unset) keeps it on")  # fmt: skip


def check_memory(
    data: ModelData, n: int, quarters: int, n_name: str = "scenarios", share_purchases: bool = False
) -> None:  # n_name: the API's name of the scenarios, whose option is --stochastic
    """Refuse, before any solve, an extensive form of ``n`` scenarios whose estimated peak memory
    (:data:`BASE_BYTES` + n x (:data:`SCENARIO_BYTES` + :data:`BYTES_PER_ELEMENT` x
    :func:`scenario_elements`, with ``share_purchases`` the rows sharing adds)) exceeds this
    machine's physical memory or its container's limit: the OS would kill the solve with no message
    (neocloud at N = 1,000: about 128 GB). ``FLEETOPT_STOCHASTIC_MEMORY_CHECK=0`` skips the check
    (:func:`memory_check_on`)."""
    if not memory_check_on():
        return
    ram = physical_ram_bytes()
    if ram is None:
        return
    per_scenario = SCENARIO_BYTES + BYTES_PER_ELEMENT * scenario_elements(data, quarters, share_purchases)
    need = BASE_BYTES + n * per_scenario
    if need > ram:
        fits = max(int((ram - BASE_BYTES) // per_scenario), 0)
        need_text, ram_text = sizes_apart(need, ram)
        raise InputError.naming(
            Argument(n_name, "--stochastic"), f" {n:,}: the extensive form of {data.name} would need about "
            f"{need_text} ({format_bytes(per_scenario)} a scenario), more than the "
            f"{ram_text} of memory here (RAM, or this container's limit); at most about "
            f"{counted(fits, 'scenario')} fit. The estimate is measured, not exact (docs/formulation.md "
            f'§7b, "Memory"): {MEMORY_CHECK_VARIABLE}=0 solves anyway'
        )

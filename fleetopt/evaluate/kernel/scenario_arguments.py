"""The kernel's scenario parameters: the risk factors it reads (:data:`KERNEL_FACTORS`), those it
reads in another form than declared (:data:`SCENARIO_FORMS`), and a scenario block made into them
(:func:`scenario_arguments`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fleetopt.evaluate.factors import FACTORS
from fleetopt.evaluate.kernel.c_types import C_TYPES, bit_mask
from fleetopt.evaluate.scenarios import ScenarioSet

# the factors the kernel reads, in FACTORS' order (a delivery slip acts on the plans: factors.RiskFactor)
KERNEL_FACTORS = tuple(f for f in FACTORS if f.kernel)


def _alive_bits(alive: np.ndarray) -> np.ndarray:
    """contract_alive (S, K, T) -> (S, T) uint64: bit k set while contract k's customer has not
    defaulted (a default is permanent, as simulate.py relies on too)."""
    return bit_mask(np.asarray(alive) > 0, 1)


# Risk factors the kernel reads in another form than the declared one: factor name -> (kernel
# parameter, its C type, how it is made from the (S, ...) factor). Every other factor is passed
# as declared in FACTORS, time-major, under its own name.
SCENARIO_FORMS: dict[str, tuple[str, str, Callable[[np.ndarray], np.ndarray]]] = {
    "contract_alive": ("alive_bits", "const unsigned long long*", _alive_bits),
}


def scenario_arguments(scen: ScenarioSet, xp: Any, scenario_major: bool = False) -> dict[str, Any]:
    """The kernel's scenario arrays by parameter name, in each parameter's C type: time-major
    ((..., T, S): a warp reads one contiguous row; the GPU) or, with ``scenario_major``, as the
    scenario set holds them ((S, ..., T): one pair's rows contiguous; the C build). Made on the
    host, then copied to ``xp``."""
    out = {}
    for f in KERNEL_FACTORS:
        if f.name in SCENARIO_FORMS:
            name, c_type, form = SCENARIO_FORMS[f.name]
            values = form(scen.factors[f.name])
        else:
            name, c_type, values = f.name, f"const {f.c_type}*", scen.factors[f.name]
        out[name] = C_TYPES[c_type].on_xp(values if scenario_major else np.moveaxis(values, 0, -1), xp)
    return out

"""Constraint groups: one object per Pyomo constraint component, defined once.

A :class:`ConstraintGroup` names its component, the section of docs/formulation.md that states it
and the module-level rule that builds one row (its docstring holds the row's math). A group the
infeasibility diagnosis may relax carries a :class:`Slack`: the slack's name (the group a
diagnosis reports), its unit and weight, and how one slack key is described. The model builder
(``build_model``), the diagnosis (``SLACKS``: each slack's unit, weight and labels) and the test of
the document all read the list ``fleetopt.milp.build.GROUPS``.

To add a constraint group: write ``rule(b, *key)`` in the topic module (fleet, operations, finance
or covenants) with its math in the docstring, declare ``NAME = ConstraintGroup("name", "§5.x",
rule)`` (with ``slack=`` if the diagnosis may relax it; the rule then adds ``b.slack(*key)`` on its
short side), list it in the module's ``GROUPS``, add it with ``b.add(NAME, index)`` and name it in the
heading of its section of docs/formulation.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fleetopt.core.units import H100_EQ_GPUS

# Weight of one unit of slack in the diagnosis objective, by unit. Money slacks weigh most so that a
# diagnosis points at the physical shortfall (power, contracts, demand) before the cash it would
# take to fix it.
SLACK_WEIGHTS = {"MW": 1.0, "GPUs": 1.0 / 500.0, H100_EQ_GPUS: 1.0 / 500.0, "MUSD": 10.0}


def describe_quarter(data, key: tuple) -> tuple[str, int | None]:
    """``2027Q3`` for a key ``(t,)``, ``2027Q3 (floor)`` for ``(t, part)``."""
    t = key[0]
    return f"{data.quarter_labels[t]}" + (f" ({key[1]})" if len(key) > 1 else ""), t


@dataclass(frozen=True)
class Slack:
    """How the diagnosis relaxes a constraint group (or several that share the slack)."""

    name: str  # first element of the slack index: the group a diagnosis reports
    unit: str  # unit of the slack, in model units (MUSD for money)
    # (data, key) -> (label of the row the slack is on, its quarter or None)
    describe: Callable[..., tuple[str, int | None]] = describe_quarter
    # relaxed before the others (weight / 1e4): the `robustness` rows, so that a diagnosis names
    # the requirement, not the deliveries or cash that giving it up would spare
    relaxed_first: bool = False
    # what a reader of the diagnosis must know about the rows, said after the group's line ("" none)
    note: str = ""
    # the limit as a reader knows it, where its name does not say it ("minimum cash" for min_cash)
    words: str = ""

    @property
    def shown(self) -> str:
        """The limit in words: 'minimum cash', 'EBITDA / debt service covenant', 'power'."""
        return self.words or self.name.replace("_", " ")

    @property
    def weight(self) -> float:
        """Weight of one unit of this slack in the diagnosis objective."""
        weight = SLACK_WEIGHTS[self.unit]
        return weight / 1e4 if self.relaxed_first else weight


@dataclass(frozen=True)
class ConstraintGroup:
    """One Pyomo constraint component of the fleet MILP."""

    name: str  # the component's name on the model, as docs/formulation.md names it
    section: str  # the section of docs/formulation.md that states it, e.g. "§5.4"
    rule: Callable[..., object]  # rule(b, *key) -> the row at ``key`` (math in its docstring)
    slack: Slack | None = None  # how the diagnosis may relax it; None: never relaxed

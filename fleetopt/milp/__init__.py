"""The fleet MILP (docs/formulation.md): built by topic, solved, diagnosed, its plan extracted.

Built: :mod:`~fleetopt.milp.builder` (index sets, coefficients in model units) and
:mod:`~fleetopt.milp.groups` (constraint groups) under the topic modules ``fleet``, ``operations``,
``finance`` and ``covenants``, assembled by :mod:`~fleetopt.milp.build`; money in MUSD
(:mod:`~fleetopt.milp.units`). Solved: :mod:`~fleetopt.milp.highs` and :mod:`~fleetopt.milp.solve`
(which extracts the plan); re-solved under stresses and completions: :mod:`~fleetopt.milp.persistent`.
Diagnosed: :mod:`~fleetopt.milp.diagnose`. The two-stage extensive form: the package
:mod:`~fleetopt.milp.stochastic` (a module per topic) and :mod:`~fleetopt.milp.ef_highs`.
"""

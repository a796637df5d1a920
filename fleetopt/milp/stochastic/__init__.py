"""Two-stage stochastic programme over the fleet MILP: the extensive form (docs/formulation.md §7b).

One scenario model is built once (:func:`.scenario_model.scenario_model`: the MILP in diagnosis
form, every soft row with a penalised slack, plus a revolver and emergency equity in the cash
roll-forward so that every scenario is feasible), then cloned once per scenario; each clone gets
its scenario through the mutable parameters of :func:`fleetopt.milp.fleet.add_stress_parameters`.
The first-stage decisions (dated before quarter Q, and every contract acceptance) are tied across
the clones by non-anticipativity rows; the objective is (1 - L) x expected value + L x CVaR_A
(Rockafellar-Uryasev).

Everything here is in model units (MUSD) until :class:`fleetopt.stochastic.result.StochasticResult`
reports USD. This package knows nothing of the evaluator: a scenario arrives as
:class:`.scenarios.ScenarioInputs` (fleetopt/stochastic/ maps the evaluator's scenarios onto them).

Its modules, in the order the data flows: :mod:`.first_stage` (the decisions every copy shares),
:mod:`.scenarios` (a scenario in MILP terms), :mod:`.rescue` (what a copy may relax, at what price),
:mod:`.debt_rows` (covenants on debt where a copy owes nothing), :mod:`.scenario_model` (the model one
scenario runs), :mod:`.risk` (CVaR), :mod:`.extensive_form` (the copies tied and solved),
:mod:`.scenario_rows` (a solved copy's figures) and :mod:`.fixed_first_stage` (the forecast MILP with a
first stage fixed; plans completed with the rescue). This package re-exports nothing: import a name
from the module that defines it.
"""

"""Two-stage stochastic planning: the evaluator's scenarios screened and reduced, the extensive form
of :mod:`fleetopt.milp.stochastic` solved, its measures and an out-of-sample check."""

"""Sweeps: candidate plans, the Pareto front and the rule that recommends one."""

"""Plans compared side by side on common scenarios (`fleetopt compare`), a module per part: `run` (the two
ways in: plans, or a plan under a what-if), `sources` (the plans and scenarios read), `plan_figures` (what
is read of each plan, paired errors), `figures` (the figures shown, their units and better side),
`comparison` (the result, its tables and verdict) and `labels`."""

"""Self-contained HTML reports of run folders (`fleetopt report`) and of plan comparisons
(`fleetopt compare ... --out comparison.html`).

Nothing is re-exported here: import each name from the module that defines it.
"""

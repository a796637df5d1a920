"""The economics of a fleet plan, written once, shared by the MILP (:mod:`fleetopt.milp`) and the
scenario evaluator, a module per topic:

* ``operating``: the unit coefficients (revenue per GPU-quarter, MW per GPU, electricity and site
  costs per MW; the MILP's constraint coefficients) and a solved plan's operating lines and assets;
* ``debt``: the debt's terms, the cash and balances carried between quarters, the principal
  schedules, the collateral the balances need;
* ``quarter_finance``: one quarter of financing (:func:`finance_step`: interest, repayment, tax,
  cash, revolver), array-generic (NumPy or CuPy, any batch shape);
* ``policy_balances``: the balances the evaluator's policy changes (kept by cut prepayments, never
  drawn for cancelled orders) and the prepayment rule's cut;
* ``taxes``: a quarter's tax with losses carried forward, and the tax of selling the fleet at the end;
* ``statements``: the roll-forward through the horizon, the NPV's two parts and one plan's
  statements on the forecast;
* ``grade_limit``: the signed contracts checked against the limit on customers below investment grade.

Conventions (see docs/formulation.md): cash flows happen during quarter ``t`` and are discounted
from its end; interest in ``t`` is charged on the balance at the end of ``t - 1``; a draw in ``t``
is repaid in equal instalments from ``t + 1``. Nothing is re-exported here: import each name from
its module.
"""

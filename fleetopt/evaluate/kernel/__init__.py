"""The fused kernel (fleetopt/evaluate/kernel.cu) and how to call it: from CuPy on a GPU, or compiled
as C on the CPU.

The kernel takes the same inputs as :func:`fleetopt.evaluate.simulate.simulate` and returns the
same (P, S) results. What depends only on the plan is computed once per plan
(:mod:`~fleetopt.evaluate.kernel.plan_tables`); what depends only on the scenario once per scenario
block (:mod:`~fleetopt.evaluate.kernel.scenario_arguments`); the kernel's pair loop streams through
both. The model's sizes are compile-time constants (:mod:`~fleetopt.evaluate.kernel.shape`): one
kernel is compiled per shape and cached.

The modules, one topic each: ``shape`` (the sizes compiled in, the limits of the kernel's state,
the per-plan quarter table's fields), ``c_types`` (how a value becomes an argument of one C type),
``scenario_arguments`` and ``plan_tables`` (the kernel's inputs), ``arguments`` (every parameter,
declared once in ``KERNEL_ARGUMENTS``, and the values of a call), ``source`` (kernel.cu with its
generated prelude), ``cuda`` (the CuPy launch and the device copies it keeps), ``compiler`` (the
system C compiler: found, probed, run) and ``cpu`` (the C build, loaded and called through ctypes).
"""

"""LP (2), the fractional fair assignment, and its exact fast path.

* :mod:`~fairopt.assignment.lp2`: :func:`fair_assignment` and the table of paths (colgen, direct,
  Pyomo, CVXPY) over the model of :mod:`fairopt.models.fair_assignment`.
* :mod:`~fairopt.assignment.colgen`: exact column generation on HiGHS with a full-pricing certificate,
  built from :mod:`~fairopt.assignment.master` (the restricted master LP),
  :mod:`~fairopt.assignment.pricing` (reduced costs over all n x k arcs) and
  :mod:`~fairopt.assignment.multilevel` (coarse-to-fine warm starts).
"""
from fairopt.assignment.colgen import ColgenResult, solve_colgen
from fairopt.assignment.lp2 import FairAssignment, fair_assignment, solve_lp2

__all__ = ["FairAssignment", "fair_assignment", "solve_lp2", "ColgenResult", "solve_colgen"]

"""What every solve returns: :class:`SolveResult`, the status names, and the licence-error reader.

This module is the base of the solver layer: it imports nothing else of fairopt but the
exceptions, so every backend can use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from fairopt.exceptions import SolverLicenseError

__all__ = ["SolveResult", "OPTIMAL", "WITH_SOLUTION", "STATUS_HINTS", "license_error"]

OPTIMAL = "optimal"
#: Statuses under which a returned primal point is meaningful (feasible, maybe not optimal).
WITH_SOLUTION = ("optimal", "time_limit", "iteration_limit", "interrupted")
#: What to try after a solve that ended without a proven optimum, by status.
STATUS_HINTS = {
    "time_limit": "raise time_limit, or use a smaller candidate set",
    "iteration_limit": "raise the iteration limit through options",
    "infeasible": "check the fairness bounds (alpha/beta) and any constraint you added",
    "unbounded": "check the objective and variable bounds of the model",
    "infeasible_or_unbounded": "check the bounds and the objective of the model",
}


@dataclass(frozen=True)
class SolveResult:
    """What every solve returns.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"infeasible"``, ``"unbounded"``, ``"infeasible_or_unbounded"``,
        ``"time_limit"``, ``"iteration_limit"``, ``"interrupted"``, ``"inaccurate"`` (CVXPY's
        optimal_inaccurate) or ``"error"``.
    objective : float or None
        Objective of the returned point: the optimum when ``status == "optimal"``, the best
        point found under a limit, None when no feasible point is available.
    values : dict of str -> ndarray
        Primal values by variable name, shaped like the variable (Pyomo variables with
        non-integer indices come as dicts index -> value).
    duals : dict of str -> ndarray
        Constraint duals by constraint name: d optimal objective / d right-hand side.
    seconds : float
        Wall seconds spent in the solver call (model building excluded).
    solver : str
    raw_status : str
        The solver's own status text.
    """

    status: str
    objective: float | None
    values: dict = field(default_factory=dict)
    duals: dict = field(default_factory=dict)
    seconds: float = 0.0
    solver: str = ""
    raw_status: str = ""

    @property
    def optimal(self) -> bool:
        return self.status == OPTIMAL


def license_error(exc: BaseException) -> SolverLicenseError | None:
    """A :class:`SolverLicenseError` when ``exc`` is Gurobi refusing its licence, else None."""
    text = str(exc)
    low = text.lower()
    if "10010" in text or "size-limited" in low:
        return SolverLicenseError(
            "Gurobi refused the model: the pip licence is limited to 2000 variables and 2000 "
            f"constraints ({text.strip()}). Use solver='highs', a smaller instance, or install a full Gurobi licence."
        )
    if "license" in low or "licence" in low:
        return SolverLicenseError(f"Gurobi has no usable licence ({text.strip()}); use solver='highs' or set up a Gurobi licence")
    return None

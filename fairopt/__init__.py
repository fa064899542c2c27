"""fairopt: fair and balanced clustering on declarative linear programs.

Public API::

    fairopt.FairKMeans, fairopt.StrictlyFairKMeans, fairopt.SparseBarycenter, fairopt.BalancedKMeans
    fairopt.fair_assignment(points, centres, groups, alpha=..., beta=..., solver="highs")
    fairopt.solve(model, solver=...), fairopt.export(model, "lp2.lp")
    fairopt.models.fair_assignment.build_pyomo(...)    # and barycenter, circulation, balanced_transport
    fairopt.datasets.load("bank", data_home=...)
"""
from __future__ import annotations

from importlib import import_module as _import

from .exceptions import (
    FairoptError,
    InfeasibleBoundsError,
    ResourceLimitError,
    SolverLicenseError,
    SolverNotAvailableError,
    SolverStatusError,
    ValidationError,
)
from .lp import LPMatrices
from .solve import SolveResult, available_solvers, export, solve

__version__ = "0.1.0"

# Heavier pieces load on first use: `import fairopt` stays fast for the CLI.
_LAZY = {
    "fair_assignment": ("fairopt.assignment", "fair_assignment"),
    "FairAssignment": ("fairopt.assignment", "FairAssignment"),
    "FairKMeans": ("fairopt.relax_merge", "FairKMeans"),
    "StrictlyFairKMeans": ("fairopt.fairlets", "StrictlyFairKMeans"),
    "SparseBarycenter": ("fairopt.barycenter", "SparseBarycenter"),
    "BalancedKMeans": ("fairopt.ballot", "BalancedKMeans"),
    "weighted_kmeans": ("fairopt.kmeans", "weighted_kmeans"),
    "candidate_set": ("fairopt.candidates", "candidate_set"),
    "additive_violation": ("fairopt.metrics", "additive_violation"),
    "balance": ("fairopt.metrics", "balance"),
    "balanced_assignment": ("fairopt.transport", "balanced_assignment"),
    "round_assignment": ("fairopt.rounding", "round_assignment"),
    "solve_colgen": ("fairopt.fast_assignment", "solve_colgen"),
    "ColgenResult": ("fairopt.fast_assignment", "ColgenResult"),
}
_SUBMODULES = {"models", "datasets", "metrics", "kmeans", "candidates", "rounding", "baselines", "plot", "problem", "distances", "fairlets", "experiment", "results", "progress", "assignment", "ballot", "barycenter", "relax_merge", "transport", "sinkhorn", "resources"}

__all__ = [
    "FairoptError", "InfeasibleBoundsError", "ResourceLimitError", "SolverLicenseError",
    "SolverNotAvailableError", "SolverStatusError", "ValidationError",
    "LPMatrices", "SolveResult", "available_solvers", "export", "solve", *_LAZY, *sorted(_SUBMODULES),
]


def __getattr__(name):
    if name in _LAZY:
        mod, attr = _LAZY[name]
        return getattr(_import(mod), attr)
    if name in _SUBMODULES:
        return _import(f"{__name__}.{name}")
    raise AttributeError(f"module 'fairopt' has no attribute {name!r}")

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

from fairopt.exceptions import (
    FairoptError,
    InfeasibleBoundsError,
    ResourceLimitError,
    SolverLicenseError,
    SolverNotAvailableError,
    SolverStatusError,
    ValidationError,
)

__version__ = "0.1.0"

# Everything but the exceptions loads on first use: `import fairopt` stays fast for the CLI, and the
# console script (fairopt.cli.entry) is running, with its Ctrl-C handling, before numpy loads.
_LAZY = {
    "solve": ("fairopt.solvers.core", "solve"),
    "export": ("fairopt.solvers.core", "export"),
    "LPMatrices": ("fairopt.solvers.matrices", "LPMatrices"),
    "available_solvers": ("fairopt.solvers.registry", "available_solvers"),
    "SolveResult": ("fairopt.solvers.result", "SolveResult"),
    "fair_assignment": ("fairopt.assignment.lp2", "fair_assignment"),
    "FairAssignment": ("fairopt.assignment.lp2", "FairAssignment"),
    "FairKMeans": ("fairopt.fair.fair_kmeans", "FairKMeans"),
    "FairKMedian": ("fairopt.fair.kmedian", "FairKMedian"),
    "FairKCenter": ("fairopt.fair.kcenter", "FairKCenter"),
    "weighted_kmedian": ("fairopt.kmedian", "weighted_kmedian"),
    "StrictlyFairKMeans": ("fairopt.fair.fairlets", "StrictlyFairKMeans"),
    "SparseBarycenter": ("fairopt.barycenter.sparse", "SparseBarycenter"),
    "BalancedKMeans": ("fairopt.balanced.ballot", "BalancedKMeans"),
    "weighted_kmeans": ("fairopt.kmeans", "weighted_kmeans"),
    "candidate_set": ("fairopt.candidates", "candidate_set"),
    "fair_coreset": ("fairopt.coresets", "fair_coreset"),
    "additive_violation": ("fairopt.metrics", "additive_violation"),
    "balance": ("fairopt.metrics", "balance"),
    "balanced_assignment": ("fairopt.balanced.transport", "balanced_assignment"),
    "round_assignment": ("fairopt.fair.rounding", "round_assignment"),
    "solve_colgen": ("fairopt.assignment.colgen", "solve_colgen"),
    "ColgenResult": ("fairopt.assignment.colgen", "ColgenResult"),
    "cost_scorer": ("fairopt.base", "cost_scorer"),
}
_SUBMODULES = {"base", "models", "objectives", "datasets", "metrics", "kmeans", "candidates", "coresets", "baselines", "plot", "problem",
               "distances",
               "results", "progress", "solvers", "assignment", "fair", "barycenter", "balanced", "distributed", "cli"}
# Modules of the flat layout before 0.2, reachable as attributes under their old names.
_MOVED = {"rounding": "fair.rounding", "fairlets": "fair.fairlets", "relax_merge": "fair.relax_merge",
          "experiment": "distributed.experiment", "ballot": "balanced.ballot", "transport": "balanced.transport",
          "sinkhorn": "balanced.sinkhorn", "resources": "solvers.resources", "lp": "solvers.matrices"}

__all__ = [
    "FairoptError", "InfeasibleBoundsError", "ResourceLimitError", "SolverLicenseError",
    "SolverNotAvailableError", "SolverStatusError", "ValidationError",
    *_LAZY, *sorted(_SUBMODULES),
]


def __getattr__(name):
    if name in _LAZY:
        mod, attr = _LAZY[name]
        return getattr(_import(mod), attr)
    if name in _SUBMODULES:
        return _import(f"{__name__}.{name}")
    if name in _MOVED:
        return _import(f"{__name__}.{_MOVED[name]}")
    raise AttributeError(f"module 'fairopt' has no attribute {name!r}")

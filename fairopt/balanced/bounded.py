"""Exact assignment of n unit points to k clusters whose sizes lie in ranges (BalLOT with size bounds).

    minimise    sum_i D[i, labels[i]]
    subject to  size_min[j] <= #{i : labels[i] = j} <= size_max[j]      for every cluster j

is a min-cost flow (as in k-means-constrained, Bradley et al. 2000): a unit of supply at every
point, an arc of capacity 1 and cost D[i, j] from point i to cluster j, an arc with bounds
[size_min[j], size_max[j]] and cost 0 from cluster j to one sink, which takes all n units. The
constraint matrix is a network matrix, so an optimal vertex is integral: a labelling. It is
solved by the package's one min-cost-flow entry point (:func:`fairopt.solvers.flow.min_cost_flow`;
OR-Tools on integer-scaled costs when installed, else HiGHS); fixing the sizes of that optimum,
:func:`fairopt.balanced.transfer_graph.cancel_negative_cycles` then polishes it on the float
costs.

References
----------
P. S. Bradley, K. P. Bennett, A. Demiriz. Constrained k-means clustering. Microsoft Research
MSR-TR-2000-65, 2000.
"""
from __future__ import annotations

import numpy as np

from fairopt.balanced.transfer_graph import cancel_negative_cycles
from fairopt.exceptions import SolverStatusError
from fairopt.solvers.flow import min_cost_flow

__all__ = ["bounded_assignment"]


def bounded_assignment(D: np.ndarray, size_min: np.ndarray, size_max: np.ndarray,
                       flow_solver: str = "auto") -> tuple[np.ndarray, float]:
    """Optimal labels with cluster sizes in [size_min, size_max] (inputs trusted).

    Parameters
    ----------
    D : ndarray of shape (n, k)
    size_min, size_max : ndarray of int, shape (k,)
        ``0 <= size_min <= size_max`` and ``sum(size_min) <= n <= sum(size_max)``.
    flow_solver : {"auto", "ortools", "highs", "networkx"}
        Of :func:`fairopt.solvers.flow.min_cost_flow`.

    Returns
    -------
    labels : ndarray of int64, shape (n,)
    cost : float
        ``sum_i D[i, labels[i]]``.
    """
    n, k = D.shape
    rows, cols = np.repeat(np.arange(n), k), np.tile(np.arange(k), n)
    tails = np.concatenate([rows, n + np.arange(k)])
    heads = np.concatenate([n + cols, np.full(k, n + k)])
    lower = np.concatenate([np.zeros(n * k, dtype=np.int64), size_min])
    upper = np.concatenate([np.ones(n * k, dtype=np.int64), size_max])
    costs = np.concatenate([D.ravel(), np.zeros(k)])
    supply = np.concatenate([np.ones(n, dtype=np.int64), np.zeros(k, dtype=np.int64), [-n]])
    flow = min_cost_flow(tails, heads, lower, upper, costs, supply, n + k + 1, solver=flow_solver)
    if flow is None:
        raise SolverStatusError(f"no labelling fits the size ranges (sum size_min={int(size_min.sum())}, "
                                f"sum size_max={int(size_max.sum())}, n={n})")
    flows = np.rint(flow[: n * k]).reshape(n, k)
    labels = flows.argmax(axis=1).astype(np.int64)
    if not np.all(flows.sum(axis=1) == 1):
        raise SolverStatusError("the min-cost flow left a point unassigned")
    labels = cancel_negative_cycles(D, labels)[0]
    return labels, float(D[np.arange(n), labels].sum())

"""What a fixed-support barycenter solve returns, and the cost of transport plans."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fairopt.distances import sq_distances

__all__ = ["BarycenterResult", "barycenter_cost"]


@dataclass(frozen=True)
class BarycenterResult:
    """A barycenter on a given support with its transport plans.

    Attributes
    ----------
    support : ndarray of shape (s, d)
    weights : ndarray of shape (s,)
        nu(s) >= 0, summing to 1 (points the LP gives no mass keep weight 0).
    cost : float
        sum_i sum_{x, s} T_i(x, s) ||x - s||^2 = sum_i W_2^2(nu, mu_i) at the optimum of (16).
    plans : list of m ndarrays of shape (n_i, s)
        T_i, with row sums mu_i and column sums nu.
    status : str
    seconds : float
    solver : str
    method : str
        The path that solved (16): ``"direct"``, ``"colgen"``, ``"pyomo"`` or ``"cvxpy"``.
    info : dict
        Solver details (objective as reported, raw status; rounds and columns for colgen).
    """

    support: np.ndarray
    weights: np.ndarray
    cost: float
    plans: list
    status: str
    seconds: float
    solver: str
    method: str
    info: dict = field(default_factory=dict)


def barycenter_cost(measures: list, support: np.ndarray, plans: list) -> float:
    """sum_i sum_{x, s} T_i(x, s) ||x - s||^2 for given plans (one loop over the measures)."""
    return float(sum((T * sq_distances(X, support)).sum() for (X, _), T in zip(measures, plans)))

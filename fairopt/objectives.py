"""The clustering objectives of Bera et al.'s fair-assignment framework and their arc costs.

Bera, Chakrabarty, Flores and Negahbani solve the same fair assignment LP (2) for three
objectives; only the cost of sending a point x to a centre c changes:

* ``"kmeans"``  cost(x, c) = ||x - c||^2   (LP (2) of the Relax-and-Merge paper)
* ``"kmedian"`` cost(x, c) = ||x - c||     (Euclidean distance)
* ``"kcenter"`` no cost: the threshold LP keeps the arcs with ||x - c|| <= tau and asks for
  feasibility (:mod:`fairopt.assignment.kcenter`); its arcs are ranked by ||x - c||.

:func:`arc_cost` is the one place that picks the kernel; every solver path (dense models,
column generation, rounding) calls it, so a new objective is one row of :data:`ARC_COSTS`.

References
----------
S. K. Bera, D. Chakrabarty, N. J. Flores, M. Negahbani. Fair algorithms for clustering.
NeurIPS 2019 (Section 2: the fair assignment LP for any l_p-norm objective; k-center, p = inf).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from fairopt.distances import sq_distances
from fairopt.exceptions import ValidationError

__all__ = ["OBJECTIVES", "ArcCost", "ARC_COSTS", "arc_cost", "distances", "validate_objective",
           "objective_cost", "fractional_cost"]

OBJECTIVES = ("kmeans", "kmedian", "kcenter")


def distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of two arrays, shape (n, k).

    Computed directly (``scipy.spatial.distance.cdist``), not as the square root of the
    expanded squared distance, so coincident points are exactly 0 apart.

    Parameters
    ----------
    A : ndarray of shape (n, d)
    B : ndarray of shape (k, d)
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.shape[0] == 0 or B.shape[0] == 0:
        return np.empty((A.shape[0], B.shape[0]))
    return cdist(A, B)


def _sq_pairs(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    diff = A - B
    return np.einsum("ij,ij->i", diff, diff)


def _pairs(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.sqrt(_sq_pairs(A, B))


@dataclass(frozen=True)
class ArcCost:
    """The cost of sending points to centres under one objective.

    Attributes
    ----------
    name : str
    matrix : callable (A (n, d), B (k, d)) -> ndarray of shape (n, k)
        cost(A[i], B[j]) for every pair.
    pairs : callable (A (n, d), B (n, d)) -> ndarray of shape (n,)
        cost(A[i], B[i]) row by row.
    label : str
        How the cost reads in a docstring or a table.
    power : int
        The cost is ||x - c||^power, so scaling the data by b scales it by b^power
        (:mod:`fairopt.assignment.numerics` normalises LP (2) with it).
    """

    name: str
    matrix: Callable[[np.ndarray, np.ndarray], np.ndarray]
    pairs: Callable[[np.ndarray, np.ndarray], np.ndarray]
    label: str
    power: int


#: One row per objective. k-center ranks arcs by distance (the threshold LP and the rounding
#: use distances), its objective is the largest distance, not a sum.
ARC_COSTS = {
    "kmeans": ArcCost("kmeans", sq_distances, _sq_pairs, "||x - c||^2", 2),
    "kmedian": ArcCost("kmedian", distances, _pairs, "||x - c||", 1),
    "kcenter": ArcCost("kcenter", distances, _pairs, "||x - c|| (threshold)", 1),
}


def arc_cost(objective: str = "kmeans") -> ArcCost:
    """The cost kernel of ``objective`` (trusted: validate with :func:`validate_objective`)."""
    return ARC_COSTS[objective]


def validate_objective(objective, name: str = "objective") -> str:
    """Check an objective name at a public entry point."""
    if not isinstance(objective, str) or objective not in OBJECTIVES:
        raise ValidationError(f"{name} must be one of {OBJECTIVES}; got {objective!r} "
                              f"(kmeans: squared distances, kmedian: distances, kcenter: largest distance)")
    return objective


def objective_cost(points: np.ndarray, centres: np.ndarray, labels: np.ndarray, objective: str = "kmeans",
                   weights: np.ndarray | None = None) -> float:
    """Cost of integral labels under ``objective`` (inputs trusted).

    kmeans: sum_x w(x) ||x - c(x)||^2; kmedian: sum_x w(x) ||x - c(x)||; kcenter: the largest
    ||x - c(x)|| over points of positive weight.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    labels : ndarray of shape (n,), int
    objective : {"kmeans", "kmedian", "kcenter"}
    weights : ndarray of shape (n,), optional
    """
    per_point = arc_cost(objective).pairs(points, centres[labels])
    w = np.ones(points.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    if objective == "kcenter":
        return float(per_point[w > 0].max(initial=0.0))
    return float(w @ per_point)


def fractional_cost(points: np.ndarray, centres: np.ndarray, assignment: sp.spmatrix,
                    objective: str = "kmeans") -> float:
    """sum_x sum_c phi(x, c) cost(x, c) over the stored entries of a sparse phi (inputs trusted).

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    assignment : scipy.sparse matrix of shape (n, k)
    objective : {"kmeans", "kmedian", "kcenter"}
        (k-center: the distances, the tie-break cost of its threshold LP.)
    """
    coo = sp.coo_matrix(assignment)
    return float(coo.data @ arc_cost(objective).pairs(points[coo.row], centres[coo.col]))

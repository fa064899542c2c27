"""Algorithm 2 of the Relax-and-Merge paper: strictly fair k-means by fairlet decomposition.

Song, Mo, Yang, Ding. "Relax and Merge: A Simple Yet Effective Framework for Solving Fair
k-Means and k-sparse Wasserstein Barycenter Problems".

Input: disjoint groups P_1..P_m of equal size p, and the strict bounds alpha_i = beta_i = 1/m
(every cluster holds the same number of points of every group).

    1. for every anchor group j and every group i != j: a min-cost perfect matching
       pi_{j,i}: P_j -> P_i under squared distances; M_j = sum_i cost(pi_{j,i})
    2. keep the anchor j* = argmin_j M_j
    3. fairlets: F_a = {a} + {pi_{j*,i}(a) : i != j*} for every a in P_{j*}  (p fairlets of m points)
    4. weighted k-means on the fairlet centroids, each of weight m
    5. every fairlet goes whole to its centroid's cluster: zero violation by construction

Fairlet cost. The cost of a fairlet F is its 1-means cost sum_{x in F} ||x - mu(F)||^2. For a
fairlet with anchor a it is at most sum_{x in F} ||x - a||^2, so the decomposition costs at most
M_{j*}. Any fair decomposition D, read from anchor group j, induces matchings of total cost
C_j(D), and sum_j C_j(D) = sum_F sum_{x, y in F} ||x - y||^2 = 2 m cost(D); hence
M_{j*} <= min_j C_j(D) <= 2 cost(D): the fairlet cost is at most twice the optimal one.
With the Pythagorean identity sum_{x in F} ||x - c||^2 = cost(F) + m ||mu(F) - c||^2, the final
k-means cost is at most fairlet cost + the weighted k-means cost of step 4, which gives the
paper's (2 + 6 rho) guarantee.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from fairopt.base import (
    ClusteringEstimator,
    FairEstimatorMixin,
    check_input,
    resolve_groups,
)
from fairopt.distances import centroids, labels_cost, nearest, sq_distances
from fairopt.exceptions import ValidationError
from fairopt.groups import encode_groups
from fairopt.kmeans import weighted_kmeans
from fairopt.problem import check_distinct_points, validate_n_clusters, validate_points
from fairopt.solvers.resources import check_bytes
from fairopt.validation import check_choice, check_int, check_random_state

__all__ = [
    "FairletDecomposition",
    "StrictlyFairKMeans",
    "pairwise_matchings",
    "fairlet_decomposition",
    "validate_strict_groups",
    "labels_from_fairlets",
    "centroids_and_cost",
    "check_matching_memory",
]


@dataclass(frozen=True)
class FairletDecomposition:
    """Fairlets from :func:`fairlet_decomposition`.

    Attributes
    ----------
    members : ndarray of shape (p, m), int64
        ``members[f, i]`` is the index (into the points) of the member of group i in fairlet f.
    anchor : int
        Index of the anchor group j*.
    centroids : ndarray of shape (p, d)
        Fairlet centroids mu(F).
    fairlet_cost : float
        sum_F sum_{x in F} ||x - mu(F)||^2.
    matching_cost : float
        M_{j*}: sum over fairlets of the squared distances of the members to the anchor point.
    anchor_costs : ndarray of shape (m,)
        M_j for every anchor group j.
    """

    members: np.ndarray
    anchor: int
    centroids: np.ndarray
    fairlet_cost: float
    matching_cost: float
    anchor_costs: np.ndarray


def validate_strict_groups(X: Any, groups: Any, who: str = "StrictlyFairKMeans") -> tuple[np.ndarray, Any, list]:
    """Validate points and disjoint groups of equal size for a strictly fair clustering.

    Returns
    -------
    X : ndarray of shape (n, d)
    g : GroupStructure
    index : list of m ndarrays of shape (p,)
        Point indices of every group, in the group order of :func:`fairopt.groups.encode_groups`.

    Raises
    ------
    ValidationError
        Overlapping groups (several group attributes) or groups of unequal size, with the sizes
        and a pointer to :class:`fairopt.FairKMeans`.
    """
    X = validate_points(X)
    g = encode_groups(groups, X.shape[0])
    if not g.disjoint:
        raise ValidationError(
            f"{who} needs disjoint groups (one group attribute); got {g.n_attributes} attributes, so every "
            f"point is in {g.n_attributes} groups and no one-to-one matching across groups exists. Pass one "
            "column of groups, or use fairopt.FairKMeans(n_clusters=k, delta=0.0), which handles overlapping "
            "groups (LP relaxation and iterative rounding, small additive violation)."
        )
    codes = g.group_of_point()
    sizes = np.bincount(codes, minlength=g.n_groups)
    if np.unique(sizes).size != 1:
        shown = ", ".join(f"{lab!r}: {s}" for lab, s in zip(g.labels, sizes))
        raise ValidationError(
            f"{who} needs groups of equal size (alpha = beta = 1/m, fairlets of one point per group); got group "
            f"sizes {{{shown}}}. For unequal groups use fairopt.FairKMeans(n_clusters=k, delta=0.0), which keeps "
            "every group's share in every cluster up to an additive violation of at most 2, or subsample the "
            "groups to equal size."
        )
    index = [np.flatnonzero(codes == i) for i in range(g.n_groups)]
    return X, g, index


def check_matching_memory(p: int, who: str = "StrictlyFairKMeans", memory_limit: int | None = None) -> int:
    """Refuse matchings whose p x p cost matrices would not fit in memory.

    Each matching holds the (p, p) float64 distance matrix, a temporary of the same size while
    it is computed, and the solver's copy: about 24 p^2 bytes at the peak.
    """
    return check_bytes(
        f"{who}'s min-cost matchings between groups of p={p:,} points ({p:,} x {p:,} cost matrices)", 24 * p * p,
        "subsample the groups to equal smaller sizes (max_points) or use fairopt.FairKMeans(n_clusters=k, delta=0.0), "
        "whose LP (2) path never builds a p x p matrix", memory_limit=memory_limit)


def pairwise_matchings(points: np.ndarray, index: list) -> tuple[np.ndarray, np.ndarray]:
    """Min-cost perfect matchings between every pair of equal-size groups (squared distances).

    One :func:`scipy.optimize.linear_sum_assignment` per unordered pair {j, i} (O(p^3) each,
    m (m - 1) / 2 of them); the matching i -> j is the inverse permutation of j -> i.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    index : list of m ndarrays of shape (p,)
        Point indices of every group.

    Returns
    -------
    match : ndarray of shape (m, m, p), int64
        ``match[j, i, a]`` is the point of group i matched to ``index[j][a]``
        (``match[j, j] = index[j]``).
    cost : ndarray of shape (m, m)
        Matching costs, symmetric with a zero diagonal.
    """
    from scipy.optimize import linear_sum_assignment

    m, p = len(index), index[0].size
    match = np.empty((m, m, p), dtype=np.int64)
    cost = np.zeros((m, m))
    for j in range(m):
        match[j, j] = index[j]
        for i in range(j + 1, m):
            D = sq_distances(points[index[j]], points[index[i]])
            rows, cols = linear_sum_assignment(D)  # rows == arange(p) for a square matrix
            match[j, i] = index[i][cols]
            match[i, j] = index[j][np.argsort(cols)]
            cost[j, i] = cost[i, j] = float(D[rows, cols].sum())
    return match, cost


def fairlet_decomposition(points: np.ndarray, index: list, matchings: tuple | None = None,
                          anchor: int | None = None) -> FairletDecomposition:
    """Steps 1-3 of Algorithm 2: fairlets around the anchor group of least matching cost.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    index : list of m ndarrays of shape (p,)
        Point indices of every group (equal sizes; see :func:`validate_strict_groups`).
    matchings : tuple, optional
        The output of :func:`pairwise_matchings`, when already computed.
    anchor : int, optional
        Use this anchor group instead of the one of least matching cost.

    Returns
    -------
    FairletDecomposition
    """
    match, cost = matchings if matchings is not None else pairwise_matchings(points, index)
    anchor_costs = cost.sum(axis=1)  # M_j
    j = int(np.argmin(anchor_costs)) if anchor is None else int(anchor)
    members = np.ascontiguousarray(match[j].T)  # (p, m): fairlet a holds match[j, i, a] for every i
    P = points[members]  # (p, m, d)
    centroids = P.mean(axis=1)
    fairlet_cost = float(((P - centroids[:, None, :]) ** 2).sum())
    return FairletDecomposition(members, j, centroids, fairlet_cost, float(anchor_costs[j]), anchor_costs)


def labels_from_fairlets(members: np.ndarray, fairlet_labels: np.ndarray, n: int) -> np.ndarray:
    """Point labels when every fairlet (row of ``members``) goes whole to its cluster."""
    labels = np.empty(n, dtype=np.int64)
    labels[members] = fairlet_labels[:, None]
    return labels


def centroids_and_cost(points: np.ndarray, labels: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, float]:
    """Cluster centroids of a labelling (``fallback`` rows for empty clusters) and its k-means cost."""
    centres, _ = centroids(points, labels, fallback.shape[0], fallback=fallback)
    return centres, labels_cost(points, centres, labels)


class StrictlyFairKMeans(FairEstimatorMixin, ClusteringEstimator):
    r"""Strictly fair k-means by fairlet decomposition (Algorithm 2 of Relax and Merge).

    For disjoint groups P_1..P_m of equal size with alpha = beta = 1/m: every cluster gets
    exactly the same number of points of every group (additive violation 0),

    .. math::

        \min_{C, \sigma} \sum_x \lVert x - \sigma(x) \rVert^2 \quad \text{s.t.} \quad
        |\sigma^{-1}(c) \cap P_i| = |\sigma^{-1}(c)| / m \ \text{for every centre } c \text{ and group } i,

    solved by min-cost perfect matchings from an anchor group (the fairlets), then k-means on
    the fairlet centroids; a (2 + 6 rho)-approximation.

    Parameters
    ----------
    n_clusters : int
        k, at most the group size p (every cluster needs a whole fairlet).
    anchor : {"matching", "best"}
        ``"matching"`` (Algorithm 2): the anchor group of least total matching cost.
        ``"best"``: run steps 3-5 for every anchor group and keep the lowest final cost (m
        k-means runs instead of one; the matchings are shared). For fixed fairlets the cost is
        exactly fairlet cost + m * (k-means cost of the centroids), so both keep the guarantee.
    n_init : int
        Restarts of the weighted k-means on the fairlet centroids.
    max_iter : int
        Lloyd iterations per restart.
    random_state : int, Generator or None

    Attributes
    ----------
    labels_ : ndarray of shape (n,)
    cluster_centers_ : ndarray of shape (k, d)
        Centroids of the clusters of ``labels_``.
    cost_ : float
        k-means cost of ``labels_`` to ``cluster_centers_`` (sum of squared distances).
    fairlets_ : ndarray of shape (p, m), int64
        ``fairlets_[f, i]``: index of the point of group i in fairlet f.
    fairlet_labels_ : ndarray of shape (p,)
        Cluster of every fairlet.
    fairlet_cost_ : float
        sum over fairlets of the squared distances to the fairlet centroid (at most twice the
        optimal fairlet cost, see the module docstring).
    matching_cost_ : float
        Total min-cost matching cost of the chosen anchor group (an upper bound of ``fairlet_cost_``).
    anchor_group_ : label of the anchor group j*
    anchor_costs_ : ndarray of shape (m,)
        Matching cost of every candidate anchor group.
    merge_cost_ : float
        Weighted k-means cost of the fairlet centroids (weights m); ``cost_ <= fairlet_cost_ + merge_cost_``.
    n_iter_ : int
        Lloyd iterations of the kept k-means run on the fairlet centroids.
    group_counts_ : ndarray of shape (k, m), int64
        Points of every group in every cluster (equal along each row).
    violation_ : float
        Additive violation ``max_{c, i} |W_i(c) - W(c) / m|`` of ``labels_`` (0.0).
    group_labels_ : list of str
    seconds_ : dict
        Seconds per stage (matching, kmeans, total).
    n_features_in_ : int

    Notes
    -----
    New points: ``predict(X)`` sends every point to its nearest centre (not fair);
    ``predict(X, groups)`` for a batch with equally many points of every group builds its
    fairlets the same way and sends each whole fairlet to the fitted centre nearest its
    centroid (the cheapest centre for the fairlet, by the Pythagorean identity), so the batch
    is strictly fair too.

    References
    ----------
    .. [1] S. Song, Y. Mo, X. Yang, H. Ding. Relax and Merge: A Simple Yet Effective Framework
       for Solving Fair k-Means and k-sparse Wasserstein Barycenter Problems (Algorithm 2).
    .. [2] F. Chierichetti, R. Kumar, S. Lattanzi, S. Vassilvitskii. Fair Clustering Through
       Fairlets. NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np, fairopt
    >>> rng = np.random.default_rng(0)
    >>> X, groups = rng.normal(size=(40, 2)), np.repeat(["a", "b"], 20)
    >>> sf = fairopt.StrictlyFairKMeans(4, random_state=0).fit(X, groups)
    >>> sf.group_counts_.shape, sf.violation_
    ((4, 2), 0.0)
    """

    def __init__(self, n_clusters: int = 8, *, anchor: str = "matching", n_init: int = 10, max_iter: int = 300,
                 random_state: Any = None):
        self.n_clusters = n_clusters
        self.anchor = anchor
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, groups: Any = None, *, sensitive_features: Any = None) -> "StrictlyFairKMeans":
        """Cluster ``X`` (n, d) so that every cluster holds equally many points of every group.

        Parameters
        ----------
        X : array-like of shape (n, d)
        groups : array-like of shape (n,)
            Group labels; every group must have the same size (scikit-learn's ``y`` position).
        sensitive_features : array-like of shape (n,), optional
            Another name for ``groups`` (fairlearn's).

        Returns
        -------
        self
        """
        t0 = time.perf_counter()
        groups = resolve_groups(groups, sensitive_features, "StrictlyFairKMeans")
        X = check_input(self, X, reset=True, min_samples=2)  # two groups need two points
        X, g, index = validate_strict_groups(X, groups)
        m, p = len(index), index[0].size
        k = validate_n_clusters(self.n_clusters, X.shape[0])
        if k > p:
            raise ValidationError(
                f"n_clusters={k} exceeds the number of fairlets p={p} (the size of every group): each cluster "
                f"needs at least one point of every group; use n_clusters <= {p}"
            )
        check_int(self.n_init, "n_init")
        check_int(self.max_iter, "max_iter")
        check_choice(self.anchor, "anchor", ("matching", "best"))
        check_distinct_points(X, k)
        check_matching_memory(p)
        rng = check_random_state(self.random_state)

        matchings = pairwise_matchings(X, index)
        t1 = time.perf_counter()
        anchors = [None] if self.anchor == "matching" else range(m)
        best = None
        for j in anchors:
            dec = fairlet_decomposition(X, index, matchings, anchor=j)
            # Step 4: k-means on fairlet centroids, each of mass m (Algorithm 2).
            km = weighted_kmeans(dec.centroids, np.full(p, float(m)), k, n_init=self.n_init,
                                 max_iter=self.max_iter, random_state=rng)
            labels = labels_from_fairlets(dec.members, km.labels, X.shape[0])
            centres, cost = centroids_and_cost(X, labels, km.centres)
            if best is None or cost < best[4]:
                best = (dec, km, labels, centres, cost)
        dec, km, labels, centres, cost = best
        t2 = time.perf_counter()

        counts = np.zeros((k, m), dtype=np.int64)
        np.add.at(counts, (labels, g.group_of_point()), 1)
        self.labels_ = labels
        self.cluster_centers_ = centres
        self.cost_ = cost
        self.fairlets_ = dec.members
        self.fairlet_labels_ = km.labels
        self.fairlet_cost_ = dec.fairlet_cost
        self.matching_cost_ = dec.matching_cost
        self.anchor_group_ = g.values[dec.anchor]
        self.anchor_costs_ = dec.anchor_costs
        self.merge_cost_ = float(km.cost)
        self.n_iter_ = int(km.n_iter)
        self.group_counts_ = counts
        self.violation_ = float(np.abs(counts - counts.sum(axis=1, keepdims=True) / m).max())
        self.group_labels_ = list(g.labels)
        self.seconds_ = {"matching": t1 - t0, "kmeans": t2 - t1, "total": t2 - t0}
        return self

    def _fair_labels(self, X: np.ndarray, groups: Any, sample_weight: Any) -> np.ndarray:
        """Fairlets of the batch, each sent whole to the fitted centre nearest its centroid."""
        if sample_weight is not None:
            raise ValidationError("StrictlyFairKMeans.predict takes no sample_weight: fairlets hold unit points")
        X, g, index = validate_strict_groups(X, groups, who="StrictlyFairKMeans.predict")
        check_matching_memory(index[0].size)
        dec = fairlet_decomposition(X, index, pairwise_matchings(X, index))
        # sum_{x in F} ||x - c||^2 = cost(F) + m ||mu(F) - c||^2: the nearest centre to mu(F) is the cheapest.
        return labels_from_fairlets(dec.members, nearest(dec.centroids, self.cluster_centers_)[0], X.shape[0])

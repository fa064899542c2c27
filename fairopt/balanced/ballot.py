"""BalLOT and E-BalLOT: balanced k-means by alternating optimal transport and centroids.

Balanced k-means minimises the k-means cost sum_i ||x_i - mu_{labels[i]}||^2 over partitions
whose cluster j has exactly size_j points (n/k by default). BalLOT (Luo and Mixon 2025)
alternates

(a) the assignment: the exact transport of the points to the centres with column sums
    size_j (:func:`fairopt.balanced.transport.balanced_assignment`; for generic data its optimum is a
    hard balanced partition, the paper's integrality result), and
(b) the update: every centre moves to the centroid of its cluster,

which, like Lloyd, never increases the cost; it stops when the assignment repeats (a fixed
point: the labels are an optimal balanced assignment at their own centroids) or the cost stops
decreasing. E-BalLOT replaces (a) by entropic transport (log-domain Sinkhorn,
:mod:`fairopt.balanced.sinkhorn`) and (b) by the barycentre of the mass each centre receives; its
coupling is balanced only up to the Sinkhorn tolerance and not integral, so the final labels
come from a balance-preserving step: each point goes to its most likely cluster (the row
argmax of the coupling), then :func:`fairopt.balanced.transport.repair_sizes` moves the cheapest
points until every size is exact.

References
----------
W. Luo, D. G. Mixon. BalLOT: Balanced k-means clustering with optimal transport. arXiv:2512.05926, 2025.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairopt.balanced.init import INITS, init_centres
from fairopt.balanced.sinkhorn import _schedule_t, array_ops
from fairopt.balanced.transport import (
    SOLVERS,
    TransportAssignment,
    _solve,
    balanced_assignment,
    repair_sizes,
)
from fairopt.base import ClusteringEstimator, check_input
from fairopt.distances import centroids as _centroids
from fairopt.distances import labels_cost, sq_distances
from fairopt.exceptions import ValidationError
from fairopt.models.balanced_transport import default_sizes
from fairopt.problem import check_distinct_points, validate_n_clusters
from fairopt.validation import check_choice, check_int, check_number, check_random_state

__all__ = [
    "BalancedKMeans",
    "BallotResult",
    "ballot",
    "ballot_sinkhorn",
    "balanced_assignment",
    "balanced_sizes",
    "centroids",
    "TransportAssignment",
]

METHODS = ("exact", "sinkhorn")


def balanced_sizes(n: int, k: int) -> np.ndarray:
    """Sizes n/k differing by at most one (the first ``n mod k`` clusters get one more)."""
    return default_sizes(n, k)


def centroids(points: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Mean of every cluster, shape (k, d); clusters must be non-empty."""
    return _centroids(points, labels, k)[0]


@dataclass(frozen=True)
class BallotResult:
    """One BalLOT or E-BalLOT run.

    Attributes
    ----------
    labels : ndarray of shape (n,), int64
        Exactly ``sizes[j]`` points in cluster j.
    centres : ndarray of shape (k, d)
        Centroids of the clusters of ``labels``.
    cost : float
        Balanced k-means cost of ``labels``: sum_i ||x_i - centres[labels[i]]||^2.
    n_iter : int
        Assignment steps run.
    converged : bool
        Exact: the assignment repeated or the cost stopped decreasing, so ``labels`` is an
        optimal balanced assignment at ``centres``. Sinkhorn: the centres moved less than the
        tolerance.
    prices : ndarray of shape (k,)
        Exact: dual prices of the last assignment; Sinkhorn: the column potentials g.
    history : list of float
        Exact: the cost of every assignment at the centres it was computed for (non-increasing).
        Sinkhorn: the entropic transport cost <D, P> of every step.
    """

    labels: np.ndarray
    centres: np.ndarray
    cost: float
    n_iter: int
    converged: bool
    prices: np.ndarray
    history: list = field(default_factory=list)


def ballot(points: np.ndarray, centres: np.ndarray, sizes: np.ndarray, max_iter: int = 100, solver: str = "auto",
           rng: np.random.Generator | None = None) -> BallotResult:
    """BalLOT from given centres (inputs trusted: validate with :class:`BalancedKMeans`).

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    sizes : ndarray of int, shape (k,)
        Positive, summing to n.
    max_iter : int
        Most assignment steps.
    solver : str
        Exact transport solver (see :func:`fairopt.balanced.transport.balanced_assignment`).
    rng : numpy.random.Generator, optional

    Returns
    -------
    BallotResult
    """
    rng = np.random.default_rng() if rng is None else rng
    k = centres.shape[0]
    prices, prev, history = None, None, []
    converged, it, settled = False, 0, False
    for it in range(1, max_iter + 1):
        D = sq_distances(points, centres)
        # Warm start once the labels have settled (< 2% changed in the last step): then the
        # previous dual prices are nearly right. Early steps move the centres far, and stale
        # prices prune the wrong arcs (measured: 400+ polish cycles at n=1e5, k=100), so they
        # start cold from subsample prices instead.
        step = _solve(D, sizes, solver, prices if settled else None, rng)
        prices = step.prices
        history.append(step.cost)
        settled = prev is not None and np.count_nonzero(step.labels != prev) < 0.02 * len(prev)
        if prev is not None:
            if np.array_equal(step.labels, prev):
                converged = True
                break
            # Both labellings are optimal at these centres when the new one is no cheaper:
            # keep the previous one, whose centroids are exactly these centres.
            prev_cost = float(D[np.arange(D.shape[0]), prev].sum())
            if step.cost >= prev_cost - 1e-12 * abs(prev_cost):
                history[-1] = prev_cost
                converged = True
                break
        prev = step.labels
        centres = centroids(points, prev, k)
    labels = prev if prev is not None else step.labels
    centres = centroids(points, labels, k)
    return BallotResult(labels, centres, labels_cost(points, centres, labels), it, converged, prices, history)


def ballot_sinkhorn(points: np.ndarray, centres: np.ndarray, sizes: np.ndarray, epsilon: float, max_iter: int = 100,
                    tol: float = 1e-4, sinkhorn_tol: float = 1e-4, sinkhorn_max_iter: int = 1000,
                    backend: str = "numpy", device: Any = None) -> BallotResult:
    """E-BalLOT from given centres (inputs trusted: validate with :class:`BalancedKMeans`).

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    sizes : ndarray of int, shape (k,)
    epsilon : float
        Absolute entropic regularisation (units of squared distance).
    max_iter : int
        Most Sinkhorn-then-barycentre steps.
    tol : float
        Stop when ``sum_j ||mu_j^new - mu_j||^2`` is at most ``tol`` times the mean per-feature
        variance of the points (scikit-learn's rule).
    sinkhorn_tol, sinkhorn_max_iter :
        Column-marginal tolerance and iteration cap of every Sinkhorn solve
        (:func:`fairopt.balanced.sinkhorn.sinkhorn_schedule`; the first solve anneals epsilon from the
        mean cost, later ones are warm-started from the previous potentials).
    backend : {"numpy", "torch"}
        Where the iterations run; ``"torch"`` uses ``device`` (a GPU when available).
    device : str or torch.device, optional

    Returns
    -------
    BallotResult
    """
    ops = array_ops(backend=backend, device=device)
    X = ops.asarray(points)
    C = ops.asarray(centres)
    a = ops.asarray(np.ones(points.shape[0]))
    b = ops.asarray(sizes.astype(np.float64))
    tol_abs = tol * float(points.var(axis=0).mean())
    g, history, converged, it = None, [], False, 0
    for it in range(1, max_iter + 1):
        Dt = ops.sq_distances(C, X)  # (k, n): the fast layout for k << n
        res = _schedule_t(ops, Dt, a, b, epsilon, tol=sinkhorn_tol, max_iter=sinkhorn_max_iter, g=g)
        g = res.g
        Pt = ops.exp((g[:, None] + res.f[None, :] - Dt) / epsilon)
        history.append(float((Pt * Dt).sum()))
        # Barycentre of the mass sent to each centre (the E-BalLOT update).
        new = (Pt @ X) / Pt.sum(1)[:, None]
        shift = float(((new - C) ** 2).sum())
        last_D, last_g, C = Dt, g, new
        if shift <= tol_abs:
            converged = True
            break
    # Balance-preserving rounding at the centres the last coupling was computed for.
    D = ops.to_numpy(last_D).T
    g = ops.to_numpy(last_g)
    sizes = np.asarray(sizes, dtype=np.int64)
    labels = repair_sizes(D, (D - g).argmin(axis=1), sizes)
    k = sizes.size
    centres = centroids(points, labels, k)
    return BallotResult(labels, centres, labels_cost(points, centres, labels), it, converged, g, history)


def _check_sizes(sizes: Any, n: int, k: int) -> np.ndarray:
    if sizes is None:
        return balanced_sizes(n, k)
    s = np.asarray(sizes)
    if s.shape != (k,) or s.dtype.kind not in "iuf" or not np.all(np.isfinite(s)) or np.any(s != np.round(s)):
        raise ValidationError(f"sizes must be {k} integers (one per cluster, n_clusters={k}); got {sizes!r}")
    s = s.astype(np.int64)
    if np.any(s < 1):
        raise ValidationError(f"sizes must all be >= 1 (an empty cluster has no centroid); got {s.tolist()}")
    if s.sum() != n:
        raise ValidationError(f"sizes must sum to the number of points n={n}; they sum to {int(s.sum())}")
    return s



class BalancedKMeans(ClusteringEstimator):
    r"""Balanced k-means by BalLOT (exact transport) or E-BalLOT (entropic transport).

    Minimises the k-means cost over partitions with prescribed cluster sizes,

    .. math::

        \min_{\mu, \sigma} \sum_i \lVert x_i - \mu_{\sigma(i)} \rVert^2 \quad \text{s.t.} \quad
        |\sigma^{-1}(j)| = s_j \ (j = 1..k), \qquad s_j = n/k \text{ by default},

    alternating an optimal transport of the points to the centres (column sums s_j; integral
    for generic data, so no rounding) with moving every centre to its cluster's centroid.

    Parameters
    ----------
    n_clusters : int
    sizes : array-like of int, shape (n_clusters,), optional
        Prescribed cluster sizes, each >= 1, summing to n. Default: n/k, differing by at most
        one when k does not divide n (the first n mod k clusters get one more point).
    method : {"exact", "sinkhorn"}
        BalLOT or E-BalLOT.
    epsilon : float
        E-BalLOT's entropic regularisation, relative: the absolute one is ``epsilon`` times the
        mean squared distance of the points to their mean (so it does not depend on units).
    init : {"k-means++", "diameter", "clique"} or ndarray of shape (n_clusters, n_features)
        See :mod:`fairopt.balanced.init`; ``"diameter"`` needs n_clusters = 2.
    n_init : int
        Runs from independent initialisations (1 for an array init); the cheapest is kept.
    max_iter : int
        Most assignment steps per run.
    tol : float
        E-BalLOT stops when the squared centre shift is at most ``tol`` times the mean
        per-feature variance of X (BalLOT stops on a repeated assignment instead).
    sinkhorn_tol : float
        E-BalLOT's Sinkhorn tolerance on the relative L1 error of the cluster sizes (the final
        labels have exact sizes whatever it is).
    solver : {"auto", "multiscale", "ortools", "pot", "highs"}
        Exact transport solver (see :func:`fairopt.balanced.transport.balanced_assignment`).
    backend : {"numpy", "torch"}
        Where E-BalLOT's iterations run; ``"torch"`` runs on a GPU when one is available.
    init_params : dict, optional
        Keyword arguments of the initialisation, e.g. ``{"threshold": 2.0, "failure": 0.01}``.
    random_state : int, numpy.random.Generator or None

    Attributes
    ----------
    labels_ : ndarray of shape (n,)
        Cluster of every point; cluster j has exactly ``sizes_[j]`` points.
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centroids of the clusters of ``labels_``.
    inertia_ : float
        Balanced k-means cost of ``labels_``: sum of squared distances to ``cluster_centers_``.
    n_iter_ : int
        Assignment steps of the kept run.
    converged_ : bool
        For "exact": ``labels_`` is an optimal balanced assignment at ``cluster_centers_``.
    sizes_ : ndarray of shape (n_clusters,)
    prices_ : ndarray of shape (n_clusters,)
        Dual prices (exact) or Sinkhorn column potentials (sinkhorn) of the last assignment.
    history_ : list of float
        Per-step costs of the kept run (see :class:`BallotResult`).
    seconds_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape ``(n_features_in_,)``
        Only when ``X`` has string column names (a pandas DataFrame).

    References
    ----------
    .. [1] W. Luo, D. G. Mixon. BalLOT: Balanced k-means clustering with optimal transport.
       arXiv:2512.05926, 2025.
    .. [2] M. Cuturi. Sinkhorn Distances: Lightspeed Computation of Optimal Transport.
       NeurIPS 2013 (the entropic transport of E-BalLOT).

    Examples
    --------
    >>> import numpy as np, fairopt
    >>> X = np.random.default_rng(0).normal(size=(30, 2))
    >>> bk = fairopt.BalancedKMeans(3, random_state=0).fit(X)
    >>> np.bincount(bk.labels_).tolist()
    [10, 10, 10]
    >>> bk.transform(X).shape
    (30, 3)
    """

    def __init__(self, n_clusters: int = 8, *, sizes: Any = None, method: str = "exact", epsilon: float = 1e-2,
                 init: Any = "k-means++", n_init: int = 1, max_iter: int = 100, tol: float = 1e-4,
                 sinkhorn_tol: float = 1e-4, solver: str = "auto", backend: str = "numpy", init_params: dict | None = None,
                 random_state: int | np.random.Generator | None = None):
        self.n_clusters = n_clusters
        self.sizes = sizes
        self.method = method
        self.epsilon = epsilon
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.sinkhorn_tol = sinkhorn_tol
        self.solver = solver
        self.backend = backend
        self.init_params = init_params
        self.random_state = random_state

    def _validate(self, X: Any) -> tuple[np.ndarray, int, np.ndarray, int]:
        X = check_input(self, X, reset=True)
        n = X.shape[0]
        k = validate_n_clusters(self.n_clusters, n)
        check_distinct_points(X, k)
        sizes = _check_sizes(self.sizes, n, k)
        check_choice(self.method, "method", METHODS)
        check_choice(self.solver, "solver", SOLVERS)
        check_choice(self.backend, "backend", ("numpy", "torch"))
        for name in ("epsilon", "tol", "sinkhorn_tol"):
            check_number(getattr(self, name), name, low=0, low_open=True)
        check_int(self.max_iter, "max_iter")
        n_init = check_int(self.n_init, "n_init")
        if isinstance(self.init, str) and self.init not in INITS:
            raise ValidationError(f"init must be one of {INITS} or an array of shape ({k}, {X.shape[1]}); got {self.init!r}")
        if self.init_params is not None and not isinstance(self.init_params, dict):
            raise ValidationError(f"init_params must be a dict of keyword arguments; got {type(self.init_params).__name__}")
        params = self.init_params or {}
        real = lambda v: not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))
        if "failure" in params and not (real(params["failure"]) and 0.0 < params["failure"] < 1.0):
            raise ValidationError(f"init_params['failure'] must lie in (0, 1); got {params['failure']!r}")
        if params.get("threshold") is not None and not (real(params["threshold"]) and params["threshold"] > 0):
            raise ValidationError(f"init_params['threshold'] must be positive; got {params['threshold']!r}")
        return X, k, sizes, (1 if not isinstance(self.init, str) else int(n_init))

    def fit(self, X: Any, y: Any = None) -> "BalancedKMeans":
        """Cluster X into clusters of exactly the prescribed sizes.

        Parameters
        ----------
        X : array-like of shape (n, d)
        y : ignored

        Returns
        -------
        self
        """
        X, k, sizes, n_init = self._validate(X)
        rng = check_random_state(self.random_state)
        t0 = time.perf_counter()
        best = None
        for _ in range(n_init):
            try:
                start = init_centres(X, k, self.init, rng, self.init_params)
            except TypeError as exc:
                raise ValidationError(f"init_params do not fit init={self.init!r}: {exc}") from None
            if self.method == "exact":
                run = ballot(X, start, sizes, self.max_iter, self.solver, rng)
            else:
                scale = float(((X - X.mean(axis=0)) ** 2).sum(axis=1).mean())
                run = ballot_sinkhorn(X, start, sizes, self.epsilon * max(scale, 1e-300), self.max_iter,
                                      tol=self.tol, sinkhorn_tol=self.sinkhorn_tol, backend=self.backend)
            if best is None or run.cost < best.cost:
                best = run
        if not best.converged:
            warnings.warn(f"BalancedKMeans did not converge in max_iter={self.max_iter} steps; raise max_iter",
                          RuntimeWarning, stacklevel=2)
        self.labels_ = best.labels
        self.cluster_centers_ = best.centres
        self.inertia_ = best.cost
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.prices_ = best.prices
        self.history_ = best.history
        self.sizes_ = sizes
        self.seconds_ = time.perf_counter() - t0
        return self

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """``fit(X).labels_``."""
        return self.fit(X).labels_

    def predict(self, X: Any) -> np.ndarray:
        """Nearest fitted centre of every row of X (not balanced: new points arrive one by one).

        For a balanced assignment of a batch of new points use :meth:`predict_balanced`.
        """
        return self._nearest(self._check_fitted_input(X))

    def predict_balanced(self, X: Any, sizes: Any = None) -> np.ndarray:
        """Optimal balanced assignment of the rows of X to the fitted centres.

        ``sizes`` defaults to m/k (differing by at most one) for m rows; each must be >= 0
        and they must sum to m.
        """
        X = self._check_fitted_input(X)
        k = self.cluster_centers_.shape[0]
        sizes = balanced_sizes(X.shape[0], k) if sizes is None else sizes
        return balanced_assignment(sq_distances(X, self.cluster_centers_), sizes, solver=self.solver).labels

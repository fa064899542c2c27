"""BalancedKMeans: the estimator of BalLOT and E-BalLOT (:mod:`fairopt.balanced.alternation`).

Balanced k-means minimises the k-means cost sum_i ||x_i - mu_{labels[i]}||^2 over partitions
whose cluster j has exactly size_j points (n/k by default), or between ``size_min[j]`` and
``size_max[j]`` points. BalLOT alternates the exact transport of the points to the centres
with those sizes and the centroid update; E-BalLOT replaces the transport by its entropic
version. The estimator validates, picks the initial centres and keeps the cheapest run; arrays
come back in the namespace and on the device of X (scikit-learn's array API convention,
:mod:`fairopt.balanced.arrays`).

References
----------
W. Luo, D. G. Mixon. BalLOT: Balanced k-means clustering with optimal transport. arXiv:2512.05926, 2025.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any

import array_api_compat
import numpy as np

from fairopt.balanced.alternation import (
    BallotResult,
    balanced_sizes,
    ballot,
    ballot_bounded,
    ballot_sinkhorn,
    centroids,
)
from fairopt.balanced.arrays import (
    foreign,
    from_numpy,
    namespace,
    on_host,
    power_of_two_unit,
    to_numpy,
)
from fairopt.balanced.entropic import entropic_steps
from fairopt.balanced.init import INITS, init_centres
from fairopt.balanced.transport import SOLVERS, TransportAssignment, balanced_assignment
from fairopt.base import ClusteringEstimator, check_input
from fairopt.distances import nearest, sq_distances
from fairopt.exceptions import SolverNotAvailableError, ValidationError
from fairopt.problem import check_distinct_points, validate_n_clusters
from fairopt.validation import (
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_random_state,
)

__all__ = [
    "BalancedKMeans",
    "BallotResult",
    "ballot",
    "ballot_bounded",
    "ballot_sinkhorn",
    "balanced_assignment",
    "balanced_sizes",
    "centroids",
    "TransportAssignment",
]

METHODS = ("exact", "sinkhorn")
BACKENDS = ("auto", "numpy", "torch")


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




def _check_ranges(size_min: Any, size_max: Any, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """size_min / size_max as k integers (a scalar applies to every cluster), feasible for n points."""
    out = []
    for name, value, default in (("size_min", size_min, 0), ("size_max", size_max, n)):
        v = np.full(k, default) if value is None else np.asarray(value)
        if v.ndim == 0:
            v = np.full(k, v)
        if v.shape != (k,) or v.dtype.kind not in "iuf" or not np.all(np.isfinite(v)) or np.any(v != np.round(v)) or np.any(v < 0):
            raise ValidationError(f"{name} must be a non-negative integer or {k} of them (one per cluster); got {value!r}")
        out.append(v.astype(np.int64))
    lo, hi = out
    if np.any(lo > hi):
        j = int(np.flatnonzero(lo > hi)[0])
        raise ValidationError(f"size_min must not exceed size_max; cluster {j} has size_min={lo[j]} > size_max={hi[j]}")
    if lo.sum() > n or hi.sum() < n:
        raise ValidationError(f"no partition of n={n} points fits the ranges: sum(size_min)={int(lo.sum())} must be "
                              f"<= n <= sum(size_max)={int(hi.sum())}; loosen size_min or size_max")
    return lo, hi


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
    size_min, size_max : int or array-like of int, shape (n_clusters,), optional
        Size ranges instead of exact sizes (as in k-means-constrained): every cluster j gets
        between ``size_min[j]`` and ``size_max[j]`` points, each assignment step being the exact
        min-cost flow with those bounds (:mod:`fairopt.balanced.bounded`). A scalar applies to
        every cluster; a missing one is 0 or n. Not with ``sizes``; ``method="exact"`` only.
    method : {"exact", "sinkhorn"}
        BalLOT or E-BalLOT.
    epsilon : float
        Entropic regularisation, relative: the absolute one (POT's ``reg``, in units of squared
        distance; see :mod:`fairopt.balanced.entropic`) is ``epsilon`` times the mean squared
        distance of the points to their mean, so it does not depend on units. Used by E-BalLOT
        and by the exact method's entropic warm start.
    init : {"k-means++", "diameter", "clique"} or ndarray of shape (n_clusters, n_features)
        See :mod:`fairopt.balanced.init`; ``"diameter"`` needs n_clusters = 2.
    n_init : int
        Runs from independent initialisations (1 for an array init); the cheapest is kept.
    max_iter : int
        Most assignment steps per run.
    tol : float
        E-BalLOT stops when the squared centre shift is at most ``tol`` times the mean
        per-feature variance of X, or the hard assignment repeats (BalLOT stops on a repeated
        assignment).
    sinkhorn_tol : float
        E-BalLOT's tolerance on the relative L1 error of the cluster masses in every step (the
        final labels have exact sizes whatever it is).
    solver : {"auto", "multiscale", "ortools", "pot", "highs"}
        Exact transport solver (see :func:`fairopt.balanced.transport.balanced_assignment`).
    entropic_start : bool, default True
        For ``method="exact"``: True (default) first runs E-BalLOT's cheap entropic
        steps from the initial centres and starts the exact alternation from their centres and
        potentials (dual prices), which then needs a few exact steps; the result is still a
        BalLOT fixed point (``converged_``: optimal balanced labels at their own centroids).
        False runs the paper's exact alternation from the initial centres, whose cost never
        increases from the first assignment on.
    backend : {"auto", "numpy", "torch"}
        Where the entropic steps run: ``"auto"`` in the namespace and on the device of X
        (numpy, torch, CuPy, ... through the array API); ``"numpy"`` on the host; ``"torch"``
        moves numpy input to ``device`` (default: a GPU when available). The fitted
        attributes come back in the namespace and on the device of X in every case.
    device : str, optional
        torch device for ``backend="torch"``.
    init_params : dict, optional
        Keyword arguments of the initialisation, e.g. ``{"threshold": 2.0, "failure": 0.01}``.
    random_state : int, numpy.random.Generator or None

    Attributes
    ----------
    labels_ : array of shape (n,), int64
        Cluster of every point; cluster j has exactly ``sizes_[j]`` points.
    cluster_centers_ : array of shape (n_clusters, n_features), float64
        Centroids of the clusters of ``labels_``.
    inertia_ : float
        Balanced k-means cost of ``labels_``: sum of squared distances to ``cluster_centers_``.
    n_iter_ : int
        Assignment steps of the kept run (entropic steps included).
    converged_ : bool
        For "exact": ``labels_`` is an optimal balanced assignment at ``cluster_centers_``.
    sizes_ : array of shape (n_clusters,)
        Sizes of the clusters of ``labels_``.
    prices_ : array of shape (n_clusters,)
        Dual prices of the last exact assignment (empty with size ranges).
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
                 sinkhorn_tol: float = 1e-4, solver: str = "auto", backend: str = "auto", init_params: dict | None = None,
                 random_state: int | np.random.Generator | None = None, size_min: Any = None, size_max: Any = None,
                 entropic_start: bool = True, device: Any = None):
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
        self.size_min = size_min
        self.size_max = size_max
        self.entropic_start = entropic_start
        self.device = device

    def _validate(self, X: Any) -> tuple[np.ndarray, int, Any, int]:
        X = check_input(self, on_host(X), reset=True)
        n = X.shape[0]
        k = validate_n_clusters(self.n_clusters, n)
        check_distinct_points(X, k)
        check_choice(self.method, "method", METHODS)
        if self.size_min is not None or self.size_max is not None:
            if self.sizes is not None:
                raise ValidationError("give either sizes (exact) or size_min / size_max (ranges), not both")
            if self.method != "exact":
                raise ValidationError(f"size_min / size_max need method='exact'; got method={self.method!r}")
            sizes = _check_ranges(self.size_min, self.size_max, n, k)
        else:
            sizes = _check_sizes(self.sizes, n, k)
        check_choice(self.solver, "solver", SOLVERS)
        check_choice(self.backend, "backend", BACKENDS)
        check_bool(self.entropic_start, "entropic_start")
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

    def _work_array(self, X_in: Any, X: np.ndarray) -> Any:
        """X where the entropic steps run: the input's namespace and device, or the backend asked for."""
        if self.backend == "numpy" or (self.backend == "auto" and isinstance(X_in, np.ndarray)):
            return X
        if self.backend == "torch":
            try:
                import torch  # optional backend
            except ImportError:
                raise SolverNotAvailableError("backend='torch' needs PyTorch: pip install 'fairopt[gpu]'  (or: pip install torch)") from None
            if array_api_compat.is_torch_array(X_in):
                return X_in.detach().to(torch.float64)
            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            return torch.as_tensor(X, device=device)
        if not array_api_compat.is_array_api_obj(X_in):
            return X  # lists, pandas frames, ...: numpy
        xp = namespace(X_in)
        return X_in if X_in.dtype in (xp.float32, xp.float64) else xp.astype(X_in, xp.float64)

    def _run(self, X: np.ndarray, W: Any, start: np.ndarray, sizes: Any, rng: np.random.Generator) -> BallotResult:
        if isinstance(sizes, tuple):
            return ballot_bounded(X, start, sizes[0], sizes[1], self.max_iter)
        scale = float(((X - X.mean(axis=0)) ** 2).sum(axis=1).mean())
        eps = self.epsilon * max(scale, 1e-300)
        xw = namespace(W)
        C = from_numpy(start, xw, array_api_compat.device(W))
        if self.method == "sinkhorn":
            return ballot_sinkhorn(W, C, sizes, eps, self.max_iter, tol=self.tol, sinkhorn_tol=self.sinkhorn_tol,
                                   solver=self.solver, rng=rng, host_points=X)
        if not self.entropic_start:
            return ballot(X, start, sizes, self.max_iter, self.solver, rng)
        pre = entropic_steps(W, C, sizes, eps, max_iter=self.max_iter, tol=self.tol, sinkhorn_tol=self.sinkhorn_tol)
        C0, g0 = to_numpy(pre["centres"]), to_numpy(pre["g"])
        if not (np.all(np.isfinite(C0)) and np.all(np.isfinite(g0))):
            C0, g0 = start, None  # degenerate scale (the entropic steps overflowed): the paper's start
        run = ballot(X, C0, sizes, self.max_iter, self.solver, rng, prices=g0)
        return BallotResult(run.labels, run.centres, run.cost, run.n_iter + pre["n_iter"], run.converged, run.prices,
                            run.history, pre["sinkhorn_iter"])

    def fit(self, X: Any, y: Any = None) -> "BalancedKMeans":
        """Cluster X into clusters of the prescribed sizes.

        Parameters
        ----------
        X : array of shape (n, d)
            numpy, torch (CPU or GPU), CuPy or any array API array; lists are read as numpy.
        y : ignored

        Returns
        -------
        self
        """
        X_in = X
        X, k, sizes, n_init = self._validate(X)
        # Data far from unit scale run in units of a power of two (exact), so squared distances
        # neither underflow (1e-151) nor overflow (1e160); labels do not depend on the unit.
        unit = power_of_two_unit(X)
        X = X / unit
        init = self.init if isinstance(self.init, str) else np.asarray(self.init, dtype=np.float64) / unit
        W = self._work_array(X_in, X)
        rng = check_random_state(self.random_state)
        t0 = time.perf_counter()
        best = None
        for _ in range(n_init):
            try:
                start = init_centres(X, k, init, rng, self.init_params)
            except TypeError as exc:
                raise ValidationError(f"init_params do not fit init={self.init!r}: {exc}") from None
            run = self._run(X, W, start, sizes, rng)
            if best is None or run.cost < best.cost:
                best = run
        if unit != 1.0:
            best = dataclasses.replace(best, centres=best.centres * unit, cost=best.cost * unit**2,
                                       prices=np.asarray(best.prices, dtype=np.float64) * unit**2,
                                       history=[h * unit**2 for h in best.history])
        if not best.converged:
            warnings.warn(f"BalancedKMeans did not converge in max_iter={self.max_iter} steps; raise max_iter",
                          RuntimeWarning, stacklevel=2)
        # scikit-learn's array API convention: attributes in the namespace and on the device of X.
        out = (lambda a: from_numpy(a, namespace(X_in), array_api_compat.device(X_in))) \
            if array_api_compat.is_array_api_obj(X_in) else (lambda a: a)
        self.labels_ = out(best.labels)
        self.cluster_centers_ = out(best.centres)
        self.inertia_ = best.cost
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.prices_ = out(np.asarray(best.prices, dtype=np.float64))
        self.history_ = best.history
        self.sizes_ = out(np.bincount(best.labels, minlength=k).astype(np.int64))
        self.seconds_ = time.perf_counter() - t0
        return self

    def fit_predict(self, X: Any, y: Any = None) -> Any:
        """``fit(X).labels_``."""
        return self.fit(X).labels_

    def _check_fitted(self, X: Any) -> tuple[np.ndarray, np.ndarray, Any]:
        """X checked against the fit (NotFittedError before fit), the centres on the host, and the
        conversion of results back to X's namespace and device."""
        X_in = X
        X = self._check_fitted_input(on_host(X))
        out = (lambda a: from_numpy(a, namespace(X_in), array_api_compat.device(X_in))) \
            if foreign(X_in) else (lambda a: a)
        return X, np.asarray(to_numpy(self.cluster_centers_), dtype=np.float64), out

    def predict(self, X: Any) -> Any:
        """Nearest fitted centre of every row of X (not balanced: new points arrive one by one).

        For a balanced assignment of a batch of new points use :meth:`predict_balanced`.
        """
        X, centres, out = self._check_fitted(X)
        return out(nearest(X, centres)[0])

    def predict_balanced(self, X: Any, sizes: Any = None) -> Any:
        """Optimal balanced assignment of the rows of X to the fitted centres.

        ``sizes`` defaults to m/k (differing by at most one) for m rows; each must be >= 0
        and they must sum to m.
        """
        X, centres, out = self._check_fitted(X)
        k = centres.shape[0]
        sizes = balanced_sizes(X.shape[0], k) if sizes is None else sizes
        return out(balanced_assignment(sq_distances(X, centres), sizes, solver=self.solver).labels)

"""Algorithm 1 of the Relax-and-Merge paper: fair k-means (``FairKMeans``).

Song, Mo, Yang, Ding. "Relax and Merge: A Simple Yet Effective Framework for Solving Fair
k-Means and k-sparse Wasserstein Barycenter Problems".

    1. S <- an approximate centroid set (candidate centres)
    2. relax:  phi <- LP (2) with C = S          (every candidate may be a centre)
    3. move:   W(s) = sum_x phi(x, s);  s <- sum_x phi(x, s) x / W(s)
    4. merge:  k centres <- weighted k-means (k-means++ then Lloyd) on (S, W)
    5. phi <- LP (2) with the k merged centres
    6. round phi to an integral assignment (violation <= 2 for disjoint groups)

The merge costs a factor rho (the k-means approximation), giving (1 + 4 rho + O(eps)) times
the fair optimum (the paper's Theorem 1).

At scale (issue 11) steps 1-4 run on a fair coreset (:mod:`fairopt.coresets`: a weighted
sample per group signature with each signature's exact weight, so LP (2) on it stands in for
LP (2) on the data), with a bounded candidate set (400 kd-tree samples); steps 5 and 6 run on
all points exactly (certified LP (2), rounding of the split points only).
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from fairopt.assignment.lp2 import (
    FairAssignment,
    check_method_solver,
    solve_lp2,
    status_hint,
)
from fairopt.base import ClusteringEstimator, FairEstimatorMixin, check_input, resolve_groups
from fairopt.candidates import METHODS as CANDIDATE_METHODS
from fairopt.candidates import _candidate_set
from fairopt.coresets import check_coreset_size, coreset_problem, resolve_coreset_size
from fairopt.distances import mass_centroids, sq_distances
from fairopt.exceptions import SolverStatusError, ValidationError
from fairopt.fair.final_step import fair_clustering_from_centres
from fairopt.fair.result import FairClustering
from fairopt.fair.rounding import ROUNDING_METHODS
from fairopt.kmeans import _weighted_kmeans
from fairopt.problem import (
    FairProblem,
    check_distinct_points,
    make_fair_problem,
    validate_n_clusters,
)
from fairopt.solvers.flow import FLOW_SOLVERS
from fairopt.solvers.registry import get_solver
from fairopt.validation import (
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_random_state,
    check_time_limit,
)

__all__ = ["FairKMeans", "FairClustering", "relax_and_merge", "fair_clustering_from_centres", "move_candidates",
           "warn_best_effort"]


def move_candidates(points: np.ndarray, candidates: np.ndarray, phi: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: weight every candidate by the mass it received and move it to that mass's centroid.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    candidates : ndarray of shape (s, d)
    phi : sparse matrix of shape (n, s)
        Fractional assignment of LP (2) on the candidates.

    Returns
    -------
    moved : ndarray of shape (s', d)
        Centroids of the mass of every candidate with W(s) > 0.
    W : ndarray of shape (s',)
        Their weights W(s).
    """
    # s <- sum_x phi(x, s) x / W(s): one sparse product, no loop over candidates.
    moved, W = mass_centroids(phi, points)
    keep = W > 1e-12 * max(W.max(initial=0.0), 1.0)
    return moved[keep], W[keep]


def refine_centres(problem: FairProblem, centres: np.ndarray, n_iter: int, solver: str = "highs",
                   method: str = "auto", time_limit: float | None = None, tol: float = 1e-6) -> tuple[np.ndarray, list]:
    """Optional fair Lloyd refinement after the merge (not part of the paper's Algorithm 1).

    Alternates LP (2) on the centres with moving every centre to the centroid of the mass it
    receives; a centre that receives nothing is re-seeded at the point that pays most. Each
    step keeps the previous assignment feasible, and the centroid minimises sum_x phi(x, c)
    ||x - c||^2 for fixed phi, so the LP (2) objective never increases.

    Returns
    -------
    centres : ndarray of shape (k, d)
    history : list of float
        LP (2) objective before each move (monotone non-increasing).
    """
    history = []
    for _ in range(n_iter):
        fa = solve_lp2(problem, centres, solver=solver, method=method, time_limit=time_limit)
        history.append(float(fa.objective))
        if len(history) > 1 and history[-2] - history[-1] <= tol * abs(history[-2]):
            break
        phi = fa.assignment
        new, W = mass_centroids(phi, problem.points, fallback=centres)
        used = W > 1e-12
        new[~used] = centres[~used]
        if (~used).any():
            # cost each point pays now; the most expensive ones seed the empty centres
            pay = np.asarray(phi.multiply(sq_distances(problem.points, centres)).sum(axis=1)).ravel()
            new[~used] = problem.points[np.argsort(-pay, kind="stable")[: int((~used).sum())]]
        centres = new
    return centres, history


def relax_and_merge(
    problem: FairProblem,
    k: int,
    rng: np.random.Generator,
    candidates: str = "kdtree+seeds",
    n_candidates: int | None = 600,
    candidate_ratio: float = 1.0,
    n_init: int = 10,
    solver: str = "highs",
    method: str = "auto",
    time_limit: float | None = None,
    rounding: str = "auto",
    best_effort: bool = False,
    verbose: bool = False,
    progress: bool = False,
    flow_solver: str = "auto",
    n_refine: int = 0,
    coreset_size: int | str | None = "auto",
) -> FairClustering:
    """Algorithm 1 on a validated problem; see the module docstring for the steps.

    Steps 1-4 run on ``relax_problem`` (the data, or a fair coreset of it when ``coreset_size``
    asks for one, see :func:`resolve_coreset_size`); steps 5-6 always on all of ``problem``.
    """
    seconds = {}
    t = time.perf_counter()
    size = resolve_coreset_size(coreset_size, problem.n, k)
    relax_problem, n_coreset = problem, None
    if size is not None:
        relax_problem, cs = coreset_problem(problem, size, k, rng)
        n_coreset = cs.size
    seconds["coreset"] = time.perf_counter() - t
    t = time.perf_counter()
    S = _candidate_set(relax_problem.points, candidates, n_candidates, candidate_ratio, 0.5, rng,
                       weights=relax_problem.weights)
    seconds["candidates"] = time.perf_counter() - t

    t = time.perf_counter()
    relax: FairAssignment = solve_lp2(relax_problem, S, solver=solver, method=method, time_limit=time_limit,
                                      verbose=verbose, progress=progress, require_optimal=not best_effort)
    seconds["relax_lp"] = time.perf_counter() - t
    if relax.assignment is None:
        raise SolverStatusError(
            f"the relaxed LP (2) on {S.shape[0]} candidate centres stopped with status {relax.status!r} before "
            f"finding a feasible point, so even a best-effort run has no labels to return; "
            f"{status_hint(relax.status, time_limit, offer_best_effort=False)}",
            relax,
        )

    t = time.perf_counter()
    moved, W = move_candidates(relax_problem.points, S, relax.assignment)
    if moved.shape[0] < k:
        # Fewer loaded candidates than k: pad with data points so the merge can return k centres.
        extra = relax_problem.points[rng.choice(relax_problem.n, size=k - moved.shape[0], replace=False)]
        moved = np.vstack([moved, extra])
        W = np.concatenate([W, np.full(extra.shape[0], 1e-9)])
    merged = _weighted_kmeans(moved, W, k, n_init, 300, 1e-6, rng)
    centres, history = merged.centres, []
    seconds["merge"] = time.perf_counter() - t
    if n_refine > 0:
        t = time.perf_counter()
        centres, history = refine_centres(problem, centres, n_refine, solver=solver, method=method,
                                          time_limit=time_limit)
        seconds["refine"] = time.perf_counter() - t

    result = fair_clustering_from_centres(problem, centres, solver=solver, method=method,
                                          time_limit=time_limit, rounding=rounding, best_effort=best_effort,
                                          verbose=verbose, flow_solver=flow_solver)
    all_seconds = {**seconds, **result.seconds}
    all_seconds["total"] = sum(all_seconds.values())
    return dataclasses.replace(
        result,
        seconds=all_seconds,
        status=relax.status if relax.status != "optimal" else result.status,
        info={**result.info,
               "relaxed_cost": float(relax.objective) if relax.objective is not None else float("nan"),
               "refine_history": history,
               "n_candidates": int(S.shape[0]),
               "n_coreset": n_coreset,
               "n_loaded_candidates": int(np.count_nonzero(W > 1e-9)),
               "merge_cost": float(merged.cost),
               "relax_info": relax.info},
    )


def warn_best_effort(who: str, status: str) -> None:
    """The warning of a best-effort result (labels from an LP (2) solution not proven optimal)."""
    if status != "optimal":
        warnings.warn(
            f"{who}: best-effort result: LP (2) stopped with status {status!r}, so the centres and labels come from "
            "a feasible but unproven LP solution (the status says so); the rounding bound on the violation still holds, "
            "the cost guarantee does not",
            RuntimeWarning,
            stacklevel=3,
        )


class FairKMeans(FairEstimatorMixin, ClusteringEstimator):
    r"""Fair k-means by Relax and Merge (Algorithm 1).

    Minimises the k-means cost under the fairness bounds of every group in every cluster,

    .. math::

        \min_{C, \sigma} \sum_x w(x) \lVert x - \sigma(x) \rVert^2 \quad \text{s.t.} \quad
        \beta_i W(c) \le W_i(c) \le \alpha_i W(c) \ \text{for every centre } c \text{ and group } i,

    by Algorithm 1 (module docstring): a (1 + 4 rho + O(eps))-approximation (Theorem 1), with an
    additive violation of at most 2 for disjoint groups after the rounding.

    Parameters
    ----------
    n_clusters : int
        k.
    delta : float in [0, 1), default 0.1
        Slack of the bounds: beta_i = r_i (1 - delta), alpha_i = r_i / (1 - delta) with r_i the
        share of group i. Ignored for a bound given explicitly.
    alpha, beta : float, ndarray of shape (m,) or mapping label -> bound, optional
        Explicit upper/lower share of every group in every cluster.
    candidates : {"kdtree+seeds", "kdtree", "kdtree+points", "points", "grid"}, default "kdtree+seeds"
        The approximate centroid set S (see :func:`fairopt.candidates.candidate_set`); the
        default is 400 kd-tree samples plus 200 k-means++ seeds.
    n_candidates : int or None, default 600
        Size of the sampled part of S; a bounded size keeps the relaxed LP (2) at about
        600 x (points) arcs whatever n is. None: as many as points (the paper's set, with
        ``candidates="kdtree+points"``).
    coreset_size : "auto", int or None, default "auto"
        Run steps 1-4 on a fair coreset of this many points (:func:`fairopt.fair_coreset`).
        "auto": 200 k points (2,000 to 5,000) once n exceeds 4,000, all points below. None:
        all points. The final LP (2) and the rounding always use all points. The paper's exact
        Algorithm 1 on all candidates: ``candidates="kdtree+points", n_candidates=None,
        coreset_size=None``.
    candidate_ratio : float in (0, 1]
        Fraction of S kept (the paper samples 10% to 100%).
    n_init : int
        Restarts of the weighted k-means merge.
    solver : str
        LP solver ("highs" default; "glpk", "cbc", "gurobi").
    method : {"auto", "colgen", "direct", "pyomo", "cvxpy"}
        How LP (2) is solved; "auto" takes the exact column-generation path with HiGHS.
    time_limit : float, optional
        Seconds per LP solve.
    rounding : {"auto", "circulation", "iterative"}
        "auto": circulation for disjoint groups, iterative LP rounding for overlapping ones.
    flow_solver : {"auto", "ortools", "highs", "networkx"}
        Min-cost flow solver of the circulation ("auto": OR-Tools when installed, else HiGHS).
    n_refine : int, default 0
        Steps of an optional fair Lloyd refinement after the merge (LP (2), then centroids;
        monotone in the LP (2) cost). 0 runs the paper's Algorithm 1 exactly. It helps when the
        relaxed LP loads fewer than k candidates (e.g. hypercube at delta = 0).
    best_effort : bool
        When True, an LP (2) stopped before its proven optimum (time limit) still gives labels
        if the solver has a feasible point; ``status_`` holds the LP status and a
        ``RuntimeWarning`` says so. Without a feasible point it raises all the same. When False
        (default) any status but optimal raises :class:`fairopt.SolverStatusError` (``.status``).
    random_state : int, Generator or None

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (k, d)
    labels_ : ndarray of shape (n,)
        Integral assignment after rounding.
    assignment_ : scipy.sparse.csr_matrix of shape (n, k)
        Fractional assignment of LP (2) on the final centres.
    fractional_cost_ : float
        LP (2) objective on the final centres.
    relaxed_cost_ : float
        LP (2) objective on the candidate set (the relaxation).
    cost_ : float
        k-means cost of ``labels_`` to ``cluster_centers_`` (squared distances, weighted).
    violation_ : float
        Additive violation of ``labels_`` (0: within the bounds).
    alpha_, beta_ : ndarray of shape (m,)
        The bounds used; ``group_labels_`` names the groups in that order.
    status_ : str
        "optimal", or the LP status of a best-effort run.
    seconds_ : dict
        Seconds per stage (coreset, candidates, relax_lp, merge, assign_lp, rounding, total).
    n_coreset_ : int or None
        Points of the coreset the relaxation ran on (None: all points).
    n_features_in_ : int

    Notes
    -----
    ``predict(X)`` sends every point to its nearest centre (not fair); ``predict(X, groups)``
    places the batch fairly: LP (2) at the fitted centres with the bounds rule of ``fit``
    (``delta`` on the batch's own shares, or ``alpha``/``beta``), then the same rounding.

    References
    ----------
    .. [1] S. Song, Y. Mo, X. Yang, H. Ding. Relax and Merge: A Simple Yet Effective Framework
       for Solving Fair k-Means and k-sparse Wasserstein Barycenter Problems.
    .. [2] S. Bera, D. Chakrabarty, N. Flores, M. Negahbani. Fair Algorithms for Clustering.
       NeurIPS 2019 (LP rounding for overlapping groups).

    Examples
    --------
    >>> import fairopt
    >>> X, groups = fairopt.datasets.make_fair_blobs(n=60, k=3, random_state=0)
    >>> fk = fairopt.FairKMeans(3, delta=0.2, random_state=0).fit(X, groups)
    >>> fk.cluster_centers_.shape, bool(fk.violation_ <= 2)
    ((3, 2), True)
    """

    #: The objective of LP (2) in ``fit`` and the fair ``predict`` (subclasses change it).
    _objective = "kmeans"

    def __init__(self, n_clusters: int = 8, *, delta: float | None = 0.1, alpha: Any = None, beta: Any = None,
                 candidates: str = "kdtree+seeds", n_candidates: int | None = 600, candidate_ratio: float = 1.0,
                 n_init: int = 10, solver: str = "highs", method: str = "auto", time_limit: float | None = None,
                 rounding: str = "auto", flow_solver: str = "auto", best_effort: bool = False,
                 random_state: Any = None, verbose: bool = False, progress: bool = False, n_refine: int = 0,
                 coreset_size: int | str | None = "auto"):
        self.n_clusters = n_clusters
        self.coreset_size = coreset_size
        self.delta = delta
        self.alpha = alpha
        self.beta = beta
        self.candidates = candidates
        self.n_candidates = n_candidates
        self.candidate_ratio = candidate_ratio
        self.n_init = n_init
        self.solver = solver
        self.method = method
        self.time_limit = time_limit
        self.rounding = rounding
        self.flow_solver = flow_solver
        self.n_refine = n_refine
        self.best_effort = best_effort
        self.random_state = random_state
        self.verbose = verbose
        self.progress = progress

    def _validate(self, X, groups, sample_weight):
        problem = make_fair_problem(X, groups, weights=sample_weight, delta=self.delta, alpha=self.alpha, beta=self.beta)
        k = validate_n_clusters(self.n_clusters, problem.n)
        check_distinct_points(problem.points, k)
        check_method_solver(self.method, self.solver)
        check_time_limit(self.time_limit)
        check_bool(self.best_effort, "best_effort")
        check_int(self.n_init, "n_init")
        check_int(self.n_refine, "n_refine", minimum=0)
        check_choice(self.candidates, "candidates", CANDIDATE_METHODS)
        check_int(self.n_candidates, "n_candidates", allow_none=True)
        check_number(self.candidate_ratio, "candidate_ratio", low=0, high=1, low_open=True)
        check_coreset_size(self.coreset_size)
        check_choice(self.rounding, "rounding", ROUNDING_METHODS)
        check_choice(self.flow_solver, "flow_solver", ("auto", *FLOW_SOLVERS))
        if self.rounding == "circulation" and not problem.groups.disjoint:
            raise ValidationError("rounding='circulation' needs disjoint groups (one group attribute); "
                                  "use rounding='iterative' or 'auto' for overlapping groups")

        get_solver(self.solver, "cvxpy" if self.method == "cvxpy" else "matrices")
        return problem, k

    def fit(self, X: Any, groups: Any = None, sample_weight: Any = None, *,
            sensitive_features: Any = None) -> "FairKMeans":
        """Cluster ``X`` (n, d) fairly w.r.t. ``groups`` ((n,) or (n, a) labels; or ``sensitive_features=``,
        see :mod:`fairopt.base`); ``sample_weight`` (n,) are the masses w(x). Returns ``self``."""
        groups = resolve_groups(groups, sensitive_features, "FairKMeans")
        X = check_input(self, X, reset=True, min_samples=2)  # two groups need two points
        problem, k = self._validate(X, groups, sample_weight)
        rng = check_random_state(self.random_state)
        res = relax_and_merge(problem, k, rng, candidates=self.candidates, n_candidates=self.n_candidates,
                              candidate_ratio=self.candidate_ratio, n_init=self.n_init, solver=self.solver,
                              method=self.method, time_limit=self.time_limit, rounding=self.rounding,
                              best_effort=self.best_effort, verbose=self.verbose, progress=self.progress,
                              flow_solver=self.flow_solver, n_refine=self.n_refine,
                              coreset_size=self.coreset_size)
        self._store(res, problem)
        self.relaxed_cost_ = res.info["relaxed_cost"]
        self.n_candidates_ = res.info["n_candidates"]
        self.n_coreset_ = res.info["n_coreset"]
        warn_best_effort("FairKMeans", res.status)
        return self

    def _store(self, res: FairClustering, problem: FairProblem) -> None:
        self.cluster_centers_ = res.centres
        self.labels_ = res.labels
        self.assignment_ = res.assignment
        self.fractional_cost_ = res.fractional_cost
        self.cost_ = res.cost
        self.violation_ = res.violation
        self.status_ = res.status
        self.seconds_ = res.seconds
        self.alpha_ = problem.alpha
        self.beta_ = problem.beta
        self.group_labels_ = list(problem.groups.labels)
        self.n_features_in_ = problem.points.shape[1]  # also for subclasses whose fit skips check_input
        self.result_ = res

    def _fair_labels(self, X: np.ndarray, groups: Any, sample_weight: Any) -> np.ndarray:
        """LP (2) and the rounding at the fitted centres, with the bounds rule of ``fit``."""
        problem = make_fair_problem(X, groups, weights=sample_weight, delta=self.delta, alpha=self.alpha, beta=self.beta)
        res = fair_clustering_from_centres(problem, self.cluster_centers_, solver=self.solver, method=self.method,
                                           time_limit=self.time_limit, rounding=self.rounding,
                                           best_effort=self.best_effort, flow_solver=self.flow_solver,
                                           objective=self._objective)
        warn_best_effort(f"{type(self).__name__}.predict", res.status)
        return res.labels

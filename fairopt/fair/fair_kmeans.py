"""``FairKMeans``: the estimator of fair k-means by Relax and Merge (Algorithm 1).

It validates its input once, picks the coreset and candidate sizes for the data (issue 11's
defaults) and calls :func:`fairopt.fair.relax_merge.relax_and_merge`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fairopt.assignment.lp2 import (
    check_method_solver,
)
from fairopt.base import (
    ClusteringEstimator,
    FairEstimatorMixin,
    check_input,
    resolve_groups,
)
from fairopt.candidates import METHODS as CANDIDATE_METHODS
from fairopt.coresets import check_coreset_size
from fairopt.distributed.dask_chunks import dask_client
from fairopt.distributed.dask_data import (
    DaskProblem,
    check_dask_installed,
    check_distinct_dask,
    is_dask_array,
    validate_dask_problem,
)
from fairopt.exceptions import ValidationError
from fairopt.fair.dask_fit import fair_labels_dask, relax_and_merge_dask
from fairopt.fair.final_step import fair_clustering_from_centres
from fairopt.fair.relax_merge import relax_and_merge, warn_best_effort
from fairopt.fair.result import FairClustering
from fairopt.fair.rounding import ROUNDING_METHODS
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

__all__ = ["FairKMeans"]


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
    method : {"auto", "colgen", "screen", "direct", "pyomo", "cvxpy"}
        How LP (2) is solved; "auto" takes an exact path on HiGHS: column generation, or the
        screened path for the final LP from max(20,000, 2,000 k) points on.
    time_limit : float, optional
        Seconds per LP solve.
    rounding : {"auto", "circulation", "iterative"}
        "auto": circulation for disjoint groups, iterative LP rounding for overlapping ones.
    flow_solver : {"auto", "ortools", "highs", "networkx"}
        Min-cost flow solver of the circulation ("auto": OR-Tools when installed, else HiGHS).
    n_refine : int or "auto", default "auto"
        Steps of a fair Lloyd refinement after the merge (LP (2), then centroids; monotone in
        the LP (2) cost). 0 runs the paper's Algorithm 1 exactly. It runs where the relaxation
        runs: on the fair coreset at scale (about 0.3 s a step at k = 10), so it does not grow
        with n. "auto": 0 when the relaxation ran on all points (the paper's algorithm), up to
        10 steps on a coreset, which recover what the coreset loses. It also helps when the
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
        Integral assignment after rounding (a lazy dask array with X's row chunks when X is one).
    assignment_ : scipy.sparse.csr_matrix of shape (n, k)
        Fractional assignment of LP (2) on the final centres (None when X is a dask array).
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
    ``X`` (and ``groups``, ``sample_weight``) may be dask arrays chunked by rows: the fit then runs
    on the current ``dask.distributed`` client (a ``LocalCluster`` when there is none) without
    gathering X (:mod:`fairopt.fair.dask_fit`); ``coreset_size=None`` is refused there.

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
                 random_state: Any = None, verbose: bool = False, progress: bool = False, n_refine: int | str = "auto",
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
        if is_dask_array(X):  # only FairKMeans.fit has a Dask path; converting would gather X
            raise ValidationError(f"{type(self).__name__} does not fit dask arrays (FairKMeans does); "
                                  "compute X first if it fits in memory")
        problem = make_fair_problem(X, groups, weights=sample_weight, delta=self.delta, alpha=self.alpha, beta=self.beta)
        k = validate_n_clusters(self.n_clusters, problem.n)
        check_distinct_points(problem.points, k)
        self._check_options(problem.groups.disjoint)
        return problem, k

    def _check_options(self, disjoint: bool) -> None:
        """The checks of every option that does not depend on the data (``disjoint``: one group attribute)."""
        check_method_solver(self.method, self.solver)
        check_time_limit(self.time_limit)
        check_bool(self.best_effort, "best_effort")
        check_int(self.n_init, "n_init")
        if not (isinstance(self.n_refine, str) and self.n_refine == "auto"):
            check_int(self.n_refine, "n_refine", minimum=0)
        check_choice(self.candidates, "candidates", CANDIDATE_METHODS)
        check_int(self.n_candidates, "n_candidates", allow_none=True)
        check_number(self.candidate_ratio, "candidate_ratio", low=0, high=1, low_open=True)
        check_coreset_size(self.coreset_size)
        check_choice(self.rounding, "rounding", ROUNDING_METHODS)
        check_choice(self.flow_solver, "flow_solver", ("auto", *FLOW_SOLVERS))
        if self.rounding == "circulation" and not disjoint:
            raise ValidationError("rounding='circulation' needs disjoint groups (one group attribute); "
                                  "use rounding='iterative' or 'auto' for overlapping groups")

        get_solver(self.solver, "cvxpy" if self.method == "cvxpy" else "matrices")

    def fit(self, X: Any, groups: Any = None, sample_weight: Any = None, *,
            sensitive_features: Any = None) -> "FairKMeans":
        """Cluster ``X`` (n, d) fairly w.r.t. ``groups`` ((n,) or (n, a) labels; or ``sensitive_features=``,
        see :mod:`fairopt.base`); ``sample_weight`` (n,) are the masses w(x). Returns ``self``."""
        groups = resolve_groups(groups, sensitive_features, "FairKMeans")
        if is_dask_array(X):
            return self._fit_dask(X, groups, sample_weight)
        X = check_input(self, X, reset=True, min_samples=2)  # two groups need two points
        problem, k = self._validate(X, groups, sample_weight)
        rng = check_random_state(self.random_state)
        res = relax_and_merge(problem, k, rng, **self._algorithm_options())
        return self._store_fit(res, problem)

    def _fit_dask(self, X: Any, groups: Any, sample_weight: Any) -> "FairKMeans":
        """``fit`` on dask arrays (:mod:`fairopt.fair.dask_fit`): on the current dask.distributed
        client, or a LocalCluster for the fit; ``labels_`` is a lazy dask array with X's row chunks."""
        check_dask_installed("FairKMeans on dask arrays")
        check_coreset_size(self.coreset_size)
        with dask_client() as client:
            problem = validate_dask_problem(X, groups, sample_weight, delta=self.delta, alpha=self.alpha,
                                            beta=self.beta, client=client, who=type(self).__name__)
            k = validate_n_clusters(self.n_clusters, problem.n)
            check_distinct_dask(problem, k)
            self._check_options(problem.groups.disjoint)
            rng = check_random_state(self.random_state)
            res = relax_and_merge_dask(problem, k, rng, client, **self._algorithm_options())
        return self._store_fit(res, problem)

    def _algorithm_options(self) -> dict:
        """The keyword arguments of Algorithm 1 (in memory and on Dask) from the hyperparameters."""
        return dict(candidates=self.candidates, n_candidates=self.n_candidates, candidate_ratio=self.candidate_ratio,
                    n_init=self.n_init, solver=self.solver, method=self.method, time_limit=self.time_limit,
                    rounding=self.rounding, best_effort=self.best_effort, verbose=self.verbose,
                    progress=self.progress, flow_solver=self.flow_solver, n_refine=self.n_refine,
                    coreset_size=self.coreset_size)

    def _store_fit(self, res: FairClustering, problem: FairProblem | DaskProblem) -> "FairKMeans":
        self._store(res, problem)
        self.relaxed_cost_ = res.info["relaxed_cost"]
        self.n_candidates_ = res.info["n_candidates"]
        self.n_coreset_ = res.info["n_coreset"]
        warn_best_effort("FairKMeans", res.status)
        return self

    def _store(self, res: FairClustering, problem: FairProblem | DaskProblem) -> None:
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
        self.n_features_in_ = res.centres.shape[1]  # also for subclasses whose fit skips check_input
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

    def _fair_labels_dask(self, X: Any, groups: Any, sample_weight: Any) -> Any:
        """``_fair_labels`` on dask arrays: the screened LP (2) at the fitted centres, one pass over
        the chunks per round on the current client (a LocalCluster when there is none); lazy labels."""
        if self._objective != "kmeans":
            raise ValidationError(f"{type(self).__name__}.predict with groups does not run on dask arrays "
                                  "(FairKMeans.predict does); compute X first if it fits in memory")
        check_dask_installed(f"{type(self).__name__}.predict on dask arrays")
        with dask_client() as client:
            problem = validate_dask_problem(X, groups, sample_weight, delta=self.delta, alpha=self.alpha,
                                            beta=self.beta, client=client, who=f"{type(self).__name__}.predict")
            res = fair_labels_dask(problem, self.cluster_centers_, client, rounding=self.rounding,
                                   flow_solver=self.flow_solver, time_limit=self.time_limit,
                                   best_effort=self.best_effort, verbose=self.verbose)
        warn_best_effort(f"{type(self).__name__}.predict", res.status)
        return res.labels

"""``fair_assignment``: solve LP (2) in one call through the fastest exact path available."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from fairopt.assignment.colgen import solve_colgen
from fairopt.assignment.kcenter import smallest_feasible_tau
from fairopt.assignment.numerics import RTOL, certify, normalise
from fairopt.assignment.pricing import signatures
from fairopt.assignment.screening import ArrayChunks, full_assignment, solve_screened
from fairopt.exceptions import SolverStatusError, ValidationError
from fairopt.models import fair_assignment as lp2
from fairopt.objectives import arc_cost, validate_objective
from fairopt.problem import FairProblem, make_fair_problem, validate_points
from fairopt.solvers.core import solve as _solve_model
from fairopt.solvers.registry import get_solver
from fairopt.solvers.resources import check_fits
from fairopt.validation import check_threads, check_time_limit

__all__ = ["FairAssignment", "fair_assignment", "solve_lp2", "status_hint", "check_method_solver"]

METHODS = ("auto", "colgen", "screen", "direct", "pyomo", "cvxpy")
#: "auto" takes the screened path (:mod:`fairopt.assignment.screening`) from max(SCREEN_MIN_POINTS,
#: SCREEN_POINTS_PER_CENTRE k) points on, with at most SCREEN_MAX_CENTRES centres; below, column
#: generation is faster (measured side by side, same process, k-means++ centres: adult, k = 10,
#: n = 32,561: screened 2.4 s, column generation 11.4 s; creditcard, k = 20, n = 30,000: screened
#: 33 s, column generation 20 s, its many duplicate points leave 12,800 contested).
SCREEN_MIN_POINTS = 20_000
SCREEN_POINTS_PER_CENTRE = 2_000
SCREEN_MAX_CENTRES = 100
#: Solver options that let a dense path meet numerics.RTOL on the normalised LP (2).
#: Measured in tests/assignment/test_scales.py; the README's solver table lists what remains.
_TIGHT = {
    ("direct", "highs"): {"dual_feasibility_tolerance": 1e-10, "primal_feasibility_tolerance": 1e-10},
    ("pyomo", "cbc"): {"primalTolerance": 1e-10, "dualTolerance": 1e-10},
    ("direct", "cbc"): {"primalTolerance": 1e-10, "dualTolerance": 1e-10},
    ("cvxpy", "clarabel"): {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11},
}
#: Certificate tolerances a path cannot meet at numerics.RTOL: CBC hands its solution back through
#: a text file with about 8 significant digits (README, solver table).
_RTOL = {("pyomo", "cbc"): 1e-6, ("direct", "cbc"): 1e-6}


@dataclass(frozen=True)
class FairAssignment:
    """The solution of LP (2).

    Attributes
    ----------
    objective : float
        sum_x sum_c phi(x, c) cost(x, c) (cost ||x - c||^2 for k-means, ||x - c|| for k-median),
        or the smallest feasible radius tau for k-center.
    assignment : scipy.sparse.csr_matrix of shape (n, k)
        phi(x, c); rows sum to the point weights.
    status : str
        ``"optimal"`` (other statuses raise unless ``require_optimal=False``).
    seconds : float
        Wall seconds of the whole call (model building and solving).
    solver : str
    method : str
        The path used: ``"colgen"``, ``"screen"``, ``"direct"``, ``"pyomo"``, ``"cvxpy"`` or ``"threshold"``
        (k-center).
    info : dict
        Path-specific details (iterations, columns generated, optimality certificate).
    """

    objective: float
    assignment: sp.csr_matrix
    status: str
    seconds: float
    solver: str
    method: str
    info: dict = field(default_factory=dict)

    @property
    def cluster_mass(self) -> np.ndarray:
        """W(c), shape (k,)."""
        return np.asarray(self.assignment.sum(axis=0)).ravel()


def solve_lp2(
    problem: FairProblem,
    centres: np.ndarray,
    solver: str = "highs",
    method: str = "auto",
    time_limit: float | None = None,
    threads: int | None = None,
    verbose: bool = False,
    progress: bool = False,
    require_optimal: bool = True,
    objective: str = "kmeans",
) -> FairAssignment:
    """Solve LP (2) for a validated problem (inner function: inputs are trusted).

    ``objective`` picks the arc costs (:mod:`fairopt.objectives`); ``"kcenter"`` runs the
    threshold search of :mod:`fairopt.assignment.kcenter` on the matrix path instead, and its
    ``objective`` is the smallest feasible radius tau.
    """
    t0 = time.perf_counter()
    if objective == "kcenter":
        return _solve_kcenter(problem, centres, solver, time_limit, require_optimal, t0)
    if method == "auto":
        method = "colgen" if str(solver).lower() == "highs" else "direct"
        k = centres.shape[0]
        if method == "colgen" and problem.n >= max(SCREEN_MIN_POINTS, SCREEN_POINTS_PER_CENTRE * k) \
                and k <= SCREEN_MAX_CENTRES:
            method = "screen"
    if method not in METHODS:
        raise ValidationError(f"method must be one of {METHODS}; got {method!r}")
    # Every path solves the normalised LP (unit mass, unit spread; numerics.py) and is certified.
    g = problem.groups
    X, w, C, scaling = normalise(problem.points, problem.weights, centres)
    kernel = arc_cost(objective)
    scaling = dataclasses.replace(scaling, power=kernel.power)  # OPT scales as length^power
    bound = None
    if method == "colgen":
        res = solve_colgen(
            X, w, g.membership, problem.alpha, problem.beta, C,
            time_limit=time_limit, threads=threads, verbose=verbose, progress=progress,
            cost=kernel,
        )
        status, value, phi, info = res.status, res.objective, res.assignment, dict(res.info)
        name, duals = "highs", {}
        bound = info.get("lower_bound")
    elif method == "screen":
        sig, sid = signatures(g.membership)
        chunks = ArrayChunks(X, w, sid)
        res = solve_screened(chunks, C, sig, problem.alpha, problem.beta, power=kernel.power, time_limit=time_limit,
                             threads=threads, verbose=verbose)
        status, value, info = res.status, res.objective, dict(res.info)
        feasible = res.info["slack"] is not None and res.info["slack"] <= 1e-9 * float(w.sum())
        phi = full_assignment(chunks, res) if feasible else None  # slack in use: not an LP (2) solution
        name, duals, bound = "highs", {}, res.lower_bound
        info["lower_bound"] = bound
    else:
        check_fits("LP (2)", **lp2.dense_size(problem.n, C.shape[0], g.n_groups, g.n_attributes), path=method, solver=solver)
        args = (X, C, g, problem.alpha, problem.beta, w)
        if method == "direct":
            model = lp2.to_matrices(*args, objective=objective)
        elif method == "pyomo":
            model = lp2.build_pyomo(*args, objective=objective)
        else:
            model = lp2.build_cvxpy(*args, objective=objective)
        tight = _TIGHT.get((method, str(solver).lower()))
        res = _solve_model(model, solver=solver, time_limit=time_limit, threads=threads, verbose=verbose,
                           options=tight)
        if tight and res.status in ("infeasible", "infeasible_or_unbounded"):
            # The up-front bounds check proves LP (2) feasible; tolerances tighter than the gap
            # alpha_i - beta_i (delta ~ 1e-11) can make the presolve call it infeasible. The
            # solver's own tolerances then decide, and the certificate below still checks.
            res = _solve_model(model, solver=solver, time_limit=time_limit, threads=threads, verbose=verbose)
        status, value, name, info = res.status, res.objective, res.solver, {"raw_status": res.raw_status}
        phi, duals = None, res.duals
        if "phi" in res.values:
            vals = np.asarray(res.values["phi"], dtype=float)
            vals[np.abs(vals) < 1e-12] = 0.0
            phi = sp.csr_matrix(np.maximum(vals, 0.0))
    if phi is not None or status == "optimal":
        ok, value, checks = certify(phi, value, X, w, g.membership, problem.alpha, problem.beta, C,
                                    duals=duals, lower_bound=bound, rtol=_RTOL.get((method, str(solver).lower()), RTOL),
                                    power=scaling.power)
        info["certificate"] = checks
        if status == "optimal" and not ok:
            status = "inaccurate"
            info["raw_status"] = f"{info.get('raw_status', 'optimal')}; fairopt's check: {checks['reason']}"
        if phi is not None:
            phi = phi * scaling.mass
        value = value * scaling.cost
    # Duals and reduced costs are in cost units per unit of mass: length^power.
    info["duals"] = {key: np.asarray(val) * scaling.length**scaling.power for key, val in duals.items()} if duals else {}
    info["scaling"] = {"length": scaling.length, "mass": scaling.mass}
    for key in ("lower_bound", "min_reduced_cost", "tolerance"):
        if key in info:
            info[key] = info[key] * (scaling.cost if key != "min_reduced_cost" else scaling.length**scaling.power)
    out = FairAssignment(value, phi, status, time.perf_counter() - t0, name, method, info)
    if require_optimal and status != "optimal":
        raise SolverStatusError(
            f"LP (2) on {problem.n} points and {centres.shape[0]} centres ended with status {status!r} "
            f"({name}, {method} path): no proven optimum; {status_hint(status, time_limit)}",
            out,
        )
    return out


def _solve_kcenter(problem, centres, solver, time_limit, require_optimal, t0) -> FairAssignment:
    """The fair k-center LP: the smallest feasible radius and a fair phi within it."""
    res = smallest_feasible_tau(problem.points, centres, problem.groups.membership, problem.alpha, problem.beta,
                                problem.weights, solver=solver, time_limit=time_limit)
    info = {**res.info, "tau": res.tau}
    out = FairAssignment(res.tau, res.assignment, res.status, time.perf_counter() - t0, str(solver), "threshold", info)
    if require_optimal and res.status != "optimal":
        raise SolverStatusError(
            f"the k-center threshold LP on {problem.n} points and {centres.shape[0]} centres ended with status "
            f"{res.status!r} at tau={res.tau:.6g}; {status_hint(res.status, time_limit)}", out)
    return out


def status_hint(status: str, time_limit: float | None = None, offer_best_effort: bool = True) -> str:
    """What to try after LP (2) ended with a status other than optimal."""
    if status in ("time_limit", "iteration_limit", "interrupted"):
        limit = "" if time_limit is None else f" (it was {time_limit:g} s)"
        hint = f"raise time_limit{limit} or use fewer candidates (candidate_ratio=0.2)"
        if offer_best_effort:
            hint += (", or accept a best-effort result: FairKMeans(best_effort=True), nips19(best_effort=True) or "
                     "fair_assignment(require_optimal=False)")
        return hint
    if status in ("infeasible", "infeasible_or_unbounded"):
        return ("the bounds passed the up-front check beta_i <= share_i <= alpha_i, under which LP (2) is feasible, "
                "so this is numerical trouble: try another solver (solver='glpk') or method='direct'")
    if status == "inaccurate":
        return ("the solver's answer failed fairopt's optimality check (see info['certificate']): try "
                "solver='highs' (the certified default path) or method='direct'")
    if status == "unbounded":
        return "LP (2) has non-negative costs and cannot be unbounded: a solver failure; try another solver or method"
    return "run with verbose=True to see the solver log, or try another solver or method='direct'"


def check_method_solver(method: str, solver: str, objective: str = "kmeans") -> None:
    """Refuse an unknown LP (2) path, and the HiGHS-only column generation with another solver."""
    if method not in METHODS:
        raise ValidationError(f"method must be one of {METHODS}; got {method!r}")
    validate_objective(objective)
    if objective == "kcenter" and method not in ("auto", "direct"):
        raise ValidationError(f"objective='kcenter' searches its threshold LP on the matrix path; got method={method!r} "
                              "(use method='auto' or 'direct')")
    if method in ("colgen", "screen") and str(solver).lower() != "highs":
        raise ValidationError(f"method={method!r} runs on HiGHS only; got solver={solver!r} (use method='auto' or 'direct')")


def fair_assignment(
    points: Any,
    centres: Any,
    groups: Any,
    alpha: Any = None,
    beta: Any = None,
    delta: float | None = None,
    weights: Any = None,
    solver: str = "highs",
    method: str = "auto",
    time_limit: float | None = None,
    threads: int | None = None,
    verbose: bool = False,
    require_optimal: bool = True,
    objective: str = "kmeans",
) -> FairAssignment:
    """Solve the fair assignment LP (2) of the Relax-and-Merge paper.

    minimise sum_x sum_c phi(x, c) ||x - c||^2 subject to sum_c phi(x, c) = w(x) and
    beta_i W(c) <= W_i(c) <= alpha_i W(c) for every centre c and group i.

    With ``objective="kmedian"`` the costs are ||x - c|| (same LP, same exact paths); with
    ``objective="kcenter"`` the result is Bera et al.'s fair k-center LP: the smallest radius
    tau such that a fair phi uses only arcs with ||x - c|| <= tau (a binary search over the
    sorted distances, :mod:`fairopt.assignment.kcenter`); ``objective`` is then tau.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    groups : array-like of shape (n,) or (n, a)
        Group labels; several columns give overlapping groups.
    alpha, beta : float, ndarray of shape (m,) or mapping label -> bound, optional
        Upper/lower share of every group in every cluster. Missing ones come from ``delta``.
    delta : float in [0, 1), optional
        Slack: beta_i = r_i (1 - delta), alpha_i = r_i / (1 - delta), r_i the share of group i.
    weights : ndarray of shape (n,), optional
        Point masses; ones by default.
    solver : str
        ``"highs"`` (default), ``"glpk"``, ``"cbc"``, ``"gurobi"``, ``"clarabel"`` (cvxpy only).
    method : {"auto", "colgen", "screen", "direct", "pyomo", "cvxpy"}
        ``"auto"`` takes an exact path on HiGHS: column generation, or from max(20,000, 2,000 k)
        points on with at most 100 centres the screened path (:mod:`fairopt.assignment.screening`: a few passes over
        the data, only the contested points in the LP); the matrix path with other solvers.
    time_limit : float, optional
        Seconds (per LP of the k-center search).
    require_optimal : bool
        When False a non-optimal status is returned in ``status`` instead of raised.
    objective : {"kmeans", "kmedian", "kcenter"}
        Squared distances (default), distances, or the largest distance (threshold LP; method
        ``"auto"`` or ``"direct"``).

    Returns
    -------
    FairAssignment

    Raises
    ------
    ValidationError
        Bad input (shapes, NaN/inf, labels, weights, bounds, options), before any solve.
    InfeasibleBoundsError
        Bounds that no assignment satisfies (beta_i > share_i or alpha_i < share_i).
    SolverNotAvailableError
        An unknown solver or one that is not installed.
    ResourceLimitError
        A dense path (``"direct"``, ``"pyomo"``, ``"cvxpy"``) whose model would not fit in memory.
    SolverStatusError
        No proven optimum (``.status``), unless ``require_optimal=False``.
    """
    check_method_solver(method, solver, objective)
    get_solver(solver, "cvxpy" if method == "cvxpy" else "matrices")
    time_limit = check_time_limit(time_limit)
    threads = check_threads(threads)
    problem = make_fair_problem(points, groups, weights=weights, delta=delta, alpha=alpha, beta=beta)
    C = validate_points(centres, name="centres")
    if C.shape[1] != problem.points.shape[1]:
        raise ValidationError(
            f"centres have {C.shape[1]} columns but points have {problem.points.shape[1]}; both need the same dimension d"
        )
    return solve_lp2(problem, C, solver=solver, method=method, time_limit=time_limit, threads=threads,
                     verbose=verbose, require_optimal=require_optimal, objective=objective)

"""The fast exact path for LP (2): multilevel column generation with a pricing certificate.

LP (2) of the Relax-and-Merge paper (see :mod:`fairopt.models.fair_assignment`) has n x k arc
variables phi(x, c), yet an optimal vertex uses only about 1.5 to 2 of them per point. This
module never builds the dense model:

1. **Restricted master** (:class:`fairopt.assignment.master.Master`): LP (2) over a subset of the arcs,
   with rows only for centres that have arcs and without the rows that delta = 0 makes
   redundant, solved by HiGHS's primal simplex kept warm between rounds (added arcs leave the
   basis primal feasible). Masters with many rows (``ipm_rows``) first go through rounds of
   HiGHS's interior point method, whose central duals avoid the degenerate pivoting, then a
   crossover hands a basis to the simplex for the exact finish.
2. **Pricing** (:func:`fairopt.assignment.pricing.price`): with the master's duals, the reduced cost of
   every one of the n x k arcs is one vectorised expression ``D - y - G[signature]`` over row
   chunks (the (n, k) cost matrix is cached when it fits in ``cache_bytes``). Each round adds,
   for every point, its few most negative arcs, and for every centre and group signature its
   best point, so that centres can stay fair; a centre without rows is opened only when a fair
   mixture (the data's own signature shares) has a negative reduced cost there. Nonbasic arcs
   with a large reduced cost are dropped again.
3. **Multilevel start** (:mod:`fairopt.assignment.multilevel`): the points are grouped, within each group
   signature, into cells of at most 2^j points by recursive median splits, and the candidates
   into nested spatial subsets. The coarsest LP (cells as weighted points) is solved first. Its
   solution lifts to an exactly fair solution of the next level and its optimal basis to a
   primal feasible basis there (north-west-corner trees), so every level starts warm, from
   the centre potentials and the support of the previous one; the finest level is LP (2) itself.
4. **Certificate**: the run stops when the minimum reduced cost over *all* n x k arcs is
   >= -tol (costs scaled by the mean cost of sending every point to the central candidate). The
   master's duals are then dual feasible for the full LP (2) (W(c) columns of centres without
   rows meet their dual constraint with zero duals), so the master's optimum is LP (2)'s. The
   certificate and a Lagrangian lower bound are reported in ``info``.

Measured side by side in ``python -m benchmarks lp2`` (not in tests).

References
----------
Relax-and-Merge fair clustering, LP (2); G. B. Dantzig and P. Wolfe, "Decomposition principle
for linear programs" (1960) for column generation; J. Gondzio, P. Gonzalez-Brevis and P. Munari,
"New developments in the primal-dual column generation technique", EJOR 224 (2013) for the
interior-point rounds; B. Schmitzer, "A sparse multiscale algorithm for dense optimal
transport" (2016) for the coarse-to-fine start.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from fairopt.assignment import multilevel as ml
from fairopt.assignment.master import Master, RowLayout
from fairopt.assignment.pricing import (
    ArcCosts,
    best_per_centre,
    best_per_point,
    price,
    signatures,
)
from fairopt.objectives import arc_cost
from fairopt.progress import progress_bar

__all__ = ["ColgenResult", "solve_colgen", "DEFAULTS"]

DEFAULTS = {
    "tol": 1e-9,            # certificate: min reduced cost >= -tol (costs scaled by info["scale"])
    "init_per_point": 2,    # first master of a level: best arcs per point ...
    "init_per_centre": 2,   # ... and per centre and signature, under the coarser level's duals
    "per_point": 2,         # negative arcs per point added per round
    "purge": 0.03,          # drop nonbasic arcs with reduced cost above this (scaled costs)
    "levels": "auto",       # cell sizes of the coarse levels, e.g. [16, 4]; [] for a single level
    "coarsen": 2,           # auto levels: cell sizes 2, 4, 8, ...
    "coarsest": 50,         # auto levels: the coarsest level keeps at least this many cells
    "centre_ratio": 1.5,    # coarse levels price about k * ratio * cells / n candidates
    "lift_basis": True,     # start each finer level from the lifted optimal basis
    "ipm_rows": 20_000,     # masters with at least this many rows start with interior-point rounds
    "ipm_gap": 1e-4,        # ... and leave them when the Lagrangian gap is below this (relative)
    "ipm_max_rounds": 30,
    "max_rounds": 10_000,   # pricing rounds per level
    "cache_bytes": 1 << 30,  # keep the (n, k) cost matrix when it fits in this many bytes
    "highs_options": None,  # extra HiGHS options for the master (dict)
}


@dataclass(frozen=True)
class ColgenResult:
    """Result of :func:`solve_colgen`.

    Attributes
    ----------
    status : str
        ``"optimal"`` (certified), ``"time_limit"``, ``"iteration_limit"``, ``"infeasible"`` or
        ``"error"``.
    objective : float
        sum_x sum_c phi(x, c) cost(x, c) of ``assignment`` (nan when there is none).
    assignment : scipy.sparse.csr_matrix of shape (n, k) or None
        phi. Feasible for LP (2) whenever it is not None, also when the status is not optimal.
    info : dict
        ``iterations`` (pricing rounds), ``simplex_iterations``, ``columns`` (arcs in the final
        master), ``arcs_generated``, ``seconds`` per phase, ``min_reduced_cost`` (over all n x k
        arcs, in cost units; the certificate), ``tolerance`` (cost units), ``lower_bound``,
        ``levels`` (per-level statistics), ``scale``.
    """

    status: str
    objective: float
    assignment: sp.csr_matrix | None
    info: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- driver

def solve_colgen(points, weights, membership, alpha, beta, centres, time_limit=None, threads=None, verbose=False,
                 progress=False, cost=None, **tuning) -> ColgenResult:
    """Solve LP (2) exactly by multilevel column generation, without building the dense model.

    minimise sum_x sum_c phi(x, c) ||x - c||^2 subject to sum_c phi(x, c) = w(x) and
    beta_i W(c) <= W_i(c) <= alpha_i W(c) for every centre c and group i.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    weights : ndarray of shape (n,)
        Point masses w(x) >= 0.
    membership : scipy.sparse matrix of shape (n, m), 0/1
        Groups may overlap (a point in several groups).
    alpha, beta : ndarray of shape (m,)
    centres : ndarray of shape (k, d)
    time_limit : float, optional
        Seconds for the whole call; on expiry the best feasible assignment found so far is
        returned with status ``"time_limit"``.
    threads : int, optional
        HiGHS threads.
    verbose : bool
        Print one line per pricing round to stderr.
    progress : bool
        Show a progress bar on stderr (only when stderr is a terminal).
    cost : fairopt.objectives.ArcCost, optional
        The arc cost; ``arc_cost("kmeans")`` (||x - c||^2) by default, ``arc_cost("kmedian")``
        for ||x - c||. Pricing, master and certificate only see costs, so the method is the
        same; coarse levels put a cell's mass at its centroid, which is exact up to a constant
        for squared distances and a warm start otherwise (the finest level is LP (2) itself).
    **tuning
        Overrides of :data:`DEFAULTS`.

    Returns
    -------
    ColgenResult
        Inputs are trusted (validated by :func:`fairopt.fair_assignment`).
    """
    unknown = set(tuning) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown tuning option(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    opt = {**DEFAULTS, **tuning}
    kernel = arc_cost("kmeans") if cost is None else cost
    t_start = time.perf_counter()
    deadline = None if time_limit is None else t_start + float(time_limit)
    X = np.ascontiguousarray(points, dtype=np.float64)
    C = np.ascontiguousarray(centres, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    alpha, beta = np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64)
    n, k = X.shape[0], C.shape[0]
    sig, sid = signatures(membership)
    ns = sig.shape[0]
    layout = RowLayout(alpha, beta, sig)
    # Costs are scaled by the mean cost of sending everything to the central candidate, so that
    # HiGHS's absolute tolerances are relative to the data's scale (bank's balance is ~1e4).
    mean = (w @ X) / w.sum()
    star = int(np.argmin(((C - mean) ** 2).sum(axis=1)))
    scale = float(w @ kernel.pairs(X, np.broadcast_to(C[star], X.shape))) / w.sum()
    # ... but not below 1e-6 of the farthest centre's cost from the mean: points that all sit on
    # one centre would otherwise give a scale of ~1e-296 and tolerances HiGHS cannot work with.
    reach = float(kernel.pairs(C, np.broadcast_to(mean, C.shape)).max(initial=0.0))
    scale = max(scale, 1e-6 * reach)
    scale = scale if scale > 0 else 1.0
    sig_share = np.bincount(sid, weights=w, minlength=ns) / w.sum()
    tol = float(opt["tol"])
    sizes = ml.auto_levels(n, int(opt["coarsen"]), int(opt["coarsest"])) if opt["levels"] == "auto" else list(opt["levels"])
    sizes = [int(b) for b in sizes if int(b) > 1]
    cells = ml.hierarchy(X, sid, sizes)
    n_cells = [int(c.max()) + 1 for c in cells]
    ratio = float(opt["centre_ratio"])
    subsets = ml.centre_subsets(C, [max(1, int(np.ceil(k * min(1.0, ratio * m / n)))) for m in n_cells[:-1]], star)
    subsets.append(np.arange(k))
    options = {"presolve": "off", "simplex_strategy": 4, "dual_feasibility_tolerance": tol / 10,
               "primal_feasibility_tolerance": 1e-9, **(opt["highs_options"] or {})}
    info = {"levels": [], "simplex_iterations": 0, "iterations": 0, "arcs_generated": 0, "scale": scale,
            "tolerance": tol * scale, "signatures": ns, "rows_per_centre": layout.size,
            "seconds": {"setup": time.perf_counter() - t_start, "master": 0.0, "pricing": 0.0, "lifting": 0.0}}
    bar = progress_bar(desc="LP (2) column generation", enabled=None if progress else False, unit="round")
    log = (lambda s: print(s, file=sys.stderr)) if verbose else (lambda s: None)
    status, snap, incumbent, pr, master, prev_cell = "error", None, None, None, None, None
    for level, (cell, S) in enumerate(zip(cells, subsets)):
        t_level = time.perf_counter()
        finest = level == len(cells) - 1
        P, Wl, sid_l = (X, w, sid) if finest else ml.aggregate(X, w, sid, cell)
        costs = ArcCosts(P, C[S], scale, cache_bytes=int(opt["cache_bytes"]), kernel=kernel)
        master = Master(layout, Wl, sid_l, S.size, costs.arcs, threads=threads, options=options)
        t0 = time.perf_counter()
        warm = False
        if snap is None:
            # A fair start: every point to the central candidate (each group's share is r_i).
            local_star = int(np.searchsorted(S, star))
            master.add_arcs(np.arange(Wl.size), np.full(Wl.size, local_star))
            G0 = np.zeros((ns, S.size))
        else:
            local = np.full(k, -1, dtype=np.int64)
            local[S] = np.arange(S.size)
            snap = ml.localise(snap, local, S)
            parent = np.zeros(Wl.size, dtype=np.int64)
            parent[cell] = prev_cell
            tree_x, tree_c, row_basic = ml.lift_basis(snap, parent, Wl)
            master.activate(snap["active"])
            master.add_arcs(tree_x, tree_c)
            G0 = snap["G"]
        # Arcs that look best under the coarser level's centre potentials (zero at the start).
        master.add_arcs(*best_per_point(costs, G0, sid_l, int(opt["init_per_point"])))
        master.add_arcs(*best_per_centre(costs, G0, sid_l, ns, int(opt["init_per_centre"])))
        if snap is not None and opt["lift_basis"]:
            statuses = ml.lifted_statuses(master, snap, tree_x, tree_c, row_basic)
            warm = statuses is not None and master.set_basis(*statuses)
        info["arcs_generated"] += master.n_arcs
        info["seconds"]["lifting"] += time.perf_counter() - t0
        status, sol, pr, stats = _rounds(master, costs, Wl, sid_l, ns, sig_share, opt, deadline, bar, log,
                                         f"{level + 1}/{len(cells)}", info)
        stats.update(points=int(Wl.size), centres=int(S.size), warm_basis=warm, seconds=time.perf_counter() - t_level)
        info["levels"].append(stats)
        if sol is not None and "col_status" in sol:  # a basic solution: feasible to 1e-9
            arc = (sol["col_x"] >= 0) & (sol["col_value"] > 0)
            incumbent = (sol["col_x"][arc], S[sol["col_c"][arc]], sol["col_value"][arc], cell, finest)
        if status != "optimal":
            break
        # Snapshot in global centre numbering for the next level.
        row0 = np.full(k, -1, dtype=np.int64)
        row0[S] = master.row0
        G = np.zeros((ns, k))
        G[:, S] = sol["G"]
        snap = {**sol, "n": Wl.size, "col_c": S[sol["col_c"]], "active": S[master.active], "row0": row0, "G": G}
        prev_cell = cell
    bar.close()
    info["seconds"]["total"] = time.perf_counter() - t_start
    info.update(columns=master.n_arcs, active_centres=int(master.active.size), rows=int(master.n_rows))
    phi, objective = None, float("nan")
    if incumbent is not None:
        ax, ac, val, cell, finest = incumbent
        if finest:
            phi = sp.csr_matrix((val, (ax, ac)), shape=(n, k))
        else:  # stopped at a coarse level: its solution lifts to a feasible one
            phi = ml.lift_solution(ax, ac, val, cell, w, n, k)
        phi.eliminate_zeros()
        coo = phi.tocoo()
        objective = float(coo.data @ kernel.pairs(X[coo.row], C[coo.col]))
    if status == "optimal":  # only ever returned by the finest level, where pricing covers all arcs
        info["min_reduced_cost"] = pr.min_rc * scale
        info["lower_bound"] = (master.objective() - pr.lagrangian_gap) * scale
    info["nonzeros"] = 0 if phi is None else int(phi.nnz)
    return ColgenResult(status, objective, phi, info)


def _rounds(master, costs, weights, sid, ns, sig_share, opt, deadline, bar, log, level, info):
    """Pricing rounds on one level until the certificate holds; returns (status, solution, pricing, stats)."""
    tol, per_point = float(opt["tol"]), int(opt["per_point"])
    stats = {"rounds": 0, "simplex_iterations": 0, "ipm_rounds": 0}
    sol, pr = None, None
    # Large masters first go through interior-point rounds: no warm start, but central duals and
    # no degenerate pivoting; a crossover then hands a basis to the simplex for the exact finish.
    phase = "ipm" if master.n_rows >= float(opt["ipm_rows"]) else "simplex"
    for _ in range(int(opt["max_rounds"])):
        remaining = None if deadline is None else deadline - time.perf_counter()
        if remaining is not None and remaining <= 0:
            return "time_limit", sol, pr, stats
        t0 = time.perf_counter()
        status, _ = master.run(remaining, phase)
        info["seconds"]["master"] += time.perf_counter() - t0
        its = master.iterations()
        stats["simplex_iterations"] += its
        info["simplex_iterations"] += its
        if status != "optimal":
            if phase == "ipm" and status not in ("time_limit", "infeasible"):
                phase = "simplex"  # an imprecise interior solve: carry on with the simplex
                continue
            return status, sol, pr, stats
        sol = master.solution(basis=phase == "simplex")
        t0 = time.perf_counter()
        pr = price(costs, sol["y"], sol["G"], sid, weights, per_point, tol, ns)
        info["seconds"]["pricing"] += time.perf_counter() - t0
        stats["rounds"] += 1
        info["iterations"] += 1
        obj = master.objective() * costs.scale
        stats["objective"] = obj
        log(f"level {level} round {stats['rounds']} ({phase}): objective {obj:.12g}, simplex iterations {its}, "
            f"arcs {master.n_arcs}, centres {master.active.size}, min reduced cost {pr.min_rc:.3e}")
        bar.update(1)
        bar.set_postfix(level=level, obj=f"{obj:.6g}", gap=f"{pr.lagrangian_gap * costs.scale:.3g}", arcs=master.n_arcs)
        if phase == "simplex" and pr.min_rc >= -tol:
            return "optimal", sol, pr, stats
        xs, cs = _select_arcs(master, pr, sig_share, tol)
        priced_with_basis = phase == "simplex"
        if phase == "ipm":
            stats["ipm_rounds"] += 1
            gap = pr.lagrangian_gap / max(abs(master.objective()), 1e-300)
            if gap <= float(opt["ipm_gap"]) or stats["ipm_rounds"] >= int(opt["ipm_max_rounds"]) or xs.size == 0:
                t0 = time.perf_counter()
                phase = "simplex"
                if master.crossover():
                    sol = master.solution()
                info["seconds"]["master"] += time.perf_counter() - t0
        if opt["purge"] is not None and phase == "simplex" and "col_status" in sol:
            master.purge(sol["col_dual"], sol["col_status"] == 1, float(opt["purge"]))
        added = master.add_arcs(xs, cs)
        info["arcs_generated"] += added
        if added == 0 and priced_with_basis:
            # Every negative arc is already in the master: the simplex and the pricing disagree.
            log("pricing found negative arcs that are already in the master: numerical trouble")
            return "error", sol, pr, stats
    return "iteration_limit", sol, pr, stats


def _select_arcs(master, pr, sig_share, tol):
    """Arcs to add after a pricing pass: per point, per centre and signature, and to open centres."""
    active = master.row0 >= 0
    finite = np.isfinite(pr.sig_min)
    # A centre without rows has zero duals; open it when the data's own signature mix (a fair
    # mixture, W_i / W = r_i) has a negative reduced cost there.
    opening = sig_share @ np.where(finite, pr.sig_min, 0.0)
    open_now = ~active & (opening < -tol)
    px, pc = pr.point_arcs
    if not open_now.any() and not active[pc].any() and not ((pr.sig_min < -tol) & active[None, :]).any():
        # Negative arcs remain only at closed centres whose mixture test failed: open them all.
        open_now = ~active & (pr.sig_min < -tol).any(axis=0)
    allowed = active | open_now
    take = ((pr.sig_min < -tol) & active[None, :]) | (open_now[None, :] & finite)
    xs = np.concatenate([px[allowed[pc]], pr.sig_arg[take]])
    cs = np.concatenate([pc[allowed[pc]], np.nonzero(take)[1]])
    return xs, cs

"""LP (2) on a few centres over many points, exactly, in a few passes over the data (issue 11).

With k centres LP (2) has n mass rows but only k (1 + 2 m) coupling rows. Given duals of the
coupling rows, summed per group signature s and centre c into G (S, k), every point's best arc is
argmin_c D(x, c) - G[s(x), c], and

    L(G) = sum_x w(x) min_c (D(x, c) - G[s(x), c]) + W_tot sum_c min(0, rc_W(c))

is a lower bound on LP (2) for any duals of the right signs (Lagrangian relaxation of the
coupling rows; :mod:`fairopt.assignment.numerics`). Points far from a tie are fixed; only the
contested ones enter the LP:

1. potentials G_0 (or given): the entropic Lagrangian dual maximised by Newton's method at
   decreasing temperatures, on a uniform sample with exact signature totals, then on all
   points (:mod:`fairopt.assignment.screen_dual`; one pass per step);
2. a point is *free* when its two best values of D - G_0 differ by less than tau (tau chosen so
   that about ``init_free`` points are free); every other point is fixed to its best centre and
   enters the master only through its (centre, signature) bucket
   (:class:`fairopt.assignment.screen_master.ScreenMaster`);
3. solve the restricted master (a restriction of LP (2): its optimum is an upper bound), price
   every fixed point with the master's duals G: a fixed point whose fixed arc is not its best one
   has reduced cost rc(x) < 0 (column generation, Dantzig and Wolfe 1960); free the most negative;
4. stop when no fixed point has rc(x) < -tol and no slack is used: the master's solution, with
   every fixed point at its centre, is optimal for LP (2), and L(G) certifies it.

Each step is one pass over row chunks with small results (:mod:`fairopt.assignment.screen_chunks`),
so the same driver runs in memory and on Dask. Which points are free is a pure function of the
small :class:`~fairopt.assignment.screen_chunks.ScreenState` (G_0, tau and every round's (G_r,
theta_r)), so a chunk recomputed anywhere agrees with the client.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from fairopt.assignment.master import RowLayout
from fairopt.assignment.numerics import _pow2
from fairopt.assignment.screen_chunks import (
    ArrayChunks,
    ScreenState,
    chunk_costs,
    chunk_labels,
    chunk_summary,
    moments_pass,
    sample_pass,
    screen_pass,
    spread_pass,
)
from fairopt.assignment.screen_dual import DenseCosts, newton_dual, potentials_of
from fairopt.assignment.screen_master import ScreenMaster

__all__ = ["ScreenedLP", "solve_screened", "full_assignment", "ArrayChunks", "chunk_labels", "chunk_summary", "DEFAULTS"]

DEFAULTS = {
    "tol": 1e-9,             # certificate: every fixed point's rc >= -tol (normalised cost units)
    "sample_size": 5_000,    # points of the small sample on which the start potentials are found
    "mid_sample_size": 100_000,  # ... and of the larger one (all points below this)
    "eps": (1.0, 0.3, 0.1, 0.03, 0.01),  # entropic temperatures on the small sample (times the mean nearest-centre cost)
    "mid_eps": (3e-3,),      # ... on the larger one
    # ... then on all points, until too few are near a tie; the first one is high enough that the
    # sample's optimum is a close start (at 3e-4 a 100,000-point sample's optimum is thousands of
    # eps away from the 10^6 points' one, and Newton crawls there)
    "full_eps": (1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6),
    "newton_iter": 10,       # Newton steps per temperature at most (one pass each, plus line-search passes)
    "min_soft": 60.0,        # stop lowering eps when fewer points than this are near a tie
    "init_free": None,       # free points at the start; None: max(2000, 40 k S)
    "budget": None,          # points freed per round at most; None: max(2000, free points so far)
    "big": 1e4,              # cost of a unit of fairness slack (normalised units)
    "max_rounds": 200,
    "arcs_per_point": 3,     # arcs a free point enters the master with (plus its fixed one), and per pricing
    "highs_options": {},     # extra HiGHS options for the master
    "seed": 0,
}


@dataclass(frozen=True)
class ScreenedLP:
    """Result of :func:`solve_screened` (costs in the data's units).

    Attributes
    ----------
    status : str
        ``"optimal"`` (certified), ``"time_limit"``, ``"iteration_limit"`` or ``"error"``.
    objective : float
        LP (2) value of the solution (fixed points at their centre, free points by ``free_phi``).
    lower_bound : float
        L(G) of the last pricing pass.
    state : ScreenState
        Recomputes every point's fixed centre and whether it is free (:func:`chunk_labels`).
    free_index : ndarray of shape (F,), int64
        Sorted global rows of the free points.
    free_phi : scipy.sparse.csr_matrix of shape (F, k)
        Their fractional assignment (in the data's weight units).
    free_points : ndarray of shape (F, d)
    free_sid : ndarray of shape (F,), int64
    info : dict
        ``rounds``, ``passes``, ``free`` (F), ``seconds`` per phase, ``history``, ``potentials``
        (the final G (S, k) in cost units: a start for a related solve).
    """

    status: str
    objective: float
    lower_bound: float
    state: ScreenState
    free_index: np.ndarray
    free_phi: sp.csr_matrix
    free_points: np.ndarray
    free_sid: np.ndarray
    info: dict = field(default_factory=dict)


def _scaling(chunks, centres: np.ndarray, n_sig: int) -> tuple[np.ndarray, float, float, dict]:
    """Shift, length and mass of :func:`fairopt.assignment.numerics.normalise`, in two passes."""
    parts = chunks.map(moments_pass, n_sig)
    W = sum(p["wsum"] for p in parts)
    n = sum(p["n"] for p in parts)
    shift = sum(p["wx"] for p in parts) / max(W, 1e-300)
    spreads = chunks.map(spread_pass, shift)
    top = max(max((p["top"] for p in spreads), default=0.0), float(np.max(np.abs(centres - shift), initial=0.0)))
    length = _pow2(top)
    spread = sum(p["sq"] for p in spreads) / max(W, 1e-300) / length**2
    if spread > 0:
        length *= _pow2(np.sqrt(spread))
    totals = {"W": W, "n": n, "sig_mass": sum(p["sig_mass"] for p in parts),
              "sig_count": sum(p["sig_count"] for p in parts)}
    return shift, length, _pow2(W / max(n, 1)), totals


def _reweighted(w: np.ndarray, sid: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Sample weights scaled per signature so that every signature keeps its exact total."""
    have = np.bincount(sid, weights=w, minlength=totals.size)
    return w * np.divide(totals, have, out=np.zeros_like(have), where=have > 0)[sid]


def _start_potentials(chunks, state: ScreenState, sig, alpha, beta, totals, opt, log=None,
                      deadline=None) -> tuple[np.ndarray, dict]:
    """G_0 (S, k): the entropic dual (:mod:`fairopt.assignment.screen_dual`) maximised at decreasing
    temperatures on growing point sets: a small uniform sample (``sample_size``), a larger one
    (``mid_sample_size``, drawn in one pass; the small one is a subset of it), both reweighted to
    the exact signature totals, then all points (one pass per Newton step), or the larger sample
    again when it already holds every point."""
    n = int(totals["n"])
    rate = min(1.0, float(opt["mid_sample_size"]) / max(n, 1))
    parts = chunks.map(sample_pass, rate, int(opt["seed"]))
    X = np.concatenate([p["X"] for p in parts])
    sid = np.concatenate([p["sid"] for p in parts])
    w = np.concatenate([p["w"] for p in parts])
    whole = rate >= 1.0  # every point with a positive weight: the exact data
    if not whole:
        w = _reweighted(w, sid, totals["sig_mass"])
    D = chunk_costs(X, state)
    big = DenseCosts(D, w / state.mass, sid)
    pick = np.random.default_rng(int(opt["seed"])).permutation(w.size)[:int(opt["sample_size"])]
    pick.sort()
    small = DenseCosts(D[pick], _reweighted(w[pick], sid[pick], totals["sig_mass"]) / state.mass, sid[pick])
    # Temperatures relative to the mean cost of sending every point to its nearest centre.
    unit = float(np.average(D.min(axis=1), weights=w)) if w.sum() > 0 else 1.0
    unit = unit if unit > 0 else 1.0
    info = {"sample": int(small.n), "mid_sample": int(big.n), "unit": unit, "levels": [], "full_evaluations": 0}
    lam = None
    stages = [(small, opt["eps"], 0.0), (big, opt["mid_eps"], 0.0)]
    stages.append((big if whole else chunks, opt["full_eps"], float(opt["min_soft"])))
    for where, levels, min_soft in stages:
        if not len(levels):
            continue
        lam, more = newton_dual(where, state, sig, alpha, beta, lam, [unit * e for e in levels],
                                int(opt["newton_iter"]), min_soft, verbose=log, deadline=deadline)
        info["levels"] += [(where.n, *level) for level in more["levels"]]
        if where is chunks:
            info["full_evaluations"] = more["evaluations"]
    return potentials_of(lam, sig, alpha, beta), info


def _select(parts: list, budget: int, key_cap: float) -> tuple[float, dict]:
    """Threshold theta and the candidates with key < theta, consistent with every chunk's cap.

    A chunk that returned only its ``cap`` smallest keys knows nothing beyond its last one, so
    theta stays at or below it (ties at the last key are left out); between two returned keys
    theta sits halfway, away from rounding noise.
    """
    keys = np.concatenate([p["key"] for p in parts])
    limit = min([float(key_cap)] + [p["last"] for p in parts if p["truncated"]])
    ks = np.sort(keys[keys < limit])
    if ks.size <= budget:
        theta = limit
    else:
        lo, hi = ks[budget - 1], ks[budget]
        theta = float(0.5 * (lo + hi)) if hi > lo else float(np.nextafter(lo, np.inf))
    take = keys < theta
    cat = {name: np.concatenate([p[name] for p in parts])[take] for name in ("index", "X", "w", "sid", "D", "fixed")}
    return theta, cat


def solve_screened(chunks, centres, sig, alpha, beta, potentials=None, power: int = 2, time_limit=None,
                   threads=None, verbose: bool = False, **tuning) -> ScreenedLP:
    """Solve LP (2) on k centres over all points by screening (see the module docstring).

    minimise sum_x sum_c phi(x, c) ||x - c||^power subject to sum_c phi(x, c) = w(x) and
    beta_i W(c) <= W_i(c) <= alpha_i W(c) for every centre c and group i.

    Parameters
    ----------
    chunks : ArrayChunks or any object with ``n``, ``d`` and ``map(fn, *args)``
        The data (X (n, d), w (n,), sid (n,)) in row chunks; ``map`` runs ``fn(X, w, sid, offset,
        *args)`` on every chunk and returns the list of results (a Dask twin runs them on workers).
    centres : ndarray of shape (k, d)
    sig : ndarray of shape (S, m), bool
        Row s: the groups of signature s; ``sid`` values index its rows.
    alpha, beta : ndarray of shape (m,)
    potentials : ndarray of shape (S, k), optional
        Start duals G_0 in cost units (e.g. from LP (2) on a coreset with the same centres);
        from a sample of ``sample_size`` points by default.
    power : {2, 1}
        Squared distances (k-means) or distances (k-median).
    time_limit : float, optional
        Seconds for the whole call.
    **tuning
        Overrides of :data:`DEFAULTS`.

    Returns
    -------
    ScreenedLP
        Inputs are trusted (validated by the caller).
    """
    unknown = set(tuning) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown tuning option(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    opt = {**DEFAULTS, **tuning}
    t_start = time.perf_counter()
    deadline = None if time_limit is None else t_start + float(time_limit)
    log = (lambda text: print(text, file=sys.stderr)) if verbose else (lambda text: None)
    sig = np.asarray(sig, dtype=bool)
    C = np.asarray(centres, dtype=np.float64)
    S, k = sig.shape[0], C.shape[0]
    alpha, beta = np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64)
    tol, seconds = float(opt["tol"]), {"scaling": 0.0, "start": 0.0, "passes": 0.0, "master": 0.0}
    shift, length, mass, totals = _scaling(chunks, C, S)
    n, Wn = int(totals["n"]), totals["W"] / mass
    state = ScreenState((C - shift) / length, shift, length, mass, int(power), np.zeros((S, k)))
    seconds["scaling"] = time.perf_counter() - t_start
    t = time.perf_counter()
    start_info = {}
    if potentials is None:
        G0, start_info = _start_potentials(chunks, state, sig, alpha, beta, totals, opt, log if verbose else None,
                                           deadline)
    else:
        G0 = np.asarray(potentials, dtype=np.float64) / length**power
    state = dataclasses.replace(state, G_fix=G0)
    seconds["start"] = time.perf_counter() - t
    init_free = int(opt["init_free"] or max(2_000, 40 * k * S))
    t = time.perf_counter()
    parts = chunks.map(screen_pass, state, None, min(1.0, 2.0 * init_free / max(n, 1)), tol)
    seconds["passes"] += time.perf_counter() - t
    passes = 1
    bucket_mass, bucket_cost = sum(p["mass"] for p in parts), sum(p["cost"] for p in parts)
    tau, cand = _select(parts, init_free, np.inf)
    state = dataclasses.replace(state, tau=tau)
    master = ScreenMaster(RowLayout(alpha, beta, sig), k, float(opt["big"]), threads=threads,
                          options={"dual_feasibility_tolerance": tol / 10, "primal_feasibility_tolerance": 1e-9,
                                   **opt["highs_options"]})
    free = {name: [] for name in ("index", "X", "w", "sid", "D")}
    known = np.zeros(0, dtype=np.int64)
    status, history, lower, sol = "iteration_limit", [], -np.inf, None
    Dfree, sidfree = np.zeros((0, k)), np.zeros(0, dtype=np.int64)
    G_cur, r = state.G_fix, int(opt["arcs_per_point"])
    for rnd in range(int(opt["max_rounds"]) + 1):
        # Freed points leave their bucket and enter the master with their fixed arc and their r
        # best arcs under the current duals; the others are priced in the client (below).
        new = ~np.isin(cand["index"], known)
        cand = {name: val[new] for name, val in cand.items()}
        f = cand["w"].size
        np.add.at(bucket_mass, (cand["fixed"], cand["sid"]), -cand["w"])
        np.add.at(bucket_cost, (cand["fixed"], cand["sid"]), -cand["w"] * cand["D"][np.arange(f), cand["fixed"]])
        for name in free:
            free[name].append(cand[name])
        known = np.concatenate([known, cand["index"]])
        first = Dfree.shape[0]
        Dfree, sidfree = np.vstack([Dfree, cand["D"]]), np.concatenate([sidfree, cand["sid"]])
        master.set_buckets(bucket_mass, bucket_cost)
        master.add_points(cand["w"])
        local = first + np.arange(f)
        best = np.argsort(cand["D"] - G_cur[cand["sid"]], axis=1)[:, :r]
        xs = np.concatenate([local, np.repeat(local, best.shape[1])])
        cs = np.concatenate([cand["fixed"], best.ravel()])
        master.add_arcs(xs, cs, Dfree[xs, cs], sidfree)
        st, raw, sol = _solve_master(master, Dfree, sidfree, r, tol, deadline, seconds)
        if st != "optimal":
            status = st if st in ("time_limit", "iteration_limit", "interrupted") else "error"
            log(f"screening: master ended with {raw}")
            break
        G_cur = sol["G"]
        upper = master.objective()
        budget = int(opt["budget"] or max(2_000, known.size))
        if sol["slack"] > 1e-9 * max(Wn, 1.0):
            # The fixed points leave no fair assignment: the slack's duals (up to ``big``) would
            # free points far and wide. Free the next points by margin instead (raise tau).
            history.append({"round": rnd, "free": int(known.size), "objective": upper, "slack": sol["slack"],
                            "master_iterations": master.iterations()})
            if known.size >= n:
                status = "error"  # every point free and still no fair solution: cannot happen
                break
            t = time.perf_counter()
            parts = chunks.map(screen_pass, state, None, min(1.0, 2.0 * budget / max(n, 1)), tol)
            seconds["passes"] += time.perf_counter() - t
            passes += 1
            tau, cand = _select(parts, budget, np.inf)
            state = dataclasses.replace(state, tau=tau)
            continue
        t = time.perf_counter()
        parts = chunks.map(screen_pass, state, sol["G"], min(1.0, 2.0 * max(known.size, 2_000) / max(n, 1)), tol)
        seconds["passes"] += time.perf_counter() - t
        passes += 1
        lower = sum(p["lagrangian"] for p in parts) + Wn * float(np.minimum(sol["rc_W"], 0.0).sum())
        n_neg = sum(p["key"].size for p in parts)
        history.append({"round": rnd, "free": int(known.size), "objective": upper, "lower_bound": lower,
                        "slack": sol["slack"], "violators": int(n_neg), "master_iterations": master.iterations(),
                        "arcs": int(master.arc_x.size)})
        log(f"screening round {rnd}: free {known.size}, objective {upper:.12g}, bound {lower:.12g}, "
            f"violators >= {n_neg}")
        if n_neg == 0:
            status = "optimal"
            break
        theta, cand = _select(parts, budget, -tol)
        state = dataclasses.replace(state, rounds=state.rounds + ((sol["G"], theta),))
    passes += start_info.get("full_evaluations", 0)
    return _result(status, state, free, sol, master, lower, mass, length, power, history, passes, seconds, t_start,
                   start_info)


def _solve_master(master: ScreenMaster, Dfree, sidfree, r, tol, deadline, seconds):
    """Solve the master, price the free points' missing arcs (all in the client), repeat."""
    while True:
        remaining = None if deadline is None else deadline - time.perf_counter()
        if remaining is not None and remaining <= 0:
            return "time_limit", "time limit", None
        t = time.perf_counter()
        st, raw = master.run(remaining)
        seconds["master"] += time.perf_counter() - t
        seconds["master_solves"] = seconds.get("master_solves", 0) + 1
        if st != "optimal":
            return st, raw, None
        sol = master.solution()
        # reduced cost D - y - G[s] of every arc of a free point
        rc = Dfree - sol["y"][:, None] - sol["G"][sidfree]
        rc[master.in_master] = np.inf
        worst = rc.min(axis=1, initial=np.inf)
        rows = np.flatnonzero(worst < -tol)
        if rows.size == 0:
            return st, raw, sol
        best = np.argsort(rc[rows], axis=1)[:, :r]
        xs = np.repeat(rows, best.shape[1])
        cs = best.ravel()
        keep = rc[xs, cs] < -tol
        if master.add_arcs(xs[keep], cs[keep], Dfree[xs[keep], cs[keep]], sidfree) == 0:
            return "error", "pricing found negative arcs already in the master", None


def _result(status, state, free, sol, master, lower, mass, length, power, history, passes, seconds, t_start,
            start_info):
    unit = mass * length**power
    index = np.concatenate(free["index"]).astype(np.int64)
    order = np.argsort(index, kind="stable")
    k = state.centres.shape[0]
    phi = sol["phi"][order] * mass if sol is not None else np.zeros((index.size, k))
    objective = master.objective() * unit if sol is not None else float("nan")
    seconds["total"] = time.perf_counter() - t_start
    info = {"rounds": len(history), "passes": passes, "free": int(index.size), "tau": state.tau,
            "history": history, "seconds": seconds, "start": start_info,
            "potentials": None if sol is None else sol["G"] * length**power, "slack": None if sol is None else sol["slack"] * mass}
    return ScreenedLP(status, objective, float(lower) * unit, state, index[order], sp.csr_matrix(phi),
                      np.concatenate(free["X"])[order], np.concatenate(free["sid"])[order].astype(np.int64), info)


def full_assignment(chunks, res: ScreenedLP) -> sp.csr_matrix:
    """phi of shape (n, k): every fixed point whole at its centre, the free points by ``free_phi``."""
    F = res.free_index.size
    labels = np.concatenate(chunks.map(chunk_labels, res.state, res.free_index, np.zeros(F, dtype=np.int64)))
    w = np.concatenate(chunks.map(_weights))
    n, k = labels.size, res.state.centres.shape[0]
    fixed = np.ones(n, dtype=bool)
    fixed[res.free_index] = False
    rows = np.flatnonzero(fixed)
    coo = res.free_phi.tocoo()
    r = np.concatenate([rows, res.free_index[coo.row]])
    c = np.concatenate([labels[rows], coo.col])
    v = np.concatenate([w[rows], coo.data])
    phi = sp.csr_matrix((v, (r, c)), shape=(n, k))
    phi.eliminate_zeros()
    return phi


def _weights(X, w, sid, offset):
    return np.asarray(w, dtype=np.float64)

"""Coarse-to-fine levels for the column generation of LP (2).

The points are grouped into cells that never mix group signatures (so a cell's mass carries
exactly its signature's groups) by recursive median splits, and the candidates into nested
spatial subsets. A coarse LP (2) over cell means and a candidate subset is solved first; its
solution and its optimal basis are then *lifted* to the next finer level:

* the solution: every point of a cell is sent where the cell went, in proportion to its mass.
  Each centre receives the same group masses, so the lifted assignment is exactly fair;
* the basis: each cell's flow to its basic arcs is split among the cell's points by the
  north-west-corner rule of transportation problems. The staircase path through the L x B table
  (L points, B basic arcs) has L + B - 1 arcs and forms a spanning tree, so the finer basis has
  one more basic variable per extra point, is nonsingular whenever the coarse one is (the coarse
  system fixes the flows into each centre, the tree then fixes the arcs), and its flows are the
  nonnegative north-west-corner amounts: primal feasible.

References
----------
B. Schmitzer, "A sparse multiscale algorithm for dense optimal transport", J. Math. Imaging
Vis. 56 (2016); G. B. Dantzig, "Linear programming and extensions" (1963), ch. 14 for the
north-west-corner rule.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["hierarchy", "centre_subsets", "aggregate", "auto_levels", "lift_basis", "lift_solution",
           "localise", "lifted_statuses"]


def split(points: np.ndarray, cell: np.ndarray, limit: int) -> np.ndarray:
    """Halve every cell with more than ``limit`` points at the median of its widest coordinate.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    cell : ndarray of shape (n,), int
        Cell of every point, numbered 0..nc-1.
    limit : int

    Returns
    -------
    ndarray of shape (n,)
        The new cells, numbered 0..nc'-1 in the order of the old ones (O(n log n)).
    """
    n, d = points.shape
    nc = int(cell.max()) + 1
    sizes = np.bincount(cell, minlength=nc)
    lo = np.full((nc, d), np.inf)
    hi = np.full((nc, d), -np.inf)
    np.minimum.at(lo, cell, points)
    np.maximum.at(hi, cell, points)
    dim = np.argmax(hi - lo, axis=1)
    order = np.lexsort((points[np.arange(n), dim[cell]], cell))
    c_sorted = cell[order]
    rank = np.arange(n) - np.searchsorted(c_sorted, c_sorted)
    upper = (rank >= sizes[c_sorted] // 2) & (sizes[c_sorted] > limit)
    new = np.empty(n, dtype=np.int64)
    new[order] = 2 * c_sorted + upper
    return np.unique(new, return_inverse=True)[1].ravel()


def hierarchy(points: np.ndarray, sid: np.ndarray, sizes: list) -> list:
    """Nested cells of the points, one level per cell size, coarsest first.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    sid : ndarray of shape (n,)
        Group signature of every point; a cell never mixes signatures.
    sizes : list of int
        Largest cell of each coarse level.

    Returns
    -------
    list of ndarray of shape (n,)
        The cell of every point for each size (largest first), then ``arange(n)`` (the points
        themselves). Every level's cells are unions of the next level's cells.
    """
    out = []
    cell = np.unique(sid, return_inverse=True)[1].ravel()
    for b in sorted(sizes, reverse=True):
        while np.bincount(cell).max() > b:
            cell = split(points, cell, b)
        out.append(cell.copy())
    out.append(np.arange(points.shape[0]))
    return out


def centre_subsets(centres: np.ndarray, targets: list, keep: int) -> list:
    """Nested subsets of the candidates, spread out in space, of about the target sizes.

    Candidates are split by medians into cells; a subset holds the lowest index of every cell,
    so a coarser subset (fewer, larger cells) is contained in every finer one. ``keep`` (the
    central candidate) is in all of them.
    """
    k = centres.shape[0]
    out = []
    cell = np.zeros(k, dtype=np.int64)
    for t in sorted(targets):
        # The finest split with at most t cells (splits halve every cell, so counts about double).
        while int(cell.max()) + 1 < k:
            finer = split(centres, cell, 1)
            if int(finer.max()) + 1 > max(t, 1):
                break
            cell = finer
        first = np.full(int(cell.max()) + 1, k)
        np.minimum.at(first, cell, np.arange(k))
        out.append(np.union1d(first, [keep]))
    return out


def aggregate(points: np.ndarray, weights: np.ndarray, sid: np.ndarray, cell: np.ndarray):
    """The cells as weighted points: (means (nc, d), masses (nc,), signatures (nc,))."""
    nc = int(cell.max()) + 1
    W = np.bincount(cell, weights=weights, minlength=nc)
    # Weighted mean of each cell (plain mean for a cell of weightless points).
    wt = np.where(W[cell] > 0, weights, 1.0)
    tot = np.bincount(cell, weights=wt, minlength=nc)
    P = np.stack([np.bincount(cell, weights=wt * points[:, j], minlength=nc) for j in range(points.shape[1])], axis=1)
    P /= tot[:, None]
    first = np.zeros(nc, dtype=np.int64)
    first[cell[::-1]] = np.arange(cell.size)[::-1]
    return P, W, sid[first]


def auto_levels(n: int, coarsen: int, coarsest: int) -> list:
    """Cell sizes coarsen, coarsen^2, ... while at least ``coarsest`` cells remain; largest first."""
    sizes, b = [], coarsen
    while n / b >= coarsest:
        sizes.append(b)
        b *= coarsen
    return sizes[::-1]


def _group_starts(keys: np.ndarray, n_groups: int) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n_groups))])


def lift_basis(snap: dict, parent: np.ndarray, weights: np.ndarray):
    """North-west-corner lift of a coarse optimal basis to the finer points.

    ``snap`` holds the coarse master's columns (``col_x``, ``col_c``, ``col_value``,
    ``col_status``), ``row_status`` and its number of points ``n``; ``parent`` maps every finer
    point to its coarse point and ``weights`` are the finer masses.

    Each coarse point j with basic arcs to centres c_1..c_B (flows f) and fine points x_1..x_L
    (masses w) gets the L + B - 1 arcs of the staircase path through the transport table w x f:
    a spanning tree, so the finer basis is nonsingular whenever the coarse one is, and its flows
    are >= 0 and reproduce every centre's group masses (primal feasible).

    Returns
    -------
    tree_x, tree_c : int64 arrays
        Basic arcs of the finer master.
    row_basic : bool array of shape (n_fine,)
        Finer ``mass`` rows whose slack is basic.
    """
    nf = parent.size
    nc = int(snap["n"])
    basic = (snap["col_status"] == 1) & (snap["col_x"] >= 0)
    bj, bc = snap["col_x"][basic], snap["col_c"][basic]
    bf = np.maximum(snap["col_value"][basic], 0.0)
    o = np.argsort(bj, kind="stable")
    bj, bc, bf = bj[o], bc[o], bf[o]
    B = np.bincount(bj, minlength=nc)
    fo = np.argsort(parent, kind="stable")  # fine points grouped by coarse point
    L = np.bincount(parent, minlength=nc)
    sb, sf = _group_starts(bj, nc), _group_starts(parent, nc)
    row_basic = np.zeros(nf, dtype=bool)
    logical = snap["row_status"][:nc] == 1
    # Groups without basic arcs keep L - 1 (+1) fine slacks basic instead of a tree.
    no_tree = B == 0
    first_rank = np.arange(nf) - sf[parent[fo]]
    need = L - 1 + logical
    row_basic[fo[no_tree[parent[fo]] & (first_rank < need[parent[fo]])]] = True
    row_basic[fo[(~no_tree[parent[fo]]) & logical[parent[fo]] & (first_rank == 0)]] = True
    # Staircase events: cumulative fractions of the fine masses and of the coarse flows.
    def fractions(vals, keys, starts):
        cs = np.cumsum(vals)
        tot_before = np.concatenate([[0.0], cs])[starts[keys]]
        grp_tot = (np.concatenate([[0.0], cs])[starts[keys + 1]] - tot_before)
        return np.where(grp_tot > 0, (cs - tot_before) / np.where(grp_tot > 0, grp_tot, 1.0), 0.0)

    pf = parent[fo]
    fx_frac = fractions(weights[fo], pf, sf)
    fc_frac = fractions(bf, bj, sb)
    tree = B > 0
    last_x = np.zeros(nf, dtype=bool)
    last_x[sf[1:][L > 0] - 1] = True
    last_c = np.zeros(bj.size, dtype=bool)
    last_c[sb[1:][B > 0] - 1] = True
    ex = ~last_x & tree[pf]
    ec = ~last_c
    ev_grp = np.concatenate([pf[ex], bj[ec]])
    ev_val = np.concatenate([fx_frac[ex], fc_frac[ec]])
    ev_typ = np.concatenate([np.zeros(ex.sum(), np.int64), np.ones(ec.sum(), np.int64)])
    order = np.lexsort((ev_typ, ev_val, ev_grp))
    ev_grp, ev_typ = ev_grp[order], ev_typ[order]
    # Position along the staircase within each group: counts of x and c moves so far.
    ev_start = _group_starts(ev_grp, nc)
    cx = np.cumsum(ev_typ == 0)
    cc = np.cumsum(ev_typ == 1)
    base_x = np.concatenate([[0], cx])[ev_start[ev_grp]]
    base_c = np.concatenate([[0], cc])[ev_start[ev_grp]]
    xi = cx - base_x
    ci = cc - base_c
    groups = np.flatnonzero(tree)
    tree_x = np.concatenate([fo[sf[groups]], fo[sf[ev_grp] + xi]])
    tree_c = np.concatenate([bc[sb[groups]], bc[sb[ev_grp] + ci]])
    return tree_x, tree_c, row_basic


def lift_solution(arc_x, arc_c, val, cell, weights, n, k) -> sp.csr_matrix:
    """phi(x, c) = w(x) phi(cell(x), c) / W(cell(x)), shape (n, k).

    Exactly fair (and feasible for LP (2)) whenever the coarse solution is, because a cell holds
    points of one signature only: every centre receives the same mass of every group.
    """
    nc = int(cell.max()) + 1
    W = np.bincount(cell, weights=weights, minlength=nc)
    coarse = sp.csr_matrix((val, (arc_x, arc_c)), shape=(nc, k))
    frac = sp.diags(np.where(W > 0, 1.0 / np.where(W > 0, W, 1.0), 0.0)) @ coarse
    return sp.csr_matrix(sp.diags(weights) @ frac[cell])


def localise(snap: dict, local: np.ndarray, S: np.ndarray) -> dict:
    """Express a snapshot (global centre numbers) in the centre numbering of a level."""
    out = dict(snap)
    out["col_c"] = local[snap["col_c"]]
    out["active"] = local[snap["active"]]
    out["row0"] = snap["row0"][S]
    out["G"] = snap["G"][:, S]
    return out


def lifted_statuses(master, snap: dict, tree_x, tree_c, row_basic):
    """Basis statuses of the finer master (HiGHS integers), or None when the counts do not match.

    Tree arcs are basic, other arcs at their lower bound; W(c) and the centre rows keep their
    coarse statuses; rows of centres new at this level have basic slacks.
    """
    col_status = np.zeros(master.col_x.size, dtype=np.int64)  # kLower
    k = master.k
    is_tree = np.zeros(master.col_x.size, dtype=bool)
    arc = master.col_x >= 0
    key = master.col_x * k + master.col_c
    tree_key = np.unique(tree_x * k + tree_c)
    is_tree[arc] = np.isin(key[arc], tree_key)
    col_status[is_tree] = 1
    # W(c): status of the coarse W(c) column.
    coarse_W = np.full(k, 0, dtype=np.int64)
    cw = snap["col_x"] < 0
    coarse_W[snap["col_c"][cw]] = snap["col_status"][cw]
    col_status[~arc] = coarse_W[master.col_c[~arc]]
    row_status = np.zeros(master.n_rows, dtype=np.int64)
    row_status[: master.n][row_basic] = 1
    size = master.layout.size
    act = snap["active"]
    src = snap["row0"][act][:, None] + np.arange(size)[None, :]
    dst = master.row0[act][:, None] + np.arange(size)[None, :]
    row_status[dst.ravel()] = snap["row_status"][src.ravel()]
    # Centres activated only at this level: their rows' slacks are basic.
    fresh = np.setdiff1d(master.active, act)
    if fresh.size:
        row_status[(master.row0[fresh][:, None] + np.arange(size)[None, :]).ravel()] = 1
    if np.count_nonzero(col_status == 1) + np.count_nonzero(row_status == 1) != master.n_rows:
        return None  # a degenerate coarse basis that the lift does not cover: start cold
    return col_status, row_status

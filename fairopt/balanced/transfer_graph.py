"""Optimality certificate and local repairs for balanced assignments: the transfer graph.

For a labelling of n points into k clusters, moving point i from cluster a to cluster b changes
the cost sum_i D[i, labels[i]] by D[i, b] - D[i, a]. The k-node graph with weights

    W[a, b] = min over i in cluster a of D[i, b] - D[i, a]

is the residual network of the balanced transport LP with the point nodes contracted. Any
size-preserving change of the labels decomposes into cycles of moves, so a labelling is optimal
for its cluster sizes iff W has no negative cycle, and then Bellman-Ford distances p on W are
dual prices: D[i, a] - p[a] <= D[i, b] - p[b] for every point i of every cluster a.

* :func:`cancel_negative_cycles` polishes any labelling to an optimal one of the same sizes.
* :func:`repair_sizes` moves points along cheapest paths until prescribed sizes are met.

Loops run over clusters, cycles and paths (k-sized), never over points x centres.
"""
from __future__ import annotations

import numpy as np

__all__ = ["transfer_graph", "cancel_negative_cycles", "repair_sizes", "REL_TOL"]

REL_TOL = 1e-12


def _graph_rows(D: np.ndarray, members: np.ndarray, a: int, W: np.ndarray, A: np.ndarray) -> None:
    """Row a of W and A from the members of cluster a."""
    if members.size == 0:
        W[a], A[a] = np.inf, -1
        return
    delta = D[members] - D[members, a][:, None]
    best = delta.argmin(axis=0)
    W[a] = delta[best, np.arange(D.shape[1])]
    A[a] = members[best]
    W[a, a], A[a, a] = np.inf, -1


def transfer_graph(D: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest single moves between clusters.

    Returns
    -------
    W : ndarray of shape (k, k)
        ``W[a, b] = min_{i: labels[i] = a} D[i, b] - D[i, a]``; ``inf`` on the diagonal and
        from empty clusters.
    A : ndarray of shape (k, k), int64
        The point attaining ``W[a, b]`` (-1 where there is none).
    """
    k = D.shape[1]
    W = np.full((k, k), np.inf)
    A = np.full((k, k), -1, dtype=np.int64)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    for a in range(k):  # a loop over clusters; every point is visited once
        _graph_rows(D, order[bounds[a] : bounds[a + 1]], a, W, A)
    return W, A


def _bellman_ford(W: np.ndarray, tol: float, dist: np.ndarray | None = None) -> tuple[np.ndarray, list | None]:
    """Shortest distances from a virtual source, or a negative cycle.

    The virtual source has an arc of length ``dist[b]`` to every node b (0 by default; a
    previous call's distances make a warm start that converges in a few rounds after a local
    change). Returns (dist, None) when no relaxation improves by more than ``tol``, else
    (dist, cycle) with cycle the nodes [c0, c1, ...] of a negative cycle of arcs c_t -> c_{t+1}.
    """
    k = W.shape[0]
    dist = np.zeros(k) if dist is None else dist.copy()
    pred = np.full(k, -1, dtype=np.int64)
    cols = np.arange(k)
    # Without a negative cycle the relaxations stop within k rounds. With one, the distances
    # on it fall without bound while every path of the (acyclic) predecessor forest has a
    # bounded length, so the predecessor graph soon holds a cycle, and such a cycle is negative.
    for rnd in range(1, 100 * k + 1000):
        cand = dist[:, None] + W
        best = cand.argmin(axis=0)
        val = cand[best, cols]
        upd = val < dist - tol
        if not upd.any():
            return dist, None
        dist = np.where(upd, val, dist)
        pred = np.where(upd, best, pred)
        if rnd % 8 == 0 or rnd >= k:
            cycle = _pred_cycle(pred, k)
            if cycle is not None:
                return dist, cycle
    return dist, _pred_cycle(pred, k)


def _pred_cycle(pred: np.ndarray, k: int) -> list | None:
    """A cycle of the predecessor graph (every such cycle is negative), or None."""
    v = np.flatnonzero(pred >= 0)
    for _ in range(k):  # after k steps back along pred only nodes on cycles are left
        v = pred[v]
        v = v[v >= 0]
        if v.size == 0:
            return None
    start = int(v[0])
    cycle = [start]
    u = int(pred[start])
    while u != start:
        cycle.append(u)
        u = int(pred[u])
    cycle.reverse()  # pred[b] = a is the arc a -> b, so reversing lists the cycle along its arcs
    return cycle


def cancel_negative_cycles(D: np.ndarray, labels: np.ndarray, tol: float | None = None, max_cycles: int | None = None):
    """Polish a feasible labelling to an optimal one of the same cluster sizes.

    Parameters
    ----------
    D : ndarray of shape (n, k)
    labels : ndarray of shape (n,)
        Any labelling; its cluster sizes are kept.
    tol : float, optional
        Cycles cheaper than ``-tol`` are cancelled; a relative 1e-12 of ``max |D|`` by default.
    max_cycles : int, optional
        Stop after this many cancellations (unbounded by default: each one lowers the cost).

    Returns
    -------
    labels : ndarray of shape (n,), int64
    prices : ndarray of shape (k,)
        Dual prices certifying optimality (see :class:`TransportAssignment`).
    cycles, moved : int
        Cycles cancelled and point moves made.
    """
    labels = np.array(labels, dtype=np.int64, copy=True)
    if tol is None:
        tol = REL_TOL * max(float(np.abs(D).max(initial=0.0)), 1e-300)
    W, A = transfer_graph(D, labels)
    cycles = moved = 0
    dist = None
    while max_cycles is None or cycles < max_cycles:
        dist, cycle = _bellman_ford(W, tol, dist)
        if cycle is None:
            return labels, dist, cycles, moved
        arcs = list(zip(cycle, cycle[1:] + cycle[:1]))
        if sum(W[a, b] for a, b in arcs) >= -tol:  # only rounding noise left
            return labels, dist, cycles, moved
        layers = []
        for a, b in arcs:
            mem = np.flatnonzero(labels == a)
            delta = D[mem, b] - D[mem, a]
            order = np.argsort(delta, kind="stable")
            layers.append((mem[order], delta[order]))
        depth = min(m.size for m, _ in layers)
        total = np.zeros(depth)
        for _, delta in layers:
            total += delta[:depth]
        # Layer t moves the t-th cheapest point along every arc; each layer with a negative
        # total lowers the cost on its own (moves out of distinct clusters do not interact).
        t = max(1, int(np.count_nonzero(total < -tol)))
        for (a, b), (mem, _) in zip(arcs, layers):
            labels[mem[:t]] = b
        cycles += 1
        moved += t * len(arcs)
        for a in cycle:
            _graph_rows(D, np.flatnonzero(labels == a), a, W, A)
    dist, _ = _bellman_ford(W, tol, dist)
    return labels, dist, cycles, moved


def repair_sizes(D: np.ndarray, labels: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Move points until every cluster j has exactly ``sizes[j]`` points, cheaply.

    Repeatedly sends points from a cluster with too many to one with too few along the path of
    cheapest moves in the transfer graph (Dijkstra on the moves' costs clipped at 0), moving as
    many points as the path's two ends allow. At most 2k paths; not optimal on its own (use
    :func:`cancel_negative_cycles` after it for that), but each move is the cheapest of its kind.

    Parameters
    ----------
    D : ndarray of shape (n, k)
    labels : ndarray of shape (n,)
    sizes : ndarray of shape (k,), summing to n

    Returns
    -------
    labels : ndarray of shape (n,), int64
    """
    labels = np.array(labels, dtype=np.int64, copy=True)
    k = D.shape[1]
    for _ in range(2 * k + 1):
        excess = np.bincount(labels, minlength=k) - sizes
        if not excess.any():
            break
        W, _ = transfer_graph(D, labels)
        dist, pred = _dijkstra(np.maximum(W, 0.0), excess > 0)
        short = np.flatnonzero(excess < 0)
        sink = int(short[np.argmin(dist[short])])
        path = [sink]
        while pred[path[-1]] >= 0:
            path.append(int(pred[path[-1]]))
        path.reverse()
        counts = np.bincount(labels, minlength=k)
        amount = int(min(excess[path[0]], -excess[sink], counts[path[:-1]].min()))
        for a, b in zip(path[:-1], path[1:]):
            mem = np.flatnonzero(labels == a)
            delta = D[mem, b] - D[mem, a]
            labels[mem[np.argsort(delta, kind="stable")[:amount]]] = b
    return labels


def _dijkstra(G: np.ndarray, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense Dijkstra on k nodes (O(k^2)) from every node with ``sources`` True.

    G[a, b] >= 0 is the arc length (inf: no arc). Returns (dist, pred), pred -1 at sources and
    unreached nodes. (scipy's csgraph reads dense entries within 1e-8 of 0 as missing arcs.)
    """
    k = G.shape[0]
    dist = np.where(sources, 0.0, np.inf)
    pred = np.full(k, -1, dtype=np.int64)
    done = np.zeros(k, dtype=bool)
    for _ in range(k):
        u = int(np.argmin(np.where(done, np.inf, dist)))
        if done[u] or not np.isfinite(dist[u]):
            break
        done[u] = True
        cand = dist[u] + G[u]
        better = (cand < dist) & ~done
        dist[better] = cand[better]
        pred[better] = u
    return dist, pred

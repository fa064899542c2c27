"""The BalLOT assignment step: ours vs POT ``ot.emd`` vs k-means-constrained (``python -m benchmarks ballot_step``).

Instance per cell: n points from a standard normal in d = 2, k centres drawn from the points,
sizes n/k. One exact balanced assignment at those centres, timed end to end (distances
included for every method):

* ``ours``: :func:`fairopt.balanced.transport.balanced_assignment` (multiscale: subsample prices, pruned
  OR-Tools flow, negative-cycle polish; certified optimal), cold start;
* ``warm``: ours inside BalLOT once the labels have settled (fewer than 2% changed in the last
  step, after "steps" cold steps), warm-started with the previous step's dual prices, as
  :class:`fairopt.balanced.ballot.BalancedKMeans` does;
* ``ortools``: ours with OR-Tools on all n*k arcs + polish; ``highs``: the model's LP
  (:mod:`fairopt.models.balanced_transport`) through HiGHS, n <= 1000 only;
* ``pot``: ``ot.emd(ones, sizes, D)`` (network simplex, exact on floats);
* ``kmc``: k-means-constrained's assignment step ``_labels_constrained`` (OR-Tools min-cost
  flow on Euclidean distances rounded to 1/1000, then a Python loop over the n*k flows).

POT and k-means-constrained run in a child process stopped after ``--cap`` seconds (default
120): POT's network simplex takes ~25 s at n = 1e5, k = 10 and more than the cap at k = 100 on
2 cores. Cells with n*k <= 1e6 report the best of 3 runs of ours. "cost kmc/ours" is the squared-distance cost of k-means-constrained's labels over ours
(>= 1: ours is optimal for the squared cost, theirs for the rounded Euclidean one). Prints a
table and writes ``benchmarks/results/ballot_step.json``.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

import numpy as np
from fairopt.models.balanced_transport import default_sizes

from fairopt.balanced.ballot import centroids
from fairopt.balanced.transport import balanced_assignment
from fairopt.distances import sq_distances
from fairopt.results import result_record, write_json

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "ballot_step.json")


def instance(n: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, X[rng.choice(n, k, replace=False)].copy()


def _pot(X, C, sizes):
    import ot

    t0 = time.perf_counter()
    D = sq_distances(X, C)
    F = ot.emd(np.ones(X.shape[0]), sizes.astype(float), D, numItermax=10**9)
    labels = F.argmax(axis=1)
    return time.perf_counter() - t0, labels


def _kmc(X, C, sizes):
    from k_means_constrained.k_means_constrained_ import _labels_constrained

    t0 = time.perf_counter()
    labels = _labels_constrained(X, C, int(sizes.min()), int(sizes.max()), np.zeros(X.shape[0]))[0]
    return time.perf_counter() - t0, labels


_CHILD = {"pot": _pot, "kmc": _kmc}


def _child(conn, name, X, C, sizes):
    try:
        conn.send(_CHILD[name](X, C, sizes))
    except Exception as exc:  # reported in the table, not raised
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    conn.close()


def run_capped(name, X, C, sizes, cap):
    """(seconds, labels) or (None, reason) when it failed or ran past ``cap`` seconds."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, name, X, C, sizes))
    proc.start()
    if recv.poll(cap):
        out = recv.recv()
        proc.join()
        if out[0] == "error":
            return None, out[1]
        return out
    proc.terminate()
    proc.join()
    return None, f"stopped at the {cap:.0f} s cap"


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def _best(reps, fn):
    """Best wall time of ``reps`` runs (small cells are timed several times) and the last result."""
    times, out = [], None
    for _ in range(reps):
        t, out = _timed(fn)
        times.append(t)
    return min(times), out


def settled_centres(X, sizes, res, k, seed, max_steps=15):
    """BalLOT steps from ``res`` until under 2% of the labels change (when warm starts kick in)."""
    steps = 0
    while steps < max_steps:
        prev = res.labels
        res = balanced_assignment(sq_distances(X, centroids(X, prev, k)), sizes, random_state=seed)
        steps += 1
        if np.count_nonzero(res.labels != prev) < 0.02 * len(prev):
            break
    return centroids(X, res.labels, k), res.prices, steps


def cell(n: int, k: int, seed: int, cap: float) -> dict:
    X, C = instance(n, k, seed)
    sizes = default_sizes(n, k)
    reps = 3 if n * k <= 10**6 else 1
    row = {"n": n, "k": k}
    t, ours = _best(reps, lambda: balanced_assignment(sq_distances(X, C), sizes, random_state=seed))
    row.update(ours_s=t, ours_cost=ours.cost, ours_arcs=ours.info["arcs"], ours_cycles=ours.info["cycles"])
    # The warm start as BalLOT uses it: once the labels have settled, the previous step's prices.
    C2, prices, steps = settled_centres(X, sizes, ours, k, seed)
    t, warm = _best(reps, lambda: balanced_assignment(sq_distances(X, C2), sizes, prices=prices))
    row.update(warm_s=t, warm_cycles=warm.info["cycles"], warm_after_steps=steps)
    if n * k <= 10**6:
        t, dense = _best(reps, lambda: balanced_assignment(sq_distances(X, C), sizes, solver="ortools"))
        row.update(ortools_s=t, ortools_cycles=dense.info["cycles"])
        assert abs(dense.cost - ours.cost) <= 1e-9 * ours.cost
    if n <= 1000:
        t, lp = _timed(lambda: balanced_assignment(sq_distances(X, C), sizes, solver="highs"))
        row.update(highs_s=t)
        assert abs(lp.cost - ours.cost) <= 1e-9 * ours.cost
    D = sq_distances(X, C)
    for name in ("pot", "kmc"):
        secs, labels = run_capped(name, X, C, sizes, cap)
        if secs is None:
            row[f"{name}_s"], row[f"{name}_note"] = None, labels
            continue
        row[f"{name}_s"] = secs
        row[f"{name}_cost"] = float(D[np.arange(n), labels].sum())
        row[f"{name}_sizes_ok"] = bool(np.array_equal(np.bincount(labels, minlength=k), sizes))
    return row


def _fmt(v, spec=".3f"):
    return "-" if v is None else format(v, spec)


def print_table(rows) -> None:
    print(f"{'n':>7}{'k':>5}{'ours s':>9}{'warm s':>9}{'ortools s':>11}{'highs s':>9}{'pot s':>9}{'kmc s':>9}"
          f"{'pot/ours':>10}{'kmc/ours':>10}{'cost pot/ours':>15}{'cost kmc/ours':>15}")
    for r in rows:
        ratio = lambda key: None if r.get(key) is None else r[key] / r["ours_s"]
        cost = lambda key: None if r.get(key) is None else r[key] / r["ours_cost"]
        print(f"{r['n']:>7}{r['k']:>5}{_fmt(r['ours_s']):>9}{_fmt(r['warm_s']):>9}{_fmt(r.get('ortools_s')):>11}"
              f"{_fmt(r.get('highs_s')):>9}{_fmt(r.get('pot_s')):>9}{_fmt(r.get('kmc_s')):>9}"
              f"{_fmt(ratio('pot_s'), '.1f'):>10}{_fmt(ratio('kmc_s'), '.1f'):>10}"
              f"{_fmt(cost('pot_cost'), '.9f'):>15}{_fmt(cost('kmc_cost'), '.6f'):>15}")
    for r in rows:
        for name in ("pot", "kmc"):
            if r.get(f"{name}_note"):
                print(f"  n={r['n']} k={r['k']} {name}: {r[f'{name}_note']}")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks ballot_step", description=__doc__.splitlines()[0])
    p.add_argument("--n", default="1000,10000,100000", help="comma-separated numbers of points")
    p.add_argument("--k", default="10,100", help="comma-separated numbers of clusters")
    p.add_argument("--cap", type=float, default=120.0, help="seconds allowed to POT and k-means-constrained per cell")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=RESULTS, help="JSON file to write")
    args = p.parse_args(argv)
    X, C = instance(500, 5, 0)  # warm-up: imports and first-call costs stay out of the table
    balanced_assignment(sq_distances(X, C), default_sizes(500, 5), solver="highs")
    balanced_assignment(sq_distances(X, C), default_sizes(500, 5))
    rows = []
    for n in (int(float(v)) for v in args.n.split(",")):
        for k in (int(v) for v in args.k.split(",")):
            rows.append(cell(n, k, args.seed, args.cap))
            print(f"  done n={n} k={k}: ours {rows[-1]['ours_s']:.3f} s", flush=True)
    print_table(rows)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    record = result_record("bench-ballot", inputs={"data": "standard normal, d=2", "centres": "k random points"},
                           parameters={"n": args.n, "k": args.k, "cap_s": args.cap, "cpus": os.cpu_count()},
                           seeds={"seed": args.seed}, metrics={"rows": rows})
    write_json(record, args.out, overwrite=True)
    print(f"wrote {args.out}")
    return record


if __name__ == "__main__":
    main()

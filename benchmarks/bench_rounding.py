"""Circulation rounding at scale: OR-Tools vs HiGHS vs networkx (``python -m benchmarks.bench_rounding``).

Instance: n points (default 100,000) in d = 5 dimensions, k = 50 centres drawn from the
points, m = 3 disjoint groups at random. The fractional assignment is synthetic, not an LP (2)
optimum: every point is split between its 2 nearest centres with a uniform random fraction.
The circulation needs only phi and the group labels, and this phi has every point fractional
(the hardest case for the rounding; an LP (2) vertex has only a few fractional points), without
solving an LP with 5 million variables first.

Each solver runs :func:`fairopt.fair.rounding.round_circulation` end to end (network, solve,
labels, cost check); "solve s" is the flow solver alone on the same network. networkx's network
simplex is pure Python: it runs in a child process stopped after ``--networkx-cap`` seconds.
Prints a table and writes ``benchmarks/results/rounding.json``.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

import numpy as np
import scipy.sparse as sp
from fairopt.models import circulation as circ

from fairopt.distances import sq_distances
from fairopt.fair.rounding import round_circulation
from fairopt.results import result_record, write_json
from fairopt.solvers.flow import min_cost_flow

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "rounding.json")


def synthetic_instance(n: int, k: int, d: int, m: int, seed: int):
    """Points, centres, groups and a phi splitting each point between its 2 nearest centres."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    C = X[rng.choice(n, k, replace=False)]
    g = rng.integers(0, m, n)
    D = sq_distances(X, C)
    two = np.argpartition(D, 2, axis=1)[:, :2]
    f = rng.uniform(size=n)
    phi = sp.csr_matrix((np.c_[f, 1.0 - f].ravel(), (np.repeat(np.arange(n), 2), two.ravel())), shape=(n, k))
    return X, C, g, phi


def _run(X, C, g, m, phi, method, arcs):
    t0 = time.perf_counter()
    net = circ.hub_network(phi, (X, C), g, m, arcs=arcs)
    t1 = time.perf_counter()
    min_cost_flow(net.tail, net.head, net.lower, net.upper, net.cost, np.zeros(net.n_nodes), net.n_nodes, solver=method)
    t2 = time.perf_counter()
    labels = round_circulation(X, C, phi, g, m, flow_solver=method, arcs=arcs)
    t3 = time.perf_counter()
    return {"solve_s": t2 - t1, "network_s": t1 - t0, "total_s": t3 - t2, "labels": labels, "n_arcs": net.n_arcs}


def _child(conn, args):
    conn.send(_run(*args))
    conn.close()


def _run_capped(args, cap: float):
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, args))
    proc.start()
    out = parent.recv() if parent.poll(cap) else None
    proc.join(timeout=1.0)
    if proc.is_alive():
        proc.terminate()
        proc.join()
    return out


def _quality(X, C, g, m, phi, labels):
    k = C.shape[0]
    diff = X - C[labels]
    cost = float(np.einsum("ij,ij->", diff, diff))
    W = np.asarray(phi.sum(axis=0)).ravel()
    W2 = np.bincount(labels, minlength=k)
    G = sp.csr_matrix((np.ones(len(g)), (np.arange(len(g)), g)), shape=(len(g), m))
    Wi = np.asarray((G.T @ phi).todense()).T
    Wi2 = np.zeros((k, m))
    np.add.at(Wi2, (labels, g), 1.0)
    return cost, float(max(np.abs(W2 - W).max(), np.abs(Wi2 - Wi).max()))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_rounding", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--d", type=int, default=5)
    p.add_argument("--groups", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--networkx-cap", type=float, default=300.0, help="seconds before networkx is stopped (0: skip it)")
    p.add_argument("--no-all-arcs", action="store_true", help="skip the OR-Tools run with every centre offered")
    p.add_argument("--out", default=RESULTS)
    args = p.parse_args(argv)

    X, C, g, phi = synthetic_instance(args.n, args.k, args.d, args.groups, args.seed)
    m = args.groups
    diff_cost = sq_distances(X, C)
    frac = float(phi.multiply(diff_cost).sum())
    plan = [("ortools", "support"), ("highs", "support"), ("networkx", "support")]
    if not args.no_all_arcs:
        plan.append(("ortools", "all"))
    rows = []
    for method, arcs in plan:
        name = method if arcs == "support" else f"{method} (all arcs)"
        if method == "networkx":
            out = _run_capped((X, C, g, m, phi, method, arcs), args.networkx_cap) if args.networkx_cap > 0 else None
        else:
            out = _run(X, C, g, m, phi, method, arcs)
        if out is None:
            rows.append({"solver": name, "arcs": arcs, "status": f"stopped after {args.networkx_cap:.0f} s"})
            print(f"{name}: stopped after {args.networkx_cap:.0f} s", flush=True)
            continue
        cost, shift = _quality(X, C, g, m, phi, out.pop("labels"))
        rows.append({"solver": name, "arcs": arcs, "status": "ok", **out, "cost": cost,
                     "cost_over_fractional": cost / frac, "max_mass_shift": shift})
        print(f"{name}: total {out['total_s']:.2f} s", flush=True)

    done = [r for r in rows if r["status"] == "ok"]
    fastest = min(r["total_s"] for r in done)
    ref_cost = done[0]["cost"]
    print(f"\ncirculation rounding, n = {args.n:,}, k = {args.k}, d = {args.d}, m = {m} groups, "
          f"synthetic phi (2 nearest centres), fractional cost {frac:.6g}")
    head = f"{'solver':<22}{'arcs':>10}{'network s':>11}{'solve s':>10}{'total s':>10}{'x fastest':>11}{'cost / frac':>13}{'cost vs ortools':>17}{'max |dW|':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['solver']:<22}{r['arcs']:>10}  {r['status']}")
            continue
        r["ratio_to_fastest"] = r["total_s"] / fastest
        r["cost_rel_diff"] = (r["cost"] - ref_cost) / ref_cost
        print(f"{r['solver']:<22}{r['n_arcs']:>10,}{r['network_s']:>11.2f}{r['solve_s']:>10.2f}{r['total_s']:>10.2f}"
              f"{r['ratio_to_fastest']:>11.1f}{r['cost_over_fractional']:>13.6f}{r['cost_rel_diff']:>17.1e}{r['max_mass_shift']:>10.3f}")

    record = result_record(
        "bench-rounding",
        inputs={"n": args.n, "k": args.k, "d": args.d, "groups": m, "phi": "synthetic: 2 nearest centres, uniform fraction"},
        parameters={"networkx_cap_s": args.networkx_cap},
        seeds=args.seed,
        metrics={"fractional_cost": frac, "rows": rows},
        seconds={r["solver"]: r.get("total_s") for r in rows},
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_json(record, args.out, overwrite=True)
    print(f"\nwrote {args.out}")
    return record


if __name__ == "__main__":
    main()

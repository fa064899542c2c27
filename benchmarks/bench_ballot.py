"""Balanced k-means fits: BalLOT vs E-BalLOT vs k-means-constrained (``python -m benchmarks ballot``).

Instance per cell and seed: an 8-D Gaussian mixture (k components with centres ~ N(0, 9 I),
unit-variance noise, n points), sizes n/k, one k-means++ start (fairopt's, greedy as
scikit-learn's) shared by every method, n_init = 1. Methods, each a full fit timed end to end:

* ``BalLOT``: ``BalancedKMeans(method="exact")`` with its default entropic warm start;
* ``paper``: the same with ``entropic_start=False`` (the paper's exact alternation from the start);
* ``E-BalLOT``: ``BalancedKMeans(method="sinkhorn")`` (entropic steps, then one exact rounding);
* ``kmc``: ``k_means_constrained.KMeansConstrained(size_min=size_max=n/k, init=start)``, in a
  child process stopped after ``--cap`` seconds.

Costs are the k-means cost of each method's labels at their centroids; the table shows means
over seeds of the times and of the cost ratios kmc/BalLOT and E-BalLOT/BalLOT, with the smallest
kmc/BalLOT over seeds. BLAS runs on ``--threads`` threads (default 1) for every method: on a
loaded shared machine OpenBLAS' spinning threads made a 100 x 100 solve take 77 ms instead
of under 1 ms.

``--device cuda`` runs the GPU check instead: 200 iterations of our log-Sinkhorn
(:func:`fairopt.balanced.sinkhorn.sinkhorn_scaled`, torch through the array API) against a
bare torch log-Sinkhorn loop written below, on n = 10^6 points, k = 100, d = 32, float32
(the target: within 1.5x of the bare loop). ``--device cpu`` runs the same check on the CPU
(use a smaller ``--gpu-n`` there). Writes ``benchmarks/results/ballot.json`` (fits) or
``ballot_device.json``.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time

import numpy as np

from fairopt.balanced.ballot import BalancedKMeans, balanced_sizes, centroids
from fairopt.kmeans import kmeans_plusplus
from fairopt.results import result_record, write_json

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "ballot.json")
DEVICE_RESULTS = os.path.join(HERE, "results", "ballot_device.json")
METHODS = ("BalLOT", "paper", "E-BalLOT", "kmc")


def mixture(n: int, k: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=3.0, size=(k, d))
    return means[rng.integers(k, size=n)] + rng.normal(size=(n, d))


def cost(X: np.ndarray, labels: np.ndarray, k: int) -> float:
    c = centroids(X, labels, k)
    return float(((X - c[labels]) ** 2).sum())


def _fit(name: str, X: np.ndarray, start: np.ndarray, k: int, seed: int) -> np.ndarray:
    if name == "kmc":
        from k_means_constrained import KMeansConstrained  # benchmark baseline

        s = balanced_sizes(X.shape[0], k)
        return KMeansConstrained(k, size_min=int(s.min()), size_max=int(s.max()), init=start, n_init=1,
                                 random_state=seed).fit(X).labels_
    kw = {"BalLOT": {}, "paper": {"entropic_start": False}, "E-BalLOT": {"method": "sinkhorn"}}[name]
    return BalancedKMeans(k, init=start, random_state=seed, **kw).fit(X).labels_


def _child(conn, name, X, start, k, seed, threads):
    from threadpoolctl import threadpool_limits

    try:
        with threadpool_limits(threads):
            t0 = time.perf_counter()
            labels = _fit(name, X, start, k, seed)
            conn.send((time.perf_counter() - t0, labels))
    except Exception as exc:  # reported in the table, not raised
        conn.send((None, f"{type(exc).__name__}: {exc}"))
    conn.close()


def run_capped(name, X, start, k, seed, threads, cap):
    """(seconds, labels), or (None, reason) when it failed or ran past ``cap`` seconds."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, name, X, start, k, seed, threads))
    proc.start()
    if recv.poll(cap):
        out = recv.recv()
        proc.join()
        return out
    proc.terminate()
    proc.join()
    return None, f"stopped at the {cap:.0f} s cap"


def cell(n: int, k: int, d: int, seed: int, methods, threads: int, cap: float) -> dict:
    X = mixture(n, k, d, seed)
    start = kmeans_plusplus(X, np.ones(n), k, np.random.default_rng(seed))
    row = {"n": n, "k": k, "d": d, "seed": seed}
    for name in methods:
        secs, labels = run_capped(name, X, start, k, seed, threads, cap)
        if secs is None:
            row[f"{name}_s"], row[f"{name}_note"] = None, labels
            continue
        row[f"{name}_s"] = secs
        row[f"{name}_cost"] = cost(X, labels, k)
        row[f"{name}_sizes_ok"] = bool(np.array_equal(np.bincount(labels, minlength=k), balanced_sizes(n, k)))
    return row


def merge_rows(old, new) -> list:
    """Rows of both, those with the same (n, k, seed) merged field by field (new wins)."""
    merged = {(r["n"], r["k"], r["seed"]): dict(r) for r in old}
    for r in new:
        merged.setdefault((r["n"], r["k"], r["seed"]), {}).update(r)
    return sorted(merged.values(), key=lambda r: (r["n"], r["k"], r["seed"]))


def summarise(rows) -> list:
    """Per (n, k): mean times, mean and smallest cost ratios over the seeds that finished."""
    out = []
    for n, k in dict.fromkeys((r["n"], r["k"]) for r in rows):
        rs = [r for r in rows if r["n"] == n and r["k"] == k]
        s = {"n": n, "k": k, "seeds": len(rs)}
        for m in METHODS:
            t = [r[f"{m}_s"] for r in rs if r.get(f"{m}_s") is not None]
            s[f"{m}_s"] = float(np.mean(t)) if t else None
            s[f"{m}_runs"] = len(t)
        for m in ("kmc", "E-BalLOT", "paper"):
            ratios = [r[f"{m}_cost"] / r["BalLOT_cost"] for r in rs if r.get(f"{m}_cost") and r.get("BalLOT_cost")]
            s[f"cost_{m}_over_BalLOT"] = float(np.mean(ratios)) if ratios else None
            s[f"min_cost_{m}_over_BalLOT"] = float(np.min(ratios)) if ratios else None
        out.append(s)
    return out


def _f(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def print_table(summary) -> None:
    print(f"{'n':>7}{'k':>5}{'seeds':>6}{'BalLOT s':>10}{'paper s':>9}{'E-BalLOT s':>11}{'kmc s':>12}"
          f"{'E/BalLOT t':>11}{'cost kmc/BalLOT':>16}{'(min)':>8}{'cost E/BalLOT':>14}{'cost paper/BalLOT':>18}")
    for s in summary:
        tr = None if not (s["E-BalLOT_s"] and s["BalLOT_s"]) else s["E-BalLOT_s"] / s["BalLOT_s"]
        kmc = _f(s["kmc_s"]) + ("" if s["kmc_runs"] in (0, s["seeds"]) else f"({s['kmc_runs']})")
        print(f"{s['n']:>7}{s['k']:>5}{s['seeds']:>6}{_f(s['BalLOT_s']):>10}{_f(s['paper_s']):>9}{_f(s['E-BalLOT_s']):>11}"
              f"{kmc:>12}{_f(tr):>11}{_f(s['cost_kmc_over_BalLOT'], '.4f'):>16}{_f(s['min_cost_kmc_over_BalLOT'], '.4f'):>8}"
              f"{_f(s['cost_E-BalLOT_over_BalLOT'], '.5f'):>14}{_f(s['cost_paper_over_BalLOT'], '.5f'):>18}")


# ----------------------------------------------------------------------------- device check
def bare_torch_sinkhorn(D, a, b, eps: float, iters: int):
    """The reference: textbook log-domain Sinkhorn in torch, two log-sum-exps per iteration."""
    import torch  # optional: the device check only

    log_a, log_b = torch.log(a), torch.log(b)
    g = torch.zeros_like(b)
    for _ in range(iters):
        f = eps * (log_a - torch.logsumexp((g[None, :] - D) / eps, dim=1))
        g = eps * (log_b - torch.logsumexp((f[:, None] - D) / eps, dim=0))
    return f, g


def device_check(device: str, n: int, k: int, d: int, iters: int, seed: int) -> dict:
    import array_api_compat
    import torch  # optional: the device check only

    from fairopt.balanced.sinkhorn import sinkhorn_scaled

    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    gen = torch.Generator(device=device).manual_seed(seed)
    means = 3.0 * torch.randn(k, d, device=device, generator=gen)
    X = means[torch.randint(k, (n,), device=device, generator=gen)] + torch.randn(n, d, device=device, generator=gen)
    C = X[torch.randperm(n, device=device, generator=gen)[:k]]
    D = torch.cdist(X, C) ** 2  # (n, k) float32
    eps = 1e-2 * float(((X - X.mean(0)) ** 2).sum(1).mean())
    a = torch.ones(n, device=device)
    b = torch.full((k,), n / k, device=device)
    xp = array_api_compat.array_namespace(D)
    row = {"device": device, "n": n, "k": k, "d": d, "iters": iters, "dtype": "float32"}
    bare_f, bare_g = bare_torch_sinkhorn(D, a, b, eps, 3)  # warm-up (kernels, allocator)
    sync()
    t0 = time.perf_counter()
    bare_f, bare_g = bare_torch_sinkhorn(D, a, b, eps, iters)
    sync()
    row["bare_s"] = time.perf_counter() - t0
    S = -D.T.contiguous() / eps  # our layout: (k, n) scaled costs, built once per E-BalLOT step
    sinkhorn_scaled(xp, S, a, b, torch.zeros(k, device=device), 0.0, 3)
    sync()
    t0 = time.perf_counter()
    S = -D.T.contiguous() / eps
    # iters + 1 row passes make iters updates of g, as the bare loop's iters iterations.
    gs, state, it, err = sinkhorn_scaled(xp, S, a, b, torch.zeros(k, device=device), 0.0, iters + 1)
    sync()
    row["ours_s"] = time.perf_counter() - t0
    row["ours_iters"] = it
    g = gs * eps
    # Same iteration, so the same potentials up to a constant (and float32 rounding).
    row["max_g_diff_over_eps"] = float(((g - g.mean()) - (bare_g - bare_g.mean())).abs().max() / eps)
    row["ratio_ours_over_bare"] = row["ours_s"] / row["bare_s"]
    row["peak_memory_gb"] = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    return row


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks ballot", description=__doc__.splitlines()[0])
    p.add_argument("--n", default="10000,100000", help="comma-separated numbers of points")
    p.add_argument("--k", default="10,100", help="comma-separated numbers of clusters")
    p.add_argument("--d", type=int, default=8)
    p.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    p.add_argument("--methods", default=",".join(METHODS), help=f"subset of {METHODS}")
    p.add_argument("--cap", type=float, default=300.0, help="seconds allowed to one fit")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads for every method")
    p.add_argument("--device", default=None, help="cuda or cpu: the Sinkhorn device check instead of the fits")
    p.add_argument("--gpu-n", type=int, default=10**6)
    p.add_argument("--gpu-k", type=int, default=100)
    p.add_argument("--gpu-d", type=int, default=32)
    p.add_argument("--gpu-iters", type=int, default=200)
    p.add_argument("--out", default=None, help="JSON file to write")
    p.add_argument("--append", action="store_true",
                   help="merge into the rows already in --out (same n, k, seed: fields updated), e.g. one cell per command")
    args = p.parse_args(argv)
    if args.device:
        row = device_check(args.device, args.gpu_n, args.gpu_k, args.gpu_d, args.gpu_iters, 0)
        print(f"{'device':>8}{'n':>9}{'k':>5}{'d':>4}{'iters':>7}{'bare s':>9}{'ours s':>9}{'ours/bare':>11}{'|dg|/eps':>10}")
        print(f"{row['device']:>8}{row['n']:>9}{row['k']:>5}{row['d']:>4}{row['iters']:>7}{row['bare_s']:>9.3f}"
              f"{row['ours_s']:>9.3f}{row['ratio_ours_over_bare']:>11.2f}{row['max_g_diff_over_eps']:>10.1e}")
        record = result_record("bench-ballot-device", inputs={"data": "Gaussian mixture", "n": args.gpu_n, "d": args.gpu_d},
                               parameters={"k": args.gpu_k, "iters": args.gpu_iters}, seeds={"seed": 0}, metrics=row)
        write_json(record, args.out or DEVICE_RESULTS, overwrite=True)
        return record
    methods = [m for m in args.methods.split(",") if m]
    seeds = [int(s) for s in args.seeds.split(",")]
    X = mixture(3000, 5, args.d, 0)
    for m in methods:  # warm-up in this process, so the forked fits start with every import done
        _fit(m, X, X[:5].copy(), 5, 0)
    rows = []
    for n in (int(float(v)) for v in args.n.split(",")):
        for k in (int(v) for v in args.k.split(",")):
            for seed in seeds:
                rows.append(cell(n, k, args.d, seed, methods, args.threads, args.cap))
                r = rows[-1]
                print(f"  n={n} k={k} seed={seed}: " + ", ".join(f"{m} {_f(r.get(f'{m}_s'))} s" for m in methods), flush=True)
    out = args.out or RESULTS
    if args.append and os.path.exists(out):
        rows = merge_rows(json.load(open(out, encoding="utf-8"))["metrics"]["rows"], rows)
    summary = summarise(rows)
    print_table(summary)
    for r in rows:
        for m in methods:
            if r.get(f"{m}_note"):
                print(f"  n={r['n']} k={r['k']} seed={r['seed']} {m}: {r[f'{m}_note']}")
    record = result_record("bench-ballot", inputs={"data": f"{args.d}-D Gaussian mixture, k components"},
                           parameters={"cells": sorted({(r["n"], r["k"]) for r in rows}), "d": args.d, "cap_s": args.cap,
                                       "threads": args.threads, "cpus": os.cpu_count(), "machine": "shared"},
                           seeds={"seeds": sorted({r["seed"] for r in rows})}, metrics={"summary": summary, "rows": rows})
    write_json(record, out, overwrite=True)
    print(f"wrote {os.path.relpath(out)}")
    return record


if __name__ == "__main__":
    main()

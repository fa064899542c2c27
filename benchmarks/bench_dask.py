"""FairKMeans on Dask arrays out of core: 10^7 points generated chunk-wise on a 2-worker LocalCluster.

    python -m benchmarks dask [--n 10000000] [--chunk 250000] [--k 10] [--compare | --no-compare]

The data (10-D, 3 groups, 10 separated blobs with their own group mix, as ``make_fair_blobs`` in
``python -m benchmarks scale``) are generated chunk by chunk on the
workers of ``LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="2GB")`` from a seed and
the chunk's first row, so no process ever holds all of X and every pass regenerates the chunks.
Reported: seconds per stage (validation pass, coreset, relax LP, merge, screened LP (2), rounding,
summary pass, a labels pass), peak worker memory and spilled bytes polled from the scheduler's
worker metrics, the client's peak RSS; with ``--compare`` (default up to 10^6 points) the same data
in memory through ``FairKMeans.fit`` with the same seed, and the ratio of fractional costs (issue
12: within 1%). Results: ``benchmarks/results/dask.json`` (``--out`` to change the stem).
"""
from __future__ import annotations

import argparse
import platform
import resource
import sys
import threading
import time

import numpy as np

from benchmarks.common import write_result
from fairopt.datasets import _separated_centres

D, GROUPS, BLOBS, SEED, IMBALANCE, SEPARATION = 10, 3, 10, 0, 0.3, 8.0
MEMORY_LIMIT = "2GB"


def _centres(seed: int = SEED) -> np.ndarray:
    return _separated_centres(BLOBS, D, SEPARATION, np.random.default_rng(seed))


def make_chunk(offset: int, rows: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Rows [offset, offset + rows) of the data: X (rows, D) and the group labels (rows,).

    The distribution of :func:`fairopt.datasets.make_fair_blobs` (``bench_scale``'s synthetic
    data: 10 separated blobs, group ``j mod 3`` dominant in blob j with imbalance 0.3), drawn
    chunk by chunk from (seed, first row) so that any chunk can be regenerated anywhere.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, offset]))
    blob = rng.integers(0, BLOBS, size=rows)
    X = _centres(seed)[blob] + rng.normal(size=(rows, D))
    p_main = 1.0 / GROUPS + IMBALANCE * (1.0 - 1.0 / GROUPS)
    probs = np.full((BLOBS, GROUPS), (1.0 - p_main) / (GROUPS - 1))
    probs[np.arange(BLOBS), np.arange(BLOBS) % GROUPS] = p_main
    groups = np.minimum((rng.random(rows)[:, None] > np.cumsum(probs, axis=1)[blob]).sum(axis=1), GROUPS - 1)
    return X, groups.astype(np.int64)


def dask_data(n: int, chunk: int):
    """X (n, D) and groups (n,) as dask arrays; one generator task per chunk feeds both (a pass over
    the data draws every chunk once)."""
    import dask
    import dask.array as da

    starts = range(0, n, chunk)
    rows = [min(chunk, n - a) for a in starts]
    parts = [dask.delayed(make_chunk, pure=True)(a, r) for a, r in zip(starts, rows)]
    X = da.concatenate([da.from_delayed(p[0], shape=(r, D), dtype=np.float64) for p, r in zip(parts, rows)])
    G = da.concatenate([da.from_delayed(p[1], shape=(r,), dtype=np.int64) for p, r in zip(parts, rows)])
    return X, G


class MemoryPoll:
    """Peak memory and spilled bytes of every worker, polled from the scheduler's metrics."""

    def __init__(self, client, every: float = 0.25):
        self.client, self.every, self.peak, self.spilled = client, every, {}, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                for addr, info in self.client.scheduler_info(n_workers=-1)["workers"].items():
                    m = info.get("metrics", {})
                    name = str(info.get("name", addr))
                    self.peak[name] = max(self.peak.get(name, 0), int(m.get("memory", 0)))
                    spilled = m.get("spilled_bytes", {})
                    self.spilled = max(self.spilled, int(spilled.get("disk", 0)) if isinstance(spilled, dict) else 0)
            except Exception:  # the scheduler may be busy or closing; the next poll tries again
                pass
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_dask(n: int, chunk: int, k: int) -> dict:
    import cloudpickle
    import dask.array as da
    from distributed import Client, LocalCluster

    from fairopt.fair.fair_kmeans import FairKMeans

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers need make_chunk
    out = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=MEMORY_LIMIT, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        X, G = dask_data(n, chunk)
        with MemoryPoll(client) as poll:
            t = time.perf_counter()
            fk = FairKMeans(k, delta=0.1, random_state=0).fit(X, G)
            fit = time.perf_counter() - t
            t = time.perf_counter()
            sizes = da.bincount(fk.labels_, minlength=k).compute()
            labels_pass = time.perf_counter() - t
        stages = {key: v for key, v in fk.seconds_.items() if key != "total"}
        stages["validation_and_overhead"] = fit - sum(stages.values())
        stages["labels_pass"] = labels_pass
        out.update(seconds_fit=fit, stages=stages, fractional_cost=fk.fractional_cost_, cost=fk.cost_,
                   violation=fk.violation_, n_coreset=fk.n_coreset_, cluster_sizes=sizes.tolist(),
                   n_free=fk.result_.info.get("n_free"), screening=_screening_summary(fk.result_.info),
                   peak_worker_memory_mb={w: round(b / 2**20, 1) for w, b in sorted(poll.peak.items())},
                   spilled_to_disk_mb=round(poll.spilled / 2**20, 1))
    out["client_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def _screening_summary(info: dict) -> dict:
    """Passes over the data, rounds and seconds per phase of the screened LP (2)."""
    si = info.get("screening_info") or info.get("assign_info") or {}
    start = si.get("start", {})
    return {"passes": si.get("passes"), "rounds": si.get("rounds"), "free": si.get("free"),
            "newton_passes_all_points": start.get("full_evaluations"),
            "newton_levels": [list(level) for level in start.get("levels", [])],
            "seconds": {key: round(float(v), 2) for key, v in si.get("seconds", {}).items()}}


def run_memory(n: int, chunk: int, k: int) -> dict:
    from fairopt.fair.fair_kmeans import FairKMeans

    parts = [make_chunk(a, min(chunk, n - a)) for a in range(0, n, chunk)]
    X, G = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    t = time.perf_counter()
    fk = FairKMeans(k, delta=0.1, random_state=0).fit(X, G)
    return {"seconds_fit": time.perf_counter() - t, "stages": fk.seconds_, "fractional_cost": fk.fractional_cost_,
            "cost": fk.cost_, "violation": fk.violation_, "screening": _screening_summary(fk.result_.info)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks dask", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000_000, help="points (default 10^7)")
    p.add_argument("--chunk", type=int, default=250_000, help="rows per chunk (default 250,000: 20 MB of X)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--compare", action=argparse.BooleanOptionalAction, default=None,
                   help="also fit the same data in memory (default: when n <= 10^6)")
    p.add_argument("--out", default="dask", help="results/<OUT>.json")
    args = p.parse_args(argv)
    compare = args.n <= 1_000_000 if args.compare is None else args.compare
    record = {"benchmark": "dask", "n": args.n, "d": D, "groups": GROUPS, "k": args.k, "delta": 0.1,
              "chunk_rows": args.chunk, "n_chunks": -(-args.n // args.chunk),
              "cluster": {"n_workers": 2, "threads_per_worker": 1, "memory_limit": MEMORY_LIMIT},
              "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()}}
    record["dask"] = run_dask(args.n, args.chunk, args.k)
    if compare:
        record["memory"] = run_memory(args.n, args.chunk, args.k)
        record["fractional_cost_ratio"] = record["dask"]["fractional_cost"] / record["memory"]["fractional_cost"]
    r = record["dask"]
    print(f"FairKMeans on dask: n={args.n} d={D} k={args.k} chunks={record['n_chunks']} of {args.chunk} rows")
    print(f"{'stage':<26}{'seconds':>10}")
    for name, sec in r["stages"].items():
        print(f"{name:<26}{sec:>10.2f}")
    print(f"{'fit total':<26}{r['seconds_fit']:>10.2f}")
    print(f"peak worker memory (MB): {r['peak_worker_memory_mb']} (limit {MEMORY_LIMIT} each), spilled to disk "
          f"{r['spilled_to_disk_mb']} MB; client peak RSS {r['client_peak_rss_mb']} MB")
    print(f"fractional cost {r['fractional_cost']:.6g}, cost {r['cost']:.6g}, violation {r['violation']:.3g}, "
          f"free points in the screened master: {r['n_free']}")
    sc = r["screening"]
    print(f"screened LP (2): {sc['passes']} passes over the data ({sc['newton_passes_all_points']} of them Newton "
          f"steps on the start potentials), {sc['rounds']} master round(s); seconds {sc['seconds']}")
    if compare:
        m = record["memory"]
        print(f"in memory: {m['seconds_fit']:.1f} s, fractional cost {m['fractional_cost']:.6g}; "
              f"dask / memory = {record['fractional_cost_ratio']:.5f}")
    path = write_result(args.out, record)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fair k-means at full size: Relax and Merge (coreset relax, exact final LP (2)) beside NIPS19.

    python -m benchmarks scale [--sets real,synthetic,quality] [--ns 10000,100000,1000000] [--time-cap 600]

``real``: the full adult (race; race + sex), creditcard (MARRIAGE), cluto, complex and bank sets at
k = 10, delta = 0.1: end-to-end seconds, peak RSS, fractional cost against NIPS19 on the same data.
``synthetic``: fair blobs (10-D, 3 groups) at growing n: seconds and peak RSS per stage.
``quality``: fractional and rounded cost against NIPS19 for k in {4, 10, 20} on the full real sets.
Every run is a child process (peak RSS per run, and a wall-clock cap). Results go to
``benchmarks/results/scale.json``; numbers from a shared 2-core machine are noisy, the ratios
(measured in the same child) less so.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

DATA_HOME = os.environ.get("FAIROPT_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets"))
REAL = [("adult", ["race"]), ("adult", ["race", "sex"]), ("creditcard", ["MARRIAGE"]), ("cluto", None),
        ("complex", None), ("bank", ["marital"])]

CHILD = r"""
import json, resource, sys, time
import numpy as np
import fairopt
from fairopt.baselines import nips19
spec = json.loads(sys.argv[1])
if spec["data"] == "synthetic":
    from fairopt.datasets import make_fair_blobs
    X, G = make_fair_blobs(n=spec["n"], k=10, n_groups=3, d=10, group_imbalance=spec.get("imbalance", 0.3),
                           random_state=0)
else:
    X, G = fairopt.datasets.load(spec["data"], data_home=spec["data_home"], attributes=spec["attributes"])
out = {"n": int(X.shape[0])}
t = time.perf_counter()
fk = fairopt.FairKMeans(n_clusters=spec["k"], delta=0.1, random_state=0).fit(X, G)
out["rm"] = dict(seconds=time.perf_counter() - t, stages=fk.seconds_, fractional_cost=fk.fractional_cost_,
                 cost=fk.cost_, violation=fk.violation_, n_coreset=fk.n_coreset_, n_candidates=fk.n_candidates_,
                 split_points=int((np.diff(fk.assignment_.tocsr().indptr) > 1).sum()))
out["rss_mb_rm"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out), flush=True)
if spec.get("baseline", True):
    t = time.perf_counter()
    b = nips19(X, G, spec["k"], delta=0.1, random_state=0)
    out["nips19"] = dict(seconds=time.perf_counter() - t, stages=b.seconds, fractional_cost=b.fractional_cost,
                         cost=b.cost, violation=b.violation)
    out["ratio"] = fk.fractional_cost_ / b.fractional_cost
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out), flush=True)
"""


def _run(spec: dict, cap: float) -> dict:
    """One run in a child process; the last JSON line it printed (partial when the cap stopped it)."""
    t = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True,
                              timeout=cap)
        lines, status = proc.stdout.strip().splitlines(), "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        err = proc.stderr[-500:] if proc.returncode else ""
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        lines, status, err = out.strip().splitlines(), f"stopped at the {cap:.0f} s cap", ""
    rec = json.loads(lines[-1]) if lines else {}
    rec.update(status=status, wall=time.perf_counter() - t, date=time.strftime("%Y-%m-%d"))
    if err:
        rec["stderr"] = err
    return rec


def _row(label, rec):
    rm, nb = rec.get("rm", {}), rec.get("nips19", {})
    ratio = rec.get("ratio")
    print(f"{label:<28}{rec.get('n', 0):>9}{rm.get('seconds', float('nan')):>9.1f}{rec.get('rss_mb', rec.get('rss_mb_rm', 0)):>9.0f}"
          f"{nb.get('seconds', float('nan')):>9.1f}{ratio if ratio else float('nan'):>8.3f}{rm.get('violation', float('nan')):>7.2f}"
          f"  {rec['status']}", flush=True)


HEADER = f"{'run':<28}{'n':>9}{'RM s':>9}{'RSS MB':>9}{'N19 s':>9}{'ratio':>8}{'viol':>7}"


def _key(rec: dict) -> tuple:
    return (rec.get("dataset"), tuple(rec.get("attributes") or ()), rec.get("k"), rec.get("n"))


def _write(record: dict, sets: list, t0: float) -> str:
    """Write results/scale.json whole (after every run, so a stopped run keeps what it measured)."""
    record = dict(record, seconds=time.perf_counter() - t0)
    out = os.path.join(os.path.dirname(__file__), "results")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "scale.json")
    if os.path.exists(path):
        # Runs not repeated this time keep their previous numbers (each run says when it was measured).
        with open(path) as fh:
            old = json.load(fh)
        for name in ("real", "synthetic", "quality"):
            done = {_key(rec) for rec in record[name]}
            kept = [rec for rec in old.get(name, []) if _key(rec) not in done]
            if kept:
                record[name] = kept + record[name]
                record.setdefault("kept_from_previous_run", []).append(f"{name}: {len(kept)} runs")
    with open(path + ".tmp", "w") as fh:
        json.dump(record, fh, indent=1)
    os.replace(path + ".tmp", path)
    return path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks scale", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", default="real,synthetic,quality")
    p.add_argument("--ns", default="10000,100000,1000000")
    p.add_argument("--ks", default="4,10,20", help="k of the quality runs")
    p.add_argument("--time-cap", type=float, default=600.0, help="seconds per run")
    args = p.parse_args(argv)
    sets = args.sets.split(",")
    t0 = time.perf_counter()
    record = dict(benchmark="scale", machine=dict(cores=os.cpu_count(), platform=platform.platform(),
                                                  note="shared machine: other jobs ran at the same time"),
                  parameters=vars(args), date=time.strftime("%Y-%m-%d"), real=[], synthetic=[], quality=[])
    print(HEADER)
    if "real" in sets:
        for name, attrs in REAL:
            spec = dict(data=name, attributes=attrs, data_home=DATA_HOME, k=10)
            rec = _run(spec, args.time_cap)
            rec.update(dataset=name, attributes=attrs, k=10)
            record["real"].append(rec)
            _write(record, sets, t0)
            _row(f"{name} {'+'.join(attrs or ['color'])}", rec)
    if "synthetic" in sets:
        for n in [int(v) for v in args.ns.split(",")]:
            rec = _run(dict(data="synthetic", n=n, k=10), args.time_cap)
            rec.update(dataset="fair_blobs_10d_3groups", k=10)
            record["synthetic"].append(rec)
            _write(record, sets, t0)
            _row("synthetic 10-D 3 groups", rec)
    if "quality" in sets:
        for k in [int(v) for v in args.ks.split(",")]:
            for name, attrs in REAL:
                if k == 10 and "real" in sets:
                    continue  # measured above
                rec = _run(dict(data=name, attributes=attrs, data_home=DATA_HOME, k=k), args.time_cap)
                rec.update(dataset=name, attributes=attrs, k=k)
                record["quality"].append(rec)
                _write(record, sets, t0)
                _row(f"k={k} {name} {'+'.join(attrs or ['color'])}", rec)
    path = _write(record, sets, t0)
    print(f"wrote {os.path.relpath(path)}")


if __name__ == "__main__":
    main()

"""Fair k-median (and k-center) by Relax and Merge against the NIPS19 route on the papers' datasets.

    python -m benchmarks kmedian [--mode kmedian|kcenter|both] [--max-points 1000] [--datasets a,b]
                                 [--ks 4,6,10] [--deltas 0,0.1] [--candidates kdtree] [--n-candidates 200]

``kmedian``: for every (dataset, k, delta) with one group attribute (disjoint groups), the
fractional cost (LP (2) with distance costs) of :class:`fairopt.FairKMedian` (Relax and Merge:
an extension beyond the paper) and of ``nips19(objective="kmedian")`` (vanilla k-median local
search centres, then LP (2)), their rounded costs and violations.
``kcenter``: the threshold LP's tau and the rounded radius of :class:`fairopt.FairKCenter`
against ``nips19(objective="kcenter")`` (Gonzalez centres, then the threshold LP).
The candidate set is bounded (``kdtree`` sampling, |S| = 200 by default) so that the k-median
grid runs in a few minutes on a shared 2-core machine: the relaxed LP (2) with distance costs
is the slow stage, and its column generation needs about 2.5 times the k-means time at
|S| = 400 (the paper's Table 3 size; ``--n-candidates 400`` reproduces it, about 13 minutes
there). Results go to ``benchmarks/results/kmedian_<mode>.json`` (``_s<|S|>`` added when |S|
is not the default).
"""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import time

import numpy as np

from benchmarks.common import SINGLE, load, write_result

ESTIMATOR = {"kmedian": "FairKMedian", "kcenter": "FairKCenter"}
DEFAULT_CANDIDATES = 200




def run_grid(objective: str, args) -> dict:
    import fairopt
    from fairopt.baselines import nips19

    rows = []
    names = args.datasets.split(",") if args.datasets else list(SINGLE)
    ks = [int(k) for k in args.ks.split(",")]
    deltas = [float(d) for d in args.deltas.split(",")]
    print(f"\n{objective}: Relax and Merge (RM) against NIPS19, n = {args.max_points}, "
          f"candidates {args.candidates} |S| = {args.n_candidates}")
    print(f"{'dataset':<17}{'k':>3}{'delta':>6}{'RM frac':>12}{'N19 frac':>12}{'ratio':>7}{'RM cost':>12}"
          f"{'N19 cost':>12}{'RM viol':>8}{'N19 viol':>9}{'RM s':>7}{'N19 s':>7}")
    Est = getattr(fairopt, ESTIMATOR[objective])
    for name in names:
        X, G = load(name, args.max_points)
        for k, delta in itertools.product(ks, deltas):
            t = time.perf_counter()
            est = Est(n_clusters=k, delta=delta, candidates=args.candidates, n_candidates=args.n_candidates,
                      random_state=0).fit(X, G)
            rm_s = time.perf_counter() - t
            t = time.perf_counter()
            base = nips19(X, G, k, delta=delta, objective=objective, random_state=0)
            n19_s = time.perf_counter() - t
            row = dict(dataset=name, n=int(X.shape[0]), k=k, delta=delta,
                       rm_fractional=est.fractional_cost_, rm_cost=est.cost_, rm_violation=est.violation_,
                       rm_relaxed=est.relaxed_cost_, rm_seconds=rm_s,
                       nips19_fractional=base.fractional_cost, nips19_cost=base.cost,
                       nips19_violation=base.violation, nips19_seconds=n19_s,
                       ratio=est.fractional_cost_ / base.fractional_cost,
                       cost_ratio=est.cost_ / base.cost if base.cost > 0 else float("nan"))
            rows.append(row)
            print(f"{name:<17}{k:>3}{delta:>6.1f}{row['rm_fractional']:>12.5g}{row['nips19_fractional']:>12.5g}"
                  f"{row['ratio']:>7.3f}{row['rm_cost']:>12.5g}{row['nips19_cost']:>12.5g}{row['rm_violation']:>8.2f}"
                  f"{row['nips19_violation']:>9.2f}{rm_s:>7.1f}{n19_s:>7.1f}", flush=True)
    ratios = np.array([r["ratio"] for r in rows])
    summary = dict(cells=len(rows), rm_better=int((ratios < 1 - 1e-9).sum()), ties=int((np.abs(ratios - 1) <= 1e-9).sum()),
                   mean_ratio=float(ratios.mean()), median_ratio=float(np.median(ratios)),
                   min_ratio=float(ratios.min()), max_ratio=float(ratios.max()),
                   max_violation=float(max(max(r["rm_violation"], r["nips19_violation"]) for r in rows)))
    print(f"Relax and Merge lower in {summary['rm_better']}/{summary['cells']} cells (ties {summary['ties']}); "
          f"fractional cost ratio RM/NIPS19 mean {summary['mean_ratio']:.3f}, median {summary['median_ratio']:.3f}, "
          f"range [{summary['min_ratio']:.3f}, {summary['max_ratio']:.3f}]; largest violation "
          f"{summary['max_violation']:.2f}")
    return dict(rows=rows, summary=summary)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks kmedian", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", default="kmedian", choices=("kmedian", "kcenter", "both"))
    p.add_argument("--max-points", type=int, default=1000)
    p.add_argument("--datasets")
    p.add_argument("--ks", default="4,6,10")
    p.add_argument("--deltas", default="0,0.1")
    p.add_argument("--candidates", default="kdtree", help="candidate set (the paper's Table 3 uses |S| = 400)")
    p.add_argument("--n-candidates", type=int, default=DEFAULT_CANDIDATES)
    args = p.parse_args(argv)
    for mode in (("kmedian", "kcenter") if args.mode == "both" else (args.mode,)):
        t0 = time.perf_counter()
        body = run_grid(mode, args)
        record = dict(benchmark=f"kmedian_{mode}", note="timings taken on a shared machine (noisy)",
                      machine=dict(cores=os.cpu_count(), platform=platform.platform()),
                      parameters={**vars(args), "mode": mode}, seconds=time.perf_counter() - t0, **body)
        suffix = "" if args.n_candidates == DEFAULT_CANDIDATES else f"_s{args.n_candidates}"
        print(f"wrote {write_result('kmedian_' + mode + suffix, record)}")


if __name__ == "__main__":
    main()

"""Relax and Merge against the NIPS19 baseline on the papers' datasets, and its wall time.

    python -m benchmarks.bench_relax_merge grid     [--max-points 1000] [--datasets a,b] [--ks 4,6,10] [--deltas 0,0.1,0.2]
    python -m benchmarks.bench_relax_merge timing   [--max-points 1000]
    python -m benchmarks.bench_relax_merge sampling [--max-points 1000]
    python -m benchmarks.bench_relax_merge defaults [--max-points 1000] [--resume]

``grid``: fractional cost of Relax and Merge / NIPS19 for every (dataset, k, delta) with a
single group attribute (disjoint groups), plus the rounded cost and the violation of both.
``timing``: Relax and Merge wall time per stage at n = 1000 with the full candidate set, next
to the times of the paper's Table 4 (Gurobi, sampled candidate sets).
``sampling``: the cost with 100% of the candidate set against 10%, 20% and 50% samples.
``defaults``: the fractional cost of today's default (600 candidates: 400 kd-tree samples + 200
k-means++ seeds) against the former one (``candidates="kdtree+points"``, all n data points plus n
kd-tree samples) on the whole grid; the JSON is rewritten after every cell and ``--resume`` skips
the cells it already holds (the former default takes up to ~90 s a cell).
Results go to ``benchmarks/results/relax_merge_<mode>.json``.
"""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import time

import numpy as np

from benchmarks.common import SINGLE, load, write_result

# The paper's Table 4 (seconds, n = 1000, Gurobi); census is not among the shared datasets.
PAPER_SECONDS = {"bank": 42, "adult": 69, "creditcard": 83, "census": 80, "cluto": 202, "complex": 52}
EQUAL_GROUPS = {"moons", "hypercube", "balanced_complex", "balanced_cluto"}




def run_grid(args) -> dict:
    import fairopt
    from fairopt.baselines import nips19

    rows = []
    names = args.datasets.split(",") if args.datasets else list(SINGLE)
    ks = [int(k) for k in args.ks.split(",")]
    deltas = [float(d) for d in args.deltas.split(",")]
    print(f"{'dataset':<17}{'k':>3}{'delta':>6}{'RM frac':>13}{'NIPS19 frac':>13}{'ratio':>7}"
          f"{'RM viol':>8}{'N19 viol':>9}{'RM s':>7}")
    for name in names:
        X, G = load(name, args.max_points)
        for k, delta in itertools.product(ks, deltas):
            t = time.perf_counter()
            fk = fairopt.FairKMeans(n_clusters=k, delta=delta, candidates=args.candidates,
                                    n_candidates=args.n_candidates, random_state=0).fit(X, G)
            rm_s = time.perf_counter() - t
            base = nips19(X, G, k, delta=delta, random_state=0)
            row = dict(dataset=name, n=int(X.shape[0]), k=k, delta=delta,
                       rm_fractional=fk.fractional_cost_, rm_cost=fk.cost_, rm_violation=fk.violation_,
                       rm_relaxed=fk.relaxed_cost_, rm_seconds=rm_s,
                       nips19_fractional=base.fractional_cost, nips19_cost=base.cost,
                       nips19_violation=base.violation, ratio=fk.fractional_cost_ / base.fractional_cost)
            rows.append(row)
            print(f"{name:<17}{k:>3}{delta:>6.1f}{row['rm_fractional']:>13.5g}{row['nips19_fractional']:>13.5g}"
                  f"{row['ratio']:>7.3f}{row['rm_violation']:>8.2f}{row['nips19_violation']:>9.2f}{rm_s:>7.1f}", flush=True)
    ratios = np.array([r["ratio"] for r in rows])
    eq = np.array([r["ratio"] for r in rows if r["dataset"] in EQUAL_GROUPS and r["delta"] == 0.0])
    summary = dict(cells=len(rows), rm_better=int((ratios < 1).sum()), mean_ratio=float(ratios.mean()),
                   median_ratio=float(np.median(ratios)),
                   equal_groups_delta0_mean_ratio=float(eq.mean()) if eq.size else None)
    print(f"\nRelax and Merge lower in {summary['rm_better']}/{summary['cells']} cells; mean ratio "
          f"{summary['mean_ratio']:.3f}, median {summary['median_ratio']:.3f}; equal-group sets at delta=0: "
          f"{summary['equal_groups_delta0_mean_ratio']}")
    return dict(rows=rows, summary=summary)


def run_timing(args) -> dict:
    import fairopt

    rows = []
    print(f"{'dataset':<14}{'n':>6}{'|S|':>6}{'total s':>9}{'relax s':>9}{'paper s':>9}{'ratio':>7}  stages")
    for name in ("bank", "adult", "creditcard", "cluto", "complex"):
        X, G = load(name, args.max_points)
        t = time.perf_counter()
        fk = fairopt.FairKMeans(n_clusters=10, delta=0.1, random_state=0).fit(X, G)
        wall = time.perf_counter() - t
        paper = PAPER_SECONDS.get(name)
        rows.append(dict(dataset=name, n=int(X.shape[0]), n_candidates=fk.n_candidates_, wall=wall,
                         stages=fk.seconds_, paper_seconds=paper, speedup_vs_paper=paper / wall if paper else None))
        stages = " ".join(f"{k}={v:.2f}" for k, v in fk.seconds_.items() if k != "total")
        print(f"{name:<14}{X.shape[0]:>6}{fk.n_candidates_:>6}{wall:>9.2f}{fk.seconds_['relax_lp']:>9.2f}"
              f"{paper:>9}{paper / wall:>7.1f}  {stages}", flush=True)
    return dict(rows=rows)


def run_sampling(args) -> dict:
    import fairopt

    rows = []
    print(f"{'dataset':<17}{'ratio of S':>11}{'|S|':>6}{'frac cost':>13}{'vs 100%':>9}{'seconds':>9}")
    for name in ("bank", "adult", "creditcard", "complex", "balanced_cluto"):
        X, G = load(name, args.max_points)
        full = None
        for ratio in (1.0, 0.5, 0.2, 0.1):
            costs, secs, sizes = [], [], []
            for seed in range(3):
                t = time.perf_counter()
                fk = fairopt.FairKMeans(n_clusters=10, delta=0.1, candidate_ratio=ratio, random_state=seed).fit(X, G)
                secs.append(time.perf_counter() - t)
                costs.append(fk.fractional_cost_)
                sizes.append(fk.n_candidates_)
            cost = float(np.mean(costs))
            full = cost if ratio == 1.0 else full
            rows.append(dict(dataset=name, ratio=ratio, n_candidates=int(np.mean(sizes)), fractional_cost=cost,
                             relative_to_full=cost / full, seconds=float(np.mean(secs))))
            print(f"{name:<17}{ratio:>11.0%}{int(np.mean(sizes)):>6}{cost:>13.5g}{cost / full:>9.3f}"
                  f"{np.mean(secs):>9.2f}", flush=True)
    return dict(rows=rows)


def run_defaults(args) -> dict:
    import json

    import fairopt

    stem = "relax_merge_defaults" if args.max_points == 1000 else f"relax_merge_defaults_n{args.max_points}"
    path = os.path.join(os.path.dirname(__file__), "results", f"{stem}.json")
    rows = []
    if args.resume and os.path.exists(path):
        with open(path) as fh:
            rows = json.load(fh).get("rows", [])
    done = {(r["dataset"], r["k"], r["delta"]) for r in rows}
    names = args.datasets.split(",") if args.datasets else list(SINGLE)
    print(f"{'dataset':<17}{'k':>3}{'delta':>6}{'new frac':>13}{'old frac':>13}{'new/old':>8}{'new s':>7}{'old s':>7}")
    for name in names:
        X, G = load(name, args.max_points)
        for k, delta in itertools.product([int(k) for k in args.ks.split(",")], [float(d) for d in args.deltas.split(",")]):
            if (name, k, delta) in done:
                continue
            t = time.perf_counter()
            new = fairopt.FairKMeans(n_clusters=k, delta=delta, random_state=0).fit(X, G)
            t_new = time.perf_counter() - t
            t = time.perf_counter()
            old = fairopt.FairKMeans(n_clusters=k, delta=delta, candidates="kdtree+points", n_candidates=None,
                                     coreset_size=None, random_state=0).fit(X, G)
            t_old = time.perf_counter() - t
            row = dict(dataset=name, n=int(X.shape[0]), k=k, delta=delta, new_fractional=new.fractional_cost_,
                       old_fractional=old.fractional_cost_, ratio=new.fractional_cost_ / old.fractional_cost_,
                       new_candidates=new.n_candidates_, old_candidates=old.n_candidates_,
                       new_seconds=t_new, old_seconds=t_old)
            rows.append(row)
            print(f"{name:<17}{k:>3}{delta:>6.1f}{row['new_fractional']:>13.5g}{row['old_fractional']:>13.5g}"
                  f"{row['ratio']:>8.4f}{t_new:>7.1f}{t_old:>7.1f}", flush=True)
            write_result(stem, dict(benchmark=stem, parameters=vars(args),
                                                      rows=rows, summary=_defaults_summary(rows)))
    summary = _defaults_summary(rows)
    print(f"\nnew/old fractional cost over {summary['cells']} cells: mean {summary['mean_ratio']:.4f}, "
          f"worst {summary['worst_ratio']:.4f}; seconds new {summary['new_seconds']:.0f}, old {summary['old_seconds']:.0f}")
    return dict(rows=rows, summary=summary, stem=stem)


def _defaults_summary(rows) -> dict:
    ratios = np.array([r["ratio"] for r in rows]) if rows else np.array([np.nan])
    return dict(cells=len(rows), mean_ratio=float(ratios.mean()), worst_ratio=float(ratios.max()),
                cells_above_1pct=int((ratios > 1.01).sum()), cells_above_3pct=int((ratios > 1.03).sum()),
                new_seconds=float(sum(r["new_seconds"] for r in rows)), old_seconds=float(sum(r["old_seconds"] for r in rows)))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_relax_merge", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", nargs="?", default="grid", choices=("grid", "timing", "sampling", "defaults"))
    p.add_argument("--resume", action="store_true", help="defaults: keep the cells already in the JSON")
    p.add_argument("--max-points", type=int, default=1000)
    p.add_argument("--datasets")
    p.add_argument("--ks", default="4,6,10")
    p.add_argument("--deltas", default="0,0.1,0.2")
    p.add_argument("--candidates", default="kdtree", help="candidate set of the grid (the paper's Table 3 uses |S| = 400)")
    p.add_argument("--n-candidates", type=int, default=400)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    body = {"grid": run_grid, "timing": run_timing, "sampling": run_sampling, "defaults": run_defaults}[args.mode](args)
    record = dict(benchmark=f"relax_merge_{args.mode}", machine=dict(cores=os.cpu_count(), platform=platform.platform()),
                  parameters=vars(args), seconds=time.perf_counter() - t0, **body)
    stem = record.pop("stem", "relax_merge_" + args.mode)
    print(f"wrote {write_result(stem, record)}")


if __name__ == "__main__":
    main()

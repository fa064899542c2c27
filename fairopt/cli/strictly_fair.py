"""``fairopt strictly-fair``: Algorithm 2 (StrictlyFairKMeans) next to the ORL21 baseline.

Example::

    fairopt strictly-fair --dataset hypercube --data-home ../shared/datasets --k 5
    fairopt strictly-fair --csv pts.csv --features x,y --groups color --k 4 --json out.json
"""
from __future__ import annotations

import time

import numpy as np

from fairopt.baselines import orl21
from fairopt.cli.common import (
    add_data_options,
    add_output_options,
    inputs_record,
    load_data,
    params_record,
    write_outputs,
)
from fairopt.fair.fairlets import StrictlyFairKMeans
from fairopt.plot import plot_fairness
from fairopt.results import result_record

__all__ = ["add_subparser", "run"]


def add_subparser(subparsers) -> None:
    """Register the ``strictly-fair`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser(
        "strictly-fair",
        help="strictly fair k-means by fairlet decomposition (Algorithm 2), with the ORL21 baseline",
        description="Strictly fair k-means for disjoint groups of equal size (every cluster holds equally many "
                    "points of every group). Prints cost, fairlet cost, violation and seconds next to the ORL21 "
                    "baseline (Bohm et al. 2021).",
    )
    add_data_options(p)
    p.add_argument("--k", type=int, default=6, help="number of clusters")
    p.add_argument("--anchor", default="matching", choices=("matching", "best"),
                   help="anchor group: least matching cost (Algorithm 2) or best final cost over all groups")
    p.add_argument("--n-init", type=int, default=10, help="restarts of the k-means on the fairlet centroids")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--no-baseline", action="store_true", help="skip the ORL21 baseline")
    add_output_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``fairopt strictly-fair``; returns the exit status."""
    X, G = load_data(args)
    t0 = time.perf_counter()
    sf = StrictlyFairKMeans(n_clusters=args.k, anchor=args.anchor, n_init=args.n_init, random_state=args.random_state).fit(X, G)
    base = None
    if not args.no_baseline:
        base = orl21(X, G, args.k, n_init=args.n_init, random_state=args.random_state)
    m, p = sf.fairlets_.shape[1], sf.fairlets_.shape[0]
    print(f"strictly fair k-means: n={X.shape[0]} k={args.k} groups={m} x {p} points")
    print(f"{'method':<16}{'cost':>14}{'fairlet cost':>14}{'violation':>11}{'seconds':>10}")
    print(f"{'fairlets':<16}{sf.cost_:>14.6g}{sf.fairlet_cost_:>14.6g}{sf.violation_:>11.3g}{sf.seconds_['total']:>10.2f}")
    if base is not None:
        print(f"{'orl21':<16}{base.cost:>14.6g}{'':>14}{0.0:>11.3g}{base.seconds['total']:>10.2f}")
        if base.cost > 0:
            print(f"  cost ratio fairlets/orl21: {sf.cost_ / base.cost:.4f}")
    print(f"  anchor group {sf.anchor_group_!r}, matching cost {sf.matching_cost_:.6g}, merge cost {sf.merge_cost_:.6g}")
    if args.json or args.plot:
        metrics = {"fairlets": {"cost": sf.cost_, "fairlet_cost": sf.fairlet_cost_, "matching_cost": sf.matching_cost_,
                                "merge_cost": sf.merge_cost_, "violation": sf.violation_}}
        if base is not None:
            metrics["orl21"] = {"cost": base.cost, "pivot": str(base.info["pivot"])}
        record = result_record(
            "strictly-fair", inputs=inputs_record(args, X), parameters=params_record(args),
            seeds={"random_state": args.random_state}, metrics=metrics,
            seconds={"fairlets": sf.seconds_, **({"orl21": base.seconds["total"]} if base else {}),
                     "wall": time.perf_counter() - t0},
            extra={"labels": sf.labels_.tolist(), "centres": sf.cluster_centers_.tolist(),
                   "group_counts": np.asarray(sf.group_counts_).tolist(), "anchor_group": str(sf.anchor_group_)},
        )

        def figure():
            return plot_fairness(X, sf.labels_, G, centres=sf.cluster_centers_, delta=0.0,
                                 title=f"Strictly fair k-means (fairlets), k={args.k}")

        write_outputs(args, record, figure)
    return 0

"""``fairopt demo``: LP (2) and fair k-means on a built-in synthetic instance (no data files)."""
from __future__ import annotations

import numpy as np

from fairopt import datasets
from fairopt.assignment.lp2 import fair_assignment
from fairopt.baselines import nips19
from fairopt.cli.fair_kmeans import print_fair_summary, summary_row
from fairopt.fair.fair_kmeans import FairKMeans


def add_subparser(sub) -> None:
    d = sub.add_parser("demo", help="LP (2) and fair k-means on a built-in synthetic instance (no data files)")
    d.add_argument("--solver", default="highs")
    d.set_defaults(func=run)


def run(args) -> int:
    """LP (2) on a built-in synthetic instance, then Relax and Merge against NIPS19 on it."""
    X, G = datasets.make_fair_blobs(random_state=0)
    k, delta = 4, 0.1
    centres = X[np.random.default_rng(0).choice(X.shape[0], 40, replace=False)]
    print(f"built-in synthetic instance: n={X.shape[0]} points in {X.shape[1]}-D, {len(np.unique(G))} groups")
    for method in ("direct", "auto"):
        fa = fair_assignment(X, centres, G, delta=delta, solver=args.solver, method=method)
        print(f"LP (2) with {centres.shape[0]} centres: solver={fa.solver} path={fa.method} status={fa.status} "
              f"objective={fa.objective:.6f} seconds={fa.seconds:.2f}")
    fk = FairKMeans(n_clusters=k, delta=delta, solver=args.solver, random_state=0).fit(X, G)
    base = nips19(X, G, k, delta=delta, solver=args.solver, random_state=0)
    print()
    print_fair_summary([summary_row("relax-merge", fk), summary_row("nips19", base)], k, X.shape[0], delta)
    return 0

"""``fairopt balanced``: balanced k-means by BalLOT (exact) or E-BalLOT (entropic).

Every cluster gets n/k points (sizes differing by at most one), the sizes given by
``--sizes``, or any size within ``--size-min`` / ``--size-max``. Examples::

    fairopt balanced --dataset moons --data-home ../shared/datasets --k 2
    fairopt balanced --csv points.csv --features x,y --k 5 --method sinkhorn --json out.json
    fairopt balanced --dataset adult --max-points 1000 --k 10 --sizes 100,100,...,100
    fairopt balanced --dataset adult --max-points 1000 --k 10 --size-min 80 --size-max 120
"""
from __future__ import annotations

import time

import numpy as np

from fairopt.balanced.ballot import BalancedKMeans
from fairopt.balanced.init import INITS
from fairopt.cli.common import (
    CLIError,
    add_data_options,
    add_output_options,
    inputs_record,
    load_data,
    params_record,
    write_outputs,
)
from fairopt.plot import plot_clusters
from fairopt.results import result_record

__all__ = ["add_subparser", "run"]


def add_subparser(subparsers) -> None:
    """Register the ``balanced`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser(
        "balanced",
        help="balanced k-means (BalLOT / E-BalLOT): clusters of exactly n/k points",
        description="Balanced k-means by alternating an exact (BalLOT) or entropic (E-BalLOT) optimal transport "
                    "assignment with prescribed cluster sizes and the centroid update (Luo and Mixon 2025). Prints "
                    "the cluster sizes, the balanced k-means cost, the iterations and the seconds.",
    )
    add_data_options(p, groups=False)
    p.add_argument("--k", type=int, required=True, help="number of clusters")
    p.add_argument("--sizes", help="comma-separated cluster sizes summing to n (default: n/k, differing by at most one)")
    p.add_argument("--size-min", help="smallest cluster size: one integer for all, or k comma-separated (exact method)")
    p.add_argument("--size-max", help="largest cluster size: one integer for all, or k comma-separated (exact method)")
    p.add_argument("--method", default="exact", choices=["exact", "sinkhorn"], help="BalLOT (exact) or E-BalLOT (sinkhorn)")
    p.add_argument("--epsilon", type=float, default=1e-2,
                   help="E-BalLOT regularisation, relative to the mean squared distance to the data mean")
    p.add_argument("--init", default="k-means++",
                   help="k-means++, diameter (k=2), clique, or a .npy/.csv file of k initial centres")
    p.add_argument("--n-init", type=int, default=1, help="runs from independent initialisations; the cheapest is kept")
    p.add_argument("--max-iter", type=int, default=100, help="most assignment steps")
    p.add_argument("--solver", default="auto", help="exact transport solver: auto, multiscale, ortools, pot, highs")
    p.add_argument("--backend", default="auto", choices=["auto", "numpy", "torch"],
                   help="where the entropic steps run (torch: GPU if present)")
    p.add_argument("--entropic-start", default="yes", choices=["yes", "no"],
                   help="exact method: start from entropic steps (default) or run the paper's alternation from the init")
    p.add_argument("--random-state", type=int, default=0)
    add_output_options(p)
    p.set_defaults(func=run)


def _init(value: str):
    if value in INITS:
        return value
    try:
        return np.load(value) if value.endswith(".npy") else np.loadtxt(value, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise CLIError(f"--init must be one of {INITS} or a readable .npy/.csv file of centres; {value!r}: {exc}") from None


def _sizes(value: str | None, option: str = "--sizes"):
    if value is None:
        return None
    try:
        out = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise CLIError(f"{option} must be comma-separated integers; got {value!r}") from None
    return out[0] if option != "--sizes" and len(out) == 1 else out


def run(args) -> int:
    """Run ``fairopt balanced``; returns the exit status."""
    X, _ = load_data(args, groups=False)
    t0 = time.perf_counter()
    est = BalancedKMeans(n_clusters=args.k, sizes=_sizes(args.sizes), method=args.method, epsilon=args.epsilon,
                         init=_init(args.init), n_init=args.n_init, max_iter=args.max_iter, solver=args.solver,
                         backend=args.backend, random_state=args.random_state,
                         size_min=_sizes(args.size_min, "--size-min"), size_max=_sizes(args.size_max, "--size-max"),
                         entropic_start=args.entropic_start == "yes").fit(X)
    wall = time.perf_counter() - t0
    counts = np.bincount(est.labels_, minlength=args.k)
    name = "BalLOT" if args.method == "exact" else "E-BalLOT"
    print(f"balanced k-means ({name}): n={X.shape[0]} d={X.shape[1]} k={args.k} init={args.init}")
    shown = ", ".join(map(str, counts.tolist())) if args.k <= 20 else f"min {counts.min()}, max {counts.max()}"
    if args.size_min is not None or args.size_max is not None:
        print(f"  sizes      {shown}  (requested within [{args.size_min or 0}, {args.size_max or X.shape[0]}])")
    else:
        print(f"  sizes      {shown}  (requested {'as given' if args.sizes else 'n/k'}: "
              f"{'exact' if np.array_equal(counts, est.sizes_) else 'NOT MET'})")
    print(f"  inertia    {est.inertia_:.6g}")
    print(f"  iterations {est.n_iter_}{'' if est.converged_ else ' (max_iter reached, not converged)'}")
    print(f"  seconds    {wall:.2f}")
    if args.json or args.plot:
        record = result_record(
            "balanced", inputs=inputs_record(args, X), parameters=params_record(args), seeds={"random_state": args.random_state},
            metrics={"inertia": est.inertia_, "sizes": counts.tolist(), "n_iter": est.n_iter_,
                     "converged": bool(est.converged_)},
            seconds={"fit": est.seconds_, "wall": wall},
            extra={"labels": est.labels_.tolist(), "centres": est.cluster_centers_.tolist()},
        )

        def figure():
            return plot_clusters(X, est.labels_, centres=est.cluster_centers_, title=f"{name}, k={args.k}")

        write_outputs(args, record, figure)
    return 0

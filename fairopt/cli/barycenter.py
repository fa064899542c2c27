"""``fairopt barycenter``: the k-sparse Wasserstein barycenter (SparseBarycenter) next to IJCAI24.

Measures come from the synthetic generator :func:`fairopt.datasets.make_measures` (``--m``,
``--support``, ``--dim``, ``--components``) or from an ``.npz`` file (``--measures FILE``) holding
``points_0``, ``weights_0``, ``points_1``, ``weights_1``, ... (a missing ``weights_i`` means
uniform weights). Example::

    fairopt barycenter --m 5 --support 50 --dim 2 --k 10
    fairopt barycenter --measures meas.npz --k 8 --json out.json
"""
from __future__ import annotations

import re
import time
import zipfile
import zlib

import numpy as np

from fairopt.barycenter.sparse import SparseBarycenter
from fairopt.baselines import ijcai24
from fairopt.cli.common import (
    CLIError,
    add_output_options,
    params_record,
    write_outputs,
)
from fairopt.datasets import make_measures
from fairopt.plot import plot_clusters
from fairopt.results import result_record

__all__ = ["add_subparser", "run", "load_measures_npz", "save_measures_npz"]


def add_subparser(subparsers) -> None:
    """Register the ``barycenter`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser(
        "barycenter",
        help="k-sparse Wasserstein barycenter by Relax and Merge, with the IJCAI24 baseline",
        description="k-sparse Wasserstein barycenter of discrete measures (LP (16) on a candidate set, weighted "
                    "k-means merge, LP (16) on the k support points). Prints the cost sum_i W_2^2(nu, mu_i) next "
                    "to the IJCAI24 baseline (Yang and Ding 2024).",
    )
    src = p.add_argument_group("measures (synthetic or from a file)")
    src.add_argument("--measures", help="an .npz file with points_0, weights_0, points_1, ...")
    src.add_argument("--m", type=int, default=5, help="number of synthetic measures")
    src.add_argument("--support", type=int, default=50, help="support size of every synthetic measure")
    src.add_argument("--dim", type=int, default=2, help="dimension of the synthetic measures")
    src.add_argument("--components", type=int, default=3, help="Gaussian components of the synthetic measures")
    p.add_argument("--k", type=int, default=10, help="number of support points of the barycenter")
    p.add_argument("--candidates", default="kdtree+points", help="candidate set: kdtree+points, kdtree, points, grid")
    p.add_argument("--n-candidates", type=int, help="size of the sampled candidate set")
    p.add_argument("--candidate-ratio", type=float, default=1.0, help="fraction of the candidate set kept")
    p.add_argument("--n-init", type=int, default=10, help="restarts of the k-means merge")
    p.add_argument("--solver", default="highs", help="LP solver: highs, glpk, cbc, gurobi")
    p.add_argument("--method", default="direct", help="LP (16) path: direct, colgen (HiGHS column generation), pyomo, cvxpy")
    p.add_argument("--time-limit", type=float, help="seconds per LP solve")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--no-baseline", action="store_true", help="skip the IJCAI24 baseline")
    add_output_options(p)
    p.set_defaults(func=run)


def load_measures_npz(path: str) -> list:
    """Read measures from an ``.npz`` file with ``points_0``, ``weights_0``, ``points_1``, ..."""
    try:
        data = np.load(path, allow_pickle=False)
        files = list(data.files)  # an .npy file loads as a plain array without .files
        arrays = {key: np.asarray(data[key]) for key in files}  # read now: a damaged member fails here
    except AttributeError:
        raise CLIError(f"--measures {path!r} is a single array, not an .npz archive of points_0, weights_0, ...") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise CLIError(f"cannot read --measures {path!r} as an .npz archive: {exc}") from None
    idx = sorted(int(mt.group(1)) for key in files if (mt := re.fullmatch(r"points_(\d+)", key)))
    if not idx or idx != list(range(len(idx))):
        raise CLIError(f"--measures {path!r} must hold arrays points_0, points_1, ... (optional weights_i); "
                       f"it holds {files}")
    return [(arrays[f"points_{i}"], arrays.get(f"weights_{i}")) for i in idx]


def save_measures_npz(measures: list, path: str) -> None:
    """Write measures in the format :func:`load_measures_npz` reads."""
    arrays = {}
    for i, (X, w) in enumerate(measures):
        arrays[f"points_{i}"] = np.asarray(X)
        arrays[f"weights_{i}"] = np.asarray(w)
    np.savez(path, **arrays)


def run(args) -> int:
    """Run ``fairopt barycenter``; returns the exit status."""
    if args.measures:
        measures = load_measures_npz(args.measures)
        source = {"measures": args.measures}
    else:
        for opt in ("m", "support", "dim", "components"):
            if getattr(args, opt) < 1:
                raise CLIError(f"--{opt} must be a positive integer; got {getattr(args, opt)}")
        measures = make_measures(args.m, args.support, d=args.dim, n_components=args.components,
                                 random_state=args.random_state)
        source = {"synthetic": "make_measures", "m": args.m, "support": args.support, "dim": args.dim,
                  "components": args.components}
    t0 = time.perf_counter()
    sb = SparseBarycenter(n_support=args.k, candidates=args.candidates, n_candidates=args.n_candidates,
                          candidate_ratio=args.candidate_ratio, n_init=args.n_init, solver=args.solver,
                          method=args.method, time_limit=args.time_limit, random_state=args.random_state).fit(measures)
    base = None
    if not args.no_baseline:
        base = ijcai24(measures, args.k, n_init=args.n_init, solver=args.solver, method=args.method,
                       time_limit=args.time_limit, random_state=args.random_state)
    sizes = [np.shape(X)[0] for X, _ in measures]
    print(f"k-sparse Wasserstein barycenter: m={len(measures)} measures, supports {min(sizes)}..{max(sizes)} points "
          f"in {np.shape(measures[0][0])[1]}-D, k={args.k}, {sb.n_candidates_} candidates")
    print(f"{'method':<16}{'cost':>14}{'seconds':>10}")
    print(f"{'relax-merge':<16}{sb.cost_:>14.6g}{sb.seconds_['total']:>10.2f}")
    if base is not None:
        print(f"{'ijcai24':<16}{base.cost:>14.6g}{base.seconds:>10.2f}")
        if base.cost > 0:
            print(f"  cost ratio relax-merge/ijcai24: {sb.cost_ / base.cost:.4f}")
    print(f"  relaxed LP (16) on the candidates: {sb.relaxed_cost_:.6g}; after moving: {sb.moved_cost_:.6g}; "
          f"merge: {sb.merge_cost_:.6g}")
    if args.json or args.plot:
        metrics = {"relax_merge": {"cost": sb.cost_, "relaxed_cost": sb.relaxed_cost_, "moved_cost": sb.moved_cost_,
                                   "merge_cost": sb.merge_cost_, "n_candidates": sb.n_candidates_}}
        if base is not None:
            metrics["ijcai24"] = {"cost": base.cost}
        record = result_record(
            "barycenter", inputs={**source, "sizes": sizes}, parameters=params_record(args),
            seeds={"random_state": args.random_state}, metrics=metrics,
            seconds={"relax_merge": sb.seconds_, **({"ijcai24": base.seconds} if base else {}),
                     "wall": time.perf_counter() - t0},
            extra={"support": sb.support_.tolist(), "weights": sb.weights_.tolist()},
        )

        def figure():
            union = np.vstack([np.asarray(X, dtype=float) for X, _ in measures])
            which = np.repeat(np.arange(len(measures)), sizes)
            return plot_clusters(union, which, centres=sb.support_,
                                 title=f"{len(measures)} measures (colour) and the {args.k}-sparse barycenter")

        write_outputs(args, record, figure)
    return 0

"""``fairopt fair-kmeans``: Relax and Merge (Algorithm 1) beside the NIPS19 baseline.

``--objective kmedian`` / ``kcenter`` run :class:`fairopt.FairKMedian` / :class:`fairopt.FairKCenter`
(extensions beyond the paper) beside ``nips19(objective=...)``.
"""
from __future__ import annotations

import argparse
import os
import time

from fairopt.baselines import nips19
from fairopt.cli.common import (
    CLIError,
    add_data_options,
    add_output_options,
    inputs_record,
    load_data,
    params_record,
    write_outputs,
)
from fairopt.cli.dask_input import (
    check_labels_path,
    labels_path,
    load_dask_data,
    wants_dask,
    write_labels_parquet,
)
from fairopt.distributed.dask_chunks import dask_client
from fairopt.distributed.dask_data import check_dask_installed
from fairopt.fair.fair_kmeans import FairKMeans
from fairopt.fair.kcenter import FairKCenter
from fairopt.fair.kmedian import FairKMedian
from fairopt.groups import encode_groups
from fairopt.models import fair_assignment as lp2
from fairopt.models import fair_kcenter
from fairopt.objectives import OBJECTIVES
from fairopt.plot import plot_fairness
from fairopt.results import result_record
from fairopt.solvers.core import export
from fairopt.solvers.resources import check_fits


def add_subparser(sub) -> None:
    p = sub.add_parser("fair-kmeans", help="fair k-means by Relax and Merge (Algorithm 1), with the NIPS19 baseline",
                       description="Fair k-means by Relax and Merge; prints cost, fractional cost, violation and "
                                   "seconds per stage next to the NIPS19 baseline (Bera et al. 2019).")
    add_data_options(p)
    p.add_argument("--k", type=int, default=6, help="number of clusters")
    p.add_argument("--objective", default="kmeans", choices=OBJECTIVES,
                   help="kmeans (squared distances, the paper), kmedian (distances) or kcenter (largest distance)")
    p.add_argument("--delta", type=float, default=0.1, help="slack of the fairness bounds, in [0, 1)")
    p.add_argument("--solver", default="highs", help="LP solver: highs, glpk, cbc, gurobi")
    p.add_argument("--method", default="auto", help="LP (2) path: auto, colgen, direct, pyomo, cvxpy")
    p.add_argument("--candidates",
                   help="candidate set: kdtree+seeds (fair k-means default), kdtree, kdtree+points, points, grid")
    p.add_argument("--n-candidates", type=int,
                   help="size of the sampled candidate set (fair k-means default 600; 0: as many as points, "
                        "the paper's set)")
    p.add_argument("--coreset-size", default="auto",
                   help="relax on a fair coreset of this many points: auto (default: above 4,000 points), "
                        "an integer, or none (all points; the paper's Algorithm 1)")
    p.add_argument("--candidate-ratio", type=float, default=1.0, help="fraction of the candidate set kept")
    p.add_argument("--n-init", type=int, help="restarts of the merge and of NIPS19's vanilla step "
                                                 "(default 10; 3 for the k-median local search; unused by kcenter)")
    p.add_argument("--n-refine", type=_n_refine, default="auto",
                   help="steps of the fair Lloyd refinement after the merge (0: the paper's Algorithm 1; "
                        "auto: up to 10 on a coreset, 0 on all points)")
    p.add_argument("--time-limit", type=float, help="seconds per LP solve")
    p.add_argument("--best-effort", action="store_true", help="return labels even from a non-optimal LP")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--no-baseline", action="store_true", help="skip the NIPS19 baseline")
    p.add_argument("--export-lp", help="write LP (2) on the final centres to this .lp or .mps file")
    big = p.add_argument_group("data larger than memory (Dask; also --csv with a * glob)")
    big.add_argument("--parquet", help="a Parquet file, a folder of them or a glob, read through dask.dataframe "
                                       "(with --features and --groups)")
    big.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://HOST:PORT); default: a "
                                         "LocalCluster for the run")
    big.add_argument("--labels-out", help="Parquet file for the labels (column 'label', input row order); default: "
                                          "beside --json as NAME.labels.parquet")
    add_output_options(p)
    p.set_defaults(func=run)


def summary_row(name, est_or_res):
    get = (lambda a: getattr(est_or_res, a + "_")) if hasattr(est_or_res, "labels_") else (lambda a: getattr(est_or_res, a))
    return name, get("cost"), get("fractional_cost"), get("violation"), get("seconds")


def print_fair_summary(rows, k, n, delta, objective="kmeans") -> None:
    print(f"fair {objective.replace('k', 'k-', 1)}: n={n} k={k} delta={delta}")
    print(f"{'method':<16}{'cost':>14}{'fractional':>14}{'violation':>11}{'seconds':>10}")
    for name, cost, frac, viol, secs in rows:
        print(f"{name:<16}{cost:>14.6g}{frac:>14.6g}{viol:>11.3g}{secs.get('total', sum(secs.values())):>10.2f}")
    for name, *_, secs in rows:
        stages = ", ".join(f"{k_}={v:.2f}s" for k_, v in secs.items() if k_ != "total")
        print(f"  {name} stages: {stages}")
    if len(rows) == 2 and rows[1][2] > 0:
        print(f"  fractional cost ratio {rows[0][0]}/{rows[1][0]}: {rows[0][2] / rows[1][2]:.3f}")


def _estimator(args, coreset_size="auto"):
    """The Relax-and-Merge estimator of ``--objective`` with the options it takes."""
    common = dict(n_clusters=args.k, delta=args.delta, solver=args.solver, candidate_ratio=args.candidate_ratio,
                  time_limit=args.time_limit, random_state=args.random_state)
    # Unset candidate options keep each estimator's own default; --n-candidates 0 asks for all.
    if args.candidates is not None:
        common["candidates"] = args.candidates
    if args.n_candidates is not None:
        common["n_candidates"] = args.n_candidates or None
    if args.objective == "kcenter":
        return FairKCenter(**common)
    n_init = {} if args.n_init is None else {"n_init": args.n_init}
    common.update(method=args.method, best_effort=args.best_effort, progress=not args.quiet, **n_init)
    if args.objective == "kmedian":
        return FairKMedian(**common)
    return FairKMeans(n_refine=args.n_refine, coreset_size=coreset_size, **common)


def run(args) -> int:
    if wants_dask(args) or args.scheduler:
        return run_dask(args)
    if args.labels_out:
        raise CLIError("--labels-out is for --parquet or a --csv glob; the JSON summary (--json) holds the labels")
    X, G = load_data(args)
    if args.export_lp:
        # Refuse a dense LP (2) file that cannot be built before spending the run on it.
        g = encode_groups(G, X.shape[0])
        check_fits("LP (2) for --export-lp", **lp2.dense_size(X.shape[0], args.k, g.n_groups, g.n_attributes),
                   fix="drop --export-lp or export a subsample (--max-points)")
    coreset = {"auto": "auto", "none": None}.get(str(args.coreset_size).lower())
    if coreset is None and str(args.coreset_size).lower() != "none":
        coreset = int(args.coreset_size) if str(args.coreset_size).isdigit() else args.coreset_size
    t0 = time.perf_counter()
    fk = _estimator(args, coreset).fit(X, G)
    rows = [summary_row("relax-merge", fk)]
    base = None
    if not args.no_baseline:
        base = nips19(X, G, args.k, delta=args.delta, solver=args.solver, method=args.method,
                      n_init=args.n_init, random_state=args.random_state, objective=args.objective,
                      coreset_size=coreset)
        rows.append(summary_row("nips19", base))
    print_fair_summary(rows, args.k, X.shape[0], args.delta, args.objective)
    if fk.status_ != "optimal":
        print(f"  WARNING: best-effort result, LP status {fk.status_!r}")
    if args.export_lp:
        if args.objective == "kcenter":  # the threshold LP at the final tau
            model = fair_kcenter.to_matrices(X, fk.cluster_centers_, G, fk.alpha_, fk.beta_, fk.fractional_cost_)
        else:
            model = lp2.to_matrices(X, fk.cluster_centers_, G, fk.alpha_, fk.beta_, objective=args.objective)
        export(model, args.export_lp, overwrite=args.overwrite)
        print(f"wrote {args.export_lp}")
    if args.json or args.plot:
        metrics = {"relax_merge": {"cost": fk.cost_, "fractional_cost": fk.fractional_cost_,
                                   "relaxed_cost": fk.relaxed_cost_, "violation": fk.violation_, "status": fk.status_}}
        if base is not None:
            metrics["nips19"] = {"cost": base.cost, "fractional_cost": base.fractional_cost, "violation": base.violation}
        record = result_record("fair-kmeans", inputs=inputs_record(args, X), parameters=params_record(args),
                               seeds={"random_state": args.random_state}, metrics=metrics,
                               seconds={"relax_merge": fk.seconds_, **({"nips19": base.seconds} if base else {}),
                                        "wall": time.perf_counter() - t0},
                               extra={"labels": fk.labels_.tolist(), "centres": fk.cluster_centers_.tolist()})

        def figure():
            return plot_fairness(X, fk.labels_, G, centres=fk.cluster_centers_, alpha=fk.alpha_, beta=fk.beta_,
                                 title=f"Relax and Merge, k={args.k}, delta={args.delta}")

        write_outputs(args, record, figure)
    return 0


def run_dask(args) -> int:
    """fair-kmeans on data read by dask.dataframe, on --scheduler or a LocalCluster (FairKMeans and nips19)."""
    check_dask_installed("--parquet, a --csv glob or --scheduler")
    if args.objective != "kmeans":
        raise CLIError(f"--objective {args.objective} runs in memory only; data through Dask use --objective kmeans")
    for flag, value in (("--export-lp", args.export_lp), ("--plot", args.plot)):
        if value:
            raise CLIError(f"{flag} needs the data in memory; leave it out with --parquet, a --csv glob or --scheduler")
    out = labels_path(args)
    if out:
        check_labels_path(out, args.overwrite)
    coreset = {"auto": "auto", "none": None}.get(str(args.coreset_size).lower(), args.coreset_size)
    coreset = int(coreset) if isinstance(coreset, str) and coreset.isdigit() else coreset
    t0 = time.perf_counter()
    with dask_client(args.scheduler):
        X, G, inputs = load_dask_data(args)
        fk = _estimator(args, coreset).fit(X, G)
        rows = [summary_row("relax-merge", fk)]
        base = None
        if not args.no_baseline:
            base = nips19(X, G, args.k, delta=args.delta, solver=args.solver, method=args.method, n_init=args.n_init,
                          random_state=args.random_state, coreset_size=coreset)
            rows.append(summary_row("nips19", base))
        print_fair_summary(rows, args.k, inputs["n"], args.delta, args.objective)
        if out:
            write_labels_parquet(fk.labels_, out, overwrite=args.overwrite)
            print(f"wrote {out}")
        else:
            print("  labels not written: give --labels-out FILE.parquet or --json")
    if args.json:
        metrics = {"relax_merge": {"cost": fk.cost_, "fractional_cost": fk.fractional_cost_,
                                   "relaxed_cost": fk.relaxed_cost_, "violation": fk.violation_, "status": fk.status_,
                                   "n_coreset": fk.n_coreset_}}
        if base is not None:
            metrics["nips19"] = {"cost": base.cost, "fractional_cost": base.fractional_cost, "violation": base.violation}
        record = result_record("fair-kmeans", inputs=inputs, parameters=params_record(args),
                               seeds={"random_state": args.random_state}, metrics=metrics,
                               seconds={"relax_merge": fk.seconds_, **({"nips19": base.seconds} if base else {}),
                                        "wall": time.perf_counter() - t0},
                               extra={"labels_file": os.path.basename(out) if out else None,
                                      "centres": fk.cluster_centers_.tolist()})
        write_outputs(args, record)
    return 0


def _n_refine(text: str) -> int | str:
    """--n-refine: "auto" or a non-negative integer."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a non-negative integer; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a non-negative integer; got {text!r}")
    return value

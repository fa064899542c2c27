"""Cost against k on the equal-group datasets: Relax and Merge, NIPS19, ORL21 (the paper's Figures 1 and 2).

Reproduces the cost curves of the Relax-and-Merge paper (Song, Mo, Yang, Ding, ICLR 2025) on the
datasets whose groups have equal sizes (moons, hypercube, balanced_complex, balanced_cluto), for
k = 2..10:

* ``relax-merge``  Algorithm 1 (:class:`fairopt.FairKMeans`): rounded cost and the fractional
  cost of LP (2) on its final centres;
* ``nips19``       Bera et al. 2019 (:func:`fairopt.baselines.nips19`): k-means centres, LP (2),
  the same rounding; rounded and fractional cost;
* ``orl21``        Bohm et al. 2021 (:func:`fairopt.baselines.orl21`), strictly fair;
* ``fairlets``     Algorithm 2 (:class:`fairopt.StrictlyFairKMeans`), strictly fair.

The strictly fair methods meet alpha_i = beta_i = 1/m, the bounds of delta = 0, so they run only
with ``--delta 0`` (the default). ``--max-points`` subsamples every group to the same size
(``max_points // m`` points each, seed 0), so the groups stay equal and ORL21 applies.

Run (about a minute on 2 cores)::

    python examples/cost_vs_k.py [--out DIR] [--datasets moons,hypercube] [--ks 2..10] [--delta 0]
                                 [--seeds 0,1] [--max-points 400] [--quick] [--overwrite]

Writes into ``--out`` (default ``examples/results/cost_vs_k``; existing files are kept unless
``--overwrite``):

* ``cost_vs_k.csv``: one row per (dataset, seed, k, method): fractional_cost (relax-merge and
  nips19), cost (k-means cost of the labels), violation (additive, LP (2) bounds), seconds;
* ``cost_vs_k.json``: the same rows, the labels and centres of every run and the subsample
  indices (so every cost can be recomputed), parameters and package versions;
* ``cost_vs_k_<dataset>.png``: cost against k, one curve per method (a band over seeds).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from fairopt import datasets
from fairopt.cli.common import fill_defaults, int_list, name_list
from fairopt.exceptions import FairoptError, ResourceLimitError, SolverStatusError
from fairopt.results import write_csv

NAME = "cost_vs_k"
REPO = Path(__file__).resolve().parents[1]
DATA_HOME = REPO.parent / "shared" / "datasets"
DEFAULT_OUT = REPO / "examples" / "results" / NAME
EQUAL_GROUP_DATASETS = ("moons", "hypercube", "balanced_complex", "balanced_cluto")
METHODS = ("relax-merge", "nips19", "orl21", "fairlets")
STRICT = ("orl21", "fairlets")  # strictly fair: only for delta = 0
COLUMNS = ("dataset", "n", "m", "seed", "k", "delta", "method", "fractional_cost", "cost", "violation",
           "seconds", "status")
# Full run / --quick (tests, a smoke check); an explicit option wins over both.
DEFAULTS = {"datasets": ",".join(EQUAL_GROUP_DATASETS), "ks": "2..10", "max_points": 400, "n_init": 10}
QUICK = {"datasets": "moons", "ks": "2,3", "max_points": 100, "n_init": 3}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--data-home", default=str(DATA_HOME), help="folder of the dataset CSV files (default: %(default)s)")
    p.add_argument("--datasets", help=f"comma-separated dataset names (default: {DEFAULTS['datasets']})")
    p.add_argument("--ks", help=f"comma-separated k values or ranges a..b (default: {DEFAULTS['ks']})")
    p.add_argument("--delta", type=float, default=0.0, help="fairness slack in [0, 1) (default: 0, strictly fair)")
    p.add_argument("--seeds", default="0", help="comma-separated random seeds of the methods (default: 0)")
    p.add_argument("--max-points", type=int,
                   help=f"subsample every group to max_points // m points (default: {DEFAULTS['max_points']})")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of %(default)s")
    p.add_argument("--n-init", type=int, help=f"k-means restarts of every method (default: {DEFAULTS['n_init']})")
    p.add_argument("--solver", default="highs", help="LP solver of LP (2) (default: highs)")
    p.add_argument("--quick", action="store_true",
                   help=f"tiny setting for a smoke test ({QUICK['datasets']}, k={QUICK['ks']}, "
                        f"{QUICK['max_points']} points)")
    args = p.parse_args(argv)
    return fill_defaults(args, QUICK if args.quick else DEFAULTS)




def equal_group_subsample(groups: np.ndarray, max_points: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices keeping ``min(max_points // m, smallest group)`` points of every group."""
    values, codes = np.unique(groups, return_inverse=True)
    sizes = np.bincount(codes)
    p = int(sizes.min()) if max_points is None else min(int(sizes.min()), max_points // values.size)
    if p < 1:
        raise ValueError(f"--max-points {max_points} leaves no point of some of the {values.size} groups; "
                         f"use at least {values.size}")
    rng = np.random.default_rng(seed)
    keep = [rng.choice(np.flatnonzero(codes == i), size=p, replace=False) for i in range(values.size)]
    return np.sort(np.concatenate(keep))


def load_equal_groups(name: str, data_home, max_points: int | None):
    """(X, groups (n,), indices into the file): first group column, groups equalised."""
    ds = datasets.load_dataset(name, data_home=data_home)
    groups = ds.groups if ds.groups.ndim == 1 else ds.groups[:, 0]
    idx = equal_group_subsample(groups, max_points)
    return ds.X[idx], groups[idx], ds.indices[idx]


def run_cell(method: str, X, G, k: int, delta: float, seed: int, n_init: int, solver: str) -> dict:
    """One (method, k, seed): labels, centres, costs and violation measured the same way for all."""
    from fairopt.groups import encode_groups
    from fairopt.metrics import additive_violation, kmeans_cost
    from fairopt.problem import resolve_bounds

    t0 = time.perf_counter()
    frac = None
    if method == "relax-merge":
        from fairopt import FairKMeans

        est = FairKMeans(n_clusters=k, delta=delta, n_init=n_init, solver=solver, random_state=seed).fit(X, G)
        labels, centres, frac = est.labels_, est.cluster_centers_, est.fractional_cost_
    elif method == "nips19":
        from fairopt.baselines import nips19

        res = nips19(X, G, k, delta=delta, n_init=n_init, solver=solver, random_state=seed)
        labels, centres, frac = res.labels, res.centres, res.fractional_cost
    elif method == "orl21":
        from fairopt.baselines import orl21

        res = orl21(X, G, k, n_init=n_init, random_state=seed)
        labels, centres = res.labels, res.centres
    else:
        from fairopt import StrictlyFairKMeans

        est = StrictlyFairKMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X, G)
        labels, centres = est.labels_, est.cluster_centers_
    seconds = time.perf_counter() - t0
    gs = encode_groups(G, X.shape[0])
    alpha, beta = resolve_bounds(gs, np.ones(X.shape[0]), delta=delta)
    return {"fractional_cost": frac, "cost": kmeans_cost(X, centres, labels),
            "violation": additive_violation(labels, gs, alpha, beta, k=k), "seconds": seconds,
            "labels": np.asarray(labels), "centres": np.asarray(centres)}


def _fmt(v) -> str:
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.6g}"


def print_table(rows: list, ks: list, methods: list, info: dict, delta: float, seeds: list) -> None:
    """Per dataset: mean cost over seeds at every k, one column per method (and fractional costs)."""
    cols = []
    for m in methods:
        cols.append((m, m, "cost"))
        if m in ("relax-merge", "nips19"):
            cols.append((m, "(fractional)", "fractional_cost"))
    ratios = [(a, b) for a, b in (("relax-merge", "nips19"), ("relax-merge", "orl21")) if a in methods and b in methods]
    print(f"cost against k (k-means cost, mean over seeds {seeds}), delta={delta}")
    for name, (n, m, p) in info.items():
        print(f"\n{name}: n={n}, {m} groups of {p}")
        head = f"{'k':>3}" + "".join(f"{label:>14}" for _, label, _ in cols)
        head += "".join(f"{'rm/' + b.replace('relax-merge', 'rm'):>11}" for _, b in ratios)
        print(head)
        for k in ks:
            def mean(method, field):
                vals = [r[field] for r in rows if r["dataset"] == name and r["k"] == k and r["method"] == method
                        and r[field] is not None and np.isfinite(r[field])]
                return float(np.mean(vals)) if vals else float("nan")

            line = f"{k:>3}" + "".join(f"{_fmt(mean(m, f)):>14}" for m, _, f in cols)
            line += "".join(f"{mean(a, 'cost') / mean(b, 'cost'):>11.4f}" for a, b in ratios)
            print(line)


def cost_figure(name: str, rows: list, ks: list, methods: list, seeds: list, n: int, m: int, delta: float):
    from fairopt.plot import plot_cost_vs_k

    curves = {}
    for method in methods:
        fields = [("cost", method)] + ([("fractional_cost", f"{method} (fractional)")]
                                       if method in ("relax-merge", "nips19") else [])
        for field, label in fields:
            grid = np.full((len(ks), len(seeds)), np.nan)
            for r in rows:
                if r["dataset"] == name and r["method"] == method and r[field] is not None:
                    grid[ks.index(r["k"]), seeds.index(r["seed"])] = r[field]
            if np.isfinite(grid).any():
                curves[label] = grid
    return plot_cost_vs_k(ks, curves, title=f"{name}: n={n}, {m} equal groups, delta={delta}")



def main(argv=None) -> int:
    from fairopt.plot import save_figure
    from fairopt.results import result_record, write_json

    args = parse_args(argv)
    try:
        names = name_list(args.datasets, datasets.available_datasets(), "datasets")
        ks, seeds = int_list(args.ks, "ks"), int_list(args.seeds, "seeds")
        methods = name_list(args.methods, METHODS, "methods")
        if not 0.0 <= args.delta < 1.0:
            raise ValueError(f"--delta must be in [0, 1); got {args.delta}")
    except ValueError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return 2
    if args.delta > 0 and any(m in STRICT for m in methods):
        print(f"note: {', '.join(m for m in methods if m in STRICT)} are strictly fair (delta = 0 only); skipped")
        methods = [m for m in methods if m not in STRICT]
    os.makedirs(args.out, exist_ok=True)
    csv_path, json_path = os.path.join(args.out, NAME + ".csv"), os.path.join(args.out, NAME + ".json")
    png = {name: os.path.join(args.out, f"{NAME}_{name}.png") for name in names}
    existing = [p for p in (csv_path, json_path, *png.values()) if os.path.exists(p)]
    if existing and not args.overwrite:
        print(f"{NAME}: error: {', '.join(existing)} exist; pass --overwrite to replace them", file=sys.stderr)
        return 2

    t_start = time.perf_counter()
    rows, runs, info, indices = [], [], {}, {}
    try:
        for name in names:
            X, G, idx = load_equal_groups(name, args.data_home, args.max_points)
            _, counts = np.unique(G, return_counts=True)
            info[name] = (X.shape[0], counts.size, int(counts[0]))
            indices[name] = idx
            for seed in seeds:
                for k in ks:
                    for method in methods:
                        row = {"dataset": name, "n": X.shape[0], "m": counts.size, "seed": seed, "k": k,
                               "delta": args.delta, "method": method, "status": "ok"}
                        try:
                            cell = run_cell(method, X, G, k, args.delta, seed, args.n_init, args.solver)
                        except (SolverStatusError, ResourceLimitError) as exc:  # a failed solve does not stop the grid
                            cell = {"fractional_cost": None, "cost": None, "violation": None, "seconds": None,
                                    "labels": None, "centres": None}
                            row["status"] = f"error: {exc}"
                        runs.append({"dataset": name, "seed": seed, "k": k, "method": method,
                                     "labels": cell.pop("labels"), "centres": cell.pop("centres")})
                        rows.append({**row, **cell})
    except (FairoptError, ValueError, FileNotFoundError) as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return 2
    total = time.perf_counter() - t_start

    print_table(rows, ks, methods, info, args.delta, seeds)
    write_csv(rows, csv_path, COLUMNS, overwrite=args.overwrite)
    record = result_record(
        "example-cost-vs-k",
        inputs={"data_home": args.data_home, "datasets": {n: {"n": v[0], "groups": v[1], "group_size": v[2]}
                                                          for n, v in info.items()},
                "subsample": "equal_group_subsample(seed 0) of the first group column"},
        parameters={"ks": ks, "delta": args.delta, "methods": methods, "max_points": args.max_points,
                    "n_init": args.n_init, "solver": args.solver},
        seeds={"methods": seeds, "subsample": 0},
        metrics={"rows": rows}, seconds={"total": total},
        extra={"runs": runs, "indices": indices},
    )
    write_json(record, json_path, overwrite=args.overwrite)
    for name in names:
        n, m, _ = info[name]
        save_figure(cost_figure(name, rows, ks, methods, seeds, n, m, args.delta), png[name], overwrite=args.overwrite)
    print(f"\nwrote {csv_path}, {json_path} and {len(png)} figure(s) in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""k-sparse Wasserstein barycenter: Relax and Merge against the IJCAI24 baseline, cost over k.

Reproduces the barycenter experiment of the Relax-and-Merge paper (Song, Mo, Yang, Ding, ICLR
2025, Theorem 2 and its k-WB comparison with Yang and Ding, IJCAI 2024) on synthetic data: m
discrete measures sampled from related Gaussian mixtures
(:func:`fairopt.datasets.make_measures`) in 2-D and 5-D, and for every k the cost
sum_i W_2^2(nu, mu_i) of

* ``relax-merge``  :class:`fairopt.SparseBarycenter` (LP (16) on a candidate set, move, weighted
  k-means merge, LP (16) on the k support points);
* ``ijcai24``      :func:`fairopt.baselines.ijcai24` (weighted k-means on the union of the
  supports, LP (16) on the k centres);

next to the relaxed LP (16) on the whole candidate set (k unconstrained; the same for every k).
Seed s draws the measures (``random_state=s``) and seeds both methods.

Run (under a minute on 2 cores)::

    python examples/barycenter_vs_ijcai24.py [--out DIR] [--dims 2,5] [--m 5] [--support 50]
                                             [--ks 2..10] [--seeds 0,1] [--quick] [--overwrite]

Writes into ``--out`` (default ``examples/results/barycenter_vs_ijcai24``; existing files are kept
unless ``--overwrite``):

* ``barycenter_vs_ijcai24.csv``: one row per (dim, seed, k, method): cost, relaxed_cost,
  n_candidates, seconds;
* ``barycenter_vs_ijcai24.json``: the same rows, the support and weights of every barycenter,
  the generator's parameters (so every cost can be recomputed), package versions;
* ``barycenter_vs_ijcai24_d<dim>.png``: cost against k, one curve per method.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from fairopt.cli.common import fill_defaults, int_list
from fairopt.exceptions import FairoptError, ResourceLimitError, SolverStatusError
from fairopt.results import write_csv

NAME = "barycenter_vs_ijcai24"
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "examples" / "results" / NAME
METHODS = ("relax-merge", "ijcai24")
COLUMNS = ("dim", "m", "support", "seed", "k", "method", "cost", "relaxed_cost", "n_candidates", "seconds", "status")
DEFAULTS = {"dims": "2,5", "m": 5, "support": 50, "ks": "2..10", "n_init": 10}
QUICK = {"dims": "2", "m": 3, "support": 15, "ks": "2,3", "n_init": 3}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--dims", help=f"comma-separated dimensions (default: {DEFAULTS['dims']})")
    p.add_argument("--m", type=int, help=f"number of measures (default: {DEFAULTS['m']})")
    p.add_argument("--support", type=int, help=f"support size of every measure (default: {DEFAULTS['support']})")
    p.add_argument("--components", type=int, default=3, help="Gaussian components of the mixtures (default: 3)")
    p.add_argument("--ks", help=f"comma-separated k values or ranges a..b (default: {DEFAULTS['ks']})")
    p.add_argument("--seeds", default="0", help="comma-separated seeds: measures and methods (default: 0)")
    p.add_argument("--n-init", type=int, help=f"k-means restarts of both methods (default: {DEFAULTS['n_init']})")
    p.add_argument("--solver", default="highs", help="LP solver of LP (16) (default: highs)")
    p.add_argument("--method", default="colgen",
                   help="LP (16) path of both methods: colgen (HiGHS column generation, default), direct, pyomo, cvxpy")
    p.add_argument("--quick", action="store_true",
                   help=f"tiny setting for a smoke test (d={QUICK['dims']}, m={QUICK['m']}, "
                        f"support {QUICK['support']}, k={QUICK['ks']})")
    args = p.parse_args(argv)
    return fill_defaults(args, QUICK if args.quick else DEFAULTS)



def instance(dim: int, m: int, support: int, components: int, seed: int) -> list:
    """The measures of one (dim, seed) cell; the tests rebuild them from the JSON parameters."""
    from fairopt.datasets import make_measures

    return make_measures(m, support, d=dim, n_components=components, random_state=seed)


def run_cell(method: str, measures: list, k: int, seed: int, n_init: int, solver: str, lp_method: str) -> dict:
    t0 = time.perf_counter()
    if method == "relax-merge":
        from fairopt import SparseBarycenter

        sb = SparseBarycenter(n_support=k, n_init=n_init, solver=solver, method=lp_method,
                              random_state=seed).fit(measures)
        out = {"cost": sb.cost_, "relaxed_cost": sb.relaxed_cost_, "n_candidates": sb.n_candidates_,
               "support_points": sb.support_, "weights": sb.weights_}
    else:
        from fairopt.baselines import ijcai24

        res = ijcai24(measures, k, n_init=n_init, solver=solver, method=lp_method, random_state=seed)
        out = {"cost": res.cost, "relaxed_cost": None, "n_candidates": None,
               "support_points": res.support, "weights": res.weights}
    out["seconds"] = time.perf_counter() - t0
    return out


def _mean(rows, field, **match):
    vals = [r[field] for r in rows if all(r[key] == v for key, v in match.items()) and r[field] is not None]
    return float(np.mean(vals)) if vals else float("nan")


def print_table(rows: list, dims: list, ks: list, seeds: list, m: int, support: int) -> None:
    print(f"k-sparse Wasserstein barycenter cost sum_i W_2^2(nu, mu_i) (m={m} measures of {support} points, "
          f"mean over seeds {seeds})")
    for d in dims:
        print(f"\n{d}-D")
        print(f"{'k':>3}{'relax-merge':>14}{'ijcai24':>14}{'rm/ijcai24':>12}{'relaxed (16)':>14}")
        for k in ks:
            rm = _mean(rows, dim=d, k=k, method="relax-merge", field="cost")
            base = _mean(rows, dim=d, k=k, method="ijcai24", field="cost")
            relaxed = _mean(rows, dim=d, k=k, method="relax-merge", field="relaxed_cost")
            print(f"{k:>3}{rm:>14.6g}{base:>14.6g}{rm / base:>12.4f}{relaxed:>14.6g}")


def cost_figure(rows: list, d: int, ks: list, seeds: list, methods: list, m: int, support: int):
    from fairopt.plot import plot_cost_vs_k

    curves = {}
    for method, field, label in [(mt, "cost", mt) for mt in methods] + [
            ("relax-merge", "relaxed_cost", "relaxed LP (16) on the candidates")]:
        if method not in methods:
            continue
        grid = np.full((len(ks), len(seeds)), np.nan)
        for r in rows:
            if r["dim"] == d and r["method"] == method and r[field] is not None:
                grid[ks.index(r["k"]), seeds.index(r["seed"])] = r[field]
        curves[label] = grid
    return plot_cost_vs_k(ks, curves, ylabel="sum_i W_2^2(nu, mu_i)",
                          title=f"k-sparse barycenter of {m} measures of {support} points in {d}-D")



def main(argv=None) -> int:
    from fairopt.plot import save_figure
    from fairopt.results import result_record, write_json

    args = parse_args(argv)
    try:
        dims, ks, seeds = int_list(args.dims, "dims"), int_list(args.ks, "ks"), int_list(args.seeds, "seeds")
        for name in ("m", "support", "components"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name} must be a positive integer; got {getattr(args, name)}")
    except ValueError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return 2
    methods = list(METHODS)
    os.makedirs(args.out, exist_ok=True)
    csv_path, json_path = os.path.join(args.out, NAME + ".csv"), os.path.join(args.out, NAME + ".json")
    png = {d: os.path.join(args.out, f"{NAME}_d{d}.png") for d in dims}
    existing = [p for p in (csv_path, json_path, *png.values()) if os.path.exists(p)]
    if existing and not args.overwrite:
        print(f"{NAME}: error: {', '.join(existing)} exist; pass --overwrite to replace them", file=sys.stderr)
        return 2

    t_start = time.perf_counter()
    rows, runs = [], []
    try:
        for d in dims:
            for seed in seeds:
                measures = instance(d, args.m, args.support, args.components, seed)
                for k in ks:
                    for method in methods:
                        row = {"dim": d, "m": args.m, "support": args.support, "seed": seed, "k": k,
                               "method": method, "status": "ok"}
                        try:
                            cell = run_cell(method, measures, k, seed, args.n_init, args.solver, args.method)
                        except (SolverStatusError, ResourceLimitError) as exc:  # a failed LP does not stop the table
                            cell = dict.fromkeys(("cost", "relaxed_cost", "n_candidates", "seconds",
                                                  "support_points", "weights"))
                            row["status"] = f"error: {exc}"
                        runs.append({"dim": d, "seed": seed, "k": k, "method": method,
                                     "support_points": cell.pop("support_points"), "weights": cell.pop("weights")})
                        rows.append({**row, **cell})
    except (FairoptError, ValueError) as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return 2
    total = time.perf_counter() - t_start

    print_table(rows, dims, ks, seeds, args.m, args.support)
    write_csv(rows, csv_path, COLUMNS, overwrite=args.overwrite)
    record = result_record(
        "example-barycenter-vs-ijcai24",
        inputs={"generator": "fairopt.datasets.make_measures", "m": args.m, "n_support": args.support,
                "dims": dims, "n_components": args.components, "random_state": "the row's seed"},
        parameters={"ks": ks, "n_init": args.n_init, "solver": args.solver, "method": args.method},
        seeds={"seeds": seeds}, metrics={"rows": rows}, seconds={"total": total}, extra={"runs": runs},
    )
    write_json(record, json_path, overwrite=args.overwrite)
    for d in dims:
        save_figure(cost_figure(rows, d, ks, seeds, methods, args.m, args.support), png[d], overwrite=args.overwrite)
    print(f"\nwrote {csv_path}, {json_path} and {len(png)} figure(s) in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

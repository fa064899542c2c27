"""Additive violation of the rounded fair clustering over k (the paper's Tables 5 to 7).

Reproduces the violation tables of the Relax-and-Merge paper (Song, Mo, Yang, Ding, ICLR 2025):
for bank, adult and creditcard (uniform subsample, seed 0), every k and both group settings

* ``disjoint``:    one group attribute (bank: marital, adult: race, creditcard: MARRIAGE);
  rounding by the hub-guided min-cost circulation, violation at most 2 (the paper's Lemma);
* ``overlapping``: both group attributes (every point in two groups); iterative LP rounding
  (Bera et al. 2019),

the additive violation max_{c, i} max(beta_i W(c) - W_i(c), W_i(c) - alpha_i W(c), 0) of the
integral labels of Relax and Merge (:class:`fairopt.FairKMeans`) and of NIPS19
(:func:`fairopt.baselines.nips19`, the same rounding on k-means centres), with the bounds of
``--delta`` (beta_i = r_i (1 - delta), alpha_i = r_i / (1 - delta)).

Run (about a minute on 2 cores)::

    python examples/violation_table.py [--out DIR] [--datasets bank,adult] [--groups disjoint,overlapping]
                                       [--ks 2,4,6,8,10] [--delta 0.1] [--seeds 0] [--max-points 300]
                                       [--quick] [--overwrite]

Writes into ``--out`` (default ``examples/results/violation_table``; existing files are kept
unless ``--overwrite``):

* ``violation_table.csv``: one row per (dataset, groups, seed, k, method): violation, cost,
  fractional_cost, seconds;
* ``violation_table.json``: the same rows, the labels and centres of every run and the subsample
  indices (so every violation can be recomputed), parameters and package versions;
* ``violation_vs_k.png``: violation against k, one panel per dataset, the bound 2 dashed;
* ``violation_composition.png``: group shares of every cluster against the bounds for the
  Relax-and-Merge run of largest violation.
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

NAME = "violation_table"
REPO = Path(__file__).resolve().parents[1]
DATA_HOME = REPO.parent / "shared" / "datasets"
DEFAULT_OUT = REPO / "examples" / "results" / NAME
METHODS = ("relax-merge", "nips19")
SETTINGS = ("disjoint", "overlapping")
COLUMNS = ("dataset", "groups", "attributes", "n", "m", "seed", "k", "delta", "method", "violation", "cost",
           "fractional_cost", "seconds", "status")
DEFAULTS = {"datasets": "bank,adult,creditcard", "ks": "2,4,6,8,10", "max_points": 300, "n_init": 10}
QUICK = {"datasets": "bank", "ks": "2,3", "max_points": 150, "n_init": 3}
DISJOINT_BOUND = 2.0  # circulation rounding of disjoint groups


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--data-home", default=str(DATA_HOME), help="folder of the dataset CSV files (default: %(default)s)")
    p.add_argument("--datasets", help=f"comma-separated dataset names (default: {DEFAULTS['datasets']})")
    p.add_argument("--groups", default="disjoint,overlapping",
                   help="disjoint (first group column), overlapping (all group columns), or both (default)")
    p.add_argument("--ks", help=f"comma-separated k values or ranges a..b (default: {DEFAULTS['ks']})")
    p.add_argument("--delta", type=float, default=0.1, help="fairness slack in [0, 1) (default: 0.1)")
    p.add_argument("--seeds", default="0", help="comma-separated random seeds of the methods (default: 0)")
    p.add_argument("--max-points", type=int, help=f"uniform subsample, seed 0 (default: {DEFAULTS['max_points']})")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of %(default)s")
    p.add_argument("--n-init", type=int, help=f"k-means restarts (default: {DEFAULTS['n_init']})")
    p.add_argument("--solver", default="highs", help="LP solver of LP (2) (default: highs)")
    p.add_argument("--quick", action="store_true",
                   help=f"tiny setting for a smoke test ({QUICK['datasets']}, k={QUICK['ks']}, "
                        f"{QUICK['max_points']} points)")
    args = p.parse_args(argv)
    return fill_defaults(args, QUICK if args.quick else DEFAULTS)




def group_settings(ds, settings: list) -> list:
    """[(setting, attribute names, groups array)] of a loaded dataset."""
    G = ds.codes if ds.codes.ndim == 2 else ds.codes[:, None]
    out = []
    if "disjoint" in settings:
        out.append(("disjoint", ds.group_names[:1], G[:, 0]))
    if "overlapping" in settings and G.shape[1] > 1:
        out.append(("overlapping", list(ds.group_names), G))
    return out


def readable_groups(G: np.ndarray, group_values: list) -> np.ndarray:
    """Group codes replaced by their values (``married``, ``yes``) for the figure's legend."""
    cols = G if G.ndim == 2 else G[:, None]
    named = np.column_stack([np.asarray(group_values[t], dtype=str)[cols[:, t]] for t in range(cols.shape[1])])
    return named if G.ndim == 2 else named[:, 0]


def run_cell(method: str, X, G, k: int, delta: float, seed: int, n_init: int, solver: str) -> dict:
    t0 = time.perf_counter()
    if method == "relax-merge":
        from fairopt import FairKMeans

        est = FairKMeans(n_clusters=k, delta=delta, n_init=n_init, solver=solver, random_state=seed).fit(X, G)
        out = {"violation": est.violation_, "cost": est.cost_, "fractional_cost": est.fractional_cost_,
               "labels": est.labels_, "centres": est.cluster_centers_}
    else:
        from fairopt.baselines import nips19

        res = nips19(X, G, k, delta=delta, n_init=n_init, solver=solver, random_state=seed)
        out = {"violation": res.violation, "cost": res.cost, "fractional_cost": res.fractional_cost,
               "labels": res.labels, "centres": res.centres}
    out["seconds"] = time.perf_counter() - t0
    return out


def print_table(rows: list, ks: list, delta: float, seeds: list) -> None:
    """Violation per (dataset, groups, method) at every k (mean over seeds), like the paper's tables."""
    print(f"additive violation of the rounded labels (delta={delta}, mean over seeds {seeds})")
    print(f"{'dataset':<12}{'groups':<13}{'method':<13}" + "".join(f"{'k=' + str(k):>8}" for k in ks) + f"{'max':>8}")
    keys = list(dict.fromkeys((r["dataset"], r["groups"], r["method"]) for r in rows))
    for key in keys:
        sel = [r for r in rows if (r["dataset"], r["groups"], r["method"]) == key and r["violation"] is not None]
        means = [np.mean([r["violation"] for r in sel if r["k"] == k] or [np.nan]) for k in ks]
        worst = max((r["violation"] for r in sel), default=np.nan)
        print(f"{key[0]:<12}{key[1]:<13}{key[2]:<13}" + "".join(f"{v:>8.3f}" for v in means) + f"{worst:>8.3f}")
    print(f"(disjoint groups: the circulation rounding guarantees a violation of at most {DISJOINT_BOUND:g})")


def violation_figure(rows: list, ks: list, names: list, delta: float):
    """Violation against k: one panel per dataset, one bar per (groups, method) and k."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(names), 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    series = list(dict.fromkeys((r["groups"], r["method"]) for r in rows))
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(ks), dtype=float)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for ax, name in zip(axes, names):
        for j, (setting, method) in enumerate(series):
            vals = [np.mean([r["violation"] for r in rows if r["dataset"] == name and r["groups"] == setting
                             and r["method"] == method and r["k"] == k and r["violation"] is not None] or [np.nan])
                    for k in ks]
            ax.bar(x - 0.4 + (j + 0.5) * width, vals, width=0.95 * width, color=colours[j % len(colours)],
                   hatch="" if setting == "disjoint" else "//", label=f"{method}, {setting}")
        ax.axhline(DISJOINT_BOUND, color="black", linestyle="dashed", linewidth=1,
                   label="bound for disjoint groups")
        ax.set_xticks(x, [str(k) for k in ks])
        ax.set_xlabel("k")
        ax.set_title(name, fontsize="medium")
    axes[0].set_ylabel("additive violation")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    fig.suptitle(f"additive violation of the rounded labels, delta={delta}", fontsize="medium")
    return fig



def main(argv=None) -> int:
    from fairopt.plot import plot_composition, save_figure
    from fairopt.results import result_record, write_json

    args = parse_args(argv)
    try:
        names = name_list(args.datasets, datasets.available_datasets(), "datasets")
        settings = name_list(args.groups, SETTINGS, "groups")
        ks, seeds = int_list(args.ks, "ks"), int_list(args.seeds, "seeds")
        methods = name_list(args.methods, METHODS, "methods")
        if not 0.0 <= args.delta < 1.0:
            raise ValueError(f"--delta must be in [0, 1); got {args.delta}")
    except ValueError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    paths = {key: os.path.join(args.out, f) for key, f in
             (("csv", NAME + ".csv"), ("json", NAME + ".json"), ("bars", "violation_vs_k.png"),
              ("composition", "violation_composition.png"))}
    existing = [p for p in paths.values() if os.path.exists(p)]
    if existing and not args.overwrite:
        print(f"{NAME}: error: {', '.join(existing)} exist; pass --overwrite to replace them", file=sys.stderr)
        return 2

    t_start = time.perf_counter()
    rows, runs, inputs, data = [], [], {}, {}
    try:
        for name in names:
            ds = datasets.load_dataset(name, data_home=args.data_home, max_points=args.max_points, random_state=0)
            inputs[name] = {"n": ds.X.shape[0], "group_names": ds.group_names, "group_values": ds.group_values,
                            "indices": ds.indices}
            for setting, attrs, G in group_settings(ds, settings):
                data[(name, setting)] = (ds.X, readable_groups(G, ds.group_values))
                m = int(sum(np.unique(G[:, t]).size for t in range(G.shape[1]))) if G.ndim == 2 else np.unique(G).size
                for seed in seeds:
                    for k in ks:
                        for method in methods:
                            row = {"dataset": name, "groups": setting, "attributes": "+".join(attrs),
                                   "n": ds.X.shape[0], "m": m, "seed": seed, "k": k, "delta": args.delta,
                                   "method": method, "status": "ok"}
                            try:
                                cell = run_cell(method, ds.X, G, k, args.delta, seed, args.n_init, args.solver)
                            except (SolverStatusError, ResourceLimitError) as exc:  # a failed solve: an error row
                                cell = dict.fromkeys(("violation", "cost", "fractional_cost", "seconds", "labels",
                                                      "centres"))
                                row["status"] = f"error: {exc}"
                            runs.append({"dataset": name, "groups": setting, "seed": seed, "k": k, "method": method,
                                         "labels": cell.pop("labels"), "centres": cell.pop("centres")})
                            rows.append({**row, **cell})
    except (FairoptError, ValueError, FileNotFoundError) as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return 2
    total = time.perf_counter() - t_start
    if not rows:
        print(f"{NAME}: error: nothing to run (no dataset has the requested group setting)", file=sys.stderr)
        return 2

    print_table(rows, ks, args.delta, seeds)
    write_csv(rows, paths["csv"], COLUMNS, overwrite=args.overwrite)
    record = result_record(
        "example-violation-table", inputs={"data_home": args.data_home, "datasets": inputs, "subsample_seed": 0},
        parameters={"ks": ks, "delta": args.delta, "groups": settings, "methods": methods,
                    "max_points": args.max_points, "n_init": args.n_init, "solver": args.solver},
        seeds={"methods": seeds, "subsample": 0}, metrics={"rows": rows}, seconds={"total": total},
        extra={"runs": runs},
    )
    write_json(record, paths["json"], overwrite=args.overwrite)
    done = [r for r in rows if r["violation"] is not None]
    save_figure(violation_figure(done, ks, names, args.delta), paths["bars"], overwrite=args.overwrite)
    # The composition of the worst Relax-and-Merge run (any run when Relax and Merge was not asked for).
    pool = [i for i, r in enumerate(rows) if r["violation"] is not None and r["method"] == "relax-merge"] or \
           [i for i, r in enumerate(rows) if r["violation"] is not None]
    if pool:
        worst = max(pool, key=lambda i: rows[i]["violation"])
        r = rows[worst]
        _, G = data[(r["dataset"], r["groups"])]
        fig = plot_composition(runs[worst]["labels"], G, delta=args.delta, n_clusters=r["k"],
                               title=f"{r['dataset']} ({r['attributes']}), {r['method']}, k={r['k']}, "
                                     f"seed {r['seed']}: violation {r['violation']:.3f}")
        save_figure(fig, paths["composition"], overwrite=args.overwrite)
    print(f"\nwrote {', '.join(paths.values())} in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

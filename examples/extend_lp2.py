"""Extend LP (2) with a constraint of your own, solve it with two solvers, export it.

LP (2) of the Relax-and-Merge paper is declared once in ``fairopt.models.fair_assignment``.
To change the model, build it and add to it: here a capacity U on every centre,

    W(c) <= U        for every centre c       (capacity)

on top of  sum_c phi(x, c) = w(x),  beta_i W(c) <= W_i(c) <= alpha_i W(c).

The extended model is solved with HiGHS and with GLPK (CBC, or nothing, when GLPK is
missing), compared with the model without capacities, written to an .lp file that any LP
solver reads, and summarised in a JSON file.

    python examples/extend_lp2.py --out DIR [--overwrite] [--n 60] [--k 4] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np
from fairopt.models import fair_assignment as lp2

import fairopt
from fairopt.problem import make_fair_problem

LP_NAME = "lp2_capacity.lp"
JSON_NAME = "lp2_capacity.json"


def synthetic_instance(n: int, k: int, seed: int):
    """Three blobs of unequal size, two groups leaning to different blobs, k centres."""
    rng = np.random.default_rng(seed)
    blob_centres = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]])
    blob = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])
    X = blob_centres[blob] + rng.normal(size=(n, 2))
    groups = np.where(rng.random(n) < np.array([0.7, 0.3, 0.5])[blob], "red", "blue")
    centres = X[rng.choice(n, k, replace=False)]
    return X, groups, centres


def add_capacity(model, U: float):
    """The extension: W(c) <= U for every centre c (named ``capacity`` like the paper's rows)."""
    import pyomo.environ as pyo

    model.U = pyo.Param(initialize=float(U), doc="capacity of every centre")
    model.capacity = pyo.Constraint(model.C, rule=lambda m, c: m.W[c] <= m.U)
    return model


def second_solver() -> str | None:
    avail = fairopt.available_solvers()
    for name in ("glpk", "cbc"):
        if avail.get(name):
            return name
    return None


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=None, help="folder for the .lp and .json files (default: a new temp folder)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--n", type=int, default=60, help="number of points")
    p.add_argument("--k", type=int, default=4, help="number of centres")
    p.add_argument("--delta", type=float, default=0.1, help="fairness slack")
    p.add_argument("--slack", type=float, default=1.1, help="capacity U = slack * total mass / k")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="fairopt-extend-")
    os.makedirs(out, exist_ok=True)
    lp_path, json_path = os.path.join(out, LP_NAME), os.path.join(out, JSON_NAME)
    if not args.overwrite:
        existing = [p for p in (lp_path, json_path) if os.path.exists(p)]
        if existing:
            print(f"error: {', '.join(existing)} exist; pass --overwrite to replace them", file=sys.stderr)
            return 1

    X, groups, centres = synthetic_instance(args.n, args.k, args.seed)
    P = make_fair_problem(X, groups, delta=args.delta)
    U = args.slack * P.weights.sum() / args.k
    build_args = (P.points, centres, P.groups, P.alpha, P.beta, P.weights)

    plain = fairopt.solve(lp2.build_pyomo(*build_args), solver="highs", require_optimal=True)
    model = add_capacity(lp2.build_pyomo(*build_args), U)

    solvers = ["highs"] + [s for s in [second_solver()] if s]
    if len(solvers) == 1:
        print("note: neither glpk nor cbc is installed; solving with highs only")
    results = {}
    for name in solvers:
        res = fairopt.solve(model, solver=name, require_optimal=True)
        results[name] = {"objective": res.objective, "seconds": res.seconds,
                         "phi": np.asarray(res.values["phi"]).tolist(), "W": np.asarray(res.values["W"]).tolist()}

    fairopt.export(model, lp_path, overwrite=args.overwrite)

    summary = {
        "n": args.n, "k": args.k, "delta": args.delta, "seed": args.seed, "capacity": U,
        "weights": P.weights.tolist(),
        "unconstrained_objective": plain.objective,
        "unconstrained_max_W": float(np.max(plain.values["W"])),
        "solvers": results,
        "lp_file": lp_path,
    }
    tmp = json_path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(summary, fh, indent=1)
    os.replace(tmp, json_path)

    print(f"LP (2) on n={args.n} points, k={args.k} centres, capacity U={U:.3f} per centre")
    print(f"  without capacity (highs): {plain.objective:.6f}   (largest W(c) = {summary['unconstrained_max_W']:.3f})")
    for name, r in results.items():
        print(f"  with capacity ({name:5s}):   {r['objective']:.6f}")
    print(f"wrote {lp_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

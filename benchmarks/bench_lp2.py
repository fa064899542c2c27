"""LP (2): the dense HiGHS model against multilevel column generation, side by side.

Instances (the Relax-and-Merge setting): bank (attributes marital + default: 5 overlapping
groups) and balanced_cluto (9 disjoint groups), n = 1000 points drawn uniformly (seed 0),
|S| = 400 kd-tree candidates (seed 0), delta in {0, 0.1}. For each instance:

* dense: ``fairopt.solve(models.fair_assignment.to_matrices(...), "highs")``, all n x |S| arcs
  (model building timed separately from the solve);
* colgen: :func:`fairopt.assignment.colgen.solve_colgen` (the default path of
  ``fairopt.fair_assignment`` and ``FairKMeans``), which proves optimality by pricing all arcs.

``--scale`` adds the scale run: cluto (all 10,000 points, 9 groups) with 4,000 kd-tree
candidates, 40 million arcs, which the dense model cannot even build; it runs in a child process
so that its peak memory is measured alone, with a progress bar when stderr is a terminal.

Prints a table with the speed-up ratios and writes ``benchmarks/results/lp2.json``. Wall
seconds on whatever machine runs it; both paths run one after the other in the same process.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time
from pathlib import Path

import numpy as np
from fairopt.models import fair_assignment as lp2

from fairopt.assignment.colgen import solve_colgen
from fairopt.candidates import candidate_set
from fairopt.datasets import load
from fairopt.problem import make_fair_problem
from fairopt.results import result_record, write_json
from fairopt.solvers.core import solve

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "lp2.json"
DATA_HOME = Path(os.environ.get("FAIROPT_DATA_HOME", HERE.parents[1] / "shared" / "datasets"))
INSTANCES = {"bank": ["marital", "default"], "balanced_cluto": None}


def instance(name, attributes, n, size, delta, data_home):
    X, groups = load(name, data_home=data_home, max_points=n, random_state=0, attributes=attributes)
    C = candidate_set(X, method="kdtree", size=size, random_state=0)
    return make_fair_problem(X, groups, delta=delta), C


def run_dense(P, C, options=None):
    t0 = time.perf_counter()
    model = lp2.to_matrices(P.points, C, P.groups, P.alpha, P.beta, P.weights)
    t1 = time.perf_counter()
    res = solve(model, "highs", options=options)
    t2 = time.perf_counter()
    return {"status": res.status, "objective": res.objective, "build_s": t1 - t0, "solve_s": t2 - t1, "total_s": t2 - t0}


def violation(P, phi):
    """Largest violation of LP (2)'s constraints by an assignment (0 when feasible)."""
    W = np.asarray(phi.sum(axis=0)).ravel()
    Wi = np.asarray((P.groups.membership.T @ phi).todense())
    mass = np.abs(np.asarray(phi.sum(axis=1)).ravel() - P.weights).max()
    up = np.max(Wi - P.alpha[:, None] * W[None, :], initial=0.0)
    lo = np.max(P.beta[:, None] * W[None, :] - Wi, initial=0.0)
    return float(max(mass, up, lo, -min(phi.data.min(initial=0.0), 0.0)))


def run_colgen(P, C, progress=False, time_limit=None):
    t0 = time.perf_counter()
    res = solve_colgen(P.points, P.weights, P.groups.membership, P.alpha, P.beta, C, progress=progress,
                       time_limit=time_limit)
    total = time.perf_counter() - t0
    info = res.info
    viol = violation(P, res.assignment) if res.assignment is not None else None
    return {"status": res.status, "objective": res.objective, "total_s": total, "max_violation": viol,
            "min_reduced_cost": info.get("min_reduced_cost"), "tolerance": info["tolerance"],
            "lower_bound": info.get("lower_bound"), "rounds": info["iterations"],
            "simplex_iterations": info["simplex_iterations"], "arcs": info["columns"],
            "arcs_generated": info["arcs_generated"], "nonzeros": info["nonzeros"],
            "seconds": info["seconds"], "levels": info["levels"]}


def _scale_child(queue, data_home, n, size, delta, time_limit, progress):
    t0 = time.perf_counter()
    X, groups = load("cluto", data_home=data_home, max_points=n, random_state=0)
    C = candidate_set(X, method="kdtree", size=size, random_state=0)
    P = make_fair_problem(X, groups, delta=delta)
    setup = time.perf_counter() - t0
    out = run_colgen(P, C, progress=progress, time_limit=time_limit)
    out.update(setup_s=setup, n=int(X.shape[0]), candidates=int(C.shape[0]), groups=int(P.groups.n_groups),
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    queue.put(out)


def run_scale(data_home, n=10_000, size=4_000, delta=0.0, time_limit=1800.0, progress=True):
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_scale_child, args=(queue, str(data_home), n, size, delta, time_limit, progress))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks lp2", description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=list(INSTANCES), choices=list(INSTANCES))
    p.add_argument("--deltas", nargs="+", type=float, default=[0.0, 0.1])
    p.add_argument("-n", type=int, default=1000, help="points per instance (uniform subsample, seed 0)")
    p.add_argument("--candidates", type=int, default=400, help="kd-tree candidates |S|")
    p.add_argument("--scale", action="store_true", help="also run cluto 10,000 x 4,000 (minutes)")
    p.add_argument("--scale-only", action="store_true", help="run only the scale instance")
    p.add_argument("--scale-delta", type=float, default=0.0)
    p.add_argument("--scale-time-limit", type=float, default=1800.0, help="seconds (the goal is 600)")
    p.add_argument("--reference", choices=["auto", "always", "never"], default="auto",
                   help="re-solve the dense model with dual_feasibility_tolerance=1e-10 (untimed) when the "
                        "default dense objective differs from colgen's by more than 1e-7 (auto)")
    p.add_argument("--data-home", default=str(DATA_HOME))
    p.add_argument("--output", default=str(RESULTS))
    args = p.parse_args(argv)

    rows = []
    if not args.scale_only:
        header = (f"{'dataset':<15} {'delta':>5} {'groups':>6} {'dense s':>8} {'colgen s':>8} {'ratio':>6} "
                  f"{'colgen objective':>17} {'vs dense':>9} {'vs ref':>9} {'min rc':>10} {'viol':>8} {'arcs':>6}")
        print(header)
        print("-" * len(header))
        for name in args.datasets:
            for delta in args.deltas:
                P, C = instance(name, INSTANCES[name], args.n, args.candidates, delta, args.data_home)
                dense = run_dense(P, C)
                cg = run_colgen(P, C)
                rel = (cg["objective"] - dense["objective"]) / abs(dense["objective"])
                ref = None
                if args.reference == "always" or (args.reference == "auto" and abs(rel) > 1e-7):
                    ref = run_dense(P, C, options={"dual_feasibility_tolerance": 1e-10})
                    ref["rel_diff"] = (cg["objective"] - ref["objective"]) / abs(ref["objective"])
                ratio = dense["total_s"] / cg["total_s"]
                row = {"dataset": name, "attributes": INSTANCES[name], "delta": delta, "n": int(P.points.shape[0]),
                       "candidates": int(C.shape[0]), "groups": int(P.groups.n_groups), "dense": dense, "colgen": cg,
                       "ratio": ratio, "objective_rel_diff": rel, "reference": ref}
                rows.append(row)
                print(f"{name:<15} {delta:>5.2f} {row['groups']:>6} {dense['total_s']:>8.2f} {cg['total_s']:>8.3f} "
                      f"{ratio:>6.1f} {cg['objective']:>17.10g} {rel:>9.1e} "
                      f"{_fmt(None if ref is None else ref['rel_diff'], '.1e'):>9} "
                      f"{_fmt(cg['min_reduced_cost'], '.2e'):>10} {_fmt(cg['max_violation'], '.1e'):>8} {cg['arcs']:>6}",
                      flush=True)
        print("ratio = dense (build + solve) seconds / colgen seconds. vs dense, vs ref = (colgen - dense) / dense "
              "objective; ref = the dense model re-solved with dual_feasibility_tolerance 1e-10 (untimed, only when "
              "vs dense exceeds 1e-7). min rc = smallest reduced cost over all n x |S| arcs (the certificate, "
              ">= -tolerance). viol = largest constraint violation of the colgen assignment.")
    scale = None
    if args.scale or args.scale_only:
        print(f"\nscale run: cluto, 10,000 points x 4,000 candidates, delta = {args.scale_delta}", flush=True)
        scale = run_scale(args.data_home, delta=args.scale_delta, time_limit=args.scale_time_limit)
        print(f"status {scale['status']}, objective {scale['objective']:.10g}, {scale['total_s']:.1f} s "
              f"(+ {scale['setup_s']:.1f} s loading and candidates), peak memory {scale['peak_rss_mb']:.0f} MB, "
              f"min reduced cost {_fmt(scale['min_reduced_cost'], '.2e')} (tolerance {scale['tolerance']:.2e}), "
              f"{scale['rounds']} rounds, {scale['simplex_iterations']} simplex iterations, {scale['arcs']} arcs "
              f"in the final master of {scale['n'] * scale['candidates']:,}")
    record = result_record(
        "benchmark-lp2",
        inputs={"datasets": {k: INSTANCES[k] for k in args.datasets}, "n": args.n, "candidates": args.candidates,
                "data_home": args.data_home},
        parameters={"deltas": args.deltas, "candidate_method": "kdtree", "dense_solver": "highs"},
        seeds={"subsample": 0, "candidates": 0},
        metrics={"instances": rows, "scale": scale},
        extra={"cpu_count": os.cpu_count()},
    )
    if rows or scale:
        write_json(record, args.output, overwrite=True)
        print(f"wrote {args.output}")
    return record


if __name__ == "__main__":
    main()

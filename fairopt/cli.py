"""The ``fairopt`` command: a thin layer over the Python API (one option, one keyword argument).

Subcommands: ``demo``, ``fair-kmeans``, ``strictly-fair``, ``barycenter``, ``balanced``,
``experiment``, ``solvers``. Every error becomes one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import os
import sys
import time

import numpy as np

from .exceptions import FairoptError

# Subcommands that live beside the algorithm they drive: module -> it provides add_subparser/run.
_PLUGINS = ("fairopt.fairlets_cli", "fairopt.barycenter_cli", "fairopt.ballot_cli", "fairopt.experiment")


class CLIError(FairoptError):
    """A command-line usage error (bad option combination, unreadable CSV)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit status 2 as usual."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# --------------------------------------------------------------------------- data options
def add_data_options(p: argparse.ArgumentParser, groups: bool = True) -> None:
    """Options shared by the subcommands that read points (and groups)."""
    src = p.add_argument_group("data (a named dataset or a CSV file)")
    src.add_argument("--dataset", help="dataset name (see `fairopt.datasets.available_datasets()`)")
    src.add_argument("--data-home", help="folder with the dataset files (default: $FAIROPT_DATA, then ~/fairopt_data)")
    src.add_argument("--max-points", type=int, help="subsample uniformly to this many points (fixed seed)")
    if groups:
        src.add_argument("--attributes", help="comma-separated group columns of the dataset (default: all)")
    src.add_argument("--csv", help="a CSV file with a header row")
    src.add_argument("--features", help="comma-separated feature columns of --csv")
    if groups:
        src.add_argument("--groups", help="comma-separated group columns of --csv")
    src.add_argument("--sep", default=",", help="CSV separator (default ',')")


def _split(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def read_csv(path: str, features: list, group_cols: list | None, sep: str = ","):
    """Read feature columns (as floats) and group columns (as strings) from a CSV with a header."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh, delimiter=sep))
    except OSError as exc:
        raise CLIError(f"cannot read --csv {path!r}: {exc.strerror}") from None
    if len(rows) < 2:
        raise CLIError(f"--csv {path!r} has no data rows")
    header = [h.strip().strip('"') for h in rows[0]]
    index = {h: i for i, h in enumerate(header)}
    for col in (features or []) + (group_cols or []):
        if col not in index:
            raise CLIError(f"column {col!r} is not in {path!r}; columns are {header}")
    body = [r for r in rows[1:] if r]
    short = [i for i, r in enumerate(body) if len(r) < len(header)]
    if short:
        raise CLIError(f"--csv {path!r}: data row {short[0] + 1} has {len(body[short[0]])} field(s) but the header has "
                       f"{len(header)}; is --sep {sep!r} right?")
    try:
        X = np.array([[float(r[index[c]]) for c in features] for r in body])
    except ValueError as exc:
        raise CLIError(f"a feature column of {path!r} is not numeric: {exc}") from None
    G = None
    if group_cols:
        G = np.array([[r[index[c]].strip() for c in group_cols] for r in body], dtype=object)
        blank = np.flatnonzero((G == "").any(axis=1))
        if blank.size:
            raise CLIError(f"--csv {path!r}: a group column is empty in {blank.size} data row(s) (first: row "
                           f"{blank[0] + 1}); fill in or drop those rows")
        G = G[:, 0] if G.shape[1] == 1 else G
    return X, G


def load_data(args, groups: bool = True):
    """(X, groups or None) from --dataset or --csv."""
    from . import datasets

    if bool(args.dataset) == bool(args.csv):
        raise CLIError("give exactly one of --dataset NAME or --csv FILE")
    if args.max_points is not None and args.max_points < 1:
        raise CLIError(f"--max-points must be a positive number of points; got {args.max_points}")
    if args.dataset:
        attrs = _split(getattr(args, "attributes", None))
        X, G = datasets.load(args.dataset, data_home=args.data_home, max_points=args.max_points,
                             random_state=0, attributes=attrs)
        return X, (G if groups else None)
    feats = _split(args.features)
    if not feats:
        raise CLIError("--csv needs --features col1,col2,...")
    gcols = _split(getattr(args, "groups", None)) if groups else None
    if groups and not gcols:
        raise CLIError("--csv needs --groups col (one or more group columns)")
    X, G = read_csv(args.csv, feats, gcols, args.sep)
    if args.max_points and args.max_points < X.shape[0]:
        idx = np.sort(np.random.default_rng(0).choice(X.shape[0], args.max_points, replace=False))
        X, G = X[idx], (None if G is None else G[idx])
    return X, G


def add_output_options(p: argparse.ArgumentParser) -> None:
    out = p.add_argument_group("output")
    out.add_argument("--json", help="write a JSON result (inputs, parameters, seeds, versions, costs, seconds)")
    out.add_argument("--plot", help="write a figure (PNG)")
    out.add_argument("--overwrite", action="store_true", help="replace existing output files")
    out.add_argument("--quiet", action="store_true", help="no progress bars")


def write_outputs(args, record: dict, figure_fn=None) -> None:
    """Write --json and --plot; files are written whole or not at all."""
    if getattr(args, "json", None):
        from .results import write_json

        write_json(record, args.json, overwrite=args.overwrite)
        print(f"wrote {args.json}")
    if getattr(args, "plot", None) and figure_fn is not None:
        from .plot import save_figure

        save_figure(figure_fn(), args.plot, overwrite=args.overwrite)
        print(f"wrote {args.plot}")


# --------------------------------------------------------------------------- fair-kmeans
def _add_fair_kmeans(sub) -> None:
    p = sub.add_parser("fair-kmeans", help="fair k-means by Relax and Merge (Algorithm 1), with the NIPS19 baseline",
                       description="Fair k-means by Relax and Merge; prints cost, fractional cost, violation and "
                                   "seconds per stage next to the NIPS19 baseline (Bera et al. 2019).")
    add_data_options(p)
    p.add_argument("--k", type=int, default=6, help="number of clusters")
    p.add_argument("--delta", type=float, default=0.1, help="slack of the fairness bounds, in [0, 1)")
    p.add_argument("--solver", default="highs", help="LP solver: highs, glpk, cbc, gurobi")
    p.add_argument("--method", default="auto", help="LP (2) path: auto, colgen, direct, pyomo, cvxpy")
    p.add_argument("--candidates", default="kdtree+points", help="candidate set: kdtree+points, kdtree, points, grid")
    p.add_argument("--n-candidates", type=int, help="size of the sampled candidate set")
    p.add_argument("--candidate-ratio", type=float, default=1.0, help="fraction of the candidate set kept")
    p.add_argument("--n-init", type=int, default=10, help="restarts of the k-means merge")
    p.add_argument("--n-refine", type=int, default=0,
                   help="steps of the optional fair Lloyd refinement after the merge (0: the paper's Algorithm 1)")
    p.add_argument("--time-limit", type=float, help="seconds per LP solve")
    p.add_argument("--best-effort", action="store_true", help="return labels even from a non-optimal LP")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--no-baseline", action="store_true", help="skip the NIPS19 baseline")
    p.add_argument("--export-lp", help="write LP (2) on the final centres to this .lp or .mps file")
    add_output_options(p)
    p.set_defaults(func=run_fair_kmeans)


def _summary_rows(name, est_or_res):
    get = (lambda a: getattr(est_or_res, a + "_")) if hasattr(est_or_res, "labels_") else (lambda a: getattr(est_or_res, a))
    return name, get("cost"), get("fractional_cost"), get("violation"), get("seconds")


def print_fair_summary(rows, k, n, delta) -> None:
    print(f"fair k-means: n={n} k={k} delta={delta}")
    print(f"{'method':<16}{'cost':>14}{'fractional':>14}{'violation':>11}{'seconds':>10}")
    for name, cost, frac, viol, secs in rows:
        print(f"{name:<16}{cost:>14.6g}{frac:>14.6g}{viol:>11.3g}{secs.get('total', sum(secs.values())):>10.2f}")
    for name, *_, secs in rows:
        stages = ", ".join(f"{k_}={v:.2f}s" for k_, v in secs.items() if k_ != "total")
        print(f"  {name} stages: {stages}")
    if len(rows) == 2 and rows[1][2] > 0:
        print(f"  fractional cost ratio {rows[0][0]}/{rows[1][0]}: {rows[0][2] / rows[1][2]:.3f}")


def run_fair_kmeans(args) -> int:
    from .relax_merge import FairKMeans

    X, G = load_data(args)
    if args.export_lp:
        # Refuse a dense LP (2) file that cannot be built before spending the run on it.
        from .problem import encode_groups
        from .resources import check_fits, lp2_size

        g = encode_groups(G, X.shape[0])
        check_fits("LP (2) for --export-lp", **lp2_size(X.shape[0], args.k, g.n_groups, g.n_attributes),
                   fix="drop --export-lp or export a subsample (--max-points)")
    t0 = time.perf_counter()
    fk = FairKMeans(n_clusters=args.k, delta=args.delta, solver=args.solver, method=args.method,
                    candidates=args.candidates, n_candidates=args.n_candidates,
                    candidate_ratio=args.candidate_ratio, n_init=args.n_init, n_refine=args.n_refine,
                    time_limit=args.time_limit,
                    best_effort=args.best_effort, random_state=args.random_state,
                    progress=not args.quiet).fit(X, G)
    rows = [_summary_rows("relax-merge", fk)]
    base = None
    if not args.no_baseline:
        from .baselines import nips19

        base = nips19(X, G, args.k, delta=args.delta, solver=args.solver, method=args.method,
                      n_init=args.n_init, random_state=args.random_state)
        rows.append(_summary_rows("nips19", base))
    print_fair_summary(rows, args.k, X.shape[0], args.delta)
    if fk.status_ != "optimal":
        print(f"  WARNING: best-effort result, LP status {fk.status_!r}")
    if args.export_lp:
        from .models import fair_assignment as lp2
        from .solve import export

        export(lp2.to_matrices(X, fk.cluster_centers_, G, fk.alpha_, fk.beta_), args.export_lp, overwrite=args.overwrite)
        print(f"wrote {args.export_lp}")
    if args.json or args.plot:
        from .results import result_record

        metrics = {"relax_merge": {"cost": fk.cost_, "fractional_cost": fk.fractional_cost_,
                                   "relaxed_cost": fk.relaxed_cost_, "violation": fk.violation_, "status": fk.status_}}
        if base is not None:
            metrics["nips19"] = {"cost": base.cost, "fractional_cost": base.fractional_cost, "violation": base.violation}
        record = result_record("fair-kmeans", inputs=_inputs(args, X), parameters=_params(args),
                               seeds={"random_state": args.random_state}, metrics=metrics,
                               seconds={"relax_merge": fk.seconds_, **({"nips19": base.seconds} if base else {}),
                                        "wall": time.perf_counter() - t0},
                               extra={"labels": fk.labels_.tolist(), "centres": fk.cluster_centers_.tolist()})

        def figure():
            from .plot import plot_clusters

            return plot_clusters(X, fk.labels_, groups=G, centres=fk.cluster_centers_,
                                 title=f"Relax and Merge, k={args.k}, delta={args.delta}")

        write_outputs(args, record, figure)
    return 0


def _inputs(args, X):
    return {"dataset": args.dataset, "csv": args.csv, "n": int(X.shape[0]), "d": int(X.shape[1]),
            "max_points": args.max_points, "attributes": getattr(args, "attributes", None)}


def _params(args):
    skip = {"func", "json", "plot", "overwrite", "quiet", "command"}
    return {k: v for k, v in vars(args).items() if k not in skip}


# --------------------------------------------------------------------------- demo and solvers
def run_demo(args) -> int:
    """LP (2) on a built-in synthetic instance, then Relax and Merge against NIPS19 on it."""
    from . import datasets
    from .assignment import fair_assignment
    from .baselines import nips19
    from .relax_merge import FairKMeans

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
    print_fair_summary([_summary_rows("relax-merge", fk), _summary_rows("nips19", base)], k, X.shape[0], delta)
    return 0


def run_solvers(args) -> int:
    from .solve import SOLVERS, available_solvers

    avail = available_solvers()
    for name, (what, how) in SOLVERS.items():
        print(f"{name:<10}{'installed' if avail[name] else 'missing':<11}{what}" + ("" if avail[name] else f"  [{how}]"))
    return 0


# --------------------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = OneLineParser(prog="fairopt", description="Fair and balanced clustering on declarative LPs.")
    parser.add_argument("--version", action="version", version=f"fairopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    d = sub.add_parser("demo", help="LP (2) and fair k-means on a built-in synthetic instance (no data files)")
    d.add_argument("--solver", default="highs")
    d.set_defaults(func=run_demo)
    _add_fair_kmeans(sub)
    for mod in _PLUGINS:
        try:
            module = importlib.import_module(mod)
        except ImportError:
            continue
        module.add_subparser(sub)
    s = sub.add_parser("solvers", help="list the LP solvers and whether they are installed")
    s.set_defaults(func=run_solvers)
    return parser


OUTPUT_OPTIONS = ("json", "plot", "export_lp")


def check_outputs(args) -> None:
    """Refuse existing output files before any work, so a refused run writes nothing at all."""
    if getattr(args, "overwrite", False):
        return
    for name in OUTPUT_OPTIONS:
        path = getattr(args, name, None)
        if path and os.path.exists(path):
            raise FileExistsError(f"--{name.replace('_', '-')} {path} exists; pass --overwrite to replace it")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "quiet", False):
        import os

        os.environ["FAIROPT_QUIET"] = "1"
    import warnings

    def one_line_warning(message, category, filename, lineno, file=None, line=None):
        print(f"fairopt {args.command}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line_warning
            check_outputs(args)
            return int(args.func(args) or 0)
    except (FairoptError, OSError, ValueError, ImportError) as exc:
        # OSError covers FileNotFoundError, FileExistsError and PermissionError of the outputs.
        print(f"fairopt {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fairopt {args.command}: interrupted; no partial output was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

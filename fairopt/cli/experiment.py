"""``fairopt experiment GRID.toml``: a grid of (dataset, method, k, delta, seed) cells on Dask."""
from __future__ import annotations

from fairopt.distributed.experiment import run_grid


def add_subparser(subparsers) -> None:
    """``fairopt experiment GRID.toml [--scheduler ADDRESS] [--workers N] ...``"""
    p = subparsers.add_parser("experiment", help="run a grid of (dataset, method, k, delta, seed) cells on Dask",
                              description="Run every cell of a TOML grid not yet in its output CSV; results are "
                                          "appended as cells finish, so an interrupted grid resumes where it stopped.")
    p.add_argument("grid", metavar="GRID.toml", help="the grid (see examples/grid_small.toml)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler (default: a LocalCluster)")
    p.add_argument("--workers", type=int, dest="n_workers", help="LocalCluster workers (default: the grid's n_workers, 2)")
    p.add_argument("--threads", action="store_true", help="LocalCluster workers as threads instead of processes")
    p.add_argument("--output", help="CSV to write (default: the grid's output); a .jsonl is written beside it")
    p.add_argument("--max-cells", type=int, help="run at most this many missing cells")
    p.add_argument("--retry-errors", action="store_true", help="run the cells recorded with status 'error' again")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    res = run_grid(args.grid, scheduler=args.scheduler, n_workers=args.n_workers, progress=False if args.quiet else None,
                   max_cells=args.max_cells, processes=False if args.threads else None, output=args.output,
                   retry_errors=args.retry_errors)
    print(f"grid: {res.n_cells} cells, {res.n_skipped} already done, {res.n_run} run in {res.seconds:.1f} s, "
          f"{res.n_errors} failed (status 'error', see the message column)")
    print(f"wrote {res.csv_path} and {res.jsonl_path}")
    return 0

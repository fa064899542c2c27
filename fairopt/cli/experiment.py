"""``fairopt experiment GRID.toml``: a grid of (dataset, method, k, delta, seed) cells on Dask."""
from __future__ import annotations

from fairopt.cli.common import CLIError
from fairopt.distributed.experiment import example_grid, run_grid
from fairopt.distributed.scheduler import DEFAULT_TIMEOUT


def add_subparser(subparsers) -> None:
    """``fairopt experiment (GRID.toml | --example NAME) [--scheduler ADDRESS] [--workers N] ...``"""
    p = subparsers.add_parser("experiment", help="run a grid of (dataset, method, k, delta, seed) cells on Dask",
                              description="Run every cell of a TOML grid not yet in its output CSV; results are "
                                          "appended as cells finish, so an interrupted grid resumes where it stopped. "
                                          "Data folder precedence: --data-home, then the grid's data_home, then "
                                          "$FAIROPT_DATA, then ~/fairopt_data.")
    p.add_argument("grid", metavar="GRID.toml", nargs="?", help="the grid (see examples/grid_small.toml)")
    p.add_argument("--example", metavar="NAME", help="run a grid shipped with fairopt instead ('small'); its output "
                                                     "goes to the current folder unless --output says otherwise")
    p.add_argument("--data-home", help="folder with the dataset files (overrides the grid's data_home and $FAIROPT_DATA)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="tcp://HOST:PORT of a running Dask scheduler "
                                                          "(default: a LocalCluster)")
    p.add_argument("--scheduler-timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"seconds to wait for --scheduler to answer (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--workers", type=int, dest="n_workers", help="LocalCluster workers (default: the grid's n_workers, 2)")
    p.add_argument("--threads", action="store_true", help="LocalCluster workers as threads instead of processes")
    p.add_argument("--output", help="CSV to write (default: the grid's output); a .jsonl is written beside it")
    p.add_argument("--max-cells", type=int, help="run at most this many missing cells")
    p.add_argument("--retry-errors", action="store_true", help="run the cells recorded with status 'error' again")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    if (args.grid is None) == (args.example is None):
        raise CLIError("give exactly one of GRID.toml or --example NAME (e.g. --example small)")
    grid = args.grid if args.example is None else example_grid(args.example)
    res = run_grid(grid, scheduler=args.scheduler, n_workers=args.n_workers, progress=False if args.quiet else None,
                   max_cells=args.max_cells, processes=False if args.threads else None, output=args.output,
                   retry_errors=args.retry_errors, scheduler_timeout=args.scheduler_timeout, data_home=args.data_home)
    print(f"grid: {res.n_cells} cells, {res.n_skipped} already done, {res.n_run} run in {res.seconds:.1f} s, "
          f"{res.n_errors} failed (status 'error', see the message column)")
    print(f"wrote {res.csv_path} and {res.jsonl_path}")
    return 0

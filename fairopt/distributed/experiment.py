"""Experiment grids: every (dataset, method, k, delta, seed) cell on a Dask cluster, one table.

A grid is a TOML file (or the same keys as a dict)::

    datasets = ["moons", {name = "bank", attributes = ["marital"], max_points = 500},
                {name = "blobs", generator = "make_fair_blobs", params = {n = 300, k = 3}}]
    data_home = "../../shared/datasets"     # relative paths are relative to the TOML file
    methods = ["relax-merge", "nips19", "kmeans"]
    k = [2, 4]
    delta = [0.1]
    seeds = [0, 1]
    solver = "highs"
    objective = "kmeans"                    # or "kmedian", "kcenter" (methods relax-merge and nips19)
    output = "results/grid.csv"             # plus results/grid.jsonl
    n_workers = 2                           # LocalCluster size (ignored with --scheduler)
    processes = true                        # worker processes (false: threads, quicker start)

Results are appended as each cell finishes, so an interrupted grid keeps what it finished and a
rerun skips the cells already in the CSV (key: dataset, method, k, delta, seed). A cell that
raises is recorded with status "error" and the message; the grid goes on. The CSV holds the
columns of :data:`COLUMNS`; the JSON lines file holds one :func:`fairopt.results.result_record`
per cell (with the worker's package versions and every metric the method returned).

``objective`` (one per grid, default ``"kmeans"``) picks the clustering objective of Bera et
al.'s framework: ``relax-merge`` then runs :class:`fairopt.FairKMeans`, :class:`fairopt.FairKMedian`
or :class:`fairopt.FairKCenter`, ``nips19`` its ``objective``, and ``cost`` is measured under
it (sum of squared distances, sum of distances, largest distance). A method of
:data:`METHODS` receives ``objective=...`` as a keyword only when it is not ``"kmeans"``.
"""
from __future__ import annotations

import functools
import itertools
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from fairopt.balanced.ballot import BalancedKMeans
from fairopt.baselines import nips19, orl21
from fairopt.distributed.grid_config import load_config as _load_config
from fairopt.distributed.grid_config import load_dataset
from fairopt.distributed.grid_files import COLUMNS, KEY, GridTable, cell_key, read_table
from fairopt.distributed.scheduler import (
    DEFAULT_TIMEOUT,
    check_dask,
    connected,
    parse_address,
)
from fairopt.exceptions import ValidationError
from fairopt.fair.fair_kmeans import FairKMeans
from fairopt.fair.fairlets import StrictlyFairKMeans
from fairopt.fair.kcenter import FairKCenter
from fairopt.fair.kmedian import FairKMedian
from fairopt.groups import encode_groups
from fairopt.kmeans import weighted_kmeans
from fairopt.metrics import additive_violation, kmeans_cost
from fairopt.objectives import objective_cost
from fairopt.problem import resolve_bounds
from fairopt.progress import progress_bar
from fairopt.results import result_record, to_jsonable
from fairopt.validation import check_int

__all__ = ["METHODS", "COLUMNS", "GridRun", "run_grid", "load_config", "read_table", "cost_curves", "example_grid",
           ]



# ----------------------------------------------------------------------------- methods
def _summary(X, groups, delta, labels, centres, seconds, fractional_cost=None, objective="kmeans", **extra) -> dict:
    """Cost and violation measured the same way for every method (the objective's cost, LP (2) bounds)."""
    gs = encode_groups(groups, X.shape[0])
    alpha, beta = resolve_bounds(gs, np.ones(X.shape[0]), delta=delta)
    labels = np.asarray(labels)
    cost = kmeans_cost(X, centres, labels) if objective == "kmeans" else objective_cost(X, centres, labels, objective)
    return {"cost": cost, "fractional_cost": fractional_cost,
            "violation": additive_violation(labels, gs, alpha, beta, k=centres.shape[0]), "seconds": seconds, **extra}


def _timed(fit: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fit()
    return out, time.perf_counter() - t


_RELAX_MERGE = {"kmeans": FairKMeans, "kmedian": FairKMedian, "kcenter": FairKCenter}


def _relax_merge(X, groups, k, delta, seed, solver, objective="kmeans"):
    Est = _RELAX_MERGE[objective]
    est, s = _timed(lambda: Est(n_clusters=k, delta=delta, solver=solver, random_state=seed).fit(X, groups))
    return _summary(X, groups, delta, est.labels_, est.cluster_centers_, s, est.fractional_cost_, objective,
                    relaxed_cost=est.relaxed_cost_)


def _nips19(X, groups, k, delta, seed, solver, objective="kmeans"):
    res, s = _timed(lambda: nips19(X, groups, k, delta=delta, solver=solver, random_state=seed, objective=objective))
    return _summary(X, groups, delta, res.labels, res.centres, s, res.fractional_cost, objective)


def _strictly_fair(X, groups, k, delta, seed, solver):
    est, s = _timed(lambda: StrictlyFairKMeans(n_clusters=k, random_state=seed).fit(X, groups))
    return _summary(X, groups, delta, est.labels_, est.cluster_centers_, s, fairlet_cost=est.fairlet_cost_)


def _orl21(X, groups, k, delta, seed, solver):
    res, s = _timed(lambda: orl21(X, groups, k, random_state=seed))
    return _summary(X, groups, delta, res.labels, res.centres, s)


def _balanced(method, X, groups, k, delta, seed, solver):
    # BalLOT ignores the groups (it balances cluster sizes); the violation shows what that gives.

    est, s = _timed(lambda: BalancedKMeans(n_clusters=k, method=method, random_state=seed).fit(X))
    return _summary(X, groups, delta, est.labels_, est.cluster_centers_, s)


def _kmeans(X, groups, k, delta, seed, solver):
    res, s = _timed(lambda: weighted_kmeans(X, None, k, random_state=seed))
    return _summary(X, groups, delta, res.labels, res.centres, s)


#: name -> callable(X, groups, k, delta, seed, solver) -> dict of metrics (cost, fractional_cost,
#: violation, seconds, ...). Estimators are imported inside each callable. Add an entry to run your
#: own method (a module-level function, so that worker processes can import it).
METHODS: dict[str, Callable[..., dict]] = {
    "relax-merge": _relax_merge,
    "nips19": _nips19,
    "strictly-fair": _strictly_fair,
    "orl21": _orl21,
    "ballot": functools.partial(_balanced, "exact"),
    "e-ballot": functools.partial(_balanced, "sinkhorn"),
    "kmeans": _kmeans,
}
#: The methods that take ``objective="kmedian"`` / ``"kcenter"``.
OBJECTIVE_METHODS = ("relax-merge", "nips19")


# ----------------------------------------------------------------------------- configuration
def load_config(config_or_path: Any) -> dict:
    """Read and check a whole grid (TOML path or dict); see :mod:`fairopt.distributed.grid_config`."""
    return _load_config(config_or_path, METHODS, OBJECTIVE_METHODS)


def example_grid(name: str) -> dict:
    """A built-in grid shipped in the package (``fairopt/distributed/grids/NAME.toml``) as a dict.

    Its ``output`` is then relative to the current folder (the package folder may be read-only).
    """
    import tomllib
    from importlib import resources

    folder = resources.files("fairopt.distributed") / "grids"
    names = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))
    if name not in names:
        raise ValidationError(f"unknown example grid {name!r}; built-in grids: {names}")
    return tomllib.loads((folder / f"{name}.toml").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- the table
def cost_curves(rows: list[dict], dataset: str, delta: float, metric: str = "cost") -> tuple[list, dict]:
    """(k values, {method: array (len(k), seeds)}) from a grid table, for :func:`fairopt.plot.plot_cost_vs_k`.

    Failed cells and missing seeds are NaN.
    """
    sel = [r for r in rows if r["dataset"] == dataset and float(r["delta"]) == float(delta)]
    ks = sorted({r["k"] for r in sel})
    seeds = sorted({r["seed"] for r in sel})
    curves = {}
    for r in sel:
        arr = curves.setdefault(r["method"], np.full((len(ks), len(seeds)), np.nan))
        if r["status"] == "ok" and r[metric] is not None:
            arr[ks.index(r["k"]), seeds.index(r["seed"])] = r[metric]
    return ks, curves


# ----------------------------------------------------------------------------- running
def _run_cell(fn: Callable, data: tuple, cell: dict, spec: dict, solver: str,
              objective: str = "kmeans") -> tuple[dict, dict]:
    """Run one cell on a worker; never raises (an error becomes the row's status and message)."""
    X, groups = data
    t = time.perf_counter()
    kw = {} if objective == "kmeans" else {"objective": objective}
    try:
        metrics, status, message = dict(fn(X, groups, cell["k"], cell["delta"], cell["seed"], solver, **kw)), "ok", ""
    except Exception as exc:  # recorded, not raised: one bad cell must not stop the grid
        metrics, status, message = {}, "error", f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - t
    n_groups = int(sum(np.unique(g).size for g in np.asarray(groups).reshape(X.shape[0], -1).T))
    row = {**cell, "status": status, "solver": solver, "message": message, "n": int(X.shape[0]),
           "d": int(X.shape[1]), "n_groups": n_groups, **{m: metrics.get(m) for m in ("cost", "fractional_cost", "violation")},
           "seconds": metrics.get("seconds", wall)}
    inputs = {"dataset": cell["dataset"], "n": row["n"], "d": row["d"], "n_groups": n_groups,
              **{k: v for k, v in spec.items() if k not in ("X", "groups", "id")}}
    record = result_record("experiment-cell", inputs=inputs,
                           parameters={"method": cell["method"], "k": cell["k"], "delta": cell["delta"], "solver": solver,
                                       "objective": objective},
                           seeds={"seed": cell["seed"]}, metrics=metrics, seconds={"method": row["seconds"], "cell": wall},
                           extra={"status": status, "message": message})
    return to_jsonable(row), record


@contextmanager
def _client(scheduler, n_workers: int, processes: bool, timeout: float):
    from dask.distributed import (  # optional dependency (fairopt[dist]), checked by check_dask
        Client,
        LocalCluster,
    )

    if scheduler is not None:
        with connected(scheduler, timeout) as client:
            yield client
        return
    # No dashboard, and the scheduler's small HTTP server on a free port (not 8787, which another
    # cluster may hold: that costs a warning).
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


@dataclass(frozen=True)
class GridRun:
    """What :func:`run_grid` did: the files, and how many cells were skipped, run and failed."""

    csv_path: str
    jsonl_path: str
    n_cells: int
    n_skipped: int
    n_run: int
    n_errors: int
    seconds: float


def run_grid(config_or_path: Any, scheduler: Any = None, n_workers: int | None = None, progress: bool | None = None,
             max_cells: int | None = None, processes: bool | None = None, output: str | os.PathLike | None = None,
             retry_errors: bool = False, scheduler_timeout: float = DEFAULT_TIMEOUT,
             data_home: str | os.PathLike | None = None) -> GridRun:
    """Run every (dataset, method, k, delta, seed) cell of a grid not yet in its output.

    Parameters
    ----------
    config_or_path : str, path or dict
        A TOML grid file or the same keys as a dict (see the module docstring); a dict's
        datasets may also carry arrays ``{"name": ..., "X": (n, d), "groups": (n,) or (n, a)}``.
    scheduler : str, dask LocalCluster or Client, optional
        Address of a running Dask scheduler (``tcp://host:8786``; see
        :mod:`fairopt.distributed.scheduler`); a LocalCluster is started (and stopped) otherwise.
    n_workers : int, optional
        LocalCluster workers (the grid's ``n_workers``, default 2).
    progress : bool or None
        Progress bar; None shows it when stderr is a terminal (see :mod:`fairopt.progress`).
    max_cells : int, optional
        Run at most this many of the missing cells (the rest stay for a rerun).
    processes : bool, optional
        Worker processes (default, the grid's ``processes``) or threads (faster to start).
    output : path, optional
        Overrides the grid's CSV path.
    retry_errors : bool
        Drop the rows with status "error" first, so those cells run again.
    scheduler_timeout : float
        Seconds to wait for ``scheduler`` to answer before a ValidationError.
    data_home : path, optional
        Folder of the dataset files. Precedence: this argument (CLI ``--data-home``), then the
        grid's ``data_home``, then ``$FAIROPT_DATA``, then ``~/fairopt_data``.

    Returns
    -------
    GridRun
    """
    cfg = load_config(config_or_path)
    csv_path = os.path.abspath(os.fspath(output)) if output is not None else cfg["output"]
    jsonl_path = os.path.splitext(csv_path)[0] + ".jsonl"
    n_workers = cfg["n_workers"] if n_workers is None else n_workers
    check_int(n_workers, "n_workers")
    check_int(max_cells, "max_cells", minimum=0, allow_none=True)
    if processes is not None and not isinstance(processes, bool):
        raise ValidationError(f"processes must be True or False; got {processes!r}")
    if isinstance(scheduler_timeout, bool) or not isinstance(scheduler_timeout, (int, float)) or not scheduler_timeout > 0:
        raise ValidationError(f"scheduler_timeout must be a positive number of seconds; got {scheduler_timeout!r}")
    if isinstance(scheduler, str):
        parse_address(scheduler)  # tls://, inproc:// and malformed addresses refused before any work
    if data_home is not None:
        cfg["data_home"] = os.fspath(data_home)
    table = GridTable(csv_path)
    table.check()  # a file the grid does not own is refused before anything is written
    check_dask()
    specs = {d["id"]: d for d in cfg["datasets"]}
    # Datasets are loaded here once, before the output is opened (a missing file is a clear
    # error that leaves no file behind), and shipped to every worker once.
    data = {d: load_dataset(spec, cfg["data_home"]) for d, spec in specs.items()}
    cells = [dict(zip(KEY, (d, m, int(k), float(delta), int(s))))
             for d, m, k, delta, s in itertools.product(specs, cfg["methods"], cfg["k"], cfg["delta"], cfg["seeds"])]
    t0 = time.perf_counter()
    n_errors = 0
    with table.open(retry_errors=retry_errors) as done:
        pending = [c for c in cells if cell_key(c) not in done]
        n_skipped = len(cells) - len(pending)
        if max_cells is not None:
            pending = pending[:max_cells]
        n_errors = _run_pending(pending, specs, data, cfg, table, scheduler, n_workers, processes, progress,
                                scheduler_timeout)
    return GridRun(csv_path, jsonl_path, len(cells), n_skipped, len(pending), n_errors, time.perf_counter() - t0)


def _run_pending(pending, specs, data, cfg, table, scheduler, n_workers, processes, progress, scheduler_timeout) -> int:
    """Run the cells on Dask, appending each as it finishes; returns the number of failed cells."""
    n_errors = 0
    if pending:
        from dask.distributed import as_completed

        with _client(scheduler, int(n_workers), cfg["processes"] if processes is None else processes,
                     scheduler_timeout) as client:
            shipped = {d: client.scatter([v], broadcast=True)[0] for d, v in data.items()}
            futures = {client.submit(_run_cell, METHODS[c["method"]], shipped[c["dataset"]], c, specs[c["dataset"]],
                                     cfg["solver"], cfg["objective"], pure=False): c for c in pending}
            try:
                with progress_bar(total=len(pending), desc="grid", enabled=progress, unit="cell") as bar:
                    for fut in as_completed(futures):
                        try:
                            row, record = fut.result()
                        except Exception as exc:  # the worker died (memory, segfault): still one row
                            cell = futures[fut]
                            row = {**cell, "status": "error", "solver": cfg["solver"], "message": f"{type(exc).__name__}: {exc}"}
                            record = None
                        table.append(row, record)
                        n_errors += row["status"] == "error"
                        bar.update(1)
            finally:
                client.cancel(list(futures))
    return n_errors


# ----------------------------------------------------------------------------- command line

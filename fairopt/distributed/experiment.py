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
    output = "results/grid.csv"             # plus results/grid.jsonl
    n_workers = 2                           # LocalCluster size (ignored with --scheduler)
    processes = true                        # worker processes (false: threads, quicker start)

Results are appended as each cell finishes, so an interrupted grid keeps what it finished and a
rerun skips the cells already in the CSV (key: dataset, method, k, delta, seed). A cell that
raises is recorded with status "error" and the message; the grid goes on. The CSV holds the
columns of :data:`COLUMNS`; the JSON lines file holds one :func:`fairopt.results.result_record`
per cell (with the worker's package versions and every metric the method returned).
"""
from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from fairopt import datasets
from fairopt.balanced.ballot import BalancedKMeans
from fairopt.baselines import nips19, orl21
from fairopt.exceptions import ValidationError
from fairopt.fair.fairlets import StrictlyFairKMeans
from fairopt.fair.relax_merge import FairKMeans
from fairopt.groups import encode_groups
from fairopt.kmeans import weighted_kmeans
from fairopt.metrics import additive_violation, kmeans_cost
from fairopt.problem import resolve_bounds
from fairopt.progress import progress_bar
from fairopt.results import atomic_write, result_record, to_jsonable
from fairopt.validation import check_int

__all__ = ["METHODS", "COLUMNS", "GridRun", "run_grid", "load_config", "read_table", "cost_curves",
           ]

KEY = ("dataset", "method", "k", "delta", "seed")
COLUMNS = KEY + ("status", "cost", "fractional_cost", "violation", "seconds", "n", "d", "n_groups", "solver", "message")


# ----------------------------------------------------------------------------- methods
def _summary(X, groups, delta, labels, centres, seconds, fractional_cost=None, **extra) -> dict:
    """Cost and violation measured the same way for every method (squared distances, LP (2) bounds)."""
    gs = encode_groups(groups, X.shape[0])
    alpha, beta = resolve_bounds(gs, np.ones(X.shape[0]), delta=delta)
    labels = np.asarray(labels)
    return {"cost": kmeans_cost(X, centres, labels), "fractional_cost": fractional_cost,
            "violation": additive_violation(labels, gs, alpha, beta, k=centres.shape[0]), "seconds": seconds, **extra}


def _timed(fit: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fit()
    return out, time.perf_counter() - t


def _relax_merge(X, groups, k, delta, seed, solver):
    est, s = _timed(lambda: FairKMeans(n_clusters=k, delta=delta, solver=solver, random_state=seed).fit(X, groups))
    return _summary(X, groups, delta, est.labels_, est.cluster_centers_, s, est.fractional_cost_,
                    relaxed_cost=est.relaxed_cost_)


def _nips19(X, groups, k, delta, seed, solver):
    res, s = _timed(lambda: nips19(X, groups, k, delta=delta, solver=solver, random_state=seed))
    return _summary(X, groups, delta, res.labels, res.centres, s, res.fractional_cost)


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


# ----------------------------------------------------------------------------- configuration
_TOP_KEYS = {"datasets", "data_home", "methods", "k", "delta", "seeds", "solver", "output", "n_workers", "processes"}
_DATASET_KEYS = {"name", "label", "attributes", "max_points", "random_state", "generator", "params", "X", "groups"}


def _as_list(cfg, key, kind, check, what):
    value = cfg.get(key)
    if value is None:
        raise ValidationError(f"the grid needs {key!r}: a list of {what}")
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, kind) or not check(v):
            raise ValidationError(f"{key} must be a list of {what}; got {v!r} in {key} = {value!r}")
    if not values:
        raise ValidationError(f"{key} is empty: give at least one of {what}")
    return list(values)


def load_config(config_or_path: Any) -> dict:
    """Read and check a grid (TOML path or dict); returns a normalised dict.

    Relative ``data_home``/``output`` are resolved against the TOML file's folder (against the
    working directory for a dict). Every dataset gets an ``id`` (its ``label`` or ``name``),
    unique within the grid.
    """
    if isinstance(config_or_path, Mapping):
        cfg, base = dict(config_or_path), os.getcwd()
        default_output = None
    else:
        import tomllib

        path = os.fspath(config_or_path)
        try:
            with open(path, "rb") as fh:
                cfg = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(f"{path} is not valid TOML: {exc}") from None
        base = os.path.dirname(os.path.abspath(path))
        default_output = os.path.splitext(os.path.basename(path))[0] + ".csv"
    unknown = set(cfg) - _TOP_KEYS
    if unknown:
        raise ValidationError(f"unknown grid key(s) {sorted(unknown)}; the keys are {sorted(_TOP_KEYS)}")
    out = {
        "methods": _as_list(cfg, "methods", str, lambda v: v in METHODS, f"method names from {sorted(METHODS)}"),
        "k": _as_list(cfg, "k", (int, np.integer), lambda v: v >= 1, "integers >= 1"),
        "delta": [float(d) for d in _as_list(cfg, "delta", (int, float), lambda v: 0 <= v < 1, "numbers in [0, 1)")],
        "seeds": _as_list(cfg, "seeds", (int, np.integer), lambda v: v >= 0, "integers >= 0"),
        "solver": cfg.get("solver", "highs"),
        "n_workers": cfg.get("n_workers", 2),
        "processes": bool(cfg.get("processes", True)),
    }
    if not isinstance(out["solver"], str):
        raise ValidationError(f"solver must be a solver name such as 'highs'; got {out['solver']!r}")
    output = cfg.get("output", default_output)
    if output is None:
        raise ValidationError("the grid needs 'output': the CSV file to write (a .jsonl file is written beside it)")
    out["output"] = os.path.join(base, os.fspath(output))
    home = cfg.get("data_home")
    out["data_home"] = None if home is None else os.path.join(base, os.fspath(home))
    datasets = cfg.get("datasets")
    if not datasets or not isinstance(datasets, (list, tuple)):
        raise ValidationError("datasets must be a non-empty list of names or {name = ..., ...} tables")
    out["datasets"] = []
    for entry in datasets:
        spec = {"name": entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, Mapping) else None
        if spec is None or not isinstance(spec.get("name"), str):
            raise ValidationError(f"every dataset is a name or a table with a 'name'; got {entry!r}")
        bad = set(spec) - _DATASET_KEYS
        if bad:
            raise ValidationError(f"dataset {spec['name']!r}: unknown key(s) {sorted(bad)}; allowed {sorted(_DATASET_KEYS)}")
        spec["id"] = str(spec.get("label", spec["name"]))
        if any(d["id"] == spec["id"] for d in out["datasets"]):
            raise ValidationError(f"dataset {spec['id']!r} appears twice; give each variant its own 'label'")
        out["datasets"].append(spec)
    return out


def _load_dataset(spec: dict, data_home: str | None) -> tuple[np.ndarray, np.ndarray]:
    if "X" in spec:
        return np.asarray(spec["X"], dtype=np.float64), np.asarray(spec["groups"])
    if "generator" in spec:
        make = getattr(datasets, spec["generator"], None)
        if not (spec["generator"].startswith("make_") and callable(make)):
            raise ValidationError(f"dataset {spec['id']!r}: generator must name a fairopt.datasets.make_* function; "
                                  f"got {spec['generator']!r}")
        params = {"random_state": 0, **spec.get("params", {})}
        X, groups = make(**params)[:2]
        return X, groups
    return datasets.load(spec["name"], data_home=data_home, max_points=spec.get("max_points"),
                         random_state=spec.get("random_state", 0), attributes=spec.get("attributes"))


# ----------------------------------------------------------------------------- the table
def _key(row: Mapping) -> tuple:
    return (str(row["dataset"]), str(row["method"]), int(row["k"]), float(row["delta"]), int(row["seed"]))


def _number(text: str):
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def read_table(path: str | os.PathLike) -> list[dict]:
    """Rows of a grid CSV as dicts (numbers parsed, empty cells as None); [] when absent."""
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is not None and tuple(reader.fieldnames) != COLUMNS:
            raise ValidationError(f"{path} has columns {reader.fieldnames}, not those of a fairopt grid {list(COLUMNS)}; "
                                  "choose another output file")
        return [{c: (row[c] if c in ("dataset", "method", "status", "solver", "message") else _number(row[c]))
                 for c in COLUMNS} for row in reader if None not in row.values()]


def _drop_partial_line(path: str) -> None:
    """A kill during an append can leave half a line; cut the file back to its last newline."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


def _csv_line(row: Mapping) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(
        ["" if row.get(c) is None else repr(row[c]) if isinstance(row.get(c), float) else row[c] for c in COLUMNS])
    return buf.getvalue()


def _append(path: str, text: str) -> None:
    # One write of whole lines, flushed to disk: what is in the file survives an interruption.
    with open(path, "a", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _drop_errors(csv_path: str, jsonl_path: str) -> None:
    rows = [r for r in read_table(csv_path) if r["status"] != "error"]
    atomic_write(csv_path, lambda fh: fh.write(",".join(COLUMNS) + "\n" + "".join(_csv_line(r) for r in rows)), overwrite=True)
    if os.path.exists(jsonl_path):
        with open(jsonl_path, encoding="utf-8") as fh:
            keep = [line for line in fh if line.strip() and json.loads(line)["extra"].get("status") != "error"]
        atomic_write(jsonl_path, lambda fh: fh.write("".join(keep)), overwrite=True)


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
def _run_cell(fn: Callable, data: tuple, cell: dict, spec: dict, solver: str) -> tuple[dict, dict]:
    """Run one cell on a worker; never raises (an error becomes the row's status and message)."""
    X, groups = data
    t = time.perf_counter()
    try:
        metrics, status, message = dict(fn(X, groups, cell["k"], cell["delta"], cell["seed"], solver)), "ok", ""
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
                           parameters={"method": cell["method"], "k": cell["k"], "delta": cell["delta"], "solver": solver},
                           seeds={"seed": cell["seed"]}, metrics=metrics, seconds={"method": row["seconds"], "cell": wall},
                           extra={"status": status, "message": message})
    return to_jsonable(row), record


@contextmanager
def _client(scheduler, n_workers: int, processes: bool):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("experiment grids run on Dask: pip install 'fairopt[dist]'") from None
    if scheduler is not None:
        client = Client(getattr(scheduler, "scheduler_address", scheduler))
        try:
            yield client
        finally:
            client.close()
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
             retry_errors: bool = False) -> GridRun:
    """Run every (dataset, method, k, delta, seed) cell of a grid not yet in its output.

    Parameters
    ----------
    config_or_path : str, path or dict
        A TOML grid file or the same keys as a dict (see the module docstring); a dict's
        datasets may also carry arrays ``{"name": ..., "X": (n, d), "groups": (n,) or (n, a)}``.
    scheduler : str or dask LocalCluster, optional
        Address of a running Dask scheduler (``tcp://host:8786``); a LocalCluster is started
        (and stopped) otherwise.
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
    os.makedirs(os.path.dirname(csv_path), exist_ok=True)
    for path in (csv_path, jsonl_path):
        _drop_partial_line(path)
    if retry_errors and os.path.exists(csv_path):
        _drop_errors(csv_path, jsonl_path)
    done = {_key(r) for r in read_table(csv_path)}
    if not os.path.exists(csv_path) or os.path.getsize(csv_path) == 0:
        _append(csv_path, ",".join(COLUMNS) + "\n")

    specs = {d["id"]: d for d in cfg["datasets"]}
    cells = [dict(zip(KEY, (d, m, int(k), float(delta), int(s))))
             for d, m, k, delta, s in itertools.product(specs, cfg["methods"], cfg["k"], cfg["delta"], cfg["seeds"])]
    pending = [c for c in cells if _key(c) not in done]
    n_skipped = len(cells) - len(pending)
    if max_cells is not None:
        pending = pending[:max_cells]
    t0 = time.perf_counter()
    n_errors = 0
    if pending:
        from dask.distributed import as_completed

        # Datasets are loaded here once (a clear error for a missing file before any worker
        # starts) and shipped to every worker once.
        data = {d: _load_dataset(specs[d], cfg["data_home"]) for d in {c["dataset"] for c in pending}}
        with _client(scheduler, int(n_workers), cfg["processes"] if processes is None else processes) as client:
            shipped = {d: client.scatter([v], broadcast=True)[0] for d, v in data.items()}
            futures = {client.submit(_run_cell, METHODS[c["method"]], shipped[c["dataset"]], c, specs[c["dataset"]],
                                     cfg["solver"], pure=False): c for c in pending}
            try:
                with progress_bar(total=len(pending), desc="grid", enabled=progress, unit="cell") as bar:
                    for fut in as_completed(futures):
                        try:
                            row, record = fut.result()
                        except Exception as exc:  # the worker died (memory, segfault): still one row
                            cell = futures[fut]
                            row = {**cell, "status": "error", "solver": cfg["solver"], "message": f"{type(exc).__name__}: {exc}"}
                            record = None
                        if record is not None:
                            _append(jsonl_path, json.dumps(record, allow_nan=False) + "\n")
                        _append(csv_path, _csv_line(row))
                        n_errors += row["status"] == "error"
                        bar.update(1)
            finally:
                client.cancel(list(futures))
    return GridRun(csv_path, jsonl_path, len(cells), n_skipped, len(pending), n_errors, time.perf_counter() - t0)


# ----------------------------------------------------------------------------- command line

"""Result records: what was run, on what, with which seeds and versions, and what came out.

A record is a plain JSON-ready dict::

    {"kind", "timestamp", "inputs", "parameters", "seeds", "metrics", "seconds", "extra", "versions"}

:func:`write_json` writes it whole or not at all (temporary file in the target folder, then
``os.replace``); :func:`compare_results` lists the numeric fields on which two records differ,
e.g. the same run on two machines or two solvers.
"""
from __future__ import annotations

import csv
import datetime as _dt
import functools
import json
import math
import os
import platform
from typing import Any, Iterable, Mapping

import numpy as np

from fairopt import __version__
from fairopt.exceptions import ValidationError
from fairopt.files import atomic_write

__all__ = [
    "write_csv",
    "result_record",
    "package_versions",
    "to_jsonable",
    "write_json",
    "read_json",
    "atomic_write",
    "compare_results",
    "DEFAULT_IGNORE",
]

# Packages whose versions decide the numbers a run produces.
_PACKAGES = ("fairopt", "numpy", "scipy", "highspy", "pyomo", "cvxpy")

# Fields that differ between any two runs and say nothing about the results.
DEFAULT_IGNORE = ("seconds", "timestamp", "versions")


@functools.lru_cache(maxsize=1)
def _versions() -> tuple:
    from importlib import metadata

    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    if out["fairopt"] is None:  # running from a source tree that is not installed

        out["fairopt"] = __version__
    out["python"] = platform.python_version()
    out["platform"] = platform.platform()
    return tuple(out.items())


def package_versions() -> dict:
    """Versions of fairopt, numpy, scipy, highspy, pyomo, cvxpy, Python, and the platform string.

    A package that is not installed maps to None.
    """
    return dict(_versions())


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples, paths and sparse matrices to plain JSON values.

    Non-finite floats become None (JSON has no NaN or infinity); mapping keys become strings.
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "toarray") and hasattr(value, "nnz"):  # scipy.sparse
        value = value.toarray()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f: to_jsonable(getattr(value, f)) for f in value.__dataclass_fields__}
    return str(value)


def result_record(kind: str, inputs: Mapping | None = None, parameters: Mapping | None = None,
                  seeds: Any = None, metrics: Mapping | None = None, seconds: Any = None,
                  extra: Mapping | None = None) -> dict:
    """Describe one run as a JSON-ready dict.

    Parameters
    ----------
    kind : str
        What was run (``"fair-kmeans"``, ``"experiment-cell"``, ...).
    inputs : mapping
        The data (dataset name, file, n, d, groups).
    parameters : mapping
        Every hyperparameter that changes the result.
    seeds : int or mapping
        The random seeds used.
    metrics : mapping
        The numbers produced (cost, violation, ...).
    seconds : float or mapping
        Wall time, in total or per stage.
    extra : mapping, optional
        Anything else (labels, centres, solver status).

    Returns
    -------
    dict
        The fields above plus ``timestamp`` (UTC, ISO 8601) and ``versions``
        (:func:`package_versions`); numpy values are converted by :func:`to_jsonable`.
    """
    if not isinstance(kind, str) or not kind:
        raise ValidationError(f"kind must be a non-empty string naming what was run; got {kind!r}")
    record = {
        "kind": kind,
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": inputs or {},
        "parameters": parameters or {},
        "seeds": seeds,
        "metrics": metrics or {},
        "seconds": seconds,
        "extra": extra or {},
        "versions": package_versions(),
    }
    return to_jsonable(record)


def write_json(record: Mapping, path: str | os.PathLike, overwrite: bool = False, indent: int | None = 2) -> str:
    """Write a record as JSON, whole or not at all (see :func:`atomic_write`).

    Returns
    -------
    str
        The path written.
    """
    data = to_jsonable(record)

    def write(fh):
        json.dump(data, fh, indent=indent, allow_nan=False)
        fh.write("\n")

    return atomic_write(path, write, overwrite=overwrite)


def write_csv(rows: Iterable[Mapping], path: str | os.PathLike, columns: list, overwrite: bool = False) -> str:
    """Write rows (dicts) as a CSV table with the given columns, whole or not at all.

    Missing values and None are written as empty fields; keys outside ``columns`` are ignored.
    An existing file is only replaced with ``overwrite=True``.
    """
    def write(fh):
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({c: ("" if r.get(c) is None else r[c]) for c in columns})

    return atomic_write(path, write, overwrite=overwrite)


def read_json(path: str | os.PathLike) -> dict:
    """Read a record written by :func:`write_json`."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _numeric_array(v: Any) -> np.ndarray | None:
    """v as a float array when it is a number or a (nested) list of numbers/None, else None."""
    if _is_number(v):
        return np.asarray(float(v))
    if isinstance(v, (list, tuple, np.ndarray)) and len(v) > 0:
        try:
            flat = np.asarray(v, dtype=object).ravel()  # ragged lists raise here
        except ValueError:
            return None
        if not all(x is None or _is_number(x) for x in flat):
            return None
        return np.array([np.nan if x is None else float(x) for x in flat]).reshape(np.shape(v))
    return None


def _flatten(value: Any, prefix: str, out: dict) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
        return
    arr = _numeric_array(value)
    if arr is not None:
        out[prefix] = arr
    elif value is None:
        out[prefix] = None  # a missing number (NaN written as null) still compares
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}.{i}", out)


def _selected(path: str, keys: Iterable[str] | None, ignore: Iterable[str]) -> bool:
    parts = path.split(".")
    if keys is not None:
        return any(path == k or path.startswith(k + ".") for k in keys)
    return not any(p in ignore for p in parts)


def compare_results(a: Mapping, b: Mapping, keys: Iterable[str] | None = None, rtol: float = 1e-9,
                    atol: float = 0.0, ignore: Iterable[str] = DEFAULT_IGNORE) -> dict:
    """The numeric fields on which two records differ.

    Nested fields are named by dotted paths (``"metrics.cost"``, ``"extra.centres"``); a list of
    numbers is compared element-wise as one field. Two values agree when
    ``|a - b| <= atol + rtol |b|`` for every element (NaN/None agree only with NaN/None).
    Strings and booleans are not compared.

    Parameters
    ----------
    a, b : mapping
        Records (from :func:`result_record` or :func:`read_json`), or any nested dicts.
    keys : iterable of str, optional
        Dotted paths (or prefixes, e.g. ``"metrics"``) to compare; every numeric field otherwise.
    rtol, atol : float
        Relative and absolute tolerance.
    ignore : iterable of str
        Path components skipped when ``keys`` is None (timings, timestamp, versions).

    Returns
    -------
    dict
        ``{path: (value in a, value in b)}`` for every differing field, None for a field missing
        from one side; empty when the records agree (so ``not compare_results(a, b)`` reads
        "same numbers").
    """
    fa, fb = {}, {}
    _flatten(to_jsonable(a), "", fa)
    _flatten(to_jsonable(b), "", fb)
    keys = None if keys is None else [keys] if isinstance(keys, str) else list(keys)
    ignore = tuple(ignore)
    if keys is not None:
        for k in keys:
            if not any(p == k or p.startswith(k + ".") for p in (*fa, *fb)):
                raise ValidationError(f"compare_results: no numeric field {k!r} in either record; fields are {sorted({*fa, *fb})}")
    diff = {}
    for path in sorted({*fa, *fb}):
        if not _selected(path, keys, ignore):
            continue
        va, vb = fa.get(path), fb.get(path)
        if va is None and vb is None:
            continue
        if va is None or vb is None or va.shape != vb.shape or not np.allclose(va, vb, rtol=rtol, atol=atol, equal_nan=True):
            diff[path] = (None if va is None else va.tolist(), None if vb is None else vb.tolist())
    return diff

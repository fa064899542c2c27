"""Grid files checked whole, before any cell runs: keys, types, sizes, solver and generator names.

A grid that would run and fail in every cell (an unknown solver, ``generator = "make_measures"``
which makes no points with groups, ``params`` that the generator does not take) or crash on its
way (``processes = "false"``, a string that Python reads as true; ``params = 5``; ``n = 1e12``) is
refused by :func:`load_config` with the key and the fix, and nothing is written.
"""
from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from fairopt import datasets
from fairopt.exceptions import SolverNotAvailableError, ValidationError
from fairopt.objectives import OBJECTIVES
from fairopt.solvers.registry import get_solver
from fairopt.validation import check_choice

__all__ = ["load_config", "load_dataset", "GENERATORS", "MAX_GENERATED"]

_TOP_KEYS = {"datasets", "data_home", "methods", "k", "delta", "seeds", "solver", "output", "n_workers", "processes",
             "objective"}
_DATASET_KEYS = {"name", "label", "attributes", "max_points", "random_state", "generator", "params", "X", "groups"}
#: Generators that make (points, groups); make_measures makes measures, not a clustering input.
GENERATORS = ("make_fair_blobs", "make_stochastic_balls")
#: Most points a generated dataset may have (a typo such as n = 3e9 is refused, not a MemoryError).
MAX_GENERATED = 10_000_000


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


def _check_generator(spec: dict) -> None:
    name = spec["generator"]
    if name not in GENERATORS:
        raise ValidationError(f"dataset {spec['id']!r}: generator must be one of {list(GENERATORS)} (functions of "
                              f"fairopt.datasets that make points and groups); got {name!r}")
    params = spec.get("params", {})
    if not isinstance(params, Mapping):
        raise ValidationError(f"dataset {spec['id']!r}: params must be a table such as {{n = 300, k = 3}}; "
                              f"got {params!r}")
    sig = inspect.signature(getattr(datasets, name))
    try:
        sig.bind(**{"random_state": 0, **params})
    except TypeError as exc:
        raise ValidationError(f"dataset {spec['id']!r}: params {dict(params)!r} do not fit {name}{sig}: {exc}") from None
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise ValidationError(f"dataset {spec['id']!r}: params.{key} must be a number; got {value!r}")
    bound = sig.bind(**{"random_state": 0, **params})
    bound.apply_defaults()
    a = bound.arguments
    size = a.get("n") if "n" in a else a.get("k", 1) * a.get("n_per_ball", 1)
    if size is not None and size * a.get("d", 2) > MAX_GENERATED:
        raise ValidationError(f"dataset {spec['id']!r}: params ask for {size:g} points in {a.get('d', 2)} dimensions, "
                              f"more than {MAX_GENERATED:g} values; choose a smaller size")


def _check_dataset(spec: dict) -> None:
    if "X" in spec:
        if "groups" not in spec:
            raise ValidationError(f"dataset {spec['id']!r}: X needs its groups")
        return
    if "generator" in spec:
        _check_generator(spec)
        return
    if spec["name"] not in datasets.available_datasets():
        raise ValidationError(f"dataset {spec['name']!r} is not a known dataset {datasets.available_datasets()}; "
                              "give generator = ... for synthetic data")
    if spec.get("max_points") is not None and (isinstance(spec["max_points"], bool)
                                               or not isinstance(spec["max_points"], int) or spec["max_points"] < 1):
        raise ValidationError(f"dataset {spec['id']!r}: max_points must be a positive integer; got {spec['max_points']!r}")
    attrs = spec.get("attributes")
    if attrs is not None and not (isinstance(attrs, str) or (isinstance(attrs, list) and all(isinstance(a, str) for a in attrs))):
        raise ValidationError(f"dataset {spec['id']!r}: attributes must be a list of column names; got {attrs!r}")


def load_config(config_or_path: Any, methods: Iterable[str], objective_methods: Iterable[str] = ()) -> dict:
    """Read and check a grid (TOML path or dict); returns a normalised dict.

    Relative ``data_home``/``output`` are resolved against the TOML file's folder (against the
    working directory for a dict). Every dataset gets an ``id`` (its ``label`` or ``name``),
    unique within the grid. ``methods`` are the method names a grid may use, and
    ``objective_methods`` those that also run under ``objective = "kmedian"`` or ``"kcenter"``.
    """
    methods = sorted(methods)
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
        except UnicodeDecodeError:
            raise ValidationError(f"{path} is not UTF-8 text, so not a TOML grid") from None
        base = os.path.dirname(os.path.abspath(path))
        default_output = os.path.splitext(os.path.basename(path))[0] + ".csv"
    unknown = set(cfg) - _TOP_KEYS
    if unknown:
        raise ValidationError(f"unknown grid key(s) {sorted(unknown)}; the keys are {sorted(_TOP_KEYS)}")
    out = {
        "methods": _as_list(cfg, "methods", str, lambda v: v in methods, f"method names from {methods}"),
        "k": _as_list(cfg, "k", (int, np.integer), lambda v: 1 <= v <= 1_000_000, "integers >= 1 (and <= 1000000)"),
        "delta": [float(d) for d in _as_list(cfg, "delta", (int, float), lambda v: 0 <= v < 1, "numbers in [0, 1)")],
        "seeds": _as_list(cfg, "seeds", (int, np.integer), lambda v: 0 <= v < 2**63, "integers >= 0"),
        "solver": cfg.get("solver", "highs"),
        "n_workers": cfg.get("n_workers", 2),
        "processes": cfg.get("processes", True),
    }
    if not isinstance(out["processes"], bool):
        raise ValidationError(f"processes must be true or false (a TOML boolean, not a string); got {out['processes']!r}")
    n_workers = out["n_workers"]
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or not 1 <= n_workers <= 4096:
        raise ValidationError(f"n_workers must be a positive integer; got {n_workers!r}")
    out["objective"] = check_choice(cfg.get("objective", "kmeans"), "objective", OBJECTIVES)
    other = [m for m in out["methods"] if m not in objective_methods]
    if out["objective"] != "kmeans" and other:
        raise ValidationError(f"objective = {out['objective']!r} runs with the methods {list(objective_methods)} only; "
                              f"drop {other} from methods or use objective = 'kmeans'")
    if not isinstance(out["solver"], str):
        raise ValidationError(f"solver must be a solver name such as 'highs'; got {out['solver']!r}")
    try:
        get_solver(out["solver"], "matrices")
    except (SolverNotAvailableError, ValidationError) as exc:
        raise ValidationError(f"grid solver: {exc}") from None
    output = cfg.get("output", default_output)
    if output is None:
        raise ValidationError("the grid needs 'output': the CSV file to write (a .jsonl file is written beside it)")
    if not isinstance(output, (str, os.PathLike)):
        raise ValidationError(f"output must be a file name; got {output!r}")
    out["output"] = os.path.join(base, os.fspath(output))
    home = cfg.get("data_home")
    if home is not None and not isinstance(home, (str, os.PathLike)):
        raise ValidationError(f"data_home must be a folder name; got {home!r}")
    out["data_home"] = None if home is None else os.path.join(base, os.fspath(home))
    entries = cfg.get("datasets")
    if not entries or not isinstance(entries, (list, tuple)):
        raise ValidationError("datasets must be a non-empty list of names or {name = ..., ...} tables")
    out["datasets"] = []
    for entry in entries:
        spec = {"name": entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, Mapping) else None
        if spec is None or not isinstance(spec.get("name"), str):
            raise ValidationError(f"every dataset is a name or a table with a 'name'; got {entry!r}")
        bad = set(spec) - _DATASET_KEYS
        if bad:
            raise ValidationError(f"dataset {spec['name']!r}: unknown key(s) {sorted(bad)}; allowed {sorted(_DATASET_KEYS)}")
        spec["id"] = str(spec.get("label", spec["name"]))
        if any(d["id"] == spec["id"] for d in out["datasets"]):
            raise ValidationError(f"dataset {spec['id']!r} appears twice; give each variant its own 'label'")
        _check_dataset(spec)
        out["datasets"].append(spec)
    return out


def load_dataset(spec: dict, data_home: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(X, groups) of a checked dataset entry."""
    if "X" in spec:
        return np.asarray(spec["X"], dtype=np.float64), np.asarray(spec["groups"])
    if "generator" in spec:
        params = {"random_state": 0, **spec.get("params", {})}
        X, groups = getattr(datasets, spec["generator"])(**params)[:2]
        return X, groups
    return datasets.load(spec["name"], data_home=data_home, max_points=spec.get("max_points"),
                         random_state=spec.get("random_state", 0), attributes=spec.get("attributes"))

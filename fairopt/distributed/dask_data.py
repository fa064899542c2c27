"""Fair clustering input as Dask arrays: recognised without importing Dask, validated chunk by chunk.

:func:`validate_dask_problem` is the Dask twin of :func:`fairopt.problem.make_fair_problem`: one
pass over the row chunks on the workers gathers small facts per chunk (bad rows, coordinate
range, distinct labels per group column, the label tuples present with their weight totals),
and the client turns them into the same checks, with the same messages, as in memory: NaN/inf
rows (global row numbers), coordinate range, weights, a single label per group column, bounds
(from the exact signature totals). X is never gathered.

The groups become a **signature id** per point (points with the same set of groups share one),
a lazy Dask array with X's row chunks; the groups themselves are described once, on the S
signatures, by a :class:`fairopt.groups.GroupStructure` of S rows, so every bound, share and
label follows the in-memory numbering (attribute by attribute, sorted values).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from fairopt.distributed.dask_chunks import map_row_blocks
from fairopt.exceptions import ValidationError
from fairopt.groups import GroupStructure, encode_groups
from fairopt.problem import (
    check_bounds_feasible,
    check_coordinate_range,
    resolve_bounds,
)

__all__ = ["is_dask_array", "as_dask_array", "DaskProblem", "validate_dask_problem", "check_distinct_dask", "check_dask_installed"]


def is_dask_array(value: Any) -> bool:
    """True for a Dask array, DataFrame or Series, tested without importing Dask."""
    return type(value).__module__.startswith("dask") and (hasattr(value, "chunks") or hasattr(value, "to_dask_array"))


def as_dask_array(value: Any) -> Any:
    """A dask DataFrame or Series as a dask array (row counts found later, one pass)."""
    if not is_dask_array(value) or hasattr(value, "chunks"):
        return value
    if getattr(getattr(value, "dtype", None), "kind", "f") not in "biuf":
        value = value.astype(object)  # pandas string columns: labels as Python objects
    return value.to_dask_array()


def check_dask_installed(what: str = "dask arrays") -> None:
    """ImportError with the install line when dask.distributed is missing."""
    try:
        import dask.array  # noqa: F401  (optional dependency: fairopt[dist])
        import distributed  # noqa: F401  (optional dependency: fairopt[dist])
    except ImportError:
        raise ImportError(f"fitting {what} needs dask.distributed: pip install 'fairopt[dist]'") from None


@dataclass(frozen=True)
class DaskProblem:
    """A validated fair clustering instance on Dask arrays.

    Attributes
    ----------
    X : dask array of shape (n, d), float64, one column chunk
    w : dask array of shape (n,), float64, X's row chunks
    sid : dask array of shape (n,), int64, X's row chunks (lazy)
        Signature id of every point, indexing the rows of ``sig``.
    n, d : int
    groups : GroupStructure with S rows
        The groups of every signature (``groups.labels`` names them as in memory).
    sig : ndarray of shape (S, m), bool
        ``sig[s, i]``: signature s contains group i.
    sig_weight : ndarray of shape (S,)
        Exact total weight of every signature.
    alpha, beta : ndarray of shape (m,)
    identical : bool
        Every point equals the first one (see :func:`check_distinct_dask`).
    unit_weights : bool
        Every weight is 1.
    first_row : ndarray of shape (d,)
    """

    X: Any
    w: Any
    sid: Any
    n: int
    d: int
    groups: GroupStructure
    sig: np.ndarray
    sig_weight: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    identical: bool
    first_row: np.ndarray
    unit_weights: bool = True


def _as_rows(da, value, X, name: str, ndims: tuple):
    """``value`` (dask or array-like) as a dask array with X's row chunks (2-D for groups)."""
    n = X.shape[0]
    value = as_dask_array(value)
    if not is_dask_array(value):
        try:
            value = np.asarray(value)
        except ValueError as exc:
            raise ValidationError(f"{name} must be an array of shape ({n},); got ragged input ({exc})") from None
    if value.ndim not in ndims or (value.shape[0] != n and not np.isnan(value.shape[0])):
        shapes = f"({n},) or ({n}, a)" if 2 in ndims else f"({n},)"
        raise ValidationError(f"{name} must have shape {shapes} to match the points; got shape {tuple(value.shape)}")
    if not is_dask_array(value):
        chunks = (X.chunks[0],) + ((-1,) if value.ndim == 2 else ())
        return da.from_array(value, chunks=chunks)
    if any(np.isnan(c) for c in value.chunks[0]):
        value = value.compute_chunk_sizes()
    if value.shape[0] != n:
        raise ValidationError(f"{name} must have {n} rows to match the points; got {value.shape[0]}")
    return value.rechunk((X.chunks[0],) + ((-1,) if value.ndim == 2 else ()))


def _check_block(X, G, w, offset):
    """Facts about one row chunk (run on a worker): small, and nothing raised for bad data."""
    out = {"rows": X.shape[0], "offset": offset}
    finite = np.isfinite(X)
    bad = np.flatnonzero(~finite.all(axis=1))
    out["bad_rows"], out["first_bad"] = int(bad.size), (int(bad[0]) + offset if bad.size else None)
    out["has_nan"] = bool(np.isnan(X).any())
    if X.shape[0]:
        out["min"], out["max"] = np.nanmin(np.where(finite, X, np.nan), axis=0), np.nanmax(np.where(finite, X, np.nan), axis=0)
        out["first"] = X[0].copy()
        out["identical"] = bool(not np.any(X != X[0]))
    wbad = ~np.isfinite(w)
    out["w_nonfinite"] = bool(wbad.any())
    neg = np.flatnonzero(w < 0)
    out["w_negative"] = (int(neg[0]) + offset, float(w[neg[0]])) if neg.size else None
    out["w_sum"] = float(np.sum(w[~wbad]))
    out["w_unit"] = bool(np.all(w == 1.0))
    out.update(_label_tuples(G, w))
    return out


def _label_tuples(G, w):
    """The distinct label rows of a chunk with their weight totals and counts."""
    if G.shape[0] == 0:
        return {"tuples": G[:0], "t_weight": np.zeros(0), "t_count": np.zeros(0, np.int64), "label_error": None}
    if G.dtype.kind == "f" and not np.all(np.isfinite(G)):
        return {"label_error": "nonfinite"}
    if G.dtype == object:
        missing = np.frompyfunc(lambda v: isinstance(v, (float, np.floating)) and not np.isfinite(v), 1, 1)(G)
        rows = np.flatnonzero(missing.astype(bool).any(axis=1))
        if rows.size:
            return {"label_error": ("missing", int(rows.size), int(rows[0]))}
    try:
        inv = [np.unique(G[:, t], return_inverse=True)[1].ravel() for t in range(G.shape[1])]
    except TypeError:
        return {"label_error": "types"}
    key = np.ravel_multi_index(inv, [int(i.max()) + 1 for i in inv]) if len(inv) > 1 else inv[0]
    _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    weight = np.bincount(inverse.ravel(), weights=np.where(np.isfinite(w), w, 0.0), minlength=first.size)
    return {"tuples": G[first], "t_weight": weight, "t_count": counts, "label_error": None}


def _signature_block(G, values, keys):
    """Signature id of every row of a group chunk (run on the workers, lazily)."""
    codes = [np.searchsorted(values[t], G[:, t]) for t in range(G.shape[1])]
    key = np.ravel_multi_index(codes, [len(v) for v in values]) if len(codes) > 1 else codes[0]
    return np.searchsorted(keys, key).astype(np.int64)


def _raise_label_error(facts: list, name: str) -> None:
    for f in facts:
        err = f["label_error"]
        if err == "nonfinite":
            raise ValidationError(f"{name} contains NaN or inf labels")
        if err == "types":
            raise ValidationError(f"{name}: every group column of a dask array needs labels of one type "
                                  "(all numbers or all strings)")
        if err is not None:
            _, count, first = err
            rows = sum(g["label_error"][1] for g in facts if isinstance(g["label_error"], tuple))
            raise ValidationError(
                f"{name} has missing (NaN) labels in {rows} row(s) (first: row {first + f['offset']}); "
                "drop those points or give the missing value a label of its own")


def _check_points(facts: list, n: int, d: int, name: str) -> tuple[bool, np.ndarray]:
    """The checks of :func:`fairopt.problem.validate_points`, from the chunk facts."""
    bad = [f for f in facts if f["bad_rows"]]
    if bad:
        kind = "NaN" if any(f["has_nan"] for f in facts) else "inf"
        raise ValidationError(
            f"{name} contains {kind} values in {sum(f['bad_rows'] for f in bad)} row(s) (first: row "
            f"{bad[0]['first_bad']}); drop or impute them before clustering")
    full = [f for f in facts if f["rows"]]
    lo = np.min([f["min"] for f in full], axis=0)
    hi = np.max([f["max"] for f in full], axis=0)
    check_coordinate_range(np.vstack([lo, hi]), name)
    first = full[0]["first"]
    identical = all(f["identical"] and np.array_equal(f["first"], first) for f in full)
    return identical, first


def _check_weights(facts: list, name: str = "weights") -> None:
    """The checks of :func:`fairopt.problem.validate_weights`, from the chunk facts."""
    if any(f["w_nonfinite"] for f in facts):
        raise ValidationError(f"{name} contains NaN or inf")
    neg = [f["w_negative"] for f in facts if f["w_negative"] is not None]
    if neg:
        i, v = neg[0]
        raise ValidationError(f"{name} must be non-negative; {name}[{i}] = {v}")
    if sum(f["w_sum"] for f in facts) <= 0:
        raise ValidationError(f"{name} are all zero: at least one point needs positive weight")


def validate_dask_problem(X: Any, groups: Any, weights: Any = None, delta: float | None = None, alpha: Any = None,
                          beta: Any = None, group_names: Sequence[str] | None = None, client: Any = None,
                          who: str = "FairKMeans", name: str = "X") -> DaskProblem:
    """Validate a fair clustering instance held in Dask arrays, chunk by chunk, before any solve.

    Parameters
    ----------
    X : dask array of shape (n, d)
        Chunked by rows (column chunks are merged).
    groups : dask array or array-like of shape (n,) or (n, a)
        Rechunked to X's row chunks.
    weights : dask array or array-like of shape (n,), optional
    delta, alpha, beta : as in :func:`fairopt.problem.make_fair_problem`
    client : dask.distributed.Client
        Runs the one validation pass.

    Returns
    -------
    DaskProblem

    Raises
    ------
    ValidationError, InfeasibleBoundsError
        With the messages of the in-memory checks (global row numbers).
    """
    import dask.array as da  # optional dependency (fairopt[dist])

    X = as_dask_array(X)
    shape, kind = tuple(X.shape), X.dtype.kind
    if kind in ("U", "S", "O"):
        raise ValidationError(f"{who}: {name} must be a real numeric array of shape (n_samples, n_features); "
                              f"got {X.dtype} (convert it first, e.g. X.astype(float))")
    if kind == "c":
        raise ValidationError(f"{who}: {name} must be a real numeric array of shape (n_samples, n_features); got "
                              "complex numbers. Complex data not supported: take np.real or np.abs first")
    if len(shape) != 2:
        raise ValidationError(f"{who}: {name} must be 2-D of shape (n_samples, n_features); got shape {shape}")
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()  # e.g. from a dask dataframe without lengths: one pass to count rows
    n, d = int(X.shape[0]), int(X.shape[1])
    if n < 2:
        raise ValidationError(f"{who}: {name} must have at least 2 rows (two groups need two points); got {n}")
    if d == 0:
        raise ValidationError(f"{who}: {name} must have at least one column; got shape {(n, d)}")
    X = X.astype(np.float64).rechunk({1: -1})
    G = _as_rows(da, groups, X, "groups", (1, 2))
    if G.ndim == 1:
        G = G[:, None]
    if G.shape[1] == 0:
        raise ValidationError("groups has no columns")
    w = da.ones(n, chunks=(X.chunks[0],)) if weights is None else _as_rows(da, weights, X, "weights", (1,)).astype(np.float64)
    facts = map_row_blocks(client, _check_block, (X, G, w))
    identical, first = _check_points(facts, n, d, name)
    _check_weights(facts)
    _raise_label_error(facts, "groups")
    tuples = np.concatenate([f["tuples"] for f in facts])
    try:
        values = [np.unique(tuples[:, t]) for t in range(tuples.shape[1])]
    except TypeError:
        raise ValidationError("groups: every group column of a dask array needs labels of one type "
                              "(all numbers or all strings)") from None
    codes = [np.searchsorted(values[t], tuples[:, t]) for t in range(tuples.shape[1])]
    key = np.ravel_multi_index(codes, [len(v) for v in values]) if len(codes) > 1 else codes[0]
    keys, first_of, inverse = np.unique(key, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    sig_weight = np.bincount(inverse, weights=np.concatenate([f["t_weight"] for f in facts]), minlength=keys.size)
    rep = tuples[first_of]
    g = encode_groups(rep if rep.shape[1] > 1 else rep[:, 0], rep.shape[0], names=group_names)
    a, b = resolve_bounds(g, sig_weight, delta=delta, alpha=alpha, beta=beta)
    check_bounds_feasible(g, sig_weight, a, b)
    sig = g.membership.toarray() > 0
    sid = da.map_blocks(_signature_block, G, values=values, keys=keys, dtype=np.int64, drop_axis=1)
    return DaskProblem(X, w, sid, n, d, g, sig, sig_weight, a, b, identical, first,
                       all(f["w_unit"] for f in facts))


def check_distinct_dask(problem: DaskProblem, k: int, name: str = "n_clusters") -> None:
    """:func:`fairopt.problem.check_distinct_points` on chunk facts (same message)."""
    if k > 1 and problem.identical:
        shown = np.array2string(problem.first_row, precision=4, threshold=6)
        raise ValidationError(
            f"all {problem.n} points are identical ({shown}): every clustering costs 0 and {k} clusters "
            f"would be arbitrary; {name} must be 1 (or check the feature columns)"
        )

"""Validated inputs: points, weights, group memberships and fairness bounds.

Every public entry point (estimators' ``fit``, :func:`fairopt.fair_assignment`, the CLI)
validates once through these functions; inner functions trust their inputs.

Notation follows the Relax-and-Merge paper: points P, weights w(x), groups P_1..P_m
(possibly overlapping), bounds 0 <= beta_i <= alpha_i <= 1 on the share of group i in
every cluster.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from fairopt.exceptions import InfeasibleBoundsError, ValidationError
from fairopt.groups import GroupStructure, encode_groups

__all__ = [
    "FairProblem",
    "validate_points",
    "validate_weights",
    "validate_n_clusters",
    "bounds_from_delta",
    "resolve_bounds",
    "check_bounds_feasible",
    "make_fair_problem",
    "check_distinct_points",
]


@dataclass(frozen=True)
class FairProblem:
    """A validated fair clustering instance.

    Attributes
    ----------
    points : ndarray of shape (n, d)
    weights : ndarray of shape (n,)
        Mass w(x) of every point (ones when not given).
    groups : GroupStructure
    alpha, beta : ndarray of shape (m,)
        Upper and lower bound on the share of every group in every cluster.
    """

    points: np.ndarray
    weights: np.ndarray
    groups: GroupStructure
    alpha: np.ndarray
    beta: np.ndarray

    @property
    def n(self) -> int:
        return self.points.shape[0]


def validate_points(points: Any, name: str = "points", min_rows: int = 1) -> np.ndarray:
    """Return ``points`` as a C-contiguous float64 array of shape (n, d).

    Raises
    ------
    ValidationError
        On a wrong number of dimensions, too few rows, zero columns, or non-finite values.
    """
    kind = _dtype_kind(points)
    if kind in "USc":
        what = "complex numbers" if kind == "c" else "strings"
        raise ValidationError(f"{name} must be a real numeric array of shape (n, d); got {what} "
                              f"(convert it first, e.g. np.asarray({name}, dtype=float) for numeric text)")
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be a numeric array of shape (n, d); got {type(points).__name__}: {exc}") from None
    if arr.ndim == 1:
        raise ValidationError(
            f"{name} must be 2-D of shape (n, d); got a 1-D array of length {arr.shape[0]} "
            "(use X.reshape(-1, 1) for one feature)"
        )
    if arr.ndim != 2:
        raise ValidationError(f"{name} must be 2-D of shape (n, d); got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValidationError(f"{name} must have at least {min_rows} row(s); got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValidationError(f"{name} must have at least one column; got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        kind = "NaN" if np.isnan(arr).any() else "inf"
        raise ValidationError(
            f"{name} contains {kind} values in {rows.size} row(s) (first: row {rows[0]}); "
            "drop or impute them before clustering"
        )
    check_coordinate_range(arr, name)
    return np.ascontiguousarray(arr)


#: Squared distances must stay finite with room for sums and the 3x enlarged candidate cells.
MAX_SPAN = 1e150


def check_coordinate_range(arr: np.ndarray, name: str = "points") -> None:
    """Refuse coordinates whose squared distances would overflow float64 (spans beyond 1e150)."""
    if arr.size == 0:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        span = float(np.max(arr.max(axis=0) - arr.min(axis=0))) * np.sqrt(arr.shape[1])
    if not span <= MAX_SPAN:
        raise ValidationError(
            f"{name} spans {span:.3g} in coordinates: squared distances would overflow float64 (limit {MAX_SPAN:g}); "
            f"rescale it first (e.g. divide by its standard deviation)"
        )


def _dtype_kind(values: Any) -> str:
    """numpy's dtype kind of an array-like without converting it (``"O"`` when unknown)."""
    dtype = getattr(values, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(values).dtype
        except (TypeError, ValueError):
            return "O"
    return getattr(dtype, "kind", "O")


def validate_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    """Return non-negative finite weights of shape (n,), ones when ``weights`` is None."""
    if weights is None:
        return np.ones(n)
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be a numeric array of shape ({n},); got {type(weights).__name__}: {exc}") from None
    if w.shape != (n,):
        raise ValidationError(f"{name} must have shape ({n},) to match the points; got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValidationError(f"{name} contains NaN or inf")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise ValidationError(f"{name} must be non-negative; {name}[{i}] = {w[i]}")
    if w.sum() <= 0:
        raise ValidationError(f"{name} are all zero: at least one point needs positive weight")
    return w


def validate_n_clusters(k: Any, n: int, name: str = "n_clusters") -> int:
    """Check that k is an integer with 1 <= k <= n."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValidationError(f"{name} must be an integer; got {k!r}")
    k = int(k)
    if k < 1:
        raise ValidationError(f"{name} must be >= 1; got {k}")
    if k > n:
        one = " (one sample makes one cluster)" if n == 1 else ""
        raise ValidationError(f"{name}={k} is larger than the number of points n={n}{one}")
    return k


def check_distinct_points(points: np.ndarray, k: int, name: str = "n_clusters") -> None:
    """Refuse k > 1 clusters of duplicate-only data (every point the same).

    With all points identical every clustering costs 0 and its k centres coincide, so the
    labels of k > 1 clusters would be arbitrary; the toolkit refuses rather than return them.
    Data with some duplicates, or with fewer distinct points than k, is fine.
    """
    if k > 1 and points.shape[0] > 1 and not np.any(points != points[0]):
        shown = np.array2string(points[0], precision=4, threshold=6)
        raise ValidationError(
            f"all {points.shape[0]} points are identical ({shown}): every clustering costs 0 and {k} clusters "
            f"would be arbitrary; {name} must be 1 (or check the feature columns)"
        )


def bounds_from_delta(ratios_or_groups: Any, delta: float, weights: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Fairness bounds from a slack delta (the papers' convention).

    ``beta_i = r_i (1 - delta)`` and ``alpha_i = r_i / (1 - delta)`` with r_i the share of
    group i in the data; alpha is clipped to 1.

    Parameters
    ----------
    ratios_or_groups : array-like
        Either the shares r_i, a float array of shape (m,), or the group labels themselves
        (integers or strings, shape (n,) or (n, a), or a :class:`GroupStructure`), from which
        the shares are computed. A 1-D float array is read as shares; give float-valued labels
        as integers or strings.
    delta : float in [0, 1)
    weights : array-like of shape (n,), optional
        Point masses when labels are given (the shares are then shares of mass).

    Returns
    -------
    alpha, beta : ndarray of shape (m,)
        For labels, in the group order of :func:`encode_groups` (``encode_groups(groups, n).labels``:
        attribute by attribute, sorted values), the order every model and estimator uses.

    Examples
    --------
    >>> alpha, beta = bounds_from_delta(["red", "blue", "red", "red"], 0.2)   # groups 'blue', 'red'
    >>> alpha.round(4).tolist(), beta.round(4).tolist()
    ([0.3125, 0.9375], [0.2, 0.6])
    """
    if not (isinstance(delta, (int, float, np.integer, np.floating)) and not isinstance(delta, bool)
            and 0.0 <= float(delta) < 1.0):
        raise ValidationError(f"delta must be a number in [0, 1); got {delta!r}")
    arr = None if isinstance(ratios_or_groups, GroupStructure) else np.asarray(ratios_or_groups)
    if arr is not None and arr.ndim == 1 and arr.dtype.kind == "f":
        ratios = arr
        if not (np.all(np.isfinite(ratios)) and np.all((ratios >= 0) & (ratios <= 1))):
            raise ValidationError(
                "bounds_from_delta: a float array is read as the group shares r_i, which lie in [0, 1]; "
                f"got {ratios_or_groups!r}. To pass group labels, give them as integers or strings"
            )
    else:
        n = ratios_or_groups.n_points if arr is None else arr.shape[0]
        g = encode_groups(ratios_or_groups, n)
        w = validate_weights(weights, n)
        ratios = g.group_weights(w) / w.sum()
    alpha = np.minimum(ratios / (1.0 - delta), 1.0)
    beta = ratios * (1.0 - delta)
    return alpha, beta


def _as_group_array(value: Any, groups: GroupStructure, name: str) -> np.ndarray:
    if isinstance(value, Mapping):
        out = np.full(groups.n_groups, np.nan)
        index, ambiguous = {}, set()
        for i, lab in enumerate(groups.labels):
            index[lab] = i
        for i, val in enumerate(groups.values):
            # A raw value names a group only when one attribute has it: with two 0/1 columns
            # the key 0 could mean "0=0" or "1=0", and the label must be used instead.
            for key in {val, str(val)}:
                if key in index and index[key] != i and key not in groups.labels:
                    ambiguous.add(key)
                index.setdefault(key, i)
        for key, v in value.items():
            if key in ambiguous:
                raise ValidationError(
                    f"{name} key {key!r} matches groups of several attributes; use the group labels {groups.labels}"
                )
            if key not in index:
                raise ValidationError(f"{name} names an unknown group {key!r}; groups are {groups.labels}")
            try:
                out[index[key]] = float(v)
            except (TypeError, ValueError):
                raise ValidationError(f"{name} for group {key!r} must be a number; got {v!r}") from None
        if np.isnan(out).any():
            missing = [groups.labels[i] for i in np.flatnonzero(np.isnan(out))]
            raise ValidationError(f"{name} gives no bound for group(s) {missing}")
        return out
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(
            f"{name} must be a number, a mapping from group label to bound, or an array of shape "
            f"({groups.n_groups},); got {value!r}"
        ) from None
    if arr.ndim == 0:
        return np.full(groups.n_groups, float(arr))
    if arr.shape != (groups.n_groups,):
        raise ValidationError(
            f"{name} must be a scalar, a mapping from group label to bound, or an array of shape "
            f"({groups.n_groups},) in the group order {groups.labels}; got shape {arr.shape}"
        )
    return arr


def resolve_bounds(
    groups: GroupStructure,
    weights: np.ndarray,
    delta: float | None = None,
    alpha: Any = None,
    beta: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (alpha, beta), each of shape (m,), from explicit bounds or a slack delta.

    Explicit ``alpha``/``beta`` win over ``delta``; a missing one is taken from ``delta``
    (default 0.1 when nothing is given) or, failing that, is 1 (alpha) or 0 (beta).
    """
    shares = groups.group_weights(weights) / weights.sum()
    if delta is not None:
        if (
            isinstance(delta, bool)
            or not isinstance(delta, (int, float, np.integer, np.floating))
            or not np.isfinite(delta)
            or not (0.0 <= float(delta) < 1.0)
        ):
            raise ValidationError(f"delta must be a number in [0, 1); got {delta!r}")
    if alpha is None and beta is None and delta is None:
        delta = 0.1
    a_d, b_d = bounds_from_delta(shares, float(delta)) if delta is not None else (np.ones_like(shares), np.zeros_like(shares))
    a = a_d if alpha is None else _as_group_array(alpha, groups, "alpha")
    b = b_d if beta is None else _as_group_array(beta, groups, "beta")
    for nm, arr in (("alpha", a), ("beta", b)):
        if not np.all(np.isfinite(arr)) or (arr < 0).any() or (arr > 1).any():
            i = int(np.flatnonzero(~np.isfinite(arr) | (arr < 0) | (arr > 1))[0])
            raise ValidationError(f"{nm} must lie in [0, 1]; {nm} for group {groups.labels[i]!r} is {arr[i]}")
    if (b > a + 1e-12).any():
        i = int(np.flatnonzero(b > a + 1e-12)[0])
        raise ValidationError(
            f"beta must not exceed alpha; for group {groups.labels[i]!r} beta = {b[i]:.4g} > alpha = {a[i]:.4g}"
        )
    return a, b


def check_bounds_feasible(groups: GroupStructure, weights: np.ndarray, alpha: np.ndarray, beta: np.ndarray, tol: float = 1e-9) -> None:
    """Refuse bounds that no assignment can satisfy, naming the group and the arithmetic.

    Summing ``beta_i W(c) <= W_i(c) <= alpha_i W(c)`` over the centres gives
    ``beta_i <= r_i <= alpha_i`` with r_i = W_i / W the share of group i in the data: a
    necessary condition. It is also sufficient for LP (2): sending every point in equal
    parts to every centre gives every cluster exactly the shares r_i.
    """
    shares = groups.group_weights(weights) / weights.sum()
    for i in range(groups.n_groups):
        if shares[i] <= 0 and beta[i] > tol:
            raise InfeasibleBoundsError(
                f"group {groups.labels[i]!r} has no weight (every point of it has weight 0) but beta asks at least "
                f"{100 * beta[i]:.1f}% in every cluster; set its beta to 0",
                group=groups.labels[i],
            )
        if beta[i] > shares[i] + tol:
            raise InfeasibleBoundsError(
                f"group {groups.labels[i]!r} is {100 * shares[i]:.1f}% of the data but beta asks at least "
                f"{100 * beta[i]:.1f}% in every cluster; lower beta to at most {shares[i]:.4g} or raise delta",
                group=groups.labels[i],
            )
        if alpha[i] < shares[i] - tol:
            raise InfeasibleBoundsError(
                f"group {groups.labels[i]!r} is {100 * shares[i]:.1f}% of the data but alpha allows at most "
                f"{100 * alpha[i]:.1f}% in every cluster; raise alpha to at least {shares[i]:.4g} or raise delta",
                group=groups.labels[i],
            )


def make_fair_problem(
    points: Any,
    groups: Any,
    weights: Any = None,
    delta: float | None = None,
    alpha: Any = None,
    beta: Any = None,
    group_names: Sequence[str] | None = None,
) -> FairProblem:
    """Validate everything a fair clustering needs and return a :class:`FairProblem`."""
    X = validate_points(points)
    w = validate_weights(weights, X.shape[0])
    g = encode_groups(groups, X.shape[0], names=group_names)
    a, b = resolve_bounds(g, w, delta=delta, alpha=alpha, beta=beta)
    check_bounds_feasible(g, w, a, b)
    return FairProblem(X, w, g, a, b)

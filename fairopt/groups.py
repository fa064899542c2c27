"""Group memberships: labels of shape (n,) or (n, a) encoded as a sparse (n, m) membership matrix.

Groups are numbered attribute by attribute (columns in order), and within an attribute by its
sorted distinct values; a point belongs to one group of each attribute, so groups overlap when
a > 1 (Relax-and-Merge's P_1..P_m).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from fairopt.exceptions import ValidationError

__all__ = ["GroupStructure", "encode_groups", "decode_groups"]


@dataclass(frozen=True)
class GroupStructure:
    """Group memberships encoded as a sparse 0/1 matrix.

    Attributes
    ----------
    membership : scipy.sparse.csr_matrix of shape (n, m)
        ``membership[x, i] = 1`` when point x belongs to group i.
    labels : list of str, length m
        Readable name of every group, ``"value"`` for a single attribute and
        ``"attr=value"`` (attribute = column index or name) for several.
    values : list, length m
        The original label value of every group.
    attribute : ndarray of shape (m,)
        Index of the attribute (column of ``groups``) each group comes from.
    codes : ndarray of shape (n, a)
        ``codes[x, t]`` is the global index of the group of point x in attribute t.
    """

    membership: sp.csr_matrix
    labels: list
    values: list
    attribute: np.ndarray
    codes: np.ndarray

    @property
    def n_points(self) -> int:
        return self.membership.shape[0]

    @property
    def n_groups(self) -> int:
        return self.membership.shape[1]

    @property
    def n_attributes(self) -> int:
        return self.codes.shape[1]

    @property
    def disjoint(self) -> bool:
        """True when every point is in exactly one group (a single attribute)."""
        return self.n_attributes == 1

    def group_of_point(self) -> np.ndarray:
        """Group index of every point, shape (n,); only for disjoint groups."""
        if not self.disjoint:
            raise ValueError("group_of_point() needs disjoint groups (a single group attribute)")
        return self.codes[:, 0]

    def group_weights(self, weights: np.ndarray) -> np.ndarray:
        """Total weight of every group, shape (m,)."""
        return np.asarray(self.membership.T @ weights).ravel()


def _column_labels(col: np.ndarray, name: str) -> tuple[np.ndarray, list]:
    try:
        values, inverse = np.unique(col, return_inverse=True)
    except TypeError:
        # Mixed or unorderable labels: order by first appearance of their string form.
        try:
            keys = [repr(v) for v in col]
            hash(tuple(col.tolist()))
        except TypeError:
            raise ValidationError(f"{name} labels must be hashable (numbers or strings); got unhashable values") from None
        order = {}
        for key in keys:
            order.setdefault(key, len(order))
        inverse = np.array([order[k] for k in keys])
        first = {}
        for v, key in zip(col, keys):
            first.setdefault(key, v)
        values = np.array([first[k] for k in order], dtype=object)
    return inverse.reshape(-1), list(values.tolist())


def encode_groups(groups: Any, n: int, names: Sequence[str] | None = None, name: str = "groups") -> GroupStructure:
    """Encode group labels of shape (n,) or (n, a) as a :class:`GroupStructure`.

    Groups are numbered attribute by attribute (columns in order) and, within an
    attribute, by the sorted distinct values.

    Parameters
    ----------
    groups : array-like of shape (n,) or (n, a)
        Integer or string labels; one column per group attribute.
    n : int
        Number of points.
    names : sequence of str, optional
        Attribute names used in group labels (``"sex=Female"``); column indices otherwise.
    """
    if groups is None:
        raise ValidationError(f"{name} is required: pass a label array of shape ({n},) or ({n}, a)")
    if isinstance(groups, GroupStructure):
        if groups.n_points != n:
            raise ValidationError(f"{name} covers {groups.n_points} points but there are {n}")
        return groups
    try:
        arr = np.asarray(groups)
    except ValueError as exc:  # ragged nested lists
        raise ValidationError(f"{name} must be a label array of shape ({n},) or ({n}, a); got ragged input: {exc}") from None
    if arr.dtype == object and arr.ndim >= 1:
        for v in arr.ravel()[: min(arr.size, 1000)]:
            try:
                hash(v)
            except TypeError:
                raise ValidationError(f"{name} labels must be hashable (numbers or strings); got {type(v).__name__}") from None
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValidationError(f"{name} must have shape ({n},) or ({n}, a) to match the points; got shape {np.shape(groups)}")
    if arr.shape[1] == 0:
        raise ValidationError(f"{name} has no columns")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValidationError(f"{name} contains NaN or inf labels")
    if arr.dtype == object:
        # NaN among other labels (how pandas gives a missing string) would otherwise become a
        # group of its own, as float NaN labels are refused above. None stays a valid label.
        missing = np.frompyfunc(lambda v: isinstance(v, (float, np.floating)) and not np.isfinite(v), 1, 1)(arr)
        missing = missing.astype(bool)
        if missing.any():
            rows = np.flatnonzero(missing.any(axis=1))
            raise ValidationError(
                f"{name} has missing (NaN) labels in {rows.size} row(s) (first: row {rows[0]}); "
                "drop those points or give the missing value a label of its own"
            )
    a = arr.shape[1]
    codes = np.empty((n, a), dtype=np.int64)
    labels: list = []
    values: list = []
    attribute: list = []
    offset = 0
    for t in range(a):
        inverse, vals = _column_labels(arr[:, t], name)
        if len(vals) < 2:
            col = f"column {t} of {name}" if a > 1 else name
            raise ValidationError(
                f"{col} has a single label ({vals[0]!r}): fairness needs at least two groups per attribute"
            )
        codes[:, t] = inverse + offset
        prefix = "" if a == 1 else f"{names[t] if names is not None else t}="
        labels += [f"{prefix}{v}" for v in vals]
        values += vals
        attribute += [t] * len(vals)
        offset += len(vals)
    rows = np.repeat(np.arange(n), a)
    membership = sp.csr_matrix((np.ones(n * a), (rows, codes.ravel())), shape=(n, offset))
    return GroupStructure(membership, labels, values, np.asarray(attribute), codes)


def decode_groups(codes: np.ndarray, values: list) -> np.ndarray:
    """The label of every code: ``values[t][codes[:, t]]`` for every attribute t.

    Parameters
    ----------
    codes : ndarray of int, shape (n,) or (n, a)
        Per-attribute codes (0-based within each attribute).
    values : list of a lists
        The label of every code of every attribute.

    Returns
    -------
    ndarray of shape (n,) or (n, a)
        Of the labels' dtype; an object array when the attributes mix strings and integers
        (each column keeps its own type).
    """
    cols = [np.asarray(v)[c] for v, c in zip(values, codes.T if codes.ndim == 2 else [codes])]
    if len(cols) == 1:
        return cols[0]
    if len({col.dtype.kind for col in cols}) == 1:
        return np.column_stack(cols)
    out = np.empty((codes.shape[0], len(cols)), dtype=object)
    for t, col in enumerate(cols):
        out[:, t] = col.tolist()
    return out

"""Loaders for the fair-clustering datasets and synthetic generators.

The real datasets (Bera et al. 2019; Boehm et al. 2021; the Relax-and-Merge paper) are read from
CSV files in a folder the user points at (``data_home``, else ``$FAIROPT_DATA``, else
``~/fairopt_data``); nothing is downloaded. Features unscaled; two group columns give overlapping
groups, one column disjoint ones; groups come back as the data's own values (``"divorced"``).

>>> X, groups = load("bank", data_home="../shared/datasets", max_points=1000)   # doctest: +SKIP
>>> X.shape, groups.shape                                                        # doctest: +SKIP
((1000, 3), (1000, 2))
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fairopt.csvfile import check_fields, float_columns, read_rows
from fairopt.exceptions import ValidationError
from fairopt.groups import decode_groups
from fairopt.validation import check_int

__all__ = [
    "Dataset",
    "available_datasets",
    "load",
    "load_dataset",
    "make_fair_blobs",
    "make_stochastic_balls",
    "make_measures",
]

_UCI = "the UCI Machine Learning Repository (https://archive.ics.uci.edu)"
_PAPERS = "the public code of the fair-clustering papers (e.g. github.com/SongShihong/fair_kmeans-relax_and_merge)"


@dataclass(frozen=True)
class _Spec:
    file: str
    features: tuple  # each entry: a column name or a tuple of accepted aliases
    groups: tuple
    source: str
    sep: str = ","
    buckets: dict = field(default_factory=dict)  # group column -> (codes from values, value names)
    headerless: tuple = ()  # column names of the original header-less release (UCI adult.data)


def _bucket_education(values: np.ndarray) -> np.ndarray:
    # Bera et al. 2019: EDUCATION bucketed as <=1, 2, 3, >=4 (4, 5, 6 and the undocumented 0 are rare).
    return np.clip(values, 1, 4).astype(np.int64) - 1


_ADULT_COLUMNS = (
    "age", "workclass", "final-weight", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income",
)
_SHAPES = "the CLUTO / complex9 2-D benchmark shapes as shared by " + _PAPERS

_SPECS: dict[str, _Spec] = {
    "bank": _Spec("bank.csv", ("age", "balance", "duration"), ("marital", "default"),
                  "UCI Bank Marketing (bank.csv) from " + _UCI, sep=";"),
    "adult": _Spec("adult.csv",
                   ("age", ("final-weight", "fnlwgt"), ("education-num", "education_num"),
                    ("capital-gain", "capital_gain"), ("hours-per-week", "hours_per_week")),
                   ("race", "sex"), "UCI Adult (adult.data with a header row) from " + _UCI,
                   headerless=_ADULT_COLUMNS),
    "creditcard": _Spec("creditcard.csv",
                        ("LIMIT_BAL", "AGE") + tuple(f"BILL_AMT{i}" for i in range(1, 7))
                        + tuple(f"PAY_AMT{i}" for i in range(1, 7)),
                        ("MARRIAGE", "EDUCATION"),
                        "UCI Default of Credit Card Clients (saved as CSV) from " + _UCI,
                        buckets={"EDUCATION": (_bucket_education, ["<=1", "2", "3", ">=4"])}),
    "breastcancer": _Spec("breastcancer.csv", tuple(str(i) for i in range(30)), ("label",),
                          "UCI Breast Cancer Wisconsin (Diagnostic) via " + _PAPERS),
    "biodeg": _Spec("biodeg.csv", tuple(str(i) for i in range(42)), ("label",),
                    "UCI QSAR Biodegradation via " + _PAPERS),
    "moons": _Spec("moons.csv", ("x", "y"), ("color",), "scikit-learn make_moons as shared by " + _PAPERS),
    "hypercube": _Spec("hypercube.csv", ("x", "y", "z"), ("color",), "the hypercube set of " + _PAPERS),
    "balanced_complex": _Spec("balanced_complex.csv", ("x", "y"), ("color",), _SHAPES),
    "complex": _Spec("complex.csv", ("x", "y"), ("color",), _SHAPES),
    "balanced_cluto": _Spec("balanced_cluto.csv", ("x", "y"), ("color",), _SHAPES),
    "cluto": _Spec("cluto.csv", ("x", "y"), ("color",), _SHAPES),
}


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset.

    Attributes
    ----------
    name : str
    X : ndarray of shape (n, d), float64
    groups : ndarray of shape (n,) or (n, a)
        The group value of every point as in the file (object array when attributes mix types).
    feature_names : list of str, length d
    group_names : list of str, length a
        The group attributes (columns), e.g. ``["marital", "default"]``.
    group_values : list of lists
        Original value of every code, per attribute (sorted), e.g. ``[["divorced", "married", "single"], ...]``.
    indices : ndarray of shape (n,)
        Rows of the file that were kept (sorted).
    codes : ndarray of shape (n,) or (n, a), int64
        Integer codes of ``groups``: code j of attribute t stands for ``group_values[t][j]``.
    """

    name: str
    X: np.ndarray
    groups: np.ndarray
    feature_names: list
    group_names: list
    group_values: list
    indices: np.ndarray
    codes: np.ndarray


def available_datasets() -> list[str]:
    """Names accepted by :func:`load`."""
    return sorted(_SPECS)


def _data_home(data_home: str | os.PathLike | None) -> Path:
    if data_home is None:
        data_home = os.environ.get("FAIROPT_DATA") or "~/fairopt_data"
    return Path(data_home).expanduser()


def _header(rows: list[list[str]], spec: _Spec, path: Path) -> tuple[list[str], int]:
    """Column names and the index of the first data row."""
    needed = [f if isinstance(f, str) else f[0] for f in spec.features] + list(spec.groups)
    for i in range(min(2, len(rows))):  # the UCI credit-card sheet has one extra header row
        names = [c.strip() for c in rows[i]]
        if all(_column(names, f) is not None for f in spec.features + spec.groups):
            return names, i + 1
    if spec.headerless and len(rows[0]) == len(spec.headerless):
        return list(spec.headerless), 0
    raise ValidationError(f"{path} lacks the columns {needed}; its first row is {rows[0][:20]}")


def _column(names: list[str], want: Any) -> int | None:
    for alias in (want,) if isinstance(want, str) else want:
        if alias in names:
            return names.index(alias)
    return None


def _codes(raw: Sequence[str]) -> tuple[np.ndarray, list]:
    """Integer codes of the sorted distinct values; numeric values sort as numbers."""
    try:
        values = np.asarray(raw, dtype=np.float64)
        if np.all(values == np.round(values)):
            values = values.astype(np.int64)
    except ValueError:
        values = np.asarray(raw, dtype=str)
    uniq, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64), uniq.tolist()


def load_dataset(
    name: str,
    data_home: str | os.PathLike | None = None,
    max_points: int | None = None,
    random_state: int | np.random.Generator | None = 0,
    attributes: str | Sequence[str] | None = None,
) -> Dataset:
    """Load a reference dataset with its feature and group names.

    Parameters
    ----------
    name : str
        One of :func:`available_datasets`.
    data_home : path, optional
        Folder holding the CSV files; ``$FAIROPT_DATA`` or ``~/fairopt_data`` by default.
    max_points : int, optional
        Keep a uniform random subset of this many rows (without replacement, sorted); all rows
        when None or not smaller than the dataset. Codes are computed on the full file first, so
        they are the same for every subsample.
    random_state : int, numpy.random.Generator or None
        Seed of the subsample.
    attributes : str or sequence of str, optional
        Group columns to return (default: all of the dataset's group columns, in the order of the
        README table; also for an empty list); one column gives disjoint groups and a 1-D
        ``groups``.

    Returns
    -------
    Dataset

    Raises
    ------
    FileNotFoundError
        When the CSV file is not in ``data_home``; the message says where to get it.
    """
    if name not in _SPECS:
        raise ValidationError(f"unknown dataset {name!r}; available: {available_datasets()}")
    spec = _SPECS[name]
    if attributes is None or (not isinstance(attributes, str) and len(attributes) == 0):
        attributes = list(spec.groups)
    elif isinstance(attributes, str):
        attributes = [attributes]
    attributes = list(attributes)
    unknown = [a for a in attributes if a not in spec.groups]
    if unknown:
        raise ValidationError(f"attributes {attributes!r} are not group columns of {name!r}; choose from {list(spec.groups)}")
    if max_points is not None and (isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 1):
        raise ValidationError(f"max_points must be a positive integer or None; got {max_points!r}")

    home = _data_home(data_home)
    path = home / spec.file
    if not path.is_file():
        raise FileNotFoundError(
            f"dataset {name!r}: file {spec.file!r} not found in {home} (searched {path}). "
            f"It comes from {spec.source}. Put {spec.file} in that folder, or point to the folder holding it "
            "with load(..., data_home=PATH) or the FAIROPT_DATA environment variable."
        )
    numbered = read_rows(path, spec.sep, what="dataset file", skipinitialspace=True)  # damaged files: one clear error
    names, first = _header([r for _, r in numbered], spec, path)
    body = numbered[first:]
    if not body:
        raise ValidationError(f"dataset file {str(path)!r} has no data rows (only a header)")
    # Every row must be whole: a short row or a "nan" feature is an error, not a silent drop or keep.
    check_fields(body, len(names), str(path), spec.sep, what="dataset file")
    feature_idx = [_column(names, f) for f in spec.features]
    X = float_columns(body, feature_idx, names, str(path), what="dataset file")
    columns = list(zip(*(r for _, r in body)))
    codes, values = [], []
    for attr in attributes:
        raw = columns[names.index(attr)]
        if attr in spec.buckets:
            to_codes, labels = spec.buckets[attr]
            codes.append(to_codes(np.asarray(raw, dtype=np.float64)))
            values.append(list(labels))
        else:
            c, v = _codes(raw)
            codes.append(c)
            values.append(v)
    groups = np.column_stack(codes) if len(codes) > 1 else codes[0]

    indices = np.arange(X.shape[0])
    if max_points is not None and max_points < X.shape[0]:
        rng = np.random.default_rng(random_state)
        indices = np.sort(rng.choice(X.shape[0], size=int(max_points), replace=False))
        X, groups = X[indices], groups[indices]
    feature_names = [names[j] for j in feature_idx]
    return Dataset(name, np.ascontiguousarray(X), decode_groups(groups, values), feature_names, attributes, values, indices, groups)


def load(
    name: str,
    data_home: str | os.PathLike | None = None,
    max_points: int | None = None,
    random_state: int | np.random.Generator | None = 0,
    attributes: str | Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a reference dataset as ``(X, groups)``.

    Same parameters as :func:`load_dataset`; returns its ``X`` (n, d) float64 and ``groups``, the
    data's own group values (``"divorced"``), (n,) for one attribute, (n, a) for several.
    """
    ds = load_dataset(name, data_home=data_home, max_points=max_points, random_state=random_state, attributes=attributes)
    return ds.X, ds.groups


# ----------------------------------------------------------------------------- synthetic data

def _separated_centres(k: int, d: int, separation: float, rng: np.random.Generator) -> np.ndarray:
    """k centres pairwise at least ``separation`` apart: rejection sampling in a cube whose
    volume grows with k, falling back to a line with spacing ``separation``."""
    side = separation * max(1.0, 2.0 * k ** (1.0 / d))
    centres = np.empty((0, d))
    tries = 0
    while centres.shape[0] < k and tries < 1000 * k:
        tries += 1
        c = rng.uniform(0.0, side, size=d)
        if centres.shape[0] == 0 or np.min(np.linalg.norm(centres - c, axis=1)) >= separation:
            centres = np.vstack([centres, c])
    if centres.shape[0] < k:
        centres = np.zeros((k, d))
        centres[:, 0] = separation * np.arange(k)
    return centres


def make_stochastic_balls(
    k: int,
    n_per_ball: int,
    d: int = 2,
    separation: float = 4.0,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stochastic ball model: ``n_per_ball`` uniform points in each of k unit balls in R^d.

    Ball centres are pairwise at least ``separation`` (Delta) apart, so the balls are disjoint
    when Delta > 2. A uniform point of the unit ball is ``u * U^(1/d)`` with u uniform on the
    sphere (a normalised Gaussian) and U uniform on [0, 1].

    Returns
    -------
    X : ndarray of shape (k * n_per_ball, d)
    labels_true : ndarray of shape (k * n_per_ball,)
        Ball of every point (points ordered ball by ball).
    centres : ndarray of shape (k, d)
    """
    for nm, v in (("k", k), ("n_per_ball", n_per_ball), ("d", d)):
        check_int(v, nm)
    if not np.isfinite(separation) or separation <= 0:
        raise ValidationError(f"separation must be a positive number; got {separation!r}")
    rng = np.random.default_rng(random_state)
    centres = _separated_centres(k, d, float(separation), rng)
    n = k * n_per_ball
    u = rng.normal(size=(n, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    radius = rng.random(n) ** (1.0 / d)
    labels = np.repeat(np.arange(k), n_per_ball)
    return centres[labels] + u * radius[:, None], labels, centres


def make_fair_blobs(
    n: int = 300,
    k: int = 3,
    n_groups: int = 2,
    d: int = 2,
    group_imbalance: float = 0.8,
    cluster_std: float = 1.0,
    separation: float = 8.0,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs whose group mix differs from blob to blob, so fairness constraints bind.

    In blob j the dominant group is ``j mod n_groups``; a point of blob j belongs to it with
    probability ``1/m + group_imbalance (1 - 1/m)`` and to each other group with equal
    probability (m = n_groups). ``group_imbalance = 0`` mixes groups evenly in every blob,
    1 makes every blob single-group (the unconstrained k-means is then as unfair as possible).

    Returns
    -------
    X : ndarray of shape (n, d)
    groups : ndarray of shape (n,), int64 in [0, n_groups)
    """
    for nm, v in (("n", n), ("k", k), ("n_groups", n_groups), ("d", d)):
        check_int(v, nm)
    if not 0.0 <= group_imbalance <= 1.0:
        raise ValidationError(f"group_imbalance must lie in [0, 1]; got {group_imbalance!r}")
    rng = np.random.default_rng(random_state)
    centres = _separated_centres(k, d, float(separation), rng)
    blob = np.repeat(np.arange(k), np.diff(np.linspace(0, n, k + 1).round().astype(int)))
    X = centres[blob] + cluster_std * rng.normal(size=(n, d))
    m = n_groups
    p_main = 1.0 / m + group_imbalance * (1.0 - 1.0 / m)
    probs = np.full((k, m), (1.0 - p_main) / max(m - 1, 1))
    probs[np.arange(k), np.arange(k) % m] = p_main if m > 1 else 1.0
    # Inverse-CDF sampling of every point's group from its blob's row of probs.
    cdf = np.cumsum(probs, axis=1)[blob]
    groups = np.minimum((rng.random(n)[:, None] > cdf).sum(axis=1), m - 1)
    return X, groups.astype(np.int64)


def make_measures(
    m: int,
    n_support: int | Sequence[int] = 50,
    d: int = 2,
    n_components: int = 3,
    random_state: int | np.random.Generator | None = None,
    spread: float = 5.0,
    jitter: float = 0.5,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Discrete measures sampled from related Gaussian mixtures (barycenter experiments).

    Component means are drawn once in [-spread, spread]^d and shifted by N(0, jitter^2) per
    measure; every support point comes from a uniformly chosen component with unit covariance.
    Weights are uniform on [0.5, 1.5], normalised to sum to 1.

    Parameters
    ----------
    m : int
        Number of measures.
    n_support : int or sequence of m ints
        Support size of every measure.
    d, n_components : int

    Returns
    -------
    list of m pairs ``(points (n_i, d), weights (n_i,))``, weights summing to 1
    """
    m = check_int(m, "m")  # make_measures(0) would return [] and fail later, far from the cause
    sizes = [n_support] * m if np.isscalar(n_support) else list(n_support)
    if len(sizes) != m or any(isinstance(s, bool) or int(s) != s or s < 1 for s in sizes):
        raise ValidationError(f"n_support must be a positive integer or {m} of them; got {n_support!r}")
    rng = np.random.default_rng(random_state)
    means = rng.uniform(-spread, spread, size=(n_components, d))
    measures = []
    for size in sizes:
        shifted = means + jitter * rng.normal(size=means.shape)
        comp = rng.integers(n_components, size=int(size))
        points = shifted[comp] + rng.normal(size=(int(size), d))
        w = rng.uniform(0.5, 1.5, size=int(size))
        measures.append((points, w / w.sum()))
    return measures

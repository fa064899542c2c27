"""What every fairopt estimator shares with scikit-learn: parameters, input checks, groups, scores.

The estimators (:class:`fairopt.FairKMeans`, :class:`fairopt.StrictlyFairKMeans`,
:class:`fairopt.SparseBarycenter`, :class:`fairopt.BalancedKMeans`) are scikit-learn estimators:
they derive from :class:`sklearn.base.BaseEstimator`, so ``get_params``/``set_params``,
:func:`sklearn.base.clone`, the readable ``repr``, pickling, ``Pipeline`` and ``GridSearchCV``
work as for :class:`sklearn.cluster.KMeans`.

How the groups reach ``fit`` inside scikit-learn's tools
--------------------------------------------------------
The fair estimators need the group label of every point. They take it three ways:

``fit(X, groups)``
    The second positional argument, where scikit-learn passes ``y``. So ``Pipeline.fit(X, groups)``
    hands the groups to the last step, and ``GridSearchCV.fit(X, groups)`` splits them with ``X``
    into the folds and passes the held-out part to ``score``: no configuration at all.
``fit(X, sensitive_features=groups)``
    fairlearn's name. Prefer it in meta-estimators that take ``groups`` for themselves:
    ``GridSearchCV.fit(X, groups=...)`` gives ``groups`` to the CV splitter (``GroupKFold``), not to
    the estimator, while ``sensitive_features`` is sliced per fold and passed to ``fit``
    (``search.fit(X, fairkmeans__sensitive_features=g)`` for a pipeline).
metadata routing
    With ``sklearn.set_config(enable_metadata_routing=True)``,
    ``FairKMeans(...).set_fit_request(sensitive_features=True)`` routes
    ``pipeline.fit(X, sensitive_features=g)`` to the estimator; ``set_score_request`` and
    ``set_predict_request`` do the same for ``score`` and ``predict``.

scikit-learn is a core dependency: the estimator base classes are needed when the estimator
classes are defined, and a hand-written stand-in would drift from ``clone``/``get_params``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from fairopt.distances import nearest, sq_distances
from fairopt.distributed.dask_chunks import map_row_blocks
from fairopt.distributed.dask_data import as_dask_array, is_dask_array
from fairopt.exceptions import ValidationError
from fairopt.problem import validate_points

__all__ = [
    "ClusteringEstimator",
    "FairEstimatorMixin",
    "check_input",
    "resolve_groups",
    "cost_scorer",
    "checks_not_applicable",
]

_GROUPS_NAMED = ("the second argument of fit is named groups, not y (fit(X, groups) is fairopt's API; "
                 "scikit-learn passes y there positionally, so Pipeline and GridSearchCV still work)")
_UNSUPERVISED = "calls fit(X) without y, but a fair clustering needs the group of every point"
_EQUAL_GROUPS = ("its random y has groups of unequal size; strictly fair clustering (alpha = beta = 1/m) "
                 "needs equally many points of every group")
_NOT_APPLICABLE = {
    "FairKMeans": {
        "check_fit_score_takes_y": _GROUPS_NAMED,
        "check_sample_weight_equivalence_on_dense_data": "calls fit(X, y=y, ...) by keyword; " + _GROUPS_NAMED,
        "check_clustering": _UNSUPERVISED,
    },
    "StrictlyFairKMeans": {
        "check_fit_score_takes_y": _GROUPS_NAMED,
        "check_clustering": _UNSUPERVISED,
        **{name: _EQUAL_GROUPS for name in (
            "check_dont_overwrite_parameters", "check_f_contiguous_array_estimator",
            "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_fit2d_1feature",
            "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted", "check_fit2d_predict1d")},
    },
}


def check_input(estimator: BaseEstimator, X: Any, reset: bool, name: str = "X", min_samples: int = 1) -> np.ndarray:
    """``X`` as a C-contiguous float64 array of shape (n, d), checked for ``estimator``.

    The shape is checked first, with fairopt's messages; then scikit-learn's
    :func:`~sklearn.utils.validation.validate_data` refuses sparse and complex input and object
    arrays that are not numbers (``TypeError``), converts pandas frames, and records
    ``n_features_in_`` (``reset=True``, in ``fit``) or compares with it (``reset=False``, after
    ``fit``: "X has 3 features, but FairKMeans is expecting 2 features as input");
    :func:`fairopt.problem.validate_points` finally names the rows holding NaN or inf.
    """
    who = type(estimator).__name__
    if X is None:
        raise ValidationError(f"{who}: {name} is required, an array of shape (n_samples, n_features); got None")
    if not sp.issparse(X):
        try:
            probe = X if hasattr(X, "shape") else np.asarray(X)
        except ValueError as exc:  # ragged nested lists
            raise ValidationError(f"{who}: {name} must be a numeric array of shape (n_samples, n_features); "
                                  f"got ragged input ({exc})") from None
        shape, kind = tuple(probe.shape), getattr(getattr(probe, "dtype", None), "kind", None)
        if kind in ("U", "S"):
            raise ValidationError(f"{who}: {name} must be a real numeric array of shape (n_samples, n_features); got "
                                  f"strings (convert it first, e.g. np.asarray({name}, dtype=float) for numeric text)")
        if kind == "c":  # never drop the imaginary part silently ("Complex data not supported": scikit-learn's words)
            raise ValidationError(f"{who}: {name} must be a real numeric array of shape (n_samples, n_features); got "
                                  "complex numbers. Complex data not supported: take np.real or np.abs first")
        if len(shape) != 2:
            fix = " Reshape your data with X.reshape(-1, 1) for one feature." if len(shape) == 1 else ""
            raise ValidationError(f"{who}: {name} must be 2-D of shape (n_samples, n_features); got shape {shape}.{fix}")
        if shape[0] == 0:
            raise ValidationError(f"{who}: {name} must have at least 1 row; got 0 samples, shape {shape}")
        if shape[0] < min_samples:
            raise ValidationError(f"{who}: {name} must have at least {min_samples} rows (two groups need two points); "
                                  f"got {shape[0]} sample(s), shape {shape}")
        if shape[1] == 0:
            raise ValidationError(f"{who}: {name} must have at least one column; found 0 feature(s) (shape={shape}) "
                                  "while a minimum of 1 is required.")
    arr = validate_data(estimator, X, reset=reset, accept_sparse=False, dtype=np.float64,
                        ensure_all_finite=False, ensure_2d=True, ensure_min_samples=min_samples)
    return validate_points(arr, name=name)


def resolve_groups(groups: Any, sensitive_features: Any, who: str) -> Any:
    """The group labels passed either as ``groups`` (scikit-learn's y) or as ``sensitive_features``."""
    if groups is not None and sensitive_features is not None:
        raise ValidationError(
            f"{who}: pass the group labels once, as groups (the second argument) or as sensitive_features=; "
            "got both"
        )
    g = sensitive_features if groups is None else groups
    if g is None:
        # The words scikit-learn's checks look for ("requires y to be passed, but the target y is None")
        # are kept: the groups sit where scikit-learn passes y.
        raise ValidationError(
            f"{who} requires y to be passed, but the target y is None: give the group label of every point as "
            f"fit(X, groups) or fit(X, sensitive_features=groups), an array of shape (n_samples,) or "
            "(n_samples, n_attributes)"
        )
    return g


def _nearest_block(block: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Nearest centre of every row of one block (a module-level function: Dask pickles it)."""
    return nearest(np.asarray(block, dtype=np.float64), centres)[0].astype(np.int64)


def _labelled_cost(X: np.ndarray, labels: np.ndarray, w: np.ndarray, offset: int, centres: np.ndarray) -> float:
    """sum_x w(x) ||x - c(x)||^2 of one row block (a module-level function: Dask pickles it)."""
    diff = np.asarray(X, dtype=np.float64) - centres[np.asarray(labels)]
    return float(np.einsum("i,ij,ij->", np.asarray(w, dtype=np.float64), diff, diff))


def _dask_labelled_cost(X: Any, labels: Any, sample_weight: Any, centres: np.ndarray) -> float:
    """:func:`_labelled_cost` summed over the row blocks of dask arrays X (n, d) and labels (n,)."""
    import dask.array as da  # optional dependency (fairopt[dist]); X is a dask array here

    if any(np.isnan(c) for c in X.chunks[0]):  # a dask DataFrame's partitions: sizes found in one pass
        X = X.compute_chunk_sizes()
    if any(np.isnan(c) for c in labels.chunks[0]):
        labels = labels.compute_chunk_sizes()
    rows = X.chunks[0]
    X, labels = X.rechunk({0: rows, 1: -1}), labels.rechunk((rows,))
    if sample_weight is None:
        w = da.ones(X.shape[0], chunks=(rows,))
    else:
        w = as_dask_array(sample_weight) if is_dask_array(sample_weight) else da.from_array(np.asarray(sample_weight))
        w = w.rechunk((rows,))
    return float(sum(map_row_blocks(None, _labelled_cost, (X, labels, w), centres)))


class ClusteringEstimator(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """Base of the estimators with ``cluster_centers_``: ``transform``, nearest-centre ``predict``.

    As in :class:`sklearn.cluster.KMeans`, ``transform(X)`` gives the Euclidean distance of every
    row to every centre, shape (n_samples, n_clusters), and ``predict(X)`` the nearest centre.
    """

    @property
    def _n_features_out(self) -> int:
        return self.cluster_centers_.shape[0]

    def _check_fitted_input(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "cluster_centers_")
        return check_input(self, X, reset=False)

    def _nearest(self, X: np.ndarray) -> np.ndarray:
        return nearest(X, self.cluster_centers_)[0]

    def score(self, X: Any, y: Any = None) -> float:
        """Opposite of the nearest-centre cost of ``X``, as :meth:`sklearn.cluster.KMeans.score`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        float
            ``-sum_x min_c ||x - c||^2``.
        """
        X = self._check_fitted_input(X)
        return -float(nearest(X, self.cluster_centers_)[1].sum())

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance of every row of ``X`` to every fitted centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_clusters)
        """
        X = self._check_fitted_input(X)
        return np.sqrt(sq_distances(X, self.cluster_centers_))


class FairEstimatorMixin:
    """Groups, fair placement of new points and the cost score of the fair estimators.

    Subclasses define ``fit(X, groups=None, sample_weight=None, *, sensitive_features=None)``
    and ``_fair_labels(X, groups, sample_weight)`` (labels of new points that respect the
    groups' bounds at the fitted centres).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The groups come where scikit-learn passes y: its checks then supply group labels.
        tags.target_tags.required = True
        return tags

    def fit_predict(self, X: Any, groups: Any = None, sample_weight: Any = None, *,
                    sensitive_features: Any = None) -> np.ndarray:
        """``fit(X, groups).labels_``: the fair labels of the training points."""
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.fit(X, groups, sensitive_features=sensitive_features, **weights).labels_

    def predict(self, X: Any, groups: Any = None, sample_weight: Any = None, *,
                sensitive_features: Any = None) -> np.ndarray:
        """Cluster of every row of ``X``; fair only when the groups are given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,) or (n_samples, n_attributes), optional
            Without groups every point goes to its nearest fitted centre, as in
            :meth:`sklearn.cluster.KMeans.predict`: this is **not fair** (a point alone cannot
            balance a cluster). With groups the new points are placed together, fairly, at the
            fitted centres (see the estimator's ``predict`` notes).
        sample_weight : array-like of shape (n_samples,), optional
        sensitive_features : array-like, optional
            Another name for ``groups`` (fairlearn's).

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
        """
        g = groups if groups is not None else sensitive_features
        if groups is not None and sensitive_features is not None:
            resolve_groups(groups, sensitive_features, type(self).__name__)
        if is_dask_array(X):
            return self._predict_dask(X, g, sample_weight)
        X = self._check_fitted_input(X)
        if g is None:
            return self._nearest(X)
        return self._fair_labels(X, g, sample_weight)

    def _predict_dask(self, X: Any, groups: Any, sample_weight: Any) -> Any:
        """``predict`` on a dask array: a lazy dask array of labels with X's row chunks, X never
        gathered. Without groups every block goes to its nearest centres; the fair placement needs
        an estimator with a Dask path (``_fair_labels_dask``)."""
        check_is_fitted(self, "cluster_centers_")
        X = as_dask_array(X)
        if X.ndim != 2 or X.shape[1] != self.cluster_centers_.shape[1]:
            raise ValidationError(f"X has shape {X.shape} but {type(self).__name__} was fitted on "
                                  f"{self.cluster_centers_.shape[1]} features")
        if groups is None:
            X = X.rechunk({1: -1})
            return X.map_blocks(_nearest_block, self.cluster_centers_, drop_axis=1, dtype=np.int64)
        fair = getattr(self, "_fair_labels_dask", None)
        if fair is None:
            raise ValidationError(f"{type(self).__name__}.predict with groups does not run on dask arrays "
                                  "(FairKMeans.predict does); compute X first if it fits in memory")
        return fair(X, groups, sample_weight)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None, *, sensitive_features: Any = None) -> float:
        """Opposite of the k-means cost of :meth:`predict`'s labels (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_attributes), optional
            The group labels of ``X``; named ``y`` as in every scikit-learn ``score``, because
            ``GridSearchCV`` passes the held-out part of what ``fit`` got as its second argument
            (the groups). With groups the score is the cost of the fair placement of ``X`` at the
            fitted centres, so a search compares fair costs; without, it is
            :meth:`sklearn.cluster.KMeans.score` (the nearest-centre cost).
        sample_weight : array-like of shape (n_samples,), optional
        sensitive_features : array-like, optional
            Another name for ``y`` here (fairlearn's).

        Returns
        -------
        float
            ``-sum_x w(x) ||x - c(x)||^2``.
        """
        labels = self.predict(X, y, sample_weight, sensitive_features=sensitive_features)
        if is_dask_array(X):  # chunk by chunk, as predict: X is never gathered
            return -_dask_labelled_cost(as_dask_array(X), labels, sample_weight, self.cluster_centers_)
        X = check_input(self, X, reset=False)
        w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        diff = X - self.cluster_centers_[labels]
        return -float(np.einsum("i,ij,ij->", w, diff, diff))


def checks_not_applicable(estimator: Any) -> dict:
    """scikit-learn checks that cannot apply to a fairopt estimator, with the reason for each.

    Pass it to :func:`sklearn.utils.estimator_checks.check_estimator` as ``expected_failed_checks``:
    every other check passes (``BalancedKMeans`` passes all of them)::

        check_estimator(est, expected_failed_checks=fairopt.base.checks_not_applicable(est))

    Returns
    -------
    dict of str to str
        Check name -> why it cannot apply.
    """
    return dict(_NOT_APPLICABLE.get(type(estimator).__name__, {}))


def cost_scorer(estimator: Any, X: Any, y: Any = None) -> float:
    """A scikit-learn scorer: minus the k-means cost of the estimator's labels on ``X``.

    ``GridSearchCV(FairKMeans(4), grid, scoring=fairopt.cost_scorer).fit(X, groups)`` picks the
    parameters of the lowest fair cost on the held-out folds (``y`` carries their groups). It
    calls ``estimator.score(X, y)``, so a ``Pipeline`` ending in a fairopt estimator is scored
    in the space its last step sees (after ``StandardScaler``, say). For an estimator without
    groups (``BalancedKMeans``) ``y`` is ignored and the cost is that of ``predict``.

    Parameters
    ----------
    estimator : fitted fairopt estimator, or a Pipeline ending in one
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, a), optional
        The group labels of the rows of ``X``.

    Returns
    -------
    float
        ``-sum_x ||x - c(x)||^2`` (higher is better, scikit-learn's convention).
    """
    return float(estimator.score(X, y))

"""Cost, additive violation and balance recomputed by hand on tiny examples."""
import numpy as np
import pytest
import scipy.sparse as sp

from fairopt.exceptions import ValidationError
from fairopt.groups import encode_groups
from fairopt.kmeans import weighted_kmeans
from fairopt.metrics import (
    additive_violation,
    balance,
    cluster_sizes,
    fractional_cost,
    group_counts,
    kmeans_cost,
)

GROUPS = np.array([0, 0, 1, 1])


def _one_hot(labels, k):
    A = np.zeros((len(labels), k))
    A[np.arange(len(labels)), labels] = 1.0
    return A


def test_fair_clustering_has_zero_violation():
    # every cluster holds one point of each group: shares 1/2 exactly
    assert additive_violation([0, 1, 0, 1], GROUPS, alpha=0.5, beta=0.5) == 0.0


def test_unfair_clustering_violation_by_hand():
    # cluster 0 = {group 0, group 0}: W = 2, W_0 = 2, W_1 = 0
    # alpha = beta = 1/2: W_0 - alpha W = 1 and beta W - W_1 = 1
    assert additive_violation([0, 0, 1, 1], GROUPS, alpha=0.5, beta=0.5) == pytest.approx(1.0)
    # alpha = 3/4, beta = 1/4: 2 - 1.5 = 0.5 and 0.5 - 0 = 0.5
    assert additive_violation([0, 0, 1, 1], GROUPS, alpha=0.75, beta=0.25) == pytest.approx(0.5)
    # per-group bounds: only group 1's lower bound 0.4 * 2 - 0 = 0.8 binds
    assert additive_violation([0, 0, 1, 1], GROUPS, alpha=[1.0, 1.0], beta=[0.0, 0.4]) == pytest.approx(0.8)


def test_labels_dense_and_sparse_assignments_agree():
    labels = np.array([0, 0, 1, 1, 2, 0])
    groups = np.array([0, 1, 1, 1, 0, 0])
    w = np.array([1.0, 2.0, 1.0, 0.5, 3.0, 1.0])
    phi = _one_hot(labels, 3) * w[:, None]
    kw = dict(alpha=0.6, beta=0.3)
    v = additive_violation(labels, groups, k=3, weights=w, **kw)
    assert v == pytest.approx(additive_violation(phi, groups, **kw))
    assert v == pytest.approx(additive_violation(sp.csr_matrix(phi), groups, **kw))
    assert v == pytest.approx(additive_violation(labels, encode_groups(groups, 6).membership, k=3, weights=w, **kw))


def test_fractional_assignment_violation():
    # one point split half/half between two clusters; the other point wholly in cluster 0
    phi = np.array([[0.5, 0.5], [1.0, 0.0]])
    # cluster 0: W = 1.5, W_0 = 0.5, W_1 = 1; bounds [0.5, 0.5]: max(0.75 - 0.5, 1 - 0.75) = 0.25
    # cluster 1: W = 0.5, W_0 = 0.5, W_1 = 0: 0.5 - 0.25 = 0.25
    assert additive_violation(phi, np.array([0, 1]), 0.5, 0.5) == pytest.approx(0.25)


def test_overlapping_groups():
    groups = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])  # two attributes, four groups
    assert additive_violation([0, 0, 1, 1], groups, 0.5, 0.5) == pytest.approx(1.0)  # attribute 0 unfair
    assert additive_violation([0, 1, 1, 0], groups, 0.5, 0.5) == 0.0
    assert balance([0, 1, 1, 0], groups) == 1.0
    assert balance([0, 1, 0, 1], groups) == 0.0


def test_group_counts_and_sizes():
    labels = np.array([0, 0, 1, 1, 1])
    groups = np.array(["a", "b", "b", "b", "a"])
    np.testing.assert_array_equal(group_counts(labels, groups, k=3), [[1, 1], [1, 2], [0, 0]])
    np.testing.assert_array_equal(cluster_sizes(labels, k=3), [2, 3, 0])
    np.testing.assert_array_equal(cluster_sizes(labels, weights=[1, 1, 2, 2, 2]), [2, 6])


def test_balance_by_hand():
    groups = np.array([0, 1, 0, 1, 0, 0])
    assert balance([0, 0, 1, 1, 2, 2], groups) == 0.0  # cluster 2 misses group 1
    assert balance([0, 0, 1, 1, 1, 0], groups) == pytest.approx(0.5)  # clusters 2:1 and 2:1
    assert balance([0, 0, 0, 0, 0, 0], groups) == pytest.approx(0.5)


def test_costs_agree():
    rng = np.random.default_rng(0)
    X, C = rng.normal(size=(30, 2)), rng.normal(size=(4, 2))
    labels = rng.integers(4, size=30)
    phi = _one_hot(labels, 4)
    direct = ((X - C[labels]) ** 2).sum()
    assert kmeans_cost(X, C, labels) == pytest.approx(direct)
    assert fractional_cost(X, C, phi) == pytest.approx(direct)
    assert fractional_cost(X, C, sp.csr_matrix(phi)) == pytest.approx(direct)
    split = 0.5 * phi + 0.5 * _one_hot((labels + 1) % 4, 4)
    expected = 0.5 * direct + 0.5 * ((X - C[(labels + 1) % 4]) ** 2).sum()
    assert fractional_cost(X, C, sp.coo_matrix(split)) == pytest.approx(expected)
    with pytest.raises(ValidationError):
        fractional_cost(X, C, phi[:, :3])


def test_unconstrained_kmeans_is_unfair_on_tiny_instance(tiny_instance):
    X, groups = tiny_instance
    km = weighted_kmeans(X, None, 3, n_init=3, random_state=0)
    assert additive_violation(km.labels, groups, 0.5, 0.5) == pytest.approx(1.0)  # a 3:1 blob
    assert balance(km.labels, groups) == pytest.approx(1 / 3)

"""Candidate centre sets: kd-tree sampling, Matousek grids, the dispatcher."""
import numpy as np
import pytest

from fairopt.candidates import (
    candidate_set,
    grid_candidates,
    grid_size_estimate,
    kdtree_candidates,
    kdtree_nodes,
)
from fairopt.exceptions import ValidationError


def _cost(Q, c):
    return float(((Q - c) ** 2).sum())


def test_kdtree_has_2n_minus_1_nested_nodes():
    X = np.random.default_rng(0).normal(size=(37, 3))
    lo, hi = kdtree_nodes(X)
    assert lo.shape == hi.shape == (2 * 37 - 1, 3)
    np.testing.assert_array_equal(lo[0], X.min(axis=0))
    np.testing.assert_array_equal(hi[0], X.max(axis=0))
    assert (lo <= hi).all() and (lo >= lo[0]).all() and (hi <= hi[0]).all()
    leaves = lo[(lo == hi).all(axis=1)]
    np.testing.assert_array_equal(np.unique(leaves, axis=0), np.unique(X, axis=0))


def test_kdtree_handles_duplicates():
    X = np.repeat(np.arange(5.0)[:, None], 4, axis=0) * np.ones((1, 2))
    lo, hi = kdtree_nodes(X)
    assert lo.shape[0] == 2 * 20 - 1
    assert ((lo == hi).all(axis=1)).sum() >= 20


def test_kdtree_candidates_lie_in_enlarged_bounding_box():
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(200, 2)) * [10.0, 1.0]
    S = kdtree_candidates(X, 500, rng, enlarge=3.0)
    assert S.shape == (500, 2)
    centre, half = (X.max(0) + X.min(0)) / 2, (X.max(0) - X.min(0)) / 2
    # every node's 3x cell lies inside the root's 3x cell
    assert (np.abs(S - centre) <= 3 * half + 1e-12).all()
    assert (np.abs(S - centre) > half).any()  # enlargement is used


def test_all_nodes_give_exactly_the_points_at_leaves():
    X = np.random.default_rng(2).normal(size=(50, 2))
    S = kdtree_candidates(X, 2 * 50 - 1, np.random.default_rng(0))
    is_point = (((S[:, None, :] - X[None]) ** 2).sum(-1) == 0).any(axis=1)
    assert is_point.sum() == 50


def test_grid_candidates_are_eps_approximate_centroid_sets():
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(25, 2)) * [4.0, 1.0]
    eps = 0.3
    S = grid_candidates(X, eps)
    assert S.shape[0] <= grid_size_estimate(X, eps)
    for _ in range(200):
        Q = X[rng.choice(25, size=rng.integers(1, 26), replace=False)]
        mu = Q.mean(axis=0)
        gap = ((S - mu) ** 2).sum(axis=1).min()
        # Matousek: |Q| ||g - mu||^2 <= eps cost(Q, mu), i.e. cost(Q, g) <= (1 + eps) cost(Q, mu)
        assert len(Q) * gap <= eps * _cost(Q, mu) + 1e-12
        assert _cost(Q, S[((S - mu) ** 2).sum(axis=1).argmin()]) <= (1 + eps) * _cost(Q, mu) + 1e-12


def test_grid_refuses_large_sets_with_a_useful_message():
    X = np.random.default_rng(4).normal(size=(500, 6))
    with pytest.raises(ValidationError) as info:
        grid_candidates(X, 0.1, max_size=100_000)
    msg = str(info.value)
    assert "d=6" in msg and "kdtree" in msg and "eps" in msg
    est = grid_size_estimate(X, 0.1)
    assert f"{est:,}" in msg and est > 100_000


def test_candidate_set_methods():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(size=(40, 2)), rng.normal(size=(2, 2))])
    X[-1] = X[0]  # a duplicate point
    pts = candidate_set(X, method="points")
    np.testing.assert_array_equal(pts, X[:-1])  # order kept, duplicate dropped
    kd = candidate_set(X, method="kdtree", random_state=0)
    assert kd.shape[1] == 2 and kd.shape[0] <= X.shape[0]
    np.testing.assert_array_equal(kd, candidate_set(X, method="kdtree", random_state=0))
    both = candidate_set(X, method="kdtree+points", size=30, random_state=0)
    np.testing.assert_array_equal(both[:41], X[:-1])
    assert both.shape[0] > 41
    grid = candidate_set(X, method="grid", eps=0.5)
    assert grid.shape[0] > X.shape[0]


def test_candidate_set_ratio_subsamples():
    X = np.random.default_rng(6).normal(size=(100, 2))
    full = candidate_set(X, method="points")
    part = candidate_set(X, method="points", ratio=0.1, random_state=1)
    assert part.shape == (10, 2)
    assert (((part[:, None] - full[None]) ** 2).sum(-1) == 0).any(axis=1).all()
    assert candidate_set(X, method="points", ratio=0.001, random_state=1).shape == (1, 2)


@pytest.mark.parametrize("kwargs", [{"method": "random"}, {"ratio": 0.0}, {"ratio": 1.5}, {"size": 0},
                                    {"method": "grid", "eps": 0.0}])
def test_candidate_set_validation(kwargs):
    with pytest.raises(ValidationError):
        candidate_set(np.zeros((5, 2)), **kwargs)


def test_kdtree_plus_seeds_is_bounded_and_holds_data_points():
    rng = np.random.default_rng(0)
    for n in (300, 3000):
        X = rng.normal(size=(n, 5))
        S = candidate_set(X, method="kdtree+seeds", size=60, random_state=0)
        assert S.shape[0] <= 60 and np.unique(S, axis=0).shape[0] == S.shape[0]
        # the 20 k-means++ seeds are data points (kd-tree inner-cell samples almost never are)
        on_data = (np.abs(S[:, None, :] - X[None]).sum(axis=2) == 0).any(axis=1)
        assert on_data.sum() >= 20

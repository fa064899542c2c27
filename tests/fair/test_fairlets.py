"""Algorithm 2 (StrictlyFairKMeans) and the ORL21 baseline: exact fairness, costs, the 2x fairlet bound."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from fairopt.baselines import orl21
from fairopt.exceptions import ValidationError
from fairopt.fair.fairlets import (
    StrictlyFairKMeans,
    fairlet_decomposition,
    pairwise_matchings,
)

EQUAL_GROUP_SETS = ("moons", "hypercube", "balanced_complex", "balanced_cluto")

_CACHE: dict = {}


def _load(name, data_home):
    if name not in _CACHE:
        from fairopt.datasets import load

        _CACHE[name] = load(name, data_home=data_home)
    return _CACHE[name]


def _check_strictly_fair(X, groups, labels, k):
    """Every cluster holds the same number of points of every group (integer counts)."""
    values = np.unique(groups)
    counts = np.array([[np.sum((labels == c) & (groups == v)) for v in values] for c in range(k)])
    assert (counts == counts[:, :1]).all(), counts
    assert counts.sum() == X.shape[0]


def _kmeans_cost(X, labels, k):
    cost = 0.0
    for c in range(k):
        P = X[labels == c]
        if len(P):
            cost += float(((P - P.mean(axis=0)) ** 2).sum())
    return cost


def _grid():
    for name in EQUAL_GROUP_SETS:
        for k in range(2, 11):
            slow = name == "balanced_cluto" and k not in (2, 5, 10)  # 2700 points: a slice stays fast
            yield pytest.param(name, k, marks=[pytest.mark.slow] if slow else [], id=f"{name}-k{k}")


@pytest.mark.parametrize("name,k", list(_grid()))
def test_exactly_fair_and_cost_recomputed(name, k, data_home):
    X, groups = _load(name, data_home)
    sf = StrictlyFairKMeans(n_clusters=k, random_state=0).fit(X, groups)
    _check_strictly_fair(X, groups, sf.labels_, k)
    assert sf.violation_ == 0.0
    assert (sf.group_counts_ == sf.group_counts_[:, :1]).all()
    assert sf.cost_ == pytest.approx(_kmeans_cost(X, sf.labels_, k), rel=1e-9)
    # cluster_centers_ are the centroids, and the cost is to them.
    diff = X - sf.cluster_centers_[sf.labels_]
    assert sf.cost_ == pytest.approx(float((diff ** 2).sum()), rel=1e-9)
    # Fairlets partition the points, one point of every group each, and stay whole.
    p, m = sf.fairlets_.shape
    assert np.array_equal(np.sort(sf.fairlets_.ravel()), np.arange(X.shape[0]))
    assert all(len(set(groups[row].tolist())) == m for row in sf.fairlets_)
    assert (sf.labels_[sf.fairlets_] == sf.labels_[sf.fairlets_[:, :1]]).all()
    # Pythagoras: cost <= fairlet cost + m * (k-means cost of the centroids) <= matching cost + merge cost.
    assert sf.cost_ <= (sf.fairlet_cost_ + sf.merge_cost_) * (1 + 1e-9)
    assert sf.fairlet_cost_ <= sf.matching_cost_ * (1 + 1e-12)


@pytest.mark.parametrize("name", EQUAL_GROUP_SETS[:3])
def test_orl21_exactly_fair(name, data_home):
    X, groups = _load(name, data_home)
    res = orl21(X, groups, 4, random_state=0)
    _check_strictly_fair(X, groups, res.labels, 4)
    assert res.cost == pytest.approx(_kmeans_cost(X, res.labels, 4), rel=1e-9)
    assert res.info["pivot_costs"].min() == pytest.approx(res.cost)


def test_best_anchor_is_fair(data_home):
    X, groups = _load("moons", data_home)
    sf = StrictlyFairKMeans(n_clusters=3, anchor="best", random_state=0).fit(X, groups)
    _check_strictly_fair(X, groups, sf.labels_, 3)
    assert sf.cost_ == pytest.approx(_kmeans_cost(X, sf.labels_, 3), rel=1e-9)


def _tiny(m, p, seed, d=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m * p, d)) + np.repeat(rng.normal(scale=2.0, size=(m, d)), p, axis=0)
    groups = np.repeat(np.arange(m), p)
    return X, groups


def _optimal_fairlet_cost(X, groups):
    """Brute force over every fair decomposition: fix group 0's order, permute the others."""
    m = groups.max() + 1
    idx = [np.flatnonzero(groups == i) for i in range(m)]
    p = idx[0].size
    perms = np.array(list(itertools.permutations(range(p))))
    best = np.inf
    for choice in itertools.product(range(len(perms)), repeat=m - 1):
        members = np.stack([idx[0]] + [idx[i + 1][perms[c]] for i, c in enumerate(choice)], axis=1)
        P = X[members]
        best = min(best, float(((P - P.mean(axis=1, keepdims=True)) ** 2).sum()))
    return best


@pytest.mark.parametrize("m,p,seed", [(3, 4, 0), (3, 4, 1), (4, 3, 2), (4, 3, 3), (3, 5, 4), (2, 6, 5)])
def test_fairlet_cost_at_most_twice_optimal(m, p, seed):
    X, groups = _tiny(m, p, seed)
    opt = _optimal_fairlet_cost(X, groups)
    sf = StrictlyFairKMeans(n_clusters=2, random_state=0).fit(X, groups)
    assert opt <= sf.fairlet_cost_ * (1 + 1e-12)  # the brute force really is a minimum
    assert sf.fairlet_cost_ <= sf.matching_cost_ * (1 + 1e-12) <= 2 * opt * (1 + 1e-12)
    if m == 2:  # two groups: a fairlet's cost is half its pair's distance, so the matching is optimal
        assert sf.fairlet_cost_ == pytest.approx(opt, rel=1e-12)


def test_pairwise_matchings_are_consistent():
    X, groups = _tiny(4, 6, 7)
    index = [np.flatnonzero(groups == i) for i in range(4)]
    match, cost = pairwise_matchings(X, index)
    assert np.allclose(cost, cost.T) and np.all(np.diag(cost) == 0)
    for j in range(4):
        for i in range(4):
            assert np.array_equal(np.sort(match[j, i]), index[i])
            assert cost[j, i] == pytest.approx(float(((X[match[j, i]] - X[index[j]]) ** 2).sum()))
            # i -> j undoes j -> i
            back = {int(x): int(y) for x, y in zip(match[j, i], index[j])}
            assert all(back[int(y)] == int(x) for x, y in zip(match[i, j], index[i]))
    dec = fairlet_decomposition(X, index, (match, cost))
    assert dec.anchor == int(np.argmin(cost.sum(axis=1)))
    assert dec.matching_cost == pytest.approx(cost.sum(axis=1).min())


def test_refuses_unequal_groups():
    X, groups = _tiny(3, 4, 0)
    groups[0] = 1
    with pytest.raises(ValidationError, match="equal size") as err:
        StrictlyFairKMeans(n_clusters=2).fit(X, groups)
    assert "FairKMeans" in str(err.value) and "'0': 3" in str(err.value)
    with pytest.raises(ValidationError, match="equal size"):
        orl21(X, groups, 2)


def test_refuses_overlapping_groups():
    X, groups = _tiny(2, 4, 0)
    two = np.stack([groups, np.tile([0, 1], 4)], axis=1)
    with pytest.raises(ValidationError, match="disjoint groups") as err:
        StrictlyFairKMeans(n_clusters=2).fit(X, two)
    assert "FairKMeans" in str(err.value)


def test_refuses_more_clusters_than_fairlets():
    X, groups = _tiny(2, 4, 0)
    with pytest.raises(ValidationError, match="fairlets"):
        StrictlyFairKMeans(n_clusters=5).fit(X, groups)
    with pytest.raises(ValidationError, match="anchor"):
        StrictlyFairKMeans(n_clusters=2, anchor="first").fit(X, groups)


def test_cli_strictly_fair(data_home, tmp_path, capsys):
    from fairopt.cli.main import main

    out = tmp_path / "sf.json"
    rc = main(["strictly-fair", "--dataset", "moons", "--data-home", str(data_home), "--k", "3",
               "--random-state", "0", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "orl21" in text and "fairlets" in text
    record = json.loads(out.read_text())
    X, groups = _load("moons", data_home)
    sf = StrictlyFairKMeans(n_clusters=3, random_state=0).fit(X, groups)
    assert record["metrics"]["fairlets"]["cost"] == pytest.approx(sf.cost_)
    assert record["metrics"]["orl21"]["cost"] == pytest.approx(orl21(X, groups, 3, random_state=0).cost)

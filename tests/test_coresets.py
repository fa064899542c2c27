"""Fair coresets (issue 11): exact signature weights, composition, and LP (2) on the coreset.

Facts checked against numpy recomputations and against LP (2) solved on all points.
"""
from __future__ import annotations

import numpy as np
import pytest

import fairopt
from fairopt.coresets import (
    _fair_coreset,
    default_coreset_size,
    resolve_coreset_size,
    signature_ids,
)
from fairopt.datasets import make_fair_blobs
from fairopt.exceptions import ValidationError


def _overlapping(n=3000, seed=0):
    X, g = make_fair_blobs(n=n, k=4, n_groups=3, d=3, random_state=seed)
    other = (np.random.default_rng(seed).random(n) < 0.3).astype(int)  # a second attribute
    return X, np.column_stack([g, other])


def test_every_signature_keeps_its_exact_weight():
    X, G = _overlapping()
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=X.shape[0])
    cs = fairopt.fair_coreset(X, G, size=300, n_clusters=4, weights=w, random_state=0)
    sid = signature_ids(G)
    assert sid.max() + 1 == 6  # 3 x 2 signatures, all present
    for s in range(6):
        # the coreset's signature ids follow the input's; recompute them from the rows it kept
        assert np.all(sid[cs.index[cs.signature == s]] == s)
        assert np.isclose(cs.weights[cs.signature == s].sum(), w[sid == s].sum(), rtol=1e-12)
    assert cs.size < 0.25 * X.shape[0]
    assert np.all(cs.weights > 0)
    assert np.array_equal(cs.points, X[cs.index])


def test_fixed_seed_fixed_coreset_and_composition():
    X, G = _overlapping(seed=2)
    a = fairopt.fair_coreset(X, G, size=300, n_clusters=4, random_state=7)
    b = fairopt.fair_coreset(X, G, size=300, n_clusters=4, random_state=7)
    assert np.array_equal(a.index, b.index) and np.array_equal(a.weights, b.weights)
    # merge and reduce: a coreset of the union of the coresets of two halves keeps every weight
    sid = signature_ids(G)
    half = X.shape[0] // 2
    rng = np.random.default_rng(3)
    parts = [_fair_coreset(X[s], np.ones(half), sid[s], 250, 4, rng) for s in (slice(0, half), slice(half, None))]
    P = np.vstack([p.points for p in parts])
    W = np.concatenate([p.weights for p in parts])
    S = np.concatenate([p.signature for p in parts])
    merged = _fair_coreset(P, W, S, 200, 4, rng)
    for s in range(sid.max() + 1):
        assert np.isclose(merged.weights[merged.signature == s].sum(), np.count_nonzero(sid == s), rtol=1e-12)


def test_lp2_on_coreset_stays_close_to_lp2_on_data():
    X, g = make_fair_blobs(n=4000, k=4, n_groups=2, d=2, group_imbalance=0.5, random_state=4)
    centres = fairopt.weighted_kmeans(X, k=4, n_init=2, random_state=0).centres
    full = fairopt.fair_assignment(X, centres, g, delta=0.1)
    cs = fairopt.fair_coreset(X, g, size=800, n_clusters=4, random_state=0)
    # the same bounds as on the data: the coreset keeps every group's weight, so delta gives them too
    small = fairopt.fair_assignment(cs.points, centres, g[cs.index], delta=0.1, weights=cs.weights)
    assert full.status == small.status == "optimal"
    # sensitivity sampling: about 1% at this size (seeds 0..3 give 1.4%, 0.2%, 0.6%, 0.6%)
    assert abs(small.objective - full.objective) <= 0.04 * full.objective
    # the coreset's optimum is an LP (2) value of the same centres, not a looser bound: far from
    # the unconstrained cost and the cost of sending everything to one centre
    d2 = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2)
    assert d2.min(axis=1).sum() <= small.objective <= 0.5 * d2.sum(axis=0).min()


def test_default_sizes_are_bounded():
    assert resolve_coreset_size("auto", 1000, 10) is None
    sizes = [resolve_coreset_size("auto", n, 10) for n in (10_000, 100_000, 1_000_000)]
    assert sizes == [default_coreset_size(10_000, 10)] * 3 and sizes[0] <= 5_000
    assert resolve_coreset_size(None, 10**6, 10) is None
    assert resolve_coreset_size(300, 200, 4) is None  # not smaller than n: all points


@pytest.mark.parametrize("bad", ["big", 1, 2.5, True])
def test_bad_coreset_size_is_refused_before_any_solve(bad):
    X, g = make_fair_blobs(n=50, k=2, random_state=0)
    with pytest.raises(ValidationError, match="coreset_size"):
        fairopt.FairKMeans(n_clusters=2, coreset_size=bad).fit(X, g)

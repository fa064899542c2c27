"""Relax and Merge at scale (issue 11): bounded defaults, coreset relaxation, exact final step on all points.

Labels are checked with numpy recomputations of the group counts per cluster against the
rounding's proven violation bounds; the final LP (2) against a second solver path.
"""
from __future__ import annotations

import numpy as np
import pytest

import fairopt
from fairopt.assignment import lp2 as lp2_module
from fairopt.baselines import nips19
from fairopt.datasets import make_fair_blobs


def _violation(labels, groups, delta, k):
    """Largest additive violation over clusters and groups, from counts (numpy only)."""
    groups = groups.reshape(len(groups), -1)
    worst = 0.0
    for col in groups.T:
        values, inv = np.unique(col, return_inverse=True)
        r = np.bincount(inv) / inv.size
        alpha, beta = r / (1 - delta), r * (1 - delta)
        counts = np.zeros((k, values.size))
        np.add.at(counts, (labels, inv), 1.0)
        W = counts.sum(axis=1, keepdims=True)
        worst = max(worst, float(np.max(np.maximum(counts - alpha * W, beta * W - counts))))
    return max(worst, 0.0)


def test_default_candidate_set_is_bounded_as_n_grows():
    sizes = []
    for n in (600, 1500, 4500):
        X, g = make_fair_blobs(n=n, k=3, n_groups=2, d=2, random_state=0)
        fk = fairopt.FairKMeans(n_clusters=3, random_state=0, n_init=2).fit(X, g)
        sizes.append((fk.n_candidates_, fk.n_coreset_))
    assert all(s <= 600 for s, _ in sizes)
    assert sizes[0][1] is None and sizes[1][1] is None  # below the threshold: all points
    assert sizes[2][1] is not None and sizes[2][1] <= 2_000  # above it: a coreset of bounded size


@pytest.mark.parametrize("final_path", ["colgen", "screen"])
def test_5000_point_fit_with_defaults_labels_every_point_within_the_bound(final_path, monkeypatch):
    # The screened final LP is the default from 20,000 points; here it is made to take over at 5,000.
    monkeypatch.setattr(lp2_module, "SCREEN_MIN_POINTS", 5000 if final_path == "screen" else 10**9)
    monkeypatch.setattr(lp2_module, "SCREEN_POINTS_PER_CENTRE", 0)
    X, g = make_fair_blobs(n=5000, k=4, n_groups=3, d=2, group_imbalance=0.5, random_state=1)
    fk = fairopt.FairKMeans(n_clusters=4, delta=0.1, random_state=0).fit(X, g)
    assert ("free" in fk.result_.info["assign_info"]) == (final_path == "screen")
    assert fk.n_coreset_ is not None and fk.n_coreset_ < 5000
    assert fk.labels_.shape == (5000,) and fk.status_ == "optimal"
    assert fk.assignment_.shape == (5000, 4)
    # disjoint groups: circulation rounding, additive violation <= 1 + max beta < 2
    v = _violation(fk.labels_, g, 0.1, 4)
    assert v <= 2.0 and np.isclose(v, fk.violation_)
    # the final LP (2) ran on all points: a second path (dense HiGHS) finds the same optimum
    dense = fairopt.fair_assignment(X, fk.cluster_centers_, g, delta=0.1, method="direct")
    assert np.isclose(fk.fractional_cost_, dense.objective, rtol=1e-7)
    # the rounding touches only the split points and never costs more than phi
    d2 = ((X - fk.cluster_centers_[fk.labels_]) ** 2).sum()
    assert d2 <= fk.fractional_cost_ * (1 + 1e-9)
    split = np.diff(fk.assignment_.tocsr().indptr) > 1
    assert split.sum() <= 4 * (1 + 2 * 3)  # a basic optimum splits at most one point per coupling row


def test_overlapping_groups_at_scale_within_beras_bound():
    X, g = make_fair_blobs(n=4500, k=3, n_groups=2, d=2, group_imbalance=0.5, random_state=2)
    other = (np.random.default_rng(0).random(X.shape[0]) < 0.4).astype(int)
    G = np.column_stack([g, other])
    fk = fairopt.FairKMeans(n_clusters=3, delta=0.2, random_state=0, n_init=2).fit(X, G)
    assert fk.n_coreset_ is not None
    # Bera et al.: (1 + max alpha) (2 Delta + 1) with Delta = 2 groups per point
    alpha_max = max(np.bincount(c).max() / c.size for c in G.T) / 0.8
    assert _violation(fk.labels_, G, 0.2, 3) <= (1 + alpha_max) * 5


def test_nips19_runs_on_a_coreset_and_relax_merge_is_not_worse_here():
    X, g = make_fair_blobs(n=4500, k=4, n_groups=2, d=2, group_imbalance=0.6, random_state=3)
    base = nips19(X, g, 4, delta=0.1, random_state=0, n_init=3)
    assert base.info["n_coreset"] is not None and base.labels.shape == (4500,)
    assert _violation(base.labels, g, 0.1, 4) <= 2.0
    exact = nips19(X, g, 4, delta=0.1, random_state=0, n_init=3, coreset_size=None)
    assert exact.info["n_coreset"] is None
    # k-means on a coreset loses little: its fair cost within 5% of k-means on all points
    assert base.fractional_cost <= 1.05 * exact.fractional_cost


def test_auto_refinement_runs_on_the_coreset_only():
    """n_refine="auto": the paper's Algorithm 1 on all points below the coreset threshold; on a
    coreset, fair Lloyd steps whose coreset LP (2) cost never increases."""
    from fairopt.fair.relax_merge import AUTO_REFINE_STEPS, resolve_n_refine

    assert resolve_n_refine("auto", on_coreset=False) == 0 and resolve_n_refine(3, on_coreset=True) == 3
    X, g = make_fair_blobs(n=1200, k=3, n_groups=2, d=2, random_state=2)
    small = fairopt.FairKMeans(n_clusters=3, delta=0.1, random_state=0).fit(X, g)
    assert small.n_coreset_ is None and small.result_.info["refine_history"] == []
    X, g = make_fair_blobs(n=6000, k=3, n_groups=2, d=2, random_state=2)
    auto = fairopt.FairKMeans(n_clusters=3, delta=0.1, random_state=0).fit(X, g)
    hist = auto.result_.info["refine_history"]
    assert auto.n_coreset_ is not None and 1 <= len(hist) <= AUTO_REFINE_STEPS
    assert all(b <= a * (1 + 1e-9) for a, b in zip(hist, hist[1:]))
    with pytest.raises(fairopt.ValidationError, match="n_refine"):
        fairopt.FairKMeans(n_clusters=3, n_refine="always").fit(X, g)

"""FairKMedian, FairKCenter and nips19(objective=...): costs and violations recomputed with numpy."""
from __future__ import annotations

import numpy as np
import pytest

import fairopt
from fairopt.baselines import nips19
from fairopt.exceptions import ValidationError


def _violation(labels, groups, k, delta):
    """Additive violation from scratch: max over centres and groups of the excess outside the bounds."""
    values = sorted(set(groups.tolist()))
    W = np.bincount(labels, minlength=k).astype(float)
    out = 0.0
    for g in values:
        mask = groups == g
        r = mask.mean()
        Wi = np.bincount(labels[mask], minlength=k).astype(float)
        out = max(out, float(np.max(np.maximum(r * (1 - delta) * W - Wi, Wi - min(r / (1 - delta), 1.0) * W))))
    return max(out, 0.0)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [9.0, 0.0], [4.0, 8.0], [12.0, 9.0]])
    X = np.repeat(centres, 20, axis=0) + rng.normal(size=(80, 2))
    groups = np.where(rng.random(80) < np.repeat([0.8, 0.2, 0.5, 0.7], 20), "a", "b")
    return X, groups


@pytest.mark.parametrize("delta", [0.0, 0.1])
def test_fair_kmedian_cost_and_violation_recomputed(blobs, delta):
    X, G = blobs
    est = fairopt.FairKMedian(n_clusters=4, delta=delta, random_state=0).fit(X, G)
    dist = np.linalg.norm(X - est.cluster_centers_[est.labels_], axis=1)
    assert est.cost_ == pytest.approx(dist.sum(), rel=1e-9)
    # The circulation costs no more than phi and leaves every bound by less than 2.
    assert est.cost_ <= est.fractional_cost_ * (1 + 1e-9)
    assert est.violation_ == pytest.approx(_violation(est.labels_, G, 4, delta), abs=1e-9) and est.violation_ < 2
    # The fractional cost is LP (2) with distance costs on the final centres.
    fa = fairopt.fair_assignment(X, est.cluster_centers_, G, delta=delta, objective="kmedian", method="direct")
    assert est.fractional_cost_ == pytest.approx(fa.objective, rel=1e-7)
    # Relaxing on candidates that include the data points costs no more than the k final centres.
    assert est.relaxed_cost_ <= est.fractional_cost_ * (1 + 1e-9)


def test_nips19_kmedian_and_kcenter(blobs):
    X, G = blobs
    med = nips19(X, G, 4, delta=0.1, objective="kmedian", random_state=0)
    assert med.cost == pytest.approx(np.linalg.norm(X - med.centres[med.labels], axis=1).sum(), rel=1e-9)
    assert med.violation == pytest.approx(_violation(med.labels, G, 4, 0.1), abs=1e-9) and med.violation < 2
    assert "kmedian" in med.seconds and med.info["vanilla_cost"] <= med.fractional_cost * (1 + 1e-9)
    cen = nips19(X, G, 4, delta=0.1, objective="kcenter", random_state=0)
    radius = np.linalg.norm(X - cen.centres[cen.labels], axis=1).max()
    assert cen.cost == pytest.approx(radius) and radius <= cen.info["tau"] * (1 + 1e-12)
    assert cen.fractional_cost == cen.info["tau"] and cen.violation < 2
    # Gonzalez's centres are data points, and the fair radius is at least the unfair one.
    assert all((np.abs(X - c).sum(axis=1) == 0).any() for c in cen.centres)
    assert cen.info["vanilla_cost"] <= cen.info["tau"] * (1 + 1e-12)


def test_fair_kcenter_radius_within_tau(blobs):
    X, G = blobs
    est = fairopt.FairKCenter(n_clusters=4, delta=0.1, candidates="kdtree", n_candidates=20, random_state=0).fit(X, G)
    radius = np.linalg.norm(X - est.cluster_centers_[est.labels_], axis=1).max()
    assert est.cost_ == pytest.approx(radius) and radius <= est.fractional_cost_ * (1 + 1e-12)
    assert est.violation_ == pytest.approx(_violation(est.labels_, G, 4, 0.1), abs=1e-9) and est.violation_ < 2
    # Sending the relaxed mass on to the merged centres is fair and moves no point beyond tau_S + R.
    assert est.fractional_cost_ <= est.relaxed_cost_ + est.result_.info["merge_radius"] + 1e-9


def test_objective_is_validated_before_any_solve(blobs):
    X, G = blobs
    with pytest.raises(ValidationError, match="objective must be one of"):
        nips19(X, G, 3, objective="kmedoid")


@pytest.mark.parametrize("cls", ["FairKMedian", "FairKCenter"])
def test_fair_predict_uses_the_estimators_objective(cls):
    # predict(X, groups) on the training data re-solves the same LP at the fitted centres, so it
    # must give back labels_ exactly; a k-means LP (2) there would move points between centres.
    X, G = fairopt.datasets.make_fair_blobs(n=120, k=3, random_state=2)
    est = getattr(fairopt, cls)(n_clusters=3, delta=0.1, random_state=0).fit(X, G)
    assert np.array_equal(est.predict(X, G), est.labels_)
    with pytest.raises(TypeError):
        getattr(fairopt, cls)(3, 0.1)  # parameters after n_clusters are keyword-only

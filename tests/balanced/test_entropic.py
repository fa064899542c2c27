"""E-BalLOT's entropic steps (fairopt/balanced/entropic.py), the one-pass Sinkhorn and the semi-dual
Newton (fairopt/balanced/sinkhorn.py) on the array API: numpy, array-api-strict (which rejects
anything outside the standard) and torch on the CPU when installed.

Independent facts: POT's log-domain Sinkhorn, the coupling and barycentres recomputed in numpy
from the returned potentials, the numpy run of the same fit, and exact BalLOT's cost.
"""
from __future__ import annotations

import numpy as np
import pytest

from fairopt.balanced.ballot import BalancedKMeans, balanced_sizes, centroids
from fairopt.balanced.entropic import entropic_steps
from fairopt.balanced.sinkhorn import newton_scaled, sinkhorn_log, sinkhorn_scaled
from fairopt.distances import sq_distances

xps = pytest.importorskip("array_api_strict")


def mixture(n, k, d=3, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=3.0, size=(k, d))
    return means[rng.integers(k, size=n)] + rng.normal(size=(n, d))


def softmax_rows(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def test_newton_and_sinkhorn_reach_pots_coupling():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(1)
    X, C = rng.normal(size=(80, 2)), rng.normal(size=(5, 2))
    D = sq_distances(X, C)
    b = np.array([10.0, 20.0, 15.0, 25.0, 10.0])
    eps = 0.3
    ref = ot.sinkhorn(np.ones(80) / 80, b / 80, D, eps, method="sinkhorn_log", stopThr=1e-13, numItermax=100000) * 80
    S = -D.T / eps
    for solve in (newton_scaled, sinkhorn_scaled):
        gs, state, it, err = solve(np, S.copy(), np.ones(80), b, np.zeros(5), 1e-11, 20000)
        P = (state.E * state.w[None, :]).T
        assert err <= 1e-11
        np.testing.assert_allclose(P, ref, atol=1e-8)
        # The potentials define the same coupling in closed form.
        np.testing.assert_allclose(softmax_rows((gs * eps - D) / eps), ref, atol=1e-8)


def test_newton_needs_far_fewer_iterations_at_small_epsilon():
    X = mixture(600, 4, seed=2)
    C = X[:4]
    D = sq_distances(X, C)
    eps = 1e-3 * D.mean()
    b = balanced_sizes(600, 4).astype(float)
    _, _, it_newton, err_n = newton_scaled(np, -D.T / eps, np.ones(600), b, np.zeros(4), 1e-6, 500)
    _, _, it_sink, err_s = sinkhorn_scaled(np, -D.T / eps, np.ones(600), b, np.zeros(4), 1e-6, 500)
    assert err_n <= 1e-6 and it_newton < 100
    assert it_sink > 2 * it_newton or err_s > 1e-6


def test_step_is_the_entropic_transport_and_its_barycentres():
    X = mixture(300, 3, seed=3)
    start = X[[0, 100, 200]].copy()
    eps = 0.5
    run = entropic_steps(X, start, balanced_sizes(300, 3), eps, max_iter=1, sinkhorn_tol=1e-10, inner_max_iter=500,
                         dtype=np.float64)
    D = sq_distances(X, start)
    P = softmax_rows((run["g"] - D) / eps)  # rows of mass 1, columns ~ sizes
    np.testing.assert_allclose(P.sum(axis=0), balanced_sizes(300, 3), rtol=1e-8)
    assert run["history"][0] == pytest.approx(float((P * D).sum()), rel=1e-9)
    np.testing.assert_allclose(run["centres"], (P.T @ X) / P.sum(axis=0)[:, None], rtol=1e-7, atol=1e-9)


def test_float32_steps_match_float64():
    X = mixture(2000, 5, seed=4)
    start = X[:5].copy()
    eps = 1e-2 * ((X - X.mean(0)) ** 2).sum(1).mean()
    r64 = entropic_steps(X, start, balanced_sizes(2000, 5), eps, dtype=np.float64)
    r32 = entropic_steps(X, start, balanced_sizes(2000, 5), eps, dtype=np.float32)
    assert r32["converged"] and r64["converged"]
    np.testing.assert_allclose(r32["centres"], r64["centres"], atol=1e-3 * np.abs(X).max())


@pytest.mark.parametrize("seed,k", [(0, 4), (1, 8)])
def test_ebalot_cost_within_half_a_percent_of_ballot(seed, k):
    X = mixture(3000, k, d=4, seed=seed)
    start = X[np.random.default_rng(seed).choice(3000, k, replace=False)]
    exact = BalancedKMeans(k, init=start, entropic_start=False).fit(X)
    ent = BalancedKMeans(k, init=start, method="sinkhorn").fit(X)
    assert np.array_equal(np.bincount(ent.labels_, minlength=k), balanced_sizes(3000, k))
    assert ent.inertia_ <= 1.005 * exact.inertia_
    # The final rounding is an exact optimal assignment at the entropic centres.
    D = sq_distances(X, centroids(X, ent.labels_, k))
    assert ent.inertia_ == pytest.approx(D[np.arange(3000), ent.labels_].sum(), rel=1e-12)


@pytest.mark.parametrize("method", ["sinkhorn", "exact"])
def test_array_api_strict_runs_the_same_code(method):
    X = mixture(240, 4, seed=5)
    ref = BalancedKMeans(4, method=method, random_state=0).fit(X)
    est = BalancedKMeans(4, method=method, random_state=0).fit(xps.asarray(X))
    # Attributes come back in the input's namespace (scikit-learn's array API convention).
    for attr in ("labels_", "cluster_centers_", "sizes_", "prices_"):
        assert type(getattr(est, attr)).__module__.startswith("array_api_strict")
    np.testing.assert_array_equal(np.from_dlpack(est.labels_), ref.labels_)
    np.testing.assert_allclose(np.from_dlpack(est.cluster_centers_), ref.cluster_centers_, rtol=1e-6)
    assert est.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
    pred = est.predict(xps.asarray(X[:10]))
    assert type(pred).__module__.startswith("array_api_strict")
    np.testing.assert_array_equal(np.from_dlpack(pred), ref.predict(X[:10]))


def test_sinkhorn_log_on_array_api_strict_matches_numpy():
    X = mixture(100, 3, seed=6)
    D = sq_distances(X, X[:3])
    b = balanced_sizes(100, 3).astype(float)
    ref = sinkhorn_log(D, np.ones(100), b, 0.2 * D.mean(), tol=1e-10, max_iter=10000)
    res = sinkhorn_log(xps.asarray(D), xps.ones(100, dtype=xps.float64), xps.asarray(b), 0.2 * D.mean(),
                       tol=1e-10, max_iter=10000)
    np.testing.assert_allclose(np.from_dlpack(res.g), ref.g, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", ["sinkhorn", "exact"])
def test_torch_cpu_matches_numpy(method):
    torch = pytest.importorskip("torch")
    X = mixture(300, 5, seed=7)
    ref = BalancedKMeans(5, method=method, random_state=0).fit(X)
    est = BalancedKMeans(5, method=method, random_state=0).fit(torch.as_tensor(X))
    assert isinstance(est.labels_, torch.Tensor) and isinstance(est.cluster_centers_, torch.Tensor)
    assert est.labels_.device.type == "cpu" and est.cluster_centers_.dtype == torch.float64
    np.testing.assert_array_equal(est.labels_.numpy(), ref.labels_)
    assert est.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
    # numpy input computed in torch: numpy attributes back.
    via = BalancedKMeans(5, method=method, backend="torch", device="cpu", random_state=0).fit(X)
    assert isinstance(via.labels_, np.ndarray) and np.array_equal(via.labels_, ref.labels_)

"""BalLOT / E-BalLOT (fairopt/ballot.py), the exact transport solvers (fairopt/transport.py),
Sinkhorn (fairopt/sinkhorn.py) and the initialisations (fairopt/ballot_init.py).

Optimality is checked against independent exact solvers: POT's network simplex ``ot.emd`` and,
on small instances, scipy's Hungarian method on the n x n cost matrix with every cluster
repeated sizes[j] times.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from fairopt.balanced.ballot import BalancedKMeans, balanced_sizes, centroids
from fairopt.balanced.init import clique_sampling, diameter_sampling
from fairopt.balanced.sinkhorn import coupling, sinkhorn_log, sinkhorn_schedule
from fairopt.balanced.transport import (
    balanced_assignment,
    cancel_negative_cycles,
    repair_sizes,
)
from fairopt.datasets import make_stochastic_balls
from fairopt.distances import sq_distances
from fairopt.exceptions import ValidationError

ot = pytest.importorskip("ot")


def emd_cost(D, sizes):
    F = ot.emd(np.ones(D.shape[0]), np.asarray(sizes, dtype=float), D, numItermax=10**7)
    return float((F * D).sum())


def hungarian_cost(D, sizes):
    cols = np.repeat(np.arange(D.shape[1]), sizes)
    r, c = linear_sum_assignment(D[:, cols])
    return float(D[r, cols[c]].sum())


def random_costs(seed, n, k, d=2, ties=False):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(n, d)).astype(float) if ties else rng.normal(size=(n, d))
    C = X[rng.choice(n, k, replace=False)] + (0.0 if ties else 0.1 * rng.normal(size=(k, d)))
    return sq_distances(X, C)


def assert_certified(res, D, sizes):
    n = D.shape[0]
    assert np.array_equal(np.bincount(res.labels, minlength=D.shape[1]), sizes)
    assert res.cost == pytest.approx(D[np.arange(n), res.labels].sum(), rel=1e-12)
    R = D - res.prices  # labels[i] minimises D[i, j] - prices[j]: the dual certificate
    assert np.all(R[np.arange(n), res.labels] <= R.min(axis=1) + 1e-9 * max(1.0, D.max()))


# ----------------------------------------------------------------------------- exact assignment
@pytest.mark.parametrize("solver", ["auto", "ortools", "pot", "highs"])
@pytest.mark.parametrize("seed,n,k,ties", [(0, 40, 3, False), (1, 60, 7, False), (2, 50, 4, True), (3, 45, 5, True)])
def test_solvers_match_emd(solver, seed, n, k, ties):
    D = random_costs(seed, n, k, ties=ties)
    sizes = balanced_sizes(n, k)
    res = balanced_assignment(D, sizes, solver=solver)
    assert_certified(res, D, sizes)
    assert res.cost == pytest.approx(emd_cost(D, sizes), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed,sizes", [(0, [5, 4, 3]), (1, [1, 1, 10]), (2, [6, 0, 6])])
def test_matches_hungarian(seed, sizes):
    D = random_costs(seed, 12, 3)
    res = balanced_assignment(D, sizes, random_state=seed)
    assert_certified(res, D, np.array(sizes))
    assert res.cost == pytest.approx(hungarian_cost(D, sizes), rel=1e-10)


@pytest.mark.parametrize("seed,n,k", [(0, 6000, 20), (1, 4500, 60)])
def test_multiscale_path_is_exact(seed, n, k):
    """Large enough for the subsample and the pruned arcs (n > 2000): still the exact optimum."""
    D = random_costs(seed, n, k)
    sizes = balanced_sizes(n, k)
    res = balanced_assignment(D, sizes, solver="multiscale", random_state=seed)
    assert res.info["arcs"] < n * k  # the flow saw a pruned arc set
    assert_certified(res, D, sizes)
    assert res.cost == pytest.approx(emd_cost(D, sizes), rel=1e-10)


def test_warm_prices_and_bad_prices_give_the_optimum():
    D = random_costs(4, 3000, 10)
    sizes = balanced_sizes(3000, 10)
    ref = emd_cost(D, sizes)
    first = balanced_assignment(D, sizes)
    for prices in (first.prices, np.zeros(10), np.random.default_rng(0).normal(size=10) * 5):
        assert balanced_assignment(D, sizes, prices=prices).cost == pytest.approx(ref, rel=1e-10)


def test_polish_from_any_feasible_labelling():
    D = random_costs(5, 300, 6)
    sizes = balanced_sizes(300, 6)
    start = np.random.default_rng(0).permutation(np.repeat(np.arange(6), sizes))
    labels, prices, cycles, _ = cancel_negative_cycles(D, start)
    assert cycles > 0 and np.array_equal(np.bincount(labels), sizes)
    assert D[np.arange(300), labels].sum() == pytest.approx(emd_cost(D, sizes), rel=1e-10)


def test_repair_sizes_reaches_the_sizes():
    D = random_costs(6, 200, 5)
    sizes = np.array([10, 20, 30, 40, 100])
    labels = repair_sizes(D, D.argmin(axis=1), sizes)
    assert np.array_equal(np.bincount(labels, minlength=5), sizes)


@pytest.mark.parametrize("sizes,msg", [([3, 2], "sum"), ([2, 2, 2], "one per column"), ([7, -1], "non-negative"), ([3.5, 2.5], "integers")])
def test_assignment_validation(sizes, msg):
    with pytest.raises(ValidationError, match=msg):
        balanced_assignment(np.ones((6, 2)), sizes)


@pytest.mark.parametrize("solver", ["auto", "ortools", "pot", "highs"])
def test_constant_costs(solver):
    """Every labelling is optimal; the sizes must still be exact."""
    res = balanced_assignment(np.full((9, 3), 2.5), [2, 3, 4], solver=solver)
    assert np.array_equal(np.bincount(res.labels, minlength=3), [2, 3, 4]) and res.cost == pytest.approx(22.5)


# ----------------------------------------------------------------------------- BalLOT
@pytest.mark.parametrize("method", ["exact", "sinkhorn"])
@pytest.mark.parametrize("n,k,sizes", [(60, 3, None), (61, 4, None), (50, 3, [10, 15, 25])])
def test_sizes_exactly_as_requested(method, n, k, sizes):
    X = np.random.default_rng(n).normal(size=(n, 2))
    est = BalancedKMeans(k, sizes=sizes, method=method, random_state=0).fit(X)
    want = balanced_sizes(n, k) if sizes is None else np.asarray(sizes)
    assert np.array_equal(np.bincount(est.labels_, minlength=k), want)
    assert np.array_equal(est.sizes_, want)
    np.testing.assert_allclose(est.cluster_centers_, centroids(X, est.labels_, k))
    assert est.inertia_ == pytest.approx(((X - est.cluster_centers_[est.labels_]) ** 2).sum(), rel=1e-12)


def test_default_sizes_differ_by_at_most_one():
    X = np.random.default_rng(0).normal(size=(23, 2))
    counts = np.bincount(BalancedKMeans(5, random_state=0).fit(X).labels_)
    assert counts.sum() == 23 and counts.max() - counts.min() == 1


@pytest.mark.parametrize("seed,init", [(0, "k-means++"), (1, "clique"), (2, "k-means++"), (3, "diameter")])
def test_exact_labels_are_optimal_at_the_returned_centres(seed, init):
    X, _, _ = make_stochastic_balls(2 if init == "diameter" else 4, 15, 2, 2.5, random_state=seed)
    k = 2 if init == "diameter" else 4
    est = BalancedKMeans(k, init=init, random_state=seed).fit(X)
    assert est.converged_
    D = sq_distances(X, est.cluster_centers_)
    cost = D[np.arange(X.shape[0]), est.labels_].sum()
    assert cost == pytest.approx(emd_cost(D, est.sizes_), rel=1e-10)
    assert cost == pytest.approx(hungarian_cost(D, est.sizes_), rel=1e-10)
    assert np.all(np.diff(est.history_) <= 1e-9 * est.history_[0])  # never increases


def planted_recovered(labels, truth, k):
    """Exact recovery up to a relabelling: every planted ball maps to one cluster."""
    pairs = np.unique(np.c_[truth, labels], axis=0)
    return pairs.shape[0] == k and np.unique(pairs[:, 1]).size == k


def triangle_balls(delta, n_per_ball, seed):
    """Three unit balls in the plane whose centres are exactly delta apart (an equilateral triangle)."""
    X, truth, centres = make_stochastic_balls(3, n_per_ball, 2, delta, random_state=seed)
    corners = delta * np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    return X - centres[truth] + corners[truth], truth


def test_clique_init_recovers_planted_balls():
    """Delta >= 4 with clique initialisation: exact recovery in almost every seed."""
    hits = 0
    for seed in range(20):
        X, truth = triangle_balls(4.0, 20, seed)
        est = BalancedKMeans(3, init="clique", random_state=seed).fit(X)
        hits += planted_recovered(est.labels_, truth, 3)
    assert hits >= 19


def test_sinkhorn_recovers_separated_balls():
    X, truth = triangle_balls(4.0, 25, 0)
    est = BalancedKMeans(3, method="sinkhorn", init="clique", random_state=0).fit(X)
    assert planted_recovered(est.labels_, truth, 3) and est.converged_


def test_predict_and_predict_balanced():
    X, _, _ = make_stochastic_balls(3, 20, 2, 4.0, random_state=1)
    est = BalancedKMeans(3, random_state=0).fit(X)
    Y = np.random.default_rng(0).normal(size=(31, 2)) * 3
    np.testing.assert_array_equal(est.predict(Y), sq_distances(Y, est.cluster_centers_).argmin(axis=1))
    lab = est.predict_balanced(Y)
    assert np.array_equal(np.bincount(lab, minlength=3), balanced_sizes(31, 3))
    D = sq_distances(Y, est.cluster_centers_)
    assert D[np.arange(31), lab].sum() == pytest.approx(emd_cost(D, balanced_sizes(31, 3)), rel=1e-10)


@pytest.mark.parametrize("kwargs,msg", [
    ({"sizes": [10, 10]}, "sum to the number of points"),
    ({"sizes": [30, 0]}, ">= 1"),
    ({"sizes": [10, 10, 10]}, "2 integers"),
    ({"method": "lp"}, "method"),
    ({"epsilon": 0.0}, "epsilon"),
    ({"init": "random"}, "init"),
    ({"init": np.zeros((3, 2))}, "shape"),
    ({"init": "clique", "init_params": {"failure": 2.0}}, "failure"),
    ({"max_iter": 0}, "max_iter"),
    ({"solver": "cplex"}, "solver"),
])
def test_validation(kwargs, msg):
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValidationError, match=msg):
        BalancedKMeans(2, **kwargs).fit(X)


def test_diameter_needs_two_clusters():
    with pytest.raises(ValidationError, match="n_clusters=2"):
        BalancedKMeans(3, init="diameter").fit(np.random.default_rng(0).normal(size=(30, 2)))


# ----------------------------------------------------------------------------- initialisations
def test_diameter_sampling_is_the_farthest_pair():
    X = np.random.default_rng(0).normal(size=(80, 3))
    pair = diameter_sampling(X, np.random.default_rng(0))
    D = sq_distances(X, X)
    assert ((pair[0] - pair[1]) ** 2).sum() == pytest.approx(D.max(), rel=1e-12)


@pytest.mark.parametrize("threshold", [None, 2.0])
def test_clique_sampling_finds_one_centre_per_ball(threshold):
    X, _, centres = make_stochastic_balls(4, 50, 2, 5.0, random_state=3)
    init = clique_sampling(X, 4, np.random.default_rng(3), threshold=threshold)
    near = sq_distances(init, centres) < 1.0  # each start lies inside one unit ball
    assert np.array_equal(near.sum(axis=0), np.ones(4)) and np.array_equal(near.sum(axis=1), np.ones(4))


def test_clique_sampling_fills_missing_components():
    X = np.random.default_rng(0).normal(size=(40, 2))
    init = clique_sampling(X, 5, np.random.default_rng(0), threshold=1e6)  # one component only
    assert init.shape == (5, 2) and np.unique(init, axis=0).shape[0] == 5


# ----------------------------------------------------------------------------- Sinkhorn
def test_sinkhorn_matches_pot():
    D = random_costs(7, 30, 4)
    b = balanced_sizes(30, 4).astype(float)
    res = sinkhorn_log(D, np.ones(30), b, 0.3, tol=1e-11, max_iter=100000)
    P = coupling(D, res.f, res.g, 0.3)
    ref = ot.sinkhorn(np.ones(30) / 30, b / 30, D, 0.3, method="sinkhorn_log", stopThr=1e-13, numItermax=100000)
    np.testing.assert_allclose(P / 30, ref, atol=1e-9)


def test_sinkhorn_schedule_meets_the_marginal_tolerance():
    D = random_costs(8, 500, 6)
    b = balanced_sizes(500, 6).astype(float)
    res = sinkhorn_schedule(D, np.ones(500), b, 1e-3 * D.mean(), tol=1e-5, max_iter=20000)
    P = coupling(D, res.f, res.g, res.epsilon)
    assert res.converged and res.error <= 1e-5
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-9)  # rows are exact after the row update
    assert np.abs(P.sum(axis=0) - b).sum() / 500 <= 1e-5


def test_torch_backend_matches_numpy():
    torch = pytest.importorskip("torch")
    D = random_costs(9, 50, 3)
    b = balanced_sizes(50, 3).astype(float)
    ref = sinkhorn_log(D, np.ones(50), b, 0.1, tol=1e-9, max_iter=10000)
    res = sinkhorn_log(torch.as_tensor(D), torch.ones(50, dtype=torch.float64), torch.as_tensor(b), 0.1, tol=1e-9, max_iter=10000)
    np.testing.assert_allclose(res.g.cpu().numpy(), ref.g, atol=1e-8)
    X = np.random.default_rng(0).normal(size=(40, 2))
    est = BalancedKMeans(4, method="sinkhorn", backend="torch", random_state=0).fit(X)
    assert np.array_equal(np.bincount(est.labels_, minlength=4), balanced_sizes(40, 4))


def test_torch_missing_says_how_to_install():
    import importlib.util

    from fairopt.exceptions import SolverNotAvailableError

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed")
    with pytest.raises(SolverNotAvailableError, match="pip install"):
        BalancedKMeans(2, method="sinkhorn", backend="torch").fit(np.random.default_rng(0).normal(size=(20, 2)))


# ----------------------------------------------------------------------------- k-means-constrained
def kmc_step(X, centres, size):
    """k-means-constrained's assignment step (its min-cost flow on rounded Euclidean distances)."""
    from k_means_constrained.k_means_constrained_ import _labels_constrained

    return _labels_constrained(X, centres, size, size, np.zeros(X.shape[0]))[0]


def test_never_worse_than_k_means_constrained():
    """k-means-constrained assigns by Euclidean (not squared) distances rounded to integers.

    (1) At the same centres our assignment is optimal for the squared cost, so never worse.
    (2) Started from its final centres BalLOT only lowers the cost (optimal assignment, then
        monotone steps), so it ends at or below its inertia. (3) From the same initial centres
        (5 seeds) ours ended no worse either.
    """
    kmc = pytest.importorskip("k_means_constrained")
    for seed in range(5):
        X, _, _ = make_stochastic_balls(4, 25, 2, 2.2, random_state=seed)
        start = X[np.random.default_rng(seed).choice(100, 4, replace=False)]
        theirs = kmc.KMeansConstrained(4, size_min=25, size_max=25, init=start, n_init=1, random_state=seed).fit(X)
        their_cost = ((X - centroids(X, theirs.labels_, 4)[theirs.labels_]) ** 2).sum()
        D = sq_distances(X, start)
        step = kmc_step(X, start, 25)
        assert np.array_equal(np.bincount(step, minlength=4), [25] * 4)
        assert balanced_assignment(D, [25] * 4).cost <= D[np.arange(100), step].sum() + 1e-9
        from_theirs = BalancedKMeans(4, init=centroids(X, theirs.labels_, 4), entropic_start=False).fit(X)
        assert from_theirs.inertia_ <= their_cost + 1e-9
        ours = BalancedKMeans(4, init=start).fit(X)
        assert ours.inertia_ <= their_cost + 1e-9


# ----------------------------------------------------------------------------- CLI and example
def test_cli_balanced(tmp_path, capsys):
    from fairopt.cli.main import main

    X, _, _ = make_stochastic_balls(3, 10, 2, 4.0, random_state=0)
    path = tmp_path / "pts.csv"
    np.savetxt(path, X, delimiter=",", header="x,y", comments="")
    out = tmp_path / "run.json"
    assert main(["balanced", "--csv", str(path), "--features", "x,y", "--k", "4", "--json", str(out)]) == 0
    assert "sizes      8, 8, 7, 7" in capsys.readouterr().out
    import json

    rec = json.loads(out.read_text())
    labels = np.asarray(rec["extra"]["labels"])
    assert rec["metrics"]["sizes"] == [8, 8, 7, 7] and np.array_equal(np.bincount(labels), [8, 8, 7, 7])
    centres = np.asarray(rec["extra"]["centres"])
    assert rec["metrics"]["inertia"] == pytest.approx(((X - centres[labels]) ** 2).sum(), rel=1e-9)
    assert main(["balanced", "--csv", str(path), "--features", "x,y", "--k", "2", "--sizes", "10,10"]) == 2
    assert "sum to the number of points" in capsys.readouterr().err


def test_recovery_example(tmp_path):
    import csv
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("ballot_recovery", Path(__file__).resolve().parents[2] / "examples" / "ballot_recovery.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--out", str(tmp_path), "--trials", "4", "--deltas", "1.9,2.6"]) == 0
    rates = json.loads((tmp_path / "recovery.json").read_text())["metrics"]["recovery_rate"]
    with open(tmp_path / "recovery.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["BalLOT"]) for r in rows] == rates["BalLOT"]
    assert rates["BalLOT"][1] == 1.0  # Delta = 2.6: disjoint balls, always recovered
    assert (tmp_path / "recovery.png").read_bytes()[:4] == b"\x89PNG"
    # The instances are the model: 50 points in each unit ball, centres exactly Delta apart.
    X, truth = mod.two_balls(2.6, 100, 0)
    corners = np.array([[0.0, 0.0], [2.6, 0.0]])
    assert np.bincount(truth).tolist() == [50, 50]
    assert np.linalg.norm(X - corners[truth], axis=1).max() <= 1.0

"""The screened LP (2) (fairopt.assignment.screening): the same optimum as the column generation,
a solution that meets LP (2)'s rows recomputed with numpy, and a state that recomputes the same
free points and labels from any chunking."""
import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

import fairopt
from fairopt.assignment import lp2 as lp2_module
from fairopt.assignment.colgen import solve_colgen
from fairopt.assignment.pricing import signatures
from fairopt.assignment.screen_chunks import (
    _fixed,
    _free,
    chunk_costs,
    chunk_labels,
    chunk_summary,
)
from fairopt.assignment.screening import ArrayChunks, full_assignment, solve_screened
from fairopt.fair.final_step import round_free_points
from fairopt.metrics import additive_violation, violation_from_counts
from fairopt.problem import make_fair_problem


def _instance(n=3000, k=6, d=3, seed=0, attributes=1, delta=0.1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 0] += 4.0 * (rng.random(n) < 0.3)
    # Groups correlated with the position, so that fairness binds.
    g1 = (rng.random(n) < 0.25 + 0.5 * (X[:, 0] > 2)).astype(int)
    G = g1 if attributes == 1 else np.column_stack([g1, (rng.random(n) < 0.4 + 0.3 * (X[:, 1] > 0)).astype(int)])
    prob = make_fair_problem(X, G, delta=delta)
    C = X[rng.choice(n, k, replace=False)]
    sig, sid = signatures(prob.groups.membership)
    return prob, C, sig, sid


def _check_feasible(phi, prob, tol=1e-7):
    w, M = prob.weights, sp.csr_matrix(prob.groups.membership)
    assert phi.min() >= -1e-12
    np.testing.assert_allclose(np.asarray(phi.sum(axis=1)).ravel(), w, atol=tol)
    Wc = np.asarray(phi.sum(axis=0)).ravel()
    Wi = (M.T @ phi).toarray()
    assert (Wi - prob.alpha[:, None] * Wc).max() <= tol * w.sum()
    assert (prob.beta[:, None] * Wc - Wi).max() <= tol * w.sum()


@pytest.mark.parametrize("attributes, delta, power", [(1, 0.1, 2), (2, 0.1, 2), (1, 0.0, 2), (1, 0.1, 1)])
def test_same_optimum_as_column_generation(attributes, delta, power):
    prob, C, sig, sid = _instance(attributes=attributes, delta=delta)
    chunks = ArrayChunks(prob.points, prob.weights, sid, chunk_rows=700)
    res = solve_screened(chunks, C, sig, prob.alpha, prob.beta, power=power, sample_size=800, init_free=300)
    cost = fairopt.objectives.arc_cost("kmeans" if power == 2 else "kmedian")
    ref = solve_colgen(prob.points, prob.weights, prob.groups.membership, prob.alpha, prob.beta, C, cost=cost)
    assert res.status == ref.status == "optimal"
    assert res.objective == pytest.approx(ref.objective, rel=1e-8)
    # the certificate: a Lagrangian lower bound that meets the objective
    assert res.lower_bound <= res.objective * (1 + 1e-12)
    assert res.objective - res.lower_bound <= 1e-7 * res.objective
    phi = full_assignment(chunks, res)
    _check_feasible(phi, prob)
    D = cost.matrix(prob.points, C)
    assert phi.multiply(D).sum() == pytest.approx(res.objective, rel=1e-9)


def test_bad_start_needs_rounds_and_slack_and_still_ends_optimal():
    prob, C, sig, sid = _instance(n=2500, k=5, seed=3)
    chunks = ArrayChunks(prob.points, prob.weights, sid, chunk_rows=512)
    # Zero potentials (nearest centre) and ten free points: the first master needs its slacks.
    res = solve_screened(chunks, C, sig, prob.alpha, prob.beta, potentials=np.zeros((sig.shape[0], 5)),
                         init_free=10, budget=50)
    ref = solve_colgen(prob.points, prob.weights, prob.groups.membership, prob.alpha, prob.beta, C)
    assert res.status == "optimal" and res.info["rounds"] > 2
    assert res.info["history"][0]["slack"] > 0  # the first master could not be fair without slack
    assert res.objective == pytest.approx(ref.objective, rel=1e-8)
    _check_feasible(full_assignment(chunks, res), prob)


def test_state_recomputes_free_points_and_labels_under_any_chunking():
    prob, C, sig, sid = _instance(n=2000, k=4, seed=5)
    res = solve_screened(ArrayChunks(prob.points, prob.weights, sid, chunk_rows=300), C, sig, prob.alpha,
                         prob.beta, potentials=np.zeros((sig.shape[0], 4)), init_free=40, budget=60)
    assert res.status == "optimal" and len(res.state.rounds) >= 1
    # Recomputed from the small state alone, in one piece: exactly the client's free points.
    D = chunk_costs(prob.points, res.state)
    a, margin = _fixed(D, sid, res.state)
    np.testing.assert_array_equal(np.flatnonzero(_free(D, sid, a, margin, res.state)), res.free_index)
    free_labels = res.free_phi.toarray().argmax(axis=1)
    one = chunk_labels(prob.points, prob.weights, sid, 0, res.state, res.free_index, free_labels)
    other = np.concatenate(ArrayChunks(prob.points, prob.weights, sid, chunk_rows=77).map(
        chunk_labels, res.state, res.free_index, free_labels))
    np.testing.assert_array_equal(one, other)
    # chunk_summary: masses and cost of those labels, recomputed with numpy
    parts = ArrayChunks(prob.points, prob.weights, sid, chunk_rows=333).map(
        chunk_summary, res.state, res.free_index, free_labels)
    counts = sum(p[0] for p in parts)
    np.testing.assert_allclose(counts.sum(axis=1), np.bincount(one, minlength=4))
    cost = ((prob.points - C[one]) ** 2).sum()
    assert sum(p[1] for p in parts) == pytest.approx(cost, rel=1e-10)


def test_single_centre_and_fixed_points_only():
    prob, C, sig, sid = _instance(n=1500, k=1)
    res = solve_screened(ArrayChunks(prob.points, prob.weights, sid), C, sig, prob.alpha, prob.beta)
    assert res.status == "optimal" and res.free_index.size == 0
    assert res.objective == pytest.approx(((prob.points - C[0]) ** 2).sum(), rel=1e-10)


def test_auto_takes_the_screened_path_for_many_points(monkeypatch):
    prob, C, sig, sid = _instance(n=3000, k=5, seed=7)
    monkeypatch.setattr(lp2_module, "SCREEN_MIN_POINTS", 2000)
    monkeypatch.setattr(lp2_module, "SCREEN_POINTS_PER_CENTRE", 400)  # 5 centres: from 2,000 points
    X, G = prob.points, prob.groups.codes[:, 0]
    auto = fairopt.fair_assignment(X, C, G, delta=0.1)
    ref = fairopt.fair_assignment(X, C, G, delta=0.1, method="colgen")
    assert auto.method == "screen" and auto.status == "optimal"
    assert auto.objective == pytest.approx(ref.objective, rel=1e-8)
    assert auto.info["certificate"]["dual_gap"] <= 1e-7
    # the rounding of a screened assignment meets the violation bound on all points
    labels = fairopt.round_assignment(X, C, auto.assignment, G, alpha=prob.alpha, beta=prob.beta)
    assert additive_violation(labels, prob.groups.membership, prob.alpha, prob.beta, k=5) <= 2 + 1e-9


def test_screen_needs_highs():
    prob, C, _, _ = _instance(n=200, k=3)
    with pytest.raises(fairopt.ValidationError, match="runs on HiGHS only"):
        fairopt.fair_assignment(prob.points, C, prob.groups.codes[:, 0], delta=0.1, method="screen", solver="glpk")


@pytest.mark.parametrize("attributes", [1, 2])
def test_free_points_rounded_in_the_client_give_labels_within_the_bound(attributes):
    prob, C, sig, sid = _instance(n=3000, k=5, seed=11, attributes=attributes)
    chunks = ArrayChunks(prob.points, prob.weights, sid, chunk_rows=400)
    res = solve_screened(chunks, C, sig, prob.alpha, prob.beta, sample_size=800)
    free_labels = round_free_points(res, C, sig, prob.groups.attribute)
    labels = np.concatenate(chunks.map(chunk_labels, res.state, res.free_index, free_labels))
    # every point whole in the LP keeps its centre; only split (free) points were rounded
    phi = full_assignment(chunks, res)
    whole = np.diff(phi.indptr) == 1
    np.testing.assert_array_equal(labels[whole], phi.indices[phi.indptr[:-1][whole]])
    parts = chunks.map(chunk_summary, res.state, res.free_index, free_labels)
    counts = sum(p[0] for p in parts)
    v = violation_from_counts(counts, sig, prob.alpha, prob.beta)
    assert v == pytest.approx(additive_violation(labels, prob.groups.membership, prob.alpha, prob.beta, k=5), abs=1e-9)
    delta = 1 if attributes == 1 else 2
    bound = 1 + prob.beta.max() if attributes == 1 else (1 + prob.alpha.max()) * (2 * delta + 1)
    assert v <= bound + 1e-9


def test_dual_terms_derivatives_match_finite_differences():
    """d value / d P = -Q^T and d^2 value / d P[s]^2 = -R[s] / eps, checked by central differences."""
    from fairopt.assignment.screen_chunks import dual_terms

    rng = np.random.default_rng(2)
    D, wn, sid = rng.random((400, 4)), rng.random(400) + 0.5, rng.integers(0, 3, 400)
    P, eps, h = 0.1 * rng.standard_normal((3, 4)), 0.05, 1e-5
    value, Q, R = dual_terms(D.copy(), wn, sid, P, eps, hessian=True)

    def f(P):
        return dual_terms(D.copy(), wn, sid, P, eps)[0]

    for s, c, e in [(0, 1, 1), (2, 0, 3), (1, 2, 2)]:
        Ec, Ee = np.zeros_like(P), np.zeros_like(P)
        Ec[s, c], Ee[s, e] = h, h
        assert (f(P + Ec) - f(P - Ec)) / (2 * h) == pytest.approx(-Q[c, s], rel=1e-6)
        second = (f(P + Ec + Ee) - f(P + Ec - Ee) - f(P - Ec + Ee) + f(P - Ec - Ee)) / (4 * h * h)
        assert second == pytest.approx(-R[s, c, e] / eps, rel=1e-4, abs=1e-6)
    # rows of the soft assignment sum to one: R[s] 1 = 0 and the masses are the signature totals
    np.testing.assert_allclose(R.sum(axis=2), 0.0, atol=1e-10)
    np.testing.assert_allclose(Q.sum(axis=0), np.bincount(sid, weights=wn, minlength=3))


@pytest.mark.parametrize("attributes, samples", [(1, {}), (2, {}), (1, {"sample_size": 1_000, "mid_sample_size": 5_000}),
                                                 (2, {"sample_size": 1_000, "mid_sample_size": 5_000})])
def test_newton_start_potentials_reach_the_lp_optimum(attributes, samples):
    """The Lagrangian bound of the Newton start potentials alone (no master) is within 1e-3 of LP (2)'s
    optimum, and a start that good leaves the master a single round."""
    from fairopt.assignment.screen_chunks import ScreenState, screen_pass
    from fairopt.assignment.screening import DEFAULTS, _scaling, _start_potentials

    prob, C, sig, sid = _instance(n=20000, k=5, seed=13, attributes=attributes)
    chunks = ArrayChunks(prob.points, prob.weights, sid, chunk_rows=4096)
    ref = solve_colgen(prob.points, prob.weights, prob.groups.membership, prob.alpha, prob.beta, C)
    shift, length, mass, totals = _scaling(chunks, C, sig.shape[0])
    state = ScreenState((C - shift) / length, shift, length, mass, 2, np.zeros((sig.shape[0], 5)))
    G0, info = _start_potentials(chunks, state, sig, prob.alpha, prob.beta, totals, {**DEFAULTS, **samples})
    assert np.all(np.isfinite(G0))
    # 20,000 points: all in the larger sample by default (no pass over the data); with smaller
    # samples the last temperatures run on all points
    assert (info["full_evaluations"] > 0) == bool(samples)
    assert info["mid_sample"] == 20_000 if not samples else abs(info["mid_sample"] - 5_000) < 300  # a uniform draw
    # L(G0) = sum_x w min_c (D - G0[s]): G0 comes from multipliers of the right signs, so a lower bound
    parts = chunks.map(screen_pass, dataclasses.replace(state, G_fix=G0), G0, 0.0, 1e-9)
    bound = sum(p["lagrangian"] for p in parts) * mass * length**2
    assert bound <= ref.objective * (1 + 1e-9)
    assert bound >= ref.objective * (1 - 1e-3)
    res = solve_screened(chunks, C, sig, prob.alpha, prob.beta, **samples)
    assert res.status == "optimal" and res.objective == pytest.approx(ref.objective, rel=1e-8)
    assert res.info["rounds"] <= 2


def test_time_limit_is_reported_not_a_silent_answer():
    prob, C, sig, sid = _instance(n=4000, k=5, seed=17)
    res = solve_screened(ArrayChunks(prob.points, prob.weights, sid), C, sig, prob.alpha, prob.beta, time_limit=1e-6)
    assert res.status == "time_limit" and not np.isfinite(res.objective)
    with pytest.raises(fairopt.SolverStatusError, match="time_limit"):
        fairopt.fair_assignment(prob.points, C, prob.groups.codes[:, 0], delta=0.1, method="screen", time_limit=1e-6)

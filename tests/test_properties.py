"""Property-based tests (hypothesis) over random small instances: the guarantees hold on every one.

* LP (2) solutions satisfy all constraints (every path);
* circulation rounding is integral (within floor/ceil of the fractional masses), never costs
  more than phi, and has additive violation at most 2; the iterative rounding never costs more;
* fairlet decompositions are exactly fair;
* balanced labels have exactly the requested sizes;
* barycenter weights sum to 1 and transport plans have the right marginals.

Runs are reproducible (``derandomize=True``, no example database) and bounded
(``max_examples=25``) so that CI takes a few seconds.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fairopt
from fairopt.metrics import additive_violation
from fairopt.problem import make_fair_problem

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
COORD = st.floats(-10, 10, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=64)


def points(n, d):
    return hnp.arrays(np.float64, (n, d), elements=COORD)


@st.composite
def labels(draw, n, m):
    """n labels in 0..m-1, every one present."""
    rest = draw(hnp.arrays(np.int64, n - m, elements=st.integers(0, m - 1)))
    return np.asarray(draw(st.permutations(np.concatenate([np.arange(m), rest]).tolist())), dtype=np.int64)


@st.composite
def fair_instances(draw, overlapping=None, weighted=None):
    """(X (n, d), centres (k, d), groups (n,) or (n, 2), weights or None, delta)."""
    n, k, d = draw(st.integers(4, 30)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    X = draw(points(n, d))
    C = draw(points(k, d))
    g = draw(labels(n, draw(st.integers(2, 3))))
    if overlapping if overlapping is not None else draw(st.booleans()):
        g = np.column_stack([g, draw(labels(n, 2))])
    w = None
    if weighted if weighted is not None else draw(st.booleans()):
        w = draw(hnp.arrays(np.float64, n, elements=st.floats(0.1, 5.0, allow_subnormal=False)))
    delta = draw(st.floats(0.0, 0.5, allow_subnormal=False))
    return X, C, g, w, delta


def masses(phi, membership):
    """W(c) (k,) and W_i(c) (m, k) of a fractional or integral assignment (n, k)."""
    phi = np.asarray(phi.toarray() if hasattr(phi, "toarray") else phi, dtype=float)
    return phi.sum(axis=0), np.asarray(membership.T @ phi)


def one_hot(labels_, k):
    out = np.zeros((labels_.size, k))
    out[np.arange(labels_.size), labels_] = 1.0
    return out


def sq(X, C):
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)


# ---------------------------------------------------------------- LP (2)

@SETTINGS
@given(inst=fair_instances(), method=st.sampled_from(["auto", "direct"]))
def test_lp2_solutions_satisfy_every_constraint(inst, method):
    X, C, g, w, delta = inst
    P = make_fair_problem(X, g, weights=w, delta=delta)
    fa = fairopt.fair_assignment(X, C, g, weights=w, delta=delta, method=method)
    assert fa.status == "optimal"
    phi = fa.assignment.toarray()
    scale = P.weights.sum()
    tol = 1e-7 * scale
    assert phi.min(initial=0.0) >= -1e-9 * scale
    np.testing.assert_allclose(phi.sum(axis=1), P.weights, atol=tol)                  # mass
    W, Wi = masses(phi, P.groups.membership)
    assert np.all(Wi <= P.alpha[:, None] * W[None, :] + tol)                            # fair_upper
    assert np.all(Wi >= P.beta[:, None] * W[None, :] - tol)                             # fair_lower
    D = sq(P.points, C)
    assert fa.objective == pytest.approx(float((phi * D).sum()), rel=1e-7, abs=1e-9 * scale * max(D.max(), 1.0))


# ---------------------------------------------------------------- rounding

@SETTINGS
@given(inst=fair_instances(overlapping=False, weighted=False))
def test_circulation_rounding_is_integral_cheaper_and_within_two(inst):
    from fairopt.fair.rounding import round_circulation

    X, C, g, _, delta = inst
    P = make_fair_problem(X, g, delta=delta)
    fa = fairopt.fair_assignment(X, C, g, delta=delta)
    k = C.shape[0]
    lab = round_circulation(X, C, fa.assignment, P.groups.group_of_point(), P.groups.n_groups)
    assert lab.shape == (X.shape[0],) and lab.dtype.kind == "i" and lab.min() >= 0 and lab.max() < k
    # Integral flow: every W(c) and W_i(c) between the floor and ceiling of phi's.
    W, Wi = masses(fa.assignment, P.groups.membership)
    W_r, Wi_r = masses(one_hot(lab, k), P.groups.membership)
    for frac, rounded in ((W, W_r), (Wi, Wi_r)):
        assert np.all(rounded >= np.floor(frac + 1e-6) - 1e-9) and np.all(rounded <= np.ceil(frac - 1e-6) + 1e-9)
    D = sq(P.points, C)
    frac_cost = float((fa.assignment.toarray() * D).sum())
    assert float(D[np.arange(lab.size), lab].sum()) <= frac_cost * (1 + 1e-9) + 1e-9
    viol = additive_violation(lab, P.groups.membership, P.alpha, P.beta, k=k)
    assert viol <= 2.0
    assert viol < 1.0 + P.beta.max() + 1e-6  # the sharper bound of the circulation


@SETTINGS
@given(inst=fair_instances(overlapping=True))
def test_iterative_rounding_never_costs_more(inst):
    from fairopt.fair.rounding import round_iterative

    X, C, g, w, delta = inst
    P = make_fair_problem(X, g, weights=w, delta=delta)
    fa = fairopt.fair_assignment(X, C, g, weights=w, delta=delta)
    lab = round_iterative(X, C, fa.assignment, P.groups.membership, weights=w)
    D = sq(P.points, C)
    frac_cost = float((fa.assignment.toarray() * D).sum())
    assert float(P.weights @ D[np.arange(lab.size), lab]) <= frac_cost * (1 + 1e-9) + 1e-9
    if w is None:  # unit points: Bera et al.'s bound with Delta = 2 group attributes
        assert additive_violation(lab, P.groups.membership, P.alpha, P.beta, k=C.shape[0]) < (1 + P.alpha.max()) * 5


# ---------------------------------------------------------------- fairlets

@st.composite
def equal_groups(draw):
    m, p, d = draw(st.integers(2, 3)), draw(st.integers(1, 8)), draw(st.integers(1, 3))
    X = draw(points(m * p, d))
    g = np.asarray(draw(st.permutations(np.repeat(np.arange(m), p).tolist())))
    k = draw(st.integers(1, p))
    return X, g, k


@SETTINGS
@given(inst=equal_groups(), anchor=st.sampled_from(["matching", "best"]))
def test_fairlet_decompositions_are_exactly_fair(inst, anchor):
    from fairopt.fair.fairlets import StrictlyFairKMeans

    X, g, k = inst
    assume(k == 1 or np.ptp(X, axis=0).max() > 0)  # k > 1 on identical points is refused
    m, p = np.unique(g).size, X.shape[0] // np.unique(g).size
    sf = StrictlyFairKMeans(n_clusters=k, anchor=anchor, n_init=2, random_state=0).fit(X, g)
    # Every fairlet holds exactly one point of every group, and every point is in one fairlet.
    assert sf.fairlets_.shape == (p, m)
    np.testing.assert_array_equal(np.sort(sf.fairlets_.ravel()), np.arange(m * p))
    np.testing.assert_array_equal(g[sf.fairlets_], np.tile(np.arange(m), (p, 1)))
    # A fairlet goes whole to one cluster, so every cluster holds equally many points of every group.
    assert np.all(sf.labels_[sf.fairlets_] == sf.labels_[sf.fairlets_[:, :1]])
    counts = np.zeros((k, m), dtype=int)
    np.add.at(counts, (sf.labels_, g), 1)
    assert np.all(counts == counts[:, :1]) and sf.violation_ == 0.0
    np.testing.assert_array_equal(counts, sf.group_counts_)


@SETTINGS
@given(inst=equal_groups())
def test_orl21_is_exactly_fair(inst):
    from fairopt.baselines import orl21

    X, g, k = inst
    assume(k == 1 or np.ptp(X, axis=0).max() > 0)
    res = orl21(X, g, k, n_init=2, random_state=0)
    counts = np.zeros((k, np.unique(g).size), dtype=int)
    np.add.at(counts, (res.labels, g), 1)
    assert np.all(counts == counts[:, :1])


# ---------------------------------------------------------------- balanced k-means

@st.composite
def sized_instances(draw):
    n, k, d = draw(st.integers(4, 30)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    X = draw(points(n, d))
    cuts = sorted(draw(st.lists(st.integers(1, n - 1), min_size=k - 1, max_size=k - 1, unique=True)))
    sizes = np.diff(np.concatenate([[0], cuts, [n]]))
    return X, k, sizes


@SETTINGS
@given(inst=sized_instances(), method=st.sampled_from(["exact", "sinkhorn"]))
def test_balanced_labels_have_exactly_the_requested_sizes(inst, method):
    from fairopt.balanced.ballot import BalancedKMeans

    X, k, sizes = inst
    assume(k == 1 or np.ptp(X, axis=0).max() > 0)
    bk = BalancedKMeans(n_clusters=k, sizes=sizes, method=method, random_state=0).fit(X)
    np.testing.assert_array_equal(np.bincount(bk.labels_, minlength=k), sizes)
    centres = np.array([X[bk.labels_ == j].mean(axis=0) for j in range(k)])
    assert bk.inertia_ == pytest.approx(float(((X - centres[bk.labels_]) ** 2).sum()), rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------- barycenters

@st.composite
def measure_sets(draw):
    m, d = draw(st.integers(2, 3)), draw(st.integers(1, 2))
    out = []
    for _ in range(m):
        n = draw(st.integers(1, 8))
        w = draw(hnp.arrays(np.float64, n, elements=st.floats(0.05, 1.0, allow_subnormal=False)))
        out.append((draw(points(n, d)), w / w.sum()))
    return out, d


def assert_plans(measures, weights, plans, tol=1e-8):
    assert abs(weights.sum() - 1.0) <= 1e-9 and weights.min() >= 0
    for (_, mu), T in zip(measures, plans):
        assert T.min() >= 0
        np.testing.assert_allclose(T.sum(axis=1), mu, atol=tol)       # source: rows are mu_i
        np.testing.assert_allclose(T.sum(axis=0), weights, atol=tol)  # target: columns are nu


@SETTINGS
@given(inst=measure_sets(), s=st.integers(1, 5), method=st.sampled_from(["direct", "colgen"]), data=st.data())
def test_fixed_support_barycenter_marginals(inst, s, method, data):
    from fairopt.barycenter.lp16 import fixed_support_barycenter

    measures, d = inst
    support = data.draw(points(s, d))
    res = fixed_support_barycenter(measures, support, method=method)
    assert_plans(measures, res.weights, res.plans)
    cost = sum(float((T * sq(X, support)).sum()) for (X, _), T in zip(measures, res.plans))
    assert res.cost == pytest.approx(cost, rel=1e-9, abs=1e-12)


@SETTINGS
@given(inst=measure_sets(), k=st.integers(1, 3))
def test_sparse_barycenter_marginals(inst, k):
    measures, _ = inst
    union = np.vstack([X for X, _ in measures])
    assume(k <= union.shape[0] and (k == 1 or np.ptp(union, axis=0).max() > 0))
    sb = fairopt.SparseBarycenter(n_support=k, n_init=2, random_state=0).fit(measures)
    assert sb.support_.shape[0] == k
    assert_plans(measures, sb.weights_, sb.plans_)

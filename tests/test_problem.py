"""fairopt.problem: validation messages, group encoding, bounds, and the feasibility test.

The feasibility test is checked against the LP itself: bounds it accepts give a feasible LP (2),
bounds it refuses give an infeasible one.
"""
from __future__ import annotations

import importlib
import shutil

import numpy as np
import pytest
from fairopt.models import fair_assignment as lp2

import fairopt
from fairopt.exceptions import (
    InfeasibleBoundsError,
    SolverNotAvailableError,
    ValidationError,
)
from fairopt.groups import GroupStructure, encode_groups
from fairopt.problem import (
    bounds_from_delta,
    check_bounds_feasible,
    make_fair_problem,
    resolve_bounds,
    validate_n_clusters,
    validate_points,
    validate_weights,
)

solve_mod = importlib.import_module("fairopt.solvers.core")

rng0 = np.random.default_rng(0)
X = rng0.normal(size=(20, 2))
C = X[:3].copy()
G = np.array(["a", "b"] * 10)


# ---------------------------------------------------------------- points, weights, k


@pytest.mark.parametrize("bad,match", [
    (X[:, 0], "1-D array of length 20.*reshape"),
    (X[None], r"shape \(1, 20, 2\)"),
    (np.empty((0, 2)), "at least 1 row"),
    (np.empty((5, 0)), "at least one column"),
    (np.where(np.arange(40).reshape(20, 2) == 7, np.nan, X), "NaN values in 1 row.*row 3"),
    (np.where(np.arange(40).reshape(20, 2) == 0, np.inf, X), "inf values"),
    ([["a", "b"]], "numeric array"),
])
def test_points_errors(bad, match):
    with pytest.raises(ValidationError, match=match):
        validate_points(bad)
    with pytest.raises(ValidationError):
        fairopt.fair_assignment(bad, C, G)


def test_points_are_float_c_contiguous():
    out = validate_points(np.asfortranarray(np.arange(6).reshape(3, 2)))
    assert out.dtype == np.float64 and out.flags.c_contiguous


@pytest.mark.parametrize("bad,match", [
    (-np.ones(20), r"non-negative; weights\[0\] = -1"),
    (np.zeros(20), "all zero"),
    (np.ones(19), r"shape \(20,\).*got shape \(19,\)"),
    (np.ones((20, 1)), r"got shape \(20, 1\)"),
    (np.r_[np.nan, np.ones(19)], "NaN or inf"),
    (np.r_[np.inf, np.ones(19)], "NaN or inf"),
    (["x"] * 20, "numeric array"),
])
def test_weights_errors(bad, match):
    with pytest.raises(ValidationError, match=match):
        validate_weights(bad, 20)
    with pytest.raises(ValidationError, match="weights"):
        fairopt.fair_assignment(X, C, G, weights=bad)


def test_weights_default_ones():
    np.testing.assert_array_equal(validate_weights(None, 4), np.ones(4))


@pytest.mark.parametrize("k,match", [(0, ">= 1"), (21, "larger than the number of points"), (2.0, "integer"), (True, "integer")])
def test_n_clusters_errors(k, match):
    with pytest.raises(ValidationError, match=match):
        validate_n_clusters(k, 20)
    assert validate_n_clusters(np.int64(3), 20) == 3


# ---------------------------------------------------------------- groups


@pytest.mark.parametrize("bad,match", [
    (G[:19], r"shape \(20,\) or \(20, a\).*got shape \(19,\)"),
    (np.zeros(20), "single label"),
    (np.column_stack([G, np.zeros(20)]), "column 1 of groups has a single label"),
    ([{"k": 1}] * 20, "hashable"),
    ([{1, 2}] * 20, "hashable"),
    ([[1, 2]] * 19 + [[1]], "ragged"),
    (np.r_[np.nan, np.zeros(19)], "NaN"),
    (np.empty((20, 0)), "no columns"),
    (None, "required"),
])
def test_groups_errors(bad, match):
    with pytest.raises(ValidationError, match=match):
        encode_groups(bad, 20)
    with pytest.raises(ValidationError):
        fairopt.fair_assignment(X, C, bad)


def test_group_numbering_and_membership():
    labels = np.array([["m", 1], ["s", 0], ["d", 1], ["m", 0]], dtype=object)
    g = encode_groups(labels, 4, names=["marital", "default"])
    # attribute by attribute, sorted values within an attribute
    assert g.labels == ["marital=d", "marital=m", "marital=s", "default=0", "default=1"]
    assert g.values == ["d", "m", "s", 0, 1]
    np.testing.assert_array_equal(g.attribute, [0, 0, 0, 1, 1])
    M = g.membership.toarray()
    np.testing.assert_array_equal(M.sum(axis=1), [2, 2, 2, 2])  # one group per attribute
    np.testing.assert_array_equal(M[0], [0, 1, 0, 0, 1])
    np.testing.assert_array_equal(g.codes, [[1, 4], [2, 3], [0, 4], [1, 3]])
    assert not g.disjoint
    with pytest.raises(ValueError):
        g.group_of_point()
    np.testing.assert_allclose(g.group_weights(np.array([1.0, 2.0, 3.0, 4.0])), [3, 5, 2, 6, 4])


def test_disjoint_groups_and_unorderable_labels():
    g = encode_groups(np.array([2, 0, 2, 1]), 4)
    assert g.disjoint and g.labels == ["0", "1", "2"]
    np.testing.assert_array_equal(g.group_of_point(), [2, 0, 2, 1])
    mixed = np.array([None, "x", None, "x"], dtype=object)  # np.unique cannot sort these
    g2 = encode_groups(mixed, 4)
    assert g2.n_groups == 2 and g2.membership.sum() == 4
    assert encode_groups(g, 4) is g
    with pytest.raises(ValidationError, match="covers 4 points"):
        encode_groups(g, 5)


# ---------------------------------------------------------------- bounds


def test_bounds_from_delta_formula():
    r = np.array([0.7, 0.3])
    a, b = bounds_from_delta(r, 0.2)
    np.testing.assert_allclose(a, [min(0.7 / 0.8, 1), 0.3 / 0.8])
    np.testing.assert_allclose(b, [0.7 * 0.8, 0.3 * 0.8])
    a, b = bounds_from_delta(np.array([0.95, 0.05]), 0.5)
    assert a[0] == 1.0  # clipped


@pytest.mark.parametrize("kw,match", [
    (dict(alpha=1.5), "alpha must lie in \\[0, 1\\]; alpha for group 'a' is 1.5"),
    (dict(beta=-0.1), "beta must lie in \\[0, 1\\]"),
    (dict(alpha=np.nan), "alpha must lie in"),
    (dict(alpha=0.5, beta=0.6), "beta must not exceed alpha; for group 'a' beta = 0.6 > alpha = 0.5"),
    (dict(delta=1.0), "delta must be a number in \\[0, 1\\)"),
    (dict(delta=-0.1), "delta must be a number"),
    (dict(delta="0.1"), "delta must be a number"),
    (dict(delta=True), "delta must be a number"),
    (dict(alpha=[0.6, 0.6, 0.6]), r"shape \(2,\) in the group order \['a', 'b'\]"),
    (dict(alpha="high"), "alpha must be a number, a mapping"),
    (dict(alpha={"a": 0.6, "c": 0.6}), "unknown group 'c'"),
    (dict(alpha={"a": 0.6}), r"no bound for group\(s\) \['b'\]"),
    (dict(beta={"a": "low", "b": 0.1}), "beta for group 'a' must be a number"),
])
def test_bound_errors(kw, match):
    g = encode_groups(G, 20)
    with pytest.raises(ValidationError, match=match):
        resolve_bounds(g, np.ones(20), **kw)
    with pytest.raises(ValidationError, match=match):
        fairopt.fair_assignment(X, C, G, **kw)


def test_bound_defaults_and_precedence():
    g = encode_groups(np.array([0] * 15 + [1] * 5), 20)
    a, b = resolve_bounds(g, np.ones(20))  # delta 0.1 by default
    np.testing.assert_allclose(b, [0.75 * 0.9, 0.25 * 0.9])
    a, b = resolve_bounds(g, np.ones(20), alpha=0.9)  # beta missing and no delta: 0
    np.testing.assert_allclose(a, [0.9, 0.9])
    np.testing.assert_allclose(b, [0, 0])
    a, b = resolve_bounds(g, np.ones(20), delta=0.2, beta={0: 0.5, 1: 0.1})  # explicit beta wins
    np.testing.assert_allclose(b, [0.5, 0.1])
    np.testing.assert_allclose(a, [0.75 / 0.8, 0.25 / 0.8])
    # weights change the shares
    a, b = resolve_bounds(g, np.r_[np.ones(15), 3 * np.ones(5)], delta=0.0)
    np.testing.assert_allclose(b, [0.5, 0.5])


def test_ambiguous_mapping_key_with_overlapping_groups():
    groups = np.column_stack([np.arange(20) % 2, (np.arange(20) // 2) % 2])
    g = encode_groups(groups, 20)
    assert g.labels == ["0=0", "0=1", "1=0", "1=1"]
    with pytest.raises(ValidationError, match="several attributes; use the group labels"):
        resolve_bounds(g, np.ones(20), alpha={0: 0.6, 1: 0.6})
    a, _ = resolve_bounds(g, np.ones(20), alpha={"0=0": 0.6, "0=1": 0.7, "1=0": 0.8, "1=1": 0.9})
    np.testing.assert_allclose(a, [0.6, 0.7, 0.8, 0.9])


def test_infeasible_bounds_message_names_group_and_percentages():
    labels = np.array(["divorced"] * 117 + ["married"] * 600 + ["single"] * 283)
    pts = np.random.default_rng(1).normal(size=(1000, 2))
    with pytest.raises(InfeasibleBoundsError) as info:
        make_fair_problem(pts, labels, beta={"divorced": 0.15, "married": 0.0, "single": 0.0})
    msg = str(info.value)
    assert "group 'divorced' is 11.7% of the data but beta asks at least 15.0% in every cluster" in msg
    assert info.value.group == "divorced"
    with pytest.raises(InfeasibleBoundsError, match="group 'married' is 60.0% of the data but alpha allows at most 50.0%"):
        make_fair_problem(pts, labels, alpha={"divorced": 1, "married": 0.5, "single": 1})
    assert isinstance(info.value, ValidationError)


def test_zero_weight_group():
    g = np.array([0] * 10 + [1] * 10)
    w = np.r_[np.ones(10), np.zeros(10)]
    P = make_fair_problem(X, g, weights=w, delta=0.1)  # share 0, beta 0: satisfiable
    assert P.beta[1] == 0.0
    fa = fairopt.fair_assignment(X, C, g, weights=w, delta=0.1, method="direct")
    np.testing.assert_allclose(fa.assignment.toarray()[10:], 0.0, atol=1e-9)
    with pytest.raises(InfeasibleBoundsError, match="group '1' has no weight"):
        make_fair_problem(X, g, weights=w, beta=[0.0, 0.1])


def test_bounds_check_is_exact_for_lp2():
    """check_bounds_feasible accepts exactly the bounds for which LP (2) is feasible."""
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(12, 2))
    cen = pts[:3]
    labels = rng.integers(0, 3, size=12)
    labels[:3] = [0, 1, 2]
    g = encode_groups(labels, 12)
    w = rng.uniform(0.5, 2, size=12)
    accepted = refused = 0
    for _ in range(40):
        beta = rng.uniform(0, 0.6, size=3)
        alpha = np.minimum(1.0, beta + rng.uniform(0, 0.6, size=3))
        try:
            check_bounds_feasible(g, w, alpha, beta)
            ok = True
        except InfeasibleBoundsError:
            ok = False
        res = fairopt.solve(lp2.to_matrices(pts, cen, g, alpha, beta, w))
        assert res.status == ("optimal" if ok else "infeasible")
        accepted += ok
        refused += not ok
    assert accepted and refused


# ---------------------------------------------------------------- fair_assignment's own checks


def test_fair_assignment_argument_errors(monkeypatch):
    with pytest.raises(ValidationError, match="centres have 3 columns but points have 2"):
        fairopt.fair_assignment(X, np.ones((3, 3)), G)
    with pytest.raises(ValidationError, match="centres must be 2-D"):
        fairopt.fair_assignment(X, np.ones(2), G)
    with pytest.raises(ValidationError, match="centres contains NaN"):
        fairopt.fair_assignment(X, np.full((2, 2), np.nan), G)
    with pytest.raises(ValidationError, match="method must be one of"):
        fairopt.fair_assignment(X, C, G, method="simplex")
    with pytest.raises(SolverNotAvailableError, match=r"known solvers: \['cbc', 'clarabel', 'glpk', 'gurobi', 'highs'\]"):
        fairopt.fair_assignment(X, C, G, solver="cplex", method="direct")
    with pytest.raises(SolverNotAvailableError, match="CVXPY problems only"):
        fairopt.fair_assignment(X, C, G, solver="clarabel", method="pyomo")
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda cmd, *a, **k: None if cmd == "glpsol" else real_which(cmd, *a, **k))
    with pytest.raises(SolverNotAvailableError, match="glpk.*not installed.*apt-get install glpk-utils"):
        fairopt.fair_assignment(X, C, G, solver="glpk", method="direct")


def test_problem_is_frozen_and_typed():
    P = make_fair_problem(X, G, delta=0.1)
    assert isinstance(P.groups, GroupStructure) and P.n == 20
    assert P.alpha.shape == P.beta.shape == (2,)
    with pytest.raises(AttributeError):
        P.alpha = None

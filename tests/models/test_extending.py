"""Extending a model without guessing: named sets, variables and duals; no warnings; exported names."""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import fairopt
from fairopt.models import balanced_transport as bt
from fairopt.models import barycenter as lp16
from fairopt.models import circulation as circ
from fairopt.models import fair_assignment as lp2
from fairopt.problem import bounds_from_delta, encode_groups


@pytest.fixture(scope="module")
def instance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(14, 2)) + np.repeat([[0, 0], [4, 0]], 7, axis=0)
    groups = np.where(rng.random(14) < 0.5, "red", "blue")
    groups[:2] = ["red", "blue"]
    alpha, beta = bounds_from_delta(groups, 0.2)
    return X, X[[0, 7, 3]], groups, alpha, beta


def test_bounds_from_delta_takes_string_labels(instance):
    X, _, groups, alpha, beta = instance
    r = np.array([np.mean(groups == "blue"), np.mean(groups == "red")])  # sorted labels: blue, red
    np.testing.assert_allclose(alpha, np.minimum(r / 0.8, 1))
    np.testing.assert_allclose(beta, r * 0.8)
    a2, b2 = bounds_from_delta(r, 0.2)  # shares as before
    np.testing.assert_allclose((a2, b2), (alpha, beta))
    two = np.column_stack([groups, np.where(X[:, 0] > 2, "east", "west")])
    a3, _ = bounds_from_delta(two, 0.5)
    assert a3.shape == (4,) and encode_groups(two, 14).labels == ["0=blue", "0=red", "1=east", "1=west"]
    with pytest.raises(fairopt.ValidationError, match="shares"):
        bounds_from_delta(np.array([0.0, 1.0, 2.0]), 0.1)


def test_pyomo_model_carries_group_members(instance):
    X, C, groups, alpha, beta = instance
    two = np.column_stack([groups, np.where(X[:, 0] > 2, "east", "west")])
    m = lp2.build_pyomo(X, C, two, 0.9, 0.1)
    g = encode_groups(two, len(X))
    for i in range(g.n_groups):
        assert list(m.members[i]) == np.flatnonzero(g.membership[:, [i]].toarray().ravel()).tolist()
    # A constraint written with the model's sets: group 'red' (index 1) has at least 2 units at centre 0.
    import pyomo.environ as pyo
    m.red_floor = pyo.Constraint(expr=sum(m.phi[x, 0] for x in m.members[1]) >= 2)
    res = fairopt.solve(m, solver="highs", require_optimal=True)
    assert res.values["phi"][np.flatnonzero(two[:, 0] == "red"), 0].sum() >= 2 - 1e-7


def _no_warnings(build):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("pyomo").addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            build()
    finally:
        logging.getLogger("pyomo").removeHandler(handler)
    return [r.getMessage() for r in records if r.levelno >= logging.WARNING]


def test_building_pyomo_models_prints_no_warning(instance):
    X, C, groups, alpha, beta = instance
    measures = fairopt.datasets.make_measures(2, n_support=5, random_state=0)
    net = circ.hub_network(np.full((14, 3), 1 / 3), (X, C), encode_groups(groups, 14).group_of_point(), 2)
    for build in (lambda: lp2.build_pyomo(X, C, groups, alpha, beta),
                  lambda: bt.build_pyomo(X[:12], C),
                  lambda: lp16.build_pyomo(measures, measures[0][0][:3]),
                  lambda: circ.build_pyomo(net)):
        assert _no_warnings(build) == []
        import pyomo.environ as pyo
        model = build()
        # Every parameter declares its domain: Pyomo's implicit 'Any' warns on some values
        # ("DEPRECATED: Param 'dist' declared with an implicit domain of 'Any'").
        for par in model.component_objects(pyo.Param):
            assert type(par.domain).__name__ != "_ImplicitAny", par.name
            assert par.domain is pyo.Reals


def test_cvxpy_variables_by_name_and_user_labelled_duals(instance):
    cp = pytest.importorskip("cvxpy")
    import pyomo.environ as pyo
    X, C, groups, alpha, beta = instance
    U = 5.5
    prob = lp2.build_cvxpy(X, C, groups, alpha, beta)
    assert set(prob.var_dict) == {"phi", "W"} and prob.var_dict["phi"].shape == (14, 3)
    assert [c.label for c in prob.constraints] == ["mass", "total", "fair_upper", "fair_lower"]
    cap = (prob.var_dict["W"] <= U).set_label("capacity")
    res_cvx = fairopt.solve(cp.Problem(prob.objective, [*prob.constraints, cap]), solver="highs", require_optimal=True)
    # The same extension in Pyomo: its dual is read from the solver by a second path.
    m = lp2.build_pyomo(X, C, groups, alpha, beta)
    m.capacity = pyo.Constraint(m.C, rule=lambda m, c: m.W[c] <= U)
    res_pyo = fairopt.solve(m, solver="highs", require_optimal=True)
    assert res_cvx.objective == pytest.approx(res_pyo.objective, rel=1e-7)
    np.testing.assert_allclose(res_cvx.duals["capacity"], res_pyo.duals["capacity"], atol=1e-6)
    assert np.min(res_cvx.duals["capacity"]) < -1e-6  # a binding <= row: dual <= 0 (fairopt's convention)
    # Unlabelled constraints are keyed by CVXPY's constr_id.
    plain = prob.var_dict["W"] <= 100
    res = fairopt.solve(cp.Problem(prob.objective, [*prob.constraints, plain]), solver="highs")
    assert str(plain.constr_id) in res.duals


@pytest.mark.parametrize("ext", [".lp", ".mps"])
def test_readme_names_are_the_exported_names(instance, tmp_path, ext):
    """README: the variable phi[3,1] is written phi(3_1), the row capacity[2] is c_u_capacity(2)_."""
    highspy = pytest.importorskip("highspy")
    import pyomo.environ as pyo
    X, C, groups, alpha, beta = instance
    m = lp2.build_pyomo(X, C, groups, alpha, beta)
    m.capacity = pyo.Constraint(m.C, rule=lambda m, c: m.W[c] <= 5.5)
    path = fairopt.export(m, tmp_path / f"lp2{ext}")
    h = highspy.Highs()
    h.silent()
    h.readModel(str(path))
    lp = h.getLp()
    assert "phi(3_1)" in lp.col_names_ and "W(2)" in lp.col_names_
    assert "c_u_capacity(2)_" in lp.row_names_
    r = lp.row_names_.index("c_u_capacity(2)_")
    assert lp.row_upper_[r] == pytest.approx(5.5)
    # The row holds W(2) alone, with coefficient 1 (the file is column-wise).
    A = lp.a_matrix_
    start, index, value = np.asarray(A.start_), np.asarray(A.index_), np.asarray(A.value_)
    j = lp.col_names_.index("W(2)")
    col = dict(zip(index[start[j]:start[j + 1]].tolist(), value[start[j]:start[j + 1]].tolist()))
    assert col[r] == pytest.approx(1.0)
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(fairopt.solve(m).objective, rel=1e-7)

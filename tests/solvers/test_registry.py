"""A new LP solver is one registry row: registered under a new name, it solves like the solver it wraps."""
from __future__ import annotations

import numpy as np
import pytest

import fairopt
from fairopt.exceptions import SolverNotAvailableError
from fairopt.models import fair_assignment as lp2
from fairopt.solvers import SOLVERS, SolverSpec, available_solvers, register


@pytest.fixture
def tiny():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 2))
    return X, X[:3], np.repeat([0, 1], 6)


def test_one_row_adds_a_solver(tiny):
    X, C, g = tiny
    if not available_solvers()["glpk"]:
        pytest.skip("glpsol is not installed")
    spec = SolverSpec("glpk-again", "GLPK under another name", "apt-get install glpk-utils",
                      probe=lambda: True, kinds=("pyomo", "matrices"), pyomo_name="glpk",
                      pyomo_options={"time_limit": "tmlim"}, integer_time_limit=True)
    register(spec)
    try:
        assert available_solvers()["glpk-again"] is True
        ref = fairopt.solve(lp2.to_matrices(X, C, g, 0.8, 0.2), solver="highs")
        via_pyomo = fairopt.solve(lp2.build_pyomo(X, C, g, 0.8, 0.2), solver="glpk-again", time_limit=30)
        via_matrices = fairopt.solve(lp2.to_matrices(X, C, g, 0.8, 0.2), solver="glpk-again")
        assert via_pyomo.status == via_matrices.status == "optimal"
        assert via_pyomo.objective == pytest.approx(ref.objective, rel=1e-6)
        assert via_matrices.objective == pytest.approx(ref.objective, rel=1e-6)
        with pytest.raises(SolverNotAvailableError, match="glpk-again"):
            fairopt.solve(lp2.build_cvxpy(X, C, g, 0.8, 0.2), solver="glpk-again")  # kinds has no cvxpy
    finally:
        SOLVERS.pop("glpk-again", None)


def test_a_row_whose_probe_fails_says_how_to_install(tiny):
    X, C, g = tiny
    register(SolverSpec("absent-solver", "not here", "pip install absent-solver", probe=lambda: False))
    try:
        with pytest.raises(SolverNotAvailableError, match="pip install absent-solver"):
            fairopt.solve(lp2.to_matrices(X, C, g, 0.8, 0.2), solver="absent-solver")
    finally:
        SOLVERS.pop("absent-solver", None)

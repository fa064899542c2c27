"""Robustness of the public Python entry points (issue 8): bad input is refused before any solve,
solver failures are reported with their status, oversized models are refused before they are
built, interrupted writes leave nothing, and the same seed gives the same result.

The validators themselves are tested in test_problem.py and the solver interface in
test_solve.py; here every estimator and baseline is checked to call them, with the exception
type and a part of the message.
"""
from __future__ import annotations

import dataclasses
import importlib
import os
import shutil

import numpy as np
import pytest
from fairopt.models import barycenter as lp16_model
from fairopt.models import fair_assignment as lp2_model

import fairopt
from fairopt import FairKMeans, SparseBarycenter, StrictlyFairKMeans
from fairopt.baselines import ijcai24, nips19, orl21
from fairopt.exceptions import (
    FairoptError,
    InfeasibleBoundsError,
    ResourceLimitError,
    SolverLicenseError,
    SolverNotAvailableError,
    SolverStatusError,
    ValidationError,
)
from fairopt.solvers.core import SolveResult

solve_mod = importlib.import_module("fairopt.solvers.core")
registry = importlib.import_module("fairopt.solvers.registry")
relax_merge = importlib.import_module("fairopt.fair.relax_merge")
assignment_mod = importlib.import_module("fairopt.assignment.lp2")
barycenter_mod = importlib.import_module("fairopt.barycenter.lp16")
fairlets_mod = importlib.import_module("fairopt.fair.fairlets")
resources = importlib.import_module("fairopt.solvers.resources")

rng0 = np.random.default_rng(0)
X = rng0.normal(size=(24, 2))
G = np.array(["a", "b"] * 12)


def _measures(P):
    half = P.shape[0] // 2
    return [(P[:half], None), (P[half:], None)]


def _balanced(method):
    def fit(P, g, k, **kw):
        from fairopt.balanced.ballot import BalancedKMeans

        return BalancedKMeans(n_clusters=k, method=method, **_seed(kw)).fit(P)
    return fit


def _seed(kw):
    return {"random_state": 0, **kw}


# name -> fit(points, groups, k, **keywords); the groups are ignored where the method has none.
ENTRY = {
    "FairKMeans": lambda P, g, k, sample_weight=None, **kw: FairKMeans(n_clusters=k, **_seed(kw)).fit(P, g, sample_weight),
    "nips19": lambda P, g, k, **kw: nips19(P, g, k, **_seed(kw)),
    "StrictlyFairKMeans": lambda P, g, k, **kw: StrictlyFairKMeans(n_clusters=k, **_seed(kw)).fit(P, g),
    "orl21": lambda P, g, k, **kw: orl21(P, g, k, **_seed(kw)),
    "SparseBarycenter": lambda P, g, k, **kw: SparseBarycenter(n_support=k, **_seed(kw)).fit(_measures(P)),
    "ijcai24": lambda P, g, k, **kw: ijcai24(_measures(P), k, **_seed(kw)),
    "BalancedKMeans-exact": _balanced("exact"),
    "BalancedKMeans-sinkhorn": _balanced("sinkhorn"),
}
FAIR = ["FairKMeans", "nips19", "StrictlyFairKMeans", "orl21"]
LP2 = ["FairKMeans", "nips19"]
LP16 = ["SparseBarycenter", "ijcai24"]


@pytest.fixture
def no_solve(replace_everywhere):
    """Every solver and matching entry fails the test: refusals must come before any of them."""
    def boom(*args, **kwargs):
        raise AssertionError("a solver ran before the input was refused")

    fast = importlib.import_module("fairopt.assignment.colgen")
    for mod, name in [(solve_mod, "solve"), (assignment_mod, "solve_lp2"),
                      (barycenter_mod, "solve_lp16"), (barycenter_mod, "_lp16_colgen"),
                      (fairlets_mod, "pairwise_matchings"), (relax_merge, "relax_and_merge"),
                      (fast, "solve_colgen")]:
        replace_everywhere(getattr(mod, name), boom)


def _nan(P):
    P = P.copy()
    P[5, 1] = np.nan
    return P


def _inf(P):
    P = P.copy()
    P[5, 0] = -np.inf
    return P


# ---------------------------------------------------------------- 1. bad input, every entry point

COMMON = [
    ("nan", lambda: (_nan(X), G, 2, {}), "NaN values in 1 row"),
    ("inf", lambda: (_inf(X), G, 2, {}), "inf values"),
    ("empty", lambda: (np.empty((0, 2)), np.array([], dtype=str), 1, {}), "at least 1 row"),
    ("one-dimensional", lambda: (X[:, 0], G, 2, {}), "2-D"),
    ("k=0", lambda: (X, G, 0, {}), ">= 1; got 0"),
    ("k>n", lambda: (X, G, 25, {}), "larger than the number of points"),
    ("k not an integer", lambda: (X, G, 2.5, {}), "must be an integer"),
    ("duplicate-only", lambda: (np.ones((24, 2)), G, 2, {}), "all 24 points are identical"),
]


@pytest.mark.parametrize("entry", list(ENTRY))
@pytest.mark.parametrize("case,make,match", COMMON, ids=[c[0] for c in COMMON])
def test_bad_points_and_k_refused_before_any_solve(no_solve, entry, case, make, match):
    P, g, k, kw = make()
    if entry in LP16 and case == "empty":
        match = "at least 1 row"
    with pytest.raises(ValidationError, match=match):
        ENTRY[entry](P, g, k, **kw)


@pytest.mark.parametrize("entry", list(ENTRY))
def test_bad_random_state(no_solve, entry):
    for seed in ("seed", -1, 1.5):
        with pytest.raises(ValidationError, match="random_state must be None, a non-negative integer"):
            ENTRY[entry](X, G, 2, random_state=seed)


GROUPS = [
    ("single label", lambda: np.zeros(24), "single label"),
    ("unhashable labels", lambda: [{"g": i % 2} for i in range(24)], "hashable"),
    ("wrong length", lambda: G[:20], r"shape \(24,\)"),
    ("NaN label", lambda: np.r_[np.nan, np.arange(23) % 2], "NaN"),
    ("pandas-style NaN among strings", lambda: np.array([*G[:5], np.nan, *G[6:]], dtype=object),
     r"missing \(NaN\) labels in 1 row\(s\) \(first: row 5\)"),
]


@pytest.mark.parametrize("entry", FAIR)
@pytest.mark.parametrize("case,make,match", GROUPS, ids=[c[0] for c in GROUPS])
def test_bad_groups(no_solve, entry, case, make, match):
    with pytest.raises(ValidationError, match=match):
        ENTRY[entry](X, make(), 2)


WEIGHTS_AND_BOUNDS = [
    ("negative weight", {"sample_weight": np.r_[-1.0, np.ones(23)]}, ValidationError, r"non-negative; weights\[0\] = -1"),
    ("all-zero weights", {"sample_weight": np.zeros(24)}, ValidationError, "all zero"),
    ("alpha > 1", {"alpha": 1.5}, ValidationError, "alpha must lie in"),
    ("beta < 0", {"beta": -0.1}, ValidationError, "beta must lie in"),
    ("beta > alpha", {"alpha": 0.4, "beta": 0.45}, ValidationError, "beta must not exceed alpha"),
    ("delta = 1", {"delta": 1.0}, ValidationError, r"delta must be a number in \[0, 1\)"),
    ("infeasible beta", {"delta": None, "beta": 0.6}, InfeasibleBoundsError, "is 50.0% of the data but beta asks at least 60.0%"),
    ("infeasible alpha", {"delta": None, "alpha": {"a": 0.3, "b": 1.0}}, InfeasibleBoundsError,
     "group 'a' is 50.0% of the data but alpha allows at most 30.0%"),
    ("time_limit <= 0", {"time_limit": 0}, ValidationError, "time_limit must be a positive number"),
    ("time_limit nan", {"time_limit": float("nan")}, ValidationError, "time_limit must be a positive number"),
    ("colgen with glpk", {"method": "colgen", "solver": "glpk"}, ValidationError, "colgen' runs on HiGHS only"),
    ("unknown method", {"method": "simplex"}, ValidationError, "method must be one of"),
    ("unknown rounding", {"rounding": "nearest"}, ValidationError, "rounding must be"),
    ("unknown solver", {"solver": "cplex"}, SolverNotAvailableError, "unknown solver 'cplex'"),
]


@pytest.mark.parametrize("entry", LP2)
@pytest.mark.parametrize("case,kw,exc,match", WEIGHTS_AND_BOUNDS, ids=[c[0] for c in WEIGHTS_AND_BOUNDS])
def test_bad_weights_bounds_and_options(no_solve, entry, case, kw, exc, match):
    with pytest.raises(exc, match=match):
        ENTRY[entry](X, G, 2, **kw)


def test_best_effort_must_be_a_flag(no_solve):
    with pytest.raises(ValidationError, match="best_effort must be True or False"):
        FairKMeans(n_clusters=2, best_effort="yes").fit(X, G)


def test_infeasible_bounds_name_the_group_and_the_arithmetic(no_solve, data_home):
    # The example: bank's 'divorced' are 528 of 4521 points (11.7%).
    ds = fairopt.datasets.load_dataset("bank", data_home=data_home, attributes=["marital"])
    X_b, G_b = ds.X, ds.groups  # the data's own values: 'divorced', 'married', 'single'
    np.testing.assert_array_equal(G_b, np.asarray(ds.group_values[0])[ds.codes])
    with pytest.raises(InfeasibleBoundsError, match=r"group 'divorced' is 11\.7% of the data but beta asks at least "
                                                    r"15\.0% in every cluster") as info:
        FairKMeans(n_clusters=4, delta=None, beta={"divorced": 0.15, "married": 0.5, "single": 0.2}).fit(X_b, G_b)
    assert info.value.group == "divorced"


@pytest.mark.parametrize("entry", LP16)
def test_bad_measures(no_solve, entry):
    P = rng0.normal(size=(5, 2))
    fit = (lambda meas, **kw: SparseBarycenter(n_support=2, **kw).fit(meas)) if entry == "SparseBarycenter" \
        else (lambda meas, **kw: ijcai24(meas, 2, **kw))
    cases = [
        ([(P, np.full(5, 0.18))], "weights sum to 0.9, not 1.*w / w.sum()"),
        ([(P, np.zeros(5))], "weights sum to 0, not 1"),
        ([(P, np.array([-0.2, 0.4, 0.4, 0.2, 0.2]))], "non-negative"),
        ([(P, np.full(4, 0.25))], r"weights must have shape \(5,\)"),
        ([], "non-empty list"),
        ([(P, None), (rng0.normal(size=(4, 3)), None)], "dimension 3 but measures\\[0\\] has 2"),
    ]
    for meas, match in cases:
        with pytest.raises(ValidationError, match=match):
            fit(meas)
    with pytest.raises(ValidationError, match="time_limit"):
        fit([(P, None), (P + 1, None)], time_limit=-1.0)


def test_measure_weights_within_tolerance_are_renormalised():
    """Documented policy: weights off by at most 1e-6 are rescaled, further off they are refused."""
    P = rng0.normal(size=(6, 2))
    w = np.full(6, 1 / 6) * (1 + 5e-7)
    sb = SparseBarycenter(n_support=2, random_state=0).fit([(P, w), (P + 1.0, None)])
    assert abs(sb.weights_.sum() - 1.0) < 1e-12
    for T, (_, wi) in zip(sb.plans_, [(P, w / w.sum()), (P, np.full(6, 1 / 6))]):
        np.testing.assert_allclose(T.sum(axis=1), wi, atol=1e-9)


def test_balanced_sizes_refused(no_solve):
    from fairopt.balanced.ballot import BalancedKMeans

    for sizes, match in [([10, 10, 3], "sum to the number of points n=24; they sum to 23"),
                         ([12, 12, 0], ">= 1"), ([12, 12], "3 integers"), ([8.5, 8, 7.5], "integers")]:
        with pytest.raises(ValidationError, match=match):
            BalancedKMeans(n_clusters=3, sizes=sizes).fit(X)


def test_strictly_fair_refusals_come_first(no_solve):
    with pytest.raises(ValidationError, match="groups of equal size"):
        StrictlyFairKMeans(n_clusters=2).fit(X, np.r_[np.zeros(14), np.ones(10)])
    with pytest.raises(ValidationError, match="exceeds the number of fairlets p=12"):
        StrictlyFairKMeans(n_clusters=13).fit(X, G)


def test_rounding_refuses_an_infeasible_phi():
    from fairopt.fair.rounding import round_assignment

    C = X[:3]
    phi = np.full((24, 3), 1 / 3)
    labels = round_assignment(X, C, phi, G)  # plain labels are accepted as groups
    assert labels.shape == (24,) and set(labels) <= {0, 1, 2}
    for bad, match in [(phi[:, :2], r"shape \(n, k\) = \(24, 3\)"), (phi * 0.5, "rows must sum to the point weights"),
                       (np.where(phi > 0, -phi, phi), "non-negative"), (np.full((24, 3), np.nan), "finite")]:
        with pytest.raises(ValidationError, match=match):
            round_assignment(X, C, bad, G)
    with pytest.raises(ValidationError, match="method must be"):
        round_assignment(X, C, phi, G, method="greedy")


# ---------------------------------------------------------------- duplicate-only data: one policy

@pytest.mark.parametrize("entry", list(ENTRY))
def test_duplicate_only_data_with_one_cluster_is_fine(entry):
    """k = 1 on identical points is a well-posed problem of cost 0; only k > 1 is refused."""
    P = np.tile([[1.0, -2.0]], (24, 1))
    out = ENTRY[entry](P, G, 1)
    cost = next(getattr(out, a) for a in ("cost_", "inertia_", "cost") if hasattr(out, a))
    assert cost == pytest.approx(0.0, abs=1e-12)


def test_some_duplicates_are_fine():
    P = np.repeat(X[:6], 4, axis=0)  # 6 distinct points, each 4 times
    fk = FairKMeans(n_clusters=3, random_state=0).fit(P, G)
    assert fk.status_ == "optimal" and fk.violation_ < 2


# ---------------------------------------------------------------- 2. solver failure

@pytest.fixture(scope="module")
def medium():
    rng = np.random.default_rng(1)
    return rng.normal(size=(600, 3)), rng.integers(0, 3, 600)


@pytest.mark.parametrize("method", ["auto", "direct"])
def test_real_time_limit_without_a_feasible_point_raises_even_best_effort(medium, method):
    P, g = medium
    with pytest.raises(SolverStatusError, match="stopped with status 'time_limit' before finding a feasible point") as info:
        FairKMeans(n_clusters=4, method=method, time_limit=1e-6, best_effort=True, random_state=0).fit(P, g)
    assert info.value.status == "time_limit"
    assert "raise time_limit (it was 1e-06 s)" in str(info.value)
    with pytest.raises(SolverStatusError, match="no proven optimum.*raise time_limit.*best_effort=True") as info:
        FairKMeans(n_clusters=4, method=method, time_limit=1e-6, random_state=0).fit(P, g)
    assert info.value.status == "time_limit"


def _stopped_solve(patch_solve, status="time_limit"):
    """The real solve, reported as stopped by a limit with its (feasible) point: what a solver
    with an incumbent returns at its time limit."""
    real = solve_mod.solve

    def stopped(model, **kw):
        kw.pop("require_optimal", None)
        return dataclasses.replace(real(model, **kw), status=status, raw_status="Time limit reached")

    patch_solve(stopped)


def test_best_effort_returns_labels_and_says_so(patch_solve):
    _stopped_solve(patch_solve)
    with pytest.raises(SolverStatusError, match="status 'time_limit'") as info:
        FairKMeans(n_clusters=3, method="direct", random_state=0).fit(X, G)
    assert info.value.status == "time_limit"
    with pytest.warns(RuntimeWarning, match="best-effort result: LP \\(2\\) stopped with status 'time_limit'"):
        fk = FairKMeans(n_clusters=3, method="direct", best_effort=True, random_state=0).fit(X, G)
    assert fk.status_ == "time_limit"
    assert fk.labels_.shape == (24,) and set(np.unique(fk.labels_)) <= {0, 1, 2}
    # Rounding a feasible phi keeps its violation bound (1 + max beta) whatever the optimality.
    assert fk.violation_ < 1 + fk.beta_.max()
    with pytest.warns(RuntimeWarning, match="nips19: best-effort"):
        res = nips19(X, G, 3, method="direct", best_effort=True, random_state=0)
    assert res.status == "time_limit"


@pytest.mark.parametrize("status,hint", [
    ("infeasible", "numerical trouble"),
    ("infeasible_or_unbounded", "numerical trouble"),
    ("unbounded", "cannot be unbounded"),
    ("error", "verbose=True"),
])
def test_failed_status_is_reported_with_what_to_try(patch_solve, status, hint):
    patch_solve(lambda model, **kw: SolveResult(status, None, {}, {}, 0.0, "highs", "raw"))
    for best_effort in (False, True):
        with pytest.raises(SolverStatusError, match=hint) as info:
            FairKMeans(n_clusters=2, method="direct", best_effort=best_effort, random_state=0).fit(X, G)
        assert info.value.status == status
    with pytest.raises(SolverStatusError, match=f"status '{status}'.*{hint}"):
        fairopt.fair_assignment(X, X[:3], G, method="direct")
    assert fairopt.fair_assignment(X, X[:3], G, method="direct", require_optimal=False).status == status


def test_barycenter_solver_failure(patch_solve):
    patch_solve(lambda model, **kw: SolveResult("time_limit", None, {}, {}, 0.0, "highs", "raw"))
    with pytest.raises(SolverStatusError, match="LP \\(16\\).*status 'time_limit'.*Raise time_limit") as info:
        SparseBarycenter(n_support=2, random_state=0).fit(_measures(X))
    assert info.value.status == "time_limit"


@pytest.mark.parametrize("entry", ["FairKMeans", "nips19", "SparseBarycenter", "fair_assignment"])
def test_missing_solver_says_how_to_install(no_solve, monkeypatch, entry):
    monkeypatch.setattr(registry, "available_solvers", lambda: {"highs": True, "glpk": False, "cbc": False,
                                                                 "gurobi": False, "clarabel": False})
    with pytest.raises(SolverNotAvailableError, match="'glpk' is not installed; install it with: apt-get install glpk-utils"):
        if entry == "fair_assignment":
            fairopt.fair_assignment(X, X[:3], G, solver="glpk")
        else:
            ENTRY[entry](X, G, 2, solver="glpk")


def test_licence_limit_is_reported():
    if not registry.available_solvers()["gurobi"] or registry.gurobi_size_limit() is None:
        pytest.skip("no size-limited Gurobi licence here")
    # The relaxed LP (2) on 60 points and their ~180 candidates has about 10,000 variables.
    P = np.random.default_rng(2).normal(size=(60, 2))
    with pytest.raises(SolverLicenseError, match="2000 variables.*solver='highs'"):
        FairKMeans(n_clusters=2, solver="gurobi", method="direct", random_state=0).fit(P, G.tolist() * 2 + G[:12].tolist())


# ---------------------------------------------------------------- 3. resources

def test_size_formulas_are_exact():
    from fairopt.models import barycenter as lp16
    from fairopt.models import fair_assignment as lp2

    rng = np.random.default_rng(3)
    P = rng.normal(size=(17, 2))
    g2 = np.column_stack([np.arange(17) % 3, np.arange(17) % 2])
    for g, m, a in [(g2[:, 0], 3, 1), (g2, 5, 2)]:
        M = lp2.to_matrices(P, P[:4], g, 0.9, 0.1)
        assert lp2_model.dense_size(17, 4, m, a) == {"n_vars": M.n_vars, "n_rows": M.n_rows, "nnz": M.A.nnz}
    meas = [(rng.normal(size=(n, 2)), np.full(n, 1 / n)) for n in (3, 5, 4)]
    M = lp16.to_matrices(meas, P[:6])
    assert lp16_model.dense_size([3, 5, 4], 6) == {"n_vars": M.n_vars, "n_rows": M.n_rows, "nnz": M.A.nnz}


def test_estimates_follow_the_calibration():
    est = resources.estimate_lp_size
    assert est(10, 0, 90) == 100 * resources.BYTES_PER_ENTRY["direct"]
    assert est(10, 0, 90, path="pyomo") > est(10, 0, 90, path="cvxpy") > est(10, 0, 90)
    assert est(10, 0, 90, path="pyomo", solver="glpk") == 100 * (900 + resources.EXTERNAL_SOLVER_BYTES)
    with pytest.raises(ValidationError, match="path must be"):
        est(1, 1, 1, path="colgen")


def test_direct_estimate_is_not_below_the_measured_peak():
    """Peak RSS of building and solving a dense LP (2) in a fresh process stays under the estimate
    (and the estimate is not absurdly above it)."""
    if not os.path.exists("/proc/self/statm"):
        pytest.skip("needs /proc to read the resident set size")
    import subprocess
    import sys

    code = (
        "import os, threading, time, numpy as np\n"
        "from fairopt.models import fair_assignment as lp2\n"
        "from fairopt.solvers.core import solve\n"
        "from fairopt.problem import make_fair_problem\n"
        "page = os.sysconf('SC_PAGE_SIZE')\n"
        "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * page\n"
        "rng = np.random.default_rng(0); X = rng.normal(size=(2000, 3)); g = rng.integers(0, 3, 2000)\n"
        "P = make_fair_problem(X, g, delta=0.1); C = X[:50]\n"
        "solve(lp2.to_matrices(X[:30], C[:2], g[:30], P.alpha, P.beta))  # imports and HiGHS warm\n"
        "base, peak, done = rss(), [0], []\n"
        "def watch():\n"
        "    while not done:\n"
        "        peak[0] = max(peak[0], rss()); time.sleep(0.002)\n"
        "t = threading.Thread(target=watch); t.start()\n"
        "solve(lp2.to_matrices(X, C, P.groups, P.alpha, P.beta), require_optimal=True)\n"
        "done.append(1); t.join()\n"
        "print(peak[0] - base)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    measured = int(run.stdout.split()[-1])
    estimate = resources.estimate_lp_size(**lp2_model.dense_size(2000, 50, 3, 1))
    assert measured <= 1.25 * estimate, (measured, estimate)
    assert estimate <= 6 * measured, (measured, estimate)


def test_memory_budget_sources(monkeypatch):
    monkeypatch.delenv(resources.ENV_VAR, raising=False)
    avail = resources.available_memory()
    assert avail is None or avail > 0
    budget, source = resources.memory_budget()
    assert budget is None or (0 < budget <= avail and "available" in source)
    for text, value in [("123456", 123456), ("8G", 8 * 1024**3), ("1.5m", int(1.5 * 1024**2)), ("2_000", 2000)]:
        monkeypatch.setenv(resources.ENV_VAR, text)
        assert resources.memory_budget() == (value, f"${resources.ENV_VAR}")
    assert resources.memory_budget(777) == (777, "memory_limit")
    for bad in ("lots", "-5", "0"):
        monkeypatch.setenv(resources.ENV_VAR, bad)
        with pytest.raises(ValidationError, match=resources.ENV_VAR):
            resources.memory_budget()


def test_check_fits_message(monkeypatch):
    monkeypatch.setenv(resources.ENV_VAR, "1M")
    with pytest.raises(ResourceLimitError) as info:
        resources.check_fits("LP (2)", n_vars=1_000_050, nnz=4_000_350, n_rows=21_050, path="direct")
    msg = str(info.value)
    for part in ("LP (2) with 1,000,050 variables, 21,050 rows and 4,000,350 nonzeros on the direct path",
                 "about 1.2 GiB", "budget is 1.0 MiB ($FAIROPT_MEMORY_LIMIT)", "method='colgen'",
                 "candidate_ratio=0.2", "FAIROPT_MEMORY_LIMIT=<bytes>"):
        assert part in msg, (part, msg)
    assert isinstance(info.value, MemoryError) and isinstance(info.value, FairoptError)
    assert resources.check_fits("LP (2)", 10, 10) == resources.estimate_lp_size(10, 0, 10)


@pytest.mark.parametrize("method", ["direct", "pyomo", "cvxpy"])
def test_dense_lp2_refused_before_it_is_built(monkeypatch, patch_solve, method):
    monkeypatch.setenv(resources.ENV_VAR, "100K")
    from fairopt.models import fair_assignment as lp2

    def built(*args, **kwargs):
        raise AssertionError("the model was built")

    for name in ("to_matrices", "build_pyomo", "build_cvxpy"):
        monkeypatch.setattr(lp2, name, built)
    patch_solve(built)
    with pytest.raises(ResourceLimitError, match=f"LP \\(2\\) with .* on the {method} path.*method='colgen'"):
        fairopt.fair_assignment(X, X, G, method=method)


def test_estimators_refuse_oversized_models(monkeypatch):
    monkeypatch.setenv(resources.ENV_VAR, "200K")
    with pytest.raises(ResourceLimitError, match="LP \\(2\\) with .*candidate_ratio=0.2"):
        FairKMeans(n_clusters=2, method="direct", random_state=0).fit(X, G)
    with pytest.raises(ResourceLimitError, match="LP \\(16\\) with .*method='colgen'"):
        SparseBarycenter(n_support=2, method="direct", random_state=0).fit(_measures(X))
    monkeypatch.setenv(resources.ENV_VAR, "1K")
    with pytest.raises(ResourceLimitError, match="matchings between groups of p=12 points.*FairKMeans"):
        StrictlyFairKMeans(n_clusters=2, random_state=0).fit(X, G)
    with pytest.raises(ResourceLimitError, match="orl21's min-cost matchings"):
        orl21(X, G, 2, random_state=0)
    # The paths that never build the dense model run under the same budget.
    monkeypatch.setenv(resources.ENV_VAR, "200K")
    assert FairKMeans(n_clusters=2, method="auto", random_state=0).fit(X, G).status_ == "optimal"
    assert SparseBarycenter(n_support=2, method="colgen", random_state=0).fit(_measures(X)).weights_.sum() == \
        pytest.approx(1.0)


# ---------------------------------------------------------------- interrupted writes

def test_export_interrupted_mid_write_leaves_no_file(tmp_path, monkeypatch):
    from fairopt.models import fair_assignment as lp2

    backend = importlib.import_module("fairopt.solvers.core").highs_backend

    def half_then_interrupt(lp, path):
        with open(path, "w") as fh:
            fh.write("\\ partial\nmin\n obj: ")
        raise KeyboardInterrupt

    monkeypatch.setattr(backend, "write_matrices", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        fairopt.export(lp2.to_matrices(X, X[:2], G, 0.9, 0.1), tmp_path / "lp2.mps")
    m = lp2.build_pyomo(X, X[:2], G, 0.9, 0.1)

    def pyomo_half(path, **kw):
        with open(path, "w") as fh:
            fh.write("\\* partial *\\\nmin\n")
        raise KeyboardInterrupt

    object.__setattr__(m, "write", pyomo_half)
    with pytest.raises(KeyboardInterrupt):
        fairopt.export(m, tmp_path / "lp2.lp")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- 4. determinism

def _same(a, b):
    for name in ("labels_", "cluster_centers_", "support_", "weights_", "assignment_", "labels", "centres", "support",
                 "weights"):
        if hasattr(a, name):
            va, vb = getattr(a, name), getattr(b, name)
            if hasattr(va, "toarray"):
                va, vb = va.toarray(), vb.toarray()
            np.testing.assert_array_equal(va, vb, err_msg=name)
    for name in ("cost_", "inertia_", "fractional_cost_", "cost", "fractional_cost"):
        if hasattr(a, name):
            assert getattr(a, name) == getattr(b, name), name


@pytest.fixture(scope="module")
def blobs():
    return fairopt.datasets.make_fair_blobs(n=90, random_state=4)


@pytest.mark.parametrize("entry", list(ENTRY))
def test_same_seed_same_result(entry, blobs):
    P, g = blobs
    if entry in ("StrictlyFairKMeans", "orl21"):
        # equal groups: the first 20 points of each of two groups
        idx = np.concatenate([np.flatnonzero(g == v)[:20] for v in np.unique(g)[:2]])
        P, g = P[idx], g[idx]
    runs = [ENTRY[entry](P, g, 3) for _ in range(2)]
    _same(*runs)


def test_generator_seed_same_as_int_seed(blobs):
    P, g = blobs
    a = FairKMeans(n_clusters=3, random_state=np.random.default_rng(7)).fit(P, g)
    b = FairKMeans(n_clusters=3, random_state=np.random.default_rng(7)).fit(P, g)
    c = FairKMeans(n_clusters=3, random_state=7).fit(P, g)
    _same(a, b)
    _same(a, c)


def unique_optimum(P, C) -> bool:
    """Certificate that LP (2) on centres C has a unique optimal solution: every nonbasic column
    of an optimal simplex basis has a nonzero reduced cost (dual nondegeneracy)."""
    import highspy
    from fairopt.models import fair_assignment as lp2

    from fairopt.solvers.highs import highs_lp, new_highs

    M = lp2.to_matrices(P.points, C, P.groups, P.alpha, P.beta)
    h = new_highs(options={"solver": "simplex"})
    h.passModel(highs_lp(M))
    h.run()
    basic = np.array([st == highspy.HighsBasisStatus.kBasic for st in h.getBasis().col_status])
    reduced = np.abs(np.asarray(h.getSolution().col_dual))[~basic]
    return bool(np.all(reduced > 1e-9 * np.abs(M.c).max()))


PATHS = [("highs", "direct"), ("glpk", "direct"), ("highs", "pyomo"), ("glpk", "pyomo"), ("highs", "cvxpy")]


@pytest.mark.skipif(shutil.which("glpsol") is None, reason="GLPK not installed")
@pytest.mark.parametrize("seed,unique", [(11, True), (1, False)])
def test_same_result_across_solvers_and_paths(seed, unique):
    """Where LP (2) has a unique optimum (certified), every exact path gives the same run; where it
    has several, the optimal value still agrees (the solution, and so the run, may differ)."""
    from fairopt.candidates import candidate_set
    from fairopt.problem import make_fair_problem

    rng = np.random.default_rng(seed)
    P = rng.normal(size=(30, 2)) * [3.0, 1.0]
    g = rng.integers(0, 2, 30)
    kw = dict(n_clusters=3, delta=0.2, candidates="points", n_init=4, random_state=5)
    ref = FairKMeans(method="auto", **kw).fit(P, g)
    problem = make_fair_problem(P, g, delta=0.2)
    assert unique_optimum(problem, candidate_set(P, "points")) == unique  # the relaxed LP (2)
    if unique:
        assert unique_optimum(problem, ref.cluster_centers_)  # the final LP (2)
    for solver, method in PATHS:
        other = FairKMeans(solver=solver, method=method, **kw).fit(P, g)
        assert other.relaxed_cost_ == pytest.approx(ref.relaxed_cost_, rel=1e-6), (solver, method)
        if unique:
            assert other.fractional_cost_ == pytest.approx(ref.fractional_cost_, rel=1e-6), (solver, method)
            assert other.cost_ == pytest.approx(ref.cost_, rel=1e-6), (solver, method)
            np.testing.assert_array_equal(other.labels_, ref.labels_, err_msg=f"{solver}/{method}")
            np.testing.assert_allclose(other.cluster_centers_, ref.cluster_centers_, rtol=1e-6, atol=1e-9)

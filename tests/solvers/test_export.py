"""fairopt.export: .lp/.mps files that other solvers read back to the same optimum; safe writes."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from fairopt.models import fair_assignment as lp2

import fairopt
from fairopt.exceptions import ValidationError
from fairopt.problem import make_fair_problem

highspy = pytest.importorskip("highspy")


@pytest.fixture(scope="module")
def lp2_instance():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(14, 2))
    groups = np.column_stack([(X[:, 0] > 0).astype(int), rng.integers(0, 2, size=14)])  # overlapping
    C = X[rng.choice(14, 4, replace=False)]
    P = make_fair_problem(X, groups, weights=rng.uniform(0.5, 2, size=14), delta=0.05)
    args = (P.points, C, P.groups, P.alpha, P.beta, P.weights)
    optimum = fairopt.solve(lp2.to_matrices(*args), require_optimal=True).objective
    return args, optimum


def build(kind, args):
    return lp2.build_pyomo(*args) if kind == "pyomo" else lp2.to_matrices(*args)


def highs_optimum(path):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


def glpsol_optimum(path, tmp_path):
    glpsol = shutil.which("glpsol")
    if glpsol is None:
        pytest.skip("glpsol (glpk-utils) is not installed")
    fmt = "--lp" if str(path).lower().endswith(".lp") else "--freemps"
    report = tmp_path / "glpsol.txt"
    run = subprocess.run([glpsol, fmt, str(path), "-o", str(report)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    text = report.read_text()
    assert re.search(r"Status:\s+OPTIMAL", text), text[:500]
    match = re.search(r"Objective:\s+\S+\s+=\s+(\S+)", text)
    return float(match.group(1))


@pytest.mark.parametrize("ext", [".lp", ".mps"])
@pytest.mark.parametrize("kind", ["pyomo", "matrices"])
def test_round_trip_same_optimum(lp2_instance, tmp_path, kind, ext):
    args, optimum = lp2_instance
    path = tmp_path / f"lp2{ext}"
    assert fairopt.export(build(kind, args), path) == str(path)
    assert path.is_file()
    assert highs_optimum(path) == pytest.approx(optimum, rel=1e-6)
    assert glpsol_optimum(path, tmp_path) == pytest.approx(optimum, rel=1e-6)  # glpsol prints 10 digits
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".fairopt")] == []  # no temp file left


def test_names_survive_in_lp_file(lp2_instance, tmp_path):
    args, _ = lp2_instance
    fairopt.export(lp2.to_matrices(*args), tmp_path / "m.lp")
    text = (tmp_path / "m.lp").read_text()
    for name in ("phi(3,1)", "W(2)", "mass(0)", "fair_upper(1,2)", "fair_lower(0,0)"):
        assert name in text
    fairopt.export(lp2.build_pyomo(*args), tmp_path / "p.lp")
    text = (tmp_path / "p.lp").read_text()
    for name in ("phi(3_1)", "W(2)", "mass(0)", "fair_upper(1_2)"):
        assert name in text


def test_uppercase_extension(lp2_instance, tmp_path):
    args, optimum = lp2_instance
    for kind in ("pyomo", "matrices"):
        path = tmp_path / f"{kind}.LP"
        fairopt.export(build(kind, args), path)
        assert highs_optimum(path) == pytest.approx(optimum, rel=1e-6)


def test_refuses_to_overwrite(lp2_instance, tmp_path):
    args, optimum = lp2_instance
    path = tmp_path / "keep.lp"
    path.write_text("precious")
    for kind in ("pyomo", "matrices"):
        with pytest.raises(FileExistsError, match="overwrite=True"):
            fairopt.export(build(kind, args), path)
        assert path.read_text() == "precious"
    fairopt.export(build("matrices", args), path, overwrite=True)
    assert highs_optimum(path) == pytest.approx(optimum, rel=1e-6)


def test_bad_paths_and_models(lp2_instance, tmp_path):
    args, _ = lp2_instance
    with pytest.raises(ValidationError, match=r"must end in \.lp or \.mps"):
        fairopt.export(build("matrices", args), tmp_path / "lp2.txt")
    with pytest.raises(ValidationError, match="does not exist"):
        fairopt.export(build("matrices", args), tmp_path / "no" / "such" / "lp2.lp")
    with pytest.raises(ValidationError, match="to_matrices"):
        fairopt.export(lp2.build_cvxpy(*args), tmp_path / "cvx.lp")
    with pytest.raises(ValidationError, match="takes a Pyomo model or LPMatrices"):
        fairopt.export(object(), tmp_path / "x.lp")
    assert list(tmp_path.iterdir()) == []


def test_failed_export_leaves_no_file(lp2_instance, tmp_path, monkeypatch):
    import pyomo.environ as pyo

    args, _ = lp2_instance
    m = lp2.build_pyomo(*args)
    m.curved = pyo.Constraint(expr=pyo.exp(m.W[0]) <= 3)  # an LP file cannot hold this
    with pytest.raises(Exception):
        fairopt.export(m, tmp_path / "bad.lp")
    assert list(tmp_path.iterdir()) == []

    import fairopt.solvers.highs as backend

    def half_written(lp, path):
        with open(path, "w") as fh:
            fh.write("\\ partial\nmin\n obj: ")
        raise OSError("disk full")

    monkeypatch.setattr(backend, "write_matrices", half_written)
    with pytest.raises(OSError, match="disk full"):
        fairopt.export(build("matrices", args), tmp_path / "bad.mps")
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_old_file(lp2_instance, tmp_path, monkeypatch):
    import fairopt.solvers.highs as backend

    args, _ = lp2_instance
    path = tmp_path / "old.lp"
    path.write_text("old")
    monkeypatch.setattr(backend, "write_matrices", lambda lp, p: (_ for _ in ()).throw(OSError("no space")))
    with pytest.raises(OSError):
        fairopt.export(build("matrices", args), path, overwrite=True)
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["old.lp"]

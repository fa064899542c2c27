"""examples/extend_lp2.py: the extension point of LP (2) works end to end."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "extend_lp2.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("extend_lp2", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def run(example, tmp_path_factory):
    out = tmp_path_factory.mktemp("extend")
    assert example.main(["--out", str(out)]) == 0
    return out, json.loads((out / example.JSON_NAME).read_text())


def test_capacity_respected_and_costs_something(run):
    _, summary = run
    U, w = summary["capacity"], np.asarray(summary["weights"])
    for name, res in summary["solvers"].items():
        phi = np.asarray(res["phi"])
        assert phi.min() >= -1e-9
        np.testing.assert_allclose(phi.sum(axis=1), w, atol=1e-7)  # every point fully assigned
        assert phi.sum(axis=0).max() <= U + 1e-7, name              # capacity, from phi itself
        assert res["objective"] >= summary["unconstrained_objective"] - 1e-9
    # The example is set up so that the capacity binds.
    assert summary["unconstrained_max_W"] > U


def test_two_solvers_agree(run):
    _, summary = run
    objs = [r["objective"] for r in summary["solvers"].values()]
    if len(objs) < 2:
        pytest.skip("only one solver installed (no glpk or cbc)")
    assert objs[1] == pytest.approx(objs[0], rel=1e-6)


def test_lp_file_resolves_with_highspy(run, example):
    highspy = pytest.importorskip("highspy")
    out, summary = run
    path = out / example.LP_NAME
    assert path.is_file() and summary["lp_file"] == str(path)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(summary["solvers"]["highs"]["objective"], rel=1e-6)
    assert "capacity" in path.read_text()


def test_never_overwrites_without_flag(run, example, capsys):
    out, summary = run
    before = (out / example.LP_NAME).read_text()
    assert example.main(["--out", str(out), "--seed", "1"]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert (out / example.LP_NAME).read_text() == before
    assert example.main(["--out", str(out), "--seed", "1", "--overwrite"]) == 0
    assert json.loads((out / example.JSON_NAME).read_text())["seed"] == 1


def test_falls_back_when_glpk_missing(example, tmp_path, monkeypatch, capsys):
    import fairopt

    real = fairopt.available_solvers()
    monkeypatch.setattr(fairopt, "available_solvers", lambda: dict(real, glpk=False, cbc=False))
    assert example.main(["--out", str(tmp_path), "--n", "20", "--k", "3"]) == 0
    assert "highs only" in capsys.readouterr().out
    summary = json.loads((tmp_path / example.JSON_NAME).read_text())
    assert list(summary["solvers"]) == ["highs"]

"""The paper-reproduction examples (issue 7): each runs on a tiny setting and writes what it says.

Every example is imported and its ``main`` run into a temporary folder. The checks recompute
the numbers in its table from what it saved (labels and centres, support and weights, the
subsample indices) with plain numpy or POT, so a table that does not match its own runs fails.
"""
from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_example(mod, argv: list) -> str:
    """Run ``mod.main(argv)``, assert exit status 0, return what it printed."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = mod.main(argv)
    assert status == 0, buf.getvalue()
    return buf.getvalue()


def assert_png(path: Path) -> None:
    assert path.is_file(), path
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    image = pytest.importorskip("matplotlib.image").imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100 and image.shape[2] in (3, 4)
    assert np.ptp(image[..., :3]) > 0  # something was drawn


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def num(text: str) -> float:
    return float(text) if text != "" else math.nan


def sq_cost(X: np.ndarray, centres: np.ndarray, labels: np.ndarray) -> float:
    diff = X - centres[labels]
    return float((diff * diff).sum())


def violation_np(labels: np.ndarray, G: np.ndarray, k: int, delta: float) -> float:
    """Additive violation from scratch: per attribute (column of G), per group i and cluster c,
    max(beta_i W(c) - W_i(c), W_i(c) - alpha_i W(c), 0) with r_i the group's share,
    beta_i = r_i (1 - delta), alpha_i = r_i / (1 - delta)."""
    cols = G[:, None] if G.ndim == 1 else G
    W = np.bincount(labels, minlength=k).astype(float)
    worst = 0.0
    for t in range(cols.shape[1]):
        _, codes = np.unique(cols[:, t], return_inverse=True)
        m = codes.max() + 1
        Wi = np.zeros((k, m))
        np.add.at(Wi, (labels, codes), 1.0)
        r = np.bincount(codes, minlength=m) / labels.size
        excess = np.maximum(r * (1 - delta) * W[:, None] - Wi, Wi - r / (1 - delta) * W[:, None])
        worst = max(worst, float(excess.max()))
    return max(worst, 0.0)


def check_csv_matches_json(csv_rows: list, json_rows: list, keys: tuple, numeric: tuple) -> None:
    assert len(csv_rows) == len(json_rows)
    for c, j in zip(csv_rows, json_rows):
        assert tuple(str(c[key]) for key in keys) == tuple(str(j[key]) for key in keys)
        for field in numeric:
            a, b = num(c[field]), (math.nan if j[field] is None else j[field])
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12), field


def test_all_examples_follow_the_house_style():
    for name in ("cost_vs_k", "violation_table", "barycenter_vs_ijcai24"):
        mod = load_example(name)
        assert callable(mod.main)
        doc = mod.__doc__
        assert f"python examples/{name}.py" in doc and "--out" in doc and "--overwrite" in doc
        assert "Table" in doc or "Figure" in doc or "IJCAI" in doc


# ----------------------------------------------------------------------------- (a) cost against k
@pytest.fixture(scope="module")
def cost_run(tmp_path_factory, data_home):
    mod = load_example("cost_vs_k")
    out = tmp_path_factory.mktemp("cost_vs_k")
    printed = run_example(mod, ["--quick", "--out", str(out), "--data-home", str(data_home),
                                "--datasets", "moons,hypercube", "--max-points", "120", "--ks", "2,3",
                                "--seeds", "0,1"])
    record = json.loads((out / "cost_vs_k.json").read_text())
    return mod, out, printed, record


def test_cost_vs_k_writes_figures_and_complete_table(cost_run):
    mod, out, printed, record = cost_run
    for name in ("moons", "hypercube"):
        assert_png(out / f"cost_vs_k_{name}.png")
    rows = read_csv(out / "cost_vs_k.csv")
    expected = {(d, s, k, m) for d in ("moons", "hypercube") for s in (0, 1) for k in (2, 3) for m in mod.METHODS}
    got = [(r["dataset"], int(r["seed"]), int(r["k"]), r["method"]) for r in rows]
    assert len(got) == len(expected) == 32 and set(got) == expected
    assert all(r["status"] == "ok" for r in rows)
    check_csv_matches_json(rows, record["metrics"]["rows"], ("dataset", "seed", "k", "method"),
                           ("fractional_cost", "cost", "violation"))
    assert "moons: n=120, 2 groups of 60" in printed and "hypercube: n=120, 8 groups of 15" in printed
    moons_rm_k2 = np.mean([num(r["cost"]) for r in rows
                           if (r["dataset"], r["k"], r["method"]) == ("moons", "2", "relax-merge")])
    assert f"{moons_rm_k2:.6g}" in printed


def _cost_data(record, name, data_home):
    from fairopt import datasets

    ds = datasets.load_dataset(name, data_home=data_home)
    idx = np.asarray(record["extra"]["indices"][name])
    return ds.X[idx], ds.groups[idx]


def test_cost_vs_k_numbers_recomputed_from_saved_runs(cost_run, data_home):
    _, _, _, record = cost_run
    rows, runs = record["metrics"]["rows"], record["extra"]["runs"]
    data = {name: _cost_data(record, name, data_home) for name in ("moons", "hypercube")}
    for name, (X, G) in data.items():  # the subsample keeps the groups equal
        assert np.unique(np.bincount(np.unique(G, return_inverse=True)[1])).size == 1
    for row, run in zip(rows, runs):
        key = ("dataset", "seed", "k", "method")
        assert [row[f] for f in key] == [run[f] for f in key]
        X, G = data[row["dataset"]]
        labels, centres = np.asarray(run["labels"]), np.asarray(run["centres"])
        assert labels.shape == (X.shape[0],) and centres.shape == (row["k"], X.shape[1])
        assert row["cost"] == pytest.approx(sq_cost(X, centres, labels), rel=1e-9)
        assert row["violation"] == pytest.approx(violation_np(labels, G, row["k"], 0.0), abs=1e-9)
        if row["method"] in ("orl21", "fairlets"):
            # Strictly fair: every cluster holds the same number of points of every group.
            counts = np.zeros((row["k"], np.unique(G).size), dtype=int)
            np.add.at(counts, (labels, np.unique(G, return_inverse=True)[1]), 1)
            assert (counts == counts[:, :1]).all() and row["violation"] == 0.0
            assert row["fractional_cost"] is None
        else:
            # The circulation rounding: violation <= 2, and never above the fractional cost.
            assert row["violation"] <= 2 + 1e-9
            assert row["cost"] <= row["fractional_cost"] * (1 + 1e-9)


def test_cost_vs_k_one_cell_rerun_gives_the_same_cost(cost_run, data_home):
    from fairopt import FairKMeans
    from fairopt.baselines import orl21

    _, _, _, record = cost_run
    X, G = _cost_data(record, "moons", data_home)
    row = {(r["method"]): r for r in record["metrics"]["rows"]
           if (r["dataset"], r["seed"], r["k"]) == ("moons", 1, 3)}
    n_init = record["parameters"]["n_init"]
    fk = FairKMeans(n_clusters=3, delta=0.0, n_init=n_init, random_state=1).fit(X, G)
    assert fk.cost_ == pytest.approx(row["relax-merge"]["cost"], rel=1e-9)
    assert fk.fractional_cost_ == pytest.approx(row["relax-merge"]["fractional_cost"], rel=1e-9)
    assert orl21(X, G, 3, n_init=n_init, random_state=1).cost == pytest.approx(row["orl21"]["cost"], rel=1e-9)


def test_cost_vs_k_refuses_to_overwrite(cost_run, data_home, capsys):
    mod, out, _, _ = cost_run
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert mod.main(["--quick", "--out", str(out), "--data-home", str(data_home),
                     "--datasets", "moons,hypercube"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--overwrite" in err and "\n" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_cost_vs_k_skips_strict_methods_when_delta_positive(tmp_path, data_home):
    mod = load_example("cost_vs_k")
    printed = run_example(mod, ["--quick", "--out", str(tmp_path), "--data-home", str(data_home),
                                "--ks", "2", "--delta", "0.2"])
    assert "orl21" in printed and "skipped" in printed
    rows = read_csv(tmp_path / "cost_vs_k.csv")
    assert sorted(r["method"] for r in rows) == ["nips19", "relax-merge"]
    assert all(num(r["violation"]) <= 2 + 1e-9 for r in rows)


def test_examples_reject_bad_options_in_one_line(tmp_path, data_home, capsys):
    cases = [("cost_vs_k", ["--datasets", "nope"]), ("cost_vs_k", ["--ks", "two"]),
             ("violation_table", ["--groups", "both"]), ("violation_table", ["--delta", "1.5"]),
             ("barycenter_vs_ijcai24", ["--m", "0"])]
    for name, bad in cases:
        mod = load_example(name)
        assert mod.main(["--quick", "--out", str(tmp_path / name), "--data-home", str(data_home), *bad]
                        if name != "barycenter_vs_ijcai24" else ["--quick", "--out", str(tmp_path / name), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"{name}: error:") and "\n" not in err, err
        assert not (tmp_path / name).exists() or not any((tmp_path / name).iterdir())  # nothing written


# ----------------------------------------------------------------------------- (b) violation table
@pytest.fixture(scope="module")
def violation_run(tmp_path_factory, data_home):
    mod = load_example("violation_table")
    out = tmp_path_factory.mktemp("violation_table")
    printed = run_example(mod, ["--quick", "--out", str(out), "--data-home", str(data_home),
                                "--datasets", "bank", "--max-points", "150", "--ks", "2,3"])
    record = json.loads((out / "violation_table.json").read_text())
    return mod, out, printed, record


def test_violation_table_writes_figures_and_complete_table(violation_run):
    mod, out, printed, record = violation_run
    assert_png(out / "violation_vs_k.png")
    assert_png(out / "violation_composition.png")
    rows = read_csv(out / "violation_table.csv")
    expected = {("bank", g, k, m) for g in ("disjoint", "overlapping") for k in (2, 3) for m in mod.METHODS}
    got = [(r["dataset"], r["groups"], int(r["k"]), r["method"]) for r in rows]
    assert len(got) == len(expected) == 8 and set(got) == expected
    assert {r["attributes"] for r in rows} == {"marital", "marital+default"}
    check_csv_matches_json(rows, record["metrics"]["rows"], ("dataset", "groups", "k", "method"),
                           ("violation", "cost", "fractional_cost"))
    for r in rows:  # the printed table shows every violation
        assert f"{num(r['violation']):.3f}" in printed


def test_violation_table_recomputed_from_saved_labels(violation_run, data_home):
    from fairopt import datasets

    _, _, _, record = violation_run
    ds = datasets.load_dataset("bank", data_home=data_home, max_points=150, random_state=0)
    np.testing.assert_array_equal(ds.indices, record["inputs"]["datasets"]["bank"]["indices"])
    G = {"disjoint": ds.groups[:, 0], "overlapping": ds.groups}
    delta = record["parameters"]["delta"]
    for row, run in zip(record["metrics"]["rows"], record["extra"]["runs"]):
        labels, centres = np.asarray(run["labels"]), np.asarray(run["centres"])
        assert row["violation"] == pytest.approx(violation_np(labels, G[row["groups"]], row["k"], delta), abs=1e-9)
        assert row["cost"] == pytest.approx(sq_cost(ds.X, centres, labels), rel=1e-9)
        if row["groups"] == "disjoint":
            assert row["violation"] <= 2 + 1e-9  # circulation rounding bound
            assert row["cost"] <= row["fractional_cost"] * (1 + 1e-9)


# ----------------------------------------------------------------------------- (c) barycenter vs IJCAI24
@pytest.fixture(scope="module")
def barycenter_run(tmp_path_factory):
    mod = load_example("barycenter_vs_ijcai24")
    out = tmp_path_factory.mktemp("barycenter")
    printed = run_example(mod, ["--quick", "--out", str(out), "--dims", "2,3", "--ks", "2,4"])
    record = json.loads((out / "barycenter_vs_ijcai24.json").read_text())
    return mod, out, printed, record


def test_barycenter_writes_figures_and_complete_table(barycenter_run):
    mod, out, printed, record = barycenter_run
    for d in (2, 3):
        assert_png(out / f"barycenter_vs_ijcai24_d{d}.png")
    rows = read_csv(out / "barycenter_vs_ijcai24.csv")
    expected = {(d, 0, k, m) for d in (2, 3) for k in (2, 4) for m in mod.METHODS}
    got = [(int(r["dim"]), int(r["seed"]), int(r["k"]), r["method"]) for r in rows]
    assert len(got) == len(expected) == 8 and set(got) == expected
    check_csv_matches_json(rows, record["metrics"]["rows"], ("dim", "seed", "k", "method"), ("cost", "relaxed_cost"))
    assert "2-D" in printed and "3-D" in printed


def test_barycenter_costs_equal_sum_of_emd2(barycenter_run):
    ot = pytest.importorskip("ot")
    from fairopt.datasets import make_measures

    _, _, _, record = barycenter_run
    inp = record["inputs"]
    for row, run in zip(record["metrics"]["rows"], record["extra"]["runs"]):
        measures = make_measures(inp["m"], inp["n_support"], d=row["dim"], n_components=inp["n_components"],
                                 random_state=row["seed"])
        S, nu = np.asarray(run["support_points"]), np.asarray(run["weights"])
        assert S.shape == (row["k"], row["dim"]) and nu.min() >= 0 and nu.sum() == pytest.approx(1.0, abs=1e-9)
        # At the optimum of LP (16) every plan is an optimal coupling of mu_i and nu.
        total = sum(ot.emd2(w, nu, ot.dist(X, S)) for X, w in measures)
        assert row["cost"] == pytest.approx(total, rel=1e-6)

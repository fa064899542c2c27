"""The command line never shows a traceback for bad input: one line on stderr, exit status 2;
an interrupted run exits with 130 and leaves no output file, whole or partial (issue 8).
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import os

import numpy as np
import pytest

from fairopt.cli.main import build_parser, main

solve_mod = importlib.import_module("fairopt.solvers.core")
rng0 = np.random.default_rng(0)


def run_cli(argv, capsys):
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, out, err, command, fragment):
    lines = err.strip().splitlines()
    assert rc == 2, (rc, err)
    assert len(lines) == 1, err
    assert lines[0].startswith(f"fairopt {command}: error: "), lines[0]
    assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in err and "wrote" not in out


def write_csv(path, rows, header=("x", "y", "g")):
    with open(path, "w") as fh:
        fh.write(",".join(header) + "\n")
        for r in rows:
            fh.write(",".join(str(v) for v in r) + "\n")
    return path


@pytest.fixture
def data(tmp_path):
    """CSV files for every bad-input class, in their own folder (outputs go to tmp_path/out)."""
    d = tmp_path / "in"
    d.mkdir()
    (tmp_path / "out").mkdir()
    pts = rng0.normal(size=(20, 2)).round(6)
    grp = ["a", "b"] * 10
    files = {"good": write_csv(d / "good.csv", [(x, y, g) for (x, y), g in zip(pts, grp)])}
    rows = [(x, y, g) for (x, y), g in zip(pts, grp)]
    files["nan"] = write_csv(d / "nan.csv", [(("nan" if i == 3 else x), y, g) for i, (x, y, g) in enumerate(rows)])
    files["inf"] = write_csv(d / "inf.csv", [(x, ("-inf" if i == 4 else y), g) for i, (x, y, g) in enumerate(rows)])
    files["one"] = write_csv(d / "one.csv", [(x, y, "a") for x, y, _ in rows])
    files["dup"] = write_csv(d / "dup.csv", [(1.5, -2, g) for _, _, g in rows])
    files["uneq"] = write_csv(d / "uneq.csv", [(x, y, "a" if i < 12 else "b") for i, (x, y, _) in enumerate(rows)])
    files["text"] = write_csv(d / "text.csv", [("one", 2, "a"), (3, 4, "b")])
    files["empty"] = write_csv(d / "empty.csv", [])
    files["blank"] = write_csv(d / "blank.csv", [(x, y, "" if i == 6 else g) for i, (x, y, g) in enumerate(rows)])
    (d / "ragged.csv").write_text("x,y,g\n1,2,a\n3\n")
    files["ragged"] = d / "ragged.csv"
    return files, tmp_path / "out"


def csv_args(path, k=2):
    return ["--csv", path, "--features", "x,y", "--groups", "g", "--k", k]


# ---------------------------------------------------------------- fair-kmeans

FAIR_KMEANS = [
    ("nan", [], "nan.csv', row 5, column 'x': 'nan' is not a finite number"),
    ("inf", [], "'-inf' is not a finite number"),
    ("one", [], "single label ('a')"),
    ("dup", [], "all 20 points are identical"),
    ("text", [], "'one' is not a number"),
    ("empty", [], "has no data rows"),
    ("ragged", [], "row 3: 1 field(s) where the header has 3"),
    ("blank", [], "a group column is empty in 1 data row(s) (first: row 8)"),
    ("good", ["--k", "0"], "n_clusters must be >= 1"),
    ("good", ["--k", "21"], "n_clusters=21 is larger than the number of points n=20"),
    ("good", ["--delta", "1.0"], "delta must be a number in [0, 1)"),
    ("good", ["--solver", "cplex"], "unknown solver 'cplex'"),
    ("good", ["--method", "colgen", "--solver", "glpk"], "colgen' runs on HiGHS only"),
    ("good", ["--time-limit", "-1"], "time_limit must be a positive number"),
    ("good", ["--candidate-ratio", "0"], "candidate_ratio must be in (0, 1]"),
    ("good", ["--n-init", "0"], "n_init must be a positive integer"),
    ("good", ["--max-points", "0"], "--max-points must be a positive number"),
    ("good", ["--export-lp", "lp2.txt"], "export path must end in .lp or .mps"),
]


@pytest.mark.parametrize("name,extra,fragment", FAIR_KMEANS, ids=[f"{c[0]}{' '.join(c[1])}" for c in FAIR_KMEANS])
def test_fair_kmeans_bad_input(data, capsys, name, extra, fragment):
    files, out = data
    argv = ["fair-kmeans", *csv_args(files[name]), "--no-baseline", "--json", out / "r.json", *extra]
    assert_one_line_error(*run_cli(argv, capsys), "fair-kmeans", fragment)
    assert os.listdir(out) == []


def test_fair_kmeans_source_errors(data, capsys, tmp_path):
    files, _ = data
    assert_one_line_error(*run_cli(["fair-kmeans", "--k", "2"], capsys), "fair-kmeans", "give exactly one of --dataset")
    assert_one_line_error(*run_cli(["fair-kmeans", "--dataset", "nope"], capsys), "fair-kmeans", "unknown dataset 'nope'")
    assert_one_line_error(*run_cli(["fair-kmeans", *csv_args(tmp_path / "missing.csv")], capsys), "fair-kmeans",
                          "cannot read --csv")
    assert_one_line_error(*run_cli(["fair-kmeans", "--csv", files["good"], "--features", "x,z", "--groups", "g"], capsys),
                          "fair-kmeans", "column 'z' is not in")
    assert_one_line_error(*run_cli(["fair-kmeans", "--csv", files["good"], "--features", "x,y"], capsys), "fair-kmeans",
                          "--csv needs --groups")


def test_argparse_errors_are_one_line(capsys):
    for argv, fragment in [(["fair-kmeans", "--k", "two"], "argument --k: invalid int value: 'two'"),
                           (["strictly-fair", "--anchor", "worst"], "argument --anchor: invalid choice"),
                           (["barycenter", "--time-limit", "soon"], "invalid float value"),
                           (["no-such-command"], "invalid choice: 'no-such-command'")]:
        rc, out, err = run_cli(argv, capsys)
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1 and fragment in lines[0] and "--help" in lines[0], err


def test_existing_output_is_not_replaced(data, capsys):
    files, out = data
    (out / "r.json").write_text("{}")
    rc, stdout, err = run_cli(["fair-kmeans", *csv_args(files["good"]), "--no-baseline", "--json", out / "r.json"], capsys)
    assert_one_line_error(rc, "", err, "fair-kmeans", "exists; pass --overwrite")
    assert (out / "r.json").read_text() == "{}" and os.listdir(out) == ["r.json"]


def test_resource_limit_is_one_line(data, capsys, monkeypatch):
    files, out = data
    monkeypatch.setenv("FAIROPT_MEMORY_LIMIT", "100K")
    argv = ["fair-kmeans", *csv_args(files["good"]), "--no-baseline", "--method", "direct", "--json", out / "r.json"]
    assert_one_line_error(*run_cli(argv, capsys), "fair-kmeans", "LP (2) with")
    assert os.listdir(out) == []
    # The LP file of --export-lp is checked before the run (the run itself takes the colgen path).
    monkeypatch.setenv("FAIROPT_MEMORY_LIMIT", "10K")
    argv = ["fair-kmeans", *csv_args(files["good"]), "--no-baseline", "--export-lp", out / "lp2.lp"]
    assert_one_line_error(*run_cli(argv, capsys), "fair-kmeans", "LP (2) for --export-lp with")
    assert os.listdir(out) == []


# ---------------------------------------------------------------- strictly-fair

STRICT = [
    ("uneq", 2, "groups of equal size"),
    ("good", 11, "exceeds the number of fairlets p=10"),
    ("good", 0, "n_clusters must be >= 1"),
    ("nan", 2, "'nan' is not a finite number"),
    ("dup", 2, "all 20 points are identical"),
    ("one", 2, "single label"),
]


@pytest.mark.parametrize("name,k,fragment", STRICT, ids=[f"{c[0]}-k{c[1]}" for c in STRICT])
def test_strictly_fair_bad_input(data, capsys, name, k, fragment):
    files, out = data
    argv = ["strictly-fair", *csv_args(files[name], k), "--json", out / "r.json"]
    assert_one_line_error(*run_cli(argv, capsys), "strictly-fair", fragment)
    assert os.listdir(out) == []


def test_strictly_fair_resource_limit(data, capsys, monkeypatch):
    files, _ = data
    monkeypatch.setenv("FAIROPT_MEMORY_LIMIT", "1K")
    assert_one_line_error(*run_cli(["strictly-fair", *csv_args(files["good"])], capsys), "strictly-fair",
                          "min-cost matchings between groups of p=10 points")


# ---------------------------------------------------------------- barycenter

def test_barycenter_bad_input(tmp_path, capsys, monkeypatch):
    P = rng0.normal(size=(6, 2))
    files = {}
    for name, arrays in {"off": {"points_0": P, "weights_0": np.full(6, 0.15)},
                         "nan": {"points_0": np.where(P > 1, np.nan, P)},
                         "keys": {"x": P},
                         "dim": {"points_0": P, "points_1": rng0.normal(size=(4, 3))}}.items():
        files[name] = tmp_path / f"{name}.npz"
        np.savez(files[name], **arrays)
    cases = [
        (["--measures", files["off"]], "weights sum to 0.9, not 1"),
        (["--measures", files["nan"]], "NaN values"),
        (["--measures", files["keys"]], "must hold arrays points_0"),
        (["--measures", files["dim"]], "dimension 3"),
        (["--measures", tmp_path / "none.npz"], "cannot read --measures"),
        (["--m", "0"], "--m must be a positive integer"),
        (["--support", "0"], "--support must be a positive integer"),
        (["--k", "0"], "n_support must be >= 1"),
        (["--k", "1000"], "n_support=1000 is larger than the number of points"),
        (["--method", "simplex"], "method must be one of"),
        (["--time-limit", "0"], "time_limit must be a positive number"),
        (["--solver", "cplex"], "unknown solver 'cplex'"),
    ]
    for extra, fragment in cases:
        argv = ["barycenter", "--m", "2", "--support", "8", "--k", "2", *extra, "--json", tmp_path / "r.json"]
        assert_one_line_error(*run_cli(argv, capsys), "barycenter", fragment)
    monkeypatch.setenv("FAIROPT_MEMORY_LIMIT", "100K")
    assert_one_line_error(*run_cli(["barycenter", "--k", "2", "--method", "direct"], capsys), "barycenter",
                          "LP (16) with")
    assert not (tmp_path / "r.json").exists()


# ---------------------------------------------------------------- experiment, demo, balanced

def test_experiment_and_demo_bad_input(tmp_path, capsys):
    assert_one_line_error(*run_cli(["experiment", tmp_path / "none.toml"], capsys), "experiment", "No such file")
    bad = tmp_path / "bad.toml"
    bad.write_text('datasets = ["moons"]\nmethods = ["relax-merge"]\nk = [2]\ndelta = [0.1]\nseeds = [0]\nbogus = 1\n')
    assert_one_line_error(*run_cli(["experiment", bad], capsys), "experiment", "unknown grid key(s) ['bogus']")
    bad.write_text("datasets = [\n")
    assert_one_line_error(*run_cli(["experiment", bad], capsys), "experiment", "is not valid TOML")
    bad.write_text('datasets = ["moons"]\nmethods = ["relax-merge"]\nk = [0]\ndelta = [0.1]\nseeds = [0]\n')
    assert_one_line_error(*run_cli(["experiment", bad], capsys), "experiment", "k must be a list of integers >= 1")
    assert_one_line_error(*run_cli(["demo", "--solver", "cplex"], capsys), "demo", "unknown solver 'cplex'")


def _has_command(name):
    return name in build_parser()._subparsers._group_actions[0].choices


@pytest.mark.skipif(not _has_command("balanced"), reason="the balanced subcommand is not registered yet")
def test_balanced_bad_input(data, capsys):
    files, _ = data
    for name, k, extra, fragment in [
        ("nan", 2, [], "'nan' is not a finite number"), ("inf", 2, [], "is not a finite number"), ("good", 0, [], ">= 1"),
        ("good", 21, [], "larger than the number"), ("dup", 2, [], "all 20 points are identical"),
        ("ragged", 2, [], "row 3: 1 field(s)"),
        ("good", 2, ["--sizes", "10,5"], "sizes must sum to the number of points n=20; they sum to 15"),
        ("good", 2, ["--sizes", "20,0"], ">= 1"), ("good", 2, ["--sizes", "ten,10"], "--sizes must be comma-separated"),
        ("good", 2, ["--n-init", "0"], "n_init must be a positive integer"),
    ]:
        argv = ["balanced", "--csv", files[name], "--features", "x,y", "--k", k, *extra]
        assert_one_line_error(*run_cli(argv, capsys), "balanced", fragment)


# ---------------------------------------------------------------- interrupts

def _no_partial_files(folder):
    return [f for f in os.listdir(folder) if f.startswith(".fairopt") or f.endswith(".tmp")]


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("command,target", [
    ("fair-kmeans", ("fairopt.fair.fair_kmeans", "FairKMeans", "fit")),
    ("strictly-fair", ("fairopt.fair.fairlets", "StrictlyFairKMeans", "fit")),
    ("barycenter", ("fairopt.barycenter.sparse", "SparseBarycenter", "fit")),
])
def test_interrupted_run_exits_130_and_writes_nothing(data, capsys, monkeypatch, command, target):
    files, out = data
    mod, cls, meth = target
    monkeypatch.setattr(getattr(importlib.import_module(mod), cls), meth, _interrupt)
    args = ["--k", "2"] if command == "barycenter" else csv_args(files["good"])
    rc, stdout, err = run_cli([command, *args, "--json", out / "r.json", "--plot", out / "r.png"], capsys)
    assert rc == 130
    assert err.strip().splitlines() == [f"fairopt {command}: interrupted; no partial output was written"]
    assert os.listdir(out) == []


def test_interrupt_during_the_json_write_leaves_no_file(data, capsys, monkeypatch):
    files, out = data

    def half_then_interrupt(obj, fh, **kwargs):
        fh.write('{"kind": "fair-kmeans", "inputs": {')
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", half_then_interrupt)
    argv = ["fair-kmeans", *csv_args(files["good"]), "--no-baseline", "--export-lp", out / "lp2.lp",
            "--json", out / "r.json"]
    rc, stdout, err = run_cli(argv, capsys)
    assert rc == 130 and "interrupted" in err
    # The LP file was finished before the interrupt (whole); the JSON never appears, nor a temporary file.
    assert sorted(os.listdir(out)) == ["lp2.lp"] and _no_partial_files(out) == []
    assert (out / "lp2.lp").read_text().rstrip().endswith("end")


def test_interrupt_during_the_plot_write_leaves_no_file(data, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    files, out = data

    def half_then_interrupt(self, fh, **kwargs):
        fh.write(b"\x89PNG partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", half_then_interrupt)
    rc, stdout, err = run_cli(["strictly-fair", *csv_args(files["good"]), "--no-baseline", "--json", out / "r.json",
                               "--plot", out / "r.png"], capsys)
    assert rc == 130
    assert sorted(os.listdir(out)) == ["r.json"] and _no_partial_files(out) == []  # JSON first, whole


# ---------------------------------------------------------------- solver status on the command line

def test_best_effort_on_the_command_line(data, capsys, patch_solve):
    files, out = data
    real = solve_mod.solve

    def stopped(model, **kw):
        kw.pop("require_optimal", None)
        return dataclasses.replace(real(model, **kw), status="time_limit", raw_status="Time limit reached")

    patch_solve(stopped)
    argv = ["fair-kmeans", *csv_args(files["good"]), "--no-baseline", "--method", "direct", "--json", out / "r.json"]
    assert_one_line_error(*run_cli(argv, capsys), "fair-kmeans", "status 'time_limit'")
    assert os.listdir(out) == []
    rc, stdout, err = run_cli([*argv, "--best-effort"], capsys)
    assert rc == 0
    assert "WARNING: best-effort result, LP status 'time_limit'" in stdout
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fairopt fair-kmeans: warning: FairKMeans: best-effort result")
    assert json.loads((out / "r.json").read_text())["metrics"]["relax_merge"]["status"] == "time_limit"


@pytest.mark.skipif(not _has_command("balanced"), reason="the balanced subcommand is not registered yet")
def test_interrupted_balanced_run_writes_nothing(data, capsys, monkeypatch):
    from fairopt.balanced.ballot import BalancedKMeans

    files, out = data
    monkeypatch.setattr(BalancedKMeans, "fit", _interrupt)
    rc, stdout, err = run_cli(["balanced", "--csv", files["good"], "--features", "x,y", "--k", 2,
                               "--json", out / "r.json", "--plot", out / "r.png"], capsys)
    assert rc == 130 and "interrupted" in err and os.listdir(out) == []

"""The ``fairopt`` command: help of every subcommand, fair-kmeans outputs, one-line errors.

Runs in-process through :func:`fairopt.cli.main.main`, plus one real ``python -m fairopt --help``.
Subcommands are read from :func:`fairopt.cli.main.build_parser`, so new ones are covered as they
are registered.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fairopt.cli.main import build_parser, main

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Options each subcommand's help must show (when the subcommand is registered).
KEY_OPTIONS = {
    "demo": ["--solver"],
    "fair-kmeans": ["--dataset", "--csv", "--k", "--delta", "--solver", "--method", "--json", "--plot", "--overwrite",
                    "--objective"],
    "strictly-fair": ["--dataset", "--k", "--anchor", "--json", "--plot"],
    "barycenter": ["--measures", "--m", "--k", "--method", "--json"],
    "experiment": ["GRID.toml", "--scheduler", "--workers", "--output"],
}


def subcommands() -> dict:
    """name -> the subcommand's ArgumentParser, as build_parser() registers them."""
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


SUBCOMMANDS = sorted(subcommands())


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    # main() sets FAIROPT_QUIET for --quiet; monkeypatch restores the environment afterwards.
    monkeypatch.setenv("FAIROPT_QUIET", "1")


def test_the_documented_subcommands_are_registered():
    assert {"demo", "fair-kmeans", "strictly-fair", "barycenter", "experiment", "solvers"} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_of_every_subcommand(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: fairopt {name}")
    # Every option the subparser declares is shown (a broken help string, e.g. a bare %, fails here).
    sub = subcommands()[name]
    for action in sub._actions:
        for opt in action.option_strings:
            assert opt in out, (name, opt)
    for opt in KEY_OPTIONS.get(name, []):
        assert opt in out, (name, opt)


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out


def test_python_dash_m_fairopt_help():
    proc = subprocess.run([sys.executable, "-m", "fairopt", "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: fairopt")
    for name in SUBCOMMANDS:
        assert name in proc.stdout


def test_solvers_lists_highs(capsys):
    assert main(["solvers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    highs = [line for line in lines if line.split()[0] == "highs"]
    assert len(highs) == 1 and "installed" in highs[0]


# ----------------------------------------------------------------------------- fair-kmeans end to end
def _fair_kmeans(data_home, *extra):
    return ["fair-kmeans", "--dataset", "moons", "--data-home", str(data_home), "--k", "3", "--quiet", *extra]


@pytest.fixture(scope="module")
def fair_kmeans_run(tmp_path_factory, data_home):
    out = tmp_path_factory.mktemp("cli")
    json_path, png_path = out / "fk.json", out / "fk.png"
    mp = pytest.MonkeyPatch()
    mp.setenv("FAIROPT_QUIET", "1")
    try:
        assert main(_fair_kmeans(data_home, "--json", str(json_path), "--plot", str(png_path))) == 0
    finally:
        mp.undo()
    return json_path, png_path


def test_fair_kmeans_json_cost_matches_its_labels_and_centres(fair_kmeans_run, data_home):
    from fairopt import datasets

    json_path, _ = fair_kmeans_run
    record = json.loads(json_path.read_text())
    X, G = datasets.load("moons", data_home=data_home)
    labels, centres = np.asarray(record["extra"]["labels"]), np.asarray(record["extra"]["centres"])
    assert labels.shape == (X.shape[0],) and centres.shape == (3, X.shape[1])
    rm = record["metrics"]["relax_merge"]
    assert rm["cost"] == pytest.approx(float(((X - centres[labels]) ** 2).sum()), rel=1e-9)
    # Circulation rounding of disjoint groups: no costlier than LP (2), violation at most 2.
    assert rm["cost"] <= rm["fractional_cost"] * (1 + 1e-9)
    delta = record["parameters"]["delta"]
    W = np.bincount(labels, minlength=3)[:, None].astype(float)
    Wi = np.zeros((3, 2))
    np.add.at(Wi, (labels, G), 1.0)
    r = np.bincount(G) / G.size
    excess = np.maximum(r * (1 - delta) * W - Wi, Wi - r / (1 - delta) * W).max()
    assert rm["violation"] == pytest.approx(max(excess, 0.0), abs=1e-9) and rm["violation"] <= 2
    assert record["inputs"]["dataset"] == "moons" and record["inputs"]["n"] == X.shape[0]
    assert record["seeds"]["random_state"] == 0 and "nips19" in record["metrics"]


def test_fair_kmeans_writes_a_png(fair_kmeans_run):
    _, png_path = fair_kmeans_run
    assert png_path.read_bytes()[:8] == PNG_SIGNATURE
    image = pytest.importorskip("matplotlib.image").imread(png_path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100
    # Two panels side by side (fairopt.plot.plot_fairness): clusters and composition against the bounds.
    assert image.shape[1] > 2 * image.shape[0]


def test_fair_kmeans_refuses_to_overwrite_json(tmp_path, data_home, capsys):
    json_path = tmp_path / "fk.json"
    json_path.write_text('{"keep": true}\n')
    assert main(_fair_kmeans(data_home, "--json", str(json_path), "--no-baseline")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fairopt fair-kmeans: error:") and "\n" not in err
    assert "--overwrite" in err and str(json_path) in err
    assert json_path.read_text() == '{"keep": true}\n'
    assert main(_fair_kmeans(data_home, "--json", str(json_path), "--no-baseline", "--overwrite",
                             "--random-state", "1")) == 0
    assert json.loads(json_path.read_text())["seeds"]["random_state"] == 1


def test_fair_kmeans_existing_plot_leaves_no_partial_output(tmp_path, data_home, capsys):
    png_path, json_path = tmp_path / "fk.png", tmp_path / "fk.json"
    png_path.write_bytes(b"keep")
    assert main(_fair_kmeans(data_home, "--json", str(json_path), "--plot", str(png_path), "--no-baseline")) == 2
    assert png_path.read_bytes() == b"keep"
    assert not json_path.exists()


@pytest.mark.parametrize("change, shown", [
    (["--k", "1000"], "1000"),                  # k larger than the number of points
    (["--dataset", "no-such-set"], "no-such-set"),
    (["--data-home", "MISSING"], "moons.csv"),  # folder without the data file
    (["--delta", "1.5"], "1.5"),
    (["--delta", "-0.1"], "-0.1"),
    (["--solver", "no-such-solver"], "no-such-solver"),
], ids=["k-too-large", "unknown-dataset", "missing-file", "delta-above", "delta-below", "unknown-solver"])
def test_fair_kmeans_bad_input_is_one_line_and_status_2(change, shown, tmp_path, data_home, capsys):
    args = _fair_kmeans(data_home, "--json", str(tmp_path / "out.json"))
    flag = change[0]
    value = str(tmp_path / "empty") if change[1] == "MISSING" else change[1]
    if flag == "--data-home":
        (tmp_path / "empty").mkdir()
    i = args.index(flag) if flag in args else None
    if i is not None:
        args[i + 1] = value
    else:
        args += [flag, value]
    assert main(args) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("fairopt fair-kmeans: error:") and "\n" not in err, err
    assert shown in err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out.json").exists()


def test_exactly_one_data_source_is_required(capsys):
    assert main(["fair-kmeans", "--k", "3", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--dataset" in err and "--csv" in err and "\n" not in err


@pytest.mark.parametrize("objective", ["kmedian", "kcenter"])
def test_fair_kmeans_objective_option(objective, tmp_path, data_home, capsys):
    from fairopt import datasets

    json_path = tmp_path / f"{objective}.json"
    argv = _fair_kmeans(data_home, "--objective", objective, "--max-points", "120", "--candidates", "kdtree",
                        "--n-candidates", "30", "--json", str(json_path))
    assert main(argv) == 0
    assert f"fair k-{objective[1:]}" in capsys.readouterr().out
    record = json.loads(json_path.read_text())
    X, _ = datasets.load("moons", data_home=data_home, max_points=120)
    labels, centres = np.asarray(record["extra"]["labels"]), np.asarray(record["extra"]["centres"])
    dist = np.linalg.norm(X - centres[labels], axis=1)
    rm = record["metrics"]["relax_merge"]
    # k-median: the sum of distances; k-center: the largest, within the threshold LP's tau.
    assert rm["cost"] == pytest.approx(dist.sum() if objective == "kmedian" else dist.max(), rel=1e-9)
    assert rm["cost"] <= rm["fractional_cost"] * (1 + 1e-9) and rm["violation"] < 2
    assert record["parameters"]["objective"] == objective and "nips19" in record["metrics"]


def test_fair_kmeans_unknown_objective_is_a_usage_error(data_home, capsys):
    with pytest.raises(SystemExit) as exc:
        main(_fair_kmeans(data_home, "--objective", "kmedoids"))
    assert exc.value.code == 2 and "--objective" in capsys.readouterr().err

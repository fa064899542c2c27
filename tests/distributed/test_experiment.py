"""Experiment grids on a Dask LocalCluster: one row per cell, resume after an interruption, errors as rows."""
import json
import logging
import os

import numpy as np
import pytest

pytest.importorskip("dask.distributed")

from fairopt.distributed.experiment import (  # noqa: E402
    COLUMNS,
    cost_curves,
    load_config,
    read_table,
    run_grid,
)
from fairopt.baselines import nips19  # noqa: E402
from fairopt.exceptions import ValidationError  # noqa: E402
from fairopt.kmeans import weighted_kmeans  # noqa: E402

DELTA = 0.2
DETERMINISTIC = ("status", "cost", "fractional_cost", "violation", "n", "d", "n_groups", "message")


def _blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [4.0, 7.0]])
    X = np.repeat(centres, 14, axis=0) + rng.normal(size=(42, 2))
    groups = np.tile([0, 0, 1], 14)  # every blob 2:1, so unconstrained k-means is unfair for small delta
    return X, groups


TINY = (np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), np.array([0, 1, 0]))


def _config(output):
    X, G = _blobs()
    return {"datasets": [{"name": "blobs", "X": X, "groups": G}, {"name": "tiny", "X": TINY[0], "groups": TINY[1]}],
            "methods": ["kmeans", "relax-merge"], "k": [2, 4], "delta": [DELTA], "seeds": [0, 1],
            "solver": "highs", "output": str(output)}


N_CELLS = 2 * 2 * 2 * 1 * 2
N_ERRORS = 2 * 2  # tiny (3 points) with k = 4, both methods, both seeds


@pytest.fixture(scope="module")
def scheduler():
    """One cluster of 2 worker processes for the whole module."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}, silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def full_run(scheduler, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "grid.csv"
    res = run_grid(_config(out), scheduler=scheduler, progress=False)
    return res, read_table(out)


def _by_key(rows):
    return {(r["dataset"], r["method"], r["k"], r["delta"], r["seed"]): r for r in rows}


def test_full_grid_one_row_per_cell(full_run):
    res, rows = full_run
    assert (res.n_cells, res.n_skipped, res.n_run, res.n_errors) == (N_CELLS, 0, N_CELLS, N_ERRORS)
    table = _by_key(rows)
    assert len(rows) == len(table) == N_CELLS
    expected = {(d, m, k, DELTA, s) for d in ("blobs", "tiny") for m in ("kmeans", "relax-merge")
                for k in (2, 4) for s in (0, 1)}
    assert set(table) == expected
    with open(res.csv_path) as fh:
        assert fh.readline().strip() == ",".join(COLUMNS)
    # JSON lines: one full record per cell, with the worker's versions
    import json

    with open(res.jsonl_path) as fh:
        records = [json.loads(line) for line in fh]
    assert len(records) == N_CELLS and all(r["versions"]["numpy"] == np.__version__ for r in records)


def test_cell_values_match_recomputation(full_run):
    _, rows = full_run
    row = _by_key(rows)[("blobs", "kmeans", 2, DELTA, 0)]
    X, G = _blobs()
    km = weighted_kmeans(X, None, 2, random_state=0)
    assert row["status"] == "ok" and row["cost"] == pytest.approx(km.cost, rel=1e-12)
    # additive violation by hand: W_i(c) against [r_i (1 - delta) W(c), r_i / (1 - delta) W(c)]
    W = np.bincount(km.labels, minlength=2)[:, None]
    Wi = np.zeros((2, 2))
    np.add.at(Wi, (km.labels, G), 1)
    r = np.bincount(G) / G.size
    viol = np.maximum(np.maximum(r * (1 - DELTA) * W - Wi, Wi - r / (1 - DELTA) * W), 0).max()
    assert row["violation"] == pytest.approx(viol, abs=1e-9)
    assert (row["n"], row["d"], row["n_groups"]) == (42, 2, 2)
    for key, rm in _by_key(rows).items():
        if key[1] == "relax-merge" and rm["status"] == "ok":
            # rounding never costs more than LP (2) at the same centres; violation <= 2 (disjoint groups)
            assert rm["cost"] <= rm["fractional_cost"] * (1 + 1e-9)
            assert rm["violation"] <= 2 + 1e-9


def test_error_cells_are_rows(full_run):
    _, rows = full_run
    errors = [r for r in rows if r["status"] == "error"]
    assert {(r["dataset"], r["k"]) for r in errors} == {("tiny", 4)} and len(errors) == N_ERRORS
    assert all("ValidationError" in r["message"] and r["cost"] is None for r in errors)
    assert all(r["status"] == "ok" for r in rows if r["dataset"] == "blobs")


def test_interrupted_grid_resumes(scheduler, full_run, tmp_path):
    out = tmp_path / "grid.csv"
    first = run_grid(_config(out), scheduler=scheduler, progress=False, max_cells=5)
    assert first.n_run == 5 and len(read_table(out)) == 5
    # a kill in the middle of an append leaves half a line: it is dropped and its cell rerun
    with open(out, "a") as fh:
        fh.write("blobs,kmeans,4,0.2,1,ok,12.")
    second = run_grid(_config(out), scheduler=scheduler, progress=False)
    assert (second.n_skipped, second.n_run) == (5, N_CELLS - 5)
    third = run_grid(_config(out), scheduler=scheduler, progress=False)
    assert (third.n_skipped, third.n_run) == (N_CELLS, 0)
    resumed, full = _by_key(read_table(out)), _by_key(full_run[1])
    assert len(read_table(out)) == N_CELLS and set(resumed) == set(full)
    for key in full:
        assert {c: resumed[key][c] for c in DETERMINISTIC} == {c: full[key][c] for c in DETERMINISTIC}, key


def test_toml_grid_through_the_cli(scheduler, tmp_path, capsys):
    import argparse

    from fairopt.cli.experiment import add_subparser, run

    (tmp_path / "g.toml").write_text(
        'datasets = [{name = "fb", generator = "make_fair_blobs", params = {n = 60, k = 2}}]\n'
        'methods = ["kmeans"]\nk = [2, 3]\ndelta = [0.1]\nseeds = [0]\noutput = "res/out.csv"\n')
    parser = argparse.ArgumentParser()
    add_subparser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["experiment", str(tmp_path / "g.toml"), "--scheduler", scheduler, "--quiet"])
    assert args.func(args) == 0 and args.func is run
    rows = read_table(tmp_path / "res" / "out.csv")  # relative to the TOML file
    assert sorted(r["k"] for r in rows) == [2, 3] and all(r["status"] == "ok" for r in rows)
    assert (tmp_path / "res" / "out.jsonl").is_file()
    assert "2 run" in capsys.readouterr().out
    ks, curves = cost_curves(rows, "fb", 0.1)
    assert ks == [2, 3] and curves["kmeans"].shape == (2, 1)
    assert np.allclose(curves["kmeans"][:, 0], [r["cost"] for r in sorted(rows, key=lambda r: r["k"])])


def test_local_cluster_and_retry_errors(tmp_path):
    """The default path (a LocalCluster started by run_grid) with 2 thread workers."""
    out = tmp_path / "tiny.csv"
    cfg = {"datasets": [{"name": "tiny", "X": TINY[0], "groups": TINY[1]}], "methods": ["kmeans"],
           "k": [2, 4], "delta": [0.1], "seeds": [0, 1], "output": str(out)}
    res = run_grid(cfg, n_workers=2, processes=False, progress=False)
    assert (res.n_run, res.n_errors) == (4, 2)
    again = run_grid(cfg, n_workers=2, processes=False, progress=False, retry_errors=True)
    assert (again.n_skipped, again.n_run, again.n_errors) == (2, 2, 2)
    rows = read_table(out)
    assert len(rows) == 4 and sum(r["status"] == "error" for r in rows) == 2
    with open(os.path.splitext(out)[0] + ".jsonl") as fh:
        assert len(fh.readlines()) == 4


@pytest.mark.parametrize("change, message", [
    ({"methods": ["nope"]}, "methods must be a list of method names"),
    ({"delta": [1.0]}, r"numbers in \[0, 1\)"),
    ({"k": [0]}, "integers >= 1"),
    ({"colour": "red"}, "unknown grid key"),
    ({"datasets": ["moons", "moons"]}, "appears twice"),
    ({"datasets": [{"label": "x"}]}, "a table with a 'name'"),
    ({"objective": "kmedoids"}, "objective must be one of"),
    ({"objective": "kmedian"}, r"objective = 'kmedian' runs with the methods \['relax-merge', 'nips19'\] only"),
])
def test_config_errors_name_the_key(tmp_path, change, message):
    cfg = {"datasets": ["moons"], "methods": ["kmeans"], "k": [2], "delta": [0.1], "seeds": [0],
           "output": str(tmp_path / "x.csv"), **change}
    with pytest.raises(ValidationError, match=message):
        load_config(cfg)


def test_objective_key_runs_kmedian_cells(scheduler, tmp_path):
    X, G = _blobs()
    out = tmp_path / "kmedian.csv"
    cfg = {"datasets": [{"name": "blobs", "X": X, "groups": G}], "methods": ["relax-merge", "nips19"], "k": [3],
           "delta": [DELTA], "seeds": [0], "objective": "kmedian", "output": str(out)}
    res = run_grid(cfg, scheduler=scheduler, progress=False)
    assert (res.n_run, res.n_errors) == (2, 0)
    rows = _by_key(read_table(out))
    base = nips19(X, G, 3, delta=DELTA, objective="kmedian", random_state=0)
    row = rows[("blobs", "nips19", 3, DELTA, 0)]
    # The cell's cost is the k-median cost (sum of distances) of the same deterministic run.
    assert row["cost"] == pytest.approx(np.linalg.norm(X - base.centres[base.labels], axis=1).sum(), rel=1e-9)
    assert row["fractional_cost"] == pytest.approx(base.fractional_cost, rel=1e-9)
    rm = rows[("blobs", "relax-merge", 3, DELTA, 0)]
    assert rm["status"] == "ok" and rm["cost"] <= rm["fractional_cost"] * (1 + 1e-9)
    with open(os.path.splitext(out)[0] + ".jsonl") as fh:
        assert all(json.loads(line)["parameters"]["objective"] == "kmedian" for line in fh)

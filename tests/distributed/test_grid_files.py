"""Grid outputs are never damaged: foreign files refused untouched, one writer, one record per cell after kills."""
import json
import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask.distributed")

from fairopt.cli.main import main  # noqa: E402
from fairopt.distributed.experiment import read_table, run_grid  # noqa: E402
from fairopt.distributed.grid_files import COLUMNS, GridTable  # noqa: E402
from fairopt.exceptions import ValidationError  # noqa: E402


def _grid(path, **change):
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0], [5.0, 6.0]])
    return {"datasets": [{"name": "six", "X": X, "groups": np.array([0, 1, 0, 1, 0, 1])}], "methods": ["kmeans"],
            "k": [1, 2], "delta": [0.1], "seeds": [0, 1], "output": str(path), "processes": False,
            "n_workers": 1, **change}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "g.csv"
    run_grid(_grid(out), progress=False)
    return out


def _snapshot(folder):
    return {p: Path(folder, p).read_bytes() for p in sorted(os.listdir(folder))}


def test_a_foreign_csv_is_refused_and_left_byte_for_byte(tmp_path):
    (tmp_path / "notes.csv").write_bytes(b"a\nb")
    (tmp_path / "notes.jsonl").write_bytes(b"mine\nhalf")
    before = _snapshot(tmp_path)
    with pytest.raises(ValidationError, match="not a fairopt grid table"):
        run_grid(_grid(tmp_path / "notes.csv"), progress=False)
    assert _snapshot(tmp_path) == before


def test_a_foreign_jsonl_beside_a_new_csv_is_refused(tmp_path):
    (tmp_path / "X.jsonl").write_bytes(b"user data\nno newline")
    before = _snapshot(tmp_path)
    with pytest.raises(ValidationError, match="without the grid table"):
        run_grid(_grid(tmp_path / "X.csv"), progress=False)
    assert _snapshot(tmp_path) == before


def test_a_second_writer_is_refused_while_the_first_holds_the_output(finished):
    before = Path(finished).read_bytes()
    with GridTable(str(finished)).open(), pytest.raises(ValidationError, match="another fairopt run"):
        run_grid(_grid(finished), progress=False)
    assert Path(finished).read_bytes() == before
    assert not os.path.exists(GridTable(str(finished)).lock_path)  # removed on exit


def test_kill_between_record_and_row_and_a_doubled_header_give_one_record_per_cell(finished, tmp_path):
    out = tmp_path / "g.csv"
    lines = Path(finished).read_text().splitlines(keepends=True)
    # A kill after the JSONL append but before the CSV one: the last cell has a record, no row.
    # Older versions could also leave a doubled header and half a line.
    out.write_text(lines[0] + lines[0] + "".join(lines[1:-1]) + "six,kmeans,2,0.1")
    jsonl = Path(os.path.splitext(finished)[0] + ".jsonl").read_text()
    (tmp_path / "g.jsonl").write_text(jsonl)
    res = run_grid(_grid(out), progress=False)
    assert (res.n_skipped, res.n_run) == (3, 1)
    rows = read_table(out)
    keys = sorted((r["k"], r["seed"]) for r in rows)
    assert keys == [(1, 0), (1, 1), (2, 0), (2, 1)]
    text = out.read_text()
    assert text.count("dataset,method") == 1 and text.endswith("\n")
    records = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert sorted((r["parameters"]["k"], r["seeds"]["seed"]) for r in records) == keys


def test_without_dask_nothing_is_created(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'fairopt\[dist\]'"):
        run_grid(_grid(tmp_path / "g.csv"), progress=False)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("address, message", [
    ("tls://127.0.0.1:8786", "tls:// needs certificates"),
    ("inproc://x", "only tcp://"),
    ("tcp://127.0.0.1", "not of the form"),
    ("tcp://127.0.0.1:99999", "not of the form"),
])
def test_scheduler_addresses_refused_before_any_work(tmp_path, address, message):
    with pytest.raises(ValidationError, match=message):
        run_grid(_grid(tmp_path / "g.csv"), scheduler=address, progress=False)
    assert os.listdir(tmp_path) == []


def test_a_port_that_is_not_dask_is_a_bounded_error(tmp_path):
    # A server that accepts and never answers: Dask's client alone waits for minutes.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    t0 = time.monotonic()
    try:
        with pytest.raises(ValidationError, match="did not answer|could not connect"):
            run_grid(_grid(tmp_path / "g.csv"), scheduler=f"tcp://127.0.0.1:{port}", scheduler_timeout=1.0,
                     progress=False)
    finally:
        stop.set()
        srv.close()
        for c in held:
            c.close()
    assert time.monotonic() - t0 < 30


@pytest.mark.parametrize("change, message", [
    ({"processes": "false"}, "TOML boolean"),
    ({"solver": "nope"}, "grid solver"),
    ({"datasets": [{"name": "m", "generator": "make_measures", "params": {"m": 2}}]}, "generator must be one of"),
    ({"datasets": [{"name": "b", "generator": "make_fair_blobs", "params": 5}]}, "params must be a table"),
    ({"datasets": [{"name": "b", "generator": "make_fair_blobs", "params": {"n": 10**12}}]}, "choose a smaller size"),
    ({"datasets": [{"name": "b", "generator": "make_fair_blobs", "params": {"colour": 1}}]}, "do not fit"),
    ({"datasets": [{"name": "b", "generator": "make_fair_blobs", "params": {"n": "many"}}]}, "must be a number"),
    ({"datasets": ["no-such-dataset"]}, "not a known dataset"),
    ({"n_workers": "2"}, "n_workers must be a positive integer"),
    ({"output": 5}, "output must be a file name"),
])
def test_grid_files_are_validated_whole_before_any_cell(tmp_path, change, message):
    with pytest.raises(ValidationError, match=message):
        run_grid(_grid(tmp_path / "g.csv", **change), progress=False)
    assert os.listdir(tmp_path) == []


def test_example_grid_runs_from_the_package_into_the_current_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["experiment", "--example", "small", "--max-cells", "1", "--threads", "--quiet"]) == 0
    rows = read_table(tmp_path / "fairopt_example_small.csv")
    assert len(rows) == 1 and rows[0]["status"] == "ok" and rows[0]["n"] == 120
    assert main(["experiment", "--example", "nope"]) == 2
    assert "built-in grids: ['small']" in capsys.readouterr().err


def test_data_home_flag_wins_over_the_grid(tmp_path, data_home):
    cfg = {"datasets": [{"name": "moons"}], "methods": ["kmeans"], "k": [2], "delta": [0.1], "seeds": [0],
           "output": str(tmp_path / "g.csv"), "data_home": str(tmp_path / "nowhere"), "processes": False,
           "n_workers": 1}
    with pytest.raises(FileNotFoundError, match="nowhere"):
        run_grid(cfg, progress=False)
    assert not os.path.exists(tmp_path / "g.csv")
    res = run_grid(cfg, progress=False, data_home=data_home)
    assert res.n_run == 1 and read_table(res.csv_path)[0]["n"] == 200
    assert list(read_table(res.csv_path)[0]) == list(COLUMNS)

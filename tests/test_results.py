"""Result records: JSON round trip, all-or-nothing writes, versions, numeric comparison."""
import datetime as dt
import json
import os

import numpy as np
import pytest
import scipy

from fairopt.exceptions import ValidationError
from fairopt.results import (
    compare_results,
    package_versions,
    read_json,
    result_record,
    write_json,
)


def _record(cost=12.5):
    return result_record(
        "fair-kmeans",
        inputs={"dataset": "moons", "n": np.int64(200), "d": 2},
        parameters={"k": 3, "delta": np.float64(0.1), "solver": "highs"},
        seeds={"random_state": 0},
        metrics={"cost": np.float64(cost), "violation": 0.0, "fractional_cost": float("nan"),
                 "sizes": np.array([60, 70, 70])},
        seconds={"relax_lp": 0.25, "total": 1.5},
        extra={"centres": np.arange(6.0).reshape(3, 2), "optimal": np.bool_(True)},
    )


def test_round_trip_and_types(tmp_path):
    rec = _record()
    path = tmp_path / "run.json"
    assert write_json(rec, path) == str(path)
    back = read_json(path)
    assert back == rec
    assert back["metrics"]["cost"] == 12.5 and type(back["inputs"]["n"]) is int
    assert back["metrics"]["sizes"] == [60, 70, 70]
    assert back["extra"]["centres"] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert back["metrics"]["fractional_cost"] is None  # NaN has no JSON form
    assert back["extra"]["optimal"] is True
    json.loads(path.read_text())  # strict JSON: no NaN tokens


def test_versions_and_timestamp():
    rec = _record()
    v = rec["versions"]
    for name in ("fairopt", "numpy", "scipy", "highspy", "pyomo", "cvxpy", "python", "platform"):
        assert name in v and v[name], name
    assert v["numpy"] == np.__version__ and v["scipy"] == scipy.__version__
    assert package_versions() == v
    stamp = dt.datetime.fromisoformat(rec["timestamp"])
    assert stamp.tzinfo is not None
    assert abs((dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()) < 60


def test_refuses_to_overwrite(tmp_path):
    path = tmp_path / "run.json"
    write_json(_record(1.0), path)
    with pytest.raises(FileExistsError, match="overwrite"):
        write_json(_record(2.0), path)
    assert read_json(path)["metrics"]["cost"] == 1.0
    write_json(_record(2.0), path, overwrite=True)
    assert read_json(path)["metrics"]["cost"] == 2.0
    assert sorted(os.listdir(tmp_path)) == ["run.json"]


@pytest.mark.parametrize("existing", [False, True])
def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch, existing):
    path = tmp_path / "run.json"
    if existing:
        write_json(_record(1.0), path)
    before = path.read_bytes() if existing else None

    def half_then_interrupt(obj, fh, **kwargs):
        fh.write('{"kind": "fair-')  # a partial document reaches the temporary file
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_json(_record(2.0), path, overwrite=True)
    # neither a partial file nor a temporary file remains; an old file is untouched
    assert os.listdir(tmp_path) == (["run.json"] if existing else [])
    if existing:
        assert path.read_bytes() == before


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_json(_record(), tmp_path / "nope" / "run.json")


def test_compare_results():
    a, b = _record(12.5), _record(12.5)
    b["seconds"]["total"] = 99.0  # timings and timestamps never count
    b["timestamp"] = "2000-01-01T00:00:00+00:00"
    assert compare_results(a, b) == {}

    b["metrics"]["cost"] = 12.5 * (1 + 1e-6)
    b["extra"]["centres"][2][1] = 5.5
    diff = compare_results(a, b)
    assert set(diff) == {"metrics.cost", "extra.centres"}
    assert diff["metrics.cost"] == (12.5, b["metrics"]["cost"])
    assert compare_results(a, b, rtol=1e-3) == {"extra.centres": diff["extra.centres"]}
    assert compare_results(a, b, keys=["metrics"]) == {"metrics.cost": diff["metrics.cost"]}
    assert compare_results(a, b, keys="metrics.violation") == {}

    del b["metrics"]["violation"]
    assert compare_results(a, b, keys=["metrics.violation"]) == {"metrics.violation": (0.0, None)}
    b["metrics"]["sizes"] = [60, 70]
    assert "metrics.sizes" in compare_results(a, b)
    with pytest.raises(ValidationError, match="no numeric field"):
        compare_results(a, b, keys=["metrics.nonexistent"])


def test_write_csv_is_whole_and_never_overwrites(tmp_path):
    import csv as _csv

    from fairopt.results import write_csv

    path = tmp_path / "t.csv"
    write_csv([{"a": 1, "b": None, "x": 9}, {"a": 2.5, "b": "q"}], path, ["a", "b"])
    with open(path, newline="") as fh:
        assert list(_csv.reader(fh)) == [["a", "b"], ["1", ""], ["2.5", "q"]]
    with pytest.raises(FileExistsError):
        write_csv([{"a": 3}], path, ["a"])
    assert path.read_text().startswith("a,b")  # untouched
    write_csv([{"a": 3}], path, ["a"], overwrite=True)
    assert path.read_text().split() == ["a", "3"]

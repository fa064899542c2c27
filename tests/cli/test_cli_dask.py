"""``fairopt fair-kmeans --parquet`` / ``--csv GLOB`` (issue 12): Dask input, labels in Parquet, errors first."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("dask.distributed")
pd = pytest.importorskip("pandas")
pq = pytest.importorskip("pyarrow.parquet")

from distributed import Client, LocalCluster  # noqa: E402

from fairopt.cli.main import main  # noqa: E402
from fairopt.metrics import additive_violation  # noqa: E402
from fairopt.problem import bounds_from_delta  # noqa: E402

N_FILES, ROWS, K = 3, 1_600, 3


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Three Parquet files and the same rows as three CSV files; returns (folder, features, groups)."""
    folder = tmp_path_factory.mktemp("dask_cli")
    rng = np.random.default_rng(0)
    frames = []
    for i in range(N_FILES):
        blob = rng.integers(0, 3, ROWS)
        X = 5.0 * np.array([[0, 0], [1, 0], [0, 1]])[blob] + rng.normal(size=(ROWS, 2))
        sex = np.where(rng.random(ROWS) < np.array([0.2, 0.5, 0.8])[blob], "f", "m")
        df = pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "sex": sex, "note": "text"})
        df.to_parquet(folder / f"part{i}.parquet")
        df.to_csv(folder / f"part{i}.csv", index=False)
        frames.append(df)
    data = pd.concat(frames, ignore_index=True)
    return folder, data[["x", "y"]].to_numpy(), data["sex"].to_numpy()


def _run(*args):
    return main(["fair-kmeans", "--k", str(K), "--delta", "0.1", "--quiet", *args])


@pytest.mark.parametrize("source", ["parquet", "csv"])
def test_labels_file_beside_the_json(client, files, tmp_path, source):
    folder, X, G = files
    pattern = str(folder / f"part*.{source}")
    json_path = tmp_path / "run.json"
    assert _run(f"--{source}", pattern, "--features", "x,y", "--groups", "sex", "--json", str(json_path)) == 0
    labels_path = tmp_path / "run.labels.parquet"
    labels = pq.read_table(labels_path).column("label").to_numpy()
    assert labels.shape == (N_FILES * ROWS,)
    record = json.loads(json_path.read_text())
    assert record["extra"]["labels_file"] == "run.labels.parquet"
    metrics = record["metrics"]["relax_merge"]
    alpha, beta = bounds_from_delta(G, 0.1)
    violation = additive_violation(labels, G, alpha, beta, k=K)
    assert violation <= 2.0 and violation == pytest.approx(metrics["violation"], abs=1e-9)
    centres = np.asarray(record["extra"]["centres"])
    assert float(((X - centres[labels]) ** 2).sum()) == pytest.approx(metrics["cost"], rel=1e-9)
    assert "nips19" in record["metrics"]


def test_errors_before_any_work(client, files, tmp_path, capsys):
    folder, _, _ = files
    out = tmp_path / "labels.parquet"
    base = ["--features", "x,y", "--groups", "sex", "--labels-out", str(out), "--no-baseline"]
    cases = [
        (["--parquet", str(folder / "nothing*.parquet"), *base], "matches no Parquet file"),
        (["--parquet", str(folder / "part*.parquet"), "--features", "x,z", "--groups", "sex",
          "--labels-out", str(out)], "column(s) ['z'] not in"),
        (["--csv", str(folder / "part*.csv"), "--features", "x,note", "--groups", "sex",
          "--labels-out", str(out)], "feature column(s) ['note'] are not numeric"),
        (["--parquet", str(folder / "part*.parquet"), *base[:-3], "--labels-out", str(tmp_path / "l.csv")],
         "must end in .parquet"),
        (["--parquet", str(folder / "part*.parquet"), *base, "--objective", "kmedian"], "runs in memory only"),
        (["--parquet", str(folder / "part*.parquet"), *base, "--max-points", "100"], "--max-points"),
    ]
    for args, message in cases:
        assert _run(*args) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
        assert not out.exists() and not (tmp_path / "l.csv").exists()
    out.write_bytes(b"keep")
    assert _run("--parquet", str(folder / "part*.parquet"), *base) == 2
    assert "exists" in capsys.readouterr().err and out.read_bytes() == b"keep"

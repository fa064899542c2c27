"""Dataset loaders against the README table, subsampling, error messages, synthetic generators."""
import numpy as np
import pytest

from fairopt import datasets
from fairopt.datasets import (
    available_datasets,
    load,
    load_dataset,
    make_fair_blobs,
    make_measures,
    make_stochastic_balls,
)
from fairopt.exceptions import ValidationError

# name -> (rows, features, group counts per attribute in code order = sorted values)
TABLE = {
    "bank": (4521, 3, [[528, 2797, 1196], [4445, 76]]),  # divorced, married, single; no, yes
    "adult": (32561, 5, [[311, 1039, 3124, 271, 27816], [10771, 21790]]),  # ... Other, White; Female, Male
    "creditcard": (30000, 14, [[54, 13659, 15964, 323], [10599, 14030, 4917, 454]]),
    "breastcancer": (569, 30, [[212, 357]]),
    "biodeg": (1055, 42, [[356, 699]]),
    "moons": (200, 2, [[100, 100]]),
    "hypercube": (800, 3, [[100] * 8]),
    "balanced_complex": (800, 2, [[100] * 8]),
    "complex": (3031, 2, [[87, 113, 110, 204, 198, 343, 906, 328, 742]]),
    "balanced_cluto": (2700, 2, [[300] * 9]),
    "cluto": (10000, 2, [[1061, 2230, 611, 625, 346, 335, 2758, 994, 1040]]),
}


def test_available_datasets():
    assert sorted(TABLE) == available_datasets()


@pytest.mark.parametrize("name", sorted(TABLE))
def test_shapes_and_group_counts_match_readme(name, data_home):
    rows, d, counts = TABLE[name]
    ds = load_dataset(name, data_home=data_home)
    assert ds.X.shape == (rows, d) and ds.X.dtype == np.float64 and np.isfinite(ds.X).all()
    assert len(ds.feature_names) == d
    G = ds.codes.reshape(rows, -1)
    assert G.shape[1] == len(counts) == len(ds.group_names) == len(ds.group_values)
    for t, expected in enumerate(counts):
        np.testing.assert_array_equal(np.bincount(G[:, t]), expected)
        assert len(ds.group_values[t]) == len(expected)
    assert ds.groups.ndim == (1 if len(counts) == 1 else 2)


def test_names_and_values(data_home):
    ds = load_dataset("adult", data_home=data_home, max_points=50)
    assert ds.feature_names == ["age", "final-weight", "education-num", "capital-gain", "hours-per-week"]
    assert ds.group_names == ["race", "sex"]
    assert ds.group_values[1] == ["Female", "Male"]  # leading spaces stripped
    ds = load_dataset("creditcard", data_home=data_home, max_points=50)
    assert ds.group_values == [[0, 1, 2, 3], ["<=1", "2", "3", ">=4"]]


def test_attributes_select_group_columns(data_home):
    X, g = load("bank", data_home=data_home, attributes=["marital"])
    assert g.shape == (4521,)
    np.testing.assert_array_equal(np.unique(g, return_counts=True)[1], [528, 2797, 1196])
    assert sorted(set(g)) == ["divorced", "married", "single"]  # the data's own values, not codes
    _, g2 = load("bank", data_home=data_home, attributes=["default", "marital"])
    np.testing.assert_array_equal(g2[:, 1], g)
    with pytest.raises(ValidationError, match="marital"):
        load("bank", data_home=data_home, attributes=["sex"])


def test_subsampling_is_deterministic_and_uniform_rows(data_home):
    full = load_dataset("bank", data_home=data_home)
    a = load_dataset("bank", data_home=data_home, max_points=1000, random_state=0)
    b = load_dataset("bank", data_home=data_home, max_points=1000, random_state=0)
    c = load_dataset("bank", data_home=data_home, max_points=1000, random_state=1)
    assert a.X.shape == (1000, 3) and a.groups.shape == (1000, 2)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.groups, b.groups)
    assert not np.array_equal(a.indices, c.indices)
    assert (np.diff(a.indices) > 0).all()
    np.testing.assert_array_equal(a.X, full.X[a.indices])
    np.testing.assert_array_equal(a.groups, full.groups[a.indices])
    assert load("moons", data_home=data_home, max_points=10_000)[0].shape == (200, 2)


def test_missing_file_message(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as info:
        load("bank", data_home=tmp_path)
    msg = str(info.value)
    assert "bank.csv" in msg and str(tmp_path) in msg and "UCI" in msg and "data_home" in msg
    monkeypatch.setenv("FAIROPT_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match="elsewhere"):
        load("moons")


def test_unknown_name_and_bad_max_points(data_home):
    with pytest.raises(ValidationError, match="available"):
        load("iris", data_home=data_home)
    with pytest.raises(ValidationError, match="max_points"):
        load("moons", data_home=data_home, max_points=0)


def test_alternative_file_layouts(tmp_path):
    # UCI's adult.data has no header row; the credit-card sheet has an extra first header row.
    (tmp_path / "adult.csv").write_text(
        "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\n"
        "50, Private, 83311, Bachelors, 13, Divorced, Sales, Husband, Black, Female, 0, 0, 13, Cuba, <=50K\n\n"
    )
    X, g = load("adult", data_home=tmp_path)
    np.testing.assert_array_equal(X, [[39, 77516, 13, 2174, 40], [50, 83311, 13, 0, 13]])
    np.testing.assert_array_equal(g, [["White", "Male"], ["Black", "Female"]])
    np.testing.assert_array_equal(load_dataset("adult", data_home=tmp_path).codes, [[1, 1], [0, 0]])
    cols = ["ID", "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE"] + [f"PAY_{i}" for i in (0, 2, 3, 4, 5, 6)] \
        + [f"BILL_AMT{i}" for i in range(1, 7)] + [f"PAY_AMT{i}" for i in range(1, 7)] + ["default payment next month"]
    rows = [",".join(f"X{i}" for i in range(len(cols))), ",".join(cols)]
    for edu, mar in [(0, 1), (2, 2), (3, 3), (6, 0)]:
        rows.append(",".join(["1", "20000", "2", str(edu), str(mar)] + ["30"] * (len(cols) - 5)))
    (tmp_path / "creditcard.csv").write_text("\n".join(rows) + "\n")
    X, g = load("creditcard", data_home=tmp_path)
    assert X.shape == (4, 14)
    assert g.tolist() == [[1, "<=1"], [2, "2"], [3, "3"], [0, ">=4"]]
    np.testing.assert_array_equal(load_dataset("creditcard", data_home=tmp_path).codes, [[1, 0], [2, 1], [3, 2], [0, 3]])


def test_stochastic_balls():
    X, labels, centres = make_stochastic_balls(5, 40, d=3, separation=3.0, random_state=0)
    assert X.shape == (200, 3) and labels.shape == (200,) and centres.shape == (5, 3)
    np.testing.assert_array_equal(np.bincount(labels), [40] * 5)
    assert (np.linalg.norm(X - centres[labels], axis=1) <= 1.0 + 1e-12).all()
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)[np.triu_indices(5, 1)]
    assert gaps.min() >= 3.0
    # uniform in the ball: P(radius <= 1/2) = 2^-d
    Y, _, c = make_stochastic_balls(1, 4000, d=2, random_state=1)
    r = np.linalg.norm(Y - c[0], axis=1)
    assert abs((r <= 0.5).mean() - 0.25) < 0.03
    np.testing.assert_array_equal(X, make_stochastic_balls(5, 40, d=3, separation=3.0, random_state=0)[0])


def test_fair_blobs_group_mix():
    X, g = make_fair_blobs(n=600, k=3, n_groups=3, group_imbalance=1.0, random_state=0)
    assert X.shape == (600, 2) and g.shape == (600,)
    np.testing.assert_array_equal(g, np.repeat([0, 1, 2], 200))  # every blob single-group
    _, g = make_fair_blobs(n=3000, k=3, n_groups=2, group_imbalance=0.0, random_state=0)
    assert abs(g.mean() - 0.5) < 0.05


def test_measures():
    ms = make_measures(4, n_support=[10, 20, 30, 40], d=3, n_components=2, random_state=0)
    assert len(ms) == 4
    for (pts, w), size in zip(ms, [10, 20, 30, 40]):
        assert pts.shape == (size, 3) and w.shape == (size,)
        assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    with pytest.raises(ValidationError):
        make_measures(2, n_support=[5])


def test_default_data_home(monkeypatch, tmp_path):
    monkeypatch.delenv("FAIROPT_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert datasets._data_home(None) == tmp_path / "fairopt_data"


def test_load_returns_the_datas_own_group_values(data_home):
    import csv
    X, g = load("bank", data_home=data_home, max_points=300, random_state=0)
    ds = load_dataset("bank", data_home=data_home, max_points=300, random_state=0)
    with open(f"{data_home}/bank.csv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    expected = np.array([[rows[i]["marital"], rows[i]["default"]] for i in ds.indices])
    np.testing.assert_array_equal(g, expected)  # the file's strings, row by row
    assert g.dtype.kind == "U"
    # creditcard mixes integer (MARRIAGE) and bucketed string (EDUCATION) values: one object array.
    _, gc = load("creditcard", data_home=data_home, max_points=50, random_state=0)
    assert gc.dtype == object and {type(v) for v in gc[:, 0]} == {int} and set(gc[:, 1]) <= {"<=1", "2", "3", ">=4"}
    # Errors and bounds speak the data's language.
    import fairopt
    with pytest.raises(fairopt.ValidationError, match="'divorced'"):
        fairopt.FairKMeans(2, delta=None, beta={"married": 0.1, "single": 0.1}).fit(X, g[:, 0])

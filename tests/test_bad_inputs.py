"""The bad-input table: every class of bad or edge input gets one clear error, never a traceback.

Each row is one class of input (issue 15's list and its neighbours) with the exception class and
a message fragment the user needs (the parameter, file, row or fix). API rows call the public
function; CLI rows run ``fairopt`` in-process and need exit status 2 and exactly one line on
stderr, with no traceback. The few edge inputs that are *accepted* are checked for the right
answer at the bottom.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from fairopt.models import fair_assignment as lp2

import fairopt
from fairopt import datasets
from fairopt.cli.main import main
from fairopt.distributed.grid_files import HEADER
from fairopt.exceptions import (
    InfeasibleBoundsError,
    ResourceLimitError,
    SolverNotAvailableError,
    ValidationError,
)
from fairopt.results import write_json
from fairopt.solvers.flow import min_cost_flow

RNG = np.random.default_rng(0)
X = RNG.standard_normal((12, 2))
G = np.repeat([0, 1], 6)
C = X[:3]
VE, FE, FNF = ValidationError, FileExistsError, FileNotFoundError


def fa(**kw):
    args = {"points": X, "centres": C, "groups": G, "delta": 0.1, **kw}
    return fairopt.fair_assignment(**args)


def fk(X_=X, G_=G, sample_weight=None, **kw):
    return fairopt.FairKMeans(**{"n_clusters": 2, "random_state": 0, "n_init": 1, **kw}).fit(X_, G_, sample_weight)


def grid(tmp, **change):
    cfg = {"datasets": [{"name": "six", "X": X, "groups": G}], "methods": ["kmeans"], "k": [2], "delta": [0.1],
           "seeds": [0], "output": str(tmp / "g.csv"), "processes": False, "n_workers": 1, **change}
    from fairopt.distributed.experiment import run_grid

    return lambda: run_grid(cfg, progress=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good = "x,y,g\n" + "".join(f"{a:.6f},{b:.6f},{g}\n" for (a, b), g in zip(X, G))
    texts = {
        "empty.csv": b"", "header.csv": b"x,y,g\n", "text.csv": good.replace("\n", "\none,2,0\n", 1).encode(),
        "latin1.csv": (good + "0.5,0.5,caf\xe9\n").encode("latin-1"), "ragged.csv": (good + "1.0,2.0\n").encode(),
        "extra.csv": (good + "1.0,2.0,0,9\n").encode(), "dup.csv": good.replace("x,y,g", "x,x,g").encode(),
        "nan.csv": (good + "nan,1.0,0\n").encode(), "inf.csv": (good + "1.0,inf,1\n").encode(),
        "bom.csv": b"\xef\xbb\xbf" + good.encode(), "good.csv": good.encode(), "quote.csv": b'x,y,g\n"1,2,0\n',
        "corrupt.npz": b"PK\x03\x04 not a zip", "notes.csv": b"a\nb", "bad.toml": b"k = [1,\n",
        "exists.json": b"{}", "exists.lp": b"x",
    }
    for name, data in texts.items():
        (d / name).write_bytes(data)
    np.save(d / "single.npy", np.zeros(3))
    np.savez(d / "keys.npz", a=np.zeros(3))
    (d / "processes.toml").write_text('datasets = ["moons"]\nmethods = ["kmeans"]\nk = [2]\ndelta = [0.1]\nseeds = [0]\n'
                                      'processes = "false"\n')
    home = d / "home"
    home.mkdir()
    return d


def _dataset_home(tmp, text: bytes):
    """A data_home whose moons.csv has the given content."""
    home = tmp / f"home{abs(hash(text))}"
    home.mkdir(exist_ok=True)
    (home / "moons.csv").write_bytes(text)
    return str(home)


MOONS = b"x,y,color\n" + b"".join(b"%f,%f,%d\n" % (a, b, g) for (a, b), g in zip(X, G))

def _with_memory_limit(call, limit="1K"):
    """``call`` run under FAIROPT_MEMORY_LIMIT=limit (restored afterwards)."""
    def run():
        old = os.environ.get("FAIROPT_MEMORY_LIMIT")
        os.environ["FAIROPT_MEMORY_LIMIT"] = limit
        try:
            return call()
        finally:
            if old is None:
                del os.environ["FAIROPT_MEMORY_LIMIT"]
            else:
                os.environ["FAIROPT_MEMORY_LIMIT"] = old
    return run


# (id, factory(tmp) -> callable, exception class, message fragment)
API = [
    # ---- points / centres (fair_assignment)
    ("points-1d", lambda t: lambda: fa(points=X[:, 0]), VE, "must be 2-D"),
    ("points-3d", lambda t: lambda: fa(points=X[None]), VE, "must be 2-D"),
    ("points-empty", lambda t: lambda: fa(points=np.zeros((0, 2)), groups=[]), VE, "at least 1 row"),
    ("points-nan", lambda t: lambda: fa(points=np.where(np.arange(24).reshape(12, 2) == 5, np.nan, X)), VE,
     "NaN values in 1 row(s) (first: row 2)"),
    ("points-inf", lambda t: lambda: fa(points=np.where(np.arange(24).reshape(12, 2) == 7, -np.inf, X)), VE,
     "inf values in 1 row(s) (first: row 3)"),
    ("points-strings", lambda t: lambda: fa(points=X.astype(str)), VE, "got strings"),
    ("points-complex", lambda t: lambda: fa(points=X + 1j), VE, "got complex numbers"),
    ("points-object", lambda t: lambda: fa(points=[[1, "a"], [2, 3]]), VE, "real numeric array"),
    ("points-overflow", lambda t: lambda: fa(points=X * 1e160, centres=C * 1e160), VE, "overflow"),
    ("points-no-columns", lambda t: lambda: fa(points=np.zeros((12, 0))), VE, "at least one column"),
    ("centres-dim", lambda t: lambda: fa(centres=np.zeros((2, 3))), VE, "same dimension"),
    ("centres-nan", lambda t: lambda: fa(centres=np.array([[np.nan, 0.0]])), VE, "centres contains NaN"),
    ("centres-far", lambda t: lambda: fa(centres=C * 1e200), VE, "overflow float64"),
    # ---- groups, weights, bounds
    ("groups-length", lambda t: lambda: fa(groups=G[:5]), VE, "groups"),
    ("groups-one-label", lambda t: lambda: fa(groups=np.zeros(12)), VE, "single label"),
    ("weights-negative", lambda t: lambda: fa(weights=-np.ones(12)), VE, "weights"),
    ("weights-shape", lambda t: lambda: fa(weights=np.ones(5)), VE, "shape (12,)"),
    ("weights-zero", lambda t: lambda: fa(weights=np.zeros(12)), VE, "weights"),
    ("weights-nan", lambda t: lambda: fa(weights=np.full(12, np.nan)), VE, "NaN or inf"),
    ("weights-text", lambda t: lambda: fa(weights=["a"] * 12), VE, "weights must be a numeric array"),
    ("delta-one", lambda t: lambda: fa(delta=1.0), VE, "delta"),
    ("delta-negative", lambda t: lambda: fa(delta=-0.1), VE, "delta"),
    ("alpha-above-one", lambda t: lambda: fa(delta=None, alpha=1.5, beta=0.1), VE, "alpha"),
    ("beta-above-alpha", lambda t: lambda: fa(delta=None, alpha=0.4, beta=0.6), VE, "beta"),
    ("bounds-infeasible", lambda t: lambda: fa(delta=None, alpha=0.9, beta=0.6), InfeasibleBoundsError, "beta"),
    # ---- solver options
    ("method-unknown", lambda t: lambda: fa(method="fast"), VE, "method must be one of"),
    ("colgen-glpk", lambda t: lambda: fa(method="colgen", solver="glpk"), VE, "runs on HiGHS only"),
    ("solver-unknown", lambda t: lambda: fa(solver="nope"), SolverNotAvailableError, "nope"),
    ("threads-zero", lambda t: lambda: fa(threads=0), VE, "threads must be a positive integer"),
    ("threads-negative", lambda t: lambda: fa(threads=-1), VE, "threads must be a positive integer"),
    ("threads-float", lambda t: lambda: fa(threads=2.5), VE, "threads must be a positive integer"),
    ("threads-bool", lambda t: lambda: fa(threads=True), VE, "threads must be a positive integer"),
    ("threads-text", lambda t: lambda: fa(threads="x"), VE, "threads must be a positive integer"),
    ("time-limit-zero", lambda t: lambda: fa(time_limit=0), VE, "time_limit"),
    ("time-limit-text", lambda t: lambda: fa(time_limit="fast"), VE, "time_limit"),
    # ---- estimators
    ("k-zero", lambda t: lambda: fk(n_clusters=0), VE, "n_clusters"),
    ("k-above-n", lambda t: lambda: fk(n_clusters=20), VE, "n_clusters"),
    ("k-float", lambda t: lambda: fk(n_clusters=2.5), VE, "n_clusters"),
    ("n-init-bool", lambda t: lambda: fk(n_init=True), VE, "n_init must be a positive integer"),
    ("n-init-zero", lambda t: lambda: fk(n_init=0), VE, "n_init"),
    ("random-state-text", lambda t: lambda: fk(random_state="x"), VE, "random_state"),
    ("fit-strings", lambda t: lambda: fk(X_=X.astype(str)), VE, "got strings"),
    ("fit-complex", lambda t: lambda: fk(X_=X * 1j), VE, "complex"),
    ("fit-overflow", lambda t: lambda: fk(X_=X * 1e155), VE, "overflow"),
    ("flow-solver-unknown", lambda t: lambda: fk(flow_solver="nope"), VE, "flow_solver"),
    ("fit-identical", lambda t: lambda: fk(X_=np.ones((12, 2))), VE, "identical"),
    ("fit-weights-negative", lambda t: lambda: fk(sample_weight=-np.ones(12)), VE, "weight"),
    ("strict-unequal", lambda t: lambda: fairopt.StrictlyFairKMeans(2).fit(X, np.r_[np.zeros(5), np.ones(7)]), VE,
     "equal size"),
    ("strict-overlapping", lambda t: lambda: fairopt.StrictlyFairKMeans(2).fit(X, np.c_[G, G[::-1]]), VE, "overlapping"),
    ("balanced-k-above-n", lambda t: lambda: fairopt.BalancedKMeans(20).fit(X), VE, "n_clusters"),
    ("balanced-method", lambda t: lambda: fairopt.BalancedKMeans(2, method="nope").fit(X), VE, "method"),
    ("balanced-sizes", lambda t: lambda: fairopt.BalancedKMeans(2, sizes=[3, 3]).fit(X), VE, "sizes"),
    ("balanced-init-params-text", lambda t: lambda: fairopt.BalancedKMeans(2, init_params={"failure": "x"}).fit(X), VE,
     "init_params['failure'] must lie in (0, 1)"),
    ("balanced-highs-memory", lambda t: _with_memory_limit(lambda: fairopt.BalancedKMeans(6, solver="highs").fit(
        np.random.default_rng(1).standard_normal((400, 2)))), ResourceLimitError, "balanced transport LP"),
    ("memory-limit-text", lambda t: _with_memory_limit(lambda: fa(method="direct"), "lots"), VE,
     "FAIROPT_MEMORY_LIMIT='lots' is not a number of bytes"),
    ("balanced-overflow", lambda t: lambda: fairopt.BalancedKMeans(2).fit(X * 1e160), VE, "overflow"),
    ("barycenter-support-zero", lambda t: lambda: fairopt.SparseBarycenter(0).fit(datasets.make_measures(2, 5)), VE,
     "n_support"),
    # ---- datasets
    ("dataset-unknown", lambda t: lambda: datasets.load("nope"), VE, "unknown dataset"),
    ("dataset-missing", lambda t: lambda: datasets.load("moons", data_home=str(t / "home")), FNF, "not found"),
    ("dataset-max-points", lambda t: lambda: datasets.load("moons", data_home=_dataset_home(t, MOONS), max_points=0),
     VE, "max_points"),
    ("dataset-attributes", lambda t: lambda: datasets.load("moons", data_home=_dataset_home(t, MOONS),
                                                           attributes=["age"]), VE, "not group columns"),
    ("dataset-empty", lambda t: lambda: datasets.load("moons", data_home=_dataset_home(t, b"")), VE, "is empty"),
    ("dataset-header-only", lambda t: lambda: datasets.load("moons", data_home=_dataset_home(t, b"x,y,color\n")), VE,
     "no data rows"),
    ("dataset-nan", lambda t: lambda: datasets.load("moons", data_home=_dataset_home(t, MOONS + b"nan,1,0\n")), VE,
     "'nan' is not a finite number"),
    ("dataset-text", lambda t: lambda: datasets.load("moons", data_home=_dataset_home(t, MOONS + b"a,1,0\n")), VE,
     "'a' is not a number"),
    ("dataset-short-row", lambda t: lambda: datasets.load("moons", data_home=_dataset_home(t, MOONS + b"1,0\n")), VE,
     "row 14: 2 field(s)"),
    ("dataset-latin1", lambda t: lambda: datasets.load("moons", data_home=_dataset_home(t, MOONS + b"1,1,\xe9\n")), VE,
     "not UTF-8"),
    ("make-measures-zero", lambda t: lambda: datasets.make_measures(0), VE, "m must be a positive integer"),
    # ---- solve / export / files
    ("solve-not-a-model", lambda t: lambda: fairopt.solve("model"), VE, "solve() takes"),
    ("solve-threads", lambda t: lambda: fairopt.solve(lp2.to_matrices(X, C, G, .6, .4), threads=0), VE, "threads"),
    ("solve-highs-option", lambda t: lambda: fairopt.solve(lp2.to_matrices(X, C, G, .6, .4), options={"nope": 1}), VE,
     "HiGHS rejected option nope"),
    ("solve-glpk-option", lambda t: lambda: fairopt.solve(lp2.build_pyomo(X, C, G, .6, .4), solver="glpk",
                                                          options={"nope": 1}), VE, "unknown option name"),
    ("model-nan-point", lambda t: lambda: lp2.build_pyomo(np.where(X > 1, np.nan, X), C, G, .6, .4), VE, "NaN"),
    ("model-nan-weight", lambda t: lambda: lp2.to_matrices(X, C, G, .6, .4, np.full(12, np.nan)), VE, "NaN or inf"),
    ("export-extension", lambda t: lambda: fairopt.export(lp2.to_matrices(X, C, G, .6, .4), t / "m.txt"), VE,
     ".lp or .mps"),
    ("export-exists", lambda t: lambda: fairopt.export(lp2.to_matrices(X, C, G, .6, .4), t / "exists.lp"), FE,
     "pass overwrite=True"),
    ("export-folder-missing", lambda t: lambda: fairopt.export(lp2.to_matrices(X, C, G, .6, .4), t / "no" / "m.lp"), VE,
     "does not exist"),
    ("export-is-folder", lambda t: lambda: fairopt.export(lp2.to_matrices(X, C, G, .6, .4), str(t / "home")), VE,
     "must end in .lp"),
    ("json-exists", lambda t: lambda: write_json({"a": 1}, t / "exists.json"), FE, "pass overwrite=True"),
    ("json-folder", lambda t: lambda: write_json({"a": 1}, t / "home"), VE, "is a folder"),
    ("flow-solver-name", lambda t: lambda: min_cost_flow([0], [1], [0], [1], [1.0], [1, -1], 2, solver="nope"), VE,
     "flow_solver"),
    # ---- grids
    ("grid-processes-text", lambda t: grid(t, processes="false"), VE, "TOML boolean"),
    ("grid-solver", lambda t: grid(t, solver="nope"), VE, "grid solver"),
    ("grid-generator-measures", lambda t: grid(t, datasets=[{"name": "m", "generator": "make_measures"}]), VE,
     "generator must be one of"),
    ("grid-params-type", lambda t: grid(t, datasets=[{"name": "b", "generator": "make_fair_blobs", "params": 5}]), VE,
     "params must be a table"),
    ("grid-params-size", lambda t: grid(t, datasets=[{"name": "b", "generator": "make_fair_blobs",
                                                      "params": {"n": 10**12}}]), VE, "smaller size"),
    ("grid-unknown-key", lambda t: grid(t, colour="red"), VE, "unknown grid key"),
    ("grid-k-zero", lambda t: grid(t, k=[0]), VE, "integers >= 1"),
    ("grid-methods", lambda t: grid(t, methods=["nope"]), VE, "method names"),
    ("grid-workers-text", lambda t: grid(t, n_workers="2"), VE, "n_workers"),
    ("grid-twice", lambda t: grid(t, datasets=["moons", "moons"]), VE, "appears twice"),
    ("grid-foreign-csv", lambda t: grid(t, output=str(t / "notes.csv")), VE, "not a fairopt grid table"),
    ("grid-output-type", lambda t: grid(t, output=3), VE, "output must be a file name"),
    ("grid-output-extension", lambda t: grid(t, output=str(t / "g.txt")), VE, "must be a .csv file"),
]
CLI = [
    # (id, argv (with {d} for the files folder), message fragment)
    ("csv-empty", ["fair-kmeans", "--csv", "{d}/empty.csv", "--features", "x,y", "--groups", "g"], "is empty"),
    ("csv-header-only", ["fair-kmeans", "--csv", "{d}/header.csv", "--features", "x,y", "--groups", "g"],
     "has no data rows"),
    ("csv-text", ["fair-kmeans", "--csv", "{d}/text.csv", "--features", "x,y", "--groups", "g"],
     "row 2, column 'x': 'one' is not a number"),
    ("csv-latin1", ["fair-kmeans", "--csv", "{d}/latin1.csv", "--features", "x,y", "--groups", "g"], "not UTF-8"),
    ("csv-ragged", ["fair-kmeans", "--csv", "{d}/ragged.csv", "--features", "x,y", "--groups", "g"],
     "row 14: 2 field(s) where the header has 3"),
    ("csv-extra-fields", ["fair-kmeans", "--csv", "{d}/extra.csv", "--features", "x,y", "--groups", "g"],
     "row 14: 4 field(s) where the header has 3 (more)"),
    ("csv-duplicate-names", ["fair-kmeans", "--csv", "{d}/dup.csv", "--features", "x", "--groups", "g"],
     "column name(s) ['x'] more than once"),
    ("csv-nan", ["fair-kmeans", "--csv", "{d}/nan.csv", "--features", "x,y", "--groups", "g"], "not a finite number"),
    ("csv-inf", ["fair-kmeans", "--csv", "{d}/inf.csv", "--features", "x,y", "--groups", "g"], "'inf' is not a finite"),
    ("csv-bad-quote", ["fair-kmeans", "--csv", "{d}/quote.csv", "--features", "x,y", "--groups", "g"],
     "is not valid CSV: unexpected end of data"),
    ("csv-sep-two-chars", ["fair-kmeans", "--csv", "{d}/good.csv", "--features", "x,y", "--groups", "g", "--sep", ";;"],
     "--sep must be a single character"),
    ("csv-missing", ["fair-kmeans", "--csv", "{d}/none.csv", "--features", "x,y", "--groups", "g"], "cannot read --csv"),
    ("csv-missing-column", ["fair-kmeans", "--csv", "{d}/good.csv", "--features", "x,z", "--groups", "g"],
     "column 'z' is not in"),
    ("csv-and-dataset", ["fair-kmeans", "--csv", "{d}/good.csv", "--dataset", "moons"], "exactly one of"),
    ("max-points-zero", ["fair-kmeans", "--csv", "{d}/good.csv", "--features", "x,y", "--groups", "g",
                         "--max-points", "0"], "--max-points must be a positive"),
    ("measures-corrupt", ["barycenter", "--measures", "{d}/corrupt.npz"], "as an .npz archive"),
    ("measures-npy", ["barycenter", "--measures", "{d}/single.npy"], "a single array"),
    ("measures-keys", ["barycenter", "--measures", "{d}/keys.npz"], "must hold arrays points_0"),
    ("plot-extension", ["fair-kmeans", "--csv", "{d}/good.csv", "--features", "x,y", "--groups", "g", "--json",
                        "{d}/a.json", "--plot", "{d}/a.xyz"], "the extension must be one of"),
    ("json-plot-same", ["fair-kmeans", "--csv", "{d}/good.csv", "--features", "x,y", "--groups", "g", "--json",
                        "{d}/b.png", "--plot", "{d}/b.png"], "both name"),
    ("export-lp-extension", ["fair-kmeans", "--csv", "{d}/good.csv", "--features", "x,y", "--groups", "g",
                             "--export-lp", "{d}/m.txt"], ".lp or .mps"),
    ("json-exists", ["fair-kmeans", "--csv", "{d}/good.csv", "--features", "x,y", "--groups", "g", "--json",
                     "{d}/exists.json"], "exists; pass --overwrite"),
    ("scheduler-tls", ["experiment", "--example", "small", "--scheduler", "tls://127.0.0.1:8786"], "tls:// needs"),
    ("scheduler-inproc", ["experiment", "--example", "small", "--scheduler", "inproc://x"], "only tcp://"),
    ("grid-processes-text", ["experiment", "{d}/processes.toml"], "TOML boolean"),
    ("grid-bad-toml", ["experiment", "{d}/bad.toml"], "is not valid TOML"),
    ("grid-example-unknown", ["experiment", "--example", "huge"], "unknown example grid"),
    ("grid-none", ["experiment"], "exactly one of GRID.toml or --example"),
    ("grid-foreign-output", ["experiment", "--example", "small", "--output", "{d}/notes.csv"], "not a fairopt grid"),
]


@pytest.mark.parametrize("case", API, ids=[c[0] for c in API])
def test_api_bad_input(case, files):
    name, factory, cls, fragment = case
    call = factory(files)
    with pytest.raises(cls) as info:
        call()
    assert fragment in str(info.value), (name, str(info.value))
    assert "\n" not in str(info.value).strip() or name.startswith("json"), str(info.value)


@pytest.mark.parametrize("case", CLI, ids=[c[0] for c in CLI])
def test_cli_bad_input(case, files, capsys):
    name, argv, fragment = case
    before = {p: os.path.getsize(files / p) for p in os.listdir(files) if os.path.isfile(files / p)}
    rc = main([a.replace("{d}", str(files)) for a in argv])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, (name, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert fragment in lines[0], (name, lines[0])
    after = {p: os.path.getsize(files / p) for p in os.listdir(files) if os.path.isfile(files / p)}
    assert after == before  # nothing written or cut


def test_table_size():
    # Issue 15 asks for at least 100 classes of bad input.
    assert len(API) + len(CLI) >= 100


# ------------------------------------------------------------------ edge inputs that are accepted, and right
def test_utf8_bom_csv_reads_like_the_plain_file(files):
    from fairopt.cli.common import read_csv

    Xb, Gb = read_csv(str(files / "bom.csv"), ["x", "y"], ["g"])
    Xp, Gp = read_csv(str(files / "good.csv"), ["x", "y"], ["g"])
    np.testing.assert_array_equal(Xb, Xp)
    np.testing.assert_array_equal(Gb, Gp)
    np.testing.assert_allclose(Xp, X, atol=1e-6)  # the values written, read back


def test_memory_limit_inf_means_no_limit(monkeypatch):
    from fairopt.solvers.resources import memory_budget

    monkeypatch.setenv("FAIROPT_MEMORY_LIMIT", "inf")
    assert memory_budget() == (None, "$FAIROPT_MEMORY_LIMIT (no limit)")
    monkeypatch.setenv("FAIROPT_MEMORY_LIMIT", "1e400")
    with pytest.raises(ValidationError, match="finite number of bytes"):
        memory_budget()


def test_grid_header_constant_is_the_csv_header(tmp_path):
    # The ownership check compares first lines with HEADER: it must be what the grid writes.
    from fairopt.distributed.grid_files import COLUMNS

    assert HEADER.split(",") == list(COLUMNS)

"""FairKMeans and nips19 on Dask arrays (issue 12), on one LocalCluster of 2 in-process workers.

20,000 points in 10 row chunks. Facts recomputed with numpy on the gathered labels: signature
totals of the merged coreset, the violation bound, the cost; and agreement with the in-memory
fit with the same seed (fractional cost within 1%).
"""
import numpy as np
import pytest

pytest.importorskip("dask.distributed")

import dask.array as da  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from fairopt.baselines import nips19  # noqa: E402
from fairopt.coresets import signature_ids  # noqa: E402
from fairopt.distributed.dask_chunks import DaskChunks  # noqa: E402
from fairopt.distributed.dask_coreset import dask_fair_coreset  # noqa: E402
from fairopt.distributed.dask_data import validate_dask_problem  # noqa: E402
from fairopt.exceptions import InfeasibleBoundsError, ValidationError  # noqa: E402
from fairopt.fair.fair_kmeans import FairKMeans  # noqa: E402
from fairopt.fair.kmedian import FairKMedian  # noqa: E402
from fairopt.groups import encode_groups  # noqa: E402
from fairopt.metrics import additive_violation  # noqa: E402
from fairopt.problem import make_fair_problem  # noqa: E402

N, CHUNK, K, DELTA = 20_000, 2_000, 4, 0.1


def make_data(n=N, d=5, seed=0, attributes=1):
    """Four blobs, each with its own group mix (so plain k-means is unfair)."""
    rng = np.random.default_rng(seed)
    blob = rng.integers(0, 4, size=n)
    X = 6.0 * rng.normal(size=(4, d))[blob] + rng.normal(size=(n, d))
    mix = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4], [0.1, 0.2, 0.7]])
    G = (rng.random(n)[:, None] > np.cumsum(mix[blob], axis=1)).sum(axis=1)
    if attributes == 2:
        G = np.column_stack([G, np.where(rng.random(n) < 0.4, "a", "b")]).astype(object)
        G[:, 0] = G[:, 0].astype(int)
    return X, G


def as_dask(X, G, chunk=CHUNK):
    return da.from_array(X, chunks=(chunk, -1)), da.from_array(G, chunks=(chunk,) + G.shape[1:])


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def fits(client, data):
    X, G = data
    Xd, Gd = as_dask(X, G)
    dask_fit = FairKMeans(K, delta=DELTA, random_state=0).fit(Xd, Gd)
    memory_fit = FairKMeans(K, delta=DELTA, random_state=0).fit(X, G)
    return dask_fit, memory_fit


@pytest.mark.parametrize("attributes", [1, 2])
def test_merged_coreset_keeps_every_signature_total(client, attributes):
    X, G = make_data(attributes=attributes, seed=1)
    Xd, Gd = as_dask(X, G)
    w = np.random.default_rng(2).uniform(0.5, 2.0, size=N)
    problem = validate_dask_problem(Xd, Gd, da.from_array(w, chunks=CHUNK), delta=DELTA, client=client)
    cs = dask_fair_coreset(DaskChunks(problem.X, problem.w, problem.sid, client), 1_000, K, np.random.default_rng(0))
    assert cs.size < 2_000
    sid = signature_ids(encode_groups(G, N).codes)  # the in-memory numbering of signatures
    assert np.array_equal(problem.sid.compute(), sid)
    totals = np.bincount(sid, weights=w)
    assert np.allclose(np.bincount(cs.signature, weights=cs.weights, minlength=totals.size), totals, rtol=1e-12)
    assert np.allclose(problem.sig_weight, totals, rtol=1e-12)
    assert np.all(cs.points == X[cs.index])  # every coreset point is a data point (global rows)


def test_labels_meet_the_violation_bound_and_the_reported_cost(fits, data):
    X, G = data
    fk, _ = fits
    assert isinstance(fk.labels_, da.Array) and fk.labels_.chunks[0] == (CHUNK,) * (N // CHUNK)
    labels = fk.labels_.compute()
    assert labels.shape == (N,) and labels.min() >= 0 and labels.max() < K
    violation = additive_violation(labels, G, fk.alpha_, fk.beta_, k=K)
    assert violation <= 2.0
    assert violation == pytest.approx(fk.violation_, abs=1e-9)
    cost = float(((X - fk.cluster_centers_[labels]) ** 2).sum())
    assert cost == pytest.approx(fk.cost_, rel=1e-9)
    # an optimal integral circulation costs no more than phi (the rounding's guarantee)
    assert cost <= fk.fractional_cost_ * (1 + 1e-9)
    assert fk.assignment_ is None and fk.status_ == "optimal"


def test_fractional_cost_within_one_percent_of_the_in_memory_fit(fits):
    fk, fm = fits
    assert abs(fk.fractional_cost_ / fm.fractional_cost_ - 1.0) < 0.01
    assert np.allclose(fk.alpha_, fm.alpha_) and np.allclose(fk.beta_, fm.beta_)
    assert fk.group_labels_ == fm.group_labels_


@pytest.mark.slow  # the fault test repeats a fit with the same seed too
def test_same_seed_same_labels(client, fits, data):
    fk, _ = fits
    again = FairKMeans(K, delta=DELTA, random_state=0).fit(*as_dask(*data))
    assert np.array_equal(again.cluster_centers_, fk.cluster_centers_)
    assert np.array_equal(again.labels_.compute(), fk.labels_.compute())


def test_nips19_on_dask(client):
    X, G = make_data(n=6_000, seed=6)
    res = nips19(*as_dask(X, G, chunk=600), K, delta=DELTA, random_state=0)
    ref = nips19(X, G, K, delta=DELTA, random_state=0)
    labels = res.labels.compute()
    assert additive_violation(labels, G, *_bounds(G)) == pytest.approx(res.violation, abs=1e-9)
    assert res.violation <= 2.0
    assert abs(res.fractional_cost / ref.fractional_cost - 1.0) < 0.01


def _bounds(G):
    fk = FairKMeans(K, delta=DELTA)
    g = encode_groups(G, len(G))
    shares = g.group_weights(np.ones(len(G))) / len(G)
    return np.minimum(shares / (1 - fk.delta), 1.0), shares * (1 - fk.delta)


def test_overlapping_groups_on_dask(client):
    X, G = make_data(n=3_000, attributes=2, seed=3)
    fk = FairKMeans(3, delta=0.2, coreset_size=600, n_candidates=100, random_state=0).fit(*as_dask(X, G, chunk=300))
    labels = fk.labels_.compute()
    violation = additive_violation(labels, G, fk.alpha_, fk.beta_, k=3)
    assert violation == pytest.approx(fk.violation_, abs=1e-9)
    assert violation <= (1 + fk.alpha_.max()) * 5  # Bera et al.: (1 + max alpha)(2 Delta + 1), Delta = 2


def test_dask_dataframe_input(client):
    dd = pytest.importorskip("dask.dataframe")
    X, G = make_data(n=3_000, seed=7)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "g": np.array(["p", "q", "r"])[G]})
    df = dd.from_pandas(frame, npartitions=4)
    fk = FairKMeans(3, delta=0.2, coreset_size=600, n_candidates=100, random_state=0).fit(df[["a", "b"]], df["g"])
    labels = fk.labels_.compute()
    assert labels.shape == (3_000,) and fk.group_labels_ == ["p", "q", "r"]
    assert additive_violation(labels, frame["g"].to_numpy(), fk.alpha_, fk.beta_, k=3) == pytest.approx(fk.violation_)


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.value


@pytest.mark.parametrize("case", ["nan", "single_label", "infeasible", "negative_weight"])
def test_bad_input_gives_the_in_memory_error(client, case):
    X, G = make_data(n=4_000, seed=4)
    w, kwargs = None, {"delta": DELTA}
    if case == "nan":
        X = X.copy()
        X[[2_345, 3_001], 1] = np.nan
    elif case == "single_label":
        G = np.zeros(len(G), dtype=int)
    elif case == "infeasible":
        kwargs = {"delta": None, "alpha": {0: 0.1, 1: 1.0, 2: 1.0}}
    else:
        w = np.ones(len(G))
        w[1_234] = -1.0
    Xd, Gd = as_dask(X, G, chunk=500)
    wd = None if w is None else da.from_array(w, chunks=500)
    memory = _error(lambda: FairKMeans(K, **kwargs).fit(X, G, sample_weight=w))
    on_dask = _error(lambda: FairKMeans(K, **kwargs).fit(Xd, Gd, sample_weight=wd))
    assert type(on_dask) is type(memory) and isinstance(memory, ValidationError)
    assert str(on_dask) == str(memory)
    if case == "infeasible":
        assert isinstance(on_dask, InfeasibleBoundsError)


def test_other_bad_input(client):
    X, G = make_data(n=1_000, seed=5)
    Xd, Gd = as_dask(X, G, chunk=250)
    with pytest.raises(ValidationError, match="groups must have shape"):
        FairKMeans(K).fit(Xd, Gd[:-1])
    with pytest.raises(ValidationError, match="larger than the number of points"):
        FairKMeans(2_000).fit(Xd, Gd)
    with pytest.raises(ValidationError, match="coreset_size=None"):
        FairKMeans(K, coreset_size=None).fit(Xd, Gd)
    with pytest.raises(ValidationError, match="does not fit dask arrays"):
        FairKMedian(K).fit(Xd, Gd)
    with pytest.raises(ValidationError, match="identical"):
        FairKMeans(K).fit(da.ones((1_000, 2), chunks=(250, 2)), Gd)
    with pytest.raises(ValidationError, match="sample_weight other than ones"):
        FairKMeans(K).fit(Xd, Gd, sample_weight=da.full(1_000, 2.0, chunks=250))
    with pytest.raises(ValidationError, match="objective='kmeans' only"):
        nips19(Xd, Gd, K, objective="kmedian")


def test_predict_on_dask_arrays_stays_lazy_and_agrees_with_numpy(client, data, fits):
    X, G = data
    Xd, Gd = as_dask(X, G)
    dask_fit, _ = fits
    C = dask_fit.cluster_centers_
    # without groups: the nearest centre of every row, a lazy array with X's row chunks
    near = dask_fit.predict(Xd)
    assert near.chunks[0] == Xd.chunks[0]
    np.testing.assert_array_equal(near.compute(), ((X[:, None, :] - C[None]) ** 2).sum(axis=2).argmin(axis=1))
    # with groups, on the training data: the fit's own final step at its own centres, so its labels
    fair = dask_fit.predict(Xd, Gd)
    assert fair.chunks[0] == Xd.chunks[0]
    np.testing.assert_array_equal(fair.compute(), dask_fit.labels_.compute())
    # on new data: the violation bound recomputed with numpy, cost within 1% of the in-memory predict
    X2, G2 = make_data(n=6_000, seed=9)
    lab = dask_fit.predict(*as_dask(X2, G2, chunk=1_000)).compute()
    ref = dask_fit.predict(X2, G2)
    P = make_fair_problem(X2, G2, delta=DELTA)
    assert additive_violation(lab, P.groups.membership, P.alpha, P.beta, k=K) <= 2 + 1e-9

    def cost(labels):
        return float(((X2 - C[labels]) ** 2).sum())

    assert cost(lab) == pytest.approx(cost(ref), rel=0.01)


def test_predict_with_groups_on_dask_needs_an_estimator_with_a_dask_path(client, data):
    X, G = data
    fitted = FairKMedian(K, delta=DELTA, random_state=0, candidates="kdtree+seeds", n_candidates=60).fit(X[:400], G[:400])
    Xd, Gd = as_dask(X, G)
    with pytest.raises(ValidationError, match="does not run on dask arrays"):
        fitted.predict(Xd, Gd)
    np.testing.assert_array_equal(fitted.predict(Xd).compute(), fitted.predict(X))  # nearest: works lazily
    with pytest.raises(ValidationError, match="features"):
        fitted.predict(Xd[:, :3])


def test_score_on_dask_arrays_is_the_chunkwise_cost_of_predict(client, data, fits):
    X, G = data
    dask_fit, _ = fits
    Xd, Gd = as_dask(X, G)
    C = dask_fit.cluster_centers_
    near = ((X[:, None, :] - C[None]) ** 2).sum(axis=2)
    assert dask_fit.score(Xd) == pytest.approx(-near.min(axis=1).sum(), rel=1e-12)
    w = np.random.default_rng(4).uniform(0.5, 2.0, size=N)
    assert dask_fit.score(Xd, sample_weight=da.from_array(w, chunks=3_000)) == pytest.approx(
        -(w * near.min(axis=1)).sum(), rel=1e-12)
    # with groups: the fair labels of predict, which on the training data are labels_
    labels = dask_fit.labels_.compute()
    assert dask_fit.score(Xd, Gd) == pytest.approx(-((X - C[labels]) ** 2).sum(), rel=1e-12)
    # a dask DataFrame (partitions of unknown length) as X
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    import dask.dataframe as dd

    assert dask_fit.score(dd.from_pandas(df, npartitions=3)) == pytest.approx(-near.min(axis=1).sum(), rel=1e-12)

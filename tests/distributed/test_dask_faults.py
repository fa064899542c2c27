"""Faults on a Dask cluster of worker processes (issue 12): a worker killed mid-fit, an error on a worker.

The kill is deterministic: a wrapper around the chunk function of one pass makes the worker
process exit (``os._exit``) the first time it reaches a given chunk, leaving a marker file so
the recomputed task goes through. The nanny restarts the worker, the scheduler reruns the lost
tasks, and the fit must end with the same labels as an undisturbed fit with the same seed.
"""
import os
import sys

import numpy as np
import pytest

pytest.importorskip("dask.distributed")

import cloudpickle  # noqa: E402
import dask.array as da  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import fairopt.fair.dask_fit as dask_fit  # noqa: E402
from fairopt.distributed.dask_chunks import DaskChunks  # noqa: E402
from fairopt.exceptions import ValidationError  # noqa: E402
from fairopt.fair.fair_kmeans import FairKMeans  # noqa: E402

# The wrappers below are defined here, so they travel to the worker processes by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

N, CHUNK, K = 4_800, 600, 3  # n <= the screening sample (5,000): no dual passes over all points


class ExitOnce:
    """Run ``fn`` on a chunk, except the first time the chunk at row ``offset`` comes: exit the worker."""

    def __init__(self, fn, offset, marker):
        self.fn, self.offset, self.marker = fn, offset, marker

    def __call__(self, X, w, sid, offset, *args):
        if offset == self.offset and not os.path.exists(self.marker):
            with open(self.marker, "w") as fh:
                fh.write(str(os.getpid()))
            os._exit(1)  # the worker process dies with the task in flight
        return self.fn(X, w, sid, offset, *args)


def raise_on_chunk(X, w, sid, offset):
    if offset == 2 * CHUNK:
        raise ValidationError(f"bad chunk at row {offset}")
    return X.shape[0]


def make_data(n=N, seed=0):
    rng = np.random.default_rng(seed)
    blob = rng.integers(0, 3, size=n)
    X = 5.0 * rng.normal(size=(3, 4))[blob] + rng.normal(size=(n, 4))
    G = np.where(rng.random(n) < np.array([0.2, 0.5, 0.8])[blob], 1, 0)
    return da.from_array(X, chunks=(CHUNK, -1)), da.from_array(G, chunks=CHUNK)


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


def test_worker_killed_mid_fit_gives_the_same_labels(client, tmp_path, monkeypatch):
    Xd, Gd = make_data()
    reference = FairKMeans(K, delta=0.1, random_state=0).fit(Xd, Gd)
    ref_labels = reference.labels_.compute()
    calls = []
    marker = str(tmp_path / "killed")

    class KillingChunks(DaskChunks):
        def map(self, fn, *args):
            calls.append(fn.__name__)
            if len(calls) == 2:  # the first pass after the coreset: the screened LP (2)
                fn = ExitOnce(fn, 5 * CHUNK, marker)
            return super().map(fn, *args)

    monkeypatch.setattr(dask_fit, "DaskChunks", KillingChunks)
    workers_before = set(client.scheduler_info()["workers"])
    again = FairKMeans(K, delta=0.1, random_state=0).fit(Xd, Gd)
    assert os.path.exists(marker), "no worker was killed"
    assert set(client.scheduler_info()["workers"]) != workers_before  # the nanny started a new worker
    assert np.array_equal(again.cluster_centers_, reference.cluster_centers_)
    assert np.array_equal(again.labels_.compute(), ref_labels)
    # a recomputed chunk may sum in another order (last bits): the labels above are the fact
    assert again.cost_ == pytest.approx(reference.cost_, rel=1e-12) and again.violation_ == reference.violation_


def test_an_error_on_a_worker_reaches_the_caller_unchanged(client):
    Xd, Gd = make_data(n=3_000)
    chunks = DaskChunks(Xd, da.ones(3_000, chunks=CHUNK), Gd, client)
    with pytest.raises(ValidationError, match=r"^bad chunk at row 1200$"):
        chunks.map(raise_on_chunk)

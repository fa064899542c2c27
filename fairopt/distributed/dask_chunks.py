"""Row chunks of Dask arrays as seen by the chunk-wise algorithms: run a function on every block.

:class:`DaskChunks` is the Dask twin of :class:`fairopt.assignment.screening.ArrayChunks`: the
object the screened LP (2), the coreset and the summaries iterate over. ``map(fn, *args)`` runs
``fn(X_block, w_block, sid_block, offset, *args)`` on the workers of a ``dask.distributed``
client and gathers only the (small) results, in chunk order; the blocks themselves stay on the
workers and are recomputed from their source (a Parquet file, a generator) at every pass, so
data larger than the cluster's memory go through.

Faults: ``fn`` must be pure and deterministic (a seed derived from the chunk's offset, never a
global stream). A worker lost mid-pass is then harmless: the scheduler recomputes its tasks
elsewhere and the gathered results are the same. An exception raised by ``fn`` on a worker
reaches the caller as the same exception type and message.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from fairopt.distributed.scheduler import connected

__all__ = ["DaskChunks", "map_row_blocks", "row_offsets", "dask_client"]


def row_offsets(array: Any) -> np.ndarray:
    """First row of every row chunk of a dask array, shape (n_chunks,)."""
    sizes = np.asarray(array.chunks[0], dtype=np.int64)
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def map_row_blocks(client: Any, fn: Callable, arrays: tuple, *args: Any) -> list:
    """``[fn(block_1, ..., block_j, offset, *args) for every row chunk]``, computed on ``client``.

    Parameters
    ----------
    client : dask.distributed.Client or None
        None computes with Dask's current scheduler.
    fn : callable
        A module-level (picklable) function; it must not gather or keep its blocks.
    arrays : tuple of dask arrays
        With the same row chunks and (2-D ones) a single column chunk.
    args : small objects (numpy arrays, frozen dataclasses)
        Shared by all tasks: each is one key of the graph, sent once to every worker.

    Returns
    -------
    list
        One result per row chunk, in row order.
    """
    import dask  # optional dependency (fairopt[dist])

    blocks = [a.to_delayed(optimize_graph=False).ravel() for a in arrays]  # keys as in X's graph: no second run_spec for them
    shared = [dask.delayed(a, pure=True) if isinstance(a, np.ndarray) else a for a in args]
    call = dask.delayed(fn, pure=True)
    tasks = [call(*bs, int(off), *shared) for bs, off in zip(zip(*blocks), row_offsets(arrays[0]))]
    if client is None:
        return list(dask.compute(*tasks))
    return client.gather(client.compute(tasks))


class DaskChunks:
    """Row chunks of (X, w, sid) on a Dask cluster, with ``map`` as :class:`ArrayChunks`'s.

    Parameters
    ----------
    X : dask array of shape (n, d), one column chunk
    w : dask array of shape (n,), X's row chunks
    sid : dask array of shape (n,), int64, X's row chunks
    client : dask.distributed.Client or None
    """

    def __init__(self, X: Any, w: Any, sid: Any, client: Any = None):
        self.X, self.w, self.sid, self.client = X, w, sid, client
        self.n, self.d = int(X.shape[0]), int(X.shape[1])
        self.n_chunks = len(X.chunks[0])

    def map(self, fn: Callable, *args: Any) -> list:
        """``[fn(X[a:b], w[a:b], sid[a:b], a, *args) for every row chunk]``, run on the workers."""
        return map_row_blocks(self.client, fn, (self.X, self.w, self.sid), *args)


@contextmanager
def dask_client(scheduler: Any = None) -> Iterator[Any]:
    """The client to run on: ``scheduler`` (an address, a cluster or a Client, see
    :func:`fairopt.distributed.scheduler.connect`), else the current client, else a fresh
    ``LocalCluster`` (one worker process per core) closed on exit."""
    from distributed import (  # optional dependency (fairopt[dist])
        Client,
        LocalCluster,
        get_client,
    )

    if scheduler is not None:
        with connected(scheduler) as client:
            yield client
        return
    try:
        current = get_client()
    except ValueError:
        current = None
    if current is not None:
        yield current
        return
    cluster = LocalCluster(processes=True, dashboard_address=":0")
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()

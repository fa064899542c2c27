"""Fair coresets of data in Dask row chunks: one per chunk on the workers, merged and reduced in the client.

Coresets compose (:mod:`fairopt.coresets`): the union of coresets of disjoint parts is a
coreset of the whole, and a coreset of that union is again one (merge and reduce, Har-Peled and
Mazumdar 2004). :func:`_fair_coreset` keeps every signature's exact total weight at each step,
so the merged coreset's signature totals equal the data's exactly (up to float rounding).

Every chunk draws from its own generator, seeded by (the fit's seed, the chunk's first row),
so a chunk recomputed after a worker loss gives the same coreset.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fairopt.coresets import Coreset, _fair_coreset

__all__ = ["chunk_coreset", "merge_coresets", "dask_fair_coreset"]

#: Coresets unioned at each level of the merge-and-reduce tree.
FAN_IN = 8


def chunk_coreset(X: np.ndarray, w: np.ndarray, sid: np.ndarray, offset: int, size: int, k: int,
                  seed: int) -> Coreset:
    """The fair coreset of one row chunk (run on a worker); ``index`` holds global rows."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(offset)]))
    if X.shape[0] == 0:
        return Coreset(X.reshape(0, X.shape[1]), w[:0], sid[:0].astype(np.int64), np.zeros(0, np.int64))
    cs = _fair_coreset(X, w, sid, size, k, rng)
    return Coreset(cs.points, cs.weights, cs.signature, cs.index + int(offset))


def _union(parts: list) -> Coreset:
    return Coreset(np.vstack([c.points for c in parts]), np.concatenate([c.weights for c in parts]),
                   np.concatenate([c.signature for c in parts]), np.concatenate([c.index for c in parts]))


def _reduce(cs: Coreset, size: int, k: int, rng: np.random.Generator) -> Coreset:
    if cs.size <= size:
        return cs
    red = _fair_coreset(cs.points, cs.weights, cs.signature, size, k, rng)
    return Coreset(red.points, red.weights, red.signature, cs.index[red.index])


def merge_coresets(parts: list, size: int, k: int, rng: np.random.Generator, fan_in: int = FAN_IN) -> Coreset:
    """Merge and reduce: union ``fan_in`` coresets at a time and reduce each union to ``size``.

    Parameters
    ----------
    parts : list of Coreset
        Coresets of disjoint parts of the data, in a fixed order.
    size : int
    k : int
    rng : numpy.random.Generator

    Returns
    -------
    Coreset
        Of about ``size`` points; every signature keeps its exact total weight.
    """
    level = [c for c in parts if c.size] or parts[:1]
    while len(level) > 1:
        level = [_reduce(_union(level[i:i + fan_in]), size, k, rng) for i in range(0, len(level), fan_in)]
    return _reduce(level[0], size, k, rng)


def dask_fair_coreset(chunks: Any, size: int, k: int, rng: np.random.Generator) -> Coreset:
    """A fair coreset of all points of ``chunks`` (:class:`DaskChunks`): per chunk, then merged.

    ``index`` gives the global row of every coreset point.
    """
    seed = int(rng.integers(2**62))
    parts = chunks.map(chunk_coreset, size, k, seed)
    return merge_coresets(parts, size, k, rng)

"""sq_distances and nearest against direct (broadcast) computation."""
import numpy as np
import pytest

from fairopt import distances
from fairopt.distances import nearest, sq_distances


def _direct(A, B):
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)


def test_sq_distances_match_direct_and_are_nonnegative():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(50, 4)), rng.normal(size=(7, 4))
    D = sq_distances(A, B)
    assert D.shape == (50, 7)
    np.testing.assert_allclose(D, _direct(A, B), rtol=1e-10, atol=1e-12)
    assert (sq_distances(A, A) >= 0).all()


def test_precision_far_from_origin():
    # adult-like magnitudes: coordinates ~1e6, neighbours a few units apart.
    rng = np.random.default_rng(1)
    A = 1e6 + rng.normal(size=(20, 3))
    B = A[:5] + 1.0
    np.testing.assert_allclose(sq_distances(A, B), _direct(A, B), rtol=1e-6, atol=1e-6)


def test_chunking_gives_same_result(monkeypatch):
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(101, 3)), rng.normal(size=(9, 3))
    full = sq_distances(A, B)
    idx_full, d_full = nearest(A, B, method="brute")
    monkeypatch.setattr(distances, "CHUNK_ENTRIES", 20)  # chunks of 2 rows
    np.testing.assert_allclose(sq_distances(A, B), full, rtol=1e-12, atol=1e-14)
    idx, d = nearest(A, B, method="brute")
    np.testing.assert_array_equal(idx, idx_full)
    np.testing.assert_allclose(d, d_full, rtol=1e-12)


@pytest.mark.parametrize("method", ["brute", "kdtree", "auto"])
def test_nearest_is_argmin(method):
    rng = np.random.default_rng(3)
    A, B = rng.normal(size=(300, 2)), rng.normal(size=(400, 2))
    idx, d = nearest(A, B, method=method)
    D = _direct(A, B)
    np.testing.assert_array_equal(idx, D.argmin(axis=1))
    np.testing.assert_allclose(d, D.min(axis=1), rtol=1e-12, atol=1e-14)


def test_nearest_exact_zero_for_coincident_points():
    A = np.array([[1e5 + 0.1, 3.3], [2.0, -7.0]])
    idx, d = nearest(A, A[::-1].copy(), method="brute")
    np.testing.assert_array_equal(idx, [1, 0])
    np.testing.assert_array_equal(d, [0.0, 0.0])

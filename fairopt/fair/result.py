"""The one result type of a fair clustering run."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = ["FairClustering"]


@dataclass(frozen=True)
class FairClustering:
    """Everything a fair clustering run produces: Relax and Merge, NIPS19 and ORL21 alike.

    Attributes
    ----------
    centres : ndarray of shape (k, d)
    labels : ndarray of shape (n,), int64
    assignment : scipy.sparse.csr_matrix of shape (n, k) or None
        The fractional LP (2) assignment; None for methods without an LP (fairlets).
    fractional_cost : float
        LP (2) objective on ``centres`` (equal to ``cost`` without an LP).
    cost : float
        k-means cost of ``labels`` to ``centres``.
    violation : float
        Additive violation of ``labels`` (0 for strictly fair methods).
    status : str
        "optimal", or the LP status of a best-effort run.
    seconds : dict of str -> float
        Seconds per stage and ``"total"``.
    info : dict
        Method-specific details (as ``info`` of every other fairopt result).
    """

    centres: np.ndarray
    labels: np.ndarray
    assignment: sp.csr_matrix
    fractional_cost: float
    cost: float
    violation: float
    status: str
    seconds: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    @property
    def extra(self) -> dict:
        """The former name of :attr:`info` (fairopt 0.1)."""
        return self.info

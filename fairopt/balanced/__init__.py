"""Balanced k-means by BalLOT and E-BalLOT (Mixon, Luo).

* :mod:`~fairopt.balanced.ballot`: :class:`BalancedKMeans` (validation, starts, array API in and out).
* :mod:`~fairopt.balanced.alternation`: BalLOT, E-BalLOT and BalLOT with size ranges from given centres.
* :mod:`~fairopt.balanced.entropic`: E-BalLOT's entropic steps (warm-started potentials, one epsilon schedule).
* :mod:`~fairopt.balanced.bounded`: the exact assignment with sizes in [size_min, size_max] (min-cost flow).
* :mod:`~fairopt.balanced.arrays`: namespace helpers (array-api-compat).
* :mod:`~fairopt.balanced.transport`: the exact assignment with prescribed sizes (multiscale min-cost flow).
* :mod:`~fairopt.balanced.transfer_graph`: its optimality certificate (no negative transfer cycle).
* :mod:`~fairopt.balanced.sinkhorn`: log-domain Sinkhorn (one exp pass per iteration) and semi-dual Newton.
* :mod:`~fairopt.balanced.init`: initialisations (k-means++, diameter and clique sampling).
"""
from fairopt.balanced.ballot import BalancedKMeans
from fairopt.balanced.transport import balanced_assignment

__all__ = ["BalancedKMeans", "balanced_assignment"]

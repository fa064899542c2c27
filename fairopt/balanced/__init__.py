"""Balanced k-means by BalLOT and E-BalLOT (Mixon, Luo).

* :mod:`~fairopt.balanced.ballot`: the alternation and :class:`BalancedKMeans`.
* :mod:`~fairopt.balanced.transport`: the exact assignment with prescribed sizes (multiscale min-cost flow).
* :mod:`~fairopt.balanced.transfer_graph`: its optimality certificate (no negative transfer cycle).
* :mod:`~fairopt.balanced.sinkhorn`: the log-domain Sinkhorn of E-BalLOT.
* :mod:`~fairopt.balanced.init`: initialisations (k-means++, diameter and clique sampling).
"""
from fairopt.balanced.ballot import BalancedKMeans
from fairopt.balanced.transport import balanced_assignment

__all__ = ["BalancedKMeans", "balanced_assignment"]

"""Fair k-means by Relax and Merge (Song, Mo, Yang, Ding).

* :mod:`~fairopt.fair.relax_merge`: Algorithm 1 and :class:`FairKMeans`.
* :mod:`~fairopt.fair.rounding`: step 6, the hub-guided circulation (disjoint groups) and
  Bera et al.'s iterative rounding (overlapping groups).
* :mod:`~fairopt.fair.fairlets`: Algorithm 2 and :class:`StrictlyFairKMeans`.
"""
from fairopt.fair.fair_kmeans import FairKMeans
from fairopt.fair.fairlets import StrictlyFairKMeans
from fairopt.fair.result import FairClustering
from fairopt.fair.rounding import round_assignment

__all__ = ["FairKMeans", "FairClustering", "StrictlyFairKMeans", "round_assignment"]

"""The k-sparse Wasserstein barycenter by Relax and Merge (Theorem 2 of the paper).

* :mod:`~fairopt.barycenter.lp16`: LP (16), the fixed-support barycenter, and its solve paths.
* :mod:`~fairopt.barycenter.colgen`: LP (16) by column generation on HiGHS.
* :mod:`~fairopt.barycenter.sparse`: relax, move, merge, solve again: :class:`SparseBarycenter`.
"""
from fairopt.barycenter.lp16 import (
           fixed_support_barycenter,
           solve_lp16,
           validate_measures,
)
from fairopt.barycenter.result import BarycenterResult, barycenter_cost
from fairopt.barycenter.sparse import SparseBarycenter, sparse_barycenter

__all__ = ["SparseBarycenter", "sparse_barycenter", "fixed_support_barycenter", "solve_lp16", "validate_measures",
           "BarycenterResult", "barycenter_cost"]

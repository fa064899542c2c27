"""The matrix form of a linear program, shared by every model's ``to_matrices``.

    minimise    c @ x + offset
    subject to  row_lower <= A @ x <= row_upper
                col_lower <=     x <= col_upper

Variables and rows come in named blocks (``phi`` of shape (n, k), ``mass`` of shape (n,),
...) so that a solution can be split back into arrays shaped like the paper's symbols, and
so that an exported LP file has readable names.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import scipy.sparse as sp

from fairopt.exceptions import ValidationError

__all__ = ["LPMatrices", "stack_blocks"]


@dataclass(frozen=True)
class LPMatrices:
    """A linear program as sparse matrices, with named blocks of variables and rows.

    Attributes
    ----------
    c : ndarray of shape (N,)
        Objective coefficients (minimised).
    A : scipy.sparse.csr_matrix of shape (M, N)
    row_lower, row_upper : ndarray of shape (M,)
        Row bounds; ``-inf``/``inf`` for a missing side, equal for an equality.
    col_lower, col_upper : ndarray of shape (N,)
    var_blocks : dict of str -> tuple of int
        Block name -> shape, in column order; the columns of a block are its entries in
        C (row-major) order.
    row_blocks : dict of str -> tuple of int
        Block name -> shape, in row order.
    offset : float
        Constant added to the objective.
    name : str
    """

    c: np.ndarray
    A: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    var_blocks: dict = field(default_factory=dict)
    row_blocks: dict = field(default_factory=dict)
    offset: float = 0.0
    name: str = "lp"

    @property
    def n_vars(self) -> int:
        return self.A.shape[1]

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]

    def _split(self, vec: np.ndarray, blocks: dict) -> dict:
        out, start = {}, 0
        for nm, shape in blocks.items():
            size = int(np.prod(shape))
            out[nm] = np.asarray(vec[start : start + size]).reshape(shape)
            start += size
        return out

    # Without named blocks, all columns form one block ``x`` and all rows one block ``row``.
    @property
    def _vblocks(self) -> dict:
        return self.var_blocks or {"x": (self.n_vars,)}

    @property
    def _rblocks(self) -> dict:
        return self.row_blocks or {"row": (self.n_rows,)}

    def split_vars(self, x: np.ndarray) -> dict:
        """Split a primal vector of shape (N,) into arrays shaped like the variable blocks."""
        return self._split(x, self._vblocks)

    def split_rows(self, y: np.ndarray) -> dict:
        """Split a row vector of shape (M,) (duals, activities) into the row blocks."""
        return self._split(y, self._rblocks)

    @staticmethod
    def _names(blocks: dict) -> list:
        names = []
        for nm, shape in blocks.items():
            if len(shape) == 0 or int(np.prod(shape)) == 0:
                names += [nm] if len(shape) == 0 else []
                continue
            idx = np.indices(shape).reshape(len(shape), -1).T
            names += [f"{nm}({','.join(map(str, ix))})" for ix in idx.tolist()]
        return names

    def var_names(self) -> list:
        """Readable column names, e.g. ``phi(3,1)``, in column order."""
        return self._names(self._vblocks)

    def row_names(self) -> list:
        """Readable row names, e.g. ``fair_upper(2,0)``, in row order."""
        return self._names(self._rblocks)

    def validate(self) -> "LPMatrices":
        """Check shapes, blocks and values; raise :class:`~fairopt.exceptions.ValidationError`.

        Solvers react badly to inconsistent input (HiGHS silently drops a model with a NaN and
        reports the empty model optimal), so :func:`fairopt.solvers.core` calls this first.
        """
        M, N = self.A.shape
        for nm, arr, size in (("c", self.c, N), ("row_lower", self.row_lower, M), ("row_upper", self.row_upper, M),
                              ("col_lower", self.col_lower, N), ("col_upper", self.col_upper, N)):
            if np.shape(arr) != (size,):
                raise ValidationError(f"LPMatrices {self.name!r}: {nm} must have shape ({size},) to match A {self.A.shape}; got {np.shape(arr)}")
            if np.isnan(arr).any():
                raise ValidationError(f"LPMatrices {self.name!r}: {nm} contains NaN")
        if not np.all(np.isfinite(self.c)) or not np.isfinite(self.offset):
            raise ValidationError(f"LPMatrices {self.name!r}: the objective c (or offset) contains inf")
        data = sp.csr_matrix(self.A).data
        if not np.all(np.isfinite(data)):
            raise ValidationError(f"LPMatrices {self.name!r}: A contains NaN or inf")
        for kind, lo, up in (("row", self.row_lower, self.row_upper), ("col", self.col_lower, self.col_upper)):
            bad = np.flatnonzero(lo > up)
            if bad.size:
                raise ValidationError(
                    f"LPMatrices {self.name!r}: {kind}_lower > {kind}_upper at {kind} {bad[0]} ({lo[bad[0]]} > {up[bad[0]]})"
                )
        for nm, blocks, size in (("var_blocks", self.var_blocks, N), ("row_blocks", self.row_blocks, M)):
            total = sum(int(np.prod(shape)) for shape in blocks.values())
            if blocks and total != size:
                raise ValidationError(f"LPMatrices {self.name!r}: {nm} cover {total} entries but there are {size}")
        return self

    def check(self, x: np.ndarray, tol: float = 1e-7) -> float:
        """Largest violation of a row or column bound by ``x`` (0 when feasible)."""
        ax = self.A @ x
        viol = [
            np.max(self.row_lower - ax, initial=0.0),
            np.max(ax - self.row_upper, initial=0.0),
            np.max(self.col_lower - x, initial=0.0),
            np.max(x - self.col_upper, initial=0.0),
        ]
        return float(max(viol))


def stack_blocks(rows: Iterable[tuple[str, tuple, sp.spmatrix, np.ndarray, np.ndarray]]) -> tuple:
    """Stack row blocks ``(name, shape, A_block, lower, upper)`` into one (A, lower, upper, blocks)."""
    names, mats, lows, ups = {}, [], [], []
    for nm, shape, mat, lo, up in rows:
        names[nm] = tuple(shape)
        mats.append(sp.csr_matrix(mat))
        lows.append(np.broadcast_to(np.asarray(lo, dtype=float), (mat.shape[0],)))
        ups.append(np.broadcast_to(np.asarray(up, dtype=float), (mat.shape[0],)))
    A = sp.vstack(mats, format="csr") if mats else sp.csr_matrix((0, 0))
    return A, np.concatenate(lows), np.concatenate(ups), names

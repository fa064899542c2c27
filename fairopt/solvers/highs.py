"""HiGHS through highspy: matrices solved and written directly, and the shared ``new_highs`` factory.

The column generations of LP (2) and LP (16) build their incremental masters on
:func:`new_highs` and :func:`pass_model`.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

from fairopt.exceptions import ValidationError
from fairopt.solvers.matrices import LPMatrices
from fairopt.solvers.result import WITH_SOLUTION, SolveResult

_INF = 1e30


def highs_status(h) -> tuple[str, str]:
    """Map a highspy model status to fairopt's status names."""
    import highspy

    st = h.getModelStatus()
    S = highspy.HighsModelStatus
    table = {
        S.kOptimal: "optimal",
        S.kInfeasible: "infeasible",
        S.kUnbounded: "unbounded",
        S.kUnboundedOrInfeasible: "infeasible_or_unbounded",
        S.kTimeLimit: "time_limit",
        S.kIterationLimit: "iteration_limit",
        S.kInterrupt: "interrupted",
        S.kModelEmpty: "optimal",
    }
    return table.get(st, "error"), h.modelStatusToString(st)


def highs_lp(lp: LPMatrices, names: bool = False):
    """Build a ``highspy.HighsLp`` from matrices (column-wise CSC, as HiGHS stores it)."""
    import highspy

    A = sp.csc_matrix(lp.A)
    A.sort_indices()
    h_lp = highspy.HighsLp()
    h_lp.num_col_ = lp.n_vars
    h_lp.num_row_ = lp.n_rows
    h_lp.col_cost_ = np.asarray(lp.c, dtype=np.float64)
    h_lp.col_lower_ = np.clip(lp.col_lower, -_INF, _INF)
    h_lp.col_upper_ = np.clip(lp.col_upper, -_INF, _INF)
    h_lp.row_lower_ = np.clip(lp.row_lower, -_INF, _INF)
    h_lp.row_upper_ = np.clip(lp.row_upper, -_INF, _INF)
    h_lp.offset_ = float(lp.offset)
    h_lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    h_lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    h_lp.a_matrix_.index_ = A.indices.astype(np.int32)
    h_lp.a_matrix_.value_ = A.data.astype(np.float64)
    h_lp.a_matrix_.num_col_ = lp.n_vars
    h_lp.a_matrix_.num_row_ = lp.n_rows
    if names:
        h_lp.col_names_ = lp.var_names()
        h_lp.row_names_ = lp.row_names()
        h_lp.model_name_ = lp.name
    return h_lp


_BANNER_SHOWN = False


@contextlib.contextmanager
def _quiet_stdout_fd():
    """Send C-level stdout to /dev/null for the duration (HiGHS prints its banner there)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):  # no real fd 1 (embedded interpreters): leave it be
        yield
        return
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        try:
            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError):
            pass
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def quiet_highs_banner() -> None:
    """Construct the process's first ``highspy.Highs`` silently.

    HiGHS prints a copyright banner on its first construction in a process, before any
    option can be set; ``verbose=False`` should mean no output at all. Later instances
    (ours, CVXPY's, Pyomo's) print no banner.
    """
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return
    import highspy

    with _quiet_stdout_fd():
        highspy.Highs()
    _BANNER_SHOWN = True


def new_highs(time_limit=None, threads=None, options=None, verbose=False):
    """A ``highspy.Highs`` with fairopt's options set (log off unless ``verbose``)."""
    import highspy

    if not verbose:
        quiet_highs_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(verbose))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    for key, val in (options or {}).items():
        if h.setOptionValue(key, val) == highspy.HighsStatus.kError:
            raise ValidationError(f"HiGHS rejected option {key}={val!r}: unknown name or a value of the wrong type/range")
    return h


def solve_matrices(lp, time_limit, threads, options, verbose) -> SolveResult:
    import highspy

    h = new_highs(time_limit, threads, options, verbose)
    # Squared distances of unscaled data reach 1e12 (creditcard): HiGHS then stops with "Solve
    # error". Scale the objective by a power of two (exact in floating point) so that its largest
    # coefficient is about 1, and scale the objective value and the duals back.
    cmax = float(np.max(np.abs(lp.c), initial=0.0))
    scale = 2.0 ** -np.round(np.log2(cmax)) if cmax > 0 and not 1e-2 <= cmax <= 1e4 else 1.0
    h_lp = highs_lp(lp)
    if scale != 1.0 and "dual_feasibility_tolerance" not in (options or {}):
        # After scaling, HiGHS's default dual tolerance (1e-7) leaves a relative objective error of
        # a few 1e-6 on LP (2) (bank: 2.8e-6 against the certified column-generation optimum);
        # 1e-10 matches it exactly at about the same solve time.
        h.setOptionValue("dual_feasibility_tolerance", 1e-10)
    if scale != 1.0:
        h_lp.col_cost_ = np.asarray(lp.c, dtype=np.float64) * scale
        h_lp.offset_ = float(lp.offset) * scale
    if h.passModel(h_lp) == highspy.HighsStatus.kError:
        # Without this check HiGHS keeps an empty model and reports it "optimal" with objective 0.
        raise ValidationError(f"HiGHS rejected the LP {lp.name!r} (bad bounds or coefficients); see LPMatrices.check")
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status, raw = highs_status(h)
    info = h.getInfo()
    values, duals, obj = {}, {}, None
    # primal_solution_status 2 = feasible; an unbounded LP's feasible point is not reported.
    if status == "optimal" or (status in WITH_SOLUTION and info.primal_solution_status == 2):
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        values = lp.split_vars(x)
        obj = float(info.objective_function_value) / scale
        if status == "optimal" and sol.dual_valid:
            duals = lp.split_rows(np.asarray(sol.row_dual) / scale)
    return SolveResult(status, obj, values, duals, seconds, "highs", raw)


def write_matrices(lp: LPMatrices, path: str) -> None:
    """Write matrices to an .lp or .mps file through HiGHS, with the block names."""
    import highspy

    h = new_highs()
    if h.passModel(highs_lp(lp, names=True)) == highspy.HighsStatus.kError:
        raise ValidationError(f"HiGHS rejected the LP {lp.name!r} (bad bounds or coefficients); nothing written")
    if h.writeModel(path) == highspy.HighsStatus.kError:
        raise OSError(f"HiGHS could not write {path}")


class IncrementalLP:
    """A HiGHS LP grown row block by row block and column by column, re-solved warm.

    The restricted master of both column generations (LP (2) in :mod:`fairopt.assignment.master`,
    LP (16) in :mod:`fairopt.barycenter.colgen`): rows are added empty with their bounds,
    columns in compressed sparse column form with their entries, and each :meth:`run` starts from
    the previous basis. Column bounds default to [0, inf).
    """

    def __init__(self, time_limit=None, threads=None, options=None, verbose=False):
        self.h = new_highs(time_limit, threads, options, verbose)

    def add_rows(self, lower: np.ndarray, upper: np.ndarray) -> None:
        """Append ``lower.size`` rows without entries, ``lower <= row <= upper``."""
        size = int(np.size(lower))
        self.h.addRows(size, np.asarray(lower, np.float64), np.asarray(upper, np.float64), 0,
                       np.zeros(size, np.int32), np.zeros(0, np.int32), np.zeros(0))

    def add_columns(self, cost: np.ndarray, starts: np.ndarray, index: np.ndarray, value: np.ndarray) -> None:
        """Append ``cost.size`` columns in [0, inf): column j has entries ``value[starts[j]:starts[j+1]]``
        in rows ``index[starts[j]:starts[j+1]]``."""
        size = int(np.size(cost))
        self.h.addCols(size, np.asarray(cost, np.float64), np.zeros(size), np.full(size, _INF), int(np.size(index)),
                       np.asarray(starts, np.int32), np.asarray(index, np.int32), np.asarray(value, np.float64))

    def set_columns(self, index: np.ndarray, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Change the costs and bounds of the columns ``index`` (the basis is kept)."""
        size, index = int(np.size(index)), np.asarray(index, np.int32)
        self.h.changeColsCost(size, index, np.asarray(cost, np.float64))
        self.h.changeColsBounds(size, index, np.asarray(lower, np.float64), np.asarray(upper, np.float64))

    def delete_columns(self, index: np.ndarray) -> None:
        self.h.deleteCols(int(np.size(index)), np.asarray(index, np.int32))

    def run(self, time_limit: float | None = None, method: str = "simplex") -> tuple[str, str]:
        """Solve from the current basis; returns (status, raw status).

        ``"simplex"`` is warm; ``"ipm"`` is HiGHS's interior point method without crossover
        (no basis, well-centred duals).
        """
        h = self.h
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else float("inf"))
        h.setOptionValue("solver", "ipm" if method == "ipm" else "simplex")
        h.setOptionValue("run_crossover", "off" if method == "ipm" else "on")
        h.run()
        return highs_status(h)

    def status(self) -> tuple[str, str]:
        return highs_status(self.h)

    def solution(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(column values, column duals, row duals) of the current solution."""
        sol = self.h.getSolution()
        return np.asarray(sol.col_value), np.asarray(sol.col_dual), np.asarray(sol.row_dual)

    def objective(self) -> float:
        return float(self.h.getInfo().objective_function_value)

    def iterations(self) -> int:
        return int(self.h.getInfo().simplex_iteration_count)

    def ipm_iterations(self) -> int:
        return int(self.h.getInfo().ipm_iteration_count)

    def crossover(self) -> bool:
        """Turn the current interior solution into a basic one; False when no valid basis results."""
        self.h.crossover(self.h.getSolution())
        return self.h.getInfo().basis_validity == 1

    def basis(self, n_cols: int, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """Column and row basis statuses as HiGHS's integers."""
        b = self.h.getBasis()
        return (np.fromiter((int(v) for v in b.col_status), dtype=np.int64, count=n_cols),
                np.fromiter((int(v) for v in b.row_status), dtype=np.int64, count=n_rows))

    def set_basis(self, col_status: np.ndarray, row_status: np.ndarray) -> bool:
        """Install a basis (statuses as HiGHS integers); False when HiGHS refuses it."""
        import highspy  # core dependency, loaded on first use

        S = highspy.HighsBasisStatus
        table = {int(v): v for v in (S.kLower, S.kBasic, S.kUpper, S.kZero, S.kNonbasic)}
        b = highspy.HighsBasis()
        b.col_status = [table[int(v)] for v in col_status]
        b.row_status = [table[int(v)] for v in row_status]
        b.valid = True
        b.alien = False
        return self.h.setBasis(b) != highspy.HighsStatus.kError

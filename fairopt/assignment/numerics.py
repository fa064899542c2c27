"""Scale-proof LP (2): normalise the data before any solver sees it, certify what comes back.

Every solver behind LP (2) works with absolute tolerances (HiGHS, GLPK, CBC: 1e-7 to 1e-9 on
primal and dual feasibility; Clarabel on its residuals). Weights of 1e-9 then fall below the
primal tolerance (the LP "solves" with phi = 0), weights of 1e7 or costs of 1e-4 leave the
reduced-cost test meaningless. LP (2) is homogeneous:

    phi*(a w, b X, b C) = a phi*(w, X, C),    OPT(a w, b X, b C) = a b^2 OPT(w, X, C)

and translation-invariant in (X, C), so the paths solve it on data shifted by the mean point
and scaled by powers of two (exact in floating point) to unit mean weight and unit mean squared
distance to that mean, and the result is mapped back.

A reported optimum is then checked independently of the solver (:func:`certify`): the
assignment must be finite, non-negative, carry every point's mass and meet every fairness
row, and its objective is recomputed from the data. Where the path returns duals, the
Lagrangian bound

    L(y) = sum_x w(x) y_x + sum_x w(x) min(0, min_c rc(x, c)) + W_tot sum_c min(0, rc_W(c))

(valid for any multipliers of the right signs because phi(x, c) <= w(x) and W(c) <= W_tot)
must meet the objective to ``rtol``; the column generation carries its own pricing
certificate (:mod:`fairopt.assignment.colgen`). A check that fails turns the status into
``"inaccurate"``: never "optimal" with a wrong answer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from fairopt.exceptions import ValidationError

__all__ = ["Scaling", "normalise", "certify", "RTOL"]

#: Relative agreement of a certified LP (2) optimum with its bound and its recomputed cost.
RTOL = 1e-7


def _pow2(x: float) -> float:
    """The power of two nearest to x > 0 (1 for 0 or non-finite)."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    return float(np.ldexp(1.0, int(np.round(np.log2(x)))))


@dataclass(frozen=True)
class Scaling:
    """LP (2) data normalised as x' = (x - shift) / length, w' = w / mass."""

    shift: np.ndarray
    length: float
    mass: float
    power: int = 2  # cost ||x - c||^power: 2 for k-means; an objective with another power sets it

    @property
    def cost(self) -> float:
        """Objective units: OPT = mass * length^power * OPT'."""
        return self.mass * self.length**self.power


def normalise(points: np.ndarray, weights: np.ndarray, centres: np.ndarray):
    """Shift and power-of-two scale LP (2)'s data to unit mass and unit mean squared spread.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    weights : ndarray of shape (n,)
    centres : ndarray of shape (k, d)

    Returns
    -------
    points, weights, centres : the normalised arrays
    scaling : Scaling

    Raises
    ------
    ValidationError
        When squared distances between points and centres overflow float64 in the caller's
        units (the objective would be inf), e.g. centres at 1e200.
    """
    w = np.asarray(weights, dtype=np.float64)
    shift = points.mean(axis=0)
    P, C = points - shift, centres - shift
    # Spread from the largest coordinate (no squares, so no overflow), refined by the mean square.
    top = max(float(np.max(np.abs(P), initial=0.0)), float(np.max(np.abs(C), initial=0.0)))
    length = _pow2(top)
    P, C = P / length, C / length
    spread = float(np.mean((P**2).sum(axis=1)))
    if spread > 0:
        extra = _pow2(np.sqrt(spread))
        length *= extra
        P, C = P / extra, C / extra
    mass = _pow2(float(w.mean()) if w.size else 1.0)
    reach = np.float64(np.max(np.abs(P), initial=0.0)) + np.float64(np.max(np.abs(C), initial=0.0))
    with np.errstate(over="ignore", invalid="ignore"):
        worst = reach**2 * points.shape[1] * np.float64(length) ** 2 * np.float64(w.sum())
    if not np.isfinite(worst):
        raise ValidationError(
            f"points and centres lie up to {reach * length:.3g} apart: squared distances (or the LP (2) objective) "
            "overflow float64; rescale the data (e.g. divide X and the centres by the standard deviation of X)"
        )
    return P, w / mass, C, Scaling(shift, length, mass)


def _cost_of(phi: sp.spmatrix, X: np.ndarray, C: np.ndarray, power: int = 2) -> float:
    coo = phi.tocoo()
    diff = X[coo.row] - C[coo.col]
    sq = np.einsum("ij,ij->i", diff, diff)
    return float(coo.data @ (sq if power == 2 else sq ** (power / 2)))


def certify(phi, objective, X, w, membership, alpha, beta, C, duals=None, lower_bound=None, rtol=RTOL, power=2):
    """Check a reported LP (2) optimum on the normalised data; return (ok, objective, info).

    Parameters
    ----------
    phi : scipy.sparse matrix of shape (n, k) or None
    objective : float or None
        The solver's objective (normalised units).
    X, w, C : normalised points (n, d), weights (n,), centres (k, d)
    membership : scipy.sparse matrix of shape (n, m), 0/1
    alpha, beta : ndarray of shape (m,)
    duals : dict with "mass" (n,), "total" (k,), "fair_upper", "fair_lower" (m, k), optional
    lower_bound : float, optional
        A certified bound from the path itself (column generation).
    rtol : float
    power : int
        The arc cost is ||x - c||^power (2: LP (2)'s squared distances).

    Returns
    -------
    ok : bool
    objective : float
        Recomputed from phi and the data (nan without phi).
    info : dict
        ``primal_residual``, ``fairness_residual`` (mass units), ``dual_gap`` (relative, when a
        bound is available), ``reason`` when not ok.
    """
    info: dict = {}
    if phi is None:
        return False, float("nan"), {"reason": "no assignment returned"}
    phi = sp.csr_matrix(phi)
    if not np.all(np.isfinite(phi.data)):
        return False, float("nan"), {"reason": "assignment has non-finite entries"}
    cost = _cost_of(phi, X, C, power)
    wtot = float(w.sum())
    scale = max(wtot, 1e-300)
    neg = float(-min(phi.data.min(initial=0.0), 0.0))
    rows = np.asarray(phi.sum(axis=1)).ravel()
    Wc = np.asarray(phi.sum(axis=0)).ravel()
    Wi = np.asarray((sp.csr_matrix(membership).T @ phi).todense())  # (m, k)
    fair = np.maximum(Wi - alpha[:, None] * Wc[None, :], beta[:, None] * Wc[None, :] - Wi)
    info["primal_residual"] = max(float(np.max(np.abs(rows - w), initial=0.0)), neg)
    info["fairness_residual"] = float(max(fair.max(initial=0.0), 0.0))
    # Feasible to rtol of the total mass, as every solver here promises at its default tolerances.
    ptol = rtol * 10 * scale
    if info["primal_residual"] > ptol or info["fairness_residual"] > ptol:
        info["reason"] = (f"assignment infeasible by {max(info['primal_residual'], info['fairness_residual']) / scale:.2e} "
                          "of the total mass")
        return False, cost, info
    if objective is None or not np.isfinite(objective):
        info["reason"] = f"objective {objective!r} is not finite"
        return False, cost, info
    unit = max(abs(cost), 1e-300)
    if abs(float(objective) - cost) > rtol * unit + 1e-12 * scale:
        info["reason"] = f"solver objective {objective:.12g} differs from the recomputed cost {cost:.12g}"
        return False, cost, info
    bound = lower_bound
    if bound is None and duals and all(name in duals for name in ("mass", "total", "fair_upper", "fair_lower")):
        bound = _lagrangian_bound(X, w, membership, alpha, beta, C, duals, power)
    if bound is not None:
        gap = (cost - bound) / unit if np.isfinite(bound) else np.inf
        info["dual_gap"] = float(gap)
        # relative to the cost, with the same absolute floor as the objective check above (a cost
        # of ~0 on the normalised data, e.g. every point on a centre, has no meaningful relative gap)
        if not (gap <= rtol or cost - bound <= 1e-12 * scale):
            info["reason"] = f"dual bound {bound:.12g} leaves a relative gap of {gap:.2e} > {rtol:g}"
            return False, cost, info
    return True, cost, info


def _lagrangian_bound(X, w, membership, alpha, beta, C, duals, power=2) -> float:
    """L(y) of the module docstring from named duals (fairopt's sign convention, signs clipped)."""
    y = np.nan_to_num(np.asarray(duals["mass"], dtype=np.float64).ravel())
    t = np.nan_to_num(np.asarray(duals["total"], dtype=np.float64).ravel())
    k = C.shape[0]
    u = np.minimum(np.nan_to_num(np.asarray(duals["fair_upper"], dtype=np.float64)).reshape(-1, k), 0.0)
    lo = np.maximum(np.nan_to_num(np.asarray(duals["fair_lower"], dtype=np.float64)).reshape(-1, k), 0.0)
    if y.size != X.shape[0] or t.size != k or u.shape[0] != alpha.size:
        return float("-inf")
    D = (X**2).sum(axis=1)[:, None] - 2.0 * X @ C.T + (C**2).sum(axis=1)[None, :]
    D = np.maximum(D, 0.0)
    if power != 2:
        D = D ** (power / 2)
    rc = D - y[:, None] - t[None, :] - sp.csr_matrix(membership) @ (u + lo)
    rc_W = t + alpha @ u + beta @ lo
    wtot = float(w.sum())
    return float(w @ y + w @ np.minimum(rc.min(axis=1), 0.0) + wtot * np.minimum(rc_W, 0.0).sum())

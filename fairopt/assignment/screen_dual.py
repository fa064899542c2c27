"""Start potentials of the screened LP (2): the entropic Lagrangian dual, maximised by Newton's method.

Eliminating W(c) = sum_x phi(x, c), the coupling rows of LP (2) read
sum_x phi(x, c) (1[i in s(x)] - beta_i) >= 0 (multiplier mu_ic >= 0) and
sum_x phi(x, c) (alpha_i - 1[i in s(x)]) >= 0 (nu_ic >= 0), and the Lagrangian dual is

    L(mu, nu) = sum_x w(x) min_c (D(x, c) - P[s(x), c]),
    P[s, c] = sum_i mu_ic (M[s, i] - beta_i) + nu_ic (alpha_i - M[s, i]),

a concave function of only 2 m k variables. Replacing min by the soft-min at temperature eps
makes it smooth, with gradient -(W_i(c) - beta_i W(c)) and -(alpha_i W(c) - W_i(c)) under the
soft assignment (the fairness residuals) and Hessian -(covariance of the soft assignment) / eps,
both summed per signature in one pass over the data. With so few variables the Hessian is cheap
to form and factor, so projected Newton steps (a bound-constrained quadratic model solved in the
client, Levenberg-Marquardt damping, Armijo search) converge in a few passes per temperature where
a first-order method stalls: the dual is badly conditioned (curvature only from the points near a
tie). Temperatures decrease from the scale of the nearest-centre cost, first on a sample, then on
all points, until too few points are near a tie for the Hessian to mean anything.
The potentials only decide which points are fixed: exactness comes from the screened master
and its pricing (:mod:`fairopt.assignment.screening`), so any accuracy here is a speed-up only.

References
----------
M. Cuturi, G. Peyre. A smoothed dual approach for variational Wasserstein problems. SIAM J.
Imaging Sci. 9 (2016). J. Kitagawa, Q. Merigot, B. Thibert. Convergence of a Newton algorithm for
semi-discrete optimal transport. JEMS 21 (2019) (damped Newton on this kind of dual). P. B. Stark,
R. L. Parker. Bounded-variable least-squares. Comput. Stat. 10 (1995). Q. Merigot. A multiscale approach to optimal transport. 2011 (semi-discrete
transport, the same dual in few variables).
"""
from __future__ import annotations

import time

import numpy as np
from scipy.optimize import lsq_linear

from fairopt.assignment.screen_chunks import ScreenState, dual_pass, dual_terms

__all__ = ["potentials_of", "newton_dual", "DenseCosts"]


class DenseCosts:
    """A small weighted point set whose costs are computed once (the client's sample).

    ``map(dual_pass, state, P, eps)`` evaluates on the stored costs; nothing else is supported.
    """

    def __init__(self, D: np.ndarray, wn: np.ndarray, sid: np.ndarray):
        self.D, self.wn, self.sid = D, wn, sid
        self.n = wn.size

    def map(self, fn, state, P, eps, hessian=False) -> list:
        if fn is not dual_pass:
            raise TypeError("DenseCosts evaluates the entropic dual only")
        return [dual_terms(self.D, self.wn, self.sid, P, eps, hessian)]  # D - P[sid] is a new array: D stays


def potentials_of(lam: np.ndarray, sig: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """P (S, k) from the multipliers ``lam`` = (mu, nu) flattened, each (m, k)."""
    M = sig.astype(np.float64)
    m = M.shape[1]
    mu, nu = lam.reshape(2, m, -1)
    return (M - beta) @ mu + (alpha - M) @ nu


def _newton_terms(chunks, state, B, lam, eps) -> tuple[float, np.ndarray, np.ndarray, float, float]:
    """-L, its gradient and Hessian in lam (2 m k,), the soft mass sum_x w'(x) (1 - |pi(x)|^2) and the
    total mass sum_x w'(x).

    P = B Lam with Lam = lam as (2 m, k) (mu stacked over nu) and B = [M - beta, alpha - M] (S, 2 m):
    d L / d Lam = -B^T Q^T and d^2 L / d Lam[j, c] d Lam[l, e] = -sum_s B[s, j] B[s, l] R[s, c, e] / eps.
    """
    k = state.centres.shape[0]
    P = B @ lam.reshape(-1, k)
    parts = chunks.map(dual_pass, state, P, float(eps), True)
    value = sum(p[0] for p in parts)
    Q = sum(p[1] for p in parts)
    R = sum(p[2] for p in parts)
    grad = (B.T @ Q.T).ravel()  # of -L
    H = np.einsum("sj,sl,sce->jcle", B, B, R).reshape(lam.size, lam.size) / eps
    return -value, grad, H, float(np.trace(R, axis1=1, axis2=2).sum()), float(Q.sum())


def _newton_direction(lam, grad, H, rho_min: float = 0.0) -> np.ndarray:
    """argmin over z >= 0 of grad.(z - lam) + (z - lam)^T (H + rho I) (z - lam) / 2, minus lam.

    The quadratic model of -L with the multipliers' signs (a bound-constrained QP in 2 m k
    variables, solved in the client); rho keeps it strictly convex along the directions that
    leave P unchanged up to a constant per signature (H is singular there), and at least
    ``rho_min`` bounds the step where few points are near a tie (the dual is locally linear).
    """
    rho = max(1e-9 * float(np.max(np.diag(H), initial=0.0)), rho_min, 1e-300)
    Hr = H + rho * np.eye(lam.size)
    try:  # the unconstrained Newton step: often already feasible
        d = -np.linalg.solve(Hr, grad)
        if np.all(lam + d >= 0):
            return d
    except np.linalg.LinAlgError:
        pass
    # As bounded least squares: Hr = V diag(e) V^T, A = diag(sqrt e) V^T, b = -diag(1 / sqrt e) V^T grad
    # give |A d - b|^2 / 2 = d^T Hr d / 2 + grad.d + const; BVLS (Stark and Parker) solves it exactly.
    e, V = np.linalg.eigh(Hr)
    e = np.maximum(e, rho)
    A = np.sqrt(e)[:, None] * V.T
    b = -(V.T @ grad) / np.sqrt(e)
    res = lsq_linear(A, b, bounds=(-lam, np.inf), method="bvls", tol=1e-12)
    return res.x


def newton_dual(chunks, state: ScreenState, sig, alpha, beta, lam0: np.ndarray | None, eps_levels,
                maxiter: int = 12, min_soft: float = 0.0, verbose=None,
                deadline: float | None = None) -> tuple[np.ndarray, dict]:
    """Maximise the entropic dual by projected Newton steps at decreasing temperatures.

    Each Newton step takes one pass over the data for the value, gradient and Hessian (2 m k)^2
    (the soft assignment's covariance per signature: :func:`dual_terms`), solves the
    bound-constrained quadratic model in the client and searches along it (Armijo; one pass per
    trial). A temperature ends when a full step moves no potential by more than eps / 20 or
    promises less than a tenth of a point's mass times eps. The sequence ends early when fewer
    than ``min_soft`` points are still near a tie (the Hessian then rests on too few points to be
    trusted), or at ``deadline`` (a ``time.perf_counter()`` value): the potentials found so far
    are as valid a start as any.

    Parameters
    ----------
    chunks : ArrayChunks, DenseCosts or a Dask twin
        The points (``n`` and ``map(dual_pass, state, P, eps, hessian)``).
    state : ScreenState
        Normalised centres and units (its potentials are not used).
    sig : ndarray of shape (S, m), bool
    alpha, beta : ndarray of shape (m,)
    lam0 : ndarray of shape (2 m k,), optional
        Start multipliers (mu over nu, each (m, k) flattened); zeros by default.
    eps_levels : sequence of float
        Temperatures in normalised cost units, largest first.
    maxiter : int
        Newton steps per temperature at most.
    min_soft : float
        In points: stop lowering eps below this many points near a tie.
    verbose : callable, optional
        Called with one line per step.
    deadline : float, optional

    Returns
    -------
    lam : ndarray of shape (2 m k,)
    info : dict
        ``evaluations`` (passes), ``levels`` [(eps, newton steps, soft mass)].
    """
    M = sig.astype(np.float64)
    B = np.hstack([M - beta, alpha - M])
    k = state.centres.shape[0]
    lam = np.zeros(B.shape[1] * k) if lam0 is None else np.asarray(lam0, dtype=np.float64).copy()
    evals, levels, mass, damping = 0, [], None, 1e-6
    eps_levels = [float(e) for e in eps_levels]
    for i, eps in enumerate(eps_levels):
        f, g, H, soft, total = _newton_terms(chunks, state, B, lam, eps)
        evals += 1
        if mass is None:
            mass = total
            unit_mass = mass / max(chunks.n, 1)  # the mean weight of a point (~1 in normalised units)
        steps = 0
        for steps in range(1, int(maxiter) + 1):
            if deadline is not None and time.perf_counter() > deadline:
                break
            d = _newton_direction(lam, g, H, damping * mass / eps)
            slope = float(g @ d)
            predicted = -(slope + 0.5 * float(d @ H @ d))
            if not slope < 0:
                break
            move = float(np.max(np.abs(B @ d.reshape(-1, k)), initial=0.0))
            t = 1.0
            while True:
                cand = np.maximum(lam + t * d, 0.0)
                fc, gc, Hc, sc, _ = _newton_terms(chunks, state, B, cand, eps)
                evals += 1
                if fc <= f + 1e-4 * t * slope or t < 1e-6:
                    break
                t *= 0.5
            if fc > f:
                break
            # Levenberg-Marquardt: trust the model more after a full step that kept its promise
            # (where few points are near a tie the dual is locally linear, and only the damping
            # bounds the step), less after a cut one.
            if t == 1.0 and f - fc >= 0.5 * predicted:
                damping = max(damping / 10.0, 1e-12)
            elif t < 1.0:
                damping = min(damping * 10.0, 1.0)
            lam, f, g, H, soft = cand, fc, gc, Hc, sc
            if verbose:
                verbose(f"  newton eps {eps:.3g} step {steps}: -L {f:.12g} t {t:.3g} move {move:.3g} soft {soft:.1f}")
            if t == 1.0 and (move <= eps / 20 or -slope <= 0.1 * eps * unit_mass):
                break
        levels.append((float(eps), steps, soft))
        # The mass near a tie shrinks about in proportion to eps: stop before a temperature that
        # would leave fewer than min_soft points to carry the Hessian.
        following = eps_levels[i + 1] / eps if i + 1 < len(eps_levels) else 0.0
        if soft * following < min_soft * unit_mass or (deadline is not None and time.perf_counter() > deadline):
            break
    return lam, {"evaluations": evals, "levels": levels}

"""Start potentials of the screened LP (2): the entropic Lagrangian dual, maximised by L-BFGS-B.

Eliminating W(c) = sum_x phi(x, c), the coupling rows of LP (2) read
sum_x phi(x, c) (1[i in s(x)] - beta_i) >= 0 (multiplier mu_ic >= 0) and
sum_x phi(x, c) (alpha_i - 1[i in s(x)]) >= 0 (nu_ic >= 0), and the Lagrangian dual is

    L(mu, nu) = sum_x w(x) min_c (D(x, c) - P[s(x), c]),
    P[s, c] = sum_i mu_ic (M[s, i] - beta_i) + nu_ic (alpha_i - M[s, i]),

a concave function of only 2 m k variables. Replacing min by the soft-min at temperature eps
makes it smooth, with gradient -(W_i(c) - beta_i W(c)) and -(alpha_i W(c) - W_i(c)) under the
soft assignment (the fairness residuals); L-BFGS-B maximises it with one pass over the data per
evaluation, at decreasing eps, first on a sample, then on all points from the sample's optimum.
The potentials only decide which points are fixed: exactness comes from the screened master
and its pricing (:mod:`fairopt.assignment.screening`), so any accuracy here is a speed-up only.

References
----------
M. Cuturi, G. Peyre. A smoothed dual approach for variational Wasserstein problems. SIAM J.
Imaging Sci. 9 (2016). Q. Merigot. A multiscale approach to optimal transport. 2011 (semi-discrete
transport, the same dual in few variables).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from fairopt.assignment.screen_chunks import ScreenState, dual_pass, dual_terms

__all__ = ["potentials_of", "maximise_dual", "DenseCosts"]


class DenseCosts:
    """A small weighted point set whose costs are computed once (the client's sample).

    ``map(dual_pass, state, P, eps)`` evaluates on the stored costs; nothing else is supported.
    """

    def __init__(self, D: np.ndarray, wn: np.ndarray, sid: np.ndarray):
        self.D, self.wn, self.sid = D, wn, sid
        self.n = wn.size

    def map(self, fn, state, P, eps) -> list:
        if fn is not dual_pass:
            raise TypeError("DenseCosts evaluates the entropic dual only")
        return [dual_terms(self.D.copy(), self.wn, self.sid, P, eps)]


def potentials_of(lam: np.ndarray, sig: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """P (S, k) from the multipliers ``lam`` = (mu, nu) flattened, each (m, k)."""
    M = sig.astype(np.float64)
    m = M.shape[1]
    mu, nu = lam.reshape(2, m, -1)
    return (M - beta) @ mu + (alpha - M) @ nu


def maximise_dual(chunks, state: ScreenState, sig, alpha, beta, lam0: np.ndarray | None, eps_levels,
                  maxiter: int = 60) -> tuple[np.ndarray, dict]:
    """Maximise the entropic dual at each temperature in turn; returns (lam, info).

    Parameters
    ----------
    chunks : ArrayChunks or a Dask twin
    state : ScreenState
        Normalised centres and units (its potentials are not used).
    sig : ndarray of shape (S, m), bool
    alpha, beta : ndarray of shape (m,)
    lam0 : ndarray of shape (2 m k,), optional
        Start (zeros by default).
    eps_levels : sequence of float
        Temperatures, in normalised cost units, largest first.
    maxiter : int
        L-BFGS-B iterations per temperature.
    """
    M = sig.astype(np.float64)
    m, k = M.shape[1], state.centres.shape[0]
    lam = np.zeros(2 * m * k) if lam0 is None else np.asarray(lam0, dtype=np.float64).copy()
    evals = [0]

    def negative(lam_flat, eps):
        P = potentials_of(lam_flat, sig, alpha, beta)
        parts = chunks.map(dual_pass, state, P, eps)
        evals[0] += 1
        value = sum(v for v, _ in parts)
        Q = sum(q for _, q in parts)  # (k, S): soft mass of signature s at centre c
        g_mu = -((M - beta).T @ Q.T)     # d L / d mu = -(W_i(c) - beta_i W(c))
        g_nu = -((alpha - M).T @ Q.T)    # d L / d nu = -(alpha_i W(c) - W_i(c))
        return -value, -np.concatenate([g_mu.ravel(), g_nu.ravel()])

    for eps in eps_levels:
        res = minimize(negative, lam, args=(float(eps),), jac=True, method="L-BFGS-B",
                       bounds=[(0.0, None)] * lam.size, options={"maxiter": int(maxiter), "gtol": 1e-10, "ftol": 1e-13})
        lam = res.x
    return lam, {"evaluations": evals[0]}

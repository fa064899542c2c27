"""Log-domain Sinkhorn for the entropic balanced transport (the E-BalLOT assignment step).

    minimise    <D, P> + epsilon * sum_ij P_ij (log P_ij - 1)
    subject to  P 1 = a,   P^T 1 = b,   P >= 0

The optimum is ``P_ij = exp((f_i + g_j - D_ij) / epsilon)`` for dual potentials f (n,) and g
(k,). Sinkhorn alternates the exact row update and the exact column update of the potentials

    f_i = epsilon log a_i - epsilon LSE_j((g_j - D_ij) / epsilon)
    g_j = epsilon log b_j - epsilon LSE_i((f_i - D_ij) / epsilon)

(LSE = log-sum-exp), which never under- or overflows however small epsilon is.

One exponential pass per iteration. With the row maxima m_i = max_j (g_j - D_ij)/epsilon the
row update is one pass E_ji = exp((g_j - D_ij)/epsilon - m_i) in [0, 1], r_i = sum_j E_ji,
f_i/epsilon = log a_i - m_i - log r_i. The coupling after it, P_ij = a_i E_ji / r_i, has exact
rows, and its column sums c_j = sum_i E_ji a_i / r_i are a matrix-vector product. The column
update follows from them without a second pass:

    LSE_i((f_i - D_ij)/epsilon) = log c_j - g_j/epsilon   =>   g_j <- g_j + epsilon (log b_j - log c_j)

and ``sum_j |c_j - b_j| / sum_j b_j`` is the marginal error, also free. A bare log-Sinkhorn
evaluates two log-sum-exps (two passes of exp over the n x k costs) per iteration; this one
evaluates one. A step of g_j is capped at ``_MAX_STEP`` epsilons (a column whose every entry
underflowed has c_j = 0); a partial step of one coordinate of the concave dual toward its
maximiser still increases the dual, so the iteration still converges.

The code is written against the Python array API standard (through ``array_api_compat``, as
scikit-learn and SciPy do): numpy, torch (CPU or GPU), CuPy and any other compliant arrays run
the same lines, on the device of the input. The exponential is taken in place where the
namespace allows it (numpy, CuPy, torch), so one (k, n) temporary is alive besides the costs.

References
----------
M. Cuturi. Sinkhorn distances: lightspeed computation of optimal transport. NeurIPS 2013.
B. Schmitzer. Stabilized sparse scaling algorithms for entropy regularized transport problems.
SIAM J. Sci. Comput. 41(3), 2019 (log-domain updates, epsilon scaling).
G. Peyre, M. Cuturi. Computational optimal transport. Found. Trends Mach. Learn. 11, 2019 (Remark 4.23).
W. Luo, D. G. Mixon. BalLOT: Balanced k-means clustering with optimal transport. arXiv:2512.05926, 2025.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

__all__ = ["SinkhornResult", "sinkhorn_log", "sinkhorn_schedule", "coupling"]

_MAX_STEP = 30.0  # largest change of g_j per iteration, in units of epsilon
_FLOOR = -40.0  # exponents below it are raised to it (see exp_inplace)


@dataclass(frozen=True)
class SinkhornResult:
    """Potentials of an entropic transport.

    Attributes
    ----------
    f : array of shape (n,)
    g : array of shape (k,)
        In the namespace and on the device of the costs.
    epsilon : float
        The regularisation they belong to.
    n_iter : int
        Sinkhorn iterations (all stages of a schedule).
    error : float
        Relative L1 error ``sum_j |P^T 1 - b|_j / sum_j b_j`` of the coupling P(f, g), whose
        rows are exact.
    converged : bool
        ``error <= tol``.
    """

    f: Any
    g: Any
    epsilon: float
    n_iter: int
    error: float
    converged: bool


def exp_inplace(xp: Any, W: Any, floor: float = _FLOOR) -> Any:
    """``exp(max(W, floor))``, overwriting W where the namespace allows it (numpy, CuPy, torch).

    The floor keeps every entry and every product of two entries a normal float (exp(-40)^2 >
    the smallest normal float32, about exp(-87)): subnormal operands make CPU arithmetic and
    matrix products 10-100x slower. Entries under exp(-40) of a row whose largest entry is 1
    change nothing at float precision.
    """
    if array_api_compat.is_numpy_array(W):
        np.maximum(W, floor, out=W)
        return np.exp(W, out=W)
    if array_api_compat.is_cupy_array(W):
        import cupy  # optional backend: only reached with CuPy input

        cupy.maximum(W, floor, out=W)
        return cupy.exp(W, out=W)
    if array_api_compat.is_torch_array(W):
        return W.clamp_(min=floor).exp_()
    return xp.exp(xp.clip(W, min=floor))


@dataclass
class _State:
    """One Sinkhorn iteration's by-products, reused by E-BalLOT's barycentre update."""

    E: Any  # (k, n) exp((g_j - D_ij)/eps - m_i): the one (k, n) temporary
    w: Any  # (n,) a_i / r_i, so P_ij = w_i E_ji
    c: Any  # (k,) column sums of P
    log_f: Any  # (n,) f_i / eps
    lse: Any  # (n,) LSE_j (g_j - D_ij) / eps


def _row_pass(xp: Any, S: Any, gs: Any, log_a: Any, a: Any) -> _State:
    """Row update from scaled costs ``S = -D^T / eps`` (k, n) and ``gs = g / eps`` (k,)."""
    E = S + gs[:, None]
    m = xp.max(E, axis=0)
    E -= m[None, :]
    E = exp_inplace(xp, E)
    r = xp.sum(E, axis=0)
    w = a / r
    c = E @ w
    lse = m + xp.log(r)
    return _State(E, w, c, log_a - lse, lse)


def sinkhorn_scaled(xp: Any, S: Any, a: Any, b: Any, gs: Any, tol: float, max_iter: int,
                    min_iter: int = 1) -> tuple[Any, _State, int, float]:
    """Sinkhorn on scaled costs (inputs trusted; the E-BalLOT inner loop).

    Parameters
    ----------
    xp : array namespace
    S : array of shape (k, n)
        ``-D^T / epsilon``; any per-point constant may be added to a column (it cancels).
    a : array of shape (n,)
    b : array of shape (k,)
    gs : array of shape (k,)
        Warm start ``g / epsilon``.
    tol : float
        Stop when the relative L1 column error is at most ``tol``.
    max_iter, min_iter : int

    Returns
    -------
    gs : array of shape (k,)
        ``g / epsilon`` of the returned state (whose rows are exact).
    state : _State
        The coupling ``P_ij = state.w[i] * state.E[j, i]``, its column sums ``state.c``.
    n_iter : int
    error : float
    """
    log_a, log_b = xp.log(a), xp.log(b)
    total = float(xp.sum(b))
    state = _row_pass(xp, S, gs, log_a, a)
    err = float(xp.sum(xp.abs(state.c - b))) / total
    it = 1
    while it < max_iter and (err > tol or it < min_iter):
        # g_j/eps + log b_j - log c_j is the exact column update (module docstring); the clip
        # keeps it finite when c_j underflowed.
        step = xp.clip(log_b - xp.log(state.c), min=-_MAX_STEP, max=_MAX_STEP)
        gs = gs + step
        state.E = None  # free the previous (k, n) temporary before making the next
        state = _row_pass(xp, S, gs, log_a, a)
        err = float(xp.sum(xp.abs(state.c - b))) / total
        it += 1
    return gs, state, it, err


def newton_scaled(xp: Any, S: Any, a: Any, b: Any, gs: Any, tol: float, max_iter: int) -> tuple[Any, _State, int, float]:
    """Newton's method on the semi-dual, for k small (same inputs and outputs as :func:`sinkhorn_scaled`).

    Eliminating f leaves a smooth concave function of the k column potentials,

        F(g) = sum_j b_j g_j / eps - sum_i a_i LSE_j((g_j - D_ij) / eps),

    with gradient b - c (c the column sums of the row-exact coupling P) and Hessian
    -(diag(c) - P^T diag(1/a) P), a weighted graph Laplacian on the k clusters (its rows sum
    to 0: g is defined up to a constant). One step solves that k x k system (a k x n x k product
    and an O(k^3) solve) and backtracks until F rises (Armijo). Near the optimum it converges
    quadratically, where Sinkhorn's linear rate degrades as epsilon shrinks (Peyre and Cuturi
    2019, Remark 4.23; Brauer et al. 2017 for Sinkhorn-Newton). Each trial point costs the same
    one exponential pass as a Sinkhorn iteration; the Hessian reuses that pass's (k, n) array.

    References
    ----------
    C. Brauer, C. Clason, D. Lorenz, B. Wirth. A Sinkhorn-Newton method for entropic optimal
    transport. arXiv:1710.06635, 2017.
    """
    log_a = xp.log(a)
    total = float(xp.sum(b))
    k = b.shape[0]
    eye = xp.eye(k, dtype=S.dtype, device=array_api_compat.device(S))
    state = _row_pass(xp, S, gs, log_a, a)
    value = float(xp.sum(gs * b)) - float(xp.sum(a * state.lse))
    err = float(xp.sum(xp.abs(state.c - b))) / total
    it = 1
    while it < max_iter and err > tol:
        grad = b - state.c
        # Hessian (negated): diag(c) - E diag(w^2 / a) E^T, formed from E scaled in place (the
        # state is replaced below, so E is not needed afterwards).
        E = state.E
        E *= xp.sqrt(state.w * state.w / a)[None, :]
        L = E @ xp.permute_dims(E, (1, 0))
        state.E = E = None
        L = eye * state.c[None, :] - L
        # Gauge (g + const gives the same coupling) and clusters that share no mass: a ridge
        # of 1e-6 of the largest mass keeps the system regular and barely changes the step.
        L = L + eye * (1e-6 * float(xp.max(state.c)))
        delta = xp.linalg.solve(L, grad[:, None])[:, 0]
        delta = delta - xp.mean(delta)
        top = float(xp.max(xp.abs(delta)))
        t = min(1.0, _MAX_STEP / top) if top > 0 else 1.0
        slope = float(xp.sum(grad * delta))
        while True:
            trial = gs + t * delta
            new = _row_pass(xp, S, trial, log_a, a)
            it += 1
            new_value = float(xp.sum(trial * b)) - float(xp.sum(a * new.lse))
            if new_value >= value + 1e-4 * t * slope or t < 1e-6 or it >= max_iter:
                break
            new.E = None
            t *= 0.5
        gs, state, value = trial, new, new_value
        err = float(xp.sum(xp.abs(state.c - b))) / total
    return gs, state, it, err


def _as_float(xp: Any, x: Any, like: Any) -> Any:
    return xp.asarray(x, dtype=like.dtype, device=array_api_compat.device(like))


def sinkhorn_log(D: Any, a: Any, b: Any, epsilon: float, tol: float = 1e-6, max_iter: int = 1000,
                 g: Any = None) -> SinkhornResult:
    """Log-domain Sinkhorn iterations at one regularisation.

    Parameters
    ----------
    D : array of shape (n, k)
        Costs (any array API array: numpy, torch, CuPy; the result has the same namespace).
    a : array of shape (n,)
        Row marginal (point masses, ones for BalLOT).
    b : array of shape (k,)
        Column marginal (cluster sizes), ``b.sum() == a.sum()``, all positive.
    epsilon : float
        Entropic regularisation, in the units of D. With ``a / a.sum()`` and ``b / b.sum()`` it
        is POT's ``reg`` in ``ot.sinkhorn(a, b, D, reg)``: the optimal couplings agree up to
        the factor ``a.sum()``.
    tol : float
        Stop when the relative L1 column error is at most ``tol``.
    max_iter : int
    g : array of shape (k,), optional
        Warm start of the column potential (zeros by default).

    Returns
    -------
    SinkhornResult
    """
    xp = array_api_compat.array_namespace(D)
    epsilon = float(epsilon)  # numpy scalars are not array API scalars
    S = -xp.permute_dims(D, (1, 0)) / epsilon
    a, b = _as_float(xp, a, S), _as_float(xp, b, S)
    gs = xp.zeros_like(b) if g is None else _as_float(xp, g, S) / epsilon
    gs, state, it, err = sinkhorn_scaled(xp, S, a, b, gs, tol, max_iter)
    return SinkhornResult(state.log_f * epsilon, gs * epsilon, float(epsilon), it, err, err <= tol)


def sinkhorn_schedule(D: Any, a: Any, b: Any, epsilon: float, epsilon0: float | None = None, factor: float = 0.5,
                      tol: float = 1e-6, max_iter: int = 1000, g: Any = None) -> SinkhornResult:
    """Sinkhorn with epsilon scaling: stages epsilon0, epsilon0*factor, ... down to ``epsilon``.

    Intermediate stages stop at a looser tolerance (``sqrt(tol)``); the last one at ``tol``.
    Without a warm start ``g``, ``epsilon0`` defaults to the mean cost (a nearly uniform
    coupling, where Sinkhorn converges in a few iterations); with one, to ``epsilon``.

    Parameters are those of :func:`sinkhorn_log`, plus ``epsilon0`` and ``factor`` in (0, 1).
    """
    xp = array_api_compat.array_namespace(D)
    if epsilon0 is None:
        epsilon0 = epsilon if g is not None else max(float(xp.mean(D)), epsilon)
    stages = [float(epsilon)]
    e = float(epsilon0)
    while e > epsilon * (1.0 + 1e-9):
        stages.insert(-1, e)
        e *= factor
    n_iter, res = 0, None
    for i, eps in enumerate(stages):
        last = i == len(stages) - 1
        res = sinkhorn_log(D, a, b, eps, tol if last else max(tol, math.sqrt(tol)), max_iter, g)
        g = res.g
        n_iter += res.n_iter
    return SinkhornResult(res.f, res.g, res.epsilon, n_iter, res.error, res.converged)


def coupling(D: Any, f: Any, g: Any, epsilon: float) -> Any:
    """``P_ij = exp((f_i + g_j - D_ij) / epsilon)``, shape (n, k), in the namespace of D."""
    xp = array_api_compat.array_namespace(D)
    return xp.exp((f[:, None] + g[None, :] - D) / epsilon)

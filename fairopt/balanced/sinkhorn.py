"""Log-domain Sinkhorn for the entropic balanced transport (the E-BalLOT assignment step).

    minimise    <D, P> + epsilon * sum_ij P_ij (log P_ij - 1)
    subject to  P 1 = a,   P^T 1 = b,   P >= 0

The optimum is ``P_ij = exp((f_i + g_j - D_ij) / epsilon)`` for dual potentials f (n,) and g
(k,). Sinkhorn alternates the exact row update and the exact column update of the potentials

    f_i = epsilon log a_i - epsilon LSE_j((g_j - D_ij) / epsilon)
    g_j = epsilon log b_j - epsilon LSE_i((f_i - D_ij) / epsilon)

(LSE = log-sum-exp), which never under- or overflows however small epsilon is. After a row
update the rows of P are exact, so the marginal error is the column error
``sum_j |P^T 1 - b|_j / sum_j b_j``; it is read off the column update at no extra cost.
Annealing (:func:`sinkhorn_schedule`) runs Sinkhorn at epsilon0 > epsilon1 > ... down to the
target, each stage warm-started from the previous potentials (epsilon scaling).

The array backend follows the input: numpy arrays run on numpy, torch tensors on torch (on the
tensor's device, so on a GPU when the tensor lives there). torch is imported only then.

References
----------
M. Cuturi. Sinkhorn distances: lightspeed computation of optimal transport. NeurIPS 2013.
B. Schmitzer. Stabilized sparse scaling algorithms for entropy regularized transport problems.
SIAM J. Sci. Comput. 41(3), 2019 (log-domain updates, epsilon scaling).
W. Luo, D. G. Mixon. BalLOT: Balanced k-means clustering with optimal transport. arXiv:2512.05926, 2025.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fairopt.distances import sq_distances
from fairopt.exceptions import SolverNotAvailableError

__all__ = ["SinkhornResult", "sinkhorn_log", "sinkhorn_schedule", "coupling", "array_ops"]


@dataclass(frozen=True)
class SinkhornResult:
    """Potentials of an entropic transport.

    Attributes
    ----------
    f : array of shape (n,)
    g : array of shape (k,)
        Same backend (numpy or torch) as the costs.
    epsilon : float
        The regularisation they belong to.
    n_iter : int
        Sinkhorn iterations (all stages of a schedule).
    error : float
        Relative L1 error of the column marginal at the end.
    converged : bool
        ``error <= tol``.
    """

    f: Any
    g: Any
    epsilon: float
    n_iter: int
    error: float
    converged: bool


class _NumpyOps:
    name = "numpy"

    @staticmethod
    def lse(M, axis):
        # M is a temporary: shift and exponentiate in place.
        mx = M.max(axis=axis, keepdims=True)
        M -= mx
        np.exp(M, out=M)
        return np.log(M.sum(axis=axis)) + mx.squeeze(axis)

    asarray = staticmethod(lambda x, like=None: np.asarray(x, dtype=np.float64))
    log = staticmethod(np.log)
    exp = staticmethod(np.exp)
    to_numpy = staticmethod(lambda x: np.asarray(x))
    transpose = staticmethod(lambda x: np.ascontiguousarray(x.T))

    @staticmethod
    def sq_distances(X, C):
        return sq_distances(X, C)


class _TorchOps:
    name = "torch"

    def __init__(self, device=None, dtype=None):
        import torch

        self.torch = torch
        self.device = device
        self.dtype = dtype or torch.float64

    def lse(self, M, axis):
        return self.torch.logsumexp(M, dim=axis)

    def asarray(self, x, like=None):
        t = self.torch
        if like is not None:
            return t.as_tensor(x, dtype=like.dtype, device=like.device)
        return t.as_tensor(x, dtype=self.dtype, device=self.device)

    def log(self, x):
        return self.torch.log(x)

    def exp(self, x):
        return self.torch.exp(x)

    @staticmethod
    def to_numpy(x):
        return x.detach().cpu().numpy()

    @staticmethod
    def transpose(x):
        return x.T.contiguous()

    def sq_distances(self, X, C):
        # Centred on the mean of C for precision, as fairopt.distances.sq_distances.
        shift = C.mean(dim=0)
        Xc, Cc = X - shift, C - shift
        D = (Xc * Xc).sum(1)[:, None] - 2.0 * Xc @ Cc.T + (Cc * Cc).sum(1)[None, :]
        return D.clamp_min(0.0)


def array_ops(x: Any = None, backend: str | None = None, device: Any = None):
    """The array operations for ``x`` (numpy array or torch tensor) or for a named backend.

    ``backend="torch"`` imports torch (raising :class:`~fairopt.exceptions.SolverNotAvailableError`
    with the install line when it is missing) and uses ``device`` (default: ``"cuda"`` when available, else ``"cpu"``).
    """
    if backend is None:
        backend = "torch" if type(x).__module__.startswith("torch") else "numpy"
    if backend == "numpy":
        return _NumpyOps()
    if backend != "torch":
        raise ValueError(f"backend must be 'numpy' or 'torch'; got {backend!r}")
    try:
        import torch
    except ImportError:
        raise SolverNotAvailableError("the torch backend needs PyTorch: pip install 'fairopt[gpu]'  (or: pip install torch)") from None
    if x is not None and type(x).__module__.startswith("torch"):
        return _TorchOps(x.device, x.dtype)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return _TorchOps(torch.device(device))


def coupling(D: Any, f: Any, g: Any, epsilon: float):
    """``P_ij = exp((f_i + g_j - D_ij) / epsilon)``, shape (n, k), in the backend of D."""
    ops = array_ops(D)
    return ops.exp((f[:, None] + g[None, :] - D) / epsilon)


def sinkhorn_log(D: Any, a: Any, b: Any, epsilon: float, tol: float = 1e-6, max_iter: int = 1000,
                 g: Any = None) -> SinkhornResult:
    """Log-domain Sinkhorn iterations at one regularisation.

    Parameters
    ----------
    D : array of shape (n, k)
        Costs (numpy array or torch tensor; the result has the same backend).
    a : array of shape (n,)
        Row marginal (point masses, ones for BalLOT).
    b : array of shape (k,)
        Column marginal (cluster sizes), ``b.sum() == a.sum()``, all positive.
    epsilon : float
        Entropic regularisation, in the units of D.
    tol : float
        Stop when the relative L1 column error is at most ``tol``.
    max_iter : int
    g : array of shape (k,), optional
        Warm start of the column potential (zeros by default).

    Returns
    -------
    SinkhornResult
    """
    ops = array_ops(D)
    return _sinkhorn_t(ops, ops.transpose(D), a, b, epsilon, tol, max_iter, g)


def _sinkhorn_t(ops, Dt, a, b, epsilon, tol, max_iter, g):
    """:func:`sinkhorn_log` on the transposed costs Dt of shape (k, n).

    With k << n the (k, n) layout makes both log-sum-exps reduce over contiguous memory or
    across it in long vectorised strides (about 6x faster in numpy than the (n, k) layout).
    """
    a, b = ops.asarray(a, like=Dt), ops.asarray(b, like=Dt)
    log_a, log_b = ops.log(a), ops.log(b)
    total = float(b.sum())
    g = (Dt[:, 0] * 0.0) if g is None else g
    row = lambda g_: epsilon * (log_a - ops.lse((g_[:, None] - Dt) / epsilon, axis=0))
    col = lambda f_: ops.lse((f_[None, :] - Dt) / epsilon, axis=1)
    it = 0
    f = row(g)
    for it in range(1, max_iter + 1):
        L = col(f)
        # Column sums of P(f, g), whose rows are exact after the row update: exp(g_j/eps + L_j).
        err = float(abs(ops.exp(g / epsilon + L) - b).sum()) / total
        if err <= tol:
            break
        g = epsilon * (log_b - L)
        f = row(g)
    else:
        err = float(abs(ops.exp(g / epsilon + col(f)) - b).sum()) / total
    # (f, g) is consistent: P(f, g) has exact rows and column error ``err``.
    return SinkhornResult(f, g, float(epsilon), it, err, err <= tol)


def sinkhorn_schedule(D: Any, a: Any, b: Any, epsilon: float, epsilon0: float | None = None, factor: float = 0.5,
                      tol: float = 1e-6, max_iter: int = 1000, g: Any = None) -> SinkhornResult:
    """Sinkhorn with epsilon scaling: stages epsilon0, epsilon0*factor, ... down to ``epsilon``.

    Intermediate stages stop at a looser tolerance (``sqrt(tol)``, at most ``max_iter``
    iterations each); the last one at ``tol``. Without a warm start ``g``, ``epsilon0`` defaults
    to the mean cost (a nearly uniform coupling, where Sinkhorn converges in a few iterations);
    with one, to ``epsilon`` (no annealing).

    Parameters are those of :func:`sinkhorn_log`, plus ``epsilon0`` and ``factor`` in (0, 1).
    """
    ops = array_ops(D)
    return _schedule_t(ops, ops.transpose(D), a, b, epsilon, epsilon0, factor, tol, max_iter, g)


def _schedule_t(ops, Dt, a, b, epsilon, epsilon0=None, factor=0.5, tol=1e-6, max_iter=1000, g=None):
    """:func:`sinkhorn_schedule` on the transposed costs Dt of shape (k, n)."""
    if epsilon0 is None:
        epsilon0 = epsilon if g is not None else max(float(Dt.mean()), epsilon)
    stages = [float(epsilon)]
    e = float(epsilon0)
    while e > epsilon * (1.0 + 1e-9):
        stages.insert(-1, e)
        e *= factor
    n_iter = 0
    res = None
    for i, eps in enumerate(stages):
        last = i == len(stages) - 1
        res = _sinkhorn_t(ops, Dt, a, b, eps, tol if last else max(tol, np.sqrt(tol)), max_iter, g)
        g = res.g
        n_iter += res.n_iter
    return SinkhornResult(res.f, res.g, res.epsilon, n_iter, res.error, res.converged)

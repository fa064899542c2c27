"""Arrays in, arrays out in the caller's namespace (the Python array API standard).

BalancedKMeans follows scikit-learn's array API convention: the namespace (numpy, torch, CuPy,
array-api-strict, ...) and the device of X decide where E-BalLOT's iterations run, and the
fitted attributes come back in that namespace and on that device. ``array_api_compat`` gives
every supported library the standard's namespace; the exact transport solvers (OR-Tools, POT,
the transfer-graph polish) are numpy code, so they see a host copy.
"""
from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

__all__ = ["namespace", "to_numpy", "from_numpy", "is_numpy", "foreign", "on_host", "power_of_two_unit"]


def namespace(*arrays: Any) -> Any:
    """The array API namespace of ``arrays``; numpy's for lists, tuples and scalars."""
    arrays = [a for a in arrays if a is not None and not isinstance(a, (list, tuple, int, float))]
    if not arrays:
        return array_api_compat.array_namespace(np.empty(0))
    return array_api_compat.array_namespace(*arrays)


def is_numpy(xp: Any) -> bool:
    return array_api_compat.is_numpy_namespace(xp)


def to_numpy(x: Any) -> np.ndarray:
    """A host numpy array with the values of ``x`` (any array API array, on any device)."""
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_array_api_obj(x):
        # The standard's exchange route for host arrays: DLPack.
        return np.from_dlpack(x)
    return np.asarray(x)


def from_numpy(x: np.ndarray, xp: Any, device: Any = None) -> Any:
    """``x`` in namespace ``xp`` on ``device`` (a no-op for numpy)."""
    if is_numpy(xp):
        return x
    return xp.asarray(x, device=device)


def foreign(X: Any) -> bool:
    """An array of another array-API namespace (torch, CuPy, array-api-strict), not numpy."""
    return array_api_compat.is_array_api_obj(X) and not isinstance(X, np.ndarray)


def on_host(X: Any) -> Any:
    """X as numpy for the input checks when it lives in another namespace; as given otherwise."""
    return to_numpy(X) if foreign(X) else X


def power_of_two_unit(X: np.ndarray) -> float:
    """1.0 for data within 2**-20..2**20 in absolute value, else the power of two nearest its largest entry."""
    top = float(np.max(np.abs(X), initial=0.0))
    if top == 0.0 or 2.0**-20 <= top <= 2.0**20:
        return 1.0
    return 2.0 ** round(np.log2(top))

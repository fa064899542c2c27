"""Progress bars that stay out of the way.

A bar is drawn only when stderr is a terminal and nothing has silenced fairopt:

* the environment variable ``FAIROPT_QUIET`` set to ``1``/``true``/``yes`` (the CLI's ``--quiet``
  sets it), or
* the context manager :func:`quiet` (nestable; it silences every thread while active).

Logs, CI runs and Dask workers (whose stderr is not a terminal) therefore get no bar codes.
"""
from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

__all__ = ["progress_bar", "quiet", "is_quiet", "QUIET_ENV"]

QUIET_ENV = "FAIROPT_QUIET"

_lock = threading.Lock()
_quiet_depth = 0


def is_quiet() -> bool:
    """True while :func:`quiet` is active or ``FAIROPT_QUIET`` asks for silence."""
    if _quiet_depth > 0:
        return True
    return os.environ.get(QUIET_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@contextmanager
def quiet() -> Iterator[None]:
    """Silence every fairopt progress bar inside the ``with`` block.

    Examples
    --------
    >>> with fairopt.progress.quiet():
    ...     FairKMeans(n_clusters=4, progress=True).fit(X, groups)   # no bar
    """
    global _quiet_depth
    with _lock:
        _quiet_depth += 1
    try:
        yield
    finally:
        with _lock:
            _quiet_depth -= 1


def _stderr_is_terminal() -> bool:
    stream = sys.stderr
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


def progress_bar(iterable: Iterable | None = None, total: int | None = None, desc: str | None = None,
                 enabled: bool | None = None, **kwargs: Any):
    """A ``tqdm`` bar on stderr, or a silent stand-in with the same interface.

    Parameters
    ----------
    iterable : iterable, optional
        Wrapped and yielded unchanged; omit it and call ``.update(n)`` by hand.
    total : int, optional
        Number of steps (taken from ``len(iterable)`` when possible).
    desc : str, optional
        Label printed before the bar.
    enabled : bool or None
        None (default): draw only when stderr is a terminal. True: draw even when it is not
        (a log file). False: never. :func:`quiet` and ``FAIROPT_QUIET`` win over all three.
    **kwargs
        Passed to ``tqdm`` (``unit``, ``leave``, ...).

    Returns
    -------
    tqdm.tqdm
        Iterate over it, or use ``update``/``set_postfix``/``close``; it is a context manager.
        ``bar.disable`` is True when nothing is drawn.
    """
    from tqdm import tqdm

    if is_quiet() or enabled is False:
        show = False
    elif enabled is None:
        show = _stderr_is_terminal()
    else:
        show = True
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, total=total, desc=desc, disable=not show, **kwargs)

"""The one place parameters are checked: every message names the user's parameter, the value and the fix.

Public entry points (estimators' ``fit``, ``fair_assignment``, the CLI) call these once; inner
functions trust their inputs (scikit-learn's split of ``kmeans_plusplus`` / ``_kmeans_plusplus``).
Points, weights, groups and bounds are checked in :mod:`fairopt.problem`.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fairopt.exceptions import ValidationError

__all__ = ["check_int", "check_number", "check_choice", "check_bool", "check_random_state", "check_time_limit",
           "check_threads"]


def _integral(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))


def check_int(value: Any, name: str, minimum: int = 1, maximum: int | None = None, allow_none: bool = False) -> int | None:
    """An integer in [minimum, maximum] (booleans refused), or None when ``allow_none``.

    Messages: "``name`` must be a positive integer" (minimum 1), "a non-negative integer"
    (minimum 0), "an integer >= m" otherwise; ", or None" is added when None is allowed.
    """
    if value is None and allow_none:
        return None
    what = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
    if maximum is not None:
        what += f" <= {maximum}"
    if allow_none:
        what += " or None"
    if not _integral(value) or value < minimum or (maximum is not None and value > maximum):
        raise ValidationError(f"{name} must be {what}; got {value!r}")
    return int(value)


def check_number(value: Any, name: str, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, allow_none: bool = False) -> float | None:
    """A finite real number within the given interval (booleans and strings refused)."""
    if value is None and allow_none:
        return None
    ok = (not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))
          and np.isfinite(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if low is not None and high is not None:
            what = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            what = f"a number {'>' if low_open else '>='} {low:g}"
        elif high is not None:
            what = f"a number {'<' if high_open else '<='} {high:g}"
        else:
            what = "a finite number"
        raise ValidationError(f"{name} must be {what}{' or None' if allow_none else ''}; got {value!r}")
    return float(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (exact string match)."""
    if not isinstance(value, str) or value not in choices:
        raise ValidationError(f"{name} must be one of {tuple(choices)}; got {value!r}")
    return value


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValidationError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_random_state(random_state: Any, name: str = "random_state") -> np.random.Generator:
    """``np.random.default_rng(random_state)``, with a :class:`ValidationError` for a bad seed.

    The one source of randomness of a call: the generator is created once and passed down.
    """
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{name} must be None, a non-negative integer or a numpy Generator; got {random_state!r} ({exc})"
        ) from None


def check_time_limit(time_limit: Any, name: str = "time_limit") -> float | None:
    """None, or a positive finite number of seconds."""
    if time_limit is None:
        return None
    if (isinstance(time_limit, (bool, np.bool_)) or not isinstance(time_limit, (int, float, np.integer, np.floating))
            or not np.isfinite(time_limit) or not time_limit > 0):
        raise ValidationError(f"{name} must be a positive number of seconds (or None for no limit); got {time_limit!r}")
    return float(time_limit)


def check_threads(threads: Any, name: str = "threads") -> int | None:
    """None (the solver's default), or a positive number of threads."""
    return check_int(threads, name, minimum=1, allow_none=True)

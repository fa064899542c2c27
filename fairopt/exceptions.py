"""Exceptions raised by fairopt. All derive from :class:`FairoptError`."""
from __future__ import annotations


class FairoptError(Exception):
    """Base class of every error fairopt raises on purpose."""


class ValidationError(FairoptError, ValueError):
    """Bad input detected before any solver runs (shape, NaN/inf, k, labels, bounds)."""


class InfeasibleBoundsError(ValidationError):
    """Fairness bounds that no clustering can satisfy; ``group`` names the culprit."""

    def __init__(self, message: str, group=None):
        super().__init__(message)
        self.group = group


class SolverNotAvailableError(FairoptError, RuntimeError):
    """An unknown solver name, or a known solver that is not installed (the message says how)."""


class SolverLicenseError(FairoptError, RuntimeError):
    """A solver refused the model for licence reasons (e.g. Gurobi's size-limited pip licence)."""


class SolverStatusError(FairoptError, RuntimeError):
    """A solve that ended without a proven optimum (time limit, infeasible, unbounded, error).

    ``result`` holds the :class:`fairopt.solvers.core.SolveResult`, with its ``status``.
    """

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result

    @property
    def status(self):
        return None if self.result is None else self.result.status


class ResourceLimitError(FairoptError, MemoryError):
    """A model estimated too large to build in the available memory."""

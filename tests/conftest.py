"""Shared fixtures: the reference datasets folder and a tiny fair-clustering instance."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATA_HOME = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def data_home() -> Path:
    """Folder of the reference CSV files (``../shared/datasets`` beside the repository)."""
    if not (DATA_HOME / "README.md").is_file() and not any(DATA_HOME.glob("*.csv")):
        pytest.skip(f"reference datasets not found at {DATA_HOME}; tests that read them are skipped")
    return DATA_HOME


@pytest.fixture
def tiny_instance() -> tuple[np.ndarray, np.ndarray]:
    """12 points in 2-D in three well-separated blobs of 4, with 2 disjoint groups of 6.

    The blobs are single-group-heavy (3:1, 1:3, 2:2), so unconstrained k-means with k = 3 is
    unfair while a fair clustering exists. Seeded (seed 0), so identical in every test.
    """
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 8.0]])
    X = np.repeat(centres, 4, axis=0) + 0.5 * rng.normal(size=(12, 2))
    groups = np.array([0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1])
    return X, groups


@pytest.fixture
def replace_everywhere(monkeypatch):
    """``replace_everywhere(real, fn)`` replaces the object ``real`` by ``fn`` in every fairopt module.

    fairopt's modules import functions at their top, so patching the defining module alone
    would miss the modules that call them; every module attribute that *is* ``real`` is replaced.
    """
    import sys

    def replace(real, fn):
        for name, mod in list(sys.modules.items()):
            if name == "fairopt" or name.startswith("fairopt."):
                for attr, val in list(vars(mod).items()):
                    if val is real:
                        monkeypatch.setattr(mod, attr, fn)
        return real

    return replace


@pytest.fixture
def patch_solve(replace_everywhere):
    """``patch_solve(fn)`` replaces :func:`fairopt.solve` everywhere; returns the real one."""
    from fairopt.solvers import core

    return lambda fn: replace_everywhere(core.solve, fn)

"""What the dataset benchmarks share: the data folder, one group attribute per dataset, the results file."""
from __future__ import annotations

import os

from fairopt import datasets
from fairopt.results import write_json

DATA_HOME = os.environ.get("FAIROPT_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets"))
RESULTS = os.path.join(os.path.dirname(__file__), "results")
#: The single group attribute of every dataset in the papers' tables (None: its only one).
SINGLE = {
    "bank": ["marital"], "adult": ["race"], "creditcard": ["MARRIAGE"], "breastcancer": None, "biodeg": None,
    "moons": None, "hypercube": None, "balanced_complex": None, "complex": None, "balanced_cluto": None,
    "cluto": None,
}


def load(name: str, n: int | None):
    """(X, groups) of a dataset subsampled to n points (seed 0), with its single group attribute."""
    return datasets.load(name, data_home=DATA_HOME, max_points=n, random_state=0, attributes=SINGLE.get(name))


def write_result(stem: str, record: dict) -> str:
    """Write ``results/<stem>.json`` whole (replacing the previous run); returns the path."""
    os.makedirs(RESULTS, exist_ok=True)
    return write_json(record, os.path.join(RESULTS, f"{stem}.json"), overwrite=True, indent=1)

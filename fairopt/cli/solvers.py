"""``fairopt solvers``: the LP solvers of the registry and whether each is installed."""
from __future__ import annotations

from fairopt.solvers.registry import SOLVERS, available_solvers


def add_subparser(sub) -> None:
    s = sub.add_parser("solvers", help="list the LP solvers and whether they are installed")
    s.set_defaults(func=run)


def run(args) -> int:
    avail = available_solvers()
    for name, spec in SOLVERS.items():
        print(f"{name:<10}{'installed' if avail[name] else 'missing':<11}{spec.description}"
              + ("" if avail[name] else f"  [{spec.install}]"))
    return 0

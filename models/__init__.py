"""The declarative linear programs of fairopt, one per module (installed as ``fairopt.models``).

Each module declares its LP once per modelling language, with the same names everywhere:

* ``build_pyomo(...)``  -> a Pyomo ``ConcreteModel`` (readable, exportable, any Pyomo solver),
* ``build_cvxpy(...)``  -> a ``cvxpy.Problem`` of vectorised expressions,
* ``to_matrices(...)``  -> :class:`fairopt.solvers.matrices.LPMatrices` for the direct highspy path.

Modules: ``fair_assignment`` (LP (2), k-means or k-median costs), ``fair_kcenter`` (the fair
k-center threshold LP), ``barycenter`` (LP (16)), ``circulation`` (the hub-guided min-cost
circulation of the rounding), ``balanced_transport`` (BalLOT).
"""
from importlib import import_module as _import

__all__ = ["fair_assignment", "fair_kcenter", "barycenter", "circulation", "balanced_transport"]


def __getattr__(name):
    # Import model modules on first use so `import fairopt` stays light.
    if name in __all__:
        return _import(f"{__name__}.{name}")
    raise AttributeError(name)

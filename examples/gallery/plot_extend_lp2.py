"""
Extending LP (2) with a constraint of your own
==============================================

LP (2) is declared once per modelling language in :mod:`fairopt.models.fair_assignment`.
Here every centre gets a capacity U, ``W(c) <= U``, added once in Pyomo and once in CVXPY
under the name ``capacity``; both return the same optimum and the same duals (the change of the
optimal cost per unit of capacity), under that name.
"""
import cvxpy as cp
import numpy as np
import pyomo.environ as pyo
from fairopt.models import fair_assignment as lp2

import fairopt
from fairopt.plot import plot_composition

X, groups = fairopt.datasets.make_fair_blobs(n=90, k=3, random_state=1)
centres = X[[0, 30, 60, 89]]
alpha, beta = fairopt.problem.bounds_from_delta(groups, 0.1)
U = 0.3 * len(X)

m = lp2.build_pyomo(X, centres, groups, alpha, beta)
m.capacity = pyo.Constraint(m.C, rule=lambda m, c: m.W[c] <= U)
res_pyomo = fairopt.solve(m, solver="highs", require_optimal=True)

prob = lp2.build_cvxpy(X, centres, groups, alpha, beta)
cap = prob.var_dict["W"] <= U
cap.label = "capacity"
res_cvxpy = fairopt.solve(cp.Problem(prob.objective, [*prob.constraints, cap]), solver="highs")

print(f"objective: Pyomo {res_pyomo.objective:.6f}, CVXPY {res_cvxpy.objective:.6f}")
print("capacity duals (Pyomo):", np.round(res_pyomo.duals["capacity"], 4))
print("capacity duals (CVXPY):", np.round(res_cvxpy.duals["capacity"], 4))

# %%
# The fractional assignment phi of the extended LP, group shares against the bounds.
fig = plot_composition(res_pyomo.values["phi"], groups, alpha=alpha, beta=beta,
                       title=f"LP (2) with capacity U = {U:.0f}: W = {np.round(res_pyomo.values['W'], 1)}")

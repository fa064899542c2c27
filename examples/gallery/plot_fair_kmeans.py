"""
Fair k-means against k-means
============================

On blobs whose group mix differs from blob to blob, plain k-means gives clusters that are
nearly single-group. :class:`fairopt.FairKMeans` (Relax and Merge) keeps every group's share in
every cluster within ``[r_i (1 - delta), r_i / (1 - delta)]``, at a higher k-means cost. The
right panels show every cluster's composition against those bounds.
"""
import numpy as np
from sklearn.cluster import KMeans

import fairopt
from fairopt.plot import plot_fairness

X, groups = fairopt.datasets.make_fair_blobs(n=240, k=3, group_imbalance=0.8, random_state=0)
groups = np.where(groups == 0, "red", "blue")

# %%
# Plain k-means: fast, cheap and unfair.
km = KMeans(3, n_init=10, random_state=0).fit(X)
fig_kmeans = plot_fairness(X, km.labels_, groups, centres=km.cluster_centers_, delta=0.2,
                           title=f"k-means: cost {km.inertia_:.0f}")

# %%
# Fair k-means with the same number of clusters and the slack delta = 0.2.
fk = fairopt.FairKMeans(3, delta=0.2, n_init=3, random_state=0).fit(X, groups)
fig_fair = plot_fairness(X, fk.labels_, groups, centres=fk.cluster_centers_, delta=0.2,
                         title=f"fair k-means: cost {fk.cost_:.0f}, additive violation {fk.violation_:.2g}")
print(f"k-means cost {km.inertia_:.1f}, fair k-means cost {fk.cost_:.1f} (LP (2): {fk.fractional_cost_:.1f})")

"""
Balanced k-means with BalLOT
============================

:class:`fairopt.BalancedKMeans` minimises the k-means cost over partitions with equal cluster
sizes by alternating an exact optimal transport with the centroid update (BalLOT). On blobs of
unequal sizes k-means follows the blobs; BalLOT keeps n/k points per cluster.
"""
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

import fairopt
from fairopt.plot import plot_clusters

X, _ = make_blobs(n_samples=[150, 60, 30], centers=[[0, 0], [5, 0], [2.5, 4]], random_state=0)

km = KMeans(3, n_init=10, random_state=0).fit(X)
bk = fairopt.BalancedKMeans(3, random_state=0).fit(X)
print("k-means sizes:", np.bincount(km.labels_).tolist(), " BalLOT sizes:", np.bincount(bk.labels_).tolist())

fig_kmeans = plot_clusters(X, km.labels_, centres=km.cluster_centers_,
                           title=f"k-means, sizes {np.bincount(km.labels_).tolist()}")
fig_ballot = plot_clusters(X, bk.labels_, centres=bk.cluster_centers_,
                           title=f"BalLOT, sizes {np.bincount(bk.labels_).tolist()}")

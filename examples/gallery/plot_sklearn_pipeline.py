"""
Fair clustering in a scikit-learn pipeline
==========================================

The estimators are scikit-learn estimators. The groups travel where scikit-learn passes ``y``:
``Pipeline.fit(X, groups)`` hands them to the last step, and ``GridSearchCV.fit(X, groups)``
splits them with ``X`` into folds; :func:`fairopt.cost_scorer` then scores the fair placement of
each held-out fold at the fitted centres (``predict(X, groups)``).
"""
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fairopt
from fairopt.plot import plot_cost_vs_k

X, groups = fairopt.datasets.make_fair_blobs(n=150, k=3, random_state=0)
X = X * [1.0, 50.0]  # features on different scales: standardise first

pipe = make_pipeline(StandardScaler(), fairopt.FairKMeans(3, delta=0.2, n_init=2, random_state=0))
pipe.fit(X, groups)
print(pipe)
new = np.random.default_rng(1).choice(len(X), 12, replace=False)
print("fair labels of 12 points placed together:", pipe.predict(X[new], groups=groups[new]))

# %%
# A search over delta and k: held-out fair cost (minus, so that higher is better).
search = GridSearchCV(pipe, {"fairkmeans__delta": [0.05, 0.2, 0.4], "fairkmeans__n_clusters": [2, 3, 4]},
                      scoring=fairopt.cost_scorer, cv=KFold(3, shuffle=True, random_state=0)).fit(X, groups)
print("best:", search.best_params_)
scores = -search.cv_results_["mean_test_score"].reshape(3, 3)  # rows: delta; columns: k
fig = plot_cost_vs_k([2, 3, 4], {f"delta={d}": scores[i] for i, d in enumerate([0.05, 0.2, 0.4])},
                     ylabel="held-out fair k-means cost", title="GridSearchCV with fairopt.cost_scorer")

"""Figures: valid PNG files of the expected size, bar heights equal to the group shares."""
import os
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
import matplotlib.image as mpimg  # noqa: E402

from fairopt.exceptions import ValidationError  # noqa: E402
from fairopt.plot import (  # noqa: E402
    cluster_shares,
    pca_2d,
    plot_clusters,
    plot_composition,
    plot_cost_vs_k,
    save_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _instance(d=2, n=90, k=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(k), n // k)
    X = rng.normal(size=(n, d)) + 6.0 * rng.normal(size=(k, d))[labels]
    groups = rng.integers(0, 2, size=n)
    return X, labels, groups


def _check_png(path, figsize, dpi):
    with open(path, "rb") as fh:
        assert fh.read(8) == PNG_SIGNATURE
    img = mpimg.imread(path)
    assert img.shape[:2] == (round(figsize[1] * dpi), round(figsize[0] * dpi))
    assert img.std() > 0  # something was drawn


@pytest.mark.parametrize("d", [1, 2, 5])
def test_plot_clusters_writes_png(tmp_path, d):
    X, labels, groups = _instance(d=d)
    centres = np.stack([X[labels == c].mean(axis=0) for c in range(3)])
    fig = plot_clusters(X, labels, groups=groups, centres=centres, figsize=(5, 4), dpi=80)
    title = fig.axes[0].get_title()
    assert ("principal components" in title) == (d > 2)
    path = tmp_path / "clusters.png"
    save_figure(fig, path)
    _check_png(path, (5, 4), 80)


def test_pca_projection_is_the_top_two_components():
    X, _, _ = _instance(d=5)
    Y, (C,), explained = pca_2d(X, X[:3])
    cov = np.cov(Y.T, bias=True)
    evals = np.linalg.eigvalsh(np.cov(X.T, bias=True))[::-1]
    # the projected coordinates are uncorrelated with variances the two largest eigenvalues
    assert np.allclose(np.diag(cov), evals[:2]) and abs(cov[0, 1]) < 1e-9 * evals[0]
    assert explained == pytest.approx(evals[:2].sum() / evals.sum())
    assert np.allclose(C, Y[:3])  # extra arrays go through the same map


def test_composition_bars_equal_group_shares(tmp_path):
    X, labels, groups = _instance()
    rng = np.random.default_rng(1)
    labels = rng.permutation(labels)
    delta = 0.2
    fig = plot_composition(labels, groups, delta=delta, figsize=(6, 4), dpi=70)
    ax = fig.axes[0]
    k, m = 3, 2
    # shares recomputed with numpy: count of group i in cluster c over the size of cluster c
    counts = np.zeros((k, m))
    np.add.at(counts, (labels, groups), 1)
    shares = counts / counts.sum(axis=1, keepdims=True)
    assert len(ax.containers) == m
    for i, bars in enumerate(ax.containers):
        assert np.allclose([p.get_height() for p in bars.patches], shares[:, i])
    heights = np.array([p.get_height() for p in ax.patches]).reshape(m, k)
    assert np.allclose(heights.T, shares)
    # bound ticks: alpha_i = r_i / (1 - delta) (solid) and beta_i = r_i (1 - delta) (dashed)
    r = np.bincount(groups) / groups.size
    ys = sorted({round(float(seg[0][1]), 12) for coll in ax.collections for seg in coll.get_segments()})
    assert np.allclose(ys, sorted(np.round(np.concatenate([r / (1 - delta), r * (1 - delta)]), 12)))
    path = tmp_path / "composition.png"
    save_figure(fig, path)
    _check_png(path, (6, 4), 70)


def test_composition_of_a_fractional_assignment_with_overlapping_groups():
    rng = np.random.default_rng(2)
    n, k = 40, 3
    phi = rng.random((n, k))
    phi /= phi.sum(axis=1, keepdims=True)
    groups = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 3, n)])
    shares, mass, gs = cluster_shares(phi, groups)
    assert gs.n_groups == 5 and np.allclose(mass, phi.sum(axis=0))
    onehot = np.hstack([np.eye(2)[groups[:, 0]], np.eye(3)[groups[:, 1]]])
    assert np.allclose(shares, (phi.T @ onehot) / mass[:, None])
    assert np.allclose(shares[:, :2].sum(axis=1), 1) and np.allclose(shares[:, 2:].sum(axis=1), 1)
    fig = plot_composition(phi, groups)
    heights = np.array([[p.get_height() for p in c.patches] for c in fig.axes[0].containers])
    assert np.allclose(heights.T, shares)
    assert not fig.axes[0].collections  # no bounds asked, no ticks


def test_cost_vs_k(tmp_path):
    ks = [2, 3, 4, 5]
    rng = np.random.default_rng(3)
    seeds = rng.random((4, 3))
    seeds[2, :] = np.nan  # every seed failed at k = 4: a gap
    fig = plot_cost_vs_k(ks, {"relax-merge": [4.0, 3.0, 2.5, 2.0], "nips19": seeds}, figsize=(4, 3), dpi=90)
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    assert np.allclose(lines["relax-merge"].get_ydata(), [4.0, 3.0, 2.5, 2.0])
    y = np.asarray(lines["nips19"].get_ydata(), dtype=float)
    assert np.isnan(y[2]) and np.allclose(y[[0, 1, 3]], seeds[[0, 1, 3]].mean(axis=1))
    path = tmp_path / "cost.png"
    save_figure(fig, path)
    _check_png(path, (4, 3), 90)
    with pytest.raises(ValidationError, match="nips19"):
        plot_cost_vs_k(ks, {"nips19": [1.0, 2.0]})


def test_save_figure_refuses_to_overwrite(tmp_path):
    X, labels, groups = _instance()
    path = tmp_path / "fig.png"
    save_figure(plot_clusters(X, labels), path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        save_figure(plot_composition(labels, groups), path)
    assert path.read_bytes() == before
    save_figure(plot_composition(labels, groups), path, overwrite=True)
    assert path.read_bytes() != before
    assert os.listdir(tmp_path) == ["fig.png"]  # no temporary file left behind
    with pytest.raises(ValidationError, match="extension"):
        save_figure(plot_clusters(X, labels), tmp_path / "fig.xyz")


def test_missing_matplotlib_names_the_extra(monkeypatch):
    X, labels, _ = _instance()
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"pip install 'fairopt\[plot\]'"):
        plot_clusters(X, labels)


def test_plot_fairness_two_panels_with_legends_outside(tmp_path):
    from fairopt.plot import plot_fairness
    X, labels, groups = _instance()
    rng = np.random.default_rng(2)
    groups = rng.choice(["a", "b", "c", "d", "e", "f", "g", "h", "i"], size=labels.size)  # 9 groups, as complex
    centres = np.stack([X[labels == c].mean(axis=0) for c in range(3)])
    fig = plot_fairness(X, labels, groups, centres=centres, delta=0.2, title="t", dpi=60)
    scatter, bars = fig.axes[:2]
    # Bars: the numpy shares of every group in every cluster.
    counts = np.zeros((3, 9))
    np.add.at(counts, (labels, np.searchsorted(list("abcdefghi"), groups)), 1)
    shares = counts / counts.sum(1, keepdims=True)
    for i, cont in enumerate(bars.containers):
        assert np.allclose([p.get_height() for p in cont.patches], shares[:, i])
    # Nine distinct group markers in the scatter's legend, plus the centres and the clusters.
    labels_shown = [t.get_text() for t in scatter.get_legend().get_texts()]
    assert labels_shown[:9] == [f"group {c}" for c in "abcdefghi"] and "centres" in labels_shown
    # Legends sit right of their axes (outside the data).
    fig.canvas.draw()
    for ax in (scatter, bars):
        assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1 - 1
    path = save_figure(fig, tmp_path / "fair.png")
    _check_png(path, tuple(fig.get_size_inches()), 60)

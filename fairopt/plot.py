"""Figures: clusters in the plane, group composition against the bounds, cost against k.

:func:`plot_fairness` draws the two that explain a fair clustering at a glance, side by side:
the clusters (colour = cluster, marker = group) and every cluster's group composition against
the bounds alpha_i, beta_i. Legends sit outside the data.

Every function takes arrays and returns a :class:`matplotlib.figure.Figure` drawn on the Agg
canvas (no display, no pyplot state, safe in worker threads); :func:`save_figure` writes it
whole or not at all. matplotlib is optional: ``pip install 'fairopt[plot]'``.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from fairopt.exceptions import ValidationError
from fairopt.groups import encode_groups
from fairopt.problem import resolve_bounds, validate_points, validate_weights
from fairopt.results import atomic_write

__all__ = ["plot_clusters", "plot_composition", "plot_fairness", "plot_cost_vs_k", "save_figure", "cluster_shares",
           "pca_2d"]

# Filled shapes that stay distinct at small sizes (a thin dark edge separates touching markers);
# "X" is left for the centres.
_MARKERS = ("o", "s", "^", "D", "v", "P", "*", "h", "<", ">", "p", "d")
_OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0, "fontsize": "small"}


def _figure(figsize: tuple, dpi: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("fairopt.plot needs matplotlib: pip install 'fairopt[plot]'") from None
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _colours(n: int) -> list:
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["turbo"](t) for t in np.linspace(0.05, 0.95, n)]


def _group_colours(m: int) -> list:
    from matplotlib import colormaps

    return [colormaps["viridis"](t) for t in np.linspace(0.0, 0.9, m)] if m > 1 else [colormaps["viridis"](0.3)]


def _labels(labels: Any, n: int, name: str = "labels") -> np.ndarray:
    lab = np.asarray(labels)
    if lab.shape != (n,) or lab.dtype.kind not in "iu":
        raise ValidationError(f"{name} must be integers of shape ({n},) (cluster of every point); got {lab.dtype} of shape {lab.shape}")
    if n and lab.min() < 0:
        raise ValidationError(f"{name} must be >= 0; got {lab.min()}")
    return lab.astype(np.int64)


def pca_2d(points: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, list, float]:
    """Project on the first two principal components of ``points``.

    Returns
    -------
    projected : ndarray of shape (n, 2)
    others : list of ndarray of shape (., 2)
        Each extra array (e.g. centres) projected with the same map.
    explained : float
        Share of the variance of ``points`` kept by the two components.
    """
    mean = points.mean(axis=0)
    _, s, vt = np.linalg.svd(points - mean, full_matrices=False)
    basis = vt[:2].T
    total = float((s**2).sum())
    explained = float((s[:2] ** 2).sum() / total) if total > 0 else 1.0
    return (points - mean) @ basis, [(o - mean) @ basis for o in others], explained


def plot_clusters(points: Any, labels: Any, groups: Any = None, centres: Any = None, title: str | None = None,
                  group_attribute: int = 0, figsize: tuple = (6.4, 4.8), dpi: float = 100):
    """Scatter of the points, coloured by cluster, with the group shown by the marker.

    Parameters
    ----------
    points : array-like of shape (n, d)
        For d > 2 the points are projected on their first two principal components (the title
        says so, with the share of variance kept); d = 1 is drawn on a line.
    labels : array-like of int, shape (n,)
        Cluster of every point.
    groups : array-like of shape (n,) or (n, a), optional
        Group labels; with several attributes the markers follow column ``group_attribute``.
    centres : array-like of shape (k, d), optional
        Drawn as large crosses in their cluster's colour.
    title : str, optional
    figsize : (float, float)
        Inches; the PNG is ``figsize * dpi`` pixels.
    dpi : float

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure(figsize, dpi)
    _draw_clusters(fig.add_subplot(), points, labels, groups, centres, title, group_attribute)
    return fig


def _draw_clusters(ax, points, labels, groups, centres, title, group_attribute) -> None:
    X = validate_points(points)
    n, d = X.shape
    lab = _labels(labels, n)
    C = None if centres is None else validate_points(centres, name="centres")
    if C is not None and C.shape[1] != d:
        raise ValidationError(f"centres have {C.shape[1]} columns but points have {d}")
    k = max(int(lab.max(initial=-1)) + 1, 0 if C is None else C.shape[0])

    subtitle = None
    if d > 2:
        XY, proj, explained = pca_2d(X, *([] if C is None else [C]))
        CY = proj[0] if C is not None else None
        subtitle = f"first two principal components of {d}-D data ({100 * explained:.0f}% of variance)"
        xlabel, ylabel = "PC 1", "PC 2"
    elif d == 2:
        XY, CY, xlabel, ylabel = X, C, "x[0]", "x[1]"
    else:
        XY = np.column_stack([X[:, 0], np.zeros(n)])
        CY = None if C is None else np.column_stack([C[:, 0], np.zeros(C.shape[0])])
        xlabel, ylabel = "x[0]", ""

    colours = np.asarray(_colours(max(k, 1)))
    size = 18 if n <= 2000 else 8
    handles = []
    if groups is None:
        ax.scatter(XY[:, 0], XY[:, 1], c=colours[lab], s=size, marker="o", linewidths=0)
    else:
        gs = encode_groups(groups, n)
        if not 0 <= group_attribute < gs.n_attributes:
            raise ValidationError(f"group_attribute must be in [0, {gs.n_attributes - 1}]; got {group_attribute!r}")
        codes = gs.codes[:, group_attribute]
        ids = np.flatnonzero(gs.attribute == group_attribute)
        # matplotlib draws one marker shape per call: one scatter per group.
        for j, g in enumerate(ids):
            mask = codes == g
            ax.scatter(XY[mask, 0], XY[mask, 1], c=colours[lab[mask]], s=size, marker=_MARKERS[j % len(_MARKERS)],
                       edgecolors="0.15", linewidths=0.3)
            handles.append(ax.scatter([], [], c="0.55", s=30, marker=_MARKERS[j % len(_MARKERS)], edgecolors="0.15",
                                      linewidths=0.3, label=f"group {gs.labels[g]}"))
    if CY is not None:
        ax.scatter(CY[:, 0], CY[:, 1], c=colours[np.arange(CY.shape[0]) % len(colours)], s=160, marker="X",
                   edgecolors="black", linewidths=1.2, zorder=3)
        handles.append(ax.scatter([], [], c="white", s=90, marker="X", edgecolors="black", linewidths=1.2,
                                  label="centres"))
    if k <= 12:  # one legend row per cluster colour; beyond that the colours speak for themselves
        handles += [ax.scatter([], [], c=[colours[c]], s=30, marker="o", label=f"cluster {c}") for c in range(k)]
    if handles:
        ax.legend(handles=handles, **_OUTSIDE)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    heading = title if title is not None else f"{k} clusters, {n} points"
    ax.set_title(heading if subtitle is None else f"{heading}\n{subtitle}", fontsize="medium")


def cluster_shares(labels_or_assignment: Any, groups: Any, weights: Any = None, n_clusters: int | None = None):
    """Share of every group in every cluster, W_i(c) / W(c).

    Parameters
    ----------
    labels_or_assignment : array-like of shape (n,) or (n, k) (dense or scipy.sparse)
        Integral labels, or a fractional assignment phi(x, c) whose rows sum to w(x).
    groups : array-like of shape (n,) or (n, a)
    weights : array-like of shape (n,), optional
        Used with labels only.
    n_clusters : int, optional
        k when labels are given (default ``labels.max() + 1``).

    Returns
    -------
    shares : ndarray of shape (k, m)
        0 for an empty cluster.
    mass : ndarray of shape (k,)
        W(c).
    group_structure : fairopt.groups.GroupStructure
    """
    A = labels_or_assignment
    if sp.issparse(A) or np.ndim(A) == 2:
        phi = sp.csr_matrix(A, dtype=np.float64)
        n = phi.shape[0]
    else:
        lab = np.asarray(A)
        n = lab.shape[0] if lab.ndim == 1 else -1
        lab = _labels(lab, n, name="labels_or_assignment")
        k = int(lab.max(initial=-1)) + 1 if n_clusters is None else int(n_clusters)
        if n and lab.max() >= k:
            raise ValidationError(f"labels reach {lab.max()} but n_clusters={k}")
        w = validate_weights(weights, n)
        phi = sp.csr_matrix((w, (np.arange(n), lab)), shape=(n, k))
    gs = encode_groups(groups, n)
    mass = np.asarray(phi.sum(axis=0)).ravel()
    Wi = np.asarray((gs.membership.T @ phi).T.todense())  # (k, m): W_i(c)
    shares = np.divide(Wi, mass[:, None], out=np.zeros_like(Wi), where=mass[:, None] > 0)
    return shares, mass, gs


def plot_composition(labels_or_assignment: Any, groups: Any, alpha: Any = None, beta: Any = None,
                     delta: float | None = None, weights: Any = None, n_clusters: int | None = None,
                     title: str | None = None, figsize: tuple | None = None, dpi: float = 100):
    """Grouped bars of every group's share in every cluster, with the bounds alpha_i, beta_i.

    Bar i of cluster c has height W_i(c) / W(c); over it a solid tick marks alpha_i and a
    dashed tick beta_i, so a bar that pokes out of its ticks is a violated constraint of LP (2).
    Overlapping groups (several attributes) get one bar per group; each attribute's shares
    sum to 1.

    Parameters
    ----------
    labels_or_assignment : array-like of shape (n,) or (n, k)
        Labels or a fractional assignment (see :func:`cluster_shares`).
    groups : array-like of shape (n,) or (n, a)
    alpha, beta : float, array of shape (m,) or mapping, optional
    delta : float in [0, 1), optional
        Bounds from the slack (r_i (1 - delta), r_i / (1 - delta)); no ticks when neither
        bounds nor delta are given.
    weights : array-like of shape (n,), optional
    n_clusters : int, optional
    title : str, optional
    figsize : (float, float), optional
        Grows with k by default.
    dpi : float

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0].containers[i]`` holds the bars of group i (one per cluster).
    """
    shares, mass, gs = cluster_shares(labels_or_assignment, groups, weights=weights, n_clusters=n_clusters)
    k, m = shares.shape
    if figsize is None:
        figsize = (min(max(6.4, 0.35 * k * (m + 1)), 24.0), 4.8)
    fig = _figure(figsize, dpi)
    _draw_composition(fig.add_subplot(), labels_or_assignment, groups, alpha, beta, delta, weights, n_clusters, title)
    return fig


def _draw_composition(ax, labels_or_assignment, groups, alpha, beta, delta, weights, n_clusters, title) -> None:
    shares, mass, gs = cluster_shares(labels_or_assignment, groups, weights=weights, n_clusters=n_clusters)
    k, m = shares.shape
    bounds = None
    if alpha is not None or beta is not None or delta is not None:
        w = validate_weights(weights, gs.n_points) if np.ndim(labels_or_assignment) == 1 else \
            np.asarray(sp.csr_matrix(labels_or_assignment).sum(axis=1)).ravel()
        bounds = resolve_bounds(gs, w, delta=delta, alpha=alpha, beta=beta)
    # Groups in a sequential palette, so they do not read as the clusters' qualitative colours.
    colours = _group_colours(m)
    width = 0.8 / m
    x = np.arange(k, dtype=np.float64)
    for i in range(m):
        xs = x - 0.4 + (i + 0.5) * width
        ax.bar(xs, shares[:, i], width=width * 0.95, color=colours[i], label=f"group {gs.labels[i]}")
        if bounds is not None:
            a, b = bounds
            ax.hlines(np.full(k, a[i]), xs - width / 2, xs + width / 2, colors="black", linewidths=1.6,
                      label="alpha_i (upper bound)" if i == 0 else None)
            ax.hlines(np.full(k, b[i]), xs - width / 2, xs + width / 2, colors="black", linewidths=1.2,
                      linestyles="dashed", label="beta_i (lower bound)" if i == 0 else None)
    unit = "n" if weights is None and np.ndim(labels_or_assignment) == 1 else "W"
    ax.set_xticks(x, [f"{c}\n{unit}={mass[c]:.4g}" for c in range(k)], fontsize="small")
    ax.set_xlabel("cluster")
    ax.set_ylabel("share of the cluster")
    ax.set_ylim(0, min(1.05, 1.15 * max(float(shares.max(initial=0.0)), 0.0 if bounds is None else float(bounds[0].max()))) or 1.0)
    ax.legend(**_OUTSIDE)
    ax.set_title(title if title is not None else "group composition of every cluster", fontsize="medium")


def plot_fairness(points: Any, labels: Any, groups: Any, centres: Any = None, alpha: Any = None, beta: Any = None,
                  delta: float | None = None, weights: Any = None, title: str | None = None, group_attribute: int = 0,
                  figsize: tuple | None = None, dpi: float = 100):
    """The clusters and, beside them, every cluster's group composition against the bounds.

    The figure of ``fairopt fair-kmeans --plot`` in one call: :func:`plot_clusters` (colour =
    cluster, marker = group) beside :func:`plot_composition` (bar i of cluster c is W_i(c) / W(c)
    against a solid tick at alpha_i and a dashed one at beta_i); legends right of the data.

    Parameters
    ----------
    points, labels, groups, centres : array-like
        As in :func:`plot_clusters` (groups are required here).
    alpha, beta, delta, weights : optional
        As in :func:`plot_composition`.
    title : str, optional
    group_attribute : int
        With several group attributes, the column whose groups give the markers.
    figsize : (float, float), optional
        Grows with the number of clusters and groups by default.
    dpi : float

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` holds the clusters, ``fig.axes[1]`` the composition bars
        (``fig.axes[1].containers[i]``: the bars of group i).
    """
    n = validate_points(points).shape[0]
    lab = _labels(labels, n)
    k = int(lab.max(initial=-1)) + 1 if centres is None else max(int(lab.max(initial=-1)) + 1, np.shape(centres)[0])
    m = encode_groups(groups, n).n_groups
    bars = min(max(5.0, 0.2 * k * (m + 1)), 11.0)  # inches for the bars: about 0.2 per bar
    if figsize is None:
        figsize = (6.0 + bars + 3.0, 5.5)  # scatter, bars, and the two legends outside
    fig = _figure(figsize, dpi)
    left, right = fig.subplots(1, 2, width_ratios=[5.0, bars])
    _draw_clusters(left, points, lab, groups, centres, "clusters", group_attribute)
    _draw_composition(right, lab, groups, alpha, beta, delta, weights, k, "group composition against the bounds")
    if title is not None:
        fig.suptitle(title, fontsize="large")
    return fig


def plot_cost_vs_k(k: Sequence[int], costs: Mapping[str, Any], title: str | None = None, ylabel: str = "k-means cost",
                   logy: bool = False, figsize: tuple = (6.4, 4.8), dpi: float = 100):
    """Cost against the number of clusters, one curve per method.

    Parameters
    ----------
    k : sequence of int, length K
    costs : mapping of str to array-like of shape (K,) or (K, s)
        For each method, the cost at every k; with s seeds per k the curve is the mean and a
        band shows the minimum to maximum. NaN marks a missing value (a failed run).
    title : str, optional
    ylabel : str
    logy : bool
        Logarithmic cost axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ks = np.asarray(k, dtype=np.float64)
    if ks.ndim != 1 or ks.size == 0:
        raise ValidationError(f"k must be a non-empty 1-D sequence; got shape {ks.shape}")
    if not isinstance(costs, Mapping) or not costs:
        raise ValidationError("costs must be a non-empty mapping from method name to costs of shape (len(k),) or (len(k), seeds)")
    fig = _figure(figsize, dpi)
    ax = fig.add_subplot()
    for (name, values), colour, marker in zip(costs.items(), _colours(len(costs)), _MARKERS * len(costs)):
        v = np.asarray(values, dtype=np.float64)
        if v.ndim == 1:
            v = v[:, None]
        if v.ndim != 2 or v.shape[0] != ks.size:
            raise ValidationError(f"costs[{name!r}] must have shape ({ks.size},) or ({ks.size}, seeds); got {np.shape(values)}")
        with warnings.catch_warnings():  # an all-NaN row (every seed failed) is a gap, not a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, lo, hi = np.nanmean(v, axis=1), np.nanmin(v, axis=1), np.nanmax(v, axis=1)
        ax.plot(ks, mean, marker=marker, color=colour, label=str(name))
        if v.shape[1] > 1:
            ax.fill_between(ks, lo, hi, color=colour, alpha=0.2, linewidth=0)
    if logy:
        ax.set_yscale("log")
    ax.set_xticks(ks)
    ax.set_xlabel("k (number of clusters)")
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize="small")
    ax.set_title(title if title is not None else f"{ylabel} against k", fontsize="medium")
    return fig


def save_figure(fig, path: str | os.PathLike, overwrite: bool = False, dpi: float | None = None) -> str:
    """Write a figure whole or not at all; the format follows the extension (.png, .pdf, .svg).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
    overwrite : bool
        An existing file is only replaced when True (FileExistsError otherwise).
    dpi : float, optional
        Defaults to the figure's own dpi (a PNG is then ``figsize * dpi`` pixels).

    Returns
    -------
    str
        The path written.
    """
    if not hasattr(fig, "savefig"):
        raise ValidationError(f"save_figure takes a matplotlib Figure; got {type(fig).__name__}")
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValidationError(f"cannot write a figure as {path!r}: the extension must be one of {sorted(supported)}")
    return atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, dpi=dpi or "figure"), overwrite=overwrite, binary=True)

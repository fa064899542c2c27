"""sphinx-gallery scraper for the figures of :mod:`fairopt.plot`.

fairopt draws on :class:`matplotlib.figure.Figure` objects attached to the Agg canvas, not on
pyplot, so sphinx-gallery's matplotlib scraper does not see them. This one saves every Figure
that a code block leaves in the example's global names (once each) and returns the rST of the
images.
"""
from __future__ import annotations

from sphinx_gallery.scrapers import figure_rst

_SEEN = "_fairopt_scraped_figures"


def fairopt_figures(block, block_vars, gallery_conf):
    from matplotlib.figure import Figure

    env = block_vars["example_globals"]
    seen = env.setdefault(_SEEN, set())
    paths = []
    for value in list(env.values()):
        if isinstance(value, Figure) and id(value) not in seen:
            seen.add(id(value))
            path = next(block_vars["image_path_iterator"])
            value.savefig(path, dpi=80)
            paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])

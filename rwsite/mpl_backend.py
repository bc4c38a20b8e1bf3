"""Matplotlib figures as SVG that read well on the light page and on the dark one.

The executor selects this backend with ``MPLBACKEND=module://rwsite.mpl_backend`` and the house
style with ``MATPLOTLIBRC=rwsite/matplotlibrc``; a snippet does nothing special. The style draws
text, axes, ticks and grid in a sentinel "ink" colour; here that colour becomes `currentColor`,
so an SVG inlined in the page is drawn in the page's own text colour: dark ink on the light
palette, light ink on the dark one. Backgrounds are transparent; data colours come from the
default cycle (C0, C1, ...), which reads on both palettes. Avoid black ("k"): it vanishes on dark.

`plt.show()` saves every open figure and closes it, so a loop that draws and shows several
figures yields all of them, in order; figures still open when the snippet ends are saved by the
runner. Files go to ``$RWSITE_FIGURE_DIR/figure-NNN.svg``.
"""

import io
import os
import re

from matplotlib import rc_context
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

#: Must match the colour used in rwsite/matplotlibrc.
INK = "#010203"

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase

_saved = 0


def themeable(svg: str, prefix: str = "") -> str:
    """Make matplotlib's SVG inline-ready: ink becomes currentColor, no XML prolog or DOCTYPE,
    and every element id (with the references to it) starts with `prefix`, because all the
    figures of a page share one id space once inlined."""
    svg = svg.replace(INK, "currentColor")
    if prefix:
        ids = set(re.findall(r'\bid="([^"]+)"', svg))
        svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m[1]}"', svg)
        svg = re.sub(r'(href="#|url\(#)([^")]+)', lambda m: m[1] + prefix + m[2] if m[2] in ids else m[0], svg)
    svg = re.sub(r"^.*?(?=<svg\b)", "", svg, count=1, flags=re.S)
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)  # a date: not reproducible
    return svg.strip() + "\n"


def save_open_figures() -> int:
    """Save every open figure as SVG (when a figure directory is set) and close it; return count."""
    import matplotlib.pyplot as plt

    global _saved
    out = os.environ.get("RWSITE_FIGURE_DIR")
    salt = os.environ.get("RWSITE_FIGURE_SALT", "rw")  # the cache key: unique per run
    count = 0
    for number in plt.get_fignums():
        figure = plt.figure(number)
        if out:
            _saved += 1
            buffer = io.StringIO()
            with rc_context({"svg.hashsalt": salt}):  # ids that do not change from run to run
                figure.savefig(buffer, format="svg")
            path = os.path.join(out, f"figure-{_saved:03d}.svg")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(themeable(buffer.getvalue(), prefix=f"{salt}-{_saved}-"))
            count += 1
        plt.close(figure)
    return count


def show(*args, **kwargs) -> None:
    """pyplot.show for a build: capture instead of opening a window."""
    save_open_figures()

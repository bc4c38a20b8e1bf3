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

Every screen: a figure whose smallest text would fall under about 9 CSS pixels in a phone's
column is also drawn narrow, in the same file: at most `NARROW_IN` wide, panels side by side
stacked into one column, text at least `MIN_PT`, laid out again. The page shows the wide
drawing on a desktop and the narrow one under 600 pixels (CSS), so text is never shrunk below
about its size in points. Each `<svg>` carries `role="img"`, an `aria-label` describing the
chart from its own titles, axis labels and legend (`describe`), and `data-font-pt`, the size
of its smallest text, from which the browser test computes the size on screen.
"""

import html
import io
import math
import os
import re
import textwrap

from matplotlib import rc_context
from matplotlib.gridspec import GridSpec
from matplotlib.text import Text
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

#: Must match the colour used in rwsite/matplotlibrc.
INK = "#010203"

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase

_saved = 0

#: The narrow drawing's width: about the column of a 390-pixel phone at one CSS pixel per point.
NARROW_IN = 4.8
#: The smallest text of the narrow drawing, in points: about 9.5 CSS pixels on the phone.
MIN_PT = 10.0
#: The width a figure gets in a 390-pixel phone's column, in CSS pixels (measured in Chromium).
PHONE_COLUMN_PX = 338


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
            alt, title = describe(figure), title_of(figure)
            drawings = [_svg(figure, salt, f"{salt}-{_saved}-", "rw-wide", alt, title)]
            if narrow(figure):
                drawings.append(_svg(figure, salt, f"{salt}-{_saved}n-", "rw-narrow", alt, title))
            path = os.path.join(out, f"figure-{_saved:03d}.svg")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("".join(drawings))
            count += 1
        plt.close(figure)
    return count


def _svg(figure, salt: str, prefix: str, css_class: str, alt: str, title: str) -> str:
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": salt}):  # ids that do not change from run to run
        figure.savefig(buffer, format="svg")
    smallest = min((t.get_fontsize() for t in _texts(figure)), default=0)
    attributes = (f'class="{css_class}" role="img" aria-label="{html.escape(alt)}" '
                  f'data-font-pt="{smallest:g}" data-title="{html.escape(title)}"')
    return re.sub(r"<svg\b", lambda _: f"<svg {attributes}", themeable(buffer.getvalue(), prefix=prefix), count=1)


def narrow(figure) -> bool:
    """Re-draw `figure` for a phone's column; False when it reads there as it is."""
    width, height = figure.get_size_inches()
    smallest = min((t.get_fontsize() for t in _texts(figure)), default=MIN_PT)
    if width <= NARROW_IN and smallest * PHONE_COLUMN_PX / (72 * width) >= 9.5:
        return False
    specs = [ax.get_subplotspec() for ax in figure.axes]
    grid = specs[0].get_gridspec() if specs and specs[0] is not None else None
    one_row = grid is not None and grid.get_geometry()[0] == 1 and all(
        s is not None and s.get_gridspec() is grid and s.num1 == s.num2 for s in specs)
    if one_row and len(figure.axes) > 1 and width > NARROW_IN:   # side by side: one above the other
        panels = sorted(figure.axes, key=lambda ax: ax.get_subplotspec().num1)
        flow = GridSpec(len(panels), 1, figure=figure)
        for i, ax in enumerate(panels):
            ax.set_subplotspec(flow[i, 0])
            ax.tick_params(labelleft=True, labelbottom=True)   # shared axes hid the inner ones
        figure.set_size_inches(NARROW_IN, len(panels) * min(height, 3.0) * 0.85 + 0.3)
    elif width > NARROW_IN:
        figure.set_size_inches(NARROW_IN, max(2.4, height * min(1.3, 0.5 + NARROW_IN / width)))
    for text in _texts(figure):          # at this width a point is about a CSS pixel on a phone
        text.set_fontsize(max(text.get_fontsize(), MIN_PT))
    for title in [ax.title for ax in figure.axes] + [t for t in (figure._suptitle,) if t is not None]:
        # a long title would widen the drawing past the column
        line = int(NARROW_IN * 72 / (0.55 * title.get_fontsize()))
        if "$" not in title.get_text() and len(title.get_text()) > line:
            title.set_text(textwrap.fill(title.get_text(), line))
    try:
        figure.tight_layout()
    except Exception:  # a layout tight_layout cannot handle: keep the narrowed one
        pass
    return True


def _texts(figure) -> list[Text]:
    """The figure's visible, non-empty texts."""
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]


def title_of(figure) -> str:
    """The figure's own title: its suptitle, else its first axes title (for the caption)."""
    return figure.get_suptitle().strip() or next((ax.get_title() for ax in figure.axes if ax.get_title()), "")


def describe(figure) -> str:
    """A text alternative from the chart's own words: titles, axis labels, legend entries."""
    parts = [figure.get_suptitle().strip()] if figure.get_suptitle().strip() else []
    for ax in figure.axes:
        bits = []
        if ax.get_title():
            bits.append(ax.get_title())
        if ax.get_xlabel() or ax.get_ylabel():
            bits.append(" against ".join(x for x in (ax.get_ylabel(), ax.get_xlabel()) if x))
        legend = ax.get_legend()
        if legend is not None:
            labels = [t.get_text() for t in legend.get_texts() if t.get_text()]
            if labels:
                bits.append("lines: " + ", ".join(labels))
        if bits:
            parts.append("; ".join(bits))
    text = re.sub(r"\s+", " ", ". ".join(parts)).strip()
    return ("Chart: " + text) if text else "Chart drawn by the snippet above"


def show(*args, **kwargs) -> None:
    """pyplot.show for a build: capture instead of opening a window."""
    save_open_figures()

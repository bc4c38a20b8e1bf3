"""LaTeX to MathML at build time, so a page needs no math script from anywhere.

Articles write math as usual, ``$x_t$`` inline and ``$$ ... $$`` (or ``\\[ ... \\]``) for
display. `pymdownx.arithmatex` in generic mode finds it and leaves it as
``<span class="arithmatex">\\(...\\)</span>`` / ``<div class="arithmatex">\\[...\\]</div>``;
`to_mathml` replaces those with MathML from the pure-Python `latex2mathml`, which every current
browser renders natively. Nothing is fetched when the page is read, and the page works offline.

A formula latex2mathml cannot convert raises `MathError`, naming the formula, and fails the build.
"""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

_INLINE = re.compile(r'<span class="arithmatex">\\\((?P<tex>.*?)\\\)</span>', re.S)
_BLOCK = re.compile(r'<div class="arithmatex">\s*\\\[(?P<tex>.*?)\\\]\s*</div>', re.S)


class MathError(ValueError):
    """A formula that could not be converted."""


def _converter(display: str):
    def replace(match: re.Match) -> str:
        tex = html.unescape(match["tex"]).strip()
        try:
            mathml = convert(tex, display=display)
        except Exception as exc:  # latex2mathml raises assorted exception types
            raise MathError(f"cannot convert ${tex}$ to MathML: {type(exc).__name__}: {exc}") from None
        return f'<div class="rw-math">{mathml}</div>' if display == "block" else mathml

    return replace


def to_mathml(page_html: str) -> str:
    """`page_html` with every arithmatex formula replaced by MathML."""
    if "arithmatex" not in page_html:
        return page_html
    page_html = _BLOCK.sub(_converter("block"), page_html)
    return _INLINE.sub(_converter("inline"), page_html)

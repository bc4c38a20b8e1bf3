"""Long code blocks folded to the lines a paragraph is about, the rest a click away.

A page shows the 5-15 lines its paragraph discusses; a region or snippet longer than that is
cut to its first `SHOWN_LINES` lines with a fade, and a "Show all N lines" switch under it
opens the rest. The switch is a checkbox and its label, so it needs no script, works from the
keyboard, and a printed page shows every line (rawweights.css, `.rw-fold`). The copy button
still copies the whole block.

`fold(html)` runs on each page's HTML after Markdown (rwsite/hooks.py `on_page_content`), so
folding changes no snippet's cache key.
"""

from __future__ import annotations

import re

SHOWN_LINES = 15   # a block of up to this many lines is shown whole

# A highlighted code block as pymdownx.highlight writes it (one per fence or --8<-- include).
_BLOCK = re.compile(r'<div class="language-[\w+-]+ highlight">.*?</code></pre></div>', re.S)
_LINE = re.compile(r'<span id="__span-\d+-\d+">')


def lines_of(block: str) -> int:
    """How many lines a highlighted block has (one anchored span per line)."""
    spans = len(_LINE.findall(block))
    return spans if spans else block.count("\n") + 1


def fold(html: str, shown: int = SHOWN_LINES) -> str:
    """Wrap every code block of more than `shown` lines in a fold with its own switch."""
    count = 0

    def wrap(match: re.Match) -> str:
        nonlocal count
        block = match[0]
        n = lines_of(block)
        if n <= shown:
            return block
        count += 1
        ident = f"rw-fold-{count}"
        return (f'<div class="rw-fold" style="--rw-fold-lines: {shown}">'
                f'<input type="checkbox" class="rw-fold__toggle" id="{ident}">'
                f"{block}"
                f'<label class="rw-fold__switch" for="{ident}">'
                f'<span class="rw-fold__more">Show all {n} lines</span>'
                f'<span class="rw-fold__less">Show the first {shown} lines only</span></label></div>')

    return _BLOCK.sub(wrap, html)

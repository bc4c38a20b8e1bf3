"""The page side of `rwsite.claims`: ``{{ name }}`` in the prose becomes the value a snippet exported.

    The largest change was {{ largest_delta }}, and the loss moved by
    {{ snippets/arch/kv_gqa.py:halved_shift }} nats.

A placeholder names a value exported by a snippet fenced on the same page, or, with a path, by
any snippet. It is replaced by the text the snippet gave, in a `<span class="rw-value">` whose
title names the snippet (a reader hovering a number sees where it came from). Placeholders in
fenced code blocks and inline code spans are left alone, so a page can show the syntax.

Every problem is reported, not guessed around: a name no snippet exported, a name two snippets
on the page export (write the path), a snippet that failed (its own error is reported already).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from rwsite.fence import top_level_lines

PLACEHOLDER = re.compile(r"\{\{\s*(?:(?P<path>[\w./-]+\.py):)?(?P<name>[A-Za-z_]\w*)\s*\}\}")
_CODE_SPAN = re.compile(r"(`+).*?(?<!`)\1(?!`)")


def placeholders(markdown: str) -> list[tuple[int, str | None, str]]:
    """(line, path or None, name) of every placeholder outside code."""
    found = []
    for number, line in _prose_lines(markdown):
        for piece, is_code in _split_code(line):
            if not is_code:
                found += [(number, m["path"], m["name"]) for m in PLACEHOLDER.finditer(piece)]
    return found


def substitute(markdown: str, lookup: Callable[[str | None, str], tuple[str, str]],
               fail: Callable[[str], None]) -> str:
    """`markdown` with every placeholder outside code replaced by `lookup(path, name)`, which
    returns (text, the snippet that exported it) or raises LookupError with the reason; each
    reason goes to `fail(message)` and the placeholder stays visible."""
    lines = markdown.split("\n")

    def replace(m: re.Match, number: int) -> str:
        try:
            text, source = lookup(m["path"], m["name"])
        except LookupError as exc:
            fail(f"line {number}: {m[0]}: {exc.args[0]}")
            return m[0]
        return f'<span class="rw-value" title="computed by {html.escape(source)}">{html.escape(text)}</span>'

    for number, line in _prose_lines(markdown):
        lines[number - 1] = "".join(piece if is_code else PLACEHOLDER.sub(lambda m: replace(m, number), piece)
                                    for piece, is_code in _split_code(line))
    return "\n".join(lines)


def _prose_lines(markdown: str):
    """(line number, text) of the lines outside fenced code blocks."""
    return ((number, line) for number, line, opens in top_level_lines(markdown) if opens is None)


def _split_code(line: str) -> list[tuple[str, bool]]:
    """The line cut into (piece, is an inline code span)."""
    pieces, at = [], 0
    for m in _CODE_SPAN.finditer(line):
        pieces += [(line[at:m.start()], False), (m[0], True)]
        at = m.end()
    return pieces + [(line[at:], False)]

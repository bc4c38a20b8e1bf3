"""A Griffe extension that lets the reference pages show the library's docstring lists as lists.

The library's docstrings are written to be read as plain text, and introduce a list the way
prose does, with a colon and the first item on the next line::

    Backends:
    - `naive`: einsum, masked softmax, einsum.
    - `xla`: `jax.nn.dot_product_attention`.

Markdown reads a list only after a blank line, so mkdocstrings rendered that as one run-on
paragraph ("Backends: - naive: einsum ... - xla: ..."). `blank_line_before_lists` adds the
blank line when the docstring is loaded, for the site only: the source stays as it is, and
code blocks (fenced or doctest) are left alone. mkdocs.yml loads this as the Python handler's
``extensions: [rwsite.docstrings]``.
"""

from __future__ import annotations

import re

from griffe import Extension, Object

_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")
_FENCE = re.compile(r"^\s*(```|~~~)")


def blank_line_before_lists(text: str) -> str:
    """`text` with a blank line before every list that follows a line of prose."""
    out: list[str] = []
    in_list = in_code = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
        elif not in_code and _ITEM.match(line):
            previous = out[-1].strip() if out else ""
            if previous and not in_list and not previous.startswith(">>>"):
                out.append("")
            in_list = True
        elif not line.strip():
            in_list = False
        out.append(line)
    return "\n".join(out)


class MarkdownLists(Extension):
    """Applies `blank_line_before_lists` to every docstring Griffe loads."""

    def on_object(self, *, obj: Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = blank_line_before_lists(obj.docstring.value)

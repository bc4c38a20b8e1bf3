"""Numbers in the prose that are the numbers the build computed, claims the build checks, and
the data a page's widgets read.

A snippet exports a value under a name, and asserts what its page says about an outcome:

    from rwsite.claims import claim, value

    value("largest_delta", f"{delta:.2g}")                 # the page writes {{ largest_delta }}
    claim(delta == 0, "the upper triangle is exactly zero", delta=delta)

- `value(name, text)` records `text` (a string, formatted as the page should show it: the
  snippet decides the digits) under `name`, and returns it. A page writes ``{{ name }}`` in its
  prose and the build puts the text there; the names come from the snippets fenced on that
  page (``{{ snippets/x/y.py:name }}`` names one explicitly, for a value from another page's
  snippet or when two snippets on a page export the same name). A name no snippet exported
  fails the build, naming the page; so does a name two snippets on the page export.
- `claim(holds, text, **shown)` asserts: when `holds` is false the snippet fails with
  ``claim does not hold: <text> (delta=7.2e-06)``, and a failing snippet fails the build,
  naming its line and its page. A claim that holds is recorded too, so the tests can list
  every claim each page rests on.

- `data(name, obj)` exports a small JSON-able object (numbers, text, lists, dicts) for a
  widget of the page (docs/javascripts/): an element of the page that names it,
  ``<div class="rw-widget" data-rw-widget="temperature" data-rw-data="ballot" hidden></div>``,
  makes the build embed it once as ``<script type="application/json" data-rw-data="ballot">``.
  Names resolve as for values; a page whose element names data nobody exported fails to build.
- `heatmap(name, image, rows, cols)` exports what an `imshow` image shows, cell by cell, with
  the labels of its rows and columns, and tags the image (its `gid`), so that the page's
  figure shows each cell's labels and value under the pointer.

Run on its own (`python snippets/x/y.py`) the functions behave the same (a failed claim
raises); the records go nowhere. Under the build the runner collects `VALUES`, `CLAIMS` and
`DATA` into the snippet's result, and the cache keeps them with its output.
"""

from __future__ import annotations

import json
import math
import re

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_VALUE_CHARS = 200
#: All of one snippet's data together, as JSON: a page should not grow by more than this.
MAX_DATA_BYTES = 50_000
#: The `gid` that `heatmap` gives an image; the page turns it into the hover widget's attributes.
HEATMAP_GID = "rw-heatmap-"

#: name -> text, in the order exported (read by rwsite/runner.py).
VALUES: dict[str, str] = {}
#: one {"text", "holds"} per claim checked (read by rwsite/runner.py).
CLAIMS: list[dict] = []
#: name -> JSON-able object, for the page's widgets (read by rwsite/runner.py).
DATA: dict[str, object] = {}


class ClaimFailed(AssertionError):
    """A claim a page makes about a snippet's outcome stopped holding."""


def value(name: str, text: object) -> str:
    """Export `text` under `name` for the page's prose (``{{ name }}``); returns the text."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"value name {name!r}: use a Python identifier (letters, digits, _)")
    if not isinstance(text, str):
        raise TypeError(f"value {name!r}: give the text as the page should show it (an f-string "
                        f"with its digits), not a {type(text).__name__}")
    if "\n" in text or len(text) > MAX_VALUE_CHARS:
        raise ValueError(f"value {name!r}: one line of at most {MAX_VALUE_CHARS} characters")
    if name in VALUES and VALUES[name] != text:
        raise ValueError(f"value {name!r} exported twice with different texts: {VALUES[name]!r}, {text!r}")
    VALUES[name] = text
    return text


def claim(holds: object, text: str, **shown: object) -> None:
    """Assert `holds`, which the page states in words as `text`; `shown` goes into the error."""
    ok = bool(holds)
    CLAIMS.append({"text": str(text), "holds": ok})
    if not ok:
        detail = ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in shown.items())
        raise ClaimFailed(f"claim does not hold: {text}" + (f" ({detail})" if detail else ""))


def data(name: str, obj: object) -> object:
    """Export `obj` (JSON: dicts with text keys, lists, text, finite numbers, booleans, None)
    under `name` for a widget of the page; returns it."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"data name {name!r}: use a Python identifier (letters, digits, _)")
    problem = data_problem({**DATA, name: obj})
    if problem:
        raise ValueError(f"data {name!r}: {problem}")
    if name in DATA and _json(DATA[name]) != _json(obj):
        raise ValueError(f"data {name!r} exported twice with different contents")
    DATA[name] = obj
    return obj


def data_problem(exported: object) -> str | None:
    """Why `exported` (name -> object) cannot go into a page (None when it can): checked when a
    snippet exports and again when the cache is read."""
    if not isinstance(exported, dict) or not all(isinstance(k, str) and NAME.match(k) for k in exported):
        return "data is not a dict keyed by identifiers"
    try:
        size = len(_json(exported).encode())
    except (TypeError, ValueError) as exc:
        return f"not JSON with finite numbers ({exc}); convert arrays with .tolist() and round them"
    if size > MAX_DATA_BYTES:
        return (f"{size:,} bytes of JSON, over the {MAX_DATA_BYTES:,} a page may carry; "
                "round the numbers or export fewer")
    return None


def _json(obj: object) -> str:
    return json.dumps(obj, allow_nan=False, separators=(",", ":"), sort_keys=True)


def heatmap(name: str, image, rows: list[str], cols: list[str], *, row_title: str = "row",
            col_title: str = "column", blank: str = "blank", digits: int = 3) -> object:
    """Export what `image` (from `ax.imshow`) draws, for hovering: each cell's value to `digits`
    significant digits (None where the array is masked: the page says `blank` there), the
    labels of its rows and columns and what the two axes are; rows are listed as drawn, top
    first. The image must fill its axes (imshow's default limits). The image gets the `gid` that ties it to `name`."""
    import numpy as np  # only here: a snippet that draws a heatmap has it already

    array = np.ma.asarray(image.get_array())
    if array.ndim != 2:
        raise ValueError(f"heatmap {name!r}: the image shows an array of shape {array.shape}, not rows x columns")
    empty = np.ma.getmaskarray(array) | ~np.isfinite(array.filled(0).astype(float))
    cells = [[None if empty[r, c] else float(f"{float(array[r, c]):.{digits}g}") for c in range(array.shape[1])]
             for r in range(array.shape[0])]
    if len(rows) != array.shape[0] or len(cols) != array.shape[1]:
        raise ValueError(f"heatmap {name!r}: {len(rows)} row and {len(cols)} column labels for an image "
                         f"of {array.shape[0]} x {array.shape[1]} cells")
    if getattr(image, "origin", "upper") == "lower":   # row 0 drawn at the bottom: list rows top down
        cells, rows = cells[::-1], list(rows)[::-1]
    exported = data(name, {"rows": [str(r) for r in rows], "cols": [str(c) for c in cols],
                           "row_title": row_title, "col_title": col_title, "blank": blank, "values": cells})
    image.set_gid(HEATMAP_GID + name)
    return exported

"""Tables a snippet prints that the page shows as HTML tables, fitted to the column.

    from rwsite.tables import table

    table(["model", "matmul", "crossover"], rows, align="lrr")

Run on its own, `table` prints the rows as aligned text, as any snippet would. Under the
site build (the runner sets ``RWSITE_TABLES=1``) it prints one marker line instead and keeps
the table; the page renders the snippet's output with an HTML `<table>` in the marker's
place, so a wide table wraps its cells and scrolls on its own on a phone instead of hiding
columns behind the output block's scroll bar.
"""

from __future__ import annotations

import os

#: The tables printed so far, in order (read by rwsite/runner.py).
TABLES: list[dict] = []
MARKER = "\x1erwsite-table:"       # an ASCII record separator: never in ordinary output
MAX_CELLS = 5000


def table(headers: list[str], rows: list[list[object]], align: str | None = None) -> None:
    """Print `rows` under `headers`; `align` gives `l` or `r` per column (default: text left,
    numbers right). Cells are shown as `str(cell)`: format numbers before passing them."""
    headers = [str(h) for h in headers]
    cells = [[str(c) for c in row] for row in rows]
    if any(len(row) != len(headers) for row in cells):
        raise ValueError(f"table: every row needs {len(headers)} cells, one per header")
    if len(headers) * (len(cells) + 1) > MAX_CELLS:
        raise ValueError(f"table: more than {MAX_CELLS} cells; print a summary instead")
    align = align or "".join("r" if all(_numeric(r[i]) for r in cells) and cells else "l"
                             for i in range(len(headers)))
    if len(align) != len(headers) or set(align) - {"l", "r"}:
        raise ValueError(f"table: align needs one of l/r per column, got {align!r}")
    if os.environ.get("RWSITE_TABLES") == "1":
        TABLES.append({"headers": headers, "rows": cells, "align": align})
        print(f"{MARKER}{len(TABLES) - 1}", flush=True)
        return
    widths = [max(len(x) for x in col) for col in zip(headers, *cells)]
    for row in [headers, *cells]:
        print("  ".join(x.rjust(w) if a == "r" else x.ljust(w) for x, w, a in zip(row, widths, align)).rstrip())


def _numeric(text: str) -> bool:
    cleaned = text.replace(",", "").replace("%", "").replace("x", "").strip()
    try:
        float(cleaned)
    except ValueError:
        return cleaned in ("-", "never", "")
    return True
